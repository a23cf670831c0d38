/* csa-capture-read: Event Hubs Capture Avro files to event NDJSON. */
#include <config.h>

#include <errno.h>
#include <fts.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "buf.h"
#include "cmd.h"
#include "capture.h"
#include "err.h"
#include "fsutil.h"
#include "http.h"
#include "hub.h"
#include "json.h"
#include "jsonfast.h"
#include "metrics.h"
#include "msg.h"
#include "num.h"
#include "opt.h"
#include "progress.h"
#include "strmap.h"
#include "timefmt.h"

static const char usage_line[] =
    "Usage: csa-capture-read [-muv] [--bare] [--body skip|base64|string] [--path-format FMT]\n"
    "                        [--from T] [--to T] [-p N] [-s FILE [--pending]]\n"
    "                        [--blob-endpoint URL] [--cacert FILE] [--parallel N]\n"
    "                        [--retries N] [--retry-delay D] [--metrics FILE]\n"
    "                        [-H DIR | PATH|URL...]\n";

static const char help_text[] =
    "Read Event Hubs Capture Avro files (and directories of them, recursively)\n"
    "and write each event's body as one line of compact JSON, with its partition\n"
    "in \"_eh\".  A URL reads the blobs of a container under a prefix, from Blob\n"
    "Storage (https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX) or ADLS Gen2\n"
    "(abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH), with the credential of\n"
    "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or\n"
    "AZURE_STORAGE_TOKEN, or a SAS in the URL.  With no PATH, the capture files of\n"
    "the embedded hub (-H, else $CSA_HUB, else the default hub).\n"
    "\n"
    "      --bare              the bodies alone, without \"_eh\"\n"
    "      --blob-endpoint URL send Blob requests to URL (an emulator, a sovereign\n"
    "                          cloud) instead of the URL's host\n"
    "      --body WHAT         a body that is not JSON: skip (default, with a\n"
    "                          warning), base64 or string\n"
    "      --cacert FILE       trust the CA certificates in FILE as well (Blob Storage)\n"
    "      --from TIME         only events enqueued at or after TIME\n"
    "  -H, --hub DIR           read the capture files of the embedded hub in DIR\n"
    "  -h, --help              show this help and exit\n"
    "  -m, --meta              add an \"_eh\" object with the Capture metadata\n"
    "      --metrics FILE      write counts of files and records, run duration and\n"
    "                          success to FILE (Prometheus text)\n"
    "      --parallel N        blobs downloaded at once (default 8)\n"
    "  -p, --partition N       read only partition N's files\n"
    "      --pending           save the checkpoint to FILE.pending, for the script\n"
    "                          to move into place once the next stage succeeded\n"
    "      --path-format FMT   the capture path layout (Azure placeholders)\n"
    "  -q, --quiet             no warnings (errors and bad lines still print)\n"
    "      --retries N         retries of a failed Blob request (default 3)\n"
    "      --retry-delay D     wait before the first retry, doubling (default 1s)\n"
    "  -s, --state FILE        remember the files read; read only new ones\n"
    "      --to TIME           only events enqueued before TIME\n"
    "  -u, --unbuffered        flush after every event\n"
    "  -v, --verbose           report each file on stderr\n"
    "  -V, --version           show versions and exit\n"
    "\n"
    "Old spellings, still read until the next release: --checkpoint (now --state),\n"
    "--since, --until (now --from, --to)\n"
    "\n"
    "Examples:\n"
    "  csa-capture-read | csa-batch-agg --preset earthquake --out gold\n"
    "  csa-capture-read -s capture.state --pending | csa-batch-agg ...\n"
    "  csa-capture-read --from yesterday -H /var/lib/csa/hub | wc -l\n"
    "\n"
    "Exit status: 0 ok, 1 bad files or bodies were skipped, 2 usage, 3 nothing\n"
    "could be read, 4 Blob Storage failed or refused.  See csa-capture-read(1).\n";

enum body_mode { BODY_SKIP, BODY_BASE64, BODY_STRING };

/* A container (and prefix) to list, from a URL argument. */
struct remote {
	const char *arg;
	struct blob_loc loc;
};

struct options {
	enum body_mode body;
	bool meta, bare, unbuffered, pending;
	int partition;
	int64_t since, until;
	bool have_since, have_until;
	struct capture_pathfmt *fmt;
	const char *checkpoint;
	char *hub_capture;	/* the hub's capture tree, when no PATH is given */
	char **paths;
	int npaths;
	int parallel;		/* downloads in flight */
	/* Blob Storage: the URL arguments, the credential, the requests. */
	const char *blob_endpoint;
	struct remote *remotes;
	int nremotes;
	struct blob_cred cred;
	struct http_opts http;
};

/* A file or blob to read, with what its path says. */
struct input {
	char *path;		/* a blob's URL, without a query */
	size_t next;		/* the next file of its partition in the order read, or 0 */
	bool named;		/* given on the command line */
	struct capture_pathinfo info;
	int64_t size, mtime;
	const struct remote *remote;	/* the container of a blob, or NULL */
	char *name, *etag;	/* a blob's name and ETag */
	int slot;		/* the spool it was downloaded into, or -1 */
};

/*
 * The URL arguments, checked before anything is read: a URL that names no
 * container, or a credential that is malformed or for another account, is
 * a usage fault.  Returns -1 to go on, or the exit status.
 */
