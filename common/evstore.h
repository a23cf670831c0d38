/* evstore.h: the batch layer's deduplicated events, in SQLite. */
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
 * (across runs too).  A winner that is deleted hides the event.
 *
 * The store is a SQLite database: a file for --incremental, or a
 * temporary one that SQLite keeps in memory up to the cache size and
 * spills to disk beyond it.
 */
struct evstore;

/* Open (creating) the store at path, or a temporary one when path is NULL.
 * query names what the views compute: a file saved by another query is
 * refused with ERR_USAGE.  cache_kb bounds SQLite's page cache (0: its
 * default).  Caller closes. */
struct evstore *evstore_open(const char *path, const char *query, int64_t cache_kb,
    struct err *e);

/* Commit what was put and close; -1 with e when the commit failed (then
 * nothing of this run is kept).  NULL is fine. */
int evstore_close(struct evstore *s, bool commit, struct err *e);

/* A day an event was on, or is now on, whose views must be written again. */
typedef void (*evstore_day_fn)(int64_t day, void *arg);

/*
 * Put one version: its ids (ids[0] is its own), version, time (epoch ms),
 * whether it is a deletion, and the line.  day_fn is told the day (epoch
 * days of the window-start date of t, see evstore_day) of every version
 * that this put adds, replaces or removes.
 */
int evstore_put(struct evstore *s, const char *const *ids, const size_t *idlen, int nids,
    int64_t version, int64_t t, bool deleted, const char *line, size_t len,
    evstore_day_fn day_fn, void *arg, struct err *e);

/* The day whose views hold an event at t: windows are (start, end], so an
 * event at exactly midnight belongs to the day before. */
int64_t evstore_day(int64_t t);

/* Every day that has a live event, in order. */
int evstore_days(struct evstore *s, evstore_day_fn fn, void *arg, struct err *e);

/* The live events of a day, with their times, in time order (then in the
 * order they were put). */
typedef int (*evstore_line_fn)(const char *line, size_t len, int64_t t, void *arg);
int evstore_scan_day(struct evstore *s, int64_t day, evstore_line_fn fn, void *arg,
    struct err *e);

/* Counts of what the store holds. */
void evstore_counts(struct evstore *s, int64_t *events, int64_t *deleted);

/* The library behind the store and its version ("SQLite 3.x\n"), for
 * --version (static text). */
const char *evstore_versions(void);

#endif
