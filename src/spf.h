/* spf.h - Sender Policy Framework (RFC 7208) for outbox --check: which TXT
 * records are SPF records, the record grammar, macro expansion, and a
 * walk over a domain's whole SPF tree (its record, then every include:
 * and redirect= target) that tells a doctor what a receiver will make of
 * it: the number of DNS-querying terms against the limit of 10, void
 * lookups, loops, the "all" at the end, the includes met, and optionally
 * check_host()'s result for one client address.
 *
 * Two halves: spf.c is pure (spf_is_record, spf_parse, the formatting,
 * macros and the table of known providers); spf_eval.c walks and evaluates
 * through a lookup callback of dns_lookup's shape, so tests and the fuzzer
 * serve it a zone from a table (tests/unit/test_spf.c,
 * tests/fuzz/fuzz_spf.c) and outbox passes a wrapper around dns_lookup.
 *
 * Strictness: the parser follows RFC 7208 12's ABNF where receivers
 * answer permerror for a record that breaks it (pyspf and libspf2 do):
 * terms separated by spaces only, visible ASCII, mechanism and modifier
 * names in any case, CIDR lengths without leading zeros and in range,
 * IPv4 addresses in dotted-quad form, a domain-spec ending in "." and a
 * top label or in a macro, the macro letters c, r and t only in
 * explanation text (7.1), redirect= and exp= at most once each (6).
 * Unknown modifiers are kept and otherwise ignored (6); an unknown
 * mechanism is an error (5). */
#ifndef OUTBOX_SPF_H
#define OUTBOX_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dns_parse.h"
#include "err.h"

/* RFC 7208 4.6.4: DNS-querying terms (include, a, mx, ptr, exists,
 * redirect) over one whole evaluation; the next one is a permerror. */
#define SPF_MAX_LOOKUPS 10
/* RFC 7208 4.6.4: terms whose lookup found nothing (NODATA, NXDOMAIN)
 * "SHOULD" be limited to two; the next one is a permerror. */
#define SPF_MAX_VOID_LOOKUPS 2
/* RFC 7208 4.6.4: host names of one mx term whose addresses are looked up
 * (more is a permerror), and of one ptr term (the rest are ignored). */
#define SPF_MAX_MX_NAMES  10
#define SPF_MAX_PTR_NAMES 10
/* The longest record parsed. RFC 7208 3.4 asks for records that fit in a
 * 512-byte DNS reply (about 450 bytes); receivers read longer ones (over
 * TCP), so the limit is generous: a record past it is refused, never cut. */
#define SPF_MAX_RECORD 4096
/* The number of terms in one record, at most (a 4096-byte record of
 * "ip4:a.b.c.d" terms has about 340). */
#define SPF_MAX_TERMS 512
/* RFC 7208 4.3 and 7.3: a domain name's text. */
#define SPF_MAX_DOMAIN 253
/* How far the walk goes on counting past SPF_MAX_LOOKUPS, to tell how many
 * lookups the tree needs (a receiver stops at the 11th); and how deep
 * include:/redirect= may nest in it (a receiver's own bound is the
 * lookup limit, each level costing one). */
#define SPF_MAX_TREE_LOOKUPS 100
#define SPF_MAX_DEPTH        (SPF_MAX_LOOKUPS + 2)
/* Bytes of a bad term quoted in a message (then "..."). */
#define SPF_MAX_QUOTE 64
/* RFC 7208 3.4: "keep the size of the SPF record small", "about 450
 * octets" fit the 512 bytes of a DNS reply over UDP; for the doctor. */
#define SPF_RECOMMENDED_RECORD 450

/* ---- the record ---------------------------------------------------------- */

enum spf_qualifier {
	SPF_PASS = '+',
	SPF_FAIL = '-',
	SPF_SOFTFAIL = '~',
	SPF_NEUTRAL = '?',
};

enum spf_mech_type {
	SPF_ALL,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS,
};