static int
parse_remotes(struct options *o)
{
	struct err e;
	bool cred = false;

	o->remotes = xcalloc((size_t)o->npaths, sizeof(*o->remotes));
	for (int i = 0; i < o->npaths; i++) {
		struct remote *r = &o->remotes[o->nremotes];

		if (!blob_is_url(o->paths[i]))
			continue;
		if (!cred && blob_cred_from_env(&o->cred, &e) < 0)
			return msg_usage("%s", e.msg);
		cred = true;
		r->arg = o->paths[i];
		if (blob_loc_parse(r->arg, o->blob_endpoint ? o->blob_endpoint : o->cred.endpoint,
		    &r->loc, &e) < 0) {
			/* The URL may carry a SAS: name it by what comes before. */
			return msg_usage("%.*s: %s", (int)strcspn(r->arg, "?"), r->arg, e.msg);
		}
		o->nremotes++;
		/* The SAS is kept; ps shows the rest of the URL from now on. */
		for (char *q = strchr(o->paths[i], '?'); q && *++q;)
			*q = 'x';
		if (blob_check_cred(&r->loc, &o->cred, &e) < 0)
			return msg_usage("%s", e.msg);
	}
	return OPT_RUN;
}

static int
take_blob_endpoint(void *to, const char *name, const char *arg)
{
	(void)name;
	if (!blob_is_url(arg) || strncasecmp(arg, "abfs", 4) == 0)
		return msg_usage("--blob-endpoint: '%s' is not an http or https URL", arg);
	*(const char **)to = arg;
	return OPT_RUN;
}

static int
version(void)
{
	struct buf more = { 0 };	/* libcurl's line alone can be 170 bytes */
	int rc;

	buf_printf(&more, "jsmn\n%s\n", http_version());
	rc = opt_version(capture_versions(), more.p);
	buf_free(&more);
	return rc;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct opt_cmd cmd = {
		.usage = usage_line, .help = help_text, .version = version
	};
	const char *fmt = CAPTURE_DEFAULT_FORMAT, *hub = NULL;
	struct err e;
	int rc;
	const struct opt_spec spec[] = {
		OPT_E_FLAG("bare", 0, &o->bare),
		OPT_E_CALL("blob-endpoint", 0, &o->blob_endpoint, take_blob_endpoint),
		OPT_E_CHOICE("body", 0, &o->body, "skip", "base64", "string"),
		{ .name = "from", .kind = OPT_K_TIME, .to = &o->since, .given = &o->have_since,
		    .old = "--since" },
		OPT_E_STRING("hub", 'H', &hub),
		OPT_E_FLAG("meta", 'm', &o->meta),
		OPT_E_METRICS,
		OPT_E_INT("parallel", 0, &o->parallel, 1, 64),
		OPT_E_INT("partition", 'p', &o->partition, 0, 1023),
		OPT_E_STRING("path-format", 0, &fmt),
		OPT_E_FLAG("pending", 0, &o->pending),
		{ .name = "state", .letter = 's', .kind = OPT_K_STRING, .to = &o->checkpoint,
		    .old = "--checkpoint" },
		{ .name = "to", .kind = OPT_K_TIME, .to = &o->until, .given = &o->have_until,
		    .old = "--until" },
		OPT_E_FLAG("unbuffered", 'u', &o->unbuffered),
		OPT_E_HTTP(&o->http),
		OPT_E_END
	};

	memset(o, 0, sizeof(*o));
	o->partition = -1;
	o->parallel = 8;
	http_opts_init(&o->http);
	if ((rc = opt_parse(argc, argv, spec, &cmd)) != OPT_RUN)
		return rc;
	argc -= optind;
	argv += optind;
	if (hub && argc > 0)
		return msg_usage("--hub and '%s': read a hub's capture files or the paths given, "
		    "not both", argv[0]);
	if (argc == 0) {
		/* The README's "$CSA_HUB/capture" without the variable. */
		char *dir = hub_default_location(hub);
		struct buf b = { 0 };

		buf_printf(&b, "%s/capture", dir);
		free(dir);
		if (access(b.p, F_OK) != 0) {
			msg_warn("no hub at %.*s (csa-eh-send creates one)", (int)b.len - 8, b.p);
			buf_free(&b);
			return EXIT_IO;
		}
		o->hub_capture = buf_steal(&b);
		argv = &o->hub_capture;
		argc = 1;
	}
	if (o->pending && o->checkpoint == NULL)
		return msg_usage("--pending: needs --state FILE");
	if (o->bare && o->meta)
		return msg_usage("--bare and --meta: choose one");
	if ((o->fmt = capture_pathfmt_compile(fmt, &e)) == NULL)
		return msg_usage("--path-format: %s", e.msg);
	o->paths = argv;
	o->npaths = argc;
	return parse_remotes(o);
}

/*
 * A checkpoint entry: the file's path (a blob's URL), with its size and
 * mtime in a and b, and in p what else is known (caller frees): the
 * number of records read from it, and a blob's ETag, which stands for its
 * mtime.
 */
struct seen {
	int64_t records;	/* -1 when not known (older checkpoints) */
	char *etag;		/* a blob's, or NULL */
};

static struct seen *
seen_of(struct strmap_entry *en)
{
	if (en->p == NULL) {
		struct seen *s = xcalloc(1, sizeof(*s));

		s->records = -1;
		en->p = s;
	}
	return en->p;
}

static void
set_records(struct strmap_entry *en, int64_t records)
{
	seen_of(en)->records = records;
}

