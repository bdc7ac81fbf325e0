/* oauth.h - OAuth 2.0 for SMTP AUTH XOAUTH2 and OAUTHBEARER, built in.
 *
 * Microsoft 365 takes only OAuth access tokens for SMTP AUTH, Google
 * prefers them; they live about an hour. With `auth xoauth2` (or
 * oauthbearer) and `oauth2_client_id`, outbox gets them itself:
 *   - once, `outbox --oauth2-login -a ACCOUNT` runs the device
 *     authorization grant (RFC 8628): it shows a URL and a code, the user
 *     signs in with a browser anywhere, and outbox keeps the refresh token
 *     it receives (oauth_store.h: the keyring, or a private file);
 *   - before each SMTP connection, the stored access token is used while
 *     it is valid for OAUTH_EXPIRY_MARGIN more seconds; otherwise a new
 *     one is asked for with the refresh token (RFC 6749 6), stored with
 *     its expiry and a rotated refresh token when the server sends one.
 * Endpoints and scope come from oauth2_provider (Microsoft's identity
 * platform and Google have presets; auto picks one from the SMTP host
 * name) or the oauth2_device_url, oauth2_token_url, oauth2_scope
 * settings. HTTPS is verified as SMTP's TLS is (system trust, or
 * oauth2_trust_file). Tokens and the client secret never appear in a
 * message, a log or the -v transcript. */
#ifndef OUTBOX_OAUTH_H
#define OUTBOX_OAUTH_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

/* A stored access token with less than this left is refreshed first. */
#define OAUTH_EXPIRY_MARGIN 60
/* RFC 8628 3.5: the polling interval when the server names none, and
 * what slow_down adds to it. */
#define OAUTH_DEFAULT_INTERVAL 5
#define OAUTH_SLOW_DOWN_STEP 5
/* An access token whose reply gave no expires_in is kept this long. */
#define OAUTH_UNKNOWN_LIFETIME 300

/* The presets (oauth2_provider). Microsoft's endpoints are
 * BASE/TENANT/oauth2/v2.0/devicecode and .../token, TENANT being
 * oauth2_tenant (default OAUTH_MICROSOFT_TENANT). */
#define OAUTH_MICROSOFT_BASE "https://login.microsoftonline.com"
#define OAUTH_MICROSOFT_SCOPE \
	"https://outlook.office.com/SMTP.Send offline_access"
#define OAUTH_MICROSOFT_TENANT "common"
#define OAUTH_GOOGLE_DEVICE_URL "https://oauth2.googleapis.com/device/code"
#define OAUTH_GOOGLE_TOKEN_URL "https://oauth2.googleapis.com/token"
#define OAUTH_GOOGLE_SCOPE "https://mail.google.com/"

/* -v: the HTTP requests (method and URL) and replies (status), never
 * their contents. direction is '>' or '<', as smtp_trace_fn's. */
struct oauth_trace {
	void (*line)(void *ctx, char direction, const char *line);
	void *ctx;
};

/* Does a get its AUTH token from OAuth built in (oauth2_client_id set,
 * auth xoauth2 or oauthbearer)? */
bool oauth_enabled(const struct account *a);

/* The endpoints and scope a uses, presets filled in (heap strings; NULL
 * where there is none: device_url without a preset or setting). Pure. */
struct oauth_endpoints {
	enum oauth2_provider provider; /* never OAUTH2_AUTO */
	char *device_url, *token_url, *scope;
};
int oauth_endpoints_for(const struct account *a, struct oauth_endpoints *out,
                        struct err *e);
void oauth_endpoints_free(struct oauth_endpoints *ep);

/* The access token to authenticate a with, into *token (heap;
 * free_secret()): the stored one while it is valid, else a refreshed one
 * (stored before it is returned). *fresh says it was just issued. Fails
 * with EX_NOPERM when there is no login yet or the refresh token was
 * refused (invalid_grant), the message saying "run outbox --oauth2-login
 * -a ACCOUNT"; EX_TEMPFAIL when the token endpoint cannot be reached,
 * times out or answers 5xx or 429; EX_NOPERM when its certificate does
 * not verify; EX_CONFIG for missing settings. */
int oauth_access_token(const struct account *a, const struct oauth_trace *t,
                       char **token, bool *fresh, struct err *e);

/* Forget a's stored access token (not the refresh token): the server
 * refused it, so the next oauth_access_token refreshes. Best effort. */
void oauth_forget_access_token(const struct account *a);

/* outbox --oauth2-login: the device authorization grant for a, telling
 * the user what to do through say (one line at a time), polling until
 * the user has signed in, then storing the tokens. EX_NOPERM when the
 * user declined (access_denied) or the code expired, EX_TEMPFAIL when
 * the endpoints cannot be reached in time, EX_CONFIG for missing
 * settings (no device endpoint, oauth2_client_id ...). */
typedef void (*oauth_say_fn)(void *ctx, const char *line);
int oauth_login(const struct account *a, const struct oauth_trace *t,
                oauth_say_fn say, void *ctx, struct err *e);

#endif
