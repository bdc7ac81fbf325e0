/* fuzz_dns.c - libFuzzer target for the DNS reply parser (dns_parse.h),
 * which reads what DNS servers send.
 *
 * The first byte picks what the rest is; the next two pick the question
 * (a type of enum dns_type, a name from a list, in any case, with or
 * without its trailing dot):
 *  0  a reply, raw, through dns_parse_reply; the result must keep the
 *     parser's contract whatever the bytes:
 *      - the return code and the status agree (EX_OK: FOUND, NODATA or
 *        NXDOMAIN; EX_TEMPFAIL: TEMPFAIL; EX_UNAVAILABLE: REFUSED), and
 *        the status agrees with the reply's RCODE (FOUND and NODATA only
 *        for 0, NXDOMAIN for 3, REFUSED for 1, 4, 5) and header (QR set,
 *        TC clear, the AD bit as authenticated);
 *      - FOUND exactly when records are returned, at most DNS_MAX_RECORDS,
 *        returned and skipped together at most ANCOUNT, all of the asked
 *        type with their type's shape (4 or 16 address bytes, a TLSA or
 *        TXT data_len within the message and NUL-terminated), every
 *        returned name an LDH host name in lower case ("" only for an MX
 *        exchange), the canonical name too, and equal to the question's
 *        when there is no answer record at all;
 *      - a failure returns nothing and says one sentence of printable
 *        ASCII about the question's type and name;
 *  1  a reply built from the bytes: a question (any case, or none for an
 *     error RCODE), a CNAME chain of up to DNS_MAX_CNAME_CHAIN + 1 links,
 *     records of the asked type at its end (valid ones with random
 *     contents, and ones that break their type's rules), records of other
 *     owners, types and classes, authority and additional records, an OPT
 *     record, with or without compression, in a random order: it must
 *     parse to exactly what was built (status, canonical name, every
 *     record in order, the count of skipped ones, the AD bit); then cut
 *     short, with a byte more, with TC set, with QR clear or asked another
 *     question, it must be unusable. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns_parse.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {DNS_T_A,   DNS_T_CNAME, DNS_T_PTR,
                                 DNS_T_MX,  DNS_T_TXT,   DNS_T_AAAA,
                                 DNS_T_TLSA};
#define TYPE_COUNT (sizeof types / sizeof *types)

/* Question names as asked, and in lower case without the dot. */
static const char *const asked[][2] = {
	{"example.org", "example.org"},
	{"EXAMPLE.Org.", "example.org"},
	{"_25._tcp.mx.example.org", "_25._tcp.mx.example.org"},
	{"_mta-sts.Example.ORG", "_mta-sts.example.org"},
	{"1.2.0.192.in-addr.arpa.", "1.2.0.192.in-addr.arpa"},
	{"x", "x"},
	{"a-b_c.d-e.f", "a-b_c.d-e.f"},
};
#define NAME_COUNT (sizeof asked / sizeof *asked)

#define F_QR 0x8000
#define F_TC 0x0200
#define F_AD 0x0020

/* ---- the contract, for any reply ----------------------------------------- */

static bool host_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* An LDH host name in lower case, by the rules of dns_parse.h. */
static bool lower_host_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > DNS_MAX_HOST_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!host_byte((unsigned char)s[i]) ||
		           ++label > DNS_MAX_LABEL) {
			return false;
		}
	}
	return label > 0 && dns_host_name_valid(s);
}

static void check_message(const struct err *e, int code, uint16_t qtype,
                          const char *lower)
{
	const char *msg = err_msg(e);
	if (e->code != code || strlen(msg) > 400)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();
	struct buf want = BUF_INIT;
	buf_printf(&want, "DNS lookup of the %s records of %s failed: ",
	           dns_type_name(qtype), lower);
	if (strncmp(msg, buf_str(&want), want.len) != 0)
		abort();
	buf_free(&want);
}

