/* agg.c: aggregate functions, their mergeable state, and its JSON form. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agg.h"
#include "hll.h"
#include "tdigest.h"

static const char *const fn_names[] = {
	[AGG_COUNT] = "count", [AGG_SUM] = "sum", [AGG_AVG] = "avg", [AGG_MIN] = "min",
	[AGG_MAX] = "max", [AGG_STDDEV] = "stddev", [AGG_COUNT_IF] = "count_if",
	[AGG_COUNT_DISTINCT] = "count_distinct", [AGG_PERCENTILE] = "percentile",
	[AGG_MEDIAN] = "median",
};

/* Whether fn keeps a sketch in its state. */
static bool
sketched(enum agg_fn fn)
{
	return fn == AGG_COUNT_DISTINCT || fn == AGG_PERCENTILE || fn == AGG_MEDIAN;
}

static const char *const op_names[] = {
	[OP_GE] = ">=", [OP_GT] = ">", [OP_LE] = "<=", [OP_LT] = "<", [OP_EQ] = "==", [OP_NE] = "!=",
};

int
agg_split(const char *text, char ***parts)
{
	int n = 0, depth = 0;
	char quote = 0;
	const char *start = text;

	*parts = NULL;
	for (const char *p = text;; p++) {
		if (*p == '\0' || (*p == ',' && depth == 0 && !quote)) {
			*parts = xrealloc(*parts, sizeof(**parts) * (size_t)(n + 1));
			(*parts)[n++] = xstrndup(start, (size_t)(p - start));
			if (*p == '\0')
				break;
			start = p + 1;
			continue;
		}
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '(' || *p == '[' || *p == '{') {
			depth++;
		} else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0) {
			depth--;
		}
	}
	return n;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The comparison operator at the top level of s: its place and kind. */
static const char *
find_op(const char *s, enum agg_op *op)
{
	char quote = 0;
	int depth = 0;

	for (const char *p = s; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
			continue;
		}
		if (*p == '"' || *p == '\'') {
			quote = *p;
			continue;
		}
		if (*p == '(' || *p == '[')
			depth++;
		if ((*p == ')' || *p == ']') && depth > 0)
			depth--;
		if (depth)
			continue;
		for (int k = 0; k < 6; k++) {
			size_t len = strlen(op_names[k]);

			/* Two-character operators first: ">=" before ">". */
			if (len == 2 && strncmp(p, op_names[k], 2) == 0) {
				*op = (enum agg_op)k;
				return p;
			}
		}
		if (*p == '>' || *p == '<') {
			*op = *p == '>' ? OP_GT : OP_LT;
			return p;
		}
	}
	return NULL;
}

/* "F OP VALUE" into the spec's count_if parts. */
static int
parse_condition(struct agg_spec *s, char *cond, const char *what, struct err *e)
{
	enum agg_op op;
	const char *at = find_op(cond, &op);
	char *lhs, *rhs, *end;

	if (at == NULL)
		return err_set(e, ERR_USAGE, "%s: count_if needs FIELD OP VALUE with OP one of "
		    ">= > <= < == !=", what);
	lhs = xstrndup(cond, (size_t)(at - cond));
	rhs = trim((char *)at + strlen(op_names[op]));
	s->op = op;
	s->arg_text = xstrdup(trim(lhs));
	free(lhs);
	if (*s->arg_text == '\0' || *rhs == '\0')
		return err_set(e, ERR_USAGE, "%s: count_if needs FIELD OP VALUE", what);
	s->rhs_num = strtod(rhs, &end);
	if (end != rhs && *end == '\0') {
		s->rhs_is_num = true;
	} else {
		size_t n = strlen(rhs);

		if (n >= 2 && (rhs[0] == '"' || rhs[0] == '\'') && rhs[n - 1] == rhs[0])
			s->rhs_str = xstrndup(rhs + 1, n - 2);
		else
			s->rhs_str = xstrdup(rhs);
		if (op != OP_EQ && op != OP_NE)
			return err_set(e, ERR_USAGE, "%s: a string compares only with == or !=", what);
	}
	return 0;
}

