/* Unit tests for smtpd_command.c (the command lines of outbox -bs,
 * table-driven) and smtpd.c's verdict replies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "smtpd.h"
#include "smtpd_command.h"

static void test_accepted(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		enum smtpd_verb verb;
		const char *path, *argument;
	} cases[] = {
		{"EHLO client.example", SMTPD_EHLO, NULL, "client.example"},
		{"helo  [127.0.0.1]  ", SMTPD_HELO, NULL, "[127.0.0.1]"},
		{"MAIL FROM:<a@example.com>", SMTPD_MAIL, "a@example.com", NULL},
		{"mail from:<>", SMTPD_MAIL, "", NULL},
		/* leniency real clients need: a space, no brackets */
		{"MAIL FROM: <a@example.com>", SMTPD_MAIL, "a@example.com", NULL},
		{"MAIL FROM:a@example.com", SMTPD_MAIL, "a@example.com", NULL},
		/* RFC 5321 4.1.2: a source route is dropped */
		{"RCPT TO:<@r1.example,@r2.example:b@example.org>", SMTPD_RCPT,
		 "b@example.org", NULL},
		{"RCPT TO:<\"odd >\"@example.org>", SMTPD_RCPT,
		 "\"odd >\"@example.org", NULL},
		{"RCPT TO:<postmaster>", SMTPD_RCPT, "postmaster", NULL},
		{"DATA", SMTPD_DATA, NULL, NULL},
		{"NOOP anything", SMTPD_NOOP, NULL, "anything"},
		{"VRFY root", SMTPD_VRFY, NULL, "root"},
		{"HELP", SMTPD_HELP, NULL, NULL},
		{"QUIT", SMTPD_QUIT, NULL, NULL},
		{"RSET", SMTPD_RSET, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtpd_command c;
		struct smtpd_refusal why;
		if (!smtpd_parse_command(cases[i].line, strlen(cases[i].line),
		                         &c, &why))
			fail_msg("%s: refused %d %s", cases[i].line, why.code,
			         why.text);
		assert_int_equal(c.verb, cases[i].verb);
		if (cases[i].path)
			assert_string_equal(c.path, cases[i].path);
		else
			assert_null(c.path);
		if (cases[i].argument)
			assert_string_equal(c.argument, cases[i].argument);
		else
			assert_null(c.argument);
		smtpd_command_free(&c);
	}
}

