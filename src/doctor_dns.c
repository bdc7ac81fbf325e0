/* doctor_dns.c - the doctor's DNS checks: SPF, DKIM, DMARC, the sender
 * domain's MX, MTA-STS and TLS-RPT records, and this host's reverse DNS;
 * see doctor.h. */
#include "doctor_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dkim_record.h"
#include "dmarc.h"
#include "mta_sts.h"
#include "org_domain.h"
#include "spf.h"
#include "util.h"

/* ---- small helpers ---------------------------------------------------------- */

/* The TXT records at name that pass is_record (heap copies, NUL-ended);
 * the DNS status; false with *why when the lookup failed. */
struct txt_set {
	char **text;
	size_t count;
	enum dns_status status;
};

static bool lookup_txt(struct doctor *d, const char *name,
                       bool (*is_record)(const char *, size_t),
                       struct txt_set *out, struct buf *why)
{
	memset(out, 0, sizeof *out);
	struct dns_result res = {0};
	struct err e = ERR_INIT;
	int rc = dns_lookup(d->dns, name, DNS_T_TXT, &res, &e);
	out->status = res.status;
	if (rc != EX_OK) {
		buf_add_str(why, err_msg(&e));
		err_clear(&e);
		dns_result_free(&res);
		return false;
	}
	out->text = xcalloc(res.count + 1, sizeof *out->text);
	for (size_t i = 0; i < res.count; i++) {
		const char *t = (const char *)res.records[i].data;
		size_t n = res.records[i].data_len;
		if (!is_record || is_record(t, n))
			out->text[out->count++] = xstrndup(t, n);
	}
	dns_result_free(&res);
	err_clear(&e);
	return true;
}

static void txt_set_free(struct txt_set *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->text[i]);
	free(t->text);
	memset(t, 0, sizeof *t);
}

static bool has_address(struct doctor *d, const char *name)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA};
	bool found = false;
	for (size_t t = 0; !found && t < 2; t++) {
		struct dns_result res = {0};
		struct err e = ERR_INIT;
		found = dns_lookup(d->dns, name, types[t], &res, &e) == EX_OK &&
		        res.status == DNS_FOUND;
		dns_result_free(&res);
		err_clear(&e);
	}
	return found;
}

/* ---- SPF (RFC 7208) ---------------------------------------------------------- */

static int spf_lookup(void *ctx, const char *name, uint16_t type,
                      struct dns_result *out, struct err *e)
{
	struct doctor *d = ctx;
	return dns_lookup(d->dns, name, type, out, e);
}

/* Is token (len bytes) the "all" mechanism, with or without qualifier? */
static bool is_all_term(const char *token, size_t len)
{
	if (len && strchr("+-~?", token[0])) {
		token++;
		len--;
	}
	return len == 3 && strncasecmp(token, "all", 3) == 0;
}

/* The record with term added before its final "all" or redirect= (at
 * the end when it has neither), and with new_all (a qualifier, or 0 to
 * keep it) for its "all": the record to publish instead. */
static void spf_suggest(const char *record, const char *term, char new_all,
                        struct buf *out)
{
	const char *p = record ? record : "v=spf1";
	bool placed = !term;
	bool first = true;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (!len)
			break;
		bool all = is_all_term(p, len);
		bool redirect = len > 9 && strncasecmp(p, "redirect=", 9) == 0;
		if (!placed && (all || redirect)) {
			buf_printf(out, " %s", term);
			placed = true;
		}
		if (!first)
			buf_add_char(out, ' ');
		if (all && new_all)
			buf_printf(out, "%call", new_all);
		else
			buf_add(out, p, len);
		first = false;
		p += len;
	}
	if (!placed)
		buf_printf(out, " %s", term);
}

/* The mechanism that authorises the sending host, for the fix. */
static void spf_wanted_term(struct doctor *d, const struct spf_provider *p,
                            struct buf *term)
{
	const struct doctor_address *ad = d->a->direct_delivery
	                                          ? (d->self.len ? &d->self
	                                                         : NULL)
	                                  : d->smarthost_count ? d->smarthost
	                                                       : NULL;
	if (p) {
		buf_printf(term, "include:%s", p->include);
	} else if (ad) {
		char *ip = doctor_address_text(ad);
		buf_printf(term, "%s:%s", ad->len == 16 ? "ip6" : "ip4", ip);
		free(ip);
	} else {
		buf_add_str(term, "a mx");
	}
}

