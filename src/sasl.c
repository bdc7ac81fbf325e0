/* sasl.c - SMTP AUTH and its SASL mechanisms; see sasl.h. */
#include "sasl.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "conn.h"
#include "secret.h"
#include "util.h"

/* A hostile server may announce thousands of mechanisms: error messages
 * show this many characters of its list. */
#define SASL_SHOWN_LIST 200

#define SCRAM_MAX_HASH 32    /* SHA-256 */
#define SCRAM_NONCE_BYTES 18 /* 24 base64 characters, no padding */
#define MD5_LEN 16

/* ---- mechanisms ------------------------------------------------------- */

struct mech_info {
	const char *name;
	enum sasl_mech mech;
	bool reveals;        /* the password crosses the wire readable */
	bool needs_password; /* password or token */
	bool needs_user;
};

/* In the order `auth on` prefers them (EXTERNAL and OAuth excepted). */
static const struct mech_info mechs[] = {
	{"SCRAM-SHA-256", SASL_SCRAM_SHA_256, false, true, true},
	{"SCRAM-SHA-1", SASL_SCRAM_SHA_1, false, true, true},
	{"CRAM-MD5", SASL_CRAM_MD5, false, true, true},
	{"PLAIN", SASL_PLAIN, true, true, true},
	{"LOGIN", SASL_LOGIN, true, true, true},
	{"EXTERNAL", SASL_EXTERNAL, false, false, false},
	{"XOAUTH2", SASL_XOAUTH2, true, true, true},
	{"OAUTHBEARER", SASL_OAUTHBEARER, true, true, true},
};
#define MECH_COUNT (sizeof mechs / sizeof mechs[0])
#define MECH_AUTO_COUNT 5 /* the first five take part in `auth on` */

static const struct mech_info *mech_info(enum sasl_mech m)
{
	for (size_t i = 0; i < MECH_COUNT; i++)
		if (mechs[i].mech == m)
			return &mechs[i];
	return NULL;
}

const char *sasl_mech_name(enum sasl_mech m)
{
	const struct mech_info *mi = mech_info(m);
	return mi ? mi->name : "";
}

/* Is name one of the words of the server's AUTH list? */
static bool server_offers(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t w = strcspn(p, " \t");
		if (w == n && ascii_ncasecmp(p, name, n) == 0)
			return true;
		p += w;
	}
	return false;
}

static bool list_is_empty(const char *list)
{
	return !list || list[strspn(list, " \t")] == '\0';
}

static int choose_auto(const char *list, bool encrypted, bool have_client_cert,
		       enum sasl_mech *mech, struct err *e)
{
	/* A configured client certificate was sent in the handshake: let
	 * the server use it (RFC 4422 appendix A). */
	if (have_client_cert && encrypted && server_offers(list, "EXTERNAL")) {
		*mech = SASL_EXTERNAL;
		return EX_OK;
	}
	bool withheld = false;
	for (size_t i = 0; i < MECH_AUTO_COUNT; i++) {
		if (!server_offers(list, mechs[i].name))
			continue;
		if (mechs[i].reveals && !encrypted) {
			withheld = true;
			continue;
		}
		*mech = mechs[i].mech;
		return EX_OK;
	}
	if (withheld)
		return err_set(
		        e, EX_NOPERM,
		        "the server offers only methods that reveal the "
		        "password (%s) and the connection is not "
		        "encrypted; turn TLS on (tls on, with "
		        "tls_starttls on for port 587) so the password "
		        "is protected",
		        list);
	return err_set(e, EX_UNAVAILABLE,
	               "no authentication method in common: the server "
	               "offers %.*s%s; outbox speaks SCRAM-SHA-256, "
	               "SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, EXTERNAL, "
	               "XOAUTH2 and OAUTHBEARER (set 'auth' to name one)",
	               SASL_SHOWN_LIST, list,
	               strlen(list) > SASL_SHOWN_LIST ? " ..." : "");
}

