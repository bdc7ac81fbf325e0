/* Unit tests for the pure parts of smtp.c, sanitize.c and log.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "sanitize.h"
#include "smtp.h"

static void test_reply_lines(void **state)
{
	static const struct {
		const char *line;
		int ok, code, last;
		size_t off;
	} cases[] = {
		{"250 OK", 0, 250, 1, 4},
		{"250-PIPELINING", 0, 250, 0, 4},
		{"354", 0, 354, 1, 3},
		{"550 5.1.1 <x@y>: no such user", 0, 550, 1, 4},
		{"220-mx ESMTP", 0, 220, 0, 4},
		{"25", -1, 0, 0, 0},
		{"", -1, 0, 0, 0},
		{"abc def", -1, 0, 0, 0},
		{"250_OK", -1, 0, 0, 0},
		{"150 not a valid class", -1, 0, 0, 0},
		{"650 not a valid class", -1, 0, 0, 0},
		{"2x0 OK", -1, 0, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int code = 0;
		bool last = false;
		size_t off = 0;
		int r = smtp_parse_reply_line(cases[i].line,
		                              strlen(cases[i].line), &code,
		                              &last, &off);
		assert_int_equal(r, cases[i].ok);
		if (r == 0) {
			assert_int_equal(code, cases[i].code);
			assert_int_equal(last, cases[i].last);
			assert_int_equal(off, cases[i].off);
		}
	}
}

static void test_caps(void **state)
{
	(void)state;
	struct smtp_caps caps = {0};
	smtp_parse_caps("mx.example greets you\nPIPELINING\nsize 1048576\n"
	                "8BITMIME\nAUTH PLAIN login\nAUTH=CRAM-MD5\nDSN\n"
	                "STARTTLS\nENHANCEDSTATUSCODES\nSMTPUTF8\nCHUNKING",
	                &caps);
	assert_true(caps.esmtp);
	assert_true(caps.pipelining);
	assert_true(caps.size);
	assert_int_equal(caps.size_limit, 1048576);
	assert_true(caps.eightbitmime);
	assert_true(caps.dsn);
	assert_true(caps.starttls);
	assert_true(caps.enhancedstatuscodes);
	assert_true(caps.smtputf8);
	assert_true(caps.chunking);
	assert_string_equal(caps.auth, "PLAIN LOGIN CRAM-MD5");
	/* A greeting line that looks like a keyword is not a capability. */
	smtp_parse_caps("STARTTLS\nSIZE", &caps);
	assert_false(caps.starttls);
	assert_true(caps.size);
	assert_int_equal(caps.size_limit, 0);
	/* A bare SIZE does not take the next line's number (RFC 1870:
	 * the argument is 1*20DIGIT on the same line). */
	smtp_parse_caps("x\nSIZE\n10 X", &caps);
	assert_true(caps.size);
	assert_int_equal(caps.size_limit, 0);
	smtp_parse_caps("x\nSIZE -1\nSIZE 99999999999999999999999", &caps);
	assert_int_equal(caps.size_limit, 0);
	/* Prefixes are not keywords. */
	smtp_parse_caps("x\nSTARTTLSX\nPIPELININGS", &caps);
	assert_false(caps.starttls);
	assert_false(caps.pipelining);
	smtp_caps_clear(&caps);
}

/* The AUTH list ends up in error messages and --serverinfo: only RFC 4422
 * mechanism names get in (an invariant tests/fuzz/fuzz_smtp_reply.c
 * checks). */
