/* sanitize.h - make untrusted text (server replies) harmless for terminals,
 * logs and syslog. */
#ifndef OUTBOX_SANITIZE_H
#define OUTBOX_SANITIZE_H

#include <stddef.h>

#include "buf.h"

/* Append text to out with every C0 control byte (except TAB), DEL, C1
 * control character (U+0080..U+009F, which some terminals obey as escape
 * sequences) and every byte of an invalid or overlong UTF-8 sequence
 * replaced by the visible escape "\xNN". Valid UTF-8 passes through. */
void sanitize_append(struct buf *out, const char *text, size_t len);
/* sanitize_append for a one-line place (a log line, a queue listing, a
 * flush report): outbox's own multi-line messages (a line break and the
 * next line's indentation) read as "; " instead of "\x0a  ". */
void sanitize_append_line(struct buf *out, const char *text, size_t len);

#endif
