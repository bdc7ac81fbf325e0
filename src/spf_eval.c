/* spf_eval.c - the walk over a domain's SPF tree and check_host() (RFC
 * 7208 4 and 5), through the caller's lookup callback; see spf.h.
 *
 * One evaluator, two modes. The walk is check_host() for a client that no
 * address mechanism matches: ip4, ip6, a, mx, ptr and exists never match,
 * so a receiver would meet every term up to the "all" that ends each
 * record, every include and redirect; its counts are the worst case a
 * sender meets and what a doctor reports. It asks DNS what a receiver
 * would (A or AAAA records for a, as for an IPv4 client when there is
 * none, A for exists, MX for mx, but not the MX hosts' addresses, which
 * only matter for a match; ptr is only counted, its lookups depending on
 * the client), follows includes and redirects, and stops at the first
 * error as a receiver does, with two differences that make its report
 * more useful: a loop is named as such when it is met (a receiver runs
 * into the lookup limit instead), and past the lookup limit it goes on
 * counting, asking for nothing but the TXT records of includes and
 * redirects, to tell how many lookups the tree needs.
 * The evaluation proper is check_host() for the client address given,
 * exactly as a receiver computes it (ptr included: RFC 7208 5.5).
 *
 * Both share one cache of answers, so each question is asked once. */
#include "spf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "util.h"

/* Text from outside (a lookup's sentence) into out with no control
 * character: sanitize_append_line's rules, and TAB as "\x09" too. */
static void append_clean(struct buf *out, const char *text)
{
	struct buf b = BUF_INIT;
	sanitize_append_line(&b, text, strlen(text));
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\t')
			buf_add_str(out, "\\x09");
		else
			buf_add_char(out, b.data[i]);
	buf_free(&b);
}

/* ---- answers ------------------------------------------------------------- */

/* One question and its answer, kept for the whole spf_check_domain. */
struct answer {
	char *name;
	uint16_t type;
	bool failed;              /* TEMPFAIL, REFUSED, anything unusable */
	struct dns_result result; /* FOUND, NODATA or NXDOMAIN */
	char *error;              /* failed: the lookup's sentence */
};

struct cache {
	spf_lookup_fn lookup;
	void *ctx;
	struct answer **answers;
	size_t count;
};

static const struct answer *ask(struct cache *c, const char *name,
                                uint16_t type)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->answers[i]->type == type &&
		    strcmp(c->answers[i]->name, name) == 0)
			return c->answers[i];
	struct answer *a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->type = type;
	a->result.status = DNS_TEMPFAIL;
	a->result.rcode = -1;
	struct err e = ERR_INIT;
	int rc = c->lookup(c->ctx, name, type, &a->result, &e);
	enum dns_status s = a->result.status;
	if (rc != EX_OK ||
	    (s != DNS_FOUND && s != DNS_NODATA && s != DNS_NXDOMAIN)) {
		struct buf b = BUF_INIT;
		if (err_msg(&e)[0])
			append_clean(&b, err_msg(&e));
		else
			buf_printf(&b,
			           "DNS lookup of the %s records of %s failed",
			           dns_type_name(type), name);
		a->error = buf_steal(&b);
		a->failed = true;
		dns_result_free(&a->result);
	} else if (s == DNS_FOUND && a->result.count == 0) {
		a->result.status = DNS_NODATA;
	}
	err_clear(&e);
	c->answers =
	    xrealloc(c->answers, (c->count + 1) * sizeof(struct answer *));
	c->answers[c->count++] = a;
	return a;
}

static void cache_free(struct cache *c)
{
	for (size_t i = 0; i < c->count; i++) {
		free(c->answers[i]->name);
		free(c->answers[i]->error);
		dns_result_free(&c->answers[i]->result);
		free(c->answers[i]);
	}
	free(c->answers);
	c->answers = NULL;
	c->count = 0;
}

static bool is_void(const struct answer *a)
{
	return a->result.status == DNS_NODATA ||
	       a->result.status == DNS_NXDOMAIN;
}

/* ---- the evaluation's state ---------------------------------------------- */

