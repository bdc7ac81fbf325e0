/* tls_cache.c - the TLS session cache; see tls_cache.h. */
#include "tls_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_dir.h"
#include "runenv.h"
#include "tls_trust.h"
#include "util.h"

#define FILE_MAGIC "outbox-tls-session 2\n"
#define KEY_MAGIC "outbox-tls-session-key 1\n"
#define SHA256_LEN 32

/* ---- keys --------------------------------------------------------------- */

static void add_field(struct buf *out, const char *name, const char *value)
{
	if (value)
		buf_printf(out, "%s %zu:%s\n", name, strlen(value), value);
	else
		buf_printf(out, "%s -\n", name);
}

void tls_cache_key_build(const struct tls_cache_identity *id,
                         struct buf *out)
{
	buf_reset(out);
	buf_add_str(out, KEY_MAGIC);
	add_field(out, "gnutls", id->library_version);
	add_field(out, "host", id->host);
	buf_printf(out, "port %d\n", id->port);
	add_field(out, "socket", id->socket);
	add_field(out, "server_name", id->server_name);
	buf_printf(out, "starttls %d\n", id->starttls ? 1 : 0);
	buf_printf(out, "certcheck %d\n", id->certcheck ? 1 : 0);
	add_field(out, "fingerprint", id->fingerprint);
	add_field(out, "trust_file", id->trust_file);
	add_field(out, "trust_sha256", id->trust_digest);
	add_field(out, "crl_file", id->crl_file);
	add_field(out, "crl_sha256", id->crl_digest);
	add_field(out, "cert_file", id->cert_file);
	add_field(out, "cert_sha256", id->cert_digest);
	add_field(out, "key_file", id->key_file);
	add_field(out, "key_sha256", id->key_digest);
	add_field(out, "priorities", id->priorities);
	buf_printf(out, "min_dh_prime_bits %d\n", id->min_dh_prime_bits);
}

void tls_cache_file_name(const char *key, size_t key_len, char out[65])
{
	unsigned char digest[SHA256_LEN] = {0};
	(void)gnutls_hash_fast(GNUTLS_DIG_SHA256, key, key_len, digest);
	hex_encode(digest, sizeof digest, out);
}

/* ---- the file format ---------------------------------------------------- */

void tls_cache_format(const char *key, size_t key_len, const void *data,
                      size_t data_len, long long expires, long long stored,
                      struct buf *out)
{
	char head[192];
	int n = snprintf(head, sizeof head,
	                 FILE_MAGIC "expires %lld\nstored %lld\nkey %zu\n"
	                 "data %zu\n\n",
	                 expires, stored, key_len, data_len);
	buf_reset(out);
	buf_add_secret(out, head, (size_t)n);
	buf_add_secret(out, key, key_len);
	buf_add_secret(out, data, data_len);
}

/* "NAME DIGITS\n" at *p (at most 18 digits, no sign, no leading zero),
 * advancing *p. */
static bool parse_line(const char **p, const char *end, const char *name,
                       long long *out)
{
	size_t name_len = strlen(name);
	const char *s = *p;
	if ((size_t)(end - s) < name_len + 1 ||
	    memcmp(s, name, name_len) != 0 || s[name_len] != ' ')
		return false;
	s += name_len + 1;
	long long v = 0;
	int digits = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		if (++digits > 18)
			return false;
		v = v * 10 + (*s - '0');
		s++;
	}
	/* one spelling per number: no leading zero */
	if (digits == 0 || (digits > 1 && s[-digits] == '0') || s == end ||
	    *s != '\n')
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

bool tls_cache_parse(const char *text, size_t len,
                     struct tls_cache_entry *out)
{
	*out = (struct tls_cache_entry){0};
	const char *p = text, *end = text + len;
	size_t magic_len = strlen(FILE_MAGIC);
	long long expires, stored, key_len, data_len;
	if (len < magic_len || memcmp(p, FILE_MAGIC, magic_len) != 0)
		return false;
	p += magic_len;
	if (!parse_line(&p, end, "expires", &expires) ||
	    !parse_line(&p, end, "stored", &stored) ||
	    !parse_line(&p, end, "key", &key_len) ||
	    !parse_line(&p, end, "data", &data_len) || p == end || *p != '\n')
		return false;
	p++;
	if (key_len < 1 || key_len > TLS_CACHE_MAX_KEY || data_len < 1 ||
	    data_len > TLS_CACHE_MAX_DATA ||
	    (size_t)(end - p) != (size_t)key_len + (size_t)data_len)
		return false;
	out->expires = expires;
	out->stored = stored;
	out->key = p;
	out->key_len = (size_t)key_len;
	out->data = (const unsigned char *)p + key_len;
	out->data_len = (size_t)data_len;
	return true;
}

