/* csa-batch-agg: the batch layer: deduplicated events into exact, idempotent views. */
#include <config.h>

#include <dirent.h>
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
#include "json.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "sig.h"
#include "strmap.h"
#include "timefmt.h"
#include "window.h"

/* A directory name's limit, and the longest --partition-by field name. */
enum { PART_NAME_MAX = 255, PART_FIELD_MAX = 64 };

/* What --max-groups counts on by default: --memory-limit / GROUP_BYTES. */
enum { GROUP_BYTES = 2048 };

static const char usage_line[] =
    "Usage: csa-batch-agg (--preset earthquake | --tumbling SIZE [--view NAME])\n"
    "                     [--by EXPR] [--agg NAME=FUNC(F)] [--having COND] [--time EXPR]\n"
    "                     [--id FIELD] [--version-field FIELD] [--ids-field FIELD]\n"
    "                     [--deleted-when EXPR] [--validate EXPR] [--max-future D]\n"
    "                     [--out DIR] [--partition-by FIELD] [--incremental STATE]\n"
    "                     [--memory-limit SIZE] [--max-groups N] [-v] [FILE...]\n";

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
    "      --incremental STATE   add to what earlier runs saw (a SQLite file) and\n"
    "                            write again only the days that changed\n"
    "      --max-future D        reject events more than D ahead of the clock\n"
    "                            (default: none, so no result depends on the clock)\n"
    "      --max-groups N        the most groups one day of a view may have; more\n"
    "                            is an error (default: the memory limit / 2K)\n"
    "      --memory-limit SIZE   memory for the events before they spill to disk\n"
    "                            (default 256M)\n"
    "  -o, --out DIR             write DIR/VIEW/date=YYYY-MM-DD/part-0.ndjson\n"
    "      --partition-by FIELD  also partition by FIELD (added to --by)\n"
    "      --preset NAME         earthquake: the hourly and daily reference views,\n"
    "                            with the USGS event rules\n"
    "  -t, --time EXPR           the event time (default time)\n"
    "      --tumbling SIZE       one view of windows of SIZE (dividing a day)\n"
    "      --validate EXPR       reject events for which EXPR is not true\n"
    "                            (earthquake: latitude and longitude in range)\n"
    "  -v, --verbose             report counts on stderr at the end\n"
    "  -V, --version             show versions and exit\n"
    "      --version-field FIELD the version; the greatest wins (default updated)\n"
    "      --view NAME           the view's name (default view)\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were rejected, 2 usage, 3 local I/O.\n"
    "See csa-batch-agg(1).\n";

enum { MAX_VIEWS = 2, MAX_REPORTED = 10 };

struct view {
	const char *name;
	struct win_spec w;
};

struct options {
	struct view v[MAX_VIEWS];
	int nv;
	struct expr *time, *id, *version;
	struct expr *ids;	/* --ids-field; NULL: an event has its own id only */
	struct expr *deleted;	/* --deleted-when (the preset's: status); NULL: none */
	struct expr *validate;	/* --validate; NULL: see usgs_valid */
	bool usgs_deleted;	/* deleted is the preset's: its value "deleted", any case */
	bool usgs_valid;	/* the preset's: latitude and longitude in range */
	int64_t max_future;	/* --max-future; 0: no limit */
	char **parts;		/* --partition-by columns */
	int nparts;
	const char *out, *state;
	int64_t memory;
	int64_t max_groups;	/* group states of one day of a view */
	char **files;
	int nfiles;
};

struct run {
	const struct options *o;
	struct evstore *st;
	struct strmap days;	/* touched days, key: the day number */
	long lines, rejected, rows, files_written, files_removed;
	int status;
};

