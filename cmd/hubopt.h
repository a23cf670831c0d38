/* hubopt.h: the hub options that csa-eh-send and csa-eh-recv share. */
#ifndef CSA_HUBOPT_H
#define CSA_HUBOPT_H

#include "hub.h"
#include "opt.h"

/* Their getopt_long codes, above the commands' own (which start at 256). */
enum hubopt_code {
	HUBOPT_HUB = 'H',		/* -H, --hub DIR|kafka://... */
	HUBOPT_EVENTHUB = 'n',		/* -n, --eventhub NAME */
	HUBOPT_KAFKA = 'X',		/* -X, --kafka-option KEY=VALUE */
	HUBOPT_CONN_FILE = 0x1000,	/* --connection-string-file FILE */
	HUBOPT_TIMEOUT			/* --timeout DURATION */
};

/* Their table entries. */
#define HUBOPT_LONG							\
	{ "connection-string-file", required_argument, NULL, HUBOPT_CONN_FILE }, \
	{ "eventhub", required_argument, NULL, HUBOPT_EVENTHUB },	\
	{ "hub", required_argument, NULL, HUBOPT_HUB },			\
	{ "kafka-option", required_argument, NULL, HUBOPT_KAFKA },	\
	{ "timeout", required_argument, NULL, HUBOPT_TIMEOUT }

/* Take one of them into o: OPT_RUN, or the exit status of a bad value
 * (2), or of a file that cannot be read (3), its message printed. */
int hubopt_take(struct hub_opts *o, enum hubopt_code code, const char *arg);

/* Their entries in an opt_parse table, into the struct hub_opts *h. */
#define HUBOPT_ENTRIES(h)						\
	OPT_E_CALL("connection-string-file", 0, (h), hubopt_call),	\
	OPT_E_STRING("eventhub", 'n', &(h)->eventhub),			\
	OPT_E_STRING("hub", 'H', &(h)->location),			\
	OPT_E_CALL("kafka-option", 'X', (h), hubopt_call),		\
	OPT_E_DURATION("timeout", 0, &(h)->timeout_ms, 1, OPT_NO_MAX)
/* The OPT_K_CALL of --connection-string-file and --kafka-option. */
int hubopt_call(void *h, const char *name, const char *arg);

#endif
