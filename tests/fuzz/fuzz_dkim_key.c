/* fuzz_dkim_key.c - libFuzzer target for DKIM private key parsing
 * (dkim_key_parse, the pure part of dkim_key_load).
 *
 * The input is the contents of a key file: PEM or DER, PKCS#1 or PKCS#8,
 * RSA or Ed25519 in the seeds, and whatever the mutations make of them.
 *
 * Invariants checked (abort() on violation):
 *  - a refusal is EX_CONFIG (EX_SOFTWARE only if GnuTLS cannot allocate)
 *    with a message that names the file and holds no control byte, and
 *    leaves no key behind;
 *  - an accepted key is RSA of at least DKIM_RSA_MIN_BITS bits or
 *    Ed25519, with the matching a= and k= names, not marked readable by
 *    others, and usable: it signs a digest the way dkim.c does, and the
 *    signature verifies with its public key. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "dkim.h"
#include "dkim_key.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "/etc/outbox/fuzz.pem"

static void check_usable(const struct dkim_key *key)
{
	static const unsigned char digest[32] = "a digest of 32 bytes, more or";
	gnutls_datum_t hash = {(unsigned char *)digest, sizeof digest};
	gnutls_datum_t sig = {NULL, 0};
	bool rsa = key->type == DKIM_KEY_RSA;
	gnutls_sign_algorithm_t algo = rsa ? GNUTLS_SIGN_RSA_SHA256
	                                   : GNUTLS_SIGN_EDDSA_ED25519;
	/* as dkim.c signs: RSA over the digest, Ed25519 over its bytes */
	int ret = rsa ? gnutls_privkey_sign_hash2(key->privkey, algo, 0, &hash,
	                                          &sig)
	              : gnutls_privkey_sign_data2(key->privkey, algo, 0, &hash,
	                                          &sig);
	if (ret < 0)
		abort();
	gnutls_pubkey_t pub = NULL;
	if (gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_privkey(pub, key->privkey, 0, 0) < 0)
		abort();
	ret = rsa ? gnutls_pubkey_verify_hash2(pub, algo, 0, &hash, &sig)
	          : gnutls_pubkey_verify_data2(pub, algo, 0, &hash, &sig);
	if (ret < 0)
		abort();
	gnutls_pubkey_deinit(pub);
	gnutls_free(sig.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;
	struct err e = ERR_INIT;
	int rc = dkim_key_parse((const char *)data, size, NAME, &key, &e);
	if (rc == EX_OK) {
		bool rsa = key.type == DKIM_KEY_RSA;
		if (!key.privkey || key.readable_by_others ||
		    (rsa && key.bits < DKIM_RSA_MIN_BITS) ||
		    (!rsa && key.type != DKIM_KEY_ED25519) ||
		    strcmp(dkim_key_sig_algorithm(&key),
		           rsa ? "rsa-sha256" : "ed25519-sha256") != 0 ||
		    strcmp(dkim_key_record_type(&key), rsa ? "rsa" : "ed25519"))
			abort();
		check_usable(&key);
		dkim_key_free(&key);
	} else {
		if ((rc != EX_CONFIG && rc != EX_SOFTWARE) || e.code != rc ||
		    key.privkey || !strstr(err_msg(&e), NAME))
			abort();
		for (const char *s = err_msg(&e); *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				abort();
	}
	err_clear(&e);
	return 0;
}
