/* test_dmarc.c - DMARC (RFC 7489): which TXT records count, the record
 * parser (every tag, defaults, case rules, white space, the p= rules of
 * 6.6.3 step 5, refusals naming the tag), the canonical formatting and its
 * round trip, the organizational domain through the real Public Suffix
 * List (libpsl) and the fallback rule, relaxed and strict alignment, and
 * the names policy discovery queries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "dmarc.h"
#include "err.h"
#include "org_domain.h"

/* A message holds no control character. */
static void assert_clean(const char *msg)
{
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character in '%s'", msg);
}

/* ---- which records count ------------------------------------------------- */

struct is_record_case {
	const char *text;
	bool record;
};

static const struct is_record_case is_record_cases[] = {
	{"v=DMARC1; p=none", true},
	{"v=DMARC1;p=none", true},
	{"v=DMARC1", true},
	{"v=DMARC1;", true},
	{"v = DMARC1 ; p=reject", true},
	{"v=\tDMARC1\t;", true},
	{"  v=DMARC1; p=none", true},  /* RFC 6376 3.2: FWS before a tag */
	{"V=DMARC1; p=none", true},    /* RFC 5234 2.3: "v" in any case */
	{"v=DMARC1 p=none", true},     /* counts; the parser refuses it */
	{"v=dmarc1; p=none", false},   /* %x44 %x4d ...: capitals only */
	{"v=DMARC10; p=none", false},
	{"v=DMARC2; p=none", false},
	{"v=DMARC; p=none", false},
	{"p=none; v=DMARC1", false},   /* v not first */
	{"v=spf1 -all", false},
	{"vv=DMARC1", false},
	{"v:DMARC1", false},
	{"", false},
	{"v=", false},
	{";v=DMARC1", false},
};

static void test_is_record(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof is_record_cases / sizeof *is_record_cases;
	     i++) {
		const struct is_record_case *c = &is_record_cases[i];
		if (dmarc_is_record(c->text, strlen(c->text)) != c->record)
			fail_msg("'%s': expected %s", c->text,
			         c->record ? "a record" : "no record");
	}
	/* the length counts, not a NUL */
	assert_false(dmarc_is_record("v=DMARC1", 7));
	assert_true(dmarc_is_record("v=DMARC1\0junk", 8));
}

/* ---- good records -------------------------------------------------------- */

#define NON DMARC_NONE
#define QUA DMARC_QUARANTINE
#define REJ DMARC_REJECT
#define R DMARC_RELAXED
#define S DMARC_STRICT
#define FO0 DMARC_FO_ALL
#define FO1 DMARC_FO_ANY
#define FOD DMARC_FO_DKIM
#define FOS DMARC_FO_SPF
#define DAY 86400u

struct good_case {
	const char *text;
	enum dmarc_policy p;
	int sp; /* -1: no sp */
	int pct;
	enum dmarc_align adkim, aspf;
	const char *rua; /* "URI[!LIMIT] ..." or "" */
	const char *ruf;
	unsigned fo;
	const char *rf; /* NULL: absent */
	uint32_t ri;
	bool policy_invalid;
	bool p_not_second;
};

