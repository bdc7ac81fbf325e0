/* flush.h - --flush (-q): deliver the queued messages that are due.
 *
 * Each due entry's account is rebuilt from the configuration by the name
 * stored with it, its stored command-line overrides, then the overrides
 * given to --flush itself. Entries whose accounts share a smarthost (same
 * host, port, socket, proxy, TLS and authentication settings) go through
 * ONE session: session_open once, one transaction per message, RSET after
 * a failed one. Every attempt is logged like a normal send (log_write).
 *
 * Outcome of each entry:
 *  - accepted by the server: removed (after the reply, never before);
 *  - permanent refusal (5xx, or a message the server cannot take: too big,
 *    DSN not offered, an unusable address): moved to the dead letters with
 *    the reason, and a bounce notice queued to the sender when the account
 *    has queue_bounce on (null reverse-path, so a bounce is never bounced);
 *  - anything else, including every failure to open the session (refused
 *    connection, DNS, TLS, authentication): deferred, attempts + 1, next
 *    attempt after queue_retry_delay(); given up (dead letter) when that
 *    failure comes queue_max_age after it was queued;
 *  - its account cannot be built (configuration error): left as it is,
 *    with the error recorded, and tried again by the next flush;
 *  - it cannot be read (a damaged header, or message bytes that do not
 *    match the size and SHA-256 recorded with them): set aside in the
 *    queue's damaged/ folder with the reason, never sent and never
 *    deleted, so that it no longer holds up the others.
 * An entry locked by a concurrent flush is skipped, so two flushes never
 * deliver the same message twice. */
#ifndef OUTBOX_FLUSH_H
#define OUTBOX_FLUSH_H

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* Flush every queue directory of queue_select_dirs(), handing each
 * session's conversation to trace (NULL: none). report gets one line
 * per entry acted on ("ID: delivered", "ID: deferred until ...", "ID: dead
 * letter: ..."), nothing when nothing was due. Returns, by precedence:
 * EX_CONFIG when an entry's account could not be built, EX_IOERR on a
 * local I/O failure, EX_DATAERR when an entry was found damaged (and set
 * aside) during this run,
 * EX_UNAVAILABLE when a message went to the dead letters during this run,
 * EX_TEMPFAIL when one was deferred, else EX_OK (everything due was
 * delivered, or nothing was due); e then summarises. */
int flush_run(const struct conf *conf, const struct options *opts,
              const struct session_trace *trace, struct buf *report,
              struct err *e);

#endif
