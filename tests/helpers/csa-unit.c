/* csa-unit: a command-line face of common/ for the unit tests in tests/common.bats. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "buf.h"
#include "expr.h"
#include "hub.h"
#include "json.h"
#include "jsonfast.h"
#include "msg.h"
#include "ndjson.h"
#include "saql.h"
#include "timefmt.h"

/* Each stdin line: parse it and print it back compactly, or the error. */
static int
cmd_json(void)
{
	struct ndjson_reader r;
	struct json_doc d;
	struct buf out = { 0 };
	struct err e;
	char *line;
	size_t len;
	int rc;

	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	while ((rc = ndjson_next(&r, &line, &len, &e)) != 0) {
		if (rc < 0) {
			printf("error: %s\n", e.msg);
			continue;
		}
		if (json_parse(&d, line, len, &e) < 0) {
			printf("error: %s\n", e.msg);
			continue;
		}
		buf_reset(&out);
		json_put_token(&out, &d, 0);
		printf("%s\n", out.p);
	}
	buf_free(&out);
	json_doc_free(&d);
	ndjson_close(&r);
	return 0;
}

/* Each stdin line: the unescaped string at path, as bytes, or its type. */
static int
cmd_get(const char *path)
{
	static const char *names[] = { "none", "null", "bool", "number", "string",
		"array", "object" };
	struct ndjson_reader r;
	struct json_doc d;
	struct err e;
	char *line, *str;
	size_t len;
	int64_t i;
	double x;

	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	while (ndjson_next(&r, &line, &len, &e) > 0) {
		int t;

		if (json_parse(&d, line, len, &e) < 0) {
			printf("error: %s\n", e.msg);
			continue;
		}
		t = json_path(&d, 0, path);
		switch (json_type(&d, t)) {
		case JSON_STRING:
			/* As the commands take strings: NUL-terminated copies. */
			str = json_strdup(&d, t);
			puts(str);
			free(str);
			break;
		case JSON_NUMBER:
			if (json_int64(&d, t, &i) == 0)
				printf("int %lld\n", (long long)i);
			else if (json_number(&d, t, &x) == 0)
				printf("number %.17g\n", x);
			break;
		default:
			printf("%s\n", names[json_type(&d, t)]);
		}
	}
	json_doc_free(&d);
	ndjson_close(&r);
	return 0;
}

static int
cmd_num(int argc, char **argv)
{
	struct buf b = { 0 };

	for (int i = 0; i < argc; i++) {
		buf_reset(&b);
		json_put_num(&b, strtod(argv[i], NULL));
		printf("%s\n", b.p);
	}
	buf_free(&b);
	return 0;
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * n doubles of each family, each as C's exact hex form and as json_fmt_num
 * writes it, for a test to read back.  Families: any bit pattern,
 * quotients (averages), powers of two and their neighbours (where the
 * rounding interval is lopsided), 15 to 17 digit decimals, integers about
 * 2^53 and 9e15 and halves near them.
 */
static int
cmd_numgen(long n)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;

	for (int family = 0; family < 5; family++) {
		for (long i = 0; i < n; i++) {
			uint64_t r = xorshift(&seed);
			char got[40], text[40];
			double x;

			switch (family) {
			case 0:
				memcpy(&x, &r, sizeof(x));
				break;
			case 1:
				x = (double)(int64_t)(r % 2000001 - 1000000) / (double)(1 + (r >> 32) % 997);
				break;
			case 2:
				x = ldexp(1.0, (int)(r % 2098) - 1074);
				x = (r >> 20) % 3 == 0 ? nextafter(x, 0) : (r >> 20) % 3 == 1 ?
				    nextafter(x, INFINITY) : x;
				break;
			case 3:
				snprintf(text, sizeof(text), "%llu.%llue%d",
				    (unsigned long long)(r % 10), (unsigned long long)((r >> 8) % 10000000000000000u),
				    (int)((r >> 56) % 80) - 40);
				x = strtod(text, NULL);
				break;
			default:
				x = (double)((r & 1 ? 9007199254740992LL : 9000000000000000LL) +
				    (int64_t)((r >> 1) % 4001) - 2000);
				x = r & 2 ? x + 0.5 : x;
				break;
			}
			if (!isfinite(x))
				continue;
			json_fmt_num(got, sizeof(got), x);
			printf("%a %s\n", x, got);
		}
	}
	return 0;
}

