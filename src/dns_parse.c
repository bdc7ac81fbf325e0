/* dns_parse.c - DNS replies to one question; see dns_parse.h. */
#include "dns_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sanitize.h"
#include "util.h"

/* RFC 1035 4.1.1: the header's second 16-bit word. */
#define FLAG_QR     0x8000
#define OPCODE_MASK 0x7800
#define FLAG_TC     0x0200
#define FLAG_AD     0x0020 /* RFC 4035 3.2.3 */
#define RCODE_MASK  0x000f

#define RCODE_NOERROR  0
#define RCODE_FORMERR  1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP   4
#define RCODE_REFUSED  5

#define CLASS_IN       1
#define TYPE_OPT       41   /* RFC 6891 6.1.2 */
#define RR_FIXED_SIZE  10   /* type, class, TTL, RDLENGTH (RFC 1035 4.1.3) */
#define QUESTION_FIXED 4    /* QTYPE, QCLASS (4.1.2) */
#define POINTER_BITS   0xc0 /* 4.1.4: a label starting 11 is a pointer */
#define TLSA_FIXED     3    /* usage, selector, matching type (RFC 6698 2.1) */

/* A limit's value in a constant sentence. */
#define TEXT_OF_(x) #x
#define TEXT_OF(x)  TEXT_OF_(x)

/* A name in wire form without compression, ASCII letters in lower case,
 * ending with the root's zero octet: two names are the same exactly when
 * their wire forms are (RFC 4343: case-insensitive for ASCII only). The
 * array is the protocol's limit, which read_name enforces. */
struct name {
	unsigned char wire[DNS_MAX_NAME_WIRE];
	size_t len;
};

/* One resource record of the answer section, its rdata left in place. */
struct rr {
	struct name owner;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	size_t rdata; /* offset in the message */
	size_t rdlen;
};

/* The reply being judged. */
struct parse {
	const unsigned char *msg;
	size_t len;
	size_t at;
	uint16_t qtype;
	struct name want;
	const char *shown; /* the question's name for messages (ours) */
	uint16_t flags;
	size_t counts[4]; /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
	struct rr *answers;
	size_t answer_count;
	int rcode;
	const char *why; /* what makes it unusable, a constant sentence part */
};

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
    {DNS_T_A, "A"},       {DNS_T_CNAME, "CNAME"}, {DNS_T_PTR, "PTR"},
    {DNS_T_MX, "MX"},     {DNS_T_TXT, "TXT"},     {DNS_T_AAAA, "AAAA"},
    {DNS_T_TLSA, "TLSA"},
};

bool dns_type_supported(uint16_t type)
{
	for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
		if (type_names[i].type == type)
			return true;
	return false;
}

const char *dns_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return "unknown";
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* What a host name's label may hold (after lowering): RFC 952/1123 LDH,
 * and '_' for the service labels of TLSA names (RFC 6698 3). */
static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* ---- names --------------------------------------------------------------- */

/* Text (one trailing dot allowed) to wire form; false when it is not a
 * host name by dns_host_name_valid's rules. */
static bool name_from_text(const char *text, struct name *out)
{
	size_t len = strlen(text);
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_MAX_HOST_NAME)
		return false;
	out->len = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '.') {
			if (!host_char(ascii_lower((unsigned char)text[i])))
				return false;
			continue;
		}
		size_t label = i - start;
		if (label == 0 || label > DNS_MAX_LABEL)
			return false;
		out->wire[out->len++] = (unsigned char)label;
		for (size_t k = start; k < i; k++)
			out->wire[out->len++] =
			    ascii_lower((unsigned char)text[k]);
		start = i + 1;
	}
	out->wire[out->len++] = 0;
	return true;
}

bool dns_host_name_valid(const char *name)
{
	struct name n;
	return name_from_text(name, &n);
}

/* The text of a name (heap), or NULL when a label holds a byte that is not
 * a host name's; the root is "" when allow_root, NULL otherwise. Labels
 * are never empty in wire form, and 255 octets make at most 253 bytes of
 * text, so the result is a valid host name. */
