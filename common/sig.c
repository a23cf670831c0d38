/* sig.c: the stop request of SIGINT and SIGTERM. */
#include <config.h>

#include <string.h>

#include "sig.h"

volatile sig_atomic_t sig_stop;

static void
on_stop(int sig)
{
	(void)sig;
	sig_stop = 1;
}

void
sig_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
