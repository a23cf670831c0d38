/*
 * fuzz-capture-checkpoint: a --checkpoint file as csa-capture-read reads
 * it (load_checkpoint: the files read before, with size, mtime or a
 * blob's ETag, and the records read), and
 * written back as save_checkpoint writes it; damage is reported, never a
 * crash, and what was loaded loads again the same.  The command's own code
 * is compiled in.
 */
#include <config.h>

#include "fuzz.h"

#define main csa_capture_read_main
int csa_capture_read_main(int argc, char **argv);
#include "../../cmd/csa-capture-read.c"
#undef main

static int
fuzz_setup(void)
{
	msg_init("csa-capture-read");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("checkpoint", data, size);
	struct options o = { 0 };
	struct strmap done, again;
	struct strmap_entry *en, *en2;
	size_t i = 0;

	load_checkpoint(path, &done);
	o.checkpoint = path = fuzz_path("checkpoint.saved");
	FUZZ_ASSERT(save_checkpoint(&o, &done) == EXIT_OK, "save_checkpoint");
	FUZZ_ASSERT(load_checkpoint(path, &again) == EXIT_OK, "a saved checkpoint is damaged");
	FUZZ_ASSERT(again.count == done.count, "%zu files loaded, %zu after saving", done.count,
	    again.count);
	while ((en = strmap_next(&done, &i)) != NULL) {
		en2 = strmap_get(&again, en->key, en->klen);
		const struct seen *s = en->p, *s2 = en2 ? en2->p : NULL;

		FUZZ_ASSERT(en2 != NULL && en2->a == en->a && (s->etag || en2->b == en->b) &&
		    s->records == s2->records && (s->etag == NULL) == (s2->etag == NULL) &&
		    (s->etag == NULL || strcmp(s->etag, s2->etag) == 0),
		    "%.*s: not saved as loaded", (int)en->klen, en->key);
	}
	free_done(&done);
	free_done(&again);
	return 0;
}