static int
set_preset(struct options *o, const char *name)
{
	static const char *const aggs[MAX_VIEWS] = {
		"event_count=count,avg_magnitude=avg(magnitude),max_magnitude=max(magnitude),"
		"min_magnitude=min(magnitude),avg_depth_km=avg(depth_km),"
		"significant_count=count_if(magnitude >= 5.0)",
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

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_DELETED_WHEN = 256, OPT_HAVING, OPT_ID, OPT_IDS_FIELD, OPT_INCREMENTAL,
		OPT_MAX_FUTURE, OPT_MAX_GROUPS, OPT_MEMORY, OPT_PARTITION, OPT_PRESET, OPT_TUMBLING,
		OPT_VALIDATE, OPT_VERSION_FIELD, OPT_VIEW
	};
	static const struct option longopts[] = {
		{ "agg", required_argument, NULL, 'a' },
		{ "by", required_argument, NULL, 'b' },
		{ "deleted-when", required_argument, NULL, OPT_DELETED_WHEN },
		{ "having", required_argument, NULL, OPT_HAVING },
		{ "help", no_argument, NULL, 'h' },
		{ "id", required_argument, NULL, OPT_ID },
		{ "ids-field", required_argument, NULL, OPT_IDS_FIELD },
		{ "incremental", required_argument, NULL, OPT_INCREMENTAL },
		{ "max-future", required_argument, NULL, OPT_MAX_FUTURE },
		{ "max-groups", required_argument, NULL, OPT_MAX_GROUPS },
		{ "memory-limit", required_argument, NULL, OPT_MEMORY },
		{ "out", required_argument, NULL, 'o' },
		{ "partition-by", required_argument, NULL, OPT_PARTITION },
		{ "preset", required_argument, NULL, OPT_PRESET },
		{ "time", required_argument, NULL, 't' },
		{ "tumbling", required_argument, NULL, OPT_TUMBLING },
		{ "validate", required_argument, NULL, OPT_VALIDATE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "version-field", required_argument, NULL, OPT_VERSION_FIELD },
		{ "view", required_argument, NULL, OPT_VIEW },
		{ NULL, 0, NULL, 0 }
	};
	static const char shortopts[] = "a:b:ho:t:vV";
	struct win_spec *w = &o->v[0].w;
	const char *time_src = "time", *id_src = "event_id", *version_src = "updated";
	const char *ids_src = NULL, *deleted_src = NULL, *validate_src = NULL;
	bool custom = false, preset = false;
	struct err e;
	int c, rc, verbose = 0;

	memset(o, 0, sizeof(*o));
	o->memory = 256 << 20;
	o->v[0].name = "view";
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			custom = true;
			if (agg_parse(&w->aggs, optarg, &e) < 0)
				return msg_usage("--agg: %s", e.msg);
			break;
		case 'b':
			custom = true;
			if (win_add_by(w, optarg, &e) < 0)
				return msg_usage("--by: %s", e.msg);
			break;
		case 'h':
			return msg_help(usage_line, help_text);
		case 'o':
			o->out = optarg;
			break;
		case 't':
			time_src = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			return opt_version(evstore_versions(), "libjq (jq field expressions)\njsmn\n");
		case OPT_DELETED_WHEN:
			deleted_src = optarg;
			break;
		case OPT_HAVING:
			custom = true;
			free(w->having.column);
			if (agg_having_parse(optarg, &w->having, &e) < 0)
				return msg_usage("%s", e.msg);
			w->have_having = true;
			break;
		case OPT_ID:
			id_src = optarg;
			break;
		case OPT_IDS_FIELD:
			ids_src = optarg;
			break;
		case OPT_INCREMENTAL:
			o->state = optarg;
			break;
		case OPT_MAX_FUTURE:
			if (opt_duration("max-future", optarg, 1, OPT_NO_MAX, &o->max_future) < 0)
				return EXIT_USAGE;
			break;
		case OPT_MAX_GROUPS:
			if (opt_int("max-groups", optarg, 1, INT32_MAX, &o->max_groups) < 0)
				return EXIT_USAGE;
			break;
		case OPT_MEMORY:
			if (opt_size("memory-limit", optarg, 1 << 20, OPT_NO_MAX, &o->memory) < 0)
				return EXIT_USAGE;
			break;
		case OPT_PARTITION: {
			char **v;
			int n = agg_split(optarg, &v);

			for (int i = 0; i < n; i++) {
				o->parts = xrealloc(o->parts, sizeof(*o->parts) * (size_t)(o->nparts + 1));
				o->parts[o->nparts++] = v[i];
				if (!*v[i] || strlen(v[i]) > PART_FIELD_MAX || strchr(v[i], '/') ||
				    v[i][0] == '.') {
					for (int j = i + 1; j < n; j++)
						free(v[j]);
					free(v);
					return msg_usage("--partition-by: '%s' cannot name a directory"
					    " (1 to %d bytes, no '/', not starting with '.')", o->parts[o->nparts - 1],
					    PART_FIELD_MAX);
				}
			}
			free(v);
			break;
		}
		case OPT_PRESET:
			preset = true;
			if ((rc = set_preset(o, optarg)) != OPT_RUN)
				return rc;
			break;
		case OPT_TUMBLING:
			custom = true;
			if (opt_duration("tumbling", optarg, 1, 86400000, &w->size) < 0)
				return EXIT_USAGE;
			if (86400000 % w->size != 0)
				return msg_usage("--tumbling: '%s' is not a duration that divides a day "
				    "(e.g. 5m, 1h, 1d)", optarg);
			break;
		case OPT_VALIDATE:
			validate_src = optarg;
			break;
		case OPT_VERSION_FIELD:
			version_src = optarg;
			break;
		case OPT_VIEW:
			o->v[0].name = optarg;
			break;
		default:
			return opt_fault(argv, shortopts, longopts);
		}
	}
	argc -= optind;
	argv += optind;
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

			for (int j = 0; j < vw->nby; j++)
				have = have || strcmp(vw->by[j].name, o->parts[k]) == 0;
			if (!have && win_add_by(vw, o->parts[k], &e) < 0)
				return msg_usage("--partition-by: %s", e.msg);
		}
		if (vw->have_having) {
			bool found = false;

			for (int j = 0; j < vw->aggs.n; j++)
				found = found || strcmp(vw->aggs.v[j].name, vw->having.column) == 0;
			if (!found)
				return msg_usage("--having: no aggregate named '%s'", vw->having.column);
		}
	}
	if (o->nparts && o->out == NULL)
		return msg_usage("--partition-by: needs --out DIR");
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
	    (validate_src && (rc = compile(&o->validate, validate_src, "validate")) != OPT_RUN))
		return rc;
	o->files = argv;
	o->nfiles = argc;
	msg_set_verbose(verbose);
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
	r->status = msg_worst(r->status, EXIT_DATA);
	msg_record_counted(&r->rejected, MAX_REPORTED, file, lineno, "%s, rejected", what);
	return 0;
}

