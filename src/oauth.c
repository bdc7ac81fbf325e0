/* oauth.c - OAuth 2.0 access tokens for sending; see oauth.h. */
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauth_internal.h"
#include "sanitize.h"
#include "util.h"

/* How much of a server's error_description a message repeats. */
#define OAUTH_SHOWN_DESCRIPTION 300

bool oauth_enabled(const struct account *a)
{
	return a->oauth2_client_id && a->auth &&
	       (strcmp(a->auth, "xoauth2") == 0 ||
	        strcmp(a->auth, "oauthbearer") == 0);
}

const char *oauth_account_name(const struct account *a)
{
	return a->name ? a->name : "default";
}

/* ---- endpoints ------------------------------------------------------------ */

static bool host_ends_with(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);
	return h >= d && ascii_casecmp(host + h - d, domain) == 0 &&
	       (h == d || host[h - d - 1] == '.');
}

/* oauth2_provider auto: the SMTP servers of Microsoft 365 / Outlook.com
 * and of Gmail / Google Workspace say which it is. */
static enum oauth2_provider provider_of(const struct account *a)
{
	if (a->oauth2_provider != OAUTH2_AUTO)
		return a->oauth2_provider;
	const char *h = a->host ? a->host : "";
	if (host_ends_with(h, "office365.com") ||
	    host_ends_with(h, "outlook.com") || host_ends_with(h, "office.com"))
		return OAUTH2_MICROSOFT;
	if (host_ends_with(h, "gmail.com") ||
	    host_ends_with(h, "googlemail.com") ||
	    host_ends_with(h, "google.com"))
		return OAUTH2_GOOGLE;
	return OAUTH2_CUSTOM;
}

/* Microsoft's endpoints name the tenant: .../TENANT/oauth2/v2.0/WHAT. */
static char *microsoft_url(const struct account *a, const char *what)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s/oauth2/v2.0/%s", OAUTH_MICROSOFT_BASE,
	           a->oauth2_tenant ? a->oauth2_tenant : OAUTH_MICROSOFT_TENANT,
	           what);
	return buf_steal(&b);
}

int oauth_endpoints_for(const struct account *a, struct oauth_endpoints *out,
                        struct err *e)
{
	memset(out, 0, sizeof *out);
	out->provider = provider_of(a);
	if (out->provider == OAUTH2_MICROSOFT) {
		out->device_url = microsoft_url(a, "devicecode");
		out->token_url = microsoft_url(a, "token");
		out->scope = xstrdup(OAUTH_MICROSOFT_SCOPE);
	} else if (out->provider == OAUTH2_GOOGLE) {
		out->device_url = xstrdup(OAUTH_GOOGLE_DEVICE_URL);
		out->token_url = xstrdup(OAUTH_GOOGLE_TOKEN_URL);
		out->scope = xstrdup(OAUTH_GOOGLE_SCOPE);
	}
	/* The settings override the preset, one by one. */
	if (a->oauth2_device_url) {
		free(out->device_url);
		out->device_url = xstrdup(a->oauth2_device_url);
	}
	if (a->oauth2_token_url) {
		free(out->token_url);
		out->token_url = xstrdup(a->oauth2_token_url);
	}
	if (a->oauth2_scope) {
		free(out->scope);
		out->scope = xstrdup(a->oauth2_scope);
	}
	if (!a->oauth2_client_id)
		return err_set(e, EX_CONFIG, "account %s: OAuth needs "
		               "oauth2_client_id", oauth_account_name(a));
	if (!out->token_url)
		return err_set(e, EX_CONFIG, "account %s: set oauth2_token_url "
		               "(or an oauth2_provider: microsoft, google)",
		               oauth_account_name(a));
	return EX_OK;
}

void oauth_endpoints_free(struct oauth_endpoints *ep)
{
	free(ep->device_url);
	free(ep->token_url);
	free(ep->scope);
	memset(ep, 0, sizeof *ep);
}

/* ---- one request ------------------------------------------------------------ */

struct trace_shim {
	const struct oauth_trace *t;
};

static void http_trace(void *ctx, const char *line)
{
	const struct trace_shim *shim = ctx;
	bool request = strncmp(line, "HTTP", 4) != 0;
	shim->t->line(shim->t->ctx, request ? '>' : '<', line);
}

void oauth_form_client(const struct account *a, struct buf *form)
{
	http_form_add(form, "client_id", a->oauth2_client_id);
	if (a->oauth2_client_secret)
		http_form_add(form, "client_secret", a->oauth2_client_secret);
}

/* Replace every occurrence of needle in text (heap, NUL-ended) with
 * "<redacted>", wiping the old copy. */