bool tls_cache_entry_usable(const struct tls_cache_entry *en,
                            const char *key, size_t key_len, time_t now)
{
	return en->key_len == key_len &&
	       memcmp(en->key, key, key_len) == 0 &&
	       en->stored <= (long long)now && (long long)now < en->expires &&
	       en->expires <= (long long)now + TLS_CACHE_MAX_LIFETIME;
}

/* Wipe what b holds and free it. Only [0, len) ever held anything: a
 * secret buffer grows by moving (buf_reserve_secret), so wiping the
 * whole allocation (buf_wipe: fd_read_all's is 64 KiB and more) would
 * only cost time. */
static void wipe_contents(struct buf *b)
{
	if (b->data)
		secure_zero(b->data, b->len);
	buf_free(b);
}

/* ---- the directory ------------------------------------------------------- */

char *tls_cache_dir(struct runenv *env)
{
	return cache_dir_path(env, TLS_CACHE_SYSTEM_SUBDIR, TLS_CACHE_USER_SUBDIR);
}

/* The cache directory, opened and checked: ours, a directory, no group or
 * other bits (taken away when it is ours: nobody else can have put a file
 * of ours in it). -1 when there is none (and create is false) or it fails
 * a check. */
static int open_dir(const char *path, bool create)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && make_dirs(path, 0700, NULL) == 0)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		                        O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() ||
	    ((st.st_mode & 077) && fchmod(fd, 0700) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- slots ------------------------------------------------------------- */

struct tls_cache_slot {
	char *dir;
	struct buf key;
	char name[65];
	long long loaded_expires; /* of the entry loaded; 0: none */
	long long loaded_stored;
};

/* The hex SHA-256 of a file's contents into out; false when it cannot be
 * read. secret: the copy read is wiped (a private key). */
static bool file_digest(const char *path, bool secret, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	struct buf b = BUF_INIT;
	bool ok = fd_read_all(fd, TLS_CACHE_MAX_HASHED_FILE, secret, &b) == 0;
	close(fd);
	if (ok) {
		unsigned char digest[SHA256_LEN];
		ok = gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data ? b.data : "",
		                      b.len, digest) == 0;
		if (ok)
			hex_encode(digest, sizeof digest, out);
	}
	if (secret)
		wipe_contents(&b);
	else
		buf_free(&b);
	return ok;
}

/* id's digest of path into digest (NULL for no file and "system"). */
static bool digest_field(const char *path, bool secret, char storage[65],
                         const char **digest)
{
	*digest = NULL;
	if (!path || !*path || strcmp(path, "system") == 0)
		return true;
	if (!file_digest(path, secret, storage))
		return false;
	*digest = storage;
	return true;
}

/* The system store stands for what the bundle holds now: its file's
 * identity (device, inode, size, modification time) goes into the key, so
 * update-ca-certificates (which writes a new file) ends every resumption
 * that the old store had verified (tls.c: check_resumed). A stat,
 * not a digest: reading the whole bundle is what tls_trust.c avoids. */
