/* msg.h: the one diagnostics module: messages on stderr and exit statuses. */
#ifndef CSA_MSG_H
#define CSA_MSG_H

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

/* "prog: ..." */
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: file:line: ..." for a bad record. */
void msg_record(const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A bad record of a stream that may have many: counted in *count, and
 * reported as msg_record does while the count is within limit; past it,
 * one line says the rest are only counted.
 */
void msg_record_counted(long *count, long limit, const char *file, unsigned long line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The same for an error that already names where it is (the readers'
 * "file:line: line longer than ..."). */
void msg_error_counted(long *count, long limit, const struct err *e);

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

/* Print "prog (csa-streaming) VERSION" and then each line of libs. */
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
