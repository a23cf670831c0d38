/* csa-dashboard: the live terminal dashboard of events and speed-layer windows. */
#include <config.h>

#define NCURSES_WIDECHAR 1

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "buf.h"
#include "dashboard.h"
#include "err.h"
#include "cmd.h"
#include "json.h"
#include "metrics.h"
#include "msg.h"
#include "ndjson.h"
#include "num.h"
#include "opt.h"
#include "sig.h"
#include "timefmt.h"

#define PLAIN_COLS 80

static const char usage_line[] =
    "Usage: csa-dashboard [--once] [-i D] [--alert-magnitude M] [--chart RANGE]\n"
    "                     [--map world|extent|LON1,LAT1,LON2,LAT2] [--now TIME]\n"
    "                     [--metrics FILE] [FILE]\n";

static const char help_text[] =
    "Show what an event stream holds, live: counts, magnitudes, top locations,\n"
    "a map of epicentres, a time chart, the latest events, active speed-layer\n"
    "windows and alerts.  Reads events, csa-window rows and\n"
    "csa-merge rows from FILE or standard input.\n"
    "\n"
    "      --alert-magnitude M alert from magnitude M (default 6.0)\n"
    "      --chart RANGE       the time chart: 1h (per minute), 24h (default) or\n"
    "                          7d (per hour)\n"
    "  -h, --help              show this help and exit\n"
    "  -i, --interval D        redraw every D (default 1s); when standard output\n"
    "                          is not a terminal, write a snapshot every D\n"
    "      --map EXTENT        the map: world (default), extent (of the events),\n"
    "                          or a box LON1,LAT1,LON2,LAT2 (west south east north)\n"
    "      --metrics FILE      write counts of lines read and bad lines to FILE\n"
    "                          (Prometheus text) every 5s and at exit\n"
    "      --now TIME          take TIME as the current time (for replays); the\n"
    "                          24 hours and the chart end there\n"
    "      --once              write one plain snapshot at the end of input\n"
    "  -q, --quiet             no warnings (it has none of its own; errors print)\n"
    "  -V, --version           show versions and exit\n"
    "\n"
    "Keys: q quits, p pauses the display, r resets the counters, c switches the\n"
    "chart range, m the map's extent, Ctrl-L repaints, ? shows the keys.\n"
    "\n"
    "Examples:\n"
    "  csa-eh-recv -g dash | csa-dashboard\n"
    "  csa-capture-read | csa-dashboard --once      # a snapshot for cron mail\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were counted, 2 usage, 3 local I/O.\n"
    "See csa-dashboard(1).\n";

struct options {
	double alert_magnitude;
	int64_t interval;	/* ms */
	bool interval_given;
	bool once;
	int64_t now;
	bool have_now;
	enum dash_chart chart;
	enum dash_map map;
	bool has_box;
	double box[4];
	const char *file;
};

/* What a run holds: the input, the counters and the screen. */
struct run {
	const struct options *o;
	struct ndjson_reader in;
	struct json_doc doc;
	struct dash d;
	int64_t last_update;	/* ms of the last line, or -1 */
	struct msg_bad bad;	/* bad lines seen, for the exit status */
	struct metric *in_lines, *in_bytes;	/* --metrics */
	long snapshots;		/* plain snapshots written */
	struct buf line;	/* a snapshot row, as UTF-8 */
	enum dash_chart chart;	/* what the c and m keys switch */
	enum dash_map map;
	bool help;		/* the ? key's help is on screen */
	int64_t rate_at;	/* mono ms of the last rate sample, or 0 */
	long rate_events;	/* events then */
	double rate, peak_rate;
	bool live, quiet_errors, ended, paused, utf8, color;
	FILE *tty;
	SCREEN *screen;
	int status;
};

/* --map's box: four numbers, west south east north, west before east. */
static bool
parse_box(const char *s, double box[4])
{
	char *end;

	for (int i = 0; i < 4; i++) {
		errno = 0;
		box[i] = strtod(s, &end);
		if (errno || end == s || !isfinite(box[i]) || *end != (i < 3 ? ',' : '\0'))
			return false;
		s = end + 1;
	}
	return box[0] >= -180 && box[2] <= 180 && box[1] >= -90 && box[3] <= 90 &&
	    box[0] < box[2] && box[1] < box[3];
}

