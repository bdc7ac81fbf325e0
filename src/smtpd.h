/* smtpd.h - outbox -bs: an SMTP server dialogue on standard input and
 * output, for the programs that drive sendmail as an SMTP server (Symfony
 * Mailer's and Laravel's sendmail transports, "sendmail -bs").
 *
 * The dialogue (RFC 5321, with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN
 * and ENHANCEDSTATUSCODES) collects transactions; each message is taken
 * in whole (dot-unstuffed, into a file without a name) before anything is
 * sent on (invariant 6), then handed to the caller's deliver function,
 * whose verdict becomes the reply to the final dot. The module knows SMTP
 * and nothing about accounts or the smarthost.
 *
 * Lines: commands end in CRLF or, as many clients send, a bare LF; a CR
 * or NUL inside a command is refused. A message ends only at CRLF "."
 * CRLF (RFC 5321 4.1.1.4): a "." line after a bare LF is content, so
 * text inside a message can never be read as commands (no smuggling); its
 * bare LFs become CRLF later, as for a message on standard input. */
#ifndef OUTBOX_SMTPD_H
#define OUTBOX_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "smtpd_command.h"

/* The largest message taken (and announced with SIZE) unless the caller
 * says less, or the smarthost said less with its own SIZE in an earlier
 * transaction of the dialogue: what the maildrop takes too. */
#define SMTPD_MAX_MESSAGE_SIZE ((uint64_t)64 * 1024 * 1024)
/* RFC 5321 4.5.3.1.8 asks for at least 100. */
#define SMTPD_MAX_RECIPIENTS 1000
/* Refused commands before the dialogue is ended with 421 (as Postfix's
 * smtpd_hard_error_limit). */
#define SMTPD_MAX_ERRORS 20
/* Seconds to wait for each command line or line of a message (RFC 5321
 * 4.5.3.2.7: five minutes), unless the caller's timeout is set. */
#define SMTPD_DEFAULT_TIMEOUT 300

struct smtpd_settings {
	int in_fd, out_fd;
	const char *hostname;      /* in the greeting and the EHLO reply */
	int timeout;               /* seconds; 0: SMTPD_DEFAULT_TIMEOUT */
	uint64_t max_message_size; /* 0: SMTPD_MAX_MESSAGE_SIZE */
};

struct smtpd_recipient {
	char *mailbox;
	char *notify; /* NOTIFY= (upper case) or NULL */
	char *orcpt;  /* ORCPT= as sent, or NULL */
};

/* One transaction, as the client stated it. */
struct smtpd_transaction {
	char *from;           /* reverse-path; "" for the null one */
	bool smtputf8;
	enum smtpd_body body;
	const char *ret;      /* "FULL", "HDRS" or NULL */
	char *envid;          /* or NULL */
	struct smtpd_recipient *rcpt;
	size_t rcpt_count;
	int message_fd;       /* the message as received (dot-unstuffed,
	                       * line endings as sent), read from offset 0 */
	uint64_t message_size;
};

/* What became of a message. */
struct smtpd_verdict {
	int rc;          /* EX_OK: it was sent on or safely queued; else the
	                  * exit status outbox would have had */
	int server_code; /* the smarthost's deciding reply (4xx/5xx), or 0 */
	struct buf text; /* one sentence for the reply: the queue id or the
	                  * smarthost's words; the error otherwise */
	uint64_t size_limit; /* the smarthost's SIZE, when it said one: the
	                      * dialogue announces and enforces no more */
};

/* Sends one message on; fills v (its text is empty on entry). */
typedef void (*smtpd_deliver_fn)(void *ctx, const struct smtpd_transaction *t,
                                 struct smtpd_verdict *v);

/* Hold the dialogue until QUIT (EX_OK, whatever the transactions'
 * outcomes: the client has read them as replies) or until it cannot go
 * on: the client went away in a transaction (EX_PROTOCOL), fell silent
 * past the timeout (421, EX_TEMPFAIL), made SMTPD_MAX_ERRORS mistakes
 * (421, EX_PROTOCOL), or its output could not be written (EX_IOERR). The
 * end of input outside a transaction ends it like QUIT. */
int smtpd_run(const struct smtpd_settings *s, smtpd_deliver_fn deliver,
              void *ctx, struct err *e);

/* The reply line (without CRLF) for a verdict: 250 when it went on, the
 * smarthost's own code when it answered, else the code that matches the
 * exit status (4xx where retrying can help); an RFC 3463 status always
 * follows. Pure. */
void smtpd_verdict_reply(const struct smtpd_verdict *v, struct buf *out);

#endif
