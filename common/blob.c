/* blob.c: the Blob service REST API (List Blobs, Get Blob) over common/http, signed with Shared Key, a SAS or a bearer token. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <expat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azure.h"
#include "blob.h"
#include "buf.h"

/* The REST API version asked for: one Azurite and every Azure region serve. */
#define BLOB_API_VERSION "2021-12-02"

/* Azurite's well-known development account (UseDevelopmentStorage=true);
 * published by Microsoft, no secret. */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

bool
blob_is_url(const char *arg)
{
	return strncasecmp(arg, "http://", 7) == 0 || strncasecmp(arg, "https://", 8) == 0 ||
	    strncasecmp(arg, "abfs://", 7) == 0 || strncasecmp(arg, "abfss://", 8) == 0;
}

void
blob_cred_free(struct blob_cred *c)
{
	free(c->account);
	if (c->key)
		OPENSSL_cleanse(c->key, c->keylen);
	free(c->key);
	if (c->sas)
		OPENSSL_cleanse(c->sas, strlen(c->sas));
	free(c->sas);
	if (c->token)
		OPENSSL_cleanse(c->token, strlen(c->token));
	free(c->token);
	free(c->endpoint);
	memset(c, 0, sizeof(*c));
}

/* Decode an account key (base64) into c; -1 with ERR_USAGE naming where
 * it came from. */
static int
set_key(struct blob_cred *c, const char *b64, const char *source, struct err *e)
{
	size_t n = strlen(b64), pad = 0;
	int got;

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)b64[i]) && b64[i] != '+' && b64[i] != '/' &&
		    !(b64[i] == '=' && i + 2 >= n))
			return err_set(e, ERR_USAGE, "%s: the account key is not base64", source);
	if (n == 0 || n % 4 != 0)
		return err_set(e, ERR_USAGE, "%s: the account key is not base64 (its length is"
		    " not a multiple of 4)", source);
	pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
	c->key = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(c->key, (const unsigned char *)b64, (int)n);
	if (got < 0)
		return err_set(e, ERR_USAGE, "%s: the account key is not base64", source);
	c->keylen = (size_t)got - pad;
	c->kind = BLOB_KEY;
	c->source = source;
	return 0;
}

/* A SAS as given (with or without its '?'), kept without it. */
static void
set_sas(struct blob_cred *c, const char *sas, const char *source)
{
	c->sas = xstrdup(sas[0] == '?' ? sas + 1 : sas);
	c->kind = BLOB_SAS;
	c->source = source;
}

static int
cred_from_conn(struct blob_cred *c, const char *s, struct err *e)
{
	static const char var[] = "AZURE_STORAGE_CONNECTION_STRING";
	char *dev, *key = NULL, *sas = NULL;
	int rc = 0;

	if (!az_conn_shape_ok(s))
		return err_set(e, ERR_USAGE, "%s is not KEY=VALUE pairs separated by ';' (expected"
		    " DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...)", var);
	dev = az_conn_value(s, "UseDevelopmentStorage");
	if (dev && strcasecmp(dev, "true") == 0) {
		free(dev);
		c->account = xstrdup(DEV_ACCOUNT);
		c->endpoint = xstrdup(DEV_ENDPOINT);
		return set_key(c, DEV_KEY, var, e);
	}
	free(dev);
	c->account = az_conn_value(s, "AccountName");
	c->endpoint = az_conn_value(s, "BlobEndpoint");
	if (c->endpoint && !*c->endpoint) {
		free(c->endpoint);
		c->endpoint = NULL;
	}
	key = az_conn_value(s, "AccountKey");
	sas = az_conn_value(s, "SharedAccessSignature");
	if (key && *key) {
		if (c->account == NULL || !*c->account)
			rc = err_set(e, ERR_USAGE, "%s has an AccountKey but no AccountName", var);
		else
			rc = set_key(c, key, var, e);
	} else if (sas && *sas) {
		set_sas(c, sas, var);
	} else {
		rc = err_set(e, ERR_USAGE, "%s has neither AccountKey nor SharedAccessSignature",
		    var);
	}
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	if (sas)
		OPENSSL_cleanse(sas, strlen(sas));
	free(key);
	free(sas);
	return rc;
}