static const char *sending_host(const struct doctor *d)
{
	return d->a->direct_delivery ? "this host" : d->a->host;
}

/* Is the sending host authorised? By its provider's include when the
 * smarthost is a known one, else by check_host() for its address (RFC
 * 7208 4). */
static void spf_authorised(struct doctor *d, const char *domain,
                           const struct spf_check *c,
                           const struct spf_provider *p)
{
	struct buf term = BUF_INIT, fix = BUF_INIT;
	spf_wanted_term(d, p, &term);
	buf_printf(&fix, "%s. TXT \"", domain);
	spf_suggest(c->record, buf_str(&term), 0, &fix);
	buf_add_char(&fix, '"');
	if (p) {
		d->spf_passes = spf_check_includes(c, p->include);
		if (d->spf_passes)
			doctor_add(d->report, DOCTOR_OK, "spf", NULL,
			           "it includes %s, which authorises %s (%s)",
			           p->include, d->a->host, p->name);
		else
			doctor_add(d->report, DOCTOR_FAIL, "spf", buf_str(&fix),
			           "it does not include %s: %s (%s) is not "
			           "authorised to send for %s",
			           p->include, d->a->host, p->name, domain);
		if (p->note) {
			d->spf_alignment_note = p->note;
			doctor_add(d->report, DOCTOR_INFO, "spf", NULL,
			           "%s: %s", p->name, p->note);
		}
	} else if (c->has_ip) {
		const struct doctor_address *ad =
		        d->a->direct_delivery ? &d->self : d->smarthost;
		char *ip = doctor_address_text(ad);
		d->spf_passes = c->ip_result == SPF_RESULT_PASS;
		if (d->spf_passes)
			doctor_add(d->report, DOCTOR_OK, "spf", NULL,
			           "it authorises %s (%s): pass", ip,
			           sending_host(d));
		else
			doctor_add(d->report, DOCTOR_FAIL, "spf", buf_str(&fix),
			           "it does not authorise %s (%s): %s%s%s", ip,
			           sending_host(d), spf_result_name(c->ip_result),
			           c->ip_problem ? ": " : "",
			           c->ip_problem ? c->ip_problem : "");
		free(ip);
	} else {
		doctor_add(d->report, DOCTOR_WARN, "spf", NULL,
		           "cannot tell whether %s is authorised (its address "
		           "is not known)", sending_host(d));
	}
	buf_free(&term);
	buf_free(&fix);
}

/* RFC 7208 8.1: +all authorises the world; ?all asserts nothing. */
static void spf_all(struct doctor *d, const char *domain,
                    const struct spf_check *c)
{
	struct buf fix = BUF_INIT;
	buf_printf(&fix, "%s. TXT \"", domain);
	spf_suggest(c->record, c->has_all ? NULL : "~all", '~', &fix);
	buf_add_char(&fix, '"');
	if (c->has_all && c->all_qualifier == SPF_PASS)
		doctor_add(d->report, DOCTOR_FAIL, "spf", buf_str(&fix),
		           "it ends in +all: anyone may send mail as %s",
		           domain);
	else if (c->has_all && c->all_qualifier == SPF_NEUTRAL)
		doctor_add(d->report, DOCTOR_WARN, "spf", buf_str(&fix),
		           "it ends in ?all: it says nothing about other "
		           "senders, so it protects nothing");
	else if (!c->has_all && c->default_result == SPF_RESULT_NEUTRAL)
		doctor_add(d->report, DOCTOR_WARN, "spf", buf_str(&fix),
		           "it has no 'all' at the end: mail from anywhere "
		           "else is neutral");
	buf_free(&fix);
}

