/* csa-merge: the serving layer: batch and speed views merged into one exact answer. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "json.h"
#include "jsonfast.h"
#include "msg.h"
#include "ndjson.h"
#include "opt.h"
#include "strmap.h"
#include "timefmt.h"

static const char usage_line[] =
    "Usage: csa-merge [--batch PATH] [--speed PATH] [--view NAME] [--cutoff TIME]\n"
    "                 [--overlap D] [--by FIELDS] [--every D | --total] [--from TIME]\n"
    "                 [--to TIME] [--anomalies SIGMA] [--table] [-v]\n";

static const char help_text[] =
    "Merge the rows of a batch view and of a speed view into one answer: batch\n"
    "rows up to the cutoff, speed rows after it, recombined exactly from their\n"
    "mergeable state.\n"
    "\n"
    "      --anomalies SIGMA  speed windows whose count is over the batch mean\n"
    "                         plus SIGMA standard deviations of the same group\n"
    "  -b, --batch PATH       a batch view file, or a directory of them\n"
    "      --by FIELDS        group by these group columns only (comma-separated)\n"
    "      --cutoff TIME      batch up to TIME, speed after (or -6h: before now;\n"
    "                         default: the latest window end of the batch view)\n"
    "  -e, --every D          re-aggregate into windows of D (e.g. 1h)\n"
    "      --from TIME        only windows starting at or after TIME\n"
    "  -h, --help             show this help and exit\n"
    "      --overlap D        before the cutoff, speed windows the batch view lacks\n"
    "                         are kept for D (default 15m)\n"
    "  -s, --speed PATH       a speed view file, or - for stdin\n"
    "      --table            an aligned table by total events, not NDJSON\n"
    "      --to TIME          only windows ending at or before TIME\n"
    "      --total            one row per group over the whole time\n"
    "  -v, --verbose          report counts and left-out aggregates on stderr\n"
    "  -V, --version          show versions and exit\n"
    "      --view NAME        only batch rows of this view (hourly, daily...)\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage or views that do not\n"
    "fit together, 3 local I/O.  See csa-merge(1).\n";

enum { LAYER_BATCH, LAYER_SPEED, NLAYERS };
enum { MAX_REPORTED = 10, MAX_KINDS = 64 };
enum { FROM_BATCH = 1, FROM_SPEED = 2 };

static const char *const layer_names[NLAYERS] = { "batch", "realtime" };

struct options {
	const char *path[NLAYERS];
	const char *view;
	bool have_cutoff, have_from, have_to, total, table, anomalies;
	int64_t cutoff, overlap, every, from, to;
	double sigma;
	char **by;		/* --by column names; NULL: all group columns */
	int nby;
};

/* A speed row kept until the cutoff is known (rows of one window and group merged). */
struct cell {
	int64_t start, end;
	char *cols;		/* every group column: "region":"alaska" */
	char *bcols;		/* the --by columns */
	bool early, session;
	struct agg_state *st;
	uint64_t *ids;		/* the _id of each final row merged in */
	size_t nids;
};

/* What the batch view holds for one group: its windows, for the overlap
 * rule, and its counts, for the anomaly baseline. */
struct history {
	int64_t *span;		/* start, end pairs */
	size_t n, cap;
	double sum, sum2;	/* of the count column */
};

/* A member of an aggregate's state definition as the first row has it:
 * JSON_FAST_MISSING, _STRING (text as written) or _NUMBER. */
struct expect {
	enum json_fast_type type;
	char *text;
	size_t len;
	double num;
};

/* The members of a state that define its aggregate. */
enum { NDEFS = 4 };
static const struct {
	const char *name;
	size_t len;
} defs[NDEFS] = { { "f", 1 }, { "x", 1 }, { "op", 2 }, { "v", 1 } };

/* The members of a row that say what it is, by their names. */
enum { ROLE_NONE, ROLE_VIEW, ROLE_EARLY, ROLE_STATE, ROLE_END, ROLE_TYPE, ROLE_START, ROLE_ID,
	NROLES };

/* A row as the rest of the reading needs it (its group columns and
 * states are in run.cols, run.bcols and run.st). */
struct row {
	int64_t start, end;
	bool early, session;
	bool have_id;
	uint64_t id;		/* _id: the same window, group and events */
};

/* One output row being built. */
struct bucket {
	int64_t start, end;
	const char *cols;	/* the --by columns, as kept in run.groups */
	int group;		/* their number there; after reading, their rank */
	int from;		/* FROM_BATCH | FROM_SPEED */
	bool early;
	struct agg_state st[];	/* the output aggregates */
};

/*
 * The buckets: with --every 1h a million batch rows are a million buckets,
 * so they are carved from large blocks and found through a table keyed by
 * window and group number, not by a copied string key each.
 */
struct bucket_table {
	struct bucket **slot;
	size_t cap, count;	/* cap: a power of two, or 0 */
	char **block;
	size_t nblock;
	char *next;		/* where the next bucket goes in the last block */
	size_t room;		/* bytes left there */
	size_t size;		/* of one bucket with its states */
	bool by_group;		/* --total: one bucket a group, its span grows */
};

struct layer {
	int id;
	struct agg_list aggs;	/* as the first row's _state describes them */
	struct buf sig;		/* the first row's aggregate definitions */
	struct buf gcols;	/* the first row's group column names, comma-separated */
	char *first;		/* file:line of the first row */
	char *view;		/* the view its rows name, if any */
	int count_col;		/* the first count aggregate, or -1 */
	bool overlapping;	/* hopping or sliding rows */
	int64_t lo, hi, wlen;	/* earliest start, latest end, window length */
	int64_t mark;		/* latest end of any row: the default cutoff */
	bool have_mark;
	bool mixed_len;
	long rows, rows_used;
	/* The kinds of the members of the view's first row, by place. */
	char *kname[MAX_KINDS];
	size_t klen[MAX_KINDS];
	int kind[MAX_KINDS], nkinds;
	/* For rows read by simdjson (fast_row): the role of each place, and
	 * the definitions each aggregate's state must repeat. */
	bool fast;
	int role[MAX_KINDS];
	struct expect *expect;	/* 4 an aggregate: f, x, op, v */
};

struct run {
	const struct options *o;
	struct layer l[NLAYERS];
	int *map[NLAYERS];	/* output aggregate i is the layer's map[layer][i] */
	struct agg_list *out;	/* the aggregates of the answer */
	struct strmap cells;	/* speed: start,end,cols -> struct cell */
	struct strmap hist;	/* batch: cols -> struct history */
	struct strmap groups;	/* --by columns -> their number (a) */
	struct bucket_table buckets;
	int64_t cutoff;
	bool have_cutoff;
	long bad;
	long fast_rows;		/* read by fast_row */
	long repeats;		/* speed rows whose _id was merged already */
	int status;
	struct json_fast *fast;	/* simdjson, for rows like the first; NULL: jsmn only */
	/* scratch */
	struct json_doc doc;
	struct buf key, cols, bcols, names, sig;
	struct agg_state *st;
	int nst;
};

static int common_aggs(struct run *r);
static int read_tree(struct run *r, struct layer *l, const char *path);
static int check_by(const struct run *r);

/* Why a run stopped early: views that do not fit together are a usage
 * fault (exit 2), and nothing is written. */