/* Times as tfmt_parse reads them, or with when, as tfmt_parse_when does
 * at the time now. */
static int
cmd_time(int argc, char **argv, bool when, int64_t now)
{
	for (int i = 0; i < argc; i++) {
		struct err e;
		int64_t ms;
		char out[32];

		if ((when ? tfmt_parse_when(argv[i], now, &ms, &e) :
		    tfmt_parse(argv[i], strlen(argv[i]), &ms, &e)) < 0) {
			printf("error: %s\n", e.msg);
			continue;
		}
		tfmt_format(ms, out);
		printf("%lld %s\n", (long long)ms, out);
	}
	return 0;
}

static int
cmd_epoch(const char *unit, int argc, char **argv)
{
	enum tfmt_unit u = strcmp(unit, "s") == 0 ? TFMT_S :
	    strcmp(unit, "ms") == 0 ? TFMT_MS : TFMT_AUTO;

	for (int i = 0; i < argc; i++) {
		int64_t ms;
		char out[32];

		if (tfmt_from_number(strtod(argv[i], NULL), u, &ms) < 0) {
			printf("error\n");
			continue;
		}
		tfmt_format(ms, out);
		printf("%lld %s\n", (long long)ms, out);
	}
	return 0;
}

static int
cmd_duration(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct err e;
		int64_t ms;

		if (tfmt_duration(argv[i], &ms, &e) < 0)
			printf("error: %s\n", e.msg);
		else
			printf("%lld\n", (long long)ms);
	}
	return 0;
}

/* Each stdin line: the expression's value as JSON, or the error. */
static int
cmd_expr(const char *src)
{
	struct ndjson_reader r;
	struct json_doc d;
	struct buf out = { 0 };
	struct expr *x;
	struct expr_val v;
	struct err e;
	char *line;
	size_t len;

	x = expr_compile(src, &e);
	if (x == NULL) {
		printf("error: %s\n", e.msg);
		return 2;
	}
	printf("%s %s\n", expr_is_path(x) ? "path" : "jq", expr_name(x));
	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	while (ndjson_next(&r, &line, &len, &e) > 0) {
		if (json_parse(&d, line, len, &e) < 0 ||
		    expr_eval(x, &d, line, len, &v, &e) < 0) {
			printf("error: %s\n", e.msg);
			continue;
		}
		buf_reset(&out);
		expr_put(&out, &v);
		printf("%s %s\n", out.p, expr_truthy(&v) ? "true" : "false");
	}
	buf_free(&out);
	json_doc_free(&d);
	ndjson_close(&r);
	expr_free(x);
	return 0;
}

/* The reader's view of stdin: line number, length and text of each line. */
static int
cmd_lines(const char *maxlen, bool ready)
{
	struct ndjson_reader r;
	struct err e;
	char *line;
	size_t len;
	int rc;

	ndjson_open_fd(&r, 0, "<stdin>", maxlen ? strtoul(maxlen, NULL, 10) : 0);
	for (;;) {
		/* With ready: asked before each line, as the commands that
		 * wait ask; its answer changes nothing read. */
		if (ready)
			(void)ndjson_ready(&r);
		if ((rc = ndjson_next(&r, &line, &len, &e)) == 0)
			break;
		if (rc < 0)
			printf("error: %s\n", e.msg);
		else
			printf("%lu:%zu:%s\n", r.lineno, len, line);
	}
	ndjson_close(&r);
	return 0;
}

/*
 * Aggregates over the {"v":...} lines of stdin, twice: all lines into one
 * state, and the lines split at SPLIT into two states merged afterwards.
 * Prints both rows' values; they must agree.
 */
