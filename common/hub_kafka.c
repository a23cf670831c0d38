/* hub_kafka.c: a Kafka cluster, or Azure Event Hubs through its Kafka endpoint. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "hub.h"
#include "hub_impl.h"
#include "json.h"
#include "msg.h"
#include "timefmt.h"

/*
 * An event hub is a topic; a sequence number and an offset are both the
 * Kafka offset; the enqueued time is the message's timestamp.  Keys pick
 * partitions with murmur2_random, Java's default, which is what
 * hub_partition_for_key computes for the embedded hub.  Consumer groups are
 * Kafka's: offsets are committed by hub_checkpoint only, never on a timer.
 */
struct khub {
	struct hub base;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char *topic;
	char *brokers;			/* for messages: never a secret */
	int partitions;
	int64_t timeout_ms;
	/* Sending: events queued, and what their delivery reports said. */
	size_t queued, delivered, failed;
	rd_kafka_resp_err_t send_err;
	/* Reading. */
	bool consumer, subscribed, assigned_once;
	bool close_abandoned;		/* leaving timed out: destroy without it */
	enum hub_from from;
	int64_t from_value;
	bool *owned, *eof;
	bool *skip_older;		/* --from TIME: drop events before it here */
	int64_t *committed;		/* next offset as committed, -1: not known */
	rd_kafka_message_t **held;	/* messages handed out by the last read */
	int nheld;
	int64_t down_since;		/* when every broker went down, 0: up */
	char down_why[256];
	rd_kafka_resp_err_t fatal;
	char fatal_why[512];
	rd_kafka_resp_err_t commit_err;	/* the first refused commit since the last look */
};

static const struct hub_ops kafka_ops;
static rd_kafka_t *abandoned_rk;
static rd_kafka_topic_t *abandoned_rkt;
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque);
static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque);

/* Settings whose values are never shown. */
static bool
is_secret(const char *key)
{
	return strstr(key, "password") || strstr(key, "secret") || strstr(key, "key.pem") ||
	    strcmp(key, "ssl.key.location") == 0 || strstr(key, "oauthbearer.config");
}

static int
conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, struct err *e)
{
	char errstr[512];

	/* librdkafka's reason may quote the value: a secret's is not shown. */
	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		return err_set(e, ERR_USAGE, "Kafka setting %s: %s", key,
		    is_secret(key) ? "not accepted" : errstr);
	if (msg_verbosity() > 1)
		msg_verbose("kafka setting %s=%s", key, is_secret(key) ? "(hidden)" : value);
	return 0;
}

/* librdkafka's own log lines are shown with -v only; our errors say the rest. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *text)
{
	(void)rk;
	if (level <= LOG_WARNING || msg_verbosity() > 1)
		msg_verbose("kafka %s: %s", fac, text);
}

static void
error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct khub *k = opaque;

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];

		k->fatal = rd_kafka_fatal_error(rk, why, sizeof(why));
		snprintf(k->fatal_why, sizeof(k->fatal_why), "%s", why);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
	    err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE ||
	    err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
		if (k->down_since == 0)
			k->down_since = tfmt_now();
		snprintf(k->down_why, sizeof(k->down_why), "%s", reason);
	}
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
		k->fatal = (rd_kafka_resp_err_t)err;
		snprintf(k->fatal_why, sizeof(k->fatal_why), "%s", reason);
	}
	msg_verbose("kafka: %s", reason);
}

/* A delivery report: count the event delivered, or lost. */
static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct khub *k = opaque;

	(void)rk;
	if (m->err) {
		if (k->failed++ == 0)
			k->send_err = m->err;
		return;
	}
	k->delivered++;
}

/*
 * The settings: what every client needs, then what Event Hubs needs, then
 * the user's --kafka-option values, which win.
 */