int
blob_cred_from_env(struct blob_cred *c, struct err *e)
{
	const char *conn = getenv("AZURE_STORAGE_CONNECTION_STRING");
	const char *account = getenv("AZURE_STORAGE_ACCOUNT");
	const char *key = getenv("AZURE_STORAGE_KEY");
	const char *sas = getenv("AZURE_STORAGE_SAS_TOKEN");
	const char *token = getenv("AZURE_STORAGE_TOKEN");
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->source = "no credential";
	if (conn && *conn) {
		rc = cred_from_conn(c, conn, e);
	} else if (key && *key) {
		if (account == NULL || !*account)
			rc = err_set(e, ERR_USAGE, "AZURE_STORAGE_KEY is set but AZURE_STORAGE_ACCOUNT"
			    " is not: a key signs for one account");
		else {
			c->account = xstrdup(account);
			rc = set_key(c, key, "AZURE_STORAGE_KEY", e);
		}
	} else if (sas && *sas) {
		set_sas(c, sas, "AZURE_STORAGE_SAS_TOKEN");
	} else if (token && *token) {
		c->token = xstrdup(token);
		c->kind = BLOB_TOKEN;
		c->source = "AZURE_STORAGE_TOKEN";
	}
	if (rc == 0 && c->account == NULL && account && *account)
		c->account = xstrdup(account);
	if (rc < 0)
		blob_cred_free(c);
	return rc;
}

void
blob_loc_free(struct blob_loc *l)
{
	free(l->endpoint);
	free(l->account);
	free(l->container);
	free(l->prefix);
	if (l->sas)
		OPENSSL_cleanse(l->sas, strlen(l->sas));
	free(l->sas);
	free(l->display);
	memset(l, 0, sizeof(*l));
}

/* %XX escapes decoded; caller frees. */
static char *
unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* A URL's parts: scheme (without "://"), authority, path (without its
 * first '/'), query (without '?'), each a copy; caller frees. */
struct url_parts {
	char *scheme, *authority, *path, *query;
};

static void
url_parts_free(struct url_parts *u)
{
	free(u->scheme);
	free(u->authority);
	free(u->path);
	if (u->query)
		OPENSSL_cleanse(u->query, strlen(u->query));
	free(u->query);
}

