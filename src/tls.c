/* tls.c - GnuTLS client sessions; see tls.h. */
#include "tls.h"
#include "tls_trust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dane.h"
#include "lazylib.h"
#include "tls_cache.h"
#include "util.h"

#define FINGERPRINT_MAX 32 /* SHA-256 */

/* ---- the transport conn uses after the handshake ---------------------- */

struct tls_ctx {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	size_t pending_send; /* length of a record send that returned AGAIN */
	char *peer;          /* for messages */
	struct tls_cache_slot *cache; /* NULL: no session cache */
	bool verified;       /* the peer was verified: its ticket may be kept */
	bool pinned;         /* by tls_fingerprint, which checks no dates */
};

static void tls_ctx_free(void *ctx)
{
	struct tls_ctx *t = ctx;
	if (!t)
		return;
	if (t->session)
		gnutls_deinit(t->session);
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	tls_cache_slot_free(t->cache);
	free(t->peer);
	free(t);
}

static ssize_t tls_recv(void *ctx, void *buf, size_t len, struct err *e)
{
	struct tls_ctx *t = ctx;
	for (;;) {
		ssize_t n = gnutls_record_recv(t->session, buf, len);
		if (n >= 0)
			return n;
		switch (n) {
		case GNUTLS_E_AGAIN:
		case GNUTLS_E_INTERRUPTED:
			return CONN_AGAIN;
		case GNUTLS_E_REHANDSHAKE:
			/* A TLS 1.2 renegotiation request: a client may
			 * ignore it (RFC 5246 7.4.1.1); read on. */
			continue;
		case GNUTLS_E_PREMATURE_TERMINATION:
			/* Closed without close_notify. SMTP frames its own
			 * data (CRLF lines, end of data), so a truncation
			 * cannot pass as a complete reply: treat as EOF. */
			return 0;
		default:
			if (!gnutls_error_is_fatal((int)n))
				continue; /* a warning alert */
			err_set(e, EX_TEMPFAIL,
			        "TLS error receiving from %s: %s", t->peer,
			        gnutls_strerror((int)n));
			return CONN_FAILED;
		}
	}
}

static ssize_t tls_send(void *ctx, const void *buf, size_t len, struct err *e)
{
	struct tls_ctx *t = ctx;
	/* After GNUTLS_E_AGAIN the record is already encrypted and queued:
	 * GnuTLS wants the same length again, and conn retries with the
	 * same unsent bytes (it was told nothing moved). */
	if (t->pending_send) {
		if (len < t->pending_send) {
			err_set(e, EX_SOFTWARE,
			        "TLS send retried with fewer bytes");
			return CONN_FAILED;
		}
		len = t->pending_send;
	}
	ssize_t n = gnutls_record_send(t->session, buf, len);
	if (n >= 0) {
		t->pending_send = 0;
		return n;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		t->pending_send = len;
		return CONN_AGAIN;
	}
	err_set(e, EX_TEMPFAIL, "TLS error sending to %s: %s", t->peer,
	        gnutls_strerror((int)n));
	return CONN_FAILED;
}

static bool tls_wants_write(void *ctx)
{
	struct tls_ctx *t = ctx;
	return gnutls_record_get_direction(t->session) == 1;
}

static size_t tls_pending(void *ctx)
{
	struct tls_ctx *t = ctx;
	return gnutls_record_check_pending(t->session);
}

static void keep_ticket(struct tls_ctx *t);

static void tls_close(void *ctx)
{
	struct tls_ctx *t = ctx;
	keep_ticket(t);
	/* close_notify, one non-blocking attempt: never wait for the
	 * server's answer (we are leaving anyway). */
	gnutls_bye(t->session, GNUTLS_SHUT_WR);
}

static const struct conn_transport tls_transport = {
	tls_recv,    tls_send,  tls_wants_write,
	tls_pending, tls_close, tls_ctx_free,
};

/* ---- configuration ---------------------------------------------------- */

int tls_parse_fingerprint(const char *text, unsigned char *out, size_t *len,
			  struct err *e)
{
	size_t n = 0;
	const char *p = text;
	while (*p) {
		int hi = ascii_hex_value(p[0]);
		int lo = hi >= 0 ? ascii_hex_value(p[1]) : -1;
		if (lo < 0 || n == FINGERPRINT_MAX)
			goto bad;
		out[n++] = (unsigned char)(hi << 4 | lo);
		p += 2;
		if (*p == ':' && p[1])
			p++;
	}
	if (n == 16 || n == 20 || n == 32) {
		*len = n;
		return EX_OK;
	}
bad:
	return err_set(e, EX_CONFIG,
	               "invalid tls_fingerprint '%s': expected a SHA-256 (or "
	               "SHA-1, MD5) fingerprint as hex pairs, e.g. "
	               "'AB:CD:...' (outbox --serverinfo shows it)",
	               text);
}

