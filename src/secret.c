/* secret.c - password sources; see secret.h. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "command.h"
#include "keyring.h"
#include "runenv.h"
#include "util.h"

#define NETRC_MAX_SIZE (1024 * 1024) /* a larger netrc is refused */

/* ---- netrc ------------------------------------------------------------ */

struct netrc_scan {
	const char *text;
	size_t len;
	size_t pos;
};

static bool netrc_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\f' || ch == '\v';
}

static void netrc_skip_line(struct netrc_scan *sc)
{
	while (sc->pos < sc->len && sc->text[sc->pos] != '\n')
		sc->pos++;
	if (sc->pos < sc->len)
		sc->pos++;
}

/* The next token into tok (reset first); false at the end of the text. */
static bool netrc_token(struct netrc_scan *sc, struct buf *tok)
{
	buf_wipe(tok);
	for (;;) {
		while (sc->pos < sc->len && netrc_space(sc->text[sc->pos]))
			sc->pos++;
		if (sc->pos >= sc->len)
			return false;
		if (sc->text[sc->pos] != '#')
			break;
		netrc_skip_line(sc); /* a comment */
	}
	buf_add(tok, "", 0);
	if (sc->text[sc->pos] == '"') {
		sc->pos++;
		while (sc->pos < sc->len && sc->text[sc->pos] != '"') {
			char ch = sc->text[sc->pos++];
			if (ch == '\\' && sc->pos < sc->len) {
				ch = sc->text[sc->pos++];
				ch = ch == 'n'   ? '\n'
				     : ch == 'r' ? '\r'
				     : ch == 't' ? '\t'
				                 : ch;
			}
			buf_add_secret(tok, &ch, 1);
		}
		if (sc->pos < sc->len)
			sc->pos++; /* the closing quote */
		return true;
	}
	while (sc->pos < sc->len && !netrc_space(sc->text[sc->pos]))
		buf_add_secret(tok, &sc->text[sc->pos++], 1);
	return true;
}

/* A macdef body runs from the next line up to an empty line. */
static void netrc_skip_macdef(struct netrc_scan *sc)
{
	netrc_skip_line(sc);
	while (sc->pos < sc->len) {
		size_t start = sc->pos;
		netrc_skip_line(sc);
		size_t n = sc->pos - start;
		const char *line = sc->text + start;
		if (n == 0 || line[0] == '\n' ||
		    (n >= 2 && line[0] == '\r' && line[1] == '\n'))
			return;
	}
}

struct netrc_entry {
	bool active, is_default;
	struct buf machine, login, password;
	bool has_login, has_password;
};

static void netrc_entry_clear(struct netrc_entry *en)
{
	en->active = en->is_default = false;
	en->has_login = en->has_password = false;
	buf_free(&en->machine);
	buf_free(&en->login);
	buf_wipe(&en->password);
}

/* Entries without a login are ignored (as msmtp does): they cannot say
 * which user the password is for. */
static bool netrc_entry_matches(const struct netrc_entry *en, const char *host,
				const char *user)
{
	if (!en->active || !en->has_login || !en->has_password ||
	    strcmp(buf_str(&en->login), user) != 0)
		return false;
	return en->is_default ||
	       ascii_casecmp(buf_str(&en->machine), host) == 0;
}

bool secret_netrc_lookup(const char *text, size_t len, const char *host,
			 const char *user, char **password)
{
	struct netrc_scan sc = {text, len, 0};
	struct buf tok = BUF_INIT;
	struct netrc_entry en = {0};
	char *fallback = NULL; /* the first matching `default` entry */
	bool found = false;
	bool more = true;
	while (!found && more) {
		more = netrc_token(&sc, &tok);
		const char *t = buf_str(&tok);
		bool starts_entry = !more || strcmp(t, "machine") == 0 ||
		                    strcmp(t, "default") == 0;
		if (starts_entry) {
			if (netrc_entry_matches(&en, host, user)) {
				if (!en.is_default) {
					*password = buf_steal(&en.password);
					found = true;
				} else if (!fallback) {
					fallback = buf_steal(&en.password);
				}
			}
			netrc_entry_clear(&en);
			if (!more || found)
				break;
			en.active = true;
			en.is_default = strcmp(t, "default") == 0;
			if (!en.is_default && netrc_token(&sc, &tok))
				buf_add_str(&en.machine, buf_str(&tok));
			continue;
		}
		if (strcmp(t, "login") == 0 || strcmp(t, "user") == 0) {
			if (netrc_token(&sc, &tok)) {
				buf_reset(&en.login);
				buf_add_str(&en.login, buf_str(&tok));
				en.has_login = true;
			}
		} else if (strcmp(t, "password") == 0 ||
		           strcmp(t, "passwd") == 0) {
			if (netrc_token(&sc, &tok)) {
				buf_wipe(&en.password);
				buf_add(&en.password, tok.data, tok.len);
				en.has_password = true;
			}
		} else if (strcmp(t, "account") == 0) {
			netrc_token(&sc, &tok);
		} else if (strcmp(t, "macdef") == 0) {
			netrc_token(&sc, &tok);
			netrc_skip_macdef(&sc);
		}
		/* anything else: an unknown token, ignored as ftp does */
	}
	netrc_entry_clear(&en);
	buf_wipe(&tok);
	if (found) {
		free_secret(fallback);
		return true;
	}
	if (fallback) {
		*password = fallback;
		return true;
	}
	return false;
}

