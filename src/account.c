/* account.c - one account's settings; see account.h.
 *
 * One table, field_info, has a row per setting: where it lives, what kind
 * of value it holds, how --pretend describes it, and whether it belongs to
 * the smarthost identity. Copying (account_clone, the parser's
 * inheritance), freeing, describing and comparing loop over the table; a
 * new setting is one new row, not an edit in four places. */
#include "account.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf_internal.h"
#include "maildrop_format.h"
#include "util.h"

/* msmtp's default SOCKS port. */
#define CONF_DEFAULT_PROXY_PORT 1080
/* msmtp's default logfile_time_format. */
#define CONF_DEFAULT_LOG_TIME_FORMAT "%b %d %H:%M:%S"
#define CONF_DEFAULT_DKIM_CANONICALIZATION "relaxed/relaxed"
/* What describe says about a setting without a value. */
#define NOT_SET "(not set)"

/* ---- describing one field ------------------------------------------------ */

struct field_info;

/* Add "label = value\n" (or, for DKIM, a block of such lines) to out. */
typedef void describe_fn(struct buf *out, const struct field_info *fi,
                         const struct account *a);

struct field_info {
	size_t offset;
	enum field_kind kind;
	const char *label;        /* its name in describe's output (msmtp's) */
	describe_fn *describe;    /* NULL: not described */
	const char *unset;        /* describe's text when not set; NULL:
	                           * NOT_SET (for numbers: 0 is shown as 0) */
	const char *const *names; /* FIELD_ENUM: each value's name */
	int name_count;
	bool smarthost; /* session_open looks at it (see account.h) */
	bool oauth2;    /* described only for an account that uses OAuth */
};

static const void *slot_of(const struct account *a, const struct field_info *fi)
{
	return (const char *)a + fi->offset;
}

static void describe_line(struct buf *out, const struct field_info *fi,
                          const char *value)
{
	buf_printf(out, "%s = %s\n", fi->label, value);
}

/* Text; empty stands for "explicitly off" and is not set either. */
static void describe_text(struct buf *out, const struct field_info *fi,
                          const struct account *a)
{
	const char *value = *(char *const *)slot_of(a, fi);
	if (!value)
		value = fi->unset ? fi->unset : NOT_SET;
	describe_line(out, fi, *value ? value : NOT_SET);
}

/* Never the secret itself, nor its length. */
static void describe_secret(struct buf *out, const struct field_info *fi,
                            const struct account *a)
{
	describe_line(out, fi, *(char *const *)slot_of(a, fi) ? "*" : NOT_SET);
}

static void describe_number(struct buf *out, const struct field_info *fi,
                            const struct account *a)
{
	int value;
	memcpy(&value, slot_of(a, fi), sizeof value);
	if (value == 0 && fi->unset)
		describe_line(out, fi, fi->unset);
	else
		buf_printf(out, "%s = %d\n", fi->label, value);
}

static void describe_on_off(struct buf *out, const struct field_info *fi,
                            const struct account *a)
{
	describe_line(out, fi, *(const bool *)slot_of(a, fi) ? "on" : "off");
}

/* An enum by its name (the first name for a value out of range). */
static void describe_name(struct buf *out, const struct field_info *fi,
                          const struct account *a)
{
	int value;
	memcpy(&value, slot_of(a, fi), sizeof value);
	if (value < 0 || value >= fi->name_count)
		value = 0;
	describe_line(out, fi, fi->names[value]);
}

static void describe_timeout(struct buf *out, const struct field_info *fi,
                             const struct account *a)
{
	if (a->timeout == 0)
		describe_line(out, fi, "off");
	else if (a->timeout < 0)
		buf_printf(out, "%s = %d seconds (default)\n", fi->label,
		           CONF_DEFAULT_TIMEOUT);
	else
		buf_printf(out, "%s = %d seconds\n", fi->label, a->timeout);
}

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* msmtp prints methods in upper case, "choose" for on. */
static void describe_auth(struct buf *out, const struct field_info *fi,
                          const struct account *a)
{
	if (!a->auth || !*a->auth || strcmp(a->auth, "off") == 0) {
		describe_line(out, fi, "none");
	} else if (strcmp(a->auth, "on") == 0) {
		describe_line(out, fi, "choose");
	} else {
		buf_printf(out, "%s = ", fi->label);
		for (const char *p = a->auth; *p; p++)
			buf_add_char(out, ascii_upper(*p));
		buf_add_char(out, '\n');
	}
}

