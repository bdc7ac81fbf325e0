/* directives.c - the directives of the msmtprc language; see directives.h.
 *
 * One row per directive (the table at the end): its name, the field it
 * sets (for inheritance) and its setter. A setter checks the value and
 * stores it. The values follow msmtp 1.8 (checked against msmtp 1.8.23),
 * with differences all in the stricter direction: numbers are decimal only
 * (msmtp's strtol(.., 0) reads "025" as octal 21), values that end up in
 * the protocol may not contain blanks or control characters, and keywords
 * are accepted in any case. */
#include "directives.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <arpa/inet.h>

#include "buf.h"
#include "conf_internal.h"
#include "directives_internal.h"
#include "maildrop_format.h"
#include "runenv.h"
#include "util.h"

/* ---- directives ---------------------------------------------------------- */


static const char *set_on_off_value(const char *value, bool *out)
{
	/* msmtp: "If a command accepts the argument on, it also accepts an
	 * empty argument and treats that as if it was on." */
	if (!*value || directive_equals_word(value, "on"))
		*out = true;
	else if (directive_equals_word(value, "off"))
		*out = false;
	else
		return "expected 'on' or 'off'";
	return NULL;
}

static const char *set_bool(struct account *a, const struct directive *d,
                            const char *value)
{
	return set_on_off_value(value, account_field_slot(a, d->field));
}

static const char *set_allow_from_override(struct account *a,
                                           const struct directive *d,
                                           const char *value)
{
	const char *problem = set_bool(a, d, value);
	if (!problem)
		a->allow_from_override_set = true;
	return problem;
}

/* keepbcc: the old inverse of remove_bcc_headers. */
static const char *set_bool_inverted(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	bool v;
	const char *problem = set_on_off_value(value, &v);
	if (!problem)
		*(bool *)account_field_slot(a, d->field) = !v;
	return problem;
}

/* tls_nocertcheck, tls_nostarttls: old argument-less forms of "X off". */
static const char *set_flag_off(struct account *a, const struct directive *d,
                                const char *value)
{
	if (*value)
		return "this old directive takes no value";
	*(bool *)account_field_slot(a, d->field) = false;
	return NULL;
}

/* tls_force_sslv3: msmtp still accepts it and does nothing (SSLv3 is
 * disabled, RFC 7568). */
static const char *set_ignored(struct account *a, const struct directive *d,
                               const char *value)
{
	bool ignored;
	return set_on_off_value(value, &ignored);
}

/* Text that may be empty (unsets) and may contain blanks. */
static const char *set_text(struct account *a, const struct directive *d,
                            const char *value)
{
	if (conf_has_control(value))
		return "control characters are not allowed";
	directive_replace_string(account_field_slot(a, d->field), value);
	return NULL;
}

/* A word (host names, domains): empty unsets. */
static const char *set_word(struct account *a, const struct directive *d,
                            const char *value)
{
	if (*value && !directive_is_word(value))
		return d->expected;
	directive_replace_string(account_field_slot(a, d->field), value);
	return NULL;
}

/* host: a word, required. */
static const char *set_host(struct account *a, const struct directive *d,
                            const char *value)
{
	if (!directive_is_word(value))
		return "expected a host name or address without blanks";
	directive_replace_string(&a->host, value);
	return NULL;
}

static const char *set_source_ip(struct account *a, const struct directive *d,
                                 const char *value)
{
	unsigned char addr[sizeof(struct in6_addr)];
	if (*value && inet_pton(AF_INET, value, addr) != 1 &&
	    inet_pton(AF_INET6, value, addr) != 1)
		return "expected an IPv4 or IPv6 address";
	directive_replace_string(&a->source_ip, value);
	return NULL;
}

/* The secret: any text; the old value is wiped. */
/* password, oauth2_client_secret: wiped when replaced. */
static const char *set_password(struct account *a, const struct directive *d,
                                const char *value)
{
	char **slot = account_field_slot(a, d->field);
	free_secret(*slot);
	*slot = *value ? xstrdup(value) : NULL;
	return NULL;
}

