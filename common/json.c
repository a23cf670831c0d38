/* json.c: strict JSON parsing on jsmn's tokenizer, and compact writing. */
#include <config.h>

#include <ctype.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STRICT
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "dtoa.h"
#include "json.h"

/* Arrays and objects nest at most this deep (the root is level 1). */
#define JSON_MAX_DEPTH 512

void
json_doc_init(struct json_doc *d)
{
	memset(d, 0, sizeof(*d));
	d->streamed = -1;
}

void
json_doc_fast(struct json_doc *d, const struct json_fast *f, const char *text, size_t len)
{
	d->text = text;
	d->len = len;
	d->ntok = 0;
	d->streamed = -1;
	d->fast = f;
}

void
json_doc_free(struct json_doc *d)
{
	free(d->tok);
	json_doc_init(d);
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* First byte of a token's text, counting a string's opening quote. */
static int
tok_begin(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

/* One past the last byte, counting a string's closing quote. */
static int
tok_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* Set when a gap between tokens held white space: the text was not compact. */
static _Thread_local bool gap_spaced;

/*
 * text[from..to) must be white space around exactly one `sep` (or only
 * white space when sep is 0).  On failure returns the offending offset.
 */
static int
check_gap_spaced(const char *text, int from, int to, char sep)
{
	int seen = 0;

	for (int i = from; i < to; i++) {
		if (is_ws(text[i])) {
			gap_spaced = true;
			continue;
		}
		if (sep && text[i] == sep && !seen) {
			seen = 1;
			continue;
		}
		return i;
	}
	if (sep && !seen)
		return to;
	return -1;
}

/* The same, answering at once for compact text: nothing, or only sep. */
static inline int
check_gap(const char *text, int from, int to, char sep)
{
	if (sep == 0 ? to == from : to == from + 1 && text[from] == sep)
		return -1;
	return check_gap_spaced(text, from, to, sep);
}

static bool
valid_number(const char *s, int n)
{
	int i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < n && s[i] == '.') {
		int digits = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		int digits;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		digits = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return false;
	}
	return i == n;
}

static bool
valid_primitive(const char *s, int n)
{
	if (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
		return valid_number(s, n);
	if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0))
		return true;
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return true;
	return false;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* True when any byte of the word is below 0x20 (exact for the word as a
 * whole, whatever the other bytes are). */
static inline bool
word_control(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;

	return ((w - ones * 0x20) & ~w & ones * 0x80) != 0;
}

/*
 * Offset of the first bad byte of the string body s[0..n), or -1 when it
 * is valid.  jsmn has checked every escape (a known letter, or u and four
 * hex digits); what it lets through is a raw control byte.  The body lies
 * in a text that starts at lo, at least a quote before s: a short body is
 * read as the last word ending with it, the bytes before it made harmless.
 */
static int
check_string(const char *lo, const char *s, int n)
{
	const uint64_t spaces = 0x2020202020202020ULL;
	uint64_t w;
	int i = 0;

	if (n == 0)
		return -1;
	if (n < 8 && s + n - 8 >= lo) {
		memcpy(&w, s + n - 8, 8);
		if (!word_control(w | spaces >> (8 * n)))
			return -1;
	} else if (n >= 8) {
		for (; i + 8 <= n; i += 8) {
			memcpy(&w, s + i, 8);
			if (word_control(w))
				break;
		}
		if (i + 8 > n) {
			memcpy(&w, s + n - 8, 8);
			if (!word_control(w))
				return -1;
		}
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return i;
	return -1;
}

/*
 * Walk the value at token t, checking every primitive, every string and
 * every gap between tokens; depth is the number of containers around t.
 * Returns the next token index, or -1 with the offending byte offset in
 * *bad.
 */
static int
walk(const struct json_doc *d, int t, int depth, int *bad)
{
	const jsmntok_t *tk;
	int p, c, n;
	bool obj;

	if (t >= d->ntok) {
		*bad = (int)d->len;
		return -1;
	}
	tk = &d->tok[t];
	if (t == d->streamed)	/* validated element by element already */
		return t + 1;
	switch (tk->type) {
	case JSMN_STRING: {
		int off = check_string(d->text, d->text + tk->start, tk->end - tk->start);

		if (off >= 0) {
			*bad = tk->start + off;
			return -1;
		}
		return t + 1;
	}
	case JSMN_PRIMITIVE:
		if (!valid_primitive(d->text + tk->start, tk->end - tk->start)) {
			*bad = tk->start;
			return -1;
		}
		return t + 1;
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		break;
	default:
		*bad = tk->start;
		return -1;
	}
	/* too_deep let nothing deeper through: this only keeps the
	 * recursion bounded whatever the caller checked. */
	if (depth >= JSON_MAX_DEPTH) {
		*bad = tk->start;
		return -1;
	}
	obj = tk->type == JSMN_OBJECT;
	p = tk->start + 1;
	c = t + 1;
	n = tk->size;
	for (int i = 0; i < n; i++) {
		const jsmntok_t *child;
		int off;

		if (c >= d->ntok) {
			*bad = tk->end;
			return -1;
		}
		child = &d->tok[c];
		off = check_gap(d->text, p, tok_begin(child), i ? ',' : 0);
		if (off >= 0) {
			*bad = off;
			return -1;
		}
		if (obj) {
			if (child->type != JSMN_STRING || child->size != 1) {
				*bad = tok_begin(child);
				return -1;
			}
			off = check_string(d->text, d->text + child->start,
			    child->end - child->start);
			if (off >= 0) {
				*bad = child->start + off;
				return -1;
			}
			p = tok_end(child);
			c++;
			if (c >= d->ntok) {
				*bad = tk->end;
				return -1;
			}
			child = &d->tok[c];
			off = check_gap(d->text, p, tok_begin(child), ':');
			if (off >= 0) {
				*bad = off;
				return -1;
			}
		}
		p = tok_end(child);
		c = walk(d, c, depth + 1, bad);
		if (c < 0)
			return -1;
	}
	{
		int off = check_gap(d->text, p, tk->end - 1, 0);

		if (off >= 0) {
			*bad = off;
			return -1;
		}
	}
	return c;
}

/* After jsmn: check what it lets through, around and inside the root. */
static int
check_document(struct json_doc *d, struct err *e)
{
	int bad = -1, next, off;

	gap_spaced = false;

	off = check_gap(d->text, 0, tok_begin(&d->tok[0]), 0);
	if (off >= 0)
		return err_set(e, ERR_DATA, "invalid JSON at byte %d", off + 1);
	next = walk(d, 0, 0, &bad);
	if (next < 0)
		return err_set(e, ERR_DATA, "invalid JSON at byte %d", bad + 1);
	off = check_gap(d->text, tok_end(&d->tok[0]), (int)d->len, 0);
	if (next != d->ntok || off >= 0)
		return err_set(e, ERR_DATA, "invalid JSON: trailing data at byte %d",
		    (off >= 0 ? off : tok_end(&d->tok[0])) + 1);
	d->compact = !gap_spaced;
	return 0;
}

/*
 * The offset of the bracket that opens a level deeper than JSON_MAX_DEPTH,
 * or -1.  jsmn must not see such text: at each closing bracket it climbs
 * from the newest token to the container it closes, so a deep nest costs
 * it time quadratic in the depth (minutes for a 1 MB line).  This counts
 * levels in one pass, skipping strings; on text that is not JSON its
 * answer is only a bound, and jsmn finds the real fault.
 */
static long
too_deep(const char *s, size_t len)
{
	size_t opens = 0;
	int depth = 0;

	/* Fewer brackets than levels allowed cannot nest too deep: most
	 * lines stop at their length or at this count, which the compiler
	 * vectorizes (some 15 GB/s). */
	if (len <= JSON_MAX_DEPTH)
		return -1;
	for (size_t i = 0; i < len; i++)
		opens += (s[i] == '[') | (s[i] == '{');
	if (opens <= JSON_MAX_DEPTH)
		return -1;
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '"':
			/* To the closing quote, stepping over escapes. */
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			break;
		case '[':
		case '{':
			if (++depth > JSON_MAX_DEPTH)
				return (long)i;
			break;
		case ']':
		case '}':
			depth--;
			break;
		default:
			break;
		}
	}
	return -1;
}

