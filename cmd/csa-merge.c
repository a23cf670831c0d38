/* csa-merge: the serving layer: batch and speed views merged into one exact answer. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "merge.h"
#include "metrics.h"
#include "opt.h"
#include "table.h"
#include "timefmt.h"

static const char usage_line[] =
    "Usage: csa-merge [--batch PATH] [--speed PATH] [--view NAME] [--cutoff TIME]\n"
    "                 [--overlap D] [--by FIELDS] [--every D | --total] [--from TIME]\n"
    "                 [--to TIME] [--anomalies SIGMA] [--format FMT | --table]\n"
    "                 [--no-state] [--metrics FILE] [-v]\n"
    "       csa-merge --compact --speed FILE --batch PATH [--cutoff TIME] [--overlap D]\n"
    "                 [--view NAME] [--writer-state FILE] [--metrics FILE] [-v]\n";

static const char help_text[] =
    "Merge the rows of a batch view and of a speed view into one answer: batch\n"
    "rows up to the cutoff, speed rows after it, recombined exactly from their\n"
    "mergeable state.\n"
    "\n"
    "      --anomalies SIGMA  batch-sized windows whose speed count is over the\n"
    "                         batch mean plus SIGMA deviations of the same group\n"
    "      --batch PATH       a batch view file, or a directory of them\n"
    "      --by FIELDS        group by these group columns only (comma-separated)\n"
    "      --compact          drop from the --speed file, in place and atomically,\n"
    "                         the rows no answer takes any more (covered by the\n"
    "                         batch view); write no answer\n"
    "      --cutoff TIME      batch up to TIME, speed after (or -6h: before now;\n"
    "                         default: the latest window end of the batch view)\n"
    "      --every D          re-aggregate into windows of D (e.g. 1h)\n"
    "      --format FMT       ndjson (the default), csv or tsv (with a header\n"
    "                         row), or table (as --table)\n"
    "      --from TIME        only windows starting at or after TIME\n"
    "  -h, --help             show this help and exit\n"
    "      --metrics FILE     write rows by layer, the cutoff and partial buckets\n"
    "                         to FILE (Prometheus text)\n"
    "      --no-state         rows without \"_state\", for readers (not mergeable)\n"
    "      --overlap D        before the cutoff, speed windows the batch view lacks\n"
    "                         are kept for D (default 15m)\n"
    "  -q, --quiet            no warning of an empty layer (errors still print)\n"
    "      --speed PATH       a speed view file, or - for stdin\n"
    "      --table            an aligned table, most events first (--format table)\n"
    "      --to TIME          only windows ending at or before TIME\n"
    "      --total            one row per group over the whole time\n"
    "  -v, --verbose          report counts and left-out aggregates on stderr\n"
    "  -V, --version          show versions and exit\n"
    "      --view NAME        only batch rows of this view (hourly, daily...)\n"
    "      --writer-state FILE  with --compact: the state file of the stopped\n"
    "                         csa-window that writes the speed file\n"
    "\n"
    "Old spellings, still read until the next release: -b, -e, -s (now --batch,\n"
    "--every, --speed)\n"
    "\n"
    "Examples:\n"
    "  csa-merge --batch gold/hourly --speed speed.ndjson --total --by region --table\n"
    "  csa-merge --batch gold/hourly --speed speed.ndjson --every 1h --format csv\n"
    "  csa-merge --batch gold/hourly --speed speed.ndjson --anomalies 3\n"
    "  csa-merge --compact --batch gold/hourly --speed speed.ndjson\n"
    "\n"
    "Exit status: 0 ok, 1 bad lines were skipped, 2 usage or views that do not\n"
    "fit together, 3 local I/O.  See csa-merge(1).\n";

/* --compact rewrites one speed file and writes no answer. */
static int
check_compact(const struct options *o)
{
	const char *s = o->path[LAYER_SPEED];

	if (s == NULL || strcmp(s, "-") == 0)
		return msg_usage("--compact: give the speed view's file with --speed FILE");
	if (!o->path[LAYER_BATCH] && !o->have_cutoff)
		return msg_usage("--compact: give the batch view (--batch PATH) or --cutoff");
	if (o->anomalies || o->every || o->total || o->by || o->have_from || o->have_to ||
	    o->format || o->no_state)
		return msg_usage("--compact writes no answer: no --anomalies, --by, --every, "
		    "--total, --from, --to, --format or --no-state");
	return OPT_RUN;
}

