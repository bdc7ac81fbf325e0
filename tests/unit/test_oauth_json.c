/* test_oauth_json.c - OAuth 2.0's JSON documents (oauth_json.h): token
 * replies, device authorization replies, the token store; what is
 * accepted, what is refused, and that no message quotes a token. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "oauth_json.h"

#define TOKEN "eyJ0eXAiOiJKV1QiLCJub25jZSI6IlNFQ1JFVCJ9.SECRETPAYLOAD.sig"

static void assert_clean_message(const struct err *e)
{
	const char *msg = err_msg(e);
	assert_true(*msg != '\0');
	for (const char *p = msg; *p; p++)
		assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	assert_null(strstr(msg, "SECRET"));
}

/* ---- token replies -------------------------------------------------------- */

static void test_token_reply_success(void **state)
{
	(void)state;
	static const char body[] =
	        "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/"
	        "SMTP.Send\",\"expires_in\":3599,\"ext_expires_in\":3599,"
	        "\"access_token\":\"" TOKEN "\",\"refresh_token\":\"0.AR-SECRET"
	        "REFRESH\",\"id_token\":\"x\",\"extra\":{\"a\":[1,{\"b\":null}]}}\n";
	struct oauth_token_reply r;
	struct err e = ERR_INIT;
	assert_int_equal(oauth_parse_token_reply(body, sizeof body - 1, &r, &e),
	                 EX_OK);
	assert_string_equal(r.access_token, TOKEN);
	assert_string_equal(r.refresh_token, "0.AR-SECRETREFRESH");
	assert_string_equal(r.token_type, "Bearer");
	assert_string_equal(r.scope, "https://outlook.office.com/SMTP.Send");
	assert_int_equal(r.expires_in, 3599);
	assert_null(r.error);
	assert_null(r.error_description);
	oauth_token_reply_free(&r);
	assert_null(r.access_token);
	assert_int_equal(r.expires_in, -1);
	oauth_token_reply_free(&r); /* twice is fine */

	/* the least: access_token and token_type (any case); expires_in as
	 * a string of digits (as some servers send it) */
	static const struct {
		const char *body;
		long expires_in;
	} cases[] = {
		{"{\"access_token\":\"a\",\"token_type\":\"bearer\"}", -1},
		{" {\"access_token\":\"a\",\"token_type\":\"BEARER\",\"expires_in\":"
		 "\"3600\"} \r\n",
		 3600},
		{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":0}",
		 0},
		{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
		 "null,\"refresh_token\":null,\"scope\":\"\"}",
		 -1},
		{"{\"access_token\":\"a b~\",\"token_type\":\"Bearer\",\"expires_in\":"
		 "316224000}",
		 316224000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rc = oauth_parse_token_reply(
		        cases[i].body, strlen(cases[i].body), &r, &e);
		if (rc != EX_OK)
			fail_msg("%s: %s", cases[i].body, err_msg(&e));
		assert_non_null(r.access_token);
		assert_null(r.refresh_token);
		assert_null(r.scope);
		assert_int_equal(r.expires_in, cases[i].expires_in);
		oauth_token_reply_free(&r);
	}
}

static void test_token_reply_error(void **state)
{
	(void)state;
	/* RFC 6749 5.2, RFC 8628 3.5; Microsoft's descriptions have line
	 * breaks (kept: the caller sanitizes) */
	static const struct {
		const char *body, *error, *description;
	} cases[] = {
		{"{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000: "
		 "revoked.\\r\\nTrace ID: 1\",\"error_codes\":[70000],"
		 "\"error_uri\":\"https://x\"}",
		 "invalid_grant", "AADSTS70000: revoked.\r\nTrace ID: 1"},
		{"{\"error\":\"authorization_pending\"}", "authorization_pending",
		 NULL},
		{"{\"error\":\"slow_down\",\"error_description\":null}", "slow_down",
		 NULL},
		/* an error wins over a token */
		{"{\"error\":\"access_denied\",\"access_token\":\"a\"}",
		 "access_denied", NULL},
		{"{\"error\":\"expired_token\",\"token_type\":5}", "expired_token",
		 NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct oauth_token_reply r;
		struct err e = ERR_INIT;
		int rc = oauth_parse_token_reply(cases[i].body,
		                                 strlen(cases[i].body), &r, &e);
		if (rc != EX_OK)
			fail_msg("%s: %s", cases[i].body, err_msg(&e));
		assert_string_equal(r.error, cases[i].error);
		if (cases[i].description)
			assert_string_equal(r.error_description,
			                    cases[i].description);
		else
			assert_null(r.error_description);
		assert_null(r.access_token);
		oauth_token_reply_free(&r);
	}
}

struct refusal {
	const char *body;
	const char *why; /* a part of the message */
};

static const struct refusal token_refusals[] = {
	{"", "empty or cut short"},
	{"   \n", "empty or cut short"},
	{"{\"access_token\":\"" TOKEN "\"", "cut short"},
	{"[1,2]", "not a JSON object"},
	{"\"" TOKEN "\"", "not a JSON object"},
	{"42", "empty or cut short"},
	{"null", "empty or cut short"},
	{"<html>SECRET</html>", "not valid JSON"},
	{"{\"access_token\":\"" TOKEN "\",}", "not valid JSON"},
	{"{\"access_token\":\"" TOKEN "\"} {}", "not valid JSON"},
	{"{\"access_token\":\"" TOKEN "\"} x", "not valid JSON"},
	{"/*c*/{}", "not valid JSON"},
	{"{\"a\":\"\xff\"}", "not valid JSON"},
	{"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", "not valid JSON"},
	{"{}", "neither an access_token nor an error"},
	{"{\"token_type\":\"Bearer\"}", "neither an access_token nor an error"},
	{"{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
	 "neither an access_token nor an error"},
	{"{\"access_token\":\"" TOKEN "\"}", "no token_type"},
	{"{\"access_token\":\"" TOKEN "\",\"token_type\":\"mac\"}",
	 "other than Bearer"},
	{"{\"access_token\":\"" TOKEN "\",\"token_type\":\"Bearer \"}",
	 "other than Bearer"},
	{"{\"access_token\":42,\"token_type\":\"Bearer\"}",
	 "\"access_token\" that is not a string"},
	{"{\"access_token\":[\"" TOKEN "\"],\"token_type\":\"Bearer\"}",
	 "\"access_token\" that is not a string"},
	{"{\"access_token\":\"SECRET\\u0000x\",\"token_type\":\"Bearer\"}",
	 "NUL character"},
	{"{\"access_token\":\"SECRET\\nx\",\"token_type\":\"Bearer\"}",
	 "RFC 6749 A.12"},
	{"{\"access_token\":\"SECRET\x01x\",\"token_type\":\"Bearer\"}",
	 "RFC 6749 A.12"},
	{"{\"access_token\":\"SECRET\\u007fx\",\"token_type\":\"Bearer\"}",
	 "RFC 6749 A.12"},
	{"{\"access_token\":\"SECRET\xc3\xa9\",\"token_type\":\"Bearer\"}",
	 "RFC 6749 A.12"},
	{"{\"access_token\":\"a\",\"refresh_token\":\"SECRET\\t\","
	 "\"token_type\":\"Bearer\"}",
	 "\"refresh_token\" with a character"},
	{"{\"access_token\":\"a\",\"refresh_token\":true,"
	 "\"token_type\":\"Bearer\"}",
	 "\"refresh_token\" that is not a string"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-1}",
	 "negative \"expires_in\""},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":3.5}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "3600.0}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "\"-5\"}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "\"\"}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "\" 5\"}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "true}",
	 "not a whole number"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "316224001}",
	 "larger than 316224000"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "99999999999999999999999}",
	 "larger than"},
	{"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
	 "\"99999999999999999999999999\"}",
	 "larger than"},
	{"{\"error\":7}", "\"error\" that is not a string"},
	{"{\"error\":\"x\",\"error_description\":[]}",
	 "\"error_description\" that is not a string"},
	{"{\"error\":\"x\\u0000y\"}", "NUL character"},
	/* an overlong form json-c lets through */
	{"{\"error\":\"x\xe0\x9f\x9f\"}", "not valid UTF-8"},
};

