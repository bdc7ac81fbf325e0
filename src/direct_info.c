/* direct_info.c - --serverinfo for direct delivery; see direct_info.h. */
#include "direct_info.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "direct.h"
#include "direct_route.h"
#include "dns.h"
#include "mta_sts_fetch.h"
#include "sanitize.h"
#include "serverinfo.h"
#include "util.h"

static const char *tls_words(enum mx_tls tls)
{
	switch (tls) {
	case MX_TLS_NONE:
		return "no TLS";
	case MX_TLS_MAY:
		return "opportunistic STARTTLS (used when offered, not "
		       "verified)";
	case MX_TLS_ENCRYPT:
		return "STARTTLS required, certificate not verified";
	case MX_TLS_VERIFY:
		return "STARTTLS required, certificate verified for the MX "
		       "name (MTA-STS enforce)";
	case MX_TLS_VERIFY_TESTING:
		return "STARTTLS with the certificate checked for the MX name; "
		       "delivered anyway when not (MTA-STS testing)";
	case MX_TLS_DANE:
		return "STARTTLS required, certificate matched against the "
		       "TLSA records (DANE)";
	}
	return "";
}

static void add_address(struct buf *out, const struct route_address *ad)
{
	char text[INET6_ADDRSTRLEN] = "?";
	inet_ntop(ad->len == 16 ? AF_INET6 : AF_INET, ad->bytes, text,
	          sizeof text);
	buf_add_str(out, text);
}

static void describe_policy(const struct mta_sts_policy *p, struct buf *out)
{
	if (p->mode == MTA_STS_NONE) {
		buf_add_str(out, "    MTA-STS: no policy\n");
		return;
	}
	buf_printf(out, "    MTA-STS: policy id %s, mode %s, max_age %ld s, "
	           "%s\n", p->id ? p->id : "?",
	           p->mode == MTA_STS_ENFORCE ? "enforce" : "testing",
	           p->max_age, p->from_cache ? "from the cache" : "fetched");
	for (size_t i = 0; i < p->mx_count; i++)
		buf_printf(out, "        mx: %s\n", p->mx[i]);
}

static void describe_host(const struct route_host *h, struct buf *out)
{
	buf_printf(out, "    MX %u %s\n", (unsigned)h->preference, h->name);
	if (h->address_count) {
		buf_add_str(out, "        addresses: ");
		for (size_t i = 0; i < h->address_count; i++) {
			if (i)
				buf_add_str(out, ", ");
			add_address(out, &h->addresses[i]);
		}
		buf_add_char(out, '\n');
	}
	for (size_t i = 0; i < h->tlsa.count; i++) {
		char *text = dane_tlsa_describe(&h->tlsa.items[i]);
		buf_printf(out, "        TLSA _25._tcp.%s: %s\n",
		           h->dane_name_count ? h->dane_names[0] : h->name,
		           text);
		free(text);
	}
	if (h->skip) {
		buf_add_str(out, "        not tried: ");
		sanitize_append_line(out, h->skip, strlen(h->skip));
		buf_add_char(out, '\n');
	} else {
		buf_printf(out, "        TLS: %s\n", tls_words(h->tls));
	}
}

static void describe_route(const struct route *route, struct buf *out)
{
	buf_printf(out, "Domain %s:\n", route->domain);
	if (route->status != ROUTE_OK && !route->host_count) {
		buf_add_str(out, "    ");
		sanitize_append_line(out, route->reason, strlen(route->reason));
		buf_add_char(out, '\n');
	}
	if (route->host_count)
		buf_printf(out, "    MX records%s: %s\n",
		           route->implicit_mx ? " (none: the domain itself "
		                                "is the implicit MX)"
		                              : "",
		           route->mx_signed ? "DNSSEC-signed (AD)"
		                            : "not DNSSEC-signed");
	describe_policy(&route->policy, out);
	for (size_t i = 0; i < route->host_count; i++)
		describe_host(&route->hosts[i], out);
	if (route->notes.len) {
		buf_add_str(out, "    Notes:\n");
		const char *p = buf_str(&route->notes);
		while (*p) {
			size_t n = strcspn(p, "\n");
			buf_add_str(out, "        ");
			sanitize_append_line(out, p, n);
			buf_add_char(out, '\n');
			p += n + (p[n] == '\n');
		}
	}
}

static const char *verified_words(const struct session *s)
{
	if (!s->tls)
		return "without TLS";
	if (s->peer.dane)
		return "over TLS, certificate verified by DANE";
	if (s->peer.verified)
		return "over TLS, certificate verified for the MX name";
	return "over TLS, certificate not verified (opportunistic)";
}

/* Connect to the first host that answers, as a delivery would. */
static int probe_route(const struct account *a, struct route *route,
                       const struct session_trace *trace, struct buf *out,
                       struct buf *warnings, struct err *e)
{
	struct buf last = BUF_INIT;
	for (size_t i = 0; i < route->host_count; i++) {
		struct route_host *h = &route->hosts[i];
		if (h->skip)
			continue;
		for (size_t k = 0; k < h->address_count; k++) {
			struct session s;
			struct err he = ERR_INIT;
			if (direct_open_host(a, route, h, k, trace, &s, warnings,
			                     &he) != EX_OK) {
				buf_printf(out, "    %s: ", h->name);
				sanitize_append_line(out, err_msg(&he),
				                     strlen(err_msg(&he)));
				buf_add_char(out, '\n');
				buf_reset(&last);
				buf_add_str(&last, err_msg(&he));
				err_clear(&he);
				continue;
			}
			buf_add_char(out, '\n');
			serverinfo_describe_session(&s, "MX host", out);
			buf_printf(out, "outbox would deliver mail for %s to %s "
			           "%s.\n\n", route->domain,
			           conn_peer_name(s.conn), verified_words(&s));
			session_close(&s, true);
			buf_free(&last);
			return EX_OK;
		}
	}
	int rc = err_set(e, EX_TEMPFAIL, "no MX host of %s can be used now%s%s",
	                 route->domain, last.len ? ": " : "", buf_str(&last));
	buf_printf(out, "outbox would defer mail for %s: no MX host can be "
	           "used now.\n\n", route->domain);
	buf_free(&last);
	return rc;
}

