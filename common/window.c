/* window.c: the event-time window engine shared by the speed and batch layers. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "timefmt.h"
#include "window.h"

/* One group of a tumbling, hopping or snapshot window. */
struct group {
	char *cols;		/* ,"region":"us-west" ... ready to write */
	bool dirty;		/* changed since its last early row */
	uint64_t digest;	/* the sum of its events' hashes (row_id) */
	struct agg_state st[];
};

/* An open fixed window, kept in a list ordered by end. */
struct window {
	int64_t start, end;
	struct strmap groups;	/* group key -> struct group * */
};

/* One event held by a sliding or session window, with its own states. */
struct ev {
	int64_t t;
	uint64_t h;		/* the hash of its line (row_id) */
	struct agg_state st[];
};

/*
 * A group of a sliding or session window: its events in time order.
 * Sliding: ev[head..entered) are in the window at `done`, the last point
 * written.  Their states are kept for a row in amortized constant time,
 * as two stacks: each of ev[head..mid) holds, after its own states, those
 * of itself and every later one up to mid (merged right to left when mid
 * last moved); `back` holds ev[mid..entered) merged in the order they
 * entered; `wdigest` the sum of the window's line hashes.  Session: ev[head..n) wait for their session to end; `carry`
 * is a session cut at a max-duration check whose continuation may still
 * take events (from cstart, last event clast, next check ccut).
 */
struct sgroup {
	char *cols;
	struct ev **ev;
	size_t head, entered, n, cap;
	size_t mid;		/* sliding: where the suffix states end */
	struct agg_state *back;	/* sliding: ev[mid..entered) merged */
	uint64_t wdigest;	/* sliding: the digest of ev[head..entered) */
	bool have_done, carry;
	int64_t done, cstart, clast, ccut;
	size_t hend;		/* session: index past the head session's events */
	int64_t hlast, hcut;	/* session: the head session's last event and cut */
	bool hfc;		/* session: the head session continues the carry */
};

/* An input partition: its own event time, and when it last spoke. */
struct part {
	char *key;
	size_t klen;
	int64_t max;		/* its largest event time; INT64_MIN before its first */
	int64_t last;		/* wall time of its last event */
	int hpos;		/* where in the heap; -1: idle, or no event yet */
};

/* A sliding or session row waiting to be put in order. */
struct pending {
	int64_t start, end;
	const struct strmap_entry *ge;	/* its group, which outlives the row */
	uint64_t digest;
	size_t st;		/* its states in win_engine.pst */
};

struct win_engine {
	const struct win_spec *s;
	struct win_sink sink;
	struct window *w;
	int nw, capw;
	struct strmap sgroups;	/* sliding and session: key -> struct sgroup * */
	struct strmap seen;	/* dedupe: id -> a = event time */
	int64_t pruned_at;
	int64_t max_time, closed, next_due, next_early;	/* max_time: the clock */
	struct part *parts;	/* none: one stream */
	int nparts, capparts, cur;	/* cur: the event's partition, -1 for none */
	struct strmap partmap;	/* key -> a = index in parts */
	struct hent {
		int64_t max;	/* parts[k].max, here for quick comparisons */
		int k;
	} *heap;		/* partitions not idle, least time first */
	int nheap;
	int64_t part_idle, now, newest_at, swept_at;	/* wall times */
	int part_expect;
	bool holding;		/* partitions not seen yet hold the clock */
	bool started;		/* win_partition has been called */
	bool have_time, have_closed, have_due, have_early;
	long live;		/* group states held, for max_groups */
	struct win_counts c;
	struct buf key, cols;
	struct buf heads;	/* each --by column's "name": */
	size_t *head_at;	/* where each starts in heads, and the end */
	struct pending *pend;	/* sliding and session rows of one emission */
	size_t npend, cappend;
	struct agg_state *pst;	/* their states, aggs.n a row */
	size_t cappst;
	struct expr_val *vals;
	const struct expr_val *given;	/* win_event_values: the event's arguments */
	bool vals_fresh;	/* vals (or given) hold this event's values */
	/* For win_report_missing: of the events whose values were taken, how
	 * many lacked each --by column (the first nby) and each aggregate's
	 * field (a path not in the event; null in it is a value). */
	long *missing, valued;
	struct agg_state *tmp;
	uint64_t h, tmp_digest;	/* the event's hash; the digest of en->tmp */
};

/* The format of saved state: 2 since states are written as rows write them. */
enum { WIN_STATE_VERSION = 2 };

static const char *const type_names[] = {
	[WIN_NONE] = "none", [WIN_TUMBLING] = "tumbling", [WIN_HOPPING] = "hopping",
	[WIN_SLIDING] = "sliding", [WIN_SESSION] = "session", [WIN_SNAPSHOT] = "snapshot",
};

const char *
win_type_name(enum win_type t)
{
	return type_names[t];
}

int
win_add_by(struct win_spec *s, const char *text, struct err *e)
{
	char **parts;
	int n = agg_split(text, &parts), rc = 0;

	for (int i = 0; i < n; i++) {
		const char *p = parts[i], *src = p;
		char *name = NULL;
		struct expr *x = NULL;
		size_t k = 0;

		while (isalnum((unsigned char)p[k]) || p[k] == '_')
			k++;
		if (k > 0 && p[k] == '=' && p[k + 1] != '=') {
			name = xstrndup(p, k);
			src = p + k + 1;
		}
		if (rc == 0 && (x = expr_compile(src, e)) == NULL)
			rc = -1;
		if (rc == 0) {
			s->by = xrealloc(s->by, sizeof(*s->by) * (size_t)(s->nby + 1));
			s->by[s->nby].x = x;
			s->by[s->nby].name = name ? name : xstrdup(expr_name(x));
			s->nby++;
		} else {
			free(name);
		}
		free(parts[i]);
	}
	free(parts);
	return rc;
}

void
win_spec_free(struct win_spec *s)
{
	for (int i = 0; i < s->nby; i++) {
		free(s->by[i].name);
		expr_free(s->by[i].x);
	}
	free(s->by);
	agg_list_free(&s->aggs);
	free(s->having.column);
}

/* An event's own states, and for sliding windows room for its suffix. */
static size_t
ev_size(const struct win_engine *en)
{
	size_t n = (size_t)en->s->aggs.n * (en->s->type == WIN_SLIDING ? 2 : 1);

	return sizeof(struct ev) + sizeof(struct agg_state) * n;
}

struct win_engine *
win_new(const struct win_spec *s, const struct win_sink *sink)
{
	struct win_engine *en = xcalloc(1, sizeof(*en));

	en->s = s;
	en->sink = *sink;
	strmap_init(&en->sgroups);
	strmap_init(&en->seen);
	strmap_init(&en->partmap);
	en->cur = -1;
	en->part_idle = WIN_PART_IDLE;
	en->vals = xcalloc((size_t)s->aggs.n + 1, sizeof(*en->vals));
	en->missing = xcalloc((size_t)(s->nby + s->aggs.n) + 1, sizeof(*en->missing));
	en->tmp = xcalloc((size_t)s->aggs.n + 1, sizeof(*en->tmp));
	/* Written for every event: quoted once.  After a ':' json_key_str
	 * puts no separator, so the names follow one another. */
	en->head_at = xcalloc((size_t)s->nby + 1, sizeof(*en->head_at));
	for (int i = 0; i < s->nby; i++) {
		json_key_str(&en->heads, s->by[i].name, strlen(s->by[i].name));
		en->head_at[i + 1] = en->heads.len;
	}
	return en;
}

