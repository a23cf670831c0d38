/* dashboard.c: csa-dashboard's counters, and the panels drawn from them. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "buf.h"
#include "dashboard.h"
#include "map/landmask.h"
#include "timefmt.h"

#define MAX_ACTIVE 4096		/* active windows kept per kind */
#define PLAIN_ALERTS 10		/* alerts in a snapshot */
#define TOP_PLACES 5

const char *const dash_chart_name[DASH_NCHART] = { "1h", "24h", "7d" };
const char *const dash_map_name[DASH_NMAP] = { "world", "extent", "box" };

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
	for (int i = 0; i < DASH_MINUTES; i++) {
		d->minute_of[i] = INT64_MIN;
		d->minute_max[i] = -HUGE_VAL;
	}
	for (int i = 0; i < DASH_HOURS; i++)
		d->hour_of[i] = d->merged_of[i] = INT64_MIN;
	d->merged_newest = INT64_MIN;
	for (int i = 0; i < DASH_PARTITIONS; i++)
		d->partition[i].sequence = -1;
}

void
dash_free(struct dash *d)
{
	strmap_free(&d->places);
	buf_free(&d->scratch);
	free(d->point);
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

/* Floor division, also before 1970: the minute or hour an instant is in. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int64_t
minute_of(int64_t ms)
{
	return floor_div(ms, 60000);
}

/* The slot of a ring of n that counts period p. */
static int
ring_slot(int64_t p, int n)
{
	return (int)(((p % n) + n) % n);
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

/*
 * Remember an event in a list of at most cap, newest first (by event
 * time; an equal time goes after those already there), replacing an
 * earlier version of it; keep false takes it out.
 */
static void
note_event(struct dash_alert *list, int *n, int cap, const struct dash_alert *a, bool keep)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(list[i].id, a->id) == 0)
			break;
	if (i < *n) {		/* a revision: take the old one out */
		memmove(&list[i], &list[i + 1], sizeof(list[0]) * (size_t)(*n - i - 1));
		(*n)--;
	}
	if (!keep)
		return;
	for (i = 0; i < *n && list[i].time >= a->time; i++)
		;
	if (i == cap)
		return;		/* older than every one kept */
	if (*n == cap)
		(*n)--;
	memmove(&list[i + 1], &list[i], sizeof(list[0]) * (size_t)(*n - i));
	list[i] = *a;
	(*n)++;
}

/*
 * Count an event into its minute (a day of them is kept, with the largest
 * magnitude of each) and its hour (a week).  Returns true when it is the
 * newest event so far.
 */
static bool
count_time(struct dash *d, int64_t t, bool has_magnitude, double magnitude)
{
	int64_t minute, hour;
	bool newest = false;
	int slot;

	if (!d->has_newest || t >= d->newest) {
		d->newest = t;
		d->has_newest = newest = true;
	}
	minute = minute_of(t);
	if (minute > minute_of(d->newest) - DASH_MINUTES) {
		slot = ring_slot(minute, DASH_MINUTES);
		if (d->minute_of[slot] != minute) {
			d->minute_of[slot] = minute;
			d->minute_count[slot] = 0;
			d->minute_max[slot] = -HUGE_VAL;
		}
		d->minute_count[slot]++;
		if (has_magnitude && magnitude > d->minute_max[slot])
			d->minute_max[slot] = magnitude;
	}
	hour = floor_div(t, 3600000);
	if (hour > floor_div(d->newest, 3600000) - DASH_HOURS) {
		slot = ring_slot(hour, DASH_HOURS);
		if (d->hour_of[slot] != hour) {
			d->hour_of[slot] = hour;
			d->hour_count[slot] = 0;
		}
		d->hour_count[slot]++;
	}
	return newest;
}

/* Keep an epicentre for the map, and widen the events' extent. */
static void
count_point(struct dash *d, const struct dash_point *p, bool newest)
{
	if (d->point == NULL)
		d->point = xmalloc(sizeof(d->point[0]) * DASH_POINTS);
	d->point[d->point_next] = *p;
	d->point_next = (d->point_next + 1) % DASH_POINTS;
	if (d->npoint < DASH_POINTS)
		d->npoint++;
	if (!d->has_extent) {
		d->lon_min = d->lon_max = p->lon;
		d->lat_min = d->lat_max = p->lat;
		d->has_extent = true;
	}
	d->lon_min = fmin(d->lon_min, p->lon);
	d->lon_max = fmax(d->lon_max, p->lon);
	d->lat_min = fmin(d->lat_min, p->lat);
	d->lat_max = fmax(d->lat_max, p->lat);
	if (newest) {
		d->newest_point = *p;
		d->has_newest_point = true;
	}
}