static int
misfit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
misfit(const char *fmt, ...)
{
	char text[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msg_warn("%s", text);
	return -2;
}

static int
bad_line(struct run *r, const char *file, unsigned long lineno, const char *what)
{
	r->status = msg_worst(r->status, EXIT_DATA);
	msg_record_counted(&r->bad, MAX_REPORTED, file, lineno, "%s, skipped", what);
	return 0;
}

static int
parse_time(const char *s, int64_t *ms, bool relative)
{
	struct err e;
	int64_t d;

	if (relative && s[0] == '-' && tfmt_duration(s + 1, &d, &e) == 0) {
		*ms = tfmt_now() - d;
		return 0;
	}
	return tfmt_parse(s, strlen(s), ms, &e);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_ANOMALIES = 256, OPT_BY, OPT_CUTOFF, OPT_FROM, OPT_OVERLAP, OPT_TABLE, OPT_TO,
		OPT_TOTAL, OPT_VIEW
	};
	static const struct option longopts[] = {
		{ "anomalies", required_argument, NULL, OPT_ANOMALIES },
		{ "batch", required_argument, NULL, 'b' },
		{ "by", required_argument, NULL, OPT_BY },
		{ "cutoff", required_argument, NULL, OPT_CUTOFF },
		{ "every", required_argument, NULL, 'e' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "help", no_argument, NULL, 'h' },
		{ "overlap", required_argument, NULL, OPT_OVERLAP },
		{ "speed", required_argument, NULL, 's' },
		{ "table", no_argument, NULL, OPT_TABLE },
		{ "to", required_argument, NULL, OPT_TO },
		{ "total", no_argument, NULL, OPT_TOTAL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "view", required_argument, NULL, OPT_VIEW },
		{ NULL, 0, NULL, 0 }
	};
	static const char shortopts[] = "b:e:hs:vV";
	int c, verbose = 0;

	memset(o, 0, sizeof(*o));
	o->overlap = 15 * 60 * 1000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->path[LAYER_BATCH] = optarg;
			break;
		case 'e':
			if (opt_duration("every", optarg, 1, OPT_NO_MAX, &o->every) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			return msg_help(usage_line, help_text);
		case 's':
			o->path[LAYER_SPEED] = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			return opt_version("jsmn\n", NULL);
		case OPT_ANOMALIES:
			o->anomalies = true;
			if (opt_number("anomalies", optarg, 0, 1e6, &o->sigma) < 0)
				return EXIT_USAGE;
			break;
		case OPT_BY:
			for (int i = 0; i < o->nby; i++)
				free(o->by[i]);
			free(o->by);
			o->by = NULL;
			o->nby = *optarg ? agg_split(optarg, &o->by) : 0;
			for (int i = 0; i < o->nby; i++)
				if (!*o->by[i])
					return msg_usage("--by: an empty column name in '%s'", optarg);
			if (o->by == NULL)
				o->by = xcalloc(1, sizeof(*o->by));
			break;
		case OPT_CUTOFF:
			o->have_cutoff = true;
			if (parse_time(optarg, &o->cutoff, true) < 0)
				return msg_usage("--cutoff: '%s' is not a time (or -D before now)", optarg);
			break;
		case OPT_FROM:
			o->have_from = true;
			if (parse_time(optarg, &o->from, true) < 0)
				return msg_usage("--from: '%s' is not a time", optarg);
			break;
		case OPT_OVERLAP:
			if (opt_duration("overlap", optarg, 0, OPT_NO_MAX, &o->overlap) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TABLE:
			o->table = true;
			break;
		case OPT_TO:
			o->have_to = true;
			if (parse_time(optarg, &o->to, true) < 0)
				return msg_usage("--to: '%s' is not a time", optarg);
			break;
		case OPT_TOTAL:
			o->total = true;
			break;
		case OPT_VIEW:
			o->view = optarg;
			break;
		default:
			return opt_fault(argv, shortopts, longopts);
		}
	}
	if (optind < argc)
		return msg_usage("unexpected argument '%s': name views with --batch and --speed",
		    argv[optind]);
	if (!o->path[LAYER_BATCH] && !o->path[LAYER_SPEED])
		return msg_usage("nothing to merge: give --batch PATH, --speed PATH or both");
	if (o->total && o->every)
		return msg_usage("--every and --total: give one");
	if (o->anomalies && (!o->path[LAYER_BATCH] || !o->path[LAYER_SPEED]))
		return msg_usage("--anomalies: needs --batch (the baseline) and --speed");
	if (o->anomalies && (o->total || o->every || o->by))
		return msg_usage("--anomalies: compares speed windows as they are; "
		    "no --by, --every or --total");
	msg_set_verbose(verbose);
	return OPT_RUN;
}

/* --- reading rows ------------------------------------------------------ */

static bool
is_meta(const struct json_doc *d, int key)
{
	static const char *const meta[] = {
		"window_type", "window_start", "window_end", "view", "early", "_state", "_id",
		"data_freshness", "sources", "partial", "is_anomaly", "baseline_mean",
		"baseline_stddev", "threshold",
	};

	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		if (json_string_eq(d, key, meta[i]))
			return true;
	return false;
}

/* A window bound (token t): an RFC 3339 string. */
static int
row_time(const struct json_doc *d, int t, int64_t *ms)
{
	size_t len;
	const char *s;
	struct err e;

	if (json_type(d, t) != JSON_STRING)
		return -1;
	s = json_raw(d, t, &len);
	return tfmt_parse(s, len, ms, &e);
}

/* The raw text of member key of object t, or "". */
static void
put_raw(struct buf *b, const struct json_doc *d, int t, const char *key)
{
	size_t len = 0;
	const char *p = json_raw(d, json_member(d, t, key, strlen(key)), &len);

	if (p)
		buf_add(b, p, len);
}

/* A definition member of a state, for state_sig: a string or other
 * token as written, a number as JSON writes it (so 5 and 5.0 are one
 * threshold, as they are to fast_row), nothing when missing. */
static void
put_def(struct buf *b, const struct json_doc *d, int t, const char *key)
{
	int v = json_member(d, t, key, strlen(key));
	char num[40];
	double x;

	if (json_number(d, v, &x) == 0)
		buf_add(b, num, (size_t)json_fmt_num(num, sizeof(num), x));
	else
		put_raw(b, d, t, key);
}

/* The aggregate definitions of a _state object as comparable, readable
 * text: "event_count=count(), avg_magnitude=avg(magnitude), ...". */
static void
state_sig(const struct json_doc *d, int state, struct buf *b)
{
	int n = json_size(d, state), key = state + 1;
	size_t len;

	buf_reset(b);
	buf_add(b, "", 0);	/* a string even when there is no aggregate */
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		const char *name = json_raw(d, key, &len);

		if (i)
			buf_adds(b, ", ");
		buf_add(b, name, len);
		buf_addc(b, '=');
		put_def(b, d, key + 1, "f");
		buf_addc(b, '(');
		put_def(b, d, key + 1, "x");
		if (json_member(d, key + 1, "op", 2) >= 0) {
			buf_addc(b, ' ');
			put_def(b, d, key + 1, "op");
			buf_addc(b, ' ');
			put_def(b, d, key + 1, "v");
		}
		buf_addc(b, ')');
	}
}

/* Whether the row's state, as written, begins each member with the text
 * the first row's aggregates render to: true for every row our commands
 * write after the first, so the signature is built only for the others. */
static bool
same_state(const struct json_doc *d, int state, const struct agg_list *l)
{
	int key = state + 1;

	if (json_size(d, state) != l->n)
		return false;
	for (int i = 0; i < l->n; i++, key = json_skip(d, key + 1)) {
		const char *p = d->text + d->tok[key].start - 1;	/* the opening quote */
		size_t n = strlen(l->v[i].state_json);

		if ((size_t)(d->text + d->len - p) < n || memcmp(p, l->v[i].state_json, n) != 0)
			return false;
	}
	return true;
}

static bool
wanted_by(const struct options *o, const struct json_doc *d, int key)
{
	if (o->by == NULL)
		return true;
	for (int i = 0; i < o->nby; i++)
		if (json_string_eq(d, key, o->by[i]))
			return true;
	return false;
}

/* What a top-level member of a row is. */
enum { COL_GROUP, COL_SKIP, COL_BY };

/* The kind of member key of the row, remembered by its place: rows of one
 * view have their members in the same order, so the lookups are done once
 * a place, and again only when a row differs there. */
static int
column_kind(struct run *r, struct layer *l, int i, int key, int state)
{
	const struct json_doc *d = &r->doc;
	size_t klen;
	const char *k = json_raw(d, key, &klen);
	int kind;

	if (i < l->nkinds && l->klen[i] == klen && memcmp(l->kname[i], k, klen) == 0)
		return l->kind[i];
	if (is_meta(d, key) || json_member(d, state, k, klen) >= 0)
		kind = COL_SKIP;
	else
		kind = wanted_by(r->o, d, key) ? COL_BY : COL_GROUP;
	if (i == l->nkinds && i < MAX_KINDS) {
		l->kname[i] = xstrndup(k, klen);
		l->klen[i] = klen;
		l->kind[i] = kind;
		l->nkinds++;
	}
	return kind;
}

/* The group columns of the row: all of them into r->cols, the --by ones
 * into r->bcols, their names into r->names. */
