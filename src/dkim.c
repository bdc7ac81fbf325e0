/* dkim.c - DKIM signing: settings, body hash, header selection, signature;
 * see dkim.h. Canonicalisation lives in dkim_canon.c, keys in dkim_key.c. */
#include "dkim.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "addr.h"
#include "base64.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "util.h"

#define SHA256_LEN 32

/* RFC 6376 5.4.1 lists the fields a signer SHOULD sign, to which we add
 * the other fields that carry the message's meaning: its identity
 * (Message-ID, Sender), its MIME structure (a receiver must not be able to
 * re-interpret the body) and RFC 8058's List-Unsubscribe-Post, which MUST
 * be signed. Only present instances are signed (plus the extra From). */
static const char *const default_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"resent-date", "resent-from", "resent-sender", "resent-to",
	"resent-cc", "resent-message-id",
	"in-reply-to", "references",
	"list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
	"list-subscribe", "list-post", "list-owner", "list-archive",
	"message-id", "sender", "mime-version", "content-type",
	"content-transfer-encoding", "content-id", "content-description",
	"content-disposition",
};

struct dkim_signer_ctx {
	char *selector;
	char *domain;      /* A-label, lower case; NULL: the From domain */
	char *identity;    /* i= as configured; NULL: none */
	long expire;       /* x= after t=, 0: none */
	enum dkim_canon header_canon, body_canon;
	char **headers;    /* configured names, lower case; NULL: default */
	size_t header_count;
	struct dkim_key key;

	gnutls_hash_hd_t body_sha; /* NULL once finished */
	bool body_failed;          /* GnuTLS refused a hash update */
	bool body_after_finish;    /* update after the hash was finished */
	struct buf body_hash;      /* bh=, once finished */

	char **warnings;
	size_t warning_count;
	size_t prepare_warnings;   /* warnings of dkim_prepare come first */

	struct dkim_body_canon canon; /* last: it holds the stage buffer */
};

__attribute__((format(printf, 2, 3)))
static void add_warning(struct dkim_signer_ctx *ctx, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	ctx->warnings = xrealloc(ctx->warnings, (ctx->warning_count + 1) *
	                                        sizeof *ctx->warnings);
	ctx->warnings[ctx->warning_count++] = buf_steal(&b);
}

static void drop_sign_warnings(struct dkim_signer_ctx *ctx)
{
	while (ctx->warning_count > ctx->prepare_warnings)
		free(ctx->warnings[--ctx->warning_count]);
}

const char *dkim_warning(const struct dkim_signer_ctx *ctx, size_t i)
{
	return i < ctx->warning_count ? ctx->warnings[i] : NULL;
}

/* Body hash. */

static void body_sha_out(void *vctx, const char *data, size_t len)
{
	struct dkim_signer_ctx *ctx = vctx;
	if (gnutls_hash(ctx->body_sha, data, len) < 0)
		ctx->body_failed = true;
}

static int body_start(struct dkim_signer_ctx *ctx, struct err *e)
{
	if (ctx->body_sha) {
		gnutls_hash_deinit(ctx->body_sha, NULL);
		ctx->body_sha = NULL;
	}
	buf_reset(&ctx->body_hash);
	ctx->body_failed = false;
	ctx->body_after_finish = false;
	int ret = gnutls_hash_init(&ctx->body_sha, GNUTLS_DIG_SHA256);
	if (ret < 0) {
		ctx->body_sha = NULL;
		ctx->body_failed = true;
		return err_set(e, EX_SOFTWARE, "GnuTLS cannot hash with "
		               "SHA-256: %s", gnutls_strerror(ret));
	}
	dkim_body_canon_init(&ctx->canon, ctx->body_canon, body_sha_out, ctx);
	return EX_OK;
}

void dkim_body_update(void *vctx, const char *data, size_t len)
{
	struct dkim_signer_ctx *ctx = vctx;
	if (!ctx->body_sha) {
		/* Finished already (or never started): a caller bug that
		 * dkim_sign reports rather than signing the wrong body. */
		if (len)
			ctx->body_after_finish = true;
		return;
	}
	dkim_body_canon_update(&ctx->canon, data, len);
}

