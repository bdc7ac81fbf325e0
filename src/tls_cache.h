/* tls_cache.h - TLS session resumption across runs: a private cache of
 * session tickets, one file per server identity (tls_session_cache).
 *
 * What is kept: the session data GnuTLS hands out after a handshake whose
 * peer was verified (a chain and a name, or a tls_fingerprint pin) and in
 * which the server sent a session ticket (TLS 1.3 or RFC 5077). Nothing is
 * kept with tls_certcheck off: there is no verdict to protect, and nothing
 * is offered either. tls.c offers the entry on the next connection with the
 * same key. A resumed session needs no new check of its chain: the server
 * proved it holds the secret of a handshake whose chain and name were
 * verified with the same key (the name is part of the key), and the entry
 * stands for that verdict only while time cannot have changed it: from
 * when it was stored (every certificate was valid then) until, at the
 * latest, the earliest notAfter of the chain (tls_cache_store). Outside
 * that window (a clock set back, a certificate expired since) the entry is
 * not used: a full, verified handshake gives the verdict (tls.h). So a
 * resumed send parses no certificate at all.
 *
 * The key is everything that decided the server's identity and our own:
 * host, port, socket, SNI name, STARTTLS or implicit TLS, tls_certcheck,
 * tls_fingerprint, tls_trust_file and tls_crl_file (paths and SHA-256 of
 * their contents; for the system store, the bundle file's device, inode,
 * size and modification time), the client certificate and key (paths and SHA-256),
 * tls_priorities, tls_min_dh_prime_bits and the GnuTLS version. A file is
 * named by the hex SHA-256 of its key and holds the key again, so a hash
 * collision or a renamed file never resumes a wrong session.
 *
 * Where (tls_cache_dir): $XDG_CACHE_HOME/outbox/tls (~/.cache/outbox/tls)
 * for a user, QUEUE_SYSTEM_DIR/tls-cache for root (only when the spool
 * exists: the cache never creates the system spool). The directory is
 * made 0700 and must belong to the effective user; files are 0600, written
 * to a temporary name and renamed. A file that is not a regular file of
 * ours with no group/other bits, is larger than TLS_CACHE_MAX_FILE, does
 * not parse, holds another key or has expired is never used, and removed.
 *
 * Reuse: a ticket is replaced after every full handshake, but after a
 * resumed one only when its entry is past half its lifetime
 * (tls_cache_fresh). RFC 8446 C.4 asks clients not to reuse a ticket, so
 * a passive observer cannot link the connections; a relay's connections
 * to its one smarthost are linked anyway (its address, the SNI in clear),
 * while writing a new file per message costs the kernel more (a new inode
 * each time: ext4 ~0.4 ms) than resumption saves. A server that takes
 * each ticket once simply refuses it: one full handshake, and a new one.
 *
 * Lifetime: TLS_CACHE_LIFETIME from when the ticket was stored, and never
 * past the chain's earliest notAfter (the ticket_lifetime hint of TLS 1.3
 * is not exposed by GnuTLS, which enforces it itself when resuming: a
 * stale ticket is simply not sent). An expiry more than
 * TLS_CACHE_MAX_LIFETIME ahead (RFC 8446 4.6.1's cap; a clock set back,
 * or a forged file), or a storing time still to come, is refused. In the
 * last hour of a certificate's validity an entry is never "fresh", so
 * each resumed session then stores its new ticket: harmless.
 *
 * Tickets are secrets: they are held in buffers that are wiped, never
 * logged, never put in an error message. Cache trouble never fails a send:
 * every function here is best effort and reports nothing but "no entry". */
#ifndef OUTBOX_TLS_CACHE_H
#define OUTBOX_TLS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

struct runenv;

/* How long a stored ticket is offered: 2 hours, the ticket_lifetime hint of
 * OpenSSL servers (Postfix and most smarthosts) and a fraction of GnuTLS's
 * 6 hours. */
#define TLS_CACHE_LIFETIME (2 * 60 * 60)
/* The longest expiry accepted in a file: RFC 8446 4.6.1's 7 days. */
#define TLS_CACHE_MAX_LIFETIME (7 * 24 * 60 * 60)
#define TLS_CACHE_MAX_KEY 8192   /* bytes of key text */
#define TLS_CACHE_MAX_DATA 65536 /* bytes of session data (with its chain) */
#define TLS_CACHE_MAX_FILE (TLS_CACHE_MAX_KEY + TLS_CACHE_MAX_DATA + 256)
/* Largest trust, CRL, certificate or key file hashed into a key. */
#define TLS_CACHE_MAX_HASHED_FILE (16 * 1024 * 1024)
/* Root's cache, inside the system spool. */
#define TLS_CACHE_SYSTEM_SUBDIR "tls-cache"
/* The user's cache, under $XDG_CACHE_HOME. */
#define TLS_CACHE_USER_SUBDIR "outbox/tls"

