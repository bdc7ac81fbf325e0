/* dkim_canon.c - DKIM canonicalisation and value syntax; see dkim_canon.h. */
#include "dkim_canon.h"

#include <string.h>

#include "util.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static char ascii_lower_char(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool parse_one_canon(const char *s, size_t len, enum dkim_canon *out)
{
	if (len == 6 && ascii_ncasecmp(s, "simple", 6) == 0) {
		*out = DKIM_CANON_SIMPLE;
		return true;
	}
	if (len == 7 && ascii_ncasecmp(s, "relaxed", 7) == 0) {
		*out = DKIM_CANON_RELAXED;
		return true;
	}
	return false;
}

bool dkim_canon_parse(const char *text, enum dkim_canon *header,
                      enum dkim_canon *body)
{
	const char *slash = strchr(text, '/');
	if (!slash) {
		/* RFC 6376 3.5 c=: "If only one algorithm is named, that
		 * algorithm is used for the header and "simple" is used for
		 * the body." */
		*body = DKIM_CANON_SIMPLE;
		return parse_one_canon(text, strlen(text), header);
	}
	return parse_one_canon(text, (size_t)(slash - text), header) &&
	       parse_one_canon(slash + 1, strlen(slash + 1), body);
}

const char *dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

/* The body canonicaliser. */

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon alg,
                          dkim_canon_out_fn out, void *out_ctx)
{
	c->alg = alg;
	c->out = out;
	c->out_ctx = out_ctx;
	c->empty_lines = 0;
	c->cr_pending = false;
	c->in_line = false;
	c->wsp_pending = false;
	c->wrote = false;
	c->staged = 0;
}

static void canon_flush(struct dkim_body_canon *c)
{
	if (c->staged) {
		c->out(c->out_ctx, c->stage, c->staged);
		c->staged = 0;
	}
}

static void canon_emit(struct dkim_body_canon *c, const char *data,
                       size_t len)
{
	c->wrote = true;
	if (len > sizeof c->stage - c->staged) {
		canon_flush(c);
		if (len >= sizeof c->stage) {
			c->out(c->out_ctx, data, len);
			return;
		}
	}
	memcpy(c->stage + c->staged, data, len);
	c->staged += len;
}

/* Empty lines turned out not to be trailing: emit them now. */
static void canon_emit_empty_lines(struct dkim_body_canon *c)
{
	for (; c->empty_lines; c->empty_lines--)
		canon_emit(c, "\r\n", 2);
}

/* Content without WSP meaning (simple), or a run of non-WSP (relaxed). */
static void canon_text(struct dkim_body_canon *c, const char *data,
                       size_t len)
{
	if (!c->in_line) {
		canon_emit_empty_lines(c);
		c->in_line = true;
	}
	if (c->wsp_pending) {
		/* RFC 6376 3.4.4: a WSP run inside a line becomes one SP. */
		canon_emit(c, " ", 1);
		c->wsp_pending = false;
	}
	canon_emit(c, data, len);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The high bit of each byte of w that equals c, exactly (no carries). */
static uint64_t bytes_equal(uint64_t w, unsigned char c)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t t = w ^ (0x0101010101010101ULL * c);
	return ~(((t & low7) + low7) | t | low7);
}
#endif

/* Length of the prefix of p that relaxed canonicalisation copies as is:
 * no TAB, and every SP followed by a byte that is not WSP. Eight bytes at
 * a time where the byte order allows. */
static size_t relaxed_clean_span(const char *p, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t sp = bytes_equal(w, ' '), tab = bytes_equal(w, '\t');
		/* byte j+1 shifted onto byte j: an SP followed by WSP */
		if (tab | (sp & ((sp | tab) >> 8)))
			break;
		/* an SP in the last byte: its successor is in the next
		 * window, so start that window on it */
		i += (sp >> 56) ? 7 : 8;
	}
#endif
	for (; i < n; i++) {
		if (p[i] == '\t')
			break;
		if (p[i] == ' ' && (i + 1 == n || is_wsp(p[i + 1])))
			break;
	}
	return i;
}

/* Line content between line ends: everything but CRLF. */
static void canon_content(struct dkim_body_canon *c, const char *data,
                          size_t len)
{
	if (c->alg == DKIM_CANON_SIMPLE) {
		if (len)
			canon_text(c, data, len);
		return;
	}
	size_t i = 0;
	while (i < len) {
		if (is_wsp(data[i])) {
			c->wsp_pending = true;
			while (i < len && is_wsp(data[i]))
				i++;
			continue;
		}
		/* The longest span that relaxed leaves alone (words joined
		 * by single SPs) goes on whole: ordinary text then costs a
		 * scan at memory speed, not a call per word. */
		size_t start = i;
		i += relaxed_clean_span(data + i, len - i);
		canon_text(c, data + start, i - start);
	}
}

static void canon_line_end(struct dkim_body_canon *c)
{
	/* RFC 6376 3.4.4: WSP at the end of a line is ignored; a line that
	 * was only WSP is then empty like any other. */
	c->wsp_pending = false;
	if (c->in_line) {
		canon_emit(c, "\r\n", 2);
		c->in_line = false;
	} else {
		c->empty_lines++;
	}
}

