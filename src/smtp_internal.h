/* smtp_internal.h - the SMTP session as smtp.c and smtp_transaction.c
 * share it; nobody else may look inside. */
#ifndef OUTBOX_SMTP_INTERNAL_H
#define OUTBOX_SMTP_INTERNAL_H

#include "smtp.h"

struct smtp_session {
	struct conn *conn;
	enum protocol proto;
	smtp_trace_fn trace;
	void *trace_ctx;
	struct smtp_caps caps;
	struct buf ehlo_text;
	struct buf line; /* scratch for reply lines */
	/* A read or write failed (timeout, closed, nonsense): the stream is
	 * out of step, so RSET and QUIT would only wait out another timeout
	 * each for a reply that cannot be trusted or will not come. */
	bool broken;
	/* MAIL was sent and the transaction has not ended (final reply to
	 * the data, or RSET): only then is an RSET needed. */
	bool in_transaction;
	/* smtp_last_message: QUIT may follow the end of data at once */
	bool last_message;
	bool quit_sent; /* it did: smtp_quit only reads the reply */
};

/* Show a line in the -v transcript (sanitized), when one is kept. */
void smtp_trace_line(struct smtp_session *s, char direction, const char *line,
                     size_t len);

#endif
