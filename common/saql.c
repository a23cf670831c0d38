/* saql.c: a tokenizer and recursive-descent parser for Stream Analytics queries. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "row.h"
#include "saql.h"
#include "timefmt.h"

/*
 * The query language is small and the compiler runs once, before any
 * event: a token array, a tree of nodes in one arena, and a longjmp out
 * of the parser on the first fault (it names one place; there is no
 * recovery to attempt).  Everything the parser allocates is freed with
 * the arena, so a fault leaks nothing.
 */

enum tok_kind { TK_EOF, TK_IDENT, TK_NAME, TK_NUM, TK_STR, TK_PUNCT };

struct tok {
	enum tok_kind kind;
	const char *p;		/* the text as written */
	size_t len;
	int line, col;
	char *s;		/* TK_NAME, TK_STR: the name or string unescaped */
};

enum node_kind {
	N_NUM, N_STR, N_NULL, N_BOOL, N_COL, N_TIMESTAMP, N_FUNC, N_CASE, N_BIN, N_NOT,
	N_NEG, N_ISNULL
};

struct node {
	enum node_kind kind;
	const struct tok *t;	/* where it starts */
	char *s;		/* N_COL: the dotted path; N_FUNC: the upper-case name;
				 * N_STR: the string; N_NUM: the digits; N_BIN: the operator */
	bool b;			/* N_BOOL: the value; N_ISNULL: IS NOT NULL;
				 * N_FUNC: DISTINCT; N_NOT: jq's not, as it is */
	bool star;		/* N_FUNC: COUNT(*) */
	struct node *l, *r;	/* operands; N_CASE: r is ELSE */
	struct node **v;	/* N_FUNC: arguments; N_CASE: WHEN, THEN, WHEN, THEN ... */
	int n;
};

struct parser {
	struct tok *tk;
	int ntk, i;
	const char *name;
	struct err *e;
	jmp_buf fail;
	void **arena;		/* everything to free at the end */
	int narena, carena;
	struct buf scratch[4];	/* buffers a fault may leave behind */
	bool in_step;		/* inside WITH name AS ( ... ): ')' ends the statement */
};

/* Hand x to the arena, to be freed with the parser; returns x. */
static void *
keep(struct parser *p, void *x)
{
	if (p->narena == p->carena) {
		p->carena = p->carena ? 2 * p->carena : 64;
		p->arena = xrealloc(p->arena, sizeof(*p->arena) * (size_t)p->carena);
	}
	p->arena[p->narena++] = x;
	return x;
}

/* Stop compiling: the fault at line:col, in the query's own words. */
static void __attribute__((noreturn, format(printf, 4, 5)))
fail_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	char msg[sizeof(p->e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(p->e, ERR_USAGE, "%s:%d:%d: %s", p->name, line, col, msg);
	longjmp(p->fail, 1);
}

#define FAIL(p, t, ...) fail_at((p), (t)->line, (t)->col, __VA_ARGS__)

/* ---- tokens ---- */

static void
add_tok(struct parser *p, struct tok *t)
{
	if (p->ntk % 64 == 0)
		p->tk = xrealloc(p->tk, sizeof(*p->tk) * (size_t)(p->ntk + 64));
	p->tk[p->ntk++] = *t;
}

/* Split text into tokens; comments (-- and C style) and blanks go. */
static void
lex(struct parser *p, const char *text)
{
	const char *s = text, *bol = text;
	int line = 1;

	for (;;) {
		struct tok t = { 0 };

		while (*s) {
			if (*s == '\n') {
				line++;
				bol = s + 1;
				s++;
			} else if (isspace((unsigned char)*s)) {
				s++;
			} else if (s[0] == '-' && s[1] == '-') {
				while (*s && *s != '\n')
					s++;
			} else if (s[0] == '/' && s[1] == '*') {
				int l0 = line, c0 = (int)(s - bol) + 1;

				for (s += 2; *s && !(s[0] == '*' && s[1] == '/'); s++)
					if (*s == '\n') {
						line++;
						bol = s + 1;
					}
				if (*s == '\0')
					fail_at(p, l0, c0, "a comment '/*' that never ends");
				s += 2;
			} else {
				break;
			}
		}
		t.p = s;
		t.line = line;
		t.col = (int)(s - bol) + 1;
		if (*s == '\0') {
			t.kind = TK_EOF;
			add_tok(p, &t);
			return;
		}
		if (isalpha((unsigned char)*s) || *s == '_') {
			while (isalnum((unsigned char)*s) || *s == '_')
				s++;
			t.kind = TK_IDENT;
		} else if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
			while (isdigit((unsigned char)*s) || *s == '.')
				s++;
			if ((*s == 'e' || *s == 'E') && (isdigit((unsigned char)s[1]) ||
			    ((s[1] == '-' || s[1] == '+') && isdigit((unsigned char)s[2]))))
				for (s += 2; isdigit((unsigned char)*s); s++)
					;
			t.kind = TK_NUM;
		} else if (*s == '[' || *s == '\'' || *s == '"') {
			/* [name], "name" and 'string': a doubled closer stands for itself. */
			char close = *s == '[' ? ']' : *s;
			struct buf *b = &p->scratch[3];

			for (s++;; s++) {
				if (*s == '\0' || (*s == '\n' && close == ']'))
					fail_at(p, t.line, t.col, close == ']' ? "unbalanced '[': no ']' "
					    "on the same line" : "a string that never ends: no closing %c",
					    close);
				if (*s == '\n') {
					line++;
					bol = s + 1;
				}
				if (*s == close && s[1] == close) {
					buf_addc(b, close);
					s++;
				} else if (*s == close) {
					break;
				} else {
					buf_addc(b, *s);
				}
			}
			s++;
			buf_addc(b, '\0');
			t.s = keep(p, buf_steal(b));
			t.kind = close == '\'' ? TK_STR : TK_NAME;
			if (t.kind == TK_NAME && t.s[0] == '\0')
				fail_at(p, t.line, t.col, "an empty name");
		} else if (*s == ']') {
			fail_at(p, t.line, t.col, "unbalanced ']': no '[' before it");
		} else if (strchr("(),.*+-/%=;", *s)) {
			s++;
			t.kind = TK_PUNCT;
		} else if ((s[0] == '<' && (s[1] == '>' || s[1] == '=')) ||
		    (s[0] == '>' && s[1] == '=') || (s[0] == '!' && s[1] == '=')) {
			s += 2;
			t.kind = TK_PUNCT;
		} else if (*s == '<' || *s == '>') {
			s++;
			t.kind = TK_PUNCT;
		} else {
			fail_at(p, t.line, t.col, "unexpected character '%c'", *s);
		}
		t.len = (size_t)(s - t.p);
		add_tok(p, &t);
	}
}

static const struct tok *
peek(const struct parser *p)
{
	return &p->tk[p->i];
}

static const struct tok *
peek2(const struct parser *p)
{
	return &p->tk[p->i + 1 < p->ntk ? p->i + 1 : p->i];
}

static const struct tok *
next(struct parser *p)
{
	const struct tok *t = &p->tk[p->i];

	if (t->kind != TK_EOF)
		p->i++;
	return t;
}

/* Is t the keyword (or punctuation) w, in any case?  Bracketed names never are. */
static bool
is(const struct tok *t, const char *w)
{
	return (t->kind == TK_IDENT || t->kind == TK_PUNCT) && strlen(w) == t->len &&
	    strncasecmp(t->p, w, t->len) == 0;
}

static bool
accept(struct parser *p, const char *w)
{
	if (!is(peek(p), w))
		return false;
	next(p);
	return true;
}

/* How a token reads in a message. */
static const char *
shown(const struct tok *t)
{
	static char s[64];

	if (t->kind == TK_EOF)
		return "the end of the query";
	snprintf(s, sizeof(s), "'%.*s'", t->len > 40 ? 40 : (int)t->len, t->p);
	return s;
}

