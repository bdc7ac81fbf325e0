/* fuzz_spf.c - libFuzzer target for SPF (spf.h): the record parser, the
 * canonical form, macro expansion and spf_check_domain over zones built
 * from the input.
 *
 * The first byte picks what the rest is:
 *  0  a record: spf_parse; an accepted record has at most SPF_MAX_TERMS
 *     mechanisms, qualifiers and types in range, addresses of the right
 *     length (4 for ip4, 16 for ip6, none otherwise), prefixes in range
 *     and only where they belong, a domain-spec exactly where the
 *     mechanism takes one; it formats (spf_record_format) to a record
 *     that parses back equal and formats the same; every domain-spec
 *     expands (spf_expand_domain, with a client address) to a lower-case
 *     host name of two or more labels within SPF_MAX_DOMAIN, or is refused
 *     with EX_DATAERR and a clean sentence. A refusal is EX_DATAERR with a
 *     clean, bounded sentence and an empty record;
 *  1  a zone generated from the bytes: names from a small table, each
 *     with SPF records made of terms drawn from every mechanism and
 *     modifier (names from the same table, macros, prefixes, addresses
 *     near the client's), junk records and terms, A, AAAA, MX and PTR
 *     records and DNS failures; then spf_check_domain for one of the
 *     names, with or without a client address and sender;
 *  2  a zone written as lines "NAME T VALUE" (T: T=TXT, A, 6=AAAA, M=MX,
 *     P=PTR, F=every lookup of NAME fails), checked for the first line's
 *     name;
 *  3  as 0, for "v=spf1 " and the rest (the terms, without the fuzzer
 *     having to find the version first).
 * For 1 and 2 the check terminates, asks no question twice and only valid
 * host names (at most MAX_QUESTIONS), and its report is consistent: a
 * problem sentence (clean) exactly when the status is not OK, the status
 * and the default result agree, lookups at most SPF_MAX_TREE_LOOKUPS and
 * past SPF_MAX_LOOKUPS only with TOO_MANY_LOOKUPS, void lookups past
 * SPF_MAX_VOID_LOOKUPS only with TOO_MANY_VOID, the evaluation's lookups
 * at most SPF_MAX_LOOKUPS + 1, includes valid names without duplicates,
 * no more than the lookups; and a second run reports the same. Leaks are
 * libFuzzer's to find. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns_parse.h"
#include "err.h"
#include "spf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* More questions than a check can ask: 1 + 10 terms of 11 lookups each,
 * twice, plus the TXT records counted past the limit. */
#define MAX_QUESTIONS 600

