/* capture.c: Capture schema, paths, and a writer whose values avro-c encodes. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avro.h>
#include <regex.h>

#include "capture.h"
#include "json.h"
#include "timefmt.h"

const char capture_schema_json[] =
    "{\"type\":\"record\",\"name\":\"EventData\",\"namespace\":\"Microsoft.ServiceBus.Messaging\","
    "\"fields\":[{\"name\":\"SequenceNumber\",\"type\":\"long\"},"
    "{\"name\":\"Offset\",\"type\":\"string\"},"
    "{\"name\":\"EnqueuedTimeUtc\",\"type\":\"string\"},"
    "{\"name\":\"SystemProperties\",\"type\":{\"type\":\"map\",\"values\":[\"long\",\"double\",\"string\",\"bytes\"]}},"
    "{\"name\":\"Properties\",\"type\":{\"type\":\"map\",\"values\":[\"long\",\"double\",\"string\",\"bytes\",\"null\"]}},"
    "{\"name\":\"Body\",\"type\":[\"null\",\"bytes\"]}]}";

/* Blocks are written once they hold this much. */
#define BLOCK_BYTES (256 * 1024)

enum { BR_LONG = 0, BR_DOUBLE, BR_STRING, BR_BYTES };	/* SystemProperties union */

struct capture_writer {
	char *path;
	int fd;
	avro_schema_t schema, long_schema;
	avro_value_iface_t *iface, *long_iface;
	avro_value_t rec, num;
	struct buf block;	/* encoded records of the open block */
	long count;		/* records in the open block */
	char sync[16];
	struct buf scratch;	/* NUL-terminated copies for avro-c's setters */
};

void
capture_format_enqueued(int64_t ms, char out[32])
{
	int64_t days = ms / 86400000, rem = ms % 86400000, y;
	unsigned mo, d, h, h12;

	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	tfmt_civil_from_days(days, &y, &mo, &d);
	h = (unsigned)(rem / 3600000);
	h12 = h % 12 ? h % 12 : 12;
	snprintf(out, 32, "%u/%u/%lld %u:%02u:%02u %s", mo, d, (long long)y, h12,
	    (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60), h < 12 ? "AM" : "PM");
}

static int
placeholder(const char *name, size_t n, const char *ns, const char *eventhub,
    int partition, int64_t start_ms, struct buf *out)
{
	int64_t days = start_ms / 86400000, rem = start_ms % 86400000, y;
	unsigned mo, d;

	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	tfmt_civil_from_days(days, &y, &mo, &d);
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
	if (IS("Namespace"))
		buf_adds(out, ns);
	else if (IS("EventHub"))
		buf_adds(out, eventhub);
	else if (IS("PartitionId"))
		buf_printf(out, "%d", partition);
	else if (IS("Year"))
		buf_printf(out, "%04lld", (long long)y);
	else if (IS("Month"))
		buf_printf(out, "%02u", mo);
	else if (IS("Day"))
		buf_printf(out, "%02u", d);
	else if (IS("Hour"))
		buf_printf(out, "%02u", (unsigned)(rem / 3600000));
	else if (IS("Minute"))
		buf_printf(out, "%02u", (unsigned)(rem / 60000 % 60));
	else if (IS("Second"))
		buf_printf(out, "%02u", (unsigned)(rem / 1000 % 60));
	else
		return -1;
#undef IS
	return 0;
}

int
capture_path(const char *fmt, const char *ns, const char *eventhub, int partition,
    int64_t start_ms, struct buf *out, struct err *e)
{
	const char *p = fmt;

	buf_reset(out);
	while (*p) {
		const char *open = strchr(p, '{'), *close;

		if (open == NULL) {
			buf_adds(out, p);
			break;
		}
		buf_add(out, p, (size_t)(open - p));
		close = strchr(open, '}');
		if (close == NULL ||
		    placeholder(open + 1, (size_t)(close - open - 1), ns, eventhub,
		    partition, start_ms, out) < 0)
			return err_set(e, ERR_USAGE, "capture format '%s': unknown placeholder at '%s'",
			    fmt, open);
		p = close + 1;
	}
	buf_adds(out, ".avro");
	/* Nothing may lead out of capture/: no "/" first, no ".." segment
	 * ("v1..2" is a name, not a way up). */
	for (const char *s = out->p; *out->p != '/'; s++) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			break;
		s += n;
		if (*s == '\0')
			return 0;
	}
	return err_set(e, ERR_USAGE, "capture format '%s': the path must stay inside capture/",
	    fmt);
}

int
capture_check_format(const char *fmt, struct err *e)
{
	struct buf b = { 0 };
	int rc = capture_path(fmt, "ns", "hub", 0, 0, &b, e);

	buf_free(&b);
	return rc;
}

static int
avro_fail(struct err *e, const char *path, const char *what)
{
	return err_set(e, ERR_IO, "%s: %s: %s", path, what, avro_strerror());
}

