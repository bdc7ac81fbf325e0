/* err.c - failure reports; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdlib.h>

#include "buf.h"

int err_set(struct err *e, int code, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(e->msg);
	e->msg = buf_steal(&b);
	e->code = code;
	return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_add_str(&b, ": ");
	buf_add_str(&b, err_msg(e));
	free(e->msg);
	e->msg = buf_steal(&b);
}

void err_clear(struct err *e)
{
	free(e->msg);
	e->msg = NULL;
	e->code = EX_OK;
}

const char *err_msg(const struct err *e)
{
	return e->msg ? e->msg : "";
}