static const struct tok *
expect(struct parser *p, const char *w, const char *why)
{
	const struct tok *t = peek(p);

	if (!is(t, w))
		FAIL(p, t, "expected '%s'%s, found %s", w, why, shown(t));
	return next(p);
}

/* The text from token start to the last token taken, as written. */
static char *
span(const struct parser *p, const struct tok *start)
{
	const struct tok *last = &p->tk[p->i - 1];

	return xstrndup(start->p, (size_t)(last->p + last->len - start->p));
}

/* A closing parenthesis for the one at open. */
static void
close_paren(struct parser *p, const struct tok *open)
{
	const struct tok *t = peek(p);

	if (!is(t, ")"))
		FAIL(p, t, "unbalanced '(' at %d:%d: expected ')', found %s", open->line,
		    open->col, shown(t));
	next(p);
}

/* Words that end a clause or belong to the grammar: never a column. */
static const char *const keywords[] = {
	"SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "INTO", "AS", "TIMESTAMP", "CASE",
	"WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE",
	"DISTINCT", "WITH", "JOIN", "ON", "UNION", "ORDER", "LIMIT", "OVER", "PARTITION",
	"INNER", "LEFT", "RIGHT", "OUTER", "CROSS", "APPLY", "TOP", "IN", "LIKE", "BETWEEN",
	NULL
};

static bool
is_keyword(const struct tok *t)
{
	for (int k = 0; keywords[k]; k++)
		if (is(t, keywords[k]))
			return true;
	return false;
}

/* Constructs of Stream Analytics this compiler knows by name but does not
 * compile, and what to say about each. */
static const char *const unsupported[][2] = {
	{ "JOIN", "joining streams" }, { "UNION", "a union of statements" },
	{ "WITH", "WITH inside a WITH step" },
	{ "APPLY", "CROSS APPLY" }, { "ORDER", "ORDER BY" }, { "LIMIT", "LIMIT DURATION" },
	{ "OVER", "OVER (PARTITION BY ...)" }, { "PARTITION", "PARTITION BY" },
	{ "TOP", "TOP" }, { "IN", "IN (...)" }, { "LIKE", "LIKE" },
	{ "BETWEEN", "BETWEEN" }, { "LAG", "LAG" }, { "LAST", "LAST" },
	{ "ISFIRST", "ISFIRST" }, { "TOPONE", "TopOne" }, { "COLLECT", "Collect" },
	{ "COLLECTTOP", "CollectTop" }, { "PERCENTILE_CONT", "PERCENTILE_CONT" },
	{ "PERCENTILE_DISC", "PERCENTILE_DISC" }, { "STDEVP", "STDEVP" }, { "VAR", "VAR" },
	{ "VARP", "VARP" }, { "CAST", "CAST" }, { "TRY_CAST", "TRY_CAST" },
	{ "GETARRAYELEMENT", "GetArrayElement" }, { "GETRECORDPROPERTYVALUE",
	  "GetRecordPropertyValue" }, { "UDF", "JavaScript and C# functions (UDF.)" },
	{ "INNER", "joining streams" }, { "LEFT", "joining streams" },
	{ "RIGHT", "joining streams" }, { "CROSS", "CROSS APPLY" },
	{ NULL, NULL }
};

static void
refuse_unsupported(struct parser *p, const struct tok *t)
{
	for (int k = 0; unsupported[k][0]; k++)
		if (is(t, unsupported[k][0]))
			FAIL(p, t, "%s is not supported (csa-window(1), QUERY LANGUAGE, says what is)",
			    unsupported[k][1]);
}

/* ---- expressions ---- */

static struct node *
node(struct parser *p, enum node_kind kind, const struct tok *t)
{
	struct node *n = keep(p, xcalloc(1, sizeof(*n)));

	n->kind = kind;
	n->t = t;
	return n;
}

static char *
upper(struct parser *p, const struct tok *t)
{
	char *s = keep(p, xstrndup(t->p, t->len));

	for (char *c = s; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return s;
}

static struct node *expr(struct parser *p);

/* A name part: an identifier that is not a keyword, or a bracketed name. */
static char *
name_part(struct parser *p, const struct tok *t)
{
	if (t->kind == TK_NAME)
		return t->s;
	if (t->kind != TK_IDENT || is_keyword(t)) {
		refuse_unsupported(p, t);
		FAIL(p, t, "expected a name, found %s", shown(t));
	}
	return keep(p, xstrndup(t->p, t->len));
}

/* name ( [DISTINCT] * | expr {, expr} ): the name taken, "(" next. */
static struct node *
func_call(struct parser *p, const struct tok *name)
{
	const struct tok *open = next(p);
	struct node *n = node(p, N_FUNC, name);

	n->s = upper(p, name);
	refuse_unsupported(p, name);
	if (accept(p, ")"))
		return n;
	if (accept(p, "DISTINCT"))
		n->b = true;
	if (is(peek(p), "*")) {
		next(p);
		n->star = true;
		close_paren(p, open);
		return n;
	}
	n->v = keep(p, xmalloc(sizeof(*n->v) * 16));
	do {
		if (n->n == 16)
			FAIL(p, peek(p), "%s: more than 16 arguments", n->s);
		n->v[n->n++] = expr(p);
	} while (accept(p, ","));
	close_paren(p, open);
	return n;
}

/* A number, a string, NULL, TRUE, FALSE, ( expr ), CASE, a call,
 * System.Timestamp() or a field a.[b].c. */
static struct node *
primary(struct parser *p)
{
	const struct tok *t = peek(p);
	struct node *n;

	if (t->kind == TK_NUM) {
		next(p);
		n = node(p, N_NUM, t);
		n->s = keep(p, xstrndup(t->p, t->len));
		return n;
	}
	if (t->kind == TK_STR) {
		next(p);
		n = node(p, N_STR, t);
		n->s = t->s;
		return n;
	}
	if (is(t, "(")) {
		next(p);
		n = expr(p);
		close_paren(p, t);
		return n;
	}
	if (is(t, "NULL") || is(t, "TRUE") || is(t, "FALSE")) {
		next(p);
		n = node(p, is(t, "NULL") ? N_NULL : N_BOOL, t);
		n->b = is(t, "TRUE");
		return n;
	}
	if (is(t, "CASE")) {
		next(p);
		n = node(p, N_CASE, t);
		n->v = keep(p, xmalloc(sizeof(*n->v) * 64));
		if (!is(peek(p), "WHEN"))
			FAIL(p, peek(p), "CASE: expected WHEN, found %s (the simple CASE x WHEN v "
			    "form is not supported)", shown(peek(p)));
		while (accept(p, "WHEN")) {
			if (n->n == 64)
				FAIL(p, t, "CASE: more than 32 WHENs");
			n->v[n->n++] = expr(p);
			expect(p, "THEN", " after CASE WHEN's condition");
			n->v[n->n++] = expr(p);
		}
		if (accept(p, "ELSE"))
			n->r = expr(p);
		expect(p, "END", " to close the CASE");
		return n;
	}
	if (t->kind == TK_IDENT && is(peek2(p), "(") && !is_keyword(t)) {
		next(p);
		return func_call(p, t);
	}
	if (t->kind == TK_IDENT && strncasecmp(t->p, "System", t->len) == 0 && t->len == 6 &&
	    is(peek2(p), ".")) {
		const struct tok *f;

		next(p);
		next(p);
		f = next(p);
		if (!is(f, "Timestamp") || !is(peek(p), "("))
			FAIL(p, f, "unknown function System.%.*s (System.Timestamp() is known)",
			    (int)f->len, f->p);
		next(p);
		close_paren(p, peek(p) - 1);
		return node(p, N_TIMESTAMP, t);
	}
	if (t->kind == TK_IDENT || t->kind == TK_NAME) {
		struct buf b = { 0 };

		next(p);
		n = node(p, N_COL, t);
		buf_adds(&b, name_part(p, t));
		while (is(peek(p), ".")) {
			next(p);
			/* Path parts are kept apart by '\x1f' (the unit
			 * separator), which no name holds. */
			buf_addc(&b, '\x1f');
			buf_adds(&b, name_part(p, next(p)));
		}
		buf_addc(&b, '\0');
		n->s = keep(p, buf_steal(&b));
		return n;
	}
	refuse_unsupported(p, t);
	if (is(t, ")"))
		FAIL(p, t, "unbalanced ')': no '(' before it");
	FAIL(p, t, "expected a value, a column or a function, found %s", shown(t));
}

/* The levels of an expression, tightest first: - x; * / %; + -; the
 * comparisons and IS NULL; NOT; AND; OR. */
static struct node *
unary(struct parser *p)
{
	const struct tok *t = peek(p);

	if (accept(p, "-")) {
		struct node *n = node(p, N_NEG, t);

		n->l = unary(p);
		return n;
	}
	return primary(p);
}

/* l op r, op being jq's spelling. */
static struct node *
binary(struct parser *p, const struct tok *t, const char *op, struct node *l, struct node *r)
{
	struct node *n = node(p, N_BIN, t);

	n->s = (char *)op;
	n->l = l;
	n->r = r;
	return n;
}

static struct node *
term(struct parser *p)
{
	struct node *n = unary(p);

	for (;;) {
		const struct tok *t = peek(p);

		if (accept(p, "*"))
			n = binary(p, t, "*", n, unary(p));
		else if (accept(p, "/"))
			n = binary(p, t, "/", n, unary(p));
		else if (accept(p, "%"))
			n = binary(p, t, "%", n, unary(p));
		else
			return n;
	}
}

static struct node *
sum(struct parser *p)
{
	struct node *n = term(p);

	for (;;) {
		const struct tok *t = peek(p);

		if (accept(p, "+"))
			n = binary(p, t, "+", n, term(p));
		else if (accept(p, "-"))
			n = binary(p, t, "-", n, term(p));
		else
			return n;
	}
}

static struct node *
comparison(struct parser *p)
{
	static const char *const ops[][2] = {
		{ "=", "==" }, { "<>", "!=" }, { "!=", "!=" }, { "<=", "<=" }, { ">=", ">=" },
		{ "<", "<" }, { ">", ">" }
	};
	struct node *n = sum(p);
	const struct tok *t = peek(p);

	if (accept(p, "IS")) {
		struct node *m = node(p, N_ISNULL, t);

		m->b = accept(p, "NOT");
		expect(p, "NULL", " after IS");
		m->l = n;
		return m;
	}
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (accept(p, ops[k][0]))
			return binary(p, t, ops[k][1], n, sum(p));
	if (is(t, "NOT") || is(t, "IN") || is(t, "LIKE") || is(t, "BETWEEN"))
		refuse_unsupported(p, is(t, "NOT") ? peek2(p) : t);
	return n;
}

static struct node *
negation(struct parser *p)
{
	const struct tok *t = peek(p);

	if (accept(p, "NOT")) {
		struct node *n = node(p, N_NOT, t);

		n->l = negation(p);
		return n;
	}
	return comparison(p);
}

static struct node *
conjunction(struct parser *p)
{
	struct node *n = negation(p);
	const struct tok *t;

	while (t = peek(p), accept(p, "AND"))
		n = binary(p, t, "and", n, negation(p));
	return n;
}

static struct node *
expr(struct parser *p)
{
	struct node *n = conjunction(p);
	const struct tok *t;

	while (t = peek(p), accept(p, "OR"))
		n = binary(p, t, "or", n, conjunction(p));
	return n;
}

/* ---- from nodes to the spec's text ---- */

static bool
plain_part(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t k = 0; k < n; k++)
		if (!isalnum((unsigned char)s[k]) && s[k] != '_')
			return false;
	return true;
}