static char *name_to_host(const struct name *n, bool allow_root)
{
	if (n->len == 1)
		return allow_root ? xstrdup("") : NULL;
	char *text = xmalloc(n->len);
	size_t out = 0;
	for (size_t i = 0; n->wire[i] != 0; i += 1 + n->wire[i]) {
		if (out > 0)
			text[out++] = '.';
		for (size_t k = 1; k <= n->wire[i]; k++) {
			if (!host_char(n->wire[i + k])) {
				free(text);
				return NULL;
			}
			text[out++] = (char)n->wire[i + k];
		}
	}
	text[out] = '\0';
	return text;
}

static bool name_equal(const struct name *a, const struct name *b)
{
	return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/* Decode the name at *at (RFC 1035 4.1.4) and move *at past it (past the
 * first pointer when there is one). A pointer must point before the start
 * of the run of labels it ends, and past the header: each jump goes
 * strictly backwards, so no loop is possible and every name is read in at
 * most len steps. */
static bool read_name(const unsigned char *msg, size_t len, size_t *at,
                      struct name *out, const char **why)
{
	size_t p = *at, run = *at, end = 0;
	bool jumped = false;
	out->len = 0;
	for (;;) {
		if (p >= len) {
			*why = "has a name that runs past its end";
			return false;
		}
		unsigned char c = msg[p];
		if ((c & POINTER_BITS) == POINTER_BITS) {
			if (p + 1 >= len) {
				*why = "has a name that runs past its end";
				return false;
			}
			size_t target =
			    (size_t)(c & ~POINTER_BITS) << 8 | msg[p + 1];
			if (target < DNS_HEADER_SIZE || target >= run) {
				*why = "has a compression pointer that does "
				       "not point back to an earlier name";
				return false;
			}
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = run = target;
			continue;
		}
		if (c & POINTER_BITS) {
			*why = "has a label of an unknown type";
			return false;
		}
		/* room for this label and the root's octet after it */
		if (c > 0 && out->len + 1 + c + 1 > DNS_MAX_NAME_WIRE) {
			*why = "has a name longer than 255 bytes";
			return false;
		}
		if (len - p - 1 < c) {
			*why = "has a name that runs past its end";
			return false;
		}
		out->wire[out->len++] = c;
		for (size_t k = 1; k <= c; k++)
			out->wire[out->len++] = ascii_lower(msg[p + k]);
		if (c == 0) {
			*at = jumped ? end : p + 1;
			return true;
		}
		p += 1 + (size_t)c;
	}
}

/* ---- the message's structure --------------------------------------------- */

static bool read_header(struct parse *p)
{
	if (p->len < DNS_HEADER_SIZE) {
		p->why = "is shorter than a DNS header";
		return false;
	}
	p->flags = get16(p->msg + 2);
	for (int i = 0; i < 4; i++)
		p->counts[i] = get16(p->msg + 4 + 2 * i);
	p->at = DNS_HEADER_SIZE;
	p->rcode = p->flags & RCODE_MASK;
	if (!(p->flags & FLAG_QR)) {
		p->why = "is not a reply (QR is not set)";
		return false;
	}
	if (p->flags & OPCODE_MASK) {
		p->why = "is not a reply to a standard query (opcode)";
		return false;
	}
	if (p->flags & FLAG_TC) {
		p->why = "was truncated (TC)";
		return false;
	}
	return true;
}

static bool is_error_rcode(int rcode)
{
	return rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN;
}

static bool read_question(struct parse *p)
{
	if (p->counts[0] == 0 && is_error_rcode(p->rcode))
		return true;
	if (p->counts[0] != 1) {
		p->why = "does not hold exactly one question";
		return false;
	}
	struct name qname;
	if (!read_name(p->msg, p->len, &p->at, &qname, &p->why))
		return false;
	if (p->len - p->at < QUESTION_FIXED) {
		p->why = "has a question that runs past its end";
		return false;
	}
	uint16_t qtype = get16(p->msg + p->at);
	uint16_t qclass = get16(p->msg + p->at + 2);
	p->at += QUESTION_FIXED;
	if (!name_equal(&qname, &p->want) || qtype != p->qtype ||
	    qclass != CLASS_IN) {
		p->why = "answers another question";
		return false;
	}
	return true;
}

static bool read_rr(struct parse *p, struct rr *rr)
{
	if (!read_name(p->msg, p->len, &p->at, &rr->owner, &p->why))
		return false;
	if (p->len - p->at < RR_FIXED_SIZE) {
		p->why = "has a record that runs past its end";
		return false;
	}
	const unsigned char *f = p->msg + p->at;
	rr->type = get16(f);
	rr->rclass = get16(f + 2);
	rr->ttl = get32(f + 4);
	rr->rdlen = get16(f + 8);
	p->at += RR_FIXED_SIZE;
	if (p->len - p->at < rr->rdlen) {
		p->why = "has record data that runs past its end";
		return false;
	}
	rr->rdata = p->at;
	p->at += rr->rdlen;
	return true;
}

/* RFC 6891 6.1.1: at most one OPT record, owned by the root; its TTL
 * field carries the upper 8 bits of the extended RCODE (6.1.3). */
static bool note_opt(struct parse *p, const struct rr *rr, bool *seen)
{
	if (*seen || rr->owner.len != 1) {
		p->why = "has a malformed OPT record";
		return false;
	}
	*seen = true;
	p->rcode |= (int)(rr->ttl >> 24) << 4;
	return true;
}

/* Every record of the three sections: answers kept, the authority section
 * checked for its structure only, OPT noted from the additional one. Each
 * record takes at least 11 octets, which bounds the answers array by the
 * message's size. */
static bool read_sections(struct parse *p)
{
	size_t left = p->len - p->at;
	if (p->counts[1] > left / (1 + RR_FIXED_SIZE)) {
		p->why = "has more records than it has room for";
		return false;
	}
	p->answers =
	    xcalloc(p->counts[1] ? p->counts[1] : 1, sizeof *p->answers);
	for (; p->answer_count < p->counts[1]; p->answer_count++)
		if (!read_rr(p, &p->answers[p->answer_count]))
			return false;
	struct rr rr;
	for (size_t i = 0; i < p->counts[2]; i++)
		if (!read_rr(p, &rr))
			return false;
	bool opt = false;
	for (size_t i = 0; i < p->counts[3]; i++) {
		if (!read_rr(p, &rr))
			return false;
		if (rr.type == TYPE_OPT && !note_opt(p, &rr, &opt))
			return false;
	}
	if (p->at != p->len) {
		p->why = "has bytes after its last record";
		return false;
	}
	return true;
}

/* ---- records ------------------------------------------------------------- */

/* The name in an rdata at offset skip, ending exactly where the rdata
 * does, as a host name (or the root when allow_root). */
static char *rdata_host(const struct parse *p, const struct rr *rr, size_t skip,
                        bool allow_root)
{
	size_t at = rr->rdata + skip;
	struct name n;
	const char *why;
	if (!read_name(p->msg, p->len, &at, &n, &why) ||
	    at != rr->rdata + rr->rdlen)
		return NULL;
	return name_to_host(&n, allow_root);
}

static unsigned char *copy_data(const unsigned char *d, size_t len)
{
	unsigned char *copy = xmalloc(len + 1);
	memcpy(copy, d, len);
	copy[len] = '\0';
	return copy;
}

/* RFC 1035 3.3.14: one or more <character-string>s filling the rdata;
 * concatenated as RFC 7208 3.3 and RFC 8461 3.1 read them. */
static bool decode_txt(const unsigned char *d, size_t len,
                       struct dns_record *rec)
{
	if (len == 0)
		return false;
	size_t total = 0;
	for (size_t i = 0; i < len; i += 1 + (size_t)d[i]) {
		if (len - i - 1 < d[i])
			return false;
		total += d[i];
	}
	rec->data = xmalloc(total + 1);
	for (size_t i = 0; i < len; i += 1 + (size_t)d[i]) {
		memcpy(rec->data + rec->data_len, d + i + 1, d[i]);
		rec->data_len += d[i];
	}
	rec->data[rec->data_len] = '\0';
	return true;
}

/* Fill rec from rr by its type's rules; false when it breaks them (rec may
 * then hold allocations: the caller frees them). */
static bool decode_record(const struct parse *p, const struct rr *rr,
                          struct dns_record *rec)
{
	const unsigned char *d = p->msg + rr->rdata;
	rec->type = rr->type;
	rec->ttl = rr->ttl > INT32_MAX ? 0 : rr->ttl;
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (rr->rdlen != (rr->type == DNS_T_A ? 4u : 16u))
			return false;
		memcpy(rec->addr, d, rr->rdlen);
		rec->addr_len = rr->rdlen;
		return true;
	case DNS_T_MX:
		if (rr->rdlen < 3)
			return false;
		rec->preference = get16(d);
		rec->name = rdata_host(p, rr, 2, true);
		return rec->name != NULL;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		rec->name = rdata_host(p, rr, 0, false);
		return rec->name != NULL;
	case DNS_T_TXT:
		return decode_txt(d, rr->rdlen, rec);
	case DNS_T_TLSA:
		if (rr->rdlen <= TLSA_FIXED)
			return false;
		rec->tlsa_usage = d[0];
		rec->tlsa_selector = d[1];
		rec->tlsa_mtype = d[2];
		rec->data_len = rr->rdlen - TLSA_FIXED;
		rec->data = copy_data(d + TLSA_FIXED, rec->data_len);
		return true;
	}
	return false;
}

