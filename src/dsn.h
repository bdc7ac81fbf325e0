/* dsn.h - the values of RFC 3461's ENVID and ORCPT parameters (pure).
 *
 * They travel from a client of outbox -bs through queue and maildrop
 * entries into MAIL and RCPT commands, so every layer checks them with
 * these same rules before using them (invariant 5). */
#ifndef OUTBOX_DSN_H
#define OUTBOX_DSN_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 3461 4.4 and 4.2: the longest ENVID and ORCPT values. */
#define DSN_MAX_ENVID 100
#define DSN_MAX_ORCPT 500

/* RFC 3461 4: xtext = *( xchar / "+" 2HEXCHAR ), xchar any of 33..126
 * but "+" and "="; non-empty here. */
bool dsn_is_xtext(const char *s, size_t len);
/* An ENVID: xtext of at most DSN_MAX_ENVID characters. */
bool dsn_is_envid(const char *s, size_t len);
/* An ORCPT: addr-type ";" xtext, at most DSN_MAX_ORCPT characters;
 * addr-type is an atom of letters, digits and "-" (RFC 3461 4.2). */
bool dsn_is_orcpt(const char *s, size_t len);

#endif
