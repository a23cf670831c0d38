/* capture.c: Capture schema, paths, and a writer whose values avro-c encodes. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <avro.h>

#include "capture.h"
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
	if (out->p[0] == '/' || strstr(out->p, "..") != NULL)
		return err_set(e, ERR_USAGE, "capture format '%s': the path must stay inside capture/",
		    fmt);
	return 0;
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
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
