/* utf8.c - strict UTF-8 validation; see utf8.h. */
#include "utf8.h"

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
		if (--u->need == 0 &&
		    (u->cp < u->min || u->cp > 0x10ffff ||
		     (u->cp >= 0xd800 && u->cp <= 0xdfff)))
			u->bad = true;
		return;
	}
	if (c < 0x80)
		return;
	if (c >= 0xc2 && c <= 0xdf) {
		u->need = 1;
		u->cp = c & 0x1f;
		u->min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		u->cp = c & 0x0f;
		u->min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		u->cp = c & 0x07;
		u->min = 0x10000;
	} else {
		u->bad = true;
	}
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
