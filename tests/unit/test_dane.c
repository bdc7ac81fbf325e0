/* test_dane.c - DANE TLSA records for SMTP: the usable-record table, the
 * presentation form, and dane_verify_chain against chains made at test
 * time (a root, an intermediate and leaves under them, another root and
 * its leaf): DANE-EE by certificate and key with every matching type,
 * ignoring names and dates; DANE-TA on the intermediate and on the root,
 * the names it checks (CNAME-expanded, wildcard, trailing dot), the dates
 * it checks and the ones it does not, chains that do not verify to the
 * matched certificate, records for certificates not presented, mixed
 * sets, and garbage that must be refused cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dane.h"
#include "err.h"
#include "lazylib.h"
#include "util.h"

#define DAY 86400

/* ---- certificates made now -------------------------------------------- */

struct cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;
	gnutls_datum_t spki; /* GnuTLS's export of its public key */
	time_t not_before, not_after;
};

/* A certificate for cn (also its DNS name, for a leaf) signed by issuer
 * (NULL: self-signed), valid from not_before for days. */
static struct cert *make_cert(const char *cn, const struct cert *issuer,
			      bool ca, time_t not_before, int days,
			      gnutls_pk_algorithm_t pk)
{
	struct cert *c = xcalloc(1, sizeof *c);
	assert_int_equal(gnutls_x509_privkey_init(&c->key), 0);
	unsigned bits = pk == GNUTLS_PK_ECDSA ? GNUTLS_CURVE_TO_BITS(
	                                                GNUTLS_ECC_CURVE_SECP256R1)
	                                      : 0;
	assert_int_equal(gnutls_x509_privkey_generate(c->key, pk, bits, 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&c->crt), 0);
	unsigned char serial[8];
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	c->not_before = not_before;
	c->not_after = not_before + (time_t)days * DAY;
	gnutls_x509_crt_set_version(c->crt, 3);
	gnutls_x509_crt_set_serial(c->crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(c->crt, c->not_before);
	gnutls_x509_crt_set_expiration_time(c->crt, c->not_after);
	gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                              cn, (unsigned)strlen(cn));
	gnutls_x509_crt_set_key(c->crt, c->key);
	gnutls_x509_crt_set_basic_constraints(c->crt, ca, -1);
	if (ca) {
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN);
	} else {
		gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_DNSNAME,
		                                     cn, (unsigned)strlen(cn),
		                                     GNUTLS_FSAN_SET);
		gnutls_x509_crt_set_key_purpose_oid(c->crt,
		                                    GNUTLS_KP_TLS_WWW_SERVER, 0);
		gnutls_x509_crt_set_key_usage(c->crt,
		                              GNUTLS_KEY_DIGITAL_SIGNATURE);
	}
	assert_int_equal(gnutls_x509_crt_sign2(
	                         c->crt, issuer ? issuer->crt : c->crt,
	                         issuer ? issuer->key : c->key,
	                         GNUTLS_DIG_SHA256, 0),
	                 0);
	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER,
	                                         &c->der),
	                 0);
	gnutls_pubkey_t pub;
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_x509(pub, c->crt, 0), 0);
	assert_int_equal(
	        gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &c->spki), 0);
	gnutls_pubkey_deinit(pub);
	return c;
}

static void free_cert(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	gnutls_free(c->der.data);
	gnutls_free(c->spki.data);
	free(c);
}

struct pki {
	struct cert *root, *inter, *leaf;
	struct cert *cname_leaf;    /* mail.provider.net, by inter */
	struct cert *wildcard_leaf; /* *.example.org, by inter */
	struct cert *expired_leaf;  /* wrong.example, expired, by inter */
	struct cert *ed25519_leaf;  /* mx.example.org, by inter */
	struct cert *other_root, *other_leaf; /* mx.example.org */
	/* an expired root whose intermediate and leaf are current */
	struct cert *old_root, *old_inter, *old_leaf;
	time_t now;
};

