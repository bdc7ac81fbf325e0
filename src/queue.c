/* queue.c - the durable queue; see queue.h for the layout and format.
 *
 * Durability: an entry is one file, ID.msg, written under a temporary name,
 * fsync'ed, then given its name with link(2) (which, unlike rename, refuses
 * to replace an existing entry) and the directory fsync'ed: two fsyncs per
 * submission, the cost of writing one file durably. The mutable state lives
 * beside it in ID.state so a retry never rewrites the message. */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sanitize.h"
#include "util.h"

#define QUEUE_MAGIC "outbox-queue 1"
#define QUEUE_STATE_MAGIC "outbox-queue-state 1"
#define QUEUE_ROOT_DIR "/var/spool/outbox"
#define QUEUE_DEAD "dead"
#define QUEUE_TMP_PREFIX "tmp-"
#define QUEUE_READ_FIRST 4096      /* first read of a header */
#define QUEUE_MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */
#define QUEUE_ID_TRIES 16          /* fresh IDs tried when one exists */
#define QUEUE_MAX_SETTING_NAME 64

/* ---- the file format ------------------------------------------------- */

static void add_escaped(struct buf *out, const char *s)
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

/* Undo add_escaped. NULL on success (*out is heap), else the problem. */
static const char *unescape(const char *s, size_t len, char **out)
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
	K_QUEUED, K_ATTEMPTS, K_NEXT, K_LAST_ERROR, K_DEAD_SINCE,
	K_DEAD_REASON, K_COUNT
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
	[K_QUEUED] = {"queued", IN_HEADER | IN_STATE | NEED_STATE},
	[K_ATTEMPTS] = {"attempts", IN_HEADER | IN_STATE | NEED_STATE},
	[K_NEXT] = {"next-attempt", IN_HEADER | IN_STATE | NEED_STATE},
	[K_LAST_ERROR] = {"last-error", IN_HEADER | IN_STATE},
	[K_DEAD_SINCE] = {"dead-since", IN_STATE},
	[K_DEAD_REASON] = {"dead-reason", IN_STATE},
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
		const char *problem = unescape(v, (size_t)(nl - v), &value);
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
	if (rc != EX_OK)
		return rc;
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
	add_escaped(out, value);
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

void queue_format_header(const struct queue_entry *en, struct buf *out)
{
	buf_add_str(out, QUEUE_MAGIC "\n");
	add_field(out, "id", en->id);
	buf_printf(out, "created: %" PRId64 ".%09ld\n", en->created,
	           en->created_nsec);
	if (en->account)
		add_field(out, "account", en->account);
	for (size_t i = 0; i < en->setting_count; i++) {
		buf_add_str(out, "setting: ");
		add_escaped(out, en->settings[i].directive);
		buf_add_char(out, '=');
		add_escaped(out, en->settings[i].value);
		buf_add_char(out, '\n');
	}
	add_field(out, "from", en->from ? en->from : "");
	for (size_t i = 0; i < en->rcpt.count; i++)
		add_field(out, "rcpt", en->rcpt.items[i].mailbox);
	buf_printf(out, "size: %" PRIu64 "\n", en->size);
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
}

void queue_state_free(struct queue_state *st)
{
	free(st->last_error);
	free(st->dead_reason);
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
	addr_list_free(&en->rcpt);
	queue_state_free(&en->state);
	memset(en, 0, sizeof *en);
}

long queue_retry_delay(unsigned attempts)
{
	long delay = QUEUE_RETRY_FIRST;
	for (unsigned i = 1; i < attempts && delay < QUEUE_RETRY_MAX; i++)
		delay *= 2;
	return delay < QUEUE_RETRY_MAX ? delay : QUEUE_RETRY_MAX;
}

/* ---- directories ------------------------------------------------------ */

struct queue_dir {
	char *path;
	char *dead_path;
	int fd;
	int dead_fd;
};

static char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (home && *home == '/')
		return xstrdup(home);
	struct passwd *pw = getpwuid(geteuid());
	return xstrdup(pw && pw->pw_dir ? pw->pw_dir : "/");
}

char *queue_default_dir(const struct account *a)
{
	if (a && a->queue_dir && *a->queue_dir)
		return xstrdup(a->queue_dir);
	if (geteuid() == 0)
		return xstrdup(QUEUE_ROOT_DIR);
	struct buf b = BUF_INIT;
	const char *state = getenv("XDG_STATE_HOME");
	/* XDG Base Directory: a relative value is invalid and ignored. */
	if (state && *state == '/') {
		buf_add_str(&b, state);
	} else {
		char *home = home_dir();
		buf_printf(&b, "%s/.local/state", home);
		free(home);
	}
	buf_add_str(&b, "/outbox/queue");
	return buf_steal(&b);
}

