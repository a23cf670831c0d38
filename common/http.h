/* http.h: HTTP(S) and file URLs through libcurl, with retries and conditional GET. */
#ifndef CSA_HTTP_H
#define CSA_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "err.h"

/*
 * A request is retried on network errors, 429 and 5xx, with exponential
 * backoff (retry_delay doubling up to retry_max_delay, with +-25% jitter);
 * a Retry-After header from the server replaces the computed wait.  TLS
 * peers are always verified; cacert adds a CA bundle.  Redirects are
 * followed.  Nothing here prints: the outcome is in the response or err.
 */
struct http_opts {
	long timeout;		/* seconds for one attempt; 0: 60 */
	long connect_timeout;	/* seconds; 0: 15 */
	int retries;		/* attempts after the first */
	double retry_delay;	/* seconds before the first retry */
	double retry_max_delay;	/* upper bound of one wait; 0: 60 */
	const char *cacert;	/* a PEM CA file trusted in addition, or NULL */
	const char *etag;	/* send If-None-Match */
	const char *last_modified; /* send If-Modified-Since */
	const char *label;	/* the URL as messages name it (without secrets), or NULL */
	/* When set to non-zero (by a signal handler), waits stop early. */
	volatile sig_atomic_t *stop;
};

/* Fill o with the defaults: 3 retries from 1 s, 60 s timeout. */
void http_opts_init(struct http_opts *o);

/* All fields owned by the response; http_resp_free releases them. */
struct http_resp {
	long status;		/* last HTTP status; 0 for file: URLs */
	bool not_modified;	/* 304: the body is empty, nothing is new */
	struct buf body;
	char *etag;
	char *last_modified;
	int attempts;
};

void http_resp_free(struct http_resp *r);

/* Release libcurl at exit (it starts by itself on the first request). */
void http_cleanup(void);

/*
 * GET url.  0 on a 2xx or 304 response (or a readable file: URL); -1 with
 * ERR_REMOTE (network or HTTP status, naming the URL and the status) or
 * ERR_IO (a file: URL that cannot be read).
 */
int http_get(const char *url, const struct http_opts *o, struct http_resp *r,
    struct err *e);

/*
 * GET url with the extra headers (a NULL-terminated list of "Name: value"
 * lines, or NULL), retried as http_get is.  A 2xx body goes to sink, a
 * file emptied before each attempt, so that memory stays bounded; with
 * sink NULL, and for any other status, it is kept in r->body (an error
 * document to read).  0 on 2xx; -1 with ERR_REMOTE (r->status tells a 403
 * from a 404) or ERR_IO (sink cannot be written).
 */
int http_get_to(const char *url, const char *const *headers, FILE *sink,
    const struct http_opts *o, struct http_resp *r, struct err *e);

/*
 * Several GETs as http_get_to makes them, side by side (libcurl multi), so
 * that many small files are not bound by latency; each is retried as
 * http_get is.  The caller fills url, headers, sink and label; rc (0 or
 * -1), resp (free it) and err say how each went.  -1 when nothing could
 * be started (every err says why).
 */
struct http_get_req {
	const char *url;
	const char *const *headers;
	FILE *sink;
	const char *label;
	struct http_resp resp;
	struct err err;
	int rc;
	int attempt;		/* internal */
};

int http_get_many(struct http_get_req *reqs, size_t n, const struct http_opts *o);

/*
 * POST body (len bytes) to url with the extra headers (a NULL-terminated
 * list of "Name: value" lines, which may be NULL); retried as GET is.  The
 * response is in r either way: r->status tells a 401 from a 404.
 */
int http_post(const char *url, const char *const *headers, const char *body, size_t len,
    const struct http_opts *o, struct http_resp *r, struct err *e);

/* The libcurl version line for --version. */
const char *http_version(void);

/* Sleep for secs seconds, returning early when *stop becomes non-zero. */
void http_sleep(double secs, volatile sig_atomic_t *stop);

#endif