static void check_record(const struct dns_record *r, uint16_t qtype,
                         size_t len)
{
	if (r->type != qtype || r->ttl > INT32_MAX)
		abort();
	bool named = qtype == DNS_T_MX || qtype == DNS_T_CNAME ||
	             qtype == DNS_T_PTR;
	bool has_data = qtype == DNS_T_TXT || qtype == DNS_T_TLSA;
	if ((r->name != NULL) != named || (r->data != NULL) != has_data)
		abort();
	if (named && !lower_host_name(r->name) &&
	    !(qtype == DNS_T_MX && r->name[0] == '\0'))
		abort();
	if ((qtype == DNS_T_A && r->addr_len != 4) ||
	    (qtype == DNS_T_AAAA && r->addr_len != 16) ||
	    (qtype != DNS_T_A && qtype != DNS_T_AAAA && r->addr_len != 0))
		abort();
	if (has_data && (r->data_len >= len || r->data[r->data_len] != '\0'))
		abort();
	if (!has_data && r->data_len != 0)
		abort();
	if (qtype == DNS_T_TLSA && r->data_len < 1)
		abort();
}

static void check_contract(const unsigned char *msg, size_t len,
                           const char *lower, uint16_t qtype, int rc,
                           const struct dns_result *r, const struct err *e)
{
	if (rc != EX_OK) {
		check_message(e, rc, qtype, lower);
		if (r->count || r->records || r->canonical || r->skipped ||
		    r->authenticated)
			abort();
		if ((rc == EX_TEMPFAIL) != (r->status == DNS_TEMPFAIL) ||
		    (rc == EX_UNAVAILABLE) != (r->status == DNS_REFUSED) ||
		    (rc != EX_TEMPFAIL && rc != EX_UNAVAILABLE))
			abort();
		if (r->status == DNS_REFUSED &&
		    !(r->rcode == 1 || r->rcode == 4 || r->rcode == 5))
			abort();
		return;
	}
	if (e->code != EX_OK || len < DNS_HEADER_SIZE ||
	    !(msg[2] << 8 & F_QR) || (msg[2] << 8 & F_TC))
		abort();
	if (r->authenticated != ((msg[3] & F_AD) != 0))
		abort();
	int header_rcode = msg[3] & 0x0f;
	switch (r->status) {
	case DNS_FOUND:
	case DNS_NODATA:
		if (r->rcode != 0 || header_rcode != 0)
			abort();
		break;
	case DNS_NXDOMAIN:
		if (r->rcode != 3 || header_rcode != 3 || r->count ||
		    r->skipped)
			abort();
		break;
	default:
		abort();
	}
	size_t ancount = (size_t)msg[6] << 8 | msg[7];
	if ((r->status == DNS_FOUND) != (r->count > 0) ||
	    r->count > DNS_MAX_RECORDS || r->count + r->skipped > ancount ||
	    (r->count > 0) != (r->records != NULL))
		abort();
	if (!r->canonical || !lower_host_name(r->canonical) ||
	    (ancount == 0 && strcmp(r->canonical, lower) != 0))
		abort();
	for (size_t i = 0; i < r->count; i++)
		check_record(&r->records[i], qtype, len);
}

static void fuzz_raw(const unsigned char *msg, size_t len, const char *qname,
                     const char *lower, uint16_t qtype)
{
	/* a copy of exactly the input, so ASan sees any read past its end */
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, msg, len);
	struct dns_result r;
	struct err e = ERR_INIT;
	int rc = dns_parse_reply(copy, len, qname, qtype, &r, &e);
	check_contract(copy, len, lower, qtype, rc, &r, &e);
	/* the same again: nothing depends on anything but the input */
	struct dns_result again;
	struct err e2 = ERR_INIT;
	if (dns_parse_reply(copy, len, qname, qtype, &again, &e2) != rc ||
	    again.status != r.status || again.count != r.count ||
	    again.skipped != r.skipped ||
	    strcmp(err_msg(&e), err_msg(&e2)) != 0)
		abort();
	dns_result_free(&again);
	dns_result_free(&r);
	err_clear(&e);
	err_clear(&e2);
	free(copy);
}

/* ---- replies built from the input ---------------------------------------- */

struct bytes {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct bytes *b, unsigned range)
{
	if (b->n == 0)
		return 0;
	unsigned v = *b->p++;
	b->n--;
	return range ? v % range : v;
}

static uint32_t take32(struct bytes *b)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | take(b, 0);
	return v;
}

/* A name: uncompressed wire form as it is written (any case), and the
 * text expected back (lower case; "" for the root). */
