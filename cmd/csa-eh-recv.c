/* csa-eh-recv: consume events from a hub as a member of a consumer group. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "hub.h"
#include "hubopt.h"
#include "json.h"
#include "metrics.h"
#include "msg.h"
#include "num.h"
#include "opt.h"
#include "sig.h"
#include "table.h"
#include "timefmt.h"

#define READ_MAX 1024

static const char usage_line[] =
    "Usage: csa-eh-recv [-emuv] [--bare] [-H DIR|kafka://HOST:PORT] [-n NAME] [-g GROUP]\n"
    "                   [-p N] [-c N] [--from earliest|latest|TIME|SEQ] [--positions FILE]\n"
    "                   [--metrics FILE] [-X KEY=VALUE]\n"
    "       csa-eh-recv --list [-H DIR] [-n NAME] [--format FMT]\n";

static const char help_text[] =
    "Write the events of an event hub to standard output, one per line, as a\n"
    "member of a consumer group, with its partition in \"_eh\".  Checkpoints only\n"
    "what was written.\n"
    "\n"
    "      --bare                   the bodies as sent, without \"_eh\"\n"
    "  -c, --count N                exit after N events\n"
    "      --checkpoint-every N     checkpoint after N events (default 1000)\n"
    "      --checkpoint-interval D  checkpoint at least every D (default 1s)\n"
    "  -e, --exit-at-end            exit once caught up\n"
    "      --format FMT             --list as ndjson (the default), csv, tsv or table\n"
    "      --from WHERE             a new group starts at earliest (default),\n"
    "                               latest, a TIME, or a sequence number\n"
    "      --connection-string-file FILE\n"
    "                               Event Hubs: the connection string, from a file\n"
    "  -g, --group NAME             the consumer group (default $Default)\n"
    "  -H, --hub DIR|kafka://HOST:PORT[,...]\n"
    "                               the embedded hub's directory or a Kafka cluster\n"
    "                               (default $CSA_HUB, else $XDG_STATE_HOME/csa/hub;\n"
    "                               Event Hubs when $EVENTHUB_CONNECTION_STRING is set)\n"
    "  -h, --help                   show this help and exit\n"
    "  -l, --list                   show partitions, groups and captures; exit\n"
    "      --lease D                a member's partition lease (default 10s)\n"
    "  -m, --meta                   add an \"_eh\" object with the hub's metadata\n"
    "      --metrics FILE           write counters, positions and lag to FILE\n"
    "                               (Prometheus text) every 5s and at exit\n"
    "  -n, --eventhub NAME          the event hub (default $EVENTHUB_NAME, else events)\n"
    "  -p, --partition N            read partition N only, outside the sharing\n"
    "      --positions FILE         resume after the positions in FILE (a csa-window\n"
    "                               state) and checkpoint no further\n"
    "  -q, --quiet                  no warnings (errors still print)\n"
    "      --timeout D              keep trying a remote hub for D (default 30s)\n"
    "  -u, --unbuffered             flush after every event\n"
    "  -v, --verbose                report progress on stderr\n"
    "  -V, --version                show versions and exit\n"
    "  -X, --kafka-option KEY=VALUE a librdkafka setting (repeatable)\n"
    "\n"
    "Examples:\n"
    "  csa-eh-recv -g speed | csa-window --preset earthquake\n"
    "  csa-eh-recv -g audit -e --meta > all.ndjson   # everything so far, then stop\n"
    "  csa-eh-recv --list --format table\n"
    "\n"
    "Exit status: 0 ok, 1 data errors, 2 usage, 3 local I/O, 4 remote.\n"
    "See csa-eh-recv(1).\n";

struct options {
	struct hub_opts hub;
	struct hub_reader_opts rd;
	bool exit_at_end, meta, bare, list, unbuffered;
	const char *positions;	/* --positions: a csa-window state */
	enum table_format format;	/* --list's */
	int64_t count;
	int64_t ckpt_every, ckpt_interval_ms;
};

