/* http_parse.h - the pure half of the HTTPS client (http.h): URLs, form
 * bodies and whole HTTP/1.1 responses. No I/O, so every rule is covered
 * by table-driven tests (tests/unit/test_http.c) and a fuzz target with a
 * model of its own (tests/fuzz/fuzz_http.c). */
#ifndef OUTBOX_HTTP_PARSE_H
#define OUTBOX_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HTTP_MAX_BODY (1024 * 1024) /* default response body limit */
/* Longest URL accepted, and longest host name (RFC 1035 2.3.4). */
#define HTTP_MAX_URL 4096
#define HTTP_MAX_HOST 253
/* Largest header section (status line, fields, empty line) of one
 * response, and largest trailer section of a chunked body. */
#define HTTP_MAX_HEAD (64 * 1024)
/* Interim (1xx) responses skipped before the final one, at most. */
#define HTTP_MAX_INTERIM 8
/* Retry-After seconds beyond this are reported as this. */
#define HTTP_MAX_RETRY_AFTER 2147483647L
/* The most bytes a whole response may take on the wire, for a body limit
 * of max_body: the body, a header section, a trailer section and room
 * for chunk framing (each at most HTTP_MAX_HEAD); http.c stops reading
 * there. */
#define HTTP_MAX_RESPONSE(max_body) ((max_body) + 3 * (size_t)HTTP_MAX_HEAD)

struct http_url {
	char *host; /* a DNS name or an IPv6 address (without brackets) */
	int port;   /* 443 unless given */
	char *path; /* "/" at least; includes "?query" */
};

/* Parse an endpoint URL: https://host[:port][/path][?query] only (RFC 3986
 * 3, a subset): the scheme https (any case); host an ASCII DNS name
 * (letters, digits, '-', '_', dots between non-empty labels; IDNs in
 * their xn-- form), an IPv4 address or an [IPv6] address (no zone, no
 * IPvFuture); port 1..65535; path and query of RFC 3986 pchar, '/' and
 * '?' with %XX escapes kept as they are. No userinfo, no fragment, no
 * white space or control characters, at most HTTP_MAX_URL bytes.
 * EX_CONFIG with a sentence naming the URL (sanitized) on anything else;
 * http:// is refused with "OAuth endpoints must use https". out is filled
 * only on EX_OK (release it with http_url_free). Pure. */
int http_parse_url(const char *url, struct http_url *out, struct err *e);
void http_url_free(struct http_url *u);

struct http_response {
	int status;         /* 200..599 (the final response's) */
	struct buf body;    /* decoded: without chunk framing */
	char *content_type; /* the field's value, NULL when absent */
	long retry_after;   /* Retry-After in seconds, -1 none (or a date) */
};

/* Parse a whole HTTP/1.1 (or 1.0) response as read until the server
 * closed the connection (RFC 9112):
 *  - status line "HTTP/1.x NNN reason" (NNN 100..599); 1xx interim
 *    responses (at most HTTP_MAX_INTERIM) are skipped, 101 is refused;
 *  - lines end in CRLF or a bare LF (9112 2.2); a bare CR, obsolete line
 *    folding (9112 5.2), a field name that is not a token or is followed
 *    by white space, a control character in a field value are refused;
 *    names are case-insensitive; each header section at most
 *    HTTP_MAX_HEAD bytes;
 *  - the body (9112 6.3): none for 1xx, 204 and 304; else chunked when
 *    Transfer-Encoding is "chunked" (any other coding is refused, as is
 *    Transfer-Encoding with Content-Length), with chunk extensions and
 *    trailer fields (same rules as the header section) ignored; else
 *    Content-Length bytes (1*DIGIT; repeated fields or list members must
 *    agree); else everything up to the end;
 *  - the body at most max_body bytes; the data must end exactly where
 *    the response does (a Content-Length that disagrees with what
 *    arrived, a chunked body cut short, bytes after it: refused);
 *  - Content-Type: the last one, trimmed; Retry-After: the last one, in
 *    seconds when it is 1*DIGIT (saturated at HTTP_MAX_RETRY_AFTER), -1
 *    for an HTTP-date or anything else.
 * EX_PROTOCOL with a sentence otherwise; the sentence quotes nothing the
 * server sent (a body or a field may hold a token). The body grows as
 * buf_add_secret grows a buffer. out is filled only on EX_OK (release it
 * with http_response_free). Pure. */
int http_parse_response(const char *data, size_t len, size_t max_body,
                        struct http_response *out, struct err *e);
/* Free everything; wipes the body (it may hold tokens). */
void http_response_free(struct http_response *r);

/* application/x-www-form-urlencoded (WHATWG URL, the form serializer):
 * append name=value to form, '&' before it unless form is empty; every
 * byte but ALPHA, DIGIT and "*-._" is %XX-encoded, space as '+'. The
 * form may hold secrets: it grows as buf_add_secret grows a buffer, so no
 * copy is left behind in freed memory (wipe it with buf_wipe). */
void http_form_add(struct buf *form, const char *name, const char *value);

#endif
