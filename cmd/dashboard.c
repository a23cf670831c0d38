/* dashboard.c: csa-dashboard's counters, and the panels drawn from them. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dashboard.h"
#include "timefmt.h"

#define MAX_ACTIVE 4096		/* active windows kept per kind */
#define PLAIN_ALERTS 10		/* significant events in a snapshot */
#define TOP_PLACES 5

static const char *const window_kind[DASH_WINDOW_KINDS] = {
	"tumbling", "hopping", "sliding", "session", "snapshot", "other"
};

static const char *const bucket_label[DASH_MAG_BUCKETS] = {
	"< 1.0", "1.0-2.9", "3.0-3.9", "4.0-4.9", "5.0+"
};

/* Codes USGS writes after the last comma of a place, spelled out. */
static const char *const state_code[][2] = {
	{ "AK", "Alaska" }, { "AL", "Alabama" }, { "AR", "Arkansas" },
	{ "AS", "American Samoa" }, { "AZ", "Arizona" }, { "CA", "California" },
	{ "CO", "Colorado" }, { "CT", "Connecticut" }, { "DC", "District of Columbia" },
	{ "DE", "Delaware" }, { "FL", "Florida" }, { "GA", "Georgia" },
	{ "GU", "Guam" }, { "HI", "Hawaii" }, { "IA", "Iowa" }, { "ID", "Idaho" },
	{ "IL", "Illinois" }, { "IN", "Indiana" }, { "KS", "Kansas" },
	{ "KY", "Kentucky" }, { "LA", "Louisiana" }, { "MA", "Massachusetts" },
	{ "MD", "Maryland" }, { "ME", "Maine" }, { "MI", "Michigan" },
	{ "MN", "Minnesota" }, { "MO", "Missouri" }, { "MP", "Northern Mariana Islands" },
	{ "MS", "Mississippi" }, { "MT", "Montana" }, { "MX", "Mexico" },
	{ "NC", "North Carolina" }, { "ND", "North Dakota" }, { "NE", "Nebraska" },
	{ "NH", "New Hampshire" }, { "NJ", "New Jersey" }, { "NM", "New Mexico" },
	{ "NV", "Nevada" }, { "NY", "New York" }, { "OH", "Ohio" },
	{ "OK", "Oklahoma" }, { "OR", "Oregon" }, { "PA", "Pennsylvania" },
	{ "PR", "Puerto Rico" }, { "RI", "Rhode Island" }, { "SC", "South Carolina" },
	{ "SD", "South Dakota" }, { "TN", "Tennessee" }, { "TX", "Texas" },
	{ "UT", "Utah" }, { "VA", "Virginia" }, { "VI", "U.S. Virgin Islands" },
	{ "VT", "Vermont" }, { "WA", "Washington" }, { "WI", "Wisconsin" },
	{ "WV", "West Virginia" }, { "WY", "Wyoming" }
};

void
dash_init(struct dash *d, double alert_magnitude)
{
	memset(d, 0, sizeof(*d));
	d->alert_magnitude = alert_magnitude;
	strmap_init(&d->places);
	for (int i = 0; i < DASH_MINUTES; i++)
		d->minute_of[i] = INT64_MIN;
}

void
dash_free(struct dash *d)
{
	strmap_free(&d->places);
	buf_free(&d->scratch);
	for (int k = 0; k < DASH_WINDOW_KINDS; k++)
		free(d->windows[k].span);
	memset(d, 0, sizeof(*d));
}

void
dash_reset(struct dash *d)
{
	double alert = d->alert_magnitude;

	dash_free(d);
	dash_init(d, alert);
}

void
dash_location(const char *place, size_t n, char *out, size_t size)
{
	const char *comma = NULL, *s = place, *end = place + n;

	for (const char *p = place; p < end; p++)
		if (*p == ',')
			comma = p;
	if (comma)
		s = comma + 1;
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - s);
	if (n == 2) {
		for (size_t i = 0; i < sizeof(state_code) / sizeof(state_code[0]); i++)
			if (memcmp(s, state_code[i][0], 2) == 0) {
				snprintf(out, size, "%s", state_code[i][1]);
				return;
			}
	}
	if (n == 0) {
		s = "(no place)";
		n = strlen(s);
	}
	snprintf(out, size, "%.*s", (int)n, s);
}