/* earliest, latest, a sequence number (digits), or a time. */
static int
parse_from(const char *s, struct hub_reader_opts *rd)
{
	struct err e;
	int64_t v;

	if (strcmp(s, "earliest") == 0 || strcmp(s, "beginning") == 0) {
		rd->from = HUB_FROM_EARLIEST;
	} else if (strcmp(s, "latest") == 0 || strcmp(s, "end") == 0) {
		rd->from = HUB_FROM_LATEST;
	} else if (num_parse_int64(s, 0, INT64_MAX, &v) == 0) {
		rd->from = HUB_FROM_SEQ;
		rd->from_value = v;
	} else if (tfmt_parse_when(s, tfmt_now(), &v, &e) == 0) {
		rd->from = HUB_FROM_TIME;
		rd->from_value = v;
	} else {
		return -1;
	}
	return 0;
}

static int
take_group(void *to, const char *name, const char *arg)
{
	(void)name;
	if (!*arg)
		return msg_usage("--group: the name is empty");
	*(const char **)to = arg;
	return OPT_RUN;
}

static int
take_from(void *to, const char *name, const char *arg)
{
	(void)name;
	if (parse_from(arg, to) < 0)
		return msg_usage("--from: '%s' is not earliest, latest, a time or a "
		    "sequence number", arg);
	return OPT_RUN;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .libs_of = hub_versions
	};
	int rc;
	const struct opt_spec spec[] = {
		OPT_E_FLAG("bare", 0, &o->bare),
		OPT_E_INT("checkpoint-every", 0, &o->ckpt_every, 1, OPT_NO_MAX),
		OPT_E_DURATION("checkpoint-interval", 0, &o->ckpt_interval_ms, 1, OPT_NO_MAX),
		OPT_E_INT("count", 'c', &o->count, 0, OPT_NO_MAX),
		OPT_E_FLAG("exit-at-end", 'e', &o->exit_at_end),
		OPT_E_FORMAT("format", 0, &o->format),
		OPT_E_CALL("from", 0, &o->rd, take_from),
		OPT_E_CALL("group", 'g', &o->rd.group, take_group),
		OPT_E_DURATION("lease", 0, &o->hub.lease_ms, 100, OPT_NO_MAX),
		OPT_E_FLAG("list", 'l', &o->list),
		OPT_E_FLAG("meta", 'm', &o->meta),
		OPT_E_METRICS,
		OPT_E_INT("partition", 'p', &o->rd.partition, 0, 1023),
		OPT_E_STRING("positions", 0, &o->positions),
		OPT_E_FLAG("unbuffered", 'u', &o->unbuffered),
		HUBOPT_ENTRIES(&o->hub),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	hub_opts_init(&o->hub);
	o->rd.group = HUB_DEFAULT_GROUP;
	o->rd.from = HUB_FROM_EARLIEST;
	o->rd.partition = -1;
	o->rd.hangup_fd = STDOUT_FILENO;
	o->count = -1;
	o->ckpt_every = 1000;
	o->ckpt_interval_ms = 1000;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc > 0)
		return msg_usage("unexpected argument '%s'", argv[0]);
	if (o->format != TABLE_NDJSON && !o->list)
		return msg_usage("--format: only with --list (events are NDJSON)");
	if (o->bare && o->meta)
		return msg_usage("--bare and --meta: choose one");
	if (o->bare && o->positions)
		return msg_usage("--bare and --positions: the positions need \"_eh\"");
	o->hub.reader = true;
	o->hub.group = o->rd.group;
	o->hub.to_end = o->exit_at_end;
	return OPT_RUN;
}

/* A line of --list, kept for the format asked for. */
struct listing {
	struct buf text;
	size_t n;
};

static void
list_line(const char *json, void *arg)
{
	struct listing *l = arg;

	buf_adds(&l->text, json);
	buf_addc(&l->text, '\n');
	l->n++;
}