/* "F, P" of percentile: the field, and P a fraction of [0, 1]. */
static int
parse_fraction(struct agg_spec *s, const char *arg, struct err *e)
{
	char **parts, *end, *p;
	int n = agg_split(arg, &parts), rc = 0;

	if (n != 2 || *trim(parts[0]) == '\0') {
		rc = err_set(e, ERR_USAGE, "aggregate '%s': write percentile(FIELD, P), e.g. "
		    "p95=percentile(magnitude, 0.95)", s->name);
	} else {
		p = trim(parts[1]);
		s->rhs_num = strtod(p, &end);
		s->rhs_is_num = true;
		if (end == p || *end != '\0' || !(s->rhs_num >= 0 && s->rhs_num <= 1))
			rc = err_set(e, ERR_USAGE, "aggregate '%s': P is a fraction from 0 to 1, "
			    "not '%s'", s->name, p);
		s->arg_text = xstrdup(trim(parts[0]));
	}
	for (int i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
	return rc;
}

static int
parse_one(struct agg_spec *s, char *text, struct err *e)
{
	char *eq = strchr(text, '='), *fn, *open, *close, *arg;
	int k;

	memset(s, 0, sizeof(*s));
	if (eq == NULL || eq == text)
		return err_set(e, ERR_USAGE, "aggregate '%s': write NAME=FUNC(FIELD), e.g. "
		    "avg_magnitude=avg(magnitude)", text);
	*eq = '\0';
	s->name = xstrdup(trim(text));
	fn = trim(eq + 1);
	open = strchr(fn, '(');
	if (open) {
		close = fn + strlen(fn) - 1;
		if (*close != ')')
			return err_set(e, ERR_USAGE, "aggregate '%s': missing ')'", s->name);
		*close = '\0';
		*open = '\0';
		arg = trim(open + 1);
	} else {
		arg = NULL;
	}
	fn = trim(fn);
	for (k = 0; k < AGG_NFN; k++)
		if (strcmp(fn, fn_names[k]) == 0)
			break;
	if (k == AGG_NFN)
		return err_set(e, ERR_USAGE, "aggregate '%s': unknown function '%s' (count, sum, "
		    "avg, min, max, stddev, count_if, count_distinct, percentile, median)",
		    s->name, fn);
	s->fn = (enum agg_fn)k;
	if (s->fn == AGG_COUNT) {
		if (arg && *arg)
			return err_set(e, ERR_USAGE, "aggregate '%s': count takes no argument", s->name);
		return 0;
	}
	if (arg == NULL || *arg == '\0')
		return err_set(e, ERR_USAGE, "aggregate '%s': %s needs a field", s->name, fn);
	if (s->fn == AGG_COUNT_IF) {
		if (parse_condition(s, arg, s->name, e) < 0)
			return -1;
	} else if (s->fn == AGG_PERCENTILE) {
		if (parse_fraction(s, arg, e) < 0)
			return -1;
	} else {
		s->arg_text = xstrdup(arg);
	}
	s->arg = expr_compile(s->arg_text, e);
	if (s->arg == NULL) {
		err_prefix(e, "aggregate '%s'", s->name);
		return -1;
	}
	return 0;
}

static void assign_slots(struct agg_list *l);

/* The constant parts of a row for this aggregate, rendered once. */
static void
render(struct agg_spec *s)
{
	struct buf b = { 0 };

	json_key_str(&b, s->name, strlen(s->name));
	s->key_json = buf_steal(&b);
	buf_adds(&b, s->key_json);
	buf_addc(&b, '{');
	json_key(&b, "f");
	json_put_str(&b, fn_names[s->fn], strlen(fn_names[s->fn]));
	if (s->arg_text) {
		json_key(&b, "x");
		json_put_str(&b, s->arg_text, strlen(s->arg_text));
	}
	if (s->fn == AGG_COUNT_IF) {
		json_key(&b, "op");
		json_put_str(&b, op_names[s->op], strlen(op_names[s->op]));
	}
	if (s->fn == AGG_COUNT_IF || s->fn == AGG_PERCENTILE) {
		json_key(&b, "v");
		if (s->rhs_is_num)
			json_put_num(&b, s->rhs_num);
		else
			json_put_str(&b, s->rhs_str, strlen(s->rhs_str));
	}
	json_key(&b, "n");
	s->state_json = buf_steal(&b);
}

int
agg_parse(struct agg_list *l, const char *text, struct err *e)
{
	char **parts;
	int n = agg_split(text, &parts), rc = 0;

	for (int i = 0; i < n; i++) {
		if (rc == 0) {
			l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)(l->n + 1));
			rc = parse_one(&l->v[l->n], parts[i], e);
			if (rc == 0)
				render(&l->v[l->n]);
			l->n++;
			assign_slots(l);
			for (int j = 0; rc == 0 && j < l->n - 1; j++)
				if (strcmp(l->v[j].name, l->v[l->n - 1].name) == 0)
					rc = err_set(e, ERR_USAGE, "aggregate '%s' is named twice",
					    l->v[j].name);
		}
		free(parts[i]);
	}
	free(parts);
	return rc;
}