static const char *spf_fix_for(enum spf_status status)
{
	switch (status) {
	case SPF_STATUS_TOO_MANY_LOOKUPS:
		return "fewer include:, a, mx, ptr and exists terms: drop "
		       "includes of services you no longer use, or name "
		       "your own servers with ip4:/ip6:";
	case SPF_STATUS_MULTIPLE:
		return "one TXT record starting \"v=spf1\": merge their terms "
		       "into one record and delete the others";
	default:
		return "correct the record as the message says";
	}
}

void doctor_check_spf(struct doctor *d)
{
	const char *domain = d->from_domain;
	const struct spf_provider *p =
	        d->a->direct_delivery || !d->a->host
	                ? NULL
	                : spf_provider_for_host(d->a->host);
	const struct doctor_address *ip =
	        d->a->direct_delivery ? (d->self.len ? &d->self : NULL)
	        : d->smarthost_count  ? d->smarthost
	                              : NULL;
	struct spf_check c = {0};
	struct err e = ERR_INIT;
	int rc = spf_check_domain(domain, d->sender, ip ? ip->bytes : NULL,
	                          ip ? ip->len : 0, spf_lookup, d, &c, &e);
	struct buf term = BUF_INIT, fix = BUF_INIT;
	spf_wanted_term(d, p, &term);
	if (rc != EX_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "spf", NULL, "%s",
		           err_msg(&e));
	} else if (c.status == SPF_STATUS_NONE) {
		buf_printf(&fix, "%s. TXT \"v=spf1 %s ~all\"", domain,
		           buf_str(&term));
		doctor_add(d->report, DOCTOR_FAIL, "spf", buf_str(&fix),
		           "%s has no SPF record", domain);
	} else if (c.status == SPF_STATUS_TEMPFAIL) {
		doctor_add(d->report, DOCTOR_WARN, "spf", NULL,
		           "SPF of %s could not be checked: %s", domain,
		           c.problem);
	} else if (c.status != SPF_STATUS_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "spf", spf_fix_for(c.status),
		           "SPF of %s is broken (receivers answer permerror): "
		           "%s", domain, c.problem);
	} else {
		doctor_add(d->report, DOCTOR_OK, "spf", NULL,
		           "%s has one SPF record (%zu of %d DNS lookups)",
		           domain, c.lookups, SPF_MAX_LOOKUPS);
		spf_authorised(d, domain, &c, p);
		spf_all(d, domain, &c);
	}
	buf_free(&term);
	buf_free(&fix);
	spf_check_free(&c);
	err_clear(&e);
}

/* ---- DKIM (RFC 6376, RFC 8463) -------------------------------------------- */

static void dkim_fix(const struct dkim_signer *s, const char *domain,
                     struct buf *fix)
{
	struct err e = ERR_INIT;
	if (dkim_dns_record(s->key_file, s->selector, domain, fix, &e) !=
	    EX_OK) {
		buf_reset(fix);
		buf_printf(fix, "outbox --dkim-record --dkim-key=%s", s->key_file);
	}
	/* one line: the zone-file record without its newline */
	while (fix->len && fix->data[fix->len - 1] == '\n')
		fix->data[--fix->len] = '\0';
	err_clear(&e);
}

static void check_key_strength(struct doctor *d, const char *name,
                               const struct dkim_record *r,
                               const struct buf *fix)
{
	if (r->k != DKIM_RECORD_RSA)
		return;
	if (r->bits < 1024)
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(fix),
		           "%s publishes an RSA key of %u bits: receivers "
		           "ignore keys under 1024 bits (RFC 8301)", name,
		           r->bits);
	else if (r->bits < 2048)
		doctor_add(d->report, DOCTOR_WARN, "dkim",
		           "outbox --dkim-keygen --dkim-type=rsa (2048 bits), "
		           "or ed25519 beside it",
		           "%s publishes an RSA key of %u bits: 2048 is "
		           "recommended", name, r->bits);
}

