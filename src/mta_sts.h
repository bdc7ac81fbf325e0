/* mta_sts.h - SMTP MTA Strict Transport Security (RFC 8461), the pure
 * half: the _mta-sts TXT record, the policy file, MX pattern matching, the
 * cache file's format and the decision between the cached policy, a fetch
 * and no policy. No I/O here (mta_sts_fetch.h does the HTTPS GET and the
 * cache directory), so every rule is covered by table-driven tests
 * (tests/unit/test_mta_sts.c) and a fuzz target (tests/fuzz/fuzz_mta_sts.c).
 *
 * Strictness: RFC 8461's grammar is followed where it decides something
 * (field names and values are case-sensitive, RFC 7405 %s); where being
 * stricter would only turn a policy the domain meant to publish into "no
 * policy" (and so weaken protection), the parsers are lenient, and say so
 * below: empty lines, white space before a policy field's colon, a UTF-8
 * byte order mark, a trailing dot on an mx pattern, max_age above the
 * maximum (capped), and fields in any order (the RFC gives none for the
 * policy file). Duplicate fields: RFC 8461 3.2 has every field but mx
 * that appears more than once count by its first entry alone, in TXT
 * records and policy files alike: the first one counts (and must be
 * valid), later ones are not looked at beyond the field syntax. */
#ifndef OUTBOX_MTA_STS_H
#define OUTBOX_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* RFC 8461 3.2: the largest max_age; a larger one is read as this. */
#define MTA_STS_MAX_AGE 31557600L
/* RFC 8461 3.2: max_age is 1*10(DIGIT). */
#define MTA_STS_MAX_AGE_DIGITS 10
/* RFC 8461 3.1: id is 1*32(ALPHA / DIGIT). */
#define MTA_STS_MAX_ID 32
/* RFC 8461 3.3's suggested limit on a policy: the fetch's body limit and
 * the policy parser's input limit. */
#define MTA_STS_MAX_POLICY ((size_t)64 * 1024)
/* RFC 1035 2.3.4: a domain name's text, and one label. */
#define MTA_STS_MAX_DOMAIN 253
#define MTA_STS_MAX_LABEL  63
/* RFC 8461 3.3 (and 10.2): "MTAs SHOULD proactively refresh cached
 * policies before they expire; a suggested refresh frequency is once per
 * day". */
#define MTA_STS_REFRESH_AFTER (24L * 60 * 60)
/* RFC 8461 3.3: after a failed fetch "implementers SHOULD limit further
 * attempts to a period of five minutes or longer per version ID". */
#define MTA_STS_RETRY_AFTER (5L * 60)
/* The largest cache file read back: a policy's patterns, normalized, take
 * no more room than in the policy itself, plus the header lines. */
#define MTA_STS_MAX_CACHE_FILE (MTA_STS_MAX_POLICY + 1024)
/* Bytes of an invalid value from the network quoted in a message (then
 * "..."): enough to recognize it, never a whole policy. */
#define MTA_STS_MAX_QUOTE 64

enum mta_sts_mode { MTA_STS_NONE = 0, MTA_STS_TESTING, MTA_STS_ENFORCE };

struct mta_sts_policy {
	/* NONE: no policy applies (also "mode: none") */
	enum mta_sts_mode mode;
	/* patterns as published, lower case, without a trailing dot;
	 * "*.example.net" allowed */
	char **mx;
	size_t mx_count;
	long max_age;    /* seconds, capped at MTA_STS_MAX_AGE (RFC 8461 3.2) */
	char *id;        /* from the TXT record the policy was fetched under */
	int64_t fetched; /* when (seconds since the epoch) */
	bool from_cache; /* this run used the cached copy */
};

/* What DNS said about _mta-sts.DOMAIN (the caller's lookup, as plain
 * values). */
enum mta_sts_dns {
	MTA_STS_DNS_FOUND,
	MTA_STS_DNS_NONE, /* NXDOMAIN or NODATA */
	MTA_STS_DNS_TEMPFAIL,
};

struct mta_sts_txt {
	enum mta_sts_dns status;
	/* every TXT record at the name (each its strings concatenated, RFC
	 * 8461 3.1), FOUND only; records[i] has lengths[i] bytes (any bytes) */
	const char *const *records;
	const size_t *lengths;
	size_t count;
};

/* ---- the TXT record, the policy, MX patterns ----------------------------- */

