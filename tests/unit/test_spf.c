/* test_spf.c - SPF (RFC 7208): which TXT records are SPF records, the
 * parser (records published by real providers, every mechanism and
 * modifier with its CIDR forms, and the refusals, each with the term and
 * its position), the canonical form, macro expansion (RFC 7208 7.4's
 * examples), the known providers, and spf_check_domain over zones served
 * from tables by a fake lookup: no record, several, syntax errors deep in
 * the tree, the lookup limit (10 fine, 11 not, the count going on past
 * it), void lookups, loops, redirects, DNS failures, check_host()'s result
 * for IPv4, IPv6 and IPv4-mapped clients through ip4, ip6, a, mx, ptr,
 * exists and include, and the "all" of the top record. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns_parse.h"
#include "err.h"
#include "spf.h"
#include "util.h"

/* A message holds no control character. */
static void assert_clean(const char *msg)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character in '%s'", msg);
}

static void assert_contains(const char *text, const char *part)
{
	if (!text || !strstr(text, part))
		fail_msg("'%s' lacks '%s'", text ? text : "(null)", part);
}

/* ---- spf_is_record ------------------------------------------------------- */

static void test_is_record(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool spf;
	} cases[] = {
	    {"v=spf1", true},
	    {"v=spf1 -all", true},
	    {"V=SPF1 -all", true}, /* RFC 5234 2.3: strings ignore case */
	    {"v=Spf1  mx", true},
	    {"v=spf1 ", true},
	    {"v=spf10", false}, /* RFC 7208 4.5's own example */
	    {"v=spf1-all", false},
	    {"v=spf1\t-all", false},
	    {" v=spf1 -all", false},
	    {"v=spf2.0/pra -all", false}, /* Sender ID */
	    {"v=spf", false},
	    {"google-site-verification=abc", false},
	    {"", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (spf_is_record(cases[i].text, strlen(cases[i].text)) !=
		    cases[i].spf)
			fail_msg("'%s'", cases[i].text);
	assert_false(spf_is_record(NULL, 0));
	assert_true(spf_is_record("v=spf1 \0x", 9));
	assert_false(spf_is_record("v=spf1\0 x", 9));
}

/* ---- spf_parse: accepted records ----------------------------------------- */

struct parse_case {
	const char *record;
	const char *canonical; /* what spf_record_format writes */
};

static const struct parse_case valid_cases[] = {
    /* as published by providers (some ranges shortened) */
    {"v=spf1 include:_spf.google.com ~all",
     "v=spf1 include:_spf.google.com ~all"},
    {"v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
     "include:_netblocks3.google.com ~all",
     "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
     "include:_netblocks3.google.com ~all"},
    {"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 "
     "ip4:209.85.128.0/17 ip4:216.239.32.0/19 ~all",
     "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 "
     "ip4:209.85.128.0/17 ip4:216.239.32.0/19 ~all"},
    {"v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 "
     "ip6:2a00:1450:4000::/36 ~all",
     "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 "
     "ip6:2a00:1450:4000::/36 ~all"},
    {"v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 ip4:23.249.208.0/20 "
     "-all",
     "v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 ip4:23.249.208.0/20 "
     "-all"},
    {"v=spf1 ip4:40.92.0.0/15 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 "
     "ip6:2a01:111:f403:c000::/51 -all",
     "v=spf1 ip4:40.92.0.0/15 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 "
     "ip6:2a01:111:f403:c000::/51 -all"},
    {"v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 include:ab.sendgrid.net "
     "~all",
     "v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 include:ab.sendgrid.net "
     "~all"},
    {"v=spf1 include:spf.messagingengine.com ?all",
     "v=spf1 include:spf.messagingengine.com ?all"},
    {"v=spf1 a mx include:spf.mtasv.net ~all",
     "v=spf1 a mx include:spf.mtasv.net ~all"},
    /* RFC 7208 appendix A and D */
    {"v=spf1 +mx a:colo.example.com/28 -all",
     "v=spf1 mx a:colo.example.com/28 -all"},
    {"v=spf1 mx/30 mx:example.org/30 -all",
     "v=spf1 mx/30 mx:example.org/30 -all"},
    {"v=spf1 a/24 mx a:offsite.example.com/24 -all",
     "v=spf1 a/24 mx a:offsite.example.com/24 -all"},
    {"v=spf1 -ptr +all", "v=spf1 -ptr all"},
    {"v=spf1 ptr:example.com ?all", "v=spf1 ptr:example.com ?all"},
    {"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
     "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"},
    {"v=spf1 mx -all exp=explain._spf.%{d}",
     "v=spf1 mx -all exp=explain._spf.%{d}"},
    {"v=spf1 redirect=_spf.example.com", "v=spf1 redirect=_spf.example.com"},
    /* names in any case, spaces, qualifiers */
    {"V=SPF1 MX -ALL", "v=spf1 mx -all"},
    {"v=spf1  mx   ~All  ", "v=spf1 mx ~all"},
    {"v=spf1", "v=spf1"},
    {"v=spf1 ", "v=spf1"},
    {"v=spf1 +A:Example.COM ?Include:X.example -Exists:Y.example",
     "v=spf1 a:Example.COM ?include:X.example -exists:Y.example"},
    /* a and mx: every dual-cidr-length form */
    {"v=spf1 a/32 a//128 a/0//0 a:x.example/24//64 mx//48 mx:y.example//64",
     "v=spf1 a/32 a//128 a/0//0 a:x.example/24//64 mx//48 "
     "mx:y.example//64"},
    /* ip4 and ip6 edges */
    {"v=spf1 ip4:0.0.0.0/0 ip4:255.255.255.255/32 ip4:10.0.0.1",
     "v=spf1 ip4:0.0.0.0/0 ip4:255.255.255.255/32 ip4:10.0.0.1"},
    {"v=spf1 ip6:::1 ip6:2001:DB8::CD30/128 ip6:::/0 "
     "ip6:::ffff:192.0.2.1/96 ip6:2001:db8:0:0:0:0:0:1",
     "v=spf1 ip6:::1 ip6:2001:db8::cd30/128 ip6:::/0 "
     "ip6:::ffff:192.0.2.1/96 ip6:2001:db8::1"},
    /* modifiers anywhere, unknown ones kept */
    {"v=spf1 redirect=a.example ip4:192.0.2.1",
     "v=spf1 ip4:192.0.2.1 redirect=a.example"},
    {"v=spf1 -all moo=bar foo.bar-baz_q=%{d} x= Redirect=r.example",
     "v=spf1 -all redirect=r.example moo=bar foo.bar-baz_q=%{d} x="},
    {"v=spf1 -all note=%{c}%{r}%{t}", "v=spf1 -all note=%{c}%{r}%{t}"},
    /* macros and domain-ends */
    {"v=spf1 exists:%{s}.%{h}.%{v}.%{p}.x.example",
     "v=spf1 exists:%{s}.%{h}.%{v}.%{p}.x.example"},
    {"v=spf1 exists:%{L}.%{d4r-+.,/_=}.x.example ip4:192.0.2.1",
     "v=spf1 exists:%{L}.%{d4r-+.,/_=}.x.example ip4:192.0.2.1"},
    {"v=spf1 exists:a%%b%_c%-d.example include:%{d}",
     "v=spf1 exists:a%%b%_c%-d.example include:%{d}"},
    {"v=spf1 a:example.com. a:foo.1-2 a:x.y-z9",
     "v=spf1 a:example.com. a:foo.1-2 a:x.y-z9"},
    {"v=spf1 include:%{d2}.trusted-domains.example.net",
     "v=spf1 include:%{d2}.trusted-domains.example.net"},
};

static void test_parse_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof valid_cases / sizeof *valid_cases;
	     i++) {
		const struct parse_case *c = &valid_cases[i];
		struct spf_record r;
		struct err e = ERR_INIT;
		if (spf_parse(c->record, strlen(c->record), &r, &e) != EX_OK)
			fail_msg("'%s': %s", c->record, err_msg(&e));
		struct buf b = BUF_INIT;
		spf_record_format(&r, &b);
		if (strcmp(buf_str(&b), c->canonical) != 0)
			fail_msg("'%s' formats as '%s'", c->record,
			         buf_str(&b));
		/* the canonical form reads back as itself */
		struct spf_record again;
		assert_int_equal(spf_parse(b.data, b.len, &again, &e), EX_OK);
		struct buf b2 = BUF_INIT;
		spf_record_format(&again, &b2);
		assert_string_equal(buf_str(&b2), buf_str(&b));
		buf_free(&b);
		buf_free(&b2);
		spf_record_free(&again);
		spf_record_free(&r);
		spf_record_free(&r); /* twice is fine */
	}
}

