/* addr.c - RFC 5322 address lists, envelope checks, IDN; see addr.h.
 *
 * The address-list parser is a small lexer (atoms, quoted strings, domain
 * literals, specials; white space and comments skipped as CFWS) under a
 * recursive-descent parser of RFC 5322 3.4 with the obsolete forms of 4.4
 * accepted. It never copies white space, comments or line breaks into a
 * mailbox, so a mailbox it produces can only hold what addr_check_smtp_safe
 * later verifies. */
#include "addr.h"

#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* How much of the offending text an error message quotes. */
#define ADDR_ERROR_CONTEXT 32
#define ADDR_ERROR_WHOLE 80

/* ---- character classes ------------------------------------------------ */

static bool is_alpha_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5322 3.2.3 atext, extended by RFC 6532 3.2 with UTF8-non-ascii. */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80 || is_alpha_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates. */
static bool utf8_is_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* RFC 5322 3.2.3 dot-atom-text: atoms separated by single dots. */
static bool is_dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Quote text for an error message: control bytes become '?', at most max
 * bytes, cut on a UTF-8 character boundary and marked "..." when cut, so
 * nothing read from a message can play tricks on a terminal or a log. */
static void append_sanitized(struct buf *out, const char *s, size_t len,
                             size_t max)
{
	size_t n = len;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		buf_add_char(out, is_control(c) ? '?' : (char)c);
	}
	if (n < len)
		buf_add_str(out, "...");
}

/* ---- lexer ------------------------------------------------------------ */

enum token_kind {
	TOKEN_END,
	TOKEN_ATOM,    /* value: the atom */
	TOKEN_QUOTED,  /* value: the content, quoted-pairs resolved */
	TOKEN_LITERAL, /* value: the domain literal's content, no brackets */
	TOKEN_SPECIAL  /* special: one of < > : ; @ , . */
};

struct token {
	enum token_kind kind;
	char special;
	size_t start;      /* offset of the token in the text */
	bool space_before; /* white space or a comment precedes it */
	bool has_control;  /* a quoted string holding a control character */
	struct buf value;
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	struct token tok;
	struct err *e;
};

static int parser_fail(struct parser *p, size_t at, const char *reason)
{
	struct buf b = BUF_INIT;
	buf_add_str(&b, "invalid address \"");
	append_sanitized(&b, p->text, p->len, ADDR_ERROR_WHOLE);
	buf_printf(&b, "\": %s", reason);
	if (at < p->len) {
		buf_add_str(&b, " at \"");
		append_sanitized(&b, p->text + at, p->len - at,
		                 ADDR_ERROR_CONTEXT);
		buf_add_char(&b, '"');
	} else {
		buf_add_str(&b, " at the end");
	}
	err_set(p->e, EX_DATAERR, "%s", buf_str(&b));
	buf_free(&b);
	return EX_DATAERR;
}

/* RFC 5322 3.2.2 CFWS: white space, line breaks of folding, and comments,
 * which nest and may hold quoted-pairs. */
static int parser_skip_cfws(struct parser *p, bool *skipped)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			p->pos++;
			*skipped = true;
			continue;
		}
		if (c != '(')
			return EX_OK;
		size_t open = p->pos;
		int depth = 0;
		while (p->pos < p->len) {
			c = p->text[p->pos++];
			if (c == '\\') {
				if (p->pos < p->len)
					p->pos++;
			} else if (c == '(') {
				depth++;
			} else if (c == ')') {
				if (--depth == 0)
					break;
			} else if (c == '\0') {
				return parser_fail(p, p->pos - 1, "NUL byte");
			}
		}
		if (depth > 0)
			return parser_fail(p, open, "unterminated comment");
		*skipped = true;
	}
	return EX_OK;
}

/* RFC 5322 3.2.4 quoted-string. Line breaks inside are folding and are
 * removed (the white space after them stays). */