/* RFC 8461 3.1: one TXT record (sts-text-record: "v=STSv1; id=
 * 20160831085700Z;", fields separated by ";" with optional white space,
 * extension fields "name=value" checked against the grammar and ignored)
 * -> its id, a heap string of 1 to MTA_STS_MAX_ID letters and digits.
 * EX_DATAERR with a sentence saying why it is not one (quoting nothing of
 * the record); *id is NULL then. Pure. */
int mta_sts_parse_txt(const char *text, size_t len, char **id, struct err *e);

/* RFC 8461 3.2: a policy file body -> out (id NULL, fetched 0,
 * from_cache false). Lines end in CRLF or LF (the last one may have
 * none); each is "key: value" (white space around the value and before
 * the colon is allowed); empty or blank lines and a leading UTF-8 byte
 * order mark are skipped; keys are case-sensitive. version (STSv1), mode
 * (enforce, testing or none) and max_age (1 to 10 digits, capped at
 * MTA_STS_MAX_AGE) are required, the first of each counts; mx (["*."]
 * Domain of RFC 5321 4.1.2, stored in lower case without a trailing dot)
 * at least once unless mode is none, every one kept; other keys must be
 * valid names (RFC 8461 sts-policy-ext-name) and are ignored. At most
 * MTA_STS_MAX_POLICY bytes; no control characters but TAB. EX_DATAERR
 * with a sentence naming the line and the problem (an invalid value is
 * quoted sanitized, at most MTA_STS_MAX_QUOTE bytes); out is then empty.
 * Release out with mta_sts_policy_free. Pure. */
int mta_sts_parse_policy(const char *text, size_t len,
                         struct mta_sts_policy *out, struct err *e);

/* p as a policy file (RFC 8461 3.2, CRLF lines: version, mode, each mx,
 * max_age) into out (appended): what mta_sts_parse_policy reads back as
 * p's mode, patterns and max_age. Pure. */
void mta_sts_policy_format(const struct mta_sts_policy *p, struct buf *out);

/* RFC 8461 4.1: does mx_host (an A-label host name; any case, a trailing
 * dot ignored) match one of p's mx patterns? "*.example.com" matches
 * exactly one more, non-empty, left-most label: "mail.example.com", not
 * "example.com" nor "a.b.example.com". False for a NULL or empty host and
 * for a policy without patterns. Pure. */
bool mta_sts_mx_allowed(const struct mta_sts_policy *p, const char *mx_host);

/* "enforce", "testing" or "none". */
const char *mta_sts_mode_name(enum mta_sts_mode mode);

/* A policy domain: an ASCII host name (RFC 5321 4.1.2 Domain: labels of
 * letters, digits and inner hyphens, 1 to MTA_STS_MAX_LABEL bytes each, at
 * most MTA_STS_MAX_DOMAIN in all; one trailing dot allowed) -> *out, a heap
 * copy in lower case without the dot. False (and *out NULL) for anything
 * else: an address literal, a U-label, "". Pure. */
bool mta_sts_domain_normalize(const char *domain, char **out);

/* RFC 8461 3.2: the Policy Host is this prepended to the Policy Domain. */
#define MTA_STS_HOST_PREFIX "mta-sts."

/* "https://mta-sts.DOMAIN/.well-known/mta-sts.txt" (RFC 8461 3.2) into
 * out (appended); domain as mta_sts_domain_normalize returns it. Pure. */
void mta_sts_policy_url(const char *domain, struct buf *out);

/* RFC 8461 3.3: an HTTP response holds a policy only with status 200
 * (redirects are not followed, every other status is a failure) and
 * media type text/plain (any case; parameters such as charset ignored;
 * content_type NULL when the field is absent). EX_OK, or EX_PROTOCOL with
 * a sentence naming the status or saying the type is wrong (the type is
 * not quoted). Pure. */
int mta_sts_check_response(int status, const char *content_type, struct err *e);

/* p is in force at now: its max_age has not run out since it was
 * fetched (now < fetched + max_age), and that end is at most
 * MTA_STS_MAX_AGE ahead (a fetch time in the future, a clock set back or
 * a forged file, does not stretch it beyond what RFC 8461 3.2 allows).
 * Pure. */
bool mta_sts_policy_usable(const struct mta_sts_policy *p, int64_t now);

/* Free what p holds; p is empty (mode NONE) afterwards. */
void mta_sts_policy_free(struct mta_sts_policy *p);

/* ---- the cache file ------------------------------------------------------ */

/* What is kept for one domain between runs (RFC 8461 3.3, 5.1): the last
 * policy fetched, and the last failed fetch (for MTA_STS_RETRY_AFTER). */
