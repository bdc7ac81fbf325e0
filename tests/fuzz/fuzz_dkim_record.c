/* fuzz_dkim_record.c - libFuzzer target for DKIM key records
 * (dkim_record_parse) and the tag-list syntax they share with DMARC
 * (dkim_tag_list_read).
 *
 * The first byte picks what the rest is:
 *  0  a whole record, as DNS would hand it over;
 *  1  an RSA key: edits (offset, value pairs, then a length) applied to
 *     the SubjectPublicKeyInfo of RFC 6376 appendix C's 1024-bit example
 *     key, or (odd second byte) to the bare RSAPublicKey inside it,
 *     published as "v=DKIM1; k=rsa; p=BASE64" with white space folded
 *     into p=, so that the DER decoding sees damaged keys rather than
 *     random bytes;
 *  2  an Ed25519 record whose p= is the base64 of the bytes.
 * Invariants checked (abort() on violation):
 *  - the tag-list reader: a list is read or refused the same way twice,
 *    tag names are ALPHA *(ALPHA / DIGIT / "_"), values hold no ";" and
 *    neither begin nor end with white space, duplicates are reported
 *    exactly when two names are equal;
 *  - an accepted record: k in range; RSA: bits > 0 exactly when p_len >
 *    0, bits at most 8 * p_len; Ed25519: p_len 0 or 32, bits 256 exactly
 *    when p_len is 32; unknown: bits 0; h= and s= free of white space and
 *    control characters; the same p= alone in a record parses to the same
 *    key and size (garbage SPKI never crashes, never half-succeeds);
 *  - a refusal: EX_DATAERR with a clean, bounded message and an empty
 *    record. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "dkim_record.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 6376 appendix C: the example key's SubjectPublicKeyInfo. */
static const char example_key[] =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkM"
    "oGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/R"
    "tdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToI"
    "MmPSPDdQPNUYckcQ2QIDAQAB";
/* where the RSAPublicKey begins in it: 3 + 15 + 3 + 1 */
#define EXAMPLE_BARE_AT 22

static void check_message(const struct err *e)
{
	const char *msg = err_msg(e);
	if (e->code != EX_DATAERR || !*msg || strlen(msg) > 512)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static bool name_char(char c, bool first)
{
	bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return alpha || (!first && ((c >= '0' && c <= '9') || c == '_'));
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_tag_list(const char *text, size_t len)
{
	struct dkim_tag *tags, *again;
	size_t count, where, count2, where2;
	int rc = dkim_tag_list_read(text, len, false, &tags, &count, &where);
	int rc2 =
	    dkim_tag_list_read(text, len, false, &again, &count2, &where2);
	if (rc != rc2 || count != count2 || where != where2)
		abort();
	free(again);
	if (rc == -1) {
		if (tags || count || where > len)
			abort();
		return;
	}
	bool twice = false;
	for (size_t i = 0; i < count; i++) {
		const struct dkim_tag *t = &tags[i];
		if (t->name_len == 0 || t->name < text ||
		    t->value + t->value_len > text + len)
			abort();
		for (size_t j = 0; j < t->name_len; j++)
			if (!name_char(t->name[j], j == 0))
				abort();
		if (memchr(t->value, ';', t->value_len) ||
		    (t->value_len &&
		     (space(t->value[0]) || space(t->value[t->value_len - 1]))))
			abort();
		for (size_t j = 0; j < i && !twice; j++)
			twice = tags[j].name_len == t->name_len &&
			        memcmp(tags[j].name, t->name, t->name_len) == 0;
	}
	if (twice != (rc == -2) || (rc == -2 && where >= count))
		abort();
	free(tags);
}

static void check_words(const char *w)
{
	if (w && !*w)
		abort();
	for (; w && *w; w++)
		if ((unsigned char)*w <= 0x20 || (unsigned char)*w >= 0x7f ||
		    *w == ';')
			abort();
}

/* The accepted record r's p= alone, as k=K; p=BASE64: the same result. */
static void check_reparse(const struct dkim_record *r)
{
	static const char *const types[] = {"rsa", "ed25519", "x-other"};
	struct buf text = BUF_INIT;
	buf_printf(&text, "k=%s; p=", types[r->k]);
	base64_encode(r->p, r->p_len, &text);
	struct dkim_record again;
	struct err e = ERR_INIT;
	if (dkim_record_parse(text.data, text.len, &again, &e) != EX_OK ||
	    again.k != r->k || again.bits != r->bits ||
	    again.p_len != r->p_len ||
	    (r->p_len && memcmp(again.p, r->p, r->p_len) != 0))
		abort();
	dkim_record_free(&again);
	buf_free(&text);
}

static void check_record(const char *text, size_t len)
{
	check_tag_list(text, len);
	struct dkim_record r;
	struct err e = ERR_INIT;
	int rc = dkim_record_parse(text, len, &r, &e);
	if (rc != EX_OK) {
		check_message(&e);
		if (r.p || r.p_len || r.h || r.s || r.bits ||
		    r.k != DKIM_RECORD_RSA)
			abort();
		err_clear(&e);
		return;
	}
	if (!r.p != (r.p_len == 0))
		abort();
	switch (r.k) {
	case DKIM_RECORD_RSA:
		if ((r.bits > 0) != (r.p_len > 0) || r.bits > 8 * r.p_len)
			abort();
		break;
	case DKIM_RECORD_ED25519:
		if ((r.p_len != 0 && r.p_len != DKIM_RECORD_ED25519_LEN) ||
		    r.bits != (r.p_len ? 256u : 0u))
			abort();
		break;
	case DKIM_RECORD_UNKNOWN:
		if (r.bits != 0)
			abort();
		break;
	default:
		abort();
	}
	check_words(r.h);
	check_words(r.s);
	check_reparse(&r);
	dkim_record_free(&r);
}

/* Mode 1: the example key, edited. */
static void damaged_rsa(const uint8_t *data, size_t size)
{
	struct buf der = BUF_INIT, text = BUF_INIT;
	if (base64_decode(example_key, strlen(example_key), &der) != 0)
		abort();
	size_t skip = size > 0 && (data[0] & 1) ? EXAMPLE_BARE_AT : 0;
	unsigned char *key = (unsigned char *)der.data + skip;
	size_t key_len = der.len - skip;
	size_t i = 1;
	for (; i + 1 < size && i < 64; i += 2)
		key[data[i] % key_len] = data[i + 1];
	/* then a new length: cut short, or longer with the remaining bytes */
	if (i < size) {
		size_t want = data[i++] * key_len / 128;
		if (want <= key_len) {
			key_len = want;
		} else {
			der.len = skip + key_len;
			buf_add(&der, data + i, size - i);
			key = (unsigned char *)der.data + skip;
			key_len = der.len - skip;
		}
	}
	struct buf b64 = BUF_INIT;
	base64_encode(key, key_len, &b64);
	buf_add_str(&text, "v=DKIM1; k=rsa; p=");
	for (size_t j = 0; j < b64.len; j++) {
		if (j && j % 60 == 0)
			buf_add_str(&text, "\r\n\t");
		buf_add_char(&text, b64.data[j]);
	}
	check_record(text.data, text.len);
	buf_free(&b64);
	buf_free(&text);
	buf_free(&der);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *rest = data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		check_record((const char *)rest, len);
		break;
	case 1:
		damaged_rsa(rest, len);
		break;
	default: {
		struct buf text = BUF_INIT;
		buf_add_str(&text, "v=DKIM1; k=ed25519; p=");
		base64_encode(rest, len, &text);
		check_record(text.data, text.len);
		buf_free(&text);
	}
	}
	return 0;
}
