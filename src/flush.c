/* flush.c - deliver the queued messages that are due; see flush.h. */
#include "flush.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "direct.h"
#include "log_delivery.h"
#include "msg.h"
#include "queue.h"
#include "runenv.h"
#include "sanitize.h"
#include "session.h"
#include "setup.h"
#include "smtp.h"
#include "util.h"

#define FLUSH_WRAP 72        /* bounce notice text width */
#define FLUSH_HARD_WRAP 900  /* a word longer than this is cut (RFC 5322
                              * 2.1.1 allows 998) */

struct flush_stats {
	size_t delivered, deferred, dead, config, io, unreadable;
	/* the most recent reason of each kind, for the summary */
	struct buf last_config, last_dead, last_deferred;
};

/* One due entry and the account it is to be sent with. */
struct item {
	char *id;
	const struct account *a; /* owned by the flush's account list */
};

/* Entries for one smarthost: one session. */
struct group {
	const struct account *a;
	struct item *items;
	size_t count;
};

struct flush {
	const struct options *opts;
	const struct session_trace *trace; /* -v transcript, or NULL */
	struct queue_dir *dir;
	struct buf *report;
	struct flush_stats *stats;
	struct account **accounts; /* every account built, freed at the end */
	size_t account_count;
	struct group *groups;
	size_t group_count;
	/* the current group's session */
	struct session s;
	bool open;
	bool session_failed;
	struct err session_err;
};

/* ---- accounts and groups ------------------------------------------------ */

/* The entry's account as at submission: configuration account by name,
 * then the stored command-line overrides, then those given to --flush. */
static int build_account(const struct conf *conf, const struct options *opts,
                         const struct queue_entry *en, struct account **a,
                         struct err *e)
{
	struct options o;
	memset(&o, 0, sizeof o);
	o.mode = MODE_SEND;
	o.account = en->account;
	o.setting_count = en->setting_count + opts->setting_count;
	o.settings = xcalloc(o.setting_count + 1, sizeof *o.settings);
	for (size_t i = 0; i < en->setting_count; i++)
		o.settings[i] = en->settings[i];
	for (size_t i = 0; i < opts->setting_count; i++)
		o.settings[en->setting_count + i] = opts->settings[i];
	int rc = setup_account(conf, &o, NULL, a, e);
	free(o.settings);
	return rc;
}

static void group_add(struct group *g, const char *id,
                      const struct account *a)
{
	g->items = xrealloc(g->items, (g->count + 1) * sizeof *g->items);
	g->items[g->count].id = xstrdup(id);
	g->items[g->count].a = a;
	g->count++;
}

static void flush_add_item(struct flush *f, const char *id,
                           struct account *a)
{
	f->accounts = xrealloc(f->accounts,
	                       (f->account_count + 1) * sizeof *f->accounts);
	f->accounts[f->account_count++] = a;
	for (size_t i = 0; i < f->group_count; i++) {
		if (account_same_smarthost(f->groups[i].a, a)) {
			group_add(&f->groups[i], id, a);
			return;
		}
	}
	f->groups = xrealloc(f->groups,
	                     (f->group_count + 1) * sizeof *f->groups);
	struct group *g = &f->groups[f->group_count++];
	memset(g, 0, sizeof *g);
	g->a = a;
	group_add(g, id, a);
}

/* ---- outcomes ---------------------------------------------------------- */

static void note_error(struct buf *last, const char *error)
{
	buf_reset(last);
	buf_add_str(last, error);
}

static void report_line(struct flush *f, const char *id, const char *what,
                        const char *detail)
{
	buf_printf(f->report, "%s: %s", id, what);
	if (detail) {
		buf_add_str(f->report, ": ");
		sanitize_append_line(f->report, detail, strlen(detail));
	}
	buf_add_char(f->report, '\n');
}

static void log_attempt(const struct account *a, const struct queue_entry *en,
                        const struct addr_list *rcpt,
                        const struct smtp_outcome *outcome, bool tls,
                        int rc, const char *error, struct flush *f)
{
	struct log_delivery what = {a, en->from, rcpt, en->size, tls, NULL};
	struct err log_err = ERR_INIT;
	if (log_delivery(&what, outcome, rc, error, &log_err) != EX_OK)
		buf_printf(f->report, "warning: %s\n", err_msg(&log_err));
	err_clear(&log_err);
}

/* The entry's recipients that do not have the message yet and were not
 * refused for good. */