/* A string as JSON, wherever b stands (json_put_str would add a comma). */
static void
put_string(struct buf *b, const char *s, size_t n)
{
	struct buf t = { 0 };

	json_put_str(&t, s, n);
	buf_add(b, t.p, t.len);
	buf_free(&t);
}

/* A number as written, in the form JSON and jq read (.5 is 0.5). */
static void
put_number(struct buf *b, const char *s)
{
	if (s[0] == '.')
		buf_addc(b, '0');
	buf_adds(b, s);
}

/* A column path as a field expression: "a.b" when common/expr reads it as
 * a plain path, else the jq form .a["b-c"].  jq_form: always with the
 * leading dot, for use inside a larger jq expression. */
static void
put_path(struct buf *b, const char *path, bool jq_form)
{
	bool plain = true;

	for (const char *s = path; plain; ) {
		const char *e = strchr(s, '\x1f');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		plain = plain_part(s, n);
		if (e == NULL)
			break;
		s = e + 1;
	}
	for (const char *s = path, *e;; s = e + 1) {
		size_t n;

		e = strchr(s, '\x1f');
		n = e ? (size_t)(e - s) : strlen(s);
		if (plain) {
			if (jq_form || s != path)
				buf_addc(b, '.');
			buf_add(b, s, n);
		} else {
			buf_adds(b, s == path ? ".[" : "[");
			put_string(b, s, n);
			buf_addc(b, ']');
		}
		if (e == NULL)
			break;
	}
}

/* The last part of a path: a column's name when it has no AS. */
static const char *
path_last(const char *path)
{
	const char *s = strrchr(path, '\x1f');

	return s ? s + 1 : path;
}

/* The aggregates this compiler knows (upper case, as the nodes hold them). */
static bool
is_aggregate_name(const char *f)
{
	static const char *const names[] = { "COUNT", "SUM", "AVG", "MIN", "MAX", "STDEV",
		NULL };

	for (int k = 0; names[k]; k++)
		if (strcmp(f, names[k]) == 0)
			return true;
	return false;
}

/* Is there an aggregate anywhere in n? */
static bool
has_aggregate(const struct node *n)
{
	if (n == NULL)
		return false;
	if (n->kind == N_FUNC && is_aggregate_name(n->s))
		return true;
	for (int k = 0; k < n->n; k++)
		if (has_aggregate(n->v[k]))
			return true;
	return has_aggregate(n->l) || has_aggregate(n->r);
}

/* The first aggregate inside n, for messages. */
static const struct node *
first_aggregate(const struct node *n)
{
	const struct node *f;

	if (n == NULL)
		return NULL;
	if (n->kind == N_FUNC && is_aggregate_name(n->s))
		return n;
	for (int k = 0; k < n->n; k++)
		if ((f = first_aggregate(n->v[k])) != NULL)
			return f;
	return (f = first_aggregate(n->l)) != NULL ? f : first_aggregate(n->r);
}

static bool
is_constant(const struct node *n)
{
	return n->kind == N_NUM || n->kind == N_STR || n->kind == N_NULL || n->kind == N_BOOL ||
	    (n->kind == N_NEG && n->l->kind == N_NUM);
}

/* A constant as JSON. */
static void
put_constant(struct buf *b, const struct node *n)
{
	switch (n->kind) {
	case N_NUM:
		put_number(b, n->s);
		break;
	case N_NEG:
		buf_addc(b, '-');
		put_number(b, n->l->s);
		break;
	case N_STR:
		put_string(b, n->s, strlen(n->s));
		break;
	case N_BOOL:
		buf_adds(b, n->b ? "true" : "false");
		break;
	default:
		buf_adds(b, "null");
		break;
	}
}

/* May a comparison's side be null (a column, anything computed, NULL)? */
static bool
nullable(const struct node *n)
{
	return !is_constant(n) || n->kind == N_NULL;
}

/*
 * Does the comparison n need "side != null and" in front, to be false
 * with a null side as SQL has it?  jq orders null below everything, so
 * null > c, null >= c, c < null, c <= null and null == c are false there
 * already; the others are not.
 */
static bool
needs_guard(const struct node *n)
{
	bool l = nullable(n->l), r = nullable(n->r);

	if (l && r)
		return true;
	if (strcmp(n->s, "==") == 0)
		return false;
	if (l)
		return strcmp(n->s, ">") != 0 && strcmp(n->s, ">=") != 0;
	if (r)
		return strcmp(n->s, "<") != 0 && strcmp(n->s, "<=") != 0;
	return false;
}

