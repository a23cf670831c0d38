/* winopt.c: the window options that csa-window and csa-batch-agg share. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "err.h"
#include "msg.h"
#include "opt.h"
#include "window.h"
#include "winopt.h"

int
winopt_agg(void *w, const char *name, const char *arg)
{
	struct err e;

	if (agg_parse(&((struct win_spec *)w)->aggs, arg, &e) < 0)
		return msg_usage("--%s: %s", name, e.msg);
	return OPT_RUN;
}

int
winopt_by(void *w, const char *name, const char *arg)
{
	struct err e;

	if (win_add_by(w, arg, &e) < 0)
		return msg_usage("--%s: %s", name, e.msg);
	return OPT_RUN;
}

int
winopt_having(void *to, const char *name, const char *arg)
{
	struct win_spec *w = to;
	struct err e;

	(void)name;
	free(w->having.column);
	if (agg_having_parse(arg, &w->having, &e) < 0)
		return msg_usage("%s", e.msg);
	w->have_having = true;
	return OPT_RUN;
}

int
winopt_check_having(const struct win_spec *w)
{
	bool found = false;

	if (!w->have_having)
		return OPT_RUN;
	for (int i = 0; i < w->aggs.n; i++)
		found = found || strcmp(w->aggs.v[i].name, w->having.column) == 0;
	if (!found)
		return msg_usage("--having: no aggregate named '%s'", w->having.column);
	return OPT_RUN;
}
