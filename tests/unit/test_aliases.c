/* test_aliases.c - the aliases file: parsing, errors, expansion, loading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "err.h"

static const char aliases_text[] =
	"# system aliases\n"
	"root: admin@example.com, ops  # the admins, ops nested\n"
	"\n"
	"   ops : \"#ops\"@example.com\r\n"
	"team: root, Carol <carol@example.com>\n"
	"default: catchall@example.com\n";

static struct aliases *parse_aliases(const char *text)
{
	struct aliases *a = NULL;
	struct err e = ERR_INIT;
	int rc = aliases_parse(text, strlen(text), "test-aliases", &a, &e);
	if (rc != EX_OK)
		fail_msg("aliases_parse: %s", err_msg(&e));
	err_clear(&e);
	return a;
}

static void expect_expansion(const struct aliases *a, const char *input,
                             const char *expected)
{
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	assert_int_equal(addr_parse_list(input, strlen(input), &list, &e),
	                 EX_OK);
	int rc = aliases_expand(a, &list, &e);
	if (rc != EX_OK)
		fail_msg("expand \"%s\": %s", input, err_msg(&e));
	char joined[512] = "";
	for (size_t i = 0; i < list.count; i++) {
		if (i)
			strcat(joined, " ");
		strcat(joined, list.items[i].mailbox);
	}
	assert_string_equal(joined, expected);
	addr_list_free(&list);
	err_clear(&e);
}

static void test_aliases_expand(void **state)
{
	(void)state;
	struct aliases *a = parse_aliases(aliases_text);
	expect_expansion(a, "root", "admin@example.com #ops@example.com");
	expect_expansion(a, "ROOT", "admin@example.com #ops@example.com");
	/* '#' inside quotes is no comment; "#ops" is a dot-atom. */
	expect_expansion(a, "ops", "#ops@example.com");
	expect_expansion(a, "team",
	                 "admin@example.com #ops@example.com "
	                 "carol@example.com");
	expect_expansion(a, "bob", "catchall@example.com");
	expect_expansion(a, "x@y.example, root",
	                 "x@y.example admin@example.com #ops@example.com");
	aliases_free(a);

	a = parse_aliases("root: admin@example.com\n");
	expect_expansion(a, "bob, root", "bob admin@example.com");
	aliases_free(a);

	/* The default is not applied again to the local names it yields. */
	a = parse_aliases("default: postmaster\n");
	expect_expansion(a, "bob", "postmaster");
	aliases_free(a);
	a = parse_aliases("default: helpdesk\nhelpdesk: h@example.com\n");
	expect_expansion(a, "bob", "h@example.com");
	aliases_free(a);

	/* NULL aliases: nothing happens. */
	expect_expansion(NULL, "bob", "bob");
}

static void test_aliases_loops(void **state)
{
	(void)state;
	static const char *const loops[] = {
		"a: b\nb: a\n",
		"a: a\n",
		"a: x@example.com, b\nb: c\nc: a\n",
	};
	for (size_t i = 0; i < sizeof loops / sizeof *loops; i++) {
		struct aliases *a = parse_aliases(loops[i]);
		struct addr_list list = {NULL, 0};
		struct err e = ERR_INIT;
		addr_list_add(&list, NULL, "a");
		assert_int_equal(aliases_expand(a, &list, &e), EX_CONFIG);
		assert_non_null(strstr(err_msg(&e), "loop"));
		/* On failure the list is untouched. */
		assert_int_equal(list.count, 1);
		assert_string_equal(list.items[0].mailbox, "a");
		addr_list_free(&list);
		err_clear(&e);
		aliases_free(a);
	}
	/* A chain deeper than the limit, without a loop. */
	char text[2048] = "";
	for (int i = 0; i < 20; i++) {
		char line[64];
		snprintf(line, sizeof line, "n%d: n%d\n", i, i + 1);
		strcat(text, line);
	}
	struct aliases *a = parse_aliases(text);
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	addr_list_add(&list, NULL, "n0");
	assert_int_equal(aliases_expand(a, &list, &e), EX_CONFIG);
	addr_list_free(&list);
	err_clear(&e);
	/* Depth within the limit works. */
	addr_list_add(&list, NULL, "n10");
	assert_int_equal(aliases_expand(a, &list, &e), EX_OK);
	assert_string_equal(list.items[0].mailbox, "n20");
	addr_list_free(&list);
	aliases_free(a);
	/* Exponential fan-out is stopped. */
	char fan[2048] = "";
	for (int i = 0; i < 15; i++) {
		char line[64];
		snprintf(line, sizeof line, "f%d: f%d, f%d\n", i, i + 1, i + 1);
		strcat(fan, line);
	}
	a = parse_aliases(fan);
	addr_list_add(&list, NULL, "f0");
	assert_int_equal(aliases_expand(a, &list, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "more than"));
	addr_list_free(&list);
	err_clear(&e);
	aliases_free(a);
}

static void test_aliases_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *message_part;
	} cases[] = {
		{"root admin@example.com\n", "test-aliases:1:"},
		{"# ok\nuser@example.com: x@example.com\n", "test-aliases:2:"},
		{"root:\n", "no address"},
		{"root: ,\n", "no address"},
		{"root: a@example.com\nroot: b@example.com\n", "duplicate"},
		{"root: a@example.com\nRoot: b@example.com\n", "duplicate"},
		{"\n\nroot: <broken\n", "test-aliases:3: invalid address"},
		{": a@example.com\n", "missing alias name"},
		{"my root: a@example.com\n", "local name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct aliases *a = (struct aliases *)1;
		struct err e = ERR_INIT;
		int rc = aliases_parse(cases[i].text, strlen(cases[i].text),
		                       "test-aliases", &a, &e);
		if (rc != EX_CONFIG)
			fail_msg("case %zu: rc %d", i, rc);
		assert_null(a);
		if (!strstr(err_msg(&e), cases[i].message_part))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
			         err_msg(&e), cases[i].message_part);
		err_clear(&e);
	}
	/* NUL bytes are refused. */
	struct aliases *a = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(aliases_parse("a: b@c\0d", 8, "f", &a, &e),
	                 EX_CONFIG);
	err_clear(&e);
}

static void test_aliases_load(void **state)
{
	(void)state;
	char path[] = "/tmp/test_aliasesXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "root: admin@example.com\n";
	assert_int_equal(write(fd, text, sizeof text - 1), sizeof text - 1);
	close(fd);
	struct aliases *a = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(aliases_load(path, &a, &e), EX_OK);
	expect_expansion(a, "root", "admin@example.com");
	aliases_free(a);
	unlink(path);
	assert_int_equal(aliases_load(path, &a, &e), EX_CONFIG);
	assert_null(a);
	assert_non_null(strstr(err_msg(&e), path));
	err_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aliases_expand),
		cmocka_unit_test(test_aliases_loops),
		cmocka_unit_test(test_aliases_errors),
		cmocka_unit_test(test_aliases_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