/* mkdir -p with mode 0700 for what is created. */
static int make_dirs(const char *path, struct err *e)
{
	char *p = xstrdup(path);
	int rc = EX_OK;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			rc = err_set(e, EX_IOERR, "cannot create the queue "
			             "directory %s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* Whoever may write the queue may make us send anything as the user. */
static int check_dir(int fd, const char *path, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return err_set(e, EX_IOERR, "cannot examine the queue directory "
		               "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EX_CONFIG, "the queue directory %s is not a "
		               "directory", path);
	if (st.st_uid != geteuid())
		return err_set(e, EX_CONFIG, "the queue directory %s belongs to "
		               "user id %lu, not to you (%lu); refusing to use "
		               "it (set queue_dir to a directory of your own)",
		               path, (unsigned long)st.st_uid,
		               (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, EX_CONFIG, "the queue directory %s may be "
		               "written by group or others (mode %03o); refusing "
		               "to use it (chmod 700 %s)", path,
		               (unsigned)(st.st_mode & 0777), path);
	return EX_OK;
}

static int open_checked(const char *path, int *fd, struct err *e)
{
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return err_set(e, errno == ENOTDIR ? EX_CONFIG : EX_IOERR,
		               "cannot open the queue directory %s: %s", path,
		               strerror(errno));
	return check_dir(*fd, path, e);
}

int queue_dir_open(const char *path, bool create, struct queue_dir **out,
                   struct err *e)
{
	*out = NULL;
	if (!*path)
		return err_set(e, EX_CONFIG, "the queue directory is empty");
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return err_set(e, EX_IOERR, "cannot examine the queue "
			               "directory %s: %s", path, strerror(errno));
		if (!create)
			return EX_OK;
		int rc = make_dirs(path, e);
		if (rc != EX_OK)
			return rc;
	}
	struct queue_dir *d = xcalloc(1, sizeof *d);
	d->fd = d->dead_fd = -1;
	d->path = xstrdup(path);
	struct buf dead = BUF_INIT;
	buf_printf(&dead, "%s/%s", path, QUEUE_DEAD);
	d->dead_path = buf_steal(&dead);
	int rc = open_checked(path, &d->fd, e);
	if (rc == EX_OK && mkdirat(d->fd, QUEUE_DEAD, 0700) != 0 &&
	    errno != EEXIST)
		rc = err_set(e, EX_IOERR, "cannot create %s: %s", d->dead_path,
		             strerror(errno));
	if (rc == EX_OK)
		rc = open_checked(d->dead_path, &d->dead_fd, e);
	if (rc != EX_OK) {
		queue_dir_close(d);
		return rc;
	}
	*out = d;
	return EX_OK;
}

const char *queue_dir_path(const struct queue_dir *d)
{
	return d->path;
}

static int sync_fd(int fd, const char *path, struct err *e)
{
	if (fsync(fd) != 0)
		return err_set(e, EX_IOERR, "cannot sync %s to disk: %s", path,
		               strerror(errno));
	return EX_OK;
}

int queue_dir_sync(struct queue_dir *d, struct err *e)
{
	int rc = sync_fd(d->fd, d->path, e);
	if (rc == EX_OK)
		rc = sync_fd(d->dead_fd, d->dead_path, e);
	return rc;
}

void queue_dir_close(struct queue_dir *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	if (d->dead_fd >= 0)
		close(d->dead_fd);
	free(d->path);
	free(d->dead_path);
	free(d);
}

/* ---- reading entries ---------------------------------------------------- */

static int io_error(struct err *e, const char *what, const char *dir,
                    const char *name)
{
	return err_set(e, EX_IOERR, "cannot %s %s/%s: %s", what, dir, name,
	               strerror(errno));
}

/* Read the header of an ID.msg from fd (from offset 0): up to and
 * excluding the empty line that ends it. *data_offset: where the message
 * starts. */
static int read_header_text(int fd, struct buf *text, uint64_t *data_offset,
                            struct err *e)
{
	size_t want = QUEUE_READ_FIRST;
	size_t scanned = 0;
	buf_reset(text);
	for (;;) {
		buf_reserve(text, want);
		ssize_t n = pread(fd, text->data + text->len, want,
		                  (off_t)text->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR, "%s", strerror(errno));
		text->len += (size_t)n;
		text->data[text->len] = '\0';
		if (scanned == 0 && text->len >= 1 && text->data[0] != 'o')
			return err_set(e, EX_DATAERR, "not a queue file");
		for (size_t i = scanned ? scanned - 1 : 0; i + 1 < text->len;
		     i++) {
			if (text->data[i] == '\n' && text->data[i + 1] == '\n') {
				text->len = i + 1;
				text->data[text->len] = '\0';
				*data_offset = i + 2;
				return EX_OK;
			}
		}
		scanned = text->len;
		if (n == 0)
			return err_set(e, EX_DATAERR, "the header has no end "
			               "(truncated file?)");
		if (text->len > QUEUE_MAX_HEADER)
			return err_set(e, EX_DATAERR, "the header is larger "
			               "than %d bytes", QUEUE_MAX_HEADER);
		if (want < 1024 * 1024)
			want *= 2;
	}
}

/* Read a whole small file (ID.state) at dirfd/name. ENOENT -> *missing. */
static int read_small_file(int dirfd, const char *name, struct buf *out,
                           bool *missing, struct err *e)
{
	*missing = false;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return EX_OK;
		}
		return err_set(e, EX_IOERR, "%s", strerror(errno));
	}
	int rc = EX_OK;
	for (;;) {
		buf_reserve(out, QUEUE_READ_FIRST);
		ssize_t n = read(fd, out->data + out->len, QUEUE_READ_FIRST);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(e, EX_IOERR, "%s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > QUEUE_MAX_HEADER) {
			rc = err_set(e, EX_DATAERR, "larger than %d bytes",
			             QUEUE_MAX_HEADER);
			break;
		}
	}
	close(fd);
	return rc;
}