static void redact(char **text, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || !strstr(*text, needle))
		return;
	struct buf out = BUF_INIT;
	const char *p = *text, *hit;
	while ((hit = strstr(p, needle))) {
		buf_add_secret(&out, p, (size_t)(hit - p));
		buf_add_secret(&out, "<redacted>", 10);
		p = hit + n;
	}
	buf_add_secret(&out, p, strlen(p));
	free_secret(*text);
	*text = buf_steal(&out);
}

static void redact_secrets(char **text, const char *const *secrets,
                           size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!secrets[i] || !*secrets[i])
			continue;
		redact(text, secrets[i]);
		/* as the form carried it */
		struct buf encoded = BUF_INIT;
		http_form_add(&encoded, "", secrets[i]);
		redact(text, buf_str(&encoded) + 1); /* after "=" */
		buf_wipe(&encoded);
	}
}

void oauth_describe_error(const struct oauth_token_reply *r,
                          const char *const *secrets, size_t count,
                          struct buf *out)
{
	char *error = xstrdup(r->error);
	char *description = r->error_description
	                            ? xstrdup(r->error_description)
	                            : NULL;
	redact_secrets(&error, secrets, count);
	sanitize_append_line(out, error, strlen(error));
	if (description && *description) {
		redact_secrets(&description, secrets, count);
		size_t n = strlen(description);
		buf_add_str(out, ": ");
		sanitize_append_line(out, description,
		                     n > OAUTH_SHOWN_DESCRIPTION
		                             ? OAUTH_SHOWN_DESCRIPTION
		                             : n);
		if (n > OAUTH_SHOWN_DESCRIPTION)
			buf_add_str(out, "...");
	}
	free_secret(error);
	free_secret(description);
}

/* RFC 6749 5.2 errors come with 400 or 401; 5xx and 429 (too many
 * requests) are the server's trouble: a later try may succeed. */
static enum oauth_outcome judge(const struct http_response *r,
                                const char *url,
                                struct oauth_token_reply *reply,
                                struct err *e)
{
	bool busy = r->status >= 500 || r->status == 429;
	int rc = oauth_parse_token_reply(r->body.data ? r->body.data : "",
	                                 r->body.len, reply, e);
	if (rc == EX_OK && reply->error && !busy)
		return OAUTH_REFUSED;
	if (rc == EX_OK && r->status == 200 && reply->access_token)
		return OAUTH_GRANTED;
	err_clear(e);
	if (busy && r->retry_after >= 0) {
		err_set(e, EX_TEMPFAIL, "the OAuth endpoint %s answered HTTP "
		        "%d; it asks to be tried again in %ld seconds", url,
		        r->status, r->retry_after);
	} else if (busy) {
		err_set(e, EX_TEMPFAIL, "the OAuth endpoint %s answered HTTP "
		        "%d%s", url, r->status,
		        r->status == 429 ? " (too many requests)" : "");
	} else if (r->status >= 300 && r->status < 400) {
		err_set(e, EX_CONFIG, "the OAuth endpoint %s answered HTTP %d "
		        "(a redirect, which outbox does not follow): check "
		        "the URL", url, r->status);
	} else {
		err_set(e, EX_TEMPFAIL, "the OAuth endpoint %s answered HTTP "
		        "%d without a usable token reply", url, r->status);
	}
	return OAUTH_FAILED;
}

int oauth_http_post(const struct account *a, const struct oauth_trace *t,
                    const char *url, const struct buf *form,
                    struct http_response *r, struct err *e)
{
	struct trace_shim shim = {t};
	struct http_settings s = {
		.timeout = a->timeout > 0 ? a->timeout : CONF_DEFAULT_TIMEOUT,
		.trust_file = a->oauth2_trust_file,
		.source_ip = a->source_ip,
		.trace = t && t->line ? http_trace : NULL,
		.trace_ctx = &shim,
	};
	int rc = http_post_form(&s, url, form, r, e);
	if (rc == EX_PROTOCOL)
		rc = e->code = EX_TEMPFAIL;
	return rc;
}

enum oauth_outcome oauth_post(const struct account *a,
                              const struct oauth_trace *t, const char *url,
                              const struct buf *form,
                              struct oauth_token_reply *reply, struct err *e)
{
	memset(reply, 0, sizeof *reply);
	reply->expires_in = -1;
	struct http_response r;
	if (oauth_http_post(a, t, url, form, &r, e) != EX_OK)
		return OAUTH_FAILED;
	enum oauth_outcome o = judge(&r, url, reply, e);
	http_response_free(&r);
	return o;
}

/* ---- keeping tokens ------------------------------------------------------------ */

