/* runenv.h - the run's environment: who runs outbox, on which host, with
 * which home and system configuration directories, and msmtp's
 * substitution patterns (%U %H %C %M) that put them into `from` and
 * `domain`.
 *
 * main.c fills one struct runenv (runenv_init) and passes it down: struct
 * conf and every account it makes carry a pointer to it (conf_parse.h,
 * account.h), so no other module reads these environment variables, the
 * password database or the host name itself (DESIGN.md: "the run's
 * environment read once in main.c and passed down").
 *
 * The environment variables are copied once, at runenv_init. What costs is
 * looked up on first use only, then kept for the rest of the run: the
 * password database (only when HOME, USER and LOGNAME are missing, or when
 * HOME belongs to another user: runenv_user_home),
 * gethostname(2), the canonical host name (a name service query: only for
 * %C) and SYSCONFDIR/mailname (only for %M). Nothing is resolved or read
 * that the run does not use (DESIGN.md, performance budget). */
#ifndef OUTBOX_RUNENV_H
#define OUTBOX_RUNENV_H

#include <stdbool.h>

#include "err.h"

struct runenv {
	/* $OUTBOX_SYSCONFDIR when set and not empty (tests, packagers),
	 * else the SYSCONFDIR outbox was built with: where outboxrc,
	 * msmtprc, netrc and mailname are looked for. */
	char *sysconfdir;
	/* $EMAIL and $SMTPSERVER (NULL when unset or empty): msmtp's stand-in
	 * for a missing default account (setup.h). */
	char *email, *smtpserver;

	/* The rest is private: use the functions below. */
	char *home_var, *user_var, *logname_var, *hostname_var;
	char *config_home_var, *cache_home_var, *state_home_var;
	char *home, *user, *host, *canonical_host, *mailname;
	char *user_home, *config_home, *cache_home, *state_home;
	bool home_done, user_home_done;
};

/* Copy HOME, USER, LOGNAME, HOSTNAME, EMAIL, SMTPSERVER, XDG_CONFIG_HOME
 * and OUTBOX_SYSCONFDIR from the environment into env. Looks nothing else
 * up. */
void runenv_init(struct runenv *env);

/* The environment of a message picked up from the maildrop (pickup.h):
 * base's system configuration directory and host name, and login as the
 * user name (%U, auto_from); nothing else of the submitter's or root's
 * (~ is root's home, from the password database). Free with
 * runenv_free. */
void runenv_init_submitter(struct runenv *env, const struct runenv *base,
                           const char *login);

/* Free what env holds; env is empty afterwards. */
void runenv_free(struct runenv *env);

/* The home directory: $HOME when it is an absolute path, else the
 * password database's entry for the real user ID; NULL when neither has
 * one. For ~ in file names, the user configuration files, ~/.netrc and the
 * default queue directory. */
const char *runenv_home(struct runenv *env);

/* Where the user-level configuration files are looked for: runenv_home(),
 * except when the real user is not root and that directory exists but is
 * owned by another uid (HOME inherited from root by cron or `su USER`, or
 * pointing into someone else's home): then the password database's home
 * of the real user ID, whether it exists or not (a missing one simply
 * holds no file); NULL when there is none. A file from another user's
 * home would run that user's `eval` and `passwordeval` commands as the
 * caller, and root's home is not readable anyway. */
const char *runenv_user_home(struct runenv *env);

/* The base of the user configuration files: $XDG_CONFIG_HOME when it is an
 * absolute path and runenv_user_home() is the one HOME names (a HOME set
 * aside takes the XDG_CONFIG_HOME that came with it along), else
 * runenv_user_home()/.config; NULL when there is no user home. */
const char *runenv_config_home(struct runenv *env);

/* The same for $XDG_CACHE_HOME (else ~/.cache: the TLS session cache) and
 * $XDG_STATE_HOME (else ~/.local/state: the queue). */
const char *runenv_cache_home(struct runenv *env);
const char *runenv_state_home(struct runenv *env);

/* The user name, as msmtp's %U: $USER, else $LOGNAME, else getlogin(3),
 * else the password database's name for the real user ID, else
 * "unknown" (an empty variable counts as unset). Never NULL. */
const char *runenv_user(struct runenv *env);

/* The host name, as msmtp's %H: $HOSTNAME when set and not empty, else
 * gethostname(2), else "localhost". Never NULL. */
const char *runenv_host(struct runenv *env);

/* The canonical name of runenv_host() (msmtp's %C): getaddrinfo(3) with
 * AI_CANONNAME, which may query DNS; the host name itself when that
 * fails. Never NULL. */
const char *runenv_canonical_host(struct runenv *env);

/* The first line of SYSCONFDIR/mailname (msmtp's %M), without its line
 * end, into *out (owned by env). EX_CONFIG when the file cannot be opened
 * or read or its first line is empty (msmtp refuses these too). */
int runenv_mailname(struct runenv *env, const char **out, struct err *e);

/* Expand msmtp's substitution patterns in pattern, exactly as msmtp 1.8
 * does (conf.c, expand_from_or_domain): every %M, then every %U (only when
 * with_user: `from` has %U, `domain` does not), then every %H, then every
 * %C is replaced by runenv_mailname(), runenv_user(), runenv_host(),
 * runenv_canonical_host(); control characters in the first three become
 * '?'. There is no escape: "%%H" is "%" and the host name. Only what the
 * pattern uses is looked up. *out is a new heap string. Fails as
 * runenv_mailname() does (EX_CONFIG). */
int runenv_expand(struct runenv *env, const char *pattern, bool with_user,
                  char **out, struct err *e);

#endif
