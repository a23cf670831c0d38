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

/*
 * A bad option, just after getopt_long returned '?' or ':' with opterr
 * set to 0: one line that names it ("unknown option '--foo'", "option
 * '--state' needs a value", "option '--help' takes no value", "option
 * '--s' is ambiguous") and the Try line.  Returns EXIT_USAGE.
 */
static int
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
	msg_note("%s is deprecated: write %s (the old spelling goes in the next release)",
	    old, now);
}

int
opt_format(const char *arg, enum table_format *out)
{
	if (table_format_parse(arg, out) == 0)
		return 0;
	msg_usage("--format: '%s' is not ndjson, csv, tsv or table", arg);
	return -1;
}

int
opt_http_call(void *to, const char *name, const char *arg)
{
	struct http_opts *h = to;
	int64_t n;

	if (strcmp(name, "cacert") == 0) {
		if (access(arg, R_OK) != 0)
			return msg_usage("--cacert: %s: %s", arg, strerror(errno));
		h->cacert = arg;
		return OPT_RUN;
	}
	if (opt_duration(name, arg, 0, 3600000, &n) < 0)
		return EXIT_USAGE;
	h->retry_delay = (double)n / 1000;
	return OPT_RUN;
}

/* The getopt_long codes of the table's entries: a letter, else these. */
enum { OPT_CODE = 0x10000 };

static bool
takes_value(const struct opt_spec *s)
{
	return s->kind != OPT_K_FLAG && s->kind != OPT_K_SET && s->kind != OPT_K_COUNT &&
	    s->kind != OPT_K_CALL0;
}

/* Store v into an integer of size bytes (its bounds made it fit). */
static void
store_int(void *to, size_t size, int64_t v)
{
	if (size == sizeof(bool)) {
		bool x = v != 0;

		memcpy(to, &x, sizeof(x));
	} else if (size == sizeof(int32_t)) {
		int32_t x = (int32_t)v;

		memcpy(to, &x, sizeof(x));
	} else
		memcpy(to, &v, sizeof(v));
}

/* One of s's words: its index, else the message "--NAME: 'X' is not A, B
 * or C". */
static int
take_choice(const struct opt_spec *s, const char *arg)
{
	struct buf b = { 0 };
	int rc;

	for (int64_t i = 0; i < s->hi; i++)
		if (strcmp(arg, s->words[i]) == 0) {
			store_int(s->to, s->size, i);
			return OPT_RUN;
		}
	for (int64_t i = 0; i < s->hi; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : i == s->hi - 1 ? " or " : ", ", s->words[i]);
	rc = msg_usage("--%s: '%s' is not %s", s->name, arg, b.p);
	buf_free(&b);
	return rc;
}

/* Take the value of s: OPT_RUN, else the exit status. */
static int
take(const struct opt_spec *s, const char *arg)
{
	int64_t n;
	bool bad = false;

	if (s->given)
		*s->given = true;
	switch (s->kind) {
	case OPT_K_FLAG:
		*(bool *)s->to = true;
		break;
	case OPT_K_SET:
		store_int(s->to, s->size, s->lo);
		break;
	case OPT_K_COUNT:
		++*(int *)s->to;
		break;
	case OPT_K_STRING:
		*(const char **)s->to = arg;
		break;
	case OPT_K_INT:
		if (!(bad = opt_int(s->name, arg, s->lo, s->hi, &n) < 0))
			store_int(s->to, s->size, n);
		break;
	case OPT_K_NUMBER:
		bad = opt_number(s->name, arg, s->dlo, s->dhi, s->to) < 0;
		break;
	case OPT_K_DURATION:
		bad = opt_duration_unit(s->name, arg, s->unit_ms ? s->unit_ms : 1000, s->lo,
		    s->hi, s->to) < 0;
		break;
	case OPT_K_SIZE:
		bad = opt_size(s->name, arg, s->lo, s->hi, s->to) < 0;
		break;
	case OPT_K_TIME:
		bad = opt_time(s->name, arg, s->to) < 0;
		break;
	case OPT_K_FORMAT:
		bad = opt_format(arg, s->to) < 0;
		break;
	case OPT_K_CHOICE:
		return take_choice(s, arg);
	case OPT_K_CALL:
	case OPT_K_CALL0:
		return s->call(s->to, s->name, arg);
	}
	return bad ? EXIT_USAGE : OPT_RUN;
}

