/* hubopt.h: the hub options that csa-eh-send and csa-eh-recv share. */
#ifndef CSA_HUBOPT_H
#define CSA_HUBOPT_H

#include "hub.h"

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

#endif
