/* jsonfast.h: whole JSON documents checked by simdjson, for the commands
 * that need to know that a line is JSON, and perhaps the values of plain
 * paths in it. */
#ifndef CSA_JSONFAST_H
#define CSA_JSONFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * simdjson reads a little past a document's end.  A caller whose texts
 * always have JSON_FAST_PADDING readable bytes after them (a line of the
 * ndjson reader, say) may say so, and each text is then read where it is
 * instead of being copied first.
 */
#define JSON_FAST_PADDING 64
void json_fast_padded_input(struct json_fast *f);

/*
 * 1 when text[0..len) is JSON: *object says whether its root is an object;
 * *compact (when not NULL) whether it has no white space between tokens.
 * 0: not known, see above.
 */
int json_fast_check(struct json_fast *f, const char *text, size_t len, bool *object,
    bool *compact);

/*
 * json_fast_check with compactness, for a caller that adds a member named
 * key to compact objects: *has_key (on 1) says whether "key", with its
 * quotes, is anywhere in the text, as a key or inside a string; the pass
 * that tells compactness looks for it too.  key is not empty.
 */
int json_fast_check_key(struct json_fast *f, const char *text, size_t len, const char *key,
    bool *object, bool *compact, bool *has_key);

/*
 * Compactness is told by the best vector code the machine has (2: AVX2,
 * asked of the CPU at run time; 1: SSE2, which every x86-64 has), else by
 * portable loops (0).  json_fast_vectors takes at most level most, for the
 * tests that compare them, and returns the level taken.
 */
int json_fast_vectors(struct json_fast *f, int most);

/*
 * Documents for field expressions: json_fast_load makes text the document
 * json_fast_value reads, and says 1 when json_parse would accept it too
 * (*object: its root is an object), 0 when not known (a backslash anywhere
 * is "not known": keys with escapes are matched as written elsewhere; and
 * so is an integer -0, which simdjson reads as 0).  A
 * caller hands the loaded document to expr_eval with json_doc_fast.
 */
int json_fast_load(struct json_fast *f, const char *text, size_t len, bool *object);

/*
 * Documents read only where they are used: after json_fast_fields, with
 * the plain paths (a.b.c, json_fast_value's) a caller will ask for,
 * json_fast_load reads an object On-Demand: simdjson still checks the
 * whole text's structure and UTF-8 (strings closed, no raw control
 * characters in them), every key of every object on the way to a wanted
 * value, and that the root object ends the text; and it checks each
 * wanted value fully.  The values of the other members are, as rest says:
 *
 * JSON_FAST_CHECK_REST: checked in full as they are walked (objects and
 * arrays entered, numbers and literals read, and in a text with a
 * backslash every string unescaped), so that a document is taken only
 * when json_parse would take it too.  Unlike json_fast_load without
 * paths, this takes texts with escapes in their values, and an integer
 * -0 (read as -0.0).
 *
 * JSON_FAST_SKIP_REST: skipped by their brackets, unchecked, and so are
 * the root's members after the last one a path goes into, keys and all:
 * a line whose only fault is inside such a value or past that member (a
 * malformed number, a bad escape, a missing comma or colon, an array
 * closed by a brace) is taken.  Brackets that leave the root open, and
 * text after it, are still found.
 *
 * A key with an escape, anything else, and a wanted value that is an
 * array or object: the document is read whole as without
 * json_fast_fields.  The path strings must outlive f (they are compared
 * by address first); a path not named here is answered 0 for the document
 * loaded (the caller's fallback reads it) and read with the others from
 * the next one on.  More than 64 paths: every document is read whole.
 */
enum json_fast_rest { JSON_FAST_CHECK_REST, JSON_FAST_SKIP_REST };
void json_fast_fields(struct json_fast *f, const char *const *paths, int n,
    enum json_fast_rest rest);

enum json_fast_type {
	JSON_FAST_MISSING, JSON_FAST_NULL, JSON_FAST_FALSE, JSON_FAST_TRUE,
	JSON_FAST_NUMBER, JSON_FAST_STRING,
	JSON_FAST_OBJECT, JSON_FAST_ARRAY	/* json_fast_items only */
};

struct json_fast_val {
	enum json_fast_type type;
	double num;
	const char *str;	/* unescaped, valid until the next load */
	size_t len;
};

/*
 * The value at a dotted path (a.b.c) of the loaded document, as json_path
 * finds it (the first member of a name; a step into what is not an object
 * finds nothing): 1, or 0 when it is an array or an object, whose compact
 * text the caller takes from json_parse.
 */
int json_fast_value(const struct json_fast *f, const char *path, struct json_fast_val *v);

/*
 * The loaded document's root object laid flat, for commands that read
 * many rows of one shape (csa-merge): its members in order, each object
 * followed by its own members, at any depth; arrays are items but not
 * opened.  The number of items, with *items valid until the next load;
 * -1 when the root is not an object or memory is short.
 */
struct json_fast_item {
	const char *key;	/* as written: json_fast_load refused escapes */
	size_t klen;
	struct json_fast_val v;
	int size;		/* an object's members */
	int end;		/* the index after this item and all it holds */
	bool integer;		/* a number written as an integer that fits int64 */
	int64_t i;		/* its value */
};

int json_fast_items(struct json_fast *f, const struct json_fast_item **items);

#ifdef __cplusplus
}
#endif

#endif
