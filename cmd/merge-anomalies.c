/* merge-anomalies.c: csa-merge --anomalies: speed windows against the batch view's baseline. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "merge.h"

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

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = *(struct cell *const *)a, *y = *(struct cell *const *)b;

	return cmp_window(x->start, x->end, x->cols, y->start, y->end, y->cols);
}

/* Free the windows anomalies() merged speed rows into (their columns are
 * the cells'). */
static void
free_bins(struct strmap *bins, int na)
{
	struct strmap_entry *e;
	size_t i = 0;

	while ((e = strmap_next(bins, &i)) != NULL) {
		agg_states_free(((struct cell *)e->p)->st, na);
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
int
merge_anomalies(struct run *r, struct buf *out, size_t *nrow)
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
		return merge_misfit(r, "--anomalies: %s", oc < 0 ? "the views have no count aggregate in "
		    "common" : b->mixed_len ? "the batch windows are not all of one length" :
		    "the batch view spans fewer than two windows: no baseline");
	if (sp->overlapping)
		return merge_misfit(r, "--anomalies: hopping and sliding windows overlap: adding them "
		    "into the batch windows would count events more than once; give "
		    "tumbling or session rows");
	/* The speed rows in time order, so that a bin's sums are added in
	 * one order whatever else the table holds (--from, --to). */
	v = xmalloc(sizeof(*v) * (r->cells.count + 1));
	while ((ce = strmap_next(&r->cells, &i)) != NULL)
		if (merge_speed_wanted(r, ce->p))
			v[n++] = ce->p;
	qsort(v, n, sizeof(*v), cmp_cell);
	strmap_init(&bins);
	for (size_t m = 0; m < n; m++) {
		const struct cell *c = v[m];
		struct cell *bin;
		int64_t start;
		bool added;

		if (c->end - c->start > w) {
			free(v);
			free_bins(&bins, na);
			buf_free(&key);
			return merge_misfit(r, "--anomalies: speed windows are longer than the batch "
			    "windows they are compared with");
		}
		start = merge_align(c->start, w);
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
	free(v);
	v = xmalloc(sizeof(*v) * (bins.count + 1));
	i = 0;
	n = 0;
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
		merge_put_sources(&r->key, FROM_SPEED);
		row_put(out, &(struct row){ .start = v[i]->start, .end = v[i]->end,
		    .cols = v[i]->cols, .cols_len = strlen(v[i]->cols), .aggs = r->out,
		    .st = v[i]->st, .markers = r->key.p, .no_state = r->o->no_state });
		++*nrow;
		merge_spill(r, out);
	}
	free(v);
	free_bins(&bins, na);
	buf_free(&key);
	return 0;
}
