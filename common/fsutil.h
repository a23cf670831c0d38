/* fsutil.h: files written whole or not at all; output that is never half lost. */
#ifndef CSA_FSUTIL_H
#define CSA_FSUTIL_H

#include <stdbool.h>
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

/*
 * mkdir -p: every missing directory of path, mode 0755; made(dir, arg),
 * when given, hears of each one made.  0, or -1 with ERR_IO naming the
 * part that could not be made, or path when it is not a directory.
 */
int fs_mkdirs(const char *path, void (*made)(const char *dir, void *arg), void *arg,
    struct err *e);

/*
 * Several files replaced together: fs_stage_add writes and syncs each one
 * aside (as fs_write_atomic does), and fails with nothing replaced;
 * fs_stage_commit then renames them all into place, which takes no new
 * space; fs_stage_abort removes what was written aside.  Commit and abort
 * free the stage.  A crash during the commit can leave some files new and
 * some old.
 */
struct fs_stage {
	char **tmp, **path;
	size_t n, cap;
	char **made;		/* directories fs_stage_mkdirs created */
	size_t nmade, capmade;
};

/* mkdir -p path; an abort removes again the directories it created. */
int fs_stage_mkdirs(struct fs_stage *s, const char *path, struct err *e);

int fs_stage_add(struct fs_stage *s, const char *path, const char *data, size_t len,
    struct err *e);
int fs_stage_commit(struct fs_stage *s, struct err *e);
void fs_stage_abort(struct fs_stage *s);

/*
 * Where a state or checkpoint is saved: path itself, or with pending,
 * "path.pending", for the script to move into place once the next stage
 * has taken the output (caller frees).
 */
char *fs_state_target(const char *path, bool pending);

/*
 * Open path for appending (created 0666 less the umask) with a shared
 * flock held as long as the descriptor is open: a rewrite of the file
 * (csa-merge --compact) takes the lock exclusively, so it never runs
 * while rows are appended.  When such a rewrite holds it, wait, and open
 * the new file it put in place.  The descriptor, or -1 with errno.
 */
int fs_open_append_shared(const char *path);

/* fsync fd when it is a regular file (output that a state vouches for);
 * a pipe or terminal is left alone.  0, or -1 with errno. */
int fs_sync_if_file(int fd);

/* Read a whole file into a NUL-terminated buffer; caller frees *data.
 * 0, 1 when the file does not exist (and *data is NULL), -1 with ERR_IO. */
int fs_read_all(const char *path, char **data, size_t *len, struct err *e);

/*
 * Write all of data[0..len) to fd.  O_NONBLOCK belongs to the open file
 * description, which every writer of a pipe shares, so another process may
 * have set it on our output: EAGAIN then means "full", and we wait for room
 * with poll(POLLOUT) rather than fail; the flags are left as they are.
 * 0, or an errno value (EPIPE: the reader went away); *done says how many
 * bytes went out either way.
 */
int fs_write_all(int fd, const char *data, size_t len, size_t *done);

/* True when fd's reader went away (a pipe or socket closed at the other
 * end, a terminal hung up), found out without writing to it. */
bool fs_hung_up(int fd);

#endif
