/* smtp.h - the SMTP/LMTP client session over a struct conn.
 *
 * The session knows the protocol (greeting, EHLO/LHLO with HELO fallback,
 * capabilities, PIPELINING, SIZE, DSN, 8BITMIME, SMTPUTF8, DATA) and nothing
 * about TLS or SASL: session.c drives STARTTLS through tls.h and AUTH
 * through sasl.h using the command primitives below. Every reply is bounded by the
 * connection's timeout. Server text in error messages is made harmless with
 * sanitize.h. Failure codes: any 4xx, timeout, or dropped connection is
 * EX_TEMPFAIL; a 5xx is EX_UNAVAILABLE (callers refine, e.g. AUTH). */
#ifndef OUTBOX_SMTP_H
#define OUTBOX_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "delivery.h"
#include "err.h"

struct message;
struct addr_list;

#define SMTP_MAX_REPLY_LINES 1000 /* more lines in one reply is an error */
/* A whole reply (every line's text together) longer than this is an
 * error: SMTP_MAX_REPLY_LINES lines of CONN_MAX_LINE bytes would be 64 MiB,
 * which a hostile server could make us hold, parse (AUTH lists merge line
 * by line) and print. Real replies are a few kilobytes. */
#define SMTP_MAX_REPLY_SIZE ((size_t)256 * 1024)
/* At most this much of the server's text is shown in an error message;
 * the rest is counted, never silently dropped. */
#define SMTP_MAX_SHOWN_REPLY ((size_t)2048)

struct smtp_reply {
	int code;        /* 200..599 */
	struct buf text; /* the lines' text without codes, joined by '\n' */
	struct buf last; /* the whole last line as received, for logs */
	size_t lines;    /* lines collected so far */
};

/* Parse one reply line "NNN-text" / "NNN text" / "NNN". Pure. Returns 0 and
 * fills *code, *is_last, *text_off (offset of the text), or -1 when the line
 * is not a well-formed reply line. */
int smtp_parse_reply_line(const char *line, size_t len, int *code,
                          bool *is_last, size_t *text_off);

/* Collect one received line (without its line ending) into r, which is
 * empty (smtp_reply_init, smtp_reply_free) or holds the earlier lines of
 * the same reply. Pure. Sets *done when the line is the reply's last.
 * Fails with EX_PROTOCOL, naming peer and showing the line sanitized and
 * cut at SMTP_MAX_SHOWN_REPLY bytes, when the line is not a reply line or
 * its code differs from the earlier lines'; and when the reply would grow
 * beyond SMTP_MAX_REPLY_LINES lines or SMTP_MAX_REPLY_SIZE bytes. */
int smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len,
                        const char *peer, bool *done, struct err *e);

struct smtp_caps {
	bool esmtp; /* EHLO (or LHLO) was accepted */
	bool pipelining, size, eightbitmime, dsn, smtputf8;
	bool enhancedstatuscodes, starttls, chunking;
	uint64_t size_limit; /* SIZE's argument; 0 = none announced */
	/* AUTH's mechanisms (RFC 4422 names, upper case, one space between),
	 * or NULL when not announced */
	char *auth;
};

/* Fill caps from an EHLO reply's text (lines after the first). Pure. */
void smtp_parse_caps(const char *ehlo_text, struct smtp_caps *caps);
void smtp_caps_clear(struct smtp_caps *caps);

/* Debug transcript: called for every line sent ('>') or received ('<') when
 * set. Lines flagged secret are passed already redacted. */
typedef void (*smtp_trace_fn)(void *ctx, char direction, const char *line);

struct smtp_session;

/* Create a session over conn (which it does not own). */
struct smtp_session *smtp_session_new(struct conn *conn, enum protocol proto,
                                      smtp_trace_fn trace, void *trace_ctx);
void smtp_session_free(struct smtp_session *s);
struct conn *smtp_conn(struct smtp_session *s);

/* Read the greeting (220). A 4xx/554 greeting or silence fails. */
int smtp_greeting(struct smtp_session *s, struct smtp_reply *r,
                  struct err *e);
/* EHLO domain (LHLO for LMTP); on a 5xx to EHLO fall back to HELO (SMTP
 * only). Replaces the capabilities. The domain is validated first. */
int smtp_hello(struct smtp_session *s, const char *domain, struct err *e);
const struct smtp_caps *smtp_caps(const struct smtp_session *s);
/* Forget capabilities (after STARTTLS, RFC 3207 4.2). */
void smtp_forget_caps(struct smtp_session *s);
/* The full text of the last EHLO reply, for --serverinfo. */
const char *smtp_ehlo_text(const struct smtp_session *s);

