/* metrics.c: counters, gauges and histograms for --metrics, in Prometheus text. */
#include <config.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsutil.h"
#include "metrics.h"

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

/* Latency buckets, in seconds: a local hub commits in about a millisecond,
 * Event Hubs in tens, a throttled one in seconds. */
static const double latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
#define NLATENCY (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

/*
 * Every family any command writes: one name, type and help text for the
 * whole suite, so that files of several commands in one directory agree
 * (node_exporter refuses one name with two help texts).  csa(7) says what
 * each stands for.
 */
static const struct family {
	const char *name;
	enum mtype type;
	const char *help;
} families[] = {
	/* Every command. */
	{ "csa_events_in_total", M_COUNTER, "Events read (input lines, hub events or Capture records)." },
	{ "csa_events_out_total", M_COUNTER, "Events written out (to standard output or a hub)." },
	{ "csa_rows_out_total", M_COUNTER, "View rows written." },
	{ "csa_bad_records_total", M_COUNTER, "Bad records skipped, by reason." },
	{ "csa_bytes_in_total", M_COUNTER, "Bytes of events read." },
	{ "csa_bytes_out_total", M_COUNTER, "Bytes of events or rows written." },
	{ "csa_start_time_seconds", M_GAUGE, "When the command started, in seconds since the epoch." },
	{ "csa_last_success_timestamp_seconds", M_GAUGE,
	    "When the last poll or run succeeded, in seconds since the epoch." },
	/* csa-eh-recv. */
	{ "csa_hub_position", M_GAUGE,
	    "Sequence number of the last event of the partition written out." },
	{ "csa_hub_lag_events", M_GAUGE,
	    "Events stored in the partition after the last one written out." },
	{ "csa_hub_lag_seconds", M_GAUGE,
	    "While events of the partition wait: seconds since the last one written out was enqueued; 0 when caught up." },
	{ "csa_checkpoint_age_seconds", M_GAUGE,
	    "Seconds since the partition's position was last checkpointed." },
	{ "csa_delivery_latency_seconds", M_HISTOGRAM,
	    "From an event's enqueued time to its write on standard output." },
	/* csa-window. */
	{ "csa_watermark_seconds", M_GAUGE,
	    "Event time of the partition (its largest time less the out-of-order tolerance), in seconds since the epoch." },
	{ "csa_event_time_lag_seconds", M_GAUGE, "The wall clock less the watermark, in seconds." },
	{ "csa_late_events_total", M_COUNTER, "Late events, by what was done with them." },
	{ "csa_open_windows", M_GAUGE, "Windows open (not yet written)." },
	/* csa-usgs-fetch. */
	{ "csa_polls_total", M_COUNTER, "Polls of the feed." },
	{ "csa_http_responses_total", M_COUNTER, "HTTP responses, by status code (0: no response)." },
	{ "csa_feed_events_total", M_COUNTER, "Feed events written, new or revised." },
	/* csa-eh-send. */
	{ "csa_batches_total", M_COUNTER, "Batches committed to the hub." },
	{ "csa_commit_latency_seconds", M_HISTOGRAM, "From handing a batch to the hub to its commit." },
	{ "csa_retries_total", M_COUNTER, "Sends tried again after a temporary failure." },
	/* csa-capture-read, csa-batch-agg. */
	{ "csa_files_total", M_COUNTER, "Input files read whole." },
	{ "csa_run_duration_seconds", M_GAUGE, "How long the run took (so far), in seconds." },
	{ "csa_run_success", M_GAUGE,
	    "1 when the run finished (exit status 0, or 1 with bad records skipped), else 0." },
	{ "csa_view_high_water_seconds", M_GAUGE,
	    "The latest event time the views hold, in seconds since the epoch." },
	/* csa-merge. */
	{ "csa_rows_in_total", M_COUNTER, "View rows read, by layer." },
	{ "csa_cutoff_seconds", M_GAUGE,
	    "Where the batch view ends and the speed view takes over, in seconds since the epoch." },
	{ "csa_partial_buckets", M_GAUGE, "Buckets written that only partly lie in either view." },
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

struct metric {
	const struct family *f;
	char *labels;		/* `command="csa-x",k="v"`, escaped */
	double value;		/* counter, gauge; a histogram's sum */
	uint64_t count;		/* a histogram's observations */
	uint64_t *le;		/* a histogram's per-bucket counts (not cumulative) */
	struct metric *next;	/* in the order first asked for */
};

static struct {
	char *command;
	struct metric *head, **tail;
} reg = { NULL, NULL, &reg.head };

void
metrics_init(const char *command)
{
	free(reg.command);
	reg.command = xstrdup(command);
}

/* A label value as the text format quotes it: \\, \" and \n escaped. */
static void
put_label(struct buf *b, const char *name, const char *value)
{
	if (b->len > 0)
		buf_addc(b, ',');
	buf_adds(b, name);
	buf_adds(b, "=\"");
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_addc(b, '\\');
		if (*p == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

struct metric *
metric_get(const char *name, ...)
{
	const struct family *f = NULL;
	struct buf lb = { 0 };
	struct metric *m;
	const char *k;
	va_list ap;

	for (size_t i = 0; i < NFAMILIES && f == NULL; i++)
		if (strcmp(families[i].name, name) == 0)
			f = &families[i];
	if (f == NULL)
		abort();	/* a name missing from the table: a bug here */
	put_label(&lb, "command", reg.command ? reg.command : "csa");
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL)
		put_label(&lb, k, va_arg(ap, const char *));
	va_end(ap);
	for (m = reg.head; m; m = m->next)
		if (m->f == f && strcmp(m->labels, lb.p) == 0) {
			buf_free(&lb);
			return m;
		}
	m = xcalloc(1, sizeof(*m));
	m->f = f;
	m->labels = buf_steal(&lb);
	if (f->type == M_HISTOGRAM)
		m->le = xcalloc(NLATENCY, sizeof(*m->le));
	*reg.tail = m;
	reg.tail = &m->next;
	return m;
}

void
metric_add(struct metric *m, double v)
{
	m->value += v;
}

void
metric_set(struct metric *m, double v)
{
	m->value = v;
}

void
metric_observe(struct metric *m, double v)
{
	size_t i;

	for (i = 0; i < NLATENCY && v > latency_buckets[i]; i++)
		;
	if (i < NLATENCY)
		m->le[i]++;
	m->count++;
	m->value += v;
}

double
metric_value(const struct metric *m)
{
	return m->value;
}

/* A sample value: integers as integers, others with the fewest digits
 * (15, else 17) that read back the same double. */
static void
put_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "%.0f", v);
	else {
		char t[32];

		snprintf(t, sizeof(t), "%.15g", v);
		if (strtod(t, NULL) != v)
			snprintf(t, sizeof(t), "%.17g", v);
		buf_adds(b, t);
	}
}

