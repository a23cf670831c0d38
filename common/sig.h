/* sig.h: SIGINT and SIGTERM as a request to stop, the same in every command. */
#ifndef CSA_SIG_H
#define CSA_SIG_H

#include <signal.h>

/* Set by SIGINT or SIGTERM once sig_catch_stop ran. */
extern volatile sig_atomic_t sig_stop;

/*
 * Catch SIGINT and SIGTERM: they set sig_stop.  The handlers are installed
 * without SA_RESTART, so a blocking read or wait returns (EINTR) and the
 * command can flush, checkpoint and exit.
 */
void sig_catch_stop(void);

#endif
