/* csa-batch-agg: the batch layer: deduplicated events into exact, idempotent views. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "evstore.h"
#include "expr.h"
#include "fsutil.h"
#include "input.h"
#include "json.h"
#include "metrics.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "progress.h"
#include "row.h"
#include "sig.h"
#include "strmap.h"
#include "timefmt.h"
#include "viewdir.h"
#include "window.h"
#include "winopt.h"

/* What --max-groups counts on by default: --memory-limit / GROUP_BYTES. */
enum { GROUP_BYTES = 2048 };

static const char usage_line[] =
    "Usage: csa-batch-agg (--preset earthquake | --tumbling SIZE [--view NAME])\n"
    "                     [--by EXPR] [--agg NAME=FUNC(F)] [--having COND] [--time EXPR]\n"
    "                     [--id FIELD] [--version-field FIELD] [--ids-field FIELD]\n"
    "                     [--deleted-when EXPR] [--validate EXPR] [--max-future D]\n"
    "                     [--out DIR] [--partition-by FIELD] [--state FILE]\n"
    "                     [--memory-limit SIZE] [--max-groups N] [--metrics FILE]\n"
    "                     [--retention D] [-v] [FILE...]\n";

static const char help_text[] =
    "Deduplicate events (the newest version of each wins; with the rules of\n"
    "--ids-field and --deleted-when, merged ids are one event and deleted\n"
    "events go) and compute views of them, exactly.\n"
    "\n"
    "  -a, --agg NAME=FUNC(F)    an aggregate, as csa-window; repeatable\n"
    "  -b, --by EXPR             group by a field or jq expression; repeatable\n"
    "      --deleted-when EXPR   a version for which EXPR is true deletes its event\n"
    "                            (earthquake: status is \"deleted\", in any case)\n"
    "  -h, --help                show this help and exit\n"
    "      --having COND         keep rows whose COLUMN OP NUMBER holds\n"
    "      --id FIELD            the event id (default event_id)\n"
    "      --ids-field FIELD     the event's other ids (\",a,b,\"): all one event\n"
    "                            (earthquake: ids)\n"
    "      --max-future D        reject events more than D ahead of the clock\n"
    "                            (default: none, so no result depends on the clock)\n"
    "      --max-groups N        the most groups one day of a view may have; more\n"
    "                            is an error (default: the memory limit / 2K)\n"
    "      --memory-limit SIZE   memory for the events before they spill to disk\n"
    "                            (default 256M)\n"
    "      --metrics FILE        write counts, run duration, success and the views'\n"
    "                            newest event to FILE (Prometheus text)\n"
    "  -o, --out DIR             write DIR/VIEW/date=YYYY-MM-DD/part-0.ndjson\n"
    "      --partition-by FIELD  also partition by FIELD (added to --by)\n"
    "      --retention D         with --out: then remove the date= partitions of\n"
    "                            the views that end D or more before the newest\n"
    "                            day's end (e.g. 365d; whole days)\n"
    "      --preset NAME         earthquake: the hourly and daily reference views,\n"
    "                            with the USGS event rules\n"
    "  -q, --quiet               no warnings (errors and bad lines still print)\n"
    "  -s, --state FILE          add to what earlier runs saw (a SQLite file) and\n"
    "                            write again only the days that changed\n"
    "  -t, --time EXPR           the event time (default time)\n"
    "      --tumbling SIZE       one view of windows of SIZE (dividing a day)\n"
    "      --validate EXPR       reject events for which EXPR is not true\n"
    "                            (earthquake: latitude and longitude in range)\n"
    "  -v, --verbose             report counts on stderr at the end\n"
    "  -V, --version             show versions and exit\n"
    "      --version-field FIELD the version; the greatest wins (default updated)\n"
    "      --view NAME           the view's name (default view)\n"
    "\n"
    "Old spellings, still read until the next release: --incremental (now --state)\n"
    "\n"
    "Examples:\n"
    "  csa-capture-read | csa-batch-agg --preset earthquake --out gold\n"
    "  csa-capture-read -s cap.state --pending | csa-batch-agg --preset earthquake \\\n"
    "      -s gold.state --out gold && mv cap.state.pending cap.state      # cron\n"
    "  csa-batch-agg --tumbling 1d --by page --agg n=count --out views clicks.ndjson\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage, 3 local I/O.\n"
    "See csa-batch-agg(1).\n";

enum { MAX_VIEWS = 2 };

struct view {
	const char *name;
	struct win_spec w;
	int *by;		/* group column j: the field of struct fields */
	int *arg;		/* aggregate i's argument: a field, or -1 */
};

/*
 * What the views need of an event, evaluated once when it is read and
 * kept in its record (a line is not kept): the distinct group and
 * argument expressions of every view, each a field.
 */
struct fields {
	struct expr **x;	/* borrowed from the views' specs */
	int n;
};

struct options {
	struct view v[MAX_VIEWS];
	int nv;
	struct expr *time, *id, *version;
	struct expr *ids;	/* --ids-field; NULL: an event has its own id only */
	struct expr *deleted;	/* --deleted-when (the preset's: status); NULL: none */
	struct expr *validate;	/* --validate; NULL: see usgs_valid */
	struct expr *lat, *lon;	/* usgs_valid: latitude, longitude */
	bool usgs_deleted;	/* deleted is the preset's: its value "deleted", any case */
	bool usgs_valid;	/* the preset's: latitude and longitude in range */
	int64_t max_future;	/* --max-future; 0: no limit */
	int64_t retention;	/* --retention; 0: keep every day */
	char **parts;		/* --partition-by columns */
	int nparts;
	const char *out, *state;
	int64_t memory;
	int64_t max_groups;	/* group states of one day of a view */
	char **files;
	int nfiles;
	struct fields f;
};

