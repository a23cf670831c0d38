/* hub_local.c: the embedded hub, a directory with a SQLite database and a Capture tree. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "capture.h"
#include "fsutil.h"
#include "hub.h"
#include "hub_impl.h"
#include "json.h"
#include "timefmt.h"

/*
 * Layout: DIR/hub.db (SQLite, WAL) and DIR/capture/<path layout>.avro.
 * Every write is one transaction taken with BEGIN IMMEDIATE, so concurrent
 * senders, readers and capture never interleave half a batch.  With WAL and
 * synchronous=NORMAL a committed batch survives the death of any process.
 */
#define HUB_APP_ID 0x43534131	/* "CSA1" in PRAGMA application_id */
#define HUB_SCHEMA_VERSION 1
#define DEFAULT_RETENTION_MS (7LL * 86400000)
#define DEFAULT_CAPTURE_INTERVAL_MS 300000LL
#define DEFAULT_CAPTURE_SIZE (10LL * 1024 * 1024)
#define DEFAULT_LEASE_MS 10000LL
#define CAPTURE_CHECK_MS 1000	/* senders look for due windows this often */
#define PURGE_CHECK_MS 60000
#define PURGE_BATCH 5000		/* events of a partition deleted per transaction */
#define WAL_CHECKPOINT_PAGES 1000	/* SQLite's own auto-checkpoint threshold */
/*
 * Events inserted by one statement (7 parameters each).  A statement per
 * event spent about as much in starting and ending the statement (its
 * cursor opened, its journal closed) as in the insert itself.  The
 * inserts say OR ROLLBACK: a statement of several rows that may fail
 * half-way on its own needs a statement journal, a temporary file that
 * more than doubled the writes, while a failed insert here rolls the
 * whole batch back anyway.
 */
#define INSERT_ROWS 32

/*
 * The live members of each consumer group, so that a member that holds no
 * partition yet still counts when the others work out their fair share.
 * Added after the first schema: hubs made before it get it on first use.
 */
