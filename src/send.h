/* send.h - sendmail mode: read the message, build the envelope, edit and
 * sign the header, deliver (or queue), log. */
#ifndef OUTBOX_SEND_H
#define OUTBOX_SEND_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"

/* Run sendmail mode on standard input. warnings collects lines for the
 * user that do not change the outcome (printed by main even on success). */
int send_run(const struct options *opts, const struct conf *conf,
             struct buf *warnings, struct err *e);

#endif
