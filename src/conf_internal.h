/* conf_internal.h - what the configuration modules share among themselves
 * (account.c, directives.c, conf_parse.c, conf_files.c); no other module
 * includes it.
 *
 * The parser needs to know which field each directive sets, because msmtp's
 * `account b : a` copies from a only what was set in a: it keeps one bit
 * per field for every account of the file. */
#ifndef OUTBOX_CONF_INTERNAL_H
#define OUTBOX_CONF_INTERNAL_H

#include <stdbool.h>

struct account;
struct buf;
struct err;
struct runenv;

/* ---- account.c: the table of fields ------------------------------------- */

/* Each setting of struct account, in the order --pretend describes them
 * (and timeout_is_default, which account_finalize derives). */
enum field {
	F_HOST, F_PORT, F_SOURCE_IP, F_PROXY_HOST, F_PROXY_PORT, F_SOCKET,
	F_TIMEOUT, F_TIMEOUT_IS_DEFAULT, F_PROTOCOL, F_DOMAIN,
	F_AUTH, F_USER, F_PASSWORD, F_PASSWORDEVAL, F_NTLMDOMAIN,
	F_TLS, F_TLS_STARTTLS, F_TLS_TRUST_FILE, F_TLS_CRL_FILE,
	F_TLS_FINGERPRINT, F_TLS_KEY_FILE, F_TLS_CERT_FILE, F_TLS_CERTCHECK,
	F_TLS_MIN_DH_PRIME_BITS, F_TLS_PRIORITIES, F_TLS_HOST_OVERRIDE,
	F_TLS_SESSION_CACHE,
	F_AUTO_FROM, F_MAILDOMAIN, F_FROM, F_FROM_FULL_NAME,
	F_ALLOW_FROM_OVERRIDE, F_ALLOW_FROM_OVERRIDE_SET, F_SET_FROM_HEADER, F_SET_DATE_HEADER,
	F_SET_MSGID_HEADER, F_REMOVE_BCC_HEADERS, F_UNDISCLOSED_RECIPIENTS,
	F_DSN_NOTIFY, F_DSN_RETURN,
	F_LOGFILE, F_LOGFILE_TIME_FORMAT, F_SYSLOG, F_ALIASES,
	F_DKIM, F_QUEUE, F_QUEUE_DIR, F_QUEUE_MAX_AGE, F_QUEUE_BOUNCE,
	F_MAILDROP_MAX_SIZE,
	F_DIRECT_DELIVERY, F_MTA_STS, F_DANE,
	F_OAUTH2_PROVIDER, F_OAUTH2_CLIENT_ID, F_OAUTH2_CLIENT_SECRET,
	F_OAUTH2_TENANT, F_OAUTH2_DEVICE_URL, F_OAUTH2_TOKEN_URL,
	F_OAUTH2_SCOPE, F_OAUTH2_TRUST_FILE, F_OAUTH2_TOKEN_STORE,
	FIELD_COUNT,
	/* directives that are accepted and have no effect: no field */
	F_NONE = FIELD_COUNT
};

/* What a field holds: how it is copied, compared and freed. */
enum field_kind {
	FIELD_TEXT,   /* char *, NULL = not set */
	FIELD_SECRET, /* char *, wiped when freed */
	FIELD_INT,
	FIELD_LONG,
	FIELD_BOOL,
	FIELD_ENUM,   /* an enum of account.h, the size of an int */
	FIELD_DKIM,   /* the dkim/dkim_count signers */
};

/* Where field f (< FIELD_COUNT) lives in a. */
void *account_field_slot(struct account *a, enum field f);

/* dst's field f becomes a deep copy of src's (the old value is freed, and
 * wiped for the password). */
void account_copy_field(struct account *dst, const struct account *src,
                        enum field f);

/* x and y hold the same value in field f (strings compared by content,
 * DKIM signers one by one). */
bool account_field_equal(const struct account *x, const struct account *y,
                         enum field f);

/* Free every signer of a; a has none afterwards. */
void account_dkim_clear(struct account *a);

/* What the table says of field f, for the table's own tests: its kind, how
 * many values a FIELD_ENUM has, and whether it is part of the smarthost
 * identity (account_same_smarthost). */
enum field_kind account_field_kind(enum field f);
int account_field_value_count(enum field f);
bool account_field_in_smarthost(enum field f);

/* ---- directives.c: the directive table, for the parser ------------------- */

struct directive;

/* The directive called name (exact, lower case), or NULL. */
const struct directive *directive_find(const char *name);

/* The field that d sets (F_NONE for the ignored ones). */
enum field directive_field(const struct directive *d);

/* Apply d with value to a. On failure EX_CONFIG with a message naming the
 * directive and, unless hide (a line printed by eval) or the value is the
 * password, the value. */
int directive_apply(struct account *a, const struct directive *d,
                    const char *value, bool hide, struct err *e);

/* The EX_CONFIG "unknown directive" message for name, with a hint when only
 * its case is wrong; hide: name came out of eval and is not repeated. */
int directive_unknown(const char *name, bool hide, struct err *e);

/* ---- directives.c: text helpers ------------------------------------------ */

/* s has a control character (below 0x20, or DEL). */
bool conf_has_control(const char *s);

/* Add value to a message, shortened and with control characters shown as
 * '?', so a message stays one readable line. */
void conf_add_shown(struct buf *b, const char *value);

/* ~ and ~/... become the home directory of the run's environment env
 * (runenv_home(); msmtp's expand_tilde: only the user's own home, no
 * ~user); anything else is copied. Returns NULL with *out (heap), or what
 * is wrong (no home directory known, or env NULL). */
const char *conf_expand_tilde(struct runenv *env, const char *value,
                              char **out);

#endif
