/* dkim_key.c - DKIM keys: loading, generation, DNS records; see dkim_key.h
 * and dkim.h. */
#include "dkim_key.h"

#include <errno.h>
#include <fcntl.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base64.h"
#include "buf.h"
#include "dkim.h"
#include "dkim_canon.h"
#include "util.h"

/* Reading the file. */

static int read_key_file(const char *path, struct buf *data,
                         bool *readable_by_others, struct err *e)
{
	/* O_NONBLOCK: a FIFO in place of the key must not hang us before
	 * the regular-file check (it does nothing for regular files). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(e, EX_CONFIG, "cannot open DKIM key file %s: %s",
		               path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EX_CONFIG, "DKIM key file %s is not a "
		               "regular file", path);
	}
	if (st.st_size > DKIM_KEY_FILE_MAX) {
		close(fd);
		return err_set(e, EX_CONFIG, "DKIM key file %s is larger than "
		               "%d bytes: not a private key", path,
		               DKIM_KEY_FILE_MAX);
	}
	*readable_by_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	/* Read to EOF (the size may change under us), never past the
	 * limit; growing as a secret, since it is the private key. */
	buf_reserve_secret(data, (size_t)st.st_size + 1);
	int rc = EX_OK;
	if (fd_read_all(fd, DKIM_KEY_FILE_MAX, true, data) != 0)
		rc = errno == EFBIG
		             ? err_set(e, EX_CONFIG, "DKIM key file %s is "
		                       "larger than %d bytes: not a private "
		                       "key", path, DKIM_KEY_FILE_MAX)
		             : err_set(e, EX_CONFIG, "cannot read DKIM key "
		                       "file %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Parsing the contents. */

/* Does data (len octets, not NUL-terminated, perhaps binary) hold text? */
static bool contains(const char *data, size_t len, const char *text)
{
	size_t n = strlen(text);
	for (size_t at = 0; len >= n && at <= len - n; at++)
		if (data[at] == text[0] && memcmp(data + at, text, n) == 0)
			return true;
	return false;
}

/* Why GnuTLS could not import the text, in the user's terms. */
static int import_error(const char *path, const char *data, size_t len,
                        int ret, struct err *e)
{
	if (contains(data, len, "-----BEGIN OPENSSH PRIVATE KEY"))
		return err_set(e, EX_CONFIG, "DKIM key file %s is an OpenSSH "
		               "key; outbox needs a PEM (PKCS#8 or PKCS#1) key "
		               "such as outbox --dkim-keygen writes", path);
	if (contains(data, len, "ENCRYPTED"))
		return err_set(e, EX_CONFIG, "DKIM key file %s is encrypted; "
		               "outbox needs an unencrypted key (protect it "
		               "with chmod 600 instead)", path);
	if (contains(data, len, "-----BEGIN CERTIFICATE") ||
	    contains(data, len, "-----BEGIN PUBLIC KEY"))
		return err_set(e, EX_CONFIG, "DKIM key file %s holds no "
		               "private key (a certificate or public key?)",
		               path);
	return err_set(e, EX_CONFIG, "cannot read DKIM key file %s as a PEM "
	               "private key (RSA or Ed25519, PKCS#8 or PKCS#1): %s",
	               path, gnutls_strerror(ret));
}

/* Check the algorithm and size: DKIM signs with RSA PKCS#1 v1.5 and
 * Ed25519 only (RFC 6376 3.3, RFC 8463). */
static int check_key_type(const char *path, gnutls_x509_privkey_t x,
                          struct dkim_key *key, struct err *e)
{
	unsigned bits = 0;
	int algo = gnutls_x509_privkey_get_pk_algorithm2(x, &bits);
	if (algo == GNUTLS_PK_RSA) {
		if (bits < DKIM_RSA_MIN_BITS)
			return err_set(e, EX_CONFIG, "DKIM key file %s holds a "
			               "%u-bit RSA key; RFC 8301 requires at "
			               "least %d bits (%d recommended)", path,
			               bits, DKIM_RSA_MIN_BITS,
			               DKIM_RSA_GOOD_BITS);
		int ret = gnutls_x509_privkey_verify_params(x);
		if (ret < 0)
			return err_set(e, EX_CONFIG, "DKIM key file %s holds a "
			               "damaged RSA key: %s", path,
			               gnutls_strerror(ret));
		key->type = DKIM_KEY_RSA;
		key->bits = bits;
		return EX_OK;
	}
	if (algo == GNUTLS_PK_EDDSA_ED25519) {
		key->type = DKIM_KEY_ED25519;
		key->bits = bits;
		return EX_OK;
	}
	const char *name = algo >= 0 ?
		gnutls_pk_get_name((gnutls_pk_algorithm_t)algo) : NULL;
	return err_set(e, EX_CONFIG, "DKIM key file %s holds a%s %s key; DKIM "
	               "signs with RSA (rsa-sha256) or Ed25519 "
	               "(ed25519-sha256) keys", path,
	               algo == GNUTLS_PK_RSA_PSS ? "n" : "",
	               algo == GNUTLS_PK_RSA_PSS ? "RSA-PSS" :
	               name ? name : "unknown");
}

/* GnuTLS's parameter check misses a damaged private exponent (it derives
 * the CRT exponents from it), and such a key fails only when it signs, with
 * the message already read and no file named. Sign once here instead: one
 * RSA signature, about a millisecond for 2048 bits. (Any 32 bytes are an
 * Ed25519 key, so there is nothing to find there.) */
static int check_rsa_signs(const char *path, gnutls_privkey_t privkey,
                           struct err *e)
{
	static const unsigned char digest[32];
	gnutls_datum_t hash = {(unsigned char *)digest, sizeof digest};
	gnutls_datum_t sig = {NULL, 0};
	int ret = gnutls_privkey_sign_hash2(privkey, GNUTLS_SIGN_RSA_SHA256, 0,
	                                    &hash, &sig);
	gnutls_free(sig.data);
	if (ret < 0)
		return err_set(e, EX_CONFIG, "DKIM key file %s holds a "
		               "damaged RSA key: %s", path,
		               gnutls_strerror(ret));
	return EX_OK;
}

int dkim_key_parse(const char *data, size_t len, const char *name,
                   struct dkim_key *key, struct err *e)
{
	memset(key, 0, sizeof *key);
	if (len == 0)
		return err_set(e, EX_CONFIG, "DKIM key file %s is empty", name);
	if (len > DKIM_KEY_FILE_MAX)
		return err_set(e, EX_CONFIG, "DKIM key file %s is larger than "
		               "%d bytes: not a private key", name,
		               DKIM_KEY_FILE_MAX);
	gnutls_x509_privkey_t x = NULL;
	int ret = gnutls_x509_privkey_init(&x);
	if (ret < 0)
		return err_set(e, EX_SOFTWARE, "GnuTLS: %s",
		               gnutls_strerror(ret));
	int rc = EX_OK;
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	gnutls_x509_crt_fmt_t fmt = contains(data, len, "-----BEGIN") ?
		GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
	/* No password: an encrypted key fails here instead of prompting. */
	ret = gnutls_x509_privkey_import2(x, &d, fmt, NULL, 0);
	if (ret < 0)
		rc = import_error(name, data, len, ret, e);
	if (rc == EX_OK)
		rc = check_key_type(name, x, key, e);
	if (rc == EX_OK && (ret = gnutls_privkey_init(&key->privkey)) < 0)
		rc = err_set(e, EX_SOFTWARE, "GnuTLS: %s",
		             gnutls_strerror(ret));
	if (rc == EX_OK) {
		ret = gnutls_privkey_import_x509(
			key->privkey, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
		if (ret < 0)
			rc = err_set(e, EX_CONFIG, "cannot use DKIM key file "
			             "%s: %s", name, gnutls_strerror(ret));
		else
			x = NULL; /* owned by privkey now */
	}
	if (rc == EX_OK && key->type == DKIM_KEY_RSA)
		rc = check_rsa_signs(name, key->privkey, e);
	if (x)
		gnutls_x509_privkey_deinit(x);
	if (rc != EX_OK)
		dkim_key_free(key);
	return rc;
}

int dkim_key_load(const char *path, struct dkim_key *key, struct err *e)
{
	memset(key, 0, sizeof *key);
	struct buf data = BUF_INIT;
	bool readable_by_others = false;
	int rc = read_key_file(path, &data, &readable_by_others, e);
	if (rc == EX_OK)
		rc = dkim_key_parse(data.data, data.len, path, key, e);
	/* The key is in GnuTLS's hands now; no copy of it stays behind. */
	buf_wipe(&data);
	if (rc == EX_OK)
		key->readable_by_others = readable_by_others;
	return rc;
}

void dkim_key_free(struct dkim_key *key)
{
	if (key->privkey)
		gnutls_privkey_deinit(key->privkey);
	key->privkey = NULL;
}

const char *dkim_key_sig_algorithm(const struct dkim_key *key)
{
	return key->type == DKIM_KEY_RSA ? "rsa-sha256" : "ed25519-sha256";
}

const char *dkim_key_record_type(const struct dkim_key *key)
{
	return key->type == DKIM_KEY_RSA ? "rsa" : "ed25519";
}

/* A copy of name (len octets) with U-labels converted to A-labels, or
 * NULL when libidn2 refuses it. */
static char *to_alabels(const char *name, size_t len)
{
	char *copy = xstrndup(name, len);
	bool ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)copy[i] >= 0x80)
			ascii = false;
	if (ascii)
		return copy;
	char *alabel = NULL;
	int ret = idn2_to_ascii_8z(copy, &alabel,
	                           IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	free(copy);
	if (ret != IDN2_OK)
		return NULL;
	copy = xstrdup(alabel);
	idn2_free(alabel);
	return copy;
}

char *dkim_domain_normalise(const char *domain)
{
	size_t len = strlen(domain);
	if (len && domain[len - 1] == '.')
		len--;
	char *copy = to_alabels(domain, len);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	if (!dkim_valid_domain(copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

char *dkim_selector_normalise(const char *selector)
{
	char *copy = to_alabels(selector, strlen(selector));
	if (copy && !dkim_valid_selector(copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* Key generation. */

static int generate_pem(const char *type, unsigned bits, gnutls_datum_t *pem,
                        struct err *e)
{
	gnutls_x509_privkey_t x = NULL;
	int ret = gnutls_x509_privkey_init(&x);
	if (ret >= 0) {
		if (strcmp(type, "rsa") == 0)
			ret = gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA,
			                                   bits, 0);
		else
			ret = gnutls_x509_privkey_generate(
				x, GNUTLS_PK_EDDSA_ED25519,
				GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519),
				0);
	}
	if (ret >= 0)
		ret = gnutls_x509_privkey_export2_pkcs8(
			x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, pem);
	if (x)
		gnutls_x509_privkey_deinit(x);
	if (ret < 0)
		return err_set(e, EX_SOFTWARE, "cannot generate a %s key: %s",
		               type, gnutls_strerror(ret));
	return EX_OK;
}

int dkim_keygen(const char *type, unsigned bits, const char *key_path,
                struct err *e)
{
	if (strcmp(type, "rsa") == 0) {
		if (bits == 0)
			bits = DKIM_RSA_GOOD_BITS;
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_KEYGEN_MAX_BITS)
			return err_set(e, EX_USAGE, "an RSA DKIM key has %d to "
			               "%d bits (RFC 8301; %d recommended), "
			               "not %u", DKIM_RSA_MIN_BITS,
			               DKIM_RSA_KEYGEN_MAX_BITS,
			               DKIM_RSA_GOOD_BITS, bits);
	} else if (strcmp(type, "ed25519") == 0) {
		if (bits != 0)
			return err_set(e, EX_USAGE, "an Ed25519 key has no "
			               "size to choose");
	} else {
		return err_set(e, EX_USAGE, "unknown DKIM key type '%s' "
		               "(expected rsa or ed25519)", type);
	}
	/* Refuse early, before the (slow) generation. */
	struct stat st;
	if (lstat(key_path, &st) == 0)
		return err_set(e, EX_USAGE, "%s already exists; outbox does "
		               "not overwrite a key (remove it or choose "
		               "another file)", key_path);

	gnutls_datum_t pem = {NULL, 0};
	int rc = generate_pem(type, bits, &pem, e);
	if (rc != EX_OK)
		return rc;
	/* O_EXCL: never overwrite, never follow a planted symlink. */
	int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	              O_NOFOLLOW, 0600);
	if (fd < 0) {
		int saved = errno;
		rc = saved == EEXIST ?
			err_set(e, EX_USAGE, "%s already exists; outbox does "
			        "not overwrite a key", key_path) :
			err_set(e, EX_IOERR, "cannot create %s: %s", key_path,
			        strerror(saved));
	} else if (fchmod(fd, 0600) != 0 ||
	           fd_write_all(fd, pem.data, pem.size) != 0 || fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		unlink(key_path);
		rc = err_set(e, EX_IOERR, "cannot write %s: %s", key_path,
		             strerror(saved));
	} else if (close(fd) != 0) {
		int saved = errno;
		unlink(key_path);
		rc = err_set(e, EX_IOERR, "cannot write %s: %s", key_path,
		             strerror(saved));
	}
	secure_zero(pem.data, pem.size);
	gnutls_free(pem.data);
	return rc;
}

/* DNS record. */

int dkim_key_public(const struct dkim_key *key, struct buf *out,
                    struct err *e)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t raw = {NULL, 0};
	gnutls_ecc_curve_t curve;
	int ret = gnutls_pubkey_init(&pub);
	if (ret >= 0)
		ret = gnutls_pubkey_import_privkey(pub, key->privkey, 0, 0);
	if (ret >= 0) {
		if (key->type == DKIM_KEY_RSA)
			ret = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER,
			                            &raw);
		else
			ret = gnutls_pubkey_export_ecc_raw2(pub, &curve, &raw,
			                                    NULL, 0);
	}
	if (ret >= 0)
		buf_add(out, raw.data, raw.size);
	gnutls_free(raw.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (ret < 0)
		return err_set(e, EX_SOFTWARE, "cannot export the public key: "
		               "%s", gnutls_strerror(ret));
	return EX_OK;
}

/* p= in base64 (dkim_key_public's bytes). */
static int public_key_base64(const struct dkim_key *key, struct buf *out,
                             struct err *e)
{
	struct buf raw = BUF_INIT;
	int rc = dkim_key_public(key, &raw, e);
	if (rc == EX_OK)
		base64_encode((const unsigned char *)raw.data, raw.len, out);
	buf_free(&raw);
	return rc;
}

int dkim_dns_record(const char *key_path, const char *selector,
                    const char *domain, struct buf *out, struct err *e)
{
	char *sel = dkim_selector_normalise(selector);
	if (!sel)
		return err_set(e, EX_USAGE, "'%s' is not a valid DKIM selector "
		               "(letters, digits and inner hyphens, "
		               "dot-separated labels)", selector);
	char *name = dkim_domain_normalise(domain);
	if (!name) {
		free(sel);
		return err_set(e, EX_USAGE, "'%s' is not a valid DKIM domain",
		               domain);
	}
	if (strlen(sel) + strlen("._domainkey.") + strlen(name) >
	    DKIM_DNS_NAME_MAX) {
		free(sel);
		free(name);
		return err_set(e, EX_USAGE, "%s._domainkey.%s is longer than "
		               "%d octets", selector, domain,
		               DKIM_DNS_NAME_MAX);
	}
	struct dkim_key key;
	int rc = dkim_key_load(key_path, &key, e);
	struct buf text = BUF_INIT;
	if (rc == EX_OK) {
		buf_printf(&text, "v=DKIM1; k=%s; p=",
		           dkim_key_record_type(&key));
		rc = public_key_base64(&key, &text, e);
		dkim_key_free(&key);
	}
	if (rc == EX_OK) {
		buf_printf(out, "%s._domainkey.%s. IN TXT (", sel, name);
		/* RFC 1035 3.3: a TXT record is a sequence of strings of up
		 * to 255 octets; DKIM verifiers join them (RFC 6376 3.6.2.2).
		 * The text holds no '"' or '\\' to escape. */
		for (size_t at = 0; at < text.len;
		     at += DKIM_TXT_STRING_MAX) {
			size_t n = text.len - at;
			if (n > DKIM_TXT_STRING_MAX)
				n = DKIM_TXT_STRING_MAX;
			buf_add_str(out, " \"");
			buf_add(out, text.data + at, n);
			buf_add_char(out, '"');
		}
		buf_add_str(out, " )\n");
	}
	buf_free(&text);
	free(sel);
	free(name);
	return rc;
}