static void check_signer(struct doctor *d, const struct dkim_signer *s)
{
	const char *domain = s->domain ? s->domain : d->from_domain;
	struct buf name = BUF_INIT, fix = BUF_INIT, why = BUF_INIT;
	buf_printf(&name, "%s._domainkey.%s", s->selector, domain);
	dkim_fix(s, domain, &fix);
	struct txt_set t;
	bool good = false;
	if (!lookup_txt(d, buf_str(&name), NULL, &t, &why)) {
		doctor_add(d->report, DOCTOR_WARN, "dkim", NULL,
		           "%s could not be looked up: %s", buf_str(&name),
		           buf_str(&why));
	} else if (t.count == 0) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
		           "no DKIM record at %s: receivers cannot verify the "
		           "signatures", buf_str(&name));
	} else if (t.count > 1) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
		           "%zu TXT records at %s: a verifier needs exactly "
		           "one", t.count, buf_str(&name));
	} else {
		good = true;
	}
	struct dkim_record r = {0};
	struct err e = ERR_INIT;
	if (good && dkim_record_parse(t.text[0], strlen(t.text[0]), &r, &e) !=
	            EX_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
		           "the DKIM record at %s is broken: %s",
		           buf_str(&name), err_msg(&e));
		good = false;
	}
	if (good && r.p_len == 0) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
		           "the DKIM record at %s is revoked (empty p=)",
		           buf_str(&name));
		good = false;
	}
	/* a weak key fails whatever else is right */
	if (good)
		check_key_strength(d, buf_str(&name), &r, &fix);
	bool same = false;
	char *desc = NULL;
	err_clear(&e);
	if (good && dkim_record_matches_key(&r, s->key_file, &same, &desc,
	                                    &e) != EX_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", NULL, "%s",
		           err_msg(&e));
		good = false;
	} else if (good && !same) {
		doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
		           "%s publishes another key than %s (%s): signatures "
		           "will not verify", buf_str(&name), s->key_file,
		           desc ? desc : "?");
		good = false;
	}
	if (good) {
		err_clear(&e);
		if (dkim_record_verify_test_signature(&r, s->key_file, &e) ==
		    EX_OK) {
			doctor_add(d->report, DOCTOR_OK, "dkim", NULL,
			           "%s publishes the key of %s (%s); a test "
			           "signature verifies with it%s",
			           buf_str(&name), s->key_file,
			           desc ? desc : "?",
			           r.testing ? " (t=y: testing mode)" : "");
			if (r.bits == 0 || r.bits >= 1024 ||
			    r.k != DKIM_RECORD_RSA) {
				d->dkim_valid_for_from_org =
				        d->dkim_valid_for_from_org ||
				        dmarc_aligned(domain, d->from_domain,
				                      DMARC_RELAXED);
				d->dkim_valid_strict =
				        d->dkim_valid_strict ||
				        dmarc_aligned(domain, d->from_domain,
				                      DMARC_STRICT);
			}
		} else {
			doctor_add(d->report, DOCTOR_FAIL, "dkim", buf_str(&fix),
			           "a test signature does not verify with the "
			           "key at %s: %s", buf_str(&name), err_msg(&e));
		}
	}
	free(desc);
	dkim_record_free(&r);
	err_clear(&e);
	txt_set_free(&t);
	buf_free(&name);
	buf_free(&fix);
	buf_free(&why);
}

void doctor_check_dkim(struct doctor *d)
{
	const struct account *a = d->a;
	if (a->dkim_count == 0) {
		struct buf fix = BUF_INIT;
		buf_printf(&fix, "outbox --dkim-keygen --dkim-key=FILE "
		           "--dkim-type=ed25519 --dkim-selector=s1 "
		           "--dkim-domain=%s, then dkim_key FILE and "
		           "dkim_selector s1 in the account",
		           d->from_domain);
		doctor_add(d->report, a->direct_delivery ? DOCTOR_FAIL
		                                         : DOCTOR_WARN,
		           "dkim", buf_str(&fix),
		           "outbox does not sign with DKIM for this account%s",
		           a->direct_delivery
		                   ? ": mail sent directly without DKIM is "
		                     "treated as spam by most receivers"
		                   : " (unless the smarthost signs with your "
		                     "domain, DMARC then rests on SPF alone)");
		buf_free(&fix);
		return;
	}
	for (size_t i = 0; i < a->dkim_count; i++)
		check_signer(d, &a->dkim[i]);
}

