/* smtpd_relay.h - outbox -bs: each message of the SMTP dialogue on
 * standard input (smtpd.h) goes the way a message given on standard input
 * goes: MAIL FROM is the -f of the command line (it chooses the account
 * and becomes the envelope sender where allow_from_override allows it),
 * the RCPT TO addresses are its recipients, NOTIFY and RET its -N and -R
 * (ENVID and ORCPT go along in the envelope),
 * and the message is sent, queued, or handed to the maildrop exactly as
 * send.h and maildrop.h would; the outcome is the reply to its final dot. */
#ifndef OUTBOX_SMTPD_RELAY_H
#define OUTBOX_SMTPD_RELAY_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* Hold the dialogue on standard input and output (smtpd_run's exit
 * status). warnings collects the lines for the user of every message. */
int smtpd_relay_run(const struct options *opts, const struct conf *conf,
                    const struct session_trace *trace, struct buf *warnings,
                    struct err *e);

#endif