static void
set_etag(struct strmap_entry *en, const char *etag)
{
	struct seen *s = seen_of(en);

	free(s->etag);
	s->etag = etag ? xstrdup(etag) : NULL;
}

static void
free_done(struct strmap *done)
{
	struct strmap_entry *en;
	size_t i = 0;

	while ((en = strmap_next(done, &i)) != NULL) {
		if (en->p)
			free(((struct seen *)en->p)->etag);
		free(en->p);
	}
	strmap_free(done);
}

/* The files read before, with size, mtime and records, from --checkpoint. */
static int
load_checkpoint(const char *path, struct strmap *done)
{
	struct json_doc d;
	struct err e;
	char *data, *p;
	size_t len;
	unsigned long line = 0;
	int rc, status = EXIT_OK;

	strmap_init(done);
	if (path == NULL)
		return EXIT_OK;
	rc = fs_read_all(path, &data, &len, &e);
	if (rc < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	if (rc == 1)
		return EXIT_OK;
	json_doc_init(&d);
	for (p = data; p < data + len;) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(data + len - p);

		line++;
		if (n > 0) {
			int64_t size, mtime = 0;
			char *file = NULL, *etag = NULL;

			/* A file has an mtime, a blob an ETag. */
			if (json_parse(&d, p, n, &e) == 0 &&
			    (file = json_strdup(&d, json_member(&d, 0, "file", 4))) != NULL &&
			    json_int64(&d, json_member(&d, 0, "size", 4), &size) == 0 &&
			    ((etag = json_strdup(&d, json_member(&d, 0, "etag", 4))) != NULL ||
			    json_int64(&d, json_member(&d, 0, "mtime", 5), &mtime) == 0)) {
				struct strmap_entry *en = strmap_put(done, file, strlen(file), NULL);
				int64_t records;

				en->a = size;
				en->b = mtime;
				set_etag(en, etag);
				/* Entries of older versions have no count. */
				if (json_int64(&d, json_member(&d, 0, "records", 7), &records) == 0 &&
				    records >= 0)
					set_records(en, records);
				else
					set_records(en, -1);
				free(file);
				free(etag);
			} else {
				free(file);	/* a name without its size or mtime */
				msg_record(path, line, "not a checkpoint entry, ignored");
				status = EXIT_DATA;
			}
		}
		p += n + 1;
	}
	json_doc_free(&d);
	free(data);
	return status;
}

/* Save the checkpoint to its file, or with --pending beside it. */
static int
save_checkpoint(const struct options *o, const struct strmap *done)
{
	struct strmap_entry *en;
	struct buf b = { 0 };
	struct err e;
	size_t i = 0;
	char *path = fs_state_target(o->checkpoint, o->pending);
	int rc;

	while ((en = strmap_next(done, &i)) != NULL) {
		buf_addc(&b, '{');
		json_key(&b, "file");
		json_put_str(&b, en->key, en->klen);
		json_key(&b, "size");
		json_put_int(&b, en->a);
		if (en->p != NULL && ((struct seen *)en->p)->etag != NULL) {
			const char *etag = ((struct seen *)en->p)->etag;

			json_key(&b, "etag");
			json_put_str(&b, etag, strlen(etag));
		} else {
			json_key(&b, "mtime");
			json_put_int(&b, en->b);
		}
		if (en->p != NULL && ((struct seen *)en->p)->records >= 0) {
			json_key(&b, "records");
			json_put_int(&b, ((struct seen *)en->p)->records);
		}
		buf_adds(&b, "}\n");
	}
	rc = fs_write_atomic(path, b.p ? b.p : "", b.len, &e);
	buf_free(&b);
	free(path);
	if (rc < 0) {
		msg_error(&e);
		return EXIT_IO;
	}
	return EXIT_OK;
}

struct inputs {
	struct input *v;
	size_t n, cap;
	long unreadable;
	int list_status;	/* the worst of the listings */
};

