/* timefmt.c: parsing and printing times and durations. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define MS_PER_DAY 86400000LL
/* 0000-01-01 and 9999-12-31T23:59:59.999Z: what four-digit years can name. */
#define TFMT_MIN_MS (-62167219200000LL)
#define TFMT_MAX_MS (253402300799999LL)

/*
 * Civil date to days: shift the year to start in March so the leap day is
 * last, then count 400-year eras of 146097 days.
 */
int64_t
tfmt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tfmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

int64_t
tfmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
tfmt_now_coarse(void)
{
#ifdef CLOCK_REALTIME_COARSE
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
		return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
	return tfmt_now();
}

size_t
tfmt_format(int64_t ms, char *out)
{
	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, y;
	unsigned mo, d;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	tfmt_civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > 9999)
		return (size_t)snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
		    (long long)y, mo, d, (unsigned)(rem / 3600000),
		    (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60),
		    (unsigned)(rem % 1000));
	{
		/* The common case by hand: this runs for every row a window writes. */
		unsigned h = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60);
		unsigned se = (unsigned)(rem / 1000 % 60), milli = (unsigned)(rem % 1000);
		char *p = out;

		*p++ = (char)('0' + y / 1000);
		*p++ = (char)('0' + y / 100 % 10);
		*p++ = (char)('0' + y / 10 % 10);
		*p++ = (char)('0' + y % 10);
#define TWO(v, sep) do { *p++ = (char)('0' + (v) / 10); *p++ = (char)('0' + (v) % 10); \
	if (sep) *p++ = (sep); } while (0)
		*p++ = '-';
		TWO(mo, '-');
		TWO(d, 'T');
		TWO(h, ':');
		TWO(mi, ':');
		TWO(se, '.');
#undef TWO
		*p++ = (char)('0' + milli / 100);
		*p++ = (char)('0' + milli / 10 % 10);
		*p++ = (char)('0' + milli % 10);
		*p++ = 'Z';
		*p = '\0';
		return (size_t)(p - out);
	}
}

/* A cursor over the text being parsed. */
struct scan {
	const char *p;
	const char *end;
};

/* Exactly `width` digits (or 1..width when width < 0). */
static bool
digits(struct scan *s, int width, int64_t *out)
{
	int max = width < 0 ? -width : width, n = 0;
	int64_t v = 0;

	while (n < max && s->p < s->end && isdigit((unsigned char)*s->p)) {
		v = v * 10 + (*s->p++ - '0');
		n++;
	}
	if (n == 0 || (width > 0 && n != width))
		return false;
	*out = v;
	return true;
}

static bool
eat(struct scan *s, char c)
{
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static int
bad_time(const char *s, size_t n, struct err *e)
{
	return err_set(e, ERR_DATA, "unparsable time '%.*s'", (int)(n > 64 ? 64 : n), s);
}

static int
civil_ms(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t sec,
    int64_t frac_ms, int64_t *ms)
{
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, (unsigned)mo) ||
	    h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || frac_ms)))
		return -1;
	/* A leap second folds into the next second, as POSIX time does. */
	*ms = tfmt_days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY +
	    h * 3600000 + mi * 60000 + sec * 1000 + frac_ms;
	return 0;
}

/* Fraction digits after '.' or ',', truncated to milliseconds. */
static bool
fraction(struct scan *s, int64_t *ms)
{
	int n = 0;
	int64_t v = 0;

	while (s->p < s->end && isdigit((unsigned char)*s->p)) {
		if (n < 3)
			v = v * 10 + (*s->p - '0');
		n++;
		s->p++;
	}
	if (n == 0)
		return false;
	for (int k = n; k < 3; k++)
		v *= 10;
	*ms = v;
	return true;
}

static int
parse_iso(const char *str, size_t n, int64_t *ms)
{
	struct scan s = { str, str + n };
	int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	bool basic;

	if (!digits(&s, 4, &y))
		return -1;
	basic = !(s.p < s.end && *s.p == '-');
	if (!basic)
		s.p++;
	if (!digits(&s, 2, &mo))
		return -1;
	if (!basic && !eat(&s, '-'))
		return -1;
	if (!digits(&s, 2, &d))
		return -1;
	if (s.p < s.end && (*s.p == 'T' || *s.p == 't' || *s.p == ' ')) {
		s.p++;
		if (!digits(&s, 2, &h))
			return -1;
		if (!basic && !eat(&s, ':'))
			return -1;
		if (!digits(&s, 2, &mi))
			return -1;
		if (basic ? (s.p < s.end && isdigit((unsigned char)*s.p)) : eat(&s, ':')) {
			if (!digits(&s, 2, &sec))
				return -1;
			if ((eat(&s, '.') || eat(&s, ',')) && !fraction(&s, &frac))
				return -1;
		}
		if (s.p < s.end && (*s.p == 'Z' || *s.p == 'z')) {
			s.p++;
		} else if (s.p < s.end && (*s.p == '+' || *s.p == '-')) {
			int sign = *s.p++ == '-' ? -1 : 1;
			int64_t oh, om = 0;

			if (!digits(&s, 2, &oh))
				return -1;
			if (eat(&s, ':')) {
				if (!digits(&s, 2, &om))
					return -1;
			} else if (s.p < s.end && isdigit((unsigned char)*s.p)) {
				if (!digits(&s, 2, &om))
					return -1;
			}
			if (oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600000 + om * 60000);
		}
	}
	if (s.p != s.end)
		return -1;
	if (civil_ms(y, mo, d, h, mi, sec, frac, ms) < 0)
		return -1;
	*ms -= off;
	return 0;
}

