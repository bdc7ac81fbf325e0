/* keytool.h - the DKIM key commands: --dkim-keygen and --dkim-record. */
#ifndef OUTBOX_KEYTOOL_H
#define OUTBOX_KEYTOOL_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"

/* Run MODE_DKIM_KEYGEN or MODE_DKIM_RECORD. The key file, selector and
 * domain come from --dkim-key/--dkim-selector/--dkim-domain, else from the
 * first signer of the account (-a, or the default account). The record
 * (or, for keygen, a note of what was written) is appended to out. */
int keytool_run(const struct options *opts, const struct conf *conf,
                struct buf *out, struct err *e);

#endif