/* Every field of a record using everything. */
static void test_parse_fields(void **state)
{
	(void)state;
	const char *text =
	    "v=spf1 -ip4:192.0.2.0/24 ~ip6:2001:db8::/32 ?a:x.example/24//64 "
	    "mx ptr:p.example exists:%{i}.e.example include:i.example "
	    "ip4:198.51.100.7 +all redirect=r.example exp=e.example u=v w=";
	struct spf_record r;
	struct err e = ERR_INIT;
	assert_int_equal(spf_parse(text, strlen(text), &r, &e), EX_OK);
	assert_int_equal(r.count, 9);
	static const unsigned char net4[4] = {192, 0, 2, 0};
	static const unsigned char net6[16] = {0x20, 0x01, 0x0d, 0xb8};
	static const unsigned char host4[4] = {198, 51, 100, 7};

	assert_int_equal(r.mechs[0].type, SPF_IP4);
	assert_int_equal(r.mechs[0].q, SPF_FAIL);
	assert_int_equal(r.mechs[0].addr_len, 4);
	assert_memory_equal(r.mechs[0].addr, net4, 4);
	assert_int_equal(r.mechs[0].cidr4, 24);
	assert_int_equal(r.mechs[0].cidr6, -1);
	assert_null(r.mechs[0].domain_spec);

	assert_int_equal(r.mechs[1].type, SPF_IP6);
	assert_int_equal(r.mechs[1].q, SPF_SOFTFAIL);
	assert_int_equal(r.mechs[1].addr_len, 16);
	assert_memory_equal(r.mechs[1].addr, net6, 16);
	assert_int_equal(r.mechs[1].cidr6, 32);
	assert_int_equal(r.mechs[1].cidr4, -1);

	assert_int_equal(r.mechs[2].type, SPF_A);
	assert_int_equal(r.mechs[2].q, SPF_NEUTRAL);
	assert_string_equal(r.mechs[2].domain_spec, "x.example");
	assert_int_equal(r.mechs[2].cidr4, 24);
	assert_int_equal(r.mechs[2].cidr6, 64);
	assert_int_equal(r.mechs[2].addr_len, 0);

	assert_int_equal(r.mechs[3].type, SPF_MX);
	assert_int_equal(r.mechs[3].q, SPF_PASS);
	assert_null(r.mechs[3].domain_spec);
	assert_int_equal(r.mechs[3].cidr4, -1);
	assert_int_equal(r.mechs[3].cidr6, -1);

	assert_int_equal(r.mechs[4].type, SPF_PTR);
	assert_string_equal(r.mechs[4].domain_spec, "p.example");
	assert_int_equal(r.mechs[5].type, SPF_EXISTS);
	assert_string_equal(r.mechs[5].domain_spec, "%{i}.e.example");
	assert_int_equal(r.mechs[6].type, SPF_INCLUDE);
	assert_string_equal(r.mechs[6].domain_spec, "i.example");
	assert_int_equal(r.mechs[7].type, SPF_IP4);
	assert_memory_equal(r.mechs[7].addr, host4, 4);
	assert_int_equal(r.mechs[7].cidr4, -1);
	assert_int_equal(r.mechs[8].type, SPF_ALL);
	assert_int_equal(r.mechs[8].q, SPF_PASS);

	assert_string_equal(r.redirect, "r.example");
	assert_string_equal(r.exp, "e.example");
	assert_int_equal(r.unknown_modifiers, 2);
	assert_string_equal(r.unknown[0].name, "u");
	assert_string_equal(r.unknown[0].value, "v");
	assert_string_equal(r.unknown[1].name, "w");
	assert_string_equal(r.unknown[1].value, "");
	spf_record_free(&r);
	assert_null(r.mechs);
	assert_int_equal(r.count, 0);
}

/* ---- spf_parse: refusals ------------------------------------------------- */

struct bad_case {
	const char *record;
	const char *why; /* a part of the message */
};

static const struct bad_case bad_cases[] = {
    /* addresses */
    {"v=spf1 ip4:1.2.3",
     "term 1 'ip4:1.2.3': not an IPv4 address (RFC 7208 5.6)"},
    {"v=spf1 mx ip4:1.2.3.256", "term 2 'ip4:1.2.3.256': not an IPv4"},
    {"v=spf1 ip4:01.2.3.4", "not an IPv4 address"},
    {"v=spf1 ip4:1.2.3.4.5", "not an IPv4 address"},
    {"v=spf1 ip4:1.2.3.4 ip4:2001:db8::1", "term 2"},
    {"v=spf1 ip4:", "not an IPv4 address"},
    {"v=spf1 ip4", "no address after the name"},
    {"v=spf1 ip4/1.2.3.4", "no address after the name"},
    {"v=spf1 ip6:1.2.3.4", "not an IPv6 address"},
    {"v=spf1 ip6:2001:db8:::1", "not an IPv6 address"},
    {"v=spf1 ip6:2001:db8::1%eth0", "not an IPv6 address"},
    {"v=spf1 ip6:", "not an IPv6 address"},
    /* prefix lengths */
    {"v=spf1 ip4:1.2.3.4/33", "IPv4 prefix length that is not 0 to 32"},
    {"v=spf1 ip4:1.2.3.4/024", "IPv4 prefix length"},
    {"v=spf1 ip4:1.2.3.4/", "IPv4 prefix length"},
    {"v=spf1 ip4:1.2.3.4//24", "IPv4 prefix length"},
    {"v=spf1 ip6:2001:db8::/129", "IPv6 prefix length that is not 0 to 128"},
    {"v=spf1 ip6:2001:db8::/0128", "IPv6 prefix length"},
    {"v=spf1 a/33", "term 1 'a/33': an IPv4 prefix length"},
    {"v=spf1 a//129", "IPv6 prefix length"},
    {"v=spf1 mx/24/64", "IPv4 prefix length"},
    {"v=spf1 a:x.example/01", "IPv4 prefix length"},
    {"v=spf1 a/", "followed by something other than ':'"},
    {"v=spf1 ptr/24", "followed by something other than ':'"},
    {"v=spf1 include:x.example/24", "not a domain"},
    /* domain-specs */
    {"v=spf1 a:", "no domain"},
    {"v=spf1 include", "no domain after the name"},
    {"v=spf1 exists", "no domain after the name"},
    {"v=spf1 include:com", "it needs a dot and a top label"},
    {"v=spf1 a:1.2.3.4", "the top label"},
    {"v=spf1 a:foo.-bar", "the top label"},
    {"v=spf1 a:foo.bar-", "the top label"},
    {"v=spf1 a:foo..", "the top label"},
    {"v=spf1 mx:example.com/-1", "not a domain"},
    {"v=spf1 a:%{d}.", "it needs a dot"},
    /* macros */
    {"v=spf1 a:%{x}.example", "unknown letter"},
    {"v=spf1 a:%{c}.example", "allowed only in explanation text"},
    {"v=spf1 exp=%{t}.example", "allowed only in explanation text"},
    {"v=spf1 a:%{d0}.example", "keeping 0 parts"},
    {"v=spf1 a:%{d00r}.example", "keeping 0 parts"},
    {"v=spf1 a:%{d", "not %{letter digits r delimiters}"},
    {"v=spf1 a:%{d!}.example", "not %{letter digits r delimiters}"},
    {"v=spf1 a:%d.example", "'%' not followed by '{'"},
    {"v=spf1 a:foo.example%", "'%' not followed by '{'"},
    {"v=spf1 x=%{z}", "unknown letter"},
    {"v=spf1 x=50%", "'%' not followed"},
    /* names */
    {"v=spf1 foo", "term 1 'foo': not a mechanism"},
    {"v=spf1 mx -al", "term 2 '-al': not a mechanism"},
    {"v=spf1 +", "not a mechanism"},
    {"v=spf1 a:x.example -", "term 2 '-': not a mechanism"},
    {"v=spf1 all:foo", "\"all\" takes no argument"},
    {"v=spf1 -all/24", "\"all\" takes no argument"},
    {"v=spf1 1x=foo", "not a modifier name"},
    {"v=spf1 =foo", "not a modifier name"},
    {"v=spf1 -redirect=x.example", "not a modifier name"},
    /* modifiers that may appear once (RFC 7208 6) */
    {"v=spf1 redirect=a.example redirect=b.example",
     "term 2 'redirect=b.example': a second redirect="},
    {"v=spf1 exp=a.example mx EXP=b.example", "term 3"},
    {"v=spf1 redirect=", "no domain"},
    {"v=spf1 redirect=nodot", "it needs a dot"},
    /* characters */
    {"v=spf1 mx\t-all", "term 1 'mx\\x09-all': a character that is not "
                        "visible ASCII"},
    {"v=spf1 mx -all\x01", "term 2 '-all\\x01'"},
    {"v=spf1 a:caf\xc3\xa9.example", "visible ASCII"},
    /* not a record */
    {"v=spf10 mx", "does not begin with \"v=spf1\""},
    {"spf1 mx", "does not begin with \"v=spf1\""},
    {"", "does not begin"},
};