int sasl_choose_mech(const char *server_list, const char *auth, bool encrypted,
		     bool have_client_cert, enum sasl_mech *mech,
		     bool *clear_warning, struct err *e)
{
	*mech = SASL_NONE;
	*clear_warning = false;
	if (!auth || ascii_casecmp(auth, "off") == 0)
		return EX_OK;
	const struct mech_info *named = NULL;
	if (ascii_casecmp(auth, "on") != 0) {
		for (size_t i = 0; i < MECH_COUNT && !named; i++)
			if (ascii_casecmp(auth, mechs[i].name) == 0)
				named = &mechs[i];
		if (!named)
			return err_set(e, EX_CONFIG,
			               "authentication method '%s' is not "
			               "supported (use on, scram-sha-256, "
			               "scram-sha-1, cram-md5, plain, login, "
			               "external, xoauth2 or oauthbearer)",
			               auth);
	}
	if (list_is_empty(server_list))
		return err_set(
		        e, EX_UNAVAILABLE,
		        "the server does not support authentication (its "
		        "EHLO reply announces no AUTH)%s",
		        encrypted ? ""
		                  : "; many servers offer AUTH only after "
		                    "STARTTLS: turn TLS on (tls on)");
	if (!named)
		return choose_auto(server_list, encrypted, have_client_cert,
		                   mech, e);
	if (!server_offers(server_list, named->name))
		return err_set(
		        e, EX_UNAVAILABLE,
		        "the server does not offer authentication method "
		        "%s (it offers %.*s%s)",
		        named->name, SASL_SHOWN_LIST, server_list,
		        strlen(server_list) > SASL_SHOWN_LIST ? " ..." : "");
	/* Named explicitly: the user asked for it; say loudly what it
	 * means on a clear channel (security invariant 3). */
	*clear_warning = named->reveals && !encrypted;
	*mech = named->mech;
	return EX_OK;
}

/* ---- 334 challenges -------------------------------------------------- */

int sasl_decode_challenge(const char *reply_text, size_t len,
			  struct buf *out)
{
	const char *nl = memchr(reply_text, '\n', len);
	if (nl)
		len = (size_t)(nl - reply_text);
	while (len && reply_text[len - 1] == ' ')
		len--;
	return base64_decode(reply_text, len, out);
}

/* ---- the server's words in our messages ------------------------------- */

/* Printable ASCII as it is, control bytes as spaces (a pretty-printed JSON
 * status stays readable), anything else as '?'; at most
 * SASL_MAX_SHOWN_TEXT bytes and the rest counted, so a hostile server can
 * neither play tricks on the terminal nor flood it. */
static void append_server_words(struct buf *out, const char *text,
				size_t len)
{
	size_t shown = len < SASL_MAX_SHOWN_TEXT ? len : SASL_MAX_SHOWN_TEXT;
	for (size_t k = 0; k < shown; k++) {
		unsigned char ch = (unsigned char)text[k];
		buf_add_char(out, ch < 0x20 ? ' ' : ch < 0x7f ? (char)ch : '?');
	}
	if (shown < len)
		buf_printf(out, " [... %zu more bytes]", len - shown);
}

void sasl_describe_oauth_status(const char *status, size_t len,
				struct buf *out)
{
	append_server_words(out, status, len);
}

/* ---- raw client messages ---------------------------------------------- */

void sasl_plain_message(const char *user, const char *password,
			struct buf *out)
{
	/* RFC 4616 section 2: [authzid] NUL authcid NUL passwd */
	buf_add_char(out, '\0');
	buf_add_str(out, user);
	buf_add_char(out, '\0');
	buf_add_str(out, password);
}

static void add_hex(struct buf *out, const unsigned char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		buf_add_char(out, hex[p[i] >> 4]);
		buf_add_char(out, hex[p[i] & 15]);
	}
}

void sasl_cram_md5_message(const char *user, const char *password,
			   const char *challenge, size_t challenge_len,
			   struct buf *out)
{
	/* RFC 2195 section 2: user SP hex(HMAC-MD5(password, challenge)) */
	unsigned char digest[MD5_LEN];
	gnutls_hmac_fast(GNUTLS_MAC_MD5, password, strlen(password), challenge,
	                 challenge_len, digest);
	buf_add_str(out, user);
	buf_add_char(out, ' ');
	add_hex(out, digest, sizeof digest);
	secure_zero(digest, sizeof digest);
}

void sasl_xoauth2_message(const char *user, const char *token, struct buf *out)
{
	buf_printf(out, "user=%s\001auth=Bearer %s\001\001", user, token);
}

