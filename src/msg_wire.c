/* msg_wire.c - the message on the wire; see msg_wire.h. */
#include "msg_wire.h"

#include <string.h>

#include "buf.h"
#include "msg_internal.h"

uint64_t msg_size(const struct message *m)
{
	uint64_t size = 2; /* the empty line */
	for (size_t i = 0; i < m->count; i++)
		size += strlen(m->fields[i].name) + 1 + m->fields[i].raw.len +
		        2;
	return size + m->body.size;
}

/* Collects output into MSG_WRITE_CHUNK pieces for write_fn, dot-stuffing
 * on the way when asked; line_start survives piece boundaries. */
struct wire {
	struct buf out;
	bool dot_stuff;
	bool line_start;
	msg_write_fn write_fn;
	void *ctx;
};

static int wire_flush(struct wire *w, struct err *e)
{
	if (w->out.len == 0)
		return EX_OK;
	int rc = w->write_fn(w->ctx, w->out.data, w->out.len, e);
	buf_reset(&w->out);
	return rc;
}

static int wire_add(void *ctx, const char *data, size_t len, struct err *e)
{
	struct wire *w = ctx;
	int rc = EX_OK;
	if (!w->dot_stuff) {
		if (w->out.len + len > MSG_WRITE_CHUNK) {
			rc = wire_flush(w, e);
			if (rc == EX_OK && len >= MSG_WRITE_CHUNK)
				return w->write_fn(w->ctx, data, len, e);
		}
		if (rc == EX_OK)
			buf_add(&w->out, data, len);
		return rc;
	}
	while (rc == EX_OK && len > 0) {
		/* RFC 5321 4.5.2: a line starting with '.' gets one more. */
		if (w->line_start && data[0] == '.')
			buf_add_char(&w->out, '.');
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) + 1 : len;
		buf_add(&w->out, data, n);
		w->line_start = nl != NULL;
		data += n;
		len -= n;
		if (w->out.len >= MSG_WRITE_CHUNK)
			rc = wire_flush(w, e);
	}
	return rc;
}

int msg_write(const struct message *m, bool dot_stuff, msg_write_fn write_fn,
              void *ctx, struct err *e)
{
	struct wire w = {BUF_INIT, dot_stuff, true, write_fn, ctx};
	int rc = EX_OK;
	buf_reserve(&w.out, MSG_WRITE_CHUNK);
	for (size_t i = 0; rc == EX_OK && i < m->count; i++) {
		const struct msg_field *f = &m->fields[i];
		rc = wire_add(&w, f->name, strlen(f->name), e);
		if (rc == EX_OK)
			rc = wire_add(&w, ":", 1, e);
		if (rc == EX_OK)
			rc = wire_add(&w, buf_str(&f->raw), f->raw.len, e);
		if (rc == EX_OK)
			rc = wire_add(&w, "\r\n", 2, e);
	}
	if (rc == EX_OK)
		rc = wire_add(&w, "\r\n", 2, e);
	if (rc == EX_OK)
		rc = msg_spool_foreach(&m->body, wire_add, &w, e);
	if (rc == EX_OK)
		rc = wire_flush(&w, e);
	buf_free(&w.out);
	return rc;
}
