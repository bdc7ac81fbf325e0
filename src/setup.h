/* setup.h - the effective account for this run: the configuration files'
 * account chosen by -a / --from / the envelope sender / "default", with the
 * command-line overrides applied on top and msmtp's defaults filled in. */
#ifndef OUTBOX_SETUP_H
#define OUTBOX_SETUP_H

#include "cli.h"
#include "conf.h"
#include "err.h"

/* Choose and build the account. from_hint (may be NULL) is the envelope
 * sender used to pick an account whose `from` matches (msmtp's --from and
 * --read-envelope-from), as a shell wildcard pattern when `from` has one.
 * With --host, or without a matching or default account, the command line
 * alone defines the account; msmtp's $SMTPSERVER (the host) and $EMAIL
 * (the sender) fill in for a missing default account when -a and --host
 * were not given. The account gets conf->env (runenv.h), and its
 * `domain` has msmtp's %H %C %M replaced (as msmtp 1.8.16+, in every
 * mode; %C may query DNS, %M reads SYSCONFDIR/mailname: only when used).
 * *out is a new account the caller frees. EX_CONFIG / EX_USAGE with a
 * message naming what to fix (EX_CONFIG for a mailname that is missing or
 * empty, as msmtp). */
int setup_account(const struct conf *conf, const struct options *opts,
                  const char *from_hint, struct account **out,
                  struct err *e);

#endif
