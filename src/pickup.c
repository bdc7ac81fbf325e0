/* pickup.c - root's side of the maildrop; see pickup.h. */
#define _GNU_SOURCE /* renameat2 */
#include "pickup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maildrop.h"
#include "maildrop_format.h"
#include "runenv.h"
#include "sanitize.h"
#include "send.h"
#include "util.h"

/* What became of the entries, for the exit status. */
struct pickup_stats {
	size_t left;      /* temporary failure: still in the maildrop */
	size_t set_aside; /* moved to MAILDROP_DAMAGED_DIR */
	struct buf last;  /* the last problem, for the final message */
};

struct entry {
	int dirfd;
	const char *name;
	struct stat st;
	int fd;
};

static void report_line(struct buf *report, const char *name,
                        const char *what)
{
	/* A name is whatever bytes a submitter chose: never raw. */
	buf_add_str(report, "maildrop ");
	sanitize_append_line(report, name, strlen(name));
	buf_add_str(report, ": ");
	sanitize_append_line(report, what, strlen(what));
	buf_add_char(report, '\n');
}

/* ---- setting aside ----------------------------------------------------- */

static int open_damaged(int *fd, struct err *e)
{
	if (mkdir(MAILDROP_DAMAGED_DIR, 0700) != 0 && errno != EEXIST)
		return err_set(e, EX_IOERR, "cannot create %s: %s",
		               MAILDROP_DAMAGED_DIR, strerror(errno));
	*fd = open(MAILDROP_DAMAGED_DIR,
	           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return err_set(e, EX_IOERR, "cannot open %s: %s",
		               MAILDROP_DAMAGED_DIR, strerror(errno));
	return EX_OK;
}

/* Move name (whatever it is: the rename moves a symbolic link or a FIFO
 * itself, never what it points at) into the damaged directory under a
 * name that replaces nothing, and write the reason next to it. */
static int set_aside(int dirfd, const char *name, const char *reason,
                     struct err *e)
{
	int damaged = -1;
	if (open_damaged(&damaged, e) != EX_OK)
		return EX_IOERR;
	char *id = queue_id_valid(name) ? xstrdup(name) : queue_new_id();
	int rc = EX_OK;
	int moved = renameat2(dirfd, name, damaged, id, RENAME_NOREPLACE);
	if (moved != 0 && errno == EEXIST) {
		/* set aside before, moved back, set aside again */
		free(id);
		id = queue_new_id();
		moved = renameat2(dirfd, name, damaged, id, RENAME_NOREPLACE);
	}
	if (moved != 0)
		rc = err_set(e, EX_IOERR, "cannot move %s/%s aside: %s",
		             MAILDROP_DIR, name, strerror(errno));
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s.reason", id);
	int fd = rc == EX_OK ? openat(damaged, buf_str(&path),
	                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	                                      O_CLOEXEC,
	                              0600)
	                     : -1;
	if (fd >= 0) {
		struct buf text = BUF_INIT;
		buf_printf(&text, "%s (was ", reason);
		sanitize_append_line(&text, name, strlen(name));
		buf_add_str(&text, ")\n");
		(void)fd_write_all(fd, text.data, text.len);
		(void)fsync(fd);
		close(fd);
		buf_free(&text);
	}
	if (rc == EX_OK)
		(void)fsync(damaged);
	buf_free(&path);
	free(id);
	close(damaged);
	return rc;
}

/* ---- opening: regular files only ------------------------------------- */

static const char *file_kind(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/* Why en->name may not be opened as an entry (NULL: it may, and en->fd
 * is open and locked). Looked at without following anything, opened
 * without blocking, and checked again on the open descriptor (it must be
 * the very file looked at). *busy: another pickup holds it. */
static const char *open_entry(struct entry *en, bool *busy,
                              struct buf *why)
{
	*busy = false;
	en->fd = -1;
	if (fstatat(en->dirfd, en->name, &en->st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? "" : strerror(errno);
	if (!S_ISREG(en->st.st_mode))
		return file_kind(en->st.st_mode);
	if (!queue_id_valid(en->name))
		return "not a name outbox gives to an entry";
	/* Larger than any submitter writes: not even its header is read. */
	if (en->st.st_size > MAILDROP_MAX_SIZE + MAILDROP_MAX_HEADER) {
		buf_printf(why, "%lld bytes, more than the maildrop takes",
		           (long long)en->st.st_size);
		return buf_str(why);
	}
	en->fd = openat(en->dirfd, en->name, O_RDONLY | O_NOFOLLOW |
	                                             O_NONBLOCK | O_NOCTTY |
	                                             O_CLOEXEC);
	struct stat now;
	if (en->fd < 0)
		return errno == ENOENT ? "" : strerror(errno);
	if (fstat(en->fd, &now) != 0 || now.st_ino != en->st.st_ino ||
	    now.st_dev != en->st.st_dev)
		return "it changed while being opened";
	en->st = now;
	if (now.st_nlink != 1) {
		buf_printf(why, "it has %lu links (a hard link to another "
		           "file is never read)", (unsigned long)now.st_nlink);
		return buf_str(why);
	}
	if (flock(en->fd, LOCK_EX | LOCK_NB) != 0) {
		*busy = true;
		return "";
	}
	return NULL;
}

/* ---- one entry ---------------------------------------------------------- */

static bool name_char(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

/* The submitter's login, as the kernel's owner says: from the password
 * database, or the number when the uid has no entry (or an odd name that
 * should not go into a header). Heap. */
static char *owner_login(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	bool usable = pw && pw->pw_name && *pw->pw_name;
	for (const char *p = usable ? pw->pw_name : ""; *p; p++)
		if (!name_char(*p, "._-$"))
			usable = false;
	struct buf b = BUF_INIT;
	if (usable)
		buf_add_str(&b, pw->pw_name);
	else
		buf_printf(&b, "%lu", (unsigned long)uid);
	return buf_steal(&b);
}

/* RFC 5321 4.4 trace field as sendmail writes it for a local submission:
 * " (from www-data@localhost)\r\n\tby HOST (outbox) id NAME;\r\n\tDATE". */
static char *received_value(const char *login, struct runenv *env,
                            const char *name)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char date[64];
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	struct buf b = BUF_INIT;
	buf_printf(&b, " (from %s@localhost)\r\n\tby ", login);
	const char *host = runenv_host(env);
	for (const char *p = host; *p; p++)
		buf_add_char(&b, name_char(*p, ".-") ? *p : '-');
	buf_printf(&b, " (outbox) id %s;\r\n\t%s", name, date);
	return buf_steal(&b);
}

/* The sendmail options the entry carries, as cli_parse would give them. */
static void options_from_request(const struct maildrop_request *r,
                                 struct options *o)
{
	memset(o, 0, sizeof *o);
	o->mode = MODE_SEND;
	o->invoked_as = "sendmail";
	o->account = xstrdup_or_null(r->account);
	o->envelope_from = xstrdup_or_null(r->envelope_from);
	o->from_account = r->envelope_from && *r->envelope_from
	                          ? xstrdup(r->envelope_from)
	                          : NULL;
	o->full_name = xstrdup_or_null(r->full_name);
	o->read_recipients = r->read_recipients;
	o->read_envelope_from = r->read_envelope_from;
	o->settings = xcalloc(3, sizeof *o->settings);
	if (r->dsn_notify)
		o->settings[o->setting_count++] = (struct cli_setting){
		        xstrdup("dsn_notify"), xstrdup(r->dsn_notify)};
	if (r->dsn_return)
		o->settings[o->setting_count++] = (struct cli_setting){
		        xstrdup("dsn_return"), xstrdup(r->dsn_return)};
	o->recipient_count = r->recipient_count;
	o->recipients = xcalloc(r->recipient_count + 1, sizeof *o->recipients);
	for (size_t i = 0; i < r->recipient_count; i++)
		o->recipients[i] = xstrdup(r->recipients[i]);
	/* Borrowed from r, which outlives o (see enqueue). */
	o->dsn_envid = r->dsn_envid;
	o->recipient_orcpt = (const char *const *)r->recipient_orcpt;
}

/* Queue the opened entry for its submitter: *id_out, or an error whose
 * code says whether a later run can do better (EX_TEMPFAIL, EX_IOERR). */
static int enqueue(const struct conf *conf, const struct entry *en,
                   const char *login, char **id_out, struct buf *warnings,
                   struct err *e)
{
	struct buf head = BUF_INIT;
	struct maildrop_request r;
	size_t offset = 0;
	int rc = maildrop_read_head(en->fd, &head) == 0
	                 ? maildrop_parse(buf_str(&head), head.len, &r,
	                                  &offset, e)
	                 : err_set(e, EX_IOERR, "cannot read it: %s",
	                           strerror(errno));
	buf_free(&head);
	if (rc != EX_OK)
		return rc;
	if (lseek(en->fd, (off_t)offset, SEEK_SET) < 0)
		rc = err_set(e, EX_IOERR, "cannot read it: %s", strerror(errno));
	struct options opts;
	options_from_request(&r, &opts); /* borrows from r */
	struct runenv env;
	runenv_init_submitter(&env, conf->env, login);
	struct conf view = *conf; /* the same accounts, the submitter's %U */
	view.env = &env;
	char *received = received_value(login, &env, en->name);
	struct send_pickup pickup = {en->fd, (uint64_t)en->st.st_size,
	                             (uint32_t)en->st.st_uid, login, received};
	if (rc == EX_OK)
		rc = send_enqueue_pickup(&opts, &view, &pickup, id_out,
		                         warnings, e);
	free(received);
	runenv_free(&env);
	cli_free(&opts);
	maildrop_request_free(&r);
	return rc;
}

static bool worth_waiting(int rc)
{
	return rc == EX_TEMPFAIL || rc == EX_IOERR || rc == EX_OSERR ||
	       rc == EX_CANTCREAT || rc == EX_SOFTWARE;
}

static void note_problem(struct pickup_stats *stats, bool left,
                         const char *name, const char *what)
{
	if (left)
		stats->left++;
	else
		stats->set_aside++;
	buf_reset(&stats->last);
	sanitize_append_line(&stats->last, name, strlen(name));
	buf_add_str(&stats->last, ": ");
	sanitize_append_line(&stats->last, what, strlen(what));
}

static void set_aside_and_report(int dirfd, const char *name,
                                 const char *reason, struct buf *report,
                                 struct pickup_stats *stats)
{
	struct err e = ERR_INIT;
	struct buf line = BUF_INIT;
	bool moved = set_aside(dirfd, name, reason, &e) == EX_OK;
	if (moved)
		buf_printf(&line, "set aside in %s: %s", MAILDROP_DAMAGED_DIR,
		           reason);
	else
		buf_printf(&line, "%s; and it could not be set aside: %s",
		           reason, err_msg(&e));
	report_line(report, name, buf_str(&line));
	note_problem(stats, !moved, name, buf_str(&line));
	buf_free(&line);
	err_clear(&e);
}

static void pick_up_one(const struct conf *conf, int dirfd, const char *name,
                        struct buf *report, struct pickup_stats *stats)
{
	struct entry en = {dirfd, name, {0}, -1};
	bool busy;
	struct buf why = BUF_INIT;
	const char *refused = open_entry(&en, &busy, &why);
	if (refused && *refused)
		set_aside_and_report(dirfd, name, refused, report, stats);
	buf_free(&why);
	if (refused) {
		if (en.fd >= 0)
			close(en.fd);
		return;
	}
	char *login = owner_login(en.st.st_uid);
	char *id = NULL;
	struct err e = ERR_INIT;
	struct buf warnings = BUF_INIT, line = BUF_INIT;
	int rc = enqueue(conf, &en, login, &id, &warnings, &e);
	if (rc == EX_OK && unlinkat(dirfd, name, 0) != 0)
		rc = err_set(&e, EX_IOERR, "queued as %s, but cannot be "
		             "removed from the maildrop (it will be sent "
		             "twice): %s", id, strerror(errno));
	buf_printf(&line, "from %s (uid %lu): ", login,
	           (unsigned long)en.st.st_uid);
	if (rc == EX_OK) {
		buf_printf(&line, "queued as %s", id);
		report_line(report, name, buf_str(&line));
	} else if (worth_waiting(rc)) {
		buf_printf(&line, "left for a later run: %s", err_msg(&e));
		report_line(report, name, buf_str(&line));
		note_problem(stats, true, name, buf_str(&line));
	} else {
		buf_add_str(&line, err_msg(&e));
		set_aside_and_report(dirfd, name, buf_str(&line), report, stats);
	}
	if (warnings.len)
		report_line(report, name, buf_str(&warnings));
	close(en.fd); /* drops the lock */
	buf_free(&line);
	buf_free(&warnings);
	err_clear(&e);
	free(id);
	free(login);
}

/* ---- the directory ------------------------------------------------------- */

/* A ".tmp-" file is a submitter still writing, or one killed: removed
 * once it is older than any writer can be. */
static void tidy_temporary(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) &&
	    st.st_mtime + QUEUE_STALE_SECONDS < time(NULL))
		unlinkat(dirfd, name, 0);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name in the maildrop but "." and "..", sorted (oldest IDs
 * first). */
static int list_names(int dirfd, char ***names, size_t *count,
                      struct err *e)
{
	DIR *dir = fdopendir(dup(dirfd));
	if (!dir)
		return err_set(e, EX_IOERR, "cannot read the maildrop %s: %s",
		               MAILDROP_DIR, strerror(errno));
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		*names = xrealloc(*names, (*count + 1) * sizeof **names);
		(*names)[(*count)++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (*count)
		qsort(*names, *count, sizeof **names, compare_names);
	return EX_OK;
}

static int final_status(struct pickup_stats *stats, struct err *e)
{
	if (stats->left)
		return err_set(e, EX_TEMPFAIL, "%zu maildrop entr%s left for a "
		               "later run (last: %s)", stats->left,
		               stats->left == 1 ? "y was" : "ies were",
		               buf_str(&stats->last));
	if (stats->set_aside)
		return err_set(e, EX_DATAERR, "%zu maildrop entr%s set aside "
		               "in %s (last: %s); the others were handled",
		               stats->set_aside,
		               stats->set_aside == 1 ? "y was" : "ies were",
		               MAILDROP_DAMAGED_DIR, buf_str(&stats->last));
	return EX_OK;
}

int pickup_run(const struct conf *conf, struct buf *report, struct err *e)
{
	int dirfd = open(MAILDROP_DIR,
	                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? EX_OK
		                       : err_set(e, EX_IOERR, "cannot open the "
		                                 "maildrop %s: %s", MAILDROP_DIR,
		                                 strerror(errno));
	char **names = NULL;
	size_t count = 0;
	struct pickup_stats stats = {0, 0, BUF_INIT};
	int rc = list_names(dirfd, &names, &count, e);
	for (size_t i = 0; i < count; i++) {
		bool temporary = strncmp(names[i], MAILDROP_TMP_PREFIX,
		                         strlen(MAILDROP_TMP_PREFIX)) == 0;
		if (rc == EX_OK && temporary)
			tidy_temporary(dirfd, names[i]);
		else if (rc == EX_OK)
			pick_up_one(conf, dirfd, names[i], report, &stats);
		free(names[i]);
	}
	free(names);
	(void)fsync(dirfd);
	close(dirfd);
	if (rc == EX_OK)
		rc = final_status(&stats, e);
	buf_free(&stats.last);
	return rc;
}