static int setup_pki(void **state)
{
	struct pki *p = xcalloc(1, sizeof *p);
	time_t now = time(NULL);
	gnutls_pk_algorithm_t ec = GNUTLS_PK_ECDSA;
	p->now = now;
	p->root = make_cert("Test Root", NULL, true, now - DAY, 30, ec);
	p->inter = make_cert("Test Intermediate", p->root, true, now - DAY, 20,
	                     ec);
	p->leaf = make_cert("mx.example.org", p->inter, false, now - DAY, 10,
	                    ec);
	p->cname_leaf = make_cert("mail.provider.net", p->inter, false,
	                          now - DAY, 10, ec);
	p->wildcard_leaf = make_cert("*.example.org", p->inter, false,
	                             now - DAY, 10, ec);
	p->expired_leaf = make_cert("wrong.example", p->inter, false,
	                            now - 20 * DAY, 10, ec);
	p->ed25519_leaf = make_cert("mx.example.org", p->inter, false,
	                            now - DAY, 10, GNUTLS_PK_EDDSA_ED25519);
	p->other_root = make_cert("Other Root", NULL, true, now - DAY, 30, ec);
	p->other_leaf = make_cert("mx.example.org", p->other_root, false,
	                          now - DAY, 10, ec);
	p->old_root = make_cert("Old Root", NULL, true, now - 30 * DAY, 20, ec);
	p->old_inter = make_cert("Old Intermediate", p->old_root, true,
	                         now - 5 * DAY, 20, ec);
	p->old_leaf = make_cert("mx.example.org", p->old_inter, false,
	                        now - DAY, 10, ec);
	*state = p;
	return 0;
}

static int teardown_pki(void **state)
{
	struct pki *p = *state;
	struct cert *all[] = {p->root,         p->inter,        p->leaf,
	                      p->cname_leaf,   p->wildcard_leaf, p->expired_leaf,
	                      p->ed25519_leaf, p->other_root,   p->other_leaf,
	                      p->old_root,     p->old_inter,    p->old_leaf};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free_cert(all[i]);
	free(p);
	return 0;
}

/* ---- records ---------------------------------------------------------- */

/* The record usage/selector/mtype for c, data computed independently of
 * dane.c (SPKI: GnuTLS's export of the key). Heap data. */
static struct dane_tlsa record_for(uint8_t usage, uint8_t selector,
				   uint8_t mtype, const struct cert *c)
{
	const gnutls_datum_t *in = selector == 0 ? &c->der : &c->spki;
	struct dane_tlsa r = {usage, selector, mtype, NULL, 0};
	if (mtype == 0) {
		r.len = in->size;
		r.data = xmalloc(r.len);
		memcpy(r.data, in->data, r.len);
		return r;
	}
	r.len = mtype == 1 ? 32 : 64;
	r.data = xmalloc(r.len);
	assert_int_equal(gnutls_hash_fast(mtype == 1 ? GNUTLS_DIG_SHA256
	                                             : GNUTLS_DIG_SHA512,
	                                  in->data, in->size, r.data),
	                 0);
	return r;
}

/* A set of one record (through dane_usable, which must keep it). */
static struct dane_tlsa_set set_of(struct dane_tlsa r)
{
	struct dane_tlsa_set set = {0};
	assert_int_equal(dane_usable(&r, 1, &set), 0);
	assert_int_equal(set.count, 1);
	free(r.data);
	return set;
}

static const char *const mx_names[] = {"mx.example.org"};

/* dane_verify_chain over certs (leaf first) with names; returns the code
 * and leaves the message (or the description) in *text (heap). */
static int verify(const struct dane_tlsa_set *set, struct cert **certs,
		  unsigned count, const char *const *names, size_t name_count,
		  time_t now, char **text)
{
	gnutls_datum_t chain[DANE_CHAIN_MAX + 1];
	for (unsigned i = 0; i < count; i++)
		chain[i] = certs[i]->der;
	struct err e = ERR_INIT;
	char *matched = NULL;
	int rc = dane_verify_chain(set, chain, count, names, name_count, now,
	                           "mx.example.org[192.0.2.1]:25",
	                           "_25._tcp.mx.example.org", &matched, &e);
	if (rc == EX_OK) {
		assert_non_null(matched);
		*text = matched;
	} else {
		assert_null(matched);
		*text = xstrdup(err_msg(&e));
	}
	err_clear(&e);
	return rc;
}

