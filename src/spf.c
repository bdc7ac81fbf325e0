/* spf.c - SPF's pure half: which records are SPF records, the record
 * grammar, the canonical form, macro expansion and the known providers;
 * see spf.h. The walk over DNS is in spf_eval.c. */
#include "spf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* RFC 7208 4.5 and 12: version = "v=spf1". */
#define VERSION     "v=spf1"
#define VERSION_LEN 6
/* RFC 7208 12: ip4-cidr-length and ip6-cidr-length's ranges. */
#define MAX_CIDR4 32
#define MAX_CIDR6 128
/* The most a domain-spec may grow while macros expand: a record's
 * macros, each as long as the longest sender, could make megabytes of
 * which only the last SPF_MAX_DOMAIN bytes are kept (7.3); more is
 * refused. */
#define MAX_EXPANSION ((size_t)4 * SPF_MAX_RECORD)
/* A transformer's digits past this keep every part anyway (7.3: "all the
 * available parts are used"); the value stops growing there. */
#define MAX_PARTS_DIGITS 1000
/* RFC 7208 7.3: %{p} when the client's name is not validated. */
#define UNKNOWN_NAME "unknown"

/* ---- characters ---------------------------------------------------------- */

/* c is one of set (never the NUL that ends set). */
static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* s[0..n) is word, in any case (RFC 5234 2.3: ABNF strings are
 * case-insensitive). */
static bool word_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && ascii_ncasecmp(s, word, n) == 0;
}

bool spf_is_record(const char *text, size_t len)
{
	/* RFC 7208 4.5: "the version section is terminated by either an SP
	 * character or the end of the record" */
	return text && len >= VERSION_LEN &&
	       ascii_ncasecmp(text, VERSION, VERSION_LEN) == 0 &&
	       (len == VERSION_LEN || text[VERSION_LEN] == ' ');
}

/* ---- the mechanisms ------------------------------------------------------ */

/* What follows a mechanism's name. */
enum argument {
	ARG_NONE,     /* all */
	ARG_OPTIONAL, /* [":" domain-spec] */
	ARG_REQUIRED, /* ":" domain-spec */
	ARG_ADDRESS,  /* ":" ip4-network / ip6-network, then a prefix */
};

/* RFC 7208 5 and 12, one row per mechanism, in enum spf_mech_type's
 * order; everything the parser and the formatter do follows the row. */
static const struct mech_kind {
	const char *name;
	enum argument argument;
	bool dual_cidr; /* [dual-cidr-length] after the domain-spec */
	const char *section;
} mech_kinds[] = {
    [SPF_ALL] = {"all", ARG_NONE, false, "5.1"},
    [SPF_INCLUDE] = {"include", ARG_REQUIRED, false, "5.2"},
    [SPF_A] = {"a", ARG_OPTIONAL, true, "5.3"},
    [SPF_MX] = {"mx", ARG_OPTIONAL, true, "5.4"},
    [SPF_PTR] = {"ptr", ARG_OPTIONAL, false, "5.5"},
    [SPF_IP4] = {"ip4", ARG_ADDRESS, false, "5.6"},
    [SPF_IP6] = {"ip6", ARG_ADDRESS, false, "5.6"},
    [SPF_EXISTS] = {"exists", ARG_REQUIRED, false, "5.7"},
};

#define MECH_KINDS (sizeof mech_kinds / sizeof *mech_kinds)

/* ---- errors -------------------------------------------------------------- */

/* Text from a record or a name in a message: visible ASCII and spaces as
 * they are, every other byte (TAB, UTF-8 included: neither belongs in a
 * record) as "\xNN", at most SPF_MAX_QUOTE bytes of it, then "...". */
static void quote(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && i < SPF_MAX_QUOTE; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c <= 0x7e)
			buf_add_char(b, (char)c);
		else
			buf_printf(b, "\\x%02x", c);
	}
	if (n > SPF_MAX_QUOTE)
		buf_add_str(b, "...");
}

/* "term N 'TERM': WHY". */
static int term_error(struct err *e, size_t index, const char *term, size_t n,
                      const char *why)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "term %zu '", index);
	quote(&b, term, n);
	buf_printf(&b, "': %s", why);
	int rc = err_set(e, EX_DATAERR, "%s", buf_str(&b));
	buf_free(&b);
	return rc;
}

/* ---- macro-strings and domain-specs (RFC 7208 7.1) ----------------------- */

/* One macro-expand at s[0..n) (s[0] is '%'): its length, or 0 with *why.
 * in_domain: c, r and t are refused (7.1: "allowed only in exp text"). */