struct name {
	unsigned char wire[DNS_MAX_NAME_WIRE];
	size_t len;
	char text[DNS_MAX_NAME_WIRE];
};

#define MAX_SUFFIXES 256

struct message {
	struct buf b;
	bool compress;
	struct {
		size_t at;
		unsigned char wire[DNS_MAX_NAME_WIRE]; /* lower case */
		size_t len;
	} suffix[MAX_SUFFIXES];
	size_t suffixes;
};

static void put8(struct message *m, unsigned v)
{
	buf_add_char(&m->b, (char)(v & 0xff));
}

static void put16(struct message *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void put32(struct message *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool same_suffix(const unsigned char *a, const unsigned char *b,
                        size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != b[i])
			return false;
	return true;
}

/* The earlier suffix equal to the rest of a name, or -1. */
static long find_suffix(const struct message *m, const unsigned char *rest,
                        size_t len)
{
	for (size_t i = 0; i < m->suffixes; i++)
		if (m->suffix[i].len == len &&
		    same_suffix(rest, m->suffix[i].wire, len))
			return (long)m->suffix[i].at;
	return -1;
}

/* Write a name; with compression, its longest suffix written before
 * becomes a pointer (RFC 1035 4.1.4). */
static void put_name(struct message *m, const struct name *n)
{
	size_t at = 0;
	while (n->wire[at] != 0) {
		size_t rest = n->len - at;
		long earlier = m->compress ? find_suffix(m, n->wire + at, rest)
		                           : -1;
		if (earlier >= 0) {
			put16(m, 0xc000 | (unsigned)earlier);
			return;
		}
		if (m->suffixes < MAX_SUFFIXES && m->b.len < 0x3fff) {
			m->suffix[m->suffixes].at = m->b.len;
			for (size_t i = 0; i < rest; i++)
				m->suffix[m->suffixes].wire[i] =
				        lower(n->wire[at + i]);
			m->suffix[m->suffixes++].len = rest;
		}
		buf_add(&m->b, n->wire + at, 1 + (size_t)n->wire[at]);
		at += 1 + (size_t)n->wire[at];
	}
	put8(m, 0);
}

static void name_add_label(struct name *n, const char *label, size_t len)
{
	n->wire[n->len - 1] = (unsigned char)len;
	memcpy(n->wire + n->len, label, len);
	n->len += len;
	n->wire[n->len++] = 0;
	size_t t = strlen(n->text);
	if (t > 0)
		n->text[t++] = '.';
	for (size_t i = 0; i < len; i++)
		n->text[t + i] = (char)lower((unsigned char)label[i]);
	n->text[t + len] = '\0';
}

static void name_root(struct name *n)
{
	n->wire[0] = 0;
	n->len = 1;
	n->text[0] = '\0';
}

/* A valid host name: tag as its first label's start (keeps the chain's
 * names apart), 1..4 labels of host bytes in any case. */
static void make_name(struct bytes *in, const char *tag, struct name *n)
{
	static const char bytes[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
	                            "OPQRSTUVWXYZ0123456789-_";
	name_root(n);
	unsigned labels = 1 + take(in, 4);
	for (unsigned l = 0; l < labels; l++) {
		char label[DNS_MAX_LABEL];
		size_t len = 0;
		if (l == 0)
			for (; tag[len]; len++)
				label[len] = tag[len];
		for (unsigned i = 1 + take(in, 12); i > 0; i--)
			label[len++] = bytes[take(in, sizeof bytes - 1)];
		name_add_label(n, label, len);
	}
}

static void name_from_text(const char *text, struct bytes *in, struct name *n)
{
	name_root(n);
	while (*text) {
		size_t len = strcspn(text, ".");
		char label[DNS_MAX_LABEL];
		for (size_t i = 0; i < len; i++) {
			bool letter = text[i] >= 'a' && text[i] <= 'z';
			label[i] = letter && take(in, 2) ? (char)(text[i] - 32)
			                                 : text[i];
		}
		name_add_label(n, label, len);
		text += len + (text[len] == '.');
	}
}

/* The name with a byte no host name holds put into one of its labels. */
static void spoil_name(struct bytes *in, struct name *n)
{
	static const unsigned char bad[] = {' ', '.', 0,    0x80, 0xff, '\r',
	                                    '\n', '*', '\\', '@',  0x7f, 0x1b};
	size_t labels = 0;
	for (size_t at = 0; n->wire[at]; at += 1 + (size_t)n->wire[at])
		labels++;
	size_t pick = take(in, (unsigned)labels), at = 0;
	for (; pick > 0; pick--)
		at += 1 + (size_t)n->wire[at];
	size_t pos = at + 1 + take(in, n->wire[at] + 1u);
	memmove(n->wire + pos + 1, n->wire + pos, n->len - pos);
	n->wire[pos] = bad[take(in, sizeof bad)];
	n->wire[at]++;
	n->len++;
	n->text[0] = '\0'; /* never expected back */
}

/* What a record of the asked type must parse to. */
struct expect {
	uint32_t ttl;
	struct name name;
	uint16_t preference;
	unsigned char addr[16];
	size_t addr_len;
	unsigned char data[3 * 64 + 64];
	size_t data_len;
	uint8_t usage, selector, mtype;
};

enum item_kind {
	I_CNAME,        /* a link of the chain */
	I_VALID,        /* a record of the asked type at the chain's end */
	I_BROKEN,       /* one that breaks its type's rules there */
	I_OTHER_TYPE,   /* another type at a name of the chain */
	I_OTHER_OWNER,  /* the asked type at another name */
	I_OTHER_CLASS,  /* the asked type and name, class CH */
	I_OTHER_CHAIN,  /* a CNAME of another name */
};

struct item {
	enum item_kind kind;
	unsigned index; /* the chain link, the name, the expectation */
};

#define MAX_CHAIN (DNS_MAX_CNAME_CHAIN + 1)
#define MAX_RECORDS 8
#define MAX_ITEMS (MAX_CHAIN + 2 * MAX_RECORDS + 8)

struct plan {
	uint16_t qtype;
	struct name chain[MAX_CHAIN + 1]; /* chain[0] is the question's */
	unsigned links;
	struct item items[MAX_ITEMS];
	size_t item_count;
	struct expect valid[MAX_RECORDS];
	size_t valid_count;
	size_t broken_count;
};

static void put_random_rdata(struct message *m, struct bytes *in)
{
	for (unsigned i = take(in, 12); i > 0; i--)
		put8(m, take(in, 0));
}

/* Write a valid record of the asked type's rdata; fill want. */
static void put_valid_rdata(struct message *m, struct bytes *in,
                            uint16_t qtype, struct expect *want)
{
	switch (qtype) {
	case DNS_T_A:
	case DNS_T_AAAA:
		want->addr_len = qtype == DNS_T_A ? 4 : 16;
		for (size_t i = 0; i < want->addr_len; i++)
			put8(m, want->addr[i] = (unsigned char)take(in, 0));
		break;
	case DNS_T_MX:
		want->preference = (uint16_t)(take(in, 0) << 8 | take(in, 0));
		put16(m, want->preference);
		if (take(in, 8) == 0)
			name_root(&want->name);
		else
			make_name(in, "m", &want->name);
		put_name(m, &want->name);
		break;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		make_name(in, "t", &want->name);
		put_name(m, &want->name);
		break;
	case DNS_T_TXT:
		for (unsigned s = 1 + take(in, 3); s > 0; s--) {
			unsigned len = take(in, 65);
			put8(m, len);
			for (unsigned i = 0; i < len; i++)
				put8(m, want->data[want->data_len++] =
				                (unsigned char)take(in, 0));
		}
		break;
	case DNS_T_TLSA:
		put8(m, want->usage = (uint8_t)take(in, 0));
		put8(m, want->selector = (uint8_t)take(in, 0));
		put8(m, want->mtype = (uint8_t)take(in, 0));
		want->data_len = 1 + take(in, 64);
		for (size_t i = 0; i < want->data_len; i++)
			put8(m, want->data[i] = (unsigned char)take(in, 0));
		break;
	}
}

/* Write rdata of the asked type that breaks its rules. */
static void put_broken_rdata(struct message *m, struct bytes *in,
                             uint16_t qtype)
{
	struct name n;
	unsigned how = take(in, 3);
	switch (qtype) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		unsigned good = qtype == DNS_T_A ? 4 : 16;
		unsigned len = take(in, good + 4);
		for (len += len >= good; len > 0; len--)
			put8(m, take(in, 0));
		break;
	}
	case DNS_T_MX:
		if (how == 0) { /* too short for a preference and a name */
			for (unsigned i = take(in, 3); i > 0; i--)
				put8(m, take(in, 0));
			break;
		}
		put16(m, take(in, 0));
		/* fall through: a bad name, as for CNAME and PTR */
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (how == 1 && qtype != DNS_T_MX) {
			name_root(&n);
			put_name(m, &n);
		} else if (how == 2 && m->b.len < 0x4000) {
			/* a pointer to itself */
			put16(m, 0xc000 | (unsigned)m->b.len);
		} else if (how == 2) {
			/* nothing: the name would be read from the next
			 * record, and cannot end where the rdata does */
		} else {
			make_name(in, "b", &n);
			if (take(in, 2))
				spoil_name(in, &n);
			put_name(m, &n);
			if (n.text[0]) /* still valid: a byte after it */
				put8(m, take(in, 0));
		}
		break;
	case DNS_T_TXT:
		if (how > 0) { /* a string longer than what is left */
			unsigned have = take(in, 20);
			put8(m, have + 1 + take(in, 200));
			for (; have > 0; have--)
				put8(m, take(in, 0));
		}
		break;
	case DNS_T_TLSA:
		for (unsigned i = take(in, 4); i > 0; i--)
			put8(m, take(in, 0));
		break;
	}
}

