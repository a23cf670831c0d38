/*
 * fuzz-json: the two JSON readers must agree.  Whatever simdjson
 * (common/jsonfast.cc) accepts, json_parse (common/json.c, on jsmn) accepts
 * too, with the same root type and compactness; and where json_fast_load
 * vouches for a line, every member json_fast_items lists has the key, type
 * and value that json_parse's tokens give, and json_fast_value finds by
 * path what json_path finds.  The same for a reader that reads a few paths
 * On-Demand and checks every other value (JSON_FAST_CHECK_REST): it may
 * vouch only for what json_parse accepts, and finds what json_path finds.
 */
#include <config.h>

#include <stdbool.h>

#include "buf.h"
#include "json.h"
#include "jsonfast.h"
#include "fuzz.h"

static struct json_fast *fast, *checked;
static struct json_doc doc;
static struct buf str, path;

/* checked's paths: those of the USGS seeds, and nested ones. */
static const char *const wanted[] = { "event_id", "magnitude", "time", "a", "a.b", "a.b.c" };
#define NWANTED (int)(sizeof(wanted) / sizeof(wanted[0]))

static int
fuzz_setup(void)
{
	fast = json_fast_new();
	checked = json_fast_new();
	json_doc_init(&doc);
	if (checked != NULL)
		json_fast_fields(checked, wanted, NWANTED, JSON_FAST_CHECK_REST);
	return fast == NULL || checked == NULL;
}

/* A type of jsmn's and one of simdjson's that name the same kind of value. */
static bool
same_type(const struct json_doc *d, int t, enum json_fast_type ft)
{
	bool b;

	switch (json_type(d, t)) {
	case JSON_NULL:
		return ft == JSON_FAST_NULL;
	case JSON_BOOL:
		return json_bool(d, t, &b) == 0 && ft == (b ? JSON_FAST_TRUE : JSON_FAST_FALSE);
	case JSON_NUMBER:
		return ft == JSON_FAST_NUMBER;
	case JSON_STRING:
		return ft == JSON_FAST_STRING;
	case JSON_ARRAY:
		return ft == JSON_FAST_ARRAY;
	case JSON_OBJECT:
		return ft == JSON_FAST_OBJECT;
	default:
		return false;
	}
}

/* Value token t against simdjson's value v (not a container). */
static void
same_value(const struct json_doc *d, int t, const struct json_fast_val *v)
{
	double x;

	/* Bit for bit: -0 and 0 are equal as doubles, and must not be here. */
	if (v->type == JSON_FAST_NUMBER) {
		FUZZ_ASSERT(json_number(d, t, &x) == 0 && memcmp(&x, &v->num, sizeof(x)) == 0,
		    "number %.*s: jsmn %.17g, simdjson %.17g", d->tok[t].end - d->tok[t].start,
		    d->text + d->tok[t].start, x, v->num);
	} else if (v->type == JSON_FAST_STRING) {
		buf_reset(&str);
		FUZZ_ASSERT(json_string(d, t, &str) == 0, "string token %d", t);
		FUZZ_ASSERT(str.len == v->len && (v->len == 0 || memcmp(str.p, v->str, v->len) == 0),
		    "string: jsmn %zu bytes, simdjson %zu", str.len, v->len);
	}
}

/* Path p of the document loaded into f against json_path's answer. */
static void
same_path(struct json_fast *f, const struct json_doc *d, const char *p)
{
	struct json_fast_val v;
	int t = json_path(d, 0, p), r = json_fast_value(f, p, &v);

	FUZZ_ASSERT(t >= 0 ? (r == 1 ? v.type != JSON_FAST_MISSING && same_type(d, t, v.type) :
	    json_type(d, t) >= JSON_ARRAY) : r == 1 && v.type == JSON_FAST_MISSING,
	    "path %s: %d against %d", p, t, r == 1 ? (int)v.type : -1);
	if (t >= 0 && r == 1)
		same_value(d, t, &v);
}

/*
 * The members of jsmn's object t against items it[i..] (as many as t has);
 * with paths, path holds the dotted path of t, and each member is looked up
 * by its path as well.  Returns the index after them.
 */
static int
same_object(const struct json_doc *d, int t, const struct json_fast_item *it, int i, bool paths)
{
	int n = json_size(d, t), c = t + 1;
	size_t base = path.len;

	for (int k = 0; k < n; k++, c = json_skip(d, c + 1)) {
		const struct json_fast_item *x = &it[i];
		size_t klen;
		const char *key = json_raw(d, c, &klen);
		int val = c + 1;

		FUZZ_ASSERT(klen == x->klen && memcmp(key, x->key, klen) == 0,
		    "member %d: key %.*s against %.*s", k, (int)klen, key, (int)x->klen, x->key);
		FUZZ_ASSERT(same_type(d, val, x->v.type), "member %.*s: type %d against %d",
		    (int)klen, key, json_type(d, val), x->v.type);
		same_value(d, val, &x->v);
		if (x->integer) {
			int64_t i64;

			FUZZ_ASSERT(json_int64(d, val, &i64) == 0 && i64 == x->i,
			    "member %.*s: integer", (int)klen, key);
		}
		/* A plain path to it (no dots or empty names) finds the same. */
		bool plain = paths && klen > 0 && memchr(key, '.', klen) == NULL;

		path.len = base;
		if (plain) {
			if (base > 0)
				buf_addc(&path, '.');
			buf_add(&path, key, klen);
			buf_addc(&path, '\0');
			same_path(fast, d, path.p);
			path.len--;	/* the NUL */
		}
		i++;
		if (x->v.type == JSON_FAST_OBJECT) {
			FUZZ_ASSERT(x->size == json_size(d, val), "object %.*s: size", (int)klen, key);
			i = same_object(d, val, it, i, plain);
			FUZZ_ASSERT(i == x->end, "object %.*s: end", (int)klen, key);
		}
		path.len = base;
	}
	return i;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const struct json_fast_item *it;
	struct err e = { 0 };
	bool object, compact;
	int ok = json_parse(&doc, text, size, &e) == 0, n;

	if (json_fast_load(checked, text, size, &object) == 1) {
		FUZZ_ASSERT(ok, "the checked On-Demand read vouches for what json_parse refuses: %s",
		    e.msg);
		FUZZ_ASSERT(object == (json_type(&doc, 0) == JSON_OBJECT), "root type, checked");
		for (int k = 0; object && k < NWANTED; k++)
			same_path(checked, &doc, wanted[k]);
	}
	if (json_fast_check(fast, text, size, &object, &compact) == 1) {
		FUZZ_ASSERT(ok, "simdjson accepts what json_parse refuses: %s", e.msg);
		FUZZ_ASSERT(object == (json_type(&doc, 0) == JSON_OBJECT), "root type");
		FUZZ_ASSERT(compact == doc.compact, "compact: simdjson %d, jsmn %d", compact,
		    doc.compact);
	}
	if (json_fast_load(fast, text, size, &object) != 1)
		return 0;
	FUZZ_ASSERT(ok, "json_fast_load vouches for what json_parse refuses: %s", e.msg);
	FUZZ_ASSERT(object == (json_type(&doc, 0) == JSON_OBJECT), "root type after load");
	if (!object)
		return 0;
	n = json_fast_items(fast, &it);
	FUZZ_ASSERT(n >= 0, "json_fast_items failed");
	path.len = 0;
	FUZZ_ASSERT(same_object(&doc, 0, it, 0, true) == n, "items left over");
	return 0;
}
