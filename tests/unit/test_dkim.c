/* test_dkim.c - DKIM canonicalisation, keys and signatures.
 *
 * Known answers: RFC 6376 3.4.5 (canonicalisation), RFC 8463 appendix A
 * (keys, message, both signatures), RFC 6376 2.11 (DKIM quoted-printable;
 * base64 is test_base64.c's). The streaming
 * body canonicaliser is also checked against a naive whole-buffer
 * reference written from the RFC text, for every split of its input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64.h"
#include "buf.h"
#include "dkim.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "msg.h"
#include "util.h"

/* RFC 8463 A.1: the RSA key (PKCS#1, as printed). */
static const char rfc_rsa_pkcs1[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
	"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
	"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
	"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
	"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
	"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
	"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
	"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
	"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
	"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
	"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
	"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
	"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
	"-----END RSA PRIVATE KEY-----\n";

/* The same key as PKCS#8 (openssl pkey -in rfc.pem). */
static const char rfc_rsa_pkcs8[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAOQeU5CgFPNZGIaz\n"
	"lXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW60\n"
	"AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/OjFnJVgvMF\n"
	"87YR4Lcincb7aSvI5MgpP6X8rjDdAgMBAAECgYAfRzE6EVkODNdaEOGcAkPDmziu\n"
	"g5c3g6GOJdrxbtjeuFfcUmqYlI+4Lw329CbpJVtosAThIbmYsy54eWHgpd98Sm4s\n"
	"SI2n1Kzc7hh8uJCltGoTtOblLEqO+9Chll7MeiuKY5oKFEvaK3juK5bHPFKJEy/h\n"
	"z6PvQaJZ3FefF7hSgQJBAPMkH/RTnxbtFnLp6cZWPaRYXvfYKhYVlbOLUWJy52sE\n"
	"WjLrdDByjCmgJrMq29kYw2U9acLvH/qjwZy5J7SBrbECQQDwLs+Kk+bX/V9NFC+P\n"
	"Wj90OZmnbjfTjhk3LGOD78483ShYJtcgbHJa+ZlteuI5ahIAslOMTESCtocSCdey\n"
	"y6TtAkEAuXkgKxgy7qEzE7veCd81rI2A/F1YVXpntQucrJXsdJVgXSGBg4eN5h72\n"
	"Boy2IliijTMY34vcAC00/2G6qRaXMQJATVqWJwh5WWjV76onoyCqvRDsBrt9qVnj\n"
	"jxxxtIVgQ8PqgXGI6X1j2x72Jgdkop8hyy2jsNTDX+HPYKTg3kmuBQJBALIq942+\n"
	"POSR3weNizRLAzR8+MrXr//moNnZSIMac564TPEEMCvnXxnxUVtHjWKfdbhjfIIO\n"
	"BCUuVwROtL7Nhws=\n"
	"-----END PRIVATE KEY-----\n";

/* RFC 8463 A.1 gives the Ed25519 secret key as the bare 32-byte seed
 * nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= (RFC 8032 7.1 test 1);
 * PKCS#8 (RFC 8410 7) is the fixed prefix 302e020100300506032b657004220420
 * followed by the seed. */
static const char rfc_ed25519_pkcs8[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

/* Keys that must be refused. */
static const char rsa_512[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIIBPQIBAAJBAN9HpA89iSwLTk0hwa3heJHiC5yMiCXcNmGeVODENCqhorg7gVVJ\n"
	"9LmZgfT3HxxWdkpIJOr0O4Vgyl/vTOjs1qkCAwEAAQJBALEjyzr0HRG+Xn6/G0Ny\n"
	"MA+9AG1Q6OrwjIxh6wDvaFuwqNyYpT0MkiK3IkJ/ps7W/00v+WnI3UGn0hDca0LJ\n"
	"CwECIQD8K3ECjp9A2VOWqB/Bi/jLmY2Eb0SYE3g6DVz6HMFjUQIhAOKr3JNeREt6\n"
	"hlDMSQvHnreecjeAm73m7af7c0EvRXfZAiEA53YMbhdxT/nrgr7hHyuWe3N/dU8Y\n"
	"fCpq0YZQkHbyf3ECIQDNJB0MglPsu4azuS6iqpbKN2vHL23EACs1zCwS4mVMgQIh\n"
	"AMJdrxrqdkmQUuVsOG7VvF1gT0iMamP+N3fs2YCnteth\n"
	"-----END RSA PRIVATE KEY-----\n";
static const char ec_p256[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXOQAuxWedDl/bTQU\n"
	"uKtMeuhAob4qT1iRsJdL6SBWtHqhRANCAAS77knQ/amKUAginpnO/RWWk2ebQvUi\n"
	"S9KKJm9RVjXo/OS4ueJIKCplEjb2KIMwQuLNL1Fc/TzaQUA2FABU+RC8\n"
	"-----END PRIVATE KEY-----\n";
static const char ed448[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MEcCAQAwBQYDK2VxBDsEOeu6IHza56LiTAnr0ER1tJe8QphpXHsgzuJnOuEDxlRV\n"
	"TsSzy6Ui46n/dDY9o6UN/QBa6ipBYQlt2w==\n"
	"-----END PRIVATE KEY-----\n";
static const char encrypted[] =
	"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
	"MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjWemNJ5XoiBgICCAAw\n"
	"DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEAtCQrqY0l62nYE6DH8cgtEEQAZP\n"
	"cdlpxvZzeAo1RwCrEPHfbkVcKGluwhWFdJSYycAUT052NIwle2aCpMk6AMjI8rik\n"
	"0oxE+vSH0LNYtbE9YO0=\n"
	"-----END ENCRYPTED PRIVATE KEY-----\n";
/* A 1024-bit RSA key whose private exponent has one byte changed: GnuTLS
 * imports it and finds its parameters sane, but it cannot sign (found by
 * tests/fuzz/fuzz_dkim_key.c). */
static const char rsa_damaged_exponent[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICWwIBAAKBgQDbajDrynWtN1W34ccx5ENdb26WONSxI4nxD0mjfVNSsnnYr38U\n"
	"TV5QEv5pJ+JI8xDY7WOKLNwCyyOrfeUYmfYc8LWH1ad+HGAWOajYVJTiKow0T0Sv\n"
	"winFQIEorTTpBJwwmYGkcKLTEIyoxzDyWEMtXjpVj5NJfBQpkJtlQYFiQwIDAQAB\n"
	"AoGAe+vP0Xw5Vi1IemBD9oOrIFxNIv7Z8WnXAJTXzER+CNjQRHdp2HeR6ruvgIiM\n"
	"HxNY0ovQijunztQYQ0UJXQmnm8hPiYOLEnkXyL4JHo+F5AWIgBhZw+wL8HcyPInY\n"
	"1z+uavuGi5FjU/prXKOCHkqmwYwQCmZkXq+Q91/5UjrSbvECQQD/Fjk1O+6yrACf\n"
	"vWjCUBVYMi2Wl7ROFF5QR8B1FftYXNP5Ib7xqmhC7mUlr9sqPbiEkxZ3v2erw3jD\n"
	"gnumzVrtAkEA3DNGlRndX1A6WxC159ydtjnzdeSS1rmQW/KdGcbAdtsgTYjORYDo\n"
	"aze3PN3ooLM/dutFogYdWYXwjJPFtSyb7wJAItPx86a/LH33h9fgmcc9YtFXEBye\n"
	"bZqyVdu2F0ZtDt99waIt4+kUWy8ZeE/OaLIMo21BwA/OI9GIh4klQN0A8QJAdkGj\n"
	"Wle1p4ZykI1847R7jm247kt/AIpPmNHGxR0UJ8CurHUYMgN0zn/xjGKwl/0rzDW2\n"
	"A7m88WMZOKXzu8TlSQJAXTV4umH8LNqHnxrjBpoeLhD1PXQM+vN0m5biD+3Kb19J\n"
	"xubIDY8Yx42+KbwKADyhYmIhr+B/Xn2CmoshqvvYYQ==\n"
	"-----END RSA PRIVATE KEY-----\n";

/* rfc_ed25519_pkcs8 as DER: binary, with NUL bytes. */
static const unsigned char rfc_ed25519_der[] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
	0x70, 0x04, 0x22, 0x04, 0x20, 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd,
	0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44,
	0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
	0x1c, 0xae, 0x7f, 0x60,
};

/* RFC 6376 A.1 / RFC 8463 A.3: the message both RFCs sign. */
static const char rfc_headers[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
static const char rfc_body[] =
	"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
#define RFC_T 1528637909
#define RFC_BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="

/* RFC 8463 A.3: the two DKIM-Signature values, as printed. */
static const char rfc_ed25519_value[] =
	" v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char rfc_rsa_value[] =
	" v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
	" date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

/* Scratch directory for key files. */
static char tmpdir[] = "/tmp/test_dkim.XXXXXX";

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", tmpdir, name);
	unlink(path.data);
	int fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return buf_steal(&path);
}

/* Read a message through msg.c, the body going to sink. */
static struct message *read_message(const char *text, msg_body_sink sink,
                                    void *ctx)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fflush(f);
	int fd = fileno(f);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	struct message *m = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(msg_read_header(fd, &m, &e), EX_OK);
	assert_int_equal(msg_read_body(m, fd, sink, ctx, &e), EX_OK);
	fclose(f);
	return m;
}

static struct dkim_signer_ctx *prepare_ok(const struct dkim_signer *cfg)
{
	struct dkim_signer_ctx *ctx = NULL;
	struct err e = ERR_INIT;
	int rc = dkim_prepare(cfg, &ctx, &e);
	if (rc != EX_OK)
		fail_msg("dkim_prepare: %s", err_msg(&e));
	assert_non_null(ctx);
	return ctx;
}

static int write_to_buf(void *ctx, const char *data, size_t len,
                        struct err *e)
{
	(void)e;
	buf_add(ctx, data, len);
	return EX_OK;
}

/* The header value of the topmost field called name. */
static const char *top_value(const struct message *m, const char *name)
{
	for (size_t i = 0; i < msg_header_count(m); i++)
		if (ascii_casecmp(msg_header_name(m, i), name) == 0)
			return msg_header_raw_value(m, i);
	return NULL;
}

/* The value of tag name in a DKIM-Signature value, white space removed
 * (heap), or NULL. */
static char *tag_value(const char *value, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = value; *p; p++) {
		if (p != value && p[-1] != ' ' && p[-1] != ';' && p[-1] != '\n')
			continue;
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		struct buf out = BUF_INIT;
		for (p += n + 1; *p && *p != ';'; p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				buf_add_char(&out, *p);
		return buf_steal(&out);
	}
	return NULL;
}

static void assert_tag(const char *value, const char *name,
                       const char *expected)
{
	char *got = tag_value(value, name);
	if (!got || strcmp(got, expected) != 0)
		fail_msg("%s=%s, expected %s in:\n%s", name,
		         got ? got : "(none)", expected, value);
	free(got);
}

/* Body canonicalisation. */

static void collect(void *ctx, const char *data, size_t len)
{
	buf_add(ctx, data, len);
}

/* Canonicalise input handed over in pieces ending at cuts[]. */
static void canon_pieces(enum dkim_canon alg, const char *in, size_t len,
                         const size_t *cuts, size_t ncuts, struct buf *out)
{
	static struct dkim_body_canon c; /* large: keep it off the stack */
	dkim_body_canon_init(&c, alg, collect, out);
	size_t at = 0;
	for (size_t i = 0; i < ncuts; i++) {
		dkim_body_canon_update(&c, in + at, cuts[i] - at);
		at = cuts[i];
	}
	dkim_body_canon_update(&c, in + at, len - at);
	dkim_body_canon_finish(&c);
}

/* A naive reference, straight from RFC 6376 3.4.3 and 3.4.4: split into
 * CRLF lines (a non-empty remainder is a last line that gets its CRLF),
 * relaxed: WSP runs -> SP and no WSP before CRLF; then no trailing empty
 * lines; simple: an empty result is CRLF. */
static void reference_canon(enum dkim_canon alg, const char *in, size_t len,
                            struct buf *out)
{
	struct buf lines = BUF_INIT;
	size_t keep = 0; /* length up to the last non-empty line */
	size_t start = 0;
	while (start < len) {
		size_t end = start;
		while (end < len && !(in[end] == '\r' && end + 1 < len &&
		                      in[end + 1] == '\n'))
			end++;
		size_t before = lines.len;
		for (size_t i = start; i < end; i++) {
			bool w = in[i] == ' ' || in[i] == '\t';
			if (alg == DKIM_CANON_RELAXED && w) {
				/* one SP per run, none at the line end */
				if (lines.len > before &&
				    lines.data[lines.len - 1] == ' ')
					continue;
				buf_add_char(&lines, ' ');
			} else {
				buf_add_char(&lines, in[i]);
			}
		}
		if (alg == DKIM_CANON_RELAXED && lines.len > before &&
		    lines.data[lines.len - 1] == ' ')
			lines.len--;
		bool empty = lines.len == before;
		buf_add(&lines, "\r\n", 2);
		if (!empty)
			keep = lines.len;
		start = end + 2;
	}
	lines.len = keep;
	if (alg == DKIM_CANON_SIMPLE && lines.len == 0)
		buf_add(&lines, "\r\n", 2);
	buf_add(out, lines.data ? lines.data : "", lines.len);
	buf_free(&lines);
}

struct body_case {
	const char *in;
	const char *simple;
	const char *relaxed;
};

static const struct body_case body_cases[] = {
	/* RFC 6376 3.4.5 */
	{" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
	/* empty body: simple is one CRLF, relaxed stays empty (3.4.3/4) */
	{"", "\r\n", ""},
	{"\r\n", "\r\n", ""},
	{"\r\n\r\n\r\n", "\r\n", ""},
	/* trailing WSP, WSP runs, tabs */
	{"a \r\n", "a \r\n", "a\r\n"},
	{"a\t \tb  c\t\r\n", "a\t \tb  c\t\r\n", "a b c\r\n"},
	{" \t a\r\n", " \t a\r\n", " a\r\n"},
	/* a line of only WSP is empty once relaxed, so it is trailing */
	{"a\r\n \t\r\n\r\n", "a\r\n \t\r\n", "a\r\n"},
	{" \r\n", " \r\n", ""},
	/* inner empty lines stay, leading ones too */
	{"\r\n\r\na\r\n\r\nb\r\n\r\n", "\r\n\r\na\r\n\r\nb\r\n",
	 "\r\n\r\na\r\n\r\nb\r\n"},
	{"a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n"},
	/* no final CRLF (msg.c adds it, but the rule is kept) */
	{"a", "a\r\n", "a\r\n"},
	{"a  ", "a  \r\n", "a\r\n"},
	{"a\r\nb", "a\r\nb\r\n", "a\r\nb\r\n"},
	{"  ", "  \r\n", ""},
	/* bare CR and LF are line content */
	{"a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
	{"a\nb\r\n", "a\nb\r\n", "a\nb\r\n"},
	{"a\r", "a\r\r\n", "a\r\r\n"},
	{"\r", "\r\r\n", "\r\r\n"},
	{"a\r\r\n", "a\r\r\n", "a\r\r\n"},
	/* 8-bit, dot-leading */
	{"caf\xc3\xa9 \xe2\x82\xac\r\n.\r\n..x\r\n",
	 "caf\xc3\xa9 \xe2\x82\xac\r\n.\r\n..x\r\n",
	 "caf\xc3\xa9 \xe2\x82\xac\r\n.\r\n..x\r\n"},
};

static void check_case_all_splits(enum dkim_canon alg, const char *in,
                                  const char *expected)
{
	size_t len = strlen(in);
	struct buf whole = BUF_INIT;
	canon_pieces(alg, in, len, NULL, 0, &whole);
	if (strcmp(buf_str(&whole), expected) != 0)
		fail_msg("%s canon of \"%s\" gave \"%s\"", dkim_canon_name(alg),
		         in, buf_str(&whole));
	struct buf ref = BUF_INIT;
	reference_canon(alg, in, len, &ref);
	assert_string_equal(buf_str(&ref), expected);
	/* Every split into two and three pieces (empty pieces included). */
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			size_t cuts[2] = {i, j};
			struct buf out = BUF_INIT;
			canon_pieces(alg, in, len, cuts, 2, &out);
			assert_int_equal(out.len, whole.len);
			assert_memory_equal(buf_str(&out), buf_str(&whole),
			                    whole.len);
			buf_free(&out);
		}
	}
	/* One byte at a time. */
	size_t *cuts = xcalloc(len + 1, sizeof *cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i;
	struct buf bytes = BUF_INIT;
	canon_pieces(alg, in, len, cuts, len, &bytes);
	assert_string_equal(buf_str(&bytes), expected);
	free(cuts);
	buf_free(&bytes);
	buf_free(&ref);
	buf_free(&whole);
}

static void test_body_canon_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		check_case_all_splits(DKIM_CANON_SIMPLE, body_cases[i].in,
		                      body_cases[i].simple);
		check_case_all_splits(DKIM_CANON_RELAXED, body_cases[i].in,
		                      body_cases[i].relaxed);
	}
}

/* Random inputs over the alphabet that matters, random pieces, against
 * the reference. The second alphabet makes long lines with rare WSP runs,
 * which take the eight-bytes-at-a-time path. */
static void random_canon_rounds(const char *alphabet, size_t max_len,
                                int rounds, uint32_t seed)
{
	size_t nalpha = strlen(alphabet);
	char *in = xmalloc(max_len);
	for (int round = 0; round < rounds; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 8) % max_len;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % nalpha];
		}
		size_t cuts[4], n = 0, at = 0;
		while (n < 4 && len) {
			seed = seed * 1103515245u + 12345u;
			at += (seed >> 16) % (len - at + 1);
			cuts[n++] = at;
		}
		for (int a = 0; a < 2; a++) {
			enum dkim_canon alg = a ? DKIM_CANON_RELAXED :
			                          DKIM_CANON_SIMPLE;
			struct buf out = BUF_INIT, ref = BUF_INIT;
			canon_pieces(alg, in, len, cuts, n, &out);
			reference_canon(alg, in, len, &ref);
			assert_int_equal(out.len, ref.len);
			assert_memory_equal(buf_str(&out), buf_str(&ref),
			                    ref.len);
			buf_free(&out);
			buf_free(&ref);
		}
	}
	free(in);
}

static void test_body_canon_random(void **state)
{
	(void)state;
	random_canon_rounds("a \t\r\n.", 48, 20000, 12345);
	random_canon_rounds("abcdefghij  \t\r\n", 300, 5000, 777);
	random_canon_rounds("abcdefghijklmnopqrstuvwxyz ", 200, 5000, 4242);
}

/* Many trailing empty lines are counted, not stored, and flushed when a
 * line follows; a long line goes through whole. */
static void test_body_canon_large(void **state)
{
	(void)state;
	size_t n = 3 * DKIM_CANON_STAGE_SIZE;
	char *in = xmalloc(2 * n + 2);
	for (size_t i = 0; i < n; i++)
		memcpy(in + 2 * i, "\r\n", 2);
	in[2 * n] = 'x';
	in[2 * n + 1] = '\0';
	for (int a = 0; a < 2; a++) {
		enum dkim_canon alg = a ? DKIM_CANON_RELAXED :
		                          DKIM_CANON_SIMPLE;
		struct buf out = BUF_INIT, ref = BUF_INIT;
		canon_pieces(alg, in, 2 * n + 1, NULL, 0, &out);
		reference_canon(alg, in, 2 * n + 1, &ref);
		assert_int_equal(out.len, 2 * n + 3);
		assert_memory_equal(out.data, ref.data, ref.len);
		buf_free(&out);
		buf_free(&ref);
	}
	free(in);
}

/* Header canonicalisation. */

struct header_case {
	const char *name;
	const char *value;
	const char *simple;
	const char *relaxed;
};

static const struct header_case header_cases[] = {
	/* RFC 6376 3.4.5 */
	{"A", " X", "A: X\r\n", "a:X\r\n"},
	{"B ", " Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
	/* folding right after the colon, empty values */
	{"Subject", "\r\n  Hello \t World  ",
	 "Subject:\r\n  Hello \t World  \r\n",
	 "subject:Hello World\r\n"},
	{"X-Empty", "", "X-Empty:\r\n", "x-empty:\r\n"},
	{"X-Blank", "  \t ", "X-Blank:  \t \r\n", "x-blank:\r\n"},
	{"To", " a@example.org,\r\n b@example.org", 
	 "To: a@example.org,\r\n b@example.org\r\n",
	 "to:a@example.org, b@example.org\r\n"},
	{"Subject", " =?UTF-8?Q?caf=C3=A9?= \xc3\xa9t\xc3\xa9",
	 "Subject: =?UTF-8?Q?caf=C3=A9?= \xc3\xa9t\xc3\xa9\r\n",
	 "subject:=?UTF-8?Q?caf=C3=A9?= \xc3\xa9t\xc3\xa9\r\n"},
	/* names keep their characters, only ASCII case changes */
	{"X-\xc3\x89t\xc3\xa9", " v", "X-\xc3\x89t\xc3\xa9: v\r\n",
	 "x-\xc3\x89t\xc3\xa9:v\r\n"},
};

static void test_header_canon(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof header_cases / sizeof header_cases[0];
	     i++) {
		const struct header_case *c = &header_cases[i];
		struct buf s = BUF_INIT, r = BUF_INIT;
		dkim_header_canon(DKIM_CANON_SIMPLE, c->name, strlen(c->name),
		                  c->value, strlen(c->value), &s);
		dkim_header_canon(DKIM_CANON_RELAXED, c->name, strlen(c->name),
		                  c->value, strlen(c->value), &r);
		assert_string_equal(buf_str(&s), c->simple);
		assert_string_equal(buf_str(&r), c->relaxed);
		buf_free(&s);
		buf_free(&r);
	}
}

/* Value syntax. */

static void test_canon_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
		enum dkim_canon header, body;
	} cases[] = {
		{"relaxed/relaxed", true, DKIM_CANON_RELAXED,
		 DKIM_CANON_RELAXED},
		{"simple/simple", true, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE},
		{"relaxed/simple", true, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE},
		{"Simple/Relaxed", true, DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED},
		{"relaxed", true, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE},
		{"simple", true, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE},
		{"", false, 0, 0},
		{"relaxed/", false, 0, 0},
		{"/relaxed", false, 0, 0},
		{"relaxed/relaxed/relaxed", false, 0, 0},
		{"nofws", false, 0, 0},
		{"relaxed /relaxed", false, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum dkim_canon h = 99, b = 99;
		bool ok = dkim_canon_parse(cases[i].text, &h, &b);
		assert_int_equal(ok, cases[i].ok);
		if (ok) {
			assert_int_equal(h, cases[i].header);
			assert_int_equal(b, cases[i].body);
		}
	}
}

