/* ndjson.h: a line reader for NDJSON over stdin and files. */
#ifndef CSA_NDJSON_H
#define CSA_NDJSON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define NDJSON_MAX_LINE_DEFAULT (1024 * 1024)
/* Every line handed out has at least this many readable bytes after it
 * (for parsers that read past the end, as simdjson does). */
#define NDJSON_PADDING 64

/*
 * Reads lines of at most maxlen bytes with read(2) into one buffer, so a
 * line is handed out without a copy.  A longer line is a record error: it
 * is skipped whole and reading goes on.  Line numbers count every line
 * read; a CR before the LF is dropped; blank lines are skipped.
 * The reader owns its buffer; name is copied.
 */
struct ndjson_reader {
	int fd;
	bool own_fd;
	char *name;
	unsigned long lineno;
	size_t maxlen;
	char *buf;
	size_t cap;
	size_t start;	/* first unread byte */
	size_t end;	/* one past the last byte read */
	size_t nl_seen;	/* 1 + where ndjson_ready found a newline; 0: none */
	bool eof;
	/* When set and non-zero (a signal arrived), a read that was
	 * interrupted ends the input instead of being retried. */
	volatile sig_atomic_t *stop;
};

/* Open path ("-" is stdin).  0, or -1 with ERR_IO. */
int ndjson_open(struct ndjson_reader *r, const char *path, size_t maxlen,
    struct err *e);

/* Read from an already open descriptor, shown as name in messages. */
void ndjson_open_fd(struct ndjson_reader *r, int fd, const char *name,
    size_t maxlen);

/*
 * The next non-blank line.  Returns 1 with *line (NUL-terminated, writable
 * until the next call) and *len; 0 at end of input; -1 with ERR_DATA for a
 * line over the limit (already skipped: call again) or ERR_IO.
 */
int ndjson_next(struct ndjson_reader *r, char **line, size_t *len,
    struct err *e);

/* True when a whole line is already buffered (or the input has ended, or
 * an over-long line waits to be skipped), so ndjson_next won't block. */
bool ndjson_ready(struct ndjson_reader *r);

/*
 * For callers that poll(2) the descriptor: read once, whatever is there,
 * without waiting for a whole line.  1 when bytes came in, 0 at end of
 * input, -1 with ERR_IO.  Then take lines while ndjson_ready says so.
 */
int ndjson_fill(struct ndjson_reader *r, struct err *e);

void ndjson_close(struct ndjson_reader *r);

#endif
