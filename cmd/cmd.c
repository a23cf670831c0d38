/* cmd.c: what every command's main does, in one place. */
#include <config.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "err.h"
#include "metrics.h"
#include "msg.h"
#include "opt.h"
#include "sig.h"
#include "timefmt.h"

/* How often --metrics rewrites its file; $CSA_METRICS_INTERVAL changes it. */
#define METRICS_EVERY 5000

static struct {
	const char *path;
	int64_t every, last;	/* ms */
	bool failing;		/* the last write failed (and said so) */
} mx;

int
cmd_metrics_set(const char *path)
{
	const char *env = getenv("CSA_METRICS_INTERVAL");
	struct err e;

	if (!*path)
		return msg_usage("--metrics: the file name is empty");
	mx.path = path;
	if (env == NULL || tfmt_duration(env, &mx.every, &e) < 0 || mx.every <= 0)
		mx.every = METRICS_EVERY;
	return OPT_RUN;
}

/* The entry OPT_E_METRICS of the option tables (opt.h). */
int
opt_metrics_call(void *to, const char *name, const char *arg)
{
	(void)to;
	(void)name;
	return cmd_metrics_set(arg);
}

/* Asked once per event by some loops: the coarse clock is enough. */
bool
cmd_metrics_due(void)
{
	return mx.path && tfmt_now_coarse() - mx.last >= mx.every;
}

bool
cmd_metrics_on(void)
{
	return mx.path != NULL;
}

int64_t
cmd_metrics_in(void)
{
	int64_t left;

	if (mx.path == NULL)
		return -1;
	left = mx.last + mx.every - tfmt_now_coarse();
	return left > 0 ? left : 0;
}

void
cmd_metrics_write(void)
{
	struct err e;

	if (mx.path == NULL)
		return;
	mx.last = tfmt_now();
	if (metrics_write(mx.path, &e) < 0) {
		/* Once per failing spell: a full disk must not flood stderr. */
		if (!mx.failing)
			msg_warn("--metrics: %s (the run goes on; tried again every %lld ms)",
			    e.msg, (long long)mx.every);
		mx.failing = true;
		return;
	}
	if (mx.failing)
		msg_verbose("--metrics: %s written again", mx.path);
	mx.failing = false;
}

static int64_t run_started;

void
cmd_metrics_run_start(void)
{
	run_started = tfmt_now();
	metric_set(metric_get("csa_run_success", NULL), 0);
	cmd_metrics_run_now();
}

void
cmd_metrics_run_now(void)
{
	metric_set(metric_get("csa_run_duration_seconds", NULL),
	    (double)(tfmt_now() - run_started) / 1000);
}

/* The end of a run that cmd_metrics_run_start began. */
static void
run_end(int status)
{
	cmd_metrics_run_now();
	metric_set(metric_get("csa_run_success", NULL), status <= EXIT_DATA);
	if (status <= EXIT_DATA)
		metric_set(metric_get("csa_last_success_timestamp_seconds", NULL),
		    (double)tfmt_now() / 1000);
}

void
cmd_metrics_begin(void)
{
	metrics_init(msg_prog());
	metric_set(metric_get("csa_start_time_seconds", NULL), (double)tfmt_now() / 1000);
	cmd_metrics_write();	/* a path that cannot be written shows at once */
}

void
cmd_metrics_end(int status)
{
	if (run_started != 0)
		run_end(status);
	cmd_metrics_write();
	metrics_free();
}

/* stdout's buffer for commands that write many lines: lives as long as
 * the program, so exit can still flush into it. */
static char stdout_buf[64 * 1024];

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
		/* glibc takes the size only with a buffer: without one it
		 * keeps its own of the file's block size (4 KiB). */
		if (life->flags & CMD_BLOCK_STDOUT)
			setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
		/* A chunk through a buffer is copied into it first: 4% of
		 * csa-capture-read's body copy. */
		if (life->flags & CMD_OWN_STDOUT)
			setvbuf(stdout, NULL, _IONBF, 0);
		cmd_metrics_begin();
		status = life->run(opts);
		status = msg_worst(status, msg_close_stdout());
		cmd_metrics_end(status);
	}
	life->free(opts);
	return status;
}