static void test_token_reply_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof token_refusals / sizeof *token_refusals;
	     i++) {
		const struct refusal *c = &token_refusals[i];
		struct oauth_token_reply r;
		struct err e = ERR_INIT;
		int rc = oauth_parse_token_reply(c->body, strlen(c->body), &r,
		                                 &e);
		if (rc != EX_PROTOCOL)
			fail_msg("%s: %d", c->body, rc);
		assert_int_equal(e.code, EX_PROTOCOL);
		if (!strstr(err_msg(&e), c->why))
			fail_msg("%s: '%s' lacks '%s'", c->body, err_msg(&e),
			         c->why);
		assert_non_null(strstr(err_msg(&e), "token endpoint's reply"));
		assert_clean_message(&e);
		assert_null(r.access_token);
		assert_null(r.error);
		err_clear(&e);
	}
}

static void test_limits(void **state)
{
	(void)state;
	/* OAUTH_JSON_MAX_TEXT bytes are fine, one more is not; a NUL byte
	 * is refused */
	struct buf b = BUF_INIT;
	buf_add_str(&b, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}");
	while (b.len < OAUTH_JSON_MAX_TEXT)
		buf_add_char(&b, ' ');
	struct oauth_token_reply r;
	struct err e = ERR_INIT;
	assert_int_equal(oauth_parse_token_reply(b.data, b.len, &r, &e), EX_OK);
	oauth_token_reply_free(&r);
	buf_add_char(&b, ' ');
	assert_int_equal(oauth_parse_token_reply(b.data, b.len, &r, &e),
	                 EX_PROTOCOL);
	assert_non_null(strstr(err_msg(&e), "larger than 65536 bytes"));
	err_clear(&e);
	buf_free(&b);
	static const char nul[] = "{\"access_token\":\"a\",\"token_type\":"
	                          "\"Bearer\"}\0";
	assert_int_equal(oauth_parse_token_reply(nul, sizeof nul - 1, &r, &e),
	                 EX_PROTOCOL);
	assert_non_null(strstr(err_msg(&e), "NUL byte"));
	err_clear(&e);
	/* the length is what counts, not a terminating NUL */
	static const char cut[] = "{\"access_token\":\"a\",\"token_type\":"
	                          "\"Bearer\"}garbage";
	assert_int_equal(oauth_parse_token_reply(cut, sizeof cut - 8, &r, &e),
	                 EX_OK);
	oauth_token_reply_free(&r);
}