static char *entry_name(const char *id, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s%s", id, suffix);
	return buf_steal(&b);
}

/* Read entry id from fd (its ID.msg) and dirfd/ID.state. */
static int read_entry(int dirfd, const char *dir_path, const char *id,
                      int fd, bool dead, struct queue_entry *en,
                      struct err *e)
{
	struct buf text = BUF_INIT;
	uint64_t offset = 0;
	int rc = read_header_text(fd, &text, &offset, e);
	if (rc == EX_OK)
		rc = queue_parse_header(text.data, text.len, en, e);
	if (rc == EX_OK && strcmp(en->id, id) != 0)
		rc = err_set(e, EX_DATAERR, "it says it is %s", en->id);
	if (rc != EX_OK) {
		err_prefix(e, "unreadable queue entry %s/%s.msg", dir_path, id);
		buf_free(&text);
		queue_entry_free(en);
		return rc;
	}
	en->data_offset = offset;
	en->dead = dead;
	buf_reset(&text);
	char *state_name = entry_name(id, ".state");
	bool missing;
	struct err ignored = ERR_INIT;
	/* A torn ID.state (a crash while it was replaced) only loses the
	 * retry bookkeeping; the initial state in ID.msg stands in. */
	if (read_small_file(dirfd, state_name, &text, &missing, &ignored) !=
	            EX_OK ||
	    (!missing &&
	     queue_parse_state(text.data ? text.data : "", text.len,
	                       &en->state, &ignored) != EX_OK))
		en->state_ignored = true;
	err_clear(&ignored);
	free(state_name);
	buf_free(&text);
	return EX_OK;
}

static int compare_entries(const void *pa, const void *pb)
{
	const struct queue_entry *a = pa, *b = pb;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	if (a->created_nsec != b->created_nsec)
		return a->created_nsec < b->created_nsec ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int compare_strings(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

struct name_list {
	char **items;
	size_t count;
};

static void name_list_add(struct name_list *l, const char *s, size_t len)
{
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = xstrndup(s, len);
}

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

static bool name_list_has(const struct name_list *l, const char *s)
{
	return l->count &&
	       bsearch(&s, l->items, l->count, sizeof *l->items,
	               compare_strings) != NULL;
}

/* A file a dead writer left behind: remove it once it is clearly stale. */
static void remove_if_stale(int dirfd, const char *name, time_t now)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_mtime + QUEUE_STALE_SECONDS < now)
		unlinkat(dirfd, name, 0);
}

static bool has_suffix(const char *name, size_t len, const char *suffix,
                       size_t *base_len)
{
	size_t n = strlen(suffix);
	if (len < n || memcmp(name + len - n, suffix, n) != 0)
		return false;
	*base_len = len - n;
	return true;
}

/* List the IDs of one directory, cleaning up leftovers. */
static int list_ids(int dirfd, const char *path, struct name_list *ids,
                    struct err *e)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return err_set(e, EX_IOERR, "cannot read the queue directory "
		               "%s: %s", path, strerror(errno));
	}
	rewinddir(dir);
	struct name_list states = {0}, stale = {0};
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		size_t len = strlen(name), base;
		if (strncmp(name, QUEUE_TMP_PREFIX, strlen(QUEUE_TMP_PREFIX)) ==
		    0)
			name_list_add(&stale, name, len);
		else if (has_suffix(name, len, ".msg", &base) &&
		         base == QUEUE_ID_LEN)
			name_list_add(ids, name, base);
		else if (has_suffix(name, len, ".state", &base) &&
		         base == QUEUE_ID_LEN)
			name_list_add(&states, name, base);
	}
	closedir(dir);
	if (ids->count)
		qsort(ids->items, ids->count, sizeof *ids->items,
		      compare_strings);
	for (size_t i = 0; i < stale.count; i++)
		remove_if_stale(dirfd, stale.items[i], now);
	/* An ID.state alone: its entry moved or was delivered meanwhile. */
	for (size_t i = 0; i < states.count; i++) {
		if (name_list_has(ids, states.items[i]))
			continue;
		char *name = entry_name(states.items[i], ".state");
		remove_if_stale(dirfd, name, now);
		free(name);
	}
	name_list_free(&states);
	name_list_free(&stale);
	return EX_OK;
}

