/* merge-buckets.c: csa-merge's buckets: where each row of a layer goes in the answer. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "timefmt.h"

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

void
merge_buckets_free(struct bucket_table *t)
{
	/* The states a bucket has room for: what size was rounded up by is
	 * less than one state. */
	int n = t->size ? (int)((t->size - sizeof(struct bucket)) / sizeof(struct agg_state)) : 0;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			agg_states_free(t->slot[i]->st, n);
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

int64_t
merge_align(int64_t t, int64_t d)
{
	return t >= 0 ? t / d * d : -((-t + d - 1) / d) * d;
}

/* Where a row's window goes: its own window, a bucket of --every, or the
 * whole time; -1 when it does not fit in one bucket. */
static int
bucket_span(struct run *r, int64_t *start, int64_t *end, bool session)
{
	int64_t d = r->o->every, b;

	if (d == 0)
		return 0;
	b = merge_align(*start, d);
	if (*end > b + d && !session) {
		char s[32], t[32];

		tfmt_format(*start, s);
		tfmt_format(*end, t);
		return merge_misfit(r, "--every: the window %s to %s is longer than a bucket, or "
		    "crosses one; use a larger --every", s, t);
	}
	*start = b;
	*end = b + d;
	return 0;
}

int
merge_add(struct run *r, int layer, int64_t start, int64_t end, bool session, bool early,
    const char *bcols, size_t blen, const struct agg_state *st)
{
	struct bucket *b;

	if (bucket_span(r, &start, &end, session) < 0)
		return -1;
	b = bucket_at(r, start, end, bcols, blen);
	b->from |= layer == LAYER_BATCH ? FROM_BATCH : FROM_SPEED;
	b->early = b->early || early;
	for (int i = 0; i < r->out->n; i++)
		agg_merge(&r->out->v[i], &b->st[i], &st[r->map[layer][i]]);
	r->l[layer].rows_used++;
	return 0;
}
