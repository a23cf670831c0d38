/* merge-out.c: csa-merge's answer: its buckets as rows, in order. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "merge.h"

const char *const merge_layer_names[NLAYERS] = { "batch", "realtime" };

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

void
merge_put_sources(struct buf *b, int from)
{
	json_key(b, "data_freshness");
	json_put_str(b, from == (FROM_BATCH | FROM_SPEED) ? "batch+realtime" :
	    from == FROM_BATCH ? "batch-only" : "realtime-only",
	    from == (FROM_BATCH | FROM_SPEED) ? 14 : from == FROM_BATCH ? 10 : 13);
	json_key(b, "sources");
	buf_addc(b, '[');
	for (int layer = 0; layer < NLAYERS; layer++)
		if (from & (1 << layer))
			json_put_str(b, merge_layer_names[layer], strlen(merge_layer_names[layer]));
	buf_addc(b, ']');
}

/* One answer row: a bucket's window, group and aggregates, and where
 * they came from. */
static void
put_bucket(struct run *r, const struct bucket *k, struct buf *b)
{
	struct buf *m = &r->key;

	buf_reset(m);
	merge_put_sources(m, k->from);
	if (k->early) {
		json_key(m, "early");
		json_put_bool(m, true);
	}
	if ((r->o->every || r->o->total) && !covered(r, k->start, k->end)) {
		json_key(m, "partial");
		json_put_bool(m, true);
		r->partial++;
	}
	row_put(b, &(struct row){ .start = k->start, .end = k->end, .cols = k->cols,
	    .cols_len = strlen(k->cols), .aggs = r->out, .st = k->st, .markers = m->p,
	    .no_state = r->o->no_state });
}

static int r_count_col;

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

/* NDJSON goes out as it is made; a table, CSV or TSV needs every row first. */
void
merge_spill(const struct run *r, struct buf *out)
{
	if (r->o->format == TABLE_NDJSON && out->len >= 1 << 16) {
		fwrite(out->p, 1, out->len, stdout);
		buf_reset(out);
	}
}
void
merge_answer(struct run *r, struct buf *out, size_t *nrow)
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
	qsort(v, n, sizeof(*v), r->o->format == TABLE_ALIGNED ? cmp_count : cmp_time);
	for (size_t i = 0; i < n; i++) {
		put_bucket(r, v[i], out);
		merge_spill(r, out);
	}
	*nrow = n;
	free(v);
}