static void test_parameters(void **state)
{
	(void)state;
	struct smtpd_command c;
	struct smtpd_refusal why;
	const char *mail = "MAIL FROM:<a@example.com> size=1234 BODY=8bitmime "
	                   "SMTPUTF8 RET=hdrs ENVID=QQ+2B314";
	assert_true(smtpd_parse_command(mail, strlen(mail), &c, &why));
	assert_true(c.has_size);
	assert_int_equal(c.size, 1234);
	assert_int_equal(c.body, SMTPD_BODY_8BITMIME);
	assert_true(c.smtputf8);
	assert_string_equal(c.ret, "HDRS");
	assert_string_equal(c.envid, "QQ+2B314");
	smtpd_command_free(&c);

	const char *rcpt = "RCPT TO:<b@example.org> NOTIFY=delay,Success "
	                   "ORCPT=rfc822;b+40example.org";
	assert_true(smtpd_parse_command(rcpt, strlen(rcpt), &c, &why));
	/* one spelling for one meaning */
	assert_string_equal(c.notify, "SUCCESS,DELAY");
	assert_string_equal(c.orcpt, "rfc822;b+40example.org");
	smtpd_command_free(&c);

	const char *huge = "MAIL FROM:<a@example.com> SIZE=99999999999999999999999";
	assert_true(smtpd_parse_command(huge, strlen(huge), &c, &why));
	assert_true(c.size == UINT64_MAX);
	smtpd_command_free(&c);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		int code;
		const char *status;
	} cases[] = {
		{"", 500, "5.5.2"},
		{"FROB", 500, "5.5.2"},
		{"NOOP\rRSET", 500, "5.5.2"},           /* bare CR */
		{"STARTTLS", 502, "5.5.1"},
		{"AUTH PLAIN AAAA", 502, "5.5.1"},
		{"BDAT 10 LAST", 502, "5.5.1"},
		{"EHLO", 501, "5.5.4"},
		{"VRFY", 501, "5.5.4"},
		{"DATA now", 501, "5.5.4"},
		{"MAIL TO:<a@example.com>", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com>x", 501, "5.5.4"},
		{"MAIL FROM:<a b@example.com>", 553, "5.1.7"},
		{"RCPT TO:<>", 501, "5.1.3"},
		{"RCPT TO:<b@exa\x01mple.org>", 553, "5.1.3"},
		{"MAIL FROM:<a@example.com> SIZE=12x", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> SIZE", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> SIZE=1 SIZE=2", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> BODY=BINARYMIME", 555, "5.5.4"},
		{"MAIL FROM:<a@example.com> SMTPUTF8=yes", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> RET=ALL", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> ENVID=a=b", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> ENVID=a+zz", 501, "5.5.4"},
		{"MAIL FROM:<a@example.com> NOTIFY=NEVER", 555, "5.5.4"},
		{"MAIL FROM:<a@example.com> AUTH=<>", 555, "5.5.4"},
		{"RCPT TO:<b@example.org> RET=FULL", 555, "5.5.4"},
		{"RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"},
		{"RCPT TO:<b@example.org> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"},
		{"RCPT TO:<b@example.org> NOTIFY=", 501, "5.5.4"},
		{"RCPT TO:<b@example.org> ORCPT=b@example.org", 501, "5.5.4"},
		{"RCPT TO:<b@example.org> ORCPT=;b", 501, "5.5.4"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtpd_command c;
		struct smtpd_refusal why;
		size_t len = strlen(cases[i].line);
		if (smtpd_parse_command(cases[i].line, len, &c, &why)) {
			smtpd_command_free(&c);
			fail_msg("%s: accepted", cases[i].line);
		}
		if (why.code != cases[i].code ||
		    strcmp(why.status, cases[i].status) != 0)
			fail_msg("%s: %d %s %s", cases[i].line, why.code,
			         why.status, why.text);
	}
	/* a NUL inside a line */
	struct smtpd_command c;
	struct smtpd_refusal why;
	assert_false(smtpd_parse_command("NOOP\0x", 6, &c, &why));
	assert_int_equal(why.code, 500);
}

static void test_verdict_reply(void **state)
{
	(void)state;
	static const struct {
		int rc, server_code;
		const char *text, *reply;
	} cases[] = {
		{EX_OK, 250, "Ok: sent", "250 2.0.0 Ok: sent"},
		{EX_OK, 0, "", "250 2.0.0 Ok"},
		{EX_TEMPFAIL, 0, "connection refused",
		 "451 4.4.0 connection refused"},
		/* the smarthost's own code within the class */
		{EX_TEMPFAIL, 452, "full", "452 4.4.0 full"},
		{EX_UNAVAILABLE, 550, "no such user",
		 "550 5.0.0 no such user"},
		/* never a 5xx for a status where retrying helps */
		{EX_TEMPFAIL, 550, "odd", "451 4.4.0 odd"},
		{EX_NOPERM, 535, "authentication failed",
		 "554 5.7.0 authentication failed"},
		{EX_CONFIG, 0, "bad config", "451 4.3.5 bad config"},
		{EX_DATAERR, 0, "bad header", "554 5.6.0 bad header"},
		{EX_IOERR, 0, "disk", "451 4.3.0 disk"},
		{EX_UNAVAILABLE, 0, "line\nbreak\x1b", "554 5.0.0 line break?"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtpd_verdict v = {cases[i].rc, cases[i].server_code,
		                          BUF_INIT, 0};
		buf_add_str(&v.text, cases[i].text);
		struct buf out = BUF_INIT;
		smtpd_verdict_reply(&v, &out);
		assert_string_equal(buf_str(&out), cases[i].reply);
		buf_free(&out);
		buf_free(&v.text);
	}
	/* long texts are cut, visibly */
	struct smtpd_verdict v = {EX_UNAVAILABLE, 0, BUF_INIT, 0};
	for (int i = 0; i < 100; i++)
		buf_add_str(&v.text, "0123456789");
	struct buf out = BUF_INIT;
	smtpd_verdict_reply(&v, &out);
	assert_true(out.len < 420);
	assert_non_null(strstr(buf_str(&out), "..."));
	buf_free(&out);
	buf_free(&v.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_verdict_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
