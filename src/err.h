/* err.h - how a fallible function reports failure.
 *
 * Every fallible function returns a sysexits code (EX_OK = 0 on success) and,
 * on failure, fills a struct err with the same code and one human sentence:
 * what failed, with what, and what to do. Lower layers never print or exit;
 * main.c prints the message once and exits with the code. */
#ifndef OUTBOX_ERR_H
#define OUTBOX_ERR_H

#include <sysexits.h>

struct err {
	int code;  /* a sysexits code; EX_OK when nothing failed */
	char *msg; /* heap string, or NULL */
};

#define ERR_INIT {EX_OK, NULL}

/* Record a failure (replacing any earlier one) and return code, so callers
 * can write: return err_set(e, EX_CONFIG, "...", ...); */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the current message with "context: " (for adding file names). */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Forget the failure and free the message. */
void err_clear(struct err *e);
/* The message, or "" when there is none. */
const char *err_msg(const struct err *e);

#endif