static void format_fingerprint(const unsigned char *p, size_t len,
			       struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		if (i)
			buf_add_char(out, ':');
		buf_add_char(out, hex[p[i] >> 4]);
		buf_add_char(out, hex[p[i] & 15]);
	}
}

static int check_readable(const char *path, const char *directive,
			  struct err *e)
{
	if (access(path, R_OK) == 0)
		return EX_OK;
	return err_set(e, EX_CONFIG, "cannot read %s '%s': %s", directive,
	               path, strerror(errno));
}

/* How the peer is verified: the first that applies (tls.h). */
enum verification {
	VERIFY_DANE,
	VERIFY_NOTHING_OPPORTUNISTIC,
	VERIFY_PIN,
	VERIFY_NOTHING_CERTCHECK_OFF,
	VERIFY_CHAIN,
};

static enum verification verification_of(const struct tls_settings *s)
{
	if (s->dane && s->dane->count > 0)
		return VERIFY_DANE;
	if (s->opportunistic)
		return VERIFY_NOTHING_OPPORTUNISTIC;
	if (s->fingerprint)
		return VERIFY_PIN;
	return s->certcheck ? VERIFY_CHAIN : VERIFY_NOTHING_CERTCHECK_OFF;
}

/* Whether a trust store (system or tls_trust_file) is consulted. */
static bool wants_verification(const struct tls_settings *s)
{
	return verification_of(s) == VERIFY_CHAIN;
}

static bool uses_system_trust(const struct tls_settings *s)
{
	return !s->trust_file || strcmp(s->trust_file, "system") == 0;
}

static int load_crl(gnutls_certificate_credentials_t cred,
		    const struct tls_settings *s, struct err *e)
{
	if (!s->crl_file)
		return EX_OK;
	int r = gnutls_certificate_set_x509_crl_file(cred, s->crl_file,
	                                             GNUTLS_X509_FMT_PEM);
	if (r < 0)
		return err_set(e, EX_CONFIG, "cannot load tls_crl_file '%s': %s",
		               s->crl_file, gnutls_strerror(r));
	return EX_OK;
}

/* tls_trust_file and tls_crl_file, for the verification of a full
 * handshake: loaded only then, after the handshake (load_credentials has
 * checked that they can be read). A resumed session never reads them: its
 * chain was verified against the same files in an earlier session (the
 * cache key holds their digests), and parsing the trust file was ~0.2 M
 * instructions of a 7.4 M warm run (performance budget). */
static int load_trust_file(gnutls_certificate_credentials_t cred,
			   const struct tls_settings *s, struct err *e)
{
	int r = gnutls_certificate_set_x509_trust_file(cred, s->trust_file,
	                                               GNUTLS_X509_FMT_PEM);
	if (r <= 0)
		return err_set(e, EX_CONFIG,
		               "tls_trust_file '%s' holds no usable PEM "
		               "certificate%s%s",
		               s->trust_file, r < 0 ? ": " : "",
		               r < 0 ? gnutls_strerror(r) : "");
	return load_crl(cred, s, e);
}

/* Credentials: the client certificate and, when the chain will be
 * verified (performance budget: not with a pin or tls_certcheck off), the
 * trust: the system store is prepared here and completed after the
 * handshake (tls_trust.h), a trust file and a CRL file are only checked
 * for readability here, so that a configuration error is reported before
 * the handshake, and loaded after it (load_trust_file). */
