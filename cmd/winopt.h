/* winopt.h: the window options that csa-window and csa-batch-agg share. */
#ifndef CSA_WINOPT_H
#define CSA_WINOPT_H

/*
 * OPT_K_CALLs of an opt_parse table, each into a struct win_spec *w:
 * --agg SPECS and --by FIELD add to w, --having COND replaces the
 * condition.  OPT_RUN, or EXIT_USAGE with the message said.
 */
int winopt_agg(void *w, const char *name, const char *arg);
int winopt_by(void *w, const char *name, const char *arg);
int winopt_having(void *w, const char *name, const char *arg);

/* After the options: --having names one of w's aggregates.  OPT_RUN, or
 * EXIT_USAGE with the message said. */
struct win_spec;
int winopt_check_having(const struct win_spec *w);

/* After the options: each --by and --agg column has a name of its own, and
 * none is a member the rows have already (row_meta_name).  OPT_RUN, or
 * EXIT_USAGE with the message said. */
int winopt_check_columns(const struct win_spec *w);

#endif
