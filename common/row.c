/* row.c: the view row: its one writer and its one reader. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "row.h"
#include "timefmt.h"

static void
put_time(struct buf *b, const char *key, int64_t ms)
{
	char t[32];

	json_key(b, key);
	json_put_str(b, t, tfmt_format(ms, t));
}

void
row_hex_put(uint64_t x, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)x);
}

uint64_t
row_line_hash(const char *line, size_t len)
{
	return XXH3_64bits(line, len);
}

void
row_put(struct buf *b, const struct row *r)
{
	char id[17];
	size_t at;

	buf_addc(b, '{');
	if (r->view) {
		json_key(b, "view");
		json_put_str(b, r->view, strlen(r->view));
	}
	at = b->len;
	if (r->type) {
		json_key(b, "window_type");
		json_put_str(b, r->type, strlen(r->type));
	}
	put_time(b, "window_start", r->start);
	put_time(b, "window_end", r->end);
	if (r->early) {
		json_key(b, "early");
		json_put_bool(b, true);
	}
	if (r->cols_len) {
		json_sep(b);
		buf_add(b, r->cols, r->cols_len);
	}
	/*
	 * The row's identity: its window and group as written, with the sum
	 * of the hashes of the lines it holds, so that the same events give
	 * the same _id in any order and on any run, and a part of them
	 * (another partition's share, or the rest after a handoff) another.
	 */
	if (r->have_digest) {
		const char *h = b->p + at;
		size_t n = b->len - at;

		if (n > 0 && *h == ',') {	/* after a view: the same _id as without */
			h++;
			n--;
		}
		row_hex_put(XXH3_64bits_withSeed(h, n, r->digest), id);
	}
	agg_put_values(b, r->aggs, r->st);
	if (r->markers) {
		json_sep(b);
		buf_adds(b, r->markers);
	}
	if (r->have_digest) {
		json_key(b, "_id");
		json_put_str(b, id, 16);
	}
	if (!r->no_state)
		agg_put_state(b, r->aggs, r->st);
	buf_adds(b, "}\n");
}

/* ---- reading ---------------------------------------------------------- */

enum { MAX_KINDS = 64 };

/* The members of a row that say what it is, by their names. */
enum { ROLE_NONE, ROLE_VIEW, ROLE_EARLY, ROLE_STATE, ROLE_END, ROLE_TYPE, ROLE_START, ROLE_ID,
	ROLE_INTO, NROLES };

/* A member's kind, remembered by its place. */
enum { COL_GROUP, COL_SKIP, COL_KEEP };

/* The members of a state that define its aggregate. */
enum { NDEFS = 4 };
static const struct {
	const char *name;
	size_t len;
} defs[NDEFS] = { { "f", 1 }, { "x", 1 }, { "op", 2 }, { "v", 1 } };

/* A member of an aggregate's state definition as the first row has it:
 * JSON_FAST_MISSING, _STRING (text as written) or _NUMBER. */
struct expect {
	enum json_fast_type type;
	char *text;
	size_t len;
	double num;
};

struct row_reader {
	char *const *keep;	/* the group columns kept apart; NULL: all */
	int nkeep;
	const char *want_view;	/* rows of other views are left out; NULL: none */
	struct json_fast *fast;	/* simdjson, for rows like the first; NULL: jsmn only */
	long fast_rows;
	/* What the first row set. */
	struct agg_list aggs;	/* as its _state describes them */
	struct buf sig;		/* its aggregate definitions, as readable text */
	struct buf gcols;	/* its group column names, comma-separated */
	char *first;		/* its place, file:line */
	char *view;		/* the view its rows name, if any */
	char *into;		/* the csa-window statement its rows name, if any */
	/* The kinds of the first row's members, by place. */
	char *kname[MAX_KINDS];
	size_t klen[MAX_KINDS];
	int kind[MAX_KINDS], nkinds;
	/* For rows read by simdjson: the role of each place, and the
	 * definitions each aggregate's state must repeat. */
	bool fast_ok;
	int role[MAX_KINDS];
	struct expect *expect;	/* NDEFS an aggregate: f, x, op, v */
	/* Scratch, and what row_read hands out. */
	struct json_doc doc;
	struct buf cols, bcols, names, rsig;
	struct agg_state *st;
};