static int load_credentials(gnutls_certificate_credentials_t cred,
			    const struct tls_settings *s, struct err *e)
{
	int r;
	const char *trust = s->trust_file;
	if (wants_verification(s)) {
		if (trust && !*trust)
			return err_set(
			        e, EX_CONFIG,
			        "tls_trust_file is empty and tls_fingerprint "
			        "is not set: there is nothing to verify the "
			        "server's certificate with");
		if (!uses_system_trust(s) &&
		    check_readable(trust, "tls_trust_file", e) != EX_OK)
			return e->code;
		if (s->crl_file && check_readable(s->crl_file, "tls_crl_file",
		                                  e) != EX_OK)
			return e->code;
		if (uses_system_trust(s) &&
		    (tls_trust_system_prepare(cred, e) != EX_OK ||
		     load_crl(cred, s, e) != EX_OK))
			return e->code;
	}
	if (!s->cert_file != !s->key_file)
		return err_set(e, EX_CONFIG,
		               "tls_cert_file and tls_key_file must be set "
		               "together");
	if (s->cert_file) {
		if (check_readable(s->cert_file, "tls_cert_file", e) !=
		            EX_OK ||
		    check_readable(s->key_file, "tls_key_file", e) !=
		            EX_OK)
			return e->code;
		r = gnutls_certificate_set_x509_key_file(
		        cred, s->cert_file, s->key_file,
		        GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(
			        e, EX_CONFIG,
			        "cannot load the client certificate "
			        "tls_cert_file '%s' with tls_key_file '%s': "
			        "%s",
			        s->cert_file, s->key_file,
			        gnutls_strerror(r));
	}
	return EX_OK;
}

static bool is_ip_literal(const char *name)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, name, addr) == 1 ||
	       inet_pton(AF_INET6, name, addr) == 1;
}

/* The name to verify and send as SNI: tls_host_override or host, as an
 * A-label (RFC 5890) and without a trailing dot. NULL when there is none
 * (a unix socket account). */
static int reference_name(const struct tls_settings *s, char **out, struct err *e)
{
	const char *name =
	        s->host_override ? s->host_override : s->host;
	*out = NULL;
	if (!name || !*name)
		return EX_OK;
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		ascii = ascii && *p < 0x80;
	if (ascii) {
		*out = xstrdup(name);
	} else {
		if (lazylib_load(LAZYLIB_IDN2, e) != EX_OK)
			return e->code;
		char *alabel = NULL;
		int r = idn2_to_ascii_8z(name, &alabel, IDN2_NONTRANSITIONAL);
		if (r != IDN2_OK)
			return err_set(e, EX_CONFIG,
			               "host name '%s' is not a valid "
			               "internationalized domain name: %s",
			               name, idn2_strerror(r));
		*out = xstrdup(alabel);
		idn2_free(alabel);
	}
	size_t len = strlen(*out);
	if (len > 1 && (*out)[len - 1] == '.')
		(*out)[len - 1] = '\0';
	return EX_OK;
}

/* ---- handshake -------------------------------------------------------- */

static int handshake_error(gnutls_session_t session, int r, const char *peer,
			   struct err *e)
{
	switch (r) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED: {
		gnutls_alert_description_t alert = gnutls_alert_get(session);
		const char *name = gnutls_alert_get_name(alert);
		/* internal_error is the server's own trouble; every other
		 * alert refuses what we offered, and will again. */
		return err_set(
		        e,
		        alert == GNUTLS_A_INTERNAL_ERROR ? EX_TEMPFAIL
		                                         : EX_UNAVAILABLE,
		        "the server %s refused the TLS handshake: %s%s", peer,
		        name ? name : "unknown alert",
		        alert == GNUTLS_A_PROTOCOL_VERSION ||
		                        alert == GNUTLS_A_HANDSHAKE_FAILURE
		                ? " (no TLS version or cipher in common: see "
		                  "tls_priorities)"
		                : "");
	}
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_TIMEDOUT:
		return err_set(e, EX_TEMPFAIL,
		               "the connection to %s broke during the TLS "
		               "handshake: %s",
		               peer, gnutls_strerror(r));
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNEXPECTED_PACKET:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_RECORD_OVERFLOW:
		return err_set(e, EX_PROTOCOL,
		               "the server %s does not speak TLS on this port "
		               "(%s); if it expects STARTTLS, set "
		               "tls_starttls on",
		               peer, gnutls_strerror(r));
	case GNUTLS_E_DH_PRIME_UNACCEPTABLE:
		return err_set(e, EX_NOPERM,
		               "the server %s offered a Diffie-Hellman prime "
		               "smaller than tls_min_dh_prime_bits",
		               peer);
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
		return err_set(
		        e, EX_UNAVAILABLE,
		        "cannot agree on TLS parameters with %s: %s (see "
		        "tls_priorities)",
		        peer, gnutls_strerror(r));
	default:
		return err_set(e, EX_PROTOCOL,
		               "the TLS handshake with %s failed: %s", peer,
		               gnutls_strerror(r));
	}
}

