/* dane.c - DANE TLSA records for SMTP; see dane.h. */
#include "dane.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tls_trust.h"
#include "util.h"

/* ---- which records are usable ----------------------------------------- */

static bool usable(const struct dane_tlsa *r)
{
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP;
	 * RFC 7671 4.1: unknown parameters, or data that cannot be what
	 * the matching type says, make a record unusable. */
	if (r->usage != DANE_USAGE_DANE_TA && r->usage != DANE_USAGE_DANE_EE)
		return false;
	if (r->selector != DANE_SELECTOR_CERT &&
	    r->selector != DANE_SELECTOR_SPKI)
		return false;
	if (!r->data)
		return false;
	switch (r->mtype) {
	case DANE_MTYPE_FULL:
		return r->len > 0;
	case DANE_MTYPE_SHA2_256:
		return r->len == DANE_SHA2_256_LEN;
	case DANE_MTYPE_SHA2_512:
		return r->len == DANE_SHA2_512_LEN;
	default:
		return false;
	}
}

size_t dane_usable(const struct dane_tlsa *in, size_t n,
		   struct dane_tlsa_set *out)
{
	size_t keep = 0;
	for (size_t i = 0; i < n; i++)
		keep += usable(&in[i]);
	if (keep) {
		out->items = xrealloc(out->items,
		                      (out->count + keep) * sizeof *out->items);
		for (size_t i = 0; i < n; i++) {
			if (!usable(&in[i]))
				continue;
			struct dane_tlsa *copy = &out->items[out->count++];
			*copy = in[i];
			copy->data = xmalloc(in[i].len);
			memcpy(copy->data, in[i].data, in[i].len);
		}
	}
	return n - keep;
}

void dane_tlsa_set_free(struct dane_tlsa_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->items[i].data);
	free(s->items);
	*s = (struct dane_tlsa_set){0};
}

/* ---- describing records ----------------------------------------------- */

char *dane_tlsa_describe(const struct dane_tlsa *r)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%u %u %u ", r->usage, r->selector, r->mtype);
	char *hex = xmalloc(2 * r->len + 1);
	hex_encode(r->data, r->len, hex);
	buf_add_str(&b, hex);
	free(hex);
	return buf_steal(&b);
}

/* RFC 7218's acronyms: "DANE-EE(3) SPKI(1) SHA2-256(1)". */
static void describe_kind(const struct dane_tlsa *r, struct buf *out)
{
	static const char *const usages[] = {"PKIX-TA", "PKIX-EE", "DANE-TA",
	                                     "DANE-EE"};
	static const char *const selectors[] = {"Cert", "SPKI"};
	static const char *const mtypes[] = {"Full", "SHA2-256", "SHA2-512"};
	buf_printf(out, "%s(%u) %s(%u) %s(%u)",
	           r->usage < 4 ? usages[r->usage] : "usage", r->usage,
	           r->selector < 2 ? selectors[r->selector] : "selector",
	           r->selector, r->mtype < 3 ? mtypes[r->mtype] : "matching",
	           r->mtype);
}

/* ---- one presented certificate ---------------------------------------- */

struct presented {
	const gnutls_datum_t *der;
	gnutls_x509_crt_t crt;
	/* its SubjectPublicKeyInfo inside der, NULL when not found */
	const unsigned char *spki;
	size_t spki_len;
	/* digests of [selector][mtype - 1], made on first use */
	unsigned char digest[2][2][DANE_SHA2_512_LEN];
	bool digested[2][2];
};

/* The length of the DER TLV at p (n bytes available), header included,
 * or 0 when it is not one with a definite length that fits. */
static size_t der_tlv_size(const unsigned char *p, size_t n)
{
	if (n < 2)
		return 0;
	size_t len = p[1], header = 2;
	if (len & 0x80) {
		size_t bytes = len & 0x7f;
		if (bytes == 0 || bytes > sizeof(uint32_t) || n < 2 + bytes)
			return 0;
		len = 0;
		for (size_t i = 0; i < bytes; i++)
			len = len << 8 | p[2 + i];
		header += bytes;
	}
	return len <= n - header ? header + len : 0;
}

/* RFC 5280 4.1: subjectPublicKeyInfo follows the subject in the
 * tbsCertificate. Its bytes as sent, not GnuTLS's re-encoding of the key
 * (RFC 6698 2.1.2: the DER of the SubjectPublicKeyInfo "of the
 * certificate"), so a record made from the certificate always matches. */
