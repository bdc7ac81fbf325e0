/* test_addr.c - address lists, SMTP safety and IDN. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

#define MAX_EXPECT 4

/* ---- addr_parse_list: valid lists ------------------------------------- */

struct list_case {
	const char *input;
	size_t count;
	const char *mailbox[MAX_EXPECT];
	const char *display[MAX_EXPECT]; /* NULL: no display name */
};

static const struct list_case list_cases[] = {
	{"a@example.com", 1, {"a@example.com"}, {NULL}},
	{"John Doe <john@example.com>", 1, {"john@example.com"},
	 {"John Doe"}},
	{"\"Doe, John\" <john@example.com>, jane@example.com", 2,
	 {"john@example.com", "jane@example.com"}, {"Doe, John", NULL}},
	{"John (the man) Doe <john@example.com> (trailing)", 1,
	 {"john@example.com"}, {"John Doe"}},
	{"(nested (comment \\) here) ok) a@b.example", 1, {"a@b.example"},
	 {NULL}},
	{"<@route1.example,@route2.example:user@example.com>", 1,
	 {"user@example.com"}, {NULL}},
	{"Joe <@a.example,,@b.example:joe@example.com>", 1,
	 {"joe@example.com"}, {"Joe"}},
	{"\"john doe\"@example.com", 1, {"\"john doe\"@example.com"}, {NULL}},
	{"\"john\"@example.com", 1, {"john@example.com"}, {NULL}},
	{"\"john\".doe@example.com", 1, {"john.doe@example.com"}, {NULL}},
	{"\"a\\\"b\"@example.com", 1, {"\"a\\\"b\"@example.com"}, {NULL}},
	{"\".john..doe.\"@example.com", 1, {"\".john..doe.\"@example.com"},
	 {NULL}},
	{"john..doe@example.com", 1, {"\"john..doe\"@example.com"}, {NULL}},
	{"user@[192.0.2.1]", 1, {"user@[192.0.2.1]"}, {NULL}},
	{"user@[IPv6:2001:db8::1]", 1, {"user@[IPv6:2001:db8::1]"}, {NULL}},
	{"j\xc3\xb6rg@b\xc3\xbc" "cher.example", 1,
	 {"j\xc3\xb6rg@b\xc3\xbc" "cher.example"}, {NULL}},
	{"undisclosed-recipients:;", 0, {NULL}, {NULL}},
	{"undisclosed-recipients:", 0, {NULL}, {NULL}},
	{"team: a@x.example, b@y.example;", 2,
	 {"a@x.example", "b@y.example"}, {NULL, NULL}},
	{"Fred <fred@x.example>, team: Ann <a@y.example>;, z@z.example", 3,
	 {"fred@x.example", "a@y.example", "z@z.example"},
	 {"Fred", "Ann", NULL}},
	{"a@x.example,, ,b@y.example,", 2, {"a@x.example", "b@y.example"},
	 {NULL, NULL}},
	{"", 0, {NULL}, {NULL}},
	{" , (just a comment) ,", 0, {NULL}, {NULL}},
	{"John Q. Public <jqp@example.com>", 1, {"jqp@example.com"},
	 {"John Q. Public"}},
	{"=?UTF-8?B?SsO2cmc=?= <j@example.com>", 1, {"j@example.com"},
	 {"=?UTF-8?B?SsO2cmc=?="}},
	{"root", 1, {"root"}, {NULL}},
	{"root, admin", 2, {"root", "admin"}, {NULL, NULL}},
	{"a . b @ example . com", 1, {"a.b@example.com"}, {NULL}},
	{"\"\" <a@x.example>", 1, {"a@x.example"}, {NULL}},
	{"a@x.example (John)", 1, {"a@x.example"}, {NULL}},
	{"John\r\n Doe <j@x.example>", 1, {"j@x.example"}, {"John Doe"}},
	{"<a@x.example>", 1, {"a@x.example"}, {NULL}},
	{"\"a\r\n b\"@x.example", 1, {"\"a b\"@x.example"}, {NULL}},
	{"Tab\t<t@x.example>", 1, {"t@x.example"}, {"Tab"}},
	{"\"x\\(y\" <xy@x.example>", 1, {"xy@x.example"}, {"x(y"}},
	{"<root>", 1, {"root"}, {NULL}},
};