/* The hub metadata of an event (_eh): its partition's sequence and lag. */
static void
count_hub(struct dash *d, const struct json_doc *doc, int eh, int64_t time, bool has_time)
{
	struct dash_partition *p;
	int64_t n, seq, enq;

	if (json_int64(doc, json_member(doc, eh, "partition", 9), &n) < 0 || n < 0 ||
	    n >= DASH_PARTITIONS)
		return;
	p = &d->partition[n];
	if (n >= d->npartition)
		d->npartition = (int)n + 1;
	p->events++;
	if (json_int64(doc, json_member(doc, eh, "sequence_number", 15), &seq) == 0 &&
	    seq > p->sequence)
		p->sequence = seq;
	if (has_time && time_of(doc, json_member(doc, eh, "enqueued_time", 13), &enq) &&
	    (!p->has_lag || time >= p->time)) {
		p->time = time;
		p->enqueued = enq;
		p->has_lag = true;
	}
}

/* A merged view row (csa-merge): its event_count into the hour it starts. */
static void
count_merged(struct dash *d, const struct json_doc *doc, int start_tok)
{
	int64_t start, hour;
	double n;
	int slot;

	d->merged_rows++;
	if (!time_of(doc, start_tok, &start) ||
	    json_number(doc, json_member(doc, 0, "event_count", 11), &n) < 0)
		return;
	hour = floor_div(start, 3600000);
	if (hour > d->merged_newest)
		d->merged_newest = hour;
	if (hour <= d->merged_newest - DASH_HOURS)
		return;
	slot = ring_slot(hour, DASH_HOURS);
	if (d->merged_of[slot] != hour) {
		d->merged_of[slot] = hour;
		d->merged_count[slot] = 0;
	}
	d->merged_count[slot] += n;
}

static void
count_event(struct dash *d, const struct json_doc *doc)
{
	struct dash_alert a;
	struct dash_point p;
	int t;
	double x, lon, lat;
	bool b, alert = false, has_time = false, newest = false;
	int64_t ms = 0;

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
		alert = x >= d->alert_magnitude;
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
		newest = count_time(d, ms, a.has_magnitude, a.magnitude);
		a.time = ms;
		has_time = true;
	}
	if (json_number(doc, json_member(doc, 0, "longitude", 9), &lon) == 0 &&
	    json_number(doc, json_member(doc, 0, "latitude", 8), &lat) == 0 &&
	    lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) {
		p.lon = lon;
		p.lat = lat;
		p.magnitude = a.magnitude;
		p.has_magnitude = a.has_magnitude;
		count_point(d, &p, newest);
	}
	if (json_number(doc, json_member(doc, 0, "depth_km", 8), &x) == 0) {
		a.depth = x;
		a.has_depth = true;
	}
	t = json_member(doc, 0, "alert_level", 11);
	if (json_type(doc, t) == JSON_STRING && json_string_plain(doc, t)) {
		size_t n;
		const char *s = json_raw(doc, t, &n);

		snprintf(a.alert_level, sizeof(a.alert_level), "%.*s", (int)n, s);
	}
	t = json_member(doc, 0, "_eh", 3);
	if (json_type(doc, t) == JSON_OBJECT)
		count_hub(d, doc, t, ms, has_time);
	t = json_member(doc, 0, "tsunami_flag", 12);
	if ((json_number(doc, t, &x) == 0 && x != 0) || (json_bool(doc, t, &b) == 0 && b))
		a.tsunami = alert = true;
	t = json_member(doc, 0, "event_id", 8);
	if (json_type(doc, t) == JSON_STRING) {
		size_t n;
		const char *s = json_raw(doc, t, &n);

		snprintf(a.id, sizeof(a.id), "%.*s", (int)n, s);
	} else {
		snprintf(a.id, sizeof(a.id), "%lld %.40s", (long long)a.time, a.place);
	}
	if (alert || d->nalert > 0)
		note_event(d->alert, &d->nalert, DASH_ALERTS, &a, alert);
	note_event(d->latest, &d->nlatest, DASH_LATEST, &a, true);
}

bool
dash_line(struct dash *d, struct json_doc *doc, const char *line, size_t len,
    enum msg_bad_kind *kind, struct err *e)
{
	int start;

