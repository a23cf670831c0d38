/* merge-compact.c: csa-merge --compact: a speed view without the rows the batch view covers. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "merge.h"
#include "positions.h"
#include "timefmt.h"

/*
 * The rule is the merge's own (merge_speed_wanted): a speed window that
 * ends at or before the cutoff less the overlap never enters an answer
 * with this cutoff or a later one, so it can go.  One of them stays: the
 * one that ends last, which keeps the speed view's first window before
 * the overlap, where the merge takes the speed layer to start (its
 * "partial" marks), and keeps the view from going empty (an empty speed
 * view is a batch-only answer, with other aggregates).  Lines that are
 * not rows stay as they are: compaction drops only what it understands.
 */

struct line {
	size_t off, len;	/* of the line, without its newline */
	int64_t end;
	bool droppable;
	bool nl;		/* it has its newline (a killed writer's may not) */
};

/* The speed file's lines up to limit, each read as a row. */
static size_t
split_rows(struct run *r, const char *path, const char *text, size_t limit,
    struct line **out)
{
	struct row_reader *rd = row_reader_new(NULL, 0, NULL, false);
	struct line *v = NULL;
	size_t n = 0, cap = 0, off = 0;
	int64_t drop_before = r->cutoff - r->o->overlap;

	while (off < limit) {
		const char *nl = memchr(text + off, '\n', limit - off);
		size_t len = nl ? (size_t)(nl - text - off) : limit - off;
		struct row_in w;
		struct err e;
		int rc;

		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, sizeof(*v) * cap);
		}
		v[n] = (struct line){ .off = off, .len = len, .nl = nl != NULL };
		rc = len ? row_read(rd, text + off, len, path, n + 1, &w, &e) : 0;
		if (rc == 1) {
			v[n].end = w.end;
			v[n].droppable = w.end <= drop_before;
		} else if (rc < 0) {
			msg_bad(&r->bad, e.kind == ERR_DATA ? w.bad : BAD_FIELD, path, n + 1,
			    "%s (not a row: left in the file)", e.msg);
		}
		n++;
		off += len + (nl != NULL);
	}
	row_reader_free(rd);
	*out = v;
	return n;
}

/*
 * The writer's state vouches for the first out_length bytes of the file;
 * after the compaction it vouches for what is left of them.  The new
 * state is the old one with that number changed.
 */
static int
restate(struct run *r, const char *text, size_t len, int64_t kept, struct buf *b)
{
	const char *p = text, *end = text + len;
	struct positions pos;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int rc = pos_parse(&pos, p, n);

		if (rc < 0)
			break;
		if (rc == 1) {
			pos.out_length = kept;
			pos_put(&pos, b);
		} else {
			buf_add(b, p, n);
			buf_addc(b, '\n');
		}
		p += n + 1;
	}
	if (p < end) {
		err_set(&r->err, ERR_IO, "%s: a damaged positions line", r->o->writer_state);
		return -1;
	}
	return 0;
}

/* Lock the speed file against a second compaction and against a
 * csa-window --out that appends to it (it holds a shared lock): -1 when
 * either has it. */
static int
lock_speed(struct run *r, const char *path, int *fdp)
{
	struct stat a, b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_set(&r->err, ERR_IO, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err_set(&r->err, ERR_IO, "%s: %s", path, errno == EWOULDBLOCK ?
		    "in use by its writer (csa-window --out) or another compaction; "
		    "compact it while the writer is stopped" : strerror(errno));
		close(fd);
		return -1;
	}
	/* A compaction that held the lock before us may have replaced it. */
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		err_set(&r->err, ERR_IO, "%s: replaced while it was being locked; try again", path);
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* The kept lines as they were, byte for byte. */
static void
keep_lines(const char *text, const struct line *v, size_t n, size_t last, struct buf *b)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i].droppable || i == last)
			buf_add(b, text + v[i].off, v[i].len + v[i].nl);
}

