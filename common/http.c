/* http.c: GET over libcurl with timeouts, retries, backoff and conditional requests. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "fsutil.h"
#include "http.h"

static unsigned jitter_seed;

void
http_opts_init(struct http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->retries = 3;
	o->retry_delay = 1.0;
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	free(r->etag);
	free(r->last_modified);
	memset(r, 0, sizeof(*r));
}

static bool started;

/* libcurl (and its TLS library) start on the first network request only. */
static int
start_curl(struct err *e)
{
	CURLcode rc;

	if (started)
		return 0;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return err_set(e, ERR_IO, "cannot start libcurl: %s", curl_easy_strerror(rc));
	jitter_seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	started = true;
	return 0;
}

void
http_cleanup(void)
{
	if (started)
		curl_global_cleanup();
	started = false;
}

const char *
http_version(void)
{
	return curl_version();
}

void
http_sleep(double secs, volatile sig_atomic_t *stop)
{
	while (secs > 0 && !(stop && *stop)) {
		double step = secs < 0.1 ? secs : 0.1;
		struct timespec ts;

		ts.tv_sec = (time_t)step;
		ts.tv_nsec = (long)((step - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		secs -= step;
	}
}

struct xfer {
	CURL *curl;
	struct http_resp *resp;
	FILE *sink;		/* where a 2xx body goes, or NULL */
	int sink_errno;		/* why writing to it failed, or 0 */
};

static size_t
on_body(char *p, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	size_t len = size * n;
	long status = 0;

	if (x->sink) {
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			if (fwrite(p, 1, len, x->sink) != len) {
				x->sink_errno = errno ? errno : EIO;
				return 0;	/* stops the transfer */
			}
			return len;
		}
	}
	if (x->resp->body.cap == 0) {
		curl_off_t hint = -1;

		/* Size the buffer once from Content-Length, to avoid copies. */
		curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &hint);
		if (hint > 0 && hint < (curl_off_t)1 << 32)
			buf_reserve(&x->resp->body, (size_t)hint);
	}
	buf_add(&x->resp->body, p, len);
	return len;
}

/* The value of header `name` in line p[0..n), trimmed; NULL when not it. */
static char *
header_value(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
		return NULL;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return xstrndup(p, n);
}

static size_t
on_header(char *p, size_t size, size_t n, void *data)
{
	struct http_resp *r = data;
	size_t len = size * n;
	char *v;

	/* A new status line (a redirect, a 100) starts a new header set. */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(r->etag);
		free(r->last_modified);
		r->etag = r->last_modified = NULL;
	} else if ((v = header_value(p, len, "ETag")) != NULL) {
		free(r->etag);
		r->etag = v;
	} else if ((v = header_value(p, len, "Last-Modified")) != NULL) {
		free(r->last_modified);
		r->last_modified = v;
	}
	/* An empty header is no validator: there is nothing to send back. */
	if (r->etag && *r->etag == '\0') {
		free(r->etag);
		r->etag = NULL;
	}
	if (r->last_modified && *r->last_modified == '\0') {
		free(r->last_modified);
		r->last_modified = NULL;
	}
	return len;
}

/* Abort a transfer in progress once a stop was asked for. */
static int
on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	volatile sig_atomic_t *stop = data;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop && *stop;
}

static bool
is_file_url(const char *url)
{
	return strncasecmp(url, "file:", 5) == 0;
}

static double
backoff(const struct http_opts *o, int attempt)
{
	double max = o->retry_max_delay > 0 ? o->retry_max_delay : 60.0;
	double d = o->retry_delay * pow(2.0, attempt - 1);
	double j = 0.75 + 0.5 * ((double)rand_r(&jitter_seed) / RAND_MAX);

	d *= j;
	return d > max ? max : d;
}

/* %XX escapes of a URL path decoded (RFC 3986); caller frees. */
static char *
percent_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/*
 * Inflate gzip data (one member or more, as gzip writes them) into out,
 * NUL-terminated.  0, or -1 with ERR_DATA.
 */
