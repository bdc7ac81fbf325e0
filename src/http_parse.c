/* http_parse.c - URLs, form bodies and HTTP/1.1 responses; see
 * http_parse.h. */
#include "http_parse.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "util.h"

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* ---- URLs --------------------------------------------------------------- */

/* The URL shown in a message: sanitized, and cut after 200 bytes. */
#define URL_SHOWN 200

static int url_error(struct err *e, const char *url, const char *reason)
{
	struct buf shown = BUF_INIT;
	size_t len = strlen(url);
	sanitize_append(&shown, url, len > URL_SHOWN ? URL_SHOWN : len);
	if (len > URL_SHOWN)
		buf_add_str(&shown, "...");
	err_set(e, EX_CONFIG, "the URL '%s' %s", buf_str(&shown), reason);
	buf_free(&shown);
	return EX_CONFIG;
}

/* RFC 3986 2.3 unreserved, 2.2 sub-delims, 3.3 pchar: what a path or a
 * query may hold besides '/', '?' and %XX. */
static bool is_pchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=:@", c);
}

/* A DNS name as this client takes it: labels of letters, digits, '-' and
 * '_' joined by dots, none empty. */
static bool valid_host_name(const char *s, size_t len)
{
	if (len == 0 || len > HTTP_MAX_HOST)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

static bool valid_ipv6(const char *s, size_t len)
{
	char copy[64];
	unsigned char addr[16];
	if (len == 0 || len >= sizeof copy)
		return false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return inet_pton(AF_INET6, copy, addr) == 1;
}

int http_parse_url(const char *url, struct http_url *out, struct err *e)
{
	*out = (struct http_url){NULL, 0, NULL};
	size_t len = strlen(url);
	if (len > HTTP_MAX_URL)
		return url_error(e, url, "is too long");
	const char *sep = strstr(url, "://");
	size_t scheme = sep ? (size_t)(sep - url) : 0;
	if (sep && scheme == 4 && ascii_ncasecmp(url, "http", 4) == 0)
		return url_error(e, url,
		                 "is not https: OAuth endpoints must use https");
	if (!sep || scheme != 5 || ascii_ncasecmp(url, "https", 5) != 0)
		return url_error(e, url,
		                 "is not an https:// URL: OAuth endpoints must "
		                 "use https");
	const char *auth = sep + 3;
	size_t auth_len = strcspn(auth, "/?#");
	const char *rest = auth + auth_len;
	if (strchr(url, '#'))
		return url_error(e, url, "has a fragment (#...), which has no "
		                 "place in an endpoint");
	if (memchr(auth, '@', auth_len))
		return url_error(e, url, "has user information (user@); "
		                 "credentials do not belong in the URL");
	const char *host = auth;
	size_t host_len;
	const char *port = NULL;
	if (auth_len > 0 && auth[0] == '[') {
		const char *close = memchr(auth, ']', auth_len);
		if (!close || !valid_ipv6(auth + 1, (size_t)(close - auth - 1)))
			return url_error(e, url, "has an invalid IPv6 address "
			                 "(only [IPv6] without a zone)");
		host = auth + 1;
		host_len = (size_t)(close - host);
		size_t after = (size_t)(close + 1 - auth);
		if (after < auth_len) {
			if (auth[after] != ':')
				return url_error(e, url, "has text after its "
				                 "IPv6 address");
			port = auth + after + 1;
		}
	} else {
		const char *colon = memchr(auth, ':', auth_len);
		host_len = colon ? (size_t)(colon - auth) : auth_len;
		if (colon)
			port = colon + 1;
		if (!valid_host_name(host, host_len))
			return url_error(
			        e, url,
			        "has an invalid host name (letters, digits, '-', "
			        "'_' and dots; an international name in its "
			        "xn-- form)");
	}
	long port_number = 443;
	if (port) {
		size_t digits = (size_t)(rest - port);
		port_number = 0;
		for (size_t i = 0; i < digits && port_number <= 65535; i++) {
			if (!is_digit((unsigned char)port[i]))
				return url_error(e, url, "has an invalid port");
			port_number = port_number * 10 + (port[i] - '0');
		}
		if (digits == 0 || port_number < 1 || port_number > 65535)
			return url_error(e, url, "has an invalid port "
			                 "(1 to 65535)");
	}
	for (const char *p = rest; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '%') {
			if (ascii_hex_value(p[1]) < 0 || ascii_hex_value(p[2]) < 0)
				return url_error(e, url, "has a '%' that is not "
				                 "followed by two hex digits");
			p += 2;
		} else if (c != '/' && c != '?' && !is_pchar(c)) {
			return url_error(e, url,
			                 "has a character that must be "
			                 "percent-encoded (RFC 3986 3.3)");
		}
	}
	out->host = xstrndup(host, host_len);
	out->port = (int)port_number;
	struct buf path = BUF_INIT;
	if (*rest != '/')
		buf_add_char(&path, '/');
	buf_add_str(&path, rest);
	out->path = buf_steal(&path);
	return EX_OK;
}

