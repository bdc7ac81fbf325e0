/* smtpd_io.c - reading and writing for outbox -bs; see smtpd_io.h. */
#include "smtpd_io.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void smtpd_io_init(struct smtpd_io *io, int in_fd, int out_fd, int timeout)
{
	io->in_fd = in_fd;
	io->out_fd = out_fd;
	io->timeout = timeout;
	io->start = io->end = 0;
	io->eof = false;
	io->out = (struct buf)BUF_INIT;
	io->write_failed = false;
}

void smtpd_io_free(struct smtpd_io *io)
{
	buf_free(&io->out);
}

void smtpd_io_reply(struct smtpd_io *io, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&io->out, fmt, ap);
	va_end(ap);
	buf_add(&io->out, "\r\n", 2);
}

bool smtpd_io_flush(struct smtpd_io *io)
{
	if (io->out.len == 0 || io->write_failed)
		return !io->write_failed;
	if (fd_write_all(io->out_fd, io->out.data, io->out.len) != 0)
		io->write_failed = true;
	buf_reset(&io->out);
	return !io->write_failed;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move unread input to the front and read more, waiting until deadline.
 * Replies are flushed first: the client may be waiting for them. */
static enum smtpd_read fill(struct smtpd_io *io, int64_t deadline)
{
	if (io->eof)
		return SMTPD_READ_EOF;
	if (!smtpd_io_flush(io))
		return SMTPD_READ_ERROR;
	if (io->start > 0) {
		memmove(io->in, io->in + io->start, io->end - io->start);
		io->end -= io->start;
		io->start = 0;
	}
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return SMTPD_READ_TIMEOUT;
		struct pollfd p = {.fd = io->in_fd, .events = POLLIN};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return SMTPD_READ_ERROR;
		if (r == 0)
			continue;
		ssize_t n = read(io->in_fd, io->in + io->end,
		                 sizeof io->in - io->end);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return SMTPD_READ_ERROR;
		if (n == 0) {
			io->eof = true;
			return SMTPD_READ_EOF;
		}
		io->end += (size_t)n;
		return SMTPD_READ_LINE;
	}
}

/* Skip the rest of an overlong line, to its LF. */
static enum smtpd_read skip_line(struct smtpd_io *io, int64_t deadline)
{
	for (;;) {
		char *lf = memchr(io->in + io->start, '\n', io->end - io->start);
		if (lf) {
			io->start = (size_t)(lf - io->in) + 1;
			return SMTPD_READ_TOO_LONG;
		}
		io->start = io->end;
		enum smtpd_read r = fill(io, deadline);
		if (r != SMTPD_READ_LINE)
			return r;
	}
}

enum smtpd_read smtpd_io_read_line(struct smtpd_io *io, size_t max,
                                   const char **line, size_t *len)
{
	int64_t deadline = now_ms() + (int64_t)io->timeout * 1000;
	for (;;) {
		char *base = io->in + io->start;
		size_t avail = io->end - io->start;
		char *lf = memchr(base, '\n', avail);
		if (lf) {
			size_t n = (size_t)(lf - base);
			io->start += n + 1;
			if (n > 0 && base[n - 1] == '\r')
				n--;
			if (n > max)
				return SMTPD_READ_TOO_LONG;
			*line = base;
			*len = n;
			return SMTPD_READ_LINE;
		}
		if (avail > max + 1)
			return skip_line(io, deadline);
		enum smtpd_read r = fill(io, deadline);
		if (r == SMTPD_READ_EOF && io->end > io->start) {
			/* A last line without a line ending still counts. */
			*line = io->in + io->start;
			*len = io->end - io->start;
			io->start = io->end;
			return SMTPD_READ_LINE;
		}
		if (r != SMTPD_READ_LINE)
			return r;
	}
}

/* Where the data reader is within the current line. */
struct data_state {
	bool line_start;  /* at the first byte of a line */
	bool after_crlf;  /* the previous line ended in CRLF (or was DATA) */
	bool last_cr;     /* the last byte passed on was CR */
};

/* At a line start with at least three bytes (or EOF) available: is this
 * the end of the data? Otherwise drop a leading dot (RFC 5321 4.5.2). */
static bool line_start(struct smtpd_io *io, struct data_state *st)
{
	const char *p = io->in + io->start;
	size_t avail = io->end - io->start;
	st->line_start = false;
	if (avail == 0 || p[0] != '.')
		return false;
	if (st->after_crlf && avail >= 3 && p[1] == '\r' && p[2] == '\n') {
		io->start += 3;
		return true;
	}
	io->start++;
	return false;
}

/* Pass on the rest of the current line (or all there is of it). */
static void line_rest(struct smtpd_io *io, struct data_state *st,
                      smtpd_data_sink sink, void *ctx)
{
	const char *p = io->in + io->start;
	size_t avail = io->end - io->start;
	const char *lf = memchr(p, '\n', avail);
	size_t n = lf ? (size_t)(lf - p) + 1 : avail;
	if (n == 0)
		return;
	sink(ctx, p, n);
	if (lf) {
		st->after_crlf = n >= 2 ? p[n - 2] == '\r' : st->last_cr;
		st->line_start = true;
		st->last_cr = false;
	} else {
		st->last_cr = p[n - 1] == '\r';
	}
	io->start += n;
}

enum smtpd_read smtpd_io_read_data(struct smtpd_io *io, smtpd_data_sink sink,
                                   void *ctx)
{
	struct data_state st = {true, true, false};
	int64_t deadline = now_ms() + (int64_t)io->timeout * 1000;
	for (;;) {
		size_t avail = io->end - io->start;
		bool need_more = avail == 0 ||
		                 (st.line_start && avail < 3 && !io->eof &&
		                  io->in[io->start] == '.');
		if (need_more) {
			enum smtpd_read r = fill(io, deadline);
			if (r != SMTPD_READ_LINE && !(r == SMTPD_READ_EOF &&
			                              io->end > io->start))
				return r;
			continue;
		}
		if (st.line_start) {
			deadline = now_ms() + (int64_t)io->timeout * 1000;
			if (line_start(io, &st))
				return SMTPD_READ_LINE;
		}
		line_rest(io, &st, sink, ctx);
	}
}
