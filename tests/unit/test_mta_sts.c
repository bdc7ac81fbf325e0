/* test_mta_sts.c - MTA-STS (RFC 8461): the _mta-sts TXT record, the policy
 * file, MX patterns, the cache file format, the decision between cache,
 * fetch and no policy (every row of mta_sts_decide), the cache directory
 * and its refusals (temporary directories), mta_sts_get_policy's paths
 * that fetch nothing, and the request http_get sends.
 *
 * One test (test_live_server) talks to a real HTTPS server, and runs only
 * when MTA_STS_TEST_TRUST names the CA file of a server on port 443 that
 * answers for mta-sts.example.test (the policy "version: STSv1, mode:
 * enforce, mx: mail.example.test, mx: *.backup.example.test, max_age:
 * 86400", text/plain), mta-sts.redirect.test (302), mta-sts.html.test
 * (text/html) and mta-sts.big.test (a 70 KB body), with one certificate
 * for the four names, and MTA_STS_TEST_WRONG_TRUST names another CA. Set
 * up by hand: certtool's CA and certificate, a 20-line Python ssl server
 * (Debian's /usr/bin/python3, http.server), and a private namespace in
 * which the names resolve and port 443 can be bound:
 *   unshare -m -n sh -c 'ip link set lo up;
 *     mount --bind ./hosts /etc/hosts;
 *     /usr/bin/python3 server.py server.pem server.key & sleep 1;
 *     MTA_STS_TEST_TRUST=ca.pem MTA_STS_TEST_WRONG_TRUST=other-ca.pem \
 *       build/tests/test_mta_sts'
 * (the lead's bats suite covers the same end to end). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "http_parse.h"
#include "mta_sts.h"
#include "mta_sts_fetch.h"
#include "queue.h"
#include "util.h"

#define NOW ((int64_t)1700000000)
#define DAY (24 * 60 * 60)

/* A message holds no control character. */
static void assert_clean(const char *msg)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character in '%s'", msg);
}

/* ---- the TXT record ------------------------------------------------------ */

struct txt_case {
	const char *record;
	const char *id;   /* NULL: refused */
	const char *why;  /* refused: a part of the message */
};

static const struct txt_case txt_cases[] = {
	{"v=STSv1; id=20160831085700Z;", "20160831085700Z", NULL},
	{"v=STSv1; id=20160831085700Z", "20160831085700Z", NULL},
	{"v=STSv1;id=a", "a", NULL},
	{"v=STSv1 ;\tid=abc ; ", "abc", NULL},
	{"v=STSv1; ext=x; id=abc", "abc", NULL},
	{"v=STSv1; id=abc; ext-1.x_y=a:b/c!~", "abc", NULL},
	/* 32 characters are fine, 33 are not */
	{"v=STSv1; id=0123456789abcdefABCDEF0123456789",
	 "0123456789abcdefABCDEF0123456789", NULL},
	{"v=STSv1; id=0123456789abcdefABCDEF0123456789x", NULL,
	 "1 to 32 letters and digits"},
	/* RFC 8461 3.2: the first id counts, a later one is ignored */
	{"v=STSv1; id=first; id=second", "first", NULL},
	{"v=STSv1; id=first; id=not-alnum", "first", NULL},
	{"v=STSv1; id=bad-id; id=good", NULL, "1 to 32 letters and digits"},
	{"v=STSv1; id=", NULL, "character the grammar does not allow"},
	{"v=STSv1; id=a b", NULL, "not separated"},
	{"v=STSv1; id=a=b", NULL, "character the grammar does not allow"},
	{"v=STSv1; id=\xc3\xa9", NULL, "character the grammar does not allow"},
	{"v=STSv1;", NULL, "no id field"},
	{"v=STSv1", NULL, "no id field"},
	{"v=STSv1; ID=abc", NULL, "no id field"}, /* %s"id=": case matters */
	{"v=STSv1; ext=x", NULL, "no id field"},
	{"v=STSv1 id=abc", NULL, "not separated"},
	{"v=STSv10; id=abc", NULL, "not separated"},
	{"v=STSv1; id=abc;; ", NULL, "not name=value"},
	{"v=STSv1; =x; id=abc", NULL, "not name=value"},
	{"v=STSv1; _x=y; id=abc", NULL, "not name=value"},
	{"v=STSv1; id", NULL, "not name=value"},
	{"v=STSv1; id=abc\x1b[31m", NULL, "character the grammar"},
	{"v=stsv1; id=abc", NULL, "does not begin with v=STSv1"},
	{" v=STSv1; id=abc", NULL, "does not begin with v=STSv1"},
	{"id=abc; v=STSv1", NULL, "does not begin with v=STSv1"},
	{"", NULL, "does not begin with v=STSv1"},
};

static void test_txt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof txt_cases / sizeof *txt_cases; i++) {
		const struct txt_case *c = &txt_cases[i];
		char *id = (char *)"x";
		struct err e = ERR_INIT;
		int rc = mta_sts_parse_txt(c->record, strlen(c->record), &id,
		                           &e);
		if (c->id) {
			if (rc != EX_OK)
				fail_msg("'%s': %s", c->record, err_msg(&e));
			assert_string_equal(id, c->id);
			free(id);
		} else {
			if (rc != EX_DATAERR)
				fail_msg("'%s' accepted", c->record);
			assert_null(id);
			if (!strstr(err_msg(&e), c->why))
				fail_msg("'%s': '%s' lacks '%s'", c->record,
				         err_msg(&e), c->why);
			assert_non_null(strstr(err_msg(&e), "RFC 8461 3.1"));
			assert_clean(err_msg(&e));
		}
		err_clear(&e);
	}
	/* a NUL inside a record is not a value character */
	char *id;
	struct err e = ERR_INIT;
	assert_int_equal(mta_sts_parse_txt("v=STSv1; id=a\0b", 15, &id, &e),
	                 EX_DATAERR);
	err_clear(&e);
	assert_int_equal(mta_sts_parse_txt("v=STSv1; id=ab\0", 14, &id, &e),
	                 EX_OK);
	assert_string_equal(id, "ab");
	free(id);
}

/* ---- the policy ---------------------------------------------------------- */

struct policy_case {
	const char *name;
	const char *text;
	int mode;         /* -1: refused */
	long max_age;     /* or, refused: unused */
	const char *mx;   /* patterns joined by ' ', or the message part */
};

#define BAD (-1)
#define ENF MTA_STS_ENFORCE
#define TST MTA_STS_TESTING
#define NON MTA_STS_NONE

