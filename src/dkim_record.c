/* dkim_record.c - DKIM public key records and the tag-list syntax; see
 * dkim_record.h. */
#include "dkim_record.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64.h"
#include "dkim_key.h"
#include "lazylib.h"
#include "sanitize.h"
#include "util.h"

/* ---- the tag-list syntax ------------------------------------------------- */

/* RFC 6376 3.2 VALCHAR: %x21-3A / %x3C-7E, every visible character but
 * ";". */
static bool is_valchar(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* The length of the FWS at text[at] (RFC 6376 2.8: [*WSP CRLF] 1*WSP; a
 * CRLF not followed by WSP is no FWS), 0 when there is none. */
static size_t fws_length(const char *text, size_t len, size_t at)
{
	size_t i = at;
	for (;;) {
		while (i < len && ascii_is_wsp(text[i]))
			i++;
		if (i + 2 < len && text[i] == '\r' && text[i + 1] == '\n' &&
		    ascii_is_wsp(text[i + 2]))
			i += 2;
		else
			return i - at;
	}
}

int dkim_tag_next(const char *text, size_t len, size_t *at,
                  struct dkim_tag *tag)
{
	size_t i = *at;
	i += fws_length(text, len, i);
	if (i == len) {
		*at = i;
		return 0;
	}
	size_t name = i;
	if (!ascii_is_alpha(text[i])) {
		*at = i;
		return -1;
	}
	while (i < len &&
	       (ascii_is_alpha(text[i]) || ascii_is_digit(text[i]) || text[i] == '_'))
		i++;
	size_t name_end = i;
	i += fws_length(text, len, i);
	if (i == len || text[i] != '=') {
		*at = i;
		return -1;
	}
	i++;
	i += fws_length(text, len, i);
	size_t value = i, value_end = i;
	for (;;) {
		while (i < len && is_valchar(text[i]))
			i++;
		value_end = i;
		size_t fws = fws_length(text, len, i);
		if (fws == 0 || i + fws == len || !is_valchar(text[i + fws]))
			break;
		i += fws;
	}
	i = value_end + fws_length(text, len, value_end);
	if (i < len && text[i] != ';') {
		*at = i;
		return -1;
	}
	if (i < len)
		i++; /* the ";" */
	tag->name = text + name;
	tag->name_len = name_end - name;
	tag->value = text + value;
	tag->value_len = value_end - value;
	*at = i;
	return 1;
}

static int compare_names(const struct dkim_tag *a, const struct dkim_tag *b,
                         bool fold_case)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = fold_case ? ascii_ncasecmp(a->name, b->name, n)
	                  : memcmp(a->name, b->name, n);
	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int compare_exact(const void *a, const void *b)
{
	return compare_names(*(const struct dkim_tag *const *)a,
	                     *(const struct dkim_tag *const *)b, false);
}

static int compare_folded(const void *a, const void *b)
{
	return compare_names(*(const struct dkim_tag *const *)a,
	                     *(const struct dkim_tag *const *)b, true);
}

/* The index of a tag whose name another tag has too, or count: sorted,
 * so that a record of many tags costs n log n, not n squared. */
static size_t find_duplicate(const struct dkim_tag *tags, size_t count,
                             bool fold_case)
{
	if (count < 2)
		return count;
	const struct dkim_tag **sorted = xcalloc(count, sizeof *sorted);
	for (size_t i = 0; i < count; i++)
		sorted[i] = &tags[i];
	qsort(sorted, count, sizeof *sorted,
	      fold_case ? compare_folded : compare_exact);
	size_t found = count;
	for (size_t i = 1; i < count && found == count; i++)
		if (compare_names(sorted[i - 1], sorted[i], fold_case) == 0)
			found = (size_t)(sorted[i] - tags);
	free(sorted);
	return found;
}

int dkim_tag_list_read(const char *text, size_t len, bool fold_case,
                       struct dkim_tag **tags, size_t *count, size_t *where)
{
	*tags = NULL;
	*count = 0;
	*where = 0;
	size_t at = 0, cap = 0;
	struct dkim_tag t;
	int got;
	while ((got = dkim_tag_next(text, len, &at, &t)) == 1) {
		if (*count == cap) {
			cap = cap ? cap * 2 : 8;
			*tags = xrealloc(*tags, cap * sizeof **tags);
		}
		(*tags)[(*count)++] = t;
	}
	if (got < 0) {
		free(*tags);
		*tags = NULL;
		*count = 0;
		*where = at;
		return -1;
	}
	size_t twice = find_duplicate(*tags, *count, fold_case);
	if (twice < *count) {
		*where = twice;
		return -2;
	}
	return 0;
}

void dkim_tag_quote(const char *value, size_t len, struct buf *out)
{
	size_t shown =
	    len > DKIM_RECORD_QUOTE_MAX ? DKIM_RECORD_QUOTE_MAX : len;
	buf_add_char(out, '"');
	/* TAB is the one control character sanitize.h lets through */
	for (size_t start = 0, i = 0; i <= shown; i++) {
		if (i < shown && value[i] != '\t')
			continue;
		sanitize_append(out, value + start, i - start);
		if (i < shown)
			buf_add_str(out, "\\x09");
		start = i + 1;
	}
	buf_add_str(out, len > shown ? "...\"" : "\"");
}

/* ---- parsing the record -------------------------------------------------- */

/* The tags RFC 6376 3.6.1 defines that the check reads. */
enum known_tag { TAG_V, TAG_H, TAG_K, TAG_P, TAG_S, TAG_T, TAG_COUNT };
static const char *const tag_names[TAG_COUNT] = {"v", "h", "k", "p", "s", "t"};

static bool name_is(const struct dkim_tag *t, const char *name)
{
	return t->name_len == strlen(name) &&
	       memcmp(t->name, name, t->name_len) == 0;
}

static bool value_is(const struct dkim_tag *t, const char *value)
{
	return t->value_len == strlen(value) &&
	       memcmp(t->value, value, t->value_len) == 0;
}

static int record_invalid(struct err *e, const char *tag, const char *why,
                          const char *rfc)
{
	if (tag)
		return err_set(e, EX_DATAERR,
		               "the DKIM key record's %s= %s (%s)", tag, why,
		               rfc);
	return err_set(e, EX_DATAERR, "the DKIM key record %s (%s)", why, rfc);
}

/* "the DKIM key record's TAG="VALUE" WHY (RFC)" */
static int value_invalid(struct err *e, const struct dkim_tag *t,
                         const char *why, const char *rfc)
{
	struct buf msg = BUF_INIT;
	buf_add(&msg, t->name, t->name_len);
	buf_add_char(&msg, '=');
	dkim_tag_quote(t->value, t->value_len, &msg);
	int rc = err_set(e, EX_DATAERR, "the DKIM key record's %s %s (%s)",
	                 buf_str(&msg), why, rfc);
	buf_free(&msg);
	return rc;
}

/* RFC 6376 3.6.1 hyphenated-word: ALPHA [*(ALPHA / DIGIT / "-") (ALPHA /
 * DIGIT)]. */
static bool hyphenated_word(const char *s, size_t n)
{
	if (n == 0 || !ascii_is_alpha(s[0]) || s[n - 1] == '-')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ascii_is_alpha(s[i]) && !ascii_is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A colon-separated list (h=, s=, t=: word *([FWS] ":" [FWS] word)) with
 * its FWS removed into *out (heap), each word a hyphenated-word or, when
 * star, "*". False when the value is not such a list. */
static bool parse_word_list(const struct dkim_tag *t, bool star, char **out)
{
	struct buf words = BUF_INIT;
	const char *v = t->value;
	size_t n = t->value_len, i = 0;
	for (;;) {
		size_t start = i;
		while (i < n && v[i] != ':' && !ascii_is_wsp(v[i]) && v[i] != '\r')
			i++;
		bool ok = hyphenated_word(v + start, i - start) ||
		          (star && i - start == 1 && v[start] == '*');
		if (!ok) {
			buf_free(&words);
			return false;
		}
		buf_add(&words, v + start, i - start);
		i += fws_length(v, n, i);
		if (i == n)
			break;
		if (v[i] != ':') {
			buf_free(&words);
			return false;
		}
		buf_add_char(&words, ':');
		i++;
		i += fws_length(v, n, i);
	}
	*out = buf_steal(&words);
	return true;
}

/* Does the colon-separated list hold word? */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* RFC 6376 3.6.1 key-p-tag: base64 with FWS anywhere; the FWS goes, the
 * rest must decode. */
static int parse_p(const struct dkim_tag *t, struct dkim_record *out,
                   struct err *e)
{
	struct buf text = BUF_INIT, raw = BUF_INIT;
	for (size_t i = 0; i < t->value_len;) {
		size_t fws = fws_length(t->value, t->value_len, i);
		if (fws) {
			i += fws;
			continue;
		}
		buf_add_char(&text, t->value[i++]);
	}
	int rc = EX_OK;
	if (base64_decode(buf_str(&text), text.len, &raw) != 0)
		rc = record_invalid(e, "p", "is not base64", "RFC 6376 3.6.1");
	else if (raw.len > 0) {
		out->p_len = raw.len;
		out->p = (unsigned char *)buf_steal(&raw);
	}
	buf_free(&text);
	buf_free(&raw);
	return rc;
}

/* DER: a length octet string for n (X.690 8.1.3). */
static void der_length(struct buf *out, size_t n)
{
	if (n < 0x80) {
		buf_add_char(out, (char)n);
		return;
	}
	unsigned char octets[sizeof n];
	size_t count = 0;
	for (size_t v = n; v; v >>= 8)
		octets[count++] = (unsigned char)(v & 0xff);
	buf_add_char(out, (char)(0x80 | count));
	while (count)
		buf_add_char(out, (char)octets[--count]);
}

/* A bare RSAPublicKey (RFC 8017 A.1.1) inside the SubjectPublicKeyInfo
 * that RFC 5280 4.1 and RFC 3279 2.3.1 wrap it in. */
static void wrap_rsa_public_key(const unsigned char *key, size_t len,
                                struct buf *out)
{
	/* SEQUENCE { OID rsaEncryption 1.2.840.113549.1.1.1, NULL } */
	static const unsigned char algorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
	                                          0x86, 0x48, 0x86, 0xf7, 0x0d,
	                                          0x01, 0x01, 0x01, 0x05, 0x00};
	struct buf bits = BUF_INIT;
	buf_add_char(&bits, 0x03); /* BIT STRING, no unused bits */
	der_length(&bits, len + 1);
	buf_add_char(&bits, 0x00);
	buf_add(&bits, key, len);
	buf_add_char(out, 0x30);
	der_length(out, sizeof algorithm + bits.len);
	buf_add(out, algorithm, sizeof algorithm);
	buf_add(out, bits.data, bits.len);
	buf_free(&bits);
}

/* Import an RSA p= (SubjectPublicKeyInfo DER, else a bare RSAPublicKey:
 * RFC 6376 erratum 3017) into *pub (gnutls_pubkey_deinit it). Returns a
 * GnuTLS error code (< 0) when it holds neither. */
static int import_rsa(const unsigned char *p, size_t len, gnutls_pubkey_t *pub)
{
	int ret = gnutls_pubkey_init(pub);
	if (ret < 0) {
		*pub = NULL;
		return ret;
	}
	gnutls_datum_t der = {(unsigned char *)p, (unsigned)len};
	ret = gnutls_pubkey_import(*pub, &der, GNUTLS_X509_FMT_DER);
	if (ret < 0 && len > 0 && p[0] == 0x30) {
		struct buf spki = BUF_INIT;
		wrap_rsa_public_key(p, len, &spki);
		gnutls_datum_t wrapped = {(unsigned char *)spki.data,
		                          (unsigned)spki.len};
		gnutls_pubkey_deinit(*pub);
		ret = gnutls_pubkey_init(pub);
		if (ret >= 0)
			ret = gnutls_pubkey_import(*pub, &wrapped,
			                           GNUTLS_X509_FMT_DER);
		buf_free(&spki);
	}
	if (ret < 0 && *pub) {
		gnutls_pubkey_deinit(*pub);
		*pub = NULL;
	}
	return ret;
}

/* The key in an RSA p=: an RSA key GnuTLS takes, its size in out->bits. */
static int check_rsa(struct dkim_record *out, struct err *e)
{
	if (out->p_len > 0xffffffffu)
		return record_invalid(e, "p", "is too long", "RFC 6376 3.6.1");
	gnutls_pubkey_t pub = NULL;
	int ret = import_rsa(out->p, out->p_len, &pub);
	if (ret < 0)
		return err_set(e, EX_DATAERR,
		               "the DKIM key record's p= holds "
		               "no RSA public key (a DER SubjectPublicKeyInfo "
		               "or RSAPublicKey): %s (RFC 6376 3.6.1)",
		               gnutls_strerror(ret));
	unsigned bits = 0;
	int algo = gnutls_pubkey_get_pk_algorithm(pub, &bits);
	gnutls_pubkey_deinit(pub);
	if (algo != GNUTLS_PK_RSA) {
		const char *name =
		    algo > 0 ? gnutls_pk_get_name((gnutls_pk_algorithm_t)algo)
		             : NULL;
		return err_set(e, EX_DATAERR,
		               "the DKIM key record's p= holds "
		               "a key of type %s, but k= says rsa (RFC 6376 "
		               "3.6.1)",
		               algo == GNUTLS_PK_RSA_PSS ? "RSA-PSS"
		               : name                    ? name
		                                         : "unknown");
	}
	if (bits == 0)
		return record_invalid(e, "p",
		                      "holds an RSA key without a modulus",
		                      "RFC 6376 3.6.1");
	out->bits = bits;
	return EX_OK;
}

/* SubjectPublicKeyInfo of an Ed25519 key up to the key (RFC 8410 4): the
 * form people publish by mistake instead of the bare key. */
static const unsigned char ed25519_spki_prefix[] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static int check_ed25519(struct dkim_record *out, struct err *e)
{
	if (out->p_len ==
	        sizeof ed25519_spki_prefix + DKIM_RECORD_ED25519_LEN &&
	    memcmp(out->p, ed25519_spki_prefix, sizeof ed25519_spki_prefix) ==
	        0)
		return record_invalid(e, "p",
		                      "holds an Ed25519 "
		                      "SubjectPublicKeyInfo; k=ed25519 "
		                      "publishes the bare 32-octet key (its "
		                      "last 32 octets)",
		                      "RFC 8463 4.2");
	if (out->p_len != DKIM_RECORD_ED25519_LEN)
		return err_set(e, EX_DATAERR,
		               "the DKIM key record's p= holds "
		               "%zu octets; an Ed25519 key is %d (RFC 8463 "
		               "4.2)",
		               out->p_len, DKIM_RECORD_ED25519_LEN);
	out->bits = 256;
	return EX_OK;
}

/* The tags of the list this file reads into seen[] (present[]). */
static int pick_tags(const struct dkim_tag *tags, size_t count,
                     struct dkim_tag seen[TAG_COUNT], bool present[TAG_COUNT],
                     struct err *e)
{
	for (size_t i = 0; i < count; i++)
		for (int k = 0; k < TAG_COUNT; k++) {
			if (!name_is(&tags[i], tag_names[k]))
				continue;
			/* RFC 6376 3.6.1: v=, when present, is the first */
			if (k == TAG_V && i != 0)
				return record_invalid(e, "v",
				                      "is not the first tag",
				                      "RFC 6376 3.6.1");
			present[k] = true;
			seen[k] = tags[i];
		}
	return EX_OK; /* RFC 6376 3.2: unknown tags are ignored */
}

static int read_tags(const char *text, size_t len,
                     struct dkim_tag seen[TAG_COUNT], bool present[TAG_COUNT],
                     struct err *e)
{
	struct dkim_tag *tags = NULL;
	size_t count = 0, where = 0;
	int got = dkim_tag_list_read(text, len, false, &tags, &count, &where);
	int rc = EX_OK;
	if (got == -1) {
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record is not a list "
		             "of tag=value separated by \";\" (at octet %zu; "
		             "RFC 6376 3.2)",
		             where + 1);
	} else if (got == -2) {
		struct buf name = BUF_INIT;
		buf_add(&name, tags[where].name, tags[where].name_len);
		rc = record_invalid(e, buf_str(&name), "appears more than once",
		                    "RFC 6376 3.2");
		buf_free(&name);
	} else {
		rc = pick_tags(tags, count, seen, present, e);
	}
	free(tags);
	return rc;
}

