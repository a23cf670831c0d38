/* csa-window: the speed layer, event-time windows with Stream Analytics semantics. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "agg.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "expr.h"
#include "fsutil.h"
#include "input.h"
#include "json.h"
#include "jsonfast.h"
#include "metrics.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "positions.h"
#include "saql.h"
#include "sig.h"
#include "timefmt.h"
#include "window.h"
#include "winopt.h"

static const char usage_line[] =
    "Usage: csa-window (--tumbling SIZE | --hopping SIZE/HOP | --sliding SIZE |\n"
    "                   --session TIMEOUT[/MAX] | --snapshot | --preset earthquake |\n"
    "                   --query TEXT | --query-file FILE) [--explain] [--into NAME[=FILE]]\n"
    "                  [--by EXPR] [--agg NAME=FUNC(F)] [--where EXPR] [--having COND]\n"
    "                  [--time EXPR | --arrival-time] [--max-delay D] [--late adjust|drop]\n"
    "                  [--late-output FILE] [--offset D] [--boundary end-inclusive|start-inclusive]\n"
    "                  [--emit early:D] [--dedupe FIELD] [--dedupe-horizon D] [--max-groups N]\n"
    "                  [--state FILE] [--state-every D] [--keep-open | --no-keep-open]\n"
    "                  [--out FILE] [--idle-timeout D]\n"
    "                  [--partition EXPR] [--partition-count N] [--metrics FILE]\n"
    "                  [-uv] [FILE...]\n"
    "       csa-window --select COLUMNS [--where EXPR]\n"
    "                  [--time EXPR | --arrival-time] [--out FILE] [--metrics FILE]\n"
    "                  [-uv] [FILE...]\n";

static const char help_text[] =
    "Group events into event-time windows and write one row per window and\n"
    "group when the window is complete; or, with --select, write a row for\n"
    "each event as soon as it is read.\n"
    "\n"
    "  -a, --agg NAME=FUNC(F)    an aggregate: count, sum, avg, min, max,\n"
    "                            stddev, count_if(F OP VALUE), count_distinct,\n"
    "                            percentile(F, P), median; repeatable\n"
    "      --arrival-time        use the time a line was read as its time\n"
    "  -b, --by EXPR             group by a field or jq expression (NAME=EXPR\n"
    "                            names the column); repeatable\n"
    "      --boundary WHICH      end-inclusive (start, end] (default, as Stream\n"
    "                            Analytics) or start-inclusive [start, end)\n"
    "      --dedupe FIELD        drop events whose FIELD was seen before\n"
    "      --dedupe-horizon D    how long an id is remembered (default 1h)\n"
    "      --emit early:D        also write running rows of open windows every D\n"
    "      --explain             with a query: print its plan and the equivalent\n"
    "                            options, and exit\n"
    "  -h, --help                show this help and exit\n"
    "      --having COND         keep rows whose COLUMN OP NUMBER holds\n"
    "      --hopping SIZE/HOP    windows of SIZE starting every HOP\n"
    "      --idle-timeout D      with no input for D, move time on by the wall time\n"
    "      --into NAME[=FILE]    run only the query's statement INTO [NAME]; with\n"
    "                            FILE, send its rows there (appended, as --out)\n"
    "                            and run the others too; repeatable\n"
    "      --keep-open           at the end of input, save open windows to --state\n"
    "                            instead of writing them\n"
    "      --no-keep-open        at the end of input, write open windows even with\n"
    "                            --state and --out\n"
    "  -o, --out FILE            append rows to FILE; with --state, exactly once\n"
    "                            across a crash (see csa-window(1))\n"
    "      --late WHAT           a late event: adjust its time (default) or drop it\n"
    "      --late-output FILE    also write late events to FILE\n"
    "      --lazy                read only the members the query uses: faster,\n"
    "                            but faults elsewhere in a line go unseen\n"
    "      --max-delay D         out-of-order tolerance (default 0)\n"
    "      --max-groups N        hold at most N groups; events past it are left out\n"
    "      --metrics FILE        write counters, watermarks and lateness to FILE\n"
    "                            (Prometheus text) every 5s and at exit\n"
    "      --offset D            shift window alignment from the epoch by D\n"
    "      --partition EXPR      the input partition of an event, each with its own\n"
    "                            event time (default _eh.partition)\n"
    "      --partition-count N   start the clock once N partitions have been seen\n"
    "      --preset NAME         earthquake: the reference speed query\n"
    "      --query TEXT          a Stream Analytics query: SELECT ... INTO ... FROM ...\n"
    "                            GROUP BY ..., TumblingWindow(minute, 5)\n"
    "      --query-file FILE     the query from FILE\n"
    "  -q, --quiet               no warnings (errors and bad lines still print)\n"
    "      --session T[/MAX]     sessions: events less than T apart, cut at MAX\n"
    "      --sliding SIZE        a row whenever an event enters or leaves the\n"
    "                            last SIZE\n"
    "      --snapshot            one window per timestamp: events at the same time\n"
    "      --select COLUMNS      no window: a row per event, written and flushed at\n"
    "                            once, of NAME=EXPR or EXPR columns; NAME=\"text\"\n"
    "                            is a constant, NAME=System.Timestamp() the time\n"
    "  -s, --state FILE          restore open windows from FILE; save them at exit\n"
    "      --state-every D       also save the state every D of wall time\n"
    "  -t, --time EXPR           the event time (default time)\n"
    "      --tumbling SIZE       back-to-back windows of SIZE\n"
    "  -u, --unbuffered          flush after every row\n"
    "  -v, --verbose             report counts on stderr at the end\n"
    "  -V, --version             show versions and exit\n"
    "  -w, --where EXPR          only events for which EXPR is true\n"
    "\n"
    "Examples:\n"
    "  csa-eh-recv -g speed | csa-window --preset earthquake\n"
    "  csa-window --tumbling 1h --by region --agg 'n=count,m=max(magnitude)' < ev\n"
    "  csa-window -t timestamp --session 1m/1h --by user_id < clicks.ndjson\n"
    "  csa-window --query-file speed.asaql --into speed-view=speed.ndjson < ev\n"
    "  csa-window -w '.magnitude >= 6' --select 'event_id,at=System.Timestamp()'\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage, 3 local I/O.\n"
    "See csa-window(1).\n";

/* A column of --select: an expression, a constant, or the event's time. */
struct sel_col {
	char *name;
	struct expr *x;		/* NULL: konst, else the event's time */
	char *konst;		/* a JSON string or number, written as is */
};

struct options {
	struct win_spec w;
	struct sel_col *sel;	/* --select: a row per event, no window */
	int nsel;
	bool select;
	bool lazy;		/* --lazy: lines read only where the query looks */
	int64_t idle_ms, state_every;
	bool arrival;
	bool keep_open, no_keep_open;
	const char *late_path, *state_path, *out_path;
	struct expr *time, *where, *dedupe, *partition;
	struct expr *eh_part, *eh_seq;	/* _eh.partition, _eh.sequence_number */
	char **query_argv;		/* the options a --query compiled to */
	struct options *job;		/* a job of several statements: each one's */
	int njob;
	char *into;			/* in a job: the statement's INTO name */
	bool routed;			/* in a job: its rows go to its own --into FILE */
	bool tagged;			/* in a job: its rows carry "_into" */
	bool step;			/* in a job: a WITH step, its rows to its readers */
	int source;			/* in a job: the step it reads (o->job index), or -1 */
	int partition_count;
	bool partition_given;
	bool unbuffered;
	char **files;
	int nfiles;
};

/* The partitions' clock: wall time spent waiting for input (partition_wait). */
static int64_t waited;

struct run {
	const struct options *o;
	struct win_engine *en;
	int64_t last_arrival;	/* wall time of the last line, for --idle-timeout */
	int64_t saved_at;	/* wall time of the last state save */
	FILE *late_out;
	struct msg_bad bad;	/* lines skipped */
	int part_of[1024];	/* the engine's index of partition n, + 1 (0: not yet) */
	bool first;		/* no event has been taken yet */
	bool one_stream;	/* the first had no partition: no more looking */
	FILE *out;		/* the rows: stdout or --out */
	char *out_buf;		/* --out's 64 KiB buffer, freed after out is closed */
	struct positions pos;	/* the last sequence number taken per partition */
	long already;		/* events skipped as taken before the last save */
	bool no_seq_warned;
	struct buf row;		/* scratch for one row */
	long selected, seen;	/* --select: rows written, events read */
	struct metric *in, *bytes_in, *rows, *bytes_out, *adjusted, *dropped, *open, *lag;
	struct metric **mark;	/* --metrics: per engine partition, made when first seen */
	int nmark;
	struct run *next;	/* a job's next statement, fed the same events */
	struct run *stmt;	/* a job's next statement whatever feeds it, in the query's order */
	struct run *src;	/* a WITH step's reader: the step */
	char *tag;		/* a job's rows on a shared stream: {"_into":"NAME", */
	size_t tag_len;
	const char *label[2];	/* a job's metrics label: "into", NAME; else NULL */
	struct run **readers;	/* a WITH step: the statements that read its rows */
	int nreaders;
	struct json_doc doc;	/* a WITH step: its row, as its readers take it */
	unsigned long nrow;	/* a WITH step: rows written, their "line" numbers */
	int status;		/* a step's reader: the worst status of its events */
};

