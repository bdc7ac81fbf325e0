/* maildrop_format.h - the text format of a maildrop entry (pure).
 *
 * A local user who cannot read the system's account hands the message to
 * the maildrop (maildrop.h); root's flush picks it up later and sends it
 * as if that user had run sendmail with the same options. The entry keeps
 * exactly what the sendmail options said about the message and its
 * envelope, then the message as it came on standard input:
 *   outbox-maildrop 1
 *   account: work                (-a)
 *   from: me@example.org         (-f, -r, --from; empty: -f '<>')
 *   full-name: Backup Job        (-F)
 *   read-recipients: yes         (-t)
 *   read-envelope-from: yes      (--read-envelope-from)
 *   dsn-notify: failure,delay    (-N)
 *   dsn-return: hdrs             (-R)
 *   dsn-envid: QQ314159          (ENVID of outbox -bs)
 *   rcpt: you@example.net        (each recipient operand, in order)
 *   dsn-orcpt: rfc822;you+40example.net
 *                                (the ORCPT outbox -bs got for the
 *                                 recipient just before)
 *   <empty line>
 *   the message bytes
 * Every field is optional; values are escaped as queue files' are
 * (queue_escape_value). What the entry does NOT hold is who wrote it: the
 * flush takes the submitter from the file's owner, which the kernel sets,
 * never from the content. Options that would define or change the account
 * itself (--host, --tls-trust-file, ...) are never carried: a submitter
 * may use the system's account, not redirect it.
 *
 * The parser is total: any bytes give a request or EX_DATAERR with
 * "line N: what is wrong"; the output is always safe to free. */
#ifndef OUTBOX_MAILDROP_FORMAT_H
#define OUTBOX_MAILDROP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Largest header of an entry (recipients included). */
#define MAILDROP_MAX_HEADER (1024 * 1024)
/* Largest message a local user may hand to the maildrop (the submitter
 * refuses more, nothing is written); maildrop_max_size can only lower it
 * for root's pickup. */
#define MAILDROP_MAX_SIZE (64L * 1024 * 1024)
/* Most recipient operands one entry may carry. */
#define MAILDROP_MAX_RCPT 10000

struct maildrop_request {
	char *account;           /* -a; NULL: the default choice */
	char *envelope_from;     /* -f; "" for the null path; NULL: none */
	char *full_name;         /* -F */
	bool read_recipients;    /* -t */
	bool read_envelope_from; /* --read-envelope-from */
	char *dsn_notify;        /* -N */
	char *dsn_return;        /* -R */
	char *dsn_envid;         /* ENVID (outbox -bs) */
	char **recipients;       /* operands */
	char **recipient_orcpt;  /* their ORCPT or NULL, one per operand
	                          * (outbox -bs); NULL when none has one */
	size_t recipient_count;
};

/* The entry's header for r, ending with the empty line. */
void maildrop_format(const struct maildrop_request *r, struct buf *out);

/* Parse the start of an entry: text holds its first len bytes (the whole
 * header, or all there is). On success *data_offset is where the message
 * starts. EX_DATAERR when the header is malformed, has an unknown or
 * repeated field, or does not end within MAILDROP_MAX_HEADER bytes. */
int maildrop_parse(const char *text, size_t len, struct maildrop_request *out,
                   size_t *data_offset, struct err *e);

void maildrop_request_free(struct maildrop_request *r);

#endif
