/* envelope.c - build the SMTP envelope; see envelope.h. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "buf.h"
#include "msg.h"
#include "runenv.h"
#include "util.h"

/* The user name for auto_from: the run's (runenv.h); "unknown" for an
 * account without a run environment (unit tests). */
static const char *user_of(const struct account *a)
{
	return a->env ? runenv_user(a->env) : "unknown";
}

/* The sender, decided as msmtp 1.8.23 does (msmtp.c, after
 * override_account()):
 * 1. auto_from (obsolete) replaces every other sender, even -f;
 * 2. -f or --read-envelope-from, when allow_from_override is on (with it
 *    off they are ignored, even when the account has no `from`);
 * 3. the account's `from`, %U %H %C %M expanded;
 * 4. none: EX_CONFIG, as msmtp ("envelope-from address is missing"). */
static int choose_sender(const struct options *opts, const struct account *a,
                         const struct message *m, char **from,
                         struct err *e)
{
	*from = NULL;
	if (a->auto_from) {
		struct buf b = BUF_INIT;
		buf_add_str(&b, user_of(a));
		if (a->maildomain && *a->maildomain)
			buf_printf(&b, "@%s", a->maildomain);
		*from = buf_steal(&b);
		return EX_OK;
	}
	if (opts->envelope_from && a->allow_from_override) {
		if (!*opts->envelope_from || strcmp(opts->envelope_from, "<>") == 0) {
			*from = xstrdup(""); /* -f '' / -f '<>': null sender */
			return EX_OK;
		}
		int rc = addr_parse_mailbox(opts->envelope_from, from, e);
		if (rc != EX_OK) {
			err_prefix(e, "option -f");
			e->code = EX_USAGE;
			return EX_USAGE;
		}
		return EX_OK;
	}
	if (opts->read_envelope_from && a->allow_from_override) {
		*from = msg_header_sender(m);
		if (!*from)
			return err_set(e, EX_DATAERR,
			               "--read-envelope-from: the message has no "
			               "From header");
		return EX_OK;
	}
	if (a->from) {
		if (!a->env) {
			*from = xstrdup(a->from);
			return EX_OK;
		}
		int rc = runenv_expand(a->env, a->from, true, from, e);
		if (rc != EX_OK)
			err_prefix(e, "account '%s': from", a->name);
		return rc;
	}
	return err_set(e, EX_CONFIG,
	               "no envelope-from address: set 'from' in the account "
	               "'%s'%s", a->name,
	               a->allow_from_override
	                       ? ", or pass -f ADDRESS or --read-envelope-from"
	                       : " (allow_from_override is off, so -f and "
	                         "--read-envelope-from are ignored)");
}

int envelope_sender(const struct options *opts, const struct account *a,
                    char **from, struct err *e)
{
	struct options plain = *opts;
	plain.read_envelope_from = false; /* there is no message */
	return choose_sender(&plain, a, NULL, from, e);
}

static int add_operands(const struct options *opts, struct addr_list *rcpt,
                        struct err *e)
{
	for (size_t i = 0; i < opts->recipient_count; i++) {
		const char *arg = opts->recipients[i];
		/* sendmail takes "a@x, b@y" as one operand too. */
		int rc = addr_parse_list(arg, strlen(arg), rcpt, e);
		if (rc != EX_OK) {
			err_prefix(e, "recipient argument");
			e->code = EX_USAGE;
			return EX_USAGE;
		}
	}
	return EX_OK;
}

static void remove_duplicates(struct addr_list *rcpt)
{
	size_t kept = 0;
	for (size_t i = 0; i < rcpt->count; i++) {
		bool dup = false;
		for (size_t j = 0; j < kept && !dup; j++)
			dup = ascii_casecmp(rcpt->items[j].mailbox,
			                    rcpt->items[i].mailbox) == 0;
		if (dup) {
			free(rcpt->items[i].display);
			free(rcpt->items[i].mailbox);
		} else {
			rcpt->items[kept++] = rcpt->items[i];
		}
	}
	rcpt->count = kept;
}

