/* msg_spool.h - where a message body is kept: memory, then a file with
 * no name.
 *
 * Up to MSG_SPOOL_THRESHOLD the body stays in memory; past it, it moves to
 * a temporary file in $TMPDIR (or /tmp) that no directory entry ever
 * points to, so memory does not grow with the message and a crash leaves
 * nothing behind. The spool receives CRLF-normalised data only, and never
 * a CRLF split across two appends; while taking it in, it counts what
 * later steps need to know (size, 8-bit octets, line lengths) so nobody
 * has to read the body again to ask. */
#ifndef OUTBOX_MSG_SPOOL_H
#define OUTBOX_MSG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define MSG_READ_CHUNK (64 * 1024)  /* one read(2) */
#define MSG_WRITE_CHUNK (64 * 1024) /* one write(2) or write_fn call */

/* In memory, mem holds the body; on file, mem is the write-behind buffer
 * for small pieces (less than MSG_WRITE_CHUNK; larger ones are written as
 * they come). */
struct msg_spool {
	struct buf mem;
	int fd;                 /* -1 while in memory */
	uint64_t size;
	bool has_8bit;
	uint64_t lines;         /* complete lines */
	uint64_t line_len;      /* bytes of the current line, CR included */
	uint64_t longest;       /* longest line, without CRLF */
	uint64_t first_long;    /* first line over MSG_MAX_LINE (1-based), 0 */
};

/* Called with consecutive pieces of a body; a failure (EX_* with e
 * filled) stops the walk. */
typedef int (*msg_chunk_fn)(void *ctx, const char *data, size_t len,
                            struct err *e);

/* An empty spool, in memory. */
void msg_spool_init(struct msg_spool *sp);
/* Release the memory and close the file (which then disappears). */
void msg_spool_free(struct msg_spool *sp);
/* Add data (CRLF-normalised) at the end, moving to a file when the body
 * outgrows MSG_SPOOL_THRESHOLD. EX_IOERR when the file cannot be made
 * (naming $TMPDIR) or written. */
int msg_spool_append(struct msg_spool *sp, const char *data, size_t len,
                     struct err *e);
/* Write out what the write-behind buffer holds; call once after the last
 * append. EX_IOERR on a write error. */
int msg_spool_flush(struct msg_spool *sp, struct err *e);
/* Pass the whole spool to fn from the start, in pieces of at most
 * MSG_READ_CHUNK (on file) or at once (in memory). Never moves a file
 * offset, so walks do not disturb each other. EX_IOERR when the file
 * cannot be read back; otherwise fn's first failure. */
int msg_spool_foreach(const struct msg_spool *sp, msg_chunk_fn fn, void *ctx,
                      struct err *e);

#endif