/* Look the password up in one netrc file. A file group or others can read
 * is skipped and reported through *ignored. */
static int netrc_file_lookup(const char *path, const char *host,
			     const char *user, char **password, bool *ignored,
			     struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return EX_OK; /* no such file: not an error */
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EX_OK;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		*ignored = true;
		close(fd);
		return EX_OK;
	}
	if (st.st_size > NETRC_MAX_SIZE) {
		close(fd);
		return err_set(e, EX_CONFIG, "%s is larger than %d bytes",
		               path, NETRC_MAX_SIZE);
	}
	struct buf text = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 &&
	       text.len <= NETRC_MAX_SIZE)
		buf_add_secret(&text, chunk, (size_t)n);
	int read_errno = n < 0 ? errno : 0;
	secure_zero(chunk, sizeof chunk);
	close(fd);
	if (read_errno) {
		buf_wipe(&text);
		return err_set(e, EX_IOERR, "cannot read %s: %s", path,
		               strerror(read_errno));
	}
	secret_netrc_lookup(buf_str(&text), text.len, host, user, password);
	buf_wipe(&text);
	return EX_OK;
}

/* ---- passwordeval ----------------------------------------------------- */

int secret_run_passwordeval(const char *cmd, int timeout_s, char **out,
			    struct err *e)
{
	struct command c = {
		.cmd = cmd,
		.what = "passwordeval command",
		.timeout_s = timeout_s,
		.line_max = SECRET_MAX_LEN,
		.strict = true,
	};
	struct buf line = BUF_INIT;
	int rc = command_run(&c, &line, e);
	if (rc == EX_OK && line.len == 0)
		rc = err_set(e, EX_CONFIG,
		             "passwordeval command printed no password (its "
		             "first line is empty)");
	if (rc == EX_OK)
		*out = buf_steal(&line);
	buf_wipe(&line);
	return rc;
}

/* ---- terminal prompt -------------------------------------------------- */

/* The one piece of global state: the signal that interrupted the prompt,
 * so the terminal's echo can be restored before the signal acts. */
static volatile sig_atomic_t prompt_signal;

static void prompt_on_signal(int sig)
{
	prompt_signal = sig;
}

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP,
				     SIGTSTP};
#define PROMPT_SIGNAL_COUNT (sizeof prompt_signals / sizeof prompt_signals[0])

