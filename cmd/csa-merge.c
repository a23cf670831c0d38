/* csa-merge: the serving layer: batch and speed views merged into one exact answer. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "json.h"
#include "jsonfast.h"
#include "msg.h"
#include "input.h"
#include "ndjson.h"
#include "opt.h"
#include "row.h"
#include "strmap.h"
#include "table.h"
#include "timefmt.h"
#include "viewdir.h"

static const char usage_line[] =
    "Usage: csa-merge [--batch PATH] [--speed PATH] [--view NAME] [--cutoff TIME]\n"
    "                 [--overlap D] [--by FIELDS] [--every D | --total] [--from TIME]\n"
    "                 [--to TIME] [--anomalies SIGMA] [--table] [-v]\n";

static const char help_text[] =
    "Merge the rows of a batch view and of a speed view into one answer: batch\n"
    "rows up to the cutoff, speed rows after it, recombined exactly from their\n"
    "mergeable state.\n"
    "\n"
    "      --anomalies SIGMA  batch-sized windows whose speed count is over the\n"
    "                         batch mean plus SIGMA deviations of the same group\n"
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
	struct row_reader *rd;
	/* What the first row set (the reader's), NULL before it. */
	const struct agg_list *aggs;	/* as its _state describes them */
	const char *sig;	/* its aggregate definitions */
	const char *gcols;	/* its group column names, comma-separated */
	const char *first;	/* its place, file:line */
	int count_col;		/* the first count aggregate, or -1 */
	bool overlapping;	/* hopping or sliding rows */
	int64_t lo, hi, wlen;	/* earliest start, latest end, window length */
	int64_t mark;		/* latest end of any row: the default cutoff */
	bool have_mark;
	bool mixed_len;
	long rows, rows_used;
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
	struct msg_bad bad;	/* lines skipped */
	long repeats;		/* speed rows whose _id was merged already */
	int status;
	struct buf key;		/* scratch */
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
/* The start of the window of length d (aligned to the epoch) that holds t. */
static int64_t
align(int64_t t, int64_t d)
{
	return t >= 0 ? t / d * d : -((-t + d - 1) / d) * d;
}