static void system_trust_stamp(char *out, size_t size)
{
	struct stat st;
	if (!*TLS_TRUST_SYSTEM_BUNDLE ||
	    stat(TLS_TRUST_SYSTEM_BUNDLE, &st) != 0) {
		snprintf(out, size, "system store (no bundle)");
		return;
	}
	snprintf(out, size, "system bundle %llu:%llu:%lld:%lld.%09ld",
	         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	         (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	         st.st_mtim.tv_nsec);
}

struct tls_cache_slot *tls_cache_slot_new(const struct tls_cache_identity *id,
                                          const char *cache_dir)
{
	if (!cache_dir)
		return NULL;
	char *dir = xstrdup(cache_dir);
	struct tls_cache_identity full = *id;
	char trust[65], crl[65], cert[65], key[65], system[128];
	if (!digest_field(id->trust_file, false, trust, &full.trust_digest) ||
	    !digest_field(id->crl_file, false, crl, &full.crl_digest) ||
	    !digest_field(id->cert_file, false, cert, &full.cert_digest) ||
	    !digest_field(id->key_file, true, key, &full.key_digest)) {
		free(dir);
		return NULL;
	}
	if (!full.trust_digest && id->certcheck && !id->fingerprint) {
		system_trust_stamp(system, sizeof system);
		full.trust_digest = system;
	}
	struct tls_cache_slot *s = xcalloc(1, sizeof *s);
	s->dir = dir;
	tls_cache_key_build(&full, &s->key);
	if (s->key.len > TLS_CACHE_MAX_KEY) {
		tls_cache_slot_free(s);
		return NULL;
	}
	tls_cache_file_name(s->key.data, s->key.len, s->name);
	return s;
}

bool tls_cache_load(struct tls_cache_slot *s, struct buf *data)
{
	buf_reset(data);
	int dir = open_dir(s->dir, false);
	if (dir < 0)
		return false;
	/* O_NONBLOCK: a FIFO planted under the name must not hang us. */
	int fd = openat(dir, s->name,
	                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			(void)unlinkat(dir, s->name, 0); /* e.g. a symlink */
		close(dir);
		return false;
	}
	struct stat st;
	struct buf text = BUF_INIT;
	struct tls_cache_entry en;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	          st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	          st.st_nlink == 1 && st.st_size > 0 &&
	          st.st_size <= TLS_CACHE_MAX_FILE &&
	          fd_read_all(fd, TLS_CACHE_MAX_FILE, true, &text) == 0 &&
	          tls_cache_parse(text.data, text.len, &en) &&
	          tls_cache_entry_usable(&en, s->key.data, s->key.len,
	                                 time(NULL));
	close(fd);
	if (ok) {
		buf_add_secret(data, en.data, en.data_len);
		s->loaded_expires = en.expires;
		s->loaded_stored = en.stored;
	} else
		(void)unlinkat(dir, s->name, 0);
	wipe_contents(&text);
	close(dir);
	return ok;
}

bool tls_cache_fresh(const struct tls_cache_slot *s)
{
	return s->loaded_expires != 0 &&
	       s->loaded_expires - (long long)time(NULL) >=
	               TLS_CACHE_LIFETIME / 2;
}

bool tls_cache_vouches(const struct tls_cache_slot *s, time_t now)
{
	return s->loaded_expires != 0 && s->loaded_stored <= (long long)now &&
	       (long long)now < s->loaded_expires;
}

void tls_cache_store(struct tls_cache_slot *s, const void *data, size_t len,
                     time_t not_after)
{
	long long now = (long long)time(NULL);
	long long expires = now + TLS_CACHE_LIFETIME;
	if ((long long)not_after < expires)
		expires = (long long)not_after;
	if (len == 0 || len > TLS_CACHE_MAX_DATA || expires <= now)
		return;
	int dir = open_dir(s->dir, true);
	if (dir < 0)
		return;
	unsigned char nonce[8];
	char tmp[32];
	if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof nonce) != 0) {
		close(dir);
		return;
	}
	char hex[17];
	hex_encode(nonce, sizeof nonce, hex);
	snprintf(tmp, sizeof tmp, ".tmp-%s", hex);
	struct buf file = BUF_INIT;
	tls_cache_format(s->key.data, s->key.len, data, len, expires, now,
	                 &file);
	int fd = openat(dir, tmp,
	                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                0600);
	if (fd >= 0) {
		/* No fsync: a file torn by a crash fails to parse and is
		 * removed, at the cost of one full handshake. */
		bool ok = fd_write_all(fd, file.data, file.len) == 0;
		ok = close(fd) == 0 && ok;
		/* The old entry goes first: a rename over an existing file
		 * makes ext4 write the new one out at once (auto_da_alloc).
		 * Meanwhile a concurrent run finds no entry: one full
		 * handshake. */
		if (ok)
			(void)unlinkat(dir, s->name, 0);
		if (!ok || renameat(dir, tmp, dir, s->name) != 0)
			(void)unlinkat(dir, tmp, 0);
	}
	wipe_contents(&file);
	close(dir);
}

void tls_cache_discard(struct tls_cache_slot *s)
{
	int dir = open_dir(s->dir, false);
	if (dir < 0)
		return;
	(void)unlinkat(dir, s->name, 0);
	close(dir);
}

void tls_cache_slot_free(struct tls_cache_slot *s)
{
	if (!s)
		return;
	free(s->dir);
	buf_free(&s->key);
	free(s);
}
