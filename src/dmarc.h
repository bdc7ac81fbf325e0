/* dmarc.h - DMARC policy records (RFC 7489), the pure half the
 * deliverability check (outbox --check) needs: which TXT records at
 * _dmarc.DOMAIN count, what one says, where to look them up, and whether
 * two domains align. No DNS here (the caller queries), so every rule is
 * covered by table-driven tests (tests/unit/test_dmarc.c) and a fuzz target
 * (tests/fuzz/fuzz_dmarc.c).
 *
 * Syntax: RFC 7489 6.4's ABNF read as RFC 5234 reads it: the quoted
 * strings in it, tag names ("p", "rua") and keyword values ("reject",
 * "s"), ignore case, while the version is %x44 %x4d %x41 %x52 %x43 %x31,
 * "DMARC1" in capitals exactly. The record is a DKIM-style tag-list (RFC
 * 7489 6.3 refers to RFC 6376 3.2: dkim_tag_list_read), so white space is
 * allowed around tags, "=" and ";", and no tag may appear twice. Unknown
 * tags are ignored (RFC 7489 6.3). A known tag with an invalid value is
 * refused with a message naming it: receivers would drop that tag and use
 * its default (RFC 7489 6.3), which is never what the domain owner meant,
 * so the check reports it. The exception is p= (and sp=), where RFC 7489
 * 6.6.3 step 5 gives the receivers' reading: see dmarc_parse. */
#ifndef OUTBOX_DMARC_H
#define OUTBOX_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The longest record text read: one TXT record's data (RFC 1035 3.3.14,
 * its strings joined) is shorter than this. */
#define DMARC_RECORD_MAX 65535
/* RFC 7489 6.6.3: the record of a domain is a TXT record at this prefix
 * before it. */
#define DMARC_NAME_PREFIX "_dmarc."
/* RFC 1035 2.3.4: a domain name's text, without the trailing dot. */
#define DMARC_NAME_MAX 253
/* RFC 7489 6.3: pct is 0 to 100 (1*3DIGIT), ri a 32-bit unsigned number
 * of seconds, 86400 by default. */
#define DMARC_PCT_MAX    100
#define DMARC_RI_DEFAULT 86400u

enum dmarc_policy { DMARC_NONE, DMARC_QUARANTINE, DMARC_REJECT };
enum dmarc_align { DMARC_RELAXED, DMARC_STRICT };

/* RFC 7489 6.3 fo=: which failures a failure report is asked for. */
enum dmarc_fo {
	DMARC_FO_ALL = 1 << 0,  /* "0": all mechanisms failed (default) */
	DMARC_FO_ANY = 1 << 1,  /* "1": any mechanism failed */
	DMARC_FO_DKIM = 1 << 2, /* "d": DKIM failed */
	DMARC_FO_SPF = 1 << 3,  /* "s": SPF failed */
};

struct dmarc_record {
	enum dmarc_policy p;
	bool has_sp;
	enum dmarc_policy sp; /* has_sp: the subdomain policy; else p's */
	int pct;              /* 0..100, default 100 */
	enum dmarc_align adkim, aspf; /* default relaxed */
	/* rua= and ruf= URIs (heap), in the record's order, each without
	 * its "!size" suffix, whose limit (octets; 0 = none) is in
	 * rua_limit[i] / ruf_limit[i] */
	char **rua;
	uint64_t *rua_limit;
	size_t rua_count;
	char **ruf;
	uint64_t *ruf_limit;
	size_t ruf_count;
	unsigned fo; /* enum dmarc_fo bits; DMARC_FO_ALL by default */
	char *rf;    /* rf= report formats, colon-separated, no white
	              * space (heap), or NULL: absent ("afrf") */
	uint32_t ri; /* seconds between aggregate reports */
	/* RFC 7489 6.6.3 step 5.1: p= missing or invalid, or sp= invalid,
	 * but rua= has a valid URI: receivers act as if the record were
	 * "v=DMARC1; p=none" (p is DMARC_NONE, has_sp false). The domain
	 * owner still has to fix it. */
	bool policy_invalid;
	/* RFC 7489 6.3: "v" and "p" MUST appear in that order, p second
	 * (6.4: only the others may come in any order). Receivers commonly
	 * accept p= anywhere, so this is a warning, not a refusal. */
	bool p_not_second;
};

