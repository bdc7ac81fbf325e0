/* http.h - an HTTPS client for OAuth 2.0 endpoints (one POST of a form)
 * and MTA-STS policy hosts (one GET, mta_sts_fetch.h): one request, one
 * whole response, over TLS verified exactly as SMTP's (tls.h).
 *
 * One request per connection (Connection: close), read until the server
 * closes it; no redirects, no proxies, no cookies, no compression, no
 * keep-alive. The parsing is pure and lives in http_parse.h. */
#ifndef OUTBOX_HTTP_H
#define OUTBOX_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "http_parse.h"

#define HTTP_DEFAULT_TIMEOUT 30 /* seconds */

struct http_settings {
	/* seconds for connect, handshake, sending the request, and reading
	 * the whole response (each its own deadline; 0:
	 * HTTP_DEFAULT_TIMEOUT) */
	int timeout;
	/* NULL or "system": the system trust store, else a PEM file: the
	 * same rules as SMTP's tls_trust_file */
	const char *trust_file;
	const char *crl_file;  /* NULL or a CRL file */
	const char *source_ip; /* NULL or the address to bind to */
	size_t max_body;       /* 0: HTTP_MAX_BODY */
	/* -v: one line per request ("POST https://host/path" or "GET
	 * https://host/path", never the query) and per response ("HTTP
	 * 200, 345 bytes"); never bodies or fields. NULL: no trace. */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;
};

/* POST form to url (http_parse_url's rules): Host, User-Agent
 * outbox/VERSION, Accept application/json, Content-Type
 * application/x-www-form-urlencoded, Content-Length, Connection: close;
 * over TLS whose certificate must verify for the URL's host name against
 * s->trust_file (minus s->crl_file), then read the whole response, at
 * most HTTP_MAX_RESPONSE(max_body) bytes, and parse it. Any HTTP status
 * is EX_OK with out filled (the caller judges 4xx/5xx; redirects are not
 * followed); release out with http_response_free.
 * Failures (out is then empty), every message naming the host:
 *   EX_CONFIG     a bad URL, an unreadable trust or CRL file;
 *   EX_TEMPFAIL   name resolution (even "no such host": DNS trouble on
 *                 this side looks the same), connection refused, reset
 *                 or closed early, a timeout;
 *   EX_NOPERM     the certificate does not verify (tls.h);
 *   EX_PROTOCOL   the server does not speak TLS, or the response is
 *                 malformed or too large;
 *   EX_UNAVAILABLE  TLS refused by the server (tls.h), or GnuTLS cannot
 *                 be loaded.
 * The form may hold secrets: the request is built in a buffer grown as
 * buf_add_secret does and wiped once sent (conn.c wipes its own copy). */
int http_post_form(const struct http_settings *s, const char *url,
                   const struct buf *form, struct http_response *out,
                   struct err *e);

/* GET url (http_parse_url's rules): Host, User-Agent outbox/VERSION,
 * Connection: close, no Accept (any type: the caller judges
 * Content-Type), no body; then exactly as http_post_form: the same
 * verification, limits, timeouts, failure codes, and any HTTP status is
 * EX_OK with out filled (a redirect is not followed: its status is
 * returned). Release out with http_response_free. */
int http_get(const struct http_settings *s, const char *url,
             struct http_response *out, struct err *e);

/* The bytes of one request into out (reset first; it grows as
 * buf_reserve_secret grows a buffer, wipe it): "METHOD PATH HTTP/1.1",
 * Host (the URL's authority, the port only when not 443), User-Agent,
 * Accept when accept is not NULL, Content-Type and Content-Length when
 * content_type is not NULL (then body, NULL for an empty one, follows the
 * header section), Connection: close. What http_post_form and http_get
 * send; pure. */
void http_request_build(const char *method, const struct http_url *u,
                        const char *accept, const char *content_type,
                        const struct buf *body, struct buf *out);

#endif
