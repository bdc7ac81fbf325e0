/* msg_line_limit.h - no line longer than MSG_MAX_LINE octets (RFC 5322
 * 2.1.1, RFC 5321 4.5.3.1.6) before the message goes out. */
#ifndef OUTBOX_MSG_LINE_LIMIT_H
#define OUTBOX_MSG_LINE_LIMIT_H

#include <stdbool.h>

#include "err.h"

struct message;

/* Ensure no line exceeds MSG_MAX_LINE octets: when the message is a
 * single-part text (or has no Content-Type) with 7bit/8bit or no
 * Content-Transfer-Encoding, re-encode the body as quoted-printable and set
 * the MIME headers; a long header line is refolded when it has white space.
 * Otherwise EX_DATAERR naming the line. *changed tells whether the body was
 * rewritten (the caller must then re-hash it). */
int msg_enforce_line_limit(struct message *m, bool *changed, struct err *e);

#endif
