/* cmd.c: what every command's main does, in one place. */
#include <config.h>

#include <signal.h>
#include <stdio.h>

#include "cmd.h"
#include "msg.h"
#include "opt.h"
#include "sig.h"

int
cmd_main(int argc, char **argv, const struct cmd_life *life, void *opts)
{
	int status;

	msg_init(argv[0]);
	status = life->parse(argc, argv, opts);
	if (status == OPT_RUN) {
		if (life->flags & CMD_CATCH_STOP)
			sig_catch_stop();
		if (life->flags & CMD_NO_SIGPIPE)
			signal(SIGPIPE, SIG_IGN);
		if (life->flags & CMD_BLOCK_STDOUT)
			setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
		status = life->run(opts);
		status = msg_worst(status, msg_close_stdout());
	}
	life->free(opts);
	return status;
}
