/* fuzz_msg.c - libFuzzer target for reading a message and producing its
 * wire form: header block and body parsed from a memfd, header edits, the
 * line limit, DKIM-style prepending, and msg_write with and without
 * dot-stuffing. The first input byte selects the edits.
 *
 * Invariants checked (abort() on violation):
 *  - the wire form has CRLF line endings only (security invariant 4);
 *  - dot-stuffed, no line is a lone "." (no premature end of data);
 *  - msg_size equals the bytes msg_write produces without stuffing;
 *  - after a successful msg_enforce_line_limit, no line exceeds 998. */
#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int collect(void *ctx, const char *data, size_t len, struct err *e)
{
	buf_add(ctx, data, len);
	return EX_OK;
}

static void count_body(void *ctx, const char *data, size_t len)
{
	*(size_t *)ctx += len;
}

static void check_wire(const struct buf *w, bool stuffed, bool line_limit)
{
	size_t line_len = 0;
	for (size_t i = 0; i < w->len; i++) {
		char c = w->data[i];
		if (c == '\r' && (i + 1 >= w->len || w->data[i + 1] != '\n'))
			abort();
		if (c == '\n' && (i == 0 || w->data[i - 1] != '\r'))
			abort();
		if (c == '\n') {
			if (line_limit && line_len - 1 > 998)
				abort();
			line_len = 0;
			continue;
		}
		line_len++;
	}
	if (w->len > 0 && (w->len < 2 || w->data[w->len - 1] != '\n'))
		abort();
	if (stuffed && (strncmp(buf_str(w), ".\r\n", 3) == 0 ||
	                strstr(buf_str(w), "\r\n.\r\n")))
		abort();
}

static void exercise(struct message *m, uint8_t flags)
{
	struct err e = ERR_INIT;
	struct addr_list rcpt = {NULL, 0};
	(void)msg_header_recipients(m, &rcpt, &e);
	addr_list_free(&rcpt);
	err_clear(&e);
	free(msg_header_sender(m));
	(void)msg_header_get(m, "Subject");
	(void)msg_header_has_utf8(m);

	struct msg_edits ed;
	memset(&ed, 0, sizeof ed);
	ed.remove_bcc = flags & 1;
	ed.from_header = (enum header_policy)((flags >> 1) % 3);
	ed.date_header = flags & 8 ? HEADER_AUTO : HEADER_OFF;
	ed.msgid_header = flags & 16 ? HEADER_AUTO : HEADER_OFF;
	ed.undisclosed_recipients = flags & 32;
	ed.from_address = "sender@example.org";
	ed.from_full_name = flags & 64 ? "J\xc3\xb6rg \"Q\" User" : NULL;
	ed.msgid_domain = "example.org";
	if (msg_apply_edits(m, &ed, &e) != EX_OK)
		abort(); /* valid inputs: must not fail */
	if (flags & 128)
		msg_prepend_header(m, "DKIM-Signature",
		                   " v=1; a=ed25519-sha256;\r\n\tb=abc\n");

	bool changed = false;
	bool limited = msg_enforce_line_limit(m, &changed, &e) == EX_OK;
	err_clear(&e);

	struct buf plain = BUF_INIT, stuffed = BUF_INIT;
	if (msg_write(m, false, collect, &plain, &e) != EX_OK ||
	    msg_write(m, true, collect, &stuffed, &e) != EX_OK)
		abort();
	if (plain.len != msg_size(m))
		abort();
	check_wire(&plain, false, limited);
	check_wire(&stuffed, true, false);
	buf_free(&plain);
	buf_free(&stuffed);
	err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	int fd = memfd_create("fuzz-msg", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t off = 1;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	struct message *m = NULL;
	struct err e = ERR_INIT;
	size_t body_bytes = 0;
	if (msg_read_header(fd, &m, &e) == EX_OK) {
		if (msg_read_body(m, fd, count_body, &body_bytes, &e) == EX_OK)
			exercise(m, flags);
		msg_free(m);
	}
	err_clear(&e);
	close(fd);
	return 0;
}