struct eval {
	struct cache *cache;
	bool walk;                        /* see the top of this file */
	struct spf_macro_env env;         /* env.domain: set per term */
	size_t lookups, voids;            /* RFC 7208 4.6.4's counts */
	bool counting;                    /* walk past the limit: count only */
	const char *stack[SPF_MAX_DEPTH]; /* the domains being evaluated */
	size_t depth;
	/* the first error met */
	enum spf_status status;
	char *problem, *problem_domain;
	char *over_term, *over_domain; /* the lookup past the limit */
	const char *none_why;          /* why check_host answered none */
	struct spf_check *out;         /* the walk's other findings */
};

enum match { MATCH_NO, MATCH_YES, MATCH_TEMPERROR, MATCH_PERMERROR };

/* A term as written, for messages: at most SPF_MAX_QUOTE bytes. */
static char *term_text(const struct spf_mech *m, const char *redirect)
{
	struct buf b = BUF_INIT;
	if (m)
		spf_mech_format(m, &b);
	else
		buf_printf(&b, "redirect=%s", redirect);
	if (b.len > SPF_MAX_QUOTE) {
		b.len = SPF_MAX_QUOTE;
		buf_add_str(&b, "...");
	}
	return buf_steal(&b);
}

/* Record the first error (then the walk and the evaluation stop) and
 * return the result it gives: temperror or permerror. The sentence ends
 * with the path through the tree when domain is not the top one. */
