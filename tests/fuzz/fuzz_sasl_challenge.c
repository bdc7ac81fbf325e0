/* fuzz_sasl_challenge.c - libFuzzer target for the challenges a server
 * sends in 334 replies, as the client decodes and answers them.
 *
 * The input is a 334 reply's text. It goes through sasl_decode_challenge
 * (first line, trailing spaces dropped, base64); the decoded bytes, or the
 * raw input when it is not base64, are answered as a CRAM-MD5 challenge
 * and described as an XOAUTH2/OAUTHBEARER error status. The raw input is
 * also decoded with base64_decode and encoded with base64_encode (GnuTLS's
 * codec behind base64.c's strict check).
 *
 * Invariants checked (abort() on violation):
 *  - base64 is canonical both ways: what decodes re-encodes to the same
 *    text (so nothing GnuTLS alone would tolerate, blanks or line breaks,
 *    gets through), and every encoding decodes back to its bytes; a
 *    refused decode leaves the output buffer as it was;
 *  - sasl_decode_challenge decodes exactly the first line without its
 *    trailing spaces;
 *  - the CRAM-MD5 answer is "user " and 32 lower-case hex digits, the same
 *    for the same challenge;
 *  - the OAuth status description holds printable ASCII only and is
 *    bounded by SASL_MAX_SHOWN_TEXT; printable text that fits is shown
 *    unchanged. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "kept"

static void check_base64(const char *text, size_t len)
{
	/* Decoding appends; a refusal leaves what was there. */
	struct buf out = BUF_INIT, again = BUF_INIT;
	buf_add_str(&out, PREFIX);
	if (base64_decode(text, len, &out) == 0) {
		base64_encode(out.data + strlen(PREFIX),
		                   out.len - strlen(PREFIX), &again);
		if (again.len != len || memcmp(again.data, text, len) != 0)
			abort();
	} else if (strcmp(buf_str(&out), PREFIX) != 0 ||
	           out.len != strlen(PREFIX)) {
		abort();
	}
	buf_free(&out);
	buf_free(&again);

	/* Any bytes encode to text that decodes back to them. */
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	base64_encode(text, len, &enc);
	if (enc.len != (len + 2) / 3 * 4 ||
	    base64_decode(enc.data, enc.len, &dec) != 0 ||
	    dec.len != len || (len && memcmp(dec.data, text, len) != 0))
		abort();
	buf_free(&enc);
	buf_free(&dec);
}

static void check_decode_challenge(const char *text, size_t len,
                                   struct buf *challenge, bool *decoded)
{
	size_t line = len;
	const char *nl = memchr(text, '\n', len);
	if (nl)
		line = (size_t)(nl - text);
	while (line && text[line - 1] == ' ')
		line--;
	struct buf direct = BUF_INIT;
	int want = base64_decode(text, line, &direct);
	*decoded = sasl_decode_challenge(text, len, challenge) == 0;
	if (*decoded != (want == 0) ||
	    (*decoded && (challenge->len != direct.len ||
	                  memcmp(buf_str(challenge), buf_str(&direct),
	                         direct.len) != 0)) ||
	    (!*decoded && challenge->len != 0))
		abort();
	buf_free(&direct);
}

static void check_cram_md5(const char *challenge, size_t len)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	sasl_cram_md5_message("tim", "tanstaaftanstaaf", challenge, len, &a);
	sasl_cram_md5_message("tim", "tanstaaftanstaaf", challenge, len, &b);
	if (a.len != 4 + 32 || strncmp(a.data, "tim ", 4) != 0 ||
	    strcmp(a.data, b.data) != 0)
		abort();
	for (size_t i = 4; i < a.len; i++)
		if (!((a.data[i] >= '0' && a.data[i] <= '9') ||
		      (a.data[i] >= 'a' && a.data[i] <= 'f')))
			abort();
	buf_free(&a);
	buf_free(&b);
}

static void check_oauth_status(const char *status, size_t len)
{
	struct buf out = BUF_INIT;
	buf_add_str(&out, "(");
	sasl_describe_oauth_status(status, len, &out);
	if (strlen(buf_str(&out)) != out.len ||
	    out.len > 1 + SASL_MAX_SHOWN_TEXT + 40)
		abort();
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] < 0x20 || out.data[i] >= 0x7f)
			abort();
	bool printable = len <= SASL_MAX_SHOWN_TEXT;
	for (size_t i = 0; printable && i < len; i++)
		printable = status[i] >= 0x20 && status[i] < 0x7f;
	if (printable && (out.len != len + 1 ||
	                  memcmp(out.data + 1, status, len) != 0))
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	check_base64(text, size);
	struct buf challenge = BUF_INIT;
	bool decoded;
	check_decode_challenge(text, size, &challenge, &decoded);
	const char *bytes = decoded ? challenge.data : text;
	size_t len = decoded ? challenge.len : size;
	check_cram_md5(bytes ? bytes : "", len);
	check_oauth_status(bytes ? bytes : "", len);
	buf_free(&challenge);
	return 0;
}