static void
group_columns(struct run *r, struct layer *l, int state)
{
	const struct json_doc *d = &r->doc;
	int n = json_size(d, 0), key = 1;

	buf_reset(&r->cols);
	buf_reset(&r->bcols);
	buf_reset(&r->names);
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		int kind = column_kind(r, l, i, key, state);
		size_t klen;
		const char *k;

		if (kind == COL_SKIP)
			continue;
		k = json_raw(d, key, &klen);
		json_sep(&r->cols);
		json_put_token(&r->cols, d, key);
		buf_addc(&r->cols, ':');
		json_put_token(&r->cols, d, key + 1);
		if (kind == COL_BY) {
			json_sep(&r->bcols);
			json_put_token(&r->bcols, d, key);
			buf_addc(&r->bcols, ':');
			json_put_token(&r->bcols, d, key + 1);
		}
		if (r->names.len)
			buf_addc(&r->names, ',');
		buf_add(&r->names, k, klen);
	}
}

static int
role_of(const char *k, size_t klen)
{
	static const struct {
		const char *name;
		size_t len;
	} role[NROLES] = {
		[ROLE_VIEW] = { "view", 4 }, [ROLE_EARLY] = { "early", 5 },
		[ROLE_STATE] = { "_state", 6 }, [ROLE_END] = { "window_end", 10 },
		[ROLE_TYPE] = { "window_type", 11 }, [ROLE_START] = { "window_start", 12 },
		[ROLE_ID] = { "_id", 3 },
	};

	for (int j = ROLE_NONE + 1; j < NROLES; j++)
		if (klen == role[j].len && memcmp(k, role[j].name, klen) == 0)
			return j;
	return ROLE_NONE;
}

/* What fast_row needs from the first row (state: its _state token): the
 * role of each place, the first of a name taking it, and each aggregate's
 * definition members.  Definitions written with escapes, or with values
 * other than strings and numbers, leave every row to take_row. */
static void
fast_setup(struct run *r, struct layer *l, int state)
{
	const struct json_doc *d = &r->doc;
	bool seen[NROLES] = { false };
	int key = state + 1;

	for (int k = 0; k < l->nkinds; k++) {
		int role = role_of(l->kname[k], l->klen[k]);

		l->role[k] = seen[role] ? ROLE_NONE : role;
		seen[role] = true;
	}
	l->fast = r->fast != NULL && l->nkinds < MAX_KINDS;
	l->expect = xcalloc((size_t)l->aggs.n * NDEFS, sizeof(*l->expect));
	for (int i = 0; i < l->aggs.n; i++, key = json_skip(d, key + 1))
		for (int j = 0; j < NDEFS; j++) {
			struct expect *x = &l->expect[i * NDEFS + j];
			int t = json_member(d, key + 1, defs[j].name, defs[j].len);

			if (t < 0) {
				x->type = JSON_FAST_MISSING;
			} else if (json_number(d, t, &x->num) == 0) {
				x->type = JSON_FAST_NUMBER;
			} else if (json_type(d, t) == JSON_STRING && json_string_plain(d, t)) {
				x->type = JSON_FAST_STRING;
				x->text = json_strdup(d, t);
				x->len = strlen(x->text);
			} else {
				l->fast = false;
			}
		}
}

/* The first row of a layer sets what every other row must match. */
static int
first_row(struct run *r, struct layer *l, int state, const char *where)
{
	struct err e;

	if (agg_state_specs(&l->aggs, &r->doc, state, &e) < 0)
		return misfit("%s: %s", where, e.msg);
	buf_add(&l->sig, r->sig.p, r->sig.len);
	buf_add(&l->gcols, r->names.p ? r->names.p : "", r->names.len);
	l->first = xstrdup(where);
	l->count_col = -1;
	for (int i = 0; i < l->aggs.n && l->count_col < 0; i++)
		if (l->aggs.v[i].fn == AGG_COUNT)
			l->count_col = i;
	if (r->nst < l->aggs.n) {
		r->nst = l->aggs.n;
		r->st = xrealloc(r->st, sizeof(*r->st) * (size_t)r->nst);
	}
	fast_setup(r, l, state);
	return 0;
}

static uint64_t
bucket_hash(int64_t start, int64_t end, int group)
{
	uint64_t h = (uint64_t)start * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)end * 0xc2b2ae3d27d4eb4fULL + (uint64_t)group;
	return h ^ h >> 29;
}

/* The slot of the bucket for start, end, group, or the empty one for it. */
static struct bucket **
bucket_slot(const struct bucket_table *t, int64_t start, int64_t end, int group)
{
	size_t mask = t->cap - 1;

	if (t->by_group)
		start = end = 0;
	for (size_t i = bucket_hash(start, end, group) & mask;; i = (i + 1) & mask) {
		struct bucket *b = t->slot[i];

		if (b == NULL || (b->group == group &&
		    (t->by_group || (b->start == start && b->end == end))))
			return &t->slot[i];
	}
}

static void
bucket_grow(struct bucket_table *t)
{
	struct bucket **old = t->slot;
	size_t oldcap = t->cap;

	t->cap = oldcap ? oldcap * 2 : 1024;
	t->slot = xcalloc(t->cap, sizeof(*t->slot));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			*bucket_slot(t, old[i]->start, old[i]->end, old[i]->group) = old[i];
	free(old);
}

/* A new zeroed bucket from the blocks. */
static struct bucket *
bucket_new(struct bucket_table *t)
{
	enum { BLOCK = 1 << 20 };
	struct bucket *b;

	if (t->room < t->size) {
		size_t n = t->size > BLOCK ? t->size : BLOCK;

		t->block = xrealloc(t->block, sizeof(*t->block) * (t->nblock + 1));
		t->next = t->block[t->nblock++] = xcalloc(1, n);
		t->room = n;
	}
	b = (struct bucket *)t->next;
	t->next += t->size;
	t->room -= t->size;
	return b;
}