static void describe_max_age(struct buf *out, const struct field_info *fi,
                             const struct account *a)
{
	buf_printf(out, "%s = %ld seconds\n", fi->label,
	           a->queue_max_age > 0 ? a->queue_max_age
	                                : CONF_DEFAULT_QUEUE_MAX_AGE);
}

static void describe_maildrop_max_size(struct buf *out,
                                      const struct field_info *fi,
                                      const struct account *a)
{
	buf_printf(out, "%s = %ld bytes\n", fi->label,
	           a->maildrop_max_size > 0 ? a->maildrop_max_size
	                                    : MAILDROP_MAX_SIZE);
}

static void describe_signer_line(struct buf *out, const char *name,
                                 const char *value, const char *unset)
{
	buf_printf(out, "%s = %s\n", name, value && *value ? value : unset);
}

/* Each signer as a block of dkim_* lines. */
static void describe_dkim(struct buf *out, const struct field_info *fi,
                          const struct account *a)
{
	if (a->dkim_count == 0)
		describe_line(out, fi, NOT_SET);
	for (size_t i = 0; i < a->dkim_count; i++) {
		const struct dkim_signer *s = &a->dkim[i];
		describe_signer_line(out, fi->label, s->key_file, NOT_SET);
		describe_signer_line(out, "dkim_selector", s->selector, NOT_SET);
		describe_signer_line(out, "dkim_domain", s->domain,
		                     "(the From domain)");
		describe_signer_line(out, "dkim_canonicalization",
		                     s->canonicalization,
		                     CONF_DEFAULT_DKIM_CANONICALIZATION);
		describe_signer_line(out, "dkim_headers", s->headers,
		                     "(default)");
		describe_signer_line(out, "dkim_identity", s->identity,
		                     NOT_SET);
		if (s->expire)
			buf_printf(out, "dkim_expire = %ld seconds\n",
			           s->expire);
		else
			buf_add_str(out, "dkim_expire = off\n");
	}
}

/* ---- the table ----------------------------------------------------------- */

static const char *const protocol_names[] = {
	[PROTOCOL_SMTP] = "smtp",
	[PROTOCOL_LMTP] = "lmtp",
};
static const char *const header_policy_names[] = {
	[HEADER_AUTO] = "auto",
	[HEADER_ON] = "on",
	[HEADER_OFF] = "off",
};
static const char *const queue_names[] = {
	[QUEUE_OFF] = "off",
	[QUEUE_ON_FAILURE] = "on-failure",
	[QUEUE_ALWAYS] = "always",
};
static const char *const oauth2_provider_names[] = {
	[OAUTH2_AUTO] = "auto",
	[OAUTH2_MICROSOFT] = "microsoft",
	[OAUTH2_GOOGLE] = "google",
	[OAUTH2_CUSTOM] = "custom",
};
static const char *const oauth2_store_names[] = {
	[OAUTH2_STORE_AUTO] = "auto",
	[OAUTH2_STORE_KEYRING] = "keyring",
	[OAUTH2_STORE_FILE] = "file",
};

#define COUNT(array) ((int)(sizeof(array) / sizeof *(array)))
#define FIELD(member, k) .offset = offsetof(struct account, member), .kind = (k)
#define SHOWN(text, how) .label = (text), .describe = (how)
#define NAMES(array) .names = (array), .name_count = COUNT(array)