static size_t scan_macro(const char *s, size_t n, bool in_domain,
                         const char **why)
{
	if (n >= 2 && in_set(s[1], "%_-"))
		return 2; /* "%%", "%_", "%-" */
	if (n < 2 || s[1] != '{') {
		*why = "'%' not followed by '{', '%', '_' or '-' (write %% "
		       "for a percent sign; RFC 7208 7.1)";
		return 0;
	}
	size_t j = 2;
	char letter = j < n ? ascii_tolower(s[j]) : '\0';
	if (!in_set(letter, "slodiphcrtv")) {
		*why = "a macro with an unknown letter (RFC 7208 7.1)";
		return 0;
	}
	if (in_domain && in_set(letter, "crt")) {
		*why = "macro letters c, r and t are allowed only in "
		       "explanation text (RFC 7208 7.1)";
		return 0;
	}
	j++;
	size_t digits = j;
	bool nonzero = false;
	for (; j < n && ascii_is_digit(s[j]); j++)
		nonzero = nonzero || s[j] != '0';
	if (j > digits && !nonzero) {
		*why = "a macro keeping 0 parts (RFC 7208 7.3: the number "
		       "must be nonzero)";
		return 0;
	}
	if (j < n && ascii_tolower(s[j]) == 'r')
		j++;
	while (j < n && in_set(s[j], ".-+,/_="))
		j++;
	if (j >= n || s[j] != '}') {
		*why = "a macro that is not %{letter digits r delimiters} "
		       "(RFC 7208 7.1)";
		return 0;
	}
	return j + 1;
}

/* A macro-string (visible ASCII but '%', and macros): NULL when fine,
 * else why not. *tail: where the literals after the last macro begin
 * (the end when it ends in a macro), for domain-end. */
static const char *scan_macro_string(const char *s, size_t n, bool in_domain,
                                     size_t *tail)
{
	*tail = 0;
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e)
			return "a character that is not visible ASCII "
			       "(RFC 7208 7.1)";
		if (c != '%') {
			i++;
			continue;
		}
		const char *why = NULL;
		size_t len = scan_macro(s + i, n - i, in_domain, &why);
		if (len == 0)
			return why;
		i += len;
		*tail = i;
	}
	return NULL;
}

/* RFC 7208 7.1 toplabel = ( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum ). */
static bool valid_toplabel(const char *s, size_t n)
{
	bool alpha = false, hyphen = false;
	for (size_t i = 0; i < n; i++) {
		if (ascii_is_alpha(s[i]))
			alpha = true;
		else if (s[i] == '-')
			hyphen = true;
		else if (!ascii_is_digit(s[i]))
			return false;
	}
	if (n == 0)
		return false;
	return hyphen ? ascii_is_alnum(s[0]) && ascii_is_alnum(s[n - 1]) : alpha;
}

/* domain-spec = macro-string domain-end, domain-end = ( "." toplabel
 * [ "." ] ) / macro-expand: NULL when fine, else why not. */
static const char *check_domain_spec(const char *s, size_t n)
{
	if (n == 0)
		return "no domain (RFC 7208 7.1)";
	size_t tail;
	const char *why = scan_macro_string(s, n, true, &tail);
	if (why)
		return why;
	if (tail == n)
		return NULL; /* ends in a macro */
	size_t end = n;
	if (s[end - 1] == '.')
		end--;
	size_t label = end;
	while (label > tail && s[label - 1] != '.')
		label--;
	if (label == tail)
		return "not a domain: it needs a dot and a top label, or to "
		       "end in a macro (RFC 7208 7.1)";
	if (!valid_toplabel(s + label, end - label))
		return "not a domain: the top label is not letters, digits "
		       "and inner hyphens with a letter (RFC 7208 7.1)";
	return NULL;
}

/* ---- addresses and prefixes ---------------------------------------------- */

/* RFC 7208 12 ip4-network: four qnum (0..255, no leading zero). */
static bool parse_ip4(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		unsigned value = 0;
		while (i < n && ascii_is_digit(s[i]) && i - start < 3)
			value = value * 10 + (unsigned)(s[i++] - '0');
		size_t len = i - start;
		if (len == 0 || value > 255 || (len > 1 && s[start] == '0'))
			return false;
		out[part] = (unsigned char)value;
	}
	return i == n;
}

/* RFC 4291 2.2 text, as inet_pton reads it. */
static bool parse_ip6(const char *s, size_t n, unsigned char out[16])
{
	char text[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof text)
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, out) == 1;
}

