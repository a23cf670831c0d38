/* ndjson.c: a bounded, copy-free line reader. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ndjson.h"

#define READ_CHUNK (64 * 1024)

void
ndjson_open_fd(struct ndjson_reader *r, int fd, const char *name, size_t maxlen)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->name = xstrdup(name);
	r->maxlen = maxlen ? maxlen : NDJSON_MAX_LINE_DEFAULT;
}

int
ndjson_open(struct ndjson_reader *r, const char *path, size_t maxlen,
    struct err *e)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		ndjson_open_fd(r, STDIN_FILENO, "<stdin>", maxlen);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	ndjson_open_fd(r, fd, path, maxlen);
	r->own_fd = true;
	return 0;
}

void
ndjson_close(struct ndjson_reader *r)
{
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->name);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

bool
ndjson_ready(struct ndjson_reader *r)
{
	const char *nl;

	if (r->eof || r->nl_seen > r->start)
		return true;
	if (r->buf == NULL)
		return false;
	if (r->end - r->start > r->maxlen)
		return true;
	if ((nl = memchr(r->buf + r->start, '\n', r->end - r->start)) == NULL)
		return false;
	/* ndjson_next takes the line from here without looking again. */
	r->nl_seen = (size_t)(nl - r->buf) + 1;
	return true;
}

/* Read more bytes after r->end; 0 at EOF, -1 on error, else bytes read. */
static ssize_t
fill(struct ndjson_reader *r, struct err *e)
{
	ssize_t n;

	/* Offsets move: a newline seen is forgotten (there was none unread,
	 * or there would be no need to read). */
	r->nl_seen = 0;
	if (r->start > 0 && r->start == r->end)
		r->start = r->end = 0;
	if (r->cap - r->end < READ_CHUNK / 2) {
		/* Slide the unread part down before growing. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->cap - r->end < READ_CHUNK / 2) {
			r->cap = r->cap ? r->cap * 2 : READ_CHUNK * 4;
			r->buf = xrealloc(r->buf, r->cap + 1 + NDJSON_PADDING);
			memset(r->buf + r->cap, 0, 1 + NDJSON_PADDING);
		}
	}
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR && !(r->stop && *r->stop));
	if (n < 0 && errno == EINTR)
		return 0;	/* asked to stop: as if the input ended here */
	if (n < 0)
		return err_set(e, ERR_IO, "%s: %s", r->name, strerror(errno));
	r->end += (size_t)n;
	return n;
}

int
ndjson_fill(struct ndjson_reader *r, struct err *e)
{
	ssize_t got;

	if (r->eof)
		return 0;
	got = fill(r, e);
	if (got < 0)
		return -1;
	if (got == 0)
		r->eof = true;
	return got > 0;
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int
ndjson_next(struct ndjson_reader *r, char **line, size_t *len, struct err *e)
{
	for (;;) {
		/* Before the first fill buf is NULL, and NULL + 0 is undefined. */
		char *s = r->buf ? r->buf + r->start : NULL;
		size_t avail = r->end - r->start;
		char *nl = r->nl_seen > r->start ? r->buf + r->nl_seen - 1 :
		    avail ? memchr(s, '\n', avail) : NULL;
		size_t n;

		if (nl == NULL && !r->eof && avail <= r->maxlen) {
			ssize_t got = fill(r, e);

			if (got < 0)
				return -1;
			if (got == 0)
				r->eof = true;
			continue;
		}
		if (nl == NULL && avail > r->maxlen) {
			/* Too long: drop bytes until the end of this line. */
			unsigned long at = ++r->lineno;

			for (;;) {
				char *end = memchr(r->buf + r->start, '\n',
				    r->end - r->start);
				ssize_t got;

				if (end) {
					r->start = (size_t)(end - r->buf) + 1;
					break;
				}
				r->start = r->end;
				got = fill(r, e);
				if (got < 0)
					return -1;
				if (got == 0) {
					r->eof = true;
					break;
				}
			}
			return err_set(e, ERR_DATA, "%s:%lu: line longer than %zu bytes",
			    r->name, at, r->maxlen);
		}
		if (nl == NULL) {
			/* End of input: the last line may lack its newline. */
			if (avail == 0)
				return 0;
			nl = s + avail;
			r->start = r->end;
		} else {
			r->start = (size_t)(nl - r->buf) + 1;
		}
		n = (size_t)(nl - s);
		r->lineno++;
		if (n > r->maxlen)
			return err_set(e, ERR_DATA, "%s:%lu: line longer than %zu bytes",
			    r->name, r->lineno, r->maxlen);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		s[n] = '\0';
		if (blank(s, n))
			continue;
		*line = s;
		*len = n;
		return 1;
	}
}
