/* mta_sts_fetch.c - MTA-STS's fetch and cache; see mta_sts_fetch.h. */
#include "mta_sts_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "cache_dir.h"
#include "runenv.h"
#include "sanitize.h"
#include "util.h"

/* ---- notes --------------------------------------------------------------- */

/* One line of notes: "MTA-STS for DOMAIN: TEXT\n", with any control
 * character (from an error message about the network) escaped, and a TAB
 * (which sanitize.h keeps) made a space. */
__attribute__((format(printf, 3, 4))) static void
note(struct buf *notes, const char *domain, const char *fmt, ...)
{
	if (!notes)
		return;
	struct buf line = BUF_INIT;
	buf_printf(&line, "MTA-STS for %s: ", domain);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	size_t start = notes->len;
	sanitize_append_line(notes, line.data, line.len);
	for (size_t i = start; i < notes->len; i++)
		if (notes->data[i] == '\t')
			notes->data[i] = ' ';
	buf_add_char(notes, '\n');
	buf_free(&line);
}

/* "the cached policy (id ID, mode MODE) applies until DATE" */
static void describe_cached(struct buf *b, const struct mta_sts_policy *p)
{
	time_t until = (time_t)(p->fetched + p->max_age);
	struct tm tm;
	char date[32] = "?";
	if (gmtime_r(&until, &tm))
		strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_printf(b, "the cached policy (id %s, mode %s) applies until %s",
	           p->id ? p->id : "?", mta_sts_mode_name(p->mode), date);
}

/* What applies when nothing is fetched: the cached policy or none. */
static void describe_outcome(struct buf *b, enum mta_sts_action action,
                             const struct mta_sts_cache *cache)
{
	if (action == MTA_STS_USE_CACHE)
		describe_cached(b, &cache->policy);
	else
		buf_add_str(b, "no policy applies");
}

/* The note for a decision that fetches nothing. */
static void note_decision(struct buf *notes, const char *domain,
                          const struct mta_sts_decision *d,
                          const struct mta_sts_cache *cache, int64_t now)
{
	struct buf b = BUF_INIT;
	switch (d->reason) {
	case MTA_STS_NO_RECORD:
		buf_add_str(&b, "no _mta-sts TXT record; ");
		break;
	case MTA_STS_DNS_FAILED:
		buf_add_str(&b, "the _mta-sts TXT lookup failed temporarily; ");
		break;
	case MTA_STS_RECORD_INVALID:
		buf_printf(&b, "%s; ", d->problem ? d->problem : "");
		break;
	case MTA_STS_RETRY_LATER:
		buf_printf(&b,
		           "fetching the policy for id %s failed %lld seconds "
		           "ago, not tried again for %ld seconds; ",
		           d->id, (long long)(now - cache->failed_at),
		           MTA_STS_RETRY_AFTER);
		break;
	default: /* MTA_STS_CURRENT */
		break;
	}
	describe_outcome(&b, d->action, cache);
	note(notes, domain, "%s", buf_str(&b));
	buf_free(&b);
}

/* ---- the fetch ----------------------------------------------------------- */

int mta_sts_fetch(const struct mta_sts_settings *s, const char *url,
                  struct mta_sts_policy *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	const struct http_settings hs = {
	    .timeout = s->timeout > 0 ? s->timeout : MTA_STS_DEFAULT_TIMEOUT,
	    .trust_file = s->trust_file,
	    .crl_file = s->crl_file,
	    .source_ip = s->source_ip,
	    .max_body = MTA_STS_MAX_POLICY,
	    .trace = s->trace,
	    .trace_ctx = s->trace_ctx,
	};
	struct http_response r;
	/* http.c's messages name the host already */
	int rc = http_get(&hs, url, &r, e);
	if (rc != EX_OK)
		return rc;
	rc = mta_sts_check_response(r.status, r.content_type, e);
	if (rc == EX_OK)
		rc = mta_sts_parse_policy(r.body.data ? r.body.data : "",
		                          r.body.len, out, e);
	if (rc != EX_OK)
		err_prefix(e, "%s", url);
	http_response_free(&r);
	return rc;
}