/* RFC 7208 12 ip4-cidr-length / ip6-cidr-length after the "/": "0" or
 * digits without a leading zero, at most max. */
static bool parse_cidr(const char *s, size_t n, int max, int *out)
{
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return false;
	int value = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit(s[i]))
			return false;
		value = value * 10 + (s[i] - '0');
	}
	if (value > max)
		return false;
	*out = value;
	return true;
}

/* The number of digits that end s[0..n). */
static size_t trailing_digits(const char *s, size_t n)
{
	size_t d = 0;
	while (d < n && ascii_is_digit(s[n - 1 - d]))
		d++;
	return d;
}

/* a and mx: dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
 * at the end of s[0..*n), taken off *n. A domain-spec cannot end in
 * "/" DIGITs (its top label or macro ends it), so every such tail is a
 * prefix, and a bad one an error. NULL or why. */
static const char *strip_dual_cidr(const char *s, size_t *n, int *cidr4,
                                   int *cidr6)
{
	size_t len = *n, d = trailing_digits(s, len);
	if (d > 0 && len >= d + 2 && s[len - d - 1] == '/' &&
	    s[len - d - 2] == '/') {
		if (!parse_cidr(s + len - d, d, MAX_CIDR6, cidr6))
			return "an IPv6 prefix length that is not 0 to 128 "
			       "(RFC 7208 5.6)";
		len -= d + 2;
		d = trailing_digits(s, len);
	}
	if (d > 0 && len >= d + 1 && s[len - d - 1] == '/') {
		if (!parse_cidr(s + len - d, d, MAX_CIDR4, cidr4))
			return "an IPv4 prefix length that is not 0 to 32 "
			       "(RFC 7208 5.6)";
		len -= d + 1;
	}
	*n = len;
	return NULL;
}

/* ip4:/ip6: "ADDRESS[/PREFIX]" after the colon into m. NULL or why. */
static const char *parse_address(const char *s, size_t n, struct spf_mech *m)
{
	const char *slash = memchr(s, '/', n);
	size_t addr_len = slash ? (size_t)(slash - s) : n;
	bool v4 = m->type == SPF_IP4;
	if (v4 ? !parse_ip4(s, addr_len, m->addr)
	       : !parse_ip6(s, addr_len, m->addr))
		return v4 ? "not an IPv4 address (RFC 7208 5.6)"
		          : "not an IPv6 address (RFC 7208 5.6)";
	m->addr_len = v4 ? 4 : 16;
	if (!slash)
		return NULL;
	const char *p = slash + 1;
	size_t pn = n - addr_len - 1;
	if (!parse_cidr(p, pn, v4 ? MAX_CIDR4 : MAX_CIDR6,
	                v4 ? &m->cidr4 : &m->cidr6))
		return v4 ? "an IPv4 prefix length that is not 0 to 32 "
		            "(RFC 7208 5.6)"
		          : "an IPv6 prefix length that is not 0 to 128 "
		            "(RFC 7208 5.6)";
	return NULL;
}

/* ---- terms --------------------------------------------------------------- */

static void add_mech(struct spf_record *r, const struct spf_mech *m)
{
	r->mechs = xrealloc(r->mechs, (r->count + 1) * sizeof *r->mechs);
	r->mechs[r->count++] = *m;
}

/* What follows the mechanism's name (s[0..n)) into m. NULL or why. */
static const char *mech_argument(const struct mech_kind *kind, const char *s,
                                 size_t n, struct spf_mech *m)
{
	const char *why = NULL;
	switch (kind->argument) {
	case ARG_NONE:
		return n ? "\"all\" takes no argument (RFC 7208 5.1)" : NULL;
	case ARG_ADDRESS:
		if (n == 0 || s[0] != ':')
			return "no address after the name (RFC 7208 5.6)";
		return parse_address(s + 1, n - 1, m);
	case ARG_OPTIONAL:
	case ARG_REQUIRED:
		if (kind->dual_cidr &&
		    (why = strip_dual_cidr(s, &n, &m->cidr4, &m->cidr6)))
			return why;
		if (n == 0)
			return kind->argument == ARG_REQUIRED
			           ? "no domain after the name (RFC 7208 5)"
			           : NULL;
		if (s[0] != ':')
			return "the name is followed by something other than "
			       "':' (RFC 7208 12)";
		if ((why = check_domain_spec(s + 1, n - 1)))
			return why;
		m->domain_spec = xstrndup(s + 1, n - 1);
		return NULL;
	}
	return NULL;
}

