/* test_tls_trust.c - the system store loaded by need: the names found in
 * a certificate are GnuTLS's raw names, the bucket hash, the bundle
 * scanner's table of accepted and refused bundles, and a table of chains
 * whose verdict with the by-need load equals the full load's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "tls_trust.h"
#include "util.h"

/* ---- certificates made now -------------------------------------------- */

struct cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char *pem;
	gnutls_datum_t der;
};

/* A certificate for cn signed by issuer (NULL: self-signed), a CA or a
 * leaf whose DNS name is cn, valid from not_before for days. */
static struct cert *make_cert(const char *cn, struct cert *issuer, bool ca,
			      time_t not_before, int days, int version)
{
	struct cert *c = xcalloc(1, sizeof *c);
	assert_int_equal(gnutls_x509_privkey_init(&c->key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(
	                         c->key, GNUTLS_PK_ECDSA,
	                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	                         0),
	                 0);
	assert_int_equal(gnutls_x509_crt_init(&c->crt), 0);
	unsigned char serial[8];
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	gnutls_x509_crt_set_version(c->crt, (unsigned)version);
	gnutls_x509_crt_set_serial(c->crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(c->crt, not_before);
	gnutls_x509_crt_set_expiration_time(c->crt,
	                                    not_before + (time_t)days * 86400);
	gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                              cn, (unsigned)strlen(cn));
	gnutls_x509_crt_set_key(c->crt, c->key);
	if (version >= 3) {
		gnutls_x509_crt_set_basic_constraints(c->crt, ca, -1);
		if (ca) {
			gnutls_x509_crt_set_key_usage(c->crt,
			                              GNUTLS_KEY_KEY_CERT_SIGN);
		} else {
			gnutls_x509_crt_set_subject_alt_name(
			        c->crt, GNUTLS_SAN_DNSNAME, cn,
			        (unsigned)strlen(cn), GNUTLS_FSAN_SET);
			gnutls_x509_crt_set_key_purpose_oid(
			        c->crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
			gnutls_x509_crt_set_key_usage(
			        c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
		}
	}
	assert_int_equal(gnutls_x509_crt_sign2(
	                         c->crt, issuer ? issuer->crt : c->crt,
	                         issuer ? issuer->key : c->key,
	                         GNUTLS_DIG_SHA256, 0),
	                 0);
	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER,
	                                         &c->der),
	                 0);
	gnutls_datum_t pem = {NULL, 0};
	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM,
	                                         &pem),
	                 0);
	c->pem = xstrndup((const char *)pem.data, pem.size);
	gnutls_free(pem.data);
	return c;
}

static void free_cert(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	gnutls_free(c->der.data);
	free(c->pem);
	free(c);
}

/* ---- names and buckets ------------------------------------------------ */

static void test_cert_names_are_gnutls_raw_names(void **state)
{
	(void)state;
	time_t now = time(NULL);
	struct cert *root = make_cert("names root", NULL, true, now, 10, 3);
	struct cert *v3 = make_cert("names v3", root, false, now, 10, 3);
	struct cert *v1 = make_cert("names v1", root, false, now, 10, 1);
	struct cert *all[] = {root, v3, v1};
	for (size_t i = 0; i < 3; i++) {
		struct tls_trust_name issuer, subject;
		assert_true(tls_trust_cert_names(all[i]->der.data,
		                                 all[i]->der.size, &issuer,
		                                 &subject));
		gnutls_datum_t raw_issuer, raw_subject;
		assert_int_equal(gnutls_x509_crt_get_raw_issuer_dn(
		                         all[i]->crt, &raw_issuer),
		                 0);
		assert_int_equal(
		        gnutls_x509_crt_get_raw_dn(all[i]->crt, &raw_subject),
		        0);
		assert_int_equal(issuer.len, raw_issuer.size);
		assert_memory_equal(issuer.der, raw_issuer.data, issuer.len);
		assert_int_equal(subject.len, raw_subject.size);
		assert_memory_equal(subject.der, raw_subject.data,
		                    subject.len);
		gnutls_free(raw_issuer.data);
		gnutls_free(raw_subject.data);
		/* Truncated or extended: not a certificate of that shape. */
		assert_false(tls_trust_cert_names(all[i]->der.data,
		                                  all[i]->der.size - 1,
		                                  &issuer, &subject));
		assert_false(tls_trust_cert_names(all[i]->der.data, 10,
		                                  &issuer, &subject));
	}
	unsigned char junk[] = {0x30, 0x80, 0x00, 0x00};
	struct tls_trust_name a, b;
	assert_false(tls_trust_cert_names(junk, sizeof junk, &a, &b));
	for (size_t i = 0; i < 3; i++)
		free_cert(all[i]);
}