static void find_spki(struct presented *p)
{
	struct tls_trust_name issuer, subject;
	const unsigned char *der = p->der->data;
	if (!tls_trust_cert_names(der, p->der->size, &issuer, &subject))
		return;
	const unsigned char *at = subject.der + subject.len;
	size_t left = p->der->size - (size_t)(at - der);
	size_t size = der_tlv_size(at, left);
	if (size && at[0] == 0x30 /* SEQUENCE */) {
		p->spki = at;
		p->spki_len = size;
	}
}

/* The bytes a record's selector picks from the certificate, or NULL. */
static const unsigned char *selected(const struct presented *p,
				     uint8_t selector, size_t *len)
{
	if (selector == DANE_SELECTOR_CERT) {
		*len = p->der->size;
		return p->der->data;
	}
	*len = p->spki_len;
	return p->spki;
}

/* The selected bytes' digest of matching type mtype (SHA2-256 or
 * SHA2-512), computed once per certificate; NULL when there are none. */
static const unsigned char *digest_of(struct presented *p, uint8_t selector,
				      uint8_t mtype)
{
	size_t len;
	const unsigned char *data = selected(p, selector, &len);
	unsigned char *digest = p->digest[selector][mtype - 1];
	if (!data)
		return NULL;
	if (!p->digested[selector][mtype - 1]) {
		gnutls_digest_algorithm_t alg = mtype == DANE_MTYPE_SHA2_256
		                                        ? GNUTLS_DIG_SHA256
		                                        : GNUTLS_DIG_SHA512;
		if (gnutls_hash_fast(alg, data, len, digest) < 0)
			return NULL;
		p->digested[selector][mtype - 1] = true;
	}
	return digest;
}

/* r is usable (usable()). */
static bool record_matches(const struct dane_tlsa *r, struct presented *p)
{
	if (r->mtype == DANE_MTYPE_FULL) {
		size_t len;
		const unsigned char *data = selected(p, r->selector, &len);
		return data && len == r->len &&
		       memcmp(data, r->data, len) == 0;
	}
	const unsigned char *digest = digest_of(p, r->selector, r->mtype);
	return digest && memcmp(digest, r->data, r->len) == 0;
}

static char *subject_of(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = {NULL, 0};
	if (gnutls_x509_crt_get_dn3(crt, &d, 0) != 0)
		return xstrdup("(no subject)");
	char *s = xstrndup(d.data ? (const char *)d.data : "", d.size);
	gnutls_free(d.data);
	return s;
}

static void format_time(time_t t, struct buf *out)
{
	struct tm tm;
	char text[32];
	if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
	    !strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm))
		buf_add_str(out, "an unknown date");
	else
		buf_add_str(out, text);
}

/* ---- DANE-TA(2): the chain up to the matched certificate -------------- */

/* The chain verifies with certs[anchor] as its one trust anchor, through
 * the certificates sent before it in the order sent (RFC 5246 7.4.2: each
 * certifies the one before it; RFC 8446 4.4.2 keeps that order as the
 * norm): the path is then exactly certs[0..anchor], whose dates
 * certificates_current() checks, and no certificate can be slipped in
 * that is not on it. GnuTLS's trust list checks the signatures, the CA
 * constraints and the purpose; its own time checks use the clock, so
 * they are off here. */
