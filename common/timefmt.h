/* timefmt.h: every time and duration the tools meet, and RFC 3339 output. */
#ifndef CSA_TIMEFMT_H
#define CSA_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Times are int64 milliseconds since 1970-01-01T00:00:00Z, negative before.
 * Accepted text forms:
 *   RFC 3339 / ISO 8601: 2026-04-22T14:23:05.123Z, 2026-04-22 14:23:05+02:00,
 *     2026-04-22T14:23Z, 20260422T142305Z, 2026-04-22 (midnight UTC);
 *     fractions of any length (truncated to ms), offsets Z, +hh:mm, +hhmm,
 *     +hh; no offset means UTC.
 *   Event Hubs Capture: 12/9/2022 5:10:16 PM (M/d/yyyy h:mm:ss AM/PM, UTC),
 *     also with a 24-hour clock and no AM/PM.
 *   Epoch numbers in text: "1562383193040" (see tfmt_from_number).
 */

enum tfmt_unit {
	TFMT_AUTO = 0,	/* ms, unless |x| < 1e11, then s (see the man page) */
	TFMT_MS,
	TFMT_S
};

/* Parse text s (n bytes).  0 and *ms, or -1 with ERR_DATA. */
int tfmt_parse(const char *s, size_t n, int64_t *ms, struct err *e);

/*
 * A time as a user writes one on a command line: what tfmt_parse reads,
 * or relative to now: "now", "today" and "yesterday" (midnight UTC), or
 * a duration before now with a leading minus ("-2h", "-7d").  0 and *ms,
 * or -1 with ERR_DATA.
 */
int tfmt_parse_when(const char *s, int64_t now, int64_t *ms, struct err *e);

/* An epoch number in the given unit; -1 when out of range (years 0-9999). */
int tfmt_from_number(double x, enum tfmt_unit unit, int64_t *ms);

/*
 * Durations: a sequence of NUMBER UNIT with units ms, s, m, h, d, w
 * ("500ms", "30s", "1h30m", "7d"), an optional leading sign, or a bare
 * number of seconds.  0 and *ms, or -1 with ERR_USAGE naming the text.
 */
int tfmt_duration(const char *s, int64_t *ms, struct err *e);

/* Write ms as 2026-04-22T14:25:00.000Z into out (at least 32 bytes). */
size_t tfmt_format(int64_t ms, char *out);

/* Days since the epoch of a civil date, and back (proleptic Gregorian). */
int64_t tfmt_days_from_civil(int64_t y, unsigned m, unsigned d);
void tfmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Wall-clock now in epoch ms. */
int64_t tfmt_now(void);
/* The same to within a few milliseconds, at a fraction of the cost: for a
 * look at the clock per event. */
int64_t tfmt_now_coarse(void);

#endif
