/* smtpd.c - the SMTP dialogue of outbox -bs; see smtpd.h. */
#include "smtpd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd_io.h"
#include "tmpfile.h"
#include "util.h"

struct dialogue {
	const struct smtpd_settings *s;
	struct smtpd_io io;
	smtpd_deliver_fn deliver;
	void *ctx;
	uint64_t max_size;
	unsigned errors;
	bool in_transaction;        /* MAIL was accepted */
	struct smtpd_transaction t;
	size_t rcpt_alloc;
	const char *notify;         /* the transaction's NOTIFY (see rcpt) */
	bool notify_set;
};

/* ---- the transaction -------------------------------------------------- */

static void transaction_reset(struct dialogue *d)
{
	struct smtpd_transaction *t = &d->t;
	free(t->from);
	free(t->envid);
	for (size_t i = 0; i < t->rcpt_count; i++) {
		free(t->rcpt[i].mailbox);
		free(t->rcpt[i].notify);
		free(t->rcpt[i].orcpt);
	}
	free(t->rcpt);
	memset(t, 0, sizeof *t);
	t->message_fd = -1;
	d->rcpt_alloc = 0;
	d->in_transaction = false;
	d->notify = NULL;
	d->notify_set = false;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A refusal of the client's command: counted towards SMTPD_MAX_ERRORS. */
static void refuse(struct dialogue *d, const struct smtpd_refusal *why)
{
	smtpd_io_reply(&d->io, "%d %s %s", why->code, why->status, why->text);
	d->errors++;
}

static void refuse_sequence(struct dialogue *d, const char *text)
{
	smtpd_io_reply(&d->io, "503 5.5.1 %s", text);
	d->errors++;
}

/* ---- commands --------------------------------------------------------- */

/* RFC 5321 4.1.4: HELO and EHLO end any transaction. */
static void hello(struct dialogue *d, const struct smtpd_command *c)
{
	transaction_reset(d);
	const char *host = d->s->hostname;
	if (c->verb == SMTPD_HELO) {
		smtpd_io_reply(&d->io, "250 %s", host);
		return;
	}
	smtpd_io_reply(&d->io, "250-%s", host);
	smtpd_io_reply(&d->io, "250-PIPELINING");
	smtpd_io_reply(&d->io, "250-SIZE %llu", (unsigned long long)d->max_size);
	smtpd_io_reply(&d->io, "250-8BITMIME");
	smtpd_io_reply(&d->io, "250-SMTPUTF8");
	smtpd_io_reply(&d->io, "250-DSN");
	smtpd_io_reply(&d->io, "250-ENHANCEDSTATUSCODES");
	smtpd_io_reply(&d->io, "250 HELP");
}

static void mail(struct dialogue *d, struct smtpd_command *c)
{
	if (d->in_transaction) {
		refuse_sequence(d, "nested MAIL command (RSET first)");
		return;
	}
	if (c->has_size && c->size > d->max_size) {
		smtpd_io_reply(&d->io, "552 5.3.4 the message is larger than "
		               "the %llu octets outbox takes",
		               (unsigned long long)d->max_size);
		return;
	}
	/* RFC 6531 3.4: a non-ASCII address needs SMTPUTF8. */
	if (!c->smtputf8 && !is_ascii(c->path)) {
		smtpd_io_reply(&d->io, "553 5.6.7 a non-ASCII sender address "
		               "needs the SMTPUTF8 parameter");
		return;
	}
	struct smtpd_transaction *t = &d->t;
	t->from = c->path;
	c->path = NULL;
	t->smtputf8 = c->smtputf8;
	t->body = c->body;
	t->ret = c->ret;
	t->envid = c->envid;
	c->envid = NULL;
	d->in_transaction = true;
	smtpd_io_reply(&d->io, "250 2.1.0 Ok");
}

static void rcpt(struct dialogue *d, struct smtpd_command *c)
{
	struct smtpd_transaction *t = &d->t;
	if (!d->in_transaction) {
		refuse_sequence(d, "need MAIL before RCPT");
		return;
	}
	if (t->rcpt_count >= SMTPD_MAX_RECIPIENTS) {
		smtpd_io_reply(&d->io, "452 4.5.3 too many recipients (at "
		               "most %d per message)", SMTPD_MAX_RECIPIENTS);
		return;
	}
	if (!t->smtputf8 && !is_ascii(c->path)) {
		smtpd_io_reply(&d->io, "553 5.6.7 a non-ASCII recipient address "
		               "needs SMTPUTF8 in MAIL");
		return;
	}
	/* One smarthost transaction carries one NOTIFY setting (dsn_notify):
	 * a recipient who wants another one is refused rather than given a
	 * notification they did not ask for. */
	const char *notify = c->notify ? c->notify : "";
	if (d->notify_set && strcmp(notify, d->notify) != 0) {
		smtpd_io_reply(&d->io, "555 5.5.4 outbox sends one NOTIFY "
		               "setting per message: send this recipient in a "
		               "message of its own");
		return;
	}
	if (t->rcpt_count == d->rcpt_alloc) {
		d->rcpt_alloc = d->rcpt_alloc ? 2 * d->rcpt_alloc : 8;
		t->rcpt = xrealloc(t->rcpt, d->rcpt_alloc * sizeof *t->rcpt);
	}
	struct smtpd_recipient *r = &t->rcpt[t->rcpt_count++];
	r->mailbox = c->path;
	r->notify = c->notify;
	r->orcpt = c->orcpt;
	c->path = c->notify = c->orcpt = NULL;
	d->notify = r->notify ? r->notify : "";
	d->notify_set = true;
	smtpd_io_reply(&d->io, "250 2.1.5 Ok");
}

/* ---- DATA ------------------------------------------------------------- */

/* Where the message goes while it arrives: a file without a name,
 * written in large pieces; past the size limit only counted. */
struct data_file {
	int fd;
	struct buf pending;
	uint64_t size, limit;
	int write_errno;
};

static void data_write_pending(struct data_file *f)
{
	if (f->pending.len && !f->write_errno &&
	    fd_write_all(f->fd, f->pending.data, f->pending.len) != 0)
		f->write_errno = errno ? errno : EIO;
	buf_reset(&f->pending);
}

static void data_sink(void *ctx, const char *data, size_t len)
{
	struct data_file *f = ctx;
	f->size += len;
	if (f->size > f->limit || f->write_errno)
		return;
	buf_add(&f->pending, data, len);
	if (f->pending.len >= SMTPD_IO_CHUNK)
		data_write_pending(f);
}

static void reply_verdict(struct dialogue *d, const struct smtpd_verdict *v)
{
	struct buf line = BUF_INIT;
	smtpd_verdict_reply(v, &line);
	smtpd_io_reply(&d->io, "%s", buf_str(&line));
	buf_free(&line);
}

static void deliver_message(struct dialogue *d, struct data_file *f)
{
	struct smtpd_verdict v = {0, 0, BUF_INIT, 0};
	if (lseek(f->fd, 0, SEEK_SET) != 0) {
		v.rc = EX_IOERR;
		buf_printf(&v.text, "cannot read the message back: %s",
		           strerror(errno));
	} else {
		d->t.message_fd = f->fd;
		d->t.message_size = f->size;
		d->deliver(d->ctx, &d->t, &v);
		/* Now the smarthost's limit is known: later EHLO and MAIL
		 * commands say it and keep to it (RFC 1870). */
		if (v.size_limit && v.size_limit < d->max_size)
			d->max_size = v.size_limit;
	}
	reply_verdict(d, &v);
	buf_free(&v.text);
}

/* Ends the dialogue (returns non-zero) only when the client went away or
 * fell silent in the middle of the message. */
static int data(struct dialogue *d, struct err *e)
{
	if (!d->in_transaction) {
		refuse_sequence(d, "need MAIL before DATA");
		return EX_OK;
	}
	if (d->t.rcpt_count == 0) {
		refuse_sequence(d, "need RCPT before DATA");
		return EX_OK;
	}
	struct data_file f = {-1, BUF_INIT, 0, d->max_size, 0};
	struct err te = ERR_INIT;
	if (tmpfile_unnamed(&f.fd, "the message", &te) != EX_OK) {
		smtpd_io_reply(&d->io, "451 4.3.0 %s", err_msg(&te));
		err_clear(&te);
		return EX_OK;
	}
	smtpd_io_reply(&d->io, "354 End data with <CR><LF>.<CR><LF>");
	enum smtpd_read r = smtpd_io_read_data(&d->io, data_sink, &f);
	data_write_pending(&f);
	buf_free(&f.pending);
	int rc = EX_OK;
	if (r == SMTPD_READ_TIMEOUT) {
		smtpd_io_reply(&d->io, "421 4.4.2 %s no data for %d seconds: "
		               "closing", d->s->hostname, d->io.timeout);
		rc = err_set(e, EX_TEMPFAIL, "the client sent no data for %d "
		             "seconds: the message was not sent",
		             d->io.timeout);
	} else if (r != SMTPD_READ_LINE) {
		rc = err_set(e, r == SMTPD_READ_EOF ? EX_PROTOCOL : EX_IOERR,
		             "the client went away in the middle of a "
		             "message: it was not sent");
	} else if (f.size > f.limit) {
		smtpd_io_reply(&d->io, "552 5.3.4 the message is larger than "
		               "the %llu octets outbox takes",
		               (unsigned long long)f.limit);
	} else if (f.write_errno) {
		smtpd_io_reply(&d->io, "451 4.3.0 cannot store the message: %s",
		               strerror(f.write_errno));
	} else {
		deliver_message(d, &f);
	}
	close(f.fd);
	transaction_reset(d);
	return rc;
}

/* ---- the loop --------------------------------------------------------- */

static const char help_text[] =
        "214 2.0.0 commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP "
        "QUIT";

/* Carry out one parsed command. *done is set by QUIT. */
static int run_command(struct dialogue *d, struct smtpd_command *c,
                       bool *done, struct err *e)
{
	switch (c->verb) {
	case SMTPD_HELO:
	case SMTPD_EHLO:
		hello(d, c);
		break;
	case SMTPD_MAIL:
		mail(d, c);
		break;
	case SMTPD_RCPT:
		rcpt(d, c);
		break;
	case SMTPD_DATA:
		return data(d, e);
	case SMTPD_RSET:
		transaction_reset(d);
		smtpd_io_reply(&d->io, "250 2.0.0 Ok");
		break;
	case SMTPD_NOOP:
		smtpd_io_reply(&d->io, "250 2.0.0 Ok");
		break;
	case SMTPD_VRFY: /* RFC 5321 3.5.3 */
		smtpd_io_reply(&d->io, "252 2.5.0 cannot VRFY; send a message "
		               "and outbox will attempt delivery");
		break;
	case SMTPD_EXPN:
		smtpd_io_reply(&d->io, "502 5.5.1 EXPN is not offered");
		break;
	case SMTPD_HELP:
		smtpd_io_reply(&d->io, "%s", help_text);
		break;
	case SMTPD_QUIT:
		smtpd_io_reply(&d->io, "221 2.0.0 %s closing", d->s->hostname);
		*done = true;
		break;
	}
	return EX_OK;
}

/* The end of input, a timeout or a read error while waiting for a
 * command. */
static int end_of_input(struct dialogue *d, enum smtpd_read r, struct err *e)
{
	if (r == SMTPD_READ_TIMEOUT) {
		smtpd_io_reply(&d->io, "421 4.4.2 %s no command for %d "
		               "seconds: closing", d->s->hostname,
		               d->io.timeout);
		return err_set(e, EX_TEMPFAIL, "the client sent no command "
		               "for %d seconds", d->io.timeout);
	}
	if (r == SMTPD_READ_ERROR)
		return err_set(e, EX_IOERR, "cannot read standard input: %s",
		               strerror(errno));
	if (d->in_transaction)
		return err_set(e, EX_PROTOCOL, "the client closed standard "
		               "input in the middle of a transaction: its "
		               "message was not sent");
	return EX_OK;
}

static int dialogue(struct dialogue *d, struct err *e)
{
	smtpd_io_reply(&d->io, "220 %s ESMTP outbox", d->s->hostname);
	for (;;) {
		const char *line;
		size_t len;
		enum smtpd_read r = smtpd_io_read_line(
		        &d->io, SMTPD_MAX_COMMAND_LINE, &line, &len);
		if (r == SMTPD_READ_TOO_LONG) {
			smtpd_io_reply(&d->io, "500 5.5.2 line too long (at "
			               "most %d octets)", SMTPD_MAX_COMMAND_LINE);
			d->errors++;
		} else if (r != SMTPD_READ_LINE) {
			return end_of_input(d, r, e);
		} else {
			struct smtpd_command c;
			struct smtpd_refusal why;
			bool done = false;
			int rc = EX_OK;
			if (smtpd_parse_command(line, len, &c, &why)) {
				rc = run_command(d, &c, &done, e);
				smtpd_command_free(&c);
			} else {
				refuse(d, &why);
			}
			if (rc != EX_OK || done)
				return rc;
		}
		if (d->errors >= SMTPD_MAX_ERRORS) {
			smtpd_io_reply(&d->io, "421 4.7.0 %s too many errors: "
			               "closing", d->s->hostname);
			return err_set(e, EX_PROTOCOL, "the client made %d "
			               "errors in a row; the dialogue was ended",
			               SMTPD_MAX_ERRORS);
		}
		if (d->io.write_failed)
			break;
	}
	return EX_OK;
}

int smtpd_run(const struct smtpd_settings *s, smtpd_deliver_fn deliver,
              void *ctx, struct err *e)
{
	struct dialogue d = {.s = s, .deliver = deliver, .ctx = ctx};
	d.max_size = s->max_message_size ? s->max_message_size
	                                 : SMTPD_MAX_MESSAGE_SIZE;
	d.t.message_fd = -1;
	smtpd_io_init(&d.io, s->in_fd, s->out_fd,
	              s->timeout > 0 ? s->timeout : SMTPD_DEFAULT_TIMEOUT);
	int rc = dialogue(&d, e);
	smtpd_io_flush(&d.io);
	if (d.io.write_failed && rc == EX_OK)
		rc = err_set(e, EX_IOERR, "cannot write to standard output: "
		             "the client stopped reading");
	transaction_reset(&d);
	smtpd_io_free(&d.io);
	return rc;
}

/* ---- verdicts --------------------------------------------------------- */

/* The reply for an exit status when the smarthost gave no code of its
 * own: 4xx wherever retrying can help (RFC 3463 X.3.0: local problem). */
static void reply_for_status(int rc, int *code, const char **status)
{
	switch (rc) {
	case EX_OK:
		*code = 250, *status = "2.0.0";
		break;
	case EX_TEMPFAIL:
		*code = 451, *status = "4.4.0";
		break;
	case EX_CONFIG:
		*code = 451, *status = "4.3.5";
		break;
	case EX_OSERR:
	case EX_IOERR:
	case EX_CANTCREAT:
	case EX_SOFTWARE:
	case EX_PROTOCOL:
		*code = 451, *status = "4.3.0";
		break;
	case EX_NOPERM:
		*code = 554, *status = "5.7.0";
		break;
	case EX_DATAERR:
		*code = 554, *status = "5.6.0";
		break;
	case EX_NOUSER:
		*code = 550, *status = "5.1.1";
		break;
	default:
		*code = 554, *status = "5.0.0";
		break;
	}
}

/* The text as one line of printable ASCII, at most this long. */
#define SMTPD_MAX_REPLY_TEXT 400

static void append_reply_text(struct buf *out, const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p && n < SMTPD_MAX_REPLY_TEXT; p++, n++) {
		unsigned char ch = (unsigned char)*p;
		buf_add_char(out, ch >= 0x20 && ch < 0x7f ? (char)ch
		                  : ch == '\n' || ch == '\t' ? ' ' : '?');
	}
	if (text[n])
		buf_add_str(out, "...");
}

void smtpd_verdict_reply(const struct smtpd_verdict *v, struct buf *out)
{
	int code;
	const char *status;
	reply_for_status(v->rc, &code, &status);
	/* The smarthost's own code where its reply to the transaction
	 * decided, within the class the exit status gives (a 4xx never turns
	 * into a refusal; AUTH's 535 is not a reply to the message). */
	bool transaction = v->rc == EX_TEMPFAIL || v->rc == EX_UNAVAILABLE;
	if (transaction && v->server_code / 100 == code / 100)
		code = v->server_code;
	buf_printf(out, "%d %s ", code, status);
	append_reply_text(out, v->text.len ? buf_str(&v->text)
	                                   : code < 300 ? "Ok" : "failed");
}