static void test_parse_list_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof list_cases / sizeof *list_cases; i++) {
		const struct list_case *c = &list_cases[i];
		struct addr_list list = {NULL, 0};
		struct err e = ERR_INIT;
		int rc = addr_parse_list(c->input, strlen(c->input), &list, &e);
		if (rc != EX_OK)
			fail_msg("case %zu \"%s\": %s", i, c->input,
			         err_msg(&e));
		if (list.count != c->count)
			fail_msg("case %zu \"%s\": %zu addresses, expected %zu",
			         i, c->input, list.count, c->count);
		for (size_t k = 0; k < c->count; k++) {
			assert_string_equal(list.items[k].mailbox,
			                    c->mailbox[k]);
			if (c->display[k])
				assert_non_null(list.items[k].display);
			if (c->display[k])
				assert_string_equal(list.items[k].display,
				                    c->display[k]);
			else if (list.items[k].display)
				fail_msg("case %zu: unexpected display \"%s\"",
				         i, list.items[k].display);
		}
		addr_list_free(&list);
		err_clear(&e);
	}
}

static void test_parse_list_appends(void **state)
{
	(void)state;
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	assert_int_equal(addr_parse_list("a@x.example", 11, &list, &e), EX_OK);
	assert_int_equal(addr_parse_list("b@y.example", 11, &list, &e), EX_OK);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[1].mailbox, "b@y.example");
	/* On error nothing is appended. */
	const char *bad = "c@z.example, <broken";
	assert_int_equal(addr_parse_list(bad, strlen(bad), &list, &e),
	                 EX_DATAERR);
	assert_int_equal(list.count, 2);
	/* The length is honoured: text after it is not read. */
	assert_int_equal(addr_parse_list("d@w.example, junk<<<", 11, &list,
	                                 &e),
	                 EX_OK);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.items[2].mailbox, "d@w.example");
	addr_list_free(&list);
	err_clear(&e);
}

/* ---- addr_parse_list: errors ------------------------------------------ */

struct error_case {
	const char *input;
	size_t len; /* 0: strlen */
	const char *message_part;
};

static const struct error_case error_cases[] = {
	{"John Doe", 0, "unquoted white space"},
	{"a@", 0, "expected a domain"},
	{"<a@x.example", 0, "expected '>'"},
	{"a@x.example>", 0, "expected ','"},
	{"\"unterminated@x.example", 0, "unterminated quoted string"},
	{"(unterminated a@x.example", 0, "unterminated comment"},
	{"a@x.example; b@y.example", 0, "expected ','"},
	{"a@[1.2.3.4", 0, "unterminated domain literal"},
	{"a@[1.2\\.3]", 0, "domain literal"},
	{"<>", 0, "empty address"},
	{"g1: g2: a@x.example;;", 0, "group inside a group"},
	{": a@x.example;", 0, "group without a name"},
	{"a\001b@x.example", 0, "control character"},
	{"a@x.example\0y", 13, "NUL"},
	{"a@b..c", 0, "domain label"},
	{"a@x.example, John Smith", 0, "unquoted white space"},
	{"a@example.com.", 0, "domain label"},
	{"\"a\001\"@x.example", 0, "control character"},
	{"\xff\xfe@x.example", 0, "invalid UTF-8"},
	{"a@x\xc3.example", 0, "invalid UTF-8"},
	{"a)@x.example", 0, "unbalanced ')'"},
	{"<a@x.example> <b@y.example>", 0, "expected ','"},
	{"Joe <@a.example b@c.example>", 0, "invalid route"},
	{"[1.2.3.4]", 0, "expected an address"},
	{"a@x.example, >", 0, "expected an address"},
};

static void test_parse_list_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
		const struct error_case *c = &error_cases[i];
		size_t len = c->len ? c->len : strlen(c->input);
		struct addr_list list = {NULL, 0};
		struct err e = ERR_INIT;
		int rc = addr_parse_list(c->input, len, &list, &e);
		if (rc != EX_DATAERR)
			fail_msg("case %zu \"%s\": rc %d, expected EX_DATAERR",
			         i, c->input, rc);
		assert_int_equal(e.code, EX_DATAERR);
		assert_int_equal(list.count, 0);
		if (!strstr(err_msg(&e), c->message_part))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
			         err_msg(&e), c->message_part);
		/* Messages are safe to print: no control bytes. */
		for (const char *s = err_msg(&e); *s; s++)
			assert_true((unsigned char)*s >= 0x20 && *s != 0x7f);
		addr_list_free(&list);
		err_clear(&e);
	}
}