static void test_caps_auth_list(void **state)
{
	(void)state;
	static const struct {
		const char *ehlo;
		const char *auth; /* NULL: no AUTH line */
	} cases[] = {
		{"x\nAUTH PLAIN LOGIN", "PLAIN LOGIN"},
		{"x\nAUTH=login\tplain  xoauth2 ", "LOGIN PLAIN XOAUTH2"},
		{"x\nAUTH PLAIN\nAUTH=CRAM-MD5", "PLAIN CRAM-MD5"},
		{"x\nAUTH PLAIN \x1b[31mLOGIN\x1b[0m CRAM-MD5",
		 "PLAIN CRAM-MD5"},
		{"x\nAUTH SCRAM-SHA-256 \r X\x01 GS2-KRB5_PLUS",
		 "SCRAM-SHA-256 GS2-KRB5_PLUS"},
		{"x\nAUTH PLAIN A23456789012345678901 A2345678901234567890",
		 "PLAIN A2345678901234567890"},
		{"x\nAUTH", ""},
		{"x\nAUTH \x1b]0;title\x07", ""},
		{"x\nPIPELINING", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_caps caps = {0};
		smtp_parse_caps(cases[i].ehlo, &caps);
		if (!cases[i].auth)
			assert_null(caps.auth);
		else
			assert_string_equal(caps.auth, cases[i].auth);
		smtp_caps_clear(&caps);
	}
}

/* Feed lines to smtp_reply_add_line until one fails or ends the reply. */
static int collect_reply(const char *const *lines, size_t count,
                         struct smtp_reply *r, bool *done, struct err *e)
{
	int rc = EX_OK;
	*done = false;
	for (size_t i = 0; i < count && rc == EX_OK && !*done; i++)
		rc = smtp_reply_add_line(r, lines[i], strlen(lines[i]),
		                         "mx.example", done, e);
	return rc;
}

static void test_reply_assembly(void **state)
{
	(void)state;
	static const struct {
		const char *lines[4];
		int rc;
		bool done;
		int code;
		const char *text; /* or the error message part */
		const char *last;
	} cases[] = {
		{{"250-mx.example", "250-PIPELINING", "250 SIZE 100"}, EX_OK,
		 true, 250, "mx.example\nPIPELINING\nSIZE 100", "250 SIZE 100"},
		{{"354"}, EX_OK, true, 354, "", "354"},
		{{"334 "}, EX_OK, true, 334, "", "334 "},
		{{"250-mx.example"}, EX_OK, false, 250, "mx.example", ""},
		/* an empty first line is a line: the greeting stays first */
		{{"250-", "250 PIPELINING"}, EX_OK, true, 250, "\nPIPELINING",
		 "250 PIPELINING"},
		{{"250-a", "251 b"}, EX_PROTOCOL, false, 0,
		 "the server mx.example sent an invalid reply: '251 b'", NULL},
		{{"250-a", "hello"}, EX_PROTOCOL, false, 0, "'hello'", NULL},
		{{"25"}, EX_PROTOCOL, false, 0, "invalid reply: '25'", NULL},
		{{"\x1b[2J"}, EX_PROTOCOL, false, 0, "'\\x1b[2J'", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t count = 0;
		while (count < 4 && cases[i].lines[count])
			count++;
		struct smtp_reply r;
		struct err e = ERR_INIT;
		bool done;
		smtp_reply_init(&r);
		int rc = collect_reply(cases[i].lines, count, &r, &done, &e);
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(done, cases[i].done);
		if (rc == EX_OK) {
			assert_int_equal(r.code, cases[i].code);
			assert_string_equal(buf_str(&r.text), cases[i].text);
			assert_string_equal(buf_str(&r.last), cases[i].last);
			assert_int_equal(r.lines, count);
		} else if (!strstr(err_msg(&e), cases[i].text)) {
			fail_msg("case %zu: %s", i, err_msg(&e));
		}
		smtp_reply_free(&r);
		err_clear(&e);
	}
}

static void test_reply_limits(void **state)
{
	(void)state;
	struct smtp_reply r;
	struct err e = ERR_INIT;
	bool done = false;
	smtp_reply_init(&r);
	/* SMTP_MAX_REPLY_LINES lines: the last may end the reply ... */
	for (int i = 0; i < SMTP_MAX_REPLY_LINES - 1; i++)
		assert_int_equal(smtp_reply_add_line(&r, "250-x", 5, "mx",
		                                     &done, &e),
		                 EX_OK);
	assert_int_equal(smtp_reply_add_line(&r, "250 y", 5, "mx", &done, &e),
	                 EX_OK);
	assert_true(done);
	smtp_reply_free(&r);
	/* ... but not go on. */
	for (int i = 0; i < SMTP_MAX_REPLY_LINES - 1; i++)
		smtp_reply_add_line(&r, "250-x", 5, "mx", &done, &e);
	assert_int_equal(smtp_reply_add_line(&r, "250-x", 5, "mx", &done, &e),
	                 EX_PROTOCOL);
	assert_false(done);
	assert_non_null(strstr(err_msg(&e), "more than 1000 lines"));
	smtp_reply_free(&r);
	err_clear(&e);

	/* SMTP_MAX_REPLY_SIZE bytes of text. */
	size_t len = 60000;
	char *line = malloc(len);
	assert_non_null(line);
	memset(line, 'a', len);
	memcpy(line, "250-", 4);
	int rc = EX_OK;
	size_t lines = 0;
	while (rc == EX_OK && lines < 10) {
		rc = smtp_reply_add_line(&r, line, len, "mx", &done, &e);
		lines++;
	}
	assert_int_equal(rc, EX_PROTOCOL);
	assert_int_equal(lines, SMTP_MAX_REPLY_SIZE / len + 1);
	assert_true(r.text.len <= SMTP_MAX_REPLY_SIZE);
	assert_non_null(strstr(err_msg(&e), "more than 262144 bytes"));
	smtp_reply_free(&r);
	err_clear(&e);

	/* An invalid line is shown cut short, never whole. */
	memcpy(line, "abcd", 4);
	assert_int_equal(smtp_reply_add_line(&r, line, len, "mx", &done, &e),
	                 EX_PROTOCOL);
	assert_true(strlen(err_msg(&e)) < SMTP_MAX_SHOWN_REPLY + 100);
	assert_non_null(strstr(err_msg(&e), "[... 57952 more bytes]"));
	smtp_reply_free(&r);
	err_clear(&e);
	free(line);
}

static void check_sanitized(const char *in, size_t len, const char *want)
{
	struct buf out = BUF_INIT;
	sanitize_append(&out, in, len);
	assert_string_equal(buf_str(&out), want);
	buf_free(&out);
}

static void test_sanitize(void **state)
{
	(void)state;
	check_sanitized("plain text", 10, "plain text");
	check_sanitized("tab\there", 8, "tab\there");
	check_sanitized("\x1b[31mred", 8, "\\x1b[31mred");
	check_sanitized("a\rb\nc", 5, "a\\x0db\\x0ac");
	check_sanitized("nul\0x", 5, "nul\\x00x");
	check_sanitized("del\x7f", 4, "del\\x7f");
	check_sanitized("caf\xc3\xa9", 5, "caf\xc3\xa9");          /* valid */
	check_sanitized("\xc2\x9b" "2J", 4, "\\xc2\\x9b2J");        /* C1 CSI */
	check_sanitized("\xc0\xaf", 2, "\\xc0\\xaf");              /* overlong */
	check_sanitized("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");     /* surrogate */
	check_sanitized("\xe2\x82", 2, "\\xe2\\x82");              /* truncated */
	check_sanitized("\xff", 1, "\\xff");
	check_sanitized("\xf0\x9f\x93\xa7", 4, "\xf0\x9f\x93\xa7"); /* emoji */
}

static void test_log_entry(void **state)
{
	(void)state;
	struct addr_list rcpt = {0};
	addr_list_add(&rcpt, NULL, "a@example.org");
	addr_list_add(&rcpt, NULL, "b@example.org");
	struct log_entry ok = {
		.host = "mx.example", .tls = true, .auth = true, .user = "me",
		.from = "me@example.com", .recipients = &rcpt,
		.mailsize = 412, .smtp_status = 250,
		.smtp_msg = "250 2.0.0 Ok: queued as X", .exit_code = EX_OK,
	};
	struct buf out = BUF_INIT;
	log_format_entry(&ok, &out);
	assert_string_equal(buf_str(&out),
	                    "host=mx.example tls=on auth=on user=me "
	                    "from=me@example.com "
	                    "recipients=a@example.org,b@example.org "
	                    "mailsize=412 smtpstatus=250 "
	                    "smtpmsg='250 2.0.0 Ok: queued as X' "
	                    "exitcode=EX_OK");
	buf_reset(&out);
	struct log_entry bad = {
		.host = "mx.example", .from = "me@example.com",
		.recipients = &rcpt, .mailsize = 412, .smtp_status = 450,
		.smtp_msg = "450 it's \x1b busy", .error = "refused",
		.exit_code = EX_TEMPFAIL,
	};
	log_format_entry(&bad, &out);
	assert_string_equal(buf_str(&out),
	                    "host=mx.example tls=off auth=off "
	                    "from=me@example.com "
	                    "recipients=a@example.org,b@example.org "
	                    "smtpstatus=450 smtpmsg='450 it\\'s \\x1b busy' "
	                    "errormsg='refused' exitcode=EX_TEMPFAIL");
	buf_free(&out);
	addr_list_free(&rcpt);
	assert_string_equal(log_exit_code_name(EX_NOPERM), "EX_NOPERM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_lines),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_caps_auth_list),
		cmocka_unit_test(test_reply_assembly),
		cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_log_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