static int
take_alert(void *to, const char *name, const char *arg)
{
	double *m = to;
	char *end;

	(void)name;
	errno = 0;
	*m = strtod(arg, &end);
	if (errno || end == arg || *end || *m < -10 || *m > 12)
		return msg_usage("--alert-magnitude: '%s' is not a magnitude", arg);
	return OPT_RUN;
}

static int
take_map(void *to, const char *name, const char *arg)
{
	struct options *o = to;

	(void)name;
	if (strcmp(arg, "world") == 0) {
		o->map = DASH_MAP_WORLD;
	} else if (strcmp(arg, "extent") == 0) {
		o->map = DASH_MAP_EXTENT;
	} else if (parse_box(arg, o->box)) {
		o->map = DASH_MAP_BOX;
		o->has_box = true;
	} else {
		return msg_usage("--map: '%s' is not world, extent or "
		    "LON1,LAT1,LON2,LAT2 (west < east, south < north)", arg);
	}
	return OPT_RUN;
}

static int
take_now(void *to, const char *name, const char *arg)
{
	struct options *o = to;
	struct err e;

	(void)name;
	if (tfmt_parse(arg, strlen(arg), &o->now, &e) < 0)
		return msg_usage("--now: %s", e.msg);
	o->have_now = true;
	return OPT_RUN;
}

static int
version(void)
{
	char libs[128];

	snprintf(libs, sizeof(libs), "%s\njsmn\n", curses_version());
	msg_version(libs);
	return msg_close_stdout();
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .version = version, .no_verbose = true
	};
	int rc;
	const struct opt_spec spec[] = {
		OPT_E_CALL("alert-magnitude", 0, &o->alert_magnitude, take_alert),
		{ .name = "chart", .kind = OPT_K_CHOICE, .to = &o->chart, .size = sizeof(o->chart),
		    .words = dash_chart_name, .hi = DASH_NCHART },
		{ .name = "interval", .letter = 'i', .kind = OPT_K_DURATION, .to = &o->interval,
		    .lo = 10, .hi = 86400000, .given = &o->interval_given },
		OPT_E_CALL("map", 0, o, take_map),
		OPT_E_METRICS,
		OPT_E_CALL("now", 0, o, take_now),
		OPT_E_FLAG("once", 0, &o->once),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	o->alert_magnitude = 6.0;
	o->interval = 1000;
	o->chart = DASH_CHART_24H;
	o->map = DASH_MAP_WORLD;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc > 1)
		return msg_usage("one input at most: '%s'", argv[1]);
	o->file = argc == 1 ? argv[0] : "-";
	return OPT_RUN;
}

/* Wall-clock "now" in ms, or the --now time. */
static int64_t
now_ms(const struct run *r)
{
	return r->o->have_now ? r->o->now : tfmt_now();
}

/* A monotonic clock in ms, for the redraw schedule. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Count every line already buffered; at the end of input, say so. */
static void
take_lines(struct run *r)
{
	enum msg_bad_kind kind;
	struct err e;
	char *line;
	size_t len;
	bool any = false;

	while (!r->ended && ndjson_ready(&r->in)) {
		int rc = ndjson_next(&r->in, &line, &len, &e);

		if (rc == 0) {
			r->ended = true;
			break;
		}
		any = true;
		if (rc > 0)
			metric_add(r->in_bytes, (double)len + 1);
		if (rc < 0 && e.kind != ERR_DATA) {
			if (!r->quiet_errors)
				msg_error(&e);
			r->status = msg_worst(r->status, EXIT_IO);
			r->ended = true;
			break;
		}
		if (rc < 0) {
			/* A line over the limit was skipped whole. */
			r->d.bad_lines++;
			if (r->quiet_errors)
				msg_bad_quiet(&r->bad, BAD_LONG);
			else
				msg_bad_error(&r->bad, BAD_LONG, &e);
			continue;
		}
		if (dash_line(&r->d, &r->doc, line, len, &kind, &e)) {
			metric_add(r->in_lines, 1);
		} else {
			/* The screen shows the count; a snapshot names them too. */
			if (r->quiet_errors)
				msg_bad_quiet(&r->bad, kind);
			else
				msg_bad(&r->bad, kind, r->in.name, r->in.lineno, "%s", e.msg);
		}
	}
	if (any)
		r->last_update = now_ms(r);
}

