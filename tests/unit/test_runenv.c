/* test_runenv.c - the run's environment: what is read from where, msmtp's
 * substitution patterns (%U %H %C %M) exactly as msmtp expands them, the
 * mailname file's errors, and the Message-ID domain rule (envelope.h) that
 * uses the expanded `domain`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "runenv.h"
#include "util.h"

static char dir[64];

/* The variables runenv_init() reads, set for one test; HOSTNAME and USER
 * are fixed so %H and %U never depend on the machine. */
static int setup_env(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/outbox-test-runenv-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	setenv("OUTBOX_SYSCONFDIR", dir, 1);
	setenv("HOME", "/home/tester", 1);
	setenv("USER", "alice", 1);
	setenv("LOGNAME", "bob", 1);
	setenv("HOSTNAME", "box1", 1);
	return 0;
}

static int teardown_env(void **state)
{
	(void)state;
	struct buf cmd = BUF_INIT;
	buf_printf(&cmd, "rm -rf '%s'", dir);
	int r = system(buf_str(&cmd));
	buf_free(&cmd);
	return r == 0 ? 0 : -1;
}

static void write_mailname(const char *text)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/mailname", dir);
	FILE *f = fopen(buf_str(&p), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	buf_free(&p);
}

static void remove_mailname(void)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/mailname", dir);
	unlink(buf_str(&p));
	buf_free(&p);
}

static void test_variables(void **state)
{
	(void)state;
	struct runenv env;
	runenv_init(&env);
	assert_string_equal(env.sysconfdir, dir);
	assert_string_equal(runenv_home(&env), "/home/tester");
	assert_string_equal(runenv_user(&env), "alice");
	assert_string_equal(runenv_host(&env), "box1");
	runenv_free(&env);

	/* read once: a later change of the environment is not seen */
	runenv_init(&env);
	setenv("USER", "mallory", 1);
	assert_string_equal(runenv_user(&env), "alice");
	setenv("USER", "alice", 1);
	runenv_free(&env);

	/* msmtp's order: USER, then LOGNAME; empty counts as unset */
	setenv("USER", "", 1);
	runenv_init(&env);
	assert_string_equal(runenv_user(&env), "bob");
	runenv_free(&env);
	setenv("USER", "alice", 1);

	/* a relative HOME is ignored: the password database's is used */
	setenv("HOME", "relative/home", 1);
	runenv_init(&env);
	const char *home = runenv_home(&env);
	assert_true(home == NULL || home[0] == '/');
	runenv_free(&env);
	setenv("HOME", "/home/tester", 1);

	/* without HOSTNAME: gethostname(2) */
	unsetenv("HOSTNAME");
	runenv_init(&env);
	char name[256];
	assert_int_equal(gethostname(name, sizeof name), 0);
	assert_string_equal(runenv_host(&env), name);
	runenv_free(&env);
	setenv("HOSTNAME", "box1", 1);

	/* without OUTBOX_SYSCONFDIR: the built-in directory */
	unsetenv("OUTBOX_SYSCONFDIR");
	runenv_init(&env);
	assert_string_equal(env.sysconfdir, SYSCONFDIR);
	runenv_free(&env);
	setenv("OUTBOX_SYSCONFDIR", dir, 1);
}

struct expand_case {
	const char *pattern;
	bool with_user;
	const char *expected;
};

static void test_expand(void **state)
{
	(void)state;
	static const struct expand_case cases[] = {
		{"%U@%H.example", true, "alice@box1.example"},
		{"%M", false, "mail.example"},
		{"%H.%M", false, "box1.mail.example"},
		/* %U is a `from` pattern only */
		{"%U.%H", false, "%U.box1"},
		/* no escape, as msmtp: "%%H" is "%" and the host name */
		{"%%H", false, "%box1"},
		{"100%", true, "100%"},
		{"%X%", true, "%X%"},
		{"%H%H", false, "box1box1"},
		{"plain.example", true, "plain.example"},
		{"", true, ""},
	};
	write_mailname("mail.example\n");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct runenv env;
		runenv_init(&env);
		struct err e = ERR_INIT;
		char *out = NULL;
		int rc = runenv_expand(&env, cases[i].pattern,
		                       cases[i].with_user, &out, &e);
		if (rc != EX_OK)
			fail_msg("row %zu: %s", i, err_msg(&e));
		if (strcmp(out, cases[i].expected) != 0)
			fail_msg("row %zu: \"%s\" gave \"%s\", expected \"%s\"",
			         i, cases[i].pattern, out, cases[i].expected);
		free(out);
		runenv_free(&env);
	}
	remove_mailname();
}

/* msmtp replaces every %M first, then %U, %H, %C, deciding what to look up
 * from the pattern as written; control characters become '?'. */
static void test_expand_order_and_sanitizing(void **state)
{
	(void)state;
	struct runenv env;
	struct err e = ERR_INIT;
	char *out = NULL;

	write_mailname("%H\n");
	runenv_init(&env);
	assert_int_equal(runenv_expand(&env, "%M", false, &out, &e), EX_OK);
	assert_string_equal(out, "%H"); /* %H was not in the pattern */
	free(out);
	assert_int_equal(runenv_expand(&env, "%M.%H", false, &out, &e), EX_OK);
	assert_string_equal(out, "box1.box1");
	free(out);
	runenv_free(&env);

	write_mailname("a\tb\r\n");
	setenv("HOSTNAME", "h\x01x", 1);
	runenv_init(&env);
	assert_int_equal(runenv_expand(&env, "%M %H", false, &out, &e), EX_OK);
	assert_string_equal(out, "a?b h?x");
	free(out);
	runenv_free(&env);
	setenv("HOSTNAME", "box1", 1);
	remove_mailname();
}