#define MEMBERS_SQL "CREATE TABLE IF NOT EXISTS members(" \
    " hub INT, grp TEXT, owner TEXT, expires_ms INT NOT NULL," \
    " PRIMARY KEY(hub, grp, owner)) WITHOUT ROWID;"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS eventhubs("
    " id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, partitions INT NOT NULL,"
    " retention_ms INT NOT NULL, capture INT NOT NULL, capture_interval_ms INT NOT NULL,"
    " capture_size INT NOT NULL, capture_format TEXT NOT NULL, namespace TEXT NOT NULL,"
    " created_ms INT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS partitions("
    " hub INT, part INT, next_seq INT NOT NULL, next_offset INT NOT NULL,"
    " last_enqueued_ms INT NOT NULL, captured_seq INT NOT NULL,"
    " last_capture TEXT, last_capture_start_ms INT, PRIMARY KEY(hub, part)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS events("
    " hub INT, part INT, seq INT, offset INT NOT NULL, enqueued_ms INT NOT NULL,"
    " pkey BLOB, body BLOB NOT NULL, PRIMARY KEY(hub, part, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS checkpoints("
    " hub INT, grp TEXT, part INT, seq INT NOT NULL, updated_ms INT NOT NULL,"
    " PRIMARY KEY(hub, grp, part)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS leases("
    " hub INT, grp TEXT, part INT, owner TEXT NOT NULL, expires_ms INT NOT NULL,"
    " gen INT NOT NULL DEFAULT 0, PRIMARY KEY(hub, grp, part)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS captures("
    " hub INT, part INT, first_seq INT, last_seq INT NOT NULL, window_start_ms INT NOT NULL,"
    " path TEXT NOT NULL, events INT NOT NULL, bytes INT NOT NULL, created_ms INT NOT NULL,"
    " PRIMARY KEY(hub, part, first_seq)) WITHOUT ROWID;"
    MEMBERS_SQL;

/* Offsets into the arena, turned into pointers once the arena stops moving. */
struct pending_msg {
	size_t body, key;
};

struct lhub {
	struct hub base;	/* first: a struct hub * is a struct lhub * */
	sqlite3 *db;
	char *dir, *capdir, *walpath;
	int64_t id;
	char *name;
	int partitions;
	int64_t retention_ms;
	int capture;
	int64_t capture_interval_ms, capture_size;
	char *capture_format, *ns;
	int64_t lease_ms;
	int rr;				/* round robin for keyless events */
	/* A sender's WAL checkpoints run on a thread of their own. */
	sqlite3 *ckdb;
	pthread_t ckthread;
	pthread_mutex_t ckmu;
	pthread_cond_t ckcv;
	bool ckstarted, ckdue, ckstop;
	int64_t last_capture_check, last_purge;
	sqlite3_stmt *st_insert, *st_insert_rows, *st_parts, *st_upd_part, *st_read, *st_lease;

	/* The reader, once hub_reader_open was called. */
	bool reading;
	struct hub_reader_opts ro;
	char *group, *owner;
	bool *owned;
	bool *draining;			/* owned, no longer read, released at the next checkpoint */
	int64_t *gen;			/* the generation of each lease this member holds */
	int64_t *held;			/* expiry of a lease another member holds, else 0 */
	int64_t *held_first;		/* -e: that expiry when first seen */
	int64_t held_until;		/* -e: how long to wait for those leases; 0: not waiting */
	bool gave_up;			/* -e: stopped waiting for leases held by live members */
	bool to_end;			/* a reader that stops once caught up (-e) */
	int short_of;			/* partitions below this member's fair share */
	int64_t *pos;			/* next sequence number to read */
	int64_t *ckpt;			/* last checkpointed sequence number, or -1 */
	int64_t next_balance;
	int next_part;			/* where the next read starts, for fairness */
	int ino;			/* inotify on the WAL, -1 when unavailable */
	struct buf arena;
	struct pending_msg *pend;
	int pend_cap;
};

static int
db_err(struct lhub *h, struct err *e, const char *what)
{
	int code = sqlite3_errcode(h->db);

	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return err_set(e, ERR_IO, "%s: not a hub database (%s)", h->dir,
		    sqlite3_errmsg(h->db));
	return err_set(e, ERR_IO, "%s: %s: %s", h->dir, what, sqlite3_errmsg(h->db));
}

/*
 * Wait for another process's lock: in steps of 0.2 ms at first (a
 * sender's commit holds it for well under a millisecond), then of 1 ms,
 * for about a minute in all.  SQLite's own busy_timeout sleeps up to 25 ms
 * at a time, and a reader that waits so long to checkpoint delivers late.
 */
static int
busy_wait(void *arg, int count)
{
	struct timespec ts = { 0, count < 100 ? 200000 : 1000000 };

	if (count == 0 && arg != NULL)
		((struct hub *)arg)->retries++;	/* one wait for a lock, one retry */
	if (count >= 60000)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

static int
exec(struct lhub *h, const char *sql, struct err *e)
{
	if (sqlite3_exec(h->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(h, e, "database");
	return 0;
}

static sqlite3_stmt *
prep(struct lhub *h, const char *sql, struct err *e)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_err(h, e, "database");
		return NULL;
	}
	return st;
}

static void
rollback(struct lhub *h)
{
	if (!sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One integer from a query with up to three integer parameters; def when no row. */
static int64_t
query_int(struct lhub *h, const char *sql, int64_t a, int64_t b, int64_t c, int64_t def)
{
	sqlite3_stmt *st;
	int64_t v = def;

	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		return def;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, c);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Check that the database is ours (or new), then create the tables. */
static int
init_schema(struct lhub *h, struct err *e)
{
	int64_t app, tables;

	sqlite3_busy_handler(h->db, busy_wait, &h->base);
	/* One snapshot: another process may be creating this hub right now. */
	if (exec(h, "BEGIN", e) < 0)
		return -1;
	app = query_int(h, "PRAGMA application_id", 0, 0, 0, -1);
	if (app == -1) {
		db_err(h, e, "database");
		rollback(h);
		return -1;
	}
	tables = query_int(h, "SELECT count(*) FROM sqlite_master", 0, 0, 0, 0);
	if (exec(h, "COMMIT", e) < 0)
		return -1;
	if (app != HUB_APP_ID && !(app == 0 && tables == 0))
		return err_set(e, ERR_IO, "%s: hub.db is not a csa hub database", h->dir);
	/* Bodies of a few hundred bytes pack better into larger pages; the
	 * size can only be chosen before the database has content. */
	if (app == 0 && exec(h, "PRAGMA page_size=16384", e) < 0)
		return -1;
	if (exec(h, "PRAGMA cache_size=-16384", e) < 0)
		return -1;
	/*
	 * Switching a new database to WAL takes an exclusive lock, and SQLite
	 * answers "locked" at once instead of waiting when another process
	 * holds one (several senders creating the same hub): retry a while.
	 */
	for (int tries = 0;; tries++) {
		sqlite3_stmt *st;
		const char *mode = NULL;
		int rc;

		if (sqlite3_prepare_v2(h->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
			return db_err(h, e, "database");
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			mode = (const char *)sqlite3_column_text(st, 0);
		if (mode && strcmp(mode, "wal") == 0) {
			sqlite3_finalize(st);
			break;
		}
		sqlite3_finalize(st);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 400)
			return db_err(h, e, "cannot use WAL mode");
		sqlite3_sleep(25);
	}
	if (exec(h, "PRAGMA synchronous=NORMAL", e) < 0)
		return -1;
	if (app == 0) {
		char sql[128];

		/* Look again under the write lock: another process may be creating
		 * the same hub right now. */
		if (exec(h, "BEGIN IMMEDIATE", e) < 0)
			return -1;
		app = query_int(h, "PRAGMA application_id", 0, 0, 0, -1);
		snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d",
		    HUB_APP_ID, HUB_SCHEMA_VERSION);
		if (app == 0 && (exec(h, schema_sql, e) < 0 || exec(h, sql, e) < 0)) {
			rollback(h);
			return -1;
		}
		if (exec(h, "COMMIT", e) < 0) {
			rollback(h);
			return -1;
		}
	}
	return 0;
}

/* Put the names of the event hubs after e's message, and a ")". */
static void
list_eventhubs(struct lhub *h, struct err *e)
{
	sqlite3_stmt *st = NULL;
	size_t len = strlen(e->msg);
	int n = 0;

	if (sqlite3_prepare_v2(h->db, "SELECT name FROM eventhubs ORDER BY name", -1, &st,
	    NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW && len + 1 < sizeof(e->msg))
			len += (size_t)snprintf(e->msg + len, sizeof(e->msg) - len, "%s%s",
			    n++ ? ", " : "", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (len + 1 < sizeof(e->msg))
		snprintf(e->msg + len, sizeof(e->msg) - len, "%s)", n ? "" : "none");
}

/* Find the event hub, creating it or updating the settings given. */
static int
init_eventhub(struct lhub *h, const struct hub_opts *o, struct err *e)
{
	sqlite3_stmt *st;
	bool found = false;
	int rc = -1;

	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	st = prep(h, "SELECT id, partitions, retention_ms, capture, capture_interval_ms,"
	    " capture_size, capture_format, namespace FROM eventhubs WHERE name = ?", e);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = true;
		h->id = sqlite3_column_int64(st, 0);
		h->partitions = sqlite3_column_int(st, 1);
		h->retention_ms = sqlite3_column_int64(st, 2);
		h->capture = sqlite3_column_int(st, 3);
		h->capture_interval_ms = sqlite3_column_int64(st, 4);
		h->capture_size = sqlite3_column_int64(st, 5);
		h->capture_format = xstrdup((const char *)sqlite3_column_text(st, 6));
		h->ns = xstrdup((const char *)sqlite3_column_text(st, 7));
	}
	sqlite3_finalize(st);
	if (!found && o->reader) {
		/* Nor an event hub: a typo in -n is not a new, empty one. */
		err_set(e, ERR_IO, "no event hub '%s' in %s (there are: ", h->name, h->dir);
		list_eventhubs(h, e);
		goto out;
	}
	if (found && o->partitions > 0 && o->partitions != h->partitions) {
		err_set(e, ERR_USAGE, "event hub '%s' has %d partitions; their number cannot change",
		    h->name, h->partitions);
		goto out;
	}
	if (!found) {
		h->partitions = o->partitions > 0 ? o->partitions : HUB_DEFAULT_PARTITIONS;
		h->retention_ms = DEFAULT_RETENTION_MS;
		h->capture = 1;
		h->capture_interval_ms = DEFAULT_CAPTURE_INTERVAL_MS;
		h->capture_size = DEFAULT_CAPTURE_SIZE;
		h->capture_format = xstrdup(CAPTURE_DEFAULT_FORMAT);
		h->ns = xstrdup("local");
	}
	if (o->retention_ms >= 0)
		h->retention_ms = o->retention_ms;
	if (o->capture >= 0)
		h->capture = o->capture;
	if (o->capture_interval_ms >= 0)
		h->capture_interval_ms = o->capture_interval_ms;
	if (o->capture_size > 0)
		h->capture_size = o->capture_size;
	if (o->capture_format) {
		free(h->capture_format);
		h->capture_format = xstrdup(o->capture_format);
	}
	if (o->namespace) {
		free(h->ns);
		h->ns = xstrdup(o->namespace);
	}
	st = prep(h, "INSERT INTO eventhubs(name, partitions, retention_ms, capture,"
	    " capture_interval_ms, capture_size, capture_format, namespace, created_ms)"
	    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(name) DO UPDATE SET"
	    " retention_ms=?3, capture=?4, capture_interval_ms=?5, capture_size=?6,"
	    " capture_format=?7, namespace=?8", e);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, h->partitions);
	sqlite3_bind_int64(st, 3, h->retention_ms);
	sqlite3_bind_int(st, 4, h->capture);
	sqlite3_bind_int64(st, 5, h->capture_interval_ms);
	sqlite3_bind_int64(st, 6, h->capture_size);
	sqlite3_bind_text(st, 7, h->capture_format, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, h->ns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, tfmt_now());
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		db_err(h, e, "creating the event hub");
		goto out;
	}
	sqlite3_finalize(st);
	if (!found)
		h->id = query_int(h, "SELECT id FROM eventhubs WHERE rowid = ?", sqlite3_last_insert_rowid(h->db), 0, 0, -1);
	for (int p = 0; p < h->partitions; p++) {
		char sql[200];

		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO partitions(hub, part, next_seq,"
		    " next_offset, last_enqueued_ms, captured_seq) VALUES(%lld, %d, 0, 0, 0, 0)",
		    (long long)h->id, p);
		if (exec(h, sql, e) < 0)
			goto out;
	}
	rc = exec(h, "COMMIT", e);
out:
	if (rc < 0)
		rollback(h);
	return rc;
}

static const struct hub_ops local_ops;

struct hub *
hub_local_open(const struct hub_opts *o, struct err *e)
{
	struct lhub *h = xcalloc(1, sizeof(*h));
	struct buf path = { 0 };

	h->base.ops = &local_ops;
	h->ino = -1;
	h->dir = hub_default_location(o->location);
	h->name = xstrdup(hub_default_eventhub(o->eventhub));
	h->lease_ms = o->lease_ms > 0 ? o->lease_ms : DEFAULT_LEASE_MS;
	h->to_end = o->to_end;
	/* hub_open checked the name (hub_check_name). */
	if (o->capture_format && capture_check_format(o->capture_format, e) < 0)
		goto fail;
	buf_printf(&path, "%s/hub.db", h->dir);
	if (o->reader && access(path.p, F_OK) != 0) {
		/* Only a sender makes a hub: a typo in -H is not a new, empty one. */
		err_set(e, ERR_IO, "no hub at %s (csa-eh-send creates one)", h->dir);
		goto fail;
	}
	if (fs_mkdirs(h->dir, NULL, NULL, e) < 0)
		goto fail;
	if (sqlite3_open_v2(path.p, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err_set(e, ERR_IO, "%s: %s", path.p, h->db ? sqlite3_errmsg(h->db) : "cannot open");
		goto fail;
	}
	buf_reset(&path);
	buf_printf(&path, "%s/hub.db-wal", h->dir);
	h->walpath = xstrdup(path.p);
	if (init_schema(h, e) < 0 || init_eventhub(h, o, e) < 0)
		goto fail;
	buf_reset(&path);
	buf_printf(&path, "%s/capture", h->dir);
	h->capdir = xstrdup(path.p);
	if (fs_mkdirs(h->capdir, NULL, NULL, e) < 0)
		goto fail;
	buf_free(&path);
	snprintf(h->base.what, sizeof(h->base.what), "embedded hub %s, event hub %s", h->dir,
	    h->name);
	return &h->base;
fail:
	buf_free(&path);
	local_ops.close(&h->base);
	return NULL;
}

static void
local_close(struct hub *hb)
{
	struct lhub *h = (struct lhub *)hb;
	if (h == NULL)
		return;
	if (h->ckstarted) {
		pthread_mutex_lock(&h->ckmu);
		h->ckstop = true;
		pthread_cond_signal(&h->ckcv);
		pthread_mutex_unlock(&h->ckmu);
		pthread_join(h->ckthread, NULL);
		pthread_mutex_destroy(&h->ckmu);
		pthread_cond_destroy(&h->ckcv);
	}
	sqlite3_close(h->ckdb);
	sqlite3_finalize(h->st_insert);
	sqlite3_finalize(h->st_insert_rows);
	sqlite3_finalize(h->st_parts);
	sqlite3_finalize(h->st_upd_part);
	sqlite3_finalize(h->st_read);
	sqlite3_finalize(h->st_lease);
	if (h->db)
		sqlite3_close(h->db);
	if (h->ino >= 0)
		close(h->ino);
	free(h->dir);
	free(h->capdir);
	free(h->walpath);
	free(h->name);
	free(h->capture_format);
	free(h->ns);
	free(h->group);
	free(h->owner);
	free(h->owned);
	free(h->draining);
	free(h->gen);
	free(h->held);
	free(h->held_first);
	free(h->pos);
	free(h->ckpt);
	free(h->pend);
	buf_free(&h->arena);
	free(h);
}

static int
local_partition_count(const struct hub *hb)
{
	const struct lhub *h = (const struct lhub *)hb;
	return h->partitions;
}

/* The checkpointer: copy the WAL into the database when told to. */
static void *
checkpointer(void *arg)
{
	struct lhub *h = arg;

	pthread_mutex_lock(&h->ckmu);
	for (;;) {
		while (!h->ckdue && !h->ckstop)
			pthread_cond_wait(&h->ckcv, &h->ckmu);
		if (h->ckstop)
			break;
		h->ckdue = false;
		pthread_mutex_unlock(&h->ckmu);
		/* PASSIVE: never waits for, nor holds up, readers and writers. */
		sqlite3_wal_checkpoint_v2(h->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&h->ckmu);
	}
	pthread_mutex_unlock(&h->ckmu);
	return NULL;
}

/* After each commit of the sender: past the threshold, wake the checkpointer. */
static int
wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct lhub *h = arg;

	(void)db;
	(void)name;
	if (pages >= WAL_CHECKPOINT_PAGES) {
		pthread_mutex_lock(&h->ckmu);
		h->ckdue = true;
		pthread_cond_signal(&h->ckcv);
		pthread_mutex_unlock(&h->ckmu);
	}
	return SQLITE_OK;
}

/*
 * A checkpoint syncs the WAL and the database (tens of milliseconds on a
 * busy disk), and SQLite runs it inside the commit that crossed the
 * threshold, where it holds up every event behind it.  A sender hands it
 * to a thread with a connection of its own instead.  Without the thread,
 * SQLite's automatic checkpoints stay.
 */
static void
start_checkpointer(struct lhub *h)
{
	char *path = sqlite3_db_filename(h->db, "main") ?
	    xstrdup(sqlite3_db_filename(h->db, "main")) : NULL;

	if (path == NULL || sqlite3_open_v2(path, &h->ckdb, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_close(h->ckdb);
		h->ckdb = NULL;
		free(path);
		return;
	}
	free(path);
	sqlite3_busy_handler(h->ckdb, busy_wait, NULL);
	sqlite3_exec(h->ckdb, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	pthread_mutex_init(&h->ckmu, NULL);
	pthread_cond_init(&h->ckcv, NULL);
	if (pthread_create(&h->ckthread, NULL, checkpointer, h) != 0) {
		pthread_mutex_destroy(&h->ckmu);
		pthread_cond_destroy(&h->ckcv);
		sqlite3_close(h->ckdb);
		h->ckdb = NULL;
		return;
	}
	h->ckstarted = true;
	sqlite3_wal_hook(h->db, wal_grew, h);	/* replaces the automatic checkpoint */
}

struct part_state {
	int64_t next_seq, next_offset, last_enqueued;
	bool touched;
};

/* One event's values into st from parameter at + 1 on. */
static void
bind_event(struct lhub *h, sqlite3_stmt *st, int at, const struct hub_msg *m)
{
	sqlite3_bind_int64(st, at + 1, h->id);
	sqlite3_bind_int(st, at + 2, m->partition);
	sqlite3_bind_int64(st, at + 3, m->seq);
	sqlite3_bind_int64(st, at + 4, m->offset);
	sqlite3_bind_int64(st, at + 5, m->enqueued_ms);
	if (m->key)
		sqlite3_bind_blob(st, at + 6, m->key, (int)m->keylen, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, at + 6);
	sqlite3_bind_blob(st, at + 7, m->body, (int)m->len, SQLITE_STATIC);
}

static int
local_send(struct hub *hb, struct hub_msg *msgs, size_t n, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	struct part_state *ps;
	int64_t now;
	int rc = -1;

	if (n == 0)
		return 0;
	if (h->st_insert == NULL) {
		struct buf sql = { 0 };

		buf_adds(&sql, "INSERT OR ROLLBACK INTO events(hub, part, seq, offset, enqueued_ms,"
		    " pkey, body) VALUES(?,?,?,?,?,?,?)");
		h->st_insert = prep(h, sql.p, e);
		for (int i = 1; i < INSERT_ROWS; i++)
			buf_adds(&sql, ",(?,?,?,?,?,?,?)");
		h->st_insert_rows = h->st_insert ? prep(h, sql.p, e) : NULL;
		buf_free(&sql);
		h->st_parts = prep(h, "SELECT part, next_seq, next_offset, last_enqueued_ms"
		    " FROM partitions WHERE hub = ?", e);
		h->st_upd_part = prep(h, "UPDATE partitions SET next_seq = ?, next_offset = ?,"
		    " last_enqueued_ms = ? WHERE hub = ? AND part = ?", e);
		if (!h->st_insert || !h->st_insert_rows || !h->st_parts || !h->st_upd_part) {
			/* All or none: a later send prepares them again. */
			sqlite3_stmt **st[] = { &h->st_insert, &h->st_insert_rows, &h->st_parts,
			    &h->st_upd_part };

			for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
				sqlite3_finalize(*st[i]);
				*st[i] = NULL;
			}
			return -1;
		}
		start_checkpointer(h);
	}
	ps = xcalloc((size_t)h->partitions, sizeof(*ps));
	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		goto out;
	sqlite3_reset(h->st_parts);
	sqlite3_bind_int64(h->st_parts, 1, h->id);
	while (sqlite3_step(h->st_parts) == SQLITE_ROW) {
		int p = sqlite3_column_int(h->st_parts, 0);

		if (p < 0 || p >= h->partitions)
			continue;
		ps[p].next_seq = sqlite3_column_int64(h->st_parts, 1);
		ps[p].next_offset = sqlite3_column_int64(h->st_parts, 2);
		ps[p].last_enqueued = sqlite3_column_int64(h->st_parts, 3);
	}
	now = tfmt_now();
	for (size_t i = 0; i < n; i++) {
		struct hub_msg *m = &msgs[i];
		struct part_state *s;
		int p = m->partition;

		if (p < 0 || p >= h->partitions)
			p = m->key ? hub_partition_for_key(m->key, m->keylen, h->partitions) :
			    h->rr++ % h->partitions;
		s = &ps[p];
		m->partition = p;
		m->seq = s->next_seq++;
		m->offset = s->next_offset;
		s->next_offset += (int64_t)m->len;
		/* Enqueued times never go back within a partition. */
		m->enqueued_ms = now > s->last_enqueued ? now : s->last_enqueued;
		s->last_enqueued = m->enqueued_ms;
		s->touched = true;
	}
	/* INSERT_ROWS events a statement while there are so many left. */
	for (size_t i = 0; i < n;) {
		sqlite3_stmt *st = n - i >= INSERT_ROWS ? h->st_insert_rows : h->st_insert;
		size_t rows = st == h->st_insert ? 1 : INSERT_ROWS;

		sqlite3_reset(st);
		for (size_t r = 0; r < rows; r++)
			bind_event(h, st, (int)r * 7, &msgs[i + r]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_err(h, e, "sending");
			goto out;
		}
		i += rows;
	}
	for (int p = 0; p < h->partitions; p++) {
		if (!ps[p].touched)
			continue;
		sqlite3_reset(h->st_upd_part);
		sqlite3_bind_int64(h->st_upd_part, 1, ps[p].next_seq);
		sqlite3_bind_int64(h->st_upd_part, 2, ps[p].next_offset);
		sqlite3_bind_int64(h->st_upd_part, 3, ps[p].last_enqueued);
		sqlite3_bind_int64(h->st_upd_part, 4, h->id);
		sqlite3_bind_int(h->st_upd_part, 5, p);
		if (sqlite3_step(h->st_upd_part) != SQLITE_DONE) {
			db_err(h, e, "sending");
			goto out;
		}
	}
	if (exec(h, "COMMIT", e) == 0) {
		rc = 0;
		/* The readers' wake-up (they watch the WAL for it): sent only now
		 * that the batch is visible; the WAL's own writes come before. */
		utimensat(AT_FDCWD, h->walpath, NULL, 0);
	}
out:
	sqlite3_reset(h->st_insert);
	sqlite3_reset(h->st_insert_rows);
	sqlite3_reset(h->st_parts);
	sqlite3_reset(h->st_upd_part);
	if (rc < 0)
		rollback(h);
	free(ps);
	return rc;
}

/* Write the file for one window of partition p, if it is due.  1 when a
 * file was written, 0 when nothing was due, -1 on error.  Called inside an
 * IMMEDIATE transaction, so no other process captures at the same time. */
static int
capture_one(struct lhub *h, int p, bool all, int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	int64_t captured, next, last_start = -1, first_enq, start, end, bytes = 0;
	int64_t first_seq = -1, last_seq = -1, count = 0;
	bool by_size = false;
	struct buf rel = { 0 }, full = { 0 };
	char *tmp = NULL;
	struct capture_writer *w = NULL;
	int rc = -1;

	st = prep(h, "SELECT captured_seq, next_seq, last_capture_start_ms FROM partitions"
	    " WHERE hub = ? AND part = ?", e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int(st, 2, p);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return 0;
	}
	captured = sqlite3_column_int64(st, 0);
	next = sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		last_start = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	if (captured >= next)
		return 0;
	first_enq = query_int(h, "SELECT enqueued_ms FROM events WHERE hub = ? AND part = ? AND seq >= ?"
	    " ORDER BY seq LIMIT 1", h->id, p, captured, -1);
	if (first_enq < 0)
		return 0;
	/* A window opens at its first event's second; names never repeat. */
	start = first_enq - (first_enq % 1000 + 1000) % 1000;
	if (last_start >= 0 && start <= last_start)
		start = last_start + 1000;
	end = start + h->capture_interval_ms;
	if (!all && now < end) {
		/* Offsets count body bytes, so the size needs no scan. */
		int64_t first_off = query_int(h, "SELECT offset FROM events WHERE hub = ? AND part = ?"
		    " AND seq = ?", h->id, p, captured, 0);
		int64_t next_off = query_int(h, "SELECT next_offset FROM partitions WHERE hub = ?"
		    " AND part = ?", h->id, p, 0, 0);

		if (next_off - first_off <= h->capture_size)
			return 0;
	}
	st = prep(h, "SELECT seq, length(body), enqueued_ms FROM events WHERE hub = ? AND part = ?"
	    " AND seq >= ? ORDER BY seq", e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int(st, 2, p);
	sqlite3_bind_int64(st, 3, captured);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t len = sqlite3_column_int64(st, 1), enq = sqlite3_column_int64(st, 2);

		if (enq >= end)
			break;
		if (count > 0 && bytes + len > h->capture_size) {
			by_size = true;
			break;
		}
		if (first_seq < 0)
			first_seq = sqlite3_column_int64(st, 0);
		last_seq = sqlite3_column_int64(st, 0);
		bytes += len;
		count++;
	}
	sqlite3_finalize(st);
	if (count == 0 || !(all || by_size || now >= end))
		return 0;

	if (capture_path(h->capture_format, h->ns, h->name, p, start, &rel, e) < 0)
		goto out;
	buf_printf(&full, "%s/%s", h->capdir, rel.p);
	{
		char *slash = strrchr(full.p, '/');

		*slash = '\0';
		if (fs_mkdirs(full.p, NULL, NULL, e) < 0)
			goto out;
		*slash = '/';
	}
	tmp = fs_temp_name(full.p);
	w = capture_writer_open(tmp, e);
	if (w == NULL)
		goto out;
	st = prep(h, "SELECT seq, offset, enqueued_ms, pkey, body FROM events WHERE hub = ?"
	    " AND part = ? AND seq BETWEEN ? AND ? ORDER BY seq", e);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int(st, 2, p);
	sqlite3_bind_int64(st, 3, first_seq);
	sqlite3_bind_int64(st, 4, last_seq);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct capture_record r;

		r.seq = sqlite3_column_int64(st, 0);
		r.offset = sqlite3_column_int64(st, 1);
		r.enqueued_ms = sqlite3_column_int64(st, 2);
		r.key = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL :
		    (const char *)sqlite3_column_blob(st, 3);
		r.keylen = (size_t)sqlite3_column_bytes(st, 3);
		if (r.key == NULL && sqlite3_column_type(st, 3) != SQLITE_NULL)
			r.key = "";
		r.body = sqlite3_column_blob(st, 4);
		r.len = (size_t)sqlite3_column_bytes(st, 4);
		if (capture_writer_add(w, &r, e) < 0) {
			sqlite3_finalize(st);
			goto out;
		}
	}
	sqlite3_finalize(st);
	rc = capture_writer_close(w, e);
	w = NULL;
	if (rc < 0)
		goto out;
	rc = -1;
	if (rename(tmp, full.p) != 0) {
		err_set(e, ERR_IO, "%s: %s", full.p, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fs_temp_sweep(full.p);
	st = prep(h, "UPDATE partitions SET captured_seq = ?, last_capture = ?,"
	    " last_capture_start_ms = ? WHERE hub = ? AND part = ?", e);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, last_seq + 1);
	sqlite3_bind_text(st, 2, rel.p, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, start);
	sqlite3_bind_int64(st, 4, h->id);
	sqlite3_bind_int(st, 5, p);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(h, e, "capture");
	sqlite3_finalize(st);
	if (rc < 0)
		goto out;
	st = prep(h, "INSERT OR REPLACE INTO captures(hub, part, first_seq, last_seq,"
	    " window_start_ms, path, events, bytes, created_ms) VALUES(?,?,?,?,?,?,?,?,?)", e);
	if (st == NULL) {
		rc = -1;
		goto out;
	}
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int(st, 2, p);
	sqlite3_bind_int64(st, 3, first_seq);
	sqlite3_bind_int64(st, 4, last_seq);
	sqlite3_bind_int64(st, 5, start);
	sqlite3_bind_text(st, 6, rel.p, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, count);
	sqlite3_bind_int64(st, 8, bytes);
	sqlite3_bind_int64(st, 9, now);
	rc = sqlite3_step(st) == SQLITE_DONE ? 1 : db_err(h, e, "capture");
	sqlite3_finalize(st);
out:
	capture_writer_abort(w);
	buf_free(&rel);
	buf_free(&full);
	free(tmp);
	return rc;
}

/*
 * Delete events past retention; never one that Capture has not written
 * yet.  Enqueued times never go back within a partition (local_send), so a
 * partition's expired events are a prefix of it: read from its oldest
 * event to the first one still kept, never the rest.  (One DELETE over the
 * whole table read every event of the hub, while holding the write lock,
 * inside the sender's commit path: 165 ms for 300,000 events, and a hub
 * keeps a week's.)  At most PURGE_BATCH events of a partition go in one
 * transaction, so no sender waits long for the lock; 1 when some expired
 * events are left for the next purge, 0 when none, -1 on error.
 */
static int
purge(struct lhub *h, int64_t now, struct err *e)
{
	sqlite3_stmt *lim = NULL, *first = NULL, *keep = NULL, *del = NULL;
	int64_t cutoff = now - h->retention_ms;
	int rc = -1, more = 0;

	if (h->retention_ms <= 0)
		return 0;
	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	lim = prep(h, "SELECT CASE WHEN ?3 THEN captured_seq ELSE next_seq END FROM partitions"
	    " WHERE hub = ?1 AND part = ?2", e);
	first = prep(h, "SELECT seq FROM events WHERE hub = ?1 AND part = ?2 ORDER BY seq LIMIT 1", e);
	keep = prep(h, "SELECT seq FROM events WHERE hub = ?1 AND part = ?2 AND seq >= ?3"
	    " AND seq < ?4 AND enqueued_ms >= ?5 ORDER BY seq LIMIT 1", e);
	del = prep(h, "DELETE FROM events WHERE hub = ?1 AND part = ?2 AND seq < ?3", e);
	if (!lim || !first || !keep || !del)
		goto out;
	for (int p = 0; p < h->partitions; p++) {
		int64_t end, from, cut;

		sqlite3_bind_int64(lim, 1, h->id);
		sqlite3_bind_int(lim, 2, p);
		sqlite3_bind_int(lim, 3, h->capture);
		end = sqlite3_step(lim) == SQLITE_ROW ? sqlite3_column_int64(lim, 0) : 0;
		sqlite3_reset(lim);
		sqlite3_bind_int64(first, 1, h->id);
		sqlite3_bind_int(first, 2, p);
		if (sqlite3_step(first) != SQLITE_ROW) {
			sqlite3_reset(first);
			continue;
		}
		from = sqlite3_column_int64(first, 0);
		sqlite3_reset(first);
		if (end > from + PURGE_BATCH)
			end = from + PURGE_BATCH;
		if (end <= from)
			continue;
		sqlite3_bind_int64(keep, 1, h->id);
		sqlite3_bind_int(keep, 2, p);
		sqlite3_bind_int64(keep, 3, from);
		sqlite3_bind_int64(keep, 4, end);
		sqlite3_bind_int64(keep, 5, cutoff);
		cut = sqlite3_step(keep) == SQLITE_ROW ? sqlite3_column_int64(keep, 0) : end;
		sqlite3_reset(keep);
		if (cut == from)
			continue;
		sqlite3_bind_int64(del, 1, h->id);
		sqlite3_bind_int(del, 2, p);
		sqlite3_bind_int64(del, 3, cut);
		if (sqlite3_step(del) != SQLITE_DONE) {
			db_err(h, e, "purging expired events");
			goto out;
		}
		sqlite3_reset(del);
		if (cut == from + PURGE_BATCH)
			more = 1;
	}
	rc = 0;
out:
	sqlite3_finalize(lim);
	sqlite3_finalize(first);
	sqlite3_finalize(keep);
	sqlite3_finalize(del);
	if (rc == 0 && exec(h, "COMMIT", e) == 0)
		return more;
	rollback(h);
	return -1;
}

static int
local_close_windows(struct hub *hb, bool all, int *files, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	int64_t now = tfmt_now();
	int rc = 0;

	*files = 0;
	if (!all && now - h->last_capture_check < CAPTURE_CHECK_MS)
		return 0;
	h->last_capture_check = now;
	if (h->capture) {
		for (int p = 0; p < h->partitions && rc == 0; p++) {
			for (;;) {
				int r;

				if (exec(h, "BEGIN IMMEDIATE", e) < 0)
					return -1;
				r = capture_one(h, p, all, now, e);
				if (r < 0) {
					rollback(h);
					rc = -1;
					break;
				}
				if (exec(h, "COMMIT", e) < 0) {
					rollback(h);
					return -1;
				}
				if (r == 0)
					break;
				(*files)++;
			}
		}
	}
	if (rc == 0 && (all || now - h->last_purge >= PURGE_CHECK_MS)) {
		h->last_purge = now;
		while ((rc = purge(h, now, e)) > 0 && all)
			;
		/* More left: the next look for due windows purges on. */
		if (rc > 0)
			h->last_purge = now - PURGE_CHECK_MS + CAPTURE_CHECK_MS;
		rc = rc < 0 ? -1 : 0;
	}
	return rc;
}

/* Where a partition starts for this group: after its checkpoint, or --from. */
static void
init_position(struct lhub *h, int p)
{
	int64_t ck = -2;
	sqlite3_stmt *st;
	int64_t next = query_int(h, "SELECT next_seq FROM partitions WHERE hub = ? AND part = ?",
	    h->id, p, 0, 0);
	int64_t first = query_int(h, "SELECT min(seq) FROM events WHERE hub = ? AND part = ?",
	    h->id, p, 0, next);

	if (sqlite3_prepare_v2(h->db, "SELECT seq FROM checkpoints WHERE hub = ? AND grp = ?"
	    " AND part = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, h->id);
		sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, p);
		if (sqlite3_step(st) == SQLITE_ROW)
			ck = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	h->ckpt[p] = ck >= -1 ? ck : -1;
	if (ck >= -1) {
		h->pos[p] = ck + 1;
	} else {
		switch (h->ro.from) {
		case HUB_FROM_EARLIEST:
			h->pos[p] = first;
			break;
		case HUB_FROM_LATEST:
			h->pos[p] = next;
			break;
		case HUB_FROM_TIME:
			h->pos[p] = query_int(h, "SELECT min(seq) FROM events WHERE hub = ? AND part = ?"
			    " AND enqueued_ms >= ?", h->id, p, h->ro.from_value, next);
			break;
		case HUB_FROM_SEQ:
			h->pos[p] = h->ro.from_value;
			break;
		}
	}
	if (h->pos[p] < first)
		h->pos[p] = first;	/* purged by retention: start at the oldest kept */
}

/*
 * Consumer groups.  A member reads a partition only while it holds the
 * partition's lease: a row (owner, expiry, generation) that it renews every
 * third of the lease time.  A lease is taken only when it is released or
 * expired, and taking it raises its generation; the member's reads and
 * checkpoints check owner and generation in the same transaction as their
 * work, so a member that lost a partition can neither deliver nor
 * checkpoint it again.  A member that has more than its fair share (worked
 * out from the live members in the members table) stops reading the
 * extra partitions at once and releases them at its next checkpoint, after
 * recording what it wrote: the next owner starts exactly there.
 */

/* Hubs made before generations and the members table get them here. */
static int
upgrade_group_tables(struct lhub *h, struct err *e)
{
	static const char has_gen[] =
	    "SELECT count(*) FROM pragma_table_info('leases') WHERE name = 'gen'";
	static const char has_members[] =
	    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'members'";

	if (query_int(h, has_gen, 0, 0, 0, 0) > 0 && query_int(h, has_members, 0, 0, 0, 0) > 0)
		return 0;
	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	/* Look again under the write lock: another member may be doing it. */
	if ((query_int(h, has_gen, 0, 0, 0, 0) == 0 &&
	    exec(h, "ALTER TABLE leases ADD COLUMN gen INT NOT NULL DEFAULT 0", e) < 0) ||
	    exec(h, MEMBERS_SQL, e) < 0) {
		rollback(h);
		return -1;
	}
	return exec(h, "COMMIT", e);
}

/*
 * Take the lease of partition p if nobody holds it (never taken, released,
 * or expired), with the next generation, and start reading it where the
 * group's checkpoint says.  1 when taken, 0 when another member holds it.
 * Called inside balance's IMMEDIATE transaction.
 */
static int
claim(struct lhub *h, int p, int64_t now, struct err *e)
{
	sqlite3_stmt *st = prep(h, "INSERT INTO leases(hub, grp, part, owner, expires_ms, gen)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT(hub, grp, part) DO UPDATE SET"
	    " owner = ?4, expires_ms = ?5, gen = gen + 1 WHERE owner = '' OR expires_ms <= ?6"
	    " RETURNING gen", e);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, p);
	sqlite3_bind_text(st, 4, h->owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now + h->lease_ms);
	sqlite3_bind_int64(st, 6, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		h->gen[p] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(h, e, "lease");
	if (rc == SQLITE_DONE)
		return 0;
	h->owned[p] = true;
	h->draining[p] = false;
	init_position(h, p);
	return 1;
}

/* Run one statement with the hub, the group and this member bound as ?1 ?2 ?3
 * and an integer as ?4; false on failure. */
static bool
group_exec(struct lhub *h, const char *sql, int64_t v, struct err *e)
{
	sqlite3_stmt *st = prep(h, sql, e);
	bool ok;

	if (st == NULL)
		return false;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, h->owner, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, v);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok)
		db_err(h, e, "consumer group");
	return ok;
}

/*
 * This member's fair share: the live members sorted by name split the
 * partitions, the first P % n of them taking one more.  A reader with -e
 * counts for nobody and takes whatever is free.
 */
static int
fair_share(struct lhub *h, int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	int n = 0, rank = 0;

	if (h->to_end)
		return h->partitions;
	if (!group_exec(h, "INSERT OR REPLACE INTO members(hub, grp, owner, expires_ms)"
	    " VALUES(?1, ?2, ?3, ?4)", now + h->lease_ms, e) ||
	    !group_exec(h, "DELETE FROM members WHERE hub = ?1 AND grp = ?2 AND owner <> ?3"
	    " AND expires_ms <= ?4", now, e))
		return -1;
	st = prep(h, "SELECT owner FROM members WHERE hub = ? AND grp = ? ORDER BY owner", e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), h->owner) == 0)
			rank = n;
		n++;
	}
	sqlite3_finalize(st);
	if (n == 0)
		n = 1;
	return h->partitions / n + (rank < h->partitions % n);
}

