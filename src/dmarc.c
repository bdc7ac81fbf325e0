/* dmarc.c - DMARC policy records, alignment and lookup names; see dmarc.h. */
#include "dmarc.h"

#include <stdlib.h>
#include <string.h>

#include "dkim_record.h"
#include "org_domain.h"
#include "util.h"

#define RFC_RECORD "RFC 7489 6.3"

/* ---- characters ---------------------------------------------------------- */

static bool is_hex(char c)
{
	return ascii_hex_value(c) >= 0;
}

/* RFC 5234 2.3: a quoted string of the ABNF matches in any case. */
static bool equals_ci(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && ascii_ncasecmp(s, word, n) == 0;
}

/* ---- the version tag ----------------------------------------------------- */

#define VERSION "DMARC1"

bool dmarc_is_record(const char *text, size_t len)
{
	size_t i = 0;
	while (i < len && ascii_is_wsp(text[i]))
		i++;
	if (i == len || ascii_tolower(text[i]) != 'v')
		return false;
	for (i++; i < len && ascii_is_wsp(text[i]); i++)
		;
	if (i == len || text[i] != '=')
		return false;
	for (i++; i < len && ascii_is_wsp(text[i]); i++)
		;
	/* %x44 %x4d %x41 %x52 %x43 %x31: exactly, in capitals */
	size_t n = strlen(VERSION);
	if (len - i < n || memcmp(text + i, VERSION, n) != 0)
		return false;
	i += n;
	return i == len || ascii_is_wsp(text[i]) || text[i] == ';' || text[i] == '\r';
}

/* ---- messages ------------------------------------------------------------ */

/* "the DMARC record's TAG="VALUE" WHY (RFC)" */
static int tag_invalid_rfc(struct err *e, const struct dkim_tag *t,
                           const char *why, const char *rfc)
{
	struct buf msg = BUF_INIT;
	for (size_t i = 0; i < t->name_len; i++)
		buf_add_char(&msg, ascii_tolower(t->name[i]));
	buf_add_char(&msg, '=');
	dkim_tag_quote(t->value, t->value_len, &msg);
	int rc = err_set(e, EX_DATAERR, "the DMARC record's %s %s (%s)",
	                 buf_str(&msg), why, rfc);
	buf_free(&msg);
	return rc;
}

static int tag_invalid(struct err *e, const struct dkim_tag *t, const char *why)
{
	return tag_invalid_rfc(e, t, why, RFC_RECORD);
}

/* ---- tag values ---------------------------------------------------------- */

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_QUARANTINE:
		return "quarantine";
	case DMARC_REJECT:
		return "reject";
	case DMARC_NONE:
		break;
	}
	return "none";
}

static bool parse_policy(const struct dkim_tag *t, enum dmarc_policy *p)
{
	static const enum dmarc_policy all[] = {DMARC_NONE, DMARC_QUARANTINE,
	                                        DMARC_REJECT};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (equals_ci(t->value, t->value_len,
		              dmarc_policy_name(all[i]))) {
			*p = all[i];
			return true;
		}
	return false;
}

static int parse_align(const struct dkim_tag *t, enum dmarc_align *mode,
                       struct err *e)
{
	if (equals_ci(t->value, t->value_len, "r"))
		*mode = DMARC_RELAXED;
	else if (equals_ci(t->value, t->value_len, "s"))
		*mode = DMARC_STRICT;
	else
		return tag_invalid(e, t,
		                   "is neither r (relaxed) nor s (strict)");
	return EX_OK;
}