static int run_handshake(struct conn *c, gnutls_session_t session,
			 struct err *e)
{
	for (;;) {
		int r = gnutls_handshake(session);
		if (r == GNUTLS_E_SUCCESS)
			return EX_OK;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			bool for_write =
			        gnutls_record_get_direction(session) == 1;
			int rc = conn_wait(c, for_write,
			                   "during the TLS handshake with", e);
			if (rc != EX_OK)
				return rc;
			continue;
		}
		if (!gnutls_error_is_fatal(r))
			continue; /* a warning alert */
		return handshake_error(session, r, conn_peer_name(c), e);
	}
}

/* ---- verification ----------------------------------------------------- */

static char *datum_to_string(gnutls_datum_t *d)
{
	char *s = xstrndup(d->data ? (const char *)d->data : "", d->size);
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

/* The end-entity certificate, parsed; false when it cannot be. */
static bool parse_certificate(const gnutls_datum_t *der, gnutls_x509_crt_t *crt)
{
	if (gnutls_x509_crt_init(crt) < 0)
		return false;
	if (gnutls_x509_crt_import(*crt, der, GNUTLS_X509_FMT_DER) >= 0)
		return true;
	gnutls_x509_crt_deinit(*crt);
	return false;
}

void tls_peer_describe(struct tls_peer *p)
{
	if (p->described || !p->der)
		return;
	p->described = true;
	const gnutls_datum_t der = {p->der, (unsigned)p->der_len};
	gnutls_x509_crt_t crt;
	bool parsed = parse_certificate(&der, &crt);
	gnutls_datum_t d = {NULL, 0};
	p->subject = parsed && gnutls_x509_crt_get_dn3(crt, &d, 0) == 0
	                     ? datum_to_string(&d)
	                     : xstrdup("");
	p->issuer = parsed && gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) == 0
	                    ? datum_to_string(&d)
	                    : xstrdup("");
	p->activation =
	        parsed ? gnutls_x509_crt_get_activation_time(crt) : (time_t)-1;
	p->expiration =
	        parsed ? gnutls_x509_crt_get_expiration_time(crt) : (time_t)-1;
	if (parsed)
		gnutls_x509_crt_deinit(crt);
	unsigned char fp[FINGERPRINT_MAX];
	size_t len = sizeof fp;
	struct buf hex = BUF_INIT;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &der, fp, &len) == 0)
		format_fingerprint(fp, len, &hex);
	p->sha256 = buf_steal(&hex);
	len = sizeof fp;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA1, &der, fp, &len) == 0)
		format_fingerprint(fp, len, &hex);
	p->sha1 = buf_steal(&hex);
}

/* What every tls_peer holds from the start: the session's description and
 * a copy of the end-entity certificate for tls_peer_describe (a send never
 * asks for the rest: parsing costs ~5% of a resumed send). */
static void start_peer(gnutls_session_t session, const gnutls_datum_t *der,
		       struct tls_peer *p)
{
	p->der = xmalloc(der->size ? der->size : 1);
	memcpy(p->der, der->data, der->size);
	p->der_len = der->size;
	p->activation = p->expiration = (time_t)-1;
	char *desc = gnutls_session_get_desc(session);
	p->description = xstrdup(desc ? desc : "");
	gnutls_free(desc);
}

static int check_pin(const gnutls_datum_t *der, const char *pin,
		     const char *peer, struct err *e)
{
	unsigned char want[FINGERPRINT_MAX], got[FINGERPRINT_MAX];
	size_t want_len = 0, got_len = sizeof got;
	int rc = tls_parse_fingerprint(pin, want, &want_len, e);
	if (rc != EX_OK)
		return rc;
	gnutls_digest_algorithm_t alg = want_len == 32   ? GNUTLS_DIG_SHA256
	                                : want_len == 20 ? GNUTLS_DIG_SHA1
	                                                 : GNUTLS_DIG_MD5;
	if (gnutls_fingerprint(alg, der, got, &got_len) != 0 ||
	    got_len != want_len)
		return err_set(e, EX_SOFTWARE,
		               "cannot compute the certificate's fingerprint");
	if (memcmp(want, got, want_len) == 0)
		return EX_OK;
	struct buf hex = BUF_INIT;
	format_fingerprint(got, got_len, &hex);
	err_set(e, EX_NOPERM,
	        "the TLS certificate of %s does not match tls_fingerprint: its "
	        "%s fingerprint is %s",
	        peer, gnutls_digest_get_name(alg), buf_str(&hex));
	buf_free(&hex);
	return EX_NOPERM;
}

