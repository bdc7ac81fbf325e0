/* test_dns.c - the DNS layer: the reply parser (dns_parse.h) on replies
 * built here byte by byte, with and without compression (every record
 * type, CNAME chains, every RCODE, the header bits, malformed names and
 * rdata), and reverse names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns_parse.h"
#include "err.h"

/* ---- a reply builder ----------------------------------------------------- */

#define QR_RD_RA     0x8180 /* a recursive resolver's reply, RCODE 0 */
#define F_AA         0x0400
#define F_TC         0x0200
#define F_AD         0x0020
#define T_NS         2
#define T_SOA        6
#define T_OPT        41
#define C_CH         3
#define MAX_SUFFIXES 512

struct builder {
	unsigned char b[DNS_MAX_MESSAGE];
	size_t len;
	bool compress;
	struct {
		char text[1024];
		size_t at;
	} suffix[MAX_SUFFIXES];
	size_t suffixes;
};

static void put8(struct builder *b, unsigned v)
{
	assert_true(b->len < sizeof b->b);
	b->b[b->len++] = (unsigned char)v;
}

static void put16(struct builder *b, unsigned v)
{
	put8(b, v >> 8 & 0xff);
	put8(b, v & 0xff);
}

static void put32(struct builder *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_hex(struct builder *b, const char *hex)
{
	for (; hex[0] && hex[1]; hex += 2)
		put8(b, (unsigned)(hex_digit(hex[0]) << 4 | hex_digit(hex[1])));
}

/* The end of the label that starts at s: an unescaped '.' or the end. In
 * a label, "\." is a dot and "\xHH" any byte. */
static const char *label_end(const char *s)
{
	while (*s && *s != '.')
		s += s[0] == '\\' && s[1] ? (s[1] == 'x' ? 4 : 2) : 1;
	return s;
}

static void put_label(struct builder *b, const char *s, const char *end)
{
	size_t at = b->len++;
	unsigned n = 0;
	while (s < end) {
		if (s[0] == '\\' && s[1] == 'x') {
			put8(b, (unsigned)(hex_digit(s[2]) << 4 |
			                   hex_digit(s[3])));
			s += 4;
		} else {
			put8(b, (unsigned char)(s[0] == '\\' ? s[1] : s[0]));
			s += s[0] == '\\' ? 2 : 1;
		}
		n++;
	}
	b->b[at] = (unsigned char)n;
}

/* A name in text ("." or "" for the root); with b->compress, the longest
 * suffix written before becomes a pointer (RFC 1035 4.1.4). */
static void put_name(struct builder *b, const char *name)
{
	const char *s = name;
	while (*s && strcmp(s, ".") != 0) {
		if (b->compress)
			for (size_t i = 0; i < b->suffixes; i++)
				if (strcasecmp(b->suffix[i].text, s) == 0) {
					put16(b, 0xc000 |
					             (unsigned)b->suffix[i].at);
					return;
				}
		if (b->suffixes < MAX_SUFFIXES && b->len < 0x3fff) {
			snprintf(b->suffix[b->suffixes].text,
			         sizeof b->suffix[0].text, "%s", s);
			b->suffix[b->suffixes++].at = b->len;
		}
		const char *end = label_end(s);
		put_label(b, s, end);
		s = *end ? end + 1 : end;
	}
	put8(b, 0);
}

enum section { AN = 1, NS, AR };

struct rr_spec {
	enum section section;
	const char *owner;
	uint16_t type;
	/* by type: A/AAAA an address; MX "pref name"; CNAME/PTR a name; TXT
	 * strings split at '|'; TLSA "usage selector mtype hex"; "raw:HEX"
	 * for any type: exactly these bytes */
	const char *rdata;
	uint16_t rclass; /* 0: IN */
	uint32_t ttl;    /* 0: 300 */
};

#define MAX_RRS 12

struct reply_spec {
	uint16_t flags;
	const char *qname; /* NULL: no question */
	uint16_t qtype;
	uint16_t qclass; /* 0: IN */
	bool compress;
	struct rr_spec rr[MAX_RRS];
};

static void put_rdata(struct builder *b, const struct rr_spec *rr)
{
	const char *t = rr->rdata;
	if (strncmp(t, "raw:", 4) == 0) {
		put_hex(b, t + 4);
		return;
	}
	unsigned char addr[16];
	unsigned a, s, m;
	int used = 0;
	switch (rr->type) {
	case DNS_T_A:
		assert_int_equal(inet_pton(AF_INET, t, addr), 1);
		for (int i = 0; i < 4; i++)
			put8(b, addr[i]);
		break;
	case DNS_T_AAAA:
		assert_int_equal(inet_pton(AF_INET6, t, addr), 1);
		for (int i = 0; i < 16; i++)
			put8(b, addr[i]);
		break;
	case DNS_T_MX:
		assert_int_equal(sscanf(t, "%u %n", &a, &used), 1);
		put16(b, a);
		put_name(b, t + used);
		break;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		put_name(b, t);
		break;
	case DNS_T_TXT:
		for (;;) {
			const char *bar = strchr(t, '|');
			size_t n = bar ? (size_t)(bar - t) : strlen(t);
			put8(b, (unsigned)n);
			for (size_t i = 0; i < n; i++)
				put8(b, (unsigned char)t[i]);
			if (!bar)
				break;
			t = bar + 1;
		}
		break;
	case DNS_T_TLSA:
		assert_int_equal(sscanf(t, "%u %u %u %n", &a, &s, &m, &used),
		                 3);
		put8(b, a);
		put8(b, s);
		put8(b, m);
		put_hex(b, t + used);
		break;
	default:
		fail_msg("no rdata syntax for type %u", rr->type);
	}
}

static void put_rr(struct builder *b, const struct rr_spec *rr)
{
	put_name(b, rr->owner);
	put16(b, rr->type);
	put16(b, rr->rclass ? rr->rclass : 1);
	put32(b, rr->ttl ? rr->ttl : 300);
	size_t at = b->len;
	put16(b, 0);
	put_rdata(b, rr);
	size_t n = b->len - at - 2;
	b->b[at] = (unsigned char)(n >> 8);
	b->b[at + 1] = (unsigned char)(n & 0xff);
}

static void build_header(struct builder *b, uint16_t id, uint16_t flags,
                         unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	b->len = 0;
	b->suffixes = 0;
	put16(b, id);
	put16(b, flags);
	put16(b, qd);
	put16(b, an);
	put16(b, ns);
	put16(b, ar);
}

static void build_reply(struct builder *b, const struct reply_spec *s)
{
	unsigned count[4] = {0};
	for (size_t i = 0; i < MAX_RRS && s->rr[i].owner; i++)
		count[s->rr[i].section]++;
	b->compress = s->compress;
	build_header(b, 0xbeef, s->flags, s->qname ? 1 : 0, count[AN],
	             count[NS], count[AR]);
	if (s->qname) {
		put_name(b, s->qname);
		put16(b, s->qtype);
		put16(b, s->qclass ? s->qclass : 1);
	}
	for (int sec = AN; sec <= AR; sec++)
		for (size_t i = 0; i < MAX_RRS && s->rr[i].owner; i++)
			if (s->rr[i].section == (enum section)sec)
				put_rr(b, &s->rr[i]);
}

/* ---- rendering results --------------------------------------------------- */

static const char *status_name(enum dns_status s)
{
	static const char *names[] = {"FOUND", "NODATA", "NXDOMAIN", "TEMPFAIL",
	                              "REFUSED"};
	return s <= DNS_REFUSED ? names[s] : "?";
}

static void render_record(struct buf *out, const struct dns_record *r)
{
	char text[INET6_ADDRSTRLEN];
	switch (r->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		assert_int_equal(r->addr_len, r->type == DNS_T_A ? 4 : 16);
		inet_ntop(r->type == DNS_T_A ? AF_INET : AF_INET6, r->addr,
		          text, sizeof text);
		buf_add_str(out, text);
		break;
	case DNS_T_MX:
		buf_printf(out, "%u %s", r->preference,
		           *r->name ? r->name : ".");
		break;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		buf_add_str(out, r->name);
		break;
	case DNS_T_TXT:
		assert_int_equal(r->data[r->data_len], '\0');
		for (size_t i = 0; i < r->data_len; i++)
			if (r->data[i] >= 0x20 && r->data[i] < 0x7f)
				buf_add_char(out, (char)r->data[i]);
			else
				buf_printf(out, "\\x%02x", r->data[i]);
		break;
	case DNS_T_TLSA:
		buf_printf(out, "%u %u %u ", r->tlsa_usage, r->tlsa_selector,
		           r->tlsa_mtype);
		for (size_t i = 0; i < r->data_len; i++)
			buf_printf(out, "%02x", r->data[i]);
		break;
	}
}

/* "10 mx1.example.org, 20 mx2.example.org" */
static char *render_records(const struct dns_result *r)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->count; i++) {
		if (i > 0)
			buf_add_str(&out, ", ");
		render_record(&out, &r->records[i]);
	}
	return buf_steal(&out);
}

