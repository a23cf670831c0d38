/* bytes.h: little-endian integers and doubles in the binary forms of sketches. */
#ifndef CSA_BYTES_H
#define CSA_BYTES_H

#include <stdint.h>
#include <string.h>

#include "buf.h"

/* Byte by byte, so that a state written on one machine reads on any. */
static inline void
bytes_put_u8(struct buf *b, unsigned x)
{
	buf_addc(b, (char)(unsigned char)x);
}

static inline void
bytes_put_u32(struct buf *b, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		bytes_put_u8(b, (x >> (8 * i)) & 0xff);
}

static inline void
bytes_put_u64(struct buf *b, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		bytes_put_u8(b, (unsigned)(x >> (8 * i)) & 0xff);
}

static inline void
bytes_put_double(struct buf *b, double d)
{
	uint64_t x;

	memcpy(&x, &d, sizeof(x));
	bytes_put_u64(b, x);
}

static inline uint32_t
bytes_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
bytes_get_u64(const unsigned char *p)
{
	return (uint64_t)bytes_get_u32(p) | (uint64_t)bytes_get_u32(p + 4) << 32;
}

static inline double
bytes_get_double(const unsigned char *p)
{
	uint64_t x = bytes_get_u64(p);
	double d;

	memcpy(&d, &x, sizeof(d));
	return d;
}

#endif
