/* hub_impl.h: what a hub back end provides; only hub.c and the back ends see it. */
#ifndef CSA_HUB_IMPL_H
#define CSA_HUB_IMPL_H

#include "hub.h"

/* The operations of hub.h, less the shared ones; see there for each. */
struct hub_ops {
	void (*close)(struct hub *h);
	int (*partition_count)(const struct hub *h);
	int (*send)(struct hub *h, struct hub_msg *msgs, size_t n, struct err *e);
	int (*flush)(struct hub *h, struct err *e);	/* NULL: send waits */
	int (*close_windows)(struct hub *h, bool all, int *files, struct err *e);
	int (*reader_open)(struct hub *h, const struct hub_reader_opts *o, struct err *e);
	int (*read)(struct hub *h, struct hub_msg *out, int max, int timeout_ms,
	    bool *caught_up, struct err *e);
	int (*checkpoint)(struct hub *h, const int64_t *last_seq, struct err *e);
	int (*reader_leave)(struct hub *h, struct err *e);
	int (*reader_missing)(struct hub *h, int *parts, int max);	/* NULL: 0 */
	int (*status)(struct hub *h, void (*fn)(const char *json, void *arg), void *arg,
	    struct err *e);
};

/* Every back end's handle starts with this. */
struct hub {
	const struct hub_ops *ops;
	char what[256];		/* hub_describe: never a secret */
	struct hub_follow *follow;	/* hub_reader_positions, in hub.c; NULL: none */
	long retries;		/* hub_retries: what the back end tried again */
};

/* An Event Hubs namespace, from a connection string. */
struct eh_conn {
	char *host;		/* <namespace>.servicebus.windows.net */
	int port;		/* from Endpoint, 0 when it names none */
	char *key_name;		/* SharedAccessKeyName */
	char *key;		/* SharedAccessKey: never printed */
	char *entity;		/* EntityPath, or NULL */
	char *raw;		/* the whole string: the Kafka password, never printed */
};

/*
 * Parse "Endpoint=sb://HOST/;SharedAccessKeyName=N;SharedAccessKey=K[;EntityPath=E]".
 * Errors are ERR_USAGE and never quote a value but the endpoint's host.
 */
int eh_conn_parse(struct eh_conn *c, const char *s, struct err *e);
void eh_conn_free(struct eh_conn *c);

/* "SharedAccessSignature sr=...&sig=...&se=...&skn=..." for the resource URI,
 * valid until expiry (seconds since the epoch); caller frees. */
char *eh_sas_token(const struct eh_conn *c, const char *uri, int64_t expiry);

struct hub *hub_local_open(const struct hub_opts *o, struct err *e);
/* A Kafka cluster: brokers "host:port,...", or Event Hubs' Kafka endpoint. */
struct hub *hub_kafka_open(const struct hub_opts *o, const char *brokers,
    const struct eh_conn *eh, struct err *e);
/* Event Hubs' REST API: send only. */
struct hub *hub_https_open(const struct hub_opts *o, const struct eh_conn *eh,
    struct err *e);

#endif
