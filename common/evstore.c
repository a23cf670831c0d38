/* evstore.c: the batch layer's deduplicated events, in memory or in SQLite. */
#include <config.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "evstore.h"
#include "strmap.h"

enum { S_ROOT, S_ADD_ID, S_MOVE_IDS, S_GET, S_INSERT, S_UPDATE, S_COPY, S_DELETE, S_DAYS,
	S_SCAN, S_LOAD, S_MAX };

static const char *const sql[S_MAX] = {
	[S_ROOT] = "SELECT root FROM ids WHERE id = ?1",
	[S_ADD_ID] = "INSERT OR REPLACE INTO ids(id, root) VALUES (?1, ?2)",
	[S_MOVE_IDS] = "UPDATE ids SET root = ?1 WHERE root = ?2",
	[S_GET] = "SELECT version, seq, t, deleted FROM ev WHERE root = ?1",
	[S_INSERT] = "INSERT INTO ev(version, seq, t, deleted, line) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_UPDATE] = "UPDATE ev SET version = ?2, seq = ?3, t = ?4, deleted = ?5, line = ?6 "
	    "WHERE root = ?1",
	[S_COPY] = "UPDATE ev SET (version, seq, t, deleted, line) = "
	    "(SELECT version, seq, t, deleted, line FROM ev WHERE root = ?2) WHERE root = ?1",
	[S_DELETE] = "DELETE FROM ev WHERE root = ?1",
	[S_DAYS] = "SELECT DISTINCT (t - 1) / 86400000 - ((t - 1) % 86400000 < 0) FROM ev "
	    "WHERE deleted = 0 ORDER BY 1",
	[S_SCAN] = "SELECT line, t FROM ev WHERE deleted = 0 AND t > ?1 AND t <= ?2 "
	    "ORDER BY t, seq",
	[S_LOAD] = "INSERT INTO ev(root, version, seq, t, deleted, line) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

/* What a store's records are: a file that says otherwise (or nothing,
 * from before records) holds something else. */
static const char records_format[] = "1";

/*
 * The table in memory.  A root is an event: its winning version's time,
 * version, put order and record (rec: a 32-bit header, len << 1 | deleted,
 * then the caller's bytes).  Roots merged into another point to it
 * (parent); ids point to a root, maybe merged since, and find() follows.
 */
struct mroot {
	int64_t t, version;
	unsigned char *rec;
	uint32_t seq, parent;
};

/* An id's slot: its hash and where its key is in the key pool (in units
 * of 4 bytes; 0: an empty slot).  A key is its root (32 bits), a varint
 * length and the bytes.  Eight bytes a slot, not sixteen with a pointer:
 * at ten million ids that is 130 MB (and strmap's entries, with a copy
 * of the key and three words for the caller, take 56). */
struct mid {
	uint32_t hash, key;
};

/* One block of memory that grows (realloc moves large ones by remapping
 * pages, without a copy); offsets stay valid where pointers would not. */
struct pool {
	unsigned char *p;
	size_t len, cap;
};

enum { ROOT_BLOCK = 1 << 12 };

/* Bytes handed out from large blocks, all freed at once. */
struct arena {
	unsigned char *cur;
	size_t left, bytes, blocksize;
	unsigned char **block;
	size_t nblock;
};

/* A live event, for the scan in time order. */
struct mord {
	int64_t t;
	uint32_t seq, root;
};

struct memtab {
	struct mroot **rb;	/* roots in blocks of ROOT_BLOCK: no copy as they grow */
	uint32_t nr;
	struct mid *slot;	/* open addressing, a power of two */
	size_t cap, count;
	struct arena recs;
	struct pool keys;
	struct mord *ord;	/* set by the first scan */
	size_t nord;
	bool keep_ids;		/* for a new state: the ids outlive the first scan */
};

struct evstore {
	struct memtab *m;	/* NULL: in SQLite */
	int64_t memory;
	int64_t spilled_at;	/* the put at which the table went to SQLite; 0: none */
	sqlite3 *db;
	sqlite3_stmt *st[S_MAX];
	int64_t seq;		/* the order of puts, across runs */
	char *name;
};

/* ---- the table in memory ---- */

/* n bytes from the arena, aligned for the 32-bit record header. */
static unsigned char *
arena_take(struct arena *a, size_t n)
{
	unsigned char *p;

	n = (n + 3) & ~(size_t)3;
	if (n > a->left) {
		size_t size = n > a->blocksize ? n : a->blocksize;

		a->block = xrealloc(a->block, sizeof(*a->block) * (a->nblock + 1));
		a->block[a->nblock++] = a->cur = xmalloc(size);
		a->left = size;
		a->bytes += size;
	}
	p = a->cur;
	a->cur += n;
	a->left -= n;
	return p;
}

static void
arena_free(struct arena *a)
{
	size_t block = a->blocksize;

	for (size_t i = 0; i < a->nblock; i++)
		free(a->block[i]);
	free(a->block);
	memset(a, 0, sizeof(*a));
	a->blocksize = block;
}

static void
mem_free(struct memtab *m)
{
	if (m == NULL)
		return;
	arena_free(&m->recs);
	free(m->keys.p);
	for (uint32_t b = 0; b < (m->nr + ROOT_BLOCK - 1) / ROOT_BLOCK; b++)
		free(m->rb[b]);
	free(m->rb);
	free(m->slot);
	free(m->ord);
	free(m);
}

/* What the table holds, in bytes. */
static size_t
mem_bytes(const struct memtab *m)
{
	size_t roots = (m->nr + ROOT_BLOCK - 1) / ROOT_BLOCK * ROOT_BLOCK;

	return m->recs.bytes + m->keys.len + sizeof(**m->rb) * roots +
	    sizeof(*m->slot) * m->cap;
}

static bool
rec_deleted(const unsigned char *rec)
{
	uint32_t h;

	memcpy(&h, rec, sizeof(h));
	return h & 1;
}

static size_t
rec_len(const unsigned char *rec)
{
	uint32_t h;

	memcpy(&h, rec, sizeof(h));
	return h >> 1;
}

/* A key's length (a varint) and where its bytes start. */
static const unsigned char *
key_bytes(const unsigned char *k, size_t *len)
{
	size_t n = 0;
	int shift = 0;

	do {
		n |= (size_t)(*k & 0x7f) << shift;
		shift += 7;
	} while (*k++ & 0x80);
	*len = n;
	return k;
}

static struct mroot *
root(const struct memtab *m, uint32_t i)
{
	return &m->rb[i / ROOT_BLOCK][i % ROOT_BLOCK];
}

/* The root an id's root was merged into (halving the path on the way). */
static uint32_t
mem_find(struct memtab *m, uint32_t i)
{
	struct mroot *r;

	while ((r = root(m, i))->parent != i) {
		r->parent = root(m, r->parent)->parent;
		i = r->parent;
	}
	return i;
}

/* The key a slot points to. */
static unsigned char *
key_at(const struct memtab *m, const struct mid *sl)
{
	return m->keys.p + (size_t)sl->key * 4;
}

static uint32_t
key_root(const struct memtab *m, const struct mid *sl)
{
	uint32_t r;

	memcpy(&r, key_at(m, sl), sizeof(r));
	return r;
}

/* The slot of an id: its own, or the empty one where it would go. */
static struct mid *
mem_slot(const struct memtab *m, const char *id, size_t len, uint32_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct mid *sl = &m->slot[i];
		const unsigned char *k;
		size_t klen;

		if (sl->key == 0)
			return sl;
		if (sl->hash != h)
			continue;
		k = key_bytes(key_at(m, sl) + 4, &klen);
		if (klen == len && memcmp(k, id, len) == 0)
			return sl;
	}
}

