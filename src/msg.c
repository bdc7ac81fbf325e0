/* msg.c - the message: reading, header block, edits, wire form; see msg.h.
 *
 * Input decisions, made once here so every later consumer sees the same
 * bytes:
 *  - Line endings: CRLF, bare LF and bare CR each end a line and become
 *    CRLF (security invariant 4: no bare CR or LF reaches the wire). A CR at
 *    the end of one read followed by LF at the start of the next is one
 *    CRLF. A CR directly followed by CRLF therefore adds an empty line.
 *  - NUL bytes are refused (EX_DATAERR naming the line) rather than encoded:
 *    no SMTP server accepts them and no MUA produces them on purpose.
 *  - A leading mbox "From " envelope line is dropped, as sendmail does.
 *  - The header block ends at the first empty line; a line that is neither
 *    a field ("name:") nor a continuation ends it too and starts the body,
 *    as sendmail and Postfix do (msg_write then puts the empty line in).
 *    When the very first line is not a field, there is no header at all.
 *  - The body is counted, hashed through the sink and stored while reading,
 *    in MSG_READ_CHUNK pieces; beyond MSG_SPOOL_THRESHOLD it goes to a
 *    temporary file without a name, written in MSG_WRITE_CHUNK pieces. */
/* O_TMPFILE is Linux-specific: glibc declares it for _GNU_SOURCE only. */
#define _GNU_SOURCE
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define MSG_READ_CHUNK (64 * 1024)  /* one read(2) */
#define MSG_WRITE_CHUNK (64 * 1024) /* one write(2) or write_fn call */
#define MSG_QP_LINE 76              /* RFC 2045 6.7 (5): encoded line */
#define MSG_FOLD_TARGET 78          /* RFC 5322 2.1.1: SHOULD */
/* RFC 2047 2: an encoded word is at most 75 characters; 39 input octets
 * make 52 base64 characters, a 64-character word that keeps "From: " and
 * the word within 78 columns. */
#define MSG_ENCODED_WORD_INPUT 39
#define MSG_ID_RANDOM_BYTES 16

struct field {
	char *name;
	struct buf raw; /* after the colon, with folding CRLFs, no final CRLF */
	char *unfolded;  /* raw without folding, trimmed; NULL until needed */
};

/* Line-ending normaliser; its state survives read boundaries. */
struct normalizer {
	bool pending_cr; /* the last byte seen was a CR */
	uint64_t line;   /* 1-based number of the current input line */
};

/* The body: in memory up to MSG_SPOOL_THRESHOLD, else a nameless file for
 * which mem is the write-behind buffer. Receives CRLF-normalised data only,
 * and never splits a CRLF across two appends. */
struct spool {
	struct buf mem;
	int fd;                 /* -1 while in memory */
	uint64_t size;
	bool has_8bit;
	uint64_t lines;         /* complete lines */
	uint64_t line_len;      /* bytes of the current line, CR included */
	uint64_t longest;       /* longest line, without CRLF */
	uint64_t first_long;    /* first line over MSG_MAX_LINE (1-based), 0 */
};

struct message {
	struct field *fields;
	size_t count;
	size_t cap;
	struct normalizer norm;
	struct buf pending;       /* body bytes read with the header */
	bool eof;                 /* the end of input was seen */
	bool body_read;
	uint64_t body_first_line; /* input line where the body starts */
	struct spool body;
};

typedef int (*chunk_fn)(void *ctx, const char *data, size_t len,
                        struct err *e);

