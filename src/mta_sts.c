/* mta_sts.c - MTA-STS's pure half; see mta_sts.h. */
#include "mta_sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "util.h"

/* ---- characters and names ------------------------------------------------ */

/* RFC 8461 3.1 sts-ext-name and 3.2 sts-policy-ext-name: (ALPHA / DIGIT)
 * *31(ALPHA / DIGIT / "_" / "-" / "."). */
static bool valid_field_name(const char *s, size_t n)
{
	if (n == 0 || n > 32 || !ascii_is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ascii_is_alnum(s[i]) && !strchr("_-.", s[i]))
			return false;
	return true;
}

/* RFC 5321 4.1.2 Domain (sub-domain *("." sub-domain), sub-domain =
 * Let-dig [Ldh-str]) within RFC 1035 2.3.4's lengths; letters of any
 * case. */
static bool valid_host(const char *s, size_t n)
{
	if (n == 0 || n > MTA_STS_MAX_DOMAIN)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!ascii_is_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		size_t label = i - start;
		if (label == 0 || label > MTA_STS_MAX_LABEL ||
		    s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static char *lower_copy(const char *s, size_t n)
{
	char *out = xstrndup(s, n);
	for (size_t i = 0; i < n; i++)
		out[i] = ascii_tolower(out[i]);
	return out;
}

bool mta_sts_domain_normalize(const char *domain, char **out)
{
	*out = NULL;
	if (!domain)
		return false;
	size_t n = strlen(domain);
	if (n > 1 && domain[n - 1] == '.')
		n--;
	if (!valid_host(domain, n))
		return false;
	*out = lower_copy(domain, n);
	return true;
}

/* An mx value (RFC 8461 3.2: ["*."] Domain), one trailing dot allowed,
 * into its stored form: lower case, no trailing dot. */
static bool normalize_pattern(const char *v, size_t n, char **out)
{
	if (n > 1 && v[n - 1] == '.')
		n--;
	size_t skip = n >= 2 && v[0] == '*' && v[1] == '.' ? 2 : 0;
	if (!valid_host(v + skip, n - skip))
		return false;
	*out = lower_copy(v, n);
	return true;
}

/* A pattern exactly as normalize_pattern leaves it. */
static bool canonical_pattern(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return false;
	size_t skip = n >= 2 && s[0] == '*' && s[1] == '.' ? 2 : 0;
	return valid_host(s + skip, n - skip);
}

/* RFC 8461 3.1 sts-id: 1*32(ALPHA / DIGIT). */
static bool valid_id(const char *s, size_t n)
{
	if (n == 0 || n > MTA_STS_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_is_alnum(s[i]))
			return false;
	return true;
}

/* "VALUE" for a message: at most MTA_STS_MAX_QUOTE bytes of it,
 * sanitized, and a TAB (which sanitize.h lets through) escaped too: a
 * message holds no control character from the network. */
static void add_quoted(struct buf *b, const char *s, size_t n)
{
	size_t shown = n > MTA_STS_MAX_QUOTE ? MTA_STS_MAX_QUOTE : n;
	buf_add_char(b, '"');
	for (size_t start = 0, i = 0; i <= shown; i++) {
		if (i < shown && s[i] != '\t')
			continue;
		sanitize_append_line(b, s + start, i - start);
		if (i < shown)
			buf_add_str(b, "\\x09");
		start = i + 1;
	}
	buf_add_str(b, n > shown ? "...\"" : "\"");
}

const char *mta_sts_mode_name(enum mta_sts_mode mode)
{
	switch (mode) {
	case MTA_STS_ENFORCE:
		return "enforce";
	case MTA_STS_TESTING:
		return "testing";
	case MTA_STS_NONE:
		break;
	}
	return "none";
}

static bool parse_mode(const char *s, size_t n, enum mta_sts_mode *mode)
{
	static const enum mta_sts_mode modes[] = {
	    MTA_STS_ENFORCE, MTA_STS_TESTING, MTA_STS_NONE};
	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		const char *name = mta_sts_mode_name(modes[i]);
		if (strlen(name) == n && memcmp(s, name, n) == 0) {
			*mode = modes[i];
			return true;
		}
	}
	return false;
}

/* ---- the TXT record ------------------------------------------------------ */

#define TXT_VERSION "v=STSv1"

static int txt_invalid(struct err *e, const char *why)
{
	return err_set(e, EX_DATAERR,
	               "the _mta-sts TXT record %s (RFC 8461 3.1)", why);
}

/* RFC 8461 3.1 sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E), every
 * visible ASCII character but "=" and ";". */
static bool txt_value_char(char c)
{
	return c >= 0x21 && c <= 0x7e && c != '=' && c != ';';
}

int mta_sts_parse_txt(const char *text, size_t len, char **id, struct err *e)
{
	*id = NULL;
	size_t vlen = strlen(TXT_VERSION);
	if (len < vlen || memcmp(text, TXT_VERSION, vlen) != 0)
		return txt_invalid(e, "does not begin with " TXT_VERSION);
	const char *found = NULL;
	size_t found_len = 0, i = vlen;
	for (;;) {
		/* sts-field-delim = *WSP ";" *WSP, then a field or the end */
		while (i < len && ascii_is_wsp(text[i]))
			i++;
		if (i == len)
			break;
		if (text[i] != ';')
			return txt_invalid(e,
			                   "has fields not separated by \";\"");
		i++;
		while (i < len && ascii_is_wsp(text[i]))
			i++;
		if (i == len)
			break;
		size_t name = i;
		while (i < len && text[i] != '=')
			i++;
		if (i == len || !valid_field_name(text + name, i - name))
			return txt_invalid(
			    e, "has a field that is not name=value");
		size_t name_len = i - name, value = ++i;
		while (i < len && txt_value_char(text[i]))
			i++;
		if (i == value ||
		    (i < len && !ascii_is_wsp(text[i]) && text[i] != ';'))
			return txt_invalid(e,
			                   "has a field value with a character "
			                   "the grammar does not allow");
		/* sts-id is %s"id=": the name is case-sensitive; only the
		 * first id counts (RFC 8461 3.2, duplicated fields). */
		if (name_len == 2 && memcmp(text + name, "id", 2) == 0 &&
		    !found) {
			if (!valid_id(text + value, i - value))
				return txt_invalid(e,
				                   "has an id that is not 1 to "
				                   "32 letters and digits");
			found = text + value;
			found_len = i - value;
		}
	}
	if (!found)
		return txt_invalid(e, "has no id field");
	*id = xstrndup(found, found_len);
	return EX_OK;
}

/* A record that takes part in the count of RFC 8461 3.1: one beginning
 * with "v=STSv1;" (and, as the grammar allows white space before the
 * delimiter, "v=STSv1 ;"). */
static bool is_sts_record(const char *text, size_t len)
{
	size_t vlen = strlen(TXT_VERSION);
	if (len < vlen || memcmp(text, TXT_VERSION, vlen) != 0)
		return false;
	size_t i = vlen;
	while (i < len && ascii_is_wsp(text[i]))
		i++;
	return i < len && text[i] == ';';
}

/* ---- the policy ---------------------------------------------------------- */

struct policy_state {
	bool version, mode, max_age; /* seen (the first one counts) */
	size_t mx_cap;
};

static int line_error(struct err *e, size_t line, const char *what,
                      const char *value, size_t value_len)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "line %zu of the MTA-STS policy ", line);
	if (value) {
		/* what is "NAME %s rest": the value goes at the %s */
		const char *at = strstr(what, "%s");
		buf_add(&b, what, (size_t)(at - what));
		add_quoted(&b, value, value_len);
		buf_add_str(&b, at + 2);
	} else {
		buf_add_str(&b, what);
	}
	buf_add_str(&b, " (RFC 8461 3.2)");
	int rc = err_set(e, EX_DATAERR, "%s", buf_str(&b));
	buf_free(&b);
	return rc;
}

