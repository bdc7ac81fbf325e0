/* session.c - connect, secure and authenticate; see session.h. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "lazylib.h"
#include "oauth.h"
#include "sasl.h"
#include "tls_cache.h"
#include "util.h"

static int connect_server(struct session *s, const struct account *a,
                          struct err *e)
{
	if (a->socket)
		return conn_open_unix(&s->conn, a->socket, a->timeout, e);
	if (a->proxy_host)
		return conn_open_socks5(&s->conn, a->proxy_host, a->proxy_port,
		                        a->host, a->port, a->source_ip,
		                        a->timeout, e);
	return conn_open_tcp(&s->conn, a->host, a->port, a->source_ip,
	                     a->timeout, e);
}

/* The account's TLS settings as plain values (tls.h: the transport never
 * reads the configuration). *cache_dir (heap, NULL without a cache) backs
 * settings->cache_dir: the caller frees it. */
static void tls_settings_for(const struct account *a,
                             struct tls_settings *settings, char **cache_dir)
{
	*cache_dir = a->tls_session_cache ? tls_cache_dir(a->env) : NULL;
	*settings = (struct tls_settings){
		.host = a->host,
		.port = a->port,
		.socket = a->socket,
		.host_override = a->tls_host_override,
		.starttls = a->tls_starttls,
		.trust_file = a->tls_trust_file,
		.crl_file = a->tls_crl_file,
		.fingerprint = a->tls_fingerprint,
		.certcheck = a->tls_certcheck,
		.cert_file = a->tls_cert_file,
		.key_file = a->tls_key_file,
		.priorities = a->tls_priorities,
		.min_dh_prime_bits = a->tls_min_dh_prime_bits,
		.session_cache = a->tls_session_cache,
		.cache_dir = *cache_dir,
	};
}

static int start_tls_with(struct session *s,
                          const struct tls_settings *settings,
                          struct tls_resumption *resume, struct err *e)
{
	int rc = tls_start_cached(s->conn, settings, resume, &s->peer, e);
	if (rc != EX_OK) {
		s->tls_failed = true;
		return rc;
	}
	s->tls = true;
	if (s->peer.warning) {
		buf_add_str(&s->warnings, s->peer.warning);
		buf_add_char(&s->warnings, '\n');
	}
	return EX_OK;
}

static int start_tls(struct session *s, const struct account *a,
                     struct tls_resumption *resume, struct err *e)
{
	struct tls_settings settings;
	char *cache_dir = NULL;
	tls_settings_for(a, &settings, &cache_dir);
	int rc = start_tls_with(s, &settings, resume, e);
	free(cache_dir);
	return rc;
}

/* RFC 3207: STARTTLS, handshake, then EHLO again (as ehlo_domain) with a
 * clean slate. The caller has checked that the server offers it. */
static int starttls_with(struct session *s, const struct tls_settings *settings,
                         const char *ehlo_domain,
                         struct tls_resumption *resume, struct err *e)
{
	struct smtp_reply r;
	smtp_reply_init(&r);
	int rc = smtp_command(s->smtp, "STARTTLS", false, &r, e);
	if (rc == EX_OK && r.code != 220)
		rc = smtp_reply_error(&r, "the server refused STARTTLS", e);
	smtp_reply_free(&r);
	if (rc != EX_OK)
		return rc;
	/* Invariant 2: anything the server sent ahead of the handshake was
	 * not protected by it; it may be an injection (CVE-2011-0411). */
	if (conn_buffered(s->conn) > 0)
		return err_set(e, EX_NOPERM,
		               "the server %s sent data after its STARTTLS reply "
		               "and before the TLS handshake (a possible "
		               "command injection); refusing to continue",
		               conn_peer_name(s->conn));
	rc = start_tls_with(s, settings, resume, e);
	if (rc != EX_OK)
		return rc;
	smtp_forget_caps(s->smtp);
	return smtp_hello(s->smtp, ehlo_domain, e);
}

static int upgrade_with_starttls(struct session *s, const struct account *a,
                                 struct tls_resumption *resume,
                                 struct err *e)
{
	if (!smtp_caps(s->smtp)->starttls)
		return err_set(e, EX_NOPERM,
		               "the server %s does not offer STARTTLS, but the "
		               "account '%s' requires TLS; refusing to continue "
		               "in clear text (a man in the middle may have "
		               "removed it)",
		               conn_peer_name(s->conn), a->name);
	struct tls_settings settings;
	char *cache_dir = NULL;
	tls_settings_for(a, &settings, &cache_dir);
	int rc = starttls_with(s, &settings, a->domain, resume, e);
	free(cache_dir);
	return rc;
}

static bool auth_wanted(const struct account *a)
{
	return a->auth && strcmp(a->auth, "off") != 0;
}

