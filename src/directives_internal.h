/* directives_internal.h - what the files of the directive table share
 * (directives.c: msmtp's directives and the table; directive_values.c:
 * the checks every setter uses; directives_outbox.c: outbox's additions).
 * No other module includes it. */
#ifndef OUTBOX_DIRECTIVES_INTERNAL_H
#define OUTBOX_DIRECTIVES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "conf_internal.h"

/* A setter returns NULL on success, else what was wrong with the value (the
 * caller adds the directive and the value). */
struct directive;
typedef const char *setter(struct account *a, const struct directive *d,
                           const char *value);

struct directive {
	const char *name;
	enum field field;
	setter *set;
	const char *expected; /* what set_word says about a bad value */
};

/* ---- directive_values.c: value checks ----------------------------------- */

char directive_ascii_upper(char c);
/* A single token: no blanks and no control characters. */
bool directive_is_word(const char *s);
/* value is word, in any case. */
bool directive_equals_word(const char *value, const char *word);
/* s[0..n) (or all of s) is a decimal number from min to max, digits only
 * (msmtp's strtol would read "025" as octal). */
bool directive_parse_number_n(const char *s, size_t n, long min, long max,
                              long *out);
bool directive_parse_number(const char *s, long min, long max, long *out);
/* A positive duration: seconds, or a number with s, m, h or d. */
bool directive_parse_duration(const char *s, long *out);
/* Store a copy of value (NULL for "") in *slot. */
void directive_replace_string(char **slot, const char *value);

/* ---- directives_outbox.c: outbox's additions ----------------------------- */

setter directive_set_dkim_key, directive_set_dkim_selector,
        directive_set_dkim_domain, directive_set_dkim_canonicalization,
        directive_set_dkim_headers, directive_set_dkim_identity,
        directive_set_dkim_expire, directive_set_queue,
        directive_set_queue_max_age, directive_set_maildrop_max_size,
        directive_set_oauth2_provider, directive_set_oauth2_url,
        directive_set_oauth2_token_store;

#endif