static const struct good_case good_cases[] = {
	{"v=DMARC1; p=none", NON, -1, 100, R, R, "", "", FO0, NULL, DAY, false, false},
	{"v=DMARC1; p=reject;", REJ, -1, 100, R, R, "", "", FO0, NULL, DAY, false, false},
	{"v=DMARC1;p=quarantine", QUA, -1, 100, R, R, "", "", FO0, NULL, DAY, false, false},
	/* every tag */
	{"v=DMARC1; p=quarantine; sp=reject; rua=mailto:agg@example.com; "
	 "ruf=mailto:forensic@example.com; adkim=s; aspf=s; ri=3600; "
	 "fo=1:d:s; rf=afrf; pct=25",
	 QUA, REJ, 25, S, S, "mailto:agg@example.com",
	 "mailto:forensic@example.com", FO1 | FOD | FOS, "afrf", 3600, false, false},
	/* RFC 7489 B.2.3's record: two URIs, a size limit */
	{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com,"
	 "mailto:tld-test@thirdparty.example.net!10m",
	 NON, -1, 100, R, R,
	 "mailto:dmarc-feedback@example.com "
	 "mailto:tld-test@thirdparty.example.net!10485760",
	 "", FO0, NULL, DAY, false, false},
	/* size suffixes: none, k, m, g, t, upper case; white space around
	 * the commas */
	{"v=DMARC1; p=none; rua=mailto:a@x.example!100 , mailto:b@x.example!1k"
	 ",\tmailto:c@x.example!2M ,mailto:d@x.example!3g, "
	 "mailto:e@x.example!1T",
	 NON, -1, 100, R, R,
	 "mailto:a@x.example!100 mailto:b@x.example!1024 "
	 "mailto:c@x.example!2097152 mailto:d@x.example!3221225472 "
	 "mailto:e@x.example!1099511627776",
	 "", FO0, NULL, DAY, false, false},
	/* other schemes and percent-escapes are URIs too */
	{"v=DMARC1; p=none; rua=https://report.example/dmarc?x=1; "
	 "ruf=mailto:a%2Cb@example.com?subject=dmarc%21",
	 NON, -1, 100, R, R, "https://report.example/dmarc?x=1",
	 "mailto:a%2Cb@example.com?subject=dmarc%21", FO0, NULL, DAY, false, false},
	/* pct bounds, leading zeros within three digits */
	{"v=DMARC1; p=reject; pct=0", REJ, -1, 0, R, R, "", "", FO0, NULL,
	 DAY, false, false},
	{"v=DMARC1; p=reject; pct=100", REJ, -1, 100, R, R, "", "", FO0, NULL,
	 DAY, false, false},
	{"v=DMARC1; p=reject; pct=007", REJ, -1, 7, R, R, "", "", FO0, NULL,
	 DAY, false, false},
	/* ri up to 2^32-1 */
	{"v=DMARC1; p=none; ri=4294967295", NON, -1, 100, R, R, "", "", FO0,
	 NULL, 4294967295u, false, false},
	{"v=DMARC1; p=none; ri=0", NON, -1, 100, R, R, "", "", FO0, NULL, 0, false, false},
	/* fo with white space around ":"; repeated values */
	{"v=DMARC1; p=none; fo=0 : 1:0", NON, -1, 100, R, R, "", "",
	 FO0 | FO1, NULL, DAY, false, false},
	/* rf: keywords, lower-cased */
	{"v=DMARC1; p=none; rf=AFRF:iodef", NON, -1, 100, R, R, "", "", FO0,
	 "afrf:iodef", DAY, false, false},
	/* RFC 5234 2.3: tag names and keywords in any case */
	{"V=DMARC1; P=Reject; SP=NONE; ADKIM=S; Aspf=R; PCT=50", REJ, NON, 50,
	 S, R, "", "", FO0, NULL, DAY, false, false},
	/* white space around tags, "=" and ";" */
	{"  v = DMARC1 ;\tp = reject ;  pct =\t10 ;  ", REJ, -1, 10, R, R, "",
	 "", FO0, NULL, DAY, false, false},
	/* FWS (a folded line) between tags */
	{"v=DMARC1;\r\n p=none;\r\n\trua=mailto:a@example.com", NON, -1, 100,
	 R, R, "mailto:a@example.com", "", FO0, NULL, DAY, false, false},
	/* unknown tags are ignored, whatever they hold */
	{"v=DMARC1; p=none; np=reject; psd=y; t=n; x_future=a b c", NON, -1,
	 100, R, R, "", "", FO0, NULL, DAY, false, false},
	/* p not second: read, but flagged */
	{"v=DMARC1; rua=mailto:a@example.com; p=reject", REJ, -1, 100, R, R,
	 "mailto:a@example.com", "", FO0, NULL, DAY, false, true},
	/* RFC 7489 6.6.3 step 5.1: no valid p (or sp), a valid rua: read as
	 * p=none */
	{"v=DMARC1; rua=mailto:a@example.com", NON, -1, 100, R, R,
	 "mailto:a@example.com", "", FO0, NULL, DAY, true, false},
	{"v=DMARC1; p=block; rua=mailto:a@example.com", NON, -1, 100, R, R,
	 "mailto:a@example.com", "", FO0, NULL, DAY, true, false},
	{"v=DMARC1; p=reject; sp=drop; rua=mailto:a@example.com", NON, -1, 100,
	 R, R, "mailto:a@example.com", "", FO0, NULL, DAY, true, false},
	{"v=DMARC1; p=; pct=5; rua=mailto:a@example.com", NON, -1, 5, R, R,
	 "mailto:a@example.com", "", FO0, NULL, DAY, true, false},
};