/* A number in [lo, hi] at path, when the field is there. */
static bool
in_range(const struct json_doc *d, const char *path, double lo, double hi)
{
	int t = json_path(d, 0, path);
	double x;

	if (t < 0 || json_type(d, t) == JSON_NULL)
		return true;
	return json_number(d, t, &x) == 0 && x >= lo && x <= hi;
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
	if (o->usgs_valid && !in_range(d, "latitude", -90, 90))
		return "latitude outside [-90, 90]";
	if (o->usgs_valid && !in_range(d, "longitude", -180, 180))
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

/* One input line: check it, and put it into the store. */
static int
take_line(struct run *r, struct json_doc *d, const char *line, size_t len, const char *file,
    unsigned long lineno)
{
	const struct options *o = r->o;
	struct expr_val idv, vv, lv;
	struct err e;
	int64_t t, version = 0;
	const char *ids[64], *why;
	size_t idlen[64];
	char num[32];
	int nids;

	r->lines++;
	if (json_parse(d, line, len, &e) < 0)
		return reject(r, file, lineno, e.msg);
	if (json_type(d, 0) != JSON_OBJECT)
		return reject(r, file, lineno, "not a JSON object");
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
	nids = event_ids(&idv, &lv, ids, idlen, 64);
	if (evstore_put(r->st, ids, idlen, nids, version, t, is_deleted(o, d, line, len), line,
	    len, touch_day, r, &e) < 0) {
		msg_error(&e);
		return -1;
	}
	return 0;
}

static int
read_input(struct run *r, const char *path)
{
	struct ndjson_reader in;
	struct json_doc d;
	struct err e;
	char *line;
	size_t len;
	int rc;

	if (ndjson_open(&in, path, 0, &e) < 0) {
		msg_error(&e);
		return -1;
	}
	in.stop = &sig_stop;
	json_doc_init(&d);
	while ((rc = ndjson_next(&in, &line, &len, &e)) != 0) {
		if (rc < 0 && e.kind == ERR_DATA) {
			/* A line over the limit: rejected as bad lines are; the
			 * reader's message names it. */
			r->status = msg_worst(r->status, EXIT_DATA);
			msg_error_counted(&r->rejected, MAX_REPORTED, &e);
			continue;
		}
		if (rc < 0) {
			msg_error(&e);
			if (e.kind == ERR_IO)
				break;
			r->status = msg_worst(r->status, msg_status(e.kind));
			continue;
		}
		if (take_line(r, &d, line, len, in.name, in.lineno) < 0) {
			rc = -1;
			break;
		}
	}
	json_doc_free(&d);
	ndjson_close(&in);
	if (rc < 0)
		return -1;
	return sig_stop ? -1 : 0;
}

/* ---- views ---- */

struct day_view {
	struct win_engine *en;
	struct json_doc d;
};

static int
feed(const char *line, size_t len, int64_t t, void *arg)
{
	struct day_view *dv = arg;
	struct err e;
	bool late;

	/* Lines in the store passed take_line: parse them without checking again. */
	if (json_parse_valid(&dv->d, line, len, &e) == 0)
		win_event(dv->en, &t, NULL, 0, &dv->d, line, len, &late, &e);
	return 0;
}

/* The rows of one view for one day, into *text (caller frees). */
static int
view_day(struct run *r, const struct view *v, int64_t day, char **text, size_t *len)
{
	struct day_view dv = { NULL, { 0 } };
	FILE *mem = open_memstream(text, len);
	struct win_counts c;
	struct err e;
	int rc;

	if (mem == NULL)
		return -1;
	json_doc_init(&dv.d);
	dv.en = win_new(&v->w, mem, false);
	rc = evstore_scan_day(r->st, day, feed, &dv, &e);
	win_advance(dv.en, true);
	win_counts(dv.en, &c);
	win_free(dv.en);
	if (c.over_groups > 0) {
		/* A view leaving groups out would not be the ground truth. */
		char date[32];

		tfmt_format(day * 86400000, date);
		date[10] = '\0';
		msg_warn("view %s, %s: more than %ld groups (--max-groups; each takes about"
		    " 2 KB): give a larger --max-groups, or --memory-limit", v->name, date,
		    v->w.max_groups);
	}
	json_doc_free(&dv.d);
	if (fclose(mem) != 0 || rc != 0 || c.over_groups > 0) {
		if (rc != 0)
			msg_error(&e);
		return -1;
	}
	return 0;
}

/*
 * A partition value as a safe directory name of at most room bytes: only
 * [A-Za-z0-9_-] stay, every other byte is %XX.  A name that would be longer
 * keeps what fits of it and ends in "~" and a 64-bit FNV-1a hash of the
 * whole value; "~" is never left bare otherwise, so it cannot clash with a
 * name that was not shortened.
 */
static void
put_part_value(struct buf *b, const struct json_doc *d, int t, size_t room)
{
	struct buf raw = { 0 };
	static const char hex[] = "0123456789ABCDEF";
	size_t start = b->len, keep = 0;
	uint64_t h = 14695981039346656037ULL;

	if (json_string(d, t, &raw) < 0)
		json_put_token(&raw, d, t);
	for (size_t i = 0; i < raw.len; i++) {
		unsigned char c = (unsigned char)raw.p[i];

		h = (h ^ c) * 1099511628211ULL;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
		if (b->len - start <= room - 17)
			keep = b->len - start;	/* whole bytes that fit before "~hash" */
	}
	if (raw.len == 0)
		buf_adds(b, "%00");
	if (b->len - start > room) {
		b->len = start + keep;
		buf_printf(b, "~%016llx", (unsigned long long)h);
	}
	buf_free(&raw);
}

/* Write rows aside into their partition files under dir, a file per
 * partition, to be switched in with the run's other files. */
static int
write_partitions(struct run *r, const char *dir, const char *text, size_t len,
    struct strmap *written, struct fs_stage *stage)
{
	struct strmap files;	/* path -> struct buf * of rows */
	struct strmap_entry *fe;
	struct json_doc d;
	struct err e;
	const char *p = text, *end = text + len;
	size_t i = 0;
	int rc = 0;

	strmap_init(&files);
	json_doc_init(&d);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p) + 1;
		struct buf path = { 0 };
		bool added;

		buf_adds(&path, dir);
		if (json_parse_valid(&d, p, n - 1, &e) == 0)
			for (int k = 0; k < r->o->nparts; k++) {
				buf_addc(&path, '/');
				buf_adds(&path, r->o->parts[k]);
				buf_addc(&path, '=');
				put_part_value(&path, &d, json_member(&d, 0, r->o->parts[k],
				    strlen(r->o->parts[k])), PART_NAME_MAX - strlen(r->o->parts[k]) - 1);
			}
		buf_adds(&path, "/part-0.ndjson");
		fe = strmap_put(&files, path.p, path.len, &added);
		if (added)
			fe->p = xcalloc(1, sizeof(struct buf));
		buf_add(fe->p, p, n);
		buf_free(&path);
		p += n;
	}
	while ((fe = strmap_next(&files, &i)) != NULL) {
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
		buf_free(rows);
		free(rows);
	}
	strmap_free(&files);
	json_doc_free(&d);
	return rc;
}

