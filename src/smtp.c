/* smtp.c - SMTP/LMTP client session; see smtp.h. */
#include "smtp.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "msg.h"
#include "sanitize.h"
#include "util.h"

struct smtp_session {
	struct conn *conn;
	enum protocol proto;
	smtp_trace_fn trace;
	void *trace_ctx;
	struct smtp_caps caps;
	struct buf ehlo_text;
	struct buf line; /* scratch for reply lines */
	/* A read or write failed (timeout, closed, nonsense): the stream is
	 * out of step, so RSET and QUIT would only wait out another timeout
	 * each for a reply that cannot be trusted or will not come. */
	bool broken;
};

/* ---- replies ---------------------------------------------------------- */

int smtp_parse_reply_line(const char *line, size_t len, int *code,
                          bool *is_last, size_t *text_off)
{
	/* RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
	 *               Reply-code [ SP textstring ] CRLF, code 2yz..5yz. */
	if (len < 3)
		return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3) {
		*is_last = true;
		*text_off = 3;
		return 0;
	}
	if (line[3] != ' ' && line[3] != '-')
		return -1;
	*is_last = line[3] == ' ';
	*text_off = 4;
	return 0;
}

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof *r);
}

void smtp_reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
	buf_free(&r->last);
	r->code = 0;
	r->lines = 0;
}

/* The server's words for an error message: line breaks as spaces, made
 * harmless for the terminal (sanitize.h), at most SMTP_MAX_SHOWN_REPLY
 * bytes of them and the rest counted. */
static void append_shown(struct buf *out, const char *text, size_t len)
{
	struct buf joined = BUF_INIT;
	size_t shown = len < SMTP_MAX_SHOWN_REPLY ? len : SMTP_MAX_SHOWN_REPLY;
	buf_add(&joined, text, shown);
	for (size_t i = 0; i < joined.len; i++)
		if (joined.data[i] == '\n')
			joined.data[i] = ' ';
	sanitize_append(out, buf_str(&joined), joined.len);
	if (shown < len)
		buf_printf(out, " [... %zu more bytes]", len - shown);
	buf_free(&joined);
}

int smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len,
                        const char *peer, bool *done, struct err *e)
{
	int code;
	size_t off;
	*done = false;
	if (smtp_parse_reply_line(line, len, &code, done, &off) != 0 ||
	    (r->code && code != r->code)) {
		*done = false;
		struct buf clean = BUF_INIT;
		append_shown(&clean, line, len);
		err_set(e, EX_PROTOCOL,
		        "the server %s sent an invalid reply: '%s'", peer,
		        buf_str(&clean));
		buf_free(&clean);
		return EX_PROTOCOL;
	}
	if (r->text.len + len > SMTP_MAX_REPLY_SIZE) {
		*done = false;
		return err_set(e, EX_PROTOCOL,
		               "the server %s sent a reply of more than %zu "
		               "bytes",
		               peer, SMTP_MAX_REPLY_SIZE);
	}
	r->code = code;
	if (r->lines++)
		buf_add_char(&r->text, '\n');
	buf_add(&r->text, line + off, len - off);
	if (*done) {
		buf_reset(&r->last);
		buf_add(&r->last, line, len);
	} else if (r->lines == SMTP_MAX_REPLY_LINES) {
		return err_set(e, EX_PROTOCOL,
		               "the server %s sent a reply of more than %d "
		               "lines",
		               peer, SMTP_MAX_REPLY_LINES);
	}
	return EX_OK;
}

static void trace_line(struct smtp_session *s, char direction,
                       const char *line, size_t len)
{
	if (!s->trace)
		return;
	struct buf clean = BUF_INIT;
	sanitize_append(&clean, line, len);
	s->trace(s->trace_ctx, direction, buf_str(&clean));
	buf_free(&clean);
}