static rd_kafka_conf_t *
make_conf(struct khub *k, const struct hub_opts *o, const struct eh_conn *eh, struct err *e)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char num[32];

	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	if (conf_set(conf, "bootstrap.servers", k->brokers, e) < 0 ||
	    conf_set(conf, "client.id", o->reader ? "csa-eh-recv" : "csa-eh-send", e) < 0)
		goto fail;
	snprintf(num, sizeof(num), "%lld", (long long)k->timeout_ms);
	/* No request outlives the timeout, so a lost cluster cannot hold up the exit. */
	if (conf_set(conf, "socket.timeout.ms", num, e) < 0)
		goto fail;
	if (!o->reader) {
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		if (conf_set(conf, "partitioner", "murmur2_random", e) < 0 ||
		    conf_set(conf, "message.timeout.ms", num, e) < 0 ||
		    conf_set(conf, "compression.codec", "none", e) < 0)
			goto fail;
		/* csa-eh-send's -b and -l: librdkafka forms the batches. */
		snprintf(num, sizeof(num), "%d", o->batch_size);
		if (o->batch_size > 0 && conf_set(conf, "batch.num.messages", num, e) < 0)
			goto fail;
		snprintf(num, sizeof(num), "%lld", (long long)o->linger_ms);
		if (o->linger_ms >= 0 && conf_set(conf, "linger.ms", num, e) < 0)
			goto fail;
	} else {
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
		rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
		if (conf_set(conf, "group.id", o->group ? o->group : HUB_DEFAULT_GROUP, e) < 0 ||
		    conf_set(conf, "enable.auto.commit", "false", e) < 0 ||
		    conf_set(conf, "enable.auto.offset.store", "false", e) < 0 ||
		    conf_set(conf, "enable.partition.eof", "true", e) < 0 ||
		    conf_set(conf, "auto.offset.reset", "earliest", e) < 0)
			goto fail;
		/*
		 * A fetch with nothing to return waits fetch.wait.max.ms (500 ms)
		 * on the broker, and the end of a partition is known only from
		 * such an answer: a reader that stops there asks for 100 ms.
		 */
		if (o->to_end && conf_set(conf, "fetch.wait.max.ms", "100", e) < 0)
			goto fail;
	}
	if (eh) {
		if (conf_set(conf, "security.protocol", "SASL_SSL", e) < 0 ||
		    conf_set(conf, "sasl.mechanisms", "PLAIN", e) < 0 ||
		    conf_set(conf, "sasl.username", "$ConnectionString", e) < 0 ||
		    conf_set(conf, "sasl.password", eh->raw, e) < 0 ||
		    conf_set(conf, "ssl.ca.location", "probe", e) < 0 ||
		    conf_set(conf, "socket.keepalive.enable", "true", e) < 0 ||
		    conf_set(conf, "metadata.max.age.ms", "180000", e) < 0)
			goto fail;
		if (!o->reader && (conf_set(conf, "request.timeout.ms", "60000", e) < 0 ||
		    conf_set(conf, "message.max.bytes", "1046528", e) < 0))
			goto fail;
		if (o->reader && conf_set(conf, "session.timeout.ms", "30000", e) < 0)
			goto fail;
	}
	for (int i = 0; i < o->nkafka_options; i++) {
		const char *kv = o->kafka_options[i], *eq = strchr(kv, '=');
		char key[256];

		/* hub_opts_kafka_option took only KEY=VALUE with a KEY. */
		if ((size_t)(eq - kv) >= sizeof(key)) {
			err_set(e, ERR_USAGE, "--kafka-option: the key '%.40s...' is too long", kv);
			goto fail;
		}
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		if (conf_set(conf, key, eq + 1, e) < 0) {
			err_prefix(e, "--kafka-option");
			goto fail;
		}
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/*
 * The topic's partition count, asking until the brokers answer or the
 * timeout passes.  A producer's request may create the topic where the
 * cluster allows it.
 */
static int
fetch_partitions(struct khub *k, struct err *e)
{
	int64_t deadline = tfmt_now() + k->timeout_ms;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR, terr = RD_KAFKA_RESP_ERR_NO_ERROR;

	for (;;) {
		const struct rd_kafka_metadata *md = NULL;
		int64_t left = deadline - tfmt_now();

		if (left < 100)
			left = 100;
		err = rd_kafka_metadata(k->rk, 0, k->rkt, &md, (int)(left < 5000 ? left : 5000));
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			terr = md->topic_cnt == 1 ? md->topics[0].err :
			    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
			if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
				k->partitions = md->topics[0].partition_cnt;
				rd_kafka_metadata_destroy(md);
				return 0;
			}
			rd_kafka_metadata_destroy(md);
			/* A reader's request creates nothing: no use asking again. */
			if (k->consumer && terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
				break;
		}
		if (k->fatal) {
			return err_set(e, ERR_REMOTE, "Kafka at %s: %s", k->brokers,
			    k->fatal_why);
		}
		if (tfmt_now() >= deadline)
			break;
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_poll(k->rk, 200);
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		return err_set(e, ERR_REMOTE, "cannot reach the Kafka brokers at %s within %lld s:"
		    " %s%s%s", k->brokers, (long long)(k->timeout_ms / 1000), rd_kafka_err2str(err),
		    k->down_why[0] ? ": " : "", k->down_why);
	}
	return err_set(e, ERR_REMOTE, "Kafka at %s has no topic (event hub) '%s': %s",
	    k->brokers, k->topic, rd_kafka_err2str(terr));
}

