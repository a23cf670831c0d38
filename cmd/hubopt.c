/* hubopt.c: the hub options that csa-eh-send and csa-eh-recv share. */
#include <config.h>

#include <string.h>

#include "err.h"
#include "hub.h"
#include "hubopt.h"
#include "msg.h"
#include "opt.h"

int
hubopt_call(void *h, const char *name, const char *arg)
{
	struct err e;

	if (strcmp(name, "kafka-option") == 0) {
		if (hub_opts_kafka_option(h, arg, &e) < 0)
			return msg_usage("%s", e.msg);
	} else if (hub_opts_connection_file(h, arg, &e) < 0)
		return e.kind == ERR_USAGE ? msg_usage("%s", e.msg) : msg_fail(&e);
	return OPT_RUN;
}
