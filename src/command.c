/* command.c - run a command from the configuration; see command.h.
 *
 * sh is watched with waitid(WNOWAIT) and reaped only at the very end: as
 * long as it is a zombie, its process group keeps its id, so a signal to
 * the group can never reach an unrelated group that reused the number. */
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

/* While the output is quiet, how often to look whether sh has exited. */
#define COMMAND_POLL_MS 20

/* One run of a command. */
struct run {
	const struct command *c;
	pid_t pid;          /* sh, and the id of its process group */
	bool exited;        /* sh has exited (and is not reaped yet) */
	long long deadline; /* CLOCK_MONOTONIC, in ms */
	size_t total;       /* bytes of output read */
	bool have_line;     /* the first line is complete */
	int failure;        /* 0, ETIMEDOUT, EFBIG or why reading failed */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}

/* ---- the terminal -------------------------------------------------------- */

/* The controlling terminal, when outbox's group has it in the foreground,
 * else -1. The command's group is then given the foreground while it runs:
 * in a background group, a prompt on /dev/tty (ssh, gpg with loopback
 * pinentry) would be stopped by SIGTTIN. */
static int terminal_in_foreground(void)
{
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty >= 0 && tcgetpgrp(tty) != getpgrp()) {
		close(tty);
		tty = -1;
	}
	return tty;
}

/* Give the terminal's foreground to group pgid. SIGTTOU is blocked by the
 * caller: the one who asks second is already in the background. */
static void terminal_give(int tty, pid_t pgid)
{
	if (tty >= 0)
		tcsetpgrp(tty, pgid);
}

static void terminal_take_back(int tty)
{
	if (tty < 0)
		return;
	sigset_t ttou, saved;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &saved);
	tcsetpgrp(tty, getpgrp());
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(tty);
}

/* ---- the child ----------------------------------------------------------- */

/* Become /bin/sh -c cmd with the plumbing command.h promises. */
static void child_exec(const char *cmd, int out_fd, int tty)
{
	/* a group of its own, so a time-out can stop all it started */
	setpgid(0, 0);
	terminal_give(tty, getpid());
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* an ignored SIGPIPE would survive exec; a command we stop reading
	 * should die quietly, as under msmtp's pclose */
	signal(SIGPIPE, SIG_DFL);
	if (out_fd == STDOUT_FILENO)
		fcntl(out_fd, F_SETFD, 0);
	else if (dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	int null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0)
		_exit(127);
	if (null_fd != STDIN_FILENO) {
		if (dup2(null_fd, STDIN_FILENO) < 0)
			_exit(127);
		close(null_fd);
	}
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* ---- watching it --------------------------------------------------------- */

/* sh has exited; it is left a zombie (WNOWAIT) until reap(). */
static bool child_exited(struct run *r)
{
	if (r->exited)
		return true;
	siginfo_t info;
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, (id_t)r->pid, &info,
	           WEXITED | WNOHANG | WNOWAIT) == 0)
		r->exited = info.si_pid == r->pid;
	else
		r->exited = errno == ECHILD; /* reaped elsewhere: gone */
	return r->exited;
}

/* Wait until sh exits or `until` (ms) passes; true when it exited. */
static bool wait_exit(struct run *r, long long until)
{
	long step = 1; /* a command that is exiting is seen at once */
	while (!child_exited(r)) {
		long long left = until - now_ms();
		if (left <= 0)
			return false;
		pause_ms(step < left ? step : (long)left);
		step = step * 2 > COMMAND_POLL_MS ? COMMAND_POLL_MS : step * 2;
	}
	return true;
}

/* SIGTERM to the whole group (and SIGCONT, so a stopped member can act on
 * it); SIGKILL to what is left once sh is gone or after the grace,
 * whichever comes first. */
static void stop_group(struct run *r)
{
	kill(-r->pid, SIGTERM);
	kill(-r->pid, SIGCONT);
	wait_exit(r, now_ms() + COMMAND_KILL_GRACE_MS);
	kill(-r->pid, SIGKILL);
}

