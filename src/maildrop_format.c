/* maildrop_format.c - maildrop entries as text; see maildrop_format.h. */
#include "maildrop_format.h"

#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "queue_format.h"
#include "util.h"

#define MAILDROP_MAGIC "outbox-maildrop 1"

enum key {
	K_ACCOUNT, K_FROM, K_FULL_NAME, K_READ_RCPT, K_READ_FROM, K_NOTIFY,
	K_RETURN, K_RCPT, K_ENVID, K_ORCPT, K_COUNT
};

static const char *const key_names[K_COUNT] = {
	[K_ACCOUNT] = "account",
	[K_FROM] = "from",
	[K_FULL_NAME] = "full-name",
	[K_READ_RCPT] = "read-recipients",
	[K_READ_FROM] = "read-envelope-from",
	[K_NOTIFY] = "dsn-notify",
	[K_RETURN] = "dsn-return",
	[K_RCPT] = "rcpt",
	[K_ENVID] = "dsn-envid",
	[K_ORCPT] = "dsn-orcpt",
};

static void add_field(struct buf *out, enum key k, const char *value)
{
	buf_add_str(out, key_names[k]);
	buf_add_str(out, ": ");
	queue_escape_value(out, value);
	buf_add_char(out, '\n');
}

static void add_optional(struct buf *out, enum key k, const char *value)
{
	if (value)
		add_field(out, k, value);
}

void maildrop_format(const struct maildrop_request *r, struct buf *out)
{
	buf_add_str(out, MAILDROP_MAGIC "\n");
	add_optional(out, K_ACCOUNT, r->account);
	add_optional(out, K_FROM, r->envelope_from);
	add_optional(out, K_FULL_NAME, r->full_name);
	if (r->read_recipients)
		add_field(out, K_READ_RCPT, "yes");
	if (r->read_envelope_from)
		add_field(out, K_READ_FROM, "yes");
	add_optional(out, K_NOTIFY, r->dsn_notify);
	add_optional(out, K_RETURN, r->dsn_return);
	add_optional(out, K_ENVID, r->dsn_envid);
	for (size_t i = 0; i < r->recipient_count; i++) {
		add_field(out, K_RCPT, r->recipients[i]);
		if (r->recipient_orcpt)
			add_optional(out, K_ORCPT, r->recipient_orcpt[i]);
	}
	buf_add_char(out, '\n');
}

static int find_key(const char *name, size_t len)
{
	for (int k = 0; k < K_COUNT; k++)
		if (strlen(key_names[k]) == len &&
		    memcmp(key_names[k], name, len) == 0)
			return k;
	return -1;
}

static const char *add_recipient(struct maildrop_request *r, char **value)
{
	if (!**value)
		return "an empty recipient";
	if (r->recipient_count >= MAILDROP_MAX_RCPT)
		return "too many recipients";
	size_t n = r->recipient_count + 1;
	r->recipients = xrealloc(r->recipients, n * sizeof *r->recipients);
	r->recipient_orcpt = xrealloc(r->recipient_orcpt,
	                              n * sizeof *r->recipient_orcpt);
	r->recipients[r->recipient_count] = *value;
	r->recipient_orcpt[r->recipient_count] = NULL;
	r->recipient_count = n;
	*value = NULL;
	return NULL;
}

/* dsn-orcpt belongs to the rcpt line just before it. */
static const char *add_orcpt(struct maildrop_request *r, char **value)
{
	if (r->recipient_count == 0 ||
	    r->recipient_orcpt[r->recipient_count - 1])
		return "not right after the rcpt line it belongs to";
	if (!dsn_is_orcpt(*value, strlen(*value)))
		return "not an RFC 3461 ORCPT (TYPE;XTEXT)";
	r->recipient_orcpt[r->recipient_count - 1] = *value;
	*value = NULL;
	return NULL;
}

