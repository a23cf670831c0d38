/* progress.h: the one progress line of long runs, on a terminal only. */
#ifndef CSA_PROGRESS_H
#define CSA_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A line that a long run (csa-capture-read, csa-batch-agg, the FDSN
 * backfill of csa-usgs-fetch) rewrites in place on stderr: what is done
 * of what there is, the rate and the time left.  It is shown only when
 * stderr is a terminal and neither -v nor -q was given, so cron mail,
 * logs and pipes never see it; -v's status lines say the same there.
 */
struct progress {
	bool on;
	bool shown;		/* a line is on the screen: end it before exit */
	int64_t start;		/* ms, when progress_init was called */
	int64_t last;		/* ms, when the line was last written */
};

void progress_init(struct progress *p);

/*
 * Rewrite the line with "prog: " and the text of fmt, at most four times
 * a second unless force.  done and total (the same unit; total 0:
 * unknown) add the share done and, once it can be told, the time left.
 */
void progress_say(struct progress *p, bool force, double done, double total,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The seconds since progress_init (for rates). */
double progress_secs(const struct progress *p);

/* End the line, when one was shown: say it once more with force first,
 * for the last figures to stay on the screen. */
void progress_end(struct progress *p);

#endif
