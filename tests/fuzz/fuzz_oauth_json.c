/* fuzz_oauth_json.c - libFuzzer target for OAuth 2.0's JSON documents
 * (oauth_json.h): token endpoint replies, device authorization replies and
 * the token store.
 *
 * The first byte picks what the rest is:
 *  0  a token reply;  1  a device authorization reply;  2  a store file:
 *     each parsed, and checked against a model of the header's contract
 *     that reads the same text with json-c directly and applies the member
 *     rules from a table (types, required members, tokens of printable
 *     ASCII, texts of valid UTF-8 by utf8.h, no NUL, seconds as integers or digit strings within their
 *     limits, the size limit): accepted exactly when the model accepts,
 *     with the same values; a store that parses is formatted again and
 *     must parse to the same values, and format to the same text;
 *  3  a store built from the bytes (fields split at 0xff, any bytes in
 *     them, expires_at from the last eight): format, then parse: accepted
 *     exactly when the tokens are printable ASCII and a refresh token is
 *     there; valid UTF-8 texts come back unchanged, others as valid UTF-8.
 * Every refusal is EX_PROTOCOL (replies) or EX_DATAERR (store) with a
 * message free of control characters and bounded that quotes no token:
 * neither the string values of the token members in the input nor the
 * tokens built. */
#include <json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "oauth_json.h"
#include "utf8.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the model ----------------------------------------------------------- */

enum kind { TEXT, TOKEN, SECONDS, MOMENT };

struct rule {
	const char *name;
	enum kind kind;
};

/* What the model makes of one member: absent (or null, or ""), a value,
 * or a refusal. */
struct value {
	bool present;
	char *text;       /* TEXT, TOKEN */
	long long number; /* SECONDS, MOMENT */
};

static struct json_object *model_document(const char *text, size_t len)
{
	if (len > OAUTH_JSON_MAX_TEXT || (len && memchr(text, '\0', len)))
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(OAUTH_JSON_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                    JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	bool ok = json_tokener_get_error(tok) == json_tokener_success && o &&
	          json_object_get_type(o) == json_type_object;
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool model_member(struct json_object *o, const struct rule *r,
                         struct value *v)
{
	*v = (struct value){false, NULL, -1};
	struct json_object *m = NULL;
	if (!json_object_object_get_ex(o, r->name, &m) || !m)
		return true;
	enum json_type t = json_object_get_type(m);
	if (r->kind == TEXT || r->kind == TOKEN) {
		if (t != json_type_string)
			return false;
		const char *s = json_object_get_string(m);
		size_t n = (size_t)json_object_get_string_len(m);
		if (n == 0)
			return true;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == 0 || (r->kind == TOKEN && (c < 0x20 || c > 0x7e)))
				return false;
		}
		for (size_t i = 0; i < n;) { /* utf8.h's UTF-8 */
			uint32_t cp;
			size_t k = utf8_sequence_length(s + i, n - i, &cp);
			if (k == 0)
				return false;
			i += k;
		}
		v->present = true;
		v->text = xstrndup(s, n);
		return true;
	}
	long long max = r->kind == SECONDS ? OAUTH_MAX_SECONDS
	                                   : OAUTH_MAX_EXPIRES_AT;
	long long x = 0;
	if (t == json_type_int) {
		x = (long long)json_object_get_int64(m);
		if (x < 0 || x > max)
			return false;
	} else if (t == json_type_string) {
		const char *s = json_object_get_string(m);
		size_t n = (size_t)json_object_get_string_len(m);
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			x = x * 10 + (s[i] - '0');
			if (x > max)
				return false;
		}
	} else {
		return false;
	}
	v->present = true;
	v->number = x;
	return true;
}

#define MAX_RULES 8

/* Apply the rules to the document; false on a refusal. */
static bool model_apply(struct json_object *o, const struct rule *rules,
                        size_t count, struct value *values)
{
	bool ok = true;
	for (size_t i = 0; i < count; i++)
		ok = model_member(o, &rules[i], &values[i]) && ok;
	return ok;
}

static void values_free(struct value *values, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(values[i].text);
}

/* The string values of members named like tokens, anywhere at the top:
 * a message may quote none of them. */
static void collect_tokens(struct json_object *o, struct buf *tokens)
{
	static const char *const names[] = {"access_token", "refresh_token",
	                                    "device_code"};
	for (size_t i = 0; o && i < 3; i++) {
		struct json_object *m = NULL;
		if (json_object_object_get_ex(o, names[i], &m) &&
		    json_object_get_type(m) == json_type_string) {
			buf_add_str(tokens, json_object_get_string(m));
			buf_add_char(tokens, '\n');
		}
	}
}