/* verify() that must succeed with a description containing want. */
static void expect_match(const struct dane_tlsa_set *set, struct cert **certs,
			 unsigned count, const char *const *names,
			 size_t name_count, time_t now, const char *want)
{
	char *text = NULL;
	int rc = verify(set, certs, count, names, name_count, now, &text);
	if (rc != EX_OK || !strstr(text, want))
		fail_msg("expected a match '%s', got %d: %s", want, rc, text);
	free(text);
}

/* verify() that must fail with EX_NOPERM and a message containing want. */
static void expect_refusal(const struct dane_tlsa_set *set,
			   struct cert **certs, unsigned count,
			   const char *const *names, size_t name_count,
			   time_t now, const char *want)
{
	char *text = NULL;
	int rc = verify(set, certs, count, names, name_count, now, &text);
	if (rc != EX_NOPERM || !strstr(text, want))
		fail_msg("expected a refusal '%s', got %d: %s", want, rc, text);
	free(text);
}

/* ---- dane_usable ------------------------------------------------------ */

static void test_usable_table(void **state)
{
	(void)state;
	static const struct {
		uint8_t usage, selector, mtype;
		size_t len;
		bool usable;
	} cases[] = {
		{3, 1, 1, 32, true},   {3, 0, 1, 32, true},
		{3, 1, 2, 64, true},   {3, 0, 2, 64, true},
		{3, 1, 0, 91, true},   {3, 0, 0, 400, true},
		{2, 0, 1, 32, true},   {2, 1, 1, 32, true},
		{2, 1, 2, 64, true},   {2, 0, 0, 400, true},
		/* RFC 7672 3.1.3: the PKIX usages are not for SMTP */
		{0, 0, 1, 32, false},  {0, 1, 1, 32, false},
		{1, 0, 1, 32, false},  {1, 1, 2, 64, false},
		/* unknown usages, selectors, matching types */
		{4, 1, 1, 32, false},  {255, 1, 1, 32, false},
		{3, 2, 1, 32, false},  {2, 255, 1, 32, false},
		{3, 1, 3, 32, false},  {2, 1, 255, 32, false},
		/* data of the wrong length */
		{3, 1, 1, 31, false},  {3, 1, 1, 33, false},
		{3, 1, 1, 64, false},  {3, 1, 2, 32, false},
		{2, 0, 2, 63, false},  {2, 0, 2, 65, false},
		{3, 1, 1, 0, false},   {3, 0, 0, 0, false},
	};
	size_t n = sizeof cases / sizeof cases[0];
	struct dane_tlsa in[sizeof cases / sizeof cases[0]];
	size_t want_kept = 0;
	for (size_t i = 0; i < n; i++) {
		in[i] = (struct dane_tlsa){cases[i].usage, cases[i].selector,
		                           cases[i].mtype, NULL, cases[i].len};
		in[i].data = xmalloc(cases[i].len + 1);
		memset(in[i].data, (int)i, cases[i].len + 1);
		want_kept += cases[i].usable;
		/* one at a time: the verdict of each row */
		struct dane_tlsa_set one = {0};
		size_t dropped = dane_usable(&in[i], 1, &one);
		if (dropped != !cases[i].usable ||
		    one.count != cases[i].usable)
			fail_msg("case %zu (%u %u %u, %zu bytes): dropped %zu",
			         i, cases[i].usage, cases[i].selector,
			         cases[i].mtype, cases[i].len, dropped);
		dane_tlsa_set_free(&one);
		assert_null(one.items);
		assert_int_equal(one.count, 0);
	}
	/* all at once, appended to a set that holds one already: deep
	 * copies in their order */
	struct dane_tlsa_set set = {0};
	assert_int_equal(dane_usable(&in[0], 1, &set), 0);
	assert_int_equal(dane_usable(in, n, &set), n - want_kept);
	assert_int_equal(set.count, want_kept + 1);
	size_t k = 1;
	for (size_t i = 0; i < n; i++) {
		if (!cases[i].usable)
			continue;
		const struct dane_tlsa *r = &set.items[k++];
		assert_int_equal(r->usage, cases[i].usage);
		assert_int_equal(r->selector, cases[i].selector);
		assert_int_equal(r->mtype, cases[i].mtype);
		assert_int_equal(r->len, cases[i].len);
		assert_ptr_not_equal(r->data, in[i].data);
		assert_memory_equal(r->data, in[i].data, r->len);
	}
	for (size_t i = 0; i < n; i++)
		free(in[i].data);
	/* a NULL data pointer is never usable */
	struct dane_tlsa null_data = {3, 1, 1, NULL, 32};
	assert_int_equal(dane_usable(&null_data, 1, &set), 1);
	assert_int_equal(dane_usable(NULL, 0, &set), 0);
	assert_int_equal(set.count, want_kept + 1);
	dane_tlsa_set_free(&set);
	dane_tlsa_set_free(NULL);
}

