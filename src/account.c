/* account.c - one account's settings; see account.h.
 *
 * One table (field_info) says where each setting lives and what kind it
 * is; copying, inheriting and freeing loop over it rather than over their
 * own lists of members. */
#include "account.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf_internal.h"
#include "util.h"

/* msmtp's default SOCKS port. */
#define CONF_DEFAULT_PROXY_PORT 1080
/* msmtp's default logfile_time_format. */
#define CONF_DEFAULT_LOG_TIME_FORMAT "%b %d %H:%M:%S"
#define CONF_DEFAULT_DKIM_CANONICALIZATION "relaxed/relaxed"

/* ---- fields -------------------------------------------------------------- */

enum kind { K_STR, K_SECRET, K_INT, K_LONG, K_BOOL, K_ENUM, K_DKIM, K_NONE };

struct field_info {
	size_t offset;
	enum kind kind;
};

#define FIELD(member, k) {offsetof(struct account, member), k}

static const struct field_info field_info[FIELD_COUNT] = {
	[F_HOST] = FIELD(host, K_STR),
	[F_PORT] = FIELD(port, K_INT),
	[F_SOURCE_IP] = FIELD(source_ip, K_STR),
	[F_PROXY_HOST] = FIELD(proxy_host, K_STR),
	[F_PROXY_PORT] = FIELD(proxy_port, K_INT),
	[F_SOCKET] = FIELD(socket, K_STR),
	[F_TIMEOUT] = FIELD(timeout, K_INT),
	[F_PROTOCOL] = FIELD(protocol, K_ENUM),
	[F_DOMAIN] = FIELD(domain, K_STR),
	[F_AUTH] = FIELD(auth, K_STR),
	[F_USER] = FIELD(user, K_STR),
	[F_PASSWORD] = FIELD(password, K_SECRET),
	[F_PASSWORDEVAL] = FIELD(passwordeval, K_STR),
	[F_NTLMDOMAIN] = FIELD(ntlmdomain, K_STR),
	[F_TLS] = FIELD(tls, K_BOOL),
	[F_TLS_STARTTLS] = FIELD(tls_starttls, K_BOOL),
	[F_TLS_CERTCHECK] = FIELD(tls_certcheck, K_BOOL),
	[F_TLS_TRUST_FILE] = FIELD(tls_trust_file, K_STR),
	[F_TLS_CRL_FILE] = FIELD(tls_crl_file, K_STR),
	[F_TLS_FINGERPRINT] = FIELD(tls_fingerprint, K_STR),
	[F_TLS_KEY_FILE] = FIELD(tls_key_file, K_STR),
	[F_TLS_CERT_FILE] = FIELD(tls_cert_file, K_STR),
	[F_TLS_PRIORITIES] = FIELD(tls_priorities, K_STR),
	[F_TLS_HOST_OVERRIDE] = FIELD(tls_host_override, K_STR),
	[F_TLS_MIN_DH_PRIME_BITS] = FIELD(tls_min_dh_prime_bits, K_INT),
	[F_FROM] = FIELD(from, K_STR),
	[F_FROM_FULL_NAME] = FIELD(from_full_name, K_STR),
	[F_ALLOW_FROM_OVERRIDE] = FIELD(allow_from_override, K_BOOL),
	[F_DSN_NOTIFY] = FIELD(dsn_notify, K_STR),
	[F_DSN_RETURN] = FIELD(dsn_return, K_STR),
	[F_SET_FROM_HEADER] = FIELD(set_from_header, K_ENUM),
	[F_SET_DATE_HEADER] = FIELD(set_date_header, K_ENUM),
	[F_SET_MSGID_HEADER] = FIELD(set_msgid_header, K_ENUM),
	[F_REMOVE_BCC_HEADERS] = FIELD(remove_bcc_headers, K_BOOL),
	[F_UNDISCLOSED_RECIPIENTS] = FIELD(undisclosed_recipients, K_BOOL),
	[F_AUTO_FROM] = FIELD(auto_from, K_BOOL),
	[F_MAILDOMAIN] = FIELD(maildomain, K_STR),
	[F_ALIASES] = FIELD(aliases, K_STR),
	[F_LOGFILE] = FIELD(logfile, K_STR),
	[F_LOGFILE_TIME_FORMAT] = FIELD(logfile_time_format, K_STR),
	[F_SYSLOG] = FIELD(syslog, K_STR),
	[F_DKIM] = FIELD(dkim, K_DKIM),
	[F_QUEUE] = FIELD(queue, K_ENUM),
	[F_QUEUE_DIR] = FIELD(queue_dir, K_STR),
	[F_QUEUE_MAX_AGE] = FIELD(queue_max_age, K_LONG),
	[F_QUEUE_BOUNCE] = FIELD(queue_bounce, K_BOOL),
	[F_NONE] = {0, K_NONE},
};

