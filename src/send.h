/* send.h - sendmail mode: read the message, build the envelope, edit and
 * sign the header, deliver (or queue), log. */
#ifndef OUTBOX_SEND_H
#define OUTBOX_SEND_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* Run sendmail mode on standard input, handing the SMTP conversation to
 * trace (NULL: none). warnings collects lines for the user that do not
 * change the outcome (printed by main even on success). */
int send_run(const struct options *opts, const struct conf *conf,
             const struct session_trace *trace, struct buf *warnings,
             struct err *e);

#endif
