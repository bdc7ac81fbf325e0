/* test_sasl.c - SASL mechanisms against the RFCs' test vectors, 334
 * challenges, and the mechanism choice (base64 itself: test_base64.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "sasl.h"

/* ---- 334 challenges --------------------------------------------------- */

static void test_decode_challenge(void **state)
{
	(void)state;
	static const struct {
		const char *reply_text;
		int rc;
		const char *decoded;
	} cases[] = {
		{"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", 0,
		 "<1896.697170952@postoffice.reston.mci.net>"},
		{"VXNlcm5hbWU6   ", 0, "Username:"},
		{"VXNlcm5hbWU6\nmore text", 0, "Username:"},
		{"", 0, ""},
		{"   ", 0, ""},
		{"  VXNlcm5hbWU6", -1, NULL},
		{"VXNlcm5hbWU6\t", -1, NULL},
		{"Zh==", -1, NULL},
		{"Authentication required", -1, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf out = BUF_INIT;
		buf_add_str(&out, "keep:");
		int rc = sasl_decode_challenge(cases[i].reply_text,
		                               strlen(cases[i].reply_text),
		                               &out);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d", i, rc);
		if (rc == 0)
			assert_string_equal(buf_str(&out) + 5,
			                    cases[i].decoded);
		else
			assert_string_equal(buf_str(&out), "keep:");
		buf_free(&out);
	}
}

/* The server's words in our messages: printable, bounded (a hostile
 * server's 64 KiB challenge decodes to 48 KiB of "status"). */
static void test_describe_oauth_status(void **state)
{
	(void)state;
	static const char gmail[] =
	        "{\"status\":\"400\",\"schemes\":\"Bearer\","
	        "\"scope\":\"https://mail.google.com/\"}";
	static const struct {
		const char *status;
		size_t len;
		const char *shown;
	} cases[] = {
		{gmail, sizeof gmail - 1, gmail},
		{"{\n \"status\":\t\"401\"\r\n}", 21,
		 "{  \"status\": \"401\"  }"},
		{"\x1b[2J\xff\x7f\0x", 8, " [2J?? x"},
		{"", 0, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf out = BUF_INIT;
		sasl_describe_oauth_status(cases[i].status, cases[i].len, &out);
		assert_string_equal(buf_str(&out), cases[i].shown);
		buf_free(&out);
	}
	char big[2000];
	memset(big, 'x', sizeof big);
	struct buf out = BUF_INIT;
	sasl_describe_oauth_status(big, sizeof big, &out);
	assert_int_equal(strspn(buf_str(&out), "x"), SASL_MAX_SHOWN_TEXT);
	assert_string_equal(buf_str(&out) + SASL_MAX_SHOWN_TEXT,
	                    " [... 1488 more bytes]");
	buf_free(&out);
}

/* ---- PLAIN, CRAM-MD5, OAuth ------------------------------------------ */

static void test_plain_message(void **state)
{
	(void)state;
	struct buf raw = BUF_INIT, enc = BUF_INIT;
	sasl_plain_message("user", "password", &raw);
	assert_int_equal(raw.len, 14);
	assert_memory_equal(raw.data, "\0user\0password", 14);
	base64_encode(raw.data, raw.len, &enc);
	assert_string_equal(buf_str(&enc), "AHVzZXIAcGFzc3dvcmQ=");
	buf_free(&raw);
	buf_free(&enc);
}

static void test_cram_md5_rfc2195(void **state)
{
	(void)state;
	/* RFC 2195 section 2, the example exchange */
	static const char challenge[] =
	        "<1896.697170952@postoffice.reston.mci.net>";
	struct buf challenge_dec = BUF_INIT, raw = BUF_INIT, enc = BUF_INIT;
	static const char challenge_b64[] =
	        "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
	assert_int_equal(base64_decode(challenge_b64,
	                                    strlen(challenge_b64),
	                                    &challenge_dec),
	                 0);
	assert_string_equal(buf_str(&challenge_dec), challenge);
	sasl_cram_md5_message("tim", "tanstaaftanstaaf", challenge,
	                      strlen(challenge), &raw);
	assert_string_equal(buf_str(&raw),
	                    "tim b913a602c7eda7a495b4e6e7334d3890");
	base64_encode(raw.data, raw.len, &enc);
	assert_string_equal(
	        buf_str(&enc),
	        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	buf_free(&challenge_dec);
	buf_free(&raw);
	buf_free(&enc);
}

static void test_xoauth2_message(void **state)
{
	(void)state;
	/* Google's XOAUTH2 documentation example */
	struct buf raw = BUF_INIT, enc = BUF_INIT;
	sasl_xoauth2_message("someuser@example.com",
	                     "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
	                     &raw);
	base64_encode(raw.data, raw.len, &enc);
	static const char want[] =
	        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5"
	        "LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
	assert_string_equal(buf_str(&enc), want);
	buf_free(&raw);
	buf_free(&enc);
}

static void test_oauthbearer_message(void **state)
{
	(void)state;
	/* RFC 7628 section 4.1 (port 587 here), and saslname escaping */
	struct buf raw = BUF_INIT;
	sasl_oauthbearer_message(
	        "user@example.com", "server.example.com", 587,
	        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", &raw);
	assert_string_equal(
	        buf_str(&raw),
	        "n,a=user@example.com,\001host=server.example.com"
	        "\001port=587\001auth=Bearer "
	        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001");
	buf_reset(&raw);
	sasl_oauthbearer_message("a=b,c", "h", 25, "t", &raw);
	assert_string_equal(buf_str(&raw),
	                    "n,a=a=3Db=2Cc,\001host=h\001port=25"
	                    "\001auth=Bearer t\001\001");
	buf_free(&raw);
}

/* ---- SCRAM ------------------------------------------------------------ */

struct scram_vector {
	bool sha256;
	const char *nonce, *client_first, *server_first, *client_final,
	        *server_final;
};

static const struct scram_vector scram_vectors[] = {
	/* RFC 5802 section 5 */
	{false, "fyko+d2lbbFgONRv9qkxdawL",
	 "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	 "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	 "i=4096",
	 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	 "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	 "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
	/* RFC 7677 section 3 */
	{true, "rOprNGfwEbeRWgbNEkqO", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
};

static void test_scram_rfc_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof scram_vectors / sizeof scram_vectors[0];
	     i++) {
		const struct scram_vector *v = &scram_vectors[i];
		struct err e = ERR_INIT;
		struct buf out = BUF_INIT;
		struct sasl_scram *st = sasl_scram_new(v->sha256);
		assert_int_equal(sasl_scram_client_first(st, "user", v->nonce,
		                                         &out, &e),
		                 EX_OK);
		assert_string_equal(buf_str(&out), v->client_first);
		buf_reset(&out);
		assert_int_equal(sasl_scram_client_final(
		                         st, "pencil", v->server_first,
		                         strlen(v->server_first), &out, &e),
		                 EX_OK);
		assert_string_equal(buf_str(&out), v->client_final);
		assert_int_equal(sasl_scram_check_server_final(
		                         st, v->server_final,
		                         strlen(v->server_final), &e),
		                 EX_OK);
		sasl_scram_free(st);
		buf_free(&out);
		err_clear(&e);
	}
}

/* Run a SCRAM-SHA-256 exchange up to the server-first message. */
static int scram_first_two(const char *server_first, struct sasl_scram **st,
			   struct err *e)
{
	struct buf out = BUF_INIT;
	*st = sasl_scram_new(true);
	sasl_scram_client_first(*st, "user", "rOprNGfwEbeRWgbNEkqO", &out, e);
	buf_reset(&out);
	int rc = sasl_scram_client_final(*st, "pencil", server_first,
	                                 strlen(server_first), &out, e);
	buf_free(&out);
	return rc;
}

static void test_scram_rejects_bad_server_first(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		int code;
	} cases[] = {
		/* a nonce that does not extend ours (a replayed exchange) */
		{"r=XXXXNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		 EX_PROTOCOL},
		/* the server's nonce adds nothing */
		{"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		 EX_PROTOCOL},
		/* a mandatory extension we do not know */
		{"m=ext,r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
		 "i=4096",
		 EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,i=4096", EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		 EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=***,i=4096", EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		 EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
		 EX_PROTOCOL},
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k",
		 EX_PROTOCOL},
		/* an iteration count meant to burn our CPU */
		{"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
		 "i=999999999",
		 EX_PROTOCOL},
		{"", EX_PROTOCOL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct err e = ERR_INIT;
		struct sasl_scram *st;
		assert_int_equal(scram_first_two(cases[i].msg, &st, &e),
		                 cases[i].code);
		assert_non_null(e.msg);
		sasl_scram_free(st);
		err_clear(&e);
	}
}

static void test_scram_rejects_bad_server_signature(void **state)
{
	(void)state;
	const struct scram_vector *v = &scram_vectors[1];
	static const char *const finals[] = {
		/* the SHA-1 vector's signature: right form, wrong value */
		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		/* one bit off */
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=",
		/* the same bytes, encoded with a stray padding bit */
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
		"v=",
		"v=!!!!",
		"",
		"x=1",
	};
	for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
		struct err e = ERR_INIT;
		struct sasl_scram *st;
		assert_int_equal(scram_first_two(v->server_first, &st, &e),
		                 EX_OK);
		assert_int_equal(sasl_scram_check_server_final(
		                         st, finals[i], strlen(finals[i]), &e),
		                 EX_NOPERM);
		assert_non_null(strstr(err_msg(&e), "signature"));
		sasl_scram_free(st);
		err_clear(&e);
	}
	/* e= is the server's refusal, reported with its reason */
	struct err e = ERR_INIT;
	struct sasl_scram *st;
	assert_int_equal(scram_first_two(v->server_first, &st, &e), EX_OK);
	assert_int_equal(
	        sasl_scram_check_server_final(st, "e=invalid-proof", 15, &e),
	        EX_NOPERM);
	assert_non_null(strstr(err_msg(&e), "invalid-proof"));
	sasl_scram_free(st);
	err_clear(&e);
	/* ... printable and bounded, whatever the server sent */
	char why[2048] = "e=\x1b[2J";
	memset(why + 6, 'x', sizeof why - 7);
	assert_int_equal(scram_first_two(v->server_first, &st, &e), EX_OK);
	assert_int_equal(sasl_scram_check_server_final(st, why, strlen(why),
	                                               &e),
	                 EX_NOPERM);
	assert_non_null(strstr(err_msg(&e), ":  [2Jxxx"));
	assert_non_null(strstr(err_msg(&e), " more bytes]"));
	assert_true(strlen(err_msg(&e)) < SASL_MAX_SHOWN_TEXT + 100);
	sasl_scram_free(st);
	err_clear(&e);
	/* no signature computed yet: never "verified" */
	st = sasl_scram_new(true);
	assert_int_equal(sasl_scram_check_server_final(st, v->server_final,
	                                               strlen(v->server_final),
	                                               &e),
	                 EX_NOPERM);
	sasl_scram_free(st);
	err_clear(&e);
}

static void test_scram_random_nonce_and_escaping(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct sasl_scram *s1 = sasl_scram_new(true),
	                  *s2 = sasl_scram_new(true);
	assert_int_equal(sasl_scram_client_first(s1, "a=b,c", NULL, &a, &e),
	                 EX_OK);
	assert_int_equal(sasl_scram_client_first(s2, "a=b,c", NULL, &b, &e),
	                 EX_OK);
	assert_true(strncmp(buf_str(&a), "n,,n=a=3Db=2Cc,r=", 17) == 0);
	assert_int_equal(a.len, 17 + 24);
	assert_string_not_equal(buf_str(&a), buf_str(&b));
	assert_null(strchr(buf_str(&a) + 17, ','));
	sasl_scram_free(s1);
	sasl_scram_free(s2);
	/* control characters in the user name or password are refused */
	buf_reset(&a);
	s1 = sasl_scram_new(false);
	assert_int_equal(sasl_scram_client_first(s1, "us\ter", "n", &a, &e),
	                 EX_CONFIG);
	sasl_scram_free(s1);
	err_clear(&e);
	struct sasl_scram *st;
	const struct scram_vector *v = &scram_vectors[1];
	assert_int_equal(scram_first_two(v->server_first, &st, &e), EX_OK);
	sasl_scram_free(st);
	st = sasl_scram_new(true);
	buf_reset(&a);
	sasl_scram_client_first(st, "user", "rOprNGfwEbeRWgbNEkqO", &a, &e);
	buf_reset(&a);
	assert_int_equal(
	        sasl_scram_client_final(st, "pen\ncil", v->server_first,
	                                strlen(v->server_first), &a, &e),
	        EX_CONFIG);
	assert_int_equal(a.len, 0);
	sasl_scram_free(st);
	buf_free(&a);
	buf_free(&b);
	err_clear(&e);
}

/* ---- mechanism choice ------------------------------------------------- */

struct choice_case {
	const char *server; /* AUTH list, NULL: none announced */
	const char *auth;
	bool encrypted, client_cert;
	int rc;
	enum sasl_mech mech;
	bool warning;
};

static const struct choice_case choices[] = {
	/* auth on: the strongest both sides support */
	{"PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256", "on", true, false,
	 EX_OK, SASL_SCRAM_SHA_256, false},
	{"PLAIN LOGIN SCRAM-SHA-1", "on", true, false, EX_OK, SASL_SCRAM_SHA_1,
	 false},
	{"LOGIN PLAIN CRAM-MD5", "on", true, false, EX_OK, SASL_CRAM_MD5,
	 false},
	{"LOGIN PLAIN", "on", true, false, EX_OK, SASL_PLAIN, false},
	{"LOGIN", "on", true, false, EX_OK, SASL_LOGIN, false},
	{"  LOGIN   PLAIN ", "on", true, false, EX_OK, SASL_PLAIN, false},
	/* OAuth only when named; GSSAPI and the like are not ours */
	{"XOAUTH2 OAUTHBEARER", "on", true, false, EX_UNAVAILABLE, SASL_NONE,
	 false},
	{"GSSAPI NTLM", "on", true, false, EX_UNAVAILABLE, SASL_NONE, false},
	/* no AUTH at all */
	{NULL, "on", true, false, EX_UNAVAILABLE, SASL_NONE, false},
	{"", "on", false, false, EX_UNAVAILABLE, SASL_NONE, false},
	/* clear channel: password-revealing methods are withheld */
	{"PLAIN LOGIN", "on", false, false, EX_NOPERM, SASL_NONE, false},
	{"PLAIN LOGIN CRAM-MD5", "on", false, false, EX_OK, SASL_CRAM_MD5,
	 false},
	{"PLAIN SCRAM-SHA-256", "on", false, false, EX_OK, SASL_SCRAM_SHA_256,
	 false},
	/* ... unless named, then with a warning */
	{"PLAIN LOGIN", "plain", false, false, EX_OK, SASL_PLAIN, true},
	{"PLAIN LOGIN", "LOGIN", false, false, EX_OK, SASL_LOGIN, true},
	{"XOAUTH2", "xoauth2", false, false, EX_OK, SASL_XOAUTH2, true},
	{"PLAIN LOGIN", "plain", true, false, EX_OK, SASL_PLAIN, false},
	{"CRAM-MD5", "cram-md5", false, false, EX_OK, SASL_CRAM_MD5, false},
	/* named methods must be offered, and known */
	{"PLAIN LOGIN", "scram-sha-256", true, false, EX_UNAVAILABLE,
	 SASL_NONE, false},
	{"PLAIN GSSAPI", "gssapi", true, false, EX_CONFIG, SASL_NONE, false},
	{"XOAUTH2 OAUTHBEARER", "oauthbearer", true, false, EX_OK,
	 SASL_OAUTHBEARER, false},
	/* EXTERNAL: when named, or with a client certificate over TLS */
	{"PLAIN EXTERNAL", "external", true, false, EX_OK, SASL_EXTERNAL,
	 false},
	{"PLAIN EXTERNAL SCRAM-SHA-256", "on", true, true, EX_OK,
	 SASL_EXTERNAL, false},
	{"PLAIN EXTERNAL", "on", true, false, EX_OK, SASL_PLAIN, false},
	{"PLAIN SCRAM-SHA-1", "on", true, true, EX_OK, SASL_SCRAM_SHA_1,
	 false},
	{"EXTERNAL", "on", false, true, EX_UNAVAILABLE, SASL_NONE, false},
	/* off */
	{"PLAIN", "off", true, false, EX_OK, SASL_NONE, false},
	{"PLAIN", NULL, true, false, EX_OK, SASL_NONE, false},
};

static void test_choose_mech_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
		const struct choice_case *c = &choices[i];
		struct err e = ERR_INIT;
		enum sasl_mech mech = SASL_LOGIN;
		bool warning = !c->warning;
		int rc = sasl_choose_mech(c->server, c->auth, c->encrypted,
		                          c->client_cert, &mech, &warning, &e);
		if (rc != c->rc || mech != c->mech || warning != c->warning)
			fail_msg("case %zu (%s / %s): rc %d mech %s "
			         "warning %d: %s",
			         i, c->server ? c->server : "(null)",
			         c->auth ? c->auth : "(null)", rc,
			         sasl_mech_name(mech), warning, err_msg(&e));
		if (rc != EX_OK)
			assert_non_null(e.msg);
		err_clear(&e);
	}
}

static void test_choose_mech_messages(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	enum sasl_mech mech;
	bool warning;
	sasl_choose_mech("PLAIN LOGIN", "on", false, false, &mech, &warning,
	                 &e);
	assert_non_null(strstr(err_msg(&e), "not encrypted"));
	assert_non_null(strstr(err_msg(&e), "tls on"));
	sasl_choose_mech(NULL, "on", false, false, &mech, &warning, &e);
	assert_non_null(
	        strstr(err_msg(&e), "does not support authentication"));
	assert_non_null(strstr(err_msg(&e), "STARTTLS"));
	sasl_choose_mech(NULL, "on", true, false, &mech, &warning, &e);
	assert_null(strstr(err_msg(&e), "STARTTLS"));
	err_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_challenge),
		cmocka_unit_test(test_describe_oauth_status),
		cmocka_unit_test(test_plain_message),
		cmocka_unit_test(test_cram_md5_rfc2195),
		cmocka_unit_test(test_xoauth2_message),
		cmocka_unit_test(test_oauthbearer_message),
		cmocka_unit_test(test_scram_rfc_vectors),
		cmocka_unit_test(test_scram_rejects_bad_server_first),
		cmocka_unit_test(test_scram_rejects_bad_server_signature),
		cmocka_unit_test(test_scram_random_nonce_and_escaping),
		cmocka_unit_test(test_choose_mech_table),
		cmocka_unit_test(test_choose_mech_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
