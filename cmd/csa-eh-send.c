/* csa-eh-send: publish NDJSON events to a hub, in committed batches. */
#include <config.h>

#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "capture.h"
#include "err.h"
#include "expr.h"
#include "fsutil.h"
#include "hub.h"
#include "hubopt.h"
#include "input.h"
#include "json.h"
#include "jsonfast.h"
#include "metrics.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "sig.h"
#include "timefmt.h"

static const char usage_line[] =
    "Usage: csa-eh-send [-v] [-H DIR|kafka://HOST:PORT] [-n NAME] [-k EXPR] [-b N]\n"
    "                   [-l MS] [-X KEY=VALUE] [--transport kafka|https] [--metrics FILE]\n"
    "                   [FILE...]\n"
    "       csa-eh-send --close-windows | --close-all-windows [-H DIR] [-n NAME]\n";

static const char help_text[] =
    "Publish each line of NDJSON (FILEs, or standard input) as one event to an\n"
    "event hub.  Exits 0 only when every accepted event was committed.\n"
    "\n"
    "      --batch-size N        events per committed batch (default 1000)\n"
    "      --cacert FILE         CA certificates for --transport https\n"
    "      --capture-format FMT  capture path layout (Azure placeholders)\n"
    "      --capture-interval D  capture window length (default 300s)\n"
    "      --capture-size SIZE   capture window size limit (default 10MiB)\n"
    "      --close-all-windows   write every open capture window now, send nothing\n"
    "      --close-windows       write the capture windows that are due, send nothing\n"
    "      --connection-string-file FILE\n"
    "                            Event Hubs: the connection string, from a file\n"
    "  -H, --hub DIR|kafka://HOST:PORT[,...]\n"
    "                            the embedded hub's directory or a Kafka cluster\n"
    "                            (default $CSA_HUB, else $XDG_STATE_HOME/csa/hub;\n"
    "                            Event Hubs when $EVENTHUB_CONNECTION_STRING is set)\n"
    "  -h, --help                show this help and exit\n"
    "  -k, --partition-key EXPR  the partition key: a field or jq expression\n"
    "      --lazy                with -k a field: read each line only as far as\n"
    "                            its key; faults in other members go unseen\n"
    "      --linger-ms MS        longest wait to fill a batch (default 5; a bare\n"
    "                            number is milliseconds, or a duration: 20ms, 1s)\n"
    "  -n, --eventhub NAME       the event hub (default $EVENTHUB_NAME, else events)\n"
    "      --metrics FILE        write counts of events, batches, retries and commit\n"
    "                            latency to FILE (Prometheus text) every 5s and at exit\n"
    "      --namespace NAME      {Namespace} in capture paths (default local)\n"
    "      --no-capture          turn Capture off for this event hub\n"
    "  -p, --partition N         send every event to partition N\n"
    "      --partitions N        partitions of a new event hub (default 4)\n"
    "  -q, --quiet               no warnings (errors and bad lines still print)\n"
    "      --retention D         keep events for D (default 7d)\n"
    "      --timeout D           keep trying a remote hub for D (default 30s)\n"
    "      --transport T         Event Hubs over kafka (default) or https (REST)\n"
    "  -v, --verbose             report batches and capture files on stderr\n"
    "  -V, --version             show versions and exit\n"
    "  -X, --kafka-option KEY=VALUE  a librdkafka setting (repeatable)\n"
    "\n"
    "Old spellings, still read until the next release: -b, -l (now --batch-size,\n"
    "--linger-ms)\n"
    "\n"
    "Examples:\n"
    "  csa-usgs-fetch -s usgs.state | csa-eh-send -k region\n"
    "  csa-eh-send -H kafka://broker:9092 -n quakes events.ndjson\n"
    "  csa-eh-send --close-windows               # from cron: close Capture files\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage, 3 local I/O,\n"
    "4 remote.  See csa-eh-send(1).\n";

struct options {
	struct hub_opts hub;
	struct expr *key;
	bool lazy;		/* --lazy: lines read only as far as their key */
	int64_t batch_size;
	int64_t linger_ms;
	int partition;
	int close_windows;	/* 0 no, 1 due ones, 2 all */
	char **files;
	int nfiles;
};

static int
take_capture_format(void *to, const char *name, const char *arg)
{
	struct err e;

	(void)name;
	if (capture_check_format(arg, &e) < 0)
		return msg_usage("--capture-format: %s", e.msg);
	*(const char **)to = arg;
	return OPT_RUN;
}