static int scan_one(int dirfd, const char *path, bool dead,
                    struct queue_entry **entries, size_t *count,
                    struct buf *problems, struct err *e)
{
	struct name_list ids = {0};
	int rc = list_ids(dirfd, path, &ids, e);
	for (size_t i = 0; rc == EX_OK && i < ids.count; i++) {
		const char *id = ids.items[i];
		if (!queue_id_valid(id))
			continue;
		char *name = entry_name(id, ".msg");
		int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		free(name);
		if (fd < 0) {
			if (errno != ENOENT) /* ENOENT: delivered meanwhile */
				buf_printf(problems, "cannot open queue entry "
				           "%s/%s.msg: %s\n", path, id,
				           strerror(errno));
			continue;
		}
		struct queue_entry en;
		struct err read_err = ERR_INIT;
		if (read_entry(dirfd, path, id, fd, dead, &en, &read_err) ==
		    EX_OK) {
			*entries = xrealloc(*entries,
			                    (*count + 1) * sizeof **entries);
			(*entries)[(*count)++] = en;
		} else {
			buf_printf(problems, "%s\n", err_msg(&read_err));
		}
		err_clear(&read_err);
		close(fd);
	}
	name_list_free(&ids);
	return rc;
}

int queue_scan(struct queue_dir *d, bool with_dead,
               struct queue_entry **entries, size_t *count,
               struct buf *problems, struct err *e)
{
	*entries = NULL;
	*count = 0;
	int rc = scan_one(d->fd, d->path, false, entries, count, problems, e);
	if (rc == EX_OK && with_dead)
		rc = scan_one(d->dead_fd, d->dead_path, true, entries, count,
		              problems, e);
	if (rc != EX_OK) {
		queue_entries_free(*entries, *count);
		*entries = NULL;
		*count = 0;
		return rc;
	}
	if (*count)
		qsort(*entries, *count, sizeof **entries, compare_entries);
	return EX_OK;
}

void queue_entries_free(struct queue_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		queue_entry_free(&entries[i]);
	free(entries);
}

/* ---- storing ------------------------------------------------------------ */

struct file_writer {
	int fd;
	const char *dir;
	const char *name;
};

static int write_all(void *ctx, const char *data, size_t len, struct err *e)
{
	struct file_writer *w = ctx;
	while (len > 0) {
		ssize_t n = write(w->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(e, "write", w->dir, w->name);
		data += n;
		len -= (size_t)n;
	}
	return EX_OK;
}

/* A fresh ID: the time (UTC) for sorting and reading, 64 random bits for
 * uniqueness (link(2) refusing an existing name settles the rest). */
static char *new_id(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	uint64_t r = 0;
	/* Never block at boot for entropy: uniqueness, not secrecy. */
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)getpid() ^
		    ((uint64_t)now.tv_sec << 40) ^ (uint64_t)(uintptr_t)&now;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s-%016" PRIx64, stamp, r);
	return buf_steal(&b);
}

static int write_entry_file(struct queue_dir *d, struct queue_entry *en,
                            queue_data_fn data, void *ctx,
                            const char *tmp_name, struct err *e)
{
	int fd = openat(d->fd, tmp_name,
	                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                0600);
	if (fd < 0)
		return io_error(e, "create", d->path, tmp_name);
	struct file_writer w = {fd, d->path, tmp_name};
	struct buf header = BUF_INIT;
	queue_format_header(en, &header);
	en->data_offset = header.len;
	int rc = write_all(&w, header.data, header.len, e);
	buf_free(&header);
	if (rc == EX_OK)
		rc = data(ctx, write_all, &w, e);
	if (rc == EX_OK && fsync(fd) != 0)
		rc = io_error(e, "sync", d->path, tmp_name);
	if (close(fd) != 0 && rc == EX_OK)
		rc = io_error(e, "write", d->path, tmp_name);
	return rc;
}

int queue_store(struct queue_dir *d, struct queue_entry *en,
                queue_data_fn data, void *ctx, struct err *e)
{
	for (int attempt = 0; attempt < QUEUE_ID_TRIES; attempt++) {
		free(en->id);
		en->id = new_id();
		char *tmp = entry_name(QUEUE_TMP_PREFIX, en->id);
		char *final = entry_name(en->id, ".msg");
		int rc = write_entry_file(d, en, data, ctx, tmp, e);
		bool taken = false;
		/* The commit point: the entry appears whole, or not at all. */
		if (rc == EX_OK && linkat(d->fd, tmp, d->fd, final, 0) != 0) {
			taken = errno == EEXIST;
			if (!taken)
				rc = io_error(e, "create", d->path, final);
		}
		unlinkat(d->fd, tmp, 0);
		free(tmp);
		free(final);
		if (rc != EX_OK)
			return rc;
		if (!taken)
			return sync_fd(d->fd, d->path, e);
	}
	return err_set(e, EX_SOFTWARE, "cannot find a free queue ID in %s",
	               d->path);
}

static int write_message(void *ctx, msg_write_fn write, void *write_ctx,
                         struct err *e)
{
	return msg_write(ctx, false, write, write_ctx, e);
}