void dkim_body_canon_update(struct dkim_body_canon *c, const char *data,
                            size_t len)
{
	if (!len)
		return;
	size_t i = 0;
	if (c->cr_pending) {
		c->cr_pending = false;
		if (data[0] == '\n') {
			canon_line_end(c);
			i = 1;
		} else {
			canon_content(c, "\r", 1);
		}
	}
	while (i < len) {
		const char *cr = memchr(data + i, '\r', len - i);
		size_t stop = cr ? (size_t)(cr - data) : len;
		canon_content(c, data + i, stop - i);
		if (!cr)
			break;
		if (stop + 1 == len) {
			c->cr_pending = true;
			break;
		}
		if (data[stop + 1] == '\n') {
			canon_line_end(c);
			i = stop + 2;
		} else {
			canon_content(c, "\r", 1);
			i = stop + 1;
		}
	}
}

void dkim_body_canon_finish(struct dkim_body_canon *c)
{
	if (c->cr_pending) {
		c->cr_pending = false;
		canon_content(c, "\r", 1);
	}
	/* Both algorithms: a last line without CRLF gets one (3.4.3, 3.4.4);
	 * its trailing WSP goes (relaxed) as at any line end. */
	if (c->in_line)
		canon_line_end(c);
	c->wsp_pending = false;
	/* Trailing empty lines are dropped: simply never emitted. */
	c->empty_lines = 0;
	/* 3.4.3: "If there is no body or no trailing CRLF on the message
	 * body, a CRLF is added"; relaxed leaves an empty body empty. */
	if (c->alg == DKIM_CANON_SIMPLE && !c->wrote)
		canon_emit(c, "\r\n", 2);
	canon_flush(c);
}

/* Header fields. */

void dkim_header_canon(enum dkim_canon alg, const char *name, size_t name_len,
                       const char *raw_value, size_t value_len,
                       struct buf *out)
{
	if (alg == DKIM_CANON_SIMPLE) {
		buf_add(out, name, name_len);
		buf_add_char(out, ':');
		buf_add(out, raw_value, value_len);
		buf_add(out, "\r\n", 2);
		return;
	}
	/* 3.4.2: lower-case name, no WSP before the colon. */
	while (name_len && is_wsp(name[name_len - 1]))
		name_len--;
	buf_reserve(out, name_len + 1 + value_len + 2);
	for (size_t i = 0; i < name_len; i++)
		buf_add_char(out, ascii_lower_char(name[i]));
	buf_add_char(out, ':');
	/* Unfold (drop CR and LF), one SP per WSP run, no WSP after the
	 * colon nor at the end. */
	bool wsp = false, any = false;
	for (size_t i = 0; i < value_len; i++) {
		char ch = raw_value[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (is_wsp(ch)) {
			wsp = true;
			continue;
		}
		if (wsp && any)
			buf_add_char(out, ' ');
		buf_add_char(out, ch);
		wsp = false;
		any = true;
	}
	buf_add(out, "\r\n", 2);
}

/* Value syntax. */

/* RFC 5321 sub-domain = Let-dig [Ldh-str]: letters, digits and inner
 * hyphens, 1..63 octets. */
static bool valid_label(const char *s, size_t len)
{
	if (len == 0 || len > DKIM_DNS_LABEL_MAX)
		return false;
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Dot-separated labels; *labels receives how many. */
static bool valid_labels(const char *s, size_t *labels)
{
	size_t len = strlen(s);
	*labels = 0;
	if (len == 0 || len > DKIM_DNS_NAME_MAX)
		return false;
	const char *p = s;
	for (;;) {
		const char *dot = memchr(p, '.', len - (size_t)(p - s));
		size_t n = dot ? (size_t)(dot - p) : len - (size_t)(p - s);
		if (!valid_label(p, n))
			return false;
		(*labels)++;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

bool dkim_valid_selector(const char *s)
{
	size_t labels;
	return valid_labels(s, &labels);
}

bool dkim_valid_domain(const char *s)
{
	size_t labels;
	return valid_labels(s, &labels) && labels >= 2;
}

bool dkim_valid_field_name(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* ftext = %d33-57 / %d59-126 */
		if (ch < 33 || ch > 126 || ch == ':')
			return false;
	}
	return true;
}

bool dkim_domain_within(const char *domain, const char *parent)
{
	size_t dl = strlen(domain), pl = strlen(parent);
	if (dl < pl || pl == 0)
		return false;
	if (ascii_casecmp(domain + (dl - pl), parent) != 0)
		return false;
	return dl == pl || domain[dl - pl - 1] == '.';
}

void dkim_qp_encode(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		/* dkim-safe-char = %x21-3A / %x3C / %x3E-7E */
		if ((ch >= 0x21 && ch <= 0x3A) || ch == 0x3C ||
		    (ch >= 0x3E && ch <= 0x7E)) {
			buf_add_char(out, (char)ch);
		} else {
			char esc[3] = {'=', hex[ch >> 4], hex[ch & 15]};
			buf_add(out, esc, 3);
		}
	}
}
