/* csa-usgs-fetch: poll the USGS earthquake feeds and emit new and revised events. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "expr.h"
#include "fsutil.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "msg.h"
#include "opt.h"
#include "progress.h"
#include "sig.h"
#include "strmap.h"
#include "timefmt.h"
#include "usgs.h"

#define FEED_BASE "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/"
#define FDSN_QUERY "https://earthquake.usgs.gov/fdsnws/event/1/query"
#define FDSN_MAX_DEFAULT 20000
#define FDSN_GAP_MS 600		/* the least time between two FDSN requests */
#define DAY_MS 86400000LL

static const char usage_line[] =
    "Usage: csa-usgs-fetch [-auv] [-f NAME | --url URL] [-i D] [-s FILE [--pending]] [-w EXPR]\n"
    "                      [--from T] [--to T] [--minmagnitude M] [--updatedafter T]\n"
    "                      [--metrics FILE]\n";

static const char help_text[] =
    "Poll the USGS earthquake feeds and write one event NDJSON line for each\n"
    "feature that is new or revised since it was last seen.\n"
    "\n"
    "  -a, --all               emit every feature, not only new and revised ones\n"
    "      --cacert FILE       trust the CA certificates in FILE as well\n"
    "  -f, --feed NAME         a USGS summary feed (default 2.5_hour)\n"
    "      --from TIME         FDSN backfill: events from TIME (-30d, yesterday ...)\n"
    "  -h, --help              show this help and exit\n"
    "  -i, --interval D        poll every D (30s, 5m; a number: seconds) until stopped\n"
    "      --minmagnitude M    FDSN backfill: magnitude at least M\n"
    "      --pending           save the state to FILE.pending, for the script to\n"
    "                          move into place once the next stage succeeded\n"
    "  -q, --quiet             no warnings (errors and bad lines still print)\n"
    "      --retries N         retries of a failed request (default 3)\n"
    "      --metrics FILE      write counts of polls, HTTP statuses and events to\n"
    "                          FILE (Prometheus text) after each poll and at exit\n"
    "      --retry-delay D     wait before the first retry, doubling (default 1s)\n"
    "  -s, --state FILE        remember seen events across runs in FILE\n"
    "      --state-days N      forget events not seen for N days (default 30; or\n"
    "                          a duration such as 2w)\n"
    "      --timeout D         give up one request after D (default 60s)\n"
    "      --to TIME           FDSN backfill: events up to TIME (default now)\n"
    "  -u, --unbuffered        flush after every event\n"
    "      --updatedafter TIME FDSN backfill: events updated after TIME\n"
    "      --url URL           poll URL (http, https, file) instead of a feed\n"
    "  -v, --verbose           print a summary of each poll on stderr\n"
    "  -V, --version           show versions and exit\n"
    "  -w, --where EXPR        emit only events for which the jq EXPR is true\n"
    "\n"
    "Old spellings, still read until the next release: --starttime, --endtime\n"
    "(now --from, --to)\n"
    "\n"
    "Examples:\n"
    "  csa-usgs-fetch -f 4.5_day                   # M4.5+ of the past day, once\n"
    "  csa-usgs-fetch -i 1m -s usgs.state | csa-eh-send     # every minute, to a hub\n"
    "  csa-usgs-fetch --from -30d --minmagnitude 6 # a month of M6+ (FDSN)\n"
    "\n"
    "Exit status: 0 ok, 1 bad features or documents were skipped, 2 usage,\n"
    "3 local I/O, 4 network or server.  See csa-usgs-fetch(1).\n";

struct options {
	bool all;
	bool unbuffered;
	bool pending;
	const char *feed;
	const char *url;
	const char *state_path;
	int64_t interval_ms;
	int64_t state_ms;	/* --state-days */
	struct expr *where;
	bool fdsn;
	int64_t starttime, endtime, updatedafter;
	bool have_start, have_end, have_updated;
	double minmagnitude;
	bool have_minmag;
	struct http_opts http;
};

/* What the tool knows between polls: every seen id, and the last validators. */
struct state {
	struct strmap seen;	/* id -> a: greatest updated, b: last seen (ms) */
	char *url;		/* the URL the validators belong to */
	char *etag;
	char *last_modified;
	bool dirty;
};