/* The minute an instant falls in (floor, also before 1970), and its slot. */
static int64_t
minute_of(int64_t ms)
{
	return ms >= 0 ? ms / 60000 : -((-ms + 59999) / 60000);
}

static int
slot_of(int64_t minute)
{
	return (int)(((minute % DASH_MINUTES) + DASH_MINUTES) % DASH_MINUTES);
}

/* A window is active while its span reaches past the newest end of its
 * kind less its own length. */
static bool
active(int64_t start, int64_t end, int64_t newest_end)
{
	return end - start > newest_end - end;
}

/* The kind index of a window_type value. */
static int
kind_of(const struct json_doc *doc, int t)
{
	for (int k = 0; k < DASH_WINDOW_KINDS - 1; k++)
		if (json_string_eq(doc, t, window_kind[k]))
			return k;
	return DASH_WINDOW_KINDS - 1;
}

/* A time member: epoch ms as a number, or any form timefmt reads. */
static bool
time_of(const struct json_doc *doc, int t, int64_t *ms)
{
	struct err e;
	double x;
	size_t n;
	const char *s;

	if (json_number(doc, t, &x) == 0)
		return tfmt_from_number(x, TFMT_AUTO, ms) == 0;
	if (json_type(doc, t) != JSON_STRING || !json_string_plain(doc, t))
		return false;
	s = json_raw(doc, t, &n);
	return tfmt_parse(s, n, ms, &e) == 0;
}

/*
 * A window row: count it, and keep its span while it is active, that is
 * while it reaches past the newest end of its kind less its own length.
 */
static void
count_row(struct dash *d, const struct json_doc *doc, int start_tok)
{
	struct dash_windows *w = &d->windows[kind_of(doc,
	    json_member(doc, 0, "window_type", 11))];
	int64_t start, end;
	int keep = 0;

	d->rows++;
	w->rows++;
	if (!time_of(doc, start_tok, &start) ||
	    !time_of(doc, json_member(doc, 0, "window_end", 10), &end) || end < start)
		return;
	if (w->n == 0 || end > w->newest_end)
		w->newest_end = end;
	if (!active(start, end, w->newest_end))
		return;
	for (int i = 0; i < w->n; i++) {
		int64_t *s = w->span[i];

		if (s[0] == start && s[1] == end)
			return;		/* another group of a window we hold */
		if (active(s[0], s[1], w->newest_end))
			memmove(w->span[keep++], s, sizeof(w->span[0]));
	}
	w->n = keep;
	if (w->n == MAX_ACTIVE) {
		memmove(w->span[0], w->span[1], sizeof(w->span[0]) * (size_t)(w->n - 1));
		w->n--;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->span = xrealloc(w->span, sizeof(w->span[0]) * (size_t)w->cap);
	}
	w->span[w->n][0] = start;
	w->span[w->n][1] = end;
	w->n++;
}

/* Remember a significant event, newest first, replacing an earlier version. */
static void
note_alert(struct dash *d, const struct dash_alert *a, bool significant)
{
	int i;

	for (i = 0; i < d->nalert; i++)
		if (strcmp(d->alert[i].id, a->id) == 0)
			break;
	if (i < d->nalert) {	/* a revision: take the old one out */
		memmove(&d->alert[i], &d->alert[i + 1],
		    sizeof(d->alert[0]) * (size_t)(d->nalert - i - 1));
		d->nalert--;
	}
	if (!significant)
		return;
	for (i = 0; i < d->nalert && d->alert[i].time >= a->time; i++)
		;
	if (i == DASH_SIGNIFICANT)
		return;		/* older than every one kept */
	if (d->nalert == DASH_SIGNIFICANT)
		d->nalert--;
	memmove(&d->alert[i + 1], &d->alert[i], sizeof(d->alert[0]) * (size_t)(d->nalert - i));
	d->alert[i] = *a;
	d->nalert++;
}

/* Count an event into the minute it happened in, within the last hour. */
static void
count_minute(struct dash *d, int64_t t)
{
	int64_t minute, newest;
	int slot;

	if (!d->has_newest || t > d->newest) {
		d->newest = t;
		d->has_newest = true;
	}
	minute = minute_of(t);
	newest = minute_of(d->newest);
	if (minute <= newest - DASH_MINUTES)
		return;
	slot = slot_of(minute);
	if (d->minute_of[slot] != minute) {
		d->minute_of[slot] = minute;
		d->minute_count[slot] = 0;
	}
	d->minute_count[slot]++;
}