static int
split_url(const char *url, struct url_parts *u, struct err *e)
{
	const char *sep = strstr(url, "://"), *auth, *slash, *q, *end;

	memset(u, 0, sizeof(*u));
	if (sep == NULL)
		return err_set(e, ERR_USAGE, "not a URL");
	auth = sep + 3;
	q = strchr(auth, '?');
	end = q ? q : auth + strlen(auth);
	slash = memchr(auth, '/', (size_t)(end - auth));
	if (slash == NULL)
		slash = end;
	if (slash == auth)
		return err_set(e, ERR_USAGE, "a URL without a host");
	u->scheme = xstrndup(url, (size_t)(sep - url));
	for (char *p = u->scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	u->authority = xstrndup(auth, (size_t)(slash - auth));
	u->path = xstrndup(slash < end ? slash + 1 : end, (size_t)(end - (slash < end ? slash + 1 : end)));
	if (q && q[1])
		u->query = xstrdup(q + 1);
	return 0;
}

/*
 * The account of a host that names it (ACCOUNT.blob.SUFFIX or
 * ACCOUNT.dfs.SUFFIX, any port), and in *rest where ".blob" or ".dfs"
 * starts; NULL for any other host.  Caller frees.
 */
static char *
host_account(const char *authority, const char **rest)
{
	const char *dot = strchr(authority, '.');

	if (dot == NULL || dot == authority)
		return NULL;
	if (strncasecmp(dot, ".blob.", 6) != 0 && strncasecmp(dot, ".dfs.", 5) != 0)
		return NULL;
	*rest = dot;
	return xstrndup(authority, (size_t)(dot - authority));
}

/* Split path "CONTAINER[/PREFIX]" into l. */
static int
set_container(struct blob_loc *l, const char *path, struct err *e)
{
	const char *slash = strchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : strlen(path);

	if (n == 0)
		return err_set(e, ERR_USAGE, "the URL names no container");
	l->container = unescape(path, n);
	l->prefix = unescape(slash ? slash + 1 : "", slash ? strlen(slash + 1) : 0);
	return 0;
}

/* The account an endpoint names (host ACCOUNT.blob..., or the first path
 * segment of a path-style one), or NULL; caller frees. */
static char *
endpoint_account(const char *endpoint)
{
	struct url_parts u;
	struct err e;
	const char *rest;
	char *a = NULL;

	if (split_url(endpoint, &u, &e) < 0)
		return NULL;
	if ((a = host_account(u.authority, &rest)) == NULL && u.path[0]) {
		size_t n = strcspn(u.path, "/");

		a = xstrndup(u.path, n);
	}
	url_parts_free(&u);
	return a;
}

/* Parse url into l as blob_loc_parse says, ignoring an endpoint. */
static int
parse_own(const char *url, struct blob_loc *l, struct err *e)
{
	struct url_parts u;
	const char *rest, *at;
	struct buf ep = { 0 };
	int rc = 0;

	if (split_url(url, &u, e) < 0)
		return -1;
	if (strcmp(u.scheme, "abfs") == 0 || strcmp(u.scheme, "abfss") == 0) {
		/* abfss://CONTAINER@ACCOUNT.dfs.SUFFIX/PATH: the Blob endpoint of
		 * the same account serves the same files. */
		at = strchr(u.authority, '@');
		if (at == NULL || at == u.authority) {
			rc = err_set(e, ERR_USAGE, "an %s URL is %s://CONTAINER@ACCOUNT.dfs.core.windows.net"
			    "/PATH", u.scheme, u.scheme);
			goto out;
		}
		l->account = host_account(at + 1, &rest);
		if (l->account == NULL) {
			rc = err_set(e, ERR_USAGE, "%s://...@%s: not a host ACCOUNT.dfs.SUFFIX",
			    u.scheme, at + 1);
			goto out;
		}
		buf_printf(&ep, "https://%s.blob.%s", l->account,
		    strncasecmp(rest, ".dfs.", 5) == 0 ? rest + 5 : rest + 6);
		l->container = unescape(u.authority, (size_t)(at - u.authority));
		l->prefix = unescape(u.path, strlen(u.path));
	} else if (strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0) {
		if ((l->account = host_account(u.authority, &rest)) != NULL) {
			buf_printf(&ep, "%s://%s.blob.%s", u.scheme, l->account,
			    strncasecmp(rest, ".dfs.", 5) == 0 ? rest + 5 : rest + 6);
			rc = set_container(l, u.path, e);
		} else {
			/* Path style: http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]. */
			size_t n = strcspn(u.path, "/");

			if (n == 0 || u.path[n] != '/') {
				rc = err_set(e, ERR_USAGE, "a URL of host %s is read as"
				    " %s://%s/ACCOUNT/CONTAINER[/PREFIX]", u.authority, u.scheme,
				    u.authority);
				goto out;
			}
			l->account = xstrndup(u.path, n);
			buf_printf(&ep, "%s://%s/%s", u.scheme, u.authority, l->account);
			rc = set_container(l, u.path + n + 1, e);
		}
	} else {
		rc = err_set(e, ERR_USAGE, "%s: not a scheme for Blob Storage (https, abfss)",
		    u.scheme);
		goto out;
	}
	if (u.query) {
		l->sas = u.query;
		u.query = NULL;
	}
out:
	l->endpoint = buf_steal(&ep);
	url_parts_free(&u);
	return rc;
}

int
blob_loc_parse(const char *url, const char *endpoint, struct blob_loc *l, struct err *e)
{
	struct buf d = { 0 };
	size_t elen;
	int rc;

	memset(l, 0, sizeof(*l));
	elen = endpoint ? strlen(endpoint) : 0;
	while (elen > 0 && endpoint[elen - 1] == '/')
		elen--;
	if (endpoint && !blob_is_url(endpoint)) {
		rc = err_set(e, ERR_USAGE, "the Blob endpoint is not an http or https URL");
	} else if (endpoint && strncasecmp(url, endpoint, elen) == 0 && url[elen] == '/') {
		/* A URL under the endpoint: CONTAINER[/PREFIX] follows it. */
		const char *path = url + elen + 1, *q = strchr(path, '?');
		char *p = xstrndup(path, q ? (size_t)(q - path) : strlen(path));

		l->endpoint = xstrndup(endpoint, elen);
		l->account = endpoint_account(l->endpoint);
		rc = set_container(l, p, e);
		if (q && q[1])
			l->sas = xstrdup(q + 1);
		free(p);
	} else {
		rc = parse_own(url, l, e);
		if (rc == 0 && endpoint) {
			free(l->endpoint);
			l->endpoint = xstrndup(endpoint, elen);
		}
	}
	if (rc < 0) {
		blob_loc_free(l);
		return -1;
	}
	buf_printf(&d, "%s/%s", l->endpoint, l->container);
	if (*l->prefix) {
		buf_addc(&d, '/');
		buf_adds(&d, l->prefix);
	}
	l->display = buf_steal(&d);
	return 0;
}

int
blob_check_cred(const struct blob_loc *l, const struct blob_cred *c, struct err *e)
{
	if (l->sas || c->kind != BLOB_KEY)
		return 0;
	if (l->account && c->account && strcmp(l->account, c->account) != 0)
		return err_set(e, ERR_USAGE, "%s: the key from %s is for account %s, not %s",
		    l->display, c->source, c->account, l->account);
	return 0;
}

/* Append a blob name (or a container) to a URL path: '/' and the
 * characters RFC 3986 allows in a path segment as they are, others
 * %-escaped, so that the path signed is the path sent. */
static void
put_path(struct buf *b, const char *s)
{
	az_url_encode_keep(b, s, strlen(s), "/!$&'()*+,;=:@");
}

char *
blob_url(const struct blob_loc *l, const char *name)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s/", l->endpoint);
	put_path(&b, l->container);
	buf_addc(&b, '/');
	put_path(&b, name);
	return buf_steal(&b);
}

