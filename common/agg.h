/* agg.h: aggregates with mergeable state, shared by speed, batch and serving. */
#ifndef CSA_AGG_H
#define CSA_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "expr.h"
#include "json.h"
#include "jsonfast.h"

/*
 * An aggregate is NAME=FUNC(ARG): count, sum(F), avg(F), min(F), max(F),
 * stddev(F), count_if(F OP VALUE) with OP one of >= > <= < == != and a
 * number or a string VALUE.  F is a field expression (common/expr).
 *
 * Each aggregate keeps a state that merges exactly: rows of different
 * partitions, windows or layers combine without averaging averages.
 * stddev keeps (n, mean, m2) and merges them with Chan's formula; it is
 * the sample standard deviation, as Stream Analytics' STDEV.
 *
 * A value that is null or not a number is left out of sum, avg, min, max
 * and stddev, and counted in `skipped`.
 *
 * Three aggregates keep a sketch besides (common/hll, common/tdigest),
 * which merges like the rest, with the error bounds their headers state:
 * count_distinct(F) counts the distinct values of F that are not null
 * (exactly up to HLL_EXACT of them); percentile(F, P), P in [0, 1], is
 * PERCENTILE_CONT of F's numbers (exact up to about a hundred values);
 * median(F) is percentile(F, 0.5).  A state owns its sketch: states of
 * these are released with agg_states_free, and agg_merge copies what it
 * takes from another state, never its pointer.
 */
enum agg_fn {
	AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_STDDEV, AGG_COUNT_IF,
	AGG_COUNT_DISTINCT, AGG_PERCENTILE, AGG_MEDIAN, AGG_NFN
};

enum agg_op { OP_GE, OP_GT, OP_LE, OP_LT, OP_EQ, OP_NE };

struct agg_spec {
	char *name;
	enum agg_fn fn;
	char *arg_text;		/* the argument as written, for the state */
	struct expr *arg;	/* NULL for count */
	enum agg_op op;		/* count_if */
	bool rhs_is_num;
	double rhs_num;		/* count_if's number; percentile's P */
	char *rhs_str;
	/* Rendered once: "name": and "name":{"f":...,"x":...,"n": */
	char *key_json;
	char *state_json;
};

struct hll;
struct tdigest;

struct agg_state {
	int64_t n;		/* values taken in (count: events) */
	int64_t skipped;	/* null or non-numeric values left out */
	double sum, min, max, mean, m2;
	struct hll *hll;	/* count_distinct, once it took a value */
	struct tdigest *td;	/* percentile and median, the same */
};

/* A list of aggregates in output order; owns its specs. */
struct agg_list {
	struct agg_spec *v;
	int n;
	/* Each spec's argument is evaluated once per event even when several
	 * aggregates share it: slot[i] is the first spec with the same text. */
	int *slot;
};

/* Parse "NAME=FUNC(ARG)[,NAME=FUNC(ARG)...]" and append; ERR_USAGE naming
 * the part that is wrong. */
int agg_parse(struct agg_list *l, const char *text, struct err *e);
void agg_list_free(struct agg_list *l);

/* Split at commas outside brackets and quotes (jq arguments keep theirs).
 * Returns the number of parts; *parts are new strings, caller frees each
 * and the array. */
int agg_split(const char *text, char ***parts);

/*
 * Take one event into every aggregate (st[i] for spec i), evaluating each
 * distinct argument once into vals (the caller's scratch, l->n entries).
 * -1 with e when some jq argument failed; the aggregates it fed counted
 * the event as skipped.
 */
int agg_add_all(const struct agg_list *l, struct agg_state *st, struct expr_val *vals,
    const struct json_doc *d, const char *line, size_t len, struct err *e);

/* The same with the arguments evaluated before: vals[l->slot[i]] is the
 * value of spec i's argument (what agg_add_all would have evaluated). */
void agg_add_values(const struct agg_list *l, struct agg_state *st, const struct expr_val *vals);

/* Release the sketches of n states and zero them (NULL or none is fine). */
void agg_states_free(struct agg_state *st, int n);

/* dst[0..n) = src[0..n), each sketch copied (dst's old ones released). */
void agg_states_copy(struct agg_state *dst, const struct agg_state *src, int n);

/* Whether some aggregate of l keeps a sketch (and so needs agg_states_free). */
bool agg_has_sketch(const struct agg_list *l);

/* Merge from into into (same spec). */
void agg_merge(const struct agg_spec *s, struct agg_state *into, const struct agg_state *from);

/* The aggregate's value; *isnull when there is none (avg of nothing). */
double agg_value(const struct agg_spec *s, const struct agg_state *st, bool *isnull);

/* Append "name":value for each aggregate. */
void agg_put_values(struct buf *b, const struct agg_list *l, const struct agg_state *st);

/* Append "_state":{"name":{"f":...,"x":...,"n":...,...},...}: what a merge needs.
 * A sketch goes in as "sketch": the base64 of its binary form (see hll.h
 * and tdigest.h; its first byte is the version). */
void agg_put_state(struct buf *b, const struct agg_list *l, const struct agg_state *st);

/*
 * The one codec of aggregate states, for rows and for saved window state
 * alike: agg_put_states appends the object {"name":{...},...} (the value
 * of a row's "_state"); agg_get_states reads one written for the same
 * list at token t, member by member in order (ERR_DATA when it is not).
 */
void agg_put_states(struct buf *b, const struct agg_list *l, const struct agg_state *st);
int agg_get_states(const struct agg_list *l, const struct json_doc *d, int t,
    struct agg_state *st, struct err *e);

/*
 * Reading rows back (the serving layer).  agg_state_specs appends to l the
 * aggregates a row's "_state" object (token t) describes, in its order;
 * their argument expressions are not compiled (l merges, it does not
 * evaluate).  ERR_DATA naming the member that is not a state.
 */
int agg_state_specs(struct agg_list *l, const struct json_doc *d, int t, struct err *e);

/* The numbers of one aggregate's state object (token t) into *st (whose
 * old sketch is released); ERR_DATA when a number the function needs is
 * missing or its sketch is not one. */
int agg_state_read(const struct agg_spec *s, const struct json_doc *d, int t,
    struct agg_state *st, struct err *e);

/*
 * agg_state_read for a row laid flat by json_fast_items, its state object
 * at item t: 0, or -1 when a number is missing or not plain (n written as
 * 21.0, say), for agg_state_read to read the row and say what is wrong.
 */
int agg_state_take(const struct agg_spec *s, const struct json_fast_item *it, int t,
    struct agg_state *st);

/* The value of an output column of a row: a group field or an aggregate.
 * 0 and *out when the column exists. */
int agg_column(const struct agg_list *l, const struct agg_state *st, const char *name,
    double *out, bool *isnull);

/* A --having condition: COLUMN OP VALUE. */
struct agg_having {
	char *column;
	enum agg_op op;
	double value;
};

int agg_having_parse(const char *text, struct agg_having *h, struct err *e);
bool agg_compare(double lhs, enum agg_op op, double rhs);

#endif
