/* buf.h - the one growable byte buffer used everywhere.
 *
 * data is always NUL-terminated (the NUL is not counted in len), so a buffer
 * holding text can be handed to string functions directly; it may also hold
 * binary data with embedded NULs. Allocation failure exits (see util.h). */
#ifndef OUTBOX_BUF_H
#define OUTBOX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append; use buf_str() for text */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Make room for at least extra more bytes (plus the terminating NUL). */
void buf_reserve(struct buf *b, size_t extra);
/* buf_reserve for a buffer that holds a secret: growing moves the contents
 * to a fresh allocation and wipes the old one, where realloc could leave an
 * unwiped copy behind in freed memory. */
void buf_reserve_secret(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_add_str(struct buf *b, const char *s);
void buf_add_char(struct buf *b, char c);
/* buf_add that grows as buf_reserve_secret does. */
void buf_add_secret(struct buf *b, const void *data, size_t len);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The contents as a C string: "" for an empty buffer, never NULL. */
const char *buf_str(const struct buf *b);
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Release the memory; the buffer is BUF_INIT afterwards. */
void buf_free(struct buf *b);
/* Zero the whole allocation, then free it: for buffers that held secrets. */
void buf_wipe(struct buf *b);
/* Hand the heap string to the caller (never NULL); the buffer is emptied. */
char *buf_steal(struct buf *b);

#endif