static void
count_event(struct dash *d, const struct json_doc *doc)
{
	struct dash_alert a;
	int t;
	double x;
	bool b, significant = false;
	int64_t ms;

	memset(&a, 0, sizeof(a));
	d->events++;
	t = json_member(doc, 0, "event_type", 10);
	if (json_type(doc, t) == JSON_STRING) {
		size_t n;
		const char *s = json_raw(doc, t, &n);

		if (n == 10 && strncasecmp(s, "earthquake", 10) == 0)
			d->earthquakes++;
	}
	if (json_number(doc, json_member(doc, 0, "magnitude", 9), &x) == 0) {
		int k = x < 1.0 ? 0 : x < 3.0 ? 1 : x < 4.0 ? 2 : x < 5.0 ? 3 : 4;

		d->magnitude[k]++;
		if (!d->has_max || x > d->max_magnitude)
			d->max_magnitude = x;
		d->has_max = true;
		a.magnitude = x;
		a.has_magnitude = true;
		significant = x >= d->alert_magnitude;
	} else {
		d->no_magnitude++;
	}
	t = json_member(doc, 0, "place", 5);
	if (json_type(doc, t) == JSON_STRING) {
		struct buf *place = &d->scratch;
		char where[128];
		struct strmap_entry *en;
		bool added;

		buf_reset(place);
		buf_add(place, "", 0);
		json_string(doc, t, place);
		dash_location(place->p, place->len, where, sizeof(where));
		en = strmap_put(&d->places, where, strlen(where), &added);
		en->a++;
		snprintf(a.place, sizeof(a.place), "%.*s", (int)place->len, place->p);
	}
	if (time_of(doc, json_member(doc, 0, "time", 4), &ms)) {
		count_minute(d, ms);
		a.time = ms;
	}
	t = json_member(doc, 0, "tsunami_flag", 12);
	if ((json_number(doc, t, &x) == 0 && x != 0) || (json_bool(doc, t, &b) == 0 && b))
		a.tsunami = significant = true;
	t = json_member(doc, 0, "event_id", 8);
	if (json_type(doc, t) == JSON_STRING) {
		size_t n;
		const char *s = json_raw(doc, t, &n);

		snprintf(a.id, sizeof(a.id), "%.*s", (int)n, s);
	} else {
		snprintf(a.id, sizeof(a.id), "%lld %.40s", (long long)a.time, a.place);
	}
	if (significant || d->nalert > 0)
		note_alert(d, &a, significant);
}

bool
dash_line(struct dash *d, struct json_doc *doc, const char *line, size_t len,
    struct err *e)
{
	int start;

	if (json_parse(doc, line, len, e) < 0 ||
	    (json_type(doc, 0) != JSON_OBJECT &&
	    err_set(e, ERR_DATA, "not a JSON object") < 0)) {
		d->bad_lines++;
		return false;
	}
	start = json_member(doc, 0, "window_start", 12);
	if (start >= 0)
		count_row(d, doc, start);
	else
		count_event(d, doc);
	return true;
}

/* Drawing. */

void
dash_canvas_init(struct dash_canvas *c, int rows, int cols, bool utf8)
{
	size_t n = (size_t)(rows > 0 ? rows : 0) * (size_t)(cols > 0 ? cols : 0);

	c->rows = rows;
	c->cols = cols;
	c->utf8 = utf8;
	c->ch = xmalloc((n ? n : 1) * sizeof(c->ch[0]));
	c->attr = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++)
		c->ch[i] = ' ';
}

void
dash_canvas_free(struct dash_canvas *c)
{
	free(c->ch);
	free(c->attr);
	memset(c, 0, sizeof(*c));
}

/* The next code point of UTF-8 text; a bad byte reads as '?'. */
static uint32_t
next_utf8(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;
	int more;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		more = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		more = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		more = 3;
	} else {
		*s = p + 1;
		return '?';
	}
	for (int i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + i;
			return '?';
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + more + 1;
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? '?' : cp;
}

