/* input.h: the one input loop: NDJSON objects from files or stdin, bad lines reported alike. */
#ifndef CSA_INPUT_H
#define CSA_INPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "json.h"
#include "jsonfast.h"
#include "msg.h"
#include "ndjson.h"

/*
 * Every command that reads NDJSON reads it here: the files named (or
 * stdin when none, or "-"), one after the other, a line at a time within
 * the line limit, each line checked to be a JSON object and handed out
 * with its file and line.  Lines that are not are reported through the
 * command's struct msg_bad (msg.h) and skipped, with the same words in
 * every command.  Which parser answers is decided here: simdjson for the
 * lines it reads, jsmn for the others (and to say what is wrong).
 */
enum input_parse {
	INPUT_DOC,	/* hand out a document of each line */
	INPUT_TOKENS,	/* the same, always with jsmn's tokens (json_path, json_member) */
	INPUT_CHECK,	/* only check that the line is one JSON object */
	INPUT_RAW	/* hand out lines as they are (the caller parses) */
};

struct input_record {
	const char *file;		/* as named, "<stdin>" for stdin */
	unsigned long lineno;
	char *line;			/* NUL-terminated, valid until the next record */
	size_t len;
	const struct json_doc *doc;	/* INPUT_DOC: the line's document */
};

struct input {
	char *const *files;
	int nfiles, next;		/* next: the next file to open */
	size_t maxlen;
	enum input_parse parse;
	struct msg_bad *bad;
	volatile sig_atomic_t *stop;	/* ends a read a signal interrupted */
	bool open, open_failed;
	struct ndjson_reader rd;
	struct json_fast *fast;
	struct json_doc doc, fdoc;
	int status;			/* EXIT_IO once a file could not be read */
	bool skip_gone;			/* a file removed since it was listed (a
					 * view's day that retention took) is
					 * skipped, unsaid; set after input_init */
};

/* Read files[0..nfiles) (none: stdin) with lines of at most maxlen bytes
 * (0: the default), reporting bad lines into bad. */
void input_init(struct input *in, char *const *files, int nfiles, size_t maxlen,
    enum input_parse parse, struct msg_bad *bad);
void input_free(struct input *in);

/*
 * The next record: 1 with *rec; 0 at the end of every file; -1 when a
 * file could not be opened or read (said on stderr, in->status is
 * EXIT_IO): call again to go on with the next file, or stop.
 */
int input_next(struct input *in, struct input_record *rec);

/* INPUT_DOC: the plain paths the caller will evaluate, all it reads of
 * each line, so that each line is read On-Demand, those values taken and
 * the others checked (JSON_FAST_CHECK_REST: the same lines are refused as
 * without this, faster) or skipped unchecked (JSON_FAST_SKIP_REST: not
 * for a caller that hands out or re-parses the whole line); see
 * json_fast_fields.  NULL paths are left out. */
void input_fields(struct input *in, const char *const *paths, int n, enum json_fast_rest rest);

/* The same for the expressions x[0..n) a caller evaluates on each line
 * (NULL ones left out), when every one is a plain path; when one is a jq
 * program, which reads the line's text itself, none is named and each
 * line is parsed whole. */
struct expr;
void input_expr_fields(struct input *in, const struct expr *const *x, int n,
    enum json_fast_rest rest);

/* The reader of the file being read, opening the next one when none is
 * (for commands that poll its descriptor); NULL when all are read or the
 * next cannot be opened (said, as by input_next). */
struct ndjson_reader *input_reader(struct input *in);

#endif