static void test_describe(void **state)
{
	(void)state;
	unsigned char data[32];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 8 + 1);
	struct dane_tlsa r = {3, 1, 1, data, sizeof data};
	char *text = dane_tlsa_describe(&r);
	assert_string_equal(text, "3 1 1 "
	                          "0109111921293139414951596169717981"
	                          "899199a1a9b1b9c1c9d1d9e1e9f1f9");
	free(text);
	unsigned char one = 0xab;
	struct dane_tlsa full = {2, 0, 0, &one, 1};
	text = dane_tlsa_describe(&full);
	assert_string_equal(text, "2 0 0 ab");
	free(text);
}

/* ---- DANE-EE(3) ------------------------------------------------------- */

static void test_ee_matches_cert_and_key(void **state)
{
	struct pki *p = *state;
	static const char *const kinds[2][3] = {
		{"DANE-EE(3) Cert(0) Full(0)", "DANE-EE(3) Cert(0) SHA2-256(1)",
		 "DANE-EE(3) Cert(0) SHA2-512(2)"},
		{"DANE-EE(3) SPKI(1) Full(0)", "DANE-EE(3) SPKI(1) SHA2-256(1)",
		 "DANE-EE(3) SPKI(1) SHA2-512(2)"},
	};
	struct cert *leaves[] = {p->leaf, p->ed25519_leaf};
	for (size_t l = 0; l < 2; l++) {
		struct cert *chain[] = {leaves[l], p->inter, p->root};
		for (uint8_t selector = 0; selector < 2; selector++) {
			for (uint8_t mtype = 0; mtype < 3; mtype++) {
				struct dane_tlsa_set set = set_of(record_for(
				        3, selector, mtype, leaves[l]));
				char *text = NULL;
				int rc = verify(&set, chain, 3, mx_names, 1,
				                p->now, &text);
				if (rc != EX_OK ||
				    strcmp(text, kinds[selector][mtype]) != 0)
					fail_msg("leaf %zu, 3 %u %u: %d %s", l,
					         selector, mtype, rc, text);
				free(text);
				/* the leaf alone is enough */
				expect_match(&set, chain, 1, mx_names, 1,
				             p->now, "DANE-EE(3)");
				dane_tlsa_set_free(&set);
			}
		}
	}
}

static void test_ee_mismatch(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->leaf, p->inter, p->root};
	/* another server's key */
	struct dane_tlsa_set set = set_of(record_for(3, 1, 1, p->other_leaf));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "the TLS certificate of mx.example.org[192.0.2.1]:25 "
	               "matches none of its 1 TLSA record "
	               "(_25._tcp.mx.example.org): its certificate's key is "
	               "3 1 1 ");
	/* the message carries the leaf's own 3 1 1 data */
	struct dane_tlsa own = record_for(3, 1, 1, p->leaf);
	char *own_text = dane_tlsa_describe(&own);
	char *text = NULL;
	assert_int_equal(verify(&set, chain, 3, mx_names, 1, p->now, &text),
	                 EX_NOPERM);
	assert_non_null(strstr(text, own_text));
	free(text);
	free(own_text);
	free(own.data);
	/* one bit off, in each matching type; and an issuer's key is not
	 * the leaf's */
	for (uint8_t mtype = 0; mtype < 3; mtype++) {
		struct dane_tlsa r = record_for(3, 1, mtype, p->leaf);
		r.data[r.len - 1] ^= 1;
		struct dane_tlsa_set flipped = set_of(r);
		expect_refusal(&flipped, chain, 3, mx_names, 1, p->now,
		               "matches none of its 1 TLSA record");
		dane_tlsa_set_free(&flipped);
	}
	dane_tlsa_set_free(&set);
	set = set_of(record_for(3, 0, 1, p->inter));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now, "matches none");
	dane_tlsa_set_free(&set);
	/* two records: the count is the set's */
	struct dane_tlsa two[] = {record_for(3, 1, 1, p->other_leaf),
	                          record_for(3, 0, 2, p->other_leaf)};
	assert_int_equal(dane_usable(two, 2, &set), 0);
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "matches none of its 2 TLSA records");
	free(two[0].data);
	free(two[1].data);
	dane_tlsa_set_free(&set);
}