/* RFC 5802 section 5.1: saslname escapes '=' and ','. */
static void add_saslname(struct buf *out, const char *name)
{
	for (const char *p = name; *p; p++) {
		if (*p == '=')
			buf_add_str(out, "=3D");
		else if (*p == ',')
			buf_add_str(out, "=2C");
		else
			buf_add_char(out, *p);
	}
}

void sasl_oauthbearer_message(const char *user, const char *host, int port,
			      const char *token, struct buf *out)
{
	/* RFC 7628 section 3.1: gs2 header, then kvpairs separated by ^A. */
	buf_add_str(out, "n,a=");
	add_saslname(out, user);
	buf_printf(out, ",\001host=%s\001port=%d\001auth=Bearer %s\001\001",
	           host, port, token);
}

/* ---- SCRAM (RFC 5802, RFC 7677) --------------------------------------- */

struct sasl_scram {
	gnutls_digest_algorithm_t digest;
	gnutls_mac_algorithm_t mac;
	size_t hash_len;
	struct buf client_first_bare;
	struct buf nonce; /* client nonce, then the combined one */
	unsigned char server_signature[SCRAM_MAX_HASH];
	bool have_signature;
};

struct sasl_scram *sasl_scram_new(bool sha256)
{
	struct sasl_scram *st = xcalloc(1, sizeof *st);
	st->digest = sha256 ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1;
	st->mac = sha256 ? GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1;
	st->hash_len = sha256 ? 32 : 20;
	return st;
}

void sasl_scram_free(struct sasl_scram *st)
{
	if (!st)
		return;
	buf_wipe(&st->client_first_bare);
	buf_wipe(&st->nonce);
	secure_zero(st->server_signature, sizeof st->server_signature);
	free(st);
}

/* SaslPrep, reduced: ASCII control characters are refused (they are
 * prohibited by RFC 4013 section 2.3 and would corrupt the exchange);
 * other text passes through unchanged, which is exact for ASCII and for
 * UTF-8 that needs no normalisation. */
static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

int sasl_scram_client_first(struct sasl_scram *st, const char *user,
			    const char *nonce, struct buf *out, struct err *e)
{
	if (has_control(user))
		return err_set(e, EX_CONFIG,
		               "the user name contains control characters");
	buf_reset(&st->nonce);
	if (nonce) {
		buf_add_str(&st->nonce, nonce);
	} else {
		unsigned char raw[SCRAM_NONCE_BYTES];
		if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof raw) != 0)
			return err_set(e, EX_SOFTWARE,
			               "cannot generate a random nonce");
		base64_encode(raw, sizeof raw, &st->nonce);
	}
	buf_reset(&st->client_first_bare);
	buf_add_str(&st->client_first_bare, "n=");
	add_saslname(&st->client_first_bare, user);
	buf_add_str(&st->client_first_bare, ",r=");
	buf_add_str(&st->client_first_bare, buf_str(&st->nonce));
	buf_add_str(out, "n,,"); /* gs2 header: no channel binding */
	buf_add(out, st->client_first_bare.data, st->client_first_bare.len);
	return EX_OK;
}

/* Find attribute `name` ("r", "s", "i", "v", "e") in a SCRAM message. */
static bool scram_attr(const char *msg, size_t len, char name,
		       const char **val, size_t *val_len)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && msg[end] != ',')
			end++;
		if (end - i >= 2 && msg[i] == name && msg[i + 1] == '=') {
			*val = msg + i + 2;
			*val_len = end - i - 2;
			return true;
		}
		i = end + 1;
	}
	return false;
}

static int scram_bad(struct err *e, const char *why)
{
	return err_set(e, EX_PROTOCOL,
	               "the server sent an invalid SCRAM challenge: %s", why);
}