static void
bucket_table_free(struct bucket_table *t)
{
	for (size_t i = 0; i < t->nblock; i++)
		free(t->block[i]);
	free(t->block);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static struct bucket *
bucket_at(struct run *r, int64_t start, int64_t end, const char *bcols, size_t blen)
{
	struct bucket_table *t = &r->buckets;
	struct strmap_entry *ge;
	struct bucket **slot, *b;
	bool added;
	int group;

	ge = strmap_put(&r->groups, bcols, blen, &added);
	if (added)
		ge->a = (int64_t)r->groups.count - 1;
	group = (int)ge->a;
	if ((t->count + 1) * 2 > t->cap)
		bucket_grow(t);
	slot = bucket_slot(t, start, end, group);
	if (*slot == NULL) {
		if (t->size == 0) {
			t->size = sizeof(*b) + sizeof(struct agg_state) * (size_t)r->out->n;
			t->size = (t->size + 15) / 16 * 16;
		}
		*slot = b = bucket_new(t);
		t->count++;
		b->start = start;
		b->end = end;
		b->cols = ge->key;
		b->group = group;
	}
	b = *slot;
	if (t->by_group) {
		b->start = start < b->start ? start : b->start;
		b->end = end > b->end ? end : b->end;
	}
	return b;
}

/* Where a row's window goes: its own window, a bucket of --every, or the
 * whole time.  -2 when it does not fit in one bucket. */
static int
bucket_span(struct run *r, int64_t *start, int64_t *end, bool session)
{
	int64_t d = r->o->every, b;

	if (d == 0)
		return 0;
	b = *start >= 0 ? *start / d * d : -((-*start + d - 1) / d) * d;
	if (*end > b + d && !session) {
		char s[32], t[32];

		tfmt_format(*start, s);
		tfmt_format(*end, t);
		return misfit("--every: the window %s to %s is longer than a bucket, or "
		    "crosses one; use a larger --every", s, t);
	}
	*start = b;
	*end = b + d;
	return 0;
}

/* Add a layer's row (its states in r->st) to its bucket. */
static int
add_to_bucket(struct run *r, int layer, int64_t start, int64_t end, bool session, bool early,
    const char *bcols, size_t blen, const struct agg_state *st)
{
	struct bucket *b;

	if (bucket_span(r, &start, &end, session) < 0)
		return -2;
	b = bucket_at(r, start, end, bcols, blen);
	b->from |= layer == LAYER_BATCH ? FROM_BATCH : FROM_SPEED;
	b->early = b->early || early;
	for (int i = 0; i < r->out->n; i++)
		agg_merge(&r->out->v[i], &b->st[i], &st[r->map[layer][i]]);
	r->l[layer].rows_used++;
	return 0;
}

static void
note_history(struct run *r, struct layer *l, int64_t start, int64_t end)
{
	struct strmap_entry *he;
	struct history *h;
	bool added;

	he = strmap_put(&r->hist, r->cols.p ? r->cols.p : "", r->cols.len, &added);
	if (added)
		he->p = xcalloc(1, sizeof(struct history));
	h = he->p;
	if (h->n + 2 > h->cap) {
		h->cap = h->cap ? h->cap * 2 : 8;
		h->span = xrealloc(h->span, sizeof(*h->span) * h->cap);
	}
	h->span[h->n++] = start;
	h->span[h->n++] = end;
	if (l->count_col >= 0 && (!r->have_cutoff || end <= r->cutoff)) {
		double c = (double)r->st[l->count_col].n;

		h->sum += c;
		h->sum2 += c * c;
	}
}

/* Whether cell c has merged a final row with this _id. */
static bool
cell_has(const struct cell *c, uint64_t id)
{
	for (size_t i = 0; i < c->nids; i++)
		if (c->ids[i] == id)
			return true;
	return false;
}

/* Remember that cell c holds the final row w (its _id, when it has one). */
static void
cell_note(struct cell *c, const struct row *w)
{
	if (!w->have_id)
		return;
	c->ids = xrealloc(c->ids, sizeof(*c->ids) * (c->nids + 1));
	c->ids[c->nids++] = w->id;
}

/*
 * Keep a speed row until the cutoff is known.  A final row replaces early
 * ones of its window and group; final rows of one window and group are
 * merged (parts of it from several partitions, or from before and after a
 * handoff), except a row whose _id was merged already: the same events
 * again (a row written twice after a crash or a redelivery) count once.
 */
static void
keep_cell(struct run *r, struct layer *l, const struct row *w)
{
	struct strmap_entry *ce;
	struct cell *c;
	bool added;
	int64_t start = w->start, end = w->end;
	bool early = w->early;

	buf_reset(&r->key);
	buf_add(&r->key, &start, sizeof(start));
	buf_add(&r->key, &end, sizeof(end));
	buf_add(&r->key, r->cols.p ? r->cols.p : "", r->cols.len);
	ce = strmap_put(&r->cells, r->key.p, r->key.len, &added);
	if (added) {
		ce->p = c = xcalloc(1, sizeof(*c));
		c->start = start;
		c->end = end;
		c->session = w->session;
		c->cols = xstrdup(r->cols.p ? r->cols.p : "");
		c->bcols = xstrdup(r->bcols.p ? r->bcols.p : "");
		c->st = xcalloc((size_t)l->aggs.n, sizeof(*c->st));
		c->early = early;
		memcpy(c->st, r->st, sizeof(*c->st) * (size_t)l->aggs.n);
		if (!early)
			cell_note(c, w);
		return;
	}
	c = ce->p;
	if (early && !c->early)
		return;
	if (c->early) {
		c->early = early;
		memcpy(c->st, r->st, sizeof(*c->st) * (size_t)l->aggs.n);
		if (!early)
			cell_note(c, w);
		return;
	}
	if (w->have_id && cell_has(c, w->id)) {
		r->repeats++;
		return;
	}
	cell_note(c, w);
	for (int i = 0; i < l->aggs.n; i++)
		agg_merge(&l->aggs.v[i], &c->st[i], &r->st[i]);
}

/* The tokens of the values of a row's role members (meta[ROLE_...]), or
 * -1; the first member of a name counts, as json_member finds it. */
static void
row_meta(const struct json_doc *d, int meta[NROLES])
{
	int n = json_size(d, 0), key = 1;

	for (int j = 0; j < NROLES; j++)
		meta[j] = -1;
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		size_t klen;
		const char *k = json_raw(d, key, &klen);
		int role = role_of(k, klen);

		if (role != ROLE_NONE && meta[role] < 0)
			meta[role] = key + 1;
	}
}

/* A row's _id (16 hex digits, as csa-window writes it) into *id. */
static bool
row_id(const char *s, size_t len, uint64_t *id)
{
	*id = 0;
	if (len != 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;

		if (v < 0)
			return false;
		*id = *id << 4 | (uint64_t)v;
	}
	return true;
}

/* "file:line" of a row, for a message about it (one at a time). */
static const char *
row_at(const char *file, unsigned long lineno)
{
	static char text[600];

	snprintf(text, sizeof(text), "%s:%lu", file, lineno);
	return text;
}

/* A row read by jsmn, whatever its shape: 1 read into *w, 0 left out
 * (--view) or skipped as bad, -2 when it does not fit the others. */
static int
read_row(struct run *r, struct layer *l, const char *file, unsigned long lineno,
    const char *line, size_t len, struct row *w)
{
	const struct options *o = r->o;
	struct json_doc *d = &r->doc;
	int m[NROLES], state, t, key;
	struct err e;

	if (json_parse(d, line, len, &e) < 0)
		return bad_line(r, file, lineno, e.msg);
	if (json_type(d, 0) != JSON_OBJECT)
		return bad_line(r, file, lineno, "not a JSON object");
	row_meta(d, m);
	t = m[ROLE_VIEW];
	if (json_type(d, t) == JSON_STRING) {
		if (o->view && !json_string_eq(d, t, o->view))
			return 0;
		if (l->view == NULL) {
			l->view = json_strdup(d, t);
		} else if (!json_string_eq(d, t, l->view)) {
			char *v = json_strdup(d, t);

			misfit("%s: a row of view '%s' among rows of view '%s': name one with "
			    "--view or give its directory", row_at(file, lineno), v, l->view);
			free(v);
			return -2;
		}
	}
	state = m[ROLE_STATE];
	if (json_type(d, state) != JSON_OBJECT)
		return misfit("%s: a row without \"_state\" cannot be merged exactly (rows of "
		    "csa-window and csa-batch-agg carry it)", row_at(file, lineno));
	if (row_time(d, m[ROLE_START], &w->start) < 0 || row_time(d, m[ROLE_END], &w->end) < 0 ||
	    w->end < w->start)
		return bad_line(r, file, lineno, "no window_start and window_end times");
	w->early = false;
	json_bool(d, m[ROLE_EARLY], &w->early);
	w->have_id = false;
	if (m[ROLE_ID] >= 0) {
		const char *id;
		size_t idlen;

		if (json_type(d, m[ROLE_ID]) != JSON_STRING ||
		    (id = json_raw(d, m[ROLE_ID], &idlen)) == NULL || !row_id(id, idlen, &w->id))
			return bad_line(r, file, lineno, "_id is not 16 hex digits");
		w->have_id = true;
	}
	t = m[ROLE_TYPE];
	w->session = json_string_eq(d, t, "session");
	if (json_string_eq(d, t, "hopping") || json_string_eq(d, t, "sliding"))
		l->overlapping = true;
	group_columns(r, l, state);
	if (l->first == NULL) {
		state_sig(d, state, &r->sig);
		if (first_row(r, l, state, row_at(file, lineno)) < 0 ||
		    (l->id == LAYER_BATCH && common_aggs(r) < 0))
			return -2;
	}
	if (!same_state(d, state, &l->aggs)) {
		state_sig(d, state, &r->sig);
		if (strcmp(r->sig.p, l->sig.p) != 0)
			return misfit("%s: its aggregates (%s) differ from those of %s (%s)",
			    row_at(file, lineno), r->sig.p, l->first, l->sig.p);
	}
	if (strcmp(r->names.p ? r->names.p : "", l->gcols.p ? l->gcols.p : "") != 0)
		return misfit("%s: grouped by (%s), but %s by (%s)", row_at(file, lineno),
		    r->names.p ? r->names.p : "", l->first, l->gcols.p ? l->gcols.p : "");
	key = state + 1;
	for (int i = 0; i < l->aggs.n; i++, key = json_skip(d, key + 1))
		if (agg_state_read(&l->aggs.v[i], d, key + 1, &r->st[i], &e) < 0)
			return bad_line(r, file, lineno, e.msg);
	return 1;
}

/* Whether item x's name is name[0..len). */
static bool
item_named(const struct json_fast_item *x, const char *name, size_t len)
{
	return x->klen == len && memcmp(x->key, name, len) == 0;
}

/* Whether item x (or NULL) is the string s. */
static bool
item_is(const struct json_fast_item *x, const char *s)
{
	return x != NULL && x->v.type == JSON_FAST_STRING && x->v.len == strlen(s) &&
	    memcmp(x->v.str, s, x->v.len) == 0;
}

/* A group column (item x) onto b as json_put_token writes it: only
 * strings and literals, whose text the item keeps. */