static void record_free(struct dns_record *rec)
{
	free(rec->name);
	free(rec->data);
	*rec = (struct dns_record){0};
}

static bool owned_by(const struct rr *rr, const struct name *owner)
{
	return rr->rclass == CLASS_IN && name_equal(&rr->owner, owner);
}

/* Follow the CNAME chain from the question's name; *cur ends at the name
 * the records belong to. */
static bool follow_chain(struct parse *p, struct name *cur)
{
	*cur = p->want;
	if (p->qtype == DNS_T_CNAME)
		return true;
	for (size_t steps = 0;; steps++) {
		const struct rr *alias = NULL;
		bool has_data = false;
		for (size_t i = 0; i < p->answer_count; i++) {
			const struct rr *rr = &p->answers[i];
			if (!owned_by(rr, cur))
				continue;
			if (rr->type == DNS_T_CNAME && alias) {
				p->why = "has two CNAME records for one name";
				return false;
			}
			if (rr->type == DNS_T_CNAME)
				alias = rr;
			else if (rr->type == p->qtype)
				has_data = true;
		}
		if (!alias)
			return true;
		if (has_data) {
			p->why = "has a CNAME record next to other records "
			         "for one name (RFC 2181 10.1)";
			return false;
		}
		if (steps == DNS_MAX_CNAME_CHAIN) {
			p->why = "has a CNAME chain that is too long or loops";
			return false;
		}
		size_t at = alias->rdata;
		struct name next;
		if (!read_name(p->msg, p->len, &at, &next, &p->why) ||
		    at != alias->rdata + alias->rdlen) {
			p->why = "has a malformed CNAME record";
			return false;
		}
		*cur = next;
	}
}

