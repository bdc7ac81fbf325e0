/* fuzz_dmarc.c - libFuzzer target for DMARC (dmarc.h) and the
 * organizational domain (org_domain.h).
 *
 * The first byte picks what the rest is:
 *  0  a DMARC record: dmarc_parse. A text dmarc_is_record refuses is
 *     refused. An accepted record has p and sp in range (sp equal to p
 *     without sp=; p none and no sp when policy_invalid), pct 0..100,
 *     adkim and aspf in range, fo a non-empty set of the four bits, rf
 *     lower-case keywords, every URI non-empty, with a scheme and free of
 *     control characters, white space, "," and "!", and never a size
 *     limit of 0 that was published; it formats (dmarc_record_format) to
 *     a text that parses back equal and formats to the same bytes. A
 *     refusal is EX_DATAERR with a clean, bounded message and an empty
 *     record.
 *  1  a record built from the bytes out of valid pieces (tags in any
 *     order and case, white space, URIs with size limits): always
 *     accepted, and then as in 0.
 *  2  two domain names (split at the first NUL): org_domain,
 *     org_domain_guess, org_domain_normalize agree on what is a name; the
 *     organizational domain and the guess are the name or a suffix of it
 *     at a label boundary; dmarc_aligned is symmetric, strict implies
 *     relaxed, a name aligns with itself; dmarc_lookup_names gives
 *     "_dmarc.NAME" and "_dmarc.ORG" when ORG differs. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc.h"
#include "err.h"
#include "org_domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal's message: the code, short, no control character. */
static void check_message(const struct err *e, int code)
{
	const char *msg = err_msg(e);
	if (e->code != code || !*msg || strlen(msg) > 512)
		abort();
	for (const char *s = msg; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static bool valid_policy(enum dmarc_policy p)
{
	return p == DMARC_NONE || p == DMARC_QUARANTINE || p == DMARC_REJECT;
}

static bool valid_align(enum dmarc_align a)
{
	return a == DMARC_RELAXED || a == DMARC_STRICT;
}

static void check_uris(char **uris, const uint64_t *limits, size_t count)
{
	if (count && (!uris || !limits))
		abort();
	for (size_t i = 0; i < count; i++) {
		const char *u = uris[i];
		if (!u || !*u || !strchr(u, ':') || strchr(u, ',') ||
		    strchr(u, '!'))
			abort();
		for (const char *s = u; *s; s++)
			if ((unsigned char)*s <= 0x20 ||
			    (unsigned char)*s >= 0x7f)
				abort();
	}
}

static void check_valid(const struct dmarc_record *r)
{
	if (!valid_policy(r->p) || !valid_policy(r->sp) || r->pct < 0 ||
	    r->pct > DMARC_PCT_MAX || !valid_align(r->adkim) ||
	    !valid_align(r->aspf) || r->fo == 0 || r->fo > 15 ||
	    (!r->has_sp && r->sp != r->p) ||
	    (r->policy_invalid && (r->p != DMARC_NONE || r->has_sp ||
	                           r->rua_count == 0 || r->p_not_second)))
		abort();
	check_uris(r->rua, r->rua_limit, r->rua_count);
	check_uris(r->ruf, r->ruf_limit, r->ruf_count);
	if (r->rf) {
		if (!*r->rf)
			abort();
		for (const char *s = r->rf; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') ||
			      (*s >= '0' && *s <= '9') || *s == '-' ||
			      *s == ':'))
				abort();
	}
}

static bool uris_equal(char **a, const uint64_t *al, size_t an, char **b,
                       const uint64_t *bl, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (strcmp(a[i], b[i]) != 0 || al[i] != bl[i])
			return false;
	return true;
}

static bool records_equal(const struct dmarc_record *a,
                          const struct dmarc_record *b)
{
	return a->p == b->p && a->has_sp == b->has_sp && a->sp == b->sp &&
	       a->pct == b->pct && a->adkim == b->adkim && a->aspf == b->aspf &&
	       a->fo == b->fo && a->ri == b->ri &&
	       ((!a->rf && !b->rf) ||
	        (a->rf && b->rf && strcmp(a->rf, b->rf) == 0)) &&
	       uris_equal(a->rua, a->rua_limit, a->rua_count, b->rua,
	                  b->rua_limit, b->rua_count) &&
	       uris_equal(a->ruf, a->ruf_limit, a->ruf_count, b->ruf,
	                  b->ruf_limit, b->ruf_count);
}

static void check_record(const char *text, size_t len, bool must_accept)
{
	struct dmarc_record r;
	struct err e = ERR_INIT;
	int rc = dmarc_parse(text, len, &r, &e);
	if (rc != EX_OK) {
		check_message(&e, EX_DATAERR);
		if (must_accept || r.rua || r.ruf || r.rf || r.rua_count ||
		    r.ruf_count || r.policy_invalid)
			abort();
		err_clear(&e);
		return;
	}
	if (!dmarc_is_record(text, len))
		abort();
	check_valid(&r);
	struct buf once = BUF_INIT, twice = BUF_INIT;
	dmarc_record_format(&r, &once);
	struct dmarc_record back;
	if (dmarc_parse(once.data, once.len, &back, &e) != EX_OK ||
	    !records_equal(&r, &back) || back.policy_invalid ||
	    back.p_not_second)
		abort();
	dmarc_record_format(&back, &twice);
	if (once.len != twice.len || memcmp(once.data, twice.data, once.len))
		abort();
	buf_free(&once);
	buf_free(&twice);
	dmarc_record_free(&back);
	dmarc_record_free(&r);
}

/* ---- records built from valid pieces ------------------------------------- */

struct reader {
	const uint8_t *data;
	size_t size, at;
};

static unsigned next(struct reader *rd)
{
	return rd->at < rd->size ? rd->data[rd->at++] : 0;
}

static const char *pick(struct reader *rd, const char *const *list,
                        size_t count)
{
	return list[next(rd) % count];
}

#define PICK(rd, list) pick(rd, list, sizeof list / sizeof *list)

static void add_cased(struct buf *b, const char *s, unsigned mask)
{
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if ((mask >> (i % 8)) & 1 && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		buf_add_char(b, c);
	}
}

static void add_space(struct buf *b, struct reader *rd)
{
	static const char *const spaces[] = {"", "", " ", "\t", "  "};
	buf_add_str(b, PICK(rd, spaces));
}

static void add_uris(struct buf *b, struct reader *rd)
{
	static const char *const uris[] = {
	    "mailto:a@example.com", "mailto:dmarc+x@report.example.net",
	    "https://r.example/x?y=1", "mailto:a%2Cb@example.com"};
	static const char *const sizes[] = {"",    "",    "!1",  "!10k",
	                                    "!5M", "!2g", "!1t", "!007"};
	unsigned n = 1 + next(rd) % 3;
	for (unsigned i = 0; i < n; i++) {
		if (i) {
			add_space(b, rd);
			buf_add_char(b, ',');
			add_space(b, rd);
		}
		buf_add_str(b, PICK(rd, uris));
		buf_add_str(b, PICK(rd, sizes));
	}
}

static void build_record(struct reader *rd, struct buf *b)
{
	static const char *const policies[] = {"none", "quarantine", "reject"};
	static const char *const tags[] = {"sp",  "pct", "adkim", "aspf", "rua",
	                                   "ruf", "fo",  "rf",    "ri",   "x"};
	static const char *const fo[] = {"0",   "1",     "d",      "s",
	                                 "0:1", "d : s", "1:d:s:0"};
	static const char *const rf[] = {"afrf", "iodef", "afrf:iodef"};
	static const char *const align[] = {"r", "s"};
	add_space(b, rd);
	add_cased(b, "v", next(rd));
	add_space(b, rd);
	buf_add_str(b, "=DMARC1");
	bool used[sizeof tags / sizeof *tags] = {false};
	unsigned count = next(rd) % 8, p_at = next(rd) % (count + 1);
	for (unsigned i = 0; i <= count; i++) {
		size_t k = next(rd) % (sizeof tags / sizeof *tags);
		if (i != p_at && used[k])
			continue;
		add_space(b, rd);
		buf_add_char(b, ';');
		add_space(b, rd);
		if (i == p_at) {
			add_cased(b, "p", next(rd));
			buf_add_char(b, '=');
			add_cased(b, PICK(rd, policies), next(rd));
			continue;
		}
		used[k] = true;
		add_cased(b, tags[k], next(rd));
		add_space(b, rd);
		buf_add_char(b, '=');
		add_space(b, rd);
		switch (k) {
		case 0:
			add_cased(b, PICK(rd, policies), next(rd));
			break;
		case 1:
			buf_printf(b, "%u", next(rd) % 101);
			break;
		case 2:
		case 3:
			add_cased(b, PICK(rd, align), next(rd));
			break;
		case 4:
		case 5:
			add_uris(b, rd);
			break;
		case 6:
			add_cased(b, PICK(rd, fo), next(rd));
			break;
		case 7:
			add_cased(b, PICK(rd, rf), next(rd));
			break;
		case 8: {
			unsigned high = next(rd);
			buf_printf(b, "%u", high << 16 | next(rd));
			break;
		}
		default:
			buf_add_str(b, "anything at all");
		}
	}
	if (next(rd) & 1)
		buf_add_char(b, ';');
	add_space(b, rd);
}

/* ---- domain names -------------------------------------------------------- */

/* s is n itself, or a suffix of n starting after a "." */
static bool label_suffix(const char *s, const char *n)
{
	size_t sl = strlen(s), nl = strlen(n);
	return sl <= nl && strcmp(n + nl - sl, s) == 0 &&
	       (sl == nl || n[nl - sl - 1] == '.');
}

static void check_name(const char *name)
{
	char *norm = org_domain_normalize(name);
	char *org = org_domain(name);
	char *guess = org_domain_guess(name);
	if (!norm != !org || !norm != !guess)
		abort();
	if (norm) {
		if (strlen(norm) > ORG_DOMAIN_NAME_MAX || !*norm ||
		    !label_suffix(org, norm) || !label_suffix(guess, norm) ||
		    !dmarc_aligned(name, name, DMARC_STRICT) ||
		    !dmarc_aligned(name, norm, DMARC_RELAXED))
			abort();
		for (const char *s = norm; *s; s++)
			if ((*s >= 'A' && *s <= 'Z') ||
			    (unsigned char)*s <= 0x20)
				abort();
	}
	char *first = NULL, *second = NULL;
	struct err e = ERR_INIT;
	int rc = dmarc_lookup_names(name, &first, &second, &e);
	if (rc == EX_OK) {
		if (!norm || strncmp(first, DMARC_NAME_PREFIX, 7) != 0 ||
		    strcmp(first + 7, norm) != 0 ||
		    strlen(first) > DMARC_NAME_MAX)
			abort();
		if (second
		        ? strcmp(second + 7, org) != 0 || strcmp(org, norm) == 0
		        : strcmp(org, norm) != 0)
			abort();
	} else {
		check_message(&e, EX_DATAERR);
		if (first || second)
			abort();
	}
	err_clear(&e);
	free(first);
	free(second);
	free(norm);
	free(org);
	free(guess);
}

static void check_names(const char *a, const char *b)
{
	check_name(a);
	check_name(b);
	bool strict = dmarc_aligned(a, b, DMARC_STRICT);
	bool relaxed = dmarc_aligned(a, b, DMARC_RELAXED);
	if (strict != dmarc_aligned(b, a, DMARC_STRICT) ||
	    relaxed != dmarc_aligned(b, a, DMARC_RELAXED) ||
	    (strict && !relaxed))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		check_record(text, len, false);
		break;
	case 1: {
		struct reader rd = {data + 1, size - 1, 0};
		struct buf b = BUF_INIT;
		build_record(&rd, &b);
		check_record(b.data, b.len, true);
		buf_free(&b);
		break;
	}
	default: {
		/* names are C strings: split at the first NUL, cap the rest */
		char *copy = malloc(len + 2);
		if (!copy)
			return 0;
		memcpy(copy, text, len);
		copy[len] = '\0';
		copy[len + 1] = '\0';
		size_t first = strlen(copy);
		check_names(copy, copy + first + (first < len));
		free(copy);
	}
	}
	return 0;
}