/* sh's wait status (0 when something else reaped it). */
static int reap(const struct run *r)
{
	int status = 0;
	while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Read until the first line is complete (and, strict, on to the end), the
 * output ends, or sh has exited and the pipe stays quiet (a daemon it
 * started may hold the pipe for ever); bounded by the deadline. */
static void read_output(struct run *r, int fd, struct buf *line)
{
	char chunk[4096];
	size_t start = line->len;
	for (;;) {
		long long left = r->deadline - now_ms();
		if (left <= 0) {
			r->failure = ETIMEDOUT;
			break;
		}
		struct pollfd p = {fd, POLLIN, 0};
		int ready = poll(&p, 1,
		                 left < COMMAND_POLL_MS ? (int)left
		                                        : COMMAND_POLL_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			r->failure = errno;
			break;
		}
		if (ready == 0) {
			if (child_exited(r))
				break;
			continue;
		}
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->failure = errno;
			break;
		}
		if (n == 0)
			break;
		r->total += (size_t)n;
		if (!r->have_line) {
			const char *nl = memchr(chunk, '\n', (size_t)n);
			size_t keep = nl ? (size_t)(nl - chunk) : (size_t)n;
			if (line->len - start + keep > r->c->line_max) {
				r->failure = EFBIG;
				break;
			}
			buf_add_secret(line, chunk, keep);
			r->have_line = nl != NULL;
		}
		if (r->have_line && (!r->c->strict || child_exited(r)))
			break;
	}
	secure_zero(chunk, sizeof chunk);
}

/* The outcome as command.h states it; line loses a trailing CR. */
static int judge(const struct run *r, int status, struct buf *line,
                 size_t start, struct err *e)
{
	const struct command *c = r->c;
	if (r->failure == ETIMEDOUT)
		return err_set(e, EX_CONFIG, "%s timed out after %d s",
		               c->what, c->timeout_s);
	if (r->failure == EFBIG)
		return err_set(e, EX_CONFIG,
		               "%s printed a first line longer than %zu bytes",
		               c->what, c->line_max);
	if (r->failure)
		return err_set(e, EX_IOERR, "cannot read the output of the %s: "
		               "%s", c->what, strerror(r->failure));
	if (c->strict && WIFSIGNALED(status))
		return err_set(e, EX_CONFIG, "%s was killed by signal %d",
		               c->what, WTERMSIG(status));
	if (c->strict && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return err_set(e, EX_CONFIG, "%s failed with exit status %d",
		               c->what, WEXITSTATUS(status));
	if (r->total == 0) {
		if (WIFSIGNALED(status))
			return err_set(e, EX_CONFIG,
			               "%s printed nothing (killed by signal %d)",
			               c->what, WTERMSIG(status));
		return err_set(e, EX_CONFIG,
		               "%s printed nothing (exit status %d)", c->what,
		               WIFEXITED(status) ? WEXITSTATUS(status) : 0);
	}
	if (memchr(line->data ? line->data + start : "", '\0',
	           line->len - start))
		return err_set(e, EX_CONFIG, "%s printed a NUL byte", c->what);
	if (line->len > start && line->data[line->len - 1] == '\r')
		line->data[--line->len] = '\0';
	return EX_OK;
}

int command_run(const struct command *c, struct buf *line, struct err *e)
{
	int fds[2];
	if (pipe(fds) != 0)
		return err_set(e, EX_OSERR, "cannot run the %s: no pipe: %s",
		               c->what, strerror(errno));
	/* no other child of outbox inherits the pipe; dup2 in the child
	 * clears the flag on its standard output */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);

	/* SIGTTOU blocked across fork and the terminal's handover: whichever
	 * of parent and child calls tcsetpgrp second is in the background */
	int tty = terminal_in_foreground();
	sigset_t ttou, saved;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &saved);
	struct run r = {.c = c, .pid = fork()};
	if (r.pid == 0)
		child_exec(c->cmd, fds[1], tty);
	int fork_errno = errno;
	if (r.pid > 0) {
		/* here too: the group exists before we may signal it */
		setpgid(r.pid, r.pid);
		terminal_give(tty, r.pid);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(fds[1]);
	if (r.pid < 0) {
		close(fds[0]);
		terminal_take_back(tty);
		return err_set(e, EX_OSERR, "cannot start the %s: %s", c->what,
		               strerror(fork_errno));
	}

	size_t start = line->len;
	r.deadline = now_ms() + (long long)c->timeout_s * 1000;
	read_output(&r, fds[0], line);
	close(fds[0]);
	if (!r.failure && !wait_exit(&r, r.deadline))
		r.failure = ETIMEDOUT;
	if (r.failure)
		stop_group(&r);
	terminal_take_back(tty);
	int status = reap(&r);
	return judge(&r, status, line, start, e);
}