static enum spf_result fail(struct eval *ev, enum spf_status status,
                            const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum spf_result fail(struct eval *ev, enum spf_status status,
                            const char *domain, const char *fmt, ...)
{
	if (ev->status == SPF_STATUS_OK) {
		struct buf b = BUF_INIT, clean = BUF_INIT;
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
		bool nested =
		    ev->depth > 1 ||
		    (ev->depth == 1 && strcmp(ev->stack[0], domain) != 0);
		for (size_t i = 0; nested && i < ev->depth; i++)
			buf_printf(&b, "%s%s",
			           i ? " > " : " (SPF tree: ", ev->stack[i]);
		if (nested && strcmp(ev->stack[ev->depth - 1], domain) != 0)
			buf_printf(&b, " > %s", domain);
		if (nested)
			buf_add_char(&b, ')');
		append_clean(&clean, buf_str(&b));
		buf_free(&b);
		ev->status = status;
		ev->problem = buf_steal(&clean);
		ev->problem_domain = xstrdup(domain);
	}
	return status == SPF_STATUS_TEMPFAIL ? SPF_RESULT_TEMPERROR
	                                     : SPF_RESULT_PERMERROR;
}

static enum match as_match(enum spf_result r)
{
	return r == SPF_RESULT_TEMPERROR ? MATCH_TEMPERROR : MATCH_PERMERROR;
}

/* A term that could not be evaluated and counts as not matching (m is
 * NULL for redirect=). */
static enum match skip(struct eval *ev, const char *domain,
                       const struct spf_mech *m, const char *redirect,
                       const struct err *why)
{
	if (!ev->walk)
		return MATCH_NO;
	ev->out->skipped++;
	if (!ev->out->skipped_note) {
		char *text = term_text(m, redirect);
		struct buf b = BUF_INIT;
		buf_printf(&b,
		           "'%s' in the SPF record of %s was not evaluated "
		           "and counts as not matching: ",
		           text, domain);
		append_clean(&b, err_msg(why));
		ev->out->skipped_note = buf_steal(&b);
		free(text);
	}
	return MATCH_NO;
}

/* RFC 7208 4.6.4: one more DNS-querying term. False when a receiver
 * stops here (permerror); the walk instead goes on counting. */
static bool count_lookup(struct eval *ev, const char *domain,
                         const struct spf_mech *m, const char *redirect)
{
	if (ev->counting) {
		if (ev->lookups < SPF_MAX_TREE_LOOKUPS)
			ev->lookups++;
		return true;
	}
	if (++ev->lookups <= SPF_MAX_LOOKUPS)
		return true;
	if (ev->status == SPF_STATUS_OK) {
		ev->status = SPF_STATUS_TOO_MANY_LOOKUPS;
		ev->over_term = term_text(m, redirect);
		ev->over_domain = xstrdup(domain);
		ev->problem_domain = xstrdup(domain);
	}
	ev->counting = ev->walk;
	return ev->walk;
}

/* RFC 7208 4.6.4: a term whose lookup found nothing. False past the
 * limit (permerror). */
static bool count_void(struct eval *ev, const char *domain,
                       const struct spf_mech *m, const char *name)
{
	if (++ev->voids <= SPF_MAX_VOID_LOOKUPS)
		return true;
	char *text = term_text(m, NULL);
	fail(ev, SPF_STATUS_TOO_MANY_VOID, domain,
	     "'%s' in the SPF record of %s finds nothing at %s: that makes "
	     "%zu lookups that found nothing, more than the %d receivers "
	     "allow, so they answer permerror (RFC 7208 4.6.4); remove the "
	     "terms that name domains without records",
	     text, domain, name, ev->voids, SPF_MAX_VOID_LOOKUPS);
	free(text);
	return false;
}

/* A DNS failure: temperror (RFC 7208 4.4, 5). */
static enum spf_result dns_failed(struct eval *ev, const char *domain,
                                  const struct answer *a)
{
	return fail(ev, SPF_STATUS_TEMPFAIL, domain,
	            "%s (for the SPF record of %s; until it answers, "
	            "receivers answer temperror, RFC 7208 4.4)",
	            a->error, domain);
}

/* ---- matching addresses -------------------------------------------------- */

/* The first prefix bits (all of them when prefix is -1) of a and b. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b,
                         size_t len, int prefix)
{
	size_t bits = prefix < 0 ? len * 8 : (size_t)prefix;
	size_t bytes = bits / 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	unsigned rest = (unsigned)(bits % 8);
	if (rest == 0)
		return true;
	unsigned mask = (0xffu << (8 - rest)) & 0xffu;
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* The client is in addr/prefix (cidr4 for IPv4, cidr6 for IPv6). */
static bool client_in(const struct eval *ev, const unsigned char *addr,
                      size_t len, int cidr4, int cidr6)
{
	return ev->env.ip_len == len &&
	       prefix_equal(addr, ev->env.ip, len, len == 4 ? cidr4 : cidr6);
}

/* RFC 7208 5: A records for an IPv4 client, AAAA for an IPv6 one (the
 * walk without a client: A). */
static uint16_t address_type(const struct eval *ev)
{
	return ev->env.ip_len == 16 ? DNS_T_AAAA : DNS_T_A;
}

/* Some address of a (A or AAAA records) holds the client. */
static bool any_address(const struct eval *ev, const struct answer *a,
                        int cidr4, int cidr6)
{
	for (size_t i = 0; i < a->result.count; i++) {
		const struct dns_record *r = &a->result.records[i];
		if (client_in(ev, r->addr, r->addr_len, cidr4, cidr6))
			return true;
	}
	return false;
}

/* RFC 7208 5.4: the MX hosts of a (but the null MX, RFC 7505), at most
 * SPF_MAX_MX_NAMES of them, else permerror; then their addresses. */
static enum match match_mx(struct eval *ev, const char *domain,
                           const struct spf_mech *m, const struct answer *a)
{
	size_t names = 0;
	for (size_t i = 0; i < a->result.count; i++)
		names +=
		    a->result.records[i].name && a->result.records[i].name[0];
	if (names > SPF_MAX_MX_NAMES) {
		char *text = term_text(m, NULL);
		enum spf_result r = fail(
		    ev, SPF_STATUS_TOO_MANY_MX, domain,
		    "'%s' in the SPF record of %s finds %zu MX hosts at %s, "
		    "more than the %d receivers look up: they answer "
		    "permerror (RFC 7208 4.6.4); list those hosts' addresses "
		    "with ip4: and ip6: instead",
		    text, domain, names, a->name, SPF_MAX_MX_NAMES);
		free(text);
		return as_match(r);
	}
	if (ev->walk)
		return MATCH_NO;
	for (size_t i = 0; i < a->result.count; i++) {
		/* the DNS layer hands out host names only; asked, a name
		 * from a reply is checked like any other */
		const char *host = a->result.records[i].name;
		if (!host || !host[0] || !dns_host_name_valid(host))
			continue;
		const struct answer *addrs =
		    ask(ev->cache, host, address_type(ev));
		if (addrs->failed)
			return as_match(dns_failed(ev, domain, addrs));
		if (any_address(ev, addrs, m->cidr4, m->cidr6))
			return MATCH_YES;
	}
	return MATCH_NO;
}

/* name is target or one of its subdomains (ASCII case ignored, RFC 4343;
 * target has no trailing dot, and neither has a name from the DNS
 * layer). */
static bool within(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);
	if (n > 0 && name[n - 1] == '.')
		n--;
	return n >= t && ascii_ncasecmp(name + n - t, target, t) == 0 &&
	       (n == t || name[n - t - 1] == '.');
}

