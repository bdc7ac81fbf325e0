/* queue_verbs.c - the queue's command-line verbs: --list-queue,
 * --queue-delete, --queue-requeue, and which directories they act on. */
#include "queue_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "util.h"

/* ---- the verbs -------------------------------------------------------- */

static void add_time(struct buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char text[64];
	localtime_r(&tt, &tm);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
	buf_add_str(out, text);
}

static void add_duration(struct buf *out, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60)
		buf_printf(out, "%" PRId64 "s", seconds);
	else if (seconds < 3600)
		buf_printf(out, "%" PRId64 "m", seconds / 60);
	else if (seconds < 86400)
		buf_printf(out, "%" PRId64 "h%02" PRId64 "m", seconds / 3600,
		           seconds % 3600 / 60);
	else
		buf_printf(out, "%" PRId64 "d%02" PRId64 "h", seconds / 86400,
		           seconds % 86400 / 3600);
}

static void add_clean(struct buf *out, const char *text)
{
	sanitize_append_line(out, text, strlen(text));
}

static void describe_entry(const struct queue_entry *en, int64_t now,
                           struct buf *out)
{
	buf_printf(out, "%s  %" PRIu64 " bytes  age ", en->id, en->size);
	add_duration(out, now - en->created);
	buf_add_str(out, "  account ");
	add_clean(out, en->account ? en->account : "(command line)");
	if (en->has_submitter) {
		buf_printf(out, "  submitted by ");
		add_clean(out, en->submitter ? en->submitter : "?");
		buf_printf(out, " (uid %" PRIu32 ")", en->submitter_uid);
	}
	buf_add_str(out, "\n  from <");
	add_clean(out, en->from);
	buf_add_str(out, "> to");
	for (size_t i = 0; i < en->rcpt.count; i++) {
		buf_add_str(out, " <");
		add_clean(out, en->rcpt.items[i].mailbox);
		buf_add_char(out, '>');
	}
	if (en->state.delivered.count)
		buf_printf(out, " (already delivered to %zu of them)",
		           en->state.delivered.count);
	const struct queue_state *st = &en->state;
	buf_add_str(out, "\n  ");
	if (en->dead) {
		buf_add_str(out, "dead letter since ");
		add_time(out, st->dead_since ? st->dead_since : now);
	} else if (st->next_attempt > now) {
		buf_add_str(out, "deferred until ");
		add_time(out, st->next_attempt);
	} else {
		buf_add_str(out, "queued, due now");
	}
	buf_printf(out, ", %u attempt%s", st->attempts,
	           st->attempts == 1 ? "" : "s");
	if (en->dead) {
		buf_add_str(out, ": ");
		add_clean(out, st->dead_reason ? st->dead_reason
		                               : "(reason not recorded)");
	} else if (st->last_error) {
		buf_add_str(out, "; last error: ");
		add_clean(out, st->last_error);
	}
	buf_add_char(out, '\n');
}

/* An entry that cannot be read: its ID, where, and why. */
static void describe_problem(const struct queue_problem *p, const char *what,
                             struct buf *out)
{
	buf_printf(out, "%s  %s%s: ", p->id, what,
	           p->dead ? " (dead letter)" : "");
	add_clean(out, p->reason);
	buf_add_char(out, '\n');
}

static void summarise(struct buf *out, const char *path, size_t all,
                      size_t due, size_t deferred, size_t dead, size_t bad)
{
	buf_printf(out, "%zu message(s) in queue %s: %zu due, %zu deferred, "
	           "%zu dead letter(s)", all, path, due, deferred, dead);
	if (bad)
		buf_printf(out, ", %zu unreadable", bad);
	buf_add_char(out, '\n');
}

int queue_list(const char *path, struct buf *out, struct err *e)
{
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK)
		return rc;
	struct queue_entry *entries = NULL;
	size_t count = 0;
	struct queue_problems unreadable = {0}, damaged = {0};
	if (d)
		rc = queue_scan(d, true, &entries, &count, &unreadable, e);
	if (d && rc == EX_OK)
		rc = queue_scan_damaged(d, &damaged, e);
	int64_t now = time(NULL);
	size_t dead = 0, deferred = 0;
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		describe_entry(&entries[i], now, out);
		if (entries[i].dead)
			dead++;
		else if (entries[i].state.next_attempt > now)
			deferred++;
	}
	for (size_t i = 0; rc == EX_OK && i < unreadable.count; i++)
		describe_problem(&unreadable.items[i],
		                 unreadable.items[i].dead
		                         ? "unreadable"
		                         : "unreadable, the next --flush sets "
		                           "it aside",
		                 out);
	for (size_t i = 0; rc == EX_OK && i < damaged.count; i++)
		describe_problem(&damaged.items[i], "damaged, set aside in "
		                 QUEUE_DAMAGED "/", out);
	size_t bad = unreadable.count + damaged.count;
	if (rc == EX_OK && count + bad == 0)
		buf_printf(out, "queue %s is empty\n", path);
	else if (rc == EX_OK)
		summarise(out, path, count + bad, count - dead - deferred,
		          deferred, dead, bad);
	queue_problems_free(&unreadable);
	queue_problems_free(&damaged);
	queue_entries_free(entries, count);
	queue_dir_close(d);
	return rc;
}