/* 1*max digits -> *out (<= limit). */
static bool parse_number(const char *s, size_t n, size_t max_digits,
                         uint64_t limit, uint64_t *out)
{
	if (n == 0 || n > max_digits)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit(s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int parse_pct(const struct dkim_tag *t, int *pct, struct err *e)
{
	uint64_t v;
	/* dmarc-percent = 1*3DIGIT, a value from 0 to 100 */
	if (!parse_number(t->value, t->value_len, 3, DMARC_PCT_MAX, &v))
		return tag_invalid(e, t, "is not a number from 0 to 100");
	*pct = (int)v;
	return EX_OK;
}

static int parse_ri(const struct dkim_tag *t, uint32_t *ri, struct err *e)
{
	uint64_t v;
	if (!parse_number(t->value, t->value_len, 20, UINT32_MAX, &v))
		return tag_invalid(e, t,
		                   "is not a number of seconds below 2^32");
	*ri = (uint32_t)v;
	return EX_OK;
}

/* One item of a list value. */
struct piece {
	const char *s;
	size_t n;
};

static bool is_fws_char(char c)
{
	return ascii_is_wsp(c) || c == '\r' || c == '\n';
}

/* A list value split at sep, white space (FWS) around each item dropped
 * (RFC 7489 6.4: *WSP sep *WSP): a heap array of *count items, some
 * perhaps empty. */
static struct piece *pieces_of(const struct dkim_tag *t, char sep,
                               size_t *count)
{
	const char *v = t->value;
	size_t n = t->value_len;
	*count = 1;
	for (size_t i = 0; i < n; i++)
		*count += v[i] == sep;
	struct piece *out = xcalloc(*count, sizeof *out);
	for (size_t i = 0, start = 0, item = 0; i <= n; i++) {
		if (i < n && v[i] != sep)
			continue;
		size_t a = start, b = i;
		while (a < b && is_fws_char(v[a]))
			a++;
		while (b > a && is_fws_char(v[b - 1]))
			b--;
		out[item++] = (struct piece){v + a, b - a};
		start = i + 1;
	}
	return out;
}

static int parse_fo(const struct dkim_tag *t, unsigned *fo, struct err *e)
{
	size_t count;
	struct piece *p = pieces_of(t, ':', &count);
	unsigned bits = 0;
	for (size_t i = 0; i < count; i++) {
		char c = p[i].n == 1 ? ascii_tolower(p[i].s[0]) : '\0';
		unsigned bit = c == '0'   ? DMARC_FO_ALL
		               : c == '1' ? DMARC_FO_ANY
		               : c == 'd' ? DMARC_FO_DKIM
		               : c == 's' ? DMARC_FO_SPF
		                          : 0;
		if (!bit) {
			free(p);
			return tag_invalid(e, t,
			                   "is not a list of 0, 1, d "
			                   "and s separated by \":\"");
		}
		bits |= bit;
	}
	free(p);
	*fo = bits;
	return EX_OK;
}

/* RFC 5321 4.1.2 Keyword = Ldh-str: letters, digits and "-", not ending
 * in "-". */
static bool keyword(const char *s, size_t n)
{
	if (n == 0 || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_is_alpha(s[i]) && !ascii_is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

static int parse_rf(const struct dkim_tag *t, char **rf, struct err *e)
{
	size_t count;
	struct piece *p = pieces_of(t, ':', &count);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < count; i++) {
		if (!keyword(p[i].s, p[i].n)) {
			free(p);
			buf_free(&out);
			return tag_invalid(e, t,
			                   "is not a list of report "
			                   "formats separated by \":\"");
		}
		if (i)
			buf_add_char(&out, ':');
		for (size_t j = 0; j < p[i].n; j++)
			buf_add_char(&out, ascii_tolower(p[i].s[j]));
	}
	free(p);
	*rf = buf_steal(&out);
	return EX_OK;
}

/* ---- report URIs --------------------------------------------------------- */

/* RFC 3986 2.2 and 2.3: the characters a URI holds but for "%", less ","
 * and "!", which RFC 7489 6.4 requires to be percent-encoded in a
 * dmarc-uri (";" cannot be in a tag value at all). */
static bool uri_char(char c)
{
	return ascii_is_alpha(c) || ascii_is_digit(c) || strchr("-._~:/?#[]@$&'()*+=", c);
}

/* RFC 3986 3: scheme ":" and at least one URI character, percent-escapes
 * complete; a mailto: URI (RFC 6068) has an address: text, "@", text
 * before any "?". */
static bool valid_uri(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !ascii_is_alpha(s[0]))
		return false;
	while (i < n && (ascii_is_alpha(s[i]) || ascii_is_digit(s[i]) || s[i] == '+' ||
	                 s[i] == '-' || s[i] == '.'))
		i++;
	if (i == n || s[i] != ':' || i + 1 == n)
		return false;
	size_t scheme = i++;
	for (size_t j = i; j < n; j++) {
		if (s[j] == '%') {
			if (j + 2 >= n || !is_hex(s[j + 1]) ||
			    !is_hex(s[j + 2]))
				return false;
			j += 2;
		} else if (!uri_char(s[j])) {
			return false;
		}
	}
	if (!equals_ci(s, scheme, "mailto"))
		return true;
	const char *query = memchr(s + i, '?', n - i);
	size_t to = (query ? (size_t)(query - s) : n);
	const char *at = memchr(s + i, '@', to - i);
	return at && at > s + i && (size_t)(at - s) + 1 < to;
}

/* "!" 1*DIGIT [k / m / g / t] (RFC 7489 6.4), the units powers of 1024
 * (6.2), as octets in *limit (at least 1, at most 2^64-1). */
static bool parse_size(const char *s, size_t n, uint64_t *limit)
{
	int shift = 0;
	if (n > 0 && ascii_is_alpha(s[n - 1])) {
		const char *units = "kmgt", *u = strchr(units, ascii_tolower(s[n - 1]));
		if (!u)
			return false;
		shift = 10 * (int)(u - units + 1);
		n--;
	}
	uint64_t v;
	if (!parse_number(s, n, 20, UINT64_MAX, &v) || v == 0 ||
	    v > (UINT64_MAX >> shift))
		return false;
	*limit = v << shift;
	return true;
}

/* rua= or ruf=: dmarc-uri *(*WSP "," *WSP dmarc-uri) into uris/limits. */
static int parse_uris(const struct dkim_tag *t, char ***uris, uint64_t **limits,
                      size_t *count, struct err *e)
{
	size_t n;
	struct piece *p = pieces_of(t, ',', &n);
	*uris = xcalloc(n, sizeof **uris);
	*limits = xcalloc(n, sizeof **limits);
	*count = 0;
	int rc = EX_OK;
	for (size_t i = 0; i < n && rc == EX_OK; i++) {
		const char *bang = memchr(p[i].s, '!', p[i].n);
		size_t uri_len = bang ? (size_t)(bang - p[i].s) : p[i].n;
		uint64_t limit = 0;
		if (!valid_uri(p[i].s, uri_len))
			rc = tag_invalid(e, t,
			                 "holds something that is not "
			                 "a URI (mailto:ADDRESS; \",\" and "
			                 "\"!\" percent-encoded)");
		else if (bang &&
		         !parse_size(bang + 1, p[i].n - uri_len - 1, &limit))
			rc = tag_invalid(e, t,
			                 "has a size limit that is not "
			                 "\"!\" and a positive number with k, "
			                 "m, g or t");
		else {
			(*uris)[i] = xstrndup(p[i].s, uri_len);
			(*limits)[i] = limit;
			(*count)++;
		}
	}
	free(p);
	return rc;
}

/* ---- the record ---------------------------------------------------------- */

enum tag {
	TAG_V,
	TAG_P,
	TAG_SP,
	TAG_PCT,
	TAG_ADKIM,
	TAG_ASPF,
	TAG_RUA,
	TAG_RUF,
	TAG_FO,
	TAG_RF,
	TAG_RI,
	TAG_COUNT
};
static const char *const tag_names[TAG_COUNT] = {
    "v", "p", "sp", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri"};

static int tag_of(const struct dkim_tag *t)
{
	for (int k = 0; k < TAG_COUNT; k++)
		if (equals_ci(t->name, t->name_len, tag_names[k]))
			return k;
	return TAG_COUNT; /* RFC 7489 6.3: unknown tags are ignored */
}

/* One known tag but p and sp (decided at the end, RFC 7489 6.6.3). */
static int parse_tag(int k, const struct dkim_tag *t, struct dmarc_record *r,
                     struct err *e)
{
	switch (k) {
	case TAG_V:
		if (t->value_len != strlen(VERSION) ||
		    memcmp(t->value, VERSION, t->value_len) != 0)
			return tag_invalid(e, t, "is not DMARC1");
		return EX_OK;
	case TAG_PCT:
		return parse_pct(t, &r->pct, e);
	case TAG_ADKIM:
		return parse_align(t, &r->adkim, e);
	case TAG_ASPF:
		return parse_align(t, &r->aspf, e);
	case TAG_RUA:
		return parse_uris(t, &r->rua, &r->rua_limit, &r->rua_count, e);
	case TAG_RUF:
		return parse_uris(t, &r->ruf, &r->ruf_limit, &r->ruf_count, e);
	case TAG_FO:
		return parse_fo(t, &r->fo, e);
	case TAG_RF:
		return parse_rf(t, &r->rf, e);
	case TAG_RI:
		return parse_ri(t, &r->ri, e);
	default:
		return EX_OK;
	}
}

/* RFC 7489 6.6.3 step 5: p= missing or invalid, or sp= invalid. */
static int policy_invalid(const struct dkim_tag *p, const struct dkim_tag *sp,
                          bool p_valid, struct dmarc_record *r, struct err *e)
{
	if (r->rua_count > 0) {
		/* 5.1: act as if the record were v=DMARC1; p=none */
		r->policy_invalid = true;
		r->p = DMARC_NONE;
		r->has_sp = false;
		r->p_not_second = false;
		return EX_OK;
	}
	/* 5.2: no DMARC processing at all */
	if (!p)
		return err_set(e, EX_DATAERR,
		               "the DMARC record has no p= tag "
		               "(none, quarantine or reject) and no valid "
		               "rua=, so receivers ignore it (%s, 6.6.3)",
		               RFC_RECORD);
	return tag_invalid_rfc(e, p_valid ? sp : p,
	                       "is not none, quarantine or reject, and "
	                       "without a valid rua= receivers ignore the "
	                       "record",
	                       RFC_RECORD ", 6.6.3");
}

static void record_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof *r);
	r->p = DMARC_NONE;
	r->sp = DMARC_NONE;
	r->pct = DMARC_PCT_MAX;
	r->adkim = DMARC_RELAXED;
	r->aspf = DMARC_RELAXED;
	r->fo = DMARC_FO_ALL;
	r->ri = DMARC_RI_DEFAULT;
}

static int parse_tags(const struct dkim_tag *tags, size_t count,
                      struct dmarc_record *r, struct err *e)
{
	const struct dkim_tag *p = NULL, *sp = NULL;
	size_t p_index = 0;
	for (size_t i = 0; i < count; i++) {
		int k = tag_of(&tags[i]);
		if (k == TAG_P) {
			p = &tags[i];
			p_index = i;
		} else if (k == TAG_SP) {
			sp = &tags[i];
		}
		int rc = parse_tag(k, &tags[i], r, e);
		if (rc != EX_OK)
			return rc;
	}
	bool p_valid = p && parse_policy(p, &r->p);
	bool sp_valid = !sp || parse_policy(sp, &r->sp);
	if (!p_valid || !sp_valid)
		return policy_invalid(p, sp, p_valid, r, e);
	r->has_sp = sp != NULL;
	if (!r->has_sp)
		r->sp = r->p; /* RFC 7489 6.3: sp absent, p applies */
	r->p_not_second = p_index != 1;
	return EX_OK;
}

int dmarc_parse(const char *text, size_t len, struct dmarc_record *out,
                struct err *e)
{
	record_defaults(out);
	if (len > DMARC_RECORD_MAX)
		return err_set(e, EX_DATAERR,
		               "the DMARC record is longer than "
		               "%d octets, more than a TXT record holds",
		               DMARC_RECORD_MAX);
	if (!dmarc_is_record(text, len))
		return err_set(e, EX_DATAERR,
		               "the TXT record is not a DMARC "
		               "record: it does not begin with v=DMARC1 (%s)",
		               RFC_RECORD);
	struct dkim_tag *tags = NULL;
	size_t count = 0, where = 0;
	int rc = EX_OK;
	switch (dkim_tag_list_read(text, len, true, &tags, &count, &where)) {
	case -1:
		rc = err_set(e, EX_DATAERR,
		             "the DMARC record is not a list of "
		             "tag=value separated by \";\" (at octet %zu; %s)",
		             where + 1, RFC_RECORD);
		break;
	case -2:
		rc = tag_invalid_rfc(e, &tags[where], "appears more than once",
		                     "RFC 6376 3.2");
		break;
	default:
		rc = parse_tags(tags, count, out, e);
	}
	free(tags);
	if (rc != EX_OK) {
		dmarc_record_free(out);
		record_defaults(out);
	}
	return rc;
}

static void free_uris(char **uris, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(uris[i]);
	free(uris);
}

void dmarc_record_free(struct dmarc_record *r)
{
	free_uris(r->rua, r->rua_count);
	free_uris(r->ruf, r->ruf_count);
	free(r->rua_limit);
	free(r->ruf_limit);
	free(r->rf);
	record_defaults(r);
}

/* ---- formatting ---------------------------------------------------------- */

static void format_uris(struct buf *out, const char *tag, char **uris,
                        const uint64_t *limits, size_t count)
{
	if (count == 0)
		return;
	buf_printf(out, "; %s=", tag);
	for (size_t i = 0; i < count; i++) {
		buf_add_str(out, i ? "," : "");
		buf_add_str(out, uris[i]);
		uint64_t v = limits[i];
		if (v == 0)
			continue;
		const char *unit = "";
		for (const char *u = "kmgt"; *u && v % 1024 == 0; u++) {
			v /= 1024;
			unit = u;
		}
		buf_printf(out, "!%llu%.1s", (unsigned long long)v, unit);
	}
}

void dmarc_record_format(const struct dmarc_record *r, struct buf *out)
{
	buf_printf(out, "v=" VERSION "; p=%s", dmarc_policy_name(r->p));
	if (r->has_sp)
		buf_printf(out, "; sp=%s", dmarc_policy_name(r->sp));
	if (r->adkim == DMARC_STRICT)
		buf_add_str(out, "; adkim=s");
	if (r->aspf == DMARC_STRICT)
		buf_add_str(out, "; aspf=s");
	if (r->pct != DMARC_PCT_MAX)
		buf_printf(out, "; pct=%d", r->pct);
	if (r->fo != DMARC_FO_ALL) {
		static const char letters[] = "01ds";
		const char *sep = "; fo=";
		for (int i = 0; i < 4; i++)
			if (r->fo & (1u << i)) {
				buf_printf(out, "%s%c", sep, letters[i]);
				sep = ":";
			}
	}
	if (r->rf)
		buf_printf(out, "; rf=%s", r->rf);
	if (r->ri != DMARC_RI_DEFAULT)
		buf_printf(out, "; ri=%u", (unsigned)r->ri);
	format_uris(out, "rua", r->rua, r->rua_limit, r->rua_count);
	format_uris(out, "ruf", r->ruf, r->ruf_limit, r->ruf_count);
}

/* ---- alignment and lookup ------------------------------------------------ */

bool dmarc_aligned(const char *a, const char *b, enum dmarc_align mode)
{
	char *x =
	    mode == DMARC_STRICT ? org_domain_normalize(a) : org_domain(a);
	char *y =
	    mode == DMARC_STRICT ? org_domain_normalize(b) : org_domain(b);
	bool same = x && y && strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

int dmarc_lookup_names(const char *from_domain, char **first, char **second,
                       struct err *e)
{
	*first = NULL;
	*second = NULL;
	char *from = org_domain_normalize(from_domain);
	if (!from) {
		struct buf quoted = BUF_INIT;
		if (from_domain)
			dkim_tag_quote(from_domain, strlen(from_domain),
			               &quoted);
		int rc = err_set(e, EX_DATAERR,
		                 "%s is not a domain name, so "
		                 "it has no DMARC record (RFC 7489 6.6.3)",
		                 from_domain ? buf_str(&quoted) : "(none)");
		buf_free(&quoted);
		return rc;
	}
	if (strlen(DMARC_NAME_PREFIX) + strlen(from) > DMARC_NAME_MAX) {
		struct buf quoted = BUF_INIT;
		dkim_tag_quote(from, strlen(from), &quoted);
		int rc = err_set(e, EX_DATAERR,
		                 "the domain %s is too long "
		                 "for a DMARC record name (" DMARC_NAME_PREFIX
		                 "DOMAIN is at most %d octets)",
		                 buf_str(&quoted), DMARC_NAME_MAX);
		buf_free(&quoted);
		free(from);
		return rc;
	}
	char *org = org_domain(from);
	struct buf name = BUF_INIT;
	buf_printf(&name, DMARC_NAME_PREFIX "%s", from);
	*first = buf_steal(&name);
	/* RFC 7489 6.6.3 step 3: the organizational domain, "if different" */
	if (org && strcmp(org, from) != 0) {
		buf_printf(&name, DMARC_NAME_PREFIX "%s", org);
		*second = buf_steal(&name);
	}
	free(org);
	free(from);
	return EX_OK;
}
