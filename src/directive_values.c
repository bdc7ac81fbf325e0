/* directive_values.c - the checks the directive setters share; see
 * directives_internal.h. */
#include "directives_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* How much of a rejected value an error message repeats. */
#define CONF_SHOWN_VALUE_MAX 80

char directive_ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool conf_has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

void conf_add_shown(struct buf *b, const char *value)
{
	size_t n = strlen(value);
	size_t shown = n > CONF_SHOWN_VALUE_MAX ? CONF_SHOWN_VALUE_MAX : n;
	for (size_t i = 0; i < shown; i++)
		buf_add_char(b, is_control((unsigned char)value[i]) ? '?'
		                                                    : value[i]);
	if (shown < n)
		buf_printf(b, "... (%zu characters)", n);
}

/* A single token: no blanks and no control characters. */
bool directive_is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (is_control((unsigned char)*s) || *s == ' ')
			return false;
	return true;
}

bool directive_equals_word(const char *value, const char *word)
{
	return ascii_casecmp(value, word) == 0;
}

/* s[0..n) is a decimal number from min to max, digits only. */
bool directive_parse_number_n(const char *s, size_t n, long min, long max,
                              long *out)
{
	long v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (v > (LONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool directive_parse_number(const char *s, long min, long max, long *out)
{
	return directive_parse_number_n(s, strlen(s), min, max, out);
}

/* A positive duration: seconds, or a number with s, m, h or d. */
bool directive_parse_duration(const char *s, long *out)
{
	size_t n = strlen(s);
	long unit = 1;
	if (n == 0)
		return false;
	switch (s[n - 1]) {
	case 's': case 'S': unit = 1; n--; break;
	case 'm': case 'M': unit = 60; n--; break;
	case 'h': case 'H': unit = 60 * 60; n--; break;
	case 'd': case 'D': unit = 24 * 60 * 60; n--; break;
	default: break;
	}
	long v;
	if (!directive_parse_number_n(s, n, 1, LONG_MAX / unit, &v))
		return false;
	*out = v * unit;
	return true;
}

/* Store a copy of value (NULL for "") in *slot. */
void directive_replace_string(char **slot, const char *value)
{
	free(*slot);
	*slot = *value ? xstrdup(value) : NULL;
}