/* Commands (passwordeval) are run by /bin/sh: anything goes. */
static const char *set_command(struct account *a, const struct directive *d,
                               const char *value)
{
	directive_replace_string(account_field_slot(a, d->field), value);
	return NULL;
}

const char *conf_expand_tilde(struct runenv *env, const char *value,
                              char **out)
{
	if (value[0] != '~' || (value[1] != '\0' && value[1] != '/')) {
		*out = xstrdup(value);
		return NULL;
	}
	const char *home = env ? runenv_home(env) : NULL;
	if (!home)
		return "cannot expand '~': no home directory (HOME is not set "
		       "and the password database has none)";
	struct buf b = BUF_INIT;
	buf_add_str(&b, home);
	buf_add_str(&b, value + 1);
	*out = buf_steal(&b);
	return NULL;
}

/* A file name: empty unsets, ~ is expanded. */
static const char *set_file(struct account *a, const struct directive *d,
                            const char *value)
{
	char **slot = account_field_slot(a, d->field);
	if (conf_has_control(value))
		return "control characters are not allowed in a file name";
	if (!*value) {
		free(*slot);
		*slot = NULL;
		return NULL;
	}
	char *expanded;
	const char *problem = conf_expand_tilde(a->env, value, &expanded);
	if (problem)
		return problem;
	free(*slot);
	*slot = expanded;
	return NULL;
}

/* tls_trust_file: "system" (the default), a file, or empty: no CA trust. */
static const char *set_trust_file(struct account *a, const struct directive *d,
                                  const char *value)
{
	if (*value && strcmp(value, "system") != 0)
		return set_file(a, d, value);
	if (conf_has_control(value))
		return "control characters are not allowed in a file name";
	char **slot = account_field_slot(a, d->field);
	free(*slot);
	*slot = xstrdup(value);
	return NULL;
}

static const char *set_port(struct account *a, const struct directive *d,
                            const char *value)
{
	long v;
	if (!*value && d->field == F_PROXY_PORT) {
		a->proxy_port = 0; /* msmtp: empty resets to the default */
		return NULL;
	}
	if (!directive_parse_number(value, 1, 65535, &v))
		return "expected a number from 1 to 65535";
	*(int *)account_field_slot(a, d->field) = (int)v;
	return NULL;
}

static const char *set_timeout(struct account *a, const struct directive *d,
                               const char *value)
{
	long v;
	if (directive_equals_word(value, "off")) {
		v = 0;
	} else if (!directive_parse_number(value, 1, INT_MAX, &v)) {
		return "expected 'off' or a number of seconds greater than 0";
	}
	a->timeout = (int)v;
	a->timeout_is_default = false; /* set now, even after finalize */
	return NULL;
}

static const char *set_protocol(struct account *a, const struct directive *d,
                                const char *value)
{
	if (directive_equals_word(value, "smtp"))
		a->protocol = PROTOCOL_SMTP;
	else if (directive_equals_word(value, "lmtp"))
		a->protocol = PROTOCOL_LMTP;
	else
		return "expected 'smtp' or 'lmtp'";
	return NULL;
}

/* Every method msmtp 1.8 knows (its check_auth_arg). */
static const char *const auth_methods[] = {
	"plain", "login", "cram-md5", "digest-md5", "scram-sha-1",
	"scram-sha-256", "gssapi", "external", "ntlm", "oauthbearer", "xoauth2",
};

static const char *set_auth(struct account *a, const struct directive *d,
                            const char *value)
{
	if (!*value || directive_equals_word(value, "on")) {
		directive_replace_string(&a->auth, "on");
		return NULL;
	}
	if (directive_equals_word(value, "off")) {
		directive_replace_string(&a->auth, "");
		return NULL;
	}
	size_t count = sizeof auth_methods / sizeof *auth_methods;
	for (size_t i = 0; i < count; i++) {
		if (directive_equals_word(value, auth_methods[i])) {
			directive_replace_string(&a->auth, auth_methods[i]);
			return NULL;
		}
	}
	return "expected 'on', 'off' or a method: plain, login, cram-md5, "
	       "digest-md5, scram-sha-1, scram-sha-256, gssapi, external, "
	       "ntlm, oauthbearer, xoauth2";
}