struct hub *
hub_kafka_open(const struct hub_opts *o, const char *brokers, const struct eh_conn *eh,
    struct err *e)
{
	struct khub *k = xcalloc(1, sizeof(*k));
	rd_kafka_conf_t *conf;
	char errstr[512];

	k->base.ops = &kafka_ops;
	k->topic = xstrdup(o->eventhub);
	k->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HUB_DEFAULT_TIMEOUT_MS;
	k->consumer = o->reader;
	if (eh) {
		struct buf b = { 0 };

		buf_printf(&b, "%s:9093", eh->host);
		k->brokers = buf_steal(&b);
		snprintf(k->base.what, sizeof(k->base.what), "Event Hubs %s, event hub %s",
		    eh->host, k->topic);
	} else {
		if (!*brokers || strchr(brokers, '/')) {
			err_set(e, ERR_USAGE, "--hub kafka://%s: expected kafka://HOST:PORT[,HOST:PORT...]",
			    brokers);
			goto fail;
		}
		k->brokers = xstrdup(brokers);
		snprintf(k->base.what, sizeof(k->base.what), "Kafka at %s, topic %s",
		    k->brokers, k->topic);
	}
	if ((conf = make_conf(k, o, eh, e)) == NULL)
		goto fail;
	k->rk = rd_kafka_new(o->reader ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf,
	    errstr, sizeof(errstr));
	if (k->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		err_set(e, ERR_USAGE, "Kafka client: %s", errstr);
		goto fail;
	}
	/* No topic settings of its own: those given with the client's hold. */
	k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
	if (k->rkt == NULL) {
		err_set(e, ERR_USAGE, "Kafka topic '%s': %s", k->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	if (fetch_partitions(k, e) < 0)
		goto fail;
	msg_verbose("%s: %d partitions", k->base.what, k->partitions);
	return &k->base;
fail:
	kafka_ops.close(&k->base);
	return NULL;
}

static void
release_held(struct khub *k)
{
	for (int i = 0; i < k->nheld; i++)
		rd_kafka_message_destroy(k->held[i]);
	k->nheld = 0;
}

static void
kafka_close(struct hub *hb)
{
	struct khub *k = (struct khub *)hb;

	release_held(k);
	if (k->rk && k->consumer && k->subscribed) {
		struct err e;

		kafka_ops.reader_leave(&k->base, &e);
	}
	if (k->close_abandoned) {
		/*
		 * The cluster is gone and librdkafka's destroy would wait out the
		 * commits still queued for it (40 s and more).  The process is
		 * about to exit 4: the handle is left as it is, held here.
		 */
		abandoned_rk = k->rk;
		abandoned_rkt = k->rkt;
	} else {
		if (k->rkt)
			rd_kafka_topic_destroy(k->rkt);
		if (k->rk)
			rd_kafka_destroy(k->rk);
	}
	free(k->topic);
	free(k->brokers);
	free(k->owned);
	free(k->eof);
	free(k->skip_older);
	free(k->committed);
	free(k->held);
	free(k);
}

static int
kafka_partition_count(const struct hub *hb)
{
	return ((const struct khub *)hb)->partitions;
}

/* The first delivery error reported so far, as a message. */
static int
send_failed(struct khub *k, struct err *e)
{
	return err_set(e, ERR_REMOTE, "%s: %zu of %zu events not delivered: %s%s%s",
	    k->brokers, k->failed, k->queued, rd_kafka_err2str(k->send_err),
	    k->down_why[0] ? ": " : "", k->down_why);
}

/*
 * Queue the batch with librdkafka, which batches per partition and sends
 * while the next lines are read; kafka_flush waits for the acknowledgements.
 */
static int
kafka_send(struct hub *hb, struct hub_msg *msgs, size_t n, struct err *e)
{
	struct khub *k = (struct khub *)hb;
	int64_t deadline = 0;	/* set when librdkafka's queue is first full */

	for (size_t i = 0; i < n && k->failed == 0; i++) {
		struct hub_msg *m = &msgs[i];
		rd_kafka_resp_err_t err;

		for (;;) {
			err = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt),
			    RD_KAFKA_V_PARTITION(m->partition >= 0 ? m->partition :
			    RD_KAFKA_PARTITION_UA),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->body, m->len),
			    RD_KAFKA_V_KEY(m->key, m->key ? m->keylen : 0),
			    RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			if (deadline == 0)
				deadline = tfmt_now() + k->timeout_ms;
			else if (tfmt_now() > deadline)
				break;
			rd_kafka_poll(k->rk, 10);
		}
		k->queued++;
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			k->failed++;
			k->send_err = err;
		}
	}
	rd_kafka_poll(k->rk, 0);
	return k->failed > 0 || k->fatal ? send_failed(k, e) : 0;
}

