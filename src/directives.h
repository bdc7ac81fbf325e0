/* directives.h - the directives of the msmtprc language: what each one
 * sets and which values it accepts.
 *
 * Every msmtp 1.8 directive is known with its meaning (old spellings such
 * as tls_nocertcheck and keepbcc included); outbox's additions (dkim_*,
 * queue*) use new names. The configuration file and the command line go
 * through the same setter, so they get the same validation. The rest of
 * this module's interface is for the parser only (conf_internal.h). */
#ifndef OUTBOX_DIRECTIVES_H
#define OUTBOX_DIRECTIVES_H

#include "account.h"
#include "err.h"

/* Apply one directive ("host", "example.org") to an account, validating the
 * value exactly as the parser does. value may be NULL or "" where msmtp
 * allows an empty argument. Returns EX_CONFIG with a message (without file
 * and line) when the directive is unknown or the value is invalid. */
int account_set(struct account *a, const char *directive, const char *value,
                struct err *e);

/* A syslog facility the `syslog` directive accepts: its name as stored in
 * struct account's syslog, and its <syslog.h> value. */
struct conf_syslog_facility {
	const char *name;
	int value;
};

/* The facility called name (LOG_USER, LOG_MAIL, LOG_LOCAL0 ... LOG_LOCAL7,
 * any case), or NULL when there is none by that name. */
const struct conf_syslog_facility *conf_find_syslog_facility(const char *name);

#endif
