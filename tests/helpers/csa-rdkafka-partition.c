/* csa-rdkafka-partition: the partition librdkafka's murmur2 partitioner (the
 * Java client's default) picks for each key, to check the embedded hub's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

int
main(int argc, char **argv)
{
	int32_t n;

	if (argc < 3) {
		fputs("usage: csa-rdkafka-partition PARTITIONS KEY...\n", stderr);
		return 2;
	}
	n = (int32_t)atoi(argv[1]);
	for (int i = 2; i < argc; i++)
		printf("%d\n", rd_kafka_msg_partitioner_murmur2(NULL, argv[i],
		    strlen(argv[i]), n, NULL, NULL));
	return 0;
}