/*
 * Row b (one JSON object and its newline) onto r->out.  In a job, the
 * rows of several statements that share a stream start with the
 * statement's "_into": the rest of the row is what the statement alone
 * writes, so its _id and everything else stay the same.
 */
static void
write_row(struct run *r, const struct buf *b)
{
	if (r->tag != NULL) {
		fwrite(r->tag, 1, r->tag_len, r->out);
		fwrite(b->p + 1, 1, b->len - 1, r->out);
		metric_add(r->bytes_out, (double)(r->tag_len - 1));
	} else {
		fwrite(b->p, 1, b->len, r->out);
	}
	metric_add(r->rows, 1);
	metric_add(r->bytes_out, (double)b->len);
}

/* The engine's sink: each row onto r->out, flushed with -u. */
static void
put_row(const struct row *w, void *arg)
{
	struct run *r = arg;

	buf_reset(&r->row);
	row_put(&r->row, w);
	write_row(r, &r->row);
	if (r->o->unbuffered)
		fflush(r->out);
}

/* After each emission: the rows go on at once. */
static void
rows_done(void *arg)
{
	struct run *r = arg;

	fflush(r->out);
}

/* SIZE/SECOND: two positive durations; the second may be optional.  0, or
 * -1 after the usage message. */
static int
duration_pair(const char *name, const char *arg, int64_t *a, int64_t *b, bool need_b)
{
	const char *slash = strchr(arg, '/');
	char *first;
	int rc;

	if (slash == NULL) {
		if (need_b) {
			msg_usage("--%s: write SIZE/HOP, e.g. 5m/30s", name);
			return -1;
		}
		*b = 0;
		return opt_duration(name, arg, 1, OPT_NO_MAX, a);
	}
	first = xstrndup(arg, (size_t)(slash - arg));
	rc = opt_duration(name, first, 1, OPT_NO_MAX, a);
	free(first);
	if (rc == 0)
		rc = opt_duration(name, slash + 1, 1, OPT_NO_MAX, b);
	return rc;
}

/* What the options' callbacks fill besides struct options. */
struct parse {
	struct options *o;
	int types;		/* window types given */
	bool start_inclusive;
};

static int
set_preset(struct options *o, const char *name)
{
	struct err e;

	if (strcmp(name, "earthquake") != 0)
		return msg_usage("--preset: unknown preset '%s' (earthquake)", name);
	o->w.type = WIN_TUMBLING;
	o->w.size = 5 * 60000;
	if (winopt_by(&o->w, "by", "region") != OPT_RUN)
		return EXIT_USAGE;
	if (agg_parse(&o->w.aggs, "event_count=count,avg_magnitude=avg(magnitude),"
	    "max_magnitude=max(magnitude),min_magnitude=min(magnitude),"
	    "avg_depth_km=avg(depth_km),significant_count=count_if(magnitude >= 5.0),"
	    "tsunami_alerts=count_if(tsunami_flag == 1)", &e) < 0)
		return msg_usage("--preset: %s", e.msg);
	return OPT_RUN;
}

/* --tumbling, --hopping, --sliding, --session, --snapshot and --preset. */
static int
take_window(void *to, const char *name, const char *arg)
{
	struct parse *p = to;
	struct win_spec *w = &p->o->w;

	p->types++;
	if (strcmp(name, "preset") == 0)
		return set_preset(p->o, arg);
	if (strcmp(name, "snapshot") == 0) {
		w->type = WIN_SNAPSHOT;
		return OPT_RUN;
	}
	if (strcmp(name, "hopping") == 0) {
		if (duration_pair("hopping", arg, &w->size, &w->hop, true) < 0)
			return EXIT_USAGE;
		if (w->hop > w->size)
			return msg_usage("--hopping: the hop %s is longer than the window %.*s",
			    strchr(arg, '/') + 1, (int)(strchr(arg, '/') - arg), arg);
		w->type = WIN_HOPPING;
		return OPT_RUN;
	}
	if (strcmp(name, "session") == 0) {
		if (duration_pair("session", arg, &w->size, &w->max_duration, false) < 0)
			return EXIT_USAGE;
		w->type = WIN_SESSION;
		return OPT_RUN;
	}
	if (opt_duration(name, arg, 1, OPT_NO_MAX, &w->size) < 0)
		return EXIT_USAGE;
	w->type = strcmp(name, "sliding") == 0 ? WIN_SLIDING : WIN_TUMBLING;
	return OPT_RUN;
}

/*
 * A jq string or number literal that JSON reads the same ("MAGNITUDE_SPIKE",
 * 3): its compact JSON, written without running libjq on every event
 * (some microseconds each).  NULL for anything else, which stays jq's.
 * Caller frees.
 */
static char *
constant(const char *src)
{
	struct json_doc d;
	struct buf b = { 0 }, str = { 0 };
	struct err e;
	double x;

	json_doc_init(&d);
	if (json_parse(&d, src, strlen(src), &e) == 0) {
		if (json_type(&d, 0) == JSON_STRING && json_string(&d, 0, &str) == 0)
			json_put_str(&b, str.p ? str.p : "", str.len);
		else if (json_type(&d, 0) == JSON_NUMBER && json_number(&d, 0, &x) == 0)
			json_put_num(&b, x);
	}
	json_doc_free(&d);
	buf_free(&str);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int
add_column(struct options *o, const char *text)
{
	static const char now_fn[] = "System.Timestamp()";
	const char *eq = strchr(text, '=');
	struct sel_col c = { NULL, NULL, NULL };
	struct win_spec one;
	struct err e;

	if (strcasecmp(text, now_fn) == 0)
		return msg_usage("--select: %s needs a name, e.g. detected_at=%s", now_fn,
		    now_fn);
	if (eq != NULL && eq > text && strcasecmp(eq + 1, now_fn) == 0) {
		c.name = xstrndup(text, (size_t)(eq - text));
	} else {
		memset(&one, 0, sizeof(one));
		if (win_add_by(&one, text, &e) < 0)
			return msg_usage("--select: %s", e.msg);
		c.name = one.by[0].name;
		c.x = one.by[0].x;
		free(one.by);
		if ((c.konst = constant(expr_source(c.x))) != NULL) {
			expr_free(c.x);
			c.x = NULL;
		}
	}
	for (int i = 0; i < o->nsel; i++)
		if (strcmp(o->sel[i].name, c.name) == 0) {
			msg_usage("--select: the column '%s' is named twice", c.name);
			free(c.name);
			expr_free(c.x);
			return EXIT_USAGE;
		}
	o->sel = xrealloc(o->sel, sizeof(*o->sel) * (size_t)(o->nsel + 1));
	o->sel[o->nsel++] = c;
	return OPT_RUN;
}

/* --select COLUMNS: comma-separated, as --by (commas inside quotes,
 * brackets or parentheses do not split), blanks around each left out;
 * given again, more columns. */
static int
take_select(void *to, const char *name, const char *arg)
{
	struct parse *p = to;
	struct options *o = p->o;
	char **parts;
	int n = agg_split(arg, &parts), rc = OPT_RUN;

	(void)name;
	if (!o->select)
		p->types++;
	o->select = true;
	for (int i = 0; i < n; i++) {
		char *col = parts[i], *end = col + strlen(col);

		/* A long list is written over lines in a script. */
		while (isspace((unsigned char)*col))
			col++;
		while (end > col && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (rc == OPT_RUN)
			rc = add_column(o, col);
		free(parts[i]);
	}
	free(parts);
	return rc;
}

/*
 * --select writes each event as it comes: the options that shape windows
 * or hold events back mean nothing there, and are refused, not ignored.
 */
/* Set while the per-event statement of a job that also has windowed ones
 * is parsed: the job's window options are for those. */
static bool job_windows;
/* Set while a WITH step's options are parsed: its rows go to its readers,
 * final ones only, so --emit early is the readers' alone. */
static bool job_step;

static int
check_select(const struct options *o, bool start_inclusive, bool offset_given)
{
	const struct win_spec *w = &o->w;
	const struct {
		bool given;
		const char *name;
	} only[] = {
		{ w->aggs.n > 0, "--agg" }, { w->nby > 0, "--by" },
		{ start_inclusive, "--boundary" }, { o->dedupe != NULL, "--dedupe" },
		{ w->early > 0, "--emit" }, { w->have_having, "--having" },
		{ o->idle_ms > 0, "--idle-timeout" }, { o->keep_open, "--keep-open" },
		{ w->drop_late, "--late" }, { o->late_path != NULL, "--late-output" },
		{ w->max_delay > 0, "--max-delay" }, { w->max_groups > 0, "--max-groups" },
		{ o->no_keep_open, "--no-keep-open" }, { offset_given, "--offset" },
		{ o->partition_given, "--partition" }, { o->partition_count > 0, "--partition-count" },
		{ o->state_path != NULL, "--state" }, { o->state_every > 0, "--state-every" },
	};

	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]) && !job_windows; i++)
		if (only[i].given)
			return msg_usage("%s: only for windows, not with --select", only[i].name);
	return OPT_RUN;
}