int queue_submit(const struct account *a, const struct options *opts,
                 const struct envelope *env, const struct message *m,
                 const char *last_error, char **id_out, struct err *e)
{
	*id_out = NULL;
	char *path = queue_default_dir(a);
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, true, &d, e);
	free(path);
	if (rc != EX_OK)
		return rc;
	if (!d) /* cannot happen with create: for the static analyser */
		return err_set(e, EX_SOFTWARE, "no queue directory");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct queue_entry en = {0};
	en.created = now.tv_sec;
	en.created_nsec = now.tv_nsec;
	/* An account of the configuration is found again by name; without
	 * one, the command-line settings alone define it. */
	en.account = a->file ? xstrdup(a->name) : NULL;
	en.setting_count = opts->setting_count;
	en.settings = xcalloc(opts->setting_count + 1, sizeof *en.settings);
	for (size_t i = 0; i < opts->setting_count; i++) {
		en.settings[i].directive = xstrdup(opts->settings[i].directive);
		en.settings[i].value = xstrdup(opts->settings[i].value);
	}
	en.from = xstrdup(env->from ? env->from : "");
	for (size_t i = 0; i < env->rcpt.count; i++)
		addr_list_add(&en.rcpt, NULL, env->rcpt.items[i].mailbox);
	en.size = msg_size(m);
	en.state.queued = now.tv_sec;
	en.state.attempts = last_error ? 1 : 0;
	en.state.next_attempt =
	        now.tv_sec + (last_error ? queue_retry_delay(1) : 0);
	en.state.last_error = xstrdup_or_null(last_error);
	rc = queue_store(d, &en, write_message, (void *)m, e);
	if (rc == EX_OK)
		*id_out = xstrdup(en.id);
	queue_entry_free(&en);
	queue_dir_close(d);
	return rc;
}

/* ---- locked entries ------------------------------------------------------ */

static int dir_fd_of(const struct queue_dir *d, bool dead)
{
	return dead ? d->dead_fd : d->fd;
}

static const char *dir_path_of(const struct queue_dir *d, bool dead)
{
	return dead ? d->dead_path : d->path;
}

int queue_acquire(struct queue_dir *d, const char *id, bool dead,
                  struct queue_handle *h, enum queue_acquire_result *result,
                  struct err *e)
{
	memset(h, 0, sizeof *h);
	h->fd = -1;
	*result = QUEUE_GONE;
	if (!queue_id_valid(id))
		return EX_OK;
	int dirfd = dir_fd_of(d, dead);
	const char *path = dir_path_of(d, dead);
	char *name = entry_name(id, ".msg");
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = EX_OK;
	if (fd < 0) {
		if (errno != ENOENT)
			rc = io_error(e, "open", path, name);
		free(name);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			*result = QUEUE_BUSY;
		else
			rc = io_error(e, "lock", path, name);
		close(fd);
		free(name);
		return rc;
	}
	/* Whoever held the lock before us may have delivered (unlinked) or
	 * moved the entry: only the file still under this name counts. */
	struct stat mine, there;
	bool still_here = fstat(fd, &mine) == 0 && mine.st_nlink > 0 &&
	                  fstatat(dirfd, name, &there, AT_SYMLINK_NOFOLLOW) ==
	                          0 &&
	                  mine.st_ino == there.st_ino &&
	                  mine.st_dev == there.st_dev;
	free(name);
	if (!still_here) {
		close(fd);
		return EX_OK;
	}
	rc = read_entry(dirfd, path, id, fd, dead, &h->entry, e);
	if (rc != EX_OK) {
		close(fd);
		return rc;
	}
	h->dir = d;
	h->fd = fd;
	*result = QUEUE_ACQUIRED;
	return EX_OK;
}

int queue_handle_message(struct queue_handle *h, struct message **m,
                         struct err *e)
{
	*m = NULL;
	const char *path = dir_path_of(h->dir, h->entry.dead);
	if (lseek(h->fd, (off_t)h->entry.data_offset, SEEK_SET) < 0)
		return err_set(e, EX_IOERR, "cannot read queue entry %s/%s.msg: "
		               "%s", path, h->entry.id, strerror(errno));
	int rc = msg_read_header(h->fd, m, e);
	if (rc == EX_OK)
		rc = msg_read_body(*m, h->fd, NULL, NULL, e);
	if (rc == EX_OK && msg_size(*m) != h->entry.size)
		rc = err_set(e, EX_DATAERR, "the message is %llu bytes, its "
		             "header says %llu (damaged)",
		             (unsigned long long)msg_size(*m),
		             (unsigned long long)h->entry.size);
	if (rc != EX_OK) {
		err_prefix(e, "queue entry %s/%s.msg", path, h->entry.id);
		msg_free(*m);
		*m = NULL;
	}
	return rc;
}

int queue_handle_message_header(struct queue_handle *h, struct buf *out,
                                struct err *e)
{
	uint64_t off = h->entry.data_offset;
	char chunk[4096];
	buf_reset(out);
	for (;;) {
		ssize_t n = pread(h->fd, chunk, sizeof chunk, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR, "cannot read queue entry "
			               "%s: %s", h->entry.id, strerror(errno));
		if (n == 0)
			return EX_OK;
		size_t before = out->len;
		buf_add(out, chunk, (size_t)n);
		off += (uint64_t)n;
		/* The header ends at the first empty line. */
		size_t from = before >= 3 ? before - 3 : 0;
		if (out->len >= 2 && out->data[0] == '\r' &&
		    out->data[1] == '\n') {
			buf_reset(out);
			return EX_OK;
		}
		for (size_t i = from; i + 3 < out->len; i++) {
			if (memcmp(out->data + i, "\r\n\r\n", 4) == 0) {
				out->len = i + 2;
				out->data[out->len] = '\0';
				return EX_OK;
			}
		}
		if (out->len > MSG_MAX_HEADER_BLOCK) {
			out->len = MSG_MAX_HEADER_BLOCK;
			out->data[out->len] = '\0';
			return EX_OK;
		}
	}
}

