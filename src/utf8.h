/* utf8.h - strict UTF-8 validation (RFC 3629), whole or streaming.
 *
 * Strict means: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * past U+10FFFF. Pure: no allocation, no I/O. */
#ifndef OUTBOX_UTF8_H
#define OUTBOX_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The state of a streaming check: start from {0} and feed it every octet
 * with utf8_check_byte, in order, across as many pieces as the text
 * comes in. */
struct utf8_check {
	uint32_t cp;
	uint32_t min;
	int need;
	bool bad;
};

/* Take the next octet. A bad sequence marks the check bad for good; the
 * octet that broke it is then looked at again as the start of a new one. */
void utf8_check_byte(struct utf8_check *u, unsigned char c);
/* True when every octet fed so far is valid UTF-8 and no sequence is left
 * open (the text is complete). */
bool utf8_check_valid(const struct utf8_check *u);
/* Whether s[0..len) is valid UTF-8, as one whole text. */
bool utf8_is_valid(const char *s, size_t len);

/* The length (1 to 4) of the valid sequence, one character, that starts at
 * s[0] within s[0..avail), with its code point in *cp; an ASCII octet is a
 * sequence of 1. 0 (and *cp untouched) when s does not start a valid
 * sequence, or it is cut short by avail. */
size_t utf8_sequence_length(const char *s, size_t avail, uint32_t *cp);

#endif
