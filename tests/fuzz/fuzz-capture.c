/*
 * fuzz-capture: a Capture Avro file as csa-capture-read reads it
 * (common/capture.c on avro-c), with and without the property maps.  A
 * damaged file is an error, never a crash; the record count is the same
 * either way; and the property maps come out as JSON objects that
 * json_parse accepts.
 */
#include <config.h>

#include <stdbool.h>

#include "capture.h"
#include "json.h"
#include "fuzz.h"

enum { MAX_RECORDS = 4096 };

static struct json_doc doc;
static volatile unsigned char body_sum;

static int
fuzz_setup(void)
{
	json_doc_init(&doc);
	return 0;
}

/* Read the file at path through; the records read, or -1 when damaged. */
static long
read_all(const char *path, bool props)
{
	struct capture_reader *r;
	struct capture_event ev;
	struct err e;
	long n = 0;
	int rc = 0;

	if ((r = capture_reader_open(path, &e)) == NULL)
		return -2;
	while (n < MAX_RECORDS && (rc = capture_reader_next(r, &ev, props, &e)) == 1) {
		n++;
		FUZZ_ASSERT(ev.offset != NULL && ev.enqueued_text != NULL, "record %ld", n);
		FUZZ_ASSERT(ev.body != NULL || ev.len == 0, "record %ld: a null body of %zu bytes",
		    n, ev.len);
		for (size_t i = 0; i < ev.len; i++)	/* all of it is readable */
			body_sum ^= ((const unsigned char *)ev.body)[i];
		if (!props)
			continue;
		FUZZ_ASSERT(json_parse(&doc, ev.sys_json, strlen(ev.sys_json), &e) == 0 &&
		    json_type(&doc, 0) == JSON_OBJECT, "record %ld: SystemProperties: %s", n,
		    ev.sys_json);
		FUZZ_ASSERT(json_parse(&doc, ev.props_json, strlen(ev.props_json), &e) == 0 &&
		    json_type(&doc, 0) == JSON_OBJECT, "record %ld: Properties: %s", n,
		    ev.props_json);
	}
	FUZZ_ASSERT(capture_reader_count(r) == n, "count %ld, read %ld", capture_reader_count(r),
	    n);
	capture_reader_close(r);
	return n == MAX_RECORDS || rc == 0 ? n : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("capture.avro", data, size);
	long full = read_all(path, true), lean = read_all(path, false);

	FUZZ_ASSERT(full == lean, "%ld records with the property maps, %ld without", full,
	    lean);
	return 0;
}