void dkim_body_reset(struct dkim_signer_ctx *ctx)
{
	struct err ignored = ERR_INIT;
	/* A failure is remembered in body_failed and reported by dkim_sign. */
	body_start(ctx, &ignored);
	err_clear(&ignored);
}

const char *dkim_body_hash(struct dkim_signer_ctx *ctx)
{
	if (ctx->body_sha) {
		dkim_body_canon_finish(&ctx->canon);
		unsigned char digest[SHA256_LEN];
		gnutls_hash_deinit(ctx->body_sha, digest);
		ctx->body_sha = NULL;
		buf_reset(&ctx->body_hash);
		base64_encode(digest, sizeof digest, &ctx->body_hash);
	}
	return buf_str(&ctx->body_hash);
}

/* Settings. */

/* dkim_headers: "name:name:..." with optional white space around names;
 * lower-cased, duplicates dropped (each listed name signs every instance
 * anyway). From is required: RFC 6376 5.4 "The From header field MUST be
 * signed". */
static int parse_header_list(struct dkim_signer_ctx *ctx, const char *list,
                             struct err *e)
{
	bool has_from = false;
	const char *p = list;
	for (;;) {
		const char *colon = strchr(p, ':');
		const char *end = colon ? colon : p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		size_t len = (size_t)(last - p);
		if (!dkim_valid_field_name(p, len, DKIM_FIELD_NAME_MAX))
			return err_set(e, EX_CONFIG, "dkim_headers '%s': "
			               "'%.*s' is not a header field name "
			               "(names are separated by ':')", list,
			               len > 80 ? 80 : (int)len, p);
		char *name = xstrndup(p, len);
		for (char *c = name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + ('a' - 'A'));
		bool seen = false;
		for (size_t i = 0; i < ctx->header_count; i++)
			if (strcmp(ctx->headers[i], name) == 0)
				seen = true;
		if (seen) {
			free(name);
		} else {
			has_from |= strcmp(name, "from") == 0;
			ctx->headers = xrealloc(ctx->headers,
			                        (ctx->header_count + 1) *
			                        sizeof *ctx->headers);
			ctx->headers[ctx->header_count++] = name;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	if (!has_from)
		return err_set(e, EX_CONFIG, "dkim_headers '%s' must include "
		               "From (RFC 6376 5.4)", list);
	return EX_OK;
}

/* i=: [local-part] "@" domain, the domain checked as for d=. */
static int check_identity(const char *identity, struct err *e)
{
	const char *at = strrchr(identity, '@');
	if (!at)
		return err_set(e, EX_CONFIG, "dkim identity '%s' has no '@' "
		               "(it is an address or @domain, RFC 6376 3.5 i=)",
		               identity);
	for (const char *c = identity; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return err_set(e, EX_CONFIG, "dkim identity '%s' "
			               "contains white space or control "
			               "characters", identity);
	if (!dkim_valid_domain(at + 1))
		return err_set(e, EX_CONFIG, "dkim identity '%s': '%s' is not "
		               "a valid domain (use the A-label form)",
		               identity, at + 1);
	return EX_OK;
}

/* RFC 6376 3.5 i=: "The domain part of the address MUST be the same as,
 * or a subdomain of, the value of the "d=" tag." */
static int check_identity_domain(const char *identity, const char *domain,
                                 struct err *e)
{
	const char *at = strrchr(identity, '@');
	if (!dkim_domain_within(at + 1, domain))
		return err_set(e, EX_CONFIG, "dkim identity '%s' is not within "
		               "the signing domain %s (RFC 6376 3.5: i= must "
		               "be d= or a subdomain of it)", identity, domain);
	return EX_OK;
}

static int prepare_settings(struct dkim_signer_ctx *ctx,
                            const struct dkim_signer *cfg, struct err *e)
{
	if (!cfg->key_file || !*cfg->key_file)
		return err_set(e, EX_CONFIG, "dkim_key is not set");
	if (!cfg->selector || !*cfg->selector)
		return err_set(e, EX_CONFIG, "dkim_selector is not set (it "
		               "names the DNS record of the key %s)",
		               cfg->key_file);
	ctx->selector = dkim_selector_normalise(cfg->selector);
	if (!ctx->selector)
		return err_set(e, EX_CONFIG, "dkim_selector '%s' is not a "
		               "valid selector (letters, digits and inner "
		               "hyphens, dot-separated labels)", cfg->selector);
	/* An empty dkim_domain, dkim_headers or identity means "not set". */
	if (cfg->domain && *cfg->domain) {
		ctx->domain = dkim_domain_normalise(cfg->domain);
		if (!ctx->domain)
			return err_set(e, EX_CONFIG, "dkim_domain '%s' is not "
			               "a valid domain name", cfg->domain);
	}
	const char *canon = cfg->canonicalization && *cfg->canonicalization ?
	                    cfg->canonicalization : "relaxed/relaxed";
	if (!dkim_canon_parse(canon, &ctx->header_canon, &ctx->body_canon))
		return err_set(e, EX_CONFIG, "dkim_canonicalization '%s' is "
		               "not HEADER/BODY with simple or relaxed", canon);
	if (cfg->headers && *cfg->headers) {
		int rc = parse_header_list(ctx, cfg->headers, e);
		if (rc != EX_OK)
			return rc;
	}
	if (cfg->identity && *cfg->identity) {
		int rc = check_identity(cfg->identity, e);
		if (rc == EX_OK && ctx->domain)
			rc = check_identity_domain(cfg->identity, ctx->domain,
			                           e);
		if (rc != EX_OK)
			return rc;
		ctx->identity = xstrdup(cfg->identity);
	}
	if (cfg->expire < 0)
		return err_set(e, EX_CONFIG, "dkim_expire must not be "
		               "negative");
	ctx->expire = cfg->expire;
	size_t domain_len = ctx->domain ? strlen(ctx->domain) : 1;
	if (strlen(ctx->selector) + strlen("._domainkey.") + domain_len >
	    DKIM_DNS_NAME_MAX)
		return err_set(e, EX_CONFIG, "dkim_selector '%s' is too long: "
		               "the key's DNS name would exceed %d octets",
		               ctx->selector, DKIM_DNS_NAME_MAX);
	return EX_OK;
}

int dkim_prepare(const struct dkim_signer *cfg, struct dkim_signer_ctx **out,
                 struct err *e)
{
	*out = NULL;
	struct dkim_signer_ctx *ctx = xcalloc(1, sizeof *ctx);
	int rc = prepare_settings(ctx, cfg, e);
	if (rc == EX_OK)
		rc = dkim_key_load(cfg->key_file, &ctx->key, e);
	if (rc == EX_OK)
		rc = body_start(ctx, e);
	if (rc != EX_OK) {
		dkim_free(ctx);
		return rc;
	}
	if (ctx->key.type == DKIM_KEY_RSA && ctx->key.bits < DKIM_RSA_GOOD_BITS)
		add_warning(ctx, "DKIM key %s has %u bits; RFC 8301 recommends "
		            "at least %d", cfg->key_file, ctx->key.bits,
		            DKIM_RSA_GOOD_BITS);
	if (ctx->key.type == DKIM_KEY_RSA &&
	    ctx->key.bits > DKIM_RSA_VERIFIER_MAX_BITS)
		add_warning(ctx, "DKIM key %s has %u bits; verifiers need not "
		            "accept more than %d (RFC 8301 3.2)", cfg->key_file,
		            ctx->key.bits, DKIM_RSA_VERIFIER_MAX_BITS);
	if (ctx->key.readable_by_others)
		add_warning(ctx, "DKIM key %s can be read by group or others; "
		            "chmod 600 it", cfg->key_file);
	ctx->prepare_warnings = ctx->warning_count;
	*out = ctx;
	return EX_OK;
}

void dkim_free(struct dkim_signer_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->body_sha)
		gnutls_hash_deinit(ctx->body_sha, NULL);
	dkim_key_free(&ctx->key);
	buf_free(&ctx->body_hash);
	for (size_t i = 0; i < ctx->header_count; i++)
		free(ctx->headers[i]);
	free(ctx->headers);
	for (size_t i = 0; i < ctx->warning_count; i++)
		free(ctx->warnings[i]);
	free(ctx->warnings);
	free(ctx->selector);
	free(ctx->domain);
	free(ctx->identity);
	/* The stage may hold message text. */
	secure_zero(ctx->canon.stage, sizeof ctx->canon.stage);
	free(ctx);
}

/* Header selection. */

/* Does the message's field name (which obsolete syntax lets end in WSP)
 * equal name, ignoring case? */
static bool field_is(const char *field, const char *name)
{
	size_t len = strlen(field);
	while (len && (field[len - 1] == ' ' || field[len - 1] == '\t'))
		len--;
	return len == strlen(name) && ascii_ncasecmp(field, name, len) == 0;
}

static size_t count_fields(const struct message *m, const char *name)
{
	size_t n = 0, count = msg_header_count(m);
	for (size_t i = 0; i < count; i++)
		if (field_is(msg_header_name(m, i), name))
			n++;
	return n;
}

struct name_list {
	const char **names;
	size_t count;
};

static void name_list_add(struct name_list *l, const char *name)
{
	l->names = xrealloc(l->names, (l->count + 1) * sizeof *l->names);
	l->names[l->count++] = name;
}

/* h=: each present instance of each chosen name (a name listed k times
 * picks the k bottom-most instances, RFC 6376 5.4.2), and From once more
 * so that no From can be added above the signed one (RFC 6376 8.15). */
static void choose_headers(const struct dkim_signer_ctx *ctx,
                           const struct message *m, struct name_list *out)
{
	const char *const *names = ctx->headers ?
		(const char *const *)ctx->headers : default_headers;
	size_t count = ctx->headers ? ctx->header_count :
		sizeof default_headers / sizeof default_headers[0];
	for (size_t i = 0; i < count; i++) {
		size_t present = count_fields(m, names[i]);
		if (strcmp(names[i], "from") == 0)
			present++;
		while (present--)
			name_list_add(out, names[i]);
	}
}

/* Signature value, folded. */

struct folder {
	struct buf *out;
	size_t column;
};

/* Append text, after sep (" " between tags, "" inside h=), or on a new
 * continuation line when it would not fit. */
static void fold_add(struct folder *f, const char *sep, const char *text)
{
	size_t len = strlen(text), sep_len = strlen(sep);
	if (f->column > 1 && f->column + sep_len + len > DKIM_FOLD_WIDTH) {
		buf_add_str(f->out, "\r\n ");
		f->column = 1;
	} else {
		buf_add_str(f->out, sep);
		f->column += sep_len;
	}
	buf_add_str(f->out, text);
	f->column += len;
}

static void fold_tag(struct folder *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fold_tag(struct folder *f, const char *fmt, ...)
{
	struct buf tag = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&tag, fmt, ap);
	va_end(ap);
	fold_add(f, " ", buf_str(&tag));
	buf_free(&tag);
}

/* Everything up to and including the empty "b=", which starts its own
 * line so that the signature can be folded after it. */
static void build_signature_value(const struct dkim_signer_ctx *ctx,
                                  const char *domain, time_t now,
                                  const struct name_list *h,
                                  struct buf *value)
{
	struct folder f = {value, strlen("DKIM-Signature:")};
	fold_tag(&f, "v=1;");
	fold_tag(&f, "a=%s;", dkim_key_sig_algorithm(&ctx->key));
	fold_tag(&f, "c=%s/%s;", dkim_canon_name(ctx->header_canon),
	         dkim_canon_name(ctx->body_canon));
	fold_tag(&f, "d=%s;", domain);
	fold_tag(&f, "s=%s;", ctx->selector);
	fold_tag(&f, "t=%lld;", (long long)now);
	if (ctx->expire)
		fold_tag(&f, "x=%lld;", (long long)now + ctx->expire);
	if (ctx->identity) {
		struct buf qp = BUF_INIT;
		dkim_qp_encode(ctx->identity, &qp);
		fold_tag(&f, "i=%s;", buf_str(&qp));
		buf_free(&qp);
	}
	for (size_t i = 0; i < h->count; i++) {
		struct buf item = BUF_INIT;
		buf_printf(&item, "%s%s%s", i == 0 ? "h=" : "", h->names[i],
		           i + 1 < h->count ? ":" : ";");
		fold_add(&f, i == 0 ? " " : "", buf_str(&item));
		buf_free(&item);
	}
	fold_tag(&f, "bh=%s;", buf_str(&ctx->body_hash));
	buf_add_str(value, "\r\n b=");
}

/* The base64 signature after "b=", continued on lines of at most
 * DKIM_FOLD_WIDTH; verifiers drop the folding white space (RFC 6376
 * 3.5 b=). */
static void fold_signature(const char *b64, struct buf *value)
{
	size_t column = strlen(" b="), len = strlen(b64);
	while (len) {
		if (column >= DKIM_FOLD_WIDTH) {
			buf_add_str(value, "\r\n ");
			column = 1;
		}
		size_t n = DKIM_FOLD_WIDTH - column;
		if (n > len)
			n = len;
		buf_add(value, b64, n);
		b64 += n;
		len -= n;
		column += n;
	}
}

/* Signing. */

int dkim_sign_headers(struct dkim_signer_ctx *ctx, const struct message *m,
                      const char *const *names, size_t count,
                      const char *sig_value, struct buf *b64, struct err *e)
{
	size_t fields = msg_header_count(m);
	bool *used = xcalloc(fields ? fields : 1, sizeof *used);
	struct buf data = BUF_INIT;
	/* RFC 6376 5.4.2: each name takes the next instance from the
	 * bottom; a name with none left is a null string. */
	for (size_t n = 0; n < count; n++) {
		for (size_t i = fields; i-- > 0;) {
			const char *name = msg_header_name(m, i);
			if (used[i] || !field_is(name, names[n]))
				continue;
			const char *value = msg_header_raw_value(m, i);
			dkim_header_canon(ctx->header_canon, name, strlen(name),
			                  value, strlen(value), &data);
			used[i] = true;
			break;
		}
	}
	free(used);
	/* RFC 6376 3.7: then the DKIM-Signature itself, b= empty, without
	 * its final CRLF. */
	dkim_header_canon(ctx->header_canon, "DKIM-Signature",
	                  strlen("DKIM-Signature"), sig_value,
	                  strlen(sig_value), &data);
	data.len -= 2;

	unsigned char digest[SHA256_LEN];
	int ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data, data.len,
	                           digest);
	buf_free(&data);
	if (ret < 0)
		return err_set(e, EX_SOFTWARE, "GnuTLS cannot hash with "
		               "SHA-256: %s", gnutls_strerror(ret));
	gnutls_datum_t hash = {digest, sizeof digest};
	gnutls_datum_t sig = {NULL, 0};
	if (ctx->key.type == DKIM_KEY_RSA)
		/* RFC 6376 3.3.1: RSASSA-PKCS1-v1_5 over the SHA-256 digest
		 * (GnuTLS adds the DigestInfo). */
		ret = gnutls_privkey_sign_hash2(ctx->key.privkey,
		                                GNUTLS_SIGN_RSA_SHA256, 0,
		                                &hash, &sig);
	else
		/* RFC 8463 3: PureEdDSA (RFC 8032) whose message is the
		 * SHA-256 digest of the canonical header data. */
		ret = gnutls_privkey_sign_data2(ctx->key.privkey,
		                                GNUTLS_SIGN_EDDSA_ED25519, 0,
		                                &hash, &sig);
	if (ret < 0)
		return err_set(e, EX_SOFTWARE, "DKIM signing with %s failed: "
		               "%s", dkim_key_sig_algorithm(&ctx->key),
		               gnutls_strerror(ret));
	base64_encode(sig.data, sig.size, b64);
	gnutls_free(sig.data);
	return EX_OK;
}

/* The domain of the From header's first mailbox, as a DKIM d= (A-label,
 * lower case) in *domain; *domain stays NULL when there is no From. */
static int from_domain(const struct message *m, char **domain,
                       struct err *e)
{
	*domain = NULL;
	size_t froms = count_fields(m, "from");
	if (froms == 0)
		return EX_OK;
	if (froms > 1)
		return err_set(e, EX_DATAERR, "the message has %zu From header "
		               "fields (RFC 5322 3.6 allows one); refusing to "
		               "DKIM-sign it", froms);
	const char *value = msg_header_get(m, "From");
	struct addr_list list = {NULL, 0};
	int rc = addr_parse_list(value, strlen(value), &list, e);
	if (rc == EX_OK && list.count == 0)
		rc = err_set(e, EX_DATAERR, "the From header has no address");
	char *ascii = NULL;
	if (rc == EX_OK)
		rc = addr_domain_to_ascii(list.items[0].mailbox, &ascii, e);
	if (rc == EX_OK) {
		const char *at = strrchr(ascii, '@');
		*domain = dkim_domain_normalise(at ? at + 1 : "");
		if (!*domain)
			rc = err_set(e, EX_DATAERR, "the From address '%s' has "
			             "no domain usable as DKIM d=", ascii);
	}
	free(ascii);
	addr_list_free(&list);
	return rc;
}

/* DMARC (RFC 7489 3.1.1) relaxed alignment, with the organisational
 * domain approximated: equal, or one a subdomain of the other. */
static void check_alignment(struct dkim_signer_ctx *ctx,
                            const struct message *m, const char *d)
{
	char *from = NULL;
	struct err e = ERR_INIT;
	if (from_domain(m, &from, &e) != EX_OK) {
		add_warning(ctx, "cannot check that DKIM d=%s aligns with the "
		            "From domain: %s", d, err_msg(&e));
	} else if (from && !dkim_domain_within(from, d) &&
	           !dkim_domain_within(d, from)) {
		add_warning(ctx, "DKIM d=%s does not align with the From "
		            "domain %s: receivers applying DMARC will not "
		            "count this signature", d, from);
	}
	free(from);
	err_clear(&e);
}

int dkim_sign(struct dkim_signer_ctx *ctx, struct message *m, time_t now,
              struct err *e)
{
	drop_sign_warnings(ctx);
	dkim_body_hash(ctx);
	if (ctx->body_failed)
		return err_set(e, EX_SOFTWARE, "GnuTLS failed to hash the body "
		               "for DKIM");
	if (ctx->body_after_finish)
		return err_set(e, EX_SOFTWARE, "internal error: DKIM body data "
		               "arrived after the body hash was finished");
	char *from = NULL;
	const char *domain = ctx->domain;
	if (!domain) {
		int rc = from_domain(m, &from, e);
		if (rc == EX_OK && !from)
			rc = err_set(e, EX_DATAERR, "the message has no From "
			             "header to take the DKIM domain from (set "
			             "dkim_domain)");
		if (rc != EX_OK) {
			err_prefix(e, "DKIM");
			return rc;
		}
		domain = from;
	}
	int rc = EX_OK;
	if (ctx->identity)
		rc = check_identity_domain(ctx->identity, domain, e);
	if (rc == EX_OK && ctx->expire > LLONG_MAX - (long long)now)
		rc = err_set(e, EX_CONFIG, "dkim_expire %ld is too large",
		             ctx->expire);

	struct name_list h = {NULL, 0};
	struct buf value = BUF_INIT, b64 = BUF_INIT;
	if (rc == EX_OK) {
		choose_headers(ctx, m, &h);
		build_signature_value(ctx, domain, now, &h, &value);
		rc = dkim_sign_headers(ctx, m, h.names, h.count,
		                       buf_str(&value), &b64, e);
	}
	if (rc == EX_OK) {
		fold_signature(buf_str(&b64), &value);
		if (ctx->domain)
			check_alignment(ctx, m, domain);
		msg_prepend_header(m, "DKIM-Signature", buf_str(&value));
	}
	free(h.names);
	buf_free(&value);
	buf_free(&b64);
	free(from);
	return rc;
}
