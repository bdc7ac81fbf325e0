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
	bool auth_failed;   /* the server refused our AUTH */
	struct tls_peer peer; /* filled when TLS was used */
	struct buf warnings;  /* lines for the user (e.g. tls_certcheck off) */
};

/* Where the -v transcript goes: line is called with each line sent ('>';
 * a secret one, AUTH's, already redacted) or received ('<', made harmless
 * with sanitize.h) as the conversation happens, for the caller to show.
 * This module never prints (main.c does). */
struct session_trace {
	smtp_trace_fn line;
	void *ctx;
};

/* Open the session, handing the conversation to trace (NULL: no
 * transcript). skip_auth is for --serverinfo. On failure everything opened
 * is closed again (with QUIT where the stream is still sane) and e says
 * what failed, with the right exit code. */
int session_open(struct session *s, const struct account *a,
                 const struct session_trace *trace, bool skip_auth,
                 struct err *e);

/* QUIT (when send_quit) and release everything. */
void session_close(struct session *s, bool send_quit);

#endif