/* RFC 7672 3.1.1: with DANE-EE neither the names nor the dates count. */
static void test_ee_ignores_name_and_expiry(void **state)
{
	struct pki *p = *state;
	assert_true(p->expired_leaf->not_after < p->now);
	struct cert *chain[] = {p->expired_leaf, p->inter, p->root};
	for (uint8_t selector = 0; selector < 2; selector++) {
		struct dane_tlsa_set set =
		        set_of(record_for(3, selector, 1, p->expired_leaf));
		expect_match(&set, chain, 3, mx_names, 1, p->now,
		             "DANE-EE(3)");
		expect_match(&set, chain, 1, NULL, 0, p->now, "DANE-EE(3)");
		/* and long after, or before it began */
		expect_match(&set, chain, 1, mx_names, 1,
		             p->now + 3650 * DAY, "DANE-EE(3)");
		expect_match(&set, chain, 1, mx_names, 1,
		             p->expired_leaf->not_before - DAY, "DANE-EE(3)");
		dane_tlsa_set_free(&set);
	}
}

/* ---- DANE-TA(2) ------------------------------------------------------- */

static void test_ta_on_intermediate(void **state)
{
	struct pki *p = *state;
	struct cert *full[] = {p->leaf, p->inter, p->root};
	struct cert *no_root[] = {p->leaf, p->inter};
	for (uint8_t selector = 0; selector < 2; selector++) {
		for (uint8_t mtype = 0; mtype < 3; mtype++) {
			struct dane_tlsa_set set =
			        set_of(record_for(2, selector, mtype, p->inter));
			expect_match(&set, full, 3, mx_names, 1, p->now,
			             ", trust anchor CN=Test Intermediate");
			expect_match(&set, no_root, 2, mx_names, 1, p->now,
			             "DANE-TA(2)");
			/* the leaf alone does not present the anchor */
			expect_refusal(&set, full, 1, mx_names, 1, p->now,
			               "matches none");
			dane_tlsa_set_free(&set);
		}
	}
	struct dane_tlsa_set set = set_of(record_for(2, 1, 1, p->inter));
	char *text = NULL;
	assert_int_equal(verify(&set, full, 3, mx_names, 1, p->now, &text),
	                 EX_OK);
	assert_string_equal(text, "DANE-TA(2) SPKI(1) SHA2-256(1), trust "
	                          "anchor CN=Test Intermediate");
	free(text);
	/* certificates after the anchor do not count */
	struct cert *extra[] = {p->leaf, p->inter, p->other_root, p->root};
	expect_match(&set, extra, 4, mx_names, 1, p->now, "DANE-TA(2)");
	/* below it, the order sent is the path (RFC 5246 7.4.2) */
	struct dane_tlsa_set root_set = set_of(record_for(2, 1, 1, p->root));
	struct cert *unsorted[] = {p->leaf, p->root, p->inter};
	expect_refusal(&root_set, unsorted, 3, mx_names, 1, p->now,
	               "but the chain does not verify to it");
	struct cert *decoy[] = {p->leaf, p->other_root, p->inter, p->root};
	expect_refusal(&root_set, decoy, 4, mx_names, 1, p->now,
	               "but the chain does not verify to it");
	dane_tlsa_set_free(&root_set);
	/* an Ed25519 leaf under the same anchor */
	struct cert *ed[] = {p->ed25519_leaf, p->inter};
	expect_match(&set, ed, 2, mx_names, 1, p->now, "DANE-TA(2)");
	dane_tlsa_set_free(&set);
}