/* ---- small helpers ---------------------------------------------------- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5322 3.6.8 ftext: printable US-ASCII except ':'. */
static bool is_ftext(char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Streaming strict UTF-8 check (RFC 3629). */
struct utf8_check {
	uint32_t cp;
	uint32_t min;
	int need;
	bool bad;
};

static void utf8_check_byte(struct utf8_check *u, unsigned char c)
{
	if (u->need > 0) {
		if ((c & 0xc0) != 0x80) {
			u->bad = true;
			u->need = 0;
			utf8_check_byte(u, c);
			return;
		}
		u->cp = (u->cp << 6) | (c & 0x3f);
		if (--u->need == 0 &&
		    (u->cp < u->min || u->cp > 0x10ffff ||
		     (u->cp >= 0xd800 && u->cp <= 0xdfff)))
			u->bad = true;
		return;
	}
	if (c < 0x80)
		return;
	if (c >= 0xc2 && c <= 0xdf) {
		u->need = 1;
		u->cp = c & 0x1f;
		u->min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		u->cp = c & 0x0f;
		u->min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		u->cp = c & 0x07;
		u->min = 0x10000;
	} else {
		u->bad = true;
	}
}

static bool utf8_is_valid(const char *s, size_t len)
{
	struct utf8_check u = {0, 0, 0, false};
	for (size_t i = 0; i < len; i++)
		utf8_check_byte(&u, (unsigned char)s[i]);
	return !u.bad && u.need == 0;
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

static int write_all(int fd, const char *data, size_t len, struct err *e)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, EX_IOERR,
			               "cannot write the message to a "
			               "temporary file: %s",
			               strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return EX_OK;
}

/* ---- normaliser ------------------------------------------------------- */

/* Append raw input to out with every line ending made CRLF; refuses NUL.
 * Never emits a CR without its LF, so out can be cut anywhere after a
 * call without splitting a CRLF. */
static int normalizer_feed(struct normalizer *n, const char *in, size_t len,
                           struct buf *out, struct err *e)
{
	/* One input octet makes at most two output octets, plus the CRLF
	 * of a CR carried over from the previous call. */
	buf_reserve(out, 2 * len + 2);
	char *w = out->data + out->len;
	int rc = EX_OK;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (n->pending_cr) {
			n->pending_cr = false;
			*w++ = '\r';
			*w++ = '\n';
			n->line++;
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			n->pending_cr = true;
		} else if (c == '\n') {
			*w++ = '\r';
			*w++ = '\n';
			n->line++;
		} else if (c == '\0') {
			rc = err_set(e, EX_DATAERR,
			             "the message contains a NUL byte at line "
			             "%llu",
			             (unsigned long long)n->line);
			break;
		} else {
			*w++ = c;
		}
	}
	out->len = (size_t)(w - out->data);
	out->data[out->len] = '\0';
	return rc;
}

static void normalizer_finish(struct normalizer *n, struct buf *out)
{
	if (n->pending_cr) {
		n->pending_cr = false;
		buf_add(out, "\r\n", 2);
		n->line++;
	}
}

/* ---- spool ------------------------------------------------------------ */

static void spool_init(struct spool *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->fd = -1;
}

static void spool_free(struct spool *sp)
{
	buf_free(&sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

/* Size, 8-bit octets and line lengths, for msg_enforce_line_limit. */
static void spool_track(struct spool *sp, const char *data, size_t len)
{
	uint64_t line_len = sp->line_len;
	bool high = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		high |= c >= 0x80;
		if (c != '\n') {
			line_len++;
			continue;
		}
		uint64_t length = line_len ? line_len - 1 : 0; /* the CR */
		sp->lines++;
		if (length > sp->longest)
			sp->longest = length;
		if (length > MSG_MAX_LINE && sp->first_long == 0)
			sp->first_long = sp->lines;
		line_len = 0;
	}
	sp->line_len = line_len;
	sp->has_8bit |= high;
	sp->size += len;
}

/* The spool never has a name: O_TMPFILE makes an inode in dir that no
 * directory entry points to, so a crash (even kill -9) at any moment
 * leaves nothing behind, and O_EXCL keeps linkat(2) from ever giving it
 * one. File systems without O_TMPFILE (EOPNOTSUPP; EISDIR or EINVAL from
 * kernels before 3.11, which do not know the flag) get mkstemp with the
 * name unlinked at once: a window of two system calls instead of none. */
static int spool_open_file(struct spool *sp, struct err *e)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL)
		return err_set(e, EX_IOERR,
		               "cannot create a temporary file in %s for "
		               "the message: %s (set TMPDIR)",
		               dir, strerror(errno));