void http_url_free(struct http_url *u)
{
	free(u->host);
	free(u->path);
	*u = (struct http_url){NULL, 0, NULL};
}

/* ---- forms --------------------------------------------------------------- */

/* WHATWG URL, application/x-www-form-urlencoded serializer: the bytes
 * left as they are. */
static bool form_plain(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '*' || c == '-' ||
	       c == '.' || c == '_';
}

static size_t form_encoded_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += form_plain((unsigned char)*s) || *s == ' ' ? 1 : 3;
	return n;
}

static void form_encode(struct buf *form, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (form_plain(c)) {
			buf_add_secret(form, s, 1);
		} else if (c == ' ') {
			buf_add_secret(form, "+", 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_add_secret(form, esc, sizeof esc);
		}
	}
}

void http_form_add(struct buf *form, const char *name, const char *value)
{
	/* one growth at most, and a secret one */
	buf_reserve_secret(form, 2 + form_encoded_length(name) +
	                                 form_encoded_length(value));
	if (form->len > 0)
		buf_add_secret(form, "&", 1);
	form_encode(form, name);
	buf_add_secret(form, "=", 1);
	form_encode(form, value);
}

/* ---- responses --------------------------------------------------------- */

/* The input, and how far it is read. */
struct cursor {
	const char *data;
	size_t len;
	size_t at;
};

/* The next line, without its CRLF or LF (RFC 9112 2.2: a bare LF is taken
 * as a line end; a CR anywhere else is refused). EX_OK, or EX_PROTOCOL
 * when the data ends before the line does. */