static bool collect_records(struct parse *p, const struct name *owner,
                            struct dns_result *out)
{
	for (size_t i = 0; i < p->answer_count; i++) {
		const struct rr *rr = &p->answers[i];
		if (rr->type != p->qtype || !owned_by(rr, owner))
			continue;
		struct dns_record rec = {0};
		if (!decode_record(p, rr, &rec)) {
			record_free(&rec);
			out->skipped++;
			continue;
		}
		if (out->count == DNS_MAX_RECORDS) {
			record_free(&rec);
			p->why = "holds more than " TEXT_OF(
			    DNS_MAX_RECORDS) " records of the asked type";
			return false;
		}
		out->records = xrealloc(out->records, (out->count + 1) *
		                                          sizeof *out->records);
		out->records[out->count++] = rec;
	}
	return true;
}

/* ---- judging ------------------------------------------------------------- */

static int fail(struct parse *p, struct dns_result *out, struct err *e,
                int code, const char *reason)
{
	dns_result_free(out);
	out->status = code == EX_TEMPFAIL ? DNS_TEMPFAIL : DNS_REFUSED;
	out->rcode = p->rcode;
	return err_set(e, code, "DNS lookup of the %s records of %s failed: %s",
	               dns_type_name(p->qtype), p->shown, reason);
}

static int unusable(struct parse *p, struct dns_result *out, struct err *e)
{
	struct buf reason = BUF_INIT;
	buf_printf(&reason, "the reply %s; try again later", p->why);
	int rc = fail(p, out, e, EX_TEMPFAIL, buf_str(&reason));
	buf_free(&reason);
	return rc;
}

