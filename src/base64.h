/* base64.h - RFC 4648 section 4 base64, the one codec of the tree: SASL
 * (RFC 4954), DKIM's bh= and b= (RFC 6376 3.5), the DKIM key record's p=
 * and RFC 2047 encoded words all go through here.
 *
 * The conversion is GnuTLS's (gnutls_base64_encode2/_decode2). This
 * wrapper fixes what callers rely on and GnuTLS leaves open: the output is
 * appended to a struct buf, never broken into lines, and decoding accepts
 * only the canonical encoding (GnuTLS skips blanks and line breaks). */
#ifndef OUTBOX_BASE64_H
#define OUTBOX_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Append base64 of data[0..len) to out: padded with '=', no line breaks,
 * (len + 2) / 3 * 4 characters (none for len 0). out is NUL-terminated
 * afterwards, also when nothing was added. Allocation failure exits
 * (util.h). */
void base64_encode(const void *data, size_t len, struct buf *out);

/* Decode text[0..len) and append the bytes to out. Only canonical base64
 * is accepted: a multiple of 4 characters of the RFC 4648 alphabet, '='
 * only as one or two final padding characters, and the bits the padding
 * stands for zero (RFC 4648 3.5), so every byte string has exactly one
 * encoding; no blanks, no line breaks. "" decodes to nothing. Returns 0
 * (out NUL-terminated), or -1 with out unchanged. */
int base64_decode(const char *text, size_t len, struct buf *out);

/* The value of a base64 digit (RFC 4648 table 1), or -1 for anything
 * else, '=' included. Pure. */
int base64_digit_value(char c);

#endif