/* Replace dirfd/ID.state by the entry's state; durable: fsync the file
 * first (a rename is only as good as the data it points to). */
static int write_state(int dirfd, const char *path, const char *id,
                       const struct queue_state *st, bool durable,
                       struct err *e)
{
	struct buf tmp_name = BUF_INIT;
	buf_printf(&tmp_name, "%s%s.state", QUEUE_TMP_PREFIX, id);
	char *tmp = buf_steal(&tmp_name);
	char *final = entry_name(id, ".state");
	struct buf text = BUF_INIT;
	queue_format_state(st, &text);
	int rc = EX_OK;
	unlinkat(dirfd, tmp, 0); /* our own leftover: we hold the lock */
	int fd = openat(dirfd, tmp,
	                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                0600);
	if (fd < 0) {
		rc = io_error(e, "create", path, tmp);
	} else {
		struct file_writer w = {fd, path, tmp};
		rc = write_all(&w, text.data, text.len, e);
		if (rc == EX_OK && durable && fsync(fd) != 0)
			rc = io_error(e, "sync", path, tmp);
		if (close(fd) != 0 && rc == EX_OK)
			rc = io_error(e, "write", path, tmp);
		if (rc == EX_OK && renameat(dirfd, tmp, dirfd, final) != 0)
			rc = io_error(e, "rename", path, tmp);
		if (rc != EX_OK)
			unlinkat(dirfd, tmp, 0);
	}
	buf_free(&text);
	free(tmp);
	free(final);
	return rc;
}

int queue_handle_save_state(struct queue_handle *h, struct err *e)
{
	/* Not fsync'ed: a retry count lost in a crash only brings the next
	 * attempt forward (see read_entry). */
	return write_state(dir_fd_of(h->dir, h->entry.dead),
	                   dir_path_of(h->dir, h->entry.dead), h->entry.id,
	                   &h->entry.state, false, e);
}

/* Move ID.msg from one side to the other, with new_state already written
 * on the arrival side; then drop the departure side's ID.state. */
static int move_entry(struct queue_handle *h, bool to_dead,
                      struct queue_state *new_state, struct err *e)
{
	struct queue_dir *d = h->dir;
	int from = dir_fd_of(d, !to_dead), to = dir_fd_of(d, to_dead);
	const char *to_path = dir_path_of(d, to_dead);
	char *name = entry_name(h->entry.id, ".msg");
	char *state = entry_name(h->entry.id, ".state");
	int rc = write_state(to, to_path, h->entry.id, new_state, true, e);
	if (rc == EX_OK)
		rc = sync_fd(to, to_path, e);
	/* One atomic step: the entry is on one side or the other. */
	if (rc == EX_OK && renameat(from, name, to, name) != 0)
		rc = io_error(e, "move", dir_path_of(d, !to_dead), name);
	if (rc == EX_OK)
		rc = sync_fd(to, to_path, e);
	if (rc == EX_OK) {
		unlinkat(from, state, 0);
		rc = sync_fd(from, dir_path_of(d, !to_dead), e);
		queue_state_free(&h->entry.state);
		h->entry.state = *new_state;
		memset(new_state, 0, sizeof *new_state);
		h->entry.dead = to_dead;
	}
	free(name);
	free(state);
	return rc;
}

int queue_handle_kill(struct queue_handle *h, const char *reason,
                      struct err *e)
{
	if (h->entry.dead)
		return EX_OK;
	struct queue_state st = h->entry.state;
	st.last_error = xstrdup_or_null(h->entry.state.last_error);
	st.dead_since = time(NULL);
	st.dead_reason = xstrdup(reason);
	int rc = move_entry(h, true, &st, e);
	queue_state_free(&st);
	return rc;
}

int queue_handle_revive(struct queue_handle *h, struct err *e)
{
	if (!h->entry.dead)
		return EX_OK;
	time_t now = time(NULL);
	struct queue_state st = {0};
	st.queued = now;
	st.next_attempt = now;
	int rc = move_entry(h, false, &st, e);
	queue_state_free(&st);
	return rc;
}

int queue_handle_remove(struct queue_handle *h, struct err *e)
{
	int dirfd = dir_fd_of(h->dir, h->entry.dead);
	const char *path = dir_path_of(h->dir, h->entry.dead);
	char *name = entry_name(h->entry.id, ".msg");
	char *state = entry_name(h->entry.id, ".state");
	int rc = EX_OK;
	/* ID.msg first: once it is gone the entry is gone; an ID.state
	 * left alone by a crash is removed by a later scan. */
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		rc = io_error(e, "remove", path, name);
	if (rc == EX_OK)
		unlinkat(dirfd, state, 0);
	free(name);
	free(state);
	return rc;
}