static void put_rr_head(struct message *m, const struct name *owner,
                        uint16_t type, uint16_t rclass, uint32_t ttl)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, rclass);
	put32(m, ttl);
}

/* Write one item as a record. */
static void put_item(struct message *m, struct bytes *in, struct plan *p,
                     const struct item *it)
{
	static const uint16_t others[] = {DNS_T_A,   DNS_T_MX,   DNS_T_TXT,
	                                  DNS_T_AAAA, DNS_T_TLSA, 99, 46};
	const struct name *end = &p->chain[p->links];
	struct name owner;
	uint16_t type = p->qtype, rclass = 1;
	uint32_t ttl = take32(in);
	switch (it->kind) {
	case I_CNAME:
		put_rr_head(m, &p->chain[it->index], DNS_T_CNAME, 1, ttl);
		break;
	case I_VALID:
		p->valid[it->index].ttl = ttl > INT32_MAX ? 0 : ttl;
		/* fall through */
	case I_BROKEN:
		put_rr_head(m, end, p->qtype, 1, ttl);
		break;
	case I_OTHER_TYPE:
		type = others[take(in, sizeof others / sizeof *others)];
		if (type == p->qtype)
			type = 99; /* a type outside enum dns_type */
		put_rr_head(m, &p->chain[it->index], type, 1, ttl);
		break;
	case I_OTHER_OWNER:
		make_name(in, "o", &owner);
		put_rr_head(m, &owner, p->qtype, 1, ttl);
		break;
	case I_OTHER_CLASS:
		rclass = take(in, 2) ? 3 : 254;
		put_rr_head(m, end, p->qtype, rclass, ttl);
		break;
	case I_OTHER_CHAIN:
		make_name(in, "z", &owner);
		put_rr_head(m, &owner, DNS_T_CNAME, 1, ttl);
		break;
	}
	size_t length_at = m->b.len;
	put16(m, 0);
	if (it->kind == I_CNAME) {
		put_name(m, &p->chain[it->index + 1]);
	} else if (it->kind == I_VALID) {
		put_valid_rdata(m, in, p->qtype, &p->valid[it->index]);
	} else if (it->kind == I_BROKEN) {
		put_broken_rdata(m, in, p->qtype);
	} else if (it->kind == I_OTHER_CHAIN) {
		make_name(in, "y", &owner);
		put_name(m, &owner);
	} else {
		put_random_rdata(m, in);
	}
	size_t rdlen = m->b.len - length_at - 2;
	m->b.data[length_at] = (char)(rdlen >> 8);
	m->b.data[length_at + 1] = (char)(rdlen & 0xff);
}

