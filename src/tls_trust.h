/* tls_trust.h - verify against the system trust store without parsing
 * all of it.
 *
 * The system store GnuTLS reads on Debian is one PEM bundle,
 * TLS_TRUST_SYSTEM_BUNDLE (/etc/ssl/certs/ca-certificates.crt); parsing
 * its ~150 certificates costs ~60 M instructions, of which a verification
 * uses one or two. GnuTLS keeps trusted certificates in a hash table of
 * TLS_TRUST_BUCKETS buckets keyed by hash_pjw_bare() of the raw DER
 * subject name, and every look-up that gnutls_certificate_verify_peers()
 * makes (issuer search, chain shortening, "is this certificate trusted")
 * reads the bucket of a raw name taken from the peer's chain: the issuer
 * or subject of a certificate the server sent (GnuTLS fetches no missing
 * intermediate). So, after the handshake, outbox loads only the bundle's
 * certificates whose subject falls into those buckets, in bundle order:
 * every bucket GnuTLS reads then holds the same certificates in the same
 * order as after a full load, and the verdict (status bits and message)
 * is the same, by construction. Only the bundle's text is scanned: base64
 * and a few DER headers per certificate, no ASN.1 parse.
 *
 * The full store is loaded as before (gnutls_certificate_set_x509_system
 * _trust) whenever that argument does not hold for sure: a GnuTLS other
 * than the 3.7/3.8 series whose table was checked, no bundle, a bundle
 * holding anything but plain "BEGIN CERTIFICATE" blocks this scanner
 * decodes exactly as GnuTLS does, a peer certificate whose names cannot
 * be found, or a stapled OCSP response (whose signer is looked up by names
 * from the response). tls_crl_file is loaded by tls.c as before.
 *
 * Pure parts (no I/O): tls_trust_cert_names, tls_trust_bucket,
 * tls_trust_select. I/O and GnuTLS state: the tls_trust_system_* calls. */
#ifndef OUTBOX_TLS_TRUST_H
#define OUTBOX_TLS_TRUST_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* The bundle GnuTLS's system trust is configured with (Debian's
 * gnutls28: --with-default-trust-store-file). A build for a GnuTLS whose
 * system trust is something else (a PKCS#11 store) must define it to ""
 * (CFLAGS=-DTLS_TRUST_SYSTEM_BUNDLE='""'): the full store is then always
 * loaded. */
#ifndef TLS_TRUST_SYSTEM_BUNDLE
#define TLS_TRUST_SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#endif

/* GnuTLS 3.7/3.8 lib/x509/verify-high.c DEFAULT_SIZE: the number of
 * buckets of the trust list gnutls_certificate_allocate_credentials()
 * makes. */
#define TLS_TRUST_BUCKETS 127

/* A bundle larger than this is not scanned (the full store is loaded). */
#define TLS_TRUST_BUNDLE_MAX (16u * 1024 * 1024)

/* Peer chains longer than this take the full store (GnuTLS verifies at
 * most 16 certificates). */
#define TLS_TRUST_CHAIN_MAX 16

struct tls_trust_name {
	const unsigned char *der; /* the Name's whole TLV, inside the cert */
	size_t len;
};

/* Find the raw DER issuer and subject Names of a DER certificate (the
 * bytes GnuTLS keeps as raw_issuer_dn and raw_dn). Definite lengths only,
 * the outer SEQUENCE must span exactly len bytes. Returns false when the
 * certificate does not have that shape. Pure. */
bool tls_trust_cert_names(const unsigned char *der, size_t len,
			  struct tls_trust_name *issuer,
			  struct tls_trust_name *subject);

/* The GnuTLS trust-list bucket of a raw DER name: gnulib's hash_pjw_bare
 * modulo TLS_TRUST_BUCKETS. Pure. */
unsigned tls_trust_bucket(const unsigned char *der, size_t len);

/* Scan a PEM bundle and append to out (as PEM text, in bundle order)
 * every certificate block whose subject's bucket is marked in want.
 * *total receives the number of certificates in the bundle, *selected the
 * number appended. Returns false, with out unchanged, when the bundle is
 * not exactly the format this scanner reads the way GnuTLS's
 * gnutls_x509_crt_list_import reads it: any "-----BEGIN " line other than
 * "-----BEGIN CERTIFICATE-----", a block without its END line, a body with
 * anything but base64 and blanks, a certificate whose names cannot be
 * found, or no certificate at all. Pure. */
bool tls_trust_select(const char *bundle, size_t len,
		      const bool want[TLS_TRUST_BUCKETS], struct buf *out,
		      size_t *total, size_t *selected);

/* Load into cred the certificates of the PEM bundle at path that a
 * verification of the peer chain (DER certificates, n of them) can
 * consult, as described above. *loaded receives the number loaded.
 * Returns EX_OK; false in *used (and nothing loaded) when the shortcut
 * cannot be taken for sure and the caller must load the full store;
 * EX_CONFIG when the selected certificates cannot be loaded. */
int tls_trust_load_for_chain(gnutls_certificate_credentials_t cred,
			     const char *path, const gnutls_datum_t *peers,
			     unsigned n, bool *used, size_t *loaded,
			     struct err *e);

/* The system-trust branch of tls.c's credential setup, before the
 * handshake: when the shortcut can apply (a known GnuTLS, the bundle
 * readable), load nothing now; otherwise load the full system store, with
 * EX_CONFIG when it holds no certificate or cannot be read. */
int tls_trust_system_prepare(gnutls_certificate_credentials_t cred,
			     struct err *e);

/* After the handshake, before gnutls_certificate_verify_peers(): when
 * tls_trust_system_prepare() deferred the store, load what the session's
 * peer chain needs (or the full store when the shortcut does not apply).
 * Does nothing when the store is already loaded. EX_CONFIG as above. */
int tls_trust_system_complete(gnutls_session_t session, struct err *e);

#endif
