/* fuzz_smtp_reply.c - libFuzzer target for what an SMTP server sends:
 * reply lines, multi-line replies and EHLO capabilities.
 *
 * The input is the server's byte stream, cut into lines at LF with one
 * trailing CR dropped (as conn_read_line does). Then
 *  1. every line goes through smtp_parse_reply_line;
 *  2. the lines are collected with smtp_reply_add_line, one reply after
 *     another as in a pipelined session, until a line is refused; each
 *     finished reply is parsed as an EHLO reply and turned into an error
 *     message with smtp_reply_error;
 *  3. the lines are fed round and round into a single reply until it ends
 *     or is refused, so the line and size limits are reached;
 *  4. the whole input (up to a NUL) is parsed as EHLO text.
 * A small model written from RFC 5321 4.2, RFC 1870 and RFC 4422 3.1 runs
 * alongside.
 *
 * Invariants checked (abort() on violation):
 *  - a line is accepted exactly when the model accepts it, with the same
 *    code (200..599), last flag and text offset (3 or 4, within the line);
 *  - a reply is finished or refused exactly when the model says so: one
 *    code per reply, at most SMTP_MAX_REPLY_LINES lines and
 *    SMTP_MAX_REPLY_SIZE bytes of text; its text is the lines' texts
 *    joined by '\n' and `last` its last line;
 *  - a refusal is EX_PROTOCOL; smtp_reply_error maps 4xx/5xx/other to
 *    EX_TEMPFAIL/EX_UNAVAILABLE/EX_PROTOCOL; every message is free of
 *    control bytes (but TAB) and bounded, whatever the server sent;
 *  - capabilities match the model's; the AUTH list holds only RFC 4422
 *    mechanism names in upper case, one space between them. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "smtp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message shows at most SMTP_MAX_SHOWN_REPLY bytes of server text, each
 * escaped to at most 4 ("\xNN"), plus our own words. */
#define MAX_MESSAGE (4 * SMTP_MAX_SHOWN_REPLY + 256)

struct line {
	const char *text;
	size_t len;
};