/* The input rate since the last sample, and its peak. */
static void
sample_rate(struct run *r)
{
	int64_t t = mono_ms();

	if (r->d.events < r->rate_events)
		r->rate_events = r->d.events;	/* the counters were reset */
	if (r->rate_at > 0 && t > r->rate_at) {
		r->rate = (double)(r->d.events - r->rate_events) * 1000 / (double)(t - r->rate_at);
		if (r->rate > r->peak_rate)
			r->peak_rate = r->rate;
	}
	if (r->rate_at == 0 || t > r->rate_at) {
		r->rate_at = t;
		r->rate_events = r->d.events;
	}
}

/* The view's extras for a drawing. */
static struct dash_view
view_of(const struct run *r)
{
	struct dash_view v = {
		.now = now_ms(r),
		.now_given = r->o->have_now,
		.last_update = r->last_update,
		.state = NULL,
		.keys = r->live,
		.help = r->help,
		.chart = r->chart,
		.map = r->map,
		.has_rate = r->rate_at > 0,
		.rate = r->rate,
		.peak_rate = r->peak_rate,
	};

	memcpy(v.box, r->o->box, sizeof(v.box));

	if (r->live)
		v.state = r->paused ? "paused" : r->ended ? "input ended" : "live";
	return v;
}

/* Print a plain snapshot, 80 columns wide, trailing blanks trimmed; a
 * blank line parts it from the one before. */
static void
print_snapshot(struct run *r)
{
	struct dash_view v = view_of(r);
	struct dash_canvas c;

	dash_draw_plain(&r->d, &v, PLAIN_COLS, r->utf8, &c);
	if (r->snapshots++ > 0)
		putchar('\n');
	/* The text is UTF-8 whatever the locale: it came so. */
	for (int y = 0; y < c.rows; y++) {
		const uint32_t *row = c.ch + (size_t)y * (size_t)c.cols;
		int n = c.cols;

		while (n > 0 && row[n - 1] == ' ')
			n--;
		buf_reset(&r->line);
		for (int x = 0; x < n; x++)
			if (row[x] != DASH_WIDE_TAIL)
				buf_add_utf8(&r->line, row[x]);
		buf_addc(&r->line, '\n');
		fwrite(r->line.p, 1, r->line.len, stdout);
	}
	fflush(stdout);
	dash_canvas_free(&c);
}

/* Attributes of a canvas cell on this terminal. */
static attr_t
attr_of(const struct run *r, int a)
{
	switch (a) {
	case DASH_HEADER:
		return A_REVERSE | A_BOLD | (r->color ? COLOR_PAIR(1) : 0);
	case DASH_TITLE:
		return A_BOLD | (r->color ? COLOR_PAIR(2) : 0);
	case DASH_BAR:
		return r->color ? COLOR_PAIR(3) : A_NORMAL;
	case DASH_ALERT:
		return A_BOLD | (r->color ? COLOR_PAIR(4) : 0);
	case DASH_DIM:
		return A_DIM;
	case DASH_LAND:
		return r->color ? COLOR_PAIR(5) : A_DIM;
	case DASH_MAG0:
	case DASH_MAG0 + 1:
	case DASH_MAG0 + 2:
	case DASH_MAG0 + 3:
	case DASH_MAG4:
		return A_BOLD | (r->color ? COLOR_PAIR(6 + a - DASH_MAG0) : 0);
	case DASH_NEWEST:
		return A_BOLD | A_REVERSE | A_BLINK | (r->color ? COLOR_PAIR(4) : 0);
	default:
		return A_NORMAL;
	}
}

