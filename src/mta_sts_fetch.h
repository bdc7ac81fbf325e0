/* mta_sts_fetch.h - MTA-STS (RFC 8461), the I/O half: the policy that
 * applies to a recipient domain now, from the cache or fetched over
 * verified HTTPS, and the cache that keeps it between runs.
 *
 * The caller looks up the TXT record at _mta-sts.DOMAIN itself (the DNS
 * module) and hands over what DNS said (struct mta_sts_txt, mta_sts.h);
 * every rule (the record, the policy, the choice between cache and fetch)
 * is mta_sts.h's, pure. What is here:
 *
 * The fetch (RFC 8461 3.3): GET https://mta-sts.DOMAIN/.well-known/
 * mta-sts.txt through http.h, so the server is verified exactly as
 * OAuth's endpoints and SMTP servers are (tls.h: the chain against the
 * trust file or the system store, the name mta-sts.DOMAIN); status 200
 * only (redirects are not followed), Content-Type text/plain, at most
 * MTA_STS_MAX_POLICY bytes of body, every step (connect, handshake,
 * sending, reading) bounded by the timeout.
 *
 * The cache (RFC 8461 3.3, 5.1; 10.2: a cached enforce policy is what
 * defeats an attacker who blocks discovery): one file per domain, DIR/DOMAIN
 * (mta_sts_cache_format's text), in DIR = mta_sts_cache_dir(). DIR is made
 * 0700 when missing and must be a directory of the effective user (group
 * and other bits are taken away: nobody else can have put anything in
 * it); another owner, a symbolic link or not a directory is a
 * configuration error. A file is used only when it is a regular file of
 * ours, 0600 (no group or other bits), with one link, at most
 * MTA_STS_MAX_CACHE_FILE bytes, that parses for its domain; anything else
 * is damaged: treated as absent, and removed. Files are written to a
 * temporary name, synced, renamed over the old one, and the directory
 * synced: a file is whole or absent. Two runs at once simply both fetch;
 * the last rename wins. */
#ifndef OUTBOX_MTA_STS_FETCH_H
#define OUTBOX_MTA_STS_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "mta_sts.h"

struct runenv;

/* Each step of a fetch, when the settings say 0 (seconds; RFC 8461 3.3
 * suggests a minute for the whole GET). */
#define MTA_STS_DEFAULT_TIMEOUT 30
/* Root's cache, inside the system spool; the user's, under
 * $XDG_CACHE_HOME. */
#define MTA_STS_SYSTEM_SUBDIR "mta-sts"
#define MTA_STS_USER_SUBDIR   "outbox/mta-sts"

struct mta_sts_settings {
	const char *cache_dir;  /* mta_sts_cache_dir(); NULL: no cache
	                         * (always fetch) */
	const char *trust_file; /* NULL or "system": the system store; else a
	                         * PEM file (the account's tls_trust_file) */
	const char *crl_file;   /* NULL or a CRL file */
	const char *source_ip;  /* NULL or the address to bind to */
	int timeout;            /* seconds for each step of the fetch;
	                         * 0: MTA_STS_DEFAULT_TIMEOUT */
	/* -v, as in http.h: the request and the response status */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;
};

/* The policy that applies to domain now, per RFC 8461 sections 3 and 5.1
 * (mta_sts_decide): the cached copy, or one fetched now (then stored with
 * the TXT record's id and now as its fetch time; a failed fetch is
 * recorded, so the next attempt under that id waits MTA_STS_RETRY_AFTER),
 * or none. EX_OK with out->mode NONE when no policy applies (no record,
 * "mode: none", a failed fetch without a usable cached copy, a domain
 * that is not an LDH host name such as an address literal); release out
 * with mta_sts_policy_free. notes (appended) gets one line, ending in a
 * newline, per event a user should see in -v or --serverinfo (no record,
 * record invalid, cached policy used, fetched, refreshed, the fetch failed
 * and why, cached copy used because of that, damaged cache file removed,
 * nothing cached because the directory cannot be written); nothing in
 * it comes from the network unsanitized, and no policy text is quoted
 * beyond an invalid value. Fails only for a configuration problem:
 * EX_CONFIG (an unsafe cache directory, an unreadable trust or CRL file),
 * out then empty. */
int mta_sts_get_policy(const struct mta_sts_settings *s, const char *domain,
                       const struct mta_sts_txt *txt, int64_t now,
                       struct mta_sts_policy *out, struct buf *notes,
                       struct err *e);

/* One fetch of the policy at url (mta_sts_policy_url's) with s's trust,
 * timeout and trace: the HTTPS GET, the response's status and type
 * (mta_sts_check_response), the body (mta_sts_parse_policy) -> out (id
 * NULL, fetched 0). Failures name the host: http_get's codes (EX_CONFIG
 * for an unreadable trust or CRL file), and, naming the URL, EX_PROTOCOL
 * for a status other than 200 or a type other than text/plain,
 * EX_DATAERR for an invalid policy. */
int mta_sts_fetch(const struct mta_sts_settings *s, const char *url,
                  struct mta_sts_policy *out, struct err *e);

/* Read domain's entry from the cache directory dir: EX_OK with *found
 * (false when there is no directory, no file, or a damaged file, which is
 * removed and reported in notes). EX_CONFIG when dir is unsafe (see the
 * top). */
int mta_sts_cache_load(const char *dir, const char *domain,
                       struct mta_sts_cache *out, bool *found,
                       struct buf *notes, struct err *e);

/* Write c as domain's entry (replacing the old one), making dir when
 * missing. EX_CONFIG when dir is unsafe; EX_CANTCREAT or EX_IOERR naming
 * the file when it cannot be made or written (the old entry stays). */
int mta_sts_cache_store(const char *dir, const char *domain,
                        const struct mta_sts_cache *c, struct err *e);

/* $XDG_CACHE_HOME/outbox/mta-sts (~/.cache/outbox/mta-sts) for a user,
 * QUEUE_SYSTEM_DIR/mta-sts for root (only when the spool exists: the
 * cache never creates the system spool), as tls_cache_dir picks; a heap
 * string, NULL when there is none (no home). */
char *mta_sts_cache_dir(struct runenv *env);

#endif
