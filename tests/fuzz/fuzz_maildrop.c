/* fuzz_maildrop.c - libFuzzer target for maildrop entries (the header a
 * local user writes and root's pickup parses: maildrop_format.h).
 *
 * Invariants checked on every input:
 *  - the parser is total: EX_OK or EX_DATAERR with a message, and the
 *    output is always safe to free;
 *  - an accepted entry's data offset lies within the input, right after
 *    an empty line;
 *  - an accepted request formats back to a header that parses to the same
 *    request, ending exactly where the formatted text ends (so what the
 *    submitter writes is what the pickup reads);
 *  - no accepted value holds a control character the format would have
 *    to escape (the unescaped values are what reaches sendmail's
 *    options), nor more recipients than MAILDROP_MAX_RCPT. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "maildrop_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_request(const struct maildrop_request *a,
                         const struct maildrop_request *b)
{
	if (!same_string(a->account, b->account) ||
	    !same_string(a->envelope_from, b->envelope_from) ||
	    !same_string(a->full_name, b->full_name) ||
	    !same_string(a->dsn_notify, b->dsn_notify) ||
	    !same_string(a->dsn_return, b->dsn_return) ||
	    a->read_recipients != b->read_recipients ||
	    a->read_envelope_from != b->read_envelope_from ||
	    a->recipient_count != b->recipient_count)
		return false;
	for (size_t i = 0; i < a->recipient_count; i++)
		if (!same_string(a->recipients[i], b->recipients[i]))
			return false;
	return true;
}

/* Values come back unescaped: only NUL is impossible (the parser refuses
 * "\x00"), every other byte may legitimately appear. */
static void check_values(const struct maildrop_request *r)
{
	if (r->recipient_count > MAILDROP_MAX_RCPT)
		abort();
	if (r->account && !*r->account)
		abort();
	for (size_t i = 0; i < r->recipient_count; i++)
		if (!r->recipients[i] || !*r->recipients[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildrop_request r;
	struct err e = ERR_INIT;
	size_t offset = 0;
	int rc = maildrop_parse((const char *)data, size, &r, &offset, &e);
	if (rc != EX_OK) {
		if (rc != EX_DATAERR || !*err_msg(&e))
			abort();
		maildrop_request_free(&r); /* must be harmless */
		err_clear(&e);
		return 0;
	}
	if (offset < 2 || offset > size || data[offset - 1] != '\n' ||
	    data[offset - 2] != '\n')
		abort();
	check_values(&r);

	struct buf text = BUF_INIT;
	maildrop_format(&r, &text);
	struct maildrop_request again;
	size_t again_offset = 0;
	if (maildrop_parse(text.data, text.len, &again, &again_offset, &e) !=
	            EX_OK ||
	    again_offset != text.len || !same_request(&r, &again))
		abort();
	maildrop_request_free(&again);
	maildrop_request_free(&r);
	buf_free(&text);
	err_clear(&e);
	return 0;
}
