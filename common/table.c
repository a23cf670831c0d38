/* table.c: view rows as an aligned table on stdout (csa-merge --table). */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "msg.h"
#include "table.h"

/* A column of the table: its heading, its cells, its width. */
struct column {
	char *name;
	char **v;
	size_t width;
	bool num, fraction;
};

/* A value as the table shows it: strings bare, numbers as JSON writes
 * them (fractions are put to two places once the whole column is known). */
static char *
cell_text(const struct json_doc *d, int t, bool *fraction)
{
	struct buf v = { 0 };
	double x;

	if (json_type(d, t) == JSON_STRING)
		json_string(d, t, &v);
	else if (json_type(d, t) == JSON_NULL)
		buf_adds(&v, "-");
	else
		json_put_token(&v, d, t);
	if (json_number(d, t, &x) == 0 && x != floor(x))
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

/* The column named by key t, added when new. */
static struct column *
column_of(struct column **col, size_t *ncol, size_t nrow, const struct json_doc *d, int t)
{
	struct column *c;

	for (size_t i = 0; i < *ncol; i++)
		if (json_string_eq(d, t, (*col)[i].name))
			return &(*col)[i];
	*col = xrealloc(*col, sizeof(**col) * (*ncol + 1));
	c = &(*col)[(*ncol)++];
	c->name = json_strdup(d, t);
	c->v = xcalloc(nrow, sizeof(char *));
	c->width = strlen(c->name);
	c->num = json_type(d, t + 1) == JSON_NUMBER;
	c->fraction = false;
	return c;
}

int
table_print(const char *text, size_t len, size_t nrow)
{
	struct column *col = NULL;
	struct json_doc d;
	struct buf line = { 0 };
	struct err e;
	size_t ncol = 0, row = 0;

	json_doc_init(&d);
	for (const char *p = text; p < text + len; p = strchr(p, '\n') + 1, row++) {
		int n, key = 1;

		if (row == nrow)
			break;
		if (json_parse(&d, p, (size_t)(strchr(p, '\n') - p), &e) < 0) {
			msg_warn("table: %s", e.msg);	/* our own row: a bug */
			break;
		}
		n = json_size(&d, 0);
		for (int i = 0; i < n; i++, key = json_skip(&d, key + 1)) {
			struct column *c;
			size_t w;

			if (json_string_eq(&d, key, "_state") || json_string_eq(&d, key, "sources") ||
			    json_string_eq(&d, key, "_id"))
				continue;
			c = column_of(&col, &ncol, nrow, &d, key);
			c->v[row] = cell_text(&d, key + 1, &c->fraction);
			w = strlen(c->v[row]);
			c->width = w > c->width ? w : c->width;
		}
	}
	json_doc_free(&d);
	for (size_t c = 0; c < ncol; c++)
		if (col[c].num && col[c].fraction)
			two_places(&col[c], row);
	for (size_t i = 0; i <= row && ncol; i++) {
		buf_reset(&line);
		for (size_t c = 0; c < ncol; c++) {
			const char *v = i == 0 ? col[c].name : col[c].v[i - 1];

			buf_printf(&line, col[c].num ? "%s%*s" : "%s%-*s", c ? "  " : "",
			    (int)col[c].width, v ? v : "");
		}
		while (line.len && line.p[line.len - 1] == ' ')
			line.len--;
		line.p[line.len] = '\0';
		puts(line.p);
	}
	for (size_t c = 0; c < ncol; c++) {
		for (size_t i = 0; i < nrow; i++)
			free(col[c].v[i]);
		free(col[c].v);
		free(col[c].name);
	}
	free(col);
	buf_free(&line);
	return row == nrow ? 0 : -1;
}
