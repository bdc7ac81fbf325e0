/* queue_format.c - the queue's file format; see queue_format.h. */
#include "queue_format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "util.h"

#define QUEUE_MAGIC "outbox-queue 1"
#define QUEUE_STATE_MAGIC "outbox-queue-state 1"
#define QUEUE_MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */
#define QUEUE_MAX_SETTING_NAME 64
#define QUEUE_MAX_UID 4294967294ULL /* (uid_t)-1 means "no user" */

/* A value on one line: control bytes and the backslash as \xHH, every
 * other byte as it is, so unescape gives back exactly what was written.
 * Not sanitize.c's escape, on purpose: that one is for display, one way
 * (it leaves the backslash alone and escapes invalid UTF-8), and this
 * file format must not change when the display rules do. */
void queue_escape_value(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
			buf_add(out, esc, sizeof esc);
		} else {
			buf_add_char(out, (char)*p);
		}
	}
}

/* Undo queue_escape_value. NULL on success (*out is heap), else the problem. */
const char *queue_unescape_value(const char *s, size_t len, char **out)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			buf_free(&b);
			return "a control character must be escaped as \\xHH";
		}
		if (c != '\\') {
			buf_add_char(&b, (char)c);
			continue;
		}
		int hi = -1, lo = -1;
		if (i + 3 < len && s[i + 1] == 'x') {
			hi = ascii_hex_value(s[i + 2]);
			lo = ascii_hex_value(s[i + 3]);
		}
		if (hi < 0 || lo < 0) {
			buf_free(&b);
			return "a backslash must start an escape \\xHH";
		}
		if (hi == 0 && lo == 0) {
			buf_free(&b);
			return "a value cannot contain a NUL byte (\\x00)";
		}
		buf_add_char(&b, (char)(hi * 16 + lo));
		i += 3;
	}
	*out = buf_steal(&b);
	return NULL;
}

/* A decimal number without sign or blanks, at most max. */
static const char *parse_number(const char *s, size_t len, uint64_t max,
                                uint64_t *out)
{
	if (len == 0)
		return "expected a number";
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "expected a number (decimal digits only)";
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return "number out of range";
		v = v * 10 + d;
	}
	*out = v;
	return NULL;
}

static const char *parse_time(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	const char *problem = parse_number(s, len, QUEUE_MAX_TIME, &v);
	if (!problem)
		*out = (int64_t)v;
	return problem;
}

/* "SECONDS.NANOSECONDS" with exactly nine digits after the dot. */
static const char *parse_created(const char *s, size_t len, int64_t *sec,
                                 long *nsec)
{
	const char *dot = memchr(s, '.', len);
	if (!dot || (size_t)(s + len - dot - 1) != 9)
		return "expected SECONDS.NANOSECONDS (nine digits)";
	const char *problem = parse_time(s, (size_t)(dot - s), sec);
	uint64_t ns = 0;
	if (!problem)
		problem = parse_number(dot + 1, 9, 999999999, &ns);
	*nsec = (long)ns;
	return problem;
}

/* Exactly QUEUE_DIGEST_HEX_LEN lower-case hex digits, copied to out. */
static const char *parse_digest(const char *s, char *out)
{
	if (strlen(s) != QUEUE_DIGEST_HEX_LEN)
		return "expected 64 hex digits";
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return "expected 64 lower-case hex digits";
	memcpy(out, s, QUEUE_DIGEST_HEX_LEN + 1);
	return NULL;
}