/* An event's states (their sketches are its own), then the event. */
static void
ev_free(const struct win_engine *en, struct ev *x)
{
	agg_states_free(x->st, en->s->aggs.n * (en->s->type == WIN_SLIDING ? 2 : 1));
	free(x);
}

static void
sgroup_free(const struct win_engine *en, struct sgroup *g)
{
	for (size_t i = g->head; i < g->n; i++)
		ev_free(en, g->ev[i]);
	free(g->ev);
	free(g->cols);
	agg_states_free(g->back, g->back ? en->s->aggs.n : 0);
	free(g->back);
	free(g);
}

static void
window_free_groups(struct window *w, int naggs)
{
	struct strmap_entry *ge;
	size_t i = 0;

	while ((ge = strmap_next(&w->groups, &i)) != NULL) {
		struct group *g = ge->p;

		agg_states_free(g->st, naggs);
		free(g->cols);
		free(g);
	}
	strmap_free(&w->groups);
}

void
win_free(struct win_engine *en)
{
	struct strmap_entry *ge;
	size_t i = 0;

	if (en == NULL)
		return;
	for (int k = 0; k < en->nw; k++)
		window_free_groups(&en->w[k], en->s->aggs.n);
	free(en->w);
	free(en->missing);
	while ((ge = strmap_next(&en->sgroups, &i)) != NULL)
		sgroup_free(en, ge->p);
	strmap_free(&en->sgroups);
	strmap_free(&en->seen);
	for (int k = 0; k < en->nparts; k++)
		free(en->parts[k].key);
	free(en->parts);
	free(en->heap);
	strmap_free(&en->partmap);
	free(en->vals);
	agg_states_free(en->tmp, en->s->aggs.n);
	free(en->tmp);
	buf_free(&en->key);
	buf_free(&en->cols);
	buf_free(&en->heads);
	free(en->head_at);
	free(en->pend);
	free(en->pst);
	free(en);
}

void
win_counts(const struct win_engine *en, struct win_counts *c)
{
	*c = en->c;
}

/* Floor division for negative times too. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
mark_of(const struct win_engine *en)
{
	return en->max_time - en->s->max_delay;
}

/* Is a window ending at end complete under watermark mark? */
static bool
complete(const struct win_engine *en, int64_t mark, int64_t end)
{
	return en->have_time && (en->s->end_inclusive ? mark > end : mark >= end);
}

/* Group column i's value v onto en->key and en->cols (group_of). */
static void
group_col(struct win_engine *en, int i, const struct expr_val *v)
{
	size_t at;

	/* Values end in none of '{', '[' and ':', after which json_sep puts
	 * no comma: the columns after the first always take one. */
	buf_addc(&en->cols, i == 0 ? '{' : ',');
	if (v->missing)
		en->missing[i]++;
	buf_add(&en->cols, en->heads.p + en->head_at[i], en->head_at[i + 1] - en->head_at[i]);
	at = en->cols.len;
	expr_put(&en->cols, v);
	buf_add(&en->key, en->cols.p + at, en->cols.len - at);
	buf_addc(&en->key, '\0');
	/* Members after the window fields: they lead with ','. */
	if (i == en->s->nby - 1)
		en->cols.p[0] = ',';
}

/* The group key and the group's columns for this event, in en->key and en->cols. */
static int
group_of(struct win_engine *en, const struct json_doc *d, const char *line, size_t len,
    struct err *e)
{
	const struct win_spec *s = en->s;

	buf_reset(&en->key);
	buf_reset(&en->cols);
	for (int i = 0; i < s->nby; i++) {
		struct expr_val v;

		if (expr_eval(s->by[i].x, d, line, len, &v, e) < 0)
			return -1;
		group_col(en, i, &v);
	}
	return 0;
}

/* The event's aggregate arguments into states st: evaluated now, or as
 * win_event_values gave them. */
static int
add_aggs(struct win_engine *en, struct agg_state *st, const struct json_doc *d,
    const char *line, size_t len, struct err *e)
{
	en->vals_fresh = true;
	if (en->given == NULL)
		return agg_add_all(&en->s->aggs, st, en->vals, d, line, len, e);
	agg_add_values(&en->s->aggs, st, en->given);
	return 0;
}

/* Whether --having keeps a row of states st. */
static bool
kept(const struct win_engine *en, const struct agg_state *st)
{
	const struct win_spec *s = en->s;
	double val;
	bool isnull;

	return !s->have_having ||
	    (agg_column(&s->aggs, st, s->having.column, &val, &isnull) == 0 && !isnull &&
	    agg_compare(val, s->having.op, s->having.value));
}

/* Hand the row of one group to the sink (cols: the group's, which lead
 * with ','). */
