/* msg_spool.c - the body's storage; see msg_spool.h. */
#include "msg_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "msg_limits.h"
#include "tmpfile.h"
#include "util.h"

void msg_spool_init(struct msg_spool *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->fd = -1;
}

void msg_spool_free(struct msg_spool *sp)
{
	buf_free(&sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

/* Any octet >= 0x80 in data: eight at a time (every byte of every
 * message passes here). */
static bool any_8bit(const char *data, size_t len)
{
	uint64_t seen = 0;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t word;
		memcpy(&word, data + i, sizeof word);
		seen |= word;
	}
	for (; i < len; i++)
		seen |= (unsigned char)data[i];
	return (seen & UINT64_C(0x8080808080808080)) != 0;
}

/* Size, 8-bit octets and line lengths, for msg_enforce_line_limit. The
 * data is normalised: lines end with CRLF. */
static void spool_track(struct msg_spool *sp, const char *data, size_t len)
{
	uint64_t line_len = sp->line_len;
	const char *p = data, *end = data + len;
	const char *lf;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		uint64_t before_lf = line_len + (uint64_t)(lf - p);
		uint64_t length = before_lf ? before_lf - 1 : 0; /* the CR */
		sp->lines++;
		if (length > sp->longest)
			sp->longest = length;
		if (length > MSG_MAX_LINE && sp->first_long == 0)
			sp->first_long = sp->lines;
		line_len = 0;
		p = lf + 1;
	}
	sp->line_len = line_len + (uint64_t)(end - p);
	if (!sp->has_8bit)
		sp->has_8bit = any_8bit(data, len);
	sp->size += len;
}

static int spool_open_file(struct msg_spool *sp, struct err *e)
{
	return tmpfile_unnamed(&sp->fd, "the message", e);
}

static int spool_write(struct msg_spool *sp, const char *data, size_t len,
                       struct err *e)
{
	if (fd_write_all(sp->fd, data, len) != 0)
		return err_set(e, EX_IOERR, "cannot write the message to a "
		               "temporary file: %s", strerror(errno));
	return EX_OK;
}

int msg_spool_flush(struct msg_spool *sp, struct err *e)
{
	if (sp->fd < 0 || sp->mem.len == 0)
		return EX_OK;
	int rc = spool_write(sp, sp->mem.data, sp->mem.len, e);
	buf_reset(&sp->mem);
	return rc;
}

/* The body outgrew memory: it moves to the file, and the memory that held
 * it is given back, so a large message does not keep it resident while it
 * is being sent. */
static int spool_move_to_file(struct msg_spool *sp, struct err *e)
{
	int rc = spool_open_file(sp, e);
	if (rc == EX_OK)
		rc = msg_spool_flush(sp, e);
	buf_free(&sp->mem);
	return rc;
}

int msg_spool_append(struct msg_spool *sp, const char *data, size_t len,
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
		int rc = spool_move_to_file(sp, e);
		if (rc != EX_OK)
			return rc;
	}
	/* Small pieces are gathered into chunk-sized writes; once a chunk's
	 * worth is there, what was gathered and this piece go out as they
	 * are (no copy, and the buffer never outgrows one chunk). */
	if (sp->mem.len + len < MSG_WRITE_CHUNK) {
		buf_add(&sp->mem, data, len);
		return EX_OK;
	}
	int rc = msg_spool_flush(sp, e);
	if (rc == EX_OK)
		rc = spool_write(sp, data, len, e);
	return rc;
}

/* Pass the whole spool to fn in pieces of at most MSG_READ_CHUNK (when on
 * file) or at once (in memory). pread keeps this free of file offsets. */
int msg_spool_foreach(const struct msg_spool *sp, msg_chunk_fn fn, void *ctx,
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
