/* msg_header.h - the message as callers hold it: its header block, read
 * only, and its end (msg_free).
 *
 * struct message is opaque: msg_read_header makes one, the other msg_*
 * headers change or write it. */
#ifndef OUTBOX_MSG_HEADER_H
#define OUTBOX_MSG_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "err.h"

struct message;

/* Header fields, in order. name is as written; value is the raw text after
 * the colon including folding CRLFs (but not the final CRLF). */
size_t msg_header_count(const struct message *m);
const char *msg_header_name(const struct message *m, size_t i);
const char *msg_header_raw_value(const struct message *m, size_t i);
/* The unfolded value of the first field called name (case-insensitive), or
 * NULL. The pointer stays valid until the message is changed. */
const char *msg_header_get(const struct message *m, const char *name);

/* Recipients for -t: To, Cc, Bcc -- or, when the header has Resent- fields,
 * the first (topmost) Resent- block's Resent-To/-Cc/-Bcc (RFC 5322 3.6.6).
 * Appends to out. EX_DATAERR on unparsable address fields. */
int msg_header_recipients(const struct message *m, struct addr_list *out,
                          struct err *e);
/* The mailbox of the From (or Sender when From is missing) header, for
 * --read-envelope-from; NULL when absent. Heap string. */
char *msg_header_sender(const struct message *m);

/* Whether a field name or value has an octet >= 0x80 (SMTPUTF8 needed). */
bool msg_header_has_utf8(const struct message *m);

/* Release m: its fields and its body (a spool file disappears). NULL is
 * fine. */
void msg_free(struct message *m);

#endif
