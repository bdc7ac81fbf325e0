/* conf_files.c - which configuration files are read; see conf_files.h. */
#include "conf_files.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "runenv.h"
#include "util.h"

/* A configuration file larger than this is certainly not one. */
#define CONF_FILE_MAX (16L * 1024 * 1024)

/* The message about a group's readers names this many, then counts. */
#define CONF_GROUP_NAMES_SHOWN 8

/* The user-level candidates, in the order they are tried. */
#define CONF_USER_CANDIDATES 4

/* ---- who can read a file through its group (DESIGN.md invariant 7) ---- */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t conf_group_other_readers(const char **readers, size_t count,
                                const char *owner)
{
	if (count == 0)
		return 0;
	qsort(readers, count, sizeof *readers, compare_names);
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		if (owner && strcmp(readers[i], owner) == 0)
			continue;
		if (kept && strcmp(readers[kept - 1], readers[i]) == 0)
			continue;
		readers[kept++] = readers[i];
	}
	return kept;
}

struct name_list {
	char **names;
	size_t count;
};

static void names_add(struct name_list *l, const char *name)
{
	l->names = xrealloc(l->names, (l->count + 1) * sizeof *l->names);
	l->names[l->count++] = xstrdup(name);
}

static void names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->count = 0;
}

/* Everyone the databases give group gid: its members, then each user whose
 * primary group it is (getpwent: a whole scan, done only for a secret file
 * that is group-readable). The group's name into *group_name (heap).
 * false: the group database does not know gid. The entries are copied at
 * once: the next getpw* or getgr* call overwrites them. */
static bool group_readers(gid_t gid, char **group_name,
                          struct name_list *readers)
{
	struct group *gr = getgrgid(gid);
	if (!gr)
		return false;
	*group_name = xstrdup(gr->gr_name);
	for (char **m = gr->gr_mem; m && *m; m++)
		names_add(readers, *m);
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent()) != NULL)
		if (pw->pw_gid == gid && pw->pw_name)
			names_add(readers, pw->pw_name);
	endpwent();
	return true;
}

/* "alice, bob" or "alice, ..., heidi and 3 more". */
static void add_name_list(struct buf *b, const char *const *names, size_t n)
{
	size_t shown = n < CONF_GROUP_NAMES_SHOWN ? n : CONF_GROUP_NAMES_SHOWN;
	for (size_t i = 0; i < shown; i++)
		buf_printf(b, "%s%s", i ? ", " : "", names[i]);
	if (n > shown)
		buf_printf(b, " and %zu more", n - shown);
}

/* A secret file readable by its group (mode 0640) is accepted only when
 * nobody but its owner can read it through that group: the Debian and
 * Ubuntu msmtp layout, /etc/msmtprc root:msmtp 0640 with an empty msmtp
 * group. A group the database does not know is refused: who is in it
 * cannot be told. */
static int check_group_readers(const char *path, const struct stat *st,
                               struct err *e)
{
	struct passwd *pw = getpwuid(st->st_uid);
	char *owner = pw && pw->pw_name ? xstrdup(pw->pw_name) : NULL;
	char *group = NULL;
	struct name_list readers = {0};
	int rc = EX_OK;
	if (!group_readers(st->st_gid, &group, &readers)) {
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password and is readable by group "
		             "%ld, which is not in the group database; run "
		             "chmod 600 %s", path, (long)st->st_gid, path);
		goto done;
	}
	const char **names = (const char **)readers.names;
	size_t others = conf_group_other_readers(names, readers.count, owner);
	if (others) {
		struct buf list = BUF_INIT;
		add_name_list(&list, names, others);
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password and is readable by group "
		             "%s, whose %s %s can read it; run chmod 600 %s, or "
		             "remove %s from the group", path, group,
		             others == 1 ? "member" : "members", buf_str(&list),
		             path, others == 1 ? names[0] : "them");
		buf_free(&list);
	}
done:
	names_free(&readers);
	free(group);
	free(owner);
	return rc;
}

/* DESIGN.md invariant 7, for every file and every user including root: a
 * file with a password is private, or readable (nothing more) by a group
 * that holds its owner alone. require_owner: it must also belong to the
 * user (msmtp's rule for the user file; root is exempt as in msmtp). */
