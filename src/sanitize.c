/* sanitize.c - see sanitize.h. */
#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>

#include "utf8.h"

/* This escape is for display, one way: a backslash stays as it is, so a
 * reader cannot tell the escaped ESC "\x1b" from those four characters in
 * the text, which is fine for a terminal or a log line. The queue's file
 * format (queue_format.c, add_escaped) has its own \xHH escape on purpose:
 * it must read back exactly what it wrote, so it escapes the backslash too
 * and keeps every byte from 0x80 up as it is (no UTF-8 check), and its
 * rules may not change with what suits a terminal. */
static void append_escape(struct buf *out, unsigned char byte)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
	buf_add(out, esc, sizeof esc);
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
		uint32_t cp = 0;
		size_t n = utf8_sequence_length(text + i, len - i, &cp);
		/* C1 controls (U+0080..U+009F): some terminals obey them as
		 * escape sequences. */
		if (n == 0 || cp <= 0x9f) {
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