static int check_chain(gnutls_session_t session, const char *peer,
		       struct err *e)
{
	/* Chain, validity dates, revocation, and the serverAuth purpose. */
	gnutls_typed_vdata_st purpose = {
		GNUTLS_DT_KEY_PURPOSE_OID,
		(unsigned char *)GNUTLS_KP_TLS_WWW_SERVER,
		0,
	};
	unsigned status = 0;
	int r = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
	if (r < 0)
		return err_set(e, EX_NOPERM,
		               "cannot verify the TLS certificate of %s: %s",
		               peer, gnutls_strerror(r));
	if (status == 0)
		return EX_OK;
	gnutls_datum_t text = {NULL, 0};
	char *why = NULL;
	if (gnutls_certificate_verification_status_print(
	            status, GNUTLS_CRT_X509, &text, 0) == 0)
		why = datum_to_string(&text);
	size_t n = why ? strlen(why) : 0;
	while (n && why[n - 1] == ' ')
		why[--n] = '\0';
	err_set(e, EX_NOPERM,
	        "the TLS certificate of %s is not trusted: %s (set "
	        "tls_trust_file to the authority that signed it, or pin it "
	        "with tls_fingerprint)",
	        peer, why ? why : "verification failed");
	free(why);
	return EX_NOPERM;
}

/* The certificate must be valid for the name we asked for (SNI). */
static int check_name(const gnutls_datum_t *der, const char *name,
		      const char *peer, struct tls_peer *info, struct err *e)
{
	if (!name)
		return err_set(e, EX_CONFIG,
		               "no host name to check the TLS certificate of "
		               "%s against: set tls_host_override",
		               peer);
	gnutls_x509_crt_t crt;
	if (!parse_certificate(der, &crt))
		return err_set(e, EX_NOPERM,
		               "the TLS certificate of %s cannot be parsed",
		               peer);
	bool valid = gnutls_x509_crt_check_hostname2(crt, name, 0) != 0;
	gnutls_x509_crt_deinit(crt);
	if (valid)
		return EX_OK;
	tls_peer_describe(info);
	return err_set(e, EX_NOPERM,
	               "the TLS certificate of %s is not valid for the name "
	               "'%s' (its subject is %s; see tls_host_override)",
	               peer, name, info->subject);
}

/* A resumed session (tls_cache.h): the server has proved that it holds
 * the secret of an earlier handshake whose chain and name verified against
 * the same trust (the cache key holds the trust and CRL files' digests, or
 * the system bundle's identity, and the name), so nothing need be checked
 * again but time: the entry it was resumed from stands for that verdict
 * only between when it was stored and the chain's earliest notAfter. The
 * entry was within that window when it was offered; the handshake may
 * have taken until now. Anything amiss ends the resumed attempt, and the
 * full handshake that follows gives the verdict (tls.h). */
static int check_resumed(const struct tls_cache_slot *cache, const char *peer,
			 struct err *e)
{
	if (cache && tls_cache_vouches(cache, time(NULL)))
		return EX_OK;
	return err_set(e, EX_NOPERM,
	               "a certificate of %s's resumed session is not valid "
	               "now",
	               peer);
}

static char *certcheck_off_warning(const char *peer, struct tls_peer *info)
{
	tls_peer_describe(info);
	struct buf w = BUF_INIT;
	buf_printf(&w,
	           "warning: the TLS certificate of %s is not "
	           "verified (tls_certcheck off): anyone on the path "
	           "can impersonate the server and read the password "
	           "and the mail; pin it instead with tls_fingerprint "
	           "%s",
	           peer, info->sha256);
	return buf_steal(&w);
}

/* DANE (dane.h): the reference identifiers are dane_names, or the name
 * asked for (SNI), which the caller has set to the TLSA base domain. */
