/* fuzz_http.c - libFuzzer target for the HTTPS client's parsers
 * (http_parse.h): endpoint URLs, form bodies, and whole HTTP/1.1
 * responses as a token endpoint sends them.
 *
 * The first byte picks what the rest is:
 *  0  a URL: http_parse_url against a model written from the header's
 *     rules (RFC 3986 subset); an accepted URL must rebuild to the input
 *     (scheme in lower case) from host, port and path;
 *  1  a response, raw: http_parse_response (body limit from the next byte)
 *     against a model of RFC 9112's framing as http_parse.h states it:
 *     accepted exactly when the model accepts, with the same status, body,
 *     Content-Type and Retry-After;
 *  2  a response built from the bytes (interim responses, a status,
 *     fields, a body framed by Content-Length, chunked with extensions
 *     and trailers, or the end; CRLF or LF line ends): it must parse to
 *     what was built; then with a limit one byte short of the body, cut
 *     short by a byte and with a byte more, each checked against the
 *     model;
 *  3  a form: name and value (split at the first NUL) through
 *     http_form_add twice; the form must hold only unreserved bytes,
 *     '%XX', '+', '=' and '&', and decode back to the pairs.
 * Every refusal is EX_CONFIG (URLs) or EX_PROTOCOL (responses) with a
 * message free of control characters, bounded, and (responses) quoting
 * none of the server's bytes: a marker put in bodies and fields never
 * shows. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http_parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct err *e, int code)
{
	const char *msg = err_msg(e);
	/* a URL is shown up to 200 bytes, each escaped to at most 4 */
	if (e->code != code || !*msg || strlen(msg) > 4 * 200 + 300)
		abort();
	/* sanitize.h lets TAB through (a URL from the configuration) */
	for (const char *s = msg; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			abort();
}

/* ---- URLs ---------------------------------------------------------------- */