static struct input *
new_input(struct inputs *in)
{
	struct input *it;

	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->v = xrealloc(in->v, in->cap * sizeof(*in->v));
	}
	it = &in->v[in->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

static void
add_input(struct inputs *in, const char *path, bool named, const struct stat *st,
    const struct options *o)
{
	struct input *it = new_input(in);

	it->path = xstrdup(path);
	it->named = named;
	it->size = st->st_size;
	it->mtime = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	capture_path_match(o->fmt, path, &it->info);
}

/* Every blob under a URL's prefix, listed page by page; its path is its
 * URL, and the Capture layout is matched against its name. */
static void
collect_blobs(const struct options *o, const struct remote *r, struct inputs *in)
{
	struct blob_list bl = { 0 };
	struct err e;

	if (blob_list(&r->loc, &o->cred, 0, &o->http, &bl, &e) < 0) {
		msg_error(&e);
		in->list_status = msg_worst(in->list_status, msg_status(e.kind));
	}
	for (size_t i = 0; i < bl.n; i++) {
		struct input *it = new_input(in);

		it->path = blob_url(&r->loc, bl.v[i].name);
		it->named = false;
		it->size = bl.v[i].size;
		it->remote = r;
		it->slot = -1;
		it->name = bl.v[i].name;
		it->etag = bl.v[i].etag;
		bl.v[i].name = bl.v[i].etag = NULL;
		capture_path_match(o->fmt, it->name, &it->info);
	}
	msg_verbose("%s: %zu blobs in %d listing%s", r->loc.display, bl.n, bl.pages,
	    bl.pages == 1 ? "" : "s");
	blob_list_free(&bl);
}

/* Every regular file under the paths; hidden files (temporary captures) in
 * directories are passed over, files named on the command line never. */
static void
collect(const struct options *o, struct inputs *in)
{
	int ri = 0;

	for (int i = 0; i < o->npaths; i++) {
		char *argv[2] = { o->paths[i], NULL };
		struct stat st;
		FTS *fts;
		FTSENT *ent;

		if (ri < o->nremotes && o->remotes[ri].arg == o->paths[i]) {
			collect_blobs(o, &o->remotes[ri++], in);
			continue;
		}
		if (stat(o->paths[i], &st) != 0) {
			msg_warn("%s: %s", o->paths[i], strerror(errno));
			in->unreadable++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			add_input(in, o->paths[i], true, &st, o);
			continue;
		}
		fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
		if (fts == NULL) {
			msg_warn("%s: %s", o->paths[i], strerror(errno));
			in->unreadable++;
			continue;
		}
		while ((ent = fts_read(fts)) != NULL) {
			if (ent->fts_info == FTS_DNR || ent->fts_info == FTS_ERR) {
				msg_warn("%s: %s", ent->fts_path, strerror(ent->fts_errno));
				in->unreadable++;
			} else if (ent->fts_info == FTS_F && ent->fts_name[0] != '.') {
				add_input(in, ent->fts_path, false, ent->fts_statp, o);
			}
		}
		fts_close(fts);
	}
}

/* Files sorted by partition, then by the time in their path, then by name. */
static int
cmp_input(const void *a, const void *b)
{
	const struct input *x = a, *y = b;

	if (x->info.time_ms != y->info.time_ms)
		return x->info.time_ms < y->info.time_ms ? -1 : 1;
	if (x->info.partition != y->info.partition)
		return x->info.partition < y->info.partition ? -1 : 1;
	return strcmp(x->path, y->path);
}

/*
 * Files are read in order of the time in their path, then of partition,
 * so the partitions come interleaved as a consumer of the hub sees them
 * and csa-window's event time per partition holds for a replay of any
 * length.  Link each file to the next of its partition, for --since.
 */
static void
link_partitions(struct inputs *in)
{
	size_t last[1025];	/* partitions 0 to 1023, and none (-1) */

	memset(last, 0, sizeof(last));
	for (size_t i = in->n; i-- > 0;) {
		int p = in->v[i].info.partition;
		size_t *l = &last[p >= 0 && p < 1024 ? p : 1024];

		in->v[i].next = *l;
		*l = i;
	}
}

/* A file whose next file in the partition starts before --since, or which
 * itself starts at or after --until, holds nothing wanted. */
static bool
skip_by_path_time(const struct inputs *in, size_t i, const struct options *o)
{
	const struct input *it = &in->v[i];

	if (it->info.time_ms < 0)
		return false;
	if (o->have_until && it->info.time_ms >= o->until)
		return true;
	if (o->have_since && it->next > 0 &&
	    in->v[it->next].info.partition == it->info.partition &&
	    in->v[it->next].info.time_ms >= 0 &&
	    in->v[it->next].info.time_ms <= o->since)
		return true;
	return false;
}

/* An input not to read: another partition's, outside --since and --until
 * by its path, or read before (the same size and mtime, or ETag). */
static bool
passed_over(const struct inputs *in, size_t i, const struct options *o, struct strmap *done)
{
	const struct input *it = &in->v[i];
	struct strmap_entry *en;

	if (o->partition >= 0 && it->info.partition != o->partition)
		return true;
	if (skip_by_path_time(in, i, o))
		return true;
	if ((en = strmap_get(done, it->path, strlen(it->path))) == NULL)
		return false;
	if (!it->remote)
		return en->a == it->size && en->b == it->mtime;
	return en->p && ((struct seen *)en->p)->etag &&
	    strcmp(((struct seen *)en->p)->etag, it->etag) == 0;
}

static void
put_base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	buf_addc(b, '"');
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
			i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };

		buf_add(b, q, 4);
	}
	buf_addc(b, '"');
}

_Static_assert(CAPTURE_PADDING >= JSON_FAST_PADDING, "bodies must carry simdjson's padding");

/* What reads the bodies: simdjson first, then jsmn for the others. */
struct checker {
	struct json_fast *fast;		/* NULL when it could not be made */
	struct json_doc doc;
	struct buf tmp;
	char tail[48];		/* the end of write_plain's lines, per file */
	size_t tail_len;
	struct buf file;	/* the file's name as a JSON string, for put_meta */
	struct buf meta;	/* an "_eh" of --meta, and how it starts, per file */
	size_t meta_head;
	int64_t time_ms;	/* the enqueued time formatted last, as JSON in time */
	struct buf time;
	struct buf out;		/* lines not yet given to stdout */
	/* What simdjson said of the event's body, when write_plain asked. */
	bool checked, checked_ok, object, compact;
};

/*
 * An Offset as JSON: the number it is, else its text.  Digits without a
 * leading zero, fewer than INT64_MAX has, are that number as written: they
 * go out as they are, without strtoll and printing them again.
 */