/* Put one cell; outside the canvas is ignored. */
static void
put_cell(struct dash_canvas *c, int y, int x, enum dash_attr attr, uint32_t cp)
{
	if (y < 0 || y >= c->rows || x < 0 || x >= c->cols)
		return;
	c->ch[(size_t)y * (size_t)c->cols + (size_t)x] = cp < 0x20 ? '?' : cp;
	c->attr[(size_t)y * (size_t)c->cols + (size_t)x] = (unsigned char)attr;
}

/* Write UTF-8 text at (y, x), at most width cells; returns cells used. */
static int
put_text(struct dash_canvas *c, int y, int x, int width, enum dash_attr attr,
    const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	int used = 0;

	while (*s && used < width)
		put_cell(c, y, x + used++, attr, next_utf8(&s));
	return used;
}

static int put_fmt(struct dash_canvas *c, int y, int x, int width, enum dash_attr attr,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
put_fmt(struct dash_canvas *c, int y, int x, int width, enum dash_attr attr,
    const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return put_text(c, y, x, width, attr, line);
}

/* Give a row (from x on) one attribute, keeping its characters. */
static void
paint(struct dash_canvas *c, int y, int x, int width, enum dash_attr attr)
{
	for (int i = x; i < x + width && i < c->cols; i++)
		if (y >= 0 && y < c->rows && i >= 0)
			c->attr[(size_t)y * (size_t)c->cols + (size_t)i] = (unsigned char)attr;
}

/* A bar of value/max of width cells: eighths in UTF-8, '#' in ASCII.  A
 * non-zero value always shows. */
static void
put_bar(struct dash_canvas *c, int y, int x, int width, long value, long max)
{
	static const uint32_t part[8] = { 0, 0x258f, 0x258e, 0x258d, 0x258c, 0x258b, 0x258a, 0x2589 };
	long eighths;

	if (value <= 0 || max <= 0 || width <= 0)
		return;
	eighths = (long)((double)value / (double)max * width * 8 + 0.5);
	if (eighths < 1)
		eighths = 1;
	if (!c->utf8)
		eighths = (eighths + 7) / 8 * 8;
	for (int i = 0; i < eighths / 8; i++)
		put_cell(c, y, x + i, DASH_BAR, c->utf8 ? 0x2588 : '#');
	if (eighths % 8)
		put_cell(c, y, x + (int)(eighths / 8), DASH_BAR, part[eighths % 8]);
}

/* 5s, 12m 3s, 4h 2m, 2328d 5h. */
static void
fmt_age(int64_t ms, char *out, size_t size)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(out, size, "in the future");
	else if (s < 60)
		snprintf(out, size, "%llds ago", (long long)s);
	else if (s < 3600)
		snprintf(out, size, "%lldm %llds ago", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, size, "%lldh %lldm ago", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(out, size, "%lldd %lldh ago", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

/* "2020-07-08 17:48:38" (UTC), or just the time of day. */
static void
fmt_time(int64_t ms, bool day, char *out, size_t size)
{
	char t[40];

	tfmt_format(ms, t);
	t[10] = ' ';
	t[19] = '\0';
	snprintf(out, size, "%s", day ? t : t + 11);
}

static void
draw_header(const struct dash *d, const struct dash_view *v, struct dash_canvas *c)
{
	char mag[40] = "-", when[40], newest[40], age[40];
	int x;

	paint(c, 0, 0, c->cols, DASH_HEADER);
	put_text(c, 0, 1, c->cols - 1, DASH_HEADER, "csa-dashboard");
	if (v->state) {
		int n = (int)strlen(v->state);

		if (c->cols > n + 16)
			put_text(c, 0, c->cols - n - 1, n, DASH_HEADER, v->state);
	}
	if (d->has_max)
		json_fmt_num(mag, sizeof(mag), d->max_magnitude);
	x = put_fmt(c, 1, 0, c->cols, DASH_NORMAL,
	    "events %ld  earthquakes %ld  max magnitude %s  ", d->events, d->earthquakes, mag);
	put_fmt(c, 1, x, c->cols - x, d->bad_lines > 0 ? DASH_ALERT : DASH_NORMAL,
	    "bad lines %ld", d->bad_lines);
	if (v->last_update >= 0)
		fmt_time(v->last_update, false, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "never");
	if (d->has_newest) {
		fmt_time(d->newest, true, newest, sizeof(newest));
		fmt_age(v->now - d->newest, age, sizeof(age));
		put_fmt(c, 2, 0, c->cols, DASH_NORMAL, "updated %s%s  newest event %s UTC (%s)",
		    when, v->last_update >= 0 ? " UTC" : "", newest, age);
	} else {
		put_fmt(c, 2, 0, c->cols, DASH_NORMAL, "updated %s%s  no event yet",
		    when, v->last_update >= 0 ? " UTC" : "");
	}
}

static void
draw_magnitudes(const struct dash *d, struct dash_canvas *c, int y, int x, int width)
{
	long max = 0;

	for (int k = 0; k < DASH_MAG_BUCKETS; k++)
		if (d->magnitude[k] > max)
			max = d->magnitude[k];
	if (d->no_magnitude > 0)
		put_fmt(c, y, x, width, DASH_TITLE, "Magnitude (%ld without)", d->no_magnitude);
	else
		put_text(c, y, x, width, DASH_TITLE, "Magnitude");
	for (int k = 0; k < DASH_MAG_BUCKETS; k++) {
		put_fmt(c, y + 1 + k, x, width, DASH_NORMAL, "%-7s %7ld", bucket_label[k],
		    d->magnitude[k]);
		put_bar(c, y + 1 + k, x + 16, width - 16, d->magnitude[k], max);
	}
}

/* Order for the top locations: count down, then name. */
static int
by_count(const void *a, const void *b)
{
	const struct strmap_entry *x = *(struct strmap_entry *const *)a;
	const struct strmap_entry *y = *(struct strmap_entry *const *)b;

	if (x->a != y->a)
		return x->a < y->a ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void
draw_places(const struct dash *d, struct dash_canvas *c, int y, int x, int width, int n)
{
	struct strmap_entry **all, *en;
	size_t i = 0, count = 0;

	put_text(c, y, x, width, DASH_TITLE, "Top locations");
	if (d->places.count == 0)
		return;
	all = xmalloc(d->places.count * sizeof(*all));
	while ((en = strmap_next(&d->places, &i)) != NULL)
		all[count++] = en;
	qsort(all, count, sizeof(*all), by_count);
	for (size_t k = 0; k < count && (int)k < n; k++) {
		char num[24];
		int w = snprintf(num, sizeof(num), "%lld", (long long)all[k]->a);

		put_text(c, y + 1 + (int)k, x, width - w - 1, DASH_NORMAL, all[k]->key);
		if (width > w)
			put_text(c, y + 1 + (int)k, x + width - w, w, DASH_NORMAL, num);
	}
	free(all);
}

static void
draw_sparkline(const struct dash *d, struct dash_canvas *c, int y)
{
	static const uint32_t level_utf8[9] = {
		' ', 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588
	};
	static const char level_ascii[] = " .,:;=+*#";
	int64_t count[DASH_MINUTES], peak = 0, total = 0, newest;
	int shown = DASH_MINUTES, x = 0;
	bool labels = c->cols >= DASH_MINUTES + 10;

	newest = minute_of(d->newest);
	for (int i = 0; i < DASH_MINUTES; i++) {
		int64_t minute = newest - (DASH_MINUTES - 1) + i;
		int slot = slot_of(minute);

		count[i] = d->has_newest && d->minute_of[slot] == minute ?
		    d->minute_count[slot] : 0;
		if (count[i] > peak)
			peak = count[i];
		total += count[i];
	}
	put_fmt(c, y, 0, c->cols, DASH_TITLE,
	    "Events per minute, last hour of event time: %lld, peak %lld/min",
	    (long long)total, (long long)peak);
	if (c->cols < DASH_MINUTES)
		shown = c->cols;
	if (labels)
		x = put_text(c, y + 1, 0, 6, DASH_DIM, " -60m ");
	for (int i = DASH_MINUTES - shown; i < DASH_MINUTES; i++) {
		int level = peak > 0 ? (int)((count[i] * 8 + peak - 1) / peak) : 0;

		put_cell(c, y + 1, x++, DASH_BAR,
		    c->utf8 ? level_utf8[level] : (uint32_t)level_ascii[level]);
	}
	if (labels)
		put_text(c, y + 1, x, 4, DASH_DIM, " now");
}

static void
draw_windows(const struct dash *d, struct dash_canvas *c, int y)
{
	char line[256];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "Active windows");
	for (int k = 0; k < DASH_WINDOW_KINDS; k++) {
		const struct dash_windows *w = &d->windows[k];

		if (k > 2 && w->rows == 0)
			continue;	/* session, snapshot, other: only once seen */
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s %d", window_kind[k], w->n);
	}
	snprintf(line + n, sizeof(line) - n, "  (%ld rows)", d->rows);
	put_text(c, y, 0, c->cols, DASH_NORMAL, line);
	paint(c, y, 0, 14, DASH_TITLE);
}

static void
draw_alerts(const struct dash *d, struct dash_canvas *c, int y, int n)
{
	char mag[40];

	put_fmt(c, y, 0, c->cols, DASH_TITLE,
	    "Significant events (magnitude %.1f or more, or tsunami): %d",
	    d->alert_magnitude, d->nalert);
	if (d->nalert == 0 && n > 0)
		put_text(c, y + 1, 2, c->cols - 2, DASH_DIM, "none yet");
	for (int i = 0; i < d->nalert && i < n; i++) {
		const struct dash_alert *a = &d->alert[i];
		char when[40];

		fmt_time(a->time, true, when, sizeof(when));
		if (a->has_magnitude)
			snprintf(mag, sizeof(mag), "M%.1f", a->magnitude);
		else
			snprintf(mag, sizeof(mag), "M?");
		put_fmt(c, y + 1 + i, 0, c->cols, DASH_ALERT, "%s  %-5s %-8s %s", when, mag,
		    a->tsunami ? "tsunami" : "", a->place[0] ? a->place : "(no place)");
		paint(c, y + 1 + i, 0, c->cols, DASH_ALERT);
	}
}

/*
 * The panels, top to bottom: header (3 rows), magnitudes beside top
 * locations (6; stacked when narrow), the sparkline (2), active windows
 * (1), significant events (1 and a row each).  When rows run short, the
 * panels that matter least go first: significant events, sparkline,
 * locations (when stacked), windows.
 */
void
dash_draw(const struct dash *d, const struct dash_view *v, struct dash_canvas *c)
{
	int bottom = c->rows - (v->keys ? 1 : 0);
	bool wide = c->cols >= 64;
	bool places, spark, windows, alerts;
	int left = bottom - 9, y = 9;

	if (c->cols < 40 || bottom < 9) {
		put_fmt(c, 0, 0, c->cols, DASH_HEADER, "too small: %dx%d, want 80x24",
		    c->cols, c->rows);
		put_fmt(c, 1, 0, c->cols, DASH_NORMAL, "events %ld", d->events);
		put_fmt(c, 2, 0, c->cols, DASH_NORMAL, "bad lines %ld", d->bad_lines);
		return;
	}
	windows = left >= 1 && (left -= 1, true);
	places = wide || (left >= 6 && (left -= 6, true));
	spark = left >= 2 && (left -= 2, true);
	alerts = left >= 1;
	draw_header(d, v, c);
	draw_magnitudes(d, c, 3, 0, wide ? c->cols / 2 - 1 : c->cols);
	if (wide)
		draw_places(d, c, 3, c->cols / 2 + 1, c->cols - c->cols / 2 - 1, TOP_PLACES);
	else if (places) {
		draw_places(d, c, y, 0, c->cols, TOP_PLACES);
		y += 6;
	}
	if (spark) {
		draw_sparkline(d, c, y);
		y += 2;
	}
	if (windows)
		draw_windows(d, c, y++);
	if (alerts)
		draw_alerts(d, c, y, bottom - y - 1);
	if (v->keys)
		put_text(c, c->rows - 1, 0, c->cols, DASH_DIM,
		    "q quit   p pause   r reset counters");
}

int
dash_plain_rows(const struct dash *d, int cols)
{
	int alerts = d->nalert < PLAIN_ALERTS ? d->nalert : PLAIN_ALERTS;

	return 9 + (cols >= 64 ? 0 : 6) + 2 + 1 + 1 + (alerts > 0 ? alerts : 1);
}