void
agg_list_free(struct agg_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].arg_text);
		free(l->v[i].rhs_str);
		free(l->v[i].key_json);
		free(l->v[i].state_json);
		expr_free(l->v[i].arg);
	}
	free(l->v);
	free(l->slot);
	l->v = NULL;
	l->slot = NULL;
	l->n = 0;
}

bool
agg_compare(double lhs, enum agg_op op, double rhs)
{
	switch (op) {
	case OP_GE: return lhs >= rhs;
	case OP_GT: return lhs > rhs;
	case OP_LE: return lhs <= rhs;
	case OP_LT: return lhs < rhs;
	case OP_EQ: return lhs == rhs;
	case OP_NE: return lhs != rhs;
	}
	return false;
}

static void
take(struct agg_state *st, double x)
{
	double delta;

	if (st->n == 0 || x < st->min)
		st->min = x;
	if (st->n == 0 || x > st->max)
		st->max = x;
	st->n++;
	st->sum += x;
	/* Welford: a running mean and sum of squared deviations. */
	delta = x - st->mean;
	st->mean += delta / (double)st->n;
	st->m2 += delta * (x - st->mean);
}

/* The hash of a value for count_distinct: its kind, then a number's
 * IEEE bits (one for 1 and 1.0, and -0 is 0), a string's UTF-8, an
 * array's or object's compact JSON. */
static uint64_t
value_hash(const struct expr_val *v)
{
	unsigned char bits[8];
	uint64_t x;
	double d = v->num == 0 ? 0 : v->num;

	switch (v->type) {
	case EXPR_NUMBER:
		memcpy(&x, &d, sizeof(x));
		for (int i = 0; i < 8; i++)
			bits[i] = (unsigned char)(x >> (8 * i));
		return hll_hash('n', bits, sizeof(bits));
	case EXPR_TRUE:
		return hll_hash('t', "", 0);
	case EXPR_FALSE:
		return hll_hash('f', "", 0);
	case EXPR_STRING:
		return hll_hash('s', v->str, v->len);
	default:
		return hll_hash('o', v->str, v->len);
	}
}

/* Take v into a sketch: any value but null for count_distinct, a
 * number for the quantiles. */
static void
add_sketched(const struct agg_spec *s, struct agg_state *st, const struct expr_val *v)
{
	if (s->fn == AGG_COUNT_DISTINCT) {
		if (v->type == EXPR_NULL) {
			st->skipped++;
			return;
		}
		if (st->hll == NULL)
			st->hll = hll_new();
		hll_add(st->hll, value_hash(v));
		st->n++;
		return;
	}
	if (v->type != EXPR_NUMBER || !isfinite(v->num)) {
		st->skipped++;
		return;
	}
	if (st->td == NULL)
		st->td = td_new();
	td_add(st->td, v->num);
	st->n++;
}

/* Take the argument's value v into st. */
static void
add_value(const struct agg_spec *s, struct agg_state *st, const struct expr_val *vp)
{
	const struct expr_val v = *vp;

	if (sketched(s->fn)) {
		add_sketched(s, st, vp);
		return;
	}
	if (s->fn == AGG_COUNT_IF) {
		bool hit;

		if (s->rhs_is_num)
			hit = v.type == EXPR_NUMBER && agg_compare(v.num, s->op, s->rhs_num);
		else {
			bool same = v.type == EXPR_STRING && strlen(s->rhs_str) == v.len &&
			    memcmp(s->rhs_str, v.str, v.len) == 0;

			hit = s->op == OP_EQ ? same : !same;
		}
		st->n += hit;
		return;
	}
	if (v.type != EXPR_NUMBER || !isfinite(v.num)) {
		st->skipped++;
		return;
	}
	take(st, v.num);
}