static int next_line(struct cursor *c, const char **line, size_t *len,
                     const char *where, struct err *e)
{
	const char *start = c->data + c->at;
	size_t avail = c->len - c->at;
	const char *lf = avail ? memchr(start, '\n', avail) : NULL;
	if (!lf)
		return err_set(e, EX_PROTOCOL, "it ends inside %s", where);
	size_t n = (size_t)(lf - start);
	size_t text = n > 0 && start[n - 1] == '\r' ? n - 1 : n;
	if (memchr(start, '\r', text))
		return err_set(e, EX_PROTOCOL,
		               "%s has a carriage return that does not end a "
		               "line (RFC 9112 2.2)",
		               where);
	*line = start;
	*len = text;
	c->at += n + 1;
	return EX_OK;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9110 5.5: a field value (and a reason phrase) holds no control
 * character but HTAB. */
static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..*len) without leading and trailing SP and HTAB (OWS). */
static const char *trim(const char *s, size_t *len)
{
	while (*len > 0 && is_ows(s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && is_ows(s[*len - 1]))
		(*len)--;
	return s;
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && ascii_ncasecmp(name, want, len) == 0;
}

/* What a header section says about the message. */
struct head {
	int status;
	bool has_length; /* Content-Length */
	uint64_t length;
	size_t codings; /* Transfer-Encoding list members seen */
	bool chunked;   /* ... and all of them "chunked" */
	const char *type; /* Content-Type, the last one: into data */
	size_t type_len;
	bool has_type;
	long retry_after;
};

/* Content-Length beyond this is refused as such (no body is that large,
 * and it keeps the arithmetic far from overflow). */
#define HTTP_MAX_CONTENT_LENGTH 1000000000000000000ULL

/* RFC 9112 6.3 (5): Content-Length = 1*DIGIT; a list, or the field
 * repeated, is fine when every member has the same value. */
static int add_content_length(struct head *h, const char *v, size_t len,
                              struct err *e)
{
	for (size_t at = 0;; at++) { /* at: the start of a member */
		size_t n = 0;
		while (at + n < len && v[at + n] != ',')
			n++;
		size_t m = n;
		const char *member = trim(v + at, &m);
		uint64_t value = 0;
		bool ok = m > 0;
		for (size_t i = 0; i < m && ok; i++) {
			ok = is_digit((unsigned char)member[i]) &&
			     value <= HTTP_MAX_CONTENT_LENGTH;
			value = value * 10 + (uint64_t)(member[i] - '0');
		}
		if (!ok || value > HTTP_MAX_CONTENT_LENGTH)
			return err_set(e, EX_PROTOCOL,
			               "its Content-Length is not a number of "
			               "bytes");
		if (h->has_length && h->length != value)
			return err_set(e, EX_PROTOCOL,
			               "it has Content-Length values that "
			               "disagree (RFC 9112 6.3)");
		h->has_length = true;
		h->length = value;
		at += n;
		if (at == len)
			return EX_OK;
	}
}

/* RFC 9112 6.1: the codings in order; outbox takes "chunked" alone (it
 * asks for no compression). */
static int add_transfer_encoding(struct head *h, const char *v, size_t len,
                                 struct err *e)
{
	for (size_t at = 0;; at++) { /* at: the start of a member */
		size_t n = 0;
		while (at + n < len && v[at + n] != ',')
			n++;
		size_t m = n;
		const char *member = trim(v + at, &m);
		if (!name_is(member, m, "chunked") || ++h->codings > 1)
			return err_set(e, EX_PROTOCOL,
			               "it has a Transfer-Encoding other than "
			               "chunked alone");
		h->chunked = true;
		at += n;
		if (at == len)
			return EX_OK;
	}
}

/* RFC 9110 10.2.3: Retry-After = HTTP-date / delay-seconds; a date (or
 * anything else) is -1. */
static long retry_after_seconds(const char *v, size_t len)
{
	if (len == 0)
		return -1;
	long seconds = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)v[i]))
			return -1;
		int digit = v[i] - '0';
		/* saturated: stays there */
		if (seconds > (HTTP_MAX_RETRY_AFTER - digit) / 10)
			seconds = HTTP_MAX_RETRY_AFTER;
		else
			seconds = seconds * 10 + digit;
	}
	return seconds;
}

/* One field line: name ":" OWS value OWS (RFC 9112 5). */
static int parse_field(struct head *h, const char *line, size_t len,
                       bool trailer, struct err *e)
{
	const char *where = trailer ? "a trailer field" : "a header field";
	if (is_ows(line[0]))
		return err_set(e, EX_PROTOCOL,
		               "%s is folded onto a second line (obsolete, RFC "
		               "9112 5.2)",
		               where);
	size_t name = 0;
	while (name < len && is_tchar((unsigned char)line[name]))
		name++;
	if (name == 0 || name == len || line[name] != ':')
		return err_set(e, EX_PROTOCOL,
		               "%s has no valid name followed by a colon (RFC "
		               "9112 5.1)",
		               where);
	size_t vlen = len - name - 1;
	const char *value = trim(line + name + 1, &vlen);
	if (has_control(value, vlen))
		return err_set(e, EX_PROTOCOL,
		               "%s has a control character in its value", where);
	if (trailer)
		return EX_OK; /* nothing in a trailer is used */
	if (name_is(line, name, "Content-Length"))
		return add_content_length(h, value, vlen, e);
	if (name_is(line, name, "Transfer-Encoding"))
		return add_transfer_encoding(h, value, vlen, e);
	if (name_is(line, name, "Content-Type")) {
		h->has_type = true;
		h->type = value;
		h->type_len = vlen;
	} else if (name_is(line, name, "Retry-After")) {
		h->retry_after = retry_after_seconds(value, vlen);
	}
	return EX_OK;
}