#define LABEL63 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_names(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool selector, domain;
	} cases[] = {
		{"brisbane", true, false},
		{"2024-01.mail", true, true},
		{"sel", true, false},
		{"football.example.com", true, true},
		{"xn--bcher-kva.example", true, true},
		{"a.b", true, true},
		{"", false, false},
		{"-a.example", false, false},
		{"a-.example", false, false},
		{"a..example", false, false},
		{".example", false, false},
		{"example.", false, false},
		{"a_b.example", false, false},
		{"s el", false, false},
		{"b\xc3\xbc" "cher.example", false, false},
		{"a;b=c", false, false},
		/* 63-octet label fine, 64 not */
		{LABEL63 ".x", true, true},
		{LABEL63 "a.x", false, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (dkim_valid_selector(cases[i].s) != cases[i].selector ||
		    dkim_valid_domain(cases[i].s) != cases[i].domain)
			fail_msg("name \"%s\"", cases[i].s);
	}
	assert_true(dkim_valid_field_name("From", 4, 255));
	assert_true(dkim_valid_field_name("X-Weird!#", 9, 255));
	assert_false(dkim_valid_field_name("", 0, 255));
	assert_false(dkim_valid_field_name("Fr om", 5, 255));
	assert_false(dkim_valid_field_name("From:", 5, 255));
	assert_false(dkim_valid_field_name("Fr\xc3\xa9", 4, 255));
	assert_false(dkim_valid_field_name("Subject", 7, 6));

	assert_true(dkim_domain_within("example.com", "example.com"));
	assert_true(dkim_domain_within("Mail.Example.COM", "example.com"));
	assert_false(dkim_domain_within("badexample.com", "example.com"));
	assert_false(dkim_domain_within("example.com", "mail.example.com"));
	assert_false(dkim_domain_within("com", ""));
}

