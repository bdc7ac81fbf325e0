/* direct.c - direct delivery to each domain's MX hosts; see direct.h. */
#include "direct.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "direct_route.h"
#include "dns.h"
#include "log_delivery.h"
#include "mta_sts_fetch.h"
#include "util.h"

/* The recipients of one domain: indexes into the envelope. */
struct domain_group {
	char *domain; /* A-label, lower case, no trailing dot */
	size_t *rcpt;
	size_t count;
};

struct direct_run {
	const struct account *a;
	const struct smtp_envelope *env;
	const struct message *m;
	const struct session_trace *trace;
	struct delivery *d;
	struct buf *warnings;
	struct dns_resolver *resolver; /* opened for the first domain */
	struct mta_sts_settings sts;
	char *sts_cache_dir;
};

/* ---- grouping ------------------------------------------------------------ */

/* The A-label domain of mailbox (heap), or NULL with *why set. */
static char *domain_of(const char *mailbox, const char **why)
{
	if (addr_is_local(mailbox)) {
		*why = "a local name has no domain to deliver to (direct "
		       "delivery; define it in aliases)";
		return NULL;
	}
	char *ascii = NULL;
	struct err e = ERR_INIT;
	if (addr_domain_to_ascii(mailbox, &ascii, &e) != EX_OK) {
		err_clear(&e);
		*why = "its domain is not a valid internationalized domain "
		       "name";
		return NULL;
	}
	const char *at = strrchr(ascii, '@');
	char *domain = xstrdup(at ? at + 1 : "");
	free(ascii);
	for (char *p = domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		domain[--len] = '\0';
	if (len == 0 || domain[0] == '[') {
		/* RFC 5321 4.1.3 address literals: not resolved via MX */
		*why = "an address literal or empty domain cannot be delivered "
		       "to directly";
		free(domain);
		return NULL;
	}
	return domain;
}

static struct domain_group *find_group(struct domain_group *groups,
                                       size_t count, const char *domain)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(groups[i].domain, domain) == 0)
			return &groups[i];
	return NULL;
}

/* Group the recipients by domain, in the order the domains first appear;
 * the ones with no usable domain are refused in d right away. */
static struct domain_group *group_by_domain(const struct addr_list *rcpt,
                                            struct delivery *d, size_t *count)
{
	struct domain_group *groups = NULL;
	*count = 0;
	for (size_t i = 0; i < rcpt->count; i++) {
		const char *why = NULL;
		char *domain = domain_of(rcpt->items[i].mailbox, &why);
		if (!domain) {
			delivery_set(d, i, RCPT_REFUSED, 0, why, strlen(why));
			continue;
		}
		struct domain_group *g = find_group(groups, *count, domain);
		if (!g) {
			groups = xrealloc(groups, (*count + 1) * sizeof *groups);
			g = &groups[(*count)++];
			*g = (struct domain_group){xstrdup(domain), NULL, 0};
		}
		g->rcpt = xrealloc(g->rcpt, (g->count + 1) * sizeof *g->rcpt);
		g->rcpt[g->count++] = i;
		free(domain);
	}
	return groups;
}

static void free_groups(struct domain_group *groups, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(groups[i].domain);
		free(groups[i].rcpt);
	}
	free(groups);
}

/* ---- outcomes ------------------------------------------------------------ */

/* Every recipient of g that has no result yet gets status, with text as
 * the reason ("DOMAIN: text"). */
static void settle_group(struct direct_run *run, const struct domain_group *g,
                         enum rcpt_status status, int code, const char *text)
{
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s: %s", g->domain, text);
	for (size_t i = 0; i < g->count; i++)
		if (run->d->rcpt[g->rcpt[i]].status == RCPT_PENDING)
			delivery_set(run->d, g->rcpt[i], status, code,
			             line.data, line.len);
	buf_free(&line);
}

static void group_recipients(const struct direct_run *run,
                             const struct domain_group *g,
                             struct addr_list *out)
{
	for (size_t i = 0; i < g->count; i++)
		addr_list_add(out, NULL, run->env->rcpt->items[g->rcpt[i]].mailbox);
}

static void log_group(const struct direct_run *run,
                      const struct domain_group *g, const char *host,
                      const struct smtp_outcome *outcome, bool tls, int rc,
                      const char *error)
{
	struct addr_list rcpt = {0};
	group_recipients(run, g, &rcpt);
	struct log_delivery what = {run->a, run->env->from, &rcpt,
	                            msg_size(run->m), tls, host};
	struct err log_err = ERR_INIT;
	if (log_delivery(&what, outcome, rc, error, &log_err) != EX_OK)
		buf_printf(run->warnings, "%s\n", err_msg(&log_err));
	err_clear(&log_err);
	addr_list_free(&rcpt);
}