static int
take_namespace(void *to, const char *name, const char *arg)
{
	(void)name;
	if (strchr(arg, '/') || !*arg || strstr(arg, ".."))
		return msg_usage("--namespace: invalid name '%s'", arg);
	*(const char **)to = arg;
	return OPT_RUN;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .libs_of = hub_versions,
		.more = "libjq (jq field expressions)\n"
	};
	struct hub_opts *h = &o->hub;
	int rc;
	/* -b and -l, old spellings: they mean --by and --list elsewhere. */
	const struct opt_spec spec[] = {
		{ .name = "batch-size", .kind = OPT_K_INT, .to = &o->batch_size,
		    .size = sizeof(o->batch_size), .lo = 1, .hi = 1000000, .old = "-b" },
		OPT_E_STRING("cacert", 0, &h->cacert),
		OPT_E_CALL("capture-format", 0, &h->capture_format, take_capture_format),
		OPT_E_DURATION("capture-interval", 0, &h->capture_interval_ms, 0, OPT_NO_MAX),
		OPT_E_SIZE("capture-size", 0, &h->capture_size, 1, OPT_NO_MAX),
		OPT_E_SET("close-all-windows", 0, &o->close_windows, 2),
		OPT_E_SET("close-windows", 0, &o->close_windows, 1),
		OPT_E_FLAG("lazy", 0, &o->lazy),
		{ .name = "linger-ms", .kind = OPT_K_DURATION, .to = &o->linger_ms, .unit_ms = 1,
		    .lo = 0, .hi = 60000, .old = "-l" },
		OPT_E_METRICS,
		OPT_E_CALL("namespace", 0, &h->namespace, take_namespace),
		OPT_E_SET("no-capture", 0, &h->capture, 0),
		OPT_E_INT("partition", 'p', &o->partition, 0, 1023),
		OPT_E_CALL("partition-key", 'k', &o->key, opt_call_expr),
		OPT_E_INT("partitions", 0, &h->partitions, 1, 1024),
		OPT_E_DURATION("retention", 0, &h->retention_ms, 0, OPT_NO_MAX),
		OPT_E_CHOICE("transport", 0, &h->https, "kafka", "https"),
		HUBOPT_ENTRIES(h),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	hub_opts_init(&o->hub);
	o->batch_size = 1000;
	o->linger_ms = 5;
	o->partition = -1;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	argc -= optind;
	argv += optind;
	if (o->close_windows && argc > 0)
		return msg_usage("--close-windows sends nothing: no FILE is read");
	o->files = argv;
	o->nfiles = argc;
	o->hub.batch_size = (int)o->batch_size;
	o->hub.linger_ms = o->linger_ms;
	return OPT_RUN;
}

/* The batch being filled: lines copied out of the reader, then committed. */
struct batch {
	struct buf data;
	struct hub_msg *msgs;
	size_t *body_off, *key_off;
	size_t n, cap;
	int64_t first_ms;
	/* What the last commit did, for --metrics: events and their bytes
	 * (0 when it failed), and how long the hub took. */
	size_t done, done_bytes;
	int64_t commit_us;
};

/*
 * --metrics: the sender's series, made before the committer starts.  The
 * committer's counts are added under the sender's lock, which the main
 * thread holds to write the file.
 */
static struct {
	struct metric *in, *bytes_in, *out, *bytes_out, *batches, *latency, *retries;
} smx;

static void
send_metrics_start(void)
{
	smx.in = metric_get("csa_events_in_total", NULL);
	smx.bytes_in = metric_get("csa_bytes_in_total", NULL);
	smx.out = metric_get("csa_events_out_total", NULL);
	smx.bytes_out = metric_get("csa_bytes_out_total", NULL);
	smx.batches = metric_get("csa_batches_total", NULL);
	smx.latency = metric_get("csa_commit_latency_seconds", NULL);
	smx.retries = metric_get("csa_retries_total", NULL);
}

/* Count what the last commit of b did, on whichever thread holds the hub. */
static void
count_batch(struct batch *b, const struct hub *h)
{
	if (b->done > 0) {
		metric_add(smx.batches, 1);
		metric_add(smx.out, (double)b->done);
		metric_add(smx.bytes_out, (double)b->done_bytes);
		metric_observe(smx.latency, (double)b->commit_us / 1e6);
	}
	metric_set(smx.retries, (double)hub_retries(h));
	b->done = b->done_bytes = 0;
}

