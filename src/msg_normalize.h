/* msg_normalize.h - input line endings made CRLF, once, while reading.
 *
 * CRLF, bare LF and bare CR each end a line and become CRLF (security
 * invariant 4: no bare CR or LF reaches the wire). A CR at the end of one
 * piece followed by LF at the start of the next is one CRLF; a CR directly
 * followed by CRLF therefore adds an empty line. NUL bytes are refused
 * (EX_DATAERR naming the line) rather than encoded: no SMTP server accepts
 * them and no MUA produces them on purpose. Pure: no I/O. */
#ifndef OUTBOX_MSG_NORMALIZE_H
#define OUTBOX_MSG_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The normaliser's state; it survives piece boundaries. Start it as
 * {false, 1}. */
struct msg_normalizer {
	bool pending_cr; /* the last byte seen was a CR */
	uint64_t line;   /* 1-based number of the current input line */
};

/* Append the piece in[0..len) to out with every line ending made CRLF.
 * Never emits a CR without its LF, so out can be cut anywhere after a
 * call without splitting a CRLF. EX_DATAERR naming the line at a NUL byte
 * (what came before it is appended). */
int msg_normalizer_feed(struct msg_normalizer *n, const char *in, size_t len,
                        struct buf *out, struct err *e);
/* At the end of input: a CR still held becomes CRLF. */
void msg_normalizer_finish(struct msg_normalizer *n, struct buf *out);

#endif