/* directive = [ qualifier ] mechanism (RFC 7208 4.6.2, 5). */
static int parse_mechanism(const char *t, size_t n, size_t index,
                           struct spf_record *r, struct err *e)
{
	struct spf_mech m = {.q = SPF_PASS, .cidr4 = -1, .cidr6 = -1};
	size_t i = 0;
	if (in_set(t[0], "+-~?"))
		m.q = (enum spf_qualifier)t[i++];
	size_t end = i;
	while (end < n && t[end] != ':' && t[end] != '/')
		end++;
	const struct mech_kind *kind = NULL;
	for (size_t k = 0; k < MECH_KINDS && !kind; k++)
		if (word_is(t + i, end - i, mech_kinds[k].name)) {
			kind = &mech_kinds[k];
			m.type = (enum spf_mech_type)k;
		}
	if (!kind)
		return term_error(e, index, t, n,
		                  "not a mechanism (all, include, a, mx, ptr, "
		                  "ip4, ip6, exists) nor a modifier: receivers "
		                  "answer permerror (RFC 7208 5)");
	const char *why = mech_argument(kind, t + end, n - end, &m);
	if (why) {
		free(m.domain_spec);
		return term_error(e, index, t, n, why);
	}
	add_mech(r, &m);
	return EX_OK;
}

/* RFC 7208 12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ). */
static bool valid_modifier_name(const char *s, size_t n)
{
	if (n == 0 || !ascii_is_alpha(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ascii_is_alnum(s[i]) && !in_set(s[i], "-_."))
			return false;
	return true;
}

/* modifier = redirect / explanation / unknown-modifier (RFC 7208 6). */
static int parse_modifier(const char *t, size_t n, size_t eq, size_t index,
                          struct spf_record *r, struct err *e)
{
	const char *v = t + eq + 1;
	size_t vn = n - eq - 1;
	if (!valid_modifier_name(t, eq))
		return term_error(
		    e, index, t, n,
		    "not a modifier name (a letter, then letters, "
		    "digits, '-', '_' or '.'; RFC 7208 12)");
	bool redirect = word_is(t, eq, "redirect");
	if (redirect || word_is(t, eq, "exp")) {
		char **slot = redirect ? &r->redirect : &r->exp;
		if (*slot)
			return term_error(
			    e, index, t, n,
			    redirect ? "a second redirect= (RFC 7208 6: at "
			               "most one, else permerror)"
			             : "a second exp= (RFC 7208 6: at most "
			               "one, else permerror)");
		const char *why = check_domain_spec(v, vn);
		if (why)
			return term_error(e, index, t, n, why);
		*slot = xstrndup(v, vn);
		return EX_OK;
	}
	size_t tail;
	const char *why = scan_macro_string(v, vn, false, &tail);
	if (why)
		return term_error(e, index, t, n, why);
	r->unknown = xrealloc(r->unknown,
	                      (r->unknown_modifiers + 1) * sizeof *r->unknown);
	r->unknown[r->unknown_modifiers].name = xstrndup(t, eq);
	r->unknown[r->unknown_modifiers++].value = xstrndup(v, vn);
	return EX_OK;
}

/* One term (no space in it): a modifier when a name is followed by "="
 * before any ':' or '/' (RFC 7208 4.6.1), a mechanism otherwise. */
static int parse_term(const char *t, size_t n, size_t index,
                      struct spf_record *r, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x21 || c > 0x7e)
			return term_error(e, index, t, n,
			                  "a character that is not visible "
			                  "ASCII (RFC 7208 12)");
	}
	size_t sep = 0;
	while (sep < n && !in_set(t[sep], ":/="))
		sep++;
	if (sep < n && t[sep] == '=')
		return parse_modifier(t, n, sep, index, r, e);
	return parse_mechanism(t, n, index, r, e);
}

int spf_parse(const char *text, size_t len, struct spf_record *out,
              struct err *e)
{
	memset(out, 0, sizeof *out);
	if (len > SPF_MAX_RECORD)
		return err_set(e, EX_DATAERR,
		               "the SPF record is %zu bytes long, more than "
		               "the %d taken",
		               len, SPF_MAX_RECORD);
	if (!spf_is_record(text, len))
		return err_set(e, EX_DATAERR,
		               "the record does not begin with \"v=spf1\" and "
		               "a space (RFC 7208 4.5)");
	/* RFC 7208 4.6.1: terms = *( 1*SP ( directive / modifier ) ),
	 * then *SP */
	size_t pos = VERSION_LEN, index = 0;
	int rc = EX_OK;
	while (rc == EX_OK && pos < len) {
		while (pos < len && text[pos] == ' ')
			pos++;
		if (pos == len)
			break;
		size_t start = pos;
		while (pos < len && text[pos] != ' ')
			pos++;
		if (++index > SPF_MAX_TERMS)
			rc = err_set(e, EX_DATAERR,
			             "the SPF record has more than %d terms",
			             SPF_MAX_TERMS);
		else
			rc = parse_term(text + start, pos - start, index, out,
			                e);
	}
	if (rc != EX_OK)
		spf_record_free(out);
	return rc;
}

