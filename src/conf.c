/* conf.c - the msmtprc configuration language; see conf.h.
 *
 * The syntax and every rule below follow msmtp 1.8 as it really behaves
 * (checked against msmtp 1.8.23), so an existing ~/.msmtprc means the same
 * thing here:
 *   - one command per line; blanks are space and tab; a line whose first
 *     non-blank character is `#` is a comment;
 *   - the command is the first run of non-blank characters, the argument is
 *     the rest of the line without surrounding blanks; when the argument
 *     starts and ends with a double quote, both quotes are removed and
 *     nothing else is interpreted (msmtp has no backslash escapes);
 *   - `defaults` values are copied into each account when it is declared;
 *     `account b : a` then copies what was set in a (by a's own lines or a's
 *     parents), then b's own lines apply;
 *   - settings before the first `defaults` or `account` line make an account
 *     named "default" (msmtp's compatibility with version 1.2).
 * Differences, all in the stricter direction: numbers are decimal only
 * (msmtp's strtol(.., 0) reads "025" as octal 21), values that end up in the
 * protocol may not contain blanks or control characters, and keywords are
 * accepted in any case. */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* A configuration file larger than this is certainly not one. */
#define CONF_FILE_MAX (16L * 1024 * 1024)
/* The first output line of an `eval` command may be this long (OAuth tokens
 * are a few KiB; this only stops a runaway command). */
#define CONF_EVAL_OUTPUT_MAX (1L * 1024 * 1024)
/* How much of a rejected value an error message repeats. */
#define CONF_SHOWN_VALUE_MAX 80
/* msmtp's default SOCKS port. */
#define CONF_DEFAULT_PROXY_PORT 1080
/* msmtp's default logfile_time_format. */
#define CONF_DEFAULT_LOG_TIME_FORMAT "%b %d %H:%M:%S"
#define CONF_DEFAULT_DKIM_CANONICALIZATION "relaxed/relaxed"

/* ---- fields: what a directive sets, for inheritance ---------------------- */

/* Each field of struct account that a directive can set. msmtp's
 * `account b : a` copies from a only what was set in a, so the parser keeps
 * one bit per field for every account of the file. */
enum field {
	F_HOST, F_PORT, F_SOURCE_IP, F_PROXY_HOST, F_PROXY_PORT, F_SOCKET,
	F_TIMEOUT, F_PROTOCOL, F_DOMAIN,
	F_AUTH, F_USER, F_PASSWORD, F_PASSWORDEVAL, F_NTLMDOMAIN,
	F_TLS, F_TLS_STARTTLS, F_TLS_CERTCHECK, F_TLS_TRUST_FILE,
	F_TLS_CRL_FILE, F_TLS_FINGERPRINT, F_TLS_KEY_FILE, F_TLS_CERT_FILE,
	F_TLS_PRIORITIES, F_TLS_HOST_OVERRIDE, F_TLS_MIN_DH_PRIME_BITS,
	F_FROM, F_FROM_FULL_NAME, F_ALLOW_FROM_OVERRIDE, F_DSN_NOTIFY,
	F_DSN_RETURN, F_SET_FROM_HEADER, F_SET_DATE_HEADER,
	F_SET_MSGID_HEADER, F_REMOVE_BCC_HEADERS, F_UNDISCLOSED_RECIPIENTS,
	F_AUTO_FROM, F_MAILDOMAIN, F_ALIASES,
	F_LOGFILE, F_LOGFILE_TIME_FORMAT, F_SYSLOG,
	F_DKIM, F_QUEUE, F_QUEUE_DIR, F_QUEUE_MAX_AGE, F_QUEUE_BOUNCE,
	F_NONE, /* directives that are accepted and have no effect */
	FIELD_COUNT
};

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
 * values fit in int, and GCC/Clang use int); copy_field relies on it. */
_Static_assert(sizeof(enum protocol) == sizeof(int), "enum size");
_Static_assert(sizeof(enum header_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum queue_mode) == sizeof(int), "enum size");
_Static_assert(FIELD_COUNT <= 64, "one bit per field in a uint64_t");

static void *field_slot(struct account *a, enum field f)
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

static void dkim_signers_clear(struct account *a)
{
	for (size_t i = 0; i < a->dkim_count; i++)
		dkim_signer_free(&a->dkim[i]);
	free(a->dkim);
	a->dkim = NULL;
	a->dkim_count = 0;
}

static void dkim_signers_copy(struct account *dst, const struct account *src)
{
	dkim_signers_clear(dst);
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

/* dst's field f becomes a copy of src's. */
static void copy_field(struct account *dst, const struct account *src,
                       enum field f)
{
	void *to = field_slot(dst, f);
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
		copy_field(a, src, (enum field)f);
	return a;
}

void account_free(struct account *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->file);
	for (int f = 0; f < F_NONE; f++) {
		void *slot = field_slot(a, (enum field)f);
		if (field_info[f].kind == K_STR)
			free(*(char **)slot);
		else if (field_info[f].kind == K_SECRET)
			free_secret(*(char **)slot);
	}
	dkim_signers_clear(a);
	free(a);
}

/* ---- value checks -------------------------------------------------------- */

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

