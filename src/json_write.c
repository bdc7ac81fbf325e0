/* json_write.c - see json_write.h. */
#include "json_write.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

void json_write_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s);
	buf_add_secret(out, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t n = c < 0x80 ? 1 : utf8_sequence_length(s + i, len - i, &cp);
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			buf_add_secret(out, esc, sizeof esc);
		} else if (c < 0x20 || n == 0) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4],
			               hex[c & 15]};
			buf_add_secret(out, esc, sizeof esc);
			n = 1;
		} else {
			buf_add_secret(out, s + i, n);
		}
		i += n ? n : 1;
	}
	buf_add_secret(out, "\"", 1);
}
