/* test_dkim_record.c - DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2):
 * the tag-list syntax (RFC 6376 3.2), records of keys generated here with
 * GnuTLS (RSA 768, 1024 and 2048, Ed25519, an ECDSA key where RSA is
 * expected), revoked and broken ones, every tag's rules, folding white
 * space; whether a record publishes the configured key (also the record
 * dkim_dns_record prints), and the test signature with RSA and Ed25519,
 * passing and failing. Keys live in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base64.h"
#include "buf.h"
#include "dkim.h"
#include "dkim_record.h"
#include "err.h"

/* A message holds no control character. */
static void assert_clean(const char *msg)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character in '%s'", msg);
}

/* ---- keys made for the tests --------------------------------------------- */

static char tmpdir[] = "/tmp/test_dkim_record.XXXXXX";

/* key files and their public halves (base64 of p=) */
enum { RSA1024, RSA2048, RSA2048_OTHER, ED25519, ED25519_OTHER, KEYS };
static const struct {
	const char *file, *type;
	unsigned bits;
} key_specs[KEYS] = {
	{"rsa1024.pem", "rsa", 1024},
	{"rsa2048.pem", "rsa", 2048},
	{"rsa2048-other.pem", "rsa", 2048},
	{"ed25519.pem", "ed25519", 0},
	{"ed25519-other.pem", "ed25519", 0},
};
static char *key_path[KEYS];
static char *key_p[KEYS];  /* base64 of the SPKI DER / raw Ed25519 key */
static char *rsa768_p;     /* base64 of a 768-bit RSA SPKI */
static char *ecdsa_p;      /* base64 of a P-256 ECDSA SPKI */
static char *ed25519_spki_p; /* base64 of an Ed25519 SPKI */

/* The public half of x: SPKI DER (raw: the Ed25519 key alone), base64. */
static char *public_base64(gnutls_x509_privkey_t x, bool raw)
{
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	gnutls_datum_t out = {NULL, 0};
	gnutls_ecc_curve_t curve;
	assert_true(gnutls_privkey_init(&priv) >= 0);
	assert_true(gnutls_privkey_import_x509(priv, x, 0) >= 0);
	assert_true(gnutls_pubkey_init(&pub) >= 0);
	assert_true(gnutls_pubkey_import_privkey(pub, priv, 0, 0) >= 0);
	if (raw)
		assert_true(gnutls_pubkey_export_ecc_raw2(pub, &curve, &out,
		                                          NULL, 0) >= 0);
	else
		assert_true(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER,
		                                  &out) >= 0);
	struct buf b = BUF_INIT;
	base64_encode(out.data, out.size, &b);
	gnutls_free(out.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	return buf_steal(&b);
}

static char *generated_public(gnutls_pk_algorithm_t algo, unsigned bits,
                              bool raw)
{
	gnutls_x509_privkey_t x;
	assert_true(gnutls_x509_privkey_init(&x) >= 0);
	int ret = gnutls_x509_privkey_generate(x, algo, bits, 0);
	if (ret < 0)
		fail_msg("GnuTLS cannot generate the key: %s",
		         gnutls_strerror(ret));
	char *p = public_base64(x, raw);
	gnutls_x509_privkey_deinit(x);
	return p;
}

/* The public half of a key file, as p= publishes it. */
static char *file_public(const char *path, bool raw)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char pem[8192];
	size_t n = fread(pem, 1, sizeof pem, f);
	fclose(f);
	gnutls_x509_privkey_t x;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)n};
	assert_true(gnutls_x509_privkey_init(&x) >= 0);
	assert_true(gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_PEM,
	                                        NULL, 0) >= 0);
	char *p = public_base64(x, raw);
	gnutls_x509_privkey_deinit(x);
	return p;
}

static int setup_keys(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	for (int i = 0; i < KEYS; i++) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s", tmpdir, key_specs[i].file);
		struct err e = ERR_INIT;
		if (dkim_keygen(key_specs[i].type, key_specs[i].bits, path.data,
		                &e) != EX_OK) {
			fprintf(stderr, "dkim_keygen: %s\n", err_msg(&e));
			return -1;
		}
		key_path[i] = buf_steal(&path);
		key_p[i] = file_public(key_path[i], i >= ED25519);
	}
	/* GnuTLS makes an RSA-768 key on request (DKIM never would) */
	rsa768_p = generated_public(GNUTLS_PK_RSA, 768, false);
	ecdsa_p = generated_public(
	        GNUTLS_PK_ECDSA,
	        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), false);
	ed25519_spki_p = generated_public(
	        GNUTLS_PK_EDDSA_ED25519,
	        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), false);
	return 0;
}