/*
 * The new file as the old one was: its writer may be another user (a
 * service's), who must still be able to append to it.
 */
static int
same_owner(struct fs_stage *stage, size_t i, const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0 || chmod(stage->tmp[i], st.st_mode & 07777) < 0 ||
	    ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    chown(stage->tmp[i], st.st_uid, st.st_gid) < 0))
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	return 0;
}

int
merge_compact(struct run *r)
{
	const char *path = r->o->path[LAYER_SPEED], *spath = r->o->writer_state;
	char *text = NULL, *stext = NULL;
	size_t len = 0, slen = 0, n, last = (size_t)-1, dropped = 0;
	struct positions pos;
	struct line *v = NULL;
	struct buf b = { 0 }, sb = { 0 };
	struct fs_stage stage = { 0 };
	struct err e;
	int fd = -1, rc = -1;
	char when[32];

	if (!r->have_cutoff) {
		msg_warn("%s: no batch rows and no --cutoff: nothing is covered yet, nothing dropped",
		    path);
		return 0;
	}
	if (lock_speed(r, path, &fd) < 0)
		return -1;
	pos_init(&pos);
	if (fs_read_all(path, &text, &len, &e) < 0 ||
	    (spath && fs_read_all(spath, &stext, &slen, &e) < 0)) {
		r->err = e;
		goto out;
	}
	if (spath && stext == NULL) {
		/* The writer has saved no state yet: nothing vouches for a length. */
		msg_verbose("%s: no such state yet: %s is compacted alone", spath, path);
		spath = NULL;
	} else if (spath && pos_find(&pos, stext, slen) != 1) {
		err_set(&r->err, ERR_IO, "%s: no positions line with the output length", spath);
		goto out;
	}
	if (spath && (pos.out_length < 0 || (size_t)pos.out_length > len)) {
		err_set(&r->err, ERR_IO, "%s vouches for %lld bytes of %s, which has %zu: "
		    "is it the state of this file's writer?", spath, (long long)pos.out_length,
		    path, len);
		goto out;
	}
	/* Past what the state vouches for: rows of a killed run, which its
	 * restart cuts off and writes again. */
	n = split_rows(r, path, text, spath ? (size_t)pos.out_length : len, &v);
	for (size_t i = 0; i < n; i++)
		if (v[i].droppable) {
			dropped++;
			if (last == (size_t)-1 || v[i].end >= v[last].end)
				last = i;
		}
	tfmt_format(r->cutoff - r->o->overlap, when);
	if (dropped <= 1 && (!spath || (size_t)pos.out_length == len)) {
		msg_verbose("%s: nothing to drop (windows ending at or before %s)", path, when);
		rc = 0;
		goto out;
	}
	keep_lines(text, v, n, last, &b);
	if (spath && restate(r, stext, slen, (int64_t)b.len, &sb) < 0)
		goto out;
	/* The rows first: a crash between the two renames leaves a state
	 * that vouches for more than the file holds, which csa-window
	 * refuses, rather than one that would cut good rows off. */
	if (fs_stage_add(&stage, path, b.p ? b.p : "", b.len, &e) < 0 ||
	    same_owner(&stage, 0, path, &e) < 0 ||
	    (spath && (fs_stage_add(&stage, spath, sb.p, sb.len, &e) < 0 ||
	    same_owner(&stage, 1, spath, &e) < 0))) {
		fs_stage_abort(&stage);
		r->err = e;
		goto out;
	}
	if (fs_stage_commit(&stage, &e) < 0) {
		r->err = e;
		goto out;
	}
	msg_verbose("%s: %zu rows dropped (windows ending at or before %s), %zu lines kept",
	    path, dropped - (last != (size_t)-1), when, n - dropped + (last != (size_t)-1));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(v);
	free(text);
	free(stext);
	buf_free(&b);
	buf_free(&sb);
	return rc;
}
