/* queue_dir.c - the queue directories: where they are, opening them
 * safely, and reading the entries they hold; see queue.h. */
#include "queue_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runenv.h"
#include "util.h"

#define QUEUE_READ_FIRST 4096 /* first read of a header */

/* ---- directories ------------------------------------------------------ */


char *queue_default_dir(const struct account *a, struct runenv *env)
{
	if (a && a->queue_dir && *a->queue_dir)
		return xstrdup(a->queue_dir);
	if (geteuid() == 0)
		return xstrdup(QUEUE_SYSTEM_DIR);
	struct buf b = BUF_INIT;
	/* $XDG_STATE_HOME, else ~/.local/state of the caller's own home
	 * (runenv.h: not a HOME that belongs to someone else). */
	const char *state = env ? runenv_state_home(env) : NULL;
	buf_add_str(&b, state ? state : "/.local/state");
	buf_add_str(&b, "/outbox/queue");
	return buf_steal(&b);
}

/* Whoever may write the queue may make us send anything as the user. */
static int check_dir(int fd, const char *path, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return err_set(e, EX_IOERR, "cannot examine the queue directory "
		               "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EX_CONFIG, "the queue directory %s is not a "
		               "directory", path);
	if (st.st_uid != geteuid())
		return err_set(e, EX_CONFIG, "the queue directory %s belongs to "
		               "user id %lu, not to you (%lu); refusing to use "
		               "it (set queue_dir to a directory of your own)",
		               path, (unsigned long)st.st_uid,
		               (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, EX_CONFIG, "the queue directory %s may be "
		               "written by group or others (mode %03o); refusing "
		               "to use it (chmod 700 %s)", path,
		               (unsigned)(st.st_mode & 0777), path);
	return EX_OK;
}

static int open_checked(const char *path, int *fd, struct err *e)
{
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return err_set(e, errno == ENOTDIR ? EX_CONFIG : EX_IOERR,
		               "cannot open the queue directory %s: %s", path,
		               strerror(errno));
	return check_dir(*fd, path, e);
}

/* The system spool lets the spool group read it (root:outbox 0750) so
 * that local users can list what they put in the maildrop (maildrop.h);
 * dead/ follows it, so a message given up stays listable by its
 * submitter. Only root's queue can be like that: a directory of a user's
 * own with group read gets the same, harmlessly. Best effort. */
static void share_dead_letters(struct queue_dir *d)
{
	struct stat parent, dead;
	if (fstat(d->fd, &parent) != 0 || fstat(d->dead_fd, &dead) != 0 ||
	    !(parent.st_mode & S_IRGRP) || parent.st_gid == 0 ||
	    (dead.st_gid == parent.st_gid && (dead.st_mode & S_IRGRP)))
		return;
	if (fchown(d->dead_fd, (uid_t)-1, parent.st_gid) == 0)
		(void)fchmod(d->dead_fd, 0750);
}

/* A queue_dir for path with its side paths named, nothing open yet. */
static struct queue_dir *new_queue_dir(const char *path)
{
	struct queue_dir *d = xcalloc(1, sizeof *d);
	d->fd = d->dead_fd = d->damaged_fd = -1;
	d->path = xstrdup(path);
	struct buf sub = BUF_INIT;
	buf_printf(&sub, "%s/%s", path, QUEUE_DEAD);
	d->dead_path = buf_steal(&sub);
	buf_printf(&sub, "%s/%s", path, QUEUE_DAMAGED);
	d->damaged_path = buf_steal(&sub);
	return d;
}

int queue_dir_open(const char *path, bool create, struct queue_dir **out,
                   struct err *e)
{
	*out = NULL;
	if (!*path)
		return err_set(e, EX_CONFIG, "the queue directory is empty");
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return err_set(e, EX_IOERR, "cannot examine the queue "
			               "directory %s: %s", path, strerror(errno));
		if (!create)
			return EX_OK;
		char *failed = NULL;
		if (make_dirs(path, 0700, &failed) != 0) {
			int rc = err_set(e, EX_IOERR, "cannot create the queue "
			                 "directory %s: %s", failed,
			                 strerror(errno));
			free(failed);
			return rc;
		}
	}
	struct queue_dir *d = new_queue_dir(path);
	int rc = open_checked(path, &d->fd, e);
	if (rc == EX_OK && mkdirat(d->fd, QUEUE_DEAD, 0700) != 0 &&
	    errno != EEXIST)
		rc = err_set(e, EX_IOERR, "cannot create %s: %s", d->dead_path,
		             strerror(errno));
	if (rc == EX_OK)
		rc = open_checked(d->dead_path, &d->dead_fd, e);
	if (rc == EX_OK)
		share_dead_letters(d);
	if (rc != EX_OK) {
		queue_dir_close(d);
		return rc;
	}
	*out = d;
	return EX_OK;
}