/* RFC 7208 5.5: the client's PTR names (the first SPF_MAX_PTR_NAMES),
 * those whose addresses hold the client are validated; a match is a
 * validated name equal to target or below it. A DNS error does not
 * match (5.5), and neither does a name's failed address lookup. */
static enum match match_ptr(struct eval *ev, const char *domain,
                            const struct spf_mech *m, const char *target)
{
	char *reverse = dns_reverse_name(ev->env.ip, ev->env.ip_len);
	const struct answer *a = ask(ev->cache, reverse, DNS_T_PTR);
	free(reverse);
	if (a->failed)
		return MATCH_NO;
	if (is_void(a))
		return count_void(ev, domain, m, a->name) ? MATCH_NO
		                                          : MATCH_PERMERROR;
	size_t limit = a->result.count < SPF_MAX_PTR_NAMES ? a->result.count
	                                                   : SPF_MAX_PTR_NAMES;
	for (size_t i = 0; i < limit; i++) {
		const char *name = a->result.records[i].name;
		if (!name || !name[0] || !dns_host_name_valid(name) ||
		    !within(name, target))
			continue;
		const struct answer *addrs =
		    ask(ev->cache, name, address_type(ev));
		if (!addrs->failed && any_address(ev, addrs, -1, -1))
			return MATCH_YES;
	}
	return MATCH_NO;
}

/* ---- mechanisms ---------------------------------------------------------- */

/* The name a term asks about: its domain-spec expanded (with %{d} the
 * current domain), or the current domain itself. */
static int target_name(struct eval *ev, const char *domain, const char *spec,
                       char **name, struct err *e)
{
	if (!spec) {
		*name = xstrdup(domain);
		return EX_OK;
	}
	ev->env.domain = domain;
	return spf_expand_domain(spec, &ev->env, name, e);
}

/* a, mx, ptr, exists (RFC 7208 5.3, 5.4, 5.5, 5.7). */
static enum match match_dns(struct eval *ev, const char *domain,
                            const struct spf_mech *m)
{
	if (!count_lookup(ev, domain, m, NULL))
		return MATCH_PERMERROR;
	if (m->type == SPF_PTR && ev->walk)
		ev->out->uses_ptr = true;
	if (ev->counting || (m->type == SPF_PTR && ev->walk))
		return MATCH_NO;
	char *name = NULL;
	struct err e = ERR_INIT;
	if (target_name(ev, domain, m->domain_spec, &name, &e) != EX_OK) {
		enum match r = skip(ev, domain, m, NULL, &e);
		err_clear(&e);
		return r;
	}
	enum match r = MATCH_NO;
	if (m->type == SPF_PTR) {
		r = match_ptr(ev, domain, m, name);
		free(name);
		return r;
	}
	/* RFC 7208 5.7: exists asks for A records, even for an IPv6
	 * client */
	uint16_t type = m->type == SPF_MX       ? DNS_T_MX
	                : m->type == SPF_EXISTS ? DNS_T_A
	                                        : address_type(ev);
	const struct answer *a = ask(ev->cache, name, type);
	free(name);
	if (a->failed)
		r = as_match(dns_failed(ev, domain, a));
	else if (is_void(a))
		r = count_void(ev, domain, m, a->name) ? MATCH_NO
		                                       : MATCH_PERMERROR;
	else if (m->type == SPF_MX)
		r = match_mx(ev, domain, m, a);
	else if (!ev->walk)
		r = m->type == SPF_EXISTS ||
		            any_address(ev, a, m->cidr4, m->cidr6)
		        ? MATCH_YES
		        : MATCH_NO;
	return r;
}