struct poll_stats {
	long features, emitted, new_events, revised, skipped;
};

/*
 * Whether name is one of the USGS summary feeds, MAG_PERIOD: checked here
 * so that a typo is a usage error, not a DNS error or a 404 a minute later.
 */
static bool
feed_known(const char *name)
{
	static const char *const mags[] = { "significant", "4.5", "2.5", "1.0", "all" };
	static const char *const periods[] = { "hour", "day", "week", "month" };
	const char *us = strrchr(name, '_');

	if (us == NULL)
		return false;
	for (size_t m = 0; m < sizeof(mags) / sizeof(mags[0]); m++) {
		if (strlen(mags[m]) != (size_t)(us - name) ||
		    strncmp(mags[m], name, (size_t)(us - name)) != 0)
			continue;
		for (size_t p = 0; p < sizeof(periods) / sizeof(periods[0]); p++)
			if (strcmp(periods[p], us + 1) == 0)
				return true;
	}
	return false;
}

static int
take_feed(void *to, const char *name, const char *arg)
{
	(void)name;
	if (!feed_known(arg))
		return msg_usage("--feed: no USGS feed '%s' (MAG_PERIOD: MAG is "
		    "significant, 4.5, 2.5, 1.0 or all; PERIOD hour, day, week or "
		    "month)", arg);
	*(const char **)to = arg;
	return OPT_RUN;
}

static int
take_timeout(void *to, const char *name, const char *arg)
{
	int64_t n;

	/* libcurl's timeout is whole seconds: a part of one counts as one. */
	if (opt_duration(name, arg, 1000, DAY_MS, &n) < 0)
		return EXIT_USAGE;
	*(long *)to = (long)((n + 999) / 1000);
	return OPT_RUN;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .libs_of = http_version,
		.more = "libjq (jq field expressions)\njsmn\n"
	};
	int rc;
	const struct opt_spec spec[] = {
		OPT_E_FLAG("all", 'a', &o->all),
		OPT_E_CALL("feed", 'f', &o->feed, take_feed),
		{ .name = "from", .kind = OPT_K_TIME, .to = &o->starttime,
		    .given = &o->have_start, .old = "--starttime" },
		OPT_E_DURATION("interval", 'i', &o->interval_ms, 1000, OPT_NO_MAX),
		OPT_E_METRICS,
		{ .name = "minmagnitude", .kind = OPT_K_NUMBER, .to = &o->minmagnitude,
		    .dlo = -10, .dhi = 12, .given = &o->have_minmag },
		OPT_E_FLAG("pending", 0, &o->pending),
		OPT_E_STRING("state", 's', &o->state_path),
		{ .name = "state-days", .kind = OPT_K_DURATION, .to = &o->state_ms,
		    .unit_ms = DAY_MS, .lo = DAY_MS, .hi = 36500 * DAY_MS },
		OPT_E_CALL("timeout", 0, &o->http.timeout, take_timeout),
		{ .name = "to", .kind = OPT_K_TIME, .to = &o->endtime, .given = &o->have_end,
		    .old = "--endtime" },
		OPT_E_FLAG("unbuffered", 'u', &o->unbuffered),
		{ .name = "updatedafter", .kind = OPT_K_TIME, .to = &o->updatedafter,
		    .given = &o->have_updated },
		OPT_E_STRING("url", 0, &o->url),
		OPT_E_CALL("where", 'w', &o->where, opt_call_expr),
		OPT_E_HTTP(&o->http),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	o->state_ms = 30 * DAY_MS;
	http_opts_init(&o->http);
	o->http.stop = &sig_stop;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	o->fdsn = o->have_start || o->have_end || o->have_minmag || o->have_updated;
	argc -= optind;
	argv += optind;
	if (argc > 0)
		return msg_usage("unexpected argument '%s'", argv[0]);
	if (o->feed && o->url)
		return msg_usage("--feed and --url exclude each other");
	if (o->fdsn && o->feed)
		return msg_usage("--feed cannot be combined with FDSN options (--from ...)");
	if (o->have_start && o->have_end && o->starttime > o->endtime)
		return msg_usage("--from is after --to");
	if (o->pending && o->state_path == NULL)
		return msg_usage("--pending: needs --state FILE");
	if (o->pending && o->interval_ms)
		return msg_usage("--pending: one poll a run, without --interval: the next poll"
		    " would start from a state the next stage has not taken yet");
	return OPT_RUN;
}