static int check_secret_file(const char *path, const struct stat *st,
                             bool require_owner, struct err *e)
{
	mode_t shared = st->st_mode & 077;
	if (shared == 040) {
		int rc = check_group_readers(path, st, e);
		if (rc != EX_OK)
			return rc;
	} else if (shared) {
		return err_set(e, EX_CONFIG,
		               "%s: contains a password but is readable by group "
		               "or others; run chmod 600 %s", path, path);
	}
	if (require_owner && geteuid() != 0 && st->st_uid != geteuid())
		return err_set(e, EX_CONFIG,
		               "%s: contains a password but is owned by uid %ld, "
		               "not by you (uid %ld)", path, (long)st->st_uid,
		               (long)geteuid());
	return EX_OK;
}

/* ---- reading one file ---------------------------------------------------- */

/* The whole of fd (st: its fstat) into text. Sized from fstat, so the
 * whole file comes in one allocation; should it grow meanwhile,
 * buf_reserve_secret wipes what growing leaves behind (the file may hold a
 * password). On failure text is wiped. */
static int read_text(int fd, const char *path, const struct stat *st,
                     struct buf *text, struct err *e)
{
	buf_reserve_secret(text, st->st_size > 0 && st->st_size < CONF_FILE_MAX
	                                 ? (size_t)st->st_size + 1
	                                 : 4096);
	for (;;) {
		if (text->len + 1 >= text->cap)
			buf_reserve_secret(text, 65536);
		ssize_t n = read(fd, text->data + text->len,
		                 text->cap - text->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			buf_wipe(text);
			return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
			               strerror(saved));
		}
		if (n == 0)
			return EX_OK;
		text->len += (size_t)n;
		text->data[text->len] = '\0';
		if ((long long)text->len > CONF_FILE_MAX) {
			buf_wipe(text);
			return err_set(e, EX_CONFIG,
			               "%s: larger than %ld bytes; this is not "
			               "a configuration file", path,
			               CONF_FILE_MAX);
		}
	}
}

/* Read, parse and check the file open on fd (closed here). require_owner:
 * see check_secret_file. */
static int conf_load_fd(struct conf *conf, int fd, const char *path,
                        bool require_owner, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int saved = errno;
		close(fd);
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(saved));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(EISDIR));
	}
	struct buf text = BUF_INIT;
	int rc = read_text(fd, path, &st, &text, e);
	close(fd);
	if (rc != EX_OK)
		return rc;

	/* Parsed aside first: nothing of a refused file reaches conf. */
	struct conf parsed = {.eval_disabled = conf->eval_disabled,
	                      .env = conf->env};
	bool has_secret = false;
	rc = conf_parse(&parsed, buf_str(&text), text.len, path, &has_secret,
	                e);
	buf_wipe(&text);
	if (rc == EX_OK && has_secret)
		rc = check_secret_file(path, &st, require_owner, e);
	if (rc == EX_OK) {
		for (size_t i = 0; i < parsed.count; i++)
			conf_add_account(conf, parsed.accounts[i]);
		parsed.count = 0;
		conf->files = xrealloc(conf->files, (conf->file_count + 1) *
		                                    sizeof *conf->files);
		conf->files[conf->file_count++] = xstrdup(path);
	}
	conf_free(&parsed);
	return rc;
}

static int conf_load_path(struct conf *conf, const char *path,
                          bool require_owner, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(errno));
	return conf_load_fd(conf, fd, path, require_owner, e);
}

int conf_load_file(struct conf *conf, const char *path, struct err *e)
{
	return conf_load_path(conf, path, false, e);
}

/* ---- which files --------------------------------------------------------- */

/* Exists, or exists but we may not look (then reading it reports why). */
static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 || errno == EACCES;
}

static char *path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", dir, name);
	return buf_steal(&b);
}

/* The system level: outbox's file, else msmtp's. As msmtp, it is loaded
 * "if it exists and is readable": one kept from users (mode 600 root, it
 * holds the smarthost's password) is skipped without a word, and its name
 * kept in conf->unreadable_system_file for the caller to decide (submit
 * to the maildrop instead). Any other error of a file read is fatal. */