static int
deep_error(long off, struct err *e)
{
	return err_set(e, ERR_DATA, "invalid JSON: nested deeper than %d levels at byte %ld",
	    JSON_MAX_DEPTH, off + 1);
}

static int
jsmn_error(int r, const jsmn_parser *parser, size_t len, struct err *e)
{
	if (r == JSMN_ERROR_PART)
		return err_set(e, ERR_DATA, "invalid JSON: truncated at byte %zu", len);
	if (r == JSMN_ERROR_INVAL)
		return err_set(e, ERR_DATA, "invalid JSON at byte %u", parser->pos + 1);
	return err_set(e, ERR_DATA, "invalid JSON: no value");
}

static int parse(struct json_doc *d, const char *text, size_t len, bool check,
    struct err *e);

int
json_parse(struct json_doc *d, const char *text, size_t len, struct err *e)
{
	return parse(d, text, len, true, e);
}

int
json_parse_valid(struct json_doc *d, const char *text, size_t len, struct err *e)
{
	return parse(d, text, len, false, e);
}

/* Run jsmn over text[0..len) from the start, growing d's tokens as needed. */
static int
tokenize(struct json_doc *d, jsmn_parser *parser, const char *text, size_t len)
{
	int r;

	jsmn_init(parser);
	for (;;) {
		r = jsmn_parse(parser, text, len, d->tok, (unsigned)d->cap);
		if (r != JSMN_ERROR_NOMEM)
			return r;
		/* jsmn resumes where it stopped once it has more tokens. */
		d->cap *= 2;
		d->tok = xrealloc(d->tok, sizeof(*d->tok) * (size_t)d->cap);
	}
}

