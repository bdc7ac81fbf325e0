/* dns_parse.h - the pure half of the DNS layer (dns.h): one whole DNS reply
 * (RFC 1035 4.1) to one question, judged and turned into records. No I/O,
 * so every rule is covered by table-driven tests (tests/unit/test_dns.c)
 * and a fuzz target that also rebuilds replies (tests/fuzz/fuzz_dns.c).
 *
 * Replies come from the network, so the parser is strict and the records it
 * returns are safe to use as they are: every host name it hands out (an MX
 * exchange, a CNAME or PTR target, the canonical name) is an LDH host name
 * in lower case, never a byte from the reply that could end up in an SMTP
 * command, a file name or a log line otherwise. Messages never quote a byte
 * of the reply either: only the question (ours) and constant sentences.
 *
 * Names are decompressed here, not with libc's dn_expand: dn_expand accepts
 * any pointer that stays inside the message (forward ones too, loops being
 * cut by a counter) and turns odd bytes into \DDD escapes; its text form
 * would have to be parsed again. Our decoder works on the wire form, so a
 * label holding a '.' can never pass for two labels. */
#ifndef OUTBOX_DNS_PARSE_H
#define OUTBOX_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
};

enum dns_status {
	DNS_FOUND,    /* records of the asked type (maybe after CNAMEs) */
	DNS_NODATA,   /* the name exists, no record of that type */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_TEMPFAIL, /* SERVFAIL, timeout, no server answered, a reply that
	                 cannot be used: worth retrying */
	DNS_REFUSED,  /* REFUSED / NOTIMP / FORMERR: the server will not
	                 answer this */
};

#define DNS_HEADER_SIZE   12    /* RFC 1035 4.1.1 */
#define DNS_MAX_MESSAGE   65535 /* a TCP length field's range (4.2.2) */
#define DNS_MAX_NAME_WIRE 255   /* octets of a name on the wire (2.3.4) */
#define DNS_MAX_LABEL     63    /* octets of a label (2.3.4) */
#define DNS_MAX_HOST_NAME 253   /* a name's text, without a trailing dot */
/* Records of the asked type in one answer, at most: a reply with more is
 * not used at all (DNS_TEMPFAIL), because dropping some would change what
 * a caller decides (RFC 8461 3.1: exactly one STS TXT record; fewer TLSA
 * records). Real MX, TLSA and TXT sets are a handful. */
#define DNS_MAX_RECORDS 100
/* CNAME records followed from the question's name, at most; a longer
 * chain (or a loop) makes the reply unusable. The resolver has followed
 * the chain already and bounds it itself (BIND: 16 for years, 11 since
 * 9.18.29's max-query-restarts; Knot Resolver: 13; Unbound: 8 until a
 * real 9-link chain made it raise the limit), so ours is only there to
 * stop loops and must not refuse what a resolver returns: BIND's 16. */
#define DNS_MAX_CNAME_CHAIN 16

struct dns_record {
	uint16_t type;
	uint32_t ttl; /* RFC 2181 8: a value with the top bit set reads 0 */
	/* MX exchange, CNAME and PTR target: lower case, no trailing dot; ""
	 * for the root (only an MX exchange may be the root: the null MX
	 * "0 ." of RFC 7505); NULL for the other types */
	char *name;
	uint16_t preference;    /* MX */
	unsigned char addr[16]; /* A (4 bytes) or AAAA (16) */
	size_t addr_len;
	/* TXT: the record's character-strings concatenated (RFC 7208 3.3,
	 * RFC 8461 3.1), NUL-terminated for convenience but data_len counts
	 * (it may hold any byte, NUL included); TLSA: the certificate
	 * association data (at least one byte); NULL for the other types */
	unsigned char *data;
	size_t data_len;
	uint8_t tlsa_usage, tlsa_selector, tlsa_mtype; /* TLSA */
};

struct dns_result {
	enum dns_status status;
	bool authenticated; /* the reply's AD bit (RFC 4035 3.2.3), as the
	                       resolver passed it */
	int rcode;          /* RFC 6891 6.1.3: with an OPT record's upper
	                       bits; -1 when no reply was used */
	/* the name the records belong to after following the CNAME chain in
	 * the answer section (heap, lower case, no trailing dot); set for
	 * FOUND, NODATA and NXDOMAIN, NULL otherwise */
	char *canonical;
	struct dns_record *records; /* of the asked type only, in reply order */
	size_t count;
	/* records of the asked type owned by the canonical name that were
	 * dropped as unusable: a target name that is not a valid host name or
	 * is badly encoded, rdata of the wrong length for the type */
	size_t skipped;
};