static void add_item(struct plan *p, enum item_kind kind, unsigned index)
{
	if (p->item_count < MAX_ITEMS)
		p->items[p->item_count++] = (struct item){kind, index};
}

/* Decide the answer section's records, then shuffle them. */
static void plan_answer(struct bytes *in, struct plan *p)
{
	for (unsigned i = 0; i < p->links; i++) {
		char tag[8];
		snprintf(tag, sizeof tag, "c%u-", i);
		make_name(in, tag, &p->chain[i + 1]);
		add_item(p, I_CNAME, i);
	}
	for (unsigned i = take(in, MAX_RECORDS + 1); i > 0; i--) {
		if (take(in, 4) == 0) {
			add_item(p, I_BROKEN, 0);
			p->broken_count++;
		} else {
			add_item(p, I_VALID, (unsigned)p->valid_count++);
		}
	}
	for (unsigned i = take(in, 6); i > 0; i--)
		add_item(p, (enum item_kind)(I_OTHER_TYPE + take(in, 4)),
		         take(in, p->links + 1));
	for (size_t i = p->item_count; i > 1; i--) {
		size_t k = take(in, (unsigned)i);
		struct item t = p->items[i - 1];
		p->items[i - 1] = p->items[k];
		p->items[k] = t;
	}
	/* the expectations in the order the records will be written */
	unsigned next = 0;
	for (size_t i = 0; i < p->item_count; i++)
		if (p->items[i].kind == I_VALID)
			p->items[i].index = next++;
}

