/*
 * fuzz-batch-state: an --incremental state (a SQLite file) as csa-batch-agg
 * reads it: every day it holds is written again from the stored lines, as a
 * run that touched every day would (evstore, then the command's
 * write_views).  A damaged or tampered store is an error, never a crash.
 * The command's own code is compiled in; the views go to /dev/null.
 */
#include <config.h>

#include "fuzz.h"

#define main csa_batch_agg_main
int csa_batch_agg_main(int argc, char **argv);
#include "../../cmd/csa-batch-agg.c"
#undef main

static struct options opts;
static char *state_path, *query;

static int
fuzz_setup(void)
{
	state_path = strdup(fuzz_path("state.db"));
	FUZZ_PARSE(opts, "csa-batch-agg", "--preset", "earthquake", "--incremental", state_path);
	query = query_text(&opts);
	return 0;
}

/* A touched day, as touch_day keeps it; many days of a damaged store
 * would only cost time. */
static void
take_day(int64_t day, void *arg)
{
	struct run *r = arg;

	if (r->days.count < 64)
		touch_day(day, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const side[] = { "state.db-wal", "state.db-shm", "state.db-journal" };
	struct run r;
	struct err e;

	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++)
		unlink(fuzz_path(side[i]));
	fuzz_file("state.db", data, size);
	memset(&r, 0, sizeof(r));
	r.o = &opts;
	strmap_init(&r.days);
	r.st = evstore_open(state_path, query, 0, &e);
	if (r.st != NULL) {
		if (evstore_days(r.st, take_day, &r, &e) == 0)
			write_views(&r);
		evstore_close(r.st, false, NULL);
	}
	strmap_free(&r.days);
	return 0;
}
