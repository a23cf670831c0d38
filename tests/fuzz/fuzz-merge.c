/*
 * fuzz-merge: view rows as csa-merge reads them (simdjson's fast_row and
 * the row reader of common/row.c, agg_state_read of common/agg.c), a batch view and a
 * speed view merged and written out.  The input is the batch view, a blank
 * line, then the speed view (the same rows serve both when there is no
 * blank line).  A bad or misfit row is reported, never a crash.  The
 * command's own run() is compiled in; its answer goes to /dev/null.
 */
#include <config.h>

#include "fuzz.h"

#define main csa_merge_main
int csa_merge_main(int argc, char **argv);
#include "../../cmd/csa-merge.c"
#undef main

static struct options opts;
static char *batch_path, *speed_path;

static int
fuzz_setup(void)
{
	batch_path = strdup(fuzz_path("batch.ndjson"));
	speed_path = strdup(fuzz_path("speed.ndjson"));
	FUZZ_PARSE(opts, "csa-merge", "--batch", batch_path, "--speed", speed_path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *blank = memmem(data, size, "\n\n", 2);
	size_t n = blank ? (size_t)(blank - data) + 1 : size;

	fuzz_file("batch.ndjson", data, n);
	if (blank)
		fuzz_file("speed.ndjson", blank + 2, size - n - 1);
	else
		fuzz_file("speed.ndjson", data, size);
	run(&opts);
	return 0;
}