/* "URI[!LIMIT] ..." of a record's list */
static void join_uris(char **uris, const uint64_t *limits, size_t count,
                      struct buf *out)
{
	for (size_t i = 0; i < count; i++) {
		buf_printf(out, "%s%s", i ? " " : "", uris[i]);
		if (limits[i])
			buf_printf(out, "!%llu", (unsigned long long)limits[i]);
	}
}

static void check_good(const struct good_case *c, const struct dmarc_record *r)
{
	struct buf rua = BUF_INIT, ruf = BUF_INIT;
	join_uris(r->rua, r->rua_limit, r->rua_count, &rua);
	join_uris(r->ruf, r->ruf_limit, r->ruf_count, &ruf);
	if (r->p != c->p || r->has_sp != (c->sp >= 0) ||
	    (c->sp >= 0 && (int)r->sp != c->sp) ||
	    (c->sp < 0 && r->sp != r->p) || r->pct != c->pct ||
	    r->adkim != c->adkim || r->aspf != c->aspf ||
	    strcmp(buf_str(&rua), c->rua) != 0 ||
	    strcmp(buf_str(&ruf), c->ruf) != 0 || r->fo != c->fo ||
	    (c->rf ? !r->rf || strcmp(r->rf, c->rf) != 0 : r->rf != NULL) ||
	    r->ri != c->ri || r->policy_invalid != c->policy_invalid ||
	    r->p_not_second != c->p_not_second)
		fail_msg("'%s': read as p=%d sp=%d/%d pct=%d adkim=%d aspf=%d "
		         "rua='%s' ruf='%s' fo=%u rf=%s ri=%u invalid=%d "
		         "not_second=%d",
		         c->text, r->p, r->has_sp, r->sp, r->pct, r->adkim,
		         r->aspf, buf_str(&rua), buf_str(&ruf), r->fo,
		         r->rf ? r->rf : "(none)", (unsigned)r->ri,
		         r->policy_invalid, r->p_not_second);
	buf_free(&rua);
	buf_free(&ruf);
}

static void test_parse_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof good_cases / sizeof *good_cases; i++) {
		const struct good_case *c = &good_cases[i];
		struct dmarc_record r;
		struct err e = ERR_INIT;
		if (dmarc_parse(c->text, strlen(c->text), &r, &e) != EX_OK)
			fail_msg("'%s': %s", c->text, err_msg(&e));
		check_good(c, &r);
		dmarc_record_free(&r);
		err_clear(&e);
	}
}

/* ---- refused records ----------------------------------------------------- */

struct bad_case {
	const char *text;
	const char *why; /* a part of the message */
};