static void remaining_recipients(const struct queue_entry *en,
                                 struct addr_list *out)
{
	for (size_t i = 0; i < en->rcpt.count; i++) {
		const char *mailbox = en->rcpt.items[i].mailbox;
		if (!queue_state_delivered_to(&en->state, mailbox) &&
		    !queue_state_refused(&en->state, mailbox))
			addr_list_add(out, NULL, mailbox);
	}
}

/* Remember who got the message in this attempt: no later attempt, nor a
 * requeue of the dead letter, sends it to them again. */
static void note_delivered(struct queue_entry *en, const struct addr_list *rcpt,
                           const struct smtp_outcome *outcome)
{
	const struct delivery *d = &outcome->delivery;
	if (d->count != rcpt->count)
		return;
	for (size_t i = 0; i < d->count; i++)
		if (d->rcpt[i].status == RCPT_DELIVERED)
			addr_list_add(&en->state.delivered, NULL,
			              rcpt->items[i].mailbox);
}

/* Fold text into lines of at most FLUSH_WRAP columns, each prefixed. */
static void add_wrapped(struct buf *out, const char *prefix, const char *text)
{
	struct buf clean = BUF_INIT;
	sanitize_append_line(&clean, text, strlen(text));
	const char *p = buf_str(&clean);
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t len = strlen(p), cut = len;
		if (len > FLUSH_WRAP) {
			cut = FLUSH_WRAP;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0) { /* one long word */
				cut = strcspn(p, " ");
				if (cut > FLUSH_HARD_WRAP)
					cut = FLUSH_HARD_WRAP;
			}
		}
		buf_add_str(out, prefix);
		buf_add(out, p, cut);
		buf_add_str(out, "\r\n");
		p += cut;
	}
	buf_free(&clean);
}

static int write_bounce(void *ctx, msg_write_fn write, void *write_ctx,
                        struct err *e)
{
	const struct buf *text = ctx;
	return write(write_ctx, text->data, text->len, e);
}

/* A plain-text notice to the sender (RFC 3834: auto-replied). */
static void compose_bounce(const struct queue_entry *en, const char *reason,
                           const struct buf *original_header,
                           const char *host, struct buf *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char date[64];
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *at = strrchr(en->from, '@');
	buf_printf(out, "From: Mail Delivery System <%s>\r\n", en->from);
	buf_printf(out, "To: <%s>\r\n", en->from);
	buf_add_str(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Message-ID: <%s.bounce@%s>\r\n", en->id,
	           at ? at + 1 : host);
	buf_add_str(out, "Auto-Submitted: auto-replied\r\n"
	                 "MIME-Version: 1.0\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Transfer-Encoding: 8bit\r\n\r\n");
	struct buf intro = BUF_INIT;
	buf_printf(&intro, "This is the outbox mail queue on %s. Your message "
	           "could not be delivered, and its delivery has been given "
	           "up.", host);
	add_wrapped(out, "", buf_str(&intro));
	buf_free(&intro);
	buf_add_str(out, "\r\nRecipients:\r\n");
	for (size_t i = 0; i < en->rcpt.count; i++) {
		if (queue_state_delivered_to(&en->state,
		                             en->rcpt.items[i].mailbox))
			continue; /* they have it */
		buf_add_str(out, "  <");
		sanitize_append(out, en->rcpt.items[i].mailbox,
		                strlen(en->rcpt.items[i].mailbox));
		buf_add_str(out, ">\r\n");
	}
	buf_add_str(out, "\r\nReason:\r\n");
	add_wrapped(out, "  ", reason);
	buf_printf(out, "\r\nThe message is kept in the dead letters as %s.\r\n"
	           "Once the problem is fixed it can be sent again with\r\n"
	           "  outbox --queue-requeue=%s\r\nor removed with\r\n"
	           "  outbox --queue-delete=%s\r\n", en->id, en->id, en->id);
	buf_add_str(out, "\r\n----- Header of the message -----\r\n\r\n");
	buf_add(out, original_header->data, original_header->len);
}

/* Queue a bounce notice for a dead letter and, when the session is up,
 * deliver it in this same session (it is appended to the group). */