/* ---- the cache directory ------------------------------------------------- */

char *mta_sts_cache_dir(struct runenv *env)
{
	return cache_dir_path(env, MTA_STS_SYSTEM_SUBDIR, MTA_STS_USER_SUBDIR);
}

/* The cache directory, opened and checked (see mta_sts_fetch.h): *fd, or
 * -1 when it does not exist and create is false. */
static int open_dir(const char *path, bool create, int *fd, struct err *e)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	*fd = open(path, flags);
	if (*fd < 0 && errno == ENOENT) {
		if (!create)
			return EX_OK;
		char *failed = NULL;
		if (make_dirs(path, 0700, &failed) != 0) {
			int saved = errno;
			err_set(
			    e, EX_CANTCREAT,
			    "cannot create %s for the MTA-STS policy cache: %s",
			    failed ? failed : path, strerror(saved));
			free(failed);
			return EX_CANTCREAT;
		}
		*fd = open(path, flags);
	}
	if (*fd < 0) {
		int saved = errno;
		if (saved == ELOOP || saved == ENOTDIR)
			return err_set(
			    e, EX_CONFIG,
			    "the MTA-STS policy cache %s is a symbolic link or "
			    "not a directory: it is not used (remove it)",
			    path);
		return err_set(e, EX_CONFIG,
		               "cannot open the MTA-STS policy cache %s: %s",
		               path, strerror(saved));
	}
	struct stat st;
	const char *problem = NULL;
	if (fstat(*fd, &st) != 0 || !S_ISDIR(st.st_mode))
		problem = "is not a directory";
	else if (st.st_uid != geteuid())
		problem = "belongs to another user";
	/* Ours: nobody else's bits (taken away, as tls_cache.c does: only
	 * we can have put anything in it). */
	else if ((st.st_mode & 077) && fchmod(*fd, 0700) != 0)
		problem = "cannot be made private (mode 0700)";
	if (problem) {
		close(*fd);
		*fd = -1;
		return err_set(e, EX_CONFIG,
		               "the MTA-STS policy cache %s %s: it is not used "
		               "(a policy planted there could turn MTA-STS "
		               "off); remove it",
		               path, problem);
	}
	return EX_OK;
}

/* A file of ours, private, whole: the checks of mta_sts_fetch.h. */
static bool file_trusted(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	       st.st_nlink == 1 && st.st_size > 0 &&
	       st.st_size <= (off_t)MTA_STS_MAX_CACHE_FILE;
}

int mta_sts_cache_load(const char *dir, const char *domain,
                       struct mta_sts_cache *out, bool *found,
                       struct buf *notes, struct err *e)
{
	memset(out, 0, sizeof *out);
	*found = false;
	int dfd;
	int rc = open_dir(dir, false, &dfd, e);
	if (rc != EX_OK || dfd < 0)
		return rc;
	/* O_NONBLOCK: a FIFO planted under the name must not hang us. */
	int fd =
	    openat(dfd, domain, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		close(dfd);
		return EX_OK;
	}
	struct buf text = BUF_INIT;
	*found = fd >= 0 && file_trusted(fd) &&
	         fd_read_all(fd, MTA_STS_MAX_CACHE_FILE, false, &text) == 0 &&
	         mta_sts_cache_parse(text.data ? text.data : "", text.len,
	                             domain, out);
	if (fd >= 0)
		close(fd);
	if (!*found) {
		bool removed = unlinkat(dfd, domain, 0) == 0;
		note(notes, domain,
		     "the cache file %s/%s is damaged or not a private file of "
		     "this user: it is not used%s",
		     dir, domain, removed ? ", and removed" : "");
	}
	buf_free(&text);
	close(dfd);
	return EX_OK;
}

