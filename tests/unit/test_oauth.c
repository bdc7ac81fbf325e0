/* Unit tests for oauth.c's pure part: which endpoints and scope an
 * account uses (presets, auto-detection from the host, overrides). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "directives.h"
#include "oauth.h"

static struct account *account_with(const char *const *settings)
{
	struct account *a = account_new("acct");
	for (; *settings; settings += 2) {
		struct err e = ERR_INIT;
		if (account_set(a, settings[0], settings[1], &e) != EX_OK)
			fail_msg("%s %s: %s", settings[0], settings[1],
			         err_msg(&e));
	}
	return a;
}

static void expect(const char *const *settings, enum oauth2_provider p,
                   const char *device, const char *token, const char *scope)
{
	struct account *a = account_with(settings);
	struct oauth_endpoints ep;
	struct err e = ERR_INIT;
	if (oauth_endpoints_for(a, &ep, &e) != EX_OK)
		fail_msg("%s", err_msg(&e));
	assert_int_equal(ep.provider, p);
	if (device)
		assert_string_equal(ep.device_url, device);
	else
		assert_null(ep.device_url);
	assert_string_equal(ep.token_url, token);
	if (scope)
		assert_string_equal(ep.scope, scope);
	else
		assert_null(ep.scope);
	oauth_endpoints_free(&ep);
	account_free(a);
}

static void test_presets(void **state)
{
	(void)state;
	const char *m365[] = {"host", "smtp.office365.com", "oauth2_client_id",
	                      "c", NULL};
	expect(m365, OAUTH2_MICROSOFT,
	       "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
	       "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	       "https://outlook.office.com/SMTP.Send offline_access");
	const char *tenant[] = {"host", "SMTP-mail.Outlook.COM",
	                        "oauth2_client_id", "c", "oauth2_tenant",
	                        "contoso.example", NULL};
	expect(tenant, OAUTH2_MICROSOFT,
	       "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/"
	       "devicecode",
	       "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/"
	       "token",
	       "https://outlook.office.com/SMTP.Send offline_access");
	const char *gmail[] = {"host", "smtp.gmail.com", "oauth2_client_id",
	                       "c", NULL};
	expect(gmail, OAUTH2_GOOGLE, "https://oauth2.googleapis.com/device/code",
	       "https://oauth2.googleapis.com/token", "https://mail.google.com/");
	/* an explicit provider wins over the host; settings over presets */
	const char *both[] = {"host", "smtp.gmail.com", "oauth2_provider",
	                      "microsoft", "oauth2_client_id", "c",
	                      "oauth2_scope", "https://outlook.office.com/SMTP.Send",
	                      NULL};
	expect(both, OAUTH2_MICROSOFT,
	       "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
	       "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	       "https://outlook.office.com/SMTP.Send");
	/* "notgmail.com" is not Google's */
	const char *custom[] = {"host", "smtp.notgmail.com", "oauth2_client_id",
	                        "c", "oauth2_token_url", "https://a.example/t",
	                        NULL};
	expect(custom, OAUTH2_CUSTOM, NULL, "https://a.example/t", NULL);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *no_url[] = {"host", "mail.example.org", "oauth2_client_id",
	                        "c", NULL};
	struct account *a = account_with(no_url);
	struct oauth_endpoints ep;
	struct err e = ERR_INIT;
	assert_int_equal(oauth_endpoints_for(a, &ep, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "oauth2_token_url"));
	oauth_endpoints_free(&ep);
	err_clear(&e);
	account_free(a);
	/* only https endpoints are taken */
	a = account_new("x");
	assert_int_equal(account_set(a, "oauth2_token_url",
	                             "http://a.example/token", &e),
	                 EX_CONFIG);
	err_clear(&e);
	assert_int_equal(account_set(a, "oauth2_provider", "yahoo", &e),
	                 EX_CONFIG);
	err_clear(&e);
	assert_int_equal(account_set(a, "oauth2_token_store", "cloud", &e),
	                 EX_CONFIG);
	err_clear(&e);
	account_free(a);
}

static void test_enabled(void **state)
{
	(void)state;
	const char *on[] = {"auth", "xoauth2", "oauth2_client_id", "c", NULL};
	const char *bearer[] = {"auth", "oauthbearer", "oauth2_client_id", "c",
	                        NULL};
	const char *plain[] = {"auth", "plain", "oauth2_client_id", "c", NULL};
	const char *no_id[] = {"auth", "xoauth2", NULL};
	struct account *a = account_with(on);
	assert_true(oauth_enabled(a));
	account_free(a);
	a = account_with(bearer);
	assert_true(oauth_enabled(a));
	account_free(a);
	a = account_with(plain);
	assert_false(oauth_enabled(a));
	account_free(a);
	a = account_with(no_id);
	assert_false(oauth_enabled(a));
	account_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_enabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