static void add_pattern(struct mta_sts_policy *p, struct policy_state *st,
                        char *pattern)
{
	if (p->mx_count == st->mx_cap) {
		st->mx_cap = st->mx_cap ? 2 * st->mx_cap : 4;
		p->mx = xrealloc(p->mx, st->mx_cap * sizeof *p->mx);
	}
	p->mx[p->mx_count++] = pattern;
}

/* One known field, the first of its kind (mx: every one). */
static int policy_field(const char *key, size_t key_len, const char *v,
                        size_t n, size_t line, struct policy_state *st,
                        struct mta_sts_policy *p, struct err *e)
{
#define KEY_IS(name) (key_len == strlen(name) && !memcmp(key, name, key_len))
	if (KEY_IS("version") && !st->version) {
		st->version = true;
		if (n != 5 || memcmp(v, "STSv1", 5) != 0)
			return line_error(e, line, "has version %s, not STSv1",
			                  v, n);
	} else if (KEY_IS("mode") && !st->mode) {
		st->mode = true;
		if (!parse_mode(v, n, &p->mode))
			return line_error(
			    e, line,
			    "has mode %s, not enforce, testing or none", v, n);
	} else if (KEY_IS("max_age") && !st->max_age) {
		st->max_age = true;
		bool digits = n > 0 && n <= MTA_STS_MAX_AGE_DIGITS;
		long long age = 0;
		for (size_t i = 0; digits && i < n; i++) {
			digits = ascii_is_digit(v[i]);
			if (digits)
				age = age * 10 + (v[i] - '0');
		}
		if (!digits)
			return line_error(e, line,
			                  "has max_age %s, not a number of "
			                  "seconds (1 to 10 digits)",
			                  v, n);
		/* RFC 8461 3.2: at most MTA_STS_MAX_AGE (the grammar allows
		 * more digits: read as the maximum) */
		p->max_age =
		    age > MTA_STS_MAX_AGE ? MTA_STS_MAX_AGE : (long)age;
	} else if (KEY_IS("mx")) {
		char *pattern;
		if (!normalize_pattern(v, n, &pattern))
			return line_error(e, line,
			                  "has mx %s, neither a host name nor "
			                  "a \"*.\" pattern",
			                  v, n);
		add_pattern(p, st, pattern);
	}
	return EX_OK;
#undef KEY_IS
}

