/* hll.c: distinct counts that merge: an exact set of hashes, then HyperLogLog. */
#include <config.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hll.h"

enum { HLL_M = 1 << HLL_P, HLL_MAXRANK = 64 - HLL_P + 1 };

/*
 * The set form is an open-addressed table of hashes (0 marks a free slot,
 * so the hash 0 is kept in `zero`); reg is NULL until the set outgrows
 * HLL_EXACT, then set is freed and reg holds the registers.
 */
struct hll {
	uint64_t *set;
	uint32_t n, cap;
	bool zero;
	uint8_t *reg;
};

struct hll *
hll_new(void)
{
	return xcalloc(1, sizeof(struct hll));
}

void
hll_free(struct hll *h)
{
	if (h == NULL)
		return;
	free(h->set);
	free(h->reg);
	free(h);
}

struct hll *
hll_copy(const struct hll *h)
{
	struct hll *c = xmalloc(sizeof(*c));

	*c = *h;
	if (h->set)
		c->set = xmemdup(h->set, sizeof(*c->set) * h->cap);
	if (h->reg)
		c->reg = xmemdup(h->reg, HLL_M);
	return c;
}

uint64_t
hll_hash(int tag, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t x = 0xcbf29ce484222325ULL;

	x ^= (unsigned char)tag;
	x *= 0x100000001b3ULL;
	for (size_t i = 0; i < len; i++) {
		x ^= s[i];
		x *= 0x100000001b3ULL;
	}
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The register a hash sets: its top HLL_P bits pick it, and the place of
 * the first 1 among the other bits (from 1) is what it holds at least. */
static void
reg_add(uint8_t *reg, uint64_t hash)
{
	uint32_t k = (uint32_t)(hash >> (64 - HLL_P));
	uint64_t w = hash << HLL_P;
	uint8_t rank = w ? (uint8_t)(__builtin_clzll(w) + 1) : HLL_MAXRANK;

	if (rank > reg[k])
		reg[k] = rank;
}

/* The hashes of the set form, one call each. */
static void
set_each(const struct hll *h, void (*fn)(void *, uint64_t), void *arg)
{
	if (h->zero)
		fn(arg, 0);
	for (uint32_t i = 0; i < h->cap; i++)
		if (h->set[i])
			fn(arg, h->set[i]);
}

static void
to_reg(void *arg, uint64_t hash)
{
	reg_add(arg, hash);
}

/* From the set form to registers, which then stand for the same hashes. */
static void
make_registers(struct hll *h)
{
	h->reg = xcalloc(HLL_M, 1);
	set_each(h, to_reg, h->reg);
	free(h->set);
	h->set = NULL;
	h->n = h->cap = 0;
	h->zero = false;
}

/* Put hash into the table, which has room. */
static void
set_put(struct hll *h, uint64_t hash)
{
	uint32_t mask = h->cap - 1, i = (uint32_t)hash & mask;

	while (h->set[i] && h->set[i] != hash)
		i = (i + 1) & mask;
	if (h->set[i] == 0) {
		h->set[i] = hash;
		h->n++;
	}
}

static void
set_grow(struct hll *h)
{
	uint64_t *old = h->set;
	uint32_t oldcap = h->cap;

	h->cap = h->cap ? h->cap * 2 : 16;
	h->set = xcalloc(h->cap, sizeof(*h->set));
	h->n = 0;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i])
			set_put(h, old[i]);
	free(old);
}

void
hll_add(struct hll *h, uint64_t hash)
{
	if (h->reg) {
		reg_add(h->reg, hash);
		return;
	}
	if (hash == 0) {
		h->zero = true;
	} else {
		/* At most half full: probes stay short. */
		if ((h->n + 1) * 2 > h->cap)
			set_grow(h);
		set_put(h, hash);
	}
	if (h->n + h->zero > HLL_EXACT)
		make_registers(h);
}