struct mta_sts_cache {
	bool has_policy;
	struct mta_sts_policy policy; /* has_policy: with its id and fetched */
	char *failed_id;   /* NULL, or the TXT id a fetch failed under */
	int64_t failed_at; /* when */
};

/* c as the cache file of domain into out (reset first):
 *   "outbox-mta-sts 1", "domain DOMAIN",
 *   ["failed ID TIME"],
 *   ["policy ID FETCHED", "mode MODE", "max_age N", "mx PATTERN"...],
 * each line ending in LF. Pure. */
void mta_sts_cache_format(const char *domain, const struct mta_sts_cache *c,
                          struct buf *out);

/* Parse a cache file for domain: exactly what mta_sts_cache_format
 * writes, with every value as the policy parser would have left it (ids
 * 1 to 32 alphanumerics, numbers without sign or leading zero and at most
 * 18 digits, max_age at most MTA_STS_MAX_AGE, mx patterns in their
 * normalized form, at least one unless mode is none), the domain line
 * equal to domain, at most MTA_STS_MAX_CACHE_FILE bytes. False for
 * anything else (out is then empty): a damaged file is treated as
 * absent. Release out with mta_sts_cache_free. Pure and total. */
bool mta_sts_cache_parse(const char *text, size_t len, const char *domain,
                         struct mta_sts_cache *out);

void mta_sts_cache_free(struct mta_sts_cache *c);

/* ---- the decision -------------------------------------------------------- */

enum mta_sts_action {
	MTA_STS_NO_POLICY, /* no policy applies */
	MTA_STS_USE_CACHE, /* the cached policy applies, nothing is fetched */
	MTA_STS_FETCH,     /* fetch the policy now; when that fails,
	                    * decision.fallback applies */
};

/* Why (for the notes a user sees with -v). */
enum mta_sts_reason {
	MTA_STS_NO_RECORD,      /* no _mta-sts TXT record beginning v=STSv1 */
	MTA_STS_DNS_FAILED,     /* the TXT lookup failed temporarily */
	MTA_STS_RECORD_INVALID, /* several STSv1 records, or an invalid one */
	MTA_STS_CURRENT,        /* the record's id is the cached policy's */
	MTA_STS_REFRESH,        /* the same id, but fetched more than
	                         * MTA_STS_REFRESH_AFTER ago */
	MTA_STS_NEW_ID,         /* the record's id is not the cached one's */
	MTA_STS_NOT_CACHED,     /* no policy cached for this domain */
	MTA_STS_EXPIRED,        /* the cached policy's max_age ran out */
	MTA_STS_RETRY_LATER,    /* a fetch under this id failed less than
	                         * MTA_STS_RETRY_AFTER ago: not tried again */
};

struct mta_sts_decision {
	enum mta_sts_action action;
	/* FETCH: what applies when the fetch fails: USE_CACHE when the
	 * cached policy is usable (an enforce policy keeps enforcing), else
	 * NO_POLICY. Otherwise equal to action. */
	enum mta_sts_action fallback;
	enum mta_sts_reason reason;
	char *id;      /* the valid TXT record's id (heap), else NULL */
	char *problem; /* RECORD_INVALID: why, one sentence (heap, no
	                * control characters), else NULL */
};

/* RFC 8461 3.1, 3.3 and 5.1: what to do for a domain whose cache holds
 * cached (NULL: nothing) when DNS said txt at now:
 *   TXT found, exactly one valid STSv1 record:
 *     its id is the usable cached policy's: USE_CACHE (CURRENT), or FETCH
 *       falling back to the cache when it was fetched more than
 *       MTA_STS_REFRESH_AFTER ago (REFRESH);
 *     else (a new id, no usable cached policy): FETCH (NEW_ID,
 *       NOT_CACHED, EXPIRED), falling back to the cached policy when it
 *       is usable, else to NO_POLICY;
 *     but when a fetch under this id failed less than MTA_STS_RETRY_AFTER
 *       ago, the fallback at once (RETRY_LATER);
 *   TXT found but no STSv1 record (NO_RECORD), several or an invalid one
 *   (RECORD_INVALID), TXT absent (NO_RECORD), lookup failed (DNS_FAILED):
 *     USE_CACHE when the cached policy is usable, else NO_POLICY.
 * Fills out (release it with mta_sts_decision_free). Pure. */
void mta_sts_decide(const struct mta_sts_cache *cached,
                    const struct mta_sts_txt *txt, int64_t now,
                    struct mta_sts_decision *out);

void mta_sts_decision_free(struct mta_sts_decision *d);

#endif
