/* hubopt.h: the hub options that csa-eh-send and csa-eh-recv share. */
#ifndef CSA_HUBOPT_H
#define CSA_HUBOPT_H

#include "hub.h"
#include "opt.h"

/*
 * Their entries in an opt_parse table, into the struct hub_opts *h:
 * -H/--hub DIR|kafka://..., -n/--eventhub NAME, -X/--kafka-option
 * KEY=VALUE, --connection-string-file FILE and --timeout DURATION.
 */
#define HUBOPT_ENTRIES(h)						\
	OPT_E_CALL("connection-string-file", 0, (h), hubopt_call),	\
	OPT_E_STRING("eventhub", 'n', &(h)->eventhub),			\
	OPT_E_STRING("hub", 'H', &(h)->location),			\
	OPT_E_CALL("kafka-option", 'X', (h), hubopt_call),		\
	OPT_E_DURATION("timeout", 0, &(h)->timeout_ms, 1, OPT_NO_MAX)

/* The OPT_K_CALL of --connection-string-file and --kafka-option: OPT_RUN,
 * or the exit status of a bad value (2), or of a file that cannot be read
 * (3), its message printed. */
int hubopt_call(void *h, const char *name, const char *arg);

#endif
