/* smtp_transaction.c - sending one message to its recipients in one or
 * more mail transactions of a session; see smtp.h (smtp_send_mail) and
 * delivery.h for the rules.
 *
 * Each transaction is "collect, then judge": MAIL and every RCPT are sent
 * (pipelined when offered), their replies collected, and delivery_judge
 * decides, without I/O, whether the data goes out now. */
#include "smtp.h"
#include "smtp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "delivery.h"
#include "dsn.h"
#include "msg.h"
#include "util.h"

static bool has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Place a mailbox in a path, converting its domain to an A-label when the
 * server cannot take UTF-8 addresses (RFC 6531 3.2: an ASCII local part
 * at an IDN domain needs no SMTPUTF8 once the domain is an A-label). */
static int append_path(struct smtp_session *s, struct buf *cmd,
                       const char *mailbox, struct err *e)
{
	if (!s->caps.smtputf8 && has_non_ascii(mailbox)) {
		char *ascii = NULL;
		int rc = addr_domain_to_ascii(mailbox, &ascii, e);
		if (rc == EX_OK && addr_needs_smtputf8(ascii))
			rc = err_set(e, EX_UNAVAILABLE,
			             "the address <%s> needs SMTPUTF8, which the "
			             "server does not support", mailbox);
		if (rc != EX_OK) {
			free(ascii);
			return rc;
		}
		buf_printf(cmd, "<%s>", ascii);
		free(ascii);
		return EX_OK;
	}
	buf_printf(cmd, "<%s>", mailbox);
	return EX_OK;
}

static bool envelope_needs_utf8(const struct smtp_envelope *env)
{
	if (addr_needs_smtputf8(env->from))
		return true;
	for (size_t i = 0; i < env->rcpt->count; i++)
		if (addr_needs_smtputf8(env->rcpt->items[i].mailbox))
			return true;
	return false;
}

static int build_mail_command(struct smtp_session *s,
                              const struct smtp_envelope *env,
                              const struct message *m, struct buf *cmd,
                              struct err *e)
{
	buf_add_str(cmd, "MAIL FROM:");
	int rc = append_path(s, cmd, env->from, e);
	if (rc != EX_OK)
		return rc;
	if (s->caps.size)
		buf_printf(cmd, " SIZE=%llu", (unsigned long long)msg_size(m));
	if (s->caps.eightbitmime && msg_has_8bit(m))
		buf_add_str(cmd, " BODY=8BITMIME");
	if (s->caps.smtputf8 &&
	    (envelope_needs_utf8(env) || msg_header_has_utf8(m)))
		buf_add_str(cmd, " SMTPUTF8");
	if (env->dsn_return)
		buf_printf(cmd, " RET=%s", env->dsn_return);
	if (env->dsn_envid)
		buf_printf(cmd, " ENVID=%s", env->dsn_envid);
	return EX_OK;
}

/* Every address can be put in a command: safe (invariant 5), and in a
 * form the server takes (append_path). Checked before the first command,
 * so that no transaction is left half-sent with replies pending. */
static int check_addresses(struct smtp_session *s,
                           const struct smtp_envelope *env, struct err *e)
{
	struct buf scratch = BUF_INIT;
	int rc = addr_check_smtp_safe(env->from, true, e);
	if (rc == EX_OK)
		rc = append_path(s, &scratch, env->from, e);
	for (size_t i = 0; rc == EX_OK && i < env->rcpt->count; i++) {
		const char *rcpt = env->rcpt->items[i].mailbox;
		rc = addr_check_smtp_safe(rcpt, false, e);
		if (rc == EX_OK)
			rc = append_path(s, &scratch, rcpt, e);
	}
	buf_free(&scratch);
	return rc;
}

/* Invariant 5 for ENVID and ORCPT, which come from a client of -bs or
 * a queue file. */
static int check_dsn_values(const struct smtp_envelope *env, struct err *e)
{
	if (env->dsn_envid &&
	    !dsn_is_envid(env->dsn_envid, strlen(env->dsn_envid)))
		return err_set(e, EX_DATAERR, "the ENVID is not xtext");
	const struct addr_list *l = env->dsn_orcpt;
	for (size_t i = 0; l && i < l->count; i++)
		if (!l->items[i].display ||
		    !dsn_is_orcpt(l->items[i].display,
		                  strlen(l->items[i].display)))
			return err_set(e, EX_DATAERR, "the ORCPT of a "
			               "recipient is not addr-type;xtext");
	return EX_OK;
}

