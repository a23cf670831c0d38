/* row.h: the view row, the one contract between the speed, batch and serving layers. */
#ifndef CSA_ROW_H
#define CSA_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "agg.h"
#include "buf.h"
#include "err.h"
#include "json.h"
#include "jsonfast.h"
#include "msg.h"

/*
 * A view row is one JSON object, its members in this order (csa(7), VIEW
 * ROWS):
 *
 *   "view"                 csa-batch-agg's rows on stdout: the view's name
 *   "window_type"          tumbling, hopping, sliding, session, snapshot
 *   "window_start", "window_end"
 *   "early": true          a running row of a window still open
 *   group columns          "region":"alaska", ...
 *   aggregate values       "event_count":12, ...
 *   markers                csa-merge's (data_freshness, sources, ...)
 *   "_id"                  16 hex digits: the window, group and input lines
 *   "_state"               per aggregate, what merging needs (common/agg)
 *
 * csa-window and csa-batch-agg write rows through the window engine,
 * csa-merge writes its answers with the same writer and reads every row
 * with the row reader below.
 */
struct row {
	const char *view;		/* NULL: no view member */
	const char *type;		/* window_type; NULL: none */
	int64_t start, end;
	bool early;
	const char *cols;		/* group columns as members ("region":"x",...), or "" */
	size_t cols_len;
	const char *key;		/* the group's values as JSON, each ending in NUL */
	size_t key_len;
	const struct agg_list *aggs;
	const struct agg_state *st;
	const char *markers;		/* members after the values ("a":1,"b":2), or NULL */
	bool have_digest;		/* write an _id from digest */
	uint64_t digest;		/* the sum of the hashes of the row's lines */
	bool no_state;			/* leave "_state" out: for readers, not merging */
};

/* Append row r and its newline to b. */
void row_put(struct buf *b, const struct row *r);

/* Whether name is a member that says what a row is (window_end, _id,
 * _into, csa-merge's markers ...): csa-merge does not read such a member
 * as a group column or a value, so none may be named so. */
bool row_meta_name(const char *name);

/* The hash of one input line, for a row's digest. */
uint64_t row_line_hash(const char *line, size_t len);

/* The text of an _id or a digest: 16 lower-case hex digits and a NUL; and
 * back (false for anything else). */
void row_hex_put(uint64_t x, char out[17]);
bool row_hex_read(const char *s, size_t len, uint64_t *x);

/*
 * Reading rows.  The first row a reader takes sets what the others must
 * match: the group columns, by name and order, and the aggregates of its
 * "_state".  Rows laid out as the first one was (nearly all of a view)
 * are read by simdjson without building tokens; any other row by jsmn,
 * which also says what is wrong with it.
 */
struct row_reader;

/* What row_read gives of a row.  Strings point into the reader and stay
 * valid until the next row_read. */
struct row_in {
	int64_t start, end;
	bool early, session;
	bool overlapping;		/* hopping or sliding */
	bool have_id;
	uint64_t id;
	const char *view;		/* NULL: none */
	const char *cols;		/* every group column as members */
	size_t cols_len;
	const char *bcols;		/* only the kept ones (row_reader_new's keep) */
	size_t bcols_len;
	struct agg_state *st;		/* the reader's aggregates' states */
	enum msg_bad_kind bad;		/* what sort of bad line, after ERR_DATA */
};

/* A reader that keeps, besides all group columns, those named in
 * keep[0..nkeep) (NULL: all of them) apart in bcols, and leaves out the
 * rows of views other than want_view (NULL: none left out).  fast: let
 * simdjson read the rows it can. */
struct row_reader *row_reader_new(char *const *keep, int nkeep, const char *want_view,
    bool fast);
void row_reader_free(struct row_reader *rr);

/*
 * Read one row: 1 read into *out; 0 left out (want_view); -1 with
 * ERR_DATA in e for a bad line (to skip), or ERR_USAGE for a row that
 * does not fit the first or cannot be merged, its message naming the
 * row's file and line.
 */
int row_read(struct row_reader *rr, const char *line, size_t len, const char *file,
    unsigned long lineno, struct row_in *out, struct err *e);

/* After the first row: its aggregates, its group column names (comma-
 * separated), its place (file:line), its aggregate definitions as text
 * ("n=count(), m=avg(magnitude)"); and how many rows simdjson read. */
const struct agg_list *row_reader_aggs(const struct row_reader *rr);
const char *row_reader_columns(const struct row_reader *rr);
const char *row_reader_first(const struct row_reader *rr);	/* NULL before */
const char *row_reader_signature(const struct row_reader *rr);
long row_reader_fast_rows(const struct row_reader *rr);

#endif
