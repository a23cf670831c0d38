/* hub.c: what every hub back end shares: names, defaults and partitioning. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>

#include "buf.h"
#include "fsutil.h"
#include "hub.h"
#include "hub_impl.h"
#include "positions.h"
#include "timefmt.h"

void
hub_opts_init(struct hub_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->partitions = -1;
	o->retention_ms = -1;
	o->capture = -1;
	o->capture_interval_ms = -1;
	o->capture_size = -1;
	o->lease_ms = -1;
	o->linger_ms = -1;
}

void
hub_opts_free(struct hub_opts *o)
{
	for (int i = 0; i < o->nkafka_options; i++)
		free(o->kafka_options[i]);
	free(o->kafka_options);
	free(o->connection_string_read);
	o->kafka_options = NULL;
	o->nkafka_options = 0;
	o->connection_string_read = NULL;
}

const char *
hub_versions(void)
{
	static char text[128];

	if (!*text)
		snprintf(text, sizeof(text), "SQLite %s\nlibrdkafka %s\n", sqlite3_libversion(),
		    rd_kafka_version_str());
	return text;
}

int
hub_opts_kafka_option(struct hub_opts *o, const char *kv, struct err *e)
{
	const char *eq = strchr(kv, '=');

	/* Quote only what has no value: the value may be a secret. */
	if (eq == NULL)
		return err_set(e, ERR_USAGE, "--kafka-option: '%.80s' is not KEY=VALUE", kv);
	if (eq == kv)
		return err_set(e, ERR_USAGE, "--kafka-option: a setting without a KEY");
	o->kafka_options = xrealloc(o->kafka_options,
	    (size_t)(o->nkafka_options + 1) * sizeof(*o->kafka_options));
	o->kafka_options[o->nkafka_options++] = xstrdup(kv);
	return 0;
}

/* The connection string in a file, white space around it dropped. */
static char *
read_connection_string(const char *path, struct err *e)
{
	char *data, *start, *end;
	size_t len;
	int rc = fs_read_all(path, &data, &len, e);

	if (rc == 1)
		err_set(e, ERR_IO, "%s: No such file or directory", path);
	if (rc != 0)
		return NULL;
	for (start = data; *start && strchr(" \t\r\n", *start); start++)
		continue;
	for (end = start + strlen(start); end > start && strchr(" \t\r\n", end[-1]); end--)
		continue;
	*end = '\0';
	if (!*start) {
		free(data);
		err_set(e, ERR_USAGE, "--connection-string-file: %s holds no connection string",
		    path);
		return NULL;
	}
	memmove(data, start, (size_t)(end - start) + 1);
	return data;
}

int
hub_opts_connection_file(struct hub_opts *o, const char *path, struct err *e)
{
	free(o->connection_string_read);
	if ((o->connection_string_read = read_connection_string(path, e)) == NULL)
		return -1;
	o->connection_string = o->connection_string_read;
	return 0;
}

const char *
hub_default_eventhub(const char *given)
{
	const char *env = getenv("EVENTHUB_NAME");

	if (given && *given)
		return given;
	if (env && *env)
		return env;
	return HUB_DEFAULT_EVENTHUB;
}

int
hub_check_name(const char *name, bool kafka, struct err *e)
{
	size_t n = strlen(name), max = kafka ? 249 : 256;
	bool ok = n >= 1 && n <= max;

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("._-", name[i]) != NULL;
	if (ok && kafka)
		ok = strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
	else if (ok)
		ok = isalnum((unsigned char)name[0]) && isalnum((unsigned char)name[n - 1]);
	if (ok)
		return 0;
	if (kafka)
		return err_set(e, ERR_USAGE, "invalid topic name '%s': Kafka takes 1 to 249"
		    " letters, digits, '.', '_' and '-'", name);
	return err_set(e, ERR_USAGE, "invalid event hub name '%s': Event Hubs takes 1 to 256"
	    " letters, digits, '.', '_' and '-', starting and ending with a letter or digit", name);
}

