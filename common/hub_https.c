/* hub_https.c: sending to Azure Event Hubs through its REST API, for networks
 * where only port 443 is open.  Event Hubs cannot be read over REST. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "http.h"
#include "hub.h"
#include "hub_impl.h"
#include "json.h"
#include "msg.h"

/* A POST's body stays under Event Hubs' 1 MB limit for a batch. */
#define BATCH_BYTES_MAX 1000000
#define TOKEN_TTL_S 3600
#define CONTENT_TYPE "application/vnd.microsoft.servicebus.json"

struct hhub {
	struct hub base;
	struct eh_conn conn;
	int retries;
	char *eventhub;
	char *cacert;
	char *resource;		/* https://HOST/HUB: what the token signs */
	char *token;
	int64_t token_expiry;	/* seconds */
	int64_t timeout_ms;
	struct buf body;
};

static const struct hub_ops https_ops;

struct hub *
hub_https_open(const struct hub_opts *o, const struct eh_conn *eh, struct err *e)
{
	struct hhub *h = xcalloc(1, sizeof(*h));
	struct buf b = { 0 };

	h->base.ops = &https_ops;
	h->eventhub = xstrdup(o->eventhub);
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HUB_DEFAULT_TIMEOUT_MS;
	h->cacert = o->cacert ? xstrdup(o->cacert) : NULL;
	h->conn.host = xstrdup(eh->host);
	h->conn.port = eh->port;
	h->conn.key_name = xstrdup(eh->key_name);
	h->conn.key = xstrdup(eh->key);
	if (eh->port)
		buf_printf(&b, "https://%s:%d/%s", eh->host, eh->port, h->eventhub);
	else
		buf_printf(&b, "https://%s/%s", eh->host, h->eventhub);
	h->resource = buf_steal(&b);
	snprintf(h->base.what, sizeof(h->base.what), "Event Hubs REST %s, key %s",
	    h->resource, eh->key_name);
	if (o->nkafka_options > 0) {
		err_set(e, ERR_USAGE, "--kafka-option does not apply to --transport https");
		goto fail;
	}
	/* Waits of 0.5 s doubling to 8 s, as many as fill the timeout. */
	for (double wait = 0.5, sum = 0; sum * 1000 < (double)h->timeout_ms; h->retries++) {
		sum += wait;
		wait = wait * 2 < 8 ? wait * 2 : 8;
	}
	return &h->base;
fail:
	https_ops.close(&h->base);
	return NULL;
}

static void
https_close(struct hub *hb)
{
	struct hhub *h = (struct hhub *)hb;

	eh_conn_free(&h->conn);
	free(h->eventhub);
	free(h->cacert);
	free(h->resource);
	free(h->token);
	buf_free(&h->body);
	free(h);
}

static int
https_partition_count(const struct hub *hb)
{
	(void)hb;
	return 0;
}

/* A token good for an hour, made again five minutes before it runs out. */
static const char *
token(struct hhub *h)
{
	int64_t now = (int64_t)time(NULL);

	if (h->token == NULL || h->token_expiry - now < 300) {
		free(h->token);
		h->token_expiry = now + TOKEN_TTL_S;
		h->token = eh_sas_token(&h->conn, h->resource, h->token_expiry);
	}
	return h->token;
}

/* One message of the batch format: the event's text as Body. */
static void
put_message(struct buf *b, const struct hub_msg *m)
{
	size_t len = m->len;

	while (len > 0 && (m->body[len - 1] == '\n' || m->body[len - 1] == '\r'))
		len--;
	buf_addc(b, '{');
	json_key(b, "Body");
	json_put_str(b, m->body, len);
	if (m->key) {
		json_key(b, "BrokerProperties");
		buf_addc(b, '{');
		json_key(b, "PartitionKey");
		json_put_str(b, m->key, m->keylen);
		buf_addc(b, '}');
	}
	buf_addc(b, '}');
}

/*
 * POST h->body; 201 is done.  http_post tries again after 429, 5xx and
 * network failures (about 0.5 s, 1 s, 2 s ... up to 8 s between, until the
 * timeout); 401 and 403 name the key that was refused.
 */