/* A single token: no blanks and no control characters. */
static bool is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (is_control((unsigned char)*s) || *s == ' ')
			return false;
	return true;
}

static bool equals_word(const char *value, const char *word)
{
	return ascii_casecmp(value, word) == 0;
}

/* s[0..n) is a decimal number from min to max, digits only. */
static bool parse_number_n(const char *s, size_t n, long min, long max,
                           long *out)
{
	long v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (v > (LONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_number(const char *s, long min, long max, long *out)
{
	return parse_number_n(s, strlen(s), min, max, out);
}

/* A positive duration: seconds, or a number with s, m, h or d. */
static bool parse_duration(const char *s, long *out)
{
	size_t n = strlen(s);
	long unit = 1;
	if (n == 0)
		return false;
	switch (s[n - 1]) {
	case 's': case 'S': unit = 1; n--; break;
	case 'm': case 'M': unit = 60; n--; break;
	case 'h': case 'H': unit = 60 * 60; n--; break;
	case 'd': case 'D': unit = 24 * 60 * 60; n--; break;
	default: break;
	}
	long v;
	if (!parse_number_n(s, n, 1, LONG_MAX / unit, &v))
		return false;
	*out = v * unit;
	return true;
}

/* Store a copy of value (NULL for "") in *slot. */
static void replace_string(char **slot, const char *value)
{
	free(*slot);
	*slot = *value ? xstrdup(value) : NULL;
}

/* ---- directives ---------------------------------------------------------- */

/* A setter returns NULL on success, else what was wrong with the value (the
 * caller adds the directive and the value). */
struct directive;
typedef const char *setter(struct account *a, const struct directive *d,
                           const char *value);

struct directive {
	const char *name;
	enum field field;
	setter *set;
	const char *expected; /* what set_word says about a bad value */
};

static const char *set_on_off_value(const char *value, bool *out)
{
	/* msmtp: "If a command accepts the argument on, it also accepts an
	 * empty argument and treats that as if it was on." */
	if (!*value || equals_word(value, "on"))
		*out = true;
	else if (equals_word(value, "off"))
		*out = false;
	else
		return "expected 'on' or 'off'";
	return NULL;
}

static const char *set_bool(struct account *a, const struct directive *d,
                            const char *value)
{
	return set_on_off_value(value, field_slot(a, d->field));
}

/* keepbcc: the old inverse of remove_bcc_headers. */
static const char *set_bool_inverted(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	bool v;
	const char *problem = set_on_off_value(value, &v);
	if (!problem)
		*(bool *)field_slot(a, d->field) = !v;
	return problem;
}

/* tls_nocertcheck, tls_nostarttls: old argument-less forms of "X off". */
static const char *set_flag_off(struct account *a, const struct directive *d,
                                const char *value)
{
	if (*value)
		return "this old directive takes no value";
	*(bool *)field_slot(a, d->field) = false;
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
	if (has_control(value))
		return "control characters are not allowed";
	replace_string(field_slot(a, d->field), value);
	return NULL;
}

/* A word (host names, domains): empty unsets. */
static const char *set_word(struct account *a, const struct directive *d,
                            const char *value)
{
	if (*value && !is_word(value))
		return d->expected;
	replace_string(field_slot(a, d->field), value);
	return NULL;
}

/* host: a word, required. */
static const char *set_host(struct account *a, const struct directive *d,
                            const char *value)
{
	if (!is_word(value))
		return "expected a host name or address without blanks";
	replace_string(&a->host, value);
	return NULL;
}

static const char *set_source_ip(struct account *a, const struct directive *d,
                                 const char *value)
{
	unsigned char addr[sizeof(struct in6_addr)];
	if (*value && inet_pton(AF_INET, value, addr) != 1 &&
	    inet_pton(AF_INET6, value, addr) != 1)
		return "expected an IPv4 or IPv6 address";
	replace_string(&a->source_ip, value);
	return NULL;
}

/* The secret: any text; the old value is wiped. */
static const char *set_password(struct account *a, const struct directive *d,
                                const char *value)
{
	free_secret(a->password);
	a->password = *value ? xstrdup(value) : NULL;
	return NULL;
}

/* Commands (passwordeval) are run by /bin/sh: anything goes. */
static const char *set_command(struct account *a, const struct directive *d,
                               const char *value)
{
	replace_string(field_slot(a, d->field), value);
	return NULL;
}

/* ~ and ~/... become $HOME..., as msmtp's expand_tilde (only the user's own
 * home: msmtp has no ~user either). */
static const char *expand_tilde(const char *value, char **out)
{
	if (value[0] != '~' || (value[1] != '\0' && value[1] != '/')) {
		*out = xstrdup(value);
		return NULL;
	}
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		return "cannot expand '~': HOME is not set";
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
	char **slot = field_slot(a, d->field);
	if (has_control(value))
		return "control characters are not allowed in a file name";
	if (!*value) {
		free(*slot);
		*slot = NULL;
		return NULL;
	}
	char *expanded;
	const char *problem = expand_tilde(value, &expanded);
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
	if (has_control(value))
		return "control characters are not allowed in a file name";
	free(a->tls_trust_file);
	a->tls_trust_file = xstrdup(value);
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
	if (!parse_number(value, 1, 65535, &v))
		return "expected a number from 1 to 65535";
	*(int *)field_slot(a, d->field) = (int)v;
	return NULL;
}

static const char *set_timeout(struct account *a, const struct directive *d,
                               const char *value)
{
	long v;
	if (equals_word(value, "off")) {
		a->timeout = 0;
		return NULL;
	}
	if (!parse_number(value, 1, INT_MAX, &v))
		return "expected 'off' or a number of seconds greater than 0";
	a->timeout = (int)v;
	return NULL;
}

static const char *set_protocol(struct account *a, const struct directive *d,
                                const char *value)
{
	if (equals_word(value, "smtp"))
		a->protocol = PROTOCOL_SMTP;
	else if (equals_word(value, "lmtp"))
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
	if (!*value || equals_word(value, "on")) {
		replace_string(&a->auth, "on");
		return NULL;
	}
	if (equals_word(value, "off")) {
		replace_string(&a->auth, "");
		return NULL;
	}
	size_t count = sizeof auth_methods / sizeof *auth_methods;
	for (size_t i = 0; i < count; i++) {
		if (equals_word(value, auth_methods[i])) {
			replace_string(&a->auth, auth_methods[i]);
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
		replace_string(&a->tls_fingerprint, "");
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
	if (!parse_number(value, 1, INT_MAX, &v))
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
	if (*value && (!is_word(value) || strpbrk(value, "<>")))
		return "expected an address without blanks or '<' '>'";
	replace_string(&a->from, value);
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
	if (equals_word(value, "off")) {
		replace_string(&a->dsn_notify, "");
		return NULL;
	}
	if (equals_word(value, "never")) {
		replace_string(&a->dsn_notify, "NEVER");
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
			buf_add_char(&b, ascii_upper(words[i][k]));
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
	if (equals_word(value, "off"))
		replace_string(&a->dsn_return, "");
	else if (equals_word(value, "headers"))
		replace_string(&a->dsn_return, "HDRS");
	else if (equals_word(value, "full"))
		replace_string(&a->dsn_return, "FULL");
	else
		return "expected 'off', 'headers' or 'full'";
	return NULL;
}

/* set_from_header auto|on|off; msmtp 1.8.23 reads an empty value as auto. */
static const char *set_from_header(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	if (!*value || equals_word(value, "auto"))
		a->set_from_header = HEADER_AUTO;
	else if (equals_word(value, "on"))
		a->set_from_header = HEADER_ON;
	else if (equals_word(value, "off"))
		a->set_from_header = HEADER_OFF;
	else
		return "expected 'auto', 'on' or 'off'";
	return NULL;
}

/* set_date_header, set_msgid_header: auto|off. */
static const char *set_auto_off(struct account *a, const struct directive *d,
                                const char *value)
{
	enum header_policy *slot = field_slot(a, d->field);
	if (!*value || equals_word(value, "auto"))
		*slot = HEADER_AUTO;
	else if (equals_word(value, "off"))
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
		*(enum header_policy *)field_slot(a, d->field) =
			v ? HEADER_AUTO : HEADER_OFF;
	return problem;
}

static const char *set_syslog(struct account *a, const struct directive *d,
                              const char *value)
{
	static const char *const facilities[] = {
		"LOG_USER", "LOG_MAIL", "LOG_LOCAL0", "LOG_LOCAL1",
		"LOG_LOCAL2", "LOG_LOCAL3", "LOG_LOCAL4", "LOG_LOCAL5",
		"LOG_LOCAL6", "LOG_LOCAL7",
	};
	if (!*value || equals_word(value, "on")) {
		replace_string(&a->syslog, "LOG_USER");
		return NULL;
	}
	if (equals_word(value, "off")) {
		replace_string(&a->syslog, "");
		return NULL;
	}
	for (size_t i = 0; i < sizeof facilities / sizeof *facilities; i++) {
		if (equals_word(value, facilities[i])) {
			replace_string(&a->syslog, facilities[i]);
			return NULL;
		}
	}
	return "expected 'on', 'off' or a facility: LOG_USER, LOG_MAIL, "
	       "LOG_LOCAL0 ... LOG_LOCAL7";
}

/* ---- outbox additions: DKIM ---------------------------------------------- */

/* The signer the dkim_* settings apply to: the most recently added one, or
 * a new first one (its key comes later). */
static struct dkim_signer *dkim_current(struct account *a)
{
	if (a->dkim_count == 0) {
		a->dkim = xcalloc(1, sizeof *a->dkim);
		a->dkim_count = 1;
	}
	return &a->dkim[a->dkim_count - 1];
}

static const char *set_dkim_key(struct account *a, const struct directive *d,
                                const char *value)
{
	if (!*value)
		return "expected a private key file, or 'off' to remove every "
		       "signer";
	if (equals_word(value, "off")) {
		dkim_signers_clear(a);
		return NULL;
	}
	if (has_control(value))
		return "control characters are not allowed in a file name";
	char *file;
	const char *problem = expand_tilde(value, &file);
	if (problem)
		return problem;
	/* A signer started by dkim_selector & co. before any dkim_key takes
	 * this key; otherwise the key starts one more signer (dual signing,
	 * RFC 8463 3). */
	if (a->dkim_count == 0 || a->dkim[a->dkim_count - 1].key_file) {
		a->dkim = xrealloc(a->dkim,
		                   (a->dkim_count + 1) * sizeof *a->dkim);
		memset(&a->dkim[a->dkim_count], 0, sizeof *a->dkim);
		a->dkim_count++;
	}
	a->dkim[a->dkim_count - 1].key_file = file;
	return NULL;
}

/* RFC 6376 3.1: a selector is dot-separated sub-domain labels. */
static bool is_dns_name(const char *s)
{
	size_t label = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		/* letters, digits, hyphen, underscore; UTF-8 for IDN names */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c >= 0x80))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static const char *set_dkim_selector(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	if (!is_dns_name(value))
		return "expected a selector: letters, digits, '-' and '_' in "
		       "dot-separated labels";
	replace_string(&dkim_current(a)->selector, value);
	return NULL;
}

static const char *set_dkim_domain(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	if (*value && !is_dns_name(value))
		return "expected a domain name";
	replace_string(&dkim_current(a)->domain, value);
	return NULL;
}

/* RFC 6376 3.5 c=: header[/body], each simple or relaxed; a lone
 * algorithm is the header one and the body one is then simple. */
static const char *set_dkim_canonicalization(struct account *a,
                                             const struct directive *d,
                                             const char *value)
{
	static const char expected[] =
		"expected HEADER/BODY, each 'simple' or 'relaxed'";
	const char *slash = strchr(value, '/');
	size_t hn = slash ? (size_t)(slash - value) : strlen(value);
	const char *body = slash ? slash + 1 : "simple";
	const char *h, *bd;

	if (hn == 6 && ascii_ncasecmp(value, "simple", 6) == 0)
		h = "simple";
	else if (hn == 7 && ascii_ncasecmp(value, "relaxed", 7) == 0)
		h = "relaxed";
	else
		return expected;
	if (equals_word(body, "simple"))
		bd = "simple";
	else if (equals_word(body, "relaxed"))
		bd = "relaxed";
	else
		return expected;
	struct dkim_signer *s = dkim_current(a);
	free(s->canonicalization);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", h, bd);
	s->canonicalization = buf_steal(&b);
	return NULL;
}

/* RFC 6376 3.5 h=: header field names (RFC 5322 2.2: printable ASCII but
 * the colon) separated by colons; From must be among them (5.4). */
static const char *set_dkim_headers(struct account *a,
                                    const struct directive *d,
                                    const char *value)
{
	bool from = false;
	const char *p = value;
	if (!*value) {
		replace_string(&dkim_current(a)->headers, "");
		return NULL;
	}
	for (;;) {
		size_t n = strcspn(p, ":");
		if (n == 0)
			return "expected header field names separated by ':'";
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c <= 32 || c > 126)
				return "expected header field names separated "
				       "by ':'";
		}
		if (n == 4 && ascii_ncasecmp(p, "from", 4) == 0)
			from = true;
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!from)
		return "the list must include From (RFC 6376 5.4)";
	replace_string(&dkim_current(a)->headers, value);
	return NULL;
}

/* RFC 6376 3.5 i=: [local-part]@domain. */
static const char *set_dkim_identity(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	const char *at = strrchr(value, '@');
	if (*value && (!is_word(value) || !at || !is_dns_name(at + 1) ||
	               strpbrk(value, ";<>")))
		return "expected [local-part]@domain";
	replace_string(&dkim_current(a)->identity, value);
	return NULL;
}

static const char *set_dkim_expire(struct account *a,
                                   const struct directive *d,
                                   const char *value)
{
	long v;
	if (equals_word(value, "off")) {
		dkim_current(a)->expire = 0;
		return NULL;
	}
	if (!parse_duration(value, &v))
		return "expected 'off' or a duration: seconds, or a number "
		       "followed by s, m, h or d";
	dkim_current(a)->expire = v;
	return NULL;
}

/* ---- outbox additions: queue --------------------------------------------- */

static const char *set_queue(struct account *a, const struct directive *d,
                             const char *value)
{
	if (equals_word(value, "off"))
		a->queue = QUEUE_OFF;
	else if (equals_word(value, "on-failure"))
		a->queue = QUEUE_ON_FAILURE;
	else if (equals_word(value, "always"))
		a->queue = QUEUE_ALWAYS;
	else
		return "expected 'off', 'on-failure' or 'always'";
	return NULL;
}

static const char *set_queue_max_age(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	long v;
	if (!parse_duration(value, &v))
		return "expected a duration: seconds, or a number followed by "
		       "s, m, h or d";
	a->queue_max_age = v;
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
	{"tls_force_sslv3", F_NONE, set_ignored, NULL},
	{"from", F_FROM, set_from, NULL},
	{"from_full_name", F_FROM_FULL_NAME, set_text, NULL},
	{"allow_from_override", F_ALLOW_FROM_OVERRIDE, set_bool, NULL},
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
	{"dkim_key", F_DKIM, set_dkim_key, NULL},
	{"dkim_selector", F_DKIM, set_dkim_selector, NULL},
	{"dkim_domain", F_DKIM, set_dkim_domain, NULL},
	{"dkim_canonicalization", F_DKIM, set_dkim_canonicalization, NULL},
	{"dkim_headers", F_DKIM, set_dkim_headers, NULL},
	{"dkim_identity", F_DKIM, set_dkim_identity, NULL},
	{"dkim_expire", F_DKIM, set_dkim_expire, NULL},
	{"queue", F_QUEUE, set_queue, NULL},
	{"queue_dir", F_QUEUE_DIR, set_file, NULL},
	{"queue_max_age", F_QUEUE_MAX_AGE, set_queue_max_age, NULL},
	{"queue_bounce", F_QUEUE_BOUNCE, set_bool, NULL},
};

static const struct directive *directive_find(const char *name)
{
	for (size_t i = 0; i < sizeof directives / sizeof *directives; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

/* Add value to a message, shortened and with control characters shown as
 * '?', so a message stays one readable line. */
static void buf_add_shown(struct buf *b, const char *value)
{
	size_t n = strlen(value);
	size_t shown = n > CONF_SHOWN_VALUE_MAX ? CONF_SHOWN_VALUE_MAX : n;
	for (size_t i = 0; i < shown; i++)
		buf_add_char(b, is_control((unsigned char)value[i]) ? '?'
		                                                    : value[i]);
	if (shown < n)
		buf_printf(b, "... (%zu characters)", n);
}

static bool is_parser_command(const char *name)
{
	return strcmp(name, "defaults") == 0 || strcmp(name, "account") == 0 ||
	       strcmp(name, "eval") == 0;
}

/* The "unknown directive" message, with a hint for a wrong case. */
static int unknown_directive(const char *name, bool hide, struct err *e)
{
	struct buf b = BUF_INIT;
	if (hide) {
		return err_set(e, EX_CONFIG,
		               "the line printed by eval is not a known "
		               "directive (not shown: it may be a secret)");
	}
	buf_add_str(&b, "unknown directive '");
	buf_add_shown(&b, name);
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

/* Apply d; on failure the message names the directive and (unless hide,
 * for lines that came out of eval) the value. */
static int directive_apply(struct account *a, const struct directive *d,
                           const char *value, bool hide, struct err *e)
{
	const char *problem = d->set(a, d, value);
	if (!problem)
		return EX_OK;
	struct buf b = BUF_INIT;
	if (!*value)
		buf_printf(&b, "'%s' needs a value: %s", d->name, problem);
	else if (hide || d->field == F_PASSWORD)
		buf_printf(&b, "invalid value for '%s' (not shown): %s",
		           d->name, problem);
	else {
		buf_add_str(&b, "invalid value '");
		buf_add_shown(&b, value);
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
		return unknown_directive(directive, false, e);
	}
	return directive_apply(a, d, value ? value : "", false, e);
}

/* ---- finalize and describe ----------------------------------------------- */

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

/* ---- eval ---------------------------------------------------------------- */

/* Run cmd with /bin/sh -c and put the first line of its standard output
 * (without the newline, and without a CR before it) in line. Standard input
 * is /dev/null: outbox reads the message from its own standard input, which
 * the command must not eat (msmtp only warns about this). As msmtp (which
 * uses popen/pclose), the exit status is not checked when a line came out,
 * and the command gets SIGPIPE if it writes more than we read. */
static int eval_run(const char *cmd, struct buf *line, struct err *e)
{
	int fds[2];
	if (pipe(fds) != 0)
		return err_set(e, EX_OSERR, "eval: cannot create a pipe: %s",
		               strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(fds[0]);
		close(fds[1]);
		return err_set(e, EX_OSERR, "eval: cannot start /bin/sh: %s",
		               strerror(saved));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(null);
		close(fds[0]);
		close(fds[1]);
		/* an ignored SIGPIPE would survive exec; the command should
		 * die quietly when we stop reading, as under pclose */
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);

	bool got_newline = false, too_long = false, read_error = false;
	size_t total = 0;
	char chunk[4096];
	while (!got_newline) {
		ssize_t n = read(fds[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			read_error = true;
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		char *nl = memchr(chunk, '\n', (size_t)n);
		size_t keep = nl ? (size_t)(nl - chunk) : (size_t)n;
		if (line->len + keep > CONF_EVAL_OUTPUT_MAX) {
			too_long = true;
			break;
		}
		buf_add(line, chunk, keep);
		got_newline = nl != NULL;
	}
	secure_zero(chunk, sizeof chunk);
	close(fds[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read_error)
		return err_set(e, EX_IOERR, "eval: cannot read the output of "
		               "the command");
	if (too_long)
		return err_set(e, EX_CONFIG,
		               "eval: the first output line of the command is "
		               "longer than %ld bytes", CONF_EVAL_OUTPUT_MAX);
	if (total == 0) {
		if (WIFEXITED(status))
			return err_set(e, EX_CONFIG,
			               "eval: the command printed nothing "
			               "(exit status %d)", WEXITSTATUS(status));
		return err_set(e, EX_CONFIG,
		               "eval: the command printed nothing (killed by "
		               "signal %d)",
		               WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	if (line->len && line->data[line->len - 1] == '\r')
		line->data[--line->len] = '\0';
	if (memchr(buf_str(line), '\0', line->len))
		return err_set(e, EX_CONFIG,
		               "eval: the output of the command contains a NUL "
		               "byte");
	return EX_OK;
}

/* ---- the parser ---------------------------------------------------------- */

struct parsed_account {
	struct account *acc;
	uint64_t set; /* bit per enum field: set by its lines or its parents */
};

struct parser {
	const char *filename;
	bool eval_disabled;
	struct account *defaults;
	struct parsed_account *accounts; /* of this file, in order */
	size_t count;
	long current; /* index in accounts, or -1 for defaults */
	bool started; /* a defaults or account line was seen */
	bool has_secret;
	struct err *e;
};

/* err_prefix with "FILE:LINE". */
static int parser_fail(struct parser *p, int line, int code)
{
	err_prefix(p->e, "%s:%d", p->filename, line);
	p->e->code = code;
	return code;
}

static int parser_error(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parser_error(struct parser *p, int line, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	err_set(p->e, EX_CONFIG, "%s", buf_str(&b));
	buf_free(&b);
	return parser_fail(p, line, EX_CONFIG);
}

/* A name for a message: shortened, control characters as '?'. */
static char *shown(const char *value)
{
	struct buf b = BUF_INIT;
	buf_add_shown(&b, value);
	return buf_steal(&b);
}

static struct parsed_account *parser_find(struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->accounts[i].acc->name, name) == 0)
			return &p->accounts[i];
	return NULL;
}

static struct parsed_account *parser_add(struct parser *p, const char *name,
                                         int line)
{
	struct account *a = account_clone(p->defaults, name);
	free(a->file);
	a->file = xstrdup(p->filename);
	a->line = line;
	p->accounts = xrealloc(p->accounts,
	                       (p->count + 1) * sizeof *p->accounts);
	p->accounts[p->count].acc = a;
	p->accounts[p->count].set = 0;
	p->current = (long)p->count;
	return &p->accounts[p->count++];
}

/* Copy of s[0..n) without surrounding blanks, and without one pair of
 * enclosing double quotes (msmtp's trim_string). */
static void trim_unquote(const char *s, size_t n, struct buf *out)
{
	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	buf_reset(out);
	buf_add(out, s, n);
}

/* account NAME [: PARENT[,PARENT...]] */
static int parse_account(struct parser *p, int line, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t name_len = colon ? (size_t)(colon - arg) : strlen(arg);
	struct buf name = BUF_INIT, parent = BUF_INIT;
	struct parsed_account **parents = NULL;
	size_t parent_count = 0;
	int rc = EX_OK;

	trim_unquote(arg, name_len, &name);
	if (colon) {
		const char *s = colon + 1;
		for (;;) {
			size_t n = strcspn(s, ",");
			trim_unquote(s, n, &parent);
			struct parsed_account *pa;
			if (parent.len == 0) {
				rc = parser_error(p, line,
				                  "missing account name in "
				                  "the list after ':'");
				goto out;
			}
			pa = parser_find(p, buf_str(&parent));
			if (!pa) {
				char *s_name = shown(buf_str(&parent));
				rc = parser_error(p, line,
				                  "account '%s' is not (yet) "
				                  "defined in this file",
				                  s_name);
				free(s_name);
				goto out;
			}
			parents = xrealloc(parents, (parent_count + 1) *
			                                    sizeof *parents);
			parents[parent_count++] = pa;
			if (!s[n])
				break;
			s += n + 1;
		}
	}
	if (name.len == 0) {
		rc = parser_error(p, line, "%s", "'account' needs a name");
		goto out;
	}
	if (strchr(buf_str(&name), ',') || has_control(buf_str(&name))) {
		char *s_name = shown(buf_str(&name));
		rc = parser_error(p, line,
		                  "account name '%s' must not contain ',', ':' "
		                  "or control characters", s_name);
		free(s_name);
		goto out;
	}
	struct parsed_account *old = parser_find(p, buf_str(&name));
	if (old) {
		rc = parser_error(p, line,
		                  "account '%s' is already defined at line %d",
		                  buf_str(&name), old->acc->line);
		goto out;
	}
	/* Parents are resolved before parser_add moves the array. */
	struct account **sources = xcalloc(parent_count ? parent_count : 1,
	                                   sizeof *sources);
	uint64_t *masks = xcalloc(parent_count ? parent_count : 1,
	                          sizeof *masks);
	for (size_t i = 0; i < parent_count; i++) {
		sources[i] = parents[i]->acc;
		masks[i] = parents[i]->set;
	}
	struct parsed_account *pa = parser_add(p, buf_str(&name), line);
	for (size_t i = 0; i < parent_count; i++) {
		for (int f = 0; f < F_NONE; f++)
			if (masks[i] & ((uint64_t)1 << f))
				copy_field(pa->acc, sources[i], (enum field)f);
		pa->set |= masks[i];
	}
	free(sources);
	free(masks);
	p->started = true;
out:
	free(parents);
	buf_free(&name);
	buf_free(&parent);
	return rc;
}

static int parse_line(struct parser *p, int line, const char *text, size_t n,
                      bool from_eval);

static int parse_eval(struct parser *p, int line, const char *arg)
{
	if (p->eval_disabled)
		return parser_error(p, line, "%s",
		                    "'eval' is disabled for this text");
	if (!*arg)
		return parser_error(p, line, "%s", "'eval' needs a command");
	struct buf out = BUF_INIT;
	int rc = eval_run(arg, &out, p->e);
	if (rc != EX_OK)
		parser_fail(p, line, rc);
	else
		rc = parse_line(p, line, buf_str(&out), out.len, true);
	buf_wipe(&out);
	return rc;
}

/* One line without its end of line. from_eval: the line is the output of an
 * eval command (no nested eval, values hidden in messages, not counted as a
 * secret stored in the file). */
static int parse_line(struct parser *p, int line, const char *text, size_t n,
                      bool from_eval)
{
	size_t i = 0;
	while (i < n && is_blank(text[i]))
		i++;
	if (i == n || text[i] == '#')
		return EX_OK;
	size_t start = i;
	while (i < n && !is_blank(text[i]))
		i++;

	struct buf name = BUF_INIT, arg = BUF_INIT;
	int rc = EX_OK;
	buf_add(&name, text + start, i - start);
	trim_unquote(text + i, n - i, &arg);
	const char *cmd = buf_str(&name);
	const char *value = buf_str(&arg);

	if (strcmp(cmd, "defaults") == 0) {
		if (arg.len)
			rc = parser_error(p, line, "%s",
			                  "'defaults' takes no value");
		p->current = -1;
		p->started = true;
	} else if (strcmp(cmd, "account") == 0) {
		rc = parse_account(p, line, value);
	} else if (strcmp(cmd, "eval") == 0) {
		if (from_eval)
			rc = parser_error(p, line, "%s",
			                  "the line printed by eval may not be "
			                  "another eval");
		else
			rc = parse_eval(p, line, value);
	} else {
		const struct directive *d = directive_find(cmd);
		if (!d) {
			unknown_directive(cmd, from_eval, p->e);
			rc = parser_fail(p, line, EX_CONFIG);
			goto out;
		}
		/* msmtp 1.2 compatibility: settings before any account
		 * line make the account "default". */
		if (!p->started) {
			parser_add(p, "default", line);
			p->started = true;
		}
		struct account *a = p->current < 0
		                        ? p->defaults
		                        : p->accounts[p->current].acc;
		rc = directive_apply(a, d, value, from_eval, p->e);
		if (rc != EX_OK) {
			parser_fail(p, line, rc);
			goto out;
		}
		if (p->current >= 0)
			p->accounts[p->current].set |= (uint64_t)1 << d->field;
		if (d->field == F_PASSWORD && *value && !from_eval)
			p->has_secret = true;
	}
out:
	buf_free(&name);
	buf_wipe(&arg); /* may have been a password */
	return rc;
}

/* Parse text into p->accounts. */
static int parser_run(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;
	int line = 0;

	/* A UTF-8 byte order mark, as some Windows editors write. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (line == INT_MAX)
			return parser_error(p, line, "%s", "too many lines");
		line++;
		if (memchr(start, '\0', n))
			return parser_error(p, line, "%s",
			                    "the line contains a NUL byte");
		if (n && start[n - 1] == '\r') /* CRLF files */
			n--;
		int rc = parse_line(p, line, start, n, false);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

static void parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->count; i++)
		account_free(p->accounts[i].acc);
	free(p->accounts);
	account_free(p->defaults);
	p->accounts = NULL;
	p->defaults = NULL;
	p->count = 0;
}

/* Move the parsed accounts into conf; an account of an earlier file with
 * the same name is replaced (the user file overrides the system file). */
static void conf_merge(struct conf *conf, struct parser *p)
{
	for (size_t i = 0; i < p->count; i++) {
		struct account *a = p->accounts[i].acc;
		for (size_t k = 0; k < conf->count; k++) {
			struct account **slot = &conf->accounts[k];
			if (strcmp((*slot)->name, a->name) == 0) {
				account_free(*slot);
				memmove(slot, slot + 1, (conf->count - k - 1) *
				                                sizeof *slot);
				conf->count--;
				break;
			}
		}
		conf->accounts = xrealloc(conf->accounts,
		                          (conf->count + 1) *
		                                  sizeof *conf->accounts);
		conf->accounts[conf->count++] = a;
		p->accounts[i].acc = NULL;
	}
	p->count = 0;
}

/* Parse text; on success *p holds the accounts (not yet merged). */
static int conf_parse_text(const struct conf *conf, struct parser *p,
                           const char *text, size_t len, const char *filename,
                           struct err *e)
{
	memset(p, 0, sizeof *p);
	p->filename = filename ? filename : "(configuration)";
	p->eval_disabled = conf->eval_disabled;
	p->defaults = account_new("defaults");
	p->current = -1;
	p->e = e;
	return parser_run(p, text, len);
}

int conf_parse(struct conf *conf, const char *text, size_t len,
               const char *filename, bool *has_secret, struct err *e)
{
	struct parser p;
	int rc = conf_parse_text(conf, &p, text, len, filename, e);
	if (has_secret)
		*has_secret = p.has_secret;
	if (rc == EX_OK)
		conf_merge(conf, &p);
	parser_free(&p);
	return rc;
}

/* ---- files --------------------------------------------------------------- */

/* Read, parse and check one file. require_owner: the file must belong to
 * the user when it holds a password (msmtp's rule for the user file; root
 * is exempt as in msmtp). */
static int conf_load_path(struct conf *conf, const char *path,
                          bool require_owner, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int saved = errno;
		close(fd);
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(saved));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(EISDIR));
	}

	struct buf text = BUF_INIT;
	for (;;) {
		buf_reserve(&text, 65536);
		ssize_t n = read(fd, text.data + text.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			buf_wipe(&text);
			return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
			               strerror(saved));
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
		text.data[text.len] = '\0';
		if ((long long)text.len > CONF_FILE_MAX) {
			close(fd);
			buf_wipe(&text);
			return err_set(e, EX_CONFIG,
			               "%s: larger than %ld bytes; this is not "
			               "a configuration file", path,
			               CONF_FILE_MAX);
		}
	}
	close(fd);

	struct parser p;
	int rc = conf_parse_text(conf, &p, buf_str(&text), text.len, path, e);
	buf_wipe(&text);
	if (rc == EX_OK && p.has_secret && (st.st_mode & 077)) {
		/* DESIGN.md invariant 7, for every user including root */
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password but is readable by group "
		             "or others; run chmod 600 %s", path, path);
	}
	if (rc == EX_OK && p.has_secret && require_owner && geteuid() != 0 &&
	    st.st_uid != geteuid()) {
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password but is owned by uid %ld, "
		             "not by you (uid %ld)", path, (long)st.st_uid,
		             (long)geteuid());
	}
	if (rc == EX_OK) {
		conf_merge(conf, &p);
		conf->files = xrealloc(conf->files, (conf->file_count + 1) *
		                                    sizeof *conf->files);
		conf->files[conf->file_count++] = xstrdup(path);
	}
	parser_free(&p);
	return rc;
}

int conf_load_file(struct conf *conf, const char *path, struct err *e)
{
	return conf_load_path(conf, path, false, e);
}

/* Exists, or exists but we may not look (then reading it reports why). */
static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 || errno == EACCES;
}

static char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home && *home ? xstrdup(home) : NULL;
}

static char *path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", dir, name);
	return buf_steal(&b);
}

/* The user-level file: outbox's own when it exists (XDG first), else
 * msmtp's (~/.msmtprc first, then XDG, as msmtp tries them). NULL: none. */
static char *user_file(void)
{
	char *home = home_dir();
	if (!home)
		return NULL;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *config = (xdg && xdg[0] == '/') ? xstrdup(xdg)
	                                      : path_join(home, ".config");
	char *candidates[4] = {
		path_join(config, "outbox/config"),
		path_join(home, ".outboxrc"),
		path_join(home, ".msmtprc"),
		path_join(config, "msmtp/config"),
	};
	char *found = NULL;
	for (int i = 0; i < 4; i++) {
		if (!found && file_exists(candidates[i]))
			found = candidates[i];
		else
			free(candidates[i]);
	}
	free(config);
	free(home);
	return found;
}

int conf_load_default(struct conf *conf, const char *explicit_file,
                      struct err *e)
{
	if (explicit_file)
		return conf_load_path(conf, explicit_file, true, e);

	/* System level: OUTBOX_SYSCONFDIR lets tests and packagers point
	 * elsewhere at run time. */
	const char *sysconfdir = getenv("OUTBOX_SYSCONFDIR");
	if (!sysconfdir || !*sysconfdir)
		sysconfdir = SYSCONFDIR;
	char *system_file = path_join(sysconfdir, "outboxrc");
	if (!file_exists(system_file)) {
		free(system_file);
		system_file = path_join(sysconfdir, "msmtprc");
	}
	if (file_exists(system_file)) {
		/* msmtp: loaded "if it exists and is readable": a system file
		 * kept from users (mode 600 root) is skipped, not an error. */
		if (access(system_file, R_OK) == 0) {
			int rc = conf_load_path(conf, system_file, false, e);
			if (rc != EX_OK) {
				free(system_file);
				return rc;
			}
		}
	}
	free(system_file);

	char *user = user_file();
	int rc = EX_OK;
	if (user)
		rc = conf_load_path(conf, user, true, e);
	free(user);
	return rc;
}

struct account *conf_find_account(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->count; i++)
		if (strcmp(conf->accounts[i]->name, name) == 0)
			return conf->accounts[i];
	return NULL;
}

void conf_free(struct conf *conf)
{
	for (size_t i = 0; i < conf->count; i++)
		account_free(conf->accounts[i]);
	free(conf->accounts);
	for (size_t i = 0; i < conf->file_count; i++)
		free(conf->files[i]);
	free(conf->files);
	conf->accounts = NULL;
	conf->files = NULL;
	conf->count = conf->file_count = 0;
}
