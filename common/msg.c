/* msg.c: diagnostics on stderr and the exit statuses they imply. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "msg.h"
#include "timefmt.h"

static const char *prog = "csa";
static int verbosity;
static bool line_open;	/* a progress line waits on the terminal */

void
msg_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	prog = slash ? slash + 1 : argv0;
}

const char *
msg_prog(void)
{
	return prog;
}

static void
vprint(const char *head, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* A message takes the progress line's place; the line comes back
	 * at its next turn. */
	if (line_open) {
		fputs("\r\033[K", stderr);
		line_open = false;
	}
	if (head)
		fprintf(stderr, "%s: %s: %s\n", prog, head, line);
	else
		fprintf(stderr, "%s: %s\n", prog, line);
}

void
msg_line_open(bool open)
{
	line_open = open;
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
}

/* -q: msg_note says nothing. */
static bool quiet;

void
msg_set_quiet(bool on)
{
	quiet = on;
}

bool
msg_quiet(void)
{
	return quiet;
}

void
msg_record(const char *file, unsigned long line, const char *fmt, ...)
{
	char where[1100];
	va_list ap;

	snprintf(where, sizeof(where), "%s:%lu", file, line);
	va_start(ap, fmt);
	vprint(where, fmt, ap);
	va_end(ap);
}

static const char *const bad_kind_name[BAD_NKINDS] = {
	[BAD_JSON] = "not JSON", [BAD_OBJECT] = "not a JSON object",
	[BAD_LONG] = "over the line limit", [BAD_FIELD] = "without what is needed",
};

/* Their reason label in csa_bad_records_total (--metrics). */
static const char *const bad_reason[BAD_NKINDS] = {
	[BAD_JSON] = "json", [BAD_OBJECT] = "object", [BAD_LONG] = "long",
	[BAD_FIELD] = "field",
};

/* The series of kind in csa_bad_records_total. */
static struct metric *
bad_metric(enum msg_bad_kind kind)
{
	return metric_get("csa_bad_records_total", "reason", bad_reason[kind], (const char *)NULL);
}

/* Count a bad record of kind; true when it is to be reported. */
static bool
bad_shown(struct msg_bad *b, enum msg_bad_kind kind)
{
	metric_add(bad_metric(kind), 1);
	b->total++;
	if (++b->n[kind] <= BAD_SHOWN)
		return true;
	if (b->n[kind] == BAD_SHOWN + 1)
		msg_warn("more of these follow (%s); only their count is reported",
		    bad_kind_name[kind]);
	return false;
}

void
msg_bad(struct msg_bad *b, enum msg_bad_kind kind, const char *file, unsigned long line,
    const char *fmt, ...)
{
	char where[1100], what[1500];
	va_list ap;

	if (!bad_shown(b, kind))
		return;
	snprintf(where, sizeof(where), "%s:%lu", file, line);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s, skipped\n", prog, where, what);
}

void
msg_bad_at(struct msg_bad *b, enum msg_bad_kind kind, const char *where, const char *fmt, ...)
{
	char what[1500];
	va_list ap;

	if (!bad_shown(b, kind))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s, skipped\n", prog, where, what);
}

void
msg_bad_quiet(struct msg_bad *b, enum msg_bad_kind kind)
{
	b->total++;
	metric_add(bad_metric(kind), 1);
}

void
msg_bad_count(struct msg_bad *b, enum msg_bad_kind kind, long n)
{
	while (n-- > 0)
		bad_shown(b, kind);
}

void
msg_bad_error(struct msg_bad *b, enum msg_bad_kind kind, const struct err *e)
{
	if (bad_shown(b, kind))
		fprintf(stderr, "%s: %s, skipped\n", prog, e->msg);
}

int
msg_bad_summary(const struct msg_bad *b, const char *one, const char *many)
{
	if (b->total == 0)
		return EXIT_OK;
	msg_warn("%ld bad %s skipped", b->total, b->total == 1 ? one : many);
	return EXIT_DATA;
}

void
msg_error(const struct err *e)
{
	fprintf(stderr, "%s: %s\n", prog, e->msg[0] ? e->msg : "unknown error");
}