/* RFC 7489 6.6.3 step 2 (and 6.3's v=): does this TXT record (the record's
 * strings joined, len octets) take part in policy discovery, that is,
 * begin with the version tag "v" *WSP "=" *WSP "DMARC1", followed by the
 * end, white space or ";"? White space before the v is allowed (RFC 6376
 * 3.2's tag-spec); "v=dmarc1", "v=DMARC10", "p=none; v=DMARC1" are not
 * records. Several such records at a name mean that no policy applies.
 * Pure. */
bool dmarc_is_record(const char *text, size_t len);

/* RFC 7489 6.3 and 6.4: parse a record (one for which dmarc_is_record is
 * true; at most DMARC_RECORD_MAX octets) into out. Defaults: pct 100,
 * adkim and aspf relaxed, fo 0, ri DMARC_RI_DEFAULT, no sp, rf, rua or
 * ruf. Values (ignoring case but for URIs): p and sp none, quarantine or
 * reject; pct 1 to 3 digits, 0..100; adkim and aspf r or s; fo 0, 1, d, s
 * joined by ":"; rf keywords (RFC 5321 Keyword) joined by ":"; ri 1*DIGIT
 * up to 2^32-1; rua and ruf one or more URIs separated by "," (white
 * space around it allowed), each a URI of RFC 3986 (a scheme, ":", then
 * URI characters with no "," or "!" unescaped, a "%" followed by two hex
 * digits; a mailto: URI needs an address with "@") and an optional "!"
 * 1*DIGIT with k, m, g or t (powers of 1024) whose octets fit in 64
 * bits. p missing or invalid, or sp invalid: when rua= holds a valid URI
 * the record reads as p=none (policy_invalid; RFC 7489 6.6.3 step 5.1),
 * else it is refused (step 5.2: no DMARC processing). Returns EX_OK, or
 * EX_DATAERR with a sentence naming the tag and citing the RFC (the
 * value quoted, sanitized and bounded), out then empty. Release out with
 * dmarc_record_free. Pure. */
int dmarc_parse(const char *text, size_t len, struct dmarc_record *out,
                struct err *e);

void dmarc_record_free(struct dmarc_record *r);

/* r as a record text into out (appended): "v=DMARC1; p=P" then every tag
 * that differs from its default (sp, adkim, aspf, pct, fo, rf, ri, rua,
 * ruf with their "!size" suffixes, sizes in the largest unit that divides
 * them), "; " between tags. dmarc_parse reads it back equal to r (but for
 * policy_invalid and p_not_second, which describe a published text). For
 * the check's "publish this" advice. Pure. */
void dmarc_record_format(const struct dmarc_record *r, struct buf *out);

/* "none", "quarantine" or "reject". */
const char *dmarc_policy_name(enum dmarc_policy p);

/* RFC 7489 3.1: do domains a and b align? Strict: equal, ignoring ASCII
 * case and one trailing dot. Relaxed: the same organizational domain
 * (org_domain.h, RFC 7489 3.2: "mail.example.com" and "example.com", but
 * not "example.co.uk" and "other.co.uk"). False when either is NULL or not
 * a domain name. Reads the Public Suffix List (org_domain). */
bool dmarc_aligned(const char *a, const char *b, enum dmarc_align mode);

/* RFC 7489 6.6.3: where the policy for mail From from_domain is: first
 * "_dmarc.FROM" (*first), and when that name has no DMARC record (no
 * record at all, not a DNS failure), "_dmarc.ORG" (*second) for its
 * organizational domain (org_domain), NULL when ORG is FROM. Names in
 * lower case without a trailing dot, heap. Returns EX_OK; EX_DATAERR when
 * from_domain is not a domain name or "_dmarc.FROM" is longer than
 * DMARC_NAME_MAX (both *NULL then). */
int dmarc_lookup_names(const char *from_domain, char **first, char **second,
                       struct err *e);

#endif
