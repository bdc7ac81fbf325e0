/* sasl.h - SMTP AUTH (RFC 4954) and the SASL mechanisms outbox speaks:
 * SCRAM-SHA-256 (RFC 7677), SCRAM-SHA-1 (RFC 5802), CRAM-MD5 (RFC 2195),
 * PLAIN (RFC 4616), LOGIN, XOAUTH2, OAUTHBEARER (RFC 7628), EXTERNAL
 * (RFC 4422 appendix A).
 *
 * Every AUTH line and every continuation is sent as a secret command, so
 * the debug trace shows "<redacted>"; every buffer that held a credential
 * is wiped before it is freed; a server that echoes what we sent in its
 * refusal has it replaced by "<redacted>" in the error message (security
 * invariant 3). */
#ifndef OUTBOX_SASL_H
#define OUTBOX_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "smtp.h"

#define SASL_MAX_SCRAM_ITERATIONS 1000000 /* a larger i= is refused (CPU) */
/* At most this much of a server's own words (an OAuth JSON status, a SCRAM
 * e= reason) is shown in an error message; the rest is counted. */
#define SASL_MAX_SHOWN_TEXT 512

enum sasl_mech {
	SASL_NONE,
	SASL_EXTERNAL,
	SASL_SCRAM_SHA_256,
	SASL_SCRAM_SHA_1,
	SASL_CRAM_MD5,
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_XOAUTH2,
	SASL_OAUTHBEARER,
};

/* Authenticate the session as a->user, after EHLO (and after STARTTLS when
 * TLS is on). `encrypted`: the channel is TLS (conn_is_encrypted).
 *
 * Mechanism: `auth on` takes the strongest that both sides support, in the
 * order SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN (EXTERNAL first
 * when a client certificate is configured, the channel is encrypted and the
 * server offers it; XOAUTH2 and OAUTHBEARER only when named). A method that
 * reveals the password (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) is never chosen
 * on a clear channel; when the user names one explicitly it is used, and
 * *warning (heap, caller frees and prints) says so. `auth off`/NULL: no-op.
 *
 * The password (or OAuth token) is fetched with secret_get_password() only
 * once a mechanism that needs it has been chosen from the server's AUTH
 * list, so passwordeval never runs for a server that cannot authenticate.
 *
 * Failures: the server offers no AUTH: EX_UNAVAILABLE; only
 * password-revealing methods on a clear channel: EX_NOPERM (asks for TLS);
 * no common method, or the named one is not offered: EX_UNAVAILABLE; an
 * unknown method name or no user: EX_CONFIG; 530/534/535/538: EX_NOPERM
 * with the server's (sanitized) words; other 5xx: EX_UNAVAILABLE; 4xx:
 * EX_TEMPFAIL; a SCRAM server that cannot prove it knows the password:
 * EX_NOPERM; a malformed challenge: EX_PROTOCOL; password sources fail as
 * secret_get_password() does. token, when not NULL, is the password (an
 * OAuth access token outbox got itself, oauth.h): no other source is
 * asked. */
int sasl_authenticate(struct smtp_session *s, const struct account *a,
		      bool encrypted, const char *token, char **warning,
		      struct err *e);

/* The IANA name of a mechanism ("SCRAM-SHA-256"); "" for SASL_NONE. */
const char *sasl_mech_name(enum sasl_mech m);

/* ---- for tests: the pure parts -------------------------------------- */

/* Choose a mechanism from the server's space-separated AUTH list (NULL when
 * it announced none) for the `auth` setting ("on" or a method name, any
 * case), as sasl_authenticate() describes. Sets *mech, and *clear_warning
 * when an explicitly named password-revealing method is used on a clear
 * channel. */
int sasl_choose_mech(const char *server_list, const char *auth, bool encrypted,
		     bool have_client_cert, enum sasl_mech *mech,
		     bool *clear_warning, struct err *e);

/* Decode the challenge of a 334 reply: the first line of the reply's text
 * (len bytes), trailing spaces dropped, as base64, appended to out. Pure.
 * Returns 0, or -1 (out unchanged) when it is not base64. */
int sasl_decode_challenge(const char *reply_text, size_t len,
			  struct buf *out);

/* Append the error status an XOAUTH2/OAUTHBEARER server sends in its 334
 * challenge (decoded: JSON such as {"status":"401",...}) to out for an
 * error message. Pure. Printable ASCII is kept, control bytes become
 * spaces and other bytes '?'; at most SASL_MAX_SHOWN_TEXT bytes are shown,
 * then " [... N more bytes]". */
void sasl_describe_oauth_status(const char *status, size_t len,
				struct buf *out);

/* The raw (not yet base64) client messages. out is appended to. */
void sasl_plain_message(const char *user, const char *password,
			struct buf *out);
void sasl_cram_md5_message(const char *user, const char *password,
			   const char *challenge, size_t challenge_len,
			   struct buf *out);
void sasl_xoauth2_message(const char *user, const char *token,
			  struct buf *out);
void sasl_oauthbearer_message(const char *user, const char *host, int port,
			      const char *token, struct buf *out);

/* SCRAM client (RFC 5802 section 3, without channel binding: gs2 "n,,").
 * nonce: NULL for a fresh random one, or a fixed value (test vectors).
 * Each step returns EX_OK with the raw message in out, or fails: EX_CONFIG
 * for a user name or password with control characters, EX_PROTOCOL for a
 * malformed or foreign (nonce) server message, EX_NOPERM for a server
 * error (e=) or a server signature that does not verify. */
struct sasl_scram;
struct sasl_scram *sasl_scram_new(bool sha256);
int sasl_scram_client_first(struct sasl_scram *st, const char *user,
			    const char *nonce, struct buf *out, struct err *e);
int sasl_scram_client_final(struct sasl_scram *st, const char *password,
			    const char *server_first, size_t len,
			    struct buf *out, struct err *e);
int sasl_scram_check_server_final(struct sasl_scram *st,
				  const char *server_final, size_t len,
				  struct err *e);
void sasl_scram_free(struct sasl_scram *st); /* wipes the keys */

#endif
