/* dashboard.h: csa-dashboard's counters and its screen layout. */
#ifndef CSA_DASHBOARD_H
#define CSA_DASHBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "msg.h"
#include "strmap.h"

/*
 * The dashboard keeps counters, never the events: memory is bounded by the
 * number of distinct locations and of the windows still active.  The
 * layout is drawn into a canvas of cells, which the live view copies to
 * ncurses and the plain snapshot prints, so both show the same thing.
 */

#define DASH_MAG_BUCKETS 5
#define DASH_MINUTES 1440	/* a day of minutes: the 1h chart, the 24h max */
#define DASH_HOURS 168		/* a week of hours: the 24h and 7d charts */
#define DASH_ALERTS 32
#define DASH_LATEST 20		/* the latest events table */
#define DASH_POINTS 8192	/* epicentres kept for the map: the newest */
#define DASH_PARTITIONS 64	/* hub partitions followed for lag */
#define DASH_WINDOW_KINDS 6	/* tumbling hopping sliding session snapshot other */

/* An event of the significant or latest list, as last seen. */
struct dash_alert {
	int64_t time;
	double magnitude, depth;
	bool has_magnitude, has_depth;
	bool tsunami;
	char alert_level[8];	/* USGS PAGER: green yellow orange red, or "" */
	char id[64];
	char place[128];
};

/* An epicentre on the map (doubles: a cell is where the input says). */
struct dash_point {
	double lon, lat, magnitude;
	bool has_magnitude;
};

/* What the events of one hub partition say (_eh, from csa-eh-recv -m). */
struct dash_partition {
	long events;
	int64_t sequence;	/* the last sequence number, or -1 */
	int64_t time, enqueued;	/* of the partition's newest event read, ms */
	bool has_lag;
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
	double minute_max[DASH_MINUTES];	/* its largest magnitude, or -HUGE_VAL */
	int64_t hour_count[DASH_HOURS];
	int64_t hour_of[DASH_HOURS];
	/* Hourly counts from merged view rows (csa-merge), by window start. */
	long merged_rows;
	int64_t merged_newest;	/* the newest row's hour, or INT64_MIN */
	double merged_count[DASH_HOURS];
	int64_t merged_of[DASH_HOURS];
	/* The map: the newest DASH_POINTS epicentres (a ring), their extent
	 * over all events, and the newest event's. */
	struct dash_point *point;
	int npoint, point_next;
	bool has_extent;
	double lon_min, lon_max, lat_min, lat_max;
	bool has_newest_point;
	struct dash_point newest_point;
	struct dash_alert latest[DASH_LATEST];	/* newest first */
	int nlatest;
	struct dash_partition partition[DASH_PARTITIONS];
	int npartition;		/* partitions seen: the highest number + 1 */
	struct dash_windows windows[DASH_WINDOW_KINDS];
	struct dash_alert alert[DASH_ALERTS];	/* newest first */
	int nalert;
	struct buf scratch;	/* a place, unescaped; reused line to line */
};

void dash_init(struct dash *d, double alert_magnitude);
void dash_free(struct dash *d);
/* Forget everything counted so far (the r key). */
void dash_reset(struct dash *d);

/*
 * Count one input line: a window row (it has window_start) or an event.
 * Returns false with e set and *kind (BAD_JSON or BAD_OBJECT), counting
 * it as a bad line, when the line is not a JSON object.  doc is scratch
 * space reused from line to line.
 */
bool dash_line(struct dash *d, struct json_doc *doc, const char *line, size_t len,
    enum msg_bad_kind *kind, struct err *e);

enum dash_chart { DASH_CHART_1H, DASH_CHART_24H, DASH_CHART_7D, DASH_NCHART };
enum dash_map { DASH_MAP_WORLD, DASH_MAP_EXTENT, DASH_MAP_BOX, DASH_NMAP };

/* What the view adds to the counters when drawing. */
struct dash_view {
	int64_t now;		/* ms */
	bool now_given;		/* --now: the 24 hours end there, not at the newest event */
	int64_t last_update;	/* ms of the last line read, or -1 */
	const char *state;	/* "live", "paused", "input ended", or NULL */
	bool keys;		/* show the key help line */
	bool help;		/* show what the keys do, over the panels */
	enum dash_chart chart;
	enum dash_map map;
	double box[4];		/* DASH_MAP_BOX: lon1 lat1 lon2 lat2 */
	bool has_rate;		/* the input rate below is known */
	double rate, peak_rate;	/* events/s, now and at the peak */
};

/* The names --chart and --map take, in order of the enums. */
extern const char *const dash_chart_name[DASH_NCHART];
extern const char *const dash_map_name[DASH_NMAP];

enum dash_attr {
	DASH_NORMAL = 0,
	DASH_HEADER,		/* the title bar */
	DASH_TITLE,		/* a panel's title */
	DASH_BAR,
	DASH_ALERT,
	DASH_DIM,
	DASH_LAND,		/* land on the map */
	DASH_MAG0,		/* an epicentre of magnitude band 0 ... */
	DASH_MAG4 = DASH_MAG0 + DASH_MAG_BUCKETS - 1,
	DASH_NEWEST,		/* the newest event's epicentre */
	DASH_NATTR
};

/* A cell that the wide character to its left covers. */
#define DASH_WIDE_TAIL 0xffffffffu

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

/* Draw the plain snapshot: every panel whole, stacked, on a canvas as tall
 * as it needs and cols wide; dash_canvas_free releases it. */
void dash_draw_plain(const struct dash *d, const struct dash_view *v, int cols, bool utf8,
    struct dash_canvas *c);

/* The location shown for a USGS place: the part after the last comma, with
 * US state codes spelled out.  Writes at most size bytes, NUL-terminated. */
void dash_location(const char *place, size_t n, char *out, size_t size);

#endif