static const struct policy_case policy_cases[] = {
	{"RFC 8461 3.2's example",
	 "version: STSv1\nmode: enforce\nmx: mail.example.com\n"
	 "mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n",
	 ENF, 604800, "mail.example.com *.example.net backupmx.example.com"},
	{"CRLF", "version: STSv1\r\nmode: testing\r\nmx: a.example\r\n"
	         "max_age: 86400\r\n",
	 TST, 86400, "a.example"},
	{"no final line end", "version: STSv1\nmode: enforce\nmx: a.example\n"
	                      "max_age: 5",
	 ENF, 5, "a.example"},
	{"fields in any order", "max_age: 7\nmx: a.example\nmode: enforce\n"
	                        "version: STSv1\n",
	 ENF, 7, "a.example"},
	{"white space around values, none after the colon",
	 "version:STSv1\nmode:\t enforce \t\nmx :  a.example  \nmax_age:1\n",
	 ENF, 1, "a.example"},
	{"blank lines and a byte order mark",
	 "\xef\xbb\xbfversion: STSv1\n\n  \r\nmode: enforce\nmx: a.example\n"
	 "max_age: 1\n\n\n",
	 ENF, 1, "a.example"},
	{"mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 0\n",
	 NON, 0, ""},
	{"mode none keeps its mx", "version: STSv1\nmode: none\nmx: a.b\n"
	                           "max_age: 0\n",
	 NON, 0, "a.b"},
	{"mx: lower case, trailing dot dropped",
	 "version: STSv1\nmode: enforce\nmx: MAIL.Example.COM.\n"
	 "mx: *.XN--BCHER-KVA.example\nmax_age: 1\n",
	 ENF, 1, "mail.example.com *.xn--bcher-kva.example"},
	{"unknown fields ignored, even odd ones",
	 "version: STSv1\nx-note: anything at all = ; \xc3\xa9\nmode: enforce\n"
	 "mx: a.example\nmax_age: 1\nfoo:\n",
	 ENF, 1, "a.example"},
	{"max_age capped", "version: STSv1\nmode: enforce\nmx: a.example\n"
	                   "max_age: 9999999999\n",
	 ENF, MTA_STS_MAX_AGE, "a.example"},
	{"max_age at the maximum", "version: STSv1\nmode: enforce\n"
	                           "mx: a.example\nmax_age: 31557600\n",
	 ENF, 31557600, "a.example"},
	{"max_age with leading zeros", "version: STSv1\nmode: enforce\n"
	                               "mx: a.example\nmax_age: 0000000010\n",
	 ENF, 10, "a.example"},
	/* duplicates: the first of version, mode and max_age counts */
	{"duplicate mode: the first counts",
	 "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\n"
	 "max_age: 1\n",
	 ENF, 1, "a.example"},
	{"duplicate mode: a later invalid one is ignored",
	 "version: STSv1\nmode: testing\nmode: bogus\nmx: a.example\n"
	 "max_age: 1\n",
	 TST, 1, "a.example"},
	{"duplicate max_age and version",
	 "version: STSv1\nversion: STSv2\nmode: enforce\nmx: a.example\n"
	 "max_age: 10\nmax_age: x\nmax_age: 20\n",
	 ENF, 10, "a.example"},
	{"duplicate mode: a first invalid one is not rescued",
	 "version: STSv1\nmode: bogus\nmode: enforce\nmx: a.example\n"
	 "max_age: 1\n",
	 BAD, 0, "line 2 of the MTA-STS policy has mode \"bogus\""},
	{"duplicate mx: every one counts",
	 "version: STSv1\nmode: enforce\nmx: a.example\nmx: a.example\n"
	 "max_age: 1\n",
	 ENF, 1, "a.example a.example"},

	/* refusals */
	{"empty", "", BAD, 0, "has no version field"},
	{"no version", "mode: enforce\nmx: a.example\nmax_age: 1\n", BAD, 0,
	 "has no version field"},
	{"no mode", "version: STSv1\nmx: a.example\nmax_age: 1\n", BAD, 0,
	 "has no mode field"},
	{"no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", BAD,
	 0, "has no max_age field"},
	{"no mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", BAD, 0,
	 "has no mx field"},
	{"keys are case-sensitive", "version: STSv1\nMode: enforce\n"
	                            "mx: a.example\nmax_age: 1\n",
	 BAD, 0, "has no mode field"},
	{"values are case-sensitive", "version: STSv1\nmode: Enforce\n"
	                              "mx: a.example\nmax_age: 1\n",
	 BAD, 0, "line 2 of the MTA-STS policy has mode \"Enforce\", not"},
	{"version 2", "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", BAD,
	 0, "line 1 of the MTA-STS policy has version \"STSv2\", not STSv1"},
	{"max_age empty", "version: STSv1\nmode: enforce\nmx: a\nmax_age:\n",
	 BAD, 0, "line 4 of the MTA-STS policy has max_age \"\""},
	{"max_age 11 digits", "version: STSv1\nmode: enforce\nmx: a\n"
	                      "max_age: 10000000000\n",
	 BAD, 0, "1 to 10 digits"},
	{"max_age negative", "version: STSv1\nmode: enforce\nmx: a\n"
	                     "max_age: -1\n",
	 BAD, 0, "has max_age \"-1\""},
	{"max_age signed", "version: STSv1\nmode: enforce\nmx: a\n"
	                   "max_age: +1\n",
	 BAD, 0, "has max_age \"+1\""},
	{"max_age with a unit", "version: STSv1\nmode: enforce\nmx: a\n"
	                        "max_age: 1d\n",
	 BAD, 0, "has max_age \"1d\""},
	{"max_age 1e5", "version: STSv1\nmode: enforce\nmx: a\nmax_age: 1e5\n",
	 BAD, 0, "not a number of seconds"},
	{"mx empty", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", BAD,
	 0, "line 3 of the MTA-STS policy has mx \"\", neither"},
	{"mx label with a leading hyphen",
	 "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n", BAD, 0,
	 "has mx \"-a.example\""},
	{"mx label with a trailing hyphen",
	 "version: STSv1\nmode: enforce\nmx: a-.example\nmax_age: 1\n", BAD, 0,
	 "has mx \"a-.example\""},
	{"mx empty label", "version: STSv1\nmode: enforce\nmx: a..example\n"
	                   "max_age: 1\n",
	 BAD, 0, "has mx \"a..example\""},
	{"mx two trailing dots", "version: STSv1\nmode: enforce\n"
	                         "mx: a.example..\nmax_age: 1\n",
	 BAD, 0, "has mx"},
	{"mx bare wildcard", "version: STSv1\nmode: enforce\nmx: *\n"
	                     "max_age: 1\n",
	 BAD, 0, "has mx \"*\""},
	{"mx wildcard alone", "version: STSv1\nmode: enforce\nmx: *.\n"
	                      "max_age: 1\n",
	 BAD, 0, "has mx \"*.\""},
	{"mx double wildcard", "version: STSv1\nmode: enforce\nmx: *.*.a.b\n"
	                       "max_age: 1\n",
	 BAD, 0, "has mx \"*.*.a.b\""},
	{"mx inner wildcard", "version: STSv1\nmode: enforce\nmx: a.*.b\n"
	                      "max_age: 1\n",
	 BAD, 0, "has mx \"a.*.b\""},
	{"mx partial wildcard", "version: STSv1\nmode: enforce\n"
	                        "mx: mx*.example\nmax_age: 1\n",
	 BAD, 0, "has mx \"mx*.example\""},
	{"mx underscore", "version: STSv1\nmode: enforce\nmx: a_b.example\n"
	                  "max_age: 1\n",
	 BAD, 0, "has mx \"a_b.example\""},
	{"mx U-label", "version: STSv1\nmode: enforce\n"
	               "mx: b\xc3\xbc" "cher.example\nmax_age: 1\n",
	 BAD, 0, "has mx \"b\xc3\xbc" "cher.example\""},
	{"mx with a port", "version: STSv1\nmode: enforce\nmx: a.example:25\n"
	                   "max_age: 1\n",
	 BAD, 0, "has mx \"a.example:25\""},
	{"mx two values", "version: STSv1\nmode: enforce\nmx: a.example b.ex\n"
	                  "max_age: 1\n",
	 BAD, 0, "has mx \"a.example b.ex\""},
	{"mx label of 64", "version: STSv1\nmode: enforce\nmx: "
	                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                   ".example\nmax_age: 1\n",
	 BAD, 0, "...\""},
	{"a line without a colon", "version: STSv1\nmode enforce\n", BAD, 0,
	 "line 2 of the MTA-STS policy is not a \"key: value\" field"},
	{"HTML", "<html><body>Not found</body></html>\n", BAD, 0,
	 "line 1 of the MTA-STS policy is not a \"key: value\" field"},
	{"HTML with a colon", "<a href=\"https://x\">\n", BAD,
	 0, "line 1 of the MTA-STS policy has a field name the grammar does "
	    "not allow"},
	{"folded line", "version: STSv1\nmode: enforce\n mx: a\nmax_age: 1\n",
	 BAD, 0, "line 3 of the MTA-STS policy begins with white space"},
	{"bare CR", "version: STSv1\rmode: enforce\nmx: a\nmax_age: 1\n", BAD,
	 0, "line 1 of the MTA-STS policy has a carriage return not followed"},
	{"CR at the very end", "version: STSv1\nmode: none\nmax_age: 1\r", BAD,
	 0, "line 3 of the MTA-STS policy has a carriage return"},
	{"escape sequence", "version: STSv1\nmode: enforce\x1b[2J\nmx: a\n"
	                    "max_age: 1\n",
	 BAD, 0, "line 2 of the MTA-STS policy holds a control character"},
	{"DEL in an unknown field", "version: STSv1\nx: \x7f\n", BAD, 0,
	 "line 2 of the MTA-STS policy holds a control character"},
	{"field name too long", "version: STSv1\n"
	                        "a23456789012345678901234567890123: x\n",
	 BAD, 0, "line 2 of the MTA-STS policy has a field name"},
};

/* The patterns of p joined by ' '. */
static char *joined(const struct mta_sts_policy *p)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < p->mx_count; i++)
		buf_printf(&b, "%s%s", i ? " " : "", p->mx[i]);
	return buf_steal(&b);
}

static void check_policy_case(const struct policy_case *c, const char *text,
                              size_t len)
{
	struct mta_sts_policy p;
	struct err e = ERR_INIT;
	int rc = mta_sts_parse_policy(text, len, &p, &e);
	if (c->mode == BAD) {
		if (rc != EX_DATAERR)
			fail_msg("%s: accepted", c->name);
		if (!strstr(err_msg(&e), c->mx))
			fail_msg("%s: '%s' lacks '%s'", c->name, err_msg(&e),
			         c->mx);
		assert_non_null(strstr(err_msg(&e), "RFC 8461"));
		assert_clean(err_msg(&e));
		assert_null(p.mx);
		assert_int_equal(p.mx_count, 0);
	} else {
		if (rc != EX_OK)
			fail_msg("%s: %s", c->name, err_msg(&e));
		assert_int_equal(p.mode, c->mode);
		assert_int_equal(p.max_age, c->max_age);
		char *mx = joined(&p);
		if (strcmp(mx, c->mx) != 0)
			fail_msg("%s: mx '%s', not '%s'", c->name, mx, c->mx);
		free(mx);
		assert_null(p.id);
		assert_int_equal(p.fetched, 0);
		assert_false(p.from_cache);
	}
	mta_sts_policy_free(&p);
	mta_sts_policy_free(&p); /* twice is fine */
	err_clear(&e);
}

static void test_policy(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof policy_cases / sizeof *policy_cases;
	     i++) {
		const struct policy_case *c = &policy_cases[i];
		check_policy_case(c, c->text, strlen(c->text));
	}
}

