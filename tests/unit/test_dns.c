/* test_dns.c - the DNS layer: the reply parser (dns_parse.h) on replies
 * built here byte by byte, with and without compression (every record
 * type, CNAME chains, every RCODE, the header bits, malformed names and
 * rdata), reverse names, and the resolver's exchange (dns.h) against a
 * scripted server forked on loopback ports: retries, truncation and TCP,
 * EDNS fallback, spoofed replies, the AD bit with and without trust-ad,
 * and the time bound with servers that never answer.
 *
 * With OUTBOX_TEST_DNS_QUERY set, one test alone asks the servers of
 * /etc/resolv.conf instead (see test_system_resolver). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "dns_parse.h"
#include "util.h"
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

static void put_hex(struct builder *b, const char *hex)
{
	for (; hex[0] && hex[1]; hex += 2)
		put8(b, (unsigned)(ascii_hex_value(hex[0]) << 4 | ascii_hex_value(hex[1])));
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
			put8(b, (unsigned)(ascii_hex_value(s[2]) << 4 |
			                   ascii_hex_value(s[3])));
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
/* rdata of an SOA record: two root names and five zero numbers */
#define SOA_RDATA "0000" "0000000000000000000000000000000000000000"
/* a SHA-256 digest, as TLSA data */
#define HASH32                                                                 \
	"5fe1b0a3b1ef5d1a7c38a9f1f2b6bb6d2f2d5c4a9bc3e1d0f0e1d2c3b4a59687"

