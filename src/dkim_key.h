/* dkim_key.h - DKIM private keys: loading and checking (shared by signing,
 * dkim_keygen and dkim_dns_record). Internal to the dkim*.c files. */
#ifndef OUTBOX_DKIM_KEY_H
#define OUTBOX_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>

#include "buf.h"
#include "err.h"

enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

struct dkim_key {
	gnutls_privkey_t privkey; /* NULL until loaded */
	enum dkim_key_type type;
	unsigned bits;
	bool readable_by_others; /* group or other may read the file */
};

/* Import a private key from the contents of a key file (len octets, not
 * necessarily NUL-terminated): PEM or DER, RSA (PKCS#1 or PKCS#8, at least
 * DKIM_RSA_MIN_BITS, sane parameters) or Ed25519 (PKCS#8). Pure: name only
 * names the file in messages. On success key holds the key (release with
 * dkim_key_free; readable_by_others is false); on failure it holds nothing
 * and the code is EX_CONFIG with a message naming name (empty, larger than
 * DKIM_KEY_FILE_MAX, not a key, OpenSSH, encrypted, a certificate, a weak
 * or damaged RSA key, another algorithm), or EX_SOFTWARE when GnuTLS cannot
 * allocate. data stays the caller's to wipe. */
int dkim_key_parse(const char *data, size_t len, const char *name,
                   struct dkim_key *key, struct err *e);

/* Read path (at most DKIM_KEY_FILE_MAX octets, a regular file) and import
 * it with dkim_key_parse, noting whether group or others may read it. The
 * file contents are wiped from memory after the import. EX_CONFIG with a
 * message naming path on any failure. */
int dkim_key_load(const char *path, struct dkim_key *key, struct err *e);
void dkim_key_free(struct dkim_key *key);

/* Append the public half of key as a DKIM record's p= holds it, before
 * base64: RSA as the SubjectPublicKeyInfo DER (RFC 6376 3.6.1), Ed25519
 * as the bare 32-byte key (RFC 8463 4.2). EX_SOFTWARE when GnuTLS
 * fails. */
int dkim_key_public(const struct dkim_key *key, struct buf *out,
                    struct err *e);

/* "rsa-sha256" or "ed25519-sha256" (a=), "rsa" or "ed25519" (k=). */
const char *dkim_key_sig_algorithm(const struct dkim_key *key);
const char *dkim_key_record_type(const struct dkim_key *key);

/* The DNS name a d= or record needs from a configured domain: one trailing
 * dot dropped, a U-label domain converted to its A-label (IDNA2008, as
 * libidn2 does for SMTP), lower case, then checked with dkim_valid_domain.
 * Returns a heap string, or NULL when it is not usable. */
char *dkim_domain_normalise(const char *domain);

/* The same for a selector (any number of labels, case kept when ASCII),
 * checked with dkim_valid_selector. */
char *dkim_selector_normalise(const char *selector);

#endif