/*
 * Point d at text with no tokens yet; with check, refuse a text nested
 * deeper than jsmn's users can walk.  0, or -1 with d left empty, as on
 * any error.
 */
static int
begin(struct json_doc *d, const char *text, size_t len, bool check, struct err *e)
{
	long deep;

	if (len > (size_t)INT32_MAX - 2)
		return err_set(e, ERR_DATA, "JSON text too large");
	d->text = text;
	d->len = len;
	d->ntok = 0;
	d->streamed = -1;
	d->fast = NULL;
	if (check && (deep = too_deep(text, len)) >= 0)
		return deep_error(deep, e);
	return 0;
}

static int
parse(struct json_doc *d, const char *text, size_t len, bool check, struct err *e)
{
	jsmn_parser parser;
	int r;

	if (begin(d, text, len, check, e) < 0)
		return -1;
	if (d->cap == 0 || (size_t)d->cap < len / 8) {
		/*
		 * A token takes at least two bytes of text in practice, mostly
		 * more: start from len/8 so a large document rarely regrows.
		 * Pages of the array that jsmn does not reach stay untouched.
		 */
		d->cap = len / 8 > 64 ? (int)(len / 8) : 64;
		free(d->tok);
		d->tok = xmalloc(sizeof(*d->tok) * (size_t)d->cap);
	}
	r = tokenize(d, &parser, text, len);
	if (r == JSMN_ERROR_PART && parser.toksuper == -1) {
		/*
		 * Strict jsmn ends a primitive only at a delimiter, so a number
		 * or literal at the very end of a top-level text ("42", "true",
		 * what simdjson accepts) reads as truncated: tokenize it again
		 * with a space after it.  The tokens lie within text.
		 */
		char *spaced = xmalloc(len + 1);

		memcpy(spaced, text, len);
		spaced[len] = ' ';
		r = tokenize(d, &parser, spaced, len + 1);
		free(spaced);
	}
	if (r <= 0)
		return jsmn_error(r, &parser, len, e);
	d->ntok = r;
	return check ? check_document(d, e) : 0;
}

/* The state of json_parse_stream between jsmn calls. */
struct stream {
	const char *key;
	int arr;		/* the array's token, once seen */
	long elems;		/* elements handed out so far */
	int last_end;		/* byte after the last element handed out */
	json_elem_fn fn;
	void *arg;
};