int mta_sts_cache_store(const char *dir, const char *domain,
                        const struct mta_sts_cache *c, struct err *e)
{
	int dfd;
	int rc = open_dir(dir, true, &dfd, e);
	if (rc != EX_OK)
		return rc;
	unsigned char nonce[8];
	char hex[2 * sizeof nonce + 1], tmp[32];
	if (random_bytes(nonce, sizeof nonce) != 0) {
		rc = err_set(
		    e, EX_IOERR,
		    "no random bytes for a temporary file name in %s: %s", dir,
		    strerror(errno));
		close(dfd);
		return rc;
	}
	hex_encode(nonce, sizeof nonce, hex);
	/* A name no domain can have: labels never begin with a dot. */
	snprintf(tmp, sizeof tmp, ".tmp-%s", hex);
	struct buf text = BUF_INIT;
	mta_sts_cache_format(domain, c, &text);
	int fd =
	    openat(dfd, tmp,
	           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && fd_write_all(fd, text.data, text.len) == 0 &&
	          fsync(fd) == 0;
	int saved = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && renameat(dfd, tmp, dfd, domain) != 0) {
		ok = false;
		saved = errno;
	}
	if (ok) {
		(void)fsync(dfd); /* the rename itself, durable */
	} else {
		if (fd >= 0)
			(void)unlinkat(dfd, tmp, 0);
		rc = err_set(
		    e, EX_IOERR,
		    "cannot write the MTA-STS policy cache file %s/%s: %s", dir,
		    domain, strerror(saved));
	}
	buf_free(&text);
	close(dfd);
	return rc;
}

/* ---- the policy that applies --------------------------------------------- */

/* Store cache for domain when there is a cache; trouble is a note (the
 * policy still applies to this run), an unsafe directory an error. */
static int store_noted(const struct mta_sts_settings *s, const char *domain,
                       const struct mta_sts_cache *cache, struct buf *notes,
                       struct err *e)
{
	if (!s->cache_dir)
		return EX_OK;
	struct err se = ERR_INIT;
	int rc = mta_sts_cache_store(s->cache_dir, domain, cache, &se);
	if (rc == EX_CONFIG) {
		err_set(e, rc, "%s", err_msg(&se));
	} else if (rc != EX_OK) {
		note(notes, domain, "%s; nothing was cached", err_msg(&se));
		rc = EX_OK;
	}
	err_clear(&se);
	return rc;
}

static const char *fetch_reason(enum mta_sts_reason r)
{
	switch (r) {
	case MTA_STS_REFRESH:
		return "refreshed";
	case MTA_STS_NEW_ID:
		return "fetched (a new id)";
	case MTA_STS_EXPIRED:
		return "fetched (the cached copy had expired)";
	default:
		return "fetched";
	}
}

/* The decision said FETCH: fetch, keep the result or the failure in the
 * cache, and say which policy applies in *apply (FETCH: fetched). */