struct row_reader *
row_reader_new(char *const *keep, int nkeep, const char *want_view, bool fast)
{
	struct row_reader *rr = xcalloc(1, sizeof(*rr));

	rr->keep = keep;
	rr->nkeep = nkeep;
	rr->want_view = want_view;
	rr->fast = fast ? json_fast_new() : NULL;
	json_doc_init(&rr->doc);
	return rr;
}

void
row_reader_free(struct row_reader *rr)
{
	if (rr == NULL)
		return;
	agg_states_free(rr->st, rr->st ? rr->aggs.n : 0);
	for (int i = 0; rr->expect && i < rr->aggs.n * NDEFS; i++)
		free(rr->expect[i].text);
	free(rr->expect);
	agg_list_free(&rr->aggs);
	buf_free(&rr->sig);
	buf_free(&rr->gcols);
	free(rr->first);
	free(rr->view);
	free(rr->into);
	for (int i = 0; i < rr->nkinds; i++)
		free(rr->kname[i]);
	json_fast_free(rr->fast);
	json_doc_free(&rr->doc);
	buf_free(&rr->cols);
	buf_free(&rr->bcols);
	buf_free(&rr->names);
	buf_free(&rr->rsig);
	free(rr->st);
	free(rr);
}

const struct agg_list *
row_reader_aggs(const struct row_reader *rr)
{
	return &rr->aggs;
}

const char *
row_reader_columns(const struct row_reader *rr)
{
	return rr->gcols.p ? rr->gcols.p : "";
}

const char *
row_reader_signature(const struct row_reader *rr)
{
	return rr->sig.p ? rr->sig.p : "";
}

const char *
row_reader_first(const struct row_reader *rr)
{
	return rr->first;
}

long
row_reader_fast_rows(const struct row_reader *rr)
{
	return rr->fast_rows;
}

/* The members that say what a row is, not a group column or a value: the
 * row fields, the markers csa-merge adds, and the "_into" of a csa-window
 * job's statement (the same rows as that statement alone writes). */
static const char *const meta_names[] = {
	"window_type", "window_start", "window_end", "view", "early", "_state", "_id",
	"_into",
	"data_freshness", "sources", "partial", "is_anomaly", "baseline_mean",
	"baseline_stddev", "threshold",
};

bool
row_meta_name(const char *name)
{
	for (size_t i = 0; i < sizeof(meta_names) / sizeof(meta_names[0]); i++)
		if (strcmp(name, meta_names[i]) == 0)
			return true;
	return false;
}

static bool
is_meta(const struct json_doc *d, int key)
{
	for (size_t i = 0; i < sizeof(meta_names) / sizeof(meta_names[0]); i++)
		if (json_string_eq(d, key, meta_names[i]))
			return true;
	return false;
}

/* A window bound (token t): an RFC 3339 string. */
static int
row_time(const struct json_doc *d, int t, int64_t *ms)
{
	size_t len;
	const char *s;
	struct err e;

	if (json_type(d, t) != JSON_STRING)
		return -1;
	s = json_raw(d, t, &len);
	return tfmt_parse(s, len, ms, &e);
}

bool
row_hex_read(const char *s, size_t len, uint64_t *id)
{
	*id = 0;
	if (len != 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;

		if (v < 0)
			return false;
		*id = *id << 4 | (uint64_t)v;
	}
	return true;
}

/* The raw text of member key of object t, or "". */
static void
put_raw(struct buf *b, const struct json_doc *d, int t, const char *key)
{
	size_t len = 0;
	const char *p = json_raw(d, json_member(d, t, key, strlen(key)), &len);

	if (p)
		buf_add(b, p, len);
}

