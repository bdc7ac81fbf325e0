/* test_command.c - the runner of configured commands: the first line,
 * exit status and signals, time limits that hold whatever the command
 * does, the process group stopped on a time-out, daemons that keep the
 * pipe open, and messages that never repeat the command. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "command.h"
#include "err.h"

static long long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Run cmd; *line is the first line on success, *e the message. */
static int run(const char *cmd, bool strict, int timeout_s, size_t line_max,
               struct buf *line, struct err *e)
{
	struct command c = {
		.cmd = cmd,
		.what = "test command",
		.timeout_s = timeout_s,
		.line_max = line_max,
		.strict = strict,
	};
	return command_run(&c, line, e);
}

struct outcome_case {
	const char *cmd;
	bool strict;
	int rc;
	const char *want; /* the line, or a part of the message */
};

static const struct outcome_case outcome_cases[] = {
	{"echo first; echo second", true, EX_OK, "first"},
	{"echo first; echo second", false, EX_OK, "first"},
	{"printf 'no newline'", true, EX_OK, "no newline"},
	{"printf 'crlf\\r\\n'", false, EX_OK, "crlf"},
	{"echo", false, EX_OK, ""},
	/* standard input is /dev/null, standard error may be written to */
	{"cat; echo after", true, EX_OK, "after"},
	{"echo to-stderr >&2; echo ok", true, EX_OK, "ok"},
	/* exit status: strict fails, eval's way only when nothing came */
	{"echo line; exit 3", true, EX_CONFIG,
	 "test command failed with exit status 3"},
	{"echo line; exit 3", false, EX_OK, "line"},
	{"exit 7", false, EX_CONFIG,
	 "test command printed nothing (exit status 7)"},
	{"true", true, EX_CONFIG,
	 "test command printed nothing (exit status 0)"},
	/* signals */
	{"echo line; kill -9 $$", true, EX_CONFIG,
	 "test command was killed by signal 9"},
	{"kill -TERM $$", false, EX_CONFIG,
	 "test command printed nothing (killed by signal 15)"},
	/* eval's way: a command that writes on gets SIGPIPE */
	{"yes line", false, EX_OK, "line"},
	/* the first line has a limit (line_max is 100 here), and no NUL */
	{"head -c 101 /dev/zero | tr '\\0' x", true, EX_CONFIG,
	 "printed a first line longer than 100 bytes"},
	{"head -c 100 /dev/zero | tr '\\0' x", true, EX_OK, NULL},
	{"yes | tr -d '\\n'", false, EX_CONFIG, "longer than 100 bytes"},
	{"printf 'a\\0b\\n'", false, EX_CONFIG, "printed a NUL byte"},
	/* the message never repeats the command, which may hold a secret */
	{"exit 5 # hunter2", true, EX_CONFIG, "exit status 5"},
};

static void test_outcomes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof outcome_cases / sizeof *outcome_cases;
	     i++) {
		const struct outcome_case *c = &outcome_cases[i];
		struct buf line = BUF_INIT;
		struct err e = ERR_INIT;
		int rc = run(c->cmd, c->strict, 10, 100, &line, &e);
		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d: %s", i, c->cmd, rc,
			         err_msg(&e));
		if (rc == EX_OK && c->want &&
		    strcmp(buf_str(&line), c->want) != 0)
			fail_msg("case %zu: line '%s'", i, buf_str(&line));
		if (rc != EX_OK &&
		    (!strstr(err_msg(&e), c->want) ||
		     strstr(err_msg(&e), c->cmd) ||
		     strstr(err_msg(&e), "hunter2")))
			fail_msg("case %zu: message '%s'", i, err_msg(&e));
		buf_wipe(&line);
		err_clear(&e);
	}
}

static void test_long_line_comes_back_whole(void **state)
{
	(void)state;
	struct buf line = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(run("head -c 200000 /dev/zero | tr '\\0' x; echo",
	                     true, 10, 1024 * 1024, &line, &e),
	                 EX_OK);
	assert_int_equal(line.len, 200000);
	assert_int_equal(strspn(buf_str(&line), "x"), 200000);
	buf_wipe(&line);
}

/* The limit holds whatever the command does: silent, answering and
 * staying, closing its output and staying. */