static void
put_histogram(struct buf *b, const struct metric *m)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < NLATENCY; i++) {
		cum += m->le[i];
		buf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", m->f->name, m->labels,
		    latency_buckets[i], (unsigned long long)cum);
	}
	buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", m->f->name, m->labels,
	    (unsigned long long)m->count);
	buf_printf(b, "%s_sum{%s} ", m->f->name, m->labels);
	put_value(b, m->value);
	buf_printf(b, "\n%s_count{%s} %llu\n", m->f->name, m->labels,
	    (unsigned long long)m->count);
}

void
metrics_format(struct buf *b)
{
	static const char *const tname[] = { "counter", "gauge", "histogram" };

	/* Family by family in the table's order: the format wants a family's
	 * series together, after its HELP and TYPE. */
	for (size_t i = 0; i < NFAMILIES; i++) {
		const struct family *f = &families[i];
		bool said = false;

		for (const struct metric *m = reg.head; m; m = m->next) {
			if (m->f != f)
				continue;
			if (!said) {
				buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
				    f->name, tname[f->type]);
				said = true;
			}
			if (f->type == M_HISTOGRAM) {
				put_histogram(b, m);
				continue;
			}
			buf_printf(b, "%s{%s} ", f->name, m->labels);
			put_value(b, m->value);
			buf_addc(b, '\n');
		}
	}
}

int
metrics_write(const char *path, struct err *e)
{
	struct buf b = { 0 };
	int rc;

	metrics_format(&b);
	rc = fs_write_atomic(path, b.p ? b.p : "", b.len, e);
	buf_free(&b);
	return rc;
}

void
metrics_free(void)
{
	struct metric *m, *next;

	for (m = reg.head; m; m = next) {
		next = m->next;
		free(m->labels);
		free(m->le);
		free(m);
	}
	reg.head = NULL;
	reg.tail = &reg.head;
	free(reg.command);
	reg.command = NULL;
}