static int fetch_and_cache(const struct mta_sts_settings *s, const char *domain,
                           const struct mta_sts_decision *d, int64_t now,
                           struct mta_sts_cache *cache,
                           struct mta_sts_policy *fetched,
                           enum mta_sts_action *apply, struct buf *notes,
                           struct err *e)
{
	struct buf url = BUF_INIT;
	mta_sts_policy_url(domain, &url);
	struct err fe = ERR_INIT;
	int rc;
	if (strlen(MTA_STS_HOST_PREFIX) + strlen(domain) > MTA_STS_MAX_DOMAIN)
		/* no such name can exist (RFC 1035 2.3.4); not a
		 * configuration problem, as http_get would say */
		rc = err_set(&fe, EX_UNAVAILABLE,
		             "the policy host name " MTA_STS_HOST_PREFIX
		             "%s is longer than %d bytes",
		             domain, MTA_STS_MAX_DOMAIN);
	else
		rc = mta_sts_fetch(s, buf_str(&url), fetched, &fe);
	buf_free(&url);
	if (rc == EX_CONFIG) {
		/* an unreadable trust or CRL file: the configuration's
		 * problem, not the domain's */
		err_set(e, rc, "%s", err_msg(&fe));
		err_clear(&fe);
		return rc;
	}
	if (rc == EX_OK) {
		fetched->id = xstrdup(d->id);
		fetched->fetched = now;
		note(notes, domain,
		     "policy %s: id %s, mode %s, %zu mx pattern%s, max_age %ld",
		     fetch_reason(d->reason), d->id,
		     mta_sts_mode_name(fetched->mode), fetched->mx_count,
		     fetched->mx_count == 1 ? "" : "s", fetched->max_age);
		/* RFC 8461 3.3: the fetched policy replaces the cached one
		 * ("mode: none" too: it ends an earlier policy) */
		mta_sts_policy_free(&cache->policy);
		free(cache->failed_id);
		cache->failed_id = NULL;
		cache->has_policy = true;
		cache->policy = *fetched;
		rc = store_noted(s, domain, cache, notes, e);
		/* the policy's strings now belong to cache->policy too */
		cache->has_policy = false;
		memset(&cache->policy, 0, sizeof cache->policy);
		*apply = MTA_STS_FETCH;
		return rc;
	}
	struct buf b = BUF_INIT;
	buf_printf(&b, "cannot fetch the policy (id %s): %s; ", d->id,
	           err_msg(&fe));
	describe_outcome(&b, d->fallback, cache);
	note(notes, domain, "%s", buf_str(&b));
	buf_free(&b);
	err_clear(&fe);
	/* RFC 8461 3.3: no new attempt under this id for a while */
	free(cache->failed_id);
	cache->failed_id = xstrdup(d->id);
	cache->failed_at = now;
	*apply = d->fallback;
	return store_noted(s, domain, cache, notes, e);
}

int mta_sts_get_policy(const struct mta_sts_settings *s, const char *domain,
                       const struct mta_sts_txt *txt, int64_t now,
                       struct mta_sts_policy *out, struct buf *notes,
                       struct err *e)
{
	memset(out, 0, sizeof *out);
	char *name;
	if (!mta_sts_domain_normalize(domain, &name)) {
		/* RFC 8461 3.4: no policy for address literals; nor for
		 * anything else that is not a host name */
		struct buf shown = BUF_INIT;
		sanitize_append_line(&shown, domain ? domain : "",
		                     domain ? strlen(domain) : 0);
		note(notes, buf_str(&shown),
		     "not a DNS host name: no policy applies");
		buf_free(&shown);
		return EX_OK;
	}
	struct mta_sts_cache cache = {0};
	bool found = false;
	int rc = EX_OK;
	if (s->cache_dir)
		rc = mta_sts_cache_load(s->cache_dir, name, &cache, &found,
		                        notes, e);
	struct mta_sts_decision d = {0};
	enum mta_sts_action apply = MTA_STS_NO_POLICY;
	if (rc == EX_OK) {
		mta_sts_decide(found ? &cache : NULL, txt, now, &d);
		apply = d.action;
		if (d.action == MTA_STS_FETCH)
			rc = fetch_and_cache(s, name, &d, now, &cache, out,
			                     &apply, notes, e);
		else
			note_decision(notes, name, &d, &cache, now);
	}
	if (rc == EX_OK && apply == MTA_STS_USE_CACHE) {
		*out = cache.policy;
		out->from_cache = true;
		memset(&cache.policy, 0, sizeof cache.policy);
	} else if (rc != EX_OK || apply == MTA_STS_NO_POLICY) {
		mta_sts_policy_free(out);
	}
	mta_sts_decision_free(&d);
	mta_sts_cache_free(&cache);
	free(name);
	return rc;
}
