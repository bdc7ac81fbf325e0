/* send.c - sendmail mode; see send.h. */
#include "send.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "direct.h"
#include "envelope.h"
#include "maildrop_format.h"
#include "log_delivery.h"
#include "msg.h"
#include "queue.h"
#include "session.h"
#include "setup.h"
#include "signers.h"
#include "smtp.h"
#include "util.h"

static int edit_header(struct message *m, const struct options *opts,
                       const struct account *a, const struct envelope *env,
                       struct err *e)
{
	/* Only when a Message-ID will be added (performance budget). */
	bool adds_msgid = a->set_msgid_header != HEADER_OFF &&
	                  !msg_header_get(m, "Message-ID");
	char *msgid_domain = adds_msgid ? envelope_msgid_domain(env, a) : NULL;
	struct msg_edits edits = {
		.remove_bcc = a->remove_bcc_headers,
		.from_header = a->set_from_header,
		.date_header = a->set_date_header,
		.msgid_header = a->set_msgid_header,
		.from_address = env->from,
		.from_full_name = opts->full_name ? opts->full_name
		                                  : a->from_full_name,
		.msgid_domain = msgid_domain,
		.undisclosed_recipients = a->undisclosed_recipients,
	};
	int rc = msg_apply_edits(m, &edits, e);
	free(msgid_domain);
	return rc;
}

/* A message from the maildrop is sent for a local user with the system's
 * account: the sender it asks for (-f, --read-envelope-from) counts only
 * where the configuration itself says allow_from_override on, and the
 * account may set a lower size limit than the submitter's. */
static int apply_pickup_rules(const struct send_pickup *p, struct account *a,
                              struct err *e)
{
	if (!a->allow_from_override_set)
		a->allow_from_override = false;
	uint64_t limit = a->maildrop_max_size > 0
	                         ? (uint64_t)a->maildrop_max_size
	                         : (uint64_t)MAILDROP_MAX_SIZE;
	if (p->size > limit)
		return err_set(e, EX_DATAERR, "the entry has %llu bytes, more "
		               "than maildrop_max_size (%llu bytes)",
		               (unsigned long long)p->size,
		               (unsigned long long)limit);
	return EX_OK;
}

/* Everything that happens before the network is touched (invariant 6):
 * the whole message is read from fd (and its body hashed for DKIM on the
 * way), the envelope built, the header edited (a picked-up message gets
 * its Received field), long lines dealt with, and the message signed over
 * exactly the bytes that will go on the wire. */
static int prepare_message(const struct options *opts,
                           const struct conf *conf, int fd,
                           const struct send_pickup *pickup,
                           struct message **m, struct account **a,
                           struct envelope *env, struct buf *warnings,
                           struct err *e)
{
	int rc = msg_read_header(fd, m, e);
	if (rc != EX_OK)
		return rc;
	char *sender = opts->read_envelope_from ? msg_header_sender(*m) : NULL;
	const char *hint = opts->from_account   ? opts->from_account
	                   : opts->envelope_from ? opts->envelope_from
	                                         : sender;
	rc = setup_account(conf, opts, hint, a, e);
	free(sender);
	if (rc == EX_OK && pickup)
		rc = apply_pickup_rules(pickup, *a, e);
	if (rc != EX_OK)
		return rc;
	struct signers signers = {0};
	rc = signers_prepare(&signers, *a, e);
	if (rc == EX_OK)
		rc = msg_read_body(*m, fd, signers_body_update, &signers, e);
	if (rc == EX_OK)
		rc = envelope_build(opts, *a, *m, env, e);
	if (rc == EX_OK)
		rc = edit_header(*m, opts, *a, env, e);
	if (rc == EX_OK && pickup)
		msg_prepend_header(*m, "Received", pickup->received);
	bool changed = false;
	if (rc == EX_OK)
		rc = msg_enforce_line_limit(*m, &changed, e);
	if (rc == EX_OK && changed)
		rc = signers_rehash(&signers, *m, e);
	if (rc == EX_OK)
		rc = signers_sign(&signers, *m, warnings, e);
	signers_free(&signers);
	return rc;
}

/* Direct delivery (direct.h): *undelivered gets the recipients deferred
 * (the ones refused for good are not worth queueing). */
