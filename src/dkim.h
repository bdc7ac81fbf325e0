/* dkim.h - DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256
 * (RFC 8463), crypto by GnuTLS.
 *
 * The order of use, per signer (dual signing = one context per key):
 *
 *   dkim_prepare()      at start-up, before the network: loads and checks the
 *                       key and the settings (EX_CONFIG on any problem);
 *   dkim_body_update()  the msg_body_sink given to msg_read_body(): the body
 *                       is canonicalised and hashed while it is read, in one
 *                       pass and in constant memory;
 *   dkim_body_reset()   only when the body was rewritten afterwards
 *                       (msg_enforce_line_limit): then replay it with
 *                       msg_body_foreach(m, dkim_body_update, ctx, e);
 *   dkim_sign()         after the header edits: adds the DKIM-Signature;
 *   dkim_warning()      what main.c should print as warnings;
 *   dkim_free().
 *
 * Several signers: msg_read_body() takes one sink, so the caller fans each
 * piece out to every context's dkim_body_update(). */
#ifndef OUTBOX_DKIM_H
#define OUTBOX_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "msg.h"

/* RFC 8301 3.2: signers MUST use RSA keys of at least 1024 bits and SHOULD
 * use at least 2048; verifiers need not accept more than 4096. Smaller is
 * refused, the other two are warnings. dkim_keygen() makes 1024..8192. */
#define DKIM_RSA_MIN_BITS 1024
#define DKIM_RSA_GOOD_BITS 2048
#define DKIM_RSA_VERIFIER_MAX_BITS 4096
#define DKIM_RSA_KEYGEN_MAX_BITS 8192
/* A key file larger than this is not a DKIM private key: refused. */
#define DKIM_KEY_FILE_MAX (64 * 1024)
/* Longest header field name accepted in dkim_headers. */
#define DKIM_FIELD_NAME_MAX 255
/* RFC 1035 3.3: one TXT character-string carries at most 255 octets. */
#define DKIM_TXT_STRING_MAX 255
/* The DKIM-Signature is folded so that no line exceeds this (RFC 5322
 * 2.1.1's SHOULD of 78; no single tag comes near the 998 MUST). */
#define DKIM_FOLD_WIDTH 78

struct dkim_signer_ctx;

/* Check cfg and load its key: an unencrypted PEM (or DER) private key,
 * RSA in PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8 ("BEGIN PRIVATE KEY"),
 * or Ed25519 in PKCS#8. Validates the selector and the domain (U-labels
 * become A-labels), the canonicalization ("relaxed/relaxed" when unset;
 * "X" alone means "X/simple" as for c=), the header list (must include
 * From), the identity and expire; a NULL or empty string is unset. Returns
 * EX_CONFIG with a message naming the key file or the setting; *out is
 * then NULL. Warnings (RSA under 2048 bits, a key file others can read)
 * are available through dkim_warning(). */
int dkim_prepare(const struct dkim_signer *cfg, struct dkim_signer_ctx **out,
                 struct err *e);

/* A msg_body_sink (ctx is a struct dkim_signer_ctx *): canonicalises the
 * next piece of the CRLF body (RFC 6376 3.4.3 simple / 3.4.4 relaxed) and
 * feeds it to SHA-256. Pieces may split anywhere, even a CRLF. Memory stays
 * constant: pending trailing empty lines are counted, never stored. */
void dkim_body_update(void *ctx, const char *data, size_t len);

/* Forget the body hashed so far (and any finished body hash). */
void dkim_body_reset(struct dkim_signer_ctx *ctx);

/* Sign m and add its DKIM-Signature at the top (msg_prepend_header). Uses
 * the body hashed through dkim_body_update() (finished here; a later call
 * reuses it). d= is the configured domain or the domain of the From
 * header's (first) mailbox, as an A-label. Signs every present instance of
 * each configured (or default, RFC 6376 5.4.1) header field, bottom-up (RFC
 * 6376 5.4.2), and lists From once more than present so that a From added
 * later breaks the signature. t= is now, x= now + expire when set.
 * Returns EX_DATAERR when d= must come from From and From is missing,
 * repeated, or has no domain; EX_CONFIG when the identity is outside d=;
 * EX_SOFTWARE when GnuTLS fails. A From domain that does not align with d=
 * (DMARC relaxed alignment, organisational domain approximated as "equal
 * or one is a subdomain of the other") is a warning, not an error. */
int dkim_sign(struct dkim_signer_ctx *ctx, struct message *m, time_t now,
              struct err *e);

/* Warnings of dkim_prepare() and the last dkim_sign(), one sentence each
 * (without "warning:"), i from 0; NULL past the last one. */
const char *dkim_warning(const struct dkim_signer_ctx *ctx, size_t i);

void dkim_free(struct dkim_signer_ctx *ctx);

/* Write a new private key to key_path as unencrypted PKCS#8 PEM, mode 0600,
 * created exclusively (an existing file is never overwritten) and synced.
 * type is "rsa" (bits 0 = DKIM_RSA_GOOD_BITS, else DKIM_RSA_MIN_BITS ..
 * DKIM_RSA_KEYGEN_MAX_BITS) or "ed25519" (bits must be 0). Returns
 * EX_USAGE for a bad type or size or an existing file, EX_IOERR when the
 * file cannot be written (a partial file is removed), EX_SOFTWARE when
 * GnuTLS fails. */
int dkim_keygen(const char *type, unsigned bits, const char *key_path,
                struct err *e);

/* Append to out the DNS record that publishes the public half of the key
 * in key_path, as one zone-file line:
 *   SELECTOR._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; p=MIIB..." "..." )
 * split into character-strings of at most DKIM_TXT_STRING_MAX octets. p= is
 * the SubjectPublicKeyInfo DER for RSA and the raw 32-byte key for Ed25519
 * (RFC 8463 4.2), base64. EX_USAGE for a bad selector or domain, EX_CONFIG
 * for a bad key file (as dkim_prepare). */
int dkim_dns_record(const char *key_path, const char *selector,
                    const char *domain, struct buf *out, struct err *e);

/* Lower level, for known-answer tests and tools. */

/* Finish the body hash if needed and return bh= (base64 SHA-256 of the
 * canonical body). The string lives as long as ctx (until a reset). */
const char *dkim_body_hash(struct dkim_signer_ctx *ctx);

/* Compute b= for a signature whose header value is sig_value (everything
 * after "DKIM-Signature:", ending in an empty "b="), over the header fields
 * named in names[0..count) picked as a verifier does (each name takes the
 * next unused instance from the bottom; a name with none left adds
 * nothing), canonicalised with ctx's header canonicalization. Appends the
 * base64 signature, unfolded, to b64. EX_SOFTWARE when GnuTLS fails. */
int dkim_sign_headers(struct dkim_signer_ctx *ctx, const struct message *m,
                      const char *const *names, size_t count,
                      const char *sig_value, struct buf *b64, struct err *e);

#endif