static int
cmd_merge(const char *specs, long split)
{
	struct agg_list l = { 0 };
	struct agg_state *whole, *left, *right;
	struct expr_val *vals;
	struct ndjson_reader r;
	struct json_doc d;
	struct buf b = { 0 };
	struct err e;
	char *line;
	size_t len;

	if (agg_parse(&l, specs, &e) < 0) {
		printf("error: %s\n", e.msg);
		return 2;
	}
	whole = xcalloc((size_t)l.n, sizeof(*whole));
	left = xcalloc((size_t)l.n, sizeof(*left));
	right = xcalloc((size_t)l.n, sizeof(*right));
	vals = xcalloc((size_t)l.n, sizeof(*vals));
	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	while (ndjson_next(&r, &line, &len, &e) > 0) {
		if (json_parse(&d, line, len, &e) < 0)
			continue;
		agg_add_all(&l, whole, vals, &d, line, len, &e);
		agg_add_all(&l, (long)r.lineno <= split ? left : right, vals, &d, line, len, &e);
	}
	for (int i = 0; i < l.n; i++)
		agg_merge(&l.v[i], &left[i], &right[i]);
	buf_addc(&b, '{');
	agg_put_values(&b, &l, whole);
	buf_adds(&b, "}\n{");
	agg_put_values(&b, &l, left);
	buf_adds(&b, "}");
	printf("%s\n", b.p);
	buf_free(&b);
	json_doc_free(&d);
	ndjson_close(&r);
	free(whole);
	free(left);
	free(right);
	free(vals);
	agg_list_free(&l);
	return 0;
}

/* The partition the hubs pick for each key. */
static int
cmd_partition(int argc, char **argv)
{
	int n = atoi(argv[0]);

	for (int i = 1; i < argc; i++)
		printf("%d\n", hub_partition_for_key(argv[i], strlen(argv[i]), n));
	return 0;
}

/* Two answers of a path the same, to the bit of a number. */
static bool
same_val(const struct expr_val *a, const struct expr_val *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == EXPR_NUMBER)
		return memcmp(&a->num, &b->num, sizeof(a->num)) == 0;
	if (a->type == EXPR_STRING || a->type == EXPR_OTHER)
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	return true;
}

/*
 * Each stdin line checked by simdjson (jsonfast) and by json_parse, and
 * the paths evaluated on both documents: a line where jsonfast says more
 * than json_parse does, or a path answered differently, is printed as a
 * disagreement; then the counts, among them how many times the first path
 * found a string on simdjson's document.  With --lazy first, the paths
 * but the last are named to json_fast_fields (the last is learned when it
 * is first asked for, and is asked for twice): a line loaded so that
 * json_parse refuses is not a disagreement but counted as taken unread.
 * With --checked instead, the same, but the other values are checked
 * (JSON_FAST_CHECK_REST): every line loaded must pass json_parse.
 */
