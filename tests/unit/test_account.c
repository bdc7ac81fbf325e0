/* test_account.c - the table of account fields: every row is described,
 * copied, inherited, compared and freed by the same loops, and the
 * smarthost identity is exactly the settings session_open looks at; how
 * long a command run for an account may take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "conf_internal.h"
#include "err.h"
#include "util.h"

#define POKED "poked-value"

/* Change field f of a, whatever its kind, to a value it does not hold. */
static void poke(struct account *a, enum field f)
{
	void *slot = account_field_slot(a, f);
	switch (account_field_kind(f)) {
	case FIELD_TEXT:
	case FIELD_SECRET: {
		char **text = slot;
		free_secret(*text);
		*text = xstrdup(POKED);
		break;
	}
	case FIELD_INT:
		*(int *)slot += 7;
		break;
	case FIELD_LONG:
		*(long *)slot += 7;
		break;
	case FIELD_BOOL:
		*(bool *)slot = !*(bool *)slot;
		break;
	case FIELD_ENUM: {
		int v, count = account_field_value_count(f);
		assert_true(count > 1);
		memcpy(&v, slot, sizeof v);
		v = (v + 1) % count;
		memcpy(slot, &v, sizeof v);
		break;
	}
	case FIELD_DKIM:
		account_dkim_clear(a);
		a->dkim = xcalloc(1, sizeof *a->dkim);
		a->dkim[0].key_file = xstrdup(POKED);
		a->dkim_count = 1;
		break;
	}
}

static char *describe(const struct account *a)
{
	struct buf out = BUF_INIT;
	account_describe(a, &out);
	return buf_steal(&out);
}

static void assert_all_fields_equal(const struct account *x,
                                    const struct account *y, int row)
{
	for (int g = 0; g < FIELD_COUNT; g++)
		if (!account_field_equal(x, y, (enum field)g))
			fail_msg("row %d: field %d differs", row, g);
}

static void test_every_field_is_described_copied_and_compared(void **state)
{
	(void)state;
	struct account *base = account_new("a");
	/* OAuth's fields are described for an account that uses OAuth */
	base->oauth2_client_id = xstrdup("client");
	char *base_text = describe(base);
	for (int f = 0; f < FIELD_COUNT; f++) {
		struct account *changed = account_clone(base, NULL);
		poke(changed, (enum field)f);

		/* comparison sees the change, and only there */
		for (int g = 0; g < FIELD_COUNT; g++)
			if (account_field_equal(base, changed, (enum field)g) !=
			    (g != f))
				fail_msg("row %d: field %d compares wrongly", f,
				         g);
		if (account_same_smarthost(base, changed) ==
		    account_field_in_smarthost((enum field)f))
			fail_msg("row %d: account_same_smarthost is wrong", f);

		/* describe sees it (but the derived flags: timeout_is_default,
		 * made by finalize, describe shows the timeout itself; and
		 * allow_from_override_set, shown as allow_from_override); a
		 * secret is only ever "*" */
		char *text = describe(changed);
		if (strcmp(text, base_text) == 0 && f != F_TIMEOUT_IS_DEFAULT &&
		    f != F_ALLOW_FROM_OVERRIDE_SET)
			fail_msg("row %d: describe does not show the field", f);
		if (account_field_kind((enum field)f) == FIELD_SECRET &&
		    strstr(text, POKED))
			fail_msg("row %d: describe shows the secret", f);

		/* account_clone copies it */
		struct account *copy = account_clone(changed, NULL);
		assert_all_fields_equal(copy, changed, f);
		assert_true(account_same_smarthost(copy, changed));
		char *copy_text = describe(copy);
		assert_string_equal(copy_text, text);

		/* the parser's inheritance copies it alone */
		struct account *child = account_clone(base, "child");
		account_copy_field(child, changed, (enum field)f);
		assert_all_fields_equal(child, changed, f);

		free(copy_text);
		free(text);
		account_free(child);
		account_free(copy);
		account_free(changed);
	}
	free(base_text);
	account_free(base);
}

static void test_smarthost_identity_is_what_session_open_uses(void **state)
{
	(void)state;
	static const enum field identity[] = {
		F_HOST, F_PORT, F_SOURCE_IP, F_PROXY_HOST, F_PROXY_PORT,
		F_SOCKET, F_TIMEOUT, F_TIMEOUT_IS_DEFAULT, F_PROTOCOL, F_DOMAIN, F_AUTH, F_USER,
		F_PASSWORD, F_PASSWORDEVAL, F_NTLMDOMAIN, F_TLS,
		F_TLS_STARTTLS, F_TLS_TRUST_FILE, F_TLS_CRL_FILE,
		F_TLS_FINGERPRINT, F_TLS_KEY_FILE, F_TLS_CERT_FILE,
		F_TLS_CERTCHECK, F_TLS_MIN_DH_PRIME_BITS, F_TLS_PRIORITIES,
		F_TLS_HOST_OVERRIDE,
		/* how the OAuth token for AUTH is got (oauth.h) */
		F_OAUTH2_PROVIDER, F_OAUTH2_CLIENT_ID, F_OAUTH2_CLIENT_SECRET,
		F_OAUTH2_TENANT, F_OAUTH2_DEVICE_URL, F_OAUTH2_TOKEN_URL,
		F_OAUTH2_SCOPE, F_OAUTH2_TRUST_FILE, F_OAUTH2_TOKEN_STORE,
		/* where the mail goes instead (direct.h) */
		F_DIRECT_DELIVERY, F_MTA_STS, F_DANE,
	};
	for (int f = 0; f < FIELD_COUNT; f++) {
		bool expected = false;
		for (size_t i = 0; i < sizeof identity / sizeof *identity; i++)
			expected = expected || identity[i] == (enum field)f;
		if (account_field_in_smarthost((enum field)f) != expected)
			fail_msg("field %d: in the identity should be %d", f,
			         expected);
	}
}