static int
kafka_flush(struct hub *hb, struct err *e)
{
	struct khub *k = (struct khub *)hb;

	/* Delivery reports come within message.timeout.ms, the timeout. */
	while (rd_kafka_outq_len(k->rk) > 0 && !k->fatal)
		rd_kafka_flush(k->rk, 100);
	if (k->delivered + k->failed < k->queued)
		k->failed = k->queued - k->delivered;
	return k->failed > 0 ? send_failed(k, e) : 0;
}

/*
 * Partitions with a committed offset go on from it; the others start where
 * --from says: earliest, latest, an offset, or the first event at or after
 * a time (the end when there is none).
 */
static void
start_positions(struct khub *k, rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_topic_partition_list_t *want;

	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	if (rd_kafka_committed(k->rk, parts, (int)k->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		msg_verbose("cannot read the group's offsets; starting as --from says");
	want = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];

		if (p->offset >= 0)
			continue;
		if (k->from == HUB_FROM_SEQ)
			p->offset = k->from_value;
		else if (k->from == HUB_FROM_LATEST)
			p->offset = RD_KAFKA_OFFSET_END;
		else if (k->from == HUB_FROM_TIME)
			rd_kafka_topic_partition_list_add(want, p->topic, p->partition)->offset =
			    k->from_value;
		else
			p->offset = RD_KAFKA_OFFSET_BEGINNING;
	}
	if (want->cnt > 0 &&
	    rd_kafka_offsets_for_times(k->rk, want, (int)k->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < want->cnt; i++)
			want->elems[i].offset = -1;
	}
	if (want->cnt > 0) {
		for (int i = 0; i < want->cnt; i++) {
			rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts,
			    want->elems[i].topic, want->elems[i].partition);

			/*
			 * -1 says nothing is at or after the time, or (librdkafka's
			 * mock cluster) that the broker cannot tell: read from the
			 * start then, dropping the older events as they come.
			 */
			if (p == NULL)
				continue;
			p->offset = want->elems[i].offset >= 0 ? want->elems[i].offset :
			    RD_KAFKA_OFFSET_BEGINNING;
			if (p->partition >= 0 && p->partition < k->partitions)
				k->skip_older[p->partition] = true;
		}
	}
	rd_kafka_topic_partition_list_destroy(want);
}

