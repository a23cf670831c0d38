/* expr.h: field expressions, a plain path natively or any jq program. */
#ifndef CSA_EXPR_H
#define CSA_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "json.h"

/*
 * Every option that names a field takes an expression.  A plain path
 * (region, .region, ._eh.enqueued_time) is looked up in the parsed line
 * with no copy (jsmn's tokens, or simdjson's document when the line was
 * loaded with json_fast_load and json_doc_fast); anything else is
 * compiled once with libjq and run on each line (the flexible path, some
 * microseconds a line).
 *
 * A value handed out by expr_eval borrows memory from the expression and
 * from the document: it stays valid until the next expr_eval on the same
 * expression or until the document changes.
 */
struct expr;

enum expr_type {
	EXPR_NULL = 0,	/* also: a path that is missing, a program with no output */
	EXPR_FALSE,
	EXPR_TRUE,
	EXPR_NUMBER,
	EXPR_STRING,	/* str/len: the unescaped UTF-8 value */
	EXPR_OTHER	/* an array or object; str/len: its compact JSON */
};

struct expr_val {
	enum expr_type type;
	double num;
	const char *str;
	size_t len;
	bool missing;	/* a plain path that is not in the event (not null in it) */
};

/* Compile src; caller frees with expr_free.  NULL with ERR_USAGE showing
 * libjq's message when src is not a valid jq program. */
struct expr *expr_compile(const char *src, struct err *e);
void expr_free(struct expr *x);

/* True when src is a plain path, read without libjq. */
bool expr_is_path(const struct expr *x);

/* A plain path's dotted form without the leading dot ("_eh.offset"), or
 * NULL for a jq program. */
const char *expr_path(const struct expr *x);

/* The text the expression was compiled from. */
const char *expr_source(const struct expr *x);

/* A column name for the expression: the last path component for a path
 * (".a.b" is "b"), else the source text. */
const char *expr_name(const struct expr *x);

/*
 * Evaluate on document d, parsed from line[0..len).  The first output of a
 * jq program counts; a jq error (for example a type error) is ERR_DATA.
 */
int expr_eval(struct expr *x, const struct json_doc *d, const char *line,
    size_t len, struct expr_val *out, struct err *e);

/* jq's truth: everything but false and null (and no output) is true. */
bool expr_truthy(const struct expr_val *v);

/* Append v to b as a JSON value. */
void expr_put(struct buf *b, const struct expr_val *v);

#endif