static void check_clean(const char *msg, size_t max)
{
	if (!msg || !*msg || strlen(msg) > max)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

/* ---- the parser ---------------------------------------------------------- */

static void check_mech(const struct spf_mech *m)
{
	if (m->q != SPF_PASS && m->q != SPF_FAIL && m->q != SPF_SOFTFAIL &&
	    m->q != SPF_NEUTRAL)
		abort();
	if (m->cidr4 < -1 || m->cidr4 > 32 || m->cidr6 < -1 || m->cidr6 > 128)
		abort();
	bool spec_required = m->type == SPF_INCLUDE || m->type == SPF_EXISTS;
	bool spec_allowed = spec_required || m->type == SPF_A ||
	                    m->type == SPF_MX || m->type == SPF_PTR;
	bool dual = m->type == SPF_A || m->type == SPF_MX;
	switch (m->type) {
	case SPF_ALL:
	case SPF_INCLUDE:
	case SPF_A:
	case SPF_MX:
	case SPF_PTR:
	case SPF_EXISTS:
		if (m->addr_len != 0)
			abort();
		break;
	case SPF_IP4:
		if (m->addr_len != 4 || m->cidr6 != -1)
			abort();
		break;
	case SPF_IP6:
		if (m->addr_len != 16 || m->cidr4 != -1)
			abort();
		break;
	default:
		abort();
	}
	if ((m->domain_spec && !spec_allowed) ||
	    (!m->domain_spec && spec_required))
		abort();
	if (!dual && m->type != SPF_IP4 && m->type != SPF_IP6 &&
	    (m->cidr4 != -1 || m->cidr6 != -1))
		abort();
	if (m->domain_spec && !*m->domain_spec)
		abort();
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool records_equal(const struct spf_record *a,
                          const struct spf_record *b)
{
	if (a->count != b->count || !same_string(a->redirect, b->redirect) ||
	    !same_string(a->exp, b->exp) ||
	    a->unknown_modifiers != b->unknown_modifiers)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const struct spf_mech *x = &a->mechs[i], *y = &b->mechs[i];
		if (x->q != y->q || x->type != y->type ||
		    !same_string(x->domain_spec, y->domain_spec) ||
		    x->addr_len != y->addr_len ||
		    memcmp(x->addr, y->addr, sizeof x->addr) != 0 ||
		    x->cidr4 != y->cidr4 || x->cidr6 != y->cidr6)
			return false;
	}
	for (size_t i = 0; i < a->unknown_modifiers; i++)
		if (strcmp(a->unknown[i].name, b->unknown[i].name) ||
		    strcmp(a->unknown[i].value, b->unknown[i].value))
			return false;
	return true;
}

/* A name spf_expand_domain may hand out. */
static void check_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SPF_MAX_DOMAIN || !strchr(name, '.') ||
	    name[n - 1] == '.' || !dns_host_name_valid(name))
		abort();
	for (const char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

static void check_expansion(const char *spec)
{
	static const unsigned char ip[4] = {192, 0, 2, 7};
	struct spf_macro_env env = {
	    .sender = "first.last@sender.example",
	    .domain = "d.example",
	    .ip = ip,
	    .ip_len = sizeof ip,
	};
	char *name = NULL;
	struct err e = ERR_INIT;
	int rc = spf_expand_domain(spec, &env, &name, &e);
	if (rc == EX_OK) {
		check_name(name);
		free(name);
		return;
	}
	if (rc != EX_DATAERR || name)
		abort();
	check_clean(err_msg(&e), 400);
	err_clear(&e);
}

static void fuzz_parse(const char *text, size_t n)
{
	struct spf_record r;
	struct err e = ERR_INIT;
	int rc = spf_parse(text, n, &r, &e);
	if (rc != EX_OK) {
		/* a quoted term: 4 bytes for each of SPF_MAX_QUOTE */
		check_clean(err_msg(&e), 4 * SPF_MAX_QUOTE + 300);
		if (rc != EX_DATAERR || r.mechs || r.count || r.redirect ||
		    r.exp || r.unknown || r.unknown_modifiers)
			abort();
		err_clear(&e);
		return;
	}
	if (!spf_is_record(text, n) || r.count > SPF_MAX_TERMS ||
	    r.count + r.unknown_modifiers + (r.redirect != NULL) +
	            (r.exp != NULL) >
	        SPF_MAX_TERMS)
		abort();
	for (size_t i = 0; i < r.count; i++) {
		check_mech(&r.mechs[i]);
		if (r.mechs[i].domain_spec)
			check_expansion(r.mechs[i].domain_spec);
	}
	if (r.redirect)
		check_expansion(r.redirect);
	/* the canonical form: longer than the input at most by what
	 * dropping "+" and spaces cannot make up for, IPv6 addresses
	 * written out; it may pass SPF_MAX_RECORD, then it is not read */
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	spf_record_format(&r, &b);
	struct spf_record again;
	if (b.len <= SPF_MAX_RECORD) {
		if (spf_parse(b.data, b.len, &again, &e) != EX_OK ||
		    !records_equal(&r, &again))
			abort();
		spf_record_format(&again, &b2);
		if (b.len != b2.len || memcmp(b.data, b2.data, b.len) != 0)
			abort();
		spf_record_free(&again);
	}
	buf_free(&b);
	buf_free(&b2);
	spf_record_free(&r);
}

/* ---- a zone -------------------------------------------------------------- */

struct zrr {
	char *name;
	uint16_t type; /* 0: every lookup of the name fails */
	char *value;
};

struct zone {
	struct zrr *rrs;
	size_t count;
	char *asked[MAX_QUESTIONS];
	size_t questions;
};

static void zone_add(struct zone *z, const char *name, uint16_t type,
                     const char *value, size_t value_len)
{
	z->rrs = xrealloc(z->rrs, (z->count + 1) * sizeof *z->rrs);
	z->rrs[z->count].name = xstrdup(name);
	z->rrs[z->count].type = type;
	z->rrs[z->count++].value = xstrndup(value, value_len);
}

static void zone_free(struct zone *z)
{
	for (size_t i = 0; i < z->count; i++) {
		free(z->rrs[i].name);
		free(z->rrs[i].value);
	}
	free(z->rrs);
	for (size_t i = 0; i < z->questions; i++)
		free(z->asked[i]);
	memset(z, 0, sizeof *z);
}

/* A record of the asked type, from a value; false to leave it out. */
static bool fill(struct dns_record *r, uint16_t type, const char *v)
{
	r->type = type;
	switch (type) {
	case DNS_T_TXT:
		r->data = (unsigned char *)xstrdup(v);
		r->data_len = strlen(v);
		return true;
	case DNS_T_A:
		r->addr_len = 4;
		return inet_pton(AF_INET, v, r->addr) == 1;
	case DNS_T_AAAA:
		r->addr_len = 16;
		return inet_pton(AF_INET6, v, r->addr) == 1;
	case DNS_T_MX:
	case DNS_T_PTR:
		r->name = xstrdup(v);
		return true;
	}
	return false;
}

static int zone_lookup(void *ctx, const char *name, uint16_t type,
                       struct dns_result *out, struct err *e)
{
	struct zone *z = ctx;
	/* only host names, each question once, a bounded number */
	if (!dns_host_name_valid(name) || z->questions >= MAX_QUESTIONS)
		abort();
	struct buf q = BUF_INIT;
	buf_printf(&q, "%u %s", type, name);
	for (size_t i = 0; i < z->questions; i++)
		if (strcmp(z->asked[i], buf_str(&q)) == 0)
			abort();
	z->asked[z->questions++] = buf_steal(&q);

	memset(out, 0, sizeof *out);
	bool exists = false;
	size_t count = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (ascii_casecmp(z->rrs[i].name, name) != 0)
			continue;
		exists = true;
		if (z->rrs[i].type == 0) {
			out->status = DNS_TEMPFAIL;
			out->rcode = -1;
			return err_set(e, EX_TEMPFAIL,
			               "DNS lookup of %s failed\t(\x1b[31m)",
			               name);
		}
		count += z->rrs[i].type == type;
	}
	out->records = xcalloc(count ? count : 1, sizeof *out->records);
	for (size_t i = 0; i < z->count; i++) {
		struct dns_record *r = &out->records[out->count];
		if (z->rrs[i].type != type ||
		    ascii_casecmp(z->rrs[i].name, name) != 0)
			continue;
		if (fill(r, type, z->rrs[i].value)) {
			out->count++;
		} else {
			free(r->name);
			free(r->data);
			memset(r, 0, sizeof *r);
		}
	}
	out->status = out->count ? DNS_FOUND
	              : exists   ? DNS_NODATA
	                         : DNS_NXDOMAIN;
	return EX_OK;
}