static int
gunzip(const char *data, size_t len, struct buf *out, struct err *e)
{
	z_stream z;
	int zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err_set(e, ERR_DATA, "cannot start zlib");
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	while (zr == Z_OK || (zr == Z_STREAM_END && z.avail_in > 0)) {
		if (zr == Z_STREAM_END && inflateReset(&z) != Z_OK)
			break;
		buf_reserve(out, len * 4 + 65536);
		z.next_out = (Bytef *)out->p + out->len;
		z.avail_out = (uInt)(out->cap - out->len - 1);
		zr = inflate(&z, Z_NO_FLUSH);
		out->len = (size_t)((char *)z.next_out - out->p);
		if (zr == Z_BUF_ERROR && z.avail_out > 0)
			break;	/* the input ended inside a member */
		if (zr == Z_BUF_ERROR)
			zr = Z_OK;
	}
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.avail_in > 0) {
		buf_free(out);
		return err_set(e, ERR_DATA, "damaged gzip data at byte %lu (%s)",
		    (unsigned long)(len - z.avail_in), z.msg ? z.msg : "truncated");
	}
	out->p[out->len] = '\0';
	return 0;
}

/*
 * A file: URL is read here, in one read into a buffer of the file's size:
 * half the copies libcurl's file protocol makes, and no TLS start-up.
 * Accepts file:///path and file://localhost/path, %-escapes decoded.
 */
static int
get_file(const char *url, struct http_resp *r, struct err *e)
{
	const char *path = url + 5;
	char *dec;
	int rc;
	size_t len;
	char *data;

	if (strncmp(path, "//", 2) == 0) {
		path += 2;
		if (strncasecmp(path, "localhost/", 10) == 0)
			path += 9;
		else if (*path != '/')
			return err_set(e, ERR_IO, "%s: only local file: URLs can be read", url);
	}
	dec = percent_decode(path);
	rc = fs_read_all(dec, &data, &len, e);
	if (rc == 1)
		rc = err_set(e, ERR_IO, "%s: %s: No such file or directory", url, dec);
	if (rc == 0 && len >= 2 && (unsigned char)data[0] == 0x1f &&
	    (unsigned char)data[1] == 0x8b) {
		/* A saved feed.geojson.gz reads as a server's gzip encoding would. */
		rc = gunzip(data, len, &r->body, e);
		if (rc < 0)
			err_prefix(e, "%s", dec);
		free(data);
		data = NULL;
	}
	free(dec);
	if (rc < 0)
		return -1;
	if (data) {
		r->body.p = data;
		r->body.len = len;
		r->body.cap = len + 1;
	}
	r->attempts = 1;
	return 0;
}

/* One transfer: its handle, where its answer goes, and how it went. */
struct xfer_state {
	struct xfer x;
	const char *url, *name;	/* name: the URL as messages say it */
	char errbuf[CURL_ERROR_SIZE];
	double wait;		/* before the next attempt, when one is due */
};

/* Set up a handle for url: a GET, or a POST of body when it is not NULL. */
static void
setup(struct xfer_state *s, struct curl_slist *hdrs, const char *body, size_t len,
    const struct http_opts *o)
{
	CURL *curl = s->x.curl;

	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(curl, CURLOPT_URL, s->url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, o->timeout > 0 ? o->timeout : 60L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    o->connect_timeout > 0 ? o->connect_timeout : 15L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s->x);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, s->x.resp);
	if (o->stop) {
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, o->stop);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
}

/* Make ready for an attempt: the response emptied, a sink file too (a
 * retry starts the file again).  -1 with ERR_IO when the file cannot be. */
static int
begin_attempt(struct xfer_state *s, int attempt, struct err *e)
{
	struct http_resp *r = s->x.resp;
	FILE *sink = s->x.sink;

	buf_reset(&r->body);
	s->errbuf[0] = '\0';
	r->attempts = attempt;
	r->status = 0;
	if (sink && (fflush(sink) != 0 || ftruncate(fileno(sink), 0) != 0 ||
	    fseeko(sink, 0, SEEK_SET) != 0))
		return err_set(e, ERR_IO, "%s: temporary file: %s", s->name, strerror(errno));
	return 0;
}

/*
 * How an attempt that ended with cc went: 0 done (2xx, 304, a file: URL),
 * -1 failed for good (e says why), 1 to be tried again after s->wait
 * seconds (network errors, 429 and 5xx, within o->retries; a Retry-After
 * header replaces the computed wait).
 */
static int
end_attempt(struct xfer_state *s, CURLcode cc, int attempt, const struct http_opts *o,
    struct err *e)
{
	struct http_resp *r = s->x.resp;
	curl_off_t retry_after = 0;
	bool retryable;