static int
take_emit(void *to, const char *name, const char *arg)
{
	(void)name;
	if (strncmp(arg, "early:", 6) != 0)
		return msg_usage("--emit: write early:D, e.g. early:10s");
	if (opt_duration("emit", arg + 6, 1, OPT_NO_MAX, to) < 0)
		return EXIT_USAGE;
	return OPT_RUN;
}

/* What --query and the options that go with it said. */
struct query_opts {
	const char *text, *file;
	const char *into[64];	/* each --into NAME[=FILE], in order */
	int ninto;
	bool explain, spec_given, out_given;
};

/* --into NAME[=FILE], repeatable: checked against the query's statements
 * once it is compiled. */
static int
take_into(void *to, const char *name, const char *arg)
{
	struct query_opts *q = to;

	(void)name;
	if (q->ninto == (int)(sizeof(q->into) / sizeof(q->into[0])))
		return msg_usage("--into: at most %d", q->ninto);
	q->into[q->ninto++] = arg;
	return OPT_RUN;
}

/* Set while the options a query compiled to are parsed. */
static bool query_compiled;

static int query_options(struct options *o, const struct query_opts *q, int argc,
    char **argv);

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text,
		.libs = "libjq (jq field expressions)\njsmn\n"
	};
	struct win_spec *w = &o->w;
	static const char default_partition[] = "_eh.partition";
	const char *time_src = "time", *partition_src = default_partition;
	struct parse p = { .o = o };
	struct query_opts q = { 0 };
	bool offset_given = false;
	struct err e;
	int rc;
	const struct opt_spec spec[] = {
		OPT_E_CALL("agg", 'a', w, winopt_agg),
		OPT_E_FLAG("arrival-time", 0, &o->arrival),
		OPT_E_CHOICE("boundary", 0, &p.start_inclusive, "end-inclusive", "start-inclusive"),
		OPT_E_CALL("by", 'b', w, winopt_by),
		OPT_E_CALL("dedupe", 0, &o->dedupe, opt_call_expr),
		OPT_E_DURATION("dedupe-horizon", 0, &w->dedupe_horizon, 1, OPT_NO_MAX),
		OPT_E_CALL("emit", 0, &w->early, take_emit),
		OPT_E_FLAG("explain", 0, &q.explain),
		OPT_E_CALL("having", 0, w, winopt_having),
		OPT_E_CALL("hopping", 0, &p, take_window),
		OPT_E_DURATION("idle-timeout", 0, &o->idle_ms, 1, OPT_NO_MAX),
		OPT_E_CALL("into", 0, &q, take_into),
		OPT_E_FLAG("keep-open", 0, &o->keep_open),
		OPT_E_FLAG("lazy", 0, &o->lazy),
		OPT_E_CHOICE("late", 0, &w->drop_late, "adjust", "drop"),
		OPT_E_STRING("late-output", 0, &o->late_path),
		OPT_E_DURATION("max-delay", 0, &w->max_delay, 0, OPT_NO_MAX),
		OPT_E_INT("max-groups", 0, &w->max_groups, 1, INT32_MAX),
		OPT_E_METRICS,
		OPT_E_FLAG("no-keep-open", 0, &o->no_keep_open),
		{ .name = "offset", .kind = OPT_K_DURATION, .to = &w->offset, .hi = OPT_NO_MAX,
		    .given = &offset_given },
		OPT_E_STRING("out", 'o', &o->out_path),
		OPT_E_STRING("partition", 0, &partition_src),
		OPT_E_INT("partition-count", 0, &o->partition_count, 1, INT32_MAX),
		OPT_E_CALL("preset", 0, &p, take_window),
		OPT_E_STRING("query", 0, &q.text),
		OPT_E_STRING("query-file", 0, &q.file),
		OPT_E_CALL("select", 0, &p, take_select),
		OPT_E_CALL("session", 0, &p, take_window),
		OPT_E_CALL("sliding", 0, &p, take_window),
		OPT_E_CALL0("snapshot", 0, &p, take_window),
		OPT_E_STRING("state", 's', &o->state_path),
		OPT_E_DURATION("state-every", 0, &o->state_every, 1, OPT_NO_MAX),
		OPT_E_STRING("time", 't', &time_src),
		OPT_E_CALL("tumbling", 0, &p, take_window),
		OPT_E_FLAG("unbuffered", 'u', &o->unbuffered),
		OPT_E_CALL("where", 'w', &o->where, opt_call_expr),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	w->end_inclusive = true;
	w->dedupe_horizon = 3600 * 1000;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	if ((q.text || q.file || q.explain || q.ninto) && !query_compiled) {
		q.spec_given = p.types || w->nby || w->aggs.n || o->where || w->have_having ||
		    o->arrival || strcmp(time_src, "time") != 0;
		q.out_given = o->out_path != NULL;
		return query_options(o, &q, argc, argv);
	}
	argc -= optind;
	argv += optind;
	if (p.types != 1)
		return msg_usage("%s: give --tumbling, --hopping, --sliding, --session, "
		    "--snapshot, --preset or --select", p.types ? "more than one window" :
		    "no window");
	o->partition_given = partition_src != default_partition;
	if (o->select) {
		if ((rc = check_select(o, p.start_inclusive, offset_given)) != OPT_RUN)
			return rc;
		if (!o->arrival && (o->time = expr_compile(time_src, &e)) == NULL)
			return msg_usage("--time: %s", e.msg);
		o->files = argv;
		o->nfiles = argc;
		return OPT_RUN;
	}
	w->end_inclusive = !p.start_inclusive;
	switch (w->type) {
	case WIN_TUMBLING:
		w->hop = w->size;
		break;
	case WIN_SNAPSHOT:
		/* A snapshot is the instant t: complete once the watermark is past t. */
		w->size = 0;
		w->hop = 1;
		w->offset = 0;
		w->end_inclusive = true;
		break;
	case WIN_SLIDING:
	case WIN_SESSION:
		if (p.start_inclusive)
			return msg_usage("--boundary start-inclusive: only for tumbling and "
			    "hopping windows");
		if (w->type == WIN_SLIDING && offset_given)
			return msg_usage("--offset: a sliding window has no alignment");
		break;
	default:
		break;
	}
	if (job_step)
		w->early = 0;
	if (w->early && w->type != WIN_TUMBLING && w->type != WIN_HOPPING)
		return msg_usage("--emit early: only for tumbling and hopping windows");
	if (o->keep_open && o->state_path == NULL)
		return msg_usage("--keep-open: needs --state FILE to keep the windows in");
	if (o->keep_open && o->no_keep_open)
		return msg_usage("--keep-open and --no-keep-open: choose one");
	/* A service's end of input is a stop, not the end of time. */
	if (o->state_path && o->out_path && !o->no_keep_open)
		o->keep_open = true;
	if (o->state_every && o->state_path == NULL)
		return msg_usage("--state-every: needs --state FILE");
	if (w->aggs.n == 0 && agg_parse(&w->aggs, "count=count", &e) < 0)
		return msg_usage("%s", e.msg);
	if ((rc = winopt_check_columns(w)) != OPT_RUN ||
	    (rc = winopt_check_having(w)) != OPT_RUN)
		return rc;
	if (!o->arrival && (o->time = expr_compile(time_src, &e)) == NULL)
		return msg_usage("--time: %s", e.msg);
	if ((o->partition = expr_compile(partition_src, &e)) == NULL)
		return msg_usage("--partition: %s", e.msg);
	if (o->state_path && ((o->eh_part = expr_compile("_eh.partition", &e)) == NULL ||
	    (o->eh_seq = expr_compile("_eh.sequence_number", &e)) == NULL))
		return msg_usage("%s", e.msg);
	o->files = argv;
	o->nfiles = argc;
	return OPT_RUN;
}

/*
 * The options that run a plan: its n options (saql_argv's plan, taken
 * over), then --out FILE when given, then the options given (argv as
 * getopt left it, the user's --query among them, passed over the second
 * time), all copies, so that the array owns every string it holds;
 * parsed into o, which keeps them.
 */
static int
statement_options(struct options *o, char **plan, int n, const char *out, int argc,
    char **argv)
{
	char **v;
	int rc;

	v = xmalloc(sizeof(*v) * (size_t)(argc + n + 3));
	v[0] = xstrdup(argv[0]);
	memcpy(v + 1, plan, sizeof(*v) * (size_t)n);
	free(plan);
	n++;
	if (out) {
		v[n++] = xstrdup("--out");
		v[n++] = xstrdup(out);
	}
	for (int i = 1; i < argc; i++)
		v[n++] = xstrdup(argv[i]);
	v[n] = NULL;
	query_compiled = true;
	optind = 0;
	rc = parse_options(n, v, o);
	query_compiled = false;
	o->query_argv = v;
	return rc;
}

