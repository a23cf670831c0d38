/* positions.c: the positions line of a state, one writer and one reader. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "positions.h"

static const char head[] = "{\"positions\":";

void
pos_init(struct positions *p)
{
	for (int i = 0; i < POS_MAX; i++)
		p->last[i] = -1;
	p->out_length = -1;
}

void
pos_put(const struct positions *p, struct buf *b)
{
	char num[16];

	buf_adds(b, head);
	buf_addc(b, '{');
	for (int i = 0; i < POS_MAX; i++) {
		if (p->last[i] < 0)
			continue;
		snprintf(num, sizeof(num), "%d", i);
		json_key(b, num);
		json_put_int(b, p->last[i]);
	}
	buf_addc(b, '}');
	if (p->out_length >= 0) {
		json_key(b, "out_length");
		json_put_int(b, p->out_length);
	}
	buf_adds(b, "}\n");
}

int
pos_parse(struct positions *p, const char *line, size_t len)
{
	struct json_doc d;
	struct buf key = { 0 };
	struct err e;
	int obj, ol, rc = 1;

	if (len < sizeof(head) - 1 || memcmp(line, head, sizeof(head) - 1) != 0)
		return 0;
	pos_init(p);
	json_doc_init(&d);
	if (json_parse(&d, line, len, &e) < 0 || json_type(&d, 0) != JSON_OBJECT ||
	    json_type(&d, (obj = json_member(&d, 0, "positions", 9))) != JSON_OBJECT) {
		rc = -1;
		goto out;
	}
	for (int i = 0, t = obj + 1; i < json_size(&d, obj); i++) {
		int64_t part, seq;
		char *end;

		buf_reset(&key);
		if (json_string(&d, t, &key) < 0 || json_int64(&d, t + 1, &seq) < 0 || seq < 0) {
			rc = -1;
			goto out;
		}
		buf_addc(&key, '\0');
		part = strtoll(key.p, &end, 10);
		if (end == key.p || *end || part < 0 || part >= POS_MAX) {
			rc = -1;
			goto out;
		}
		p->last[part] = seq;
		t = json_skip(&d, t + 1);
	}
	ol = json_member(&d, 0, "out_length", 10);
	if (ol >= 0 && (json_int64(&d, ol, &p->out_length) < 0 || p->out_length < 0))
		rc = -1;
out:
	json_doc_free(&d);
	buf_free(&key);
	return rc;
}

int
pos_find(struct positions *p, const char *text, size_t len)
{
	const char *s = text, *end = text + len;

	pos_init(p);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		int rc = pos_parse(p, s, n);

		if (rc != 0)
			return rc;
		s += n + 1;
	}
	pos_init(p);
	return 0;
}

int
pos_read_file(const char *path, struct positions *p, struct err *e)
{
	char *text;
	size_t len;
	int rc = fs_read_all(path, &text, &len, e);

	if (rc != 0) {
		pos_init(p);
		return rc < 0 ? -1 : 0;
	}
	rc = pos_find(p, text, len);
	free(text);
	if (rc < 0)
		return err_set(e, ERR_IO, "%s: a damaged positions line", path);
	return rc;
}
