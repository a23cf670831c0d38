/* hll.h: distinct counts that merge: an exact set of hashes, then HyperLogLog. */
#ifndef CSA_HLL_H
#define CSA_HLL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * A distinct count of 64-bit hashes.  Up to HLL_EXACT distinct hashes it
 * keeps the hashes themselves and its count is exact (two different values
 * share a hash with a chance below 1024^2 / 2^65, 3e-14); past that it
 * turns into a HyperLogLog of 2^HLL_P one-byte registers (Flajolet, Fusy,
 * Gandouet, Meunier 2007), with the standard error 1.04 / sqrt(2^HLL_P),
 * 1.625%, and linear counting for small estimates.  Both forms are
 * functions of the set of hashes taken in, so a merge of any partials
 * equals one pass over their union exactly.
 */
enum { HLL_P = 12, HLL_EXACT = 1024 };

struct hll;

/* An empty count; caller frees with hll_free (NULL is fine). */
struct hll *hll_new(void);
void hll_free(struct hll *h);
struct hll *hll_copy(const struct hll *h);

/* The hash of a value: its kind (tag, one byte) and canonical bytes
 * p[0..len), 64-bit FNV-1a over them, then
 * MurmurHash3's fmix64 finalizer so that every input bit reaches every
 * output bit (FNV alone leaves the top bits, which pick a register, weak). */
uint64_t hll_hash(int tag, const void *p, size_t len);

void hll_add(struct hll *h, uint64_t hash);
void hll_merge(struct hll *into, const struct hll *from);

/* The distinct count: exact in the set form, the estimate past it. */
int64_t hll_count(const struct hll *h);

/*
 * The binary form, version 1 (all integers little-endian):
 *   byte 1, then 'S', a count n (4 bytes) and n hashes (8 bytes each) in
 *   increasing order; or 'R', the precision (one byte, HLL_P) and 2^HLL_P
 *   registers of one byte each (0..65-HLL_P).
 * hll_decode checks all of it: NULL with ERR_DATA saying what is wrong.
 */
void hll_encode(const struct hll *h, struct buf *b);
struct hll *hll_decode(const unsigned char *p, size_t len, struct err *e);

#endif
