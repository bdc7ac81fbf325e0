/* dsn.c - RFC 3461 parameter values; see dsn.h. */
#include "dsn.h"

#include <string.h>

static bool is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool dsn_is_xtext(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '+') {
			if (i + 2 >= len || !is_hex_upper(s[i + 1]) ||
			    !is_hex_upper(s[i + 2]))
				return false;
			i += 2;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return false;
		}
	}
	return true;
}

bool dsn_is_envid(const char *s, size_t len)
{
	return len <= DSN_MAX_ENVID && dsn_is_xtext(s, len);
}

bool dsn_is_orcpt(const char *s, size_t len)
{
	const char *semi = memchr(s, ';', len);
	if (!semi || semi == s || len > DSN_MAX_ORCPT)
		return false;
	for (const char *p = s; p < semi; p++) {
		bool atom = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || (*p == '-' && p > s);
		if (!atom)
			return false;
	}
	return dsn_is_xtext(semi + 1, len - (size_t)(semi + 1 - s));
}