/* A marker the tokens built in mode 3 start with: no message of ours
 * has it. */
#define MARKER "Tq9"

/* Whether a token line could be our own words: shorter than 6 bytes, or
 * nothing in it but what messages are made of (letters, digits, white
 * space and the punctuation of sentences), unless it has the marker. */
static bool could_be_words(const char *t, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++)
		if (memcmp(t + i, MARKER, 3) == 0)
			return false;
	if (n < 6)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c >= 0x80 || strchr("~#$%&*+=|^`{}<>[]!?@\\/", c))
			return false;
	}
	return true;
}

/* Whether a token (a line of tokens) shows in msg. */
static bool quotes_a_token(const char *msg, const char *tokens)
{
	for (const char *t = tokens; *t;) {
		size_t n = strcspn(t, "\n");
		if (!could_be_words(t, n)) {
			char *one = xstrndup(t, n);
			bool found = strstr(msg, one) != NULL;
			free(one);
			if (found)
				return true;
		}
		t += n + (t[n] ? 1 : 0);
	}
	return false;
}

static void check_message(const struct err *e, int code, const char *tokens)
{
	const char *msg = err_msg(e);
	if (e->code != code || !*msg || strlen(msg) > 400)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
	if (quotes_a_token(msg, tokens))
		abort();
}

static bool same_text(const char *got, const struct value *want)
{
	if (!want->present)
		return got == NULL;
	return got && strcmp(got, want->text) == 0;
}

static bool is_bearer(const char *s)
{
	return s && ascii_casecmp(s, "bearer") == 0;
}

/* ---- token replies --------------------------------------------------------- */

static const struct rule error_rules[] = {
	{"error", TEXT},
	{"error_description", TEXT},
};

static const struct rule token_rules[] = {
	{"access_token", TOKEN}, {"token_type", TEXT}, {"refresh_token", TOKEN},
	{"scope", TEXT},         {"expires_in", SECONDS},
};

static void fuzz_token_reply(const char *text, size_t len)
{
	struct json_object *o = model_document(text, len);
	struct buf tokens = BUF_INIT;
	collect_tokens(o, &tokens);
	struct value ev[2] = {0}, tv[5] = {0};
	bool want = false, is_error = false;
	if (o) {
		/* error first: then description, nothing else */
		want = model_member(o, &error_rules[0], &ev[0]);
		is_error = want && ev[0].present;
		if (is_error)
			want = model_member(o, &error_rules[1], &ev[1]);
		else if (want)
			want = model_apply(o, token_rules, 5, tv) &&
			       tv[0].present && is_bearer(tv[1].text);
	}
	struct oauth_token_reply r;
	struct err e = ERR_INIT;
	int rc = oauth_parse_token_reply(text, len, &r, &e);
	if ((rc == EX_OK) != want)
		abort();
	if (rc == EX_OK) {
		if (is_error) {
			if (!same_text(r.error, &ev[0]) ||
			    !same_text(r.error_description, &ev[1]) ||
			    r.access_token || r.token_type || r.refresh_token ||
			    r.scope || r.expires_in != -1)
				abort();
		} else if (r.error || r.error_description ||
		           !same_text(r.access_token, &tv[0]) ||
		           !same_text(r.token_type, &tv[1]) ||
		           !same_text(r.refresh_token, &tv[2]) ||
		           !same_text(r.scope, &tv[3]) ||
		           r.expires_in != (tv[4].present ? tv[4].number : -1)) {
			abort();
		}
		oauth_token_reply_free(&r);
	} else {
		check_message(&e, EX_PROTOCOL, buf_str(&tokens));
		if (r.access_token || r.error)
			abort();
	}
	err_clear(&e);
	values_free(ev, 2);
	values_free(tv, 5);
	buf_free(&tokens);
	json_object_put(o);
}

/* ---- device replies -------------------------------------------------------- */

static const struct rule device_rules[] = {
	{"device_code", TOKEN},
	{"user_code", TEXT},
	{"verification_uri", TEXT},
	{"verification_url", TEXT},
	{"verification_uri_complete", TEXT},
	{"message", TEXT},
	{"expires_in", SECONDS},
	{"interval", SECONDS},
};

