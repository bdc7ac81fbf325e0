/* dkim_record.h - DKIM public key records (RFC 6376 3.6.1, RFC 8463 4.2),
 * as the deliverability check (outbox --check) reads them at
 * SELECTOR._domainkey.DOMAIN: what they publish, whether that is the public
 * half of the configured private key, and whether a signature made with
 * that key verifies with it. Also the tag-list syntax (RFC 6376 3.2) that
 * DKIM records share with DMARC records (RFC 7489 6.3, dmarc.h).
 *
 * Parsing is pure but for GnuTLS decoding the RSA key (loaded on first
 * use, lazylib.h); the two key functions read the key file through
 * dkim_key.h. Covered by tests/unit/test_dkim_record.c and
 * tests/fuzz/fuzz_dkim_record.c. */
#ifndef OUTBOX_DKIM_RECORD_H
#define OUTBOX_DKIM_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* The longest record text read: one TXT record's data (RFC 1035 3.3.14,
 * its strings joined as RFC 6376 3.6.2.2 says) is shorter than this. */
#define DKIM_RECORD_MAX 65535
/* RFC 8463 4.2: p= of an Ed25519 record is the bare 32-octet public key
 * (RFC 8032 5.1.5). */
#define DKIM_RECORD_ED25519_LEN 32
/* Octets of a tag value quoted in a message (then "..."). */
#define DKIM_RECORD_QUOTE_MAX 64

/* ---- the tag-list syntax (RFC 6376 3.2) ---------------------------------- */

struct dkim_tag {
	const char *name; /* tag-name: ALPHA *(ALPHA / DIGIT / "_") */
	size_t name_len;
	/* tag-value without the FWS around it (FWS inside is kept); may be
	 * empty */
	const char *value;
	size_t value_len;
};

/* RFC 6376 3.2: tag-list = tag-spec *(";" tag-spec) [";"], tag-spec =
 * [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS], tag-value = [tval
 * *(1*(WSP / FWS) tval)], tval = 1*(%x21-3A / %x3C-7E); FWS = [*WSP CRLF]
 * 1*WSP. Reads the tag-spec that begins at text[*at] (len octets in all)
 * into tag, pointing into text, and moves *at past it and its ";".
 * Returns 1 for a tag; 0 at the end of the list (nothing but FWS left,
 * also after a final ";"); -1 when what is there is no tag-spec (an
 * empty one between two ";" included), *at then at the offending octet.
 * Duplicate names are the caller's to find. Pure. */
int dkim_tag_next(const char *text, size_t len, size_t *at,
                  struct dkim_tag *tag);

/* The whole tag-list (dkim_tag_next, len octets) as *tags, a heap array of
 * *count tags in the record's order (free() it). Returns 0; -1 when the
 * text is not a tag-list (*where: the offset of the offending octet;
 * *tags NULL, *count 0); -2 when a tag name appears twice (RFC 6376 3.2:
 * the whole list is invalid; *where: the index in *tags of one of the
 * two; *tags filled). Names compare case-sensitively as RFC 6376 3.2
 * says, or ignoring ASCII case when fold_case (DMARC, dmarc.h). Pure. */
int dkim_tag_list_read(const char *text, size_t len, bool fold_case,
                       struct dkim_tag **tags, size_t *count, size_t *where);

/* Append value (len octets) to out for a message: double-quoted, at most
 * DKIM_RECORD_QUOTE_MAX octets of it (then "..."), control characters
 * escaped as "\xNN" (sanitize.h). Pure. */
void dkim_tag_quote(const char *value, size_t len, struct buf *out);

/* ---- the key record ------------------------------------------------------ */

enum dkim_record_key {
	DKIM_RECORD_RSA,     /* k=rsa, also when k= is absent */
	DKIM_RECORD_ED25519, /* k=ed25519 (RFC 8463 4.2) */
	DKIM_RECORD_UNKNOWN, /* any other k= (RFC 6376 3.6.1: a type the
	                      * verifier does not know; the record is
	                      * useless to it) */
};