/* Send one command line (CRLF appended; the line must not contain CR/LF)
 * without waiting for a reply; it is flushed by the next smtp_read_reply.
 * secret: show only the verb (e.g. "AUTH PLAIN <redacted>") in the trace. */
int smtp_send_command(struct smtp_session *s, const char *line, bool secret,
                      struct err *e);
/* Read one (multi-line) reply into r, flushing pending output first. */
int smtp_read_reply(struct smtp_session *s, struct smtp_reply *r,
                    struct err *e);
/* smtp_send_command then smtp_read_reply. */
int smtp_command(struct smtp_session *s, const char *line, bool secret,
                 struct smtp_reply *r, struct err *e);

/* Fill e with "WHAT: the server said: CODE TEXT" (sanitized) and return the
 * exit code for the reply: EX_TEMPFAIL for 4xx, EX_UNAVAILABLE for 5xx,
 * EX_PROTOCOL for anything else unexpected. */
int smtp_reply_error(const struct smtp_reply *r, const char *what,
                     struct err *e);

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

struct smtp_envelope {
	const char *from;             /* "" for the null reverse-path */
	const struct addr_list *rcpt; /* mailboxes */
	const char *dsn_notify;       /* NULL or e.g. "FAILURE,DELAY" */
	const char *dsn_return;       /* NULL, "FULL" or "HDRS" */
	/* RFC 3461 ENVID (xtext) and ORCPT values given by a client of
	 * outbox -bs: NULL, or the recipients' ORCPT ("type;xtext") as the
	 * display name of their mailbox, looked up by mailbox. */
	const char *dsn_envid;
	const struct addr_list *dsn_orcpt;
};

/* An envelope for sender and recipients with the account's DSN settings
 * (stored by directives.c as SMTP keywords; "" = explicitly off); no
 * ENVID or ORCPT. */
struct smtp_envelope smtp_envelope_for(const struct account *a,
                                       const char *from,
                                       const struct addr_list *rcpt);

/* What the server said, for logs, and what became of each recipient. */
struct smtp_outcome {
	int code;         /* the deciding (last, or first refusing) reply */
	struct buf reply; /* that reply's last line, raw */
	struct delivery delivery; /* one result per recipient of the envelope */
};

/* Send the message to env's recipients (smtp_transaction.c): MAIL FROM
 * (SIZE=, BODY=8BITMIME, SMTPUTF8, RET=, ENVID=), RCPT TO (NOTIFY=, ORCPT=)
 * pipelined when offered, DATA, the message dot-stuffed, end of data; for
 * LMTP one reply per recipient. A refused recipient abandons the
 * transaction (RSET) before any data is sent, so a retry never delivers
 * twice; only the server's recipient limit (452, or 552, after some were
 * accepted: RFC 5321 4.5.3.1.10) is not a refusal: the accepted ones get
 * the message and the rest go in further transactions of this session,
 * each recipient exactly once. A message larger than the announced SIZE
 * is refused before MAIL. Every address is validated before it is placed
 * in a command.
 * out->delivery says what became of each recipient (out is initialised
 * here; free it with smtp_outcome_free). Returns EX_OK when every
 * recipient has the message; otherwise the status for those who do not
 * (delivery_exit_code, or the failure that stopped the session), and e
 * says which recipients got it and why the others did not. */
int smtp_send_mail(struct smtp_session *s, const struct smtp_envelope *env,
                   const struct message *m, struct smtp_outcome *out,
                   struct err *e);

/* The next smtp_send_mail is the session's last: when the server offers
 * PIPELINING, QUIT goes out right behind its end of data (RFC 2920 3.1:
 * message content may begin a group, and QUIT end it), which saves the
 * session's last round trip; smtp_quit then only reads QUIT's reply. Not
 * when the server's recipient limit leaves recipients for another
 * transaction. */
void smtp_last_message(struct smtp_session *s);

/* RSET between messages of one session (queue flush). */
int smtp_reset(struct smtp_session *s, struct err *e);
/* QUIT (best effort: errors are ignored), or only its reply when it went
 * out with the end of data (smtp_last_message); nothing at all once the
 * stream is unusable (a write failed, or a reply timed out, was cut off
 * or made no sense), so session.c can call it after any refusal. */
void smtp_quit(struct smtp_session *s);

void smtp_outcome_free(struct smtp_outcome *o);

#endif
