/* direct_route.h - where the mail for one recipient domain goes, and how
 * each hop must be protected: the MX lookup (RFC 5321 section 5.1, null
 * MX RFC 7505), the domain's MTA-STS policy (RFC 8461) and each MX host's
 * DANE TLSA records (RFC 7672).
 *
 * The route is found in two steps, so that a delivery that succeeds with
 * the first MX host never looks up the others:
 *  - direct_route_find: the MX records in the order they are to be tried
 *    (preference, random among equals), the MTA-STS policy, and the hosts
 *    that policy rules out (enforce);
 *  - direct_route_resolve_host: one host's addresses (AAAA, then A) and,
 *    when everything on the way was DNSSEC-signed and the resolver is
 *    trusted, its TLSA records; that decides the host's mx_tls.
 *
 * Precedence for one MX host (RFC 8461 section 2: DANE first):
 *   usable TLSA records, signed     -> MX_TLS_DANE
 *   signed TLSA records, none usable -> MX_TLS_ENCRYPT (RFC 7672 2.2:
 *                                       TLS is still mandatory)
 *   MTA-STS enforce                  -> MX_TLS_VERIFY (hosts outside the
 *                                       policy are not tried at all)
 *   MTA-STS testing                  -> MX_TLS_VERIFY_TESTING
 *   otherwise                        -> MX_TLS_MAY, or MX_TLS_ENCRYPT with
 *                                       the account's `tls on`.
 * Answers without the AD bit, or any AD bit when /etc/resolv.conf lacks
 * `options trust-ad`, count as unsigned: DANE then does not apply. */
#ifndef OUTBOX_DIRECT_ROUTE_H
#define OUTBOX_DIRECT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "dane.h"
#include "dns.h"
#include "err.h"
#include "mta_sts_fetch.h"
#include "session.h"

/* At most this many MX hosts of one domain are tried (Postfix's
 * smtp_mx_address_limit is 5 addresses; RFC 5321 5.1 asks for a limit). */
#define DIRECT_MAX_MX_HOSTS 10
/* At most this many addresses of one MX host. */
#define DIRECT_MAX_ADDRESSES 8

struct route_address {
	unsigned char bytes[16];
	size_t len; /* 4 or 16 */
};

struct route_host {
	char *name;          /* A-label, lower case, no trailing dot */
	uint16_t preference;
	bool resolved;       /* direct_route_resolve_host ran */
	/* after resolving: */
	struct route_address *addresses;
	size_t address_count;
	enum mx_tls tls;
	struct dane_tlsa_set tlsa;  /* MX_TLS_DANE: the usable records */
	char **dane_names;          /* the TLSA base domain(s) */
	size_t dane_name_count;
	/* non-NULL: not to be tried, and why (outside the MTA-STS policy,
	 * no address, a TLSA lookup that failed) */
	char *skip;
};

enum route_status {
	ROUTE_OK,        /* hosts to try */
	ROUTE_TEMPFAIL,  /* nothing to try now: a later attempt may do */
	ROUTE_PERMFAIL,  /* the domain takes no mail: no such domain, null MX */
};

struct route {
	char *domain;            /* A-label */
	enum route_status status;
	char *reason;            /* not ROUTE_OK: one sentence */
	bool implicit_mx;        /* no MX records: the domain itself */
	bool mx_signed;          /* the MX answer (or its denial) was signed */
	struct route_host *hosts; /* in the order to try */
	size_t host_count;
	struct mta_sts_policy policy; /* mode MTA_STS_NONE: none */
	struct buf notes;        /* lines for -v and --serverinfo */
};

/* Find the route for domain (an A-label): its MX hosts in the order to
 * try, the MTA-STS policy (a->mta_sts; sts gives the cache and trust, NULL
 * when off) and which hosts it rules out. out->status says whether there
 * is anything to try; EX_OK even then. Fails only for a configuration
 * problem (EX_CONFIG, from the MTA-STS cache). random_seed: the order
 * among MX hosts of equal preference (RFC 5321 5.1: random). */
int direct_route_find(struct dns_resolver *r, const struct account *a,
                      const struct mta_sts_settings *sts, const char *domain,
                      uint64_t random_seed, struct route *out, struct err *e);

/* Look up host's addresses and TLSA records and decide its mx_tls (see
 * above); sets host->skip when it cannot be tried. Once per host. */
void direct_route_resolve_host(struct dns_resolver *r, const struct account *a,
                               const struct route *route,
                               struct route_host *host);

/* Pure: order MX records by preference, shuffling those of equal
 * preference with seed (a permutation that depends only on the seed);
 * n <= DIRECT_MAX_MX_HOSTS * 10. For tests. */
void direct_route_order(struct dns_record *mx, size_t n, uint64_t seed);

void direct_route_free(struct route *route);

#endif