/* The token of the array under `key` in the root object, or -1. */
static int
find_stream_array(const struct json_doc *d, const char *key)
{
	size_t k = strlen(key);

	if (d->ntok < 2 || d->tok[0].type != JSMN_OBJECT)
		return -1;
	for (int t = 1; t + 1 < d->ntok; t++) {
		const jsmntok_t *tk = &d->tok[t];

		if (tk->parent == 0 && tk->type == JSMN_STRING &&
		    (size_t)(tk->end - tk->start) == k &&
		    memcmp(d->text + tk->start, key, k) == 0 &&
		    d->tok[t + 1].type == JSMN_ARRAY && d->tok[t + 1].parent == t)
			return t + 1;
	}
	return -1;
}

/*
 * Validate and hand out the complete elements at the front of the array,
 * then drop their tokens, shifting the open element's tokens down and
 * fixing the parent links and the parser.  Returns the number of tokens
 * dropped, -1 with *bad on invalid JSON, or fn's negative return (< -1).
 */
static int
drain_stream(struct json_doc *d, jsmn_parser *p, struct stream *s, int *bad)
{
	int a = s->arr, c = a + 1, shift, rc;

	while (c < d->ntok && d->tok[c].parent == a && d->tok[c].end != -1) {
		const jsmntok_t *tk = &d->tok[c];
		int off = check_gap(d->text, s->last_end, tok_begin(tk), s->elems ? ',' : 0);
		int next;

		if (off >= 0) {
			*bad = off;
			return -1;
		}
		next = walk(d, c, 2, bad);	/* inside the root and the array */
		if (next < 0)
			return -1;
		s->last_end = tok_end(tk);
		s->elems++;
		rc = s->fn(d, c, s->arg);
		if (rc < 0)
			return rc < -1 ? rc : -2;
		c = next;
	}
	shift = c - (a + 1);
	if (shift == 0)
		return 0;
	memmove(&d->tok[a + 1], &d->tok[c], sizeof(*d->tok) * (size_t)(d->ntok - c));
	d->ntok -= shift;
	for (int i = a + 1; i < d->ntok; i++)
		if (d->tok[i].parent >= c)
			d->tok[i].parent -= shift;
	p->toknext -= (unsigned)shift;
	if (p->toksuper >= c)
		p->toksuper -= shift;
	d->tok[a].size = 0;
	return shift;
}

int
json_parse_stream(struct json_doc *d, const char *text, size_t len,
    const char *key, json_elem_fn fn, void *arg, long *nelem, struct err *e)
{
	struct stream s = { key, -1, 0, 0, fn, arg };
	jsmn_parser parser;
	int r, bad = -1, off;

	*nelem = -1;
	if (begin(d, text, len, true, e) < 0)
		return -1;
	if (d->cap < 4096) {
		free(d->tok);
		d->cap = 4096;
		d->tok = xmalloc(sizeof(*d->tok) * (size_t)d->cap);
	}
	jsmn_init(&parser);
	for (;;) {
		int dropped = 0;

		r = jsmn_parse(&parser, text, len, d->tok, (unsigned)d->cap);
		d->ntok = (int)parser.toknext;
		if (s.arr < 0 && (s.arr = find_stream_array(d, key)) >= 0)
			s.last_end = d->tok[s.arr].start + 1;
		if (r != JSMN_ERROR_NOMEM)
			break;
		if (s.arr >= 0 && (dropped = drain_stream(d, &parser, &s, &bad)) < 0)
			goto fail;
		/* Grow when draining freed too little to make headway. */
		if (dropped < d->cap / 4) {
			d->cap *= 2;
			d->tok = xrealloc(d->tok, sizeof(*d->tok) * (size_t)d->cap);
		}
	}
	if (r <= 0)
		return jsmn_error(r, &parser, len, e);
	if (s.arr >= 0) {
		int dropped = drain_stream(d, &parser, &s, &bad);

		if (dropped < 0)
			goto fail;
		off = check_gap(text, s.last_end, d->tok[s.arr].end - 1, 0);
		if (off >= 0)
			return err_set(e, ERR_DATA, "invalid JSON at byte %d", off + 1);
		d->streamed = s.arr;
		*nelem = s.elems;
	}
	return check_document(d, e);
fail:
	if (bad >= 0)
		return err_set(e, ERR_DATA, "invalid JSON at byte %d", bad + 1);
	return err_set(e, ERR_DATA, "stopped");
}