static int teardown_keys(void **state)
{
	(void)state;
	for (int i = 0; i < KEYS; i++) {
		if (key_path[i])
			unlink(key_path[i]);
		free(key_path[i]);
		free(key_p[i]);
	}
	free(rsa768_p);
	free(ecdsa_p);
	free(ed25519_spki_p);
	rmdir(tmpdir);
	return 0;
}

/* printf into a heap string */
static char *text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b);
}

/* tmpl with every "%s" replaced by key (the tables' templates are data,
 * not formats). */
static char *with_key(const char *tmpl, const char *key)
{
	struct buf b = BUF_INIT;
	for (const char *t = tmpl; *t;) {
		const char *at = strstr(t, "%s");
		size_t n = at ? (size_t)(at - t) : strlen(t);
		buf_add(&b, t, n);
		if (!at)
			break;
		buf_add_str(&b, key);
		t = at + 2;
	}
	return buf_steal(&b);
}

/* base64 of the bare RSAPublicKey inside an RSA SPKI (base64). */
static char *bare_rsa_public_key(const char *spki_base64)
{
	struct buf der = BUF_INIT, out = BUF_INIT;
	assert_int_equal(base64_decode(spki_base64, strlen(spki_base64), &der),
	                 0);
	const unsigned char *d = (const unsigned char *)der.data;
	/* SEQUENCE header, AlgorithmIdentifier (15 octets), BIT STRING
	 * header, the unused-bits octet */
	size_t at = 2 + (d[1] & 0x80 ? (d[1] & 0x7f) : 0);
	at += 15;
	assert_int_equal(d[at], 0x03);
	at += 2 + (d[at + 1] & 0x80 ? (d[at + 1] & 0x7f) : 0);
	assert_int_equal(d[at], 0x00);
	at++;
	assert_int_equal(d[at], 0x30);
	base64_encode(d + at, der.len - at, &out);
	buf_free(&der);
	return buf_steal(&out);
}

/* s with FWS put in every few characters: " ", "\t", "\r\n ". */
static char *folded(const char *s)
{
	static const char *const fws[] = {" ", "\t", "\r\n ", "  \r\n\t"};
	struct buf b = BUF_INIT;
	for (size_t i = 0; s[i]; i++) {
		if (i && i % 7 == 0)
			buf_add_str(&b, fws[(i / 7) % 4]);
		buf_add_char(&b, s[i]);
	}
	return buf_steal(&b);
}

/* ---- the tag-list -------------------------------------------------------- */

struct tag_list_case {
	const char *text;
	const char *tags; /* "name=value|name=value", or NULL: refused */
	size_t bad_at;    /* refused: where */
};

static const struct tag_list_case tag_list_cases[] = {
	{"", "", 0},
	{"  ", "", 0},
	{"a=1", "a=1", 0},
	{"a=1;", "a=1", 0},
	{"a=1; ", "a=1", 0},
	{" a = 1 ; b=2", "a=1|b=2", 0},
	{"a=;b=", "a=|b=", 0},
	{"a=x y\tz ;", "a=x y\tz", 0},
	{"a=1;\r\n b=2", "a=1|b=2", 0},
	{"a=1\r\n\t;b=x\r\n y", "a=1|b=x\r\n y", 0},
	{"n_1=2;Z9=a=b", "n_1=2|Z9=a=b", 0},
	{"a=~!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}", "a=~!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}", 0},
	{";", NULL, 0},
	{"a=1;;b=2", NULL, 4},
	{"a", NULL, 1},
	{"a b=1", NULL, 2},
	{"=1", NULL, 0},
	{"1a=1", NULL, 0},
	{"_a=1", NULL, 0},
	{"a-b=1", NULL, 1},
	{"a=1\r\nb=2", NULL, 3},  /* CRLF without WSP is no FWS */
	{"a=1\n b=2", NULL, 3},
	{"a=\x7f", NULL, 2},
	{"a=\xc3\xa9", NULL, 2},
	{"a=1 ;x", NULL, 6},
};

