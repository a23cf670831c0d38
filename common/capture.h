/* capture.h: Event Hubs Capture files: the schema, the paths, and a writer. */
#ifndef CSA_CAPTURE_H
#define CSA_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The schema text exactly as Event Hubs Capture writes it (2017 and later). */
extern const char capture_schema_json[];

/* The default path layout of Event Hubs Capture (".avro" is added). */
#define CAPTURE_DEFAULT_FORMAT \
	"{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}"

/* One record of a Capture file; strings need not be NUL-terminated. */
struct capture_record {
	int64_t seq;
	int64_t offset;
	int64_t enqueued_ms;
	const char *key;	/* x-opt-partition-key, or NULL */
	size_t keylen;
	const void *body;
	size_t len;
};

/* EnqueuedTimeUtc as Azure writes it: 12/9/2022 5:10:16 PM. */
void capture_format_enqueued(int64_t ms, char out[32]);

/*
 * The relative path of a capture file: fmt with its placeholders ({Namespace}
 * {EventHub} {PartitionId} {Year} {Month} {Day} {Hour} {Minute} {Second},
 * zero-padded) filled in from start_ms, then ".avro".  -1 with ERR_USAGE on
 * an unknown placeholder or a path that would climb out ("..").
 */
int capture_path(const char *fmt, const char *ns, const char *eventhub, int partition,
    int64_t start_ms, struct buf *out, struct err *e);

/* Check a path format without using it. */
int capture_check_format(const char *fmt, struct err *e);

/*
 * A writer of one Avro object container file in the Capture schema, codec
 * null.  Every value, the header's metadata and the block counts are
 * encoded by avro-c; only the container's framing is laid out here, so that
 * the header carries the schema text byte for byte (avro-c would rewrite it
 * into its own expanded form).  capture_writer_close syncs and closes the
 * file; the caller renames it into place.
 */
struct capture_writer;

struct capture_writer *capture_writer_open(const char *path, struct err *e);
int capture_writer_add(struct capture_writer *w, const struct capture_record *r,
    struct err *e);
int capture_writer_close(struct capture_writer *w, struct err *e);

/* Close and delete an unfinished file. */
void capture_writer_abort(struct capture_writer *w);

/*
 * Reading Capture files (any codec avro-c reads: null, deflate, snappy; the
 * Properties union with or without its null branch).  A record's memory
 * belongs to the reader and lasts until the next capture_reader_next.
 */
struct capture_reader;

/* Readable bytes after every body a reader hands out (simdjson's padding). */
#define CAPTURE_PADDING 64

struct capture_event {
	int64_t seq;
	const char *offset;		/* as written: a decimal string */
	const char *enqueued_text;	/* EnqueuedTimeUtc as written */
	int64_t enqueued_ms;		/* parsed, or -1 */
	const void *body;		/* NULL for a null body; CAPTURE_PADDING after it */
	size_t len;
	const char *sys_json;		/* SystemProperties as a JSON object */
	const char *props_json;		/* Properties as a JSON object */
	size_t sys_len, props_len;	/* their lengths */
};

/* Open path.  NULL with ERR_DATA when it is not an Avro file or its schema
 * is not Capture's, ERR_IO when it cannot be read. */
struct capture_reader *capture_reader_open(const char *path, struct err *e);

/* The same, for a file at path that messages call name (a blob read into
 * a temporary file is named by its URL). */
struct capture_reader *capture_reader_open_as(const char *path, const char *name,
    struct err *e);

/* 1 and *ev, 0 at the end, -1 with ERR_DATA for a damaged file.  The
 * property objects and enqueued_ms are filled only when want_props is true;
 * without it, offset and enqueued_text may be "" (they are not decoded). */
int capture_reader_next(struct capture_reader *r, struct capture_event *ev,
    bool want_props, struct err *e);

/* Records read so far. */
long capture_reader_count(const struct capture_reader *r);
void capture_reader_close(struct capture_reader *r);

/* What a path says under a path format: partition and window start. */
struct capture_pathinfo {
	bool matched;
	int partition;		/* -1 when the format has no {PartitionId} */
	int64_t time_ms;	/* -1 when it has no date */
};

/* A path format compiled once (POSIX regex); caller frees. */
struct capture_pathfmt;
struct capture_pathfmt *capture_pathfmt_compile(const char *fmt, struct err *e);
void capture_pathfmt_free(struct capture_pathfmt *f);

/* Match the end of path against the format (".avro" optional). */
void capture_path_match(const struct capture_pathfmt *f, const char *path,
    struct capture_pathinfo *out);

/* The Avro library and its version ("avro-c 1.x\n"), for --version. */
const char *capture_versions(void);

#endif
