/* fuzz_scram.c - libFuzzer target for the SCRAM client (RFC 5802,
 * RFC 7677) against what a server sends.
 *
 * Input: the server-first message, then (after the first LF) the
 * server-final message. Both run against SCRAM-SHA-1 and SCRAM-SHA-256,
 * as user "user" with password "pencil" and a fixed client nonce: the one
 * of RFC 7677's example when the server's r= starts with it, else RFC
 * 5802's, so the RFC exchanges in the seeds go all the way.
 *
 * Iteration counts: an i= above FUZZ_MAX_ITERATIONS but within
 * SASL_MAX_SCRAM_ITERATIONS is skipped (a million rounds of PBKDF2 would
 * make each run last a second); larger ones are kept, since refusing them
 * is cheap and part of the contract.
 *
 * Invariants checked (abort() on violation):
 *  - client-first is "n,,n=user,r=NONCE";
 *  - client-final fails only with EX_PROTOCOL and a message; when it
 *    succeeds it is "c=biws,r=R,p=P" where R is the server's nonce, which
 *    extends ours, and P is the client proof, equal to the one computed
 *    here independently from RFC 5802 section 3 with GnuTLS;
 *  - the server signature computed here verifies, and so does any
 *    server-final that carries it in its first v= (and no e=); anything
 *    else, or any server-final after a failed client-final, fails with
 *    EX_NOPERM and a message free of control bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ITERATIONS 4096 /* the RFC examples' count */
#define RFC5802_NONCE "fyko+d2lbbFgONRv9qkxdawL"
#define RFC7677_NONCE "rOprNGfwEbeRWgbNEkqO"

/* The first attribute `name=` of a SCRAM message (RFC 5802 section 5). */
static bool attr(const char *msg, size_t len, char name, const char **val,
                 size_t *val_len)
{
	for (size_t i = 0; i < len;) {
		const char *comma = memchr(msg + i, ',', len - i);
		size_t end = comma ? (size_t)(comma - msg) : len;
		if (end - i >= 2 && msg[i] == name && msg[i + 1] == '=') {
			*val = msg + i + 2;
			*val_len = end - i - 2;
			return true;
		}
		i = end + 1;
	}
	return false;
}

/* An iteration count too slow to fuzz, but one the client would accept. */
static bool too_slow(const char *first, size_t len)
{
	const char *v;
	size_t n;
	if (!attr(first, len, 'i', &v, &n) || n == 0 || n > 9)
		return false;
	long count = 0;
	for (size_t k = 0; k < n; k++) {
		if (v[k] < '0' || v[k] > '9')
			return false;
		count = count * 10 + (v[k] - '0');
	}
	return count > FUZZ_MAX_ITERATIONS &&
	       count <= SASL_MAX_SCRAM_ITERATIONS;
}