static int
bucket_span(struct run *r, int64_t *start, int64_t *end, bool session)
{
	int64_t d = r->o->every, b;

	if (d == 0)
		return 0;
	b = align(*start, d);
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
note_history(struct run *r, struct layer *l, const struct row_in *w)
{
	int64_t start = w->start, end = w->end;
	struct strmap_entry *he;
	struct history *h;
	bool added;

	he = strmap_put(&r->hist, w->cols, w->cols_len, &added);
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
		double c = (double)w->st[l->count_col].n;

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
cell_note(struct cell *c, const struct row_in *w)
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
keep_cell(struct run *r, struct layer *l, const struct row_in *w)
{
	struct strmap_entry *ce;
	struct cell *c;
	bool added;
	int64_t start = w->start, end = w->end;
	bool early = w->early;

	buf_reset(&r->key);
	buf_add(&r->key, &start, sizeof(start));
	buf_add(&r->key, &end, sizeof(end));
	buf_add(&r->key, w->cols, w->cols_len);
	ce = strmap_put(&r->cells, r->key.p, r->key.len, &added);
	if (added) {
		ce->p = c = xcalloc(1, sizeof(*c));
		c->start = start;
		c->end = end;
		c->session = w->session;
		c->cols = xstrndup(w->cols, w->cols_len);
		c->bcols = xstrndup(w->bcols, w->bcols_len);
		c->st = xcalloc((size_t)l->aggs->n, sizeof(*c->st));
		c->early = early;
		memcpy(c->st, w->st, sizeof(*c->st) * (size_t)l->aggs->n);
		if (!early)
			cell_note(c, w);
		return;
	}
	c = ce->p;
	if (early && !c->early)
		return;
	if (c->early) {
		c->early = early;
		memcpy(c->st, w->st, sizeof(*c->st) * (size_t)l->aggs->n);
		if (!early)
			cell_note(c, w);
		return;
	}
	if (w->have_id && cell_has(c, w->id)) {
		r->repeats++;
		return;
	}
	cell_note(c, w);
	for (int i = 0; i < l->aggs->n; i++)
		agg_merge(&l->aggs->v[i], &c->st[i], &w->st[i]);
}

/* A row read, into the answer or kept for it: 0, or -2 when it does not
 * fit in one bucket. */
static int
use_row(struct run *r, struct layer *l, const struct row_in *w)
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
	if (o->anomalies && l->id == LAYER_BATCH) {
		/* The baseline is the whole batch view, whatever is shown. */
		if (l->rows == 1 || start < l->lo)
			l->lo = start;
		if (l->rows == 1 || end > l->hi)
			l->hi = end;
		note_history(r, l, w);
		return 0;
	}
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
	if (r->cells.count && (r->have_cutoff ? end <= r->cutoff &&
	    end > r->cutoff - o->overlap : end > l->mark - o->overlap))
		note_history(r, l, w);
	if (r->have_cutoff && end > r->cutoff)
		return 0;
	return add_to_bucket(r, LAYER_BATCH, start, end, w->session, false, w->bcols,
	    w->bcols_len, w->st);
}

/* One row: 0 taken or skipped as bad, -2 when it does not fit the others. */
static int
take_row(struct run *r, struct layer *l, const char *file, unsigned long lineno,
    const char *line, size_t len)
{
	struct row_in w;
	struct err e;
	int rc = row_read(l->rd, line, len, file, lineno, &w, &e);

	if (rc == 0)
		return 0;
	if (rc < 0 && e.kind == ERR_DATA) {
		msg_bad(&r->bad, w.bad, file, lineno, "%s", e.msg);
		return 0;
	}
	if (rc < 0)
		return misfit("%s", e.msg);
	if (l->aggs == NULL) {
		/* The reader's first row (it may have set it on a row that was
		 * then skipped as bad). */
		l->aggs = row_reader_aggs(l->rd);
		l->sig = row_reader_signature(l->rd);
		l->gcols = row_reader_columns(l->rd);
		l->first = row_reader_first(l->rd);
		l->count_col = -1;
		for (int i = 0; i < l->aggs->n && l->count_col < 0; i++)
			if (l->aggs->v[i].fn == AGG_COUNT)
				l->count_col = i;
		if (l->id == LAYER_BATCH && common_aggs(r) < 0)
			return -2;
	}
	l->overlapping = l->overlapping || w.overlapping;
	return use_row(r, l, &w);
}

static int
read_file(struct run *r, struct layer *l, const char *path)
{
	char *files[] = { (char *)path };
	struct input_record rec;
	struct input in;
	int rc;

	input_init(&in, files, 1, NDJSON_MAX_LINE_DEFAULT, INPUT_RAW, &r->bad);
	while ((rc = input_next(&in, &rec)) > 0)
		if ((rc = take_row(r, l, rec.file, rec.lineno, rec.line, rec.len)) < 0)
			break;
	input_free(&in);
	return rc == -1 ? -3 : rc < 0 ? rc : 0;
}

/* A file, or every *.ndjson under a directory in name order (temporary
 * files of a writer are hidden, so never read).  A directory holding
 * several views needs --view. */
static int
read_path(struct run *r, struct layer *l, const char *path)
{
	struct buf views = { 0 };
	int n = 0, rc;

	if (strcmp(path, "-") != 0 && r->o->view == NULL)
		viewdir_names(path, &views, &n);
	if (n > 1)
		rc = misfit("%s holds several views %s: name one with --view or give its "
		    "directory", path, views.p);
	else
		rc = read_tree(r, l, path);
	buf_free(&views);
	return rc;
}

/* One file of a layer's view, for viewdir_walk. */
struct walk {
	struct run *r;
	struct layer *l;
};

static int
walk_file(const char *path, void *arg)
{
	struct walk *w = arg;

	return read_file(w->r, w->l, path);
}

static int
read_tree(struct run *r, struct layer *l, const char *path)
{
	struct walk w = { r, l };
	struct err e;
	int rc = viewdir_walk(path, r->o->view, walk_file, &w, &e);

	if (rc == -1) {
		msg_error(&e);
		return -3;
	}
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
		r->map[layer] = xcalloc((size_t)base->aggs->n + 1, sizeof(int));
	for (int i = 0; i < base->aggs->n; i++) {
		const struct agg_spec *a = &base->aggs->v[i];
		int j = -1;

		if (both) {
			for (int k = 0; k < s->aggs->n && j < 0; k++)
				if (strcmp(s->aggs->v[k].name, a->name) == 0)
					j = k;
			if (j >= 0 && strcmp(s->aggs->v[j].state_json, a->state_json) != 0) {
				buf_free(&left);
				return misfit("aggregate '%s' is not the same in the two views: "
				    "%s... in %s, %s... in %s", a->name, a->state_json, b->first,
				    s->aggs->v[j].state_json, s->first);
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
	for (int k = 0; both && k < s->aggs->n; k++) {
		bool found = false;

		for (int i = 0; i < out->n; i++)
			found = found || strcmp(out->v[i].name, s->aggs->v[k].name) == 0;
		if (!found)
			buf_printf(&left, " %s (realtime)", s->aggs->v[k].name);
	}
	if (left.len)
		msg_verbose("left out, computed in one layer only:%s", left.p);
	buf_free(&left);
	if (out->n == 0)
		return misfit("the views have no aggregate in common: (%s) against (%s)",
		    b->sig, s->sig);
	if (both && strcmp(b->gcols, s->gcols) != 0)
		return misfit("the batch rows are grouped by (%s) but the speed rows by (%s)",
		    b->gcols, s->gcols);
	return check_by(r);
}

/* --by names must be group columns. */
static int
check_by(const struct run *r)
{
	const struct layer *l = r->l[LAYER_BATCH].first ? &r->l[LAYER_BATCH] : &r->l[LAYER_SPEED];
	const char *g = l->gcols;

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

/* One answer row: a bucket's window, group and aggregates, and where
 * they came from. */
static void
put_bucket(struct run *r, const struct bucket *k, struct buf *b)
{
	struct buf *m = &r->key;

	buf_reset(m);
	put_sources(m, k->from);
	if (k->early) {
		json_key(m, "early");
		json_put_bool(m, true);
	}
	if ((r->o->every || r->o->total) && !covered(r, k->start, k->end)) {
		json_key(m, "partial");
		json_put_bool(m, true);
	}
	row_put(b, &(struct row){ .start = k->start, .end = k->end, .cols = k->cols,
	    .cols_len = strlen(k->cols), .aggs = r->out, .st = k->st, .markers = m->p });
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

/* Free the windows anomalies() merged speed rows into (their columns are
 * the cells'). */
static void
free_bins(struct strmap *bins)
{
	struct strmap_entry *e;
	size_t i = 0;

	while ((e = strmap_next(bins, &i)) != NULL) {
		free(((struct cell *)e->p)->st);
		free(e->p);
	}
	strmap_free(bins);
}

/*
 * --anomalies: like is compared with like.  Speed rows are put into the
 * batch view's windows (an hour of 5-minute rows makes one hourly count)
 * and each such window's count is compared with its group's batch
 * windows: their mean plus SIGMA sample standard deviations, the windows
 * without a row counted as 0.  A window the speed rows cover only in part
 * is marked partial (its count can only be short).  --from and --to
 * select the windows shown; the baseline is always the whole batch view.
 */
static int
anomalies(struct run *r, struct buf *out, size_t *nrow)
{
	const struct layer *b = &r->l[LAYER_BATCH], *sp = &r->l[LAYER_SPEED];
	const int na = r->out->n;
	int oc = -1;
	int64_t hi = r->cutoff < b->hi ? r->cutoff : b->hi, k, w = b->wlen;
	struct strmap bins;	/* start and group -> struct cell of the merged rows */
	struct strmap_entry *ce;
	struct cell **v;
	struct buf key = { 0 };
	size_t n = 0, i = 0;

	for (int j = 0; j < na && oc < 0; j++)
		if (r->out->v[j].fn == AGG_COUNT)
			oc = j;
	k = w > 0 ? (hi - b->lo) / w : 0;
	if (oc < 0 || b->mixed_len || k < 2)
		return misfit("--anomalies: %s", oc < 0 ? "the views have no count aggregate in "
		    "common" : b->mixed_len ? "the batch windows are not all of one length" :
		    "the batch view spans fewer than two windows: no baseline");
	if (sp->overlapping)
		return misfit("--anomalies: hopping and sliding windows overlap: adding them "
		    "into the batch windows would count events more than once; give "
		    "tumbling or session rows");
	strmap_init(&bins);
	while ((ce = strmap_next(&r->cells, &i)) != NULL) {
		const struct cell *c = ce->p;
		struct cell *bin;
		int64_t start;
		bool added;

		if (!speed_wanted(r, c))
			continue;
		if (c->end - c->start > w) {
			free_bins(&bins);
			buf_free(&key);
			return misfit("--anomalies: speed windows are longer than the batch "
			    "windows they are compared with");
		}
		start = align(c->start, w);
		if (c->end > start + w)
			continue;	/* across two batch windows (unaligned): in neither */
		buf_reset(&key);
		buf_add(&key, &start, sizeof(start));
		buf_adds(&key, c->cols);
		ce = strmap_put(&bins, key.p, key.len, &added);
		if (added) {
			ce->p = bin = xcalloc(1, sizeof(*bin));
			bin->start = start;
			bin->end = start + w;
			bin->cols = c->cols;
			bin->st = xcalloc((size_t)na + 1, sizeof(*bin->st));
		}
		bin = ce->p;
		for (int j = 0; j < na; j++)
			agg_merge(&r->out->v[j], &bin->st[j], &c->st[r->map[LAYER_SPEED][j]]);
	}
	v = xmalloc(sizeof(*v) * (bins.count + 1));
	i = 0;
	while ((ce = strmap_next(&bins, &i)) != NULL)
		v[n++] = ce->p;
	qsort(v, n, sizeof(*v), cmp_cell);
	for (i = 0; i < n; i++) {
		const struct strmap_entry *he = strmap_get(&r->hist, v[i]->cols, strlen(v[i]->cols));
		const struct history *h = he ? he->p : NULL;
		double sum = h ? h->sum : 0, sum2 = h ? h->sum2 : 0;
		double mean = sum / (double)k;
		double var = (sum2 - (double)k * mean * mean) / (double)(k - 1);
		double sd = sqrt(var > 0 ? var : 0), limit = mean + r->o->sigma * sd;

		if (!((double)v[i]->st[oc].n > limit))
			continue;
		buf_reset(&r->key);
		json_key(&r->key, "baseline_mean");
		json_put_num(&r->key, mean);
		json_key(&r->key, "baseline_stddev");
		json_put_num(&r->key, sd);
		json_key(&r->key, "threshold");
		json_put_num(&r->key, limit);
		json_key(&r->key, "is_anomaly");
		json_put_bool(&r->key, true);
		if (v[i]->start < sp->lo || v[i]->end > sp->hi) {
			json_key(&r->key, "partial");
			json_put_bool(&r->key, true);
		}
		put_sources(&r->key, FROM_SPEED);
		row_put(out, &(struct row){ .start = v[i]->start, .end = v[i]->end,
		    .cols = v[i]->cols, .cols_len = strlen(v[i]->cols), .aggs = r->out,
		    .st = v[i]->st, .markers = r->key.p });
		++*nrow;
		spill(r, out);
	}
	free(v);
	free_bins(&bins);
	buf_free(&key);
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
		row_reader_free(r->l[layer].rd);
		free(r->map[layer]);
	}
	if (r->out) {
		agg_list_free(r->out);
		free(r->out);
	}
	buf_free(&r->key);
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
	strmap_init(&r.cells);
	strmap_init(&r.hist);
	strmap_init(&r.groups);
	r.buckets.by_group = o->total;
	/* Speed first (it may be stdin and is the smaller); batch rows then go
	 * straight into their buckets. */
	for (int k = 0; k < NLAYERS; k++) {
		r.l[k].id = k;
		r.l[k].rd = row_reader_new(o->by, o->nby, o->view, true);
	}
	for (int k = 0; k < NLAYERS && rc == 0; k++) {
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
		if (table_print(out.p ? out.p : "", out.len, nrow) < 0)
			rc = -3;
	} else if (rc == 0) {
		fwrite(out.p ? out.p : "", 1, out.len, stdout);
	}
	msg_verbose("%ld batch rows (%ld used), %ld speed rows (%ld used), %ld bad lines, "
	    "%zu rows out", r.l[LAYER_BATCH].rows, r.l[LAYER_BATCH].rows_used,
	    r.l[LAYER_SPEED].rows, r.l[LAYER_SPEED].rows_used, r.bad.total, nrow);
	msg_verbose("%ld rows read by simdjson, the others by jsmn",
	    row_reader_fast_rows(r.l[LAYER_BATCH].rd) + row_reader_fast_rows(r.l[LAYER_SPEED].rd));
	if (r.repeats)
		msg_verbose("%ld speed rows repeated (the same _id) counted once", r.repeats);
	r.status = msg_worst(r.status, msg_bad_summary(&r.bad, "line", "lines"));
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