/*
 * One feature of a document.  Nothing is decided or written until all of
 * the document proved valid, so each feature waits here, as the place of
 * its text in the document; its event is built when it is written.
 */
struct pending {
	struct usgs_event ev;	/* its times, and its ids in the event line */
	long index;		/* position in the document, from 0 */
	struct usgs_span src;	/* the feature's text; len 0 when skipped */
	char *name;		/* how to name it in a warning (the first few) */
};

struct batch {
	const char *text;	/* the document */
	struct pending *p;
	size_t n, cap;
	long skipped;
};

/* json_parse_stream's callback: one feature becomes one pending event. */
static int
on_feature(const struct json_doc *d, int f, void *arg)
{
	struct batch *bt = arg;
	struct pending *pe;
	struct usgs_feature ft;
	double lon, lat;

	if (bt->n == bt->cap) {
		bt->cap = bt->cap ? bt->cap * 2 : 1024;
		bt->p = xrealloc(bt->p, bt->cap * sizeof(*bt->p));
	}
	pe = &bt->p[bt->n];
	memset(pe, 0, sizeof(*pe));
	pe->index = (long)bt->n++;
	usgs_scan(d, f, &ft);
	if (usgs_check(d, &ft, &pe->ev, &lon, &lat) < 0) {
		char name[300];

		if (++bt->skipped <= BAD_SHOWN) {
			usgs_name(d, &ft, pe->index, name, sizeof(name));
			pe->name = xstrdup(name);
		}
		return 0;
	}
	pe->src.off = (size_t)d->tok[f].start;
	pe->src.len = (size_t)(d->tok[f].end - d->tok[f].start);
	return 0;
}

static void
batch_free(struct batch *bt)
{
	for (size_t i = 0; i < bt->n; i++)
		free(bt->p[i].name);
	free(bt->p);
}

/*
 * Every id a feature goes by: its own id and each id of the comma-separated
 * `ids` list (",ci38443183,us70004a0g,").  Calls fn for each.
 */
static void
each_id(const char *base, const struct pending *pe,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	const char *s = base + pe->ev.ids.off;
	size_t n = pe->ev.ids.len;

	fn(base + pe->ev.id.off, pe->ev.id.len, arg);
	while (n > 0) {
		const char *comma = memchr(s, ',', n);
		size_t k = comma ? (size_t)(comma - s) : n;

		if (k > 0)
			fn(s, k, arg);
		if (!comma)
			break;
		n -= k + 1;
		s = comma + 1;
	}
}

struct lookup {
	const struct strmap *seen;
	bool hit;
	int64_t updated;
};

static void
lookup_id(const char *s, size_t n, void *arg)
{
	struct lookup *l = arg;
	const struct strmap_entry *en = strmap_get(l->seen, s, n);

	if (en && (!l->hit || en->a > l->updated)) {
		l->hit = true;
		l->updated = en->a;
	}
}

struct record {
	struct state *st;
	int64_t updated;
	int64_t now;
};

static void
record_id(const char *s, size_t n, void *arg)
{
	struct record *r = arg;
	struct strmap_entry *en = strmap_put(&r->st->seen, s, n, NULL);

	if (r->updated > en->a)
		en->a = r->updated;
	en->b = r->now;
	r->st->dirty = true;
}

static int
cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->ev.time != y->ev.time)
		return x->ev.time < y->ev.time ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Put the pending events in ascending time; feeds come newest first. */