/* ---- DMARC (RFC 7489) ----------------------------------------------------- */

static const char *policy_name(enum dmarc_policy p)
{
	return p == DMARC_REJECT       ? "reject"
	       : p == DMARC_QUARANTINE ? "quarantine"
	                               : "none";
}

/* Is where (a "_dmarc." name) the From domain's own record? */
static bool at_from_domain(const char *where, const char *from_domain)
{
	size_t prefix = strlen(DMARC_NAME_PREFIX);
	return where && strncmp(where, DMARC_NAME_PREFIX, prefix) == 0 &&
	       strcasecmp(where + prefix, from_domain) == 0;
}

/* RFC 7489 6.6.3: _dmarc.FROM, else _dmarc.ORGANIZATIONAL-DOMAIN. */
static bool find_dmarc(struct doctor *d, struct txt_set *t, char **where,
                       struct buf *why)
{
	char *org = org_domain(d->from_domain);
	const char *names[2] = {d->from_domain, org};
	size_t n = org && strcasecmp(org, d->from_domain) != 0 ? 2 : 1;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct buf name = BUF_INIT;
		buf_printf(&name, "_dmarc.%s", names[i]);
		ok = lookup_txt(d, buf_str(&name), dmarc_is_record, t, why);
		if (!ok || t->count > 0) {
			*where = buf_steal(&name);
			break;
		}
		txt_set_free(t);
		buf_free(&name);
	}
	free(org);
	return ok;
}

static void dmarc_alignment(struct doctor *d, const struct dmarc_record *r,
                            const char *where)
{
	/* outbox sends with the From address as the envelope sender, so SPF
	 * aligns whenever it passes (strictly: the same domain) */
	bool spf = d->spf_passes;
	bool dkim = r->adkim == DMARC_STRICT ? d->dkim_valid_strict
	                                     : d->dkim_valid_for_from_org;
	if (spf && !dkim && d->spf_alignment_note) {
		/* the provider may send with its own envelope sender */
		doctor_add(d->report, DOCTOR_WARN, "dmarc",
		           "sign with DKIM for the From domain (dkim_key), or "
		           "set up the provider's custom envelope sender "
		           "domain",
		           "only SPF could align, and only if the provider "
		           "sends with an envelope sender of your domain (see "
		           "the spf note)");
		return;
	}
	if (spf || dkim) {
		doctor_add(d->report, DOCTOR_OK, "dmarc", NULL,
		           "aligned: %s%s%s", spf ? "SPF" : "",
		           spf && dkim ? " and " : "", dkim ? "DKIM" : "");
		return;
	}
	enum doctor_level level = r->p == DMARC_NONE ? DOCTOR_WARN
	                                             : DOCTOR_FAIL;
	doctor_add(d->report, level, "dmarc",
	           "authorise the sending host in SPF, or sign with DKIM for "
	           "the From domain (see the spf and dkim lines)",
	           "neither SPF nor DKIM aligns with %s: with p=%s (%s) "
	           "receivers will %s this mail",
	           d->from_domain, policy_name(r->p), where,
	           r->p == DMARC_REJECT       ? "reject"
	           : r->p == DMARC_QUARANTINE ? "put in spam"
	                                      : "only report");
}