/* Room for n more ids: the table doubles past three quarters full. */
static void
mem_grow(struct memtab *m, size_t n)
{
	struct mid *old = m->slot;
	size_t ocap = m->cap;

	if (m->cap && (m->count + n) * 4 <= m->cap * 3)
		return;
	m->cap = m->cap ? m->cap * 2 : 1024;
	m->slot = xcalloc(m->cap, sizeof(*m->slot));
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key) {
			size_t j = old[i].hash & (m->cap - 1);

			while (m->slot[j].key != 0)
				j = (j + 1) & (m->cap - 1);
			m->slot[j] = old[i];
		}
	free(old);
}

/* A new id into its empty slot sl (evstore_put saw that the pool has room). */
static void
mem_add_id(struct memtab *m, struct mid *sl, const char *id, size_t len, uint32_t h,
    uint32_t root)
{
	unsigned char *p;
	size_t n = len, vlen = 1, need;

	while (n >> (7 * vlen))
		vlen++;
	need = (4 + vlen + len + 3) & ~(size_t)3;
	if (m->keys.len == 0)
		m->keys.len = 4;	/* offset 0 is no key */
	if (m->keys.len + need > m->keys.cap) {
		m->keys.cap = m->keys.cap / 2 * 3 > m->keys.len + need ? m->keys.cap / 2 * 3 :
		    m->keys.len + need + (64 << 10);
		m->keys.p = xrealloc(m->keys.p, m->keys.cap);
	}
	p = m->keys.p + m->keys.len;
	sl->key = (uint32_t)(m->keys.len / 4);
	m->keys.len += need;
	memcpy(p, &root, sizeof(root));
	p += sizeof(root);
	do {
		*p = n & 0x7f;
		n >>= 7;
		*p++ |= n ? 0x80 : 0;
	} while (n);
	memcpy(p, id, len);
	sl->hash = h;
	m->count++;
}