static bool m_alpha(int c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool m_digit(int c) { return c >= '0' && c <= '9'; }
static bool m_hex(int c)
{
	return m_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* RFC 3986: unreserved, sub-delims, ':', '@', and '/', '?' */
static bool m_path_char(int c)
{
	return m_alpha(c) || m_digit(c) || (c && strchr("-._~!$&'()*+,;=:@/?", c));
}

static bool model_url(const char *url, char *host, int *port,
                      const char **path)
{
	size_t len = strlen(url);
	if (len > HTTP_MAX_URL || len < 8)
		return false;
	char scheme[9];
	for (int i = 0; i < 8; i++)
		scheme[i] = (char)((url[i] >= 'A' && url[i] <= 'Z') ? url[i] | 0x20
		                                                    : url[i]);
	scheme[8] = '\0';
	if (strcmp(scheme, "https://") != 0 || strchr(url, '#'))
		return false;
	const char *a = url + 8;
	size_t alen = 0;
	while (a[alen] && a[alen] != '/' && a[alen] != '?')
		alen++;
	*path = a + alen;
	size_t hlen;
	const char *colon;
	if (alen && a[0] == '[') {
		const char *close = memchr(a, ']', alen);
		if (!close || close == a + 1 || close - a - 1 > 63)
			return false;
		char v6[64];
		memcpy(v6, a + 1, (size_t)(close - a - 1));
		v6[close - a - 1] = '\0';
		unsigned char bin[16];
		if (inet_pton(AF_INET6, v6, bin) != 1)
			return false;
		strcpy(host, v6);
		colon = close + 1 == a + alen ? NULL : close + 1;
		if (colon && *colon != ':')
			return false;
	} else {
		colon = memchr(a, ':', alen);
		hlen = colon ? (size_t)(colon - a) : alen;
		if (hlen == 0 || hlen > HTTP_MAX_HOST || a[0] == '.' ||
		    a[hlen - 1] == '.')
			return false;
		for (size_t i = 0; i < hlen; i++) {
			int c = (unsigned char)a[i];
			if (!(m_alpha(c) || m_digit(c) || c == '-' || c == '_' ||
			      c == '.') ||
			    (c == '.' && a[i + 1] == '.'))
				return false;
		}
		memcpy(host, a, hlen);
		host[hlen] = '\0';
	}
	*port = 443;
	if (colon) {
		size_t digits = (size_t)(a + alen - colon - 1);
		if (digits == 0)
			return false;
		long p = 0;
		for (size_t i = 0; i < digits; i++) {
			if (!m_digit(colon[1 + i]))
				return false;
			p = p * 10 + (colon[1 + i] - '0');
			if (p > 70000)
				p = 70000; /* too large already */
		}
		if (p < 1 || p > 65535)
			return false;
		*port = (int)p;
	}
	for (const char *p = *path; *p; p++) {
		if (*p == '%') {
			if (!m_hex(p[1]) || !m_hex(p[2]))
				return false;
			p += 2;
		} else if (!m_path_char((unsigned char)*p)) {
			return false;
		}
	}
	return true;
}

static void fuzz_url(const char *text)
{
	struct http_url u;
	struct err e = ERR_INIT;
	char want_host[HTTP_MAX_URL + 1];
	int want_port = 0;
	const char *want_path = NULL;
	bool want = model_url(text, want_host, &want_port, &want_path);
	int rc = http_parse_url(text, &u, &e);
	if ((rc == EX_OK) != want)
		abort();
	if (rc != EX_OK) {
		check_message(&e, EX_CONFIG);
		if (u.host || u.path)
			abort();
		err_clear(&e);
		return;
	}
	if (strcmp(u.host, want_host) != 0 || u.port != want_port ||
	    u.path[0] != '/' ||
	    strcmp(u.path + (want_path[0] == '/' ? 0 : 1), want_path) != 0)
		abort();
	/* it rebuilds to the input */
	struct buf b = BUF_INIT;
	buf_add_str(&b, "https://");
	buf_printf(&b, strchr(u.host, ':') ? "[%s]" : "%s", u.host);
	const char *colon_in_input = text + 8 + strlen(u.host) +
	                             (strchr(u.host, ':') ? 2 : 0);
	if (*colon_in_input == ':')
		buf_add(&b, colon_in_input,
		        strcspn(colon_in_input, "/?"));
	buf_add_str(&b, want_path);
	if (ascii_casecmp(buf_str(&b), text) != 0 ||
	    strcmp(buf_str(&b) + 8, text + 8) != 0)
		abort();
	buf_free(&b);
	http_url_free(&u);
}

/* ---- responses: the model ------------------------------------------------- */

struct model {
	int status;
	struct buf body;
	bool has_type;
	struct buf type;
	long retry_after;
};

struct m_head {
	int status;
	bool has_cl;
	unsigned long long cl;
	int te;
	bool has_type;
	struct buf type;
	long retry_after;
};

/* A line from at: its text and the index after its LF; false when there
 * is no LF or a stray CR. */
static bool m_line(const char *d, size_t len, size_t at, size_t *text_len,
                   size_t *next)
{
	size_t i = at;
	while (i < len && d[i] != '\n')
		i++;
	if (i == len)
		return false;
	size_t t = i - at;
	if (t > 0 && d[i - 1] == '\r')
		t--;
	for (size_t k = at; k < at + t; k++)
		if (d[k] == '\r')
			return false;
	*text_len = t;
	*next = i + 1;
	return true;
}

static bool m_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0x7f || (c < 0x20 && c != '\t'))
			return true;
	}
	return false;
}

static bool m_tchar(int c)
{
	return m_alpha(c) || m_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void m_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool m_equal_nocase(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != (w[i] | 0x20))
			return false;
	return true;
}

/* The comma list members of v[0..n), trimmed, one by one. */
static bool m_member(const char *v, size_t n, size_t *at, const char **m,
                     size_t *mlen)
{
	if (*at > n)
		return false;
	size_t end = *at;
	while (end < n && v[end] != ',')
		end++;
	*m = v + *at;
	*mlen = end - *at;
	m_trim(m, mlen);
	*at = end + 1;
	return true;
}

static bool m_field(struct m_head *h, const char *f, size_t n, bool use)
{
	if (n == 0 || f[0] == ' ' || f[0] == '\t')
		return false;
	size_t name = 0;
	while (name < n && f[name] != ':') {
		if (!m_tchar((unsigned char)f[name]))
			return false;
		name++;
	}
	if (name == 0 || name == n)
		return false;
	const char *v = f + name + 1;
	size_t vn = n - name - 1;
	m_trim(&v, &vn);
	if (m_ctl(v, vn))
		return false;
	if (!use)
		return true;
	const char *m;
	size_t mn, at = 0;
	if (m_equal_nocase(f, name, "content-length")) {
		while (m_member(v, vn, &at, &m, &mn)) {
			if (mn == 0)
				return false;
			unsigned long long x = 0;
			for (size_t i = 0; i < mn; i++) {
				if (!m_digit(m[i]))
					return false;
				if (x > 100000000000000000ULL)
					return false;
				x = x * 10 + (unsigned)(m[i] - '0');
			}
			if (x > 1000000000000000000ULL ||
			    (h->has_cl && h->cl != x))
				return false;
			h->has_cl = true;
			h->cl = x;
		}
	} else if (m_equal_nocase(f, name, "transfer-encoding")) {
		while (m_member(v, vn, &at, &m, &mn))
			if (!m_equal_nocase(m, mn, "chunked") || ++h->te > 1)
				return false;
	} else if (m_equal_nocase(f, name, "content-type")) {
		h->has_type = true;
		buf_reset(&h->type);
		buf_add(&h->type, v, vn);
	} else if (m_equal_nocase(f, name, "retry-after")) {
		long r = vn ? 0 : -1;
		for (size_t i = 0; i < vn && r >= 0; i++) {
			if (!m_digit(v[i]))
				r = -1;
			else if (r < 1000000000000L)
				r = r * 10 + (v[i] - '0');
		}
		h->retry_after = r > HTTP_MAX_RETRY_AFTER ? HTTP_MAX_RETRY_AFTER
		                                          : r;
	}
	return true;
}