struct spf_mech {
	enum spf_qualifier q; /* SPF_PASS when none was written */
	enum spf_mech_type type;
	/* include, exists (always), a, mx, ptr (NULL: the current domain):
	 * as written, macros unexpanded; NULL for the others */
	char *domain_spec;
	unsigned char addr[16]; /* ip4 (addr_len 4), ip6 (16); else 0 */
	size_t addr_len;
	/* prefix lengths: ip4 and a/mx's IPv4 one in cidr4 (0..32), ip6 and
	 * a/mx's IPv6 one in cidr6 (0..128); -1 when not written (the whole
	 * address) */
	int cidr4, cidr6;
};

/* A modifier this code does not know (RFC 7208 6: ignored), kept so that
 * a record formats back to what was parsed. */
struct spf_modifier {
	char *name;  /* as written */
	char *value; /* a macro-string, as written (may be empty) */
};

struct spf_record {
	struct spf_mech *mechs; /* in the order written */
	size_t count;
	char *redirect; /* redirect= domain-spec as written, or NULL */
	char *exp;      /* exp= domain-spec as written, or NULL */
	struct spf_modifier *unknown;
	size_t unknown_modifiers;
};

/* RFC 7208 4.5: is this TXT record (its strings concatenated) an SPF
 * record: "v=spf1" in any case, then the end or a space? "v=spf10" is
 * not. Pure. */
bool spf_is_record(const char *text, size_t len);

/* RFC 7208 4.6 and 12: parse one SPF record (at most SPF_MAX_RECORD bytes,
 * SPF_MAX_TERMS terms) into out (release it with spf_record_free). Macros
 * in domain-specs are checked against 7.1's grammar and kept as written.
 * EX_DATAERR with a sentence naming the first bad term, its position and
 * why, the term quoted (bytes other than visible ASCII as \xNN, at most
 * SPF_MAX_QUOTE of them, then "..."), e.g.
 * "term 3 'ip4:1.2.3': not an IPv4 address (RFC 7208 5.6)"; out is then
 * empty. Pure. */
int spf_parse(const char *text, size_t len, struct spf_record *out,
              struct err *e);

/* r in canonical form, appended to out: "v=spf1", the mechanisms in
 * order (lower-case names, no "+", IPv6 addresses as inet_ntop writes
 * them), then redirect=, exp= and the unknown modifiers; spf_parse reads
 * it back equal to r. Pure. */
void spf_record_format(const struct spf_record *r, struct buf *out);
/* One mechanism as spf_record_format writes it ("-ip4:192.0.2.0/24"). */
void spf_mech_format(const struct spf_mech *m, struct buf *out);

/* Free what r holds; r is empty afterwards (twice is fine). */
void spf_record_free(struct spf_record *r);

/* ---- macros (RFC 7208 7) ------------------------------------------------- */

/* What macros expand to. */
struct spf_macro_env {
	const char *sender; /* %{s}: local@domain (7.3: postmaster@ when the
	                     * local part is missing) */
	const char *domain; /* %{d}: the domain being evaluated */
	const char *helo;   /* %{h}: NULL = the sender's domain */
	/* %{i}, %{v} (and %{p}, which expands to "unknown": the validated
	 * name of the client is not looked for, 7.3 deprecates it); ip_len
	 * 0 when there is no client address */
	const unsigned char *ip;
	size_t ip_len;
};

/* Expand a domain-spec (as spf_parse accepted it; env->domain set) into
 * a name to query (*out, heap): macros expanded with their transformers
 * (7.3: digits keep the right-most parts, "r" reverses, delimiters split,
 * upper-case letters URL-escape), a trailing dot dropped, labels dropped
 * from the left until the name fits SPF_MAX_DOMAIN (7.3), letters in
 * lower case. EX_OK; EX_UNAVAILABLE when a macro needs the client's
 * address and env has none; EX_DATAERR when the result is not a host
 * name of two or more labels (dns_host_name_valid; RFC 7208 4.3), the
 * name quoted (bytes other than visible ASCII as \xNN, at most
 * SPF_MAX_QUOTE of them). *out is NULL but for EX_OK. Pure. */
int spf_expand_domain(const char *domain_spec, const struct spf_macro_env *env,
                      char **out, struct err *e);

/* ---- the walk and check_host() ------------------------------------------- */

