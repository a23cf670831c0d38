/* azure.h: what Event Hubs and Blob Storage share: connection strings, URL encoding, HMAC. */
#ifndef CSA_AZURE_H
#define CSA_AZURE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* A copy of the value of key (in any case) in a "KEY=VALUE;..." connection
 * string, or NULL when it has none; caller frees. */
char *az_conn_value(const char *s, const char *key);

/* True when the string has a part and every part is KEY=VALUE. */
bool az_conn_shape_ok(const char *s);

/* Append s[0..n) to b, percent-encoding all but RFC 3986's unreserved
 * characters. */
void az_url_encode(struct buf *b, const char *s, size_t n);

/* The same, but the characters of keep stay as they are too. */
void az_url_encode_keep(struct buf *b, const char *s, size_t n, const char *keep);

/* The base64 HMAC-SHA256 of msg under key, NUL-terminated, in out. */
#define AZ_HMAC_B64_SIZE 48
void az_hmac_sha256_b64(const void *key, size_t keylen, const char *msg, size_t len,
    char out[AZ_HMAC_B64_SIZE]);

#endif