static int scram_parse_first(struct sasl_scram *st, const char *msg,
			     size_t len, struct buf *salt, long *iterations,
			     struct err *e)
{
	const char *r, *s, *i;
	size_t r_len, s_len, i_len;
	/* RFC 5802 section 5.1: an unknown mandatory extension (m=) must
	 * make the authentication fail. */
	if (len >= 2 && msg[0] == 'm' && msg[1] == '=')
		return scram_bad(e, "it requires an unsupported extension");
	if (memchr(msg, '\0', len))
		return scram_bad(e, "it contains a NUL byte");
	if (!scram_attr(msg, len, 'r', &r, &r_len) ||
	    !scram_attr(msg, len, 's', &s, &s_len) ||
	    !scram_attr(msg, len, 'i', &i, &i_len))
		return scram_bad(e, "r=, s= or i= is missing");
	/* The server's nonce extends ours (section 5.1 "r="). */
	if (r_len <= st->nonce.len ||
	    memcmp(r, st->nonce.data, st->nonce.len) != 0)
		return scram_bad(e, "its nonce does not extend ours");
	for (size_t k = 0; k < r_len; k++)
		if ((unsigned char)r[k] < 0x21 || (unsigned char)r[k] > 0x7e)
			return scram_bad(e, "its nonce is not printable");
	if (s_len == 0 || base64_decode(s, s_len, salt) != 0)
		return scram_bad(e, "its salt is not base64");
	long n = 0;
	if (i_len == 0 || i_len > 9)
		return scram_bad(e, "its iteration count is invalid");
	for (size_t k = 0; k < i_len; k++) {
		if (i[k] < '0' || i[k] > '9')
			return scram_bad(e, "its iteration count is invalid");
		n = n * 10 + (i[k] - '0');
	}
	if (n < 1)
		return scram_bad(e, "its iteration count is invalid");
	if (n > SASL_MAX_SCRAM_ITERATIONS)
		return err_set(
		        e, EX_PROTOCOL,
		        "the server asks for %ld SCRAM iterations; more "
		        "than %d are refused",
		        n, SASL_MAX_SCRAM_ITERATIONS);
	*iterations = n;
	buf_reset(&st->nonce);
	buf_add(&st->nonce, r, r_len);
	return EX_OK;
}

int sasl_scram_client_final(struct sasl_scram *st, const char *password,
			    const char *server_first, size_t len,
			    struct buf *out, struct err *e)
{
	if (has_control(password))
		return err_set(
		        e, EX_CONFIG,
		        "the password contains control characters, which "
		        "SCRAM does not allow");
	struct buf salt = BUF_INIT, auth_message = BUF_INIT,
	           without = BUF_INIT;
	unsigned char salted[SCRAM_MAX_HASH], client_key[SCRAM_MAX_HASH];
	unsigned char stored_key[SCRAM_MAX_HASH], signature[SCRAM_MAX_HASH];
	unsigned char server_key[SCRAM_MAX_HASH];
	size_t h = st->hash_len;
	long iterations = 0;
	int rc = scram_parse_first(st, server_first, len, &salt, &iterations,
	                           e);
	if (rc != EX_OK)
		goto out;

	/* "biws" = base64("n,,"), the gs2 header again (section 7). */
	buf_printf(&without, "c=biws,r=%s", buf_str(&st->nonce));
	buf_add(&auth_message, st->client_first_bare.data,
	        st->client_first_bare.len);
	buf_add_char(&auth_message, ',');
	buf_add(&auth_message, server_first, len);
	buf_add_char(&auth_message, ',');
	buf_add(&auth_message, without.data, without.len);

	/* Section 3: SaltedPassword = Hi(password, salt, i) (PBKDF2);
	 * ClientKey = HMAC(SaltedPassword, "Client Key");
	 * StoredKey = H(ClientKey); ClientSignature = HMAC(StoredKey,
	 * AuthMessage); ClientProof = ClientKey XOR ClientSignature;
	 * ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"),
	 * AuthMessage). */
	gnutls_datum_t key = {(unsigned char *)password,
	                      (unsigned)strlen(password)};
	gnutls_datum_t salt_d = {(unsigned char *)salt.data,
	                         (unsigned)salt.len};
	if (gnutls_pbkdf2(st->mac, &key, &salt_d, (unsigned)iterations, salted,
	                  h) != 0 ||
	    gnutls_hmac_fast(st->mac, salted, h, "Client Key", 10,
	                     client_key) != 0 ||
	    gnutls_hash_fast(st->digest, client_key, h, stored_key) != 0 ||
	    gnutls_hmac_fast(st->mac, stored_key, h, auth_message.data,
	                     auth_message.len, signature) != 0 ||
	    gnutls_hmac_fast(st->mac, salted, h, "Server Key", 10,
	                     server_key) != 0 ||
	    gnutls_hmac_fast(st->mac, server_key, h, auth_message.data,
	                     auth_message.len, st->server_signature) != 0) {
		rc = err_set(e, EX_SOFTWARE, "SCRAM key derivation failed");
		goto out;
	}
	st->have_signature = true;
	for (size_t k = 0; k < h; k++)
		client_key[k] ^= signature[k]; /* now the ClientProof */
	buf_add(out, without.data, without.len);
	buf_add_str(out, ",p=");
	base64_encode(client_key, h, out);
out:
	secure_zero(salted, sizeof salted);
	secure_zero(client_key, sizeof client_key);
	secure_zero(stored_key, sizeof stored_key);
	secure_zero(signature, sizeof signature);
	secure_zero(server_key, sizeof server_key);
	buf_wipe(&salt);
	buf_wipe(&auth_message);
	buf_wipe(&without);
	return rc;
}

