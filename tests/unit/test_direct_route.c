/* test_direct_route.c - the pure part of direct delivery's routing: the
 * order in which MX hosts are tried (RFC 5321 section 5.1). The DNS,
 * MTA-STS and DANE decisions are exercised end to end by
 * tests/direct.bats against a DNS server of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "direct_route.h"

static void fill(struct dns_record *mx, const uint16_t *prefs, size_t n)
{
	static char names[16][8];
	for (size_t i = 0; i < n; i++) {
		memset(&mx[i], 0, sizeof mx[i]);
		mx[i].type = DNS_T_MX;
		mx[i].preference = prefs[i];
		names[i][0] = (char)('a' + i);
		names[i][1] = '\0';
		mx[i].name = names[i];
	}
}

/* Preferences come out ascending, each record exactly once. */
static void test_order_by_preference(void **state)
{
	(void)state;
	static const uint16_t prefs[] = {30, 10, 20, 10, 0, 65535, 20};
	const size_t n = sizeof prefs / sizeof prefs[0];
	for (uint64_t seed = 0; seed < 200; seed++) {
		struct dns_record mx[16];
		fill(mx, prefs, n);
		direct_route_order(mx, n, seed);
		bool seen[16] = {false};
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				assert_true(mx[i - 1].preference <=
				            mx[i].preference);
			size_t which = (size_t)(mx[i].name[0] - 'a');
			assert_false(seen[which]);
			seen[which] = true;
			assert_int_equal(mx[i].preference, prefs[which]);
		}
	}
}

/* Equal preferences are shuffled: over many seeds each of three equal
 * hosts comes first sometimes, and roughly a third of the time. */
static void test_equal_preferences_are_random(void **state)
{
	(void)state;
	static const uint16_t prefs[] = {10, 10, 10, 20};
	unsigned first[3] = {0};
	const unsigned runs = 3000;
	for (uint64_t seed = 1; seed <= runs; seed++) {
		struct dns_record mx[4];
		fill(mx, prefs, 4);
		direct_route_order(mx, 4, seed * 0x9e3779b97f4a7c15ULL);
		assert_int_equal(mx[3].name[0], 'd'); /* 20 always last */
		first[mx[0].name[0] - 'a']++;
	}
	for (int i = 0; i < 3; i++)
		if (first[i] < runs / 4 || first[i] > runs / 2)
			fail_msg("host %c first %u times of %u", 'a' + i, first[i],
			         runs);
	/* the same seed, the same order */
	struct dns_record x[4], y[4];
	fill(x, prefs, 4);
	fill(y, prefs, 4);
	direct_route_order(x, 4, 42);
	direct_route_order(y, 4, 42);
	for (int i = 0; i < 4; i++)
		assert_string_equal(x[i].name, y[i].name);
}

static void test_empty_and_single(void **state)
{
	(void)state;
	direct_route_order(NULL, 0, 1);
	static const uint16_t prefs[] = {5};
	struct dns_record mx[1];
	fill(mx, prefs, 1);
	direct_route_order(mx, 1, 7);
	assert_string_equal(mx[0].name, "a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_by_preference),
		cmocka_unit_test(test_equal_preferences_are_random),
		cmocka_unit_test(test_empty_and_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