static void
sort_pending(struct batch *bt)
{
	bool asc = true, desc = true;

	/* A quiet feed (no features) is the common case of the hour feeds:
	 * nothing to order, and no last element to swap with. */
	if (bt->n < 2)
		return;
	for (size_t i = 1; i < bt->n && (asc || desc); i++) {
		int c = cmp_pending(&bt->p[i - 1], &bt->p[i]);

		asc = asc && c <= 0;
		desc = desc && bt->p[i - 1].ev.time > bt->p[i].ev.time;
	}
	if (desc) {
		for (size_t i = 0, j = bt->n - 1; i < j; i++, j--) {
			struct pending tmp = bt->p[i];

			bt->p[i] = bt->p[j];
			bt->p[j] = tmp;
		}
	} else if (!asc) {
		qsort(bt->p, bt->n, sizeof(*bt->p), cmp_pending);
	}
}

/* Keep the event if --where says so; -1 when the expression failed. */
static int
where_keeps(const struct options *o, struct json_doc *ev, const char *line,
    size_t len, const char *src)
{
	struct expr_val v;
	struct err e;

	if (json_parse(ev, line, len, &e) < 0 ||
	    expr_eval(o->where, ev, line, len, &v, &e) < 0) {
		msg_warn("%s: --where: %s", src, e.msg);
		return -1;
	}
	return expr_truthy(&v);
}

/*
 * Decide and write the events of a valid document, in ascending event
 * time.  Returns the exit status of this document.
 */
static int
emit_batch(struct batch *bt, const char *src, const struct options *o,
    struct state *st, struct poll_stats *ps)
{
	struct json_doc fd, ev;
	struct buf line = { 0 };
	char ingested[32];
	int64_t now = tfmt_now();
	struct msg_bad bad = { 0 };	/* a poll's document: its own first ten */
	long named = 0;
	int status;

	/* Skipped features are named in document order, before any event. */
	for (size_t i = 0; i < bt->n; i++)
		if (bt->p[i].name) {
			char where[600];

			snprintf(where, sizeof(where), "%s: %s", src, bt->p[i].name);
			msg_bad_at(&bad, BAD_FIELD, where, "%s", bt->p[i].ev.why);
			named++;
		}
	msg_bad_count(&bad, BAD_FIELD, bt->skipped - named);
	status = msg_bad_summary(&bad, "feature", "features");
	sort_pending(bt);
	tfmt_format(now, ingested);
	json_doc_init(&fd);
	json_doc_init(&ev);
	ps->features += (long)bt->n;
	ps->skipped += bt->skipped;
	for (size_t i = 0; i < bt->n; i++) {
		struct pending *pe = &bt->p[i];
		struct lookup lk = { &st->seen, false, 0 };
		struct record rec = { st, 0, now };
		struct usgs_feature ft;
		struct err e;
		bool fresh, revised;

		if (pe->src.len == 0)
			continue;
		/* The document was valid, so each feature parses alone. */
		if (json_parse_valid(&fd, bt->text + pe->src.off, pe->src.len, &e) < 0)
			continue;
		usgs_scan(&fd, 0, &ft);
		if (usgs_event(&fd, &ft, ingested, &line, &pe->ev) < 0)
			continue;
		rec.updated = pe->ev.updated;
		each_id(line.p, pe, lookup_id, &lk);
		fresh = !lk.hit;
		revised = lk.hit && pe->ev.updated > lk.updated;
		each_id(line.p, pe, record_id, &rec);
		if (!fresh && !revised && !o->all)
			continue;
		if (o->where) {
			int keep = where_keeps(o, &ev, line.p, line.len, src);

			if (keep < 0)
				status = EXIT_DATA;
			if (keep <= 0)
				continue;
		}
		fwrite(line.p, 1, line.len, stdout);
		putchar('\n');
		if (o->unbuffered)
			fflush(stdout);
		if (ferror(stdout))
			break;
		ps->emitted++;
		ps->new_events += fresh;
		ps->revised += revised;
	}
	json_doc_free(&fd);
	json_doc_free(&ev);
	buf_free(&line);
	return status;
}

/*
 * Parse a fetched GeoJSON document and emit its events.  When the document
 * is not valid JSON, nothing is emitted and the state is left alone.
 */
