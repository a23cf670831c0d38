/* eventhubs.c: Event Hubs connection strings and SAS tokens, and the Azure pieces
 * (azure.h) that Blob Storage shares with them. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azure.h"
#include "buf.h"
#include "hub_impl.h"

/*
 * The next ;-separated part of *s, white space around it dropped: its key
 * and value (val NULL when it has no '=').  False at the end.
 */
static bool
next_pair(const char **s, const char **key, size_t *klen, const char **val, size_t *vlen)
{
	const char *p = *s, *end, *eq;

	for (;;) {
		if (!*p)
			return false;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		*s = *end ? end + 1 : end;
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		while (end > p && strchr(" \t\r\n", end[-1]))
			end--;
		if (p < end)
			break;
		p = *s;
	}
	eq = memchr(p, '=', (size_t)(end - p));
	*key = p;
	*klen = (size_t)((eq ? eq : end) - p);
	*val = eq ? eq + 1 : NULL;
	*vlen = eq ? (size_t)(end - eq - 1) : 0;
	return true;
}

char *
az_conn_value(const char *s, const char *key)
{
	const char *k, *v;
	size_t kl, vl;

	while (next_pair(&s, &k, &kl, &v, &vl))
		if (v && kl == strlen(key) && strncasecmp(k, key, kl) == 0)
			return xstrndup(v, vl);
	return NULL;
}

bool
az_conn_shape_ok(const char *s)
{
	const char *k, *v;
	size_t kl, vl;
	bool any = false;

	while (next_pair(&s, &k, &kl, &v, &vl)) {
		if (v == NULL || kl == 0)
			return false;
		any = true;
	}
	return any;
}

int
eh_conn_parse(struct eh_conn *c, const char *s, struct err *e)
{
	char *endpoint = NULL, *host, *slash, *colon;

	memset(c, 0, sizeof(*c));
	if (!az_conn_shape_ok(s)) {
		err_set(e, ERR_USAGE, "the connection string is not KEY=VALUE pairs separated"
		    " by ';' (expected Endpoint=sb://NAMESPACE.servicebus.windows.net/;"
		    "SharedAccessKeyName=...;SharedAccessKey=...)");
		return -1;
	}
	if ((endpoint = az_conn_value(s, "Endpoint")) == NULL || !*endpoint) {
		err_set(e, ERR_USAGE, "the connection string has no Endpoint"
		    " (Endpoint=sb://NAMESPACE.servicebus.windows.net/)");
		goto fail;
	}
	if (strncasecmp(endpoint, "sb://", 5) != 0 || !endpoint[5] || endpoint[5] == '/') {
		err_set(e, ERR_USAGE, "the connection string's Endpoint does not start with"
		    " sb://HOST");
		goto fail;
	}
	host = endpoint + 5;
	if ((slash = strchr(host, '/')) != NULL)
		*slash = '\0';
	if ((colon = strchr(host, ':')) != NULL) {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (*end || port < 1 || port > 65535) {
			err_set(e, ERR_USAGE, "the connection string's Endpoint has a bad port");
			goto fail;
		}
		c->port = (int)port;
		*colon = '\0';
	}
	c->host = xstrdup(host);
	c->key_name = az_conn_value(s, "SharedAccessKeyName");
	c->key = az_conn_value(s, "SharedAccessKey");
	if (c->key_name == NULL || !*c->key_name) {
		err_set(e, ERR_USAGE, "the connection string for %s has no SharedAccessKeyName",
		    c->host);
		goto fail;
	}
	if (c->key == NULL || !*c->key) {
		err_set(e, ERR_USAGE, "the connection string for %s has no SharedAccessKey"
		    " (key name %s)", c->host, c->key_name);
		goto fail;
	}
	c->entity = az_conn_value(s, "EntityPath");
	if (c->entity && !*c->entity) {
		free(c->entity);
		c->entity = NULL;
	}
	c->raw = xstrdup(s);
	/* A string read from a file keeps no trailing newline in the password. */
	for (size_t n = strlen(c->raw); n > 0 && (c->raw[n - 1] == '\n' || c->raw[n - 1] == '\r'); n--)
		c->raw[n - 1] = '\0';
	free(endpoint);
	return 0;
fail:
	free(endpoint);
	eh_conn_free(c);
	return -1;
}

void
eh_conn_free(struct eh_conn *c)
{
	free(c->host);
	free(c->key_name);
	if (c->key)
		OPENSSL_cleanse(c->key, strlen(c->key));
	free(c->key);
	free(c->entity);
	if (c->raw)
		OPENSSL_cleanse(c->raw, strlen(c->raw));
	free(c->raw);
	memset(c, 0, sizeof(*c));
}

void
az_url_encode(struct buf *b, const char *s, size_t n)
{
	az_url_encode_keep(b, s, n, "");
}

void
az_url_encode_keep(struct buf *b, const char *s, size_t n, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    (ch != '\0' && strchr(keep, ch))) {
			buf_addc(b, (char)ch);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[ch >> 4]);
			buf_addc(b, hex[ch & 15]);
		}
	}
}

char *
eh_sas_token(const struct eh_conn *c, const char *uri, int64_t expiry)
{
	struct buf sr = { 0 }, sign = { 0 }, tok = { 0 };
	char sig[AZ_HMAC_B64_SIZE];

	/* The string signed: the encoded resource URI, a newline, the expiry. */
	az_url_encode(&sr, uri, strlen(uri));
	buf_printf(&sign, "%s\n%lld", sr.p, (long long)expiry);
	az_hmac_sha256_b64(c->key, strlen(c->key), sign.p, sign.len, sig);
	buf_printf(&tok, "SharedAccessSignature sr=%s&sig=", sr.p);
	az_url_encode(&tok, sig, strlen(sig));
	buf_printf(&tok, "&se=%lld&skn=", (long long)expiry);
	az_url_encode(&tok, c->key_name, strlen(c->key_name));
	buf_free(&sr);
	buf_free(&sign);
	return buf_steal(&tok);
}

void
az_hmac_sha256_b64(const void *key, size_t keylen, const char *msg, size_t len,
    char out[AZ_HMAC_B64_SIZE])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, len, mac, &maclen);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}