static void
put_offset(struct buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	int64_t off;

	if (n > 0 && n < 19 && (s[0] != '0' || n == 1)) {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == n) {
			buf_add(b, s, n);
			return;
		}
	}
	if (num_parse_int64(s, 0, INT64_MAX, &off) == 0)
		json_put_int(b, off);
	else
		json_put_str(b, s, n);
}

/*
 * The start of every "_eh" of --meta from this file (its partition) into
 * c->meta, and the file's name as JSON into c->file.
 */
static void
meta_start(struct checker *c, const struct input *it)
{
	buf_reset(&c->file);
	json_put_str(&c->file, it->path, strlen(it->path));
	buf_reset(&c->meta);
	json_key(&c->meta, "_eh");
	buf_addc(&c->meta, '{');
	json_key(&c->meta, "partition");
	if (it->info.partition >= 0)
		json_put_int(&c->meta, it->info.partition);
	else
		json_put_null(&c->meta);
	json_key(&c->meta, "sequence_number");
	c->meta_head = c->meta.len;
}

/* A string constant added without strlen. */
#define ADD_CONST(b, s) buf_add((b), (s), sizeof(s) - 1)

/*
 * The "_eh" member of one event with --meta at the end of b (after a
 * comma, or an object's '{'), from c->meta's start.  Events of a batch
 * share their enqueued time: it is formatted once for them.
 */
static void
put_meta(struct buf *b, const struct capture_event *ev, struct checker *c)
{
	char t[32];

	buf_add(b, c->meta.p, c->meta_head);
	json_put_int(b, ev->seq);
	ADD_CONST(b, ",\"offset\":");
	put_offset(b, ev->offset);
	ADD_CONST(b, ",\"enqueued_time\":");
	if (ev->enqueued_ms >= 0) {
		if (c->time.len == 0 || ev->enqueued_ms != c->time_ms) {
			tfmt_format(ev->enqueued_ms, t);
			buf_reset(&c->time);
			json_put_str(&c->time, t, strlen(t));
			c->time_ms = ev->enqueued_ms;
		}
		buf_add(b, c->time.p, c->time.len);
	} else {
		json_put_null(b);
	}
	ADD_CONST(b, ",\"system_properties\":");
	buf_add(b, ev->sys_json, ev->sys_len);
	ADD_CONST(b, ",\"properties\":");
	buf_add(b, ev->props_json, ev->props_len);
	ADD_CONST(b, ",\"file\":");
	buf_add(b, c->file.p, c->file.len);
	buf_addc(b, '}');
}

/* The body as a line's JSON: compacted when it is JSON; else per --body.
 * *obj tells whether the line is an object.  Returns 0, or -1 when the
 * body is to be skipped. */
static int
put_body(const struct capture_event *ev, const struct options *o, struct checker *c,
    struct buf *line, bool *obj)
{
	struct json_doc *d = &c->doc;
	struct err e;
	bool object, compact, json;

	/* Most bodies are one compact line of JSON already, as simdjson sees
	 * at once; the others are parsed, checked and compacted by json_parse. */
	if (c->checked) {	/* by write_plain, for this event */
		object = c->object;
		compact = c->compact;
	}
	if (c->fast && ev->body &&
	    (c->checked ? c->checked_ok : json_fast_check(c->fast, ev->body, ev->len, &object,
	    &compact)) && compact && (!o->meta || object)) {
		buf_add(line, ev->body, ev->len);
		*obj = object;
		return 0;
	}
	json = ev->body && json_parse(d, ev->body, ev->len, &e) == 0;
	*obj = true;	/* but for JSON that is not an object, as it is */
	if (json && (!o->meta || json_type(d, 0) == JSON_OBJECT)) {
		*obj = json_type(d, 0) == JSON_OBJECT;
		if (d->compact)	/* already one compact line: as it is */
			buf_add(line, ev->body, ev->len);
		else
			json_put_token(line, d, 0);
	} else if (json) {
		buf_adds(line, "{\"body\":");
		json_put_token(line, d, 0);
		buf_addc(line, '}');
	} else if (o->body == BODY_SKIP || ev->body == NULL) {
		return -1;
	} else {
		buf_adds(line, o->body == BODY_BASE64 ? "{\"body_base64\":" : "{\"body\":");
		if (o->body == BODY_BASE64)
			put_base64(line, ev->body, ev->len);
		else
			json_put_str(line, ev->body, ev->len);
		buf_addc(line, '}');
	}
	return 0;
}

/*
 * Whether a compact JSON object has a member "_eh" (or the text "_eh" in
 * a string: json_reopen tells them apart).  Keys with an underscore are
 * few, so this is cheaper than memmem over the whole line.
 */
static bool
has_eh(const char *p, size_t n)
{
	const char *end = p + n, *q = p;

	while ((q = memchr(q, '_', (size_t)(end - q))) != NULL) {
		if (q > p && q[-1] == '"' && end - q >= 4 && memcmp(q + 1, "eh\"", 3) == 0)
			return true;
		q++;
	}
	return false;
}

/*
 * The common case written at once, without building the line: a body
 * that is one compact JSON object without an "_eh" of its own.  False
 * when the event needs format_event.
 */
static bool
write_plain(const struct capture_event *ev, const struct input *it, const struct options *o,
    struct checker *c)
{
	bool object = false, compact = false;	/* stored even when the check fails */
	bool eh = true;

