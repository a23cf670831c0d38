/* expr.c: field expressions, native for plain paths and libjq for the rest. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "expr.h"
#include "jsonfast.h"

struct expr {
	char *src;
	char *path;		/* the dotted path without a leading '.', or NULL */
	int at[8];		/* where each component was found last (json_path_at) */
	const char *name;
	jq_state *jq;
	struct buf scratch;	/* unescaped strings and jq output */
	struct json_doc tokens;	/* a simdjson document's line, when a path finds a container */
	struct buf errors;	/* what libjq said while compiling */
};

/* A path is identifiers joined by dots, with an optional leading dot. */
static bool
plain_path(const char *s)
{
	if (*s == '.')
		s++;
	for (;;) {
		if (!(isalpha((unsigned char)*s) || *s == '_'))
			return false;
		while (isalnum((unsigned char)*s) || *s == '_')
			s++;
		if (*s == '\0')
			return true;
		if (*s++ != '.')
			return false;
	}
}

static void
collect_error(void *data, jv msg)
{
	struct buf *b = data;

	if (jv_get_kind(msg) == JV_KIND_INVALID && jv_invalid_has_msg(jv_copy(msg)))
		msg = jv_invalid_get_msg(msg);
	if (jv_get_kind(msg) != JV_KIND_STRING)
		msg = jv_dump_string(msg, 0);
	/* libjq ends with a count of errors, which says nothing more. */
	if (strstr(jv_string_value(msg), "compile error") == NULL) {
		const char *p = jv_string_value(msg);

		if (b->len)
			buf_adds(b, "; ");
		/* One line: the program text libjq quotes goes after a colon. */
		for (; *p; p++)
			buf_addc(b, *p == '\n' ? ' ' : *p);
		while (b->len && b->p[b->len - 1] == ' ')
			b->p[--b->len] = '\0';
	}
	jv_free(msg);
}