static void test_qp(void **state)
{
	(void)state;
	struct buf q = BUF_INIT;
	dkim_qp_encode("joe;x=y z@\xc3\xa9.example", &q);
	assert_string_equal(buf_str(&q), "joe=3Bx=3Dy=20z@=C3=A9.example");
	buf_free(&q);
}

/* Keys. */

static void test_prepare_keys(void **state)
{
	(void)state;
	static const struct {
		const char *pem;
		const char *alg;
	} good[] = {
		{rfc_rsa_pkcs1, "rsa-sha256"},
		{rfc_rsa_pkcs8, "rsa-sha256"},
		{rfc_ed25519_pkcs8, "ed25519-sha256"},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char *path = write_file("good.pem", good[i].pem, 0600);
		struct dkim_signer cfg = {.key_file = path, .selector = "s1",
		                          .domain = "example.org"};
		struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
		struct message *m = read_message("From: a@example.org\r\n\r\n"
		                                 "x\r\n", dkim_body_update,
		                                 ctx);
		struct err e = ERR_INIT;
		assert_int_equal(dkim_sign(ctx, m, 1, &e), EX_OK);
		const char *v = top_value(m, "DKIM-Signature");
		assert_non_null(v);
		char want[64];
		snprintf(want, sizeof want, " a=%s;", good[i].alg);
		assert_non_null(strstr(v, want));
		/* the 1024-bit RFC key: a warning, not an error */
		if (good[i].alg[0] == 'r')
			assert_non_null(strstr(dkim_warning(ctx, 0),
			                       "1024 bits"));
		else
			assert_null(dkim_warning(ctx, 0));
		msg_free(m);
		dkim_free(ctx);
		free(path);
	}
}