/* A definition member of a state, for state_sig: a string or other
 * token as written, a number as JSON writes it (so 5 and 5.0 are one
 * threshold, as they are to the fast reading), nothing when missing. */
static void
put_def(struct buf *b, const struct json_doc *d, int t, const char *key)
{
	int v = json_member(d, t, key, strlen(key));
	char num[40];
	double x;

	if (json_number(d, v, &x) == 0)
		buf_add(b, num, (size_t)json_fmt_num(num, sizeof(num), x));
	else
		put_raw(b, d, t, key);
}

/* The aggregate definitions of a _state object as comparable, readable
 * text: "event_count=count(), avg_magnitude=avg(magnitude), ...". */
static void
state_sig(const struct json_doc *d, int state, struct buf *b)
{
	int n = json_size(d, state), key = state + 1;
	size_t len;

	buf_reset(b);
	buf_add(b, "", 0);	/* a string even when there is no aggregate */
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		const char *name = json_raw(d, key, &len);

		if (i)
			buf_adds(b, ", ");
		buf_add(b, name, len);
		buf_addc(b, '=');
		put_def(b, d, key + 1, "f");
		buf_addc(b, '(');
		put_def(b, d, key + 1, "x");
		if (json_member(d, key + 1, "op", 2) >= 0) {
			buf_addc(b, ' ');
			put_def(b, d, key + 1, "op");
			buf_addc(b, ' ');
			put_def(b, d, key + 1, "v");
		} else if (json_member(d, key + 1, "v", 1) >= 0) {
			/* percentile's P */
			buf_adds(b, ", ");
			put_def(b, d, key + 1, "v");
		}
		buf_addc(b, ')');
	}
}

/* Whether the row's state, as written, begins each member with the text
 * the first row's aggregates render to: true for every row our commands
 * write after the first, so the signature is built only for the others. */
static bool
same_state(const struct json_doc *d, int state, const struct agg_list *l)
{
	int key = state + 1;

	if (json_size(d, state) != l->n)
		return false;
	for (int i = 0; i < l->n; i++, key = json_skip(d, key + 1)) {
		const char *p = d->text + d->tok[key].start - 1;	/* the opening quote */
		size_t n = strlen(l->v[i].state_json);

		if ((size_t)(d->text + d->len - p) < n || memcmp(p, l->v[i].state_json, n) != 0)
			return false;
	}
	return true;
}

static bool
kept(const struct row_reader *rr, const struct json_doc *d, int key)
{
	if (rr->keep == NULL)
		return true;
	for (int i = 0; i < rr->nkeep; i++)
		if (json_string_eq(d, key, rr->keep[i]))
			return true;
	return false;
}

/* The kind of member key of the row, remembered by its place: rows of one
 * view have their members in the same order, so the lookups are done once
 * a place, and again only when a row differs there. */
static int
column_kind(struct row_reader *rr, int i, int key, int state)
{
	const struct json_doc *d = &rr->doc;
	size_t klen;
	const char *k = json_raw(d, key, &klen);
	int kind;

	if (i < rr->nkinds && rr->klen[i] == klen && memcmp(rr->kname[i], k, klen) == 0)
		return rr->kind[i];
	if (is_meta(d, key) || json_member(d, state, k, klen) >= 0)
		kind = COL_SKIP;
	else
		kind = kept(rr, d, key) ? COL_KEEP : COL_GROUP;
	if (i == rr->nkinds && i < MAX_KINDS) {
		rr->kname[i] = xstrndup(k, klen);
		rr->klen[i] = klen;
		rr->kind[i] = kind;
		rr->nkinds++;
	}
	return kind;
}

/* The group columns of the row: all of them into cols, the kept ones
 * into bcols, their names into names. */