/* The entry that getopt_long's code c stands for; *old when by its old
 * spelling. */
static const struct opt_spec *
find_code(const struct opt_spec *spec, int c, bool *old)
{
	*old = false;
	if (c >= OPT_CODE) {
		*old = (c - OPT_CODE) % 2;
		return &spec[(c - OPT_CODE) / 2];
	}
	for (const struct opt_spec *s = spec; s->name; s++) {
		if (s->letter == c)
			return s;
		if (s->old && s->old[1] == c && s->old[2] == '\0') {
			*old = true;
			return s;
		}
	}
	return NULL;
}

int
opt_parse(int argc, char **argv, const struct opt_spec *spec, const struct opt_cmd *cmd)
{
	static const struct option common[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
	};
	/* Room for the largest table; a larger one is a bug, caught at once. */
	enum { MOST = 96 };
	struct option longopts[2 * MOST + 5];
	char shortopts[4 * MOST + 8], *p = shortopts;
	size_t n = 0, nlong = 0;
	const struct opt_spec *s;
	int c, rc = OPT_RUN, verbose = 0;
	bool quiet = false, any_old = false, by_old;

	/* Each entry: a long name, an old one, a letter and ':' or an old letter and ':'. */
	while (spec[n].name)
		n++;
	if (n > MOST)
		abort();
	for (size_t i = 0; i < n; i++) {
		int has_arg = takes_value(&spec[i]) ? required_argument : no_argument;

		s = &spec[i];
		any_old = any_old || s->old;
		longopts[nlong++] = (struct option){ s->name, has_arg, NULL,
		    s->letter ? s->letter : OPT_CODE + 2 * (int)i };
		if (s->old && s->old[1] == '-')
			longopts[nlong++] = (struct option){ s->old + 2, has_arg, NULL,
			    OPT_CODE + 2 * (int)i + 1 };
		if (s->letter)
			*p++ = (char)s->letter;
		else if (s->old && s->old[1] != '-')
			*p++ = s->old[1];
		else
			continue;
		if (has_arg == required_argument)
			*p++ = ':';
	}
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (common[i].val != 'v' || !cmd->no_verbose) {
			longopts[nlong++] = common[i];
			*p++ = (char)common[i].val;
		}
	*p = '\0';
	longopts[nlong] = (struct option){ NULL, 0, NULL, 0 };

	/*
	 * -q first, so that it silences the warnings of options before it too
	 * (an old spelling's is said where it is read: before a fault of its
	 * value); the second pass takes the options.  A table without old
	 * spellings has no warning to say while parsing: one pass.
	 */
	opterr = 0;
	while (any_old && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		quiet = quiet || c == 'q';
	msg_set_quiet(quiet);
	if (any_old)
		optind = 0;
	while (rc == OPT_RUN && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = msg_help(cmd->usage, cmd->help);
			continue;
		case 'q':
			msg_set_quiet(true);
			continue;
		case 'v':
			verbose++;
			continue;
		case 'V':
			if (cmd->version_given)
				*cmd->version_given = true;
			else
				rc = cmd->version ? cmd->version() : opt_version(cmd->libs_of ?
				    cmd->libs_of() : cmd->libs, cmd->more);
			continue;
		}
		if ((s = find_code(spec, c, &by_old)) == NULL) {
			rc = opt_fault(argv, shortopts, longopts);
			break;
		}
		if (by_old) {
			char now[64];

			snprintf(now, sizeof(now), "--%s", s->name);
			opt_deprecated(s->old, now);
		}
		rc = take(s, optarg);
	}
	if (rc == OPT_RUN)
		msg_set_verbose(verbose);
	return rc;
}