/* Does root a beat the version (version, seq): the greater version, then
 * the later put. */
static bool
mem_newer(int64_t av, uint32_t as, int64_t bv, uint32_t bs)
{
	return av != bv ? av > bv : as > bs;
}

static void
mem_tell(const struct mroot *r, evstore_day_fn fn, void *arg)
{
	if (!rec_deleted(r->rec))
		fn(evstore_day(r->t), arg);
}

/* evstore_put in memory: the same rules as db_put. */
static void
mem_put(struct memtab *m, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const void *rec, size_t len, int64_t seq64,
    evstore_day_fn day_fn, void *arg)
{
	uint32_t h[64], cur = 0, seq = (uint32_t)seq64;
	struct mroot nv = { t, version, NULL, seq, 0 };
	struct mid *sl[64];	/* each id's slot; NULL: the same as an earlier id */
	bool known[64];
	unsigned char hdr[4];
	bool have = false;

	if (nids > 64)
		nids = 64;
	mem_grow(m, (size_t)nids);
	for (int i = 0; i < nids; i++) {
		uint32_t r;
		int j;

		/* An event's ids list names its own id again, mostly. */
		for (j = 0; j < i && (idlen[j] != idlen[i] || memcmp(ids[j], ids[i], idlen[i]) != 0);
		    j++)
			;
		sl[i] = NULL;
		known[i] = false;
		if (j < i)
			continue;
		h[i] = (uint32_t)strmap_hash(ids[i], idlen[i]);
		sl[i] = mem_slot(m, ids[i], idlen[i], h[i]);
		if (sl[i]->key == 0)
			continue;
		known[i] = true;
		r = mem_find(m, key_root(m, sl[i]));
		if (have && r == cur)
			continue;
		mem_tell(root(m, r), day_fn, arg);
		if (!have) {
			cur = r;
			have = true;
		} else {
			/* Fold r into cur: the newer version stays, in cur. */
			struct mroot *a = root(m, cur), *b = root(m, r);

			if (mem_newer(b->version, b->seq, a->version, a->seq)) {
				a->t = b->t;
				a->version = b->version;
				a->seq = b->seq;
				a->rec = b->rec;
			}
			b->parent = cur;
		}
	}
	{
		uint32_t x = (uint32_t)len << 1 | deleted;

		memcpy(hdr, &x, sizeof(x));
	}
	nv.rec = hdr;
	mem_tell(&nv, day_fn, arg);
	if (!have || mem_newer(version, seq, root(m, cur)->version, root(m, cur)->seq)) {
		nv.rec = arena_take(&m->recs, sizeof(hdr) + len);
		memcpy(nv.rec, hdr, sizeof(hdr));
		memcpy(nv.rec + sizeof(hdr), rec, len);
		if (!have) {
			if (m->nr % ROOT_BLOCK == 0) {
				m->rb = xrealloc(m->rb, sizeof(*m->rb) * (m->nr / ROOT_BLOCK + 1));
				m->rb[m->nr / ROOT_BLOCK] = xmalloc(sizeof(**m->rb) * ROOT_BLOCK);
			}
			cur = m->nr++;
			nv.parent = cur;
		} else {
			nv.parent = cur;
		}
		*root(m, cur) = nv;
	}
	for (int i = 0; i < nids; i++) {
		if (sl[i] == NULL || known[i])
			continue;
		/* An id added just before may have taken the slot this one found. */
		if (sl[i]->key != 0)
			sl[i] = mem_slot(m, ids[i], idlen[i], h[i]);
		mem_add_id(m, sl[i], ids[i], idlen[i], h[i], cur);
	}
}