int queue_list_submitted(uint32_t uid, struct buf *out, struct err *e)
{
	struct queue_dir *d = NULL;
	int rc = queue_dir_open_shared(QUEUE_SYSTEM_DIR, &d, e);
	if (rc != EX_OK || !d)
		return rc;
	struct queue_entry *entries = NULL;
	size_t count = 0, shown = 0;
	/* Entries of others (and root's own, 0600) cannot be read here and
	 * land among the problems: not this user's business. */
	struct queue_problems unreadable = {0};
	rc = queue_scan(d, d->dead_fd >= 0, &entries, &count, &unreadable, e);
	int64_t now = time(NULL);
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		if (!entries[i].has_submitter || entries[i].submitter_uid != uid)
			continue;
		describe_entry(&entries[i], now, out);
		shown++;
	}
	if (rc == EX_OK)
		buf_printf(out, "%zu message(s) of yours in the system queue "
		           "%s\n", shown, QUEUE_SYSTEM_DIR);
	queue_problems_free(&unreadable);
	queue_entries_free(entries, count);
	queue_dir_close(d);
	return rc;
}

/* Delete every file of a set-aside entry; *found when there was one. */
static int delete_damaged(struct queue_dir *d, const char *id, bool *found,
                          struct err *e)
{
	int rc = queue_open_damaged(d, false, e);
	if (rc != EX_OK || d->damaged_fd < 0)
		return rc;
	static const char *const suffixes[] = {".msg", ".state", ".reason"};
	for (size_t i = 0; rc == EX_OK && i < 3; i++) {
		char *name = queue_entry_name(id, suffixes[i]);
		if (unlinkat(d->damaged_fd, name, 0) == 0)
			*found |= i == 0;
		else if (errno != ENOENT)
			rc = queue_io_error(e, "remove", d->damaged_path, name);
		free(name);
	}
	if (rc == EX_OK && *found)
		rc = queue_sync_fd(d->damaged_fd, d->damaged_path, e);
	return rc;
}

int queue_delete(const char *path, const char *id, bool *found,
                 struct buf *out, struct err *e)
{
	*found = false;
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK || !d)
		return rc;
	for (int side = 0; rc == EX_OK && side < 2 && !*found; side++) {
		struct queue_handle h;
		enum queue_acquire_result res;
		rc = queue_acquire(d, id, side == 1, &h, &res, e);
		if (rc != EX_OK)
			break;
		if (res == QUEUE_BUSY) {
			*found = true;
			rc = err_set(e, EX_TEMPFAIL, "message %s is being "
			             "delivered right now; try again when the "
			             "flush is over", id);
		} else if (res == QUEUE_ACQUIRED) {
			*found = true;
			rc = queue_handle_remove(&h, e);
			if (rc == EX_OK)
				rc = queue_dir_sync(d, e);
			if (rc == EX_OK)
				buf_printf(out, "deleted %s%s\n", id,
				           side ? " (dead letter)" : "");
			queue_handle_release(&h);
		}
	}
	if (rc == EX_OK && !*found) {
		rc = delete_damaged(d, id, found, e);
		if (rc == EX_OK && *found)
			buf_printf(out, "deleted %s (damaged entry)\n", id);
	}
	queue_dir_close(d);
	return rc;
}

static int requeue_one(struct queue_dir *d, const char *id, bool *moved,
                       struct buf *out, struct err *e)
{
	*moved = false;
	struct queue_handle h;
	enum queue_acquire_result res;
	int rc = queue_acquire(d, id, true, &h, &res, e);
	if (rc != EX_OK || res == QUEUE_GONE)
		return rc;
	if (res == QUEUE_BUSY)
		return err_set(e, EX_TEMPFAIL, "dead letter %s is locked by "
		               "another outbox process; try again", id);
	rc = queue_handle_revive(&h, e);
	if (rc == EX_OK) {
		*moved = true;
		buf_printf(out, "requeued %s\n", id);
	}
	queue_handle_release(&h);
	return rc;
}

