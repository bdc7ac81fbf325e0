/* fuzz_tls_trust.c - libFuzzer target for tls_trust.c's scanners: the DER
 * names of a certificate the server sent (hostile input) and the PEM
 * bundle scan.
 *
 * The first byte picks what the rest is. Even: a DER certificate.
 *  - tls_trust_cert_names is total, and names it finds lie inside the
 *    input;
 *  - where GnuTLS imports the certificate too, the names are exactly
 *    GnuTLS's raw issuer and subject DNs (the bytes the trust list hashes:
 *    anything else would load the wrong bucket).
 * Odd: a PEM bundle, with the second byte choosing the wanted buckets.
 *  - tls_trust_select is total; on success selected <= total and out is
 *    PEM text; on failure out is unchanged. */
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tls_trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const struct tls_trust_name *n, const uint8_t *data,
                   size_t size)
{
	return n->der >= data && n->len <= size &&
	       (size_t)(n->der - data) <= size - n->len;
}

static bool same_name(const struct tls_trust_name *n, const gnutls_datum_t *d)
{
	return n->len == d->size && memcmp(n->der, d->data, n->len) == 0;
}

static void check_names(const uint8_t *data, size_t size)
{
	struct tls_trust_name issuer, subject;
	if (!tls_trust_cert_names(data, size, &issuer, &subject))
		return;
	if (!inside(&issuer, data, size) || !inside(&subject, data, size))
		abort();
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	gnutls_datum_t der = {(unsigned char *)data, (unsigned)size};
	gnutls_datum_t raw_issuer = {NULL, 0}, raw_subject = {NULL, 0};
	if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_raw_issuer_dn(crt, &raw_issuer) >= 0 &&
	    gnutls_x509_crt_get_raw_dn(crt, &raw_subject) >= 0 &&
	    (!same_name(&issuer, &raw_issuer) ||
	     !same_name(&subject, &raw_subject)))
		abort();
	gnutls_free(raw_issuer.data);
	gnutls_free(raw_subject.data);
	gnutls_x509_crt_deinit(crt);
}

static void check_select(const uint8_t *data, size_t size)
{
	bool want[TLS_TRUST_BUCKETS];
	uint8_t pattern = size ? data[0] : 0;
	for (unsigned i = 0; i < TLS_TRUST_BUCKETS; i++)
		want[i] = (pattern >> (i % 8)) & 1;
	const char *bundle = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	struct buf out = BUF_INIT;
	buf_add_str(&out, "x");
	size_t total = 99, selected = 99;
	if (tls_trust_select(bundle, len, want, &out, &total, &selected)) {
		if (selected > total || total == 0)
			abort();
		if (selected && !strstr(out.data, "-----BEGIN CERTIFICATE-----"))
			abort();
	} else if (out.len != 1 || out.data[0] != 'x') {
		abort();
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		check_select(data + 1, size - 1);
	else
		check_names(data + 1, size - 1);
	return 0;
}