static void test_tag_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof tag_list_cases / sizeof *tag_list_cases;
	     i++) {
		const struct tag_list_case *c = &tag_list_cases[i];
		struct dkim_tag *tags;
		size_t count, where;
		int rc = dkim_tag_list_read(c->text, strlen(c->text), false,
		                            &tags, &count, &where);
		if (!c->tags) {
			if (rc != -1)
				fail_msg("'%s' accepted", c->text);
			assert_null(tags);
			assert_int_equal(count, 0);
			if (where != c->bad_at)
				fail_msg("'%s': at %zu, expected %zu", c->text,
				         where, c->bad_at);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' refused at %zu", c->text, where);
		struct buf got = BUF_INIT;
		for (size_t t = 0; t < count; t++) {
			buf_add_str(&got, t ? "|" : "");
			buf_add(&got, tags[t].name, tags[t].name_len);
			buf_add_char(&got, '=');
			buf_add(&got, tags[t].value, tags[t].value_len);
		}
		if (strcmp(buf_str(&got), c->tags) != 0)
			fail_msg("'%s' read as '%s'", c->text, buf_str(&got));
		buf_free(&got);
		free(tags);
	}
}

static void test_tag_list_duplicates(void **state)
{
	(void)state;
	struct dkim_tag *tags;
	size_t count, where;
	const char *t = "a=1; b=2; A=3";
	assert_int_equal(dkim_tag_list_read(t, strlen(t), false, &tags, &count,
	                                    &where), 0);
	assert_int_equal(count, 3);
	free(tags);
	/* DMARC folds case */
	assert_int_equal(dkim_tag_list_read(t, strlen(t), true, &tags, &count,
	                                    &where), -2);
	assert_true(where == 0 || where == 2);
	free(tags);
	t = "a=1; b=2; c=3; b=4";
	assert_int_equal(dkim_tag_list_read(t, strlen(t), false, &tags, &count,
	                                    &where), -2);
	assert_int_equal(count, 4);
	assert_true(where == 1 || where == 3);
	free(tags);
	/* a tag that starts like another is another */
	t = "ab=1; a=2; abc=3";
	assert_int_equal(dkim_tag_list_read(t, strlen(t), false, &tags, &count,
	                                    &where), 0);
	free(tags);
	/* quoting for messages */
	struct buf q = BUF_INIT;
	dkim_tag_quote("a\tb\x01", 4, &q);
	assert_string_equal(buf_str(&q), "\"a\\x09b\\x01\"");
	buf_reset(&q);
	char longv[100];
	memset(longv, 'x', sizeof longv);
	dkim_tag_quote(longv, sizeof longv, &q);
	assert_int_equal(q.len, DKIM_RECORD_QUOTE_MAX + 5);
	assert_non_null(strstr(buf_str(&q), "...\""));
	buf_free(&q);
}

/* ---- parsing records ----------------------------------------------------- */

static void parse_ok(const char *record, struct dkim_record *r)
{
	struct err e = ERR_INIT;
	if (dkim_record_parse(record, strlen(record), r, &e) != EX_OK)
		fail_msg("'%.80s...': %s", record, err_msg(&e));
}

static void parse_refused(const char *record, const char *why)
{
	struct dkim_record r;
	struct err e = ERR_INIT;
	if (dkim_record_parse(record, strlen(record), &r, &e) != EX_DATAERR)
		fail_msg("'%.80s' accepted", record);
	if (!strstr(err_msg(&e), why))
		fail_msg("'%.80s': '%s' lacks '%s'", record, err_msg(&e), why);
	assert_non_null(strstr(err_msg(&e), "RFC "));
	assert_clean(err_msg(&e));
	assert_null(r.p);
	assert_int_equal(r.p_len, 0);
	assert_null(r.h);
	assert_null(r.s);
	dkim_record_free(&r);
	err_clear(&e);
}

struct key_case {
	const char *fmt; /* %s: the key's p= */
	int key;         /* key_p index; -1: rsa768, -2: bare RSA 2048 */
	enum dkim_record_key k;
	unsigned bits;
	size_t p_len;
};