static int parse_flags(const struct dkim_tag *t, struct dkim_record *out,
                       struct err *e)
{
	char *flags = NULL;
	if (!parse_word_list(t, false, &flags))
		return value_invalid(e, t,
		                     "is not a colon-separated list of flags",
		                     "RFC 6376 3.6.1");
	/* unknown flags are ignored (RFC 6376 3.6.1) */
	out->testing = list_has(flags, "y");
	out->strict = list_has(flags, "s");
	free(flags);
	return EX_OK;
}

static int parse_tags(const struct dkim_tag seen[TAG_COUNT],
                      const bool present[TAG_COUNT], struct dkim_record *out,
                      struct err *e)
{
	if (present[TAG_V] && !value_is(&seen[TAG_V], "DKIM1"))
		return value_invalid(e, &seen[TAG_V],
		                     "is not DKIM1; verifiers "
		                     "discard the record",
		                     "RFC 6376 3.6.1");
	if (present[TAG_K]) {
		const struct dkim_tag *k = &seen[TAG_K];
		if (!hyphenated_word(k->value, k->value_len))
			return value_invalid(e, k, "is not a key type",
			                     "RFC 6376 3.6.1");
		out->k = value_is(k, "rsa")       ? DKIM_RECORD_RSA
		         : value_is(k, "ed25519") ? DKIM_RECORD_ED25519
		                                  : DKIM_RECORD_UNKNOWN;
	}
	if (present[TAG_H] && !parse_word_list(&seen[TAG_H], false, &out->h))
		return value_invalid(e, &seen[TAG_H],
		                     "is not a colon-separated "
		                     "list of hash algorithms",
		                     "RFC 6376 3.6.1");
	if (present[TAG_S] && !parse_word_list(&seen[TAG_S], true, &out->s))
		return value_invalid(e, &seen[TAG_S],
		                     "is not a colon-separated "
		                     "list of service types",
		                     "RFC 6376 3.6.1");
	if (present[TAG_T]) {
		int rc = parse_flags(&seen[TAG_T], out, e);
		if (rc != EX_OK)
			return rc;
	}
	if (!present[TAG_P])
		return record_invalid(e, NULL, "has no p= tag (the public key)",
		                      "RFC 6376 3.6.1");
	int rc = parse_p(&seen[TAG_P], out, e);
	if (rc != EX_OK || out->p_len == 0)
		return rc; /* revoked: nothing more to check */
	if (out->k == DKIM_RECORD_RSA)
		return check_rsa(out, e);
	if (out->k == DKIM_RECORD_ED25519)
		return check_ed25519(out, e);
	return EX_OK;
}