static int
cmp_ord(const void *a, const void *b)
{
	const struct mord *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The live events in time order, once; the ids are no longer needed,
 * unless they are to be saved. */
static void
mem_order(struct memtab *m)
{
	bool sorted = true;

	if (m->ord != NULL)
		return;
	if (!m->keep_ids) {
		free(m->keys.p);
		memset(&m->keys, 0, sizeof(m->keys));
		free(m->slot);
		m->slot = NULL;
		m->cap = m->count = 0;
	}
	m->ord = xmalloc(sizeof(*m->ord) * ((size_t)m->nr + 1));
	for (uint32_t i = 0; i < m->nr; i++) {
		const struct mroot *r = root(m, i);

		if (r->parent != i || rec_deleted(r->rec))
			continue;
		m->ord[m->nord] = (struct mord){ r->t, r->seq, i };
		if (m->nord > 0 && cmp_ord(&m->ord[m->nord - 1], &m->ord[m->nord]) > 0)
			sorted = false;
		m->nord++;
	}
	/* Events mostly come in time order: then there is nothing to sort. */
	if (!sorted)
		qsort(m->ord, m->nord, sizeof(*m->ord), cmp_ord);
}

static int
mem_scan_day(struct memtab *m, int64_t day, evstore_rec_fn fn, void *arg)
{
	int64_t from = day * 86400000, to = (day + 1) * 86400000;
	size_t lo = 0, hi;
	int rc;

	mem_order(m);
	/* The first event after from. */
	hi = m->nord;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->ord[mid].t <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < m->nord && m->ord[lo].t <= to; lo++) {
		const unsigned char *rec = root(m, m->ord[lo].root)->rec;

		if ((rc = fn(rec + 4, rec_len(rec), m->ord[lo].t, arg)) != 0)
			return rc;
	}
	return 0;
}

/* One version's record. */
struct ver {
	int64_t root, version, seq, t;
	bool deleted;
};

static int mem_to_db(struct evstore *s, struct memtab *m, struct err *e);

/* The indexes of the store's tables (mem_to_db drops them for a while). */
static const char indexes[] = "CREATE INDEX IF NOT EXISTS ids_root ON ids(root);"
    "CREATE INDEX IF NOT EXISTS ev_t ON ev(t)";

static int
db_err(struct evstore *s, struct err *e, const char *what)
{
	return err_set(e, ERR_IO, "%s: %s: %s", s->name, what, sqlite3_errmsg(s->db));
}

static int
exec(struct evstore *s, const char *text, struct err *e)
{
	if (sqlite3_exec(s->db, text, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, e, "database");
	return 0;
}

/* A one-value query's text, or NULL; caller frees. */
static char *
meta_get(struct evstore *s, const char *key)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = ?1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int
meta_set(struct evstore *s, const char *key, const char *v, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(k, v) VALUES (?1, ?2)", -1, &st,
	    NULL) != SQLITE_OK)
		return db_err(s, e, "database");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc < 0 ? db_err(s, e, "database") : 0;
}

/* Open the SQLite database at path ("": a private temporary one) with
 * the schema; for a file, check that it was saved by the same query. */
/* SQLite's page cache at most bytes (64 MB when below 1 KB). */
static int
cache_size(struct evstore *s, int64_t bytes, struct err *e)
{
	char pragma[64];

	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld",
	    bytes >= 1024 ? (long long)-(bytes / 1024) : -65536LL);
	return exec(s, pragma, e);
}

static int
db_open(struct evstore *s, const char *path, const char *query, struct err *e)
{
	char *saved, *format;
	int rc = 0;

	if (sqlite3_open_v2(path ? path : "", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK)
		return db_err(s, e, "cannot open");
	sqlite3_busy_timeout(s->db, 10000);
	if (cache_size(s, s->memory, e) < 0 || exec(s, "PRAGMA journal_mode = WAL", e) < 0 ||
	    exec(s, "PRAGMA synchronous = NORMAL", e) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);"
	    "CREATE TABLE IF NOT EXISTS ids(id TEXT PRIMARY KEY, root INTEGER NOT NULL) "
	    "WITHOUT ROWID;"
	    "CREATE TABLE IF NOT EXISTS ev(root INTEGER PRIMARY KEY, version INTEGER NOT NULL,"
	    " seq INTEGER NOT NULL, t INTEGER NOT NULL, deleted INTEGER NOT NULL, line BLOB);", e) < 0 ||
	    exec(s, indexes, e) < 0) {
		if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
			err_set(e, ERR_IO, "%s: not a csa-batch-agg state", s->name);
		return -1;
	}
	saved = meta_get(s, "query");
	format = meta_get(s, "records");
	if (saved && strcmp(saved, query) != 0)
		rc = err_set(e, ERR_USAGE, "%s: saved by another query (%s); run with the same "
		    "views, or start a new state", s->name, saved);
	else if (saved && (format == NULL || strcmp(format, records_format) != 0))
		/* States before records kept each event's line: not what is read now. */
		rc = err_set(e, ERR_USAGE, "%s: saved by an older csa-batch-agg (format %s, not "
		    "%s); start a new state from the input", s->name, format ? format : "of lines",
		    records_format);
	free(format);
	free(saved);
	if (rc < 0)
		return -1;
	saved = meta_get(s, "seq");
	s->seq = saved ? strtoll(saved, NULL, 10) : s->seq;
	free(saved);
	if (exec(s, "BEGIN IMMEDIATE", e) < 0 || meta_set(s, "query", query, e) < 0 ||
	    meta_set(s, "records", records_format, e) < 0)
		return -1;
	for (int i = 0; i < S_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		    NULL) != SQLITE_OK)
			return db_err(s, e, "database");
	return 0;
}

