/* msg.h - the message: read from stdin, header block, edits, wire form.
 *
 * Callers include this header alone. The contract is one header per step,
 * each included here:
 *   msg_limits.h      the limits a message must keep
 *   msg_read.h        standard input to a message: header block, then
 *                     body (line endings made CRLF, large bodies spooled)
 *   msg_header.h      the header block as callers read it; msg_free
 *   msg_edit.h        msmtp's header edits; DKIM's field on top
 *   msg_line_limit.h  no line over MSG_MAX_LINE: refolding, re-encoding
 *   msg_wire.h        the message as it goes on the wire, and its size
 * The steps' own shared parts (msg_internal.h, msg_normalize.h,
 * msg_spool.h) are for the msg_*.c files only. */
#ifndef OUTBOX_MSG_H
#define OUTBOX_MSG_H

#include "msg_limits.h"
#include "msg_read.h"
#include "msg_header.h"
#include "msg_edit.h"
#include "msg_line_limit.h"
#include "msg_wire.h"

#endif
