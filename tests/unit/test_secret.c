/* test_secret.c - netrc parsing, passwordeval, and the order of the
 * password sources. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "runenv.h"
#include "secret.h"
#include "util.h"

/* ---- netrc ------------------------------------------------------------ */

struct netrc_case {
	const char *text, *host, *user;
	const char *want; /* NULL: no match */
};

static const struct netrc_case netrc_cases[] = {
	{"machine mail.example.org login joe password s3cret\n",
	 "mail.example.org", "joe", "s3cret"},
	/* one line or many, any white space */
	{"machine mail.example.org\n\tlogin joe\n\tpassword s3cret\n",
	 "mail.example.org", "joe", "s3cret"},
	/* host names compare case-insensitively, logins exactly */
	{"machine MAIL.Example.ORG login joe password p\n", "mail.example.org",
	 "joe", "p"},
	{"machine mail.example.org login Joe password p\n", "mail.example.org",
	 "joe", NULL},
	/* the first matching entry wins; other users and hosts are skipped */
	{"machine a login x password 1\nmachine a login joe password 2\n"
	 "machine a login joe password 3\n",
	 "a", "joe", "2"},
	{"machine b login joe password 1\n", "a", "joe", NULL},
	/* user/passwd synonyms, account ignored */
	{"machine a account acct user joe passwd p2\n", "a", "joe", "p2"},
	/* an entry without login says nothing about whose password it is */
	{"machine a password p\n", "a", "joe", NULL},
	/* an entry without password does not match */
	{"machine a login joe\n", "a", "joe", NULL},
	/* default: a fallback, used only when no machine entry matches,
	 * wherever it appears */
	{"default login joe password d\nmachine a login joe password m\n", "a",
	 "joe", "m"},
	{"machine a login joe password m\ndefault login joe password d\n", "b",
	 "joe", "d"},
	{"default login other password d\n", "b", "joe", NULL},
	/* quoting: spaces, quotes and backslashes inside a password */
	{"machine a login joe password \"two words \\\"q\\\" \\\\\"\n", "a",
	 "joe", "two words \"q\" \\"},
	{"machine a login joe password \"\"\n", "a", "joe", ""},
	/* comments */
	{"# machine a login joe password c\nmachine a login joe password p "
	 "# trailing\n",
	 "a", "joe", "p"},
	/* a macdef body is skipped up to the empty line */
	{"machine a login joe macdef init\nmachine a login joe password bad\n"
	 "\npassword good\n",
	 "a", "joe", "good"},
	{"macdef init\nmachine a login joe password bad\n\r\n"
	 "machine a login joe password good\n",
	 "a", "joe", "good"},
	/* CRLF files */
	{"machine a\r\nlogin joe\r\npassword p\r\n", "a", "joe", "p"},
	/* truncated files never match half an entry */
	{"machine a login joe password", "a", "joe", NULL},
	{"machine", "a", "joe", NULL},
	{"", "a", "joe", NULL},
	{"login joe password p\n", "a", "joe", NULL},
};

static void test_netrc_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof netrc_cases / sizeof netrc_cases[0];
	     i++) {
		const struct netrc_case *c = &netrc_cases[i];
		char *pw = NULL;
		bool found = secret_netrc_lookup(c->text, strlen(c->text),
		                                 c->host, c->user, &pw);
		if (found != (c->want != NULL) ||
		    (found && strcmp(pw, c->want) != 0))
			fail_msg("case %zu: found %d '%s', want '%s'", i,
			         found, pw ? pw : "(null)",
			         c->want ? c->want : "(null)");
		free_secret(pw);
	}
}

static void test_netrc_not_nul_terminated(void **state)
{
	(void)state;
	/* the text is (text, len): nothing past len is read */
	static const char text[] = "machine a login joe password abcdef";
	char *pw = NULL;
	assert_true(
	        secret_netrc_lookup(text, strlen(text) - 3, "a", "joe", &pw));
	assert_string_equal(pw, "abc");
	free_secret(pw);
}

/* ---- passwordeval ----------------------------------------------------- */

struct eval_case {
	const char *cmd;
	int rc;
	const char *want; /* password, or a part of the error message */
};

