/* saql.h: Stream Analytics queries compiled to csa-window's flag-spelled spec. */
#ifndef CSA_SAQL_H
#define CSA_SAQL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * A Stream Analytics job's query text (one or more SELECT ... INTO ...
 * FROM ... statements) is compiled, statement by statement, into a plan:
 * the same things csa-window's options say (the window, --by, --agg,
 * --where, --having, --time), as the text those options take.  Running a
 * statement is running csa-window with saql_argv's flags, so the query
 * form and the flag form share one engine and one set of aggregates.
 *
 * No Debian library parses this dialect: the tokenizer and the
 * recursive-descent parser are here.  A query that is wrong, or uses a
 * construct not supported, is ERR_USAGE with "NAME:LINE:COLUMN: " in
 * front of the message, NAME being what saql_compile was told the text
 * is called (a file name, or "query").
 */

/* What a SELECT column is, for --explain and the per-event select. */
enum saql_col_kind {
	SAQL_COL_GROUP,		/* a GROUP BY column, or a constant as one */
	SAQL_COL_AGG,		/* an aggregate: one of --agg */
	SAQL_COL_TIMESTAMP,	/* System.Timestamp(): the row's window_end */
	SAQL_COL_CONST,		/* a constant (a non-aggregate SELECT) */
	SAQL_COL_FIELD		/* a field or expression of the event (likewise) */
};

struct saql_col {
	char *name;		/* the output column: the AS name, or one made up */
	enum saql_col_kind kind;
	char *text;		/* GROUP/FIELD: the jq expression; CONST: JSON;
				 * AGG: the --agg FUNC(ARG) */
};

enum saql_window { SAQL_NONE, SAQL_TUMBLING, SAQL_HOPPING, SAQL_SLIDING, SAQL_SESSION,
	SAQL_SNAPSHOT };

/* One statement, compiled.  Strings are owned by the plan. */
struct saql_plan {
	int line, col;			/* where the statement starts */
	char *into;			/* the INTO name, or NULL; a step: its name */
	char *from;			/* the FROM name */
	bool step;			/* a WITH step: its rows go to the statements
					 * that read it, not out */
	int source;			/* the plan (a step) whose rows it reads, or -1:
					 * the input.  Their time is their window_end */
	bool aggregate;			/* GROUP BY a window: a windowed query */
	enum saql_window window;
	int64_t size, hop, max, offset;	/* milliseconds (session: size is the timeout) */
	char *window_text;		/* the window as written, for --explain */
	char *by;			/* --by text, or NULL */
	char *agg;			/* --agg text, or NULL */
	char *where;			/* --where: a jq expression, or NULL */
	char *having;			/* --having: COLUMN OP NUMBER, or NULL */
	char *time;			/* --time, or NULL for the arrival time */
	char *time_text;		/* TIMESTAMP BY as written, or NULL */
	int ts_line, ts_col;		/* where TIMESTAMP BY is */
	struct saql_col *cols;		/* the SELECT list, in its order */
	int ncols;
};

struct saql_query {
	struct saql_plan *v;
	int n;
};

/*
 * Compile text into q (appending a plan per statement and per WITH step,
 * a step before the statements that read it).  name is how
 * messages call the text.  -1 with ERR_USAGE naming the line and column
 * of the fault; q then holds the statements before it.  Free q with
 * saql_free.
 */
int saql_compile(const char *text, const char *name, struct saql_query *q, struct err *e);
void saql_free(struct saql_query *q);

/*
 * The csa-window options that run plan p, as new strings in a new array
 * ending with NULL (caller frees each and the array); their number.
 */
int saql_argv(const struct saql_plan *p, char ***argv);

/* Append p as --explain shows it: what each part compiled to, and the
 * equivalent command line (prog and its flags). */
void saql_explain(const struct saql_plan *p, const char *prog, struct buf *b);

#endif