/* STARTTLS will need GnuTLS: load it now, while the server's greeting is
 * on its way, instead of after the reply to STARTTLS. Its ~1 ms then
 * hides behind the network (on loopback the greeting is there by the time
 * it is done), and the loading runs straight after our own start rather
 * than after a wait. A library that cannot be loaded is reported where it
 * is needed (tls.c). */
static void preload_tls(void)
{
	struct err ignored = ERR_INIT;
	(void)lazylib_load(LAZYLIB_GNUTLS, &ignored);
	err_clear(&ignored);
}

static int open_steps(struct session *s, const struct account *a,
                      bool skip_auth, const char *token,
                      struct tls_resumption *resume, struct err *e)
{
	struct smtp_reply greeting;
	smtp_reply_init(&greeting);
	int rc = EX_OK;
	if (a->tls && !a->tls_starttls)
		rc = start_tls(s, a, resume, e); /* implicit TLS: first */
	if (rc == EX_OK && a->tls && a->tls_starttls)
		preload_tls();
	if (rc == EX_OK)
		rc = smtp_greeting(s->smtp, &greeting, e);
	smtp_reply_free(&greeting);
	if (rc == EX_OK)
		rc = smtp_hello(s->smtp, a->domain, e);
	if (rc == EX_OK && a->tls && a->tls_starttls)
		rc = upgrade_with_starttls(s, a, resume, e);
	if (rc == EX_OK && !skip_auth && auth_wanted(a)) {
		char *warning = NULL;
		rc = sasl_authenticate(s->smtp, a, s->tls, token, &warning,
		                       e);
		if (warning) {
			buf_add_str(&s->warnings, warning);
			buf_add_char(&s->warnings, '\n');
			free(warning);
		}
		s->authenticated = rc == EX_OK;
		s->auth_failed = rc == EX_NOPERM;
	}
	return rc;
}

static int open_once(struct session *s, const struct account *a,
                     const struct session_trace *trace, bool skip_auth,
                     const char *token, struct tls_resumption *resume,
                     struct err *e)
{
	memset(s, 0, sizeof *s);
	int rc = connect_server(s, a, e);
	if (rc != EX_OK)
		return rc;
	s->smtp = smtp_session_new(s->conn, a->protocol,
	                           trace ? trace->line : NULL,
	                           trace ? trace->ctx : NULL);
	rc = open_steps(s, a, skip_auth, token, resume, e);
	/* RFC 5321 4.1.1.10: the client ends a session with QUIT, also
	 * after a refusal, temporary (a 454 to AUTH) or not. Not into a
	 * stream that is no longer sane: after a failed handshake (session
	 * here), a timeout, a dropped line or a reply that made no sense
	 * (smtp_quit knows those and stays silent). */
	if (rc != EX_OK)
		session_close(s, !s->tls_failed);
	return rc;
}

static int open_with_token(struct session *s, const struct account *a,
                           const struct session_trace *trace, bool skip_auth,
                           const char *token, struct err *e)
{
	struct tls_resumption resume = {0};
	int rc = open_once(s, a, trace, skip_auth, token, &resume, e);
	if (rc != EX_OK && resume.retry) {
		/* A cached TLS session was offered and the handshake or its
		 * verification failed: that says nothing about the server's
		 * current certificate. Once more, with a full handshake
		 * (tls.h); its verdict is the one that counts. */
		resume = (struct tls_resumption){.fresh = true};
		err_clear(e);
		rc = open_once(s, a, trace, skip_auth, token, &resume, e);
	}
	return rc;
}

/* Built-in OAuth (oauth.h): the token is got before any connection to
 * the SMTP server, so a token endpoint that is down costs no SMTP
 * session. A stored token the server refuses (revoked before its time)
 * is forgotten and a fresh one tried, once. */
int session_open(struct session *s, const struct account *a,
                 const struct session_trace *trace, bool skip_auth,
                 struct err *e)
{
	memset(s, 0, sizeof *s);
	if (skip_auth || !oauth_enabled(a))
		return open_with_token(s, a, trace, skip_auth, NULL, e);
	struct oauth_trace ot = {trace ? trace->line : NULL,
	                         trace ? trace->ctx : NULL};
	char *token = NULL;
	bool fresh = false;
	int rc = oauth_access_token(a, &ot, &token, &fresh, e);
	if (rc == EX_OK)
		rc = open_with_token(s, a, trace, skip_auth, token, e);
	if (rc == EX_NOPERM && s->auth_failed && !fresh) {
		free_secret(token);
		token = NULL;
		oauth_forget_access_token(a);
		struct err again = ERR_INIT;
		if (oauth_access_token(a, &ot, &token, &fresh, &again) ==
		    EX_OK) {
			err_clear(e);
			rc = open_with_token(s, a, trace, skip_auth, token, e);
		}
		err_clear(&again);
	}
	free_secret(token);
	return rc;
}