static void
mark_owned(struct khub *k, const rd_kafka_topic_partition_list_t *parts, bool own)
{
	for (int i = 0; i < parts->cnt; i++) {
		int p = parts->elems[i].partition;

		if (p < 0 || p >= k->partitions)
			continue;
		k->owned[p] = own;
		k->eof[p] = false;
		if (!own)
			k->committed[p] = -1;
	}
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
    void *opaque)
{
	struct khub *k = opaque;
	bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		start_positions(k, parts);
		mark_owned(k, parts, true);
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
		else
			rd_kafka_assign(rk, parts);
		msg_verbose("assigned %d partition%s", parts->cnt, parts->cnt == 1 ? "" : "s");
	} else {
		mark_owned(k, parts, false);
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
		else
			rd_kafka_assign(rk, NULL);
		msg_verbose("gave up %d partition%s", parts->cnt, parts->cnt == 1 ? "" : "s");
	}
	k->assigned_once = true;
}

static int
kafka_reader_open(struct hub *hb, const struct hub_reader_opts *o, struct err *e)
{
	struct khub *k = (struct khub *)hb;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t err;

	if (!k->consumer)
		return err_set(e, ERR_USAGE, "internal: the hub was opened to send");
	k->from = o->from;
	k->from_value = o->from_value;
	k->owned = xcalloc((size_t)k->partitions, sizeof(*k->owned));
	k->eof = xcalloc((size_t)k->partitions, sizeof(*k->eof));
	k->skip_older = xcalloc((size_t)k->partitions, sizeof(*k->skip_older));
	k->committed = xcalloc((size_t)k->partitions, sizeof(*k->committed));
	k->held = xcalloc(1024, sizeof(*k->held));
	for (int p = 0; p < k->partitions; p++)
		k->committed[p] = -1;
	rd_kafka_poll_set_consumer(k->rk);
	parts = rd_kafka_topic_partition_list_new(1);
	if (o->partition >= 0) {
		if (o->partition >= k->partitions) {
			rd_kafka_topic_partition_list_destroy(parts);
			return err_set(e, ERR_USAGE, "--partition: %s has %d partitions",
			    k->topic, k->partitions);
		}
		/* One partition, outside the group's sharing, from its checkpoint. */
		rd_kafka_topic_partition_list_add(parts, k->topic, o->partition);
		start_positions(k, parts);
		mark_owned(k, parts, true);
		k->assigned_once = true;
		err = rd_kafka_assign(k->rk, parts);
	} else {
		rd_kafka_topic_partition_list_add(parts, k->topic, RD_KAFKA_PARTITION_UA);
		err = rd_kafka_subscribe(k->rk, parts);
		k->subscribed = err == RD_KAFKA_RESP_ERR_NO_ERROR;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		return err_set(e, ERR_REMOTE, "%s: cannot join group: %s", k->brokers,
		    rd_kafka_err2str(err));
	return 0;
}

/* After the timeout without brokers, one last look; -1 when still down. */
static int
still_down(struct khub *k, struct err *e)
{
	const struct rd_kafka_metadata *md;

	if (k->down_since == 0 || tfmt_now() - k->down_since < k->timeout_ms)
		return 0;
	if (rd_kafka_metadata(k->rk, 0, k->rkt, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_metadata_destroy(md);
		k->down_since = 0;
		return 0;
	}
	return err_set(e, ERR_REMOTE, "lost the Kafka brokers at %s for %lld s: %s", k->brokers,
	    (long long)(k->timeout_ms / 1000), k->down_why);
}

static bool
all_at_end(const struct khub *k)
{
	if (!k->assigned_once)
		return false;
	for (int p = 0; p < k->partitions; p++)
		if (k->owned[p] && !k->eof[p])
			return false;
	return true;
}

static int
kafka_read(struct hub *hb, struct hub_msg *out, int max, int timeout_ms, bool *caught_up,
    struct err *e)
{
	struct khub *k = (struct khub *)hb;
	int64_t deadline = tfmt_now() + timeout_ms;
	int n = 0;

	release_held(k);
	if (max > 1024)
		max = 1024;
	*caught_up = false;
	/* Before the group gives us partitions, or while events are on their
	 * way, "do not wait" would only spin. */
	if (timeout_ms == 0 && !all_at_end(k))
		deadline = tfmt_now() + 100;
	while (n < max) {
		int64_t left = n > 0 ? 0 : deadline - tfmt_now();
		rd_kafka_message_t *m;

		if (n == 0 && all_at_end(k) && left > 0)
			left = left < 50 ? left : 50;	/* only new events can come now */
		m = rd_kafka_consumer_poll(k->rk, left > 0 ? (int)left : 0);
		if (k->fatal) {
			if (m)
				rd_kafka_message_destroy(m);
			return err_set(e, ERR_REMOTE, "Kafka at %s: %s", k->brokers, k->fatal_why);
		}
		if (m == NULL) {
			if (n > 0 || tfmt_now() >= deadline || all_at_end(k))
				break;
			continue;
		}
		if (m->err) {
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				if (m->partition >= 0 && m->partition < k->partitions)
					k->eof[m->partition] = true;
			} else if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
			    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
			    m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
				err_set(e, ERR_REMOTE, "%s, topic %s: %s", k->brokers, k->topic,
				    rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
				return -1;
			} else {
				msg_verbose("kafka: %s", rd_kafka_message_errstr(m));
			}
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->partition < 0 || m->partition >= k->partitions) {
			rd_kafka_message_destroy(m);
			return err_set(e, ERR_REMOTE, "topic %s now has more than %d partitions:"
			    " start again to read them all", k->topic, k->partitions);
		}
		k->eof[m->partition] = false;
		if (k->skip_older[m->partition]) {
			if (rd_kafka_message_timestamp(m, NULL) < k->from_value) {
				rd_kafka_message_destroy(m);
				continue;
			}
			k->skip_older[m->partition] = false;
		}
		k->held[k->nheld++] = m;
		out[n].body = m->payload ? (const char *)m->payload : "";
		out[n].len = m->len;
		out[n].key = m->key;
		out[n].keylen = m->key_len;
		out[n].partition = m->partition;
		out[n].seq = out[n].offset = m->offset;
		out[n].enqueued_ms = rd_kafka_message_timestamp(m, NULL);
		n++;
	}
	if (n == 0 && still_down(k, e) < 0)
		return -1;
	*caught_up = n == 0 && all_at_end(k);
	return n;
}

struct commit_wait {
	bool done;
	rd_kafka_resp_err_t err;
};

static void
commit_done(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
    void *opaque)
{
	struct commit_wait *w = opaque;

	(void)rk;
	(void)offsets;
	w->done = true;
	w->err = err;
}

/* Commit and wait for the answer, but no longer than the timeout: a commit
 * to a coordinator that is gone would otherwise wait for it for ever. */
static rd_kafka_resp_err_t
commit_within(struct khub *k, rd_kafka_topic_partition_list_t *parts)
{
	int64_t deadline = tfmt_now() + k->timeout_ms;
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	struct commit_wait w = { false, RD_KAFKA_RESP_ERR_NO_ERROR };
	rd_kafka_resp_err_t err = rd_kafka_commit_queue(k->rk, parts, q, commit_done, &w);

	while (err == RD_KAFKA_RESP_ERR_NO_ERROR && !w.done && tfmt_now() < deadline)
		rd_kafka_queue_poll_callback(q, 100);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		err = w.done ? w.err : RD_KAFKA_RESP_ERR__TIMED_OUT;
	if (!w.done)
		k->close_abandoned = true;	/* the answer would come to a dead w */
	rd_kafka_queue_destroy(q);
	return err;
}

/* The answer to an asynchronous commit: kept for the next checkpoint. */
static void
commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
    void *opaque)
{
	struct khub *k = opaque;

	(void)rk;
	(void)offsets;
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return;
	if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
	    err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
	    err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
		/* The partitions moved on: their next owner starts from the last
		 * commit, so some events repeat (at least once) and none is lost. */
		msg_verbose("commit refused during a rebalance: %s", rd_kafka_err2str(err));
		return;
	}
	if (k->commit_err == RD_KAFKA_RESP_ERR_NO_ERROR)
		k->commit_err = err;
}