/* "AB:CD:..." (or msmtp's "AB CD ...") of 32, 20 or 16 bytes, stored as
 * upper case with colons. */
static const char *set_fingerprint(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	static const char expected[] =
		"expected a SHA-256 fingerprint: 32 hexadecimal bytes "
		"separated by colons (SHA-1 with 20 or MD5 with 16 bytes is "
		"accepted but deprecated)";
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	size_t bytes = 0;
	const char *p = value;

	if (!*value) {
		directive_replace_string(&a->tls_fingerprint, "");
		return NULL;
	}
	for (;;) {
		int hi = ascii_hex_value(p[0]);
		int lo = hi < 0 ? -1 : ascii_hex_value(p[1]);
		if (lo < 0 || bytes == 32) {
			buf_free(&b);
			return expected;
		}
		if (bytes)
			buf_add_char(&b, ':');
		buf_add_char(&b, hex[hi]);
		buf_add_char(&b, hex[lo]);
		bytes++;
		p += 2;
		if (!*p)
			break;
		if (*p != ':' && *p != ' ') {
			buf_free(&b);
			return expected;
		}
		p++;
	}
	if (bytes != 32 && bytes != 20 && bytes != 16) {
		buf_free(&b);
		return expected;
	}
	free(a->tls_fingerprint);
	a->tls_fingerprint = buf_steal(&b);
	return NULL;
}

/* tls_min_dh_prime_bits: empty unsets. */
static const char *set_bits(struct account *a, const struct directive *d,
                            const char *value)
{
	long v;
	if (!*value) {
		a->tls_min_dh_prime_bits = 0;
		return NULL;
	}
	if (!directive_parse_number(value, 1, INT_MAX, &v))
		return "expected a number of bits greater than 0";
	a->tls_min_dh_prime_bits = (int)v;
	return NULL;
}

/* from: an address or a pattern (?, *, [...], %U %H %C %M); it goes into
 * MAIL FROM:<...>, so no blanks, controls or angle brackets (DESIGN.md
 * invariant 5). */
static const char *set_from(struct account *a, const struct directive *d,
                            const char *value)
{
	if (*value && (!directive_is_word(value) || strpbrk(value, "<>")))
		return "expected an address without blanks or '<' '>'";
	directive_replace_string(&a->from, value);
	return NULL;
}

/* RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
static const char *set_dsn_notify(struct account *a, const struct directive *d,
                                  const char *value)
{
	static const char expected[] =
		"expected 'off', 'never' or a comma-separated list (no blanks) "
		"of success, failure, delay";
	static const char *const words[] = {"success", "failure", "delay"};
	if (directive_equals_word(value, "off")) {
		directive_replace_string(&a->dsn_notify, "");
		return NULL;
	}
	if (directive_equals_word(value, "never")) {
		directive_replace_string(&a->dsn_notify, "NEVER");
		return NULL;
	}
	struct buf b = BUF_INIT;
	unsigned seen = 0;
	const char *p = value;
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < 3; i++)
			if (strlen(words[i]) == n &&
			    ascii_ncasecmp(p, words[i], n) == 0)
				break;
		if (i == 3 || (seen & (1u << i))) {
			buf_free(&b);
			return expected;
		}
		seen |= 1u << i;
		if (b.len)
			buf_add_char(&b, ',');
		for (size_t k = 0; k < n; k++)
			buf_add_char(&b, directive_ascii_upper(words[i][k]));
		if (!p[n])
			break;
		p += n + 1;
	}
	free(a->dsn_notify);
	a->dsn_notify = buf_steal(&b);
	return NULL;
}

/* RFC 3461 4.3: RET=HDRS or RET=FULL. */
static const char *set_dsn_return(struct account *a, const struct directive *d,
                                  const char *value)
{
	if (directive_equals_word(value, "off"))
		directive_replace_string(&a->dsn_return, "");
	else if (directive_equals_word(value, "headers"))
		directive_replace_string(&a->dsn_return, "HDRS");
	else if (directive_equals_word(value, "full"))
		directive_replace_string(&a->dsn_return, "FULL");
	else
		return "expected 'off', 'headers' or 'full'";
	return NULL;
}

