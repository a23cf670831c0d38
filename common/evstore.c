/* evstore.c: the batch layer's deduplicated events, in SQLite. */
#include <config.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "evstore.h"

enum { S_ROOT, S_ADD_ID, S_MOVE_IDS, S_GET, S_INSERT, S_UPDATE, S_COPY, S_DELETE, S_DAYS,
	S_SCAN, S_MAX };

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
};

struct evstore {
	sqlite3 *db;
	sqlite3_stmt *st[S_MAX];
	int64_t seq;		/* the order of puts, across runs */
	char *name;
};

/* One version's record. */
struct ver {
	int64_t root, version, seq, t;
	bool deleted;
};

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

struct evstore *
evstore_open(const char *path, const char *query, int64_t cache_kb, struct err *e)
{
	struct evstore *s = xcalloc(1, sizeof(*s));
	char pragma[96], *saved;

	s->name = xstrdup(path ? path : "temporary store");
	/* "" is SQLite's private temporary database: memory, spilled to disk. */
	if (sqlite3_open_v2(path ? path : "", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		db_err(s, e, "cannot open");
		evstore_close(s, false, NULL);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 10000);
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld",
	    cache_kb > 0 ? (long long)-cache_kb : -65536LL);
	if (exec(s, pragma, e) < 0 || exec(s, "PRAGMA journal_mode = WAL", e) < 0 ||
	    exec(s, "PRAGMA synchronous = NORMAL", e) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);"
	    "CREATE TABLE IF NOT EXISTS ids(id TEXT PRIMARY KEY, root INTEGER NOT NULL) "
	    "WITHOUT ROWID;"
	    "CREATE INDEX IF NOT EXISTS ids_root ON ids(root);"
	    "CREATE TABLE IF NOT EXISTS ev(root INTEGER PRIMARY KEY, version INTEGER NOT NULL,"
	    " seq INTEGER NOT NULL, t INTEGER NOT NULL, deleted INTEGER NOT NULL, line TEXT);"
	    "CREATE INDEX IF NOT EXISTS ev_t ON ev(t)", e) < 0) {
		if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
			err_set(e, ERR_IO, "%s: not a csa-batch-agg state", s->name);
		evstore_close(s, false, NULL);
		return NULL;
	}
	saved = meta_get(s, "query");
	if (saved && strcmp(saved, query) != 0) {
		err_set(e, ERR_USAGE, "%s: saved by another query (%s); run with the same views, "
		    "or start a new state", s->name, saved);
		free(saved);
		evstore_close(s, false, NULL);
		return NULL;
	}
	free(saved);
	saved = meta_get(s, "seq");
	s->seq = saved ? strtoll(saved, NULL, 10) : 0;
	free(saved);
	if (exec(s, "BEGIN IMMEDIATE", e) < 0 || meta_set(s, "query", query, e) < 0) {
		evstore_close(s, false, NULL);
		return NULL;
	}
	for (int i = 0; i < S_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		    NULL) != SQLITE_OK) {
			db_err(s, e, "database");
			evstore_close(s, false, NULL);
			return NULL;
		}
	return s;
}

int
evstore_close(struct evstore *s, bool commit, struct err *e)
{
	int rc = 0;

	if (s == NULL)
		return 0;
	if (commit) {
		char seq[32];

		snprintf(seq, sizeof(seq), "%lld", (long long)s->seq);
		if (meta_set(s, "seq", seq, e) < 0 || exec(s, "COMMIT", e) < 0)
			rc = -1;
	}
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

/* The root an id belongs to, or 0. */
static int64_t
root_of(struct evstore *s, const char *id, size_t len)
{
	sqlite3_stmt *st = s->st[S_ROOT];
	int64_t r = 0;

	sqlite3_bind_text(st, 1, id, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r;
}

static bool
get_ver(struct evstore *s, int64_t root, struct ver *v)
{
	sqlite3_stmt *st = s->st[S_GET];
	bool found = false;

	sqlite3_bind_int64(st, 1, root);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v->root = root;
		v->version = sqlite3_column_int64(st, 0);
		v->seq = sqlite3_column_int64(st, 1);
		v->t = sqlite3_column_int64(st, 2);
		v->deleted = sqlite3_column_int64(st, 3) != 0;
		found = true;
	}
	sqlite3_reset(st);
	return found;
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

int
evstore_put(struct evstore *s, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const char *line, size_t len,
    evstore_day_fn day_fn, void *arg, struct err *e)
{
	struct ver cur = { 0 }, other, nv = { 0, version, ++s->seq, t, deleted };
	bool have = false;
	sqlite3_stmt *st;

	/* Every record the ids reach becomes one. */
	for (int i = 0; i < nids; i++) {
		int64_t r = root_of(s, ids[i], idlen[i]);

		if (r == 0 || (have && r == cur.root) || !get_ver(s, r, &other))
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
		sqlite3_bind_text(st, 5, line, (int)len, SQLITE_STATIC);
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
		sqlite3_bind_text(st, 6, line, (int)len, SQLITE_STATIC);
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

int
evstore_days(struct evstore *s, evstore_day_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *st = s->st[S_DAYS];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(sqlite3_column_int64(st, 0), arg);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, e, "read");
}

int
evstore_scan_day(struct evstore *s, int64_t day, evstore_line_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *st = s->st[S_SCAN];
	int rc, frc = 0;

	sqlite3_bind_int64(st, 1, day * 86400000);
	sqlite3_bind_int64(st, 2, (day + 1) * 86400000);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && frc == 0)
		frc = fn((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	sqlite3_reset(st);
	if (frc != 0)
		return frc;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(s, e, "read");
}

void
evstore_counts(struct evstore *s, int64_t *events, int64_t *deleted)
{
	sqlite3_stmt *st;

	*events = *deleted = 0;
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
