/* msg_wire.h - the message as it goes on the wire: header block, empty
 * line, body, CRLF lines only (security invariant 4). */
#ifndef OUTBOX_MSG_WIRE_H
#define OUTBOX_MSG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct message;

/* Takes the next piece of the message; returns EX_OK or a failure code
 * with e filled, which stops the writing. */
typedef int (*msg_write_fn)(void *ctx, const char *data, size_t len,
                            struct err *e);

/* Write the final message (header block, empty line, body), exactly as it
 * will go on the wire before dot-stuffing, through write_fn, in pieces of
 * about MSG_WRITE_CHUNK. dot_stuff adds RFC 5321 4.5.2 transparency (a
 * leading '.' doubled); the terminating ".\r\n" is not written. EX_IOERR
 * when a spooled body cannot be read back; otherwise write_fn's first
 * failure. */
int msg_write(const struct message *m, bool dot_stuff, msg_write_fn write_fn,
              void *ctx, struct err *e);

/* The number of octets msg_write writes without dot-stuffing: header +
 * CRLF + body (for SIZE and the log). */
uint64_t msg_size(const struct message *m);

#endif