/* Draw the whole screen; ncurses sends only the cells that changed. */
static void
draw_screen(struct run *r)
{
	struct dash_view v = view_of(r);
	struct dash_canvas c;
	wchar_t run[1024];

	dash_canvas_init(&c, LINES, COLS, r->utf8);
	dash_draw(&r->d, &v, &c);
	for (int y = 0; y < c.rows; y++) {
		int x = 0;

		while (x < c.cols) {
			const uint32_t *ch = c.ch + (size_t)y * (size_t)c.cols;
			const unsigned char *at = c.attr + (size_t)y * (size_t)c.cols;
			int a = at[x], cells = 0, n = 0;

			/* A run of one attribute; a wide character's second cell is
			 * drawn by the first (or, in ASCII, as a second '?'). */
			while (x + cells < c.cols && n < (int)(sizeof(run) / sizeof(run[0])) - 1 &&
			    at[x + cells] == a) {
				uint32_t cp = ch[x + cells];

				if (cp == DASH_WIDE_TAIL && r->utf8 && cells > 0) {
					cells++;
					continue;
				}
				run[n++] = (wchar_t)((cp < 0x80 || r->utf8) &&
				    cp != DASH_WIDE_TAIL ? cp : '?');
				cells++;
			}
			/* The bottom-right cell cannot be written without a scroll. */
			if (y == c.rows - 1 && x + cells == c.cols && n > 0 &&
			    ch[x + cells - 1] != DASH_WIDE_TAIL) {
				n--;
				cells--;
			}
			attrset(attr_of(r, a));
			if (n > 0)
				mvaddnwstr(y, x, run, n);
			x += cells > 0 ? cells : 1;
		}
	}
	attrset(A_NORMAL);
	refresh();
	dash_canvas_free(&c);
}

/* Take over the terminal: data stays on stdin, keys come from /dev/tty. */
static int
start_screen(struct run *r)
{
	const char *no_color = getenv("NO_COLOR");

	r->tty = fopen("/dev/tty", "r");
	if (r->tty == NULL) {
		msg_warn("/dev/tty: %s", strerror(errno));
		return -1;
	}
	r->screen = newterm(NULL, stdout, r->tty);
	if (r->screen == NULL) {
		msg_warn("cannot use the terminal '%s'", getenv("TERM") ? getenv("TERM") : "");
		fclose(r->tty);
		return -1;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	r->color = has_colors() && (no_color == NULL || no_color[0] == '\0');
	if (r->color) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_WHITE, COLOR_BLUE);
		init_pair(2, COLOR_CYAN, -1);
		init_pair(3, COLOR_GREEN, -1);
		init_pair(4, COLOR_RED, -1);
		init_pair(5, COLOR_GREEN, -1);		/* land */
		init_pair(6, COLOR_CYAN, -1);		/* magnitude bands */
		init_pair(7, COLOR_BLUE, -1);
		init_pair(8, COLOR_YELLOW, -1);
		init_pair(9, COLOR_MAGENTA, -1);
		init_pair(10, COLOR_RED, -1);
	}
	return 0;
}

static void
stop_screen(struct run *r)
{
	endwin();
	delscreen(r->screen);
	fclose(r->tty);
}

/* The keys; returns false on q. */
static bool
take_keys(struct run *r)
{
	int ch;

	while ((ch = getch()) != ERR) {
		if (r->help && ch != KEY_RESIZE) {
			r->help = false;	/* any key closes the help */
			draw_screen(r);
			if (ch == '?')
				continue;
		}
		switch (ch) {
		case 'q':
		case 'Q':
			return false;
		case 'p':
		case 'P':
			r->paused = !r->paused;
			draw_screen(r);
			break;
		case 'r':
		case 'R':
			dash_reset(&r->d);
			draw_screen(r);
			break;
		case 'c':
		case 'C':
			r->chart = (r->chart + 1) % DASH_NCHART;
			draw_screen(r);
			break;
		case 'm':
		case 'M':
			r->map = (r->map + 1) % (r->o->has_box ? DASH_NMAP : DASH_NMAP - 1);
			draw_screen(r);
			break;
		case '?':
			r->help = true;
			draw_screen(r);
			break;
		case 'L' & 0x1f:	/* Ctrl-L: what others wrote over the screen goes */
			clearok(curscr, TRUE);
			draw_screen(r);
			break;
		case KEY_RESIZE:
			draw_screen(r);
			break;
		default:
			break;
		}
	}
	return true;
}