/* The result a plan must parse to. */
static void check_built(const struct plan *p, int rcode, bool question,
                        bool ad, int rc, const struct dns_result *r,
                        const struct err *e)
{
	if (rcode != 0 && rcode != 3) {
		bool refused = rcode == 1 || rcode == 4 || rcode == 5;
		if (rc != (refused ? EX_UNAVAILABLE : EX_TEMPFAIL) ||
		    r->rcode != rcode)
			abort();
		return;
	}
	if (!question || p->links > DNS_MAX_CNAME_CHAIN) {
		if (rc != EX_TEMPFAIL)
			abort();
		return;
	}
	const char *canonical = p->chain[p->links].text;
	if (rc != EX_OK || r->rcode != rcode || r->authenticated != ad ||
	    strcmp(r->canonical, canonical) != 0 || e->code != EX_OK)
		abort();
	if (rcode == 3) {
		if (r->status != DNS_NXDOMAIN || r->count || r->skipped)
			abort();
		return;
	}
	if (r->status != (p->valid_count ? DNS_FOUND : DNS_NODATA) ||
	    r->count != p->valid_count || r->skipped != p->broken_count)
		abort();
	for (size_t i = 0; i < r->count; i++) {
		const struct dns_record *got = &r->records[i];
		const struct expect *want = &p->valid[i];
		if (got->ttl != want->ttl || got->addr_len != want->addr_len ||
		    memcmp(got->addr, want->addr, want->addr_len) != 0 ||
		    got->data_len != want->data_len ||
		    (want->data_len &&
		     memcmp(got->data, want->data, want->data_len) != 0))
			abort();
		if (got->name && strcmp(got->name, want->name.text) != 0)
			abort();
		if (p->qtype == DNS_T_MX &&
		    got->preference != want->preference)
			abort();
		if (p->qtype == DNS_T_TLSA &&
		    (got->tlsa_usage != want->usage ||
		     got->tlsa_selector != want->selector ||
		     got->tlsa_mtype != want->mtype))
			abort();
	}
}

