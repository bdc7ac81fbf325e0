/* envelope.c - build the SMTP envelope; see envelope.h. */
#include "envelope.h"

#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "msg.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static char *user_name(void)
{
	const char *env = getenv("USER");
	if (!env || !*env)
		env = getenv("LOGNAME");
	if (env && *env)
		return xstrdup(env);
	struct passwd *pw = getpwuid(getuid());
	return xstrdup(pw ? pw->pw_name : "unknown");
}

static char *host_name(void)
{
	const char *env = getenv("HOSTNAME");
	if (env && *env)
		return xstrdup(env);
	char name[256] = "localhost";
	if (gethostname(name, sizeof name - 1) != 0)
		strcpy(name, "localhost");
	name[sizeof name - 1] = '\0';
	return xstrdup(name);
}

static char *canonical_host_name(void)
{
	char *host = host_name();
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res &&
	    res->ai_canonname) {
		free(host);
		host = xstrdup(res->ai_canonname);
	}
	if (res)
		freeaddrinfo(res);
	return host;
}

/* First line of SYSCONFDIR/mailname (Debian's convention). */
static char *mail_name(void)
{
	const char *dir = getenv("OUTBOX_SYSCONFDIR");
	struct buf path = BUF_INIT, line = BUF_INIT;
	buf_printf(&path, "%s/mailname", dir && *dir ? dir : SYSCONFDIR);
	FILE *f = fopen(buf_str(&path), "re");
	if (f) {
		int ch;
		while ((ch = fgetc(f)) != EOF && ch != '\n')
			buf_add_char(&line, (char)ch);
		fclose(f);
	}
	buf_free(&path);
	if (!line.len)
		buf_add_str(&line, "localhost");
	return buf_steal(&line);
}

char *envelope_expand_from(const char *pattern)
{
	struct buf out = BUF_INIT;
	for (const char *p = pattern; *p; p++) {
		if (*p != '%' || !p[1]) {
			buf_add_char(&out, *p);
			continue;
		}
		char *value = NULL;
		switch (*++p) {
		case 'U': value = user_name(); break;
		case 'H': value = host_name(); break;
		case 'C': value = canonical_host_name(); break;
		case 'M': value = mail_name(); break;
		case '%': value = xstrdup("%"); break;
		default:
			buf_add_char(&out, '%');
			buf_add_char(&out, *p);
			continue;
		}
		buf_add_str(&out, value);
		free(value);
	}
	return buf_steal(&out);
}

static int choose_sender(const struct options *opts, const struct account *a,
                         const struct message *m, char **from,
                         struct err *e)
{
	*from = NULL;
	if (opts->envelope_from && (a->allow_from_override || !a->from)) {
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
	/* msmtp: the obsolete auto_from replaces `from` when on. */
	if (a->auto_from) {
		char *user = user_name();
		struct buf b = BUF_INIT;
		buf_add_str(&b, user);
		if (a->maildomain && *a->maildomain)
			buf_printf(&b, "@%s", a->maildomain);
		free(user);
		*from = buf_steal(&b);
		return EX_OK;
	}
	if (a->from) {
		*from = envelope_expand_from(a->from);
		return EX_OK;
	}
	return err_set(e, EX_USAGE,
	               "no envelope-from address: set 'from' in the account "
	               "'%s', or pass -f ADDRESS or --read-envelope-from",
	               a->name);
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

static void complete_local_names(struct addr_list *rcpt, const char *domain)
{
	if (!domain || !*domain)
		return;
	for (size_t i = 0; i < rcpt->count; i++) {
		char *mb = rcpt->items[i].mailbox;
		if (strchr(mb, '@'))
			continue;
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s@%s", mb, domain);
		free(mb);
		rcpt->items[i].mailbox = buf_steal(&b);
	}
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
	complete_local_names(rcpt, a->maildomain);
	remove_duplicates(rcpt);
	for (size_t i = 0; i < rcpt->count; i++) {
		rc = addr_check_smtp_safe(rcpt->items[i].mailbox, false, e);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
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
	return rc;
}

char *envelope_msgid_domain(const struct envelope *env)
{
	const char *at = env->from ? strrchr(env->from, '@') : NULL;
	if (at && at[1])
		return xstrdup(at + 1);
	return canonical_host_name();
}

void envelope_free(struct envelope *env)
{
	free(env->from);
	env->from = NULL;
	addr_list_free(&env->rcpt);
}