static const struct bad_case bad_cases[] = {
	/* not a record at all */
	{"v=spf1 -all", "not a DMARC record"},
	{"p=reject; v=DMARC1", "not a DMARC record"},
	{"v=dmarc1; p=reject", "not a DMARC record"},
	/* p missing or invalid without a valid rua (6.6.3 step 5.2) */
	{"v=DMARC1", "has no p= tag"},
	{"v=DMARC1;", "has no p= tag"},
	{"v=DMARC1; pct=50", "has no p= tag"},
	{"v=DMARC1; p=block", "p=\"block\" is not none, quarantine or reject"},
	{"v=DMARC1; p=", "p=\"\" is not none, quarantine"},
	{"v=DMARC1; p=re ject", "p=\"re ject\""},
	{"v=DMARC1; p=rejected", "p=\"rejected\""},
	{"v=DMARC1; p=reject; sp=all", "sp=\"all\" is not none"},
	{"v=DMARC1; p=bad; ruf=mailto:a@example.com", "p=\"bad\""},
	/* the version tag's value */
	{"v=DMARC1 x; p=none", "v=\"DMARC1 x\" is not DMARC1"},
	/* pct */
	{"v=DMARC1; p=none; pct=101", "pct=\"101\" is not a number from 0"},
	{"v=DMARC1; p=none; pct=1000", "pct=\"1000\""},
	{"v=DMARC1; p=none; pct=-1", "pct=\"-1\""},
	{"v=DMARC1; p=none; pct=", "pct=\"\""},
	{"v=DMARC1; p=none; pct=50%", "pct=\"50%\""},
	{"v=DMARC1; p=none; pct=0x10", "pct=\"0x10\""},
	/* alignment, fo, rf, ri */
	{"v=DMARC1; p=none; adkim=strict", "adkim=\"strict\" is neither r"},
	{"v=DMARC1; p=none; aspf=x", "aspf=\"x\""},
	{"v=DMARC1; p=none; fo=2", "fo=\"2\" is not a list of 0, 1, d and s"},
	{"v=DMARC1; p=none; fo=0:", "fo=\"0:\""},
	{"v=DMARC1; p=none; fo=ds", "fo=\"ds\""},
	{"v=DMARC1; p=none; rf=afrf:", "rf=\"afrf:\""},
	{"v=DMARC1; p=none; rf=a_b", "rf=\"a_b\""},
	{"v=DMARC1; p=none; ri=4294967296", "ri=\"4294967296\" is not a number"},
	{"v=DMARC1; p=none; ri=1h", "ri=\"1h\""},
	/* URIs */
	{"v=DMARC1; p=none; rua=dmarc@example.com", "rua=\"dmarc@example.com\""
	 " holds something that is not a URI"},
	{"v=DMARC1; p=none; rua=mailto:", "rua=\"mailto:\""},
	{"v=DMARC1; p=none; rua=mailto:dmarc", "rua=\"mailto:dmarc\""},
	{"v=DMARC1; p=none; rua=mailto:@example.com", "rua="},
	{"v=DMARC1; p=none; rua=mailto:a@", "rua="},
	{"v=DMARC1; p=none; rua=mailto:a@b.example,", "rua="},
	{"v=DMARC1; p=none; rua=,mailto:a@b.example", "rua="},
	{"v=DMARC1; p=none; rua=mailto:a@b.example mailto:c@d.example",
	 "rua="},
	{"v=DMARC1; p=none; rua=mailto:a@b.example%2", "rua="},
	{"v=DMARC1; p=none; rua=mailto:a@b.example%zz", "rua="},
	{"v=DMARC1; p=none; rua=1mailto:a@b.example", "rua="},
	{"v=DMARC1; p=none; rua=mailto:a\"b@example.com", "rua="},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!", "ruf=\"mailto:a@b.example!\""
	 " has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!10x", "has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!k", "has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!0", "has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!10m!5", "has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!18446744073709551616",
	 "has a size limit"},
	{"v=DMARC1; p=none; ruf=mailto:a@b.example!16777216t",
	 "has a size limit"},
	/* an invalid rua does not rescue an invalid p */
	{"v=DMARC1; p=bad; rua=mailto:nobody", "rua=\"mailto:nobody\""},
	/* the tag-list: duplicates (in any case), syntax */
	{"v=DMARC1; p=none; p=reject", "p=\""},
	{"v=DMARC1; p=none; P=reject", "appears more than once"},
	{"v=DMARC1; p=none; x=1; x=2", "appears more than once"},
	{"v=DMARC1; p=none;; pct=5", "not a list of tag=value"},
	{"v=DMARC1; p=none; pct", "not a list of tag=value"},
	{"v=DMARC1; p=none; =5", "not a list of tag=value"},
	{"v=DMARC1; p=none; 1x=5", "not a list of tag=value"},
	{"v=DMARC1; p=none; rua=mailto:a@b.example\x01", "not a list"},
	{"v=DMARC1; p=none; note=caf\xc3\xa9", "not a list of tag=value"},
	{"v=DMARC1 p=none", "v=\"DMARC1 p=none\" is not DMARC1"},
};

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct dmarc_record r;
		struct err e = ERR_INIT;
		if (dmarc_parse(c->text, strlen(c->text), &r, &e) !=
		    EX_DATAERR)
			fail_msg("'%s' accepted", c->text);
		if (!strstr(err_msg(&e), c->why))
			fail_msg("'%s': '%s' lacks '%s'", c->text, err_msg(&e),
			         c->why);
		assert_non_null(strstr(err_msg(&e), "RFC "));
		assert_clean(err_msg(&e));
		/* out is empty */
		assert_int_equal(r.rua_count, 0);
		assert_null(r.rua);
		assert_null(r.rf);
		dmarc_record_free(&r);
		err_clear(&e);
	}
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	struct dmarc_record r;
	/* a NUL inside is no value character */
	assert_int_equal(dmarc_parse("v=DMARC1; p=none\0x", 18, &r, &e),
	                 EX_DATAERR);
	err_clear(&e);
	assert_int_equal(dmarc_parse("v=DMARC1; p=none\0x", 16, &r, &e),
	                 EX_OK);
	dmarc_record_free(&r);
	/* the largest record; one octet more is refused */
	struct buf big = BUF_INIT;
	buf_add_str(&big, "v=DMARC1; p=reject; x=");
	while (big.len < DMARC_RECORD_MAX)
		buf_add_char(&big, 'a');
	assert_int_equal(dmarc_parse(big.data, big.len, &r, &e), EX_OK);
	assert_int_equal(r.p, DMARC_REJECT);
	dmarc_record_free(&r);
	buf_add_char(&big, 'a');
	assert_int_equal(dmarc_parse(big.data, big.len, &r, &e), EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "longer than 65535"));
	err_clear(&e);
	/* many tags (duplicates are found by sorting, not pair by pair) */
	buf_reset(&big);
	buf_add_str(&big, "v=DMARC1; p=none");
	for (int i = 0; big.len < DMARC_RECORD_MAX - 16; i++)
		buf_printf(&big, "; t%d=x", i);
	assert_int_equal(dmarc_parse(big.data, big.len, &r, &e), EX_OK);
	dmarc_record_free(&r);
	buf_add_str(&big, "; t7=y");
	assert_int_equal(dmarc_parse(big.data, big.len, &r, &e), EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "t7="));
	err_clear(&e);
	buf_free(&big);
	/* a long bad value is quoted in part */
	struct buf longp = BUF_INIT;
	buf_add_str(&longp, "v=DMARC1; p=");
	for (int i = 0; i < 500; i++)
		buf_add_char(&longp, 'q');
	assert_int_equal(dmarc_parse(longp.data, longp.len, &r, &e),
	                 EX_DATAERR);
	assert_true(strlen(err_msg(&e)) < 300);
	assert_non_null(strstr(err_msg(&e), "...\""));
	err_clear(&e);
	buf_free(&longp);
}

