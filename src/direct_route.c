/* direct_route.c - MX, MTA-STS and DANE for one domain; see
 * direct_route.h. */
#include "direct_route.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "util.h"

/* ---- ordering (pure) ---------------------------------------------------- */

/* splitmix64: a small, well-mixed generator; the order only has to be
 * unpredictable enough to spread the load (RFC 5321 5.1). */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int by_preference(const void *x, const void *y)
{
	const struct dns_record *a = x, *b = y;
	return (a->preference > b->preference) -
	       (a->preference < b->preference);
}

void direct_route_order(struct dns_record *mx, size_t n, uint64_t seed)
{
	if (n < 2)
		return;
	qsort(mx, n, sizeof *mx, by_preference);
	/* RFC 5321 5.1: hosts of equal preference in random order
	 * (Fisher-Yates within each run of equal preferences). */
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;
		while (end < n && mx[end].preference == mx[start].preference)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + (size_t)(next_random(&seed) %
			                            (uint64_t)(i - start + 1));
			struct dns_record t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
		start = end;
	}
}

/* ---- the MX hosts ------------------------------------------------------- */

/* One line for -v and --serverinfo. */
__attribute__((format(printf, 2, 3))) static void
note(struct route *route, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct buf line = BUF_INIT;
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	sanitize_append_line(&route->notes, line.data, line.len);
	buf_add_char(&route->notes, '\n');
	buf_free(&line);
}

static int route_fail(struct route *route, enum route_status status,
                      const char *reason)
{
	route->status = status;
	free(route->reason);
	route->reason = xstrdup(reason);
	return EX_OK;
}

static void add_host(struct route *route, const char *name,
                     uint16_t preference)
{
	route->hosts = xrealloc(route->hosts,
	                        (route->host_count + 1) * sizeof *route->hosts);
	struct route_host *h = &route->hosts[route->host_count++];
	memset(h, 0, sizeof *h);
	h->name = xstrdup(name);
	h->preference = preference;
}

/* RFC 7505 3: a null MX is the single record "0 .". One mixed with real
 * ones is a publishing error: the others are used. */
static bool is_null_mx(const struct dns_result *mx)
{
	return mx->count == 1 && mx->records[0].name[0] == '\0';
}

static int mx_hosts_from_records(struct route *route, struct dns_result *mx,
                                 uint64_t seed)
{
	direct_route_order(mx->records, mx->count, seed);
	for (size_t i = 0; i < mx->count; i++) {
		if (mx->records[i].name[0] == '\0')
			continue;
		if (route->host_count == DIRECT_MAX_MX_HOSTS) {
			buf_printf(&route->notes, "only the first %d MX hosts "
			           "are tried\n", DIRECT_MAX_MX_HOSTS);
			break;
		}
		add_host(route, mx->records[i].name, mx->records[i].preference);
	}
	if (route->host_count == 0)
		return route_fail(route, ROUTE_TEMPFAIL,
		                  "its MX records name no usable host");
	return EX_OK;
}

static int find_mx_hosts(struct dns_resolver *r, struct route *route,
                         uint64_t seed)
{
	struct dns_result mx = {0};
	struct err e = ERR_INIT;
	int rc = dns_lookup(r, route->domain, DNS_T_MX, &mx, &e);
	if (rc != EX_OK) {
		route_fail(route, rc == EX_TEMPFAIL || rc == EX_UNAVAILABLE
		                          ? ROUTE_TEMPFAIL
		                          : ROUTE_PERMFAIL,
		           err_msg(&e));
	} else if (mx.status == DNS_NXDOMAIN) {
		/* RFC 5321 5.1: no such domain, nowhere to deliver */
		route_fail(route, ROUTE_PERMFAIL,
		           "the domain does not exist (DNS: NXDOMAIN)");
	} else if (mx.status == DNS_FOUND && is_null_mx(&mx)) {
		route_fail(route, ROUTE_PERMFAIL,
		           "the domain accepts no mail (it publishes a null "
		           "MX, RFC 7505)");
	} else if (mx.status == DNS_FOUND) {
		route->mx_signed = mx.authenticated;
		mx_hosts_from_records(route, &mx, seed);
	} else {
		/* RFC 5321 5.1: no MX records: the domain itself is the
		 * implicit MX, preference 0 (its A/AAAA are looked up like
		 * any host's). A CNAME is followed to its target. */
		route->implicit_mx = true;
		route->mx_signed = mx.authenticated;
		add_host(route, mx.canonical && *mx.canonical ? mx.canonical
		                                              : route->domain,
		         0);
	}
	dns_result_free(&mx);
	err_clear(&e);
	return EX_OK;
}

/* ---- MTA-STS ------------------------------------------------------------ */