static void fuzz_device_reply(const char *text, size_t len)
{
	struct json_object *o = model_document(text, len);
	struct buf tokens = BUF_INIT;
	collect_tokens(o, &tokens);
	struct value ev[2] = {0}, dv[8] = {0};
	bool want = false, is_error = false;
	if (o) {
		want = model_member(o, &error_rules[0], &ev[0]);
		is_error = want && ev[0].present;
		if (is_error) {
			want = model_member(o, &error_rules[1], &ev[1]);
		} else if (want) {
			/* verification_url only counts without _uri */
			want = model_member(o, &device_rules[0], &dv[0]) &&
			       model_member(o, &device_rules[1], &dv[1]) &&
			       model_member(o, &device_rules[2], &dv[2]) &&
			       (dv[2].present ||
			        model_member(o, &device_rules[3], &dv[3])) &&
			       model_member(o, &device_rules[4], &dv[4]) &&
			       model_member(o, &device_rules[5], &dv[5]) &&
			       model_member(o, &device_rules[6], &dv[6]) &&
			       model_member(o, &device_rules[7], &dv[7]) &&
			       dv[0].present && dv[1].present &&
			       (dv[2].present || dv[3].present) && dv[6].present;
		}
	}
	struct oauth_device_reply r;
	struct err e = ERR_INIT;
	int rc = oauth_parse_device_reply(text, len, &r, &e);
	if ((rc == EX_OK) != want)
		abort();
	if (rc == EX_OK) {
		if (is_error) {
			if (!same_text(r.error, &ev[0]) ||
			    !same_text(r.error_description, &ev[1]) ||
			    r.device_code || r.user_code)
				abort();
		} else if (r.error || !same_text(r.device_code, &dv[0]) ||
		           !same_text(r.user_code, &dv[1]) ||
		           !same_text(r.verification_uri,
		                      dv[2].present ? &dv[2] : &dv[3]) ||
		           !same_text(r.verification_uri_complete, &dv[4]) ||
		           !same_text(r.message, &dv[5]) ||
		           r.expires_in != dv[6].number ||
		           r.interval != (dv[7].present ? dv[7].number
		                                        : OAUTH_DEFAULT_INTERVAL)) {
			abort();
		}
		oauth_device_reply_free(&r);
	} else {
		check_message(&e, EX_PROTOCOL, buf_str(&tokens));
		if (r.device_code || r.error)
			abort();
	}
	err_clear(&e);
	values_free(ev, 2);
	values_free(dv, 8);
	buf_free(&tokens);
	json_object_put(o);
}

/* ---- the store ------------------------------------------------------------- */

static const struct rule store_rules[] = {
	{"token_endpoint", TEXT}, {"client_id", TEXT},    {"scope", TEXT},
	{"refresh_token", TOKEN}, {"access_token", TOKEN}, {"expires_at", MOMENT},
};

static bool same_store(const struct oauth_store *a, const struct oauth_store *b)
{
	const char *x[] = {a->token_endpoint, a->client_id, a->scope,
	                   a->refresh_token, a->access_token};
	const char *y[] = {b->token_endpoint, b->client_id, b->scope,
	                   b->refresh_token, b->access_token};
	for (int i = 0; i < 5; i++)
		if ((x[i] == NULL) != (y[i] == NULL) ||
		    (x[i] && strcmp(x[i], y[i]) != 0))
			return false;
	return a->expires_at == b->expires_at;
}

/* format(s) parses to s, and formats to the same text again. */
static void check_round_trip(const struct oauth_store *s)
{
	struct buf text = BUF_INIT, again = BUF_INIT;
	oauth_store_format(s, &text);
	struct oauth_store back;
	struct err e = ERR_INIT;
	if (oauth_store_parse(text.data, text.len, &back, &e) != EX_OK ||
	    !same_store(s, &back))
		abort();
	oauth_store_format(&back, &again);
	if (again.len != text.len || memcmp(again.data, text.data, text.len))
		abort();
	oauth_store_free(&back);
	buf_wipe(&text);
	buf_wipe(&again);
}