static const struct parse_case parse_cases[] = {
	/* MX */
	{"two MX records",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx1.example.org", 0, 0},
	   {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX,
	 "10 mx1.example.org, 20 mx2.example.org", 0, NULL, false},
	{"two MX records, compressed",
	 {QR_RD_RA, EX, DNS_T_MX, 0, true,
	  {{AN, EX, DNS_T_MX, "10 mx1.example.org", 0, 0},
	   {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX,
	 "10 mx1.example.org, 20 mx2.example.org", 0, NULL, false},
	{"names in any case, question with a trailing dot",
	 {QR_RD_RA, "ExAmple.ORG", DNS_T_MX, 0, true,
	  {{AN, "EXAMPLE.org", DNS_T_MX, "5 MX1.Example.ORG", 0, 0}}},
	 "Example.Org.", DNS_T_MX, EX_OK, DNS_FOUND, EX, "5 mx1.example.org", 0,
	 NULL, false},
	{"null MX (RFC 7505)",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "0 .", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "0 .", 0, NULL, false},
	{"underscores and digits are host name bytes",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "1 _mx-1.9example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "1 _mx-1.9example.org", 0, NULL,
	 false},
	{"an exchange with a space is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 m x.example.org", 0, 0},
	   {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "20 mx2.example.org", 1, NULL,
	 false},
	{"an exchange with an escaped dot is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx\\.evil.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
	{"an exchange with CR LF is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx\\x0d\\x0aRCPT.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
	{"an exchange with a byte beyond ASCII is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 b\\xc3\\xbccher.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
	{"an exchange that ends before the rdata is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "raw:000a026d7800ff", 0, 0},
	   {AN, EX, DNS_T_MX, "20 mx2.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "20 mx2.example.org", 1, NULL,
	 false},
	{"an MX rdata of two bytes is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "raw:000a", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
	{"an exchange whose pointer goes forward is skipped",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "raw:000ac0ff", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NODATA, EX, "", 1, NULL, false},
	{"an exchange that is a pointer to the question's name",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "raw:000ac00c", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "10 example.org", 0, NULL,
	 false},
	{"records of other owners, types and classes are ignored",
	 {QR_RD_RA, EX, DNS_T_MX, 0, true,
	  {{AN, "other.example.org", DNS_T_MX, "10 evil.example.net", 0, 0},
	   {AN, EX, DNS_T_A, "192.0.2.1", 0, 0},
	   {AN, EX, DNS_T_MX, "30 mx.example.org", 0, 0},
	   {AN, EX, DNS_T_MX, "40 chaos.example.org", C_CH, 0},
	   {AN, "org", DNS_T_MX, "10 evil.example.net", 0, 0},
	   {NS, EX, DNS_T_MX, "50 authority.example.org", 0, 0},
	   {AR, EX, DNS_T_MX, "60 additional.example.org", 0, 0},
	   {AR, "mx.example.org", DNS_T_A, "192.0.2.2", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "30 mx.example.org", 0, NULL,
	 false},

	/* A, AAAA */
	{"A records",
	 {QR_RD_RA, "mx.example.org", DNS_T_A, 0, true,
	  {{AN, "mx.example.org", DNS_T_A, "192.0.2.1", 0, 0},
	   {AN, "mx.example.org", DNS_T_A, "198.51.100.7", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_FOUND, "mx.example.org",
	 "192.0.2.1, 198.51.100.7", 0, NULL, false},
	{"an A rdata of 5 bytes is skipped",
	 {QR_RD_RA, "mx.example.org", DNS_T_A, 0, false,
	  {{AN, "mx.example.org", DNS_T_A, "raw:c000020100", 0, 0},
	   {AN, "mx.example.org", DNS_T_A, "raw:c00002", 0, 0},
	   {AN, "mx.example.org", DNS_T_A, "192.0.2.9", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_FOUND, "mx.example.org", "192.0.2.9", 2,
	 NULL, false},
	{"AAAA records; an A record is not one",
	 {QR_RD_RA, "mx.example.org", DNS_T_AAAA, 0, true,
	  {{AN, "mx.example.org", DNS_T_A, "192.0.2.1", 0, 0},
	   {AN, "mx.example.org", DNS_T_AAAA, "2001:db8::25", 0, 0},
	   {AN, "mx.example.org", DNS_T_AAAA, "raw:20010db8", 0, 0}}},
	 NULL, DNS_T_AAAA, EX_OK, DNS_FOUND, "mx.example.org", "2001:db8::25",
	 1, NULL, false},

	/* TXT */
	{"TXT with several strings, concatenated",
	 {QR_RD_RA, "_mta-sts.example.org", DNS_T_TXT, 0, true,
	  {{AN, "_mta-sts.example.org", DNS_T_TXT, "v=STSv1; |id=2024|0401", 0,
	    0}}},
	 NULL, DNS_T_TXT, EX_OK, DNS_FOUND, "_mta-sts.example.org",
	 "v=STSv1; id=20240401", 0, NULL, false},
	{"TXT records stay apart, binary bytes kept",
	 {QR_RD_RA, "_mta-sts.example.org", DNS_T_TXT, 0, true,
	  {{AN, "_mta-sts.example.org", DNS_T_TXT, "v=STSv1; id=1", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:0300ff0a", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:00", 0, 0}}},
	 NULL, DNS_T_TXT, EX_OK, DNS_FOUND, "_mta-sts.example.org",
	 "v=STSv1; id=1, \\x00\\xff\\x0a, ", 0, NULL, false},
	{"TXT strings filling the rdata exactly, or one byte short",
	 {QR_RD_RA, "_mta-sts.example.org", DNS_T_TXT, 0, false,
	  {{AN, "_mta-sts.example.org", DNS_T_TXT, "raw:04616263", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:0461626364", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:016101", 0, 0}}},
	 NULL, DNS_T_TXT, EX_OK, DNS_FOUND, "_mta-sts.example.org", "abcd", 2,
	 NULL, false},
	{"TXT strings that do not fill the rdata are skipped",
	 {QR_RD_RA, "_mta-sts.example.org", DNS_T_TXT, 0, false,
	  {{AN, "_mta-sts.example.org", DNS_T_TXT, "raw:05616263", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:", 0, 0},
	   {AN, "_mta-sts.example.org", DNS_T_TXT, "raw:0161016202", 0, 0}}},
	 NULL, DNS_T_TXT, EX_OK, DNS_NODATA, "_mta-sts.example.org", "", 3,
	 NULL, false},

	/* TLSA */
	{"TLSA records",
	 {QR_RD_RA | F_AD, "_25._tcp.mx.example.org", DNS_T_TLSA, 0, true,
	  {{AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "3 1 1 " HASH32, 0, 0},
	   {AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "2 0 0 30820122", 0, 0},
	   {AN, "_25._tcp.mx.example.org", DNS_T_TLSA, "raw:030101", 0, 0}}},
	 NULL, DNS_T_TLSA, EX_OK, DNS_FOUND, "_25._tcp.mx.example.org",
	 "3 1 1 " HASH32 ", 2 0 0 30820122", 1, NULL, true},

	/* PTR, CNAME asked for */
	{"PTR",
	 {QR_RD_RA, "1.2.0.192.in-addr.arpa", DNS_T_PTR, 0, true,
	  {{AN, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "Mail.Example.org", 0,
	    0}}},
	 NULL, DNS_T_PTR, EX_OK, DNS_FOUND, "1.2.0.192.in-addr.arpa",
	 "mail.example.org", 0, NULL, false},
	{"a PTR to the root is skipped",
	 {QR_RD_RA, "1.2.0.192.in-addr.arpa", DNS_T_PTR, 0, true,
	  {{AN, "1.2.0.192.in-addr.arpa", DNS_T_PTR, ".", 0, 0}}},
	 NULL, DNS_T_PTR, EX_OK, DNS_NODATA, "1.2.0.192.in-addr.arpa", "", 1,
	 NULL, false},
	{"CNAME asked for: not followed",
	 {QR_RD_RA, "www.example.org", DNS_T_CNAME, 0, true,
	  {{AN, "www.example.org", DNS_T_CNAME, "web.example.net", 0, 0},
	   {AN, "web.example.net", DNS_T_CNAME, "cdn.example.com", 0, 0}}},
	 NULL, DNS_T_CNAME, EX_OK, DNS_FOUND, "www.example.org",
	 "web.example.net", 0, NULL, false},

	/* CNAME chains (RFC 1034 3.6.2) */
	{"a CNAME chain is followed",
	 {QR_RD_RA, "mail.example.org", DNS_T_A, 0, true,
	  {{AN, "mail.example.org", DNS_T_CNAME, "a.example.net", 0, 0},
	   {AN, "a.example.net", DNS_T_CNAME, "B.Example.COM", 0, 0},
	   {AN, "other.example.org", DNS_T_A, "10.0.0.1", 0, 0},
	   {AN, "b.example.com", DNS_T_A, "192.0.2.7", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_FOUND, "b.example.com", "192.0.2.7", 0, NULL,
	 false},
	{"a CNAME chain in any order",
	 {QR_RD_RA, "mail.example.org", DNS_T_MX, 0, false,
	  {{AN, "b.example.com", DNS_T_MX, "1 mx.example.com", 0, 0},
	   {AN, "a.example.net", DNS_T_CNAME, "b.example.com", 0, 0},
	   {AN, "mail.example.org", DNS_T_CNAME, "a.example.net", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, "b.example.com", "1 mx.example.com",
	 0, NULL, false},
	{"a CNAME loop",
	 {QR_RD_RA, "a.example", DNS_T_MX, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "b.example", DNS_T_CNAME, "A.example", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "too long or loops", false},
	{"a CNAME to itself",
	 {QR_RD_RA, "a.example", DNS_T_MX, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "a.example", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "too long or loops", false},
	{"two CNAMEs for one name",
	 {QR_RD_RA, "a.example", DNS_T_A, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "a.example", DNS_T_CNAME, "c.example", 0, 0},
	   {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_A, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "two CNAME records for one name", false},
	{"a CNAME next to an A record (RFC 2181 10.1)",
	 {QR_RD_RA, "a.example", DNS_T_A, 0, true,
	  {{AN, "a.example", DNS_T_A, "192.0.2.66", 0, 0},
	   {AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_A, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0, "RFC 2181 10.1",
	 false},
	{"a CNAME next to other types is fine",
	 {QR_RD_RA, "a.example", DNS_T_A, 0, true,
	  {{AN, "a.example", DNS_T_TXT, "x", 0, 0},
	   {AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_FOUND, "b.example", "192.0.2.1", 0, NULL,
	 false},
	{"a CNAME to a name that is not a host name",
	 {QR_RD_RA, "a.example", DNS_T_MX, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "b\\x0a.example", 0, 0},
	   {AN, "b\\x0a.example", DNS_T_MX, "10 mx.example", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "a name that is not a valid host name", false},
	{"a CNAME to the root",
	 {QR_RD_RA, "a.example", DNS_T_MX, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, ".", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "not a valid host name", false},
	{"a CNAME whose name ends before its rdata",
	 {QR_RD_RA, "a.example", DNS_T_MX, 0, false,
	  {{AN, "a.example", DNS_T_CNAME, "raw:0162076578616d706c650000", 0,
	    0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "malformed CNAME record", false},
	{"a CNAME of another name is ignored",
	 {QR_RD_RA, "a.example", DNS_T_A, 0, true,
	  {{AN, "z.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "a.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_FOUND, "a.example", "192.0.2.1", 0, NULL,
	 false},
	{"a chain that ends without records: NODATA for its last name",
	 {QR_RD_RA, "a.example", DNS_T_AAAA, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "b.example", 0, 0},
	   {AN, "b.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_AAAA, EX_OK, DNS_NODATA, "b.example", "", 0, NULL, false},
	{"NXDOMAIN at the end of a chain (RFC 6604)",
	 {QR_RD_RA | 3, "a.example", DNS_T_MX, 0, true,
	  {{AN, "a.example", DNS_T_CNAME, "gone.example", 0, 0},
	   {NS, "example", T_SOA, "raw:" SOA_RDATA, 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NXDOMAIN, "gone.example", "", 0, NULL,
	 false},

	/* RCODEs */
	{"NXDOMAIN",
	 {QR_RD_RA | 3, "nowhere.example", DNS_T_MX, 0, false,
	  {{0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_NXDOMAIN, "nowhere.example", "", 0, NULL,
	 false},
	{"NXDOMAIN holds no records",
	 {QR_RD_RA | 3, "nowhere.example", DNS_T_A, 0, true,
	  {{AN, "nowhere.example", DNS_T_A, "192.0.2.1", 0, 0}}},
	 NULL, DNS_T_A, EX_OK, DNS_NXDOMAIN, "nowhere.example", "", 0, NULL,
	 false},
	{"NODATA with an SOA in the authority section",
	 {QR_RD_RA | F_AD, EX, DNS_T_TLSA, 0, true,
	  {{NS, EX, T_SOA, "raw:" SOA_RDATA, 0, 0}}},
	 NULL, DNS_T_TLSA, EX_OK, DNS_NODATA, EX, "", 0, NULL, true},
	{"SERVFAIL",
	 {QR_RD_RA | 2, EX, DNS_T_MX, 0, false,
	  {{0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "DNS lookup of the MX records of example.org failed: server failure "
	 "(SERVFAIL); try again later",
	 false},
	{"SERVFAIL with records",
	 {QR_RD_RA | 2, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "server failure (SERVFAIL)", false},
	{"FORMERR without a question",
	 {QR_RD_RA | 1, NULL, 0, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_UNAVAILABLE, DNS_REFUSED, NULL, "", 0,
	 "could not understand the query (FORMERR)", false},
	{"NOTIMP",
	 {QR_RD_RA | 4, EX, DNS_T_TLSA, 0, false,
	  {{0}}},
	 NULL, DNS_T_TLSA, EX_UNAVAILABLE, DNS_REFUSED, NULL, "", 0,
	 "DNS lookup of the TLSA records of example.org failed: the DNS "
	 "server does not support this query (NOTIMP)",
	 false},
	{"REFUSED",
	 {QR_RD_RA | 5, EX, DNS_T_MX, 0, false,
	  {{0}}},
	 NULL, DNS_T_MX, EX_UNAVAILABLE, DNS_REFUSED, NULL, "", 0,
	 "refused to answer (REFUSED)", false},
	{"REFUSED without a question",
	 {QR_RD_RA | 5, NULL, 0, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_UNAVAILABLE, DNS_REFUSED, NULL, "", 0, "(REFUSED)",
	 false},
	{"RCODE 6",
	 {QR_RD_RA | 6, EX, DNS_T_MX, 0, false,
	  {{0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "unexpected response code 6; try again later", false},
	{"RCODE 15",
	 {QR_RD_RA | 15, EX, DNS_T_MX, 0, false,
	  {{0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "unexpected response code 15", false},
	{"an extended RCODE (RFC 6891 6.1.3: BADVERS)",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
	   {AR, ".", T_OPT, "raw:", 1232, 0x01000000}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "unexpected response code 16", false},
	{"an OPT record with DO and options",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
	   {AR, ".", T_OPT, "raw:000a00080102030405060708", 1232, 0x00008000}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "10 mx.example.org", 0, NULL,
	 false},
	{"two OPT records",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
	   {AR, ".", T_OPT, "raw:", 1232, 0},
	   {AR, ".", T_OPT, "raw:", 1232, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "malformed OPT record", false},
	{"an OPT record not owned by the root",
	 {QR_RD_RA, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0},
	   {AR, EX, T_OPT, "raw:", 1232, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "malformed OPT record", false},

	/* the header and the question */
	{"TC: truncated",
	 {QR_RD_RA | F_TC, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "the reply was truncated (TC); try again later", false},
	{"QR not set: a query",
	 {0x0100, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "is not a reply", false},
	{"opcode STATUS",
	 {QR_RD_RA | 0x1000, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0, "opcode",
	 false},
	{"AA and AD set",
	 {QR_RD_RA | F_AA | F_AD, EX, DNS_T_MX, 0, false,
	  {{AN, EX, DNS_T_MX, "10 mx.example.org", 0, 0}}},
	 NULL, DNS_T_MX, EX_OK, DNS_FOUND, EX, "10 mx.example.org", 0, NULL,
	 true},
	{"NOERROR without a question",
	 {QR_RD_RA, NULL, 0, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "does not hold exactly one question", false},
	{"NXDOMAIN without a question",
	 {QR_RD_RA | 3, NULL, 0, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "exactly one question", false},
	{"the answer to another name",
	 {QR_RD_RA, "example.net", DNS_T_MX, 0, false,
	  {{AN, "example.net", DNS_T_MX, "10 mx.example.net", 0, 0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "answers another question", false},
	{"the answer to a longer name",
	 {QR_RD_RA, "www.example.org", DNS_T_MX, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "answers another question", false},
	{"the answer to another type",
	 {QR_RD_RA, EX, DNS_T_A, 0, false,
	  {{AN, EX, DNS_T_A, "192.0.2.1", 0, 0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "answers another question", false},
	{"the answer to another class",
	 {QR_RD_RA, EX, DNS_T_MX, C_CH, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "answers another question", false},
	{"a question with an escaped dot is another question",
	 {QR_RD_RA, "example\\.org", DNS_T_MX, 0, false,
	  {{0}}},
	 EX, DNS_T_MX, EX_TEMPFAIL, DNS_TEMPFAIL, NULL, "", 0,
	 "answers another question", false},
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

/* A chain of DNS_MAX_CNAME_CHAIN links is followed, one more is not. */
static void test_parse_chain_limit(void **state)
{
	(void)state;
	struct builder *b = malloc(sizeof *b);
	assert_non_null(b);
	for (unsigned links = DNS_MAX_CNAME_CHAIN;
	     links <= DNS_MAX_CNAME_CHAIN + 1; links++) {
		b->compress = true;
		build_header(b, 3, QR_RD_RA, 1, links + 1, 0, 0);
		put_name(b, "c0.example");
		put16(b, DNS_T_A);
		put16(b, 1);
		char owner[32], target[32];
		for (unsigned i = 0; i < links; i++) {
			snprintf(owner, sizeof owner, "c%u.example", i);
			snprintf(target, sizeof target, "c%u.example", i + 1);
			struct rr_spec link = {AN, owner, DNS_T_CNAME, target,
			                       0, 0};
			put_rr(b, &link);
		}
		struct rr_spec a = {AN, target, DNS_T_A, "192.0.2.1", 0, 0};
		put_rr(b, &a);
		struct dns_result r;
		struct err e = ERR_INIT;
		int rc = dns_parse_reply(b->b, b->len, "c0.example", DNS_T_A,
		                         &r, &e);
		if (links == DNS_MAX_CNAME_CHAIN) {
			assert_int_equal(rc, EX_OK);
			assert_string_equal(r.canonical, target);
			assert_int_equal(r.count, 1);
		} else {
			assert_int_equal(rc, EX_TEMPFAIL);
			assert_non_null(strstr(err_msg(&e),
			                       "CNAME chain that is too long"));
		}
		dns_result_free(&r);
		err_clear(&e);
	}
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
		{1, 1},
		{0x7fffffff, 0x7fffffff},
		{0x80000000, 0},
		{0xffffffff, 0},
	};
	for (size_t i = 0; i < sizeof ttls / sizeof *ttls; i++) {
		struct reply_spec s = {
			QR_RD_RA, EX, DNS_T_MX, 0, false,
			{{AN, EX, DNS_T_MX, "1 mx.example", 1, ttls[i][0]}}};
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
		{"b\xc3\xbc" "cher.example", false},
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
		{DNS_T_A, "A"},   {DNS_T_CNAME, "CNAME"}, {DNS_T_PTR, "PTR"},
		{DNS_T_MX, "MX"}, {DNS_T_TXT, "TXT"},     {DNS_T_AAAA, "AAAA"},
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

/* ---- the resolver against a scripted server ------------------------------ */

enum script {
	S_ANSWER,       /* two MX records */
	S_AD,           /* the same with the AD bit */
	S_SILENT,       /* reads queries, never answers */
	S_SERVFAIL,     /* SERVFAIL */
	S_REFUSED,      /* REFUSED */
	S_SPOOF_FIRST,  /* another ID, another question, then the answer */
	S_TC,           /* UDP: TC; TCP: the answer */
	S_TC_STALL,     /* UDP: TC; TCP: reads the query, never answers */
	S_FORMERR_EDNS, /* FORMERR to a query with an OPT record */
};

struct fake_server {
	pid_t pid;
	struct sockaddr_storage addr;
	int log; /* the queries received: 'U' or 'T', a length, the bytes */
};

/* A reply to query q: its ID and question, flags, and the MX records of
 * the question's name given as "pref name" strings. */
static void build_answer(struct builder *b, const unsigned char *q, size_t n,
                         uint16_t flags, const char *const *mx, size_t count)
{
	size_t end = DNS_HEADER_SIZE;
	while (end < n && q[end] != 0)
		end += 1 + q[end];
	end += 1 + 4;
	assert_true(end <= n);
	b->compress = false;
	build_header(b, (unsigned)(q[0] << 8 | q[1]), flags, 1, (unsigned)count,
	             0, 0);
	memcpy(b->b + b->len, q + DNS_HEADER_SIZE, end - DNS_HEADER_SIZE);
	b->len = end;
	for (size_t i = 0; i < count; i++) {
		unsigned pref;
		int used = 0;
		sscanf(mx[i], "%u %n", &pref, &used);
		put16(b, 0xc00c);
		put16(b, DNS_T_MX);
		put16(b, 1);
		put32(b, 300);
		size_t at = b->len;
		put16(b, 0);
		put16(b, pref);
		put_name(b, mx[i] + used);
		b->b[at + 1] = (unsigned char)(b->len - at - 2);
	}
}

static const char *const good_mx[] = {"10 mx1.example.org",
                                      "20 mx2.example.org"};
static const char *const evil_mx[] = {"10 evil.example.net"};

static void log_query(int log, char transport, const unsigned char *q, size_t n)
{
	unsigned char head[3] = {(unsigned char)transport,
	                         (unsigned char)(n >> 8), (unsigned char)n};
	if (write(log, head, 3) != 3 || write(log, q, n) != (ssize_t)n)
		_exit(3);
}

static void serve_udp(enum script s, int udp, int log, struct builder *b)
{
	unsigned char q[4096];
	struct sockaddr_storage from;
	socklen_t len = sizeof from;
	ssize_t n =
	    recvfrom(udp, q, sizeof q, 0, (struct sockaddr *)&from, &len);
	if (n < DNS_HEADER_SIZE)
		return;
	log_query(log, 'U', q, (size_t)n);
	const struct sockaddr *to = (const struct sockaddr *)&from;
	switch (s) {
	case S_SILENT:
		return;
	case S_SPOOF_FIRST:
		build_answer(b, q, (size_t)n, QR_RD_RA, evil_mx, 1);
		b->b[1] ^= 1; /* another ID */
		sendto(udp, b->b, b->len, 0, to, len);
		build_answer(b, q, (size_t)n, QR_RD_RA, evil_mx, 1);
		b->b[DNS_HEADER_SIZE + 1] = 'z'; /* another name */
		sendto(udp, b->b, b->len, 0, to, len);
		break;
	case S_FORMERR_EDNS:
		if (q[11] != 0) { /* ARCOUNT: an OPT record */
			build_header(b, (unsigned)(q[0] << 8 | q[1]),
			             QR_RD_RA | 1, 0, 0, 0, 0);
			sendto(udp, b->b, b->len, 0, to, len);
			return;
		}
		break;
	default:
		break;
	}
	uint16_t flags = s == S_SERVFAIL                ? QR_RD_RA | 2
	                 : s == S_REFUSED               ? QR_RD_RA | 5
	                 : s == S_AD                    ? QR_RD_RA | F_AD
	                 : s == S_TC || s == S_TC_STALL ? QR_RD_RA | F_TC
	                                                : QR_RD_RA;
	size_t count = (flags & 0x0f) || (flags & F_TC) ? 0 : 2;
	build_answer(b, q, (size_t)n, flags, good_mx, count);
	sendto(udp, b->b, b->len, 0, to, len);
}

static void serve_tcp(enum script s, int tcp, int log, struct builder *b)
{
	int c = accept(tcp, NULL, NULL);
	if (c < 0)
		return;
	unsigned char head[2], q[4096];
	if (read(c, head, 2) != 2)
		goto out;
	size_t n = (size_t)head[0] << 8 | head[1];
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(c, q + got, n - got);
		if (k <= 0)
			goto out;
		got += (size_t)k;
	}
	log_query(log, 'T', q, n);
	if (s == S_TC_STALL)
		return; /* the connection stays open, silent */
	build_answer(b, q, n, QR_RD_RA, good_mx, 2);
	unsigned char len[2] = {(unsigned char)(b->len >> 8),
	                        (unsigned char)b->len};
	if (write(c, len, 2) != 2 || write(c, b->b, b->len) != (ssize_t)b->len)
		_exit(4);
out:
	close(c);
}

static void serve(enum script s, int udp, int tcp, int log)
{
	struct builder *b = malloc(sizeof *b);
	if (!b)
		_exit(2);
	for (;;) {
		struct pollfd p[2] = {{udp, POLLIN, 0}, {tcp, POLLIN, 0}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN)
			serve_udp(s, udp, log, b);
		if (p[1].revents & POLLIN)
			serve_tcp(s, tcp, log, b);
	}
}

/* UDP and TCP sockets on one free loopback port. */
static void bind_pair(int *udp, int *tcp, struct sockaddr_storage *addr)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in in = {.sin_family = AF_INET};
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof in;
		*udp = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(*udp >= 0);
		assert_int_equal(bind(*udp, (struct sockaddr *)&in, sizeof in),
		                 0);
		assert_int_equal(
		    getsockname(*udp, (struct sockaddr *)&in, &len), 0);
		*tcp = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(*tcp >= 0);
		if (bind(*tcp, (struct sockaddr *)&in, sizeof in) == 0 &&
		    listen(*tcp, 8) == 0) {
			memset(addr, 0, sizeof *addr);
			memcpy(addr, &in, sizeof in);
			return;
		}
		close(*udp);
		close(*tcp);
	}
	fail_msg("no free loopback port for UDP and TCP");
}

static void server_start(struct fake_server *srv, enum script s)
{
	int udp, tcp, log[2];
	bind_pair(&udp, &tcp, &srv->addr);
	assert_int_equal(pipe(log), 0);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		/* a failed assertion in the test leaves no server behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(log[0]);
		serve(s, udp, tcp, log[1]);
	}
	close(udp);
	close(tcp);
	close(log[1]);
	srv->log = log[0];
}

/* Stop the server and read what it received: the number of queries,
 * the transport of each ("UUT") and the last query. */
static size_t server_stop(struct fake_server *srv, char *transports,
                          struct buf *last)
{
	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, NULL, 0);
	struct buf all = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(srv->log, chunk, sizeof chunk)) > 0)
		buf_add(&all, chunk, (size_t)n);
	close(srv->log);
	size_t count = 0, at = 0;
	while (at + 3 <= all.len) {
		const unsigned char *p = (const unsigned char *)all.data + at;
		size_t len = (size_t)p[1] << 8 | p[2];
		if (transports)
			transports[count] = (char)p[0];
		if (last) {
			buf_reset(last);
			buf_add(last, p + 3, len);
		}
		at += 3 + len;
		count++;
	}
	if (transports)
		transports[count] = '\0';
	buf_free(&all);
	return count;
}

/* A resolver with this process's configuration, asking these servers. */
static struct dns_resolver *
open_resolver(int timeout_s, const struct fake_server *srv, size_t count)
{
	struct dns_resolver *r;
	struct err e = ERR_INIT;
	if (dns_resolver_open(&r, timeout_s, &e) != EX_OK)
		fail_msg("dns_resolver_open: %s", err_msg(&e));
	struct sockaddr_storage addrs[DNS_MAX_SERVERS];
	for (size_t i = 0; i < count; i++)
		addrs[i] = srv[i].addr;
	assert_int_equal(dns_resolver_use_servers(r, addrs, count, &e), EX_OK);
	return r;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Look name up as MX; the rendered records or the message. */
static int lookup_mx(struct dns_resolver *r, const char *name,
                     struct dns_result *out, struct buf *shown)
{
	struct err e = ERR_INIT;
	int rc = dns_lookup(r, name, DNS_T_MX, out, &e);
	buf_reset(shown);
	if (rc == EX_OK) {
		char *records = render_records(out);
		buf_add_str(shown, records);
		free(records);
	} else {
		assert_int_equal(e.code, rc);
		assert_clean_message(&e);
		buf_add_str(shown, err_msg(&e));
	}
	err_clear(&e);
	return rc;
}

/* ---- lookups in a process of their own ----------------------------------- */

/* glibc reads resolv.conf and RES_OPTIONS once per process and keeps
 * them (until the file changes), so a lookup with other options runs in
 * a fresh copy of this program: "test_dns --lookup TIMEOUT NAME TYPE
 * [PORT...]" looks NAME up as TYPE with the servers 127.0.0.1:PORT (or
 * resolv.conf's) and prints three lines: the result (see
 * describe_lookup), the time it took in ms, and the message. */
static uint16_t type_by_name(const char *name)
{
	for (unsigned t = 1; t < 256; t++)
		if (dns_type_supported((uint16_t)t) &&
		    strcmp(dns_type_name((uint16_t)t), name) == 0)
			return (uint16_t)t;
	return 0;
}

/* "rc=0 status=FOUND ad=1 trust=1 records=10 mx.example.org", the time
 * in ms and the message of one lookup. */
static void describe_lookup(struct dns_resolver *r, const char *name,
                            uint16_t type, struct buf *result, long *ms,
                            struct buf *message)
{
	struct dns_result res;
	struct err e = ERR_INIT;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rc = dns_lookup(r, name, type, &res, &e);
	*ms = (long)(seconds_since(&start) * 1000);
	char *records = render_records(&res);
	buf_printf(result, "rc=%d status=%s ad=%d trust=%d records=%s", rc,
	           status_name(res.status), res.authenticated,
	           dns_resolver_trusts_ad(r), records);
	buf_add_str(message, err_msg(&e));
	free(records);
	dns_result_free(&res);
	err_clear(&e);
}

static int lookup_driver(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct dns_resolver *r;
	struct err e = ERR_INIT;
	if (dns_resolver_open(&r, atoi(argv[0]), &e) != EX_OK) {
		printf("rc=%d open\n0\n%s\n", e.code, err_msg(&e));
		return 0;
	}
	struct sockaddr_storage addrs[DNS_MAX_SERVERS];
	int count = 0;
	for (; count < argc - 3 && count < DNS_MAX_SERVERS; count++) {
		struct sockaddr_in in = {.sin_family = AF_INET};
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in.sin_port = htons((uint16_t)atoi(argv[3 + count]));
		memset(&addrs[count], 0, sizeof addrs[count]);
		memcpy(&addrs[count], &in, sizeof in);
	}
	if (count > 0 &&
	    dns_resolver_use_servers(r, addrs, (size_t)count, &e) != EX_OK)
		return 2;
	struct buf result = BUF_INIT, message = BUF_INIT;
	long ms;
	describe_lookup(r, argv[1], type_by_name(argv[2]), &result, &ms,
	                &message);
	printf("%s\n%ld\n%s\n", buf_str(&result), ms, buf_str(&message));
	buf_free(&result);
	buf_free(&message);
	dns_resolver_close(r);
	return 0;
}

/* What a driver printed; result without its " trust=N" (in trust). */
struct driver_out {
	struct buf result;
	bool trust;
	long ms;
	struct buf message;
};

static void driver_out_free(struct driver_out *out)
{
	buf_free(&out->result);
	buf_free(&out->message);
}

static void run_driver(const char *options, int timeout_s, const char *name,
                       const char *type, const struct fake_server *srv,
                       size_t count, struct driver_out *out)
{
	char timeout[16], ports[DNS_MAX_SERVERS][16];
	char *argv[6 + DNS_MAX_SERVERS] = {"test_dns", "--lookup", timeout,
	                                   (char *)name, (char *)type};
	snprintf(timeout, sizeof timeout, "%d", timeout_s);
	for (size_t i = 0; i < count; i++) {
		const struct sockaddr_in *in = (const void *)&srv[i].addr;
		snprintf(ports[i], sizeof ports[i], "%u", ntohs(in->sin_port));
		argv[5 + i] = ports[i];
	}
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		if (options)
			setenv("RES_OPTIONS", options, 1);
		else
			unsetenv("RES_OPTIONS");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pipefd[1]);
	struct buf all = BUF_INIT;
	char chunk[1024];
	ssize_t n;
	while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0)
		buf_add(&all, chunk, (size_t)n);
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *first = strchr(buf_str(&all), '\n');
	assert_non_null(first);
	char *second = strchr(first + 1, '\n');
	assert_non_null(second);
	*out = (struct driver_out){BUF_INIT, false, atol(first + 1), BUF_INIT};
	buf_add(&out->result, all.data, (size_t)(first - all.data));
	char *trust = strstr(out->result.data, " trust=");
	assert_non_null(trust);
	out->trust = trust[7] == '1';
	memmove(trust, trust + 8, strlen(trust + 8) + 1); /* " trust=N" */
	out->result.len -= 8;
	buf_add(&out->message, second + 1, strcspn(second + 1, "\n"));
	buf_free(&all);
}

static void test_lookup_answer(void **state)
{
	(void)state;
	struct fake_server srv;
	server_start(&srv, S_ANSWER);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT, query = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lookup_mx(r,
		                           i ? "example.org" : "Example.ORG.",
		                           &res, &shown),
		                 EX_OK);
		assert_string_equal(buf_str(&shown),
		                    "10 mx1.example.org, 20 mx2.example.org");
		assert_int_equal(res.status, DNS_FOUND);
		assert_string_equal(res.canonical, "example.org");
		assert_false(res.authenticated);
		dns_result_free(&res);
	}
	dns_resolver_close(r);
	char transports[16];
	assert_int_equal(server_stop(&srv, transports, &query), 3);
	assert_string_equal(transports, "UUU");
	/* the last query: RD, one question for the absolute name in lower
	 * case, and an EDNS0 OPT record offering DNS_EDNS_UDP_SIZE */
	static const unsigned char question[] = "\x07"
	                                        "example"
	                                        "\x03"
	                                        "org"
	                                        "\x00"
	                                        "\x00\x0f"
	                                        "\x00\x01";
	static const unsigned char opt[] = {
	    0, 0, 41, DNS_EDNS_UDP_SIZE >> 8, DNS_EDNS_UDP_SIZE & 0xff, 0, 0, 0,
	    0, 0, 0};
	const unsigned char *q = (const unsigned char *)query.data;
	assert_int_equal(query.len,
	                 DNS_HEADER_SIZE + sizeof question - 1 + sizeof opt);
	assert_int_equal(q[2] & 0xf9, 0x01); /* QR 0, QUERY, RD */
	assert_memory_equal(q + 4, "\0\1\0\0\0\0\0\1", 8);
	assert_memory_equal(q + DNS_HEADER_SIZE, question, sizeof question - 1);
	assert_memory_equal(q + DNS_HEADER_SIZE + sizeof question - 1, opt,
	                    sizeof opt);
	buf_free(&shown);
	buf_free(&query);
}

/* Query IDs come from getrandom(2): 16 lookups never share one ID in
 * practice (a repeat somewhere has a chance of 1 in 550). */
static void test_lookup_ids(void **state)
{
	(void)state;
	struct fake_server srv;
	server_start(&srv, S_ANSWER);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT;
	for (int i = 0; i < 16; i++) {
		assert_int_equal(lookup_mx(r, "example.org", &res, &shown),
		                 EX_OK);
		dns_result_free(&res);
	}
	dns_resolver_close(r);
	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, NULL, 0);
	unsigned char log[16 * 64];
	ssize_t n = read(srv.log, log, sizeof log);
	close(srv.log);
	unsigned ids[16], count = 0, distinct = 0;
	for (ssize_t at = 0; at + 5 <= n && count < 16;) {
		size_t len = (size_t)log[at + 1] << 8 | log[at + 2];
		ids[count++] = (unsigned)log[at + 3] << 8 | log[at + 4];
		at += 3 + (ssize_t)len;
	}
	assert_int_equal(count, 16);
	for (unsigned i = 0; i < count; i++) {
		bool seen = false;
		for (unsigned k = 0; k < i; k++)
			seen = seen || ids[k] == ids[i];
		distinct += !seen;
	}
	assert_true(distinct >= 15);
	buf_free(&shown);
}

static void test_lookup_ad(void **state)
{
	(void)state;
	struct fake_server srv;
	struct driver_out out;
	struct buf query = BUF_INIT;
	/* without trust-ad the bit is cleared (unless this host's own
	 * resolv.conf trusts its resolver: then that half proves nothing) */
	server_start(&srv, S_AD);
	run_driver(NULL, 5, "example.org", "MX", &srv, 1, &out);
	if (!out.trust)
		assert_string_equal(buf_str(&out.result),
		                    "rc=0 status=FOUND ad=0 records=10 "
		                    "mx1.example.org, 20 mx2.example.org");
	assert_int_equal(server_stop(&srv, NULL, &query), 1);
	driver_out_free(&out);
	/* with trust-ad: the query asks for the bit and the answer keeps it */
	server_start(&srv, S_AD);
	run_driver("trust-ad", 5, "example.org", "MX", &srv, 1, &out);
	assert_true(out.trust);
	assert_string_equal(buf_str(&out.result),
	                    "rc=0 status=FOUND ad=1 records=10 "
	                    "mx1.example.org, 20 mx2.example.org");
	assert_int_equal(server_stop(&srv, NULL, &query), 1);
	assert_true(query.data[3] & F_AD);
	driver_out_free(&out);
	/* and an answer without the bit is not authenticated */
	server_start(&srv, S_ANSWER);
	run_driver("trust-ad", 5, "example.org", "MX", &srv, 1, &out);
	assert_true(out.trust);
	assert_string_equal(buf_str(&out.result),
	                    "rc=0 status=FOUND ad=0 records=10 "
	                    "mx1.example.org, 20 mx2.example.org");
	server_stop(&srv, NULL, NULL);
	driver_out_free(&out);
	buf_free(&query);
}

static void test_lookup_rcodes(void **state)
{
	(void)state;
	struct fake_server srv[2];
	struct dns_result res;
	struct buf shown = BUF_INIT;
	server_start(&srv[0], S_SERVFAIL);
	struct dns_resolver *r = open_resolver(5, srv, 1);
	assert_int_equal(lookup_mx(r, "example.org.", &res, &shown),
	                 EX_TEMPFAIL);
	assert_int_equal(res.status, DNS_TEMPFAIL);
	assert_int_equal(res.rcode, 2);
	assert_string_equal(buf_str(&shown),
	                    "DNS lookup of the MX records of example.org "
	                    "failed: server failure (SERVFAIL); try again "
	                    "later");
	dns_result_free(&res);
	dns_resolver_close(r);
	assert_int_equal(server_stop(&srv[0], NULL, NULL), 1);
	/* a server that answered is not asked again, whatever attempts: */
	struct driver_out out;
	server_start(&srv[0], S_SERVFAIL);
	run_driver("attempts:3", 5, "example.org", "MX", srv, 1, &out);
	assert_string_equal(buf_str(&out.result),
	                    "rc=75 status=TEMPFAIL ad=0 records=");
	driver_out_free(&out);
	assert_int_equal(server_stop(&srv[0], NULL, NULL), 1);

	server_start(&srv[0], S_REFUSED);
	r = open_resolver(5, srv, 1);
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown),
	                 EX_UNAVAILABLE);
	assert_int_equal(res.status, DNS_REFUSED);
	assert_non_null(strstr(buf_str(&shown), "(REFUSED)"));
	dns_result_free(&res);
	dns_resolver_close(r);
	server_stop(&srv[0], NULL, NULL);

	/* SERVFAIL from the first server, an answer from the second */
	server_start(&srv[0], S_SERVFAIL);
	server_start(&srv[1], S_ANSWER);
	r = open_resolver(5, srv, 2);
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown), EX_OK);
	assert_string_equal(buf_str(&shown),
	                    "10 mx1.example.org, 20 mx2.example.org");
	dns_result_free(&res);
	dns_resolver_close(r);
	assert_int_equal(server_stop(&srv[0], NULL, NULL), 1);
	assert_int_equal(server_stop(&srv[1], NULL, NULL), 1);
	buf_free(&shown);
}

/* Replies with another ID or another question are ignored (RFC 5452
 * 9.1); the real one that follows is taken. */
static void test_lookup_spoofed(void **state)
{
	(void)state;
	struct fake_server srv;
	server_start(&srv, S_SPOOF_FIRST);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT;
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown), EX_OK);
	assert_string_equal(buf_str(&shown),
	                    "10 mx1.example.org, 20 mx2.example.org");
	dns_result_free(&res);
	dns_resolver_close(r);
	assert_int_equal(server_stop(&srv, NULL, NULL), 1);
	buf_free(&shown);
}

static void test_lookup_truncated(void **state)
{
	(void)state;
	struct fake_server srv;
	server_start(&srv, S_TC);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT;
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown), EX_OK);
	assert_string_equal(buf_str(&shown),
	                    "10 mx1.example.org, 20 mx2.example.org");
	dns_result_free(&res);
	dns_resolver_close(r);
	char transports[16];
	assert_int_equal(server_stop(&srv, transports, NULL), 2);
	assert_string_equal(transports, "UT");

	/* options use-vc: TCP from the start */
	struct driver_out out;
	server_start(&srv, S_ANSWER);
	run_driver("use-vc", 5, "example.org", "MX", &srv, 1, &out);
	assert_non_null(strstr(buf_str(&out.result), "rc=0 status=FOUND"));
	driver_out_free(&out);
	assert_int_equal(server_stop(&srv, transports, NULL), 1);
	assert_string_equal(transports, "T");
	buf_free(&shown);
}

static void test_lookup_formerr_to_edns(void **state)
{
	(void)state;
	struct fake_server srv;
	server_start(&srv, S_FORMERR_EDNS);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT, query = BUF_INIT;
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown), EX_OK);
	assert_string_equal(buf_str(&shown),
	                    "10 mx1.example.org, 20 mx2.example.org");
	dns_result_free(&res);
	dns_resolver_close(r);
	assert_int_equal(server_stop(&srv, NULL, &query), 2);
	assert_int_equal(query.data[11], 0); /* the second: no OPT */
	assert_int_equal(query.len, DNS_HEADER_SIZE + 13 + 4);
	buf_free(&shown);
	buf_free(&query);
}

/* Each lookup ends within its timeout whatever resolv.conf asks for:
 * here 3 servers that never answer, attempts:5 and timeout:30 (a 7.5
 * minute worst case for glibc) against timeout_s 2. */
static void assert_took_about(const struct driver_out *out, long want_ms)
{
	if (out->ms < want_ms - 100 || out->ms > want_ms + 500)
		fail_msg("the lookup took %ld ms, not about %ld (%s)", out->ms,
		         want_ms, buf_str(&out->message));
}

static void test_lookup_time_bound(void **state)
{
	(void)state;
	struct fake_server srv[3];
	struct driver_out out;
	for (int i = 0; i < 3; i++)
		server_start(&srv[i], S_SILENT);
	run_driver("attempts:5 timeout:30", 2, "example.org", "MX", srv, 3,
	           &out);
	assert_took_about(&out, 2000);
	assert_string_equal(buf_str(&out.result),
	                    "rc=75 status=TEMPFAIL ad=0 records=");
	assert_non_null(strstr(buf_str(&out.message),
	                       "DNS lookup of the MX records of example.org "
	                       "failed: no DNS server answered within 2 "
	                       "seconds (asked 127.0.0.1 port "));
	driver_out_free(&out);
	/* every server was asked, each for DNS_MIN_WAIT_MS at a time: 2 s
	 * hold 8 such tries */
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		size_t n = server_stop(&srv[i], NULL, NULL);
		assert_true(n >= 2);
		total += n;
	}
	assert_true(total >= 7 && total <= 8);

	/* one server, attempts:2 timeout:5: two tries of one second */
	server_start(&srv[0], S_SILENT);
	run_driver("attempts:2 timeout:5", 2, "example.org", "MX", srv, 1,
	           &out);
	assert_took_about(&out, 2000);
	assert_non_null(strstr(buf_str(&out.result), "rc=75 status=TEMPFAIL"));
	driver_out_free(&out);
	assert_int_equal(server_stop(&srv[0], NULL, NULL), 2);

	/* timeout:1 attempts:1 is shorter than timeout_s: resolv.conf wins */
	server_start(&srv[0], S_SILENT);
	run_driver("attempts:1 timeout:1", 5, "example.org", "MX", srv, 1,
	           &out);
	assert_took_about(&out, 1000);
	assert_non_null(strstr(buf_str(&out.message),
	                       "no DNS server answered within 1 second "
	                       "(asked"));
	driver_out_free(&out);
	assert_int_equal(server_stop(&srv[0], NULL, NULL), 1);

	/* truncated over UDP, then a TCP connection that stays silent */
	server_start(&srv[0], S_TC_STALL);
	run_driver("attempts:2 timeout:30", 2, "example.org", "MX", srv, 1,
	           &out);
	assert_took_about(&out, 2000);
	assert_non_null(strstr(buf_str(&out.message),
	                       "the reply was too large for UDP and no DNS "
	                       "server answered over TCP within 2 seconds"));
	driver_out_free(&out);
	char transports[16];
	assert_int_equal(server_stop(&srv[0], transports, NULL), 2);
	assert_string_equal(transports, "UT");
}

static void test_lookup_no_server(void **state)
{
	(void)state;
	/* a port nobody listens on: ICMP port unreachable, at once */
	struct fake_server srv;
	server_start(&srv, S_SILENT);
	server_stop(&srv, NULL, NULL);
	struct dns_resolver *r = open_resolver(5, &srv, 1);
	struct dns_result res;
	struct buf shown = BUF_INIT;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(lookup_mx(r, "example.org", &res, &shown),
	                 EX_TEMPFAIL);
	assert_true(seconds_since(&start) < 1.0);
	assert_non_null(strstr(buf_str(&shown), "failed: no DNS server is "
	                                        "listening (asked 127.0.0.1 "
	                                        "port "));
	dns_result_free(&res);
	dns_resolver_close(r);
	buf_free(&shown);
}

static void test_lookup_refuses_bad_questions(void **state)
{
	(void)state;
	struct dns_resolver *r;
	struct err e = ERR_INIT;
	assert_int_equal(dns_resolver_open(&r, 0, &e), EX_SOFTWARE);
	assert_null(r);
	assert_int_equal(dns_resolver_open(&r, DNS_MAX_TIMEOUT + 1, &e),
	                 EX_SOFTWARE);
	assert_int_equal(dns_resolver_open(&r, 1, &e), EX_OK);
	struct sockaddr_storage addrs[DNS_MAX_SERVERS + 1] = {0};
	assert_int_equal(dns_resolver_use_servers(r, addrs, 0, &e),
	                 EX_SOFTWARE);
	assert_int_equal(dns_resolver_use_servers(r, addrs, 1, &e),
	                 EX_SOFTWARE); /* AF_UNSPEC */
	addrs[0].ss_family = AF_INET;
	assert_int_equal(
	    dns_resolver_use_servers(r, addrs, DNS_MAX_SERVERS + 1, &e),
	    EX_SOFTWARE);
	/* refused before any I/O: the servers are a closed port */
	struct dns_result res;
	assert_int_equal(dns_lookup(r, "exa mple.org", DNS_T_MX, &res, &e),
	                 EX_DATAERR);
	assert_int_equal(res.status, DNS_REFUSED);
	assert_clean_message(&e);
	assert_int_equal(dns_lookup(r, "a\r\nRCPT TO:<x>", DNS_T_A, &res, &e),
	                 EX_DATAERR);
	assert_clean_message(&e);
	assert_int_equal(dns_lookup(r, "example.org", 2, &res, &e),
	                 EX_SOFTWARE);
	dns_result_free(&res);
	dns_resolver_close(r);
	dns_resolver_close(NULL);
	err_clear(&e);
}

/* Against the servers of /etc/resolv.conf, for a check in a private
 * network namespace with a DNS server of its own: OUTBOX_TEST_DNS_QUERY
 * "NAME TYPE", OUTBOX_TEST_DNS_WANT the expected "rc=N status=S ad=0|1
 * trust=0|1 records=..." line, OUTBOX_TEST_DNS_TIMEOUT seconds (default
 * 5), OUTBOX_TEST_DNS_MAX_MS the longest the lookup may take. */
static void test_system_resolver(void **state)
{
	(void)state;
	const char *query = getenv("OUTBOX_TEST_DNS_QUERY");
	const char *want = getenv("OUTBOX_TEST_DNS_WANT");
	assert_non_null(query);
	assert_non_null(want);
	char name[300], type[16];
	assert_int_equal(sscanf(query, "%299s %15s", name, type), 2);
	const char *timeout = getenv("OUTBOX_TEST_DNS_TIMEOUT");
	const char *max_ms = getenv("OUTBOX_TEST_DNS_MAX_MS");
	struct dns_resolver *r;
	struct err e = ERR_INIT;
	assert_int_equal(dns_resolver_open(&r, timeout ? atoi(timeout) : 5, &e),
	                 EX_OK);
	struct buf result = BUF_INIT, message = BUF_INIT;
	long ms;
	describe_lookup(r, name, type_by_name(type), &result, &ms, &message);
	print_message("# %s: %s in %ld ms; %s\n", query, buf_str(&result), ms,
	              buf_str(&message));
	assert_string_equal(buf_str(&result), want);
	if (max_ms && ms > atol(max_ms))
		fail_msg("the lookup took %ld ms", ms);
	buf_free(&result);
	buf_free(&message);
	dns_resolver_close(r);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--lookup") == 0)
		return lookup_driver(argc - 2, argv + 2);
	/* a server that dies before a write must not kill the test */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_cut_and_extended),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_parse_pointer_chains),
		cmocka_unit_test(test_parse_chain_limit),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_question_check),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_reverse_name),
		cmocka_unit_test(test_lookup_answer),
		cmocka_unit_test(test_lookup_ids),
		cmocka_unit_test(test_lookup_ad),
		cmocka_unit_test(test_lookup_rcodes),
		cmocka_unit_test(test_lookup_spoofed),
		cmocka_unit_test(test_lookup_truncated),
		cmocka_unit_test(test_lookup_formerr_to_edns),
		cmocka_unit_test(test_lookup_time_bound),
		cmocka_unit_test(test_lookup_no_server),
		cmocka_unit_test(test_lookup_refuses_bad_questions),
	};
	/* a check by hand runs alone (cmocka reports a skipped test as
	 * "not ok", which tests/run-all counts as a failure) */
	const struct CMUnitTest by_hand[] = {
		cmocka_unit_test(test_system_resolver),
	};
	if (getenv("OUTBOX_TEST_DNS_QUERY"))
		return cmocka_run_group_tests(by_hand, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