static bool
fast_column(struct buf *b, const struct json_fast_item *x)
{
	static const char *const literal[] = {
		[JSON_FAST_NULL] = "null", [JSON_FAST_FALSE] = "false", [JSON_FAST_TRUE] = "true",
	};

	json_sep(b);
	buf_addc(b, '"');
	buf_add(b, x->key, x->klen);
	buf_adds(b, "\":");
	switch (x->v.type) {
	case JSON_FAST_STRING:
		buf_addc(b, '"');
		buf_add(b, x->v.str, x->v.len);
		buf_addc(b, '"');
		return true;
	case JSON_FAST_NULL:
	case JSON_FAST_FALSE:
	case JSON_FAST_TRUE:
		buf_adds(b, literal[x->v.type]);
		return true;
	default:
		return false;	/* a number's text is not kept; an object's is long */
	}
}

/* Whether state member t (an aggregate's) defines it as the first row's
 * did: the same f, x, op and v, the first of each name counting. */
static bool
fast_defined(const struct layer *l, int agg, const struct json_fast_item *it, int t)
{
	const struct json_fast_item *def[NDEFS] = { NULL };

	for (int i = t + 1; i < it[t].end; i = it[i].end)
		for (int j = 0; j < NDEFS; j++)
			if (def[j] == NULL && item_named(&it[i], defs[j].name, defs[j].len))
				def[j] = &it[i];
	for (int j = 0; j < NDEFS; j++) {
		const struct expect *x = &l->expect[agg * NDEFS + j];
		enum json_fast_type type = def[j] ? def[j]->v.type : JSON_FAST_MISSING;

		if (type != x->type || (type == JSON_FAST_NUMBER && def[j]->v.num != x->num) ||
		    (type == JSON_FAST_STRING && (def[j]->v.len != x->len ||
		    memcmp(def[j]->v.str, x->text, x->len) != 0)))
			return false;
	}
	return true;
}

/*
 * A row read by simdjson when it is laid out as the layer's first row
 * was, as nearly all rows of a view are: 1 read into *w, 2 left out by
 * --view, 0 for read_row to read it.  Anything unusual goes to read_row,
 * faults included, so that they are reported in one way only.
 */
static int
fast_row(struct run *r, struct layer *l, const char *line, size_t len, struct row *w)
{
	const struct json_fast_item *it, *role[NROLES] = { NULL }, *x;
	int n, i, k, state;
	bool object;
	struct err e;

	if (!l->fast || json_fast_load(r->fast, line, len, &object) != 1 || !object ||
	    (n = json_fast_items(r->fast, &it)) < 0)
		return 0;
	buf_reset(&r->cols);
	buf_reset(&r->bcols);
	for (i = 0, k = 0; i < n; i = it[i].end, k++) {
		if (k == l->nkinds || !item_named(&it[i], l->kname[k], l->klen[k]))
			return 0;
		if (l->role[k] != ROLE_NONE)
			role[l->role[k]] = &it[i];
		else if (l->kind[k] != COL_SKIP && (!fast_column(&r->cols, &it[i]) ||
		    (l->kind[k] == COL_BY && !fast_column(&r->bcols, &it[i]))))
			return 0;
	}
	if (k != l->nkinds)
		return 0;
	if ((x = role[ROLE_VIEW]) != NULL && x->v.type == JSON_FAST_STRING) {
		if (r->o->view && !item_is(x, r->o->view))
			return 2;
		if (l->view == NULL || !item_is(x, l->view))
			return 0;
	}
	if (role[ROLE_STATE] == NULL || role[ROLE_STATE]->v.type != JSON_FAST_OBJECT ||
	    role[ROLE_STATE]->size != l->aggs.n || role[ROLE_START] == NULL ||
	    role[ROLE_START]->v.type != JSON_FAST_STRING || role[ROLE_END] == NULL ||
	    role[ROLE_END]->v.type != JSON_FAST_STRING)
		return 0;
	x = role[ROLE_START];
	if (tfmt_parse(x->v.str, x->v.len, &w->start, &e) < 0)
		return 0;
	x = role[ROLE_END];
	if (tfmt_parse(x->v.str, x->v.len, &w->end, &e) < 0 || w->end < w->start)
		return 0;
	w->early = role[ROLE_EARLY] && role[ROLE_EARLY]->v.type == JSON_FAST_TRUE;
	w->have_id = false;
	if ((x = role[ROLE_ID]) != NULL) {
		if (x->v.type != JSON_FAST_STRING || !row_id(x->v.str, x->v.len, &w->id))
			return 0;
		w->have_id = true;
	}
	x = role[ROLE_TYPE];
	w->session = item_is(x, "session");
	if (item_is(x, "hopping") || item_is(x, "sliding"))
		l->overlapping = true;
	state = (int)(role[ROLE_STATE] - it);
	for (int a = 0, t = state + 1; a < l->aggs.n; a++, t = it[t].end) {
		const struct agg_spec *s = &l->aggs.v[a];

		if (it[t].v.type != JSON_FAST_OBJECT ||
		    !item_named(&it[t], s->name, strlen(s->name)) || !fast_defined(l, a, it, t) ||
		    agg_state_take(s, it, t, &r->st[a]) < 0)
			return 0;
	}
	return 1;
}

/* A row read, into the answer or kept for it: 0, or -2 when it does not
 * fit in one bucket. */
static int
use_row(struct run *r, struct layer *l, const struct row *w)
{
	const struct options *o = r->o;
	int64_t start = w->start, end = w->end;

	l->rows++;
	if (!l->have_mark || end > l->mark)
		l->mark = end;
	l->have_mark = true;
	if (l->wlen == 0)
		l->wlen = end - start;
	l->mixed_len = l->mixed_len || l->wlen != end - start;
	if ((o->have_from && start < o->from) || (o->have_to && end > o->to))
		return 0;
	if (l->rows == 1 || start < l->lo)
		l->lo = start;
	if (l->rows == 1 || end > l->hi)
		l->hi = end;
	if (l->id == LAYER_SPEED) {
		keep_cell(r, l, w);
		return 0;
	}
	if (o->anomalies || (r->cells.count && (r->have_cutoff ? end <= r->cutoff &&
	    end > r->cutoff - o->overlap : end > l->mark - o->overlap)))
		note_history(r, l, start, end);
	if (r->have_cutoff && end > r->cutoff)
		return 0;
	if (o->anomalies)
		return 0;
	return add_to_bucket(r, LAYER_BATCH, start, end, w->session, false,
	    r->bcols.p ? r->bcols.p : "", r->bcols.len, r->st);
}

/* One row: 0 taken or skipped as bad, -2 when it does not fit the others. */
static int
take_row(struct run *r, struct layer *l, const char *file, unsigned long lineno,
    const char *line, size_t len)
{
	struct row w;
	int rc = fast_row(r, l, line, len, &w);

	if (rc == 2)
		return 0;
	if (rc == 1)
		r->fast_rows++;
	else if ((rc = read_row(r, l, file, lineno, line, len, &w)) != 1)
		return rc;
	return use_row(r, l, &w);
}

static int
read_file(struct run *r, struct layer *l, const char *path)
{
	struct ndjson_reader rd;
	struct err e;
	char *line;
	size_t len;
	int rc;

	if (ndjson_open(&rd, path, NDJSON_MAX_LINE_DEFAULT, &e) < 0) {
		msg_error(&e);
		return -3;
	}
	while ((rc = ndjson_next(&rd, &line, &len, &e)) != 0) {
		if (rc < 0 && e.kind == ERR_DATA) {
			/* A line over the limit; the reader's message names it. */
			r->status = msg_worst(r->status, EXIT_DATA);
			msg_error_counted(&r->bad, MAX_REPORTED, &e);
			continue;
		}
		if (rc < 0) {
			msg_error(&e);
			ndjson_close(&rd);
			return -3;
		}
		if ((rc = take_row(r, l, rd.name, rd.lineno, line, len)) < 0)
			break;
	}
	ndjson_close(&rd);
	return rc < 0 ? rc : 0;
}

static int
skip_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static bool
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* A view directory of csa-batch-agg --out: it holds date=... partitions. */
static bool
is_view_dir(const char *path)
{
	struct dirent **v;
	int n = scandir(path, &v, skip_hidden, alphasort);
	bool found = false;

	for (int i = 0; i < n; i++) {
		found = found || strncmp(v[i]->d_name, "date=", 5) == 0;
		free(v[i]);
	}
	if (n >= 0)
		free(v);
	return found;
}