struct run {
	const struct options *o;
	struct evstore *st;
	struct strmap days;	/* touched days, key: the day number */
	long lines, rows, files_written, files_removed;
	struct metric *in, *bytes_in;	/* --metrics */
	long days_expired;	/* partitions --retention removed */
	struct msg_bad bad;	/* lines skipped */
	struct buf rec;		/* the record of the event being read */
	struct progress pg;	/* the line on a terminal */
	long *lacked;		/* field k: events read whose path was not there */
	long taken;		/* events read into the store */
	int status;
};

static int
set_preset(struct options *o, const char *name)
{
	static const char *const aggs[MAX_VIEWS] = {
		"event_count=count,avg_magnitude=avg(magnitude),max_magnitude=max(magnitude),"
		"min_magnitude=min(magnitude),avg_depth_km=avg(depth_km),"
		"significant_count=count_if(magnitude >= 5.0),"
		"tsunami_alerts=count_if(tsunami_flag == 1)",
		"event_count=count,avg_magnitude=avg(magnitude),max_magnitude=max(magnitude),"
		"tsunami_events=count_if(tsunami_flag == 1)",
	};
	struct err e;

	if (strcmp(name, "earthquake") != 0)
		return msg_usage("--preset: unknown preset '%s' (earthquake)", name);
	/* The USGS event schema's rules, unless options say otherwise. */
	o->usgs_deleted = o->usgs_valid = true;
	o->nv = 2;
	o->v[0].name = "hourly";
	o->v[0].w.size = 3600 * 1000;
	o->v[1].name = "daily";
	o->v[1].w.size = 86400 * 1000;
	for (int i = 0; i < 2; i++)
		if (win_add_by(&o->v[i].w, "region", &e) < 0 ||
		    agg_parse(&o->v[i].w.aggs, aggs[i], &e) < 0)
			return msg_usage("--preset: %s", e.msg);
	return OPT_RUN;
}

static int
compile(struct expr **x, const char *src, const char *opt)
{
	struct err e;

	expr_free(*x);
	if ((*x = expr_compile(src, &e)) == NULL)
		return msg_usage("--%s: %s", opt, e.msg);
	return OPT_RUN;
}

/* The field of expression x: one added when no field has its text. */
static int
field_of(struct fields *f, struct expr *x)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(expr_source(f->x[i]), expr_source(x)) == 0)
			return i;
	f->x = xrealloc(f->x, sizeof(*f->x) * (size_t)(f->n + 1));
	f->x[f->n] = x;
	return f->n++;
}

/* Which field each group column and aggregate argument of each view reads. */
static void
plan_fields(struct options *o)
{
	for (int v = 0; v < o->nv; v++) {
		struct view *vw = &o->v[v];

		vw->by = xcalloc((size_t)vw->w.nby + 1, sizeof(*vw->by));
		vw->arg = xcalloc((size_t)vw->w.aggs.n + 1, sizeof(*vw->arg));
		for (int j = 0; j < vw->w.nby; j++)
			vw->by[j] = field_of(&o->f, vw->w.by[j].x);
		for (int i = 0; i < vw->w.aggs.n; i++)
			vw->arg[i] = vw->w.aggs.v[i].arg ? field_of(&o->f, vw->w.aggs.v[i].arg) : -1;
	}
}

static int
take_partition_by(void *to, const char *name, const char *arg)
{
	struct options *o = to;
	char **v;
	int n = agg_split(arg, &v);

	(void)name;
	for (int i = 0; i < n; i++) {
		o->parts = xrealloc(o->parts, sizeof(*o->parts) * (size_t)(o->nparts + 1));
		o->parts[o->nparts++] = v[i];
		if (!viewdir_field_ok(v[i])) {
			for (int j = i + 1; j < n; j++)
				free(v[j]);
			free(v);
			return msg_usage("--partition-by: '%s' cannot name a directory"
			    " (1 to %d bytes, no '/', not starting with '.')", o->parts[o->nparts - 1],
			    VIEWDIR_FIELD_MAX);
		}
	}
	free(v);
	return OPT_RUN;
}

static int
take_preset(void *to, const char *name, const char *arg)
{
	(void)name;
	return set_preset(to, arg);
}

static int
take_tumbling(void *to, const char *name, const char *arg)
{
	int64_t *size = to;

	if (opt_duration(name, arg, 1, 86400000, size) < 0)
		return EXIT_USAGE;
	if (86400000 % *size != 0)
		return msg_usage("--tumbling: '%s' is not a duration that divides a day "
		    "(e.g. 5m, 1h, 1d)", arg);
	return OPT_RUN;
}