static int policy_line(const char *s, size_t n, size_t line,
                       struct policy_state *st, struct mta_sts_policy *p,
                       struct err *e)
{
	bool blank = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r')
			return line_error(
			    e, line,
			    "has a carriage return not followed by a line feed",
			    NULL, 0);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return line_error(e, line, "holds a control character",
			                  NULL, 0);
		blank = blank && ascii_is_wsp(s[i]);
	}
	if (blank)
		return EX_OK; /* leniency: empty lines are skipped */
	if (ascii_is_wsp(s[0]))
		return line_error(e, line, "begins with white space", NULL, 0);
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return line_error(e, line, "is not a \"key: value\" field",
		                  NULL, 0);
	size_t key_len = (size_t)(colon - s);
	while (key_len > 0 && ascii_is_wsp(s[key_len - 1]))
		key_len--;
	if (!valid_field_name(s, key_len))
		return line_error(e, line,
		                  "has a field name the grammar does not allow",
		                  NULL, 0);
	const char *v = colon + 1;
	size_t vn = n - (size_t)(v - s);
	while (vn > 0 && ascii_is_wsp(*v))
		v++, vn--;
	while (vn > 0 && ascii_is_wsp(v[vn - 1]))
		vn--;
	return policy_field(s, key_len, v, vn, line, st, p, e);
}

int mta_sts_parse_policy(const char *text, size_t len,
                         struct mta_sts_policy *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (len > MTA_STS_MAX_POLICY)
		return err_set(e, EX_DATAERR,
		               "the MTA-STS policy is larger than %zu bytes "
		               "(RFC 8461 3.3)",
		               MTA_STS_MAX_POLICY);
	struct policy_state st = {0};
	size_t pos = 0, line = 0;
	/* leniency: a UTF-8 byte order mark */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	int rc = EX_OK;
	while (rc == EX_OK && pos < len) {
		line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t next = nl ? end + 1 : len;
		/* sts-policy-term = LF / CRLF */
		if (nl && end > pos && text[end - 1] == '\r')
			end--;
		rc = policy_line(text + pos, end - pos, line, &st, out, e);
		pos = next;
	}
	const char *missing = !st.version   ? "version"
	                      : !st.mode    ? "mode"
	                      : !st.max_age ? "max_age"
	                                    : NULL;
	if (rc == EX_OK && missing)
		rc =
		    err_set(e, EX_DATAERR,
		            "the MTA-STS policy has no %s field (RFC 8461 3.2)",
		            missing);
	if (rc == EX_OK && out->mode != MTA_STS_NONE && out->mx_count == 0)
		rc = err_set(e, EX_DATAERR,
		             "the MTA-STS policy has no mx field (RFC 8461 "
		             "3.2: required unless mode is none)");
	if (rc != EX_OK)
		mta_sts_policy_free(out);
	return rc;
}

