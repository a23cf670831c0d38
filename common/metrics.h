/* metrics.h: counters, gauges and histograms for --metrics, in Prometheus text. */
#ifndef CSA_METRICS_H
#define CSA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * One registry a process, kept in memory and written whole, in the
 * Prometheus text exposition format, to the file of --metrics, which
 * node_exporter's textfile collector serves.  Every family has one name,
 * type and help text in the table of metrics.c, the same in every
 * command (the collector refuses one name with two help texts), and every
 * series carries command="csa-..." first.  csa(7) "Monitoring" lists them.
 *
 * A series is found once, where a command sets up, and kept as a handle;
 * the calls on a handle only add to a number, so they cost nothing in a
 * loop.  A handle stays valid until metrics_free.
 */
struct metric;

/*
 * Name the command (the label every series carries); call once, before
 * metric_get.
 */
void metrics_init(const char *command);

/*
 * The series of family name (from the table in metrics.c; an unknown name
 * is a programming error and aborts) with the labels given as pairs of
 * name and value strings ending in NULL: metric_get("csa_bad_records_total",
 * "reason", "json", NULL).  The same name and labels give the same handle.
 */
struct metric *metric_get(const char *name, ...);

/* Add v to a counter or gauge. */
void metric_add(struct metric *m, double v);
/* Set a gauge. */
void metric_set(struct metric *m, double v);
/* Add one observation v to a histogram. */
void metric_observe(struct metric *m, double v);
/* A counter or gauge's value, for the tests of a command's own logic. */
double metric_value(const struct metric *m);

/*
 * The text of every series: for each family with a series, its HELP and
 * TYPE lines, then its series in the order first asked for.
 */
void metrics_format(struct buf *b);

/*
 * Write the text to path atomically (fs_write_atomic: a temporary file
 * beside it, renamed over it): a reader sees the whole old file or the
 * whole new one.  0, or -1 with ERR_IO (a full disk leaves the old file).
 */
int metrics_write(const char *path, struct err *e);

/* Free every series. */
void metrics_free(void);

#endif
