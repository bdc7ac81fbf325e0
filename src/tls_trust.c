/* tls_trust.c - the system trust store, loaded by need; see tls_trust.h. */
#include "tls_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "util.h"

/* ---- DER: just enough to find a certificate's two names ---------------- */

/* One TLV at p (n bytes available): its tag, where its content starts and
 * how long it is. Definite lengths only (DER; BER's indefinite form would
 * need a full parser), up to 4 length bytes. */
struct tlv {
	unsigned char tag;
	size_t header, length; /* whole TLV = header + length bytes */
};

static bool read_tlv(const unsigned char *p, size_t n, struct tlv *t)
{
	if (n < 2)
		return false;
	t->tag = p[0];
	if ((t->tag & 0x1f) == 0x1f)
		return false; /* multi-byte tags: not in a certificate's head */
	size_t len = p[1];
	size_t header = 2;
	if (len & 0x80) {
		size_t bytes = len & 0x7f;
		if (bytes == 0 || bytes > 4 || n < 2 + bytes)
			return false;
		len = 0;
		for (size_t i = 0; i < bytes; i++)
			len = len << 8 | p[2 + i];
		header += bytes;
	}
	if (len > n - header)
		return false;
	t->header = header;
	t->length = len;
	return true;
}

#define DER_SEQUENCE 0x30
#define DER_INTEGER 0x02
#define DER_VERSION 0xa0 /* [0] EXPLICIT Version */

bool tls_trust_cert_names(const unsigned char *der, size_t len,
			  struct tls_trust_name *issuer,
			  struct tls_trust_name *subject)
{
	/* RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate
	 * SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, signature
	 * AlgorithmIdentifier, issuer Name, validity Validity, subject
	 * Name, ... }, ... }. Name is a CHOICE of one SEQUENCE (no tag of
	 * its own), so its TLV is the rdnSequence GnuTLS keeps raw. */
	struct tlv t;
	if (!read_tlv(der, len, &t) || t.tag != DER_SEQUENCE ||
	    t.header + t.length != len)
		return false;
	const unsigned char *p = der + t.header;
	size_t n = t.length;
	if (!read_tlv(p, n, &t) || t.tag != DER_SEQUENCE)
		return false;
	p += t.header;
	n = t.length;
	static const unsigned char fields[] = {
		DER_INTEGER, DER_SEQUENCE, DER_SEQUENCE, DER_SEQUENCE,
		DER_SEQUENCE,
	};
	if (!read_tlv(p, n, &t))
		return false;
	if (t.tag == DER_VERSION) {
		p += t.header + t.length;
		n -= t.header + t.length;
	}
	for (size_t i = 0; i < sizeof fields; i++) {
		if (!read_tlv(p, n, &t) || t.tag != fields[i])
			return false;
		struct tls_trust_name *out = i == 2   ? issuer
		                             : i == 4 ? subject
		                                      : NULL;
		if (out) {
			out->der = p;
			out->len = t.header + t.length;
		}
		p += t.header + t.length;
		n -= t.header + t.length;
	}
	return true;
}

unsigned tls_trust_bucket(const unsigned char *der, size_t len)
{
	/* gnulib hash_pjw_bare(), which GnuTLS's trust list uses
	 * (lib/x509/verify-high.c: hash_pjw_bare(raw_dn) % list->size). */
	enum { SIZE_BITS = sizeof(size_t) * CHAR_BIT };
	size_t h = 0;
	for (size_t i = 0; i < len; i++)
		h = der[i] + ((h << 9) | (h >> (SIZE_BITS - 9)));
	return (unsigned)(h % TLS_TRUST_BUCKETS);
}

/* ---- PEM: the blocks of the bundle -------------------------------------- */

static const char pem_begin_any[] = "-----BEGIN ";
static const char pem_dashes[] = "-----";
static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/* The first occurrence of needle (nlen > 0 bytes) in [p, end), or NULL:
 * memmem, which is not POSIX. NUL bytes in the text are bytes like any
 * other, as for GnuTLS. */
static const char *find(const char *p, const char *end, const char *needle,
			size_t nlen)
{
	while ((size_t)(end - p) >= nlen) {
		const char *c = memchr(p, needle[0], (size_t)(end - p) - nlen + 1);
		if (!c)
			return NULL;
		if (memcmp(c, needle, nlen) == 0)
			return c;
		p = c + 1;
	}
	return NULL;
}

/* Base64 value of c, 64 for '=', -1 for a blank GnuTLS skips (cpydata in
 * lib/x509_b64.c: \n \r space tab), -2 for anything else. */