/* ---- formatting ---------------------------------------------------------- */

struct format_case {
	const char *text;
	const char *formatted;
};

static const struct format_case format_cases[] = {
	{"v=DMARC1; p=none", "v=DMARC1; p=none"},
	{"v=DMARC1;p=REJECT;pct=100;adkim=r;aspf=r;fo=0;ri=86400",
	 "v=DMARC1; p=reject"},
	{"v=DMARC1; p=quarantine; sp=none; rua=mailto:a@example.com!10m, "
	 "mailto:b@example.com!1025; ruf=mailto:c@example.com!2048; adkim=s; "
	 "aspf=s; pct=5; fo=s:d:1; rf=AFRF; ri=60",
	 "v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=s; pct=5; fo=1:d:s; "
	 "rf=afrf; ri=60; rua=mailto:a@example.com!10m,"
	 "mailto:b@example.com!1025; ruf=mailto:c@example.com!2k"},
	{"v=DMARC1; rua=mailto:a@example.com!1t; p=bogus",
	 "v=DMARC1; p=none; rua=mailto:a@example.com!1t"},
};

static bool uris_equal(char **a, const uint64_t *al, size_t an, char **b,
                       const uint64_t *bl, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (strcmp(a[i], b[i]) != 0 || al[i] != bl[i])
			return false;
	return true;
}