/* The names of the view directories under path, ", "-separated, each once. */
static void
view_names(const char *path, struct buf *names, int *count)
{
	struct dirent **v;
	int n = scandir(path, &v, skip_hidden, alphasort);

	for (int i = 0; i < n; i++) {
		struct buf sub = { 0 }, item = { 0 };

		buf_printf(&sub, "%s/%s", path, v[i]->d_name);
		buf_printf(&item, "(%s)", v[i]->d_name);
		if (is_dir(sub.p) && is_view_dir(sub.p)) {
			if (names->p == NULL || strstr(names->p, item.p) == NULL) {
				buf_printf(names, "%s%s", *count ? ", " : "", item.p);
				++*count;
			}
		} else if (is_dir(sub.p)) {
			view_names(sub.p, names, count);
		}
		buf_free(&sub);
		buf_free(&item);
		free(v[i]);
	}
	if (n >= 0)
		free(v);
}

/* A file, or every *.ndjson under a directory in name order (temporary
 * files of a writer are hidden, so never read).  A directory holding
 * several views needs --view. */
static int
read_path(struct run *r, struct layer *l, const char *path)
{
	struct buf views = { 0 };
	int n = 0, rc;

	if (strcmp(path, "-") != 0 && r->o->view == NULL && is_dir(path))
		view_names(path, &views, &n);
	if (n > 1)
		rc = misfit("%s holds several views %s: name one with --view or give its "
		    "directory", path, views.p);
	else
		rc = read_tree(r, l, path);
	buf_free(&views);
	return rc;
}

