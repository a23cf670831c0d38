/* fsutil.h: files written whole or not at all. */
#ifndef CSA_FSUTIL_H
#define CSA_FSUTIL_H

#include <stddef.h>

#include "err.h"

/*
 * Replace path with data[0..len) atomically: write a temporary file in the
 * same directory, fsync it, rename it over path, fsync the directory.  A
 * reader sees the old file or the new one, never a mix; a crash leaves at
 * most a hidden ".path.tmp.PID" behind.  0, or -1 with ERR_IO.
 */
int fs_write_atomic(const char *path, const char *data, size_t len, struct err *e);

/* Read a whole file into a NUL-terminated buffer; caller frees *data.
 * 0, 1 when the file does not exist (and *data is NULL), -1 with ERR_IO. */
int fs_read_all(const char *path, char **data, size_t *len, struct err *e);

#endif