/* The key's text: a string as it is, another value as JSON (in t); NULL
 * for none. */
static void
key_text(const struct expr_val *key, struct buf *t, const char **p, size_t *n)
{
	*p = NULL;
	*n = 0;
	if (key == NULL || key->type == EXPR_NULL)
		return;
	if (key->type == EXPR_STRING || key->type == EXPR_OTHER) {
		*p = key->str;
		*n = key->len;
		return;
	}
	buf_reset(t);
	expr_put(t, key);
	*p = t->p;
	*n = t->len;
}

static void
batch_add(struct batch *b, const char *line, size_t len, const char *key, size_t keylen)
{
	struct hub_msg *m;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->msgs = xrealloc(b->msgs, b->cap * sizeof(*b->msgs));
		b->body_off = xrealloc(b->body_off, b->cap * sizeof(*b->body_off));
		b->key_off = xrealloc(b->key_off, b->cap * sizeof(*b->key_off));
	}
	if (b->n == 0)
		b->first_ms = tfmt_now();
	m = &b->msgs[b->n];
	memset(m, 0, sizeof(*m));
	m->partition = -1;
	b->body_off[b->n] = b->data.len;
	buf_add(&b->data, line, len);
	m->len = len;
	b->key_off[b->n] = (size_t)-1;
	if (key) {
		b->key_off[b->n] = b->data.len;
		buf_add(&b->data, key, keylen);
		m->keylen = keylen;
	}
	b->n++;
}

/* Commit the batch; its lines are gone afterwards, whatever happens. */
static int
batch_commit(struct batch *b, struct hub *h, const struct options *o, long *sent)
{
	struct err e;
	int files = 0, status = EXIT_OK, rc;

	if (b->n > 0) {
		struct timespec t0, t1;
		size_t bytes = 0;

		for (size_t i = 0; i < b->n; i++) {
			b->msgs[i].body = b->data.p + b->body_off[i];
			b->msgs[i].key = b->key_off[i] == (size_t)-1 ? NULL : b->data.p + b->key_off[i];
			b->msgs[i].partition = o->partition;
			bytes += b->msgs[i].len;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = hub_send(h, b->msgs, b->n, &e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		b->commit_us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (rc < 0) {
			msg_error(&e);
			msg_warn("the batch of %zu events was not committed whole", b->n);
			b->n = 0;
			buf_reset(&b->data);
			return msg_status(e.kind);
		}
		*sent += (long)b->n;
		b->done = b->n;
		b->done_bytes = bytes;
		msg_verbose("sent a batch of %zu events (%ld in all)", b->n, *sent);
	}
	b->n = 0;
	buf_reset(&b->data);
	if (hub_close_windows(h, false, &files, &e) < 0) {
		msg_error(&e);
		status = EXIT_IO;
	} else if (files > 0) {
		msg_verbose("wrote %d capture file%s", files, files == 1 ? "" : "s");
	}
	return status;
}

static void
batch_free(struct batch *b)
{
	free(b->msgs);
	free(b->body_off);
	free(b->key_off);
	buf_free(&b->data);
}

/*
 * Batches are filled on the main thread and committed on a second one, so
 * that parsing the next batch overlaps the SQLite work of the last.  Two
 * batches take turns; only the committer touches the hub.  A hub that
 * queues copies and batches them itself (Kafka) is handed each line at
 * once on the main thread instead, as kcat -P does: no batch, no copy of
 * our own, no second thread.
 */
struct sender {
	struct hub *h;
	const struct options *o;
	bool direct;		/* each line straight to hub_send */
	struct buf keytext;	/* a key that is not a string, as JSON */
	struct batch slot[2];
	struct batch *filling;	/* the main thread's */
	struct batch *handed;	/* the committer's, NULL when it is idle */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	int status;		/* the worst status of the commits */
	long sent;
	struct msg_bad bad;	/* lines skipped */
};

static void *
committer(void *arg)
{
	struct sender *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct batch *b;
		int st;

		while (s->handed == NULL && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->handed == NULL)
			break;
		b = s->handed;
		pthread_mutex_unlock(&s->mu);
		st = batch_commit(b, s->h, s->o, &s->sent);
		pthread_mutex_lock(&s->mu);
		count_batch(b, s->h);
		s->status = msg_worst(s->status, st);
		s->handed = NULL;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int
sender_start(struct sender *s, struct hub *h, const struct options *o)
{
	sigset_t block, old;
	int rc;

	memset(s, 0, sizeof(*s));
	s->h = h;
	s->o = o;
	s->filling = &s->slot[0];
	s->direct = hub_queues(h);
	send_metrics_start();
	if (s->direct)
		return 0;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* Signals go to the main thread, whose blocking read they must cut. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&s->thread, NULL, committer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		msg_warn("cannot start the committing thread");
		return -1;
	}
	return 0;
}

/* Hand the filled batch to the committer (waiting for it to be free) and
 * take the other one.  Returns the worst commit status so far. */
static int
sender_hand(struct sender *s)
{
	int status;

	if (s->direct)
		return s->status;
	pthread_mutex_lock(&s->mu);
	while (s->handed != NULL)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->filling->n > 0) {
		s->handed = s->filling;
		s->filling = s->filling == &s->slot[0] ? &s->slot[1] : &s->slot[0];
		pthread_cond_broadcast(&s->cv);
	}
	status = s->status;
	pthread_mutex_unlock(&s->mu);
	return status;
}

/*
 * A batch that the linger cut short, with the committer idle: commit it
 * on this thread, which its events just woke.  Handing it over costs one
 * more wake-up, and on a busy machine a woken thread may wait for a CPU
 * for tens of milliseconds (bench/latency-classify.py saw the committer
 * wait 94 ms at a load of 5): every wake-up on the way makes the events
 * later.  A full batch still goes to the committer, so that reading the
 * next one overlaps committing it.  SIGINT and SIGTERM are held meanwhile,
 * as on the committer, so that no system call of SQLite's is cut short.
 * Returns the worst commit status so far.
 */
static int
sender_commit_here(struct sender *s)
{
	sigset_t block, old;
	bool idle;
	int st;

	if (s->direct)
		return s->status;
	pthread_mutex_lock(&s->mu);
	idle = s->handed == NULL;	/* only this thread hands batches over */
	pthread_mutex_unlock(&s->mu);
	if (!idle)
		return sender_hand(s);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	st = batch_commit(s->filling, s->h, s->o, &s->sent);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&s->mu);
	count_batch(s->filling, s->h);
	s->status = msg_worst(s->status, st);
	st = s->status;
	pthread_mutex_unlock(&s->mu);
	return st;
}