static void test_parse_error_names_text(void **state)
{
	(void)state;
	const char *in = "ok@x.example, bad\r\n\001stuff <here";
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	assert_int_equal(addr_parse_list(in, strlen(in), &list, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "ok@x.example, bad??"));
	for (const char *s = err_msg(&e); *s; s++)
		assert_true((unsigned char)*s >= 0x20);
	err_clear(&e);
	/* A long text is cut in the message, on a character boundary. */
	char longtext[400];
	memset(longtext, 'x', sizeof longtext);
	memcpy(longtext + 70, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
	memcpy(longtext + sizeof longtext - 2, "<<", 2);
	assert_int_equal(addr_parse_list(longtext, sizeof longtext, &list,
	                                 &e),
	                 EX_DATAERR);
	assert_true(strlen(err_msg(&e)) < 300);
	assert_non_null(strstr(err_msg(&e), "..."));
	err_clear(&e);
}

/* ---- addr_parse_mailbox ----------------------------------------------- */

static void test_parse_mailbox(void **state)
{
	(void)state;
	static const struct {
		const char *input;
		int rc;
		const char *mailbox;
	} cases[] = {
		{"", EX_OK, ""},
		{"<>", EX_OK, ""},
		{"  ", EX_OK, ""},
		{"a@x.example", EX_OK, "a@x.example"},
		{"Ann Example <ann@x.example>", EX_OK, "ann@x.example"},
		{"<ann@x.example>", EX_OK, "ann@x.example"},
		{"\"a b\"@x.example", EX_OK, "\"a b\"@x.example"},
		{"root", EX_OK, "root"},
		{"a@x.example, b@y.example", EX_DATAERR, NULL},
		{"g: a@x.example;", EX_DATAERR, NULL},
		{"a@x.example\r\nRCPT TO:<evil@x.example>", EX_DATAERR, NULL},
		{"<a@x.example", EX_DATAERR, NULL},
		{"Ann Example", EX_DATAERR, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *mailbox = NULL;
		struct err e = ERR_INIT;
		int rc = addr_parse_mailbox(cases[i].input, &mailbox, &e);
		if (rc != cases[i].rc)
			fail_msg("case %zu \"%s\": rc %d (%s)", i,
			         cases[i].input, rc, err_msg(&e));
		if (cases[i].mailbox)
			assert_string_equal(mailbox, cases[i].mailbox);
		else
			assert_null(mailbox);
		free(mailbox);
		err_clear(&e);
	}
}

/* ---- addr_check_smtp_safe --------------------------------------------- */

static char *repeat(char c, size_t n, const char *suffix)
{
	char *s = malloc(n + strlen(suffix) + 1);
	memset(s, c, n);
	strcpy(s + n, suffix);
	return s;
}

static void check_safe(const char *mailbox, bool allow_empty, int expect,
                       const char *label)
{
	struct err e = ERR_INIT;
	int rc = addr_check_smtp_safe(mailbox, allow_empty, &e);
	if (rc != expect)
		fail_msg("%s: rc %d, expected %d (%s)", label, rc, expect,
		         err_msg(&e));
	if (rc != EX_OK) {
		assert_int_equal(e.code, rc);
		for (const char *s = err_msg(&e); *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				fail_msg("%s: control byte in message", label);
	}
	err_clear(&e);
}

static void test_smtp_safe_table(void **state)
{
	(void)state;
	static const struct {
		const char *mailbox;
		bool allow_empty;
		int rc;
	} cases[] = {
		{"a@example.com", false, EX_OK},
		{"", false, EX_DATAERR},
		{"", true, EX_OK},
		{"root", false, EX_OK},
		{"a\r\n@x.example", false, EX_DATAERR},
		{"a@x.example\r\nRCPT TO:<b@y.example>", false, EX_DATAERR},
		{"a@x.example\n", false, EX_DATAERR},
		{"a@x.example\r", false, EX_DATAERR},
		{"a\x7f@x.example", false, EX_DATAERR},
		{"a\t@x.example", false, EX_DATAERR},
		{"a\x1b[31m@x.example", false, EX_DATAERR},
		{"\"a\r\nb\"@x.example", false, EX_DATAERR},
		{"a>@x.example", false, EX_DATAERR},
		{"<a@x.example>", false, EX_DATAERR},
		{"a@x.example> SIZE=1", false, EX_DATAERR},
		{"\"a<>b\"@x.example", false, EX_OK},
		{"a b@x.example", false, EX_DATAERR},
		{"\"a b\"@x.example", false, EX_OK},
		{"\"a\\\"b\"@x.example", false, EX_OK},
		{"\"unterminated@x.example", false, EX_DATAERR},
		{"\"a\"b@x.example", false, EX_DATAERR},
		{"a@[192.0.2.1]", false, EX_OK},
		{"a@[IPv6:2001:db8::1]", false, EX_OK},
		{"a@[192.0.2.1", false, EX_DATAERR},
		{"a@[1.2]x", false, EX_DATAERR},
		{"a@x..example", false, EX_DATAERR},
		{"a@.x.example", false, EX_DATAERR},
		{"a@x.example.", false, EX_DATAERR},
		{"a@", false, EX_DATAERR},
		{"@x.example", false, EX_DATAERR},
		{"a@b@x.example", false, EX_DATAERR},
		{"a@x_y.example", false, EX_OK},
		{"a@x:25", false, EX_DATAERR},
		{"j\xc3\xb6rg@b\xc3\xbc" "cher.example", false, EX_OK},
		{"\xff@x.example", false, EX_DATAERR},
		{"a@x\xc3.example", false, EX_DATAERR},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char label[32];
		snprintf(label, sizeof label, "case %zu", i);
		check_safe(cases[i].mailbox, cases[i].allow_empty, cases[i].rc,
		           label);
	}
	check_safe(NULL, true, EX_DATAERR, "NULL");
}

static void test_smtp_safe_lengths(void **state)
{
	(void)state;
	/* Local part: lenient beyond RFC 5321's 64 (see addr.c). */
	char *local64 = repeat('l', 64, "@x.example");
	char *local100 = repeat('l', 100, "@x.example");
	check_safe(local64, false, EX_OK, "local 64");
	check_safe(local100, false, EX_OK, "local 100");
	/* Path: "<" mailbox ">" at most 256, so a mailbox of 254. */
	char *total254 = repeat('l', 254 - 10, "@x.example");
	char *total255 = repeat('l', 255 - 10, "@x.example");
	check_safe(total254, false, EX_OK, "total 254");
	check_safe(total255, false, EX_DATAERR, "total 255");
	/* Domain: at most 255 (but the path limit bites first). */
	char *domain = repeat('d', 256, "");
	char *longdomain = malloc(300);
	snprintf(longdomain, 300, "a@%s", domain);
	check_safe(longdomain, false, EX_DATAERR, "domain 256");
	free(local64);
	free(local100);
	free(total254);
	free(total255);
	free(domain);
	free(longdomain);
}

/* What the parser produces is always safe, or refused by the check. */
static void test_parsed_then_safe(void **state)
{
	(void)state;
	const char *in = "\"evil\r\n RCPT TO:<x@y>\"@x.example, "
	                 "\"spaced out\"@x.example, plain@x.example";
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	assert_int_equal(addr_parse_list(in, strlen(in), &list, &e), EX_OK);
	assert_int_equal(list.count, 3);
	for (size_t i = 0; i < list.count; i++) {
		assert_null(strpbrk(list.items[i].mailbox, "\r\n"));
		int rc = addr_check_smtp_safe(list.items[i].mailbox, false, &e);
		assert_int_equal(rc, EX_OK);
	}
	assert_string_equal(list.items[0].mailbox,
	                    "\"evil RCPT TO:<x@y>\"@x.example");
	addr_list_free(&list);
	err_clear(&e);
}

/* ---- IDN -------------------------------------------------------------- */

static void test_domain_to_ascii(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{"user@b\xc3\xbc" "cher.example", EX_OK,
		 "user@xn--bcher-kva.example"},
		{"user@B\xc3\xbc" "cher.example", EX_OK,
		 "user@xn--bcher-kva.example"},
		{"user@fa\xc3\x9f.de", EX_OK, "user@xn--fa-hia.de"},
		{"user@Example.COM", EX_OK, "user@Example.COM"},
		{"j\xc3\xb6rg@example.com", EX_OK, "j\xc3\xb6rg@example.com"},
		{"\"a@b\"@b\xc3\xbc" "cher.example", EX_OK,
		 "\"a@b\"@xn--bcher-kva.example"},
		{"user@[192.0.2.1]", EX_OK, "user@[192.0.2.1]"},
		{"root", EX_OK, "root"},
		{"user@-b\xc3\xbc" "cher.example", EX_DATAERR, NULL},
		{"user@\xff\xfe.example", EX_DATAERR, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *out = NULL;
		struct err e = ERR_INIT;
		int rc = addr_domain_to_ascii(cases[i].in, &out, &e);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, err_msg(&e));
		if (cases[i].out)
			assert_string_equal(out, cases[i].out);
		else
			assert_null(out);
		if (rc != EX_OK)
			for (const char *s = err_msg(&e); *s; s++)
				assert_true((unsigned char)*s >= 0x20);
		free(out);
		err_clear(&e);
	}
}

static void test_needs_smtputf8(void **state)
{
	(void)state;
	assert_false(addr_needs_smtputf8("user@example.com"));
	assert_false(addr_needs_smtputf8("user@b\xc3\xbc" "cher.example"));
	assert_true(addr_needs_smtputf8("j\xc3\xb6rg@example.com"));
	assert_true(addr_needs_smtputf8("\"j\xc3\xb6rg x\"@example.com"));
	assert_true(addr_needs_smtputf8("user@\xff.example"));
	assert_false(addr_needs_smtputf8("root"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list_valid),
		cmocka_unit_test(test_parse_list_appends),
		cmocka_unit_test(test_parse_list_errors),
		cmocka_unit_test(test_parse_error_names_text),
		cmocka_unit_test(test_parse_mailbox),
		cmocka_unit_test(test_smtp_safe_table),
		cmocka_unit_test(test_smtp_safe_lengths),
		cmocka_unit_test(test_parsed_then_safe),
		cmocka_unit_test(test_domain_to_ascii),
		cmocka_unit_test(test_needs_smtputf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
