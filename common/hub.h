/* hub.h: the one interface csa-eh-send and csa-eh-recv use, whatever the back end. */
#ifndef CSA_HUB_H
#define CSA_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * A hub holds event hubs (Kafka: topics), each split into partitions.  An
 * event goes to the partition its key picks with Kafka's murmur2 hash, the
 * same in every back end, or round robin without a key.  Readers form
 * consumer groups that share the partitions and keep checkpoints.
 *
 * Back ends: the embedded hub (a directory with a SQLite database and a
 * Capture tree, hub_local.c); a Kafka cluster or Azure Event Hubs' Kafka
 * endpoint (hub_kafka.c); Event Hubs' REST API, for sending only
 * (hub_https.c).  A struct hub is used by one thread.
 */
struct hub;

#define HUB_DEFAULT_EVENTHUB "events"
#define HUB_DEFAULT_PARTITIONS 4
#define HUB_DEFAULT_GROUP "$Default"

/* Settings of an event hub; -1 (or NULL) means "as stored, or the default". */
struct hub_opts {
	const char *location;		/* a directory; NULL: $CSA_HUB or the default */
	const char *eventhub;		/* NULL: $EVENTHUB_NAME or "events" */
	int partitions;			/* for a new event hub (default 4) */
	int64_t retention_ms;		/* default 7 days */
	int capture;			/* 0 off, 1 on (default on) */
	int64_t capture_interval_ms;	/* default 300 s */
	int64_t capture_size;		/* bytes, default 10 MiB */
	const char *capture_format;	/* default: the Azure path layout */
	const char *namespace;		/* {Namespace} in capture paths, default "local" */
	int64_t lease_ms;		/* partition lease of a group member, default 10 s */
	/* Remote hubs. */
	const char *connection_string;	/* Event Hubs; NULL: $EVENTHUB_CONNECTION_STRING */
	char *connection_string_read;	/* --connection-string-file's, owned */
	char **kafka_options;		/* KEY=VALUE librdkafka settings, applied last */
	int nkafka_options;
	int64_t timeout_ms;		/* how long to keep trying a remote hub (30 s) */
	bool reader;			/* opened to read, not to send */
	const char *group;		/* a reader's consumer group (Kafka needs it first) */
	bool to_end;			/* a reader that stops once caught up (-e) */
	bool https;			/* Event Hubs' REST API, not its Kafka endpoint */
	const char *cacert;		/* CA certificates for HTTPS; NULL: the system's */
	/* A Kafka sender's batches (librdkafka's batch.num.messages and
	 * linger.ms); 0 and -1: librdkafka's defaults. */
	int batch_size;
	int64_t linger_ms;
};

#define HUB_DEFAULT_TIMEOUT_MS 30000

void hub_opts_init(struct hub_opts *o);
/* Free what hub_opts_kafka_option and hub_opts_connection_file kept. */
void hub_opts_free(struct hub_opts *o);

/* Add a librdkafka setting KEY=VALUE (-X): 0, or -1 with ERR_USAGE that
 * names --kafka-option and quotes no value (it may be a secret). */
int hub_opts_kafka_option(struct hub_opts *o, const char *kv, struct err *e);

/* Take the connection string from the file at path (white space around it
 * dropped): 0, or -1 with ERR_IO (unreadable) or ERR_USAGE (empty). */
int hub_opts_connection_file(struct hub_opts *o, const char *path, struct err *e);

/* The back ends' libraries and versions, one per line, for --version
 * (static text), so that no command includes their headers for it. */
const char *hub_versions(void);

/* One event, sent or received.  Received memory belongs to the hub and is
 * valid until the next hub_read. */
struct hub_msg {
	const char *body;
	size_t len;
	const char *key;	/* partition key, or NULL */
	size_t keylen;
	int partition;		/* send: -1 to pick by key; filled in */
	int64_t seq;		/* sequence number in the partition */
	int64_t offset;		/* byte offset in the partition */
	int64_t enqueued_ms;
};

/* Where a new consumer group starts reading. */
enum hub_from {
	HUB_FROM_EARLIEST,
	HUB_FROM_LATEST,
	HUB_FROM_TIME,		/* first event enqueued at or after value (ms) */
	HUB_FROM_SEQ		/* sequence number value, inclusive */
};

struct hub_reader_opts {
	const char *group;
	enum hub_from from;
	int64_t from_value;
	int partition;		/* one partition only, without a lease; -1: share */
	int hangup_fd;		/* stop waiting when this descriptor (the output) reports
				 * an error or hang-up; 0 or less: none */
};

/* The location that --hub, $CSA_HUB and the default name; caller frees. */
char *hub_default_location(const char *given);