static int
handle_body(const char *src, const struct buf *body, const struct options *o,
    struct state *st, struct poll_stats *ps)
{
	struct batch bt = { 0 };
	struct json_doc d;
	struct err e;
	long nelem;
	int status;

	bt.text = body->p ? body->p : "";
	json_doc_init(&d);
	if (json_parse_stream(&d, body->p ? body->p : "", body->len, "features",
	    on_feature, &bt, &nelem, &e) < 0) {
		msg_warn("%s: %s; nothing emitted from this poll", src, e.msg);
		status = EXIT_DATA;
	} else if (nelem < 0) {
		msg_warn("%s: not a GeoJSON FeatureCollection (no \"features\" array)", src);
		status = EXIT_DATA;
	} else {
		status = emit_batch(&bt, src, o, st, ps);
	}
	json_doc_free(&d);
	batch_free(&bt);
	return status;
}

/* Load the state file; a missing file is an empty state. */
static int
state_load(struct state *st, const char *path)
{
	struct json_doc d;
	struct err e;
	char *data, *p;
	size_t len;
	unsigned long lineno = 0;
	int status = EXIT_OK, rc;

	memset(st, 0, sizeof(*st));
	strmap_init(&st->seen);
	if (path == NULL)
		return EXIT_OK;
	rc = fs_read_all(path, &data, &len, &e);
	if (rc < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	if (rc == 1)
		return EXIT_OK;
	json_doc_init(&d);
	for (p = data; p < data + len;) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
		int64_t updated = 0, seen = 0;
		int id;

		lineno++;
		if (n > 0 && json_parse(&d, p, n, &e) == 0 && json_type(&d, 0) == JSON_OBJECT) {
			id = json_member(&d, 0, "id", 2);
			if (json_type(&d, id) == JSON_STRING &&
			    json_int64(&d, json_member(&d, 0, "updated", 7), &updated) == 0 &&
			    json_int64(&d, json_member(&d, 0, "seen", 4), &seen) == 0) {
				size_t k;
				const char *s = json_raw(&d, id, &k);
				struct strmap_entry *en = strmap_put(&st->seen, s, k, NULL);

				en->a = updated;
				en->b = seen;
			} else if (json_type(&d, json_member(&d, 0, "url", 3)) == JSON_STRING) {
				int t;

				/* A later line of validators replaces an earlier one. */
				free(st->url);
				free(st->etag);
				free(st->last_modified);
				st->etag = st->last_modified = NULL;
				st->url = json_strdup(&d, json_member(&d, 0, "url", 3));
				if ((t = json_member(&d, 0, "etag", 4)) >= 0)
					st->etag = json_strdup(&d, t);
				if ((t = json_member(&d, 0, "last_modified", 13)) >= 0)
					st->last_modified = json_strdup(&d, t);
			} else {
				msg_record(path, lineno, "not a state entry, ignored");
				status = EXIT_DATA;
			}
		} else if (n > 0) {
			msg_record(path, lineno, "%s, ignored", n ? e.msg : "empty");
			status = EXIT_DATA;
		}
		p += n + 1;
	}
	json_doc_free(&d);
	free(data);
	return status;
}

struct prune {
	int64_t cutoff;
};

static bool
keep_recent(const struct strmap_entry *en, void *arg)
{
	return en->b >= ((struct prune *)arg)->cutoff;
}

/*
 * Write the state file atomically (beside it with --pending), dropping
 * entries not seen for state_days.  The state vouches for the events
 * written: they go out first, and to disk when stdout is a file.
 */
