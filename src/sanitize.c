/* sanitize.c - see sanitize.h. */
#include "sanitize.h"

#include <stdbool.h>

static void append_escape(struct buf *out, unsigned char byte)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
	buf_add(out, esc, sizeof esc);
}

/* Length of the valid UTF-8 sequence starting at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when it is invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
	size_t len;
	unsigned int min, cp;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2; min = 0x80; cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3; min = 0x800; cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4; min = 0x10000; cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
		return 0;
	return len;
}

void sanitize_append(struct buf *out, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			bool control = (c < 0x20 && c != '\t') || c == 0x7f;
			if (control)
				append_escape(out, c);
			else
				buf_add_char(out, (char)c);
			i++;
			continue;
		}
		size_t n = utf8_sequence_length(s + i, len - i);
		if (n == 0) {
			append_escape(out, c);
			i++;
		} else {
			buf_add(out, s + i, n);
			i += n;
		}
	}
}

void sanitize_append_line(struct buf *out, const char *text, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n')
			continue;
		sanitize_append(out, text + start, i - start);
		buf_add_str(out, "; ");
		while (i + 1 < len && text[i + 1] == ' ')
			i++;
		start = i + 1;
	}
	sanitize_append(out, text + start, len - start);
}