/* A query parameter; lists of them are kept sorted by name. */
struct qparam {
	const char *name, *value;
};

/* RFC 1123 time, as x-ms-date takes it. */
static void
http_date(char out[40])
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
	    mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * A signed GET: the URL (endpoint, container, the name when not NULL, the
 * query and a SAS) in *url, and the headers (x-ms-date, x-ms-version, and
 * Authorization for a key or token) in hdrs, NULL-terminated.  Caller
 * frees url and each header.
 */
static void
sign_get(const struct blob_loc *l, const struct blob_cred *c, const char *name,
    const struct qparam *q, size_t nq, struct buf *url, char *hdrs[4])
{
	const char *sas = l->sas ? l->sas : c->kind == BLOB_SAS ? c->sas : NULL;
	const char *path_start;
	char date[40];
	struct buf path = { 0 }, h = { 0 };
	int nh = 0;

	buf_reset(url);
	buf_adds(url, l->endpoint);
	buf_addc(&path, '/');
	put_path(&path, l->container);
	if (name) {
		buf_addc(&path, '/');
		put_path(&path, name);
	}
	buf_add(url, path.p, path.len);
	for (size_t i = 0; i < nq; i++) {
		buf_addc(url, i == 0 ? '?' : '&');
		buf_printf(url, "%s=", q[i].name);
		az_url_encode(url, q[i].value, strlen(q[i].value));
	}
	/* A SAS authorizes alone: no key or token goes with it. */
	if (sas)
		buf_printf(url, "%c%s", nq == 0 ? '?' : '&', sas);
	http_date(date);
	buf_printf(&h, "x-ms-date: %s", date);
	hdrs[nh++] = buf_steal(&h);
	hdrs[nh++] = xstrdup("x-ms-version: " BLOB_API_VERSION);
	if (sas == NULL && c->kind == BLOB_KEY) {
		/* Shared Key: the verb, eleven empty standard headers (a GET
		 * has no body, no conditions, no range), the x-ms- headers
		 * sorted, and the resource: the account, the path as sent
		 * (with the account again for a path-style endpoint), and the
		 * query parameters sorted, decoded. */
		struct buf s = { 0 };
		char sig[AZ_HMAC_B64_SIZE];

		path_start = strstr(l->endpoint, "://");
		path_start = path_start ? strchr(path_start + 3, '/') : NULL;
		buf_printf(&s, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s%s",
		    date, BLOB_API_VERSION, c->account, path_start ? path_start : "");
		buf_add(&s, path.p, path.len);
		for (size_t i = 0; i < nq; i++)
			buf_printf(&s, "\n%s:%s", q[i].name, q[i].value);
		az_hmac_sha256_b64(c->key, c->keylen, s.p, s.len, sig);
		buf_printf(&h, "Authorization: SharedKey %s:%s", c->account, sig);
		hdrs[nh++] = buf_steal(&h);
		OPENSSL_cleanse(s.p, s.len);
		buf_free(&s);
	} else if (sas == NULL && c->kind == BLOB_TOKEN) {
		buf_printf(&h, "Authorization: Bearer %s", c->token);
		hdrs[nh++] = buf_steal(&h);
	}
	hdrs[nh] = NULL;
	buf_free(&path);
}

