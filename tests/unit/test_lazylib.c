/* test_lazylib.c - GnuTLS, libidn2 and json-c loaded on first use: nothing is
 * mapped before the first call, the forwarders reach the real functions
 * (gnutls_free, the one data symbol, too), and a library that cannot be
 * loaded gives a sentence that names it. (Through the binary, with a
 * library that cannot be loaded: tests/lazylib.bats.)
 *
 * This binary must not link GnuTLS, libidn2 or json-c itself (the
 * Makefile links them --as-needed, for tests that call functions outbox
 * does not forward): it calls only forwarded functions. The tests run in order:
 * the first ones need both libraries unloaded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gnutls/gnutls.h>
#include <idn2.h>
#include <json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "lazylib.h"

/* Whether a file whose name contains name is mapped into this process. */
static bool mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

static void test_nothing_mapped_before_use(void **state)
{
	assert_false(lazylib_is_loaded(LAZYLIB_GNUTLS));
	assert_false(lazylib_is_loaded(LAZYLIB_IDN2));
	assert_false(lazylib_is_loaded(LAZYLIB_JSONC));
	assert_false(mapped("libgnutls"));
	assert_false(mapped("libnettle"));
	assert_false(mapped("libp11-kit"));
	assert_false(mapped("libidn2"));
	assert_false(mapped("libjson-c"));
}

struct failure_case {
	enum lazylib_library lib;
	const char *soname;
	const char *want; /* the whole message, or its beginning (prefix) */
	bool prefix;
};

static const struct failure_case failure_cases[] = {
	/* not installed: the message says which package brings it */
	{LAZYLIB_GNUTLS, "libgnutls-outbox-test-missing.so.30",
	 "cannot load GnuTLS: libgnutls-outbox-test-missing.so.30 is not "
	 "installed (apt install libgnutls30)",
	 false},
	{LAZYLIB_IDN2, "libidn2-outbox-test-missing.so.0",
	 "cannot load libidn2: libidn2-outbox-test-missing.so.0 is not "
	 "installed (apt install libidn2-0)",
	 false},
	{LAZYLIB_JSONC, "libjson-c-outbox-test-missing.so.5",
	 "cannot load json-c: libjson-c-outbox-test-missing.so.5 is not "
	 "installed (apt install libjson-c5)",
	 false},
	/* a library without the functions: the first one missing */
	{LAZYLIB_GNUTLS, "libc.so.6",
	 "cannot load GnuTLS: libc.so.6 has no symbol gnutls_alert_get (is "
	 "it older than the GnuTLS outbox was built with?)",
	 false},
	{LAZYLIB_IDN2, "libc.so.6",
	 "cannot load libidn2: libc.so.6 has no symbol idn2_check_version "
	 "(is it older than the libidn2 outbox was built with?)",
	 false},
	{LAZYLIB_JSONC, "libc.so.6",
	 "cannot load json-c: libc.so.6 has no symbol json_c_version (is it "
	 "older than the json-c outbox was built with?)",
	 false},
	/* a file that is no library: the loader's own words */
	{LAZYLIB_GNUTLS, "/dev/null", "cannot load GnuTLS: /dev/null: ", true},
};

static void test_failures_name_the_library(void **state)
{
	for (size_t i = 0; i < sizeof failure_cases / sizeof *failure_cases;
	     i++) {
		const struct failure_case *c = &failure_cases[i];
		struct err e = ERR_INIT;
		assert_int_equal(lazylib_load_from(c->lib, c->soname, &e),
		                 EX_UNAVAILABLE);
		assert_int_equal(e.code, EX_UNAVAILABLE);
		if (c->prefix)
			assert_memory_equal(err_msg(&e), c->want,
			                    strlen(c->want));
		else
			assert_string_equal(err_msg(&e), c->want);
		err_clear(&e);
		/* a failed load installs nothing */
		assert_false(lazylib_is_loaded(c->lib));
	}
	assert_false(mapped("libgnutls"));
	assert_false(mapped("libjson-c"));
}