/*
 * The one loop of both modes: poll standard input (and the terminal's
 * keys when live) until the next redraw or snapshot is due.  Input is
 * read as it comes, so a fast stream never waits on the screen.
 */
static void
loop(struct run *r, bool periodic)
{
	int64_t next = mono_ms() + r->o->interval;
	bool was_ended = false;

	if (r->live)
		draw_screen(r);
	while (!sig_stop) {
		struct pollfd pfd[2];
		int nfd = 0, timeout = -1, in = -1, key = -1;
		bool intr;

		if (!r->ended) {
			in = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = r->in.fd, .events = POLLIN };
		}
		if (r->live) {
			key = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = fileno(r->tty), .events = POLLIN };
		}
		if (nfd == 0)
			break;
		if (r->live || periodic) {
			int64_t wait = next - mono_ms();

			timeout = wait < 0 ? 0 : (int)wait;
		}
		intr = poll(pfd, (nfds_t)nfd, timeout) < 0;
		if (intr && errno != EINTR) {
			msg_warn("poll: %s", strerror(errno));
			r->status = msg_worst(r->status, EXIT_IO);
			break;
		}
		if (in >= 0 && pfd[in].revents) {
			struct err e;

			if (ndjson_fill(&r->in, &e) < 0) {
				if (!r->quiet_errors)
					msg_error(&e);
				r->status = msg_worst(r->status, EXIT_IO);
				r->ended = true;
			}
			take_lines(r);
			if (cmd_metrics_due())
				cmd_metrics_write();
		}
		if (r->live && (pfd[key].revents || intr) && !take_keys(r))
			break;
		if ((r->live || periodic) && mono_ms() >= next) {
			sample_rate(r);
			if (r->live && !r->paused)
				draw_screen(r);
			else if (periodic)
				print_snapshot(r);
			next += r->o->interval;
			if (next <= mono_ms())
				next = mono_ms() + r->o->interval;
		}
		if (r->ended && !was_ended) {
			was_ended = true;
			if (!r->live)
				break;
			draw_screen(r);
		}
	}
}

static int
run(const struct options *o)
{
	struct run r;
	struct err e;
	bool periodic;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.last_update = -1;
	r.chart = o->chart;
	r.map = o->map;
	r.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (ndjson_open(&r.in, o->file, NDJSON_MAX_LINE_DEFAULT, &e) < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	r.in.stop = &sig_stop;
	r.in_lines = metric_get("csa_events_in_total", NULL);
	r.in_bytes = metric_get("csa_bytes_in_total", NULL);
	json_doc_init(&r.doc);
	dash_init(&r.d, o->alert_magnitude);
	r.live = !o->once && isatty(STDOUT_FILENO);
	if (r.live && isatty(r.in.fd)) {
		r.status = msg_usage("standard input is the terminal: pipe events in, as in "
		    "'csa-eh-recv --group dash | csa-dashboard'");
		goto out;
	}
	if (r.live && start_screen(&r) < 0) {
		r.status = EXIT_IO;
		goto out;
	}
	r.quiet_errors = r.live;
	if (r.live) {
		r.rate_at = mono_ms();	/* the first rate counts from the start */
		r.rate_events = 0;
	}
	periodic = !r.live && !o->once && o->interval_given;
	loop(&r, periodic);
	if (r.live) {
		stop_screen(&r);
	} else {
		print_snapshot(&r);
	}
	r.status = msg_worst(r.status, msg_bad_summary(&r.bad, "line", "lines"));
out:
	dash_free(&r.d);
	buf_free(&r.line);
	json_doc_free(&r.doc);
	ndjson_close(&r.in);
	return r.status;
}

int
main(int argc, char **argv)
{
	struct options o;
	int status;

	setlocale(LC_ALL, "");
	msg_init(argv[0]);
	status = parse_options(argc, argv, &o);
	if (status != OPT_RUN)
		return status;
	sig_catch_stop();
	cmd_metrics_begin();
	status = run(&o);
	status = msg_worst(status, msg_close_stdout());
	cmd_metrics_end(status);
	return status;
}
