/* oauth_json.c - OAuth 2.0's JSON documents; see oauth_json.h. */
#include "oauth_json.h"

#include <json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "lazylib.h"
#include "utf8.h"
#include "util.h"

/* One document being read: what to call it in messages, the exit code of
 * its failures, and json-c's tree of it. */
struct doc {
	const char *what; /* "the token endpoint's reply" */
	int code;         /* EX_PROTOCOL (a server's reply) or EX_DATAERR */
	struct json_object *root;
};

/* Zero every string json-c holds in the tree (they may be tokens) before
 * the tree is released: json_object_put frees without wiping. */
static void wipe_strings(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		/* json-c's own copy, in memory it allocated: writable */
		secure_zero((char *)json_object_get_string(o),
		            (size_t)json_object_get_string_len(o));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, value)
		{
			(void)key;
			wipe_strings(value);
		}
		break;
	}
	case json_type_array:
		for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
			wipe_strings(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}

static void doc_release(struct doc *d)
{
	if (!d->root)
		return;
	wipe_strings(d->root);
	json_object_put(d->root);
	d->root = NULL;
}

/* Parse text into d->root, which must be an object. */
static int doc_parse(struct doc *d, const char *text, size_t len,
                     struct err *e)
{
	d->root = NULL;
	if (lazylib_load(LAZYLIB_JSONC, e) != EX_OK)
		return e->code;
	if (len > OAUTH_JSON_MAX_TEXT)
		return err_set(e, d->code,
		               "%s is larger than %d bytes; refusing to parse it",
		               d->what, OAUTH_JSON_MAX_TEXT);
	if (len > 0 && memchr(text, '\0', len))
		return err_set(e, d->code,
		               "%s is not JSON: it contains a NUL byte", d->what);
	struct json_tokener *tok = json_tokener_new_ex(OAUTH_JSON_MAX_DEPTH);
	if (!tok)
		die_out_of_memory();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                    JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int rc = EX_OK;
	if (jerr == json_tokener_continue) {
		/* the text ended inside a value (or held none at all) */
		rc = err_set(e, d->code,
		             "%s is not a JSON object: %s", d->what,
		             end == 0 || !root ? "it is empty or cut short"
		                               : "it is cut short");
	} else if (jerr != json_tokener_success || !root) {
		/* json-c's description quotes nothing of the text */
		rc = err_set(e, d->code, "%s is not valid JSON: %s at byte %zu",
		             d->what, json_tokener_error_desc(jerr), end);
	} else if (json_object_get_type(root) != json_type_object) {
		rc = err_set(e, d->code, "%s is not a JSON object", d->what);
	}
	d->root = root;
	if (rc != EX_OK)
		doc_release(d);
	return rc;
}

/* How a string member is checked. */
enum string_kind {
	TEXT,  /* valid UTF-8 (utf8.h's rules), no NUL */
	TOKEN, /* RFC 6749 A.12, A.13: 1*VSCHAR, %x20-7E */
};

/* The value of member name, or NULL when it is absent or null. */
static struct json_object *member(const struct doc *d, const char *name)
{
	struct json_object *value = NULL;
	if (!json_object_object_get_ex(d->root, name, &value))
		return NULL;
	return value;
}

/* Copy string member name into *out (heap, NULL when absent, null or
 * empty). The messages name the member, never its value. */
static int get_string(const struct doc *d, const char *name,
                      enum string_kind kind, char **out, struct err *e)
{
	*out = NULL;
	struct json_object *value = member(d, name);
	if (!value)
		return EX_OK;
	if (json_object_get_type(value) != json_type_string)
		return err_set(e, d->code, "%s has a member \"%s\" that is not a "
		               "string", d->what, name);
	const char *s = json_object_get_string(value);
	size_t len = (size_t)json_object_get_string_len(value);
	if (len == 0)
		return EX_OK;
	if (memchr(s, '\0', len))
		return err_set(e, d->code, "%s has a member \"%s\" with a NUL "
		               "character in it", d->what, name);
	/* json-c's own check lets overlong forms through (E0 9F 9F); the
	 * store writes back only what utf8.c takes for UTF-8 */
	for (size_t i = 0; kind == TEXT && i < len;) {
		uint32_t cp;
		size_t n = utf8_sequence_length(s + i, len - i, &cp);
		if (n == 0)
			return err_set(e, d->code, "%s has a \"%s\" that is not "
			               "valid UTF-8", d->what, name);
		i += n;
	}
	if (kind == TOKEN)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 ||
			    (unsigned char)s[i] > 0x7e)
				return err_set(e, d->code,
				               "%s has a \"%s\" with a character "
				               "a token may not hold (RFC 6749 "
				               "A.12: printable ASCII only)",
				               d->what, name);
	/* exactly sized, so freeing it with free_secret wipes all of it */
	char *copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	*out = copy;
	return EX_OK;
}

