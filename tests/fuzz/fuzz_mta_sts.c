/* fuzz_mta_sts.c - libFuzzer target for MTA-STS's parsers (mta_sts.h):
 * the _mta-sts TXT record, the policy file, the cache file, MX pattern
 * matching and the decision.
 *
 * The first byte picks what the rest is:
 *  0  a TXT record: mta_sts_parse_txt; an accepted id is 1 to 32 letters
 *     and digits and appears in the record as "id=ID"; a refusal is
 *     EX_DATAERR with a clean message and no id;
 *  1  a policy file: mta_sts_parse_policy; an accepted policy has a mode
 *     in range, max_age 0..MTA_STS_MAX_AGE, patterns in lower-case LDH
 *     with an optional leading "*.", at least one unless mode is none; it
 *     formats (mta_sts_policy_format) to a policy that parses back equal;
 *     mta_sts_mx_allowed agrees with a naive model on hosts derived from
 *     the patterns; a refusal is EX_DATAERR with a clean, bounded message
 *     and an empty policy;
 *  2  a cache file: mta_sts_cache_parse for "a.example"; an accepted file
 *     has valid values and formats back to exactly the same bytes;
 *  3  a policy and a cache entry built from the bytes (valid by
 *     construction): the policy file and the cache file round-trip equal;
 *  4  a decision: a cache entry and TXT records (split at NUL bytes) from
 *     the bytes, mta_sts_decide at a time from the bytes; the action is
 *     consistent with the cache and the records (a fetch has a valid id;
 *     the cache is used only when usable; no fetch without a single valid
 *     STSv1 record); mta_sts_check_response on a type from the bytes.
 * Messages hold no control character. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mta_sts.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct err *e, int code, size_t max)
{
	const char *msg = err_msg(e);
	if (e->code != code || !*msg || strlen(msg) > max)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static bool m_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > MTA_STS_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!m_alnum(id[i]))
			return false;
	return true;
}

/* Lower-case LDH labels of 1 to 63, at most 253 in all, with an optional
 * leading "*.". */