/* Everything that decides who the server is and who we are. A NULL string
 * is "not set"; the *_digest fields are the hex SHA-256 of the file's
 * contents (tls_cache_slot_new computes them; NULL for "system"). */
struct tls_cache_identity {
	const char *host;
	int port;
	const char *socket;
	const char *server_name; /* SNI and the name verified */
	bool starttls;
	bool certcheck;
	const char *fingerprint;
	const char *trust_file;
	const char *trust_digest;
	const char *crl_file;
	const char *crl_digest;
	const char *cert_file;
	const char *cert_digest;
	const char *key_file;
	const char *key_digest;
	const char *priorities; /* NULL: the default */
	int min_dh_prime_bits;
	const char *library_version; /* GnuTLS's: its session data format */
};

/* ---- pure: keys and the file format --------------------------------- */

/* The key text of id into out (reset first): one "name LEN:VALUE" line per
 * field ("name -" when unset), so no two identities give the same text.
 * Pure. */
void tls_cache_key_build(const struct tls_cache_identity *id,
                         struct buf *out);

/* The file name of a key: the lower-case hex SHA-256 of its text (64
 * characters and a NUL). Pure (GnuTLS's hash, no I/O). */
void tls_cache_file_name(const char *key, size_t key_len, char out[65]);

/* A parsed cache file; the pointers point into the parsed text. */
struct tls_cache_entry {
	long long expires; /* seconds since the epoch */
	long long stored;  /* when the verdict it stands for was made */
	const char *key;
	size_t key_len;
	const unsigned char *data; /* the session data (a secret) */
	size_t data_len;
};

/* The file for key and data, stored at `stored` and valid until expires,
 * into out (reset first; it grows as a secret buffer: wipe it). */
void tls_cache_format(const char *key, size_t key_len, const void *data,
                      size_t data_len, long long expires, long long stored,
                      struct buf *out);

/* Parse a cache file: exactly the header lines
 *   "outbox-tls-session 2", "expires N", "stored N", "key N", "data N", ""
 * then the key and the data, with nothing after them; lengths 1 to
 * TLS_CACHE_MAX_KEY / TLS_CACHE_MAX_DATA. Returns false for anything else
 * (*out is then zeroed). Pure and total: fuzzed by fuzz_tls_cache. */
bool tls_cache_parse(const char *text, size_t len,
                     struct tls_cache_entry *out);

/* en may resume a session for key at time now: its key is exactly key,
 * stored <= now < expires <= now + TLS_CACHE_MAX_LIFETIME. Pure. */
bool tls_cache_entry_usable(const struct tls_cache_entry *en,
                            const char *key, size_t key_len, time_t now);

/* ---- I/O: the cache directory ----------------------------------------- */

/* The cache directory of this user (see the top), a heap string; NULL when
 * there is none (no home, or root without the system spool). */
char *tls_cache_dir(struct runenv *env);

/* One cache entry: its directory, key and file name. */
struct tls_cache_slot;

/* The entry for id in dir (tls_cache_dir's; NULL: none): computes the file digests (reading the trust, CRL,
 * certificate and key files) and the key. NULL when there is no cache
 * directory or a file cannot be hashed: then nothing is cached. */
struct tls_cache_slot *tls_cache_slot_new(const struct tls_cache_identity *id,
                                          const char *dir);

/* Load the entry's session data into data (a secret buffer, reset first:
 * the caller wipes it). False when there is no usable entry; a file that
 * fails a check is removed. */
bool tls_cache_load(struct tls_cache_slot *s, struct buf *data);

/* The entry tls_cache_load returned has at least half of
 * TLS_CACHE_LIFETIME left: a session resumed with it need not replace it
 * (see Reuse above). False when nothing was loaded. */
bool tls_cache_fresh(const struct tls_cache_slot *s);

/* The entry tls_cache_load returned still stands for its verdict at now
 * (stored <= now < expires): a session resumed with it is verified. */
bool tls_cache_vouches(const struct tls_cache_slot *s, time_t now);

/* Store data as the entry, valid TLS_CACHE_LIFETIME from now but never
 * past not_after (the earliest notAfter of the verified chain; nothing is
 * stored when that has passed): directory made when missing (0700), file
 * 0600 written to a temporary name and renamed over the old one. Failures
 * leave the cache as it was. */
void tls_cache_store(struct tls_cache_slot *s, const void *data, size_t len,
                     time_t not_after);

/* Remove the entry (its data could not be used). */
void tls_cache_discard(struct tls_cache_slot *s);

/* Free s (NULL is fine). */
void tls_cache_slot_free(struct tls_cache_slot *s);

#endif