/* The owned partitions' positions as checkpointed, for the last commit. */
static rd_kafka_topic_partition_list_t *
owned_positions(const struct khub *k)
{
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(k->partitions);

	for (int p = 0; p < k->partitions; p++)
		if (k->owned[p] && k->committed[p] >= 0)
			rd_kafka_topic_partition_list_add(parts, k->topic, p)->offset = k->committed[p];
	return parts;
}

/*
 * Commit the positions of what was written and flushed.  Commits on the
 * way are not waited for (a round trip each would halve the rate); the
 * last one, on leaving, is.  A commit the brokers refused is reported at
 * the next checkpoint.
 */
static int
kafka_checkpoint(struct hub *hb, const int64_t *last_seq, struct err *e)
{
	struct khub *k = (struct khub *)hb;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t err;

	/* Answers to earlier commits were served by kafka_read's polls. */
	if (k->commit_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		err = k->commit_err;
		k->commit_err = RD_KAFKA_RESP_ERR_NO_ERROR;
		return err_set(e, ERR_REMOTE, "%s: cannot commit offsets: %s%s%s", k->brokers,
		    rd_kafka_err2str(err), k->down_why[0] ? ": " : "", k->down_why);
	}
	parts = rd_kafka_topic_partition_list_new(k->partitions);
	for (int p = 0; p < k->partitions; p++)
		if (k->owned[p] && last_seq[p] >= 0 && last_seq[p] + 1 > k->committed[p])
			rd_kafka_topic_partition_list_add(parts, k->topic, p)->offset = last_seq[p] + 1;
	if (parts->cnt > 0 && rd_kafka_commit(k->rk, parts, 1) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < parts->cnt; i++)
			k->committed[parts->elems[i].partition] = parts->elems[i].offset;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	return 0;
}