/*
 * Renew this member's leases, notice those lost, stop reading the ones
 * above its fair share (released at the next checkpoint), and take free or
 * expired ones up to it.
 */
static int
balance(struct lhub *h, struct err *e)
{
	int64_t now = tfmt_now();
	int P = h->partitions, mine = 0, share;
	sqlite3_stmt *st;
	int rc = -1;
	bool waiting = false;

	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if ((share = fair_share(h, now, e)) < 0)
		goto out;
	if (!group_exec(h, "UPDATE leases SET expires_ms = ?4 WHERE hub = ?1 AND grp = ?2"
	    " AND owner = ?3", now + h->lease_ms, e))
		goto out;
	for (int p = 0; p < P; p++)
		h->held[p] = 0;
	st = prep(h, "SELECT part, owner, expires_ms, gen FROM leases WHERE hub = ? AND grp = ?", e);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int p = sqlite3_column_int(st, 0);
		const char *who = (const char *)sqlite3_column_text(st, 1);
		bool ours;

		if (p < 0 || p >= P)
			continue;
		ours = strcmp(who, h->owner) == 0 && sqlite3_column_int64(st, 3) == h->gen[p];
		if (h->owned[p] && !ours)
			h->owned[p] = h->draining[p] = false;	/* taken over after it expired */
		if (!ours && *who && sqlite3_column_int64(st, 2) > now)
			h->held[p] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	for (int p = 0; p < P; p++)
		mine += h->owned[p] && !h->draining[p];
	/* Above the share: stop reading the last ones; below: read them again. */
	for (int p = P - 1; p >= 0 && mine > share; p--) {
		if (h->owned[p] && !h->draining[p]) {
			h->draining[p] = true;
			mine--;
		}
	}
	for (int p = 0; p < P && mine < share; p++) {
		if (h->draining[p]) {
			h->draining[p] = false;
			mine++;
		}
	}
	for (int p = 0; p < P && mine < share; p++) {
		int got;

		if (h->owned[p] || h->held[p] > 0)
			continue;
		if ((got = claim(h, p, now, e)) < 0)
			goto out;
		mine += got;
	}
	h->short_of = share - mine;
	rc = exec(h, "COMMIT", e);
	for (int p = 0; p < P; p++)
		waiting = waiting || h->draining[p] || (h->to_end && h->held[p] > 0);
	/* While partitions change hands, look often; else renew at a third. */
	h->next_balance = now + h->lease_ms / 3;
	if ((h->short_of > 0 || waiting) && h->lease_ms / 3 > 100)
		h->next_balance = now + 100;
out:
	if (rc < 0)
		rollback(h);
	return rc;
}