/* The system spool as a local user reads it (through the spool group):
 * root must own it and nobody else may write it; dead/ is read only when
 * it may be. */
int queue_dir_open_shared(const char *path, struct queue_dir **out,
                          struct err *e)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == EACCES
		               ? EX_OK
		               : err_set(e, EX_IOERR, "cannot open the queue "
		                         "directory %s: %s", path,
		                         strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return err_set(e, EX_CONFIG, "the system queue %s is not "
		               "root's alone; not reading it", path);
	}
	struct queue_dir *d = new_queue_dir(path);
	d->fd = fd;
	d->dead_fd = openat(fd, QUEUE_DEAD,
	                    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	*out = d; /* dead_fd -1: dead letters are not shown */
	return EX_OK;
}

int queue_open_damaged(struct queue_dir *d, bool create, struct err *e)
{
	if (d->damaged_fd >= 0)
		return EX_OK;
	if (create && mkdirat(d->fd, QUEUE_DAMAGED, 0700) != 0 &&
	    errno != EEXIST)
		return err_set(e, EX_IOERR, "cannot create %s: %s",
		               d->damaged_path, strerror(errno));
	if (!create && faccessat(d->fd, QUEUE_DAMAGED, F_OK,
	                         AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno == ENOENT)
		return EX_OK;
	int rc = open_checked(d->damaged_path, &d->damaged_fd, e);
	if (rc != EX_OK && d->damaged_fd >= 0) {
		close(d->damaged_fd);
		d->damaged_fd = -1;
	}
	return rc;
}

const char *queue_dir_path(const struct queue_dir *d)
{
	return d->path;
}

int queue_side_fd(const struct queue_dir *d, bool dead)
{
	return dead ? d->dead_fd : d->fd;
}

const char *queue_side_path(const struct queue_dir *d, bool dead)
{
	return dead ? d->dead_path : d->path;
}

int queue_sync_fd(int fd, const char *path, struct err *e)
{
	if (fsync(fd) != 0)
		return err_set(e, EX_IOERR, "cannot sync %s to disk: %s", path,
		               strerror(errno));
	return EX_OK;
}

int queue_dir_sync(struct queue_dir *d, struct err *e)
{
	int rc = queue_sync_fd(d->fd, d->path, e);
	if (rc == EX_OK)
		rc = queue_sync_fd(d->dead_fd, d->dead_path, e);
	if (rc == EX_OK && d->damaged_fd >= 0)
		rc = queue_sync_fd(d->damaged_fd, d->damaged_path, e);
	return rc;
}

void queue_dir_close(struct queue_dir *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	if (d->dead_fd >= 0)
		close(d->dead_fd);
	if (d->damaged_fd >= 0)
		close(d->damaged_fd);
	free(d->path);
	free(d->dead_path);
	free(d->damaged_path);
	free(d);
}

/* ---- reading entries ---------------------------------------------------- */

int queue_io_error(struct err *e, const char *what, const char *dir,
                    const char *name)
{
	return err_set(e, EX_IOERR, "cannot %s %s/%s: %s", what, dir, name,
	               strerror(errno));
}

/* Read the header of an ID.msg from fd (from offset 0): up to and
 * excluding the empty line that ends it. *data_offset: where the message
 * starts. */
static int read_header_text(int fd, struct buf *text, uint64_t *data_offset,
                            struct err *e)
{
	size_t want = QUEUE_READ_FIRST;
	size_t scanned = 0;
	buf_reset(text);
	for (;;) {
		buf_reserve(text, want);
		ssize_t n = pread(fd, text->data + text->len, want,
		                  (off_t)text->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR, "%s", strerror(errno));
		text->len += (size_t)n;
		text->data[text->len] = '\0';
		if (scanned == 0 && text->len >= 1 && text->data[0] != 'o')
			return err_set(e, EX_DATAERR, "not a queue file");
		for (size_t i = scanned ? scanned - 1 : 0; i + 1 < text->len;
		     i++) {
			if (text->data[i] == '\n' && text->data[i + 1] == '\n') {
				text->len = i + 1;
				text->data[text->len] = '\0';
				*data_offset = i + 2;
				return EX_OK;
			}
		}
		scanned = text->len;
		if (n == 0)
			return err_set(e, EX_DATAERR, "the header has no end "
			               "(truncated file?)");
		if (text->len > QUEUE_MAX_HEADER)
			return err_set(e, EX_DATAERR, "the header is larger "
			               "than %d bytes", QUEUE_MAX_HEADER);
		if (want < 1024 * 1024)
			want *= 2;
	}
}

int queue_read_small_file(int dirfd, const char *name, size_t max,
                          struct buf *out, bool *missing, struct err *e)
{
	*missing = false;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return EX_OK;
		}
		return err_set(e, EX_IOERR, "%s", strerror(errno));
	}
	int rc = EX_OK;
	if (fd_read_all(fd, max, false, out) != 0)
		rc = errno == EFBIG
		             ? err_set(e, EX_DATAERR, "larger than %zu bytes",
		                       max)
		             : err_set(e, EX_IOERR, "%s", strerror(errno));
	close(fd);
	return rc;
}