static int parser_lex_quoted(struct parser *p)
{
	struct token *t = &p->tok;
	size_t open = p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->text[p->pos++];
		if (c == '"') {
			t->kind = TOKEN_QUOTED;
			return EX_OK;
		}
		if (c == '\\') {
			if (p->pos >= p->len)
				break;
			c = (unsigned char)p->text[p->pos++];
		} else if (c == '\r' || c == '\n') {
			continue;
		}
		if (c == '\0')
			return parser_fail(p, p->pos - 1, "NUL byte");
		if (is_control(c))
			t->has_control = true;
		buf_add_char(&t->value, (char)c);
	}
	return parser_fail(p, open, "unterminated quoted string");
}

/* RFC 5322 3.4.1 domain-literal: dtext only (no quoted-pairs: RFC 5321
 * has no way to carry them); folding white space inside is dropped. */
static int parser_lex_literal(struct parser *p)
{
	struct token *t = &p->tok;
	size_t open = p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->text[p->pos++];
		if (c == ']') {
			t->kind = TOKEN_LITERAL;
			return EX_OK;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return parser_fail(p, p->pos - 1,
			                   "invalid character in a domain "
			                   "literal");
		buf_add_char(&t->value, (char)c);
	}
	return parser_fail(p, open, "unterminated domain literal");
}

static int parser_next(struct parser *p)
{
	struct token *t = &p->tok;
	bool space = false;
	buf_reset(&t->value);
	t->has_control = false;
	t->special = '\0';
	int rc = parser_skip_cfws(p, &space);
	if (rc != EX_OK)
		return rc;
	t->space_before = space;
	t->start = p->pos;
	if (p->pos >= p->len) {
		t->kind = TOKEN_END;
		return EX_OK;
	}
	unsigned char c = (unsigned char)p->text[p->pos];
	if (c == '\0')
		return parser_fail(p, p->pos, "NUL byte");
	if (is_atext(c)) {
		size_t start = p->pos;
		while (p->pos < p->len &&
		       is_atext((unsigned char)p->text[p->pos]))
			p->pos++;
		buf_add(&t->value, p->text + start, p->pos - start);
		t->kind = TOKEN_ATOM;
		return EX_OK;
	}
	if (c == '"')
		return parser_lex_quoted(p);
	if (c == '[')
		return parser_lex_literal(p);
	if (strchr("<>:;@,.", c)) {
		p->pos++;
		t->kind = TOKEN_SPECIAL;
		t->special = (char)c;
		return EX_OK;
	}
	if (c == ')')
		return parser_fail(p, p->pos, "unbalanced ')'");
	if (is_control(c))
		return parser_fail(p, p->pos, "control character");
	return parser_fail(p, p->pos, "unexpected character");
}

static bool token_is(const struct token *t, char special)
{
	return t->kind == TOKEN_SPECIAL && t->special == special;
}

/* ---- list building ---------------------------------------------------- */

/* An addr_list under construction, with spare capacity so a long list is
 * not built by one realloc per address. list_move_append hands the items
 * over in an exact-size array, which is what addr_list_add expects. */
struct list_builder {
	struct addr_list list;
	size_t cap;
};

static void list_builder_add(struct list_builder *b, const char *display,
                             const char *mailbox)
{
	if (b->list.count == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->list.items = xrealloc(b->list.items,
		                         b->cap * sizeof *b->list.items);
	}
	b->list.items[b->list.count].display = xstrdup_or_null(display);
	b->list.items[b->list.count].mailbox = xstrdup(mailbox);
	b->list.count++;
}

static void list_move_append(struct addr_list *out, struct list_builder *b)
{
	if (b->list.count > 0) {
		out->items = xrealloc(out->items, (out->count + b->list.count) *
		                                          sizeof *out->items);
		memcpy(out->items + out->count, b->list.items,
		       b->list.count * sizeof *out->items);
		out->count += b->list.count;
	}
	free(b->list.items);
	b->list.items = NULL;
	b->list.count = 0;
	b->cap = 0;
}

