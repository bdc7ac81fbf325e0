/* test_base64.c - the one base64 codec: RFC 4648 10 known answers, round
 * trips across GnuTLS's piece size, and the strict decoder's refusals (what
 * SASL relies on: a 334 challenge that is not canonical base64 is an
 * error, never guessed at). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10 */
	static const char *const vec[][2] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT;
		base64_encode(vec[i][0], strlen(vec[i][0]), &enc);
		assert_string_equal(buf_str(&enc), vec[i][1]);
		assert_int_equal(
		        base64_decode(vec[i][1], strlen(vec[i][1]), &dec), 0);
		assert_int_equal(dec.len, strlen(vec[i][0]));
		assert_memory_equal(buf_str(&dec), vec[i][0], dec.len);
		buf_free(&enc);
		buf_free(&dec);
	}
}

/* Both directions append, and leave a C string even when they add
 * nothing. */
static void test_appends(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	base64_encode("", 0, &b);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_add_str(&b, "AUTH PLAIN ");
	base64_encode("\0u\0p", 4, &b);
	assert_string_equal(buf_str(&b), "AUTH PLAIN AHUAcA==");
	struct buf d = BUF_INIT;
	assert_int_equal(base64_decode("", 0, &d), 0);
	assert_non_null(d.data);
	assert_string_equal(d.data, "");
	buf_add_str(&d, "x");
	assert_int_equal(base64_decode("eXo=", 4, &d), 0);
	assert_string_equal(buf_str(&d), "xyz");
	buf_free(&b);
	buf_free(&d);
}

/* Every byte value, every length up to a few pieces: the text is the
 * length the RFC says, one line, and decodes back. */
static void test_binary_roundtrip(void **state)
{
	(void)state;
	/* past the 3 * 16384-byte piece base64.c hands to GnuTLS */
	size_t max = 3 * 16384 * 2 + 7;
	unsigned char *data = malloc(max);
	assert_non_null(data);
	for (size_t i = 0; i < max; i++)
		data[i] = (unsigned char)(i * 7 + i / 256);
	size_t lengths[] = {0, 1, 2, 3, 37, 255, 256, 3 * 16384 - 1,
	                    3 * 16384, 3 * 16384 + 1, 3 * 16384 + 2, max};
	for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
		size_t n = lengths[k];
		struct buf enc = BUF_INIT, dec = BUF_INIT;
		base64_encode(data, n, &enc);
		assert_int_equal(enc.len, (n + 2) / 3 * 4);
		assert_null(memchr(buf_str(&enc), '\n', enc.len));
		/* padding only at the very end */
		const char *eq = memchr(buf_str(&enc), '=', enc.len);
		assert_true(eq == NULL || eq >= enc.data + enc.len - 2);
		assert_int_equal(base64_decode(enc.data, enc.len, &dec), 0);
		assert_int_equal(dec.len, n);
		if (n)
			assert_memory_equal(dec.data, data, n);
		buf_free(&enc);
		buf_free(&dec);
	}
	free(data);
}

static void test_rejects_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zg=",      /* length not a multiple of 4 */
		"Zg",       /* no padding */
		"Z===",     /* too much padding */
		"====",     /* nothing but padding */
		"Zg==Zg==", /* data after padding */
		"Zm9v\n",   /* line break (GnuTLS alone would drop it) */
		"Zm9v\r\nZm9v", /* CRLF inside */
		"Zm 9",     /* space (GnuTLS alone would skip it) */
		"Zm9\t",    /* tab */
		"Zm9*",     /* outside the alphabet */
		"Zm9-",     /* the URL-safe alphabet is another encoding */
		"=Zm9",     /* padding first */
		"Zh==",     /* non-zero padding bits ("Zg==" is canonical) */
		"Zm9=",     /* non-zero padding bits ("Zm8=" is canonical) */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf dec = BUF_INIT;
		buf_add_str(&dec, "keep");
		assert_int_equal(
		        base64_decode(bad[i], strlen(bad[i]), &dec), -1);
		/* what was there before is kept, nothing half-decoded */
		assert_string_equal(buf_str(&dec), "keep");
		assert_int_equal(dec.len, 4);
		buf_free(&dec);
	}
	/* A NUL is outside the alphabet too. */
	struct buf dec = BUF_INIT;
	assert_int_equal(base64_decode("Zm\0v", 4, &dec), -1);
	assert_int_equal(dec.len, 0);
	buf_free(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_binary_roundtrip),
		cmocka_unit_test(test_rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