/*
 * Add one event to the output: its body with an "_eh" member holding its
 * partition (so that csa-window keeps event time per partition), all of the
 * hub's metadata with --meta, or nothing added with --bare.  An "_eh" the
 * body brought from an earlier hub is replaced.  A body that is not a JSON
 * object is added as it is, or with --meta under "body", as a string.
 */
static void
put_event(const struct hub_msg *m, const struct options *o, struct buf *b,
    struct json_doc *d)
{
	const char *body = m->body;
	size_t len = m->len, start = b->len;
	char t[32];

	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	if (o->bare || (json_reopen(b, body, len, "_eh", d) < 0 && !o->meta)) {
		buf_add(b, body, len);
		buf_addc(b, '\n');
		return;
	}
	if (b->len == start) {
		buf_adds(b, "{\"body\":");
		json_put_str(b, body, len);
	}
	json_key(b, "_eh");
	buf_addc(b, '{');
	json_key(b, "partition");
	json_put_int(b, m->partition);
	if (o->positions && !o->meta) {
		json_key(b, "sequence_number");	/* for the positions csa-window keeps */
		json_put_int(b, m->seq);
	}
	if (!o->meta) {
		buf_adds(b, "}}\n");
		return;
	}
	json_key(b, "sequence_number");
	json_put_int(b, m->seq);
	json_key(b, "offset");
	json_put_int(b, m->offset);
	json_key(b, "enqueued_time");
	tfmt_format(m->enqueued_ms, t);
	json_put_str(b, t, strlen(t));
	json_key(b, "partition_key");
	if (m->key)
		json_put_str(b, m->key, m->keylen);
	else
		json_put_null(b);
	buf_adds(b, "}}\n");
}

/*
 * --metrics: the reader's series.  Per partition (those it has read from
 * in this run, so that two members of a group never report the same
 * series): its position, its lag in events and in time, its checkpoint's
 * age.  enq holds the enqueued times of the events waiting in the output
 * buffer, for the delivery latency once they are written.
 */
struct recv_metrics {
	struct metric *in, *out, *bytes_in, *bytes_out, *latency;
	struct metric **pos, **lag, **lag_s, **ckpt_age;
	int64_t *last_enq;	/* enqueued time of the last event written, per partition */
	int64_t *ckpt_at;	/* wall time of the partition's last checkpoint */
	int64_t *enq;		/* only with --metrics */
	size_t nenq, capenq;
	size_t unflushed;	/* events in the output buffer */
	const char *group;
	int partitions;
};

static void
recv_metrics_init(struct recv_metrics *m, const char *group, int partitions)
{
	size_t n = (size_t)partitions;

	memset(m, 0, sizeof(*m));
	m->group = group;
	m->partitions = partitions;
	m->in = metric_get("csa_events_in_total", "group", group, NULL);
	m->out = metric_get("csa_events_out_total", "group", group, NULL);
	m->bytes_in = metric_get("csa_bytes_in_total", "group", group, NULL);
	m->bytes_out = metric_get("csa_bytes_out_total", "group", group, NULL);
	m->latency = metric_get("csa_delivery_latency_seconds", "group", group, NULL);
	m->pos = xcalloc(n, sizeof(*m->pos));
	m->lag = xcalloc(n, sizeof(*m->lag));
	m->lag_s = xcalloc(n, sizeof(*m->lag_s));
	m->ckpt_age = xcalloc(n, sizeof(*m->ckpt_age));
	m->last_enq = xcalloc(n, sizeof(*m->last_enq));
	m->ckpt_at = xcalloc(n, sizeof(*m->ckpt_at));
}

static void
recv_metrics_free(struct recv_metrics *m)
{
	free(m->pos);
	free(m->lag);
	free(m->lag_s);
	free(m->ckpt_age);
	free(m->last_enq);
	free(m->ckpt_at);
	free(m->enq);
}

