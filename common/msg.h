/* msg.h: the one diagnostics module: messages on stderr and exit statuses. */
#ifndef CSA_MSG_H
#define CSA_MSG_H

#include <stdbool.h>

#include "err.h"

/*
 * This is the only code that writes to stderr.  Every message reads
 * "prog: context: reason" on one line.  Functions here print but never
 * exit: cmd/ decides when to stop.
 */

/* Exit statuses, the same in every command and every man page. */
enum {
	EXIT_OK = 0,
	EXIT_DATA = 1,		/* bad records were skipped; good ones went out */
	EXIT_USAGE = 2,
	EXIT_IO = 3,		/* local I/O or system */
	EXIT_REMOTE = 4		/* network, server, temporary */
};

/* Remember the program name (basename of argv0) for every message. */
void msg_init(const char *argv0);
const char *msg_prog(void);

/* A progress line without its newline is on stderr (open), or no longer
 * (cmd/progress.c): the next message first clears it. */
void msg_line_open(bool open);

/* "prog: ..." */
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * "prog: ..." for a warning that a run can do without: an old spelling,
 * a field no event had.  -q (msg_set_quiet) silences these and only
 * these: errors, bad records and their summary go through msg_warn,
 * msg_record and msg_bad, and are always said.
 */
#define msg_note(...) (msg_quiet() ? (void)0 : msg_warn(__VA_ARGS__))
void msg_set_quiet(bool on);
bool msg_quiet(void);

/* "prog: file:line: ..." for a bad record. */
void msg_record(const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Bad records, one policy in every command.  Each is reported as
 * "prog: FILE:LINE: WHAT, skipped" until BAD_SHOWN of its kind were; the
 * next says that more of that kind follow and are only counted; at the
 * end msg_bad_summary says how many were skipped in all.  The same fault
 * has the same kind and the same words in every command.
 */
enum msg_bad_kind {
	BAD_JSON,	/* not JSON, or nested too deep */
	BAD_OBJECT,	/* JSON, but not an object */
	BAD_LONG,	/* over the line limit */
	BAD_FIELD,	/* an object whose fields do not give what is needed */
	BAD_NKINDS
};
#define BAD_SHOWN 10
struct msg_bad {
	long n[BAD_NKINDS];
	long total;
};
void msg_bad(struct msg_bad *b, enum msg_bad_kind kind, const char *file, unsigned long line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same for an error that names its place (the line reader's). */
void msg_bad_error(struct msg_bad *b, enum msg_bad_kind kind, const struct err *e);
/* The same with any place ("feed: feature us7000abcd", "file.avro:17"). */
void msg_bad_at(struct msg_bad *b, enum msg_bad_kind kind, const char *where,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Count one of kind without a word (a screen shows the count). */
void msg_bad_quiet(struct msg_bad *b, enum msg_bad_kind kind);
/* Count n more of kind that are past BAD_SHOWN already (not named). */
void msg_bad_count(struct msg_bad *b, enum msg_bad_kind kind, long n);
/* At the end: "prog: N bad lines skipped" (one: "line", many: "lines")
 * when there were any; returns EXIT_DATA then, else EXIT_OK. */
int msg_bad_summary(const struct msg_bad *b, const char *one, const char *many);

/* "prog: <e->msg>" */
void msg_error(const struct err *e);

/* msg_error, then the exit status of e's kind: `return msg_fail(&e);` */
int msg_fail(const struct err *e);

/*
 * A usage error: "prog: ..." and the Try line.  Returns EXIT_USAGE, so that
 * a caller writes `return msg_usage(...)` or `exit(msg_usage(...))`.
 */
int msg_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for an error kind. */
int msg_status(enum err_kind kind);

/* The larger of two exit statuses, so the worst fault of a run wins. */
int msg_worst(int a, int b);

/* --help: the usage lines, a blank line and the text, on stdout; returns
 * the exit status (0, or 3 when stdout cannot be written). */
int msg_help(const char *usage, const char *text);

/* Print "prog (csa-streaming) VERSION", each line of libs, and the
 * licence (LICENSE). */
void msg_version(const char *libs);

/*
 * Flush and close stdout; on a write error print it and return EXIT_IO,
 * else EXIT_OK.  A closed pipe (EPIPE, for a command that ignores SIGPIPE)
 * is quiet and EXIT_OK.  Call once, at exit.
 */
int msg_close_stdout(void);

/* Turn verbose messages on (-v); msg_verbose prints only when on. */
void msg_set_verbose(int level);
int msg_verbosity(void);
void msg_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
