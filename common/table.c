/* table.c: rows of NDJSON as an aligned table, CSV or TSV on stdout (--format). */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "msg.h"
#include "table.h"

/* A column: its heading, its cells (NULL: the row has no such member),
 * its width. */
struct column {
	char *name;
	char **v;
	size_t width;
	bool num, fraction;
};

struct table {
	enum table_format f;
	struct column *col;
	size_t ncol, nrow;
};

int
table_format_parse(const char *name, enum table_format *f)
{
	static const char *const names[] = { "ndjson", "csv", "tsv", "table" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*f = (enum table_format)i;
			return 0;
		}
	return -1;
}

/* s as a CSV field: quoted when it holds a comma, a quote or a line
 * break, and when it is empty, so that an empty string is not read
 * as a missing value. */
static void
put_csv(struct buf *b, const char *s, size_t n)
{
	if (n > 0 && strcspn(s, ",\"\r\n") >= n) {
		buf_add(b, s, n);
		return;
	}
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_addc(b, '"');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

/* s as a TSV field: tab, line breaks and backslash escaped as \t, \n,
 * \r and \\ (what PostgreSQL's COPY, Miller and DuckDB read back). */
static void
put_tsv(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *esc = s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n" :
		    s[i] == '\r' ? "\\r" : s[i] == '\\' ? "\\\\" : NULL;

		if (esc)
			buf_adds(b, esc);
		else
			buf_addc(b, s[i]);
	}
}

/*
 * A value as its cell: strings bare (escaped for CSV and TSV), numbers
 * as the row has them (the shortest form that reads back; fractions of
 * a table are put to two places once the whole column is known), null
 * as "-" in a table and empty otherwise, arrays and objects as JSON.
 */
static char *
cell_text(const struct table *t, const struct json_doc *d, int k, bool *fraction)
{
	struct buf v = { 0 }, s = { 0 };
	double x;

	if (json_type(d, k) == JSON_NULL)
		buf_adds(&v, t->f == TABLE_ALIGNED ? "-" : "");
	else if (json_type(d, k) == JSON_STRING && t->f == TABLE_ALIGNED)
		json_string(d, k, &v);
	else {
		if (json_type(d, k) == JSON_STRING)
			json_string(d, k, &s);
		else
			json_put_token(&s, d, k);
		if (t->f == TABLE_CSV)
			put_csv(&v, s.p ? s.p : "", s.len);
		else if (t->f == TABLE_TSV)
			put_tsv(&v, s.p ? s.p : "", s.len);
		else
			buf_add(&v, s.p ? s.p : "", s.len);
		buf_free(&s);
	}
	if (json_number(d, k, &x) == 0 && x != floor(x))
		*fraction = true;
	return v.p ? buf_steal(&v) : xstrdup("");
}

/* Numbers of a column with fractions, all to two places, so they line up. */
static void
two_places(struct column *c, size_t nrow)
{
	c->width = strlen(c->name);
	for (size_t i = 0; i < nrow; i++) {
		char *end;
		double x = c->v[i] ? strtod(c->v[i], &end) : 0;
		size_t w;

		if (c->v[i] && end != c->v[i] && *end == '\0') {
			struct buf v = { 0 };

			buf_printf(&v, "%.2f", x);
			free(c->v[i]);
			c->v[i] = buf_steal(&v);
		}
		w = c->v[i] ? strlen(c->v[i]) : 0;
		c->width = w > c->width ? w : c->width;
	}
}

/* The column named by key k, added when new. */
static struct column *
column_of(struct table *t, size_t nrow, const struct json_doc *d, int k)
{
	struct column *c;

	for (size_t i = 0; i < t->ncol; i++)
		if (json_string_eq(d, k, t->col[i].name))
			return &t->col[i];
	t->col = xrealloc(t->col, sizeof(*t->col) * (t->ncol + 1));
	c = &t->col[t->ncol++];
	c->name = json_strdup(d, k);
	c->v = xcalloc(nrow, sizeof(char *));
	c->width = strlen(c->name);
	c->num = json_type(d, k + 1) == JSON_NUMBER;
	c->fraction = false;
	return c;
}