/*
 * NOT n, pushed down to the comparisons (De Morgan, and each comparison
 * turned round), which keep SQL's rule for a null side: in SQL's three
 * values NOT (a < 1 OR b = 2) holds where a >= 1 AND b <> 2 does, and
 * neither for a null a.  What is no condition gets jq's not.
 */
static const struct node *
negate(struct parser *p, const struct node *n)
{
	static const char *const inverse[][2] = {
		{ "==", "!=" }, { "!=", "==" }, { "<", ">=" }, { ">=", "<" }, { ">", "<=" },
		{ "<=", ">" }
	};
	struct node *m;

	if (n->kind == N_NOT && !n->b)
		return n->l;
	m = node(p, n->kind, n->t);
	*m = *n;
	if (n->kind == N_ISNULL) {
		m->b = !n->b;
		return m;
	}
	if (n->kind == N_BIN && (strcmp(n->s, "and") == 0 || strcmp(n->s, "or") == 0)) {
		m->s = (char *)(n->s[0] == 'a' ? "or" : "and");
		m->l = (struct node *)negate(p, n->l);
		m->r = (struct node *)negate(p, n->r);
		return m;
	}
	if (n->kind == N_BIN)
		for (size_t k = 0; k < sizeof(inverse) / sizeof(inverse[0]); k++)
			if (strcmp(n->s, inverse[k][0]) == 0) {
				m->s = (char *)inverse[k][1];
				return m;
			}
	m = node(p, N_NOT, n->t);
	m->b = true;
	m->l = (struct node *)n;
	return m;
}

/*
 * n as a jq expression with SQL's meaning: a comparison with a null side
 * is not true (jq orders null below every number, so null < 5 would be),
 * AND, OR and NOT are jq's, strings are JSON strings, CASE is if-elif.
 */
static void
put_jq(struct parser *p, struct buf *b, const struct node *n)
{
	switch (n->kind) {
	case N_NUM: case N_STR: case N_NULL: case N_BOOL:
		put_constant(b, n);
		return;
	case N_COL:
		put_path(b, n->s, true);
		return;
	case N_NEG:
		if (nullable(n->l)) {
			buf_adds(b, "(if ");
			put_jq(p, b, n->l);
			buf_adds(b, " == null then null else -");
			put_jq(p, b, n->l);
			buf_adds(b, " end)");
			return;
		}
		buf_adds(b, "(-");
		put_jq(p, b, n->l);
		buf_addc(b, ')');
		return;
	case N_NOT:
		if (!n->b) {
			put_jq(p, b, negate(p, n->l));
			return;
		}
		buf_addc(b, '(');
		put_jq(p, b, n->l);
		buf_adds(b, " | not)");
		return;
	case N_ISNULL:
		buf_addc(b, '(');
		put_jq(p, b, n->l);
		buf_adds(b, n->b ? " != null)" : " == null)");
		return;
	case N_CASE:
		buf_adds(b, "(if ");
		for (int k = 0; k < n->n; k += 2) {
			if (k)
				buf_adds(b, " elif ");
			put_jq(p, b, n->v[k]);
			buf_adds(b, " then ");
			put_jq(p, b, n->v[k + 1]);
		}
		buf_adds(b, " else ");
		if (n->r)
			put_jq(p, b, n->r);
		else
			buf_adds(b, "null");
		buf_adds(b, " end)");
		return;
	case N_BIN: {
		bool guard = strchr("<>=!", n->s[0]) != NULL && needs_guard(n);
		bool arith = strchr("+-*/%", n->s[0]) != NULL;

		if (arith && (nullable(n->l) || nullable(n->r))) {
			/* SQL: arithmetic on a null is null (jq: null + 1 is 1,
			 * null * 2 an error). */
			buf_adds(b, "(if ");
			for (const struct node *side = n->l; side; side = side == n->l ? n->r : NULL)
				if (nullable(side)) {
					put_jq(p, b, side);
					buf_adds(b, side == n->l && nullable(n->r) ? " == null or " :
					    " == null");
				}
			buf_adds(b, " then null else ");
			put_jq(p, b, n->l);
			buf_printf(b, " %s ", n->s);
			put_jq(p, b, n->r);
			buf_adds(b, " end)");
			return;
		}
		buf_addc(b, '(');
		if (guard && nullable(n->l)) {
			put_jq(p, b, n->l);
			buf_adds(b, " != null and ");
		}
		if (guard && nullable(n->r)) {
			put_jq(p, b, n->r);
			buf_adds(b, " != null and ");
		}
		put_jq(p, b, n->l);
		buf_printf(b, " %s ", n->s);
		put_jq(p, b, n->r);
		buf_addc(b, ')');
		return;
	}
	case N_TIMESTAMP:
		FAIL(p, n->t, "System.Timestamp() is only a SELECT column or a GROUP BY item "
		    "here");
	case N_FUNC:
		if (is_aggregate_name(n->s))
			FAIL(p, n->t, "an aggregate (%s) inside an expression is not supported: "
			    "select it AS a column of its own", n->s);
		FAIL(p, n->t, "unknown function %s", n->s);
	}
}

/* A field expression for an option: the plain path for a column, else jq. */
static void
put_field(struct parser *p, struct buf *b, const struct node *n)
{
	if (n->kind == N_COL)
		put_path(b, n->s, false);
	else
		put_jq(p, b, n);
}

/* ---- units and windows ---- */

/* Stream Analytics' time units and their abbreviations; microseconds in
 * thousandths of a millisecond. */
static const struct {
	const char *name;
	double ms;
} units[] = {
	{ "day", 86400000 }, { "dd", 86400000 }, { "d", 86400000 },
	{ "hour", 3600000 }, { "hh", 3600000 },
	{ "minute", 60000 }, { "mi", 60000 }, { "n", 60000 },
	{ "second", 1000 }, { "ss", 1000 }, { "s", 1000 },
	{ "millisecond", 1 }, { "ms", 1 },
	{ "microsecond", 0.001 }, { "mcs", 0.001 },
};

/* A time unit word: its milliseconds. */
static double
unit(struct parser *p)
{
	const struct tok *t = next(p);

	if (t->kind == TK_IDENT)
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (is(t, units[k].name))
				return units[k].ms;
	FAIL(p, t, "%s is not a time unit Stream Analytics knows (day dd d, hour hh, "
	    "minute mi n, second ss s, millisecond ms, microsecond mcs)", shown(t));
}

/* n units as whole milliseconds; negative only when may_neg. */
static int64_t
amount(struct parser *p, double ms, bool may_neg)
{
	const struct tok *t = peek(p);
	bool neg = may_neg && accept(p, "-");
	const struct tok *num = next(p);
	double v, total;
	char *end;

	if (num->kind != TK_NUM)
		FAIL(p, num, "expected a number of units, found %s", shown(num));
	v = strtod(keep(p, xstrndup(num->p, num->len)), &end);
	total = (neg ? -v : v) * ms;
	if (total != floor(total) || fabs(total) > 9.0e15)
		FAIL(p, t, "%.*s: not a whole number of milliseconds, which is what windows are "
		    "counted in here", (int)num->len, num->p);
	if (total == 0 && !may_neg)
		FAIL(p, t, "a window of 0");
	return (int64_t)total;
}

/* (unit, n) inside Duration(...), Hop(...) and the like, after the name. */
static int64_t
unit_amount(struct parser *p, bool may_neg)
{
	const struct tok *open = expect(p, "(", "");
	double ms = unit(p);
	int64_t v;

	expect(p, ",", " between the unit and the number");
	v = amount(p, ms, may_neg);
	close_paren(p, open);
	return v;
}