/* M/d/yyyy h:mm:ss AM/PM, as Event Hubs Capture writes EnqueuedTimeUtc. */
static int
parse_capture(const char *str, size_t n, int64_t *ms)
{
	struct scan s = { str, str + n };
	int64_t y, mo, d, h, mi, sec = 0, frac = 0;

	if (!digits(&s, -2, &mo) || !eat(&s, '/') || !digits(&s, -2, &d) ||
	    !eat(&s, '/') || !digits(&s, 4, &y) || !eat(&s, ' '))
		return -1;
	if (!digits(&s, -2, &h) || !eat(&s, ':') || !digits(&s, 2, &mi))
		return -1;
	if (eat(&s, ':')) {
		if (!digits(&s, 2, &sec))
			return -1;
		if (eat(&s, '.') && !fraction(&s, &frac))
			return -1;
	}
	while (eat(&s, ' '))
		;
	if (s.end - s.p == 2 && (s.p[1] == 'M' || s.p[1] == 'm')) {
		char ap = (char)toupper((unsigned char)s.p[0]);

		if ((ap != 'A' && ap != 'P') || h < 1 || h > 12)
			return -1;
		if (h == 12)
			h = 0;
		if (ap == 'P')
			h += 12;
		s.p += 2;
	}
	if (s.p != s.end || h > 23)
		return -1;
	return civil_ms(y, mo, d, h, mi, sec, frac, ms);
}

int
tfmt_from_number(double x, enum tfmt_unit unit, int64_t *ms)
{
	double v;

	if (!isfinite(x))
		return -1;
	if (unit == TFMT_AUTO)
		unit = fabs(x) < 1e11 ? TFMT_S : TFMT_MS;
	v = unit == TFMT_S ? x * 1000.0 : x;
	v = floor(v);
	if (v < (double)TFMT_MIN_MS || v > (double)TFMT_MAX_MS)
		return -1;
	*ms = (int64_t)v;
	return 0;
}

int
tfmt_parse(const char *s, size_t n, int64_t *ms, struct err *e)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return bad_time(s, n, e);
	if (n >= 8 && isdigit((unsigned char)s[0]) && memchr(s, '/', n)) {
		if (parse_capture(s, n, ms) == 0)
			return 0;
		return bad_time(s, n, e);
	}
	if (n >= 8 && isdigit((unsigned char)s[0]) &&
	    (s[4] == '-' || memchr(s, 'T', n)) && parse_iso(s, n, ms) == 0)
		return 0;
	{
		/* Epoch digits in a string. */
		char tmp[40], *end;
		double x;

		if (n < sizeof(tmp)) {
			memcpy(tmp, s, n);
			tmp[n] = '\0';
			x = strtod(tmp, &end);
			if (end == tmp + n && (isdigit((unsigned char)tmp[0]) ||
			    tmp[0] == '-') && tfmt_from_number(x, TFMT_AUTO, ms) == 0)
				return 0;
		}
	}
	return bad_time(s, n, e);
}

int
tfmt_duration(const char *s, int64_t *ms, struct err *e)
{
	const char *p = s;
	int64_t total = 0;
	int sign = 1, parts = 0;

	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	while (*p) {
		char num[32];
		size_t k = strspn(p, "0123456789.");
		double v;
		int64_t unit;

		/* Plain decimals only: no exponents, no hex, no inf. */
		if (k == 0 || k >= sizeof(num) || !isdigit((unsigned char)*p))
			goto bad;
		memcpy(num, p, k);
		num[k] = '\0';
		v = strtod(num, NULL);
		p += k;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else if (*p == 'd') {
			unit = MS_PER_DAY;
			p++;
		} else if (*p == 'w') {
			unit = 7 * MS_PER_DAY;
			p++;
		} else if (*p == '\0' && parts == 0) {
			unit = 1000;	/* a bare number is seconds */
		} else {
			goto bad;
		}
		/* Each part, and the sum, within what a double holds exactly
		 * (under 2^53), so that the sum written in ms reads back. */
		if (v * (double)unit > 9.0e15)
			goto bad;
		total += (int64_t)llround(v * (double)unit);
		if (total > 9000000000000000)
			goto bad;
		parts++;
	}
	if (parts == 0)
		goto bad;
	*ms = sign * total;
	return 0;
bad:
	return err_set(e, ERR_USAGE, "invalid duration '%s' (use e.g. 500ms, 30s, 5m, 1h, 7d)", s);
}

int
tfmt_parse_when(const char *s, int64_t now, int64_t *ms, struct err *e)
{
	const int64_t day = 86400000;
	int64_t d;

	if (strcmp(s, "now") == 0) {
		*ms = now;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		*ms = (now >= 0 ? now / day : (now - day + 1) / day) * day;
		if (s[0] == 'y')
			*ms -= day;
		return 0;
	}
	if (s[0] == '-' && s[1] != '\0' && !isdigit((unsigned char)s[strlen(s) - 1]) &&
	    tfmt_duration(s + 1, &d, e) == 0 && d >= 0) {
		*ms = now - d;
		return 0;
	}
	return tfmt_parse(s, strlen(s), ms, e);
}