static bool valid_pattern(const char *p)
{
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	size_t n = strlen(p);
	if (n < 1 || n > MTA_STS_MAX_DOMAIN)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = p[i];
		if (c == '.' || c == '\0') {
			if (label < 1 || label > MTA_STS_MAX_LABEL ||
			    p[i - 1] == '-' || p[i - label] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static bool policies_equal(const struct mta_sts_policy *a,
                           const struct mta_sts_policy *b)
{
	if (a->mode != b->mode || a->max_age != b->max_age ||
	    a->mx_count != b->mx_count)
		return false;
	for (size_t i = 0; i < a->mx_count; i++)
		if (strcmp(a->mx[i], b->mx[i]) != 0)
			return false;
	return true;
}

static void check_policy_valid(const struct mta_sts_policy *p)
{
	if ((p->mode != MTA_STS_NONE && p->mode != MTA_STS_TESTING &&
	     p->mode != MTA_STS_ENFORCE) ||
	    p->max_age < 0 || p->max_age > MTA_STS_MAX_AGE ||
	    (p->mode != MTA_STS_NONE && p->mx_count == 0))
		abort();
	for (size_t i = 0; i < p->mx_count; i++)
		if (!valid_pattern(p->mx[i]))
			abort();
}

/* ---- MX matching: a naive model ------------------------------------------ */

static bool model_allowed(const struct mta_sts_policy *p, const char *host)
{
	char h[600];
	size_t n = strlen(host);
	if (n >= sizeof h)
		return false;
	for (size_t i = 0; i <= n; i++)
		h[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] | 0x20
		                                               : host[i]);
	if (n > 0 && h[n - 1] == '.')
		h[--n] = '\0';
	if (n == 0)
		return false;
	for (size_t i = 0; i < p->mx_count; i++) {
		const char *pat = p->mx[i];
		if (strcmp(pat, h) == 0 && pat[0] != '*')
			return true;
		if (pat[0] == '*' && pat[1] == '.') {
			/* h is LABEL "." REST with LABEL non-empty, no dot */
			const char *dot = strchr(h, '.');
			if (dot && dot != h && strcmp(dot + 1, pat + 2) == 0)
				return true;
		}
	}
	return false;
}

static void check_matching(const struct mta_sts_policy *p)
{
	struct buf host = BUF_INIT;
	size_t limit = p->mx_count < 8 ? p->mx_count : 8;
	for (size_t i = 0; i < limit; i++) {
		const char *pat = p->mx[i];
		const char *base = pat[0] == '*' ? pat + 2 : pat;
		const char *variants[] = {"", "x.", "a.b.", ".", "X."};
		for (size_t v = 0; v < sizeof variants / sizeof *variants;
		     v++) {
			buf_reset(&host);
			buf_printf(&host, "%s%s", variants[v], base);
			if (mta_sts_mx_allowed(p, buf_str(&host)) !=
			    model_allowed(p, buf_str(&host)))
				abort();
			buf_add_char(&host, '.');
			if (mta_sts_mx_allowed(p, buf_str(&host)) !=
			    model_allowed(p, buf_str(&host)))
				abort();
		}
		/* an exact pattern matches itself, in upper case too */
		if (pat[0] != '*') {
			buf_reset(&host);
			for (const char *c = pat; *c; c++) {
				bool small = *c >= 'a' && *c <= 'z';
				buf_add_char(&host,
				             (char)(small ? *c - 32 : *c));
			}
			if (!mta_sts_mx_allowed(p, buf_str(&host)))
				abort();
		} else {
			buf_reset(&host);
			buf_printf(&host, "mx.%s", base);
			if (!mta_sts_mx_allowed(p, buf_str(&host)))
				abort();
		}
	}
	buf_free(&host);
}

/* ---- the parsers --------------------------------------------------------- */

static void fuzz_txt(const char *text, size_t n)
{
	char *id = NULL;
	struct err e = ERR_INIT;
	int rc = mta_sts_parse_txt(text, n, &id, &e);
	if (rc == EX_OK) {
		if (!id || !valid_id(id) || n < 7 || memcmp(text, "v=STSv1", 7))
			abort();
		/* "id=ID" followed by the end, white space or ";" */
		size_t len = strlen(id);
		bool seen = false;
		for (size_t i = 0; i + 3 + len <= n && !seen; i++)
			seen = memcmp(text + i, "id=", 3) == 0 &&
			       memcmp(text + i + 3, id, len) == 0 &&
			       (i + 3 + len == n ||
			        strchr(" \t;", text[i + 3 + len]));
		if (!seen)
			abort();
		free(id);
	} else {
		check_message(&e, EX_DATAERR, 200);
		if (id)
			abort();
	}
	err_clear(&e);
}

static void fuzz_policy(const char *text, size_t n)
{
	struct mta_sts_policy p;
	struct err e = ERR_INIT;
	int rc = mta_sts_parse_policy(text, n, &p, &e);
	if (rc != EX_OK) {
		/* a quote is at most MTA_STS_MAX_QUOTE bytes, each escaped to
		 * at most 4 */
		check_message(&e, EX_DATAERR, 4 * MTA_STS_MAX_QUOTE + 200);
		if (p.mx || p.mx_count || p.id)
			abort();
		err_clear(&e);
		return;
	}
	check_policy_valid(&p);
	if (p.id || p.fetched || p.from_cache)
		abort();
	/* formatted (CRLF, "key: value") it may outgrow the limit */
	struct buf b = BUF_INIT;
	mta_sts_policy_format(&p, &b);
	struct mta_sts_policy q;
	if (b.len <= MTA_STS_MAX_POLICY) {
		if (mta_sts_parse_policy(b.data, b.len, &q, &e) != EX_OK ||
		    !policies_equal(&p, &q))
			abort();
		mta_sts_policy_free(&q);
	}
	check_matching(&p);
	/* whatever the policy, its cache file (with the longest id, time
	 * and domain there can be) fits MTA_STS_MAX_CACHE_FILE and reads
	 * back */
	static const char domain[] =
		"a234567890123456789012345678901"
		"23456789012345678901234567890123."
		"b234567890123456789012345678901"
		"23456789012345678901234567890123."
		"c234567890123456789012345678901"
		"23456789012345678901234567890123."
		"d234567890123456789012345678901"
		"234567890123456789012345678901";
	struct mta_sts_cache c = {.has_policy = true, .policy = p};
	c.policy.id = c.failed_id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
	c.policy.fetched = c.failed_at = 999999999999999999LL;
	mta_sts_cache_format(domain, &c, &b);
	struct mta_sts_cache r;
	if (b.len > MTA_STS_MAX_CACHE_FILE ||
	    !mta_sts_cache_parse(b.data, b.len, domain, &r) ||
	    !policies_equal(&p, &r.policy))
		abort();
	mta_sts_cache_free(&r);
	buf_free(&b);
	mta_sts_policy_free(&p);
}

static void check_cache_valid(const struct mta_sts_cache *c)
{
	if (c->failed_id && !valid_id(c->failed_id))
		abort();
	if (!c->has_policy) {
		if (c->policy.mx || c->policy.id)
			abort();
		return;
	}
	check_policy_valid(&c->policy);
	if (!c->policy.id || !valid_id(c->policy.id) || c->policy.fetched < 0)
		abort();
}

static void fuzz_cache(const char *text, size_t n)
{
	struct mta_sts_cache c;
	if (!mta_sts_cache_parse(text, n, "a.example", &c)) {
		if (c.has_policy || c.failed_id || c.policy.mx)
			abort();
		return;
	}
	check_cache_valid(&c);
	struct buf b = BUF_INIT;
	mta_sts_cache_format("a.example", &c, &b);
	if (b.len != n || memcmp(b.data, text, n) != 0)
		abort();
	buf_free(&b);
	mta_sts_cache_free(&c);
}

/* ---- built from the bytes ------------------------------------------------ */

struct bytes {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct bytes *b)
{
	if (b->n == 0)
		return 0;
	b->n--;
	return *b->p++;
}

/* An id of 1 to 32 alphanumerics. */
static char *build_id(struct bytes *b)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz"
	                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = 1 + take(b) % MTA_STS_MAX_ID;
	char *id = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		id[i] = set[take(b) % (sizeof set - 1)];
	id[n] = '\0';
	return id;
}

/* A valid pattern: one to four labels of LDH characters (no hyphen at
 * either end; the first up to 63, the others up to 62), maybe behind
 * "*.". */
static char *build_pattern(struct bytes *b)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
	struct buf p = BUF_INIT;
	unsigned shape = take(b);
	if (shape & 1)
		buf_add_str(&p, "*.");
	size_t labels = 1 + (shape >> 1) % 4;
	for (size_t l = 0; l < labels; l++) {
		if (l)
			buf_add_char(&p, '.');
		/* 63 + 3 * (62 + 1) = 252: within MTA_STS_MAX_DOMAIN */
		size_t len = 1 + take(b) % (MTA_STS_MAX_LABEL - (l > 0));
		for (size_t i = 0; i < len; i++) {
			char c = set[take(b) % (sizeof set - 1)];
			if (c == '-' && (i == 0 || i == len - 1))
				c = 'h';
			buf_add_char(&p, c);
		}
	}
	return buf_steal(&p);
}

