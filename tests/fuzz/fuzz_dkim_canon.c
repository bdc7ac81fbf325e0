/* fuzz_dkim_canon.c - differential fuzzing of the DKIM canonicalisers.
 *
 * Input: byte 0 picks the algorithm, bytes 1..3 pick where the body is cut
 * into pieces, the rest is the body. The streaming canonicaliser must give
 * the same bytes whole, in the chosen pieces, one byte at a time, and as a
 * naive whole-buffer reference written from RFC 6376 3.4.3/3.4.4. The same
 * input as a header value must canonicalise to a field without CR, LF (but
 * the final CRLF), TAB or doubled SP (relaxed). The value checkers must not
 * crash. Any difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "dkim_canon.h"
#include "util.h"

static void collect(void *ctx, const char *data, size_t len)
{
	buf_add(ctx, data, len);
}

static void canon_pieces(enum dkim_canon alg, const char *in, size_t len,
                         const size_t *cuts, size_t ncuts, struct buf *out)
{
	static struct dkim_body_canon c;
	dkim_body_canon_init(&c, alg, collect, out);
	size_t at = 0;
	for (size_t i = 0; i < ncuts; i++) {
		dkim_body_canon_update(&c, in + at, cuts[i] - at);
		at = cuts[i];
	}
	dkim_body_canon_update(&c, in + at, len - at);
	dkim_body_canon_finish(&c);
}

static void reference_canon(enum dkim_canon alg, const char *in, size_t len,
                            struct buf *out)
{
	size_t keep = out->len, start = 0;
	while (start < len) {
		size_t end = start;
		while (end < len && !(in[end] == '\r' && end + 1 < len &&
		                      in[end + 1] == '\n'))
			end++;
		size_t before = out->len;
		for (size_t i = start; i < end; i++) {
			bool w = in[i] == ' ' || in[i] == '\t';
			if (alg == DKIM_CANON_RELAXED && w) {
				if (out->len > before &&
				    out->data[out->len - 1] == ' ')
					continue;
				buf_add_char(out, ' ');
			} else {
				buf_add_char(out, in[i]);
			}
		}
		if (alg == DKIM_CANON_RELAXED && out->len > before &&
		    out->data[out->len - 1] == ' ')
			out->len--;
		bool empty = out->len == before;
		buf_add(out, "\r\n", 2);
		if (!empty)
			keep = out->len;
		start = end + 2;
	}
	out->len = keep;
	if (alg == DKIM_CANON_SIMPLE && out->len == 0)
		buf_add(out, "\r\n", 2);
}

static void same_or_abort(const struct buf *a, const struct buf *b)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
		abort();
}

static void check_header(const char *in, size_t len)
{
	struct buf simple = BUF_INIT, relaxed = BUF_INIT;
	dkim_header_canon(DKIM_CANON_SIMPLE, "X-Fuzz", 6, in, len, &simple);
	dkim_header_canon(DKIM_CANON_RELAXED, "X-Fuzz ", 7, in, len,
	                  &relaxed);
	if (simple.len != 7 + len + 2 || memcmp(simple.data + 7, in, len))
		abort();
	if (relaxed.len < 9 || memcmp(relaxed.data, "x-fuzz:", 7))
		abort();
	const char *v = relaxed.data + 7;
	size_t vlen = relaxed.len - 7 - 2;
	if (memcmp(v + vlen, "\r\n", 2))
		abort();
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\t')
			abort();
		if (v[i] == ' ' && (i == 0 || i + 1 == vlen || v[i + 1] == ' '))
			abort();
	}
	buf_free(&simple);
	buf_free(&relaxed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	enum dkim_canon alg = data[0] & 1 ? DKIM_CANON_RELAXED :
	                                    DKIM_CANON_SIMPLE;
	const char *in = (const char *)data + 4;
	size_t len = size - 4;
	size_t cuts[3], ncuts = 0;
	for (int i = 1; i <= 3; i++) {
		size_t at = len ? data[i] % (len + 1) : 0;
		if (ncuts && at < cuts[ncuts - 1])
			at = cuts[ncuts - 1];
		cuts[ncuts++] = at;
	}
	struct buf whole = BUF_INIT, pieces = BUF_INIT, ref = BUF_INIT;
	canon_pieces(alg, in, len, NULL, 0, &whole);
	canon_pieces(alg, in, len, cuts, ncuts, &pieces);
	reference_canon(alg, in, len, &ref);
	same_or_abort(&whole, &pieces);
	same_or_abort(&whole, &ref);
	if (len <= 4096) {
		size_t *every = xcalloc(len + 1, sizeof *every);
		for (size_t i = 0; i < len; i++)
			every[i] = i;
		struct buf bytes = BUF_INIT;
		canon_pieces(alg, in, len, every, len, &bytes);
		same_or_abort(&whole, &bytes);
		buf_free(&bytes);
		free(every);
	}
	buf_free(&whole);
	buf_free(&pieces);
	buf_free(&ref);

	check_header(in, len);

	/* The value checkers and encoders on the text as a C string. */
	char *text = xstrndup(in, len);
	enum dkim_canon h, b;
	(void)dkim_canon_parse(text, &h, &b);
	(void)dkim_valid_selector(text);
	(void)dkim_valid_domain(text);
	(void)dkim_valid_field_name(text, strlen(text), 255);
	(void)dkim_domain_within(text, "example.org");
	struct buf enc = BUF_INIT;
	dkim_qp_encode(text, &enc);
	base64_encode(data, size, &enc);
	buf_free(&enc);
	free(text);
	return 0;
}
