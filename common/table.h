/* table.h: rows of NDJSON as an aligned table, CSV or TSV on stdout (--format). */
#ifndef CSA_TABLE_H
#define CSA_TABLE_H

#include <stddef.h>

/* What --format names; TABLE_NDJSON writes the rows as they are. */
enum table_format { TABLE_NDJSON, TABLE_CSV, TABLE_TSV, TABLE_ALIGNED };

/* --format's value ("ndjson", "csv", "tsv", "table") into *f; -1 for
 * any other. */
int table_format_parse(const char *name, enum table_format *f);

/*
 * The first nrow rows of text (NDJSON, one row a line) on stdout in
 * format f.  Columns are every member any row has, in the order first
 * seen; a row without one has an empty cell.
 *
 * csv and tsv: a header row of the names, then a line a row; numbers as
 * the rows have them (the shortest form that reads back exactly), null
 * empty, arrays and objects ("_state", "sources") as compact JSON.  CSV
 * quotes a field holding a comma, a quote or a line break (RFC 4180, "\n"
 * line ends) and an empty string; TSV escapes tab, CR, LF and backslash
 * as \t, \r, \n and \\.
 *
 * table: aligned, without "_state", "_id" and "sources"; strings bare,
 * null as "-", numbers to the right, a column with fractions to two
 * places.
 *
 * 0, or -1 when a row is not JSON (said).
 */
int table_write(enum table_format f, const char *text, size_t len, size_t nrow);

#endif
