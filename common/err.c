/* err.c: filling in struct err. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_prefix(struct err *e, const char *fmt, ...)
{
	char line[2 * sizeof(e->msg) + 4];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(line);
	memcpy(line + n, ": ", 2);
	memcpy(line + n + 2, e->msg, strlen(e->msg) + 1);
	n = strlen(line);
	if (n >= sizeof(e->msg))
		n = sizeof(e->msg) - 1;
	memcpy(e->msg, line, n);
	e->msg[n] = '\0';
}

void
err_clear(struct err *e)
{
	e->kind = ERR_NONE;
	e->msg[0] = '\0';
}