static int check_dane(const gnutls_datum_t *certs, unsigned count,
		      const struct tls_settings *s, const char *name,
		      const char *peer, struct tls_peer *info, struct err *e)
{
	const char *const *names = s->dane_names;
	size_t name_count = s->dane_name_count;
	const char *own[] = {name};
	if (!names || name_count == 0) {
		names = own;
		name_count = name ? 1 : 0;
	}
	/* RFC 7672 2.2.1 (RFC 6698 3): where the records were found */
	struct buf owner = BUF_INIT;
	if (name && s->port > 0)
		buf_printf(&owner, "_%d._tcp.%s", s->port, name);
	int rc = dane_verify_chain(s->dane, certs, count, names, name_count,
	                           time(NULL), peer,
	                           owner.len ? buf_str(&owner) : NULL,
	                           &info->dane, e);
	buf_free(&owner);
	return rc;
}

static int verify_peer(const struct tls_ctx *t, const struct tls_settings *s,
		       const char *name, const char *peer,
		       struct tls_peer *info, struct err *e)
{
	gnutls_session_t session = t->session;
	if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
		return err_set(e, EX_NOPERM,
		               "the server %s did not present an X.509 "
		               "certificate",
		               peer);
	unsigned count = 0;
	const gnutls_datum_t *certs =
	        gnutls_certificate_get_peers(session, &count);
	if (!certs || count == 0)
		return err_set(e, EX_NOPERM,
		               "the server %s presented no TLS certificate",
		               peer);
	start_peer(session, &certs[0], info);
	int rc = EX_OK;
	enum verification how = verification_of(s);
	switch (how) {
	case VERIFY_DANE:
		rc = check_dane(certs, count, s, name, peer, info, e);
		break;
	case VERIFY_NOTHING_OPPORTUNISTIC:
		/* RFC 7435: nothing to verify against, nothing to warn of */
		break;
	case VERIFY_PIN:
		rc = check_pin(&certs[0], s->fingerprint, peer, e);
		break;
	case VERIFY_NOTHING_CERTCHECK_OFF:
		info->warning = certcheck_off_warning(peer, info);
		break;
	case VERIFY_CHAIN:
		if (gnutls_session_is_resumed(session)) {
			rc = check_resumed(t->cache, peer, e);
			break;
		}
		rc = uses_system_trust(s) ? tls_trust_system_complete(session, e)
		                          : load_trust_file(t->cred, s, e);
		if (rc == EX_OK)
			rc = check_chain(session, peer, e);
		if (rc == EX_OK)
			rc = check_name(&certs[0], name, peer, info, e);
		break;
	}
	info->verified = rc == EX_OK && how != VERIFY_NOTHING_OPPORTUNISTIC &&
	                 how != VERIFY_NOTHING_CERTCHECK_OFF;
	return rc;
}

/* ---- session cache (tls_cache.h) -------------------------------------- */

/* Open the cache entry for a's identity and, unless resume->fresh, offer
 * its ticket. Only when the peer is going to be verified by a pin or a
 * chain: with tls_certcheck off or opportunistic there is no verdict a
 * ticket could stand for, and with DANE the verdict rests on DNS records
 * the cache key does not hold (they may have changed since). Returns
 * whether a ticket was offered. */
static bool offer_cached_session(struct tls_ctx *t, const struct tls_settings *s,
				 const char *name,
				 const struct tls_resumption *resume)
{
	enum verification how = verification_of(s);
	if (!s->session_cache || (how != VERIFY_PIN && how != VERIFY_CHAIN))
		return false;
	const struct tls_cache_identity id = {
		.host = s->host,
		.port = s->port,
		.socket = s->socket,
		.server_name = name,
		.starttls = s->starttls,
		.certcheck = s->certcheck,
		.fingerprint = s->fingerprint,
		.trust_file = s->trust_file,
		.crl_file = s->crl_file,
		.cert_file = s->cert_file,
		.key_file = s->key_file,
		.priorities = s->priorities && *s->priorities
		                      ? s->priorities
		                      : TLS_DEFAULT_PRIORITIES,
		.min_dh_prime_bits = s->min_dh_prime_bits,
		.library_version = gnutls_check_version(NULL),
	};
	t->cache = tls_cache_slot_new(&id, s->cache_dir);
	if (!t->cache || resume->fresh)
		return false;
	struct buf data = BUF_INIT;
	bool offered = false;
	if (tls_cache_load(t->cache, &data)) {
		offered = gnutls_session_set_data(t->session, data.data,
		                                  data.len) == 0;
		if (!offered)
			tls_cache_discard(t->cache);
	}
	buf_wipe(&data);
	return offered;
}

/* The earliest notAfter of the peer's chain, the end of the time a ticket
 * may stand for its verdict (tls_cache.h); -1 when a certificate cannot
 * be parsed (then nothing is kept). */
