/* msg.h - the message: read from stdin, header block, edits, wire form.
 *
 * Reading normalises line endings once: the stored body is CRLF lines only
 * (bare LF and bare CR become CRLF), so every later consumer (DKIM, SMTP,
 * queue) sees the exact bytes that go on the wire before dot-stuffing. The
 * body stays in memory up to MSG_SPOOL_THRESHOLD and moves to a temporary
 * file without a name beyond it, so memory does not grow with the message
 * and a crash leaves no file behind. */
#ifndef OUTBOX_MSG_H
#define OUTBOX_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"

#define MSG_SPOOL_THRESHOLD (256 * 1024) /* body bytes kept in memory */
#define MSG_MAX_LINE 998                  /* RFC 5322 2.1.1, without CRLF */
#define MSG_MAX_HEADER_BLOCK (1024 * 1024)  /* refuse larger header blocks */

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
 * with CRLF folding where needed. */
int msg_apply_edits(struct message *m, const struct msg_edits *edits,
                    struct err *e);

/* Add a header field at the top of the header block (used by DKIM for its
 * DKIM-Signature field). raw_value is placed after "name:" verbatim and may
 * contain CRLF-folding. */
void msg_prepend_header(struct message *m, const char *name,
                        const char *raw_value);

/* Ensure no line exceeds MSG_MAX_LINE octets: when the message is a
 * single-part text (or has no Content-Type) with 7bit/8bit or no
 * Content-Transfer-Encoding, re-encode the body as quoted-printable and set
 * the MIME headers; a long header line is refolded when it has white space.
 * Otherwise EX_DATAERR naming the line. *changed tells whether the body was
 * rewritten (the caller must then re-hash it). */
int msg_enforce_line_limit(struct message *m, bool *changed, struct err *e);

/* Pass the normalised body to sink again, from the start. */
int msg_body_foreach(const struct message *m, msg_body_sink sink, void *ctx,
                     struct err *e);

/* Properties the SMTP session needs. */
bool msg_body_is_empty(const struct message *m);
bool msg_has_8bit(const struct message *m);     /* any octet >= 0x80 */
bool msg_header_has_utf8(const struct message *m);
uint64_t msg_size(const struct message *m);     /* header + CRLF + body */

/* Write the final message (header block, empty line, body), exactly as it
 * will go on the wire before dot-stuffing, through write_fn. dot_stuff adds
 * RFC 5321 4.5.2 transparency (a leading '.' doubled); the terminating
 * ".\r\n" is not written. write_fn returns EX_OK or a failure code with e
 * filled. */
typedef int (*msg_write_fn)(void *ctx, const char *data, size_t len,
                            struct err *e);
int msg_write(const struct message *m, bool dot_stuff, msg_write_fn write_fn,
              void *ctx, struct err *e);

void msg_free(struct message *m);

#endif