	curl_easy_getinfo(s->x.curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (s->x.sink_errno != 0)
		return err_set(e, ERR_IO, "%s: temporary file: %s", s->name,
		    strerror(s->x.sink_errno));
	if (cc == CURLE_OK && is_file_url(s->url))
		return 0;
	if (cc == CURLE_OK && r->status == 304) {
		r->not_modified = true;
		return 0;
	}
	if (cc == CURLE_OK && r->status >= 200 && r->status < 300)
		return 0;
	if (cc != CURLE_OK && is_file_url(s->url))
		return err_set(e, ERR_IO, "%s: %s", s->name, s->errbuf[0] ? s->errbuf :
		    curl_easy_strerror(cc));
	/* A certificate or a URL that is wrong stays wrong: no retry. */
	retryable = (cc != CURLE_OK && cc != CURLE_PEER_FAILED_VERIFICATION &&
	    cc != CURLE_SSL_CACERT_BADFILE && cc != CURLE_URL_MALFORMAT &&
	    cc != CURLE_UNSUPPORTED_PROTOCOL) || r->status == 429 || r->status >= 500;
	if (!retryable || attempt > o->retries || (o->stop && *o->stop)) {
		if (cc != CURLE_OK)
			return err_set(e, ERR_REMOTE, "%s: %s (after %d attempt%s)", s->name,
			    s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc),
			    attempt, attempt == 1 ? "" : "s");
		return err_set(e, ERR_REMOTE, "%s: HTTP %ld%s", s->name, r->status,
		    attempt > 1 ? " (after retries)" : "");
	}
	s->wait = backoff(o, attempt);
	if (cc == CURLE_OK &&
	    curl_easy_getinfo(s->x.curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
	    retry_after > 0)
		s->wait = (double)retry_after;
	return 1;
}

static void
init_state(struct xfer_state *s, CURL *curl, const char *url, FILE *sink,
    const struct http_opts *o, struct http_resp *r)
{
	memset(s, 0, sizeof(*s));
	s->x.curl = curl;
	s->x.resp = r;
	s->x.sink = sink;
	s->url = url;
	s->name = o->label ? o->label : url;
}

/*
 * One request with its retries: a GET, or a POST of body when it is not
 * NULL.  r is filled in; 0 on 2xx (and 304).
 */
static int
perform(const char *url, struct curl_slist *hdrs, const char *body, size_t len, FILE *sink,
    const struct http_opts *o, struct http_resp *r, struct err *e)
{
	struct xfer_state s;
	CURL *curl;
	int rc = -1;

	curl = curl_easy_init();
	if (curl == NULL)
		return err_set(e, ERR_IO, "%s: cannot create a libcurl handle",
		    o->label ? o->label : url);
	init_state(&s, curl, url, sink, o, r);
	setup(&s, hdrs, body, len, o);
	for (int attempt = 1;; attempt++) {
		if (begin_attempt(&s, attempt, e) < 0)
			break;
		rc = end_attempt(&s, curl_easy_perform(curl), attempt, o, e);
		if (rc <= 0)
			break;
		rc = -1;
		http_sleep(s.wait, o->stop);
	}
	curl_easy_cleanup(curl);
	return rc;
}

/* hdrs with "name: value" appended (curl copies the line). */
static struct curl_slist *
add_header(struct curl_slist *hdrs, const char *name, const char *value)
{
	struct buf line = { 0 };

	buf_printf(&line, "%s: %s", name, value);
	hdrs = curl_slist_append(hdrs, line.p);
	buf_free(&line);
	return hdrs;
}

int
http_get(const char *url, const struct http_opts *o, struct http_resp *r,
    struct err *e)
{
	struct curl_slist *hdrs = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if (is_file_url(url))
		return get_file(url, r, e);
	if (start_curl(e) < 0)
		return -1;
	if (o->etag)
		hdrs = add_header(hdrs, "If-None-Match", o->etag);
	if (o->last_modified)
		hdrs = add_header(hdrs, "If-Modified-Since", o->last_modified);
	rc = perform(url, hdrs, NULL, 0, NULL, o, r, e);
	curl_slist_free_all(hdrs);
	return rc;
}

/* A request with the caller's headers: a POST of body, or a GET into sink. */
static int
request(const char *url, const char *const *headers, const char *body, size_t len,
    FILE *sink, const struct http_opts *o, struct http_resp *r, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if (start_curl(e) < 0)
		return -1;
	for (size_t i = 0; headers && headers[i]; i++)
		hdrs = curl_slist_append(hdrs, headers[i]);
	/* No "Expect: 100-continue" round trip before a body. */
	if (body)
		hdrs = curl_slist_append(hdrs, "Expect:");
	rc = perform(url, hdrs, body, len, sink, o, r, e);
	curl_slist_free_all(hdrs);
	return rc;
}

int
http_post(const char *url, const char *const *headers, const char *body, size_t len,
    const struct http_opts *o, struct http_resp *r, struct err *e)
{
	return request(url, headers, body ? body : "", len, NULL, o, r, e);
}

int
http_get_to(const char *url, const char *const *headers, FILE *sink,
    const struct http_opts *o, struct http_resp *r, struct err *e)
{
	return request(url, headers, NULL, 0, sink, o, r, e);
}

/*
 * The requests of one round that are still due (attempt > 0) run side by
 * side on one multi handle; each ends as end_attempt says.
 */
static void
run_round(CURLM *m, struct xfer_state *st, struct http_get_req *reqs, size_t n,
    const struct http_opts *o)
{
	int running = 0;
	CURLMsg *msg;
	int left;

	for (size_t i = 0; i < n; i++)
		if (reqs[i].attempt > 0 && begin_attempt(&st[i], reqs[i].attempt, &reqs[i].err) == 0)
			curl_multi_add_handle(m, st[i].x.curl);
		else if (reqs[i].attempt > 0) {
			reqs[i].attempt = 0;	/* the temporary file failed */
			reqs[i].rc = -1;
		}
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			size_t i;

			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < n && st[i].x.curl != msg->easy_handle; i++)
				;
			if (i == n)
				continue;
			reqs[i].rc = end_attempt(&st[i], msg->data.result, reqs[i].attempt, o,
			    &reqs[i].err);
			curl_multi_remove_handle(m, st[i].x.curl);
			reqs[i].attempt = reqs[i].rc == 1 ? reqs[i].attempt + 1 : 0;
		}
		if (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	} while (running > 0 && !(o->stop && *o->stop));
}