static time_t chain_not_after(gnutls_session_t session)
{
	unsigned count = 0;
	const gnutls_datum_t *certs =
	        gnutls_certificate_get_peers(session, &count);
	time_t earliest = (time_t)-1;
	for (unsigned i = 0; certs && i < count; i++) {
		gnutls_x509_crt_t crt;
		if (!parse_certificate(&certs[i], &crt))
			return (time_t)-1;
		time_t t = gnutls_x509_crt_get_expiration_time(crt);
		gnutls_x509_crt_deinit(crt);
		if (t == (time_t)-1)
			return (time_t)-1;
		if (earliest == (time_t)-1 || t < earliest)
			earliest = t;
	}
	return earliest;
}

/* At close: keep the ticket the server sent in this connection (TLS 1.3
 * sends it after the handshake, so it has arrived with the replies read
 * since), when the peer was verified, unless the session was resumed with
 * an entry that is still fresh (tls_cache.h: Reuse). Without the flag
 * GnuTLS would wait for a ticket, or return one that cannot resume. */
static void keep_ticket(struct tls_ctx *t)
{
	if (!t->cache || !t->verified ||
	    !(gnutls_session_get_flags(t->session) &
	      GNUTLS_SFLAGS_SESSION_TICKET) ||
	    (gnutls_session_is_resumed(t->session) &&
	     tls_cache_fresh(t->cache)))
		return;
	/* A chain's verdict holds while its certificates are valid; a pin's
	 * whatever their dates (tls_fingerprint checks none). */
	time_t not_after = t->pinned ? time(NULL) + TLS_CACHE_LIFETIME
	                             : chain_not_after(t->session);
	if (not_after == (time_t)-1)
		return;
	gnutls_datum_t d = {NULL, 0};
	if (gnutls_session_get_data2(t->session, &d) == 0 && d.data) {
		tls_cache_store(t->cache, d.data, d.size, not_after);
		secure_zero(d.data, d.size);
	}
	gnutls_free(d.data);
}

/* ---- tls_start -------------------------------------------------------- */

static int setup_session(struct tls_ctx *t, struct conn *c,
			 const struct tls_settings *s, const char *name,
			 struct err *e)
{
	/* GNUTLS_KEY_SHARE_TOP: a TLS 1.3 ClientHello carries one key
	 * share, for the first group of the priorities (X25519 with
	 * TLS_DEFAULT_PRIORITIES), instead of GnuTLS's default two (X25519
	 * and P-256 here). Every handshake, resumed ones too (psk_dhe_ke),
	 * generated both key pairs and used one: the P-256 key generation
	 * was ~0.47 M instructions of a 7.9 M warm run. A server without
	 * X25519 answers with a HelloRetryRequest naming its group: one
	 * more round trip for it, and still one key pair. */
	int r = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	                                         GNUTLS_NO_SIGNAL |
	                                         GNUTLS_KEY_SHARE_TOP);
	if (r < 0) {
		t->session = NULL;
		return err_set(e, EX_SOFTWARE, "cannot start TLS: %s",
		               gnutls_strerror(r));
	}
	const char *prio = s->priorities && *s->priorities
	                           ? s->priorities
	                           : TLS_DEFAULT_PRIORITIES;
	const char *where = NULL;
	r = gnutls_priority_set_direct(t->session, prio, &where);
	if (r < 0)
		return err_set(e, EX_CONFIG,
		               "invalid tls_priorities '%s' (at '%s'): %s",
		               prio, where ? where : "", gnutls_strerror(r));
	r = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE,
	                           t->cred);
	if (r < 0)
		return err_set(e, EX_SOFTWARE, "cannot start TLS: %s",
		               gnutls_strerror(r));
	/* RFC 6066 section 3: SNI carries DNS names only, not addresses. */
	if (name && !is_ip_literal(name)) {
		r = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, name,
		                           strlen(name));
		if (r < 0)
			return err_set(
			        e, EX_CONFIG,
			        "cannot use '%s' as the TLS server name: %s",
			        name, gnutls_strerror(r));
	}
	if (s->min_dh_prime_bits > 0)
		gnutls_dh_set_prime_bits(t->session,
		                         (unsigned)s->min_dh_prime_bits);
	gnutls_handshake_set_timeout(t->session, GNUTLS_INDEFINITE_TIMEOUT);
	gnutls_transport_set_int(t->session, conn_fd(c));
	return EX_OK;
}

