/* jsonfast.h: whole JSON documents checked by simdjson, for the commands
 * that only need to know that a line is JSON, and perhaps one string in it. */
#ifndef CSA_JSONFAST_H
#define CSA_JSONFAST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * json_parse (on jsmn) tokenizes a line and then checks it, near 0.7 GB/s;
 * simdjson checks it at twice that or more.  Every document simdjson
 * accepts here, json_parse accepts as well; the converse is not true
 * (bytes that are not UTF-8, nesting deeper than 256, a lone surrogate
 * escape), so an answer of 0 means "ask json_parse", which accepts the
 * document or names the byte that is wrong.  Callers never see a
 * different verdict, only a faster one.
 */
struct json_fast;

/* NULL when out of memory (callers then use json_parse alone). */
struct json_fast *json_fast_new(void);
void json_fast_free(struct json_fast *f);

/*
 * 1 when text[0..len) is JSON: *object says whether its root is an object;
 * *compact (when not NULL) whether it has no white space between tokens.
 * 0: not known, see above.
 */
int json_fast_check(struct json_fast *f, const char *text, size_t len, bool *object,
    bool *compact);

/*
 * 1 when text[0..len) is a JSON object holding a string at the dotted
 * path (a.b.c), and the text has no backslash, so the string is its bytes
 * as written: *s and *n, valid until the next call.  0 otherwise (invalid,
 * not an object, no such member, not a string, escapes): the caller parses
 * with json_parse and evaluates the path itself.
 */
int json_fast_string_at(struct json_fast *f, const char *text, size_t len, const char *path,
    const char **s, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