void doctor_check_dmarc(struct doctor *d)
{
	struct txt_set t;
	struct buf why = BUF_INIT, fix = BUF_INIT;
	char *where = NULL;
	buf_printf(&fix, "_dmarc.%s. TXT \"v=DMARC1; p=none; "
	           "rua=mailto:dmarc-reports@%s\"", d->from_domain,
	           d->from_domain);
	if (!find_dmarc(d, &t, &where, &why)) {
		doctor_add(d->report, DOCTOR_WARN, "dmarc", NULL,
		           "DMARC of %s could not be looked up: %s",
		           d->from_domain, buf_str(&why));
	} else if (t.count == 0) {
		doctor_add(d->report, DOCTOR_FAIL, "dmarc", buf_str(&fix),
		           "%s has no DMARC record (nor its organizational "
		           "domain): Gmail and Yahoo refuse bulk mail without "
		           "one", d->from_domain);
	} else if (t.count > 1) {
		doctor_add(d->report, DOCTOR_FAIL, "dmarc", buf_str(&fix),
		           "%s has %zu DMARC records: receivers ignore them all "
		           "(RFC 7489 6.6.3)", where, t.count);
	} else {
		struct dmarc_record r = {0};
		struct err e = ERR_INIT;
		if (dmarc_parse(t.text[0], strlen(t.text[0]), &r, &e) != EX_OK) {
			doctor_add(d->report, DOCTOR_FAIL, "dmarc",
			           buf_str(&fix), "the DMARC record at %s is "
			           "broken: %s", where, err_msg(&e));
		} else {
			doctor_add(d->report, DOCTOR_OK, "dmarc", NULL,
			           "%s: p=%s, pct=%d, %s%s%s", where,
			           policy_name(r.p), r.pct,
			           r.rua_count ? "reports to " : "no aggregate "
			                                         "reports (rua)",
			           r.rua_count ? r.rua[0] : "",
			           at_from_domain(where, d->from_domain)
			                   ? ""
			                   : " (the organizational domain's)");
			dmarc_alignment(d, &r, where);
		}
		dmarc_record_free(&r);
		err_clear(&e);
	}
	txt_set_free(&t);
	free(where);
	buf_free(&why);
	buf_free(&fix);
}

/* ---- the sender domain's other records ------------------------------------- */

static void check_mx(struct doctor *d)
{
	const char *domain = d->from_domain;
	struct dns_result mx = {0};
	struct err e = ERR_INIT;
	struct buf fix = BUF_INIT;
	buf_printf(&fix, "%s. MX 10 mail.%s.", domain, domain);
	if (dns_lookup(d->dns, domain, DNS_T_MX, &mx, &e) != EX_OK) {
		doctor_add(d->report, DOCTOR_WARN, "dns", NULL,
		           "the MX of %s could not be looked up: %s", domain,
		           err_msg(&e));
	} else if (mx.status == DNS_FOUND && mx.count == 1 &&
	           !*mx.records[0].name) {
		doctor_add(d->report, DOCTOR_FAIL, "dns", buf_str(&fix),
		           "%s publishes a null MX: bounces and replies to the "
		           "sender are lost, and receivers may refuse it",
		           domain);
	} else if (mx.status == DNS_FOUND) {
		doctor_add(d->report, DOCTOR_OK, "dns", NULL,
		           "%s has MX hosts (%s ...): bounces can come back",
		           domain, mx.records[0].name);
	} else if (mx.status == DNS_NODATA && has_address(d, domain)) {
		doctor_add(d->report, DOCTOR_WARN, "dns", buf_str(&fix),
		           "%s has no MX record; bounces go to its address "
		           "(the implicit MX)", domain);
	} else {
		doctor_add(d->report, DOCTOR_FAIL, "dns", buf_str(&fix),
		           "%s has no MX and no address: bounces cannot come "
		           "back, and receivers refuse senders whose domain "
		           "takes no mail", domain);
	}
	dns_result_free(&mx);
	err_clear(&e);
	buf_free(&fix);
}

static bool is_tlsrpt(const char *text, size_t len)
{
	return len >= 10 && strncmp(text, "v=TLSRPTv1", 10) == 0;
}

static bool is_sts(const char *text, size_t len)
{
	return len >= 7 && strncmp(text, "v=STSv1", 7) == 0;
}

/* Information only: name's record protects mail *to* the domain. */
static void info_record(struct doctor *d, const char *name,
                        bool (*is_record)(const char *, size_t),
                        const char *what, const char *fix)
{
	struct buf why = BUF_INIT;
	struct txt_set t;
	if (lookup_txt(d, name, is_record, &t, &why) && t.count > 0)
		doctor_add(d->report, DOCTOR_INFO, "dns", NULL,
		           "%s has %s", d->from_domain, what);
	else
		doctor_add(d->report, DOCTOR_INFO, "dns", fix,
		           "%s has no %s (optional: it protects mail to the "
		           "domain)", d->from_domain, what);
	txt_set_free(&t);
	buf_free(&why);
}