#endif
	if (fd < 0) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/outbox-body-XXXXXX", dir);
		fd = mkstemp(path.data);
		int saved = errno;
		if (fd >= 0)
			unlink(path.data);
		buf_free(&path);
		if (fd < 0)
			return err_set(e, EX_IOERR,
			               "cannot create a temporary file in %s "
			               "for the message: %s (set TMPDIR)",
			               dir, strerror(saved));
		/* No other thread can fork between mkstemp and this. */
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			saved = errno;
			close(fd);
			return err_set(e, EX_OSERR,
			               "fcntl on a temporary file: %s",
			               strerror(saved));
		}
	}
	sp->fd = fd;
	return EX_OK;
}

static int spool_flush(struct spool *sp, struct err *e)
{
	if (sp->fd < 0 || sp->mem.len == 0)
		return EX_OK;
	int rc = write_all(sp->fd, sp->mem.data, sp->mem.len, e);
	buf_reset(&sp->mem);
	return rc;
}

static int spool_append(struct spool *sp, const char *data, size_t len,
                        struct err *e)
{
	if (len == 0)
		return EX_OK;
	spool_track(sp, data, len);
	if (sp->fd < 0) {
		if (sp->mem.len + len <= MSG_SPOOL_THRESHOLD) {
			buf_add(&sp->mem, data, len);
			return EX_OK;
		}
		int rc = spool_open_file(sp, e);
		if (rc != EX_OK)
			return rc;
	}
	buf_add(&sp->mem, data, len);
	if (sp->mem.len >= MSG_WRITE_CHUNK)
		return spool_flush(sp, e);
	return EX_OK;
}

/* Pass the whole spool to fn in pieces of at most MSG_READ_CHUNK (when on
 * file) or at once (in memory). pread keeps this free of file offsets. */
static int spool_foreach(const struct spool *sp, chunk_fn fn, void *ctx,
                         struct err *e)
{
	if (sp->fd < 0)
		return sp->mem.len ? fn(ctx, sp->mem.data, sp->mem.len, e)
		                   : EX_OK;
	char *chunk = xmalloc(MSG_READ_CHUNK);
	uint64_t offset = 0;
	int rc = EX_OK;
	while (rc == EX_OK && offset < sp->size) {
		ssize_t n = pread(sp->fd, chunk, MSG_READ_CHUNK, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = err_set(e, EX_IOERR,
			             "cannot read the message back from its "
			             "temporary file: %s",
			             n < 0 ? strerror(errno) : "file shrank");
			break;
		}
		offset += (uint64_t)n;
		rc = fn(ctx, chunk, (size_t)n, e);
	}
	free(chunk);
	return rc;
}

/* ---- header fields ---------------------------------------------------- */

static struct message *message_new(void)
{
	struct message *m = xcalloc(1, sizeof *m);
	m->norm.line = 1;
	m->body_first_line = 1;
	spool_init(&m->body);
	return m;
}

static void field_free(struct field *f)
{
	free(f->name);
	buf_free(&f->raw);
	free(f->unfolded);
}

/* RFC 5322 2.2.3 unfolding: drop the CRLFs (each is followed by white
 * space), then trim the white space around the value. */
static void field_unfold(struct field *f)
{
	struct buf b = BUF_INIT;
	const char *s = buf_str(&f->raw);
	size_t len = f->raw.len;
	while (len > 0 && (is_wsp(*s) || *s == '\r' || *s == '\n')) {
		s++;
		len--;
	}
	while (len > 0 && (is_wsp(s[len - 1]) || s[len - 1] == '\r' ||
	                   s[len - 1] == '\n'))
		len--;
	buf_add(&b, "", 0); /* "" rather than NULL for an empty value */
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			buf_add_char(&b, s[i]);
	free(f->unfolded);
	f->unfolded = buf_steal(&b);
}

static struct field *message_insert_field(struct message *m, size_t at,
                                          const char *name, size_t name_len)
{
	if (m->count == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->fields = xrealloc(m->fields, m->cap * sizeof *m->fields);
	}
	memmove(m->fields + at + 1, m->fields + at,
	        (m->count - at) * sizeof *m->fields);
	m->count++;
	struct field *f = &m->fields[at];
	f->name = xstrndup(name, name_len);
	f->raw = (struct buf)BUF_INIT;
	f->unfolded = NULL;
	return f;
}