/* Which spec evaluates each argument: the first one with the same text. */
static void
assign_slots(struct agg_list *l)
{
	free(l->slot);
	l->slot = xcalloc((size_t)l->n + 1, sizeof(*l->slot));
	for (int i = 0; i < l->n; i++) {
		l->slot[i] = i;
		for (int j = 0; j < i; j++)
			if (l->v[i].arg && l->v[j].arg &&
			    strcmp(l->v[i].arg_text, l->v[j].arg_text) == 0) {
				l->slot[i] = j;
				break;
			}
	}
}

int
agg_add_all(const struct agg_list *l, struct agg_state *st, struct expr_val *vals,
    const struct json_doc *d, const char *line, size_t len, struct err *e)
{
	int rc = 0;

	for (int i = 0; i < l->n; i++) {
		const struct agg_spec *s = &l->v[i];

		if (s->fn == AGG_COUNT) {
			st[i].n++;
			continue;
		}
		/* A string value borrows the expression's memory: a shared
		 * argument's string stays valid, since its expression is not run
		 * again for this event. */
		if (l->slot[i] == i && expr_eval(s->arg, d, line, len, &vals[i], e) < 0) {
			vals[i].type = EXPR_NULL;
			rc = -1;
		}
		add_value(s, &st[i], &vals[l->slot[i]]);
	}
	return rc;
}

void
agg_add_values(const struct agg_list *l, struct agg_state *st, const struct expr_val *vals)
{
	for (int i = 0; i < l->n; i++) {
		if (l->v[i].fn == AGG_COUNT)
			st[i].n++;
		else
			add_value(&l->v[i], &st[i], &vals[l->slot[i]]);
	}
}

void
agg_states_free(struct agg_state *st, int n)
{
	if (st == NULL || n <= 0)
		return;
	for (int i = 0; i < n; i++)
		if (st[i].hll || st[i].td) {
			hll_free(st[i].hll);
			td_free(st[i].td);
		}
	memset(st, 0, sizeof(*st) * (size_t)n);
}

void
agg_states_copy(struct agg_state *dst, const struct agg_state *src, int n)
{
	agg_states_free(dst, n);
	if (n <= 0)
		return;
	/* The sliding window copies states per event: bytes, then sketches. */
	memcpy(dst, src, sizeof(*dst) * (size_t)n);
	for (int i = 0; i < n; i++) {
		if (src[i].hll)
			dst[i].hll = hll_copy(src[i].hll);
		if (src[i].td)
			dst[i].td = td_copy(src[i].td);
	}
}

bool
agg_has_sketch(const struct agg_list *l)
{
	for (int i = 0; i < l->n; i++)
		if (sketched(l->v[i].fn))
			return true;
	return false;
}

void
agg_merge(const struct agg_spec *s, struct agg_state *into, const struct agg_state *from)
{
	int64_t n;
	double delta;

	if (sketched(s->fn)) {
		into->n += from->n;
		into->skipped += from->skipped;
		if (from->hll && into->hll)
			hll_merge(into->hll, from->hll);
		else if (from->hll)
			into->hll = hll_copy(from->hll);
		if (from->td && into->td)
			td_merge(into->td, from->td);
		else if (from->td)
			into->td = td_copy(from->td);
		return;
	}
	if (s->fn == AGG_COUNT || s->fn == AGG_COUNT_IF) {
		into->n += from->n;
		into->skipped += from->skipped;
		return;
	}
	if (from->n == 0) {
		into->skipped += from->skipped;
		return;
	}
	if (into->n == 0) {
		int64_t skipped = into->skipped;

		*into = *from;
		into->skipped += skipped;
		return;
	}
	/* Chan et al.: combine two (n, mean, m2) exactly. */
	n = into->n + from->n;
	delta = from->mean - into->mean;
	into->m2 += from->m2 + delta * delta * (double)into->n * (double)from->n / (double)n;
	into->mean += delta * (double)from->n / (double)n;
	into->sum += from->sum;
	into->min = from->min < into->min ? from->min : into->min;
	into->max = from->max > into->max ? from->max : into->max;
	into->n = n;
	into->skipped += from->skipped;
}