static int
write_all(struct capture_writer *w, const void *p, size_t n, struct err *e)
{
	const char *s = p;

	while (n > 0) {
		ssize_t k = write(w->fd, s, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_set(e, ERR_IO, "%s: %s", w->path, strerror(errno));
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Append the avro-c encoding of value v to b. */
static int
encode(struct buf *b, avro_value_t *v)
{
	size_t size;
	avro_writer_t mw;
	int rc;

	if (avro_value_sizeof(v, &size) != 0)
		return -1;
	buf_reserve(b, size);
	mw = avro_writer_memory(b->p + b->len, (int64_t)size);
	rc = avro_value_write(mw, v);
	avro_writer_free(mw);
	if (rc == 0)
		b->len += size;
	return rc;
}

/* An Avro long, encoded by avro-c, appended to b. */
static int
encode_long(struct capture_writer *w, struct buf *b, int64_t x)
{
	avro_value_set_long(&w->num, x);
	return encode(b, &w->num);
}

static int
write_header(struct capture_writer *w, struct err *e)
{
	avro_schema_t meta_schema = avro_schema_map(avro_schema_bytes());
	avro_value_iface_t *iface = avro_generic_class_from_schema(meta_schema);
	avro_value_t meta, item;
	struct buf b = { 0 };
	int rc = -1;

	if (iface == NULL || avro_generic_value_new(iface, &meta) != 0) {
		avro_fail(e, w->path, "avro metadata");
		goto out;
	}
	buf_add(&b, "Obj\x01", 4);
	if (avro_value_add(&meta, "avro.codec", &item, NULL, NULL) != 0 ||
	    avro_value_set_bytes(&item, (void *)"null", 4) != 0 ||
	    avro_value_add(&meta, "avro.schema", &item, NULL, NULL) != 0 ||
	    avro_value_set_bytes(&item, (void *)capture_schema_json,
	    sizeof(capture_schema_json) - 1) != 0 ||
	    encode(&b, &meta) != 0) {
		avro_fail(e, w->path, "avro metadata");
		avro_value_decref(&meta);
		goto out;
	}
	avro_value_decref(&meta);
	buf_add(&b, w->sync, sizeof(w->sync));
	rc = write_all(w, b.p, b.len, e);
out:
	buf_free(&b);
	if (iface)
		avro_value_iface_decref(iface);
	avro_schema_decref(meta_schema);
	return rc;
}

struct capture_writer *
capture_writer_open(const char *path, struct err *e)
{
	struct capture_writer *w = xcalloc(1, sizeof(*w));
	avro_schema_error_t serr;

	w->path = xstrdup(path);
	w->fd = -1;
	if (avro_schema_from_json(capture_schema_json, sizeof(capture_schema_json) - 1,
	    &w->schema, &serr) != 0) {
		avro_fail(e, path, "capture schema");
		goto fail;
	}
	w->long_schema = avro_schema_long();
	w->iface = avro_generic_class_from_schema(w->schema);
	w->long_iface = avro_generic_class_from_schema(w->long_schema);
	if (w->iface == NULL || w->long_iface == NULL ||
	    avro_generic_value_new(w->iface, &w->rec) != 0 ||
	    avro_generic_value_new(w->long_iface, &w->num) != 0) {
		avro_fail(e, path, "avro values");
		goto fail;
	}
	if (getrandom(w->sync, sizeof(w->sync), 0) != (ssize_t)sizeof(w->sync)) {
		/* The sync marker need only be unlikely to occur in the data. */
		for (size_t i = 0; i < sizeof(w->sync); i++)
			w->sync[i] = (char)(rand() & 0xff);
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (write_header(w, e) < 0)
		goto fail;
	return w;
fail:
	capture_writer_abort(w);
	return NULL;
}

static int
flush_block(struct capture_writer *w, struct err *e)
{
	struct buf head = { 0 };
	int rc;

	if (w->count == 0)
		return 0;
	if (encode_long(w, &head, w->count) != 0 ||
	    encode_long(w, &head, (int64_t)w->block.len) != 0) {
		buf_free(&head);
		return avro_fail(e, w->path, "avro block");
	}
	rc = write_all(w, head.p, head.len, e);
	if (rc == 0)
		rc = write_all(w, w->block.p, w->block.len, e);
	if (rc == 0)
		rc = write_all(w, w->sync, sizeof(w->sync), e);
	buf_free(&head);
	buf_reset(&w->block);
	w->count = 0;
	return rc;
}

/* avro-c's string setter wants a NUL-terminated string. */
static const char *
cstr(struct capture_writer *w, const char *s, size_t n)
{
	buf_reset(&w->scratch);
	buf_add(&w->scratch, s, n);
	return w->scratch.p;
}

int
capture_writer_add(struct capture_writer *w, const struct capture_record *r,
    struct err *e)
{
	avro_value_t f, item, br;
	char text[32];

	avro_value_reset(&w->rec);
	avro_value_get_by_index(&w->rec, 0, &f, NULL);
	avro_value_set_long(&f, r->seq);
	avro_value_get_by_index(&w->rec, 1, &f, NULL);
	snprintf(text, sizeof(text), "%lld", (long long)r->offset);
	avro_value_set_string(&f, text);
	avro_value_get_by_index(&w->rec, 2, &f, NULL);
	capture_format_enqueued(r->enqueued_ms, text);
	avro_value_set_string(&f, text);

	avro_value_get_by_index(&w->rec, 3, &f, NULL);
	avro_value_add(&f, "x-opt-sequence-number", &item, NULL, NULL);
	avro_value_set_branch(&item, BR_LONG, &br);
	avro_value_set_long(&br, r->seq);
	avro_value_add(&f, "x-opt-offset", &item, NULL, NULL);
	avro_value_set_branch(&item, BR_STRING, &br);
	snprintf(text, sizeof(text), "%lld", (long long)r->offset);
	avro_value_set_string(&br, text);
	avro_value_add(&f, "x-opt-enqueued-time", &item, NULL, NULL);
	avro_value_set_branch(&item, BR_LONG, &br);
	avro_value_set_long(&br, r->enqueued_ms);
	if (r->key) {
		avro_value_add(&f, "x-opt-partition-key", &item, NULL, NULL);
		avro_value_set_branch(&item, BR_STRING, &br);
		avro_value_set_string(&br, cstr(w, r->key, r->keylen));
	}
	/* Properties stay an empty map: the hub carries no user properties. */
	avro_value_get_by_index(&w->rec, 5, &f, NULL);
	avro_value_set_branch(&f, 1, &br);
	avro_value_set_bytes(&br, (void *)r->body, r->len);
	if (encode(&w->block, &w->rec) != 0)
		return avro_fail(e, w->path, "avro record");
	w->count++;
	if (w->block.len >= BLOCK_BYTES)
		return flush_block(w, e);
	return 0;
}

static void
writer_free(struct capture_writer *w)
{
	if (w->iface) {
		avro_value_decref(&w->rec);
		avro_value_iface_decref(w->iface);
	}
	if (w->long_iface) {
		avro_value_decref(&w->num);
		avro_value_iface_decref(w->long_iface);
	}
	if (w->schema)
		avro_schema_decref(w->schema);
	if (w->long_schema)
		avro_schema_decref(w->long_schema);
	buf_free(&w->block);
	buf_free(&w->scratch);
	free(w->path);
	free(w);
}

int
capture_writer_close(struct capture_writer *w, struct err *e)
{
	int rc = flush_block(w, e);

	if (rc == 0 && fsync(w->fd) != 0)
		rc = err_set(e, ERR_IO, "%s: %s", w->path, strerror(errno));
	if (close(w->fd) != 0 && rc == 0)
		rc = err_set(e, ERR_IO, "%s: %s", w->path, strerror(errno));
	w->fd = -1;
	if (rc < 0)
		unlink(w->path);
	writer_free(w);
	return rc;
}

void
capture_writer_abort(struct capture_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->path);
	}
	writer_free(w);
}

/* Reading. */

/*
 * Without the property maps, records are read through avro-c's schema
 * resolution into this projection, which skips the maps instead of
 * building them (a hash table and allocations per record).
 */
static const char projection_json[] =
    "{\"type\":\"record\",\"name\":\"EventData\",\"namespace\":\"Microsoft.ServiceBus.Messaging\","
    "\"fields\":[{\"name\":\"SequenceNumber\",\"type\":\"long\"},"
    "{\"name\":\"Offset\",\"type\":\"string\"},"
    "{\"name\":\"EnqueuedTimeUtc\",\"type\":\"string\"},"
    "{\"name\":\"Body\",\"type\":[\"null\",\"bytes\"]}]}";

/* Fields of the Capture record, by what the fast path does with them. */
enum cap_field { CF_SEQ, CF_OFFSET, CF_ENQUEUED, CF_SYS, CF_PROPS, CF_BODY, CF_OTHER };

#define KEYS_KEPT 16

/*
 * A union (Body, the values of a property map) as the fast path reads
 * it, or a map's values that are not a union (one branch): per branch,
 * its schema and, for numbers and booleans, a value of that schema that
 * avro-c reads into.  Strings and bytes are read into buffers of ours
 * (their length, then the bytes, both through avro-c's reader) instead
 * of into values that allocate a copy of each.
 */
struct branches {
	bool is_union;
	size_t n;
	avro_schema_t *schema;		/* borrowed from the writer's schema */
	avro_type_t *type;
	avro_value_iface_t **iface;	/* NULL but for numbers and booleans */
	avro_value_t *val;
	/*
	 * A map's first keys as read last, and as JSON ("key":), by place:
	 * record after record brings the same keys in the same order, and
	 * escaping each again was a tenth of --meta's time.
	 */
	struct buf key[KEYS_KEPT], key_json[KEYS_KEPT];
};

/* An entry of a property map being read: spans of the reader's mtext,
 * the key's as JSON ("key":). */
struct mentry {
	size_t key, klen, val, vlen;
	bool is_long;		/* the value is a long: x */
	int64_t x;
};

struct capture_reader {
	char *path;
	/*
	 * The fast path, for files of codec null (the Capture files Azure
	 * and the hub write): the container's blocks are read whole, and
	 * each field is decoded through avro-c's reader, or skipped
	 * (avro_skip_data) when not wanted.  Longs and numbers are read by
	 * avro-c into values of their schema (avro_value_read); a string or
	 * bytes is its length so read, then the bytes (avro_read) into a
	 * buffer of ours; the property maps go straight to JSON, entry by
	 * entry (next_map), without avro-c's generic maps, which allocated
	 * for every key and string and took most of --meta's time.  The
	 * generic path below (avro_file_reader, whole generic records) takes
	 * other codecs.
	 */
	bool fast;
	int fd;
	int64_t fsize, pos;	/* the file's size; where the next block starts */
	avro_reader_t blk;	/* the block (or a header's long) in memory */
	char sync[16];
	bool bad_sync;		/* the block read last ends without it */
	char *block;
	size_t bcap;
	int64_t left;		/* records of the block not yet read */
	avro_schema_t long_schema;
	avro_value_iface_t *long_iface;
	avro_value_t num;
	bool have_num;
	int64_t bsize;		/* the block's size: no string in it is longer */
	size_t nfields;
	enum cap_field *fields;
	avro_schema_t *fschema;	/* each field's schema (the writer's, borrowed) */
	struct branches *br;	/* for Body and the property maps */
	struct buf offset, enqueued, body, str;
	struct buf mtext;	/* a property map's keys and values as JSON */
	struct mentry *ment;
	size_t ment_cap;
	/* the generic path */
	avro_file_reader_t file;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t rec;
	bool have_rec;
	/* the projection: decoded into lean through the resolver */
	avro_schema_t lean_schema;
	avro_value_iface_t *lean_iface, *resolver;
	avro_value_t lean, resolved;
	bool have_lean;
	long count;
	struct buf sys, props;
};

/* True when the schema is Capture's record, whatever its Properties union. */
static bool
is_capture_schema(avro_schema_t s)
{
	static const char *const fields[] = { "SequenceNumber", "Offset", "EnqueuedTimeUtc",
		"SystemProperties", "Properties", "Body" };

	if (!is_avro_record(s) || strcmp(avro_schema_name(s), "EventData") != 0)
		return false;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (avro_schema_get_subschema(s, fields[i]) == NULL)
			return false;
	return true;
}

/* A copy of n bytes, NUL-terminated, with CAPTURE_PADDING bytes after it. */
static const char *
keep(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	buf_reserve(b, n + CAPTURE_PADDING);
	memcpy(b->p, p, n);
	memset(b->p + n, 0, CAPTURE_PADDING);
	b->len = n;
	return b->p;
}

/*
 * Whether s is exactly the Capture record, field by field, as the fast
 * path decodes it; a file of another shape takes the generic path.
 */
static bool
fast_fields(struct capture_reader *r, avro_schema_t s)
{
	static const struct {
		const char *name;
		avro_type_t type;
		enum cap_field f;
	} want[] = {
		{ "SequenceNumber", AVRO_INT64, CF_SEQ }, { "Offset", AVRO_STRING, CF_OFFSET },
		{ "EnqueuedTimeUtc", AVRO_STRING, CF_ENQUEUED }, { "SystemProperties", AVRO_MAP, CF_SYS },
		{ "Properties", AVRO_MAP, CF_PROPS }, { "Body", AVRO_UNION, CF_BODY },
	};
	size_t n = avro_schema_record_size(s), seen = 0;

	r->fields = xcalloc(n, sizeof(*r->fields));
	for (size_t i = 0; i < n; i++) {
		const char *name = avro_schema_record_field_name(s, (int)i);
		avro_schema_t fs = avro_schema_record_field_get_by_index(s, (int)i);
		size_t k;

		r->fields[i] = CF_OTHER;
		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			if (strcmp(name, want[k].name) == 0)
				break;
		if (k == sizeof(want) / sizeof(want[0]))
			continue;
		if (avro_typeof(fs) != want[k].type)
			return false;
		r->fields[i] = want[k].f;
		seen++;
	}
	return seen == sizeof(want) / sizeof(want[0]);
}

/*
 * One Avro long at p (at most end - p bytes), decoded by avro-c; *used
 * is the length of its encoding.  -1 when it is not there whole.
 */
static int
read_long(struct capture_reader *r, const char *p, const char *end, int64_t *v, size_t *used)
{
	avro_reader_memory_set_source(r->blk, p, end - p);
	if (end <= p || avro_value_read(r->blk, &r->num) != 0 ||
	    avro_value_get_long(&r->num, v) != 0 || avro_value_sizeof(&r->num, used) != 0 ||
	    *used > (size_t)(end - p))
		return -1;
	return 0;
}

/* Capture's header is near 1 KiB (the schema); a longer one than this
 * takes the generic path. */
#define HEADER_MAX (64 << 10)

/*
 * Open the fast path on fd: walk the header (magic, the metadata map of
 * bytes, the sync marker) to where the blocks start.  0, or -1 when the
 * file is to take the generic path (a codec other than null, a header
 * it does not follow); damage there is avro_file_reader's to report.
 */
static int
fast_open(struct capture_reader *r, int fd)
{
	struct stat st;
	char *h;
	const char *p, *end;
	ssize_t got;
	bool null_codec = true;
	int64_t n, len;
	size_t used;

	if (fstat(fd, &st) != 0)
		return -1;
	r->fsize = st.st_size;
	h = xmalloc(HEADER_MAX);
	got = pread(fd, h, st.st_size < HEADER_MAX ? (size_t)st.st_size : HEADER_MAX, 0);
	if (got < 4 + 1 + 16 || memcmp(h, "Obj\x01", 4) != 0)
		goto fail;
	p = h + 4;
	end = h + got;
	/* The metadata: blocks of entries; a negative count has a size after it. */
	for (;;) {
		if (read_long(r, p, end, &n, &used) < 0)
			goto fail;
		p += used;
		if (n == 0)
			break;
		if (n < 0) {
			if (read_long(r, p, end, &len, &used) < 0)
				goto fail;
			p += used;
			n = -n;
		}
		for (int64_t i = 0; i < n; i++) {
			const char *key;
			int64_t klen;

			if (read_long(r, p, end, &klen, &used) < 0 || klen < 0 ||
			    klen > end - p - (int64_t)used)
				goto fail;
			key = p + used;
			p = key + klen;
			if (read_long(r, p, end, &len, &used) < 0 || len < 0 ||
			    len > end - p - (int64_t)used)
				goto fail;
			if (klen == 10 && memcmp(key, "avro.codec", 10) == 0)
				null_codec = len == 4 && memcmp(p + used, "null", 4) == 0;
			p += used + len;
		}
	}
	if (!null_codec || end - p < 16)
		goto fail;
	memcpy(r->sync, p, 16);
	r->pos = p + 16 - h;
	r->fd = fd;
	free(h);
	return 0;
fail:
	free(h);
	return -1;
}

/*
 * The next block into r->block: 1, 0 at the end of the file, -1 with
 * ERR_DATA when it is cut short or its sync marker is wrong.
 */
static int
fast_block(struct capture_reader *r, struct err *e)
{
	char head[32];
	int64_t count, size;
	size_t used, used2;
	ssize_t got;

	/* The records of a block before its marker count, as for avro-c. */
	if (r->bad_sync)
		return err_set(e, ERR_DATA, "%s: damaged after %ld record%s: a block without the "
		    "file's sync marker", r->path, r->count, r->count == 1 ? "" : "s");
	if (r->pos >= r->fsize)
		return 0;
	got = pread(r->fd, head, sizeof(head), r->pos);
	if (got < 0)
		return err_set(e, ERR_DATA, "%s: %s", r->path, strerror(errno));
	if (read_long(r, head, head + got, &count, &used) < 0 ||
	    read_long(r, head + used, head + got, &size, &used2) < 0 ||
	    count < 0 || size < 0 || count > size || size > r->fsize - r->pos)
		return err_set(e, ERR_DATA, "%s: damaged after %ld record%s: a block header that "
		    "does not hold", r->path, r->count, r->count == 1 ? "" : "s");
	if ((size_t)size + 16 + CAPTURE_PADDING > r->bcap) {
		/* Doubling: blocks differ by a few bytes, and a buffer grown
		 * to fit each would be new pages (faults) every block. */
		r->bcap = r->bcap * 2 > (size_t)size + 16 + CAPTURE_PADDING ? r->bcap * 2 :
		    (size_t)size + 16 + CAPTURE_PADDING;
		r->block = xrealloc(r->block, r->bcap);
	}
	r->pos += (int64_t)(used + used2);
	got = pread(r->fd, r->block, (size_t)size + 16, r->pos);
	if (got != size + 16)
		return err_set(e, ERR_DATA, "%s: damaged after %ld record%s: cut short in a block",
		    r->path, r->count, r->count == 1 ? "" : "s");
	r->bad_sync = memcmp(r->block + size, r->sync, 16) != 0;
	r->pos += size + 16;
	avro_reader_memory_set_source(r->blk, r->block, size);
	r->bsize = size;
	r->left = count;
	return 1;
}

static void put_plain(struct buf *b, avro_value_t *v, bool *is_long, int64_t *x);
static void map_json(avro_value_t *map, struct buf *b, int64_t *enqueued);

/* The next long of the block, decoded by avro-c. */
static int
next_long(struct capture_reader *r, int64_t *v)
{
	if (avro_value_read(r->blk, &r->num) != 0 || avro_value_get_long(&r->num, v) != 0)
		return -1;
	return 0;
}

/*
 * The next string or bytes of the block into b: its length, then the
 * bytes, NUL-terminated with CAPTURE_PADDING after them.  A length past
 * the block's size is damage, not something to allocate.
 */
static int
next_bytes(struct capture_reader *r, struct buf *b)
{
	int64_t len;

	if (next_long(r, &len) < 0)
		return -1;
	if (len < 0 || len > r->bsize) {
		avro_set_error("a length of %lld bytes in a block of %lld", (long long)len,
		    (long long)r->bsize);
		return -1;
	}
	buf_reset(b);
	buf_reserve(b, (size_t)len + CAPTURE_PADDING);
	if (len > 0 && avro_read(r->blk, b->p, len) != 0)
		return -1;
	memset(b->p + len, 0, CAPTURE_PADDING);
	b->len = (size_t)len;
	return 0;
}

/* Which of br's branches comes next: the union's index; 0 when not a union. */
static int
next_branch(struct capture_reader *r, const struct branches *br, size_t *k)
{
	int64_t i = 0;

	if (br->is_union && next_long(r, &i) < 0)
		return -1;
	if (i < 0 || (uint64_t)i >= br->n) {
		avro_set_error("union branch %lld of %zu", (long long)i, br->n);
		return -1;
	}
	*k = (size_t)i;
	return 0;
}

/* A property map's next value as JSON into b (after its ':'), as map_json
 * writes it. */
static int
next_map_value(struct capture_reader *r, const struct branches *br, struct buf *b,
    struct mentry *m)
{
	size_t k;

	if (next_branch(r, br, &k) < 0)
		return -1;
	switch (br->type[k]) {
	case AVRO_STRING:
	case AVRO_BYTES:
		if (next_bytes(r, &r->str) < 0)
			return -1;
		json_put_str(b, r->str.p, r->str.len);
		return 0;
	case AVRO_INT32:
	case AVRO_INT64:
	case AVRO_DOUBLE:
	case AVRO_BOOLEAN:
		if (avro_value_read(r->blk, &br->val[k]) != 0)
			return -1;
		put_plain(b, &br->val[k], &m->is_long, &m->x);
		return 0;
	default:
		if (avro_skip_data(r->blk, br->schema[k]) != 0)
			return -1;
		json_put_null(b);
		return 0;
	}
}

/*
 * A property map as a JSON object of plain values into b, the same as
 * map_json writes from avro-c's generic map: keys (as C strings) in the
 * order first seen, a key seen again taking the later value in the
 * earlier place.  Its blocks (a count; a negative one has a byte size
 * after it) and each key and value are read through avro-c.  *enqueued
 * gets x-opt-enqueued-time when that is a long, and *found is set.
 */
/*
 * A map's key k (n bytes) as JSON ("key":) at the end of out: the JSON
 * of the key in place i of the record before when it is the same key
 * (the places past KEYS_KEPT share the last).
 */
static void
put_key(struct branches *br, size_t i, struct buf *out, const char *k, size_t n)
{
	size_t at = i < KEYS_KEPT ? i : KEYS_KEPT - 1;
	struct buf *raw = &br->key[at], *json = &br->key_json[at];

	if (json->len == 0 || raw->len != n || memcmp(raw->p, k, n) != 0) {
		buf_reset(raw);
		buf_add(raw, k, n);
		buf_reset(json);
		json_key_str(json, k, n);
	}
	buf_add(out, json->p, json->len);
}

static int
next_map(struct capture_reader *r, struct branches *br, struct buf *b, int64_t *enqueued,
    bool *found)
{
	static const char enq_key[] = "\"x-opt-enqueued-time\":";
	size_t n = 0, place = 0;
	int64_t count, size;
	bool again = false;	/* a key came twice */
	const char *text;	/* where the spans of ment are, at the end */

	/* The entries go to mtext as the object they make, with commas: as
	 * it is, unless a key comes again. */
	buf_reset(&r->mtext);
	buf_addc(&r->mtext, '{');
	for (;;) {
		if (next_long(r, &count) < 0)
			return -1;
		if (count == 0)
			break;
		if (count < 0 && (count == INT64_MIN || next_long(r, &size) < 0))
			return -1;
		if (count < 0)
			count = -count;
		if (count > r->bsize) {	/* each entry takes a byte at least */
			avro_set_error("a map of %lld entries in a block of %lld",
			    (long long)count, (long long)r->bsize);
			return -1;
		}
		for (int64_t i = 0; i < count; i++) {
			struct mentry m = { 0 };
			size_t j;

			if (next_bytes(r, &r->str) < 0)
				return -1;
			if (place > 0)
				buf_addc(&r->mtext, ',');
			/* As for avro-c's generic map, the key is a C string. */
			m.key = r->mtext.len;
			put_key(br, place++, &r->mtext, r->str.p, strlen(r->str.p));
			m.klen = r->mtext.len - m.key;
			m.val = r->mtext.len;
			if (next_map_value(r, br, &r->mtext, &m) < 0)
				return -1;
			m.vlen = r->mtext.len - m.val;
			for (j = 0; j < n; j++)
				if (r->ment[j].klen == m.klen && memcmp(r->mtext.p + r->ment[j].key,
				    r->mtext.p + m.key, m.klen) == 0)
					break;
			if (j == n) {
				if (n == r->ment_cap) {
					r->ment_cap = r->ment_cap ? r->ment_cap * 2 : 8;
					r->ment = xrealloc(r->ment, r->ment_cap * sizeof(*r->ment));
				}
				n++;
			} else {
				m.key = r->ment[j].key;
				again = true;
			}
			r->ment[j] = m;
		}
	}
	text = r->mtext.p;
	if (again) {	/* the entries anew, each key once */
		buf_reset(b);
		buf_addc(b, '{');
		for (size_t j = 0; j < n; j++) {
			const struct mentry *m = &r->ment[j];

			if (j > 0)
				buf_addc(b, ',');
			buf_add(b, r->mtext.p + m->key, m->klen);
			buf_add(b, r->mtext.p + m->val, m->vlen);
		}
		buf_addc(b, '}');
	} else {	/* mtext is the object: b takes it, and gives its memory */
		struct buf t = *b;

		buf_addc(&r->mtext, '}');
		*b = r->mtext;
		r->mtext = t;
		text = b->p;
	}
	for (size_t j = 0; enqueued && j < n; j++) {
		const struct mentry *m = &r->ment[j];

		if (m->is_long && m->klen == sizeof(enq_key) - 1 &&
		    memcmp(text + m->key, enq_key, m->klen) == 0) {
			*enqueued = m->x;
			*found = true;
		}
	}
	return 0;
}

static int
fast_next(struct capture_reader *r, struct capture_event *ev, bool want_props, struct err *e)
{
	int64_t sys_ms = 0;
	bool have_sys_ms = false;
	int rc;

	while (r->left == 0)
		if ((rc = fast_block(r, e)) <= 0)
			return rc;
	memset(ev, 0, sizeof(*ev));
	ev->enqueued_ms = -1;
	ev->offset = ev->enqueued_text = "";	/* unless want_props */
	for (size_t i = 0; i < r->nfields; i++) {
		enum cap_field f = r->fields[i];
		size_t k;

		if (f == CF_OTHER || (!want_props && f != CF_SEQ && f != CF_BODY)) {
			rc = avro_skip_data(r->blk, r->fschema[i]);
		} else if (f == CF_SEQ) {
			rc = next_long(r, &ev->seq);
		} else if (f == CF_OFFSET) {
			rc = next_bytes(r, &r->offset);
			ev->offset = r->offset.p;
		} else if (f == CF_ENQUEUED) {
			rc = next_bytes(r, &r->enqueued);
			ev->enqueued_text = r->enqueued.p;
		} else if (f == CF_SYS) {
			rc = next_map(r, &r->br[i], &r->sys, &sys_ms, &have_sys_ms);
		} else if (f == CF_PROPS) {
			rc = next_map(r, &r->br[i], &r->props, NULL, NULL);
		} else if ((rc = next_branch(r, &r->br[i], &k)) == 0) {	/* the body */
			if (r->br[i].type[k] == AVRO_BYTES) {
				rc = next_bytes(r, &r->body);
				ev->body = r->body.p;
				ev->len = r->body.len;
			} else {
				rc = avro_skip_data(r->blk, r->br[i].schema[k]);
			}
		}
		if (rc != 0)
			return err_set(e, ERR_DATA, "%s: damaged after %ld record%s: %s", r->path,
			    r->count, r->count == 1 ? "" : "s", avro_strerror());
	}
	r->left--;
	if (want_props) {
		struct err te;

		/* x-opt-enqueued-time (ms, in newer files) is finer than the
		 * text, which is then not parsed at all. */
		if (have_sys_ms)
			ev->enqueued_ms = sys_ms;
		else if (tfmt_parse(ev->enqueued_text, r->enqueued.len, &ev->enqueued_ms, &te) < 0)
			ev->enqueued_ms = -1;
		ev->sys_json = r->sys.p;
		ev->props_json = r->props.p;
		ev->sys_len = r->sys.len;
		ev->props_len = r->props.len;
	}
	r->count++;
	return 1;
}

/* br for s, a union or a map's values; false when avro-c cannot make its values. */
static bool
branches_setup(struct branches *br, avro_schema_t s)
{
	br->is_union = is_avro_union(s);
	br->n = br->is_union ? avro_schema_union_size(s) : 1;
	br->schema = xcalloc(br->n, sizeof(*br->schema));
	br->type = xcalloc(br->n, sizeof(*br->type));
	br->iface = xcalloc(br->n, sizeof(*br->iface));
	br->val = xcalloc(br->n, sizeof(*br->val));
	for (size_t k = 0; k < br->n; k++) {
		br->schema[k] = br->is_union ? avro_schema_union_branch(s, (int)k) : s;
		br->type[k] = avro_typeof(br->schema[k]);
		if (br->type[k] != AVRO_INT32 && br->type[k] != AVRO_INT64 &&
		    br->type[k] != AVRO_DOUBLE && br->type[k] != AVRO_BOOLEAN)
			continue;
		if ((br->iface[k] = avro_generic_class_from_schema(br->schema[k])) == NULL)
			return false;
		if (avro_generic_value_new(br->iface[k], &br->val[k]) != 0) {
			avro_value_iface_decref(br->iface[k]);
			br->iface[k] = NULL;
			return false;
		}
	}
	return true;
}

static void
branches_free(struct branches *br)
{
	for (size_t i = 0; i < KEYS_KEPT; i++) {
		buf_free(&br->key[i]);
		buf_free(&br->key_json[i]);
	}
	for (size_t k = 0; k < br->n; k++) {
		if (br->iface[k] == NULL)
			continue;
		avro_value_decref(&br->val[k]);
		avro_value_iface_decref(br->iface[k]);
	}
	free(br->schema);
	free(br->type);
	free(br->iface);
	free(br->val);
}

/* Take the fast path when the file allows it; else stay generic. */
static void
fast_setup(struct capture_reader *r, const char *path)
{
	size_t n = avro_schema_record_size(r->schema);
	int fd;

	r->fd = -1;
	if (!fast_fields(r, r->schema))
		return;
	r->long_schema = avro_schema_long();
	if ((r->long_iface = avro_generic_class_from_schema(r->long_schema)) == NULL ||
	    avro_generic_value_new(r->long_iface, &r->num) != 0)
		return;
	r->have_num = true;
	if ((r->blk = avro_reader_memory("", 0)) == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fast_open(r, fd) < 0) {
		close(fd);
		return;
	}
	r->fschema = xcalloc(n, sizeof(*r->fschema));
	r->br = xcalloc(n, sizeof(*r->br));
	r->nfields = n;
	for (size_t i = 0; i < n; i++) {
		avro_schema_t fs = avro_schema_record_field_get_by_index(r->schema, (int)i);

		r->fschema[i] = fs;
		if (r->fields[i] == CF_BODY && !branches_setup(&r->br[i], fs))
			return;
		if ((r->fields[i] == CF_SYS || r->fields[i] == CF_PROPS) &&
		    !branches_setup(&r->br[i], avro_schema_map_values(fs)))
			return;
	}
	r->fast = true;
}

struct capture_reader *
capture_reader_open_as(const char *path, const char *name, struct err *e)
{
	struct capture_reader *r = xcalloc(1, sizeof(*r));
	int rc;

	r->fd = -1;
	r->path = xstrdup(name);
	if (access(path, R_OK) != 0) {
		err_set(e, ERR_IO, "%s: %s", name, strerror(errno));
		goto fail;
	}
	{
		/* Look at the magic first: avro-c leaks on a header it rejects. */
		char magic[4] = { 0 };
		FILE *f = fopen(path, "rb");
		size_t got = f ? fread(magic, 1, 4, f) : 0;

		if (f)
			fclose(f);
		if (got != 4 || memcmp(magic, "Obj\x01", 4) != 0) {
			err_set(e, ERR_DATA, "%s: not an Avro file (no Avro magic at its start)", name);
			goto fail;
		}
	}
	rc = avro_file_reader(path, &r->file);
	if (rc != 0) {
		/* The magic was right: the header or the first block (which
		 * avro-c reads on opening) is damaged or cut short. */
		r->file = NULL;
		err_set(e, ERR_DATA, "%s: an Avro file damaged or cut short in its header or "
		    "first block; no records read (%s)", name, avro_strerror());
		goto fail;
	}
	r->schema = avro_file_reader_get_writer_schema(r->file);
	if (!is_capture_schema(r->schema)) {
		err_set(e, ERR_DATA, "%s: not an Event Hubs Capture file (its schema is %s '%s')",
		    name, avro_schema_type_name(r->schema),
		    is_avro_named_type(r->schema) ? avro_schema_name(r->schema) : "-");
		goto fail;
	}
	r->iface = avro_generic_class_from_schema(r->schema);
	if (r->iface == NULL || avro_generic_value_new(r->iface, &r->rec) != 0) {
		err_set(e, ERR_IO, "%s: %s", name, avro_strerror());
		goto fail;
	}
	r->have_rec = true;
	{
		avro_schema_error_t serr;

		if (avro_schema_from_json(projection_json, sizeof(projection_json) - 1,
		    &r->lean_schema, &serr) == 0 &&
		    (r->lean_iface = avro_generic_class_from_schema(r->lean_schema)) != NULL &&
		    (r->resolver = avro_resolved_writer_new(r->schema, r->lean_schema)) != NULL &&
		    avro_generic_value_new(r->lean_iface, &r->lean) == 0) {
			if (avro_resolved_writer_new_value(r->resolver, &r->resolved) == 0) {
				avro_resolved_writer_set_dest(&r->resolved, &r->lean);
				r->have_lean = true;
			} else {
				avro_value_decref(&r->lean);
			}
		}
		/* Without the projection, the full records serve. */
	}
	fast_setup(r, path);
	return r;
fail:
	capture_reader_close(r);
	return NULL;
}

struct capture_reader *
capture_reader_open(const char *path, struct err *e)
{
	return capture_reader_open_as(path, path, e);
}

/*
 * A value of a property map (a union's branch) as plain JSON: null for
 * what has no plain form.  *is_long tells whether it is a long, in *x.
 */
static void
put_plain(struct buf *b, avro_value_t *v, bool *is_long, int64_t *x)
{
	*is_long = false;
	switch (avro_value_get_type(v)) {
	case AVRO_INT32: {
		int32_t i = 0;

		avro_value_get_int(v, &i);
		json_put_int(b, i);
		break;
	}
	case AVRO_INT64:
		*x = 0;
		avro_value_get_long(v, x);
		json_put_int(b, *x);
		*is_long = true;
		break;
	case AVRO_DOUBLE: {
		double d = 0;

		avro_value_get_double(v, &d);
		json_put_num(b, d);
		break;
	}
	case AVRO_STRING: {
		const char *s = "";
		size_t len = 1;

		avro_value_get_string(v, &s, &len);
		json_put_str(b, s, len ? len - 1 : 0);
		break;
	}
	case AVRO_BYTES: {
		const void *p = "";
		size_t len = 0;

		avro_value_get_bytes(v, &p, &len);
		json_put_str(b, p, len);
		break;
	}
	case AVRO_BOOLEAN: {
		int t = 0;

		avro_value_get_boolean(v, &t);
		json_put_bool(b, t);
		break;
	}
	default:
		json_put_null(b);
	}
}

/*
 * A map of unions as a JSON object of plain values (no union wrappers);
 * x-opt-enqueued-time, when there, also goes to *enqueued.
 */
static void
map_json(avro_value_t *map, struct buf *b, int64_t *enqueued)
{
	size_t n = 0;

	buf_reset(b);
	buf_addc(b, '{');
	avro_value_get_size(map, &n);
	for (size_t i = 0; i < n; i++) {
		avro_value_t item, br, *v = &item;
		const char *key = NULL;
		bool is_long;
		int64_t x;

		if (avro_value_get_by_index(map, i, &item, &key) != 0)
			continue;
		json_key_str(b, key, strlen(key));
		if (avro_value_get_type(&item) == AVRO_UNION &&
		    avro_value_get_current_branch(&item, &br) == 0)
			v = &br;
		put_plain(b, v, &is_long, &x);
		if (is_long && enqueued && strcmp(key, "x-opt-enqueued-time") == 0)
			*enqueued = x;
	}
	buf_addc(b, '}');
}

int
capture_reader_next(struct capture_reader *r, struct capture_event *ev,
    bool want_props, struct err *e)
{
	bool lean = r->have_lean && !want_props;
	avro_value_t *rec = lean ? &r->lean : &r->rec, f, br;
	size_t len;
	int rc;

	if (r->fast)
		return fast_next(r, ev, want_props, e);
	rc = avro_file_reader_read_value(r->file, lean ? &r->resolved : &r->rec);
	if (rc == EOF)
		return 0;
	if (rc != 0)
		return err_set(e, ERR_DATA, "%s: damaged after %ld record%s: %s", r->path,
		    r->count, r->count == 1 ? "" : "s", avro_strerror());
	memset(ev, 0, sizeof(*ev));
	avro_value_get_by_name(rec, "SequenceNumber", &f, NULL);
	avro_value_get_long(&f, &ev->seq);
	avro_value_get_by_name(rec, "Offset", &f, NULL);
	avro_value_get_string(&f, &ev->offset, &len);
	avro_value_get_by_name(rec, "EnqueuedTimeUtc", &f, NULL);
	avro_value_get_string(&f, &ev->enqueued_text, &len);
	ev->enqueued_ms = -1;
	if (want_props) {
		struct err te;

		if (tfmt_parse(ev->enqueued_text, len ? len - 1 : 0, &ev->enqueued_ms, &te) < 0)
			ev->enqueued_ms = -1;
	}
	avro_value_get_by_name(rec, "Body", &f, NULL);
	if (avro_value_get_current_branch(&f, &br) == 0 &&
	    avro_value_get_type(&br) == AVRO_BYTES) {
		avro_value_get_bytes(&br, &ev->body, &ev->len);
		ev->body = keep(&r->body, ev->body, ev->len);	/* with its padding */
	}
	if (want_props) {
		/* x-opt-enqueued-time (ms, in newer files) is finer than the text. */
		avro_value_get_by_name(&r->rec, "SystemProperties", &f, NULL);
		map_json(&f, &r->sys, &ev->enqueued_ms);
		avro_value_get_by_name(&r->rec, "Properties", &f, NULL);
		map_json(&f, &r->props, NULL);
		ev->sys_json = r->sys.p;
		ev->props_json = r->props.p;
		ev->sys_len = r->sys.len;
		ev->props_len = r->props.len;
	}
	r->count++;
	return 1;
}

long
capture_reader_count(const struct capture_reader *r)
{
	return r->count;
}

void
capture_reader_close(struct capture_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	for (size_t i = 0; r->br && i < r->nfields; i++)
		branches_free(&r->br[i]);
	free(r->br);
	free(r->fschema);
	free(r->ment);
	buf_free(&r->str);
	buf_free(&r->mtext);
	free(r->fields);
	free(r->block);
	if (r->blk)
		avro_reader_free(r->blk);
	if (r->have_num)
		avro_value_decref(&r->num);
	if (r->long_iface)
		avro_value_iface_decref(r->long_iface);
	if (r->long_schema)
		avro_schema_decref(r->long_schema);
	buf_free(&r->offset);
	buf_free(&r->enqueued);
	buf_free(&r->body);
	if (r->have_lean) {
		avro_value_decref(&r->resolved);
		avro_value_decref(&r->lean);
	}
	if (r->resolver)
		avro_value_iface_decref(r->resolver);
	if (r->lean_iface)
		avro_value_iface_decref(r->lean_iface);
	if (r->lean_schema)
		avro_schema_decref(r->lean_schema);
	if (r->have_rec)
		avro_value_decref(&r->rec);
	if (r->iface)
		avro_value_iface_decref(r->iface);
	if (r->file)
		avro_file_reader_close(r->file);
	if (r->schema)	/* avro_file_reader_get_writer_schema gave a reference */
		avro_schema_decref(r->schema);
	buf_free(&r->sys);
	buf_free(&r->props);
	free(r->path);
	free(r);
}

/* Path formats as POSIX extended regular expressions. */

enum pf_field { PF_NONE, PF_PARTITION, PF_YEAR, PF_MONTH, PF_DAY, PF_HOUR, PF_MINUTE, PF_SECOND };

struct capture_pathfmt {
	regex_t re;
	enum pf_field group[16];	/* what each capture group holds */
	int ngroups;
};

struct capture_pathfmt *
capture_pathfmt_compile(const char *fmt, struct err *e)
{
	static const struct {
		const char *name;
		const char *re;
		enum pf_field field;
	} ph[] = {
		{ "Namespace", "[^/]+", PF_NONE }, { "EventHub", "[^/]+", PF_NONE },
		{ "PartitionId", "[0-9]+", PF_PARTITION }, { "Year", "[0-9]{4}", PF_YEAR },
		{ "Month", "[0-9]{1,2}", PF_MONTH }, { "Day", "[0-9]{1,2}", PF_DAY },
		{ "Hour", "[0-9]{1,2}", PF_HOUR }, { "Minute", "[0-9]{1,2}", PF_MINUTE },
		{ "Second", "[0-9]{1,2}", PF_SECOND },
	};
	struct capture_pathfmt *f = xcalloc(1, sizeof(*f));
	struct buf re = { 0 };
	const char *p = fmt;

	buf_adds(&re, "(^|/)");
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t n = close ? (size_t)(close - p - 1) : 0, i;

			for (i = 0; close && i < sizeof(ph) / sizeof(ph[0]); i++)
				if (strlen(ph[i].name) == n && memcmp(ph[i].name, p + 1, n) == 0)
					break;
			if (!close || i == sizeof(ph) / sizeof(ph[0]) || f->ngroups >= 15) {
				err_set(e, ERR_USAGE, "path format '%s': unknown placeholder at '%s'", fmt, p);
				goto fail;
			}
			buf_printf(&re, "(%s)", ph[i].re);
			f->group[++f->ngroups] = ph[i].field;
			p = close + 1;
			continue;
		}
		if (strchr(".[]()*+?{}|^$\\", *p))
			buf_addc(&re, '\\');
		buf_addc(&re, *p++);
	}
	buf_adds(&re, "(\\.avro)?$");
	if (regcomp(&f->re, re.p, REG_EXTENDED) != 0) {
		err_set(e, ERR_USAGE, "path format '%s' cannot be used", fmt);
		goto fail;
	}
	/* group 0 of ours is the leading (^|/): shift the fields by one */
	for (int i = f->ngroups; i >= 1; i--)
		f->group[i + 1] = f->group[i];
	f->group[1] = PF_NONE;
	f->ngroups++;
	buf_free(&re);
	return f;
fail:
	buf_free(&re);
	free(f);
	return NULL;
}