/* An RCODE other than NOERROR and NXDOMAIN. */
static int judge_error_rcode(struct parse *p, struct dns_result *out,
                             struct err *e)
{
	switch (p->rcode) {
	case RCODE_SERVFAIL:
		return fail(p, out, e, EX_TEMPFAIL,
		            "server failure (SERVFAIL); try again later");
	case RCODE_FORMERR:
		return fail(p, out, e, EX_UNAVAILABLE,
		            "the DNS server could not understand the query "
		            "(FORMERR)");
	case RCODE_NOTIMP:
		return fail(p, out, e, EX_UNAVAILABLE,
		            "the DNS server does not support this query "
		            "(NOTIMP)");
	case RCODE_REFUSED:
		return fail(p, out, e, EX_UNAVAILABLE,
		            "the DNS server refused to answer (REFUSED); check "
		            "the resolver configuration (/etc/resolv.conf)");
	}
	struct buf reason = BUF_INIT;
	buf_printf(&reason,
	           "the DNS server answered with the unexpected "
	           "response code %d; try again later",
	           p->rcode);
	int rc = fail(p, out, e, EX_TEMPFAIL, buf_str(&reason));
	buf_free(&reason);
	return rc;
}

static int judge(struct parse *p, struct dns_result *out, struct err *e)
{
	if (!read_header(p) || !read_question(p) || !read_sections(p))
		return unusable(p, out, e);
	out->rcode = p->rcode;
	out->authenticated = (p->flags & FLAG_AD) != 0;
	if (is_error_rcode(p->rcode))
		return judge_error_rcode(p, out, e);
	struct name owner;
	if (!follow_chain(p, &owner))
		return unusable(p, out, e);
	out->canonical = name_to_host(&owner, false);
	if (!out->canonical) {
		p->why = "has a CNAME chain that leads to a name that is not "
		         "a valid host name";
		return unusable(p, out, e);
	}
	if (p->rcode == RCODE_NXDOMAIN) {
		out->status = DNS_NXDOMAIN;
		return EX_OK;
	}
	if (!collect_records(p, &owner, out))
		return unusable(p, out, e);
	out->status = out->count > 0 ? DNS_FOUND : DNS_NODATA;
	return EX_OK;
}

int dns_question_check(const char *qname, uint16_t qtype, struct err *e)
{
	if (!dns_type_supported(qtype))
		return err_set(e, EX_SOFTWARE,
		               "DNS lookup of records of type %u is not "
		               "supported",
		               qtype);
	if (dns_host_name_valid(qname))
		return EX_OK;
	struct buf shown = BUF_INIT;
	sanitize_append(&shown, qname, strlen(qname));
	err_set(e, EX_DATAERR,
	        "DNS lookup of the %s records of '%s' is impossible: it is "
	        "not a valid host name",
	        dns_type_name(qtype), buf_str(&shown));
	buf_free(&shown);
	return EX_DATAERR;
}

int dns_parse_reply(const unsigned char *msg, size_t len, const char *qname,
                    uint16_t qtype, struct dns_result *out, struct err *e)
{
	*out = (struct dns_result){.status = DNS_REFUSED, .rcode = -1};
	int rc = dns_question_check(qname, qtype, e);
	if (rc != EX_OK)
		return rc;
	struct parse p = {.msg = msg, .len = len, .qtype = qtype, .rcode = -1};
	name_from_text(qname, &p.want);
	char *shown = name_to_host(&p.want, false);
	p.shown = shown;
	rc = judge(&p, out, e);
	free(shown);
	free(p.answers);
	return rc;
}

void dns_result_free(struct dns_result *r)
{
	for (size_t i = 0; i < r->count; i++)
		record_free(&r->records[i]);
	free(r->records);
	free(r->canonical);
	*r = (struct dns_result){.status = DNS_REFUSED, .rcode = -1};
}

/* ---- reverse names ------------------------------------------------------- */

char *dns_reverse_name(const unsigned char *addr, size_t len)
{
	struct buf name = BUF_INIT;
	if (len == 4) {
		buf_printf(&name, "%u.%u.%u.%u.in-addr.arpa", addr[3], addr[2],
		           addr[1], addr[0]);
	} else if (len == 16) {
		static const char hex[] = "0123456789abcdef";
		for (size_t i = len; i-- > 0;)
			buf_printf(&name, "%c.%c.", hex[addr[i] & 15],
			           hex[addr[i] >> 4]);
		buf_add_str(&name, "ip6.arpa");
	} else {
		return NULL;
	}
	return buf_steal(&name);
}