/* An account without OAuth does not list OAuth's settings. */
static void test_oauth_fields_only_when_used(void **state)
{
	(void)state;
	struct account *a = account_new("a");
	char *text = describe(a);
	assert_null(strstr(text, "oauth2_"));
	free(text);
	a->oauth2_client_id = xstrdup("client");
	text = describe(a);
	assert_non_null(strstr(text, "oauth2_client_id = client"));
	assert_non_null(strstr(text, "oauth2_trust_file = system"));
	free(text);
	account_free(a);
}

/* The same through the public way in, as --flush builds its accounts. */
static void test_same_smarthost_through_directives(void **state)
{
	(void)state;
	static const struct {
		const char *directive, *value;
		bool same;
	} cases[] = {
		{"from", "other@example.org", true},
		{"dkim_key", "/k.pem", true},
		{"queue", "always", true},
		{"logfile", "/tmp/x.log", true},
		{"host", "other.example.org", false},
		{"port", "2525", false},
		{"tls_fingerprint",
		 "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD",
		 false},
		{"password", "other", false},
		{"user", "someone", false},
		{"tls_starttls", "off", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct err e = ERR_INIT;
		struct account *x = account_new("x");
		assert_int_equal(account_set(x, "host", "mx.example.org", &e),
		                 EX_OK);
		assert_int_equal(account_set(x, "password", "pw", &e), EX_OK);
		struct account *y = account_clone(x, "y");
		assert_int_equal(account_set(y, cases[i].directive,
		                             cases[i].value, &e),
		                 EX_OK);
		if (account_same_smarthost(x, y) != cases[i].same ||
		    account_same_smarthost(y, x) != cases[i].same)
			fail_msg("case %zu (%s)", i, cases[i].directive);
		account_free(x);
		account_free(y);
	}
}

static void test_command_timeout(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	struct account *a = account_new("a");
	/* not set: the caller's default, before and after finalize */
	assert_int_equal(account_command_timeout(a, 30), 30);
	assert_int_equal(account_set(a, "host", "mx.example.org", &e), EX_OK);
	assert_int_equal(account_finalize(a, &e), EX_OK);
	assert_int_equal(a->timeout, CONF_DEFAULT_TIMEOUT);
	assert_int_equal(account_command_timeout(a, 120), 120);
	/* set (even after finalize, as --timeout is): the account's */
	assert_int_equal(account_set(a, "timeout", "7", &e), EX_OK);
	assert_int_equal(account_command_timeout(a, 120), 7);
	struct account *copy = account_clone(a, NULL);
	assert_int_equal(account_command_timeout(copy, 120), 7);
	/* off: a command is still bounded */
	assert_int_equal(account_set(a, "timeout", "off", &e), EX_OK);
	assert_int_equal(account_command_timeout(a, 120), 120);
	account_free(copy);
	account_free(a);
}

/* direct_delivery: no host needed, port 25, the EHLO name left for
 * setup (the FQDN), and what cannot work refused with its name. */
static void test_direct_delivery_finalize(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	struct account *a = account_new("direct");
	assert_true(a->mta_sts);
	assert_true(a->dane);
	assert_int_equal(account_set(a, "direct_delivery", "on", &e), EX_OK);
	assert_int_equal(account_set(a, "port", "587", &e), EX_OK);
	assert_int_equal(account_finalize(a, &e), EX_OK);
	assert_int_equal(a->port, 25);
	assert_null(a->domain);
	account_free(a);
	static const struct {
		const char *directive, *value, *named;
	} refused[] = {
		{"auth", "on", "auth"},
		{"socket", "/run/x", "socket"},
		{"proxy_host", "127.0.0.1", "proxy_host"},
		{"protocol", "lmtp", "lmtp"},
		{"oauth2_client_id", "abc", "oauth2_client_id"},
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		a = account_new("direct");
		assert_int_equal(account_set(a, "direct_delivery", "on", &e),
		                 EX_OK);
		assert_int_equal(account_set(a, refused[i].directive,
		                             refused[i].value, &e),
		                 EX_OK);
		assert_int_equal(account_finalize(a, &e), EX_CONFIG);
		if (!strstr(err_msg(&e), refused[i].named))
			fail_msg("%s: %s", refused[i].directive, err_msg(&e));
		err_clear(&e);
		account_free(a);
	}
	/* auth off is fine */
	a = account_new("direct");
	assert_int_equal(account_set(a, "direct_delivery", "on", &e), EX_OK);
	assert_int_equal(account_set(a, "auth", "off", &e), EX_OK);
	assert_int_equal(account_finalize(a, &e), EX_OK);
	account_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		        test_every_field_is_described_copied_and_compared),
		cmocka_unit_test(
		        test_smarthost_identity_is_what_session_open_uses),
		cmocka_unit_test(test_oauth_fields_only_when_used),
		cmocka_unit_test(test_same_smarthost_through_directives),
		cmocka_unit_test(test_command_timeout),
		cmocka_unit_test(test_direct_delivery_finalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
