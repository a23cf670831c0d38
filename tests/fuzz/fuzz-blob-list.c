/*
 * fuzz-blob-list: a page of a Blob Storage listing (List Blobs' XML, read
 * by expat in common/blob.c): damage is an error, never a crash; every
 * blob listed has a name and an ETag; what a page gives is the same when
 * read again.
 */
#include <config.h>

#include "blob.h"
#include "fuzz.h"

static int
fuzz_setup(void)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob_list a = { 0 }, b = { 0 };
	char *next = NULL, *next2 = NULL;
	struct err e;
	int rc, rc2;

	rc = blob_parse_listing((const char *)data, size, &a, &next, &e);
	FUZZ_ASSERT(rc == 0 || e.kind == ERR_DATA, "a fault that is not ERR_DATA");
	FUZZ_ASSERT(rc < 0 || next == NULL || *next != '\0', "an empty NextMarker kept");
	for (size_t i = 0; i < a.n; i++)
		FUZZ_ASSERT(a.v[i].name && *a.v[i].name && a.v[i].etag, "blob %zu lacks a name or"
		    " an ETag", i);
	rc2 = blob_parse_listing((const char *)data, size, &b, &next2, &e);
	FUZZ_ASSERT(rc2 == rc && b.n == a.n, "read again, %zu blobs, not %zu", b.n, a.n);
	for (size_t i = 0; i < a.n; i++)
		FUZZ_ASSERT(strcmp(a.v[i].name, b.v[i].name) == 0 &&
		    strcmp(a.v[i].etag, b.v[i].etag) == 0 && a.v[i].size == b.v[i].size,
		    "blob %zu differs read again", i);
	free(next);
	free(next2);
	blob_list_free(&a);
	blob_list_free(&b);
	return 0;
}