static int find_policy(struct dns_resolver *r,
                       const struct mta_sts_settings *sts, struct route *route,
                       struct err *e)
{
	struct buf name = BUF_INIT;
	buf_printf(&name, "_mta-sts.%s", route->domain);
	struct dns_result txt = {0};
	struct err dns_err = ERR_INIT;
	int rc = dns_lookup(r, buf_str(&name), DNS_T_TXT, &txt, &dns_err);
	buf_free(&name);
	const char **records = xcalloc(txt.count + 1, sizeof *records);
	size_t *lengths = xcalloc(txt.count + 1, sizeof *lengths);
	for (size_t i = 0; i < txt.count; i++) {
		records[i] = (const char *)txt.records[i].data;
		lengths[i] = txt.records[i].data_len;
	}
	struct mta_sts_txt lookup = {
		.status = rc != EX_OK                 ? MTA_STS_DNS_TEMPFAIL
		          : txt.status == DNS_FOUND ? MTA_STS_DNS_FOUND
		                                    : MTA_STS_DNS_NONE,
		.records = records,
		.lengths = lengths,
		.count = txt.count,
	};
	if (rc != EX_OK)
		note(route, "MTA-STS: %s", err_msg(&dns_err));
	rc = mta_sts_get_policy(sts, route->domain, &lookup, (int64_t)time(NULL),
	                        &route->policy, &route->notes, e);
	free(records);
	free(lengths);
	dns_result_free(&txt);
	err_clear(&dns_err);
	return rc;
}

/* RFC 8461 4.1 and 5.1: with an enforce policy, only the MX hosts it
 * names are candidates; with testing, a mismatch is reported only. */
static void apply_policy(struct route *route)
{
	const struct mta_sts_policy *p = &route->policy;
	if (p->mode == MTA_STS_NONE)
		return;
	size_t allowed = 0;
	for (size_t i = 0; i < route->host_count; i++) {
		struct route_host *h = &route->hosts[i];
		if (mta_sts_mx_allowed(p, h->name)) {
			allowed++;
			continue;
		}
		if (p->mode == MTA_STS_ENFORCE) {
			h->skip = xstrdup("not an MX host of the domain's "
			                  "MTA-STS policy (mode enforce)");
		} else {
			note(route, "MTA-STS (testing): %s is not an MX host of "
			     "the policy; delivering anyway", h->name);
		}
	}
	if (allowed == 0 && p->mode == MTA_STS_ENFORCE)
		/* RFC 8461 5.1: no candidate: a temporary failure */
		route_fail(route, ROUTE_TEMPFAIL,
		           "none of its MX hosts matches its MTA-STS policy "
		           "(mode enforce)");
}

int direct_route_find(struct dns_resolver *r, const struct account *a,
                      const struct mta_sts_settings *sts, const char *domain,
                      uint64_t random_seed, struct route *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	out->domain = xstrdup(domain);
	out->status = ROUTE_OK;
	int rc = find_mx_hosts(r, out, random_seed);
	if (rc == EX_OK && out->status == ROUTE_OK && a->mta_sts && sts)
		rc = find_policy(r, sts, out, e);
	if (rc == EX_OK && out->status == ROUTE_OK)
		apply_policy(out);
	return rc;
}

/* ---- one host: addresses and DANE ---------------------------------------- */

static void add_addresses(struct route_host *h, const struct dns_result *res)
{
	for (size_t i = 0; i < res->count; i++) {
		if (h->address_count == DIRECT_MAX_ADDRESSES)
			return;
		const struct dns_record *rec = &res->records[i];
		struct route_address *ad = &h->addresses[h->address_count++];
		memcpy(ad->bytes, rec->addr, rec->addr_len);
		ad->len = rec->addr_len;
	}
}

static void host_skip(struct route_host *h, const char *why)
{
	free(h->skip);
	h->skip = xstrdup(why);
}

/* AAAA then A (RFC 5321 5.2 leaves the order to us; IPv6 first as most
 * MTAs do). *signed_out: both answers carried the AD bit. *canonical: the
 * name a CNAME led to, if any (heap). Returns false when a lookup failed
 * temporarily and nothing was found. */
static bool lookup_addresses(struct dns_resolver *r, struct route_host *h,
                             bool *signed_out, char **canonical)
{
	static const uint16_t types[] = {DNS_T_AAAA, DNS_T_A};
	h->addresses = xcalloc(DIRECT_MAX_ADDRESSES, sizeof *h->addresses);
	bool all_signed = true, failed = false;
	struct buf why = BUF_INIT;
	for (size_t t = 0; t < 2; t++) {
		struct dns_result res = {0};
		struct err e = ERR_INIT;
		if (dns_lookup(r, h->name, types[t], &res, &e) == EX_OK) {
			all_signed = all_signed && res.authenticated;
			add_addresses(h, &res);
			if (res.canonical &&
			    strcmp(res.canonical, h->name) != 0 && !*canonical)
				*canonical = xstrdup(res.canonical);
		} else {
			failed = true;
			all_signed = false;
			buf_reset(&why);
			buf_add_str(&why, err_msg(&e));
		}
		dns_result_free(&res);
		err_clear(&e);
	}
	*signed_out = all_signed;
	if (h->address_count == 0)
		host_skip(h, failed ? buf_str(&why) : "it has no address (no "
		                                      "A or AAAA record)");
	buf_free(&why);
	return h->address_count > 0;
}