static void
group_columns(struct row_reader *rr, int state)
{
	const struct json_doc *d = &rr->doc;
	int n = json_size(d, 0), key = 1;

	buf_reset(&rr->cols);
	buf_reset(&rr->bcols);
	buf_reset(&rr->names);
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		int kind = column_kind(rr, i, key, state);
		size_t klen;
		const char *k;

		if (kind == COL_SKIP)
			continue;
		k = json_raw(d, key, &klen);
		json_sep(&rr->cols);
		json_put_token(&rr->cols, d, key);
		buf_addc(&rr->cols, ':');
		json_put_token(&rr->cols, d, key + 1);
		if (kind == COL_KEEP) {
			json_sep(&rr->bcols);
			json_put_token(&rr->bcols, d, key);
			buf_addc(&rr->bcols, ':');
			json_put_token(&rr->bcols, d, key + 1);
		}
		if (rr->names.len)
			buf_addc(&rr->names, ',');
		buf_add(&rr->names, k, klen);
	}
}

static int
role_of(const char *k, size_t klen)
{
	static const struct {
		const char *name;
		size_t len;
	} role[NROLES] = {
		[ROLE_VIEW] = { "view", 4 }, [ROLE_EARLY] = { "early", 5 },
		[ROLE_STATE] = { "_state", 6 }, [ROLE_END] = { "window_end", 10 },
		[ROLE_TYPE] = { "window_type", 11 }, [ROLE_START] = { "window_start", 12 },
		[ROLE_ID] = { "_id", 3 }, [ROLE_INTO] = { "_into", 5 },
	};

	for (int j = ROLE_NONE + 1; j < NROLES; j++)
		if (klen == role[j].len && memcmp(k, role[j].name, klen) == 0)
			return j;
	return ROLE_NONE;
}

/* What the fast reading needs from the first row (state: its _state
 * token): the role of each place, the first of a name taking it, and each
 * aggregate's definition members.  Definitions written with escapes, or
 * with values other than strings and numbers, leave every row to jsmn. */
static void
fast_setup(struct row_reader *rr, int state)
{
	const struct json_doc *d = &rr->doc;
	bool seen[NROLES] = { false };
	int key = state + 1;

	for (int k = 0; k < rr->nkinds; k++) {
		int role = role_of(rr->kname[k], rr->klen[k]);

		rr->role[k] = seen[role] ? ROLE_NONE : role;
		seen[role] = true;
	}
	rr->fast_ok = rr->fast != NULL && rr->nkinds < MAX_KINDS;
	rr->expect = xcalloc((size_t)rr->aggs.n * NDEFS, sizeof(*rr->expect));
	for (int i = 0; i < rr->aggs.n; i++, key = json_skip(d, key + 1))
		for (int j = 0; j < NDEFS; j++) {
			struct expect *x = &rr->expect[i * NDEFS + j];
			int t = json_member(d, key + 1, defs[j].name, defs[j].len);

			if (t < 0) {
				x->type = JSON_FAST_MISSING;
			} else if (json_number(d, t, &x->num) == 0) {
				x->type = JSON_FAST_NUMBER;
			} else if (json_type(d, t) == JSON_STRING && json_string_plain(d, t)) {
				x->type = JSON_FAST_STRING;
				x->text = json_strdup(d, t);
				x->len = strlen(x->text);
			} else {
				rr->fast_ok = false;
			}
		}
}

/* The first row sets what every other row must match. */
static int
first_row(struct row_reader *rr, int state, const char *where, struct err *e)
{
	if (agg_state_specs(&rr->aggs, &rr->doc, state, e) < 0) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, ERR_USAGE, "%s: %s", where, why);
	}
	buf_add(&rr->sig, rr->rsig.p, rr->rsig.len);
	buf_add(&rr->gcols, rr->names.p ? rr->names.p : "", rr->names.len);
	rr->first = xstrdup(where);
	rr->st = xcalloc((size_t)rr->aggs.n + 1, sizeof(*rr->st));
	fast_setup(rr, state);
	return 0;
}

/* The tokens of the values of a row's role members (meta[ROLE_...]), or
 * -1; the first member of a name counts, as json_member finds it. */
