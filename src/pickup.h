/* pickup.h - root's side of the maildrop (maildrop.h): every entry there
 * becomes an entry of the system queue, prepared (header edits, Received
 * field, DKIM) with the system's account as if its submitter had run
 * sendmail, then leaves the maildrop. outbox --flush run by root does this
 * first, then delivers the queue.
 *
 * Every file in the maildrop is hostile input: only regular files with
 * one link are opened (never following a symbolic link, never blocking on
 * a FIFO, never opening a device), at most maildrop_max_size bytes of
 * message are taken, and whatever cannot be sent is moved aside to
 * MAILDROP_DAMAGED_DIR with NAME.reason, never deleted and never stopping
 * the others. A run leaves the maildrop empty but for entries it could
 * not queue because of a temporary failure (a full disk), and those a
 * concurrent pickup holds. */
#ifndef OUTBOX_PICKUP_H
#define OUTBOX_PICKUP_H

#include "buf.h"
#include "conf.h"
#include "err.h"

/* Pick up every maildrop entry, with conf (root's configuration). One
 * line per entry goes to report: the entry, its submitter (login and
 * uid), and the queue ID it got or why it was set aside. EX_OK when there
 * is no maildrop; EX_TEMPFAIL / EX_IOERR when an entry had to be left for
 * a later run; EX_DATAERR when one was set aside (the others were
 * handled). */
int pickup_run(const struct conf *conf, struct buf *report, struct err *e);

#endif