/* Kafka's murmur2, as its Java client and librdkafka compute it. */
uint32_t
hub_murmur2(const char *key, size_t len)
{
	const uint32_t m = 0x5bd1e995;
	const unsigned char *d = (const unsigned char *)key;
	uint32_t h = 0x9747b28cU ^ (uint32_t)len;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 |
		    (uint32_t)d[i + 2] << 16 | (uint32_t)d[i + 3] << 24;

		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)d[i + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)d[i + 1] << 8;
		/* fall through */
	case 1:
		h ^= d[i];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

int
hub_partition_for_key(const char *key, size_t len, int partitions)
{
	return (int)((hub_murmur2(key, len) & 0x7fffffff) % (uint32_t)partitions);
}

/*
 * The event hub's name on Event Hubs: --eventhub, else the connection
 * string's EntityPath, else $EVENTHUB_NAME.  A string with an EntityPath
 * only opens that entity, so another name is a mistake said at once.
 */
static const char *
eh_name(const struct hub_opts *o, const struct eh_conn *c, struct err *e)
{
	const char *env = getenv("EVENTHUB_NAME");
	const char *name = o->eventhub && *o->eventhub ? o->eventhub :
	    c->entity ? c->entity : env && *env ? env : NULL;

	if (name == NULL) {
		err_set(e, ERR_USAGE, "no event hub named: give --eventhub, EVENTHUB_NAME"
		    " or EntityPath in the connection string");
		return NULL;
	}
	if (c->entity && strcmp(c->entity, name) != 0) {
		err_set(e, ERR_USAGE, "the connection string is for event hub '%s', not '%s'",
		    c->entity, name);
		return NULL;
	}
	return name;
}

struct hub *
hub_open(const struct hub_opts *o, struct err *e)
{
	const char *loc = o->location && *o->location ? o->location : NULL;
	const char *cs = o->connection_string, *env;
	struct hub_opts t = *o;
	struct eh_conn c;
	struct hub *h;

	if (loc == NULL && cs == NULL && (env = getenv("EVENTHUB_CONNECTION_STRING")) && *env)
		cs = env;
	if (loc == NULL && cs == NULL && (env = getenv("CSA_HUB")) && *env)
		loc = env;
	if (loc && strncmp(loc, "kafka://", 8) == 0) {
		if (o->https) {
			err_set(e, ERR_USAGE, "--transport https is Event Hubs' REST API:"
			    " it needs a connection string, not a Kafka cluster");
			return NULL;
		}
		t.eventhub = hub_default_eventhub(o->eventhub);
		if (hub_check_name(t.eventhub, true, e) < 0)
			return NULL;
		return hub_kafka_open(&t, loc + 8, NULL, e);
	}
	if (loc == NULL && cs != NULL) {
		if (eh_conn_parse(&c, cs, e) < 0)
			return NULL;
		if ((t.eventhub = eh_name(o, &c, e)) == NULL ||
		    hub_check_name(t.eventhub, false, e) < 0)
			h = NULL;
		else if (o->https)
			h = hub_https_open(&t, &c, e);
		else
			h = hub_kafka_open(&t, NULL, &c, e);
		eh_conn_free(&c);
		return h;
	}
	if (o->https) {
		err_set(e, ERR_USAGE, "--transport https needs an Event Hubs connection string");
		return NULL;
	}
	if (o->nkafka_options > 0) {
		err_set(e, ERR_USAGE, "--kafka-option: the embedded hub is not Kafka"
		    " (give --hub kafka://HOST:PORT or a connection string)");
		return NULL;
	}
	t.location = loc;	/* from $CSA_HUB when -H was not given, or NULL */
	t.eventhub = hub_default_eventhub(o->eventhub);
	if (hub_check_name(t.eventhub, false, e) < 0)
		return NULL;
	return hub_local_open(&t, e);
}

