/* strmap.h: a hash table from byte-string keys to small records. */
#ifndef CSA_STRMAP_H
#define CSA_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Open addressing with linear probing and tombstone-free deletion by
 * rebuilding.  Keys are copied in and owned by the map; `p` is the caller's
 * and is not freed by the map.  Entry pointers stay valid until the next
 * insertion.
 */
struct strmap_entry {
	char *key;		/* NUL-terminated copy; NULL marks an empty slot */
	size_t klen;
	uint64_t hash;
	int64_t a, b;		/* two numbers for the caller */
	void *p;		/* a pointer for the caller */
};

struct strmap {
	struct strmap_entry *slot;
	size_t cap;		/* a power of two, or 0 */
	size_t count;
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);

uint64_t strmap_hash(const char *key, size_t klen);

/* The entry for key, or NULL. */
struct strmap_entry *strmap_get(const struct strmap *m, const char *key, size_t klen);

/* The entry for key, added (a = b = 0, p = NULL) when missing; *added says which. */
struct strmap_entry *strmap_put(struct strmap *m, const char *key, size_t klen,
    bool *added);

/* Keep only the entries for which keep() returns true. */
void strmap_filter(struct strmap *m, bool (*keep)(const struct strmap_entry *, void *),
    void *arg);

/* Iterate: start with i = 0; returns NULL when done. */
struct strmap_entry *strmap_next(const struct strmap *m, size_t *i);

#endif