static void test_time_limit(void **state)
{
	(void)state;
	static const char *const cmds[] = {
		"sleep 20",
		"echo line; sleep 20",
		"exec >&-; sleep 20",
		"trap '' TERM; sleep 20", /* SIGKILL after the grace */
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		for (int strict = 0; strict < 2; strict++) {
			struct timespec start;
			clock_gettime(CLOCK_MONOTONIC, &start);
			struct buf line = BUF_INIT;
			struct err e = ERR_INIT;
			int rc = run(cmds[i], strict, 1, 100, &line, &e);
			long long ms = elapsed_ms(&start);
			assert_int_equal(rc, EX_CONFIG);
			assert_string_equal(err_msg(&e),
			                    "test command timed out after 1 s");
			if (ms < 1000 || ms > 1000 + COMMAND_KILL_GRACE_MS + 500)
				fail_msg("'%s': %lld ms", cmds[i], ms);
			buf_wipe(&line);
			err_clear(&e);
		}
	}
}

/* The pid written to path by the command, or 0. */
static pid_t read_pid(const char *path)
{
	long pid = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* pid is gone, or a zombie waiting for a parent that will reap it. */
static bool process_gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return kill(pid, 0) != 0 && errno == ESRCH;
	char state = '?';
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = '?';
	fclose(f);
	return state == 'Z' || state == 'X';
}

static bool gone_within(pid_t pid, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		if (process_gone(pid))
			return true;
		struct timespec pause = {0, 10 * 1000000L};
		nanosleep(&pause, NULL);
	}
	return false;
}

/* On a time-out the whole process group goes, not only sh. */
static void test_time_out_stops_the_group(void **state)
{
	(void)state;
	char pidfile[] = "/tmp/outbox-test-command-XXXXXX";
	int fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd,
	         "sleep 30 & echo $! > %s; exec 2>/dev/null; sleep 20",
	         pidfile);
	struct buf line = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(run(cmd, true, 1, 100, &line, &e), EX_CONFIG);
	pid_t grandchild = read_pid(pidfile);
	unlink(pidfile);
	assert_true(grandchild > 0);
	if (!gone_within(grandchild, 1000)) {
		kill(grandchild, SIGKILL);
		fail_msg("the grandchild %ld outlived the time-out",
		         (long)grandchild);
	}
	buf_wipe(&line);
	err_clear(&e);
}

/* Once sh has exited, a daemon it left holding the pipe is not waited
 * for (and, the command having succeeded, it is left alone). */
static void test_daemon_holding_the_pipe(void **state)
{
	(void)state;
	static const struct {
		const char *before, *after; /* around the daemon's pid file */
		const char *want;
	} cases[] = {
		{"echo x; sleep 30 & echo $! > ", "", "x"},
		/* no newline: sh's exit alone ends the wait */
		{"printf x; sleep 30 & echo $! > ", "; printf y", "xy"},
	};
	for (size_t i = 0; i < 2 * sizeof cases / sizeof *cases; i++) {
		bool strict = i % 2;
		char pidfile[] = "/tmp/outbox-test-command-XXXXXX";
		int fd = mkstemp(pidfile);
		assert_true(fd >= 0);
		close(fd);
		char cmd[256];
		snprintf(cmd, sizeof cmd, "%s%s%s", cases[i / 2].before,
		         pidfile, cases[i / 2].after);
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		struct buf line = BUF_INIT;
		struct err e = ERR_INIT;
		int rc = run(cmd, strict, 10, 100, &line, &e);
		long long ms = elapsed_ms(&start);
		pid_t daemon_pid = read_pid(pidfile);
		unlink(pidfile);
		assert_true(daemon_pid > 0);
		bool left_alone = !process_gone(daemon_pid);
		kill(daemon_pid, SIGKILL);
		if (rc != EX_OK)
			fail_msg("case %zu: %s", i, err_msg(&e));
		assert_string_equal(buf_str(&line), cases[i / 2].want);
		if (ms > 1000)
			fail_msg("case %zu: %lld ms", i, ms);
		assert_true(left_alone);
		buf_wipe(&line);
		err_clear(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_long_line_comes_back_whole),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_time_out_stops_the_group),
		cmocka_unit_test(test_daemon_holding_the_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