bool queue_id_valid(const char *id)
{
	/* 20251124T184033Z-9f3ac1d2e4b5a6c7 */
	static const char shape[] = "ddddddddTddddddZ-hhhhhhhhhhhhhhhh";
	if (!id || strlen(id) != QUEUE_ID_LEN)
		return false;
	for (size_t i = 0; i < QUEUE_ID_LEN; i++) {
		char c = id[i];
		if (shape[i] == 'd' && !(c >= '0' && c <= '9'))
			return false;
		if (shape[i] == 'h' &&
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		if (shape[i] != 'd' && shape[i] != 'h' && c != shape[i])
			return false;
	}
	return true;
}

enum key {
	K_ID, K_CREATED, K_ACCOUNT, K_SETTING, K_FROM, K_RCPT, K_SIZE,
	K_BODY_SHA256, K_QUEUED, K_ATTEMPTS, K_NEXT, K_LAST_ERROR, K_DEAD_SINCE,
	K_DEAD_REASON, K_DELIVERED, K_REFUSED, K_SUBMITTER, K_ENVID, K_ORCPT, K_COUNT
};

#define IN_HEADER 1u  /* allowed in ID.msg */
#define IN_STATE 2u   /* allowed in ID.state */
#define NEED_HEADER 4u /* required in ID.msg */
#define NEED_STATE 8u  /* required in ID.state */
#define REPEAT 16u     /* may appear more than once */

static const struct {
	const char *name;
	unsigned flags;
} keys[K_COUNT] = {
	[K_ID] = {"id", IN_HEADER | NEED_HEADER},
	[K_CREATED] = {"created", IN_HEADER | NEED_HEADER},
	[K_ACCOUNT] = {"account", IN_HEADER},
	[K_SETTING] = {"setting", IN_HEADER | REPEAT},
	[K_FROM] = {"from", IN_HEADER | NEED_HEADER},
	[K_RCPT] = {"rcpt", IN_HEADER | NEED_HEADER | REPEAT},
	[K_SIZE] = {"size", IN_HEADER | NEED_HEADER},
	[K_BODY_SHA256] = {"body-sha256", IN_HEADER},
	[K_QUEUED] = {"queued", IN_HEADER | IN_STATE | NEED_STATE},
	[K_ATTEMPTS] = {"attempts", IN_HEADER | IN_STATE | NEED_STATE},
	[K_NEXT] = {"next-attempt", IN_HEADER | IN_STATE | NEED_STATE},
	[K_LAST_ERROR] = {"last-error", IN_HEADER | IN_STATE},
	[K_DEAD_SINCE] = {"dead-since", IN_STATE},
	[K_DEAD_REASON] = {"dead-reason", IN_STATE},
	[K_DELIVERED] = {"delivered", IN_STATE | REPEAT},
	[K_REFUSED] = {"refused", IN_STATE | REPEAT},
	[K_SUBMITTER] = {"submitter", IN_HEADER},
	[K_ENVID] = {"envid", IN_HEADER},
	[K_ORCPT] = {"orcpt", IN_HEADER | REPEAT},
};

static int find_key(const char *name, size_t len)
{
	for (int k = 0; k < K_COUNT; k++)
		if (strlen(keys[k].name) == len &&
		    memcmp(keys[k].name, name, len) == 0)
			return k;
	return -1;
}

/* "directive=value": a lower-case directive name, then the value. */
static const char *parse_setting(const char *value, struct cli_setting *s)
{
	const char *eq = strchr(value, '=');
	if (!eq || eq == value)
		return "expected DIRECTIVE=VALUE";
	if (eq - value > QUEUE_MAX_SETTING_NAME)
		return "the directive name is too long";
	for (const char *p = value; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return "a directive name has only a-z, 0-9 and '_'";
	s->directive = xstrndup(value, (size_t)(eq - value));
	s->value = xstrdup(eq + 1);
	return NULL;
}

/* "UID LOGIN": who handed the message to the maildrop (maildrop.h). */
static const char *parse_submitter(const char *value, struct queue_entry *en)
{
	const char *space = strchr(value, ' ');
	uint64_t uid = 0;
	const char *problem =
	        space ? parse_number(value, (size_t)(space - value),
	                             QUEUE_MAX_UID, &uid)
	              : "expected \"UID LOGIN\"";
	if (problem)
		return problem;
	if (!space[1])
		return "an empty login name";
	en->has_submitter = true;
	en->submitter_uid = (uint32_t)uid;
	en->submitter = xstrdup(space + 1);
	return NULL;
}

/* "TYPE;XTEXT MAILBOX": a recipient's ORCPT. */
static const char *parse_orcpt(char *value, struct queue_entry *en)
{
	char *space = strchr(value, ' ');
	if (!space || !space[1] || !memchr(value, ';', (size_t)(space - value)))
		return "expected \"TYPE;XTEXT MAILBOX\"";
	*space = '\0';
	if (!dsn_is_orcpt(value, strlen(value)))
		return "not an RFC 3461 ORCPT (TYPE;XTEXT)";
	addr_list_add(&en->dsn_orcpt, value, space + 1);
	return NULL;
}

struct parse_target {
	struct queue_entry *entry; /* NULL for a state file */
	struct queue_state *st;
	bool state_file;
	unsigned seen[K_COUNT];
};

/* One field; value is already unescaped. NULL or the problem. */
static const char *apply_field(struct parse_target *t, int k, char *value)
{
	struct queue_entry *en = t->entry;
	struct queue_state *st = t->st;
	const char *problem = NULL;
	uint64_t n = 0;
	size_t len = strlen(value);
	switch (k) {
	case K_ID:
		if (!queue_id_valid(value))
			return "not a queue ID (YYYYMMDDTHHMMSSZ-16 hex digits)";
		en->id = xstrdup(value);
		break;
	case K_CREATED:
		problem = parse_created(value, len, &en->created,
		                        &en->created_nsec);
		break;
	case K_ACCOUNT:
		if (!*value)
			return "an empty account name";
		en->account = xstrdup(value);
		break;
	case K_SETTING:
		en->settings = xrealloc(en->settings,
		                        (en->setting_count + 1) *
		                                sizeof *en->settings);
		problem = parse_setting(value, &en->settings[en->setting_count]);
		if (!problem)
			en->setting_count++;
		break;
	case K_FROM:
		en->from = xstrdup(value);
		break;
	case K_RCPT:
		if (!*value)
			return "an empty recipient";
		addr_list_add(&en->rcpt, NULL, value);
		break;
	case K_SIZE:
		problem = parse_number(value, len, UINT64_MAX, &en->size);
		break;
	case K_BODY_SHA256:
		problem = parse_digest(value, en->body_sha256);
		break;
	case K_QUEUED:
		problem = parse_time(value, len, &st->queued);
		break;
	case K_ATTEMPTS:
		problem = parse_number(value, len, QUEUE_MAX_ATTEMPTS, &n);
		st->attempts = (unsigned)n;
		break;
	case K_NEXT:
		problem = parse_time(value, len, &st->next_attempt);
		break;
	case K_LAST_ERROR:
		st->last_error = xstrdup(value);
		break;
	case K_DEAD_SINCE:
		problem = parse_time(value, len, &st->dead_since);
		if (!problem && st->dead_since == 0)
			problem = "must not be 0";
		break;
	case K_DEAD_REASON:
		st->dead_reason = xstrdup(value);
		break;
	case K_DELIVERED:
		if (!*value)
			return "an empty recipient";
		addr_list_add(&st->delivered, NULL, value);
		break;
	case K_REFUSED:
		if (!*value)
			return "an empty recipient";
		addr_list_add(&st->refused, NULL, value);
		break;
	case K_SUBMITTER:
		problem = parse_submitter(value, en);
		break;
	case K_ENVID:
		if (!dsn_is_envid(value, len))
			return "not an RFC 3461 ENVID (xtext)";
		en->dsn_envid = xstrdup(value);
		break;
	case K_ORCPT:
		problem = parse_orcpt(value, en);
		break;
	default:
		problem = "unknown field";
	}
	return problem;
}

/* Split text into lines and apply each "key: value" field. */
static int parse_fields(const char *text, size_t len, const char *magic,
                        struct parse_target *t, struct err *e)
{
	if (len > QUEUE_MAX_HEADER)
		return err_set(e, EX_DATAERR, "larger than %d bytes",
		               QUEUE_MAX_HEADER);
	size_t pos = 0;
	unsigned lineno = 0;
	while (pos < len) {
		lineno++;
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (!nl)
			return err_set(e, EX_DATAERR,
			               "line %u: not terminated (truncated file?)",
			               lineno);
		size_t line_len = (size_t)(nl - line);
		pos += line_len + 1;
		if (lineno == 1) {
			if (line_len != strlen(magic) ||
			    memcmp(line, magic, line_len) != 0)
				return err_set(e, EX_DATAERR,
				               "line 1: expected \"%s\" (not a "
				               "queue file, or a newer version)",
				               magic);
			continue;
		}
		const char *colon = memchr(line, ':', line_len);
		if (!colon)
			return err_set(e, EX_DATAERR,
			               "line %u: expected \"name: value\"", lineno);
		size_t name_len = (size_t)(colon - line);
		int k = find_key(line, name_len);
		unsigned where = t->state_file ? IN_STATE : IN_HEADER;
		if (k < 0 || !(keys[k].flags & where))
			return err_set(e, EX_DATAERR, "line %u: unknown field "
			               "\"%.*s\"", lineno,
			               (int)(name_len > 40 ? 40 : name_len), line);
		if (t->seen[k] && !(keys[k].flags & REPEAT))
			return err_set(e, EX_DATAERR,
			               "line %u: field \"%s\" given twice", lineno,
			               keys[k].name);
		t->seen[k]++;
		const char *v = colon + 1;
		if (v < nl && *v == ' ')
			v++;
		char *value = NULL;
		const char *problem = queue_unescape_value(v, (size_t)(nl - v), &value);
		if (!problem)
			problem = apply_field(t, k, value);
		free(value);
		if (problem)
			return err_set(e, EX_DATAERR, "line %u: %s: %s", lineno,
			               keys[k].name, problem);
	}
	if (lineno == 0)
		return err_set(e, EX_DATAERR, "empty");
	unsigned need = t->state_file ? NEED_STATE : NEED_HEADER;
	for (int k = 0; k < K_COUNT; k++)
		if ((keys[k].flags & need) && !t->seen[k])
			return err_set(e, EX_DATAERR, "field \"%s\" is missing",
			               keys[k].name);
	if (!t->st->dead_since != !t->st->dead_reason)
		return err_set(e, EX_DATAERR, "dead-since and dead-reason go "
		               "together");
	return EX_OK;
}

int queue_parse_header(const char *text, size_t len, struct queue_entry *out,
                       struct err *e)
{
	memset(out, 0, sizeof *out);
	struct parse_target t = {out, &out->state, false, {0}};
	int rc = parse_fields(text, len, QUEUE_MAGIC, &t, e);
	if (rc != EX_OK) {
		queue_entry_free(out);
		return rc;
	}
	if (!t.seen[K_QUEUED])
		out->state.queued = out->created;
	if (!t.seen[K_NEXT])
		out->state.next_attempt = out->state.queued;
	return EX_OK;
}

int queue_parse_state(const char *text, size_t len, struct queue_state *st,
                      struct err *e)
{
	struct queue_state fresh = {0};
	struct parse_target t = {NULL, &fresh, true, {0}};
	int rc = parse_fields(text, len, QUEUE_STATE_MAGIC, &t, e);
	if (rc != EX_OK) {
		queue_state_free(&fresh);
		return rc;
	}
	queue_state_free(st);
	*st = fresh;
	return EX_OK;
}

static void add_field(struct buf *out, const char *name, const char *value)
{
	buf_add_str(out, name);
	buf_add_str(out, ": ");
	queue_escape_value(out, value);
	buf_add_char(out, '\n');
}

static void add_state_fields(const struct queue_state *st, struct buf *out)
{
	buf_printf(out, "queued: %" PRId64 "\nattempts: %u\n"
	           "next-attempt: %" PRId64 "\n", st->queued, st->attempts,
	           st->next_attempt);
	if (st->last_error)
		add_field(out, "last-error", st->last_error);
}

void queue_format_header(const struct queue_entry *en, struct buf *out,
                         size_t *digest_offset)
{
	buf_add_str(out, QUEUE_MAGIC "\n");
	add_field(out, "id", en->id);
	buf_printf(out, "created: %" PRId64 ".%09ld\n", en->created,
	           en->created_nsec);
	if (en->account)
		add_field(out, "account", en->account);
	for (size_t i = 0; i < en->setting_count; i++) {
		buf_add_str(out, "setting: ");
		queue_escape_value(out, en->settings[i].directive);
		buf_add_char(out, '=');
		queue_escape_value(out, en->settings[i].value);
		buf_add_char(out, '\n');
	}
	if (en->has_submitter) {
		buf_printf(out, "submitter: %" PRIu32 " ", en->submitter_uid);
		queue_escape_value(out, en->submitter ? en->submitter : "?");
		buf_add_char(out, '\n');
	}
	add_field(out, "from", en->from ? en->from : "");
	for (size_t i = 0; i < en->rcpt.count; i++)
		add_field(out, "rcpt", en->rcpt.items[i].mailbox);
	if (en->dsn_envid)
		add_field(out, "envid", en->dsn_envid);
	for (size_t i = 0; i < en->dsn_orcpt.count; i++) {
		buf_add_str(out, "orcpt: ");
		queue_escape_value(out, en->dsn_orcpt.items[i].display);
		buf_add_char(out, ' ');
		queue_escape_value(out, en->dsn_orcpt.items[i].mailbox);
		buf_add_char(out, '\n');
	}
	buf_printf(out, "size: %" PRIu64 "\nbody-sha256: ", en->size);
	if (digest_offset)
		*digest_offset = out->len;
	if (en->body_sha256[0])
		buf_add_str(out, en->body_sha256);
	else
		for (int i = 0; i < QUEUE_DIGEST_HEX_LEN; i++)
			buf_add_char(out, '0');
	buf_add_char(out, '\n');
	add_state_fields(&en->state, out);
	buf_add_char(out, '\n');
}

void queue_format_state(const struct queue_state *st, struct buf *out)
{
	buf_add_str(out, QUEUE_STATE_MAGIC "\n");
	add_state_fields(st, out);
	if (st->dead_since) {
		buf_printf(out, "dead-since: %" PRId64 "\n", st->dead_since);
		add_field(out, "dead-reason",
		          st->dead_reason ? st->dead_reason : "");
	}
	for (size_t i = 0; i < st->delivered.count; i++)
		add_field(out, "delivered", st->delivered.items[i].mailbox);
	for (size_t i = 0; i < st->refused.count; i++)
		add_field(out, "refused", st->refused.items[i].mailbox);
}

static bool list_has(const struct addr_list *list, const char *mailbox)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i].mailbox, mailbox) == 0)
			return true;
	return false;
}

bool queue_state_delivered_to(const struct queue_state *st,
                              const char *mailbox)
{
	return list_has(&st->delivered, mailbox);
}

bool queue_state_refused(const struct queue_state *st, const char *mailbox)
{
	return list_has(&st->refused, mailbox);
}

void queue_state_free(struct queue_state *st)
{
	free(st->last_error);
	free(st->dead_reason);
	addr_list_free(&st->delivered);
	addr_list_free(&st->refused);
	memset(st, 0, sizeof *st);
}

void queue_entry_free(struct queue_entry *en)
{
	free(en->id);
	free(en->account);
	for (size_t i = 0; i < en->setting_count; i++) {
		free(en->settings[i].directive);
		free(en->settings[i].value);
	}
	free(en->settings);
	free(en->from);
	free(en->submitter);
	addr_list_free(&en->rcpt);
	free(en->dsn_envid);
	addr_list_free(&en->dsn_orcpt);
	queue_state_free(&en->state);
	memset(en, 0, sizeof *en);
}
