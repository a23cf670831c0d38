/* hubopt.c: the hub options that csa-eh-send and csa-eh-recv share. */
#include <config.h>

#include <string.h>

#include "err.h"
#include "hub.h"
#include "hubopt.h"
#include "msg.h"
#include "opt.h"

int
hubopt_take(struct hub_opts *o, enum hubopt_code code, const char *arg)
{
	struct err e;

	switch (code) {
	case HUBOPT_HUB:
		o->location = arg;
		break;
	case HUBOPT_EVENTHUB:
		o->eventhub = arg;
		break;
	case HUBOPT_KAFKA:
		if (hub_opts_kafka_option(o, arg, &e) < 0)
			return msg_usage("%s", e.msg);
		break;
	case HUBOPT_CONN_FILE:
		if (hub_opts_connection_file(o, arg, &e) < 0)
			return e.kind == ERR_USAGE ? msg_usage("%s", e.msg) : msg_fail(&e);
		break;
	case HUBOPT_TIMEOUT:
		if (opt_duration("timeout", arg, 1, OPT_NO_MAX, &o->timeout_ms) < 0)
			return EXIT_USAGE;
		break;
	}
	return OPT_RUN;
}

int
hubopt_call(void *h, const char *name, const char *arg)
{
	return hubopt_take(h, strcmp(name, "kafka-option") == 0 ? HUBOPT_KAFKA :
	    HUBOPT_CONN_FILE, arg);
}
