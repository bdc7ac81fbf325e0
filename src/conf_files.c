/* conf_files.c - which configuration files are read; see conf_files.h. */
#include "conf_files.h"

#include <errno.h>
#include <fcntl.h>
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

/* Read, parse and check one file. require_owner: the file must belong to
 * the user when it holds a password (msmtp's rule for the user file; root
 * is exempt as in msmtp). */
static int conf_load_path(struct conf *conf, const char *path,
                          bool require_owner, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
		               strerror(errno));
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

	/* Sized from fstat, so the whole file comes in one allocation; should
	 * it grow meanwhile, buf_reserve_secret wipes what growing leaves
	 * behind (the file may hold a password). */
	struct buf text = BUF_INIT;
	buf_reserve_secret(&text, st.st_size > 0 && st.st_size < CONF_FILE_MAX
	                                  ? (size_t)st.st_size + 1
	                                  : 4096);
	for (;;) {
		if (text.len + 1 >= text.cap)
			buf_reserve_secret(&text, 65536);
		ssize_t n = read(fd, text.data + text.len,
		                 text.cap - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			buf_wipe(&text);
			return err_set(e, EX_CONFIG, "cannot read %s: %s", path,
			               strerror(saved));
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
		text.data[text.len] = '\0';
		if ((long long)text.len > CONF_FILE_MAX) {
			close(fd);
			buf_wipe(&text);
			return err_set(e, EX_CONFIG,
			               "%s: larger than %ld bytes; this is not "
			               "a configuration file", path,
			               CONF_FILE_MAX);
		}
	}
	close(fd);

	/* Parsed aside first: nothing of a refused file reaches conf. */
	struct conf parsed = {.eval_disabled = conf->eval_disabled,
	                      .env = conf->env};
	bool has_secret = false;
	int rc = conf_parse(&parsed, buf_str(&text), text.len, path,
	                    &has_secret, e);
	buf_wipe(&text);
	if (rc == EX_OK && has_secret && (st.st_mode & 077)) {
		/* DESIGN.md invariant 7, for every user including root */
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password but is readable by group "
		             "or others; run chmod 600 %s", path, path);
	}
	if (rc == EX_OK && has_secret && require_owner && geteuid() != 0 &&
	    st.st_uid != geteuid()) {
		rc = err_set(e, EX_CONFIG,
		             "%s: contains a password but is owned by uid %ld, "
		             "not by you (uid %ld)", path, (long)st.st_uid,
		             (long)geteuid());
	}
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

int conf_load_file(struct conf *conf, const char *path, struct err *e)
{
	return conf_load_path(conf, path, false, e);
}

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

/* The user-level file: outbox's own when it exists (XDG first), else
 * msmtp's (~/.msmtprc first, then XDG, as msmtp tries them). NULL: none. */
static char *user_file(struct runenv *env)
{
	const char *home = runenv_home(env);
	if (!home)
		return NULL;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *config = (xdg && xdg[0] == '/') ? xstrdup(xdg)
	                                      : path_join(home, ".config");
	char *candidates[4] = {
		path_join(config, "outbox/config"),
		path_join(home, ".outboxrc"),
		path_join(home, ".msmtprc"),
		path_join(config, "msmtp/config"),
	};
	char *found = NULL;
	for (int i = 0; i < 4; i++) {
		if (!found && file_exists(candidates[i]))
			found = candidates[i];
		else
			free(candidates[i]);
	}
	free(config);
	return found;
}

int conf_load_default(struct conf *conf, const char *explicit_file,
                      struct err *e)
{
	if (explicit_file)
		return conf_load_path(conf, explicit_file, true, e);

	/* System level: the run's sysconfdir ($OUTBOX_SYSCONFDIR lets
	 * tests and packagers point elsewhere at run time). */
	if (!conf->env)
		return err_set(e, EX_SOFTWARE, "conf_load_default: no run "
		               "environment");
	const char *sysconfdir = conf->env->sysconfdir;
	char *system_file = path_join(sysconfdir, "outboxrc");
	if (!file_exists(system_file)) {
		free(system_file);
		system_file = path_join(sysconfdir, "msmtprc");
	}
	if (file_exists(system_file)) {
		/* msmtp: loaded "if it exists and is readable": a system file
		 * kept from users (mode 600 root) is skipped, not an error. */
		if (access(system_file, R_OK) == 0) {
			int rc = conf_load_path(conf, system_file, false, e);
			if (rc != EX_OK) {
				free(system_file);
				return rc;
			}
		}
	}
	free(system_file);

	char *user = user_file(conf->env);
	int rc = EX_OK;
	if (user)
		rc = conf_load_path(conf, user, true, e);
	free(user);
	return rc;
}