int
http_get_many(struct http_get_req *reqs, size_t n, const struct http_opts *o)
{
	struct xfer_state *st;
	struct curl_slist **hdrs;
	struct err e;
	CURLM *m;
	bool again;

	for (size_t i = 0; i < n; i++) {
		memset(&reqs[i].resp, 0, sizeof(reqs[i].resp));
		err_clear(&reqs[i].err);
		reqs[i].rc = -1;
		reqs[i].attempt = 1;
	}
	if (start_curl(&e) < 0 || ((m = curl_multi_init()) == NULL &&
	    err_set(&e, ERR_IO, "cannot create a libcurl multi handle") < 0)) {
		for (size_t i = 0; i < n; i++)
			reqs[i].err = e;
		return -1;
	}
	st = xcalloc(n, sizeof(*st));
	hdrs = xcalloc(n, sizeof(*hdrs));
	for (size_t i = 0; i < n; i++) {
		struct http_opts one = *o;

		one.label = reqs[i].label;
		init_state(&st[i], curl_easy_init(), reqs[i].url, reqs[i].sink, &one,
		    &reqs[i].resp);
		st[i].name = reqs[i].label ? reqs[i].label : reqs[i].url;
		for (size_t k = 0; reqs[i].headers && reqs[i].headers[k]; k++)
			hdrs[i] = curl_slist_append(hdrs[i], reqs[i].headers[k]);
		setup(&st[i], hdrs[i], NULL, 0, o);
	}
	/* Rounds: all at once, then those to be tried again, after the
	 * longest wait that any of them was given. */
	do {
		double wait = 0;

		run_round(m, st, reqs, n, o);
		again = false;
		for (size_t i = 0; i < n; i++)
			if (reqs[i].attempt > 1 && reqs[i].rc == 1) {
				again = true;
				wait = st[i].wait > wait ? st[i].wait : wait;
			}
		if (again && !(o->stop && *o->stop))
			http_sleep(wait, o->stop);
	} while (again && !(o->stop && *o->stop));
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].rc != 0 && reqs[i].err.kind == ERR_NONE)
			reqs[i].rc = err_set(&reqs[i].err, ERR_REMOTE, "%s: stopped", st[i].name);
		else if (reqs[i].rc != 0)
			reqs[i].rc = -1;
		curl_multi_remove_handle(m, st[i].x.curl);	/* when stopped in flight */
		curl_easy_cleanup(st[i].x.curl);
		curl_slist_free_all(hdrs[i]);
	}
	curl_multi_cleanup(m);
	free(st);
	free(hdrs);
	return 0;
}