/* set_from_header auto|on|off; msmtp 1.8.23 reads an empty value as auto. */
static const char *set_from_header(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	if (!*value || directive_equals_word(value, "auto"))
		a->set_from_header = HEADER_AUTO;
	else if (directive_equals_word(value, "on"))
		a->set_from_header = HEADER_ON;
	else if (directive_equals_word(value, "off"))
		a->set_from_header = HEADER_OFF;
	else
		return "expected 'auto', 'on' or 'off'";
	return NULL;
}

/* set_date_header, set_msgid_header: auto|off. */
static const char *set_auto_off(struct account *a, const struct directive *d,
                                const char *value)
{
	enum header_policy *slot = account_field_slot(a, d->field);
	if (!*value || directive_equals_word(value, "auto"))
		*slot = HEADER_AUTO;
	else if (directive_equals_word(value, "off"))
		*slot = HEADER_OFF;
	else
		return "expected 'auto' or 'off'";
	return NULL;
}

/* add_missing_from_header, add_missing_date_header: on = auto, off = off
 * (msmtp 1.8.8 NEWS). */
static const char *set_add_missing(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	bool v;
	const char *problem = set_on_off_value(value, &v);
	if (!problem)
		*(enum header_policy *)account_field_slot(a, d->field) =
			v ? HEADER_AUTO : HEADER_OFF;
	return problem;
}

/* msmtp's facilities (its conf.c check_syslog_arg), the one list: the
 * setter validates with it and log.c opens syslog with its values. */
const struct conf_syslog_facility *conf_find_syslog_facility(const char *name)
{
	static const struct conf_syslog_facility facilities[] = {
		{"LOG_USER", LOG_USER},     {"LOG_MAIL", LOG_MAIL},
		{"LOG_LOCAL0", LOG_LOCAL0}, {"LOG_LOCAL1", LOG_LOCAL1},
		{"LOG_LOCAL2", LOG_LOCAL2}, {"LOG_LOCAL3", LOG_LOCAL3},
		{"LOG_LOCAL4", LOG_LOCAL4}, {"LOG_LOCAL5", LOG_LOCAL5},
		{"LOG_LOCAL6", LOG_LOCAL6}, {"LOG_LOCAL7", LOG_LOCAL7},
	};
	for (size_t i = 0; i < sizeof facilities / sizeof *facilities; i++)
		if (directive_equals_word(name, facilities[i].name))
			return &facilities[i];
	return NULL;
}

static const char *set_syslog(struct account *a, const struct directive *d,
                              const char *value)
{
	if (!*value || directive_equals_word(value, "on")) {
		directive_replace_string(&a->syslog, "LOG_USER");
		return NULL;
	}
	if (directive_equals_word(value, "off")) {
		directive_replace_string(&a->syslog, "");
		return NULL;
	}
	const struct conf_syslog_facility *f = conf_find_syslog_facility(value);
	if (!f)
		return "expected 'on', 'off' or a facility: LOG_USER, "
		       "LOG_MAIL, LOG_LOCAL0 ... LOG_LOCAL7";
	directive_replace_string(&a->syslog, f->name);
	return NULL;
}

