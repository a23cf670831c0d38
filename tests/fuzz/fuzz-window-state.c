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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *args[] = {
	    (char *)"csa-window", (char *)"--preset", (char *)"earthquake",
	    (char *)"--state", NULL, NULL
	};

	(void)argc;
	(void)argv;
	fuzz_init();
	state_path = strdup(fuzz_path("state"));
	args[4] = state_path;
	msg_init(args[0]);
	fuzz_quiet_stdio();
	FUZZ_ASSERT(parse_options(5, args, &opts) == OPT_RUN, "the options");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_file("state", data, size);
	run(&opts);
	return 0;
}