enum json_type
json_type(const struct json_doc *d, int t)
{
	const jsmntok_t *tk;

	if (t < 0 || t >= d->ntok)
		return JSON_NONE;
	tk = &d->tok[t];
	switch (tk->type) {
	case JSMN_OBJECT:
		return JSON_OBJECT;
	case JSMN_ARRAY:
		return JSON_ARRAY;
	case JSMN_STRING:
		return JSON_STRING;
	case JSMN_PRIMITIVE:
		switch (d->text[tk->start]) {
		case 'n':
			return JSON_NULL;
		case 't': case 'f':
			return JSON_BOOL;
		default:
			return JSON_NUMBER;
		}
	default:
		return JSON_NONE;
	}
}

int
json_skip(const struct json_doc *d, int t)
{
	int pending = 1;

	while (pending > 0 && t < d->ntok) {
		pending += d->tok[t].size;
		pending--;
		t++;
	}
	return t;
}

int
json_size(const struct json_doc *d, int t)
{
	enum json_type ty = json_type(d, t);

	return ty == JSON_OBJECT || ty == JSON_ARRAY ? d->tok[t].size : 0;
}

int
json_member(const struct json_doc *d, int t, const char *key, size_t keylen)
{
	int n, c;

	if (json_type(d, t) != JSON_OBJECT)
		return -1;
	n = d->tok[t].size;
	c = t + 1;
	for (int i = 0; i < n; i++) {
		const jsmntok_t *k = &d->tok[c];

		if ((size_t)(k->end - k->start) == keylen &&
		    memcmp(d->text + k->start, key, keylen) == 0)
			return c + 1;
		c = json_skip(d, c + 1);
	}
	return -1;
}

int
json_path(const struct json_doc *d, int t, const char *path)
{
	return json_path_at(d, t, path, NULL, 0);
}

/* Whether object t has the key before token c: json_member finds the
 * first of duplicate keys, and so must a remembered place. */
static bool
key_before(const struct json_doc *d, int t, int c, const char *key, size_t keylen)
{
	/* The object's keys are the tokens whose parent it is. */
	for (int i = t + 1; i < c; i++) {
		const jsmntok_t *k = &d->tok[i];

		if (k->parent == t && (size_t)(k->end - k->start) == keylen &&
		    memcmp(d->text + k->start, key, keylen) == 0)
			return true;
	}
	return false;
}

int
json_member_at(const struct json_doc *d, int t, const char *key, size_t keylen, int *at)
{
	int c = t + *at, v;

	/* With parent links, a string token whose parent is the object is one
	 * of its keys: the member where the last row had it is tried first. */
	if (*at > 0 && c < d->ntok && t >= 0 && d->tok[t].type == JSMN_OBJECT) {
		const jsmntok_t *k = &d->tok[c];

		if (k->parent == t && k->type == JSMN_STRING &&
		    (size_t)(k->end - k->start) == keylen &&
		    memcmp(d->text + k->start, key, keylen) == 0 &&
		    !key_before(d, t, c, key, keylen))
			return c + 1;
	}
	v = json_member(d, t, key, keylen);
	if (v >= 0)
		*at = v - 1 - t;
	return v;
}

int
json_path_at(const struct json_doc *d, int t, const char *path, int *at, int nat)
{
	for (int i = 0; t >= 0 && *path; i++) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		t = i < nat ? json_member_at(d, t, path, n, &at[i]) : json_member(d, t, path, n);
		path += n;
		if (*path == '.')
			path++;
	}
	return t;
}

int
json_elem(const struct json_doc *d, int t, int i)
{
	int c;

	if (json_type(d, t) != JSON_ARRAY || i < 0 || i >= d->tok[t].size)
		return -1;
	c = t + 1;
	while (i-- > 0)
		c = json_skip(d, c);
	return c;
}

/*
 * Short decimals without exponent: with at most 15 significant digits both
 * the digits and the power of ten are exact doubles, so one division gives
 * the correctly rounded value, as strtod would.  0 when it applies.
 */
static int
fast_decimal(const char *s, int n, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
		1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	int64_t digits = 0;
	int i = 0, nd = 0, frac = -1;
	bool neg = false;

	if (n > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < n; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		digits = digits * 10 + (s[i] - '0');
		if (digits && ++nd > 15)
			return -1;
		if (frac >= 0)
			frac++;
	}
	if (frac < 0)
		frac = 0;
	*out = (double)digits / pow10[frac];
	if (neg)
		*out = -*out;
	return 0;
}