static void
free_hdrs(char *hdrs[4])
{
	for (int i = 0; hdrs[i]; i++) {
		OPENSSL_cleanse(hdrs[i], strlen(hdrs[i]));
		free(hdrs[i]);
	}
}

/*
 * The XML of a listing or of an error, read with expat: the names of the
 * open elements, and the text of the innermost.
 */
struct xml_state {
	char stack[8][32];
	int depth;
	struct buf text;
	struct blob_list *out;	/* NULL when reading an error */
	struct blob_item item;
	bool directory;		/* ADLS Gen2: Properties/ResourceType directory */
	char *next_marker;
	char *code, *message;
};

static bool
in(const struct xml_state *x, const char *parent, const char *el)
{
	/* Deeper than the stack keeps: nothing of a listing is there. */
	return x->depth >= 2 && x->depth <= 8 && strcmp(x->stack[x->depth - 1], el) == 0 &&
	    strcmp(x->stack[x->depth - 2], parent) == 0;
}

static void XMLCALL
on_start(void *data, const XML_Char *el, const XML_Char **attr)
{
	struct xml_state *x = data;

	(void)attr;
	if (x->depth < 8)
		snprintf(x->stack[x->depth], sizeof(x->stack[0]), "%s", el);
	x->depth++;
	buf_reset(&x->text);
	if (x->out && in(x, "Blobs", "Blob")) {
		free(x->item.name);	/* of a Blob that never ended */
		free(x->item.etag);
		memset(&x->item, 0, sizeof(x->item));
		x->directory = false;
	}
}

static void XMLCALL
on_end(void *data, const XML_Char *el)
{
	struct xml_state *x = data;
	char *t = xstrndup(x->text.p ? x->text.p : "", x->text.len);

	(void)el;
	if (x->out && in(x, "Blob", "Name")) {
		free(x->item.name);
		x->item.name = t;
		t = NULL;
	} else if (x->out && in(x, "Properties", "Etag")) {
		/* Quoted in headers, bare in listings: kept bare. */
		size_t n = strlen(t);

		free(x->item.etag);
		x->item.etag = n >= 2 && t[0] == '"' && t[n - 1] == '"' ? xstrndup(t + 1, n - 2) : t;
		if (x->item.etag != t)
			free(t);
		t = NULL;
	} else if (x->out && in(x, "Properties", "Content-Length")) {
		x->item.size = strtoll(t, NULL, 10);
	} else if (x->out && in(x, "Properties", "ResourceType")) {
		x->directory = strcmp(t, "directory") == 0;
	} else if (x->out && in(x, "Blobs", "Blob")) {
		struct blob_list *o = x->out;
		size_t n = x->item.name ? strlen(x->item.name) : 0;

		/* Directories of ADLS Gen2 are no files to read. */
		if (n == 0 || x->directory || x->item.name[n - 1] == '/') {
			free(x->item.name);
			free(x->item.etag);
		} else {
			if (o->n == o->cap) {
				o->cap = o->cap ? o->cap * 2 : 256;
				o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
			}
			if (x->item.etag == NULL)
				x->item.etag = xstrdup("");
			o->v[o->n++] = x->item;
		}
		memset(&x->item, 0, sizeof(x->item));
	} else if (x->out && in(x, "EnumerationResults", "NextMarker")) {
		free(x->next_marker);
		x->next_marker = t;
		t = NULL;
	} else if (in(x, "Error", "Code")) {
		free(x->code);
		x->code = t;
		t = NULL;
	} else if (in(x, "Error", "Message")) {
		/* Its first line; the others name the request and the time. */
		t[strcspn(t, "\r\n")] = '\0';
		free(x->message);
		x->message = t;
		t = NULL;
	}
	free(t);
	x->depth--;
	buf_reset(&x->text);
}

static void XMLCALL
on_text(void *data, const XML_Char *s, int len)
{
	struct xml_state *x = data;

	if (x->text.len < 65536)
		buf_add(&x->text, s, (size_t)len);
}

