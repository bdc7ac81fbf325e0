/* smtpd_io.h - the byte streams under outbox -bs (smtpd.h): command lines
 * and message data read with a deadline; replies written in batches.
 *
 * Replies are held until the client has nothing more queued for us to
 * read (RFC 2920 3.1: a pipelining server may batch its replies but must
 * flush before it waits for input), so a pipelined transaction costs one
 * write and an interactive client still sees every reply at once. */
#ifndef OUTBOX_SMTPD_IO_H
#define OUTBOX_SMTPD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define SMTPD_IO_CHUNK (64 * 1024)

struct smtpd_io {
	int in_fd, out_fd;
	int timeout;          /* seconds for each line */
	char in[SMTPD_IO_CHUNK];
	size_t start, end;    /* unread input is in[start..end) */
	bool eof;
	struct buf out;       /* replies not written yet */
	bool write_failed;
};

enum smtpd_read {
	SMTPD_READ_LINE,      /* a line (or, for data, a piece) is ready */
	SMTPD_READ_TOO_LONG,  /* a command line over the limit was skipped */
	SMTPD_READ_EOF,       /* the client closed its end */
	SMTPD_READ_TIMEOUT,
	SMTPD_READ_ERROR,     /* read(2) failed; errno says why */
};

void smtpd_io_init(struct smtpd_io *io, int in_fd, int out_fd, int timeout);
void smtpd_io_free(struct smtpd_io *io);

/* Queue one reply line (CRLF is added). */
void smtpd_io_reply(struct smtpd_io *io, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Write what is queued now. False (and write_failed set) when the client
 * stopped reading. */
bool smtpd_io_flush(struct smtpd_io *io);

/* The next command line, without its CRLF or LF, in *line and *len (valid
 * until the next read). A line longer than max is consumed to its end
 * and reported as SMTPD_READ_TOO_LONG. Flushes the replies before it
 * waits. */
enum smtpd_read smtpd_io_read_line(struct smtpd_io *io, size_t max,
                                   const char **line, size_t *len);

/* Message data after 354, up to and including the end-of-data line:
 * calls sink with the dot-unstuffed content in pieces, until CRLF "."
 * CRLF (then SMTPD_READ_LINE), or EOF, timeout or a read error. Each line
 * must arrive within the timeout. */
typedef void (*smtpd_data_sink)(void *ctx, const char *data, size_t len);
enum smtpd_read smtpd_io_read_data(struct smtpd_io *io, smtpd_data_sink sink,
                                   void *ctx);

#endif