static void test_parse_keys(void **state)
{
	(void)state;
	char *bare = bare_rsa_public_key(key_p[RSA2048]);
	static const struct key_case cases[] = {
		{"v=DKIM1; k=rsa; p=%s", RSA2048, DKIM_RECORD_RSA, 2048, 294},
		{"v=DKIM1; p=%s", RSA2048, DKIM_RECORD_RSA, 2048, 294},
		{"p=%s", RSA1024, DKIM_RECORD_RSA, 1024, 162},
		{"k=rsa; p=%s", -1, DKIM_RECORD_RSA, 768, 126},
		{"v=DKIM1; k=rsa; p=%s", -2, DKIM_RECORD_RSA, 2048, 270},
		{"v=DKIM1; k=ed25519; p=%s", ED25519, DKIM_RECORD_ED25519, 256,
		 32},
		{"v=DKIM1;k=ed25519;p=%s;", ED25519_OTHER, DKIM_RECORD_ED25519,
		 256, 32},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct key_case *c = &cases[i];
		const char *p = c->key == -1   ? rsa768_p
		                : c->key == -2 ? bare
		                               : key_p[c->key];
		char *record = with_key(c->fmt, p);
		struct dkim_record r;
		parse_ok(record, &r);
		assert_int_equal(r.k, c->k);
		if (r.bits != c->bits || r.p_len != c->p_len)
			fail_msg("'%s': %u bits, %zu octets", c->fmt, r.bits,
			         r.p_len);
		assert_false(r.testing);
		assert_false(r.strict);
		assert_null(r.h);
		assert_null(r.s);
		/* the decoded key is what was published */
		struct buf raw = BUF_INIT;
		assert_int_equal(base64_decode(p, strlen(p), &raw), 0);
		assert_int_equal(raw.len, r.p_len);
		assert_memory_equal(raw.data, r.p, r.p_len);
		buf_free(&raw);
		dkim_record_free(&r);
		/* the same with FWS all through p= */
		char *fold = folded(p);
		char *folded_record = with_key(c->fmt, fold);
		parse_ok(folded_record, &r);
		assert_int_equal(r.bits, c->bits);
		assert_int_equal(r.p_len, c->p_len);
		dkim_record_free(&r);
		free(fold);
		free(folded_record);
		free(record);
	}
	free(bare);
}

static void test_parse_tags(void **state)
{
	(void)state;
	struct dkim_record r;
	char *rec;

	/* revoked: p= empty */
	parse_ok("v=DKIM1; k=rsa; p=", &r);
	assert_int_equal(r.k, DKIM_RECORD_RSA);
	assert_null(r.p);
	assert_int_equal(r.p_len, 0);
	assert_int_equal(r.bits, 0);
	dkim_record_free(&r);
	parse_ok("v=DKIM1; k=ed25519; p= ;", &r);
	assert_int_equal(r.p_len, 0);
	assert_int_equal(r.bits, 0);
	dkim_record_free(&r);

	/* t= flags, h=, s=, n=, unknown tags */
	rec = text("v=DKIM1; h=sha1 : sha256; k=rsa; n=a note with = signs; "
	           "s=email:*; t=y:s; g=*; future_tag=?; p=%s",
	           key_p[RSA1024]);
	parse_ok(rec, &r);
	assert_true(r.testing);
	assert_true(r.strict);
	assert_string_equal(r.h, "sha1:sha256");
	assert_string_equal(r.s, "email:*");
	assert_int_equal(r.bits, 1024);
	dkim_record_free(&r);
	free(rec);

	static const struct {
		const char *t;
		bool testing, strict;
	} flags[] = {
		{"y", true, false},     {"s", false, true},
		{"s:y", true, true},    {"y:x-new:s", true, true},
		{"Y", false, false},    /* case-sensitive: an unknown flag */
		{"x", false, false},
	};
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
		rec = text("t=%s; k=ed25519; p=%s", flags[i].t, key_p[ED25519]);
		parse_ok(rec, &r);
		if (r.testing != flags[i].testing ||
		    r.strict != flags[i].strict)
			fail_msg("t=%s read as y=%d s=%d", flags[i].t,
			         r.testing, r.strict);
		dkim_record_free(&r);
		free(rec);
	}

	/* k= of a type outbox does not know: the record parses, its key is
	 * kept but not looked into */
	parse_ok("v=DKIM1; k=dsa; p=AAECAwQF", &r);
	assert_int_equal(r.k, DKIM_RECORD_UNKNOWN);
	assert_int_equal(r.p_len, 6);
	assert_int_equal(r.bits, 0);
	dkim_record_free(&r);
	parse_ok("k=RSA; p=AAECAwQF", &r); /* values are case-sensitive */
	assert_int_equal(r.k, DKIM_RECORD_UNKNOWN);
	dkim_record_free(&r);
	assert_string_equal(dkim_record_key_name(DKIM_RECORD_RSA), "rsa");
	assert_string_equal(dkim_record_key_name(DKIM_RECORD_ED25519),
	                    "ed25519");
	assert_string_equal(dkim_record_key_name(DKIM_RECORD_UNKNOWN),
	                    "unknown");
}