/* ---- the canonical form -------------------------------------------------- */

void spf_mech_format(const struct spf_mech *m, struct buf *out)
{
	if (m->q != SPF_PASS)
		buf_add_char(out, (char)m->q);
	buf_add_str(out, mech_kinds[m->type].name);
	if (m->type == SPF_IP4 || m->type == SPF_IP6) {
		char text[INET6_ADDRSTRLEN] = "";
		inet_ntop(m->type == SPF_IP4 ? AF_INET : AF_INET6, m->addr,
		          text, sizeof text);
		buf_printf(out, ":%s", text);
		int prefix = m->type == SPF_IP4 ? m->cidr4 : m->cidr6;
		if (prefix >= 0)
			buf_printf(out, "/%d", prefix);
		return;
	}
	if (m->domain_spec)
		buf_printf(out, ":%s", m->domain_spec);
	if (m->cidr4 >= 0)
		buf_printf(out, "/%d", m->cidr4);
	if (m->cidr6 >= 0)
		buf_printf(out, "//%d", m->cidr6);
}

void spf_record_format(const struct spf_record *r, struct buf *out)
{
	buf_add_str(out, VERSION);
	for (size_t i = 0; i < r->count; i++) {
		buf_add_char(out, ' ');
		spf_mech_format(&r->mechs[i], out);
	}
	if (r->redirect)
		buf_printf(out, " redirect=%s", r->redirect);
	if (r->exp)
		buf_printf(out, " exp=%s", r->exp);
	for (size_t i = 0; i < r->unknown_modifiers; i++)
		buf_printf(out, " %s=%s", r->unknown[i].name,
		           r->unknown[i].value);
}

void spf_record_free(struct spf_record *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->mechs[i].domain_spec);
	free(r->mechs);
	free(r->redirect);
	free(r->exp);
	for (size_t i = 0; i < r->unknown_modifiers; i++) {
		free(r->unknown[i].name);
		free(r->unknown[i].value);
	}
	free(r->unknown);
	memset(r, 0, sizeof *r);
}

/* ---- macro expansion (RFC 7208 7.3) -------------------------------------- */

/* The sender's parts: RFC 7208 4.3, a missing local part reads
 * "postmaster"; no sender at all is postmaster@<domain>. */
struct sender {
	const char *local, *domain, *whole;
	size_t local_len;
	struct buf built; /* whole, when it had to be made */
};

static void sender_parts(const struct spf_macro_env *env, struct sender *s)
{
	memset(s, 0, sizeof *s);
	const char *sender = env->sender;
	const char *at = sender ? strrchr(sender, '@') : NULL;
	if (sender && at && at > sender) {
		s->whole = sender;
		s->local = sender;
		s->local_len = (size_t)(at - sender);
		s->domain = at + 1;
		return;
	}
	s->domain = !sender ? env->domain : at ? at + 1 : sender;
	s->local = "postmaster";
	s->local_len = strlen(s->local);
	buf_printf(&s->built, "postmaster@%s", s->domain);
	s->whole = buf_str(&s->built);
}

/* %{i}: dotted quad, or (7.3) the 32 nibbles of an IPv6 address
 * separated by dots. */
