/* setup.c - choose the account and apply command-line overrides. */
#include "setup.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

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
	rc = apply_overrides(a, opts, e);
	if (rc == EX_OK && !chosen && !a->host && !a->socket)
		rc = err_set(e, EX_CONFIG,
		             "no account to use: %s; define an account "
		             "(or 'account default : NAME') in ~/.outboxrc or "
		             "~/.msmtprc, or give --host",
		             conf->file_count ? "the configuration has no "
		                                "'default' account and -a was "
		                                "not given"
		                              : "no configuration file was found");
	if (rc == EX_OK)
		rc = account_finalize(a, e);
	if (rc != EX_OK) {
		account_free(a);
		return rc;
	}
	*out = a;
	return EX_OK;
}