static void check_message(const struct err *e)
{
	const char *msg = err_msg(e);
	if (!*msg || strlen(msg) > MAX_MESSAGE)
		abort();
	for (const char *s = msg; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			abort(); /* sanitize.h lets TAB through */
}

/* RFC 5321 4.2: Reply-code [ ("-" / SP) textstring ], code 2yz..5yz. */
static bool model_line(const struct line *l, int *code, bool *last,
                       size_t *off)
{
	const char *s = l->text;
	if (l->len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' ||
	    s[1] > '9' || s[2] < '0' || s[2] > '9')
		return false;
	if (l->len > 3 && s[3] != ' ' && s[3] != '-')
		return false;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	*last = l->len == 3 || s[3] == ' ';
	*off = l->len == 3 ? 3 : 4;
	return true;
}

static void check_parse_line(const struct line *l)
{
	int code = 0, want_code = 0;
	bool last = false, want_last = false;
	size_t off = 0, want_off = 0;
	bool ok = smtp_parse_reply_line(l->text, l->len, &code, &last, &off) ==
	          0;
	if (ok != model_line(l, &want_code, &want_last, &want_off))
		abort();
	if (ok && (code != want_code || code < 200 || code > 599 ||
	           last != want_last || off != want_off || off > l->len))
		abort();
}

/* ---- the capabilities model ------------------------------------------ */

static bool keyword_is(const char *line, size_t kw, const char *word)
{
	return strlen(word) == kw && ascii_ncasecmp(line, word, kw) == 0;
}

static bool is_mech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static void check_auth_list(const char *auth)
{
	/* words of 1..20 mechanism characters, single spaces between */
	size_t word = 0;
	for (const char *p = auth; *p; p++) {
		if (*p == ' ') {
			if (word == 0 || p[1] == '\0')
				abort();
			word = 0;
		} else if (!is_mech_char(*p) || ++word > 20) {
			abort();
		}
	}
}

static void check_caps(const char *text)
{
	struct smtp_caps caps = {0};
	smtp_parse_caps(text, &caps);
	bool pipelining = false, size = false, eightbitmime = false,
	     dsn = false, smtputf8 = false, enhanced = false,
	     starttls = false, chunking = false, auth = false;
	uint64_t limit = 0;
	const char *p = strchr(text, '\n'); /* the greeting line is skipped */
	while (p) {
		const char *line = p + 1;
		p = strchr(line, '\n');
		size_t len = p ? (size_t)(p - line) : strlen(line);
		size_t kw = strcspn(line, " =\n");
		if (kw > len)
			kw = len;
		pipelining |= keyword_is(line, kw, "PIPELINING");
		eightbitmime |= keyword_is(line, kw, "8BITMIME");
		dsn |= keyword_is(line, kw, "DSN");
		smtputf8 |= keyword_is(line, kw, "SMTPUTF8");
		enhanced |= keyword_is(line, kw, "ENHANCEDSTATUSCODES");
		starttls |= keyword_is(line, kw, "STARTTLS");
		chunking |= keyword_is(line, kw, "CHUNKING");
		auth |= keyword_is(line, kw, "AUTH");
		if (keyword_is(line, kw, "SIZE")) {
			/* RFC 1870: SIZE [SP 1*20DIGIT]; the last one counts,
			 * anything else (or too large) is "no limit". */
			size = true;
			limit = 0;
			bool digits = true;
			for (size_t i = kw + 1; i < len && digits; i++) {
				unsigned d = (unsigned)(line[i] - '0');
				digits = d <= 9 &&
				         limit <= (UINT64_MAX - d) / 10;
				limit = digits ? limit * 10 + d : 0;
			}
		}
	}
	if (!caps.esmtp || caps.pipelining != pipelining ||
	    caps.size != size || caps.size_limit != limit ||
	    caps.eightbitmime != eightbitmime || caps.dsn != dsn ||
	    caps.smtputf8 != smtputf8 || caps.enhancedstatuscodes != enhanced ||
	    caps.starttls != starttls || caps.chunking != chunking ||
	    (caps.auth != NULL) != auth)
		abort();
	if (caps.auth)
		check_auth_list(caps.auth);
	smtp_caps_clear(&caps);
}

/* ---- reply assembly ---------------------------------------------------- */

/* What smtp_reply_add_line must do with the next line. */
enum outcome { MORE, DONE, REFUSED };

struct model {
	int code;
	size_t lines;
	struct buf text;
};

static enum outcome model_add(struct model *m, const struct line *l)
{
	int code;
	bool last;
	size_t off;
	if (!model_line(l, &code, &last, &off) || (m->code && code != m->code))
		return REFUSED;
	if (m->text.len + l->len > SMTP_MAX_REPLY_SIZE)
		return REFUSED;
	m->code = code;
	if (m->lines++)
		buf_add_char(&m->text, '\n');
	buf_add(&m->text, l->text + off, l->len - off);
	if (last)
		return DONE;
	return m->lines == SMTP_MAX_REPLY_LINES ? REFUSED : MORE;
}

static void model_reset(struct model *m)
{
	m->code = 0;
	m->lines = 0;
	buf_reset(&m->text);
}

/* Add one line to r and to the model; they must agree. */
static enum outcome add_line(struct smtp_reply *r, struct model *m,
                             const struct line *l)
{
	struct err e = ERR_INIT;
	bool done = true;
	enum outcome want = model_add(m, l);
	int rc = smtp_reply_add_line(r, l->text, l->len, "mx.example", &done,
	                             &e);
	enum outcome got = rc != EX_OK ? REFUSED : done ? DONE : MORE;
	if (got != want)
		abort();
	if (rc != EX_OK) {
		if (rc != EX_PROTOCOL || done)
			abort();
		check_message(&e);
	} else if (r->lines != m->lines || r->code != m->code ||
	           r->code < 200 || r->code > 599 ||
	           r->lines > SMTP_MAX_REPLY_LINES ||
	           r->text.len > SMTP_MAX_REPLY_SIZE ||
	           r->text.len != m->text.len ||
	           memcmp(buf_str(&r->text), buf_str(&m->text),
	                  m->text.len) != 0) {
		abort();
	}
	if (got == DONE &&
	    (r->last.len != l->len || memcmp(r->last.data, l->text, l->len)))
		abort();
	err_clear(&e);
	return got;
}

static void check_finished(const struct smtp_reply *r)
{
	check_caps(buf_str(&r->text));
	struct err e = ERR_INIT;
	int want = r->code / 100 == 4   ? EX_TEMPFAIL
	           : r->code / 100 == 5 ? EX_UNAVAILABLE
	                                : EX_PROTOCOL;
	if (smtp_reply_error(r, "fuzz", &e) != want || e.code != want)
		abort();
	check_message(&e);
	err_clear(&e);
}

/* 2: a pipelined stream of replies, until one is refused. */
static void assemble_stream(const struct line *lines, size_t count)
{
	struct smtp_reply r;
	struct model m = {0, 0, BUF_INIT};
	smtp_reply_init(&r);
	for (size_t i = 0; i < count; i++) {
		enum outcome o = add_line(&r, &m, &lines[i]);
		if (o == REFUSED)
			break;
		if (o == DONE) {
			check_finished(&r);
			smtp_reply_free(&r);
			model_reset(&m);
		}
	}
	smtp_reply_free(&r);
	buf_free(&m.text);
}

/* 3: the lines round and round into one reply, which must end within the
 * limits. */
static void assemble_cycle(const struct line *lines, size_t count)
{
	struct smtp_reply r;
	struct model m = {0, 0, BUF_INIT};
	smtp_reply_init(&r);
	enum outcome o = MORE;
	size_t fed = 0;
	for (size_t i = 0; count && o == MORE; i = (i + 1) % count) {
		if (++fed > SMTP_MAX_REPLY_LINES)
			abort();
		o = add_line(&r, &m, &lines[i]);
	}
	if (o == DONE)
		check_finished(&r);
	smtp_reply_free(&r);
	buf_free(&m.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t count = 0, cap = 16;
	struct line *lines = xmalloc(cap * sizeof *lines);
	for (size_t at = 0; at < size;) {
		const char *nl = memchr(text + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (text + at)) : size - at;
		size_t next = at + len + (nl ? 1 : 0);
		if (len && text[at + len - 1] == '\r')
			len--;
		if (count == cap)
			lines = xrealloc(lines, (cap *= 2) * sizeof *lines);
		lines[count].text = text + at;
		lines[count].len = len;
		count++;
		at = next;
	}
	for (size_t i = 0; i < count; i++)
		check_parse_line(&lines[i]);
	assemble_stream(lines, count);
	assemble_cycle(lines, count);
	free(lines);

	char *copy = xstrndup(text, size);
	check_caps(copy);
	free(copy);
	return 0;
}
