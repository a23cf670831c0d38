/*
 * fuzz-time: common/timefmt.  Any text tfmt_parse reads is a time that
 * tfmt_format writes and tfmt_parse reads back to the same millisecond,
 * and that the Capture form (capture_format_enqueued) reads back to the
 * same second; any duration tfmt_duration reads is the same written as
 * "<ms>ms"; and the civil calendar round-trips for any day it can name.
 */
#include <config.h>

#include <inttypes.h>

#include "capture.h"
#include "timefmt.h"
#include "fuzz.h"

/* 0000-01-01 and 9999-12-31T23:59:59.999Z, as timefmt.c bounds them. */
#define MIN_MS (-62167219200000LL)
#define MAX_MS (253402300799999LL)

static int
fuzz_setup(void)
{
	return 0;
}

/* ms, which tfmt_parse gave, written and read back in both forms. */
static void
round_trip(int64_t ms, const char *from, size_t n)
{
	char out[64], cap[32];
	size_t len;
	int64_t back;
	struct err e;

	FUZZ_ASSERT(ms >= MIN_MS && ms <= MAX_MS, "%.*s: %" PRId64 " out of range", (int)n, from,
	    ms);
	len = tfmt_format(ms, out);
	FUZZ_ASSERT(len == 24 && out[len] == '\0', "%" PRId64 ": written as %s", ms, out);
	FUZZ_ASSERT(tfmt_parse(out, len, &back, &e) == 0 && back == ms,
	    "%.*s: %" PRId64 " written %s, read back %" PRId64, (int)n, from, ms, out, back);
	if (ms < 0)
		return;	/* Capture's form has no year before 1970 in practice */
	capture_format_enqueued(ms, cap);
	FUZZ_ASSERT(tfmt_parse(cap, strlen(cap), &back, &e) == 0 && back == ms - ms % 1000,
	    "%" PRId64 ": written %s, read back %" PRId64, ms, cap, back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *s, spelled[48];
	int64_t ms, back, y;
	unsigned m, d;
	struct err e;

	if (tfmt_parse(text, size, &ms, &e) == 0)
		round_trip(ms, text, size);

	/* Durations read NUL-terminated text. */
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (tfmt_duration(s, &ms, &e) == 0) {
		snprintf(spelled, sizeof(spelled), "%" PRId64 "ms", ms);
		FUZZ_ASSERT(tfmt_duration(spelled, &back, &e) == 0 && back == ms,
		    "duration %s: %" PRId64 ", %s read back as %" PRId64, s, ms, spelled, back);
	}
	free(s);

	/* Epoch numbers: eight bytes as a double, in every unit. */
	if (size >= 8) {
		double x;

		memcpy(&x, data, sizeof(x));
		for (int u = TFMT_AUTO; u <= TFMT_S; u++)
			if (tfmt_from_number(x, (enum tfmt_unit)u, &ms) == 0)
				round_trip(ms, "(a number)", 10);
		/* Days from the same bytes, within the years that tfmt_format spells. */
		memcpy(&ms, data, sizeof(ms));
		ms = ms % (MAX_MS / 86400000);
		tfmt_civil_from_days(ms, &y, &m, &d);
		FUZZ_ASSERT(m >= 1 && m <= 12 && d >= 1 && d <= 31 &&
		    tfmt_days_from_civil(y, m, d) == ms, "day %" PRId64 ": %" PRId64 "-%u-%u", ms,
		    y, m, d);
	}
	return 0;
}
