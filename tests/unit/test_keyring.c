/* test_keyring.c - libsecret loaded on first use: not loaded without a
 * session bus, and a clear error when the library or a symbol of it is
 * missing. (A lookup against a real Secret Service is tests/auth.bats'
 * gnome-keyring test.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "keyring.h"

#ifdef HAVE_LIBSECRET
#include <dlfcn.h>

#define MISSING_LIBRARY "libsecret-outbox-test-missing.so.0"

/* A session bus "exists" for the lookup (it is never reached here). */
static int setup_bus(void **state)
{
	setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
	return 0;
}

static int setup_no_bus(void **state)
{
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	setenv("XDG_RUNTIME_DIR", "/nonexistent", 1);
	return 0;
}

struct missing_case {
	const char *library;
	const char *want; /* the whole error message */
};

static const struct missing_case missing_cases[] = {
	/* not installed: the message says which package brings it */
	{MISSING_LIBRARY,
	 "the keyring cannot be used: " MISSING_LIBRARY " is not installed "
	 "(apt install libsecret-1-0)"},
	/* a library without libsecret's functions */
	{"libc.so.6", "the keyring cannot be used: libc.so.6 has no symbol "
	              "secret_password_lookup_sync"},
	/* a file that is no library: the loader's own words */
	{"/dev/null", NULL},
};

static void test_missing_library_table(void **state)
{
	for (size_t i = 0; i < sizeof missing_cases / sizeof *missing_cases;
	     i++) {
		const struct missing_case *c = &missing_cases[i];
		struct err e = ERR_INIT;
		char *out = (char *)"untouched";
		int rc = keyring_lookup_password_in(c->library, "mail.example.org",
		                                    "joe", &out, &e);
		assert_int_equal(rc, EX_UNAVAILABLE);
		assert_null(out);
		if (c->want)
			assert_string_equal(err_msg(&e), c->want);
		else
			assert_non_null(strstr(err_msg(&e),
			                       "the keyring cannot be used: "
			                       "cannot load /dev/null: "));
		err_clear(&e);
	}
}

/* Without a session bus nothing is loaded: a missing library is then no
 * error at all (cron jobs never pay for, or hear about, the keyring). */
static void test_no_bus_loads_nothing(void **state)
{
	struct err e = ERR_INIT;
	char *out = (char *)"untouched";
	assert_int_equal(keyring_lookup_password_in(MISSING_LIBRARY,
	                                            "mail.example.org", "joe",
	                                            &out, &e),
	                 EX_OK);
	assert_null(out);
	assert_string_equal(err_msg(&e), "");
	assert_null(dlopen("libsecret-1.so.0", RTLD_NOW | RTLD_NOLOAD));
}

/* --version's probe agrees with the loader. */
static void test_probe(void **state)
{
	void *h = dlopen("libsecret-1.so.0", RTLD_LAZY | RTLD_LOCAL);
	enum keyring_support got = keyring_probe();
	if (h)
		assert_int_equal(got, KEYRING_AVAILABLE);
	else
		assert_int_equal(got, KEYRING_NOT_INSTALLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_bus_loads_nothing, setup_no_bus),
		cmocka_unit_test_setup(test_missing_library_table, setup_bus),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* built without libsecret */

static void test_not_compiled_in(void **state)
{
	struct err e = ERR_INIT;
	char *out = (char *)"untouched";
	setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
	assert_int_equal(keyring_lookup_password("mail.example.org", "joe",
	                                         &out, &e),
	                 EX_OK);
	assert_null(out);
	assert_int_equal(keyring_probe(), KEYRING_NOT_COMPILED_IN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_compiled_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
