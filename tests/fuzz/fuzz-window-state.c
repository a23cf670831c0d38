/*
 * fuzz-window-state: a --state file as csa-window reads it on start
 * (win_load in common/window.c), then the windows it holds written out at
 * the end of an empty input, as a restarted speed layer does.  Damage is
 * an error, never a crash.  The command's own run() is compiled in.
 */
#include <config.h>

#include "fuzz.h"

#define main csa_window_main
int csa_window_main(int argc, char **argv);
#include "../../cmd/csa-window.c"
#undef main

static struct options opts;
static char *state_path;

static int
fuzz_setup(void)
{
	state_path = strdup(fuzz_path("state"));
	FUZZ_PARSE(opts, "csa-window", "--preset", "earthquake", "--state", state_path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_file("state", data, size);
	run(&opts);
	return 0;
}