/* --retention: whole days, as the partitions are. */
static int
take_retention(void *to, const char *name, const char *arg)
{
	int64_t *keep = to;

	if (opt_duration(name, arg, 86400000, OPT_NO_MAX, keep) < 0)
		return EXIT_USAGE;
	if (*keep % 86400000 != 0)
		return msg_usage("--retention: '%s' is not a whole number of days "
		    "(partitions are days)", arg);
	return OPT_RUN;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	struct win_spec *w = &o->v[0].w;
	const char *time_src = "time", *id_src = "event_id", *version_src = "updated";
	const char *ids_src = NULL, *deleted_src = NULL, *validate_src = NULL;
	bool custom = false, preset = false, version = false;
	/* --version waits: "--version updated" meant --version-field. */
	const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .version_given = &version
	};
	struct err e;
	int rc;
	/* The options of a view of one's own (custom) exclude --preset. */
	const struct opt_spec spec[] = {
		{ .name = "agg", .letter = 'a', .kind = OPT_K_CALL, .to = w, .call = winopt_agg,
		    .given = &custom },
		{ .name = "by", .letter = 'b', .kind = OPT_K_CALL, .to = w, .call = winopt_by,
		    .given = &custom },
		OPT_E_STRING("deleted-when", 0, &deleted_src),
		{ .name = "having", .kind = OPT_K_CALL, .to = w, .call = winopt_having,
		    .given = &custom },
		OPT_E_STRING("id", 0, &id_src),
		OPT_E_STRING("ids-field", 0, &ids_src),
		OPT_E_DURATION("max-future", 0, &o->max_future, 1, OPT_NO_MAX),
		OPT_E_INT("max-groups", 0, &o->max_groups, 1, INT32_MAX),
		OPT_E_SIZE("memory-limit", 0, &o->memory, 1 << 20, OPT_NO_MAX),
		OPT_E_METRICS,
		OPT_E_STRING("out", 'o', &o->out),
		OPT_E_CALL("partition-by", 0, o, take_partition_by),
		{ .name = "preset", .kind = OPT_K_CALL, .to = o, .call = take_preset,
		    .given = &preset },
		OPT_E_CALL("retention", 0, &o->retention, take_retention),
		{ .name = "state", .letter = 's', .kind = OPT_K_STRING, .to = &o->state,
		    .old = "--incremental" },
		OPT_E_STRING("time", 't', &time_src),
		{ .name = "tumbling", .kind = OPT_K_CALL, .to = &w->size, .call = take_tumbling,
		    .given = &custom },
		OPT_E_STRING("validate", 0, &validate_src),
		OPT_E_STRING("version-field", 0, &version_src),
		OPT_E_STRING("view", 0, &o->v[0].name),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	o->memory = 256 << 20;
	o->v[0].name = "view";
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	argc -= optind;
	argv += optind;
	/* "--version updated" meant --version-field, not a file named updated. */
	if (version && argc > 0)
		return msg_usage("--version takes no value ('%s'); the version field is "
		    "--version-field", argv[0]);
	if (version)
		return opt_version(evstore_versions(), "libjq (jq field expressions)\njsmn\n");
	if (preset == custom)
		return msg_usage(preset ? "--preset: give the preset or a view of your own, not both"
		    : "no view: give --preset earthquake, or --tumbling SIZE with --by and --agg");
	if (!preset) {
		o->nv = 1;
		if (w->size == 0)
			return msg_usage("no window: give --tumbling SIZE");
		if (w->aggs.n == 0 && agg_parse(&w->aggs, "count=count", &e) < 0)
			return msg_usage("%s", e.msg);
		if (strchr(o->v[0].name, '/') || o->v[0].name[0] == '.' || !*o->v[0].name)
			return msg_usage("--view: '%s' cannot name a directory", o->v[0].name);
	}
	if (o->max_groups == 0)
		o->max_groups = o->memory / GROUP_BYTES;
	for (int i = 0; i < o->nv; i++) {
		struct win_spec *vw = &o->v[i].w;

		vw->max_groups = (long)o->max_groups;
		vw->type = WIN_TUMBLING;
		vw->hop = vw->size;
		vw->end_inclusive = true;
		for (int k = 0; k < o->nparts; k++) {
			bool have = false;

			/* A group column by that name or of that field, as
			 * view_start finds it. */
			for (int j = 0; j < vw->nby; j++)
				have = have || strcmp(vw->by[j].name, o->parts[k]) == 0 ||
				    strcmp(expr_source(vw->by[j].x), o->parts[k]) == 0;
			if (!have && row_meta_name(o->parts[k]))
				return msg_usage("--partition-by: '%s' is a member every row has or "
				    "csa-merge adds; group by it under another name as well: --by "
				    "NAME=%s", o->parts[k], o->parts[k]);
			if (!have && win_add_by(vw, o->parts[k], &e) < 0)
				return msg_usage("--partition-by: %s", e.msg);
		}
		if ((rc = winopt_check_columns(vw)) != OPT_RUN ||
		    (rc = winopt_check_having(vw)) != OPT_RUN)
			return rc;
	}
	if (o->nparts && o->out == NULL)
		return msg_usage("--partition-by: needs --out DIR");
	if (o->retention && o->out == NULL)
		return msg_usage("--retention: needs --out DIR (partitions to remove)");
	if (preset && ids_src == NULL)
		ids_src = "ids";
	if (deleted_src)
		o->usgs_deleted = false;
	else if (o->usgs_deleted)
		deleted_src = "status";
	if (validate_src)
		o->usgs_valid = false;
	if ((rc = compile(&o->time, time_src, "time")) != OPT_RUN ||
	    (rc = compile(&o->id, id_src, "id")) != OPT_RUN ||
	    (rc = compile(&o->version, version_src, "version-field")) != OPT_RUN ||
	    (ids_src && (rc = compile(&o->ids, ids_src, "ids-field")) != OPT_RUN) ||
	    (deleted_src && (rc = compile(&o->deleted, deleted_src, "deleted-when")) != OPT_RUN) ||
	    (validate_src && (rc = compile(&o->validate, validate_src, "validate")) != OPT_RUN) ||
	    (o->usgs_valid && (rc = compile(&o->lat, "latitude", "validate")) != OPT_RUN) ||
	    (o->usgs_valid && (rc = compile(&o->lon, "longitude", "validate")) != OPT_RUN))
		return rc;
	plan_fields(o);
	o->files = argv;
	o->nfiles = argc;
	return OPT_RUN;
}

/* What the views compute, so that a state is only used by the same query. */
static char *
query_text(const struct options *o)
{
	struct buf b = { 0 };

	buf_adds(&b, "id=");
	buf_adds(&b, expr_source(o->id));
	buf_adds(&b, " version=");
	buf_adds(&b, expr_source(o->version));
	buf_adds(&b, " time=");
	buf_adds(&b, expr_source(o->time));
	/* The event rules, where they are not the USGS rules (which every
	 * state saved before they were options was made with). */
	if (!o->ids || strcmp(expr_source(o->ids), "ids") != 0) {
		buf_adds(&b, " ids=");
		buf_adds(&b, o->ids ? expr_source(o->ids) : "");
	}
	if (!o->usgs_deleted) {
		buf_adds(&b, " deleted-when=");
		buf_adds(&b, o->deleted ? expr_source(o->deleted) : "");
	}
	if (!o->usgs_valid) {
		buf_adds(&b, " validate=");
		buf_adds(&b, o->validate ? expr_source(o->validate) : "");
	}
	if (o->max_future)
		buf_printf(&b, " max-future=%lld", (long long)o->max_future);
	for (int i = 0; i < o->nv; i++) {
		buf_adds(&b, " view ");
		buf_adds(&b, o->v[i].name);
		buf_addc(&b, ' ');
		win_describe(&o->v[i].w, &b);
	}
	buf_addc(&b, '\0');
	return b.p;
}