/* ---- parser ----------------------------------------------------------- */

/* A run of words and dots, read before we know whether it is a display
 * name (then words are joined by single spaces) or a local part (then words
 * and dots are concatenated, RFC 5322 4.4 obs-local-part). */
struct phrase {
	struct buf display;
	struct buf local;
	size_t tokens;
	size_t start;
	bool adjacent_words; /* two words with no dot between: no local part */
	bool local_control;  /* a quoted word held a control character */
};

static void phrase_free(struct phrase *ph)
{
	buf_free(&ph->display);
	buf_free(&ph->local);
}

static void phrase_add_display(struct phrase *ph, const struct token *t)
{
	if (ph->display.len > 0 && t->space_before)
		buf_add_char(&ph->display, ' ');
	if (t->kind == TOKEN_SPECIAL) {
		buf_add_char(&ph->display, t->special);
		return;
	}
	/* A display name is only shown, never sent in a command: controls
	 * from an obsolete quoted string are dropped, a tab is a space. */
	for (size_t i = 0; i < t->value.len; i++) {
		unsigned char c = (unsigned char)t->value.data[i];
		if (c == '\t')
			buf_add_char(&ph->display, ' ');
		else if (!is_control(c))
			buf_add_char(&ph->display, (char)c);
	}
}

static int parser_read_phrase(struct parser *p, struct phrase *ph)
{
	bool last_was_word = false;
	ph->start = p->tok.start;
	for (;;) {
		const struct token *t = &p->tok;
		bool word = t->kind == TOKEN_ATOM || t->kind == TOKEN_QUOTED;
		if (!word && !token_is(t, '.'))
			return EX_OK;
		phrase_add_display(ph, t);
		if (word) {
			if (last_was_word)
				ph->adjacent_words = true;
			buf_add(&ph->local, t->value.data, t->value.len);
			if (t->has_control)
				ph->local_control = true;
		} else {
			buf_add_char(&ph->local, '.');
		}
		last_was_word = word;
		ph->tokens++;
		int rc = parser_next(p);
		if (rc != EX_OK)
			return rc;
	}
}

/* Append the local part in the form SMTP needs: a dot-atom as is, anything
 * else as a quoted string (RFC 5321 4.1.2 Quoted-string). */
static int parser_add_local(struct parser *p, const struct phrase *ph,
                            struct buf *mailbox)
{
	const char *s = buf_str(&ph->local);
	size_t len = ph->local.len;
	if (ph->adjacent_words)
		return parser_fail(p, ph->start,
		                   "unquoted white space in a local part "
		                   "(or a display name without '<address>')");
	if (ph->local_control)
		return parser_fail(p, ph->start,
		                   "control character in a local part");
	if (!utf8_is_valid(s, len))
		return parser_fail(p, ph->start,
		                   "invalid UTF-8 in a local part");
	if (is_dot_atom(s, len)) {
		buf_add(mailbox, s, len);
		return EX_OK;
	}
	buf_add_char(mailbox, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_add_char(mailbox, '\\');
		buf_add_char(mailbox, s[i]);
	}
	buf_add_char(mailbox, '"');
	return EX_OK;
}

/* RFC 5322 3.4.1 domain, with obs-domain's CFWS around dots. */
static int parser_domain(struct parser *p, struct buf *out)
{
	struct token *t = &p->tok;
	size_t start = t->start;
	size_t begin = out->len;
	if (t->kind == TOKEN_LITERAL) {
		buf_add_char(out, '[');
		buf_add(out, t->value.data, t->value.len);
		buf_add_char(out, ']');
		return parser_next(p);
	}
	if (t->kind != TOKEN_ATOM)
		return parser_fail(p, t->start, "expected a domain after '@'");
	for (;;) {
		buf_add(out, t->value.data, t->value.len);
		int rc = parser_next(p);
		if (rc != EX_OK)
			return rc;
		if (!token_is(t, '.'))
			break;
		buf_add_char(out, '.');
		rc = parser_next(p);
		if (rc != EX_OK)
			return rc;
		if (t->kind != TOKEN_ATOM)
			return parser_fail(p, t->start,
			                   "expected a domain label after '.'");
	}
	if (!utf8_is_valid(out->data + begin, out->len - begin))
		return parser_fail(p, start, "invalid UTF-8 in a domain");
	return EX_OK;
}

