/* verify.h - sendmail -bv: what would become of these recipients, without
 * sending anything or asking any server. */
#ifndef OUTBOX_VERIFY_H
#define OUTBOX_VERIFY_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"

/* For the account a message with these options would use (-a, -f, the
 * default), build the envelope as sending would (aliases applied,
 * duplicates removed, every address checked for SMTP) and append one line
 * per recipient to out, in sendmail's words: "ADDRESS... deliverable:
 * mailer esmtp, host HOST, port PORT, user ADDRESS" (lmtp, a socket, or
 * the maildrop where that is the way). Fails as envelope_build and
 * setup_account do (EX_USAGE for a bad address, EX_CONFIG ...). */
int verify_run(const struct options *opts, const struct conf *conf,
               struct buf *out, struct err *e);

#endif