static void
xml_state_free(struct xml_state *x)
{
	buf_free(&x->text);
	free(x->item.name);
	free(x->item.etag);
	free(x->next_marker);
	free(x->code);
	free(x->message);
}

/* Parse body into x; -1 with expat's reason in e. */
static int
parse_xml(const struct buf *body, struct xml_state *x, struct err *e)
{
	XML_Parser p = XML_ParserCreate(NULL);
	int rc = 0;

	if (p == NULL)
		return err_set(e, ERR_IO, "cannot create an XML parser");
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	if (XML_Parse(p, body->p ? body->p : "", (int)body->len, 1) == XML_STATUS_ERROR)
		rc = err_set(e, ERR_DATA, "the listing is not XML: %s at line %lu",
		    XML_ErrorString(XML_GetErrorCode(p)),
		    (unsigned long)XML_GetCurrentLineNumber(p));
	XML_ParserFree(p);
	return rc;
}

/* What a refusal of the server may mean for the credential used. */
static const char *
cred_hint(const struct blob_loc *l, const struct blob_cred *c)
{
	if (l->sas)
		return "the SAS in the URL may have expired, or lack the list (l) and read (r)"
		    " permissions for this container";
	switch (c->kind) {
	case BLOB_KEY:
		return "the account key may be wrong for the account, or this machine's clock"
		    " more than 15 minutes off";
	case BLOB_SAS:
		return "the SAS may have expired, or lack the list (l) and read (r) permissions"
		    " for this container";
	case BLOB_TOKEN:
		return "the token may have expired (az account get-access-token --resource"
		    " https://storage.azure.com/), or its identity lack the role Storage Blob"
		    " Data Reader";
	default:
		return "set AZURE_STORAGE_CONNECTION_STRING,"
		    " AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or"
		    " AZURE_STORAGE_TOKEN, or add a SAS to the URL";
	}
}

/* Which credential a request used, without its value. */
static void
cred_name(const struct blob_loc *l, const struct blob_cred *c, struct buf *b)
{
	if (l->sas)
		buf_adds(b, "a SAS from the URL");
	else if (c->kind == BLOB_KEY)
		buf_printf(b, "Shared Key of account %s from %s", c->account, c->source);
	else if (c->kind == BLOB_SAS)
		buf_printf(b, "a SAS from %s", c->source);
	else if (c->kind == BLOB_TOKEN)
		buf_printf(b, "a bearer token from %s", c->source);
	else
		buf_adds(b, "no credential");
}

/* Turn a failed request into a message that says what the server said
 * and, when it refused, what the credential may lack. */
static int
remote_fault(const char *what, const struct http_resp *r, const struct blob_loc *l,
    const struct blob_cred *c, struct err *e)
{
	struct xml_state x;
	struct err xe;
	struct buf who = { 0 };
	char tail[40] = "";

	if (e->kind != ERR_REMOTE || r->status < 400)
		return -1;
	memset(&x, 0, sizeof(x));
	if (r->body.len > 0)
		parse_xml(&r->body, &x, &xe);
	cred_name(l, c, &who);
	if (r->attempts > 1)
		snprintf(tail, sizeof(tail), " (after %d attempts)", r->attempts);
	if (r->status == 401 || r->status == 403 ||
	    (r->status == 404 && c->kind == BLOB_ANON && !l->sas))
		err_set(e, ERR_REMOTE, "%s: HTTP %ld%s%s with %s: %s", what, r->status,
		    x.code ? " " : "", x.code ? x.code : "", who.p, cred_hint(l, c));
	else
		err_set(e, ERR_REMOTE, "%s: HTTP %ld%s%s%s%s%s%s", what, r->status,
		    x.code ? " " : "", x.code ? x.code : "", x.message ? " (" : "",
		    x.message ? x.message : "", x.message ? ")" : "", tail);
	buf_free(&who);
	xml_state_free(&x);
	return -1;
}

int
blob_parse_listing(const char *xml, size_t len, struct blob_list *out, char **next,
    struct err *e)
{
	struct xml_state x;
	struct buf body = { .p = (char *)xml, .len = len };
	int rc;

	memset(&x, 0, sizeof(x));
	x.out = out;
	*next = NULL;
	rc = parse_xml(&body, &x, e);
	if (rc == 0 && x.next_marker && *x.next_marker) {
		*next = x.next_marker;
		x.next_marker = NULL;
	}
	xml_state_free(&x);
	return rc;
}