/* Fields from *at to the empty line; the section from start at most
 * HTTP_MAX_HEAD bytes. */
static bool m_fields(const char *d, size_t len, size_t *at, size_t start,
                     struct m_head *h, bool use)
{
	for (;;) {
		size_t n, next;
		if (!m_line(d, len, *at, &n, &next) ||
		    next - start > HTTP_MAX_HEAD)
			return false;
		const char *f = d + *at;
		*at = next;
		if (n == 0)
			return true;
		if (!m_field(h, f, n, use))
			return false;
	}
}

static bool m_head(const char *d, size_t len, size_t *at, struct m_head *h)
{
	size_t start = *at, n, next;
	h->status = 0;
	h->has_cl = false;
	h->te = 0;
	h->has_type = false;
	h->retry_after = -1;
	if (!m_line(d, len, *at, &n, &next))
		return false;
	const char *s = d + *at;
	if (n < 12 || strncmp(s, "HTTP/1.", 7) != 0 || !m_digit(s[7]) ||
	    s[8] != ' ' || !m_digit(s[9]) || !m_digit(s[10]) ||
	    !m_digit(s[11]) || (n > 12 && s[12] != ' ') || m_ctl(s + 12, n - 12))
		return false;
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (h->status < 100 || h->status > 599)
		return false;
	*at = next;
	if (!m_fields(d, len, at, start, h, true))
		return false;
	return !(h->has_cl && h->te);
}

static bool model_response(const char *d, size_t len, size_t max_body,
                           struct model *out)
{
	struct m_head h = {0};
	size_t at = 0;
	bool ok = true;
	for (int interim = 0;; interim++) {
		ok = m_head(d, len, &at, &h);
		if (!ok || h.status >= 200)
			break;
		if (h.status == 101 || interim >= HTTP_MAX_INTERIM) {
			ok = false;
			break;
		}
	}
	if (ok && h.status != 204 && h.status != 304) {
		if (h.te) {
			for (;;) {
				size_t n, next;
				if (!m_line(d, len, at, &n, &next)) {
					ok = false;
					break;
				}
				const char *l = d + at;
				size_t hex = 0;
				unsigned long long size = 0;
				bool big = false;
				while (hex < n && m_hex(l[hex])) {
					int v = m_digit(l[hex])
					                ? l[hex] - '0'
					                : (l[hex] | 0x20) - 'a' + 10;
					if (size > (1ULL << 40))
						big = true;
					else
						size = size * 16 + (unsigned)v;
					hex++;
				}
				const char *ext = l + hex;
				size_t en = n - hex;
				while (en && (*ext == ' ' || *ext == '\t')) {
					ext++;
					en--;
				}
				if (hex == 0 || (hex < n && (en == 0 || *ext != ';')) ||
				    m_ctl(l + hex, n - hex) || big ||
				    out->body.len + size > max_body) {
					ok = false;
					break;
				}
				at = next;
				if (size == 0) {
					struct m_head t = {0};
					ok = m_fields(d, len, &at, at, &t, false);
					break;
				}
				if (len - at < size) {
					ok = false;
					break;
				}
				buf_add(&out->body, d + at, (size_t)size);
				at += (size_t)size;
				if (at < len && d[at] == '\n')
					at += 1;
				else if (at + 1 < len && d[at] == '\r' &&
				         d[at + 1] == '\n')
					at += 2;
				else {
					ok = false;
					break;
				}
			}
		} else if (h.has_cl) {
			ok = h.cl <= max_body && len - at == h.cl;
			if (ok) {
				buf_add(&out->body, d + at, len - at);
				at = len;
			}
		} else {
			ok = len - at <= max_body;
			buf_add(&out->body, d + at, len - at);
			at = len;
		}
	}
	ok = ok && at == len;
	out->status = h.status;
	out->has_type = h.has_type;
	buf_reset(&out->type);
	buf_add(&out->type, buf_str(&h.type), h.type.len);
	out->retry_after = h.retry_after;
	buf_free(&h.type);
	return ok;
}