static int
local_reader_open(struct hub *hb, const struct hub_reader_opts *o, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	char host[128] = "localhost";
	size_t P = (size_t)h->partitions;

	if (o->partition >= h->partitions)
		return err_set(e, ERR_USAGE, "event hub '%s' has no partition %d (it has %d)",
		    h->name, o->partition, h->partitions);
	h->ro = *o;
	h->group = xstrdup(o->group ? o->group : HUB_DEFAULT_GROUP);
	gethostname(host, sizeof(host) - 1);
	{
		struct buf b = { 0 };

		buf_printf(&b, "%s:%ld:%lx", host, (long)getpid(), (unsigned long)tfmt_now());
		h->owner = buf_steal(&b);
	}
	h->owned = xcalloc(P, sizeof(*h->owned));
	h->draining = xcalloc(P, sizeof(*h->draining));
	h->gen = xcalloc(P, sizeof(*h->gen));
	h->held = xcalloc(P, sizeof(*h->held));
	h->held_first = xcalloc(P, sizeof(*h->held_first));
	h->pos = xcalloc(P, sizeof(*h->pos));
	h->ckpt = xcalloc(P, sizeof(*h->ckpt));
	h->reading = true;
	/* Readers write little (checkpoints, leases): the senders' checkpointer
	 * copies the WAL back, so a reader never stops to do it. */
	sqlite3_wal_autocheckpoint(h->db, 0);
	/* Senders touch the WAL after each commit (local_send): that is the
	 * wake-up.  Its writes before the commit would wake a reader too early. */
	h->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ino >= 0 && inotify_add_watch(h->ino, h->walpath, IN_ATTRIB) < 0) {
		close(h->ino);
		h->ino = -1;	/* fall back on polling */
	}
	if (o->partition >= 0) {
		if (exec(h, "BEGIN", e) < 0)
			return -1;
		h->owned[o->partition] = true;
		init_position(h, o->partition);
		h->next_balance = INT64_MAX;
		return exec(h, "COMMIT", e);
	}
	if (upgrade_group_tables(h, e) < 0)
		return -1;
	return balance(h, e);
}

