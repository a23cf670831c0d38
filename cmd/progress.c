/* progress.c: the progress line (progress.h). */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "msg.h"
#include "progress.h"
#include "timefmt.h"

enum { PROGRESS_EVERY_MS = 250 };

void
progress_init(struct progress *p)
{
	p->on = isatty(STDERR_FILENO) && msg_verbosity() == 0 && !msg_quiet();
	p->shown = false;
	p->start = tfmt_now();
	p->last = 0;	/* the first line at once */
}

double
progress_secs(const struct progress *p)
{
	return (double)(tfmt_now() - p->start) / 1000.0;
}

/* Seconds as a person reads them: 45s, 3m05s, 2h10m. */
static void
put_secs(double s)
{
	long n = (long)(s + 0.5);

	if (n < 60)
		fprintf(stderr, "%lds", n);
	else if (n < 3600)
		fprintf(stderr, "%ldm%02lds", n / 60, n % 60);
	else
		fprintf(stderr, "%ldh%02ldm", n / 3600, n / 60 % 60);
}

void
progress_say(struct progress *p, bool force, double done, double total, const char *fmt, ...)
{
	int64_t now;
	double secs;
	va_list ap;

	if (!p->on)
		return;
	now = tfmt_now();
	if (!force && now - p->last < PROGRESS_EVERY_MS)
		return;
	p->last = now;
	secs = (double)(now - p->start) / 1000.0;
	/* Back to the start of the line, and clear what was there. */
	fprintf(stderr, "\r\033[K%s: ", msg_prog());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (total > 0 && done >= 0) {
		double share = done < total ? done / total : 1.0;

		fprintf(stderr, " (%.0f%%", share * 100.0);
		/* A time left only once a second of the run tells a rate. */
		if (share > 0 && share < 1 && secs >= 1.0) {
			fputs(", ", stderr);
			put_secs(secs * (1.0 - share) / share);
			fputs(" left", stderr);
		}
		fputc(')', stderr);
	}
	fflush(stderr);
	p->shown = true;
	msg_line_open(true);
}

void
progress_end(struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = false;
	msg_line_open(false);
}
