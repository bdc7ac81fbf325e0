/* queue.c - storing entries and changing them under their lock; see
 * queue.h for the layout and queue_format.h for the format.
 *
 * Durability: an entry is one file, ID.msg, written under a temporary name,
 * fsync'ed, then given its name with link(2) (which, unlike rename, refuses
 * to replace an existing entry) and the directory fsync'ed: two fsyncs per
 * submission, the cost of writing one file durably. The mutable state lives
 * beside it in ID.state so a retry never rewrites the message. */
#include "queue_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "util.h"

#define QUEUE_ID_TRIES 16     /* fresh IDs tried when one exists */
#define QUEUE_HASH_CHUNK 65536 /* read size when checking a body */

long queue_retry_delay(unsigned attempts)
{
	long delay = QUEUE_RETRY_FIRST;
	for (unsigned i = 1; i < attempts && delay < QUEUE_RETRY_MAX; i++)
		delay *= 2;
	return delay < QUEUE_RETRY_MAX ? delay : QUEUE_RETRY_MAX;
}

/* ---- storing ------------------------------------------------------------ */

struct file_writer {
	int fd;
	const char *dir;
	const char *name;
	gnutls_hash_hd_t body_hash; /* NULL: not hashing */
};

static int write_all(void *ctx, const char *data, size_t len, struct err *e)
{
	struct file_writer *w = ctx;
	if (w->body_hash && gnutls_hash(w->body_hash, data, len) < 0)
		return err_set(e, EX_SOFTWARE, "cannot hash the message");
	if (fd_write_all(w->fd, data, len) != 0)
		return queue_io_error(e, "write", w->dir, w->name);
	return EX_OK;
}

/* A fresh ID: the time (UTC) for sorting and reading, 64 random bits for
 * uniqueness (link(2) refusing an existing name settles the rest). */
char *queue_new_id(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	uint64_t r = 0;
	/* Never block at boot for entropy: uniqueness, not secrecy. */
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)getpid() ^
		    ((uint64_t)now.tv_sec << 40) ^ (uint64_t)(uintptr_t)&now;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s-%016" PRIx64, stamp, r);
	return buf_steal(&b);
}

/* 32 bytes of SHA-256 as 64 lower-case hex digits and a NUL. */
static void hex_digest(const unsigned char *digest, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[QUEUE_DIGEST_HEX_LEN] = '\0';
}

/* Give fd the group and mode (0640) of the one it is shared with; see
 * share_with_submitter. Failing is harmless: the file stays root's. */
static void share_like(int fd, gid_t gid)
{
	if (fchown(fd, (uid_t)-1, gid) == 0)
		(void)fchmod(fd, 0640);
}

/* A message a local user put in the maildrop stays listable by that user
 * (maildrop.h): when the queue directory itself is group-readable (the
 * system spool, root:outbox 0750), its entry is made readable by the same
 * group, which only the setgid outbox holds and which lists an entry only
 * to its submitter. Everything else stays 0600. -1: private. */
static int shared_gid(int dirfd, const struct queue_entry *en)
{
	struct stat st;
	if (!en->has_submitter || fstat(dirfd, &st) != 0 ||
	    !(st.st_mode & S_IRGRP) || st.st_gid == 0)
		return -1;
	return (int)st.st_gid;
}

/* The group an entry's side files share, from its open ID.msg. */
static int entry_gid(int msg_fd)
{
	struct stat st;
	if (msg_fd < 0 || fstat(msg_fd, &st) != 0 || !(st.st_mode & S_IRGRP))
		return -1;
	return (int)st.st_gid;
}