/* Store one unescaped value (taking it over). NULL or the problem. */
static const char *apply_field(struct maildrop_request *r, int k,
                               char **value)
{
	char **slot = NULL;
	switch (k) {
	case K_ACCOUNT:
		if (!**value)
			return "an empty account name";
		slot = &r->account;
		break;
	case K_FROM:
		slot = &r->envelope_from;
		break;
	case K_FULL_NAME:
		slot = &r->full_name;
		break;
	case K_NOTIFY:
		slot = &r->dsn_notify;
		break;
	case K_RETURN:
		slot = &r->dsn_return;
		break;
	case K_READ_RCPT:
	case K_READ_FROM:
		if (strcmp(*value, "yes") != 0)
			return "expected \"yes\"";
		*(k == K_READ_RCPT ? &r->read_recipients
		                   : &r->read_envelope_from) = true;
		return NULL;
	case K_RCPT:
		return add_recipient(r, value);
	case K_ORCPT:
		return add_orcpt(r, value);
	case K_ENVID:
		if (!dsn_is_envid(*value, strlen(*value)))
			return "not an RFC 3461 ENVID (xtext)";
		slot = &r->dsn_envid;
		break;
	default:
		return "unknown field";
	}
	*slot = *value;
	*value = NULL;
	return NULL;
}

/* One "name: value" line (without its '\n'). */
static int parse_line(struct maildrop_request *r, const char *line,
                      size_t len, unsigned lineno, bool *seen,
                      struct err *e)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return err_set(e, EX_DATAERR, "line %u: expected \"name: "
		               "value\"", lineno);
	size_t name_len = (size_t)(colon - line);
	int k = find_key(line, name_len);
	if (k < 0)
		return err_set(e, EX_DATAERR, "line %u: unknown field \"%.*s\"",
		               lineno, (int)(name_len > 40 ? 40 : name_len),
		               line);
	if (seen[k] && k != K_RCPT && k != K_ORCPT)
		return err_set(e, EX_DATAERR, "line %u: field \"%s\" given "
		               "twice", lineno, key_names[k]);
	seen[k] = true;
	const char *v = colon + 1;
	if (v < line + len && *v == ' ')
		v++;
	char *value = NULL;
	const char *problem =
	        queue_unescape_value(v, (size_t)(line + len - v), &value);
	if (!problem)
		problem = apply_field(r, k, &value);
	free(value);
	if (problem)
		return err_set(e, EX_DATAERR, "line %u: %s: %s", lineno,
		               key_names[k], problem);
	return EX_OK;
}

static int parse_lines(struct maildrop_request *r, const char *text,
                       size_t len, size_t *data_offset, struct err *e)
{
	bool seen[K_COUNT] = {false};
	size_t pos = 0;
	for (unsigned lineno = 1;; lineno++) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (!nl && len >= MAILDROP_MAX_HEADER)
			return err_set(e, EX_DATAERR, "the header is larger "
			               "than %d bytes", MAILDROP_MAX_HEADER);
		if (!nl)
			return err_set(e, EX_DATAERR, "line %u: no end of "
			               "header (truncated entry?)", lineno);
		size_t line_len = (size_t)(nl - line);
		pos += line_len + 1;
		if (lineno == 1) {
			if (line_len != strlen(MAILDROP_MAGIC) ||
			    memcmp(line, MAILDROP_MAGIC, line_len) != 0)
				return err_set(e, EX_DATAERR, "line 1: expected "
				               "\"" MAILDROP_MAGIC "\" (not a "
				               "maildrop entry, or a newer "
				               "version)");
			continue;
		}
		if (line_len == 0) {
			*data_offset = pos;
			return EX_OK;
		}
		int rc = parse_line(r, line, line_len, lineno, seen, e);
		if (rc != EX_OK)
			return rc;
	}
}

int maildrop_parse(const char *text, size_t len, struct maildrop_request *out,
                   size_t *data_offset, struct err *e)
{
	memset(out, 0, sizeof *out);
	*data_offset = 0;
	if (len > MAILDROP_MAX_HEADER)
		len = MAILDROP_MAX_HEADER;
	int rc = parse_lines(out, text, len, data_offset, e);
	if (rc != EX_OK)
		maildrop_request_free(out);
	return rc;
}

void maildrop_request_free(struct maildrop_request *r)
{
	free(r->account);
	free(r->envelope_from);
	free(r->full_name);
	free(r->dsn_notify);
	free(r->dsn_return);
	free(r->dsn_envid);
	for (size_t i = 0; i < r->recipient_count; i++) {
		free(r->recipients[i]);
		if (r->recipient_orcpt)
			free(r->recipient_orcpt[i]);
	}
	free(r->recipients);
	free(r->recipient_orcpt);
	memset(r, 0, sizeof *r);
}
