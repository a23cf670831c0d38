/* tdigest.c: quantiles that merge: a merging t-digest. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "tdigest.h"

/* Values wait in a buffer and are merged into the centroids in one sorted
 * pass when it fills: 5 delta, as the paper suggests. */
enum { TD_BUF = 5 * TD_DELTA, TD_MAXC = 10 * TD_DELTA };

struct td_c {
	double mean;
	int64_t w;
};

struct tdigest {
	struct td_c *c;		/* the centroids, by mean */
	int n, capc;
	struct td_c *buf;	/* values and centroids not merged yet */
	int nbuf, capbuf;
	int64_t count;		/* the weight of both */
	double min, max;	/* when count > 0 */
};

struct tdigest *
td_new(void)
{
	return xcalloc(1, sizeof(struct tdigest));
}

void
td_free(struct tdigest *t)
{
	if (t == NULL)
		return;
	free(t->c);
	free(t->buf);
	free(t);
}

struct tdigest *
td_copy(const struct tdigest *t)
{
	struct tdigest *c = xmalloc(sizeof(*c));

	*c = *t;
	c->c = NULL;
	c->buf = NULL;
	c->capc = t->n;
	c->capbuf = t->nbuf;
	if (t->n) {
		c->c = xmemdup(t->c, sizeof(*c->c) * (size_t)t->n);
	}
	if (t->nbuf) {
		c->buf = xmemdup(t->buf, sizeof(*c->buf) * (size_t)t->nbuf);
	}
	return c;
}

static int
cmp_mean(const void *a, const void *b)
{
	const struct td_c *x = a, *y = b;

	if (x->mean != y->mean)
		return x->mean < y->mean ? -1 : 1;
	return (x->w > y->w) - (x->w < y->w);
}

/* The largest q a centroid that starts at q0 may reach: one unit of k1
 * further, k1(q) = delta / (2 pi) * asin(2q - 1). */
static double
q_limit(double q0)
{
	double k = TD_DELTA / (2 * M_PI) * asin(2 * q0 - 1) + 1;

	if (k >= TD_DELTA / 4.0)
		return 1;
	return (sin(2 * M_PI * k / TD_DELTA) + 1) / 2;
}

/* Merge the buffer into the centroids: one pass in order of mean, each
 * centroid growing while it stays within one unit of k. */
static void
compress(struct tdigest *t)
{
	struct td_c *all, cur;
	int n = t->n + t->nbuf, j = 0;
	double total = (double)t->count, q0 = 0, lim;
	int64_t wsum;

	if (t->nbuf == 0)
		return;
	all = xmalloc(sizeof(*all) * (size_t)n);
	if (t->n)
		memcpy(all, t->c, sizeof(*all) * (size_t)t->n);
	memcpy(all + t->n, t->buf, sizeof(*all) * (size_t)t->nbuf);
	qsort(all, (size_t)n, sizeof(*all), cmp_mean);
	lim = q_limit(0);
	cur = all[0];
	for (int i = 1; i < n; i++) {
		wsum = cur.w + all[i].w;
		if (q0 + (double)wsum / total <= lim) {
			cur.mean += (all[i].mean - cur.mean) * (double)all[i].w / (double)wsum;
			cur.w = wsum;
		} else {
			all[j++] = cur;
			q0 += (double)cur.w / total;
			lim = q_limit(q0);
			cur = all[i];
		}
	}
	all[j++] = cur;
	free(t->c);
	t->c = all;
	t->n = j;
	t->capc = n;
	t->nbuf = 0;
}

/* Take a centroid (a value is one of weight 1) into the buffer. */
static void
take(struct tdigest *t, double mean, int64_t w, double min, double max)
{
	if (t->count == 0 || min < t->min)
		t->min = min;
	if (t->count == 0 || max > t->max)
		t->max = max;
	t->count += w;
	if (t->nbuf == t->capbuf) {
		t->capbuf = t->capbuf ? t->capbuf * 2 : 16;
		if (t->capbuf > TD_BUF)
			t->capbuf = TD_BUF;
		t->buf = xrealloc(t->buf, sizeof(*t->buf) * (size_t)t->capbuf);
	}
	t->buf[t->nbuf++] = (struct td_c){ mean, w };
	if (t->nbuf == TD_BUF)
		compress(t);
}

