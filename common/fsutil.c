/* fsutil.c: atomic replacement and whole-file reads. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
fs_write_atomic(const char *path, const char *data, size_t len, struct err *e)
{
	char *dir, *tmp = fs_temp_name(path);
	int fd, dfd, saved;

	split_path(path, &dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	fs_temp_sweep(path);
	free(tmp);
	free(dir);
	return 0;
fail:
	free(tmp);
	free(dir);
	return -1;
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