static int check_transaction(struct smtp_session *s,
                             const struct smtp_envelope *env,
                             const struct message *m, struct err *e)
{
	int rc = check_addresses(s, env, e);
	if (rc != EX_OK)
		return rc;
	if (env->rcpt->count == 0)
		return err_set(e, EX_DATAERR, "no recipients");
	bool orcpt = env->dsn_orcpt && env->dsn_orcpt->count;
	if ((env->dsn_notify || env->dsn_return || env->dsn_envid || orcpt) &&
	    !s->caps.dsn)
		return err_set(e, EX_UNAVAILABLE,
		               "delivery status notifications were requested "
		               "(dsn_notify/dsn_return, -N/-R, or NOTIFY, RET, "
		               "ENVID, ORCPT with -bs) but the server does not "
		               "support DSN");
	rc = check_dsn_values(env, e);
	if (rc != EX_OK)
		return rc;
	/* RFC 1870: refuse before sending rather than after the upload. */
	if (s->caps.size && s->caps.size_limit &&
	    msg_size(m) > s->caps.size_limit)
		return err_set(e, EX_UNAVAILABLE,
		               "the message is %llu bytes but the server "
		               "accepts at most %llu (SIZE)",
		               (unsigned long long)msg_size(m),
		               (unsigned long long)s->caps.size_limit);
	return EX_OK;
}

/* The replies to one transaction's MAIL and RCPT commands. */
struct round {
	size_t n;            /* recipients in this transaction */
	size_t *index;       /* their positions in the envelope */
	int mail_code;       /* 0: no reply */
	struct smtp_reply mail;
	int *codes;          /* RCPT reply codes, 0: none */
	char **lines;        /* RCPT replies' last lines (heap), NULL: none */
	bool closing;        /* a 421 came: the server is going away
	                      * (RFC 5321 3.8), read nothing more */
};

static void round_init(struct round *t, const struct delivery *d)
{
	memset(t, 0, sizeof *t);
	smtp_reply_init(&t->mail);
	t->index = xcalloc(d->count ? d->count : 1, sizeof *t->index);
	for (size_t i = 0; i < d->count; i++)
		if (d->rcpt[i].status == RCPT_PENDING)
			t->index[t->n++] = i;
	t->codes = xcalloc(t->n ? t->n : 1, sizeof *t->codes);
	t->lines = xcalloc(t->n ? t->n : 1, sizeof *t->lines);
}

static void round_free(struct round *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	free(t->codes);
	free(t->index);
	smtp_reply_free(&t->mail);
}

static void outcome_set(struct smtp_outcome *out, int code, const char *line,
                        size_t len)
{
	out->code = code;
	buf_reset(&out->reply);
	buf_add(&out->reply, line, len);
}

/* Reply number k of the round: 0 is MAIL's, k >= 1 the (k-1)-th RCPT's. */
static int read_round_reply(struct smtp_session *s, struct round *t,
                            size_t k, struct smtp_reply *r, struct err *e)
{
	int rc = smtp_read_reply(s, k == 0 ? &t->mail : r, e);
	if (rc != EX_OK)
		return rc;
	if (k == 0) {
		t->mail_code = t->mail.code;
		t->closing = t->mail.code == 421;
		return EX_OK;
	}
	t->codes[k - 1] = r->code;
	t->lines[k - 1] = xstrndup(r->last.data ? r->last.data : "",
	                           r->last.len);
	t->closing = r->code == 421;
	return EX_OK;
}

/* The ORCPT a client of outbox -bs gave for rcpt, or NULL. */
static const char *orcpt_of(const struct smtp_envelope *env, const char *rcpt)
{
	const struct addr_list *l = env->dsn_orcpt;
	for (size_t i = 0; l && i < l->count; i++)
		if (strcmp(l->items[i].mailbox, rcpt) == 0)
			return l->items[i].display;
	return NULL;
}

