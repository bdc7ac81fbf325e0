/* msg_normalize.c - input line endings made CRLF; see msg_normalize.h. */
#include "msg_normalize.h"

#include <string.h>

/* The length of the run of ordinary octets at the start of s (none of
 * LF, CR, NUL): memchr's vectorised scans, not a loop per octet, since
 * every byte of every message passes here. */
static size_t ordinary_run(const char *s, size_t n)
{
	const char *stop = memchr(s, '\n', n);
	size_t run = stop ? (size_t)(stop - s) : n;
	stop = memchr(s, '\r', run);
	run = stop ? (size_t)(stop - s) : run;
	stop = memchr(s, '\0', run);
	return stop ? (size_t)(stop - s) : run;
}

int msg_normalizer_feed(struct msg_normalizer *n, const char *in, size_t len,
                        struct buf *out, struct err *e)
{
	/* One input octet makes at most two output octets, plus the CRLF
	 * of a CR carried over from the previous call. */
	buf_reserve(out, 2 * len + 2);
	char *w = out->data + out->len;
	int rc = EX_OK;
	for (size_t i = 0; i < len; i++) {
		if (!n->pending_cr) {
			size_t run = ordinary_run(in + i, len - i);
			memcpy(w, in + i, run);
			w += run;
			i += run;
			if (i == len)
				break;
		}
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

void msg_normalizer_finish(struct msg_normalizer *n, struct buf *out)
{
	if (n->pending_cr) {
		n->pending_cr = false;
		buf_add(out, "\r\n", 2);
		n->line++;
	}
}