void
capture_pathfmt_free(struct capture_pathfmt *f)
{
	if (f == NULL)
		return;
	regfree(&f->re);
	free(f);
}

void
capture_path_match(const struct capture_pathfmt *f, const char *path,
    struct capture_pathinfo *out)
{
	regmatch_t m[18];
	int64_t v[PF_SECOND + 1] = { 0 };
	bool have[PF_SECOND + 1] = { false };

	out->matched = false;
	out->partition = -1;
	out->time_ms = -1;
	if (regexec(&f->re, path, (size_t)f->ngroups + 1, m, 0) != 0)
		return;
	out->matched = true;
	for (int i = 1; i <= f->ngroups; i++) {
		if (f->group[i] == PF_NONE || m[i].rm_so < 0)
			continue;
		v[f->group[i]] = strtoll(path + m[i].rm_so, NULL, 10);
		have[f->group[i]] = true;
	}
	if (have[PF_PARTITION])
		out->partition = (int)v[PF_PARTITION];
	if (have[PF_YEAR]) {
		int64_t mo = have[PF_MONTH] ? v[PF_MONTH] : 1, d = have[PF_DAY] ? v[PF_DAY] : 1;

		if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31)
			out->time_ms = tfmt_days_from_civil(v[PF_YEAR], (unsigned)mo, (unsigned)d) *
			    86400000 + v[PF_HOUR] * 3600000 + v[PF_MINUTE] * 60000 + v[PF_SECOND] * 1000;
	}
}

const char *
capture_versions(void)
{
	return "avro-c " CSA_AVRO_VERSION "\n";
}