static int info_domain(const struct account *a, struct dns_resolver *r,
                       const struct mta_sts_settings *sts, const char *domain,
                       const struct session_trace *trace, struct buf *out,
                       struct buf *warnings, struct err *e)
{
	uint64_t seed = 0;
	random_bytes(&seed, sizeof seed);
	struct route route;
	int rc = direct_route_find(r, a, a->mta_sts ? sts : NULL, domain, seed,
	                           &route, e);
	if (rc == EX_OK)
		for (size_t i = 0; i < route.host_count; i++)
			direct_route_resolve_host(r, a, &route,
			                          &route.hosts[i]);
	if (rc == EX_OK)
		describe_route(&route, out);
	if (rc == EX_OK && route.status != ROUTE_OK) {
		rc = err_set(e, route.status == ROUTE_PERMFAIL ? EX_UNAVAILABLE
		                                               : EX_TEMPFAIL,
		             "mail for %s %s: %s", domain,
		             route.status == ROUTE_PERMFAIL ? "cannot be "
		                                              "delivered"
		                                            : "would be "
		                                              "deferred",
		             route.reason);
		buf_printf(out, "outbox would %s mail for %s.\n\n",
		           route.status == ROUTE_PERMFAIL ? "refuse" : "defer",
		           domain);
	} else if (rc == EX_OK) {
		rc = probe_route(a, &route, trace, out, warnings, e);
	}
	direct_route_free(&route);
	return rc;
}

/* Letters, digits, '-', '_' and dots between non-empty labels. */
static bool is_host_name(const char *name)
{
	size_t label = 0;
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		           *p == '-' || *p == '_') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* The domain to look at: an operand as given (IDN to A-label), lower
 * case, without a trailing dot; or the account's from's. */
static char *domain_argument(const char *arg, struct err *e)
{
	struct buf mailbox = BUF_INIT;
	const char *at = strrchr(arg, '@');
	buf_printf(&mailbox, "postmaster@%s", at ? at + 1 : arg);
	char *ascii = NULL;
	int rc = addr_domain_to_ascii(buf_str(&mailbox), &ascii, e);
	buf_free(&mailbox);
	if (rc != EX_OK)
		return NULL;
	char *domain = xstrdup(strrchr(ascii, '@') + 1);
	free(ascii);
	size_t len = strlen(domain);
	for (size_t i = 0; i < len; i++)
		if (domain[i] >= 'A' && domain[i] <= 'Z')
			domain[i] = (char)(domain[i] - 'A' + 'a');
	if (len && domain[len - 1] == '.')
		domain[len - 1] = '\0';
	if (!is_host_name(domain)) {
		err_set(e, EX_USAGE, "'%s' is not a domain name", arg);
		free(domain);
		return NULL;
	}
	return domain;
}

int direct_info_run(const struct account *a, char *const *domains,
                    size_t count, const struct session_trace *trace,
                    struct buf *out, struct buf *warnings, struct err *e)
{
	const char *from_domain = a->from ? strrchr(a->from, '@') : NULL;
	char *const fallback[] = {(char *)(from_domain ? from_domain + 1 : "")};
	if (count == 0 && from_domain) {
		domains = fallback;
		count = 1;
	}
	if (count == 0)
		return err_set(e, EX_USAGE, "the account '%s' delivers directly: "
		               "name the domains to look at (outbox --serverinfo "
		               "example.org)", a->name);
	struct dns_resolver *r = NULL;
	int rc = dns_resolver_open(&r, a->timeout > 0 ? a->timeout
	                                              : CONF_DEFAULT_TIMEOUT,
	                           e);
	char *cache_dir = mta_sts_cache_dir(a->env);
	struct mta_sts_settings sts = {
		.cache_dir = cache_dir,
		.trust_file = a->tls_trust_file,
		.crl_file = a->tls_crl_file,
		.source_ip = a->source_ip,
		.timeout = a->timeout,
	};
	if (rc == EX_OK)
		buf_printf(out, "Direct delivery (account '%s'), EHLO %s; DNSSEC "
		           "answers %s\n\n", a->name, a->domain,
		           dns_resolver_trusts_ad(r)
		                   ? "trusted (options trust-ad): DANE is used"
		                   : "not trusted (no 'options trust-ad' in "
		                     "/etc/resolv.conf): DANE is not used");
	int first = EX_OK;
	struct err first_err = ERR_INIT;
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		char *domain = domain_argument(domains[i], e);
		if (!domain) {
			rc = e->code;
			break;
		}
		struct err de = ERR_INIT;
		int drc = info_domain(a, r, &sts, domain, trace, out, warnings,
		                      &de);
		if (drc == EX_CONFIG || drc == EX_USAGE) {
			rc = err_set(e, drc, "%s", err_msg(&de));
		} else if (drc != EX_OK && first == EX_OK) {
			first = drc;
			err_set(&first_err, drc, "%s", err_msg(&de));
		}
		err_clear(&de);
		free(domain);
	}
	if (rc == EX_OK && first != EX_OK)
		rc = err_set(e, first, "%s", err_msg(&first_err));
	err_clear(&first_err);
	free(cache_dir);
	dns_resolver_close(r);
	return rc;
}