/* Remove the part files under dir that this run did not write (a partition
 * emptied), and the directories left empty. */
static void
remove_stale(struct run *r, const char *dir, int depth, const struct strmap *written)
{
	struct dirent *de;
	DIR *dp;

	if (depth == 0) {
		struct buf path = { 0 };

		buf_adds(&path, dir);
		buf_adds(&path, "/part-0.ndjson");
		if (strmap_get(written, path.p, path.len) == NULL && unlink(path.p) == 0)
			r->files_removed++;
		buf_free(&path);
		return;
	}
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		struct buf sub = { 0 };

		if (de->d_name[0] == '.' || strchr(de->d_name, '=') == NULL)
			continue;
		buf_adds(&sub, dir);
		buf_addc(&sub, '/');
		buf_adds(&sub, de->d_name);
		remove_stale(r, sub.p, depth - 1, written);
		rmdir(sub.p);	/* only when empty */
		buf_free(&sub);
	}
	closedir(dp);
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
	struct err e;
	int rc = 0;

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
	for (size_t k = 0; k < nd && rc == 0; k++) {
		for (int v = 0; v < o->nv && rc == 0; v++) {
			char *text = NULL, date[32];
			size_t len = 0;

			if (view_day(r, &o->v[v], days[k], &text, &len) < 0) {
				rc = -1;
			} else if (o->out == NULL) {
				/* stdout: each row says its view */
				for (const char *p = text; p < text + len;) {
					const char *nl = memchr(p, '\n', (size_t)(text + len - p));

					printf("{\"view\":\"%s\",", o->v[v].name);
					fwrite(p + 1, 1, (size_t)(nl - p), stdout);
					r->rows++;
					p = nl + 1;
				}
			} else {
				struct buf dir = { 0 };
				bool added;

				tfmt_format(days[k] * 86400000, date);
				date[10] = '\0';
				buf_adds(&dir, o->out);
				buf_addc(&dir, '/');
				buf_adds(&dir, o->v[v].name);
				buf_adds(&dir, "/date=");
				buf_adds(&dir, date);
				for (const char *p = text; p < text + len; p++)
					r->rows += *p == '\n';
				if (write_partitions(r, dir.p, text, len, &written, &stage) < 0)
					rc = -1;
				strmap_put(&dirs, dir.p, dir.len, &added);
				buf_free(&dir);
			}
			free(text);
		}
	}
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
			remove_stale(r, de->key, o->nparts, &written);
	}
	strmap_free(&written);
	strmap_free(&dirs);
	return rc;
}