/* A member that counts seconds (or a point in time in seconds): a
 * non-negative JSON integer, or a string of digits (some servers quote
 * expires_in), at most max. *out is -1 when it is absent or null. */
static int get_seconds(const struct doc *d, const char *name, long long max,
                       long long *out, struct err *e)
{
	*out = -1;
	struct json_object *value = member(d, name);
	if (!value)
		return EX_OK;
	long long v = 0;
	bool too_large = false;
	switch (json_object_get_type(value)) {
	case json_type_int:
		/* json-c saturates what int64 cannot hold: too large anyway */
		v = (long long)json_object_get_int64(value);
		if (v < 0)
			return err_set(e, d->code,
			               "%s has a negative \"%s\"", d->what, name);
		too_large = v > max;
		break;
	case json_type_string: {
		const char *s = json_object_get_string(value);
		size_t len = (size_t)json_object_get_string_len(value);
		if (len == 0)
			goto not_a_number;
		for (size_t i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				goto not_a_number;
			if (!too_large)
				v = v * 10 + (s[i] - '0');
			too_large = too_large || v > max;
		}
		break;
	}
	default:
		goto not_a_number;
	}
	if (too_large)
		return err_set(e, d->code,
		               "%s has a \"%s\" larger than %lld", d->what, name,
		               max);
	*out = v;
	return EX_OK;
not_a_number:
	return err_set(e, d->code,
	               "%s has a \"%s\" that is not a whole number of "
	               "seconds",
	               d->what, name);
}

/* get_seconds into a long (every accepted value fits: OAUTH_MAX_SECONDS
 * is below 2^31). */
static int get_long_seconds(const struct doc *d, const char *name,
                            long *out, struct err *e)
{
	long long v;
	int rc = get_seconds(d, name, OAUTH_MAX_SECONDS, &v, e);
	*out = (long)v;
	return rc;
}

_Static_assert(OAUTH_MAX_SECONDS <= 2147483647LL,
               "OAUTH_MAX_SECONDS must fit in a 32-bit long");

/* RFC 6749 5.2 (RFC 8628 3.5): error and error_description. error_uri is
 * not used. */
static int get_error(const struct doc *d, char **error, char **description,
                     struct err *e)
{
	int rc = get_string(d, "error", TEXT, error, e);
	if (rc == EX_OK && *error)
		rc = get_string(d, "error_description", TEXT, description, e);
	return rc;
}

/* ---- token replies ----------------------------------------------------- */

void oauth_token_reply_free(struct oauth_token_reply *r)
{
	free_secret(r->access_token);
	free_secret(r->refresh_token);
	free(r->token_type);
	free(r->scope);
	free(r->error);
	free(r->error_description);
	*r = (struct oauth_token_reply){.expires_in = -1};
}

