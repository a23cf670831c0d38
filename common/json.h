/* json.h: JSON reading (on jsmn) and compact JSON writing. */
#ifndef CSA_JSON_H
#define CSA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parent links keep jsmn linear: without them it scans back through every
 * earlier token at each closing bracket. */
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>

#include "buf.h"
#include "err.h"

/*
 * A parsed document is the text plus jsmn's token array; values are named
 * by token index (0 is the root).  The text is borrowed: it must outlive
 * the document's use.  The token array is owned by the document, grows as
 * needed and is reused by the next json_parse on the same document.
 *
 * json_parse accepts exactly one JSON value with optional white space
 * around it, and nothing that RFC 8259 rejects: bad escapes, raw control
 * characters in strings, malformed numbers, missing or doubled separators,
 * trailing data.
 *
 * A document may instead be one that simdjson loaded (json_doc_fast, see
 * jsonfast.h): it has no tokens, only expr_eval reads it.
 */
struct json_fast;

struct json_doc {
	const char *text;
	size_t len;
	jsmntok_t *tok;
	int ntok;
	int cap;
	int streamed;	/* the array json_parse_stream emptied, or -1 */
	bool compact;	/* after json_parse: no white space between tokens */
	const struct json_fast *fast;	/* set: simdjson's document of text */
};

enum json_type {
	JSON_NONE = 0,		/* no such token (a lookup that failed) */
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

void json_doc_init(struct json_doc *d);
void json_doc_free(struct json_doc *d);

/* Make d the document f loaded from text[0..len) (json_fast_load). */
void json_doc_fast(struct json_doc *d, const struct json_fast *f, const char *text, size_t len);

/* Parse text[0..len).  0 on success; -1 and ERR_DATA with the byte offset. */
int json_parse(struct json_doc *d, const char *text, size_t len, struct err *e);

/* Tokenize text that already passed json_parse (or json_parse_stream),
 * without checking it again. */
int json_parse_valid(struct json_doc *d, const char *text, size_t len, struct err *e);

/*
 * Called by json_parse_stream for each element of the streamed array, with
 * the element's token t; the tokens are valid only during the call.  A
 * negative return stops the parse, which then returns that value.
 */
typedef int (*json_elem_fn)(const struct json_doc *d, int t, void *arg);

/*
 * Parse a document whose top level is an object holding a large array
 * under `key` (a GeoJSON FeatureCollection's "features"), validating all of
 * it like json_parse, but handing each element of that array to fn as soon
 * as it is complete and valid, then dropping its tokens: memory is bounded
 * by the largest element, not by the document.  Afterwards d holds the rest
 * of the document, with the array empty.
 *
 * fn may have been called before the parse fails at a later byte: callers
 * that must not act on an invalid document keep what fn produced until
 * this returns 0.  *nelem is the number of elements, or -1 when the
 * document has no such array (then fn was never called).
 */
int json_parse_stream(struct json_doc *d, const char *text, size_t len,
    const char *key, json_elem_fn fn, void *arg, long *nelem, struct err *e);

/* The type of token t; JSON_NONE when t < 0. */
enum json_type json_type(const struct json_doc *d, int t);

/* The index of the token after t and everything inside it. */
int json_skip(const struct json_doc *d, int t);

/* Member `key` (keylen bytes) of object t, or -1.  Keys are compared as
 * written in the text, so a key with escapes matches only its raw form. */
int json_member(const struct json_doc *d, int t, const char *key, size_t keylen);

/* Follow a dotted path such as "a.b.c" from token t; -1 when missing. */
int json_path(const struct json_doc *d, int t, const char *path);

/*
 * The same lookups, faster for rows that share a layout: *at remembers
 * where the member was found (per path component for json_path_at, nat of
 * them, starting at 0) and is tried first next time.
 */
int json_member_at(const struct json_doc *d, int t, const char *key, size_t keylen, int *at);
int json_path_at(const struct json_doc *d, int t, const char *path, int *at, int nat);

/* Element i of array t, or -1. */
int json_elem(const struct json_doc *d, int t, int i);

/* Number of elements or members of a container, 0 otherwise. */
int json_size(const struct json_doc *d, int t);

/* Typed getters: 0 and *out set when t has that type, else -1. */
int json_number(const struct json_doc *d, int t, double *out);
int json_int64(const struct json_doc *d, int t, int64_t *out);	/* integral */
int json_bool(const struct json_doc *d, int t, bool *out);

/* Append the unescaped string t (UTF-8) to out; -1 if t is not a string. */
int json_string(const struct json_doc *d, int t, struct buf *out);

/* The unescaped string t, NUL-terminated; caller frees.  NULL if not a string. */
char *json_strdup(const struct json_doc *d, int t);

/* True when string t has no escapes, so its raw bytes are its value. */
bool json_string_plain(const struct json_doc *d, int t);

/* Raw bytes of token t (for strings, without the quotes). */
const char *json_raw(const struct json_doc *d, int t, size_t *len);

/* True when string t equals s exactly. */
bool json_string_eq(const struct json_doc *d, int t, const char *s);

/* Writing compact JSON into a buffer. */

/* Add ',' unless the buffer is empty or ends in '{', '[' or ':'. */
void json_sep(struct buf *b);
/* ,"key": for a literal key that needs no escaping (a plain ASCII name). */
void json_key(struct buf *b, const char *key);
/* ,"key": for any key, escaped. */
void json_key_str(struct buf *b, const char *key, size_t n);
/* A string value, escaped: ", \ and control characters. */
void json_put_str(struct buf *b, const char *s, size_t n);
/* The shortest decimal form that reads back to x exactly; null when not finite. */
void json_put_num(struct buf *b, double x);
void json_put_int(struct buf *b, int64_t x);
void json_put_bool(struct buf *b, bool x);
void json_put_null(struct buf *b);
/* Token t of d, re-written compactly (white space between tokens dropped). */
void json_put_token(struct buf *b, const struct json_doc *d, int t);

/*
 * Append the object text[0..len) to b without its closing brace, so that
 * members can follow, and without a top-level member `key` (when a line
 * carries an earlier hub's "_eh", the new one replaces it).  The text is
 * copied as it is unless that member is there (then it is re-written
 * compactly; d is scratch).  -1, b unchanged, when text is not {...}.
 */
int json_reopen(struct buf *b, const char *text, size_t len, const char *key,
    struct json_doc *d);

/* Format x like json_put_num into out (at least 32 bytes); returns length. */
int json_fmt_num(char *out, size_t size, double x);

#endif