int
json_number(const struct json_doc *d, int t, double *out)
{
	char tmp[64];
	const jsmntok_t *tk;
	size_t n;

	if (json_type(d, t) != JSON_NUMBER)
		return -1;
	tk = &d->tok[t];
	n = (size_t)(tk->end - tk->start);
	if (n <= 17 && fast_decimal(d->text + tk->start, (int)n, out) == 0)
		return 0;
	if (n >= sizeof(tmp)) {
		char *big = xstrndup(d->text + tk->start, n);

		*out = strtod(big, NULL);
		free(big);
		return 0;
	}
	memcpy(tmp, d->text + tk->start, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

int
json_int64(const struct json_doc *d, int t, int64_t *out)
{
	const jsmntok_t *tk;
	const char *s;
	int64_t v = 0;
	int i, n, neg = 0;
	double x;

	if (json_type(d, t) != JSON_NUMBER)
		return -1;
	tk = &d->tok[t];
	s = d->text + tk->start;
	n = tk->end - tk->start;
	i = 0;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	/* Fast path: plain integers of up to 18 digits. */
	if (n - i <= 18) {
		int j;

		for (j = i; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			v = v * 10 + (s[j] - '0');
		if (j == n) {
			*out = neg ? -v : v;
			return 0;
		}
	} else if (n - i == 19) {
		/* 19 digits: exact when it fits, as simdjson reads it (a double
		 * would round it). */
		uint64_t u = 0;
		int j;

		for (j = i; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			u = u * 10 + (uint64_t)(s[j] - '0');
		if (j == n && u <= (uint64_t)INT64_MAX + neg) {
			*out = neg ? (int64_t)(0 - u) : (int64_t)u;
			return 0;
		}
	}
	json_number(d, t, &x);
	if (x != floor(x) || fabs(x) > 9.2e18)
		return -1;
	*out = (int64_t)x;
	return 0;
}

int
json_bool(const struct json_doc *d, int t, bool *out)
{
	if (json_type(d, t) != JSON_BOOL)
		return -1;
	*out = d->text[d->tok[t].start] == 't';
	return 0;
}

bool
json_string_plain(const struct json_doc *d, int t)
{
	const jsmntok_t *tk = &d->tok[t];

	return memchr(d->text + tk->start, '\\', (size_t)(tk->end - tk->start)) == NULL;
}

const char *
json_raw(const struct json_doc *d, int t, size_t *len)
{
	if (t < 0 || t >= d->ntok) {
		*len = 0;
		return "";
	}
	*len = (size_t)(d->tok[t].end - d->tok[t].start);
	return d->text + d->tok[t].start;
}

static unsigned
hex4(const char *s)
{
	return (unsigned)(hexval(s[0]) << 12 | hexval(s[1]) << 8 |
	    hexval(s[2]) << 4 | hexval(s[3]));
}

int
json_string(const struct json_doc *d, int t, struct buf *out)
{
	const char *s, *end;

	if (json_type(d, t) != JSON_STRING)
		return -1;
	s = d->text + d->tok[t].start;
	end = d->text + d->tok[t].end;
	buf_reserve(out, (size_t)(end - s));
	/* The empty string "" appends nothing: terminate here, or a fresh
	 * buffer would be handed out without its NUL. */
	out->p[out->len] = '\0';
	while (s < end) {
		const char *bs = memchr(s, '\\', (size_t)(end - s));
		unsigned cp;

		if (bs == NULL) {
			buf_add(out, s, (size_t)(end - s));
			break;
		}
		buf_add(out, s, (size_t)(bs - s));
		s = bs + 1;
		switch (*s++) {
		case 'b': buf_addc(out, '\b'); break;
		case 'f': buf_addc(out, '\f'); break;
		case 'n': buf_addc(out, '\n'); break;
		case 'r': buf_addc(out, '\r'); break;
		case 't': buf_addc(out, '\t'); break;
		case 'u':
			/* The validator guaranteed four hex digits. */
			cp = hex4(s);
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 &&
			    s[0] == '\\' && s[1] == 'u') {
				unsigned lo = hex4(s + 2);

				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					s += 6;
				}
			}
			/* A lone surrogate has no UTF-8 form: U+FFFD stands in. */
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0xFFFD;
			buf_add_utf8(out, cp);
			break;
		default:	/* " \ / */
			buf_addc(out, s[-1]);
			break;
		}
	}
	return 0;
}

char *
json_strdup(const struct json_doc *d, int t)
{
	struct buf b = { 0 };

	if (json_string(d, t, &b) < 0)
		return NULL;
	return buf_steal(&b);
}

bool
json_string_eq(const struct json_doc *d, int t, const char *s)
{
	size_t n;
	const char *raw;
	bool eq;
	char *u;

	if (json_type(d, t) != JSON_STRING)
		return false;
	raw = json_raw(d, t, &n);
	if (json_string_plain(d, t))
		return strlen(s) == n && memcmp(raw, s, n) == 0;
	u = json_strdup(d, t);
	eq = strcmp(u, s) == 0;
	free(u);
	return eq;
}

void
json_sep(struct buf *b)
{
	char last;

	if (b->len == 0)
		return;
	last = b->p[b->len - 1];
	if (last != '{' && last != '[' && last != ':')
		buf_addc(b, ',');
}

/* A quoted, escaped string, with no separator before it. */
static void
put_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
			continue;
		}
		buf_add(b, esc, 2);
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

void
json_key(struct buf *b, const char *key)
{
	size_t n = strlen(key);

	json_sep(b);
	buf_reserve(b, n + 3);
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, key, n);
	b->len += n;
	b->p[b->len++] = '"';
	b->p[b->len++] = ':';
	b->p[b->len] = '\0';
}