const char *
hub_describe(const struct hub *h)
{
	return h->what;
}

/* What hub_reader_positions keeps: the file, and what it held at the start. */
struct hub_follow {
	char *path;
	struct positions start;
};

void
hub_close(struct hub *h)
{
	if (h == NULL)
		return;
	if (h->follow) {
		free(h->follow->path);
		free(h->follow);
	}
	h->ops->close(h);
}

long
hub_retries(const struct hub *h)
{
	return h->retries;
}

int
hub_partition_count(const struct hub *h)
{
	return h->ops->partition_count(h);
}

int
hub_send(struct hub *h, struct hub_msg *msgs, size_t n, struct err *e)
{
	return h->ops->send(h, msgs, n, e);
}

int
hub_flush(struct hub *h, struct err *e)
{
	return h->ops->flush ? h->ops->flush(h, e) : 0;
}

bool
hub_queues(const struct hub *h)
{
	return h->ops->flush != NULL;
}

bool
hub_has_capture(const struct hub *h)
{
	return h->ops->close_windows != NULL;
}

int
hub_close_windows(struct hub *h, bool all, int *files, struct err *e)
{
	*files = 0;
	return h->ops->close_windows ? h->ops->close_windows(h, all, files, e) : 0;
}

int
hub_reader_open(struct hub *h, const struct hub_reader_opts *o, struct err *e)
{
	return h->ops->reader_open(h, o, e);
}

int
hub_reader_positions(struct hub *h, const char *path, struct err *e)
{
	struct hub_follow *f = xcalloc(1, sizeof(*f));

	if (pos_read_file(path, &f->start, e) < 0) {
		free(f);
		return -1;
	}
	f->path = xstrdup(path);
	h->follow = f;
	return 0;
}

/* Keep of out[0..n) the events after the followed positions; the count kept. */
static int
drop_taken(const struct hub_follow *f, struct hub_msg *out, int n)
{
	int kept = 0;

	for (int i = 0; i < n; i++) {
		int p = out[i].partition;

		if (p >= 0 && p < POS_MAX && out[i].seq <= f->start.last[p])
			continue;
		out[kept++] = out[i];
	}
	return kept;
}

int
hub_read(struct hub *h, struct hub_msg *out, int max, int timeout_ms, bool *caught_up,
    struct err *e)
{
	for (;;) {
		int n = h->ops->read(h, out, max, timeout_ms, caught_up, e);

		if (n <= 0 || h->follow == NULL)
			return n;
		if ((n = drop_taken(h->follow, out, n)) > 0)
			return n;
		/* All taken already: read on, so a caller waits only when nothing is new. */
	}
}

int
hub_checkpoint(struct hub *h, const int64_t *last_seq, struct err *e)
{
	struct positions now;
	int64_t *capped;
	int P, rc;

	if (h->follow == NULL)
		return h->ops->checkpoint(h, last_seq, e);
	if (pos_read_file(h->follow->path, &now, e) < 0)
		return -1;
	P = hub_partition_count(h);
	capped = xmalloc(sizeof(*capped) * (size_t)(P > 0 ? P : 1));
	for (int p = 0; p < P; p++) {
		int64_t owned = p < POS_MAX ? now.last[p] : -1;

		capped[p] = last_seq[p] < owned ? last_seq[p] : owned;
	}
	rc = h->ops->checkpoint(h, capped, e);
	free(capped);
	return rc;
}

int
hub_reader_leave(struct hub *h, struct err *e)
{
	return h->ops->reader_leave(h, e);
}

int
hub_reader_missing(struct hub *h, int *parts, int max)
{
	return h->ops->reader_missing ? h->ops->reader_missing(h, parts, max) : 0;
}

int
hub_status(struct hub *h, void (*fn)(const char *json, void *arg), void *arg,
    struct err *e)
{
	return h->ops->status(h, fn, arg, e);
}