/* Field lines up to the empty line; the section (from start, the empty
 * line included) at most HTTP_MAX_HEAD bytes. */
static int parse_fields(struct cursor *c, size_t start, struct head *h,
                        bool trailer, struct err *e)
{
	const char *where = trailer ? "its trailer section"
	                            : "its header section";
	for (;;) {
		const char *line;
		size_t len;
		int rc = next_line(c, &line, &len, where, e);
		if (rc == EX_OK && c->at - start > HTTP_MAX_HEAD)
			rc = err_set(e, EX_PROTOCOL,
			             "%s is larger than %d bytes", where,
			             HTTP_MAX_HEAD);
		if (rc != EX_OK || len == 0)
			return rc;
		rc = parse_field(h, line, len, trailer, e);
		if (rc != EX_OK)
			return rc;
	}
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC
 * 9112 4; a missing second SP is tolerated). */
static int parse_status_line(struct cursor *c, struct head *h, struct err *e)
{
	const char *line;
	size_t len;
	int rc = next_line(c, &line, &len, "its status line", e);
	if (rc != EX_OK)
		return rc;
	const unsigned char *s = (const unsigned char *)line;
	if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) ||
	    s[8] != ' ' || s[9] < '1' || s[9] > '5' || !is_digit(s[10]) ||
	    !is_digit(s[11]) || (len > 12 && s[12] != ' '))
		return err_set(e, EX_PROTOCOL,
		               "its status line is not \"HTTP/1.x NNN "
		               "reason\"");
	if (has_control(line + 12, len - 12))
		return err_set(e, EX_PROTOCOL,
		               "its status line has a control character");
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return EX_OK;
}

static int parse_head(struct cursor *c, struct head *h, struct err *e)
{
	*h = (struct head){0};
	h->retry_after = -1;
	size_t start = c->at;
	int rc = parse_status_line(c, h, e);
	if (rc == EX_OK)
		rc = parse_fields(c, start, h, false, e);
	if (rc == EX_OK && h->has_length && h->codings > 0)
		rc = err_set(e, EX_PROTOCOL,
		             "it has both Content-Length and "
		             "Transfer-Encoding (RFC 9112 6.1)");
	return rc;
}

/* chunk-size [ chunk-ext ]: the size, or EX_PROTOCOL. chunk-ext (RFC
 * 9112 7.1.1) is ignored: BWS ";" and anything but a control character. */
static int parse_chunk_size(const char *line, size_t len, size_t room,
                            size_t max_body, size_t *size, struct err *e)
{
	size_t i = 0;
	size_t value = 0;
	bool too_large = false;
	for (; i < len && ascii_hex_value(line[i]) >= 0; i++) {
		size_t digit = (size_t)ascii_hex_value(line[i]);
		/* value * 16 + digit <= room, without overflow */
		if (too_large || digit > room || value > (room - digit) / 16)
			too_large = true; /* value stays as it was */
		else
			value = value * 16 + digit;
	}
	size_t ext = i;
	while (ext < len && is_ows(line[ext]))
		ext++;
	if (i == 0 || (i < len && (ext == len || line[ext] != ';')) ||
	    has_control(line + i, len - i))
		return err_set(e, EX_PROTOCOL,
		               "a chunk size is not a hexadecimal number (RFC "
		               "9112 7.1)");
	if (too_large)
		return err_set(e, EX_PROTOCOL,
		               "its body is larger than %zu bytes", max_body);
	*size = value;
	return EX_OK;
}