static void fuzz_store(const char *text, size_t len)
{
	struct json_object *o = model_document(text, len);
	struct buf tokens = BUF_INIT;
	collect_tokens(o, &tokens);
	struct value sv[6] = {0};
	bool want = false;
	if (o) {
		struct json_object *version = NULL;
		want = json_object_object_get_ex(o, "version", &version) &&
		       json_object_get_type(version) == json_type_int &&
		       json_object_get_int64(version) == OAUTH_STORE_VERSION &&
		       model_apply(o, store_rules, 6, sv) &&
		       (sv[3].present || sv[4].present);
	}
	struct oauth_store s;
	struct err e = ERR_INIT;
	int rc = oauth_store_parse(text, len, &s, &e);
	if ((rc == EX_OK) != want)
		abort();
	if (rc == EX_OK) {
		if (!same_text(s.token_endpoint, &sv[0]) ||
		    !same_text(s.client_id, &sv[1]) ||
		    !same_text(s.scope, &sv[2]) ||
		    !same_text(s.refresh_token, &sv[3]) ||
		    !same_text(s.access_token, &sv[4]) ||
		    s.expires_at != (sv[5].present ? sv[5].number : 0))
			abort();
		check_round_trip(&s);
		oauth_store_free(&s);
	} else {
		check_message(&e, EX_DATAERR, buf_str(&tokens));
		if (s.refresh_token || s.access_token)
			abort();
	}
	err_clear(&e);
	values_free(sv, 6);
	buf_free(&tokens);
	json_object_put(o);
}

static bool valid_utf8(const char *s)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_sequence_length(s + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* 3: a store of any bytes, through format and parse. */
static void fuzz_built_store(const char *text, size_t len)
{
	long long expires_at = 0;
	if (len >= 8) {
		for (int i = 0; i < 8; i++)
			expires_at = (long long)((unsigned long long)expires_at << 8 |
			                         (unsigned char)text[len - 8 + i]);
		len -= 8;
		expires_at %= OAUTH_MAX_EXPIRES_AT + 1;
		if (expires_at < 0)
			expires_at = -expires_at;
	}
	char *field[5] = {NULL};
	size_t at = 0;
	for (int i = 0; i < 5 && at <= len; i++) {
		const char *end = memchr(text + at, 0xff, len - at);
		size_t n = end ? (size_t)(end - (text + at)) : len - at;
		field[i] = xstrndup(text + at, n); /* up to a NUL */
		at += n + 1;
	}
	/* the tokens carry the marker: a message must not */
	for (int i = 3; i < 5; i++) {
		if (field[i] && *field[i]) {
			char *marked = xmalloc(strlen(field[i]) + 4);
			strcpy(marked, MARKER);
			strcat(marked, field[i]);
			free(field[i]);
			field[i] = marked;
		}
	}
	const struct oauth_store s = {field[0], field[1], field[2], field[3],
	                              field[4], expires_at};
	struct buf out = BUF_INIT;
	oauth_store_format(&s, &out);
	struct oauth_store back;
	struct err e = ERR_INIT;
	int rc = oauth_store_parse(out.data, out.len, &back, &e);
	bool has_refresh = field[3] && *field[3];
	bool has_access = field[4] && *field[4];
	/* one token at least (a login without a refresh token keeps the
	 * access token alone), each printable */
	bool want = (has_refresh || has_access) &&
	            (!field[3] || printable_ascii(field[3])) &&
	            (!field[4] || printable_ascii(field[4]));
	if ((rc == EX_OK) != want)
		abort();
	if (rc == EX_OK) {
		const char *got[5] = {back.token_endpoint, back.client_id,
		                      back.scope, back.refresh_token,
		                      back.access_token};
		for (int i = 0; i < 5; i++) {
			bool empty = !field[i] || !*field[i];
			if (empty != (got[i] == NULL))
				abort();
			if (!empty && !valid_utf8(got[i]))
				abort();
			if (!empty && valid_utf8(field[i]) &&
			    strcmp(got[i], field[i]) != 0)
				abort();
		}
		if (back.expires_at != expires_at)
			abort();
		oauth_store_free(&back);
	} else {
		struct buf tokens = BUF_INIT;
		for (int i = 3; i < 5; i++) {
			buf_add_str(&tokens, field[i] ? field[i] : "");
			buf_add_char(&tokens, '\n');
		}
		check_message(&e, EX_DATAERR, buf_str(&tokens));
		if (strstr(err_msg(&e), MARKER))
			abort();
		buf_free(&tokens);
	}
	err_clear(&e);
	buf_wipe(&out);
	for (int i = 0; i < 5; i++)
		free(field[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0:
		fuzz_token_reply(text, len);
		break;
	case 1:
		fuzz_device_reply(text, len);
		break;
	case 2:
		fuzz_store(text, len);
		break;
	default:
		fuzz_built_store(text, len);
	}
	return 0;
}
