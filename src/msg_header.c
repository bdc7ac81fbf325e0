/* msg_header.c - struct message's header fields: the primitives the msg_*
 * files share (msg_internal.h) and what callers read (msg_header.h). */
#include "msg_header.h"

#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"
#include "util.h"

struct message *message_new(void)
{
	struct message *m = xcalloc(1, sizeof *m);
	m->norm.line = 1;
	m->body_first_line = 1;
	msg_spool_init(&m->body);
	return m;
}

static void field_free(struct msg_field *f)
{
	free(f->name);
	buf_free(&f->raw);
	free(f->unfolded);
}

/* RFC 5322 2.2.3 unfolding: drop the CRLFs (each is followed by white
 * space), then trim the white space around the value. */
void msg_field_unfold(struct msg_field *f)
{
	struct buf b = BUF_INIT;
	const char *s = buf_str(&f->raw);
	size_t len = f->raw.len;
	while (len > 0 && (msg_is_wsp(*s) || *s == '\r' || *s == '\n')) {
		s++;
		len--;
	}
	while (len > 0 && (msg_is_wsp(s[len - 1]) || s[len - 1] == '\r' ||
	                   s[len - 1] == '\n'))
		len--;
	buf_add(&b, "", 0); /* "" rather than NULL for an empty value */
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			buf_add_char(&b, s[i]);
	free(f->unfolded);
	f->unfolded = buf_steal(&b);
}

struct msg_field *message_insert_field(struct message *m, size_t at,
                                       const char *name, size_t name_len)
{
	if (m->count == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->fields = xrealloc(m->fields, m->cap * sizeof *m->fields);
	}
	memmove(m->fields + at + 1, m->fields + at,
	        (m->count - at) * sizeof *m->fields);
	m->count++;
	struct msg_field *f = &m->fields[at];
	f->name = xstrndup(name, name_len);
	f->raw = (struct buf)BUF_INIT;
	f->unfolded = NULL;
	return f;
}

/* Add a field built here (value known to be safe: CRLF only as folding). */
void message_add_field(struct message *m, size_t at, const char *name,
                       const char *raw)
{
	struct msg_field *f = message_insert_field(m, at, name, strlen(name));
	buf_add_str(&f->raw, raw);
	msg_field_unfold(f);
}

void message_remove_field(struct message *m, size_t i)
{
	field_free(&m->fields[i]);
	memmove(m->fields + i, m->fields + i + 1,
	        (m->count - i - 1) * sizeof *m->fields);
	m->count--;
}

ssize_t message_find(const struct message *m, const char *name)
{
	for (size_t i = 0; i < m->count; i++)
		if (ascii_casecmp(m->fields[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

void message_set_field(struct message *m, const char *name, const char *raw)
{
	ssize_t at = message_find(m, name);
	if (at < 0) {
		message_add_field(m, m->count, name, raw);
		return;
	}
	struct msg_field *f = &m->fields[at];
	buf_reset(&f->raw);
	buf_add_str(&f->raw, raw);
	msg_field_unfold(f);
	for (size_t i = m->count; i-- > (size_t)at + 1;)
		if (ascii_casecmp(m->fields[i].name, name) == 0)
			message_remove_field(m, i);
}

bool msg_field_name_is_any(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (ascii_casecmp(name, *names) == 0)
			return true;
	return false;
}

size_t msg_header_count(const struct message *m)
{
	return m->count;
}

const char *msg_header_name(const struct message *m, size_t i)
{
	return i < m->count ? m->fields[i].name : NULL;
}

const char *msg_header_raw_value(const struct message *m, size_t i)
{
	return i < m->count ? buf_str(&m->fields[i].raw) : NULL;
}

const char *msg_header_get(const struct message *m, const char *name)
{
	ssize_t i = message_find(m, name);
	return i < 0 ? NULL : m->fields[i].unfolded;
}

static bool name_is_resent(const char *name)
{
	return ascii_ncasecmp(name, "Resent-", 7) == 0;
}

static int field_add_recipients(const struct msg_field *f,
                                struct addr_list *out, struct err *e)
{
	const char *v = f->unfolded ? f->unfolded : "";
	int rc = addr_parse_list(v, strlen(v), out, e);
	if (rc != EX_OK)
		err_prefix(e, "%s header", f->name);
	return rc;
}

/* RFC 5322 3.6.6: resent fields are prepended in blocks, the newest on
 * top. The block used is the run of consecutive Resent-* fields starting
 * at the first one (trace fields above it, such as Received, are skipped).
 * As in sendmail, when any Resent- field exists only that block's
 * Resent-To/-Cc/-Bcc count: an empty result never falls back to To/Cc/Bcc,
 * which would deliver the original message to its original recipients
 * again. */
int msg_header_recipients(const struct message *m, struct addr_list *out,
                          struct err *e)
{
	static const char *const plain[] = {"To", "Cc", "Bcc", NULL};
	static const char *const resent[] = {"Resent-To", "Resent-Cc",
	                                     "Resent-Bcc", NULL};
	size_t first = m->count;
	for (size_t i = 0; i < m->count; i++) {
		if (name_is_resent(m->fields[i].name)) {
			first = i;
			break;
		}
	}
	if (first < m->count) {
		for (size_t i = first;
		     i < m->count && name_is_resent(m->fields[i].name); i++) {
			if (!msg_field_name_is_any(m->fields[i].name, resent))
				continue;
			int rc = field_add_recipients(&m->fields[i], out, e);
			if (rc != EX_OK)
				return rc;
		}
		return EX_OK;
	}
	for (size_t i = 0; i < m->count; i++) {
		if (!msg_field_name_is_any(m->fields[i].name, plain))
			continue;
		int rc = field_add_recipients(&m->fields[i], out, e);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

char *msg_header_sender(const struct message *m)
{
	const char *v = msg_header_get(m, "From");
	if (!v)
		v = msg_header_get(m, "Sender");
	if (!v)
		return NULL;
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	char *mailbox = NULL;
	if (addr_parse_list(v, strlen(v), &list, &e) == EX_OK &&
	    list.count > 0)
		mailbox = xstrdup(list.items[0].mailbox);
	addr_list_free(&list);
	err_clear(&e);
	return mailbox;
}

bool msg_header_has_utf8(const struct message *m)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct msg_field *f = &m->fields[i];
		for (const char *s = f->name; *s; s++)
			if ((unsigned char)*s >= 0x80)
				return true;
		for (size_t k = 0; k < f->raw.len; k++)
			if ((unsigned char)f->raw.data[k] >= 0x80)
				return true;
	}
	return false;
}

void msg_free(struct message *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		field_free(&m->fields[i]);
	free(m->fields);
	buf_free(&m->pending);
	msg_spool_free(&m->body);
	free(m);
}
