/* tdigest.h: quantiles that merge: a merging t-digest. */
#ifndef CSA_TDIGEST_H
#define CSA_TDIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * A t-digest (Dunning and Ertl, "Computing extremely accurate quantiles
 * using t-digests", 2019), the merging variant with the scale function
 * k1(q) = delta / (2 pi) * asin(2q - 1) and compression delta = TD_DELTA.
 * Every centroid spans at most one unit of k, so it holds at most
 * (2 pi / delta) * sqrt(q (1 - q)) of the values around rank q: the rank
 * error of a quantile is within that, pi / delta = 1.6% at the median and
 * 0.31% at the 1st and 99th percentiles.  The extremes are kept exactly,
 * and while every centroid holds one value (up to about delta / 2 values)
 * a quantile is exact, interpolated as PERCENTILE_CONT does.  Merging
 * digests keeps the same bound.
 */
enum { TD_DELTA = 200 };

struct tdigest;

/* An empty digest; caller frees with td_free (NULL is fine). */
struct tdigest *td_new(void);
void td_free(struct tdigest *t);
struct tdigest *td_copy(const struct tdigest *t);

void td_add(struct tdigest *t, double x);
void td_merge(struct tdigest *into, const struct tdigest *from);

/* The value at fraction q (0..1) of the ranks, as PERCENTILE_CONT; NaN
 * when the digest is empty.  Compresses t first. */
double td_quantile(struct tdigest *t, double q);

/* The number of values taken in (the sum of the weights). */
int64_t td_count(const struct tdigest *t);

/*
 * The binary form, version 1 (little-endian): byte 1, 'T', delta (4
 * bytes), the number of centroids n (4 bytes), min and max (doubles),
 * then n centroids in increasing order of mean: mean (double) and weight
 * (8 bytes, at least 1).  td_encode compresses t first.  td_decode checks
 * all of it: NULL with ERR_DATA saying what is wrong.
 */
void td_encode(struct tdigest *t, struct buf *b);
struct tdigest *td_decode(const unsigned char *p, size_t len, struct err *e);

#endif
