/* viewdir.c: the view directory: where batch views are written and found. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timefmt.h"
#include "viewdir.h"

bool
viewdir_field_ok(const char *field)
{
	size_t n = strlen(field);

	return n > 0 && n <= VIEWDIR_FIELD_MAX && strchr(field, '/') == NULL && field[0] != '.';
}

void
viewdir_day(struct buf *b, const char *dir, const char *view, int64_t day)
{
	char date[32];

	tfmt_format(day * 86400000, date);
	date[10] = '\0';
	buf_printf(b, "%s/%s/date=%s", dir, view, date);
}

/*
 * A partition value as a safe directory name of at most room bytes: only
 * [A-Za-z0-9_-] stay, every other byte is %XX.  A name that would be longer
 * keeps what fits of it and ends in "~" and a 64-bit FNV-1a hash of the
 * whole value; "~" is never left bare otherwise, so it cannot clash with a
 * name that was not shortened.
 */
static void
put_value(struct buf *b, const char *value, size_t len, size_t room)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = b->len, keep = 0;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		h = (h ^ c) * 1099511628211ULL;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
		if (b->len - start <= room - 17)
			keep = b->len - start;	/* whole bytes that fit before "~hash" */
	}
	if (len == 0)
		buf_adds(b, "%00");
	if (b->len - start > room) {
		b->len = start + keep;
		buf_printf(b, "~%016llx", (unsigned long long)h);
	}
}

void
viewdir_part(struct buf *b, const char *field, const char *value, size_t len)
{
	buf_addc(b, '/');
	buf_adds(b, field);
	buf_addc(b, '=');
	put_value(b, value, len, VIEWDIR_NAME_MAX - strlen(field) - 1);
}

void
viewdir_file(struct buf *b)
{
	buf_adds(b, "/" VIEWDIR_FILE);
}

static int
skip_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static bool
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool
viewdir_is_view(const char *path)
{
	struct dirent **v;
	int n = scandir(path, &v, skip_hidden, alphasort);
	bool found = false;

	for (int i = 0; i < n; i++) {
		found = found || strncmp(v[i]->d_name, "date=", 5) == 0;
		free(v[i]);
	}
	if (n >= 0)
		free(v);
	return found;
}

void
viewdir_names(const char *path, struct buf *names, int *count)
{
	struct dirent **v;
	int n = scandir(path, &v, skip_hidden, alphasort);

	for (int i = 0; i < n; i++) {
		struct buf sub = { 0 }, item = { 0 };

		buf_printf(&sub, "%s/%s", path, v[i]->d_name);
		buf_printf(&item, "(%s)", v[i]->d_name);
		if (is_dir(sub.p) && viewdir_is_view(sub.p)) {
			if (names->p == NULL || strstr(names->p, item.p) == NULL) {
				buf_printf(names, "%s%s", *count ? ", " : "", item.p);
				++*count;
			}
		} else if (is_dir(sub.p)) {
			viewdir_names(sub.p, names, count);
		}
		buf_free(&sub);
		buf_free(&item);
		free(v[i]);
	}
	if (n >= 0)
		free(v);
}

int
viewdir_walk(const char *path, const char *view, int (*fn)(const char *file, void *arg),
    void *arg, struct err *e)
{
	struct dirent **names;
	int n, rc = 0;

	if (strcmp(path, "-") == 0 || !is_dir(path))
		return fn(path, arg);
	if ((n = scandir(path, &names, skip_hidden, alphasort)) < 0 && errno == ENOENT &&
	    strstr(path, "/date=") != NULL)
		return 0;	/* a partition that retention removed since it was listed */
	if (n < 0)
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		struct buf sub = { 0 };
		size_t k = strlen(names[i]->d_name);

		buf_printf(&sub, "%s/%s", path, names[i]->d_name);
		if (rc == 0 && is_dir(sub.p)) {
			/* With a view named: only view directories of that name. */
			if (view == NULL || strcmp(names[i]->d_name, view) == 0 ||
			    !viewdir_is_view(sub.p))
				rc = viewdir_walk(sub.p, view, fn, arg, e);
		} else if (rc == 0 && k > 7 && strcmp(names[i]->d_name + k - 7, ".ndjson") == 0) {
			rc = fn(sub.p, arg);
		}
		buf_free(&sub);
		free(names[i]);
	}
	free(names);
	return rc;
}

long
viewdir_remove_stale(const char *day, int depth, const struct strmap *written)
{
	struct dirent *de;
	long removed = 0;
	DIR *dp;

	if (depth == 0) {
		struct buf path = { 0 };

		buf_adds(&path, day);
		viewdir_file(&path);
		if (strmap_get(written, path.p, path.len) == NULL && unlink(path.p) == 0)
			removed++;
		buf_free(&path);
		return removed;
	}
	if ((dp = opendir(day)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		struct buf sub = { 0 };

		if (de->d_name[0] == '.' || strchr(de->d_name, '=') == NULL)
			continue;
		buf_printf(&sub, "%s/%s", day, de->d_name);
		removed += viewdir_remove_stale(sub.p, depth - 1, written);
		rmdir(sub.p);	/* only when empty */
		buf_free(&sub);
	}
	closedir(dp);
	return removed;
}

/* The day of a "date=YYYY-MM-DD" name: true when it is one. */
static bool
date_name(const char *name, int64_t *day)
{
	unsigned y, m, d;
	char tail;

	if (sscanf(name, "date=%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || strlen(name) != 15 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	*day = tfmt_days_from_civil(y, m, d);
	return true;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -r path, without following links. */
static int
remove_tree(const char *path)
{
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

long
viewdir_expire(const char *view, int64_t keep_ms, struct err *e)
{
	struct dirent **v;
	int64_t newest = INT64_MIN, day;
	long removed = 0;
	int n = scandir(view, &v, NULL, alphasort), i;

	if (n < 0)
		return err_set(e, ERR_IO, "%s: %s", view, strerror(errno));
	for (i = 0; i < n; i++)
		if (date_name(v[i]->d_name, &day) && day > newest)
			newest = day;
	for (i = 0; i < n; i++) {
		const char *name = v[i]->d_name;
		struct buf from = { 0 }, to = { 0 };

		buf_printf(&from, "%s/%s", view, name);
		if (strncmp(name, ".date=", 6) == 0 && strstr(name, ".expired.") != NULL) {
			remove_tree(from.p);	/* left by a killed run */
		} else if (date_name(name, &day) && (day + 1) * 86400000 <= (newest + 1) * 86400000 -
		    keep_ms) {
			/* Hidden first, in one step: a reader sees the whole
			 * partition or none of it. */
			buf_printf(&to, "%s/.%s.expired.%ld", view, name, (long)getpid());
			if (rename(from.p, to.p) < 0 || remove_tree(to.p) < 0) {
				err_set(e, ERR_IO, "%s: %s", from.p, strerror(errno));
				removed = -1;
			} else if (removed >= 0) {
				removed++;
			}
		}
		buf_free(&from);
		buf_free(&to);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return removed;
}