static const struct directive directives[] = {
	{"host", F_HOST, set_host, NULL},
	{"port", F_PORT, set_port, NULL},
	{"source_ip", F_SOURCE_IP, set_source_ip, NULL},
	{"proxy_host", F_PROXY_HOST, set_word,
	 "expected a host name or address without blanks"},
	{"proxy_port", F_PROXY_PORT, set_port, NULL},
	{"socket", F_SOCKET, set_file, NULL},
	{"timeout", F_TIMEOUT, set_timeout, NULL},
	{"connect_timeout", F_TIMEOUT, set_timeout, NULL}, /* msmtp <= 1.4.1 */
	{"protocol", F_PROTOCOL, set_protocol, NULL},
	{"domain", F_DOMAIN, set_word,
	 "expected a domain name without blanks"},
	{"auth", F_AUTH, set_auth, NULL},
	{"user", F_USER, set_text, NULL},
	{"password", F_PASSWORD, set_password, NULL},
	{"passwordeval", F_PASSWORDEVAL, set_command, NULL},
	{"ntlmdomain", F_NTLMDOMAIN, set_word,
	 "expected a domain name without blanks"},
	{"tls", F_TLS, set_bool, NULL},
	{"tls_starttls", F_TLS_STARTTLS, set_bool, NULL},
	{"tls_nostarttls", F_TLS_STARTTLS, set_flag_off, NULL},
	{"tls_trust_file", F_TLS_TRUST_FILE, set_trust_file, NULL},
	{"tls_crl_file", F_TLS_CRL_FILE, set_file, NULL},
	{"tls_fingerprint", F_TLS_FINGERPRINT, set_fingerprint, NULL},
	{"tls_key_file", F_TLS_KEY_FILE, set_file, NULL},
	{"tls_cert_file", F_TLS_CERT_FILE, set_file, NULL},
	{"tls_certcheck", F_TLS_CERTCHECK, set_bool, NULL},
	{"tls_nocertcheck", F_TLS_CERTCHECK, set_flag_off, NULL},
	{"tls_priorities", F_TLS_PRIORITIES, set_text, NULL},
	{"tls_host_override", F_TLS_HOST_OVERRIDE, set_word,
	 "expected a host name without blanks"},
	{"tls_min_dh_prime_bits", F_TLS_MIN_DH_PRIME_BITS, set_bits, NULL},
	{"tls_session_cache", F_TLS_SESSION_CACHE, set_bool, NULL},
	{"tls_force_sslv3", F_NONE, set_ignored, NULL},
	{"from", F_FROM, set_from, NULL},
	{"from_full_name", F_FROM_FULL_NAME, set_text, NULL},
	{"allow_from_override", F_ALLOW_FROM_OVERRIDE, set_allow_from_override,
	 NULL},
	{"dsn_notify", F_DSN_NOTIFY, set_dsn_notify, NULL},
	{"dsn_return", F_DSN_RETURN, set_dsn_return, NULL},
	{"set_from_header", F_SET_FROM_HEADER, set_from_header, NULL},
	{"add_missing_from_header", F_SET_FROM_HEADER, set_add_missing, NULL},
	{"set_date_header", F_SET_DATE_HEADER, set_auto_off, NULL},
	{"add_missing_date_header", F_SET_DATE_HEADER, set_add_missing, NULL},
	{"set_msgid_header", F_SET_MSGID_HEADER, set_auto_off, NULL},
	{"remove_bcc_headers", F_REMOVE_BCC_HEADERS, set_bool, NULL},
	{"keepbcc", F_REMOVE_BCC_HEADERS, set_bool_inverted, NULL},
	{"undisclosed_recipients", F_UNDISCLOSED_RECIPIENTS, set_bool, NULL},
	{"auto_from", F_AUTO_FROM, set_bool, NULL},
	{"maildomain", F_MAILDOMAIN, set_word,
	 "expected a domain name without blanks"},
	{"aliases", F_ALIASES, set_file, NULL},
	{"logfile", F_LOGFILE, set_file, NULL},
	{"logfile_time_format", F_LOGFILE_TIME_FORMAT, set_text, NULL},
	{"syslog", F_SYSLOG, set_syslog, NULL},
	/* outbox additions */
	{"dkim_key", F_DKIM, directive_set_dkim_key, NULL},
	{"dkim_selector", F_DKIM, directive_set_dkim_selector, NULL},
	{"dkim_domain", F_DKIM, directive_set_dkim_domain, NULL},
	{"dkim_canonicalization", F_DKIM, directive_set_dkim_canonicalization, NULL},
	{"dkim_headers", F_DKIM, directive_set_dkim_headers, NULL},
	{"dkim_identity", F_DKIM, directive_set_dkim_identity, NULL},
	{"dkim_expire", F_DKIM, directive_set_dkim_expire, NULL},
	{"queue", F_QUEUE, directive_set_queue, NULL},
	{"queue_dir", F_QUEUE_DIR, set_file, NULL},
	{"queue_max_age", F_QUEUE_MAX_AGE, directive_set_queue_max_age, NULL},
	{"queue_bounce", F_QUEUE_BOUNCE, set_bool, NULL},
	{"maildrop_max_size", F_MAILDROP_MAX_SIZE, directive_set_maildrop_max_size, NULL},
	{"direct_delivery", F_DIRECT_DELIVERY, set_bool, NULL},
	{"mta_sts", F_MTA_STS, set_bool, NULL},
	{"dane", F_DANE, set_bool, NULL},
	{"oauth2_provider", F_OAUTH2_PROVIDER, directive_set_oauth2_provider,
	 NULL},
	{"oauth2_client_id", F_OAUTH2_CLIENT_ID, set_word,
	 "expected a client ID without blanks"},
	{"oauth2_client_secret", F_OAUTH2_CLIENT_SECRET, set_password, NULL},
	{"oauth2_tenant", F_OAUTH2_TENANT, set_word,
	 "expected a tenant (a domain, a GUID, common, organizations or "
	 "consumers) without blanks"},
	{"oauth2_device_url", F_OAUTH2_DEVICE_URL, directive_set_oauth2_url,
	 NULL},
	{"oauth2_token_url", F_OAUTH2_TOKEN_URL, directive_set_oauth2_url, NULL},
	{"oauth2_scope", F_OAUTH2_SCOPE, set_text, NULL},
	{"oauth2_trust_file", F_OAUTH2_TRUST_FILE, set_trust_file, NULL},
	{"oauth2_token_store", F_OAUTH2_TOKEN_STORE,
	 directive_set_oauth2_token_store, NULL},
};