static void test_parse_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct spf_record r;
		struct err e = ERR_INIT;
		if (spf_parse(c->record, strlen(c->record), &r, &e) !=
		    EX_DATAERR)
			fail_msg("'%s' accepted", c->record);
		assert_contains(err_msg(&e), c->why);
		assert_clean(err_msg(&e));
		assert_null(r.mechs);
		assert_null(r.redirect);
		assert_null(r.exp);
		assert_int_equal(r.unknown_modifiers, 0);
		err_clear(&e);
	}
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct spf_record r;
	struct err e = ERR_INIT;
	/* a NUL inside a term */
	assert_int_equal(spf_parse("v=spf1 mx\0 -all", 15, &r, &e),
	                 EX_DATAERR);
	assert_contains(err_msg(&e), "term 1 'mx\\x00'");
	err_clear(&e);

	/* SPF_MAX_RECORD bytes parse, one more does not */
	struct buf b = BUF_INIT;
	buf_add_str(&b, "v=spf1");
	while (b.len < SPF_MAX_RECORD)
		buf_add_char(&b, ' ');
	assert_int_equal(spf_parse(b.data, b.len, &r, &e), EX_OK);
	spf_record_free(&r);
	buf_add_char(&b, ' ');
	assert_int_equal(spf_parse(b.data, b.len, &r, &e), EX_DATAERR);
	assert_contains(err_msg(&e), "more than the 4096");
	err_clear(&e);

	/* SPF_MAX_TERMS terms parse, one more does not */
	buf_reset(&b);
	buf_add_str(&b, "v=spf1");
	for (int i = 0; i < SPF_MAX_TERMS; i++)
		buf_add_str(&b, " a");
	assert_int_equal(spf_parse(b.data, b.len, &r, &e), EX_OK);
	assert_int_equal(r.count, SPF_MAX_TERMS);
	spf_record_free(&r);
	buf_add_str(&b, " a");
	assert_int_equal(spf_parse(b.data, b.len, &r, &e), EX_DATAERR);
	assert_contains(err_msg(&e), "more than 512 terms");
	err_clear(&e);

	/* a long bad term is quoted in part */
	buf_reset(&b);
	buf_add_str(&b, "v=spf1 ip4:");
	for (int i = 0; i < 100; i++)
		buf_add_char(&b, '9');
	assert_int_equal(spf_parse(b.data, b.len, &r, &e), EX_DATAERR);
	assert_contains(err_msg(&e), "999...': not an IPv4 address");
	assert_true(strlen(err_msg(&e)) < 200);
	err_clear(&e);
	buf_free(&b);
}

/* ---- macros -------------------------------------------------------------- */

struct macro_case {
	const char *spec;
	const char *ip;     /* NULL: no client address */
	const char *sender; /* NULL: RFC 7208 7.4's */
	int rc;
	const char *out; /* EX_OK: the name; otherwise a part of e */
};

#define SENDER "strong-bad@email.example.com"

static const struct macro_case macro_cases[] = {
    /* RFC 7208 7.4 (with <domain> email.example.com) */
    {"%{o}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d4}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d3}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d2}", NULL, NULL, EX_OK, "example.com"},
    {"%{d1}.x.example", NULL, NULL, EX_OK, "com.x.example"},
    {"%{dr}", NULL, NULL, EX_OK, "com.example.email"},
    {"%{d2r}", NULL, NULL, EX_OK, "example.email"},
    {"%{l}.x.example", NULL, NULL, EX_OK, "strong-bad.x.example"},
    {"%{l-}.x.example", NULL, NULL, EX_OK, "strong.bad.x.example"},
    {"%{lr}.x.example", NULL, NULL, EX_OK, "strong-bad.x.example"},
    {"%{lr-}.x.example", NULL, NULL, EX_OK, "bad.strong.x.example"},
    {"%{l1r-}.x.example", NULL, NULL, EX_OK, "strong.x.example"},
    {"%{ir}.%{v}._spf.%{d2}", "192.0.2.3", NULL, EX_OK,
     "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", NULL, NULL, EX_OK,
     "bad.strong.lp._spf.example.com"},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "192.0.2.3", NULL, EX_OK,
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "192.0.2.3", NULL, EX_OK,
     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net", NULL, NULL, EX_OK,
     "example.com.trusted-domains.example.net"},
    {"%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01", NULL, EX_OK,
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
     "ip6._spf.example.com"},
    /* %{s} is no host name: the message shows what it became */
    {"%{s}", NULL, NULL, EX_DATAERR,
     "it expands to 'strong-bad@email.example.com'"},
    /* 7.3: upper case is URL-escaped */
    {"%{L}.x.example", NULL, "we+you@x.example", EX_DATAERR,
     "'we%2byou.x.example'"},
    {"%{S}.x.example", NULL, NULL, EX_DATAERR,
     "'strong-bad%40email.example.com.x.example'"},
    /* the others */
    {"%{i}.x.example", "192.0.2.3", NULL, EX_OK, "192.0.2.3.x.example"},
    {"%{p}.x.example", "192.0.2.3", NULL, EX_OK, "unknown.x.example"},
    {"%{h}.x.example", NULL, NULL, EX_OK, "email.example.com.x.example"},
    {"%{o}", NULL, "@bare.example", EX_OK, "bare.example"},
    {"%{l}.%{o}", NULL, "nolocal.example", EX_OK,
     "postmaster.nolocal.example"},
    {"%{d9}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d99999999999999999999}", NULL, NULL, EX_OK, "email.example.com"},
    {"%{d1r}.x.example", NULL, NULL, EX_OK, "email.x.example"},
    {"%{l1-}.x.example", NULL, NULL, EX_OK, "bad.x.example"},
    {"%{l--}.x.example", NULL, NULL, EX_OK, "strong.bad.x.example"},
    {"%{s2.+}.x", NULL, NULL, EX_OK, "example.com.x"},
    {"Mixed.CASE.%{d}", NULL, NULL, EX_OK, "mixed.case.email.example.com"},
    {"_spf.example.com.", NULL, NULL, EX_OK, "_spf.example.com"},
    /* what cannot be looked up */
    {"%{i}.x.example", NULL, NULL, EX_UNAVAILABLE, "client's IP address"},
    {"%{v}.x.example", NULL, NULL, EX_UNAVAILABLE, "client's IP address"},
    {"%{d1}", NULL, NULL, EX_DATAERR, "it expands to 'com'"},
    {"a%%b.example", NULL, NULL, EX_DATAERR, "'a%b.example'"},
    {"a%_b.example", NULL, NULL, EX_DATAERR, "'a b.example'"},
    {"a%-b.example", NULL, NULL, EX_DATAERR, "'a%20b.example'"},
    {"a+b.example", NULL, NULL, EX_DATAERR, "not a domain name"},
    {"%{o}", NULL, "u@x.example..", EX_DATAERR, "'x.example.'"},
};

