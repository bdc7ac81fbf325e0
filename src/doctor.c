/* doctor.c - outbox --check: the configuration and smarthost checks, and
 * the run; see doctor.h. The DNS checks are in doctor_dns.c. */
#include "doctor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dkim.h"
#include "dmarc.h"
#include "doctor_internal.h"
#include "envelope.h"
#include "oauth.h"
#include "secret.h"
#include "smtp.h"
#include "util.h"

/* ---- configuration ------------------------------------------------------- */

static bool auth_wanted(const struct account *a)
{
	return !a->direct_delivery && a->auth && strcmp(a->auth, "off") != 0;
}

static void check_sender(struct doctor *d, const struct options *opts)
{
	struct err e = ERR_INIT;
	if (envelope_sender(opts, d->a, &d->sender, &e) != EX_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "config",
		           "from you@example.org", "%s", err_msg(&e));
		err_clear(&e);
		return;
	}
	const char *at = strrchr(d->sender, '@');
	if (!at || !at[1]) {
		doctor_add(d->report, DOCTOR_FAIL, "config",
		           "from you@example.org",
		           "the sender '%s' has no domain: receivers check "
		           "SPF, DKIM and DMARC against it",
		           d->sender);
		return;
	}
	d->from_domain = at + 1;
	doctor_add(d->report, DOCTOR_OK, "config",
	           NULL, "the sender (envelope and From) is %s", d->sender);
}

static void check_route(struct doctor *d)
{
	const struct account *a = d->a;
	if (a->direct_delivery) {
		doctor_add(d->report, DOCTOR_INFO, "config", NULL,
		           "delivers directly to the recipients' MX hosts "
		           "(direct_delivery on), EHLO %s", a->domain);
		return;
	}
	if (!a->tls)
		doctor_add(d->report, DOCTOR_WARN, "config",
		           "tls on (and tls_starttls on for port 587, off for "
		           "465)",
		           "no TLS to the smarthost: the mail (and any "
		           "password) would cross the network in clear");
	if (!auth_wanted(a))
		doctor_add(d->report, DOCTOR_INFO, "config", NULL,
		           "no authentication: the smarthost must accept "
		           "mail from this host's address");
}

/* RFC 7489 3.1.1: a DKIM signature counts for DMARC only when its d=
 * aligns with the From domain. */
static void check_dkim_alignment(struct doctor *d)
{
	const struct account *a = d->a;
	for (size_t i = 0; d->from_domain && i < a->dkim_count; i++) {
		const char *dom = a->dkim[i].domain ? a->dkim[i].domain
		                                    : d->from_domain;
		struct buf fix = BUF_INIT;
		buf_printf(&fix, "dkim_domain %s", d->from_domain);
		if (dmarc_aligned(dom, d->from_domain, DMARC_STRICT))
			doctor_add(d->report, DOCTOR_OK, "config", NULL,
			           "DKIM d=%s is the From domain (aligned, "
			           "strict and relaxed)", dom);
		else if (dmarc_aligned(dom, d->from_domain, DMARC_RELAXED))
			doctor_add(d->report, DOCTOR_OK, "config", NULL,
			           "DKIM d=%s aligns with the From domain %s "
			           "(relaxed only: adkim=s would not accept it)",
			           dom, d->from_domain);
		else
			doctor_add(d->report, DOCTOR_FAIL, "config",
			           buf_str(&fix),
			           "DKIM d=%s does not align with the From "
			           "domain %s: DMARC ignores this signature",
			           dom, d->from_domain);
		buf_free(&fix);
	}
}

static const char *secret_source(const struct account *a)
{
	if (a->password)
		return "the configuration's password";
	if (a->passwordeval)
		return "passwordeval";
	return "the keyring, netrc or a prompt";
}

