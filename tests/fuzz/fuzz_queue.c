/* fuzz_queue.c - libFuzzer target for the queue's file formats.
 *
 * The first byte picks what the rest is: an ID.msg header (even) or an
 * ID.state file (odd). Invariants checked on every input:
 *  - the parsers are total: EX_OK or EX_DATAERR with a message, and the
 *    output is always safe to free (the bug that crashed --list-queue);
 *  - an accepted header has a valid ID, at least one recipient, and
 *    formats back to a header that parses to the same entry (so a retry
 *    that rewrites an entry never changes what it sends);
 *  - an accepted state file round-trips the same way, and a rejected one
 *    leaves the state it was parsed over untouched. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "queue_format.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_list(const struct addr_list *a, const struct addr_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->items[i].mailbox, b->items[i].mailbox) != 0)
			return false;
	return true;
}

static bool same_state(const struct queue_state *a,
                       const struct queue_state *b)
{
	if (!same_list(&a->delivered, &b->delivered) ||
	    !same_list(&a->refused, &b->refused))
		return false;
	return a->queued == b->queued && a->attempts == b->attempts &&
	       a->next_attempt == b->next_attempt &&
	       same_string(a->last_error, b->last_error) &&
	       a->dead_since == b->dead_since &&
	       (a->dead_since == 0 ||
	        same_string(a->dead_reason, b->dead_reason));
}

static bool same_entry(const struct queue_entry *a,
                       const struct queue_entry *b)
{
	if (strcmp(a->id, b->id) != 0 || a->created != b->created ||
	    a->created_nsec != b->created_nsec ||
	    !same_string(a->account, b->account) ||
	    a->setting_count != b->setting_count ||
	    strcmp(a->from, b->from) != 0 || a->rcpt.count != b->rcpt.count ||
	    a->size != b->size || a->has_submitter != b->has_submitter ||
	    a->submitter_uid != b->submitter_uid ||
	    !same_string(a->submitter, b->submitter))
		return false;
	for (size_t i = 0; i < a->setting_count; i++)
		if (strcmp(a->settings[i].directive, b->settings[i].directive) ||
		    strcmp(a->settings[i].value, b->settings[i].value))
			return false;
	for (size_t i = 0; i < a->rcpt.count; i++)
		if (strcmp(a->rcpt.items[i].mailbox, b->rcpt.items[i].mailbox))
			return false;
	/* An entry without a digest is formatted with a zero placeholder. */
	if (a->body_sha256[0] && strcmp(a->body_sha256, b->body_sha256) != 0)
		return false;
	return a->state.queued == b->state.queued &&
	       a->state.attempts == b->state.attempts &&
	       a->state.next_attempt == b->state.next_attempt &&
	       same_string(a->state.last_error, b->state.last_error);
}

static void check_header(const char *text, size_t len)
{
	struct queue_entry en;
	struct err e = ERR_INIT;
	int rc = queue_parse_header(text, len, &en, &e);
	if (rc != EX_OK) {
		if (rc != EX_DATAERR || !e.msg || en.id || en.rcpt.count)
			abort();
		queue_entry_free(&en);
		err_clear(&e);
		return;
	}
	if (!queue_id_valid(en.id) || en.rcpt.count == 0 || !en.from)
		abort();
	struct buf out = BUF_INIT;
	size_t digest_at = 0;
	queue_format_header(&en, &out, &digest_at);
	if (out.len < 2 || memcmp(out.data + out.len - 2, "\n\n", 2) != 0 ||
	    digest_at + QUEUE_DIGEST_HEX_LEN > out.len)
		abort();
	struct queue_entry back;
	if (queue_parse_header(out.data, out.len - 1, &back, &e) != EX_OK ||
	    !same_entry(&en, &back))
		abort();
	queue_entry_free(&back);
	queue_entry_free(&en);
	buf_free(&out);
	err_clear(&e);
}

static void check_state(const char *text, size_t len)
{
	struct queue_state st = {7, 3, 9, xstrdup("before"), 0, NULL, {NULL, 0}};
	struct err e = ERR_INIT;
	int rc = queue_parse_state(text, len, &st, &e);
	if (rc != EX_OK) {
		if (rc != EX_DATAERR || !e.msg || st.queued != 7 ||
		    strcmp(st.last_error, "before") != 0)
			abort();
	} else {
		struct buf out = BUF_INIT;
		queue_format_state(&st, &out);
		struct queue_state back = {0};
		if (queue_parse_state(out.data, out.len, &back, &e) != EX_OK ||
		    !same_state(&st, &back))
			abort();
		queue_state_free(&back);
		buf_free(&out);
	}
	queue_state_free(&st);
	err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* A copy of exactly the rest, so ASan sees any read past its end. */
	size_t len = size - 1;
	char *text = xmalloc(len ? len : 1);
	memcpy(text, data + 1, len);
	if (data[0] & 1)
		check_state(text, len);
	else
		check_header(text, len);
	free(text);
	return 0;
}