	c->checked = false;
	if (c->fast == NULL || ev->body == NULL || ev->len < 3)
		return false;
	c->checked = true;
	/* The pass that tells compactness looks for "_eh" too. */
	c->checked_ok = json_fast_check_key(c->fast, ev->body, ev->len, "_eh", &object, &compact,
	    &eh);
	c->object = object;
	c->compact = compact;
	if (!c->checked_ok || !compact || !object)
		return false;
	if (!o->meta && (o->bare || it->info.partition < 0)) {
		buf_add(&c->out, ev->body, ev->len);
		buf_addc(&c->out, '\n');
		return true;
	}
	if (eh)
		return false;
	/* The object reopened: a compact one of three bytes or more has a
	 * member before its '}', so a comma. */
	buf_add(&c->out, ev->body, ev->len - 1);
	if (o->meta) {
		buf_addc(&c->out, ',');
		put_meta(&c->out, ev, c);
		buf_add(&c->out, "}\n", 2);
	} else {
		buf_add(&c->out, c->tail, c->tail_len);
	}
	return true;
}

/* Lines gather in c->out and go to stdout in large writes: fwrite's own
 * work, a line at a time, was a tenth of the body copy's.  stdout is
 * unbuffered (CMD_OWN_STDOUT): each chunk is one write. */
#define OUT_CHUNK (64 << 10)

static void
out_flush(struct checker *c)
{
	if (c->out.len > 0)
		fwrite(c->out.p, 1, c->out.len, stdout);
	buf_reset(&c->out);
}

/* After each line: out with -u, else when a chunk is full. */
static void
out_line_done(struct checker *c, const struct options *o)
{
	if (o->unbuffered) {
		out_flush(c);
		fflush(stdout);
	} else if (c->out.len >= OUT_CHUNK) {
		out_flush(c);
	}
}

/*
 * One event as a line: with its partition in "_eh" (all the metadata with
 * --meta, nothing with --bare or when the path does not tell the
 * partition); an "_eh" the body brought along is replaced.  Returns 0, or
 * -1 when the body was skipped.
 */
static int
format_event(const struct capture_event *ev, const struct input *it, const struct options *o,
    struct checker *c, struct buf *line)
{
	bool obj;

	buf_reset(line);
	if (put_body(ev, o, c, line, &obj) < 0)
		return -1;
	if (o->meta || (obj && !o->bare && it->info.partition >= 0)) {
		if (has_eh(line->p, line->len)) {
			buf_reset(&c->tmp);
			buf_add(&c->tmp, line->p, line->len);
			buf_reset(line);
			json_reopen(line, c->tmp.p, c->tmp.len, "_eh", &c->doc);
		} else {
			line->len--;	/* reopen the object */
		}
		if (o->meta) {
			json_sep(line);
			put_meta(line, ev, c);
		} else {
			json_key(line, "_eh");
			buf_addc(line, '{');
			json_key(line, "partition");
			json_put_int(line, it->info.partition);
			buf_addc(line, '}');
		}
		buf_addc(line, '}');
	}
	buf_addc(line, '\n');
	return 0;
}

struct totals {
	long files, records, skipped_bodies;
	long unreadable;	/* paths and files that could not be read at all */
	int64_t bytes;
	bool stop;		/* Blob Storage failed: read no more */
};

/* A temporary file a blob is downloaded into, and how the download went:
 * removed at once, so nothing is left behind, and read through /dev/fd. */
struct spool {
	FILE *f;
	char path[32];
	int rc;
	long status;
	char *etag;
	struct err err;
};

/* As many spools as downloads in flight (--parallel). */
struct pool {
	struct spool *v;
	int n;
};