/* An empty table in memory for a store of that limit. */
static struct memtab *
mem_new(int64_t memory)
{
	struct memtab *m = xcalloc(1, sizeof(*m));

	/* Blocks of a sixteenth of the limit (64K to 4M): the table spills
	 * near the limit, not a block before it. */
	m->recs.blocksize = memory / 16 > (4 << 20) ? 4 << 20 :
	    memory / 16 < (64 << 10) ? 64 << 10 : (size_t)memory / 16;
	return m;
}

/* Whether the open database holds no event and no id yet. */
static bool
db_empty(struct evstore *s)
{
	sqlite3_stmt *st;
	bool empty = false;

	if (sqlite3_prepare_v2(s->db, "SELECT NOT EXISTS (SELECT 1 FROM ev) AND "
	    "NOT EXISTS (SELECT 1 FROM ids)", -1, &st, NULL) != SQLITE_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW)
		empty = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return empty;
}

struct evstore *
evstore_open(const char *path, const char *query, int64_t memory, struct err *e)
{
	struct evstore *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(path ? path : "temporary store");
	s->memory = memory;
	if (path == NULL) {
		s->m = mem_new(memory);
		return s;
	}
	if (db_open(s, path, query, e) < 0) {
		evstore_close(s, false, NULL);
		return NULL;
	}
	/* A new state is filled as a run without one is, in memory, and
	 * written in one pass when the run commits: a statement or more
	 * for each event took six times as long.  Past the limit the table
	 * spills into the state, and the run goes on there. */
	if (db_empty(s)) {
		s->m = mem_new(memory);
		s->m->keep_ids = true;
	}
	return s;
}

int
evstore_close(struct evstore *s, bool commit, struct err *e)
{
	int rc = 0;

	if (s == NULL)
		return 0;
	if (commit && s->db) {
		struct memtab *m = s->m;
		char seq[32];

		/* A new state's events, still in memory. */
		s->m = NULL;
		snprintf(seq, sizeof(seq), "%lld", (long long)s->seq);
		if ((m != NULL && mem_to_db(s, m, e) < 0) || meta_set(s, "seq", seq, e) < 0 ||
		    exec(s, "COMMIT", e) < 0)
			rc = -1;
	}
	mem_free(s->m);
	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(s->db);
	free(s->name);
	free(s);
	return rc;
}

int64_t
evstore_day(int64_t t)
{
	int64_t q = (t - 1) / 86400000;

	return ((t - 1) % 86400000 < 0) ? q - 1 : q;
}

static int
step_done(struct evstore *s, sqlite3_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, e, "write");
}

/* The root an id belongs to, 0 for none, or -1 with e when it could not
 * be read.  A read that fails must fail the put: after an I/O error
 * SQLite may have rolled the run's transaction back, and what the put
 * wrote next would be saved at once, on its own. */