static const struct eval_case eval_cases[] = {
	{"echo s3cret", EX_OK, "s3cret"},
	{"printf 'no newline'", EX_OK, "no newline"},
	{"printf 'crlf\\r\\nsecond line\\n'", EX_OK, "crlf"},
	{"printf '  spaces kept  \\n'", EX_OK, "  spaces kept  "},
	{"echo first; echo second", EX_OK, "first"},
	/* much output after the first line is drained, not an error */
	{"echo first; head -c 300000 /dev/zero", EX_OK, "first"},
	/* standard input is /dev/null, not the message */
	{"cat; echo after", EX_OK, "after"},
	{"exit 3", EX_CONFIG, "failed with exit status 3"},
	{"echo pw; exit 1", EX_CONFIG, "failed with exit status 1"},
	{"true", EX_CONFIG, "printed nothing (exit status 0)"},
	{"echo", EX_CONFIG, "printed no password"},
	{"kill -9 $$", EX_CONFIG, "killed by signal 9"},
	{"/nonexistent/command", EX_CONFIG, "exit status 127"},
	{"head -c 70000 /dev/zero | tr '\\0' x", EX_CONFIG, "longer than"},
	{"printf 'a\\0b\\n'", EX_CONFIG, "NUL byte"},
	/* a secret written into the command is not repeated either */
	{"exit 5 # hunter2", EX_CONFIG, "failed with exit status 5"},
};

static void test_passwordeval_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof eval_cases / sizeof eval_cases[0]; i++) {
		const struct eval_case *c = &eval_cases[i];
		struct err e = ERR_INIT;
		char *pw = NULL;
		int rc = secret_run_passwordeval(c->cmd, 10, &pw, &e);
		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d: %s", i, c->cmd, rc,
			         err_msg(&e));
		if (rc == EX_OK) {
			assert_string_equal(pw, c->want);
		} else {
			assert_null(pw);
			/* the command may hold a secret: never repeated */
			if (!strstr(err_msg(&e), c->want) ||
			    strstr(err_msg(&e), c->cmd) ||
			    strstr(err_msg(&e), "hunter2"))
				fail_msg("case %zu: message '%s'", i,
				         err_msg(&e));
		}
		free_secret(pw);
		err_clear(&e);
	}
}

static long long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void test_passwordeval_daemon_holding_the_pipe(void **state)
{
	(void)state;
	/* The command answers and exits, but something it started keeps
	 * its standard output open (an agent): do not wait for that. */
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct err e = ERR_INIT;
	char *pw = NULL;
	int rc = secret_run_passwordeval("exec 2>/dev/null; sleep 5 & echo pw",
	                                 10, &pw, &e);
	assert_int_equal(rc, EX_OK);
	assert_string_equal(pw, "pw");
	assert_true(elapsed_ms(&start) < 2000);
	free_secret(pw);
}

static void test_passwordeval_timeout(void **state)
{
	(void)state;
	static const char *const cmds[] = {
		"exec sleep 30",           /* silent */
		"echo pw; exec sleep 30",  /* answers, never exits */
		"exec >&-; exec sleep 30", /* closes stdout, never exits */
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		struct err e = ERR_INIT;
		char *pw = NULL;
		int rc = secret_run_passwordeval(cmds[i], 1, &pw, &e);
		long long ms = elapsed_ms(&start);
		assert_int_equal(rc, EX_CONFIG);
		assert_null(pw);
		assert_non_null(
		        strstr(err_msg(&e), "timed out after 1 s"));
		if (ms > 3000)
			fail_msg("'%s' took %lld ms", cmds[i], ms);
		err_clear(&e);
	}
}

/* ---- the chain -------------------------------------------------------- */

static char tmpdir[64];

static int setup_home(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/outbox-test-secret-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/etc", tmpdir);
	mkdir(buf_str(&p), 0700);
	setenv("HOME", tmpdir, 1);
	setenv("OUTBOX_SYSCONFDIR", buf_str(&p), 1);
	/* no keyring in tests: no session bus */
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);
	buf_free(&p);
	return 0;
}

static int teardown_home(void **state)
{
	(void)state;
	struct buf cmd = BUF_INIT;
	buf_printf(&cmd, "rm -rf '%s'", tmpdir);
	int r = system(buf_str(&cmd));
	buf_free(&cmd);
	return r == 0 ? 0 : -1;
}

static void write_file(const char *rel, const char *text, mode_t mode)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s", tmpdir, rel);
	unlink(buf_str(&p));
	int fd = open(buf_str(&p), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	buf_free(&p);
}

static void remove_file(const char *rel)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s", tmpdir, rel);
	unlink(buf_str(&p));
	buf_free(&p);
}

/* secret_get_password in a child without a controlling terminal, so the
 * prompt can never be reached; the result comes back through a pipe as
 * "RC\nPASSWORD-OR-MESSAGE". */