static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof format_cases / sizeof *format_cases;
	     i++) {
		const struct format_case *c = &format_cases[i];
		struct dmarc_record r, back;
		struct err e = ERR_INIT;
		assert_int_equal(dmarc_parse(c->text, strlen(c->text), &r, &e),
		                 EX_OK);
		struct buf out = BUF_INIT;
		dmarc_record_format(&r, &out);
		assert_string_equal(buf_str(&out), c->formatted);
		assert_int_equal(dmarc_parse(out.data, out.len, &back, &e),
		                 EX_OK);
		assert_false(back.policy_invalid);
		assert_false(back.p_not_second);
		assert_true(back.p == r.p && back.has_sp == r.has_sp &&
		            back.sp == r.sp && back.pct == r.pct &&
		            back.adkim == r.adkim && back.aspf == r.aspf &&
		            back.fo == r.fo && back.ri == r.ri);
		assert_true((!r.rf && !back.rf) ||
		            (r.rf && back.rf && !strcmp(r.rf, back.rf)));
		assert_true(uris_equal(r.rua, r.rua_limit, r.rua_count,
		                       back.rua, back.rua_limit,
		                       back.rua_count));
		assert_true(uris_equal(r.ruf, r.ruf_limit, r.ruf_count,
		                       back.ruf, back.ruf_limit,
		                       back.ruf_count));
		buf_free(&out);
		dmarc_record_free(&r);
		dmarc_record_free(&back);
	}
	assert_string_equal(dmarc_policy_name(DMARC_NONE), "none");
	assert_string_equal(dmarc_policy_name(DMARC_QUARANTINE), "quarantine");
	assert_string_equal(dmarc_policy_name(DMARC_REJECT), "reject");
}

/* ---- the organizational domain ------------------------------------------- */

struct org_case {
	const char *domain;
	const char *org;   /* NULL: not a domain name */
	const char *guess; /* the fallback's answer */
};

static const struct org_case org_cases[] = {
	{"example.com", "example.com", "example.com"},
	{"mail.example.com", "example.com", "example.com"},
	{"a.b.c.example.com", "example.com", "example.com"},
	{"MAIL.Example.COM.", "example.com", "example.com"},
	/* multi-label public suffixes: the list knows them, the guess not */
	{"example.co.uk", "example.co.uk", "co.uk"},
	{"mail.example.co.uk", "example.co.uk", "co.uk"},
	{"www.city.kawasaki.jp", "city.kawasaki.jp", "kawasaki.jp"},
	/* the private section counts too */
	{"foo.blogspot.com", "foo.blogspot.com", "blogspot.com"},
	/* a TLD the list does not know: the default rule "*" */
	{"mail.example.test", "example.test", "example.test"},
	{"example.test", "example.test", "example.test"},
	{"deep.mail.example.test", "example.test", "example.test"},
	{"xn--bcher-kva.example", "xn--bcher-kva.example",
	 "xn--bcher-kva.example"},
	/* a public suffix is its own */
	{"co.uk", "co.uk", "co.uk"},
	{"com", "com", "com"},
	{"test", "test", "test"},
	/* not domain names */
	{"", NULL, NULL},
	{".", NULL, NULL},
	{"a..b", NULL, NULL},
	{".example.com", NULL, NULL},
	{"example.com..", NULL, NULL},
	{"exa mple.com", NULL, NULL},
	{"user@example.com", NULL, NULL},
	{"example.com\n", NULL, NULL},
	{"0123456789012345678901234567890123456789012345678901234567890123.com",
	 NULL, NULL},
};

