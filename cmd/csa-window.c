/* csa-window: the speed layer, event-time windows with Stream Analytics semantics. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg.h"
#include "buf.h"
#include "err.h"
#include "expr.h"
#include "json.h"
#include "msg.h"
#include "ndjson.h"
#include "sig.h"
#include "strmap.h"
#include "timefmt.h"

static const char usage_line[] =
    "Usage: csa-window (--tumbling SIZE | --hopping SIZE/HOP | --snapshot |\n"
    "                   --preset earthquake)\n"
    "                  [--by EXPR] [--agg NAME=FUNC(F)] [--where EXPR] [--having COND]\n"
    "                  [--time EXPR | --arrival-time] [--max-delay D] [--late adjust|drop]\n"
    "                  [--late-output FILE] [--offset D] [--boundary end-inclusive|start-inclusive]\n"
    "                  [-uv] [FILE...]\n";

static const char help_text[] =
    "Group events into event-time windows and write one row per window and\n"
    "group when the window is complete.\n"
    "\n"
    "  -a, --agg NAME=FUNC(F)    an aggregate: count, sum, avg, min, max,\n"
    "                            stddev, count_if(F OP VALUE); repeatable\n"
    "      --arrival-time        use the time a line was read as its time\n"
    "  -b, --by EXPR             group by a field or jq expression (NAME=EXPR\n"
    "                            names the column); repeatable\n"
    "      --boundary WHICH      end-inclusive (start, end] (default, as Stream\n"
    "                            Analytics) or start-inclusive [start, end)\n"
    "  -h, --help                show this help and exit\n"
    "      --having COND         keep rows whose COLUMN OP NUMBER holds\n"
    "      --hopping SIZE/HOP    windows of SIZE starting every HOP\n"
    "      --idle-timeout D      with no input for D, move time on by the wall time\n"
    "      --late WHAT           a late event: adjust its time (default) or drop it\n"
    "      --late-output FILE    also write late events to FILE\n"
    "      --max-delay D         out-of-order tolerance (default 0)\n"
    "      --offset D            shift window alignment from the epoch by D\n"
    "      --preset NAME         earthquake: the reference speed query\n"
    "      --snapshot            one window per timestamp: events at the same time\n"
    "  -t, --time EXPR           the event time (default time)\n"
    "      --tumbling SIZE       back-to-back windows of SIZE\n"
    "  -u, --unbuffered          flush after every row\n"
    "  -v, --verbose             report counts on stderr at the end\n"
    "  -V, --version             show versions and exit\n"
    "  -w, --where EXPR          only events for which EXPR is true\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage, 3 local I/O.\n"
    "See csa-window(1).\n";

enum wtype { W_NONE, W_TUMBLING, W_HOPPING, W_SNAPSHOT };

struct groupby {
	char *name;
	struct expr *x;
};

struct options {
	enum wtype type;
	int64_t size, hop, offset, max_delay, idle_ms;
	bool end_inclusive;
	bool arrival;
	bool drop_late;
	const char *late_path;
	struct expr *time, *where;
	struct groupby *by;
	int nby;
	struct agg_list aggs;
	struct agg_having having;
	bool have_having;
	bool unbuffered;
	char **files;
	int nfiles;
};

/* One group of one window: its column values (as JSON members) and states. */
struct group {
	char *cols;		/* ,"region":"us-west" ... ready to write */
	struct agg_state st[];
};

/* An open window, kept in a list ordered by end. */
struct window {
	int64_t start, end;
	struct strmap groups;	/* group key -> struct group * */
};

struct engine {
	const struct options *o;
	struct window *w;
	int nw, capw;
	int64_t max_time;	/* the largest event time seen */
	int64_t closed;		/* the end of the last window written */
	bool have_time, have_closed;
	long events, late, dropped, skipped, rows;
	int64_t last_arrival;	/* wall time of the last line, for --idle-timeout */
	FILE *late_out;
	struct buf row, key, cols;
	struct expr_val *vals;	/* scratch for agg_add_all */
};

static int
duration_opt(const char *name, const char *arg, int64_t *ms, bool positive)
{
	struct err e;

	if (tfmt_duration(arg, ms, &e) < 0 || *ms < 0 || (positive && *ms == 0))
		return msg_usage("--%s: '%s' is not a %sduration (e.g. 30s, 5m, 1h)", name, arg,
		    positive ? "positive " : "");
	return -1;
}

