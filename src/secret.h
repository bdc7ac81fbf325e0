/* secret.h - where the password (or OAuth token) comes from.
 *
 * Sources, first match wins (as msmtp):
 *   1. `password` from the configuration;
 *   2. `passwordeval`: the first line of the command's output, without its
 *      line ending, run by command.h's runner (/bin/sh -c, standard input
 *      /dev/null, standard error inherited so gpg/pass can talk to the
 *      user, its own process group, killed when its time is up; once it
 *      has exited, output of daemons it left behind is not waited for).
 *      Its time limit is the account's timeout when one is set, else
 *      SECRET_EVAL_TIMEOUT_S. A failing command (non-zero status, signal,
 *      no output or an empty first line, time-out) is an error, never a
 *      reason to try the next source;
 *   3. the Secret Service keyring (when built with libsecret), with msmtp's
 *      schema, so `secret-tool store --label=msmtp host HOST service smtp
 *      user USER` entries and msmtp's own entries are found (keyring.h:
 *      libsecret is loaded only here, on first use); skipped silently
 *      when no session bus exists or the lookup fails; when libsecret
 *      cannot be loaded the next sources are still tried, and the final
 *      "no password" error says why the keyring was not asked;
 *   4. ~/.netrc, then SYSCONFDIR/netrc (the home and sysconfdir of the
 *      account's run environment, runenv.h; none without one): the first `machine HOST` entry whose login is the user
 *      (host compared case-insensitively), else a `default` entry with
 *      that login. A netrc file that group or others
 *      can read is ignored (as ftp(1) does, and as security invariant 7
 *      does for configuration files) and the final error says so;
 *   5. a prompt "password for USER at HOST: " on /dev/tty, echo off, when
 *      the process has a controlling terminal.
 * Nothing is touched after the first source that answers (performance
 * budget: no keyring lookup when a password is configured). */
#ifndef OUTBOX_SECRET_H
#define OUTBOX_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "err.h"

#define SECRET_MAX_LEN (64 * 1024) /* longest password/token accepted */
/* passwordeval's time limit when the account sets no timeout: time for a
 * pinentry prompt */
#define SECRET_EVAL_TIMEOUT_S 120

/* Get the password for a->user at a->host into *out (heap; release with
 * free_secret()). Fails with EX_CONFIG: "passwordeval command failed with
 * exit status N" (or was killed, timed out, printed nothing; the command's
 * text is never repeated, it may hold a secret), or "no password for USER
 * at HOST (...)" when no source has one and there is no terminal to ask
 * (ending "; the keyring cannot be used: libsecret-1.so.0 is not installed
 * (apt install libsecret-1-0)" when that is why it was not asked);
 * EX_NOPERM when the user cancels the prompt (EOF). */
int secret_get_password(const struct account *a, char **out, struct err *e);

/* ---- for tests ------------------------------------------------------- */

/* Run cmd as passwordeval does, stopping it after timeout_s seconds; the
 * first line of its output into *out (heap, free_secret()). */
int secret_run_passwordeval(const char *cmd, int timeout_s, char **out,
			    struct err *e);

/* Look host/user up in netrc text. Pure. Returns true and sets *password
 * (heap, free_secret()) on a match. Tokens are separated by white space and
 * may be "double quoted" with backslash escapes; `#` at the start of a token
 * starts a comment; `macdef` bodies (up to an empty line) are skipped;
 * `login`/`user` and `password`/`passwd` are synonyms. */
bool secret_netrc_lookup(const char *text, size_t len, const char *host,
			 const char *user, char **password);

#endif