static void
row_meta(const struct json_doc *d, int meta[NROLES])
{
	int n = json_size(d, 0), key = 1;

	for (int j = 0; j < NROLES; j++)
		meta[j] = -1;
	for (int i = 0; i < n; i++, key = json_skip(d, key + 1)) {
		size_t klen;
		const char *k = json_raw(d, key, &klen);
		int role = role_of(k, klen);

		if (role != ROLE_NONE && meta[role] < 0)
			meta[role] = key + 1;
	}
}

/* A row read by jsmn, whatever its shape. */
static int
slow_row(struct row_reader *rr, const char *line, size_t len, const char *file,
    unsigned long lineno, struct row_in *w, struct err *e)
{
	struct json_doc *d = &rr->doc;
	int m[NROLES], state, t, key;
	char where[600];

	snprintf(where, sizeof(where), "%s:%lu", file, lineno);
	w->bad = BAD_JSON;
	if (json_parse(d, line, len, e) < 0) {
		e->kind = ERR_DATA;
		return -1;
	}
	w->bad = BAD_OBJECT;
	if (json_type(d, 0) != JSON_OBJECT)
		return err_set(e, ERR_DATA, "not a JSON object");
	w->bad = BAD_FIELD;
	row_meta(d, m);
	t = m[ROLE_VIEW];
	w->view = NULL;
	if (json_type(d, t) == JSON_STRING) {
		if (rr->want_view && !json_string_eq(d, t, rr->want_view))
			return 0;
		if (rr->view == NULL) {
			rr->view = json_strdup(d, t);
		} else if (!json_string_eq(d, t, rr->view)) {
			char *v = json_strdup(d, t);

			err_set(e, ERR_USAGE, "%s: a row of view '%s' among rows of view '%s': "
			    "name one with --view or give its directory", where, v, rr->view);
			free(v);
			return -1;
		}
		w->view = rr->view;
	}
	/* A job's statements on one stream: merging one's rows with
	 * another's would add up different queries. */
	t = m[ROLE_INTO];
	if (json_type(d, t) == JSON_STRING && rr->into != NULL && !json_string_eq(d, t, rr->into)) {
		char *v = json_strdup(d, t);

		err_set(e, ERR_USAGE, "%s: a row of statement [%s] among rows of [%s]: give each "
		    "statement's rows a file of their own (csa-window --into NAME=FILE)", where, v,
		    rr->into);
		free(v);
		return -1;
	}
	state = m[ROLE_STATE];
	if (json_type(d, state) != JSON_OBJECT)
		return err_set(e, ERR_USAGE, "%s: a row without \"_state\" cannot be merged exactly "
		    "(rows of csa-window and csa-batch-agg carry it)", where);
	if (row_time(d, m[ROLE_START], &w->start) < 0 || row_time(d, m[ROLE_END], &w->end) < 0 ||
	    w->end < w->start)
		return err_set(e, ERR_DATA, "no window_start and window_end times");
	w->early = false;
	json_bool(d, m[ROLE_EARLY], &w->early);
	w->have_id = false;
	if (m[ROLE_ID] >= 0) {
		const char *id;
		size_t idlen;

		if (json_type(d, m[ROLE_ID]) != JSON_STRING ||
		    (id = json_raw(d, m[ROLE_ID], &idlen)) == NULL || !row_hex_read(id, idlen, &w->id))
			return err_set(e, ERR_DATA, "_id is not 16 hex digits");
		w->have_id = true;
	}
	t = m[ROLE_TYPE];
	w->session = json_string_eq(d, t, "session");
	w->overlapping = json_string_eq(d, t, "hopping") || json_string_eq(d, t, "sliding");
	group_columns(rr, state);
	if (rr->first == NULL) {
		state_sig(d, state, &rr->rsig);
		if (first_row(rr, state, where, e) < 0)
			return -1;
	}
	if (!same_state(d, state, &rr->aggs)) {
		state_sig(d, state, &rr->rsig);
		if (strcmp(rr->rsig.p, rr->sig.p) != 0)
			return err_set(e, ERR_USAGE, "%s: its aggregates (%s) differ from those of "
			    "%s (%s)", where, rr->rsig.p, rr->first, rr->sig.p);
	}
	if (strcmp(rr->names.p ? rr->names.p : "", rr->gcols.p ? rr->gcols.p : "") != 0)
		return err_set(e, ERR_USAGE, "%s: grouped by (%s), but %s by (%s)", where,
		    rr->names.p ? rr->names.p : "", rr->first, rr->gcols.p ? rr->gcols.p : "");
	key = state + 1;
	for (int i = 0; i < rr->aggs.n; i++, key = json_skip(d, key + 1))
		if (agg_state_read(&rr->aggs.v[i], d, key + 1, &rr->st[i], e) < 0) {
			e->kind = ERR_DATA;
			return -1;
		}
	/* The statement of the rows: the first row taken names it. */
	if (rr->into == NULL && json_type(d, m[ROLE_INTO]) == JSON_STRING)
		rr->into = json_strdup(d, m[ROLE_INTO]);
	return 1;
}

