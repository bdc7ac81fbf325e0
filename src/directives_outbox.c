/* directives_outbox.c - outbox's additions to the msmtprc language (DKIM
 * signing, the queue, the maildrop); see directives_internal.h. */
#include "directives_internal.h"

#include <stdlib.h>
#include <string.h>

#include "maildrop_format.h"
#include "runenv.h"
#include "util.h"

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

const char *directive_set_dkim_key(struct account *a, const struct directive *d,
                                   const char *value)
{
	if (!*value)
		return "expected a private key file, or 'off' to remove every "
		       "signer";
	if (directive_equals_word(value, "off")) {
		account_dkim_clear(a);
		return NULL;
	}
	if (conf_has_control(value))
		return "control characters are not allowed in a file name";
	char *file;
	const char *problem = conf_expand_tilde(a->env, value, &file);
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

const char *directive_set_dkim_selector(struct account *a,
                                        const struct directive *d,
                                        const char *value)
{
	if (!is_dns_name(value))
		return "expected a selector: letters, digits, '-' and '_' in "
		       "dot-separated labels";
	directive_replace_string(&dkim_current(a)->selector, value);
	return NULL;
}

const char *directive_set_dkim_domain(struct account *a,
                                      const struct directive *d,
                                      const char *value)
{
	if (*value && !is_dns_name(value))
		return "expected a domain name";
	directive_replace_string(&dkim_current(a)->domain, value);
	return NULL;
}

/* RFC 6376 3.5 c=: header[/body], each simple or relaxed; a lone
 * algorithm is the header one and the body one is then simple. */
const char *directive_set_dkim_canonicalization(struct account *a,
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
	if (directive_equals_word(body, "simple"))
		bd = "simple";
	else if (directive_equals_word(body, "relaxed"))
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
const char *directive_set_dkim_headers(struct account *a,
                                       const struct directive *d,
                                       const char *value)
{
	bool from = false;
	const char *p = value;
	if (!*value) {
		directive_replace_string(&dkim_current(a)->headers, "");
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
	directive_replace_string(&dkim_current(a)->headers, value);
	return NULL;
}

/* RFC 6376 3.5 i=: [local-part]@domain. */
const char *directive_set_dkim_identity(struct account *a,
                                        const struct directive *d,
                                        const char *value)
{
	const char *at = strrchr(value, '@');
	if (*value && (!directive_is_word(value) || !at || !is_dns_name(at + 1) ||
	               strpbrk(value, ";<>")))
		return "expected [local-part]@domain";
	directive_replace_string(&dkim_current(a)->identity, value);
	return NULL;
}

const char *directive_set_dkim_expire(struct account *a,
                                      const struct directive *d,
                                      const char *value)
{
	long v;
	if (directive_equals_word(value, "off")) {
		dkim_current(a)->expire = 0;
		return NULL;
	}
	if (!directive_parse_duration(value, &v))
		return "expected 'off' or a duration: seconds, or a number "
		       "followed by s, m, h or d";
	dkim_current(a)->expire = v;
	return NULL;
}

/* ---- outbox additions: queue --------------------------------------------- */

const char *directive_set_queue(struct account *a, const struct directive *d,
                                const char *value)
{
	if (directive_equals_word(value, "off"))
		a->queue = QUEUE_OFF;
	else if (directive_equals_word(value, "on-failure"))
		a->queue = QUEUE_ON_FAILURE;
	else if (directive_equals_word(value, "always"))
		a->queue = QUEUE_ALWAYS;
	else
		return "expected 'off', 'on-failure' or 'always'";
	return NULL;
}

const char *directive_set_queue_max_age(struct account *a,
                                        const struct directive *d,
                                        const char *value)
{
	long v;
	if (!directive_parse_duration(value, &v))
		return "expected a duration: seconds, or a number followed by "
		       "s, m, h or d";
	a->queue_max_age = v;
	return NULL;
}

/* A size in bytes, with an optional k, M or G (powers of 1024), at most
 * MAILDROP_MAX_SIZE: the submitter refuses larger messages already. */
const char *directive_set_maildrop_max_size(struct account *a,
                                            const struct directive *d,
                                            const char *value)
{
	size_t len = strlen(value);
	long unit = 1;
	char last = len ? value[len - 1] : '\0';
	if (last == 'k' || last == 'K')
		unit = 1024;
	else if (last == 'm' || last == 'M')
		unit = 1024 * 1024;
	else if (last == 'g' || last == 'G')
		unit = 1024L * 1024 * 1024;
	long v;
	if (!directive_parse_number_n(value, unit > 1 ? len - 1 : len, 1,
	                              MAILDROP_MAX_SIZE / unit, &v))
		return "expected a size from 1 byte to 64M (a number, "
		       "optionally followed by k, M or G)";
	a->maildrop_max_size = v * unit;
	return NULL;
}

/* ---- outbox additions: OAuth 2.0 ------------------------------------------ */

/* An enum directive: value must be one of names (any case). */
static const char *set_enum(struct account *a, const struct directive *d,
                            const char *value, const char *const *names,
                            int count, const char *expected)
{
	for (int i = 0; i < count; i++)
		if (directive_equals_word(value, names[i])) {
			int *slot = account_field_slot(a, d->field);
			*slot = i;
			return NULL;
		}
	return expected;
}

const char *directive_set_oauth2_provider(struct account *a,
                                          const struct directive *d,
                                          const char *value)
{
	static const char *const names[] = {
		[OAUTH2_AUTO] = "auto",
		[OAUTH2_MICROSOFT] = "microsoft",
		[OAUTH2_GOOGLE] = "google",
		[OAUTH2_CUSTOM] = "custom",
	};
	return set_enum(a, d, value, names, 4,
	                "expected auto, microsoft, google or custom");
}

const char *directive_set_oauth2_token_store(struct account *a,
                                             const struct directive *d,
                                             const char *value)
{
	static const char *const names[] = {
		[OAUTH2_STORE_AUTO] = "auto",
		[OAUTH2_STORE_KEYRING] = "keyring",
		[OAUTH2_STORE_FILE] = "file",
	};
	return set_enum(a, d, value, names, 3,
	                "expected auto, keyring or file");
}

/* The endpoints take tokens and secrets: https only (RFC 6749 3.1, 3.2;
 * the whole URL is checked when it is used, see http_parse_url). */
const char *directive_set_oauth2_url(struct account *a,
                                     const struct directive *d,
                                     const char *value)
{
	if (*value && (ascii_ncasecmp(value, "https://", 8) != 0 ||
	               !directive_is_word(value)))
		return "expected an https:// URL without blanks";
	directive_replace_string(account_field_slot(a, d->field), value);
	return NULL;
}
