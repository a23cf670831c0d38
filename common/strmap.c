/* strmap.c: open-addressing hash table keyed by byte strings. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "strmap.h"

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slot[i].key);
	free(m->slot);
	strmap_init(m);
}

/* FNV-1a, 64 bits. */
uint64_t
strmap_hash(const char *key, size_t klen)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < klen; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct strmap_entry *
find(const struct strmap *m, const char *key, size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_entry *s = &m->slot[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return s;
	}
}

static void
grow(struct strmap *m, size_t cap)
{
	struct strmap_entry *old = m->slot;
	size_t oldcap = m->cap;

	m->slot = xcalloc(cap, sizeof(*m->slot));
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
	free(old);
}

struct strmap_entry *
strmap_get(const struct strmap *m, const char *key, size_t klen)
{
	struct strmap_entry *s;

	if (m->count == 0)
		return NULL;
	s = find(m, key, klen, strmap_hash(key, klen));
	return s->key ? s : NULL;
}

struct strmap_entry *
strmap_put(struct strmap *m, const char *key, size_t klen, bool *added)
{
	uint64_t h = strmap_hash(key, klen);
	struct strmap_entry *s;

	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m, m->cap ? m->cap * 2 : 64);
	s = find(m, key, klen, h);
	if (added)
		*added = s->key == NULL;
	if (s->key == NULL) {
		memset(s, 0, sizeof(*s));
		s->key = xstrndup(key, klen);
		s->klen = klen;
		s->hash = h;
		m->count++;
	}
	return s;
}

void
strmap_filter(struct strmap *m, bool (*keep)(const struct strmap_entry *, void *),
    void *arg)
{
	struct strmap_entry *old = m->slot;
	size_t oldcap = m->cap;

	m->slot = oldcap ? xcalloc(oldcap, sizeof(*m->slot)) : NULL;
	m->count = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		if (keep(&old[i], arg)) {
			*find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
			m->count++;
		} else {
			free(old[i].key);
		}
	}
	free(old);
}

struct strmap_entry *
strmap_next(const struct strmap *m, size_t *i)
{
	while (*i < m->cap) {
		struct strmap_entry *s = &m->slot[(*i)++];

		if (s->key)
			return s;
	}
	return NULL;
}