/* Whether item x's name is name[0..len). */
static bool
item_named(const struct json_fast_item *x, const char *name, size_t len)
{
	return x->klen == len && memcmp(x->key, name, len) == 0;
}

/* Whether item x (or NULL) is the string s. */
static bool
item_is(const struct json_fast_item *x, const char *s)
{
	return x != NULL && x->v.type == JSON_FAST_STRING && x->v.len == strlen(s) &&
	    memcmp(x->v.str, s, x->v.len) == 0;
}

/* A group column (item x) onto b as json_put_token writes it: only
 * strings and literals, whose text the item keeps. */
static bool
fast_column(struct buf *b, const struct json_fast_item *x)
{
	static const char *const literal[] = {
		[JSON_FAST_NULL] = "null", [JSON_FAST_FALSE] = "false", [JSON_FAST_TRUE] = "true",
	};

	json_sep(b);
	buf_addc(b, '"');
	buf_add(b, x->key, x->klen);
	buf_adds(b, "\":");
	switch (x->v.type) {
	case JSON_FAST_STRING:
		buf_addc(b, '"');
		buf_add(b, x->v.str, x->v.len);
		buf_addc(b, '"');
		return true;
	case JSON_FAST_NULL:
	case JSON_FAST_FALSE:
	case JSON_FAST_TRUE:
		buf_adds(b, literal[x->v.type]);
		return true;
	default:
		return false;	/* a number's text is not kept; an object's is long */
	}
}

/* Whether state member t (an aggregate's) defines it as the first row's
 * did: the same f, x, op and v, the first of each name counting. */
static bool
fast_defined(const struct row_reader *rr, int agg, const struct json_fast_item *it, int t)
{
	const struct json_fast_item *def[NDEFS] = { NULL };

	for (int i = t + 1; i < it[t].end; i = it[i].end)
		for (int j = 0; j < NDEFS; j++)
			if (def[j] == NULL && item_named(&it[i], defs[j].name, defs[j].len))
				def[j] = &it[i];
	for (int j = 0; j < NDEFS; j++) {
		const struct expect *x = &rr->expect[agg * NDEFS + j];
		enum json_fast_type type = def[j] ? def[j]->v.type : JSON_FAST_MISSING;

		if (type != x->type || (type == JSON_FAST_NUMBER && def[j]->v.num != x->num) ||
		    (type == JSON_FAST_STRING && (def[j]->v.len != x->len ||
		    memcmp(def[j]->v.str, x->text, x->len) != 0)))
			return false;
	}
	return true;
}

/*
 * A row read by simdjson when it is laid out as the first row was, as
 * nearly all rows of a view are: 1 read into *w, 2 left out by want_view,
 * 0 for slow_row to read it.  Anything unusual goes to slow_row, faults included, so that they
 * are reported in one way only.
 */