struct dkim_record {
	enum dkim_record_key k;
	/* p= decoded (heap); p_len 0 (p NULL) = revoked (RFC 6376 3.6.1:
	 * "p=" empty). RSA: the SubjectPublicKeyInfo DER or the bare
	 * RSAPublicKey DER, as published (RFC 6376 erratum 3017 allows
	 * both); Ed25519: DKIM_RECORD_ED25519_LEN octets; UNKNOWN: any */
	unsigned char *p;
	size_t p_len;
	bool testing; /* t= has y: the domain is testing DKIM */
	bool strict;  /* t= has s: i= must not be a subdomain of d= */
	/* h= and s= without their FWS ("sha256", "sha1:sha256"; "email",
	 * "*"), heap, or NULL when the tag is absent (all hash algorithms,
	 * all services) */
	char *h;
	char *s;
	/* RSA: the modulus size from the key; Ed25519: 256; 0 when revoked
	 * or UNKNOWN */
	unsigned bits;
};

/* Parse one DKIM key record (len octets, the TXT record's strings joined,
 * at most DKIM_RECORD_MAX) into out. RFC 6376 3.6.1: a tag-list
 * (dkim_tag_next) whose tag names are case-sensitive and unique; v= is
 * optional but, when present, first and exactly "DKIM1"; k= defaults to
 * rsa (values are case-sensitive: "k=RSA" is UNKNOWN); p= is required,
 * base64 with FWS anywhere (removed before decoding; the rest must be
 * canonical base64, base64.h); h=, s= and t= are colon-separated lists of
 * hyphenated words (s= may hold "*"), unknown t= flags ignored; n= and
 * unknown tags ignored. An RSA p= must hold an RSA public key that GnuTLS
 * imports (SubjectPublicKeyInfo, or a bare RSAPublicKey), with no octet
 * after it; an Ed25519 p= exactly 32 octets. Returns EX_OK; EX_DATAERR
 * with a sentence naming the tag (and citing the RFC) when the record is
 * not valid, out then empty; EX_UNAVAILABLE when GnuTLS cannot be loaded.
 * Release out with dkim_record_free. */
int dkim_record_parse(const char *text, size_t len, struct dkim_record *out,
                      struct err *e);

/* Free what r holds; r is empty (k RSA, p NULL) afterwards. */
void dkim_record_free(struct dkim_record *r);

/* "rsa", "ed25519" or "unknown". */
const char *dkim_record_key_name(enum dkim_record_key k);

/* Does r publish the public half of the private key in key_path (loaded
 * with dkim_key_load, so the same keys as signing accepts)? RSA: the
 * SubjectPublicKeyInfo DER of both is compared (a bare RSAPublicKey in r
 * counts as the SPKI holding it); Ed25519: the raw 32 octets, as
 * dkim_dns_record exports them. A revoked record, or one of another key
 * type, publishes a different key. Sets *same, and *key_description to a
 * heap description of the configured key ("RSA 2048", "Ed25519"). Returns
 * EX_OK; EX_CONFIG (the key file's message) when the key cannot be
 * loaded, EX_SOFTWARE when GnuTLS fails; *key_description is NULL then. */
int dkim_record_matches_key(const struct dkim_record *r, const char *key_path,
                            bool *same, char **key_description, struct err *e);

/* The doctor's "a test signature verifies with the published key": sign a
 * fixed sample with the private key in key_path as outbox signs mail
 * (rsa-sha256: RSASSA-PKCS1-v1_5 over the SHA-256 digest; ed25519-sha256:
 * PureEdDSA over the SHA-256 digest, RFC 8463 3) and verify it with r's
 * key. Returns EX_OK when it verifies; EX_DATAERR with the reason when it
 * cannot: r is revoked, publishes another key type, its h= does not allow
 * sha256 or its s= excludes email (RFC 6376 3.6.1: a verifier then
 * ignores the key), or the signature does not verify (another key);
 * EX_CONFIG when the key cannot be loaded; EX_SOFTWARE when GnuTLS cannot
 * sign. */
int dkim_record_verify_test_signature(const struct dkim_record *r,
                                      const char *key_path, struct err *e);

#endif
