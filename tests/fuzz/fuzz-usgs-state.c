/*
 * fuzz-usgs-state: a --state file as csa-usgs-fetch reads it (state_load:
 * the ids seen, and the URL and validators of the last poll).  Damage is
 * reported, never a crash, and what it loads are C strings that the next
 * poll can send (If-None-Match, If-Modified-Since).  The command's own
 * code is compiled in.
 */
#include <config.h>

#include "fuzz.h"

#define main csa_usgs_fetch_main
int csa_usgs_fetch_main(int argc, char **argv);
#include "../../cmd/csa-usgs-fetch.c"
#undef main

static int
fuzz_setup(void)
{
	msg_init("csa-usgs-fetch");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("state", data, size);
	struct state st;
	struct strmap_entry *en;
	size_t i = 0, n = 0;

	state_load(&st, path);
	/* poll_feed puts these in request headers as C strings. */
	if (st.url)
		n += strlen(st.url);
	if (st.etag)
		n += strlen(st.etag);
	if (st.last_modified)
		n += strlen(st.last_modified);
	while ((en = strmap_next(&st.seen, &i)) != NULL)
		n += en->klen;
	state_free(&st);
	return n == (size_t)-1;
}