static int write_entry_file(struct queue_dir *d, struct queue_entry *en,
                            queue_data_fn data, void *ctx,
                            const char *tmp_name, struct err *e)
{
	int fd = openat(d->fd, tmp_name,
	                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                0600);
	if (fd < 0)
		return queue_io_error(e, "create", d->path, tmp_name);
	struct file_writer w = {fd, d->path, tmp_name, NULL};
	int gid = shared_gid(d->fd, en);
	if (gid >= 0)
		share_like(fd, (gid_t)gid);
	struct buf header = BUF_INIT;
	size_t digest_at = 0;
	en->body_sha256[0] = '\0';
	queue_format_header(en, &header, &digest_at);
	en->data_offset = header.len;
	int rc = write_all(&w, header.data, header.len, e);
	buf_free(&header);
	if (rc == EX_OK && gnutls_hash_init(&w.body_hash, GNUTLS_DIG_SHA256) < 0)
		rc = err_set(e, EX_SOFTWARE, "cannot hash the message");
	if (rc == EX_OK)
		rc = data(ctx, write_all, &w, e);
	/* The digest goes into the placeholder the header left for it: one
	 * pass over the message, and the file is still unnamed. */
	if (rc == EX_OK) {
		unsigned char digest[32];
		gnutls_hash_output(w.body_hash, digest);
		hex_digest(digest, en->body_sha256);
		if (pwrite(fd, en->body_sha256, QUEUE_DIGEST_HEX_LEN,
		           (off_t)digest_at) != QUEUE_DIGEST_HEX_LEN)
			rc = queue_io_error(e, "write", d->path, tmp_name);
	}
	if (w.body_hash)
		gnutls_hash_deinit(w.body_hash, NULL);
	if (rc == EX_OK && fsync(fd) != 0)
		rc = queue_io_error(e, "sync", d->path, tmp_name);
	if (close(fd) != 0 && rc == EX_OK)
		rc = queue_io_error(e, "write", d->path, tmp_name);
	return rc;
}

int queue_store(struct queue_dir *d, struct queue_entry *en,
                queue_data_fn data, void *ctx, struct err *e)
{
	for (int attempt = 0; attempt < QUEUE_ID_TRIES; attempt++) {
		free(en->id);
		en->id = queue_new_id();
		char *tmp = queue_entry_name(QUEUE_TMP_PREFIX, en->id);
		char *final = queue_entry_name(en->id, ".msg");
		int rc = write_entry_file(d, en, data, ctx, tmp, e);
		bool taken = false;
		/* The commit point: the entry appears whole, or not at all. */
		if (rc == EX_OK && linkat(d->fd, tmp, d->fd, final, 0) != 0) {
			taken = errno == EEXIST;
			if (!taken)
				rc = queue_io_error(e, "create", d->path, final);
		}
		unlinkat(d->fd, tmp, 0);
		free(tmp);
		free(final);
		if (rc != EX_OK)
			return rc;
		if (!taken)
			return queue_sync_fd(d->fd, d->path, e);
	}
	return err_set(e, EX_SOFTWARE, "cannot find a free queue ID in %s",
	               d->path);
}

static int write_message(void *ctx, msg_write_fn write, void *write_ctx,
                         struct err *e)
{
	return msg_write(ctx, false, write, write_ctx, e);
}

int queue_submit(const struct account *a, const struct options *opts,
                 const struct envelope *env, const struct message *m,
                 const char *last_error, char **id_out, struct err *e)
{
	*id_out = NULL;
	/* A message from the maildrop stays in the system spool, where its
	 * submitter can list it (maildrop.h), whatever queue_dir says. */
	char *path = env->has_submitter ? xstrdup(QUEUE_SYSTEM_DIR)
	                                : queue_default_dir(a, a->env);
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, true, &d, e);
	free(path);
	if (rc != EX_OK)
		return rc;
	if (!d) /* cannot happen with create: for the static analyser */
		return err_set(e, EX_SOFTWARE, "no queue directory");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct queue_entry en = {0};
	en.created = now.tv_sec;
	en.created_nsec = now.tv_nsec;
	/* An account of the configuration is found again by name; without
	 * one, the command-line settings alone define it. */
	en.account = a->file ? xstrdup(a->name) : NULL;
	en.setting_count = opts->setting_count;
	en.settings = xcalloc(opts->setting_count + 1, sizeof *en.settings);
	for (size_t i = 0; i < opts->setting_count; i++) {
		en.settings[i].directive = xstrdup(opts->settings[i].directive);
		en.settings[i].value = xstrdup(opts->settings[i].value);
	}
	en.from = xstrdup(env->from ? env->from : "");
	en.has_submitter = env->has_submitter;
	en.submitter_uid = env->submitter_uid;
	en.submitter = xstrdup_or_null(env->submitter);
	for (size_t i = 0; i < env->rcpt.count; i++)
		addr_list_add(&en.rcpt, NULL, env->rcpt.items[i].mailbox);
	en.dsn_envid = xstrdup_or_null(env->dsn_envid);
	for (size_t i = 0; i < env->dsn_orcpt.count; i++)
		addr_list_add(&en.dsn_orcpt, env->dsn_orcpt.items[i].display,
		              env->dsn_orcpt.items[i].mailbox);
	en.size = msg_size(m);
	en.state.queued = now.tv_sec;
	en.state.attempts = last_error ? 1 : 0;
	en.state.next_attempt =
	        now.tv_sec + (last_error ? queue_retry_delay(1) : 0);
	en.state.last_error = xstrdup_or_null(last_error);
	rc = queue_store(d, &en, write_message, (void *)m, e);
	if (rc == EX_OK)
		*id_out = xstrdup(en.id);
	queue_entry_free(&en);
	queue_dir_close(d);
	return rc;
}

