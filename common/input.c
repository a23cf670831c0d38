/* input.c: the one input loop: NDJSON objects from files or stdin, bad lines reported alike. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "expr.h"
#include "input.h"

_Static_assert(NDJSON_PADDING >= JSON_FAST_PADDING, "ndjson lines pad what simdjson reads");

void
input_init(struct input *in, char *const *files, int nfiles, size_t maxlen,
    enum input_parse parse, struct msg_bad *bad)
{
	memset(in, 0, sizeof(*in));
	in->files = files;
	in->nfiles = nfiles;
	in->maxlen = maxlen;
	in->parse = parse;
	in->bad = bad;
	if (parse != INPUT_RAW && (in->fast = json_fast_new()) != NULL)
		json_fast_padded_input(in->fast);	/* lines of the ndjson reader */
	json_doc_init(&in->doc);
	json_doc_init(&in->fdoc);
}

void
input_free(struct input *in)
{
	if (in->open)
		ndjson_close(&in->rd);
	in->open = false;
	json_fast_free(in->fast);
	in->fast = NULL;
	json_doc_free(&in->doc);
	json_doc_free(&in->fdoc);
}

void
input_fields(struct input *in, const char *const *paths, int n, enum json_fast_rest rest)
{
	if (in->fast != NULL && in->parse == INPUT_DOC)
		json_fast_fields(in->fast, paths, n, rest);
}

void
input_expr_fields(struct input *in, const struct expr *const *x, int n, enum json_fast_rest rest)
{
	const char **p = xmalloc(sizeof(*p) * (size_t)(n + 1));
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (x[i] != NULL && (p[k++] = expr_path(x[i])) == NULL) {
			free(p);
			return;
		}
	}
	input_fields(in, p, k, rest);
	free(p);
}

struct ndjson_reader *
input_reader(struct input *in)
{
	struct err e;
	const char *path;

	if (in->open)
		return &in->rd;
	if (in->next >= (in->nfiles > 0 ? in->nfiles : 1))
		return NULL;
	path = in->nfiles > 0 ? in->files[in->next] : "-";
	in->next++;
	if (ndjson_open(&in->rd, path, in->maxlen, &e) < 0) {
		/* Gone for good since it was listed: nothing of it to read. */
		if (in->skip_gone && access(path, F_OK) < 0 && errno == ENOENT)
			return input_reader(in);
		msg_error(&e);
		in->status = EXIT_IO;
		in->open_failed = true;
		return NULL;
	}
	in->rd.stop = in->stop;
	in->open = true;
	return &in->rd;
}

/* Whether the line is one JSON object; a document of it with INPUT_DOC.
 * simdjson answers the lines it can; jsmn the others, and says what is
 * wrong with a line that is not JSON. */
static bool
check(struct input *in, struct input_record *rec)
{
	struct err e;
	bool object;

	rec->doc = NULL;
	if (in->parse == INPUT_TOKENS && json_parse(&in->doc, rec->line, rec->len, &e) == 0) {
		object = json_type(&in->doc, 0) == JSON_OBJECT;
		rec->doc = &in->doc;
	} else if (in->parse == INPUT_TOKENS && in->fast != NULL &&
	    json_fast_check(in->fast, rec->line, rec->len, &object, NULL) == 1 && !object) {
		/* JSON that jsmn refused only for not being an object: say so */
	} else if (in->parse == INPUT_TOKENS) {
		msg_bad(in->bad, BAD_JSON, rec->file, rec->lineno, "%s", e.msg);
		return false;
	} else if (in->fast != NULL && (in->parse == INPUT_CHECK ?
	    json_fast_check(in->fast, rec->line, rec->len, &object, NULL) :
	    json_fast_load(in->fast, rec->line, rec->len, &object)) == 1) {
		if (object && in->parse == INPUT_DOC) {
			json_doc_fast(&in->fdoc, in->fast, rec->line, rec->len);
			rec->doc = &in->fdoc;
		}
	} else if (json_parse(&in->doc, rec->line, rec->len, &e) < 0) {
		msg_bad(in->bad, BAD_JSON, rec->file, rec->lineno, "%s", e.msg);
		return false;
	} else {
		object = json_type(&in->doc, 0) == JSON_OBJECT;
		rec->doc = &in->doc;
	}
	if (!object) {
		msg_bad(in->bad, BAD_OBJECT, rec->file, rec->lineno, "not a JSON object");
		return false;
	}
	return true;
}

int
input_next(struct input *in, struct input_record *rec)
{
	struct ndjson_reader *rd;
	struct err e;
	int rc;

	for (;;) {
		if ((rd = input_reader(in)) == NULL) {
			if (!in->open_failed)
				return 0;
			in->open_failed = false;
			return -1;
		}
		rc = ndjson_next(rd, &rec->line, &rec->len, &e);
		if (rc == 0) {
			ndjson_close(rd);
			in->open = false;
			continue;
		}
		if (rc < 0 && e.kind == ERR_DATA) {
			/* A line over the limit, skipped whole; the message names it. */
			msg_bad_error(in->bad, BAD_LONG, &e);
			continue;
		}
		if (rc < 0) {
			msg_error(&e);
			in->status = EXIT_IO;
			ndjson_close(rd);
			in->open = false;
			return -1;
		}
		rec->file = rd->name;
		rec->lineno = rd->lineno;
		if (in->parse == INPUT_RAW) {
			rec->doc = NULL;
			return 1;
		}
		if (check(in, rec))
			return 1;
	}
}