static int
take_by(void *to, const char *name, const char *arg)
{
	struct options *o = to;

	(void)name;
	for (int i = 0; i < o->nby; i++)
		free(o->by[i]);
	free(o->by);
	o->by = NULL;
	o->nby = *arg ? agg_split(arg, &o->by) : 0;
	for (int i = 0; i < o->nby; i++)
		if (!*o->by[i])
			return msg_usage("--by: an empty column name in '%s'", arg);
	if (o->by == NULL)
		o->by = xcalloc(1, sizeof(*o->by));
	return OPT_RUN;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .libs = "jsmn\n"
	};
	int rc;
	/* -b, -e and -s, old spellings: elsewhere they mean --by, --exit-at-end
	 * and --state. */
	const struct opt_spec spec[] = {
		{ .name = "anomalies", .kind = OPT_K_NUMBER, .to = &o->sigma, .dlo = 0, .dhi = 1e6,
		    .given = &o->anomalies },
		{ .name = "batch", .kind = OPT_K_STRING, .to = &o->path[LAYER_BATCH], .old = "-b" },
		OPT_E_CALL("by", 0, o, take_by),
		OPT_E_FLAG("compact", 0, &o->compact),
		{ .name = "cutoff", .kind = OPT_K_TIME, .to = &o->cutoff, .given = &o->have_cutoff },
		{ .name = "every", .kind = OPT_K_DURATION, .to = &o->every, .lo = 1,
		    .hi = OPT_NO_MAX, .old = "-e" },
		OPT_E_FORMAT("format", 0, &o->format),
		{ .name = "from", .kind = OPT_K_TIME, .to = &o->from, .given = &o->have_from },
		OPT_E_METRICS,
		OPT_E_FLAG("no-state", 0, &o->no_state),
		OPT_E_DURATION("overlap", 0, &o->overlap, 0, OPT_NO_MAX),
		{ .name = "speed", .kind = OPT_K_STRING, .to = &o->path[LAYER_SPEED], .old = "-s" },
		OPT_E_SET("table", 0, &o->format, TABLE_ALIGNED),
		{ .name = "to", .kind = OPT_K_TIME, .to = &o->to, .given = &o->have_to },
		OPT_E_FLAG("total", 0, &o->total),
		OPT_E_STRING("view", 0, &o->view),
		OPT_E_STRING("writer-state", 0, &o->writer_state),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	o->overlap = 15 * 60 * 1000;
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	if (optind < argc)
		return msg_usage("unexpected argument '%s': name views with --batch and --speed",
		    argv[optind]);
	if (!o->path[LAYER_BATCH] && !o->path[LAYER_SPEED])
		return msg_usage("nothing to merge: give --batch PATH, --speed PATH or both");
	if (o->compact)
		return check_compact(o);
	if (o->writer_state)
		return msg_usage("--writer-state: only with --compact");
	if (o->total && o->every)
		return msg_usage("--every and --total: give one");
	if (o->anomalies && (!o->path[LAYER_BATCH] || !o->path[LAYER_SPEED]))
		return msg_usage("--anomalies: needs --batch (the baseline) and --speed");
	if (o->anomalies && (o->total || o->every || o->by))
		return msg_usage("--anomalies: compares speed windows as they are; "
		    "no --by, --every or --total");
	return OPT_RUN;
}

/* What a run holds: the kept speed rows, the batch history, the buckets. */
static void
run_free(struct run *r)
{
	struct strmap_entry *x;
	size_t i = 0;

	while ((x = strmap_next(&r->cells, &i)) != NULL) {
		struct cell *c = x->p;

		free(c->cols);
		free(c->bcols);
		if (r->l[LAYER_SPEED].aggs)
			agg_states_free(c->st, r->l[LAYER_SPEED].aggs->n);
		free(c->st);
		free(c->ids);
		free(c);
	}
	i = 0;
	while ((x = strmap_next(&r->hist, &i)) != NULL) {
		free(((struct history *)x->p)->span);
		free(x->p);
	}
	strmap_free(&r->cells);
	strmap_free(&r->hist);
	strmap_free(&r->groups);
	merge_buckets_free(&r->buckets);
	for (int layer = 0; layer < NLAYERS; layer++) {
		row_reader_free(r->l[layer].rd);
		free(r->map[layer]);
	}
	if (r->out) {
		agg_list_free(r->out);
		free(r->out);
	}
	buf_free(&r->key);
}