static int deliver_direct(const struct session_trace *trace,
                          const struct account *a, const struct envelope *env,
                          const struct message *m,
                          struct addr_list *undelivered,
                          struct send_report *report, struct buf *warnings,
                          struct err *e)
{
	struct smtp_envelope smtp_env =
	        smtp_envelope_for(a, env->from, &env->rcpt);
	smtp_env.dsn_envid = env->dsn_envid;
	smtp_env.dsn_orcpt = &env->dsn_orcpt;
	struct delivery d = {NULL, 0};
	int rc = direct_deliver(a, &smtp_env, m, trace, &d, warnings, e);
	for (size_t i = 0; i < d.count; i++) {
		const struct rcpt_result *r = &d.rcpt[i];
		if (r->status == RCPT_DEFERRED || r->status == RCPT_PENDING)
			addr_list_add(undelivered, NULL,
			              env->rcpt.items[i].mailbox);
		if (report && !report->server_code &&
		    r->status != RCPT_DELIVERED && r->code) {
			report->server_code = r->code;
			buf_add_str(&report->server_reply,
			            r->reply ? r->reply : "");
		}
	}
	delivery_free(&d);
	return rc;
}

/* Deliver m; *undelivered gets the recipients that do not have it (all of
 * them unless the server took it for some). */
static int deliver(const struct session_trace *trace, const struct account *a,
                   const struct envelope *env, const struct message *m,
                   struct addr_list *undelivered, struct send_report *report,
                   struct buf *warnings, struct err *e)
{
	if (a->direct_delivery)
		return deliver_direct(trace, a, env, m, undelivered, report,
		                      warnings, e);
	struct session s;
	struct smtp_outcome outcome = {0, BUF_INIT, {NULL, 0}};
	struct smtp_envelope smtp_env =
	        smtp_envelope_for(a, env->from, &env->rcpt);
	smtp_env.dsn_envid = env->dsn_envid;
	smtp_env.dsn_orcpt = &env->dsn_orcpt;
	bool tls = a->tls;
	int rc = session_open(&s, a, trace, false, e);
	if (rc == EX_OK) {
		buf_add(warnings, s.warnings.data, s.warnings.len);
		tls = s.tls;
		if (report)
			report->size_limit = smtp_caps(s.smtp)->size_limit;
		smtp_last_message(s.smtp);
		rc = smtp_send_mail(s.smtp, &smtp_env, m, &outcome, e);
		/* After a refused transaction the session is still sane. */
		bool sane = rc == EX_OK || rc == EX_UNAVAILABLE ||
		            (rc == EX_TEMPFAIL && outcome.code >= 400);
		session_close(&s, sane);
	}
	struct log_delivery what = {a, env->from, &env->rcpt, msg_size(m), tls,
	                            NULL};
	struct err log_err = ERR_INIT;
	if (log_delivery(&what, &outcome, rc, err_msg(e), &log_err) != EX_OK)
		buf_printf(warnings, "%s\n", err_msg(&log_err));
	err_clear(&log_err);
	if (report) {
		report->server_code = outcome.code;
		buf_add(&report->server_reply, outcome.reply.data,
		        outcome.reply.len);
	}
	const struct delivery *d = &outcome.delivery;
	bool tracked = d->count == env->rcpt.count;
	for (size_t i = 0; i < env->rcpt.count; i++)
		if (!tracked || d->rcpt[i].status != RCPT_DELIVERED)
			addr_list_add(undelivered, NULL,
			              env->rcpt.items[i].mailbox);
	smtp_outcome_free(&outcome);
	return rc;
}

/* queue always: store without touching the network. queue on-failure:
 * deliver, and store for the recipients that failed temporarily, as an
 * MTA that accepted it would. Otherwise deliver and report. */