static void add_ip(const unsigned char *ip, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	if (len == 4) {
		buf_printf(out, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	for (size_t i = 0; i < len; i++)
		buf_printf(out, "%s%c.%c", i ? "." : "", hex[ip[i] >> 4],
		           hex[ip[i] & 15]);
}

/* The value of one macro letter (lower case) into out: EX_OK, or
 * EX_UNAVAILABLE when it needs the client address and env has none. */
static int macro_value(char letter, const struct spf_macro_env *env,
                       const struct sender *s, struct buf *out)
{
	bool needs_ip = in_set(letter, "ivpc");
	if (needs_ip && env->ip_len != 4 && env->ip_len != 16)
		return EX_UNAVAILABLE;
	switch (letter) {
	case 's':
		buf_add_str(out, s->whole);
		break;
	case 'l':
		buf_add(out, s->local, s->local_len);
		break;
	case 'o':
		buf_add_str(out, s->domain);
		break;
	case 'd':
		buf_add_str(out, env->domain);
		break;
	case 'h':
		buf_add_str(out, env->helo ? env->helo : s->domain);
		break;
	case 'i':
		add_ip(env->ip, env->ip_len, out);
		break;
	case 'v':
		buf_add_str(out, env->ip_len == 4 ? "in-addr" : "ip6");
		break;
	case 'p':
		buf_add_str(out, UNKNOWN_NAME);
		break;
	}
	return EX_OK;
}

/* RFC 3986 2.3 unreserved characters stay, every other byte is %XX. */
static void url_escape(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (ascii_is_alnum((char)c) || in_set((char)c, "-._~"))
			buf_add_char(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

/* Split value on delimiters, maybe reverse, keep the right-most keep
 * parts (0: all), join with "." (RFC 7208 7.3). */
static void transform(const char *value, size_t n, const char *delims,
                      bool reverse, size_t keep, struct buf *out)
{
	size_t count = 1;
	for (size_t i = 0; i < n; i++)
		count += in_set(value[i], delims);
	size_t *start = xcalloc(count, sizeof *start);
	size_t *len = xcalloc(count, sizeof *len);
	size_t part = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && !in_set(value[i], delims)) {
			len[part]++;
			continue;
		}
		if (i < n)
			start[++part] = i + 1;
	}
	size_t first = keep && keep < count ? count - keep : 0;
	for (size_t k = first; k < count; k++) {
		size_t p = reverse ? count - 1 - k : k;
		if (k > first)
			buf_add_char(out, '.');
		buf_add(out, value + start[p], len[p]);
	}
	free(start);
	free(len);
}

/* One macro-expand at spec[0..n) (scan_macro accepted it) into out;
 * *used its length. */
static int expand_macro(const char *spec, size_t n,
                        const struct spf_macro_env *env, const struct sender *s,
                        struct buf *out, size_t *used)
{
	if (spec[1] != '{') {
		*used = 2;
		buf_add_str(out, spec[1] == '%'   ? "%"
		                 : spec[1] == '_' ? " "
		                                  : "%20");
		return EX_OK;
	}
	char letter = spec[2];
	size_t j = 3, keep = 0;
	for (; j < n && ascii_is_digit(spec[j]); j++)
		if (keep < MAX_PARTS_DIGITS)
			keep = keep * 10 + (size_t)(spec[j] - '0');
	bool reverse = j < n && ascii_tolower(spec[j]) == 'r';
	j += reverse;
	/* the delimiters, each once (scan_macro allowed these seven) */
	char delims[8] = "";
	size_t dn = 0;
	for (; j < n && spec[j] != '}'; j++)
		if (!in_set(spec[j], delims) && dn < sizeof delims - 1)
			delims[dn++] = spec[j];
	*used = j + 1;
	struct buf value = BUF_INIT, shaped = BUF_INIT;
	int rc = macro_value(ascii_tolower(letter), env, s, &value);
	if (rc == EX_OK) {
		transform(buf_str(&value), value.len, dn ? delims : ".",
		          reverse, keep, &shaped);
		/* 7.3: an upper-case letter is URL-escaped */
		if (letter != ascii_tolower(letter))
			url_escape(buf_str(&shaped), shaped.len, out);
		else
			buf_add(out, buf_str(&shaped), shaped.len);
	}
	buf_free(&value);
	buf_free(&shaped);
	return rc;
}

/* RFC 7208 7.3: "if the expanded domain name exceeds 253 characters ...
 * the left side is truncated to fit, by removing successive domain
 * labels (and their following dots)". */
static const char *fit_domain(const char *name, size_t *n)
{
	while (*n > SPF_MAX_DOMAIN) {
		const char *dot = memchr(name, '.', *n);
		if (!dot)
			return name;
		*n -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	return name;
}

int spf_expand_domain(const char *domain_spec, const struct spf_macro_env *env,
                      char **out, struct err *e)
{
	*out = NULL;
	struct sender s;
	sender_parts(env, &s);
	struct buf b = BUF_INIT;
	size_t n = strlen(domain_spec);
	int rc = EX_OK;
	for (size_t i = 0; rc == EX_OK && i < n;) {
		if (b.len > MAX_EXPANSION) {
			rc = err_set(e, EX_DATAERR,
			             "a domain grows past %zu bytes as its "
			             "macros expand",
			             MAX_EXPANSION);
			break;
		}
		if (domain_spec[i] != '%') {
			buf_add_char(&b, domain_spec[i++]);
			continue;
		}
		size_t used = 0;
		rc = expand_macro(domain_spec + i, n - i, env, &s, &b, &used);
		if (rc == EX_UNAVAILABLE)
			err_set(e, rc,
			        "its macros need the client's IP address, and "
			        "there is none to check");
		i += used;
	}
	buf_free(&s.built);
	if (rc != EX_OK) {
		buf_free(&b);
		return rc;
	}
	size_t len = b.len;
	if (len > 0 && b.data[len - 1] == '.')
		len--;
	const char *name = fit_domain(buf_str(&b), &len);
	char *result = xstrndup(name, len);
	buf_free(&b);
	for (char *p = result; *p; p++)
		*p = ascii_tolower(*p);
	/* RFC 7208 4.3: a multi-label domain name, queried as it is */
	if (len == 0 || len != strlen(result) || result[len - 1] == '.' ||
	    !strchr(result, '.') || !dns_host_name_valid(result)) {
		struct buf shown = BUF_INIT;
		quote(&shown, result, len);
		rc = err_set(e, EX_DATAERR,
		             "it expands to '%s', which is not a domain name "
		             "that can be looked up (RFC 7208 4.3)",
		             buf_str(&shown));
		buf_free(&shown);
		free(result);
		return rc;
	}
	*out = result;
	return EX_OK;
}

/* ---- known senders ------------------------------------------------------- */

/* The include each operator documents for its customers' SPF records,
 * keyed by the SMTP submission host it documents. First match wins, so a
 * regional host comes before its provider's general row. Sources: each
 * provider's own setup page, named below (values checked against copies
 * of those pages, or of guides quoting them, when this table was made):
 *  - Amazon SES, "Authenticating Email with SPF in Amazon SES"
 *    (docs.aws.amazon.com/ses/latest/dg/send-email-authentication-spf.html):
 *    "v=spf1 include:amazonses.com ~all" on a custom MAIL FROM domain;
 *    SMTP endpoints email-smtp.REGION.amazonaws.com (and -fips).
 *  - SendGrid, "DNS: setting the SPF record" and "Automated Security
 *    Explained" (support.sendgrid.com): include:sendgrid.net; host
 *    smtp.sendgrid.net.
 *  - Google Workspace, "Set up SPF" (support.google.com/a/answer/10685031):
 *    "v=spf1 include:_spf.google.com ~all"; hosts smtp.gmail.com,
 *    smtp-relay.gmail.com.
 *  - Microsoft 365, "Set up SPF to identify valid email sources"
 *    (learn.microsoft.com, defender-office-365): include:
 *    spf.protection.outlook.com; hosts smtp.office365.com,
 *    smtp-mail.outlook.com.
 *  - Mailgun, "Domain verification" (documentation.mailgun.com): "v=spf1
 *    include:mailgun.org ~all", EU region include:eu.mailgun.org; hosts
 *    smtp.mailgun.org, smtp.eu.mailgun.org.
 *  - SparkPost, "SMTP API" (developers.sparkpost.com/api/smtp/): host
 *    smtp.sparkpostmail.com, include:sparkpostmail.com. SparkPost EU
 *    (smtp.eu.sparkpostmail.com) is left out: its include is unconfirmed.
 *  - Mailjet, "SPF & DKIM Authentication Guide" (mailjet.com/support):
 *    include:spf.mailjet.com; host in-v3.mailjet.com.
 *  - Postmark, "How do I set up SPF for Postmark?" (postmarkapp.com/
 *    support): include:spf.mtasv.net; hosts smtp.postmarkapp.com,
 *    smtp-broadcasts.postmarkapp.com.
 *  - Zoho Mail, "SPF Configuration" (zoho.com/mail/help/adminconsole/
 *    spf-configuration.html): include:zoho.com for the US data centre,
 *    zoho.eu, zoho.in, zoho.com.au, zoho.jp for the others (the admin
 *    console shows the account's own); hosts smtp.zoho.com,
 *    smtppro.zoho.com and their regional twins.
 *  - Fastmail, "SPF, DKIM & DMARC" (fastmail.help): "v=spf1
 *    include:spf.messagingengine.com ?all"; host smtp.fastmail.com.
 *  - Brevo (Sendinblue), "Authenticate your domain" (help.brevo.com):
 *    include:spf.brevo.com (formerly spf.sendinblue.com); hosts
 *    smtp-relay.brevo.com, smtp-relay.sendinblue.com.
 *  - Mailchimp Transactional (Mandrill), "Set up your sending domains"
 *    (mailchimp.com/developer/transactional): include:spf.mandrillapp.com;
 *    host smtp.mandrillapp.com.
 *  - iCloud Mail with a custom domain, "Set up a custom email domain"
 *    (support.apple.com): "v=spf1 include:icloud.com ~all"; host
 *    smtp.mail.me.com.
 *  - Proton Mail, "Anti-spoofing for custom domains" (proton.me/support/
 *    anti-spoofing-custom-domain): include:_spf.protonmail.ch; host
 *    smtp.protonmail.ch.
 * SMTP2GO is left out on purpose: it authenticates a sender domain with
 * CNAME records of its own, not an include (smtp2go.com/blog/spf-record).
 * The notes say when the provider's own bounce domain passes SPF, so an
 * include on the From domain is not what DMARC needs. */
static const struct spf_provider providers[] = {
    {"Amazon SES", "email-smtp", "amazonaws.com", "amazonses.com",
     "SES sends from its own MAIL FROM domain unless one of yours is set "
     "up; that custom MAIL FROM domain is the one that needs the include"},
    {"SendGrid", NULL, "sendgrid.net", "sendgrid.net",
     "with automated security, the return path is a subdomain of yours "
     "delegated to SendGrid by CNAME, which carries the SPF record"},
    {"Google Workspace", NULL, "gmail.com", "_spf.google.com", NULL},
    {"Google Workspace", NULL, "googlemail.com", "_spf.google.com", NULL},
    {"Microsoft 365", NULL, "office365.com", "spf.protection.outlook.com",
     NULL},
    {"Microsoft 365", "smtp-mail.", "outlook.com", "spf.protection.outlook.com",
     NULL},
    {"Mailgun (EU)", NULL, "eu.mailgun.org", "eu.mailgun.org", NULL},
    {"Mailgun", NULL, "mailgun.org", "mailgun.org", NULL},
    {"SparkPost", "smtp.", "sparkpostmail.com", "sparkpostmail.com", NULL},
    {"Mailjet", NULL, "mailjet.com", "spf.mailjet.com", NULL},
    {"Postmark", NULL, "postmarkapp.com", "spf.mtasv.net",
     "Postmark's default return path (pm.mtasv.net) passes SPF without "
     "it; a custom return-path domain aligns it with yours"},
    {"Zoho Mail (EU)", NULL, "zoho.eu", "zoho.eu", NULL},
    {"Zoho Mail (India)", NULL, "zoho.in", "zoho.in", NULL},
    {"Zoho Mail (Australia)", NULL, "zoho.com.au", "zoho.com.au", NULL},
    {"Zoho Mail (Japan)", NULL, "zoho.jp", "zoho.jp", NULL},
    {"Zoho Mail", NULL, "zoho.com", "zoho.com", NULL},
    {"Fastmail", NULL, "fastmail.com", "spf.messagingengine.com", NULL},
    {"Brevo", NULL, "brevo.com", "spf.brevo.com", NULL},
    {"Brevo", NULL, "sendinblue.com", "spf.brevo.com", NULL},
    {"Mailchimp Transactional", NULL, "mandrillapp.com", "spf.mandrillapp.com",
     NULL},
    {"iCloud Mail", NULL, "mail.me.com", "icloud.com", NULL},
    {"Proton Mail", NULL, "protonmail.ch", "_spf.protonmail.ch", NULL},
};

const struct spf_provider *spf_provider_for_host(const char *smtp_host)
{
	if (!smtp_host)
		return NULL;
	size_t n = strlen(smtp_host);
	if (n > 0 && smtp_host[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof providers / sizeof *providers; i++) {
		const struct spf_provider *p = &providers[i];
		size_t sn = strlen(p->host_suffix);
		if (n < sn ||
		    ascii_ncasecmp(smtp_host + n - sn, p->host_suffix, sn) != 0)
			continue;
		if (n > sn && smtp_host[n - sn - 1] != '.')
			continue; /* "notgmail.com" */
		size_t pn = p->host_prefix ? strlen(p->host_prefix) : 0;
		if (pn && (n < pn + sn ||
		           ascii_ncasecmp(smtp_host, p->host_prefix, pn) != 0))
			continue;
		return p;
	}
	return NULL;
}

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_RESULT_NONE:
		return "none";
	case SPF_RESULT_NEUTRAL:
		return "neutral";
	case SPF_RESULT_PASS:
		return "pass";
	case SPF_RESULT_FAIL:
		return "fail";
	case SPF_RESULT_SOFTFAIL:
		return "softfail";
	case SPF_RESULT_TEMPERROR:
		return "temperror";
	case SPF_RESULT_PERMERROR:
		return "permerror";
	}
	return "unknown";
}
