/*
 * fuzz-capture-checkpoint: a --checkpoint file as csa-capture-read reads
 * it (load_checkpoint: the files read before, with size, mtime and the
 * records read), and
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
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
		FUZZ_ASSERT(en2 != NULL && en2->a == en->a && en2->b == en->b &&
		    (en->p == NULL) == (en2->p == NULL) &&
		    (en->p == NULL || *(int64_t *)en->p == *(int64_t *)en2->p),
		    "%.*s: not saved as loaded", (int)en->klen, en->key);
	}
	free_done(&done);
	free_done(&again);
	return 0;
}
