/* util.h - helpers shared by every module: allocation, secrets, ASCII,
 * and whole reads and writes on a file descriptor.
 *
 * Out-of-memory is the one condition a lower layer does not report through
 * struct err: there is nothing sensible a caller could do, so these helpers
 * print one line and exit with EX_OSERR. Nothing is half-sent at that point,
 * because the network is only touched after the message is fully read. */
#ifndef OUTBOX_UTIL_H
#define OUTBOX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Print "outbox: out of memory" and exit with EX_OSERR: for a library
 * (GnuTLS) that reports running out of memory where no error can be
 * returned. */
_Noreturn void die_out_of_memory(void);

/* malloc/calloc/realloc/strdup/strndup that never return NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup(s) or NULL when s is NULL. */
char *xstrdup_or_null(const char *s);

/* Overwrite n bytes at p with zeros in a way the compiler may not elide
 * (for passwords and tokens). */
void secure_zero(void *p, size_t n);
/* secure_zero(s, strlen(s)) then free(s); NULL is fine. */
void free_secret(char *s);

/* Case-insensitive ASCII comparison (locale independent). */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);

/* mkdir -p: path and its missing parents, made with mode (an existing
 * directory is fine). 0, or -1 with errno set and *failed (heap, when
 * failed is not NULL) naming the directory that could not be made. */
int make_dirs(const char *path, mode_t mode, char **failed);

/* n random bytes from the kernel (getrandom(2), waiting for its pool at
 * boot): 0, or -1 with errno set. */
int random_bytes(void *buf, size_t n);

/* len bytes as lower-case hex into out (2 * len + 1 bytes, NUL-ended). */
void hex_encode(const unsigned char *p, size_t len, char *out);

/* Character classes of the RFCs' ABNF (RFC 5234 B.1: ALPHA, DIGIT, WSP
 * = SP / HTAB), whatever the locale, and ASCII lower case. */
bool ascii_is_alpha(char c);
bool ascii_is_digit(char c);
bool ascii_is_alnum(char c);
bool ascii_is_wsp(char c);
char ascii_tolower(char c);

/* The value of a hexadecimal digit, or -1. */
int ascii_hex_value(char c);

/* write(2) all of data[0..len) to fd, again after a short write or EINTR.
 * Returns 0, or -1 with errno set by the write that failed. */
int fd_write_all(int fd, const void *data, size_t len);

/* Read fd to its end and append what it holds to out, but never more than
 * max bytes: then -1 with errno EFBIG (out holds at most max + 1 of them;
 * the caller frees or wipes it). With secret, out only grows as
 * buf_reserve_secret grows it, so no copy of the contents is left behind
 * in freed memory. Returns 0, or -1 with errno set (EFBIG, or read's). */
int fd_read_all(int fd, size_t max, bool secret, struct buf *out);

#endif