#define MARKER "FUZZSECRET"

static void check_response(const char *d, size_t len, size_t max_body,
                           int expect /* -1: the model decides */)
{
	struct model m = {0, BUF_INIT, false, BUF_INIT, -1};
	bool want = model_response(d, len, max_body, &m);
	if (expect >= 0 && want != (bool)expect)
		abort(); /* the model disagrees with the builder */
	struct http_response r;
	struct err e = ERR_INIT;
	int rc = http_parse_response(d, len, max_body, &r, &e);
	if ((rc == EX_OK) != want)
		abort();
	if (rc == EX_OK) {
		if (r.status != m.status || r.body.len != m.body.len ||
		    (m.body.len &&
		     memcmp(r.body.data, m.body.data, m.body.len) != 0) ||
		    r.body.len > max_body || r.status < 200 || r.status > 599 ||
		    r.retry_after != m.retry_after ||
		    (r.content_type != NULL) != m.has_type ||
		    (m.has_type && strcmp(r.content_type, buf_str(&m.type)) != 0))
			abort();
	} else {
		check_message(&e, EX_PROTOCOL);
		if (strstr(err_msg(&e), MARKER) || r.body.data ||
		    r.content_type)
			abort();
	}
	http_response_free(&r);
	err_clear(&e);
	buf_free(&m.body);
	buf_free(&m.type);
}

/* ---- responses: built from the input --------------------------------------- */

struct bytes {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct bytes *b, unsigned range)
{
	if (b->n == 0)
		return 0;
	unsigned v = *b->p++;
	b->n--;
	return range ? v % range : v;
}

static void end_line(struct buf *out, struct bytes *in)
{
	buf_add_str(out, take(in, 4) == 0 ? "\n" : "\r\n");
}

static void fuzz_built(struct bytes in)
{
	static const int statuses[] = {200, 400, 401, 403, 429, 500, 503, 204,
	                               304, 201};
	struct buf out = BUF_INIT;
	for (unsigned i = take(&in, 3); i > 0; i--) {
		buf_printf(&out, "HTTP/1.1 %d Interim", take(&in, 2) ? 100 : 103);
		end_line(&out, &in);
		if (take(&in, 2)) {
			buf_add_str(&out, "Link: <" MARKER ">");
			end_line(&out, &in);
		}
		end_line(&out, &in);
	}
	int status = statuses[take(&in, 10)];
	buf_printf(&out, "HTTP/1.%u %d %s", take(&in, 2), status,
	           take(&in, 2) ? "Reason " MARKER : "");
	end_line(&out, &in);
	char type[16] = "";
	long retry = -1;
	unsigned fields = take(&in, 4);
	for (unsigned i = 0; i < fields; i++) {
		switch (take(&in, 3)) {
		case 0:
			snprintf(type, sizeof type, "a/%u", take(&in, 0));
			buf_printf(&out, "%s:%s%s ", take(&in, 2) ? "content-type"
			                                           : "Content-Type",
			           take(&in, 2) ? " " : "\t", type);
			break;
		case 1:
			retry = take(&in, 0);
			buf_printf(&out, "Retry-After: %ld", retry);
			break;
		default:
			buf_add_str(&out, "X-" MARKER ": " MARKER);
		}
		end_line(&out, &in);
	}
	unsigned framing = take(&in, 3); /* CL, chunked, to the end */
	size_t body_len = take(&in, 0) % (in.n + 1);
	const char *body = (const char *)in.p;
	bool no_body = status == 204 || status == 304;
	if (no_body)
		body_len = 0;
	in.p += body_len;
	in.n -= body_len;
	if (framing == 0) {
		buf_printf(&out, "Content-Length: %zu", body_len);
		end_line(&out, &in);
		if (take(&in, 4) == 0) { /* repeated, equal */
			buf_printf(&out, "Content-Length: %zu, 0%zu", body_len,
			           body_len);
			end_line(&out, &in);
		}
	} else if (framing == 1 && !no_body) {
		buf_add_str(&out, take(&in, 2) ? "Transfer-Encoding: chunked"
		                                : "transfer-encoding:CHUNKED ");
		end_line(&out, &in);
	}
	end_line(&out, &in);
	if (framing == 1 && !no_body) {
		for (size_t at = 0; at < body_len;) {
			size_t chunk = 1 + take(&in, 0) % (body_len - at);
			buf_printf(&out, take(&in, 2) ? "%zx" : "%zX", chunk);
			if (take(&in, 3) == 0)
				buf_add_str(&out, " ;ext=" MARKER);
			end_line(&out, &in);
			buf_add(&out, body + at, chunk);
			end_line(&out, &in);
			at += chunk;
		}
		buf_add_str(&out, "0");
		end_line(&out, &in);
		if (take(&in, 2)) {
			buf_add_str(&out, "Trailer: " MARKER);
			end_line(&out, &in);
		}
		end_line(&out, &in);
	} else if (!no_body) {
		buf_add(&out, body, body_len);
	}

	size_t max = body_len + take(&in, 3);
	/* as built: accepted, with what was put in */
	struct http_response r;
	struct err e = ERR_INIT;
	if (http_parse_response(out.data, out.len, max, &r, &e) != EX_OK ||
	    r.status != status || r.body.len != body_len ||
	    (body_len && memcmp(r.body.data, body, body_len) != 0) ||
	    r.retry_after != retry || (type[0] && !r.content_type) ||
	    (type[0] && strcmp(r.content_type, type) != 0))
		abort();
	http_response_free(&r);
	check_response(out.data, out.len, max, 1);
	/* a limit one short of the body */
	if (body_len > 0)
		check_response(out.data, out.len, body_len - 1, 0);
	/* cut short, and one byte more */
	if (out.len > 0)
		check_response(out.data, out.len - 1 - take(&in, 0) % out.len,
		               max, -1);
	buf_add_char(&out, (char)take(&in, 0));
	check_response(out.data, out.len, max, -1);
	buf_free(&out);
}