static enum spf_result check_host(struct eval *ev, const char *domain);

static void add_include(struct spf_check *out, const char *target)
{
	for (size_t i = 0; i < out->include_count; i++)
		if (strcmp(out->includes[i], target) == 0)
			return;
	out->includes = xrealloc(out->includes, (out->include_count + 1) *
	                                            sizeof *out->includes);
	out->includes[out->include_count++] = xstrdup(target);
}

/* include: and redirect= (m is NULL for redirect=): count the lookup,
 * expand the target, check_host() it into *result (neutral when it was
 * not evaluated). MATCH_NO, or the error that stops the evaluation: a
 * target that cannot be a name, a loop, a target without a record (5.2,
 * 6.1), an error inside. Counting past the limit, nothing stops it. */
static enum match follow(struct eval *ev, const char *domain,
                         const struct spf_mech *m, const char *redirect,
                         enum spf_result *result)
{
	*result = SPF_RESULT_NEUTRAL;
	if (!count_lookup(ev, domain, m, redirect))
		return MATCH_PERMERROR;
	if (ev->counting &&
	    (ev->lookups >= SPF_MAX_TREE_LOOKUPS || ev->depth >= SPF_MAX_DEPTH))
		return MATCH_NO;
	char *target = NULL, *text = term_text(m, redirect);
	struct err e = ERR_INIT;
	enum match r = MATCH_NO;
	int rc =
	    target_name(ev, domain, m ? m->domain_spec : redirect, &target, &e);
	if (rc == EX_UNAVAILABLE) {
		r = skip(ev, domain, m, redirect, &e);
	} else if (rc != EX_OK) {
		if (!ev->counting)
			r = as_match(
			    fail(ev, SPF_STATUS_BAD_TARGET, domain,
			         "'%s' in the SPF record of %s: %s; "
			         "receivers answer permerror (RFC 7208 "
			         "4.8)",
			         text, domain, err_msg(&e)));
	} else {
		if (ev->walk)
			add_include(ev->out, target);
		bool loop = false;
		for (size_t i = 0; ev->walk && i < ev->depth; i++)
			loop = loop || strcmp(ev->stack[i], target) == 0;
		if (loop && !ev->counting)
			r = as_match(fail(
			    ev, SPF_STATUS_LOOP, domain,
			    "'%s' in the SPF record of %s leads back to %s, "
			    "whose evaluation it is part of: it can only end "
			    "at the lookup limit, in permerror (RFC 7208 "
			    "4.6.4); break the loop",
			    text, domain, target));
		else if (!loop)
			*result = check_host(ev, target);
		if (!loop && *result == SPF_RESULT_NONE && !ev->counting)
			r = as_match(fail(
			    ev, SPF_STATUS_MISSING_TARGET, domain,
			    "'%s' in the SPF record of %s names %s, which has "
			    "no SPF record (%s): receivers answer permerror "
			    "(RFC 7208 %s); fix the name or remove the term",
			    text, domain, target, ev->none_why,
			    m ? "5.2" : "6.1"));
		else if (*result == SPF_RESULT_TEMPERROR && !ev->counting)
			r = MATCH_TEMPERROR;
		else if (*result == SPF_RESULT_PERMERROR && !ev->counting)
			r = MATCH_PERMERROR;
	}
	err_clear(&e);
	free(target);
	free(text);
	return r;
}

/* RFC 7208 5.2: include matches when the target passes; fail, softfail
 * and neutral do not match; none is a permerror, errors propagate. */
static enum match match_include(struct eval *ev, const char *domain,
                                const struct spf_mech *m)
{
	enum spf_result result;
	enum match r = follow(ev, domain, m, NULL, &result);
	if (r != MATCH_NO)
		return r;
	return result == SPF_RESULT_PASS ? MATCH_YES : MATCH_NO;
}