static void test_prepare_bad_keys(void **state)
{
	(void)state;
	static const struct {
		const char *pem; /* NULL: no such file */
		const char *message;
	} bad[] = {
		{NULL, "No such file"},
		{"", "empty"},
		{"hello\n", "cannot read DKIM key file"},
		{rsa_512, "512-bit RSA key"},
		{ec_p256, "EC"},
		{ed448, "Ed448"},
		{encrypted, "encrypted"},
		{rsa_damaged_exponent, "damaged RSA key"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
		 "-----END OPENSSH PRIVATE KEY-----\n", "OpenSSH"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *path = bad[i].pem ?
			write_file("bad.pem", bad[i].pem, 0600) :
			xstrdup("/nonexistent/dkim.pem");
		struct dkim_signer cfg = {.key_file = path, .selector = "s1"};
		struct dkim_signer_ctx *ctx = (void *)1;
		struct err e = ERR_INIT;
		assert_int_equal(dkim_prepare(&cfg, &ctx, &e), EX_CONFIG);
		assert_null(ctx);
		if (!strstr(err_msg(&e), path) ||
		    !strstr(err_msg(&e), bad[i].message))
			fail_msg("case %zu: %s", i, err_msg(&e));
		err_clear(&e);
		free(path);
	}
	/* A directory is not a key file. */
	struct dkim_signer cfg = {.key_file = tmpdir, .selector = "s1"};
	struct dkim_signer_ctx *ctx = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(dkim_prepare(&cfg, &ctx, &e), EX_CONFIG);
	err_clear(&e);
}

/* dkim_key_parse on exactly the bytes of a file: no NUL after them, so
 * the sanitizer catches a read past the end. */
static void test_key_parse(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		size_t len; /* 0: strlen(data) */
		const char *message; /* NULL: accepted */
		enum dkim_key_type type;
	} cases[] = {
		{rfc_rsa_pkcs1, 0, NULL, DKIM_KEY_RSA},
		{rfc_rsa_pkcs8, 0, NULL, DKIM_KEY_RSA},
		{rfc_ed25519_pkcs8, 0, NULL, DKIM_KEY_ED25519},
		{(const char *)rfc_ed25519_der, sizeof rfc_ed25519_der, NULL,
		 DKIM_KEY_ED25519},
		{(const char *)rfc_ed25519_der, sizeof rfc_ed25519_der - 1,
		 "cannot read DKIM key file", 0},
		{"", 0, "is empty", 0},
		{"\0\0\0", 3, "cannot read DKIM key file", 0},
		{rsa_512, 0, "512-bit RSA key", 0},
		{rsa_damaged_exponent, 0, "damaged RSA key", 0},
		{ec_p256, 0, "EC", 0},
		{ed448, 0, "Ed448", 0},
		{encrypted, 0, "encrypted", 0},
		{"-----BEGIN CERTIFICATE-----\nAAAA\n"
		 "-----END CERTIFICATE-----\n",
		 0, "a certificate or public key", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len
		                          : strlen(cases[i].data);
		char *copy = xmalloc(len ? len : 1);
		memcpy(copy, cases[i].data, len);
		struct dkim_key key;
		struct err e = ERR_INIT;
		int rc = dkim_key_parse(copy, len, "keys/k.pem", &key, &e);
		if (!cases[i].message) {
			if (rc != EX_OK)
				fail_msg("case %zu: %s", i, err_msg(&e));
			assert_int_equal(key.type, cases[i].type);
			assert_non_null(key.privkey);
			assert_false(key.readable_by_others);
			dkim_key_free(&key);
		} else {
			assert_int_equal(rc, EX_CONFIG);
			assert_null(key.privkey);
			if (!strstr(err_msg(&e), "keys/k.pem") ||
			    !strstr(err_msg(&e), cases[i].message))
				fail_msg("case %zu: %s", i, err_msg(&e));
		}
		err_clear(&e);
		free(copy);
	}
}

static void test_prepare_settings(void **state)
{
	(void)state;
	char *path = write_file("ed.pem", rfc_ed25519_pkcs8, 0600);
	static const struct {
		const char *selector, *domain, *canon, *headers, *identity;
		long expire;
		const char *message; /* NULL: accepted */
	} cases[] = {
		{"s1", NULL, NULL, NULL, NULL, 0, NULL},
		{"s1", "Example.ORG.", "simple", "From : To:subject", NULL, 60,
		 NULL},
		{"s1", "b\xc3\xbc" "cher.example", NULL, NULL, NULL, 0, NULL},
		{"s\xc3\xa9l", "", "", "", "", 0, NULL},
		{"s1", "example.org", NULL, NULL, "joe@mail.example.org", 0,
		 NULL},
		{NULL, NULL, NULL, NULL, NULL, 0, "dkim_selector is not set"},
		{"bad_sel", NULL, NULL, NULL, NULL, 0, "dkim_selector"},
		{"s1", "localhost", NULL, NULL, NULL, 0, "dkim_domain"},
		{"s1", "ex ample.org", NULL, NULL, NULL, 0, "dkim_domain"},
		{"s1", NULL, "relaxed/fancy", NULL, NULL, 0,
		 "dkim_canonicalization"},
		{"s1", NULL, NULL, "to:subject", NULL, 0, "must include From"},
		{"s1", NULL, NULL, "from::to", NULL, 0, "dkim_headers"},
		{"s1", NULL, NULL, "from:x y", NULL, 0, "dkim_headers"},
		{"s1", "example.org", NULL, NULL, "joe@example.net", 0,
		 "not within"},
		{"s1", NULL, NULL, NULL, "joe", 0, "no '@'"},
		{"s1", NULL, NULL, NULL, NULL, -5, "negative"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dkim_signer cfg = {
			.key_file = path,
			.selector = (char *)cases[i].selector,
			.domain = (char *)cases[i].domain,
			.canonicalization = (char *)cases[i].canon,
			.headers = (char *)cases[i].headers,
			.identity = (char *)cases[i].identity,
			.expire = cases[i].expire,
		};
		struct dkim_signer_ctx *ctx = NULL;
		struct err e = ERR_INIT;
		int rc = dkim_prepare(&cfg, &ctx, &e);
		if (!cases[i].message) {
			if (rc != EX_OK)
				fail_msg("case %zu: %s", i, err_msg(&e));
		} else {
			assert_int_equal(rc, EX_CONFIG);
			if (!strstr(err_msg(&e), cases[i].message))
				fail_msg("case %zu: %s", i, err_msg(&e));
		}
		dkim_free(ctx);
		err_clear(&e);
	}
	free(path);
}

static void test_key_permissions_warning(void **state)
{
	(void)state;
	char *path = write_file("open.pem", rfc_ed25519_pkcs8, 0644);
	struct dkim_signer cfg = {.key_file = path, .selector = "s1"};
	struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
	assert_non_null(strstr(dkim_warning(ctx, 0), "chmod 600"));
	assert_null(dkim_warning(ctx, 1));
	dkim_free(ctx);
	free(path);
}

/* Known answers: RFC 8463 appendix A. */

static void body_hash_of(struct dkim_signer_ctx *ctx, const char *body,
                         const size_t *cuts, size_t ncuts)
{
	size_t at = 0, len = strlen(body);
	for (size_t i = 0; i < ncuts; i++) {
		dkim_body_update(ctx, body + at, cuts[i] - at);
		at = cuts[i];
	}
	dkim_body_update(ctx, body + at, len - at);
}

static void test_empty_body_hash(void **state)
{
	(void)state;
	char *path = write_file("ed.pem", rfc_ed25519_pkcs8, 0600);
	struct dkim_signer cfg = {.key_file = path, .selector = "s1",
	                          .canonicalization = "simple/simple"};
	struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
	/* SHA-256("\r\n") and SHA-256("") (RFC 6376 3.4.3, 3.4.4) */
	assert_string_equal(dkim_body_hash(ctx),
	                    "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	dkim_free(ctx);
	cfg.canonicalization = "simple/relaxed";
	ctx = prepare_ok(&cfg);
	assert_string_equal(dkim_body_hash(ctx),
	                    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* reset starts over */
	dkim_body_reset(ctx);
	body_hash_of(ctx, rfc_body, NULL, 0);
	assert_string_equal(dkim_body_hash(ctx), RFC_BH);
	dkim_free(ctx);
	free(path);
}

static void test_body_hash_every_split(void **state)
{
	(void)state;
	char *path = write_file("ed.pem", rfc_ed25519_pkcs8, 0600);
	struct dkim_signer cfg = {.key_file = path, .selector = "s1"};
	static const char awkward[] =
		"a \t b\t\r\n \r\n\tx  y \r\n\r\n \t\r\n\r\n";
	const char *bodies[] = {rfc_body, awkward};
	for (int c = 0; c < 2; c++) {
		cfg.canonicalization = c ? "relaxed/simple" : "relaxed/relaxed";
		for (size_t b = 0; b < 2; b++) {
			struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
			body_hash_of(ctx, bodies[b], NULL, 0);
			char *whole = xstrdup(dkim_body_hash(ctx));
			if (b == 0 && c == 0)
				assert_string_equal(whole, RFC_BH);
			for (size_t i = 0; i <= strlen(bodies[b]); i++) {
				dkim_body_reset(ctx);
				size_t cut = i;
				body_hash_of(ctx, bodies[b], &cut, 1);
				assert_string_equal(dkim_body_hash(ctx), whole);
			}
			free(whole);
			dkim_free(ctx);
		}
	}
	free(path);
}

/* Fold b64 at the widths the RFC used and append it. */
static void fold_like_rfc(const char *b64, const size_t *widths, size_t n,
                          struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add_str(out, "\r\n ");
		buf_add(out, b64, widths[i]);
		b64 += widths[i];
	}
	assert_int_equal(*b64, '\0');
}

static void test_rfc8463_known_answers(void **state)
{
	(void)state;
	static const char *const h[] = {"from", "to", "subject", "date",
	                                "message-id", "from", "subject",
	                                "date"};
	static const size_t ed_widths[] = {56, 32};
	static const size_t rsa_widths[] = {56, 58, 58};
	static const struct {
		const char *pem;
		const char *algorithm, *selector, *h_folded, *expected;
		const size_t *widths;
		size_t nwidths;
	} sigs[] = {
		{rfc_rsa_pkcs1, "rsa-sha256", "test",
		 " h=from : to : subject :\r\n date : message-id : from : "
		 "subject : date;", rfc_rsa_value, rsa_widths, 3},
		{rfc_ed25519_pkcs8, "ed25519-sha256", "brisbane",
		 " h=from : to :\r\n subject : date : message-id : from : "
		 "subject : date;", rfc_ed25519_value, ed_widths, 2},
	};
	struct buf text = BUF_INIT;
	buf_add_str(&text, rfc_headers);
	buf_add_str(&text, "\r\n");
	buf_add_str(&text, rfc_body);
	struct message *m = read_message(buf_str(&text), NULL, NULL);
	struct buf expected_message = BUF_INIT;
	for (size_t i = 0; i < 2; i++) {
		char *path = write_file("rfc.pem", sigs[i].pem, 0600);
		struct dkim_signer cfg = {.key_file = path,
		                          .selector = (char *)sigs[i].selector};
		struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
		struct err e = ERR_INIT;
		assert_int_equal(msg_body_foreach(m, dkim_body_update, ctx, &e),
		                 EX_OK);
		assert_string_equal(dkim_body_hash(ctx), RFC_BH);

		struct buf value = BUF_INIT;
		buf_printf(&value, " v=1; a=%s; c=relaxed/relaxed;\r\n"
		           " d=football.example.com; i=@football.example.com;"
		           "\r\n q=dns/txt; s=%s; t=%d;%s\r\n bh=%s;\r\n b=",
		           sigs[i].algorithm, sigs[i].selector, RFC_T,
		           sigs[i].h_folded, dkim_body_hash(ctx));
		struct buf b64 = BUF_INIT;
		assert_int_equal(dkim_sign_headers(ctx, m, h, 8,
		                                   buf_str(&value), &b64, &e),
		                 EX_OK);
		fold_like_rfc(buf_str(&b64), sigs[i].widths, sigs[i].nwidths,
		              &value);
		/* byte for byte the value printed in RFC 8463 A.3 */
		assert_string_equal(buf_str(&value), sigs[i].expected);
		msg_prepend_header(m, "DKIM-Signature", buf_str(&value));
		buf_free(&value);
		buf_free(&b64);
		dkim_free(ctx);
		free(path);
	}
	/* The whole message as printed in A.3: Ed25519 above RSA. */
	buf_printf(&expected_message, "DKIM-Signature:%s\r\nDKIM-Signature:"
	           "%s\r\n%s\r\n%s", rfc_ed25519_value, rfc_rsa_value,
	           rfc_headers, rfc_body);
	struct buf written = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(msg_write(m, false, write_to_buf, &written, &e),
	                 EX_OK);
	assert_string_equal(buf_str(&written), buf_str(&expected_message));
	buf_free(&written);
	buf_free(&expected_message);
	buf_free(&text);
	msg_free(m);
}

/* dkim_sign() end to end. */

/* Verify the DKIM-Signature value with GnuTLS, given the canonical header
 * block the signature must cover (written out by the test). */
static void verify_signature(const char *pem, const char *value,
                             const char *canonical_headers)
{
	/* The signature header as a relaxed verifier hashes it: b= emptied,
	 * our folding ("\r\n ") unfolded, no space after the colon. */
	const char *b = strstr(value, "\r\n b=");
	assert_non_null(b);
	struct buf data = BUF_INIT, sig64 = BUF_INIT;
	buf_add_str(&data, canonical_headers);
	buf_add_str(&data, "dkim-signature:");
	for (const char *p = value + 1; p < b + 5; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		buf_add_char(&data, *p);
	}
	for (const char *p = b + 5; *p; p++)
		if (*p != '\r' && *p != '\n' && *p != ' ')
			buf_add_char(&sig64, *p);

	gnutls_x509_privkey_t x;
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	gnutls_datum_t pem_d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	assert_int_equal(gnutls_x509_privkey_init(&x), 0);
	assert_int_equal(gnutls_x509_privkey_import2(x, &pem_d,
	                 GNUTLS_X509_FMT_PEM, NULL, 0), 0);
	assert_int_equal(gnutls_privkey_init(&priv), 0);
	assert_int_equal(gnutls_privkey_import_x509(priv, x,
	                 GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_privkey(pub, priv, 0, 0), 0);

	gnutls_datum_t in64 = {(unsigned char *)sig64.data,
	                       (unsigned)sig64.len};
	gnutls_datum_t sig;
	assert_int_equal(gnutls_base64_decode2(&in64, &sig), 0);
	unsigned char digest[32];
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data,
	                                  data.len, digest), 0);
	int ret;
	if (strstr(value, "a=rsa-sha256")) {
		gnutls_datum_t d = {(unsigned char *)data.data,
		                    (unsigned)data.len};
		ret = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_RSA_SHA256,
		                                 0, &d, &sig);
	} else {
		gnutls_datum_t d = {digest, 32};
		ret = gnutls_pubkey_verify_data2(
			pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &sig);
	}
	if (ret < 0)
		fail_msg("signature does not verify: %s\n%s",
		         gnutls_strerror(ret), data.data);
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	buf_free(&data);
	buf_free(&sig64);
}

static void test_sign_rfc_message(void **state)
{
	(void)state;
	/* Default headers in their list order: From (oversigned), Subject,
	 * Date, To, Message-ID. */
	static const char canonical[] =
		"from:Joe SixPack <joe@football.example.com>\r\n"
		"subject:Is dinner ready?\r\n"
		"date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
		"to:Suzie Q <suzie@shopping.example.net>\r\n"
		"message-id:<20030712040037.46341.5F8J@football.example.com>"
		"\r\n";
	const char *pems[] = {rfc_rsa_pkcs8, rfc_ed25519_pkcs8};
	for (int k = 0; k < 2; k++) {
		char *path = write_file("k.pem", pems[k], 0600);
		struct dkim_signer cfg = {.key_file = path,
		                          .selector = "brisbane"};
		struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
		struct buf text = BUF_INIT;
		buf_printf(&text, "%s\r\n%s", rfc_headers, rfc_body);
		struct message *m = read_message(buf_str(&text),
		                                 dkim_body_update, ctx);
		struct err e = ERR_INIT;
		assert_int_equal(dkim_sign(ctx, m, RFC_T, &e), EX_OK);
		const char *v = msg_header_raw_value(m, 0);
		assert_string_equal(msg_header_name(m, 0), "DKIM-Signature");
		char head[160];
		snprintf(head, sizeof head, " v=1; a=%s; c=relaxed/relaxed; "
		         "d=football.example.com; s=brisbane; t=%d;",
		         k ? "ed25519-sha256" : "rsa-sha256", RFC_T);
		struct buf unfolded = BUF_INIT;
		for (const char *p = v; *p; p++)
			if (*p != '\r' && *p != '\n')
				buf_add_char(&unfolded, *p);
		assert_memory_equal(unfolded.data, head, strlen(head));
		assert_tag(v, "h", "from:from:subject:date:to:message-id");
		assert_tag(v, "bh", RFC_BH);
		buf_free(&unfolded);
		assert_null(tag_value(v, "x"));
		assert_null(tag_value(v, "i"));
		/* every line short */
		for (const char *line = v; line;) {
			const char *eol = strstr(line, "\r\n");
			size_t len = eol ? (size_t)(eol - line) : strlen(line);
			assert_true(len <= DKIM_FOLD_WIDTH);
			line = eol ? eol + 2 : NULL;
		}
		verify_signature(pems[k], v, canonical);
		/* No alignment question: d= came from From. */
		assert_null(dkim_warning(ctx, 1));
		buf_free(&text);
		msg_free(m);
		dkim_free(ctx);
		free(path);
	}
}

static struct message *sign_message(const char *pem,
                                    const struct dkim_signer *base,
                                    const char *text, time_t now,
                                    struct dkim_signer_ctx **ctx_out,
                                    int expect_rc, struct err *e)
{
	char *path = write_file("s.pem", pem, 0600);
	struct dkim_signer cfg = *base;
	cfg.key_file = path;
	struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
	struct message *m = read_message(text, dkim_body_update, ctx);
	int rc = dkim_sign(ctx, m, now, e);
	if (rc != expect_rc)
		fail_msg("dkim_sign returned %d: %s", rc, err_msg(e));
	free(path);
	*ctx_out = ctx;
	return m;
}

static void test_sign_options(void **state)
{
	(void)state;
	/* simple/simple, i=, x=, configured headers with repeats */
	static const char text[] =
		"From: Joe <joe@Example.ORG>\r\n"
		"To: a@example.net\r\n"
		"X-Tag: one\r\n"
		"To: b@example.net\r\n"
		"X-Tag:  two \r\n"
		"Subject: hi\r\n"
		"\r\n"
		"body \r\n";
	struct dkim_signer cfg = {.selector = "sel",
	                          .canonicalization = "simple/simple",
	                          .headers = "From:TO:x-tag:Reply-To",
	                          .identity = "joe;1@mail.example.org",
	                          .expire = 3600};
	struct dkim_signer_ctx *ctx;
	struct err e = ERR_INIT;
	struct message *m = sign_message(rfc_ed25519_pkcs8, &cfg, text, 1000,
	                                 &ctx, EX_OK, &e);
	const char *v = msg_header_raw_value(m, 0);
	assert_tag(v, "c", "simple/simple");
	assert_tag(v, "d", "example.org");
	assert_tag(v, "t", "1000");
	assert_tag(v, "x", "4600");
	assert_tag(v, "i", "joe=3B1@mail.example.org");
	/* Reply-To is absent: not listed; the others bottom-up, From +1 */
	assert_tag(v, "h", "from:from:to:to:x-tag:x-tag");
	msg_free(m);
	dkim_free(ctx);
}

static void test_sign_simple_verifies(void **state)
{
	(void)state;
	/* Check the simple header form against a hand-written block. */
	static const char text[] =
		"From: Joe <joe@example.org>\r\n"
		"To: a@example.net\r\n"
		"To: b@example.net,\r\n\tc@example.net  \r\n"
		"\r\n"
		"x\r\n";
	static const char canonical_simple[] =
		"From: Joe <joe@example.org>\r\n"
		"To: b@example.net,\r\n\tc@example.net  \r\n"
		"To: a@example.net\r\n";
	struct dkim_signer cfg = {.selector = "sel",
	                          .canonicalization = "simple/relaxed",
	                          .headers = "from:to"};
	struct dkim_signer_ctx *ctx;
	struct err e = ERR_INIT;
	struct message *m = sign_message(rfc_rsa_pkcs1, &cfg, text, 5, &ctx,
	                                 EX_OK, &e);
	const char *v = msg_header_raw_value(m, 0);
	assert_tag(v, "h", "from:from:to:to");
	/* A simple verifier hashes the signature field verbatim up to b=,
	 * after the bottom-up header fields, also verbatim. */
	const char *b = strstr(v, "\r\n b=");
	struct buf data = BUF_INIT;
	buf_add_str(&data, canonical_simple);
	buf_add_str(&data, "DKIM-Signature:");
	buf_add(&data, v, (size_t)(b + 5 - v));
	struct buf got = BUF_INIT;
	for (const char *p = b + 5; *p; p++)
		if (*p != '\r' && *p != '\n' && *p != ' ')
			buf_add_char(&got, *p);
	/* RSA PKCS#1 v1.5 is deterministic: signing the hand-written block
	 * must give the same b=. */
	unsigned char digest[32];
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data,
	                                  data.len, digest), 0);
	gnutls_x509_privkey_t x;
	gnutls_privkey_t priv;
	gnutls_datum_t pem_d = {(unsigned char *)rfc_rsa_pkcs1,
	                        (unsigned)strlen(rfc_rsa_pkcs1)};
	assert_int_equal(gnutls_x509_privkey_init(&x), 0);
	assert_int_equal(gnutls_x509_privkey_import2(x, &pem_d,
	                 GNUTLS_X509_FMT_PEM, NULL, 0), 0);
	assert_int_equal(gnutls_privkey_init(&priv), 0);
	assert_int_equal(gnutls_privkey_import_x509(priv, x,
	                 GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	gnutls_datum_t d = {digest, 32}, sig;
	assert_int_equal(gnutls_privkey_sign_hash2(priv, GNUTLS_SIGN_RSA_SHA256,
	                                           0, &d, &sig), 0);
	struct buf expect = BUF_INIT;
	base64_encode(sig.data, sig.size, &expect);
	assert_string_equal(buf_str(&got), buf_str(&expect));
	gnutls_free(sig.data);
	gnutls_privkey_deinit(priv);
	buf_free(&expect);
	buf_free(&got);
	buf_free(&data);
	msg_free(m);
	dkim_free(ctx);
}

static void test_sign_from_problems(void **state)
{
	(void)state;
	struct dkim_signer cfg = {.selector = "sel"};
	static const struct {
		const char *text;
		int rc;
		const char *message;
	} cases[] = {
		{"To: a@example.net\r\n\r\nx\r\n", EX_DATAERR, "no From"},
		{"From: a@example.org\r\nFrom: b@example.net\r\n\r\nx\r\n",
		 EX_DATAERR, "2 From"},
		{"From: undisclosed:;\r\n\r\nx\r\n", EX_DATAERR, "no address"},
		{"From: joe\r\n\r\nx\r\n", EX_DATAERR, "no domain"},
		{"From: joe@[192.0.2.1]\r\n\r\nx\r\n", EX_DATAERR, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dkim_signer_ctx *ctx;
		struct err e = ERR_INIT;
		struct message *m = sign_message(rfc_ed25519_pkcs8, &cfg,
		                                 cases[i].text, 1, &ctx,
		                                 cases[i].rc, &e);
		if (!strstr(err_msg(&e), cases[i].message))
			fail_msg("case %zu: %s", i, err_msg(&e));
		assert_null(top_value(m, "DKIM-Signature"));
		err_clear(&e);
		msg_free(m);
		dkim_free(ctx);
	}
	/* An IDN From domain becomes an A-label d=. */
	struct dkim_signer_ctx *ctx;
	struct err e = ERR_INIT;
	struct message *m = sign_message(rfc_ed25519_pkcs8, &cfg,
		"From: J <j@B\xc3\xbc" "cher.example>\r\n\r\nx\r\n", 1, &ctx,
		EX_OK, &e);
	assert_non_null(strstr(msg_header_raw_value(m, 0),
	                       " d=xn--bcher-kva.example;"));
	msg_free(m);
	dkim_free(ctx);
	/* i= outside the From-derived d= */
	cfg.identity = "@other.example";
	m = sign_message(rfc_ed25519_pkcs8, &cfg,
	                 "From: a@example.org\r\n\r\nx\r\n", 1, &ctx, EX_CONFIG,
	                 &e);
	err_clear(&e);
	msg_free(m);
	dkim_free(ctx);
}

static void test_alignment_warning(void **state)
{
	(void)state;
	static const struct {
		const char *domain, *from;
		bool warn;
	} cases[] = {
		{"example.org", "a@example.org", false},
		{"example.org", "a@mail.example.org", false},
		{"mail.example.org", "a@example.org", false},
		{"example.net", "a@example.org", true},
		{"badexample.org", "a@example.org", true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dkim_signer cfg = {.selector = "sel",
		                          .domain = (char *)cases[i].domain};
		struct buf text = BUF_INIT;
		buf_printf(&text, "From: %s\r\n\r\nx\r\n", cases[i].from);
		struct dkim_signer_ctx *ctx;
		struct err e = ERR_INIT;
		struct message *m = sign_message(rfc_ed25519_pkcs8, &cfg,
		                                 buf_str(&text), 1, &ctx,
		                                 EX_OK, &e);
		const char *w = dkim_warning(ctx, 0);
		if (cases[i].warn) {
			assert_non_null(w);
			assert_non_null(strstr(w, "does not align"));
		} else {
			assert_null(w);
		}
		buf_free(&text);
		msg_free(m);
		dkim_free(ctx);
	}
}

static void test_fold_long_lists(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	buf_add_str(&text, "From: a@example.org\r\n");
	for (int i = 0; i < 60; i++)
		buf_printf(&text, "X-A-Rather-Long-Field-Name-%d: v\r\n",
		           i % 3);
	buf_add_str(&text, "\r\nx\r\n");
	struct dkim_signer cfg = {
		.selector = "a-rather-long-selector-name.with.labels",
		.domain = "a-long-domain-name-for-folding.example.org",
		.identity = "someone-with-a-long-name@a-long-domain-name-for-"
		            "folding.example.org",
		.headers = "from:x-a-rather-long-field-name-0:"
		           "x-a-rather-long-field-name-1:"
		           "x-a-rather-long-field-name-2"};
	struct dkim_signer_ctx *ctx;
	struct err e = ERR_INIT;
	struct message *m = sign_message(rfc_rsa_pkcs8, &cfg, buf_str(&text),
	                                 1, &ctx, EX_OK, &e);
	const char *v = msg_header_raw_value(m, 0);
	size_t lines = 0;
	for (const char *line = v; line; lines++) {
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > DKIM_FOLD_WIDTH)
			fail_msg("line of %zu: %.*s", len, (int)len, line);
		if (lines)
			assert_int_equal(line[0], ' ');
		line = eol ? eol + 2 : NULL;
	}
	assert_true(lines > 20);
	/* 60 instances + the extra From */
	size_t names = 0;
	for (const char *p = strstr(v, "h="); *p != ';'; p++)
		names += *p == ':';
	assert_int_equal(names + 1, 62);
	buf_free(&text);
	msg_free(m);
	dkim_free(ctx);
}

static void test_update_after_finish(void **state)
{
	(void)state;
	char *path = write_file("ed.pem", rfc_ed25519_pkcs8, 0600);
	struct dkim_signer cfg = {.key_file = path, .selector = "s"};
	struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
	struct message *m = read_message("From: a@example.org\r\n\r\nx\r\n",
	                                 dkim_body_update, ctx);
	struct err e = ERR_INIT;
	assert_int_equal(dkim_sign(ctx, m, 1, &e), EX_OK);
	/* a second signature reuses the finished body hash */
	assert_int_equal(dkim_sign(ctx, m, 1, &e), EX_OK);
	dkim_body_update(ctx, "more", 4);
	assert_int_equal(dkim_sign(ctx, m, 1, &e), EX_SOFTWARE);
	err_clear(&e);
	dkim_body_reset(ctx);
	assert_int_equal(msg_body_foreach(m, dkim_body_update, ctx, &e),
	                 EX_OK);
	assert_int_equal(dkim_sign(ctx, m, 1, &e), EX_OK);
	msg_free(m);
	dkim_free(ctx);
	free(path);
}

/* Key generation and records. */

static void test_dns_record_rfc(void **state)
{
	(void)state;
	char *ed = write_file("ed.pem", rfc_ed25519_pkcs8, 0600);
	char *rsa = write_file("rsa.pem", rfc_rsa_pkcs1, 0600);
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	/* RFC 8463 A.2 */
	assert_int_equal(dkim_dns_record(ed, "brisbane",
	                                 "football.example.com.", &out, &e),
	                 EX_OK);
	assert_string_equal(buf_str(&out),
		"brisbane._domainkey.football.example.com. IN TXT ( "
		"\"v=DKIM1; k=ed25519; "
		"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\" )\n");
	buf_reset(&out);
	assert_int_equal(dkim_dns_record(rsa, "test", "football.example.com",
	                                 &out, &e), EX_OK);
	assert_string_equal(buf_str(&out),
		"test._domainkey.football.example.com. IN TXT ( "
		"\"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkH"
		"lOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/"
		"byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hs"
		"tT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
		"\" )\n");
	assert_int_equal(dkim_dns_record(rsa, "bad_sel", "example.org", &out,
	                                 &e), EX_USAGE);
	assert_int_equal(dkim_dns_record(rsa, "s", "localhost", &out, &e),
	                 EX_USAGE);
	assert_int_equal(dkim_dns_record("/nonexistent", "s", "example.org",
	                                 &out, &e), EX_CONFIG);
	err_clear(&e);
	buf_free(&out);
	free(ed);
	free(rsa);
}

static void test_keygen(void **state)
{
	(void)state;
	static const struct {
		const char *type;
		unsigned bits;
		const char *k;
	} kinds[] = {{"ed25519", 0, "k=ed25519"}, {"rsa", 1024, "k=rsa"},
	             {"rsa", 4096, "k=rsa"}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/new-%zu.pem", tmpdir, i);
		struct err e = ERR_INIT;
		int rc = dkim_keygen(kinds[i].type, kinds[i].bits, path.data,
		                     &e);
		if (rc != EX_OK)
			fail_msg("keygen: %s", err_msg(&e));
		struct stat st;
		assert_int_equal(stat(path.data, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* never overwrite */
		assert_int_equal(dkim_keygen(kinds[i].type, kinds[i].bits,
		                             path.data, &e), EX_USAGE);
		assert_non_null(strstr(err_msg(&e), "already exists"));
		err_clear(&e);
		struct dkim_signer cfg = {.key_file = path.data,
		                          .selector = "s"};
		struct dkim_signer_ctx *ctx = prepare_ok(&cfg);
		dkim_free(ctx);
		struct buf rec = BUF_INIT;
		assert_int_equal(dkim_dns_record(path.data, "s", "example.org",
		                                 &rec, &e), EX_OK);
		assert_non_null(strstr(buf_str(&rec), kinds[i].k));
		/* character-strings of at most 255 octets that join up */
		struct buf joined = BUF_INIT;
		for (const char *q = strchr(rec.data, '"'); q;) {
			const char *end = strchr(q + 1, '"');
			assert_true(end - q - 1 <= DKIM_TXT_STRING_MAX);
			buf_add(&joined, q + 1, (size_t)(end - q - 1));
			q = strchr(end + 1, '"');
		}
		assert_memory_equal(joined.data, "v=DKIM1; ", 9);
		if (kinds[i].bits == 4096)
			assert_true(joined.len > 2 * DKIM_TXT_STRING_MAX);
		buf_free(&joined);
		buf_free(&rec);
		buf_free(&path);
	}
	struct err e = ERR_INIT;
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/never.pem", tmpdir);
	assert_int_equal(dkim_keygen("dsa", 0, path.data, &e), EX_USAGE);
	assert_int_equal(dkim_keygen("rsa", 512, path.data, &e), EX_USAGE);
	assert_int_equal(dkim_keygen("rsa", 100000, path.data, &e), EX_USAGE);
	assert_int_equal(dkim_keygen("ed25519", 256, path.data, &e),
	                 EX_USAGE);
	assert_int_equal(access(path.data, F_OK), -1);
	assert_int_equal(dkim_keygen("ed25519", 0, "/nonexistent/dir/k.pem",
	                             &e), EX_IOERR);
	err_clear(&e);
	buf_free(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_canon_table),
		cmocka_unit_test(test_body_canon_random),
		cmocka_unit_test(test_body_canon_large),
		cmocka_unit_test(test_header_canon),
		cmocka_unit_test(test_canon_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_prepare_keys),
		cmocka_unit_test(test_prepare_bad_keys),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_prepare_settings),
		cmocka_unit_test(test_key_permissions_warning),
		cmocka_unit_test(test_empty_body_hash),
		cmocka_unit_test(test_body_hash_every_split),
		cmocka_unit_test(test_rfc8463_known_answers),
		cmocka_unit_test(test_sign_rfc_message),
		cmocka_unit_test(test_sign_options),
		cmocka_unit_test(test_sign_simple_verifies),
		cmocka_unit_test(test_sign_from_problems),
		cmocka_unit_test(test_alignment_warning),
		cmocka_unit_test(test_fold_long_lists),
		cmocka_unit_test(test_update_after_finish),
		cmocka_unit_test(test_dns_record_rfc),
		cmocka_unit_test(test_keygen),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