/* The transaction's verdict for g's recipients: per recipient when the
 * server answered for each, else the failure that stopped it. */
static void record_outcome(struct direct_run *run, const struct domain_group *g,
                           const struct smtp_outcome *o, int rc,
                           const struct err *e)
{
	bool tracked = o->delivery.count == g->count;
	for (size_t i = 0; i < g->count; i++) {
		const struct rcpt_result *r = tracked ? &o->delivery.rcpt[i]
		                                      : NULL;
		if (r && r->status != RCPT_PENDING) {
			delivery_set(run->d, g->rcpt[i], r->status, r->code,
			             r->reply, r->reply ? strlen(r->reply) : 0);
			continue;
		}
		enum rcpt_status st = rc == EX_UNAVAILABLE || rc == EX_DATAERR
		                              ? RCPT_REFUSED
		                              : RCPT_DEFERRED;
		const char *why = err_msg(e);
		delivery_set(run->d, g->rcpt[i], st, o->code, why, strlen(why));
	}
}

/* ---- one domain ---------------------------------------------------------- */

static void trace_notes(const struct direct_run *run, const struct buf *notes)
{
	if (!run->trace || !notes->len)
		return;
	struct buf copy = BUF_INIT;
	buf_add(&copy, notes->data, notes->len);
	char *save = NULL;
	for (char *line = strtok_r(copy.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		run->trace->line(run->trace->ctx, '-', line);
	buf_free(&copy);
}

static int open_resolver(struct direct_run *run, struct err *e)
{
	if (run->resolver)
		return EX_OK;
	/* Each lookup gets the account's timeout (60 s by default). */
	int timeout = run->a->timeout > 0 ? run->a->timeout
	                                  : CONF_DEFAULT_TIMEOUT;
	return dns_resolver_open(&run->resolver, timeout, e);
}

int direct_open_host(const struct account *a, const struct route *route,
                     const struct route_host *h, size_t k,
                     const struct session_trace *trace, struct session *s,
                     struct buf *warnings, struct err *e)
{
	struct mx_target t = {
		.name = h->name,
		.address = h->addresses[k].bytes,
		.address_len = h->addresses[k].len,
		.port = a->port,
		.tls = h->tls,
		.dane = &h->tlsa,
		.dane_names = (const char *const *)h->dane_names,
		.dane_name_count = h->dane_name_count,
	};
	int rc = session_open_mx(s, a, &t, trace, e);
	if (rc != EX_OK && h->tls == MX_TLS_VERIFY_TESTING && s->tls_unmet) {
		/* RFC 8461 5: testing mode reports, and delivers anyway */
		buf_printf(warnings, "MTA-STS policy of %s (mode testing) "
		           "not met: %s; delivering anyway\n", route->domain,
		           err_msg(e));
		err_clear(e);
		t.tls = MX_TLS_MAY;
		rc = session_open_mx(s, a, &t, trace, e);
	}
	if (rc != EX_OK && t.tls == MX_TLS_MAY && s->tls_failed) {
		/* RFC 7435: opportunistic TLS that fails falls back to
		 * clear text, as it would with no STARTTLS offered */
		if (trace) {
			struct buf n = BUF_INIT;
			buf_printf(&n, "TLS with %s failed (%s); trying again "
			           "without it", h->name, err_msg(e));
			trace->line(trace->ctx, '-', buf_str(&n));
			buf_free(&n);
		}
		err_clear(e);
		t.tls = MX_TLS_NONE;
		rc = session_open_mx(s, a, &t, trace, e);
	}
	return rc;
}

static void send_to_host(struct direct_run *run, const struct domain_group *g,
                         const struct route_host *h, struct session *s)
{
	struct addr_list rcpt = {0};
	group_recipients(run, g, &rcpt);
	struct smtp_envelope env = *run->env;
	env.rcpt = &rcpt;
	struct smtp_outcome outcome = {0, BUF_INIT, {NULL, 0}};
	struct err e = ERR_INIT;
	smtp_last_message(s->smtp);
	int rc = smtp_send_mail(s->smtp, &env, run->m, &outcome, &e);
	bool sane = rc == EX_OK || rc == EX_UNAVAILABLE ||
	            (rc == EX_TEMPFAIL && outcome.code >= 400);
	bool tls = s->tls;
	session_close(s, sane);
	record_outcome(run, g, &outcome, rc, &e);
	log_group(run, g, h->name, &outcome, tls, rc, err_msg(&e));
	smtp_outcome_free(&outcome);
	addr_list_free(&rcpt);
	err_clear(&e);
}

/* Try the route's hosts in order; the first session decides. Returns
 * true when one was opened. last: why the last attempt failed. */
static bool try_hosts(struct direct_run *run, const struct domain_group *g,
                      struct route *route, struct buf *last)
{
	for (size_t i = 0; i < route->host_count; i++) {
		struct route_host *h = &route->hosts[i];
		/* hosts the MTA-STS policy rules out are not even looked up */
		if (!h->skip)
			direct_route_resolve_host(run->resolver, run->a, route,
			                          h);
		if (h->skip) {
			buf_reset(last);
			buf_printf(last, "MX host %s: %s", h->name, h->skip);
			continue;
		}
		for (size_t k = 0; k < h->address_count; k++) {
			struct session s;
			struct err e = ERR_INIT;
			if (direct_open_host(run->a, route, h, k, run->trace,
			                     &s, run->warnings, &e) == EX_OK) {
				err_clear(&e);
				send_to_host(run, g, h, &s);
				return true;
			}
			buf_reset(last);
			buf_add_str(last, err_msg(&e));
			err_clear(&e);
		}
	}
	return false;
}

static int deliver_domain(struct direct_run *run, const struct domain_group *g,
                          struct err *e)
{
	int rc = open_resolver(run, e);
	if (rc != EX_OK)
		return rc;
	uint64_t seed = 0;
	random_bytes(&seed, sizeof seed);
	struct route route;
	rc = direct_route_find(run->resolver, run->a,
	                       run->a->mta_sts ? &run->sts : NULL, g->domain,
	                       seed, &route, e);
	trace_notes(run, &route.notes);
	if (rc != EX_OK) {
		direct_route_free(&route);
		return rc;
	}
	if (route.status != ROUTE_OK) {
		settle_group(run, g,
		             route.status == ROUTE_PERMFAIL ? RCPT_REFUSED
		                                            : RCPT_DEFERRED,
		             0, route.reason);
		log_group(run, g, g->domain, NULL, false,
		          route.status == ROUTE_PERMFAIL ? EX_UNAVAILABLE
		                                         : EX_TEMPFAIL,
		          route.reason);
		direct_route_free(&route);
		return EX_OK;
	}
	struct buf last = BUF_INIT;
	if (!try_hosts(run, g, &route, &last)) {
		if (!last.len)
			buf_add_str(&last, "no MX host could be tried");
		/* RFC 5321 4.5.4.1: no MX host took it now: retry later */
		settle_group(run, g, RCPT_DEFERRED, 0, buf_str(&last));
		log_group(run, g, g->domain, NULL, false, EX_TEMPFAIL,
		          buf_str(&last));
	}
	buf_free(&last);
	direct_route_free(&route);
	return EX_OK;
}

/* ---- the run --------------------------------------------------------------- */

/* MTA-STS's -v lines (policy fetches) join the transcript. */
static void trace_sts(void *ctx, const char *line)
{
	const struct session_trace *trace = ctx;
	trace->line(trace->ctx, '-', line);
}

static void run_free(struct direct_run *run)
{
	dns_resolver_close(run->resolver);
	free(run->sts_cache_dir);
}

static void run_init(struct direct_run *run, const struct account *a)
{
	run->sts_cache_dir = mta_sts_cache_dir(a->env);
	run->sts = (struct mta_sts_settings){
		.cache_dir = run->sts_cache_dir,
		.trust_file = a->tls_trust_file,
		.crl_file = a->tls_crl_file,
		.source_ip = a->source_ip,
		.timeout = a->timeout,
		.trace = run->trace ? trace_sts : NULL,
		.trace_ctx = (void *)run->trace,
	};
}

int direct_deliver(const struct account *a, const struct smtp_envelope *env,
                   const struct message *m, const struct session_trace *trace,
                   struct delivery *out, struct buf *warnings, struct err *e)
{
	delivery_init(out, env->rcpt->count);
	struct direct_run run = {a, env, m, trace, out, warnings, NULL,
	                         {0}, NULL};
	run_init(&run, a);
	size_t count = 0;
	struct domain_group *groups = group_by_domain(env->rcpt, out, &count);
	int rc = EX_OK;
	size_t i = 0;
	for (; rc == EX_OK && i < count; i++)
		rc = deliver_domain(&run, &groups[i], e);
	if (rc != EX_OK) {
		/* A configuration problem (the MTA-STS cache): before anything
		 * was sent it is the answer; after some domains had the
		 * message, the others wait for the fix like any deferral. */
		if (delivery_count(out, RCPT_DELIVERED) == 0) {
			free_groups(groups, count);
			run_free(&run);
			return rc;
		}
		for (size_t j = i - 1; j < count; j++)
			settle_group(&run, &groups[j], RCPT_DEFERRED, 0,
			             err_msg(e));
		err_clear(e);
	}
	free_groups(groups, count);
	run_free(&run);
	rc = delivery_exit_code(out);
	if (rc != EX_OK) {
		struct buf text = BUF_INIT;
		delivery_describe(out, env->rcpt, &text);
		err_set(e, rc, "%s", buf_str(&text));
		buf_free(&text);
	}
	return rc;
}