/* The series of partition p, made when it is first read from. */
static void
recv_metrics_partition(struct recv_metrics *m, int p)
{
	char part[16];

	if (m->pos[p])
		return;
	snprintf(part, sizeof(part), "%d", p);
	m->pos[p] = metric_get("csa_hub_position", "group", m->group, "partition", part, NULL);
	m->lag[p] = metric_get("csa_hub_lag_events", "group", m->group, "partition", part, NULL);
	m->lag_s[p] = metric_get("csa_hub_lag_seconds", "group", m->group, "partition", part,
	    NULL);
	m->ckpt_age[p] = metric_get("csa_checkpoint_age_seconds", "group", m->group,
	    "partition", part, NULL);
}

/* A partition line of hub_status: its last sequence number into arg. */
static void
status_last_seq(const char *json, void *arg)
{
	int64_t *last = arg;	/* last[-1] holds the partition count */
	struct json_doc d;
	struct err e;
	int64_t p, seq;
	int t, u;

	json_doc_init(&d);
	if (json_parse(&d, json, strlen(json), &e) == 0 &&
	    (t = json_member(&d, 0, "last_seq", 8)) >= 0 &&
	    (u = json_member(&d, 0, "partition", 9)) >= 0 &&
	    json_member(&d, 0, "group", 5) < 0 &&
	    json_int64(&d, t, &seq) == 0 && json_int64(&d, u, &p) == 0 &&
	    p >= 0 && p < last[-1])
		last[p] = seq;
	json_doc_free(&d);
}

/*
 * Refresh the gauges before a write: the hub's last sequence number of
 * each partition (hub_status) against flushed, what was written out.
 */
static void
recv_metrics_refresh(struct recv_metrics *m, struct hub *h, const int64_t *flushed)
{
	int64_t *last = xcalloc((size_t)m->partitions + 1, sizeof(*last)), now = tfmt_now();
	struct err e;
	bool known;

	last[0] = m->partitions;
	for (int p = 0; p < m->partitions; p++)
		last[p + 1] = -1;
	known = hub_status(h, status_last_seq, last + 1, &e) == 0;
	for (int p = 0; p < m->partitions; p++) {
		int64_t lag;

		if (m->pos[p] == NULL)
			continue;
		metric_set(m->pos[p], (double)flushed[p]);
		lag = known && last[p + 1] > flushed[p] ? last[p + 1] - flushed[p] : 0;
		metric_set(m->lag[p], (double)lag);
		metric_set(m->lag_s[p], lag > 0 && now > m->last_enq[p] ?
		    (double)(now - m->last_enq[p]) / 1000 : 0);
		if (m->ckpt_at[p] > 0)
			metric_set(m->ckpt_age[p], (double)(now - m->ckpt_at[p]) / 1000);
	}
	free(last);
}

/* Output is written in chunks of about this size, or per event with -u. */
#define OUT_CHUNK 32768

/*
 * The output and how far it got.  Events go into out; written[p] is the
 * last event of partition p put there, flushed[p] the last that reached
 * stdout.  closed: the reader went away (quiet); failed: a write error.
 */
struct progress {
	struct buf out;
	int64_t *written, *flushed;
	int partitions;
	long since_ckpt;
	int64_t last_ckpt;
	bool closed, failed;
	struct recv_metrics *mx;
};

/*
 * Write out what is buffered; only then do the written positions count as
 * delivered.  A reader that went away ends the run quietly (as SIGPIPE
 * would, but with a checkpoint of what it did take); any other failure is
 * a write error, exit 3.
 */