static int
cmd_fast(char **paths, int npaths)
{
	bool checked = npaths > 1 && strcmp(paths[0], "--checked") == 0;
	bool lazy = npaths > 1 && (checked || strcmp(paths[0], "--lazy") == 0);
	long unread = 0;

	struct json_fast *f = json_fast_new();
	struct ndjson_reader r;
	struct json_doc d, fd;
	struct buf copy = { 0 };
	struct expr *x[16];
	struct err e;
	long n = 0, fast = 0, parsed = 0, keys = 0, loaded = 0, values = 0, bad = 0;
	char *line;
	size_t len;
	int rc;

	if (f == NULL || npaths > 16)
		return 2;
	if (lazy) {
		paths++;
		npaths--;
	}
	for (int i = 0; i < npaths; i++)
		if ((x[i] = expr_compile(paths[i], &e)) == NULL || (lazy && !expr_is_path(x[i])))
			return 2;
	if (lazy) {
		const char *named[16];

		for (int i = 0; i < npaths - 1; i++)
			named[i] = expr_path(x[i]);
		json_fast_fields(f, named, npaths - 1,
		    checked ? JSON_FAST_CHECK_REST : JSON_FAST_SKIP_REST);
	}
	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	json_doc_init(&fd);
	while ((rc = ndjson_next(&r, &line, &len, &e)) != 0) {
		bool object = false, compact = false, ok;
		struct expr_val v, w;

		if (rc < 0)
			continue;
		n++;
		ok = json_parse(&d, line, len, &e) == 0;
		parsed += ok;
		if (json_fast_check(f, line, len, &object, &compact)) {
			fast++;
			if (!ok || object != (json_type(&d, 0) == JSON_OBJECT) || compact != d.compact) {
				printf("disagree: line %lu: check\n", r.lineno);
				bad++;
			}
		}
		if (!json_fast_load(f, line, len, &object))
			continue;
		loaded++;
		if (lazy && !checked && !ok) {
			unread++;
			continue;
		}
		if (!ok || object != (json_type(&d, 0) == JSON_OBJECT)) {
			printf("disagree: line %lu: load\n", r.lineno);
			bad++;
			continue;
		}
		json_doc_fast(&fd, f, line, len);
		/* --lazy: the learned path is asked for twice. */
		for (int k = 0; k < npaths + lazy; k++) {
			int i = k < npaths ? k : npaths - 1;

			/* The slow answer is copied: both borrow the expression's memory. */
			if (expr_eval(x[i], &d, line, len, &v, &e) < 0)
				continue;
			buf_reset(&copy);
			buf_add(&copy, v.str ? v.str : "", v.len);
			v.str = copy.p;
			values++;
			if (expr_eval(x[i], &fd, line, len, &w, &e) < 0 || !same_val(&v, &w)) {
				printf("disagree: line %lu: value at %s\n", r.lineno, paths[i]);
				bad++;
			} else if (i == 0 && w.type == EXPR_STRING) {
				keys++;
			}
		}
	}
	printf("%ld lines, %ld valid, %ld checked fast, %ld strings found fast, "
	    "%ld loaded, %ld values compared, %ld disagree",
	    n, parsed, fast, keys, loaded, values, bad);
	if (lazy)
		printf(", %ld taken unread", unread);
	putchar('\n');
	buf_free(&copy);
	json_doc_free(&d);
	ndjson_close(&r);
	for (int i = 0; i < npaths; i++)
		expr_free(x[i]);
	json_fast_free(f);
	return bad ? 1 : 0;
}

/*
 * Each stdin line: compactness and whether "KEY" is in it, as
 * json_fast_check_key tells them four ways (the best vector code on a
 * copy; the best, SSE2 and the portable loops on the line where it is,
 * with the next lines as its padding), against json_parse and memmem.
 */
static int
cmd_compact(const char *key)
{
	enum { WAYS = 4 };
	static const int level[WAYS] = { 2, 2, 1, 0 };
	struct json_fast *f[WAYS];
	struct ndjson_reader r;
	struct json_doc d;
	struct buf quoted = { 0 };
	struct err e;
	long n = 0, valid = 0, fast[WAYS] = { 0 }, compact = 0, with_key = 0, bad = 0;
	int got[WAYS];
	char *line;
	size_t len;
	int rc;

	for (int i = 0; i < WAYS; i++) {
		if ((f[i] = json_fast_new()) == NULL)
			return 2;
		got[i] = json_fast_vectors(f[i], level[i]);
		if (i > 0)
			json_fast_padded_input(f[i]);
	}
	buf_printf(&quoted, "\"%s\"", key);
	ndjson_open_fd(&r, 0, "<stdin>", 0);
	json_doc_init(&d);
	while ((rc = ndjson_next(&r, &line, &len, &e)) != 0) {
		bool ok, has;

		if (rc < 0)
			continue;
		n++;
		ok = json_parse(&d, line, len, &e) == 0;
		valid += ok;
		compact += ok && d.compact;
		has = memmem(line, len, quoted.p, quoted.len) != NULL;
		with_key += has;
		for (int i = 0; i < WAYS; i++) {
			bool object = false, c = false, k = false;

			if (!json_fast_check_key(f[i], line, len, key, &object, &c, &k))
				continue;
			fast[i]++;
			if (!ok || object != (json_type(&d, 0) == JSON_OBJECT) || c != d.compact ||
			    k != has) {
				printf("disagree: line %lu: way %d (vectors %d)\n", r.lineno, i, got[i]);
				bad++;
			}
		}
	}
	printf("%ld lines, %ld valid, %ld compact, %ld with the key, %ld %ld %ld %ld checked fast "
	    "(vectors %d %d %d %d), %ld disagree\n", n, valid, compact, with_key, fast[0], fast[1],
	    fast[2], fast[3], got[0], got[1], got[2], got[3], bad);
	json_doc_free(&d);
	ndjson_close(&r);
	buf_free(&quoted);
	for (int i = 0; i < WAYS; i++)
		json_fast_free(f[i]);
	return bad ? 1 : 0;
}

