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
	bool tls_unmet;     /* session_open_mx: the TLS the target requires
	                     * was not had (no STARTTLS offered, or the
	                     * handshake or its verification failed) */
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

/* How the hop to an MX host must be protected (direct.h decides). */
enum mx_tls {
	MX_TLS_NONE,    /* no STARTTLS (the plaintext retry after an
	                 * opportunistic handshake failed, RFC 7435) */
	MX_TLS_MAY,     /* STARTTLS when offered, nothing verified */
	MX_TLS_ENCRYPT, /* STARTTLS required, nothing verified */
	MX_TLS_VERIFY,  /* MTA-STS enforce: STARTTLS required, the
	                 * certificate valid for the MX name (PKIX against
	                 * tls_trust_file) */
	MX_TLS_VERIFY_TESTING, /* the same check, for MTA-STS testing: the
	                        * caller retries with MX_TLS_MAY when it
	                        * fails, and reports */
	MX_TLS_DANE,    /* STARTTLS required, the chain matching the TLSA
	                 * records (tls.h) */
};

/* One address of one MX host and what its hop requires. */
struct mx_target {
	const char *name;              /* the MX host (an A-label) */
	const unsigned char *address;  /* 4 or 16 bytes */
	size_t address_len;
	int port;
	enum mx_tls tls;
	const struct dane_tlsa_set *dane;  /* MX_TLS_DANE */
	const char *const *dane_names;     /* reference identifiers */
	size_t dane_name_count;
};

/* Open a session with an MX host for direct delivery: connect to the one
 * address (a->timeout, a->source_ip), greeting, EHLO a->domain, STARTTLS
 * as t->tls says (same invariants as session_open: nothing but EHLO and
 * STARTTLS before the handshake, the pre-TLS state dropped after it),
 * never AUTH. A TLS requirement the host does not meet is EX_TEMPFAIL
 * (another MX, or a later attempt, may do), a failed verification
 * EX_NOPERM (tls.h); s->tls_failed tells a handshake that failed. */
int session_open_mx(struct session *s, const struct account *a,
                    const struct mx_target *t,
                    const struct session_trace *trace, struct err *e);

/* QUIT (when send_quit) and release everything. */
void session_close(struct session *s, bool send_quit);

#endif