static void check_transport_security(struct doctor *d)
{
	const char *domain = d->from_domain;
	struct buf name = BUF_INIT, fix = BUF_INIT;
	buf_printf(&name, "_mta-sts.%s", domain);
	buf_printf(&fix, "_mta-sts.%s. TXT \"v=STSv1; id=20260101\" and a "
	           "policy at https://mta-sts.%s/.well-known/mta-sts.txt",
	           domain, domain);
	info_record(d, buf_str(&name), is_sts, "MTA-STS policy (RFC 8461)",
	            buf_str(&fix));
	buf_reset(&name);
	buf_reset(&fix);
	buf_printf(&name, "_smtp._tls.%s", domain);
	buf_printf(&fix, "_smtp._tls.%s. TXT \"v=TLSRPTv1; "
	           "rua=mailto:tls-reports@%s\"", domain, domain);
	info_record(d, buf_str(&name), is_tlsrpt,
	            "TLS-RPT record (RFC 8460)", buf_str(&fix));
	buf_free(&name);
	buf_free(&fix);
}

void doctor_check_domain_records(struct doctor *d)
{
	check_mx(d);
	check_transport_security(d);
}

/* ---- this host's reverse DNS (direct delivery) ---------------------------- */

static bool forward_confirms(struct doctor *d, const char *name)
{
	uint16_t type = d->self.len == 16 ? DNS_T_AAAA : DNS_T_A;
	struct dns_result res = {0};
	struct err e = ERR_INIT;
	bool found = false;
	if (dns_lookup(d->dns, name, type, &res, &e) == EX_OK)
		for (size_t i = 0; i < res.count && !found; i++)
			found = res.records[i].addr_len == d->self.len &&
			        memcmp(res.records[i].addr, d->self.bytes,
			               d->self.len) == 0;
	dns_result_free(&res);
	err_clear(&e);
	return found;
}

void doctor_check_reverse_dns(struct doctor *d)
{
	char *ip = doctor_address_text(&d->self);
	char *reverse = dns_reverse_name(d->self.bytes, d->self.len);
	struct dns_result ptr = {0};
	struct err e = ERR_INIT;
	struct buf fix = BUF_INIT;
	buf_printf(&fix, "a PTR record for %s naming %s (ask whoever gives "
	           "you the address), and %s. %s %s", ip, d->a->domain,
	           d->a->domain, d->self.len == 16 ? "AAAA" : "A", ip);
	if (dns_lookup(d->dns, reverse, DNS_T_PTR, &ptr, &e) != EX_OK) {
		doctor_add(d->report, DOCTOR_WARN, "dns", NULL,
		           "the PTR of %s could not be looked up: %s", ip,
		           err_msg(&e));
	} else if (ptr.status != DNS_FOUND) {
		doctor_add(d->report, DOCTOR_FAIL, "dns", buf_str(&fix),
		           "%s has no PTR record: most receivers refuse mail "
		           "from an address without reverse DNS", ip);
	} else if (!forward_confirms(d, ptr.records[0].name)) {
		doctor_add(d->report, DOCTOR_FAIL, "dns", buf_str(&fix),
		           "%s has the PTR %s, which does not resolve back to "
		           "it (no forward-confirmed reverse DNS)", ip,
		           ptr.records[0].name);
	} else {
		doctor_add(d->report, DOCTOR_OK, "dns", NULL,
		           "%s -> %s -> %s: forward-confirmed reverse DNS", ip,
		           ptr.records[0].name, ip);
		if (strcasecmp(ptr.records[0].name, d->a->domain) != 0) {
			struct buf dom = BUF_INIT;
			buf_printf(&dom, "domain %s", ptr.records[0].name);
			doctor_add(d->report, DOCTOR_WARN, "dns", buf_str(&dom),
			           "EHLO says %s, the PTR says %s: some "
			           "receivers want them equal", d->a->domain,
			           ptr.records[0].name);
			buf_free(&dom);
		}
	}
	dns_result_free(&ptr);
	err_clear(&e);
	buf_free(&fix);
	free(reverse);
	free(ip);
}