void session_close(struct session *s, bool send_quit)
{
	if (s->smtp && send_quit)
		smtp_quit(s->smtp);
	smtp_session_free(s->smtp);
	conn_close(s->conn);
	tls_peer_free(&s->peer);
	buf_free(&s->warnings);
	s->smtp = NULL;
	s->conn = NULL;
}

/* ---- a session with an MX host (direct delivery) ---------------------- */

static const char *mx_tls_requirement(enum mx_tls tls)
{
	switch (tls) {
	case MX_TLS_DANE:
		return "its DNSSEC-signed TLSA records require TLS";
	case MX_TLS_VERIFY:
	case MX_TLS_VERIFY_TESTING:
		return "its domain's MTA-STS policy requires TLS";
	default:
		return "the account requires TLS (tls on)";
	}
}

/* The TLS settings for an MX host: the account's client certificate and
 * priorities; the verification t->tls asks for. */
static void mx_tls_settings(const struct account *a, const struct mx_target *t,
                            struct tls_settings *settings, char **cache_dir)
{
	bool verify = t->tls == MX_TLS_VERIFY || t->tls == MX_TLS_VERIFY_TESTING;
	*cache_dir = verify && a->tls_session_cache ? tls_cache_dir(a->env)
	                                            : NULL;
	*settings = (struct tls_settings){
		.host = t->name,
		.port = t->port,
		.starttls = true,
		.trust_file = a->tls_trust_file,
		.crl_file = a->tls_crl_file,
		.certcheck = verify,
		.cert_file = a->tls_cert_file,
		.key_file = a->tls_key_file,
		.priorities = a->tls_priorities,
		.min_dh_prime_bits = a->tls_min_dh_prime_bits,
		.session_cache = *cache_dir != NULL,
		.cache_dir = *cache_dir,
		.opportunistic = !verify && t->tls != MX_TLS_DANE,
		.dane = t->tls == MX_TLS_DANE ? t->dane : NULL,
		.dane_names = t->dane_names,
		.dane_name_count = t->dane_name_count,
	};
}

static int mx_starttls(struct session *s, const struct account *a,
                       const struct mx_target *t,
                       struct tls_resumption *resume, struct err *e)
{
	if (!smtp_caps(s->smtp)->starttls) {
		if (t->tls == MX_TLS_MAY)
			return EX_OK; /* RFC 3207 4: opportunistic, in clear */
		s->tls_unmet = true;
		/* RFC 8461 4.2 / RFC 7672 2.2: a stripped STARTTLS is what
		 * these policies exist to catch: try another MX later. */
		return err_set(e, EX_TEMPFAIL,
		               "the MX host %s does not offer STARTTLS, but %s; "
		               "not delivering in clear text (a man in the "
		               "middle may have removed it)",
		               conn_peer_name(s->conn), mx_tls_requirement(t->tls));
	}
	struct tls_settings settings;
	char *cache_dir = NULL;
	mx_tls_settings(a, t, &settings, &cache_dir);
	int rc = starttls_with(s, &settings, a->domain, resume, e);
	free(cache_dir);
	s->tls_unmet = rc != EX_OK && (s->tls_failed || !s->tls);
	return rc;
}

static int open_mx_once(struct session *s, const struct account *a,
                        const struct mx_target *t,
                        const struct session_trace *trace,
                        struct tls_resumption *resume, struct err *e)
{
	memset(s, 0, sizeof *s);
	int rc = conn_open_address(&s->conn, t->name, t->address,
	                           t->address_len, t->port, a->source_ip,
	                           a->timeout, e);
	if (rc != EX_OK)
		return rc;
	s->smtp = smtp_session_new(s->conn, PROTOCOL_SMTP,
	                           trace ? trace->line : NULL,
	                           trace ? trace->ctx : NULL);
	struct smtp_reply greeting;
	smtp_reply_init(&greeting);
	rc = smtp_greeting(s->smtp, &greeting, e);
	smtp_reply_free(&greeting);
	if (rc == EX_OK)
		rc = smtp_hello(s->smtp, a->domain, e);
	if (rc == EX_OK && t->tls != MX_TLS_NONE)
		rc = mx_starttls(s, a, t, resume, e);
	if (rc != EX_OK)
		session_close(s, !s->tls_failed);
	return rc;
}

int session_open_mx(struct session *s, const struct account *a,
                    const struct mx_target *t,
                    const struct session_trace *trace, struct err *e)
{
	struct tls_resumption resume = {0};
	int rc = open_mx_once(s, a, t, trace, &resume, e);
	if (rc != EX_OK && resume.retry) {
		resume = (struct tls_resumption){.fresh = true};
		err_clear(e);
		rc = open_mx_once(s, a, t, trace, &resume, e);
	}
	return rc;
}
