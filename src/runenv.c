/* runenv.c - the run's environment; see runenv.h. */
#include "runenv.h"

#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* msmtp reads the first line of mailname into a 256-byte buffer; a longer
 * line is refused here rather than cut (no domain name is that long:
 * RFC 1035 2.3.4). */
#define RUNENV_MAILNAME_MAX 255

/* A copy of the variable, NULL when unset or empty. */
static char *variable(const char *name)
{
	const char *value = getenv(name);
	return value && *value ? xstrdup(value) : NULL;
}

void runenv_init(struct runenv *env)
{
	memset(env, 0, sizeof *env);
	char *dir = variable("OUTBOX_SYSCONFDIR");
	env->sysconfdir = dir ? dir : xstrdup(SYSCONFDIR);
	env->home_var = variable("HOME");
	env->user_var = variable("USER");
	env->logname_var = variable("LOGNAME");
	env->hostname_var = variable("HOSTNAME");
	env->config_home_var = variable("XDG_CONFIG_HOME");
	env->cache_home_var = variable("XDG_CACHE_HOME");
	env->state_home_var = variable("XDG_STATE_HOME");
	env->email = variable("EMAIL");
	env->smtpserver = variable("SMTPSERVER");
}

void runenv_free(struct runenv *env)
{
	free(env->sysconfdir);
	free(env->email);
	free(env->smtpserver);
	free(env->home_var);
	free(env->user_var);
	free(env->logname_var);
	free(env->hostname_var);
	free(env->config_home_var);
	free(env->cache_home_var);
	free(env->state_home_var);
	free(env->cache_home);
	free(env->state_home);
	free(env->home);
	free(env->user);
	free(env->host);
	free(env->canonical_host);
	free(env->mailname);
	free(env->user_home);
	free(env->config_home);
	memset(env, 0, sizeof *env);
}

const char *runenv_home(struct runenv *env)
{
	if (env->home_done)
		return env->home;
	env->home_done = true;
	/* A relative HOME would make every path depend on the working
	 * directory (a queue written in one place, flushed from another). */
	if (env->home_var && env->home_var[0] == '/') {
		env->home = xstrdup(env->home_var);
	} else {
		struct passwd *pw = getpwuid(getuid());
		if (pw && pw->pw_dir && *pw->pw_dir)
			env->home = xstrdup(pw->pw_dir);
	}
	return env->home;
}

/* dir exists and another uid owns it. Only a successful stat counts: a
 * missing HOME holds no file, and one we may not look into is reported by
 * whoever tries to read there. */
static bool owned_by_other(const char *dir, uid_t uid)
{
	struct stat st;
	return stat(dir, &st) == 0 && st.st_uid != uid;
}

const char *runenv_user_home(struct runenv *env)
{
	if (env->user_home_done)
		return env->user_home;
	env->user_home_done = true;
	const char *home = runenv_home(env);
	uid_t uid = getuid();
	if (home && uid != 0 && owned_by_other(home, uid)) {
		struct passwd *pw = getpwuid(uid);
		home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir
		                                                : NULL;
	}
	env->user_home = home ? xstrdup(home) : NULL;
	return env->user_home;
}

/* An XDG base directory, worked out once into *slot: the variable's
 * value when it is absolute and came with the caller's own HOME, else
 * runenv_user_home()/fallback (XDG Base Directory: a relative value is
 * invalid and ignored). */
static const char *xdg_dir(struct runenv *env, const char *var,
                           const char *fallback, char **slot)
{
	if (*slot)
		return *slot;
	const char *home = runenv_user_home(env);
	if (!home)
		return NULL;
	bool own_home = runenv_home(env) && strcmp(home, runenv_home(env)) == 0;
	if (own_home && var && var[0] == '/') {
		*slot = xstrdup(var);
	} else {
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s/%s", home, fallback);
		*slot = buf_steal(&b);
	}
	return *slot;
}

const char *runenv_config_home(struct runenv *env)
{
	return xdg_dir(env, env->config_home_var, ".config",
	               &env->config_home);
}

const char *runenv_cache_home(struct runenv *env)
{
	return xdg_dir(env, env->cache_home_var, ".cache", &env->cache_home);
}

const char *runenv_state_home(struct runenv *env)
{
	return xdg_dir(env, env->state_home_var, ".local/state",
	               &env->state_home);
}

/* msmtp's sanitize_string(): control characters become '?'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

const char *runenv_user(struct runenv *env)
{
	if (env->user)
		return env->user;
	/* msmtp's get_username(), in its order. */
	const char *name = env->user_var ? env->user_var : env->logname_var;
	if (!name) {
		name = getlogin();
		if (name && !*name)
			name = NULL;
	}
	if (!name) {
		struct passwd *pw = getpwuid(getuid());
		name = pw && pw->pw_name && *pw->pw_name ? pw->pw_name
		                                         : "unknown";
	}
	env->user = xstrdup(name);
	return env->user;
}