/*
 * Leave the group, serving the last rebalance, but no longer than the
 * timeout: a group whose coordinator is gone is left by the brokers after
 * the session timeout instead.
 */
static int
kafka_reader_leave(struct hub *hb, struct err *e)
{
	struct khub *k = (struct khub *)hb;
	int64_t deadline;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t err;
	rd_kafka_queue_t *q;
	rd_kafka_error_t *error;
	bool failed = false;

	release_held(k);
	/* The last checkpoint, waited for: what was written is committed. */
	parts = owned_positions(k);
	err = parts->cnt > 0 ? commit_within(k, parts) : RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_topic_partition_list_destroy(parts);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		err = k->commit_err;
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS &&
	    err != RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION && err != RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
		err_set(e, ERR_REMOTE, "%s: cannot commit offsets: %s%s%s", k->brokers,
		    rd_kafka_err2str(err), k->down_why[0] ? ": " : "", k->down_why);
		failed = true;
	}
	if (!k->subscribed) {
		rd_kafka_assign(k->rk, NULL);
		return failed ? -1 : 0;
	}
	k->subscribed = false;
	q = rd_kafka_queue_new(k->rk);
	deadline = tfmt_now() + k->timeout_ms;
	if ((error = rd_kafka_consumer_close_queue(k->rk, q)) != NULL) {
		err_set(e, ERR_REMOTE, "%s: leaving the group: %s", k->brokers,
		    rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		rd_kafka_queue_destroy(q);
		return -1;
	}
	while (!rd_kafka_consumer_closed(k->rk) && tfmt_now() < deadline) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);

		/* The last rebalance comes as an event here, not as a callback. */
		if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
			rebalance_cb(k->rk, rd_kafka_event_error(ev),
			    rd_kafka_event_topic_partition_list(ev), k);
		if (ev)
			rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	if (!rd_kafka_consumer_closed(k->rk)) {
		k->close_abandoned = true;
		if (!failed)
			err_set(e, ERR_REMOTE, "%s: could not leave the group within %lld s",
			    k->brokers, (long long)(k->timeout_ms / 1000));
		return -1;
	}
	return failed ? -1 : 0;
}