/* Control characters and long values are quoted harmless and short. */
static void test_policy_messages(void **state)
{
	(void)state;
	struct mta_sts_policy p;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	buf_add_str(&b, "version: STSv1\nmode: enforce\nmx: ");
	for (int i = 0; i < 1000; i++)
		buf_add_str(&b, "SECRET");
	buf_add_str(&b, "_\nmax_age: 1\n");
	assert_int_equal(mta_sts_parse_policy(b.data, b.len, &p, &e),
	                 EX_DATAERR);
	/* MTA_STS_MAX_QUOTE bytes of the value, then "..." */
	assert_non_null(strstr(err_msg(&e), "SECRETSECRET"));
	assert_non_null(strstr(err_msg(&e), "...\""));
	assert_true(strlen(err_msg(&e)) < MTA_STS_MAX_QUOTE + 200);
	err_clear(&e);
	buf_free(&b);
	/* a NUL is a control character */
	static const char nul[] = "version: STSv1\nmode: enforce\0\n";
	assert_int_equal(mta_sts_parse_policy(nul, sizeof nul - 1, &p, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "line 2"));
	assert_non_null(strstr(err_msg(&e), "control character"));
	err_clear(&e);
	/* a TAB inside a value is escaped too (sanitize.h keeps it) */
	static const char tab[] = "version: STSv1\nmode: enforce\n"
	                          "mx: a\tb.example\nmax_age: 1\n";
	assert_int_equal(mta_sts_parse_policy(tab, sizeof tab - 1, &p, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "has mx \"a\\x09b.example\""));
	assert_null(strchr(err_msg(&e), '\t'));
	err_clear(&e);
	/* a quoted value with invalid UTF-8: escaped */
	static const char odd[] = "version: \xff\x80STSv1\n";
	assert_int_equal(mta_sts_parse_policy(odd, sizeof odd - 1, &p, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "\"\\xff\\x80STSv1\""));
	err_clear(&e);
}

/* MTA_STS_MAX_POLICY bytes are fine, one more is not; many patterns. */
static void test_policy_size(void **state)
{
	(void)state;
	for (int over = 0; over < 2; over++) {
		struct buf b = BUF_INIT;
		buf_add_str(&b, "version: STSv1\nmode: testing\nmax_age: 60\n");
		size_t patterns = 0;
		while (b.len + 12 <= MTA_STS_MAX_POLICY) {
			buf_printf(&b, "mx: m%05zu.x\n", patterns);
			patterns++;
		}
		while (b.len < MTA_STS_MAX_POLICY + (size_t)over)
			buf_add_char(&b, '\n');
		struct mta_sts_policy p;
		struct err e = ERR_INIT;
		int rc = mta_sts_parse_policy(b.data, b.len, &p, &e);
		if (over) {
			assert_int_equal(rc, EX_DATAERR);
			assert_non_null(
			        strstr(err_msg(&e), "larger than 65536"));
		} else {
			assert_int_equal(rc, EX_OK);
			assert_int_equal(p.mx_count, patterns);
			assert_true(patterns > 5000);
			char last[16];
			snprintf(last, sizeof last, "m%05zu.x", patterns - 1);
			assert_string_equal(p.mx[patterns - 1], last);
			assert_true(mta_sts_mx_allowed(&p, "m04000.x"));
			assert_false(mta_sts_mx_allowed(&p, "m99999.x"));
		}
		mta_sts_policy_free(&p);
		err_clear(&e);
		buf_free(&b);
	}
}

/* mta_sts_policy_format reads back as what it wrote. */
static void test_policy_format(void **state)
{
	(void)state;
	char *mx[] = {"mail.example.com", "*.example.net"};
	struct mta_sts_policy p = {MTA_STS_ENFORCE, mx, 2, 604800, NULL, 0,
	                           false};
	struct buf b = BUF_INIT;
	mta_sts_policy_format(&p, &b);
	assert_string_equal(buf_str(&b),
	                    "version: STSv1\r\nmode: enforce\r\n"
	                    "mx: mail.example.com\r\nmx: *.example.net\r\n"
	                    "max_age: 604800\r\n");
	struct mta_sts_policy q;
	struct err e = ERR_INIT;
	assert_int_equal(mta_sts_parse_policy(b.data, b.len, &q, &e), EX_OK);
	assert_int_equal(q.mode, p.mode);
	assert_int_equal(q.max_age, p.max_age);
	assert_int_equal(q.mx_count, 2);
	assert_string_equal(q.mx[0], mx[0]);
	assert_string_equal(q.mx[1], mx[1]);
	mta_sts_policy_free(&q);
	buf_free(&b);
}

/* ---- MX patterns, names, URLs, responses --------------------------------- */

