/* csa-dashboard: the live terminal dashboard of events and speed-layer windows. */
#include <config.h>

#define NCURSES_WIDECHAR 1

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
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
#include "json.h"
#include "msg.h"
#include "ndjson.h"
#include "num.h"
#include "sig.h"
#include "timefmt.h"

#define PLAIN_COLS 80
#define BAD_REPORTED 10		/* bad lines named on stderr; the rest counted */

static const char usage_line[] =
    "Usage: csa-dashboard [--once] [-i D] [--alert-magnitude M] [--now TIME] [FILE]\n";

static const char help_text[] =
    "Show what an event stream holds, live: counts, magnitudes, top locations,\n"
    "events per minute, active speed-layer windows and significant events.\n"
    "Reads events and csa-window rows from FILE or standard input.\n"
    "\n"
    "      --alert-magnitude M significant from magnitude M (default 6.0)\n"
    "  -h, --help              show this help and exit\n"
    "  -i, --interval D        redraw every D (default 1s); when standard output\n"
    "                          is not a terminal, write a snapshot every D\n"
    "      --now TIME          take TIME as the current time (for replays)\n"
    "      --once              write one plain snapshot at the end of input\n"
    "  -V, --version           show versions and exit\n"
    "\n"
    "Keys: q quits, p pauses the display, r resets the counters.\n"
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
	const char *file;
};

/* What a run holds: the input, the counters and the screen. */
struct run {
	const struct options *o;
	struct ndjson_reader in;
	struct json_doc doc;
	struct dash d;
	int64_t last_update;	/* ms of the last line, or -1 */
	long bad;		/* bad lines seen, for the exit status */
	long snapshots;		/* plain snapshots written */
	struct buf line;	/* a snapshot row, as UTF-8 */
	bool live, quiet_errors, ended, paused, utf8, color;
	FILE *tty;
	SCREEN *screen;
	int status;
};

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_ALERT = 256, OPT_NOW, OPT_ONCE };
	static const struct option longopts[] = {
		{ "alert-magnitude", required_argument, NULL, OPT_ALERT },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct err e;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->alert_magnitude = 6.0;
	o->interval = 1000;
	while ((c = getopt_long(argc, argv, "hi:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return msg_help(usage_line, help_text);
		case 'i':
			if (tfmt_duration(optarg, &o->interval, &e) < 0 || o->interval < 10 ||
			    o->interval > 86400000)
				return msg_usage("--interval: '%s' is not a duration from 10ms to 1d",
				    optarg);
			o->interval_given = true;
			break;
		case 'V': {
			char libs[128];

			snprintf(libs, sizeof(libs), "%s\njsmn\n", curses_version());
			msg_version(libs);
			return msg_close_stdout();
		}
		case OPT_ALERT:
			errno = 0;
			o->alert_magnitude = strtod(optarg, &end);
			if (errno || end == optarg || *end || o->alert_magnitude < -10 ||
			    o->alert_magnitude > 12)
				return msg_usage("--alert-magnitude: '%s' is not a magnitude", optarg);
			break;
		case OPT_NOW:
			if (tfmt_parse(optarg, strlen(optarg), &o->now, &e) < 0)
				return msg_usage("--now: %s", e.msg);
			o->have_now = true;
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		default:
			return msg_usage("unknown option or missing argument");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		return msg_usage("one input at most: '%s'", argv[1]);
	o->file = argc == 1 ? argv[0] : "-";
	return -1;
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
				r->bad++;
			else
				msg_error_counted(&r->bad, BAD_REPORTED, &e);
			continue;
		}
		if (!dash_line(&r->d, &r->doc, line, len, &e)) {
			if (r->quiet_errors)
				r->bad++;
			else
				msg_record_counted(&r->bad, BAD_REPORTED, r->in.name, r->in.lineno,
				    "%s", e.msg);
		}
	}
	if (any)
		r->last_update = now_ms(r);
}

/* The view's extras for a drawing. */
static struct dash_view
view_of(const struct run *r)
{
	struct dash_view v = {
		.now = now_ms(r),
		.last_update = r->last_update,
		.state = NULL,
		.keys = r->live,
	};

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

	dash_canvas_init(&c, dash_plain_rows(&r->d, PLAIN_COLS), PLAIN_COLS, r->utf8);
	dash_draw(&r->d, &v, &c);
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
			int a = c.attr[(size_t)y * (size_t)c.cols + (size_t)x], n = 0;

			while (x + n < c.cols && n < (int)(sizeof(run) / sizeof(run[0])) - 1 &&
			    c.attr[(size_t)y * (size_t)c.cols + (size_t)(x + n)] == a) {
				uint32_t cp = c.ch[(size_t)y * (size_t)c.cols + (size_t)(x + n)];

				run[n++] = (wchar_t)(cp < 0x80 || r->utf8 ? cp : '?');
			}
			/* The bottom-right cell cannot be written without a scroll. */
			if (y == c.rows - 1 && x + n == c.cols)
				n--;
			attrset(attr_of(r, a));
			if (n > 0)
				mvaddnwstr(y, x, run, n);
			x += n > 0 ? n : 1;
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
		}
		if (r->live && (pfd[key].revents || intr) && !take_keys(r))
			break;
		if ((r->live || periodic) && mono_ms() >= next) {
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
	r.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (ndjson_open(&r.in, o->file, NDJSON_MAX_LINE_DEFAULT, &e) < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	r.in.stop = &sig_stop;
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
	periodic = !r.live && !o->once && o->interval_given;
	loop(&r, periodic);
	if (r.live) {
		stop_screen(&r);
		if (r.bad > 0)
			msg_warn("%s: %ld lines were not JSON objects", r.in.name, r.bad);
	} else {
		print_snapshot(&r);
	}
	if (r.bad > 0)
		r.status = msg_worst(r.status, EXIT_DATA);
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
	if (status >= 0)
		return status;
	sig_catch_stop();
	status = run(&o);
	return msg_worst(status, msg_close_stdout());
}