/* ---- device replies -------------------------------------------------------- */

static void test_device_reply(void **state)
{
	(void)state;
	/* Microsoft */
	static const char ms[] =
	        "{\"user_code\":\"ABCD-EFGH\",\"device_code\":\"SECRETDEVICE\","
	        "\"verification_uri\":\"https://microsoft.com/devicelogin\","
	        "\"expires_in\":900,\"interval\":5,\"message\":\"To sign in, "
	        "use a web browser to open the page https://microsoft.com/"
	        "devicelogin and enter the code ABCD-EFGH to authenticate.\"}";
	struct oauth_device_reply r;
	struct err e = ERR_INIT;
	assert_int_equal(oauth_parse_device_reply(ms, sizeof ms - 1, &r, &e),
	                 EX_OK);
	assert_string_equal(r.device_code, "SECRETDEVICE");
	assert_string_equal(r.user_code, "ABCD-EFGH");
	assert_string_equal(r.verification_uri,
	                    "https://microsoft.com/devicelogin");
	assert_null(r.verification_uri_complete);
	assert_non_null(strstr(r.message, "ABCD-EFGH"));
	assert_int_equal(r.expires_in, 900);
	assert_int_equal(r.interval, 5);
	assert_null(r.error);
	oauth_device_reply_free(&r);
	assert_null(r.device_code);
	oauth_device_reply_free(&r);

	/* Google: verification_url; RFC 8628: the complete URI; the
	 * interval defaults to 5 */
	static const char google[] =
	        "{\"device_code\":\"AH-1\",\"user_code\":\"GQVQ-JKEC\","
	        "\"verification_url\":\"https://www.google.com/device\","
	        "\"verification_uri_complete\":\"https://www.google.com/device?"
	        "user_code=GQVQ-JKEC\",\"expires_in\":\"1800\"}";
	assert_int_equal(
	        oauth_parse_device_reply(google, sizeof google - 1, &r, &e),
	        EX_OK);
	assert_string_equal(r.verification_uri,
	                    "https://www.google.com/device");
	assert_string_equal(r.verification_uri_complete,
	                    "https://www.google.com/device?user_code=GQVQ-JKEC");
	assert_int_equal(r.expires_in, 1800);
	assert_int_equal(r.interval, OAUTH_DEFAULT_INTERVAL);
	assert_null(r.message);
	oauth_device_reply_free(&r);

	/* an error reply */
	static const char error[] = "{\"error\":\"invalid_client\","
	                            "\"error_description\":\"no such app\"}";
	assert_int_equal(oauth_parse_device_reply(error, sizeof error - 1, &r,
	                                          &e),
	                 EX_OK);
	assert_string_equal(r.error, "invalid_client");
	assert_string_equal(r.error_description, "no such app");
	assert_null(r.device_code);
	oauth_device_reply_free(&r);

	static const struct refusal refusals[] = {
		{"{\"user_code\":\"A\",\"verification_uri\":\"u\",\"expires_in\":1}",
		 "no device_code"},
		{"{\"device_code\":\"SECRET\",\"verification_uri\":\"u\","
		 "\"expires_in\":1}",
		 "no user_code"},
		{"{\"device_code\":\"SECRET\",\"user_code\":\"A\",\"expires_in\":1}",
		 "no verification_uri"},
		{"{\"device_code\":\"SECRET\",\"user_code\":\"A\","
		 "\"verification_uri\":\"u\"}",
		 "no expires_in"},
		{"{\"device_code\":\"SECRET\\u0001\",\"user_code\":\"A\","
		 "\"verification_uri\":\"u\",\"expires_in\":1}",
		 "\"device_code\" with a character"},
		{"{\"device_code\":\"SECRET\",\"user_code\":\"A\","
		 "\"verification_uri\":\"u\",\"expires_in\":1,\"interval\":-5}",
		 "negative \"interval\""},
		{"{\"device_code\":\"SECRET\",\"user_code\":1,"
		 "\"verification_uri\":\"u\",\"expires_in\":1}",
		 "\"user_code\" that is not a string"},
		{"[]", "not a JSON object"},
	};
	for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++) {
		int rc = oauth_parse_device_reply(
		        refusals[i].body, strlen(refusals[i].body), &r, &e);
		if (rc != EX_PROTOCOL)
			fail_msg("%s: %d", refusals[i].body, rc);
		if (!strstr(err_msg(&e), refusals[i].why))
			fail_msg("%s: '%s' lacks '%s'", refusals[i].body,
			         err_msg(&e), refusals[i].why);
		assert_non_null(strstr(err_msg(&e), "device authorization"));
		assert_clean_message(&e);
		assert_null(r.device_code);
		err_clear(&e);
	}
}