static void
touch_day(int64_t day, void *arg)
{
	struct run *r = arg;
	bool added;

	strmap_put(&r->days, (const char *)&day, sizeof(day), &added)->a = day;
}

/* A bad line: counted, and reported for the first few. */
static int
reject(struct run *r, const char *file, unsigned long lineno, const char *what)
{
	msg_bad(&r->bad, BAD_FIELD, file, lineno, "%s", what);
	return 0;
}

/* A number in [lo, hi] at field x, when the field is there. */
static bool
in_range(struct expr *x, const struct json_doc *d, const char *line, size_t len, double lo,
    double hi)
{
	struct expr_val v;
	struct err e;

	if (expr_eval(x, d, line, len, &v, &e) < 0)
		return false;
	return v.type == EXPR_NULL || (v.type == EXPR_NUMBER && v.num >= lo && v.num <= hi);
}

/* The ids of an event: its own, then those of its "ids" list (",a,b,"). */
static int
event_ids(const struct expr_val *id, const struct expr_val *list, const char **ids,
    size_t *len, int max)
{
	int n = 0;

	ids[n] = id->str;
	len[n++] = id->len;
	if (list->type == EXPR_STRING) {
		const char *p = list->str, *end = p + list->len;

		while (p < end && n < max) {
			const char *c = memchr(p, ',', (size_t)(end - p));
			size_t k = c ? (size_t)(c - p) : (size_t)(end - p);

			if (k > 0) {
				ids[n] = p;
				len[n++] = k;
			}
			p += k + 1;
		}
	}
	return n;
}

/*
 * The event rules of the options (--validate, --max-future, or the USGS
 * schema's under the preset) for an event at time t: NULL when it passes,
 * else why not.
 */
static const char *
check_event(const struct options *o, const struct json_doc *d, const char *line, size_t len,
    int64_t t, struct err *e)
{
	static char ahead[96];
	struct expr_val v;

	if (o->max_future && t > tfmt_now() + o->max_future) {
		char dur[32];

		opt_format_duration(o->max_future, dur, sizeof(dur));
		snprintf(ahead, sizeof(ahead), "time more than %s ahead of the clock (--max-future)",
		    dur);
		return ahead;
	}
	if (o->usgs_valid && !in_range(o->lat, d, line, len, -90, 90))
		return "latitude outside [-90, 90]";
	if (o->usgs_valid && !in_range(o->lon, d, line, len, -180, 180))
		return "longitude outside [-180, 180]";
	if (o->validate && expr_eval(o->validate, d, line, len, &v, e) < 0)
		return e->msg;
	if (o->validate && !expr_truthy(&v))
		return "not valid by --validate";
	return NULL;
}

/* Whether this version of an event deletes it: --deleted-when is true, or
 * under the preset, status is "deleted" in any case. */
static bool
is_deleted(const struct options *o, const struct json_doc *d, const char *line, size_t len)
{
	struct expr_val v;
	struct err e;

	if (o->deleted == NULL || expr_eval(o->deleted, d, line, len, &v, &e) < 0)
		return false;
	if (o->usgs_deleted)
		return v.type == EXPR_STRING && v.len == 7 && strncasecmp(v.str, "deleted", 7) == 0;
	return expr_truthy(&v);
}

/*
 * An event's record in the store: the hash of its line (row_line_hash,
 * for the rows' digests), a byte of flags (bit v: a group expression of
 * view v failed), then each field's value: its expr_type, then 8 bytes of
 * a number, or a varint length and the bytes of a string or other JSON;
 * or REC_SMALL and one byte, for a number that is a small integer (flags,
 * counts: a tenth of a record at 10M events); or REC_MISSING, a path that
 * is not in the event (null, and missing).
 */
enum { REC_SMALL = EXPR_OTHER + 1, REC_MISSING };

/* Whether x is exactly the integer *k in [-128, 127] (not -0). */
static bool
small_int(double x, signed char *k)
{
	double back;

	if (!(x >= -128 && x <= 127))
		return false;
	*k = (signed char)x;
	back = *k;
	return memcmp(&back, &x, sizeof(x)) == 0;
}