/*
 * Which statements run and where their rows go: a bare --into NAME picks
 * NAME (only the picked ones run, when any is), --into NAME=FILE sends
 * NAME's rows to FILE.  run[i] is true for each statement to run, to[i]
 * its FILE or NULL; the number to run, or -1 after the usage message.
 */
static int
choose_statements(const struct saql_query *sq, const struct query_opts *q,
    const char *out_path, bool *run, const char **to)
{
	struct buf names = { 0 };
	bool picked = false;
	int nrun = 0, rc = 0;

	for (int i = 0; i < sq->n; i++)
		if (!sq->v[i].step)
			buf_printf(&names, "%s[%s]", names.len ? ", " : "",
			    sq->v[i].into ? sq->v[i].into : "");
	for (int k = 0; k < q->ninto && rc == 0; k++) {
		const char *arg = q->into[k], *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		int i;

		for (i = 0; i < sq->n; i++)
			if (sq->v[i].into && !sq->v[i].step && strlen(sq->v[i].into) == len &&
			    strncmp(sq->v[i].into, arg, len) == 0)
				break;
		if (i == sq->n)
			rc = msg_usage("--into: no statement INTO [%.*s] in the query (%s)", (int)len,
			    arg, names.p);
		else if (run[i])
			rc = msg_usage("--into: [%.*s] given twice", (int)len, arg);
		else if (eq && eq[1] == '\0')
			rc = msg_usage("--into %s: no FILE after '='", arg);
		if (rc != 0)
			break;
		run[i] = true;
		to[i] = eq ? eq + 1 : NULL;
		picked |= eq == NULL;
		for (int j = 0; j < sq->n && rc == 0 && eq; j++)
			if (j != i && to[j] && strcmp(to[j], eq + 1) == 0)
				rc = msg_usage("--into %s: [%s] goes to %s already: a file holds the "
				    "rows of one statement", arg, sq->v[j].into, to[j]);
		if (rc == 0 && eq && out_path && strcmp(out_path, eq + 1) == 0 && sq->n > 1)
			rc = msg_usage("--into %s: --out %s is for the other statements' rows", arg,
			    out_path);
	}
	buf_free(&names);
	if (rc != 0)
		return -1;
	for (int i = 0; i < sq->n; i++)
		run[i] = (run[i] || !picked) && !sq->v[i].step;
	/* The steps a statement to run reads (a step comes before its readers). */
	for (int i = sq->n - 1; i >= 0; i--)
		if (run[i] && sq->v[i].source >= 0)
			run[sq->v[i].source] = true;
	for (int i = 0; i < sq->n; i++)
		nrun += run[i];
	return nrun;
}

/*
 * A job of several statements in one run: a struct options for each, as
 * if it ran alone, in o->job.  Rows that share standard output (or --out)
 * with another statement's are marked with "_into".  No --state: one
 * state file holds one engine and one set of positions, and a job's rows
 * on one stream cannot be vouched for statement by statement.
 */
static int
job_options(struct options *o, const struct saql_query *sq, const char *name, const bool *run,
    const char **to, int nrun, int argc, char **argv)
{
	int shared = 0, rc = OPT_RUN, j = 0, *at = xcalloc((size_t)sq->n, sizeof(*at));
	bool windows = false, steps = false;
	int nout = 0;	/* the statements, not the steps */

	for (int i = 0; i < sq->n; i++) {
		steps |= run[i] && sq->v[i].step;
		nout += run[i] && !sq->v[i].step;
	}
	if (o->state_path && steps)
		rc = msg_usage("--state: a job with WITH steps keeps no state (csa-window(1), "
		    "QUERY LANGUAGE)");
	else if (o->state_path)
		rc = msg_usage("--state: a job of %d statements keeps no state; give each "
		    "its own run: --into NAME --state FILE (csa-window(1), QUERY LANGUAGE)", nout);
	for (int i = 0; i < sq->n; i++)
		shared += run[i] && !sq->v[i].step && to[i] == NULL;
	/* A statement alone on its stream needs no name: the others have
	 * files of their own (--into NAME=FILE). */
	for (int i = 0; i < sq->n && rc == OPT_RUN; i++)
		if (run[i] && !sq->v[i].step && sq->v[i].into == NULL && shared > 1)
			rc = msg_usage("%s:%d:%d: a statement without INTO, in a job of %d: "
			    "name its output with INTO [name]", name, sq->v[i].line, sq->v[i].col,
			    nout);
	for (int i = 0; i < sq->n; i++)
		windows |= run[i] && sq->v[i].aggregate && sq->v[i].source < 0;
	if (rc != OPT_RUN) {
		free(at);
		return rc;
	}
	o->job = xcalloc((size_t)nrun, sizeof(*o->job));
	job_windows = windows;
	for (int i = 0; i < sq->n && rc == OPT_RUN; i++) {
		struct options *s = &o->job[j];
		char **plan;
		int n;

		if (!run[i])
			continue;
		n = saql_argv(&sq->v[i], &plan);
		at[i] = j;
		o->njob = ++j;
		job_step = sq->v[i].step;
		rc = statement_options(s, plan, n, NULL, argc, argv);
		job_step = false;
		s->into = xstrdup(sq->v[i].into ? sq->v[i].into : "");
		s->step = sq->v[i].step;
		s->source = sq->v[i].source >= 0 ? at[sq->v[i].source] : -1;
		s->routed = to[i] != NULL;
		s->tagged = !s->routed && !s->step && shared > 1;
		if (s->routed)
			s->out_path = to[i];
		/* A step's rows are its readers' events: final ones only (an
		 * early row taken as an event would be counted again when its
		 * window closes: job_step), and deduplicated already, by the
		 * step. */
		if (s->source >= 0) {
			expr_free(s->dedupe);
			s->dedupe = NULL;
		}
	}
	job_windows = false;
	free(at);
	return rc;
}

/*
 * --query, --query-file: compile the query, and with --explain print what
 * each statement compiled to; else parse the options again with the
 * statement's own (saql_argv) in front of the ones given, so that running
 * a query is running csa-window with those options.  Several statements
 * to run make a job (job_options), run in one pass over the input.
 */
static int
query_options(struct options *o, const struct query_opts *q, int argc, char **argv)
{
	struct saql_query sq = { 0 };
	char *file_text = NULL;
	const char *name = q->file ? q->file : "query", **to;
	struct buf plans = { 0 };
	struct err e;
	bool *run, run_s[16];
	const char *to_s[16], *out;
	char **plan = NULL;
	int one = -1, n = 0;
	size_t len;
	int rc, nrun;

	if (q->text && q->file)
		return msg_usage("--query and --query-file: give one");
	if (!q->text && !q->file)
		return msg_usage("--%s: needs --query or --query-file", q->explain ? "explain" : "into");
	if (q->spec_given)
		return msg_usage("--query: the query says the window, the groups, the aggregates, "
		    "WHERE, HAVING and TIMESTAMP BY; leave out the options that say them");
	if (q->file && (rc = fs_read_all(q->file, &file_text, &len, &e)) != 0) {
		if (rc == 1)
			msg_warn("%s: no such file", q->file);
		else
			msg_error(&e);
		return EXIT_IO;
	}
	rc = saql_compile(q->text ? q->text : file_text, name, &sq, &e);
	free(file_text);
	if (rc < 0) {
		saql_free(&sq);
		return msg_usage("%s", e.msg);
	}
	if (q->explain) {
		for (int i = 0; i < sq.n; i++) {
			if (i)
				buf_addc(&plans, '\n');
			saql_explain(&sq.v[i], "csa-window", &plans);
		}
		fputs(plans.p, stdout);
		buf_free(&plans);
		saql_free(&sq);
		return EXIT_OK;
	}
	/* On the stack for a job of a usual size: a one-statement run then
	 * makes no heap allocation it did not make before, and its libjq
	 * programs find the heap as they did (callgrind saw a different
	 * layout cost malloc 0.5% more on the sliding-hour statement). */
	if (sq.n <= 16) {
		memset(run_s, 0, sizeof(run_s));
		memset(to_s, 0, sizeof(to_s));
		run = run_s;
		to = to_s;
	} else {
		run = xcalloc((size_t)sq.n, sizeof(*run));
		to = xcalloc((size_t)sq.n, sizeof(*to));
	}
	nrun = choose_statements(&sq, q, o->out_path, run, to);
	rc = nrun < 0 ? EXIT_USAGE : OPT_RUN;
	/* A statement reading a step runs as a job, even alone: nrun >= 2. */
	for (int i = 0; i < sq.n && nrun == 1; i++) {
		if (run[i] && q->out_given && to[i])
			rc = msg_usage("--into %s=%s and --out: give one file", sq.v[i].into, to[i]);
		else if (run[i])
			one = i;
	}
	if (one >= 0)
		n = saql_argv(&sq.v[one], &plan);
	else if (nrun > 1)
		rc = job_options(o, &sq, name, run, to, nrun, argc, argv);
	out = one >= 0 ? to[one] : NULL;
	if (run != run_s) {
		free(run);
		free(to);
	}
	/* One statement's options are parsed with the query freed, as they
	 * always were: its libjq programs then find the heap as before. */
	saql_free(&sq);
	if (one >= 0)
		rc = statement_options(o, plan, n, out, argc, argv);
	return rc;
}