char *queue_entry_name(const char *id, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s%s", id, suffix);
	return buf_steal(&b);
}

int queue_read_entry(int dirfd, const char *dir_path, const char *id, int fd,
                     bool dead, struct queue_entry *en, struct err *e)
{
	memset(en, 0, sizeof *en);
	struct buf text = BUF_INIT;
	uint64_t offset = 0;
	int rc = read_header_text(fd, &text, &offset, e);
	if (rc == EX_OK)
		rc = queue_parse_header(text.data, text.len, en, e);
	if (rc == EX_OK && strcmp(en->id, id) != 0)
		rc = err_set(e, EX_DATAERR, "it says it is %s", en->id);
	if (rc != EX_OK) {
		err_prefix(e, "unreadable queue entry %s/%s.msg", dir_path, id);
		buf_free(&text);
		queue_entry_free(en);
		return rc;
	}
	en->data_offset = offset;
	en->dead = dead;
	buf_reset(&text);
	char *state_name = queue_entry_name(id, ".state");
	bool missing;
	struct err ignored = ERR_INIT;
	/* A torn ID.state (a crash while it was replaced) only loses the
	 * retry bookkeeping; the initial state in ID.msg stands in. */
	if (queue_read_small_file(dirfd, state_name, QUEUE_MAX_HEADER, &text,
	                          &missing, &ignored) != EX_OK ||
	    (!missing &&
	     queue_parse_state(text.data ? text.data : "", text.len,
	                       &en->state, &ignored) != EX_OK))
		en->state_ignored = true;
	err_clear(&ignored);
	free(state_name);
	buf_free(&text);
	return EX_OK;
}

static int compare_entries(const void *pa, const void *pb)
{
	const struct queue_entry *a = pa, *b = pb;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	if (a->created_nsec != b->created_nsec)
		return a->created_nsec < b->created_nsec ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int compare_strings(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

struct name_list {
	char **items;
	size_t count;
};

static void name_list_add(struct name_list *l, const char *s, size_t len)
{
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = xstrndup(s, len);
}

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

static bool name_list_has(const struct name_list *l, const char *s)
{
	return l->count &&
	       bsearch(&s, l->items, l->count, sizeof *l->items,
	               compare_strings) != NULL;
}

/* A file a dead writer left behind: remove it once it is clearly stale. */
static void remove_if_stale(int dirfd, const char *name, time_t now)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_mtime + QUEUE_STALE_SECONDS < now)
		unlinkat(dirfd, name, 0);
}

static bool has_suffix(const char *name, size_t len, const char *suffix,
                       size_t *base_len)
{
	size_t n = strlen(suffix);
	if (len < n || memcmp(name + len - n, suffix, n) != 0)
		return false;
	*base_len = len - n;
	return true;
}

/* name starts with a well-formed ID. */
static bool id_prefix_valid(const char *name)
{
	char id[QUEUE_ID_LEN + 1];
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	return queue_id_valid(id);
}

/* List the IDs of one directory (names that are IDs + ".msg"), sorted;
 * with tidy, remove what killed writers left behind. */
static int list_ids(int dirfd, const char *path, bool tidy,
                    struct name_list *ids, struct err *e)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return err_set(e, EX_IOERR, "cannot read the queue directory "
		               "%s: %s", path, strerror(errno));
	}
	rewinddir(dir);
	struct name_list states = {0}, stale = {0};
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		size_t len = strlen(name), base;
		if (strncmp(name, QUEUE_TMP_PREFIX, strlen(QUEUE_TMP_PREFIX)) ==
		    0)
			name_list_add(&stale, name, len);
		else if (has_suffix(name, len, ".msg", &base) &&
		         base == QUEUE_ID_LEN && id_prefix_valid(name))
			name_list_add(ids, name, base);
		else if (has_suffix(name, len, ".state", &base) &&
		         base == QUEUE_ID_LEN)
			name_list_add(&states, name, base);
	}
	closedir(dir);
	if (!tidy) {
		name_list_free(&states);
		name_list_free(&stale);
	}
	if (ids->count)
		qsort(ids->items, ids->count, sizeof *ids->items,
		      compare_strings);
	for (size_t i = 0; i < stale.count; i++)
		remove_if_stale(dirfd, stale.items[i], now);
	/* An ID.state alone: its entry moved or was delivered meanwhile. */
	for (size_t i = 0; i < states.count; i++) {
		if (name_list_has(ids, states.items[i]))
			continue;
		char *name = queue_entry_name(states.items[i], ".state");
		remove_if_stale(dirfd, name, now);
		free(name);
	}
	name_list_free(&states);
	name_list_free(&stale);
	return EX_OK;
}