int sasl_scram_check_server_final(struct sasl_scram *st,
				  const char *server_final, size_t len,
				  struct err *e)
{
	const char *v;
	size_t v_len;
	struct buf got = BUF_INIT;
	int rc = EX_OK;
	if (scram_attr(server_final, len, 'e', &v, &v_len)) {
		struct buf why = BUF_INIT;
		append_server_words(&why, v, v_len);
		rc = err_set(e, EX_NOPERM,
		             "the server refused the SCRAM authentication: %s",
		             buf_str(&why));
		buf_free(&why);
		return rc;
	}
	/* Section 9: the server proves it knows the password too; a
	 * server that cannot is an impostor (or a broken server). */
	if (!st->have_signature ||
	    !scram_attr(server_final, len, 'v', &v, &v_len) ||
	    base64_decode(v, v_len, &got) != 0 ||
	    got.len != st->hash_len ||
	    memcmp(got.data, st->server_signature, st->hash_len) != 0)
		rc = err_set(
		        e, EX_NOPERM,
		        "the server's SCRAM signature does not verify: it "
		        "does not know the password, so it may not be the "
		        "server it claims to be");
	buf_wipe(&got);
	return rc;
}

/* ---- the SMTP exchange ------------------------------------------------ */

struct auth {
	struct smtp_session *s;
	const struct account *a;
	const char *mech;
	const char *password; /* NULL when the mechanism needs none */
	struct buf needles;   /* NUL-separated strings to scrub from errors */
	struct smtp_reply r;
};

static void auth_add_needle(struct auth *x, const char *s, size_t len)
{
	if (len == 0)
		return;
	buf_add(&x->needles, s, len);
	buf_add_char(&x->needles, '\0');
}

/* The offset of the first n-byte needle in hay, or hay_len when there is
 * none (memmem is not POSIX). */
static size_t find_bytes(const char *hay, size_t hay_len, const char *needle,
			 size_t n)
{
	for (size_t at = 0; n && hay_len - at >= n; at++) {
		const char *p =
		        memchr(hay + at, needle[0], hay_len - at - n + 1);
		if (!p)
			break;
		at = (size_t)(p - hay);
		if (memcmp(p, needle, n) == 0)
			return at;
	}
	return hay_len;
}

/* Replace every string we sent (and the password) in text by
 * "<redacted>". Binary-safe; scans left to right, never inside a
 * replacement (the needle could be part of "<redacted>"). */
static void scrub_text(const struct auth *x, struct buf *text)
{
	for (size_t off = 0; off < x->needles.len;) {
		const char *needle = x->needles.data + off;
		size_t n = strlen(needle);
		off += n + 1;
		struct buf clean = BUF_INIT;
		size_t at = 0;
		while (at < text->len) {
			size_t hit = find_bytes(text->data + at, text->len - at,
			                        needle, n);
			if (hit == text->len - at)
				break;
			buf_add(&clean, text->data + at, hit);
			buf_add_str(&clean, "<redacted>");
			at += hit + n;
		}
		buf_add(&clean, text->data + at, text->len - at);
		buf_wipe(text);
		*text = clean;
	}
}

/* A hostile server could echo our credentials back in its error text:
 * scrub them from the message. */