/* Every enum of struct account has the size of an int (C17 6.7.2.2: the
 * values fit in int, and GCC/Clang use int); account_copy_field relies on it. */
_Static_assert(sizeof(enum protocol) == sizeof(int), "enum size");
_Static_assert(sizeof(enum header_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum queue_mode) == sizeof(int), "enum size");
_Static_assert(FIELD_COUNT <= 64, "one bit per field in a uint64_t");

void *account_field_slot(struct account *a, enum field f)
{
	return (char *)a + field_info[f].offset;
}

static const void *field_slot_const(const struct account *a, enum field f)
{
	return (const char *)a + field_info[f].offset;
}

static void dkim_signer_free(struct dkim_signer *s)
{
	free(s->key_file);
	free(s->selector);
	free(s->domain);
	free(s->canonicalization);
	free(s->headers);
	free(s->identity);
	memset(s, 0, sizeof *s);
}

void account_dkim_clear(struct account *a)
{
	for (size_t i = 0; i < a->dkim_count; i++)
		dkim_signer_free(&a->dkim[i]);
	free(a->dkim);
	a->dkim = NULL;
	a->dkim_count = 0;
}

static void dkim_signers_copy(struct account *dst, const struct account *src)
{
	account_dkim_clear(dst);
	if (!src->dkim_count)
		return;
	dst->dkim = xcalloc(src->dkim_count, sizeof *dst->dkim);
	for (size_t i = 0; i < src->dkim_count; i++) {
		const struct dkim_signer *s = &src->dkim[i];
		struct dkim_signer *d = &dst->dkim[i];
		d->key_file = xstrdup_or_null(s->key_file);
		d->selector = xstrdup_or_null(s->selector);
		d->domain = xstrdup_or_null(s->domain);
		d->canonicalization = xstrdup_or_null(s->canonicalization);
		d->headers = xstrdup_or_null(s->headers);
		d->identity = xstrdup_or_null(s->identity);
		d->expire = s->expire;
	}
	dst->dkim_count = src->dkim_count;
}

void account_copy_field(struct account *dst, const struct account *src,
                        enum field f)
{
	void *to = account_field_slot(dst, f);
	const void *from = field_slot_const(src, f);

	switch (field_info[f].kind) {
	case K_STR:
	case K_SECRET: {
		char **t = to;
		char *const *s = from;
		if (field_info[f].kind == K_SECRET)
			free_secret(*t);
		else
			free(*t);
		*t = xstrdup_or_null(*s);
		break;
	}
	case K_INT:
	case K_ENUM:
		memcpy(to, from, sizeof(int));
		break;
	case K_LONG:
		memcpy(to, from, sizeof(long));
		break;
	case K_BOOL:
		memcpy(to, from, sizeof(bool));
		break;
	case K_DKIM:
		dkim_signers_copy(dst, src);
		break;
	case K_NONE:
		break;
	}
}

/* ---- accounts ------------------------------------------------------------ */

struct account *account_new(const char *name)
{
	struct account *a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name ? name : "");
	a->timeout = -1;
	a->protocol = PROTOCOL_SMTP;
	a->tls_starttls = true;
	a->tls_certcheck = true;
	a->allow_from_override = true;
	a->remove_bcc_headers = true;
	a->set_from_header = HEADER_AUTO;
	a->set_date_header = HEADER_AUTO;
	a->set_msgid_header = HEADER_AUTO;
	a->queue = QUEUE_OFF;
	return a;
}

struct account *account_clone(const struct account *src, const char *name)
{
	struct account *a = account_new(name ? name : src->name);
	a->file = xstrdup_or_null(src->file);
	a->line = src->line;
	for (int f = 0; f < F_NONE; f++)
		account_copy_field(a, src, (enum field)f);
	return a;
}

void account_free(struct account *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->file);
	for (int f = 0; f < F_NONE; f++) {
		void *slot = account_field_slot(a, (enum field)f);
		if (field_info[f].kind == K_STR)
			free(*(char **)slot);
		else if (field_info[f].kind == K_SECRET)
			free_secret(*(char **)slot);
	}
	account_dkim_clear(a);
	free(a);
}