/* In the order describe prints them (msmtp --pretend's order). */
static const struct field_info field_info[FIELD_COUNT] = {
	/* connection */
	[F_HOST] = {FIELD(host, FIELD_TEXT), SHOWN("host", describe_text),
	            .smarthost = true},
	[F_PORT] = {FIELD(port, FIELD_INT), SHOWN("port", describe_number),
	            .unset = NOT_SET, .smarthost = true},
	[F_SOURCE_IP] = {FIELD(source_ip, FIELD_TEXT),
	                 SHOWN("source ip", describe_text), .smarthost = true},
	[F_PROXY_HOST] = {FIELD(proxy_host, FIELD_TEXT),
	                  SHOWN("proxy host", describe_text),
	                  .smarthost = true},
	[F_PROXY_PORT] = {FIELD(proxy_port, FIELD_INT),
	                  SHOWN("proxy port", describe_number),
	                  .smarthost = true},
	[F_SOCKET] = {FIELD(socket, FIELD_TEXT),
	              SHOWN("socket", describe_text), .smarthost = true},
	[F_TIMEOUT] = {FIELD(timeout, FIELD_INT),
	               SHOWN("timeout", describe_timeout), .smarthost = true},
	/* derived, not described: it decides how long passwordeval may run */
	[F_TIMEOUT_IS_DEFAULT] = {FIELD(timeout_is_default, FIELD_BOOL),
	                          .smarthost = true},
	[F_PROTOCOL] = {FIELD(protocol, FIELD_ENUM),
	                SHOWN("protocol", describe_name),
	                NAMES(protocol_names), .smarthost = true},
	[F_DOMAIN] = {FIELD(domain, FIELD_TEXT),
	              SHOWN("domain", describe_text), .unset = "localhost",
	              .smarthost = true},
	/* authentication */
	[F_AUTH] = {FIELD(auth, FIELD_TEXT), SHOWN("auth", describe_auth),
	            .smarthost = true},
	[F_USER] = {FIELD(user, FIELD_TEXT), SHOWN("user", describe_text),
	            .smarthost = true},
	[F_PASSWORD] = {FIELD(password, FIELD_SECRET),
	                SHOWN("password", describe_secret), .smarthost = true},
	[F_PASSWORDEVAL] = {FIELD(passwordeval, FIELD_TEXT),
	                    SHOWN("passwordeval", describe_text),
	                    .smarthost = true},
	[F_NTLMDOMAIN] = {FIELD(ntlmdomain, FIELD_TEXT),
	                  SHOWN("ntlmdomain", describe_text),
	                  .smarthost = true},
	/* TLS */
	[F_TLS] = {FIELD(tls, FIELD_BOOL), SHOWN("tls", describe_on_off),
	           .smarthost = true},
	[F_TLS_STARTTLS] = {FIELD(tls_starttls, FIELD_BOOL),
	                    SHOWN("tls_starttls", describe_on_off),
	                    .smarthost = true},
	[F_TLS_TRUST_FILE] = {FIELD(tls_trust_file, FIELD_TEXT),
	                      SHOWN("tls_trust_file", describe_text),
	                      .unset = "system", .smarthost = true},
	[F_TLS_CRL_FILE] = {FIELD(tls_crl_file, FIELD_TEXT),
	                    SHOWN("tls_crl_file", describe_text),
	                    .smarthost = true},
	[F_TLS_FINGERPRINT] = {FIELD(tls_fingerprint, FIELD_TEXT),
	                       SHOWN("tls_fingerprint", describe_text),
	                       .smarthost = true},
	[F_TLS_KEY_FILE] = {FIELD(tls_key_file, FIELD_TEXT),
	                    SHOWN("tls_key_file", describe_text),
	                    .smarthost = true},
	[F_TLS_CERT_FILE] = {FIELD(tls_cert_file, FIELD_TEXT),
	                     SHOWN("tls_cert_file", describe_text),
	                     .smarthost = true},
	[F_TLS_CERTCHECK] = {FIELD(tls_certcheck, FIELD_BOOL),
	                     SHOWN("tls_certcheck", describe_on_off),
	                     .smarthost = true},
	[F_TLS_MIN_DH_PRIME_BITS] = {FIELD(tls_min_dh_prime_bits, FIELD_INT),
	                             SHOWN("tls_min_dh_prime_bits",
	                                   describe_number),
	                             .unset = NOT_SET, .smarthost = true},
	[F_TLS_PRIORITIES] = {FIELD(tls_priorities, FIELD_TEXT),
	                      SHOWN("tls_priorities", describe_text),
	                      .smarthost = true},
	[F_TLS_HOST_OVERRIDE] = {FIELD(tls_host_override, FIELD_TEXT),
	                         SHOWN("tls_host_override", describe_text),
	                         .smarthost = true},
	/* not the server's identity: a session opened by an account that
	 * caches may carry the messages of one that does not */
	[F_TLS_SESSION_CACHE] = {FIELD(tls_session_cache, FIELD_BOOL),
	                         SHOWN("tls_session_cache", describe_on_off)},
	/* envelope and headers */
	[F_AUTO_FROM] = {FIELD(auto_from, FIELD_BOOL),
	                 SHOWN("auto_from", describe_on_off)},
	[F_MAILDOMAIN] = {FIELD(maildomain, FIELD_TEXT),
	                  SHOWN("maildomain", describe_text)},
	[F_FROM] = {FIELD(from, FIELD_TEXT), SHOWN("from", describe_text)},
	[F_FROM_FULL_NAME] = {FIELD(from_full_name, FIELD_TEXT),
	                      SHOWN("from_full_name", describe_text)},
	[F_ALLOW_FROM_OVERRIDE] = {FIELD(allow_from_override, FIELD_BOOL),
	                           SHOWN("allow_from_override",
	                                 describe_on_off)},
	/* derived, not described: whether the line above was written */
	[F_ALLOW_FROM_OVERRIDE_SET] = {FIELD(allow_from_override_set,
	                                     FIELD_BOOL)},
	[F_SET_FROM_HEADER] = {FIELD(set_from_header, FIELD_ENUM),
	                       SHOWN("set_from_header", describe_name),
	                       NAMES(header_policy_names)},
	[F_SET_DATE_HEADER] = {FIELD(set_date_header, FIELD_ENUM),
	                       SHOWN("set_date_header", describe_name),
	                       NAMES(header_policy_names)},
	[F_SET_MSGID_HEADER] = {FIELD(set_msgid_header, FIELD_ENUM),
	                        SHOWN("set_msgid_header", describe_name),
	                        NAMES(header_policy_names)},
	[F_REMOVE_BCC_HEADERS] = {FIELD(remove_bcc_headers, FIELD_BOOL),
	                          SHOWN("remove_bcc_headers",
	                                describe_on_off)},
	[F_UNDISCLOSED_RECIPIENTS] = {FIELD(undisclosed_recipients,
	                                    FIELD_BOOL),
	                              SHOWN("undisclosed_recipients",
	                                    describe_on_off)},
	[F_DSN_NOTIFY] = {FIELD(dsn_notify, FIELD_TEXT),
	                  SHOWN("dsn_notify", describe_text)},
	[F_DSN_RETURN] = {FIELD(dsn_return, FIELD_TEXT),
	                  SHOWN("dsn_return", describe_text)},
	/* logging */
	[F_LOGFILE] = {FIELD(logfile, FIELD_TEXT),
	               SHOWN("logfile", describe_text)},
	[F_LOGFILE_TIME_FORMAT] = {FIELD(logfile_time_format, FIELD_TEXT),
	                           SHOWN("logfile_time_format",
	                                 describe_text)},
	[F_SYSLOG] = {FIELD(syslog, FIELD_TEXT),
	              SHOWN("syslog", describe_text)},
	[F_ALIASES] = {FIELD(aliases, FIELD_TEXT),
	               SHOWN("aliases", describe_text)},
	/* outbox additions */
	[F_DKIM] = {FIELD(dkim, FIELD_DKIM), SHOWN("dkim_key", describe_dkim)},
	[F_QUEUE] = {FIELD(queue, FIELD_ENUM), SHOWN("queue", describe_name),
	             NAMES(queue_names)},
	[F_QUEUE_DIR] = {FIELD(queue_dir, FIELD_TEXT),
	                 SHOWN("queue_dir", describe_text),
	                 .unset = "(default)"},
	[F_QUEUE_MAX_AGE] = {FIELD(queue_max_age, FIELD_LONG),
	                     SHOWN("queue_max_age", describe_max_age)},
	[F_QUEUE_BOUNCE] = {FIELD(queue_bounce, FIELD_BOOL),
	                    SHOWN("queue_bounce", describe_on_off)},
	[F_MAILDROP_MAX_SIZE] = {FIELD(maildrop_max_size, FIELD_LONG),
	                         SHOWN("maildrop_max_size",
	                               describe_maildrop_max_size)},
	/* direct delivery: where the message goes, so part of the identity */
	[F_DIRECT_DELIVERY] = {FIELD(direct_delivery, FIELD_BOOL),
	                       SHOWN("direct_delivery", describe_on_off),
	                       .smarthost = true},
	[F_MTA_STS] = {FIELD(mta_sts, FIELD_BOOL),
	               SHOWN("mta_sts", describe_on_off), .smarthost = true},
	[F_DANE] = {FIELD(dane, FIELD_BOOL), SHOWN("dane", describe_on_off),
	            .smarthost = true},
	/* OAuth 2.0: part of who we are to the server */
	[F_OAUTH2_PROVIDER] = {FIELD(oauth2_provider, FIELD_ENUM),
	                       SHOWN("oauth2_provider", describe_name),
	                       NAMES(oauth2_provider_names), .smarthost = true, .oauth2 = true},
	[F_OAUTH2_CLIENT_ID] = {FIELD(oauth2_client_id, FIELD_TEXT),
	                        SHOWN("oauth2_client_id", describe_text),
	                        .smarthost = true, .oauth2 = true},
	[F_OAUTH2_CLIENT_SECRET] = {FIELD(oauth2_client_secret, FIELD_SECRET),
	                            SHOWN("oauth2_client_secret",
	                                  describe_secret),
	                            .smarthost = true, .oauth2 = true},
	[F_OAUTH2_TENANT] = {FIELD(oauth2_tenant, FIELD_TEXT),
	                     SHOWN("oauth2_tenant", describe_text),
	                     .smarthost = true, .oauth2 = true},
	[F_OAUTH2_DEVICE_URL] = {FIELD(oauth2_device_url, FIELD_TEXT),
	                         SHOWN("oauth2_device_url", describe_text),
	                         .smarthost = true, .oauth2 = true},
	[F_OAUTH2_TOKEN_URL] = {FIELD(oauth2_token_url, FIELD_TEXT),
	                        SHOWN("oauth2_token_url", describe_text),
	                        .smarthost = true, .oauth2 = true},
	[F_OAUTH2_SCOPE] = {FIELD(oauth2_scope, FIELD_TEXT),
	                    SHOWN("oauth2_scope", describe_text),
	                    .smarthost = true, .oauth2 = true},
	[F_OAUTH2_TRUST_FILE] = {FIELD(oauth2_trust_file, FIELD_TEXT),
	                         SHOWN("oauth2_trust_file", describe_text),
	                         .unset = "system", .smarthost = true, .oauth2 = true},
	[F_OAUTH2_TOKEN_STORE] = {FIELD(oauth2_token_store, FIELD_ENUM),
	                          SHOWN("oauth2_token_store", describe_name),
	                          NAMES(oauth2_store_names),
	                          .smarthost = true, .oauth2 = true},
};