/*
 * Read what is there for owned partitions, without waiting.  In the same
 * read transaction, each partition's lease is checked first: a partition
 * that another member took over is dropped, never read.
 */
static int
read_some(struct lhub *h, struct hub_msg *out, int max, struct err *e)
{
	int n = 0, P = h->partitions;
	bool shared = h->ro.partition < 0;
	int64_t now = tfmt_now();

	if (h->st_read == NULL) {
		h->st_read = prep(h, "SELECT seq, offset, enqueued_ms, pkey, body FROM events"
		    " WHERE hub = ? AND part = ? AND seq >= ? ORDER BY seq LIMIT ?", e);
		if (h->st_read == NULL)
			return -1;
	}
	if (shared && h->st_lease == NULL) {
		h->st_lease = prep(h, "SELECT owner = ?4 AND gen = ?5 AND expires_ms > ?6 FROM leases"
		    " WHERE hub = ?1 AND grp = ?2 AND part = ?3", e);
		if (h->st_lease == NULL)
			return -1;
	}
	if (h->pend_cap < max) {
		h->pend = xrealloc(h->pend, sizeof(*h->pend) * (size_t)max);
		h->pend_cap = max;
	}
	buf_reset(&h->arena);
	if (exec(h, "BEGIN", e) < 0)
		return -1;
	for (int k = 0; k < P && n < max; k++) {
		int p = (h->next_part + k) % P;

		if (!h->owned[p] || h->draining[p])
			continue;
		if (shared) {
			bool held;

			sqlite3_reset(h->st_lease);
			sqlite3_bind_int64(h->st_lease, 1, h->id);
			sqlite3_bind_text(h->st_lease, 2, h->group, -1, SQLITE_STATIC);
			sqlite3_bind_int(h->st_lease, 3, p);
			sqlite3_bind_text(h->st_lease, 4, h->owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(h->st_lease, 5, h->gen[p]);
			sqlite3_bind_int64(h->st_lease, 6, now);
			held = sqlite3_step(h->st_lease) == SQLITE_ROW &&
			    sqlite3_column_int(h->st_lease, 0) != 0;
			sqlite3_reset(h->st_lease);
			if (!held) {
				h->owned[p] = false;
				h->next_balance = now;
				continue;
			}
		}
		sqlite3_reset(h->st_read);
		sqlite3_bind_int64(h->st_read, 1, h->id);
		sqlite3_bind_int(h->st_read, 2, p);
		sqlite3_bind_int64(h->st_read, 3, h->pos[p]);
		sqlite3_bind_int(h->st_read, 4, max - n);
		while (n < max && sqlite3_step(h->st_read) == SQLITE_ROW) {
			struct hub_msg *m = &out[n];
			int klen = sqlite3_column_bytes(h->st_read, 3);
			int blen = sqlite3_column_bytes(h->st_read, 4);

			m->partition = p;
			m->seq = sqlite3_column_int64(h->st_read, 0);
			m->offset = sqlite3_column_int64(h->st_read, 1);
			m->enqueued_ms = sqlite3_column_int64(h->st_read, 2);
			h->pend[n].key = (size_t)-1;
			if (sqlite3_column_type(h->st_read, 3) != SQLITE_NULL) {
				h->pend[n].key = h->arena.len;
				buf_add(&h->arena, sqlite3_column_blob(h->st_read, 3), (size_t)klen);
				buf_addc(&h->arena, '\0');
			}
			m->keylen = (size_t)klen;
			h->pend[n].body = h->arena.len;
			buf_add(&h->arena, sqlite3_column_blob(h->st_read, 4), (size_t)blen);
			buf_addc(&h->arena, '\0');
			m->len = (size_t)blen;
			h->pos[p] = m->seq + 1;
			n++;
		}
	}
	sqlite3_reset(h->st_read);
	exec(h, "COMMIT", e);
	h->next_part = (h->next_part + 1) % P;
	/* The arena has stopped growing: turn offsets into pointers. */
	for (int i = 0; i < n; i++) {
		out[i].body = h->arena.p + h->pend[i].body;
		out[i].key = h->pend[i].key == (size_t)-1 ? NULL : h->arena.p + h->pend[i].key;
	}
	return n;
}

/*
 * With -e, after the owned partitions ran dry: true while it is worth
 * waiting for partitions that another member holds.  A dead member's lease
 * runs out (within this member's lease time, at most); a live member
 * renews its leases, and then waiting is pointless.
 */
static bool
wait_for_held(struct lhub *h, int64_t now)
{
	int64_t until = 0;
	bool any = false, renewed = true;

	if (!h->to_end || h->ro.partition >= 0 || h->gave_up)
		return false;
	for (int p = 0; p < h->partitions; p++) {
		if (h->owned[p] || h->held[p] == 0)
			continue;
		any = true;
		if (h->held_first[p] == 0)
			h->held_first[p] = h->held[p];
		if (h->held_first[p] > until)
			until = h->held_first[p];
		renewed = renewed && h->held[p] > h->held_first[p];
	}
	if (!any)
		return false;
	if (h->held_until == 0) {
		/* The latest expiry seen first, and no later than one lease. */
		h->held_until = until < now + h->lease_ms ? until : now + h->lease_ms;
		return true;
	}
	/* Every lease we wait for was renewed since: their owners are alive. */
	if (renewed || now > h->held_until + 100) {
		h->gave_up = true;
		return false;
	}
	return true;
}

static int
local_read(struct hub *hb, struct hub_msg *out, int max, int timeout_ms,
    bool *caught_up, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	int64_t deadline = tfmt_now() + timeout_ms;

	*caught_up = false;
	for (;;) {
		int64_t now = tfmt_now(), wait;
		struct pollfd pfd[2];
		int n, nfd = 0, ready;
		bool held;

		if (now >= h->next_balance && balance(h, e) < 0)
			return -1;
		n = read_some(h, out, max, e);
		if (n != 0)
			return n;
		held = wait_for_held(h, now);
		*caught_up = !held;
		if (now >= deadline && !held)
			return 0;
		wait = held ? 0 : deadline - now;
		if (held || h->next_balance - now < wait)
			wait = h->next_balance - now > 0 ? h->next_balance - now : 0;
		if (h->ino < 0 && wait > 20)
			wait = 20;	/* no inotify: poll the database */
		if (h->ino >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = h->ino, .events = POLLIN };
		if (h->ro.hangup_fd > 0)
			pfd[nfd++] = (struct pollfd){ .fd = h->ro.hangup_fd, .events = 0 };
		ready = poll(pfd, (nfds_t)nfd, (int)wait);
		if (ready < 0 && errno == EINTR)
			return 0;	/* a signal: let the caller look at its flags */
		if (ready > 0 && h->ino >= 0 && pfd[0].revents) {
			char drain[4096];

			while (read(h->ino, drain, sizeof(drain)) > 0)
				;
		}
		/* The reader of our output went away: the caller will see it. */
		if (ready > 0 && h->ro.hangup_fd > 0 && pfd[nfd - 1].revents)
			return 0;
	}
}

static int
local_checkpoint(struct hub *hb, const int64_t *last_seq, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	sqlite3_stmt *st, *held = NULL;
	bool any = false, shared = h->ro.partition < 0;
	int64_t now = tfmt_now();
	int rc = -1;

	for (int p = 0; p < h->partitions; p++)
		any = any || (h->owned[p] && (last_seq[p] > h->ckpt[p] || h->draining[p]));
	if (!any)
		return 0;
	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	st = prep(h, "INSERT OR REPLACE INTO checkpoints(hub, grp, part, seq, updated_ms)"
	    " VALUES(?,?,?,?,?)", e);
	if (shared)
		held = prep(h, "SELECT 1 FROM leases WHERE hub = ? AND grp = ? AND part = ?"
		    " AND owner = ? AND gen = ?", e);
	if (st == NULL || (shared && held == NULL))
		goto out;
	for (int p = 0; p < h->partitions; p++) {
		/* Only what this ownership delivered: an older position is stale. */
		int64_t seq = last_seq[p] < h->pos[p] ? last_seq[p] : h->pos[p] - 1;

		if (!h->owned[p] || (seq <= h->ckpt[p] && !h->draining[p]))
			continue;
		if (shared) {
			sqlite3_reset(held);
			sqlite3_bind_int64(held, 1, h->id);
			sqlite3_bind_text(held, 2, h->group, -1, SQLITE_STATIC);
			sqlite3_bind_int(held, 3, p);
			sqlite3_bind_text(held, 4, h->owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(held, 5, h->gen[p]);
			if (sqlite3_step(held) != SQLITE_ROW) {
				/* Another member holds it now: its position is not ours to move. */
				h->owned[p] = h->draining[p] = false;
				continue;
			}
		}
		if (seq > h->ckpt[p]) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, h->id);
			sqlite3_bind_text(st, 2, h->group, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, p);
			sqlite3_bind_int64(st, 4, seq);
			sqlite3_bind_int64(st, 5, now);
			if (sqlite3_step(st) != SQLITE_DONE) {
				db_err(h, e, "checkpoint");
				goto out;
			}
			h->ckpt[p] = seq;
		}
		if (h->draining[p]) {
			sqlite3_stmt *rel = prep(h, "UPDATE leases SET owner = '', expires_ms = 0"
			    " WHERE hub = ? AND grp = ? AND part = ? AND owner = ? AND gen = ?", e);
			bool ok;

			if (rel == NULL)
				goto out;
			sqlite3_bind_int64(rel, 1, h->id);
			sqlite3_bind_text(rel, 2, h->group, -1, SQLITE_STATIC);
			sqlite3_bind_int(rel, 3, p);
			sqlite3_bind_text(rel, 4, h->owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(rel, 5, h->gen[p]);
			ok = sqlite3_step(rel) == SQLITE_DONE;
			sqlite3_finalize(rel);
			if (!ok) {
				db_err(h, e, "lease");
				goto out;
			}
			h->owned[p] = h->draining[p] = false;
		}
	}
	rc = exec(h, "COMMIT", e);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(held);
	if (rc < 0)
		rollback(h);
	return rc;
}

/* Leave the group: release every lease (keeping its generation) at once. */
static int
local_reader_leave(struct hub *hb, struct err *e)
{
	struct lhub *h = (struct lhub *)hb;

	if (!h->reading || h->ro.partition >= 0)
		return 0;
	if (exec(h, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if (!group_exec(h, "UPDATE leases SET owner = '', expires_ms = 0 WHERE hub = ?1"
	    " AND grp = ?2 AND owner = ?3", 0, e) ||
	    !group_exec(h, "DELETE FROM members WHERE hub = ?1 AND grp = ?2 AND owner = ?3", 0, e)) {
		rollback(h);
		return -1;
	}
	for (int p = 0; p < h->partitions; p++)
		h->owned[p] = h->draining[p] = false;
	return exec(h, "COMMIT", e);
}

/* With -e: the partitions left unread because another member held them. */
static int
local_reader_missing(struct hub *hb, int *parts, int max)
{
	struct lhub *h = (struct lhub *)hb;
	int n = 0;

	if (!h->reading || h->ro.partition >= 0)
		return 0;
	for (int p = 0; p < h->partitions && n < max; p++)
		if (!h->owned[p] && h->held[p] > 0)
			parts[n++] = p;
	return n;
}

/* "key":"value", or "key":null when v is NULL. */
static void
put_str_or_null(struct buf *b, const char *key, const char *v)
{
	json_key(b, key);
	if (v)
		json_put_str(b, v, strlen(v));
	else
		json_put_null(b);
}

static int
local_status(struct hub *hb, void (*fn)(const char *json, void *arg), void *arg,
    struct err *e)
{
	struct lhub *h = (struct lhub *)hb;
	sqlite3_stmt *st;
	struct buf b = { 0 };
	int64_t now = tfmt_now();
	char t[32];

	st = prep(h, "SELECT p.part, p.next_seq, p.last_enqueued_ms, p.captured_seq, p.last_capture,"
	    " (SELECT min(seq) FROM events e WHERE e.hub = p.hub AND e.part = p.part)"
	    " FROM partitions p WHERE p.hub = ? ORDER BY p.part", e);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t next = sqlite3_column_int64(st, 1);

		buf_reset(&b);
		buf_addc(&b, '{');
		put_str_or_null(&b, "eventhub", h->name);
		json_key(&b, "partition");
		json_put_int(&b, sqlite3_column_int(st, 0));
		json_key(&b, "first_seq");
		json_put_int(&b, sqlite3_column_type(st, 5) == SQLITE_NULL ? next :
		    sqlite3_column_int64(st, 5));
		json_key(&b, "last_seq");
		json_put_int(&b, next - 1);
		if (next > 0) {
			tfmt_format(sqlite3_column_int64(st, 2), t);
			put_str_or_null(&b, "last_enqueued", t);
		} else {
			put_str_or_null(&b, "last_enqueued", NULL);
		}
		json_key(&b, "captured_seq");
		json_put_int(&b, sqlite3_column_int64(st, 3) - 1);
		put_str_or_null(&b, "last_capture", (const char *)sqlite3_column_text(st, 4));
		buf_addc(&b, '}');
		fn(b.p, arg);
	}
	sqlite3_finalize(st);
	/* Every group that ever checkpointed or holds a lease, with every partition. */
	st = prep(h, "SELECT g.grp, p.part, c.seq, p.next_seq,"
	    " (SELECT min(seq) FROM events e WHERE e.hub = p.hub AND e.part = p.part),"
	    " l.owner, l.expires_ms"
	    " FROM (SELECT grp FROM checkpoints WHERE hub = ?1 UNION SELECT grp FROM leases"
	    " WHERE hub = ?1) g CROSS JOIN partitions p"
	    " LEFT JOIN checkpoints c ON c.hub = p.hub AND c.grp = g.grp AND c.part = p.part"
	    " LEFT JOIN leases l ON l.hub = p.hub AND l.grp = g.grp AND l.part = p.part"
	    " WHERE p.hub = ?1 ORDER BY g.grp, p.part", e);
	if (st == NULL) {
		buf_free(&b);
		return -1;
	}
	sqlite3_bind_int64(st, 1, h->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t next = sqlite3_column_int64(st, 3);
		int64_t first = sqlite3_column_type(st, 4) == SQLITE_NULL ? next :
		    sqlite3_column_int64(st, 4);
		bool has_ckpt = sqlite3_column_type(st, 2) != SQLITE_NULL;
		bool live = sqlite3_column_type(st, 5) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 6) > now;

		buf_reset(&b);
		buf_addc(&b, '{');
		put_str_or_null(&b, "eventhub", h->name);
		put_str_or_null(&b, "group", (const char *)sqlite3_column_text(st, 0));
		json_key(&b, "partition");
		json_put_int(&b, sqlite3_column_int(st, 1));
		json_key(&b, "checkpoint");
		if (has_ckpt)
			json_put_int(&b, sqlite3_column_int64(st, 2));
		else
			json_put_null(&b);
		/* Lag: events stored after the checkpoint, or all of them. */
		json_key(&b, "lag");
		json_put_int(&b, has_ckpt ? next - 1 - sqlite3_column_int64(st, 2) : next - first);
		put_str_or_null(&b, "owner", live ? (const char *)sqlite3_column_text(st, 5) : NULL);
		buf_addc(&b, '}');
		fn(b.p, arg);
	}
	sqlite3_finalize(st);
	buf_free(&b);
	return 0;
}

static const struct hub_ops local_ops = {
	.close = local_close,
	.partition_count = local_partition_count,
	.send = local_send,
	.close_windows = local_close_windows,
	.reader_open = local_reader_open,
	.read = local_read,
	.checkpoint = local_checkpoint,
	.reader_leave = local_reader_leave,
	.reader_missing = local_reader_missing,
	.status = local_status,
};
