/* test_maildrop_format.c - maildrop entries as text: what a submitter
 * writes parses back to the same request (escapes included), the message
 * starts right after the empty line, and every malformed header is refused
 * with the line and the problem (the pickup sets such an entry aside with
 * exactly that reason). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "maildrop_format.h"

static void test_round_trip(void **state)
{
	(void)state;
	char *rcpt[] = {"you@example.net", "root", "odd\\name\x01"};
	struct maildrop_request r = {
		.account = "work",
		.envelope_from = "",
		.full_name = "Backup\tJob",
		.read_recipients = true,
		.read_envelope_from = false,
		.dsn_notify = "failure,delay",
		.dsn_return = "hdrs",
		.recipients = rcpt,
		.recipient_count = 3,
	};
	struct buf text = BUF_INIT;
	maildrop_format(&r, &text);
	size_t header_len = text.len;
	buf_add_str(&text, "Subject: x\n\nbody\n");
	struct maildrop_request back;
	size_t offset = 0;
	struct err e = ERR_INIT;
	assert_int_equal(maildrop_parse(text.data, text.len, &back, &offset, &e),
	                 EX_OK);
	assert_int_equal(offset, header_len);
	assert_string_equal(back.account, "work");
	assert_string_equal(back.envelope_from, "");
	assert_string_equal(back.full_name, "Backup\tJob");
	assert_true(back.read_recipients);
	assert_false(back.read_envelope_from);
	assert_string_equal(back.dsn_notify, "failure,delay");
	assert_string_equal(back.dsn_return, "hdrs");
	assert_int_equal(back.recipient_count, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(back.recipients[i], rcpt[i]);
	assert_null(strchr(text.data, '\t')); /* escaped on disk */
	maildrop_request_free(&back);
	buf_free(&text);
}

/* ENVID and ORCPT of outbox -bs: an ORCPT belongs to the rcpt line just
 * before it, and both are checked as RFC 3461 xtext. */
static void test_dsn_ids(void **state)
{
	(void)state;
	char *rcpt[] = {"a@example.net", "b@example.net"};
	char *orcpt[] = {NULL, "rfc822;b+40example.net"};
	struct maildrop_request r = {
		.dsn_envid = "QQ+2B314",
		.recipients = rcpt,
		.recipient_orcpt = orcpt,
		.recipient_count = 2,
	};
	struct buf text = BUF_INIT;
	maildrop_format(&r, &text);
	struct maildrop_request back;
	size_t offset = 0;
	struct err e = ERR_INIT;
	assert_int_equal(maildrop_parse(text.data, text.len, &back, &offset, &e),
	                 EX_OK);
	assert_string_equal(back.dsn_envid, "QQ+2B314");
	assert_int_equal(back.recipient_count, 2);
	assert_null(back.recipient_orcpt[0]);
	assert_string_equal(back.recipient_orcpt[1], "rfc822;b+40example.net");
	maildrop_request_free(&back);
	buf_free(&text);

	static const char *const bad[] = {
		"outbox-maildrop 1\ndsn-orcpt: rfc822;x\nrcpt: x\n\n",
		"outbox-maildrop 1\nrcpt: x\ndsn-orcpt: rfc822;x\n"
		"dsn-orcpt: rfc822;y\n\n",
		"outbox-maildrop 1\nrcpt: x\ndsn-orcpt: no-type\n\n",
		"outbox-maildrop 1\nrcpt: x\ndsn-orcpt: rfc822;a b\n\n",
		"outbox-maildrop 1\ndsn-envid: a=b\nrcpt: x\n\n",
		"outbox-maildrop 1\ndsn-envid: a\\x0d\nrcpt: x\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		if (maildrop_parse(bad[i], strlen(bad[i]), &back, &offset, &e) !=
		    EX_DATAERR)
			fail_msg("accepted: %s", bad[i]);
	}
	err_clear(&e);
}

static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *text, *error;
	} rows[] = {
		{"", "line 1: no end of header"},
		{"outbox-queue 1\n\n", "line 1: expected \"outbox-maildrop 1\""},
		{"outbox-maildrop 2\n\n", "line 1: expected"},
		{"outbox-maildrop 1\nrcpt: a@b\n", "line 3: no end of header"},
		{"outbox-maildrop 1\nhost: evil\n\n",
		 "line 2: unknown field \"host\""},
		{"outbox-maildrop 1\nsetting: host=evil\n\n",
		 "line 2: unknown field \"setting\""},
		{"outbox-maildrop 1\nrcpt a@b\n\n",
		 "line 2: expected \"name: value\""},
		{"outbox-maildrop 1\naccount: a\naccount: b\n\n",
		 "line 3: field \"account\" given twice"},
		{"outbox-maildrop 1\naccount: \n\n",
		 "line 2: account: an empty account name"},
		{"outbox-maildrop 1\nrcpt: \n\n", "line 2: rcpt: an empty recipient"},
		{"outbox-maildrop 1\nread-recipients: no\n\n",
		 "line 2: read-recipients: expected \"yes\""},
		{"outbox-maildrop 1\nfrom: a\rb\n\n",
		 "line 2: from: a control character must be escaped"},
		{"outbox-maildrop 1\nfrom: a\\x00b\n\n",
		 "line 2: from: a value cannot contain a NUL byte"},
		{"outbox-maildrop 1\nfrom: a\\x4\n\n",
		 "line 2: from: a backslash must start an escape"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct maildrop_request r;
		size_t offset = 99;
		struct err e = ERR_INIT;
		int rc = maildrop_parse(rows[i].text, strlen(rows[i].text), &r,
		                        &offset, &e);
		if (rc != EX_DATAERR || !strstr(err_msg(&e), rows[i].error))
			fail_msg("row %zu: got %d \"%s\", want \"%s\"", i, rc,
			         err_msg(&e), rows[i].error);
		assert_int_equal(r.recipient_count, 0);
		maildrop_request_free(&r);
		err_clear(&e);
	}
}

static void test_too_many_recipients(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	buf_add_str(&text, "outbox-maildrop 1\n");
	for (int i = 0; i <= MAILDROP_MAX_RCPT; i++)
		buf_add_str(&text, "rcpt: a@b\n");
	buf_add_str(&text, "\n");
	struct maildrop_request r;
	size_t offset;
	struct err e = ERR_INIT;
	assert_int_equal(maildrop_parse(text.data, text.len, &r, &offset, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "too many recipients"));
	err_clear(&e);
	buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_dsn_ids),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_many_recipients),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