static int token_reply_members(const struct doc *d,
                               struct oauth_token_reply *r, struct err *e)
{
	int rc = get_error(d, &r->error, &r->error_description, e);
	if (rc != EX_OK || r->error)
		return rc;
	rc = get_string(d, "access_token", TOKEN, &r->access_token, e);
	if (rc != EX_OK)
		return rc;
	if (!r->access_token)
		return err_set(e, d->code,
		               "%s has neither an access_token nor an error "
		               "(RFC 6749 5.1, 5.2)",
		               d->what);
	rc = get_string(d, "token_type", TEXT, &r->token_type, e);
	if (rc != EX_OK)
		return rc;
	if (!r->token_type)
		return err_set(e, d->code, "%s has no token_type (RFC 6749 5.1)",
		               d->what);
	/* RFC 6749 7.1: the type is case-insensitive; SMTP's XOAUTH2 and
	 * OAUTHBEARER carry bearer tokens (RFC 6750) only. */
	if (ascii_casecmp(r->token_type, "Bearer") != 0)
		return err_set(e, d->code,
		               "%s has a token_type other than Bearer; outbox "
		               "can only use bearer tokens (RFC 6750)",
		               d->what);
	rc = get_string(d, "refresh_token", TOKEN, &r->refresh_token, e);
	if (rc == EX_OK)
		rc = get_string(d, "scope", TEXT, &r->scope, e);
	if (rc == EX_OK)
		rc = get_long_seconds(d, "expires_in", &r->expires_in, e);
	return rc;
}

int oauth_parse_token_reply(const char *body, size_t len,
                            struct oauth_token_reply *out, struct err *e)
{
	struct doc d = {"the token endpoint's reply", EX_PROTOCOL, NULL};
	struct oauth_token_reply r = {.expires_in = -1};
	*out = r;
	int rc = doc_parse(&d, body, len, e);
	if (rc == EX_OK)
		rc = token_reply_members(&d, &r, e);
	doc_release(&d);
	if (rc != EX_OK)
		oauth_token_reply_free(&r);
	else
		*out = r;
	return rc;
}

/* ---- device authorization replies ---------------------------------------- */

void oauth_device_reply_free(struct oauth_device_reply *r)
{
	free_secret(r->device_code);
	free(r->user_code);
	free(r->verification_uri);
	free(r->verification_uri_complete);
	free(r->message);
	free(r->error);
	free(r->error_description);
	*r = (struct oauth_device_reply){.expires_in = -1,
	                                 .interval = OAUTH_DEFAULT_INTERVAL};
}

/* A member RFC 8628 3.2 requires. */
static int require(const struct doc *d, const void *value, const char *name,
                   struct err *e)
{
	if (value)
		return EX_OK;
	return err_set(e, d->code, "%s has no %s (RFC 8628 3.2)", d->what,
	               name);
}

static int device_reply_members(const struct doc *d,
                                struct oauth_device_reply *r, struct err *e)
{
	int rc = get_error(d, &r->error, &r->error_description, e);
	if (rc != EX_OK || r->error)
		return rc;
	rc = get_string(d, "device_code", TOKEN, &r->device_code, e);
	if (rc == EX_OK)
		rc = require(d, r->device_code, "device_code", e);
	if (rc == EX_OK)
		rc = get_string(d, "user_code", TEXT, &r->user_code, e);
	if (rc == EX_OK)
		rc = require(d, r->user_code, "user_code", e);
	if (rc == EX_OK)
		rc = get_string(d, "verification_uri", TEXT,
		                &r->verification_uri, e);
	/* Google's name for it */
	if (rc == EX_OK && !r->verification_uri)
		rc = get_string(d, "verification_url", TEXT,
		                &r->verification_uri, e);
	if (rc == EX_OK)
		rc = require(d, r->verification_uri, "verification_uri", e);
	if (rc == EX_OK)
		rc = get_string(d, "verification_uri_complete", TEXT,
		                &r->verification_uri_complete, e);
	if (rc == EX_OK)
		rc = get_string(d, "message", TEXT, &r->message, e);
	if (rc == EX_OK)
		rc = get_long_seconds(d, "expires_in", &r->expires_in, e);
	if (rc == EX_OK && r->expires_in < 0)
		rc = require(d, NULL, "expires_in", e);
	if (rc == EX_OK)
		rc = get_long_seconds(d, "interval", &r->interval, e);
	if (rc == EX_OK && r->interval < 0)
		r->interval = OAUTH_DEFAULT_INTERVAL;
	return rc;
}