static void auth_scrub(struct auth *x, struct err *e)
{
	if (!e->msg)
		return;
	struct buf text = BUF_INIT;
	buf_add_str(&text, e->msg);
	scrub_text(x, &text);
	free_secret(e->msg);
	e->msg = buf_steal(&text);
}

/* Send `prefix` followed by base64(raw) (raw NULL: the prefix alone; an
 * empty raw after "AUTH X " becomes "=", RFC 4954 section 4) and read the
 * reply. The line is secret: the trace redacts it. */
static int auth_send(struct auth *x, const char *prefix, const struct buf *raw,
		     struct err *e)
{
	struct buf line = BUF_INIT;
	buf_add_str(&line, prefix);
	if (raw) {
		size_t start = line.len;
		base64_encode(raw->data ? raw->data : "", raw->len,
		                   &line);
		if (line.len == start && prefix[0])
			buf_add_char(&line, '=');
		auth_add_needle(x, line.data + start, line.len - start);
	}
	int rc = smtp_command(x->s, buf_str(&line), true, &x->r, e);
	buf_wipe(&line);
	return rc;
}

/* Cancel an exchange in progress (RFC 4954 section 4: "*"), keeping the
 * error already recorded. */
static void auth_cancel(struct auth *x)
{
	struct err ignored = ERR_INIT;
	smtp_command(x->s, "*", false, &x->r, &ignored);
	err_clear(&ignored);
}

/* The reply is not the one the step expected. */
static int auth_refused(struct auth *x, struct err *e)
{
	struct buf what = BUF_INIT;
	buf_printf(&what, "authentication with %s", x->mech);
	if (x->a->user)
		buf_printf(&what, " as '%s'", x->a->user);
	buf_printf(&what, " at %s failed", conn_peer_name(smtp_conn(x->s)));
	int code = x->r.code;
	int rc = smtp_reply_error(&x->r, buf_str(&what), e);
	buf_free(&what);
	/* RFC 4954 section 6: 530, 534, 535 and 538 are the authentication
	 * refusals; other replies keep smtp_reply_error's mapping. */
	if (code == 530 || code == 534 || code == 535 || code == 538)
		rc = e->code = EX_NOPERM;
	else if (code >= 200 && code < 400)
		rc = e->code = EX_PROTOCOL;
	auth_scrub(x, e);
	/* A challenge where none was expected: end the exchange so the
	 * session is back in a known state. */
	if (code == 334)
		auth_cancel(x);
	return rc;
}

static int auth_expect(struct auth *x, int code, struct err *e)
{
	return x->r.code == code ? EX_OK : auth_refused(x, e);
}

/* Decode a 334 challenge. */
static int auth_challenge(struct auth *x, struct buf *out, struct err *e)
{
	if (sasl_decode_challenge(buf_str(&x->r.text), x->r.text.len, out) !=
	    0) {
		auth_cancel(x);
		return err_set(e, EX_PROTOCOL,
		               "the server %s sent a %s challenge that is not "
		               "base64",
		               conn_peer_name(smtp_conn(x->s)), x->mech);
	}
	return EX_OK;
}

static int auth_plain(struct auth *x, struct err *e)
{
	struct buf raw = BUF_INIT;
	sasl_plain_message(x->a->user, x->password, &raw);
	int rc = auth_send(x, "AUTH PLAIN ", &raw, e);
	buf_wipe(&raw);
	return rc != EX_OK ? rc : auth_expect(x, 235, e);
}

static int auth_login(struct auth *x, struct err *e)
{
	struct buf raw = BUF_INIT;
	int rc = auth_send(x, "AUTH LOGIN", NULL, e);
	if (rc == EX_OK)
		rc = auth_expect(x, 334, e);
	if (rc == EX_OK) {
		buf_add_str(&raw, x->a->user);
		rc = auth_send(x, "", &raw, e);
	}
	if (rc == EX_OK)
		rc = auth_expect(x, 334, e);
	if (rc == EX_OK) {
		buf_wipe(&raw);
		buf_add_str(&raw, x->password);
		rc = auth_send(x, "", &raw, e);
	}
	if (rc == EX_OK)
		rc = auth_expect(x, 235, e);
	buf_wipe(&raw);
	return rc;
}