/* RFC 7672 2.2.3: the TLSA base domain is the MX host's name, or the name
 * its CNAME chain led to (tried first) when that was signed too. */
static void set_dane_names(struct route_host *h, const char *canonical)
{
	h->dane_names = xcalloc(2, sizeof *h->dane_names);
	h->dane_name_count = 0;
	if (canonical)
		h->dane_names[h->dane_name_count++] = xstrdup(canonical);
	h->dane_names[h->dane_name_count++] = xstrdup(h->name);
}

/* TLSA at _25._tcp.NAME for each base domain in turn. Returns the
 * outcome: 1 records (signed) found, 0 none (or unsigned), -1 the lookup
 * failed (RFC 7672 2.2: that host must not be used). */
static int lookup_tlsa(struct dns_resolver *r, struct route_host *h,
                       struct dns_result *out, struct buf *why)
{
	for (size_t i = 0; i < h->dane_name_count; i++) {
		struct buf name = BUF_INIT;
		buf_printf(&name, "_25._tcp.%s", h->dane_names[i]);
		struct err e = ERR_INIT;
		memset(out, 0, sizeof *out);
		int rc = dns_lookup(r, buf_str(&name), DNS_T_TLSA, out, &e);
		buf_free(&name);
		if (rc != EX_OK) {
			buf_add_str(why, err_msg(&e));
			err_clear(&e);
			return -1;
		}
		err_clear(&e);
		if (out->status == DNS_FOUND && out->authenticated)
			return 1;
		dns_result_free(out);
	}
	return 0;
}

static void take_tlsa(struct route_host *h, const struct dns_result *res)
{
	struct dane_tlsa *in = xcalloc(res->count + 1, sizeof *in);
	for (size_t i = 0; i < res->count; i++)
		in[i] = (struct dane_tlsa){res->records[i].tlsa_usage,
		                           res->records[i].tlsa_selector,
		                           res->records[i].tlsa_mtype,
		                           res->records[i].data,
		                           res->records[i].data_len};
	dane_usable(in, res->count, &h->tlsa);
	free(in);
	/* RFC 7672 2.2: signed TLSA records that are all unusable still
	 * mean the server does TLS: encrypt, without authentication. */
	h->tls = h->tlsa.count > 0 ? MX_TLS_DANE : MX_TLS_ENCRYPT;
}

static enum mx_tls tls_without_dane(const struct account *a,
                                    const struct route *route)
{
	switch (route->policy.mode) {
	case MTA_STS_ENFORCE:
		return MX_TLS_VERIFY;
	case MTA_STS_TESTING:
		return MX_TLS_VERIFY_TESTING;
	default:
		return a->tls ? MX_TLS_ENCRYPT : MX_TLS_MAY;
	}
}

void direct_route_resolve_host(struct dns_resolver *r, const struct account *a,
                               const struct route *route,
                               struct route_host *h)
{
	if (h->resolved)
		return;
	h->resolved = true;
	h->tls = tls_without_dane(a, route);
	bool addresses_signed = false;
	char *canonical = NULL;
	if (!lookup_addresses(r, h, &addresses_signed, &canonical) ||
	    h->skip) {
		free(canonical);
		return;
	}
	/* RFC 7672 2.2.1 and 2.2.2: DANE only when the MX answer and the
	 * host's addresses were both signed, through a resolver we trust */
	if (!a->dane || !dns_resolver_trusts_ad(r) || !route->mx_signed ||
	    !addresses_signed) {
		free(canonical);
		return;
	}
	set_dane_names(h, canonical);
	free(canonical);
	struct dns_result tlsa = {0};
	struct buf why = BUF_INIT;
	int found = lookup_tlsa(r, h, &tlsa, &why);
	if (found < 0)
		host_skip(h, buf_str(&why));
	else if (found > 0)
		take_tlsa(h, &tlsa);
	dns_result_free(&tlsa);
	buf_free(&why);
}

void direct_route_free(struct route *route)
{
	for (size_t i = 0; i < route->host_count; i++) {
		struct route_host *h = &route->hosts[i];
		free(h->name);
		free(h->addresses);
		dane_tlsa_set_free(&h->tlsa);
		for (size_t j = 0; j < h->dane_name_count; j++)
			free(h->dane_names[j]);
		free(h->dane_names);
		free(h->skip);
	}
	free(route->hosts);
	free(route->domain);
	free(route->reason);
	mta_sts_policy_free(&route->policy);
	buf_free(&route->notes);
	memset(route, 0, sizeof *route);
}
