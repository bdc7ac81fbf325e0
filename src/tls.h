/* tls.h - TLS on a connection (GnuTLS): trust, verification, pinning,
 * client certificates.
 *
 * tls_start() runs the client handshake over an open struct conn, verifies
 * the server and only then installs the TLS transport, so nothing but the
 * handshake itself crosses the wire before the peer is verified (security
 * invariant 1). Verification, first match wins (the last four as msmtp):
 *   dane             (direct delivery to an MX host with usable TLSA
 *                    records, non-NULL with count > 0) the chain must
 *                    match one of the records as dane.h describes, the
 *                    reference identifiers for DANE-TA(2) being dane_names
 *                    (the name asked for when there are none). The system
 *                    store, tls_trust_file, tls_crl_file, tls_fingerprint
 *                    and tls_certcheck play no part: DANE is authoritative
 *                    (RFC 7672 3.1). SNI carries host_override or host,
 *                    which the caller sets to the TLSA base domain (RFC
 *                    7672 8.1). tls_peer.dane names the record that
 *                    matched. A mismatch is EX_NOPERM;
 *   opportunistic    (direct delivery without DANE or MTA-STS) encrypt,
 *                    verify nothing, and say nothing about it: no warning,
 *                    tls_peer.verified false (RFC 7435: unauthenticated
 *                    encryption beats cleartext, and is no one's mistake);
 *   tls_fingerprint  the end-entity certificate's SHA-256 (or SHA-1, MD5:
 *                    told apart by length) must match; nothing else is
 *                    checked and no trust store is loaded;
 *   tls_certcheck off  nothing is verified: the session is set up and
 *                    tls_peer.warning says so (the caller prints it);
 *   otherwise        the chain must verify against tls_trust_file (a PEM
 *                    file, or "system" = the system store, the default),
 *                    minus tls_crl_file, and the certificate must be valid
 *                    for tls_host_override or host (IDN: its A-label).
 * SNI carries the same name (not for IP literals). tls_priorities replaces
 * the default priority string TLS_DEFAULT_PRIORITIES (TLS 1.2 and 1.3).
 * MTA-STS (RFC 8461 4.2) is the last case with host = the MX host name.
 *
 * Session resumption (tls_start_cached, tls_session_cache on): a session
 * ticket kept from an earlier verified session with the same identity
 * (tls_cache.h) is offered in the handshake. When the server accepts it,
 * it has proved it holds the secret of that earlier session, whose chain
 * verified against the same trust, CRL and name (the cache key holds
 * them, and the name): nothing of that verdict is checked again, not even
 * parsed, but time: the entry stands for it only from when it was stored
 * until the chain's earliest notAfter (tls_cache.h), and a pin is checked
 * as always.
 * When the server refuses the ticket the handshake simply is a full one.
 * Never with dane or opportunistic: a ticket would stand for a verdict
 * that DNS, not the configuration, decided (and may have changed since),
 * or for none at all.
 * When a handshake with a cached session fails, or the resumed session
 * fails verification (say its certificate expired since), the entry is
 * removed and the caller connects once more without it (the failure
 * carries no verdict about the server's current certificate).
 *
 * Failure codes:
 *   EX_NOPERM    the server is not the one configured: untrusted, expired or
 *                revoked chain, wrong name, pin mismatch, no certificate, a
 *                DH prime below tls_min_dh_prime_bits, no TLSA record
 *                matched;
 *   EX_TEMPFAIL  timeout, connection reset or closed during the handshake,
 *                or the server's internal_error alert: worth retrying;
 *   EX_UNAVAILABLE  the server refused the handshake with any other alert,
 *                or no protocol version/cipher suite in common: a permanent
 *                mismatch that retrying will not fix;
 *   EX_PROTOCOL  the server does not speak TLS (e.g. a plain SMTP server on
 *                the port: the message suggests tls_starttls);
 *   EX_CONFIG    an unreadable trust/CRL/certificate/key file, an invalid
 *                priority string or fingerprint, no system trust store.
 * On failure nothing is installed and the connection is unusable: close it
 * with conn_close() without sending QUIT. */
#ifndef OUTBOX_TLS_H
#define OUTBOX_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conn.h"
#include "dane.h"
#include "err.h"

/* GnuTLS's NORMAL, TLS 1.2 and 1.3 only, reordered as browsers order it
 * (the same groups and ciphers as NORMAL, nothing added or removed):
 * - X25519 ahead of the NIST curves: the key exchange every handshake and
 *   every resumption pays is then X25519's, several times cheaper than
 *   P-256's in nettle;
 * - AES-128-GCM ahead of AES-256-GCM, and each 128-bit cipher ahead of
 *   its 256-bit twin: TLS 1.3's mandatory suite (RFC 8446 9.1), as strong
 *   as the 128-bit key exchange it is keyed by, and with SHA-256 (done by
 *   the CPU's SHA extensions where there are any) instead of SHA-384 for
 *   the handshake's hashing; its 10 AES rounds instead of 14 make a large
 *   message ~3% cheaper to send. A server that prefers its own order
 *   still gets its way. */
