/* smtpd_command.h - one SMTP command line as a client sends it to outbox
 * -bs (pure: no I/O, fuzzed by tests/fuzz/fuzz_smtpd_command.c).
 *
 * The parser knows the commands and the parameters outbox honours end to
 * end: MAIL FROM with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC
 * 6531), RET and ENVID (RFC 3461); RCPT TO with NOTIFY and ORCPT (RFC
 * 3461). Every path is checked with addr_check_smtp_safe before it can
 * reach a command of our own (invariant 5), every parameter value against
 * its grammar; anything else is refused with the reply RFC 5321 4.2.4 and
 * RFC 3463 give it, never silently dropped. */
#ifndef OUTBOX_SMTPD_COMMAND_H
#define OUTBOX_SMTPD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.4 says 512 octets for a command line; paths with
 * SMTPUTF8 and several DSN parameters can exceed that in practice, so
 * outbox takes up to this much (the rest gets 500 "line too long"). */
#define SMTPD_MAX_COMMAND_LINE 4096

enum smtpd_verb {
	SMTPD_HELO,
	SMTPD_EHLO,
	SMTPD_MAIL,
	SMTPD_RCPT,
	SMTPD_DATA,
	SMTPD_RSET,
	SMTPD_NOOP,
	SMTPD_VRFY,
	SMTPD_EXPN,
	SMTPD_HELP,
	SMTPD_QUIT,
};

enum smtpd_body {
	SMTPD_BODY_UNSAID,   /* no BODY parameter */
	SMTPD_BODY_7BIT,
	SMTPD_BODY_8BITMIME,
};

struct smtpd_command {
	enum smtpd_verb verb;
	char *argument;   /* HELO/EHLO domain, VRFY/EXPN/HELP text (heap), or
	                   * NULL */
	char *path;       /* MAIL/RCPT mailbox without <> and source route;
	                   * "" for MAIL FROM:<> (heap) */
	bool has_size;    /* MAIL SIZE= */
	uint64_t size;
	enum smtpd_body body;
	bool smtputf8;    /* MAIL SMTPUTF8 */
	const char *ret;  /* MAIL RET=: "FULL", "HDRS" (static) or NULL */
	char *envid;      /* MAIL ENVID= as sent (xtext), or NULL */
	char *notify;     /* RCPT NOTIFY=, upper case: "NEVER" or a list of
	                   * SUCCESS, FAILURE, DELAY; or NULL */
	char *orcpt;      /* RCPT ORCPT= as sent (type;xtext), or NULL */
};

/* Why a line was refused: the reply to send. */
struct smtpd_refusal {
	int code;              /* 500, 501, 502, 503, 504, 552, 553, 555 */
	const char *status;    /* RFC 3463 enhanced status, e.g. "5.5.2" */
	char text[160];        /* one line, printable ASCII */
};

/* Parse one command line (without its line ending). Returns true and
 * fills cmd (free it with smtpd_command_free), or false with why filled
 * (cmd then holds nothing). Pure. */
bool smtpd_parse_command(const char *line, size_t len,
                         struct smtpd_command *cmd,
                         struct smtpd_refusal *why);

void smtpd_command_free(struct smtpd_command *cmd);

#endif