/* ---- finalize and describe ----------------------------------------------- */

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int account_error(const struct account *a, struct err *e,
                         const char *what)
{
	if (a->file)
		return err_set(e, EX_CONFIG, "account '%s' from %s: %s",
		               a->name, a->file, what);
	return err_set(e, EX_CONFIG, "account '%s': %s", a->name, what);
}

int account_finalize(struct account *a, struct err *e)
{
	if (!a->host && !a->socket) {
		return err_set(e, EX_CONFIG,
		               "account '%s' has no host: set 'host' in %s or "
		               "use --host", a->name,
		               a->file ? a->file : "the configuration file");
	}
	if (a->port == 0) {
		/* msmtp: 25, or 465 for TLS without STARTTLS (RFC 8314 3.3);
		 * LMTP has no default port (RFC 2033 5), unless a socket is
		 * used. */
		if (a->protocol == PROTOCOL_SMTP)
			a->port = (a->tls && !a->tls_starttls) ? 465 : 25;
		else if (!a->socket)
			return account_error(a, e,
			                     "LMTP has no default port: set "
			                     "'port' or 'socket'");
	}
	if (a->tls_key_file && !a->tls_cert_file)
		return account_error(a, e,
		                     "tls_key_file requires tls_cert_file");
	if (a->tls_cert_file && !a->tls_key_file)
		return account_error(a, e,
		                     "tls_cert_file requires tls_key_file");
	if (a->tls && a->tls_certcheck && a->tls_trust_file &&
	    !*a->tls_trust_file && !a->tls_fingerprint)
		return account_error(a, e,
		                     "tls requires either tls_trust_file "
		                     "(highly recommended) or tls_fingerprint "
		                     "or a disabled tls_certcheck");
	if (a->tls_crl_file && a->tls_trust_file && !*a->tls_trust_file)
		return account_error(a, e,
		                     "tls_crl_file requires tls_trust_file");
	for (size_t i = 0; i < a->dkim_count; i++) {
		struct dkim_signer *s = &a->dkim[i];
		if (!s->key_file)
			return account_error(a, e,
			                     "dkim_selector & co. are set but "
			                     "no dkim_key names the key");
		if (!s->selector) {
			struct buf b = BUF_INIT;
			buf_printf(&b, "dkim_key %s has no dkim_selector",
			           s->key_file);
			account_error(a, e, buf_str(&b));
			buf_free(&b);
			return EX_CONFIG;
		}
		if (!s->canonicalization)
			s->canonicalization =
				xstrdup(CONF_DEFAULT_DKIM_CANONICALIZATION);
	}

	if (!a->domain)
		a->domain = xstrdup("localhost");
	if (a->timeout < 0)
		a->timeout = CONF_DEFAULT_TIMEOUT;
	if (a->proxy_host && a->proxy_port == 0)
		a->proxy_port = CONF_DEFAULT_PROXY_PORT;
	if (!a->tls_trust_file)
		a->tls_trust_file = xstrdup("system");
	if (!a->logfile_time_format)
		a->logfile_time_format = xstrdup(CONF_DEFAULT_LOG_TIME_FORMAT);
	if (a->queue_max_age <= 0)
		a->queue_max_age = CONF_DEFAULT_QUEUE_MAX_AGE;
	return EX_OK;
}

static void describe(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, "%s = %s\n", name, value ? value : "(not set)");
}

/* Empty strings stand for "explicitly off" and print as not set. */
static void describe_opt(struct buf *out, const char *name, const char *value)
{
	describe(out, name, value && *value ? value : NULL);
}

static void describe_bool(struct buf *out, const char *name, bool value)
{
	describe(out, name, value ? "on" : "off");
}

static const char *header_policy_name(enum header_policy p)
{
	return p == HEADER_ON ? "on" : p == HEADER_OFF ? "off" : "auto";
}