static void build_policy(struct bytes *b, struct mta_sts_policy *p)
{
	memset(p, 0, sizeof *p);
	p->mode = (enum mta_sts_mode)(take(b) % 3);
	p->max_age = (long)(((unsigned long)take(b) << 24 |
	                     (unsigned long)take(b) << 16 |
	                     (unsigned long)take(b) << 8 | take(b)) %
	                    (MTA_STS_MAX_AGE + 1));
	size_t count = take(b) % 6;
	if (p->mode != MTA_STS_NONE && count == 0)
		count = 1;
	p->mx = xcalloc(count ? count : 1, sizeof *p->mx);
	for (size_t i = 0; i < count; i++)
		p->mx[p->mx_count++] = build_pattern(b);
}

static int64_t build_time(struct bytes *b)
{
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | take(b);
	return (int64_t)(t % 1000000000000000000ULL);
}

static void fuzz_built(struct bytes b)
{
	struct mta_sts_policy p;
	build_policy(&b, &p);
	struct buf text = BUF_INIT;
	mta_sts_policy_format(&p, &text);
	struct mta_sts_policy q;
	struct err e = ERR_INIT;
	if (mta_sts_parse_policy(text.data, text.len, &q, &e) != EX_OK ||
	    !policies_equal(&p, &q))
		abort();
	mta_sts_policy_free(&q);
	check_matching(&p);

	struct mta_sts_cache c = {0}, r;
	unsigned flags = take(&b);
	if (flags & 1) {
		c.failed_id = build_id(&b);
		c.failed_at = build_time(&b);
	}
	if (flags & 2) {
		c.has_policy = true;
		c.policy = p;
		c.policy.id = build_id(&b);
		c.policy.fetched = build_time(&b);
	} else {
		mta_sts_policy_free(&p);
	}
	mta_sts_cache_format("a.example", &c, &text);
	if (!mta_sts_cache_parse(text.data, text.len, "a.example", &r) ||
	    r.has_policy != c.has_policy ||
	    (c.has_policy && (!policies_equal(&r.policy, &c.policy) ||
	                      strcmp(r.policy.id, c.policy.id) != 0 ||
	                      r.policy.fetched != c.policy.fetched)) ||
	    (c.failed_id == NULL) != (r.failed_id == NULL) ||
	    (c.failed_id && (strcmp(c.failed_id, r.failed_id) != 0 ||
	                     c.failed_at != r.failed_at)))
		abort();
	/* another domain's file is refused */
	struct mta_sts_cache other;
	if (mta_sts_cache_parse(text.data, text.len, "b.example", &other))
		abort();
	mta_sts_cache_free(&r);
	mta_sts_cache_free(&c);
	buf_free(&text);
}

