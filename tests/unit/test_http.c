/* test_http.c - the pure half of the HTTPS client (http_parse.h): endpoint
 * URLs, form bodies, and whole HTTP/1.1 responses with every framing
 * (Content-Length, chunked, to the end), their refusals and limits. (The
 * I/O half, http_post_form, is exercised end to end by the OAuth suites.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "http_parse.h"

/* A message holds no control character and not the given secret. */
static void assert_clean_message(const struct err *e, const char *secret)
{
	const char *msg = err_msg(e);
	assert_true(*msg != '\0');
	for (const char *p = msg; *p; p++)
		assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	if (secret)
		assert_null(strstr(msg, secret));
}

/* ---- URLs ---------------------------------------------------------------- */

struct url_case {
	const char *url;
	int rc;
	const char *host; /* or, on failure, a part of the message */
	int port;
	const char *path;
};

static const struct url_case url_cases[] = {
	{"https://login.example.com/token", EX_OK, "login.example.com", 443,
	 "/token"},
	{"HTTPS://Login.Example.COM", EX_OK, "Login.Example.COM", 443, "/"},
	{"https://h:8443/a/b?x=1&y=%2F", EX_OK, "h", 8443, "/a/b?x=1&y=%2F"},
	{"https://h?x=1", EX_OK, "h", 443, "/?x=1"},
	{"https://h/", EX_OK, "h", 443, "/"},
	{"https://h:1", EX_OK, "h", 1, "/"},
	{"https://h:65535/x", EX_OK, "h", 65535, "/x"},
	{"https://[::1]:8443/t", EX_OK, "::1", 8443, "/t"},
	{"https://[2001:db8::1]/t", EX_OK, "2001:db8::1", 443, "/t"},
	{"https://127.0.0.1/t", EX_OK, "127.0.0.1", 443, "/t"},
	{"https://xn--bcher-kva.example/o_a-uth2/v2.0/token", EX_OK,
	 "xn--bcher-kva.example", 443, "/o_a-uth2/v2.0/token"},
	{"https://h/p;a=b/c@d:e!$&'()*+,~-._?q=/?", EX_OK, "h", 443,
	 "/p;a=b/c@d:e!$&'()*+,~-._?q=/?"},
	{"https://my_host.example/x", EX_OK, "my_host.example", 443, "/x"},
	{"http://h/t", EX_CONFIG, "OAuth endpoints must use https", 0, NULL},
	{"HTTP://h/t", EX_CONFIG, "must use https", 0, NULL},
	{"ftp://h/t", EX_CONFIG, "is not an https:// URL", 0, NULL},
	{"h/t", EX_CONFIG, "is not an https:// URL", 0, NULL},
	{"https:/h/t", EX_CONFIG, "is not an https:// URL", 0, NULL},
	{"", EX_CONFIG, "is not an https:// URL", 0, NULL},
	{"https://user@h/t", EX_CONFIG, "user information", 0, NULL},
	{"https://user:pw@h/t", EX_CONFIG, "user information", 0, NULL},
	{"https://h/t#frag", EX_CONFIG, "fragment", 0, NULL},
	{"https://h#", EX_CONFIG, "fragment", 0, NULL},
	{"https://h:0/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h:65536/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h:99999999999999999999/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h:/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h:x/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h:443:443/", EX_CONFIG, "invalid port", 0, NULL},
	{"https:///x", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://a..b/", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://.a/", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://a./", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://b\xc3\xbc" "cher.example/", EX_CONFIG, "xn--", 0, NULL},
	{"https://h h/", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://h%41/", EX_CONFIG, "invalid host name", 0, NULL},
	{"https://[fe80::1%25eth0]/", EX_CONFIG, "IPv6", 0, NULL},
	{"https://[::1/", EX_CONFIG, "IPv6", 0, NULL},
	{"https://[]/", EX_CONFIG, "IPv6", 0, NULL},
	{"https://[v1.x]/", EX_CONFIG, "IPv6", 0, NULL},
	{"https://[::1]x/", EX_CONFIG, "after its IPv6", 0, NULL},
	{"https://[::1]:/", EX_CONFIG, "invalid port", 0, NULL},
	{"https://h/a b", EX_CONFIG, "percent-encoded", 0, NULL},
	{"https://h/a\"b", EX_CONFIG, "percent-encoded", 0, NULL},
	{"https://h/\xc3\xa9", EX_CONFIG, "percent-encoded", 0, NULL},
	{"https://h/a\\b", EX_CONFIG, "percent-encoded", 0, NULL},
	{"https://h/%zz", EX_CONFIG, "two hex digits", 0, NULL},
	{"https://h/%4", EX_CONFIG, "two hex digits", 0, NULL},
	{"https://h/\x1b[31m", EX_CONFIG, "percent-encoded", 0, NULL},
};

static void test_url(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof url_cases / sizeof *url_cases; i++) {
		const struct url_case *c = &url_cases[i];
		struct http_url u;
		struct err e = ERR_INIT;
		int rc = http_parse_url(c->url, &u, &e);
		if (rc != c->rc)
			fail_msg("%s: %d, not %d (%s)", c->url, rc, c->rc,
			         err_msg(&e));
		if (rc == EX_OK) {
			assert_string_equal(u.host, c->host);
			assert_int_equal(u.port, c->port);
			assert_string_equal(u.path, c->path);
			http_url_free(&u);
			assert_null(u.host);
			http_url_free(&u); /* twice is fine */
		} else {
			assert_int_equal(e.code, rc);
			assert_null(u.host);
			assert_null(u.path);
			if (!strstr(err_msg(&e), c->host))
				fail_msg("%s: '%s' lacks '%s'", c->url,
				         err_msg(&e), c->host);
			assert_clean_message(&e, NULL);
		}
		err_clear(&e);
	}
}

static void test_url_limits(void **state)
{
	(void)state;
	/* HTTP_MAX_URL bytes are fine, one more is not; the message shows
	 * the beginning of the URL only. */
	char *url = malloc(HTTP_MAX_URL + 2);
	assert_non_null(url);
	strcpy(url, "https://h/");
	memset(url + 10, 'a', HTTP_MAX_URL - 10);
	url[HTTP_MAX_URL] = '\0';
	struct http_url u;
	struct err e = ERR_INIT;
	assert_int_equal(http_parse_url(url, &u, &e), EX_OK);
	assert_int_equal(strlen(u.path), HTTP_MAX_URL - 9);
	http_url_free(&u);
	url[HTTP_MAX_URL] = 'a';
	url[HTTP_MAX_URL + 1] = '\0';
	assert_int_equal(http_parse_url(url, &u, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "too long"));
	assert_true(strlen(err_msg(&e)) < 300);
	err_clear(&e);
	free(url);

	/* a host name of 253 bytes is fine, 254 is not */
	char host[300];
	snprintf(host, sizeof host, "https://");
	memset(host + 8, 'h', 253);
	host[8 + 253] = '\0';
	assert_int_equal(http_parse_url(host, &u, &e), EX_OK);
	http_url_free(&u);
	host[8 + 253] = 'h';
	host[8 + 254] = '\0';
	assert_int_equal(http_parse_url(host, &u, &e), EX_CONFIG);
	err_clear(&e);
}

/* ---- forms --------------------------------------------------------------- */

static void test_form(void **state)
{
	(void)state;
	struct buf form = BUF_INIT;
	http_form_add(&form, "grant_type", "refresh_token");
	assert_string_equal(buf_str(&form), "grant_type=refresh_token");
	http_form_add(&form, "scope",
	              "https://outlook.office.com/SMTP.Send offline_access");
	assert_string_equal(buf_str(&form),
	                    "grant_type=refresh_token&scope=https%3A%2F%2F"
	                    "outlook.office.com%2FSMTP.Send+offline_access");
	buf_wipe(&form);

	static const struct {
		const char *name, *value, *want;
	} cases[] = {
		{"a", "", "a="},
		{"", "", "="},
		{"k", "*-._", "k=*-._"},
		{"k", "~!'()", "k=%7E%21%27%28%29"},
		{"k", "a+b&c=d%e", "k=a%2Bb%26c%3Dd%25e"},
		{"k", "\xc3\xa9\x01\x7f\xff", "k=%C3%A9%01%7F%FF"},
		{"k", "  ", "k=++"},
		{"client id", "x/y", "client+id=x%2Fy"},
		{"AZaz09", "AZaz09", "AZaz09=AZaz09"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		http_form_add(&form, cases[i].name, cases[i].value);
		assert_string_equal(buf_str(&form), cases[i].want);
		buf_wipe(&form);
	}

	/* long values grow the buffer (secretly) and stay whole */
	char value[5000];
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	for (int i = 0; i < 10; i++)
		http_form_add(&form, "n", value);
	assert_int_equal(form.len, 10 * (2 + 4999) + 9);
	buf_wipe(&form);
}

/* ---- responses ----------------------------------------------------------- */

struct response_case {
	const char *name;
	const char *data;
	size_t max_body; /* 0: 1000 */
	int rc;
	int status;
	const char *body; /* or, on failure, a part of the message */
	const char *content_type;
	long retry_after;
};

#define OK EX_OK
#define BAD EX_PROTOCOL

static const struct response_case response_cases[] = {
	/* Content-Length */
	{"content-length",
	 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	 "Content-Length: 14\r\n\r\n{\"a\":\"token\"}\n",
	 0, OK, 200, "{\"a\":\"token\"}\n", "application/json", -1},
	{"content-length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
	 OK, 200, "", NULL, -1},
	{"names in any case, OWS trimmed",
	 "HTTP/1.1 400 Bad Request\r\ncontent-LENGTH:\t 3 \t\r\n"
	 "CONTENT-type:   text/plain; charset=utf-8  \r\n\r\nabc",
	 0, OK, 400, "abc", "text/plain; charset=utf-8", -1},
	{"repeated equal Content-Length",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 003\r\n\r\n"
	 "abc",
	 0, OK, 200, "abc", NULL, -1},
	{"Content-Length list of equal values",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3 , 3,3\r\n\r\nabc", 0, OK, 200,
	 "abc", NULL, -1},
	{"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nab", 0,
	 OK, 200, "ab", NULL, -1},
	{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", 0,
	 OK, 200, "x", NULL, -1},
	{"empty reason phrase", "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n",
	 0, OK, 500, "", NULL, -1},
	{"Content-Length short", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
	 0, BAD, 0, "Content-Length is 5 but 3 bytes arrived", NULL, -1},
	{"Content-Length long",
	 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", 0, BAD, 0,
	 "Content-Length is 2 but 3 bytes arrived", NULL, -1},
	{"Content-Length disagreeing",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
	 0, BAD, 0, "disagree", NULL, -1},
	{"Content-Length list disagreeing",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabc", 0, BAD, 0,
	 "disagree", NULL, -1},
	{"Content-Length empty member",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3,\r\n\r\nabc", 0, BAD, 0,
	 "Content-Length", NULL, -1},
	{"Content-Length empty", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	 0, BAD, 0, "Content-Length", NULL, -1},
	{"Content-Length signed", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
	 0, BAD, 0, "Content-Length", NULL, -1},
	{"Content-Length hex", "HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc",
	 0, BAD, 0, "Content-Length", NULL, -1},
	{"Content-Length huge",
	 "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	 0, BAD, 0, "Content-Length", NULL, -1},
	{"Content-Length over the limit",
	 "HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", 0, BAD, 0,
	 "larger than 1000 bytes", NULL, -1},
	{"Content-Length at the limit", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd",
	 4, OK, 200, "abcd", NULL, -1},
	{"Content-Length and Transfer-Encoding",
	 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
	 "\r\n3\r\nabc\r\n0\r\n\r\n",
	 0, BAD, 0, "both Content-Length and Transfer-Encoding", NULL, -1},

	/* chunked */
	{"chunked",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "4\r\n{\"a\"\r\nA\r\n:\"0123456\"\r\n1\r\n}\r\n0\r\n\r\n",
	 0, OK, 200, "{\"a\":\"0123456\"}", NULL, -1},
	{"chunked, extensions, trailers, any case",
	 "HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n"
	 "3 ;name=value;x\r\nabc\r\n0001;y=\"q\"\r\nd\r\n0\r\n"
	 "Trailer-One: 1\r\nX: y\r\n\r\n",
	 0, OK, 200, "abcd", NULL, -1},
	{"chunked with bare LF",
	 "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n", 0, OK,
	 200, "ab", NULL, -1},
	{"chunked, upper-case hex",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "B\r\n0123456789a\r\n0\r\n\r\n",
	 0, OK, 200, "0123456789a", NULL, -1},
	{"chunked, empty body",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
	 OK, 200, "", NULL, -1},
	{"chunked at the limit",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
	 4, OK, 200, "abcd", NULL, -1},
	{"chunked over the limit",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n",
	 4, BAD, 0, "larger than 4 bytes", NULL, -1},
	{"chunk size overflowing",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "10000000000000001\r\nab\r\n0\r\n\r\n",
	 0, BAD, 0, "larger than", NULL, -1},
	{"chunk size not hex",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
	 0, BAD, 0, "not a hexadecimal number", NULL, -1},
	{"chunk size missing",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nab\r\n0\r\n\r\n",
	 0, BAD, 0, "not a hexadecimal number", NULL, -1},
	{"chunk size signed",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n",
	 0, BAD, 0, "not a hexadecimal number", NULL, -1},
	{"chunk size with junk after",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\nab\r\n0\r\n\r\n",
	 0, BAD, 0, "not a hexadecimal number", NULL, -1},
	{"chunk longer than its size",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
	 0, BAD, 0, "does not end where its size says", NULL, -1},
	{"chunk shorter than its size",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n",
	 0, BAD, 0, "does not end where its size says", NULL, -1},
	{"chunked cut short",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", 0,
	 BAD, 0, "ends inside its chunked body", NULL, -1},
	{"chunked without the last empty line",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n",
	 0, BAD, 0, "ends inside its trailer section", NULL, -1},
	{"chunked with data after it",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1",
	 0, BAD, 0, "8 bytes follow the end", NULL, -1},
	{"a trailer field that is folded",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n",
	 0, BAD, 0, "trailer field is folded", NULL, -1},
	{"Transfer-Encoding gzip",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	 0, BAD, 0, "chunked alone", NULL, -1},
	{"Transfer-Encoding chunked twice",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	 0, BAD, 0, "chunked alone", NULL, -1},
	{"Transfer-Encoding empty",
	 "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", 0, BAD, 0,
	 "chunked alone", NULL, -1},

	/* to the end, and no body */
	{"to the end", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
	 0, OK, 200, "{}", "application/json", -1},
	{"HTTP/1.0 to the end", "HTTP/1.0 401 Unauthorized\r\n\r\n", 0, OK, 401,
	 "", NULL, -1},
	{"to the end, over the limit", "HTTP/1.1 200 OK\r\n\r\nabcde", 4, BAD,
	 0, "larger than 4 bytes", NULL, -1},
	{"204", "HTTP/1.1 204 No Content\r\nRetry-After: 7\r\n\r\n", 0, OK, 204,
	 "", NULL, 7},
	{"204 with data after it", "HTTP/1.1 204 No Content\r\n\r\nabc", 0, BAD,
	 0, "3 bytes follow the end", NULL, -1},
	{"304 with Content-Length",
	 "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, OK, 304,
	 "", NULL, -1},
	{"interim responses",
	 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </>\r\n"
	 "\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	 0, OK, 200, "x", NULL, -1},
	{"8 interim responses",
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 102 a\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	 0, OK, 200, "", NULL, -1},
	{"9 interim responses",
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
	 "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
	 "HTTP/1.1 200 OK\r\n\r\n",
	 0, BAD, 0, "more than 8 interim", NULL, -1},
	{"only an interim response", "HTTP/1.1 100 Continue\r\n\r\n", 0, BAD, 0,
	 "ends inside its status line", NULL, -1},
	{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0,
	 BAD, 0, "switches protocols", NULL, -1},

	/* Retry-After */
	{"Retry-After seconds",
	 "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  120 \r\n\r\n", 0, OK,
	 429, "", NULL, 120},
	{"Retry-After date",
	 "HTTP/1.1 503 x\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n\r\n",
	 0, OK, 503, "", NULL, -1},
	{"Retry-After negative", "HTTP/1.1 503 x\r\nRetry-After: -1\r\n\r\n", 0,
	 OK, 503, "", NULL, -1},
	{"Retry-After empty", "HTTP/1.1 503 x\r\nRetry-After:\r\n\r\n", 0, OK,
	 503, "", NULL, -1},
	{"Retry-After huge",
	 "HTTP/1.1 503 x\r\nRetry-After: 99999999999999999999999\r\n\r\n", 0,
	 OK, 503, "", NULL, HTTP_MAX_RETRY_AFTER},
	{"Retry-After: the last one",
	 "HTTP/1.1 503 x\r\nRetry-After: 5\r\nretry-after: 0\r\n\r\n", 0, OK,
	 503, "", NULL, 0},
	{"Content-Type: the last one, empty",
	 "HTTP/1.1 200 x\r\nContent-Type: a/b\r\nContent-Type:\r\n\r\n", 0, OK,
	 200, "", "", -1},

	/* the header section */
	{"empty", "", 0, BAD, 0, "ends inside its status line", NULL, -1},
	{"no header end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", 0, BAD, 0,
	 "ends inside its header section", NULL, -1},
	{"HTTP/2", "HTTP/2 200\r\n\r\n", 0, BAD, 0, "status line", NULL, -1},
	{"HTTP/1.1 without a space", "HTTP/1.1200 OK\r\n\r\n", 0, BAD, 0,
	 "status line", NULL, -1},
	{"HTTP/1.1 lower case", "http/1.1 200 OK\r\n\r\n", 0, BAD, 0,
	 "status line", NULL, -1},
	{"status 99", "HTTP/1.1 099 x\r\n\r\n", 0, BAD, 0, "status line", NULL, -1},
	{"status 600", "HTTP/1.1 600 x\r\n\r\n", 0, BAD, 0, "status line", NULL, -1},
	{"status of 2 digits", "HTTP/1.1 20 x\r\n\r\n", 0, BAD, 0,
	 "status line", NULL, -1},
	{"status of 4 digits", "HTTP/1.1 2000 x\r\n\r\n", 0, BAD, 0,
	 "status line", NULL, -1},
	{"a line before the status line", "\r\nHTTP/1.1 200 x\r\n\r\n", 0, BAD,
	 0, "status line", NULL, -1},
	{"ICY", "ICY 200 OK\r\n\r\n", 0, BAD, 0, "status line", NULL, -1},
	{"control in the reason", "HTTP/1.1 200 O\x1bK\r\n\r\n", 0, BAD, 0,
	 "control character", NULL, -1},
	{"folded field", "HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", 0, BAD, 0,
	 "header field is folded", NULL, -1},
	{"space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
	 0, BAD, 0, "no valid name", NULL, -1},
	{"no colon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n", 0, BAD, 0,
	 "no valid name", NULL, -1},
	{"empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n", 0, BAD, 0,
	 "no valid name", NULL, -1},
	{"bare CR in a field", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", 0, BAD, 0,
	 "carriage return", NULL, -1},
	{"bare CR ending a line", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n",
	 0, BAD, 0, "carriage return", NULL, -1},
	{"CR CR LF", "HTTP/1.1 200 OK\r\r\n\r\n", 0, BAD, 0, "carriage return", NULL, -1},
	{"DEL in a field", "HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n", 0, BAD, 0,
	 "control character", NULL, -1},
	{"tab and obs-text in a field",
	 "HTTP/1.1 200 OK\r\nA: b\tc\xe9\r\n\r\n", 0, OK, 200, "", NULL, -1},
	{"a field after an interim response is checked too",
	 "HTTP/1.1 100 Continue\r\nBad Name: x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	 0, BAD, 0, "no valid name", NULL, -1},
};

static void test_response(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof response_cases / sizeof *response_cases;
	     i++) {
		const struct response_case *c = &response_cases[i];
		struct http_response r;
		struct err e = ERR_INIT;
		size_t len = strlen(c->data);
		int rc = http_parse_response(c->data, len,
		                             c->max_body ? c->max_body : 1000,
		                             &r, &e);
		if (rc != c->rc)
			fail_msg("%s: %d, not %d (%s)", c->name, rc, c->rc,
			         err_msg(&e));
		if (rc == EX_OK) {
			assert_int_equal(r.status, c->status);
			assert_string_equal(buf_str(&r.body), c->body);
			assert_int_equal(r.body.len, strlen(c->body));
			if (c->content_type)
				assert_string_equal(r.content_type,
				                    c->content_type);
			else
				assert_null(r.content_type);
			assert_int_equal(r.retry_after, c->retry_after);
			http_response_free(&r);
		} else {
			assert_int_equal(e.code, EX_PROTOCOL);
			assert_null(r.body.data);
			assert_null(r.content_type);
			if (!strstr(err_msg(&e), c->body))
				fail_msg("%s: '%s' lacks '%s'", c->name,
				         err_msg(&e), c->body);
			assert_non_null(strstr(err_msg(&e),
			                       "malformed HTTP response: "));
			assert_clean_message(&e, NULL);
		}
		http_response_free(&r); /* twice is fine */
		err_clear(&e);
	}
}

/* Bodies are bytes (NUL, CR, LF as they came); a NUL in a field is
 * refused. */
static void test_response_binary(void **state)
{
	(void)state;
	static const char body[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
	                           "\r\na\r\n\0b\n";
	struct http_response r;
	struct err e = ERR_INIT;
	assert_int_equal(http_parse_response(body, sizeof body - 1, 1000, &r,
	                                     &e),
	                 EX_OK);
	assert_int_equal(r.body.len, 6);
	assert_memory_equal(r.body.data, "a\r\n\0b\n", 6);
	http_response_free(&r);
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	                              "chunked\r\n\r\n3\r\n\0\r\n\r\n0\r\n\r\n";
	assert_int_equal(http_parse_response(chunked, sizeof chunked - 1, 1000,
	                                     &r, &e),
	                 EX_OK);
	assert_int_equal(r.body.len, 3);
	assert_memory_equal(r.body.data, "\0\r\n", 3);
	http_response_free(&r);
	static const char field[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	assert_int_equal(http_parse_response(field, sizeof field - 1, 1000, &r,
	                                     &e),
	                 EX_PROTOCOL);
	assert_non_null(strstr(err_msg(&e), "control character"));
	err_clear(&e);
}

/* The header section and the trailer section: HTTP_MAX_HEAD bytes each,
 * the empty line included. */
static void test_response_head_limit(void **state)
{
	(void)state;
	for (int trailer = 0; trailer < 2; trailer++) {
		for (int over = 0; over < 2; over++) {
			struct buf b = BUF_INIT;
			const char *status = "HTTP/1.1 200 OK\r\n";
			const char *start =
			        trailer ? "HTTP/1.1 200 OK\r\nTransfer-Encoding:"
			                  " chunked\r\n\r\n0\r\n"
			                : status;
			buf_add_str(&b, start);
			size_t section = trailer ? 0 : strlen(status);
			/* fill with "X: yyy...\r\n" up to the limit */
			size_t fill = HTTP_MAX_HEAD - section - 2 + over;
			buf_add_str(&b, "X: ");
			for (size_t i = 3; i < fill - 2; i++)
				buf_add_char(&b, 'y');
			buf_add_str(&b, "\r\n\r\n");
			struct http_response r;
			struct err e = ERR_INIT;
			int rc = http_parse_response(b.data, b.len, 1000, &r,
			                             &e);
			assert_int_equal(rc, over ? EX_PROTOCOL : EX_OK);
			if (over)
				assert_non_null(strstr(err_msg(&e),
				                       "larger than 65536"));
			http_response_free(&r);
			err_clear(&e);
			buf_free(&b);
		}
	}
}

/* Nothing the server sent shows in a message: a body or a field may hold
 * a token. */
static void test_response_messages_quote_nothing(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nSECRET-TOKEN",
		"HTTP/1.1 200 OK\r\nContent-Length: SECRET-TOKEN\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: SECRET-TOKEN\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"SECRET-TOKEN\r\n",
		"HTTP/1.1 200 OK\r\nSECRET-TOKEN : x\r\n\r\n",
		"HTTP/1.1 200 SECRET-TOKEN\x01\r\n\r\n",
		"SECRET-TOKEN\r\n\r\n",
		"HTTP/1.1 204 OK\r\n\r\nSECRET-TOKEN",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct http_response r;
		struct err e = ERR_INIT;
		assert_int_equal(http_parse_response(cases[i], strlen(cases[i]),
		                                     1000, &r, &e),
		                 EX_PROTOCOL);
		assert_clean_message(&e, "SECRET");
		err_clear(&e);
	}
}

/* The default limit: a body of HTTP_MAX_BODY bytes is fine, one more is
 * not; and a large response parses in one pass. */
static void test_response_default_limit(void **state)
{
	(void)state;
	for (int over = 0; over < 2; over++) {
		size_t n = HTTP_MAX_BODY + (size_t)over;
		struct buf b = BUF_INIT;
		buf_printf(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
		               "\r\n\r\n");
		for (size_t left = n; left > 0;) {
			size_t chunk = left > 4000 ? 4000 : left;
			buf_printf(&b, "%zx\r\n", chunk);
			for (size_t i = 0; i < chunk; i++)
				buf_add_char(&b, 'z');
			buf_add_str(&b, "\r\n");
			left -= chunk;
		}
		buf_add_str(&b, "0\r\n\r\n");
		assert_true(b.len <= HTTP_MAX_RESPONSE(HTTP_MAX_BODY));
		struct http_response r;
		struct err e = ERR_INIT;
		int rc = http_parse_response(b.data, b.len, HTTP_MAX_BODY, &r,
		                             &e);
		assert_int_equal(rc, over ? EX_PROTOCOL : EX_OK);
		if (!over)
			assert_int_equal(r.body.len, n);
		http_response_free(&r);
		err_clear(&e);
		buf_free(&b);
	}
}

/* ---- http_post_form, without a server -------------------------------------- */

static void collect(void *ctx, const char *line)
{
	buf_add_str(ctx, line);
	buf_add_char(ctx, '\n');
}

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	socklen_t len = sizeof sin;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void test_post_failures(void **state)
{
	(void)state;
	struct buf trace = BUF_INIT, form = BUF_INIT;
	http_form_add(&form, "refresh_token", "SECRET");
	const struct http_settings s = {.timeout = 5, .trace = collect,
	                                .trace_ctx = &trace};
	struct http_response r;
	struct err e = ERR_INIT;
	/* a bad URL: nothing is tried, nothing traced */
	assert_int_equal(http_post_form(&s, "http://127.0.0.1/t", &form, &r,
	                                &e),
	                 EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "must use https"));
	assert_null(r.body.data);
	assert_int_equal(trace.len, 0);
	err_clear(&e);
	/* refused: worth retrying, the host named; the trace shows the
	 * request without its query */
	char url[128];
	int port = closed_port();
	snprintf(url, sizeof url, "https://127.0.0.1:%d/token?code=SECRET",
	         port);
	assert_int_equal(http_post_form(&s, url, &form, &r, &e), EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "127.0.0.1"));
	assert_null(strstr(err_msg(&e), "SECRET"));
	char want[128];
	snprintf(want, sizeof want, "POST https://127.0.0.1:%d/token\n", port);
	assert_string_equal(buf_str(&trace), want);
	assert_null(r.body.data);
	http_response_free(&r);
	err_clear(&e);
	buf_free(&trace);
	buf_wipe(&form);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_url_limits),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_response_binary),
		cmocka_unit_test(test_response_head_limit),
		cmocka_unit_test(test_response_messages_quote_nothing),
		cmocka_unit_test(test_response_default_limit),
		cmocka_unit_test(test_post_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