/* --by NAME=EXPR, or EXPR named after its last path component. */
static int
add_by(struct options *o, const char *arg)
{
	char **parts;
	int n = agg_split(arg, &parts), status = -1;

	for (int i = 0; i < n; i++) {
		const char *p = parts[i], *src = p;
		char *name = NULL;
		struct expr *x;
		struct err e;
		size_t k = 0;

		while (isalnum((unsigned char)p[k]) || p[k] == '_')
			k++;
		if (k > 0 && p[k] == '=' && p[k + 1] != '=') {
			name = xstrndup(p, k);
			src = p + k + 1;
		}
		if (status < 0 && (x = expr_compile(src, &e)) == NULL)
			status = msg_usage("--by: %s", e.msg);
		if (status < 0) {
			o->by = xrealloc(o->by, sizeof(*o->by) * (size_t)(o->nby + 1));
			o->by[o->nby].x = x;
			o->by[o->nby].name = name ? name : xstrdup(expr_name(x));
			o->nby++;
		} else {
			free(name);
		}
		free(parts[i]);
	}
	free(parts);
	return status;
}

static int
set_preset(struct options *o, const char *name)
{
	struct err e;

	if (strcmp(name, "earthquake") != 0)
		return msg_usage("--preset: unknown preset '%s' (earthquake)", name);
	o->type = W_TUMBLING;
	o->size = 5 * 60000;
	if (add_by(o, "region") >= 0)
		return EXIT_USAGE;
	if (agg_parse(&o->aggs, "event_count=count,avg_magnitude=avg(magnitude),"
	    "max_magnitude=max(magnitude),min_magnitude=min(magnitude),"
	    "avg_depth_km=avg(depth_km),significant_count=count_if(magnitude >= 5.0),"
	    "tsunami_alerts=count_if(tsunami_flag == 1)", &e) < 0)
		return msg_usage("--preset: %s", e.msg);
	return -1;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_ARRIVAL = 256, OPT_BOUNDARY, OPT_HAVING, OPT_HOPPING, OPT_IDLE, OPT_LATE,
		OPT_LATE_OUTPUT, OPT_MAX_DELAY, OPT_OFFSET, OPT_PRESET, OPT_SNAPSHOT,
		OPT_TUMBLING
	};
	static const struct option longopts[] = {
		{ "agg", required_argument, NULL, 'a' },
		{ "arrival-time", no_argument, NULL, OPT_ARRIVAL },
		{ "boundary", required_argument, NULL, OPT_BOUNDARY },
		{ "by", required_argument, NULL, 'b' },
		{ "having", required_argument, NULL, OPT_HAVING },
		{ "help", no_argument, NULL, 'h' },
		{ "hopping", required_argument, NULL, OPT_HOPPING },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "late", required_argument, NULL, OPT_LATE },
		{ "late-output", required_argument, NULL, OPT_LATE_OUTPUT },
		{ "max-delay", required_argument, NULL, OPT_MAX_DELAY },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "preset", required_argument, NULL, OPT_PRESET },
		{ "snapshot", no_argument, NULL, OPT_SNAPSHOT },
		{ "time", required_argument, NULL, 't' },
		{ "tumbling", required_argument, NULL, OPT_TUMBLING },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "where", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const char *time_src = "time";
	struct err e;
	int c, rc, verbose = 0, types = 0;

	memset(o, 0, sizeof(*o));
	o->end_inclusive = true;
	while ((c = getopt_long(argc, argv, "a:b:ht:uvVw:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (agg_parse(&o->aggs, optarg, &e) < 0)
				return msg_usage("--agg: %s", e.msg);
			break;
		case 'b':
			if ((rc = add_by(o, optarg)) >= 0)
				return rc;
			break;
		case 'h':
			return msg_help(usage_line, help_text);
		case 't':
			time_src = optarg;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			msg_version("libjq (jq field expressions)\njsmn\n");
			return msg_close_stdout();
		case 'w':
			expr_free(o->where);
			if ((o->where = expr_compile(optarg, &e)) == NULL)
				return msg_usage("--where: %s", e.msg);
			break;
		case OPT_ARRIVAL:
			o->arrival = true;
			break;
		case OPT_BOUNDARY:
			if (strcmp(optarg, "end-inclusive") == 0)
				o->end_inclusive = true;
			else if (strcmp(optarg, "start-inclusive") == 0)
				o->end_inclusive = false;
			else
				return msg_usage("--boundary: '%s' is not end-inclusive or start-inclusive",
				    optarg);
			break;
		case OPT_HAVING:
			if (agg_having_parse(optarg, &o->having, &e) < 0)
				return msg_usage("%s", e.msg);
			o->have_having = true;
			break;
		case OPT_HOPPING: {
			char *slash = strchr(optarg, '/'), *size;

			types++;
			if (slash == NULL)
				return msg_usage("--hopping: write SIZE/HOP, e.g. 5m/30s");
			size = xstrndup(optarg, (size_t)(slash - optarg));
			rc = duration_opt("hopping", size, &o->size, true);
			free(size);
			if (rc >= 0 || (rc = duration_opt("hopping", slash + 1, &o->hop, true)) >= 0)
				return rc;
			if (o->hop > o->size)
				return msg_usage("--hopping: the hop %s is longer than the window %.*s",
				    slash + 1, (int)(slash - optarg), optarg);
			o->type = W_HOPPING;
			break;
		}
		case OPT_IDLE:
			if ((rc = duration_opt("idle-timeout", optarg, &o->idle_ms, true)) >= 0)
				return rc;
			break;
		case OPT_LATE:
			if (strcmp(optarg, "adjust") == 0)
				o->drop_late = false;
			else if (strcmp(optarg, "drop") == 0)
				o->drop_late = true;
			else
				return msg_usage("--late: '%s' is not adjust or drop", optarg);
			break;
		case OPT_LATE_OUTPUT:
			o->late_path = optarg;
			break;
		case OPT_MAX_DELAY:
			if ((rc = duration_opt("max-delay", optarg, &o->max_delay, false)) >= 0)
				return rc;
			break;
		case OPT_OFFSET:
			if ((rc = duration_opt("offset", optarg, &o->offset, false)) >= 0)
				return rc;
			break;
		case OPT_PRESET:
			types++;
			if ((rc = set_preset(o, optarg)) >= 0)
				return rc;
			break;
		case OPT_SNAPSHOT:
			types++;
			o->type = W_SNAPSHOT;
			break;
		case OPT_TUMBLING:
			types++;
			if ((rc = duration_opt("tumbling", optarg, &o->size, true)) >= 0)
				return rc;
			o->type = W_TUMBLING;
			o->hop = o->size;
			break;
		default:
			return msg_usage("unknown option or missing argument");
		}
	}
	argc -= optind;
	argv += optind;
	if (types == 0)
		return msg_usage("no window: give --tumbling, --hopping, --snapshot or --preset");
	if (types > 1)
		return msg_usage("give one window: --tumbling, --hopping, --snapshot or --preset");
	if (o->type == W_TUMBLING)
		o->hop = o->size;
	if (o->type == W_SNAPSHOT) {
		/* A snapshot is the instant t: complete once the watermark is past t. */
		o->size = 0;
		o->hop = 1;
		o->offset = 0;
		o->end_inclusive = true;
	}
	if (o->aggs.n == 0 && agg_parse(&o->aggs, "count=count", &e) < 0)
		return msg_usage("%s", e.msg);
	if (o->have_having) {
		bool found = false;

		for (int i = 0; i < o->aggs.n; i++)
			found = found || strcmp(o->aggs.v[i].name, o->having.column) == 0;
		if (!found)
			return msg_usage("--having: no aggregate named '%s'", o->having.column);
	}
	if (!o->arrival && (o->time = expr_compile(time_src, &e)) == NULL)
		return msg_usage("--time: %s", e.msg);
	o->files = argv;
	o->nfiles = argc;
	msg_set_verbose(verbose);
	return -1;
}