void mta_sts_policy_format(const struct mta_sts_policy *p, struct buf *out)
{
	buf_printf(out, "version: STSv1\r\nmode: %s\r\n",
	           mta_sts_mode_name(p->mode));
	for (size_t i = 0; i < p->mx_count; i++)
		buf_printf(out, "mx: %s\r\n", p->mx[i]);
	buf_printf(out, "max_age: %ld\r\n", p->max_age);
}

void mta_sts_policy_free(struct mta_sts_policy *p)
{
	for (size_t i = 0; i < p->mx_count; i++)
		free(p->mx[i]);
	free(p->mx);
	free(p->id);
	memset(p, 0, sizeof *p);
}

/* ---- MX patterns, URLs, responses ---------------------------------------- */

bool mta_sts_mx_allowed(const struct mta_sts_policy *p, const char *mx_host)
{
	if (!p || !mx_host)
		return false;
	size_t n = strlen(mx_host);
	if (n > 0 && mx_host[n - 1] == '.')
		n--;
	if (n == 0)
		return false;
	/* RFC 8461 4.1: the wildcard stands for the whole left-most label,
	 * and for one label only. */
	const char *dot = memchr(mx_host, '.', n);
	for (size_t i = 0; i < p->mx_count; i++) {
		const char *pat = p->mx[i];
		size_t m = strlen(pat);
		if (m >= 2 && pat[0] == '*' && pat[1] == '.') {
			if (!dot || dot == mx_host)
				continue;
			size_t rest = n - (size_t)(dot + 1 - mx_host);
			if (rest == m - 2 &&
			    ascii_ncasecmp(dot + 1, pat + 2, rest) == 0)
				return true;
		} else if (m == n && ascii_ncasecmp(mx_host, pat, n) == 0) {
			return true;
		}
	}
	return false;
}

void mta_sts_policy_url(const char *domain, struct buf *out)
{
	/* RFC 8461 3.2: the Policy Host is "mta-sts" prepended to the
	 * Policy Domain, the path the well-known mta-sts.txt */
	buf_printf(out,
	           "https://" MTA_STS_HOST_PREFIX "%s/.well-known/mta-sts.txt",
	           domain);
}

int mta_sts_check_response(int status, const char *content_type, struct err *e)
{
	/* RFC 8461 3.3: "only valid if the HTTP response code is 200"; 3xx
	 * redirects are not followed. */
	if (status >= 300 && status <= 399)
		return err_set(
		    e, EX_PROTOCOL,
		    "the policy host answered with a redirect (HTTP %d), which "
		    "MTA-STS does not follow (RFC 8461 3.3)",
		    status);
	if (status != 200)
		return err_set(
		    e, EX_PROTOCOL,
		    "the policy host answered HTTP %d, not 200 (RFC 8461 3.3)",
		    status);
	/* RFC 8461 3.2: the media type must be text/plain, whatever its
	 * parameters. */
	if (!content_type)
		return err_set(e, EX_PROTOCOL,
		               "the policy host sent no Content-Type; an "
		               "MTA-STS policy is text/plain (RFC 8461 3.2)");
	size_t n = strcspn(content_type, ";");
	while (n > 0 && ascii_is_wsp(content_type[n - 1]))
		n--;
	if (n != strlen("text/plain") ||
	    ascii_ncasecmp(content_type, "text/plain", n) != 0)
		return err_set(e, EX_PROTOCOL,
		               "the policy host sent a Content-Type other than "
		               "text/plain (RFC 8461 3.2)");
	return EX_OK;
}

/* Times in a policy or a cache file: 0 to MAX_TIME (18 digits), so sums
 * with max_age and differences with now cannot overflow. */