static int read_reply_lines(struct smtp_session *s, struct smtp_reply *r,
                            struct err *e)
{
	int rc = conn_flush(s->conn, e);
	if (rc != EX_OK)
		return rc;
	buf_reset(&r->text);
	buf_reset(&r->last);
	r->code = 0;
	r->lines = 0;
	conn_start_deadline(s->conn);
	bool done = false;
	while (!done) {
		rc = conn_read_line(s->conn, &s->line, e);
		if (rc != EX_OK)
			return rc;
		trace_line(s, '<', s->line.data, s->line.len);
		rc = smtp_reply_add_line(r, buf_str(&s->line), s->line.len,
		                         conn_peer_name(s->conn), &done, e);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

int smtp_read_reply(struct smtp_session *s, struct smtp_reply *r,
                    struct err *e)
{
	int rc = read_reply_lines(s, r, e);
	if (rc != EX_OK)
		s->broken = true;
	return rc;
}

int smtp_reply_error(const struct smtp_reply *r, const char *what,
                     struct err *e)
{
	/* Every line of a multi-line reply, joined by spaces, made harmless
	 * for the terminal that will show it. */
	struct buf clean = BUF_INIT;
	append_shown(&clean, buf_str(&r->text), r->text.len);
	int code = r->code >= 400 && r->code < 500   ? EX_TEMPFAIL
	           : r->code >= 500 && r->code < 600 ? EX_UNAVAILABLE
	                                             : EX_PROTOCOL;
	err_set(e, code, "%s: the server said: %d %s", what, r->code,
	        buf_str(&clean));
	buf_free(&clean);
	return code;
}

/* ---- commands --------------------------------------------------------- */

int smtp_send_command(struct smtp_session *s, const char *line, bool secret,
                      struct err *e)
{
	size_t len = strlen(line);
	/* Security invariant 5: one command, one line. */
	if (strpbrk(line, "\r\n"))
		return err_set(e, EX_SOFTWARE,
		               "refusing to send a command containing a line "
		               "break");
	if (s->trace) {
		if (secret) {
			/* Show the verb (and AUTH's mechanism) only. */
			const char *sp = strchr(line, ' ');
			size_t keep = 0;
			if (sp && ascii_ncasecmp(line, "AUTH ", 5) == 0) {
				const char *sp2 = strchr(sp + 1, ' ');
				keep = sp2 ? (size_t)(sp2 - line) : len;
			}
			struct buf shown = BUF_INIT;
			buf_add(&shown, line, keep);
			buf_add_str(&shown, keep ? " <redacted>" : "<redacted>");
			s->trace(s->trace_ctx, '>', buf_str(&shown));
			buf_free(&shown);
		} else {
			trace_line(s, '>', line, len);
		}
	}
	int rc = conn_write(s->conn, line, len, e);
	if (rc == EX_OK)
		rc = conn_write(s->conn, "\r\n", 2, e);
	if (rc != EX_OK)
		s->broken = true;
	return rc;
}

int smtp_command(struct smtp_session *s, const char *line, bool secret,
                 struct smtp_reply *r, struct err *e)
{
	int rc = smtp_send_command(s, line, secret, e);
	if (rc == EX_OK)
		rc = smtp_read_reply(s, r, e);
	return rc;
}

/* ---- session ---------------------------------------------------------- */

struct smtp_session *smtp_session_new(struct conn *conn, enum protocol proto,
                                      smtp_trace_fn trace, void *trace_ctx)
{
	struct smtp_session *s = xcalloc(1, sizeof *s);
	s->conn = conn;
	s->proto = proto;
	s->trace = trace;
	s->trace_ctx = trace_ctx;
	return s;
}

void smtp_session_free(struct smtp_session *s)
{
	if (!s)
		return;
	smtp_caps_clear(&s->caps);
	buf_free(&s->ehlo_text);
	buf_free(&s->line);
	free(s);
}

struct conn *smtp_conn(struct smtp_session *s)
{
	return s->conn;
}

int smtp_greeting(struct smtp_session *s, struct smtp_reply *r,
                  struct err *e)
{
	int rc = smtp_read_reply(s, r, e);
	if (rc != EX_OK)
		return rc;
	if (r->code != 220)
		return smtp_reply_error(r, "the server refused the connection",
		                        e);
	return EX_OK;
}

void smtp_caps_clear(struct smtp_caps *caps)
{
	free(caps->auth);
	memset(caps, 0, sizeof *caps);
}

/* Does the keyword at line[0..len) equal word (case-insensitive)? */
static bool keyword_is(const char *line, size_t len, const char *word)
{
	return strlen(word) == len && ascii_ncasecmp(line, word, len) == 0;
}

/* RFC 1870 4: "SIZE" [SP 1*20DIGIT]. Only this line's digits count
 * (strtoull skipped the line break and read the next line's text as the
 * limit, and took signs and trailing junk); anything else, or a value too
 * large to hold, is 0: no known limit, so nothing is refused up front. */
static uint64_t parse_size_limit(const char *arg, size_t len)
{
	uint64_t limit = 0;
	for (size_t i = 0; i < len; i++) {
		if (arg[i] < '0' || arg[i] > '9')
			return 0;
		unsigned digit = (unsigned)(arg[i] - '0');
		if (limit > (UINT64_MAX - digit) / 10)
			return 0;
		limit = limit * 10 + digit;
	}
	return limit;
}

/* RFC 4422 3.1: sasl-mech = 1*20 of upper-case letters, digits, '-' and
 * '_' (servers also send lower case, which we fold). */
static bool is_mech_name(const char *word, size_t len)
{
	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = word[i];
		if (!(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') &&
		    !(ch >= '0' && ch <= '9') && ch != '-' && ch != '_')
			return false;
	}
	return true;
}

/* Append the mechanisms of one AUTH line, upper case, separated by single
 * spaces. A word that is no mechanism name is dropped: it cannot name a
 * mechanism we speak, and the list ends up in error messages and
 * --serverinfo, where a hostile server's escape sequences must not. */
static void add_auth_mechs(struct buf *list, const char *arg, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (arg[i] == ' ' || arg[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && arg[i] != ' ' && arg[i] != '\t')
			i++;
		if (!is_mech_name(arg + start, i - start))
			continue;
		if (list->len)
			buf_add_char(list, ' ');
		for (size_t k = start; k < i; k++)
			buf_add_char(list, (char)(arg[k] >= 'a' && arg[k] <= 'z'
			                              ? arg[k] - 32 : arg[k]));
	}
}

static void parse_cap_line(const char *line, size_t len,
                           struct smtp_caps *caps)
{
	size_t kw = 0;
	while (kw < len && line[kw] != ' ' && line[kw] != '=')
		kw++;
	const char *arg = kw < len ? line + kw + 1 : line + len;
	size_t arg_len = kw < len ? len - kw - 1 : 0;
	if (keyword_is(line, kw, "PIPELINING")) {
		caps->pipelining = true;
	} else if (keyword_is(line, kw, "SIZE")) {
		caps->size = true;
		caps->size_limit = parse_size_limit(arg, arg_len);
	} else if (keyword_is(line, kw, "8BITMIME")) {
		caps->eightbitmime = true;
	} else if (keyword_is(line, kw, "DSN")) {
		caps->dsn = true;
	} else if (keyword_is(line, kw, "SMTPUTF8")) {
		caps->smtputf8 = true;
	} else if (keyword_is(line, kw, "ENHANCEDSTATUSCODES")) {
		caps->enhancedstatuscodes = true;
	} else if (keyword_is(line, kw, "STARTTLS")) {
		caps->starttls = true;
	} else if (keyword_is(line, kw, "CHUNKING")) {
		caps->chunking = true;
	} else if (keyword_is(line, kw, "AUTH")) {
		/* "AUTH=PLAIN LOGIN" (old servers) and "AUTH PLAIN" merge. */
		struct buf list = BUF_INIT;
		if (caps->auth)
			buf_add_str(&list, caps->auth);
		add_auth_mechs(&list, arg, arg_len);
		free(caps->auth);
		caps->auth = buf_steal(&list);
	}
}

void smtp_parse_caps(const char *ehlo_text, struct smtp_caps *caps)
{
	smtp_caps_clear(caps);
	caps->esmtp = true;
	const char *p = strchr(ehlo_text, '\n'); /* skip the greeting line */
	while (p) {
		const char *line = p + 1;
		p = strchr(line, '\n');
		size_t len = p ? (size_t)(p - line) : strlen(line);
		parse_cap_line(line, len, caps);
	}
}

static int check_helo_domain(const char *domain, struct err *e)
{
	size_t len = strlen(domain);
	bool ok = len > 0 && len <= ADDR_MAX_DOMAIN;
	for (size_t i = 0; ok && i < len; i++) {
		unsigned char ch = (unsigned char)domain[i];
		ok = ch > ' ' && ch != 0x7f;
	}
	if (!ok)
		return err_set(e, EX_CONFIG,
		               "invalid EHLO domain (see 'domain'): it must be "
		               "a host name without spaces or control "
		               "characters");
	return EX_OK;
}

int smtp_hello(struct smtp_session *s, const char *domain, struct err *e)
{
	int rc = check_helo_domain(domain, e);
	if (rc != EX_OK)
		return rc;
	struct smtp_reply r;
	smtp_reply_init(&r);
	struct buf cmd = BUF_INIT;
	buf_printf(&cmd, "%s %s", s->proto == PROTOCOL_LMTP ? "LHLO" : "EHLO",
	           domain);
	rc = smtp_command(s, buf_str(&cmd), false, &r, e);
	if (rc == EX_OK && r.code == 250) {
		smtp_parse_caps(buf_str(&r.text), &s->caps);
		buf_reset(&s->ehlo_text);
		buf_add_str(&s->ehlo_text, buf_str(&r.text));
	} else if (rc == EX_OK && r.code >= 500 && s->proto == PROTOCOL_SMTP) {
		/* RFC 5321 4.1.4: an old server; HELO gives no extensions. */
		buf_reset(&cmd);
		buf_printf(&cmd, "HELO %s", domain);
		rc = smtp_command(s, buf_str(&cmd), false, &r, e);
		if (rc == EX_OK && r.code != 250)
			rc = smtp_reply_error(&r, "the server refused HELO", e);
		smtp_caps_clear(&s->caps);
		buf_reset(&s->ehlo_text);
	} else if (rc == EX_OK) {
		rc = smtp_reply_error(&r, s->proto == PROTOCOL_LMTP
		                              ? "the server refused LHLO"
		                              : "the server refused EHLO", e);
	}
	buf_free(&cmd);
	smtp_reply_free(&r);
	return rc;
}

const struct smtp_caps *smtp_caps(const struct smtp_session *s)
{
	return &s->caps;
}

void smtp_forget_caps(struct smtp_session *s)
{
	smtp_caps_clear(&s->caps);
	buf_reset(&s->ehlo_text);
}

const char *smtp_ehlo_text(const struct smtp_session *s)
{
	return buf_str(&s->ehlo_text);
}

/* ---- the mail transaction --------------------------------------------- */

/* Place a mailbox in a path, converting its domain to an A-label when the
 * server cannot take UTF-8 addresses. */
static int append_path(struct smtp_session *s, struct buf *cmd,
                       const char *mailbox, struct err *e)
{
	if (!s->caps.smtputf8 && addr_needs_smtputf8(mailbox)) {
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
	if (env->envid)
		buf_printf(cmd, " ENVID=%s", env->envid);
	return EX_OK;
}

static int check_transaction(struct smtp_session *s,
                             const struct smtp_envelope *env,
                             const struct message *m, struct err *e)
{
	int rc = addr_check_smtp_safe(env->from, true, e);
	for (size_t i = 0; rc == EX_OK && i < env->rcpt->count; i++)
		rc = addr_check_smtp_safe(env->rcpt->items[i].mailbox, false, e);
	if (rc != EX_OK)
		return rc;
	if (env->rcpt->count == 0)
		return err_set(e, EX_DATAERR, "no recipients");
	if ((env->dsn_notify || env->dsn_return) && !s->caps.dsn)
		return err_set(e, EX_UNAVAILABLE,
		               "delivery status notifications were requested "
		               "(dsn_notify/dsn_return, -N/-R) but the server "
		               "does not support DSN");
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

static void outcome_set(struct smtp_outcome *out, const struct smtp_reply *r)
{
	if (!out)
		return;
	out->code = r->code;
	buf_reset(&out->reply);
	buf_add(&out->reply, r->last.data ? r->last.data : "", r->last.len);
}

/* Merge one refusal into the transaction's error: every refusal's text is
 * kept, and one permanent refusal makes the whole result permanent, since a
 * retry would be refused again. */
static int note_refusal(const struct smtp_reply *r, const char *what,
                        int so_far, struct err *e)
{
	struct err this_one = ERR_INIT;
	int code = smtp_reply_error(r, what, &this_one);
	if (so_far == EX_OK) {
		err_set(e, code, "%s", err_msg(&this_one));
	} else {
		if (so_far == EX_UNAVAILABLE)
			code = so_far;
		err_set(e, code, "%s; %s", err_msg(e), err_msg(&this_one));
	}
	err_clear(&this_one);
	return code;
}

static int note_rcpt_refusal(const struct smtp_reply *r, const char *rcpt,
                             struct smtp_outcome *out, int so_far,
                             struct err *e)
{
	outcome_set(out, r);
	struct buf what = BUF_INIT;
	buf_printf(&what, "the server refused recipient <%s>", rcpt);
	int code = note_refusal(r, buf_str(&what), so_far, e);
	buf_free(&what);
	return code;
}

/* MAIL and RCPT, pipelined when the server allows it (RFC 2920). DATA is
 * never pipelined: if a recipient is refused the transaction must be
 * abandoned before any message byte is sent. */
static int send_envelope(struct smtp_session *s,
                         const struct smtp_envelope *env,
                         const struct message *m, struct smtp_outcome *out,
                         struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct smtp_reply r;
	smtp_reply_init(&r);
	int rc = build_mail_command(s, env, m, &cmd, e);
	size_t sent = 0; /* commands sent whose replies are still unread */
	if (rc == EX_OK)
		rc = smtp_send_command(s, buf_str(&cmd), false, e);
	if (rc == EX_OK)
		sent++;
	int refused = EX_OK;
	bool mail_ok = true;
	/* After a 421 the server closes (RFC 5321 3.8): the refusal is the
	 * news, not the end of the stream that follows it. */
	bool closing = false;
	if (rc == EX_OK && !s->caps.pipelining) {
		rc = smtp_read_reply(s, &r, e);
		sent--;
		if (rc == EX_OK && r.code != 250) {
			outcome_set(out, &r);
			rc = smtp_reply_error(&r, "the server refused the sender",
			                      e);
		}
	}
	for (size_t i = 0; rc == EX_OK && !closing && i < env->rcpt->count;
	     i++) {
		const char *rcpt = env->rcpt->items[i].mailbox;
		buf_reset(&cmd);
		buf_add_str(&cmd, "RCPT TO:");
		rc = append_path(s, &cmd, rcpt, e);
		if (rc == EX_OK && env->dsn_notify)
			buf_printf(&cmd, " NOTIFY=%s", env->dsn_notify);
		if (rc == EX_OK)
			rc = smtp_send_command(s, buf_str(&cmd), false, e);
		if (rc == EX_OK)
			sent++;
		if (rc == EX_OK && !s->caps.pipelining) {
			rc = smtp_read_reply(s, &r, e);
			sent--;
			if (rc == EX_OK && r.code != 250 && r.code != 251) {
				refused = note_rcpt_refusal(&r, rcpt, out, refused, e);
				closing = r.code == 421;
			}
		}
	}
	/* Pipelined: the replies come in command order. */
	for (size_t i = 0; rc == EX_OK && sent > 0 && !closing; i++, sent--) {
		struct err read_err = ERR_INIT;
		rc = smtp_read_reply(s, &r, &read_err);
		if (rc != EX_OK) {
			if (refused == EX_OK)
				err_set(e, rc, "%s", err_msg(&read_err));
			else
				rc = EX_OK; /* keep the refusal already noted */
			err_clear(&read_err);
			break;
		}
		closing = r.code == 421;
		if (i == 0) {
			if (r.code != 250) {
				outcome_set(out, &r);
				refused = note_refusal(
				        &r, "the server refused the sender", refused,
				        e);
				mail_ok = false;
			}
			continue;
		}
		if (r.code != 250 && r.code != 251 && mail_ok)
			refused = note_rcpt_refusal(
			        &r, env->rcpt->items[i - 1].mailbox, out, refused, e);
	}
	buf_free(&cmd);
	smtp_reply_free(&r);
	if (rc != EX_OK)
		return rc;
	if (refused != EX_OK) {
		/* All or nothing: abandon so nobody gets it and a retry cannot
		 * deliver twice. RSET failing changes nothing about the cause. */
		struct err ignored = ERR_INIT;
		if (!closing)
			smtp_reset(s, &ignored);
		err_clear(&ignored);
		return refused;
	}
	return EX_OK;
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

static int write_to_conn(void *ctx, const char *data, size_t len,
                         struct err *e)
{
	return conn_write(ctx, data, len, e);
}

/* End of data: one reply for SMTP, one per recipient for LMTP
 * (RFC 2033 4.2). */
static int read_data_replies(struct smtp_session *s,
                             const struct smtp_envelope *env,
                             struct smtp_outcome *out, struct err *e)
{
	size_t replies = s->proto == PROTOCOL_LMTP ? env->rcpt->count : 1;
	struct smtp_reply r;
	smtp_reply_init(&r);
	int result = EX_OK;
	for (size_t i = 0; i < replies; i++) {
		int rc = smtp_read_reply(s, &r, e);
		if (rc != EX_OK) {
			result = rc;
			break;
		}
		if (result == EX_OK || r.code != 250)
			outcome_set(out, &r);
		if (r.code != 250) {
			struct buf what = BUF_INIT;
			if (s->proto == PROTOCOL_LMTP)
				buf_printf(&what,
				           "the server did not deliver to <%s>",
				           env->rcpt->items[i].mailbox);
			else
				buf_add_str(&what,
				            "the server refused the message");
			result = note_refusal(&r, buf_str(&what), result, e);
			buf_free(&what);
		}
	}
	smtp_reply_free(&r);
	return result;
}

int smtp_send_mail(struct smtp_session *s, const struct smtp_envelope *env,
                   const struct message *m, struct smtp_outcome *out,
                   struct err *e)
{
	int rc = check_transaction(s, env, m, e);
	if (rc == EX_OK)
		rc = send_envelope(s, env, m, out, e);
	if (rc != EX_OK)
		return rc;
	struct smtp_reply r;
	smtp_reply_init(&r);
	rc = smtp_command(s, "DATA", false, &r, e);
	if (rc == EX_OK && r.code != 354) {
		outcome_set(out, &r);
		rc = smtp_reply_error(&r, "the server refused DATA", e);
	}
	smtp_reply_free(&r);
	if (rc != EX_OK)
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
	if (rc == EX_OK)
		rc = read_data_replies(s, env, out, e);
	return rc;
}

int smtp_reset(struct smtp_session *s, struct err *e)
{
	if (s->broken)
		return err_set(e, EX_TEMPFAIL, "the connection to %s is no "
		               "longer usable", conn_peer_name(s->conn));
	struct smtp_reply r;
	smtp_reply_init(&r);
	int rc = smtp_command(s, "RSET", false, &r, e);
	if (rc == EX_OK && r.code != 250)
		rc = smtp_reply_error(&r, "the server refused RSET", e);
	smtp_reply_free(&r);
	return rc;
}

void smtp_quit(struct smtp_session *s)
{
	if (s->broken)
		return;
	struct smtp_reply r;
	struct err ignored = ERR_INIT;
	smtp_reply_init(&r);
	smtp_command(s, "QUIT", false, &r, &ignored);
	smtp_reply_free(&r);
	err_clear(&ignored);
}

void smtp_outcome_free(struct smtp_outcome *o)
{
	buf_free(&o->reply);
	o->code = 0;
}
