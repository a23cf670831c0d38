/* opt.h: option values and bad options, in the same words in every command. */
#ifndef CSA_OPT_H
#define CSA_OPT_H

#include <getopt.h>
#include <stdint.h>

#include "table.h"

/*
 * What each command's parse_options returns: OPT_RUN to go on, else the
 * exit status to leave with at once (0 after --help or --version, 2 on a
 * usage fault, 3 when --help could not be written).
 */
enum { OPT_RUN = -1 };

/*
 * The long options every command has, for the end of its table:
 * -h/--help, -v/--verbose, -V/--version.
 */
#define OPT_LONG_COMMON							\
	{ "help", no_argument, NULL, 'h' },				\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "version", no_argument, NULL, 'V' }

/* --metrics FILE, of every command that runs long or from a scheduler
 * (cmd_metrics_set in cmd.h takes it): its code and table entry. */
enum { OPT_METRICS = 0x1200 };
#define OPT_LONG_METRICS						\
	{ "metrics", required_argument, NULL, OPT_METRICS }

/* The options of commands that make HTTP requests (csa-usgs-fetch,
 * csa-capture-read): their codes, above the commands' own, their table
 * entries, and opt_http to take one. */
enum opt_http_code {
	OPT_HTTP_CACERT = 0x1100,	/* --cacert FILE */
	OPT_HTTP_RETRIES,		/* --retries N */
	OPT_HTTP_RETRY_DELAY		/* --retry-delay D */
};
#define OPT_LONG_HTTP							\
	{ "cacert", required_argument, NULL, OPT_HTTP_CACERT },		\
	{ "retries", required_argument, NULL, OPT_HTTP_RETRIES },	\
	{ "retry-delay", required_argument, NULL, OPT_HTTP_RETRY_DELAY }
struct http_opts;
/* Take one of them into h: OPT_RUN, or EXIT_USAGE with the message said. */
int opt_http(enum opt_http_code code, const char *arg, struct http_opts *h);

/* No upper bound for the helpers below. */
#define OPT_NO_MAX INT64_MAX

/*
 * The value helpers, as curl's tool_paramhlp.c: each one takes the
 * option's long name (without "--"), its argument and the bounds, and
 * gives 0 and the value, or prints the one usage message of that fault
 * with the Try line ("--NAME: 'X' is not a duration from 1s to 1d") and
 * returns -1, so that a caller writes `return EXIT_USAGE;`.
 */

/* A decimal integer in [lo, hi]. */
int opt_int(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *out);

/* A decimal number (no exponent, no inf or nan) in [lo, hi]. */
int opt_number(const char *name, const char *arg, double lo, double hi, double *out);

/*
 * A duration as csa(7) writes them (500ms, 30s, 1h30m, 7d, a bare number
 * of seconds) in [lo, hi] milliseconds (lo is 0 or more).
 */
int opt_duration(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *ms);

/*
 * The same, where a bare number counts in unit_ms instead of seconds
 * (--linger-ms: milliseconds; --state-days: days); the message says so.
 */
int opt_duration_unit(const char *name, const char *arg, int64_t unit_ms, int64_t lo,
    int64_t hi, int64_t *ms);

/* A byte size (1048576, 512K, 10M, 10MiB, 1G) in [lo, hi] bytes. */
int opt_size(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *out);

/* --format: ndjson, csv, tsv or table. */
int opt_format(const char *arg, enum table_format *out);

/* A time, as timefmt reads them (RFC 3339, epoch ms or s ...), or relative
 * to now (now, today, yesterday, -2h: tfmt_parse_when). */
int opt_time(const char *name, const char *arg, int64_t *ms);

/*
 * A bad option, just after getopt_long returned '?' or ':' with opterr
 * set to 0: one line that names it ("unknown option '--foo'", "option
 * '--state' needs a value", "option '--help' takes no value", "option
 * '--s' is ambiguous") and the Try line.  Returns EXIT_USAGE.
 */
int opt_fault(char *const *argv, const char *shortopts, const struct option *longopts);

/*
 * An old spelling that still works for this release (csa(7) has the one
 * vocabulary; NEWS says when the old ones go): warn once a run, e.g.
 * "--starttime is deprecated: write --from".
 */
void opt_deprecated(const char *old, const char *now);

/*
 * --version: the program's line, then the libraries, one a line: those
 * of a module (hub_versions() ...; a last newline may lack) and then the
 * command's own (NULL: none).  Returns the exit status of writing it.
 */
int opt_version(const char *libs, const char *more);

/* Write ms as the shortest exact duration (250ms, 90s, 5m, 36500d). */
void opt_format_duration(int64_t ms, char *out, size_t size);

#endif