/* ---- locked entries ------------------------------------------------------ */

/* Open and flock ID.msg without waiting. *fd is -1 unless *result is
 * QUEUE_ACQUIRED; an error only when it cannot be opened or locked. */
static int lock_entry(struct queue_dir *d, const char *id, bool dead, int *fd,
                      enum queue_acquire_result *result, struct err *e)
{
	*fd = -1;
	*result = QUEUE_GONE;
	if (!queue_id_valid(id))
		return EX_OK;
	int dirfd = queue_side_fd(d, dead);
	const char *path = queue_side_path(d, dead);
	char *name = queue_entry_name(id, ".msg");
	int rc = EX_OK;
	int f = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno != ENOENT)
			rc = queue_io_error(e, "open", path, name);
	} else if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			*result = QUEUE_BUSY;
		else
			rc = queue_io_error(e, "lock", path, name);
	} else {
		/* Whoever held the lock before us may have delivered
		 * (unlinked) or moved the entry: only the file still under
		 * this name counts. */
		struct stat mine, there;
		if (fstat(f, &mine) == 0 && mine.st_nlink > 0 &&
		    fstatat(dirfd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
		    mine.st_ino == there.st_ino && mine.st_dev == there.st_dev) {
			*result = QUEUE_ACQUIRED;
			*fd = f;
		}
	}
	if (f >= 0 && *fd < 0)
		close(f);
	free(name);
	return rc;
}

int queue_acquire(struct queue_dir *d, const char *id, bool dead,
                  struct queue_handle *h, enum queue_acquire_result *result,
                  struct err *e)
{
	memset(h, 0, sizeof *h);
	h->fd = -1;
	int fd;
	int rc = lock_entry(d, id, dead, &fd, result, e);
	if (rc != EX_OK || *result != QUEUE_ACQUIRED)
		return rc;
	rc = queue_read_entry(queue_side_fd(d, dead), queue_side_path(d, dead),
	                      id, fd, dead, &h->entry, e);
	if (rc != EX_OK) {
		*result = QUEUE_GONE;
		close(fd);
		return rc;
	}
	h->dir = d;
	h->fd = fd;
	return EX_OK;
}

/* The message bytes of the locked entry must be exactly what was stored:
 * as many as its header says and, when it records one, with that SHA-256.
 * A torn write, a truncation or a flipped bit is caught here, before any
 * byte of it reaches a server. */