void queue_handle_release(struct queue_handle *h)
{
	if (h->fd >= 0)
		close(h->fd); /* releases the flock */
	h->fd = -1;
	queue_entry_free(&h->entry);
}

/* ---- the verbs -------------------------------------------------------- */

static void add_time(struct buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char text[64];
	localtime_r(&tt, &tm);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
	buf_add_str(out, text);
}

static void add_duration(struct buf *out, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60)
		buf_printf(out, "%" PRId64 "s", seconds);
	else if (seconds < 3600)
		buf_printf(out, "%" PRId64 "m", seconds / 60);
	else if (seconds < 86400)
		buf_printf(out, "%" PRId64 "h%02" PRId64 "m", seconds / 3600,
		           seconds % 3600 / 60);
	else
		buf_printf(out, "%" PRId64 "d%02" PRId64 "h", seconds / 86400,
		           seconds % 86400 / 3600);
}

static void add_clean(struct buf *out, const char *text)
{
	sanitize_append(out, text, strlen(text));
}

static void describe_entry(const struct queue_entry *en, int64_t now,
                           struct buf *out)
{
	buf_printf(out, "%s  %" PRIu64 " bytes  age ", en->id, en->size);
	add_duration(out, now - en->created);
	buf_add_str(out, "  account ");
	add_clean(out, en->account ? en->account : "(command line)");
	buf_add_str(out, "\n  from <");
	add_clean(out, en->from);
	buf_add_str(out, "> to");
	for (size_t i = 0; i < en->rcpt.count; i++) {
		buf_add_str(out, " <");
		add_clean(out, en->rcpt.items[i].mailbox);
		buf_add_char(out, '>');
	}
	const struct queue_state *st = &en->state;
	buf_add_str(out, "\n  ");
	if (en->dead) {
		buf_add_str(out, "dead letter since ");
		add_time(out, st->dead_since ? st->dead_since : now);
	} else if (st->next_attempt > now) {
		buf_add_str(out, "deferred until ");
		add_time(out, st->next_attempt);
	} else {
		buf_add_str(out, "queued, due now");
	}
	buf_printf(out, ", %u attempt%s", st->attempts,
	           st->attempts == 1 ? "" : "s");
	if (en->dead) {
		buf_add_str(out, ": ");
		add_clean(out, st->dead_reason ? st->dead_reason
		                               : "(reason not recorded)");
	} else if (st->last_error) {
		buf_add_str(out, "; last error: ");
		add_clean(out, st->last_error);
	}
	buf_add_char(out, '\n');
}

int queue_list(const char *path, struct buf *out, struct err *e)
{
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK)
		return rc;
	struct queue_entry *entries = NULL;
	size_t count = 0;
	struct buf problems = BUF_INIT;
	if (d)
		rc = queue_scan(d, true, &entries, &count, &problems, e);
	int64_t now = time(NULL);
	size_t dead = 0, deferred = 0;
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		describe_entry(&entries[i], now, out);
		if (entries[i].dead)
			dead++;
		else if (entries[i].state.next_attempt > now)
			deferred++;
	}
	if (rc == EX_OK) {
		buf_add(out, problems.data, problems.len);
		if (count == 0)
			buf_printf(out, "queue %s is empty\n", path);
		else
			buf_printf(out, "%zu message(s) in queue %s: %zu due, "
			           "%zu deferred, %zu dead letter(s)\n", count,
			           path, count - dead - deferred, deferred, dead);
	}
	buf_free(&problems);
	queue_entries_free(entries, count);
	queue_dir_close(d);
	return rc;
}

int queue_delete(const char *path, const char *id, bool *found,
                 struct buf *out, struct err *e)
{
	*found = false;
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK || !d)
		return rc;
	for (int side = 0; rc == EX_OK && side < 2 && !*found; side++) {
		struct queue_handle h;
		enum queue_acquire_result res;
		rc = queue_acquire(d, id, side == 1, &h, &res, e);
		if (rc != EX_OK)
			break;
		if (res == QUEUE_BUSY) {
			*found = true;
			rc = err_set(e, EX_TEMPFAIL, "message %s is being "
			             "delivered right now; try again when the "
			             "flush is over", id);
		} else if (res == QUEUE_ACQUIRED) {
			*found = true;
			rc = queue_handle_remove(&h, e);
			if (rc == EX_OK)
				rc = queue_dir_sync(d, e);
			if (rc == EX_OK)
				buf_printf(out, "deleted %s%s\n", id,
				           side ? " (dead letter)" : "");
			queue_handle_release(&h);
		}
	}
	queue_dir_close(d);
	return rc;
}

static int requeue_one(struct queue_dir *d, const char *id, bool *moved,
                       struct buf *out, struct err *e)
{
	*moved = false;
	struct queue_handle h;
	enum queue_acquire_result res;
	int rc = queue_acquire(d, id, true, &h, &res, e);
	if (rc != EX_OK || res == QUEUE_GONE)
		return rc;
	if (res == QUEUE_BUSY)
		return err_set(e, EX_TEMPFAIL, "dead letter %s is locked by "
		               "another outbox process; try again", id);
	rc = queue_handle_revive(&h, e);
	if (rc == EX_OK) {
		*moved = true;
		buf_printf(out, "requeued %s\n", id);
	}
	queue_handle_release(&h);
	return rc;
}