/* The first call loads the library, and the call reaches it. */
static void test_first_call_loads(void **state)
{
	const char *version = gnutls_check_version(NULL);
	assert_true(lazylib_is_loaded(LAZYLIB_GNUTLS));
	assert_true(mapped("libgnutls.so"));
	assert_non_null(version);
	/* the library's own answer: this is its version, and older ones
	 * are satisfied, a future one is not */
	assert_non_null(gnutls_check_version("3.0.0"));
	assert_null(gnutls_check_version("99.0.0"));
	assert_string_equal(gnutls_strerror(GNUTLS_E_AGAIN),
	                    "Resource temporarily unavailable, try again.");

	/* libidn2 is a library of its own here (GnuTLS maps it too, as a
	 * dependency; outbox's calls still load it explicitly) */
	assert_false(lazylib_is_loaded(LAZYLIB_IDN2));
	char *ascii = NULL;
	assert_int_equal(idn2_to_ascii_8z("bücher.example", &ascii,
	                                  IDN2_NONTRANSITIONAL),
	                 IDN2_OK);
	assert_true(lazylib_is_loaded(LAZYLIB_IDN2));
	assert_string_equal(ascii, "xn--bcher-kva.example");
	idn2_free(ascii);
	assert_string_equal(idn2_strerror(IDN2_OK), "success");

	/* json-c: the version of the headers outbox was built with, and a
	 * whole parse through the forwarders (the object macros and inline
	 * helpers of its headers too) */
	assert_false(lazylib_is_loaded(LAZYLIB_JSONC));
	assert_string_equal(json_c_version(), JSON_C_VERSION);
	assert_true(lazylib_is_loaded(LAZYLIB_JSONC));
	assert_true(mapped("libjson-c.so"));
	struct json_tokener *tok = json_tokener_new_ex(4);
	assert_non_null(tok);
	struct json_object *o = json_tokener_parse_ex(tok, "{\"a\":[7]}", 9);
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_int_equal(json_object_get_type(o), json_type_object);
	int members = 0;
	json_object_object_foreach(o, key, value)
	{
		assert_string_equal(key, "a");
		assert_int_equal(json_object_array_length(value), 1);
		assert_int_equal(json_object_get_int64(
		                         json_object_array_get_idx(value, 0)),
		                 7);
		members++;
	}
	assert_int_equal(members, 1);
	json_object_put(o);
	json_tokener_free(tok);
}

/* Memory GnuTLS allocates goes back through gnutls_free, the forwarded
 * data symbol (the ASan build would see a mismatch). */
static void test_gnutls_free_reaches_the_library(void **state)
{
	const gnutls_datum_t in = {(unsigned char *)"outbox", 6};
	gnutls_datum_t out = {NULL, 0};
	assert_int_equal(gnutls_base64_encode2(&in, &out), 0);
	assert_int_equal(out.size, 8);
	assert_memory_equal(out.data, "b3V0Ym94", 8);
	gnutls_free(out.data);
}

static void test_load_when_loaded_is_a_no_op(void **state)
{
	struct err e = ERR_INIT;
	assert_int_equal(lazylib_load(LAZYLIB_GNUTLS, &e), EX_OK);
	assert_int_equal(lazylib_load(LAZYLIB_IDN2, &e), EX_OK);
	assert_int_equal(lazylib_load(LAZYLIB_JSONC, &e), EX_OK);
	assert_int_equal(e.code, EX_OK);
}

static void test_describe(void **state)
{
	struct buf b = BUF_INIT;
	lazylib_describe(LAZYLIB_GNUTLS, &b);
	char want[128];
	snprintf(want, sizeof want, "GnuTLS %s (libgnutls.so.30, loaded on "
	         "demand)", gnutls_check_version(NULL));
	assert_string_equal(buf_str(&b), want);
	buf_reset(&b);
	lazylib_describe(LAZYLIB_IDN2, &b);
	snprintf(want, sizeof want, "libidn2 %s (libidn2.so.0, loaded on "
	         "demand)", idn2_check_version(NULL));
	assert_string_equal(buf_str(&b), want);
	buf_reset(&b);
	lazylib_describe(LAZYLIB_JSONC, &b);
	snprintf(want, sizeof want, "json-c %s (libjson-c.so.5, loaded on "
	         "demand)", json_c_version());
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_mapped_before_use),
		cmocka_unit_test(test_failures_name_the_library),
		cmocka_unit_test(test_first_call_loads),
		cmocka_unit_test(test_gnutls_free_reaches_the_library),
		cmocka_unit_test(test_load_when_loaded_is_a_no_op),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