static int
post(struct hhub *h, int partition, size_t count, struct err *e)
{
	struct http_opts ho;
	struct http_resp r;
	struct buf url = { 0 }, auth = { 0 };
	const char *hdrs[3];
	int rc;

	if (partition >= 0)
		buf_printf(&url, "%s/partitions/%d/messages?timeout=60&api-version=2014-01",
		    h->resource, partition);
	else
		buf_printf(&url, "%s/messages?timeout=60&api-version=2014-01", h->resource);
	buf_printf(&auth, "Authorization: %s", token(h));
	hdrs[0] = auth.p;
	hdrs[1] = "Content-Type: " CONTENT_TYPE;
	hdrs[2] = NULL;
	http_opts_init(&ho);
	ho.retries = h->retries;
	ho.retry_delay = 0.5;
	ho.retry_max_delay = 8;
	ho.timeout = 70;
	ho.connect_timeout = 10;
	ho.cacert = h->cacert;
	rc = http_post(url.p, hdrs, h->body.p, h->body.len, &ho, &r, e);
	if (r.attempts > 1)
		h->base.retries += r.attempts - 1;
	if (rc == 0 && r.status != 201) {
		rc = err_set(e, ERR_REMOTE, "%s: HTTP %ld where 201 was expected", h->conn.host,
		    r.status);
	} else if (rc < 0 && (r.status == 401 || r.status == 403)) {
		err_set(e, ERR_REMOTE, "%s refused key '%s' (HTTP %ld): check the connection"
		    " string's SharedAccessKeyName and SharedAccessKey", h->conn.host,
		    h->conn.key_name, r.status);
	} else if (rc == 0) {
		msg_verbose("posted %zu events (%zu bytes)%s", count, h->body.len,
		    r.attempts > 1 ? " after retries" : "");
	}
	http_resp_free(&r);
	OPENSSL_cleanse(auth.p, auth.len);
	buf_free(&url);
	buf_free(&auth);
	return rc;
}

/* Posts of whole messages, each under the batch limit; the messages of
 * one post go to one partition when -p named it. */
static int
https_send(struct hub *hb, struct hub_msg *msgs, size_t n, struct err *e)
{
	struct hhub *h = (struct hhub *)hb;
	struct buf one = { 0 };
	size_t i = 0, sent = 0;

	while (i < n) {
		size_t count = 0;
		int part = msgs[i].partition;

		buf_reset(&h->body);
		buf_addc(&h->body, '[');
		for (; i < n && msgs[i].partition == part; i++) {
			buf_reset(&one);
			put_message(&one, &msgs[i]);
			if (one.len + 2 > BATCH_BYTES_MAX) {
				buf_free(&one);
				return err_set(e, ERR_REMOTE, "event %zu of the batch is %zu bytes in"
				    " the REST batch format, over Event Hubs' 1 MB; %zu events of"
				    " %zu were sent", i + 1, one.len, sent, n);
			}
			if (h->body.len + one.len + 2 > BATCH_BYTES_MAX)
				break;
			if (count > 0)
				buf_addc(&h->body, ',');
			buf_add(&h->body, one.p, one.len);
			count++;
		}
		buf_addc(&h->body, ']');
		if (post(h, part, count, e) < 0) {
			buf_free(&one);
			err_prefix(e, "%zu of %zu events sent", sent, n);
			return -1;
		}
		sent += count;
	}
	buf_free(&one);
	return 0;
}

static int
https_cannot_read(struct hub *hb, const struct hub_reader_opts *o, struct err *e)
{
	(void)hb;
	(void)o;
	return err_set(e, ERR_USAGE, "Event Hubs cannot be read over HTTPS: use its Kafka"
	    " endpoint (leave out --transport https)");
}

static int
https_no_read(struct hub *hb, struct hub_msg *out, int max, int timeout_ms, bool *caught_up,
    struct err *e)
{
	(void)hb;
	(void)out;
	(void)max;
	(void)timeout_ms;
	*caught_up = true;
	return err_set(e, ERR_USAGE, "Event Hubs cannot be read over HTTPS");
}

static int
https_no_checkpoint(struct hub *hb, const int64_t *last_seq, struct err *e)
{
	(void)hb;
	(void)last_seq;
	(void)e;
	return 0;
}

static int
https_no_leave(struct hub *hb, struct err *e)
{
	(void)hb;
	(void)e;
	return 0;
}

static int
https_status(struct hub *hb, void (*fn)(const char *json, void *arg), void *arg,
    struct err *e)
{
	(void)hb;
	(void)fn;
	(void)arg;
	return err_set(e, ERR_USAGE, "Event Hubs' REST API has no listing for senders");
}

static const struct hub_ops https_ops = {
	.close = https_close,
	.partition_count = https_partition_count,
	.send = https_send,
	.close_windows = NULL,
	.reader_open = https_cannot_read,
	.read = https_no_read,
	.checkpoint = https_no_checkpoint,
	.reader_leave = https_no_leave,
	.status = https_status,
};