static int load_system_level(struct conf *conf, struct err *e)
{
	/* the run's sysconfdir: $OUTBOX_SYSCONFDIR lets tests and
	 * packagers point elsewhere at run time */
	const char *sysconfdir = conf->env->sysconfdir;
	char *path = path_join(sysconfdir, "outboxrc");
	if (!file_exists(path)) {
		free(path);
		path = path_join(sysconfdir, "msmtprc");
	}
	int rc = EX_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		rc = conf_load_fd(conf, fd, path, false, e);
	} else if (errno == EACCES) {
		free(conf->unreadable_system_file);
		conf->unreadable_system_file = path;
		path = NULL;
	}
	free(path);
	return rc;
}

/* When stat(path) failed with EACCES: the deepest directory above path
 * that stat can see, i.e. the one we may not search. Heap. */
static char *unsearchable_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash;
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir) {
			dir[1] = '\0'; /* "/" itself */
			break;
		}
		*slash = '\0';
		struct stat st;
		if (stat(dir, &st) == 0)
			break;
	}
	return dir;
}

/* The directories already named in a warning: the four user candidates
 * share their parents, and one line per cause is enough (HOME=/root for
 * a user would otherwise give four). */
struct warned_dirs {
	char *dir[CONF_USER_CANDIDATES];
	size_t count;
};

/* One "ignoring PATH: ..." line into warnings (may be NULL) for a
 * candidate that stat cannot examine, unless its unsearchable directory
 * was already named. */
static void warn_unsearchable(const char *path, struct warned_dirs *warned,
                              struct buf *warnings)
{
	char *dir = unsearchable_dir(path);
	for (size_t i = 0; i < warned->count; i++) {
		if (strcmp(warned->dir[i], dir) == 0) {
			free(dir);
			return;
		}
	}
	if (warnings)
		buf_printf(warnings, "ignoring %s: %s (no search permission "
		           "on %s)\n", path, strerror(EACCES), dir);
	if (warned->count < CONF_USER_CANDIDATES)
		warned->dir[warned->count++] = dir;
	else
		free(dir);
}

/* The user level: the first candidate that exists and can be read. One we
 * may not examine or read (EACCES: a HOME of someone else, a parent
 * directory that is not searchable, a file of another user) is skipped
 * with a warning, as msmtp ignores a user file it cannot open; any other
 * error of an existing file is fatal. */
static int load_user_level(struct conf *conf, struct buf *warnings,
                           struct err *e)
{
	const char *home = runenv_user_home(conf->env);
	const char *config = runenv_config_home(conf->env);
	if (!home || !config)
		return EX_OK;
	/* outbox's own (XDG first), else msmtp's (~/.msmtprc first, then
	 * XDG, as msmtp tries them) */
	char *candidates[CONF_USER_CANDIDATES] = {
		path_join(config, "outbox/config"),
		path_join(home, ".outboxrc"),
		path_join(home, ".msmtprc"),
		path_join(config, "msmtp/config"),
	};
	struct warned_dirs warned = {0};
	int rc = EX_OK;
	for (int i = 0; i < CONF_USER_CANDIDATES; i++) {
		const char *path = candidates[i];
		struct stat st;
		if (stat(path, &st) != 0) {
			if (errno == EACCES)
				warn_unsearchable(path, &warned, warnings);
			continue; /* missing: the next one */
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == EACCES) {
			if (warnings)
				buf_printf(warnings, "ignoring %s: %s\n", path,
				           strerror(EACCES));
			continue;
		}
		rc = fd < 0 ? err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		                      strerror(errno))
		            : conf_load_fd(conf, fd, path, true, e);
		break;
	}
	for (size_t i = 0; i < warned.count; i++)
		free(warned.dir[i]);
	for (int i = 0; i < CONF_USER_CANDIDATES; i++)
		free(candidates[i]);
	return rc;
}

int conf_load_default(struct conf *conf, const char *explicit_file,
                      struct buf *warnings, struct err *e)
{
	/* -C: that file alone, and it must be readable */
	if (explicit_file)
		return conf_load_path(conf, explicit_file, true, e);
	if (!conf->env)
		return err_set(e, EX_SOFTWARE, "conf_load_default: no run "
		               "environment");
	int rc = load_system_level(conf, e);
	if (rc == EX_OK)
		rc = load_user_level(conf, warnings, e);
	return rc;
}
