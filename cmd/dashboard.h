/* dashboard.h: csa-dashboard's counters and its screen layout. */
#ifndef CSA_DASHBOARD_H
#define CSA_DASHBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "strmap.h"

/*
 * The dashboard keeps counters, never the events: memory is bounded by the
 * number of distinct locations and of the windows still active.  The
 * layout is drawn into a canvas of cells, which the live view copies to
 * ncurses and the plain snapshot prints, so both show the same thing.
 */

#define DASH_MAG_BUCKETS 5
#define DASH_MINUTES 60
#define DASH_SIGNIFICANT 32
#define DASH_WINDOW_KINDS 6	/* tumbling hopping sliding session snapshot other */

/* A significant event, as last seen. */
struct dash_alert {
	int64_t time;
	double magnitude;
	bool has_magnitude;
	bool tsunami;
	char id[64];
	char place[128];
};

/* The windows of one kind still active: (start, end] in ms. */
struct dash_windows {
	long rows;
	int64_t newest_end;
	int64_t (*span)[2];
	int n, cap;
};

struct dash {
	double alert_magnitude;
	long events, earthquakes, bad_lines, rows;
	bool has_max;
	double max_magnitude;
	long magnitude[DASH_MAG_BUCKETS];
	long no_magnitude;
	struct strmap places;	/* location -> count in `a` */
	bool has_newest;
	int64_t newest;		/* the latest event time, ms */
	int64_t minute_count[DASH_MINUTES];
	int64_t minute_of[DASH_MINUTES];	/* which minute a slot counts */
	struct dash_windows windows[DASH_WINDOW_KINDS];
	struct dash_alert alert[DASH_SIGNIFICANT];	/* newest first */
	int nalert;
	struct buf scratch;	/* a place, unescaped; reused line to line */
};

void dash_init(struct dash *d, double alert_magnitude);
void dash_free(struct dash *d);
/* Forget everything counted so far (the r key). */
void dash_reset(struct dash *d);

/*
 * Count one input line: a window row (it has window_start) or an event.
 * Returns false with e set, counting it as a bad line, when the line is
 * not a JSON object.  doc is scratch space reused from line to line.
 */
bool dash_line(struct dash *d, struct json_doc *doc, const char *line, size_t len,
    struct err *e);

/* What the view adds to the counters when drawing. */
struct dash_view {
	int64_t now;		/* ms */
	int64_t last_update;	/* ms of the last line read, or -1 */
	const char *state;	/* "live", "paused", "input ended", or NULL */
	bool keys;		/* show the key help line */
};

enum dash_attr {
	DASH_NORMAL = 0,
	DASH_HEADER,		/* the title bar */
	DASH_TITLE,		/* a panel's title */
	DASH_BAR,
	DASH_ALERT,
	DASH_DIM,
	DASH_NATTR
};

/* A grid of cells, each a code point and an attribute. */
struct dash_canvas {
	int rows, cols;
	bool utf8;		/* block characters for bars; else ASCII */
	uint32_t *ch;
	unsigned char *attr;
};

/* A canvas of rows x cols blank cells; dash_canvas_free releases it. */
void dash_canvas_init(struct dash_canvas *c, int rows, int cols, bool utf8);
void dash_canvas_free(struct dash_canvas *c);

/* Draw every panel that fits on c. */
void dash_draw(const struct dash *d, const struct dash_view *v, struct dash_canvas *c);

/* Rows the plain snapshot needs at this width to show every panel whole. */
int dash_plain_rows(const struct dash *d, int cols);

/* The location shown for a USGS place: the part after the last comma, with
 * US state codes spelled out.  Writes at most size bytes, NUL-terminated. */
void dash_location(const char *place, size_t n, char *out, size_t size);

#endif