static int get_password_detached(const struct account *a, struct buf *out)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		setsid();
		struct err e = ERR_INIT;
		char *pw = NULL;
		/* The run's environment as main.c makes it: HOME and
		 * OUTBOX_SYSCONFDIR as setup_home set them. */
		struct runenv env;
		runenv_init(&env);
		struct account *with_env = account_clone(a, NULL);
		with_env->env = &env;
		int rc = secret_get_password(with_env, &pw, &e);
		dprintf(fds[1], "%d\n%s", rc, rc == EX_OK ? pw : err_msg(&e));
		_exit(0);
	}
	close(fds[1]);
	char chunk[512];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	char *nl = strchr(buf_str(out), '\n');
	assert_non_null(nl);
	int rc = atoi(buf_str(out));
	buf_consume(out, (size_t)(nl - out->data) + 1);
	return rc;
}

static struct account *test_account(void)
{
	struct account *a = account_new("test");
	a->host = xstrdup("mail.example.org");
	a->user = xstrdup("joe");
	return a;
}

static void test_chain_password_wins(void **state)
{
	(void)state;
	struct account *a = test_account();
	a->password = xstrdup("configured");
	/* passwordeval would fail: it must not even run */
	a->passwordeval = xstrdup("exit 1");
	write_file(".netrc", "machine mail.example.org login joe password n\n",
	           0600);
	struct buf out = BUF_INIT;
	assert_int_equal(get_password_detached(a, &out), EX_OK);
	assert_string_equal(buf_str(&out), "configured");
	buf_free(&out);
	account_free(a);
	remove_file(".netrc");
}

static void test_chain_passwordeval_before_netrc(void **state)
{
	(void)state;
	struct account *a = test_account();
	a->passwordeval = xstrdup("echo evaluated");
	write_file(".netrc", "machine mail.example.org login joe password n\n",
	           0600);
	struct buf out = BUF_INIT;
	assert_int_equal(get_password_detached(a, &out), EX_OK);
	assert_string_equal(buf_str(&out), "evaluated");
	buf_reset(&out);
	/* a failing passwordeval is an error, not a reason to use netrc */
	free(a->passwordeval);
	a->passwordeval = xstrdup("exit 4");
	assert_int_equal(get_password_detached(a, &out), EX_CONFIG);
	assert_string_equal(buf_str(&out), "passwordeval command failed with "
	                                   "exit status 4");
	buf_free(&out);
	account_free(a);
	remove_file(".netrc");
}

static void test_chain_netrc_user_then_system(void **state)
{
	(void)state;
	struct account *a = test_account();
	struct buf out = BUF_INIT;
	write_file("etc/netrc",
	           "machine mail.example.org login joe password "
	           "system\n",
	           0600);
	assert_int_equal(get_password_detached(a, &out), EX_OK);
	assert_string_equal(buf_str(&out), "system");
	buf_reset(&out);
	write_file(".netrc",
	           "machine mail.example.org login joe password "
	           "user\n",
	           0600);
	assert_int_equal(get_password_detached(a, &out), EX_OK);
	assert_string_equal(buf_str(&out), "user");
	buf_reset(&out);
	/* a netrc that others can read is ignored, and the error says so */
	write_file(".netrc",
	           "machine mail.example.org login joe password "
	           "user\n",
	           0644);
	remove_file("etc/netrc");
	assert_int_equal(get_password_detached(a, &out), EX_CONFIG);
	assert_non_null(strstr(buf_str(&out), "no password for joe at "
	                                      "mail.example.org"));
	assert_non_null(strstr(buf_str(&out), ".netrc was ignored"));
	assert_null(strstr(buf_str(&out), "user\n"));
	buf_free(&out);
	account_free(a);
	remove_file(".netrc");
}

static void test_chain_nothing_no_terminal(void **state)
{
	(void)state;
	struct account *a = test_account();
	struct buf out = BUF_INIT;
	assert_int_equal(get_password_detached(a, &out), EX_CONFIG);
	assert_string_equal(buf_str(&out),
	                    "no password for joe at mail.example.org (set "
	                    "password or passwordeval, store it in the "
	                    "keyring, or add it to ~/.netrc)");
	buf_free(&out);
	account_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netrc_table),
		cmocka_unit_test(test_netrc_not_nul_terminated),
		cmocka_unit_test(test_passwordeval_table),
		cmocka_unit_test(test_passwordeval_daemon_holding_the_pipe),
		cmocka_unit_test(test_passwordeval_timeout),
		cmocka_unit_test_setup_teardown(test_chain_password_wins,
		                                setup_home, teardown_home),
		cmocka_unit_test_setup_teardown(
		        test_chain_passwordeval_before_netrc, setup_home,
		        teardown_home),
		cmocka_unit_test_setup_teardown(
		        test_chain_netrc_user_then_system, setup_home,
		        teardown_home),
		cmocka_unit_test_setup_teardown(test_chain_nothing_no_terminal,
		                                setup_home, teardown_home),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
