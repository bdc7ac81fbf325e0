/* oauth_store.c - OAuth tokens between runs; see oauth_store.h. */
#include "oauth_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "buf.h"
#include "keyring.h"
#include "queue.h"
#include "runenv.h"
#include "util.h"

/* ---- where ------------------------------------------------------------- */

static char *store_dir(const struct account *a)
{
	struct buf b = BUF_INIT;
	struct stat st;
	if (geteuid() == 0 && stat(QUEUE_SYSTEM_DIR, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		buf_printf(&b, "%s/%s", QUEUE_SYSTEM_DIR,
		           OAUTH_STORE_SYSTEM_SUBDIR);
		return buf_steal(&b);
	}
	const char *state = a->env ? runenv_state_home(a->env) : NULL;
	if (!state || *state != '/')
		return NULL;
	buf_printf(&b, "%s/%s", state, OAUTH_STORE_SUBDIR);
	return buf_steal(&b);
}

/* The identity the tokens belong to: endpoint, client and user. */
static int identity_key(const struct account *a, const char *token_url,
                        char out[65], struct err *e)
{
	struct buf id = BUF_INIT;
	buf_printf(&id, "%s\n%s\n%s", token_url, a->oauth2_client_id,
	           a->user ? a->user : "");
	unsigned char digest[32];
	int r = gnutls_hash_fast(GNUTLS_DIG_SHA256, id.data, id.len, digest);
	buf_free(&id);
	if (r < 0)
		return err_set(e, EX_SOFTWARE, "SHA-256: %s", gnutls_strerror(r));
	hex_encode(digest, sizeof digest, out);
	return EX_OK;
}

/* Ours, a directory, nobody else's bits (taken away: only we can have
 * put anything in it). */
static int open_dir(const char *path, int *fd_out, struct err *e)
{
	char *failed = NULL;
	if (make_dirs(path, 0700, &failed) != 0) {
		int saved = errno;
		err_set(e, EX_CANTCREAT, "cannot create %s for the OAuth "
		        "tokens: %s", failed ? failed : path, strerror(saved));
		free(failed);
		return EX_CANTCREAT;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return err_set(e, EX_IOERR, "cannot open %s: %s", path,
		               strerror(errno));
	if (st.st_uid != geteuid() ||
	    ((st.st_mode & 077) && fchmod(fd, 0700) != 0)) {
		close(fd);
		return err_set(e, EX_CANTCREAT, "%s is not a private "
		               "directory of this user: the OAuth tokens are "
		               "not kept there", path);
	}
	*fd_out = fd;
	return EX_OK;
}

static int lock_place(struct oauth_place *p, struct err *e)
{
	char name[80];
	snprintf(name, sizeof name, "%s.lock", p->key);
	p->lock_fd = openat(p->dir_fd, name,
	                    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (p->lock_fd < 0)
		return err_set(e, EX_IOERR, "cannot open %s/%s: %s", p->dir,
		               name, strerror(errno));
	while (flock(p->lock_fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return err_set(e, EX_IOERR, "cannot lock %s/%s: %s",
			               p->dir, name, strerror(errno));
	return EX_OK;
}

int oauth_place_open(const struct account *a, const char *token_url,
                     struct oauth_place *p, struct err *e)
{
	memset(p, 0, sizeof *p);
	p->dir_fd = p->lock_fd = -1;
	p->mode = a->oauth2_token_store;
	int rc = identity_key(a, token_url, p->key, e);
	if (rc != EX_OK)
		return rc;
	p->dir = store_dir(a);
	if (!p->dir)
		return err_set(e, EX_CONFIG, "no state directory for the "
		               "OAuth tokens (set HOME or XDG_STATE_HOME)");
	struct buf label = BUF_INIT;
	buf_printf(&label, "outbox OAuth 2.0 tokens for %s (%s)",
	           a->user ? a->user : a->oauth2_client_id, token_url);
	p->label = buf_steal(&label);
	rc = open_dir(p->dir, &p->dir_fd, e);
	if (rc == EX_OK)
		rc = lock_place(p, e);
	return rc;
}

void oauth_place_close(struct oauth_place *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* releases the lock */
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	free(p->dir);
	free(p->label);
	memset(p, 0, sizeof *p);
	p->dir_fd = p->lock_fd = -1;
}

/* ---- the file ---------------------------------------------------------- */

static void file_name(const struct oauth_place *p, char *out, size_t size)
{
	snprintf(out, size, "%s.json", p->key);
}

static int read_file(struct oauth_place *p, struct oauth_store *s,
                     bool *found, struct err *e)
{
	char name[80];
	file_name(p, name, sizeof name);
	int fd = openat(p->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return EX_OK;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		return err_set(e, EX_IOERR, "cannot read %s/%s: %s", p->dir,
		               name, strerror(saved));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return err_set(e, EX_DATAERR, "%s/%s is not a private file "
		               "of this user (mode 0600): it is not used; "
		               "remove it and run outbox --oauth2-login again",
		               p->dir, name);
	}
	struct buf text = BUF_INIT;
	int r = fd_read_all(fd, OAUTH_STORE_MAX_FILE, true, &text);
	close(fd);
	int rc = r == 0 ? oauth_store_parse(text.data ? text.data : "",
	                                    text.len, s, e)
	                : err_set(e, EX_IOERR, "cannot read %s/%s: %s", p->dir,
	                          name, strerror(errno));
	buf_wipe(&text);
	if (rc != EX_OK) {
		err_prefix(e, "%s/%s", p->dir, name);
		return rc;
	}
	*found = true;
	return EX_OK;
}

/* Whole or absent: a temporary file, synced, then renamed over the old
 * one, and the directory synced. */
static int write_file(struct oauth_place *p, const struct buf *json,
                      struct err *e)
{
	char name[80], tmp[96];
	file_name(p, name, sizeof name);
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", name, (long)getpid());
	unlinkat(p->dir_fd, tmp, 0);
	int fd = openat(p->dir_fd, tmp,
	                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                0600);
	bool ok = fd >= 0 && fd_write_all(fd, json->data, json->len) == 0 &&
	          fsync(fd) == 0;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	ok = ok && renameat(p->dir_fd, tmp, p->dir_fd, name) == 0;
	if (!ok) {
		saved = errno ? errno : saved;
		unlinkat(p->dir_fd, tmp, 0);
		return err_set(e, EX_IOERR, "cannot write %s/%s: %s", p->dir,
		               name, strerror(saved));
	}
	fsync(p->dir_fd);
	return EX_OK;
}

/* ---- the keyring, or the file ------------------------------------------ */

int oauth_place_read(struct oauth_place *p, struct oauth_store *s,
                     bool *found, struct err *e)
{
	memset(s, 0, sizeof *s);
	*found = false;
	p->keyring = false;
	if (p->mode != OAUTH2_STORE_FILE) {
		char *secret = NULL;
		struct err ke = ERR_INIT;
		int rc = keyring_lookup_secret(p->key, &secret, &ke);
		if (rc != EX_OK && p->mode == OAUTH2_STORE_KEYRING) {
			err_set(e, rc, "oauth2_token_store keyring: %s",
			        err_msg(&ke));
			err_clear(&ke);
			return rc;
		}
		err_clear(&ke);
		p->keyring = rc == EX_OK;
		if (secret) {
			rc = oauth_store_parse(secret, strlen(secret), s, e);
			free_secret(secret);
			if (rc != EX_OK) {
				err_prefix(e, "the keyring's OAuth entry");
				return rc;
			}
			*found = true;
			return EX_OK;
		}
	}
	/* Also where an earlier run without a keyring left them. */
	return read_file(p, s, found, e);
}

int oauth_place_write(struct oauth_place *p, const struct oauth_store *s,
                      struct err *e)
{
	struct buf json = BUF_INIT;
	oauth_store_format(s, &json);
	int rc = EX_UNAVAILABLE;
	if (!p->keyring && p->mode == OAUTH2_STORE_KEYRING)
		rc = err_set(e, EX_UNAVAILABLE, "oauth2_token_store keyring: "
		             "no keyring answered when the tokens were read");
	if (p->keyring) {
		struct err ke = ERR_INIT;
		rc = keyring_store_secret(p->key, p->label, buf_str(&json), &ke);
		if (rc == EX_OK) {
			char name[80];
			file_name(p, name, sizeof name);
			unlinkat(p->dir_fd, name, 0); /* no stale copy */
		} else if (p->mode == OAUTH2_STORE_KEYRING) {
			err_set(e, rc, "cannot store the OAuth tokens in the "
			        "keyring: %s", err_msg(&ke));
		}
		err_clear(&ke);
	}
	if (rc != EX_OK && p->mode != OAUTH2_STORE_KEYRING)
		rc = write_file(p, &json, e);
	buf_wipe(&json);
	return rc;
}
