/* window.h: the event-time window engine shared by the speed and batch layers. */
#ifndef CSA_WINDOW_H
#define CSA_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agg.h"
#include "buf.h"
#include "err.h"
#include "expr.h"
#include "json.h"
#include "row.h"
#include "strmap.h"

/*
 * Events go into windows by event time; a row per window and group goes
 * to the engine's sink once the watermark (the largest time seen less
 * max_delay) has passed the window's end.  Times are epoch milliseconds.
 *
 * Tumbling, hopping and snapshot windows keep one aggregate state per open
 * window and group.  Sliding and session windows keep each event's own
 * state (per group, in time order) until no row can need it any more, and
 * merge them when a row is written.
 */
enum win_type { WIN_NONE, WIN_TUMBLING, WIN_HOPPING, WIN_SLIDING, WIN_SESSION, WIN_SNAPSHOT };

struct win_by {
	char *name;
	struct expr *x;
};

/* What to compute: filled by the command from its options; the engine
 * borrows it for its whole life. */
struct win_spec {
	enum win_type type;
	int64_t size, hop, offset;	/* size: sliding size too; session timeout */
	int64_t max_duration;		/* session: 0 for none */
	int64_t max_delay;
	int64_t early;			/* --emit early:D, 0 for none */
	bool end_inclusive;		/* (start, end], else [start, end) */
	bool drop_late;
	long max_groups;		/* 0 for no bound */
	struct win_by *by;
	int nby;
	struct agg_list aggs;
	struct agg_having having;
	bool have_having;
	int64_t dedupe_horizon;		/* with a dedupe field */
};

/* Parse "--by" text (NAME=EXPR or EXPR, comma-separated) into spec->by. */
int win_add_by(struct win_spec *s, const char *text, struct err *e);
void win_spec_free(struct win_spec *s);
const char *win_type_name(enum win_type t);

/*
 * The time of an event from expression x: a number (epoch milliseconds, or
 * seconds when small) or any string tfmt_parse reads.  ERR_DATA naming the
 * expression when it is missing or unparsable.
 */
int win_time(struct expr *x, const struct json_doc *d, const char *line, size_t len,
    int64_t *t, struct err *e);

/* Append what rows of s depend on (window, grouping, aggregates), so that
 * saved state is only read back by the same query. */
void win_describe(const struct win_spec *s, struct buf *b);

struct win_engine;

/* Where finished rows go: row() for each, in order of window end and then
 * of group; done() (may be NULL) after each emission, for the rows to go
 * on at once: the next stage must not wait. */
struct win_sink {
	void (*row)(const struct row *r, void *arg);
	void (*done)(void *arg);
	void *arg;
};

/* A new engine handing rows to sink (copied).  Caller frees with win_free. */
struct win_engine *win_new(const struct win_spec *s, const struct win_sink *sink);
void win_free(struct win_engine *en);

/*
 * Take one event with time *t.  Returns WIN_TAKEN, WIN_DUPLICATE (its id
 * was seen within the dedupe horizon), WIN_DROPPED (late and --late drop,
 * or over max_groups), or -1 with e when a group or aggregate expression
 * failed (the event still counted where it could).  *t is changed when a
 * late event was adjusted; *late tells whether it was late.
 */
enum { WIN_TAKEN = 0, WIN_DUPLICATE = 1, WIN_DROPPED = 2, WIN_OVER_GROUPS = 3 };
int win_event(struct win_engine *en, int64_t *t, const char *id, size_t idlen,
    const struct json_doc *d, const char *line, size_t len, bool *late, struct err *e);

/*
 * The same for an event whose values were taken from its line before
 * (csa-batch-agg keeps them, not the line): by[i] the value of group
 * column i, args what agg_add_values takes, hash row_line_hash of the
 * line.  No dedupe id.  Returns as win_event; no expression runs here, so
 * nothing fails.
 */
int win_event_values(struct win_engine *en, int64_t *t, const struct expr_val *by,
    const struct expr_val *args, uint64_t hash, bool *late);

/*
 * Event time per input partition.  Without a call to win_partition the
 * input is one stream: its clock is the largest time seen.  Once events
 * name their partition, each partition keeps its own largest time, and the
 * clock (the watermark plus max_delay) is the least of them over the
 * partitions that are not idle: a partition from which nothing has come
 * for idle_ms of wall time stops holding it back until its next event.
 * Partitions not seen yet hold the clock at its start until `expect` of
 * them have been seen (0: no count given), or no new one has come for
 * idle_ms.
 */
void win_set_partitions(struct win_engine *en, int64_t idle_ms, int expect);
#define WIN_PART_IDLE 5000	/* the idle time when none is given */

/* The partition of the next event (key[0..len), or NULL for none) and the
 * wall time it was read at.  Returns the partition's index, which stays
 * the same for the engine's life, or -1 for one stream. */
int win_partition(struct win_engine *en, const char *key, size_t len, int64_t now);

/* The same for the partition with index i that win_partition returned,
 * without looking its key up. */
void win_partition_index(struct win_engine *en, int i, int64_t now);

/* Partitions seen (0: one stream). */
int win_partitions(const struct win_engine *en);

/* The wall time at which a partition goes idle or the wait for unseen ones
 * ends, when nothing comes before; -1 for none.  Then call win_tick. */
int64_t win_wake(const struct win_engine *en);

/* Wall time has come to now with no event: apply idleness, write what is due. */
void win_tick(struct win_engine *en, int64_t now);

/* Move event time on by ms with no event (the idle timeout). */
void win_idle(struct win_engine *en, int64_t ms);

/* Write every window the watermark has passed, or every open one. */
void win_advance(struct win_engine *en, bool all);

/*
 * At the end of a run: warn about each --by column and aggregate field
 * that no event had (null or missing in all of them: most likely a
 * mistyped name), and with -v say how many events lacked the others.
 * by_option names the grouping option in the messages ("--by").
 */
void win_report_missing(const struct win_engine *en, const char *by_option);

/* The same words for a command that counts for itself (csa-batch-agg):
 * what ("--by region"), of n events lacked it. */
void win_say_missing(const char *what, long lacked, long n);

/* Counts for the verbose report. */
struct win_counts {
	long events, late, dropped, duplicates, over_groups, rows, early_rows;
};
void win_counts(const struct win_engine *en, struct win_counts *c);

/* For --metrics: the watermark (have_mark: once an event came) and the
 * windows open, those of sliding and session windows counted by group. */
struct win_gauges {
	bool have_mark;
	int64_t mark;
	long open;
};
void win_gauges(const struct win_engine *en, struct win_gauges *g);

/* Partition i's key (len bytes) and watermark, INT64_MIN before its first
 * event; i below win_partitions. */
const char *win_partition_mark(const struct win_engine *en, int i, size_t *len,
    int64_t *mark);

/*
 * A line of a state that starts {"positions": belongs to the command
 * (common/positions.h): win_load passes over it.
 *
 * The engine's state (open windows, the events sliding and session windows
 * hold, the watermark, the dedupe ids) as NDJSON, for --state.  The first
 * line names the query, so a state is only read back by the same query.
 */
void win_save(const struct win_engine *en, struct buf *b);
/* Restore from text written by win_save; ERR_USAGE when it is another
 * query's, ERR_IO naming the line when it is damaged. */
int win_load(struct win_engine *en, const char *text, size_t len, const char *name,
    struct err *e);

#endif