/* The built reply, changed so it is no longer usable. */
static void check_unusable(struct message *m, struct bytes *in,
                           const char *qname, uint16_t qtype, bool question)
{
	struct dns_result r;
	struct err e = ERR_INIT;
	const unsigned char *b = (const unsigned char *)m->b.data;
	size_t len = m->b.len;
	size_t cuts[2] = {len - 1, take(in, 0) * (size_t)len / 256};
	for (int i = 0; i < 2; i++) {
		if (dns_parse_reply(b, cuts[i], qname, qtype, &r, &e) !=
		    EX_TEMPFAIL)
			abort();
		dns_result_free(&r);
	}
	buf_add_char(&m->b, (char)take(in, 0));
	if (dns_parse_reply((const unsigned char *)m->b.data, m->b.len, qname,
	                    qtype, &r, &e) != EX_TEMPFAIL)
		abort();
	dns_result_free(&r);
	m->b.len--;
	static const struct {
		int byte;
		unsigned char bits;
	} flips[] = {{2, F_TC >> 8}, {2, F_QR >> 8}};
	for (int i = 0; i < 2; i++) {
		m->b.data[flips[i].byte] ^= (char)flips[i].bits;
		if (dns_parse_reply((const unsigned char *)m->b.data, m->b.len,
		                    qname, qtype, &r, &e) != EX_TEMPFAIL)
			abort();
		dns_result_free(&r);
		m->b.data[flips[i].byte] ^= (char)flips[i].bits;
	}
	if (question &&
	    dns_parse_reply((const unsigned char *)m->b.data, m->b.len,
	                    "another.example", qtype, &r, &e) != EX_TEMPFAIL)
		abort();
	dns_result_free(&r);
	err_clear(&e);
}

static void fuzz_built(struct bytes in, const char *qname, const char *lower,
                       uint16_t qtype)
{
	static const int rcodes[] = {0, 0, 0, 0, 0, 3, 3, 1, 2, 4, 5, 6, 9, 15};
	struct plan *p = calloc(1, sizeof *p);
	struct message *m = calloc(1, sizeof *m);
	if (!p || !m)
		abort();
	p->qtype = qtype;
	int rcode = rcodes[take(&in, sizeof rcodes / sizeof *rcodes)];
	bool question = rcode == 0 || rcode == 3 || take(&in, 2);
	bool ad = take(&in, 2);
	m->compress = take(&in, 2);
	name_from_text(lower, &in, &p->chain[0]);
	/* mostly short chains, sometimes up to one link too many */
	p->links = take(&in, 4) == 0 ? take(&in, MAX_CHAIN + 1) : take(&in, 3);
	if (qtype == DNS_T_CNAME)
		p->links = 0;
	plan_answer(&in, p);
	bool opt = take(&in, 2);
	unsigned authority = take(&in, 3), additional = take(&in, 3);

	unsigned flags = F_QR | (take(&in, 2) ? 0x0180 : 0) |
	                 (take(&in, 2) ? 0x0400 : 0) | (ad ? F_AD : 0) |
	                 (unsigned)rcode;
	put16(m, take(&in, 0) << 8 | take(&in, 0));
	put16(m, flags);
	put16(m, question);
	put16(m, (unsigned)p->item_count);
	put16(m, authority);
	put16(m, additional + opt);
	if (question) {
		put_name(m, &p->chain[0]);
		put16(m, qtype);
		put16(m, 1);
	}
	for (size_t i = 0; i < p->item_count; i++)
		put_item(m, &in, p, &p->items[i]);
	struct item other = {I_OTHER_OWNER, 0};
	for (unsigned i = 0; i < authority + additional; i++) {
		/* the asked type at the chain's end, outside the answers */
		other.kind = take(&in, 2) ? I_OTHER_OWNER : I_OTHER_CLASS;
		put_item(m, &in, p, &other);
	}
	if (opt) {
		struct name root;
		name_root(&root);
		put_rr_head(m, &root, 41, 1232, take(&in, 2) ? 0x8000 : 0);
		put16(m, 0);
	}
	if (m->b.len <= DNS_MAX_MESSAGE) {
		struct dns_result r;
		struct err e = ERR_INIT;
		const unsigned char *b = (const unsigned char *)m->b.data;
		int rc = dns_parse_reply(b, m->b.len, qname, qtype, &r, &e);
		check_contract(b, m->b.len, lower, qtype, rc, &r, &e);
		check_built(p, rcode, question, ad, rc, &r, &e);
		dns_result_free(&r);
		err_clear(&e);
		check_unusable(m, &in, qname, qtype, question);
	}
	buf_free(&m->b);
	free(m);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint16_t qtype = types[data[1] % TYPE_COUNT];
	const char *qname = asked[data[2] % NAME_COUNT][0];
	const char *lower = asked[data[2] % NAME_COUNT][1];
	if (data[0] % 2 == 0)
		fuzz_raw(data + 3, size - 3, qname, lower, qtype);
	else
		fuzz_built((struct bytes){data + 3, size - 3}, qname, lower,
		           qtype);
	return 0;
}
