/* setup.c - choose the account and apply command-line overrides. */
#include "setup.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "runenv.h"
#include "util.h"

/* msmtp: a glob(7) pattern, or the address ignoring ASCII case. */
static bool from_matches(const char *pattern, const char *from)
{
	return ascii_casecmp(pattern, from) == 0 ||
	       fnmatch(pattern, from, 0) == 0;
}

/* user+detail@domain without "+detail" (heap), or NULL when from has no
 * detail before its '@'. */
static char *without_detail(const char *from)
{
	const char *plus = strchr(from, '+');
	const char *at = strchr(from, '@');
	if (!plus || !at || plus > at)
		return NULL;
	struct buf b = BUF_INIT;
	buf_add(&b, from, (size_t)(plus - from));
	buf_add_str(&b, at);
	return buf_steal(&b);
}

/* The first account whose `from` matches, as msmtp 1.8.12+ chooses it: a
 * subaddress user+detail@domain also matches an account of user@domain,
 * unless that account's `from` has a '+' of its own. */
static struct account *find_by_from(const struct conf *conf,
                                    const char *from)
{
	char *plain = without_detail(from);
	struct account *found = NULL;
	for (size_t i = 0; i < conf->count && !found; i++) {
		const char *pattern = conf->accounts[i]->from;
		if (!pattern)
			continue;
		if (from_matches(pattern, from) ||
		    (plain && !strchr(pattern, '+') &&
		     from_matches(pattern, plain)))
			found = conf->accounts[i];
	}
	free(plain);
	return found;
}

static int pick_account(const struct conf *conf, const struct options *opts,
                        const char *from_hint, const struct account **out,
                        struct err *e)
{
	*out = NULL;
	/* msmtp: --host means the command line alone, no file's account */
	if (cli_find_setting(opts, "host"))
		return EX_OK;
	if (opts->account) {
		*out = conf_find_account(conf, opts->account);
		if (!*out)
			return err_set(e, EX_CONFIG,
			               "account '%s' is not defined in %s",
			               opts->account,
			               conf->file_count ? "the configuration files"
			                                : "any configuration file "
			                                  "(none was found)");
		return EX_OK;
	}
	if (from_hint)
		*out = find_by_from(conf, from_hint);
	if (!*out)
		*out = conf_find_account(conf, "default");
	return EX_OK;
}

static int apply_overrides(struct account *a, const struct options *opts,
                           struct err *e)
{
	for (size_t i = 0; i < opts->setting_count; i++) {
		const struct cli_setting *s = &opts->settings[i];
		int rc = account_set(a, s->directive, s->value, e);
		if (rc != EX_OK) {
			err_prefix(e, "command line");
			e->code = EX_USAGE;
			return EX_USAGE;
		}
	}
	return EX_OK;
}

/* msmtp: without --host, -a and a default account (none chosen by -f
 * either), $SMTPSERVER is the host and $EMAIL the sender, when the mode
 * needs no sender or one is given (-f, --read-envelope-from, $EMAIL).
 * Both go through account_set, checked as the directives are. */
static int apply_environment(struct account *a, const struct options *opts,
                             const struct runenv *env, struct err *e)
{
	bool send = opts->mode == MODE_SEND;
	bool sender_given = opts->envelope_from || opts->read_envelope_from;
	if (!env || !env->smtpserver ||
	    (send && !sender_given && !env->email))
		return EX_OK;
	int rc = account_set(a, "host", env->smtpserver, e);
	if (rc != EX_OK) {
		err_prefix(e, "environment variable SMTPSERVER");
		return EX_CONFIG;
	}
	if (send && !sender_given) {
		rc = account_set(a, "from", env->email, e);
		if (rc != EX_OK) {
			err_prefix(e, "environment variable EMAIL");
			return EX_CONFIG;
		}
	}
	return EX_OK;
}

/* msmtp 1.8.16+ replaces %H, %C and %M in `domain` once the account is
 * complete, in every mode (msmtp.c: expand_domain() before
 * check_account()), so a missing mailname is a configuration error even
 * for --serverinfo. The result goes into EHLO: it must stay one word
 * (DESIGN.md invariant 5; smtp_hello checks again). */
static int expand_domain(struct account *a, struct err *e)
{
	if (!a->domain && a->direct_delivery)
		/* RFC 5321 4.1.1.1: EHLO names this host by its FQDN, and
		 * the MX hosts of the world check it (direct.h) */
		a->domain = xstrdup(a->env ? runenv_canonical_host(a->env)
		                           : "localhost");
	if (!a->env || !strchr(a->domain, '%'))
		return EX_OK;
	char *expanded = NULL;
	int rc = runenv_expand(a->env, a->domain, false, &expanded, e);
	if (rc == EX_OK) {
		size_t len = strlen(expanded);
		bool ok = len > 0 && len <= ADDR_MAX_DOMAIN;
		for (size_t i = 0; ok && i < len; i++)
			ok = (unsigned char)expanded[i] > ' ' &&
			     expanded[i] != 0x7f;
		if (!ok)
			rc = err_set(e, EX_CONFIG, "'domain %s' gives \"%s\", "
			             "which is not a host name (empty, longer "
			             "than %d characters, or with a blank)",
			             a->domain, expanded, ADDR_MAX_DOMAIN);
	}
	if (rc != EX_OK) {
		free(expanded);
		if (a->file)
			err_prefix(e, "account '%s' from %s", a->name, a->file);
		else
			err_prefix(e, "account '%s'", a->name);
		return EX_CONFIG;
	}
	free(a->domain);
	a->domain = expanded;
	return EX_OK;
}

int setup_account(const struct conf *conf, const struct options *opts,
                  const char *from_hint, struct account **out,
                  struct err *e)
{
	const struct account *chosen;
	int rc = pick_account(conf, opts, from_hint, &chosen, e);
	if (rc != EX_OK)
		return rc;
	struct account *a = chosen ? account_clone(chosen, chosen->name)
	                           : account_new("(command line)");
	a->env = conf->env;
	rc = apply_overrides(a, opts, e);
	if (rc == EX_OK && !chosen && !opts->account && !a->host && !a->socket)
		rc = apply_environment(a, opts, conf->env, e);
	if (rc == EX_OK && !chosen && !a->host && !a->socket)
		rc = err_set(e, EX_CONFIG,
		             "no account to use: %s; define an account "
		             "(or 'account default : NAME') in ~/.outboxrc or "
		             "~/.msmtprc, give --host, or set SMTPSERVER (and "
		             "EMAIL)",
		             conf->file_count ? "the configuration has no "
		                                "'default' account and -a was "
		                                "not given"
		                              : "no configuration file was found");
	if (rc == EX_OK)
		rc = account_finalize(a, e);
	if (rc == EX_OK)
		rc = expand_domain(a, e);
	if (rc != EX_OK) {
		account_free(a);
		return rc;
	}
	*out = a;
	return EX_OK;
}