static int check_body(struct queue_handle *h, const char *path,
                      struct err *e)
{
	gnutls_hash_hd_t hash;
	if (gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0)
		return err_set(e, EX_SOFTWARE, "cannot hash the message");
	char *chunk = xmalloc(QUEUE_HASH_CHUNK);
	uint64_t off = h->entry.data_offset, total = 0;
	int rc = EX_OK;
	for (;;) {
		ssize_t n = pread(h->fd, chunk, QUEUE_HASH_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(e, EX_IOERR, "%s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		gnutls_hash(hash, chunk, (size_t)n);
		off += (uint64_t)n;
		total += (uint64_t)n;
	}
	free(chunk);
	unsigned char digest[32];
	char hex[QUEUE_DIGEST_HEX_LEN + 1];
	gnutls_hash_deinit(hash, digest);
	hex_digest(digest, hex);
	if (rc == EX_OK && total != h->entry.size)
		rc = err_set(e, EX_DATAERR, "damaged: the message is %llu bytes, "
		             "its header says %llu", (unsigned long long)total,
		             (unsigned long long)h->entry.size);
	else if (rc == EX_OK && h->entry.body_sha256[0] &&
	         strcmp(hex, h->entry.body_sha256) != 0)
		rc = err_set(e, EX_DATAERR, "damaged: the message bytes do not "
		             "have the SHA-256 its header records");
	if (rc != EX_OK)
		err_prefix(e, "queue entry %s/%s.msg", path, h->entry.id);
	return rc;
}

int queue_handle_message(struct queue_handle *h, struct message **m,
                         struct err *e)
{
	*m = NULL;
	const char *path = queue_side_path(h->dir, h->entry.dead);
	int rc = check_body(h, path, e);
	if (rc != EX_OK)
		return rc;
	if (lseek(h->fd, (off_t)h->entry.data_offset, SEEK_SET) < 0)
		return err_set(e, EX_IOERR, "cannot read queue entry %s/%s.msg: "
		               "%s", path, h->entry.id, strerror(errno));
	rc = msg_read_header(h->fd, m, e);
	if (rc == EX_OK)
		rc = msg_read_body(*m, h->fd, NULL, NULL, e);
	/* Stored bytes are re-read as a message: it must come out the same
	 * size, or what goes on the wire would not be what was queued. */
	if (rc == EX_OK && msg_size(*m) != h->entry.size)
		rc = err_set(e, EX_DATAERR, "damaged: the message reads as %llu "
		             "bytes, its header says %llu",
		             (unsigned long long)msg_size(*m),
		             (unsigned long long)h->entry.size);
	if (rc != EX_OK) {
		err_prefix(e, "queue entry %s/%s.msg", path, h->entry.id);
		msg_free(*m);
		*m = NULL;
	}
	return rc;
}

int queue_handle_message_header(struct queue_handle *h, struct buf *out,
                                struct err *e)
{
	uint64_t off = h->entry.data_offset;
	char chunk[4096];
	buf_reset(out);
	for (;;) {
		ssize_t n = pread(h->fd, chunk, sizeof chunk, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR, "cannot read queue entry "
			               "%s: %s", h->entry.id, strerror(errno));
		if (n == 0)
			return EX_OK;
		size_t before = out->len;
		buf_add(out, chunk, (size_t)n);
		off += (uint64_t)n;
		/* The header ends at the first empty line. */
		size_t from = before >= 3 ? before - 3 : 0;
		if (out->len >= 2 && out->data[0] == '\r' &&
		    out->data[1] == '\n') {
			buf_reset(out);
			return EX_OK;
		}
		for (size_t i = from; i + 3 < out->len; i++) {
			if (memcmp(out->data + i, "\r\n\r\n", 4) == 0) {
				out->len = i + 2;
				out->data[out->len] = '\0';
				return EX_OK;
			}
		}
		if (out->len > MSG_MAX_HEADER_BLOCK) {
			out->len = MSG_MAX_HEADER_BLOCK;
			out->data[out->len] = '\0';
			return EX_OK;
		}
	}
}

/* Replace dirfd/ID+suffix by text; durable: fsync the file first (a
 * rename is only as good as the data it points to). gid >= 0: shared
 * with that group (share_like). */
static int replace_small_file(int dirfd, const char *path, const char *id,
                              const char *suffix, const struct buf *text,
                              bool durable, int gid, struct err *e)
{
	struct buf tmp_name = BUF_INIT;
	buf_printf(&tmp_name, "%s%s%s", QUEUE_TMP_PREFIX, id, suffix);
	char *tmp = buf_steal(&tmp_name);
	char *final = queue_entry_name(id, suffix);
	int rc = EX_OK;
	unlinkat(dirfd, tmp, 0); /* our own leftover: we hold the lock */
	int fd = openat(dirfd, tmp,
	                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                0600);
	if (fd < 0) {
		rc = queue_io_error(e, "create", path, tmp);
	} else {
		struct file_writer w = {fd, path, tmp, NULL};
		if (gid >= 0)
			share_like(fd, (gid_t)gid);
		rc = write_all(&w, text->data, text->len, e);
		if (rc == EX_OK && durable && fsync(fd) != 0)
			rc = queue_io_error(e, "sync", path, tmp);
		if (close(fd) != 0 && rc == EX_OK)
			rc = queue_io_error(e, "write", path, tmp);
		if (rc == EX_OK && renameat(dirfd, tmp, dirfd, final) != 0)
			rc = queue_io_error(e, "rename", path, tmp);
		if (rc != EX_OK)
			unlinkat(dirfd, tmp, 0);
	}
	free(tmp);
	free(final);
	return rc;
}

/* Replace dirfd/ID.state by st. */
static int write_state(int dirfd, const char *path, const char *id,
                       const struct queue_state *st, bool durable,
                       int gid, struct err *e)
{
	struct buf text = BUF_INIT;
	queue_format_state(st, &text);
	int rc = replace_small_file(dirfd, path, id, ".state", &text, durable,
	                            gid, e);
	buf_free(&text);
	return rc;
}

int queue_handle_save_state(struct queue_handle *h, struct err *e)
{
	/* A retry count lost in a crash only brings the next attempt
	 * forward (see queue_read_entry): no fsync for that. The recipients
	 * that already have the message must survive one, or they would be
	 * sent it again. */
	return write_state(queue_side_fd(h->dir, h->entry.dead),
	                   queue_side_path(h->dir, h->entry.dead), h->entry.id,
	                   &h->entry.state,
	                   h->entry.state.delivered.count > 0 ||
	                           h->entry.state.refused.count > 0,
	                   entry_gid(h->fd), e);
}

/* The recipients of from that already have the message, added to to,
 * and with_refused, those refused for good. */
static void copy_delivered(struct queue_state *to,
                           const struct queue_state *from, bool with_refused)
{
	for (size_t i = 0; i < from->delivered.count; i++)
		addr_list_add(&to->delivered, NULL,
		              from->delivered.items[i].mailbox);
	for (size_t i = 0; with_refused && i < from->refused.count; i++)
		addr_list_add(&to->refused, NULL,
		              from->refused.items[i].mailbox);
}

/* Move ID.msg from one side to the other, with new_state already written
 * on the arrival side; then drop the departure side's ID.state. */
static int move_entry(struct queue_handle *h, bool to_dead,
                      struct queue_state *new_state, struct err *e)
{
	struct queue_dir *d = h->dir;
	int from = queue_side_fd(d, !to_dead), to = queue_side_fd(d, to_dead);
	const char *to_path = queue_side_path(d, to_dead);
	char *name = queue_entry_name(h->entry.id, ".msg");
	char *state = queue_entry_name(h->entry.id, ".state");
	int rc = write_state(to, to_path, h->entry.id, new_state, true,
	                     entry_gid(h->fd), e);
	if (rc == EX_OK)
		rc = queue_sync_fd(to, to_path, e);
	/* One atomic step: the entry is on one side or the other. */
	if (rc == EX_OK && renameat(from, name, to, name) != 0)
		rc = queue_io_error(e, "move", queue_side_path(d, !to_dead), name);
	if (rc == EX_OK)
		rc = queue_sync_fd(to, to_path, e);
	if (rc == EX_OK) {
		unlinkat(from, state, 0);
		rc = queue_sync_fd(from, queue_side_path(d, !to_dead), e);
		queue_state_free(&h->entry.state);
		h->entry.state = *new_state;
		memset(new_state, 0, sizeof *new_state);
		h->entry.dead = to_dead;
	}
	free(name);
	free(state);
	return rc;
}

int queue_handle_kill(struct queue_handle *h, const char *reason,
                      struct err *e)
{
	if (h->entry.dead)
		return EX_OK;
	struct queue_state st = {0};
	st.queued = h->entry.state.queued;
	st.attempts = h->entry.state.attempts;
	st.next_attempt = h->entry.state.next_attempt;
	st.last_error = xstrdup_or_null(h->entry.state.last_error);
	st.dead_since = time(NULL);
	st.dead_reason = xstrdup(reason);
	copy_delivered(&st, &h->entry.state, true);
	int rc = move_entry(h, true, &st, e);
	queue_state_free(&st);
	return rc;
}

int queue_handle_revive(struct queue_handle *h, struct err *e)
{
	if (!h->entry.dead)
		return EX_OK;
	time_t now = time(NULL);
	struct queue_state st = {0};
	st.queued = now;
	st.next_attempt = now;
	/* A requeued message still never goes twice to one recipient;
	 * the ones refused are tried again (that is what a requeue is
	 * for: the problem was fixed). */
	copy_delivered(&st, &h->entry.state, false);
	int rc = move_entry(h, false, &st, e);
	queue_state_free(&st);
	return rc;
}

int queue_handle_remove(struct queue_handle *h, struct err *e)
{
	int dirfd = queue_side_fd(h->dir, h->entry.dead);
	const char *path = queue_side_path(h->dir, h->entry.dead);
	char *name = queue_entry_name(h->entry.id, ".msg");
	char *state = queue_entry_name(h->entry.id, ".state");
	int rc = EX_OK;
	/* ID.msg first: once it is gone the entry is gone; an ID.state
	 * left alone by a crash is removed by a later scan. */
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		rc = queue_io_error(e, "remove", path, name);
	if (rc == EX_OK)
		unlinkat(dirfd, state, 0);
	free(name);
	free(state);
	return rc;
}

/* Give the locked ID.msg (fd) a second name in damaged/, refusing to
 * replace anything there; a name already there for this very file (a
 * crash between link and unlink) counts as done. */
static int link_aside(struct queue_dir *d, int fd, int from, const char *name,
                      struct err *e)
{
	if (linkat(from, name, d->damaged_fd, name, 0) == 0)
		return EX_OK;
	if (errno != EEXIST)
		return queue_io_error(e, "move aside", d->damaged_path, name);
	struct stat mine, there;
	if (fstat(fd, &mine) == 0 &&
	    fstatat(d->damaged_fd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
	    mine.st_ino == there.st_ino && mine.st_dev == there.st_dev)
		return EX_OK;
	return err_set(e, EX_IOERR, "cannot set %s aside: %s/%s already "
	               "exists (move one of them away by hand)", name,
	               d->damaged_path, name);
}

/* Move the locked entry id (fd: its ID.msg) from the queue or dead/ into
 * damaged/: first ID.reason, so whatever is there is explained, then
 * ID.state, then ID.msg; nothing is ever deleted on the way. */
static int move_aside(struct queue_dir *d, int fd, const char *id, bool dead,
                      const char *reason, struct err *e)
{
	int from = queue_side_fd(d, dead);
	const char *from_path = queue_side_path(d, dead);
	char *msg = queue_entry_name(id, ".msg");
	char *state = queue_entry_name(id, ".state");
	struct buf text = BUF_INIT;
	buf_printf(&text, "%s\n", reason);
	int rc = queue_open_damaged(d, true, e);
	if (rc == EX_OK)
		rc = replace_small_file(d->damaged_fd, d->damaged_path, id,
		                        ".reason", &text, true, -1, e);
	if (rc == EX_OK && renameat(from, state, d->damaged_fd, state) != 0 &&
	    errno != ENOENT)
		rc = queue_io_error(e, "move aside", from_path, state);
	if (rc == EX_OK)
		rc = link_aside(d, fd, from, msg, e);
	if (rc == EX_OK)
		rc = queue_sync_fd(d->damaged_fd, d->damaged_path, e);
	if (rc == EX_OK && unlinkat(from, msg, 0) != 0 && errno != ENOENT)
		rc = queue_io_error(e, "remove", from_path, msg);
	if (rc == EX_OK)
		rc = queue_sync_fd(from, from_path, e);
	buf_free(&text);
	free(msg);
	free(state);
	return rc;
}

int queue_handle_set_aside(struct queue_handle *h, const char *reason,
                           struct err *e)
{
	return move_aside(h->dir, h->fd, h->entry.id, h->entry.dead, reason, e);
}

int queue_set_aside(struct queue_dir *d, const struct queue_problem *p,
                    bool *moved, struct err *e)
{
	*moved = false;
	int fd;
	enum queue_acquire_result res;
	int rc = lock_entry(d, p->id, p->dead, &fd, &res, e);
	if (rc != EX_OK || res != QUEUE_ACQUIRED)
		return rc;
	/* Read it again under the lock: only what is still unreadable (and
	 * not merely unreadable now, like an I/O error) goes aside. */
	struct queue_entry en;
	struct err why = ERR_INIT;
	int read_rc = queue_read_entry(queue_side_fd(d, p->dead),
	                               queue_side_path(d, p->dead), p->id, fd,
	                               p->dead, &en, &why);
	queue_entry_free(&en);
	if (read_rc == EX_DATAERR) {
		rc = move_aside(d, fd, p->id, p->dead, err_msg(&why), e);
		*moved = rc == EX_OK;
	}
	err_clear(&why);
	close(fd);
	return rc;
}

void queue_handle_release(struct queue_handle *h)
{
	if (h->fd >= 0)
		close(h->fd); /* releases the flock */
	h->fd = -1;
	queue_entry_free(&h->entry);
}