/* ---- forms ---------------------------------------------------------------- */

static size_t decode(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[k++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				abort();
			int hi = ascii_hex_value(s[i + 1]);
			int lo = ascii_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				abort();
			out[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	return k;
}

static void fuzz_form(const char *text, size_t size)
{
	char *name = xstrndup(text, size);
	size_t name_len = strlen(name);
	char *value_copy = name_len < size
	                           ? xstrndup(text + name_len + 1,
	                                      size - name_len - 1)
	                           : xstrdup("");
	struct buf form = BUF_INIT;
	http_form_add(&form, name, value_copy);
	http_form_add(&form, value_copy, name);
	/* only what the encoding produces */
	for (size_t i = 0; i < form.len; i++) {
		unsigned char c = (unsigned char)form.data[i];
		if (!(m_alpha(c) || m_digit(c) || strchr("*-._%+=&", c)) || !c)
			abort();
		if (c == '%' && (!m_hex(form.data[i + 1]) ||
		                 !m_hex(form.data[i + 2]) ||
		                 (form.data[i + 1] >= 'a') ||
		                 (form.data[i + 2] >= 'a')))
			abort();
	}
	/* name=value&value=name, decoded */
	const char *s = form.data;
	const char *amp = memchr(s, '&', form.len);
	const char *eq1 = memchr(s, '=', form.len);
	if (!amp || !eq1 || eq1 > amp || memchr(amp + 1, '&',
	                                        form.len - (size_t)(amp + 1 - s)))
		abort();
	const char *eq2 = memchr(amp + 1, '=', form.len - (size_t)(amp + 1 - s));
	if (!eq2)
		abort();
	char *dec = xmalloc(form.len + 1);
	size_t n = decode(s, (size_t)(eq1 - s), dec);
	if (n != strlen(name) || memcmp(dec, name, n) != 0)
		abort();
	n = decode(eq1 + 1, (size_t)(amp - eq1 - 1), dec);
	if (n != strlen(value_copy) || memcmp(dec, value_copy, n) != 0)
		abort();
	n = decode(eq2 + 1, form.len - (size_t)(eq2 + 1 - s), dec);
	if (n != strlen(name) || memcmp(dec, name, n) != 0)
		abort();
	free(dec);
	buf_wipe(&form);
	free(name);
	free(value_copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0: {
		char *url = xstrndup(text, n);
		fuzz_url(url);
		free(url);
		break;
	}
	case 1: {
		size_t max_body = n ? (unsigned char)text[0] * 4 : 0;
		check_response(n ? text + 1 : text, n ? n - 1 : 0, max_body, -1);
		break;
	}
	case 2:
		fuzz_built((struct bytes){data + 1, n});
		break;
	default:
		fuzz_form(text, n);
	}
	return 0;
}
