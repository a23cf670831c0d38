/* viewdir.h: the view directory: where batch views are written and found. */
#ifndef CSA_VIEWDIR_H
#define CSA_VIEWDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "strmap.h"

/*
 * csa-batch-agg --out DIR writes, and csa-merge reads, one file per view,
 * day and partition:
 *
 *     DIR/VIEW/date=YYYY-MM-DD[/FIELD=VALUE...]/part-0.ndjson
 *
 * A VALUE keeps [A-Za-z0-9_-] and writes every other byte as %XX; one
 * that would pass VIEWDIR_NAME_MAX bytes is cut and ends in "~" and a
 * hash of the whole value.  A FIELD is 1 to VIEWDIR_FIELD_MAX bytes, no
 * '/', not starting with '.'.  Names starting with '.' (a writer's
 * temporary files) are never read.
 */
#define VIEWDIR_FILE "part-0.ndjson"
enum { VIEWDIR_NAME_MAX = 255, VIEWDIR_FIELD_MAX = 64 };

/* Whether field can name a partition directory. */
bool viewdir_field_ok(const char *field);

/* Append "DIR/VIEW/date=YYYY-MM-DD" for day (days since the epoch). */
void viewdir_day(struct buf *b, const char *dir, const char *view, int64_t day);

/* Append "/FIELD=VALUE" for value[0..len). */
void viewdir_part(struct buf *b, const char *field, const char *value, size_t len);

/* Append "/part-0.ndjson". */
void viewdir_file(struct buf *b);

/* Whether path is a view directory (it holds date=... directories). */
bool viewdir_is_view(const char *path);

/* The names of the views under path, "(a), (b)", each once, into names;
 * how many in *count. */
void viewdir_names(const char *path, struct buf *names, int *count);

/*
 * Every *.ndjson file under path in name order (path itself when it is a
 * file, or "-"), skipping hidden names and, when view is given, the view
 * directories of other names.  fn's non-zero return (other than -1)
 * stops the walk and is returned; -1 with ERR_IO when a directory cannot
 * be read.
 */
int viewdir_walk(const char *path, const char *view,
    int (*fn)(const char *file, void *arg), void *arg, struct err *e);

/* Remove the part files below day (depth partition levels down) that are
 * not in written, and partition directories left empty; returns how many
 * files were removed. */
long viewdir_remove_stale(const char *day, int depth, const struct strmap *written);

/*
 * Retention: remove the date= partitions of the view directory view
 * (DIR/VIEW) whose day ends keep_ms or more before the end of its newest
 * day, so the view keeps its last keep_ms of days, counted back from its
 * own newest data and not from the clock (a view that is rebuilt from
 * old data, or whose feed stopped, keeps what it has).  A partition goes
 * whole: it is first renamed to a hidden name, which readers never list,
 * then removed; what a killed run left hidden is removed by the next.
 * How many partitions went, or -1 with ERR_IO.
 */
long viewdir_expire(const char *view, int64_t keep_ms, struct err *e);

#endif
