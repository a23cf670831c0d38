/* evstore.h: the batch layer's deduplicated events, in memory or in SQLite. */
#ifndef CSA_EVSTORE_H
#define CSA_EVSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * One event per real-world event: versions of an event, and events whose
 * id lists share an id (USGS merges), collapse into one record; the
 * version with the greatest `version` wins, ties go to the one put later
 * (across runs too).  A winner that is deleted hides the event.  What a
 * version holds besides is the caller's record: opaque bytes, kept as they
 * were put.
 *
 * Without a path the store is a hash table in memory (a union-find over
 * ids, so merges cost nothing per id) until it takes more than `memory`
 * bytes; then it moves into a temporary SQLite database, which keeps what
 * fits of it in memory and the rest on disk.  With a path (--incremental)
 * it is that SQLite file from the start, committed by evstore_close.
 */
struct evstore;

/* Open (creating) the store at path, or a temporary one when path is NULL.
 * query names what the views compute: a file saved by another query is
 * refused with ERR_USAGE.  memory bounds what the store holds in memory
 * (SQLite's page cache, or the table before it spills).  Caller closes. */
struct evstore *evstore_open(const char *path, const char *query, int64_t memory,
    struct err *e);

/* Commit what was put and close; -1 with e when the commit failed (then
 * nothing of this run is kept).  NULL is fine. */
int evstore_close(struct evstore *s, bool commit, struct err *e);

/* A day an event was on, or is now on, whose views must be written again. */
typedef void (*evstore_day_fn)(int64_t day, void *arg);

/*
 * Put one version: its ids (ids[0] is its own), version, time (epoch ms),
 * whether it is a deletion, and its record rec[0..len).  day_fn is told
 * the day (epoch days of the window-start date of t, see evstore_day) of
 * every version that this put adds, replaces or removes.
 */
int evstore_put(struct evstore *s, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const void *rec, size_t len,
    evstore_day_fn day_fn, void *arg, struct err *e);

/* The day whose views hold an event at t: windows are (start, end], so an
 * event at exactly midnight belongs to the day before. */
int64_t evstore_day(int64_t t);

/* Every day that has a live event, in order. */
int evstore_days(struct evstore *s, evstore_day_fn fn, void *arg, struct err *e);

/* The live events of a day, with their times, in time order (then in the
 * order they were put).  Once a day is scanned, nothing more may be put. */
typedef int (*evstore_rec_fn)(const void *rec, size_t len, int64_t t, void *arg);
int evstore_scan_day(struct evstore *s, int64_t day, evstore_rec_fn fn, void *arg,
    struct err *e);

/* Counts of what the store holds; *spilled_at: the put (1 for the first)
at which it went to disk, 0 when it did not. */
void evstore_counts(struct evstore *s, int64_t *events, int64_t *deleted, int64_t *spilled_at);

/* The library behind the store and its version ("SQLite 3.x\n"), for
 * --version (static text). */
const char *evstore_versions(void);

#endif
