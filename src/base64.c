/* base64.c - base64 through GnuTLS; see base64.h. */
#include "base64.h"

#include <gnutls/gnutls.h>
#include <stdbool.h>

#include "util.h"

/* GnuTLS takes sizes as unsigned int; inputs go to it in pieces of this
 * many bytes (a multiple of 3, so only the last piece is padded) or
 * characters (a multiple of 4). The pieces also bound its temporary
 * copies. */
#define BASE64_ENCODE_PIECE ((size_t)3 * 16384)
#define BASE64_DECODE_PIECE ((size_t)4 * 16384)

/* gnutls_base64_encode2 or gnutls_base64_decode2. */
typedef int base64_convert_fn(const gnutls_datum_t *in, gnutls_datum_t *out);

/* Run convert over data[0..len) in pieces of at most piece bytes and
 * append each result to out. GnuTLS's copies are wiped before they are
 * freed: what is encoded may be a credential (AUTH PLAIN). Returns 0, or
 * GnuTLS's error (out then holds the pieces done so far). */
static int convert_in_pieces(base64_convert_fn *convert, const void *data,
                             size_t len, size_t piece, struct buf *out)
{
	const unsigned char *p = data;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < piece ? len - done : piece;
		const gnutls_datum_t in = {(unsigned char *)p + done,
		                           (unsigned)n};
		gnutls_datum_t result = {NULL, 0};
		int ret = convert(&in, &result);
		if (ret < 0)
			return ret;
		buf_add(out, result.data, result.size);
		secure_zero(result.data, result.size);
		gnutls_free(result.data);
		done += n;
	}
	return 0;
}

void base64_encode(const void *data, size_t len, struct buf *out)
{
	/* One growth of out (the caller may wipe it afterwards; a realloc
	 * in between could leave an unwiped copy behind). */
	buf_reserve(out, (len + 2) / 3 * 4);
	buf_add(out, "", 0);
	/* Its only failure for valid arguments is memory. */
	if (convert_in_pieces(gnutls_base64_encode2, data, len,
	                      BASE64_ENCODE_PIECE, out) < 0)
		die_out_of_memory();
}

int base64_digit_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The canonical form base64.h promises to accept, checked here because
 * GnuTLS's decoder is lenient: it drops line breaks and skips blanks. */
static bool is_canonical(const char *text, size_t len)
{
	if (len % 4 != 0)
		return false;
	size_t pad = 0;
	if (len > 0 && text[len - 1] == '=')
		pad = text[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (base64_digit_value(text[i]) < 0)
			return false;
	/* RFC 4648 3.5: the bits the padding stands for are zero. */
	if (pad == 1 && (base64_digit_value(text[len - 2]) & 3) != 0)
		return false;
	if (pad == 2 && (base64_digit_value(text[len - 3]) & 15) != 0)
		return false;
	return true;
}

int base64_decode(const char *text, size_t len, struct buf *out)
{
	if (!is_canonical(text, len))
		return -1;
	size_t start = out->len;
	buf_reserve(out, len / 4 * 3);
	buf_add(out, "", 0);
	/* Canonical text decodes; should GnuTLS still refuse it (out of
	 * memory), out is put back as the contract says. */
	if (convert_in_pieces(gnutls_base64_decode2, text, len,
	                      BASE64_DECODE_PIECE, out) < 0) {
		secure_zero(out->data + start, out->len - start);
		out->len = start;
		out->data[start] = '\0';
		return -1;
	}
	return 0;
}
