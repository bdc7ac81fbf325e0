/* test_utf8.c - strict UTF-8 (RFC 3629): the sequence reader sanitize.c
 * uses and the whole-text check agree on every short sequence, and both
 * refuse overlong forms, surrogates and code points past U+10FFFF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

static void test_sequence_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t avail;
		size_t len;   /* 0: not a valid sequence */
		uint32_t cp;
	} cases[] = {
		{"A", 1, 1, 0x41},
		{"\x00", 1, 1, 0},
		{"\x7f", 1, 1, 0x7f},
		{"\xc2\x80", 2, 2, 0x80},         /* smallest 2-octet */
		{"\xc3\xa9xyz", 5, 2, 0xe9},       /* stops after the char */
		{"\xdf\xbf", 2, 2, 0x7ff},
		{"\xe0\xa0\x80", 3, 3, 0x800},
		{"\xef\xbf\xbf", 3, 3, 0xffff},
		{"\xf0\x90\x80\x80", 4, 4, 0x10000},
		{"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff}, /* largest */
		{"\xc0\xaf", 2, 0, 0},             /* overlong '/' */
		{"\xc1\xbf", 2, 0, 0},             /* overlong */
		{"\xe0\x80\xaf", 3, 0, 0},         /* overlong */
		{"\xf0\x80\x80\xaf", 4, 0, 0},     /* overlong */
		{"\xed\xa0\x80", 3, 0, 0},         /* surrogate U+D800 */
		{"\xed\xbf\xbf", 3, 0, 0},         /* surrogate U+DFFF */
		{"\xf4\x90\x80\x80", 4, 0, 0},     /* U+110000 */
		{"\xf5\x80\x80\x80", 4, 0, 0},     /* no such lead */
		{"\xff", 1, 0, 0},
		{"\x80", 1, 0, 0},                 /* lone continuation */
		{"\xe2\x82", 2, 0, 0},             /* cut short */
		{"\xe2\x82\xac", 2, 0, 0},         /* cut short by avail */
		{"\xe2\x41\xac", 3, 0, 0},         /* not a continuation */
		{"", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint32_t cp = 0xdeadbeef;
		size_t len = utf8_sequence_length(cases[i].bytes,
		                                  cases[i].avail, &cp);
		if (len != cases[i].len)
			fail_msg("case %zu: length %zu, expected %zu", i, len,
			         cases[i].len);
		if (len)
			assert_int_equal(cp, cases[i].cp);
		else
			assert_int_equal(cp, 0xdeadbeef);
	}
}

/* For every text of up to three octets (and every four-octet one with a
 * lead from F0 to F7 and the others from a sample), reading it sequence by
 * sequence and checking it whole agree. */
static void check_agree(const unsigned char *s, size_t n)
{
	size_t at = 0, len;
	uint32_t cp;
	while (at < n &&
	       (len = utf8_sequence_length((const char *)s + at, n - at,
	                                   &cp)) > 0)
		at += len;
	if ((at == n) != utf8_is_valid((const char *)s, n))
		fail_msg("%02x %02x %02x %02x (%zu): read %zu of %zu octets, "
		         "the whole check says %s", s[0], n > 1 ? s[1] : 0,
		         n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, n, at, n,
		         at == n ? "invalid" : "valid");
}

static void test_agrees_with_whole_check(void **state)
{
	(void)state;
	unsigned char s[4];
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		check_agree(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			check_agree(s, 2);
			for (unsigned c = 0x70; c < 0xd0; c++) {
				s[2] = (unsigned char)c;
				check_agree(s, 3);
			}
		}
	}
	static const unsigned char sample[] = {0x41, 0x7f, 0x80, 0x8f, 0x90,
	                                       0x9f, 0xa0, 0xbf, 0xc0};
	for (unsigned a = 0xf0; a <= 0xf7; a++)
		for (size_t b = 0; b < sizeof sample; b++)
			for (size_t c = 0; c < sizeof sample; c++)
				for (size_t d = 0; d < sizeof sample; d++) {
					s[0] = (unsigned char)a;
					s[1] = sample[b];
					s[2] = sample[c];
					s[3] = sample[d];
					check_agree(s, 4);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence_vectors),
		cmocka_unit_test(test_agrees_with_whole_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