/* An argument that is either "unit, n" (the unit read before) or Name(unit, n). */
static int64_t
window_arg(struct parser *p, const char *fn, double ms, bool may_neg)
{
	if (ms > 0)
		return amount(p, ms, may_neg);
	if (!is(peek(p), fn))
		FAIL(p, peek(p), "expected %s(unit, n), found %s", fn, shown(peek(p)));
	next(p);
	return unit_amount(p, may_neg);
}

/* An offset as csa-window takes it: within [0, size).  A window moved by
 * off and one moved by off + size are the same windows. */
static int64_t
offset_in(int64_t off, int64_t size)
{
	return ((off % size) + size) % size;
}

/* The window function in GROUP BY at t, its name read; into pl. */
static void
window(struct parser *p, const struct tok *t, struct saql_plan *pl)
{
	static const char *const names[][2] = {
		{ "TUMBLINGWINDOW", "TUMBLING" }, { "HOPPINGWINDOW", "HOPPING" },
		{ "SLIDINGWINDOW", "SLIDING" }, { "SESSIONWINDOW", "SESSION" },
		{ "SNAPSHOTWINDOW", "SNAPSHOT" }
	};
	const struct tok *open = expect(p, "(", ""), *start = t;
	double ms = 0;
	int k;

	for (k = 0; k < 5; k++)
		if (is(t, names[k][0]) || is(t, names[k][1]))
			break;
	if (pl->window != SAQL_NONE)
		FAIL(p, t, "a second window in GROUP BY");
	pl->window = (enum saql_window)(SAQL_TUMBLING + k);
	if (pl->window != SAQL_SNAPSHOT && peek(p)->kind == TK_IDENT && is(peek2(p), ",")) {
		ms = unit(p);
		expect(p, ",", " after the unit");
	}
	switch (pl->window) {
	case SAQL_TUMBLING:
	case SAQL_SLIDING:
		pl->size = window_arg(p, "Duration", ms, false);
		pl->hop = pl->size;
		if (pl->window == SAQL_TUMBLING && accept(p, ","))
			pl->offset = offset_in(window_arg(p, "Offset", ms, true), pl->size);
		break;
	case SAQL_HOPPING:
		pl->size = window_arg(p, "Duration", ms, false);
		expect(p, ",", ": HoppingWindow takes a size and a hop");
		pl->hop = window_arg(p, "Hop", ms, false);
		if (pl->hop > pl->size)
			FAIL(p, t, "the hop is longer than the window");
		if (accept(p, ","))
			pl->offset = offset_in(window_arg(p, "Offset", ms, true), pl->hop);
		break;
	case SAQL_SESSION:
		pl->size = window_arg(p, "Timeout", ms, false);
		expect(p, ",", ": SessionWindow takes a timeout and a maximum duration");
		pl->max = window_arg(p, "MaxDuration", ms, false);
		if (pl->max < pl->size)
			FAIL(p, t, "the maximum duration is shorter than the timeout");
		break;
	default:
		break;
	}
	close_paren(p, open);
	/* Stream Analytics' limit: a job that passes here runs there. */
	if (pl->size > 7 * 86400000LL || pl->max > 7 * 86400000LL)
		FAIL(p, t, "a window longer than 7 days (Stream Analytics' limit)");
	if (is(peek(p), "OVER"))
		refuse_unsupported(p, peek(p));
	pl->window_text = span(p, start);
}

static bool
is_window_name(const struct tok *t)
{
	static const char *const names[] = { "TUMBLINGWINDOW", "TUMBLING", "HOPPINGWINDOW",
		"HOPPING", "SLIDINGWINDOW", "SLIDING", "SESSIONWINDOW", "SESSION",
		"SNAPSHOTWINDOW", "SNAPSHOT", NULL };

	for (int k = 0; names[k]; k++)
		if (is(t, names[k]))
			return true;
	return false;
}

/* ---- statements ---- */

struct item {
	struct node *x;
	const char *as;		/* NULL: none */
	const struct tok *at;
};

/* TIMESTAMP BY x: the --time expression, NULL for the arrival time. */
static char *
time_of(struct parser *p, const struct node *x)
{
	struct buf *b = &p->scratch[3];

	buf_reset(b);
	if (x->kind == N_FUNC && strcmp(x->s, "DATEADD") == 0) {
		const struct node *u = x->n == 3 ? x->v[0] : NULL;
		int64_t base = 0;
		double ms = 0;
		struct err e;

		if (u == NULL || u->kind != N_COL || strchr(u->s, '\x1f'))
			FAIL(p, x->t, "DATEADD takes (unit, number, datetime)");
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (strcasecmp(u->s, units[k].name) == 0)
				ms = units[k].ms;
		if (ms == 0)
			FAIL(p, u->t, "DATEADD(%s, ...): a unit of fixed length is needed here "
			    "(day, hour, minute, second, millisecond, microsecond)", u->s);
		if (x->v[2]->kind != N_STR ||
		    tfmt_parse(x->v[2]->s, strlen(x->v[2]->s), &base, &e) < 0)
			FAIL(p, x->v[2]->t, "DATEADD: the third argument must be a datetime string");
		if (ms == 1 && base == 0 && x->v[1]->kind == N_COL) {
			/* Epoch milliseconds: the field itself, a plain path. */
			put_path(b, x->v[1]->s, false);
		} else {
			buf_addc(b, '(');
			put_jq(p, b, x->v[1]);
			buf_printf(b, " * %.17g + %lld)", ms, (long long)base);
		}
		return buf_steal(b);
	}
	if (x->kind == N_FUNC && !is_aggregate_name(x->s))
		FAIL(p, x->t, "unknown function %s in TIMESTAMP BY (a field or DATEADD(unit, "
		    "field, datetime) is known)", x->s);
	put_field(p, b, x);
	return buf_steal(b);
}

/* Append a SELECT column to the plan; it takes text. */
static void
add_col(struct saql_plan *pl, const char *name, enum saql_col_kind kind, char *text)
{
	pl->cols = xrealloc(pl->cols, sizeof(*pl->cols) * (size_t)(pl->ncols + 1));
	pl->cols[pl->ncols].name = xstrdup(name);
	pl->cols[pl->ncols].kind = kind;
	pl->cols[pl->ncols].text = text;
	pl->ncols++;
}

/* Is name a column name --by and --agg take as NAME=, and not one of the
 * members a row has of its own (row_meta_name)? */
static void
check_name(struct parser *p, const struct tok *at, const char *name)
{
	if (!plain_part(name, strlen(name)))
		FAIL(p, at, "column name '%s': only letters, digits and _ (not first) here",
		    name);
	if (row_meta_name(name))
		FAIL(p, at, "a column named '%s', a member every row has or csa-merge adds: "
		    "select it AS another name", name);
}

