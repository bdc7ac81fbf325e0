/* msg_read.h - standard input to a message: header block, then body.
 *
 * Reading normalises line endings once (msg_normalize.h): the stored body
 * is CRLF lines only, so every later consumer (DKIM, SMTP, queue) sees the
 * exact bytes that go on the wire before dot-stuffing. The body stays in
 * memory up to MSG_SPOOL_THRESHOLD and moves to a temporary file without a
 * name beyond it (msg_spool.h), so memory does not grow with the message
 * and a crash leaves no file behind. */
#ifndef OUTBOX_MSG_READ_H
#define OUTBOX_MSG_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct message;

/* Called with consecutive pieces of the normalised (CRLF) body. */
typedef void (*msg_body_sink)(void *ctx, const char *data, size_t len);

/* Read the header block from fd (up to and including the empty line, or to
 * EOF for a header-only message). Folded fields are kept with their folding.
 * A first line that is not a header field (no colon) starts the body, as
 * sendmail does. Returns EX_DATAERR for empty input or a header block over
 * MSG_MAX_HEADER_BLOCK, EX_IOERR for read errors. */
int msg_read_header(int fd, struct message **out, struct err *e);

/* Read the rest of fd as the body, normalising line endings and adding a
 * final CRLF when missing (for a non-empty body). Each piece is also passed
 * to sink (may be NULL), which lets DKIM hash while reading. Spools past
 * the threshold to a file in $TMPDIR (or /tmp) that has no name (O_TMPFILE,
 * or unlinked at once where the file system lacks it); EX_IOERR when it
 * cannot be made or written. */
int msg_read_body(struct message *m, int fd, msg_body_sink sink, void *ctx,
                  struct err *e);

/* Pass the normalised body to sink again, from the start. */
int msg_body_foreach(const struct message *m, msg_body_sink sink, void *ctx,
                     struct err *e);

/* What the body read holds, for the SMTP session. */
bool msg_body_is_empty(const struct message *m);
bool msg_has_8bit(const struct message *m);     /* any octet >= 0x80 */

#endif
