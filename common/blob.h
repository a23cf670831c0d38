/* blob.h: Azure Blob Storage (and ADLS Gen2 through its Blob endpoint): locations, credentials, listing, downloads. */
#ifndef CSA_BLOB_H
#define CSA_BLOB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "http.h"

/*
 * Ownership: every char * in the structs below is owned by its struct and
 * released by its _free function (which accepts a zeroed struct).  Nothing
 * here prints; secrets (keys, signatures, tokens) never go into an error
 * message: messages name a location by its URL without the query.
 */

/* How requests are authorized, and where that came from (for messages). */
enum blob_auth { BLOB_ANON, BLOB_KEY, BLOB_SAS, BLOB_TOKEN };

struct blob_cred {
	enum blob_auth kind;
	char *account;		/* the account a key or connection string is for */
	unsigned char *key;	/* the decoded account key (BLOB_KEY) */
	size_t keylen;
	char *sas;		/* a SAS query, without '?' (BLOB_SAS) */
	char *token;		/* an Azure AD access token (BLOB_TOKEN) */
	char *endpoint;		/* a connection string's BlobEndpoint, or NULL */
	const char *source;	/* where it came from, e.g. "AZURE_STORAGE_KEY" */
};

/*
 * The credential Azure's own tools would take from the environment, first
 * found first: AZURE_STORAGE_CONNECTION_STRING (AccountKey, or
 * SharedAccessSignature; BlobEndpoint, UseDevelopmentStorage=true),
 * AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,
 * AZURE_STORAGE_TOKEN (bearer).  None set is BLOB_ANON.  -1 with ERR_USAGE
 * for a malformed one (the message names the variable, not the value).
 */
int blob_cred_from_env(struct blob_cred *c, struct err *e);
void blob_cred_free(struct blob_cred *c);

/* A container and a prefix in it, and the endpoint that serves them. */
struct blob_loc {
	char *endpoint;		/* scheme://host[:port][/account], no trailing '/' */
	char *account;		/* NULL when neither URL nor endpoint says it */
	char *container;
	char *prefix;		/* decoded; "" for the whole container */
	char *sas;		/* a SAS given in the URL, or NULL */
	char *display;		/* endpoint/container/prefix, for messages */
};

/* True when arg is a URL this module reads (http, https, abfs, abfss). */
bool blob_is_url(const char *arg);

/*
 * Parse https://ACCOUNT.blob.SUFFIX/CONTAINER[/PREFIX],
 * abfs[s]://CONTAINER@ACCOUNT.dfs.SUFFIX[/PATH] (read through the Blob
 * endpoint ACCOUNT.blob.SUFFIX), or a path-style URL
 * (http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX], as Azurite serves).  With
 * endpoint (--blob-endpoint, a connection string's BlobEndpoint) the
 * requests go there: a URL under it gives CONTAINER[/PREFIX] after it, any
 * other its account, container and prefix.  -1 with ERR_USAGE.
 */
int blob_loc_parse(const char *url, const char *endpoint, struct blob_loc *l, struct err *e);
void blob_loc_free(struct blob_loc *l);

/*
 * Check that c can sign for l (the SAS of l's URL wins over c), and say in
 * out which credential a request uses, for messages ("Shared Key of
 * account A (AZURE_STORAGE_KEY)").  -1 with ERR_USAGE when a key is for
 * another account.
 */
int blob_check_cred(const struct blob_loc *l, const struct blob_cred *c, struct err *e);

/* One blob of a listing. */
struct blob_item {
	char *name;
	char *etag;		/* without quotes */
	int64_t size;
};

struct blob_list {
	struct blob_item *v;
	size_t n, cap;
	int pages;		/* list requests made */
};

/*
 * List every blob of l's container whose name starts with l's prefix,
 * following NextMarker through every page (maxresults 0: the server's
 * page size).  Items are appended to out.  -1 with ERR_REMOTE (the
 * message says what the server refused and, for 401/403, which credential
 * was used and what it may lack) or ERR_DATA (a listing that is not XML).
 */
int blob_list(const struct blob_loc *l, const struct blob_cred *c, int maxresults,
    const struct http_opts *o, struct blob_list *out, struct err *e);
void blob_list_free(struct blob_list *out);

/*
 * One page of a listing (List Blobs' XML, from the server): its blobs
 * appended to out (directories of ADLS Gen2 passed over), and in *next its
 * NextMarker (caller frees), NULL on the last page.  -1 with ERR_DATA when
 * it is not XML; what came before the fault stays in out.
 */
int blob_parse_listing(const char *xml, size_t len, struct blob_list *out, char **next,
    struct err *e);

/* The URL of a blob as messages and checkpoints name it (no query);
 * caller frees. */
char *blob_url(const struct blob_loc *l, const char *name);

/*
 * GET blob name into sink (emptied before each attempt); *etag is the
 * ETag of what was read, without quotes (caller frees), *status the last
 * HTTP status (0 when no response came).  -1 with ERR_REMOTE or ERR_IO
 * as blob_list.
 */
int blob_get(const struct blob_loc *l, const struct blob_cred *c, const char *name,
    FILE *sink, const struct http_opts *o, char **etag, long *status, struct err *e);

/* One blob of blob_get_many: the caller fills name and sink; the rest
 * says how it went, as blob_get does (etag: caller frees). */
struct blob_get_req {
	const char *name;
	FILE *sink;
	char *etag;
	long status;
	struct err err;
	int rc;
};

/* blob_get for several blobs of l at once (libcurl multi). */
void blob_get_many(const struct blob_loc *l, const struct blob_cred *c,
    struct blob_get_req *reqs, size_t n, const struct http_opts *o);

#endif
