/* session.h - an open, secured, authenticated SMTP session with the
 * account's server: connect (TCP, proxy or unix socket), greeting, EHLO,
 * STARTTLS or implicit TLS, AUTH. Shared by sending, --serverinfo and the
 * queue flush, so the security rules live in exactly one place:
 *  - with TLS configured nothing but EHLO/STARTTLS/QUIT is sent before the
 *    handshake completes and the certificate verifies (invariant 1);
 *  - after STARTTLS, bytes the server sent early are refused and the
 *    capabilities are forgotten and asked for again (invariant 2);
 *  - AUTH runs only after all of that (invariant 3). */
#ifndef OUTBOX_SESSION_H
#define OUTBOX_SESSION_H

#include <stdbool.h>

#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "err.h"
#include "smtp.h"
#include "tls.h"

struct session {
	struct conn *conn;
	struct smtp_session *smtp;
	bool tls;           /* the channel is encrypted */
	bool authenticated;
	bool tls_failed;    /* the handshake failed: the stream is unusable */
	struct tls_peer peer; /* filled when TLS was used */
	struct buf warnings;  /* lines for the user (e.g. tls_certcheck off) */
};

/* Open the session. debug > 0 prints the conversation on stderr (secrets
 * redacted). skip_auth is for --serverinfo. On failure everything opened is
 * closed again and e says what failed, with the right exit code. */
int session_open(struct session *s, const struct account *a, int debug,
                 bool skip_auth, struct err *e);

/* QUIT (when send_quit) and release everything. */
void session_close(struct session *s, bool send_quit);

#endif