int oauth_parse_device_reply(const char *body, size_t len,
                             struct oauth_device_reply *out, struct err *e)
{
	struct doc d = {"the device authorization reply", EX_PROTOCOL, NULL};
	struct oauth_device_reply r = {.expires_in = -1,
	                               .interval = OAUTH_DEFAULT_INTERVAL};
	*out = r;
	int rc = doc_parse(&d, body, len, e);
	if (rc == EX_OK)
		rc = device_reply_members(&d, &r, e);
	doc_release(&d);
	if (rc != EX_OK)
		oauth_device_reply_free(&r);
	else
		*out = r;
	return rc;
}

/* ---- the token store ------------------------------------------------------ */

/* Append s as a JSON string (RFC 8259 7): '"' and '\\' escaped, control
 * characters as \u00XX; valid UTF-8 as it is, any other byte as the code
 * point of the same value (\u00XX), so the document always parses. */
static void add_member(struct buf *out, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	buf_add_secret(out, ",\"", 2);
	buf_add_secret(out, name, strlen(name));
	buf_add_secret(out, "\":", 2);
	json_write_string(out, value);
}

/* Written by hand rather than with json-c: its serializer grows its
 * buffer with realloc, which would leave copies of the tokens behind in
 * freed memory. The reader is json-c (oauth_store_parse). */
void oauth_store_format(const struct oauth_store *s, struct buf *out)
{
	char number[64];
	int n = snprintf(number, sizeof number, "{\"version\":%d",
	                 OAUTH_STORE_VERSION);
	buf_add_secret(out, number, (size_t)n);
	add_member(out, "token_endpoint", s->token_endpoint);
	add_member(out, "client_id", s->client_id);
	add_member(out, "scope", s->scope);
	add_member(out, "refresh_token", s->refresh_token);
	add_member(out, "access_token", s->access_token);
	if (s->expires_at > 0) {
		n = snprintf(number, sizeof number, ",\"expires_at\":%lld",
		             s->expires_at);
		buf_add_secret(out, number, (size_t)n);
	}
	buf_add_secret(out, "}\n", 2);
}

void oauth_store_free(struct oauth_store *s)
{
	free(s->token_endpoint);
	free(s->client_id);
	free(s->scope);
	free_secret(s->refresh_token);
	free_secret(s->access_token);
	*s = (struct oauth_store){0};
}

static int store_members(const struct doc *d, struct oauth_store *s,
                         struct err *e)
{
	struct json_object *version = member(d, "version");
	if (!version)
		return err_set(e, d->code, "%s has no version", d->what);
	if (json_object_get_type(version) != json_type_int ||
	    json_object_get_int64(version) != OAUTH_STORE_VERSION)
		return err_set(e, d->code,
		               "%s is not of version %d, the one this outbox "
		               "reads",
		               d->what, OAUTH_STORE_VERSION);
	/* A login whose server sent no refresh token keeps the access
	 * token alone: usable until it expires. */
	int rc = get_string(d, "refresh_token", TOKEN, &s->refresh_token, e);
	if (rc == EX_OK)
		rc = get_string(d, "access_token", TOKEN, &s->access_token, e);
	if (rc == EX_OK && !s->refresh_token && !s->access_token)
		rc = err_set(e, d->code, "%s has neither a refresh_token nor "
		             "an access_token", d->what);
	if (rc == EX_OK)
		rc = get_string(d, "token_endpoint", TEXT, &s->token_endpoint,
		                e);
	if (rc == EX_OK)
		rc = get_string(d, "client_id", TEXT, &s->client_id, e);
	if (rc == EX_OK)
		rc = get_string(d, "scope", TEXT, &s->scope, e);
	long long expires_at = -1;
	if (rc == EX_OK)
		rc = get_seconds(d, "expires_at", OAUTH_MAX_EXPIRES_AT,
		                 &expires_at, e);
	s->expires_at = expires_at < 0 ? 0 : expires_at;
	return rc;
}

int oauth_store_parse(const char *text, size_t len, struct oauth_store *out,
                      struct err *e)
{
	struct doc d = {"the OAuth token store", EX_DATAERR, NULL};
	struct oauth_store s = {0};
	*out = s;
	int rc = doc_parse(&d, text, len, e);
	if (rc == EX_OK)
		rc = store_members(&d, &s, e);
	doc_release(&d);
	if (rc != EX_OK)
		oauth_store_free(&s);
	else
		*out = s;
	return rc;
}