static void check_message(const struct err *e)
{
	const char *msg = err_msg(e);
	if (!*msg)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

/* RFC 5802 section 3, written out again: the client proof and the server
 * signature for this exchange. */
static void expected_keys(bool sha256, const char *first_bare,
                          const char *server_first, size_t first_len,
                          const char *without_proof, unsigned char *proof,
                          unsigned char *server_signature)
{
	gnutls_mac_algorithm_t mac = sha256 ? GNUTLS_MAC_SHA256
	                                    : GNUTLS_MAC_SHA1;
	gnutls_digest_algorithm_t dig = sha256 ? GNUTLS_DIG_SHA256
	                                       : GNUTLS_DIG_SHA1;
	size_t h = sha256 ? 32 : 20;
	const char *s, *i;
	size_t s_len, i_len;
	struct buf salt = BUF_INIT, auth_message = BUF_INIT;
	if (!attr(server_first, first_len, 's', &s, &s_len) ||
	    !attr(server_first, first_len, 'i', &i, &i_len) ||
	    base64_decode(s, s_len, &salt) != 0)
		abort(); /* the client accepted what we cannot read */
	unsigned iterations = 0;
	for (size_t k = 0; k < i_len; k++)
		iterations = iterations * 10 + (unsigned)(i[k] - '0');
	buf_printf(&auth_message, "%s,", first_bare);
	buf_add(&auth_message, server_first, first_len);
	buf_printf(&auth_message, ",%s", without_proof);

	unsigned char salted[32], client_key[32], stored_key[32],
	        signature[32], server_key[32];
	gnutls_datum_t key = {(unsigned char *)"pencil", 6};
	gnutls_datum_t salt_d = {(unsigned char *)salt.data,
	                         (unsigned)salt.len};
	if (gnutls_pbkdf2(mac, &key, &salt_d, iterations, salted, h) != 0 ||
	    gnutls_hmac_fast(mac, salted, h, "Client Key", 10, client_key) ||
	    gnutls_hash_fast(dig, client_key, h, stored_key) ||
	    gnutls_hmac_fast(mac, stored_key, h, auth_message.data,
	                     auth_message.len, signature) ||
	    gnutls_hmac_fast(mac, salted, h, "Server Key", 10, server_key) ||
	    gnutls_hmac_fast(mac, server_key, h, auth_message.data,
	                     auth_message.len, server_signature))
		abort();
	for (size_t k = 0; k < h; k++)
		proof[k] = client_key[k] ^ signature[k];
	buf_free(&salt);
	buf_free(&auth_message);
}

/* Does the server-final carry this signature (and no error)? */
static bool final_verifies(const char *final, size_t len,
                           const unsigned char *signature, size_t h)
{
	const char *v;
	size_t v_len;
	struct buf got = BUF_INIT;
	bool ok = !attr(final, len, 'e', &v, &v_len) &&
	          attr(final, len, 'v', &v, &v_len) &&
	          base64_decode(v, v_len, &got) == 0 && got.len == h &&
	          memcmp(got.data, signature, h) == 0;
	buf_free(&got);
	return ok;
}

static void exchange(bool sha256, const char *first, size_t first_len,
                     const char *final, size_t final_len)
{
	const char *r;
	size_t r_len;
	bool has_r = attr(first, first_len, 'r', &r, &r_len);
	const char *nonce = RFC5802_NONCE;
	size_t nonce_len = strlen(RFC7677_NONCE);
	if (has_r && r_len >= nonce_len &&
	    memcmp(r, RFC7677_NONCE, nonce_len) == 0)
		nonce = RFC7677_NONCE;
	nonce_len = strlen(nonce);
	size_t h = sha256 ? 32 : 20;

	struct sasl_scram *st = sasl_scram_new(sha256);
	struct buf out = BUF_INIT, bare = BUF_INIT, without = BUF_INIT;
	struct err e = ERR_INIT;
	if (sasl_scram_client_first(st, "user", nonce, &out, &e) != EX_OK)
		abort();
	buf_printf(&bare, "n=user,r=%s", nonce);
	if (strncmp(buf_str(&out), "n,,", 3) != 0 ||
	    strcmp(buf_str(&out) + 3, buf_str(&bare)) != 0)
		abort();

	buf_reset(&out);
	int rc = sasl_scram_client_final(st, "pencil", first, first_len, &out,
	                                 &e);
	bool have_signature = rc == EX_OK;
	unsigned char proof[32], signature[32];
	if (rc != EX_OK) {
		if (rc != EX_PROTOCOL || out.len != 0)
			abort();
		check_message(&e);
	} else {
		/* c=biws,r=<the server's nonce, extending ours>,p=<proof> */
		if (!has_r || r_len <= nonce_len || memcmp(r, nonce, nonce_len))
			abort();
		buf_add_str(&without, "c=biws,r=");
		buf_add(&without, r, r_len);
		const char *text = buf_str(&out);
		if (strncmp(text, buf_str(&without), without.len) != 0 ||
		    strncmp(text + without.len, ",p=", 3) != 0)
			abort();
		struct buf got = BUF_INIT;
		const char *p = text + without.len + 3;
		expected_keys(sha256, buf_str(&bare), first, first_len,
		              buf_str(&without), proof, signature);
		if (base64_decode(p, strlen(p), &got) != 0 ||
		    got.len != h || memcmp(got.data, proof, h) != 0)
			abort();
		buf_free(&got);
		/* the right signature verifies */
		struct buf v = BUF_INIT;
		buf_add_str(&v, "v=");
		base64_encode(signature, h, &v);
		if (sasl_scram_check_server_final(st, v.data, v.len, &e) !=
		    EX_OK)
			abort();
		buf_free(&v);
	}
	err_clear(&e);

	rc = sasl_scram_check_server_final(st, final, final_len, &e);
	bool want_ok = have_signature &&
	               final_verifies(final, final_len, signature, h);
	if ((rc == EX_OK) != want_ok)
		abort();
	if (rc != EX_OK) {
		if (rc != EX_NOPERM ||
		    strlen(err_msg(&e)) > SASL_MAX_SHOWN_TEXT + 128)
			abort();
		check_message(&e);
	}
	sasl_scram_free(st);
	buf_free(&out);
	buf_free(&bare);
	buf_free(&without);
	err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t first_len = nl ? (size_t)(nl - text) : size;
	const char *final = nl ? nl + 1 : text + size;
	size_t final_len = size - first_len - (nl ? 1 : 0);
	if (too_slow(text, first_len))
		return 0;
	exchange(false, text, first_len, final, final_len);
	exchange(true, text, first_len, final, final_len);
	return 0;
}
