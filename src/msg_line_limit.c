/* msg_line_limit.c - long lines refolded or re-encoded; see
 * msg_line_limit.h. */
#include "msg_line_limit.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "msg_header.h"
#include "msg_internal.h"
#include "msg_limits.h"
#include "utf8.h"
#include "util.h"

#define MSG_QP_LINE 76              /* RFC 2045 6.7 (5): encoded line */
#define MSG_FOLD_TARGET 78          /* RFC 5322 2.1.1: SHOULD */

/* The media type ("text/plain") of a Content-Type value, lower case. */
static char *mime_type_of(const char *value)
{
	struct buf b = BUF_INIT;
	const char *s = value;
	for (;;) {
		while (msg_is_wsp(*s))
			s++;
		if (*s != '(')
			break;
		int depth = 0; /* RFC 2045 5.1: comments may precede */
		for (; *s; s++) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
	for (; *s && *s != ';' && *s != '(' && !msg_is_wsp(*s); s++) {
		char c = *s;
		buf_add_char(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
	}
	return buf_steal(&b);
}

/* Why the body cannot be re-encoded, or NULL when it can: only a single
 * text part (or no Content-Type: text/plain by RFC 2045 5.2) in
 * 7bit/8bit (or no encoding) is rewritten. */
static char *body_reencode_obstacle(const struct message *m)
{
	const char *ct = msg_header_get(m, "Content-Type");
	const char *cte = msg_header_get(m, "Content-Transfer-Encoding");
	struct buf why = BUF_INIT;
	if (ct) {
		char *type = mime_type_of(ct);
		if (strncmp(type, "text/", 5) != 0)
			buf_add_str(&why,
			            *type ? type : "bad Content-Type");
		free(type);
	}
	if (why.len == 0 && cte) {
		char *enc = mime_type_of(cte);
		if (strcmp(enc, "7bit") != 0 && strcmp(enc, "8bit") != 0)
			buf_printf(&why, "Content-Transfer-Encoding %s", enc);
		free(enc);
	}
	return why.len ? buf_steal(&why) : NULL;
}

/* Fold one field so no line exceeds MSG_MAX_LINE, breaking before white
 * space (RFC 5322 2.2.3) only in the lines that are too long; prefix is
 * the length of "name:". Aims at MSG_FOLD_TARGET columns. Never makes a
 * line of only white space (3.2.2). False when a line has no place to
 * break. */
static bool field_refold(const char *raw, size_t raw_len, size_t prefix,
                         struct buf *out)
{
	size_t start = 0;
	bool first_line = true;
	while (start <= raw_len) {
		const char *seg = raw + start;
		const char *crlf = NULL;
		for (size_t i = start; i + 1 < raw_len; i++)
			if (raw[i] == '\r' && raw[i + 1] == '\n') {
				crlf = raw + i;
				break;
			}
		size_t len = crlf ? (size_t)(crlf - seg) : raw_len - start;
		size_t col = first_line ? prefix : 0;
		if (!first_line)
			buf_add(out, "\r\n", 2);
		size_t last_text = len; /* index of the last non-WSP octet */
		for (size_t i = len; i-- > 0;)
			if (!msg_is_wsp(seg[i])) {
				last_text = i;
				break;
			}
		size_t pos = 0;
		bool has_text = first_line && prefix > 0;
		bool refold = col + len > MSG_MAX_LINE;
		while (refold && col + (len - pos) > MSG_FOLD_TARGET) {
			/* The last break within the target, else the first
			 * one after it (the shortest longer line). */
			size_t best = 0, fallback = 0;
			bool text = has_text;
			for (size_t j = pos; j < len && col + (j - pos) <=
			                                 MSG_MAX_LINE; j++) {
				if (msg_is_wsp(seg[j]) && j > pos && text &&
				    last_text != len && j < last_text) {
					if (col + (j - pos) <= MSG_FOLD_TARGET)
						best = j;
					else if (fallback == 0)
						fallback = j;
				}
				if (!msg_is_wsp(seg[j]))
					text = true;
			}
			size_t brk = best ? best : fallback;
			if (brk == 0) {
				if (col + (len - pos) <= MSG_MAX_LINE)
					break;
				return false;
			}
			buf_add(out, seg + pos, brk - pos);
			buf_add(out, "\r\n", 2);
			pos = brk;
			col = 0;
			has_text = false;
		}
		buf_add(out, seg + pos, len - pos);
		if (!crlf)
			break;
		start = (size_t)(crlf - raw) + 2;
		first_line = false;
	}
	return true;
}

/* The most of a field name shown in an error. */
#define MSG_MAX_SHOWN_NAME 64

static bool field_is_too_long(const struct msg_field *f)
{
	size_t col = strlen(f->name) + 1;
	/* "name:" alone can be too long, whatever (or nothing) follows. */
	if (col > MSG_MAX_LINE)
		return true;
	for (size_t i = 0; i < f->raw.len; i++) {
		if (f->raw.data[i] == '\r' && i + 1 < f->raw.len &&
		    f->raw.data[i + 1] == '\n') {
			col = 0;
			i++;
			continue;
		}
		if (++col > MSG_MAX_LINE)
			return true;
	}
	return false;
}

/* RFC 2045 6.7 quoted-printable, streaming over CRLF lines. */
struct qp_encoder {
	struct msg_spool *out;
	struct buf pending;  /* encoded output not yet in the spool */
	size_t col;          /* octets on the current encoded line */
	char held_space;     /* SP/HTAB waiting to learn if it is trailing */
	bool held_cr;
	struct utf8_check utf8;
};

static void qp_put(struct qp_encoder *q, const char *token, size_t len)
{
	/* Rule 5: lines of at most 76 octets, the soft break's '='
	 * included; an =XX is never split. */
	if (q->col + len > MSG_QP_LINE - 1) {
		buf_add(&q->pending, "=\r\n", 3);
		q->col = 0;
	}
	buf_add(&q->pending, token, len);
	q->col += len;
}

static void qp_put_encoded(struct qp_encoder *q, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char token[3] = {'=', hex[c >> 4], hex[c & 15]};
	qp_put(q, token, 3);
}

static int qp_encode_chunk(void *ctx, const char *data, size_t len,
                           struct err *e)
{
	struct qp_encoder *q = ctx;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		utf8_check_byte(&q->utf8, c);
		if (q->held_cr && c == '\n') {
			q->held_cr = false;
			/* Rule 3: white space at the end of a line is
			 * encoded. Rule 4: CRLF stays a hard break. */
			if (q->held_space)
				qp_put_encoded(q, (unsigned char)q->held_space);
			q->held_space = 0;
			buf_add(&q->pending, "\r\n", 2);
			q->col = 0;
			continue;
		}
		if (c == '\r') {
			q->held_cr = true;
			continue;
		}
		if (q->held_space) {
			qp_put(q, &q->held_space, 1);
			q->held_space = 0;
		}
		if (c == ' ' || c == '\t') {
			q->held_space = (char)c;
		} else if (c >= 33 && c <= 126 && c != '=') {
			qp_put(q, (const char *)&data[i], 1);
		} else {
			qp_put_encoded(q, c);
		}
	}
	if (q->pending.len < MSG_WRITE_CHUNK)
		return EX_OK;
	int rc = msg_spool_append(q->out, q->pending.data, q->pending.len, e);
	buf_reset(&q->pending);
	return rc;
}

static int body_reencode_qp(struct message *m, struct err *e)
{
	struct msg_spool fresh;
	msg_spool_init(&fresh);
	struct qp_encoder q;
	memset(&q, 0, sizeof q);
	q.out = &fresh;
	int rc = msg_spool_foreach(&m->body, qp_encode_chunk, &q, e);
	if (rc == EX_OK && q.held_space)
		qp_put_encoded(&q, (unsigned char)q.held_space);
	if (rc == EX_OK)
		rc = msg_spool_append(&fresh, q.pending.data, q.pending.len, e);
	if (rc == EX_OK)
		rc = msg_spool_flush(&fresh, e);
	buf_free(&q.pending);
	if (rc != EX_OK) {
		msg_spool_free(&fresh);
		return rc;
	}
	bool had_8bit = m->body.has_8bit;
	bool utf8 = utf8_check_valid(&q.utf8);
	msg_spool_free(&m->body);
	m->body = fresh;
	if (message_find(m, "MIME-Version") < 0)
		message_add_field(m, m->count, "MIME-Version", " 1.0");
	if (message_find(m, "Content-Type") < 0 && had_8bit)
		message_add_field(m, m->count, "Content-Type",
		                  utf8 ? " text/plain; charset=utf-8"
		                       : " text/plain; charset=unknown-8bit");
	message_set_field(m, "Content-Transfer-Encoding", " quoted-printable");
	return EX_OK;
}

int msg_enforce_line_limit(struct message *m, bool *changed, struct err *e)
{
	*changed = false;
	bool body_long = m->body.longest > MSG_MAX_LINE;
	if (body_long) {
		char *why = body_reencode_obstacle(m);
		if (why) {
			err_set(e, EX_DATAERR,
			        "line %llu is longer than %d octets and the "
			        "message cannot be re-encoded (%s)",
			        (unsigned long long)(m->body_first_line +
			                             m->body.first_long - 1),
			        MSG_MAX_LINE, why);
			free(why);
			return EX_DATAERR;
		}
	}
	/* Fold the header first into copies: nothing changes on failure. */
	struct buf *folded = xcalloc(m->count ? m->count : 1, sizeof *folded);
	int rc = EX_OK;
	for (size_t i = 0; rc == EX_OK && i < m->count; i++) {
		const struct msg_field *f = &m->fields[i];
		if (!field_is_too_long(f))
			continue;
		if (!field_refold(f->raw.data, f->raw.len, strlen(f->name) + 1,
		                  &folded[i]))
			rc = err_set(e, EX_DATAERR,
			             "the %.*s%s header field has a line longer "
			             "than %d octets without white space to "
			             "fold it at",
			             MSG_MAX_SHOWN_NAME, f->name,
			             strlen(f->name) > MSG_MAX_SHOWN_NAME ? "..."
			                                                 : "",
			             MSG_MAX_LINE);
	}
	for (size_t i = 0; i < m->count; i++) {
		if (rc == EX_OK && folded[i].len > 0) {
			buf_free(&m->fields[i].raw);
			m->fields[i].raw = folded[i];
			msg_field_unfold(&m->fields[i]);
		} else {
			buf_free(&folded[i]);
		}
	}
	free(folded);
	if (rc != EX_OK || !body_long)
		return rc;
	rc = body_reencode_qp(m, e);
	if (rc == EX_OK)
		*changed = true;
	return rc;
}