/* The event hub that --eventhub, $EVENTHUB_NAME and the default name. */
const char *hub_default_eventhub(const char *given);

/*
 * Check an event hub's name once, where it enters: Event Hubs' rule (1 to
 * 256 letters, digits, '.', '_', '-', starting and ending with a letter or
 * digit) for the embedded hub and Event Hubs, Kafka's for a Kafka topic.
 */
int hub_check_name(const char *name, bool kafka, struct err *e);

/*
 * Open an event hub: a kafka://HOST:PORT,... location is a Kafka cluster;
 * else a connection string (given, or $EVENTHUB_CONNECTION_STRING when no
 * location was given) is Event Hubs; else the location is the embedded
 * hub's directory (created when needed).  NULL with ERR_USAGE, ERR_IO or
 * ERR_REMOTE.
 */
struct hub *hub_open(const struct hub_opts *o, struct err *e);
void hub_close(struct hub *h);

/* The event hub's partitions; 0 when the back end cannot tell (HTTPS). */
int hub_partition_count(const struct hub *h);

/* How many times the back end tried again after a temporary failure so
 * far: a lock another process held (embedded hub), a request that failed
 * (HTTPS).  librdkafka's own retries are not seen (0). */
long hub_retries(const struct hub *h);

/* What the hub is, for -v: "embedded hub DIR", "Kafka at HOST:PORT", ... */
const char *hub_describe(const struct hub *h);

/* Kafka's partition for a key: murmur2 (seed 0x9747b28c), sign bit cleared,
 * modulo the partition count. */
int hub_partition_for_key(const char *key, size_t len, int partitions);
uint32_t hub_murmur2(const char *key, size_t len);

/*
 * Send a batch.  The embedded hub and HTTPS commit it before returning, all
 * of it or none (the embedded hub fills in partition, seq, offset and
 * enqueued_ms).  Kafka queues it and returns at once, failing with the
 * first delivery error reported so far: only hub_flush says that every
 * event was acknowledged.
 */
int hub_send(struct hub *h, struct hub_msg *msgs, size_t n, struct err *e);

/* True when hub_send only queues copies of the events (Kafka), which the
 * back end batches itself: a sender may hand over each line as it comes. */
bool hub_queues(const struct hub *h);

/* Wait until every event sent is acknowledged (or the timeout passed);
 * -1 with ERR_REMOTE naming how many were not. */
int hub_flush(struct hub *h, struct err *e);

/* True when the hub writes Capture files itself (the embedded hub). */
bool hub_has_capture(const struct hub *h);

/* Close the Capture windows that are due (or all open ones); *files is how
 * many files were written.  Also purges events past retention. */
int hub_close_windows(struct hub *h, bool all, int *files, struct err *e);

/* Join a consumer group (or read one partition). */
int hub_reader_open(struct hub *h, const struct hub_reader_opts *o, struct err *e);

/*
 * Up to max events from the partitions this member owns, waiting at most
 * timeout_ms for new ones (0: do not wait).  Returns the count, 0 when
 * nothing came; -1 on error.  *caught_up is set when every owned partition
 * had nothing more to give.
 */
int hub_read(struct hub *h, struct hub_msg *out, int max, int timeout_ms,
    bool *caught_up, struct err *e);

/*
 * Record that the events up to and including last_seq[p] of each partition
 * p were delivered (-1: nothing new for p).  Only owned partitions count.
 */
int hub_checkpoint(struct hub *h, const int64_t *last_seq, struct err *e);

/*
 * Follow the positions a later stage owns (the positions line of a
 * csa-window state, common/positions.h) in file path: from now on
 * hub_read gives of each partition only events after the position the
 * file held at this call, and hub_checkpoint records no partition beyond
 * what the file holds at that moment (a partition it does not name: no
 * checkpoint).  So the group's checkpoint never passes what that stage
 * has durably taken, and a restart resumes just after it.  A missing file
 * is no positions.  -1 with ERR_IO when the file cannot be read.
 */
int hub_reader_positions(struct hub *h, const char *path, struct err *e);

/* Leave the group: give up this member's leases now. */
int hub_reader_leave(struct hub *h, struct err *e);

/*
 * After a reader that stops once caught up (hub_opts.to_end) has caught
 * up: the partitions it left unread because another live member of its
 * group held them, up to max into parts; their count.  0 when the back end
 * cannot tell.
 */
int hub_reader_missing(struct hub *h, int *parts, int max);

/*
 * The state of the hub, one JSON object per call of fn: partitions with
 * first and last sequence numbers and their last capture file, consumer
 * groups with checkpoint, lag and owner.
 */
int hub_status(struct hub *h, void (*fn)(const char *json, void *arg), void *arg,
    struct err *e);

#endif