static int send_rcpt(struct smtp_session *s, const struct smtp_envelope *env,
                     const char *rcpt, struct buf *cmd, struct err *e)
{
	buf_reset(cmd);
	buf_add_str(cmd, "RCPT TO:");
	int rc = append_path(s, cmd, rcpt, e);
	if (rc == EX_OK && env->dsn_notify)
		buf_printf(cmd, " NOTIFY=%s", env->dsn_notify);
	const char *orcpt = orcpt_of(env, rcpt);
	if (rc == EX_OK && orcpt)
		buf_printf(cmd, " ORCPT=%s", orcpt);
	if (rc == EX_OK)
		rc = smtp_send_command(s, buf_str(cmd), false, e);
	return rc;
}

/* Send MAIL and the round's RCPTs and collect every reply, pipelined when
 * the server allows it (RFC 2920; the replies come in command order). An
 * error only for a failure of the connection itself. */
static int collect_round(struct smtp_session *s,
                         const struct smtp_envelope *env,
                         const struct message *m, struct round *t,
                         struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct smtp_reply r;
	smtp_reply_init(&r);
	bool pipelining = s->caps.pipelining;
	int rc = build_mail_command(s, env, m, &cmd, e);
	if (rc == EX_OK)
		rc = smtp_send_command(s, buf_str(&cmd), false, e);
	if (rc == EX_OK)
		s->in_transaction = true;
	size_t sent = rc == EX_OK, read = 0;
	if (rc == EX_OK && !pipelining)
		rc = read_round_reply(s, t, read++, &r, e);
	bool go_on = pipelining || t->mail_code == 250;
	for (size_t i = 0; rc == EX_OK && go_on && !t->closing && i < t->n;
	     i++) {
		rc = send_rcpt(s, env, env->rcpt->items[t->index[i]].mailbox,
		               &cmd, e);
		if (rc == EX_OK)
			sent++;
		if (rc == EX_OK && !pipelining)
			rc = read_round_reply(s, t, read++, &r, e);
	}
	while (rc == EX_OK && read < sent && !t->closing)
		rc = read_round_reply(s, t, read++, &r, e);
	/* Refused MAIL opens no transaction. */
	if (t->mail_code && t->mail_code != 250)
		s->in_transaction = false;
	buf_free(&cmd);
	smtp_reply_free(&r);
	return rc;
}

static enum rcpt_status status_of(int code)
{
	return code >= 500 && code < 600 ? RCPT_REFUSED : RCPT_DEFERRED;
}

/* Record the verdicts of a round in d: refusals are final for this
 * delivery; the recipient limit's reply is kept with a recipient that
 * stays pending for the next round. */
static void note_round(struct smtp_outcome *out, const struct round *t,
                       const enum rcpt_verdict *verdict)
{
	for (size_t i = 0; i < t->n; i++) {
		size_t k = t->index[i];
		const char *line = t->lines[i];
		size_t len = line ? strlen(line) : 0;
		if (verdict[i] == RCPT_LATER) {
			delivery_set(&out->delivery, k, RCPT_PENDING, t->codes[i],
			             line, len);
		} else if (verdict[i] == RCPT_NOT_TAKEN && t->codes[i] &&
		           t->codes[i] != 250 && t->codes[i] != 251) {
			delivery_set(&out->delivery, k, status_of(t->codes[i]),
			             t->codes[i], line, len);
			if (!out->code || out->code < 400)
				outcome_set(out, t->codes[i], line, len);
		}
	}
}

/* Every accepted recipient of the round gets one reply's verdict (SMTP's
 * single reply, or a refused DATA). */
static void settle_accepted(struct smtp_outcome *out, const struct round *t,
                            const enum rcpt_verdict *verdict,
                            const struct smtp_reply *r)
{
	enum rcpt_status st = r->code == 250 ? RCPT_DELIVERED
	                                     : status_of(r->code);
	for (size_t i = 0; i < t->n; i++)
		if (verdict[i] == RCPT_ACCEPTED)
			delivery_set(&out->delivery, t->index[i], st, r->code,
			             r->last.data, r->last.len);
	outcome_set(out, r->code, r->last.data ? r->last.data : "",
	            r->last.len);
}

static int write_to_conn(void *ctx, const char *data, size_t len,
                         struct err *e)
{
	return conn_write(ctx, data, len, e);
}