static int
flush_out(struct progress *pr)
{
	size_t done, at = 0;
	int err = 0;

	if (pr->closed || pr->failed)
		return -1;
	/*
	 * Whole lines of at most PIPE_BUF bytes per write, which a pipe takes
	 * in one piece: another writer of the same pipe (a second
	 * csa-eh-recv, csa-window -u) can then never split one of our lines.
	 */
	while (err == 0 && at < pr->out.len) {
		size_t n = pr->out.len - at;

		if (n > PIPE_BUF) {
			const char *nl = memrchr(pr->out.p + at, '\n', PIPE_BUF);

			n = nl ? (size_t)(nl - (pr->out.p + at)) + 1 : PIPE_BUF;
		}
		err = fs_write_all(STDOUT_FILENO, pr->out.p + at, n, &done);
		at += done;
	}
	buf_reset(&pr->out);
	if (err != 0)
		pr->mx->nenq = pr->mx->unflushed = 0;	/* not delivered */
	if (err == EPIPE) {
		pr->closed = true;
		return -1;
	}
	if (err != 0) {
		msg_warn("write error: %s", strerror(err));
		pr->failed = true;
		return -1;
	}
	memcpy(pr->flushed, pr->written, sizeof(*pr->written) * (size_t)pr->partitions);
	if (at > 0) {
		struct recv_metrics *m = pr->mx;
		int64_t now = tfmt_now();

		for (size_t i = 0; i < m->nenq; i++)
			metric_observe(m->latency, (double)(now - m->enq[i]) / 1000);
		metric_add(m->out, (double)m->unflushed);
		metric_add(m->bytes_out, (double)at);
		m->nenq = m->unflushed = 0;
	}
	return 0;
}