static void test_macros(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof macro_cases / sizeof *macro_cases;
	     i++) {
		const struct macro_case *c = &macro_cases[i];
		unsigned char ip[16];
		struct spf_macro_env env = {
		    .sender = c->sender ? c->sender : SENDER,
		    .domain = "email.example.com",
		};
		if (c->ip) {
			bool v6 = strchr(c->ip, ':') != NULL;
			assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET,
			                           c->ip, ip),
			                 1);
			env.ip = ip;
			env.ip_len = v6 ? 16 : 4;
		}
		char *out = (char *)"x";
		struct err e = ERR_INIT;
		int rc = spf_expand_domain(c->spec, &env, &out, &e);
		if (rc != c->rc)
			fail_msg("'%s': %d, not %d (%s)", c->spec, rc, c->rc,
			         err_msg(&e));
		if (rc == EX_OK) {
			if (strcmp(out, c->out) != 0)
				fail_msg("'%s' -> '%s', not '%s'", c->spec,
				         out, c->out);
			free(out);
		} else {
			assert_null(out);
			assert_contains(err_msg(&e), c->out);
			assert_clean(err_msg(&e));
		}
		err_clear(&e);
	}
}

/* RFC 7208 7.3: a name longer than 253 loses labels on the left. */
static void test_macro_truncation(void **state)
{
	(void)state;
	char a[61], b[61], domain[200], want[300];
	memset(a, 'a', 60);
	memset(b, 'b', 60);
	a[60] = b[60] = '\0';
	snprintf(domain, sizeof domain, "%s.%s.example", a, b); /* 129 */
	struct spf_macro_env env = {.sender = "x@y.example", .domain = domain};
	char *out;
	struct err e = ERR_INIT;
	assert_int_equal(spf_expand_domain("%{d}.%{d}", &env, &out, &e), EX_OK);
	snprintf(want, sizeof want, "%s.example.%s.%s.example", b, a, b);
	assert_string_equal(out, want);
	assert_true(strlen(out) <= SPF_MAX_DOMAIN);
	free(out);
	/* one label that cannot be cut short enough */
	char huge[300];
	memset(huge, 'h', 280);
	huge[280] = '\0';
	env.domain = huge;
	assert_int_equal(spf_expand_domain("%{d}", &env, &out, &e),
	                 EX_DATAERR);
	assert_contains(err_msg(&e), "...'");
	err_clear(&e);
	/* no sender: postmaster@<domain> */
	env.sender = NULL;
	env.domain = "example.org";
	assert_int_equal(spf_expand_domain("%{l}.%{o}", &env, &out, &e), EX_OK);
	assert_string_equal(out, "postmaster.example.org");
	free(out);
}

/* ---- known providers ----------------------------------------------------- */