/* The secret is got as a delivery would get it, and never shown. */
static void check_secret(struct doctor *d)
{
	const struct account *a = d->a;
	if (!auth_wanted(a))
		return;
	struct err e = ERR_INIT;
	if (oauth_enabled(a)) {
		struct oauth_trace ot = {d->trace ? d->trace->line : NULL,
		                         d->trace ? d->trace->ctx : NULL};
		char *token = NULL;
		bool fresh = false;
		if (oauth_access_token(a, &ot, &token, &fresh, &e) == EX_OK)
			doctor_add(d->report, DOCTOR_OK, "config", NULL,
			           "an OAuth 2.0 access token is available%s",
			           fresh ? " (just refreshed)" : "");
		else
			doctor_add(d->report, DOCTOR_FAIL, "config",
			           "outbox --oauth2-login",
			           "no OAuth 2.0 access token: %s", err_msg(&e));
		free_secret(token);
		err_clear(&e);
		return;
	}
	char *secret = NULL;
	if (secret_get_password(a, &secret, &e) == EX_OK)
		doctor_add(d->report, DOCTOR_OK, "config", NULL,
		           "the password for %s is available (from %s)",
		           a->user ? a->user : "the account", secret_source(a));
	else
		doctor_add(d->report, DOCTOR_FAIL, "config",
		           "password, passwordeval, or a keyring entry for the "
		           "account's host and user",
		           "no password: %s", err_msg(&e));
	free_secret(secret);
	err_clear(&e);
}

/* ---- the smarthost ------------------------------------------------------- */

static void add_address(struct doctor *d, const unsigned char *bytes,
                        size_t len)
{
	d->smarthost = xrealloc(d->smarthost, (d->smarthost_count + 1) *
	                                              sizeof *d->smarthost);
	struct doctor_address *ad = &d->smarthost[d->smarthost_count++];
	memcpy(ad->bytes, bytes, len);
	ad->len = len;
}

/* The smarthost's addresses, for SPF when its provider is not known. */
static void resolve_smarthost(struct doctor *d)
{
	const char *host = d->a->host;
	unsigned char bytes[16];
	if (inet_pton(AF_INET, host, bytes) == 1) {
		add_address(d, bytes, 4);
		return;
	}
	if (inet_pton(AF_INET6, host, bytes) == 1) {
		add_address(d, bytes, 16);
		return;
	}
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA};
	for (size_t t = 0; d->dns && t < 2; t++) {
		struct dns_result res = {0};
		struct err e = ERR_INIT;
		if (dns_lookup(d->dns, host, types[t], &res, &e) == EX_OK)
			for (size_t i = 0; i < res.count; i++)
				add_address(d, res.records[i].addr,
				            res.records[i].addr_len);
		dns_result_free(&res);
		err_clear(&e);
	}
}

static void check_certificate(struct doctor *d, struct tls_peer *peer)
{
	tls_peer_describe(peer);
	if (!peer->verified || peer->expiration == (time_t)-1)
		return;
	double days = difftime(peer->expiration, time(NULL)) / 86400.0;
	char when[32] = "?";
	struct tm tm;
	if (gmtime_r(&peer->expiration, &tm))
		strftime(when, sizeof when, "%Y-%m-%d", &tm);
	if (days < DOCTOR_EXPIRY_WARN_DAYS)
		doctor_add(d->report, DOCTOR_WARN, "smarthost",
		           "the server's operator must renew it (nothing to "
		           "change here)",
		           "its certificate expires in %.0f days (%s)", days,
		           when);
	else
		doctor_add(d->report, DOCTOR_OK, "smarthost", NULL,
		           "its certificate is valid until %s", when);
}

static void describe_size(struct doctor *d, const struct smtp_caps *caps)
{
	if (caps->size && caps->size_limit)
		doctor_add(d->report, DOCTOR_INFO, "smarthost", NULL,
		           "it takes messages up to %llu bytes (%.1f MiB)",
		           (unsigned long long)caps->size_limit,
		           (double)caps->size_limit / (1024.0 * 1024.0));
	else if (caps->size)
		doctor_add(d->report, DOCTOR_INFO, "smarthost", NULL,
		           "it announces no size limit");
}

