/* csa-kafka-mock: a Kafka cluster on 127.0.0.1, librdkafka's mock cluster,
 * for the tests.  Writes "HOST:PORT,..." to FILE (atomically) once it
 * listens, then serves until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;
	char errstr[256], tmp[4096];
	int brokers = 1, c;
	FILE *f;

	while ((c = getopt(argc, argv, "b:")) != -1) {
		if (c == 'b' && atoi(optarg) > 0) {
			brokers = atoi(optarg);
		} else {
			fputs("usage: csa-kafka-mock [-b BROKERS] FILE [TOPIC:PARTITIONS...]\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("usage: csa-kafka-mock [-b BROKERS] FILE [TOPIC:PARTITIONS...]\n", stderr);
		return 2;
	}
	/* The mock cluster lives in a client handle's threads. */
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, sizeof(errstr));
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		fprintf(stderr, "csa-kafka-mock: %s\n", errstr);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, brokers)) == NULL) {
		fputs("csa-kafka-mock: cannot start the mock cluster\n", stderr);
		return 1;
	}
	for (int i = optind + 1; i < argc; i++) {
		char *colon = strrchr(argv[i], ':');
		int parts = colon ? atoi(colon + 1) : 4;

		if (colon)
			*colon = '\0';
		if (rd_kafka_mock_topic_create(mc, argv[i], parts > 0 ? parts : 4, 1) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "csa-kafka-mock: cannot create topic %s\n", argv[i]);
			return 1;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[optind]);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 ||
	    fclose(f) != 0 || rename(tmp, argv[optind]) != 0) {
		perror(argv[optind]);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