/* The event's time from --time, or the arrival time. */
static int
event_time(const struct options *o, const struct json_doc *d, const char *line, size_t len,
    int64_t *t, struct err *e)
{
	if (o->arrival) {
		*t = tfmt_now();
		return 0;
	}
	return win_time(o->time, d, line, len, t, e);
}

/* The name of the rows' file in messages. */
static const char *
out_name(const struct run *r)
{
	return r->o->out_path ? r->o->out_path : "standard output";
}

/*
 * Save the engine's state to --state, whole or not at all.  The state says
 * which windows were written, so their rows go out first (and to disk when
 * they go to a file); if they cannot, the previous state stays, and the
 * exit says why.  Its second line holds the positions of the events it
 * counts and, with --out, the length of the rows it vouches for.
 */
static int
save_state(struct run *r)
{
	struct buf b = { 0 }, w = { 0 };
	struct err e;
	const char *nl;
	struct stat st;
	int rc = EXIT_OK;

	if (fflush(r->out) != 0 || ferror(r->out))
		return EXIT_IO;
	if (fs_sync_if_file(fileno(r->out)) < 0) {
		msg_warn("%s: write error: %s", out_name(r), strerror(errno));
		return EXIT_IO;
	}
	if (r->o->out_path) {
		if (fstat(fileno(r->out), &st) < 0) {
			msg_warn("%s: %s", r->o->out_path, strerror(errno));
			return EXIT_IO;
		}
		/* Appended to: its length is the end of the rows written. */
		r->pos.out_length = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
	}
	win_save(r->en, &w);
	nl = memchr(w.p, '\n', w.len);
	buf_add(&b, w.p, (size_t)(nl - w.p) + 1);
	pos_put(&r->pos, &b);
	buf_add(&b, nl + 1, w.len - (size_t)(nl - w.p) - 1);
	if (fs_write_atomic(r->o->state_path, b.p, b.len, &e) < 0) {
		msg_error(&e);
		rc = EXIT_IO;
	}
	buf_free(&b);
	buf_free(&w);
	r->saved_at = tfmt_now();
	return rc;
}

/*
 * --out: open the rows' file for appending; after a state that vouches for
 * a length, cut off what a killed run wrote after its last save.
 */