static void queue_bounce(struct flush *f, struct group *g,
                         struct queue_handle *h, const struct account *a,
                         const char *reason)
{
	const struct queue_entry *orig = &h->entry;
	/* Never bounce a bounce (RFC 5321 6.1 and 4.5.5). */
	if (!a->queue_bounce || !orig->from || !*orig->from)
		return;
	struct buf header = BUF_INIT, text = BUF_INIT;
	struct err e = ERR_INIT;
	int rc = queue_handle_message_header(h, &header, &e);
	if (rc == EX_OK)
		compose_bounce(orig, reason, &header,
		               a->env ? runenv_host(a->env) : "localhost",
		               &text);
	struct queue_entry en;
	memset(&en, 0, sizeof en);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	en.created = now.tv_sec;
	en.created_nsec = now.tv_nsec;
	en.account = xstrdup_or_null(orig->account);
	en.setting_count = orig->setting_count;
	en.settings = xcalloc(orig->setting_count + 1, sizeof *en.settings);
	for (size_t i = 0; i < orig->setting_count; i++) {
		en.settings[i].directive = xstrdup(orig->settings[i].directive);
		en.settings[i].value = xstrdup(orig->settings[i].value);
	}
	en.from = xstrdup("");
	addr_list_add(&en.rcpt, NULL, orig->from);
	en.size = text.len;
	en.state.queued = now.tv_sec;
	en.state.next_attempt = now.tv_sec;
	if (rc == EX_OK)
		rc = queue_store(f->dir, &en, write_bounce, &text, &e);
	if (rc == EX_OK) {
		struct buf what = BUF_INIT;
		buf_printf(&what, "bounce notice to <%s> queued as %s",
		           orig->from, en.id);
		report_line(f, orig->id, buf_str(&what), NULL);
		buf_free(&what);
		if (f->open)
			group_add(g, en.id, a);
	} else {
		report_line(f, orig->id, "could not queue a bounce notice",
		            err_msg(&e));
		f->stats->io++;
	}
	queue_entry_free(&en);
	buf_free(&header);
	buf_free(&text);
	err_clear(&e);
}

static void kill_entry(struct flush *f, struct group *g,
                       struct queue_handle *h, const struct account *a,
                       const char *reason)
{
	struct err e = ERR_INIT;
	if (queue_handle_kill(h, reason, &e) != EX_OK) {
		report_line(f, h->entry.id, "could not move it to the dead "
		            "letters", err_msg(&e));
		f->stats->io++;
		err_clear(&e);
		return;
	}
	f->stats->dead++;
	note_error(&f->stats->last_dead, reason);
	report_line(f, h->entry.id, "moved to the dead letters", reason);
	queue_bounce(f, g, h, a, reason);
}