static int
read_tree(struct run *r, struct layer *l, const char *path)
{
	struct dirent **names;
	struct stat sb;
	int n, rc = 0;

	if (strcmp(path, "-") == 0 || stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return read_file(r, l, path);
	if ((n = scandir(path, &names, skip_hidden, alphasort)) < 0) {
		msg_warn("%s: %s", path, strerror(errno));
		return -3;
	}
	for (int i = 0; i < n; i++) {
		struct buf sub = { 0 };
		size_t k = strlen(names[i]->d_name);

		buf_adds(&sub, path);
		buf_addc(&sub, '/');
		buf_adds(&sub, names[i]->d_name);
		if (rc == 0 && stat(sub.p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			/* --view: only view directories of that name */
			if (r->o->view == NULL || strcmp(names[i]->d_name, r->o->view) == 0 ||
			    !is_view_dir(sub.p))
				rc = read_tree(r, l, sub.p);
		} else if (rc == 0 && k > 7 && strcmp(names[i]->d_name + k - 7, ".ndjson") == 0)
			rc = read_file(r, l, sub.p);
		buf_free(&sub);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* --- fitting the layers together --------------------------------------- */

/* The aggregates of the answer: those both layers compute the same way. */
static int
common_aggs(struct run *r)
{
	struct layer *b = &r->l[LAYER_BATCH], *s = &r->l[LAYER_SPEED];
	struct layer *base = b->first ? b : s;
	struct agg_list *out = xcalloc(1, sizeof(*out));
	struct buf left = { 0 };
	bool both = b->first && s->first;

	r->out = out;
	for (int layer = 0; layer < NLAYERS; layer++)
		r->map[layer] = xcalloc((size_t)base->aggs.n + 1, sizeof(int));
	for (int i = 0; i < base->aggs.n; i++) {
		const struct agg_spec *a = &base->aggs.v[i];
		int j = -1;

		if (both) {
			for (int k = 0; k < s->aggs.n && j < 0; k++)
				if (strcmp(s->aggs.v[k].name, a->name) == 0)
					j = k;
			if (j >= 0 && strcmp(s->aggs.v[j].state_json, a->state_json) != 0) {
				buf_free(&left);
				return misfit("aggregate '%s' is not the same in the two views: "
				    "%s... in %s, %s... in %s", a->name, a->state_json, b->first,
				    s->aggs.v[j].state_json, s->first);
			}
			if (j < 0) {
				buf_printf(&left, " %s (batch)", a->name);
				continue;
			}
		}
		r->map[LAYER_BATCH][out->n] = i;
		r->map[LAYER_SPEED][out->n] = j >= 0 ? j : i;
		out->v = xrealloc(out->v, sizeof(*out->v) * (size_t)(out->n + 1));
		memset(&out->v[out->n], 0, sizeof(*out->v));
		out->v[out->n].name = xstrdup(a->name);
		out->v[out->n].fn = a->fn;
		out->v[out->n].key_json = xstrdup(a->key_json);
		out->v[out->n].state_json = xstrdup(a->state_json);
		out->n++;
	}
	for (int k = 0; both && k < s->aggs.n; k++) {
		bool found = false;

		for (int i = 0; i < out->n; i++)
			found = found || strcmp(out->v[i].name, s->aggs.v[k].name) == 0;
		if (!found)
			buf_printf(&left, " %s (realtime)", s->aggs.v[k].name);
	}
	if (left.len)
		msg_verbose("left out, computed in one layer only:%s", left.p);
	buf_free(&left);
	if (out->n == 0)
		return misfit("the views have no aggregate in common: (%s) against (%s)",
		    b->sig.p, s->sig.p);
	if (both && strcmp(b->gcols.p ? b->gcols.p : "",
	    s->gcols.p ? s->gcols.p : "") != 0)
		return misfit("the batch rows are grouped by (%s) but the speed rows by (%s)",
		    b->gcols.p ? b->gcols.p : "", s->gcols.p ? s->gcols.p : "");
	return check_by(r);
}

/* --by names must be group columns. */
static int
check_by(const struct run *r)
{
	const struct layer *l = r->l[LAYER_BATCH].first ? &r->l[LAYER_BATCH] : &r->l[LAYER_SPEED];
	const char *g = l->gcols.p ? l->gcols.p : "";

	for (int i = 0; i < r->o->nby; i++) {
		size_t n = strlen(r->o->by[i]);
		const char *p = g;
		bool found = false;

		while (*p && !found) {
			const char *c = strchr(p, ',');
			size_t k = c ? (size_t)(c - p) : strlen(p);

			found = k == n && strncmp(p, r->o->by[i], n) == 0;
			p += k + (c != NULL);
		}
		if (!found)
			return misfit("--by: the rows have no group column '%s' (they are grouped "
			    "by %s)", r->o->by[i], *g ? g : "nothing");
	}
	if ((r->o->every || r->o->total) && (r->l[0].overlapping || r->l[1].overlapping))
		return misfit("hopping and sliding windows overlap: putting them into buckets "
		    "would count events more than once; merge tumbling rows");
	return 0;
}

/* Whether the batch view has a window of the same group covering [start, end]. */
static bool
batch_covers(const struct run *r, const struct cell *c)
{
	const struct strmap_entry *he = strmap_get(&r->hist, c->cols, strlen(c->cols));
	const struct history *h;

	if (he == NULL)
		return false;
	h = he->p;
	for (size_t i = 0; i < h->n; i += 2)
		if (h->span[i] <= c->start && c->end <= h->span[i + 1] &&
		    (!r->have_cutoff || h->span[i + 1] <= r->cutoff))
			return true;
	return false;
}

/* Whether a speed window is part of the answer: after the cutoff; inside
 * the overlap when the batch view has no window of its own there. */
static bool
speed_wanted(const struct run *r, const struct cell *c)
{
	if (!r->have_cutoff || c->end > r->cutoff)
		return true;
	if (c->end <= r->cutoff - r->o->overlap)
		return false;
	return !batch_covers(r, c);
}

static int
add_speed(struct run *r)
{
	struct strmap_entry *ce;
	size_t i = 0;

	while ((ce = strmap_next(&r->cells, &i)) != NULL) {
		struct cell *c = ce->p;

		if (speed_wanted(r, c) && add_to_bucket(r, LAYER_SPEED, c->start, c->end,
		    c->session, c->early, c->bcols, strlen(c->bcols), c->st) < 0)
			return -2;
	}
	return 0;
}

/* --- writing ---------------------------------------------------------- */

static bool
inside(int64_t lo, int64_t hi, int64_t start, int64_t end)
{
	return lo <= start && end <= hi;
}

/* Whether [start, end] lies inside what the layers used cover: batch up
 * to the cutoff, speed from its first window to its last. */
static bool
covered(const struct run *r, int64_t start, int64_t end)
{
	const struct layer *b = &r->l[LAYER_BATCH], *s = &r->l[LAYER_SPEED];
	int64_t bhi = r->have_cutoff && r->cutoff < b->hi ? r->cutoff : b->hi;
	bool hb = b->rows_used > 0, hs = s->rows_used > 0;

	if ((hb && inside(b->lo, bhi, start, end)) || (hs && inside(s->lo, s->hi, start, end)))
		return true;
	/* Touching or overlapping, the two are one interval. */
	return hb && hs && s->lo <= bhi && b->lo <= s->hi &&
	    inside(b->lo < s->lo ? b->lo : s->lo, bhi > s->hi ? bhi : s->hi, start, end);
}

static void
put_time(struct buf *b, const char *key, int64_t ms)
{
	char t[32];

	json_key(b, key);
	json_put_str(b, t, tfmt_format(ms, t));
}

static void
put_sources(struct buf *b, int from)
{
	json_key(b, "data_freshness");
	json_put_str(b, from == (FROM_BATCH | FROM_SPEED) ? "batch+realtime" :
	    from == FROM_BATCH ? "batch-only" : "realtime-only",
	    from == (FROM_BATCH | FROM_SPEED) ? 14 : from == FROM_BATCH ? 10 : 13);
	json_key(b, "sources");
	buf_addc(b, '[');
	for (int layer = 0; layer < NLAYERS; layer++)
		if (from & (1 << layer))
			json_put_str(b, layer_names[layer], strlen(layer_names[layer]));
	buf_addc(b, ']');
}

static void
put_bucket(const struct run *r, const struct bucket *k, struct buf *b)
{
	buf_addc(b, '{');
	put_time(b, "window_start", k->start);
	put_time(b, "window_end", k->end);
	if (*k->cols) {
		json_sep(b);
		buf_adds(b, k->cols);
	}
	agg_put_values(b, r->out, k->st);
	put_sources(b, k->from);
	if (k->early) {
		json_key(b, "early");
		json_put_bool(b, true);
	}
	if ((r->o->every || r->o->total) && !covered(r, k->start, k->end)) {
		json_key(b, "partial");
		json_put_bool(b, true);
	}
	agg_put_state(b, r->out, k->st);
	buf_adds(b, "}\n");
}

static int r_count_col;

/* Windows in time order, then by group. */
static int
cmp_window(int64_t start1, int64_t end1, const char *cols1, int64_t start2, int64_t end2,
    const char *cols2)
{
	if (start1 != start2)
		return start1 < start2 ? -1 : 1;
	if (end1 != end2)
		return end1 < end2 ? -1 : 1;
	return strcmp(cols1, cols2);
}

/* Buckets in time order, then by group (ranked by group_ranks). */
static int
cmp_time(const void *a, const void *b)
{
	const struct bucket *x = *(struct bucket *const *)a, *y = *(struct bucket *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (x->group > y->group) - (x->group < y->group);
}

static int
cmp_group(const void *a, const void *b)
{
	return strcmp((*(const struct strmap_entry *const *)a)->key,
	    (*(const struct strmap_entry *const *)b)->key);
}

/* rank[group number] = its place among the groups in strcmp order, so
 * that sorting the buckets compares numbers only.  Caller frees. */
static int *
group_ranks(const struct run *r)
{
	struct strmap_entry **g = xmalloc(sizeof(*g) * (r->groups.count + 1));
	int *rank = xmalloc(sizeof(*rank) * (r->groups.count + 1));
	struct strmap_entry *ge;
	size_t n = 0, i = 0;

	while ((ge = strmap_next(&r->groups, &i)) != NULL)
		g[n++] = ge;
	qsort(g, n, sizeof(*g), cmp_group);
	for (i = 0; i < n; i++)
		rank[g[i]->a] = (int)i;
	free(g);
	return rank;
}

/* The table's order: most events first. */
static int
cmp_count(const void *a, const void *b)
{
	const struct bucket *x = *(struct bucket *const *)a, *y = *(struct bucket *const *)b;

	if (r_count_col >= 0 && x->st[r_count_col].n != y->st[r_count_col].n)
		return x->st[r_count_col].n > y->st[r_count_col].n ? -1 : 1;
	return cmp_time(a, b);
}

/* A column of the table: its heading, its cells, its width. */
struct column {
	char *name;
	char **v;
	size_t width;
	bool num, fraction;
};

/* A value as the table shows it: strings bare, numbers as JSON writes
 * them (fractions are put to two places once the whole column is known). */
static char *
cell_text(const struct json_doc *d, int t, bool *fraction)
{
	struct buf v = { 0 };
	double x;

	if (json_type(d, t) == JSON_STRING)
		json_string(d, t, &v);
	else if (json_type(d, t) == JSON_NULL)
		buf_adds(&v, "-");
	else
		json_put_token(&v, d, t);
	if (json_number(d, t, &x) == 0 && x != floor(x))
		*fraction = true;
	return v.p ? buf_steal(&v) : xstrdup("");
}

/* Numbers of a column with fractions, all to two places, so they line up. */
static void
two_places(struct column *c, size_t nrow)
{
	c->width = strlen(c->name);
	for (size_t i = 0; i < nrow; i++) {
		char *end;
		double x = c->v[i] ? strtod(c->v[i], &end) : 0;
		size_t w;

		if (c->v[i] && end != c->v[i] && *end == '\0') {
			struct buf v = { 0 };

			buf_printf(&v, "%.2f", x);
			free(c->v[i]);
			c->v[i] = buf_steal(&v);
		}
		w = c->v[i] ? strlen(c->v[i]) : 0;
		c->width = w > c->width ? w : c->width;
	}
}

/* The column named by key t, added when new. */
static struct column *
column_of(struct column **col, size_t *ncol, size_t nrow, const struct json_doc *d, int t)
{
	struct column *c;

	for (size_t i = 0; i < *ncol; i++)
		if (json_string_eq(d, t, (*col)[i].name))
			return &(*col)[i];
	*col = xrealloc(*col, sizeof(**col) * (*ncol + 1));
	c = &(*col)[(*ncol)++];
	c->name = json_strdup(d, t);
	c->v = xcalloc(nrow, sizeof(char *));
	c->width = strlen(c->name);
	c->num = json_type(d, t + 1) == JSON_NUMBER;
	c->fraction = false;
	return c;
}

/* Rows (NDJSON text) as an aligned table: every column any row has, but
 * the state and the source list (data_freshness says the same). */
static int
print_table(const char *text, size_t len, size_t nrow)
{
	struct column *col = NULL;
	struct json_doc d;
	struct buf line = { 0 };
	struct err e;
	size_t ncol = 0, row = 0;

	json_doc_init(&d);
	for (const char *p = text; p < text + len; p = strchr(p, '\n') + 1, row++) {
		int n, key = 1;

		if (row == nrow)
			break;
		if (json_parse(&d, p, (size_t)(strchr(p, '\n') - p), &e) < 0) {
			msg_warn("table: %s", e.msg);	/* our own row: a bug */
			break;
		}
		n = json_size(&d, 0);
		for (int i = 0; i < n; i++, key = json_skip(&d, key + 1)) {
			struct column *c;
			size_t w;

			if (json_string_eq(&d, key, "_state") || json_string_eq(&d, key, "sources"))
				continue;
			c = column_of(&col, &ncol, nrow, &d, key);
			c->v[row] = cell_text(&d, key + 1, &c->fraction);
			w = strlen(c->v[row]);
			c->width = w > c->width ? w : c->width;
		}
	}
	json_doc_free(&d);
	for (size_t c = 0; c < ncol; c++)
		if (col[c].num && col[c].fraction)
			two_places(&col[c], row);
	for (size_t i = 0; i <= row && ncol; i++) {
		buf_reset(&line);
		for (size_t c = 0; c < ncol; c++) {
			const char *v = i == 0 ? col[c].name : col[c].v[i - 1];

			buf_printf(&line, col[c].num ? "%s%*s" : "%s%-*s", c ? "  " : "",
			    (int)col[c].width, v ? v : "");
		}
		while (line.len && line.p[line.len - 1] == ' ')
			line.len--;
		line.p[line.len] = '\0';
		puts(line.p);
	}
	for (size_t c = 0; c < ncol; c++) {
		for (size_t i = 0; i < nrow; i++)
			free(col[c].v[i]);
		free(col[c].v);
		free(col[c].name);
	}
	free(col);
	buf_free(&line);
	return row == nrow ? 0 : -1;
}

/* NDJSON goes out as it is made; a table needs every row first. */
static void
spill(const struct run *r, struct buf *out)
{
	if (!r->o->table && out->len >= 1 << 16) {
		fwrite(out->p, 1, out->len, stdout);
		buf_reset(out);
	}
}

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = *(struct cell *const *)a, *y = *(struct cell *const *)b;

	return cmp_window(x->start, x->end, x->cols, y->start, y->end, y->cols);
}

/* The speed windows whose count is over the batch baseline of their group:
 * the group's batch counts per window, empty windows counted as 0, scaled
 * to the speed window's length. */
static int
anomalies(struct run *r, struct buf *out, size_t *nrow)
{
	const struct layer *b = &r->l[LAYER_BATCH];
	int oc = -1;
	int64_t hi = r->cutoff < b->hi ? r->cutoff : b->hi, k;
	struct strmap_entry *ce;
	struct cell **v = xmalloc(sizeof(*v) * (r->cells.count + 1));
	struct agg_state *st = xcalloc((size_t)r->out->n, sizeof(*st));
	size_t n = 0, i = 0;

	for (int j = 0; j < r->out->n && oc < 0; j++)
		if (r->out->v[j].fn == AGG_COUNT)
			oc = j;
	k = b->wlen > 0 ? (hi - b->lo) / b->wlen : 0;
	if (oc < 0 || b->mixed_len || k < 2) {
		free(v);
		free(st);
		return misfit("--anomalies: %s", oc < 0 ? "the views have no count aggregate in "
		    "common" : b->mixed_len ? "the batch windows are not all of one length" :
		    "the batch view spans fewer than two windows: no baseline");
	}
	while ((ce = strmap_next(&r->cells, &i)) != NULL)
		if (speed_wanted(r, ce->p))
			v[n++] = ce->p;
	qsort(v, n, sizeof(*v), cmp_cell);
	for (i = 0; i < n; i++) {
		const struct strmap_entry *he = strmap_get(&r->hist, v[i]->cols, strlen(v[i]->cols));
		const struct history *h = he ? he->p : NULL;
		double sum = h ? h->sum : 0, sum2 = h ? h->sum2 : 0;
		double ratio = (double)(v[i]->end - v[i]->start) / (double)b->wlen;
		double mean = sum / (double)k;
		double var = (sum2 - (double)k * mean * mean) / (double)(k - 1);
		double sd = sqrt(var > 0 ? var : 0) * ratio, limit;

		mean *= ratio;
		limit = mean + r->o->sigma * sd;
		for (int j = 0; j < r->out->n; j++)
			st[j] = v[i]->st[r->map[LAYER_SPEED][j]];
		if (!((double)st[oc].n > limit))
			continue;
		buf_addc(out, '{');
		put_time(out, "window_start", v[i]->start);
		put_time(out, "window_end", v[i]->end);
		if (*v[i]->cols) {
			json_sep(out);
			buf_adds(out, v[i]->cols);
		}
		agg_put_values(out, r->out, st);
		json_key(out, "baseline_mean");
		json_put_num(out, mean);
		json_key(out, "baseline_stddev");
		json_put_num(out, sd);
		json_key(out, "threshold");
		json_put_num(out, limit);
		json_key(out, "is_anomaly");
		json_put_bool(out, true);
		put_sources(out, FROM_SPEED);
		agg_put_state(out, r->out, st);
		buf_adds(out, "}\n");
		++*nrow;
		spill(r, out);
	}
	free(v);
	free(st);
	return 0;
}

/* The answer's rows, in time order (NDJSON) or by events (table). */
static void
answer(struct run *r, struct buf *out, size_t *nrow)
{
	struct bucket **v = xmalloc(sizeof(*v) * (r->buckets.count + 1));
	int *rank = group_ranks(r);
	size_t n = 0;

	for (size_t i = 0; i < r->buckets.cap; i++)
		if (r->buckets.slot[i]) {
			v[n] = r->buckets.slot[i];
			v[n]->group = rank[v[n]->group];
			n++;
		}
	free(rank);
	r_count_col = -1;
	for (int j = 0; j < r->out->n && r_count_col < 0; j++)
		if (r->out->v[j].fn == AGG_COUNT)
			r_count_col = j;
	qsort(v, n, sizeof(*v), r->o->table ? cmp_count : cmp_time);
	for (size_t i = 0; i < n; i++) {
		put_bucket(r, v[i], out);
		spill(r, out);
	}
	*nrow = n;
	free(v);
}

/* After the input: the cutoff, the aggregates of the answer, the speed rows. */
static int
settle(struct run *r)
{
	const struct options *o = r->o;
	struct layer *b = &r->l[LAYER_BATCH], *s = &r->l[LAYER_SPEED];

	for (int layer = 0; layer < NLAYERS; layer++)
		if (o->path[layer] && r->l[layer].rows == 0)
			msg_warn("no %s rows in %s: the answer is %s", layer_names[layer],
			    o->path[layer], layer == LAYER_BATCH ? "realtime-only" : "batch-only");
	if (!r->have_cutoff && b->have_mark) {
		r->cutoff = b->mark;
		r->have_cutoff = true;
	}
	if (!b->first && !s->first)
		return 0;
	if (!b->first && common_aggs(r) < 0)
		return -2;
	if (o->anomalies)
		return 0;
	return add_speed(r);
}

static void
layer_free(struct layer *l)
{
	for (int i = 0; l->expect && i < l->aggs.n * NDEFS; i++)
		free(l->expect[i].text);
	free(l->expect);
	agg_list_free(&l->aggs);
	buf_free(&l->sig);
	buf_free(&l->gcols);
	free(l->first);
	free(l->view);
	for (int i = 0; i < l->nkinds; i++)
		free(l->kname[i]);
}

static void
run_free(struct run *r)
{
	struct strmap_entry *x;
	size_t i = 0;

	while ((x = strmap_next(&r->cells, &i)) != NULL) {
		struct cell *c = x->p;

		free(c->cols);
		free(c->bcols);
		free(c->st);
		free(c->ids);
		free(c);
	}
	i = 0;
	while ((x = strmap_next(&r->hist, &i)) != NULL) {
		free(((struct history *)x->p)->span);
		free(x->p);
	}
	strmap_free(&r->cells);
	strmap_free(&r->hist);
	strmap_free(&r->groups);
	bucket_table_free(&r->buckets);
	for (int layer = 0; layer < NLAYERS; layer++) {
		layer_free(&r->l[layer]);
		free(r->map[layer]);
	}
	if (r->out) {
		agg_list_free(r->out);
		free(r->out);
	}
	json_doc_free(&r->doc);
	json_fast_free(r->fast);
	buf_free(&r->key);
	buf_free(&r->cols);
	buf_free(&r->bcols);
	buf_free(&r->names);
	buf_free(&r->sig);
	free(r->st);
}

static int
run(const struct options *o)
{
	static const int order[NLAYERS] = { LAYER_SPEED, LAYER_BATCH };
	struct buf out = { 0 };
	struct run r;
	size_t nrow = 0;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.have_cutoff = o->have_cutoff;
	r.cutoff = o->cutoff;
	json_doc_init(&r.doc);
	r.fast = json_fast_new();
	strmap_init(&r.cells);
	strmap_init(&r.hist);
	strmap_init(&r.groups);
	r.buckets.by_group = o->total;
	/* Speed first (it may be stdin and is the smaller); batch rows then go
	 * straight into their buckets. */
	for (int k = 0; k < NLAYERS && rc == 0; k++) {
		r.l[order[k]].id = order[k];
		if (o->path[order[k]])
			rc = read_path(&r, &r.l[order[k]], o->path[order[k]]);
	}
	if (rc == 0)
		rc = settle(&r);
	if (rc == 0 && r.out && o->anomalies)
		rc = anomalies(&r, &out, &nrow);
	else if (rc == 0 && r.out)
		answer(&r, &out, &nrow);
	if (rc == 0 && o->table) {
		if (print_table(out.p ? out.p : "", out.len, nrow) < 0)
			rc = -3;
	} else if (rc == 0) {
		fwrite(out.p ? out.p : "", 1, out.len, stdout);
	}
	msg_verbose("%ld batch rows (%ld used), %ld speed rows (%ld used), %ld bad lines, "
	    "%zu rows out", r.l[LAYER_BATCH].rows, r.l[LAYER_BATCH].rows_used,
	    r.l[LAYER_SPEED].rows, r.l[LAYER_SPEED].rows_used, r.bad, nrow);
	msg_verbose("%ld rows read by simdjson, the others by jsmn", r.fast_rows);
	if (r.repeats)
		msg_verbose("%ld speed rows repeated (the same _id) counted once", r.repeats);
	if (r.bad)
		msg_warn("%ld bad lines skipped", r.bad);
	buf_free(&out);
	run_free(&r);
	if (rc == -3)
		return EXIT_IO;
	return rc == -2 ? EXIT_USAGE : r.status;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	for (int i = 0; i < o->nby; i++)
		free(o->by[i]);
	free(o->by);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(0)