static int auth_cram_md5(struct auth *x, struct err *e)
{
	struct buf challenge = BUF_INIT, raw = BUF_INIT;
	int rc = auth_send(x, "AUTH CRAM-MD5", NULL, e);
	if (rc == EX_OK)
		rc = auth_expect(x, 334, e);
	if (rc == EX_OK)
		rc = auth_challenge(x, &challenge, e);
	if (rc == EX_OK) {
		sasl_cram_md5_message(x->a->user, x->password, challenge.data,
		                      challenge.len, &raw);
		rc = auth_send(x, "", &raw, e);
	}
	if (rc == EX_OK)
		rc = auth_expect(x, 235, e);
	buf_free(&challenge);
	buf_wipe(&raw);
	return rc;
}

static int auth_scram(struct auth *x, bool sha256, struct err *e)
{
	struct sasl_scram *st = sasl_scram_new(sha256);
	struct buf raw = BUF_INIT, challenge = BUF_INIT;
	struct buf prefix = BUF_INIT;
	buf_printf(&prefix, "AUTH %s ", x->mech);
	int rc = sasl_scram_client_first(st, x->a->user, NULL, &raw, e);
	if (rc == EX_OK)
		rc = auth_send(x, buf_str(&prefix), &raw, e);
	if (rc == EX_OK)
		rc = auth_expect(x, 334, e);
	if (rc == EX_OK)
		rc = auth_challenge(x, &challenge, e);
	if (rc == EX_OK) {
		buf_wipe(&raw);
		rc = sasl_scram_client_final(st, x->password, challenge.data,
		                             challenge.len, &raw, e);
		if (rc != EX_OK)
			auth_cancel(x);
	}
	if (rc == EX_OK)
		rc = auth_send(x, "", &raw, e);
	if (rc == EX_OK && x->r.code == 334) {
		buf_reset(&challenge);
		rc = auth_challenge(x, &challenge, e);
		if (rc == EX_OK) {
			rc = sasl_scram_check_server_final(st, challenge.data,
			                                   challenge.len, e);
			if (rc != EX_OK)
				auth_cancel(x);
		}
		if (rc == EX_OK)
			rc = auth_send(x, "", NULL, e);
		if (rc == EX_OK)
			rc = auth_expect(x, 235, e);
	} else if (rc == EX_OK && x->r.code == 235) {
		/* Success without a server-final message: the server never
		 * proved it knows the password. */
		rc = sasl_scram_check_server_final(st, "", 0, e);
	} else if (rc == EX_OK) {
		rc = auth_refused(x, e);
	}
	buf_free(&prefix);
	buf_wipe(&raw);
	buf_wipe(&challenge);
	sasl_scram_free(st);
	return rc;
}

/* OAuth tokens are RFC 6750 b64token characters; anything else (a stray
 * newline from a token file, ^A) would corrupt the message. */