/* Whether a table leaves member k out: "_state", "_id" and "sources"
 * (data_freshness says the same) are for programs. */
static bool
left_out(const struct table *t, const struct json_doc *d, int k)
{
	return t->f == TABLE_ALIGNED && (json_string_eq(d, k, "_state") ||
	    json_string_eq(d, k, "sources") || json_string_eq(d, k, "_id"));
}

/* The cells of the first nrow rows of text; 0, or -1 when a row is not
 * JSON (said). */
static int
table_read(struct table *t, const char *text, size_t len, size_t nrow)
{
	struct json_doc d;
	struct err e;
	int rc = 0;

	json_doc_init(&d);
	for (const char *p = text; p < text + len && t->nrow < nrow; p = strchr(p, '\n') + 1) {
		int n, key = 1;

		if (json_parse(&d, p, (size_t)(strchr(p, '\n') - p), &e) < 0) {
			msg_warn("table: %s", e.msg);	/* our own row: a bug */
			rc = -1;
			break;
		}
		n = json_size(&d, 0);
		for (int i = 0; i < n; i++, key = json_skip(&d, key + 1)) {
			struct column *c;
			size_t w;

			if (left_out(t, &d, key))
				continue;
			c = column_of(t, nrow, &d, key);
			c->v[t->nrow] = cell_text(t, &d, key + 1, &c->fraction);
			w = strlen(c->v[t->nrow]);
			c->width = w > c->width ? w : c->width;
		}
		t->nrow++;
	}
	json_doc_free(&d);
	return rc;
}

/* Line i of the table (0: the headings) into line. */
static void
table_line(const struct table *t, size_t i, struct buf *line)
{
	buf_reset(line);
	for (size_t c = 0; c < t->ncol; c++) {
		const struct column *col = &t->col[c];
		const char *v = i == 0 ? NULL : col->v[i - 1];

		if (t->f == TABLE_ALIGNED) {
			buf_printf(line, col->num ? "%s%*s" : "%s%-*s", c ? "  " : "",
			    (int)col->width, i == 0 ? col->name : v ? v : "");
			continue;
		}
		if (c)
			buf_addc(line, t->f == TABLE_CSV ? ',' : '\t');
		if (i == 0 && t->f == TABLE_CSV)
			put_csv(line, col->name, strlen(col->name));
		else if (i == 0)
			put_tsv(line, col->name, strlen(col->name));
		else if (v)
			buf_adds(line, v);
	}
	while (t->f == TABLE_ALIGNED && line->len && line->p[line->len - 1] == ' ')
		line->len--;
	buf_addc(line, '\n');
}

int
table_write(enum table_format f, const char *text, size_t len, size_t nrow)
{
	struct table t = { .f = f };
	struct buf line = { 0 };
	int rc;

	if (f == TABLE_NDJSON) {
		fwrite(text, 1, len, stdout);
		return 0;
	}
	rc = table_read(&t, text, len, nrow);
	for (size_t c = 0; c < t.ncol && f == TABLE_ALIGNED; c++)
		if (t.col[c].num && t.col[c].fraction)
			two_places(&t.col[c], t.nrow);
	/* A table of no rows is nothing; CSV and TSV of no rows are too, as
	 * there are no column names to give. */
	for (size_t i = 0; i <= t.nrow && t.ncol; i++) {
		table_line(&t, i, &line);
		fwrite(line.p, 1, line.len, stdout);
	}
	for (size_t c = 0; c < t.ncol; c++) {
		for (size_t i = 0; i < nrow; i++)
			free(t.col[c].v[i]);
		free(t.col[c].v);
		free(t.col[c].name);
	}
	free(t.col);
	buf_free(&line);
	return rc;
}
