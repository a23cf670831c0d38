/* fsutil.c: atomic replacement, whole-file reads, and writes that wait for room. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The file name part of path, and its directory (caller frees). */
static const char *
split_path(const char *path, char **dir)
{
	char *copy = xstrdup(path);

	*dir = xstrdup(dirname(copy));
	free(copy);
	return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

char *
fs_temp_name(const char *path)
{
	char *dir, *tmp;
	const char *base = split_path(path, &dir);
	uint64_t r;
	size_t n = strlen(dir) + strlen(base) + 48;

	/* Unpredictable, so nobody can plant a link at the name beforehand. */
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)random() << 32 ^ (uint64_t)random();
	tmp = xmalloc(n);
	snprintf(tmp, n, "%s/.%s.tmp.%ld.%016llx", dir, base, (long)getpid(),
	    (unsigned long long)r);
	free(dir);
	return tmp;
}

void
fs_temp_sweep(const char *path)
{
	char *dir;
	const char *base = split_path(path, &dir);
	size_t blen = strlen(base);
	struct dirent *de;
	DIR *dp = opendir(dir);

	while (dp != NULL && (de = readdir(dp)) != NULL) {
		const char *p = de->d_name;
		char *end;
		long pid;

		if (p[0] != '.' || strncmp(p + 1, base, blen) != 0 ||
		    strncmp(p + 1 + blen, ".tmp.", 5) != 0)
			continue;
		pid = strtol(p + blen + 6, &end, 10);
		if (end == p + blen + 6 || *end != '.' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(dp), p, 0);
	}
	if (dp != NULL)
		closedir(dp);
	free(dir);
}

/* fsync the directory of path, so a rename in it lasts. */
static void
sync_dir(const char *path)
{
	char *dir;
	int dfd;

	split_path(path, &dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
}

static void
stage_free(struct fs_stage *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->tmp[i]);
		free(s->path[i]);
	}
	for (size_t i = 0; i < s->nmade; i++)
		free(s->made[i]);
	free(s->tmp);
	free(s->path);
	free(s->made);
	memset(s, 0, sizeof(*s));
}

int
fs_mkdirs(const char *path, void (*made)(const char *dir, void *arg), void *arg,
    struct err *e)
{
	char *p = xstrdup(path);
	struct stat st;
	int rc = 0;

	for (char *c = p + 1; rc == 0; c++) {
		bool last = *c == '\0';

		if (*c != '/' && !last)
			continue;
		*c = '\0';
		if (mkdir(p, 0755) == 0) {
			if (made)
				made(p, arg);
		} else if (errno != EEXIST) {
			rc = err_set(e, ERR_IO, "%s: %s", p, strerror(errno));
		}
		if (last)
			break;
		*c = '/';
	}
	free(p);
	if (rc == 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		rc = err_set(e, ERR_IO, "%s: not a directory", path);
	return rc;
}

/* fs_mkdirs' note of a directory it made, for fs_stage_abort. */
static void
stage_made(const char *dir, void *arg)
{
	struct fs_stage *s = arg;

	if (s->nmade == s->capmade) {
		s->capmade = s->capmade ? 2 * s->capmade : 16;
		s->made = xrealloc(s->made, s->capmade * sizeof(*s->made));
	}
	s->made[s->nmade++] = xstrdup(dir);
}

int
fs_stage_mkdirs(struct fs_stage *s, const char *path, struct err *e)
{
	return fs_mkdirs(path, stage_made, s, e);
}

int
fs_stage_add(struct fs_stage *s, const char *path, const char *data, size_t len,
    struct err *e)
{
	char *tmp = fs_temp_name(path);
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->tmp = xrealloc(s->tmp, s->cap * sizeof(*s->tmp));
		s->path = xrealloc(s->path, s->cap * sizeof(*s->path));
	}
	s->tmp[s->n] = tmp;
	s->path[s->n++] = xstrdup(path);
	return 0;
}

int
fs_stage_commit(struct fs_stage *s, struct err *e)
{
	int rc = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (rc == 0 && rename(s->tmp[i], s->path[i]) != 0)
			rc = err_set(e, ERR_IO, "%s: %s", s->path[i], strerror(errno));
		if (rc < 0)
			unlink(s->tmp[i]);
	}
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		sync_dir(s->path[i]);
		fs_temp_sweep(s->path[i]);
	}
	stage_free(s);
	return rc;
}

void
fs_stage_abort(struct fs_stage *s)
{
	for (size_t i = 0; i < s->n; i++)
		unlink(s->tmp[i]);
	for (size_t i = s->nmade; i > 0; i--)
		rmdir(s->made[i - 1]);
	stage_free(s);
}

int
fs_write_atomic(const char *path, const char *data, size_t len, struct err *e)
{
	struct fs_stage s = { 0 };

	if (fs_stage_add(&s, path, data, len, e) < 0)
		return -1;
	return fs_stage_commit(&s, e);
}

char *
fs_state_target(const char *path, bool pending)
{
	struct buf b = { 0 };

	buf_adds(&b, path);
	if (pending)
		buf_adds(&b, ".pending");
	return buf_steal(&b);
}

int
fs_sync_if_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return 0;
	return fsync(fd);
}

int
fs_read_all(const char *path, char **data, size_t *len, struct err *e)
{
	struct buf b = { 0 };
	char chunk[65536];
	int fd;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	}
	{
		struct stat st;

		/* Size the buffer once for a regular file. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
			buf_reserve(&b, (size_t)st.st_size);
	}
	for (;;) {
		ssize_t n;

		if (b.cap > b.len + 1) {
			/* Read straight into the buffer while it has room. */
			n = read(fd, b.p + b.len, b.cap - b.len - 1);
			if (n > 0) {
				b.len += (size_t)n;
				b.p[b.len] = '\0';
				continue;
			}
		} else {
			n = read(fd, chunk, sizeof(chunk));
			if (n > 0) {
				buf_add(&b, chunk, (size_t)n);
				continue;
			}
		}

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			buf_free(&b);
			return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
		}
		break;
	}
	close(fd);
	*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

int
fs_write_all(int fd, const char *data, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(fd, data + *done, len - *done);

		if (n >= 0) {
			*done += (size_t)n;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			/* POLLERR or POLLHUP come back too: the next write says which. */
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return errno;
			continue;
		}
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

bool
fs_hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP)) != 0;
}

int
fs_open_append_shared(const char *path)
{
	for (;;) {
		struct stat a, b;
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666), saved;

		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_SH) < 0 || fstat(fd, &a) < 0)
			goto fail;
		if (stat(path, &b) == 0) {
			if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
				return fd;
		} else if (errno != ENOENT) {
			goto fail;
		}
		/* Replaced while we waited: this is the old file. */
		close(fd);
		continue;
fail:
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
}