static void test_org_domain(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	/* this machine has libpsl: the list is used */
	if (org_domain_list_status(&e) != EX_OK)
		fail_msg("the Public Suffix List is not available: %s",
		         err_msg(&e));
	for (size_t i = 0; i < sizeof org_cases / sizeof *org_cases; i++) {
		const struct org_case *c = &org_cases[i];
		char *org = org_domain(c->domain);
		char *guess = org_domain_guess(c->domain);
		if (!c->org ? org != NULL : !org || strcmp(org, c->org) != 0)
			fail_msg("org_domain('%s') = '%s', expected '%s'",
			         c->domain, org ? org : "(null)",
			         c->org ? c->org : "(null)");
		if (!c->guess ? guess != NULL
		              : !guess || strcmp(guess, c->guess) != 0)
			fail_msg("org_domain_guess('%s') = '%s', expected '%s'",
			         c->domain, guess ? guess : "(null)",
			         c->guess ? c->guess : "(null)");
		free(org);
		free(guess);
	}
	assert_null(org_domain(NULL));
	assert_null(org_domain_guess(NULL));
	/* the longest name and label */
	char name[ORG_DOMAIN_NAME_MAX + 3];
	memset(name, 'a', sizeof name);
	for (size_t i = 63; i < sizeof name; i += 64)
		name[i] = '.';
	name[ORG_DOMAIN_NAME_MAX] = '\0';
	char *n = org_domain_normalize(name);
	assert_non_null(n);
	free(n);
	name[ORG_DOMAIN_NAME_MAX] = '.'; /* a trailing dot does not count */
	name[ORG_DOMAIN_NAME_MAX + 1] = '\0';
	n = org_domain_normalize(name);
	assert_non_null(n);
	assert_int_equal(strlen(n), ORG_DOMAIN_NAME_MAX);
	free(n);
	name[ORG_DOMAIN_NAME_MAX] = 'a';
	assert_null(org_domain_normalize(name));
}

/* Run in a process whose loader finds a broken libpsl.so.5 first (see
 * test_org_domain_without_psl): the fallback rule answers, and says so.
 * Returns the exit status. */
static int check_without_psl(void)
{
	struct err e = ERR_INIT;
	if (org_domain_list_status(&e) != EX_UNAVAILABLE ||
	    !strstr(err_msg(&e), "cannot load libpsl: ") ||
	    !strstr(err_msg(&e), "guessed as the last two labels")) {
		fprintf(stderr, "status: %s\n", err_msg(&e));
		err_clear(&e);
		return 1;
	}
	err_clear(&e);
	for (size_t i = 0; i < sizeof org_cases / sizeof *org_cases; i++) {
		const struct org_case *c = &org_cases[i];
		char *org = org_domain(c->domain);
		bool ok = !c->guess ? org == NULL
		                    : org && strcmp(org, c->guess) == 0;
		free(org);
		if (!ok) {
			fprintf(stderr, "org_domain('%s')\n", c->domain);
			return 1;
		}
	}
	/* the guess aligns what the list would not */
	if (!dmarc_aligned("example.co.uk", "other.co.uk", DMARC_RELAXED))
		return 1;
	return 0;
}

static char *self_path;

