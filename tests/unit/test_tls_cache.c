/* test_tls_cache.c - the TLS session cache's pure parts: keys (every
 * identity field changes the key, the same identity gives the same key),
 * file names, and the file format (round trip, refusals, expiry); and
 * tls_cache_store's expiry, which never passes the chain's notAfter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "tls_cache.h"
#include "util.h"

static const struct tls_cache_identity base = {
	.host = "smtp.example.com",
	.port = 587,
	.socket = NULL,
	.server_name = "smtp.example.com",
	.starttls = true,
	.certcheck = true,
	.fingerprint = NULL,
	.trust_file = "/etc/ssl/ca.pem",
	.trust_digest = "aa",
	.crl_file = NULL,
	.crl_digest = NULL,
	.cert_file = NULL,
	.cert_digest = NULL,
	.key_file = NULL,
	.key_digest = NULL,
	.priorities = "NORMAL",
	.min_dh_prime_bits = 0,
	.library_version = "3.7.9",
};

static char *key_of(const struct tls_cache_identity *id)
{
	struct buf b = BUF_INIT;
	tls_cache_key_build(id, &b);
	return buf_steal(&b);
}

/* One change of base per row; each must give a key of its own. */
static void test_keys_differ(void **state)
{
	(void)state;
	struct tls_cache_identity v[32];
	size_t n = 0;
	v[n] = base, v[n++].host = "smtp.example.net";
	v[n] = base, v[n++].host = NULL;
	v[n] = base, v[n++].port = 465;
	v[n] = base, v[n++].socket = "/run/smtp.sock";
	v[n] = base, v[n++].server_name = "mail.example.com";
	v[n] = base, v[n++].server_name = NULL;
	v[n] = base, v[n++].starttls = false;
	v[n] = base, v[n++].certcheck = false;
	v[n] = base, v[n++].fingerprint = "AB:CD";
	v[n] = base, v[n++].trust_file = "/etc/ssl/other.pem";
	v[n] = base, v[n++].trust_file = "system";
	v[n] = base, v[n++].trust_digest = "bb";
	v[n] = base, v[n++].crl_file = "/etc/ssl/crl.pem";
	v[n] = base, v[n++].crl_digest = "cc";
	v[n] = base, v[n++].cert_file = "/etc/ssl/me.pem";
	v[n] = base, v[n++].cert_digest = "dd";
	v[n] = base, v[n++].key_file = "/etc/ssl/me.key";
	v[n] = base, v[n++].key_digest = "ee";
	v[n] = base, v[n++].priorities = "NORMAL:-VERS-TLS1.2";
	v[n] = base, v[n++].min_dh_prime_bits = 2048;
	v[n] = base, v[n++].library_version = "3.8.0";
	/* A value that would read as two fields if keys were not
	 * length-prefixed. */
	v[n] = base, v[n++].host = "smtp.example.com\nport 1:5";
	v[n] = base, v[n++].trust_file = "";
	char *keys[33];
	char names[33][65];
	keys[0] = key_of(&base);
	tls_cache_file_name(keys[0], strlen(keys[0]), names[0]);
	for (size_t i = 0; i < n; i++) {
		keys[i + 1] = key_of(&v[i]);
		tls_cache_file_name(keys[i + 1], strlen(keys[i + 1]),
		                    names[i + 1]);
	}
	for (size_t i = 0; i <= n; i++)
		for (size_t j = i + 1; j <= n; j++) {
			if (strcmp(keys[i], keys[j]) == 0)
				fail_msg("rows %zu and %zu give one key:\n%s", i,
				         j, keys[i]);
			assert_string_not_equal(names[i], names[j]);
		}
	for (size_t i = 0; i <= n; i++)
		free(keys[i]);
}

static void test_same_identity_same_key(void **state)
{
	(void)state;
	struct tls_cache_identity copy = base;
	/* equal strings at other addresses */
	char host[] = "smtp.example.com";
	copy.host = host;
	char *a = key_of(&base), *b = key_of(&copy);
	assert_string_equal(a, b);
	char na[65], nb[65];
	tls_cache_file_name(a, strlen(a), na);
	tls_cache_file_name(b, strlen(b), nb);
	assert_string_equal(na, nb);
	assert_int_equal(strlen(na), 64);
	for (const char *p = na; *p; p++)
		assert_non_null(strchr("0123456789abcdef", *p));
	/* a known answer: SHA-256 of "abc" (FIPS 180-2 B.1) */
	tls_cache_file_name("abc", 3, na);
	assert_string_equal(na, "ba7816bf8f01cfea414140de5dae2223"
	                        "b00361a396177a9cb410ff61f20015ad");
	free(a);
	free(b);
}