static int
fast_row(struct row_reader *rr, const char *line, size_t len, struct row_in *w)
{
	const struct json_fast_item *it, *role[NROLES] = { NULL }, *x;
	int n, i, k, state;
	bool object;
	struct err e;

	if (!rr->fast_ok || json_fast_load(rr->fast, line, len, &object) != 1 || !object ||
	    (n = json_fast_items(rr->fast, &it)) < 0)
		return 0;
	buf_reset(&rr->cols);
	buf_reset(&rr->bcols);
	for (i = 0, k = 0; i < n; i = it[i].end, k++) {
		if (k == rr->nkinds || !item_named(&it[i], rr->kname[k], rr->klen[k]))
			return 0;
		if (rr->role[k] != ROLE_NONE)
			role[rr->role[k]] = &it[i];
		else if (rr->kind[k] != COL_SKIP && (!fast_column(&rr->cols, &it[i]) ||
		    (rr->kind[k] == COL_KEEP && !fast_column(&rr->bcols, &it[i]))))
			return 0;
	}
	if (k != rr->nkinds)
		return 0;
	w->view = NULL;
	if ((x = role[ROLE_VIEW]) != NULL && x->v.type == JSON_FAST_STRING) {
		if (rr->want_view && !item_is(x, rr->want_view))
			return 2;
		if (rr->view == NULL || !item_is(x, rr->view))
			return 0;
		w->view = rr->view;
	}
	if ((x = role[ROLE_INTO]) != NULL && x->v.type == JSON_FAST_STRING &&
	    (rr->into == NULL || !item_is(x, rr->into)))
		return 0;	/* the first, or another statement's: row_read says */
	if (role[ROLE_STATE] == NULL || role[ROLE_STATE]->v.type != JSON_FAST_OBJECT ||
	    role[ROLE_STATE]->size != rr->aggs.n || role[ROLE_START] == NULL ||
	    role[ROLE_START]->v.type != JSON_FAST_STRING || role[ROLE_END] == NULL ||
	    role[ROLE_END]->v.type != JSON_FAST_STRING)
		return 0;
	x = role[ROLE_START];
	if (tfmt_parse(x->v.str, x->v.len, &w->start, &e) < 0)
		return 0;
	x = role[ROLE_END];
	if (tfmt_parse(x->v.str, x->v.len, &w->end, &e) < 0 || w->end < w->start)
		return 0;
	w->early = role[ROLE_EARLY] && role[ROLE_EARLY]->v.type == JSON_FAST_TRUE;
	w->have_id = false;
	if ((x = role[ROLE_ID]) != NULL) {
		if (x->v.type != JSON_FAST_STRING || !row_hex_read(x->v.str, x->v.len, &w->id))
			return 0;
		w->have_id = true;
	}
	x = role[ROLE_TYPE];
	w->session = item_is(x, "session");
	w->overlapping = item_is(x, "hopping") || item_is(x, "sliding");
	state = (int)(role[ROLE_STATE] - it);
	for (int a = 0, t = state + 1; a < rr->aggs.n; a++, t = it[t].end) {
		const struct agg_spec *s = &rr->aggs.v[a];

		if (it[t].v.type != JSON_FAST_OBJECT ||
		    !item_named(&it[t], s->name, strlen(s->name)) || !fast_defined(rr, a, it, t) ||
		    agg_state_take(s, it, t, &rr->st[a]) < 0)
			return 0;
	}
	return 1;
}

int
row_read(struct row_reader *rr, const char *line, size_t len, const char *file,
    unsigned long lineno, struct row_in *out, struct err *e)
{
	int rc = fast_row(rr, line, len, out);

	if (rc == 2)
		return 0;
	if (rc == 1)
		rr->fast_rows++;
	else if ((rc = slow_row(rr, line, len, file, lineno, out, e)) != 1)
		return rc;
	out->cols = rr->cols.p ? rr->cols.p : "";
	out->cols_len = rr->cols.len;
	out->bcols = rr->bcols.p ? rr->bcols.p : "";
	out->bcols_len = rr->bcols.len;
	out->st = rr->st;
	return 1;
}