void
td_add(struct tdigest *t, double x)
{
	take(t, x, 1, x, x);
}

void
td_merge(struct tdigest *into, const struct tdigest *from)
{
	for (int i = 0; i < from->n; i++)
		take(into, from->c[i].mean, from->c[i].w, from->min, from->max);
	for (int i = 0; i < from->nbuf; i++)
		take(into, from->buf[i].mean, from->buf[i].w, from->min, from->max);
}

double
td_quantile(struct tdigest *t, double q)
{
	double pos, px, pv, cum = 0;

	if (t->count == 0)
		return NAN;
	compress(t);
	/*
	 * Knots (rank, value): (0.5, min), the centre of each centroid at its
	 * mean, (count - 0.5, max); the value at rank q (count - 1) + 0.5 is
	 * read off the line through them.  With one value a centroid, that
	 * is PERCENTILE_CONT exactly.
	 */
	pos = q * (double)(t->count - 1) + 0.5;
	px = 0.5;
	pv = t->min;
	for (int i = 0; i <= t->n; i++) {
		double cx, cv;

		if (i < t->n) {
			cx = cum + (double)t->c[i].w / 2;
			cv = t->c[i].mean;
			cum += (double)t->c[i].w;
		} else {
			cx = (double)t->count - 0.5;
			cv = t->max;
		}
		if (pos <= cx) {
			if (cx <= px)
				return cv;
			return pv + (pos - px) / (cx - px) * (cv - pv);
		}
		px = cx;
		pv = cv;
	}
	return t->max;
}

void
td_encode(struct tdigest *t, struct buf *b)
{
	compress(t);
	bytes_put_u8(b, 1);
	bytes_put_u8(b, 'T');
	bytes_put_u32(b, TD_DELTA);
	bytes_put_u32(b, (uint32_t)t->n);
	bytes_put_double(b, t->min);
	bytes_put_double(b, t->max);
	for (int i = 0; i < t->n; i++) {
		bytes_put_double(b, t->c[i].mean);
		bytes_put_u64(b, (uint64_t)t->c[i].w);
	}
}

struct tdigest *
td_decode(const unsigned char *p, size_t len, struct err *e)
{
	struct tdigest *t;
	uint32_t n;
	double prev;

	if (len < 26 || p[0] != 1 || p[1] != 'T') {
		err_set(e, ERR_DATA, "not a t-digest of version 1");
		return NULL;
	}
	if (bytes_get_u32(p + 2) != TD_DELTA) {
		err_set(e, ERR_DATA, "t-digest of compression %lu, not %d",
		    (unsigned long)bytes_get_u32(p + 2), TD_DELTA);
		return NULL;
	}
	n = bytes_get_u32(p + 6);
	if (n == 0 || n > TD_MAXC || len != 26 + (size_t)n * 16) {
		err_set(e, ERR_DATA, "t-digest: %lu centroids in %zu bytes", (unsigned long)n, len);
		return NULL;
	}
	t = td_new();
	t->min = bytes_get_double(p + 10);
	t->max = bytes_get_double(p + 18);
	t->c = xmalloc(sizeof(*t->c) * n);
	t->n = t->capc = (int)n;
	prev = t->min;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *c = p + 26 + (size_t)i * 16;
		uint64_t w = bytes_get_u64(c + 8);

		t->c[i].mean = bytes_get_double(c);
		t->c[i].w = (int64_t)w;
		/* Finite, in order, inside [min, max], weights that cannot
		 * overflow the count. */
		if (!isfinite(t->c[i].mean) || t->c[i].mean < prev || w < 1 ||
		    w > (uint64_t)INT64_MAX / 2 - (uint64_t)t->count) {
			err_set(e, ERR_DATA, "t-digest: centroid %lu is out of order or weight",
			    (unsigned long)i);
			td_free(t);
			return NULL;
		}
		prev = t->c[i].mean;
		t->count += t->c[i].w;
	}
	if (!isfinite(t->min) || !isfinite(t->max) || prev > t->max) {
		err_set(e, ERR_DATA, "t-digest: min and max do not hold the centroids");
		td_free(t);
		return NULL;
	}
	return t;
}

/* The weight the digest holds, to check a state's n against. */
int64_t
td_count(const struct tdigest *t)
{
	return t->count;
}