int oauth_keep(struct oauth_place *p, const struct account *a,
               const struct oauth_endpoints *ep,
               const struct oauth_token_reply *reply,
               const char *refresh_token_before, struct err *e)
{
	long lifetime = reply->expires_in >= 0 ? reply->expires_in
	                                       : OAUTH_UNKNOWN_LIFETIME;
	struct oauth_store s = {
		.token_endpoint = ep->token_url,
		.client_id = a->oauth2_client_id,
		.scope = ep->scope,
		.refresh_token = reply->refresh_token
		                         ? reply->refresh_token
		                         : (char *)refresh_token_before,
		.access_token = reply->access_token,
		.expires_at = (long long)time(NULL) + lifetime,
	};
	return oauth_place_write(p, &s, e);
}

/* ---- the access token for a send ------------------------------------------- */

static int no_login(const struct account *a, const char *why,
                    struct err *e)
{
	return err_set(e, EX_NOPERM, "account %s: %s: run outbox "
	               "--oauth2-login -a %s", oauth_account_name(a), why,
	               oauth_account_name(a));
}

/* RFC 6749 6: a new access token for the stored refresh token. */
static int refresh(struct oauth_place *p, const struct account *a,
                   const struct oauth_endpoints *ep,
                   const struct oauth_trace *t, const char *refresh_token,
                   char **token, struct err *e)
{
	struct buf form = BUF_INIT;
	http_form_add(&form, "grant_type", "refresh_token");
	http_form_add(&form, "refresh_token", refresh_token);
	oauth_form_client(a, &form);
	if (ep->scope && *ep->scope)
		http_form_add(&form, "scope", ep->scope);
	struct oauth_token_reply reply;
	enum oauth_outcome o = oauth_post(a, t, ep->token_url, &form, &reply,
	                                  e);
	buf_wipe(&form);
	int rc = EX_OK;
	if (o == OAUTH_REFUSED) {
		struct buf why = BUF_INIT;
		buf_add_str(&why, "the token endpoint refused the refresh "
		            "token (");
		const char *secrets[] = {refresh_token,
		                         a->oauth2_client_secret};
		oauth_describe_error(&reply, secrets, 2, &why);
		buf_add_char(&why, ')');
		/* invalid_grant: revoked, expired, or the password changed;
		 * anything else is about the client: a login shows it too. */
		rc = no_login(a, buf_str(&why), e);
		buf_free(&why);
	} else if (o == OAUTH_FAILED) {
		rc = e->code;
	} else {
		rc = oauth_keep(p, a, ep, &reply, refresh_token, e);
		if (rc == EX_OK)
			*token = xstrdup(reply.access_token);
	}
	oauth_token_reply_free(&reply);
	return rc;
}

static int token_from_store(struct oauth_place *p, const struct account *a,
                            const struct oauth_endpoints *ep,
                            const struct oauth_trace *t, char **token,
                            bool *fresh, struct err *e)
{
	struct oauth_store s;
	bool found = false;
	int rc = oauth_place_read(p, &s, &found, e);
	if (rc != EX_OK)
		return rc;
	long long now = (long long)time(NULL);
	if (found && s.access_token && s.expires_at > now + OAUTH_EXPIRY_MARGIN) {
		*token = xstrdup(s.access_token);
	} else if (found && s.refresh_token) {
		rc = refresh(p, a, ep, t, s.refresh_token, token, e);
		*fresh = rc == EX_OK;
	} else {
		rc = no_login(a, found ? "the stored access token has expired "
		                         "and there is no refresh token"
		                       : "no OAuth login yet", e);
	}
	oauth_store_free(&s);
	return rc;
}

int oauth_access_token(const struct account *a, const struct oauth_trace *t,
                       char **token, bool *fresh, struct err *e)
{
	*token = NULL;
	*fresh = false;
	struct oauth_endpoints ep;
	int rc = oauth_endpoints_for(a, &ep, e);
	struct oauth_place p;
	if (rc == EX_OK)
		rc = oauth_place_open(a, ep.token_url, &p, e);
	if (rc == EX_OK) {
		rc = token_from_store(&p, a, &ep, t, token, fresh, e);
		oauth_place_close(&p);
	}
	oauth_endpoints_free(&ep);
	return rc;
}

void oauth_forget_access_token(const struct account *a)
{
	struct oauth_endpoints ep;
	struct oauth_place p;
	struct err e = ERR_INIT;
	if (oauth_endpoints_for(a, &ep, &e) == EX_OK &&
	    oauth_place_open(a, ep.token_url, &p, &e) == EX_OK) {
		struct oauth_store s;
		bool found = false;
		if (oauth_place_read(&p, &s, &found, &e) == EX_OK && found) {
			s.expires_at = 0;
			oauth_place_write(&p, &s, &e);
		}
		oauth_store_free(&s);
		oauth_place_close(&p);
	}
	oauth_endpoints_free(&ep);
	err_clear(&e);
}