/* A message holds no control character, nor a byte beyond ASCII. */
static void assert_clean_message(const struct err *e)
{
	const char *msg = err_msg(e);
	assert_true(*msg != '\0');
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			fail_msg("control or non-ASCII byte in '%s'", msg);
}

/* ---- the parser: replies built from a description ------------------------ */

struct parse_case {
	const char *title;
	struct reply_spec reply;
	const char *ask; /* NULL: the reply's qname */
	uint16_t ask_type;
	int rc;
	enum dns_status status;
	const char *canonical; /* NULL: none expected */
	const char *records;   /* rendered; "" for none */
	size_t skipped;
	const char *message; /* a part of the message when rc != EX_OK */
	bool authenticated;
};

#define EX "example.org"
#define MXS(...)                                                               \
	{                                                                      \
		QR_RD_RA, EX, DNS_T_MX, 0, false,                              \
		{                                                              \
			__VA_ARGS__                                            \
		}                                                              \
	}
#define MXC(...)                                                               \
	{                                                                      \
		QR_RD_RA, EX, DNS_T_MX, 0, true,                               \
		{                                                              \
			__VA_ARGS__                                            \
		}                                                              \
	}
#define HASH32                                                                 \
	"5fe1b0a3b1ef5d1a7c38a9f1f2b6bb6d2f2d5c4a9bc3e1d0f0e1d2c3b4a59687"