#define MAX_TIME 999999999999999999LL

bool mta_sts_policy_usable(const struct mta_sts_policy *p, int64_t now)
{
	if (p->fetched < 0 || p->fetched > MAX_TIME || p->max_age < 0 ||
	    p->max_age > MTA_STS_MAX_AGE)
		return false;
	int64_t expires = p->fetched + p->max_age;
	return now < expires && expires - MTA_STS_MAX_AGE <= now;
}

/* ---- the cache file ------------------------------------------------------ */

#define CACHE_MAGIC "outbox-mta-sts 1"

void mta_sts_cache_format(const char *domain, const struct mta_sts_cache *c,
                          struct buf *out)
{
	buf_reset(out);
	buf_printf(out, CACHE_MAGIC "\ndomain %s\n", domain);
	if (c->failed_id)
		buf_printf(out, "failed %s %lld\n", c->failed_id,
		           (long long)c->failed_at);
	if (!c->has_policy)
		return;
	const struct mta_sts_policy *p = &c->policy;
	buf_printf(out, "policy %s %lld\nmode %s\nmax_age %ld\n",
	           p->id ? p->id : "", (long long)p->fetched,
	           mta_sts_mode_name(p->mode), p->max_age);
	for (size_t i = 0; i < p->mx_count; i++)
		buf_printf(out, "mx %s\n", p->mx[i]);
}

struct cursor {
	const char *p, *end;
	const char *line; /* the current line, without its LF */
	size_t len;
};

static bool next_line(struct cursor *c)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl)
		return false;
	c->line = c->p;
	c->len = (size_t)(nl - c->p);
	c->p = nl + 1;
	return true;
}

/* The line is "WORD REST": REST into *rest. */
static bool line_word(const struct cursor *c, const char *word,
                      const char **rest, size_t *rest_len)
{
	size_t n = strlen(word);
	if (c->len <= n || memcmp(c->line, word, n) != 0 || c->line[n] != ' ')
		return false;
	*rest = c->line + n + 1;
	*rest_len = c->len - n - 1;
	return true;
}