/* --metrics: what the merge read, decided and wrote. */
static void
count_merge(const struct run *r, size_t nrow)
{
	for (int k = 0; k < NLAYERS; k++)
		metric_add(metric_get("csa_rows_in_total", "layer", merge_layer_names[k], NULL),
		    (double)r->l[k].rows);
	metric_add(metric_get("csa_rows_out_total", NULL), (double)nrow);
	if (r->have_cutoff)
		metric_set(metric_get("csa_cutoff_seconds", NULL), (double)r->cutoff / 1000);
	metric_set(metric_get("csa_partial_buckets", NULL), (double)r->partial);
}

/* Read both layers, fit them together, write the answer (cmd/merge.h
 * says which piece does what): the exit status. */
static int
run(const struct options *o)
{
	static const int order[NLAYERS] = { LAYER_SPEED, LAYER_BATCH };
	struct buf out = { 0 };
	struct run r;
	size_t nrow = 0;
	int rc = 0, status = EXIT_OK, bad;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.have_cutoff = o->have_cutoff;
	r.cutoff = o->cutoff;
	strmap_init(&r.cells);
	strmap_init(&r.hist);
	strmap_init(&r.groups);
	r.buckets.by_group = o->total;
	/* Speed first (it may be stdin and is the smaller); batch rows then go
	 * straight into their buckets. */
	for (int k = 0; k < NLAYERS; k++) {
		r.l[k].id = k;
		r.l[k].rd = row_reader_new(o->by, o->nby, o->view, true);
	}
	for (int k = 0; k < NLAYERS && rc == 0; k++) {
		if (o->compact && order[k] == LAYER_SPEED)
			continue;	/* only the batch view's mark is needed */
		if (o->path[order[k]])
			rc = merge_read_path(&r, &r.l[order[k]], o->path[order[k]]);
	}
	if (rc == 0 && o->compact) {
		if (!r.have_cutoff && r.l[LAYER_BATCH].have_mark) {
			r.cutoff = r.l[LAYER_BATCH].mark;
			r.have_cutoff = true;
		}
		rc = merge_compact(&r);
	} else if (rc == 0)
		rc = merge_settle(&r);
	if (rc == 0 && o->compact)
		;
	else if (rc == 0 && r.out && o->anomalies)
		rc = merge_anomalies(&r, &out, &nrow);
	else if (rc == 0 && r.out)
		merge_answer(&r, &out, &nrow);
	if (rc == 0) {
		if (table_write(o->format, out.p ? out.p : "", out.len, nrow) < 0)
			status = EXIT_IO;
	} else {
		if (r.err.msg[0])
			msg_error(&r.err);
		status = msg_status(r.err.kind);
	}
	count_merge(&r, nrow);
	if (!o->compact)
		msg_verbose("%ld batch rows (%ld used), %ld speed rows (%ld used), %ld bad lines, "
		    "%zu rows out", r.l[LAYER_BATCH].rows, r.l[LAYER_BATCH].rows_used,
		    r.l[LAYER_SPEED].rows, r.l[LAYER_SPEED].rows_used, r.bad.total, nrow);
	if (!o->compact)
		msg_verbose("%ld rows read by simdjson, the others by jsmn",
		    row_reader_fast_rows(r.l[LAYER_BATCH].rd) +
		    row_reader_fast_rows(r.l[LAYER_SPEED].rd));
	if (r.repeats)
		msg_verbose("%ld speed rows repeated (the same _id) counted once", r.repeats);
	bad = msg_bad_summary(&r.bad, "line", "lines");
	buf_free(&out);
	run_free(&r);
	return status != EXIT_OK ? status : bad;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	for (int i = 0; i < o->nby; i++)
		free(o->by[i]);
	free(o->by);
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(0)