/* A tls_trust_file that is the system bundle itself (msmtp's usual
 * /etc/ssl/certs/ca-certificates.crt, or a link to it: the same file) is
 * the system store: the same certificates, so the same verdicts, read the
 * cheap way (tls_trust.h) and stamped in the cache key rather than hashed
 * whole on every run. */
static bool names_system_bundle(const char *path)
{
	struct stat file, bundle;
	return path && *path && strcmp(path, "system") != 0 &&
	       *TLS_TRUST_SYSTEM_BUNDLE && stat(path, &file) == 0 &&
	       stat(TLS_TRUST_SYSTEM_BUNDLE, &bundle) == 0 &&
	       file.st_dev == bundle.st_dev && file.st_ino == bundle.st_ino;
}

static int start(struct conn *c, const struct tls_settings *given,
		 struct tls_resumption *resume, struct tls_peer *peer_out,
		 struct err *e)
{
	struct tls_settings settings = *given;
	if (names_system_bundle(settings.trust_file))
		settings.trust_file = NULL;
	const struct tls_settings *s = &settings;
	const char *peer = conn_peer_name(c);
	struct tls_peer info = {0};
	char *name = NULL;
	/* Loaded on first use (lazylib.h): a library that cannot be loaded
	 * is reported here, the usual way. */
	if (lazylib_load(LAZYLIB_GNUTLS, e) != EX_OK)
		return e->code;
	struct tls_ctx *t = xcalloc(1, sizeof *t);
	t->peer = xstrdup(peer);
	int rc = reference_name(s, &name, e);
	if (rc == EX_OK && verification_of(s) == VERIFY_PIN) {
		/* A malformed pin is a configuration error: say so before
		 * touching the network. */
		unsigned char fp[FINGERPRINT_MAX];
		size_t len;
		rc = tls_parse_fingerprint(s->fingerprint, fp, &len, e);
	}
	if (rc == EX_OK &&
	    gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		t->cred = NULL;
		rc = err_set(e, EX_SOFTWARE, "out of memory in GnuTLS");
	}
	if (rc == EX_OK)
		rc = load_credentials(t->cred, s, e);
	if (rc == EX_OK)
		rc = setup_session(t, c, s, name, e);
	bool offered = rc == EX_OK && resume &&
	               offer_cached_session(t, s, name, resume);
	if (rc == EX_OK) {
		conn_start_deadline(c);
		rc = run_handshake(c, t->session, e);
	}
	if (rc == EX_OK)
		rc = verify_peer(t, s, name, peer, &info, e);
	free(name);
	if (rc != EX_OK && offered) {
		/* Maybe the ticket's fault: never again, and the caller may
		 * try once more with a full handshake (tls.h). */
		tls_cache_discard(t->cache);
		resume->retry = true;
	}
	if (rc != EX_OK) {
		/* Tell the server why, when we are the one refusing; one
		 * non-blocking attempt, nothing else is sent. */
		if (t->session && rc == EX_NOPERM)
			gnutls_alert_send(t->session, GNUTLS_AL_FATAL,
			                  GNUTLS_A_BAD_CERTIFICATE);
		tls_peer_free(&info);
		tls_ctx_free(t);
		return rc;
	}
	info.resumed = gnutls_session_is_resumed(t->session) != 0;
	if (offered && !info.resumed)
		tls_cache_discard(t->cache); /* refused: a new one may come */
	t->verified = info.verified;
	t->pinned = verification_of(s) == VERIFY_PIN;
	conn_set_transport(c, &tls_transport, t);
	if (peer_out)
		*peer_out = info;
	else
		tls_peer_free(&info);
	return EX_OK;
}

int tls_start(struct conn *c, const struct tls_settings *s,
	      struct tls_peer *peer_out, struct err *e)
{
	return start(c, s, NULL, peer_out, e);
}

int tls_start_cached(struct conn *c, const struct tls_settings *s,
		     struct tls_resumption *resume, struct tls_peer *peer_out,
		     struct err *e)
{
	resume->retry = false;
	return start(c, s, resume, peer_out, e);
}

void tls_peer_free(struct tls_peer *p)
{
	if (!p)
		return;
	free(p->subject);
	free(p->issuer);
	free(p->sha256);
	free(p->sha1);
	free(p->description);
	free(p->der);
	free(p->warning);
	free(p->dane);
	*p = (struct tls_peer){0};
}