static int
open_out(struct run *r)
{
	const char *path = r->o->out_path;
	struct stat st;
	FILE *f;
	int fd = fs_open_append_shared(path);

	if (fd < 0 || fstat(fd, &st) < 0) {
		msg_warn("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_IO;
	}
	if (r->pos.out_length >= 0 && S_ISREG(st.st_mode)) {
		if (st.st_size < r->pos.out_length) {
			msg_warn("%s: %lld bytes, shorter than the %lld that %s vouches for; "
			    "was it changed?", path, (long long)st.st_size,
			    (long long)r->pos.out_length, r->o->state_path);
			close(fd);
			return EXIT_IO;
		}
		if (st.st_size > r->pos.out_length && ftruncate(fd, r->pos.out_length) < 0) {
			msg_warn("%s: %s", path, strerror(errno));
			close(fd);
			return EXIT_IO;
		}
	}
	/* r->out stays stdout on failure: the end of a job closes what is not. */
	if ((f = fdopen(fd, "a")) == NULL) {
		msg_warn("%s: %s", path, strerror(errno));
		close(fd);
		return EXIT_IO;
	}
	r->out = f;
	/* glibc takes the size only with a buffer given. */
	r->out_buf = xmalloc(64 * 1024);
	setvbuf(r->out, r->out_buf, _IOFBF, 64 * 1024);
	return EXIT_OK;
}

static int
load_state(struct run *r)
{
	char *text;
	size_t len;
	struct err e;
	int rc = fs_read_all(r->o->state_path, &text, &len, &e);

	if (rc == 1)
		return EXIT_OK;	/* the first run */
	if (rc < 0 || win_load(r->en, text, len, r->o->state_path, &e) < 0) {
		msg_error(&e);
		free(text);
		return msg_status(e.kind);
	}
	if (pos_find(&r->pos, text, len) < 0) {
		msg_warn("%s: a damaged positions line", r->o->state_path);
		free(text);
		return EXIT_IO;
	}
	free(text);
	return EXIT_OK;
}

/*
 * The digits that end at line[end - 1], preceded by the literal key; their
 * value in *v and where the key starts in *at.
 */
static bool
tail_number(const char *line, size_t end, const char *key, int64_t *v, size_t *at)
{
	size_t klen = strlen(key), d = end;

	while (d > 0 && end - d < 16 && isdigit((unsigned char)line[d - 1]))
		d--;
	if (d == end || d < klen || memcmp(line + d - klen, key, klen) != 0)
		return false;
	*v = 0;
	for (size_t k = d; k < end; k++)
		*v = *v * 10 + (line[k] - '0');
	*at = d - klen;
	return true;
}

/*
 * csa-eh-recv and csa-capture-read end each line with
 * "_eh":{"partition":P}} (csa-eh-recv --positions: with
 * ,"sequence_number":S before the braces); read them there, as a plain
 * path would find them, at a fraction of the cost of looking the members
 * up.  1: P and S, 0: P only, -1: any other line (with -m, say), which
 * then takes the lookup.
 */
static int
tail_eh(const char *line, size_t len, int *part, int64_t *seq)
{
	size_t end = len, at;
	int64_t v;
	int rc = 0;

	while (end > 0 && isspace((unsigned char)line[end - 1]))
		end--;
	if (end < 4 || line[end - 1] != '}' || line[end - 2] != '}')
		return -1;
	end -= 2;
	if (tail_number(line, end, "\"sequence_number\":", seq, &at)) {
		if (at == 0 || line[at - 1] != ',')
			return -1;
		end = at - 1;
		rc = 1;
	}
	if (!tail_number(line, end, "\"_eh\":{\"partition\":", &v, &at) || at == 0 ||
	    (line[at - 1] != ',' && line[at - 1] != '{') || v >= POS_MAX)
		return -1;
	*part = (int)v;
	return rc;
}

/* The partition from the tail of the line, when it is there. */
static bool
tail_partition(const char *line, size_t len, int *n)
{
	int64_t seq;

	return tail_eh(line, len, n, &seq) >= 0;
}

/* The hub position of an event, from its tail or by lookup; false for none. */
static bool
eh_position(struct run *r, const struct json_doc *d, const char *line, size_t len, int *p,
    int64_t *seq)
{
	struct expr_val v;
	struct err e;

	if (tail_eh(line, len, p, seq) == 1)
		return true;
	if (expr_eval(r->o->eh_seq, d, line, len, &v, &e) < 0 || v.type != EXPR_NUMBER ||
	    v.num < 0 || v.num != (double)(int64_t)v.num)
		return false;
	*seq = (int64_t)v.num;
	if (expr_eval(r->o->eh_part, d, line, len, &v, &e) < 0 || v.type != EXPR_NUMBER ||
	    v.num < 0 || v.num >= POS_MAX || v.num != (int)v.num)
		return false;
	*p = (int)v.num;
	return true;
}

/*
 * With --state: true when the event was taken before the state was saved
 * (its sequence number is at or below its partition's position), so it is
 * skipped; else its position is recorded as taken.
 */
static bool
taken_before(struct run *r, const struct json_doc *d, const char *line, size_t len)
{
	int64_t seq;
	int p;

	if (!eh_position(r, d, line, len, &p, &seq)) {
		if (r->o->out_path && !r->no_seq_warned) {
			r->no_seq_warned = true;
			msg_warn("events without _eh.partition and _eh.sequence_number: the "
			    "state cannot say where to resume (csa-eh-recv --positions adds them)");
		}
		return false;
	}
	if (seq <= r->pos.last[p]) {
		r->already++;
		return true;
	}
	r->pos.last[p] = seq;
	return false;
}

/* Partition number n: the engine's index, from the cache after the first. */
static void
set_partition_number(struct run *r, int n)
{
	char num[16];
	int i;

	if (r->part_of[n] > 0) {
		win_partition_index(r->en, r->part_of[n] - 1, waited);
		return;
	}
	snprintf(num, sizeof(num), "%d", n);
	i = win_partition(r->en, num, strlen(num), waited);
	r->part_of[n] = i + 1;
}

/*
 * Tell the engine the event's partition (--partition): a string or a
 * number; missing, null or anything else is none.  The engine's clock for
 * idle partitions is `waited` (see partition_wait).
 */
static int
set_partition(struct run *r, const struct json_doc *d, const char *line, size_t len,
    struct err *e)
{
	struct expr_val v;
	char num[32];
	int n;

	if (r->one_stream || r->o->arrival)
		return 0;	/* arrival times come in the order read: one stream */
	if (!r->o->partition_given && tail_partition(line, len, &n)) {
		r->first = false;
		set_partition_number(r, n);
		return 0;
	}
	if (expr_eval(r->o->partition, d, line, len, &v, e) < 0)
		return -1;
	/* Without --partition, input whose first event has no _eh.partition
	 * is one stream: it does not pay for a lookup that fails each time. */
	if (r->first && !r->o->partition_given && v.type != EXPR_NUMBER &&
	    v.type != EXPR_STRING)
		r->one_stream = true;
	r->first = false;
	if (v.type == EXPR_NUMBER && v.num >= 0 && v.num < 1024 && v.num == (int)v.num) {
		set_partition_number(r, (int)v.num);	/* hub partitions: small numbers */
		return 0;
	}
	if (v.type == EXPR_NUMBER) {
		v.len = (size_t)json_fmt_num(num, sizeof(num), v.num);
		v.str = num;
	} else if (v.type != EXPR_STRING) {
		win_partition(r->en, NULL, 0, win_partitions(r->en) > 0 ? waited : 0);
		return 0;
	}
	win_partition(r->en, v.str, v.len, waited);
	return 0;
}

/* --where: 1 when the event passes, else its status (EXIT_OK: left out). */
static int
where_holds(struct run *r, const struct json_doc *d, const char *line, size_t len,
    const char *file, unsigned long lineno)
{
	struct expr_val v;
	struct err e;

	if (r->o->where == NULL)
		return 1;
	if (expr_eval(r->o->where, d, line, len, &v, &e) < 0) {
		msg_bad(&r->bad, BAD_FIELD, file, lineno, "--where: %s", e.msg);
		return EXIT_DATA;
	}
	return expr_truthy(&v) ? 1 : EXIT_OK;
}

/*
 * --select: the event's row, written and flushed before the next line is
 * read, as an alert must not wait for a later event.  A column that cannot
 * be computed skips the event (said), never half a row.
 */
static int
select_event(struct run *r, const struct json_doc *d, const char *line, size_t len,
    const char *file, unsigned long lineno)
{
	const struct options *o = r->o;
	struct buf *b = &r->row;
	struct expr_val v;
	struct err e;
	char ts[32];
	int64_t t = 0;
	bool timed = false;
	int rc;

	r->seen++;
	if ((rc = where_holds(r, d, line, len, file, lineno)) != 1)
		return rc;
	buf_reset(b);
	buf_addc(b, '{');
	for (int i = 0; i < o->nsel; i++) {
		const struct sel_col *c = &o->sel[i];

		json_key_str(b, c->name, strlen(c->name));
		if (c->konst != NULL) {
			buf_adds(b, c->konst);
			continue;
		}
		if (c->x == NULL) {
			/* System.Timestamp(): TIMESTAMP BY, here --time, as a
			 * filter or projection does not move it. */
			if (!timed && event_time(o, d, line, len, &t, &e) < 0) {
				msg_bad(&r->bad, BAD_FIELD, file, lineno, "%s", e.msg);
				return EXIT_DATA;
			}
			timed = true;
			json_put_str(b, ts, tfmt_format(t, ts));
			continue;
		}
		if (expr_eval(c->x, d, line, len, &v, &e) < 0) {
			msg_bad(&r->bad, BAD_FIELD, file, lineno, "--select %s: %s", c->name, e.msg);
			return EXIT_DATA;
		}
		expr_put(b, &v);
	}
	buf_add(b, "}\n", 2);
	write_row(r, b);
	fflush(r->out);	/* an alert waits for nothing */
	r->selected++;
	return EXIT_OK;
}

/* One event: where, time, dedupe, windows; returns its status. */
static int
process(struct run *r, const struct json_doc *d, const char *line, size_t len,
    const char *file, unsigned long lineno)
{
	const struct options *o = r->o;
	struct expr_val id;
	struct err e;
	int64_t t;
	bool late;
	int rc;

	if (o->state_path && taken_before(r, d, line, len))
		return EXIT_OK;
	if ((rc = where_holds(r, d, line, len, file, lineno)) != 1)
		return rc;
	if (event_time(o, d, line, len, &t, &e) < 0) {
		msg_bad(&r->bad, BAD_FIELD, file, lineno, "%s", e.msg);
		return EXIT_DATA;
	}
	if (o->dedupe) {
		if (expr_eval(o->dedupe, d, line, len, &id, &e) < 0) {
			msg_bad(&r->bad, BAD_FIELD, file, lineno, "--dedupe: %s", e.msg);
			return EXIT_DATA;
		}
		if (id.type != EXPR_STRING && id.type != EXPR_NUMBER) {
			msg_bad(&r->bad, BAD_FIELD, file, lineno, "--dedupe: no id (%s)",
			    expr_source(o->dedupe));
			return EXIT_DATA;
		}
		if (id.type == EXPR_NUMBER) {
			static char num[32];

			id.len = (size_t)json_fmt_num(num, sizeof(num), id.num);
			id.str = num;
		}
	}
	if (set_partition(r, d, line, len, &e) < 0) {
		msg_bad(&r->bad, BAD_FIELD, file, lineno, "--partition: %s", e.msg);
		return EXIT_DATA;
	}
	rc = win_event(r->en, &t, o->dedupe ? id.str : NULL, o->dedupe ? id.len : 0, d, line,
	    len, &late, &e);
	if (late && r->late_out) {
		fwrite(line, 1, len, r->late_out);
		fputc('\n', r->late_out);
	}
	if (rc < 0) {
		msg_record(file, lineno, "%s", e.msg);
		return EXIT_DATA;
	}
	if (rc == WIN_OVER_GROUPS) {
		struct win_counts c;

		win_counts(r->en, &c);
		if (c.over_groups == 1)
			msg_record(file, lineno, "more than %ld groups (--max-groups): events of new "
			    "groups are left out from here on", o->w.max_groups);
		return EXIT_DATA;
	}
	return EXIT_OK;
}

/*
 * A WITH step's reader, when the input is quiet: its watermark moves on to
 * the step's.  The step's rows yet to come are no earlier than that (each
 * is timed at the end of a window not yet complete), so none of them can
 * be late for the reader; moving the reader by the wall time instead would
 * put it ahead of its step, and its time to the step's watermark would
 * hold it back by its --max-delay once more.
 */
static void
follow_step(struct run *c)
{
	struct win_gauges step, g;

	win_gauges(c->src->en, &step);
	win_gauges(c->en, &g);
	if (!step.have_mark || !g.have_mark)
		return;		/* no rows yet: no window of the reader is open */
	if (step.mark > g.mark)
		win_idle(c->en, step.mark - g.mark);
}

/*
 * --idle-timeout: wait for input at most the timeout; when none came, move
 * event time on by the wall time since the last line and write the windows
 * that are due, so a quiet stream still closes them.  True when it waited
 * in vain or a signal came (the caller looks again), false when input is
 * there.
 */
static bool
idle_wait(struct run *r, const struct ndjson_reader *in)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	int64_t now;

	switch (poll(&pfd, 1, (int)r->o->idle_ms)) {
	case -1:
		return true;	/* a signal: the loop looks at sig_stop before reading */
	case 0:
		break;
	default:
		return false;	/* input, or end of input */
	}
	now = tfmt_now();
	if (now > r->last_arrival) {
		for (struct run *s = r; s != NULL; s = s->stmt)
			if (s->en != NULL && s->src == NULL)
				win_idle(s->en, now - r->last_arrival);
			else if (s->en != NULL)
				follow_step(s);
		r->last_arrival = now;
	}
	return true;
}

/*
 * With partitions, wait for input only until a partition goes idle (or
 * the wait for unseen ones ends), then let the engine act on it, so a
 * quiet partition stops holding rows back even when nothing else comes.
 * True when it waited in vain or a signal came, false when input is there
 * or nothing is due.
 *
 * The engines' clock for idleness is `waited`: the wall time spent here
 * waiting for input, not the wall time (one input, so one clock for all
 * the statements of a job).  A partition is idle when nothing
 * came from it while the input was quiet; time spent working through a
 * backlog, or stopped, starved of CPU or suspended, does not make a
 * partition whose events are already in the input idle (it did: a run
 * over a file stopped for 6 s called 98,878 of 100,000 events late).
 */
