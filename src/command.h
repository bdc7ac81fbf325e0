/* command.h - run a command from the configuration (`eval`,
 * `passwordeval`) and take the first line of its output.
 *
 * The one way outbox runs such a command, with one set of guarantees:
 *   - /bin/sh -c CMD, in outbox's own environment and working directory,
 *     with the signal mask cleared and SIGPIPE at its default action;
 *   - standard input is /dev/null (outbox's standard input is the mail);
 *   - standard output is captured through a close-on-exec pipe, so no
 *     other child of outbox inherits it; standard error is inherited, so
 *     gpg, pass or a pinentry can talk to the user;
 *   - it runs in a process group of its own; when the time limit passes,
 *     or outbox gives up on it (a first line too long), the whole group
 *     gets SIGTERM, then SIGKILL after COMMAND_KILL_GRACE_MS;
 *   - the time limit bounds everything, reading and waiting included;
 *   - once sh has exited, nothing more is waited for: a daemon it started
 *     (an agent) may keep the pipe open without holding outbox up;
 *   - what is read is wiped: the first line lives in a buffer that grows
 *     by buf_add_secret, the read chunks are zeroed, the rest is dropped.
 * Messages name the command by its role ("passwordeval command"), never
 * by its text, which may hold a secret inline. */
#ifndef OUTBOX_COMMAND_H
#define OUTBOX_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct buf;

/* How long a command group gets between SIGTERM and SIGKILL. */
#define COMMAND_KILL_GRACE_MS 500

struct command {
	const char *cmd;  /* given to /bin/sh -c */
	const char *what; /* its role in messages: "passwordeval command" */
	int timeout_s;    /* the time limit, > 0 */
	size_t line_max;  /* the longest first line accepted, in bytes */
	/* false (msmtp's eval): stop reading after the first line, and the
	 * exit status only matters when nothing was printed; a command that
	 * writes on gets SIGPIPE.
	 * true (passwordeval): read and drop the rest so the command can
	 * finish, and fail unless it exits with status 0. */
	bool strict;
};

/* Run c and put the first line of its output, without the newline and a
 * CR before it, into line (appended; the caller wipes it with buf_wipe).
 * Fails with EX_CONFIG and one of "WHAT timed out after N s", "WHAT was
 * killed by signal N", "WHAT failed with exit status N" (strict only),
 * "WHAT printed nothing (exit status N)", "WHAT printed a first line
 * longer than N bytes", "WHAT printed a NUL byte"; EX_OSERR when it cannot
 * be started, EX_IOERR when its output cannot be read. */
int command_run(const struct command *c, struct buf *line, struct err *e);

#endif