/* ---- the decision -------------------------------------------------------- */

static void fuzz_decide(struct bytes b)
{
	struct mta_sts_cache c = {0};
	unsigned flags = take(&b);
	int64_t now = build_time(&b);
	if (flags & 1) {
		c.failed_id = build_id(&b);
		c.failed_at = now - (int64_t)(take(&b) * 4) + 200;
	}
	if (flags & 2) {
		c.has_policy = true;
		build_policy(&b, &c.policy);
		c.policy.id = build_id(&b);
		int64_t age = (int64_t)take(&b) * 1000;
		age *= take(&b) + 1;
		c.policy.fetched = now - age;
	}
	enum mta_sts_dns status = (enum mta_sts_dns)((flags >> 2) % 3);
	/* the rest: records separated by NUL bytes */
	const char *records[8];
	size_t lengths[8], count = 0;
	const char *s = (const char *)b.p, *end = s + b.n;
	while (s < end && count < 8) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));
		const char *stop = nul ? nul : end;
		records[count] = s;
		lengths[count++] = (size_t)(stop - s);
		s = nul ? nul + 1 : end;
	}
	const struct mta_sts_txt txt = {status, records, lengths, count};
	struct mta_sts_decision d;
	bool any = flags & 3;
	mta_sts_decide(any ? &c : NULL, &txt, now, &d);
	bool usable = c.has_policy && mta_sts_policy_usable(&c.policy, now);
	enum mta_sts_action keep = usable ? MTA_STS_USE_CACHE
	                                  : MTA_STS_NO_POLICY;
	if (d.fallback != keep)
		abort();
	if (d.action == MTA_STS_FETCH) {
		if (!d.id || !valid_id(d.id) || status != MTA_STS_DNS_FOUND)
			abort();
	} else if (d.action != keep) {
		abort();
	}
	/* an id exactly when DNS found one STSv1 record, and it parses */
	size_t sts = 0, which = 0;
	for (size_t i = 0; i < count; i++) {
		size_t k = 7;
		while (k < lengths[i] &&
		       (records[i][k] == ' ' || records[i][k] == '\t'))
			k++;
		if (lengths[i] > 7 && !memcmp(records[i], "v=STSv1", 7) &&
		    k < lengths[i] && records[i][k] == ';') {
			sts++;
			which = i;
		}
	}
	char *id = NULL;
	struct err te = ERR_INIT;
	if (status == MTA_STS_DNS_FOUND && sts == 1 &&
	    mta_sts_parse_txt(records[which], lengths[which], &id, &te) !=
	            EX_OK)
		err_clear(&te);
	if ((id == NULL) != (d.id == NULL) || (id && strcmp(id, d.id) != 0))
		abort();
	if (status == MTA_STS_DNS_FOUND && sts > 1 &&
	    d.reason != MTA_STS_RECORD_INVALID)
		abort();
	free(id);
	/* the cache is current only under the same id */
	if (d.reason == MTA_STS_CURRENT &&
	    (!usable || !d.id || strcmp(c.policy.id, d.id) != 0))
		abort();
	if (d.reason == MTA_STS_RECORD_INVALID) {
		if (!d.problem)
			abort();
		for (const char *p = d.problem; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	} else if (d.problem) {
		abort();
	}
	mta_sts_decision_free(&d);
	mta_sts_cache_free(&c);

	/* a Content-Type from the bytes */
	char *type = xstrndup((const char *)b.p, b.n);
	struct err e = ERR_INIT;
	int rc = mta_sts_check_response(flags & 0x80 ? 200 : 300 + (int)flags,
	                                type, &e);
	if (rc != EX_OK) {
		check_message(&e, EX_PROTOCOL, 200);
		err_clear(&e);
	} else {
		/* 200 and text/plain, then nothing or parameters */
		const char *rest = type + 10;
		if (!(flags & 0x80) || ascii_ncasecmp(type, "text/plain", 10))
			abort();
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest && *rest != ';')
			abort();
	}
	free(type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0:
		fuzz_txt(text, n);
		break;
	case 1:
		fuzz_policy(text, n);
		break;
	case 2:
		fuzz_cache(text, n);
		break;
	case 3:
		fuzz_built((struct bytes){data + 1, n});
		break;
	default:
		fuzz_decide((struct bytes){data + 1, n});
	}
	return 0;
}