/* %C: the canonical name of %H (from /etc/hosts for localhost, so no
 * DNS query leaves the test), looked up once and kept. */
static void test_canonical(void **state)
{
	(void)state;
	setenv("HOSTNAME", "localhost", 1);
	struct runenv env;
	runenv_init(&env);
	const char *first = runenv_canonical_host(&env);
	assert_non_null(first);
	assert_true(*first != '\0');
	assert_ptr_equal(runenv_canonical_host(&env), first);
	struct err e = ERR_INIT;
	char *out = NULL;
	assert_int_equal(runenv_expand(&env, "%C", false, &out, &e), EX_OK);
	assert_string_equal(out, first);
	free(out);
	runenv_free(&env);
	setenv("HOSTNAME", "box1", 1);
}

struct mailname_case {
	const char *content; /* NULL: no file */
	int rc;
	const char *expected; /* value, or a part of the message */
};

static void test_mailname(void **state)
{
	(void)state;
	static const struct mailname_case cases[] = {
		{"example.org\n", EX_OK, "example.org"},
		{"example.org", EX_OK, "example.org"},
		{"example.org\r\n", EX_OK, "example.org"},
		{"example.org\nsecond.line\n", EX_OK, "example.org"},
		/* msmtp refuses these too (EX_CONFIG) */
		{NULL, EX_CONFIG, "No such file or directory"},
		{"", EX_CONFIG, "its first line is empty"},
		{"\nexample.org\n", EX_CONFIG, "its first line is empty"},
		{"\r\n", EX_CONFIG, "its first line is empty"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (cases[i].content)
			write_mailname(cases[i].content);
		else
			remove_mailname();
		struct runenv env;
		runenv_init(&env);
		struct err e = ERR_INIT;
		const char *value = NULL;
		int rc = runenv_mailname(&env, &value, &e);
		if (rc != cases[i].rc)
			fail_msg("row %zu: rc %d, expected %d (%s)", i, rc,
			         cases[i].rc, err_msg(&e));
		if (rc == EX_OK)
			assert_string_equal(value, cases[i].expected);
		else if (!strstr(err_msg(&e), cases[i].expected) ||
		         !strstr(err_msg(&e), "/mailname"))
			fail_msg("row %zu: message \"%s\"", i, err_msg(&e));
		/* %M fails the same way; %H alone never reads the file */
		char *out = NULL;
		rc = runenv_expand(&env, "x.%M", false, &out, &e);
		assert_int_equal(rc, cases[i].rc);
		free(out);
		out = NULL;
		assert_int_equal(runenv_expand(&env, "%H", false, &out, &e),
		                 EX_OK);
		free(out);
		err_clear(&e);
		runenv_free(&env);
	}
	/* one character more than a domain name may have */
	char long_line[300];
	memset(long_line, 'a', 256);
	strcpy(long_line + 256, "\n");
	write_mailname(long_line);
	struct runenv env;
	runenv_init(&env);
	struct err e = ERR_INIT;
	const char *value = NULL;
	assert_int_equal(runenv_mailname(&env, &value, &e), EX_CONFIG);
	err_clear(&e);
	runenv_free(&env);
	remove_mailname();
}

struct msgid_case {
	const char *domain; /* the account's, expanded */
	const char *host;   /* NULL: a socket */
	const char *from;   /* envelope sender */
	const char *expected;
};

/* msmtp 1.8.25+ (msgid.c): domain unless "localhost", else the sender's
 * domain, else the server's host name. */
static void test_msgid_domain(void **state)
{
	(void)state;
	static const struct msgid_case cases[] = {
		{"box1.example", "smtp.example", "a@from.example",
		 "box1.example"},
		{"localhost", "smtp.example", "a@from.example",
		 "from.example"},
		{"localhost", "smtp.example", "root", "smtp.example"},
		{"localhost", "smtp.example", "", "smtp.example"},
		{"localhost", "2001:db8::1", "root", "[2001:db8::1]"},
		{"localhost", NULL, "root", "localhost"},
		/* msmtp compares case-sensitively */
		{"LOCALHOST", "smtp.example", "a@from.example", "LOCALHOST"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct account *a = account_new("t");
		a->domain = xstrdup(cases[i].domain);
		a->host = xstrdup_or_null(cases[i].host);
		struct envelope env = {.from = (char *)cases[i].from};
		char *d = envelope_msgid_domain(&env, a);
		if (strcmp(d, cases[i].expected) != 0)
			fail_msg("row %zu: \"%s\", expected \"%s\"", i, d,
			         cases[i].expected);
		free(d);
		account_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_order_and_sanitizing),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_mailname),
		cmocka_unit_test(test_msgid_domain),
	};
	return cmocka_run_group_tests(tests, setup_env, teardown_env);
}
