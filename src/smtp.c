/* smtp.c - SMTP/LMTP client session; see smtp.h. */
#include "smtp.h"
#include "smtp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "msg.h"
#include "sanitize.h"
#include "util.h"

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

void smtp_trace_line(struct smtp_session *s, char direction,
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
		smtp_trace_line(s, '<', s->line.data, s->line.len);
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
			smtp_trace_line(s, '>', line, len);
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

int smtp_reset(struct smtp_session *s, struct err *e)
{
	if (s->broken)
		return err_set(e, EX_TEMPFAIL, "the connection to %s is no "
		               "longer usable", conn_peer_name(s->conn));
	/* Nothing to abandon (the last one ended, or was already reset):
	 * another RSET would only cost a round trip. */
	if (!s->in_transaction)
		return EX_OK;
	struct smtp_reply r;
	smtp_reply_init(&r);
	int rc = smtp_command(s, "RSET", false, &r, e);
	if (rc == EX_OK)
		s->in_transaction = false;
	if (rc == EX_OK && r.code != 250)
		rc = smtp_reply_error(&r, "the server refused RSET", e);
	smtp_reply_free(&r);
	return rc;
}

void smtp_last_message(struct smtp_session *s)
{
	s->last_message = true;
}

void smtp_quit(struct smtp_session *s)
{
	if (s->broken)
		return;
	struct smtp_reply r;
	struct err ignored = ERR_INIT;
	smtp_reply_init(&r);
	if (s->quit_sent)
		smtp_read_reply(s, &r, &ignored);
	else
		smtp_command(s, "QUIT", false, &r, &ignored);
	smtp_reply_free(&r);
	err_clear(&ignored);
}

void smtp_outcome_free(struct smtp_outcome *o)
{
	buf_free(&o->reply);
	delivery_free(&o->delivery);
	o->code = 0;
}