static const struct parse_case parse_cases[] = {
    /* MX */
    {"two MX records",
     MXS({AN, EX, DNS_T_MX, "10 mx1.example.org", 0, 0},
         {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX,
     "10 mx1.example.org, 20 mx2.example.org", 0, NULL, false},
    {"two MX records, compressed",
     MXC({AN, EX, DNS_T_MX, "10 mx1.example.org", 0, 0},
         {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX,
     "10 mx1.example.org, 20 mx2.example.org", 0, NULL, false},
    {"names in any case, question with a trailing dot",
     {QR_RD_RA,
      "ExAmple.ORG",
      DNS_T_MX,
      0,
      true,
      {{AN, "EXAMPLE.org", DNS_T_MX, "5 MX1.Example.ORG", 0, 0}}},
     "Example.Org.",
     DNS_T_MX,
     EX_OK,
     DNS_FOUND,
     EX,
     "5 mx1.example.org",
     0,
     NULL,
     false},
    {"null MX (RFC 7505)", MXS({AN, EX, DNS_T_MX, "0 .", 0, 0}), NULL, DNS_T_MX,
     EX_OK, DNS_FOUND, EX, "0 .", 0, NULL, false},
    {"underscores and digits are host name bytes",
     MXS({AN, EX, DNS_T_MX, "1 _mx-1.9example.org", 0, 0}), NULL, DNS_T_MX,
     EX_OK, DNS_FOUND, EX, "1 _mx-1.9example.org", 0, NULL, false},
    {"an exchange with a space is skipped",
     MXS({AN, EX, DNS_T_MX, "10 m x.example.org", 0, 0},
         {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "20 mx2.example.org", 1, NULL,
     false},
    {"an exchange with an escaped dot is skipped",
     MXS({AN, EX, DNS_T_MX, "10 mx\\.evil.example.org", 0, 0}), NULL, DNS_T_MX,
     EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
    {"an exchange with CR LF is skipped",
     MXS({AN, EX, DNS_T_MX, "10 mx\\x0d\\x0aRCPT.example.org", 0, 0}), NULL,
     DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
    {"an exchange with a byte beyond ASCII is skipped",
     MXS({AN, EX, DNS_T_MX, "10 b\\xc3\\xbccher.example.org", 0, 0}), NULL,
     DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
    {"an exchange that ends before the rdata is skipped",
     MXS({AN, EX, DNS_T_MX, "raw:000a026d7800ff", 0, 0},
         {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "20 mx2.example.org", 1, NULL,
     false},
    {"an MX rdata of two bytes is skipped",
     MXS({AN, EX, DNS_T_MX, "raw:000a", 0, 0}), NULL, DNS_T_MX, EX_OK,
     DNS_NODATA, EX, "", 1, NULL, false},
    {"an exchange whose pointer goes forward is skipped",
     MXS({AN, EX, DNS_T_MX, "raw:000ac0ff", 0, 0}), NULL, DNS_T_MX, EX_OK,
     DNS_NODATA, EX, "", 1, NULL, false},
    {"an exchange that is a pointer to the question's name",
     MXS({AN, EX, DNS_T_MX, "raw:000ac00c", 0, 0}), NULL, DNS_T_MX, EX_OK,
     DNS_FOUND, EX, "10 example.org", 0, NULL, false},
    {"records of other owners, types and classes are ignored",
     MXC({AN, "other.example.org", DNS_T_MX, "10 evil.example.net", 0, 0},
         {AN, EX, DNS_T_A, "192.0.2.1", 0, 0},
         {AN, EX, DNS_T_MX, "30 mx.example.org", 0, 0},
         {AN, EX, DNS_T_MX, "40 chaos.example.org", C_CH, 0},
         {AN, "org", DNS_T_MX, "10 evil.example.net", 0, 0},
         {NS, EX, DNS_T_MX, "50 authority.example.org", 0, 0},
         {AR, EX, DNS_T_MX, "60 additional.example.org", 0, 0},
         {AR, "mx.example.org", DNS_T_A, "192.0.2.2", 0, 0}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "30 mx.example.org", 0, NULL, false},

    /* A, AAAA */
    {"A records",
     {QR_RD_RA,
      "mx.example.org",
      DNS_T_A,
      0,
      true,
      {{AN, "mx.example.org", DNS_T_A, "192.0.2.1", 0, 0},
       {AN, "mx.example.org", DNS_T_A, "198.51.100.7", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "mx.example.org",
     "192.0.2.1, 198.51.100.7",
     0,
     NULL,
     false},
    {"an A rdata of 5 bytes is skipped",
     {QR_RD_RA,
      "mx.example.org",
      DNS_T_A,
      0,
      false,
      {{AN, "mx.example.org", DNS_T_A, "raw:c000020100", 0, 0},
       {AN, "mx.example.org", DNS_T_A, "raw:c00002", 0, 0},
       {AN, "mx.example.org", DNS_T_A, "192.0.2.9", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "mx.example.org",
     "192.0.2.9",
     2,
     NULL,
     false},
    {"AAAA records; an A record is not one",
     {QR_RD_RA,
      "mx.example.org",
      DNS_T_AAAA,
      0,
      true,
      {{AN, "mx.example.org", DNS_T_A, "192.0.2.1", 0, 0},
       {AN, "mx.example.org", DNS_T_AAAA, "2001:db8::25", 0, 0},
       {AN, "mx.example.org", DNS_T_AAAA, "raw:20010db8", 0, 0}}},
     NULL,
     DNS_T_AAAA,
     EX_OK,
     DNS_FOUND,
     "mx.example.org",
     "2001:db8::25",
     1,
     NULL,
     false},

    /* TXT */
    {"TXT with several strings, concatenated",
     {QR_RD_RA,
      "_mta-sts.example.org",
      DNS_T_TXT,
      0,
      true,
      {{AN, "_mta-sts.example.org", DNS_T_TXT, "v=STSv1; |id=2024|0401", 0,
        0}}},
     NULL,
     DNS_T_TXT,
     EX_OK,
     DNS_FOUND,
     "_mta-sts.example.org",
     "v=STSv1; id=20240401",
     0,
     NULL,
     false},
    {"TXT records stay apart, binary bytes kept",
     {QR_RD_RA,
      "_mta-sts.example.org",
      DNS_T_TXT,
      0,
      true,
      {{AN, "_mta-sts.example.org", DNS_T_TXT, "v=STSv1; id=1", 0, 0},
       {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:0300ff0a", 0, 0},
       {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:00", 0, 0}}},
     NULL,
     DNS_T_TXT,
     EX_OK,
     DNS_FOUND,
     "_mta-sts.example.org",
     "v=STSv1; id=1, \\x00\\xff\\x0a, ",
     0,
     NULL,
     false},
    {"TXT strings that do not fill the rdata are skipped",
     {QR_RD_RA,
      "_mta-sts.example.org",
      DNS_T_TXT,
      0,
      false,
      {{AN, "_mta-sts.example.org", DNS_T_TXT, "raw:05616263", 0, 0},
       {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:", 0, 0},
       {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:0161016202", 0, 0}}},
     NULL,
     DNS_T_TXT,
     EX_OK,
     DNS_NODATA,
     "_mta-sts.example.org",
     "",
     3,
     NULL,
     false},

    /* TLSA */
    {"TLSA records",
     {QR_RD_RA | F_AD,
      "_25._tcp.mx.example.org",
      DNS_T_TLSA,
      0,
      true,
      {{AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "3 1 1 " HASH32, 0, 0},
       {AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "2 0 0 30820122", 0, 0},
       {AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "raw:030101", 0, 0}}},
     NULL,
     DNS_T_TLSA,
     EX_OK,
     DNS_FOUND,
     "_25._tcp.mx.example.org",
     "3 1 1 " HASH32 ", 2 0 0 30820122",
     1,
     NULL,
     true},

    /* PTR, CNAME asked for */
    {"PTR",
     {QR_RD_RA,
      "1.2.0.192.in-addr.arpa",
      DNS_T_PTR,
      0,
      true,
      {{AN, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "Mail.Example.org", 0, 0}}},
     NULL,
     DNS_T_PTR,
     EX_OK,
     DNS_FOUND,
     "1.2.0.192.in-addr.arpa",
     "mail.example.org",
     0,
     NULL,
     false},
    {"a PTR to the root is skipped",
     {QR_RD_RA,
      "1.2.0.192.in-addr.arpa",
      DNS_T_PTR,
      0,
      true,
      {{AN, "1.2.0.192.in-addr.arpa", DNS_T_PTR, ".", 0, 0}}},
     NULL,
     DNS_T_PTR,
     EX_OK,
     DNS_NODATA,
     "1.2.0.192.in-addr.arpa",
     "",
     1,
     NULL,
     false},
    {"CNAME asked for: not followed",
     {QR_RD_RA,
      "www.example.org",
      DNS_T_CNAME,
      0,
      true,
      {{AN, "www.example.org", DNS_T_CNAME, "web.example.net", 0, 0},
       {AN, "web.example.net", DNS_T_CNAME, "cdn.example.com", 0, 0}}},
     NULL,
     DNS_T_CNAME,
     EX_OK,
     DNS_FOUND,
     "www.example.org",
     "web.example.net",
     0,
     NULL,
     false},

    /* CNAME chains (RFC 1034 3.6.2) */
    {"a CNAME chain is followed",
     {QR_RD_RA,
      "mail.example.org",
      DNS_T_A,
      0,
      true,
      {{AN, "mail.example.org", DNS_T_CNAME, "a.example.net", 0, 0},
       {AN, "a.example.net", DNS_T_CNAME, "B.Example.COM", 0, 0},
       {AN, "other.example.org", DNS_T_A, "10.0.0.1", 0, 0},
       {AN, "b.example.com", DNS_T_A, "192.0.2.7", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "b.example.com",
     "192.0.2.7",
     0,
     NULL,
     false},
    {"a CNAME chain in any order",
     {QR_RD_RA,
      "mail.example.org",
      DNS_T_MX,
      0,
      false,
      {{AN, "b.example.com", DNS_T_MX, "1 mx.example.com", 0, 0},
       {AN, "a.example.net", DNS_T_CNAME, "b.example.com", 0, 0},
       {AN, "mail.example.org", DNS_T_CNAME, "a.example.net", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_OK,
     DNS_FOUND,
     "b.example.com",
     "1 mx.example.com",
     0,
     NULL,
     false},
    {"a chain of 8 CNAMEs is followed",
     {QR_RD_RA,
      "c0.example",
      DNS_T_A,
      0,
      true,
      {{AN, "c0.example", DNS_T_CNAME, "c1.example", 0, 0},
       {AN, "c1.example", DNS_T_CNAME, "c2.example", 0, 0},
       {AN, "c2.example", DNS_T_CNAME, "c3.example", 0, 0},
       {AN, "c3.example", DNS_T_CNAME, "c4.example", 0, 0},
       {AN, "c4.example", DNS_T_CNAME, "c5.example", 0, 0},
       {AN, "c5.example", DNS_T_CNAME, "c6.example", 0, 0},
       {AN, "c6.example", DNS_T_CNAME, "c7.example", 0, 0},
       {AN, "c7.example", DNS_T_CNAME, "c8.example", 0, 0},
       {AN, "c8.example", DNS_T_A, "192.0.2.8", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "c8.example",
     "192.0.2.8",
     0,
     NULL,
     false},
    {"a chain of 9 CNAMEs is too long",
     {QR_RD_RA,
      "c0.example",
      DNS_T_A,
      0,
      true,
      {{AN, "c0.example", DNS_T_CNAME, "c1.example", 0, 0},
       {AN, "c1.example", DNS_T_CNAME, "c2.example", 0, 0},
       {AN, "c2.example", DNS_T_CNAME, "c3.example", 0, 0},
       {AN, "c3.example", DNS_T_CNAME, "c4.example", 0, 0},
       {AN, "c4.example", DNS_T_CNAME, "c5.example", 0, 0},
       {AN, "c5.example", DNS_T_CNAME, "c6.example", 0, 0},
       {AN, "c6.example", DNS_T_CNAME, "c7.example", 0, 0},
       {AN, "c7.example", DNS_T_CNAME, "c8.example", 0, 0},
       {AN, "c8.example", DNS_T_CNAME, "c9.example", 0, 0},
       {AN, "c9.example", DNS_T_A, "192.0.2.9", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "the reply has a CNAME chain that is too long or loops",
     false},
    {"a CNAME loop",
     {QR_RD_RA,
      "a.example",
      DNS_T_MX,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "b.example", DNS_T_CNAME, "A.example", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "too long or loops",
     false},
    {"a CNAME to itself",
     {QR_RD_RA,
      "a.example",
      DNS_T_MX,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "a.example", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "too long or loops",
     false},
    {"two CNAMEs for one name",
     {QR_RD_RA,
      "a.example",
      DNS_T_A,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "a.example", DNS_T_CNAME, "c.example", 0, 0},
       {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "two CNAME records for one name",
     false},
    {"a CNAME next to an A record (RFC 2181 10.1)",
     {QR_RD_RA,
      "a.example",
      DNS_T_A,
      0,
      true,
      {{AN, "a.example", DNS_T_A, "192.0.2.66", 0, 0},
       {AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "RFC 2181 10.1",
     false},
    {"a CNAME next to other types is fine",
     {QR_RD_RA,
      "a.example",
      DNS_T_A,
      0,
      true,
      {{AN, "a.example", DNS_T_TXT, "x", 0, 0},
       {AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "b.example",
     "192.0.2.1",
     0,
     NULL,
     false},
    {"a CNAME to a name that is not a host name",
     {QR_RD_RA,
      "a.example",
      DNS_T_MX,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "b\\x0a.example", 0, 0},
       {AN, "b\\x0a.example", DNS_T_MX, "10 mx.example", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "a name that is not a valid host name",
     false},
    {"a CNAME to the root",
     {QR_RD_RA,
      "a.example",
      DNS_T_MX,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, ".", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "not a valid host name",
     false},
    {"a CNAME whose name ends before its rdata",
     {QR_RD_RA,
      "a.example",
      DNS_T_MX,
      0,
      false,
      {{AN, "a.example", DNS_T_CNAME, "raw:0162076578616d706c650000", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "malformed CNAME record",
     false},
    {"a CNAME of another name is ignored",
     {QR_RD_RA,
      "a.example",
      DNS_T_A,
      0,
      true,
      {{AN, "z.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "a.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_FOUND,
     "a.example",
     "192.0.2.1",
     0,
     NULL,
     false},
    {"a chain that ends without records: NODATA for its last name",
     {QR_RD_RA,
      "a.example",
      DNS_T_AAAA,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
       {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_AAAA,
     EX_OK,
     DNS_NODATA,
     "b.example",
     "",
     0,
     NULL,
     false},
    {"NXDOMAIN at the end of a chain (RFC 6604)",
     {QR_RD_RA | 3,
      "a.example",
      DNS_T_MX,
      0,
      true,
      {{AN, "a.example", DNS_T_CNAME, "gone.example", 0, 0},
       {NS, "example", T_SOA,
        "raw:00000000000000000000000000000000000000"
        "0000",
        0, 0}}},
     NULL,
     DNS_T_MX,
     EX_OK,
     DNS_NXDOMAIN,
     "gone.example",
     "",
     0,
     NULL,
     false},

    /* RCODEs */
    {"NXDOMAIN",
     {QR_RD_RA | 3, "nowhere.example", DNS_T_MX, 0, false, {{0}}},
     NULL,
     DNS_T_MX,
     EX_OK,
     DNS_NXDOMAIN,
     "nowhere.example",
     "",
     0,
     NULL,
     false},
    {"NXDOMAIN holds no records",
     {QR_RD_RA | 3,
      "nowhere.example",
      DNS_T_A,
      0,
      true,
      {{AN, "nowhere.example", DNS_T_A, "192.0.2.1", 0, 0}}},
     NULL,
     DNS_T_A,
     EX_OK,
     DNS_NXDOMAIN,
     "nowhere.example",
     "",
     0,
     NULL,
     false},
    {"NODATA with an SOA in the authority section",
     {QR_RD_RA | F_AD,
      EX,
      DNS_T_TLSA,
      0,
      true,
      {{NS, EX, T_SOA,
        "raw:0000000000000000000000000000000000000000"
        "00",
        0, 0}}},
     NULL,
     DNS_T_TLSA,
     EX_OK,
     DNS_NODATA,
     EX,
     "",
     0,
     NULL,
     true},
    {"SERVFAIL",
     {QR_RD_RA | 2, EX, DNS_T_MX, 0, false, {{0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "DNS lookup of the MX records of example.org failed: server failure "
     "(SERVFAIL); try again later",
     false},
    {"SERVFAIL with records",
     {QR_RD_RA | 2,
      EX,
      DNS_T_MX,
      0,
      false,
      {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "server failure (SERVFAIL)",
     false},
    {"FORMERR without a question",
     {QR_RD_RA | 1, NULL, 0, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_UNAVAILABLE,
     DNS_REFUSED,
     NULL,
     "",
     0,
     "could not understand the query (FORMERR)",
     false},
    {"NOTIMP",
     {QR_RD_RA | 4, EX, DNS_T_TLSA, 0, false, {{0}}},
     NULL,
     DNS_T_TLSA,
     EX_UNAVAILABLE,
     DNS_REFUSED,
     NULL,
     "",
     0,
     "DNS lookup of the TLSA records of example.org failed: the DNS "
     "server does not support this query (NOTIMP)",
     false},
    {"REFUSED",
     {QR_RD_RA | 5, EX, DNS_T_MX, 0, false, {{0}}},
     NULL,
     DNS_T_MX,
     EX_UNAVAILABLE,
     DNS_REFUSED,
     NULL,
     "",
     0,
     "refused to answer (REFUSED)",
     false},
    {"REFUSED without a question",
     {QR_RD_RA | 5, NULL, 0, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_UNAVAILABLE,
     DNS_REFUSED,
     NULL,
     "",
     0,
     "(REFUSED)",
     false},
    {"RCODE 6",
     {QR_RD_RA | 6, EX, DNS_T_MX, 0, false, {{0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "unexpected response code 6; try again later",
     false},
    {"RCODE 15",
     {QR_RD_RA | 15, EX, DNS_T_MX, 0, false, {{0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "unexpected response code 15",
     false},
    {"an extended RCODE (RFC 6891 6.1.3: BADVERS)",
     MXS({AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
         {AR, ".", T_OPT, "raw:", 1232, 0x01000000}),
     NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
     "unexpected response code 16", false},
    {"an OPT record with DO and options",
     MXS({AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
         {AR, ".", T_OPT, "raw:000a00080102030405060708", 1232, 0x00008000}),
     NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "10 mx.example.org", 0, NULL, false},
    {"two OPT records",
     MXS({AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
         {AR, ".", T_OPT, "raw:", 1232, 0}, {AR, ".", T_OPT, "raw:", 1232, 0}),
     NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
     "malformed OPT record", false},
    {"an OPT record not owned by the root",
     MXS({AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
         {AR, EX, T_OPT, "raw:", 1232, 0}),
     NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
     "malformed OPT record", false},

    /* the header and the question */
    {"TC: truncated",
     {QR_RD_RA | F_TC,
      EX,
      DNS_T_MX,
      0,
      false,
      {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "the reply was truncated (TC); try again later",
     false},
    {"QR not set: a query",
     {0x0100,
      EX,
      DNS_T_MX,
      0,
      false,
      {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "is not a reply",
     false},
    {"opcode STATUS",
     {QR_RD_RA | 0x1000,
      EX,
      DNS_T_MX,
      0,
      false,
      {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "opcode",
     false},
    {"AA and AD set",
     {QR_RD_RA | F_AA | F_AD,
      EX,
      DNS_T_MX,
      0,
      false,
      {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
     NULL,
     DNS_T_MX,
     EX_OK,
     DNS_FOUND,
     EX,
     "10 mx.example.org",
     0,
     NULL,
     true},
    {"NOERROR without a question",
     {QR_RD_RA, NULL, 0, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "does not hold exactly one question",
     false},
    {"NXDOMAIN without a question",
     {QR_RD_RA | 3, NULL, 0, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "exactly one question",
     false},
    {"the answer to another name",
     {QR_RD_RA,
      "example.net",
      DNS_T_MX,
      0,
      false,
      {{AN, "example.net", DNS_T_MX, "10 mx.example.net", 0, 0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "answers another question",
     false},
    {"the answer to a longer name",
     {QR_RD_RA, "www.example.org", DNS_T_MX, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "answers another question",
     false},
    {"the answer to another type",
     {QR_RD_RA, EX, DNS_T_A, 0, false, {{AN, EX, DNS_T_A, "192.0.2.1", 0, 0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "answers another question",
     false},
    {"the answer to another class",
     {QR_RD_RA, EX, DNS_T_MX, C_CH, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "answers another question",
     false},
    {"a question with an escaped dot is another question",
     {QR_RD_RA, "example\\.org", DNS_T_MX, 0, false, {{0}}},
     EX,
     DNS_T_MX,
     EX_TEMPFAIL,
     DNS_TEMPFAIL,
     NULL,
     "",
     0,
     "answers another question",
     false},
};

static void check_returned_names(const struct dns_result *r)
{
	for (size_t i = 0; i < r->count; i++) {
		const struct dns_record *rec = &r->records[i];
		if (!rec->name)
			continue;
		if (*rec->name == '\0') {
			assert_int_equal(rec->type, DNS_T_MX);
			continue;
		}
		assert_true(dns_host_name_valid(rec->name));
		for (const char *p = rec->name; *p; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
	}
	if (r->canonical)
		assert_true(dns_host_name_valid(r->canonical));
}

static void run_parse_case(const struct parse_case *c, struct builder *b)
{
	build_reply(b, &c->reply);
	const char *ask = c->ask ? c->ask : c->reply.qname;
	struct dns_result r;
	struct err e = ERR_INIT;
	int rc = dns_parse_reply(b->b, b->len, ask, c->ask_type, &r, &e);
	if (rc != c->rc || r.status != c->status)
		fail_msg("%s: %d %s, not %d %s (%s)", c->title, rc,
		         status_name(r.status), c->rc, status_name(c->status),
		         err_msg(&e));
	char *records = render_records(&r);
	if (strcmp(records, c->records) != 0)
		fail_msg("%s: records '%s', not '%s'", c->title, records,
		         c->records);
	free(records);
	if (c->canonical == NULL)
		assert_null(r.canonical);
	else if (!r.canonical || strcmp(r.canonical, c->canonical) != 0)
		fail_msg("%s: canonical '%s', not '%s'", c->title,
		         r.canonical ? r.canonical : "(null)", c->canonical);
	if (r.skipped != c->skipped)
		fail_msg("%s: %zu skipped, not %zu", c->title, r.skipped,
		         c->skipped);
	assert_int_equal(r.status == DNS_FOUND, r.count > 0);
	for (size_t i = 0; i < r.count; i++)
		assert_int_equal(r.records[i].type, c->ask_type);
	check_returned_names(&r);
	if (rc == EX_OK) {
		assert_int_equal(e.code, EX_OK);
		assert_int_equal(r.authenticated, c->authenticated);
		assert_int_equal(r.rcode, c->reply.flags & 0x0f);
	} else {
		assert_int_equal(e.code, rc);
		assert_clean_message(&e);
		if (!strstr(err_msg(&e), c->message))
			fail_msg("%s: '%s' lacks '%s'", c->title, err_msg(&e),
			         c->message);
		char about[300];
		snprintf(about, sizeof about,
		         "DNS lookup of the %s records of ",
		         dns_type_name(c->ask_type));
		assert_non_null(strstr(err_msg(&e), about));
	}
	dns_result_free(&r);
	assert_null(r.records);
	assert_int_equal(r.count, 0);
	dns_result_free(&r); /* twice is fine */
	err_clear(&e);
}

static void test_parse(void **state)
{
	(void)state;
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	for (size_t i = 0; i < sizeof parse_cases / sizeof *parse_cases; i++)
		run_parse_case(&parse_cases[i], b);
	free(b);
}

/* Every proper prefix of a usable reply, and the reply with a byte more,
 * is unusable: each record ends exactly where the next one starts. */
static void test_parse_cut_and_extended(void **state)
{
	(void)state;
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	size_t checked = 0;
	for (size_t i = 0; i < sizeof parse_cases / sizeof *parse_cases; i++) {
		const struct parse_case *c = &parse_cases[i];
		if (c->rc != EX_OK)
			continue;
		build_reply(b, &c->reply);
		const char *ask = c->ask ? c->ask : c->reply.qname;
		struct dns_result r;
		struct err e = ERR_INIT;
		for (size_t len = 0; len < b->len; len++) {
			int rc = dns_parse_reply(b->b, len, ask, c->ask_type,
			                         &r, &e);
			if (rc != EX_TEMPFAIL || r.status != DNS_TEMPFAIL)
				fail_msg("%s cut to %zu bytes: %d", c->title,
				         len, rc);
			assert_null(r.canonical);
			assert_int_equal(r.count, 0);
			dns_result_free(&r);
			err_clear(&e);
		}
		b->b[b->len++] = 0;
		assert_int_equal(
		    dns_parse_reply(b->b, b->len, ask, c->ask_type, &r, &e),
		    EX_TEMPFAIL);
		if (!strstr(err_msg(&e), "bytes after its last"))
			fail_msg("%s with a byte more: %s", c->title,
			         err_msg(&e));
		dns_result_free(&r);
		err_clear(&e);
		checked++;
	}
	assert_true(checked > 30);
	free(b);
}

/* ---- the parser: names byte by byte -------------------------------------- */

/* A reply to example.org/A (question at offset 12, 29 bytes long) with
 * one answer record whose owner is the given bytes. */
static void build_owner_case(struct builder *b, const char *owner_hex,
                             unsigned answers)
{
	b->compress = false;
	build_header(b, 1, QR_RD_RA, 1, answers, 0, 0);
	put_name(b, EX);
	put16(b, DNS_T_A);
	put16(b, 1);
	put_hex(b, owner_hex);
	put16(b, DNS_T_A);
	put16(b, 1);
	put32(b, 60);
	put16(b, 4);
	put32(b, 0xc0000201);
}

static void test_parse_names(void **state)
{
	(void)state;
	static const struct {
		const char *owner_hex;
		int rc;
		const char *result; /* records, or a part of the message */
	} cases[] = {
	    {"c00c", EX_OK, "192.0.2.1"},
	    {"076578616d706c65036f726700", EX_OK, "192.0.2.1"},
	    {"074558414d504c45034f524700", EX_OK, "192.0.2.1"},
	    {"076578616d706c65c014", EX_OK, "192.0.2.1"}, /* ->"org" */
	    {"0377777700", EX_OK, ""},                    /* www. */
	    {"c01d", EX_TEMPFAIL, "compression pointer"}, /* itself */
	    {"0161c01d", EX_TEMPFAIL, "compression pointer"},
	    {"c0ff", EX_TEMPFAIL, "compression pointer"},
	    {"c002", EX_TEMPFAIL, "compression pointer"}, /* the header */
	    {"c000", EX_TEMPFAIL, "compression pointer"},
	    {"ffff", EX_TEMPFAIL, "compression pointer"},
	    {"4100", EX_TEMPFAIL, "label of an unknown type"},
	    {"8100", EX_TEMPFAIL, "label of an unknown type"},
	    {"3f61", EX_TEMPFAIL, "runs past its end"},
	};
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		build_owner_case(b, cases[i].owner_hex, 1);
		struct dns_result r;
		struct err e = ERR_INIT;
		int rc = dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e);
		if (rc != cases[i].rc)
			fail_msg("owner %s: %d (%s)", cases[i].owner_hex, rc,
			         err_msg(&e));
		if (rc == EX_OK) {
			char *got = render_records(&r);
			assert_string_equal(got, cases[i].result);
			free(got);
		} else {
			assert_non_null(strstr(err_msg(&e), cases[i].result));
			assert_clean_message(&e);
		}
		dns_result_free(&r);
		err_clear(&e);
	}

	/* a name of 255 octets is fine, 257 are not, also when reached
	 * through a pointer */
	struct buf hex = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		buf_add_str(&hex, "3f");
		for (int k = 0; k < 63; k++)
			buf_add_str(&hex, "61");
	}
	size_t three_labels = hex.len;
	buf_add_str(&hex, "3d");
	for (int k = 0; k < 61; k++)
		buf_add_str(&hex, "62");
	buf_add_str(&hex, "00");
	struct dns_result r;
	struct err e = ERR_INIT;
	build_owner_case(b, buf_str(&hex), 1);
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_OK);
	assert_int_equal(r.status, DNS_NODATA);
	dns_result_free(&r);
	hex.len = three_labels;
	buf_add_str(&hex, "3f");
	for (int k = 0; k < 63; k++)
		buf_add_str(&hex, "62");
	buf_add_str(&hex, "00");
	build_owner_case(b, buf_str(&hex), 1);
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "longer than 255 bytes"));
	dns_result_free(&r);
	err_clear(&e);
	/* the question's name (13 octets) behind 4 labels of 61: 261 */
	hex.len = 0;
	for (int i = 0; i < 4; i++) {
		buf_add_str(&hex, "3d");
		for (int k = 0; k < 61; k++)
			buf_add_str(&hex, "63");
	}
	buf_add_str(&hex, "c00c");
	build_owner_case(b, buf_str(&hex), 1);
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "longer than 255 bytes"));
	dns_result_free(&r);
	err_clear(&e);
	buf_free(&hex);

	/* ANCOUNT beyond what the message could hold */
	build_owner_case(b, "c00c", 65535);
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "more records than"));
	dns_result_free(&r);
	err_clear(&e);
	/* two questions */
	build_owner_case(b, "c00c", 1);
	b->b[5] = 2;
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "exactly one question"));
	dns_result_free(&r);
	err_clear(&e);
	/* shorter than a header */
	assert_int_equal(dns_parse_reply(b->b, 11, EX, DNS_T_A, &r, &e),
	                 EX_TEMPFAIL);
	assert_non_null(strstr(err_msg(&e), "shorter than a DNS header"));
	dns_result_free(&r);
	err_clear(&e);
	free(b);
}

/* A CNAME target and an owner reached through pointers of pointers. */
static void test_parse_pointer_chains(void **state)
{
	(void)state;
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	b->compress = false;
	build_header(b, 7, QR_RD_RA, 1, 3, 0, 0);
	put_name(b, EX); /* at 12 */
	put16(b, DNS_T_A);
	put16(b, 1);
	put16(b, 0xc00c); /* example.org CNAME mx1.example.org */
	put16(b, DNS_T_CNAME);
	put16(b, 1);
	put32(b, 60);
	put16(b, 6);
	size_t target = b->len;
	put_hex(b, "036d7831c00c");
	put_hex(b, "03777777"); /* www.mx1.example.org A: not ours */
	put16(b, 0xc000 | (unsigned)target);
	put16(b, DNS_T_A);
	put16(b, 1);
	put32(b, 60);
	put16(b, 4);
	put32(b, 0xc0000202);
	put16(b, 0xc000 | (unsigned)target); /* mx1.example.org A */
	put16(b, DNS_T_A);
	put16(b, 1);
	put32(b, 60);
	put16(b, 4);
	put32(b, 0xc0000203);
	struct dns_result r;
	struct err e = ERR_INIT;
	assert_int_equal(dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e),
	                 EX_OK);
	assert_string_equal(r.canonical, "mx1.example.org");
	char *got = render_records(&r);
	assert_string_equal(got, "192.0.2.3");
	free(got);
	dns_result_free(&r);
	free(b);
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	for (unsigned n = DNS_MAX_RECORDS; n <= DNS_MAX_RECORDS + 1; n++) {
		b->compress = true;
		build_header(b, 9, QR_RD_RA, 1, n, 0, 0);
		put_name(b, EX);
		put16(b, DNS_T_A);
		put16(b, 1);
		for (unsigned i = 0; i < n; i++) {
			struct rr_spec rr = {AN,          EX, DNS_T_A,
			                     "192.0.2.1", 0,  0};
			put_rr(b, &rr);
		}
		struct dns_result r;
		struct err e = ERR_INIT;
		int rc = dns_parse_reply(b->b, b->len, EX, DNS_T_A, &r, &e);
		if (n == DNS_MAX_RECORDS) {
			assert_int_equal(rc, EX_OK);
			assert_int_equal(r.count, DNS_MAX_RECORDS);
		} else {
			assert_int_equal(rc, EX_TEMPFAIL);
			assert_int_equal(r.count, 0);
			assert_non_null(strstr(err_msg(&e), "more than 100 "
			                                    "records"));
		}
		dns_result_free(&r);
		err_clear(&e);
	}

	/* RFC 2181 8: a TTL with its top bit set reads 0 */
	static const uint32_t ttls[][2] = {
	    {1, 1}, {0x7fffffff, 0x7fffffff}, {0x80000000, 0}, {0xffffffff, 0}};
	for (size_t i = 0; i < sizeof ttls / sizeof *ttls; i++) {
		struct reply_spec s = {
		    QR_RD_RA,
		    EX,
		    DNS_T_MX,
		    0,
		    false,
		    {{AN, EX, DNS_T_MX, "1 mx.example.org", 1, ttls[i][0]}}};
		build_reply(b, &s);
		struct dns_result r;
		struct err e = ERR_INIT;
		assert_int_equal(
		    dns_parse_reply(b->b, b->len, EX, DNS_T_MX, &r, &e), EX_OK);
		assert_int_equal(r.records[0].ttl, ttls[i][1]);
		dns_result_free(&r);
	}
	free(b);
}

/* ---- names, types, reverse names ----------------------------------------- */

static void test_question_check(void **state)
{
	(void)state;
	char label63[80], name253[300];
	memset(label63, 'a', 63);
	strcpy(label63 + 63, ".example");
	/* three labels of 63 and one of 61: 253 bytes */
	memset(name253, 'n', 253);
	name253[63] = name253[127] = name253[191] = '.';
	name253[253] = '\0';
	static const struct {
		const char *name;
		bool valid;
	} names[] = {
	    {"example.org", true},
	    {"example.org.", true},
	    {"EXAMPLE.Org", true},
	    {"_25._tcp.mx-1.example.org", true},
	    {"localhost", true},
	    {"xn--bcher-kva.example", true},
	    {"", false},
	    {".", false},
	    {"example.org..", false},
	    {".example.org", false},
	    {"a..b", false},
	    {"exa mple.org", false},
	    {"example.org\n", false},
	    {"b\xc3\xbc"
	     "cher.example",
	     false},
	    {"ex\\.ample", false},
	    {"a*.example", false},
	    {"192.0.2.1", true}, /* digits only are bytes of a name */
	    {"[::1]", false},
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (dns_host_name_valid(names[i].name) != names[i].valid)
			fail_msg("'%s' should be %s", names[i].name,
			         names[i].valid ? "valid" : "invalid");
	assert_true(dns_host_name_valid(label63));
	label63[0] = 'b';
	memmove(label63 + 1, label63, strlen(label63) + 1); /* 64 */
	assert_false(dns_host_name_valid(label63));
	assert_true(dns_host_name_valid(name253));
	strcat(name253, ".");
	assert_true(dns_host_name_valid(name253));
	name253[253] = 'd'; /* 254 bytes */
	assert_false(dns_host_name_valid(name253));

	struct err e = ERR_INIT;
	assert_int_equal(dns_question_check("example.org", DNS_T_TLSA, &e),
	                 EX_OK);
	assert_int_equal(dns_question_check("evil\x1b[31m.org", DNS_T_MX, &e),
	                 EX_DATAERR);
	assert_clean_message(&e);
	assert_non_null(strstr(err_msg(&e), "MX records of 'evil\\x1b[31m.org'"
	                                    " is impossible: it is not a "
	                                    "valid host name"));
	assert_int_equal(dns_question_check("example.org", 2, &e), EX_SOFTWARE);
	assert_non_null(strstr(err_msg(&e), "type 2 is not supported"));
	struct dns_result r;
	assert_int_equal(dns_parse_reply((const unsigned char *)"", 0, "a b",
	                                 DNS_T_MX, &r, &e),
	                 EX_DATAERR);
	assert_int_equal(r.status, DNS_REFUSED);
	dns_result_free(&r);
	err_clear(&e);
}

static void test_type_names(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
	    {DNS_T_A, "A"},       {DNS_T_CNAME, "CNAME"}, {DNS_T_PTR, "PTR"},
	    {DNS_T_MX, "MX"},     {DNS_T_TXT, "TXT"},     {DNS_T_AAAA, "AAAA"},
	    {DNS_T_TLSA, "TLSA"},
	};
	for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
		assert_string_equal(dns_type_name(types[i].type),
		                    types[i].name);
		assert_true(dns_type_supported(types[i].type));
	}
	assert_string_equal(dns_type_name(2), "unknown");
	assert_false(dns_type_supported(0));
	assert_false(dns_type_supported(255));
	assert_false(dns_type_supported(T_OPT));
}

static void test_reverse_name(void **state)
{
	(void)state;
	unsigned char v4[4], v6[16];
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", v4), 1);
	char *name = dns_reverse_name(v4, 4);
	assert_string_equal(name, "1.2.0.192.in-addr.arpa");
	free(name);
	assert_int_equal(inet_pton(AF_INET, "10.200.3.255", v4), 1);
	name = dns_reverse_name(v4, 4);
	assert_string_equal(name, "255.3.200.10.in-addr.arpa");
	assert_true(dns_host_name_valid(name));
	free(name);
	/* RFC 3596 2.5's example */
	assert_int_equal(inet_pton(AF_INET6, "4321:0:1:2:3:4:567:89ab", v6), 1);
	name = dns_reverse_name(v6, 16);
	assert_string_equal(name, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0."
	                          "1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
	assert_true(dns_host_name_valid(name));
	free(name);
	assert_null(dns_reverse_name(v6, 5));
	assert_null(dns_reverse_name(v6, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_cut_and_extended),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_parse_pointer_chains),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_question_check),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_reverse_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
