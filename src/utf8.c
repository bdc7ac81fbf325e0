/* utf8.c - strict UTF-8 validation; see utf8.h. */
#include "utf8.h"

/* RFC 3629 4: the octets that may start a multi-octet sequence, how many
 * continuation octets follow, and the smallest code point it may encode
 * (anything below is an overlong form). Returns that count (1 to 3) and
 * sets *cp to the lead octet's bits, or 0 when c starts no sequence
 * (ASCII, a continuation octet, C0, C1, F5..FF). */
static int start_sequence(unsigned char c, uint32_t *cp, uint32_t *min)
{
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		*min = 0x80;
		return 1;
	}
	if (c >= 0xe0 && c <= 0xef) {
		*cp = c & 0x0f;
		*min = 0x800;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*cp = c & 0x07;
		*min = 0x10000;
		return 3;
	}
	return 0;
}

/* A complete sequence's code point is allowed: not overlong, no surrogate,
 * nothing past U+10FFFF. */
static bool code_point_allowed(uint32_t cp, uint32_t min)
{
	return cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

void utf8_check_byte(struct utf8_check *u, unsigned char c)
{
	if (u->need > 0) {
		if ((c & 0xc0) != 0x80) {
			u->bad = true;
			u->need = 0;
			utf8_check_byte(u, c);
			return;
		}
		u->cp = (u->cp << 6) | (c & 0x3f);
		if (--u->need == 0 && !code_point_allowed(u->cp, u->min))
			u->bad = true;
		return;
	}
	if (c < 0x80)
		return;
	u->need = start_sequence(c, &u->cp, &u->min);
	if (u->need == 0)
		u->bad = true;
}

bool utf8_check_valid(const struct utf8_check *u)
{
	return !u->bad && u->need == 0;
}

bool utf8_is_valid(const char *s, size_t len)
{
	struct utf8_check u = {0, 0, 0, false};
	for (size_t i = 0; i < len; i++)
		utf8_check_byte(&u, (unsigned char)s[i]);
	return utf8_check_valid(&u);
}

size_t utf8_sequence_length(const char *s, size_t avail, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	if (avail == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	uint32_t value, min;
	size_t need = (size_t)start_sequence(p[0], &value, &min);
	if (need == 0 || avail < need + 1)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		value = (value << 6) | (p[i] & 0x3f);
	}
	if (!code_point_allowed(value, min))
		return 0;
	*cp = value;
	return need + 1;
}