/* After "local": "@domain" or nothing (a local name such as "root"). */
static int parser_addr_spec(struct parser *p, const struct phrase *ph,
                            struct buf *mailbox)
{
	int rc = parser_add_local(p, ph, mailbox);
	if (rc != EX_OK || !token_is(&p->tok, '@'))
		return rc;
	buf_add_char(mailbox, '@');
	rc = parser_next(p);
	if (rc != EX_OK)
		return rc;
	return parser_domain(p, mailbox);
}

/* RFC 5322 3.4 angle-addr, with 4.4 obs-route ("@a,@b:") dropped. "<>" gives
 * an empty mailbox; the caller decides whether that is allowed. */
static int parser_angle(struct parser *p, struct buf *mailbox)
{
	struct token *t = &p->tok;
	int rc = parser_next(p);
	if (rc != EX_OK)
		return rc;
	if (token_is(t, '>'))
		return parser_next(p);
	if (token_is(t, '@')) {
		struct buf ignored = BUF_INIT;
		while (rc == EX_OK) {
			if (token_is(t, '@')) {
				rc = parser_next(p);
				if (rc == EX_OK)
					rc = parser_domain(p, &ignored);
			} else if (token_is(t, ',')) {
				rc = parser_next(p);
			} else if (token_is(t, ':')) {
				rc = parser_next(p);
				break;
			} else {
				rc = parser_fail(p, t->start,
				                 "invalid route in '<...>'");
			}
		}
		buf_free(&ignored);
		if (rc != EX_OK)
			return rc;
	}
	struct phrase ph = {BUF_INIT, BUF_INIT, 0, 0, false, false};
	rc = parser_read_phrase(p, &ph);
	if (rc == EX_OK && ph.tokens == 0)
		rc = parser_fail(p, t->start, "expected an address after '<'");
	if (rc == EX_OK)
		rc = parser_addr_spec(p, &ph, mailbox);
	phrase_free(&ph);
	if (rc != EX_OK)
		return rc;
	if (!token_is(t, '>'))
		return parser_fail(p, t->start, "expected '>'");
	return parser_next(p);
}

/* One mailbox after its leading phrase: "phrase <addr>", "local@domain" or
 * a bare local name. *display is heap or NULL. */
static int parser_mailbox(struct parser *p, struct phrase *ph,
                          char **display, struct buf *mailbox)
{
	*display = NULL;
	if (token_is(&p->tok, '<')) {
		if (ph->tokens > 0 && ph->display.len > 0)
			*display = xstrdup(buf_str(&ph->display));
		int rc = parser_angle(p, mailbox);
		if (rc != EX_OK) {
			free(*display);
			*display = NULL;
		}
		return rc;
	}
	if (ph->tokens == 0)
		return parser_fail(p, p->tok.start, "expected an address");
	return parser_addr_spec(p, ph, mailbox);
}

static int parser_list(struct parser *p, struct list_builder *out,
                       bool in_group);

