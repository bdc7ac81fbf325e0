/* delivery.c - per-recipient outcome of a message; see delivery.h. */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sanitize.h"
#include "util.h"

/* The most of one server reply shown for one recipient. */
#define DELIVERY_MAX_SHOWN_REPLY 300
/* Delivered recipients named on the summary line before "...". */
#define DELIVERY_MAX_NAMED 5

void delivery_init(struct delivery *d, size_t count)
{
	d->count = count;
	d->rcpt = xcalloc(count ? count : 1, sizeof *d->rcpt);
}

void delivery_free(struct delivery *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->rcpt[i].reply);
	free(d->rcpt);
	d->rcpt = NULL;
	d->count = 0;
}

void delivery_set(struct delivery *d, size_t i, enum rcpt_status status,
                  int code, const char *line, size_t len)
{
	struct rcpt_result *r = &d->rcpt[i];
	r->status = status;
	r->code = code;
	free(r->reply);
	r->reply = line ? xstrndup(line, len) : NULL;
}

size_t delivery_count(const struct delivery *d, enum rcpt_status status)
{
	size_t n = 0;
	for (size_t i = 0; i < d->count; i++)
		n += d->rcpt[i].status == status;
	return n;
}

/* RFC 5321 4.5.3.1.10: 452 is the server's recipient limit; 552 is how
 * RFC 821 servers said it, to be treated the same way. */
static bool is_recipient_limit(int code)
{
	return code == 452 || code == 552;
}

bool delivery_judge(int mail_code, const int *codes, size_t n,
                    enum rcpt_verdict *verdict)
{
	bool any_accepted = false, other_refusal = mail_code != 250;
	for (size_t i = 0; i < n; i++) {
		if (mail_code == 250 && (codes[i] == 250 || codes[i] == 251)) {
			verdict[i] = RCPT_ACCEPTED;
			any_accepted = true;
		} else if (mail_code == 250 && any_accepted &&
		           is_recipient_limit(codes[i])) {
			/* A limit only makes sense once some were taken: a
			 * first recipient refused with 452 is a refusal. */
			verdict[i] = RCPT_LATER;
		} else {
			verdict[i] = RCPT_NOT_TAKEN;
			other_refusal = true;
		}
	}
	return any_accepted && !other_refusal;
}

int delivery_exit_code(const struct delivery *d)
{
	int rc = EX_OK;
	for (size_t i = 0; i < d->count; i++) {
		if (d->rcpt[i].status == RCPT_REFUSED)
			return EX_UNAVAILABLE;
		if (d->rcpt[i].status != RCPT_DELIVERED)
			rc = EX_TEMPFAIL;
	}
	return rc;
}

static void add_reply(struct buf *out, const char *reply)
{
	size_t len = strlen(reply);
	if (len > DELIVERY_MAX_SHOWN_REPLY) {
		sanitize_append(out, reply, DELIVERY_MAX_SHOWN_REPLY);
		buf_printf(out, " [... %zu more bytes]",
		           len - DELIVERY_MAX_SHOWN_REPLY);
	} else {
		sanitize_append(out, reply, len);
	}
}

static void add_address(struct buf *out, const char *mailbox)
{
	buf_add_char(out, '<');
	sanitize_append(out, mailbox, strlen(mailbox));
	buf_add_char(out, '>');
}

static void describe_delivered(const struct delivery *d,
                               const struct addr_list *rcpt, size_t delivered,
                               struct buf *out)
{
	buf_printf(out, "delivered to %zu of %zu recipients (", delivered,
	           d->count);
	size_t named = 0;
	for (size_t i = 0; i < d->count && named < DELIVERY_MAX_NAMED; i++) {
		if (d->rcpt[i].status != RCPT_DELIVERED)
			continue;
		if (named++)
			buf_add_str(out, ", ");
		add_address(out, rcpt->items[i].mailbox);
	}
	if (delivered > named)
		buf_add_str(out, ", ...");
	buf_add_str(out, "); ");
}

void delivery_describe(const struct delivery *d, const struct addr_list *rcpt,
                       struct buf *out)
{
	size_t delivered = delivery_count(d, RCPT_DELIVERED);
	size_t unsent = delivery_count(d, RCPT_PENDING);
	size_t failed = d->count - delivered;
	if (delivered)
		describe_delivered(d, rcpt, delivered, out);
	if (failed == 1 && !unsent) {
		/* One refusal says it all on one line. */
		for (size_t i = 0; i < d->count; i++) {
			if (d->rcpt[i].status == RCPT_DELIVERED)
				continue;
			buf_add_str(out, "not delivered to ");
			add_address(out, rcpt->items[i].mailbox);
			buf_add_str(out, ": ");
			add_reply(out, d->rcpt[i].reply ? d->rcpt[i].reply
			                                : "(no reply)");
		}
		return;
	}
	buf_printf(out, "not delivered to %zu recipient%s", failed,
	           failed == 1 ? "" : "s");
	size_t listed = 0, unlisted = 0;
	for (size_t i = 0; i < d->count; i++) {
		const struct rcpt_result *r = &d->rcpt[i];
		if (r->status != RCPT_DEFERRED && r->status != RCPT_REFUSED)
			continue;
		if (listed == DELIVERY_MAX_LISTED) {
			unlisted++;
			continue;
		}
		listed++;
		buf_add_str(out, "\n  ");
		add_address(out, rcpt->items[i].mailbox);
		buf_add_str(out, ": ");
		add_reply(out, r->reply ? r->reply : "(no reply)");
	}
	if (unlisted)
		buf_printf(out, "\n  and %zu more refused", unlisted);
	if (unsent)
		buf_printf(out, "\n  %s%zu recipient%s not sent the message: the "
		           "transaction was abandoned", listed ? "and " : "",
		           unsent, unsent == 1 ? "" : "s");
}