static int base64_value(unsigned char c)
{
	int digit = base64_digit_value((char)c);
	if (digit >= 0)
		return digit;
	switch (c) {
	case '=':
		return 64;
	case '\n':
	case '\r':
	case ' ':
	case '\t':
		return -1;
	default:
		return -2;
	}
}

/* Strict base64 of text[0..len) (blanks skipped) into out, which has room
 * for len * 3 / 4 bytes. Padding only at the very end, unused bits zero:
 * whatever this accepts, GnuTLS's decoder reads as the same bytes. */
static bool base64_decode_strict(const char *text, size_t len,
				 unsigned char *out, size_t *out_len)
{
	uint32_t acc = 0;
	unsigned have = 0, pad = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base64_value((unsigned char)text[i]);
		if (v == -1)
			continue;
		if (v == -2 || (pad && v != 64))
			return false;
		if (v == 64) {
			pad++;
			v = 0;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++have == 4) {
			if (pad > 2)
				return false;
			out[o++] = (unsigned char)(acc >> 16);
			if (pad < 2)
				out[o++] = (unsigned char)(acc >> 8);
			if (pad < 1)
				out[o++] = (unsigned char)acc;
			if ((pad == 1 && (acc & 0xff)) ||
			    (pad == 2 && (acc & 0xffff)))
				return false;
			acc = 0;
			have = 0;
		}
	}
	if (have != 0 || o == 0)
		return false;
	*out_len = o;
	return true;
}

bool tls_trust_select(const char *bundle, size_t len,
		      const bool want[TLS_TRUST_BUCKETS], struct buf *out,
		      size_t *total, size_t *selected)
{
	size_t count = 0, chosen = 0, mark = out->len;
	unsigned char *der = NULL;
	size_t der_room = 0;
	const char *p = bundle, *end = bundle + len;
	bool ok = true;
	for (;;) {
		const char *begin =
		        find(p, end, pem_begin_any, sizeof pem_begin_any - 1);
		if (!begin)
			break;
		/* GnuTLS also reads "BEGIN X509 CERTIFICATE" blocks, and
		 * skips "TRUSTED CERTIFICATE" ones, each with its own
		 * quirks: anything but the plain form is not ours to judge. */
		if ((size_t)(end - begin) < sizeof pem_begin - 1 ||
		    memcmp(begin, pem_begin, sizeof pem_begin - 1) != 0) {
			ok = false;
			break;
		}
		const char *body = begin + sizeof pem_begin - 1;
		const char *stop =
		        find(body, end, pem_dashes, sizeof pem_dashes - 1);
		if (!stop || (size_t)(end - stop) < sizeof pem_end - 1 ||
		    memcmp(stop, pem_end, sizeof pem_end - 1) != 0) {
			ok = false;
			break;
		}
		size_t body_len = (size_t)(stop - body);
		if (body_len / 4 * 3 + 3 > der_room) {
			der_room = body_len / 4 * 3 + 3;
			free(der);
			der = xmalloc(der_room);
		}
		size_t der_len = 0;
		struct tls_trust_name issuer, subject;
		if (!base64_decode_strict(body, body_len, der, &der_len) ||
		    !tls_trust_cert_names(der, der_len, &issuer, &subject)) {
			ok = false;
			break;
		}
		count++;
		const char *after = stop + sizeof pem_end - 1;
		if (want[tls_trust_bucket(subject.der, subject.len)]) {
			buf_add(out, begin, (size_t)(after - begin));
			buf_add_char(out, '\n');
			chosen++;
		}
		p = after;
	}
	free(der);
	if (!ok || count == 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return false;
	}
	*total = count;
	*selected = chosen;
	return true;
}

/* ---- loading ------------------------------------------------------------ */

/* Read the bundle whole; false (errno set) when it cannot be, or is not a
 * regular file of at most TLS_TRUST_BUNDLE_MAX bytes. */