/* libpsl that cannot be loaded: org_domain falls back, never crashes. */
static void test_org_domain_without_psl(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_dmarc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char lib[sizeof dir + 32];
	snprintf(lib, sizeof lib, "%s/libpsl.so.5", dir);
	FILE *f = fopen(lib, "w");
	assert_non_null(f);
	fputs("not a library\n", f);
	fclose(f);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("LD_LIBRARY_PATH", dir, 1);
		char *const args[] = {self_path, (char *)"--without-psl", NULL};
		execv("/proc/self/exe", args);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(lib);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- alignment ----------------------------------------------------------- */

struct align_case {
	const char *a, *b;
	bool relaxed, strict;
};

static const struct align_case align_cases[] = {
	{"example.com", "example.com", true, true},
	{"Example.COM", "example.com.", true, true},
	{"mail.example.com", "example.com", true, false},
	{"sub.example.com", "other.example.com", true, false},
	{"example.com", "example.net", false, false},
	{"example.com", "notexample.com", false, false},
	{"mail.example.co.uk", "example.co.uk", true, false},
	{"example.co.uk", "other.co.uk", false, false},
	{"co.uk", "example.co.uk", false, false},
	{"a.foo.blogspot.com", "foo.blogspot.com", true, false},
	{"foo.blogspot.com", "bar.blogspot.com", false, false},
	{"mail.example.test", "example.test", true, false},
	{"a.example.test", "b.example.test", true, false},
	{"example.test", "other.test", false, false},
	{"example.com", "", false, false},
	{"a..b", "a..b", false, false},
};

static void test_aligned(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof align_cases / sizeof *align_cases; i++) {
		const struct align_case *c = &align_cases[i];
		for (int swap = 0; swap < 2; swap++) {
			const char *a = swap ? c->b : c->a;
			const char *b = swap ? c->a : c->b;
			if (dmarc_aligned(a, b, DMARC_RELAXED) != c->relaxed)
				fail_msg("relaxed '%s' '%s': expected %d", a,
				         b, c->relaxed);
			if (dmarc_aligned(a, b, DMARC_STRICT) != c->strict)
				fail_msg("strict '%s' '%s': expected %d", a,
				         b, c->strict);
		}
	}
	assert_false(dmarc_aligned(NULL, "example.com", DMARC_RELAXED));
	assert_false(dmarc_aligned("example.com", NULL, DMARC_STRICT));
}

/* ---- where to look ------------------------------------------------------- */

struct lookup_case {
	const char *from;
	const char *first, *second; /* first NULL: refused */
};

static const struct lookup_case lookup_cases[] = {
	{"example.com", "_dmarc.example.com", NULL},
	{"Mail.Example.com.", "_dmarc.mail.example.com", "_dmarc.example.com"},
	{"a.b.example.co.uk", "_dmarc.a.b.example.co.uk",
	 "_dmarc.example.co.uk"},
	{"mail.example.test", "_dmarc.mail.example.test",
	 "_dmarc.example.test"},
	{"example.co.uk", "_dmarc.example.co.uk", NULL},
	{"", NULL, NULL},
	{"bad domain", NULL, NULL},
};

static void test_lookup_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof lookup_cases / sizeof *lookup_cases;
	     i++) {
		const struct lookup_case *c = &lookup_cases[i];
		char *first = (char *)"x", *second = (char *)"x";
		struct err e = ERR_INIT;
		int rc = dmarc_lookup_names(c->from, &first, &second, &e);
		if (!c->first) {
			assert_int_equal(rc, EX_DATAERR);
			assert_null(first);
			assert_null(second);
			assert_clean(err_msg(&e));
			err_clear(&e);
			continue;
		}
		assert_int_equal(rc, EX_OK);
		assert_string_equal(first, c->first);
		if (c->second)
			assert_string_equal(second, c->second);
		else
			assert_null(second);
		free(first);
		free(second);
	}
	/* _dmarc.NAME must fit in 253 octets */
	char name[ORG_DOMAIN_NAME_MAX + 1];
	memset(name, 'a', sizeof name);
	for (size_t i = 63; i < sizeof name; i += 64)
		name[i] = '.';
	name[ORG_DOMAIN_NAME_MAX - 7] = '\0';
	char *first, *second;
	struct err e = ERR_INIT;
	assert_int_equal(dmarc_lookup_names(name, &first, &second, &e), EX_OK);
	assert_int_equal(strlen(first), ORG_DOMAIN_NAME_MAX);
	free(first);
	free(second);
	name[ORG_DOMAIN_NAME_MAX - 7] = 'a';
	name[ORG_DOMAIN_NAME_MAX - 6] = '\0';
	assert_int_equal(dmarc_lookup_names(name, &first, &second, &e),
	                 EX_DATAERR);
	assert_non_null(strstr(err_msg(&e), "too long"));
	err_clear(&e);
	assert_int_equal(dmarc_lookup_names(NULL, &first, &second, &e),
	                 EX_DATAERR);
	err_clear(&e);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--without-psl") == 0)
		return check_without_psl();
	self_path = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_org_domain_without_psl),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_lookup_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