const struct directive *directive_find(const char *name)
{
	for (size_t i = 0; i < sizeof directives / sizeof *directives; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

enum field directive_field(const struct directive *d)
{
	return d->field;
}

/* The lines the parser itself handles. */
static bool is_parser_command(const char *name)
{
	return strcmp(name, "defaults") == 0 || strcmp(name, "account") == 0 ||
	       strcmp(name, "eval") == 0;
}

int directive_unknown(const char *name, bool hide, struct err *e)
{
	struct buf b = BUF_INIT;
	if (hide) {
		return err_set(e, EX_CONFIG,
		               "the line printed by eval is not a known "
		               "directive (not shown: it may be a secret)");
	}
	buf_add_str(&b, "unknown directive '");
	conf_add_shown(&b, name);
	buf_add_char(&b, '\'');
	struct buf lower = BUF_INIT;
	for (const char *p = name; *p; p++)
		buf_add_char(&lower, (*p >= 'A' && *p <= 'Z')
		                             ? (char)(*p - 'A' + 'a')
		                             : *p);
	if (strcmp(buf_str(&lower), name) != 0 &&
	    (directive_find(buf_str(&lower)) ||
	     is_parser_command(buf_str(&lower))))
		buf_printf(&b, "; directives are lower case: '%s'",
		           buf_str(&lower));
	buf_free(&lower);
	err_set(e, EX_CONFIG, "%s", buf_str(&b));
	buf_free(&b);
	return EX_CONFIG;
}

int directive_apply(struct account *a, const struct directive *d,
                    const char *value, bool hide, struct err *e)
{
	const char *problem = d->set(a, d, value);
	if (!problem)
		return EX_OK;
	struct buf b = BUF_INIT;
	if (!*value)
		buf_printf(&b, "'%s' needs a value: %s", d->name, problem);
	else if (hide || (d->field < FIELD_COUNT &&
	                  account_field_kind(d->field) == FIELD_SECRET))
		buf_printf(&b, "invalid value for '%s' (not shown): %s",
		           d->name, problem);
	else {
		buf_add_str(&b, "invalid value '");
		conf_add_shown(&b, value);
		buf_printf(&b, "' for '%s': %s", d->name, problem);
	}
	err_set(e, EX_CONFIG, "%s", buf_str(&b));
	buf_free(&b);
	return EX_CONFIG;
}

int account_set(struct account *a, const char *directive, const char *value,
                struct err *e)
{
	const struct directive *d = directive_find(directive);
	if (!d) {
		if (is_parser_command(directive))
			return err_set(e, EX_CONFIG,
			               "'%s' can only be used in a "
			               "configuration file", directive);
		return directive_unknown(directive, false, e);
	}
	return directive_apply(a, d, value ? value : "", false, e);
}
