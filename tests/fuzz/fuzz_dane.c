/* fuzz_dane.c - libFuzzer target for dane.c: a chain the server sent
 * (hostile input) against a set of TLSA records (from DNS, signed but
 * published by anyone).
 *
 * The input picks a chain of up to DANE_CHAIN_MAX + 1 certificates, each
 * one of a pool made at start-up (a root, an intermediate, leaves under
 * them, another root and its leaf, an expired leaf, a self-signed one),
 * possibly with one byte changed or cut short, or raw bytes from the
 * input; then records, each with any usage, selector and matching type
 * and data that is either the right digest of a pool certificate (or of
 * its key) or raw bytes; the reference names and the time of the check.
 * Invariants:
 *  - dane_usable keeps exactly the records it should (a table of its
 *    own here) and dane_tlsa_describe describes every record;
 *  - dane_verify_chain is total: EX_OK, EX_NOPERM, or EX_SOFTWARE exactly
 *    for an empty set; on EX_OK a description of a usable kind, on
 *    failure a message and no description;
 *  - soundness: EX_OK only when some usable record's data is the digest
 *    (computed here with GnuTLS's own export of the certificate or key)
 *    of a certificate of the chain, the leaf for DANE-EE and an issuer
 *    for DANE-TA (checked when the chain holds pool certificates only);
 *  - completeness for DANE-EE: an unmodified pool leaf at the head of the
 *    chain and a usable DANE-EE record made from it always match. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dane.h"
#include "err.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY 86400
#define POOL 8
#define MAX_RECORDS 8
#define MAX_RAW 512

struct pooled {
	gnutls_datum_t der, spki;
};

static struct pooled pool[POOL];
static time_t pool_now;

/* ---- the pool, made once ---------------------------------------------- */

static gnutls_x509_privkey_t pool_key[POOL];
static gnutls_x509_crt_t pool_crt[POOL];

static void make(int i, const char *cn, int issuer, bool ca, time_t from,
		 int days)
{
	gnutls_x509_privkey_init(&pool_key[i]);
	gnutls_x509_privkey_generate(
	        pool_key[i], GNUTLS_PK_ECDSA,
	        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	gnutls_x509_crt_t c;
	gnutls_x509_crt_init(&c);
	unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, (unsigned char)i};
	gnutls_x509_crt_set_version(c, 3);
	gnutls_x509_crt_set_serial(c, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(c, from);
	gnutls_x509_crt_set_expiration_time(c, from + (time_t)days * DAY);
	gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	                              (unsigned)strlen(cn));
	gnutls_x509_crt_set_key(c, pool_key[i]);
	gnutls_x509_crt_set_basic_constraints(c, ca, -1);
	if (!ca)
		gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, cn,
		                                     (unsigned)strlen(cn),
		                                     GNUTLS_FSAN_SET);
	gnutls_x509_crt_sign2(c, issuer < 0 ? c : pool_crt[issuer],
	                      issuer < 0 ? pool_key[i] : pool_key[issuer],
	                      GNUTLS_DIG_SHA256, 0);
	pool_crt[i] = c;
	gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, &pool[i].der);
	gnutls_pubkey_t pub;
	gnutls_pubkey_init(&pub);
	gnutls_pubkey_import_x509(pub, c, 0);
	gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &pool[i].spki);
	gnutls_pubkey_deinit(pub);
}

static void make_pool(void)
{
	/* a fixed time, so that a crash reproduces */
	pool_now = 1700000000;
	time_t t = pool_now - DAY;
	make(0, "Root", -1, true, t, 30);
	make(1, "Intermediate", 0, true, t, 20);
	make(2, "mx.example.org", 1, false, t, 10);
	make(3, "mail.provider.net", 1, false, t, 10);
	make(4, "Other Root", -1, true, t, 30);
	make(5, "mx.example.org", 4, false, t, 10);
	make(6, "mx.example.org", 1, false, t - 30 * DAY, 10); /* expired */
	make(7, "mx.example.org", -1, false, t, 10);  /* self-signed */
}

/* ---- reading the input ------------------------------------------------ */

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* Up to max raw bytes (their count from the input); points into it. */
static const uint8_t *take(struct input *in, size_t max, size_t *len)
{
	size_t n = next(in) | (size_t)next(in) << 8;
	n %= max + 1;
	if (n > in->left)
		n = in->left;
	const uint8_t *at = in->p;
	in->p += n;
	in->left -= n;
	*len = n;
	return at;
}

/* ---- the reference ---------------------------------------------------- */

static bool usable_reference(const struct dane_tlsa *r)
{
	if ((r->usage != 2 && r->usage != 3) || r->selector > 1 || !r->data)
		return false;
	return (r->mtype == 0 && r->len > 0) || (r->mtype == 1 && r->len == 32) ||
	       (r->mtype == 2 && r->len == 64);
}

/* r's data is the digest of pooled certificate c (or of its key). */
static bool record_names(const struct dane_tlsa *r, const struct pooled *c)
{
	const gnutls_datum_t *in = r->selector == 0 ? &c->der : &c->spki;
	unsigned char digest[64];
	if (r->mtype == 0)
		return r->len == in->size && memcmp(r->data, in->data, r->len) == 0;
	gnutls_hash_fast(r->mtype == 1 ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA512,
	                 in->data, in->size, digest);
	return memcmp(r->data, digest, r->len) == 0;
}

