/* http.c - one HTTPS request (a form POST or a GET); see http.h. */
#include "http.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "tls.h"
#include "util.h"

/* "host", "host:port", "[v6]" or "[v6]:port" (the default port left
 * out), as the Host field and messages write it. */
static void add_authority(struct buf *b, const struct http_url *u)
{
	bool v6 = strchr(u->host, ':') != NULL;
	buf_printf(b, v6 ? "[%s]" : "%s", u->host);
	if (u->port != 443)
		buf_printf(b, ":%d", u->port);
}

static void trace_request(const struct http_settings *s, const char *method,
                          const struct http_url *u)
{
	if (!s->trace)
		return;
	/* The query may carry secrets (http.h): the path only. */
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s https://", method);
	add_authority(&line, u);
	buf_add(&line, u->path, strcspn(u->path, "?"));
	s->trace(s->trace_ctx, buf_str(&line));
	buf_free(&line);
}

/* RFC 9112 3, RFC 9110 7.2 (Host), 12.5.1 (Accept), 8.3 (Content-Type),
 * 8.6 (Content-Length), 9112 9.6 (Connection: close: one request, and the
 * end of the response is the end of the connection). */
void http_request_build(const char *method, const struct http_url *u,
                        const char *accept, const char *content_type,
                        const struct buf *body, struct buf *out)
{
	struct buf head = BUF_INIT;
	buf_printf(&head, "%s %s HTTP/1.1\r\nHost: ", method, u->path);
	add_authority(&head, u);
	buf_printf(&head, "\r\nUser-Agent: outbox/%s\r\n", OUTBOX_VERSION);
	if (accept)
		buf_printf(&head, "Accept: %s\r\n", accept);
	if (content_type)
		buf_printf(&head,
		           "Content-Type: %s\r\nContent-Length: %zu\r\n",
		           content_type, body ? body->len : 0);
	buf_add_str(&head, "Connection: close\r\n\r\n");
	/* One allocation for the whole request, wiped by the caller: a form
	 * may hold a client secret, a refresh token or a device code. */
	size_t body_len = content_type && body ? body->len : 0;
	buf_reset(out);
	buf_reserve_secret(out, head.len + body_len);
	buf_add(out, head.data, head.len);
	if (body_len)
		buf_add(out, body->data, body_len);
	buf_free(&head);
}

static int send_request(struct conn *c, const struct buf *request,
                        struct err *e)
{
	/* conn's buffer gets one copy of the request too, wiped once sent
	 * (conn_flush). */
	int rc = conn_write(c, request->data, request->len, e);
	if (rc == EX_OK)
		rc = conn_flush(c, e);
	return rc;
}

/* Everything up to the end of the stream, at most limit bytes, within one
 * deadline (a server dripping bytes costs at most the timeout). */
static int read_response(struct conn *c, size_t limit, struct buf *raw,
                         struct err *e)
{
	conn_start_deadline(c);
	for (;;) {
		bool eof = false;
		int rc = conn_read_some(c, raw, limit + 1 - raw->len, true,
		                        &eof, e);
		if (rc != EX_OK || eof)
			return rc;
		if (raw->len > limit)
			return err_set(e, EX_PROTOCOL,
			               "the server %s sent a response larger "
			               "than %zu bytes",
			               conn_peer_name(c), limit);
	}
}

/* One request (method, with an Accept field when accept is set and a body
 * of content_type when that is set) and its whole response: the part
 * http_post_form and http_get share. */
static int exchange(const struct http_settings *s, const char *method,
                    const char *url, const char *accept,
                    const char *content_type, const struct buf *body,
                    struct http_response *out, struct err *e)
{
	*out = (struct http_response){0, BUF_INIT, NULL, -1};
	struct http_url u;
	int rc = http_parse_url(url, &u, e);
	if (rc != EX_OK)
		return rc;
	int timeout = s->timeout > 0 ? s->timeout : HTTP_DEFAULT_TIMEOUT;
	size_t max_body = s->max_body ? s->max_body : HTTP_MAX_BODY;
	trace_request(s, method, &u);

	struct conn *c = NULL;
	rc = conn_open_tcp(&c, u.host, u.port, s->source_ip, timeout, e);
	if (rc == EX_NOHOST) {
		/* http.h: a name that does not resolve is worth retrying */
		rc = e->code = EX_TEMPFAIL;
	}
	if (rc == EX_OK) {
		/* Verified as SMTP's TLS is (tls.h): the chain against the
		 * trust file or the system store, the name against the URL's
		 * host; nothing is sent before. */
		const struct tls_settings tls = {
			.host = u.host,
			.port = u.port,
			.trust_file = s->trust_file,
			.crl_file = s->crl_file,
			.certcheck = true,
		};
		rc = tls_start(c, &tls, NULL, e);
	}
	if (rc == EX_OK) {
		struct buf request = BUF_INIT;
		http_request_build(method, &u, accept, content_type, body,
		                   &request);
		rc = send_request(c, &request, e);
		buf_wipe(&request);
	}
	struct buf raw = BUF_INIT;
	if (rc == EX_OK)
		rc = read_response(c, HTTP_MAX_RESPONSE(max_body), &raw, e);
	conn_close(c);
	if (rc == EX_OK) {
		rc = http_parse_response(raw.data ? raw.data : "", raw.len,
		                         max_body, out, e);
		if (rc != EX_OK) {
			struct buf origin = BUF_INIT;
			add_authority(&origin, &u);
			err_prefix(e, "https://%s", buf_str(&origin));
			buf_free(&origin);
		}
	}
	buf_wipe(&raw);
	if (rc == EX_OK && s->trace) {
		char line[64];
		snprintf(line, sizeof line, "HTTP %d, %zu bytes", out->status,
		         out->body.len);
		s->trace(s->trace_ctx, line);
	}
	http_url_free(&u);
	return rc;
}

int http_post_form(const struct http_settings *s, const char *url,
                   const struct buf *form, struct http_response *out,
                   struct err *e)
{
	return exchange(s, "POST", url, "application/json",
	                "application/x-www-form-urlencoded", form, out, e);
}

int http_get(const struct http_settings *s, const char *url,
             struct http_response *out, struct err *e)
{
	return exchange(s, "GET", url, NULL, NULL, NULL, out, e);
}