/* The query text on stdin: each statement's plan as --explain shows it, or
 * the fault on stderr and status 2. */
static int
cmd_saql(void)
{
	struct saql_query q = { 0 };
	struct buf text = { 0 }, out = { 0 };
	struct err e;
	char chunk[4096];
	size_t n;
	int rc = 0;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&text, chunk, n);
	if (saql_compile(text.p ? text.p : "", "query", &q, &e) < 0) {
		fprintf(stderr, "csa-unit: %s\n", e.msg);
		rc = 2;
	} else {
		for (int i = 0; i < q.n; i++)
			saql_explain(&q.v[i], "csa-window", &out);
		fputs(out.p, stdout);
	}
	saql_free(&q);
	buf_free(&text);
	buf_free(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	msg_init(argv[0]);
	if (argc < 2) {
		fputs("usage: csa-unit json|get PATH|num X...|time T...|when NOW T...|epoch UNIT X...|"
		    "duration D...|expr EXPR|fast PATH...|compact KEY|numgen N|saql|lines [MAX]|lines-ready [MAX]\n", stderr);
		return 2;
	}
	if (strcmp(argv[1], "json") == 0)
		return cmd_json();
	if (strcmp(argv[1], "get") == 0 && argc == 3)
		return cmd_get(argv[2]);
	if (strcmp(argv[1], "num") == 0)
		return cmd_num(argc - 2, argv + 2);
	if (strcmp(argv[1], "numgen") == 0 && argc == 3)
		return cmd_numgen(atol(argv[2]));
	if (strcmp(argv[1], "time") == 0)
		return cmd_time(argc - 2, argv + 2, false, 0);
	if (strcmp(argv[1], "when") == 0 && argc >= 3)
		return cmd_time(argc - 3, argv + 3, true, strtoll(argv[2], NULL, 10));
	if (strcmp(argv[1], "epoch") == 0 && argc >= 3)
		return cmd_epoch(argv[2], argc - 3, argv + 3);
	if (strcmp(argv[1], "duration") == 0)
		return cmd_duration(argc - 2, argv + 2);
	if (strcmp(argv[1], "expr") == 0 && argc == 3)
		return cmd_expr(argv[2]);
	if (strcmp(argv[1], "fast") == 0 && argc >= 3)
		return cmd_fast(argv + 2, argc - 2);
	if (strcmp(argv[1], "compact") == 0 && argc == 3 && argv[2][0] != '\0')
		return cmd_compact(argv[2]);
	if (strcmp(argv[1], "merge") == 0 && argc == 4)
		return cmd_merge(argv[2], atol(argv[3]));
	if (strcmp(argv[1], "partition") == 0 && argc >= 3)
		return cmd_partition(argc - 2, argv + 2);
	if (strcmp(argv[1], "saql") == 0)
		return cmd_saql();
	if (strcmp(argv[1], "lines") == 0)
		return cmd_lines(argc > 2 ? argv[2] : NULL, false);
	if (strcmp(argv[1], "lines-ready") == 0)
		return cmd_lines(argc > 2 ? argv[2] : NULL, true);
	fputs("csa-unit: unknown test command\n", stderr);
	return 2;
}