struct expr *
expr_compile(const char *src, struct err *e)
{
	struct expr *x;

	/* jq would take it as '.', the whole event: never what was meant. */
	if (src[strspn(src, " \t\n\r")] == '\0') {
		err_set(e, ERR_USAGE, "an empty expression: name a field (region, ._eh.partition) "
		    "or write a jq expression");
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->src = xstrdup(src);
	json_doc_init(&x->tokens);
	if (plain_path(src)) {
		const char *dot;

		x->path = xstrdup(src[0] == '.' ? src + 1 : src);
		dot = strrchr(x->path, '.');
		x->name = dot ? dot + 1 : x->path;
		return x;
	}
	x->name = x->src;
	x->jq = jq_init();
	if (x->jq == NULL) {
		err_set(e, ERR_IO, "cannot start libjq");
		expr_free(x);
		return NULL;
	}
	jq_set_error_cb(x->jq, collect_error, &x->errors);
	if (!jq_compile(x->jq, src)) {
		size_t n = x->errors.len;

		err_set(e, ERR_USAGE, "invalid expression '%s': %.*s", src,
		    (int)(n > 600 ? 600 : n), n ? x->errors.p : "syntax error");
		expr_free(x);
		return NULL;
	}
	return x;
}

void
expr_free(struct expr *x)
{
	if (x == NULL)
		return;
	if (x->jq)
		jq_teardown(&x->jq);
	free(x->src);
	free(x->path);
	buf_free(&x->scratch);
	buf_free(&x->errors);
	json_doc_free(&x->tokens);
	free(x);
}

bool
expr_is_path(const struct expr *x)
{
	return x->path != NULL;
}

const char *
expr_path(const struct expr *x)
{
	return x->path;
}

const char *
expr_source(const struct expr *x)
{
	return x->src;
}

const char *
expr_name(const struct expr *x)
{
	return x->name;
}

/* A path on a document simdjson loaded: 1, or 0 for a container. */
static int
eval_fast(const struct expr *x, const struct json_doc *d, struct expr_val *out)
{
	static const enum expr_type type[] = {
		[JSON_FAST_MISSING] = EXPR_NULL, [JSON_FAST_NULL] = EXPR_NULL,
		[JSON_FAST_FALSE] = EXPR_FALSE, [JSON_FAST_TRUE] = EXPR_TRUE,
		[JSON_FAST_NUMBER] = EXPR_NUMBER, [JSON_FAST_STRING] = EXPR_STRING,
	};
	struct json_fast_val v;

	if (json_fast_value(d->fast, x->path, &v) == 0)
		return 0;
	out->type = type[v.type];
	out->missing = v.type == JSON_FAST_MISSING;
	out->num = v.type == JSON_FAST_NUMBER ? v.num : 0;
	out->str = v.type == JSON_FAST_STRING ? v.str : NULL;
	out->len = v.type == JSON_FAST_STRING ? v.len : 0;
	return 1;
}

static int
eval_path(struct expr *x, const struct json_doc *d, struct expr_val *out)
{
	int t;
	struct err e;

	memset(out, 0, sizeof(*out));
	if (d->fast != NULL) {
		if (eval_fast(x, d, out))
			return 0;
		/* An array or object is copied compact from its tokens. */
		if (json_parse_valid(&x->tokens, d->text, d->len, &e) < 0)
			return 0;	/* cannot be: the text was loaded */
		d = &x->tokens;
	}
	t = json_path_at(d, 0, x->path, x->at, (int)(sizeof(x->at) / sizeof(x->at[0])));
	switch (json_type(d, t)) {
	case JSON_NONE:
		out->missing = true;
		out->type = EXPR_NULL;
		break;
	case JSON_NULL:
		out->type = EXPR_NULL;
		break;
	case JSON_BOOL: {
		bool b;

		json_bool(d, t, &b);
		out->type = b ? EXPR_TRUE : EXPR_FALSE;
		break;
	}
	case JSON_NUMBER:
		out->type = EXPR_NUMBER;
		json_number(d, t, &out->num);
		break;
	case JSON_STRING:
		out->type = EXPR_STRING;
		if (json_string_plain(d, t)) {
			out->str = json_raw(d, t, &out->len);
		} else {
			buf_reset(&x->scratch);
			json_string(d, t, &x->scratch);
			out->str = x->scratch.p;
			out->len = x->scratch.len;
		}
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		out->type = EXPR_OTHER;
		buf_reset(&x->scratch);
		json_put_token(&x->scratch, d, t);
		out->str = x->scratch.p;
		out->len = x->scratch.len;
		break;
	}
	return 0;
}

static int
eval_jq(struct expr *x, const char *line, size_t len, struct expr_val *out,
    struct err *e)
{
	jv in = jv_parse_sized(line, (int)len), v;
	int rc = 0, more;

	memset(out, 0, sizeof(*out));
	if (!jv_is_valid(in)) {
		jv_free(in);
		return err_set(e, ERR_DATA, "expression '%s': input is not JSON", x->src);
	}
	jq_start(x->jq, in, 0);
	v = jq_next(x->jq);
	more = jv_is_valid(v);
	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
		if (jv_invalid_has_msg(jv_copy(v))) {
			jv msg = jv_invalid_get_msg(jv_copy(v));
			const char *s = jv_get_kind(msg) == JV_KIND_STRING ?
			    jv_string_value(msg) : "error";

			rc = err_set(e, ERR_DATA, "expression '%s': %s", x->src, s);
			jv_free(msg);
		}
		out->type = EXPR_NULL;
		break;
	case JV_KIND_NULL:
		out->type = EXPR_NULL;
		break;
	case JV_KIND_FALSE:
		out->type = EXPR_FALSE;
		break;
	case JV_KIND_TRUE:
		out->type = EXPR_TRUE;
		break;
	case JV_KIND_NUMBER:
		out->type = EXPR_NUMBER;
		out->num = jv_number_value(v);
		break;
	case JV_KIND_STRING:
		out->type = EXPR_STRING;
		buf_reset(&x->scratch);
		buf_add(&x->scratch, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
		out->str = x->scratch.p;
		out->len = x->scratch.len;
		break;
	default: {
		jv s = jv_dump_string(jv_copy(v), 0);

		out->type = EXPR_OTHER;
		buf_reset(&x->scratch);
		buf_adds(&x->scratch, jv_string_value(s));
		out->str = x->scratch.p;
		out->len = x->scratch.len;
		jv_free(s);
		break;
	}
	}
	jv_free(v);
	/* Drain the rest so the next jq_start begins clean. */
	while (more && jv_is_valid(v = jq_next(x->jq)))
		jv_free(v);
	if (more)
		jv_free(v);
	return rc;
}

int
expr_eval(struct expr *x, const struct json_doc *d, const char *line,
    size_t len, struct expr_val *out, struct err *e)
{
	if (x->path)
		return eval_path(x, d, out);
	return eval_jq(x, line, len, out, e);
}

bool
expr_truthy(const struct expr_val *v)
{
	return v->type != EXPR_NULL && v->type != EXPR_FALSE;
}

void
expr_put(struct buf *b, const struct expr_val *v)
{
	switch (v->type) {
	case EXPR_NULL:
		json_put_null(b);
		break;
	case EXPR_FALSE:
		json_put_bool(b, false);
		break;
	case EXPR_TRUE:
		json_put_bool(b, true);
		break;
	case EXPR_NUMBER:
		json_put_num(b, v->num);
		break;
	case EXPR_STRING:
		json_put_str(b, v->str, v->len);
		break;
	case EXPR_OTHER:
		json_sep(b);
		buf_add(b, v->str, v->len);
		break;
	}
}