static int
state_save(struct state *st, const struct options *o)
{
	struct prune pr = { tfmt_now() - o->state_ms };
	struct strmap_entry *en;
	struct buf b = { 0 };
	struct err e;
	size_t i = 0;
	char *path;
	int rc;

	/* With --pending the script moves the file, so it is always there. */
	if (o->state_path == NULL || !(st->dirty || o->pending))
		return EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_IO;	/* msg_close_stdout says why */
	if (fs_sync_if_file(STDOUT_FILENO) < 0) {
		msg_warn("write error: %s", strerror(errno));
		return EXIT_IO;
	}
	strmap_filter(&st->seen, keep_recent, &pr);
	if (st->url) {
		buf_addc(&b, '{');
		json_key(&b, "url");
		json_put_str(&b, st->url, strlen(st->url));
		if (st->etag) {
			json_key(&b, "etag");
			json_put_str(&b, st->etag, strlen(st->etag));
		}
		if (st->last_modified) {
			json_key(&b, "last_modified");
			json_put_str(&b, st->last_modified, strlen(st->last_modified));
		}
		buf_adds(&b, "}\n");
	}
	while ((en = strmap_next(&st->seen, &i)) != NULL) {
		buf_adds(&b, "{\"id\":\"");
		buf_add(&b, en->key, en->klen);	/* kept as raw JSON string text */
		buf_printf(&b, "\",\"updated\":%lld,\"seen\":%lld}\n",
		    (long long)en->a, (long long)en->b);
	}
	path = fs_state_target(o->state_path, o->pending);
	rc = fs_write_atomic(path, b.p ? b.p : "", b.len, &e);
	free(path);
	buf_free(&b);
	if (rc < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	st->dirty = false;
	return EXIT_OK;
}

static void
state_free(struct state *st)
{
	strmap_free(&st->seen);
	free(st->url);
	free(st->etag);
	free(st->last_modified);
}

static void
report(const char *src, const struct poll_stats *ps, bool not_modified)
{
	if (msg_verbosity() <= 0 && !isatty(STDERR_FILENO))
		return;
	if (not_modified)
		fprintf(stderr, "%s: %s: not modified\n", msg_prog(), src);
	else
		fprintf(stderr, "%s: %s: %ld features polled, %ld emitted "
		    "(%ld new, %ld revised), %ld skipped\n", msg_prog(), src,
		    ps->features, ps->emitted, ps->new_events, ps->revised, ps->skipped);
}

/*
 * --metrics: one request's answer (its status, 0 when none came), the
 * features the document had and the events written of them (the counts
 * in after less those in before), and whether it was a successful poll.
 */
static void
count_poll(const struct http_resp *r, const struct poll_stats *before,
    const struct poll_stats *after, bool ok)
{
	char code[16];

	snprintf(code, sizeof(code), "%ld", r->status);
	metric_add(metric_get("csa_polls_total", NULL), 1);
	metric_add(metric_get("csa_http_responses_total", "code", code, NULL), 1);
	metric_add(metric_get("csa_bytes_in_total", NULL), (double)r->body.len);
	metric_add(metric_get("csa_events_in_total", NULL), (double)(after->features -
	    before->features));
	metric_add(metric_get("csa_events_out_total", NULL), (double)(after->emitted -
	    before->emitted));
	metric_add(metric_get("csa_feed_events_total", "change", "new", NULL),
	    (double)(after->new_events - before->new_events));
	metric_add(metric_get("csa_feed_events_total", "change", "revised", NULL),
	    (double)(after->revised - before->revised));
	if (ok)
		metric_set(metric_get("csa_last_success_timestamp_seconds", NULL),
		    (double)tfmt_now() / 1000);
	cmd_metrics_write();
}

/* One poll of a feed or URL, with conditional GET. */
static int
poll_feed(const char *url, const struct options *o, struct state *st)
{
	struct http_opts ho = o->http;
	struct http_resp r;
	struct poll_stats ps = { 0 };
	struct err e;
	int status;

	if (st->url && strcmp(st->url, url) == 0 && !o->all) {
		ho.etag = st->etag;
		ho.last_modified = st->last_modified;
	}
	if (http_get(url, &ho, &r, &e) < 0) {
		msg_error(&e);
		count_poll(&r, &ps, &ps, false);
		http_resp_free(&r);
		return msg_status(e.kind);
	}
	if (r.not_modified) {
		report(url, &ps, true);
		count_poll(&r, &ps, &ps, true);
		http_resp_free(&r);
		return EXIT_OK;
	}
	status = handle_body(url, &r.body, o, st, &ps);
	fflush(stdout);
	count_poll(&r, &(struct poll_stats){ 0 }, &ps, status <= EXIT_DATA && !ferror(stdout));
	if (ferror(stdout)) {
		http_resp_free(&r);
		return EXIT_IO;
	}
	if (status != EXIT_DATA || ps.features > 0) {
		/* Remember the validators only for a document that was used. */
		free(st->url);
		free(st->etag);
		free(st->last_modified);
		st->url = xstrdup(url);
		st->etag = r.etag ? xstrdup(r.etag) : NULL;
		st->last_modified = r.last_modified ? xstrdup(r.last_modified) : NULL;
		st->dirty = true;
	}
	report(url, &ps, false);
	http_resp_free(&r);
	return status;
}

/*
 * Wait so that FDSN requests are at least FDSN_GAP_MS apart, counted from
 * when the previous answer came (*last, set by the caller after each
 * request): what the service sees, however long starting a request takes.
 */
static void
fdsn_pace(const int64_t *last)
{
	int64_t now = tfmt_now();

	if (*last && now - *last < FDSN_GAP_MS)
		http_sleep((double)(FDSN_GAP_MS - (now - *last)) / 1000.0, &sig_stop);
}

static void
fdsn_url(struct buf *b, const char *base, const char *method, const struct options *o,
    int64_t start, int64_t end)
{
	char ts[32];
	const char *slash = strrchr(base, '/');
	const char *q = strchr(base, '?');

	buf_reset(b);
	if (method && slash && (!q || slash < q)) {
		buf_add(b, base, (size_t)(slash - base + 1));
		buf_adds(b, method);
	} else {
		buf_add(b, base, q ? (size_t)(q - base) : strlen(base));
	}
	buf_adds(b, q ? q : "?");
	if (q && q[1])
		buf_addc(b, '&');
	buf_adds(b, "format=geojson&orderby=time-asc");
	tfmt_format(start, ts);
	buf_printf(b, "&starttime=%s", ts);
	tfmt_format(end, ts);
	buf_printf(b, "&endtime=%s", ts);
	if (o->have_minmag)
		buf_printf(b, "&minmagnitude=%g", o->minmagnitude);
	if (o->have_updated) {
		tfmt_format(o->updatedafter, ts);
		buf_printf(b, "&updatedafter=%s", ts);
	}
}

/* Ask the count method how many events a range holds; -1 on failure. */
static long
fdsn_count(const char *base, const struct options *o, int64_t s, int64_t e_ms,
    long *max_allowed, int64_t *last, int *status)
{
	struct buf url = { 0 };
	struct http_resp r;
	struct json_doc d;
	struct err e;
	int64_t n = -1, m;
	int rc;

	fdsn_url(&url, base, "count", o, s, e_ms);
	fdsn_pace(last);
	rc = http_get(url.p, &o->http, &r, &e);
	*last = tfmt_now();
	if (rc < 0) {
		msg_error(&e);
		*status = msg_worst(*status, msg_status(e.kind));
		goto out;
	}
	json_doc_init(&d);
	if (json_parse(&d, r.body.p ? r.body.p : "", r.body.len, &e) == 0) {
		if (json_int64(&d, 0, &n) < 0)
			json_int64(&d, json_member(&d, 0, "count", 5), &n);
		if (json_int64(&d, json_member(&d, 0, "maxAllowed", 10), &m) == 0 && m > 0)
			*max_allowed = (long)m;
	}
	if (n < 0) {
		msg_warn("%s: not an FDSN count answer", url.p);
		*status = msg_worst(*status, EXIT_DATA);
	}
	json_doc_free(&d);
out:
	http_resp_free(&r);
	buf_free(&url);
	return (long)n;
}

/* The backfill's progress line: the range just done, the events so far,
 * the share of the whole range covered. */
static void
fdsn_progress(struct progress *pg, bool last, int64_t s, int64_t e, int64_t start,
    int64_t end, int64_t covered, long events)
{
	char a[32], b[32];

	tfmt_format(s, a);
	tfmt_format(e, b);
	progress_say(pg, last, (double)covered, (double)(end - start + 1),
	    "%.16s..%.16s done, %ld events", a, b, events);
}

/*
 * Backfill through the FDSN event service: each time range is counted
 * first and halved while it holds more events than one query may return.
 */
static int
run_fdsn(const struct options *o, struct state *st)
{
	const char *base = o->url ? o->url : FDSN_QUERY;
	int64_t end = o->have_end ? o->endtime : tfmt_now();
	int64_t start = o->have_start ? o->starttime : end - 30LL * 86400000;
	struct { int64_t s, e; } *stack;
	size_t top = 0, cap = 64;
	struct buf url = { 0 };
	int64_t last = 0;
	long max_allowed = FDSN_MAX_DEFAULT, events = 0;
	int64_t covered = 0;	/* ms of [start, end] done */
	struct progress pg;
	int status = EXIT_OK;

	progress_init(&pg);
	stack = xmalloc(cap * sizeof(*stack));
	stack[top].s = start;
	stack[top++].e = end;
	while (top > 0 && !sig_stop) {
		int64_t s = stack[top - 1].s, e_ms = stack[top - 1].e;
		long count = fdsn_count(base, o, s, e_ms, &max_allowed, &last, &status);
		struct http_resp r;
		struct poll_stats ps = { 0 };
		struct err e;
		int rc;

		top--;
		if (count < 0)
			break;
		if (count > max_allowed && e_ms - s > 1) {
			/* Both ends are inclusive in FDSN: split without overlap. */
			int64_t mid = s + (e_ms - s) / 2;

			if (top + 2 > cap)
				stack = xrealloc(stack, (cap *= 2) * sizeof(*stack));
			stack[top].s = mid + 1;
			stack[top++].e = e_ms;
			stack[top].s = s;
			stack[top++].e = mid;
			msg_verbose("%lld events in range, splitting", (long long)count);
			continue;
		}
		if (count == 0) {
			covered += e_ms - s + 1;
			fdsn_progress(&pg, top == 0, s, e_ms, start, end, covered, events);
			continue;
		}
		fdsn_url(&url, base, NULL, o, s, e_ms);
		fdsn_pace(&last);
		rc = http_get(url.p, &o->http, &r, &e);
		last = tfmt_now();
		if (rc < 0) {
			msg_error(&e);
			count_poll(&r, &ps, &ps, false);
			status = msg_worst(status, msg_status(e.kind));
			http_resp_free(&r);
			break;
		}
		rc = handle_body(url.p, &r.body, o, st, &ps);
		count_poll(&r, &(struct poll_stats){ 0 }, &ps, rc <= EXIT_DATA);
		status = msg_worst(status, rc);
		report(url.p, &ps, false);
		http_resp_free(&r);
		covered += e_ms - s + 1;
		events += ps.emitted;
		fdsn_progress(&pg, top == 0, s, e_ms, start, end, covered, events);
		fflush(stdout);
		if (ferror(stdout)) {
			status = EXIT_IO;
			break;
		}
	}
	progress_end(&pg);
	free(stack);
	buf_free(&url);
	return status;
}

static int
run(const struct options *o)
{
	struct state st;
	struct buf feed = { 0 };
	const char *url = o->url;
	int status, worst;

	worst = state_load(&st, o->state_path);
	if (worst == EXIT_IO) {
		state_free(&st);
		return worst;
	}
	if (o->fdsn) {
		status = run_fdsn(o, &st);
		worst = msg_worst(worst, status);
		if (status != EXIT_IO)
			worst = msg_worst(worst, state_save(&st, o));
		state_free(&st);
		return worst;
	}
	if (url == NULL) {
		buf_printf(&feed, "%s%s.geojson", FEED_BASE, o->feed ? o->feed : "2.5_hour");
		url = feed.p;
	}
	for (;;) {
		status = poll_feed(url, o, &st);
		worst = msg_worst(worst, status);
		if (status == EXIT_IO)
			break;
		worst = msg_worst(worst, state_save(&st, o));
		if (o->interval_ms == 0 || sig_stop)
			break;
		http_sleep((double)o->interval_ms / 1000.0, &sig_stop);
		if (sig_stop)
			break;
	}
	state_free(&st);
	buf_free(&feed);
	return worst;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	expr_free(o->where);
	http_cleanup();
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP | CMD_BLOCK_STDOUT)