/* ---- checking a zone ----------------------------------------------------- */

static enum spf_result status_result(enum spf_status s,
                                     enum spf_result fallback)
{
	switch (s) {
	case SPF_STATUS_OK:
		return fallback;
	case SPF_STATUS_NONE:
		return SPF_RESULT_NONE;
	case SPF_STATUS_TEMPFAIL:
		return SPF_RESULT_TEMPERROR;
	default:
		return SPF_RESULT_PERMERROR;
	}
}

static void check_report(const struct spf_check *c, bool has_ip)
{
	if (c->status > SPF_STATUS_TEMPFAIL ||
	    c->default_result > SPF_RESULT_PERMERROR ||
	    c->ip_result > SPF_RESULT_PERMERROR)
		abort();
	if (c->status == SPF_STATUS_OK) {
		if (c->problem || c->problem_domain ||
		    c->default_result == SPF_RESULT_NONE ||
		    c->default_result == SPF_RESULT_TEMPERROR ||
		    c->default_result == SPF_RESULT_PERMERROR)
			abort();
	} else {
		check_clean(c->problem, 4000);
		if (!c->problem_domain ||
		    !dns_host_name_valid(c->problem_domain))
			abort();
	}
	if (c->default_result != status_result(c->status, c->default_result))
		abort();
	if (c->lookups > SPF_MAX_TREE_LOOKUPS ||
	    (c->lookups > SPF_MAX_LOOKUPS) !=
	        (c->status == SPF_STATUS_TOO_MANY_LOOKUPS) ||
	    c->void_lookups > SPF_MAX_VOID_LOOKUPS + 1 ||
	    (c->void_lookups > SPF_MAX_VOID_LOOKUPS) !=
	        (c->status == SPF_STATUS_TOO_MANY_VOID) ||
	    c->ip_lookups > SPF_MAX_LOOKUPS + 1 ||
	    c->include_count > c->lookups)
		abort();
	for (size_t i = 0; i < c->include_count; i++) {
		check_name(c->includes[i]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->includes[i], c->includes[k]) == 0)
				abort();
		if (!spf_check_includes(c, c->includes[i]))
			abort();
	}
	if (c->has_ip != has_ip || (!has_ip && (c->ip_result || c->ip_lookups)))
		abort();
	bool ip_error = c->ip_result == SPF_RESULT_TEMPERROR ||
	                c->ip_result == SPF_RESULT_PERMERROR;
	if ((c->ip_problem != NULL) != (has_ip && ip_error))
		abort();
	if (c->ip_problem)
		check_clean(c->ip_problem, 4000);
	/* no record at the top: the evaluation finds none either */
	if (c->status == SPF_STATUS_NONE && has_ip &&
	    c->ip_result != SPF_RESULT_NONE)
		abort();
	if ((c->skipped == 0) != (c->skipped_note == NULL))
		abort();
	if (c->skipped_note)
		check_clean(c->skipped_note, 4000);
	if (c->record) {
		if (!spf_is_record(c->record, strlen(c->record)))
			abort();
		check_clean(c->record, SPF_MAX_RECORD);
	}
	if (c->has_all && c->all_qualifier != SPF_PASS &&
	    c->all_qualifier != SPF_FAIL && c->all_qualifier != SPF_SOFTFAIL &&
	    c->all_qualifier != SPF_NEUTRAL)
		abort();
}