#define TLS_DEFAULT_PRIORITIES                                              \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-GROUP-ALL:"          \
	"+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"                \
	"+GROUP-SECP521R1:+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:" \
	"+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192:"             \
	"-CIPHER-ALL:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-GCM:"       \
	"+AES-128-CCM:+AES-256-CCM:+AES-128-CBC:+AES-256-CBC"

/* Everything TLS needs to know, as plain values: the transport never
 * reads the configuration (session.c fills this from the account). The
 * strings are borrowed for the duration of the call. */
struct tls_settings {
	const char *host;          /* the server's name as configured */
	int port;
	const char *socket;        /* a unix socket instead of host:port */
	const char *host_override; /* tls_host_override: name checked, SNI */
	bool starttls;             /* STARTTLS (else implicit TLS) */
	const char *trust_file;    /* NULL or "system": the system store */
	const char *crl_file;
	const char *fingerprint;   /* tls_fingerprint: pin, nothing else */
	bool certcheck;            /* tls_certcheck */
	const char *cert_file;     /* client certificate and key */
	const char *key_file;
	const char *priorities;    /* NULL or "": TLS_DEFAULT_PRIORITIES */
	int min_dh_prime_bits;     /* 0: GnuTLS's default */
	bool session_cache;        /* tls_session_cache */
	const char *cache_dir;     /* tls_cache_dir(); NULL: no cache */
	/* direct delivery (above): */
	bool opportunistic;               /* encrypt, verify nothing */
	const struct dane_tlsa_set *dane; /* usable records (dane_usable) */
	const char *const *dane_names;    /* DANE-TA reference identifiers */
	size_t dane_name_count;
};

/* What --serverinfo shows about the server's certificate and session.
 * The certificate's details (subject to sha1) are filled in only by
 * tls_peer_describe: a send never needs them, and parsing a certificate
 * is a measurable part of a resumed session's cost. */
struct tls_peer {
	char *subject;     /* RFC 4514 DN of the end-entity certificate */
	char *issuer;      /* its issuer's DN */
	time_t activation; /* notBefore, (time_t)-1 when unknown */
	time_t expiration; /* notAfter */
	char *sha256;      /* fingerprint of the DER certificate, "AB:CD:.." */
	char *sha1;
	bool described;    /* the five above are filled in */
	unsigned char *der; /* the end-entity certificate */
	size_t der_len;
	char *description; /* protocol, key exchange, cipher, MAC */
	bool verified;     /* false with tls_certcheck off or opportunistic */
	bool resumed;      /* a cached session ticket was accepted */
	char *warning;     /* non-NULL: a sentence the caller must print */
	char *dane;        /* non-NULL: the TLSA record that matched, as
	                    * "DANE-EE(3) SPKI(1) SHA2-256(1)" (dane.h) */
};

/* Handshake on c (whose socket is non-blocking) within a fresh deadline of
 * the connection's timeout, verify the peer as described above, and install
 * the TLS transport (conn owns the session from then on; conn_close sends
 * close_notify without waiting). The caller must have consumed every
 * plaintext byte first (STARTTLS: refuse when conn_buffered(c) > 0).
 * peer_out (may be NULL) is filled on success and must be released with
 * tls_peer_free(); pass one whenever tls_certcheck may be off, since the
 * warning is only reported there. Uses no session cache. */
int tls_start(struct conn *c, const struct tls_settings *s,
	      struct tls_peer *peer_out, struct err *e);

/* The session cache's part in one tls_start_cached(). */
struct tls_resumption {
	/* in: offer no cached session (the retry after `retry`); a new
	 * ticket is still kept */
	bool fresh;
	/* out, on failure: a cached session was offered and the handshake or
	 * the verification failed; its entry is removed, and a new connection
	 * with fresh set may succeed */
	bool retry;
};

/* tls_start with the session cache (when s->session_cache is on and
 * s->cache_dir is set and the peer is verified by a pin or a chain: not
 * with tls_certcheck off, opportunistic or dane): offer the cached
 * ticket for this identity unless resume->fresh, and keep the ticket the
 * server sends when the connection is closed (conn_close). Fails as
 * tls_start, and sets resume->retry as described above. */
int tls_start_cached(struct conn *c, const struct tls_settings *s,
		     struct tls_resumption *resume, struct tls_peer *peer_out,
		     struct err *e);

/* Fill in the certificate's details of p (once; GnuTLS must be loaded,
 * as it is after a tls_start that succeeded). */
void tls_peer_describe(struct tls_peer *p);

void tls_peer_free(struct tls_peer *p);

/* For tests: parse a tls_fingerprint value (hex pairs, with or without
 * colons, any case) into out (at least 32 bytes). Sets *len to 16, 20 or 32;
 * returns EX_CONFIG for anything else. Pure. */
int tls_parse_fingerprint(const char *text, unsigned char *out, size_t *len,
			  struct err *e);

#endif