/* Returns EX_OK with *out, EX_UNAVAILABLE when there is no terminal. */
static int prompt_password(const char *host, const char *user, char **out,
			   struct err *e)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return EX_UNAVAILABLE;
	struct termios saved, quiet;
	bool have_termios = tcgetattr(fd, &saved) == 0;
	struct sigaction old[PROMPT_SIGNAL_COUNT];
	struct sigaction sa = {0};
	sa.sa_handler = prompt_on_signal; /* no SA_RESTART: read returns */
	sigemptyset(&sa.sa_mask);
	prompt_signal = 0;
	for (size_t i = 0; i < PROMPT_SIGNAL_COUNT; i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
	if (have_termios) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	struct buf prompt = BUF_INIT, line = BUF_INIT;
	buf_reserve_secret(&line, 256);
	buf_printf(&prompt, "password for %s at %s: ", user, host);
	ssize_t ignored = write(fd, prompt.data, prompt.len);
	(void)ignored;
	buf_free(&prompt);

	bool got_eol = false;
	int rc = EX_OK;
	while (!prompt_signal) {
		char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (ch == '\n') {
			got_eol = true;
			break;
		}
		if (line.len >= SECRET_MAX_LEN) {
			rc = err_set(
			        e, EX_CONFIG,
			        "the password typed is longer than %d bytes",
			        SECRET_MAX_LEN);
			break;
		}
		buf_add_secret(&line, &ch, 1);
	}
	if (have_termios)
		tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < PROMPT_SIGNAL_COUNT; i++)
		sigaction(prompt_signals[i], &old[i], NULL);
	close(fd);
	if (prompt_signal) {
		buf_wipe(&line);
		raise(prompt_signal); /* now with echo restored */
		return err_set(e, EX_NOPERM,
		               "the password prompt was interrupted");
	}
	if (rc == EX_OK && !got_eol && line.len == 0)
		rc = err_set(e, EX_NOPERM,
		             "no password was entered for %s at %s", user,
		             host);
	if (rc == EX_OK) {
		if (line.len && line.data[line.len - 1] == '\r')
			line.data[--line.len] = '\0';
		buf_add(&line, "", 0);
		*out = buf_steal(&line);
	}
	buf_wipe(&line);
	return rc;
}

/* ---- the chain -------------------------------------------------------- */

static int no_password_error(const char *user, const char *host,
			     const struct buf *user_netrc,
			     const struct buf *system_netrc, bool user_ignored,
			     bool system_ignored, const char *keyring_problem,
			     struct err *e)
{
	struct buf msg = BUF_INIT;
	buf_printf(&msg,
	           "no password for %s at %s (set password or "
	           "passwordeval, store it in the keyring, or add it to "
	           "~/.netrc)",
	           user, host);
	if (user_ignored)
		buf_printf(&msg,
		           "; %s was ignored because group or others can "
		           "read it (chmod 600 it)",
		           buf_str(user_netrc));
	if (system_ignored)
		buf_printf(&msg,
		           "; %s was ignored because group or others can "
		           "read it",
		           buf_str(system_netrc));
	if (keyring_problem && *keyring_problem)
		buf_printf(&msg, "; %s", keyring_problem);
	err_set(e, EX_CONFIG, "%s", buf_str(&msg));
	buf_free(&msg);
	return EX_CONFIG;
}

int secret_get_password(const struct account *a, char **out, struct err *e)
{
	*out = NULL;
	if (a->password) {
		*out = xstrdup(a->password);
		return EX_OK;
	}
	if (a->passwordeval)
		return secret_run_passwordeval(
		        a->passwordeval,
		        account_command_timeout(a, SECRET_EVAL_TIMEOUT_S), out, e);
	const char *host = a->host ? a->host : "localhost";
	const char *user = a->user ? a->user : "";
	/* A keyring that cannot be loaded is no reason to stop: netrc and the
	 * prompt may still answer; if none does, the final error says why the
	 * keyring was not asked. */
	struct err keyring_problem = ERR_INIT;
	keyring_lookup_password(host, user, out, &keyring_problem);
	if (*out)
		return EX_OK;
	bool user_ignored = false, system_ignored = false;
	/* The run's home and sysconfdir (runenv.h; $OUTBOX_SYSCONFDIR as for
	 * the system configuration file). Without a run environment (unit
	 * tests) there are no netrc files. */
	const char *home = a->env ? runenv_home(a->env) : NULL;
	struct buf user_netrc = BUF_INIT, system_netrc = BUF_INIT;
	if (home)
		buf_printf(&user_netrc, "%s/.netrc", home);
	if (a->env)
		buf_printf(&system_netrc, "%s/netrc", a->env->sysconfdir);
	int rc = EX_OK;
	if (user_netrc.len)
		rc = netrc_file_lookup(buf_str(&user_netrc), host, user, out,
		                       &user_ignored, e);
	if (rc == EX_OK && !*out && system_netrc.len)
		rc = netrc_file_lookup(buf_str(&system_netrc), host, user, out,
		                       &system_ignored, e);
	if (rc == EX_OK && !*out) {
		rc = prompt_password(host, user, out, e);
		if (rc == EX_UNAVAILABLE)
			rc = no_password_error(user, host, &user_netrc,
			                       &system_netrc, user_ignored,
			                       system_ignored,
			                       err_msg(&keyring_problem), e);
	}
	err_clear(&keyring_problem);
	buf_free(&user_netrc);
	buf_free(&system_netrc);
	return rc;
}
