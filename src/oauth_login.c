/* oauth_login.c - outbox --oauth2-login: the device authorization grant
 * (RFC 8628); see oauth.h. */
#include "oauth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauth_internal.h"
#include "sanitize.h"
#include "util.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
/* RFC 8628 3.2: when the reply names no lifetime for the code. */
#define DEFAULT_CODE_LIFETIME 900
/* A transient failure while polling (no connection, 5xx) waits this
 * much longer each time, up to the code's expiry (RFC 8628 3.5). */
#define MAX_BACKOFF 60

static void sleep_seconds(long seconds)
{
	struct timespec ts = {seconds, 0};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* prefix, then what the server sent (made harmless), then suffix. */
static void say_line(oauth_say_fn say, void *ctx, const char *prefix,
                     const char *value, const char *suffix)
{
	struct buf line = BUF_INIT;
	buf_add_str(&line, prefix);
	sanitize_append_line(&line, value, strlen(value));
	buf_add_str(&line, suffix);
	say(ctx, buf_str(&line));
	buf_free(&line);
}

/* RFC 8628 3.1: ask for a device code and a user code. */
static int request_codes(const struct account *a,
                         const struct oauth_endpoints *ep,
                         const struct oauth_trace *t,
                         struct oauth_device_reply *codes, struct err *e)
{
	struct buf form = BUF_INIT;
	oauth_form_client(a, &form);
	if (ep->scope && *ep->scope)
		http_form_add(&form, "scope", ep->scope);
	struct http_response r;
	int rc = oauth_http_post(a, t, ep->device_url, &form, &r, e);
	buf_wipe(&form);
	if (rc != EX_OK)
		return rc;
	/* 5xx and 429 are the server's trouble, whatever the body says
	 * (an HTML page from a proxy, temporarily_unavailable). */
	if (r.status >= 500 || r.status == 429) {
		rc = err_set(e, EX_TEMPFAIL, "the device authorization "
		             "endpoint %s answered HTTP %d", ep->device_url,
		             r.status);
		http_response_free(&r);
		return rc;
	}
	rc = oauth_parse_device_reply(r.body.data ? r.body.data : "",
	                              r.body.len, codes, e);
	if (rc == EX_OK && codes->error) {
		struct buf why = BUF_INIT;
		const struct oauth_token_reply view = {
			.error = codes->error,
			.error_description = codes->error_description,
		};
		const char *secrets[] = {a->oauth2_client_secret};
		oauth_describe_error(&view, secrets, 1, &why);
		rc = err_set(e, EX_NOPERM, "the device authorization endpoint "
		             "%s refused the request (%s)", ep->device_url,
		             buf_str(&why));
		buf_free(&why);
	} else if (rc == EX_OK && (r.status != 200 || !codes->device_code ||
	                           !codes->user_code ||
	                           !codes->verification_uri)) {
		rc = err_set(e, EX_PROTOCOL,
		             "the device authorization endpoint %s answered "
		             "HTTP %d without a device code, a user code and "
		             "a verification URL", ep->device_url, r.status);
	} else if (rc != EX_OK) {
		err_prefix(e, "the device authorization endpoint %s",
		           ep->device_url);
	}
	http_response_free(&r);
	return rc;
}

static void tell_user(const struct oauth_device_reply *codes,
                      oauth_say_fn say, void *ctx)
{
	say_line(say, ctx, "To sign in, open ", codes->verification_uri, "");
	say_line(say, ctx, "and enter the code ", codes->user_code, "");
	if (codes->verification_uri_complete)
		say_line(say, ctx, "(or open ", codes->verification_uri_complete,
		         ", which has the code in it)");
	if (codes->message)
		say_line(say, ctx, "The server says: ", codes->message, "");
	say(ctx, "Waiting for the sign-in...");
}

struct poll {
	long interval, backoff;
	long long deadline;
};

/* One poll of the token endpoint. Returns EX_OK with *done set and the
 * reply in *reply once granted; EX_OK with *done false to go on. */
static int poll_once(const struct account *a,
                     const struct oauth_endpoints *ep,
                     const struct oauth_trace *t, const char *device_code,
                     struct poll *pl, struct oauth_token_reply *reply,
                     bool *done, struct err *e)
{
	struct buf form = BUF_INIT;
	http_form_add(&form, "grant_type", DEVICE_GRANT);
	http_form_add(&form, "device_code", device_code);
	oauth_form_client(a, &form);
	enum oauth_outcome o = oauth_post(a, t, ep->token_url, &form, reply,
	                                  e);
	buf_wipe(&form);
	*done = o == OAUTH_GRANTED;
	if (o == OAUTH_GRANTED)
		return EX_OK;
	if (o == OAUTH_FAILED) {
		if (e->code != EX_TEMPFAIL)
			return e->code;
		/* The network or the server hiccuped: keep polling, slower. */
		err_clear(e);
		pl->backoff = pl->backoff ? pl->backoff * 2 : pl->interval;
		if (pl->backoff > MAX_BACKOFF)
			pl->backoff = MAX_BACKOFF;
		return EX_OK;
	}
	pl->backoff = 0;
	const char *err = reply->error;
	if (strcmp(err, "authorization_pending") == 0)
		return EX_OK;
	if (strcmp(err, "slow_down") == 0) {
		pl->interval += OAUTH_SLOW_DOWN_STEP;
		return EX_OK;
	}
	struct buf why = BUF_INIT;
	const char *secrets[] = {device_code, a->oauth2_client_secret};
	oauth_describe_error(reply, secrets, 2, &why);
	int rc = strcmp(err, "expired_token") == 0
	                 ? err_set(e, EX_NOPERM, "the code expired before the "
	                           "sign-in was done (%s): run outbox "
	                           "--oauth2-login -a %s again",
	                           buf_str(&why), oauth_account_name(a))
	         : strcmp(err, "access_denied") == 0
	                 ? err_set(e, EX_NOPERM, "the sign-in was declined "
	                           "(%s)", buf_str(&why))
	                 : err_set(e, EX_NOPERM, "the token endpoint refused "
	                           "the device code (%s)", buf_str(&why));
	buf_free(&why);
	return rc;
}

static int poll_until_granted(const struct account *a,
                              const struct oauth_endpoints *ep,
                              const struct oauth_trace *t,
                              const struct oauth_device_reply *codes,
                              struct oauth_token_reply *reply, struct err *e)
{
	struct poll pl = {
		.interval = codes->interval > 0 ? codes->interval
		                                : OAUTH_DEFAULT_INTERVAL,
		.deadline = (long long)time(NULL) +
		            (codes->expires_in > 0 ? codes->expires_in
		                                   : DEFAULT_CODE_LIFETIME),
	};
	for (;;) {
		long wait = pl.backoff ? pl.backoff : pl.interval;
		if ((long long)time(NULL) + wait > pl.deadline)
			return err_set(e, EX_NOPERM, "the code expired before "
			               "the sign-in was done: run outbox "
			               "--oauth2-login -a %s again",
			               oauth_account_name(a));
		sleep_seconds(wait);
		bool done = false;
		int rc = poll_once(a, ep, t, codes->device_code, &pl, reply,
		                   &done, e);
		if (rc != EX_OK || done)
			return rc;
		oauth_token_reply_free(reply);
	}
}

/* Where the tokens will go must work before the user is sent to sign
 * in (oauth2_token_store keyring without a keyring fails here, not
 * after the sign-in). p is open and locked on success; a damaged old
 * file does not matter: it is replaced. */
static int open_store(const struct account *a,
                      const struct oauth_endpoints *ep,
                      struct oauth_place *p, struct err *e)
{
	int rc = oauth_place_open(a, ep->token_url, p, e);
	if (rc != EX_OK)
		return rc;
	struct oauth_store old;
	bool found = false;
	rc = oauth_place_read(p, &old, &found, e);
	oauth_store_free(&old);
	if (rc == EX_DATAERR && p->mode != OAUTH2_STORE_KEYRING) {
		err_clear(e);
		rc = EX_OK;
	}
	if (rc != EX_OK)
		oauth_place_close(p);
	return rc;
}

int oauth_login(const struct account *a, const struct oauth_trace *t,
                oauth_say_fn say, void *ctx, struct err *e)
{
	struct oauth_endpoints ep;
	int rc = oauth_endpoints_for(a, &ep, e);
	if (rc == EX_OK && !ep.device_url)
		rc = err_set(e, EX_CONFIG, "account %s: set oauth2_device_url "
		             "(or an oauth2_provider: microsoft, google) for "
		             "the device login", oauth_account_name(a));
	struct oauth_device_reply codes = {0};
	struct oauth_token_reply reply = {0};
	struct oauth_place p;
	/* Checked first, unlocked while the user signs in (a send may
	 * run meanwhile), locked again to keep the tokens. */
	if (rc == EX_OK && (rc = open_store(a, &ep, &p, e)) == EX_OK)
		oauth_place_close(&p);
	if (rc == EX_OK)
		rc = request_codes(a, &ep, t, &codes, e);
	if (rc == EX_OK) {
		tell_user(&codes, say, ctx);
		rc = poll_until_granted(a, &ep, t, &codes, &reply, e);
	}
	if (rc == EX_OK && (rc = open_store(a, &ep, &p, e)) == EX_OK) {
		rc = oauth_keep(&p, a, &ep, &reply, NULL, e);
		if (rc == EX_OK)
			say(ctx, p.keyring ? "Signed in. The tokens are kept in "
			                     "the keyring."
			                   : "Signed in. The tokens are kept in a "
			                     "private file of this user.");
		if (rc == EX_OK && !reply.refresh_token)
			say(ctx, "warning: the server sent no refresh token "
			         "(is offline_access in the scope?): log in "
			         "again when the access token expires");
		oauth_place_close(&p);
	}
	oauth_token_reply_free(&reply);
	oauth_device_reply_free(&codes);
	oauth_endpoints_free(&ep);
	return rc;
}
