/* merge-read.c: csa-merge's input: speed rows kept as cells, batch rows into buckets. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "merge.h"
#include "ndjson.h"
#include "viewdir.h"

static int read_tree(struct run *r, struct layer *l, const char *path);

/* A batch row's window, for the overlap rule, and its count, for the
 * anomaly baseline. */
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
		agg_states_copy(c->st, w->st, l->aggs->n);
		if (!early)
			cell_note(c, w);
		return;
	}
	c = ce->p;
	if (early && !c->early)
		return;
	if (c->early) {
		c->early = early;
		agg_states_copy(c->st, w->st, l->aggs->n);
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

/* A row read, into the answer or kept for it: 0, or -1 when it does not
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
	if (o->compact)
		return 0;	/* only the batch view's mark is wanted */
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
	return merge_add(r, LAYER_BATCH, start, end, w->session, false, w->bcols,
	    w->bcols_len, w->st);
}

/* One row: 0 taken or skipped as bad, -1 when it does not fit the others. */
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
	if (rc < 0) {
		r->err = e;
		return -1;
	}
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
		if (l->id == LAYER_BATCH && merge_common_aggs(r) < 0)
			return -1;
	}
	l->overlapping = l->overlapping || w.overlapping;
	return use_row(r, l, &w);
}

/* in_view: a file a directory walk found, which --retention of
 * csa-batch-agg may remove (its whole day) before it is opened. */
static int
read_file(struct run *r, struct layer *l, const char *path, bool in_view)
{
	char *files[] = { (char *)path };
	struct input_record rec;
	struct input in;
	int rc;

	input_init(&in, files, 1, NDJSON_MAX_LINE_DEFAULT, INPUT_RAW, &r->bad);
	in.skip_gone = in_view;
	while ((rc = input_next(&in, &rec)) > 0)
		if (take_row(r, l, rec.file, rec.lineno, rec.line, rec.len) < 0)
			break;
	input_free(&in);
	if (rc < 0) {
		/* The input said what it could not read. */
		r->err.kind = ERR_IO;
		r->err.msg[0] = '\0';
	}
	return rc == 0 ? 0 : -1;
}

/* A file, or every *.ndjson under a directory in name order (temporary
 * files of a writer are hidden, so never read).  A directory holding
 * several views needs --view. */
int
merge_read_path(struct run *r, struct layer *l, const char *path)
{
	struct buf views = { 0 };
	int n = 0, rc;

	if (strcmp(path, "-") != 0 && r->o->view == NULL)
		viewdir_names(path, &views, &n);
	if (n > 1)
		rc = merge_misfit(r, "%s holds several views %s: name one with --view or give its "
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
	const char *top;	/* the path named */
};

/* 1 stops the walk: r->err says why. */
static int
walk_file(const char *path, void *arg)
{
	struct walk *w = arg;

	return read_file(w->r, w->l, path, strcmp(path, w->top) != 0) < 0 ? 1 : 0;
}

static int
read_tree(struct run *r, struct layer *l, const char *path)
{
	struct walk w = { r, l, path };
	struct err e;
	int rc = viewdir_walk(path, r->o->view, walk_file, &w, &e);

	if (rc == -1)
		r->err = e;
	return rc == 0 ? 0 : -1;
}
