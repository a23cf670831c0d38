/* err.h: the error value that common/ functions fill in instead of printing. */
#ifndef CSA_ERR_H
#define CSA_ERR_H

/*
 * Every common/ function that can fail takes a struct err * (never NULL) and
 * returns -1 or NULL after filling it in.  Only cmd/ turns an error into a
 * message (msg_error) and an exit status (msg_status).  The kind says what
 * sort of fault it is; the message says where and why, without the program
 * name and without a trailing newline.
 */
enum err_kind {
	ERR_NONE = 0,
	ERR_DATA,	/* a bad record or document: skip it and go on */
	ERR_USAGE,	/* a bad option value, expression or setting */
	ERR_IO,		/* local I/O or system failure */
	ERR_REMOTE	/* network, server or temporary failure */
};

struct err {
	enum err_kind kind;
	char msg[1024];
};

/* Fill in e; returns -1 so that callers can write `return err_set(...)`. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Put "context: " in front of e's message, keeping its kind. */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clear e. */
void err_clear(struct err *e);

#endif