struct refusal {
	const char *fmt; /* %s: the key */
	int key;         /* key_p index; -1 none; -3 ecdsa; -4 ed25519 spki */
	const char *why;
};

static void test_parse_refused(void **state)
{
	(void)state;
	static const struct refusal cases[] = {
		{"v=DKIM1; k=rsa", -1, "has no p= tag"},
		{"", -1, "has no p= tag"},
		{"v=DKIM2; p=%s", RSA2048, "v=\"DKIM2\" is not DKIM1"},
		{"v=dkim1; p=%s", RSA2048, "v=\"dkim1\" is not DKIM1"},
		{"k=rsa; v=DKIM1; p=%s", RSA2048, "v= is not the first tag"},
		{"v=DKIM1; p=%s; p=%s", RSA2048, "p= appears more than once"},
		{"v=DKIM1; x=1; p=%s; x=2", RSA2048, "x= appears more than "
		 "once"},
		{"v=DKIM1;; p=%s", RSA2048, "not a list of tag=value"},
		{"v=DKIM1; p=%s; x-=1", RSA2048, "not a list of tag=value"},
		{"v=DKIM1; p=%s\x01", RSA2048, "not a list of tag=value"},
		{"v=DKIM1; k=; p=%s", RSA2048, "k=\"\" is not a key type"},
		{"v=DKIM1; k=rsa-; p=%s", RSA2048, "k=\"rsa-\" is not a key"},
		{"v=DKIM1; h=; p=%s", RSA2048, "h=\"\" is not a colon-separated"},
		{"v=DKIM1; h=sha256:; p=%s", RSA2048, "h=\"sha256:\""},
		{"v=DKIM1; h=sha 256; p=%s", RSA2048, "h=\"sha 256\""},
		{"v=DKIM1; s=*mail; p=%s", RSA2048, "s=\"*mail\""},
		{"v=DKIM1; t=y:; p=%s", RSA2048, "t=\"y:\" is not a colon"},
		{"v=DKIM1; t=*; p=%s", RSA2048, "t=\"*\""},
		/* p= that is not (canonical) base64 */
		{"v=DKIM1; p=%s!", RSA2048, "p= is not base64"},
		{"v=DKIM1; p=abc", -1, "p= is not base64"},
		{"v=DKIM1; p=ab==c", -1, "p= is not base64"},
		{"v=DKIM1; p=QR==", -1, "p= is not base64"}, /* padding bits */
		/* RSA p= that is no RSA key */
		{"v=DKIM1; p=AAECAwQF", -1, "holds no RSA public key"},
		{"v=DKIM1; p=MAA=", -1, "holds no RSA public key"},
		{"v=DKIM1; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", -1,
		 "holds no RSA public key"},
		{"v=DKIM1; k=rsa; p=%s", -3, "holds a key of type EC"},
		{"v=DKIM1; p=%s", ED25519, "holds no RSA public key"},
		/* Ed25519 p= of the wrong size, or an SPKI */
		{"v=DKIM1; k=ed25519; p=%s", RSA2048, "holds 294 octets; an "
		 "Ed25519 key is 32"},
		{"v=DKIM1; k=ed25519; p=AAECAwQF", -1, "holds 6 octets"},
		{"v=DKIM1; k=ed25519; p=%s", -4, "holds an Ed25519 "
		 "SubjectPublicKeyInfo"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct refusal *c = &cases[i];
		const char *p = c->key >= 0    ? key_p[c->key]
		                : c->key == -3 ? ecdsa_p
		                : c->key == -4 ? ed25519_spki_p
		                               : "";
		char *rec = with_key(c->fmt, p);
		parse_refused(rec, c->why);
		free(rec);
	}
	/* an RSA SPKI with octets after it */
	struct buf der = BUF_INIT, b64 = BUF_INIT;
	assert_int_equal(base64_decode(key_p[RSA1024], strlen(key_p[RSA1024]),
	                               &der), 0);
	buf_add(&der, "\0\0\0", 3);
	base64_encode(der.data, der.len, &b64);
	char *rec = text("p=%s", buf_str(&b64));
	parse_refused(rec, "holds no RSA public key");
	free(rec);
	/* or cut short */
	buf_reset(&b64);
	base64_encode(der.data, der.len - 10, &b64);
	rec = text("p=%s", buf_str(&b64));
	parse_refused(rec, "holds no RSA public key");
	free(rec);
	buf_free(&der);
	buf_free(&b64);
	/* too long for a TXT record */
	struct buf big = BUF_INIT;
	buf_add_str(&big, "v=DKIM1; n=");
	while (big.len <= DKIM_RECORD_MAX)
		buf_add_char(&big, 'a');
	struct dkim_record r;
	struct err e = ERR_INIT;
	assert_int_equal(dkim_record_parse(big.data, big.len, &r, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "longer than"));
	err_clear(&e);
	buf_free(&big);
	/* a NUL is no value character */
	assert_int_equal(dkim_record_parse("p=\0", 3, &r, &e), EX_DATAERR);
	err_clear(&e);
}

/* ---- against the configured key ------------------------------------------ */

struct match_case {
	int record_key; /* key_p index; -2: the bare RSAPublicKey of RSA2048;
	                 * -5: revoked rsa; -6: k=dsa */
	int key;        /* key_path index */
	bool same;
	const char *description;
};

static char *record_of(int record_key)
{
	if (record_key == -2) {
		char *bare = bare_rsa_public_key(key_p[RSA2048]);
		char *rec = text("v=DKIM1; k=rsa; p=%s", bare);
		free(bare);
		return rec;
	}
	if (record_key == -5)
		return text("v=DKIM1; k=rsa; p=");
	if (record_key == -6)
		return text("v=DKIM1; k=dsa; p=AAECAwQF");
	return text("v=DKIM1; k=%s; p=%s",
	            record_key >= ED25519 ? "ed25519" : "rsa",
	            key_p[record_key]);
}

static void test_matches_key(void **state)
{
	(void)state;
	static const struct match_case cases[] = {
		{RSA2048, RSA2048, true, "RSA 2048"},
		{RSA1024, RSA1024, true, "RSA 1024"},
		{-2, RSA2048, true, "RSA 2048"},
		{ED25519, ED25519, true, "Ed25519"},
		{RSA2048, RSA2048_OTHER, false, "RSA 2048"},
		{RSA1024, RSA2048, false, "RSA 2048"},
		{ED25519, ED25519_OTHER, false, "Ed25519"},
		{ED25519, RSA2048, false, "RSA 2048"},
		{RSA2048, ED25519, false, "Ed25519"},
		{-5, RSA2048, false, "RSA 2048"},
		{-6, RSA1024, false, "RSA 1024"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct match_case *c = &cases[i];
		char *rec = record_of(c->record_key);
		struct dkim_record r;
		parse_ok(rec, &r);
		bool same = !c->same;
		char *description = NULL;
		struct err e = ERR_INIT;
		assert_int_equal(dkim_record_matches_key(&r, key_path[c->key],
		                                         &same, &description,
		                                         &e),
		                 EX_OK);
		if (same != c->same)
			fail_msg("case %zu: same = %d", i, same);
		assert_string_equal(description, c->description);
		free(description);
		dkim_record_free(&r);
		free(rec);
	}
	/* a key file that cannot be loaded */
	struct dkim_record r;
	char *rec = record_of(RSA2048);
	parse_ok(rec, &r);
	bool same = true;
	char *description = (char *)"x";
	struct err e = ERR_INIT;
	char *missing = text("%s/missing.pem", tmpdir);
	assert_int_equal(dkim_record_matches_key(&r, missing, &same,
	                                         &description, &e),
	                 EX_CONFIG);
	assert_false(same);
	assert_null(description);
	assert_non_null(strstr(err_msg(&e), "missing.pem"));
	err_clear(&e);
	free(missing);
	dkim_record_free(&r);
	free(rec);
}

/* The record dkim_dns_record prints publishes the key it was made from. */
static void test_matches_dns_record(void **state)
{
	(void)state;
	for (int i = 0; i < KEYS; i++) {
		struct buf zone = BUF_INIT, txt = BUF_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(dkim_dns_record(key_path[i], "sel",
		                                 "example.com", &zone, &e),
		                 EX_OK);
		/* join the zone line's character-strings */
		const char *s = buf_str(&zone);
		for (const char *q = strchr(s, '"'); q; q = strchr(q, '"')) {
			const char *end = strchr(q + 1, '"');
			assert_non_null(end);
			buf_add(&txt, q + 1, (size_t)(end - q - 1));
			q = end + 1;
		}
		struct dkim_record r;
		parse_ok(buf_str(&txt), &r);
		bool same = false;
		char *description = NULL;
		assert_int_equal(dkim_record_matches_key(&r, key_path[i], &same,
		                                         &description, &e),
		                 EX_OK);
		assert_true(same);
		assert_int_equal(dkim_record_verify_test_signature(
		                         &r, key_path[i], &e),
		                 EX_OK);
		free(description);
		dkim_record_free(&r);
		buf_free(&zone);
		buf_free(&txt);
	}
}

/* ---- the test signature -------------------------------------------------- */

struct signature_case {
	const char *fmt; /* %s: the record key's p=, or NULL: record_of */
	int record_key;
	int key;
	int rc;
	const char *why;
};

static void test_signature(void **state)
{
	(void)state;
	static const struct signature_case cases[] = {
		{NULL, RSA2048, RSA2048, EX_OK, NULL},
		{NULL, RSA1024, RSA1024, EX_OK, NULL},
		{NULL, -2, RSA2048, EX_OK, NULL},
		{NULL, ED25519, ED25519, EX_OK, NULL},
		{"v=DKIM1; h=sha256; s=email; t=y; p=%s", RSA2048, RSA2048,
		 EX_OK, NULL},
		{"v=DKIM1; k=ed25519; h=sha1:sha256; s=*; p=%s", ED25519,
		 ED25519, EX_OK, NULL},
		/* another key of the same type */
		{NULL, RSA2048, RSA2048_OTHER, EX_DATAERR,
		 "does not verify with the published key"},
		{NULL, RSA1024, RSA2048, EX_DATAERR, "does not verify"},
		{"p=%s", -1, RSA1024, EX_DATAERR, "does not verify"},
		{NULL, ED25519_OTHER, ED25519, EX_DATAERR,
		 "a test signature (ed25519-sha256) by the configured key "
		 "does not verify"},
		/* no use trying */
		{NULL, -5, RSA2048, EX_DATAERR, "revoked"},
		{NULL, -6, RSA2048, EX_DATAERR, "k= names a key type"},
		{NULL, ED25519, RSA2048, EX_DATAERR,
		 "k=ed25519 does not match the configured RSA 2048 key"},
		{NULL, RSA2048, ED25519, EX_DATAERR,
		 "k=rsa does not match the configured Ed25519 key"},
		{"v=DKIM1; h=sha1; p=%s", RSA2048, RSA2048, EX_DATAERR,
		 "h=sha1 does not allow sha256"},
		{"v=DKIM1; s=tlsrpt; p=%s", RSA2048, RSA2048, EX_DATAERR,
		 "s=tlsrpt does not include email"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct signature_case *c = &cases[i];
		char *rec = c->fmt ? with_key(c->fmt, c->record_key == -1
		                                              ? rsa768_p
		                                              : key_p[c->record_key])
		                   : record_of(c->record_key);
		struct dkim_record r;
		parse_ok(rec, &r);
		struct err e = ERR_INIT;
		int rc = dkim_record_verify_test_signature(&r, key_path[c->key],
		                                           &e);
		if (rc != c->rc)
			fail_msg("case %zu: %d (%s)", i, rc, err_msg(&e));
		if (c->why && !strstr(err_msg(&e), c->why))
			fail_msg("case %zu: '%s' lacks '%s'", i, err_msg(&e),
			         c->why);
		assert_clean(err_msg(&e));
		err_clear(&e);
		dkim_record_free(&r);
		free(rec);
	}
	/* the key file cannot be loaded */
	struct dkim_record r;
	char *rec = record_of(ED25519);
	parse_ok(rec, &r);
	struct err e = ERR_INIT;
	assert_int_equal(dkim_record_verify_test_signature(&r, "/nonexistent",
	                                                   &e),
	                 EX_CONFIG);
	err_clear(&e);
	dkim_record_free(&r);
	free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_list),
		cmocka_unit_test(test_tag_list_duplicates),
		cmocka_unit_test(test_parse_keys),
		cmocka_unit_test(test_parse_tags),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_matches_key),
		cmocka_unit_test(test_matches_dns_record),
		cmocka_unit_test(test_signature),
	};
	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