/* DATA, the message, end of data; QUIT right behind it when quit. */
static int send_data(struct smtp_session *s, const struct message *m,
                     bool quit, struct smtp_reply *r, struct err *e)
{
	int rc = smtp_command(s, "DATA", false, r, e);
	if (rc != EX_OK || r->code != 354)
		return rc;
	if (s->trace)
		s->trace(s->trace_ctx, '>', "[message data]");
	/* RFC 5321 4.5.2 transparency, then the single end-of-data. */
	rc = msg_write(m, true, write_to_conn, s->conn, e);
	if (rc == EX_OK)
		rc = conn_write(s->conn, ".\r\n", 3, e);
	if (rc != EX_OK)
		s->broken = true;
	if (rc == EX_OK && s->trace)
		s->trace(s->trace_ctx, '>', ".");
	if (rc == EX_OK && quit) {
		rc = smtp_send_command(s, "QUIT", false, e);
		s->quit_sent = rc == EX_OK;
	}
	return rc;
}

/* This round's data may carry QUIT (smtp_last_message): the server
 * pipelines, and no recipient is left for another round (those held back
 * by its limit are pending, as the accepted ones still are). */
static bool quit_with_data(const struct smtp_session *s,
                           const struct smtp_outcome *out,
                           const enum rcpt_verdict *verdict, size_t n)
{
	if (!s->last_message || !s->caps.pipelining)
		return false;
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++)
		accepted += verdict[i] == RCPT_ACCEPTED;
	return delivery_count(&out->delivery, RCPT_PENDING) == accepted;
}

/* After the data: one reply for SMTP, one per accepted recipient for LMTP
 * (RFC 2033 4.2), each recipient's own verdict. */
static int read_final_replies(struct smtp_session *s, struct smtp_outcome *out,
                              const struct round *t,
                              const enum rcpt_verdict *verdict,
                              struct smtp_reply *r, struct err *e)
{
	int rc = EX_OK;
	if (s->proto != PROTOCOL_LMTP) {
		rc = smtp_read_reply(s, r, e);
		if (rc == EX_OK)
			settle_accepted(out, t, verdict, r);
	}
	for (size_t i = 0; rc == EX_OK && s->proto == PROTOCOL_LMTP && i < t->n;
	     i++) {
		if (verdict[i] != RCPT_ACCEPTED)
			continue;
		rc = smtp_read_reply(s, r, e);
		if (rc != EX_OK)
			break;
		delivery_set(&out->delivery, t->index[i],
		             r->code == 250 ? RCPT_DELIVERED : status_of(r->code),
		             r->code, r->last.data, r->last.len);
		if (r->code != 250 || !out->code || out->code == 250)
			outcome_set(out, r->code, r->last.data ? r->last.data : "",
			            r->last.len);
	}
	if (rc == EX_OK)
		s->in_transaction = false;
	return rc;
}

/* A reply that failed a whole transaction (MAIL, DATA, SMTP's end of
 * data) rather than one recipient: the error names it. */
struct cause {
	struct smtp_reply reply; /* code 0: none */
	const char *what;        /* "the server refused the sender", ... */
};

/* Keep *r (taken over, r is left empty) as the cause. */
static void cause_set(struct cause *c, struct smtp_reply *r, const char *what)
{
	smtp_reply_free(&c->reply);
	c->reply = *r;
	c->what = what;
	smtp_reply_init(r);
}

/* One transaction for the recipients still pending. An error only when
 * the connection failed. */