static void test_bucket(void **state)
{
	(void)state;
	/* Values of hash_pjw_bare (64-bit size_t) modulo 127, computed
	 * independently. */
	unsigned char big[1024];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)i;
	assert_int_equal(tls_trust_bucket(NULL, 0), 0);
	assert_int_equal(tls_trust_bucket((const unsigned char *)"abc", 3),
	                 11);
	assert_int_equal(tls_trust_bucket(big, sizeof big), 125);
}

/* ---- the bundle scanner ----------------------------------------------- */

static void test_select_table(void **state)
{
	(void)state;
	time_t now = time(NULL);
	struct cert *a = make_cert("scan a", NULL, true, now, 10, 3);
	struct cert *b = make_cert("scan b", NULL, true, now, 10, 3);
	struct tls_trust_name issuer, subject;
	assert_true(tls_trust_cert_names(b->der.data, b->der.size, &issuer,
	                                 &subject));
	bool want_b[TLS_TRUST_BUCKETS] = {false};
	want_b[tls_trust_bucket(subject.der, subject.len)] = true;

	/* The PEM of b with CRLF line ends, and with a bad character. */
	struct buf crlf = BUF_INIT, bad = BUF_INIT;
	for (const char *p = b->pem; *p; p++) {
		if (*p == '\n')
			buf_add_char(&crlf, '\r');
		buf_add_char(&crlf, *p);
	}
	buf_add_str(&bad, b->pem);
	bad.data[40] = '*';

	struct {
		const char *name;
		const char *text[4];
		bool ok;
		size_t total, selected;
	} cases[] = {
		{"two plain blocks", {a->pem, b->pem}, true, 2, 1},
		{"comments between", {"# a\n", a->pem, "text\n", b->pem}, true,
		 2, 1},
		{"CRLF", {a->pem, crlf.data}, true, 2, 1},
		{"nothing", {"# no certificate\n"}, false, 0, 0},
		{"empty", {""}, false, 0, 0},
		{"X509 CERTIFICATE header",
		 {a->pem, "-----BEGIN X509 CERTIFICATE-----\nAAAA\n"
		          "-----END X509 CERTIFICATE-----\n"},
		 false, 0, 0},
		{"TRUSTED CERTIFICATE",
		 {"-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n"
		  "-----END TRUSTED CERTIFICATE-----\n",
		  b->pem},
		 false, 0, 0},
		{"a CRL", {b->pem, "-----BEGIN X509 CRL-----\n"}, false, 0, 0},
		{"no END", {a->pem, "-----BEGIN CERTIFICATE-----\nAAAA\n"},
		 false, 0, 0},
		{"PEM headers",
		 {"-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n"
		  "-----END CERTIFICATE-----\n"},
		 false, 0, 0},
		{"bad base64", {a->pem, bad.data}, false, 0, 0},
		{"padding inside",
		 {"-----BEGIN CERTIFICATE-----\nMA=DAgEA\n"
		  "-----END CERTIFICATE-----\n"},
		 false, 0, 0},
		{"unused bits set",
		 {"-----BEGIN CERTIFICATE-----\nMAMCAQB=\n"
		  "-----END CERTIFICATE-----\n"},
		 false, 0, 0},
		{"not a certificate",
		 {"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n"
		  "-----END CERTIFICATE-----\n"},
		 false, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf bundle = BUF_INIT, out = BUF_INIT;
		for (size_t j = 0; j < 4 && cases[i].text[j]; j++)
			buf_add_str(&bundle, cases[i].text[j]);
		size_t total = 99, selected = 99;
		bool ok = tls_trust_select(bundle.data ? bundle.data : "",
		                           bundle.len, want_b, &out, &total,
		                           &selected);
		if (ok != cases[i].ok)
			fail_msg("%s: expected %s", cases[i].name,
			         cases[i].ok ? "accepted" : "refused");
		if (ok) {
			assert_int_equal(total, cases[i].total);
			assert_int_equal(selected, cases[i].selected);
			/* What was selected is b, and GnuTLS reads it. */
			gnutls_x509_crt_t crt;
			gnutls_datum_t d = {(unsigned char *)out.data,
			                    (unsigned)out.len};
			assert_int_equal(gnutls_x509_crt_init(&crt), 0);
			assert_int_equal(gnutls_x509_crt_import(
			                         crt, &d, GNUTLS_X509_FMT_PEM),
			                 0);
			assert_true(gnutls_x509_crt_equals(crt, b->crt));
			gnutls_x509_crt_deinit(crt);
		} else {
			assert_int_equal(out.len, 0);
		}
		buf_free(&bundle);
		buf_free(&out);
	}
	buf_free(&crlf);
	buf_free(&bad);
	free_cert(a);
	free_cert(b);
}

/* ---- verdicts: by-need load == full load ------------------------------ */

static unsigned verify_with(gnutls_certificate_credentials_t cred,
			    struct cert **chain, unsigned n)
{
	gnutls_x509_trust_list_t list = NULL;
	gnutls_certificate_get_trust_list(cred, &list);
	/* Imported afresh, as GnuTLS imports the peer's chain (a
	 * certificate built in memory has no raw names yet). */
	gnutls_x509_crt_t crts[8];
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(gnutls_x509_crt_init(&crts[i]), 0);
		assert_int_equal(gnutls_x509_crt_import(crts[i], &chain[i]->der,
		                                        GNUTLS_X509_FMT_DER),
		                 0);
	}
	gnutls_typed_vdata_st data[] = {
		{GNUTLS_DT_KEY_PURPOSE_OID,
		 (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0},
		{GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"localhost", 0},
	};
	unsigned status = 0;
	assert_int_equal(gnutls_x509_trust_list_verify_crt2(
	                         list, crts, n, data, 2, 0, &status, NULL),
	                 0);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return status;
}

static void test_verdicts_equal_full_load(void **state)
{
	(void)state;
	time_t now = time(NULL), past = now - 3 * 365 * 86400;
	struct cert *root = make_cert("verdict root", NULL, true, now - 60,
	                              3650, 3);
	struct cert *inter = make_cert("verdict inter", root, true, now - 60,
	                               3650, 3);
	struct cert *leaf = make_cert("localhost", inter, false, now - 60, 30,
	                              3);
	struct cert *expired = make_cert("localhost", inter, false, past, 30,
	                                 3);
	struct cert *stranger = make_cert("verdict stranger", NULL, true,
	                                  now - 60, 3650, 3);
	struct cert *strange_leaf = make_cert("localhost", stranger, false,
	                                      now - 60, 30, 3);
	struct cert *wrong = make_cert("wrong.example", inter, false, now - 60,
	                               30, 3);
	/* Other CAs around, so that buckets are shared. */
	struct cert *others[24];
	char path[] = "/tmp/outbox-test-tls-trust-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (size_t i = 0; i < 24; i++) {
		char cn[32];
		snprintf(cn, sizeof cn, "other CA %zu", i);
		others[i] = make_cert(cn, NULL, true, now - 60, 3650, 3);
		fputs(others[i]->pem, f);
		if (i == 11)
			fputs(root->pem, f);
	}
	fclose(f);

	struct {
		const char *name;
		struct cert *chain[4];
		unsigned n;
		bool trusted;
	} cases[] = {
		{"good", {leaf, inter}, 2, true},
		{"root sent, reversed", {leaf, root, inter}, 3, true},
		{"intermediate missing", {leaf}, 1, false},
		{"untrusted root", {strange_leaf, stranger}, 2, false},
		{"expired", {expired, inter}, 2, false},
		{"wrong name", {wrong, inter}, 2, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gnutls_certificate_credentials_t full, need;
		assert_int_equal(gnutls_certificate_allocate_credentials(&full),
		                 0);
		assert_int_equal(gnutls_certificate_allocate_credentials(&need),
		                 0);
		assert_int_equal(gnutls_certificate_set_x509_trust_file(
		                         full, path, GNUTLS_X509_FMT_PEM),
		                 25);
		gnutls_datum_t peers[4];
		for (unsigned j = 0; j < cases[i].n; j++)
			peers[j] = cases[i].chain[j]->der;
		bool used = false;
		size_t loaded = 99;
		struct err e = ERR_INIT;
		assert_int_equal(tls_trust_load_for_chain(need, path, peers,
		                                          cases[i].n, &used,
		                                          &loaded, &e),
		                 EX_OK);
		assert_true(used);
		/* The chain's buckets only: a handful, not the bundle. */
		if (loaded > 2 * cases[i].n)
			fail_msg("%s: %zu certificates loaded", cases[i].name,
			         loaded);
		unsigned want = verify_with(full, cases[i].chain, cases[i].n);
		unsigned got = verify_with(need, cases[i].chain, cases[i].n);
		if (want != got || (want == 0) != cases[i].trusted)
			fail_msg("%s: full load 0x%x, by need 0x%x",
			         cases[i].name, want, got);
		gnutls_certificate_free_credentials(full);
		gnutls_certificate_free_credentials(need);
	}

	/* A chain whose certificate cannot be read: not used (full load). */
	unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	gnutls_datum_t bad = {junk, sizeof junk};
	gnutls_certificate_credentials_t cred;
	assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
	bool used = true;
	size_t loaded = 0;
	struct err e = ERR_INIT;
	assert_int_equal(tls_trust_load_for_chain(cred, path, &bad, 1, &used,
	                                          &loaded, &e),
	                 EX_OK);
	assert_false(used);
	gnutls_certificate_free_credentials(cred);

	unlink(path);
	for (size_t i = 0; i < 24; i++)
		free_cert(others[i]);
	struct cert *all[] = {root,     inter,        leaf, expired,
	                      stranger, strange_leaf, wrong};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free_cert(all[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_names_are_gnutls_raw_names),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_select_table),
		cmocka_unit_test(test_verdicts_equal_full_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