/* ---- the token store ---------------------------------------------------- */

static void test_store_round_trip(void **state)
{
	(void)state;
	const struct oauth_store full = {
		.token_endpoint = "https://login.microsoftonline.com/common/"
		                  "oauth2/v2.0/token",
		.client_id = "9e5f94bc-e8a4-4e73-b8be-63364c29d753",
		.scope = "https://outlook.office.com/SMTP.Send offline_access",
		.refresh_token = "0.AR-SECRET~_.-+/=",
		.access_token = TOKEN,
		.expires_at = 1700000000,
	};
	struct buf b = BUF_INIT;
	oauth_store_format(&full, &b);
	assert_string_equal(
	        buf_str(&b),
	        "{\"version\":1,\"token_endpoint\":\"https://login."
	        "microsoftonline.com/common/oauth2/v2.0/token\",\"client_id\":"
	        "\"9e5f94bc-e8a4-4e73-b8be-63364c29d753\",\"scope\":\"https://"
	        "outlook.office.com/SMTP.Send offline_access\",\"refresh_token\":"
	        "\"0.AR-SECRET~_.-+/=\",\"access_token\":\"" TOKEN "\","
	        "\"expires_at\":1700000000}\n");
	struct oauth_store s;
	struct err e = ERR_INIT;
	assert_int_equal(oauth_store_parse(b.data, b.len, &s, &e), EX_OK);
	assert_string_equal(s.token_endpoint, full.token_endpoint);
	assert_string_equal(s.client_id, full.client_id);
	assert_string_equal(s.scope, full.scope);
	assert_string_equal(s.refresh_token, full.refresh_token);
	assert_string_equal(s.access_token, full.access_token);
	assert_int_equal(s.expires_at, full.expires_at);
	oauth_store_free(&s);
	assert_null(s.refresh_token);
	oauth_store_free(&s);
	buf_wipe(&b);

	/* the least: a refresh token; texts with quotes, backslashes,
	 * control characters and non-UTF-8 bytes still make JSON */
	const struct oauth_store odd = {
		.client_id = "a\"b\\c\n\x01\x7f\xc3\xa9\xff/",
		.scope = "",
		.refresh_token = "r \"\\",
	};
	oauth_store_format(&odd, &b);
	assert_string_equal(buf_str(&b),
	                    "{\"version\":1,\"client_id\":\"a\\\"b\\\\c\\u000a"
	                    "\\u0001\x7f\xc3\xa9\\u00ff/\",\"refresh_token\":"
	                    "\"r \\\"\\\\\"}\n");
	assert_int_equal(oauth_store_parse(b.data, b.len, &s, &e), EX_OK);
	assert_string_equal(s.client_id, "a\"b\\c\n\x01\x7f\xc3\xa9\xc3\xbf/");
	assert_string_equal(s.refresh_token, "r \"\\");
	assert_null(s.scope);
	assert_null(s.access_token);
	assert_null(s.token_endpoint);
	assert_int_equal(s.expires_at, 0);
	oauth_store_free(&s);
	buf_wipe(&b);

	/* members it does not know are ignored; expires_at as digits */
	static const char extra[] = "{\"version\":1,\"refresh_token\":\"r\","
	                            "\"expires_at\":\"17\",\"future\":[{}]}";
	assert_int_equal(oauth_store_parse(extra, sizeof extra - 1, &s, &e),
	                 EX_OK);
	assert_int_equal(s.expires_at, 17);
	oauth_store_free(&s);
}