static int run_round(struct smtp_session *s, const struct smtp_envelope *env,
                     const struct message *m, struct smtp_outcome *out,
                     struct cause *cause, struct err *e)
{
	struct round t;
	round_init(&t, &out->delivery);
	enum rcpt_verdict *verdict = xcalloc(t.n ? t.n : 1, sizeof *verdict);
	int rc = collect_round(s, env, m, &t, e);
	bool send = delivery_judge(t.mail_code, t.codes, t.n, verdict);
	if (t.mail_code && t.mail_code != 250) {
		outcome_set(out, t.mail.code, buf_str(&t.mail.last),
		            t.mail.last.len);
		cause_set(cause, &t.mail, "the server refused the sender");
	}
	note_round(out, &t, verdict);
	if (rc == EX_OK && !send) {
		/* All or nothing: abandon so nobody gets it and a retry cannot
		 * deliver twice. RSET failing changes nothing about the
		 * cause. */
		struct err ignored = ERR_INIT;
		if (!t.closing)
			smtp_reset(s, &ignored);
		err_clear(&ignored);
	}
	struct smtp_reply r;
	smtp_reply_init(&r);
	if (rc == EX_OK && send)
		rc = send_data(s, m, quit_with_data(s, out, verdict, t.n), &r,
		               e);
	if (rc == EX_OK && send && r.code != 354) {
		settle_accepted(out, &t, verdict, &r);
		struct err ignored = ERR_INIT;
		smtp_reset(s, &ignored);
		err_clear(&ignored);
		cause_set(cause, &r, "the server refused DATA");
	} else if (rc == EX_OK && send) {
		rc = read_final_replies(s, out, &t, verdict, &r, e);
		if (rc == EX_OK && s->proto != PROTOCOL_LMTP && r.code != 250)
			cause_set(cause, &r, "the server refused the message");
	}
	smtp_reply_free(&r);
	free(verdict);
	round_free(&t);
	return rc;
}

/* A recipient left pending with a reply was held back by the recipient
 * limit when the rounds stopped: that is a temporary refusal. */
static void settle_held_back(struct delivery *d)
{
	for (size_t i = 0; i < d->count; i++)
		if (d->rcpt[i].status == RCPT_PENDING && d->rcpt[i].code)
			d->rcpt[i].status = RCPT_DEFERRED;
}

/* e for a delivery that is not complete: the reply that failed the whole
 * transaction when there was one, else each recipient's. */
static int describe_failure(const struct smtp_outcome *out,
                            const struct smtp_envelope *env,
                            const struct cause *cause, struct err *e)
{
	int rc = delivery_exit_code(&out->delivery);
	struct buf text = BUF_INIT;
	size_t delivered = delivery_count(&out->delivery, RCPT_DELIVERED);
	if (cause->reply.code) {
		struct err why = ERR_INIT;
		rc = smtp_reply_error(&cause->reply, cause->what, &why);
		if (delivered)
			buf_printf(&text, "delivered to %zu of %zu recipients; ",
			           delivered, out->delivery.count);
		buf_add_str(&text, err_msg(&why));
		err_clear(&why);
	} else {
		delivery_describe(&out->delivery, env->rcpt, &text);
	}
	err_set(e, rc, "%s", buf_str(&text));
	buf_free(&text);
	return rc;
}

int smtp_send_mail(struct smtp_session *s, const struct smtp_envelope *env,
                   const struct message *m, struct smtp_outcome *out,
                   struct err *e)
{
	out->code = 0;
	buf_reset(&out->reply);
	delivery_free(&out->delivery);
	delivery_init(&out->delivery, env->rcpt->count);
	int rc = check_transaction(s, env, m, e);
	struct cause cause = {.what = ""};
	smtp_reply_init(&cause.reply);
	/* Each round delivers to at least one more recipient or is the
	 * last: the server's limit can only make the rounds smaller. */
	while (rc == EX_OK) {
		size_t before = delivery_count(&out->delivery, RCPT_DELIVERED);
		rc = run_round(s, env, m, out, &cause, e);
		if (rc != EX_OK || cause.reply.code ||
		    delivery_count(&out->delivery, RCPT_DELIVERED) == before ||
		    delivery_count(&out->delivery, RCPT_PENDING) == 0)
			break;
	}
	settle_held_back(&out->delivery);
	if (rc == EX_OK && delivery_exit_code(&out->delivery) != EX_OK)
		rc = describe_failure(out, env, &cause, e);
	else if (rc != EX_OK &&
	         delivery_count(&out->delivery, RCPT_REFUSED) &&
	         !cause.reply.code)
		/* The connection failed after a refusal: the refusal is the
		 * news, and it is permanent. */
		rc = describe_failure(out, env, &cause, e);
	smtp_reply_free(&cause.reply);
	return rc;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

struct smtp_envelope smtp_envelope_for(const struct account *a,
                                       const char *from,
                                       const struct addr_list *rcpt)
{
	struct smtp_envelope env = {
		.from = from,
		.rcpt = rcpt,
		.dsn_notify = nonempty(a->dsn_notify),
		.dsn_return = nonempty(a->dsn_return),
	};
	return env;
}
