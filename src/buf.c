/* buf.c - growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	bool first = b->data == NULL;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	if (first)
		b->data[0] = '\0'; /* buf_str() promises a C string */
}

void buf_reserve_secret(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	/* at least double, as buf_reserve does, so growth stays amortised */
	size_t want = b->len + extra;
	if (b->cap <= ((size_t)-1) / 2 && want < b->cap * 2)
		want = b->cap * 2;
	struct buf grown = BUF_INIT;
	buf_reserve(&grown, want);
	buf_add(&grown, b->data, b->len);
	buf_wipe(b);
	*b = grown;
}

void buf_add_secret(struct buf *b, const void *data, size_t len)
{
	buf_reserve_secret(b, len);
	buf_add(b, data, len);
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_add_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_add_char(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_wipe(struct buf *b)
{
	if (b->data)
		secure_zero(b->data, b->cap);
	buf_free(b);
}

char *buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}
