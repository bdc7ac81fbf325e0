/* msg_read.c - standard input to a message; see msg_read.h.
 *
 * Input decisions, made once here so every later consumer sees the same
 * bytes:
 *  - Line endings become CRLF and NUL bytes are refused, by the
 *    normaliser (msg_normalize.h) that every byte read passes through.
 *  - A leading mbox "From " envelope line is dropped, as sendmail does.
 *  - The header block ends at the first empty line; a line that is neither
 *    a field ("name:") nor a continuation ends it too and starts the body,
 *    as sendmail and Postfix do (msg_write then puts the empty line in).
 *    When the very first line is not a field, there is no header at all.
 *  - The body is counted, hashed through the sink and stored while reading,
 *    in MSG_READ_CHUNK pieces; beyond MSG_SPOOL_THRESHOLD it goes to a
 *    temporary file without a name, written in MSG_WRITE_CHUNK pieces. */
#include "msg_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg_header.h"
#include "msg_internal.h"
#include "msg_limits.h"
#include "util.h"

/* RFC 5322 3.6.8 ftext: printable US-ASCII except ':'. */
static bool is_ftext(char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int read_some(int fd, char *data, size_t len, size_t *got,
                     struct err *e)
{
	for (;;) {
		ssize_t n = read(fd, data, len);
		if (n >= 0) {
			*got = (size_t)n;
			return EX_OK;
		}
		if (errno != EINTR)
			return err_set(e, EX_IOERR,
			               "cannot read the message: %s",
			               strerror(errno));
	}
}

/* Length of the field name when line starts a field ("name:", with the
 * white space before the colon that RFC 5322 4.5.8 obs-optional allows),
 * else 0. *value_at is set to the offset after the colon. */
static size_t field_name_length(const char *line, size_t len,
                                size_t *value_at)
{
	size_t n = 0;
	while (n < len && is_ftext(line[n]))
		n++;
	if (n == 0)
		return 0;
	size_t i = n;
	while (i < len && msg_is_wsp(line[i]))
		i++;
	if (i >= len || line[i] != ':')
		return 0;
	*value_at = i + 1;
	return n;
}

/* Could this unterminated first line still turn out to be a field? */
static bool line_may_be_field(const char *line, size_t len)
{
	size_t value_at;
	if (field_name_length(line, len, &value_at) > 0)
		return true;
	size_t n = 0;
	while (n < len && is_ftext(line[n]))
		n++;
	/* A name of a megabyte is not a name. */
	return n == len && n < MSG_MAX_HEADER_BLOCK;
}

struct header_reader {
	uint64_t lineno;   /* lines processed */
	bool first;        /* next line is the first of the input */
	bool done;
	size_t body_start; /* offset in text where the body begins */
};

/* Classify the complete lines of text from *pos (and, at EOF, the final
 * unterminated one). Sets hr->done and hr->body_start at the header's
 * end. */
static void header_consume(struct message *m, struct header_reader *hr,
                           const struct buf *text, size_t *pos)
{
	while (!hr->done) {
		const char *line = buf_str(text) + *pos;
		size_t avail = text->len - *pos;
		const char *nl = memchr(line, '\n', avail);
		size_t len, next;
		if (nl) {
			len = (size_t)(nl - line) - 1; /* normalised: CRLF */
			next = *pos + len + 2;
		} else if (m->eof && avail > 0) {
			len = avail;
			next = text->len;
		} else {
			if (m->eof) {
				hr->done = true;
				hr->body_start = text->len;
				m->body_first_line = hr->lineno + 1;
			}
			return;
		}
		hr->lineno++;
		bool first = hr->first;
		hr->first = false;
		size_t value_at;
		size_t name_len = field_name_length(line, len, &value_at);
		if (first && name_len == 0 && len >= 5 &&
		    memcmp(line, "From ", 5) == 0) {
			/* mbox envelope line: sendmail drops it. */
			*pos = next;
			continue;
		}
		if (len == 0) {
			hr->done = true;
			hr->body_start = next;
			m->body_first_line = hr->lineno + 1;
		} else if (msg_is_wsp(line[0]) && m->count > 0) {
			struct msg_field *f = &m->fields[m->count - 1];
			buf_add(&f->raw, "\r\n", 2);
			buf_add(&f->raw, line, len);
			*pos = next;
		} else if (name_len > 0) {
			struct msg_field *f =
			    message_insert_field(m, m->count, line, name_len);
			buf_add(&f->raw, line + value_at, len - value_at);
			*pos = next;
		} else {
			hr->done = true;
			hr->body_start = *pos;
			m->body_first_line = hr->lineno;
		}
	}
}

int msg_read_header(int fd, struct message **out, struct err *e)
{
	struct message *m = message_new();
	struct header_reader hr = {0, true, false, 0};
	struct buf text = BUF_INIT;
	char *chunk = xmalloc(MSG_READ_CHUNK);
	size_t pos = 0;
	uint64_t total = 0;
	int rc = EX_OK;
	*out = NULL;
	while (rc == EX_OK && !hr.done) {
		size_t got = 0;
		rc = read_some(fd, chunk, MSG_READ_CHUNK, &got, e);
		if (rc != EX_OK)
			break;
		total += got;
		if (got == 0) {
			m->eof = true;
			msg_normalizer_finish(&m->norm, &text);
		} else {
			rc =
			    msg_normalizer_feed(&m->norm, chunk, got, &text, e);
			if (rc != EX_OK)
				break;
		}
		header_consume(m, &hr, &text, &pos);
		if (hr.done || text.len <= MSG_MAX_HEADER_BLOCK)
			continue;
		const char *rest = text.data + pos;
		size_t rest_len = text.len - pos;
		if (!line_may_be_field(rest, rest_len) &&
		    !(m->count > 0 && msg_is_wsp(rest[0]))) {
			/* A giant line that can be neither a field nor a
			 * continuation: the body starts with it. */
			hr.done = true;
			hr.body_start = pos;
			m->body_first_line = hr.lineno + 1;
		} else {
			rc = err_set(e, EX_DATAERR,
			             "the message's header block is larger "
			             "than %d KiB",
			             MSG_MAX_HEADER_BLOCK / 1024);
		}
	}
	free(chunk);
	if (rc == EX_OK && total == 0)
		rc = err_set(e, EX_DATAERR, "the message is empty");
	if (rc != EX_OK) {
		buf_free(&text);
		msg_free(m);
		return rc;
	}
	buf_add(&m->pending, buf_str(&text) + hr.body_start,
	        text.len - hr.body_start);
	buf_free(&text);
	for (size_t i = 0; i < m->count; i++)
		msg_field_unfold(&m->fields[i]);
	*out = m;
	return EX_OK;
}

struct body_reader {
	struct message *m;
	msg_body_sink sink;
	void *ctx;
};

static int body_reader_add(struct body_reader *br, const char *data,
                           size_t len, struct err *e)
{
	if (len == 0)
		return EX_OK;
	if (br->sink)
		br->sink(br->ctx, data, len);
	return msg_spool_append(&br->m->body, data, len, e);
}

int msg_read_body(struct message *m, int fd, msg_body_sink sink, void *ctx,
                  struct err *e)
{
	if (m->body_read)
		return err_set(e, EX_SOFTWARE, "the message body was read "
		               "twice");
	m->body_read = true;
	struct body_reader br = {m, sink, ctx};
	int rc = body_reader_add(&br, m->pending.data, m->pending.len, e);
	buf_free(&m->pending);
	char *chunk = xmalloc(MSG_READ_CHUNK);
	struct buf normal = BUF_INIT;
	while (rc == EX_OK && !m->eof) {
		size_t got = 0;
		rc = read_some(fd, chunk, MSG_READ_CHUNK, &got, e);
		if (rc != EX_OK)
			break;
		buf_reset(&normal);
		if (got == 0) {
			m->eof = true;
			msg_normalizer_finish(&m->norm, &normal);
		} else {
			rc = msg_normalizer_feed(&m->norm, chunk, got, &normal,
			                         e);
		}
		if (rc == EX_OK)
			rc = body_reader_add(&br, normal.data, normal.len, e);
	}
	free(chunk);
	buf_free(&normal);
	/* RFC 5322 2.3: a body is lines; the last one gets its CRLF. */
	if (rc == EX_OK && m->body.line_len > 0)
		rc = body_reader_add(&br, "\r\n", 2, e);
	if (rc == EX_OK)
		rc = msg_spool_flush(&m->body, e);
	if (rc == EX_OK && m->count == 0 && m->body.size == 0)
		rc = err_set(e, EX_DATAERR, "the message is empty");
	return rc;
}

struct sink_adapter {
	msg_body_sink sink;
	void *ctx;
};

static int sink_adapter_call(void *ctx, const char *data, size_t len,
                             struct err *e)
{
	struct sink_adapter *a = ctx;
	a->sink(a->ctx, data, len);
	return EX_OK;
}

int msg_body_foreach(const struct message *m, msg_body_sink sink, void *ctx,
                     struct err *e)
{
	struct sink_adapter a = {sink, ctx};
	return msg_spool_foreach(&m->body, sink_adapter_call, &a, e);
}

bool msg_body_is_empty(const struct message *m)
{
	return m->body.size == 0;
}

bool msg_has_8bit(const struct message *m)
{
	return m->body.has_8bit;
}