static void test_ta_on_root_in_chain(void **state)
{
	struct pki *p = *state;
	struct cert *full[] = {p->leaf, p->inter, p->root};
	struct cert *no_root[] = {p->leaf, p->inter};
	for (uint8_t selector = 0; selector < 2; selector++) {
		struct dane_tlsa_set set =
		        set_of(record_for(2, selector, 1, p->root));
		expect_match(&set, full, 3, mx_names, 1, p->now,
		             "trust anchor CN=Test Root");
		/* RFC 7672 3.1.2: the server must present its anchor */
		expect_refusal(&set, no_root, 2, mx_names, 1, p->now,
		               "matches none of its 1 TLSA record");
		dane_tlsa_set_free(&set);
	}
}

static void test_ta_wrong_name(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->leaf, p->inter, p->root};
	struct dane_tlsa_set set = set_of(record_for(2, 0, 1, p->inter));
	static const char *const other[] = {"other.example.net"};
	expect_refusal(&set, chain, 3, other, 1, p->now,
	               "matches none of its 1 TLSA record "
	               "(_25._tcp.mx.example.org): a DANE-TA(2) Cert(0) "
	               "SHA2-256(1) record matches its certificate 2 (CN=Test "
	               "Intermediate), but the certificate is not valid for "
	               "other.example.net (its subject is CN=mx.example.org)");
	static const char *const two[] = {"a.example.net", "b.example.net"};
	expect_refusal(&set, chain, 3, two, 2, p->now,
	               "not valid for a.example.net or b.example.net");
	expect_refusal(&set, chain, 3, NULL, 0, p->now,
	               "not valid for any name: none was given");
	static const char *const empty[] = {"", NULL, "."};
	expect_refusal(&set, chain, 3, empty, 3, p->now, "not valid for .");
	/* a wildcard covers one label, the left-most (RFC 7672 3.2.3) */
	struct cert *wild[] = {p->wildcard_leaf, p->inter};
	expect_match(&set, wild, 2, mx_names, 1, p->now, "DANE-TA(2)");
	static const char *const deeper[] = {"a.mx.example.org"};
	expect_refusal(&set, wild, 2, deeper, 1, p->now, "not valid for");
	static const char *const apex[] = {"example.org"};
	expect_refusal(&set, wild, 2, apex, 1, p->now, "not valid for");
	dane_tlsa_set_free(&set);
}

/* RFC 7672 3.2.2: the name the MX host name's CNAME expands to. */
static void test_ta_cname_expanded_name(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->cname_leaf, p->inter, p->root};
	struct dane_tlsa_set set = set_of(record_for(2, 1, 1, p->inter));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "not valid for mx.example.org");
	static const char *const both[] = {"mx.example.org",
	                                   "mail.provider.net"};
	expect_match(&set, chain, 3, both, 2, p->now, "DANE-TA(2)");
	static const char *const dotted[] = {"mx.example.org.",
	                                     "mail.provider.net."};
	expect_match(&set, chain, 3, dotted, 2, p->now, "DANE-TA(2)");
	static const char *const upper[] = {"MAIL.Provider.NET"};
	expect_match(&set, chain, 3, upper, 1, p->now, "DANE-TA(2)");
	dane_tlsa_set_free(&set);
}

static void test_ta_chain_does_not_verify(void **state)
{
	struct pki *p = *state;
	/* the intermediate is presented, but the leaf is another CA's */
	struct cert *chain[] = {p->other_leaf, p->inter, p->root};
	struct dane_tlsa_set set = set_of(record_for(2, 0, 1, p->inter));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "record matches its certificate 2 (CN=Test "
	               "Intermediate), but the chain does not verify to it");
	dane_tlsa_set_free(&set);
	set = set_of(record_for(2, 1, 2, p->root));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "but the chain does not verify to it");
	dane_tlsa_set_free(&set);
	/* the leaf signed by the intermediate, but presented with another
	 * root that the record names */
	struct cert *mixed[] = {p->leaf, p->other_root};
	set = set_of(record_for(2, 1, 1, p->other_root));
	expect_refusal(&set, mixed, 2, mx_names, 1, p->now,
	               "does not verify to it");
	dane_tlsa_set_free(&set);
}