static void problem_add(struct queue_problems *p, const char *id, bool dead,
                        const char *reason)
{
	p->items = xrealloc(p->items, (p->count + 1) * sizeof *p->items);
	struct queue_problem *item = &p->items[p->count++];
	item->id = xstrdup(id);
	item->dead = dead;
	item->reason = xstrdup(reason);
}

void queue_problems_free(struct queue_problems *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->items[i].id);
		free(p->items[i].reason);
	}
	free(p->items);
	p->items = NULL;
	p->count = 0;
}

static int scan_one(int dirfd, const char *path, bool dead,
                    struct queue_entry **entries, size_t *count,
                    struct queue_problems *problems, struct err *e)
{
	struct name_list ids = {0};
	int rc = list_ids(dirfd, path, true, &ids, e);
	for (size_t i = 0; rc == EX_OK && i < ids.count; i++) {
		const char *id = ids.items[i];
		char *name = queue_entry_name(id, ".msg");
		int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct err read_err = ERR_INIT;
		struct queue_entry en;
		if (fd < 0) {
			/* ENOENT: delivered or moved meanwhile. */
			if (errno != ENOENT) {
				queue_io_error(&read_err, "open", path, name);
				problem_add(problems, id, dead,
				            err_msg(&read_err));
			}
		} else if (queue_read_entry(dirfd, path, id, fd, dead, &en,
		                            &read_err) == EX_OK) {
			*entries = xrealloc(*entries,
			                    (*count + 1) * sizeof **entries);
			(*entries)[(*count)++] = en;
		} else {
			problem_add(problems, id, dead, err_msg(&read_err));
		}
		err_clear(&read_err);
		free(name);
		if (fd >= 0)
			close(fd);
	}
	name_list_free(&ids);
	return rc;
}

int queue_scan(struct queue_dir *d, bool with_dead,
               struct queue_entry **entries, size_t *count,
               struct queue_problems *problems, struct err *e)
{
	*entries = NULL;
	*count = 0;
	int rc = scan_one(d->fd, d->path, false, entries, count, problems, e);
	if (rc == EX_OK && with_dead)
		rc = scan_one(d->dead_fd, d->dead_path, true, entries, count,
		              problems, e);
	if (rc != EX_OK) {
		queue_entries_free(*entries, *count);
		*entries = NULL;
		*count = 0;
		return rc;
	}
	if (*count)
		qsort(*entries, *count, sizeof **entries, compare_entries);
	return EX_OK;
}

/* The first line of what ID.reason says, or why it cannot be read. */
static void read_reason(int dirfd, const char *id, struct buf *reason)
{
	char *name = queue_entry_name(id, ".reason");
	bool missing = false;
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT;
	if (queue_read_small_file(dirfd, name, QUEUE_MAX_REASON, &text,
	                          &missing, &e) != EX_OK)
		buf_printf(reason, "(%s: %s)", name, err_msg(&e));
	else if (missing)
		buf_add_str(reason, "(no reason recorded)");
	else
		buf_add(reason, text.data, strcspn(buf_str(&text), "\n"));
	buf_free(&text);
	err_clear(&e);
	free(name);
}

int queue_scan_damaged(struct queue_dir *d, struct queue_problems *out,
                       struct err *e)
{
	int rc = queue_open_damaged(d, false, e);
	if (rc != EX_OK || d->damaged_fd < 0)
		return rc;
	struct name_list ids = {0};
	rc = list_ids(d->damaged_fd, d->damaged_path, false, &ids, e);
	for (size_t i = 0; rc == EX_OK && i < ids.count; i++) {
		struct buf reason = BUF_INIT;
		read_reason(d->damaged_fd, ids.items[i], &reason);
		problem_add(out, ids.items[i], false, buf_str(&reason));
		buf_free(&reason);
	}
	name_list_free(&ids);
	return rc;
}

void queue_entries_free(struct queue_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		queue_entry_free(&entries[i]);
	free(entries);
}