static void
put_row(struct win_engine *en, int64_t start, int64_t end, const struct strmap_entry *ge,
    const char *cols, const struct agg_state *st, uint64_t digest, bool early)
{
	size_t clen = strlen(cols);
	struct row r = {
		.type = type_names[en->s->type], .start = start, .end = end, .early = early,
		.cols = clen ? cols + 1 : cols, .cols_len = clen ? clen - 1 : 0,
		.key = ge->key, .key_len = ge->klen,
		.aggs = &en->s->aggs, .st = st, .have_digest = true, .digest = digest,
	};

	en->sink.row(&r, en->sink.arg);
	if (early)
		en->c.early_rows++;
	else
		en->c.rows++;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct strmap_entry *x = *(const struct strmap_entry *const *)a;
	const struct strmap_entry *y = *(const struct strmap_entry *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* The groups of a map in key order; caller frees the array. */
static struct strmap_entry **
sorted_groups(const struct strmap *m, size_t *n)
{
	struct strmap_entry **v = xmalloc(sizeof(*v) * (m->count + 1)), *ge;
	size_t i = 0;

	*n = 0;
	while ((ge = strmap_next(m, &i)) != NULL)
		v[(*n)++] = ge;
	qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

/* ---- tumbling, hopping and snapshot windows ---- */

/* The window with this end, created when missing. */
static struct window *
window_at(struct win_engine *en, int64_t end)
{
	int i;

	for (i = en->nw; i > 0 && en->w[i - 1].end > end; i--)
		;
	if (i > 0 && en->w[i - 1].end == end)
		return &en->w[i - 1];
	if (en->nw == en->capw) {
		en->capw = en->capw ? en->capw * 2 : 16;
		en->w = xrealloc(en->w, sizeof(*en->w) * (size_t)en->capw);
	}
	memmove(&en->w[i + 1], &en->w[i], sizeof(*en->w) * (size_t)(en->nw - i));
	en->nw++;
	en->w[i].end = end;
	en->w[i].start = end - en->s->size;
	strmap_init(&en->w[i].groups);
	return &en->w[i];
}

/* The group of window w for the current key; NULL when it would pass max_groups. */
static struct group *
group_at(struct win_engine *en, struct window *w)
{
	const char *key = en->key.p ? en->key.p : "";
	struct strmap_entry *ge;
	bool added;

	if (en->s->max_groups && en->live >= en->s->max_groups &&
	    strmap_get(&w->groups, key, en->key.len) == NULL)
		return NULL;
	ge = strmap_put(&w->groups, key, en->key.len, &added);
	if (added) {
		struct group *g = xcalloc(1, sizeof(*g) +
		    sizeof(struct agg_state) * (size_t)en->s->aggs.n);

		g->cols = xstrndup(en->cols.p ? en->cols.p : "", en->cols.len);
		ge->p = g;
		en->live++;
	}
	return ge->p;
}

/* Write the rows of window w in key order; when final, free it. */
static void
emit_window(struct win_engine *en, struct window *w, bool early)
{
	size_t n;
	struct strmap_entry **v = sorted_groups(&w->groups, &n);

	for (size_t k = 0; k < n; k++) {
		struct group *g = v[k]->p;

		if (early && !g->dirty)
			continue;
		g->dirty = false;
		if (kept(en, g->st))
			put_row(en, w->start, w->end, v[k], g->cols, g->st, g->digest, early);
		if (!early) {
			agg_states_free(g->st, en->s->aggs.n);
			free(g->cols);
			free(g);
			en->live--;
		}
	}
	free(v);
	if (!early)
		strmap_free(&w->groups);
}

static void
emit_first(struct win_engine *en)
{
	emit_window(en, &en->w[0], false);
	en->closed = en->w[0].end;
	en->have_closed = true;
	memmove(&en->w[0], &en->w[1], sizeof(*en->w) * (size_t)(en->nw - 1));
	en->nw--;
}

/* Add the event to every fixed window that holds t. */
static int
fixed_add(struct win_engine *en, int64_t t, const struct json_doc *d, const char *line,
    size_t len, bool *over, struct err *e)
{
	const struct win_spec *s = en->s;
	int64_t first;
	int rc = 0;

	if (s->type == WIN_SNAPSHOT) {
		first = t;
	} else {
		/* The windows that hold t end at offset + k*hop, within one size of t. */
		if (s->end_inclusive)
			first = s->offset + (floor_div(t - s->offset - 1, s->hop) + 1) * s->hop;
		else
			first = s->offset + (floor_div(t - s->offset, s->hop) + 1) * s->hop;
	}
	for (int64_t end = first; s->type == WIN_SNAPSHOT ? end == first :
	    (s->end_inclusive ? end < t + s->size : end <= t + s->size); end += s->hop) {
		struct group *g;

		if (en->have_closed && end <= en->closed)
			continue;
		if ((g = group_at(en, window_at(en, end))) == NULL) {
			*over = true;
			continue;
		}
		g->dirty = true;
		g->digest += en->h;
		if (add_aggs(en, g->st, d, line, len, e) < 0)
			rc = -1;
		if (s->type == WIN_SNAPSHOT)
			break;
	}
	return rc;
}

/* --emit early:D: rows of the open windows that changed, each time the
 * watermark passes a multiple of D. */
static void
emit_early(struct win_engine *en, int64_t mark)
{
	const int64_t d = en->s->early;

	if (!en->have_early) {
		en->next_early = (floor_div(mark, d) + 1) * d;
		en->have_early = true;
		return;
	}
	if (mark < en->next_early)
		return;
	for (int k = 0; k < en->nw; k++)
		emit_window(en, &en->w[k], true);
	en->next_early = (floor_div(mark, d) + 1) * d;
}

/* ---- sliding and session windows ---- */

static struct sgroup *
sgroup_get(struct win_engine *en)
{
	struct strmap_entry *ge = strmap_get(&en->sgroups, en->key.p ? en->key.p : "",
	    en->key.len);

	return ge ? ge->p : NULL;
}

/* The first max-duration check at which a session from start is cut. */
static int64_t
session_cut(const struct win_engine *en, int64_t start)
{
	const int64_t m = en->s->max_duration;

	if (m == 0)
		return INT64_MAX;
	/* The least offset + k*m at or after start + m. */
	return en->s->offset - floor_div(-(start + m - en->s->offset), m) * m;
}

/*
 * The head session of g: where it starts, its last event, its cut, the
 * index past its events (g->hend), and whether it continues the carried
 * session (g->hfc).  The carry takes the first buffered event when that is
 * within the timeout of its last event; checks passed with no event move
 * the continuation's start on.  The carry itself is left as it is: an
 * event that arrives later may still fall between.
 */
static void
session_head(struct win_engine *en, struct sgroup *g, int64_t *start)
{
	const int64_t timeout = en->s->size;
	size_t i = g->head;

	g->hfc = g->carry && (i == g->n || g->ev[i]->t <= g->clast + timeout);
	if (g->hfc) {
		int64_t cs = g->cstart, cc = g->ccut;

		while (i < g->n && g->ev[i]->t > cc) {
			cs = cc;
			cc += en->s->max_duration;
		}
		*start = cs;
		g->hlast = g->clast;
		/* With nothing taken yet, only the timeout can end it. */
		g->hcut = i < g->n ? cc : INT64_MAX;
	} else {
		*start = g->ev[i]->t;
		g->hlast = *start;
		g->hcut = session_cut(en, *start);
	}
	while (i < g->n && g->ev[i]->t <= g->hlast + timeout && g->ev[i]->t <= g->hcut) {
		if (g->ev[i]->t > g->hlast)
			g->hlast = g->ev[i]->t;
		i++;
	}
	g->hend = i;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* When the next row of g is complete; false when g holds nothing. */
static bool
sgroup_due(struct win_engine *en, struct sgroup *g, int64_t *due)
{
	if (en->s->type == WIN_SLIDING) {
		bool in = g->entered < g->n, out = g->head < g->entered;

		if (!in && !out)
			return false;
		*due = in ? g->ev[g->entered]->t : INT64_MAX;
		if (out)
			*due = min64(*due, g->ev[g->head]->t + en->s->size);
		return true;
	}
	if (g->head == g->n && !g->carry)
		return false;
	if (g->carry && !g->hfc)	/* first, the carry's timeout */
		*due = g->clast + en->s->size;
	else
		*due = min64(g->hlast + en->s->size, g->hcut);
	return true;
}

static void
note_due(struct win_engine *en, struct sgroup *g)
{
	int64_t due;

	if (sgroup_due(en, g, &due) && (!en->have_due || due < en->next_due)) {
		en->next_due = due;
		en->have_due = true;
	}
}

/* Insert an event with time t and its states into group g, in time order. */
static int
sgroup_add(struct win_engine *en, struct sgroup *g, int64_t t, const struct json_doc *d,
    const char *line, size_t len, struct err *e)
{
	struct ev *x = xcalloc(1, ev_size(en));
	size_t i;
	int rc;

	x->t = t;
	x->h = en->h;
	rc = add_aggs(en, x->st, d, line, len, e);
	if (g->head > 0 && g->head * 2 >= g->n) {
		/* Reuse the room of the events already gone. */
		memmove(g->ev, g->ev + g->head, sizeof(*g->ev) * (g->n - g->head));
		g->n -= g->head;
		g->entered = g->entered > g->head ? g->entered - g->head : 0;
		g->mid = g->mid > g->head ? g->mid - g->head : 0;
		g->hend = g->hend > g->head ? g->hend - g->head : 0;
		g->head = 0;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->ev = xrealloc(g->ev, sizeof(*g->ev) * g->cap);
	}
	for (i = g->n; i > g->head && g->ev[i - 1]->t > t; i--)
		;
	memmove(&g->ev[i + 1], &g->ev[i], sizeof(*g->ev) * (g->n - i));
	g->ev[i] = x;
	g->n++;
	if (en->s->type == WIN_SESSION) {
		int64_t start;

		if (i == g->n - 1 && i == g->hend && i > g->head) {
			/* Appended after a head session that held every earlier event. */
			if (t <= g->hlast + en->s->size && t <= g->hcut) {
				g->hlast = t;
				g->hend = g->n;
			}
		} else if (i <= g->hend) {
			session_head(en, g, &start);
		}
	}
	note_due(en, g);
	return rc;
}

/* Merge ev[from..to) of g into en->tmp. */
static void
merge_events(struct win_engine *en, const struct sgroup *g, size_t from, size_t to)
{
	const struct agg_list *aggs = &en->s->aggs;

	agg_states_free(en->tmp, aggs->n);
	en->tmp_digest = 0;
	for (size_t k = from; k < to; k++) {
		for (int i = 0; i < aggs->n; i++)
			agg_merge(&aggs->v[i], &en->tmp[i], &g->ev[k]->st[i]);
		en->tmp_digest += g->ev[k]->h;
	}
}

/* Keep the row of g over [start, end) from en->tmp, to be put in order
 * with the other groups' rows, unless --having rejects it. */
static void
pend_row(struct win_engine *en, int64_t start, int64_t end, const struct strmap_entry *ge)
{
	const size_t n = (size_t)en->s->aggs.n;

	if (!kept(en, en->tmp))
		return;
	if (en->npend == en->cappend) {
		en->cappend = en->cappend ? en->cappend * 2 : 64;
		en->pend = xrealloc(en->pend, sizeof(*en->pend) * en->cappend);
	}
	if ((en->npend + 1) * n > en->cappst) {
		en->cappst = (en->npend + 1) * n * 2;
		en->pst = xrealloc(en->pst, sizeof(*en->pst) * en->cappst);
	}
	/* The row's states move there, sketches and all. */
	memcpy(&en->pst[en->npend * n], en->tmp, sizeof(*en->pst) * n);
	memset(en->tmp, 0, sizeof(*en->tmp) * n);
	en->pend[en->npend] = (struct pending){ start, end, ge, en->tmp_digest, en->npend * n };
	en->npend++;
}

/* Sliding: the front stack is empty; make every event of the window its
 * own, each with the states of itself and those after it. */
static void
sliding_flip(struct win_engine *en, struct sgroup *g)
{
	const struct agg_list *aggs = &en->s->aggs;
	const int n = aggs->n;

	for (size_t k = g->entered; k-- > g->head;) {
		struct agg_state *suf = g->ev[k]->st + n;

		agg_states_copy(suf, g->ev[k]->st, n);
		if (k + 1 < g->entered)
			for (int i = 0; i < n; i++)
				agg_merge(&aggs->v[i], &suf[i], &g->ev[k + 1]->st[n + i]);
	}
	g->mid = g->entered;
	agg_states_free(g->back, n);
}

/* Sliding: an event enters the window. */
static void
sliding_enter(struct win_engine *en, struct sgroup *g)
{
	const struct agg_list *aggs = &en->s->aggs;
	const struct ev *x = g->ev[g->entered++];

	for (int i = 0; i < aggs->n; i++)
		agg_merge(&aggs->v[i], &g->back[i], &x->st[i]);
	g->wdigest += x->h;
}

/* Sliding: the states of the window into en->tmp, and its digest. */
static void
sliding_states(struct win_engine *en, const struct sgroup *g)
{
	const struct agg_list *aggs = &en->s->aggs;
	const int n = aggs->n;

	if (g->head < g->mid) {
		agg_states_copy(en->tmp, g->ev[g->head]->st + n, n);
		for (int i = 0; i < n; i++)
			agg_merge(&aggs->v[i], &en->tmp[i], &g->back[i]);
	} else {
		agg_states_copy(en->tmp, g->back, n);
	}
	en->tmp_digest = g->wdigest;
}

/* Sliding, after a restart: the two stacks as they were saved, ev[head..mid)
 * in front and the rest of the window behind, so that rows come out as
 * those of a run without the stop. */
static void
sliding_restore(struct win_engine *en, struct sgroup *g, size_t mid)
{
	size_t entered = g->entered;

	g->entered = mid;
	sliding_flip(en, g);
	g->wdigest = 0;
	for (size_t k = g->head; k < mid; k++)
		g->wdigest += g->ev[k]->h;
	while (g->entered < entered)
		sliding_enter(en, g);
}

/* Sliding: write every point of g (an event entering or leaving) that is complete. */
static void
sliding_run(struct win_engine *en, const struct strmap_entry *ge, int64_t mark, bool all)
{
	struct sgroup *g = ge->p;
	const int64_t size = en->s->size;
	int64_t p;

	while (sgroup_due(en, g, &p) && (all || mark > p)) {
		while (g->entered < g->n && g->ev[g->entered]->t <= p)
			sliding_enter(en, g);
		/* The window at p is (p - size, p]. */
		while (g->head < g->entered && g->ev[g->head]->t + size <= p) {
			if (g->head == g->mid)
				sliding_flip(en, g);
			g->wdigest -= g->ev[g->head]->h;
			ev_free(en, g->ev[g->head++]);
		}
		if (g->head < g->entered) {
			sliding_states(en, g);
			pend_row(en, p - size, p, ge);
		}
		g->done = p;
		g->have_done = true;
	}
}

/* Session: write every session of g that has ended. */
static void
session_run(struct win_engine *en, const struct strmap_entry *ge, int64_t mark, bool all)
{
	struct sgroup *g = ge->p;
	const int64_t timeout = en->s->size;
	int64_t start, end;

	while (g->head < g->n || g->carry) {
		session_head(en, g, &start);
		if (g->carry && (!g->hfc || g->hend == g->head)) {
			/* A carried session that has taken nothing: it ends at its timeout. */
			if (!all && !(mark > g->clast + timeout))
				break;
			g->carry = false;
			continue;
		}
		end = min64(g->hlast + timeout, g->hcut);
		if (!all && !(mark > end))
			break;
		merge_events(en, g, g->head, g->hend);
		pend_row(en, start, end, ge);
		while (g->head < g->hend)
			ev_free(en, g->ev[g->head++]);
		g->done = end;
		g->have_done = true;
		/* Cut at a check while events went on: a new window opens there. */
		g->carry = end == g->hcut && g->hlast + timeout > g->hcut;
		if (g->carry) {
			g->cstart = g->hcut;
			g->clast = g->hlast;
			g->ccut = g->hcut + en->s->max_duration;
		}
	}
	if (g->head < g->n || g->carry)
		session_head(en, g, &start);
}

static int
cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return cmp_key(&x->ge, &y->ge);
}

static bool
sgroup_alive(const struct strmap_entry *ge, void *arg)
{
	struct sgroup *g = ge->p;
	struct win_engine *en = arg;

	if (g->head < g->n || g->carry)
		return true;
	sgroup_free(en, g);
	en->live--;
	return false;
}

static void
sgroups_advance(struct win_engine *en, bool all)
{
	int64_t mark = mark_of(en);
	struct strmap_entry *ge;
	size_t i = 0;

	if (!all && !(en->have_due && en->have_time && mark > en->next_due))
		return;
	en->npend = 0;
	while ((ge = strmap_next(&en->sgroups, &i)) != NULL) {
		if (en->s->type == WIN_SLIDING)
			sliding_run(en, ge, mark, all);
		else
			session_run(en, ge, mark, all);
	}
	/* Rows in time order, then group order, as the fixed windows;
	 * before the groups that are done are freed with their columns. */
	if (en->npend > 1)
		qsort(en->pend, en->npend, sizeof(*en->pend), cmp_pending);
	for (size_t k = 0; k < en->npend; k++) {
		const struct pending *p = &en->pend[k];

		put_row(en, p->start, p->end, p->ge, ((const struct sgroup *)p->ge->p)->cols,
		    &en->pst[p->st], p->digest, false);
		agg_states_free(&en->pst[p->st], en->s->aggs.n);
	}
	strmap_filter(&en->sgroups, sgroup_alive, en);
	en->have_due = false;
	i = 0;
	while ((ge = strmap_next(&en->sgroups, &i)) != NULL)
		note_due(en, ge->p);
}

static int
sgroup_event(struct win_engine *en, int64_t t, const struct json_doc *d, const char *line,
    size_t len, bool *over, struct err *e)
{
	struct strmap_entry *ge;
	bool added;

	if (en->s->max_groups && en->live >= en->s->max_groups && sgroup_get(en) == NULL) {
		*over = true;
		return 0;
	}
	ge = strmap_put(&en->sgroups, en->key.p ? en->key.p : "", en->key.len, &added);
	if (added) {
		struct sgroup *g = xcalloc(1, sizeof(*g));

		g->cols = xstrndup(en->cols.p ? en->cols.p : "", en->cols.len);
		if (en->s->type == WIN_SLIDING)
			g->back = xcalloc((size_t)en->s->aggs.n + 1, sizeof(*g->back));
		ge->p = g;
		en->live++;
	}
	return sgroup_add(en, ge->p, t, d, line, len, e);
}

/* ---- event time per partition ---- */

void
win_set_partitions(struct win_engine *en, int64_t idle_ms, int expect)
{
	en->part_idle = idle_ms > 0 ? idle_ms : WIN_PART_IDLE;
	en->part_expect = expect;
}

int
win_partitions(const struct win_engine *en)
{
	return en->nparts;
}

/* The heap of partitions that are not idle, ordered by their time, so the
 * clock is at its top: an event costs O(log partitions), not a scan. */
static bool
heap_less(const struct win_engine *en, int i, int j)
{
	return en->heap[i].max < en->heap[j].max;
}

static void
heap_swap(struct win_engine *en, int i, int j)
{
	struct hent h = en->heap[i];

	en->heap[i] = en->heap[j];
	en->heap[j] = h;
	en->parts[en->heap[i].k].hpos = i;
	en->parts[en->heap[j].k].hpos = j;
}

static void
heap_up(struct win_engine *en, int i)
{
	while (i > 0 && heap_less(en, i, (i - 1) / 2)) {
		heap_swap(en, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct win_engine *en, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < en->nheap && heap_less(en, l, m))
			m = l;
		if (r < en->nheap && heap_less(en, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(en, i, m);
		i = m;
	}
}

static void
heap_insert(struct win_engine *en, int k)
{
	en->heap[en->nheap].max = en->parts[k].max;
	en->heap[en->nheap].k = k;
	en->parts[k].hpos = en->nheap++;
	heap_up(en, en->nheap - 1);
}

static void
heap_remove(struct win_engine *en, int k)
{
	int i = en->parts[k].hpos;

	en->parts[k].hpos = -1;
	if (i != --en->nheap) {
		en->heap[i] = en->heap[en->nheap];
		en->parts[en->heap[i].k].hpos = i;
		heap_down(en, i);
		heap_up(en, i);
	}
}

static int
part_add(struct win_engine *en, const char *key, size_t len, int64_t max, int64_t now)
{
	struct strmap_entry *pe;
	struct part *p;
	bool added;

	pe = strmap_put(&en->partmap, key, len, &added);
	if (!added)
		return (int)pe->a;
	if (en->nparts == en->capparts) {
		en->capparts = en->capparts ? en->capparts * 2 : 8;
		en->parts = xrealloc(en->parts, sizeof(*en->parts) * (size_t)en->capparts);
		en->heap = xrealloc(en->heap, sizeof(*en->heap) * (size_t)en->capparts);
	}
	p = &en->parts[en->nparts];
	p->key = xstrndup(key, len);
	p->klen = len;
	p->max = max;
	p->last = now;
	p->hpos = -1;
	pe->a = en->nparts;
	en->newest_at = now;
	if (max != INT64_MIN)
		heap_insert(en, en->nparts);
	return en->nparts++;
}

void
win_partition_index(struct win_engine *en, int i, int64_t now)
{
	en->now = now;
	en->cur = i;
	en->parts[i].last = now;
}

int
win_partition(struct win_engine *en, const char *key, size_t len, int64_t now)
{
	const struct part *c;

	if (key == NULL && en->nparts == 0)
		return -1;	/* one stream */
	if (!en->started) {
		/* Partitions restored from a state have been quiet only from now. */
		for (int k = 0; k < en->nparts; k++)
			en->parts[k].last = now;
		en->newest_at = en->swept_at = now;
		en->started = true;
	}
	en->now = now;
	if (key == NULL)
		key = "";	/* events without a partition, among events with one */
	c = en->cur >= 0 ? &en->parts[en->cur] : NULL;
	if (c == NULL || c->klen != len || memcmp(c->key, key, len) != 0) {
		if (en->nparts == 0) {
			/* The first partition: what came before was one stream of its own. */
			if (en->have_time)
				part_add(en, "", 0, en->max_time, now);
			else
				en->holding = true;
		}
		en->cur = part_add(en, key, len, INT64_MIN, now);
	}
	en->parts[en->cur].last = now;
	return en->cur;
}

/* The largest time over every partition; false when none has had an event. */
static bool
part_max(const struct win_engine *en, int64_t *max)
{
	*max = INT64_MIN;
	for (int k = 0; k < en->nparts; k++)
		if (en->parts[k].max > *max)
			*max = en->parts[k].max;
	return *max != INT64_MIN;
}

/* Move the clock to m unless it is there or past it. */
static void
clock_to(struct win_engine *en, int64_t m)
{
	if (!en->have_time || m > en->max_time) {
		en->max_time = m;
		en->have_time = true;
		win_advance(en, false);
	}
}

/*
 * Wall time is en->now: end the wait for unseen partitions when its time
 * has come, take out of the heap the partitions quiet for the idle time
 * (but `except`, the one whose event is being taken), and move the clock
 * to the least time over the others; when every partition is idle,
 * nothing holds it back, and it moves to the largest.  The clock never
 * goes back.
 */
static void
part_clock(struct win_engine *en, int except)
{
	int64_t m;

	if (en->holding) {
		if (!(en->part_expect > 0 && en->nparts >= en->part_expect) &&
		    en->now - en->newest_at < en->part_idle)
			return;
		en->holding = false;
	}
	en->swept_at = en->now;
	for (int k = 0; k < en->nparts; k++)
		if (k != except && en->parts[k].hpos >= 0 &&
		    en->now - en->parts[k].last >= en->part_idle)
			heap_remove(en, k);
	if (en->nheap > 0)
		clock_to(en, en->heap[0].max);
	else if (part_max(en, &m))
		clock_to(en, m);
}

/*
 * An event at t in the current partition: its time moves on in the heap
 * (where it goes back in when it was idle), and the clock follows the top.
 * Idleness is looked at every quarter of the idle time.
 */
static void
part_time(struct win_engine *en, int64_t t)
{
	struct part *p = &en->parts[en->cur];

	if (t > p->max) {
		p->max = t;
		if (p->hpos >= 0) {
			en->heap[p->hpos].max = t;
			heap_down(en, p->hpos);
		}
	}
	if (p->hpos < 0)
		heap_insert(en, en->cur);
	if (en->holding || en->now - en->swept_at >= en->part_idle / 4)
		part_clock(en, en->cur);
	else
		clock_to(en, en->heap[0].max);
}

int64_t
win_wake(const struct win_engine *en)
{
	int64_t wake = -1;

	if (en->nparts == 0 || !en->started)
		return -1;	/* one stream, or wall time starts with the first event */
	if (en->holding)
		return en->newest_at + en->part_idle;
	for (int k = 0; k < en->nheap; k++) {
		const struct part *p = &en->parts[en->heap[k].k];

		if (wake < 0 || p->last + en->part_idle < wake)
			wake = p->last + en->part_idle;
	}
	return wake;
}

void
win_tick(struct win_engine *en, int64_t now)
{
	if (en->nparts == 0 || !en->started || now < en->now)
		return;
	en->now = now;
	part_clock(en, -1);
}

/* ---- events ---- */

static bool
seen_recent(const struct strmap_entry *se, void *arg)
{
	return se->a >= *(const int64_t *)arg;
}

/* True when id was seen within the horizon; remembers it otherwise. */
static bool
duplicate(struct win_engine *en, const char *id, size_t idlen, int64_t t)
{
	const int64_t horizon = en->s->dedupe_horizon;
	struct strmap_entry *se;
	bool added;

	if (en->have_time && mark_of(en) - en->pruned_at > horizon / 2 + 1) {
		int64_t oldest = mark_of(en) - horizon;

		strmap_filter(&en->seen, seen_recent, &oldest);
		en->pruned_at = mark_of(en);
	}
	se = strmap_put(&en->seen, id, idlen, &added);
	if (!added && (t - se->a <= horizon && se->a - t <= horizon))
		return true;
	se->a = t;
	return false;
}

/* Count the aggregate fields this event lacked, when its values were taken. */
static void
count_missing(struct win_engine *en)
{
	const struct agg_list *l = &en->s->aggs;
	const struct expr_val *vals = en->given ? en->given : en->vals;

	if (!en->vals_fresh)
		return;
	en->valued++;
	for (int i = 0; i < l->n; i++)
		if (l->v[i].arg && vals[l->slot[i]].missing)
			en->missing[en->s->nby + i]++;
}

void
win_report_missing(const struct win_engine *en, const char *by_option)
{
	const struct win_spec *s = en->s;
	long grouped = en->c.events;

	for (int i = 0; i < s->nby + s->aggs.n; i++) {
		bool by = i < s->nby;
		const struct agg_spec *a = by ? NULL : &s->aggs.v[i - s->nby];
		long n = by ? grouped : en->valued, lack = en->missing[i];
		char what[256];

		if (a && a->arg == NULL)
			continue;
		if (by)
			snprintf(what, sizeof(what), "%s %s", by_option, s->by[i].name);
		else
			snprintf(what, sizeof(what), "--agg %s (%s)", a->name, a->arg_text);
		win_say_missing(what, lack, n);
	}
}

void
win_say_missing(const char *what, long lacked, long n)
{
	if (n > 0 && lacked == n)
		msg_note("%s: none of the %ld events has this field (mistyped?)", what, n);
	else if (lacked > 0)
		msg_verbose("%s: %ld of %ld events lack this field", what, lacked, n);
}

/* The rest of win_event, once the event's group and hash are known. */
static int
take_event(struct win_engine *en, int64_t *t, const struct json_doc *d, const char *line,
    size_t len, bool *late, struct err *e)
{
	const struct win_spec *s = en->s;
	bool over = false, is_late;
	int rc;

	if (s->type == WIN_SLIDING || s->type == WIN_SESSION) {
		/* Late: behind the watermark, where rows may have been written. */
		is_late = en->have_time && *t < mark_of(en);
	} else {
		is_late = en->have_closed && (s->end_inclusive ? *t <= en->closed :
		    *t < en->closed);
	}
	if (is_late) {
		*late = true;
		en->c.late++;
		if (s->drop_late) {
			en->c.dropped++;
			return WIN_DROPPED;
		}
		/* Adjust, as Stream Analytics: to the watermark, past what was written. */
		*t = mark_of(en);
		if (en->have_closed && (s->end_inclusive ? *t <= en->closed : *t < en->closed))
			*t = en->closed + (s->end_inclusive ? 1 : 0);
	}
	/*
	 * Time moves on first: what the new watermark completes is written
	 * before the event goes in (it cannot belong there), so its groups
	 * are free again and an early row shows the windows as of the mark.
	 */
	if (en->cur >= 0) {
		part_time(en, *t);
	} else if (!en->have_time || *t > en->max_time) {
		en->max_time = *t;
		en->have_time = true;
		win_advance(en, false);
	}
	en->vals_fresh = false;
	if (s->type == WIN_SLIDING || s->type == WIN_SESSION)
		rc = sgroup_event(en, *t, d, line, len, &over, e);
	else
		rc = fixed_add(en, *t, d, line, len, &over, e);
	count_missing(en);
	en->c.events++;
	if (over)
		en->c.over_groups++;
	/* A snapshot at the watermark itself, or a sliding point, may be due now. */
	win_advance(en, false);
	if (rc < 0)
		return -1;
	return over ? WIN_OVER_GROUPS : WIN_TAKEN;
}

int
win_event(struct win_engine *en, int64_t *t, const char *id, size_t idlen,
    const struct json_doc *d, const char *line, size_t len, bool *late, struct err *e)
{
	*late = false;
	if (id && duplicate(en, id, idlen, *t)) {
		en->c.duplicates++;
		return WIN_DUPLICATE;
	}
	if (group_of(en, d, line, len, e) < 0)
		return -1;
	en->h = line ? row_line_hash(line, len) : 0;
	return take_event(en, t, d, line, len, late, e);
}

int
win_event_values(struct win_engine *en, int64_t *t, const struct expr_val *by,
    const struct expr_val *args, uint64_t hash, bool *late)
{
	struct err e;
	int rc;

	*late = false;
	buf_reset(&en->key);
	buf_reset(&en->cols);
	for (int i = 0; i < en->s->nby; i++)
		group_col(en, i, &by[i]);
	en->h = hash;
	en->given = args;
	rc = take_event(en, t, NULL, NULL, 0, late, &e);
	en->given = NULL;
	return rc;
}

void
win_idle(struct win_engine *en, int64_t ms)
{
	int64_t m;

	if (ms <= 0)
		return;
	if (en->nparts > 0) {
		/* The whole input is quiet: every partition moves on, none holds. */
		for (int k = 0; k < en->nparts; k++)
			if (en->parts[k].max != INT64_MIN)
				en->parts[k].max += ms;
		for (int k = 0; k < en->nheap; k++)
			en->heap[k].max += ms;
		en->holding = false;
		if (part_max(en, &m)) {
			if (en->have_time && en->max_time + ms > m)
				m = en->max_time + ms;
			clock_to(en, m);
		}
		return;
	}
	if (!en->have_time)
		return;
	en->max_time += ms;
	win_advance(en, false);
}

void
win_advance(struct win_engine *en, bool all)
{
	int64_t mark = mark_of(en);
	bool any = false;

	if (en->s->type == WIN_SLIDING || en->s->type == WIN_SESSION) {
		long before = en->c.rows;

		sgroups_advance(en, all);
		any = en->c.rows != before;
	} else {
		while (en->nw > 0 && (all || complete(en, mark, en->w[0].end))) {
			emit_first(en);
			any = true;
		}
		if (en->s->early && en->have_time && !all) {
			long before = en->c.early_rows;

			emit_early(en, mark);
			any = any || en->c.early_rows != before;
		}
	}
	/* Each emission goes out at once: the next stage must not wait. */
	if (any && en->sink.done)
		en->sink.done(en->sink.arg);
}

/* ---- state ---- */

int
win_time(struct expr *x, const struct json_doc *d, const char *line, size_t len,
    int64_t *t, struct err *e)
{
	struct expr_val v;

	if (expr_eval(x, d, line, len, &v, e) < 0)
		return -1;
	if (v.type == EXPR_NUMBER && tfmt_from_number(v.num, TFMT_AUTO, t) == 0)
		return 0;
	if (v.type == EXPR_STRING && tfmt_parse(v.str, v.len, t, e) == 0)
		return 0;
	return err_set(e, ERR_DATA, "%s time (%s)", v.type == EXPR_NULL ? "missing" : "unparsable",
	    expr_source(x));
}

void
win_describe(const struct win_spec *s, struct buf *b)
{
	char q[256];

	snprintf(q, sizeof(q), "%s size=%lld hop=%lld offset=%lld max=%lld %s", type_names[s->type],
	    (long long)s->size, (long long)s->hop, (long long)s->offset,
	    (long long)s->max_duration, s->end_inclusive ? "(start,end]" : "[start,end)");
	buf_adds(b, q);
	for (int i = 0; i < s->nby; i++) {
		buf_adds(b, " by ");
		buf_adds(b, s->by[i].name);
		buf_addc(b, '=');
		buf_adds(b, expr_source(s->by[i].x));
	}
	for (int i = 0; i < s->aggs.n; i++) {
		buf_adds(b, " agg ");
		buf_adds(b, s->aggs.v[i].state_json);
		if (s->aggs.v[i].arg_text)
			buf_adds(b, s->aggs.v[i].arg_text);
	}
}

/* A digest of event hashes, as an _id is written. */
static void
put_digest(struct buf *b, uint64_t h)
{
	char t[17];

	row_hex_put(h, t);
	json_put_str(b, t, 16);
}

/* Read put_digest's text at token t; a state saved before digests has
 * none, and its rows' identities start again from 0. */
static int
get_digest(const struct json_doc *d, int t, uint64_t *h)
{
	size_t len;
	const char *p;

	*h = 0;
	if (t < 0)
		return 0;
	if (json_type(d, t) != JSON_STRING || (p = json_raw(d, t, &len)) == NULL ||
	    !row_hex_read(p, len, h))
		return -1;
	return 0;
}

void
win_save(const struct win_engine *en, struct buf *b)
{
	struct buf q = { 0 };
	struct strmap_entry *ge;
	size_t i = 0;

	win_describe(en->s, &q);
	buf_printf(b, "{\"csa_window_state\":%d", WIN_STATE_VERSION);
	json_key(b, "query");
	json_put_str(b, q.p, q.len);
	json_key(b, "max_time");
	json_put_int(b, en->max_time);
	json_key(b, "have_time");
	json_put_bool(b, en->have_time);
	json_key(b, "closed");
	json_put_int(b, en->closed);
	json_key(b, "have_closed");
	json_put_bool(b, en->have_closed);
	if (en->holding) {
		json_key(b, "holding");
		json_put_bool(b, true);
	}
	buf_adds(b, "}\n");
	buf_free(&q);
	for (int k = 0; k < en->nparts; k++) {
		const struct part *p = &en->parts[k];

		if (p->max == INT64_MIN)
			continue;
		buf_adds(b, "{\"part\":");
		json_put_str(b, p->key, p->klen);
		json_key(b, "t");
		json_put_int(b, p->max);
		buf_adds(b, "}\n");
	}
	for (int k = 0; k < en->nw; k++) {
		const struct window *w = &en->w[k];

		i = 0;
		while ((ge = strmap_next(&w->groups, &i)) != NULL) {
			const struct group *g = ge->p;

			buf_adds(b, "{\"w\":[");
			json_put_int(b, w->start);
			json_put_int(b, w->end);
			buf_addc(b, ']');
			json_key(b, "k");
			json_put_str(b, ge->key, ge->klen);
			json_key(b, "c");
			json_put_str(b, g->cols, strlen(g->cols));
			json_key(b, "s");
			agg_put_states(b, &en->s->aggs, g->st);
			json_key(b, "d");
			put_digest(b, g->digest);
			buf_adds(b, "}\n");
		}
	}
	i = 0;
	while ((ge = strmap_next(&en->sgroups, &i)) != NULL) {
		const struct sgroup *g = ge->p;

		buf_adds(b, "{\"g\":");
		json_put_str(b, ge->key, ge->klen);
		json_key(b, "c");
		json_put_str(b, g->cols, strlen(g->cols));
		json_key(b, "done");
		if (g->have_done)
			json_put_int(b, g->done);
		else
			json_put_null(b);
		json_key(b, "carry");
		if (g->carry) {
			buf_addc(b, '[');
			json_put_int(b, g->cstart);
			json_put_int(b, g->clast);
			json_put_int(b, g->ccut);
			buf_addc(b, ']');
		} else {
			json_put_null(b);
		}
		if (en->s->type == WIN_SLIDING) {
			json_key(b, "mid");
			json_put_int(b, (int64_t)(g->mid > g->head ? g->mid - g->head : 0));
		}
		json_key(b, "ev");
		buf_addc(b, '[');
		for (size_t k = g->head; k < g->n; k++) {
			json_sep(b);
			buf_addc(b, '[');
			json_put_int(b, g->ev[k]->t);
			agg_put_states(b, &en->s->aggs, g->ev[k]->st);
			put_digest(b, g->ev[k]->h);
			buf_addc(b, ']');
		}
		buf_adds(b, "]}\n");
	}
	i = 0;
	while ((ge = strmap_next(&en->seen, &i)) != NULL) {
		buf_adds(b, "{\"id\":");
		json_put_str(b, ge->key, ge->klen);
		json_key(b, "t");
		json_put_int(b, ge->a);
		buf_adds(b, "}\n");
	}
}

/* Read states written by agg_put_states at token t. */
static int
get_states(const struct win_engine *en, const struct json_doc *d, int t, struct agg_state *st)
{
	struct err e;

	return agg_get_states(&en->s->aggs, d, t, st, &e);
}

static int
get_int(const struct json_doc *d, int obj, const char *key, int64_t *out)
{
	return json_int64(d, json_member(d, obj, key, strlen(key)), out);
}

/* One line of a state: a fixed window's group, a sliding or session group, or an id. */
static int
load_line(struct win_engine *en, const struct json_doc *d, struct buf *key, struct buf *cols)
{
	const int n = en->s->aggs.n;
	int w = json_member(d, 0, "w", 1), g = json_member(d, 0, "g", 1);
	int id = json_member(d, 0, "id", 2), part = json_member(d, 0, "part", 4);
	struct strmap_entry *ge;
	bool added;
	int64_t a, b;

	buf_reset(key);
	buf_reset(cols);
	if (json_member(d, 0, "positions", 9) >= 0)
		return 0;	/* the command's, read by pos_find */
	if (part >= 0) {
		if (json_string(d, part, key) < 0 || get_int(d, 0, "t", &a) < 0 ||
		    strmap_get(&en->partmap, key->p ? key->p : "", key->len) != NULL)
			return -1;
		part_add(en, key->p ? key->p : "", key->len, a, 0);
		return 0;
	}
	if (id >= 0) {
		if (json_string(d, id, key) < 0 || get_int(d, 0, "t", &a) < 0)
			return -1;
		strmap_put(&en->seen, key->p ? key->p : "", key->len, &added)->a = a;
		return 0;
	}
	if (json_string(d, json_member(d, 0, "c", 1), cols) < 0)
		return -1;
	buf_addc(cols, '\0');
	if (w >= 0) {
		struct group *gr;
		struct window *win;

		if (json_size(d, w) != 2 || json_int64(d, json_elem(d, w, 0), &a) < 0 ||
		    json_int64(d, json_elem(d, w, 1), &b) < 0 ||
		    json_string(d, json_member(d, 0, "k", 1), key) < 0)
			return -1;
		win = window_at(en, b);
		win->start = a;
		ge = strmap_put(&win->groups, key->p ? key->p : "", key->len, &added);
		if (!added)
			return -1;
		gr = xcalloc(1, sizeof(*gr) + sizeof(struct agg_state) * (size_t)n);
		gr->cols = xstrdup(cols->p);
		ge->p = gr;
		en->live++;
		if (get_digest(d, json_member(d, 0, "d", 1), &gr->digest) < 0)
			return -1;
		return get_states(en, d, json_member(d, 0, "s", 1), gr->st);
	}
	if (g >= 0) {
		struct sgroup *sg;
		int evs = json_member(d, 0, "ev", 2), carry = json_member(d, 0, "carry", 5);
		int64_t start;

		if (json_string(d, g, key) < 0 || json_type(d, evs) != JSON_ARRAY)
			return -1;
		ge = strmap_put(&en->sgroups, key->p ? key->p : "", key->len, &added);
		if (!added)
			return -1;
		sg = xcalloc(1, sizeof(*sg));
		sg->cols = xstrdup(cols->p);
		ge->p = sg;
		en->live++;
		sg->have_done = get_int(d, 0, "done", &sg->done) == 0;
		if (json_type(d, carry) == JSON_ARRAY) {
			sg->carry = true;
			if (json_size(d, carry) != 3 ||
			    json_int64(d, json_elem(d, carry, 0), &sg->cstart) < 0 ||
			    json_int64(d, json_elem(d, carry, 1), &sg->clast) < 0 ||
			    json_int64(d, json_elem(d, carry, 2), &sg->ccut) < 0)
				return -1;
		}
		sg->cap = (size_t)json_size(d, evs) + 1;
		sg->ev = xcalloc(sg->cap, sizeof(*sg->ev));
		for (int k = 0; k < json_size(d, evs); k++) {
			int x = json_elem(d, evs, k);
			struct ev *e1 = xcalloc(1, ev_size(en));

			sg->ev[sg->n++] = e1;
			if (json_size(d, x) < 2 || json_size(d, x) > 3 ||
			    json_int64(d, json_elem(d, x, 0), &e1->t) < 0 ||
			    get_states(en, d, json_elem(d, x, 1), e1->st) < 0 ||
			    get_digest(d, json_size(d, x) == 3 ? json_elem(d, x, 2) : -1,
			    &e1->h) < 0 ||
			    (k > 0 && e1->t < sg->ev[k - 1]->t))
				return -1;
			if (sg->have_done && e1->t <= sg->done)
				sg->entered = sg->n;
		}
		if (en->s->type == WIN_SLIDING) {
			int64_t mid = 0;

			if (json_member(d, 0, "mid", 3) >= 0 && (get_int(d, 0, "mid", &mid) < 0 ||
			    mid < 0 || (uint64_t)mid > sg->entered))
				return -1;
			sg->back = xcalloc((size_t)n + 1, sizeof(*sg->back));
			sliding_restore(en, sg, (size_t)mid);
		}
		if (en->s->type == WIN_SESSION && (sg->n > 0 || sg->carry))
			session_head(en, sg, &start);
		note_due(en, sg);
		return 0;
	}
	return -1;
}

int
win_load(struct win_engine *en, const char *text, size_t len, const char *name,
    struct err *e)
{
	struct json_doc d;
	struct buf q = { 0 }, key = { 0 }, cols = { 0 };
	const char *p = text, *end = text + len;
	unsigned long lineno = 0;
	int rc = 0;

	json_doc_init(&d);
	win_describe(en->s, &q);
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct err pe;

		lineno++;
		if (json_parse(&d, p, n, &pe) < 0 || json_type(&d, 0) != JSON_OBJECT) {
			rc = err_set(e, ERR_IO, "%s:%lu: not a state line", name, lineno);
		} else if (lineno == 1) {
			int qt = json_member(&d, 0, "query", 5);
			int64_t version = 0;

			buf_reset(&key);
			if (json_int64(&d, json_member(&d, 0, "csa_window_state", 16), &version) < 0 ||
			    json_string(&d, qt, &key) < 0) {
				rc = err_set(e, ERR_IO, "%s:1: not a csa-window state", name);
			} else if (version != WIN_STATE_VERSION) {
				rc = err_set(e, ERR_USAGE, "%s: a csa-window state of format %lld, this "
				    "csa-window reads format %d: finish it with the csa-window that "
				    "wrote it (--no-keep-open), or remove it", name, (long long)version,
				    WIN_STATE_VERSION);
			} else if (key.len != q.len || memcmp(key.p, q.p, q.len) != 0) {
				buf_addc(&key, '\0');
				rc = err_set(e, ERR_USAGE, "%s: saved by another query (%s); "
				    "run with the same window, --by and --agg, or remove it", name,
				    key.p);
			} else {
				get_int(&d, 0, "max_time", &en->max_time);
				get_int(&d, 0, "closed", &en->closed);
				json_bool(&d, json_member(&d, 0, "have_time", 9), &en->have_time);
				json_bool(&d, json_member(&d, 0, "have_closed", 11),
				    &en->have_closed);
				json_bool(&d, json_member(&d, 0, "holding", 7), &en->holding);
			}
		} else if (load_line(en, &d, &key, &cols) < 0) {
			rc = err_set(e, ERR_IO, "%s:%lu: a damaged state line", name, lineno);
		}
		p += n + (nl != NULL);
	}
	if (rc == 0 && lineno == 0)
		rc = err_set(e, ERR_IO, "%s: an empty state file", name);
	json_doc_free(&d);
	buf_free(&q);
	buf_free(&key);
	buf_free(&cols);
	return rc;
}

/* For --metrics: what the engine holds now (window.h). */
void
win_gauges(const struct win_engine *en, struct win_gauges *g)
{
	g->have_mark = en->have_time;
	g->mark = mark_of(en);
	/* Tumbling, hopping and snapshot windows, or the groups of sliding and
	 * session ones: each holds rows still to come. */
	g->open = (long)en->nw + (long)en->sgroups.count;
}

const char *
win_partition_mark(const struct win_engine *en, int i, size_t *len, int64_t *mark)
{
	const struct part *p = &en->parts[i];

	*len = p->klen;
	*mark = p->max == INT64_MIN ? INT64_MIN : p->max - en->s->max_delay;
	return p->key;
}