static bool
partition_wait(struct run *r, const struct ndjson_reader *in)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	int64_t wake = -1, t0;
	int got;

	for (struct run *s = r; s != NULL; s = s->stmt) {
		int64_t w = s->en != NULL ? win_wake(s->en) : -1;

		if (w >= 0 && (wake < 0 || w < wake))
			wake = w;	/* a job: the engine due first */
	}
	if (wake < 0)
		return false;
	if (wake > waited) {
		t0 = tfmt_now();
		got = poll(&pfd, 1, (int)(wake - waited < 60000 ? wake - waited : 60000));
		waited += tfmt_now() - t0;
		if (got < 0)
			return true;	/* a signal: the loop looks at sig_stop before reading */
		if (got > 0)
			return false;	/* input, or end of input */
	}
	for (struct run *s = r; s != NULL; s = s->stmt)
		if (s->en != NULL && s->src == NULL)
			win_tick(s->en, waited);
		else if (s->en != NULL)
			follow_step(s);
	return true;
}

/* --metrics: the series every run has. */
static void
metrics_start(struct run *r)
{
	const char *k = r->label[0], *v = r->label[1];	/* a job's "into" label */

	r->in = metric_get("csa_events_in_total", NULL);
	r->bytes_in = metric_get("csa_bytes_in_total", NULL);
	r->rows = metric_get("csa_rows_out_total", k, v, NULL);
	r->bytes_out = metric_get("csa_bytes_out_total", k, v, NULL);
	r->adjusted = metric_get("csa_late_events_total", "action", "adjusted", k, v, NULL);
	r->dropped = metric_get("csa_late_events_total", "action", "dropped", k, v, NULL);
	r->open = metric_get("csa_open_windows", k, v, NULL);
	r->lag = metric_get("csa_event_time_lag_seconds", k, v, NULL);
}

/* Before a write: the engine's counts, open windows and event times. */
static void
metrics_refresh_one(struct run *r)
{
	struct win_counts c;
	struct win_gauges g;
	int n;

	if (r->en == NULL)	/* --select: no windows, the counters only */
		return;
	n = win_partitions(r->en);
	win_counts(r->en, &c);
	win_gauges(r->en, &g);
	metric_set(r->adjusted, (double)(c.late - c.dropped));
	metric_set(r->dropped, (double)c.dropped);
	metric_set(r->open, (double)g.open);
	if (g.have_mark)
		metric_set(r->lag, (double)(tfmt_now() - g.mark) / 1000);
	if (n > r->nmark) {
		r->mark = xrealloc(r->mark, sizeof(*r->mark) * (size_t)n);
		memset(r->mark + r->nmark, 0, sizeof(*r->mark) * (size_t)(n - r->nmark));
		r->nmark = n;
	}
	for (int i = 0; i < n; i++) {
		size_t len;
		int64_t mark;
		const char *key = win_partition_mark(r->en, i, &len, &mark);

		if (mark == INT64_MIN)
			continue;
		if (r->mark[i] == NULL) {
			char *k = xstrndup(key, len);

			r->mark[i] = metric_get("csa_watermark_seconds", "partition", k,
			    r->label[0], r->label[1], NULL);
			free(k);
		}
		metric_set(r->mark[i], (double)mark / 1000);
	}
}

/* The same for each statement of a job. */
static void
metrics_refresh(struct run *r)
{
	for (struct run *s = r; s != NULL; s = s->stmt)
		metrics_refresh_one(s);
}

/*
 * --metrics while input is quiet: wait for it only until the next write is
 * due, so that the event-time lag goes on growing in the file when nothing
 * comes.  True when it waited in vain (and wrote) or a signal came (the
 * read would not see that one), false when input is there.
 */
static bool
metrics_wait(struct run *r, const struct ndjson_reader *in)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	int64_t left = cmd_metrics_in();
	int rc = 0;

	if (left < 0)
		return false;
	if (left > 0)
		rc = poll(&pfd, 1, (int)(left < 60000 ? left : 60000));
	if (rc < 0)
		return true;	/* a signal: the loop looks at sig_stop before reading */
	if (rc > 0)
		return false;	/* input, or end of input */
	if (cmd_metrics_due()) {
		metrics_refresh(r);
		cmd_metrics_write();
	}
	return true;
}

/* Whether writing the rows failed, of any statement of a job. */
static bool
out_failed(const struct run *r)
{
	for (; r != NULL; r = r->stmt)
		if (ferror(r->out))
			return true;
	return false;
}

static int
run_input(struct run *r, struct input *in)
{
	const struct options *o = r->o;
	struct input_record rec;
	struct ndjson_reader *rd;
	int rc, status = EXIT_OK;

	r->last_arrival = waited = tfmt_now();
	while (!sig_stop) {
		rd = input_reader(in);
		if (rd != NULL && (r->en || r->stmt) && !ndjson_ready(rd) && partition_wait(r, rd))
			continue;
		if (rd != NULL && o->idle_ms && !ndjson_ready(rd) && idle_wait(r, rd))
			continue;
		/* Only with --metrics: looking for a whole line costs a scan of it. */
		if (rd != NULL && cmd_metrics_on() && !ndjson_ready(rd) && metrics_wait(r, rd))
			continue;
		if ((rc = input_next(in, &rec)) == 0)
			break;
		if (rc < 0)
			continue;	/* said; on with the next file */
		metric_add(r->in, 1);
		metric_add(r->bytes_in, (double)rec.len + 1);
		if (cmd_metrics_due()) {
			metrics_refresh(r);
			cmd_metrics_write();
		}
		if (o->idle_ms || o->state_every)
			r->last_arrival = tfmt_now();
		if (o->state_every && r->last_arrival - r->saved_at >= o->state_every)
			status = msg_worst(status, save_state(r));
		/* A job: each statement takes the event in turn. */
		for (struct run *s = r; s != NULL; s = s->next)
			status = msg_worst(status, (s->o->select ? select_event : process)(s,
			    rec.doc, rec.line, rec.len, rec.file, rec.lineno));
		if (out_failed(r))
			break;
	}
	return msg_worst(status, in->status);
}