static void
rec_put(struct buf *b, const struct options *o, const struct json_doc *d, const char *line,
    size_t len, long *lacked)
{
	const struct fields *f = &o->f;
	uint64_t hash = row_line_hash(line, len);
	size_t at;

	buf_reset(b);
	buf_add(b, &hash, sizeof(hash));
	at = b->len;
	buf_addc(b, 0);
	for (int k = 0; k < f->n; k++) {
		struct expr_val v;
		struct err e;
		signed char small;

		if (expr_eval(f->x[k], d, line, len, &v, &e) < 0) {
			/* As the engine: an aggregate counts it as skipped, a group
			 * leaves the event out of the view. */
			for (int w = 0; w < o->nv; w++)
				for (int j = 0; j < o->v[w].w.nby; j++)
					if (o->v[w].by[j] == k)
						b->p[at] |= (char)(1u << w);
			v.type = EXPR_NULL;
			v.missing = false;
		}
		if (v.type == EXPR_NULL && v.missing) {
			lacked[k]++;
			buf_addc(b, REC_MISSING);
			continue;
		}
		if (v.type == EXPR_NUMBER && small_int(v.num, &small)) {
			buf_addc(b, REC_SMALL);
			buf_addc(b, small);
			continue;
		}
		buf_addc(b, (char)v.type);
		if (v.type == EXPR_NUMBER) {
			buf_add(b, &v.num, sizeof(v.num));
		} else if (v.type == EXPR_STRING || v.type == EXPR_OTHER) {
			size_t n = v.len;

			do {
				buf_addc(b, (char)((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
				n >>= 7;
			} while (n);
			buf_add(b, v.str, v.len);
		}
	}
}

/* A record read back into its hash, flags and field values (strings in
 * rec); -1 when it is not one (a damaged state). */
static int
rec_read(const struct fields *f, const unsigned char *p, size_t len, uint64_t *hash,
    unsigned *flags, struct expr_val *vals)
{
	const unsigned char *end = p + len;

	if (len < sizeof(*hash) + 1)
		return -1;
	memcpy(hash, p, sizeof(*hash));
	p += sizeof(*hash);
	*flags = *p++;
	for (int k = 0; k < f->n; k++) {
		struct expr_val *v = &vals[k];
		size_t n = 0;
		int shift = 0;

		if (p >= end || *p > REC_MISSING)
			return -1;
		memset(v, 0, sizeof(*v));
		if (*p == REC_MISSING) {
			v->missing = true;
			p++;
			continue;
		}
		if (*p == REC_SMALL) {
			if (end - p < 2)
				return -1;
			v->type = EXPR_NUMBER;
			v->num = (signed char)p[1];
			p += 2;
			continue;
		}
		v->type = (enum expr_type)*p++;
		if (v->type == EXPR_NUMBER) {
			if ((size_t)(end - p) < sizeof(v->num))
				return -1;
			memcpy(&v->num, p, sizeof(v->num));
			p += sizeof(v->num);
		} else if (v->type == EXPR_STRING || v->type == EXPR_OTHER) {
			do {
				if (p >= end || shift > 28)
					return -1;
				n |= (size_t)(*p & 0x7f) << shift;
				shift += 7;
			} while (*p++ & 0x80);
			if ((size_t)(end - p) < n)
				return -1;
			v->str = (const char *)p;
			v->len = n;
			p += n;
		}
	}
	return p == end ? 0 : -1;
}

/* One input line: check it, and put it into the store. */
static int
take_line(struct run *r, const struct json_doc *d, const char *line, size_t len,
    const char *file, unsigned long lineno)
{
	const struct options *o = r->o;
	struct expr_val idv, vv, lv;
	struct err e;
	int64_t t, version = 0;
	const char *ids[64], *why;
	size_t idlen[64];
	char num[32];
	bool deleted;
	int nids;

	if (win_time(o->time, d, line, len, &t, &e) < 0)
		return reject(r, file, lineno, e.msg);
	/* Before 1900: not a real event time. */
	if (t < -2208988800000LL)
		return reject(r, file, lineno, "absurd time: before 1900");
	if ((why = check_event(o, d, line, len, t, &e)) != NULL)
		return reject(r, file, lineno, why);
	if (expr_eval(o->id, d, line, len, &idv, &e) < 0 ||
	    (idv.type != EXPR_STRING && idv.type != EXPR_NUMBER))
		return reject(r, file, lineno, "missing id");
	if (idv.type == EXPR_NUMBER) {
		idv.len = (size_t)json_fmt_num(num, sizeof(num), idv.num);
		idv.str = num;
	}
	/* A version is a number or a time; without one, any later version wins. */
	if (expr_eval(o->version, d, line, len, &vv, &e) < 0)
		vv.type = EXPR_NULL;
	if (vv.type == EXPR_NUMBER)
		version = (int64_t)vv.num;
	else if (vv.type == EXPR_STRING && tfmt_parse(vv.str, vv.len, &version, &e) < 0)
		version = 0;
	if (o->ids == NULL || expr_eval(o->ids, d, line, len, &lv, &e) < 0)
		lv.type = EXPR_NULL;
	/* ids borrow from the id expressions, the record from the fields': no
	 * expression may run between them and the put. */
	deleted = is_deleted(o, d, line, len);
	rec_put(&r->rec, o, d, line, len, r->lacked);
	r->taken++;
	nids = event_ids(&idv, &lv, ids, idlen, 64);
	if (evstore_put(r->st, ids, idlen, nids, version, t, deleted, r->rec.p, r->rec.len,
	    touch_day, r, &e) < 0) {
		msg_error(&e);
		return -1;
	}
	return 0;
}

/* The bytes the input files hold (stdin: when it is a file); 0: not known. */
static double
input_size(char *const *files, int nfiles)
{
	struct stat sb;
	double n = 0;

	if (nfiles == 0)
		return fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) ? (double)sb.st_size : 0;
	for (int i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0 || stat(files[i], &sb) < 0 || !S_ISREG(sb.st_mode))
			return 0;
		n += (double)sb.st_size;
	}
	return n;
}

static void
say_reading(struct run *r, bool last, double done, double all)
{
	double secs = progress_secs(&r->pg);

	progress_say(&r->pg, last, done, all, "reading: %ld lines, %.0f MB, %.1f MB/s", r->lines,
	    done / 1e6, secs > 0 ? done / 1e6 / secs : 0.0);
}

/*
 * When every expression an event is read with is a plain path, lines are
 * read On-Demand: those values taken, every other value checked on the
 * way, so the same lines are refused as when each is parsed whole.
 */
static void
read_fields(const struct options *o, struct input *in)
{
	const struct expr *fixed[] = { o->time, o->id, o->version, o->ids, o->deleted,
		o->validate, o->lat, o->lon };
	int nx = (int)(sizeof(fixed) / sizeof(fixed[0])), n = nx + o->f.n;
	const struct expr **x = xmalloc(sizeof(*x) * (size_t)n);

	for (int i = 0; i < n; i++)
		x[i] = i < nx ? fixed[i] : o->f.x[i - nx];
	input_expr_fields(in, x, n, JSON_FAST_CHECK_REST);
	free(x);
}

/* Every input line into the store; -1 when a file could not be read or
 * the store failed (no view may then be written). */
static int
read_input(struct run *r)
{
	const struct options *o = r->o;
	struct input_record rec;
	struct input in;
	int rc;

	double all = input_size(o->files, o->nfiles), done = 0;

	input_init(&in, o->files, o->nfiles, 0, INPUT_DOC, &r->bad);
	in.stop = &sig_stop;
	read_fields(o, &in);
	while ((rc = input_next(&in, &rec)) > 0) {
		r->lines++;
		done += (double)rec.len + 1;
		metric_add(r->in, 1);
		metric_add(r->bytes_in, (double)rec.len + 1);
		if (cmd_metrics_due()) {
			cmd_metrics_run_now();
			cmd_metrics_write();
		}
		if (take_line(r, rec.doc, rec.line, rec.len, rec.file, rec.lineno) < 0) {
			rc = -1;
			break;
		}
		if ((r->lines & 0x3ff) == 0)
			say_reading(r, false, done, all);
	}
	if (r->pg.shown)
		say_reading(r, true, done, all);
	r->lines += (long)r->bad.n[BAD_JSON] + r->bad.n[BAD_OBJECT] + r->bad.n[BAD_LONG];
	if (rc == 0 && !sig_stop && in.status < EXIT_IO)	/* every file read whole */
		metric_add(metric_get("csa_files_total", NULL), o->nfiles > 0 ? o->nfiles : 1);
	input_free(&in);
	if (rc < 0)
		return -1;
	return sig_stop ? -1 : 0;
}

/* A live event's time: the greatest into arg. */
static int
latest_time(const void *rec, size_t len, int64_t t, void *arg)
{
	int64_t *max = arg;

	(void)rec;
	(void)len;
	if (t > *max)
		*max = t;
	return 0;
}

static void
last_day(int64_t day, void *arg)
{
	*(int64_t *)arg = day;
}

/* --metrics: the views' high-water mark, the newest live event the store
 * holds (in its last day), whatever this run added. */
static void
count_high_water(struct run *r)
{
	int64_t day = INT64_MIN, t = INT64_MIN;
	struct err e;

	if (evstore_days(r->st, last_day, &day, &e) < 0 || day == INT64_MIN ||
	    evstore_scan_day(r->st, day, latest_time, &t, &e) < 0 || t == INT64_MIN)
		return;
	metric_set(metric_get("csa_view_high_water_seconds", NULL), (double)t / 1000);
}

/* ---- views ---- */

/* The rows of one view for one day: for stdout, or by partition file. */
struct day_view {
	struct run *r;
	const struct view *v;
	struct win_engine *en;
	struct json_doc vd;	/* a partition value, while the event is held */
	const char *dir;	/* OUT/VIEW/date=DAY; NULL: stdout */
	struct buf text;	/* stdout: the rows */
	struct strmap files;	/* dir: path -> struct buf * of its rows */
	struct buf path, one;	/* scratch */
	int *part_col;		/* the --by column of each --partition-by */
};

/* The views of one day, fed together from one pass over its events. */
struct day {
	struct day_view dv[MAX_VIEWS];
	int nv;
	struct expr_val *vals, *by, *args;	/* a record's fields; one view's */
	long damaged;				/* records that could not be read */
};

/* A stored record into the engines of every view of the day. */
static int
feed(const void *rec, size_t len, int64_t t, void *arg)
{
	struct day *dd = arg;
	const struct options *o = dd->dv[0].r->o;
	unsigned flags;
	uint64_t hash;
	bool late;

	if (rec_read(&o->f, rec, len, &hash, &flags, dd->vals) < 0) {
		dd->damaged++;
		return 0;
	}
	for (int v = 0; v < dd->nv; v++) {
		const struct view *vw = dd->dv[v].v;
		int64_t tv = t;

		/* A group expression failed on this event when it was read: the
		 * view leaves it out, as the engine leaves out such an event. */
		if (flags & (1u << v))
			continue;
		for (int j = 0; j < vw->w.nby; j++)
			dd->by[j] = dd->vals[vw->by[j]];
		for (int i = 0; i < vw->w.aggs.n; i++)
			dd->args[i] = vw->arg[i] < 0 ? (struct expr_val){ 0 } : dd->vals[vw->arg[i]];
		win_event_values(dd->dv[v].en, &tv, dd->by, dd->args, hash, &late);
	}
	return 0;
}

/* Column k's value in a group key (each value's JSON text ends in NUL):
 * a string's text, anything else as written. */
static void
key_value(struct day_view *dv, const char *key, size_t klen, int k, struct buf *out)
{
	const char *p = key, *end = key + klen;
	struct err e;

	for (; k > 0 && p < end; k--)
		p += strlen(p) + 1;
	buf_reset(out);
	if (p >= end)
		return;
	if (*p == '"' && json_parse_valid(&dv->vd, p, strlen(p), &e) == 0 &&
	    json_string(&dv->vd, 0, out) == 0)
		return;
	buf_adds(out, p);
}

/* The engine's sink: a row onto the day's text, or into its partition's file. */
static void
take_row(const struct row *w, void *arg)
{
	struct day_view *dv = arg;
	const struct options *o = dv->r->o;
	struct strmap_entry *fe;
	struct row named = *w;
	bool added;

	dv->r->rows++;
	if (dv->dir == NULL) {
		named.view = dv->v->name;	/* on stdout each row says its view */
		row_put(&dv->text, &named);
		return;
	}
	buf_reset(&dv->path);
	buf_adds(&dv->path, dv->dir);
	for (int k = 0; k < o->nparts; k++) {
		key_value(dv, w->key, w->key_len, dv->part_col[k], &dv->one);
		viewdir_part(&dv->path, o->parts[k], dv->one.p ? dv->one.p : "", dv->one.len);
	}
	viewdir_file(&dv->path);
	fe = strmap_put(&dv->files, dv->path.p, dv->path.len, &added);
	if (added)
		fe->p = xcalloc(1, sizeof(struct buf));
	row_put(fe->p, w);
}

/* An engine for one view of one day, its rows into dv (by take_row). */
static void
view_start(struct day_view *dv)
{
	const struct view *v = dv->v;

	dv->part_col = xcalloc((size_t)dv->r->o->nparts + 1, sizeof(*dv->part_col));
	for (int k = 0; k < dv->r->o->nparts; k++)
		for (int j = 0; j < v->w.nby; j++)
			if (strcmp(v->w.by[j].name, dv->r->o->parts[k]) == 0 ||
			    strcmp(expr_source(v->w.by[j].x), dv->r->o->parts[k]) == 0) {
				dv->part_col[k] = j;
				break;
			}
	dv->en = win_new(&v->w, &(struct win_sink){ take_row, NULL, dv });
}

/* The rows of the view's windows, once the day's events are in. */
static int
view_finish(struct day_view *dv, int64_t day)
{
	const struct view *v = dv->v;
	struct win_counts c;

	win_advance(dv->en, true);
	win_counts(dv->en, &c);
	win_free(dv->en);
	dv->en = NULL;
	if (c.over_groups > 0) {
		/* A view leaving groups out would not be the ground truth. */
		char date[32];

		tfmt_format(day * 86400000, date);
		date[10] = '\0';
		msg_warn("view %s, %s: more than %ld groups (--max-groups; each takes about"
		    " 2 KB): give a larger --max-groups, or --memory-limit", v->name, date,
		    v->w.max_groups);
		return -1;
	}
	return 0;
}

/* The rows of every view for one day, into dd->dv[] (by take_row). */
static int
views_of_day(struct day *dd, int64_t day)
{
	struct err e;
	int rc = 0;

	for (int v = 0; v < dd->nv; v++)
		view_start(&dd->dv[v]);
	if (evstore_scan_day(dd->dv[0].r->st, day, feed, dd, &e) != 0) {
		msg_error(&e);
		rc = -1;
	}
	for (int v = 0; v < dd->nv; v++)
		if (view_finish(&dd->dv[v], day) < 0)
			rc = -1;
	if (dd->damaged > 0) {
		msg_warn("%s: %ld stored events could not be read", dd->dv[0].r->o->state ?
		    dd->dv[0].r->o->state : "the store", dd->damaged);
		rc = -1;
	}
	return rc;
}

/* Write a day's partition files aside, to be switched in with the run's
 * other files. */
static int
stage_files(struct run *r, struct day_view *dv, struct strmap *written, struct fs_stage *stage)
{
	struct strmap_entry *fe;
	struct err e;
	size_t i = 0;
	int rc = 0;

	while ((fe = strmap_next(&dv->files, &i)) != NULL) {
		struct buf *rows = fe->p;
		char *slash = strrchr(fe->key, '/');
		bool added;

		*slash = '\0';
		if (rc == 0 && fs_stage_mkdirs(stage, fe->key, &e) < 0) {
			msg_error(&e);
			rc = -1;
		}
		*slash = '/';
		if (rc == 0 && fs_stage_add(stage, fe->key, rows->p, rows->len, &e) < 0) {
			msg_error(&e);
			rc = -1;
		}
		if (rc == 0) {
			strmap_put(written, fe->key, fe->klen, &added);
			r->files_written++;
		}
	}
	return rc;
}

static void
day_view_free(struct day_view *dv)
{
	struct strmap_entry *fe;
	size_t i = 0;

	while ((fe = strmap_next(&dv->files, &i)) != NULL) {
		buf_free(fe->p);
		free(fe->p);
	}
	strmap_free(&dv->files);
	free(dv->part_col);
	win_free(dv->en);
	json_doc_free(&dv->vd);
	buf_free(&dv->text);
	buf_free(&dv->path);
	buf_free(&dv->one);
}

static int
write_views(struct run *r)
{
	const struct options *o = r->o;
	int64_t *days = xmalloc(sizeof(*days) * (r->days.count + 1));
	size_t nd = 0, i = 0;
	struct strmap_entry *de;
	struct strmap written, dirs;	/* files written; day directories */
	struct fs_stage stage = { 0 };
	struct day dd = { 0 };
	struct err e;
	int rc = 0, nby = 0, nargs = 0;

	while ((de = strmap_next(&r->days, &i)) != NULL)
		days[nd++] = de->a;
	for (size_t a = 1; a < nd; a++)	/* few days: insertion sort */
		for (size_t b = a; b > 0 && days[b - 1] > days[b]; b--) {
			int64_t x = days[b];

			days[b] = days[b - 1];
			days[b - 1] = x;
		}
	strmap_init(&written);
	strmap_init(&dirs);
	dd.nv = o->nv;
	dd.vals = xcalloc((size_t)o->f.n + 1, sizeof(*dd.vals));
	for (int v = 0; v < o->nv; v++) {
		nby = o->v[v].w.nby > nby ? o->v[v].w.nby : nby;
		nargs = o->v[v].w.aggs.n > nargs ? o->v[v].w.aggs.n : nargs;
	}
	dd.by = xcalloc((size_t)nby + 1, sizeof(*dd.by));
	dd.args = xcalloc((size_t)nargs + 1, sizeof(*dd.args));
	for (size_t k = 0; k < nd && rc == 0; k++) {
		struct buf dir[MAX_VIEWS] = { { 0 } };
		bool added;

		progress_say(&r->pg, k + 1 == nd, (double)k + 1, (double)nd, "views: day %zu of %zu",
		    k + 1, nd);
		for (int v = 0; v < o->nv; v++) {
			dd.dv[v] = (struct day_view){ .r = r, .v = &o->v[v] };
			json_doc_init(&dd.dv[v].vd);
			strmap_init(&dd.dv[v].files);
			if (o->out) {
				viewdir_day(&dir[v], o->out, o->v[v].name, days[k]);
				dd.dv[v].dir = dir[v].p;
			}
		}
		if (views_of_day(&dd, days[k]) < 0)
			rc = -1;
		for (int v = 0; v < o->nv; v++) {
			struct day_view *dv = &dd.dv[v];

			if (rc < 0) {
			} else if (o->out == NULL) {
				fwrite(dv->text.p ? dv->text.p : "", 1, dv->text.len, stdout);
			} else {
				if (stage_files(r, dv, &written, &stage) < 0)
					rc = -1;
				strmap_put(&dirs, dir[v].p, dir[v].len, &added);
			}
			buf_free(&dir[v]);
			day_view_free(dv);
		}
	}
	free(dd.vals);
	free(dd.by);
	free(dd.args);
	free(days);
	/*
	 * All or nothing: every file was written aside; only now are they
	 * switched in, by renames that need no space, and then the files of
	 * emptied partitions removed.
	 */
	if (rc < 0) {
		fs_stage_abort(&stage);
	} else if (fs_stage_commit(&stage, &e) < 0) {
		msg_error(&e);
		rc = -1;
	} else {
		i = 0;
		while ((de = strmap_next(&dirs, &i)) != NULL)
			r->files_removed += viewdir_remove_stale(de->key, o->nparts, &written);
	}
	strmap_free(&written);
	strmap_free(&dirs);
	return rc;
}

/*
 * --retention, once the views are written: each view keeps the days up to
 * its newest (a late event that rewrote an old day sees it go again).
 */
static int
expire_views(struct run *r)
{
	const struct options *o = r->o;
	struct err e;
	int rc = 0;

	for (int v = 0; o->retention && v < o->nv; v++) {
		struct buf dir = { 0 };
		struct stat st;
		long n = 0;

		buf_printf(&dir, "%s/%s", o->out, o->v[v].name);
		if (stat(dir.p, &st) == 0 && (n = viewdir_expire(dir.p, o->retention, &e)) < 0) {
			msg_error(&e);
			rc = -1;
		} else if (n > 0) {
			r->days_expired += n;
		}
		buf_free(&dir);
	}
	return rc;
}

/* Each --by column and aggregate field of the views that the events read
 * lacked, in csa-window's words (a field two views share, once). */
static void
report_missing(const struct run *r)
{
	const struct options *o = r->o;
	bool *said = xcalloc((size_t)o->f.n + 1, sizeof(*said));
	char what[256];

	for (int v = 0; v < o->nv; v++) {
		const struct view *vw = &o->v[v];

		for (int j = 0; j < vw->w.nby; j++) {
			if (said[vw->by[j]])
				continue;
			said[vw->by[j]] = true;
			snprintf(what, sizeof(what), "--by %s", vw->w.by[j].name);
			win_say_missing(what, r->lacked[vw->by[j]], r->taken);
		}
		for (int i = 0; i < vw->w.aggs.n; i++) {
			const struct agg_spec *a = &vw->w.aggs.v[i];

			if (vw->arg[i] < 0 || said[vw->arg[i]])
				continue;
			said[vw->arg[i]] = true;
			snprintf(what, sizeof(what), "--agg %s (%s)", a->name, a->arg_text);
			win_say_missing(what, r->lacked[vw->arg[i]], r->taken);
		}
	}
	free(said);
}

static int
run(const struct options *o)
{
	struct run r;
	struct err e;
	char *query = query_text(o);
	int64_t events = 0, deleted = 0, spilled = 0;
	char spill[64] = "";
	int rc;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.in = metric_get("csa_events_in_total", NULL);
	r.bytes_in = metric_get("csa_bytes_in_total", NULL);
	cmd_metrics_run_start();
	strmap_init(&r.days);
	r.lacked = xcalloc((size_t)o->f.n + 1, sizeof(*r.lacked));
	progress_init(&r.pg);
	r.st = evstore_open(o->state, query, o->memory, &e);
	free(query);
	if (r.st == NULL) {
		msg_error(&e);
		strmap_free(&r.days);
		free(r.lacked);
		return msg_status(e.kind);
	}
	rc = read_input(&r);
	progress_end(&r.pg);
	buf_free(&r.rec);
	if (rc < 0) {
		evstore_close(r.st, false, NULL);
		strmap_free(&r.days);
		free(r.lacked);
		return EXIT_IO;
	}
	/* Without a state every day is new; with one, only the days touched. */
	rc = write_views(&r);
	progress_end(&r.pg);
	if (rc < 0 || expire_views(&r) < 0) {
		evstore_close(r.st, false, NULL);
		strmap_free(&r.days);
		free(r.lacked);
		return EXIT_IO;
	}
	/* With a state the count reads the whole of it: half an incremental
	 * run's time on a history of 2M events.  Only -v prints it. */
	if (msg_verbosity() > 0)
		evstore_counts(r.st, &events, &deleted, &spilled);
	if (cmd_metrics_on())
		count_high_water(&r);
	metric_add(metric_get("csa_rows_out_total", NULL), (double)r.rows);
	if (spilled)
		snprintf(spill, sizeof(spill), ", spilled to disk at event %lld", (long long)spilled);
	/* The state moves on only once the views it implies are written. */
	if (evstore_close(r.st, true, &e) < 0) {
		msg_error(&e);
		r.status = msg_worst(r.status, EXIT_IO);
	}
	msg_verbose("%ld lines, %ld skipped, %lld events after dedupe (%lld deleted%s), "
	    "%zu days written, %ld rows, %ld files written, %ld removed", r.lines, r.bad.total,
	    (long long)events, (long long)deleted, spill,
	    r.days.count, r.rows, r.files_written, r.files_removed);
	if (o->retention)
		msg_verbose("%ld partitions past --retention removed", r.days_expired);
	report_missing(&r);
	r.status = msg_worst(r.status, msg_bad_summary(&r.bad, "line", "lines"));
	strmap_free(&r.days);
	free(r.lacked);
	return r.status;
}

static void
options_free(struct options *o)
{
	for (int i = 0; i < MAX_VIEWS; i++)
		win_spec_free(&o->v[i].w);
	for (int i = 0; i < o->nparts; i++)
		free(o->parts[i]);
	free(o->parts);
	expr_free(o->time);
	expr_free(o->id);
	expr_free(o->version);
	expr_free(o->ids);
	expr_free(o->deleted);
	expr_free(o->validate);
	expr_free(o->lat);
	expr_free(o->lon);
	for (int i = 0; i < MAX_VIEWS; i++) {
		free(o->v[i].by);
		free(o->v[i].arg);
	}
	free(o->f.x);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP)