int dkim_record_parse(const char *text, size_t len, struct dkim_record *out,
                      struct err *e)
{
	memset(out, 0, sizeof *out);
	out->k = DKIM_RECORD_RSA; /* RFC 6376 3.6.1: the default */
	if (len > DKIM_RECORD_MAX)
		return err_set(e, EX_DATAERR,
		               "the DKIM key record is longer "
		               "than %d octets, more than a TXT record holds",
		               DKIM_RECORD_MAX);
	int rc = lazylib_load(LAZYLIB_GNUTLS, e);
	struct dkim_tag seen[TAG_COUNT];
	bool present[TAG_COUNT] = {false};
	if (rc == EX_OK)
		rc = read_tags(text, len, seen, present, e);
	if (rc == EX_OK)
		rc = parse_tags(seen, present, out, e);
	if (rc != EX_OK)
		dkim_record_free(out);
	return rc;
}

void dkim_record_free(struct dkim_record *r)
{
	free(r->p);
	free(r->h);
	free(r->s);
	memset(r, 0, sizeof *r);
	r->k = DKIM_RECORD_RSA;
}

const char *dkim_record_key_name(enum dkim_record_key k)
{
	switch (k) {
	case DKIM_RECORD_RSA:
		return "rsa";
	case DKIM_RECORD_ED25519:
		return "ed25519";
	case DKIM_RECORD_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ---- against the configured key ------------------------------------------ */

static enum dkim_record_key record_key_of(const struct dkim_key *key)
{
	return key->type == DKIM_KEY_RSA ? DKIM_RECORD_RSA
	                                 : DKIM_RECORD_ED25519;
}

static char *describe_key(const struct dkim_key *key)
{
	struct buf out = BUF_INIT;
	if (key->type == DKIM_KEY_RSA)
		buf_printf(&out, "RSA %u", key->bits);
	else
		buf_add_str(&out, "Ed25519");
	return buf_steal(&out);
}


/* The record's RSA key as SubjectPublicKeyInfo DER (a bare RSAPublicKey
 * wrapped), into out; false when it does not import. */
static bool record_spki(const struct dkim_record *r, struct buf *out)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = {NULL, 0};
	bool ok = import_rsa(r->p, r->p_len, &pub) >= 0 &&
	          gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) >= 0;
	if (ok)
		buf_add(out, der.data, der.size);
	gnutls_free(der.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	return ok;
}

static bool publishes(const struct dkim_record *r, const struct dkim_key *key,
                      const struct buf *mine)
{
	if (r->p_len == 0 || r->k != record_key_of(key))
		return false;
	if (key->type == DKIM_KEY_ED25519)
		return r->p_len == mine->len &&
		       memcmp(r->p, mine->data, mine->len) == 0;
	struct buf theirs = BUF_INIT;
	bool same = record_spki(r, &theirs) && theirs.len == mine->len &&
	            memcmp(theirs.data, mine->data, mine->len) == 0;
	buf_free(&theirs);
	return same;
}

int dkim_record_matches_key(const struct dkim_record *r, const char *key_path,
                            bool *same, char **key_description, struct err *e)
{
	*same = false;
	*key_description = NULL;
	struct dkim_key key;
	int rc = dkim_key_load(key_path, &key, e);
	if (rc != EX_OK)
		return rc;
	struct buf mine = BUF_INIT;
	rc = dkim_key_public(&key, &mine, e);
	if (rc == EX_OK) {
		*same = publishes(r, &key, &mine);
		*key_description = describe_key(&key);
	}
	buf_free(&mine);
	dkim_key_free(&key);
	return rc;
}

/* ---- the test signature -------------------------------------------------- */

/* What is signed: any fixed text does, the digest is what counts. */
static const char test_sample[] =
    "from:outbox --check <check@outbox.invalid>\r\n"
    "subject:a test signature for the published DKIM key\r\n";

/* Why r cannot verify a signature by key before any cryptography (RFC
 * 6376 3.6.1: a verifier ignores such a key), or EX_OK. */
static int check_usable(const struct dkim_record *r, const struct dkim_key *key,
                        struct err *e)
{
	char *mine = describe_key(key);
	int rc = EX_OK;
	if (r->p_len == 0)
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record is revoked "
		             "(empty p=, RFC 6376 3.6.1): publish the %s key's "
		             "record",
		             mine);
	else if (r->k == DKIM_RECORD_UNKNOWN)
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record's k= names a "
		             "key type outbox does not sign with (rsa, "
		             "ed25519); the configured key is %s",
		             mine);
	else if (r->k != record_key_of(key))
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record's k=%s does "
		             "not match the configured %s key",
		             dkim_record_key_name(r->k), mine);
	else if (r->h && !list_has(r->h, "sha256"))
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record's h=%s does "
		             "not allow sha256, which %s signatures use: "
		             "verifiers ignore the key (RFC 6376 3.6.1)",
		             r->h, dkim_key_sig_algorithm(key));
	else if (r->s && !list_has(r->s, "email") && !list_has(r->s, "*"))
		rc = err_set(e, EX_DATAERR,
		             "the DKIM key record's s=%s does "
		             "not include email: verifiers ignore the key (RFC "
		             "6376 3.6.1)",
		             r->s);
	free(mine);
	return rc;
}

