/* winopt.c: the window options that csa-window and csa-batch-agg share. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "err.h"
#include "msg.h"
#include "opt.h"
#include "row.h"
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

int
winopt_check_columns(const struct win_spec *w)
{
	int n = w->nby + w->aggs.n;

	for (int i = 0; i < n; i++) {
		const char *opt = i < w->nby ? "--by" : "--agg";
		const char *name = i < w->nby ? w->by[i].name : w->aggs.v[i - w->nby].name;

		if (row_meta_name(name))
			return msg_usage("%s: '%s' is a member every row has or csa-merge adds; "
			    "give the column another name: %s NAME=...", opt, name, opt);
		for (int j = 0; j < i; j++)
			if (strcmp(name, j < w->nby ? w->by[j].name :
			    w->aggs.v[j - w->nby].name) == 0)
				return msg_usage("%s: the column '%s' is named twice; give one "
				    "another name: %s NAME=...", opt, name, opt);
	}
	return OPT_RUN;
}