static enum match match_mech(struct eval *ev, const char *domain,
                             const struct spf_mech *m)
{
	switch (m->type) {
	case SPF_ALL:
		return MATCH_YES;
	case SPF_IP4:
	case SPF_IP6:
		return !ev->walk && client_in(ev, m->addr, m->addr_len,
		                              m->cidr4, m->cidr6)
		           ? MATCH_YES
		           : MATCH_NO;
	case SPF_INCLUDE:
		return match_include(ev, domain, m);
	default:
		return match_dns(ev, domain, m);
	}
}

/* ---- records ------------------------------------------------------------- */

static enum spf_result qualifier_result(enum spf_qualifier q)
{
	switch (q) {
	case SPF_FAIL:
		return SPF_RESULT_FAIL;
	case SPF_SOFTFAIL:
		return SPF_RESULT_SOFTFAIL;
	case SPF_NEUTRAL:
		return SPF_RESULT_NEUTRAL;
	default:
		return SPF_RESULT_PASS;
	}
}

/* RFC 7208 4.6.2: mechanisms left to right, the first match decides;
 * then redirect= (6.1: only when nothing matched, and so never after an
 * "all"); then neutral (4.7). */
static enum spf_result evaluate_record(struct eval *ev, const char *domain,
                                       const struct spf_record *rec)
{
	for (size_t i = 0; i < rec->count; i++) {
		enum match r = match_mech(ev, domain, &rec->mechs[i]);
		if (r == MATCH_YES)
			return qualifier_result(rec->mechs[i].q);
		if (r == MATCH_TEMPERROR)
			return SPF_RESULT_TEMPERROR;
		if (r == MATCH_PERMERROR)
			return SPF_RESULT_PERMERROR;
	}
	if (!rec->redirect)
		return SPF_RESULT_NEUTRAL;
	enum spf_result result;
	enum match r = follow(ev, domain, NULL, rec->redirect, &result);
	if (r == MATCH_TEMPERROR)
		return SPF_RESULT_TEMPERROR;
	if (r == MATCH_PERMERROR)
		return SPF_RESULT_PERMERROR;
	/* counting past the limit, a broken target is not an error */
	if (ev->counting &&
	    (result == SPF_RESULT_NONE || result == SPF_RESULT_TEMPERROR ||
	     result == SPF_RESULT_PERMERROR))
		return SPF_RESULT_NEUTRAL;
	return result;
}

/* RFC 7208 4.4 and 4.5: the one SPF record at domain into rec. EX_OK;
 * otherwise *result is check_host's answer: none (ev->none_why says why,
 * the caller judges), temperror or permerror (recorded here). The top
 * record's text and "all" go to the walk's report. */
static int fetch_record(struct eval *ev, const char *domain,
                        struct spf_record *rec, enum spf_result *result)
{
	const struct answer *a = ask(ev->cache, domain, DNS_T_TXT);
	*result = SPF_RESULT_NONE;
	if (a->failed) {
		*result = dns_failed(ev, domain, a);
		return EX_TEMPFAIL;
	}
	size_t count = 0, which = 0;
	for (size_t i = 0; i < a->result.count; i++) {
		const struct dns_record *r = &a->result.records[i];
		if (r->data &&
		    spf_is_record((const char *)r->data, r->data_len)) {
			count++;
			which = i;
		}
	}
	if (count == 0) {
		ev->none_why = a->result.status == DNS_NXDOMAIN
		                   ? "the name does not exist"
		               : a->result.count == 0
		                   ? "it has no TXT record"
		                   : "none of its TXT records begins with "
		                     "\"v=spf1\"";
		return EX_NOINPUT;
	}
	if (count > 1) {
		*result = fail(ev, SPF_STATUS_MULTIPLE, domain,
		               "%s has %zu SPF records where one is allowed: "
		               "receivers answer permerror (RFC 7208 4.5); "
		               "merge them into one TXT record",
		               domain, count);
		return EX_DATAERR;
	}
	const struct dns_record *r = &a->result.records[which];
	struct err e = ERR_INIT;
	int rc = spf_parse((const char *)r->data, r->data_len, rec, &e);
	if (rc != EX_OK) {
		*result = fail(ev, SPF_STATUS_SYNTAX, domain,
		               "the SPF record of %s does not parse: %s; "
		               "receivers answer permerror (RFC 7208 4.6)",
		               domain, err_msg(&e));
		err_clear(&e);
		return rc;
	}
	if (ev->walk && ev->depth == 0) {
		ev->out->record = xstrndup((const char *)r->data, r->data_len);
		for (size_t i = 0; i < rec->count && !ev->out->has_all; i++)
			if (rec->mechs[i].type == SPF_ALL) {
				ev->out->has_all = true;
				ev->out->all_qualifier = rec->mechs[i].q;
			}
	}
	return EX_OK;
}