const char *runenv_host(struct runenv *env)
{
	if (env->host)
		return env->host;
	/* msmtp's get_hostname(): $HOSTNAME first, then the system's. */
	if (env->hostname_var) {
		env->host = xstrdup(env->hostname_var);
	} else {
		char name[256];
		if (gethostname(name, sizeof name) == 0) {
			name[sizeof name - 1] = '\0';
			if (*name)
				env->host = xstrdup(name);
		}
	}
	if (!env->host)
		env->host = xstrdup("localhost");
	return env->host;
}

const char *runenv_canonical_host(struct runenv *env)
{
	if (env->canonical_host)
		return env->canonical_host;
	const char *host = runenv_host(env);
	/* msmtp's net_get_canonical_hostname(): any family, any socket
	 * type; the first result's canonical name. */
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		if (res && res->ai_canonname && *res->ai_canonname)
			env->canonical_host = xstrdup(res->ai_canonname);
		freeaddrinfo(res);
	}
	if (!env->canonical_host)
		env->canonical_host = xstrdup(host);
	return env->canonical_host;
}

int runenv_mailname(struct runenv *env, const char **out, struct err *e)
{
	if (env->mailname) {
		*out = env->mailname;
		return EX_OK;
	}
	struct buf path = BUF_INIT, line = BUF_INIT;
	buf_printf(&path, "%s/mailname", env->sysconfdir);
	int rc = EX_OK;
	FILE *f = fopen(buf_str(&path), "re");
	if (!f) {
		rc = err_set(e, EX_CONFIG, "cannot read %s for %%M: %s",
		             buf_str(&path), strerror(errno));
		goto done;
	}
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n' &&
	       line.len <= RUNENV_MAILNAME_MAX)
		buf_add_char(&line, (char)ch);
	if (ferror(f))
		rc = err_set(e, EX_CONFIG, "cannot read %s for %%M: %s",
		             buf_str(&path), strerror(errno));
	fclose(f);
	if (rc != EX_OK)
		goto done;
	if (line.len && line.data[line.len - 1] == '\r')
		line.data[--line.len] = '\0';
	if (line.len > RUNENV_MAILNAME_MAX)
		rc = err_set(e, EX_CONFIG, "%s: its first line is longer than "
		             "%d characters; it must be the mail domain name "
		             "(for %%M)", buf_str(&path), RUNENV_MAILNAME_MAX);
	else if (!line.len)
		rc = err_set(e, EX_CONFIG, "%s: its first line is empty; it "
		             "must be the mail domain name (for %%M)",
		             buf_str(&path));
	if (rc == EX_OK) {
		env->mailname = buf_steal(&line);
		sanitize(env->mailname);
		*out = env->mailname;
	}
done:
	buf_free(&line);
	buf_free(&path);
	return rc;
}

/* Replace every `token` in *s by value, scanning on after each value (as
 * msmtp's string_replace()). */
static void replace_all(char **s, const char *token, const char *value)
{
	if (!strstr(*s, token))
		return;
	struct buf out = BUF_INIT;
	size_t token_len = strlen(token);
	const char *p = *s, *hit;
	while ((hit = strstr(p, token)) != NULL) {
		buf_add(&out, p, (size_t)(hit - p));
		buf_add_str(&out, value);
		p = hit + token_len;
	}
	buf_add_str(&out, p);
	free(*s);
	*s = buf_steal(&out);
}

int runenv_expand(struct runenv *env, const char *pattern, bool with_user,
                  char **out, struct err *e)
{
	/* Decide what to look up from the pattern as given, as msmtp does:
	 * a value that happens to contain "%C" is not looked up again. */
	bool m = strstr(pattern, "%M") != NULL;
	bool u = with_user && strstr(pattern, "%U") != NULL;
	bool h = strstr(pattern, "%H") != NULL;
	bool c = strstr(pattern, "%C") != NULL;
	const char *mailname = NULL;
	if (m) {
		int rc = runenv_mailname(env, &mailname, e);
		if (rc != EX_OK)
			return rc;
	}
	char *s = xstrdup(pattern);
	if (m)
		replace_all(&s, "%M", mailname);
	if (u) {
		char *user = xstrdup(runenv_user(env));
		sanitize(user);
		replace_all(&s, "%U", user);
		free(user);
	}
	if (h || c) {
		char *host = xstrdup(runenv_host(env));
		sanitize(host);
		if (h)
			replace_all(&s, "%H", host);
		free(host);
	}
	if (c)
		replace_all(&s, "%C", runenv_canonical_host(env));
	*out = s;
	return EX_OK;
}

void runenv_init_submitter(struct runenv *env, const struct runenv *base,
                           const char *login)
{
	memset(env, 0, sizeof *env);
	env->sysconfdir = xstrdup(base->sysconfdir);
	env->hostname_var = xstrdup_or_null(base->hostname_var);
	env->user_var = xstrdup(login);
}