/* Add a field built here (value known to be safe: CRLF only as folding). */
static void message_add_field(struct message *m, size_t at, const char *name,
                              const char *raw)
{
	struct field *f = message_insert_field(m, at, name, strlen(name));
	buf_add_str(&f->raw, raw);
	field_unfold(f);
}

static void message_remove_field(struct message *m, size_t i)
{
	field_free(&m->fields[i]);
	memmove(m->fields + i, m->fields + i + 1,
	        (m->count - i - 1) * sizeof *m->fields);
	m->count--;
}

static ssize_t message_find(const struct message *m, const char *name)
{
	for (size_t i = 0; i < m->count; i++)
		if (ascii_casecmp(m->fields[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
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
	while (i < len && is_wsp(line[i]))
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

/* ---- reading ---------------------------------------------------------- */

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
		} else if (is_wsp(line[0]) && m->count > 0) {
			struct field *f = &m->fields[m->count - 1];
			buf_add(&f->raw, "\r\n", 2);
			buf_add(&f->raw, line, len);
			*pos = next;
		} else if (name_len > 0) {
			struct field *f = message_insert_field(m, m->count,
			                                       line, name_len);
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
			normalizer_finish(&m->norm, &text);
		} else {
			rc = normalizer_feed(&m->norm, chunk, got, &text, e);
			if (rc != EX_OK)
				break;
		}
		header_consume(m, &hr, &text, &pos);
		if (hr.done || text.len <= MSG_MAX_HEADER_BLOCK)
			continue;
		const char *rest = text.data + pos;
		size_t rest_len = text.len - pos;
		if (!line_may_be_field(rest, rest_len) &&
		    !(m->count > 0 && is_wsp(rest[0]))) {
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
		field_unfold(&m->fields[i]);
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
	return spool_append(&br->m->body, data, len, e);
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
			normalizer_finish(&m->norm, &normal);
		} else {
			rc = normalizer_feed(&m->norm, chunk, got, &normal, e);
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
		rc = spool_flush(&m->body, e);
	if (rc == EX_OK && m->count == 0 && m->body.size == 0)
		rc = err_set(e, EX_DATAERR, "the message is empty");
	return rc;
}

/* ---- accessors -------------------------------------------------------- */

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

static bool name_is_any(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (ascii_casecmp(name, *names) == 0)
			return true;
	return false;
}

static bool name_is_resent(const char *name)
{
	return ascii_ncasecmp(name, "Resent-", 7) == 0;
}

static int field_add_recipients(const struct field *f, struct addr_list *out,
                                struct err *e)
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
			if (!name_is_any(m->fields[i].name, resent))
				continue;
			int rc = field_add_recipients(&m->fields[i], out, e);
			if (rc != EX_OK)
				return rc;
		}
		return EX_OK;
	}
	for (size_t i = 0; i < m->count; i++) {
		if (!name_is_any(m->fields[i].name, plain))
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

/* ---- edits ------------------------------------------------------------ */

static void base64_encode(struct buf *out, const unsigned char *s,
                          size_t len)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                             "abcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		buf_add_char(out, digits[(v >> 18) & 63]);
		buf_add_char(out, digits[(v >> 12) & 63]);
		buf_add_char(out, i + 1 < len ? digits[(v >> 6) & 63] : '=');
		buf_add_char(out, i + 2 < len ? digits[v & 63] : '=');
	}
}

/* RFC 2047 B-encoded words, split on character boundaries and folded. */
static void add_encoded_words(struct buf *out, const char *s, size_t len)
{
	bool utf8 = utf8_is_valid(s, len);
	const char *charset = utf8 ? "UTF-8" : "unknown-8bit";
	size_t i = 0;
	while (i < len) {
		size_t n = len - i;
		if (n > MSG_ENCODED_WORD_INPUT) {
			n = MSG_ENCODED_WORD_INPUT;
			/* RFC 2047 5: never split a multi-octet character. */
			while (utf8 && n > 1 &&
			       ((unsigned char)s[i + n] & 0xc0) == 0x80)
				n--;
		}
		if (i > 0)
			buf_add_str(out, "\r\n ");
		buf_printf(out, "=?%s?B?", charset);
		base64_encode(out, (const unsigned char *)s + i, n);
		buf_add_str(out, "?=");
		i += n;
	}
}