static void test_format_parse_round_trip(void **state)
{
	(void)state;
	const char key[] = "k\ney\0with nul";
	const unsigned char data[] = {0, 1, 2, '\n', '\n', 255};
	struct buf f = BUF_INIT;
	tls_cache_format(key, sizeof key, data, sizeof data, 1700000000LL,
	                 1699990000LL, &f);
	struct tls_cache_entry en;
	assert_true(tls_cache_parse(f.data, f.len, &en));
	assert_int_equal(en.expires, 1700000000LL);
	assert_int_equal(en.stored, 1699990000LL);
	assert_int_equal(en.key_len, sizeof key);
	assert_memory_equal(en.key, key, sizeof key);
	assert_int_equal(en.data_len, sizeof data);
	assert_memory_equal(en.data, data, sizeof data);
	/* usable: same key, before the expiry, not too far ahead */
	assert_true(tls_cache_entry_usable(&en, key, sizeof key, 1699999999));
	assert_false(tls_cache_entry_usable(&en, key, sizeof key, 1700000000));
	assert_false(tls_cache_entry_usable(&en, key, sizeof key - 1,
	                                    1699999999));
	assert_false(tls_cache_entry_usable(&en, "k\ney\0with nuL",
	                                    sizeof key, 1699999999));
	/* not before it was stored (a clock set back): the certificates'
	 * notBefore are only known to have passed by then */
	assert_true(tls_cache_entry_usable(&en, key, sizeof key, 1699990000));
	assert_false(tls_cache_entry_usable(&en, key, sizeof key, 1699989999));
	struct tls_cache_entry far = en;
	far.stored = 0;
	assert_false(tls_cache_entry_usable(
	        &far, key, sizeof key,
	        1700000000 - TLS_CACHE_MAX_LIFETIME - 1));
	assert_true(tls_cache_entry_usable(
	        &far, key, sizeof key, 1700000000 - TLS_CACHE_MAX_LIFETIME));
	/* every strict prefix and one byte more are refused */
	for (size_t i = 0; i < f.len; i++)
		assert_false(tls_cache_parse(f.data, i, &en));
	buf_add(&f, "x", 1);
	assert_false(tls_cache_parse(f.data, f.len, &en));
	assert_null(en.key);
	buf_wipe(&f);
}

static void test_parse_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		/* the first format, without the storing time */
		"outbox-tls-session 1\nexpires 1\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 3\nexpires 1\nstored 0\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nstored 0\nexpires 1\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored -1\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 01\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored \nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires -1\nstored 0\nkey 1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 0\ndata 1\n\nd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\ndata 0\n\nk",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\ndata 1\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey  1\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\ndata 1\nkey 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\ndata 1\n\nkdx",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\ndata 2\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\n"
		"data 99999999999999999\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 1\ndata 1\r\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\n"
		"key 18446744073709551617\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 1\nstored 0\nkey 9000\ndata 1\n\nkd",
		"outbox-tls-session 2\nexpires 01\nstored 0\nkey 1\ndata 1\n\nkd",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct tls_cache_entry en;
		if (tls_cache_parse(bad[i], strlen(bad[i]), &en))
			fail_msg("accepted row %zu: %s", i, bad[i]);
	}
	struct tls_cache_entry en;
	const char *good =
	        "outbox-tls-session 2\nexpires 5\nstored 3\nkey 1\ndata 1\n\nkd";
	assert_true(tls_cache_parse(good, strlen(good), &en));
	assert_int_equal(en.expires, 5);
	assert_int_equal(en.stored, 3);
	assert_int_equal(en.key[0], 'k');
	assert_int_equal(en.data[0], 'd');
}

/* An entry never outlives the chain it stands for: its expiry is the
 * earlier of TLS_CACHE_LIFETIME and the chain's notAfter, and nothing is
 * stored for a chain that has expired. What was stored vouches between
 * its storing time and its expiry (tls_cache_vouches). */
static void test_store_never_outlives_the_chain(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_tls_cacheXXXXXX";
	assert_non_null(mkdtemp(dir));
	struct tls_cache_identity id = base;
	id.trust_file = NULL; /* nothing to hash */
	id.fingerprint = "AA:BB";
	struct tls_cache_slot *slot = tls_cache_slot_new(&id, dir);
	assert_non_null(slot);
	time_t now = time(NULL);

	/* a chain valid for a day: the cache's own lifetime */
	tls_cache_store(slot, "ticket", 6, now + 86400);
	struct buf data = BUF_INIT;
	assert_true(tls_cache_load(slot, &data));
	assert_memory_equal(data.data, "ticket", 6);
	assert_true(tls_cache_vouches(slot, time(NULL)));
	assert_false(tls_cache_vouches(slot, now - 1));
	assert_false(tls_cache_vouches(slot, now + TLS_CACHE_LIFETIME + 2));

	/* a chain with a minute left: the entry ends with it */
	tls_cache_store(slot, "ticket", 6, now + 60);
	assert_true(tls_cache_load(slot, &data));
	assert_true(tls_cache_vouches(slot, now + 59));
	assert_false(tls_cache_vouches(slot, now + 60));

	/* an expired chain: nothing stored, the old entry stays as it was */
	tls_cache_store(slot, "other!", 6, now - 1);
	assert_true(tls_cache_load(slot, &data));
	assert_memory_equal(data.data, "ticket", 6);
	tls_cache_discard(slot);
	assert_false(tls_cache_load(slot, &data));
	buf_wipe(&data);
	tls_cache_slot_free(slot);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_differ),
		cmocka_unit_test(test_same_identity_same_key),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_store_never_outlives_the_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