int
msg_fail(const struct err *e)
{
	msg_error(e);
	return msg_status(e->kind);
}

int
msg_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

int
msg_status(enum err_kind kind)
{
	switch (kind) {
	case ERR_NONE:
		return EXIT_OK;
	case ERR_DATA:
		return EXIT_DATA;
	case ERR_USAGE:
		return EXIT_USAGE;
	case ERR_IO:
		return EXIT_IO;
	case ERR_REMOTE:
		return EXIT_REMOTE;
	}
	return EXIT_IO;
}

int
msg_worst(int a, int b)
{
	return a > b ? a : b;
}

int
msg_help(const char *usage, const char *text)
{
	fputs(usage, stdout);
	fputs("\n", stdout);
	fputs(text, stdout);
	return msg_close_stdout();
}

void
msg_version(const char *libs)
{
	printf("%s (%s) %s\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
	if (libs && *libs)
		printf("%s%s", libs, libs[strlen(libs) - 1] == '\n' ? "" : "\n");
	/* Last, so that the lines above stay where scripts look for them. */
	printf("License: MIT\n");
}

int
msg_close_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int saved = errno;

	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	/* A reader that went away (| head) is no error: stop quietly. */
	if (bad && saved == EPIPE)
		return EXIT_OK;
	if (bad) {
		fprintf(stderr, "%s: write error: %s\n", prog,
		    saved ? strerror(saved) : "output error");
		return EXIT_IO;
	}
	return EXIT_OK;
}

void
msg_set_verbose(int level)
{
	verbosity = level;
}

int
msg_verbosity(void)
{
	return verbosity;
}

/*
 * -v lines of one kind (the same format) come at most every VERBOSE_EVERY_MS:
 * one a batch would be hundreds a minute.  The latest held back is said at
 * exit, so the last word of a run is never lost.
 */
enum { VERBOSE_EVERY_MS = 2000, VERBOSE_KINDS = 16 };

static struct held {
	const char *fmt;
	int64_t said_at;	/* when this kind was last printed */
	long held;		/* lines held back since */
	int64_t at;		/* the latest one's time, and text */
	char line[1024];
} held[VERBOSE_KINDS];

/* Print one -v line with the time of day it happened (UTC). */
static void
print_verbose(int64_t at, const char *line, long held_back)
{
	char hms[32];

	tfmt_format(at, hms);	/* 2026-04-22T14:23:05.123Z: keep the time */
	if (held_back > 0)
		fprintf(stderr, "%s: %s %s (after %ld more like it)\n", prog, hms + 11, line,
		    held_back);
	else
		fprintf(stderr, "%s: %s %s\n", prog, hms + 11, line);
}

static void
flush_held(void)
{
	for (int i = 0; i < VERBOSE_KINDS && held[i].fmt; i++)
		if (held[i].held > 0) {
			print_verbose(held[i].at, held[i].line, held[i].held - 1);
			held[i].held = 0;
		}
}

void
msg_verbose(const char *fmt, ...)
{
	struct held *h = NULL;
	int64_t now;
	char line[1024];
	va_list ap;
	int i;

	if (verbosity <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	now = tfmt_now();
	for (i = 0; i < VERBOSE_KINDS && held[i].fmt && held[i].fmt != fmt; i++)
		;
	if (i < VERBOSE_KINDS) {
		h = &held[i];
		if (h->fmt == NULL) {
			if (i == 0)
				atexit(flush_held);
			h->fmt = fmt;
		} else if (now - h->said_at < VERBOSE_EVERY_MS && verbosity < 2) {
			h->held++;
			h->at = now;
			memcpy(h->line, line, sizeof(line));
			return;
		}
	}
	/* What was held back of other kinds happened before this line. */
	for (int k = 0; k < VERBOSE_KINDS && held[k].fmt; k++)
		if (&held[k] != h && held[k].held > 0) {
			print_verbose(held[k].at, held[k].line, held[k].held - 1);
			held[k].held = 0;
			held[k].said_at = held[k].at;
		}
	print_verbose(now, line, h ? h->held : 0);
	if (h) {
		h->said_at = now;
		h->held = 0;
	}
}
