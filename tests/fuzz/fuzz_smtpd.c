/* fuzz_smtpd.c - libFuzzer target for what a client sends to outbox -bs:
 * command lines (smtpd_command.h) and message data (smtpd_io.h).
 *
 * 1. The input is cut into lines at LF (one trailing CR dropped, as
 *    smtpd_io_read_line does) and every line is parsed. Invariants:
 *    - a refusal has a code of 500, 501, 502, 552, 553 or 555, an RFC 3463
 *      status of the same class and a text of printable ASCII;
 *    - an accepted MAIL or RCPT has a path that addr_check_smtp_safe
 *      accepts (RCPT: never empty), and every value that can reach a
 *      command of ours (path, ENVID, NOTIFY, ORCPT) is free of CR, LF,
 *      NUL, space and "<>" outside the path; ENVID is xtext of at most
 *      DSN_MAX_ENVID, NOTIFY is NEVER or SUCCESS,FAILURE,DELAY in that
 *      order, ORCPT at most DSN_MAX_ORCPT;
 *    - nothing but MAIL carries MAIL parameters, nothing but RCPT RCPT's.
 * 2. The whole input goes through a pipe into smtpd_io_read_data, as the
 *    message after DATA; a model written from RFC 5321 4.1.1.4 and 4.5.2
 *    says where the data ends (CRLF "." CRLF only, the DATA line counting
 *    as the first CRLF) and what the unstuffed content is. Both must
 *    agree on the content, on whether the end was found and on where the
 *    next command starts: a message can never end early or late. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "dsn.h"
#include "smtpd_command.h"
#include "smtpd_io.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

static void check_clean(const char *s, bool spaces_allowed)
{
	if (!s)
		return;
	for (; *s; s++)
		if (*s == '\r' || *s == '\n' || (!spaces_allowed && *s == ' '))
			abort();
}

static void check_refusal(const struct smtpd_refusal *why)
{
	static const int codes[] = {500, 501, 502, 552, 553, 555};
	bool known = false;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		known |= why->code == codes[i];
	if (!known || !why->status || why->status[0] != '5' ||
	    why->status[1] != '.')
		abort();
	check_text(why->text);
}

static void check_xtext(const char *s)
{
	for (; *s; s++) {
		if (*s == '+') {
			for (int k = 1; k <= 2; k++)
				if (!strchr("0123456789ABCDEF", s[k]) || !s[k])
					abort();
			s += 2;
		} else if ((unsigned char)*s < 33 || (unsigned char)*s > 126 ||
		           *s == '=') {
			abort();
		}
	}
}

static void check_notify(const char *n)
{
	static const char *const allowed[] = {
		"NEVER", "SUCCESS", "FAILURE", "DELAY", "SUCCESS,FAILURE",
		"SUCCESS,DELAY", "FAILURE,DELAY", "SUCCESS,FAILURE,DELAY",
	};
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (strcmp(n, allowed[i]) == 0)
			return;
	abort();
}

static void check_command(const struct smtpd_command *c)
{
	bool mail = c->verb == SMTPD_MAIL, rcpt = c->verb == SMTPD_RCPT;
	if ((mail || rcpt) != (c->path != NULL))
		abort();
	if (c->path) {
		struct err e = ERR_INIT;
		if (addr_check_smtp_safe(c->path, mail, &e) != EX_OK)
			abort();
		err_clear(&e);
		check_clean(c->path, true);
	}
	if (!mail && (c->has_size || c->body != SMTPD_BODY_UNSAID ||
	              c->smtputf8 || c->ret || c->envid))
		abort();
	if (!rcpt && (c->notify || c->orcpt))
		abort();
	if (c->envid) {
		if (strlen(c->envid) > DSN_MAX_ENVID)
			abort();
		check_xtext(c->envid);
	}
	if (c->notify)
		check_notify(c->notify);
	if (c->orcpt) {
		const char *semi = strchr(c->orcpt, ';');
		if (!semi || strlen(c->orcpt) > DSN_MAX_ORCPT)
			abort();
		check_xtext(semi + 1);
	}
	if (c->ret && strcmp(c->ret, "FULL") && strcmp(c->ret, "HDRS"))
		abort();
	check_clean(c->argument, true);
}

static void parse_lines(const char *text, size_t size)
{
	for (size_t at = 0; at < size;) {
		const char *nl = memchr(text + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (text + at)) : size - at;
		size_t next = at + len + (nl ? 1 : 0);
		if (len && text[at + len - 1] == '\r')
			len--;
		struct smtpd_command c;
		struct smtpd_refusal why;
		if (smtpd_parse_command(text + at, len, &c, &why)) {
			check_command(&c);
			smtpd_command_free(&c);
		} else {
			check_refusal(&why);
		}
		at = next;
	}
}

/* ---- the data phase ---------------------------------------------------- */

/* RFC 5321: lines end at LF; the end of data is the line ".\r\n" after a
 * line that ended in CRLF; any other line starting with "." loses it.
 * Returns where the data ended (just past it) or size when it did not. */
static size_t model_data(const char *in, size_t size, struct buf *out,
                         bool *ended)
{
	bool after_crlf = true;
	*ended = false;
	for (size_t at = 0; at < size;) {
		const char *nl = memchr(in + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (in + at)) + 1 : size - at;
		const char *line = in + at;
		if (after_crlf && len == 3 && memcmp(line, ".\r\n", 3) == 0) {
			*ended = true;
			return at + 3;
		}
		if (line[0] == '.')
			buf_add(out, line + 1, len - 1);
		else
			buf_add(out, line, len);
		after_crlf = nl && len >= 2 && line[len - 2] == '\r';
		at += len;
	}
	return size;
}

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void sink(void *ctx, const char *d, size_t len)
{
	buf_add(ctx, d, len);
}

static void read_data(const char *text, size_t size)
{
	if (size > 60000) /* one pipe buffer: written before reading */
		return;
	int p[2];
	if (pipe(p) != 0)
		abort();
	if (fd_write_all(p[1], text, size) != 0)
		abort();
	close(p[1]);
	struct smtpd_io *io = xmalloc(sizeof *io);
	smtpd_io_init(io, p[0], -1, 5);
	struct buf got = BUF_INIT, want = BUF_INIT;
	enum smtpd_read r = smtpd_io_read_data(io, sink, &got);
	bool ended;
	size_t end = model_data(text, size, &want, &ended);
	if ((r == SMTPD_READ_LINE) != ended ||
	    (r != SMTPD_READ_LINE && r != SMTPD_READ_EOF))
		abort();
	if (!same(got.data, got.len, want.data, want.len))
		abort();
	/* What follows is the next command, exactly. */
	size_t rest = io->end - io->start;
	struct buf after = BUF_INIT;
	buf_add(&after, io->in + io->start, rest);
	char chunk[4096];
	ssize_t n;
	while ((n = read(p[0], chunk, sizeof chunk)) > 0)
		buf_add(&after, chunk, (size_t)n);
	if (ended && !same(after.data, after.len, text + end, size - end))
		abort();
	buf_free(&after);
	buf_free(&got);
	buf_free(&want);
	smtpd_io_free(io);
	free(io);
	close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_lines((const char *)data, size);
	read_data((const char *)data, size);
	return 0;
}