static int deliver_or_queue(const struct options *opts,
                            const struct session_trace *trace,
                            const struct account *a,
                            const struct envelope *env,
                            const struct message *m,
                            struct send_report *report,
                            struct buf *warnings, struct err *e)
{
	char *id = NULL;
	int rc;
	if (a->queue == QUEUE_ALWAYS) {
		rc = queue_submit(a, opts, env, m, NULL, &id, e);
		if (rc == EX_OK && opts->debug)
			buf_printf(warnings, "queued as %s\n", id);
		if (rc == EX_OK && report)
			report->queue_id = xstrdup(id);
		free(id);
		return rc;
	}
	/* Borrows env's strings: only rest.rcpt is its own. */
	struct envelope rest = {.from = env->from,
	                        .dsn_envid = env->dsn_envid,
	                        .dsn_orcpt = env->dsn_orcpt};
	rc = deliver(trace, a, env, m, &rest.rcpt, report, warnings, e);
	/* Direct delivery: one domain may refuse for good while another
	 * defers; the deferred ones are queued, the exit status still says
	 * that some recipient will never have it. */
	if (rc == EX_UNAVAILABLE && a->direct_delivery &&
	    a->queue == QUEUE_ON_FAILURE && rest.rcpt.count > 0) {
		struct err qe = ERR_INIT;
		if (queue_submit(a, opts, &rest, m, err_msg(e), &id, &qe) ==
		    EX_OK)
			err_set(e, rc, "%s; the message was queued as %s for "
			        "the %zu recipient%s deferred", err_msg(e), id,
			        rest.rcpt.count, rest.rcpt.count == 1 ? "" : "s");
		else
			err_set(e, rc, "%s; and it could not be queued for the "
			        "recipients deferred: %s", err_msg(e),
			        err_msg(&qe));
		if (report && id)
			report->queue_id = xstrdup(id);
		err_clear(&qe);
		free(id);
		id = NULL;
	}
	if (rc == EX_TEMPFAIL && a->queue == QUEUE_ON_FAILURE) {
		struct err qe = ERR_INIT;
		if (queue_submit(a, opts, &rest, m, err_msg(e), &id, &qe) ==
		    EX_OK) {
			buf_printf(warnings, "%s; the message was queued as %s "
			           "for a later outbox --flush%s\n", err_msg(e),
			           id, rest.rcpt.count < env->rcpt.count
			                   ? " (to the recipients that do not "
			                     "have it yet)"
			                   : "");
			if (report) {
				report->queue_id = xstrdup(id);
				report->queued_because = xstrdup(err_msg(e));
			}
			err_clear(e);
			rc = EX_OK;
		} else {
			err_set(e, rc, "%s; and it could not be queued: %s",
			        err_msg(e), err_msg(&qe));
		}
		err_clear(&qe);
		free(id);
	}
	addr_list_free(&rest.rcpt);
	return rc;
}

int send_message(const struct options *opts, const struct conf *conf, int fd,
                 const struct session_trace *trace,
                 struct send_report *report, struct buf *warnings,
                 struct err *e)
{
	struct message *m = NULL;
	struct account *a = NULL;
	struct envelope env = {0};
	int rc = prepare_message(opts, conf, fd, NULL, &m, &a, &env, warnings,
	                         e);
	if (rc == EX_OK)
		rc = deliver_or_queue(opts, trace, a, &env, m, report,
		                      warnings, e);
	envelope_free(&env);
	account_free(a);
	msg_free(m);
	return rc;
}

int send_run(const struct options *opts, const struct conf *conf,
             const struct session_trace *trace, struct buf *warnings,
             struct err *e)
{
	return send_message(opts, conf, STDIN_FILENO, trace, NULL, warnings,
	                    e);
}

void send_report_free(struct send_report *report)
{
	buf_free(&report->server_reply);
	free(report->queue_id);
	free(report->queued_because);
	report->queue_id = report->queued_because = NULL;
	report->server_code = 0;
	report->size_limit = 0;
}

int send_enqueue_pickup(const struct options *opts, const struct conf *conf,
                        const struct send_pickup *pickup, char **id_out,
                        struct buf *warnings, struct err *e)
{
	struct message *m = NULL;
	struct account *a = NULL;
	struct envelope env = {0};
	*id_out = NULL;
	int rc = prepare_message(opts, conf, pickup->fd, pickup, &m, &a, &env,
	                         warnings, e);
	if (rc == EX_OK) {
		env.has_submitter = true;
		env.submitter_uid = pickup->uid;
		env.submitter = xstrdup(pickup->login);
		rc = queue_submit(a, opts, &env, m, NULL, id_out, e);
	}
	envelope_free(&env);
	account_free(a);
	msg_free(m);
	return rc;
}