/* Floor division for negative times too. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The window with this end, created when missing. */
static struct window *
window_at(struct engine *en, int64_t end)
{
	int i;

	for (i = en->nw; i > 0 && en->w[i - 1].end > end; i--)
		;
	if (i > 0 && en->w[i - 1].end == end)
		return &en->w[i - 1];
	if (en->nw == en->capw) {
		en->capw = en->capw ? en->capw * 2 : 16;
		en->w = xrealloc(en->w, sizeof(*en->w) * (size_t)en->capw);
	}
	memmove(&en->w[i + 1], &en->w[i], sizeof(*en->w) * (size_t)(en->nw - i));
	en->nw++;
	en->w[i].end = end;
	en->w[i].start = end - en->o->size;
	strmap_init(&en->w[i].groups);
	return &en->w[i];
}

/* Add the event to its group in window w. */
static int
add_to(struct engine *en, struct window *w, const struct json_doc *d, const char *line,
    size_t len, struct err *e)
{
	const struct agg_list *aggs = &en->o->aggs;
	bool added;
	struct strmap_entry *ge = strmap_put(&w->groups, en->key.p ? en->key.p : "",
	    en->key.len, &added);
	struct group *g;
	int rc = 0;

	if (added) {
		g = xcalloc(1, sizeof(*g) + sizeof(struct agg_state) * (size_t)aggs->n);
		g->cols = xstrndup(en->cols.p ? en->cols.p : "", en->cols.len);
		ge->p = g;
	}
	g = ge->p;
	if (agg_add_all(aggs, g->st, en->vals, d, line, len, e) < 0)
		rc = -1;
	return rc;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct strmap_entry *x = *(const struct strmap_entry *const *)a;
	const struct strmap_entry *y = *(const struct strmap_entry *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static const char *const type_names[] = {
	[W_NONE] = "none", [W_TUMBLING] = "tumbling", [W_HOPPING] = "hopping",
	[W_SNAPSHOT] = "snapshot",
};

/* Write the rows of the first window (groups in key order) and drop it. */
static void
emit_first(struct engine *en)
{
	const struct options *o = en->o;
	struct window *w = &en->w[0];
	struct strmap_entry **v = xmalloc(sizeof(*v) * (w->groups.count + 1)), *ge;
	size_t n = 0, i = 0;
	char t[32];

	while ((ge = strmap_next(&w->groups, &i)) != NULL)
		v[n++] = ge;
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t k = 0; k < n; k++) {
		struct group *g = v[k]->p;

		if (o->have_having) {
			double val;
			bool isnull;

			if (agg_column(&o->aggs, g->st, o->having.column, &val, &isnull) < 0 ||
			    isnull || !agg_compare(val, o->having.op, o->having.value))
				goto next;
		}
		buf_reset(&en->row);
		buf_addc(&en->row, '{');
		json_key(&en->row, "window_type");
		json_put_str(&en->row, type_names[o->type], strlen(type_names[o->type]));
		json_key(&en->row, "window_start");
		tfmt_format(w->start, t);
		json_put_str(&en->row, t, strlen(t));
		json_key(&en->row, "window_end");
		tfmt_format(w->end, t);
		json_put_str(&en->row, t, strlen(t));
		buf_add(&en->row, g->cols, strlen(g->cols));
		agg_put_values(&en->row, &o->aggs, g->st);
		agg_put_state(&en->row, &o->aggs, g->st);
		buf_adds(&en->row, "}\n");
		fwrite(en->row.p, 1, en->row.len, stdout);
		en->rows++;
		if (o->unbuffered)
			fflush(stdout);
next:
		free(g->cols);
		free(g);
	}
	free(v);
	strmap_free(&w->groups);
	en->closed = w->end;
	en->have_closed = true;
	memmove(&en->w[0], &en->w[1], sizeof(*en->w) * (size_t)(en->nw - 1));
	en->nw--;
}

/* Write every window the watermark has passed (or all, at the end). */
static void
advance(struct engine *en, bool all)
{
	int64_t mark = en->max_time - en->o->max_delay;
	bool any = false;

	while (en->nw > 0 && (all || (en->o->end_inclusive ? mark > en->w[0].end :
	    mark >= en->w[0].end))) {
		emit_first(en);
		any = true;
	}
	/* Each emission goes out at once: the next stage must not wait. */
	if (any)
		fflush(stdout);
}

/* The event's time from --time, or the arrival time. */
static int
event_time(const struct options *o, const struct json_doc *d, const char *line, size_t len,
    int64_t *t, struct err *e)
{
	struct expr_val v;

	if (o->arrival) {
		*t = tfmt_now();
		return 0;
	}
	if (expr_eval(o->time, d, line, len, &v, e) < 0)
		return -1;
	if (v.type == EXPR_NUMBER && tfmt_from_number(v.num, TFMT_AUTO, t) == 0)
		return 0;
	if (v.type == EXPR_STRING && tfmt_parse(v.str, v.len, t, e) == 0)
		return 0;
	return err_set(e, ERR_DATA, "%s time (%s)", v.type == EXPR_NULL ? "missing" : "unparsable",
	    expr_source(o->time));
}

/* The group key and the group's columns for this event. */
static int
group_of(struct engine *en, const struct json_doc *d, const char *line, size_t len,
    struct err *e)
{
	const struct options *o = en->o;

	buf_reset(&en->key);
	buf_reset(&en->cols);
	for (int i = 0; i < o->nby; i++) {
		struct expr_val v;
		size_t at;

		if (expr_eval(o->by[i].x, d, line, len, &v, e) < 0)
			return -1;
		json_key_str(&en->cols, o->by[i].name, strlen(o->by[i].name));
		at = en->cols.len;
		expr_put(&en->cols, &v);
		buf_add(&en->key, en->cols.p + at, en->cols.len - at);
		buf_addc(&en->key, '\0');
	}
	if (en->cols.len > 0) {	/* members after the window fields: lead with ',' */
		char *c = xstrndup(en->cols.p, en->cols.len);

		buf_reset(&en->cols);
		buf_addc(&en->cols, ',');
		buf_adds(&en->cols, c);
		free(c);
	}
	return 0;
}

/* One event: late check, windows, aggregates; returns its status. */
static int
process(struct engine *en, const struct json_doc *d, const char *line, size_t len,
    const char *file, unsigned long lineno)
{
	const struct options *o = en->o;
	struct err e;
	int64_t t, first;

	if (o->where) {
		struct expr_val v;

		if (expr_eval(o->where, d, line, len, &v, &e) < 0) {
			msg_record(file, lineno, "--where: %s, skipped", e.msg);
			return EXIT_DATA;
		}
		if (!expr_truthy(&v))
			return EXIT_OK;
	}
	if (event_time(o, d, line, len, &t, &e) < 0) {
		msg_record(file, lineno, "%s, skipped", e.msg);
		return EXIT_DATA;
	}
	if (en->have_closed && (o->end_inclusive ? t <= en->closed : t < en->closed)) {
		/* Late: its window was written already. */
		int64_t mark = en->max_time - o->max_delay;

		en->late++;
		if (en->late_out) {
			fwrite(line, 1, len, en->late_out);
			fputc('\n', en->late_out);
		}
		if (o->drop_late) {
			en->dropped++;
			return EXIT_OK;
		}
		/* Adjust, as Stream Analytics: to the watermark, past the written windows. */
		t = mark;
		if (o->end_inclusive ? t <= en->closed : t < en->closed)
			t = en->closed + (o->end_inclusive ? 1 : 0);
	}
	if (group_of(en, d, line, len, &e) < 0) {
		msg_record(file, lineno, "--by: %s, skipped", e.msg);
		return EXIT_DATA;
	}
	if (o->type == W_SNAPSHOT) {
		if (add_to(en, window_at(en, t), d, line, len, &e) < 0) {
			msg_record(file, lineno, "%s (left out of that aggregate)", e.msg);
			en->skipped++;
		}
		goto seen;
	}
	/* The windows that hold t end at offset + k*hop, within one size of t. */
	if (o->end_inclusive)
		first = o->offset + (floor_div(t - o->offset - 1, o->hop) + 1) * o->hop;
	else
		first = o->offset + (floor_div(t - o->offset, o->hop) + 1) * o->hop;
	for (int64_t end = first; o->end_inclusive ? end < t + o->size : end <= t + o->size;
	    end += o->hop) {
		if (en->have_closed && end <= en->closed)
			continue;
		if (add_to(en, window_at(en, end), d, line, len, &e) < 0) {
			msg_record(file, lineno, "%s (left out of that aggregate)", e.msg);
			en->skipped++;
		}
	}
seen:
	en->events++;
	if (!en->have_time || t > en->max_time) {
		en->max_time = t;
		en->have_time = true;
	}
	advance(en, false);
	return EXIT_OK;
}

/*
 * --idle-timeout: wait for input at most the timeout; when none came, move
 * event time on by the wall time since the last line and write the windows
 * that are due, so a quiet stream still closes them.  True when it waited
 * in vain (the caller looks again), false when input is there.
 */
static bool
idle_wait(struct engine *en, const struct ndjson_reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int64_t now;

	if (poll(&pfd, 1, (int)en->o->idle_ms) != 0)
		return false;	/* input, end of input, or a signal */
	now = tfmt_now();
	if (en->have_time && now > en->last_arrival) {
		en->max_time += now - en->last_arrival;
		en->last_arrival = now;
		advance(en, false);
	}
	return true;
}

static int
run_input(struct engine *en, struct ndjson_reader *r)
{
	struct json_doc d;
	struct err e;
	char *line;
	size_t len;
	int rc, status = EXIT_OK;

	json_doc_init(&d);
	en->last_arrival = tfmt_now();
	while (!sig_stop) {
		if (en->o->idle_ms && !ndjson_ready(r) && idle_wait(en, r))
			continue;
		if ((rc = ndjson_next(r, &line, &len, &e)) == 0)
			break;
		en->last_arrival = tfmt_now();
		if (rc < 0) {
			msg_error(&e);
			status = msg_worst(status, msg_status(e.kind));
			if (e.kind == ERR_IO)
				break;
			continue;
		}
		if (json_parse(&d, line, len, &e) < 0) {
			msg_record(r->name, r->lineno, "%s, skipped", e.msg);
			en->skipped++;
			status = msg_worst(status, EXIT_DATA);
			continue;
		}
		if (json_type(&d, 0) != JSON_OBJECT) {
			msg_record(r->name, r->lineno, "not a JSON object, skipped");
			en->skipped++;
			status = msg_worst(status, EXIT_DATA);
			continue;
		}
		rc = process(en, &d, line, len, r->name, r->lineno);
		if (rc != EXIT_OK)
			en->skipped++;
		status = msg_worst(status, rc);
		if (ferror(stdout))
			break;
	}
	json_doc_free(&d);
	return status;
}

static int
run(const struct options *o)
{
	struct engine en;
	int status = EXIT_OK;

	memset(&en, 0, sizeof(en));
	en.o = o;
	en.vals = xcalloc((size_t)o->aggs.n + 1, sizeof(*en.vals));
	if (o->late_path && (en.late_out = fopen(o->late_path, "a")) == NULL) {
		msg_warn("%s: %s", o->late_path, strerror(errno));
		return EXIT_IO;
	}
	for (int i = 0; i == 0 || i < o->nfiles; i++) {
		struct ndjson_reader r;
		struct err e;

		if (ndjson_open(&r, o->nfiles ? o->files[i] : "-", 0, &e) < 0) {
			msg_error(&e);
			status = msg_worst(status, EXIT_IO);
			continue;
		}
		r.stop = &sig_stop;
		status = msg_worst(status, run_input(&en, &r));
		ndjson_close(&r);
		if (sig_stop || ferror(stdout))
			break;
	}
	/* End of input (or a signal): every open window is complete. */
	advance(&en, true);
	if (en.late_out && fclose(en.late_out) != 0) {
		msg_warn("%s: %s", o->late_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	msg_verbose("%ld events, %ld rows, %ld late (%ld dropped), %ld lines skipped",
	    en.events, en.rows, en.late, en.dropped, en.skipped);
	free(en.w);
	free(en.vals);
	buf_free(&en.row);
	buf_free(&en.key);
	buf_free(&en.cols);
	return status;
}

static void
options_free(struct options *o)
{
	for (int i = 0; i < o->nby; i++) {
		free(o->by[i].name);
		expr_free(o->by[i].x);
	}
	free(o->by);
	agg_list_free(&o->aggs);
	free(o->having.column);
	expr_free(o->time);
	expr_free(o->where);
}

int
main(int argc, char **argv)
{
	struct options o;
	int status;

	msg_init(argv[0]);
	status = parse_options(argc, argv, &o);
	if (status >= 0) {
		options_free(&o);
		return status;
	}
	sig_catch_stop();
	setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
	status = run(&o);
	status = msg_worst(status, msg_close_stdout());
	options_free(&o);
	return status;
}
