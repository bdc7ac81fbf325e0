/* dns.h - DNS lookups for direct delivery (MX, A/AAAA, TLSA, TXT): the
 * I/O half of the DNS layer; replies are judged by dns_parse.h.
 *
 * Whose answers: the system's resolver configuration, read with glibc's
 * res_ninit (/etc/resolv.conf: nameserver, options timeout:, attempts:,
 * rotate, use-vc, trust-ad; RES_OPTIONS in the environment, which glibc
 * drops for set-id programs; glibc reads both once per process, and again
 * only when the file changes). No DNSSEC validation here (no libunbound):
 * as with Postfix's smtp_dns_support_level = dnssec, validation is the job
 * of a trusted local validating resolver, and its verdict reaches us as the
 * AD bit (RFC 4035 3.2.3, RFC 6840 5.7). glibc lets the AD bit mean
 * something only when the configuration says "options trust-ad"
 * (RES_TRUSTAD, glibc 2.31): then the query asks for it, and otherwise the
 * reply's bit is cleared here, as res_nsend clears it. We never set
 * RES_TRUSTAD ourselves: whether the path to the resolver can be trusted
 * (a resolver on this host, or a protected network) is the administrator's
 * call.
 *
 * Queries are built by res_nmkquery, for absolute names only: no search
 * list, no ndots (a recipient domain is never completed with the local
 * one). Each query gets a fresh random ID from getrandom(2) and an EDNS0
 * OPT record (RFC 6891) offering DNS_EDNS_UDP_SIZE bytes, so TLSA and TXT
 * sets fit in one datagram; a server that answers FORMERR to it is asked
 * again without.
 *
 * Why not res_nsend: glibc's res_nsend (2.36) does not give the raw reply
 * "whatever its RCODE": it drops SERVFAIL, NOTIMP and REFUSED replies and
 * fails with ETIMEDOUT or ECONNREFUSED once every server was tried, so a
 * refusal cannot be told from a timeout; and its TCP fallback after a
 * truncated reply connects and reads without any time limit, so a server
 * that sets TC and then stalls the TCP connection hangs the caller. The
 * exchange is therefore ours (dns.c, about 150 lines): UDP, then TCP after TC,
 * every wait bounded by one deadline, replies taken only from the server
 * asked (a connected socket), with our ID and our question (RFC 5452 9.1);
 * anything else is ignored and the wait goes on.
 *
 * Time: a lookup never takes longer than the timeout_s given to
 * dns_resolver_open, whatever resolv.conf says. With n servers, a
 * attempts (attempts:, glibc's default 2) and a per-try wait t (timeout:,
 * default 5 s), each UDP exchange waits
 *     w = min(t, max(timeout_s / (a * n), DNS_MIN_WAIT_MS))
 * so that all a * n tries fit in timeout_s when they can (retrans lowered
 * to w); a TCP exchange (after TC, or with use-vc) gets t. Every wait is
 * also cut at start + timeout_s, after which no new exchange starts: tries
 * that do not fit are not made. A server that answered with an error RCODE
 * is not asked again; the next one is. */
#ifndef OUTBOX_DNS_H
#define OUTBOX_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_parse.h"
#include "err.h"

/* Servers used, at most (glibc's MAXNS: resolv.conf lines past the third
 * are ignored by res_ninit too). */
#define DNS_MAX_SERVERS 3
/* The shortest UDP wait when timeout_s is split among many tries. */
#define DNS_MIN_WAIT_MS 250
/* EDNS0 UDP payload offered: the DNS Flag Day 2020 value, which avoids IP
 * fragmentation on any path (RFC 9715). */
#define DNS_EDNS_UDP_SIZE 1232
/* The longest timeout_s taken (a day: anything longer is a mistake). */
#define DNS_MAX_TIMEOUT (24 * 60 * 60)

struct dns_resolver;

/* Read the system resolver configuration (res_ninit) into a new handle
 * (free it with dns_resolver_close). timeout_s (1..DNS_MAX_TIMEOUT) bounds
 * every dns_lookup as a whole (all servers and retries), by lowering the
 * per-try wait as above. EX_TEMPFAIL when the configuration cannot be
 * read, EX_SOFTWARE for a timeout out of range; *out is NULL then. */
int dns_resolver_open(struct dns_resolver **out, int timeout_s, struct err *e);
/* Release the handle (res_nclose); NULL is fine. */
void dns_resolver_close(struct dns_resolver *r);
/* The configuration says "options trust-ad": answers' AD bits mean
 * something (false with a glibc that has no RES_TRUSTAD). */
bool dns_resolver_trusts_ad(const struct dns_resolver *r);
/* Ask these servers (1..DNS_MAX_SERVERS IPv4 or IPv6 socket addresses,
 * ports included) instead of resolv.conf's, keeping its options: for tests
 * against a server on a loopback port. EX_SOFTWARE for a bad list. */
int dns_resolver_use_servers(struct dns_resolver *r,
                             const struct sockaddr_storage *servers,
                             size_t count, struct err *e);

/* Query name (an A-label host name by dns_host_name_valid's rules, with or
 * without its trailing dot: the same query) for type (dns_type_supported)
 * and judge the reply with dns_parse_reply. Returns EX_OK whenever the DNS
 * answered (FOUND, NODATA, NXDOMAIN: see out->status); EX_TEMPFAIL
 * (out->status DNS_TEMPFAIL) for SERVFAIL, a timeout, no server listening,
 * a reply that cannot be used; EX_UNAVAILABLE (DNS_REFUSED) for REFUSED,
 * NOTIMP, FORMERR; EX_DATAERR for a name that cannot be queried (too long,
 * bad characters; the name is shown sanitized), EX_SOFTWARE for an
 * unsupported type. e gets one sentence naming the name and type, e.g.
 * "DNS lookup of the MX records of example.org failed: server failure
 * (SERVFAIL); try again later" or "... failed: no DNS server answered
 * within 5 seconds (asked 127.0.0.53); try again later". out is always
 * filled (release it with dns_result_free). Without trust-ad,
 * out->authenticated is false. */
int dns_lookup(struct dns_resolver *r, const char *name, uint16_t type,
               struct dns_result *out, struct err *e);

#endif
