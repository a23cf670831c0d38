/* table.h: view rows as an aligned table on stdout (csa-merge --table). */
#ifndef CSA_TABLE_H
#define CSA_TABLE_H

#include <stddef.h>

/*
 * The first nrow rows of text (NDJSON, one row a line) as an aligned
 * table: every member any row has, in the order first seen, but "_state",
 * "_id" and "sources" (data_freshness says the same); strings bare, null
 * as "-", numbers to the right, a column with fractions to two places.
 * 0, or -1 when a row is not JSON (said).
 */
int table_print(const char *text, size_t len, size_t nrow);

#endif