void
blob_list_free(struct blob_list *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->v[i].name);
		free(out->v[i].etag);
	}
	free(out->v);
	memset(out, 0, sizeof(*out));
}

int
blob_list(const struct blob_loc *l, const struct blob_cred *c, int maxresults,
    const struct http_opts *o, struct blob_list *out, struct err *e)
{
	struct http_opts ho = *o;
	struct buf url = { 0 };
	char *marker = NULL, *prev, max[24];
	int rc = 0;

	ho.label = l->display;
	snprintf(max, sizeof(max), "%d", maxresults);
	do {
		struct qparam q[5];
		struct http_resp r;
		char *hdrs[4];
		size_t nq = 0;

		/* Sorted by name, as Shared Key signs them. */
		q[nq++] = (struct qparam){ "comp", "list" };
		if (marker)
			q[nq++] = (struct qparam){ "marker", marker };
		if (maxresults > 0)
			q[nq++] = (struct qparam){ "maxresults", max };
		if (*l->prefix)
			q[nq++] = (struct qparam){ "prefix", l->prefix };
		q[nq++] = (struct qparam){ "restype", "container" };
		sign_get(l, c, NULL, q, nq, &url, hdrs);
		rc = http_get_to(url.p, (const char *const *)hdrs, NULL, &ho, &r, e);
		free_hdrs(hdrs);
		out->pages++;
		if (rc < 0) {
			remote_fault(l->display, &r, l, c, e);
			http_resp_free(&r);
			break;
		}
		prev = marker;
		rc = blob_parse_listing(r.body.p, r.body.len, out, &marker, e);
		/* Not a listing (another server behind the URL): the server's
		 * fault, as a status would be. */
		if (rc < 0) {
			err_prefix(e, "%s", l->display);
			e->kind = ERR_REMOTE;
		}
		/* A marker that does not move would list for ever. */
		if (rc == 0 && marker && prev && strcmp(marker, prev) == 0)
			rc = err_set(e, ERR_REMOTE, "%s: the listing's NextMarker does not move",
			    l->display);
		free(prev);
		http_resp_free(&r);
	} while (rc == 0 && marker);
	free(marker);
	buf_free(&url);
	return rc;
}

int
blob_get(const struct blob_loc *l, const struct blob_cred *c, const char *name,
    FILE *sink, const struct http_opts *o, char **etag, long *status, struct err *e)
{
	struct blob_get_req req = { .name = name, .sink = sink };

	blob_get_many(l, c, &req, 1, o);
	*etag = req.etag;
	*status = req.status;
	if (req.rc < 0)
		*e = req.err;
	return req.rc;
}

void
blob_get_many(const struct blob_loc *l, const struct blob_cred *c,
    struct blob_get_req *reqs, size_t n, const struct http_opts *o)
{
	struct http_get_req *hr = xcalloc(n, sizeof(*hr));
	struct buf *urls = xcalloc(n, sizeof(*urls));
	char **labels = xcalloc(n, sizeof(*labels));
	char ***h = xcalloc(n, sizeof(*h));

	for (size_t i = 0; i < n; i++) {
		h[i] = xcalloc(4, sizeof(char *));
		labels[i] = blob_url(l, reqs[i].name);
		sign_get(l, c, reqs[i].name, NULL, 0, &urls[i], h[i]);
		hr[i].url = urls[i].p;
		hr[i].headers = (const char *const *)h[i];
		hr[i].sink = reqs[i].sink;
		hr[i].label = labels[i];
	}
	http_get_many(hr, n, o);
	for (size_t i = 0; i < n; i++) {
		struct http_resp *r = &hr[i].resp;

		reqs[i].rc = hr[i].rc;
		reqs[i].err = hr[i].err;
		reqs[i].status = r->status;
		reqs[i].etag = NULL;
		if (hr[i].rc < 0) {
			remote_fault(labels[i], r, l, c, &reqs[i].err);
		} else if (r->etag) {
			size_t k = strlen(r->etag);

			reqs[i].etag = k >= 2 && r->etag[0] == '"' ? xstrndup(r->etag + 1, k - 2) :
			    xstrdup(r->etag);
		}
		http_resp_free(r);
		free_hdrs(h[i]);
		free(h[i]);
		buf_free(&urls[i]);
		free(labels[i]);
	}
	free(hr);
	free(urls);
	free(labels);
	free(h);
}