/* The caller's DNS: dns_lookup's contract (dns.h): EX_OK with out->status
 * FOUND, NODATA or NXDOMAIN when the DNS answered; otherwise out->status
 * DNS_TEMPFAIL or DNS_REFUSED (both are a temperror here, RFC 7208 4.4)
 * and e says why. out is released by the caller of the callback
 * (dns_result_free). Only names that passed dns_host_name_valid are
 * asked, for DNS_T_TXT, DNS_T_A, DNS_T_AAAA, DNS_T_MX and DNS_T_PTR. */
typedef int (*spf_lookup_fn)(void *ctx, const char *name, uint16_t type,
                             struct dns_result *out, struct err *e);

/* check_host()'s results (RFC 7208 2.6). */
enum spf_result {
	SPF_RESULT_NONE,
	SPF_RESULT_NEUTRAL,
	SPF_RESULT_PASS,
	SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL,
	SPF_RESULT_TEMPERROR,
	SPF_RESULT_PERMERROR,
};

/* What the walk found first: it stops there, as a receiver does, but for
 * the lookup limit, past which it goes on counting. Every status but OK
 * and NONE is what a receiver answers permerror (temperror for TEMPFAIL)
 * for, except LOOP, which a receiver meets as TOO_MANY_LOOKUPS. */
enum spf_status {
	SPF_STATUS_OK,       /* one valid record, no error in the tree */
	SPF_STATUS_NONE,     /* no SPF record at the domain (4.5: none) */
	SPF_STATUS_MULTIPLE, /* several SPF records at one name of the tree
	                      * (4.5: permerror) */
	SPF_STATUS_SYNTAX,   /* a record of the tree does not parse */
	SPF_STATUS_TOO_MANY_LOOKUPS, /* more than SPF_MAX_LOOKUPS */
	SPF_STATUS_TOO_MANY_VOID,    /* more than SPF_MAX_VOID_LOOKUPS */
	SPF_STATUS_TOO_MANY_MX,      /* an mx term met more than
	                              * SPF_MAX_MX_NAMES MX names */
	SPF_STATUS_MISSING_TARGET,   /* an include:/redirect= target has no
	                              * SPF record (5.2, 6.1: permerror) */
	SPF_STATUS_BAD_TARGET, /* an include:/redirect= domain-spec that does
	                        * not expand to a host name (4.3, 4.8) */
	SPF_STATUS_LOOP,       /* include:/redirect= leads back to a domain
	                        * being evaluated: evaluation never ends short
	                        * of the limits (permerror) */
	SPF_STATUS_TEMPFAIL,   /* a DNS lookup failed (4.4, 5: temperror) */
};

struct spf_check {
	enum spf_status status;
	/* one sentence for every status but OK (heap, no control
	 * characters): what, where, and what to do; NULL for OK */
	char *problem;
	/* the domain whose record holds the problem (heap), NULL for OK */
	char *problem_domain;
	/* the domain's SPF record as published (heap, printable ASCII: only
	 * one that parses is kept), NULL without one */
	char *record;
	/* DNS-querying terms met by a receiver for a client that no address
	 * mechanism matches (every term up to the "all" that ends each
	 * record, includes and redirects followed): at most SPF_MAX_LOOKUPS
	 * is fine; past it status is TOO_MANY_LOOKUPS and the walk went on
	 * counting, so this is what the tree needs (at most
	 * SPF_MAX_TREE_LOOKUPS); and the void ones among them */
	size_t lookups;
	size_t void_lookups;
	/* every include: and redirect= target met, expanded, lower case,
	 * without duplicates, in the order met (heap strings) */
	char **includes;
	size_t include_count;
	/* the top record's "all" (has_all false: none; 5.1, 6.1) */
	bool has_all;
	enum spf_qualifier all_qualifier;
	/* what a receiver answers for a client that no address mechanism
	 * matches: the "all" reached (through redirect= too), a pass through
	 * an include whose record ends in +all, neutral when the tree has no
	 * "all" (4.7), an error result after an error */
	enum spf_result default_result;
	/* a ptr term was met (RFC 7208 5.5: "SHOULD NOT be published") */
	bool uses_ptr;
	/* terms met that could not be evaluated and were taken as not
	 * matching: a macro needing the client address when there is none,
	 * a name that cannot be queried (a/mx/ptr/exists); the first one in
	 * a sentence (heap), else NULL */
	size_t skipped;
	char *skipped_note;
	/* with a client address: check_host() for it (RFC 7208 4 and 5,
	 * ptr evaluated), as a receiver computes it, the lookups it took,
	 * and for temperror and permerror why (heap sentence), else NULL */
	bool has_ip;
	enum spf_result ip_result;
	size_t ip_lookups;
	char *ip_problem;
};

