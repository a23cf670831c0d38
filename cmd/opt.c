/* opt.c: option values and bad options for every command (curl's tool_paramhlp.c). */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "msg.h"
#include "num.h"
#include "opt.h"
#include "timefmt.h"

/*
 * This is cmd/'s half of the diagnostics: it prints usage faults through
 * msg_usage, which is why it is not in common/.
 */

/* "from LO to HI", "of LO or more" (what[] are LO and HI as text). */
static void
range_text(char *out, size_t size, const char *lo, const char *hi, bool bounded)
{
	if (bounded)
		snprintf(out, size, "from %s to %s", lo, hi);
	else
		snprintf(out, size, "of %s or more", lo);
}

int
opt_int(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *out)
{
	char a[32], b[32], range[80];

	if (num_parse_int64(arg, lo, hi, out) == 0)
		return 0;
	snprintf(a, sizeof(a), "%" PRId64, lo);
	snprintf(b, sizeof(b), "%" PRId64, hi);
	range_text(range, sizeof(range), a, b, hi != OPT_NO_MAX);
	msg_usage("--%s: '%s' is not a number %s", name, arg, range);
	return -1;
}

int
opt_number(const char *name, const char *arg, double lo, double hi, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(arg, &end);
	if (end != arg && *end == '\0' && !errno && isfinite(x) && x >= lo && x <= hi) {
		*out = x;
		return 0;
	}
	msg_usage("--%s: '%s' is not a number from %g to %g", name, arg, lo, hi);
	return -1;
}

void
opt_format_duration(int64_t ms, char *out, size_t size)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};

	if (ms == 0) {
		snprintf(out, size, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0) {
			snprintf(out, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
	snprintf(out, size, "%" PRId64 "ms", ms);
}

/* The name of a bare number's unit, for the message. */
static const char *
unit_name(int64_t unit_ms)
{
	switch (unit_ms) {
	case 1:
		return "milliseconds";
	case 1000:
		return "seconds";
	case 60000:
		return "minutes";
	case 3600000:
		return "hours";
	case 86400000:
		return "days";
	default:
		return NULL;
	}
}

int
opt_duration_unit(const char *name, const char *arg, int64_t unit_ms, int64_t lo,
    int64_t hi, int64_t *ms)
{
	const char *num = *arg == '+' ? arg + 1 : arg;
	char a[32], b[32], range[80], bare[48] = "";
	struct err e;
	int64_t v;
	int rc;

	/* Negative durations fail the range: every lower bound is 0 or more. */
	if (unit_ms != 1000 && *num && strspn(num, "0123456789.") == strlen(num))
		/* A bare number in unit_ms: read it as seconds, and scale. */
		rc = tfmt_duration(num, &v, &e) < 0 || (double)v / 1000 * (double)unit_ms > 9.0e15 ?
		    -1 : (v = (int64_t)llround((double)v / 1000 * (double)unit_ms), 0);
	else
		rc = tfmt_duration(arg, &v, &e);
	if (rc == 0 && v >= lo && v <= hi) {
		*ms = v;
		return 0;
	}
	opt_format_duration(lo, a, sizeof(a));
	opt_format_duration(hi, b, sizeof(b));
	range_text(range, sizeof(range), a, b, hi != OPT_NO_MAX);
	if (unit_ms != 1000 && unit_name(unit_ms))
		snprintf(bare, sizeof(bare), " (a bare number is %s)", unit_name(unit_ms));
	msg_usage("--%s: '%s' is not a duration %s%s", name, arg, range, bare);
	return -1;
}

int
opt_duration(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *ms)
{
	return opt_duration_unit(name, arg, 1000, lo, hi, ms);
}

/* A size as the shortest exact text (1M, 512K, 3). */
static void
format_size(int64_t n, char *out, size_t size)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		int64_t m = (int64_t)1 << (10 * (3 - i));

		if (n != 0 && n % m == 0) {
			snprintf(out, size, "%" PRId64 "%c", n / m, units[i]);
			return;
		}
	}
	snprintf(out, size, "%" PRId64, n);
}