/* RFC 7208 4: check_host(ip, domain, sender). */
static enum spf_result check_host(struct eval *ev, const char *domain)
{
	if (ev->depth >= SPF_MAX_DEPTH) /* the lookup limit comes first */
		return fail(ev, SPF_STATUS_LOOP, domain,
		            "the SPF tree nests more than %d deep",
		            SPF_MAX_DEPTH);
	struct spf_record rec;
	enum spf_result result;
	if (fetch_record(ev, domain, &rec, &result) != EX_OK)
		return result;
	ev->stack[ev->depth++] = domain;
	result = evaluate_record(ev, domain, &rec);
	ev->depth--;
	spf_record_free(&rec);
	return result;
}

/* ---- the report ---------------------------------------------------------- */

/* The lookup-limit sentence, once the walk's count is known. */
static void over_limit_problem(struct eval *ev, const char *top)
{
	struct buf b = BUF_INIT;
	if (ev->walk)
		buf_printf(
		    &b,
		    "the SPF tree of %s needs %s%zu DNS lookups "
		    "(include, a, mx, ptr, exists and redirect= each "
		    "count), more than the %d a receiver makes",
		    top, ev->lookups >= SPF_MAX_TREE_LOOKUPS ? "at least " : "",
		    ev->lookups, SPF_MAX_LOOKUPS);
	else
		buf_printf(&b,
		           "evaluating the SPF tree of %s takes more "
		           "than the %d DNS lookups a receiver makes",
		           top, SPF_MAX_LOOKUPS);
	buf_printf(&b,
	           ": at the %dth, '%s' in the record of %s, it answers "
	           "permerror (RFC 7208 4.6.4); use fewer includes, or "
	           "ip4: and ip6: ranges instead of some",
	           SPF_MAX_LOOKUPS + 1, ev->over_term, ev->over_domain);
	free(ev->problem);
	ev->problem = buf_steal(&b);
}

static void eval_init(struct eval *ev, struct cache *cache, bool walk,
                      const struct spf_macro_env *env, struct spf_check *out)
{
	memset(ev, 0, sizeof *ev);
	ev->cache = cache;
	ev->walk = walk;
	ev->env = *env;
	ev->out = out;
}

static void eval_free(struct eval *ev)
{
	free(ev->problem);
	free(ev->problem_domain);
	free(ev->over_term);
	free(ev->over_domain);
}

/* Run check_host() for top and finish its sentence. */
static enum spf_result run(struct eval *ev, const char *top)
{
	enum spf_result r = check_host(ev, top);
	if (ev->status == SPF_STATUS_TOO_MANY_LOOKUPS) {
		over_limit_problem(ev, top);
		r = SPF_RESULT_PERMERROR;
	} else if (r == SPF_RESULT_NONE && ev->status == SPF_STATUS_OK) {
		ev->status = SPF_STATUS_NONE;
		ev->problem_domain = xstrdup(top);
		struct buf b = BUF_INIT;
		buf_printf(&b,
		           "%s has no SPF record (%s): receivers answer "
		           "\"none\" and cannot tell its mail from forgeries "
		           "(RFC 7208 4.5); publish one TXT record beginning "
		           "\"v=spf1\"",
		           top, ev->none_why);
		ev->problem = buf_steal(&b);
	}
	return r;
}

