/* maildrop.c - a local user's side of the maildrop; see maildrop.h. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "maildrop.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "maildrop_format.h"
#include "privilege.h"
#include "sanitize.h"
#include "util.h"

/* ---- when -------------------------------------------------------------- */

bool maildrop_wanted(const struct options *opts, const struct conf *conf)
{
	if (getuid() == 0 || opts->config_file || !conf->unreadable_system_file ||
	    cli_find_setting(opts, "host"))
		return false;
	/* The caller's own configuration wins wherever it has the account
	 * asked for, or (without -a) any account to choose from. */
	if (opts->account)
		return !conf_find_account(conf, opts->account);
	return conf->count == 0;
}

bool maildrop_exists(void)
{
	struct err e = ERR_INIT;
	bool raised = privilege_raise(&e) == EX_OK;
	struct stat st;
	bool exists = stat(MAILDROP_DIR, &st) == 0 && S_ISDIR(st.st_mode);
	if (raised)
		privilege_lower();
	err_clear(&e);
	return exists;
}

/* ---- submitting -------------------------------------------------------- */

/* Only what the options say about this message travels; anything that
 * would shape the account (--host, --tls-trust-file, -X ...) is the
 * system's to decide. */
static int check_carried(const struct options *opts, struct err *e)
{
	for (size_t i = 0; i < opts->setting_count; i++) {
		const char *d = opts->settings[i].directive;
		if (strcmp(d, "dsn_notify") != 0 && strcmp(d, "dsn_return") != 0)
			return err_set(e, EX_USAGE, "the %s setting cannot be "
			               "passed on: this message goes through the "
			               "system's account (you cannot read its "
			               "configuration), whose settings are root's",
			               d);
	}
	return EX_OK;
}

static void request_from_options(const struct options *opts,
                                 struct maildrop_request *r)
{
	memset(r, 0, sizeof *r);
	r->account = xstrdup_or_null(opts->account);
	r->envelope_from = xstrdup_or_null(opts->envelope_from);
	r->full_name = xstrdup_or_null(opts->full_name);
	r->read_recipients = opts->read_recipients;
	r->read_envelope_from = opts->read_envelope_from;
	const struct cli_setting *s = cli_find_setting(opts, "dsn_notify");
	r->dsn_notify = s ? xstrdup(s->value) : NULL;
	s = cli_find_setting(opts, "dsn_return");
	r->dsn_return = s ? xstrdup(s->value) : NULL;
	r->recipient_count = opts->recipient_count;
	r->recipients = xcalloc(opts->recipient_count + 1,
	                        sizeof *r->recipients);
	for (size_t i = 0; i < opts->recipient_count; i++)
		r->recipients[i] = xstrdup(opts->recipients[i]);
	r->dsn_envid = xstrdup_or_null(opts->dsn_envid);
	if (opts->recipient_orcpt) {
		r->recipient_orcpt = xcalloc(opts->recipient_count + 1,
		                             sizeof *r->recipient_orcpt);
		for (size_t i = 0; i < opts->recipient_count; i++)
			r->recipient_orcpt[i] =
			        xstrdup_or_null(opts->recipient_orcpt[i]);
	}
}

/* The maildrop must be root's and keep submitters apart: sticky when
 * anyone but root may write it. */
static int open_maildrop(int *dirfd, struct err *e)
{
	*dirfd = open(MAILDROP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return err_set(e, errno == ENOENT ? EX_CONFIG : EX_TEMPFAIL,
		               "cannot open the maildrop %s: %s", MAILDROP_DIR,
		               strerror(errno));
	struct stat st;
	if (fstat(*dirfd, &st) != 0 || st.st_uid != 0 ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
		close(*dirfd);
		*dirfd = -1;
		return err_set(e, EX_CONFIG, "the maildrop %s is not safe (it "
		               "must belong to root, and be sticky when others "
		               "may write it)", MAILDROP_DIR);
	}
	return EX_OK;
}

/* An unnamed file in the maildrop; where the file system cannot make one,
 * a ".tmp-" file (*tmp_name) that the pickup ignores until it is stale. */
static int create_unnamed(int dirfd, char **tmp_name, int *fd,
                          struct err *e)
{
	*tmp_name = NULL;
	*fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (*fd >= 0)
		return EX_OK;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err_set(e, EX_TEMPFAIL, "cannot write to the maildrop "
		               "%s: %s", MAILDROP_DIR, strerror(errno));
	char *id = queue_new_id();
	struct buf b = BUF_INIT;
	buf_printf(&b, MAILDROP_TMP_PREFIX "%s", id);
	free(id);
	*tmp_name = buf_steal(&b);
	*fd = openat(dirfd, *tmp_name,
	             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0) {
		free(*tmp_name);
		*tmp_name = NULL;
		return err_set(e, EX_TEMPFAIL, "cannot write to the maildrop "
		               "%s: %s", MAILDROP_DIR, strerror(errno));
	}
	return EX_OK;
}

/* The entry's header, then the message from in_fd, at most
 * MAILDROP_MAX_SIZE bytes of it. */
static int write_entry(int fd, const struct maildrop_request *r, int in_fd,
                       struct err *e)
{
	struct buf head = BUF_INIT;
	maildrop_format(r, &head);
	int failed = fd_write_all(fd, head.data, head.len);
	buf_free(&head);
	char chunk[65536];
	uint64_t total = 0;
	while (!failed) {
		ssize_t n = read(in_fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR, "cannot read the message: "
			               "%s", strerror(errno));
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > (uint64_t)MAILDROP_MAX_SIZE)
			return err_set(e, EX_DATAERR, "the message is larger "
			               "than the maildrop takes (%ld bytes); "
			               "nothing was sent", MAILDROP_MAX_SIZE);
		failed = fd_write_all(fd, chunk, (size_t)n);
	}
	if (failed || fsync(fd) != 0)
		return err_set(e, EX_TEMPFAIL, "cannot write to the maildrop "
		               "%s: %s", MAILDROP_DIR, strerror(errno));
	if (total == 0)
		return err_set(e, EX_DATAERR, "no message: the input is empty");
	return EX_OK;
}