static int check_token(const char *token, struct err *e)
{
	for (const unsigned char *p = (const unsigned char *)token; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return err_set(
			        e, EX_CONFIG,
			        "the OAuth access token (password) contains "
			        "spaces or control characters");
	return EX_OK;
}

static int auth_oauth(struct auth *x, bool bearer, struct err *e)
{
	int rc = check_token(x->password, e);
	if (rc != EX_OK)
		return rc;
	struct buf raw = BUF_INIT;
	if (bearer)
		sasl_oauthbearer_message(x->a->user,
		                         x->a->host ? x->a->host : "",
		                         x->a->port, x->password, &raw);
	else
		sasl_xoauth2_message(x->a->user, x->password, &raw);
	rc = auth_send(x, bearer ? "AUTH OAUTHBEARER " : "AUTH XOAUTH2 ", &raw,
	               e);
	buf_wipe(&raw);
	if (rc != EX_OK || x->r.code != 334)
		return rc != EX_OK ? rc : auth_expect(x, 235, e);
	/* A 334 here carries a JSON error status; the client answers with
	 * an empty response (XOAUTH2) or ^A (RFC 7628 section 3.2.3) and
	 * the server then sends its final refusal. */
	struct buf status = BUF_INIT, dummy = BUF_INIT;
	if (auth_challenge(x, &status, e) != EX_OK) {
		buf_free(&status);
		return e->code;
	}
	if (bearer)
		buf_add_char(&dummy, '\001');
	rc = auth_send(x, "", bearer ? &dummy : NULL, e);
	if (rc == EX_OK)
		rc = auth_expect(x, 235, e);
	if (rc != EX_OK && x->r.code >= 400 && status.len) {
		/* Add the JSON status ({"status":"401",...}): it often says
		 * more than the final reply (an expired token, a bad scope).
		 * Scrubbed before it is cut short, so no piece of an echoed
		 * token survives the cut. */
		struct buf msg = BUF_INIT;
		scrub_text(x, &status);
		buf_printf(&msg, "%s (OAuth status: ", err_msg(e));
		sasl_describe_oauth_status(status.data, status.len, &msg);
		buf_add_char(&msg, ')');
		err_set(e, rc, "%s", buf_str(&msg));
		buf_free(&msg);
		auth_scrub(x, e);
	}
	buf_free(&status);
	buf_free(&dummy);
	return rc;
}

static int auth_external(struct auth *x, struct err *e)
{
	/* RFC 4422 appendix A: the authorization identity, or empty to
	 * derive it from the certificate. */
	struct buf raw = BUF_INIT;
	if (x->a->user)
		buf_add_str(&raw, x->a->user);
	int rc = auth_send(x, "AUTH EXTERNAL ", &raw, e);
	buf_free(&raw);
	return rc != EX_OK ? rc : auth_expect(x, 235, e);
}

static int auth_run(struct auth *x, enum sasl_mech mech, struct err *e)
{
	switch (mech) {
	case SASL_PLAIN:
		return auth_plain(x, e);
	case SASL_LOGIN:
		return auth_login(x, e);
	case SASL_CRAM_MD5:
		return auth_cram_md5(x, e);
	case SASL_SCRAM_SHA_256:
		return auth_scram(x, true, e);
	case SASL_SCRAM_SHA_1:
		return auth_scram(x, false, e);
	case SASL_XOAUTH2:
		return auth_oauth(x, false, e);
	case SASL_OAUTHBEARER:
		return auth_oauth(x, true, e);
	case SASL_EXTERNAL:
		return auth_external(x, e);
	case SASL_NONE:
		break;
	}
	return EX_OK;
}

int sasl_authenticate(struct smtp_session *s, const struct account *a,
		      bool encrypted, const char *token, char **warning,
		      struct err *e)
{
	enum sasl_mech mech;
	bool clear_warning;
	const char *peer = conn_peer_name(smtp_conn(s));
	const struct smtp_caps *caps = smtp_caps(s);
	int rc = sasl_choose_mech(caps ? caps->auth : NULL, a->auth, encrypted,
	                          a->tls_cert_file != NULL, &mech,
	                          &clear_warning, e);
	if (rc != EX_OK) {
		if (rc != EX_CONFIG)
			err_prefix(e, "cannot authenticate to %s", peer);
		return rc;
	}
	if (mech == SASL_NONE)
		return EX_OK;
	const struct mech_info *mi = mech_info(mech);
	if (mi->needs_user && (!a->user || !*a->user))
		return err_set(e, EX_CONFIG,
		               "account %s: authentication (%s) needs a user "
		               "name: set 'user'",
		               a->name ? a->name : "default", mi->name);
	if (clear_warning && warning) {
		struct buf w = BUF_INIT;
		buf_printf(&w,
		           "warning: sending the password to %s with %s over "
		           "an unencrypted connection: anyone on the path "
		           "can read it (turn TLS on: tls on)",
		           peer, mi->name);
		*warning = buf_steal(&w);
	}

	struct auth x = {s, a, mi->name, NULL, BUF_INIT, {0}};
	smtp_reply_init(&x.r);
	char *password = NULL;
	if (mi->needs_password) {
		rc = token ? (password = xstrdup(token), EX_OK)
		           : secret_get_password(a, &password, e);
		if (rc != EX_OK)
			goto out;
		x.password = password;
		auth_add_needle(&x, password, strlen(password));
	}
	rc = auth_run(&x, mech, e);
out:
	free_secret(password);
	buf_wipe(&x.needles);
	smtp_reply_free(&x.r);
	return rc;
}
