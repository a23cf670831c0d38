/* buf.h: a growable byte buffer, the scratch space of parsers and writers. */
#ifndef CSA_BUF_H
#define CSA_BUF_H

#include <stddef.h>
#include <string.h>

/*
 * A zeroed struct buf is an empty buffer.  The buffer owns p; buf_free
 * releases it and leaves an empty buffer.  p is always NUL-terminated once
 * anything was added (the NUL is not counted in len).  Allocation failure
 * aborts: these buffers hold one record or one document, and a machine that
 * cannot give that has nothing better to do.
 */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

void buf_free(struct buf *b);
void buf_reset(struct buf *b);		/* len = 0, memory kept */
void buf_reserve(struct buf *b, size_t more);

/* Append n bytes (inline: most are a few bytes, a key or a number, where
 * the calls cost more than the copy). */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s);
/* Append code point cp as UTF-8. */
void buf_add_utf8(struct buf *b, unsigned cp);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one byte (inline: the writers call it for every separator). */
static inline void
buf_addc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

/* Take ownership of the contents (caller frees); b is left empty. */
char *buf_steal(struct buf *b);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A copy of n bytes at p. */
void *xmemdup(const void *p, size_t n);

#endif
