/* fsutil.h: files written whole or not at all. */
#ifndef CSA_FSUTIL_H
#define CSA_FSUTIL_H

#include <stddef.h>

#include "err.h"

/*
 * Replace path with data[0..len) atomically: write a temporary file in the
 * same directory (fs_temp_name, created exclusively and never through a
 * link), fsync it, rename it over path, fsync the directory, and sweep the
 * temporary files of path that killed processes left.  A reader sees the
 * old file or the new one, never a mix.  0, or -1 with ERR_IO.
 */
int fs_write_atomic(const char *path, const char *data, size_t len, struct err *e);

/*
 * A name for a temporary file beside path: ".BASE.tmp.PID.RANDOM", which
 * nobody can guess; create it with O_CREAT | O_EXCL | O_NOFOLLOW.  Caller
 * frees.
 */
char *fs_temp_name(const char *path);

/* Remove the temporary files of path whose process no longer runs. */
void fs_temp_sweep(const char *path);

/* Read a whole file into a NUL-terminated buffer; caller frees *data.
 * 0, 1 when the file does not exist (and *data is NULL), -1 with ERR_IO. */
int fs_read_all(const char *path, char **data, size_t *len, struct err *e);

#endif
