/* dane.h - DANE TLSA records for SMTP (RFC 7672, on RFC 6698 and RFC
 * 7671): which records are usable, and whether a server's certificate
 * chain matches one of them.
 *
 * Usable for SMTP (RFC 7672 3.1): the usages DANE-TA(2) and DANE-EE(3),
 * the selectors Cert(0) and SPKI(1), the matching types Full(0),
 * SHA2-256(1) and SHA2-512(2), with data of the digest's length (32 or 64
 * bytes; Full(0): not empty). PKIX-TA(0) and PKIX-EE(1) are not (RFC 7672
 * 3.1.3: an MTA has no common set of trust anchors to check them with),
 * nor is anything unknown or malformed (RFC 7671 4.1: such records are
 * ignored, as if they were not there).
 *
 * Matching a presented chain (DER certificates, the leaf first, as TLS
 * sends them):
 *   DANE-EE(3)  the leaf (its DER, or its SubjectPublicKeyInfo DER) must
 *               match the record. Nothing else is checked: neither its
 *               names nor its validity dates (RFC 7672 3.1.1: the TLSA
 *               record, signed with DNSSEC, is the binding and its
 *               signature's lifetime is the validity).
 *   DANE-TA(2)  a certificate the server presents after its leaf
 *               (depth 1 or more: RFC 7672 3.1.2 has the server include
 *               the trust anchor in its chain) must match the record, and
 *               the certificates sent before it, in the order sent (RFC
 *               5246 7.4.2, RFC 8446 4.4.2), must validate up to it as
 *               the only trust anchor (RFC 5280 6.1 path validation,
 *               GnuTLS's trust list: signatures, CA constraints, the
 *               serverAuth purpose where an extended key usage is
 *               present); every certificate below the anchor must
 *               be within its validity period at `now` (expiry is waived
 *               for DANE-EE only, RFC 7672 3.1.1; the anchor's own dates
 *               are not checked: RFC 5280 6.1.1 (d), an anchor is a name
 *               and a key, and an SPKI(1) record names only the key); and
 *               the leaf must be valid for one of the reference
 *               identifiers (RFC 7672 3.2.2: the TLSA base domain and,
 *               when the MX host name is a CNAME, the name it expands to;
 *               the caller passes the list) under RFC 6125 rules (GnuTLS:
 *               DNS subjectAltNames, else the CN; RFC 7672 3.2.3).
 * The system trust store and tls_trust_file play no part (RFC 7672 3.1:
 * DANE is authoritative for the server). One matching record suffices.
 *
 * Pure: no I/O. GnuTLS parses and verifies (lazylib.h: callers that may
 * run first must have loaded it; tls.c does). */
#ifndef OUTBOX_DANE_H
#define OUTBOX_DANE_H

#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* RFC 6698 2.1.1-2.1.3 and RFC 7218 (the acronyms). */
enum dane_usage {
	DANE_USAGE_PKIX_TA = 0,
	DANE_USAGE_PKIX_EE = 1,
	DANE_USAGE_DANE_TA = 2,
	DANE_USAGE_DANE_EE = 3,
};
enum dane_selector {
	DANE_SELECTOR_CERT = 0,
	DANE_SELECTOR_SPKI = 1,
};
enum dane_mtype {
	DANE_MTYPE_FULL = 0,
	DANE_MTYPE_SHA2_256 = 1,
	DANE_MTYPE_SHA2_512 = 2,
};

#define DANE_SHA2_256_LEN 32
#define DANE_SHA2_512_LEN 64

/* The longest chain dane_verify_chain() examines (GnuTLS verifies at most
 * 16 certificates, DEFAULT_MAX_VERIFY_DEPTH); a longer one is refused. */
#define DANE_CHAIN_MAX 16

/* One TLSA record: usage, selector, matching type and the certificate
 * association data (RFC 6698 2.1). */
struct dane_tlsa {
	uint8_t usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

/* A set of records; owns its items and their data. {NULL, 0} is empty. */
struct dane_tlsa_set {
	struct dane_tlsa *items;
	size_t count;
};

/* Keep the records usable for SMTP (above): deep copies of them appended
 * to out, in their order. Returns how many were dropped. Cannot fail. */
size_t dane_usable(const struct dane_tlsa *in, size_t n,
		   struct dane_tlsa_set *out);

/* Free the items and their data; s is empty afterwards. NULL is fine. */
void dane_tlsa_set_free(struct dane_tlsa_set *s);

/* Match a presented chain (count DER certificates, the leaf first) against
 * set as described above, the names[] (name_count of them, A-labels, a
 * trailing dot ignored) being the reference identifiers for DANE-TA.
 * now: the time for DANE-TA's validity checks (time(NULL) but in tests).
 * peer names the server in messages ("mx.example.org[192.0.2.1]:25"),
 * owner (may be NULL) the records' owner name ("_25._tcp.mx.example.org").
 * Returns EX_OK when a record matches, with *matched (when matched is not
 * NULL; heap) describing it: "DANE-EE(3) SPKI(1) SHA2-256(1)", or
 * "DANE-TA(2) Cert(0) SHA2-256(1), trust anchor CN=..." for DANE-TA.
 * EX_NOPERM otherwise, naming peer and what did not match ("the TLS
 * certificate of P matches none of its 2 TLSA records (O)", followed by
 * why a DANE-TA record that matched a certificate did not hold), also for
 * an empty chain, one longer than DANE_CHAIN_MAX or a certificate that
 * does not parse. EX_SOFTWARE for an empty set (the caller uses DANE only
 * with usable records). *matched is left untouched on failure. */
int dane_verify_chain(const struct dane_tlsa_set *set,
		      const gnutls_datum_t *chain, unsigned count,
		      const char *const *names, size_t name_count, time_t now,
		      const char *peer, const char *owner, char **matched,
		      struct err *e);

/* The presentation form of one record (RFC 6698 2.2): "3 1 1 ab12..."
 * with the whole data in lower-case hex (heap), for --serverinfo and -v.
 * Cannot fail. */
char *dane_tlsa_describe(const struct dane_tlsa *r);

#endif