double
agg_value(const struct agg_spec *s, const struct agg_state *st, bool *isnull)
{
	*isnull = false;
	switch (s->fn) {
	case AGG_COUNT:
	case AGG_COUNT_IF:
		return (double)st->n;
	case AGG_SUM:
		return st->sum;
	case AGG_AVG:
		*isnull = st->n == 0;
		return st->n ? st->sum / (double)st->n : 0;
	case AGG_MIN:
		*isnull = st->n == 0;
		return st->min;
	case AGG_MAX:
		*isnull = st->n == 0;
		return st->max;
	case AGG_STDDEV:
		*isnull = st->n < 2;
		return st->n >= 2 ? sqrt(st->m2 / (double)(st->n - 1)) : 0;
	case AGG_COUNT_DISTINCT:
		return st->hll ? (double)hll_count(st->hll) : 0;
	case AGG_PERCENTILE:
	case AGG_MEDIAN:
		*isnull = st->td == NULL || st->n == 0;
		return *isnull ? 0 : td_quantile(st->td, s->fn == AGG_MEDIAN ? 0.5 : s->rhs_num);
	case AGG_NFN:
		break;
	}
	*isnull = true;
	return 0;
}

void
agg_put_values(struct buf *b, const struct agg_list *l, const struct agg_state *st)
{
	for (int i = 0; i < l->n; i++) {
		bool isnull;
		double v = agg_value(&l->v[i], &st[i], &isnull);

		json_sep(b);
		buf_adds(b, l->v[i].key_json);
		if (isnull)
			json_put_null(b);
		else if (l->v[i].fn == AGG_COUNT || l->v[i].fn == AGG_COUNT_IF)
			json_put_int(b, st[i].n);
		else if (l->v[i].fn == AGG_COUNT_DISTINCT)
			json_put_int(b, (int64_t)v);
		else
			json_put_num(b, v);
	}
}

void
agg_put_state(struct buf *b, const struct agg_list *l, const struct agg_state *st)
{
	json_key(b, "_state");
	agg_put_states(b, l, st);
}

/* "sketch":"BASE64" of the state's binary sketch. */
static void
put_sketch(struct buf *b, const struct agg_state *st)
{
	struct buf bin = { 0 };
	size_t need;

	if (st->hll)
		hll_encode(st->hll, &bin);
	else if (st->td)
		td_encode(st->td, &bin);
	else
		return;
	json_key(b, "sketch");
	need = (bin.len + 2) / 3 * 4;
	buf_addc(b, '"');
	buf_reserve(b, need + 1);
	EVP_EncodeBlock((unsigned char *)b->p + b->len, (const unsigned char *)bin.p,
	    (int)bin.len);
	b->len += need;
	buf_addc(b, '"');
	buf_free(&bin);
}

/*
 * The sketch of s from its base64 text p[0..len) into st, whose n is
 * read: ERR_DATA when the text is not base64 (strictly: no spaces, '='
 * only as padding), the bytes not a sketch, or a digest's weight not n.
 */
static int
get_sketch(const struct agg_spec *s, struct agg_state *st, const char *p, size_t len,
    struct err *e)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	size_t pad = 0, n;
	unsigned char *bin;
	int got;

	if (len == 0 || len % 4 != 0 || len > 1 << 24)
		return err_set(e, ERR_DATA, "_state.%s: \"sketch\" is not base64", s->name);
	pad = (p[len - 1] == '=') + (p[len - 2] == '=');
	for (size_t i = 0; i < len - pad; i++)
		if (p[i] == '\0' || strchr(alphabet, p[i]) == NULL)
			return err_set(e, ERR_DATA, "_state.%s: \"sketch\" is not base64", s->name);
	bin = xmalloc(len / 4 * 3 + 1);
	got = EVP_DecodeBlock(bin, (const unsigned char *)p, (int)len);
	n = got < 0 ? 0 : (size_t)got - pad;
	if (s->fn == AGG_COUNT_DISTINCT)
		st->hll = got < 0 ? NULL : hll_decode(bin, n, e);
	else
		st->td = got < 0 ? NULL : td_decode(bin, n, e);
	free(bin);
	if (got < 0)
		return err_set(e, ERR_DATA, "_state.%s: \"sketch\" is not base64", s->name);
	if (st->hll == NULL && st->td == NULL) {
		err_prefix(e, "_state.%s", s->name);
		return -1;
	}
	if (st->td && td_count(st->td) != st->n)
		return err_set(e, ERR_DATA, "_state.%s: the sketch holds %lld values, \"n\" "
		    "says %lld", s->name, (long long)td_count(st->td), (long long)st->n);
	if (st->hll && hll_count(st->hll) > st->n && st->n < HLL_EXACT)
		return err_set(e, ERR_DATA, "_state.%s: the sketch holds %lld distinct values, "
		    "\"n\" says %lld", s->name, (long long)hll_count(st->hll), (long long)st->n);
	return 0;
}