/* An aggregate as the FUNC(ARG) text --agg takes. */
static char *
agg_text(struct parser *p, const struct node *f)
{
	struct buf *b = &p->scratch[3];
	const char *fn = NULL;

	buf_reset(b);
	if (strcmp(f->s, "COUNT") == 0 && f->star && !f->b)
		return xstrdup("count");
	if (f->star)
		FAIL(p, f->t, "%s(*): only COUNT(*) counts rows", f->s);
	if (f->n != 1)
		FAIL(p, f->t, "%s takes one argument", f->s);
	if (has_aggregate(f->v[0]))
		FAIL(p, first_aggregate(f->v[0])->t, "an aggregate inside an aggregate");
	if (strcmp(f->s, "COUNT") == 0) {
		if (!f->b)
			FAIL(p, f->t, "COUNT(x) is not supported: COUNT(*) counts events and "
			    "COUNT(DISTINCT x) the distinct values of x");
		buf_adds(b, "count_distinct(");
		put_field(p, b, f->v[0]);
		buf_addc(b, ')');
		return buf_steal(b);
	}
	if (f->b)
		FAIL(p, f->t, "DISTINCT is only supported in COUNT(DISTINCT x)");
	if (strcmp(f->s, "SUM") == 0) {
		const struct node *c = f->v[0];

		/* SUM(CASE WHEN field OP constant THEN 1 ELSE 0 END) counts
		 * events: csa-window's count_if, whose state says so. */
		if (c->kind == N_CASE && c->n == 2 && c->r && c->r->kind == N_NUM &&
		    strcmp(c->r->s, "0") == 0 && c->v[1]->kind == N_NUM &&
		    strcmp(c->v[1]->s, "1") == 0 && c->v[0]->kind == N_BIN &&
		    c->v[0]->l->kind == N_COL && is_constant(c->v[0]->r) &&
		    c->v[0]->r->kind != N_NULL && c->v[0]->r->kind != N_BOOL &&
		    strchr("<>=!", c->v[0]->s[0]) &&
		    (c->v[0]->r->kind != N_STR || c->v[0]->s[1] == '=')) {
			buf_adds(b, "count_if(");
			put_path(b, c->v[0]->l->s, false);
			buf_printf(b, " %s ", c->v[0]->s);
			put_constant(b, c->v[0]->r);
			buf_addc(b, ')');
			return buf_steal(b);
		}
		fn = "sum";
	}
	fn = fn ? fn : strcmp(f->s, "AVG") == 0 ? "avg" : strcmp(f->s, "MIN") == 0 ? "min" :
	    strcmp(f->s, "MAX") == 0 ? "max" : "stddev";
	buf_printf(b, "%s(", fn);
	put_field(p, b, f->v[0]);
	buf_addc(b, ')');
	return buf_steal(b);
}

/* A --by column: NAME=EXPR, or the path alone when it names itself. */
static void
put_by(struct buf *by, const char *name, const char *x)
{
	if (by->len)
		buf_addc(by, ',');
	if (strcmp(name, x) != 0)
		buf_printf(by, "%s=", name);
	buf_adds(by, x);
}