void
json_key_str(struct buf *b, const char *key, size_t n)
{
	json_sep(b);
	put_string(b, key, n);
	buf_addc(b, ':');
}

void
json_put_str(struct buf *b, const char *s, size_t n)
{
	json_sep(b);
	put_string(b, s, n);
}

/* Digits of v (< 2^63) into p, right to left; returns the count. */
static int
put_digits(char *end, uint64_t v)
{
	/* Two digits a division: event times have thirteen. */
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	    "8081828384858687888990919293949596979899";
	char *start = end;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);

		v /= 100;
		*--start = pairs[2 * d + 1];
		*--start = pairs[2 * d];
	}
	if (v >= 10) {
		*--start = pairs[2 * v + 1];
		*--start = pairs[2 * v];
	} else {
		*--start = (char)('0' + v);
	}
	return (int)(end - start);
}

/* Digits d[0..k) of 0.D x 10^point as printf's %.{prec}g writes them,
 * for digits that have no trailing zeros. */
static int
put_g(char *out, bool neg, const char *d, int k, int point, int prec)
{
	int e = point - 1, n = 0;

	if (neg)
		out[n++] = '-';
	if (e >= -4 && e < prec) {
		if (point <= 0) {	/* 0.00123 */
			out[n++] = '0';
			out[n++] = '.';
			memset(out + n, '0', (size_t)-point);
			n += -point;
			memcpy(out + n, d, (size_t)k);
			return n + k;
		}
		if (point >= k) {	/* 1200 */
			memcpy(out + n, d, (size_t)k);
			memset(out + n + k, '0', (size_t)(point - k));
			return n + point;
		}
		memcpy(out + n, d, (size_t)point);	/* 12.3 */
		n += point;
		out[n++] = '.';
		memcpy(out + n, d + point, (size_t)(k - point));
		return n + k - point;
	}
	out[n++] = d[0];	/* 1.23e-05, 1.2e+17 */
	if (k > 1) {
		out[n++] = '.';
		memcpy(out + n, d + 1, (size_t)(k - 1));
		n += k - 1;
	}
	return n + sprintf(out + n, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

int
json_fmt_num(char *out, size_t size, double x)
{
	char tmp[40];
	int n = 0;

	if (!isfinite(x)) {
		n = snprintf(tmp, sizeof(tmp), "null");
	} else if (x == floor(x) && fabs(x) < 9e15) {
		/* Integers that doubles hold exactly print without an exponent. */
		n = x < 0 ? 1 : 0;
		tmp[0] = '-';
		n += put_digits(tmp + sizeof(tmp), (uint64_t)fabs(x));
		memmove(tmp + (x < 0), tmp + sizeof(tmp) - (n - (x < 0)), (size_t)(n - (x < 0)));
		if (x == 0 && signbit(x)) {
			memcpy(tmp, "-0", 2);
			n = 2;
		}
	} else {
		/* The fewest digits that read back as x, in printf's %g form
		 * with at least 15 places (1e-05 and 1e+300 have exponents). */
		char d[24];
		int k, point;

		k = dtoa_shortest(x, d, (int)sizeof(d), &point);
		n = put_g(tmp, x < 0, d, k, point, k > 15 ? k : 15);
	}
	if (size > 0) {
		size_t k = (size_t)n < size ? (size_t)n : size - 1;

		memcpy(out, tmp, k);
		out[k] = '\0';
	}
	return n;
}

void
json_put_num(struct buf *b, double x)
{
	char tmp[40];
	int n = json_fmt_num(tmp, sizeof(tmp), x);

	json_sep(b);
	buf_add(b, tmp, (size_t)n);
}

void
json_put_int(struct buf *b, int64_t x)
{
	char tmp[24];
	uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	int n = put_digits(tmp + sizeof(tmp), u);

	json_sep(b);
	if (x < 0)
		buf_addc(b, '-');
	buf_add(b, tmp + sizeof(tmp) - n, (size_t)n);
}

void
json_put_bool(struct buf *b, bool x)
{
	json_sep(b);
	buf_adds(b, x ? "true" : "false");
}

void
json_put_null(struct buf *b)
{
	json_sep(b);
	buf_adds(b, "null");
}

/* Writes token t and returns the index after it. */
static int
put_token(struct buf *b, const struct json_doc *d, int t)
{
	const jsmntok_t *tk = &d->tok[t];
	int n, c;

	switch (tk->type) {
	case JSMN_STRING:
		json_sep(b);
		buf_addc(b, '"');
		buf_add(b, d->text + tk->start, (size_t)(tk->end - tk->start));
		buf_addc(b, '"');
		return t + 1;
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		json_sep(b);
		buf_addc(b, tk->type == JSMN_OBJECT ? '{' : '[');
		n = tk->size;
		c = t + 1;
		for (int i = 0; i < n; i++) {
			if (tk->type == JSMN_OBJECT) {
				c = put_token(b, d, c);
				buf_addc(b, ':');
			}
			c = put_token(b, d, c);
		}
		buf_addc(b, tk->type == JSMN_OBJECT ? '}' : ']');
		return c;
	default:
		json_sep(b);
		buf_add(b, d->text + tk->start, (size_t)(tk->end - tk->start));
		return t + 1;
	}
}

void
json_put_token(struct buf *b, const struct json_doc *d, int t)
{
	if (t < 0 || t >= d->ntok) {
		json_put_null(b);
		return;
	}
	put_token(b, d, t);
}

int
json_reopen(struct buf *b, const char *text, size_t len, const char *key,
    struct json_doc *d)
{
	const size_t klen = strlen(key);
	size_t start = 0, end = len;
	struct err e;
	int k, n;

	while (start < end && isspace((unsigned char)text[start]))
		start++;
	while (end > start && isspace((unsigned char)text[end - 1]))
		end--;
	if (end - start < 2 || text[start] != '{' || text[end - 1] != '}')
		return -1;
	/* The usual line has no such member: copied without parsing. */
	if (memmem(text + start, end - start, key, klen) == NULL ||
	    json_parse(d, text, len, &e) < 0 || json_type(d, 0) != JSON_OBJECT ||
	    json_member(d, 0, key, klen) < 0) {
		buf_add(b, text + start, end - start - 1);
		return 0;
	}
	buf_addc(b, '{');
	k = 1;
	n = json_size(d, 0);
	for (int i = 0; i < n; i++) {
		int v = k + 1;

		if (!json_string_eq(d, k, key)) {
			json_put_token(b, d, k);	/* with its ',' */
			buf_addc(b, ':');
			json_put_token(b, d, v);
		}
		k = json_skip(d, v);
	}
	return 0;
}