/* A failed attempt that may succeed later; after queue_max_age, give up. */
static void defer_entry(struct flush *f, struct group *g,
                        struct queue_handle *h, const struct account *a,
                        const char *error)
{
	struct queue_state *st = &h->entry.state;
	int64_t now = time(NULL);
	if (st->attempts < QUEUE_MAX_ATTEMPTS)
		st->attempts++;
	free(st->last_error);
	st->last_error = xstrdup(error);
	int64_t deadline = st->queued + a->queue_max_age;
	if (now >= deadline) {
		struct buf reason = BUF_INIT;
		buf_printf(&reason, "gave up after %u attempts over ",
		           st->attempts);
		int64_t age = now - st->queued;
		if (age >= 86400)
			buf_printf(&reason, "%" PRId64 " days", age / 86400);
		else if (age >= 3600)
			buf_printf(&reason, "%" PRId64 " hours", age / 3600);
		else
			buf_printf(&reason, "%" PRId64 " seconds", age);
		buf_printf(&reason, " (queue_max_age); last error: %s", error);
		kill_entry(f, g, h, a, buf_str(&reason));
		buf_free(&reason);
		return;
	}
	st->next_attempt = now + queue_retry_delay(st->attempts);
	/* The last try falls on the deadline rather than after it. */
	if (st->next_attempt > deadline)
		st->next_attempt = deadline;
	struct err e = ERR_INIT;
	if (queue_handle_save_state(h, &e) != EX_OK) {
		report_line(f, h->entry.id, "could not record the attempt",
		            err_msg(&e));
		f->stats->io++;
	}
	err_clear(&e);
	f->stats->deferred++;
	note_error(&f->stats->last_deferred, error);
	struct buf what = BUF_INIT;
	time_t next = (time_t)st->next_attempt;
	struct tm tm;
	char when[64];
	localtime_r(&next, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	buf_printf(&what, "deferred until %s (attempt %u)", when, st->attempts);
	report_line(f, h->entry.id, buf_str(&what), error);
	buf_free(&what);
}

/* ---- damaged entries ----------------------------------------------------- */

static void report_set_aside(struct flush *f, const char *id, int rc,
                             const char *reason, const struct err *e)
{
	f->stats->unreadable++;
	if (rc == EX_OK) {
		struct buf what = BUF_INIT;
		buf_printf(&what, "damaged, set aside in %s/damaged",
		           queue_dir_path(f->dir));
		report_line(f, id, buf_str(&what), reason);
		buf_free(&what);
	} else {
		report_line(f, id, "damaged, and could not be set aside",
		            err_msg(e));
		f->stats->io++;
	}
}

static void set_aside_locked(struct flush *f, struct queue_handle *h,
                             const char *reason)
{
	struct err e = ERR_INIT;
	int rc = queue_handle_set_aside(h, reason, &e);
	report_set_aside(f, h->entry.id, rc, reason, &e);
	err_clear(&e);
}

/* Entries the scan could not read: out of the way, so that one bad file
 * never holds up the others (an entry being delivered by another flush
 * right now is left to it). */
static void set_aside_unreadable(struct flush *f,
                                 const struct queue_problems *problems)
{
	for (size_t i = 0; i < problems->count; i++) {
		const struct queue_problem *p = &problems->items[i];
		struct err e = ERR_INIT;
		bool moved = false;
		int rc = queue_set_aside(f->dir, p, &moved, &e);
		if (moved || rc != EX_OK)
			report_set_aside(f, p->id, rc, p->reason, &e);
		err_clear(&e);
	}
}

/* ---- delivery ------------------------------------------------------------ */

static void close_session(struct flush *f, bool send_quit)
{
	if (f->open)
		session_close(&f->s, send_quit);
	f->open = false;
}

/* rc of smtp_send_mail: did the server refuse for good? A 5xx, or a
 * message it cannot take (SIZE, DSN) or an envelope that can never be
 * sent (EX_DATAERR). */
static bool is_permanent(int rc)
{
	return rc == EX_UNAVAILABLE || rc == EX_DATAERR;
}

/* The entry was delivered to everyone: remove it. reply (may be NULL):
 * the server's, for the report. */
static void remove_delivered(struct flush *f, struct queue_handle *h,
                             const char *reply)
{
	struct err rm = ERR_INIT;
	if (queue_handle_remove(h, &rm) != EX_OK) {
		/* Delivered, but it may be sent again: say so loudly. */
		report_line(f, h->entry.id, "delivered, but could not be "
		            "removed from the queue (it may be sent again)",
		            err_msg(&rm));
		f->stats->io++;
	} else {
		report_line(f, h->entry.id, "delivered", reply);
	}
	err_clear(&rm);
	f->stats->delivered++;
}

/* A direct account's entry (direct.h): each domain answers for its own
 * recipients, so one attempt can deliver to some, defer others and have
 * others refused for good. The state remembers the first and the last
 * kind, so that no later attempt sends to them again; the entry stays
 * while some are deferred, and becomes a dead letter (with a bounce
 * naming everyone who does not have it) when none is. */
static void deliver_direct_locked(struct flush *f, struct group *g,
                                  struct queue_handle *h,
                                  const struct account *a,
                                  const struct message *m)
{
	struct queue_entry *en = &h->entry;
	struct addr_list rcpt = {0};
	remaining_recipients(en, &rcpt);
	struct smtp_envelope env = smtp_envelope_for(a, en->from, &rcpt);
	env.dsn_envid = en->dsn_envid;
	env.dsn_orcpt = &en->dsn_orcpt;
	struct delivery d = {NULL, 0};
	struct err e = ERR_INIT;
	int rc = direct_deliver(a, &env, m, f->trace, &d, f->report, &e);
	size_t deferred = 0;
	for (size_t i = 0; i < d.count; i++) {
		if (d.rcpt[i].status == RCPT_DELIVERED)
			addr_list_add(&en->state.delivered, NULL,
			              rcpt.items[i].mailbox);
		else if (d.rcpt[i].status == RCPT_REFUSED)
			addr_list_add(&en->state.refused, NULL,
			              rcpt.items[i].mailbox);
		else
			deferred++;
	}
	if (rc == EX_OK) {
		remove_delivered(f, h, NULL);
	} else if (d.count > 0 && deferred == 0) {
		if (en->state.attempts < QUEUE_MAX_ATTEMPTS)
			en->state.attempts++;
		kill_entry(f, g, h, a, err_msg(&e));
	} else {
		defer_entry(f, g, h, a, err_msg(&e));
	}
	delivery_free(&d);
	addr_list_free(&rcpt);
	err_clear(&e);
}

static void deliver_locked(struct flush *f, struct group *g,
                           struct queue_handle *h, const struct account *a)
{
	struct queue_entry *en = &h->entry;
	struct message *m = NULL;
	struct err e = ERR_INIT;
	int rc = queue_handle_message(h, &m, &e);
	if (rc != EX_OK) {
		/* A damaged entry will not heal (and is no reason to bounce:
		 * the sender's message is still there for a human to look
		 * at); an I/O error might. */
		if (rc == EX_DATAERR)
			set_aside_locked(f, h, err_msg(&e));
		else
			defer_entry(f, g, h, a, err_msg(&e));
		err_clear(&e);
		return;
	}
	if (a->direct_delivery) {
		deliver_direct_locked(f, g, h, a, m);
		msg_free(m);
		return;
	}
	if (!f->open && !f->session_failed) {
		rc = session_open(&f->s, a, f->trace, false,
		                  &f->session_err);
		f->open = rc == EX_OK;
		f->session_failed = rc != EX_OK;
		if (f->open && f->s.warnings.len)
			buf_add(f->report, f->s.warnings.data,
			        f->s.warnings.len);
	}
	struct addr_list rcpt = {0};
	remaining_recipients(en, &rcpt);
	if (f->session_failed) {
		log_attempt(a, en, &rcpt, NULL, a->tls, f->session_err.code,
		            err_msg(&f->session_err), f);
		defer_entry(f, g, h, a, err_msg(&f->session_err));
		addr_list_free(&rcpt);
		msg_free(m);
		return;
	}
	struct smtp_outcome outcome = {0, BUF_INIT, {NULL, 0}};
	struct smtp_envelope env = smtp_envelope_for(a, en->from, &rcpt);
	env.dsn_envid = en->dsn_envid;
	env.dsn_orcpt = &en->dsn_orcpt;
	rc = smtp_send_mail(f->s.smtp, &env, m, &outcome, &e);
	msg_free(m);
	log_attempt(a, en, &rcpt, &outcome, f->s.tls, rc, err_msg(&e), f);
	note_delivered(en, &rcpt, &outcome);
	addr_list_free(&rcpt);
	/* After a refused transaction the session is still usable. */
	bool sane = rc == EX_OK || is_permanent(rc) ||
	            (rc == EX_TEMPFAIL && outcome.code >= 400);
	if (rc == EX_OK) {
		remove_delivered(f, h, buf_str(&outcome.reply));
	} else if (is_permanent(rc)) {
		if (en->state.attempts < QUEUE_MAX_ATTEMPTS)
			en->state.attempts++;
		kill_entry(f, g, h, a, err_msg(&e));
	} else {
		defer_entry(f, g, h, a, err_msg(&e));
	}
	if (sane && rc != EX_OK) {
		struct err ignored = ERR_INIT;
		sane = smtp_reset(f->s.smtp, &ignored) == EX_OK;
		err_clear(&ignored);
	}
	if (!sane) /* the next message opens a new session */
		close_session(f, false);
	smtp_outcome_free(&outcome);
	err_clear(&e);
}

static void deliver_group(struct flush *f, struct group *g)
{
	f->open = false;
	f->session_failed = false;
	err_clear(&f->session_err);
	/* g->count may grow while we go: bounce notices join the group. */
	for (size_t i = 0; i < g->count; i++) {
		struct queue_handle h;
		enum queue_acquire_result res;
		struct err e = ERR_INIT;
		if (queue_acquire(f->dir, g->items[i].id, false, &h, &res, &e) !=
		    EX_OK) {
			buf_printf(f->report, "%s\n", err_msg(&e));
			f->stats->unreadable++;
			err_clear(&e);
			continue;
		}
		if (res != QUEUE_ACQUIRED)
			continue; /* another flush has it, or had it */
		/* Another flush may have tried it since we looked. */
		if (h.entry.state.next_attempt <= time(NULL))
			deliver_locked(f, g, &h, g->items[i].a);
		queue_handle_release(&h);
	}
	close_session(f, true);
	err_clear(&f->session_err);
	struct err e = ERR_INIT;
	if (queue_dir_sync(f->dir, &e) != EX_OK) {
		buf_printf(f->report, "%s\n", err_msg(&e));
		f->stats->io++;
	}
	err_clear(&e);
}

/* An entry whose account cannot be built waits for the user to fix the
 * configuration: record why, do not count an attempt. */
static void note_config_error(struct flush *f, const char *id,
                              const char *error)
{
	struct queue_handle h;
	enum queue_acquire_result res;
	struct err e = ERR_INIT;
	if (queue_acquire(f->dir, id, false, &h, &res, &e) == EX_OK &&
	    res == QUEUE_ACQUIRED) {
		free(h.entry.state.last_error);
		h.entry.state.last_error = xstrdup(error);
		queue_handle_save_state(&h, &e);
		queue_handle_release(&h);
		f->stats->config++;
		note_error(&f->stats->last_config, error);
		report_line(f, id, "not sent (configuration error)", error);
	}
	err_clear(&e);
}

static int flush_dir(const struct conf *conf, const struct options *opts,
                     const struct session_trace *trace, const char *path,
                     struct flush_stats *stats, struct buf *report,
                     struct err *e)
{
	struct flush f;
	memset(&f, 0, sizeof f);
	f.opts = opts;
	f.trace = trace;
	f.report = report;
	f.stats = stats;
	int rc = queue_dir_open(path, false, &f.dir, e);
	if (rc != EX_OK || !f.dir)
		return rc;
	struct queue_entry *entries = NULL;
	size_t count = 0;
	struct queue_problems problems = {0};
	rc = queue_scan(f.dir, false, &entries, &count, &problems, e);
	set_aside_unreadable(&f, &problems);
	queue_problems_free(&problems);
	int64_t now = time(NULL);
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		if (entries[i].state.next_attempt > now)
			continue;
		struct account *a = NULL;
		struct err ae = ERR_INIT;
		if (build_account(conf, opts, &entries[i], &a, &ae) == EX_OK)
			flush_add_item(&f, entries[i].id, a);
		else
			note_config_error(&f, entries[i].id, err_msg(&ae));
		err_clear(&ae);
	}
	queue_entries_free(entries, count);
	for (size_t i = 0; i < f.group_count; i++)
		deliver_group(&f, &f.groups[i]);
	for (size_t i = 0; i < f.group_count; i++) {
		for (size_t j = 0; j < f.groups[i].count; j++)
			free(f.groups[i].items[j].id);
		free(f.groups[i].items);
	}
	free(f.groups);
	for (size_t i = 0; i < f.account_count; i++)
		account_free(f.accounts[i]);
	free(f.accounts);
	queue_dir_close(f.dir);
	return rc;
}