/* Commit what is left, stop the committer; returns the worst status. */
static int
sender_finish(struct sender *s)
{
	buf_free(&s->keytext);
	if (s->direct)
		return s->status;
	sender_commit_here(s);	/* the last batch, cut short by the end of input */
	pthread_mutex_lock(&s->mu);
	while (s->handed != NULL)
		pthread_cond_wait(&s->cv, &s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	/* A last look for due capture windows, on this thread now. */
	batch_commit(s->filling, s->h, s->o, &s->sent);
	count_batch(s->filling, s->h);
	batch_free(&s->slot[0]);
	batch_free(&s->slot[1]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	return s->status;
}

/* Wait for input up to the batch's linger; true when the batch is due. */
static bool
linger_over(const struct batch *b, struct ndjson_reader *r, const struct options *o)
{
	int64_t left;
	struct pollfd pfd;

	if (b->n == 0 || ndjson_ready(r))
		return false;
	left = b->first_ms + o->linger_ms - tfmt_now();
	if (left <= 0)
		return true;
	pfd.fd = r->fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, (int)left) == 0;
}

/* Hand one event to a hub that queues it; returns its status. */
static int
send_now(struct sender *s, const char *line, size_t len, const char *key, size_t keylen)
{
	struct hub_msg m;
	struct err e;

	memset(&m, 0, sizeof(m));
	m.body = line;
	m.len = len;
	m.key = key;
	m.keylen = keylen;
	m.partition = s->o->partition;
	if (hub_send(s->h, &m, 1, &e) < 0) {
		msg_error(&e);
		s->status = msg_worst(s->status, msg_status(e.kind));
		return s->status;
	}
	metric_add(smx.out, 1);
	metric_add(smx.bytes_out, (double)len);
	if (++s->sent % s->o->batch_size == 0)
		msg_verbose("handed %ld events to librdkafka", s->sent);
	return s->status;
}

/* --metrics: write the file when due, with the committer's counts still. */
static void
sender_metrics(struct sender *s)
{
	if (!cmd_metrics_due())
		return;
	if (!s->direct)
		pthread_mutex_lock(&s->mu);
	cmd_metrics_write();
	if (!s->direct)
		pthread_mutex_unlock(&s->mu);
}

/* Send the input; returns its status (bad lines, files that could not be
 * read), or EXIT_IO and worse when a batch could not be committed. */
static int
send_input(struct input *in, struct sender *s)
{
	const struct options *o = s->o;
	struct input_record rec;
	struct ndjson_reader *rd;
	struct err e;
	int status = EXIT_OK, rc;

	while (!sig_stop) {
		struct expr_val key;
		const char *keyp;
		size_t keylen;

		if ((rd = input_reader(in)) != NULL && linger_over(s->filling, rd, o)) {
			if (sender_commit_here(s) >= EXIT_IO)
				break;
			continue;
		}
		if (sig_stop)	/* a signal cut the wait short */
			break;
		if ((rc = input_next(in, &rec)) == 0)
			break;
		if (rc < 0)
			continue;	/* said; on with the next file */
		metric_add(smx.in, 1);
		metric_add(smx.bytes_in, (double)rec.len);
		sender_metrics(s);
		memset(&key, 0, sizeof(key));
		if (o->key && expr_eval(o->key, rec.doc, rec.line, rec.len, &key, &e) < 0) {
			msg_bad(&s->bad, BAD_FIELD, rec.file, rec.lineno, "%s", e.msg);
			continue;
		}
		key_text(o->key ? &key : NULL, &s->keytext, &keyp, &keylen);
		if (s->direct) {
			if (send_now(s, rec.line, rec.len, keyp, keylen) >= EXIT_IO)
				break;
			continue;
		}
		batch_add(s->filling, rec.line, rec.len, keyp, keylen);
		if ((int64_t)s->filling->n >= o->batch_size && sender_hand(s) >= EXIT_IO)
			break;
	}
	return msg_worst(status, in->status);
}

static int
run(const struct options *o)
{
	struct sender s;
	struct input in;
	struct hub *h;
	struct err e;
	const char *path;
	int status = EXIT_OK;

	if ((h = hub_open(&o->hub, &e)) == NULL) {
		msg_error(&e);
		return msg_status(e.kind);
	}
	msg_verbose("sending to %s", hub_describe(h));
	if (hub_partition_count(h) > 0 && o->partition >= hub_partition_count(h)) {
		hub_close(h);
		return msg_usage("--partition: the event hub has %d partitions",
		    hub_partition_count(h));
	}
	if (o->close_windows && !hub_has_capture(h)) {
		hub_close(h);
		return msg_usage("--close-windows: only the embedded hub writes Capture files"
		    " (Event Hubs Capture runs in Azure)");
	}
	if (o->close_windows) {
		int files = 0;

		if (hub_close_windows(h, o->close_windows == 2, &files, &e) < 0) {
			msg_error(&e);
			status = EXIT_IO;
		}
		msg_verbose("wrote %d capture file%s", files, files == 1 ? "" : "s");
		hub_close(h);
		return status;
	}
	if (sender_start(&s, h, o) < 0) {
		hub_close(h);
		return EXIT_IO;
	}
	input_init(&in, o->files, o->nfiles, 0, o->key ? INPUT_DOC : INPUT_CHECK, &s.bad);
	in.stop = &sig_stop;
	/* A key that is a field is read On-Demand, in the one pass that
	 * checks every other value of the line; with --lazy the rest of the
	 * line is stepped over by its brackets, unchecked (as kcat -P checks
	 * nothing). */
	if (o->key != NULL && (path = expr_path(o->key)) != NULL)
		input_fields(&in, &path, 1, o->lazy ? JSON_FAST_SKIP_REST : JSON_FAST_CHECK_REST);
	status = msg_worst(status, send_input(&in, &s));
	input_free(&in);
	/* What was read is committed, also after a signal. */
	status = msg_worst(status, sender_finish(&s));
	if (hub_flush(h, &e) < 0) {
		msg_error(&e);
		status = msg_worst(status, msg_status(e.kind));
	}
	msg_verbose("%ld events sent", s.sent);
	status = msg_worst(status, msg_bad_summary(&s.bad, "line", "lines"));
	hub_close(h);
	return status;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	expr_free(o->key);
	hub_opts_free(&o->hub);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP)
