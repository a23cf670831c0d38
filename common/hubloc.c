/* hubloc.c: where the embedded hub is when no option says: apart from
 * hub.c so that a command that only reads its files (csa-capture-read)
 * does not link every back end. */
#include <config.h>

#include <stdlib.h>

#include "buf.h"
#include "hub.h"

char *
hub_default_location(const char *given)
{
	const char *env = getenv("CSA_HUB"), *state, *home;
	struct buf b = { 0 };

	if (given && *given)
		return xstrdup(given);
	if (env && *env)
		return xstrdup(env);
	state = getenv("XDG_STATE_HOME");
	home = getenv("HOME");
	if (state && *state)
		buf_printf(&b, "%s/csa/hub", state);
	else
		buf_printf(&b, "%s/.local/state/csa/hub", home && *home ? home : ".");
	return buf_steal(&b);
}
