/* merge-fit.c: csa-merge fitting the layers together: shared aggregates, cutoff, overlap. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

/* Why a run stops early: views that do not fit together are a usage
 * fault (exit 2), and nothing is written. */
int
merge_misfit(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
	va_end(ap);
	r->err.kind = ERR_USAGE;
	return -1;
}

static int check_by(struct run *r);

/* The aggregates of the answer: those both layers compute the same way. */
int
merge_common_aggs(struct run *r)
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
				return merge_misfit(r, "aggregate '%s' is not the same in the two views: "
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
		out->v[out->n].rhs_num = a->rhs_num;	/* percentile's P */
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
		return merge_misfit(r, "the views have no aggregate in common: (%s) against (%s)",
		    b->sig, s->sig);
	if (both && strcmp(b->gcols, s->gcols) != 0)
		return merge_misfit(r, "the batch rows are grouped by (%s) but the speed rows by (%s)",
		    b->gcols, s->gcols);
	return check_by(r);
}

/* --by names must be group columns. */
static int
check_by(struct run *r)
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
			return merge_misfit(r, "--by: the rows have no group column '%s' (they are grouped "
			    "by %s)", r->o->by[i], *g ? g : "nothing");
	}
	if ((r->o->every || r->o->total) && (r->l[0].overlapping || r->l[1].overlapping))
		return merge_misfit(r, "hopping and sliding windows overlap: putting them into buckets "
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

/* A speed window is part of the answer after the cutoff, and inside the
 * overlap when the batch view has no window of its own there. */
bool
merge_speed_wanted(const struct run *r, const struct cell *c)
{
	if (!r->have_cutoff || c->end > r->cutoff)
		return true;
	if (c->end <= r->cutoff - r->o->overlap)
		return false;
	return !batch_covers(r, c);
}

/* Cells in time order, then by group columns. */
static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = *(struct cell *const *)a, *y = *(struct cell *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return strcmp(x->cols, y->cols);
}

/*
 * The speed windows the answer takes, into its buckets, in time order:
 * sums of doubles depend on their order, and the order of the cells'
 * table on what else it holds, so an answer would otherwise change in
 * its last digits when rows it does not take (dropped by --compact) are
 * gone.
 */
static int
add_speed(struct run *r)
{
	struct cell **v = xmalloc(sizeof(*v) * (r->cells.count + 1));
	struct strmap_entry *ce;
	size_t i = 0, n = 0;
	int rc = 0;

	while ((ce = strmap_next(&r->cells, &i)) != NULL)
		if (merge_speed_wanted(r, ce->p))
			v[n++] = ce->p;
	qsort(v, n, sizeof(*v), cmp_cell);
	for (i = 0; i < n && rc == 0; i++)
		rc = merge_add(r, LAYER_SPEED, v[i]->start, v[i]->end, v[i]->session, v[i]->early,
		    v[i]->bcols, strlen(v[i]->bcols), v[i]->st);
	free(v);
	return rc;
}

int
merge_settle(struct run *r)
{
	const struct options *o = r->o;
	struct layer *b = &r->l[LAYER_BATCH], *s = &r->l[LAYER_SPEED];

	for (int layer = 0; layer < NLAYERS; layer++)
		if (o->path[layer] && r->l[layer].rows == 0)
			msg_note("no %s rows in %s: the answer is %s", merge_layer_names[layer],
			    o->path[layer], layer == LAYER_BATCH ? "realtime-only" : "batch-only");
	if (!r->have_cutoff && b->have_mark) {
		r->cutoff = b->mark;
		r->have_cutoff = true;
	}
	/* Speed windows before the overlap never enter the answer, so the
	 * speed layer covers the answer from there at the earliest ("partial");
	 * this also makes the answer the same after --compact dropped them. */
	if (r->have_cutoff && s->lo < r->cutoff - o->overlap)
		s->lo = r->cutoff - o->overlap;
	if (!b->first && !s->first)
		return 0;
	if (!b->first && merge_common_aggs(r) < 0)
		return -1;
	if (o->anomalies)
		return 0;
	return add_speed(r);
}

