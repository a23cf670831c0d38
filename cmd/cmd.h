/* cmd.h: what every command's main does, in one place. */
#ifndef CSA_CMD_H
#define CSA_CMD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A command's life: its options, its run, and what its options hold.
 * Each takes the command's own struct options.
 */
struct cmd_life {
	/* Fill the options: OPT_RUN to go on, else the exit status. */
	int (*parse)(int argc, char **argv, void *opts);
	/* Do the work: the exit status. */
	int (*run)(void *opts);
	/* Free what parse took; also after parse stopped early (parse
	 * clears the options before anything can fail). */
	void (*free)(void *opts);
	unsigned flags;		/* CMD_* */
};

enum {
	CMD_CATCH_STOP = 1,	/* SIGINT and SIGTERM set sig_stop (sig.h) */
	CMD_NO_SIGPIPE = 2,	/* a closed stdout is EPIPE, not a kill */
	CMD_BLOCK_STDOUT = 4,	/* write stdout in 64 KiB blocks */
	CMD_OWN_STDOUT = 8	/* lines come in large chunks gathered by the
				 * command: stdout unbuffered, not copied again */
};

/*
 * main: name the program for messages, parse the options, and when they
 * say go on, set up what flags ask for, run, and close stdout (a write
 * error counts: the worst status wins); free the options either way.
 * Returns the exit status.
 */
int cmd_main(int argc, char **argv, const struct cmd_life *life, void *opts);

/*
 * The main of a command file that has struct options, parse_options, run
 * and options_free (a static int parse_options(int, char **, struct
 * options *), int run(const struct options *) and void
 * options_free(struct options *)): cmd_main with them and flags.
 */
#define CMD_MAIN(flags)							\
static int								\
cmd_parse(int argc, char **argv, void *opts)				\
{									\
	return parse_options(argc, argv, opts);				\
}									\
static int								\
cmd_run(void *opts)							\
{									\
	return run(opts);						\
}									\
static void								\
cmd_free(void *opts)							\
{									\
	options_free(opts);						\
}									\
int									\
main(int argc, char **argv)						\
{									\
	static const struct cmd_life life = {				\
		cmd_parse, cmd_run, cmd_free, (flags)			\
	};								\
	struct options o;						\
									\
	return cmd_main(argc, argv, &life, &o);				\
}

/*
 * --metrics FILE, for every command that runs long or from a scheduler:
 * the registry of common/metrics.h written to FILE now and then and at
 * exit.  cmd_metrics_set takes the option's value (OPT_RUN, or EXIT_USAGE
 * with the message said); cmd_metrics_due says
 * (once a command has a file) that the interval has passed, so that the
 * loop refreshes its gauges and calls cmd_metrics_write.  A write that
 * fails (a full disk) warns once, leaves the old file whole and is tried
 * again next time: metrics never stop a pipeline.  cmd_main writes the
 * file a last time after run returned, whatever the way out.
 */
int cmd_metrics_set(const char *path);
bool cmd_metrics_due(void);
/* Whether there is a file: work done only for the metrics is skipped
 * without one. */
bool cmd_metrics_on(void);
/* For a loop that waits on input: ms until the next write is due (0: now),
 * or -1 without --metrics. */
int64_t cmd_metrics_in(void);
void cmd_metrics_write(void);

/* Around run, for a main that is not cmd_main's (csa-dashboard): name the
 * series and write the file a first time; then, with the exit status,
 * write it a last time and free the series. */
void cmd_metrics_begin(void);
void cmd_metrics_end(int status);

/*
 * The series of a scheduled run (csa-capture-read, csa-batch-agg): at
 * the start, csa_run_success 0, so that a run killed half way says so;
 * cmd_metrics_run_now keeps csa_run_duration_seconds up to date; at the
 * end, cmd_main sets its duration, success (the exit status, stdout's
 * closing included, is 0 or 1) and, on success,
 * csa_last_success_timestamp_seconds.
 */
void cmd_metrics_run_start(void);
void cmd_metrics_run_now(void);

#endif