/* The made-up name of a column without AS. */
static const char *
default_name(struct parser *p, const struct node *x)
{
	char *s;

	if (x->kind == N_COL)
		return path_last(x->s);
	if (x->kind == N_TIMESTAMP)
		return "window_end";
	if (x->kind == N_FUNC && is_aggregate_name(x->s)) {
		if (x->n == 1 && x->v[0]->kind == N_COL)
			s = keep(p, xstrdup(path_last(x->v[0]->s)));
		else
			s = NULL;
		if (s == NULL) {
			s = keep(p, xstrdup(x->s));
		} else {
			char *t = keep(p, xmalloc(strlen(x->s) + strlen(s) + 2));

			sprintf(t, "%s_%s", x->s, s);
			s = t;
		}
		for (char *c = s; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		return s;
	}
	FAIL(p, x->t, "give this column a name with AS");
}

/* Clause words that may follow a statement's parts. */
static bool
at_statement_end(const struct parser *p, const struct tok *t)
{
	if (p->in_step)
		return is(t, ")");
	return t->kind == TK_EOF || is(t, ";") || is(t, "SELECT") || is(t, "WITH");
}

/*
 * One statement into pl: first the clauses as written, then what they
 * mean: windowed or per event, each SELECT column a group, an aggregate,
 * window_end or a constant, the GROUP BY columns not selected, HAVING.
 */
static void
statement(struct parser *p, struct saql_plan *pl)
{
	struct item items[256];
	struct node *groups[64], *where = NULL, *having = NULL, *ts = NULL;
	const struct tok *group_at = NULL, *having_at = NULL, *first = peek(p);
	int nitems = 0, ngroups = 0;
	struct buf *by = &p->scratch[0], *agg = &p->scratch[1], *b = &p->scratch[2];
	const struct node *any_agg = NULL;

	buf_reset(by);
	buf_reset(agg);
	buf_reset(b);
	if (is(first, "WITH"))
		refuse_unsupported(p, first);
	pl->line = first->line;
	pl->col = first->col;
	expect(p, "SELECT", " to start a statement");
	if (is(peek(p), "DISTINCT") || is(peek(p), "TOP"))
		FAIL(p, peek(p), "SELECT %s is not supported", is(peek(p), "TOP") ? "TOP" :
		    "DISTINCT");
	do {
		struct item *it = &items[nitems];

		if (nitems == 256)
			FAIL(p, peek(p), "more than 256 columns");
		it->at = peek(p);
		if (is(it->at, "*"))
			FAIL(p, it->at, "SELECT * is not supported: name the columns");
		it->x = expr(p);
		it->as = NULL;
		if (accept(p, "AS"))
			it->as = name_part(p, next(p));
		nitems++;
	} while (accept(p, ","));
	if (is(peek(p), "INTO") && p->in_step)
		FAIL(p, peek(p), "INTO in a WITH step: its rows go to the statements that read it");
	if (accept(p, "INTO"))
		pl->into = xstrdup(name_part(p, next(p)));
	expect(p, "FROM", " after the SELECT list");
	pl->from = xstrdup(name_part(p, next(p)));
	if (peek(p)->kind == TK_IDENT && !is_keyword(peek(p)) && !is(peek(p), "TIMESTAMP"))
		FAIL(p, peek(p), "an alias for the input (%.*s) is not supported",
		    (int)peek(p)->len, peek(p)->p);
	if (is(peek(p), "TIMESTAMP")) {
		const struct tok *at;

		pl->ts_line = peek(p)->line;
		pl->ts_col = peek(p)->col;
		next(p);
		expect(p, "BY", " after TIMESTAMP");
		at = peek(p);
		ts = expr(p);
		pl->time_text = span(p, at);
		if (is(peek(p), "OVER"))
			refuse_unsupported(p, peek(p));
	}
	if (accept(p, "WHERE"))
		where = expr(p);
	if (is(peek(p), "GROUP")) {
		group_at = next(p);
		expect(p, "BY", " after GROUP");
		do {
			const struct tok *t = peek(p);

			if (t->kind == TK_IDENT && is_window_name(t) && is(peek2(p), "(")) {
				next(p);
				window(p, t, pl);
				continue;
			}
			if (ngroups == 64)
				FAIL(p, t, "more than 64 GROUP BY columns");
			groups[ngroups] = expr(p);
			if (groups[ngroups]->kind == N_TIMESTAMP) {
				/* GROUP BY System.Timestamp(): Stream Analytics' snapshot. */
				if (pl->window != SAQL_NONE)
					FAIL(p, t, "a second window in GROUP BY");
				pl->window = SAQL_SNAPSHOT;
				pl->window_text = xstrdup("System.Timestamp()");
				continue;
			}
			if (has_aggregate(groups[ngroups]))
				FAIL(p, first_aggregate(groups[ngroups])->t, "an aggregate in GROUP BY");
			ngroups++;
		} while (accept(p, ","));
	}
	if (accept(p, "HAVING")) {
		having_at = peek(p);
		having = expr(p);
	}
	if (!at_statement_end(p, peek(p))) {
		refuse_unsupported(p, peek(p));
		if (is(peek(p), ")"))
			FAIL(p, peek(p), "unbalanced ')': no '(' before it");
		if (p->in_step && (peek(p)->kind == TK_EOF || is(peek(p), ";")))
			FAIL(p, peek(p), "expected ')' to end the WITH step, found %s", shown(peek(p)));
		FAIL(p, peek(p), "unexpected %s", shown(peek(p)));
	}
	if (!p->in_step)
		accept(p, ";");

	/* What the statement is: windowed (aggregates) or per event. */
	for (int k = 0; k < nitems && any_agg == NULL; k++)
		any_agg = first_aggregate(items[k].x);
	if (any_agg == NULL && having)
		any_agg = first_aggregate(having);
	if (any_agg && pl->window == SAQL_NONE)
		FAIL(p, any_agg->t, "%s needs a window: GROUP BY TumblingWindow, HoppingWindow, "
		    "SlidingWindow, SessionWindow or SnapshotWindow", any_agg->s);
	if (group_at && pl->window == SAQL_NONE)
		FAIL(p, group_at, "GROUP BY without a window (TumblingWindow(...) and the like)");
	if (having && pl->window == SAQL_NONE)
		FAIL(p, having->t, "HAVING without GROUP BY a window");
	pl->aggregate = pl->window != SAQL_NONE;

	if (ts) {
		pl->time = time_of(p, ts);
		if (pl->time[0] == '\0')
			FAIL(p, ts->t, "TIMESTAMP BY needs a field");
	}
	if (where) {
		if (has_aggregate(where))
			FAIL(p, first_aggregate(where)->t, "an aggregate in WHERE (HAVING is for that)");
		put_jq(p, b, where);
		pl->where = buf_steal(b);
	}

	/* The SELECT list. */
	for (int k = 0; k < nitems; k++) {
		const struct item *it = &items[k];
		const char *name = it->as ? it->as : default_name(p, it->x);

		for (int j = 0; j < pl->ncols; j++)
			if (strcmp(pl->cols[j].name, name) == 0)
				FAIL(p, it->at, "a second column named '%s'", name);
		if (it->x->kind == N_TIMESTAMP) {
			add_col(pl, name, SAQL_COL_TIMESTAMP, NULL);
			continue;
		}
		if (!pl->aggregate) {
			if (is_constant(it->x)) {
				put_constant(b, it->x);
				add_col(pl, name, SAQL_COL_CONST, buf_steal(b));
			} else {
				put_field(p, b, it->x);
				add_col(pl, name, SAQL_COL_FIELD, buf_steal(b));
			}
			continue;
		}
		check_name(p, it->at, name);
		if (it->x->kind == N_FUNC && is_aggregate_name(it->x->s)) {
			char *t = agg_text(p, it->x);

			buf_printf(agg, "%s%s=%s", agg->len ? "," : "", name, t);
			add_col(pl, name, SAQL_COL_AGG, t);
			continue;
		}
		if (has_aggregate(it->x))
			FAIL(p, first_aggregate(it->x)->t, "an aggregate (%s) inside an expression "
			    "is not supported: select it AS a column of its own",
			    first_aggregate(it->x)->s);
		if (is_constant(it->x)) {
			/* A constant of every row: a group column of one value. */
			put_constant(b, it->x);
		} else {
			int j;
			char *mine;

			put_field(p, b, it->x);
			mine = keep(p, buf_steal(b));
			for (j = 0; j < ngroups; j++) {
				put_field(p, b, groups[j]);
				if (strcmp(b->p, mine) == 0)
					break;
				buf_reset(b);
			}
			if (j == ngroups)
				FAIL(p, it->at, "column '%s' is neither in GROUP BY nor inside an "
				    "aggregate", name);
			buf_reset(b);
			buf_adds(b, mine);
		}
		put_by(by, name, b->p);
		add_col(pl, name, SAQL_COL_GROUP, buf_steal(b));
	}
	/* GROUP BY columns not selected still make groups, under the last
	 * name of their path (unsel: those names so far). */
	const char **unsel = keep(p, xcalloc((size_t)ngroups + 1, sizeof(*unsel)));
	int nunsel = 0;

	for (int j = 0; j < ngroups; j++) {
		bool found = false;

		put_field(p, b, groups[j]);
		for (int k = 0; k < pl->ncols && !found; k++)
			found = pl->cols[k].kind == SAQL_COL_GROUP && strcmp(pl->cols[k].text, b->p) == 0;
		if (!found) {
			const char *name = groups[j]->kind == N_COL ? path_last(groups[j]->s) : NULL;

			if (name == NULL)
				FAIL(p, groups[j]->t, "an expression in GROUP BY must be selected "
				    "AS a column");
			check_name(p, groups[j]->t, name);
			for (int k = 0; k < pl->ncols + nunsel; k++)
				if (strcmp(k < pl->ncols ? pl->cols[k].name : unsel[k - pl->ncols],
				    name) == 0)
					FAIL(p, groups[j]->t, "a second column named '%s' (a GROUP "
					    "BY column not selected is named after its path's last "
					    "part): select it AS another name", name);
			unsel[nunsel++] = name;
			put_by(by, name, b->p);
		}
		buf_reset(b);
	}
	if (having) {
		/* HAVING aggregate OP number: the column of that aggregate. */
		const struct node *h = having;
		const char *col = NULL;
		char *t;

		if (h->kind == N_BIN && h->l->kind == N_FUNC && !is_aggregate_name(h->l->s))
			FAIL(p, h->l->t, "unknown function %s", h->l->s);
		if (h->kind != N_BIN || !strchr("<>=!", h->s[0]) || h->l->kind != N_FUNC ||
		    !is_aggregate_name(h->l->s) || !(h->r->kind == N_NUM ||
		    (h->r->kind == N_NEG && h->r->l->kind == N_NUM)))
			FAIL(p, having_at, "HAVING: only AGGREGATE OP NUMBER is supported, "
			    "e.g. HAVING COUNT(*) > 0");
		t = keep(p, agg_text(p, h->l));
		for (int k = 0; k < pl->ncols && !col; k++)
			if (pl->cols[k].kind == SAQL_COL_AGG && strcmp(pl->cols[k].text, t) == 0)
				col = pl->cols[k].name;
		if (col == NULL) {
			/* Not selected: computed under the name it would have
			 * without AS, which is then a column of the rows. */
			col = default_name(p, h->l);
			for (int k = 0; k < pl->ncols; k++)
				if (strcmp(pl->cols[k].name, col) == 0)
					FAIL(p, h->l->t, "HAVING's %s would be a column '%s', as another "
					    "is already: select it AS a column", h->l->s, col);
			buf_printf(agg, "%s%s=%s", agg->len ? "," : "", col, t);
		}
		put_constant(b, h->r);
		pl->having = xmalloc(strlen(col) + strlen(h->s) + b->len + 3);
		sprintf(pl->having, "%s %s %s", col, h->s, b->p);
		buf_reset(b);
	}
	pl->by = by->len ? buf_steal(by) : NULL;
	pl->agg = agg->len ? buf_steal(agg) : NULL;
}

/* A new plan at the end of q, empty, reading the input. */
static struct saql_plan *
new_plan(struct saql_query *q)
{
	q->v = xrealloc(q->v, sizeof(*q->v) * (size_t)(q->n + 1));
	memset(&q->v[q->n], 0, sizeof(q->v[q->n]));
	q->v[q->n].source = -1;
	return &q->v[q->n++];
}

/*
 * What plan pl reads: a WITH step before it, by name, or else the input.
 * A step's rows are events whose time is their window_end, the step's
 * System.Timestamp(), as Stream Analytics gives a step's output; so the
 * step must have windows, and the reader no TIMESTAMP BY of its own.
 */
static void
resolve_from(struct parser *p, struct saql_query *q, struct saql_plan *pl)
{
	int self = (int)(pl - q->v);
	const struct saql_plan *st;

	for (int k = 0; k < self && pl->source < 0; k++)
		if (q->v[k].step && strcasecmp(q->v[k].into, pl->from) == 0)
			pl->source = k;
	if (pl->source < 0)
		return;
	st = &q->v[pl->source];
	if (!st->aggregate)
		fail_at(p, st->line, st->col, "a WITH step without a window is not supported: its "
		    "rows would have no time (GROUP BY a window, or put its WHERE in the "
		    "statements that read it)");
	if (pl->time_text)
		fail_at(p, pl->ts_line, pl->ts_col, "TIMESTAMP BY on the rows of WITH step [%s]: "
		    "their time is the step's System.Timestamp(), the window end", st->into);
	pl->time = xstrdup("window_end");
}

/* WITH name AS ( SELECT ... ) {, name AS ( SELECT ... )}: a plan each. */
static void
with_steps(struct parser *p, struct saql_query *q)
{
	next(p);
	do {
		const struct tok *at = next(p), *open;
		char *name = name_part(p, at);
		struct saql_plan *pl;

		for (int k = 0; k < q->n; k++)
			if (q->v[k].step && strcasecmp(q->v[k].into, name) == 0)
				fail_at(p, at->line, at->col, "a second WITH step [%s]", name);
		expect(p, "AS", " after the step's name");
		open = peek(p);
		expect(p, "(", " around the step's SELECT");
		pl = new_plan(q);
		pl->step = true;
		pl->into = xstrdup(name);
		p->in_step = true;
		statement(p, pl);
		p->in_step = false;
		close_paren(p, open);
		resolve_from(p, q, pl);
	} while (accept(p, ","));
	if (!is(peek(p), "SELECT"))
		FAIL(p, peek(p), "expected SELECT after the WITH steps, found %s", shown(peek(p)));
}

int
saql_compile(const char *text, const char *name, struct saql_query *q, struct err *e)
{
	struct parser p = { .name = name, .e = e };
	volatile int rc = 0;

	if (setjmp(p.fail) == 0) {
		lex(&p, text);
		if (peek(&p)->kind == TK_EOF)
			fail_at(&p, 1, 1, "no statement");
		while (peek(&p)->kind != TK_EOF) {
			struct saql_plan *pl;

			if (is(peek(&p), "WITH")) {
				with_steps(&p, q);
				continue;
			}
			pl = new_plan(q);
			statement(&p, pl);
			for (int k = 0; k < q->n - 1 && pl->into; k++)
				if (q->v[k].into && !q->v[k].step &&
				    strcmp(q->v[k].into, pl->into) == 0)
					fail_at(&p, pl->line, pl->col, "a second statement INTO [%s]",
					    q->v[k].into);
			resolve_from(&p, q, pl);
		}
	} else {
		rc = -1;
	}
	for (int k = 0; k < p.narena; k++)
		free(p.arena[k]);
	for (size_t k = 0; k < sizeof(p.scratch) / sizeof(p.scratch[0]); k++)
		buf_free(&p.scratch[k]);
	free(p.arena);
	free(p.tk);
	return rc;
}

static void
plan_free(struct saql_plan *pl)
{
	free(pl->into);
	free(pl->from);
	free(pl->window_text);
	free(pl->by);
	free(pl->agg);
	free(pl->where);
	free(pl->having);
	free(pl->time);
	free(pl->time_text);
	for (int k = 0; k < pl->ncols; k++) {
		free(pl->cols[k].name);
		free(pl->cols[k].text);
	}
	free(pl->cols);
}

void
saql_free(struct saql_query *q)
{
	for (int k = 0; k < q->n; k++)
		plan_free(&q->v[k]);
	free(q->v);
	q->v = NULL;
	q->n = 0;
}

/* ---- the plan as csa-window options ---- */

/* A duration in the largest unit that says it exactly: 5m, 1h, 1500ms. */
static char *
duration(int64_t ms)
{
	static const struct { int64_t ms; const char *u; } u[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" }
	};
	char s[48];

	for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++)
		if (ms % u[k].ms == 0) {
			snprintf(s, sizeof(s), "%lld%s", (long long)(ms / u[k].ms), u[k].u);
			break;
		}
	return xstrdup(s);
}