/* One spelling per number: 1 to 18 digits, no leading zero. */
static bool parse_number(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* "ID NUMBER" */
static bool parse_id_time(const char *s, size_t n, char **id, int64_t *t)
{
	const char *space = memchr(s, ' ', n);
	if (!space || !valid_id(s, (size_t)(space - s)) ||
	    !parse_number(space + 1, n - (size_t)(space + 1 - s), t))
		return false;
	*id = xstrndup(s, (size_t)(space - s));
	return true;
}

static bool parse_cached_policy(struct cursor *c, struct mta_sts_policy *p)
{
	const char *v;
	size_t n;
	int64_t age;
	if (!line_word(c, "policy", &v, &n) ||
	    !parse_id_time(v, n, &p->id, &p->fetched))
		return false;
	if (!next_line(c) || !line_word(c, "mode", &v, &n) ||
	    !parse_mode(v, n, &p->mode))
		return false;
	if (!next_line(c) || !line_word(c, "max_age", &v, &n) ||
	    !parse_number(v, n, &age) || age > MTA_STS_MAX_AGE)
		return false;
	p->max_age = (long)age;
	struct policy_state st = {0};
	while (next_line(c)) {
		if (!line_word(c, "mx", &v, &n) || !canonical_pattern(v, n))
			return false;
		add_pattern(p, &st, xstrndup(v, n));
	}
	return c->p == c->end && (p->mode == MTA_STS_NONE || p->mx_count > 0);
}

bool mta_sts_cache_parse(const char *text, size_t len, const char *domain,
                         struct mta_sts_cache *out)
{
	memset(out, 0, sizeof *out);
	if (len > MTA_STS_MAX_CACHE_FILE || !domain)
		return false;
	struct cursor c = {text, text + len, NULL, 0};
	const char *v;
	size_t n;
	bool ok = next_line(&c) && c.len == strlen(CACHE_MAGIC) &&
	          memcmp(c.line, CACHE_MAGIC, c.len) == 0 && next_line(&c) &&
	          line_word(&c, "domain", &v, &n) && n == strlen(domain) &&
	          memcmp(v, domain, n) == 0;
	bool more = ok && next_line(&c);
	if (more && line_word(&c, "failed", &v, &n)) {
		ok = parse_id_time(v, n, &out->failed_id, &out->failed_at);
		more = ok && next_line(&c);
	}
	if (ok && more) {
		out->has_policy = true;
		ok = parse_cached_policy(&c, &out->policy);
	}
	ok = ok && c.p == c.end;
	if (!ok)
		mta_sts_cache_free(out);
	return ok;
}

void mta_sts_cache_free(struct mta_sts_cache *c)
{
	mta_sts_policy_free(&c->policy);
	free(c->failed_id);
	memset(c, 0, sizeof *c);
}

/* ---- the decision -------------------------------------------------------- */

/* RFC 8461 3.1: of the records at _mta-sts, those beginning "v=STSv1;"
 * count; exactly one must, and be valid. EX_OK with *id; EX_NOINPUT when
 * none does; EX_DATAERR (e says why) for several or an invalid one. */
static int select_record(const struct mta_sts_txt *txt, char **id,
                         struct err *e)
{
	*id = NULL;
	size_t count = 0, which = 0;
	for (size_t i = 0; txt->records && txt->lengths && i < txt->count;
	     i++) {
		if (txt->records[i] &&
		    is_sts_record(txt->records[i], txt->lengths[i])) {
			count++;
			which = i;
		}
	}
	if (count == 0)
		return EX_NOINPUT;
	if (count > 1)
		return err_set(e, EX_DATAERR,
		               "%zu _mta-sts TXT records begin with v=STSv1, "
		               "where one must (RFC 8461 3.1)",
		               count);
	return mta_sts_parse_txt(txt->records[which], txt->lengths[which], id,
	                         e);
}

void mta_sts_decide(const struct mta_sts_cache *cached,
                    const struct mta_sts_txt *txt, int64_t now,
                    struct mta_sts_decision *out)
{
	memset(out, 0, sizeof *out);
	const struct mta_sts_policy *p =
	    cached && cached->has_policy ? &cached->policy : NULL;
	bool usable = p && mta_sts_policy_usable(p, now);
	/* RFC 8461 3.3 and 5.1: whenever no live policy is found or fetched,
	 * an unexpired cached policy applies. */
	enum mta_sts_action keep =
	    usable ? MTA_STS_USE_CACHE : MTA_STS_NO_POLICY;
	out->action = out->fallback = keep;
	if (txt->status != MTA_STS_DNS_FOUND) {
		out->reason = txt->status == MTA_STS_DNS_NONE
		                  ? MTA_STS_NO_RECORD
		                  : MTA_STS_DNS_FAILED;
		return;
	}
	struct err e = ERR_INIT;
	int rc = select_record(txt, &out->id, &e);
	if (rc != EX_OK) {
		out->reason = rc == EX_NOINPUT ? MTA_STS_NO_RECORD
		                               : MTA_STS_RECORD_INVALID;
		if (rc != EX_NOINPUT)
			out->problem = xstrdup(err_msg(&e));
		err_clear(&e);
		return;
	}
	if (usable && p->id && strcmp(p->id, out->id) == 0) {
		bool stale = p->fetched <= now &&
		             now - p->fetched >= MTA_STS_REFRESH_AFTER;
		if (!stale) {
			out->reason = MTA_STS_CURRENT;
			return;
		}
		out->reason = MTA_STS_REFRESH;
	} else {
		out->reason = !p        ? MTA_STS_NOT_CACHED
		              : !usable ? MTA_STS_EXPIRED
		                        : MTA_STS_NEW_ID;
	}
	/* RFC 8461 3.3: one failed fetch per id per MTA_STS_RETRY_AFTER */
	if (cached && cached->failed_id &&
	    strcmp(cached->failed_id, out->id) == 0 && cached->failed_at >= 0 &&
	    cached->failed_at <= now &&
	    now - cached->failed_at < MTA_STS_RETRY_AFTER) {
		out->reason = MTA_STS_RETRY_LATER;
		return;
	}
	out->action = MTA_STS_FETCH;
}

void mta_sts_decision_free(struct mta_sts_decision *d)
{
	free(d->id);
	free(d->problem);
	memset(d, 0, sizeof *d);
}