/* ---- one run ---------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		make_pool();
		ready = true;
	}
	struct input in = {data, size};

	/* the chain */
	unsigned count = next(&in) % (DANE_CHAIN_MAX + 2);
	gnutls_datum_t chain[DANE_CHAIN_MAX + 1];
	unsigned char *owned[DANE_CHAIN_MAX + 1] = {0};
	int from_pool[DANE_CHAIN_MAX + 1]; /* -1: changed or raw */
	for (unsigned i = 0; i < count; i++) {
		uint8_t how = next(&in);
		if (how % 4 == 3) {
			size_t len;
			const uint8_t *raw = take(&in, MAX_RAW, &len);
			owned[i] = xmalloc(len + 1);
			memcpy(owned[i], raw, len);
			chain[i] = (gnutls_datum_t){owned[i], (unsigned)len};
			from_pool[i] = -1;
			continue;
		}
		int k = next(&in) % POOL;
		const gnutls_datum_t *der = &pool[k].der;
		owned[i] = xmalloc(der->size);
		memcpy(owned[i], der->data, der->size);
		chain[i] = (gnutls_datum_t){owned[i], der->size};
		from_pool[i] = k;
		if (how % 4 == 1) { /* one byte changed */
			size_t at = (next(&in) | (size_t)next(&in) << 8) %
			            der->size;
			owned[i][at] ^= (uint8_t)(next(&in) | 1);
			from_pool[i] = -1;
		} else if (how % 4 == 2) { /* cut short */
			chain[i].size = (unsigned)((next(&in) | (size_t)next(&in)
			                                                 << 8) %
			                           der->size);
			from_pool[i] = -1;
		}
	}

	/* the records */
	size_t n = next(&in) % (MAX_RECORDS + 1);
	struct dane_tlsa records[MAX_RECORDS];
	for (size_t i = 0; i < n; i++) {
		struct dane_tlsa *r = &records[i];
		uint8_t usage = next(&in), selector = next(&in),
		        mtype = next(&in), source = next(&in);
		/* mostly the usable values, now and then anything */
		r->usage = usage & 0x80 ? usage : 2 + (usage & 1);
		r->selector = selector & 0x80 ? selector : selector & 1;
		r->mtype = mtype & 0x80 ? mtype : mtype % 3;
		if (source & 0x80 || r->selector > 1 || r->mtype > 2) {
			size_t len;
			const uint8_t *raw = take(&in, 80, &len);
			r->data = xmalloc(len + 1);
			memcpy(r->data, raw, len);
			r->len = len;
			continue;
		}
		const struct pooled *c = &pool[source % POOL];
		const gnutls_datum_t *src = r->selector == 0 ? &c->der : &c->spki;
		r->len = r->mtype == 0 ? src->size : r->mtype == 1 ? 32 : 64;
		r->data = xmalloc(r->len);
		if (r->mtype == 0)
			memcpy(r->data, src->data, r->len);
		else
			gnutls_hash_fast(r->mtype == 1 ? GNUTLS_DIG_SHA256
			                               : GNUTLS_DIG_SHA512,
			                 src->data, src->size, r->data);
	}

	/* dane_usable against the reference table */
	struct dane_tlsa_set set = {0};
	size_t want = 0;
	for (size_t i = 0; i < n; i++) {
		want += usable_reference(&records[i]);
		char *text = dane_tlsa_describe(&records[i]);
		if (strlen(text) < 6 || strlen(text) > 12 + 2 * records[i].len)
			abort();
		free(text);
	}
	if (dane_usable(records, n, &set) != n - want || set.count != want)
		abort();

	/* names and time */
	static const char *const choices[] = {
		"mx.example.org", "mail.provider.net", "MX.EXAMPLE.ORG.",
		"*.example.org",  "",                  "other.example",
		".",              "example.org",
	};
	const char *names[3];
	size_t name_count = next(&in) % 4;
	for (size_t i = 0; i < name_count; i++)
		names[i] = choices[next(&in) % 8];
	static const time_t offsets[] = {0, -40 * DAY, 5 * DAY, 100 * DAY};
	time_t now = pool_now + offsets[next(&in) % 4];

	struct err e = ERR_INIT;
	char *matched = NULL;
	int rc = dane_verify_chain(&set, chain, count, names, name_count, now,
	                           "peer", next(&in) & 1 ? "owner" : NULL,
	                           &matched, &e);

	bool pool_only = true;
	for (unsigned i = 0; i < count; i++)
		pool_only = pool_only && from_pool[i] >= 0;
	if (set.count == 0) {
		if (rc != EX_SOFTWARE || matched)
			abort();
	} else if (rc == EX_OK) {
		if (!matched || e.msg ||
		    (strncmp(matched, "DANE-EE(3) ", 11) != 0 &&
		     strncmp(matched, "DANE-TA(2) ", 11) != 0))
			abort();
		if (pool_only) {
			/* soundness */
			bool ee = matched[5] == 'E', found = false;
			for (size_t i = 0; i < set.count && !found; i++) {
				const struct dane_tlsa *r = &set.items[i];
				if (r->usage != (ee ? 3 : 2))
					continue;
				for (unsigned k = ee ? 0 : 1;
				     k < (ee ? 1 : count) && !found; k++)
					found = record_names(
					        r, &pool[from_pool[k]]);
			}
			if (!found)
				abort();
		}
	} else if (rc == EX_NOPERM) {
		if (matched || !e.msg || !*e.msg)
			abort();
		/* completeness for DANE-EE */
		if (count >= 1 && count <= DANE_CHAIN_MAX && pool_only) {
			for (size_t i = 0; i < set.count; i++)
				if (set.items[i].usage == 3 &&
				    record_names(&set.items[i],
				                 &pool[from_pool[0]]))
					abort();
		}
	} else {
		abort();
	}

	free(matched);
	err_clear(&e);
	dane_tlsa_set_free(&set);
	for (size_t i = 0; i < n; i++)
		free(records[i].data);
	for (unsigned i = 0; i < count; i++)
		free(owned[i]);
	return 0;
}