/* r's key as GnuTLS's (r is usable for key). */
static int import_record_key(const struct dkim_record *r, gnutls_pubkey_t *pub)
{
	if (r->k == DKIM_RECORD_RSA)
		return import_rsa(r->p, r->p_len, pub);
	int ret = gnutls_pubkey_init(pub);
	if (ret < 0) {
		*pub = NULL;
		return ret;
	}
	gnutls_datum_t x = {r->p, (unsigned)r->p_len};
	ret = gnutls_pubkey_import_ecc_raw(*pub, GNUTLS_ECC_CURVE_ED25519, &x,
	                                   NULL);
	if (ret < 0) {
		gnutls_pubkey_deinit(*pub);
		*pub = NULL;
	}
	return ret;
}

/* Sign the sample as dkim.c signs a message: RFC 6376 3.3.1 RSASSA-PKCS1
 * v1.5 over the SHA-256 digest, RFC 8463 3 PureEdDSA whose message is the
 * SHA-256 digest. Then verify with r's key. */
static int sign_and_verify(const struct dkim_record *r,
                           const struct dkim_key *key, struct err *e)
{
	unsigned char digest[32];
	gnutls_datum_t sample = {(unsigned char *)test_sample,
	                         sizeof test_sample - 1};
	gnutls_datum_t hash = {digest, sizeof digest};
	gnutls_datum_t sig = {NULL, 0};
	bool rsa = key->type == DKIM_KEY_RSA;
	int ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, sample.data, sample.size,
	                           digest);
	if (ret >= 0 && rsa)
		ret = gnutls_privkey_sign_hash2(
		    key->privkey, GNUTLS_SIGN_RSA_SHA256, 0, &hash, &sig);
	else if (ret >= 0)
		ret = gnutls_privkey_sign_data2(
		    key->privkey, GNUTLS_SIGN_EDDSA_ED25519, 0, &hash, &sig);
	if (ret < 0) {
		gnutls_free(sig.data);
		return err_set(
		    e, EX_SOFTWARE, "cannot make a test signature (%s): %s",
		    dkim_key_sig_algorithm(key), gnutls_strerror(ret));
	}
	gnutls_pubkey_t pub = NULL;
	ret = import_record_key(r, &pub);
	if (ret >= 0 && rsa)
		ret = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_RSA_SHA256, 0,
		                                 &sample, &sig);
	else if (ret >= 0)
		ret = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519,
		                                 0, &hash, &sig);
	gnutls_free(sig.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (ret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		return err_set(e, EX_DATAERR,
		               "a test signature (%s) by the "
		               "configured key does not verify with the "
		               "published key: the record publishes another "
		               "key",
		               dkim_key_sig_algorithm(key));
	if (ret < 0)
		return err_set(e, EX_DATAERR,
		               "a test signature (%s) by the "
		               "configured key cannot be verified with the "
		               "published key: %s",
		               dkim_key_sig_algorithm(key),
		               gnutls_strerror(ret));
	return EX_OK;
}

int dkim_record_verify_test_signature(const struct dkim_record *r,
                                      const char *key_path, struct err *e)
{
	struct dkim_key key;
	int rc = dkim_key_load(key_path, &key, e);
	if (rc != EX_OK)
		return rc;
	rc = check_usable(r, &key, e);
	if (rc == EX_OK)
		rc = sign_and_verify(r, &key, e);
	dkim_key_free(&key);
	return rc;
}
