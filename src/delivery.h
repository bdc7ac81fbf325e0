/* delivery.h - what became of a message for each of its recipients, and
 * the pure decisions taken on the server's replies (collect, then judge).
 *
 * A message goes to its recipients in one or more transactions of one
 * session: a server may take only so many recipients at a time (RFC 5321
 * 4.5.3.1.10: "452 4.5.3 Too many recipients", or 552 in RFC 821's style),
 * and an LMTP server answers for each recipient after the data (RFC 2033
 * 4.2). Every recipient ends in exactly one state, so that the exit status,
 * the log and the queue can account for each, and no recipient that
 * accepted is ever sent the message again. */
#ifndef OUTBOX_DELIVERY_H
#define OUTBOX_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "buf.h"

enum rcpt_status {
	RCPT_PENDING,   /* not (yet) sent the message: no transaction for it
	                 * went through */
	RCPT_DELIVERED, /* the server took the message for it */
	RCPT_DEFERRED,  /* refused for now (4xx): a retry may succeed */
	RCPT_REFUSED,   /* refused for good (5xx) */
};

struct rcpt_result {
	enum rcpt_status status;
	int code;    /* the reply that decided it; 0: none */
	char *reply; /* that reply's last line, raw (heap); NULL: none */
};

struct delivery {
	struct rcpt_result *rcpt; /* one per recipient, in envelope order */
	size_t count;
};

/* count recipients, all pending. */
void delivery_init(struct delivery *d, size_t count);
void delivery_free(struct delivery *d);
/* Record recipient i's state and the reply (line, len) that decided it. */
void delivery_set(struct delivery *d, size_t i, enum rcpt_status status,
                  int code, const char *line, size_t len);
size_t delivery_count(const struct delivery *d, enum rcpt_status status);

/* What the replies to MAIL and to each RCPT of one transaction mean. */
enum rcpt_verdict {
	RCPT_ACCEPTED,  /* 250/251: gets the data now */
	RCPT_LATER,     /* the server's recipient limit: the next transaction */
	RCPT_NOT_TAKEN, /* refused (any other reply, or MAIL refused) */
};

/* Judge one transaction (pure): mail_code is MAIL's reply, codes[i] the
 * reply to the i-th RCPT (0: none came, e.g. after a 421). Fills
 * verdict[i] and returns true when the data is to be sent: MAIL accepted,
 * at least one recipient accepted, and every other recipient refused only
 * by the server's recipient limit (452, or 552, after an accepted one).
 * Any other refusal abandons the whole transaction (false), so that a
 * retry can never send the message twice to one recipient. */
bool delivery_judge(int mail_code, const int *codes, size_t n,
                    enum rcpt_verdict *verdict);

/* The exit status for the recipients not delivered: EX_OK when every one
 * was; EX_UNAVAILABLE when one was refused for good; otherwise
 * EX_TEMPFAIL. */
int delivery_exit_code(const struct delivery *d);

/* Text for a person: a first line saying to whom (and to how many of how
 * many) the message was delivered when it was to some, and to how many it
 * was not, then one line per recipient not delivered, "  <addr>: reply"
 * (sanitized; at most DELIVERY_MAX_LISTED, then how many more). A single
 * recipient not delivered is said on the first line. rcpt is the
 * envelope's list d was made for. */
#define DELIVERY_MAX_LISTED 20
void delivery_describe(const struct delivery *d, const struct addr_list *rcpt,
                       struct buf *out);

#endif