void
agg_put_states(struct buf *b, const struct agg_list *l, const struct agg_state *st)
{
	json_sep(b);
	buf_addc(b, '{');
	for (int i = 0; i < l->n; i++) {
		const struct agg_spec *s = &l->v[i];

		json_sep(b);
		buf_adds(b, s->state_json);
		json_put_int(b, st[i].n);
		if (st[i].skipped) {
			json_key(b, "skipped");
			json_put_int(b, st[i].skipped);
		}
		/* Only what merging this function needs. */
		if (st[i].n > 0 && (s->fn == AGG_SUM || s->fn == AGG_AVG)) {
			json_key(b, "sum");
			json_put_num(b, st[i].sum);
		}
		if (st[i].n > 0 && s->fn == AGG_MIN) {
			json_key(b, "min");
			json_put_num(b, st[i].min);
		}
		if (st[i].n > 0 && s->fn == AGG_MAX) {
			json_key(b, "max");
			json_put_num(b, st[i].max);
		}
		if (st[i].n > 0 && s->fn == AGG_STDDEV) {
			json_key(b, "mean");
			json_put_num(b, st[i].mean);
			json_key(b, "m2");
			json_put_num(b, st[i].m2);
		}
		if (st[i].n > 0 && sketched(s->fn))
			put_sketch(b, &st[i]);
		buf_addc(b, '}');
	}
	buf_addc(b, '}');
}

/* What a state's members are to agg_state_read and agg_state_take. */
enum { MEMBER_N, MEMBER_SKIPPED, MEMBER_VALUE, MEMBER_M2, NMEMBERS, MEMBER_OTHER = -1 };

/* The member that holds a function's value besides n: NULL for counts. */
static const char *
value_member(enum agg_fn fn)
{
	static const char *const name[] = {
		[AGG_SUM] = "sum", [AGG_AVG] = "sum", [AGG_MIN] = "min", [AGG_MAX] = "max",
		[AGG_STDDEV] = "mean", [AGG_COUNT_DISTINCT] = "sketch", [AGG_PERCENTILE] = "sketch",
		[AGG_MEDIAN] = "sketch",
	};

	return (size_t)fn < sizeof(name) / sizeof(name[0]) ? name[fn] : NULL;
}

static int
member_of(const char *k, size_t klen, const char *want, size_t wlen)
{
	if (klen == 1 && *k == 'n')
		return MEMBER_N;
	if (klen == 7 && memcmp(k, "skipped", 7) == 0)
		return MEMBER_SKIPPED;
	if (want && klen == wlen && memcmp(k, want, wlen) == 0)
		return MEMBER_VALUE;
	if (klen == 2 && memcmp(k, "m2", 2) == 0)
		return MEMBER_M2;
	return MEMBER_OTHER;
}

/* The value x (and m2) into what merging and the value of s use. */
static void
set_value(const struct agg_spec *s, struct agg_state *st, double x, double m2)
{
	switch (s->fn) {
	case AGG_SUM:
	case AGG_AVG:
		st->sum = x;
		break;
	case AGG_MIN:
		st->min = x;
		break;
	case AGG_MAX:
		st->max = x;
		break;
	case AGG_STDDEV:
		st->mean = x;
		st->m2 = m2;
		break;
	default:
		break;
	}
}

/* An integer of up to 18 digits, which json_int64 reads exactly too. */
static bool
plain_count(const struct json_fast_item *x)
{
	return x && x->integer && x->i > -1000000000000000000 && x->i < 1000000000000000000;
}