int queue_requeue(const char *path, const char *id_or_all, size_t *moved,
                  struct buf *out, struct err *e)
{
	*moved = 0;
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK || !d)
		return rc;
	if (strcmp(id_or_all, "all") != 0) {
		bool one;
		rc = requeue_one(d, id_or_all, &one, out, e);
		*moved = one;
		queue_dir_close(d);
		return rc;
	}
	struct queue_entry *entries = NULL;
	size_t count = 0;
	struct queue_problems problems = {0};
	rc = queue_scan(d, true, &entries, &count, &problems, e);
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		if (!entries[i].dead)
			continue;
		bool one;
		rc = requeue_one(d, entries[i].id, &one, out, e);
		*moved += one;
	}
	for (size_t i = 0; i < problems.count; i++)
		if (problems.items[i].dead)
			describe_problem(&problems.items[i], "unreadable, not "
			                 "requeued", out);
	queue_problems_free(&problems);
	queue_entries_free(entries, count);
	queue_dir_close(d);
	return rc;
}

static void add_dir(char ***dirs, size_t *count, char *dir)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*dirs)[i], dir) == 0) {
			free(dir);
			return;
		}
	}
	*dirs = xrealloc(*dirs, (*count + 1) * sizeof **dirs);
	(*dirs)[(*count)++] = dir;
}

int queue_select_dirs(const struct conf *conf, const struct options *opts,
                      char ***dirs, size_t *count, struct err *e)
{
	*dirs = NULL;
	*count = 0;
	const struct cli_setting *explicit =
	        cli_find_setting(opts, "queue_dir");
	if (explicit) {
		/* Through account_set: the same checks and ~ expansion as in
		 * a configuration file. */
		struct account *scratch = account_new("(command line)");
		scratch->env = conf->env;
		int rc = account_set(scratch, "queue_dir", explicit->value, e);
		if (rc == EX_OK)
			add_dir(dirs, count,
			        queue_default_dir(scratch, conf->env));
		account_free(scratch);
		if (rc != EX_OK)
			err_prefix(e, "--queue-dir");
		return rc == EX_OK ? EX_OK : EX_USAGE;
	}
	if (opts->account) {
		const struct account *a = conf_find_account(conf, opts->account);
		if (!a)
			return err_set(e, EX_CONFIG, "account '%s' is not "
			               "defined in the configuration",
			               opts->account);
		add_dir(dirs, count, queue_default_dir(a, conf->env));
		return EX_OK;
	}
	add_dir(dirs, count,
	        queue_default_dir(conf_find_account(conf, "default"),
	                          conf->env));
	/* Root's flush also delivers what it picked up from the maildrop,
	 * on a machine that has one. */
	if (geteuid() == 0 && access(MAILDROP_DIR, F_OK) == 0)
		add_dir(dirs, count, xstrdup(QUEUE_SYSTEM_DIR));
	for (size_t i = 0; i < conf->count; i++)
		if (conf->accounts[i]->queue_dir &&
		    *conf->accounts[i]->queue_dir)
			add_dir(dirs, count,
			        xstrdup(conf->accounts[i]->queue_dir));
	return EX_OK;
}

void queue_dirs_free(char **dirs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(dirs[i]);
	free(dirs);
}

int queue_run_mode(const struct conf *conf, const struct options *opts,
                   struct buf *out, struct err *e)
{
	char **dirs = NULL;
	size_t count = 0;
	int rc = queue_select_dirs(conf, opts, &dirs, &count, e);
	const char *arg = opts->mode_argument ? opts->mode_argument : "";
	bool is_all = strcmp(arg, "all") == 0;
	if (rc == EX_OK && opts->mode != MODE_LIST_QUEUE &&
	    !queue_id_valid(arg) &&
	    !(opts->mode == MODE_QUEUE_REQUEUE && is_all))
		rc = err_set(e, EX_USAGE, "'%s' is not a queue ID (they look "
		             "like 20251124T184033Z-9f3ac1d2e4b5a6c7; see "
		             "--list-queue)%s", arg,
		             opts->mode == MODE_QUEUE_REQUEUE ? " or 'all'"
		                                              : "");
	bool found = false;
	size_t moved = 0;
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		if (opts->mode == MODE_LIST_QUEUE) {
			rc = queue_list(dirs[i], out, e);
		} else if (opts->mode == MODE_QUEUE_DELETE) {
			bool here;
			rc = queue_delete(dirs[i], arg, &here, out, e);
			found |= here;
		} else {
			size_t n;
			rc = queue_requeue(dirs[i], arg, &n, out, e);
			moved += n;
		}
	}
	if (rc == EX_OK && opts->mode == MODE_QUEUE_DELETE && !found)
		rc = err_set(e, EX_NOINPUT, "no queued message or dead letter "
		             "has the ID %s", arg);
	if (rc == EX_OK && opts->mode == MODE_QUEUE_REQUEUE && moved == 0) {
		if (is_all)
			buf_add_str(out, "no dead letters to requeue\n");
		else
			rc = err_set(e, EX_NOINPUT, "no dead letter has the ID "
			             "%s (only dead letters can be requeued)",
			             arg);
	}
	queue_dirs_free(dirs, count);
	return rc;
}