/* A display name as an RFC 5322 phrase: atoms as they are, a quoted string
 * when it has specials, encoded words when it has non-ASCII octets or
 * control characters (so a name given on the command line can never break
 * the header line). */
static void add_display_name(struct buf *out, const char *name)
{
	size_t len = strlen(name);
	bool encode = false, quote = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			encode = true;
		else if (!is_atext(c) && c != ' ')
			quote = true;
	}
	if (len == 0 || name[0] == ' ' || name[len - 1] == ' ' ||
	    strstr(name, "  "))
		quote = true;
	if (encode) {
		add_encoded_words(out, name, len);
		return;
	}
	if (!quote) {
		buf_add(out, name, len);
		return;
	}
	buf_add_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '"' || name[i] == '\\')
			buf_add_char(out, '\\');
		buf_add_char(out, name[i]);
	}
	buf_add_char(out, '"');
}

/* RFC 5322 3.3 date-time in local time with a numeric zone; the names
 * are fixed English, whatever the locale. */
static void add_date(struct buf *out, time_t now)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
	                                "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	localtime_r(&now, &tm);
	long offset = tm.tm_gmtoff / 60;
	char sign = offset < 0 ? '-' : '+';
	if (offset < 0)
		offset = -offset;
	buf_printf(out, "%s, %02d %s %d %02d:%02d:%02d %c%02ld%02ld",
	           days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	           offset / 60, offset % 60);
}

static int random_bytes(unsigned char *out, size_t len, struct err *e)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(out + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len)
		return EX_OK;
	/* Kernels before 3.17 have no getrandom. */
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_OSERR, "cannot open /dev/urandom: %s",
		               strerror(errno));
	got = 0;
	while (got < len) {
		ssize_t n = read(fd, out + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < len)
		return err_set(e, EX_OSERR, "cannot read /dev/urandom");
	return EX_OK;
}