int
opt_size(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *out)
{
	char a[32], b[32], range[80];
	int64_t v;

	if (num_parse_size(arg, &v) == 0 && v >= lo && v <= hi) {
		*out = v;
		return 0;
	}
	format_size(lo, a, sizeof(a));
	format_size(hi, b, sizeof(b));
	range_text(range, sizeof(range), a, b, hi != OPT_NO_MAX);
	msg_usage("--%s: '%s' is not a size %s", name, arg, range);
	return -1;
}

int
opt_time(const char *name, const char *arg, int64_t *ms)
{
	struct err e;

	if (tfmt_parse_when(arg, tfmt_now(), ms, &e) == 0)
		return 0;
	msg_usage("--%s: '%s' is not a time (2026-04-22T14:23:05Z, an epoch, now, today, "
	    "yesterday, or -2h for two hours ago)", name, arg);
	return -1;
}

/* The long option that a user's "--NAME[=VALUE]" names: exact, else the
 * one it abbreviates; NULL when none, or several (*ambiguous). */
static const struct option *
find_long(const char *word, const struct option *longopts, bool *ambiguous)
{
	size_t n = strcspn(word, "=");
	const struct option *found = NULL;
	int matches = 0;

	*ambiguous = false;
	for (const struct option *p = longopts; p->name; p++) {
		if (strncmp(p->name, word, n) != 0)
			continue;
		if (p->name[n] == '\0')
			return p;
		found = p;
		matches++;
	}
	*ambiguous = matches > 1;
	return matches == 1 ? found : NULL;
}

int
opt_fault(char *const *argv, const char *shortopts, const struct option *longopts)
{
	const char *word = optind > 0 ? argv[optind - 1] : "";
	const struct option *p;
	const char *s;
	bool ambiguous;

	/* A long option: getopt_long has stepped past it. */
	if (word && strncmp(word, "--", 2) == 0 && word[2] &&
	    ((p = find_long(word + 2, longopts, &ambiguous)) == NULL || optopt == 0 ||
	    p->val == optopt)) {
		int n = (int)strcspn(word + 2, "=");

		if (ambiguous)
			return msg_usage("option '--%.*s' is ambiguous", n, word + 2);
		if (p == NULL)
			return msg_usage("unknown option '--%.*s'", n, word + 2);
		if (p->has_arg == no_argument)
			return msg_usage("option '--%s' takes no value", p->name);
		return msg_usage("option '--%s' needs a value", p->name);
	}
	/* A short one: optopt. */
	if (optopt > 0 && optopt != ':' && (s = strchr(shortopts, optopt)) != NULL &&
	    s[1] == ':')
		return msg_usage("option '-%c' needs a value", optopt);
	if (optopt > 0 && optopt < 128 && optopt != '?')
		return msg_usage("unknown option '-%c'", optopt);
	return msg_usage("unknown option '%s'", word ? word : "");
}

int
opt_version(const char *libs, const char *more)
{
	struct buf b = { 0 };
	size_t n = strlen(libs);

	buf_adds(&b, libs);
	if (n > 0 && libs[n - 1] != '\n')
		buf_addc(&b, '\n');
	buf_adds(&b, more ? more : "");
	buf_addc(&b, '\0');
	msg_version(b.p);
	buf_free(&b);
	return msg_close_stdout();
}

void
opt_deprecated(const char *old, const char *now)
{
	msg_warn("%s is deprecated: write %s (the old spelling goes in the next release)",
	    old, now);
}

int
opt_http(enum opt_http_code code, const char *arg, struct http_opts *h)
{
	int64_t n;

	switch (code) {
	case OPT_HTTP_CACERT:
		if (access(arg, R_OK) != 0)
			return msg_usage("--cacert: %s: %s", arg, strerror(errno));
		h->cacert = arg;
		break;
	case OPT_HTTP_RETRIES:
		if (opt_int("retries", arg, 0, 100, &n) < 0)
			return EXIT_USAGE;
		h->retries = (int)n;
		break;
	case OPT_HTTP_RETRY_DELAY:
		if (opt_duration("retry-delay", arg, 0, 3600000, &n) < 0)
			return EXIT_USAGE;
		h->retry_delay = (double)n / 1000;
		break;
	}
	return OPT_RUN;
}

int
opt_format(const char *arg, enum table_format *out)
{
	if (table_format_parse(arg, out) == 0)
		return 0;
	msg_usage("--format: '%s' is not ndjson, csv, tsv or table", arg);
	return -1;
}
