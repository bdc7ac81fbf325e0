/* log_delivery.h - the log lines of one delivery attempt (sending or
 * flushing): one line for the recipients that have the message and one for
 * those that do not, so that the log accounts for every recipient in
 * msmtp's format (log.h). */
#ifndef OUTBOX_LOG_DELIVERY_H
#define OUTBOX_LOG_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "smtp.h"

struct log_delivery {
	const struct account *a;
	const char *from;
	const struct addr_list *rcpt; /* the recipients that were tried */
	uint64_t mailsize;
	bool tls;                     /* the channel was encrypted */
	const char *host;             /* NULL: the account's host (direct
	                               * delivery: the MX host) */
};

/* Log the attempt: outcome is what smtp_send_mail reported (NULL, or one
 * whose delivery does not cover rcpt, when no transaction happened: one
 * line for every recipient), rc and error the attempt's result. A logfile
 * that cannot be written gives EX_IOERR in e, never a different result. */
int log_delivery(const struct log_delivery *what,
                 const struct smtp_outcome *outcome, int rc,
                 const char *error, struct err *e);

#endif