static bool read_bundle(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	          st.st_size > 0 && st.st_size <= TLS_TRUST_BUNDLE_MAX;
	if (ok) {
		size_t want = (size_t)st.st_size;
		buf_reserve(out, want);
		while (ok && out->len < want) {
			ssize_t n = read(fd, out->data + out->len,
			                 want - out->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				ok = false;
			else
				out->len += (size_t)n;
		}
		out->data[out->len] = '\0';
	}
	close(fd);
	return ok;
}

int tls_trust_load_for_chain(gnutls_certificate_credentials_t cred,
			     const char *path, const gnutls_datum_t *peers,
			     unsigned n, bool *used, size_t *loaded,
			     struct err *e)
{
	*used = false;
	*loaded = 0;
	if (n == 0 || n > TLS_TRUST_CHAIN_MAX)
		return EX_OK;
	/* The buckets every look-up of the verification reads: those of
	 * the issuer and subject names of each certificate sent. */
	bool want[TLS_TRUST_BUCKETS] = {false};
	for (unsigned i = 0; i < n; i++) {
		struct tls_trust_name issuer, subject;
		if (!tls_trust_cert_names(peers[i].data, peers[i].size,
		                          &issuer, &subject))
			return EX_OK;
		want[tls_trust_bucket(issuer.der, issuer.len)] = true;
		want[tls_trust_bucket(subject.der, subject.len)] = true;
	}
	struct buf bundle = BUF_INIT, pem = BUF_INIT;
	size_t total = 0, selected = 0;
	int rc = EX_OK;
	if (read_bundle(path, &bundle) &&
	    tls_trust_select(bundle.data, bundle.len, want, &pem, &total,
	                     &selected)) {
		*used = true;
		if (selected > 0) {
			gnutls_datum_t d = {(unsigned char *)pem.data,
			                    (unsigned)pem.len};
			int r = gnutls_certificate_set_x509_trust_mem(
			        cred, &d, GNUTLS_X509_FMT_PEM);
			if (r < 0)
				rc = err_set(e, EX_CONFIG,
				             "cannot load the system's trusted "
				             "certificates (%s: %s): install "
				             "ca-certificates or set "
				             "tls_trust_file",
				             path, gnutls_strerror(r));
			else
				*loaded = (size_t)r;
		}
	}
	buf_free(&bundle);
	buf_free(&pem);
	return rc;
}

/* The GnuTLS series whose trust list tls_trust.h describes (checked in
 * the sources of 3.7.9 and 3.8.x). */
static bool known_trust_list(void)
{
	return gnutls_check_version("3.7.0") != NULL &&
	       gnutls_check_version("3.9.0") == NULL;
}

static const char *system_bundle(void)
{
	const char *path = TLS_TRUST_SYSTEM_BUNDLE;
	return *path && known_trust_list() ? path : NULL;
}

static int load_full_store(gnutls_certificate_credentials_t cred,
			   struct err *e)
{
	int r = gnutls_certificate_set_x509_system_trust(cred);
	if (r <= 0)
		return err_set(e, EX_CONFIG,
		               "cannot load the system's trusted certificates "
		               "(%s): install ca-certificates or set "
		               "tls_trust_file",
		               r < 0 ? gnutls_strerror(r) : "none found");
	return EX_OK;
}

int tls_trust_system_prepare(gnutls_certificate_credentials_t cred,
			     struct err *e)
{
	const char *path = system_bundle();
	if (path && access(path, R_OK) == 0)
		return EX_OK; /* deferred to tls_trust_system_complete */
	return load_full_store(cred, e);
}

/* Whether cred's trust list holds a certificate already (the full store
 * loaded by tls_trust_system_prepare). */
static bool has_trusted_certificate(gnutls_certificate_credentials_t cred)
{
	gnutls_x509_trust_list_t list = NULL;
	gnutls_certificate_get_trust_list(cred, &list);
	if (!list)
		return false;
	gnutls_x509_trust_list_iter_t iter = NULL;
	gnutls_x509_crt_t crt = NULL;
	bool found = gnutls_x509_trust_list_iter_get_ca(list, &iter, &crt) ==
	             0;
	if (found)
		gnutls_x509_crt_deinit(crt);
	if (iter)
		gnutls_x509_trust_list_iter_deinit(iter);
	return found;
}

int tls_trust_system_complete(gnutls_session_t session, struct err *e)
{
	gnutls_certificate_credentials_t cred = NULL;
	if (gnutls_credentials_get(session, GNUTLS_CRD_CERTIFICATE,
	                           (void **)&cred) < 0 ||
	    !cred)
		return err_set(e, EX_SOFTWARE,
		               "no certificate credentials on the TLS session");
	if (has_trusted_certificate(cred))
		return EX_OK;
	const char *path = system_bundle();
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(session, &n);
	/* A stapled OCSP response is verified against the trust list too,
	 * by names of its own (responder, signer): take the full store. */
	bool stapled = false;
	for (unsigned i = 0; i < n && !stapled; i++) {
		gnutls_datum_t resp = {NULL, 0};
		stapled = gnutls_ocsp_status_request_get2(session, i, &resp) >=
		          0;
	}
	bool used = false;
	size_t loaded = 0;
	if (path && peers && !stapled) {
		int rc = tls_trust_load_for_chain(cred, path, peers, n, &used,
		                                  &loaded, e);
		if (rc != EX_OK)
			return rc;
	}
	return used ? EX_OK : load_full_store(cred, e);
}