static void test_ta_not_in_chain(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->leaf, p->inter, p->root};
	struct dane_tlsa_set set = set_of(record_for(2, 0, 1, p->other_root));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now,
	               "matches none of its 1 TLSA record "
	               "(_25._tcp.mx.example.org): its certificate's key is");
	dane_tlsa_set_free(&set);
	/* a DANE-TA record never matches the leaf itself: an anchor issues
	 * the server's certificate */
	set = set_of(record_for(2, 0, 1, p->leaf));
	expect_refusal(&set, chain, 3, mx_names, 1, p->now, "matches none");
	dane_tlsa_set_free(&set);
}

/* Below the anchor the dates count; the anchor's own do not. */
static void test_ta_validity(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->leaf, p->inter, p->root};
	struct dane_tlsa_set set = set_of(record_for(2, 1, 1, p->root));
	time_t later = p->leaf->not_after + DAY;
	expect_refusal(&set, chain, 3, mx_names, 1, later,
	               "but CN=mx.example.org expired on ");
	time_t earlier = p->leaf->not_before - DAY;
	expect_refusal(&set, chain, 3, mx_names, 1, earlier,
	               "but CN=mx.example.org is not valid before ");
	/* an intermediate that expired while the leaf is still valid is
	 * not made here; the leaf expired under the intermediate: */
	dane_tlsa_set_free(&set);
	set = set_of(record_for(2, 1, 1, p->inter));
	expect_refusal(&set, chain, 3, mx_names, 1, later, "expired on");
	struct cert *old[] = {p->expired_leaf, p->inter};
	static const char *const wrong[] = {"wrong.example"};
	expect_refusal(&set, old, 2, wrong, 1, p->now, "expired on");
	dane_tlsa_set_free(&set);
	/* the same moment, by DANE-EE: accepted (RFC 7672 3.1.1) */
	set = set_of(record_for(3, 1, 1, p->leaf));
	expect_match(&set, chain, 3, mx_names, 1, later, "DANE-EE(3)");
	dane_tlsa_set_free(&set);
	/* an expired root as the anchor: its key still anchors the current
	 * intermediate and leaf (RFC 5280 6.1.1 (d)) */
	assert_true(p->old_root->not_after < p->now);
	struct cert *old_chain[] = {p->old_leaf, p->old_inter, p->old_root};
	for (uint8_t selector = 0; selector < 2; selector++) {
		set = set_of(record_for(2, selector, 1, p->old_root));
		expect_match(&set, old_chain, 3, mx_names, 1, p->now,
		             "trust anchor CN=Old Root");
		dane_tlsa_set_free(&set);
	}
}

/* ---- sets, and what the network may send ------------------------------ */

static void test_mixed_set(void **state)
{
	struct pki *p = *state;
	struct cert *chain[] = {p->leaf, p->inter, p->root};
	struct dane_tlsa in[] = {
		record_for(0, 0, 1, p->root),       /* PKIX-TA: unusable */
		record_for(1, 1, 1, p->leaf),       /* PKIX-EE: unusable */
		record_for(3, 1, 1, p->leaf),       /* cut short below */
		record_for(3, 1, 1, p->other_leaf), /* usable, no match */
		record_for(2, 1, 1, p->inter),      /* usable, matches */
		record_for(3, 3, 1, p->leaf),       /* unknown selector */
	};
	in[2].len = 31;
	in[5].selector = 3;
	size_t n = sizeof in / sizeof in[0];
	struct dane_tlsa_set set = {0};
	assert_int_equal(dane_usable(in, n, &set), 4);
	assert_int_equal(set.count, 2);
	expect_match(&set, chain, 3, mx_names, 1, p->now,
	             "DANE-TA(2) SPKI(1) SHA2-256(1)");
	static const char *const other[] = {"other.example.net"};
	expect_refusal(&set, chain, 3, other, 1, p->now,
	               "matches none of its 2 TLSA records");
	dane_tlsa_set_free(&set);
	/* a set built by hand is filtered all the same: PKIX-EE that
	 * would match the leaf does not count */
	struct dane_tlsa_set raw = {&in[1], 1};
	expect_refusal(&raw, chain, 3, mx_names, 1, p->now, "matches none");
	for (size_t i = 0; i < n; i++)
		free(in[i].data);
	/* nothing to verify with: the caller's mistake */
	struct dane_tlsa_set empty = {0};
	char *text = NULL;
	assert_int_equal(verify(&empty, chain, 3, mx_names, 1, p->now, &text),
	                 EX_SOFTWARE);
	free(text);
	assert_int_equal(verify(NULL, chain, 3, mx_names, 1, p->now, &text),
	                 EX_SOFTWARE);
	free(text);
}