/* A domain as check_host takes it: lower case, no trailing dot, a host
 * name of two or more labels (RFC 7208 4.3). NULL otherwise. */
static char *normalize_domain(const char *domain)
{
	size_t n = strlen(domain);
	if (n > 1 && domain[n - 1] == '.')
		n--;
	char *d = xstrndup(domain, n);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (n == 0 || n > SPF_MAX_DOMAIN || d[n - 1] == '.' ||
	    !strchr(d, '.') || !dns_host_name_valid(d)) {
		free(d);
		return NULL;
	}
	return d;
}

int spf_check_domain(const char *domain, const char *sender,
                     const unsigned char *ip, size_t ip_len,
                     spf_lookup_fn lookup, void *ctx, struct spf_check *out,
                     struct err *e)
{
	memset(out, 0, sizeof *out);
	if (ip_len != 0 && ip_len != 4 && ip_len != 16)
		return err_set(e, EX_SOFTWARE,
		               "an SPF check for an address of %zu bytes",
		               ip_len);
	char *top = domain ? normalize_domain(domain) : NULL;
	if (!top) {
		struct buf shown = BUF_INIT;
		if (domain && strlen(domain) > SPF_MAX_QUOTE) {
			char *cut = xstrndup(domain, SPF_MAX_QUOTE);
			append_clean(&shown, cut);
			buf_add_str(&shown, "...");
			free(cut);
		} else if (domain) {
			append_clean(&shown, domain);
		}
		int rc = err_set(e, EX_DATAERR,
		                 "'%s' is not a domain whose SPF record can be "
		                 "looked up (RFC 7208 4.3)",
		                 buf_str(&shown));
		buf_free(&shown);
		return rc;
	}
	/* RFC 7208 5: an IPv4-mapped IPv6 address is the IPv4 client */
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
	                                         0, 0, 0, 0, 0xff, 0xff};
	if (ip_len == 16 && memcmp(ip, mapped, sizeof mapped) == 0) {
		ip += sizeof mapped;
		ip_len = 4;
	}
	struct buf postmaster = BUF_INIT;
	if (!sender)
		buf_printf(&postmaster, "postmaster@%s", top);
	struct spf_macro_env env = {
	    .sender = sender ? sender : buf_str(&postmaster),
	    .domain = top,
	    .ip = ip_len ? ip : NULL,
	    .ip_len = ip_len,
	};
	struct cache cache = {lookup, ctx, NULL, 0};
	struct eval walk;
	eval_init(&walk, &cache, true, &env, out);
	out->default_result = run(&walk, top);
	out->status = walk.status;
	out->problem = walk.problem;
	out->problem_domain = walk.problem_domain;
	out->lookups = walk.lookups;
	out->void_lookups = walk.voids;
	walk.problem = walk.problem_domain = NULL;
	eval_free(&walk);
	if (ip_len) {
		struct eval check;
		eval_init(&check, &cache, false, &env, out);
		out->has_ip = true;
		out->ip_result = run(&check, top);
		out->ip_lookups = check.lookups;
		if (out->ip_result == SPF_RESULT_TEMPERROR ||
		    out->ip_result == SPF_RESULT_PERMERROR) {
			out->ip_problem = check.problem;
			check.problem = NULL;
		}
		eval_free(&check);
	}
	cache_free(&cache);
	buf_free(&postmaster);
	free(top);
	return EX_OK;
}

bool spf_check_includes(const struct spf_check *c, const char *domain)
{
	if (!domain)
		return false;
	size_t n = strlen(domain);
	if (n > 1 && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < c->include_count; i++)
		if (strlen(c->includes[i]) == n &&
		    ascii_ncasecmp(c->includes[i], domain, n) == 0)
			return true;
	return false;
}

void spf_check_free(struct spf_check *c)
{
	free(c->problem);
	free(c->problem_domain);
	free(c->record);
	for (size_t i = 0; i < c->include_count; i++)
		free(c->includes[i]);
	free(c->includes);
	free(c->skipped_note);
	free(c->ip_problem);
	memset(c, 0, sizeof *c);
}