static int
checkpoint(struct hub *h, struct progress *pr)
{
	struct err e;

	pr->since_ckpt = 0;
	pr->last_ckpt = tfmt_now();
	if (hub_checkpoint(h, pr->flushed, &e) < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	for (int p = 0; p < pr->partitions; p++)
		if (pr->flushed[p] >= 0)
			pr->mx->ckpt_at[p] = pr->last_ckpt;
	return EXIT_OK;
}

/* With -e: say which partitions another live member kept from us. */
static int
report_missing(struct hub *h, const struct options *o)
{
	int n, parts[64];
	struct buf list = { 0 };

	if ((n = hub_reader_missing(h, parts, 64)) <= 0)
		return EXIT_OK;
	for (int i = 0; i < n; i++)
		buf_printf(&list, "%s%d", i ? ", " : "", parts[i]);
	msg_warn("partition%s %s of group '%s' %s held by another live member: not read",
	    n > 1 ? "s" : "", list.p, o->rd.group, n > 1 ? "are" : "is");
	buf_free(&list);
	return EXIT_DATA;
}

static int
consume(struct hub *h, const struct options *o)
{
	struct hub_msg *msgs = xcalloc(READ_MAX, sizeof(*msgs));
	struct progress pr = { 0 };
	struct recv_metrics mx;
	struct json_doc doc;
	struct err e;
	int64_t total = 0;
	int status = EXIT_OK;
	bool at_end = false;

	pr.partitions = hub_partition_count(h);
	pr.written = xmalloc(sizeof(int64_t) * (size_t)pr.partitions);
	pr.flushed = xmalloc(sizeof(int64_t) * (size_t)pr.partitions);
	for (int p = 0; p < pr.partitions; p++)
		pr.written[p] = pr.flushed[p] = -1;
	pr.last_ckpt = tfmt_now();
	recv_metrics_init(&mx, o->rd.group, pr.partitions);
	pr.mx = &mx;
	if (o->rd.partition >= 0 && o->rd.partition < pr.partitions)
		recv_metrics_partition(&mx, o->rd.partition);
	json_doc_init(&doc);
	while (!sig_stop && (o->count < 0 || total < o->count)) {
		int max = READ_MAX, n, wait;
		bool caught_up;

		if (o->count >= 0 && o->count - total < max)
			max = (int)(o->count - total);
		/* Never read past the next checkpoint: it bounds what repeats. */
		if (o->ckpt_every - pr.since_ckpt < max)
			max = (int)(o->ckpt_every - pr.since_ckpt > 0 ? o->ckpt_every - pr.since_ckpt : 1);
		/* Block only with everything flushed, so a pipeline never stalls here. */
		wait = o->exit_at_end ? 0 : (int)o->ckpt_interval_ms;
		n = hub_read(h, msgs, max, 0, &caught_up, &e);
		if (n == 0 && !o->exit_at_end) {
			if (flush_out(&pr) < 0)
				break;
			n = hub_read(h, msgs, max, wait, &caught_up, &e);
		}
		if (n < 0) {
			msg_error(&e);
			status = msg_status(e.kind);
			break;
		}
		/* Waiting is when a closed output shows: q in csa-dashboard. */
		if (n == 0 && fs_hung_up(STDOUT_FILENO)) {
			pr.closed = true;
			break;
		}
		for (int i = 0; i < n; i++) {
			int p = msgs[i].partition;

			put_event(&msgs[i], o, &pr.out, &doc);
			pr.written[p] = msgs[i].seq;
			metric_add(mx.in, 1);
			metric_add(mx.bytes_in, (double)msgs[i].len);
			recv_metrics_partition(&mx, p);
			mx.last_enq[p] = msgs[i].enqueued_ms;
			mx.unflushed++;
			if (cmd_metrics_on()) {
				if (mx.nenq == mx.capenq) {
					mx.capenq = mx.capenq ? 2 * mx.capenq : 1024;
					mx.enq = xrealloc(mx.enq, mx.capenq * sizeof(*mx.enq));
				}
				mx.enq[mx.nenq++] = msgs[i].enqueued_ms;
			}
			if ((o->unbuffered || pr.out.len >= OUT_CHUNK) && flush_out(&pr) < 0)
				break;
		}
		if (pr.closed || pr.failed)
			break;
		total += n;
		pr.since_ckpt += n;
		if (pr.since_ckpt >= o->ckpt_every ||
		    tfmt_now() - pr.last_ckpt >= o->ckpt_interval_ms) {
			if (flush_out(&pr) < 0)
				break;
			status = msg_worst(status, checkpoint(h, &pr));
		}
		if (cmd_metrics_due()) {
			recv_metrics_refresh(&mx, h, pr.flushed);
			cmd_metrics_write();
		}
		if (n == 0 && caught_up && o->exit_at_end) {
			at_end = true;
			break;
		}
	}
	/* Whatever stopped us, checkpoint only what reached stdout. */
	flush_out(&pr);
	status = msg_worst(status, checkpoint(h, &pr));
	if (pr.failed)
		status = msg_worst(status, EXIT_IO);
	if (at_end)
		status = msg_worst(status, report_missing(h, o));
	if (hub_reader_leave(h, &e) < 0) {
		msg_error(&e);
		status = msg_worst(status, EXIT_IO);
	}
	if (cmd_metrics_on())
		recv_metrics_refresh(&mx, h, pr.flushed);	/* for the last write, at exit */
	recv_metrics_free(&mx);
	msg_verbose("%lld events received", (long long)total);
	free(msgs);
	free(pr.written);
	free(pr.flushed);
	buf_free(&pr.out);
	json_doc_free(&doc);
	return status;
}

static int
run(const struct options *o)
{
	struct hub *h;
	struct err e;
	int status;

	if ((h = hub_open(&o->hub, &e)) == NULL) {
		msg_error(&e);
		return msg_status(e.kind);
	}
	msg_verbose("reading %s as group %s", hub_describe(h), o->rd.group);
	if (o->list) {
		struct listing l = { { 0 }, 0 };

		status = hub_status(h, list_line, &l, &e) < 0 ? EXIT_IO : EXIT_OK;
		if (status != EXIT_OK)
			msg_error(&e);
		if (table_write(o->format, l.text.p ? l.text.p : "", l.text.len, l.n) < 0)
			status = EXIT_IO;
		buf_free(&l.text);
	} else if (hub_reader_open(h, &o->rd, &e) < 0 ||
	    (o->positions && hub_reader_positions(h, o->positions, &e) < 0)) {
		msg_error(&e);
		status = msg_status(e.kind);
	} else {
		status = consume(h, o);
	}
	hub_close(h);
	return status;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	hub_opts_free(&o->hub);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP | CMD_NO_SIGPIPE)
