/* oauth_json.h - the JSON documents of OAuth 2.0: token endpoint replies
 * (RFC 6749 5.1, 5.2), device authorization replies (RFC 8628 3.2, 3.5)
 * and the token store's file format. Pure: text in, struct out.
 *
 * Parsing goes through json-c (loaded on first use, lazylib.h) in its
 * strict mode (JSON_TOKENER_STRICT: no trailing commas or comments, among
 * others; it still takes 'single quotes' and NaN), UTF-8 checked, nesting
 * at most OAUTH_JSON_MAX_DEPTH, nothing but white space after the value. A document over
 * OAUTH_JSON_MAX_TEXT bytes or with a NUL byte is refused before json-c
 * sees it. Members this module does not know are ignored; a member that
 * appears twice counts with its last value (json-c's rule).
 *
 * Secrets: access_token, refresh_token and device_code are tokens. They
 * are copied into their own allocations (freed with free_secret by the
 * _free functions), every string json-c held is wiped before its tree is
 * released, and no error message ever quotes a token (nor any other
 * value of a reply: they name the member that is wrong). json-c's tokenizer
 * keeps its own scratch copy of the last string it read; that buffer is
 * private to json-c and freed unwiped (its API offers no way to wipe it).
 *
 * The strings filled in are heap copies without NUL bytes, valid UTF-8
 * by utf8.h's rules (json-c's own check lets overlong forms through);
 * tokens hold no control characters (RFC 6749 A.12/A.13: VSCHAR); an
 * empty string counts as absent.
 *
 * Every parser returns EX_UNAVAILABLE (lazylib.h's sentence) when json-c
 * cannot be loaded. */
#ifndef OUTBOX_OAUTH_JSON_H
#define OUTBOX_OAUTH_JSON_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Largest reply or store document parsed. */
#define OAUTH_JSON_MAX_TEXT (64 * 1024)
/* Deepest nesting of objects and arrays accepted (the documents are flat;
 * a server's extra members may nest a little). */
#define OAUTH_JSON_MAX_DEPTH 16
/* Largest expires_in / interval / expires_at accepted: 10 years of
 * seconds (and a date before the year 2286 for expires_at), so that
 * "now + expires_in" cannot overflow anywhere. */
#define OAUTH_MAX_SECONDS (10LL * 366 * 24 * 3600)
#define OAUTH_MAX_EXPIRES_AT 9999999999LL
/* RFC 8628 3.2: the polling interval when the reply names none. */
#define OAUTH_DEFAULT_INTERVAL 5

struct oauth_token_reply { /* RFC 6749 5.1 / 5.2 */
	/* heap or NULL; tokens allocated so they can be wiped */
	char *access_token, *refresh_token, *token_type, *scope;
	long expires_in; /* -1 when absent */
	/* 5.2 error reply (also RFC 8628 3.5: authorization_pending,
	 * slow_down, expired_token, access_denied) */
	char *error, *error_description;
};

/* Parse a token endpoint reply body. EX_OK when it is a JSON object with
 * either error (then it is an error reply: error and error_description
 * are filled, nothing else) or access_token and token_type, which must be
 * "Bearer" (any case; stored as sent); refresh_token, scope and
 * expires_in are optional. EX_PROTOCOL with a sentence otherwise: not
 * JSON, not an object, a member of the wrong type, over
 * OAUTH_JSON_MAX_TEXT, a token with control characters, a string with a
 * NUL, expires_in not a non-negative integer (or a string of digits, as
 * some servers send it) up to OAUTH_MAX_SECONDS. out is filled only on
 * EX_OK (and is then released with oauth_token_reply_free). Never puts
 * token text in the error. Pure. */
int oauth_parse_token_reply(const char *body, size_t len,
                            struct oauth_token_reply *out, struct err *e);
/* Wipe the tokens, free everything; the reply is empty afterwards (and
 * may be freed again). */
void oauth_token_reply_free(struct oauth_token_reply *r);

struct oauth_device_reply { /* RFC 8628 3.2 */
	char *device_code, *user_code, *verification_uri,
	        *verification_uri_complete, *message;
	long expires_in, interval; /* interval defaults to 5 when absent */
	char *error, *error_description;
};

/* Parse a device authorization reply body: EX_OK when it is a JSON object
 * with error (an error reply, as above), or with device_code, user_code,
 * verification_uri (Google says verification_url: taken as the same) and
 * expires_in; verification_uri_complete, message (Microsoft) and interval
 * are optional (expires_in and interval: integers as in the token reply;
 * interval 0 is returned as sent, the caller enforces its own minimum).
 * user_code, the URIs and message may be shown to the user: the caller
 * sanitizes them (they are checked for NUL only). EX_PROTOCOL with a
 * sentence otherwise, never quoting the device code. Pure. */
int oauth_parse_device_reply(const char *body, size_t len,
                             struct oauth_device_reply *out, struct err *e);
/* Wipe the device code, free everything; the reply is empty afterwards. */
void oauth_device_reply_free(struct oauth_device_reply *r);

/* The token store file (one per account): a JSON object
 *   {"version":1,"token_endpoint":..,"client_id":..,"scope":..,
 *    "refresh_token":..,"access_token":..,"expires_at":<unix seconds>}
 * version and refresh_token are required, the rest optional (NULL / 0:
 * not written). */
struct oauth_store {
	char *token_endpoint, *client_id, *scope, *refresh_token,
	        *access_token;
	long long expires_at; /* 0: unknown */
};

/* The store's version this code writes and reads. */
#define OAUTH_STORE_VERSION 1

/* Append s as a JSON document (one line, a final newline) to out, which
 * grows as buf_add_secret grows it: no copy of a token is left in freed
 * memory. Writes only the members that are set (not NULL, not empty;
 * expires_at when not 0). The caller wipes out (buf_wipe). */
void oauth_store_format(const struct oauth_store *s, struct buf *out);
/* Read a store document back: EX_DATAERR with a sentence on anything
 * malformed (as the replies above, plus: version missing or not 1,
 * refresh_token missing, expires_at not an integer in 0..
 * OAUTH_MAX_EXPIRES_AT). Members it does not know are ignored. out is
 * filled only on EX_OK. Pure. */
int oauth_store_parse(const char *text, size_t len, struct oauth_store *out,
                      struct err *e);
/* Wipe the tokens, free everything; the store is empty afterwards. */
void oauth_store_free(struct oauth_store *s);

#endif