static bool same_report(const struct spf_check *a, const struct spf_check *b)
{
	return a->status == b->status && a->lookups == b->lookups &&
	       a->void_lookups == b->void_lookups &&
	       a->default_result == b->default_result &&
	       a->ip_result == b->ip_result && a->ip_lookups == b->ip_lookups &&
	       a->include_count == b->include_count &&
	       a->has_all == b->has_all && a->skipped == b->skipped &&
	       same_string(a->problem, b->problem) &&
	       same_string(a->ip_problem, b->ip_problem);
}

static void check_zone(struct zone *z, const char *domain,
                       const char *sender, const unsigned char *ip,
                       size_t ip_len)
{
	struct spf_check c, again;
	struct err e = ERR_INIT;
	if (spf_check_domain(domain, sender, ip, ip_len, zone_lookup, z, &c,
	                     &e) != EX_OK)
		abort();
	check_report(&c, ip_len != 0);
	for (size_t i = 0; i < z->questions; i++)
		free(z->asked[i]);
	z->questions = 0;
	if (spf_check_domain(domain, sender, ip, ip_len, zone_lookup, z,
	                     &again, &e) != EX_OK ||
	    !same_report(&c, &again))
		abort();
	spf_check_free(&again);
	spf_check_free(&c);
	spf_check_free(&c);
}

/* ---- a zone from the bytes ----------------------------------------------- */

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

#define PICK(b, table) (table)[take(b) % (sizeof(table) / sizeof *(table))]

static const char *const names[] = {
    "a.example",      "b.example",   "c.example",
    "_spf.a.example", "mx.a.example", "x.b.example",
    "e.example",      "7.2.0.192._s.a.example",
};