static void test_providers(void **state)
{
	(void)state;
	static const struct {
		const char *host, *name, *include;
	} cases[] = {
	    {"email-smtp.eu-west-1.amazonaws.com", "Amazon SES",
	     "amazonses.com"},
	    {"email-smtp.us-east-1.amazonaws.com.", "Amazon SES",
	     "amazonses.com"},
	    {"EMAIL-SMTP.US-WEST-2.AMAZONAWS.COM", "Amazon SES",
	     "amazonses.com"},
	    {"ec2-1-2-3-4.compute-1.amazonaws.com", NULL, NULL},
	    {"smtp.sendgrid.net", "SendGrid", "sendgrid.net"},
	    {"smtp.gmail.com", "Google Workspace", "_spf.google.com"},
	    {"smtp-relay.gmail.com", "Google Workspace", "_spf.google.com"},
	    {"smtp.office365.com", "Microsoft 365",
	     "spf.protection.outlook.com"},
	    {"smtp-mail.outlook.com", "Microsoft 365",
	     "spf.protection.outlook.com"},
	    {"smtp.mailgun.org", "Mailgun", "mailgun.org"},
	    {"smtp.eu.mailgun.org", "Mailgun (EU)", "eu.mailgun.org"},
	    {"smtp.sparkpostmail.com", "SparkPost", "sparkpostmail.com"},
	    {"in-v3.mailjet.com", "Mailjet", "spf.mailjet.com"},
	    {"smtp.postmarkapp.com", "Postmark", "spf.mtasv.net"},
	    {"smtp.zoho.com", "Zoho Mail", "zoho.com"},
	    {"smtppro.zoho.com", "Zoho Mail", "zoho.com"},
	    {"smtp.zoho.eu", "Zoho Mail (EU)", "zoho.eu"},
	    {"smtp.fastmail.com", "Fastmail", "spf.messagingengine.com"},
	    {"smtp-relay.brevo.com", "Brevo", "spf.brevo.com"},
	    {"smtp.mandrillapp.com", "Mailchimp Transactional",
	     "spf.mandrillapp.com"},
	    {"smtp.mail.me.com", "iCloud Mail", "icloud.com"},
	    {"smtp.protonmail.ch", "Proton Mail", "_spf.protonmail.ch"},
	    {"email-smtp-fips.us-east-1.amazonaws.com", "Amazon SES",
	     "amazonses.com"},
	    {"mail.smtp2go.com", NULL, NULL}, /* CNAMEs, no include */
	    {"notgmail.com", NULL, NULL},
	    {"gmail.com.evil.example", NULL, NULL},
	    {"mail.example.com", NULL, NULL},
	    {"", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct spf_provider *p =
		    spf_provider_for_host(cases[i].host);
		if (!cases[i].name) {
			if (p)
				fail_msg("'%s' is %s", cases[i].host, p->name);
			continue;
		}
		if (!p)
			fail_msg("'%s' unknown", cases[i].host);
		assert_string_equal(p->name, cases[i].name);
		assert_string_equal(p->include, cases[i].include);
	}
	assert_null(spf_provider_for_host(NULL));
	/* a note where the provider's own bounce domain carries SPF */
	const struct spf_provider *ses =
	    spf_provider_for_host("email-smtp.eu-west-1.amazonaws.com");
	assert_contains(ses->note, "custom MAIL FROM domain");
	assert_null(spf_provider_for_host("smtp.gmail.com")->note);
}

/* ---- a zone from a table ------------------------------------------------- */

struct rr {
	const char *name;
	uint16_t type;
	const char *value; /* TXT text, address, "PREF HOST", PTR name */
};

/* A value that makes the lookup fail (SERVFAIL), or be refused. */
#define SERVFAIL "!servfail"
#define REFUSED  "!refused"

#define TXT(n, v)  {n, DNS_T_TXT, v}
#define A(n, v)    {n, DNS_T_A, v}
#define AAAA(n, v) {n, DNS_T_AAAA, v}
#define MX(n, v)   {n, DNS_T_MX, v}
#define PTR(n, v)  {n, DNS_T_PTR, v}
#define END        {NULL, 0, NULL}

#define MAX_QUESTIONS 512

struct zone {
	const struct rr *rrs;
	char *asked[MAX_QUESTIONS]; /* "TYPE name" of every question */
	size_t questions;
	bool repeated; /* a question was asked twice */
};

static void fill_record(struct dns_record *r, uint16_t type, const char *v)
{
	r->type = type;
	switch (type) {
	case DNS_T_TXT:
		r->data = (unsigned char *)xstrdup(v);
		r->data_len = strlen(v);
		break;
	case DNS_T_A:
		assert_int_equal(inet_pton(AF_INET, v, r->addr), 1);
		r->addr_len = 4;
		break;
	case DNS_T_AAAA:
		assert_int_equal(inet_pton(AF_INET6, v, r->addr), 1);
		r->addr_len = 16;
		break;
	case DNS_T_MX:
		r->preference = (uint16_t)atoi(v);
		r->name = xstrdup(strchr(v, ' ') + 1);
		break;
	case DNS_T_PTR:
		r->name = xstrdup(v);
		break;
	}
}

static int zone_lookup(void *ctx, const char *name, uint16_t type,
                       struct dns_result *out, struct err *e)
{
	struct zone *z = ctx;
	char question[300];
	snprintf(question, sizeof question, "%s %s", dns_type_name(type),
	         name);
	for (size_t i = 0; i < z->questions; i++)
		z->repeated = z->repeated || !strcmp(z->asked[i], question);
	assert_true(z->questions < MAX_QUESTIONS);
	z->asked[z->questions++] = xstrdup(question);
	assert_true(dns_host_name_valid(name));

	memset(out, 0, sizeof *out);
	size_t count = 0;
	bool exists = false;
	for (const struct rr *r = z->rrs; r->name; r++) {
		if (ascii_casecmp(r->name, name) != 0)
			continue;
		exists = true;
		if (r->type != type)
			continue;
		if (!strcmp(r->value, SERVFAIL)) {
			out->status = DNS_TEMPFAIL;
			return err_set(e, EX_TEMPFAIL,
			               "DNS lookup of the %s records of %s "
			               "failed: server failure (SERVFAIL); try "
			               "again later",
			               dns_type_name(type), name);
		}
		if (!strcmp(r->value, REFUSED)) {
			out->status = DNS_REFUSED;
			return err_set(e, EX_UNAVAILABLE,
			               "DNS lookup of the %s records of %s "
			               "failed: the server refused (REFUSED)",
			               dns_type_name(type), name);
		}
		count++;
	}
	out->records = xcalloc(count ? count : 1, sizeof *out->records);
	for (const struct rr *r = z->rrs; r->name; r++)
		if (!ascii_casecmp(r->name, name) && r->type == type)
			fill_record(&out->records[out->count++], type,
			            r->value);
	out->status = count ? DNS_FOUND : exists ? DNS_NODATA : DNS_NXDOMAIN;
	out->rcode = out->status == DNS_NXDOMAIN ? 3 : 0;
	return EX_OK;
}

static void zone_free(struct zone *z)
{
	for (size_t i = 0; i < z->questions; i++)
		free(z->asked[i]);
	z->questions = 0;
}

/* ---- spf_check_domain over tables ---------------------------------------- */

#define NO_IP 0

struct check_case {
	const char *name;
	const struct rr *zone;
	const char *domain;
	const char *sender;
	const char *ip; /* NULL: none */
	enum spf_status status;
	size_t lookups, voids;
	enum spf_result fallback;  /* default_result */
	enum spf_result ip_result; /* with ip */
	int all;                   /* the top record's qualifier, 0: none */
	const char *includes;      /* space-separated, in order */
	const char *problem;       /* a part of it (or of ip_problem) */
};

#define S_OK  SPF_STATUS_OK
#define PASS  SPF_RESULT_PASS
#define FAIL  SPF_RESULT_FAIL
#define SOFT  SPF_RESULT_SOFTFAIL
#define NEUT  SPF_RESULT_NEUTRAL
#define NONE  SPF_RESULT_NONE
#define TEMPE SPF_RESULT_TEMPERROR
#define PERME SPF_RESULT_PERMERROR

/* A Google-like tree: three records below the domain's. */
static const struct rr google[] = {
    TXT("example.com", "google-site-verification=abcdef"),
    TXT("example.com", "v=spf1 include:_spf.google.com ~all"),
    TXT("example.com", "MS=ms12345678"),
    TXT("_spf.google.com", "v=spf1 include:_netblocks.google.com "
                           "include:_netblocks2.google.com ~all"),
    TXT("_netblocks.google.com",
        "v=spf1 ip4:64.233.160.0/19 ip4:209.85.128.0/17 ~all"),
    TXT("_netblocks2.google.com", "v=spf1 ip6:2001:4860:4000::/36 ~all"),
    END,
};

#define A10                                                                \
	"a:h1.example.com a:h2.example.com a:h3.example.com "              \
	"a:h4.example.com a:h5.example.com a:h6.example.com "              \
	"a:h7.example.com a:h8.example.com a:h9.example.com "              \
	"a:h10.example.com"
#define HOSTS                                                              \
	A("h1.example.com", "192.0.2.1"), A("h2.example.com", "192.0.2.2"), \
	    A("h3.example.com", "192.0.2.3"),                              \
	    A("h4.example.com", "192.0.2.4"),                              \
	    A("h5.example.com", "192.0.2.5"),                              \
	    A("h6.example.com", "192.0.2.6"),                              \
	    A("h7.example.com", "192.0.2.7"),                              \
	    A("h8.example.com", "192.0.2.8"),                              \
	    A("h9.example.com", "192.0.2.9"),                              \
	    A("h10.example.com", "192.0.2.10"),                            \
	    A("h11.example.com", "192.0.2.11"),                            \
	    A("h12.example.com", "192.0.2.12")

static const struct rr ten[] = {
    TXT("example.com", "v=spf1 " A10 " -all"),
    HOSTS,
    END,
};

static const struct rr eleven[] = {
    TXT("example.com", "v=spf1 " A10 " a:h11.example.com -all"),
    HOSTS,
    END,
};

/* 2 includes and 12 a terms: the 11th lookup is in the second include */
static const struct rr fourteen[] = {
    TXT("example.com",
        "v=spf1 include:i1.example.com include:i2.example.com -all"),
    TXT("i1.example.com", "v=spf1 a:h1.example.com a:h2.example.com "
                          "a:h3.example.com a:h4.example.com "
                          "a:h5.example.com a:h6.example.com -all"),
    TXT("i2.example.com", "v=spf1 a:h7.example.com a:h8.example.com "
                          "a:h9.example.com a:h10.example.com "
                          "a:h11.example.com a:h12.example.com -all"),
    HOSTS,
    END,
};

/* terms after "all" are never met */
static const struct rr after_all[] = {
    TXT("example.com", "v=spf1 " A10 " -all a:h11.example.com "
                       "redirect=gone.example.com"),
    HOSTS,
    END,
};

static const struct rr two_voids[] = {
    TXT("example.com",
        "v=spf1 a:gone1.example.com mx:gone2.example.com -all"),
    TXT("gone2.example.com", "not an SPF record"), /* NODATA for MX */
    END,
};

static const struct rr three_voids[] = {
    TXT("example.com", "v=spf1 a:gone1.example.com include:i.example.com "
                       "-all"),
    TXT("i.example.com",
        "v=spf1 mx:gone2.example.com exists:gone3.example.com -all"),
    END,
};

static const struct rr loop[] = {
    TXT("loop-a.example", "v=spf1 include:loop-b.example -all"),
    TXT("loop-b.example", "v=spf1 ip4:192.0.2.1 include:loop-a.example "
                          "-all"),
    END,
};

static const struct rr self_redirect[] = {
    TXT("self.example", "v=spf1 ip4:192.0.2.1 redirect=self.example"),
    END,
};

static const struct rr redirect[] = {
    TXT("example.org", "v=spf1 redirect=_spf.example.org"),
    TXT("_spf.example.org", "v=spf1 ip4:192.0.2.0/24 -all"),
    END,
};

static const struct rr redirect_missing[] = {
    TXT("example.org", "v=spf1 mx redirect=missing.example.org"),
    MX("example.org", "10 mail.example.org"),
    END,
};

static const struct rr include_missing[] = {
    TXT("example.org", "v=spf1 include:nospf.example.org -all"),
    TXT("nospf.example.org", "some other text"),
    END,
};

static const struct rr syntax_deep[] = {
    TXT("example.com", "v=spf1 include:mid.example.net -all"),
    TXT("mid.example.net", "v=spf1 include:bad.example.net ~all"),
    TXT("bad.example.net", "v=spf1 ip4:192.0.2.1 ip4:1.2.3 -all"),
    END,
};

static const struct rr two_records[] = {
    TXT("example.com", "v=spf1 include:_spf.google.com ~all"),
    TXT("example.com", "v=spf1 include:sendgrid.net -all"),
    END,
};

static const struct rr two_deep[] = {
    TXT("example.com", "v=spf1 include:twice.example.net -all"),
    TXT("twice.example.net", "v=spf1 -all"),
    TXT("twice.example.net", "V=SPF1 ~all"),
    END,
};

static const struct rr flaky_include[] = {
    TXT("example.com", "v=spf1 ip4:192.0.2.1 include:flaky.example.net "
                       "-all"),
    TXT("flaky.example.net", SERVFAIL),
    END,
};

static const struct rr flaky_top[] = {
    TXT("example.com", SERVFAIL),
    END,
};

static const struct rr refused_a[] = {
    TXT("example.com", "v=spf1 a:slow.example.com -all"),
    A("slow.example.com", REFUSED),
    END,
};

static const struct rr addresses[] = {
    TXT("example.com", "v=spf1 ip4:192.0.2.128/25 ip6:2001:db8::/32 "
                       "a:web.example.com/28//64 mx -all"),
    A("web.example.com", "198.51.100.17"),
    AAAA("web.example.com", "2001:db9:0:1::1"),
    MX("example.com", "10 mx1.example.com"),
    MX("example.com", "20 mx2.example.com"),
    MX("example.com", "0 "), /* the null MX (RFC 7505): skipped */
    A("mx1.example.com", "203.0.113.1"),
    A("mx2.example.com", "203.0.113.2"),
    AAAA("mx2.example.com", "2001:db9:ffff::2"),
    END,
};

static const struct rr a_plain[] = {
    TXT("example.net", "v=spf1 a ?all"),
    A("example.net", "192.0.2.10"),
    END,
};

static const struct rr many_mx[] = {
    TXT("example.net", "v=spf1 mx -all"),
    MX("example.net", "1 m1.example.net"),
    MX("example.net", "2 m2.example.net"),
    MX("example.net", "3 m3.example.net"),
    MX("example.net", "4 m4.example.net"),
    MX("example.net", "5 m5.example.net"),
    MX("example.net", "6 m6.example.net"),
    MX("example.net", "7 m7.example.net"),
    MX("example.net", "8 m8.example.net"),
    MX("example.net", "9 m9.example.net"),
    MX("example.net", "10 m10.example.net"),
    MX("example.net", "11 m11.example.net"),
    END,
};

static const struct rr includes[] = {
    TXT("example.com", "v=spf1 include:a.example.com "
                       "include:B.EXAMPLE.COM. +all"),
    TXT("a.example.com", "v=spf1 include:c.example.com ip4:192.0.2.1 "
                         "-all"),
    TXT("b.example.com", "v=spf1 include:c.example.com ~all"),
    TXT("c.example.com", "v=spf1 ip4:198.51.100.0/24 ?all"),
    END,
};

static const struct rr open_include[] = {
    TXT("example.com", "v=spf1 include:open.example.net -all"),
    TXT("open.example.net", "v=spf1 +all"),
    END,
};

static const struct rr exists_ip[] = {
    TXT("example.com", "v=spf1 exists:%{i}._spf.%{d} -all"),
    A("192.0.2.7._spf.example.com", "127.0.0.2"),
    END,
};

static const struct rr exists_local[] = {
    TXT("example.com", "v=spf1 exists:%{l}.users._spf.%{d} -all"),
    A("john.doe.users._spf.example.com", "127.0.0.2"),
    END,
};

static const struct rr bad_target[] = {
    TXT("example.com", "v=spf1 include:%{l}.example.com -all"),
    END,
};

static const struct rr ptr_zone[] = {
    TXT("example.com", "v=spf1 ptr -all"),
    PTR("5.2.0.192.in-addr.arpa", "mail.example.com"),
    PTR("6.2.0.192.in-addr.arpa", "evil.example.net"),
    PTR("7.2.0.192.in-addr.arpa", "liar.example.com"),
    A("mail.example.com", "192.0.2.5"),
    A("evil.example.net", "192.0.2.6"),
    A("liar.example.com", "192.0.2.99"),
    END,
};

static const struct check_case check_cases[] = {
    {"a Google-like tree, a client in its IPv4 ranges", google,
     "example.com", NULL, "209.85.220.41", S_OK, 3, 0, SOFT, PASS, '~',
     "_spf.google.com _netblocks.google.com _netblocks2.google.com", NULL},
    {"the same, a client outside", google, "Example.COM.", NULL,
     "198.51.100.7", S_OK, 3, 0, SOFT, SOFT, '~',
     "_spf.google.com _netblocks.google.com _netblocks2.google.com", NULL},
    {"the same, an IPv6 client", google, "example.com", NULL,
     "2001:4860:4864:20::2c", S_OK, 3, 0, SOFT, PASS, '~', NULL, NULL},
    {"no record: the name does not exist", google, "example.net", NULL,
     NULL, SPF_STATUS_NONE, 0, 0, NONE, NONE, 0, "",
     "example.net has no SPF record (the name does not exist)"},
    {"no record: TXT records, none an SPF one", include_missing,
     "nospf.example.org", NULL, "192.0.2.1", SPF_STATUS_NONE, 0, 0, NONE,
     NONE, 0, "", "none of its TXT records begins with \"v=spf1\""},
    {"two records", two_records, "example.com", NULL, "192.0.2.1",
     SPF_STATUS_MULTIPLE, 0, 0, PERME, PERME, 0, "",
     "example.com has 2 SPF records where one is allowed"},
    {"two records in an include (any case)", two_deep, "example.com", NULL,
     NULL, SPF_STATUS_MULTIPLE, 1, 0, PERME, NONE, '-', "twice.example.net",
     "twice.example.net has 2 SPF records"},
    {"a syntax error two includes down", syntax_deep, "example.com", NULL,
     "192.0.2.1", SPF_STATUS_SYNTAX, 2, 0, PERME, PERME, '-',
     "mid.example.net bad.example.net",
     "the SPF record of bad.example.net does not parse: term 2 "
     "'ip4:1.2.3': not an IPv4 address (RFC 7208 5.6); receivers answer "
     "permerror (RFC 7208 4.6) (SPF tree: example.com > mid.example.net "
     "> bad.example.net)"},
    {"10 lookups are fine", ten, "example.com", NULL, "192.0.2.10", S_OK,
     10, 0, FAIL, PASS, '-', "", NULL},
    {"11 lookups are not", eleven, "example.com", NULL, "192.0.2.11",
     SPF_STATUS_TOO_MANY_LOOKUPS, 11, 0, PERME, PERME, '-', "",
     "needs 11 DNS lookups"},
    {"the 11th lookup is named", eleven, "example.com", NULL, NULL,
     SPF_STATUS_TOO_MANY_LOOKUPS, 11, 0, PERME, NONE, '-', "",
     "at the 11th, 'a:h11.example.com' in the record of example.com"},
    {"a match before the limit passes", eleven, "example.com", NULL,
     "192.0.2.3", SPF_STATUS_TOO_MANY_LOOKUPS, 11, 0, PERME, PASS, '-', "",
     "needs 11"},
    {"the walk counts on past the limit", fourteen, "example.com", NULL,
     NULL, SPF_STATUS_TOO_MANY_LOOKUPS, 14, 0, PERME, NONE, '-',
     "i1.example.com i2.example.com",
     "needs 14 DNS lookups (include, a, mx, ptr, exists and redirect= "
     "each count), more than the 10 a receiver makes: at the 11th, "
     "'a:h9.example.com' in the record of i2.example.com"},
    {"the receiver stops at the 11th", fourteen, "example.com", NULL,
     "192.0.2.12", SPF_STATUS_TOO_MANY_LOOKUPS, 14, 0, PERME, PERME, '-',
     NULL, "'a:h9.example.com' in the record of i2.example.com"},
    {"terms after all are never met", after_all, "example.com", NULL,
     "192.0.2.11", S_OK, 10, 0, FAIL, FAIL, '-', "", NULL},
    {"two void lookups are fine", two_voids, "example.com", NULL, NULL,
     S_OK, 2, 2, FAIL, NONE, '-', "", NULL},
    {"a third is not", three_voids, "example.com", NULL, "192.0.2.1",
     SPF_STATUS_TOO_MANY_VOID, 4, 3, PERME, PERME, '-', "i.example.com",
     "'exists:gone3.example.com' in the SPF record of i.example.com finds "
     "nothing at gone3.example.com: that makes 3 lookups that found "
     "nothing"},
    {"an include loop", loop, "loop-a.example", NULL, NULL,
     SPF_STATUS_LOOP, 2, 0, PERME, NONE, '-',
     "loop-b.example loop-a.example",
     "'include:loop-a.example' in the SPF record of loop-b.example leads "
     "back to loop-a.example"},
    {"a receiver meets the loop's lookup limit", loop, "loop-a.example",
     NULL, "198.51.100.1", SPF_STATUS_LOOP, 2, 0, PERME, PERME, '-', NULL,
     "evaluating the SPF tree of loop-a.example takes more than the 10"},
    {"the loop does not matter to a client it passes", loop,
     "loop-a.example", NULL, "192.0.2.1", SPF_STATUS_LOOP, 2, 0, PERME, PASS,
     '-', NULL, "leads back"},
    {"a redirect to itself", self_redirect, "self.example", NULL, NULL,
     SPF_STATUS_LOOP, 1, 0, PERME, NONE, 0, "self.example",
     "'redirect=self.example' in the SPF record of self.example leads back"},
    {"redirect: the target's all", redirect, "example.org", NULL,
     "192.0.2.200", S_OK, 1, 0, FAIL, PASS, 0, "_spf.example.org", NULL},
    {"redirect: a client outside", redirect, "example.org", NULL,
     "198.51.100.1", S_OK, 1, 0, FAIL, FAIL, 0, NULL, NULL},
    {"redirect to a name without a record", redirect_missing, "example.org",
     NULL, NULL, SPF_STATUS_MISSING_TARGET, 2, 0, PERME, NONE, 0,
     "missing.example.org",
     "'redirect=missing.example.org' in the SPF record of example.org "
     "names missing.example.org, which has no SPF record (the name does "
     "not exist): receivers answer permerror (RFC 7208 6.1)"},
    {"include of a name without a record", include_missing, "example.org",
     NULL, "192.0.2.1", SPF_STATUS_MISSING_TARGET, 1, 0, PERME, PERME, '-',
     "nospf.example.org",
     "none of its TXT records begins with \"v=spf1\"): receivers answer "
     "permerror (RFC 7208 5.2)"},
    {"a DNS failure in an include", flaky_include, "example.com", NULL,
     "198.51.100.1", SPF_STATUS_TEMPFAIL, 1, 0, TEMPE, TEMPE, '-',
     "flaky.example.net",
     "DNS lookup of the TXT records of flaky.example.net failed: server "
     "failure (SERVFAIL); try again later (for the SPF record of "
     "flaky.example.net; until it answers, receivers answer temperror"},
    {"a DNS failure after a match does not matter", flaky_include,
     "example.com", NULL, "192.0.2.1", SPF_STATUS_TEMPFAIL, 1, 0, TEMPE,
     PASS, '-', NULL, "SERVFAIL"},
    {"a DNS failure at the top", flaky_top, "example.com", NULL,
     "192.0.2.1", SPF_STATUS_TEMPFAIL, 0, 0, TEMPE, TEMPE, 0, "",
     "DNS lookup of the TXT records of example.com failed"},
    {"a refused A lookup", refused_a, "example.com", NULL, NULL,
     SPF_STATUS_TEMPFAIL, 1, 0, TEMPE, NONE, '-', "", "REFUSED"},
    {"ip4 with a prefix", addresses, "example.com", NULL, "192.0.2.129",
     S_OK, 2, 0, FAIL, PASS, '-', "", NULL},
    {"ip4 just outside", addresses, "example.com", NULL, "192.0.2.127",
     S_OK, 2, 0, FAIL, FAIL, '-', "", NULL},
    {"an IPv4-mapped client", addresses, "example.com", NULL,
     "::ffff:192.0.2.200", S_OK, 2, 0, FAIL, PASS, '-', "", NULL},
    {"ip6", addresses, "example.com", NULL, "2001:db8:1::1", S_OK, 2, 0,
     FAIL, PASS, '-', "", NULL},
    {"a with an IPv4 prefix", addresses, "example.com", NULL,
     "198.51.100.30", S_OK, 2, 0, FAIL, PASS, '-', "", NULL},
    {"a outside the prefix", addresses, "example.com", NULL,
     "198.51.100.33", S_OK, 2, 0, FAIL, FAIL, '-', "", NULL},
    {"a with an IPv6 prefix (AAAA for an IPv6 client)", addresses,
     "example.com", NULL, "2001:db9:0:1:ffff::1", S_OK, 2, 0, FAIL, PASS,
     '-', "", NULL},
    {"mx", addresses, "example.com", NULL, "203.0.113.2", S_OK, 2, 0, FAIL,
     PASS, '-', "", NULL},
    {"mx (AAAA for an IPv6 client)", addresses, "example.com", NULL,
     "2001:db9:ffff::2", S_OK, 2, 0, FAIL, PASS, '-', "", NULL},
    {"mx, another client", addresses, "example.com", NULL, "203.0.113.3",
     S_OK, 2, 0, FAIL, FAIL, '-', "", NULL},
    {"a of the domain itself, ?all", a_plain, "example.net", NULL,
     "192.0.2.10", S_OK, 1, 0, NEUT, PASS, '?', "", NULL},
    {"?all", a_plain, "example.net", NULL, "192.0.2.11", S_OK, 1, 0, NEUT,
     NEUT, '?', "", NULL},
    {"11 MX hosts", many_mx, "example.net", NULL, "192.0.2.1",
     SPF_STATUS_TOO_MANY_MX, 1, 0, PERME, PERME, '-', "",
     "'mx' in the SPF record of example.net finds 11 MX hosts"},
    {"includes: every one once, in order met; +all", includes,
     "example.com", NULL, "198.51.100.9", S_OK, 4, 0, PASS, PASS, '+',
     "a.example.com c.example.com b.example.com", NULL},
    {"include: a fail inside does not match", includes, "example.com",
     NULL, "203.0.113.9", S_OK, 4, 0, PASS, PASS, '+', NULL, NULL},
    {"include: a pass inside matches", open_include, "example.com", NULL,
     "203.0.113.9", S_OK, 1, 0, PASS, PASS, '-', "open.example.net", NULL},
    {"exists with %{i}, no client", exists_ip, "example.com", NULL, NULL,
     S_OK, 1, 0, FAIL, NONE, '-', "", NULL},
    {"exists with %{i}", exists_ip, "example.com", NULL, "192.0.2.7", S_OK,
     1, 0, FAIL, PASS, '-', "", NULL},
    {"exists with %{i}, another client", exists_ip, "example.com", NULL,
     "192.0.2.8", S_OK, 1, 1, FAIL, FAIL, '-', "", NULL},
    {"exists with %{l}", exists_local, "example.com", "john.doe@example.com",
     "192.0.2.8", S_OK, 1, 0, FAIL, PASS, '-', "", NULL},
    {"exists with %{l}, postmaster", exists_local, "example.com", NULL,
     "192.0.2.8", S_OK, 1, 1, FAIL, FAIL, '-', "", NULL},
    {"an include that cannot be a name", bad_target, "example.com",
     "a+b@example.com", NULL, SPF_STATUS_BAD_TARGET, 1, 0, PERME, NONE, '-',
     "", "it expands to 'a+b.example.com', which is not a domain name"},
    {"ptr: a validated name", ptr_zone, "example.com", NULL, "192.0.2.5",
     S_OK, 1, 0, FAIL, PASS, '-', "", NULL},
    {"ptr: a name elsewhere", ptr_zone, "example.com", NULL, "192.0.2.6",
     S_OK, 1, 0, FAIL, FAIL, '-', "", NULL},
    {"ptr: a name that does not lead back", ptr_zone, "example.com", NULL,
     "192.0.2.7", S_OK, 1, 0, FAIL, FAIL, '-', "", NULL},
    {"ptr: no name at all", ptr_zone, "example.com", NULL, "192.0.2.8",
     S_OK, 1, 0, FAIL, FAIL, '-', "", NULL},
};

static void join_includes(const struct spf_check *c, struct buf *out)
{
	for (size_t i = 0; i < c->include_count; i++)
		buf_printf(out, "%s%s", i ? " " : "", c->includes[i]);
}

static void run_check(const struct check_case *c)
{
	struct zone z = {.rrs = c->zone};
	unsigned char ip[16];
	size_t ip_len = 0;
	if (c->ip) {
		bool v6 = strchr(c->ip, ':') != NULL;
		assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, c->ip, ip),
		                 1);
		ip_len = v6 ? 16 : 4;
	}
	struct spf_check out;
	struct err e = ERR_INIT;
	assert_int_equal(spf_check_domain(c->domain, c->sender, ip, ip_len,
	                                  zone_lookup, &z, &out, &e),
	                 EX_OK);
	struct buf inc = BUF_INIT;
	join_includes(&out, &inc);
	if (out.status != c->status || out.lookups != c->lookups ||
	    out.void_lookups != c->voids ||
	    out.default_result != c->fallback ||
	    (c->ip && out.ip_result != c->ip_result) ||
	    (c->includes && strcmp(buf_str(&inc), c->includes) != 0))
		fail_msg("%s: status %d lookups %zu voids %zu default %s "
		         "ip %s includes '%s'; problem: %s; ip: %s",
		         c->name, out.status, out.lookups, out.void_lookups,
		         spf_result_name(out.default_result),
		         spf_result_name(out.ip_result), buf_str(&inc),
		         out.problem ? out.problem : "-",
		         out.ip_problem ? out.ip_problem : "-");
	buf_free(&inc);
	assert_int_equal(out.has_ip, c->ip != NULL);
	if (out.has_all != (c->all != 0) ||
	    (c->all && (int)out.all_qualifier != c->all))
		fail_msg("%s: all %d '%c'", c->name, out.has_all,
		         out.has_all ? out.all_qualifier : ' ');
	if (c->status == SPF_STATUS_OK) {
		assert_null(out.problem);
		assert_null(out.problem_domain);
	} else {
		assert_non_null(out.problem);
		assert_non_null(out.problem_domain);
		assert_clean(out.problem);
	}
	if (c->problem) {
		const char *p = out.problem, *ipp = out.ip_problem;
		bool in_problem = p && strstr(p, c->problem);
		bool in_ip = ipp && strstr(ipp, c->problem);
		if (!in_problem && !in_ip)
			fail_msg("%s: neither '%s' nor '%s' has '%s'", c->name,
			         out.problem ? out.problem : "-",
			         out.ip_problem ? out.ip_problem : "-",
			         c->problem);
	}
	bool ip_error = out.ip_result == SPF_RESULT_TEMPERROR ||
	                out.ip_result == SPF_RESULT_PERMERROR;
	assert_int_equal(out.ip_problem != NULL, c->ip && ip_error);
	if (out.ip_problem)
		assert_clean(out.ip_problem);
	assert_true(out.lookups <= SPF_MAX_TREE_LOOKUPS);
	assert_true(out.ip_lookups <= SPF_MAX_LOOKUPS + 1);
	/* the walk and the evaluation asked each question once */
	if (z.repeated)
		fail_msg("%s: a question was asked twice", c->name);
	/* the record kept is the published one, when there is one */
	if (out.record)
		assert_true(spf_is_record(out.record, strlen(out.record)));
	spf_check_free(&out);
	spf_check_free(&out); /* twice is fine */
	zone_free(&z);
}