static void test_mx_allowed(void **state)
{
	(void)state;
	char *mx[] = {"mail.example.com", "*.example.net", "*.a.b.example.org"};
	const struct mta_sts_policy p = {MTA_STS_ENFORCE, mx, 3, 1, NULL, 0,
	                                 false};
	static const struct {
		const char *host;
		bool allowed;
	} cases[] = {
		{"mail.example.com", true},
		{"MAIL.Example.Com", true},
		{"mail.example.com.", true},
		{"mail.example.com..", false},
		{"example.com", false},
		{"mail2.example.com", false},
		{"a.mail.example.com", false},
		{"mail.example.co", false},
		{"mail.example.comm", false},
		{"mx1.example.net", true},
		{"MX1.EXAMPLE.NET.", true},
		{"example.net", false},      /* no label for the wildcard */
		{".example.net", false},     /* an empty one */
		{"a.b.example.net", false},  /* two labels */
		{"xexample.net", false},
		{"*.example.net", true},     /* "*" is a label like any */
		{"x.a.b.example.org", true},
		{"a.b.example.org", false},
		{"", false},
		{".", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (mta_sts_mx_allowed(&p, cases[i].host) != cases[i].allowed)
			fail_msg("%s: %d", cases[i].host, !cases[i].allowed);
	assert_false(mta_sts_mx_allowed(&p, NULL));
	assert_false(mta_sts_mx_allowed(NULL, "mail.example.com"));
	const struct mta_sts_policy none = {0};
	assert_false(mta_sts_mx_allowed(&none, "mail.example.com"));
}

static void test_domain_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"example.com", "example.com"},
		{"Example.COM.", "example.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"localhost", "localhost"},
		{"a-b.c", "a-b.c"},
		{"1.2.3.4", "1.2.3.4"}, /* LDH; it has no _mta-sts anyway */
		{"", NULL},
		{".", NULL},
		{"a..b", NULL},
		{".a", NULL},
		{"a.b..", NULL},
		{"[192.0.2.1]", NULL},
		{"b\xc3\xbc" "cher.example", NULL},
		{"a/b", NULL},
		{"../etc", NULL},
		{"a_b.example", NULL},
		{"-a.example", NULL},
		{"a b", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *out = (char *)"x";
		bool ok = mta_sts_domain_normalize(cases[i].in, &out);
		if (ok != (cases[i].out != NULL))
			fail_msg("'%s': %d", cases[i].in, ok);
		if (ok)
			assert_string_equal(out, cases[i].out);
		else
			assert_null(out);
		free(out);
	}
	char *out;
	assert_false(mta_sts_domain_normalize(NULL, &out));
	/* 253 bytes in labels of 63 at most; 254 are too many */
	char name[300];
	memset(name, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	assert_true(mta_sts_domain_normalize(name, &out));
	free(out);
	name[253] = '.';
	name[254] = '\0';
	assert_true(mta_sts_domain_normalize(name, &out)); /* trailing dot */
	free(out);
	name[253] = 'a';
	assert_false(mta_sts_domain_normalize(name, &out));
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_false(mta_sts_domain_normalize(name, &out));
	name[63] = '\0';
	assert_true(mta_sts_domain_normalize(name, &out));
	free(out);
}

static void test_policy_url(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	mta_sts_policy_url("example.com", &b);
	assert_string_equal(buf_str(&b), "https://mta-sts.example.com/"
	                                 ".well-known/mta-sts.txt");
	struct http_url u;
	struct err e = ERR_INIT;
	assert_int_equal(http_parse_url(buf_str(&b), &u, &e), EX_OK);
	assert_string_equal(u.host, "mta-sts.example.com");
	assert_int_equal(u.port, 443);
	http_url_free(&u);
	buf_free(&b);
}

static void test_check_response(void **state)
{
	(void)state;
	static const struct {
		int status;
		const char *type;
		const char *why; /* NULL: accepted */
	} cases[] = {
		{200, "text/plain", NULL},
		{200, "text/plain; charset=utf-8", NULL},
		{200, "TEXT/Plain;charset=us-ascii", NULL},
		{200, "text/plain ; format=flowed", NULL},
		{200, "text/plain;", NULL},
		{200, "text/html", "other than text/plain"},
		{200, "text/plainx", "other than text/plain"},
		{200, "text/plai", "other than text/plain"},
		{200, "application/octet-stream", "other than text/plain"},
		{200, "", "other than text/plain"},
		{200, NULL, "no Content-Type"},
		{301, "text/plain", "redirect (HTTP 301)"},
		{302, "text/plain", "redirect (HTTP 302)"},
		{307, "text/plain", "redirect (HTTP 307)"},
		{308, NULL, "redirect (HTTP 308)"},
		{404, "text/plain", "HTTP 404, not 200"},
		{204, "text/plain", "HTTP 204, not 200"},
		{500, "text/plain", "HTTP 500, not 200"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct err e = ERR_INIT;
		int rc = mta_sts_check_response(cases[i].status, cases[i].type,
		                                &e);
		if (!cases[i].why) {
			if (rc != EX_OK)
				fail_msg("%d %s: %s", cases[i].status,
				         cases[i].type, err_msg(&e));
			continue;
		}
		assert_int_equal(rc, EX_PROTOCOL);
		if (!strstr(err_msg(&e), cases[i].why))
			fail_msg("%d: '%s' lacks '%s'", cases[i].status,
			         err_msg(&e), cases[i].why);
		/* the type is not quoted */
		if (cases[i].type && *cases[i].type &&
		    !strstr("text/plain", cases[i].type))
			assert_null(strstr(err_msg(&e), cases[i].type));
		err_clear(&e);
	}
}

static void test_usable(void **state)
{
	(void)state;
	static const struct {
		int64_t fetched;
		long max_age;
		int64_t now;
		bool usable;
	} cases[] = {
		{NOW, 100, NOW, true},
		{NOW, 100, NOW + 99, true},
		{NOW, 100, NOW + 100, false},  /* expiry = fetched + max_age */
		{NOW, 0, NOW, false},          /* max_age 0: never cached */
		{NOW - DAY, 2 * DAY, NOW, true},
		{NOW + 10, 100, NOW, true},    /* a little in the future */
		{NOW + MTA_STS_MAX_AGE, MTA_STS_MAX_AGE, NOW, false},
		{NOW + 1, MTA_STS_MAX_AGE, NOW, false},
		{NOW, MTA_STS_MAX_AGE, NOW, true},
		{NOW, MTA_STS_MAX_AGE + 1, NOW, false},
		{-1, 100, NOW, false},
		{NOW, -1, NOW, false},
		{INT64_MAX, MTA_STS_MAX_AGE, INT64_MAX, false},
		{0, 100, INT64_MIN, false},
		{0, 100, 50, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct mta_sts_policy p = {0};
		p.fetched = cases[i].fetched;
		p.max_age = cases[i].max_age;
		if (mta_sts_policy_usable(&p, cases[i].now) != cases[i].usable)
			fail_msg("row %zu", i);
	}
}

/* ---- the cache file ------------------------------------------------------ */

static void test_cache_format(void **state)
{
	(void)state;
	char *mx[] = {"mail.example.com", "*.example.net"};
	struct mta_sts_cache c = {
		.has_policy = true,
		.policy = {MTA_STS_ENFORCE, mx, 2, 604800, "20160831085700Z",
		           NOW, false},
		.failed_id = "next1",
		.failed_at = NOW + 5,
	};
	struct buf b = BUF_INIT;
	mta_sts_cache_format("example.com", &c, &b);
	static const char want[] = "outbox-mta-sts 1\ndomain example.com\n"
	                           "failed next1 1700000005\n"
	                           "policy 20160831085700Z 1700000000\n"
	                           "mode enforce\nmax_age 604800\n"
	                           "mx mail.example.com\nmx *.example.net\n";
	assert_string_equal(buf_str(&b), want);
	struct mta_sts_cache r;
	assert_true(mta_sts_cache_parse(b.data, b.len, "example.com", &r));
	assert_true(r.has_policy);
	assert_int_equal(r.policy.mode, MTA_STS_ENFORCE);
	assert_int_equal(r.policy.max_age, 604800);
	assert_string_equal(r.policy.id, "20160831085700Z");
	assert_int_equal(r.policy.fetched, NOW);
	assert_int_equal(r.policy.mx_count, 2);
	assert_string_equal(r.policy.mx[1], "*.example.net");
	assert_string_equal(r.failed_id, "next1");
	assert_int_equal(r.failed_at, NOW + 5);
	mta_sts_cache_free(&r);
	/* another domain's file is not this one's */
	assert_false(mta_sts_cache_parse(b.data, b.len, "example.org", &r));
	assert_false(mta_sts_cache_parse(b.data, b.len, "example.co", &r));
	assert_false(mta_sts_cache_parse(b.data, b.len, NULL, &r));

	/* only a failure; only a policy (mode none, no mx) */
	struct mta_sts_cache f = {.failed_id = "x", .failed_at = 0};
	mta_sts_cache_format("a.b", &f, &b);
	assert_string_equal(buf_str(&b), "outbox-mta-sts 1\ndomain a.b\n"
	                                 "failed x 0\n");
	assert_true(mta_sts_cache_parse(b.data, b.len, "a.b", &r));
	assert_false(r.has_policy);
	assert_string_equal(r.failed_id, "x");
	mta_sts_cache_free(&r);
	struct mta_sts_cache n = {.has_policy = true,
	                          .policy = {.mode = MTA_STS_NONE,
	                                     .max_age = 0,
	                                     .id = "z",
	                                     .fetched = 0}};
	mta_sts_cache_format("a.b", &n, &b);
	assert_string_equal(buf_str(&b), "outbox-mta-sts 1\ndomain a.b\n"
	                                 "policy z 0\nmode none\nmax_age 0\n");
	assert_true(mta_sts_cache_parse(b.data, b.len, "a.b", &r));
	assert_true(r.has_policy);
	assert_int_equal(r.policy.mode, MTA_STS_NONE);
	assert_null(r.failed_id);
	mta_sts_cache_free(&r);
	buf_free(&b);
}

static void test_cache_damaged(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"outbox-mta-sts 1\n",
		"outbox-mta-sts 2\ndomain a.b\n",
		"outbox-mta-sts 1\ndomain a.b",
		"outbox-mta-sts 1\ndomain a.b\nx",
		"outbox-mta-sts 1\ndomain A.b\n",
		"outbox-mta-sts 1\ndomain  a.b\n",
		"outbox-mta-sts 1\r\ndomain a.b\r\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x 01\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x -1\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x 1234567890123456789\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x-y 1\n",
		"outbox-mta-sts 1\ndomain a.b\nfailed x 1\nfailed x 1\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode none\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\n", /* enforce without mx */
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode Enforce\n"
		"max_age 1\nmx a\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 31557601\nmx a\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\nmx A\n", /* not normalized */
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\nmx a.\n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\nmx a\nmx \n",
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\nmx a\nfailed x 1\n", /* out of order */
		"outbox-mta-sts 1\ndomain a.b\npolicy z 0\nmode enforce\n"
		"max_age 1\nmx a\nmx b", /* cut short */
		"outbox-mta-sts 1\ndomain a.b\npolicy  0\nmode none\n"
		"max_age 1\n",
		"outbox-mta-sts 1\ndomain a.b\nmode none\nmax_age 1\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct mta_sts_cache r;
		if (mta_sts_cache_parse(bad[i], strlen(bad[i]), "a.b", &r))
			fail_msg("accepted: '%s'", bad[i]);
		assert_false(r.has_policy);
		assert_null(r.failed_id);
		assert_null(r.policy.mx);
	}
	/* the bare minimum is valid: nothing known */
	struct mta_sts_cache r;
	assert_true(mta_sts_cache_parse("outbox-mta-sts 1\ndomain a.b\n", 28,
	                                "a.b", &r));
	assert_false(r.has_policy);
	mta_sts_cache_free(&r);
	/* a NUL inside */
	static const char nul[] = "outbox-mta-sts 1\ndomain a.b\0\n";
	assert_false(mta_sts_cache_parse(nul, sizeof nul - 1, "a.b", &r));
}

/* ---- the decision -------------------------------------------------------- */

#define FOUND MTA_STS_DNS_FOUND
#define ABSENT MTA_STS_DNS_NONE
#define TEMP MTA_STS_DNS_TEMPFAIL
#define USE MTA_STS_USE_CACHE
#define FETCH MTA_STS_FETCH
#define NOPOL MTA_STS_NO_POLICY

struct decide_case {
	const char *name;
	/* the cache: a policy under cached_id (NULL: none) fetched age
	 * seconds ago with max_age; a failure under failed_id (NULL: none)
	 * failed_ago seconds ago */
	const char *cached_id;
	int64_t age;
	long max_age;
	const char *failed_id;
	int64_t failed_ago;
	/* DNS: the status and up to three records */
	enum mta_sts_dns dns;
	const char *records[3];
	/* the decision */
	enum mta_sts_action action, fallback;
	enum mta_sts_reason reason;
	const char *id;
};

static const struct decide_case decide_cases[] = {
	/* TXT found with one valid record */
	{"same id, fresh: the cache, no fetch", "abc", 3600, 7 * DAY, NULL, 0,
	 FOUND, {"v=STSv1; id=abc"}, USE, USE, MTA_STS_CURRENT, "abc"},
	{"same id, older than a day: refreshed, cache on failure", "abc",
	 DAY, 7 * DAY, NULL, 0, FOUND, {"v=STSv1; id=abc"}, FETCH, USE,
	 MTA_STS_REFRESH, "abc"},
	{"same id, expired: fetched, nothing on failure", "abc", 7 * DAY,
	 7 * DAY, NULL, 0, FOUND, {"v=STSv1; id=abc"}, FETCH, NOPOL,
	 MTA_STS_EXPIRED, "abc"},
	{"new id: fetched, the old policy on failure", "abc", 3600, 7 * DAY,
	 NULL, 0, FOUND, {"v=STSv1; id=def"}, FETCH, USE, MTA_STS_NEW_ID,
	 "def"},
	{"new id, old policy expired", "abc", 8 * DAY, 7 * DAY, NULL, 0,
	 FOUND, {"v=STSv1; id=def"}, FETCH, NOPOL, MTA_STS_EXPIRED, "def"},
	{"nothing cached: fetched, nothing on failure", NULL, 0, 0, NULL, 0,
	 FOUND, {"v=STSv1; id=abc"}, FETCH, NOPOL, MTA_STS_NOT_CACHED, "abc"},
	{"cached max_age 0 is never current", "abc", 0, 0, NULL, 0, FOUND,
	 {"v=STSv1; id=abc"}, FETCH, NOPOL, MTA_STS_EXPIRED, "abc"},
	{"ids compare exactly", "ABC", 10, DAY, NULL, 0, FOUND,
	 {"v=STSv1; id=abc"}, FETCH, USE, MTA_STS_NEW_ID, "abc"},
	/* RFC 8461 3.3: at most one failed fetch per id in five minutes */
	{"failed under this id a minute ago: not again, nothing applies",
	 NULL, 0, 0, "abc", 60, FOUND, {"v=STSv1; id=abc"}, NOPOL, NOPOL,
	 MTA_STS_RETRY_LATER, "abc"},
	{"failed under the new id a minute ago: the old policy", "old", 60,
	 DAY, "abc", 60, FOUND, {"v=STSv1; id=abc"}, USE, USE,
	 MTA_STS_RETRY_LATER, "abc"},
	{"refresh failed a minute ago: the cache", "abc", 2 * DAY, 7 * DAY,
	 "abc", 60, FOUND, {"v=STSv1; id=abc"}, USE, USE, MTA_STS_RETRY_LATER,
	 "abc"},
	{"failed five minutes ago: tried again", NULL, 0, 0, "abc",
	 MTA_STS_RETRY_AFTER, FOUND, {"v=STSv1; id=abc"}, FETCH, NOPOL,
	 MTA_STS_NOT_CACHED, "abc"},
	{"failed under another id: tried", NULL, 0, 0, "xyz", 10, FOUND,
	 {"v=STSv1; id=abc"}, FETCH, NOPOL, MTA_STS_NOT_CACHED, "abc"},
	{"a failure in the future (clock set back): tried", NULL, 0, 0, "abc",
	 -60, FOUND, {"v=STSv1; id=abc"}, FETCH, NOPOL, MTA_STS_NOT_CACHED,
	 "abc"},
	/* the record among others */
	{"other TXT records are ignored", NULL, 0, 0, NULL, 0, FOUND,
	 {"v=spf1 -all", "v=STSv1; id=abc", "hello"}, FETCH, NOPOL,
	 MTA_STS_NOT_CACHED, "abc"},
	{"\"v=STSv1\" alone does not count", NULL, 0, 0, NULL, 0, FOUND,
	 {"v=STSv1", "v=STSv1; id=abc"}, FETCH, NOPOL, MTA_STS_NOT_CACHED,
	 "abc"},
	{"\"v=STSv1 ;\" counts", NULL, 0, 0, NULL, 0, FOUND,
	 {"v=STSv1 ; id=abc"}, FETCH, NOPOL, MTA_STS_NOT_CACHED, "abc"},
	/* no valid record: the cache or nothing */
	{"two STSv1 records: invalid, the cache", "abc", 60, DAY, NULL, 0,
	 FOUND, {"v=STSv1; id=abc", "v=STSv1; id=def"}, USE, USE,
	 MTA_STS_RECORD_INVALID, NULL},
	{"two equal STSv1 records: invalid too", NULL, 0, 0, NULL, 0, FOUND,
	 {"v=STSv1; id=abc", "v=STSv1; id=abc"}, NOPOL, NOPOL,
	 MTA_STS_RECORD_INVALID, NULL},
	{"an invalid record: the cache", "abc", 60, DAY, NULL, 0, FOUND,
	 {"v=STSv1; id=a-b"}, USE, USE, MTA_STS_RECORD_INVALID, NULL},
	{"an invalid record, expired cache: nothing", "abc", 2 * DAY, DAY,
	 NULL, 0, FOUND, {"v=STSv1;"}, NOPOL, NOPOL, MTA_STS_RECORD_INVALID,
	 NULL},
	{"only other records: as absent", "abc", 60, DAY, NULL, 0, FOUND,
	 {"v=spf1 -all", "v=STSv2; id=x"}, USE, USE, MTA_STS_NO_RECORD, NULL},
	{"found, but no records at all", NULL, 0, 0, NULL, 0, FOUND, {NULL},
	 NOPOL, NOPOL, MTA_STS_NO_RECORD, NULL},
	/* TXT absent */
	{"absent, cache usable: the cache", "abc", 60, DAY, NULL, 0, ABSENT,
	 {NULL}, USE, USE, MTA_STS_NO_RECORD, NULL},
	{"absent, cache expired: nothing", "abc", DAY, DAY, NULL, 0, ABSENT,
	 {NULL}, NOPOL, NOPOL, MTA_STS_NO_RECORD, NULL},
	{"absent, nothing cached: nothing", NULL, 0, 0, NULL, 0, ABSENT,
	 {NULL}, NOPOL, NOPOL, MTA_STS_NO_RECORD, NULL},
	{"absent, cache older than a day: the cache, no refresh", "abc",
	 3 * DAY, 7 * DAY, NULL, 0, ABSENT, {NULL}, USE, USE,
	 MTA_STS_NO_RECORD, NULL},
	/* TXT lookup failed */
	{"tempfail, cache usable: the cache", "abc", 60, DAY, NULL, 0, TEMP,
	 {NULL}, USE, USE, MTA_STS_DNS_FAILED, NULL},
	{"tempfail, cache expired: nothing", "abc", 2 * DAY, DAY, NULL, 0, TEMP,
	 {NULL}, NOPOL, NOPOL, MTA_STS_DNS_FAILED, NULL},
	{"tempfail, nothing cached: nothing", NULL, 0, 0, NULL, 0, TEMP,
	 {NULL}, NOPOL, NOPOL, MTA_STS_DNS_FAILED, NULL},
	{"tempfail ignores records", NULL, 0, 0, NULL, 0, TEMP,
	 {"v=STSv1; id=abc"}, NOPOL, NOPOL, MTA_STS_DNS_FAILED, NULL},
};

static void test_decide(void **state)
{
	(void)state;
	char *mx[] = {"mx.example.com"};
	for (size_t i = 0; i < sizeof decide_cases / sizeof *decide_cases;
	     i++) {
		const struct decide_case *c = &decide_cases[i];
		struct mta_sts_cache cache = {0};
		if (c->cached_id) {
			cache.has_policy = true;
			cache.policy = (struct mta_sts_policy){
				MTA_STS_ENFORCE, mx,  1, c->max_age,
				(char *)c->cached_id, NOW - c->age, false};
		}
		cache.failed_id = (char *)c->failed_id;
		cache.failed_at = NOW - c->failed_ago;
		size_t lengths[3] = {0}, count = 0;
		while (count < 3 && c->records[count]) {
			lengths[count] = strlen(c->records[count]);
			count++;
		}
		const struct mta_sts_txt txt = {c->dns, c->records, lengths,
		                                count};
		struct mta_sts_decision d;
		bool any = c->cached_id || c->failed_id;
		mta_sts_decide(any ? &cache : NULL, &txt, NOW, &d);
		if (d.action != c->action || d.fallback != c->fallback ||
		    d.reason != c->reason)
			fail_msg("%s: action %d fallback %d reason %d", c->name,
			         d.action, d.fallback, d.reason);
		if (c->id)
			assert_string_equal(d.id, c->id);
		else
			assert_null(d.id);
		if (c->reason == MTA_STS_RECORD_INVALID) {
			assert_non_null(d.problem);
			assert_non_null(strstr(d.problem, "RFC 8461 3.1"));
			assert_clean(d.problem);
		} else {
			assert_null(d.problem);
		}
		mta_sts_decision_free(&d);
	}
}

/* The decision's sentence for several records names the count. */
static void test_decide_problem(void **state)
{
	(void)state;
	const char *records[] = {"v=STSv1; id=a", "v=STSv1; id=b",
	                         "v=STSv1; id=c"};
	const size_t lengths[] = {13, 13, 13};
	const struct mta_sts_txt txt = {FOUND, records, lengths, 3};
	struct mta_sts_decision d;
	mta_sts_decide(NULL, &txt, NOW, &d);
	assert_int_equal(d.reason, MTA_STS_RECORD_INVALID);
	assert_non_null(strstr(d.problem, "3 _mta-sts TXT records begin"));
	mta_sts_decision_free(&d);
	/* records given as NULL with a count: nothing read */
	const struct mta_sts_txt broken = {FOUND, NULL, NULL, 2};
	mta_sts_decide(NULL, &broken, NOW, &d);
	assert_int_equal(d.reason, MTA_STS_NO_RECORD);
	mta_sts_decision_free(&d);
}

/* ---- the cache directory ------------------------------------------------- */

struct tmp {
	char dir[64];   /* the temporary directory */
	char cache[96]; /* dir/cache */
};

static void tmp_make(struct tmp *t)
{
	const char *base = getenv("TMPDIR");
	snprintf(t->dir, sizeof t->dir, "%s/mta-sts-XXXXXX",
	         base && *base && strlen(base) < 30 ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->cache, sizeof t->cache, "%s/cache", t->dir);
}

static void tmp_remove(struct tmp *t)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fd_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void sample_cache(struct mta_sts_cache *c, char **mx)
{
	*c = (struct mta_sts_cache){
		.has_policy = true,
		.policy = {MTA_STS_ENFORCE, mx, 1, 7 * DAY, "abc", NOW, false},
	};
}

static void test_cache_round_trip(void **state)
{
	(void)state;
	struct tmp t;
	tmp_make(&t);
	char *mx[] = {"mx.example.com"};
	struct mta_sts_cache c, r;
	sample_cache(&c, mx);
	struct err e = ERR_INIT;
	struct buf notes = BUF_INIT;
	bool found = true;
	/* no directory yet: nothing, and nothing made */
	assert_int_equal(mta_sts_cache_load(t.cache, "example.com", &r, &found,
	                                    &notes, &e),
	                 EX_OK);
	assert_false(found);
	struct stat st;
	assert_int_equal(stat(t.cache, &st), -1);
	/* stored: directory 0700, file 0600, read back equal */
	assert_int_equal(mta_sts_cache_store(t.cache, "example.com", &c, &e),
	                 EX_OK);
	assert_int_equal(stat(t.cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char path[160];
	snprintf(path, sizeof path, "%s/example.com", t.cache);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mta_sts_cache_load(t.cache, "example.com", &r, &found,
	                                    &notes, &e),
	                 EX_OK);
	assert_true(found);
	assert_true(r.has_policy);
	assert_string_equal(r.policy.id, "abc");
	assert_int_equal(r.policy.fetched, NOW);
	assert_int_equal(r.policy.max_age, 7 * DAY);
	assert_string_equal(r.policy.mx[0], "mx.example.com");
	mta_sts_cache_free(&r);
	/* replaced, and no temporary file left */
	c.failed_id = "new";
	c.failed_at = NOW + 1;
	assert_int_equal(mta_sts_cache_store(t.cache, "example.com", &c, &e),
	                 EX_OK);
	assert_int_equal(mta_sts_cache_load(t.cache, "example.com", &r, &found,
	                                    &notes, &e),
	                 EX_OK);
	assert_true(found);
	assert_string_equal(r.failed_id, "new");
	mta_sts_cache_free(&r);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = example.com",
	         t.cache);
	assert_int_equal(system(cmd), 0);
	/* group and other bits of our directory are taken away */
	assert_int_equal(chmod(t.cache, 0777), 0);
	assert_int_equal(mta_sts_cache_load(t.cache, "example.com", &r, &found,
	                                    &notes, &e),
	                 EX_OK);
	assert_true(found);
	mta_sts_cache_free(&r);
	assert_int_equal(stat(t.cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(notes.len, 0);
	buf_free(&notes);
	tmp_remove(&t);
}

/* A damaged or untrusted file is absent, removed and noted. */
static void test_cache_damaged_files(void **state)
{
	(void)state;
	struct tmp t;
	tmp_make(&t);
	assert_int_equal(mkdir(t.cache, 0700), 0);
	char path[160], other[160];
	snprintf(path, sizeof path, "%s/a.example", t.cache);
	snprintf(other, sizeof other, "%s/elsewhere", t.dir);
	static const char good[] = "outbox-mta-sts 1\ndomain a.example\n"
	                           "policy abc 1700000000\nmode enforce\n"
	                           "max_age 100\nmx mx.a.example\n";
	enum { GARBAGE, WRONG_DOMAIN, MODE_644, SYMLINK, HARDLINK, FIFO, EMPTY,
	       HUGE, DIRECTORY, CASES };
	for (int k = 0; k < CASES; k++) {
		switch (k) {
		case GARBAGE:
			write_file(path, "outbox-mta-sts 1\ngarbage\n", 0600);
			break;
		case WRONG_DOMAIN:
			write_file(path, "outbox-mta-sts 1\ndomain b.example\n",
			           0600);
			break;
		case MODE_644:
			write_file(path, good, 0644);
			break;
		case SYMLINK:
			write_file(other, good, 0600);
			assert_int_equal(symlink(other, path), 0);
			break;
		case HARDLINK:
			write_file(other, good, 0600);
			assert_int_equal(link(other, path), 0);
			break;
		case FIFO:
			assert_int_equal(mkfifo(path, 0600), 0);
			break;
		case EMPTY:
			write_file(path, "", 0600);
			break;
		case HUGE: {
			struct buf b = BUF_INIT;
			buf_add_str(&b, good);
			while (b.len <= MTA_STS_MAX_CACHE_FILE)
				buf_add_str(&b, "mx mx.a.example\n");
			write_file(path, b.data, 0600);
			buf_free(&b);
			break;
		}
		case DIRECTORY:
			assert_int_equal(mkdir(path, 0700), 0);
			break;
		}
		struct mta_sts_cache r;
		struct err e = ERR_INIT;
		struct buf notes = BUF_INIT;
		bool found = true;
		assert_int_equal(mta_sts_cache_load(t.cache, "a.example", &r,
		                                    &found, &notes, &e),
		                 EX_OK);
		assert_false(found);
		assert_false(r.has_policy);
		if (!strstr(buf_str(&notes), "damaged or not a private file"))
			fail_msg("case %d: notes '%s'", k, buf_str(&notes));
		struct stat st;
		if (k == DIRECTORY) {
			assert_int_equal(rmdir(path), 0);
		} else {
			/* removed (the symlink itself, not its target) */
			assert_int_equal(lstat(path, &st), -1);
			assert_int_equal(errno, ENOENT);
		}
		unlink(other);
		buf_free(&notes);
	}
	/* the good file itself is fine */
	write_file(path, good, 0600);
	struct mta_sts_cache r;
	struct err e = ERR_INIT;
	bool found;
	assert_int_equal(mta_sts_cache_load(t.cache, "a.example", &r, &found,
	                                    NULL, &e),
	                 EX_OK);
	assert_true(found);
	mta_sts_cache_free(&r);
	tmp_remove(&t);
}

/* An unsafe directory is a configuration error, for reading and for
 * writing. */
static void test_cache_unsafe_dir(void **state)
{
	(void)state;
	struct tmp t;
	tmp_make(&t);
	char target[128];
	snprintf(target, sizeof target, "%s/target", t.dir);
	assert_int_equal(mkdir(target, 0700), 0);
	char *mx[] = {"mx.example.com"};
	struct mta_sts_cache c, r;
	sample_cache(&c, mx);
	enum { SYMLINK, REGULAR_FILE, OTHER_OWNER, CASES };
	for (int k = 0; k < CASES; k++) {
		const char *want = NULL;
		switch (k) {
		case SYMLINK:
			assert_int_equal(symlink(target, t.cache), 0);
			want = "symbolic link or not a directory";
			break;
		case REGULAR_FILE:
			write_file(t.cache, "x", 0600);
			want = "symbolic link or not a directory";
			break;
		case OTHER_OWNER:
			if (geteuid() != 0)
				continue; /* only root can give it away */
			assert_int_equal(mkdir(t.cache, 0700), 0);
			assert_int_equal(chown(t.cache, 12345, 12345), 0);
			want = "belongs to another user";
			break;
		}
		struct err e = ERR_INIT;
		bool found;
		assert_int_equal(mta_sts_cache_load(t.cache, "example.com", &r,
		                                    &found, NULL, &e),
		                 EX_CONFIG);
		if (!strstr(err_msg(&e), want))
			fail_msg("case %d: '%s'", k, err_msg(&e));
		assert_non_null(strstr(err_msg(&e), t.cache));
		err_clear(&e);
		assert_int_equal(mta_sts_cache_store(t.cache, "example.com", &c,
		                                     &e),
		                 EX_CONFIG);
		err_clear(&e);
		/* mta_sts_get_policy fails the same way */
		const struct mta_sts_settings s = {.cache_dir = t.cache};
		const struct mta_sts_txt none = {ABSENT, NULL, NULL, 0};
		struct mta_sts_policy p;
		assert_int_equal(mta_sts_get_policy(&s, "example.com", &none,
		                                    NOW, &p, NULL, &e),
		                 EX_CONFIG);
		assert_int_equal(p.mode, MTA_STS_NONE);
		err_clear(&e);
		/* nothing was written through the link */
		char cmd[160];
		snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", target);
		assert_int_equal(system(cmd), 0);
		if (k == OTHER_OWNER)
			assert_int_equal(rmdir(t.cache), 0);
		else
			assert_int_equal(unlink(t.cache), 0);
	}
	/* a file where a parent directory should be: not a directory */
	char blocked[160];
	snprintf(blocked, sizeof blocked, "%s/file/cache", t.dir);
	char file[128];
	snprintf(file, sizeof file, "%s/file", t.dir);
	write_file(file, "x", 0600);
	struct err e = ERR_INIT;
	assert_int_equal(mta_sts_cache_store(blocked, "example.com", &c, &e),
	                 EX_CONFIG);
	err_clear(&e);
	/* a directory that cannot be made (procfs takes none, even from
	 * root) is EX_CANTCREAT when storing, and nothing when loading */
	assert_int_equal(mta_sts_cache_store("/proc/outbox-mta-sts/cache",
	                                     "example.com", &c, &e),
	                 EX_CANTCREAT);
	assert_non_null(strstr(err_msg(&e), "cannot create /proc/outbox-"));
	err_clear(&e);
	bool found;
	assert_int_equal(mta_sts_cache_load("/proc/outbox-mta-sts/cache",
	                                    "example.com", &r, &found, NULL,
	                                    &e),
	                 EX_OK);
	assert_false(found);
	tmp_remove(&t);
}

static void test_cache_dir(void **state)
{
	(void)state;
	char *dir = mta_sts_cache_dir(NULL);
	if (geteuid() == 0) {
		/* root: inside the spool, only when the spool exists */
		struct stat st;
		if (stat(QUEUE_SYSTEM_DIR, &st) == 0)
			assert_string_equal(dir, QUEUE_SYSTEM_DIR "/mta-sts");
		else
			assert_null(dir);
	} else {
		assert_null(dir); /* no environment: no home */
	}
	free(dir);
}

/* ---- mta_sts_get_policy, nothing fetched --------------------------------- */

static void collect(void *ctx, const char *line)
{
	buf_add_str(ctx, line);
	buf_add_char(ctx, '\n');
}

static void test_get_policy_cached(void **state)
{
	(void)state;
	struct tmp t;
	tmp_make(&t);
	char *mx[] = {"mx.example.com"};
	struct mta_sts_cache c;
	sample_cache(&c, mx);
	struct err e = ERR_INIT;
	assert_int_equal(mta_sts_cache_store(t.cache, "example.com", &c, &e),
	                 EX_OK);
	struct buf trace = BUF_INIT, notes = BUF_INIT;
	const struct mta_sts_settings s = {.cache_dir = t.cache,
	                                   .trace = collect,
	                                   .trace_ctx = &trace};
	const char *records[] = {"v=STSv1; id=abc"};
	const size_t lengths[] = {15};
	const struct mta_sts_txt found = {FOUND, records, lengths, 1};
	const struct mta_sts_txt absent = {ABSENT, NULL, NULL, 0};
	const struct mta_sts_txt temp = {TEMP, NULL, NULL, 0};
	const struct mta_sts_txt *cases[] = {&found, &absent, &temp};
	static const char *const said[] = {
		"MTA-STS for example.com: the cached policy (id abc, mode "
		"enforce) applies until 2023-11-21 22:13:20 UTC\n",
		"MTA-STS for example.com: no _mta-sts TXT record; the cached "
		"policy (id abc, mode enforce) applies until 2023-11-21 "
		"22:13:20 UTC\n",
		"MTA-STS for example.com: the _mta-sts TXT lookup failed "
		"temporarily; the cached policy (id abc, mode enforce) applies "
		"until 2023-11-21 22:13:20 UTC\n",
	};
	for (size_t i = 0; i < 3; i++) {
		struct mta_sts_policy p;
		/* the domain in any case, with a trailing dot */
		assert_int_equal(mta_sts_get_policy(&s, "Example.COM.",
		                                    cases[i], NOW + 3600, &p,
		                                    &notes, &e),
		                 EX_OK);
		assert_int_equal(p.mode, MTA_STS_ENFORCE);
		assert_true(p.from_cache);
		assert_string_equal(p.id, "abc");
		assert_int_equal(p.mx_count, 1);
		assert_true(mta_sts_mx_allowed(&p, "mx.example.com"));
		assert_string_equal(buf_str(&notes), said[i]);
		mta_sts_policy_free(&p);
		buf_reset(&notes);
	}
	/* expired: with no record, nothing applies */
	struct mta_sts_policy p;
	assert_int_equal(mta_sts_get_policy(&s, "example.com", &absent,
	                                    NOW + 7 * DAY, &p, &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_NONE);
	assert_false(p.from_cache);
	assert_null(p.mx);
	assert_string_equal(buf_str(&notes),
	                    "MTA-STS for example.com: no _mta-sts TXT record; "
	                    "no policy applies\n");
	buf_reset(&notes);
	/* two records: invalid, the cache still applies */
	const char *two[] = {"v=STSv1; id=abc", "v=STSv1; id=abd"};
	const size_t two_lengths[] = {15, 15};
	const struct mta_sts_txt several = {FOUND, two, two_lengths, 2};
	assert_int_equal(mta_sts_get_policy(&s, "example.com", &several, NOW,
	                                    &p, &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_ENFORCE);
	assert_true(p.from_cache);
	assert_non_null(strstr(buf_str(&notes), "2 _mta-sts TXT records"));
	mta_sts_policy_free(&p);
	/* nothing was fetched in all this */
	assert_int_equal(trace.len, 0);
	buf_free(&notes);
	buf_free(&trace);
	tmp_remove(&t);
}

static void test_get_policy_no_policy(void **state)
{
	(void)state;
	struct buf notes = BUF_INIT;
	struct err e = ERR_INIT;
	const struct mta_sts_settings s = {0}; /* no cache */
	const struct mta_sts_txt absent = {ABSENT, NULL, NULL, 0};
	struct mta_sts_policy p;
	assert_int_equal(mta_sts_get_policy(&s, "example.com", &absent, NOW,
	                                    &p, &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_NONE);
	assert_string_equal(buf_str(&notes),
	                    "MTA-STS for example.com: no _mta-sts TXT record; "
	                    "no policy applies\n");
	buf_reset(&notes);
	/* not a host name: no policy (RFC 8461 3.4), nothing looked at, the
	 * name shown harmless */
	const char *records[] = {"v=STSv1; id=abc"};
	const size_t lengths[] = {15};
	const struct mta_sts_txt found = {FOUND, records, lengths, 1};
	assert_int_equal(mta_sts_get_policy(&s, "[192.0.2.1]\x1b[2J", &found,
	                                    NOW, &p, &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_NONE);
	assert_string_equal(buf_str(&notes),
	                    "MTA-STS for [192.0.2.1]\\x1b[2J: not a DNS host "
	                    "name: no policy applies\n");
	/* a recent failure under this id: not tried again */
	struct tmp t;
	tmp_make(&t);
	struct mta_sts_cache c = {.failed_id = "abc", .failed_at = NOW - 10};
	assert_int_equal(mta_sts_cache_store(t.cache, "example.com", &c, &e),
	                 EX_OK);
	struct buf trace = BUF_INIT;
	const struct mta_sts_settings cached = {.cache_dir = t.cache,
	                                        .trace = collect,
	                                        .trace_ctx = &trace};
	buf_reset(&notes);
	assert_int_equal(mta_sts_get_policy(&cached, "example.com", &found,
	                                    NOW, &p, &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_NONE);
	assert_int_equal(trace.len, 0);
	assert_string_equal(buf_str(&notes),
	                    "MTA-STS for example.com: fetching the policy for "
	                    "id abc failed 10 seconds ago, not tried again for "
	                    "300 seconds; no policy applies\n");
	/* a domain too long for its policy host to exist: a failed fetch,
	 * not a configuration error, and no request */
	char name[260];
	memset(name, 'a', 250);
	for (int i = 63; i < 250; i += 64)
		name[i] = '.';
	name[250] = '\0';
	buf_reset(&notes);
	assert_int_equal(mta_sts_get_policy(&cached, name, &found, NOW, &p,
	                                    &notes, &e),
	                 EX_OK);
	assert_int_equal(p.mode, MTA_STS_NONE);
	assert_int_equal(trace.len, 0);
	assert_non_null(strstr(buf_str(&notes), "is longer than 253 bytes; "
	                                        "no policy applies\n"));
	buf_free(&trace);
	buf_free(&notes);
	tmp_remove(&t);
}

/* ---- the request and a fetch that fails ---------------------------------- */

static void test_request(void **state)
{
	(void)state;
	struct http_url u;
	struct err e = ERR_INIT;
	assert_int_equal(http_parse_url("https://mta-sts.example.com/"
	                                ".well-known/mta-sts.txt",
	                                &u, &e),
	                 EX_OK);
	struct buf b = BUF_INIT;
	http_request_build("GET", &u, NULL, NULL, NULL, &b);
	assert_string_equal(buf_str(&b),
	                    "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
	                    "Host: mta-sts.example.com\r\n"
	                    "User-Agent: outbox/" OUTBOX_VERSION "\r\n"
	                    "Connection: close\r\n\r\n");
	http_url_free(&u);
	/* the POST http_post_form sends, unchanged */
	assert_int_equal(http_parse_url("https://[::1]:8443/token?x=1", &u, &e),
	                 EX_OK);
	struct buf form = BUF_INIT;
	http_form_add(&form, "a", "b c");
	http_request_build("POST", &u, "application/json",
	                   "application/x-www-form-urlencoded", &form, &b);
	assert_string_equal(buf_str(&b),
	                    "POST /token?x=1 HTTP/1.1\r\n"
	                    "Host: [::1]:8443\r\n"
	                    "User-Agent: outbox/" OUTBOX_VERSION "\r\n"
	                    "Accept: application/json\r\n"
	                    "Content-Type: "
	                    "application/x-www-form-urlencoded\r\n"
	                    "Content-Length: 5\r\n"
	                    "Connection: close\r\n\r\na=b+c");
	/* an empty form still has its Content-Length */
	buf_reset(&form);
	http_request_build("POST", &u, NULL, "a/b", &form, &b);
	assert_non_null(strstr(buf_str(&b), "Content-Length: 0\r\n"
	                                    "Connection: close\r\n\r\n"));
	buf_wipe(&form);
	buf_wipe(&b);
	http_url_free(&u);
}

/* A loopback port: listening (connections wait in its backlog) or not. */
static int loopback_port(bool listening, int *fd_out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	socklen_t len = sizeof sin;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (listening) {
		assert_int_equal(listen(fd, 4), 0);
		*fd_out = fd;
	} else {
		close(fd);
	}
	return ntohs(sin.sin_port);
}

static void test_fetch_failures(void **state)
{
	(void)state;
	struct buf trace = BUF_INIT;
	const struct mta_sts_settings s = {.timeout = 2, .trace = collect,
	                                   .trace_ctx = &trace};
	struct mta_sts_policy p;
	struct err e = ERR_INIT;
	char url[128];
	/* refused: worth retrying, the host named, the GET traced */
	int port = loopback_port(false, NULL);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/.well-known/"
	         "mta-sts.txt", port);
	assert_int_equal(mta_sts_fetch(&s, url, &p, &e), EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "127.0.0.1"));
	assert_null(p.mx);
	char want[160];
	snprintf(want, sizeof want, "GET %s\n", url);
	assert_string_equal(buf_str(&trace), want);
	err_clear(&e);
	/* an unreadable trust file is the configuration's problem */
	int fd;
	port = loopback_port(true, &fd);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/.well-known/"
	         "mta-sts.txt", port);
	const struct mta_sts_settings bad = {
		.timeout = 2, .trust_file = "/nonexistent/ca.pem"};
	assert_int_equal(mta_sts_fetch(&bad, url, &p, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "/nonexistent/ca.pem"));
	err_clear(&e);
	/* a server that never answers: the timeout ends it */
	const struct mta_sts_settings slow = {.timeout = 1};
	assert_int_equal(mta_sts_fetch(&slow, url, &p, &e), EX_TEMPFAIL);
	err_clear(&e);
	close(fd);
	buf_free(&trace);
}

/* ---- against a real server (skipped unless MTA_STS_TEST_TRUST is set) ---- */

static void test_live_server(void **state)
{
	(void)state;
	const char *trust = getenv("MTA_STS_TEST_TRUST");
	const char *wrong = getenv("MTA_STS_TEST_WRONG_TRUST");
	struct tmp t;
	tmp_make(&t);
	struct buf trace = BUF_INIT, notes = BUF_INIT;
	struct mta_sts_settings s = {.cache_dir = t.cache,
	                             .trust_file = trust,
	                             .timeout = 5,
	                             .trace = collect,
	                             .trace_ctx = &trace};
	const char *records[] = {"v=spf1 -all", "v=STSv1; id=one"};
	size_t lengths[] = {11, 15};
	struct mta_sts_txt txt = {FOUND, records, lengths, 2};
	struct mta_sts_policy p;
	struct err e = ERR_INIT;

	/* 1. fetched and cached */
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt, NOW, &p,
	                                    &notes, &e),
	                 EX_OK);
	printf("# %s", buf_str(&notes));
	assert_int_equal(p.mode, MTA_STS_ENFORCE);
	assert_false(p.from_cache);
	assert_string_equal(p.id, "one");
	assert_int_equal(p.fetched, NOW);
	assert_int_equal(p.max_age, 86400);
	assert_int_equal(p.mx_count, 2);
	assert_true(mta_sts_mx_allowed(&p, "mail.example.test"));
	assert_true(mta_sts_mx_allowed(&p, "mx1.backup.example.test"));
	assert_false(mta_sts_mx_allowed(&p, "evil.example.net"));
	assert_non_null(strstr(buf_str(&trace),
	                       "GET https://mta-sts.example.test/.well-known/"
	                       "mta-sts.txt\nHTTP 200, "));
	assert_non_null(strstr(buf_str(&notes), "policy fetched: id one, "
	                                        "mode enforce, 2 mx patterns"));
	mta_sts_policy_free(&p);
	char path[160];
	snprintf(path, sizeof path, "%s/example.test", t.cache);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* 2. the same id: the cache, no request */
	buf_reset(&trace);
	buf_reset(&notes);
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt,
	                                    NOW + 60, &p, &notes, &e),
	                 EX_OK);
	assert_true(p.from_cache);
	assert_int_equal(p.mode, MTA_STS_ENFORCE);
	assert_int_equal(trace.len, 0);
	mta_sts_policy_free(&p);

	/* 3. a new id, but the server does not verify (another CA): the
	 * enforce policy keeps enforcing */
	records[1] = "v=STSv1; id=two";
	s.trust_file = wrong;
	buf_reset(&notes);
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt,
	                                    NOW + 120, &p, &notes, &e),
	                 EX_OK);
	printf("# %s", buf_str(&notes));
	assert_true(p.from_cache);
	assert_int_equal(p.mode, MTA_STS_ENFORCE);
	assert_string_equal(p.id, "one");
	assert_non_null(strstr(buf_str(&notes), "cannot fetch the policy (id "
	                                        "two)"));
	assert_non_null(strstr(buf_str(&notes), "is not trusted"));
	assert_non_null(strstr(buf_str(&notes), "the cached policy (id one, "
	                                        "mode enforce) applies"));
	mta_sts_policy_free(&p);

	/* 4. at once again: not retried within five minutes */
	buf_reset(&trace);
	buf_reset(&notes);
	s.trust_file = trust;
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt,
	                                    NOW + 180, &p, &notes, &e),
	                 EX_OK);
	assert_true(p.from_cache);
	assert_int_equal(trace.len, 0);
	assert_non_null(strstr(buf_str(&notes), "not tried again"));
	mta_sts_policy_free(&p);

	/* 5. later: fetched under the new id and cached */
	buf_reset(&notes);
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt,
	                                    NOW + 600, &p, &notes, &e),
	                 EX_OK);
	assert_false(p.from_cache);
	assert_string_equal(p.id, "two");
	assert_non_null(strstr(buf_str(&notes), "policy fetched (a new id): "
	                                        "id two"));
	mta_sts_policy_free(&p);

	/* 6. an unreadable trust file is a configuration error */
	records[1] = "v=STSv1; id=three";
	lengths[1] = 17;
	s.trust_file = "/nonexistent/ca.pem";
	assert_int_equal(mta_sts_get_policy(&s, "example.test", &txt,
	                                    NOW + 700, &p, &notes, &e),
	                 EX_CONFIG);
	assert_int_equal(p.mode, MTA_STS_NONE);
	err_clear(&e);
	s.trust_file = trust;

	/* 7. what the other hosts serve is refused, no policy applies */
	static const struct {
		const char *domain, *why;
	} refused[] = {
		{"redirect.test", "redirect (HTTP 302)"},
		{"html.test", "other than text/plain"},
		{"big.test", "(id three): https://mta-sts.big.test: malformed "
		             "HTTP response: its body is larger than 65536"},
		{"nohost.test", "cannot fetch"},
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		buf_reset(&notes);
		buf_reset(&trace);
		assert_int_equal(mta_sts_get_policy(&s, refused[i].domain, &txt,
		                                    NOW, &p, &notes, &e),
		                 EX_OK);
		printf("# %s", buf_str(&notes));
		assert_int_equal(p.mode, MTA_STS_NONE);
		if (!strstr(buf_str(&notes), refused[i].why))
			fail_msg("%s: '%s'", refused[i].domain,
			         buf_str(&notes));
		assert_non_null(strstr(buf_str(&notes), "no policy applies"));
	}
	buf_free(&trace);
	buf_free(&notes);
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_messages),
		cmocka_unit_test(test_policy_size),
		cmocka_unit_test(test_policy_format),
		cmocka_unit_test(test_mx_allowed),
		cmocka_unit_test(test_domain_normalize),
		cmocka_unit_test(test_policy_url),
		cmocka_unit_test(test_check_response),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_cache_format),
		cmocka_unit_test(test_cache_damaged),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_problem),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_cache_damaged_files),
		cmocka_unit_test(test_cache_unsafe_dir),
		cmocka_unit_test(test_cache_dir),
		cmocka_unit_test(test_get_policy_cached),
		cmocka_unit_test(test_get_policy_no_policy),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_fetch_failures),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* Not counted at all without a server (run-all counts cmocka's
	 * skipped tests as failed): said on standard error instead. */
	const char *trust = getenv("MTA_STS_TEST_TRUST");
	const char *wrong = getenv("MTA_STS_TEST_WRONG_TRUST");
	if (!trust || !*trust || !wrong || !*wrong) {
		fprintf(stderr, "test_live_server not run: it needs "
		        "MTA_STS_TEST_TRUST and MTA_STS_TEST_WRONG_TRUST (see "
		        "the top of tests/unit/test_mta_sts.c)\n");
		return failed;
	}
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_server),
	};
	return failed + cmocka_run_group_tests(live, NULL, NULL);
}