/* RFC 5322 3.6.4 id-right: dot-atom-text or a no-fold-literal. */
static bool msgid_domain_is_valid(const char *d)
{
	size_t len = strlen(d);
	if (len == 0)
		return false;
	if (d[0] == '[') {
		if (len < 3 || d[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (d[i] < 33 || d[i] > 126 || d[i] == '[' ||
			    d[i] == ']' || d[i] == '\\')
				return false;
		return true;
	}
	if (d[0] == '.' || d[len - 1] == '.' || strstr(d, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (d[i] != '.' && !is_atext((unsigned char)d[i]))
			return false;
	return true;
}

/* "<YYYYMMDDhhmmss.RANDOM@domain>": the time keeps ids sortable, 128
 * random bits keep them unique. */
static int add_message_id(struct buf *out, const struct msg_edits *ed,
                          time_t now, struct err *e)
{
	const char *domain = ed->msgid_domain;
	if (!domain || !*domain) {
		const char *at = ed->from_address
		                     ? strrchr(ed->from_address, '@')
		                     : NULL;
		domain = at && msgid_domain_is_valid(at + 1) ? at + 1
		                                             : "localhost";
	}
	if (!msgid_domain_is_valid(domain)) {
		struct buf shown = BUF_INIT;
		for (const char *s = domain; *s && shown.len < 80; s++)
			buf_add_char(&shown, (unsigned char)*s < 0x20 ||
			                             *s == 0x7f ? '?' : *s);
		int rc = err_set(e, EX_CONFIG,
		                 "cannot build a Message-ID: \"%s\" is not a "
		                 "valid domain for it", buf_str(&shown));
		buf_free(&shown);
		return rc;
	}
	unsigned char rnd[MSG_ID_RANDOM_BYTES];
	int rc = random_bytes(rnd, sizeof rnd, e);
	if (rc != EX_OK)
		return rc;
	struct tm tm;
	gmtime_r(&now, &tm);
	buf_printf(out, "<%04d%02d%02d%02d%02d%02d.", tm.tm_year + 1900,
	           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	           tm.tm_sec);
	for (size_t i = 0; i < sizeof rnd; i++)
		buf_printf(out, "%02x", rnd[i]);
	buf_printf(out, "@%s>", domain);
	return EX_OK;
}

int msg_apply_edits(struct message *m, const struct msg_edits *ed,
                    struct err *e)
{
	struct buf from = BUF_INIT, date = BUF_INIT, msgid = BUF_INIT;
	time_t now = time(NULL);
	int rc = EX_OK;
	/* Build everything first: a failure leaves the message unchanged. */
	bool add_from = ed->from_address && *ed->from_address &&
	                (ed->from_header == HEADER_ON ||
	                 (ed->from_header == HEADER_AUTO &&
	                  message_find(m, "From") < 0));
	if (add_from) {
		/* The address goes into a header line: same rules as for a
		 * command (no CR, LF or other controls, no stray <>). */
		rc = addr_check_smtp_safe(ed->from_address, false, e);
		if (rc != EX_OK)
			return rc;
		buf_add_char(&from, ' ');
		if (ed->from_full_name && *ed->from_full_name) {
			add_display_name(&from, ed->from_full_name);
			buf_printf(&from, " <%s>", ed->from_address);
		} else {
			buf_add_str(&from, ed->from_address);
		}
	}
	bool add_date_field = ed->date_header != HEADER_OFF &&
	                      message_find(m, "Date") < 0;
	if (add_date_field) {
		buf_add_char(&date, ' ');
		add_date(&date, now);
	}
	bool add_msgid = ed->msgid_header != HEADER_OFF &&
	                 message_find(m, "Message-ID") < 0;
	if (add_msgid) {
		buf_add_char(&msgid, ' ');
		rc = add_message_id(&msgid, ed, now, e);
	}
	if (rc != EX_OK) {
		buf_free(&from);
		buf_free(&date);
		buf_free(&msgid);
		return rc;
	}

	static const char *const bcc[] = {"Bcc", "Resent-Bcc", NULL};
	static const char *const recipients[] = {"To", "Cc", "Bcc", NULL};
	for (size_t i = m->count; i-- > 0;) {
		const char *name = m->fields[i].name;
		if ((ed->remove_bcc && name_is_any(name, bcc)) ||
		    (ed->undisclosed_recipients &&
		     name_is_any(name, recipients)) ||
		    (add_from && ascii_casecmp(name, "From") == 0))
			message_remove_field(m, i);
	}
	/* Fixed order at the top: From, To, Date, Message-ID. */
	if (add_msgid)
		message_add_field(m, 0, "Message-ID", buf_str(&msgid));
	if (add_date_field)
		message_add_field(m, 0, "Date", buf_str(&date));
	if (ed->undisclosed_recipients)
		message_add_field(m, 0, "To", " undisclosed-recipients:;");
	if (add_from)
		message_add_field(m, 0, "From", buf_str(&from));
	buf_free(&from);
	buf_free(&date);
	buf_free(&msgid);
	return EX_OK;
}

void msg_prepend_header(struct message *m, const char *name,
                        const char *raw_value)
{
	struct field *f = message_insert_field(m, 0, name, strlen(name));
	/* Verbatim, except that a line break that is not CRLF followed by
	 * white space (which could end the header or start a new field)
	 * becomes a fold: security invariant 4 holds whatever the caller
	 * passes. */
	for (const char *s = raw_value; *s; s++) {
		if (*s != '\r' && *s != '\n') {
			buf_add_char(&f->raw, *s);
			continue;
		}
		if (s[0] == '\r' && s[1] == '\n')
			s++;
		buf_add(&f->raw, "\r\n", 2);
		if (!is_wsp(s[1]))
			buf_add_char(&f->raw, ' ');
	}
	field_unfold(f);
}

/* ---- line limit ------------------------------------------------------- */

/* The media type ("text/plain") of a Content-Type value, lower case. */
static char *mime_type_of(const char *value)
{
	struct buf b = BUF_INIT;
	const char *s = value;
	for (;;) {
		while (is_wsp(*s))
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
	for (; *s && *s != ';' && *s != '(' && !is_wsp(*s); s++) {
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
			if (!is_wsp(seg[i])) {
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
				if (is_wsp(seg[j]) && j > pos && text &&
				    last_text != len && j < last_text) {
					if (col + (j - pos) <= MSG_FOLD_TARGET)
						best = j;
					else if (fallback == 0)
						fallback = j;
				}
				if (!is_wsp(seg[j]))
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

static bool field_is_too_long(const struct field *f)
{
	size_t col = strlen(f->name) + 1;
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
	struct spool *out;
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
	int rc = spool_append(q->out, q->pending.data, q->pending.len, e);
	buf_reset(&q->pending);
	return rc;
}

static void message_set_field(struct message *m, const char *name,
                              const char *raw)
{
	ssize_t at = message_find(m, name);
	if (at < 0) {
		message_add_field(m, m->count, name, raw);
		return;
	}
	struct field *f = &m->fields[at];
	buf_reset(&f->raw);
	buf_add_str(&f->raw, raw);
	field_unfold(f);
	for (size_t i = m->count; i-- > (size_t)at + 1;)
		if (ascii_casecmp(m->fields[i].name, name) == 0)
			message_remove_field(m, i);
}

static int body_reencode_qp(struct message *m, struct err *e)
{
	struct spool fresh;
	spool_init(&fresh);
	struct qp_encoder q;
	memset(&q, 0, sizeof q);
	q.out = &fresh;
	int rc = spool_foreach(&m->body, qp_encode_chunk, &q, e);
	if (rc == EX_OK && q.held_space)
		qp_put_encoded(&q, (unsigned char)q.held_space);
	if (rc == EX_OK)
		rc = spool_append(&fresh, q.pending.data, q.pending.len, e);
	if (rc == EX_OK)
		rc = spool_flush(&fresh, e);
	buf_free(&q.pending);
	if (rc != EX_OK) {
		spool_free(&fresh);
		return rc;
	}
	bool had_8bit = m->body.has_8bit;
	bool utf8 = !q.utf8.bad && q.utf8.need == 0;
	spool_free(&m->body);
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
		const struct field *f = &m->fields[i];
		if (!field_is_too_long(f))
			continue;
		if (!field_refold(f->raw.data, f->raw.len, strlen(f->name) + 1,
		                  &folded[i]))
			rc = err_set(e, EX_DATAERR,
			             "the %s header field has a line longer "
			             "than %d octets without white space to "
			             "fold it at",
			             f->name, MSG_MAX_LINE);
	}
	for (size_t i = 0; i < m->count; i++) {
		if (rc == EX_OK && folded[i].len > 0) {
			buf_free(&m->fields[i].raw);
			m->fields[i].raw = folded[i];
			field_unfold(&m->fields[i]);
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

/* ---- body and wire ---------------------------------------------------- */

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
	return spool_foreach(&m->body, sink_adapter_call, &a, e);
}

bool msg_body_is_empty(const struct message *m)
{
	return m->body.size == 0;
}

bool msg_has_8bit(const struct message *m)
{
	return m->body.has_8bit;
}

bool msg_header_has_utf8(const struct message *m)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct field *f = &m->fields[i];
		for (const char *s = f->name; *s; s++)
			if ((unsigned char)*s >= 0x80)
				return true;
		for (size_t k = 0; k < f->raw.len; k++)
			if ((unsigned char)f->raw.data[k] >= 0x80)
				return true;
	}
	return false;
}

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
		const struct field *f = &m->fields[i];
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
		rc = spool_foreach(&m->body, wire_add, &w, e);
	if (rc == EX_OK)
		rc = wire_flush(&w, e);
	buf_free(&w.out);
	return rc;
}

void msg_free(struct message *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		field_free(&m->fields[i]);
	free(m->fields);
	buf_free(&m->pending);
	spool_free(&m->body);
	free(m);
}