int
agg_state_take(const struct agg_spec *s, const struct json_fast_item *it, int t,
    struct agg_state *st)
{
	const char *want = value_member(s->fn);
	size_t wlen = want ? strlen(want) : 0;
	const struct json_fast_item *m[NMEMBERS] = { NULL };
	const struct json_fast_item *value, *m2;

	/* The first member of a name counts, as in agg_state_read. */
	for (int i = t + 1; i < it[t].end; i = it[i].end) {
		int k = member_of(it[i].key, it[i].klen, want, wlen);

		if (k != MEMBER_OTHER && m[k] == NULL)
			m[k] = &it[i];
	}
	agg_states_free(st, 1);
	if (!plain_count(m[MEMBER_N]) || m[MEMBER_N]->i < 0 ||
	    (m[MEMBER_SKIPPED] && !plain_count(m[MEMBER_SKIPPED])))
		return -1;
	st->n = m[MEMBER_N]->i;
	st->skipped = m[MEMBER_SKIPPED] ? m[MEMBER_SKIPPED]->i : 0;
	if (s->fn == AGG_COUNT || s->fn == AGG_COUNT_IF || st->n == 0)
		return 0;
	value = m[MEMBER_VALUE];
	m2 = m[MEMBER_M2];
	if (sketched(s->fn)) {
		struct err e;

		return value && value->v.type == JSON_FAST_STRING &&
		    get_sketch(s, st, value->v.str, value->v.len, &e) == 0 ? 0 : -1;
	}
	if (value == NULL || value->v.type != JSON_FAST_NUMBER || (s->fn == AGG_STDDEV &&
	    (m2 == NULL || m2->v.type != JSON_FAST_NUMBER)))
		return -1;
	set_value(s, st, value->v.num, m2 ? m2->v.num : 0);
	return 0;
}

int
agg_column(const struct agg_list *l, const struct agg_state *st, const char *name,
    double *out, bool *isnull)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0) {
			*out = agg_value(&l->v[i], &st[i], isnull);
			return 0;
		}
	return -1;
}

int
agg_having_parse(const char *text, struct agg_having *h, struct err *e)
{
	char *copy = xstrdup(text), *rhs, *end;
	const char *at = find_op(copy, &h->op);

	if (at == NULL) {
		free(copy);
		return err_set(e, ERR_USAGE, "--having '%s': write COLUMN OP NUMBER, e.g. "
		    "event_count>3", text);
	}
	h->column = xstrndup(copy, (size_t)(at - copy));
	{
		char *t = trim(h->column);

		memmove(h->column, t, strlen(t) + 1);
	}
	rhs = trim((char *)at + strlen(op_names[h->op]));
	h->value = strtod(rhs, &end);
	if (end == rhs || *end != '\0' || *h->column == '\0') {
		free(copy);
		free(h->column);
		h->column = NULL;
		return err_set(e, ERR_USAGE, "--having '%s': write COLUMN OP NUMBER", text);
	}
	free(copy);
	return 0;
}

/* The index of name in a list of n names, or -1. */
static int
name_index(const char *const *names, int n, const struct json_doc *d, int t)
{
	for (int k = 0; k < n; k++)
		if (json_string_eq(d, t, names[k]))
			return k;
	return -1;
}

/* One member of a "_state" object: NAME and {"f":..,"x":..,"op":..,"v":..}. */
static int
state_spec(struct agg_spec *s, const struct json_doc *d, int key, struct err *e)
{
	int obj = key + 1, f, x, op, v, k;

	memset(s, 0, sizeof(*s));
	s->name = json_strdup(d, key);
	if (json_type(d, obj) != JSON_OBJECT)
		return err_set(e, ERR_DATA, "_state.%s is not an object", s->name);
	f = json_member(d, obj, "f", 1);
	if ((k = name_index(fn_names, AGG_NFN, d, f)) < 0)
		return err_set(e, ERR_DATA, "_state.%s: no known function in \"f\"", s->name);
	s->fn = (enum agg_fn)k;
	x = json_member(d, obj, "x", 1);
	if (s->fn != AGG_COUNT && (s->arg_text = json_strdup(d, x)) == NULL)
		return err_set(e, ERR_DATA, "_state.%s: no field in \"x\"", s->name);
	if (s->fn == AGG_COUNT_IF) {
		op = json_member(d, obj, "op", 2);
		v = json_member(d, obj, "v", 1);
		if ((k = name_index(op_names, 6, d, op)) < 0)
			return err_set(e, ERR_DATA, "_state.%s: no operator in \"op\"", s->name);
		s->op = (enum agg_op)k;
		if (json_number(d, v, &s->rhs_num) == 0)
			s->rhs_is_num = true;
		else if ((s->rhs_str = json_strdup(d, v)) == NULL)
			return err_set(e, ERR_DATA, "_state.%s: no value in \"v\"", s->name);
	}
	if (s->fn == AGG_PERCENTILE) {
		v = json_member(d, obj, "v", 1);
		if (json_number(d, v, &s->rhs_num) < 0 || !(s->rhs_num >= 0 && s->rhs_num <= 1))
			return err_set(e, ERR_DATA, "_state.%s: no fraction from 0 to 1 in \"v\"",
			    s->name);
		s->rhs_is_num = true;
	}
	return 0;
}