static bool chain_verifies(struct presented *certs, unsigned anchor,
			   struct buf *why)
{
	gnutls_x509_trust_list_t list;
	gnutls_x509_crt_t ta;
	if (gnutls_x509_trust_list_init(&list, 0) < 0)
		die_out_of_memory();
	if (gnutls_x509_crt_init(&ta) < 0)
		die_out_of_memory();
	/* the list owns what it is given (deinit with all = 1) */
	int r = gnutls_x509_crt_import(ta, certs[anchor].der,
	                               GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = gnutls_x509_trust_list_add_cas(list, &ta, 1, 0);
	if (r < 1) {
		gnutls_x509_crt_deinit(ta); /* not added: still ours */
		gnutls_x509_trust_list_deinit(list, 1);
		buf_printf(why, "it cannot be used as a trust anchor%s%s",
		           r < 0 ? ": " : "", r < 0 ? gnutls_strerror(r) : "");
		return false;
	}
	gnutls_x509_crt_t crts[DANE_CHAIN_MAX];
	for (unsigned i = 0; i <= anchor; i++)
		crts[i] = certs[i].crt;
	gnutls_typed_vdata_st purpose = {
		GNUTLS_DT_KEY_PURPOSE_OID,
		(unsigned char *)GNUTLS_KP_TLS_WWW_SERVER,
		0,
	};
	unsigned status = 0;
	r = gnutls_x509_trust_list_verify_crt2(
	        list, crts, anchor + 1, &purpose, 1,
	        GNUTLS_VERIFY_DO_NOT_ALLOW_UNSORTED_CHAIN |
	                GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
	                GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
	        &status, NULL);
	gnutls_x509_trust_list_deinit(list, 1);
	if (r < 0) {
		buf_printf(why, "the chain cannot be verified: %s",
		           gnutls_strerror(r));
		return false;
	}
	if (status == 0)
		return true;
	gnutls_datum_t text = {NULL, 0};
	buf_add_str(why, "the chain does not verify to it");
	if (gnutls_certificate_verification_status_print(
	            status, GNUTLS_CRT_X509, &text, 0) == 0 &&
	    text.data) {
		size_t n = text.size;
		while (n && (text.data[n - 1] == ' ' || text.data[n - 1] == '.'))
			n--;
		buf_add_str(why, ": ");
		buf_add(why, text.data, n);
	}
	gnutls_free(text.data);
	return false;
}

/* Every certificate below the anchor is within its validity period. */
static bool certificates_current(struct presented *certs, unsigned anchor,
				 time_t now, struct buf *why)
{
	for (unsigned i = 0; i < anchor; i++) {
		time_t from = gnutls_x509_crt_get_activation_time(certs[i].crt);
		time_t until = gnutls_x509_crt_get_expiration_time(certs[i].crt);
		if (from != (time_t)-1 && until != (time_t)-1 && from <= now &&
		    now <= until)
			continue;
		char *subject = subject_of(certs[i].crt);
		buf_printf(why, "%s %s ", subject,
		           now < from ? "is not valid before" : "expired on");
		format_time(now < from ? from : until, why);
		free(subject);
		return false;
	}
	return true;
}

/* The leaf is valid for one of names (RFC 7672 3.2.2, 3.2.3). */
static bool leaf_named(gnutls_x509_crt_t leaf, const char *const *names,
		       size_t name_count, struct buf *why)
{
	for (size_t i = 0; i < name_count; i++) {
		if (!names[i] || !*names[i])
			continue;
		char *name = xstrdup(names[i]);
		size_t len = strlen(name);
		if (name[len - 1] == '.')
			name[len - 1] = '\0';
		bool ok = *name && gnutls_x509_crt_check_hostname2(
		                           leaf, name,
		                           GNUTLS_VERIFY_DO_NOT_ALLOW_IP_MATCHES);
		free(name);
		if (ok)
			return true;
	}
	char *subject = subject_of(leaf);
	buf_add_str(why, "the certificate is not valid for ");
	size_t shown = 0;
	for (size_t i = 0; i < name_count; i++) {
		if (!names[i] || !*names[i])
			continue;
		buf_printf(why, "%s%s", shown++ ? " or " : "", names[i]);
	}
	if (!shown)
		buf_add_str(why, "any name: none was given");
	buf_printf(why, " (its subject is %s)", subject);
	free(subject);
	return false;
}

/* ---- the verdict ------------------------------------------------------ */

struct chain_view {
	struct presented certs[DANE_CHAIN_MAX];
	unsigned count;
};

static void chain_view_free(struct chain_view *v)
{
	for (unsigned i = 0; i < v->count; i++)
		if (v->certs[i].crt)
			gnutls_x509_crt_deinit(v->certs[i].crt);
}

static int chain_view_load(struct chain_view *v, const gnutls_datum_t *chain,
			   unsigned count, const char *peer, struct err *e)
{
	if (count == 0 || !chain)
		return err_set(e, EX_NOPERM,
		               "the server %s presented no TLS certificate",
		               peer);
	if (count > DANE_CHAIN_MAX)
		return err_set(e, EX_NOPERM,
		               "the server %s presented %u TLS certificates, "
		               "more than the %d that DANE verification "
		               "examines",
		               peer, count, DANE_CHAIN_MAX);
	for (unsigned i = 0; i < count; i++) {
		struct presented *p = &v->certs[i];
		p->der = &chain[i];
		if (gnutls_x509_crt_init(&p->crt) < 0)
			die_out_of_memory();
		v->count = i + 1;
		int r = gnutls_x509_crt_import(p->crt, p->der,
		                               GNUTLS_X509_FMT_DER);
		if (r < 0)
			return err_set(e, EX_NOPERM,
			               "TLS certificate %u of %s cannot be "
			               "parsed: %s",
			               i + 1, peer, gnutls_strerror(r));
		find_spki(p);
	}
	return EX_OK;
}

/* Whether r matches: the leaf for DANE-EE, an issuer the chain verifies
 * to for DANE-TA. *anchor gets the matched certificate's depth; why the
 * first reason a DANE-TA match did not hold. */
static bool record_holds(const struct dane_tlsa *r, struct chain_view *v,
			 const char *const *names, size_t name_count,
			 time_t now, unsigned *anchor, struct buf *why)
{
	if (r->usage == DANE_USAGE_DANE_EE)
		return record_matches(r, &v->certs[0]);
	for (unsigned i = 1; i < v->count; i++) {
		if (!record_matches(r, &v->certs[i]))
			continue;
		struct buf reason = BUF_INIT;
		bool ok = chain_verifies(v->certs, i, &reason) &&
		          certificates_current(v->certs, i, now, &reason) &&
		          leaf_named(v->certs[0].crt, names, name_count,
		                     &reason);
		if (ok) {
			*anchor = i;
		} else if (why->len == 0) {
			char *subject = subject_of(v->certs[i].crt);
			buf_add_str(why, "a ");
			describe_kind(r, why);
			buf_printf(why, " record matches its certificate %u "
			                "(%s), but %s",
			           i + 1, subject, buf_str(&reason));
			free(subject);
		}
		buf_free(&reason);
		if (ok)
			return true;
	}
	return false;
}

static char *describe_match(const struct dane_tlsa *r,
			    const struct chain_view *v, unsigned anchor)
{
	struct buf b = BUF_INIT;
	describe_kind(r, &b);
	if (r->usage == DANE_USAGE_DANE_TA) {
		char *subject = subject_of(v->certs[anchor].crt);
		buf_printf(&b, ", trust anchor %s", subject);
		free(subject);
	}
	return buf_steal(&b);
}

/* When no DANE-TA record came close: the leaf's "3 1 1" record, what an
 * operator compares with the published ones. */
static void describe_leaf(struct presented *leaf, struct buf *why)
{
	const unsigned char *digest =
	        digest_of(leaf, DANE_SELECTOR_SPKI, DANE_MTYPE_SHA2_256);
	if (!digest)
		return;
	struct dane_tlsa probe = {DANE_USAGE_DANE_EE, DANE_SELECTOR_SPKI,
	                          DANE_MTYPE_SHA2_256, (unsigned char *)digest,
	                          DANE_SHA2_256_LEN};
	char *text = dane_tlsa_describe(&probe);
	buf_printf(why, "its certificate's key is %s", text);
	free(text);
}

int dane_verify_chain(const struct dane_tlsa_set *set,
		      const gnutls_datum_t *chain, unsigned count,
		      const char *const *names, size_t name_count, time_t now,
		      const char *peer, const char *owner, char **matched,
		      struct err *e)
{
	if (!set || set->count == 0)
		return err_set(e, EX_SOFTWARE,
		               "no TLSA records to verify %s with", peer);
	struct chain_view v = {0};
	int rc = chain_view_load(&v, chain, count, peer, e);
	struct buf why = BUF_INIT;
	for (size_t i = 0; rc == EX_OK && i < set->count; i++) {
		const struct dane_tlsa *r = &set->items[i];
		unsigned anchor = 0;
		if (!usable(r) ||
		    !record_holds(r, &v, names, name_count, now, &anchor, &why))
			continue;
		if (matched)
			*matched = describe_match(r, &v, anchor);
		buf_free(&why);
		chain_view_free(&v);
		return EX_OK;
	}
	if (rc == EX_OK) {
		if (why.len == 0)
			describe_leaf(&v.certs[0], &why);
		err_set(e, EX_NOPERM,
		        "the TLS certificate of %s matches none of its %zu TLSA "
		        "record%s%s%s%s%s%s",
		        peer, set->count, set->count == 1 ? "" : "s",
		        owner ? " (" : "", owner ? owner : "", owner ? ")" : "",
		        why.len ? ": " : "", buf_str(&why));
		rc = EX_NOPERM;
	}
	buf_free(&why);
	chain_view_free(&v);
	return rc;
}