static int64_t
root_of(struct evstore *s, const char *id, size_t len, struct err *e)
{
	sqlite3_stmt *st = s->st[S_ROOT];
	int64_t r = 0;
	int rc;

	sqlite3_bind_text(st, 1, id, (int)len, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? r : db_err(s, e, "read");
}

/* The version held at root into *v: 1, 0 when there is none, -1 with e
 * when it could not be read (root_of says why that must fail). */
static int
get_ver(struct evstore *s, int64_t root, struct ver *v, struct err *e)
{
	sqlite3_stmt *st = s->st[S_GET];
	int rc;

	sqlite3_bind_int64(st, 1, root);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v->root = root;
		v->version = sqlite3_column_int64(st, 0);
		v->seq = sqlite3_column_int64(st, 1);
		v->t = sqlite3_column_int64(st, 2);
		v->deleted = sqlite3_column_int64(st, 3) != 0;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(s, e, "read");
}

/* Does a beat b: the greater version, then the later put. */
static bool
newer(const struct ver *a, const struct ver *b)
{
	return a->version != b->version ? a->version > b->version : a->seq > b->seq;
}

static void
tell(const struct ver *v, evstore_day_fn fn, void *arg)
{
	if (!v->deleted)
		fn(evstore_day(v->t), arg);
}

/* Fold root `from` into root `into`: the newer record stays, in `into`. */
static int
merge_roots(struct evstore *s, struct ver *into, const struct ver *from, struct err *e)
{
	if (newer(from, into)) {
		/* Keep from's record under into's root: copy the row over. */
		sqlite3_bind_int64(s->st[S_COPY], 1, into->root);
		sqlite3_bind_int64(s->st[S_COPY], 2, from->root);
		if (step_done(s, s->st[S_COPY], e) < 0)
			return -1;
		into->version = from->version;
		into->seq = from->seq;
		into->t = from->t;
		into->deleted = from->deleted;
	}
	sqlite3_bind_int64(s->st[S_DELETE], 1, from->root);
	if (step_done(s, s->st[S_DELETE], e) < 0)
		return -1;
	sqlite3_bind_int64(s->st[S_MOVE_IDS], 1, into->root);
	sqlite3_bind_int64(s->st[S_MOVE_IDS], 2, from->root);
	return step_done(s, s->st[S_MOVE_IDS], e);
}

static int
db_put(struct evstore *s, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const void *line, size_t len,
    evstore_day_fn day_fn, void *arg, struct err *e)
{
	struct ver cur = { 0 }, other, nv = { 0, version, ++s->seq, t, deleted };
	bool have = false;
	sqlite3_stmt *st;
	int found;

	/* A transaction SQLite ended on an error of its own is not written
	 * on outside of it. */
	if (sqlite3_get_autocommit(s->db))
		return err_set(e, ERR_IO, "%s: write: the run's transaction was rolled back",
		    s->name);
	/* Every record the ids reach becomes one. */
	for (int i = 0; i < nids; i++) {
		int64_t r = root_of(s, ids[i], idlen[i], e);

		if (r < 0)
			return -1;
		if (r == 0 || (have && r == cur.root))
			continue;
		if ((found = get_ver(s, r, &other, e)) < 0)
			return -1;
		if (found == 0)
			continue;
		tell(&other, day_fn, arg);
		if (!have) {
			cur = other;
			have = true;
		} else if (merge_roots(s, &cur, &other, e) < 0) {
			return -1;
		}
	}
	tell(&nv, day_fn, arg);
	if (!have) {
		st = s->st[S_INSERT];
		sqlite3_bind_int64(st, 1, version);
		sqlite3_bind_int64(st, 2, nv.seq);
		sqlite3_bind_int64(st, 3, t);
		sqlite3_bind_int(st, 4, deleted);
		sqlite3_bind_blob(st, 5, line, (int)len, SQLITE_STATIC);
		if (step_done(s, st, e) < 0)
			return -1;
		cur.root = sqlite3_last_insert_rowid(s->db);
	} else if (newer(&nv, &cur)) {
		st = s->st[S_UPDATE];
		sqlite3_bind_int64(st, 1, cur.root);
		sqlite3_bind_int64(st, 2, version);
		sqlite3_bind_int64(st, 3, nv.seq);
		sqlite3_bind_int64(st, 4, t);
		sqlite3_bind_int(st, 5, deleted);
		sqlite3_bind_blob(st, 6, line, (int)len, SQLITE_STATIC);
		if (step_done(s, st, e) < 0)
			return -1;
	}
	for (int i = 0; i < nids; i++) {
		st = s->st[S_ADD_ID];
		sqlite3_bind_text(st, 1, ids[i], (int)idlen[i], SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cur.root);
		if (step_done(s, st, e) < 0)
			return -1;
	}
	return 0;
}

/* An id of the table in memory and the root it leads to, for the load. */
struct idroot {
	const unsigned char *k;
	size_t len;
	int64_t root;
};

/* Ids in SQLite's order of text (bytes, then length). */
static int
cmp_key(const void *a, const void *b)
{
	const struct idroot *x = a, *y = b;
	int c = memcmp(x->k, y->k, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Rows an INSERT of the load takes at once: a statement for each row
 * cost more in the statement than in the row. */
enum { LOAD_ROWS = 32 };

/* An INSERT of LOAD_ROWS rows of ncol values each; NULL with e. */
static sqlite3_stmt *
prepare_rows(struct evstore *s, const char *head, int ncol, struct err *e)
{
	struct buf b = { 0 };
	sqlite3_stmt *st = NULL;

	buf_adds(&b, head);
	for (int r = 0; r < LOAD_ROWS; r++) {
		buf_adds(&b, r == 0 ? " VALUES (" : ", (");
		for (int c = 0; c < ncol; c++)
			buf_adds(&b, c == 0 ? "?" : ", ?");
		buf_addc(&b, ')');
	}
	buf_addc(&b, '\0');
	if (sqlite3_prepare_v2(s->db, b.p, -1, &st, NULL) != SQLITE_OK)
		db_err(s, e, "database");
	buf_free(&b);
	return st;
}

/* Root i's values into st from parameter at + 1 on, as S_LOAD takes them. */
static void
bind_root(sqlite3_stmt *st, int at, const struct memtab *m, uint32_t i)
{
	const struct mroot *r = root(m, i);

	sqlite3_bind_int64(st, at + 1, (int64_t)i + 1);
	sqlite3_bind_int64(st, at + 2, r->version);
	sqlite3_bind_int64(st, at + 3, r->seq);
	sqlite3_bind_int64(st, at + 4, r->t);
	sqlite3_bind_int(st, at + 5, rec_deleted(r->rec));
	sqlite3_bind_blob(st, at + 6, r->rec + 4, (int)rec_len(r->rec), SQLITE_STATIC);
}

/* An id and its root into st from parameter at + 1 on, as S_ADD_ID takes them. */
static void
bind_id(sqlite3_stmt *st, int at, const struct idroot *id)
{
	sqlite3_bind_text(st, at + 1, (const char *)id->k, (int)id->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, at + 2, id->root);
}

/*
 * Everything the table m holds goes into the open database, empty until
 * now (roots keep their numbers, plus one); m is freed.
 */
static int
mem_to_db(struct evstore *s, struct memtab *m, struct err *e)
{
	sqlite3_stmt *many = NULL;
	struct idroot *ids = NULL;
	uint32_t pend[LOAD_ROWS];
	size_t n = 0;
	int k = 0;

	/* Into tables without their indexes, which are then made whole:
	 * sorting for an index once costs less than a seek a row.  Rows go
	 * in in key order, each page filled once: a small cache does, the
	 * pages going to the log as they fill; the limit is back once the
	 * table is gone. */
	if (cache_size(s, 64 << 20, e) < 0 ||
	    exec(s, "DROP INDEX ids_root; DROP INDEX ev_t", e) < 0)
		goto fail;
	if ((many = prepare_rows(s, "INSERT OR ROLLBACK INTO ev(root, version, seq, t, deleted, line)",
	    6, e)) == NULL)
		goto fail;
	for (uint32_t i = 0; i < m->nr; i++) {
		if (root(m, i)->parent != i)
			continue;
		pend[k++] = i;
		if (k < LOAD_ROWS)
			continue;
		for (int j = 0; j < k; j++)
			bind_root(many, 6 * j, m, pend[j]);
		if (step_done(s, many, e) < 0)
			goto fail;
		k = 0;
	}
	for (int j = 0; j < k; j++) {
		bind_root(s->st[S_LOAD], 0, m, pend[j]);
		if (step_done(s, s->st[S_LOAD], e) < 0)
			goto fail;
	}
	sqlite3_finalize(many);
	many = NULL;
	/* The records are in: what the ids need is the roots. */
	arena_free(&m->recs);
	free(m->ord);
	m->ord = NULL;
	m->nord = 0;
	ids = xmalloc(sizeof(*ids) * (m->count + 1));
	for (size_t i = 0; i < m->cap; i++) {
		size_t klen;

		if (m->slot[i].key == 0)
			continue;
		ids[n].k = key_bytes(key_at(m, &m->slot[i]) + 4, &klen);
		ids[n].len = klen;
		ids[n++].root = mem_find(m, key_root(m, &m->slot[i])) + 1;
	}
	qsort(ids, n, sizeof(*ids), cmp_key);
	if ((many = prepare_rows(s, "INSERT OR ROLLBACK INTO ids(id, root)", 2, e)) == NULL)
		goto fail;
	for (size_t i = 0; i < n - n % LOAD_ROWS; i++) {
		bind_id(many, 2 * (int)(i % LOAD_ROWS), &ids[i]);
		if (i % LOAD_ROWS == LOAD_ROWS - 1 && step_done(s, many, e) < 0)
			goto fail;
	}
	for (size_t i = n - n % LOAD_ROWS; i < n; i++) {
		bind_id(s->st[S_ADD_ID], 0, &ids[i]);
		if (step_done(s, s->st[S_ADD_ID], e) < 0)
			goto fail;
	}
	sqlite3_finalize(many);
	free(ids);
	mem_free(m);
	return exec(s, indexes, e) < 0 ? -1 : cache_size(s, s->memory, e);
fail:
	sqlite3_finalize(many);
	free(ids);
	mem_free(m);
	return -1;
}

/*
 * The table in memory has grown past its limit: everything it holds goes
 * into SQLite, a temporary database or the new state, where the puts go
 * on.
 */
static int
spill(struct evstore *s, struct err *e)
{
	struct memtab *m = s->m;

	s->m = NULL;
	s->spilled_at = s->seq;
	if (s->db == NULL && db_open(s, NULL, "", e) < 0) {
		mem_free(m);
		return -1;
	}
	return mem_to_db(s, m, e);
}

int
evstore_put(struct evstore *s, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const void *rec, size_t len,
    evstore_day_fn day_fn, void *arg, struct err *e)
{
	size_t room = 0;

	if (s->m == NULL)
		return db_put(s, ids, idlen, nids, version, t, deleted, rec, len, day_fn, arg, e);
	if (s->m->ord != NULL)
		return err_set(e, ERR_IO, "%s: put after a scan", s->name);
	for (int i = 0; i < nids; i++)
		room += idlen[i] + 16;
	/* What the table's 32-bit numbers cannot count goes to SQLite. */
	if (len > UINT32_MAX / 2 || s->seq >= UINT32_MAX - 1 || s->m->nr >= UINT32_MAX - 1 ||
	    s->m->keys.len + room >= (size_t)UINT32_MAX * 4) {
		if (spill(s, e) < 0)
			return -1;
		return db_put(s, ids, idlen, nids, version, t, deleted, rec, len, day_fn, arg, e);
	}
	mem_put(s->m, ids, idlen, nids, version, t, deleted, rec, len, ++s->seq, day_fn, arg);
	if ((int64_t)mem_bytes(s->m) > s->memory)
		return spill(s, e);
	return 0;
}

int
evstore_days(struct evstore *s, evstore_day_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *st = s->st[S_DAYS];
	int rc;

	if (s->m) {
		mem_order(s->m);
		for (size_t i = 0; i < s->m->nord; i++)
			if (i == 0 || evstore_day(s->m->ord[i].t) != evstore_day(s->m->ord[i - 1].t))
				fn(evstore_day(s->m->ord[i].t), arg);
		return 0;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(sqlite3_column_int64(st, 0), arg);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, e, "read");
}

int
evstore_scan_day(struct evstore *s, int64_t day, evstore_rec_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *st = s->st[S_SCAN];
	int rc, frc = 0;

	if (s->m)
		return mem_scan_day(s->m, day, fn, arg);
	sqlite3_bind_int64(st, 1, day * 86400000);
	sqlite3_bind_int64(st, 2, (day + 1) * 86400000);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && frc == 0)
		frc = fn(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	sqlite3_reset(st);
	if (frc != 0)
		return frc;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(s, e, "read");
}

void
evstore_counts(struct evstore *s, int64_t *events, int64_t *deleted, int64_t *spilled_at)
{
	sqlite3_stmt *st;

	*events = *deleted = 0;
	*spilled_at = s->spilled_at;
	if (s->m) {
		for (uint32_t i = 0; i < s->m->nr; i++)
			if (root(s->m, i)->parent == i) {
				if (rec_deleted(root(s->m, i)->rec))
					(*deleted)++;
				else
					(*events)++;
			}
		return;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) - sum(deleted), sum(deleted) FROM ev", -1,
	    &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*events = sqlite3_column_int64(st, 0);
		*deleted = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

const char *
evstore_versions(void)
{
	static char text[64];

	if (!*text)
		snprintf(text, sizeof(text), "SQLite %s\n", sqlite3_libversion());
	return text;
}
