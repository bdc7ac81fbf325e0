/* log_delivery.c - log lines per group of recipients; see log_delivery.h. */
#include "log_delivery.h"

#include <string.h>

#include "delivery.h"
#include "log.h"

/* Does outcome say, recipient by recipient, what became of what->rcpt? */
static bool tracked(const struct log_delivery *what,
                    const struct smtp_outcome *outcome)
{
	return outcome && outcome->delivery.count == what->rcpt->count;
}

/* One line for the recipients whose "has the message" is delivered (all of
 * them when the outcome does not tell). */
static int log_group(const struct log_delivery *what,
                     const struct smtp_outcome *outcome, bool delivered,
                     int rc, const char *error, struct err *e)
{
	struct addr_list rcpt = {0};
	int code = outcome ? outcome->code : 0;
	const char *reply = code ? buf_str(&outcome->reply) : NULL;
	for (size_t i = 0; i < what->rcpt->count; i++) {
		const struct rcpt_result *r =
		        tracked(what, outcome) ? &outcome->delivery.rcpt[i]
		                               : NULL;
		if (r && (r->status == RCPT_DELIVERED) != delivered)
			continue;
		addr_list_add(&rcpt, NULL, what->rcpt->items[i].mailbox);
		/* The delivered ones are logged with their own 250. */
		if (r && delivered && rcpt.count == 1) {
			code = r->code;
			reply = r->reply;
		}
	}
	const struct account *a = what->a;
	struct log_entry entry = {
		.host = what->host ? what->host
		        : a->socket ? a->socket
		                    : a->host,
		.tls = what->tls,
		.auth = a->auth && strcmp(a->auth, "off") != 0,
		.user = a->user,
		.from = what->from,
		.recipients = &rcpt,
		.mailsize = what->mailsize,
		.smtp_status = code,
		.smtp_msg = reply,
		.error = rc == EX_OK ? NULL : error,
		.exit_code = rc,
	};
	int result = rcpt.count ? log_write(a, &entry, e) : EX_OK;
	addr_list_free(&rcpt);
	return result;
}

int log_delivery(const struct log_delivery *what,
                 const struct smtp_outcome *outcome, int rc,
                 const char *error, struct err *e)
{
	int result = EX_OK;
	if (rc != EX_OK && tracked(what, outcome) &&
	    delivery_count(&outcome->delivery, RCPT_DELIVERED))
		result = log_group(what, outcome, true, EX_OK, NULL, e);
	int second = log_group(what, outcome, rc == EX_OK, rc, error, e);
	return result != EX_OK ? result : second;
}
