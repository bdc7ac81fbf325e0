/* org_domain.h - the Organizational Domain of RFC 7489 3.2: the registrable
 * part of a domain name according to the Public Suffix List, which DMARC's
 * relaxed alignment compares (dmarc_aligned) and under which a DMARC
 * record is looked up when the From domain has none (RFC 7489 6.6.3).
 *
 * The list is libpsl's (Debian's libpsl5): the newer of the list it was
 * built with and the publicsuffix package's /usr/share/publicsuffix, as
 * psl_latest() chooses; both the ICANN and the private section count, as
 * in the list's own algorithm. libpsl is loaded on first use (lazylib.h),
 * so only the deliverability check pays for it. When it cannot be loaded,
 * or has no list, the answer is org_domain_guess()'s, and
 * org_domain_list_status() says so: never a crash, never a silent wrong
 * "aligned" without a word.
 *
 * Names: A-labels (ASCII), any case, one trailing dot allowed; labels of
 * letters, digits, '-' and '_' (non-ASCII octets pass through unchanged:
 * libpsl matches the list's UTF-8 entries, but letters are lowered in
 * ASCII only, so pass U-labels in lower case or convert them first). */
#ifndef OUTBOX_ORG_DOMAIN_H
#define OUTBOX_ORG_DOMAIN_H

#include "err.h"

/* RFC 1035 2.3.4: a domain name's text (without the trailing dot), and one
 * label. */
#define ORG_DOMAIN_NAME_MAX  253
#define ORG_DOMAIN_LABEL_MAX 63

/* domain in the form every function here compares: ASCII letters in lower
 * case, one trailing dot dropped, checked against the rules above. A heap
 * string, or NULL when domain is NULL or not a domain name ("", "a..b",
 * ".", a label over ORG_DOMAIN_LABEL_MAX, a space, a control character, an
 * '@'). Pure. */
char *org_domain_normalize(const char *domain);

/* RFC 7489 3.2: domain's organizational domain: the longest public suffix
 * in the list that domain ends with (the list's default rule "*" makes an
 * unknown top-level domain a suffix: "mail.example.test" ->
 * "example.test") plus one more label of domain ("a.b.example.co.uk" ->
 * "example.co.uk"). A domain that is itself a public suffix ("co.uk",
 * "com") is its own organizational domain. Returns a heap string in the
 * normalized form (org_domain_normalize), or NULL when domain is not a
 * domain name. Loads libpsl on first use; without it (or without a list)
 * the answer is org_domain_guess(domain). Reads the list file, no network. */
char *org_domain(const char *domain);

/* The fallback rule, used when the list is not available: the last two
 * labels of domain ("mail.example.com" -> "example.com"; "example" stays
 * "example"), which is wrong under multi-label suffixes ("example.co.uk"
 * -> "co.uk"), so org_domain_list_status() reports that it is in use.
 * Heap string in the normalized form, or NULL when domain is not a domain
 * name. Pure. */
char *org_domain_guess(const char *domain);

/* Whether org_domain() uses the Public Suffix List (loads libpsl if it is
 * not loaded). EX_OK; or EX_UNAVAILABLE with e saying why and what
 * follows: "cannot load libpsl: libpsl.so.5 is not installed (apt install
 * libpsl5); organizational domains are guessed as the last two labels",
 * or that libpsl has no list. */
int org_domain_list_status(struct err *e);

#endif