int queue_requeue(const char *path, const char *id_or_all, size_t *moved,
                  struct buf *out, struct err *e)
{
	*moved = 0;
	struct queue_dir *d = NULL;
	int rc = queue_dir_open(path, false, &d, e);
	if (rc != EX_OK || !d)
		return rc;
	if (strcmp(id_or_all, "all") != 0) {
		bool one;
		rc = requeue_one(d, id_or_all, &one, out, e);
		*moved = one;
		queue_dir_close(d);
		return rc;
	}
	struct queue_entry *entries = NULL;
	size_t count = 0;
	struct buf problems = BUF_INIT;
	rc = scan_one(d->dead_fd, d->dead_path, true, &entries, &count,
	              &problems, e);
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		bool one;
		rc = requeue_one(d, entries[i].id, &one, out, e);
		*moved += one;
	}
	buf_add(out, problems.data, problems.len);
	buf_free(&problems);
	queue_entries_free(entries, count);
	queue_dir_close(d);
	return rc;
}

static void add_dir(char ***dirs, size_t *count, char *dir)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*dirs)[i], dir) == 0) {
			free(dir);
			return;
		}
	}
	*dirs = xrealloc(*dirs, (*count + 1) * sizeof **dirs);
	(*dirs)[(*count)++] = dir;
}

int queue_select_dirs(const struct conf *conf, const struct options *opts,
                      char ***dirs, size_t *count, struct err *e)
{
	*dirs = NULL;
	*count = 0;
	const struct cli_setting *explicit =
	        cli_find_setting(opts, "queue_dir");
	if (explicit) {
		/* Through account_set: the same checks and ~ expansion as in
		 * a configuration file. */
		struct account *scratch = account_new("(command line)");
		int rc = account_set(scratch, "queue_dir", explicit->value, e);
		if (rc == EX_OK)
			add_dir(dirs, count, queue_default_dir(scratch));
		account_free(scratch);
		if (rc != EX_OK)
			err_prefix(e, "--queue-dir");
		return rc == EX_OK ? EX_OK : EX_USAGE;
	}
	if (opts->account) {
		const struct account *a = conf_find_account(conf, opts->account);
		if (!a)
			return err_set(e, EX_CONFIG, "account '%s' is not "
			               "defined in the configuration",
			               opts->account);
		add_dir(dirs, count, queue_default_dir(a));
		return EX_OK;
	}
	add_dir(dirs, count,
	        queue_default_dir(conf_find_account(conf, "default")));
	for (size_t i = 0; i < conf->count; i++)
		if (conf->accounts[i]->queue_dir &&
		    *conf->accounts[i]->queue_dir)
			add_dir(dirs, count,
			        xstrdup(conf->accounts[i]->queue_dir));
	return EX_OK;
}

void queue_dirs_free(char **dirs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(dirs[i]);
	free(dirs);
}

int queue_run_mode(const struct conf *conf, const struct options *opts,
                   struct buf *out, struct err *e)
{
	char **dirs = NULL;
	size_t count = 0;
	int rc = queue_select_dirs(conf, opts, &dirs, &count, e);
	const char *arg = opts->mode_argument ? opts->mode_argument : "";
	bool is_all = strcmp(arg, "all") == 0;
	if (rc == EX_OK && opts->mode != MODE_LIST_QUEUE &&
	    !queue_id_valid(arg) &&
	    !(opts->mode == MODE_QUEUE_REQUEUE && is_all))
		rc = err_set(e, EX_USAGE, "'%s' is not a queue ID (they look "
		             "like 20251124T184033Z-9f3ac1d2e4b5a6c7; see "
		             "--list-queue)%s", arg,
		             opts->mode == MODE_QUEUE_REQUEUE ? " or 'all'"
		                                              : "");
	bool found = false;
	size_t moved = 0;
	for (size_t i = 0; rc == EX_OK && i < count; i++) {
		if (opts->mode == MODE_LIST_QUEUE) {
			rc = queue_list(dirs[i], out, e);
		} else if (opts->mode == MODE_QUEUE_DELETE) {
			bool here;
			rc = queue_delete(dirs[i], arg, &here, out, e);
			found |= here;
		} else {
			size_t n;
			rc = queue_requeue(dirs[i], arg, &n, out, e);
			moved += n;
		}
	}
	if (rc == EX_OK && opts->mode == MODE_QUEUE_DELETE && !found)
		rc = err_set(e, EX_NOINPUT, "no queued message or dead letter "
		             "has the ID %s", arg);
	if (rc == EX_OK && opts->mode == MODE_QUEUE_REQUEUE && moved == 0) {
		if (is_all)
			buf_add_str(out, "there are no dead letters\n");
		else
			rc = err_set(e, EX_NOINPUT, "no dead letter has the ID "
			             "%s (only dead letters can be requeued)",
			             arg);
	}
	queue_dirs_free(dirs, count);
	return rc;
}