/* Walk the SPF tree of domain (a host name of two or more labels, any
 * case, a trailing dot allowed) through lookup(ctx, ...) and fill out
 * (release it with spf_check_free).
 *
 * The walk is check_host() for a client that no address mechanism
 * matches, so it meets what a receiver meets in the worst case: every
 * term up to the first "all" of each record, includes and redirect=
 * followed, each DNS-querying term counted (RFC 7208 4.6.4). It asks
 * what such a receiver asks (the TXT records, A or AAAA for a as the
 * client is IPv4 or IPv6, A when there is no client, A for exists, MX
 * for mx but not the MX hosts' addresses; ptr is counted, not looked
 * up), so void lookups, MX sets larger than SPF_MAX_MX_NAMES,
 * DNS failures and records that do not parse anywhere in the tree are
 * found. It stops at the first error as a receiver does, and names a loop
 * when it meets one (a receiver runs into the lookup limit instead); past
 * the lookup limit it goes on counting (asking for nothing but the TXT
 * records of includes and redirect targets), so that out->lookups tells
 * how many the tree needs.
 *
 * sender (NULL: postmaster@domain) is what %{s}, %{l} and %{o} expand
 * to, its domain %{h}. With ip_len 4 or 16, check_host(ip, domain,
 * sender) is also evaluated exactly as a receiver does (ptr evaluated;
 * an IPv4-mapped IPv6 address taken as IPv4, RFC 7208 5), its client
 * address also serving the walk's macros. Answers are cached for the
 * call, so the walk and the evaluation ask each question once.
 *
 * Returns EX_OK whenever the check ran, whatever it found (see
 * out->status, a DNS failure included); EX_DATAERR for a domain that
 * cannot be one (shown sanitized, at most SPF_MAX_QUOTE bytes),
 * EX_SOFTWARE for ip_len other than 0, 4, 16 (out is then empty). */
int spf_check_domain(const char *domain, const char *sender,
                     const unsigned char *ip, size_t ip_len,
                     spf_lookup_fn lookup, void *ctx, struct spf_check *out,
                     struct err *e);

/* Does c's tree include domain (any case, trailing dot ignored), directly
 * or through another include or redirect? */
bool spf_check_includes(const struct spf_check *c, const char *domain);

/* Free what c holds; c is empty afterwards (twice is fine). */
void spf_check_free(struct spf_check *c);

/* "pass", "fail", "softfail", "neutral", "none", "temperror",
 * "permerror" (RFC 7208 2.6). */
const char *spf_result_name(enum spf_result r);

/* ---- known senders ------------------------------------------------------- */

/* A sending service whose SPF include its operator documents. */
struct spf_provider {
	const char *name;        /* "Amazon SES" */
	const char *host_prefix; /* the host must begin with this (NULL: any) */
	const char *host_suffix; /* the host is this or ends in "." this */
	const char *include;     /* the domain for include: */
	/* NULL, or a sentence on where the include belongs when the
	 * provider's own bounce domain usually carries SPF instead */
	const char *note;
};

/* The provider whose SMTP submission host smtp_host is (any case, a
 * trailing dot ignored), e.g. "email-smtp.eu-west-1.amazonaws.com" ->
 * Amazon SES, include amazonses.com; NULL for an unknown host. The table
 * (spf.c) says where each value comes from. Pure. */
const struct spf_provider *spf_provider_for_host(const char *smtp_host);

#endif
