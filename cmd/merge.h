/* merge.h: csa-merge's pieces: the layers read, the buckets of the answer, its rows. */
#ifndef CSA_MERGE_H
#define CSA_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "agg.h"
#include "buf.h"
#include "err.h"
#include "msg.h"
#include "row.h"
#include "strmap.h"
#include "table.h"

/*
 * How a merge goes (csa-merge.c's run): merge-read.c reads the speed view
 * into cells and the batch view into buckets, merge-fit.c decides which
 * aggregates both layers share and which speed windows the answer takes
 * (the cutoff and the overlap), merge-buckets.c holds the buckets of
 * --every and --total, and merge-out.c writes them in order;
 * merge-anomalies.c answers --anomalies instead.  Every function that
 * can fail returns -1 with r->err filled in (ERR_USAGE: views that do not
 * fit together; ERR_IO: a file, with an empty message when it was said
 * already); run() says it and turns its kind into the exit status.
 */

enum { LAYER_BATCH, LAYER_SPEED, NLAYERS };
enum { FROM_BATCH = 1, FROM_SPEED = 2 };

/* What the answer's rows are called in data_freshness and sources. */
extern const char *const merge_layer_names[NLAYERS];

struct options {
	const char *path[NLAYERS];
	const char *view;
	bool have_cutoff, have_from, have_to, total, anomalies;
	bool no_state;		/* --no-state: rows without "_state" */
	bool compact;		/* --compact: rewrite the speed file, no answer */
	const char *writer_state;	/* --writer-state: its writer's csa-window --state */
	int64_t cutoff, overlap, every, from, to;
	double sigma;
	char **by;		/* --by column names; NULL: all group columns */
	int nby;
	enum table_format format;
};

/* A speed row kept until the cutoff is known (rows of one window and group merged). */
struct cell {
	int64_t start, end;
	char *cols;		/* every group column: "region":"alaska" */
	char *bcols;		/* the --by columns */
	bool early, session;
	struct agg_state *st;
	uint64_t *ids;		/* the _id of each final row merged in */
	size_t nids;
};

/* What the batch view holds for one group: its windows, for the overlap
 * rule, and its counts, for the anomaly baseline. */
struct history {
	int64_t *span;		/* start, end pairs */
	size_t n, cap;
	double sum, sum2;	/* of the count column */
};

/* One output row being built. */
struct bucket {
	int64_t start, end;
	const char *cols;	/* the --by columns, as kept in run.groups */
	int group;		/* their number there; after reading, their rank */
	int from;		/* FROM_BATCH | FROM_SPEED */
	bool early;
	struct agg_state st[];	/* the output aggregates */
};

/*
 * The buckets: with --every 1h a million batch rows are a million buckets,
 * so they are carved from large blocks and found through a table keyed by
 * window and group number, not by a copied string key each.
 */
struct bucket_table {
	struct bucket **slot;
	size_t cap, count;	/* cap: a power of two, or 0 */
	char **block;
	size_t nblock;
	char *next;		/* where the next bucket goes in the last block */
	size_t room;		/* bytes left there */
	size_t size;		/* of one bucket with its states */
	bool by_group;		/* --total: one bucket a group, its span grows */
};

struct layer {
	int id;
	struct row_reader *rd;
	/* What the first row set (the reader's), NULL before it. */
	const struct agg_list *aggs;	/* as its _state describes them */
	const char *sig;	/* its aggregate definitions */
	const char *gcols;	/* its group column names, comma-separated */
	const char *first;	/* its place, file:line */
	int count_col;		/* the first count aggregate, or -1 */
	bool overlapping;	/* hopping or sliding rows */
	int64_t lo, hi, wlen;	/* earliest start, latest end, window length */
	int64_t mark;		/* latest end of any row: the default cutoff */
	bool have_mark;
	bool mixed_len;
	long rows, rows_used;
};

struct run {
	const struct options *o;
	struct layer l[NLAYERS];
	int *map[NLAYERS];	/* output aggregate i is the layer's map[layer][i] */
	struct agg_list *out;	/* the aggregates of the answer */
	struct strmap cells;	/* speed: start,end,cols -> struct cell */
	struct strmap hist;	/* batch: cols -> struct history */
	struct strmap groups;	/* --by columns -> their number (a) */
	struct bucket_table buckets;
	int64_t cutoff;
	bool have_cutoff;
	struct msg_bad bad;	/* lines skipped */
	long repeats;		/* speed rows whose _id was merged already */
	long partial;		/* rows written marked partial */
	struct err err;		/* why a function returned -1 */
	struct buf key;		/* scratch */
};

/* merge-read.c: a layer's rows from a file, or every file of a view
 * directory, into cells (speed) or buckets (batch). */
int merge_read_path(struct run *r, struct layer *l, const char *path);

/* merge-fit.c: views that do not fit together: r->err, ERR_USAGE; -1. */
int merge_misfit(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The aggregates of the answer, once the first layer's first row is read. */
int merge_common_aggs(struct run *r);
/* After the input: the cutoff, the answer's aggregates, the speed rows it takes. */
int merge_settle(struct run *r);
/* Whether the speed window of c is part of the answer. */
bool merge_speed_wanted(const struct run *r, const struct cell *c);

/* merge-buckets.c: add a layer's row (its states st) to its bucket. */
int merge_add(struct run *r, int layer, int64_t start, int64_t end, bool session,
    bool early, const char *bcols, size_t blen, const struct agg_state *st);
/* The start of the window of length d (aligned to the epoch) that holds t. */
int64_t merge_align(int64_t t, int64_t d);
void merge_buckets_free(struct bucket_table *t);

/* merge-out.c: the answer's rows into out, in time order (or by events
 * for a table); how many in *nrow. */
void merge_answer(struct run *r, struct buf *out, size_t *nrow);
/* data_freshness and sources of a row made from the layers in from. */
void merge_put_sources(struct buf *b, int from);
/* Write out what is in out when rows can go as they are made. */
void merge_spill(const struct run *r, struct buf *out);

/* merge-compact.c: --compact: drop from the speed file the rows that no
 * answer with the cutoff (known by now) takes any more. */
int merge_compact(struct run *r);

/* merge-anomalies.c: --anomalies' rows into out; how many in *nrow. */
int merge_anomalies(struct run *r, struct buf *out, size_t *nrow);

#endif