static int
spool_open(struct spool *sp, struct err *e)
{
	const char *dir = getenv("TMPDIR");
	struct buf tmpl = { 0 };
	int fd;

	if (sp->f)
		return 0;
	buf_printf(&tmpl, "%s/csa-capture-read.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(tmpl.p);
	if (fd >= 0)
		unlink(tmpl.p);
	if (fd < 0 || (sp->f = fdopen(fd, "w+")) == NULL) {
		err_set(e, ERR_IO, "%s: %s", tmpl.p, strerror(errno));
		if (fd >= 0)
			close(fd);
		buf_free(&tmpl);
		return -1;
	}
	buf_free(&tmpl);
	snprintf(sp->path, sizeof(sp->path), "/dev/fd/%d", fd);
	return 0;
}

static void
pool_free(struct pool *pool)
{
	for (int i = 0; i < pool->n; i++) {
		if (pool->v[i].f)
			fclose(pool->v[i].f);
		free(pool->v[i].etag);
	}
	free(pool->v);
}

/*
 * Download the blob of input i and the next wanted blobs of its container,
 * up to --parallel of them, side by side: a container of many small
 * files is not bound by the latency of each request.  A blob of another
 * container ends the batch, so that spools in use are never taken.
 */
static void
prefetch(struct inputs *in, size_t i, const struct options *o, struct strmap *done,
    struct pool *pool)
{
	const struct remote *r = in->v[i].remote;
	struct blob_get_req *reqs = xcalloc((size_t)pool->n, sizeof(*reqs));
	int *slot_of = xcalloc((size_t)pool->n, sizeof(int));
	int n = 0, k = 0;

	for (size_t j = i; j < in->n && n < pool->n; j++) {
		struct input *x = &in->v[j];
		struct spool *sp = &pool->v[n];

		if (j > i && passed_over(in, j, o, done))
			continue;
		if (x->remote != r)
			break;
		x->slot = n++;
		free(sp->etag);
		sp->etag = NULL;
		sp->status = 0;
		err_clear(&sp->err);
		if ((sp->rc = spool_open(sp, &sp->err)) < 0)
			continue;
		reqs[k].name = x->name;
		reqs[k].sink = sp->f;
		slot_of[k++] = x->slot;
	}
	blob_get_many(&r->loc, &o->cred, reqs, (size_t)k, &o->http);
	for (int q = 0; q < k; q++) {
		struct spool *sp = &pool->v[slot_of[q]];

		sp->rc = reqs[q].rc;
		sp->status = reqs[q].status;
		sp->err = reqs[q].err;
		sp->etag = reqs[q].etag;
		if (sp->rc == 0 && fflush(sp->f) != 0)
			sp->rc = err_set(&sp->err, ERR_IO, "%s: %s", sp->path, strerror(errno));
	}
	free(reqs);
	free(slot_of);
}

/*
 * The spool a blob was downloaded into, or NULL after reporting why it
 * could not be.  A fault of the server (or the network) other than a
 * blob gone since it was listed stops the run: the next blobs would meet
 * it too.  The ETag is that of what was read.
 */
static struct spool *
take_blob(struct input *it, struct pool *pool, struct totals *t, int *status)
{
	struct spool *sp = &pool->v[it->slot];

	it->slot = -1;
	if (sp->rc < 0) {
		msg_error(&sp->err);
		if (sp->status != 404)
			t->stop = true;
		*status = msg_status(sp->err.kind);
		return NULL;
	}
	if (sp->etag) {
		free(it->etag);
		it->etag = sp->etag;
		sp->etag = NULL;
	}
	it->size = ftello(sp->f);
	return sp;
}

/* Read one file, past its first skip records; returns its status, and in
 * *records how many it holds. */
static int
read_file(struct input *it, const struct options *o, struct totals *t,
    struct checker *c, struct buf *line, long skip, int64_t *records, struct pool *pool)
{
	struct capture_reader *r;
	struct capture_event ev;
	struct err e;
	struct msg_bad bad = { 0 };	/* a file's own first ten */
	long skipped = 0;
	int rc, status = EXIT_OK;

	if (it->remote) {
		struct spool *sp = take_blob(it, pool, t, &status);

		if (sp == NULL)
			return status;
		r = capture_reader_open_as(sp->path, it->path, &e);
	} else {
		r = capture_reader_open(it->path, &e);
	}
	if (r == NULL) {
		msg_error(&e);
		if (e.kind == ERR_IO)
			t->unreadable++;
		return EXIT_DATA;
	}
	meta_start(c, it);
	c->tail_len = (size_t)snprintf(c->tail, sizeof(c->tail), ",\"_eh\":{\"partition\":%d}}\n",
	    it->info.partition);
	while ((rc = capture_reader_next(r, &ev, o->meta || o->have_since || o->have_until, &e)) > 0) {
		if (capture_reader_count(r) <= skip)
			continue;
		if ((o->have_since && ev.enqueued_ms < o->since) ||
		    (o->have_until && ev.enqueued_ms >= o->until))
			continue;
		if (write_plain(&ev, it, o, c)) {
			t->records++;
			out_line_done(c, o);
			continue;
		}
		if (format_event(&ev, it, o, c, line) < 0) {
			if (ev.body != NULL) {
				char where[4200];

				snprintf(where, sizeof(where), "%s: record %ld (sequence number %lld)",
				    it->path, capture_reader_count(r), (long long)ev.seq);
				msg_bad_at(&bad, BAD_JSON, where, "body is not JSON");
				skipped++;
			}
			status = EXIT_DATA;
			continue;
		}
		buf_add(&c->out, line->p, line->len);
		t->records++;
		out_line_done(c, o);
	}
	out_flush(c);
	msg_bad_summary(&bad, "body", "bodies");
	t->skipped_bodies += skipped;
	if (rc < 0) {
		/* What came before the damage stays written; say how much. */
		msg_warn("%s; the %ld records before it were written", e.msg, capture_reader_count(r));
		status = EXIT_DATA;
	}
	msg_verbose("%s: %ld records", it->path, capture_reader_count(r));
	*records = capture_reader_count(r);
	capture_reader_close(r);
	t->files++;
	t->bytes += it->size;
	return status;
}

/* The progress line: files and records done, the bytes' share of all. */
static void
show_progress(struct progress *pg, bool last, const struct totals *t, const struct inputs *in,
    int64_t all_bytes)
{
	double secs = progress_secs(pg);

	progress_say(pg, last, (double)t->bytes, (double)all_bytes,
	    "%ld/%zu files, %ld records, %.1f MB/s", t->files, in->n, t->records,
	    secs > 0 ? (double)t->bytes / 1e6 / secs : 0.0);
}

/*
 * --metrics: the totals so far, and the newest Capture window read whole
 * (a file's name is its window's start: the batch layer's freshness).
 */
static void
count_totals(const struct totals *t, int64_t newest)
{
	metric_set(metric_get("csa_files_total", NULL), (double)t->files);
	metric_set(metric_get("csa_events_in_total", NULL),
	    (double)(t->records + t->skipped_bodies));
	metric_set(metric_get("csa_events_out_total", NULL), (double)t->records);
	metric_set(metric_get("csa_bytes_in_total", NULL), (double)t->bytes);
	if (newest != INT64_MIN)
		metric_set(metric_get("csa_view_high_water_seconds", NULL), (double)newest / 1000);
	cmd_metrics_run_now();
}

static int
run(const struct options *o)
{
	struct inputs in = { 0 };
	struct strmap done;
	struct totals t = { 0 };
	struct checker c;
	struct buf line = { 0 };
	struct pool pool = { 0 };
	struct progress pg;
	int64_t all_bytes = 0, newest = INT64_MIN;
	int status;

	cmd_metrics_run_start();
	status = load_checkpoint(o->checkpoint, &done);

	if (status == EXIT_IO)
		return status;
	collect(o, &in);
	status = msg_worst(status, in.list_status);
	if (in.n > 0)
		qsort(in.v, in.n, sizeof(*in.v), cmp_input);
	link_partitions(&in);
	json_doc_init(&c.doc);
	memset(&c.tmp, 0, sizeof(c.tmp));
	memset(&c.file, 0, sizeof(c.file));
	memset(&c.meta, 0, sizeof(c.meta));
	memset(&c.time, 0, sizeof(c.time));
	memset(&c.out, 0, sizeof(c.out));
	c.checked = false;
	/* Bodies come with their padding (capture.h): simdjson reads them
	 * where they are. */
	if ((c.fast = json_fast_new()) != NULL)
		json_fast_padded_input(c.fast);
	/* A few files go by too fast for a progress line. */
	progress_init(&pg);
	pg.on = pg.on && in.n >= 10;
	for (size_t i = 0; i < in.n; i++)
		all_bytes += in.v[i].size;
	pool.n = o->parallel;
	pool.v = xcalloc((size_t)pool.n, sizeof(*pool.v));
	for (size_t i = 0; i < in.n; i++) {
		struct input *it = &in.v[i];
		struct strmap_entry *en = strmap_get(&done, it->path, strlen(it->path));
		int64_t skip = 0, records = 0;
		int st;

		if (passed_over(&in, i, o, &done))
			continue;
		/*
		 * A file written again since it was read: the embedded hub
		 * rewrites a window's file, with the same records first, when
		 * a crash kept it from recording the first one.  Read what was
		 * added; without a count (an older checkpoint), say so.  A blob
		 * with a new ETag (uploaded again) is taken the same way.
		 */
		if (en && (en->p == NULL || ((struct seen *)en->p)->records < 0)) {
			msg_warn("%s: changed since it was read (by --checkpoint); not read again",
			    it->path);
			status = msg_worst(status, EXIT_DATA);
			continue;
		}
		if (en) {
			skip = ((struct seen *)en->p)->records;
			msg_warn("%s: changed since it was read (by --checkpoint); reading the records"
			    " after the %lld read before", it->path, (long long)skip);
		}
		if (it->remote && it->slot < 0)
			prefetch(&in, i, o, &done, &pool);
		st = read_file(it, o, &t, &c, &line, skip, &records, &pool);
		status = msg_worst(status, st);
		if (st == EXIT_OK && it->info.time_ms >= 0 && it->info.time_ms > newest)
			newest = it->info.time_ms;
		if (cmd_metrics_due()) {
			count_totals(&t, newest);
			cmd_metrics_write();
		}
		if (st == EXIT_OK && o->checkpoint) {
			struct strmap_entry *n = strmap_put(&done, it->path, strlen(it->path), NULL);

			n->a = it->size;
			n->b = it->mtime;
			set_records(n, records);
			set_etag(n, it->remote ? it->etag : NULL);
		}
		show_progress(&pg, false, &t, &in, all_bytes);
		if (ferror(stdout) || t.stop)
			break;
	}
	if (pg.shown)
		show_progress(&pg, true, &t, &in, all_bytes);
	progress_end(&pg);
	/* What could not be read: a local failure when nothing could, else a
	 * data error like any bad input. */
	t.unreadable += in.unreadable;
	if (t.unreadable > 0)
		status = msg_worst(status, t.files == 0 ? EXIT_IO : EXIT_DATA);
	/* The checkpoint vouches for what went out: written, and on disk
	 * when it went to a file. */
	if (o->checkpoint && fflush(stdout) == 0 && !ferror(stdout)) {
		if (fs_sync_if_file(STDOUT_FILENO) < 0) {
			msg_warn("write error: %s", strerror(errno));
			status = msg_worst(status, EXIT_IO);
		} else {
			status = msg_worst(status, save_checkpoint(o, &done));
		}
	}
	msg_verbose("%ld files, %ld records", t.files, t.records);
	count_totals(&t, newest);
	for (size_t i = 0; i < in.n; i++) {
		free(in.v[i].path);
		free(in.v[i].name);
		free(in.v[i].etag);
	}
	free(in.v);
	pool_free(&pool);
	free_done(&done);
	json_doc_free(&c.doc);
	buf_free(&c.tmp);
	buf_free(&c.file);
	buf_free(&c.meta);
	buf_free(&c.time);
	buf_free(&c.out);
	json_fast_free(c.fast);
	buf_free(&line);
	return status;
}

/* What parse_options took. */
static void
options_free(struct options *o)
{
	for (int i = 0; i < o->nremotes; i++)
		blob_loc_free(&o->remotes[i].loc);
	free(o->remotes);
	blob_cred_free(&o->cred);
	capture_pathfmt_free(o->fmt);
	free(o->hub_capture);
	http_cleanup();
}

/* main: the options, run, and the exit status (cmd.h). */
CMD_MAIN(CMD_OWN_STDOUT)