static void test_store_refused(void **state)
{
	(void)state;
	static const struct refusal refusals[] = {
		{"", "empty or cut short"},
		{"{\"refresh_token\":\"SECRET\"}", "has no version"},
		{"{\"version\":2,\"refresh_token\":\"SECRET\"}", "not of version 1"},
		{"{\"version\":\"1\",\"refresh_token\":\"SECRET\"}",
		 "not of version 1"},
		{"{\"version\":1.0,\"refresh_token\":\"SECRET\"}",
		 "not of version 1"},
		{"{\"version\":1}", "has neither a refresh_token nor"},
		{"{\"version\":1,\"refresh_token\":\"\"}",
		 "has neither a refresh_token nor"},
		{"{\"version\":1,\"refresh_token\":\"SECRET\\n\"}", "RFC 6749"},
		{"{\"version\":1,\"refresh_token\":\"r\",\"access_token\":"
		 "\"SECRET\\u0000\"}",
		 "NUL character"},
		{"{\"version\":1,\"refresh_token\":\"r\",\"expires_at\":-1}",
		 "negative \"expires_at\""},
		{"{\"version\":1,\"refresh_token\":\"r\",\"expires_at\":"
		 "10000000000}",
		 "larger than 9999999999"},
		{"{\"version\":1,\"refresh_token\":\"r\",\"client_id\":5}",
		 "\"client_id\" that is not a string"},
		{"{\"version\":1,\"refresh_token\":\"SECRET\"", "cut short"},
	};
	for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++) {
		struct oauth_store s;
		struct err e = ERR_INIT;
		int rc = oauth_store_parse(refusals[i].body,
		                           strlen(refusals[i].body), &s, &e);
		if (rc != EX_DATAERR)
			fail_msg("%s: %d", refusals[i].body, rc);
		if (!strstr(err_msg(&e), refusals[i].why))
			fail_msg("%s: '%s' lacks '%s'", refusals[i].body,
			         err_msg(&e), refusals[i].why);
		assert_non_null(strstr(err_msg(&e), "OAuth token store"));
		assert_clean_message(&e);
		assert_null(s.refresh_token);
		err_clear(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_reply_success),
		cmocka_unit_test(test_token_reply_error),
		cmocka_unit_test(test_token_reply_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_device_reply),
		cmocka_unit_test(test_store_round_trip),
		cmocka_unit_test(test_store_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