static void test_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof check_cases / sizeof *check_cases; i++)
		run_check(&check_cases[i]);
}

/* Findings that the table does not show. */
static void test_check_details(void **state)
{
	(void)state;
	struct spf_check out;
	struct err e = ERR_INIT;
	struct zone z = {.rrs = google};
	assert_int_equal(spf_check_domain("example.com", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_OK);
	assert_string_equal(out.record, "v=spf1 include:_spf.google.com ~all");
	assert_true(spf_check_includes(&out, "_spf.google.com"));
	assert_true(spf_check_includes(&out, "_NETBLOCKS2.google.com."));
	assert_false(spf_check_includes(&out, "google.com"));
	assert_false(spf_check_includes(&out, NULL));
	assert_false(out.uses_ptr);
	assert_int_equal(out.skipped, 0);
	assert_null(out.skipped_note);
	/* a provider's include found anywhere in the tree */
	const struct spf_provider *p = spf_provider_for_host("smtp.gmail.com");
	assert_true(spf_check_includes(&out, p->include));
	spf_check_free(&out);
	zone_free(&z);

	/* a term that needs the client, without one */
	z.rrs = exists_ip;
	assert_int_equal(spf_check_domain("example.com", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_OK);
	assert_int_equal(out.skipped, 1);
	assert_contains(out.skipped_note,
	                "'exists:%{i}._spf.%{d}' in the SPF record of "
	                "example.com was not evaluated and counts as not "
	                "matching: its macros need the client's IP address");
	spf_check_free(&out);
	zone_free(&z);

	/* ptr is reported */
	z.rrs = ptr_zone;
	assert_int_equal(spf_check_domain("example.com", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_OK);
	assert_true(out.uses_ptr);
	assert_int_equal(out.lookups, 1);
	assert_int_equal(out.default_result, SPF_RESULT_FAIL);
	spf_check_free(&out);
	zone_free(&z);

	/* refusals */
	assert_int_equal(spf_check_domain("localhost", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_DATAERR);
	assert_contains(err_msg(&e), "'localhost' is not a domain");
	assert_int_equal(spf_check_domain("bad\x1b.example", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_DATAERR);
	assert_contains(err_msg(&e), "bad\\x1b.example");
	assert_int_equal(spf_check_domain("example.com..", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_DATAERR);
	assert_int_equal(spf_check_domain(NULL, NULL, NULL, NO_IP, zone_lookup,
	                                  &z, &out, &e),
	                 EX_DATAERR);
	unsigned char ip[5] = {0};
	assert_int_equal(spf_check_domain("example.com", NULL, ip, 5,
	                                  zone_lookup, &z, &out, &e),
	                 EX_SOFTWARE);
	assert_int_equal(z.questions, 0);
	assert_null(out.problem);
	err_clear(&e);
	zone_free(&z);
}

/* The count goes on past the limit, up to SPF_MAX_TREE_LOOKUPS: 11
 * includes of 10 a terms each need 121 lookups. */
static void test_check_tree_limit(void **state)
{
	(void)state;
	static const struct rr hosts[] = {HOSTS, END};
	struct rr rrs[64];
	char names[12][40], texts[12][400];
	size_t n = 0;
	for (const struct rr *h = hosts; h->name; h++)
		rrs[n++] = *h;
	struct buf top = BUF_INIT;
	buf_add_str(&top, "v=spf1");
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof names[i], "i%d.example.com", i);
		buf_printf(&top, " include:%s", names[i]);
		snprintf(texts[i], sizeof texts[i], "v=spf1 %s -all", A10);
		rrs[n++] = (struct rr)TXT(names[i], texts[i]);
	}
	buf_add_str(&top, " -all");
	rrs[n++] = (struct rr)TXT("example.com", buf_str(&top));
	rrs[n++] = (struct rr)END;
	struct zone z = {.rrs = rrs};
	struct spf_check out;
	struct err e = ERR_INIT;
	assert_int_equal(spf_check_domain("example.com", NULL, NULL, NO_IP,
	                                  zone_lookup, &z, &out, &e),
	                 EX_OK);
	assert_int_equal(out.status, SPF_STATUS_TOO_MANY_LOOKUPS);
	assert_int_equal(out.lookups, SPF_MAX_TREE_LOOKUPS);
	assert_contains(out.problem, "needs at least 100 DNS lookups");
	assert_contains(out.problem, "'a:h10.example.com' in the record of "
	                             "i0.example.com");
	/* counting past the limit asks for TXT records only */
	for (size_t i = 0; i < z.questions; i++)
		if (strncmp(z.asked[i], "TXT ", 4) != 0)
			assert_true(strncmp(z.asked[i], "A h", 3) == 0);
	/* i9 and i10 are counted, not followed */
	assert_int_equal(out.include_count, 9);
	spf_check_free(&out);
	zone_free(&z);
	buf_free(&top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_macro_truncation),
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_details),
		cmocka_unit_test(test_check_tree_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