void account_describe(const struct account *a, struct buf *out)
{
	describe(out, "host", a->host);
	if (a->port)
		buf_printf(out, "port = %d\n", a->port);
	else
		describe(out, "port", NULL);
	describe(out, "source ip", a->source_ip);
	describe(out, "proxy host", a->proxy_host);
	buf_printf(out, "proxy port = %d\n", a->proxy_port);
	describe(out, "socket", a->socket);
	if (a->timeout == 0)
		describe(out, "timeout", "off");
	else if (a->timeout < 0)
		buf_printf(out, "timeout = %d seconds (default)\n",
		           CONF_DEFAULT_TIMEOUT);
	else
		buf_printf(out, "timeout = %d seconds\n", a->timeout);
	describe(out, "protocol",
	         a->protocol == PROTOCOL_LMTP ? "lmtp" : "smtp");
	describe(out, "domain", a->domain ? a->domain : "localhost");

	/* msmtp prints methods in upper case, "choose" for on */
	if (!a->auth || !*a->auth || strcmp(a->auth, "off") == 0) {
		describe(out, "auth", "none");
	} else if (strcmp(a->auth, "on") == 0) {
		describe(out, "auth", "choose");
	} else {
		buf_add_str(out, "auth = ");
		for (const char *p = a->auth; *p; p++)
			buf_add_char(out, ascii_upper(*p));
		buf_add_char(out, '\n');
	}
	describe(out, "user", a->user);
	/* never the secret itself, nor its length */
	describe(out, "password", a->password ? "*" : NULL);
	describe(out, "passwordeval", a->passwordeval);
	describe(out, "ntlmdomain", a->ntlmdomain);

	describe_bool(out, "tls", a->tls);
	describe_bool(out, "tls_starttls", a->tls_starttls);
	describe_opt(out, "tls_trust_file",
	             a->tls_trust_file ? a->tls_trust_file : "system");
	describe(out, "tls_crl_file", a->tls_crl_file);
	describe_opt(out, "tls_fingerprint", a->tls_fingerprint);
	describe(out, "tls_key_file", a->tls_key_file);
	describe(out, "tls_cert_file", a->tls_cert_file);
	describe_bool(out, "tls_certcheck", a->tls_certcheck);
	if (a->tls_min_dh_prime_bits)
		buf_printf(out, "tls_min_dh_prime_bits = %d\n",
		           a->tls_min_dh_prime_bits);
	else
		describe(out, "tls_min_dh_prime_bits", NULL);
	describe(out, "tls_priorities", a->tls_priorities);
	describe(out, "tls_host_override", a->tls_host_override);

	describe_bool(out, "auto_from", a->auto_from);
	describe(out, "maildomain", a->maildomain);
	describe(out, "from", a->from);
	describe(out, "from_full_name", a->from_full_name);
	describe_bool(out, "allow_from_override", a->allow_from_override);
	describe(out, "set_from_header",
	         header_policy_name(a->set_from_header));
	describe(out, "set_date_header",
	         header_policy_name(a->set_date_header));
	describe(out, "set_msgid_header",
	         header_policy_name(a->set_msgid_header));
	describe_bool(out, "remove_bcc_headers", a->remove_bcc_headers);
	describe_bool(out, "undisclosed_recipients", a->undisclosed_recipients);
	describe_opt(out, "dsn_notify", a->dsn_notify);
	describe_opt(out, "dsn_return", a->dsn_return);
	describe(out, "logfile", a->logfile);
	describe(out, "logfile_time_format", a->logfile_time_format);
	describe_opt(out, "syslog", a->syslog);
	describe(out, "aliases", a->aliases);

	if (a->dkim_count == 0)
		describe(out, "dkim_key", NULL);
	for (size_t i = 0; i < a->dkim_count; i++) {
		const struct dkim_signer *s = &a->dkim[i];
		describe(out, "dkim_key", s->key_file);
		describe(out, "dkim_selector", s->selector);
		describe(out, "dkim_domain",
		         s->domain && *s->domain ? s->domain
		                                 : "(the From domain)");
		describe(out, "dkim_canonicalization",
		         s->canonicalization
		                 ? s->canonicalization
		                 : CONF_DEFAULT_DKIM_CANONICALIZATION);
		describe(out, "dkim_headers",
		         s->headers && *s->headers ? s->headers : "(default)");
		describe_opt(out, "dkim_identity", s->identity);
		if (s->expire)
			buf_printf(out, "dkim_expire = %ld seconds\n",
			           s->expire);
		else
			describe(out, "dkim_expire", "off");
	}
	describe(out, "queue",
	         a->queue == QUEUE_ALWAYS       ? "always"
	         : a->queue == QUEUE_ON_FAILURE ? "on-failure"
	                                        : "off");
	describe(out, "queue_dir", a->queue_dir ? a->queue_dir : "(default)");
	buf_printf(out, "queue_max_age = %ld seconds\n",
	           a->queue_max_age > 0 ? a->queue_max_age
	                                : CONF_DEFAULT_QUEUE_MAX_AGE);
	describe_bool(out, "queue_bounce", a->queue_bounce);
}