/* RFC 5322 3.4 address: a mailbox or a group. */
static int parser_address(struct parser *p, struct list_builder *out,
                          bool in_group)
{
	struct phrase ph = {BUF_INIT, BUF_INIT, 0, 0, false, false};
	struct buf mailbox = BUF_INIT;
	char *display = NULL;
	int rc = parser_read_phrase(p, &ph);
	if (rc == EX_OK && token_is(&p->tok, ':')) {
		/* RFC 5322 3.4 group: "name: member, member;" */
		if (in_group)
			rc = parser_fail(p, p->tok.start,
			                 "group inside a group");
		else if (ph.tokens == 0)
			rc = parser_fail(p, p->tok.start,
			                 "group without a name");
		if (rc == EX_OK)
			rc = parser_next(p);
		if (rc == EX_OK)
			rc = parser_list(p, out, true);
		/* A missing ';' at the very end is a common slip
		 * ("undisclosed-recipients:"): tolerated. */
		if (rc == EX_OK && token_is(&p->tok, ';'))
			rc = parser_next(p);
		phrase_free(&ph);
		return rc;
	}
	if (rc == EX_OK)
		rc = parser_mailbox(p, &ph, &display, &mailbox);
	if (rc == EX_OK && mailbox.len == 0)
		rc = parser_fail(p, ph.start, "empty address '<>'");
	if (rc == EX_OK)
		list_builder_add(out, display, buf_str(&mailbox));
	free(display);
	buf_free(&mailbox);
	phrase_free(&ph);
	return rc;
}

static int parser_list(struct parser *p, struct list_builder *out,
                       bool in_group)
{
	for (;;) {
		struct token *t = &p->tok;
		if (t->kind == TOKEN_END || (in_group && token_is(t, ';')))
			return EX_OK;
		if (token_is(t, ',')) {
			int rc = parser_next(p);
			if (rc != EX_OK)
				return rc;
			continue;
		}
		int rc = parser_address(p, out, in_group);
		if (rc != EX_OK)
			return rc;
		if (t->kind != TOKEN_END && !token_is(t, ',') &&
		    !(in_group && token_is(t, ';')))
			return parser_fail(p, t->start,
			                   "expected ',' after an address");
	}
}

static void parser_init(struct parser *p, const char *text, size_t len,
                        struct err *e)
{
	p->text = text;
	p->len = len;
	p->pos = 0;
	p->e = e;
	memset(&p->tok, 0, sizeof p->tok);
}

int addr_parse_list(const char *text, size_t len, struct addr_list *out,
                    struct err *e)
{
	struct parser p;
	struct list_builder found = {{NULL, 0}, 0};
	parser_init(&p, text ? text : "", text ? len : 0, e);
	int rc = parser_next(&p);
	if (rc == EX_OK)
		rc = parser_list(&p, &found, false);
	buf_free(&p.tok.value);
	/* All or nothing: out is untouched on error. */
	if (rc == EX_OK)
		list_move_append(out, &found);
	addr_list_free(&found.list);
	return rc;
}

int addr_parse_mailbox(const char *text, char **mailbox, struct err *e)
{
	struct parser p;
	struct phrase ph = {BUF_INIT, BUF_INIT, 0, 0, false, false};
	struct buf box = BUF_INIT;
	char *display = NULL;
	*mailbox = NULL;
	if (!text)
		text = "";
	parser_init(&p, text, strlen(text), e);
	int rc = parser_next(&p);
	/* An empty argument is the null reverse-path, as "<>" is. */
	if (rc == EX_OK && p.tok.kind == TOKEN_END) {
		buf_free(&p.tok.value);
		*mailbox = xstrdup("");
		return EX_OK;
	}
	if (rc == EX_OK)
		rc = parser_read_phrase(&p, &ph);
	if (rc == EX_OK && token_is(&p.tok, ':'))
		rc = parser_fail(&p, p.tok.start,
		                 "a group is not a single mailbox");
	if (rc == EX_OK)
		rc = parser_mailbox(&p, &ph, &display, &box);
	if (rc == EX_OK && p.tok.kind != TOKEN_END)
		rc = parser_fail(&p, p.tok.start,
		                 "expected exactly one address");
	if (rc == EX_OK)
		*mailbox = buf_steal(&box);
	free(display);
	buf_free(&box);
	phrase_free(&ph);
	buf_free(&p.tok.value);
	return rc;
}