/* The types dns_parse_reply and dns_lookup take: those of enum dns_type. */
bool dns_type_supported(uint16_t type);
/* "A", "MX", "TLSA"... for messages; "unknown" for another type. */
const char *dns_type_name(uint16_t type);

/* A host name as this layer takes it (and hands out): labels of ASCII
 * letters, digits, '-' and '_' joined by dots, none empty, none longer
 * than DNS_MAX_LABEL, at most DNS_MAX_HOST_NAME bytes, one trailing dot
 * allowed. Not the root, not an IDN in UTF-8 (its xn-- form is fine). */
bool dns_host_name_valid(const char *name);

/* Whether (qname, qtype) can be asked: qname by dns_host_name_valid's
 * rules, qtype by dns_type_supported. EX_OK; EX_DATAERR for the name (the
 * sentence shows it sanitized), EX_SOFTWARE for the type. Pure. */
int dns_question_check(const char *qname, uint16_t qtype, struct err *e);

/* Parse a whole DNS reply to the question (qname, qtype, class IN) and
 * judge it. Pure. The rules:
 *  - header: QR set, opcode QUERY; TC set makes the reply unusable (the
 *    transport retries over TCP; a truncated reply that still arrives
 *    cannot be used);
 *  - question: exactly one, equal to (qname, qtype, IN) ignoring ASCII
 *    case; an error reply (RCODE other than 0 and 3) may carry none;
 *  - every record of every section: owner and rdata inside the message,
 *    and the message ends where the last record does; at most one OPT
 *    record (RFC 6891 6.1.1), in the additional section, owned by the root;
 *  - names (RFC 1035 4.1.4): compression pointers only backwards (each
 *    one before the start of the run of labels that holds it, never into
 *    the header), labels of length 0..63 (no RFC 6891 extended label
 *    types), at most 255 octets;
 *  - RCODE: 0 -> FOUND when records of the asked type are left, NODATA
 *    otherwise; 3 -> NXDOMAIN; 2 (SERVFAIL) -> TEMPFAIL; 1 (FORMERR),
 *    4 (NOTIMP), 5 (REFUSED) -> REFUSED; any other -> TEMPFAIL;
 *  - CNAMEs in the answer section are followed from qname (at most
 *    DNS_MAX_CNAME_CHAIN; none when qtype is CNAME); two CNAMEs for one
 *    name, a CNAME next to records of the asked type (RFC 2181 10.1), a
 *    longer chain, a loop, a malformed CNAME or one leading to a name
 *    that is not a host name make the reply unusable;
 *  - only records of the asked type and class IN owned by the chain's
 *    last name are used; everything else is ignored. Each must follow its
 *    type's rules (A: 4 bytes; AAAA: 16; MX: a preference and a name
 *    ending exactly at the end of the rdata, a host name or the root;
 *    CNAME, PTR: a host name ending exactly there; TXT: one or more
 *    character-strings exactly filling the rdata; TLSA: usage, selector,
 *    matching type and at least one byte of data) or is skipped and
 *    counted in out->skipped, never returned; more than DNS_MAX_RECORDS
 *    of them make the reply unusable.
 * Returns EX_OK for FOUND, NODATA and NXDOMAIN; EX_TEMPFAIL (status
 * DNS_TEMPFAIL) for SERVFAIL, another RCODE and an unusable reply;
 * EX_UNAVAILABLE (DNS_REFUSED) for FORMERR, NOTIMP and REFUSED; EX_DATAERR
 * or EX_SOFTWARE as dns_question_check says (status DNS_REFUSED). e gets one
 * sentence for every code but EX_OK, e.g. "DNS lookup of the MX records of
 * example.org failed: server failure (SERVFAIL); try again later". out is
 * always filled (release it with dns_result_free); records and canonical only
 * with EX_OK. */
int dns_parse_reply(const unsigned char *msg, size_t len, const char *qname,
                    uint16_t qtype, struct dns_result *out, struct err *e);
/* Free everything in r and leave it empty (status DNS_REFUSED, rcode
 * -1); twice is fine. */
void dns_result_free(struct dns_result *r);

/* The reverse-lookup name of an address (RFC 1035 3.5, RFC 3596 2.5):
 * "4.3.2.1.in-addr.arpa" for 1.2.3.4 (len 4), the nibble ip6.arpa name
 * for an IPv6 address (len 16); heap, NULL for any other length. */
char *dns_reverse_name(const unsigned char *addr, size_t len);

#endif