	*kind = BAD_JSON;
	if (json_parse(doc, line, len, e) < 0) {
		d->bad_lines++;
		return false;
	}
	if (json_type(doc, 0) != JSON_OBJECT) {
		*kind = BAD_OBJECT;
		err_set(e, ERR_DATA, "not a JSON object");
		d->bad_lines++;
		return false;
	}
	start = json_member(doc, 0, "window_start", 12);
	if (start >= 0 && json_member(doc, 0, "data_freshness", 14) >= 0)
		count_merged(d, doc, start);
	else if (start >= 0)
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

/*
 * Write UTF-8 text at (y, x), at most width cells; returns cells used.  A
 * wide character (CJK) takes two cells, the second marked DASH_WIDE_TAIL;
 * a combining one is dropped, since a cell holds one code point.  Widths
 * are the locale's (wcwidth); where it knows none, one cell.
 */
static int
put_text(struct dash_canvas *c, int y, int x, int width, enum dash_attr attr,
    const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	int used = 0;

	while (*s && used < width) {
		uint32_t cp = next_utf8(&s);
		int w = cp < 0x80 ? 1 : wcwidth((wchar_t)cp);

		if (w == 0)
			continue;
		if (w == 2 && used + 1 < width) {
			put_cell(c, y, x + used++, attr, cp);
			if (y >= 0 && y < c->rows && x + used >= 0 && x + used < c->cols) {
				c->ch[(size_t)y * (size_t)c->cols + (size_t)(x + used)] = DASH_WIDE_TAIL;
				c->attr[(size_t)y * (size_t)c->cols + (size_t)(x + used)] =
				    (unsigned char)attr;
			}
			used++;
		} else if (w == 2) {
			put_cell(c, y, x + used++, attr, ' ');	/* no room for both halves */
		} else {
			put_cell(c, y, x + used++, attr, cp);
		}
	}
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

/* A span of time: 5s, 12m 3s, 4h 2m, 2328d 5h; -5s before. */
static void
fmt_span(int64_t ms, char *out, size_t size)
{
	const char *sign = ms < 0 ? "-" : "";
	int64_t s = (ms < 0 ? -ms : ms) / 1000;

	if (s < 60)
		snprintf(out, size, "%s%llds", sign, (long long)s);
	else if (s < 3600)
		snprintf(out, size, "%s%lldm %llds", sign, (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, size, "%s%lldh %lldm", sign, (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(out, size, "%s%lldd %lldh", sign, (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

/* 5s ago, 12m 3s ago, 4h 2m ago, 2328d 5h ago. */
static void
fmt_age(int64_t ms, char *out, size_t size)
{
	char span[32];

	if (ms < 0) {
		snprintf(out, size, "in the future");
		return;
	}
	fmt_span(ms, span, sizeof(span));
	snprintf(out, size, "%s ago", span);
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

/* The instant the charts and the 24 hours end at: --now, else the newest
 * event.  False when there is neither. */
static bool
ref_time(const struct dash *d, const struct dash_view *v, int64_t *ref)
{
	*ref = v->now_given ? v->now : d->newest;
	return v->now_given || d->has_newest;
}

/* The largest magnitude of the 24 hours to the reference instant, to the
 * minute: the minutes after ref - 24h up to ref's own. */
static bool
max_24h(const struct dash *d, const struct dash_view *v, double *max)
{
	int64_t ref, last;
	bool any = false;

	if (!ref_time(d, v, &ref))
		return false;
	last = minute_of(ref);
	for (int i = 0; i < DASH_MINUTES; i++)
		if (d->minute_of[i] <= last && d->minute_of[i] > last - DASH_MINUTES &&
		    d->minute_max[i] > -HUGE_VAL && (!any || d->minute_max[i] > *max)) {
			*max = d->minute_max[i];
			any = true;
		}
	return any;
}

static void
draw_header(const struct dash *d, const struct dash_view *v, struct dash_canvas *c)
{
	char mag[40] = "-", mag24[40] = "-", when[40], newest[40], age[40];
	double m24 = 0;
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
	if (max_24h(d, v, &m24))
		json_fmt_num(mag24, sizeof(mag24), m24);
	x = put_fmt(c, 1, 0, c->cols, DASH_NORMAL,
	    "events %ld  earthquakes %ld  max magnitude 24h %s  all time %s  ", d->events,
	    d->earthquakes, mag24, mag);
	/* Whole or not at all: the input line below has it too. */
	snprintf(when, sizeof(when), "bad lines %ld", d->bad_lines);
	if (x + (int)strlen(when) <= c->cols)
		put_text(c, 1, x, c->cols - x, d->bad_lines > 0 ? DASH_ALERT : DASH_NORMAL, when);
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
	    "Alerts (magnitude %.1f or more, or tsunami): %d",
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


/* The magnitude band of a magnitude: the buckets of the Magnitude panel. */
static int
band_of(double m)
{
	return m < 1.0 ? 0 : m < 3.0 ? 1 : m < 4.0 ? 2 : m < 5.0 ? 3 : 4;
}

/* Chart. */

/*
 * The counts of the chart the view asks for, oldest first: n bins of step
 * ms, the last one holding the reference instant (*end is its end).
 * Hourly charts take merged view rows when some came (*merged).
 */
static int
chart_bins(const struct dash *d, const struct dash_view *v, double *count, int64_t *step,
    int64_t *end, bool *merged)
{
	int n = v->chart == DASH_CHART_1H ? 60 : v->chart == DASH_CHART_24H ? 24 : DASH_HOURS;
	int64_t ref, last;

	*step = v->chart == DASH_CHART_1H ? 60000 : 3600000;
	*merged = v->chart != DASH_CHART_1H && d->merged_newest != INT64_MIN;
	if (*merged && !v->now_given)
		ref = d->merged_newest * 3600000;
	else if (!ref_time(d, v, &ref))
		ref = 0;
	last = floor_div(ref, *step);
	*end = (last + 1) * *step;
	for (int i = 0; i < n; i++) {
		int64_t p = last - (n - 1) + i;

		if (*step == 60000) {
			int slot = ring_slot(p, DASH_MINUTES);

			count[i] = d->minute_of[slot] == p ? (double)d->minute_count[slot] : 0;
		} else {
			int slot = ring_slot(p, DASH_HOURS);

			if (*merged)
				count[i] = d->merged_of[slot] == p ? d->merged_count[slot] : 0;
			else
				count[i] = d->hour_of[slot] == p ? (double)d->hour_count[slot] : 0;
		}
	}
	return n;
}

/*
 * The time chart: a title, bar rows, and a row of counts under the bins
 * when each fits (else where the range starts and ends).  The bins share
 * the full width; when there are more bins than columns the newest show.
 */
static void
draw_chart(const struct dash *d, const struct dash_view *v, struct dash_canvas *c, int y,
    int h)
{
	static const uint32_t level_utf8[9] = {
		' ', 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588
	};
	static const char level_ascii[] = " .,:;=+*#";
	double count[DASH_HOURS], peak = 0, total = 0;
	int64_t step, end;
	bool merged, fits = true;
	char until[40], num[32], tot[32], pk[32];
	int n = chart_bins(d, v, count, &step, &end, &merged), first = 0, k, bars = h - 2;

	for (int i = 0; i < n; i++) {
		peak = fmax(peak, count[i]);
		total += count[i];
	}
	fmt_time(end, true, until, sizeof(until));
	until[16] = '\0';	/* to the minute */
	json_fmt_num(tot, sizeof(tot), total);
	json_fmt_num(pk, sizeof(pk), peak);
	put_fmt(c, y, 0, c->cols, DASH_TITLE, "Events per %s, %s to %s UTC%s: %s, peak %s",
	    step == 60000 ? "minute" : "hour", dash_chart_name[v->chart], until,
	    merged ? " from the merged view" : " of event time", tot, pk);
	k = c->cols / n;
	if (k == 0) {
		k = 1;
		first = n - c->cols;
	}
	for (int i = first; i < n; i++) {
		int x = (i - first) * k, w = k > 2 ? k - 1 : k;
		long eighths = peak > 0 ? (long)ceil(count[i] * bars * 8 / peak) : 0;

		for (int r = 0; r < bars; r++) {
			long e = eighths - (long)(bars - 1 - r) * 8;
			uint32_t cp = e <= 0 ? ' ' : e >= 8 ? (c->utf8 ? 0x2588 : '#') :
			    c->utf8 ? level_utf8[e] : (uint32_t)level_ascii[e];

			for (int j = 0; j < w; j++)
				put_cell(c, y + 1 + r, x + j, DASH_BAR, cp);
		}
		json_fmt_num(num, sizeof(num), count[i]);
		if ((int)strlen(num) > (k > 1 ? k - 1 : 0))
			fits = false;
	}
	if (fits) {
		for (int i = first; i < n; i++) {
			json_fmt_num(num, sizeof(num), count[i]);
			put_text(c, y + h - 1, (i - first) * k, k - 1, DASH_DIM, num);
		}
	} else {
		snprintf(num, sizeof(num), "-%s", dash_chart_name[v->chart]);
		put_text(c, y + h - 1, 0, c->cols, DASH_DIM, num);
		put_text(c, y + h - 1, (n - first) * k - 3, 3, DASH_DIM, "now");
	}
}

/* Map. */

static unsigned char land_bits[1440 * 720 / 8];
static bool land_ready;

/* The land mask, from run lengths to bits, once. */
static void
land_load(void)
{
	for (int r = 0; r < landmask_rows && !land_ready; r++) {
		size_t at = (size_t)r * (size_t)landmask_cols;
		bool land = false;

		for (unsigned i = landmask_row[r]; i < landmask_row[r + 1]; i++) {
			if (land)
				for (unsigned j = 0; j < landmask_run[i]; j++)
					land_bits[(at + j) / 8] |= (unsigned char)(1u << ((at + j) % 8));
			at += landmask_run[i];
			land = !land;
		}
	}
	land_ready = true;
}

static bool
is_land(double lon, double lat)
{
	int col = (int)floor((lon + 180) * 4), row = (int)floor((90 - lat) * 4);
	size_t at;

	if (col < 0 || col >= landmask_cols || row < 0 || row >= landmask_rows)
		return false;
	at = (size_t)row * (size_t)landmask_cols + (size_t)col;
	return land_bits[at / 8] >> (at % 8) & 1;
}

/*
 * The extent a map of rows x cols cells shows: lon1 lat1 lon2 lat2.  The
 * world and a box are as they are; the events' extent gets a margin and
 * is widened to the panel's shape (a braille dot is about square: 2x4 in
 * a cell twice as tall as wide), rounded out to tenths of a degree.
 */
static void
map_extent(const struct dash *d, const struct dash_view *v, int rows, int cols, double e[4])
{
	double w, h, cx, cy, want;

	if (v->map == DASH_MAP_BOX) {
		memcpy(e, v->box, sizeof(v->box));
		return;
	}
	if (v->map == DASH_MAP_WORLD || !d->has_extent) {
		e[0] = -180, e[1] = -90, e[2] = 180, e[3] = 90;
		return;
	}
	w = d->lon_max - d->lon_min;
	h = d->lat_max - d->lat_min;
	cx = (d->lon_max + d->lon_min) / 2;
	cy = (d->lat_max + d->lat_min) / 2;
	w = fmax(w * 1.1, 1);
	h = fmax(h * 1.1, 1);
	want = (double)cols / (2.0 * rows);
	if (w / h < want)
		w = h * want;
	else
		h = w / want;
	w = fmin(w, 360);
	h = fmin(h, 180);
	cx = fmin(fmax(cx, -180 + w / 2), 180 - w / 2);
	cy = fmin(fmax(cy, -90 + h / 2), 90 - h / 2);
	e[0] = fmax(floor((cx - w / 2) * 10) / 10, -180);
	e[1] = fmax(floor((cy - h / 2) * 10) / 10, -90);
	e[2] = fmin(ceil((cx + w / 2) * 10) / 10, 180);
	e[3] = fmin(ceil((cy + h / 2) * 10) / 10, 90);
}

/* The cell of a point on a rows x cols map of extent e; false outside.
 * The east and south edges belong to the last column and row. */
static bool
map_cell(const double e[4], int rows, int cols, double lon, double lat, int *row, int *col)
{
	if (lon < e[0] || lon > e[2] || lat < e[1] || lat > e[3])
		return false;
	*col = (int)floor((lon - e[0]) / (e[2] - e[0]) * cols);
	*row = (int)floor((e[3] - lat) / (e[3] - e[1]) * rows);
	if (*col >= cols)
		*col = cols - 1;
	if (*row >= rows)
		*row = rows - 1;
	return true;
}

/*
 * The map: a title, then land in braille dots (ASCII: '.' and ':'), and
 * in each cell with epicentres the largest magnitude's whole part (0 for
 * less, 9 for more), coloured by band; the newest event is '*'.
 */
static void
draw_map(const struct dash *d, const struct dash_view *v, struct dash_canvas *c, int y, int x,
    int h, int w)
{
	static const unsigned char dot[4][2] = {
		{ 0x01, 0x08 }, { 0x02, 0x10 }, { 0x04, 0x20 }, { 0x40, 0x80 }
	};
	int rows = h - 1, cols = w, shown = 0, r, col;
	double e[4];
	float *cell;

	if (rows < 1 || cols < 1)
		return;
	land_load();
	map_extent(d, v, rows, cols, e);
	for (r = 0; r < rows; r++)
		for (col = 0; col < cols; col++) {
			unsigned bits = 0, n = 0;

			for (int dy = 0; dy < 4; dy++)
				for (int dx = 0; dx < 2; dx++) {
					double lon = e[0] + (col * 2 + dx + 0.5) / (cols * 2) * (e[2] - e[0]);
					double lat = e[3] - (r * 4 + dy + 0.5) / (rows * 4) * (e[3] - e[1]);

					if (is_land(lon, lat)) {
						bits |= dot[dy][dx];
						n++;
					}
				}
			if (n > 0)
				put_cell(c, y + 1 + r, x + col, DASH_LAND, c->utf8 ? 0x2800 + bits :
				    n > 4 ? ':' : '.');
		}
	/* Each cell's largest magnitude; NAN for epicentres without one. */
	cell = xmalloc(sizeof(cell[0]) * (size_t)rows * (size_t)cols);
	for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
		cell[i] = -HUGE_VALF;
	for (int i = 0; i < d->npoint; i++) {
		const struct dash_point *p = &d->point[i];
		float *m;

		if (!map_cell(e, rows, cols, p->lon, p->lat, &r, &col))
			continue;
		shown++;
		m = &cell[(size_t)r * (size_t)cols + (size_t)col];
		if (!p->has_magnitude && *m == -HUGE_VALF)
			*m = NAN;
		else if (p->has_magnitude && (isnan(*m) || p->magnitude > *m))
			*m = p->magnitude;
	}
	for (r = 0; r < rows; r++)
		for (col = 0; col < cols; col++) {
			float m = cell[(size_t)r * (size_t)cols + (size_t)col];

			if (m == -HUGE_VALF)
				continue;
			if (isnan(m))
				put_cell(c, y + 1 + r, x + col, DASH_MAG0, '?');
			else
				put_cell(c, y + 1 + r, x + col, (enum dash_attr)(DASH_MAG0 + band_of(m)),
				    (uint32_t)('0' + (m < 0 ? 0 : m >= 9 ? 9 : (int)m)));
		}
	free(cell);
	if (d->has_newest_point &&
	    map_cell(e, rows, cols, d->newest_point.lon, d->newest_point.lat, &r, &col))
		put_cell(c, y + 1 + r, x + col, DASH_NEWEST, '*');
	put_fmt(c, y, x, w, DASH_TITLE, "Map %s %g,%g,%g,%g: %d of %d epicentres%s",
	    dash_map_name[v->map], e[0], e[1], e[2], e[3], shown, d->npoint,
	    d->has_newest_point ? ", * newest" : "");
}

/* Latest events. */

/* The flags of an event: T for a tsunami flag, then its PAGER alert level. */
static void
fmt_flags(const struct dash_alert *a, bool word, char *out, size_t size)
{
	snprintf(out, size, "%s%.*s", a->tsunami ? (a->alert_level[0] ? "T " : "T") : "",
	    word ? 7 : 1, a->alert_level);
}

/*
 * The newest events by event time, as many as fit: a title, a heading,
 * and a row each.  Wide, with the full time and the event id; narrow,
 * the day and time, and the alert level's initial.
 */
static void
draw_latest(const struct dash *d, struct dash_canvas *c, int y, int x, int h, int w)
{
	bool wide = w >= 72;
	int n = h - 2;

	put_fmt(c, y, x, w, DASH_TITLE, "Latest events: %d newest of %ld", d->nlatest, d->events);
	if (n < 1)
		return;
	if (wide)
		put_fmt(c, y + 1, x, w, DASH_DIM, "%-19s %-12s %5s %8s %-8s %s", "time UTC", "id",
		    "mag", "depth", "flags", "place");
	else
		put_fmt(c, y + 1, x, w, DASH_DIM, "%-14s %4s %4s %-3s %s", "time UTC", "mag", "km",
		    "", "place");
	if (d->nlatest == 0)
		put_text(c, y + 2, x + 2, w - 2, DASH_DIM, "none yet");
	for (int i = 0; i < d->nlatest && i < n; i++) {
		const struct dash_alert *a = &d->latest[i];
		char when[40], mag[16] = "?", depth[16] = "?", flags[16];
		int used;

		fmt_time(a->time, true, when, sizeof(when));
		if (a->has_magnitude)
			snprintf(mag, sizeof(mag), "%.1f", a->magnitude);
		if (a->has_depth)
			snprintf(depth, sizeof(depth), wide ? "%.1f km" : "%.0f", a->depth);
		fmt_flags(a, wide, flags, sizeof(flags));
		if (wide)
			used = put_fmt(c, y + 2 + i, x, w, DASH_NORMAL, "%-19s %-12.12s %5s %8s %-8s ",
			    when, a->id, mag, depth, flags);
		else
			used = put_fmt(c, y + 2 + i, x, w, DASH_NORMAL, "%-14s %4s %4s %-3s ",
			    when + 5, mag, depth, flags);
		put_text(c, y + 2 + i, x + used, w - used, DASH_NORMAL,
		    a->place[0] ? a->place : "(no place)");
		if (a->has_magnitude && a->magnitude >= d->alert_magnitude)
			paint(c, y + 2 + i, x, w, DASH_ALERT);
	}
}

/* Pipeline health. */

/* The health panel's rows: one, and one for hub partitions once seen. */
static int
health_rows(const struct dash *d)
{
	return d->npartition > 0 ? 2 : 1;
}

/*
 * The input rate (when the view knows it), bad lines, the age of the
 * newest event (data freshness); on a second row, per hub partition, the
 * events read and the ingestion lag (enqueued less event time) of its
 * newest, as many as fit.
 */
static void
draw_health(const struct dash *d, const struct dash_view *v, struct dash_canvas *c, int y)
{
	char line[512], age[40];
	size_t n;

	if (v->has_rate)
		n = (size_t)snprintf(line, sizeof(line), "Input %.0f events/s, peak %.0f/s",
		    v->rate, v->peak_rate);
	else
		n = (size_t)snprintf(line, sizeof(line), "Input %ld lines", d->events + d->rows +
		    d->merged_rows + d->bad_lines);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "  bad lines %ld", d->bad_lines);
	if (d->has_newest) {
		fmt_age(v->now - d->newest, age, sizeof(age));
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  newest event %s", age);
	}
	put_text(c, y, 0, c->cols, DASH_NORMAL, line);
	paint(c, y, 0, 5, DASH_TITLE);
	if (d->bad_lines > 0)
		paint(c, y, 0, c->cols, DASH_ALERT);
	if (d->npartition == 0)
		return;
	n = (size_t)snprintf(line, sizeof(line), "Partitions");
	for (int i = 0; i < d->npartition && n < sizeof(line) - 64; i++) {
		const struct dash_partition *p = &d->partition[i];

		if (p->events == 0)
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  p%d %ld", i, p->events);
		if (p->has_lag) {
			int64_t lag = p->enqueued - p->time;

			if (lag > -60000 && lag < 60000)
				snprintf(age, sizeof(age), "%.1fs", (double)lag / 1000);
			else
				fmt_span(lag, age, sizeof(age));
			n += (size_t)snprintf(line + n, sizeof(line) - n, " lag %s", age);
		}
	}
	put_text(c, y + 1, 0, c->cols, DASH_NORMAL, line);
	paint(c, y + 1, 0, 10, DASH_TITLE);
}

static const char *const help_line[] = {
	"q        quit",
	"p        pause the display (input is still read)",
	"r        reset every counter",
	"c        chart range: 1h, 24h, 7d",
	"m        map: world, extent of the events, --map box",
	"Ctrl-L   repaint the screen",
	"?        show or hide this help",
};

/* What the keys do, in a box over the middle of the screen. */
static void
draw_help(struct dash_canvas *c)
{
	int n = (int)(sizeof(help_line) / sizeof(help_line[0])), w = 56;
	int y = (c->rows - n - 2) / 2, x = (c->cols - w) / 2;

	if (x < 0)
		x = 0;
	if (y < 0)
		y = 0;
	for (int i = 0; i < n + 2; i++) {
		for (int j = 0; j < w && x + j < c->cols; j++)
			put_cell(c, y + i, x + j, DASH_HEADER, ' ');
		if (i > 0 && i <= n)
			put_text(c, y + i, x + 2, w - 3, DASH_HEADER, help_line[i - 1]);
	}
	put_text(c, y, x + 2, w - 3, DASH_HEADER, "Keys (any key closes)");
}

/* Layout. */

/* Take n rows from *left when they are there. */
static bool
take(int *left, int n)
{
	if (*left < n)
		return false;
	*left -= n;
	return true;
}

/*
 * The live screen, top to bottom: header (3 rows), health (1), magnitudes
 * beside top locations (6; stacked below 64 columns), the time chart, the
 * active windows (1), the map with the latest events beside it (below it
 * under 72 columns), the alerts, the keys.  Rows go first to
 * the map, then the chart, magnitudes, latest events, health, windows,
 * locations and alerts, at their least; what is left grows
 * the map to its shape, the chart, then the lists.
 */
void
dash_draw(const struct dash *d, const struct dash_view *v, struct dash_canvas *c)
{
	int bottom = c->rows - (v->keys ? 1 : 0), left = bottom - 3, y = 3;
	bool wide = c->cols >= 64, beside = c->cols >= 72;
	bool map, chart, mags, latest, health, windows, places, alerts;
	int map_h = 5, chart_h = 3, latest_h = 3, latest_w = 0, map_w = c->cols, grow;

	if (c->cols < 40 || bottom < 9) {
		put_fmt(c, 0, 0, c->cols, DASH_HEADER, "too small: %dx%d, want 80x24",
		    c->cols, c->rows);
		put_fmt(c, 1, 0, c->cols, DASH_NORMAL, "events %ld", d->events);
		put_fmt(c, 2, 0, c->cols, DASH_NORMAL, "bad lines %ld", d->bad_lines);
		return;
	}
	if (beside) {
		latest_w = c->cols * 2 / 5 > 40 ? c->cols * 2 / 5 : 40;
		map_w = c->cols - latest_w - 1;
	}
	map = take(&left, map_h);
	chart = take(&left, chart_h);
	mags = take(&left, 6);
	latest = beside ? map : take(&left, latest_h);
	health = take(&left, health_rows(d));
	windows = take(&left, 1);
	places = wide ? mags : take(&left, 6);
	alerts = take(&left, 2);
	/* The map to its shape (or a third of what is left for the lists). */
	grow = map_w / 4 + 1 - map_h;
	if (grow > left - (alerts ? left / 3 : 0))
		grow = left - (alerts ? left / 3 : 0);
	if (map && grow > 0) {
		map_h += grow;
		left -= grow;
	}
	grow = left < 3 ? left : 3;
	if (chart && grow > 0) {
		chart_h += grow;
		left -= grow;
	}
	if (latest && !beside) {
		grow = left < DASH_LATEST + 2 - latest_h ? left : DASH_LATEST + 2 - latest_h;
		latest_h += grow;
		left -= grow;
	}
	draw_header(d, v, c);
	if (health) {
		draw_health(d, v, c, y);
		y += health_rows(d);
	}
	if (mags) {
		draw_magnitudes(d, c, y, 0, wide ? c->cols / 2 - 1 : c->cols);
		if (wide)
			draw_places(d, c, y, c->cols / 2 + 1, c->cols - c->cols / 2 - 1, TOP_PLACES);
		y += 6;
	}
	if (places && !wide) {
		draw_places(d, c, y, 0, c->cols, TOP_PLACES);
		y += 6;
	}
	if (chart) {
		draw_chart(d, v, c, y, chart_h);
		y += chart_h;
	}
	if (windows)
		draw_windows(d, c, y++);
	if (map) {
		draw_map(d, v, c, y, 0, map_h, map_w);
		if (beside)
			draw_latest(d, c, y, map_w + 1, map_h, latest_w);
		y += map_h;
	}
	if (latest && !beside) {
		draw_latest(d, c, y, 0, latest_h, c->cols);
		y += latest_h;
	}
	if (alerts)
		draw_alerts(d, c, y, bottom - y - 1);
	if (v->keys)
		put_text(c, c->rows - 1, 0, c->cols, DASH_DIM,
		    "q quit  p pause  r reset  c chart  m map  ? keys");
	if (v->help)
		draw_help(c);
}

/* The rows the plain map takes at this width: the world's shape, or the
 * box's; the events' extent takes the world's and widens to it. */
static int
plain_map_rows(const struct dash_view *v, int cols)
{
	double r = cols / 4.0;

	if (v->map == DASH_MAP_BOX)
		r = cols * (v->box[3] - v->box[1]) / (v->box[2] - v->box[0]) / 2;
	return r < 4 ? 4 : r > 60 ? 60 : (int)(r + 0.5);
}

void
dash_draw_plain(const struct dash *d, const struct dash_view *v, int cols, bool utf8,
    struct dash_canvas *c)
{
	int alerts = d->nalert < PLAIN_ALERTS ? d->nalert : PLAIN_ALERTS;
	int latest = d->nlatest > 0 ? d->nlatest : 1, chart_h = 6;
	int map_h = plain_map_rows(v, cols) + 1, y = 3;
	bool wide = cols >= 64;

	dash_canvas_init(c, 3 + health_rows(d) + 6 + (wide ? 0 : 6) + chart_h + 1 + map_h + 2 + latest + 1 +
	    (alerts > 0 ? alerts : 1), cols, utf8);
	draw_header(d, v, c);
	draw_health(d, v, c, y);
	y += health_rows(d);
	draw_magnitudes(d, c, y, 0, wide ? cols / 2 - 1 : cols);
	if (wide) {
		draw_places(d, c, y, cols / 2 + 1, cols - cols / 2 - 1, TOP_PLACES);
	} else {
		y += 6;
		draw_places(d, c, y, 0, cols, TOP_PLACES);
	}
	y += 6;
	draw_chart(d, v, c, y, chart_h);
	y += chart_h;
	draw_windows(d, c, y++);
	draw_map(d, v, c, y, 0, map_h, cols);
	y += map_h;
	draw_latest(d, c, y, 0, latest + 2, cols);
	y += latest + 2;
	draw_alerts(d, c, y, alerts);
}
