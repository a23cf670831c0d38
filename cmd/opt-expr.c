/* opt-expr.c: the jq expression option, apart from opt.c so that commands
 * without libjq do not link it. */
#include <config.h>

#include "err.h"
#include "expr.h"
#include "msg.h"
#include "opt.h"

int
opt_call_expr(void *to, const char *name, const char *arg)
{
	struct expr **x = to;
	struct err e;

	expr_free(*x);
	if ((*x = expr_compile(arg, &e)) == NULL)
		return msg_usage("--%s: %s", name, e.msg);
	return OPT_RUN;
}