/* --select: a row per event, no engine, no state. */
static int
run_select(const struct options *o)
{
	struct run r;
	struct input in;
	int status = EXIT_OK;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.out = stdout;
	pos_init(&r.pos);
	metrics_start(&r);
	if (o->out_path && (status = open_out(&r)) != EXIT_OK)
		return status;
	input_init(&in, o->files, o->nfiles, 0, INPUT_DOC, &r.bad);
	in.stop = &sig_stop;
	status = run_input(&r, &in);
	input_free(&in);
	if (o->out_path && (ferror(r.out) | fclose(r.out)) != 0) {
		msg_warn("%s: write error: %s", o->out_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	free(r.out_buf);
	msg_verbose("%ld events, %ld rows, %ld lines skipped", r.seen, r.selected, r.bad.total);
	status = msg_worst(status, msg_bad_summary(&r.bad, "line", "lines"));
	buf_free(&r.row);
	return status;
}

/*
 * The sink of a WITH step: each row, as the step alone would write it,
 * is an event of the statements that read the step, taken at once (its
 * time is its window_end); messages about it name the step and the row.
 */
static void
step_row(const struct row *w, void *arg)
{
	struct run *r = arg;
	struct err e;

	buf_reset(&r->row);
	row_put(&r->row, w);
	r->nrow++;
	if (json_parse(&r->doc, r->row.p, r->row.len - 1, &e) < 0) {
		msg_bad(&r->bad, BAD_JSON, r->o->into, r->nrow, "%s", e.msg);
		return;
	}
	for (int i = 0; i < r->nreaders; i++) {
		struct run *c = r->readers[i];

		c->status = msg_worst(c->status, (c->o->select ? select_event : process)(c,
		    &r->doc, r->row.p, r->row.len - 1, r->o->into, r->nrow));
	}
}

/* The end of a job's statement: its file closed, its counts said. */
static int
job_end(struct run *r)
{
	const struct options *o = r->o;
	const char *kind = o->step ? "WITH" : "INTO";
	struct win_counts c;
	int status = EXIT_OK;

	if (o->routed && r->out != stdout && (ferror(r->out) | fclose(r->out)) != 0) {
		msg_warn("%s: write error: %s", o->out_path, strerror(errno));
		status = EXIT_IO;
	}
	if (r->en == NULL) {
		msg_verbose("%s [%s]: %ld events, %ld rows, %ld lines skipped", kind, o->into,
		    r->seen, r->selected, r->bad.total);
		return status;
	}
	win_counts(r->en, &c);
	msg_verbose("%s [%s]: %ld events, %ld rows, %ld early rows, %ld late (%ld dropped), "
	    "%ld duplicates, %ld over --max-groups, %ld lines skipped, %d input partitions",
	    kind, o->into, c.events, c.rows, c.early_rows, c.late, c.dropped, c.duplicates,
	    c.over_groups, r->bad.total, win_partitions(r->en));
	win_report_missing(r->en, "--by");
	if (c.over_groups)
		msg_warn("%s [%s]: %ld events of groups past --max-groups %ld were left out",
		    kind, o->into, c.over_groups, o->w.max_groups);
	return status;
}

/*
 * A job of several statements: an engine each (none for the per-event
 * one), all given each event of one pass over the input, in the query's
 * order, each with its own WHERE and TIMESTAMP BY.  The statements that
 * share a stream share its FILE, so their rows stay whole lines in the
 * order they were made.  No state: job_options refused --state.
 */
static int
run_job(const struct options *o)
{
	struct run *rs = xcalloc((size_t)o->njob, sizeof(*rs));
	FILE *shared = NULL, *late = NULL;
	const char *shared_path = NULL;
	struct run *last = NULL;
	struct msg_bad bad = { { 0 }, 0 };
	struct input in;
	int status = EXIT_OK, n;

	for (n = 0; n < o->njob && status == EXIT_OK; n++) {
		struct run *r = &rs[n];
		const struct options *so = &o->job[n];

		r->o = so;
		if (n > 0)
			rs[n - 1].stmt = r;
		r->out = so->routed || shared == NULL ? stdout : shared;
		r->first = true;
		if (so->source < 0) {
			/* Fed by the input: the chain run_input gives each event. */
			if (last != NULL)
				last->next = r;
			last = r;
		} else {
			/* Fed by a step: one stream, in the order the step writes. */
			struct run *st = &rs[so->source];

			st->readers = xrealloc(st->readers, sizeof(*st->readers) *
			    (size_t)(st->nreaders + 1));
			st->readers[st->nreaders++] = r;
			r->src = st;
			r->first = false;
			r->one_stream = true;
		}
		r->label[0] = "into";
		r->label[1] = so->into;
		pos_init(&r->pos);
		if (so->tagged) {
			struct buf b = { 0 };

			buf_addc(&b, '{');
			json_key(&b, "_into");
			json_put_str(&b, so->into, strlen(so->into));
			buf_addc(&b, ',');
			r->tag_len = b.len;
			r->tag = buf_steal(&b);
		}
		metrics_start(r);
		json_doc_init(&r->doc);
		if (!so->select) {
			r->en = win_new(&so->w, &(struct win_sink){ so->step ? step_row : put_row,
			    rows_done, r });
			win_set_partitions(r->en, so->idle_ms, so->partition_count);
		}
		if (so->out_path && !so->step && (so->routed || shared == NULL)) {
			status = open_out(r);
			if (!so->routed && status == EXIT_OK) {
				shared = r->out;
				shared_path = so->out_path;
			}
		}
		if (so->late_path && !so->select && late == NULL &&
		    (late = fopen(so->late_path, "a")) == NULL) {
			msg_warn("%s: %s", so->late_path, strerror(errno));
			status = EXIT_IO;
		}
		r->late_out = so->select || so->source >= 0 ? NULL : late;
	}
	if (status == EXIT_OK) {
		/* Lines are parsed whole: read_fields knows one statement's paths. */
		input_init(&in, o->job[0].files, o->job[0].nfiles, 0, INPUT_DOC, &rs[0].bad);
		in.stop = &sig_stop;
		status = run_input(&rs[0], &in);
		input_free(&in);
		/* End of input: every open window is complete. */
		for (int i = 0; i < n; i++)
			if (rs[i].en != NULL)
				win_advance(rs[i].en, true);
	}
	if (late && fclose(late) != 0) {
		msg_warn("%s: %s", o->job[0].late_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	for (int i = 0; i < n; i++) {
		struct run *r = &rs[i];

		metrics_refresh_one(r);	/* for the last write, at exit */
		status = msg_worst(status, msg_worst(r->status, job_end(r)));
		bad.total += r->bad.total;
		for (int k = 0; k < BAD_NKINDS; k++)
			bad.n[k] += r->bad.n[k];
		win_free(r->en);
		buf_free(&r->row);
		json_doc_free(&r->doc);
		free(r->readers);
		free(r->mark);
		free(r->tag);
	}
	if (shared && (ferror(shared) | fclose(shared)) != 0) {
		msg_warn("%s: write error: %s", shared_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	for (int i = 0; i < n; i++)	/* only now: shared is written from one of them */
		free(rs[i].out_buf);
	free(rs);
	return msg_worst(status, msg_bad_summary(&bad, "line", "lines"));
}

/*
 * When every field the query takes is a plain path, lines are read
 * On-Demand (input_fields): those values taken, every other value checked
 * on the way, so the same faults are named as when a line is parsed
 * whole, sooner.  --lazy skips the other values unchecked, unless a line
 * goes out whole (--late-output): a fault inside a member the query never
 * reads then goes unseen, so that is asked for, not the default.
 */
static void
read_fields(const struct options *o, struct input *in)
{
	const struct expr *fixed[] = { o->time, o->where, o->dedupe, o->partition, o->eh_part,
		o->eh_seq };
	int nx = (int)(sizeof(fixed) / sizeof(fixed[0])), n = nx + o->w.nby + o->w.aggs.n;
	const struct expr **x = xmalloc(sizeof(*x) * (size_t)n);

	for (int i = 0; i < n; i++)
		x[i] = i < nx ? fixed[i] : i < nx + o->w.nby ? o->w.by[i - nx].x :
		    o->w.aggs.v[i - nx - o->w.nby].arg;
	input_expr_fields(in, x, n, o->lazy && o->late_path == NULL ? JSON_FAST_SKIP_REST :
	    JSON_FAST_CHECK_REST);
	free(x);
}

static int
run(const struct options *o)
{
	struct run r;
	struct win_counts c;
	struct input in;
	int status = EXIT_OK;

	if (o->njob)
		return run_job(o);
	if (o->select)
		return run_select(o);
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.out = stdout;
	pos_init(&r.pos);
	r.en = win_new(&o->w, &(struct win_sink){ put_row, rows_done, &r });
	win_set_partitions(r.en, o->idle_ms, o->partition_count);
	r.saved_at = tfmt_now();
	r.first = true;
	metrics_start(&r);
	if ((o->state_path && (status = load_state(&r)) != EXIT_OK) ||
	    (o->out_path && (status = open_out(&r)) != EXIT_OK)) {
		win_free(r.en);
		return status;
	}
	if (o->late_path && (r.late_out = fopen(o->late_path, "a")) == NULL) {
		msg_warn("%s: %s", o->late_path, strerror(errno));
		if (r.out != stdout)
			fclose(r.out);	/* nothing was written to it */
		free(r.out_buf);
		win_free(r.en);
		return EXIT_IO;
	}
	input_init(&in, o->files, o->nfiles, 0, INPUT_DOC, &r.bad);
	in.stop = &sig_stop;
	read_fields(o, &in);
	status = msg_worst(status, run_input(&r, &in));
	input_free(&in);
	/*
	 * End of input: every open window is complete.  With --state, a signal
	 * (or --keep-open) keeps them open in the state for the next run.
	 */
	if (!(o->state_path && (sig_stop || o->keep_open)))
		win_advance(r.en, true);
	else
		fflush(r.out);
	if (o->state_path)
		status = msg_worst(status, save_state(&r));
	if (o->out_path && (ferror(r.out) | fclose(r.out)) != 0) {
		msg_warn("%s: write error: %s", o->out_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	free(r.out_buf);
	if (r.late_out && fclose(r.late_out) != 0) {
		msg_warn("%s: %s", o->late_path, strerror(errno));
		status = msg_worst(status, EXIT_IO);
	}
	metrics_refresh(&r);	/* for the last write, at exit */
	free(r.mark);
	win_counts(r.en, &c);
	msg_verbose("%ld events, %ld rows, %ld early rows, %ld late (%ld dropped), "
	    "%ld duplicates, %ld over --max-groups, %ld lines skipped, %d input partitions, "
	    "%ld taken before the state was saved",
	    c.events, c.rows, c.early_rows, c.late, c.dropped, c.duplicates, c.over_groups,
	    r.bad.total, win_partitions(r.en), r.already);
	status = msg_worst(status, msg_bad_summary(&r.bad, "line", "lines"));
	win_report_missing(r.en, "--by");
	if (c.over_groups)
		msg_warn("%ld events of groups past --max-groups %ld were left out", c.over_groups,
		    o->w.max_groups);
	win_free(r.en);
	buf_free(&r.row);
	return status;
}

static void
options_free(struct options *o)
{
	win_spec_free(&o->w);
	expr_free(o->time);
	expr_free(o->where);
	expr_free(o->dedupe);
	expr_free(o->partition);
	expr_free(o->eh_part);
	expr_free(o->eh_seq);
	for (int i = 0; i < o->njob; i++)
		options_free(&o->job[i]);
	free(o->job);
	free(o->into);
	for (int i = 0; o->query_argv && o->query_argv[i]; i++)
		free(o->query_argv[i]);
	free(o->query_argv);
	for (int i = 0; i < o->nsel; i++) {
		free(o->sel[i].name);
		expr_free(o->sel[i].x);
		free(o->sel[i].konst);
	}
	free(o->sel);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_CATCH_STOP | CMD_BLOCK_STDOUT)