/* Partitions with first and last offsets, then the group's commits and lag. */
static int
kafka_status(struct hub *hb, void (*fn)(const char *json, void *arg), void *arg,
    struct err *e)
{
	struct khub *k = (struct khub *)hb;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(k->partitions);
	int64_t *low = xcalloc((size_t)k->partitions, sizeof(*low));
	int64_t *high = xcalloc((size_t)k->partitions, sizeof(*high));
	const char *group = NULL;
	rd_kafka_conf_res_t res;
	char gbuf[256];
	size_t glen = sizeof(gbuf);
	struct buf b = { 0 };
	int rc = -1;

	for (int p = 0; p < k->partitions; p++) {
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(k->rk, k->topic, p,
		    &low[p], &high[p], (int)k->timeout_ms);

		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			err_set(e, ERR_REMOTE, "%s: offsets of partition %d: %s", k->brokers, p,
			    rd_kafka_err2str(err));
			goto out;
		}
		buf_reset(&b);
		buf_addc(&b, '{');
		json_key(&b, "eventhub");
		json_put_str(&b, k->topic, strlen(k->topic));
		json_key(&b, "partition");
		json_put_int(&b, p);
		json_key(&b, "first_seq");
		json_put_int(&b, low[p]);
		json_key(&b, "last_seq");
		json_put_int(&b, high[p] - 1);
		buf_addc(&b, '}');
		fn(b.p, arg);
		rd_kafka_topic_partition_list_add(parts, k->topic, p);
	}
	if (!k->consumer) {
		rc = 0;
		goto out;
	}
	res = rd_kafka_conf_get(rd_kafka_conf(k->rk), "group.id", gbuf, &glen);
	group = res == RD_KAFKA_CONF_OK ? gbuf : HUB_DEFAULT_GROUP;
	if (rd_kafka_committed(k->rk, parts, (int)k->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		err_set(e, ERR_REMOTE, "%s: cannot read the offsets of group %s", k->brokers, group);
		goto out;
	}
	for (int i = 0; i < parts->cnt; i++) {
		int p = parts->elems[i].partition;
		int64_t c = parts->elems[i].offset;

		buf_reset(&b);
		buf_addc(&b, '{');
		json_key(&b, "eventhub");
		json_put_str(&b, k->topic, strlen(k->topic));
		json_key(&b, "group");
		json_put_str(&b, group, strlen(group));
		json_key(&b, "partition");
		json_put_int(&b, p);
		json_key(&b, "checkpoint");
		if (c >= 0)
			json_put_int(&b, c - 1);
		else
			json_put_null(&b);
		json_key(&b, "lag");
		json_put_int(&b, c >= 0 ? high[p] - c : high[p] - low[p]);
		buf_addc(&b, '}');
		fn(b.p, arg);
	}
	rc = 0;
out:
	rd_kafka_topic_partition_list_destroy(parts);
	free(low);
	free(high);
	buf_free(&b);
	return rc;
}

static const struct hub_ops kafka_ops = {
	.close = kafka_close,
	.partition_count = kafka_partition_count,
	.send = kafka_send,
	.flush = kafka_flush,
	.close_windows = NULL,
	.reader_open = kafka_reader_open,
	.read = kafka_read,
	.checkpoint = kafka_checkpoint,
	.reader_leave = kafka_reader_leave,
	.status = kafka_status,
};