/* Every enum of struct account has the size of an int (C17 6.7.2.2: the
 * values fit in int, and GCC/Clang use int); the FIELD_ENUM code relies on
 * it. */
_Static_assert(FIELD_COUNT <= 64, "a parsed account's set mask is 64 bits");
_Static_assert(sizeof(enum protocol) == sizeof(int), "enum size");
_Static_assert(sizeof(enum header_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum queue_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum oauth2_provider) == sizeof(int), "enum size");
_Static_assert(sizeof(enum oauth2_store) == sizeof(int), "enum size");
_Static_assert(F_NONE < 64, "one bit per field (and F_NONE) in a uint64_t");

void *account_field_slot(struct account *a, enum field f)
{
	return (char *)a + field_info[f].offset;
}

enum field_kind account_field_kind(enum field f)
{
	return field_info[f].kind;
}

int account_field_value_count(enum field f)
{
	return field_info[f].name_count;
}

bool account_field_in_smarthost(enum field f)
{
	return field_info[f].smarthost;
}

/* ---- copying, comparing, freeing one field ------------------------------- */

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

static bool same_string(const char *x, const char *y)
{
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static bool same_signer(const struct dkim_signer *x,
                        const struct dkim_signer *y)
{
	return same_string(x->key_file, y->key_file) &&
	       same_string(x->selector, y->selector) &&
	       same_string(x->domain, y->domain) &&
	       same_string(x->canonicalization, y->canonicalization) &&
	       same_string(x->headers, y->headers) &&
	       same_string(x->identity, y->identity) &&
	       x->expire == y->expire;
}

/* The size of a scalar field's value. */
static size_t scalar_size(enum field_kind kind)
{
	switch (kind) {
	case FIELD_INT:
	case FIELD_ENUM:
		return sizeof(int);
	case FIELD_LONG:
		return sizeof(long);
	case FIELD_BOOL:
		return sizeof(bool);
	default:
		return 0;
	}
}

void account_copy_field(struct account *dst, const struct account *src,
                        enum field f)
{
	const struct field_info *fi = &field_info[f];
	void *to = account_field_slot(dst, f);
	const void *from = slot_of(src, fi);

	switch (fi->kind) {
	case FIELD_TEXT:
		free(*(char **)to);
		*(char **)to = xstrdup_or_null(*(char *const *)from);
		break;
	case FIELD_SECRET:
		free_secret(*(char **)to);
		*(char **)to = xstrdup_or_null(*(char *const *)from);
		break;
	case FIELD_DKIM:
		dkim_signers_copy(dst, src);
		break;
	default:
		memcpy(to, from, scalar_size(fi->kind));
		break;
	}
}

bool account_field_equal(const struct account *x, const struct account *y,
                         enum field f)
{
	const struct field_info *fi = &field_info[f];
	const void *a = slot_of(x, fi);
	const void *b = slot_of(y, fi);

	switch (fi->kind) {
	case FIELD_TEXT:
	case FIELD_SECRET:
		return same_string(*(char *const *)a, *(char *const *)b);
	case FIELD_DKIM:
		if (x->dkim_count != y->dkim_count)
			return false;
		for (size_t i = 0; i < x->dkim_count; i++)
			if (!same_signer(&x->dkim[i], &y->dkim[i]))
				return false;
		return true;
	default:
		return memcmp(a, b, scalar_size(fi->kind)) == 0;
	}
}

static void free_field(struct account *a, enum field f)
{
	char **text = account_field_slot(a, f);
	switch (field_info[f].kind) {
	case FIELD_TEXT:
		free(*text);
		break;
	case FIELD_SECRET:
		free_secret(*text);
		break;
	case FIELD_DKIM:
		account_dkim_clear(a);
		break;
	default:
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
	a->tls_session_cache = true;
	a->mta_sts = true;
	a->dane = true;
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
	a->env = src->env;
	for (int f = 0; f < FIELD_COUNT; f++)
		account_copy_field(a, src, (enum field)f);
	return a;
}

void account_free(struct account *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->file);
	for (int f = 0; f < FIELD_COUNT; f++)
		free_field(a, (enum field)f);
	free(a);
}

bool account_same_smarthost(const struct account *x,
                            const struct account *y)
{
	for (int f = 0; f < FIELD_COUNT; f++)
		if (field_info[f].smarthost &&
		    !account_field_equal(x, y, (enum field)f))
			return false;
	return true;
}

void account_describe(const struct account *a, struct buf *out)
{
	for (int f = 0; f < FIELD_COUNT; f++)
		if (field_info[f].describe &&
		    (!field_info[f].oauth2 || a->oauth2_client_id))
			field_info[f].describe(out, &field_info[f], a);
}

int account_command_timeout(const struct account *a, int fallback_s)
{
	return a->timeout > 0 && !a->timeout_is_default ? a->timeout
	                                                : fallback_s;
}

/* ---- finalize ------------------------------------------------------------ */

static int account_error(const struct account *a, struct err *e,
                         const char *what)
{
	if (a->file)
		return err_set(e, EX_CONFIG, "account '%s' from %s: %s",
		               a->name, a->file, what);
	return err_set(e, EX_CONFIG, "account '%s': %s", a->name, what);
}

/* A direct account (direct.h) talks to each recipient domain's MX hosts
 * on port 25 and never authenticates: the settings that name or reach a
 * smarthost have no meaning there, and the ones that would change how it
 * connects are refused rather than silently ignored. */
static int finalize_direct(struct account *a, struct err *e)
{
	if (a->socket)
		return account_error(a, e, "socket cannot be used with "
		                     "direct_delivery (mail goes to each "
		                     "recipient domain's MX hosts)");
	if (a->proxy_host)
		return account_error(a, e, "proxy_host cannot be used with "
		                     "direct_delivery");
	if (a->protocol != PROTOCOL_SMTP)
		return account_error(a, e, "direct_delivery speaks SMTP "
		                     "(protocol lmtp cannot be used)");
	if (a->auth && strcmp(a->auth, "off") != 0)
		return account_error(a, e, "direct_delivery does not "
		                     "authenticate: remove 'auth' (an MX host "
		                     "takes mail for its own domains without "
		                     "it)");
	if (a->oauth2_client_id)
		return account_error(a, e, "oauth2_client_id cannot be used "
		                     "with direct_delivery");
	a->port = 25; /* RFC 5321 4.5.4.1: MX hosts listen on 25 */
	return EX_OK;
}

int account_finalize(struct account *a, struct err *e)
{
	if (a->direct_delivery) {
		if (finalize_direct(a, e) != EX_OK)
			return EX_CONFIG;
	} else if (!a->host && !a->socket) {
		return err_set(e, EX_CONFIG,
		               "account '%s' has no host: set 'host' in %s or "
		               "use --host", a->name,
		               a->file ? a->file : "the configuration file");
	}
	if (a->port == 0 && !a->direct_delivery) {
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

	/* A direct account's EHLO name defaults to this host's FQDN, found
	 * when a message is sent (direct.c): MX hosts check it. */
	if (!a->domain && !a->direct_delivery)
		a->domain = xstrdup("localhost");
	if (a->timeout < 0) {
		a->timeout = CONF_DEFAULT_TIMEOUT;
		a->timeout_is_default = true;
	}
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