static int parse_chunked(struct cursor *c, size_t max_body, struct buf *body,
                         struct err *e)
{
	for (;;) {
		const char *line;
		size_t len, size = 0;
		int rc = next_line(c, &line, &len, "its chunked body", e);
		if (rc == EX_OK)
			rc = parse_chunk_size(line, len, max_body - body->len,
			                      max_body, &size, e);
		if (rc != EX_OK)
			return rc;
		if (size == 0) {
			struct head trailer;
			return parse_fields(c, c->at, &trailer, true, e);
		}
		const char *data = c->data + c->at;
		size_t avail = c->len - c->at;
		if (avail < size)
			return err_set(e, EX_PROTOCOL,
			               "it ends inside its chunked body");
		/* the chunk's data, then CRLF (or a bare LF) */
		size_t end = 0;
		if (avail > size && data[size] == '\n')
			end = 1;
		else if (avail > size + 1 && data[size] == '\r' &&
		         data[size + 1] == '\n')
			end = 2;
		if (end == 0)
			return err_set(e, EX_PROTOCOL,
			               "a chunk does not end where its size says "
			               "(RFC 9112 7.1)");
		buf_add_secret(body, data, size);
		c->at += size + end;
	}
}

static int parse_body(struct cursor *c, const struct head *h,
                      size_t max_body, struct buf *body, struct err *e)
{
	size_t rest = c->len - c->at;
	/* RFC 9112 6.3 (1): 1xx, 204 and 304 end with their header section */
	if (h->status == 204 || h->status == 304)
		return EX_OK;
	if (h->chunked)
		return parse_chunked(c, max_body, body, e);
	if (h->has_length) {
		if (h->length > max_body)
			return err_set(e, EX_PROTOCOL,
			               "its body is larger than %zu bytes",
			               max_body);
		if (rest != h->length)
			return err_set(e, EX_PROTOCOL,
			               "its Content-Length is %llu but %zu bytes "
			               "arrived",
			               (unsigned long long)h->length, rest);
	} else if (rest > max_body) {
		return err_set(e, EX_PROTOCOL,
		               "its body is larger than %zu bytes", max_body);
	}
	buf_reserve_secret(body, rest);
	buf_add_secret(body, c->data + c->at, rest);
	c->at += rest;
	return EX_OK;
}

static int parse_response(struct cursor *c, size_t max_body,
                          struct http_response *r, struct err *e)
{
	struct head h;
	int rc;
	for (int interim = 0;; interim++) {
		rc = parse_head(c, &h, e);
		if (rc != EX_OK || h.status >= 200)
			break;
		if (h.status == 101)
			return err_set(e, EX_PROTOCOL,
			               "it switches protocols (101), which was "
			               "not asked for");
		if (interim == HTTP_MAX_INTERIM)
			return err_set(e, EX_PROTOCOL,
			               "it has more than %d interim (1xx) "
			               "responses",
			               HTTP_MAX_INTERIM);
	}
	if (rc == EX_OK)
		rc = parse_body(c, &h, max_body, &r->body, e);
	if (rc == EX_OK && c->at != c->len)
		rc = err_set(e, EX_PROTOCOL,
		             "%zu bytes follow the end of the response",
		             c->len - c->at);
	if (rc != EX_OK)
		return rc;
	r->status = h.status;
	r->retry_after = h.retry_after;
	if (h.has_type)
		r->content_type = xstrndup(h.type, h.type_len);
	return EX_OK;
}

int http_parse_response(const char *data, size_t len, size_t max_body,
                        struct http_response *out, struct err *e)
{
	struct http_response r = {0, BUF_INIT, NULL, -1};
	*out = r;
	struct cursor c = {data, len, 0};
	int rc = parse_response(&c, max_body, &r, e);
	if (rc != EX_OK) {
		err_prefix(e, "malformed HTTP response");
		http_response_free(&r);
		return rc;
	}
	*out = r;
	return EX_OK;
}

void http_response_free(struct http_response *r)
{
	buf_wipe(&r->body);
	free(r->content_type);
	*r = (struct http_response){0, BUF_INIT, NULL, -1};
}