static const char *fix_for_session(int rc)
{
	switch (rc) {
	case EX_NOPERM:
		return "tls_trust_file (the CA that issued the server's "
		       "certificate) or check host: the certificate must be "
		       "valid for it";
	case EX_PROTOCOL:
		return "tls_starttls on for port 587 and 25, off for 465";
	case EX_NOHOST:
		return "host: the smarthost's name as the provider gives it";
	default:
		return "host and port: the provider's submission server "
		       "(587 with STARTTLS, or 465)";
	}
}

/* Connect, TLS and EHLO as a delivery does, without AUTH. */
static bool check_connection(struct doctor *d)
{
	const struct account *a = d->a;
	struct session s;
	struct err e = ERR_INIT;
	int rc = session_open(&s, a, d->trace, true, &e);
	if (rc != EX_OK) {
		doctor_add(d->report, DOCTOR_FAIL, "smarthost",
		           fix_for_session(rc), "%s", err_msg(&e));
		err_clear(&e);
		return false;
	}
	if (s.tls)
		doctor_add(d->report, DOCTOR_OK, "smarthost", NULL,
		           "connected to %s, TLS %s%s",
		           conn_peer_name(s.conn),
		           s.peer.verified ? "verified" : "NOT verified",
		           s.peer.resumed ? " (resumed session)" : "");
	else
		doctor_add(d->report, DOCTOR_OK, "smarthost", NULL,
		           "connected to %s (no TLS)", conn_peer_name(s.conn));
	if (s.tls)
		check_certificate(d, &s.peer);
	const struct smtp_caps *caps = smtp_caps(s.smtp);
	describe_size(d, caps);
	bool auth_offered = caps->auth && *caps->auth;
	if (auth_wanted(a) && !auth_offered)
		doctor_add(d->report, DOCTOR_FAIL, "smarthost",
		           s.tls ? "the provider's submission port (587 or "
		                   "465), or auth off if it needs none"
		                 : "tls on",
		           "it offers no AUTH%s", s.tls ? " after TLS" : "");
	else if (auth_offered)
		doctor_add(d->report, DOCTOR_OK, "smarthost", NULL,
		           "it offers AUTH %s%s", caps->auth,
		           s.tls ? " after TLS" : "");
	session_close(&s, true);
	return true;
}

/* AUTH with the real credentials, then QUIT: no mail is sent. */
static void check_credentials(struct doctor *d)
{
	if (!auth_wanted(d->a))
		return;
	struct session s;
	struct err e = ERR_INIT;
	int rc = session_open(&s, d->a, d->trace, false, &e);
	if (rc == EX_OK) {
		doctor_add(d->report, DOCTOR_OK, "smarthost", NULL,
		           "the credentials were accepted (AUTH, then QUIT: "
		           "no mail was sent)");
		session_close(&s, true);
	} else {
		doctor_add(d->report, DOCTOR_FAIL, "smarthost",
		           rc == EX_NOPERM ? "user and password (Gmail and "
		                             "Microsoft 365 want an app "
		                             "password or OAuth 2.0)"
		                           : NULL,
		           "logging in failed: %s", err_msg(&e));
	}
	err_clear(&e);
}

static void check_smarthost(struct doctor *d)
{
	const struct account *a = d->a;
	if (a->socket) {
		doctor_add(d->report, DOCTOR_INFO, "smarthost", NULL,
		           "a local socket (%s): its server relays the mail",
		           a->socket);
	} else {
		resolve_smarthost(d);
		if (d->smarthost_count == 0 && !a->proxy_host) {
			doctor_add(d->report, DOCTOR_FAIL, "smarthost",
			           "host: the provider's SMTP server name",
			           "%s does not resolve (no A or AAAA record)",
			           a->host);
			return;
		}
	}
	if (check_connection(d))
		check_credentials(d);
}

/* ---- this host (direct delivery) ------------------------------------------ */

char *doctor_address_text(const struct doctor_address *ad)
{
	char text[INET6_ADDRSTRLEN] = "?";
	inet_ntop(ad->len == 16 ? AF_INET6 : AF_INET, ad->bytes, text,
	          sizeof text);
	return xstrdup(text);
}

