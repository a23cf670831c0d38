/*
 * fuzz-usgs: a fetched document as csa-usgs-fetch reads it (json_parse_stream
 * over "features", common/usgs per feature).  Every event line is one JSON
 * object whose event_id is the feature's id, whose region follows from its
 * epicentre, and whose id span is the id's text; a feature of a valid
 * document parses alone (the command re-reads it with json_parse_valid) and
 * gives the same line again.
 */
#include <config.h>

#include <stdbool.h>

#include "buf.h"
#include "json.h"
#include "usgs.h"
#include "fuzz.h"

static struct json_doc doc, one, line;
static struct buf a, b, s1, s2;

static int
fuzz_setup(void)
{
	json_doc_init(&doc);
	json_doc_init(&one);
	json_doc_init(&line);
	return 0;
}

/* String member key of the event line against token t of d. */
static void
same_string(const char *key, const struct json_doc *d, int t)
{
	int m = json_member(&line, 0, key, strlen(key));

	buf_reset(&s1);
	buf_reset(&s2);
	FUZZ_ASSERT(json_string(&line, m, &s1) == 0 && json_string(d, t, &s2) == 0 &&
	    s1.len == s2.len && (s1.len == 0 || memcmp(s1.p, s2.p, s1.len) == 0),
	    "%s differs from the feature's", key);
}

static int
on_feature(const struct json_doc *d, int f, void *arg)
{
	struct usgs_feature ft, ft1;
	struct usgs_event ev, ev1;
	double lon, lat, x;
	long *index = arg;
	struct err e;
	const char *text = d->text + d->tok[f].start;
	size_t len = (size_t)(d->tok[f].end - d->tok[f].start);
	int m;

	usgs_scan(d, f, &ft);
	if (usgs_check(d, &ft, &ev, &lon, &lat) < 0) {
		char name[300];

		usgs_name(d, &ft, (*index)++, name, sizeof(name));
		FUZZ_ASSERT(ev.why != NULL, "a skipped feature without a reason");
		return 0;
	}
	(*index)++;
	FUZZ_ASSERT(usgs_event(d, &ft, "2026-04-22T14:23:05.123Z", &a, &ev) == 0,
	    "usgs_check passed, usgs_event refused: %s", ev.why);
	FUZZ_ASSERT(json_parse(&line, a.p, a.len, &e) == 0 && json_type(&line, 0) == JSON_OBJECT,
	    "the event line is not a JSON object (%s): %.*s", e.msg, (int)a.len, a.p);
	same_string("event_id", d, ft.id);
	FUZZ_ASSERT(ev.id.off + ev.id.len <= a.len && json_raw(d, ft.id, &len) != NULL &&
	    len == ev.id.len && memcmp(a.p + ev.id.off, d->text + d->tok[ft.id].start, len) == 0,
	    "the id span is not the id's text");
	m = json_member(&line, 0, "longitude", 9);
	FUZZ_ASSERT(json_number(&line, m, &x) == 0 && x == lon, "longitude");
	m = json_member(&line, 0, "latitude", 8);
	FUZZ_ASSERT(json_number(&line, m, &x) == 0 && x == lat, "latitude");
	m = json_member(&line, 0, "region", 6);
	FUZZ_ASSERT(json_string_eq(&line, m, usgs_region(lat, lon)), "region");

	/* The feature alone, as emit_batch reads it again. */
	text = d->text + d->tok[f].start;
	len = (size_t)(d->tok[f].end - d->tok[f].start);
	FUZZ_ASSERT(json_parse(&one, text, len, &e) == 0, "a feature of a valid document "
	    "does not parse alone: %s", e.msg);
	usgs_scan(&one, 0, &ft1);
	FUZZ_ASSERT(usgs_event(&one, &ft1, "2026-04-22T14:23:05.123Z", &b, &ev1) == 0 &&
	    a.len == b.len && memcmp(a.p, b.p, a.len) == 0 && ev1.time == ev.time &&
	    ev1.updated == ev.updated, "the feature alone gives another event");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long nelem, index = 0;
	struct err e;

	json_parse_stream(&doc, (const char *)data, size, "features", on_feature, &index,
	    &nelem, &e);
	return 0;
}