static int apply_aliases(const struct account *a, struct addr_list *rcpt,
                         struct err *e)
{
	if (!a->aliases)
		return EX_OK;
	struct aliases *aliases = NULL;
	int rc = aliases_load(a->aliases, &aliases, e);
	if (rc == EX_OK)
		rc = aliases_expand(aliases, rcpt, e);
	aliases_free(aliases);
	return rc;
}

static int collect_recipients(const struct options *opts,
                              const struct account *a,
                              const struct message *m,
                              struct addr_list *rcpt, struct err *e)
{
	int rc = add_operands(opts, rcpt, e);
	if (rc == EX_OK && opts->read_recipients) {
		size_t before = rcpt->count;
		rc = msg_header_recipients(m, rcpt, e);
		if (rc == EX_OK && rcpt->count == before &&
		    opts->recipient_count == 0)
			return err_set(e, EX_DATAERR,
			               "-t: the message has no To, Cc or Bcc "
			               "header with an address, and no recipient "
			               "was given as an argument");
	}
	if (rc != EX_OK)
		return rc;
	if (rcpt->count == 0)
		return err_set(e, EX_USAGE,
		               "no recipients: give them as arguments or use -t "
		               "to read them from the To, Cc and Bcc headers");
	rc = apply_aliases(a, rcpt, e);
	if (rc != EX_OK)
		return rc;
	/* Local names (cron's "root") go out as they are, as msmtp sends
	 * them (RCPT TO:<root>): maildomain only completes auto_from. */
	remove_duplicates(rcpt);
	for (size_t i = 0; i < rcpt->count; i++) {
		rc = addr_check_smtp_safe(rcpt->items[i].mailbox, false, e);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

/* RFC 3461 4.2: ORCPT names the recipient as the client gave it, so only
 * a recipient that reached the envelope unchanged keeps it. */
static void carry_dsn(const struct options *opts, struct envelope *env)
{
	env->dsn_envid = xstrdup_or_null(opts->dsn_envid);
	if (!opts->recipient_orcpt)
		return;
	for (size_t i = 0; i < env->rcpt.count; i++) {
		const char *mailbox = env->rcpt.items[i].mailbox;
		for (size_t k = 0; k < opts->recipient_count; k++)
			if (opts->recipient_orcpt[k] &&
			    strcmp(opts->recipients[k], mailbox) == 0) {
				addr_list_add(&env->dsn_orcpt,
				              opts->recipient_orcpt[k], mailbox);
				break;
			}
	}
}

int envelope_build(const struct options *opts, const struct account *a,
                   const struct message *m, struct envelope *env,
                   struct err *e)
{
	memset(env, 0, sizeof *env);
	int rc = choose_sender(opts, a, m, &env->from, e);
	if (rc == EX_OK)
		rc = addr_check_smtp_safe(env->from, true, e);
	if (rc == EX_OK)
		rc = collect_recipients(opts, a, m, &env->rcpt, e);
	if (rc == EX_OK)
		carry_dsn(opts, env);
	return rc;
}

char *envelope_msgid_domain(const struct envelope *env,
                            const struct account *a)
{
	/* msmtp 1.8.25+ (msgid.c, create_msgid): `domain` unless it is the
	 * default "localhost", else the sender's domain, else the server's
	 * host name. Nothing is looked up (no DNS, no file). */
	if (a->domain && *a->domain && strcmp(a->domain, "localhost") != 0)
		return xstrdup(a->domain);
	const char *at = env->from ? strrchr(env->from, '@') : NULL;
	if (at && at[1])
		return xstrdup(at + 1);
	if (!a->host || !*a->host)
		return xstrdup("localhost"); /* a socket: no host name */
	struct buf b = BUF_INIT;
	/* RFC 5322 3.6.4: an IPv6 address is an id-right only as a
	 * no-fold-literal. */
	if (strchr(a->host, ':'))
		buf_printf(&b, "[%s]", a->host);
	else
		buf_add_str(&b, a->host);
	return buf_steal(&b);
}

void envelope_free(struct envelope *env)
{
	free(env->from);
	env->from = NULL;
	addr_list_free(&env->rcpt);
	free(env->submitter);
	env->submitter = NULL;
	env->has_submitter = false;
	free(env->dsn_envid);
	env->dsn_envid = NULL;
	addr_list_free(&env->dsn_orcpt);
}
