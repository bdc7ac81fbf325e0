/* smtpd_relay.c - outbox -bs messages through the normal path; see
 * smtpd_relay.h. */
#include "smtpd_relay.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildrop.h"
#include "maildrop_format.h"
#include "runenv.h"
#include "sanitize.h"
#include "send.h"
#include "smtpd.h"
#include "util.h"

struct relay {
	const struct options *opts;
	const struct conf *conf;
	const struct session_trace *trace;
	struct buf *warnings;
	bool maildrop; /* the caller cannot read the system's account */
};

/* The command line of this message: the run's options with the
 * transaction's envelope, as `-f FROM -N NOTIFY -R RET RCPT...` would
 * give it. Only the arrays are new (free them with free_message_options);
 * every string is borrowed from base or t. */
static void message_options(const struct options *base,
                            const struct smtpd_transaction *t,
                            struct options *o)
{
	*o = *base;
	o->envelope_from = t->from;
	o->from_account = *t->from ? t->from : NULL; /* -f '<>' sets none */
	o->recipients = xcalloc(t->rcpt_count, sizeof *o->recipients);
	for (size_t i = 0; i < t->rcpt_count; i++)
		o->recipients[i] = t->rcpt[i].mailbox;
	o->recipient_count = t->rcpt_count;
	o->dsn_envid = t->envid;
	const char **orcpt = xcalloc(t->rcpt_count, sizeof *orcpt);
	for (size_t i = 0; i < t->rcpt_count; i++)
		orcpt[i] = t->rcpt[i].orcpt;
	o->recipient_orcpt = orcpt;
	o->settings = xcalloc(base->setting_count + 2, sizeof *o->settings);
	if (base->setting_count)
		memcpy(o->settings, base->settings,
		       base->setting_count * sizeof *o->settings);
	/* smtpd.c lets a message carry one NOTIFY; the first recipient's
	 * is everyone's. */
	const char *notify = t->rcpt_count ? t->rcpt[0].notify : NULL;
	if (notify)
		o->settings[o->setting_count++] =
		        (struct cli_setting){"dsn_notify", (char *)notify};
	if (t->ret)
		o->settings[o->setting_count++] = (struct cli_setting){
		        "dsn_return",
		        strcmp(t->ret, "HDRS") == 0 ? "headers" : "full"};
}

static void free_message_options(struct options *o)
{
	free(o->recipients);
	free(o->settings);
	free((void *)o->recipient_orcpt);
}

static void verdict_from_send(const struct send_report *r, int rc,
                              const struct err *e, struct smtpd_verdict *v)
{
	v->rc = rc;
	v->server_code = r->server_code;
	v->size_limit = r->size_limit;
	if (rc != EX_OK) {
		buf_add_str(&v->text, err_msg(e));
	} else if (r->queue_id && r->queued_because) {
		buf_printf(&v->text, "Ok: queued as %s for a later outbox "
		           "--flush: ", r->queue_id);
		sanitize_append_line(&v->text, r->queued_because,
		                     strlen(r->queued_because));
	} else if (r->queue_id) {
		buf_printf(&v->text, "Ok: queued as %s", r->queue_id);
	} else {
		buf_add_str(&v->text, "Ok: sent; the server said: ");
		sanitize_append_line(&v->text, r->server_reply.data,
		                     r->server_reply.len);
	}
}

static void deliver(void *ctx, const struct smtpd_transaction *t,
                    struct smtpd_verdict *v)
{
	struct relay *relay = ctx;
	struct options o;
	message_options(relay->opts, t, &o);
	struct err e = ERR_INIT;
	if (relay->maildrop) {
		char *name = NULL;
		v->rc = maildrop_submit(&o, t->message_fd, &name, &e);
		if (v->rc == EX_OK)
			buf_printf(&v->text, "Ok: handed to the maildrop as %s "
			           "for the system's relay", name);
		else
			buf_add_str(&v->text, err_msg(&e));
		free(name);
	} else {
		struct send_report r = {0, BUF_INIT, NULL, NULL, 0};
		int rc = send_message(&o, relay->conf, t->message_fd,
		                      relay->trace, &r, relay->warnings, &e);
		verdict_from_send(&r, rc, &e, v);
		send_report_free(&r);
	}
	err_clear(&e);
	free_message_options(&o);
}

int smtpd_relay_run(const struct options *opts, const struct conf *conf,
                    const struct session_trace *trace, struct buf *warnings,
                    struct err *e)
{
	struct relay relay = {opts, conf, trace, warnings, false};
	if (maildrop_wanted(opts, conf)) {
		relay.maildrop = maildrop_exists();
		if (!relay.maildrop)
			buf_printf(warnings, "cannot read %s, and there is no "
			           "maildrop (%s) to hand messages to\n",
			           conf->unreadable_system_file, MAILDROP_DIR);
	}
	struct smtpd_settings s = {
		.in_fd = STDIN_FILENO,
		.out_fd = STDOUT_FILENO,
		.hostname = runenv_host(conf->env),
		.timeout = opts->smtpd_timeout,
		.max_message_size = relay.maildrop ? (uint64_t)MAILDROP_MAX_SIZE
		                                   : 0,
	};
	return smtpd_run(&s, deliver, &relay, e);
}