int flush_run(const struct conf *conf, const struct options *opts,
              const struct session_trace *trace, struct buf *report,
              struct err *e)
{
	char **dirs = NULL;
	size_t count = 0;
	int rc = queue_select_dirs(conf, opts, &dirs, &count, e);
	struct flush_stats stats;
	memset(&stats, 0, sizeof stats);
	for (size_t i = 0; rc == EX_OK && i < count; i++)
		rc = flush_dir(conf, opts, trace, dirs[i], &stats, report, e);
	queue_dirs_free(dirs, count);
	if (rc == EX_OK) {
		if (stats.config)
			rc = err_set(e, EX_CONFIG, "%zu queued message(s) "
			             "could not be sent because of the "
			             "configuration: %s", stats.config,
			             buf_str(&stats.last_config));
		else if (stats.io)
			rc = err_set(e, EX_IOERR, "the queue could not be "
			             "updated on disk (see above)");
		else if (stats.unreadable)
			rc = err_set(e, EX_DATAERR, "%zu queue entr%s damaged "
			             "and set aside (see above; outbox "
			             "--list-queue shows them); the others were "
			             "handled", stats.unreadable,
			             stats.unreadable == 1 ? "y is" : "ies are");
		else if (stats.dead)
			rc = err_set(e, EX_UNAVAILABLE, "%zu message(s) moved to "
			             "the dead letters (outbox --list-queue "
			             "shows them): %s", stats.dead,
			             buf_str(&stats.last_dead));
		else if (stats.deferred)
			rc = err_set(e, EX_TEMPFAIL, "%zu message(s) deferred, "
			             "to be retried by a later flush: %s",
			             stats.deferred,
			             buf_str(&stats.last_deferred));
	}
	buf_free(&stats.last_config);
	buf_free(&stats.last_dead);
	buf_free(&stats.last_deferred);
	return rc;
}