int
agg_state_specs(struct agg_list *l, const struct json_doc *d, int t, struct err *e)
{
	int n = json_size(d, t), key = t + 1;

	if (json_type(d, t) != JSON_OBJECT)
		return err_set(e, ERR_DATA, "_state is not an object");
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)(l->n + 1));
		if (state_spec(&l->v[l->n], d, key, e) < 0) {
			l->n++;
			return -1;
		}
		render(&l->v[l->n]);
		l->n++;
	}
	assign_slots(l);
	return 0;
}

int
agg_state_read(const struct agg_spec *s, const struct json_doc *d, int t,
    struct agg_state *st, struct err *e)
{
	const char *want = value_member(s->fn);
	size_t wlen = want ? strlen(want) : 0;
	int n = json_size(d, t), key = t + 1, m[NMEMBERS] = { -1, -1, -1, -1 };
	double x = 0, m2 = 0;

	/* One pass over the members; the first of a name counts, as for
	 * json_member (a row's state is read a million times a run). */
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		size_t klen;
		const char *k = json_raw(d, key, &klen);
		int which = member_of(k, klen, want, wlen);

		if (which != MEMBER_OTHER && m[which] < 0)
			m[which] = key + 1;
	}
	agg_states_free(st, 1);
	if (json_int64(d, m[MEMBER_N], &st->n) < 0 || st->n < 0)
		return err_set(e, ERR_DATA, "_state.%s: no count \"n\"", s->name);
	if (m[MEMBER_SKIPPED] >= 0 && json_int64(d, m[MEMBER_SKIPPED], &st->skipped) < 0)
		return err_set(e, ERR_DATA, "_state.%s: \"skipped\" is not a count", s->name);
	if (s->fn == AGG_COUNT || s->fn == AGG_COUNT_IF || st->n == 0)
		return 0;
	if (sketched(s->fn)) {
		size_t len;
		const char *p = json_type(d, m[MEMBER_VALUE]) == JSON_STRING ?
		    json_raw(d, m[MEMBER_VALUE], &len) : NULL;

		if (p == NULL)
			return err_set(e, ERR_DATA, "_state.%s: no \"sketch\"", s->name);
		return get_sketch(s, st, p, len, e);
	}
	if (json_number(d, m[MEMBER_VALUE], &x) < 0)
		return err_set(e, ERR_DATA, "_state.%s: no \"%s\"", s->name, want);
	if (s->fn == AGG_STDDEV && json_number(d, m[MEMBER_M2], &m2) < 0)
		return err_set(e, ERR_DATA, "_state.%s: no \"m2\"", s->name);
	set_value(s, st, x, m2);
	return 0;
}

int
agg_get_states(const struct agg_list *l, const struct json_doc *d, int t,
    struct agg_state *st, struct err *e)
{
	int key = t + 1;

	if (json_type(d, t) != JSON_OBJECT || json_size(d, t) != l->n)
		return err_set(e, ERR_DATA, "not the states of %d aggregates", l->n);
	for (int i = 0; i < l->n; i++, key = json_skip(d, key + 1)) {
		if (!json_string_eq(d, key, l->v[i].name))
			return err_set(e, ERR_DATA, "_state: '%s' where '%s' was expected",
			    json_raw(d, key, &(size_t){ 0 }), l->v[i].name);
		if (agg_state_read(&l->v[i], d, key + 1, &st[i], e) < 0)
			return -1;
	}
	return 0;
}