/* Append s to the NULL-ended array *v of *n strings. */
static void
push(char ***v, int *n, char *s)
{
	*v = xrealloc(*v, sizeof(**v) * (size_t)(*n + 2));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int
saql_argv(const struct saql_plan *p, char ***argv)
{
	static const char *const flag[] = { NULL, "--tumbling", "--hopping", "--sliding",
		"--session", "--snapshot" };
	char **v = NULL;
	int n = 0;

	push(&v, &n, NULL);
	n = 0;
	if (p->window != SAQL_NONE)
		push(&v, &n, xstrdup(flag[p->window]));
	if (p->window == SAQL_HOPPING || p->window == SAQL_SESSION) {
		char *a = duration(p->size), *b = duration(p->window == SAQL_HOPPING ? p->hop : p->max);
		char *s = xmalloc(strlen(a) + strlen(b) + 2);

		sprintf(s, "%s/%s", a, b);
		push(&v, &n, s);
		free(a);
		free(b);
	} else if (p->window == SAQL_TUMBLING || p->window == SAQL_SLIDING) {
		push(&v, &n, duration(p->size));
	}
	if (p->offset) {
		push(&v, &n, xstrdup("--offset"));
		push(&v, &n, duration(p->offset));
	}
	if (!p->aggregate) {
		/* Per event: csa-window --select, NAME=EXPR columns. */
		struct buf b = { 0 };

		for (int k = 0; k < p->ncols; k++) {
			const struct saql_col *c = &p->cols[k];

			if (k)
				buf_addc(&b, ',');
			if (c->kind == SAQL_COL_TIMESTAMP)
				buf_printf(&b, "%s=System.Timestamp()", c->name);
			else if (strcmp(c->name, c->text) == 0)
				buf_adds(&b, c->text);
			else
				buf_printf(&b, "%s=%s", c->name, c->text);
		}
		push(&v, &n, xstrdup("--select"));
		push(&v, &n, buf_steal(&b));
	}
	if (p->by) {
		push(&v, &n, xstrdup("--by"));
		push(&v, &n, xstrdup(p->by));
	}
	if (p->agg) {
		push(&v, &n, xstrdup("--agg"));
		push(&v, &n, xstrdup(p->agg));
	}
	if (p->where) {
		push(&v, &n, xstrdup("--where"));
		push(&v, &n, xstrdup(p->where));
	}
	if (p->having) {
		push(&v, &n, xstrdup("--having"));
		push(&v, &n, xstrdup(p->having));
	}
	if (p->time) {
		push(&v, &n, xstrdup("--time"));
		push(&v, &n, xstrdup(p->time));
	} else {
		push(&v, &n, xstrdup("--arrival-time"));
	}
	*argv = v;
	return n;
}

/* s quoted for a POSIX shell when it needs to be. */
static void
put_shell(struct buf *b, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-./:=,@%+") == strlen(s)) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	buf_addc(b, '\'');
}

void
saql_explain(const struct saql_plan *p, const char *prog, struct buf *b)
{
	static const char *const kinds[] = { "group", "aggregate", "window_end", "constant",
		"field" };
	static const char *const wnames[] = { "none", "tumbling", "hopping", "sliding",
		"session", "snapshot" };
	char **v;
	int n;

	if (p->step)
		buf_printf(b, "step at %d:%d: WITH %s FROM %s\n", p->line, p->col, p->into,
		    p->from);
	else
		buf_printf(b, "statement at %d:%d: INTO %s FROM %s\n", p->line, p->col,
		    p->into ? p->into : "(none)", p->from);
	if (p->source >= 0)
		buf_printf(b, "  input:   the rows of WITH step [%s], as its command writes them\n",
		    p->from);
	if (p->aggregate)
		buf_printf(b, "  window:  %s (%s)\n", wnames[p->window], p->window_text);
	else
		buf_adds(b, "  window:  none: each matching event is a row\n");
	buf_printf(b, "  time:    %s", p->time ? p->time : "the arrival time (no TIMESTAMP BY)");
	if (p->source >= 0)
		buf_adds(b, " (the step's System.Timestamp())");
	if (p->time_text)
		buf_printf(b, " (TIMESTAMP BY %s)", p->time_text);
	buf_printf(b, "\n  where:   %s\n", p->where ? p->where : "-");
	if (p->aggregate) {
		buf_printf(b, "  groups:  %s\n", p->by ? p->by : "-");
		buf_printf(b, "  aggs:    %s\n", p->agg ? p->agg : "count=count (none selected)");
		buf_printf(b, "  having:  %s\n", p->having ? p->having : "-");
	}
	buf_adds(b, "  columns:");
	for (int k = 0; k < p->ncols; k++)
		buf_printf(b, " %s(%s)", p->cols[k].name, kinds[p->cols[k].kind]);
	buf_addc(b, '\n');
	buf_printf(b, "  command: %s", prog);
	n = saql_argv(p, &v);
	for (int k = 0; k < n; k++) {
		buf_addc(b, ' ');
		put_shell(b, v[k]);
		free(v[k]);
	}
	free(v);
	buf_addc(b, '\n');
}
