/* msg_edit.h - changes to the header block before a message is sent:
 * msmtp's edits, and the field DKIM puts on top. */
#ifndef OUTBOX_MSG_EDIT_H
#define OUTBOX_MSG_EDIT_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

struct message;

struct msg_edits {
	bool remove_bcc;                   /* drop Bcc (and Resent-Bcc) */
	enum header_policy from_header;    /* auto: add if missing, on: replace */
	enum header_policy date_header;    /* auto: add if missing */
	enum header_policy msgid_header;   /* auto: add if missing */
	const char *from_address;          /* envelope sender for an added From */
	const char *from_full_name;        /* display name for an added From */
	const char *msgid_domain;          /* right side of an added Message-ID */
	bool undisclosed_recipients;       /* replace To/Cc/Bcc by
	                                      "To: undisclosed-recipients:;" */
};

/* Apply msmtp's header edits. Added fields go at the top, in a fixed order,
 * with CRLF folding where needed. Everything is built before anything
 * changes: on failure (EX_DATAERR for a From address unfit for a header,
 * EX_CONFIG for a bad Message-ID domain, EX_OSERR without randomness) the
 * message is as it was. */
int msg_apply_edits(struct message *m, const struct msg_edits *edits,
                    struct err *e);

/* Add a header field at the top of the header block (used by DKIM for its
 * DKIM-Signature field). raw_value is placed after "name:" verbatim and may
 * contain CRLF-folding. */
void msg_prepend_header(struct message *m, const char *name,
                        const char *raw_value);

#endif