static void test_garbage_refused(void **state)
{
	struct pki *p = *state;
	struct dane_tlsa_set set = set_of(record_for(2, 1, 1, p->inter));
	struct dane_tlsa ee = record_for(3, 0, 1, p->leaf);
	assert_int_equal(dane_usable(&ee, 1, &set), 0);
	free(ee.data);
	struct err e = ERR_INIT;
	char *matched = NULL;
	unsigned char noise[300];
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (unsigned char)(i * 37 + 11);
	gnutls_datum_t chain[DANE_CHAIN_MAX + 1];
	for (unsigned i = 0; i <= DANE_CHAIN_MAX; i++)
		chain[i] = p->leaf->der;
	/* noise, an empty datum, a truncated certificate, a certificate
	 * with a byte after it, each as the leaf and as the issuer */
	unsigned char *longer = xmalloc(p->leaf->der.size + 1);
	memcpy(longer, p->leaf->der.data, p->leaf->der.size);
	longer[p->leaf->der.size] = 0;
	gnutls_datum_t bad[] = {
		{noise, sizeof noise},
		{noise, 0},
		{p->leaf->der.data, p->leaf->der.size - 1},
		{p->leaf->der.data, 40},
		{longer, p->leaf->der.size + 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (unsigned at = 0; at < 2; at++) {
			gnutls_datum_t two[] = {p->leaf->der, p->inter->der};
			two[at] = bad[i];
			int rc = dane_verify_chain(&set, two, 2, mx_names, 1,
			                           p->now, "P", NULL, &matched,
			                           &e);
			if (rc != EX_NOPERM ||
			    !strstr(err_msg(&e), "cannot be parsed"))
				fail_msg("garbage %zu at %u: %d %s", i, at, rc,
				         err_msg(&e));
			assert_null(matched);
			err_clear(&e);
		}
	}
	free(longer);
	assert_int_equal(dane_verify_chain(&set, chain, 0, mx_names, 1,
	                                   p->now, "P", NULL, &matched, &e),
	                 EX_NOPERM);
	assert_string_equal(err_msg(&e),
	                    "the server P presented no TLS certificate");
	err_clear(&e);
	assert_int_equal(dane_verify_chain(&set, NULL, 1, mx_names, 1, p->now,
	                                   "P", NULL, &matched, &e),
	                 EX_NOPERM);
	err_clear(&e);
	assert_int_equal(dane_verify_chain(&set, chain, DANE_CHAIN_MAX + 1,
	                                   mx_names, 1, p->now, "P", NULL,
	                                   &matched, &e),
	                 EX_NOPERM);
	assert_non_null(strstr(err_msg(&e), "17 TLS certificates"));
	err_clear(&e);
	/* DANE_CHAIN_MAX copies of the leaf: examined, and the EE record
	 * matches; matched may be NULL */
	assert_int_equal(dane_verify_chain(&set, chain, DANE_CHAIN_MAX,
	                                   mx_names, 1, p->now, "P", NULL,
	                                   NULL, &e),
	                 EX_OK);
	assert_null(matched);
	dane_tlsa_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable_table),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_ee_matches_cert_and_key),
		cmocka_unit_test(test_ee_mismatch),
		cmocka_unit_test(test_ee_ignores_name_and_expiry),
		cmocka_unit_test(test_ta_on_intermediate),
		cmocka_unit_test(test_ta_on_root_in_chain),
		cmocka_unit_test(test_ta_wrong_name),
		cmocka_unit_test(test_ta_cname_expanded_name),
		cmocka_unit_test(test_ta_chain_does_not_verify),
		cmocka_unit_test(test_ta_not_in_chain),
		cmocka_unit_test(test_ta_validity),
		cmocka_unit_test(test_mixed_set),
		cmocka_unit_test(test_garbage_refused),
	};
	struct err e = ERR_INIT;
	if (lazylib_load(LAZYLIB_GNUTLS, &e) != EX_OK) {
		fprintf(stderr, "%s\n", err_msg(&e));
		return 1;
	}
	return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
