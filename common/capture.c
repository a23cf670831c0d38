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

struct capture_reader {
	char *path;
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

struct capture_reader *
capture_reader_open_as(const char *path, const char *name, struct err *e)
{
	struct capture_reader *r = xcalloc(1, sizeof(*r));
	int rc;

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

		if (avro_value_get_by_index(map, i, &item, &key) != 0)
			continue;
		json_key_str(b, key, strlen(key));
		if (avro_value_get_type(&item) == AVRO_UNION &&
		    avro_value_get_current_branch(&item, &br) == 0)
			v = &br;
		switch (avro_value_get_type(v)) {
		case AVRO_INT32: {
			int32_t x = 0;

			avro_value_get_int(v, &x);
			json_put_int(b, x);
			break;
		}
		case AVRO_INT64: {
			int64_t x = 0;

			avro_value_get_long(v, &x);
			json_put_int(b, x);
			if (enqueued && strcmp(key, "x-opt-enqueued-time") == 0)
				*enqueued = x;
			break;
		}
		case AVRO_DOUBLE: {
			double x = 0;

			avro_value_get_double(v, &x);
			json_put_num(b, x);
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
			int x = 0;

			avro_value_get_boolean(v, &x);
			json_put_bool(b, x);
			break;
		}
		default:
			json_put_null(b);
		}
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
	    avro_value_get_type(&br) == AVRO_BYTES)
		avro_value_get_bytes(&br, &ev->body, &ev->len);
	if (want_props) {
		/* x-opt-enqueued-time (ms, in newer files) is finer than the text. */
		avro_value_get_by_name(&r->rec, "SystemProperties", &f, NULL);
		map_json(&f, &r->sys, &ev->enqueued_ms);
		avro_value_get_by_name(&r->rec, "Properties", &f, NULL);
		map_json(&f, &r->props, NULL);
		ev->sys_json = r->sys.p;
		ev->props_json = r->props.p;
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