static int
run(const struct options *o)
{
	struct run r;
	struct err e;
	char *query = query_text(o);
	int64_t events, deleted;

	memset(&r, 0, sizeof(r));
	r.o = o;
	strmap_init(&r.days);
	r.st = evstore_open(o->state, query, o->memory / 1024, &e);
	free(query);
	if (r.st == NULL) {
		msg_error(&e);
		strmap_free(&r.days);
		return msg_status(e.kind);
	}
	for (int i = 0; i == 0 || i < o->nfiles; i++)
		if (read_input(&r, o->nfiles ? o->files[i] : "-") < 0) {
			evstore_close(r.st, false, NULL);
			strmap_free(&r.days);
			return sig_stop ? EXIT_IO : msg_worst(r.status, EXIT_IO);
		}
	/* Without a state every day is new; with one, only the days touched. */
	if (write_views(&r) < 0) {
		evstore_close(r.st, false, NULL);
		strmap_free(&r.days);
		return EXIT_IO;
	}
	evstore_counts(r.st, &events, &deleted);
	/* The state moves on only once the views it implies are written. */
	if (evstore_close(r.st, true, &e) < 0) {
		msg_error(&e);
		r.status = msg_worst(r.status, EXIT_IO);
	}
	msg_verbose("%ld lines, %ld rejected, %lld events after dedupe (%lld deleted), "
	    "%zu days written, %ld rows, %ld files written, %ld removed", r.lines, r.rejected,
	    (long long)events, (long long)deleted, r.days.count, r.rows, r.files_written,
	    r.files_removed);
	if (r.rejected)
		msg_warn("%ld bad lines rejected", r.rejected);
	strmap_free(&r.days);
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
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP)