/* The address the world sees: source_ip when set, else the local address
 * of the route to a public address (a UDP "connection" sends nothing). */
static bool find_self_address(struct doctor *d)
{
	const char *source = d->a->source_ip;
	struct doctor_address *self = &d->self;
	if (source) {
		if (inet_pton(AF_INET, source, self->bytes) == 1)
			self->len = 4;
		else if (inet_pton(AF_INET6, source, self->bytes) == 1)
			self->len = 16;
		return self->len > 0;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(25)};
	inet_pton(AF_INET, "8.8.8.8", &to.sin_addr);
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	bool ok = fd >= 0 &&
	          connect(fd, (struct sockaddr *)&to, sizeof to) == 0 &&
	          getsockname(fd, (struct sockaddr *)&local, &len) == 0;
	if (fd >= 0)
		close(fd);
	if (ok) {
		memcpy(self->bytes, &local.sin_addr, 4);
		self->len = 4;
	}
	return ok;
}

static void check_self(struct doctor *d)
{
	if (!find_self_address(d)) {
		doctor_add(d->report, DOCTOR_WARN, "dns",
		           "source_ip ADDRESS (this host's public address)",
		           "cannot tell this host's public address (no route "
		           "out, and no source_ip): SPF and reverse DNS are "
		           "not checked for it");
		return;
	}
	char *text = doctor_address_text(&d->self);
	doctor_add(d->report, DOCTOR_INFO, "dns", NULL,
	           "this host sends from %s", text);
	free(text);
}

/* ---- the run -------------------------------------------------------------- */

static void summarise(struct doctor *d)
{
	const struct account *a = d->a;
	struct buf b = BUF_INIT;
	buf_printf(&b, "from %s, ", d->sender ? d->sender : "(no sender)");
	if (a->direct_delivery)
		buf_printf(&b, "direct delivery (EHLO %s)", a->domain);
	else if (a->socket)
		buf_printf(&b, "via socket %s", a->socket);
	else
		buf_printf(&b, "via %s port %d", a->host, a->port);
	d->report->summary = buf_steal(&b);
}

int doctor_run(const struct account *a, const struct options *opts,
               const struct session_trace *trace, bool json,
               struct buf *out, struct err *e)
{
	struct doctor_report report = {0};
	report.account = xstrdup(a->name);
	struct doctor d = {.a = a, .trace = trace, .report = &report};
	int timeout = a->timeout > 0 ? a->timeout : CONF_DEFAULT_TIMEOUT;
	struct err dns_err = ERR_INIT;
	if (dns_resolver_open(&d.dns, timeout, &dns_err) != EX_OK)
		d.dns = NULL;
	check_sender(&d, opts);
	summarise(&d);
	check_route(&d);
	check_dkim_alignment(&d);
	check_secret(&d);
	if (a->direct_delivery)
		check_self(&d);
	else
		check_smarthost(&d);
	if (!d.dns) {
		doctor_add(&report, DOCTOR_FAIL, "dns",
		           "nameserver lines in /etc/resolv.conf",
		           "the DNS cannot be asked: %s", err_msg(&dns_err));
	} else if (d.from_domain) {
		doctor_check_spf(&d);
		doctor_check_dkim(&d);
		doctor_check_dmarc(&d);
		doctor_check_domain_records(&d);
		if (a->direct_delivery && d.self.len)
			doctor_check_reverse_dns(&d);
	}
	err_clear(&dns_err);
	if (json)
		doctor_format_json(&report, out);
	else
		doctor_format_text(&report, out);
	size_t failed = doctor_count(&report, DOCTOR_FAIL);
	int rc = EX_OK;
	if (failed)
		rc = err_set(e, DOCTOR_FAILED, "%zu check%s failed (see above)",
		             failed, failed == 1 ? "" : "s");
	doctor_report_free(&report);
	dns_resolver_close(d.dns);
	free(d.sender);
	free(d.smarthost);
	return rc;
}