/* ---- envelope checks and IDN ------------------------------------------ */

/* The '@' between local part and domain (a quoted local part may hold '@'
 * itself), or NULL for a local name. */
static const char *mailbox_find_at(const char *mailbox)
{
	const char *s = mailbox;
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++)
			if (*s == '\\' && s[1])
				s++;
		if (*s == '"')
			s++;
	}
	return strchr(s, '@');
}

bool addr_is_local(const char *mailbox)
{
	return mailbox_find_at(mailbox) == NULL;
}

void addr_append_sanitized(struct buf *out, const char *mailbox)
{
	append_sanitized(out, mailbox, strlen(mailbox), ADDR_ERROR_WHOLE);
}

static int smtp_unsafe(const char *mailbox, const char *reason,
                       struct err *e)
{
	struct buf b = BUF_INIT;
	append_sanitized(&b, mailbox, strlen(mailbox), ADDR_ERROR_WHOLE);
	err_set(e, EX_DATAERR, "address \"%s\" cannot be used in SMTP: %s",
	        buf_str(&b), reason);
	buf_free(&b);
	return EX_DATAERR;
}

/* RFC 5321 4.1.2 Quoted-string: qtextSMTP and quoted-pairSMTP, plus UTF-8
 * (RFC 6531 3.3). Returns the length of the quoted string, or 0. */
static size_t smtp_quoted_length(const char *s)
{
	size_t i = 1;
	for (;;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			unsigned char q = (unsigned char)s[i + 1];
			if (q < 32 || q > 126)
				return 0;
			i += 2;
		} else if (c >= 32 && c != 127) {
			i++;
		} else {
			return 0;
		}
	}
}

static bool smtp_domain_is_valid(const char *d, size_t len)
{
	if (len == 0)
		return false;
	if (d[0] == '[') {
		/* RFC 5321 4.1.3 address-literal: dcontent in brackets. */
		if (len < 3 || d[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++) {
			unsigned char c = (unsigned char)d[i];
			if (c < 33 || c > 126 || c == '[' || c == '\\' ||
			    c == ']')
				return false;
		}
		return true;
	}
	/* Labels of letters, digits, '-' ('_' tolerated: it occurs in real
	 * host names) or UTF-8 (U-labels, RFC 6531). */
	bool label_empty = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label_empty)
				return false;
			label_empty = true;
		} else if (is_alpha_digit(c) || c == '-' || c == '_' ||
		           c >= 0x80) {
			label_empty = false;
		} else {
			return false;
		}
	}
	return !label_empty;
}

int addr_check_smtp_safe(const char *mailbox, bool allow_empty,
                         struct err *e)
{
	if (!mailbox)
		return err_set(e, EX_DATAERR, "missing address");
	size_t len = strlen(mailbox);
	if (len == 0) {
		if (allow_empty)
			return EX_OK;
		return err_set(e, EX_DATAERR, "empty address");
	}
	/* Security invariant 5: nothing that could end or split a command
	 * line, anywhere, quoted or not. */
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)mailbox[i]))
			return smtp_unsafe(mailbox, "it contains a control "
			                   "character", e);
	if (!utf8_is_valid(mailbox, len))
		return smtp_unsafe(mailbox, "it is not valid UTF-8", e);

	/* RFC 5321 4.5.3.1: the limits a receiver may enforce. The path
	 * ("<" mailbox ">") limit of 256 and the domain limit of 255 are
	 * enforced: longer ones are refused by real servers and by DNS.
	 * The local-part limit of 64 is deliberately not: 4.5.3.1 asks
	 * implementations not to impose it where they can avoid it, and
	 * VERP/SRS-style local parts exceed it on servers that accept them.
	 * A local part still cannot exceed the path limit. */
	if (len + 2 > ADDR_MAX_PATH)
		return smtp_unsafe(mailbox, "it is longer than the 256 octets "
		                   "RFC 5321 allows for a path", e);

	size_t local_len;
	if (mailbox[0] == '"') {
		local_len = smtp_quoted_length(mailbox);
		if (local_len == 0)
			return smtp_unsafe(mailbox, "invalid quoted local part",
			                   e);
	} else {
		local_len = 0;
		while (mailbox[local_len] && mailbox[local_len] != '@') {
			unsigned char c = (unsigned char)mailbox[local_len];
			if (!is_atext(c) && c != '.')
				return smtp_unsafe(
					mailbox,
					"it contains a character that must "
					"be quoted (or '<', '>')",
					e);
			local_len++;
		}
		if (local_len == 0)
			return smtp_unsafe(mailbox, "empty local part", e);
	}
	if (mailbox[local_len] == '\0')
		return EX_OK; /* a local name; the server decides */
	if (mailbox[local_len] != '@')
		return smtp_unsafe(mailbox, "text after the quoted local part",
		                   e);
	const char *domain = mailbox + local_len + 1;
	size_t domain_len = strlen(domain);
	if (domain_len > ADDR_MAX_DOMAIN)
		return smtp_unsafe(mailbox, "the domain is longer than 255 "
		                   "octets", e);
	if (!smtp_domain_is_valid(domain, domain_len))
		return smtp_unsafe(mailbox, "invalid domain", e);
	return EX_OK;
}

