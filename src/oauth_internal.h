/* oauth_internal.h - what oauth.c (tokens for sending) and oauth_login.c
 * (the device grant) share; no other module includes it. */
#ifndef OUTBOX_OAUTH_INTERNAL_H
#define OUTBOX_OAUTH_INTERNAL_H

#include <stdbool.h>

#include "account.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "oauth.h"
#include "oauth_json.h"
#include "oauth_store.h"

/* POST form to url with a's HTTPS settings (trust, timeout, source
 * address) and the -v trace; http_post_form's outcome, but a garbled
 * reply is EX_TEMPFAIL (it may be a passing fault). */
int oauth_http_post(const struct account *a, const struct oauth_trace *t,
                    const char *url, const struct buf *form,
                    struct http_response *r, struct err *e);

/* One POST of form to url with a's HTTPS settings (trust, timeout,
 * source address) and the -v trace; the reply's body parsed as a token
 * reply. The outcome, from the protocol's point of view:
 *   OAUTH_GRANTED  a 200 reply with an access token (*reply holds it);
 *   OAUTH_REFUSED  an RFC 6749 5.2 error reply (*reply has error and
 *                  error_description), whatever the HTTP status;
 *   OAUTH_FAILED   anything else: e says what, with the exit status
 *                  (EX_TEMPFAIL for what a later try may cure: no
 *                  connection, a timeout, 5xx, 429, a garbled reply). */
enum oauth_outcome { OAUTH_GRANTED, OAUTH_REFUSED, OAUTH_FAILED };
enum oauth_outcome oauth_post(const struct account *a,
                              const struct oauth_trace *t, const char *url,
                              const struct buf *form,
                              struct oauth_token_reply *reply, struct err *e);

/* The form fields every request carries: client_id, and client_secret
 * when one is configured (RFC 6749 2.3.1). */
void oauth_form_client(const struct account *a, struct buf *form);

/* The server's error (and its description, made harmless and cut) as
 * text for a message. secrets (NULL-terminated; NULL entries skipped)
 * are what the request carried: a careless server may quote them back,
 * so each one, as sent and form-encoded, is replaced by "<redacted>"
 * before anything is cut or shown (invariant 3). */
void oauth_describe_error(const struct oauth_token_reply *r,
                          const char *const *secrets, size_t count,
                          struct buf *out);

/* Keep the tokens of reply at p (open and locked) for a: the new access
 * token with its expiry, and the refresh token when the reply has one
 * (refresh_token_before stays otherwise). */
int oauth_keep(struct oauth_place *p, const struct account *a,
               const struct oauth_endpoints *ep,
               const struct oauth_token_reply *reply,
               const char *refresh_token_before, struct err *e);

/* The account's name for messages ("default" when it has none). */
const char *oauth_account_name(const struct account *a);

#endif