/* The commit point: the entry gets its name (a fresh ID) only now. */
static int name_entry(int dirfd, int fd, const char *tmp_name,
                      char **name_out, struct err *e)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		char *name = queue_new_id();
		int r;
		if (tmp_name) {
			r = linkat(dirfd, tmp_name, dirfd, name, 0);
		} else {
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
			r = linkat(AT_FDCWD, proc, dirfd, name,
			           AT_SYMLINK_FOLLOW);
		}
		if (r == 0) {
			*name_out = name;
			return fsync(dirfd) == 0
			               ? EX_OK
			               : err_set(e, EX_TEMPFAIL, "cannot sync "
			                         "the maildrop %s: %s",
			                         MAILDROP_DIR, strerror(errno));
		}
		int saved = errno;
		free(name);
		if (saved != EEXIST)
			return err_set(e, EX_TEMPFAIL, "cannot write to the "
			               "maildrop %s: %s", MAILDROP_DIR,
			               strerror(saved));
	}
	return err_set(e, EX_TEMPFAIL, "cannot find a free name in the "
	               "maildrop %s", MAILDROP_DIR);
}

int maildrop_submit(const struct options *opts, int in_fd, char **name_out,
                    struct err *e)
{
	*name_out = NULL;
	int rc = check_carried(opts, e);
	if (rc != EX_OK)
		return rc;
	int dirfd = -1, fd = -1;
	char *tmp_name = NULL;
	/* The group only to open the directory and create the file... */
	rc = privilege_raise(e);
	if (rc != EX_OK)
		return rc;
	rc = open_maildrop(&dirfd, e);
	if (rc == EX_OK)
		rc = create_unnamed(dirfd, &tmp_name, &fd, e);
	privilege_lower();
	/* ...the message is written as the user... */
	struct maildrop_request r;
	request_from_options(opts, &r);
	if (rc == EX_OK)
		rc = write_entry(fd, &r, in_fd, e);
	maildrop_request_free(&r);
	/* ...and the group again to name it. */
	if (rc == EX_OK)
		rc = privilege_raise(e);
	if (rc == EX_OK) {
		rc = name_entry(dirfd, fd, tmp_name, name_out, e);
		privilege_lower();
	}
	if (tmp_name) {
		if (privilege_raise(e) == EX_OK) {
			unlinkat(dirfd, tmp_name, 0);
			privilege_lower();
		}
		free(tmp_name);
	}
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int maildrop_read_head(int fd, struct buf *out)
{
	if (fd_read_all(fd, MAILDROP_MAX_HEADER, false, out) == 0 ||
	    errno == EFBIG)
		return 0;
	return -1;
}

/* ---- listing ------------------------------------------------------------ */

/* One entry of ours: its name, size, age and what it asks for. */
static void describe_own(int dirfd, const char *name, const struct stat *st,
                         struct buf *out)
{
	buf_printf(out, "%s  %lld bytes  age %llds  waiting in the maildrop "
	           "for root's flush\n", name, (long long)st->st_size,
	           (long long)(time(NULL) - st->st_mtime));
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	                                     O_CLOEXEC);
	struct buf text = BUF_INIT;
	struct maildrop_request r;
	size_t offset;
	struct err e = ERR_INIT;
	if (fd >= 0 && maildrop_read_head(fd, &text) == 0 &&
	    maildrop_parse(text.data ? text.data : "", text.len, &r, &offset,
	                   &e) == EX_OK) {
		buf_add_str(out, "  to");
		for (size_t i = 0; i < r.recipient_count; i++) {
			buf_add_str(out, " <");
			sanitize_append_line(out, r.recipients[i],
			                     strlen(r.recipients[i]));
			buf_add_char(out, '>');
		}
		if (r.read_recipients)
			buf_add_str(out, " (and the message's To/Cc/Bcc)");
		buf_add_char(out, '\n');
		maildrop_request_free(&r);
	}
	err_clear(&e);
	buf_free(&text);
	if (fd >= 0)
		close(fd);
}

static int list_maildrop(struct buf *out, size_t *shown, struct err *e)
{
	int dirfd = open(MAILDROP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return EX_OK; /* no maildrop, or not ours to read */
	DIR *dir = fdopendir(dup(dirfd));
	if (!dir) {
		close(dirfd);
		return err_set(e, EX_IOERR, "cannot read the maildrop %s: %s",
		               MAILDROP_DIR, strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		struct stat st;
		if (!queue_id_valid(de->d_name) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != getuid())
			continue;
		describe_own(dirfd, de->d_name, &st, out);
		(*shown)++;
	}
	closedir(dir);
	close(dirfd);
	return EX_OK;
}

int maildrop_list_own(struct buf *out, struct err *e)
{
	int rc = privilege_raise(e);
	if (rc != EX_OK)
		return rc;
	size_t shown = 0;
	rc = list_maildrop(out, &shown, e);
	if (rc == EX_OK)
		buf_printf(out, "%zu message(s) of yours in the maildrop %s\n",
		           shown, MAILDROP_DIR);
	if (rc == EX_OK)
		rc = queue_list_submitted((uint32_t)getuid(), out, e);
	privilege_lower();
	return rc;
}