/* IDNA2008 with UTS #46 non-transitional processing, as browsers do; the
 * transitional mapping is the fallback for names only it accepts. */
static int domain_to_ascii(const char *domain, char **ascii)
{
	*ascii = NULL;
	int rc = idn2_to_ascii_8z(domain, ascii,
	                          IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc == IDN2_OK)
		return rc;
	int rc2 = idn2_to_ascii_8z(domain, ascii,
	                           IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	return rc2 == IDN2_OK ? rc2 : rc;
}

bool addr_needs_smtputf8(const char *mailbox)
{
	const char *at = mailbox_find_at(mailbox);
	size_t local_len = at ? (size_t)(at - mailbox) : strlen(mailbox);
	for (size_t i = 0; i < local_len; i++)
		if ((unsigned char)mailbox[i] >= 0x80)
			return true;
	if (!at || is_ascii(at + 1))
		return false;
	char *ascii;
	if (domain_to_ascii(at + 1, &ascii) != IDN2_OK)
		return true;
	idn2_free(ascii);
	return false;
}

int addr_domain_to_ascii(const char *mailbox, char **out, struct err *e)
{
	const char *at = mailbox_find_at(mailbox);
	*out = NULL;
	if (!at || is_ascii(at + 1) || at[1] == '[') {
		*out = xstrdup(mailbox);
		return EX_OK;
	}
	char *ascii;
	int rc = domain_to_ascii(at + 1, &ascii);
	if (rc != IDN2_OK) {
		struct buf b = BUF_INIT;
		append_sanitized(&b, mailbox, strlen(mailbox),
		                 ADDR_ERROR_WHOLE);
		err_set(e, EX_DATAERR,
		        "cannot convert the domain of \"%s\" to ASCII "
		        "(IDNA): %s",
		        buf_str(&b), idn2_strerror(rc));
		buf_free(&b);
		return EX_DATAERR;
	}
	struct buf b = BUF_INIT;
	buf_add(&b, mailbox, (size_t)(at - mailbox) + 1);
	buf_add_str(&b, ascii);
	idn2_free(ascii);
	*out = buf_steal(&b);
	return EX_OK;
}

/* ---- lists ------------------------------------------------------------ */

void addr_list_add(struct addr_list *list, const char *display,
                   const char *mailbox)
{
	list->items = xrealloc(list->items,
	                       (list->count + 1) * sizeof *list->items);
	list->items[list->count].display = xstrdup_or_null(display);
	list->items[list->count].mailbox = xstrdup(mailbox);
	list->count++;
}

void addr_list_free(struct addr_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].display);
		free(list->items[i].mailbox);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
