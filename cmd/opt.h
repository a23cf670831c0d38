/* opt.h: option values and bad options, in the same words in every command. */
#ifndef CSA_OPT_H
#define CSA_OPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

/*
 * What each command's parse_options returns: OPT_RUN to go on, else the
 * exit status to leave with at once (0 after --help or --version, 2 on a
 * usage fault, 3 when --help could not be written).
 */
enum { OPT_RUN = -1 };

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
 * The table-driven parser (curl's tool_paramhlp.c and its table of
 * options): a command writes one array of struct opt_spec, an entry an
 * option, and opt_parse makes the getopt short string and the long table
 * from it, takes each value by its kind into where the entry points, and
 * warns about old spellings.  -h/--help, -v/--verbose, -q/--quiet and
 * -V/--version come from struct opt_cmd and need no entry.
 */
enum opt_kind {
	OPT_K_FLAG,	/* bool: set to true */
	OPT_K_SET,	/* an int-sized enum or int: set to lo */
	OPT_K_COUNT,	/* int: one more each time */
	OPT_K_STRING,	/* const char *: the argument itself */
	OPT_K_INT,	/* int, long or int64_t in [lo, hi] (opt_int) */
	OPT_K_NUMBER,	/* double in [dlo, dhi] (opt_number) */
	OPT_K_DURATION,	/* int64_t milliseconds in [lo, hi] (opt_duration_unit) */
	OPT_K_SIZE,	/* int64_t bytes in [lo, hi] (opt_size) */
	OPT_K_TIME,	/* int64_t epoch milliseconds (opt_time) */
	OPT_K_FORMAT,	/* enum table_format (opt_format) */
	OPT_K_CHOICE,	/* a bool, int or enum: the index of the word in words[0..hi) */
	OPT_K_CALL,	/* call(to, name, arg): OPT_RUN, else the exit status */
	OPT_K_CALL0	/* the same for an option that takes no value (arg NULL) */
};

struct opt_spec {
	const char *name;	/* the long name, without "--" */
	int letter;		/* the short letter, or 0 */
	enum opt_kind kind;
	void *to;		/* where the value goes (OPT_K_CALL: the callback's) */
	size_t size;		/* sizeof(*to), for OPT_K_INT, _SET and _CHOICE */
	int64_t lo, hi;		/* bounds; OPT_K_SET: the value; _CHOICE: words */
	double dlo, dhi;	/* OPT_K_NUMBER's bounds */
	int64_t unit_ms;	/* OPT_K_DURATION: what a bare number counts (0: 1s) */
	int (*call)(void *to, const char *name, const char *arg);
	const char *const *words;	/* OPT_K_CHOICE's */
	bool *given;		/* set true when the option is given, or NULL */
	const char *old;	/* an old spelling ("--since", "-b"), or NULL */
};

/* Entries, by kind: OPT_E_STRING("out", 'o', &o->out_path), ... */
#define OPT_E(n, l, k, p)	{ .name = (n), .letter = (l), .kind = (k), .to = (p) }
#define OPT_E_FLAG(n, l, p)	OPT_E(n, l, OPT_K_FLAG, p)
#define OPT_E_SET(n, l, p, v)	{ .name = (n), .letter = (l), .kind = OPT_K_SET, .to = (p), \
	.size = sizeof(*(p)), .lo = (v) }
#define OPT_E_COUNT(n, l, p)	OPT_E(n, l, OPT_K_COUNT, p)
#define OPT_E_STRING(n, l, p)	OPT_E(n, l, OPT_K_STRING, p)
#define OPT_E_INT(n, l, p, a, b) { .name = (n), .letter = (l), .kind = OPT_K_INT, .to = (p), \
	.size = sizeof(*(p)), .lo = (a), .hi = (b) }
#define OPT_E_NUMBER(n, l, p, a, b) { .name = (n), .letter = (l), .kind = OPT_K_NUMBER, \
	.to = (p), .dlo = (a), .dhi = (b) }
#define OPT_E_DURATION(n, l, p, a, b) { .name = (n), .letter = (l), .kind = OPT_K_DURATION, \
	.to = (p), .lo = (a), .hi = (b) }
#define OPT_E_SIZE(n, l, p, a, b) { .name = (n), .letter = (l), .kind = OPT_K_SIZE, .to = (p), \
	.lo = (a), .hi = (b) }
#define OPT_E_TIME(n, l, p)	OPT_E(n, l, OPT_K_TIME, p)
#define OPT_E_FORMAT(n, l, p)	OPT_E(n, l, OPT_K_FORMAT, p)
/* OPT_E_CHOICE("late", 0, &drop, "adjust", "drop"): drop = false or true. */
#define OPT_E_CHOICE(n, l, p, ...) { .name = (n), .letter = (l), .kind = OPT_K_CHOICE, \
	.to = (p), .size = sizeof(*(p)), .words = (const char *const[]){ __VA_ARGS__ }, \
	.hi = sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *) }
#define OPT_E_CALL(n, l, p, f)	{ .name = (n), .letter = (l), .kind = OPT_K_CALL, .to = (p), \
	.call = (f) }
#define OPT_E_CALL0(n, l, p, f)	{ .name = (n), .letter = (l), .kind = OPT_K_CALL0, .to = (p), \
	.call = (f) }
#define OPT_E_END		{ .name = NULL }

/* What opt_parse needs besides the table. */
struct opt_cmd {
	const char *usage, *help;	/* msg_help's, for -h/--help */
	/* -V/--version: version() when set, else opt_version(libs, more),
	 * with libs from libs_of() when that is set (hub_versions ...). */
	const char *libs, *more;
	const char *(*libs_of)(void);
	int (*version)(void);
	/* Or, when set, -V/--version only sets this and the command decides. */
	bool *version_given;
	bool no_verbose;	/* a command without -v/--verbose */
};

/*
 * Parse argv by spec (ended by OPT_E_END): OPT_RUN with optind at the
 * first operand and msg's verbosity and quietness set, else the exit
 * status (0 after --help or --version, 2 with the usage message said).
 * Old spellings are warned about after the options are read, so that a
 * later -q silences them, and before a usage fault.
 */
int opt_parse(int argc, char **argv, const struct opt_spec *spec, const struct opt_cmd *cmd);

/* The options of commands that make HTTP requests (csa-usgs-fetch,
 * csa-capture-read), for their tables: --cacert FILE, --retries N and
 * --retry-delay D into the struct http_opts *h. */
#define OPT_E_HTTP(h)							\
	{ .name = "cacert", .kind = OPT_K_CALL, .to = (h), .call = opt_http_call }, \
	OPT_E_INT("retries", 0, &(h)->retries, 0, 100),			\
	{ .name = "retry-delay", .kind = OPT_K_CALL, .to = (h), .call = opt_http_call }
struct http_opts;
int opt_http_call(void *h, const char *name, const char *arg);

/*
 * --metrics FILE, of every command that runs long or from a scheduler:
 * the entry of their tables, taken by cmd_metrics_set (cmd.h) through
 * opt_metrics_call (cmd.c).
 */
#define OPT_E_METRICS							\
	{ .name = "metrics", .kind = OPT_K_CALL, .call = opt_metrics_call }
int opt_metrics_call(void *to, const char *name, const char *arg);

/* An OPT_K_CALL for a jq expression into a struct expr * (the last wins). */
int opt_call_expr(void *x, const char *name, const char *arg);

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