static void
add_one(void *arg, uint64_t hash)
{
	hll_add(arg, hash);
}

void
hll_merge(struct hll *into, const struct hll *from)
{
	if (from->reg == NULL) {
		set_each(from, add_one, into);
		return;
	}
	if (into->reg == NULL)
		make_registers(into);
	for (int k = 0; k < HLL_M; k++)
		if (from->reg[k] > into->reg[k])
			into->reg[k] = from->reg[k];
}

int64_t
hll_count(const struct hll *h)
{
	double z = 0, m = HLL_M, est;
	int zeros = 0;

	if (h->reg == NULL)
		return h->n + h->zero;
	for (int k = 0; k < HLL_M; k++) {
		z += ldexp(1, -h->reg[k]);
		zeros += h->reg[k] == 0;
	}
	est = 0.7213 / (1 + 1.079 / m) * m * m / z;
	/* Small counts: linear counting over the empty registers is the
	 * better estimate (the paper's small-range correction).  64-bit
	 * hashes need no large-range one. */
	if (est <= 2.5 * m && zeros > 0)
		est = m * log(m / zeros);
	return llround(est);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
collect(void *arg, uint64_t hash)
{
	struct buf *v = arg;

	buf_add(v, &hash, sizeof(hash));
}

void
hll_encode(const struct hll *h, struct buf *b)
{
	bytes_put_u8(b, 1);
	if (h->reg) {
		bytes_put_u8(b, 'R');
		bytes_put_u8(b, HLL_P);
		buf_add(b, h->reg, HLL_M);
	} else {
		struct buf v = { 0 };
		size_t n;

		bytes_put_u8(b, 'S');
		set_each(h, collect, &v);
		n = v.len / sizeof(uint64_t);
		/* Sorted, so that equal sets are equal bytes. */
		if (n)
			qsort(v.p, n, sizeof(uint64_t), cmp_u64);
		bytes_put_u32(b, (uint32_t)n);
		for (size_t i = 0; i < n; i++) {
			uint64_t x;

			memcpy(&x, v.p + i * sizeof(x), sizeof(x));
			bytes_put_u64(b, x);
		}
		buf_free(&v);
	}
}

struct hll *
hll_decode(const unsigned char *p, size_t len, struct err *e)
{
	struct hll *h;

	if (len < 2 || p[0] != 1) {
		err_set(e, ERR_DATA, "not a distinct count of version 1");
		return NULL;
	}
	h = hll_new();
	if (p[1] == 'R') {
		if (len != 3 + HLL_M || p[2] != HLL_P) {
			err_set(e, ERR_DATA, "distinct count: %s", len >= 3 && p[2] != HLL_P ?
			    "another HyperLogLog precision than 12" : "registers cut short or too long");
			goto bad;
		}
		h->reg = xmalloc(HLL_M);
		for (int k = 0; k < HLL_M; k++)
			if ((h->reg[k] = p[3 + k]) > HLL_MAXRANK) {
				err_set(e, ERR_DATA, "distinct count: register %d is %u, above %d", k,
				    p[3 + k], HLL_MAXRANK);
				goto bad;
			}
		return h;
	}
	if (p[1] == 'S' && len >= 6) {
		uint32_t n = bytes_get_u32(p + 2);
		uint64_t prev = 0;

		if (n > HLL_EXACT || len != 6 + (size_t)n * 8) {
			err_set(e, ERR_DATA, "distinct count: a set of %lu hashes in %zu bytes",
			    (unsigned long)n, len);
			goto bad;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t x = bytes_get_u64(p + 6 + (size_t)i * 8);

			if (i > 0 && x <= prev) {
				err_set(e, ERR_DATA, "distinct count: hashes not in increasing order");
				goto bad;
			}
			hll_add(h, x);
			prev = x;
		}
		return h;
	}
	err_set(e, ERR_DATA, "distinct count: neither a set nor registers");
bad:
	hll_free(h);
	return NULL;
}