static const char *const specs[] = {
    "a.example",      "b.example",        "c.example",
    "_spf.a.example", "mx.a.example",     "x.b.example",
    "e.example",      "%{d}",             "%{i}._s.a.example",
    "%{l}.a.example", "%{o}",             "%{d2}",
    "%{ir}.%{v}._s.a.example", "_spf.%{d}", "%{h}",
    "missing.example", "A.EXAMPLE.",      "%{p}.a.example",
    "%{l-}.%{d}",     "%{d1}",            "%{S}.a.example",
};

static const char *const addresses4[] = {
    "192.0.2.7", "192.0.2.8", "192.0.2.0", "198.51.100.1", "0.0.0.0",
};

static const char *const addresses6[] = {
    "2001:db8::7", "2001:db8::8", "::", "::ffff:192.0.2.7", "2001:db9::1",
};

static const char *const junk_terms[] = {
    "ip4:1.2.3", "foo", "a:%{x}", "redirect=", "include", "a/33",
    "ip6:2001:db8:::1", "mx:com", "exists", "-", "all:x", "x=%",
};

static void add_qualifier(struct bytes *b, struct buf *r)
{
	static const char *const q[] = {"", "+", "-", "~", "?"};
	buf_add_str(r, PICK(b, q));
}

static void add_cidr(struct bytes *b, struct buf *r, bool dual)
{
	unsigned f = take(b);
	if (f & 1)
		buf_printf(r, "/%u", take(b) % 34);
	if (dual && (f & 2))
		buf_printf(r, "//%u", take(b) % 130);
}

static void add_term(struct bytes *b, struct buf *r)
{
	unsigned kind = take(b) % 13;
	buf_add_char(r, ' ');
	if (kind <= 7)
		add_qualifier(b, r);
	switch (kind) {
	case 0:
		buf_add_str(r, "all");
		break;
	case 1:
		buf_printf(r, "include:%s", PICK(b, specs));
		break;
	case 2:
	case 3:
		buf_add_str(r, kind == 2 ? "a" : "mx");
		if (take(b) & 1)
			buf_printf(r, ":%s", PICK(b, specs));
		add_cidr(b, r, true);
		break;
	case 4:
		buf_add_str(r, "ptr");
		if (take(b) & 1)
			buf_printf(r, ":%s", PICK(b, specs));
		break;
	case 5:
		buf_printf(r, "ip4:%s", PICK(b, addresses4));
		if (take(b) & 1)
			buf_printf(r, "/%u", take(b) % 33);
		break;
	case 6:
		buf_printf(r, "ip6:%s", PICK(b, addresses6));
		if (take(b) & 1)
			buf_printf(r, "/%u", take(b) % 129);
		break;
	case 7:
		buf_printf(r, "exists:%s", PICK(b, specs));
		break;
	case 8:
		buf_printf(r, "redirect=%s", PICK(b, specs));
		break;
	case 9:
		buf_printf(r, "exp=%s", PICK(b, specs));
		break;
	case 10:
		buf_add_str(r, "note=%{d}");
		break;
	case 11:
		buf_add_str(r, PICK(b, junk_terms));
		break;
	default:
		buf_printf(r, "include:%s", PICK(b, names));
	}
}

static void add_spf(struct bytes *b, struct zone *z, const char *name)
{
	static const char *const versions[] = {"v=spf1", "V=SPF1", "v=spf1",
	                                       "v=spf10", "spf2.0/pra"};
	struct buf r = BUF_INIT;
	buf_add_str(&r, PICK(b, versions));
	size_t terms = take(b) % 16;
	for (size_t i = 0; i < terms && b->n > 0; i++)
		add_term(b, &r);
	zone_add(z, name, DNS_T_TXT, r.data ? r.data : "", r.len);
	buf_free(&r);
}

