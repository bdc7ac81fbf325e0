/* serverinfo.h - --serverinfo: what the server offers (greeting, TLS
 * certificate, capabilities after TLS), without sending mail. */
#ifndef OUTBOX_SERVERINFO_H
#define OUTBOX_SERVERINFO_H

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* Connect as for sending (TLS included, AUTH skipped), handing the
 * conversation to trace (NULL: none), and describe the server into out. */
int serverinfo_run(const struct account *a, const struct session_trace *trace,
                   struct buf *out, struct buf *warnings, struct err *e);

/* The part of serverinfo_run's output after the connection: "WHAT at
 * PEER:", the EHLO greeting line, TLS parameters and certificate, the
 * capabilities (also for direct delivery's MX hosts). */
void serverinfo_describe_session(struct session *s, const char *what,
                                 struct buf *out);

#endif
