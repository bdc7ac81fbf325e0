/* json_write.h - writing JSON by hand: a string value, escaped.
 *
 * json-c reads outbox's JSON; writing is this small function because
 * json-c's serializer grows its buffer with realloc, which would leave
 * copies of secrets (OAuth tokens) behind in freed memory, and because a
 * report (outbox --check --json) needs nothing more. */
#ifndef OUTBOX_JSON_WRITE_H
#define OUTBOX_JSON_WRITE_H

#include "buf.h"

/* Append s as a JSON string (RFC 8259 7): quotes, '"' and '\\' escaped,
 * control characters and bytes that are not UTF-8 as \u00XX; valid UTF-8
 * kept. out grows as buf_add_secret grows it (wiped when it moves). */
void json_write_string(struct buf *out, const char *s);

#endif