static void build_name(struct bytes *b, struct zone *z, const char *name)
{
	unsigned f = take(b);
	size_t txt = f & 3;
	for (size_t i = 0; i < txt; i++)
		add_spf(b, z, name);
	if (f & 4)
		zone_add(z, name, DNS_T_TXT, "other=text", 10);
	if (f & 8) {
		const char *a = PICK(b, addresses4);
		zone_add(z, name, DNS_T_A, a, strlen(a));
	}
	if (f & 16) {
		const char *a = PICK(b, addresses6);
		zone_add(z, name, DNS_T_AAAA, a, strlen(a));
	}
	if (f & 32) {
		size_t mx = 1 + take(b) % 12;
		for (size_t i = 0; i < mx; i++) {
			const char *host = take(b) % 8 ? PICK(b, names) : "";
			zone_add(z, name, DNS_T_MX, host, strlen(host));
		}
	}
	if ((f & 192) == 192)
		zone_add(z, name, 0, "", 0); /* every lookup fails */
}

static void fuzz_generated(struct bytes b)
{
	struct zone z = {0};
	unsigned flags = take(&b);
	unsigned char ip[16] = {0};
	size_t ip_len = 0;
	if (flags & 1) {
		const char *text = flags & 2 ? PICK(&b, addresses6)
		                             : PICK(&b, addresses4);
		bool v6 = strchr(text, ':') != NULL;
		inet_pton(v6 ? AF_INET6 : AF_INET, text, ip);
		ip_len = v6 ? 16 : 4;
		/* the client's PTR names */
		char *reverse = dns_reverse_name(ip, ip_len);
		size_t ptrs = take(&b) % 3;
		for (size_t i = 0; i < ptrs; i++) {
			const char *to = PICK(&b, names);
			zone_add(&z, reverse, DNS_T_PTR, to, strlen(to));
		}
		free(reverse);
	}
	for (size_t i = 0; i < sizeof names / sizeof *names && b.n > 0; i++)
		build_name(&b, &z, names[i]);
	const char *sender = flags & 4 ? "first.last@sender.example" : NULL;
	check_zone(&z, PICK(&b, names), sender, ip, ip_len);
	zone_free(&z);
}

/* ---- a zone in lines ----------------------------------------------------- */

static void fuzz_lines(const char *text, size_t n)
{
	struct zone z = {0};
	char *domain = NULL;
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - text) : n;
		const char *line = text + pos;
		size_t len = end - pos;
		pos = nl ? end + 1 : n;
		const char *sp = memchr(line, ' ', len);
		if (!sp || (size_t)(sp - line) + 2 > len)
			continue;
		char *name = xstrndup(line, (size_t)(sp - line));
		char t = sp[1];
		const char *value = sp + 2 + ((size_t)(sp - line) + 2 < len);
		size_t vlen = len - (size_t)(value - line);
		uint16_t type = t == 'T'   ? DNS_T_TXT
		                : t == 'A' ? DNS_T_A
		                : t == '6' ? DNS_T_AAAA
		                : t == 'M' ? DNS_T_MX
		                : t == 'P' ? DNS_T_PTR
		                           : 0;
		if (type || t == 'F')
			zone_add(&z, name, type, value, vlen);
		if (!domain)
			domain = name;
		else
			free(name);
	}
	/* spf_check_domain takes a host name of two labels or more, a
	 * trailing dot aside, and refuses anything else */
	static const unsigned char ip[4] = {192, 0, 2, 7};
	size_t dn = domain ? strlen(domain) : 0;
	if (dn > 1 && domain[dn - 1] == '.')
		dn--;
	if (domain && dns_host_name_valid(domain) && memchr(domain, '.', dn))
		check_zone(&z, domain, "u@a.example", ip, sizeof ip);
	else if (domain) {
		struct spf_check c;
		struct err e = ERR_INIT;
		if (spf_check_domain(domain, NULL, NULL, 0, zone_lookup, &z,
		                     &c, &e) != EX_DATAERR ||
		    z.questions != 0)
			abort();
		check_clean(err_msg(&e), 4 * 300);
		err_clear(&e);
	}
	free(domain);
	zone_free(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0:
		fuzz_parse(text, n);
		break;
	case 1:
		fuzz_generated((struct bytes){data + 1, n});
		break;
	case 2:
		fuzz_lines(text, n);
		break;
	default: {
		/* terms after a version the fuzzer need not find */
		struct buf b = BUF_INIT;
		buf_add_str(&b, "v=spf1 ");
		buf_add(&b, text, n);
		fuzz_parse(b.data, b.len);
		buf_free(&b);
	}
	}
	return 0;
}
