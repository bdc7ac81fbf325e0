/* signers.c - see signers.h. */
#include "signers.h"

#include <stdlib.h>
#include <time.h>

#include "dkim.h"
#include "util.h"

int signers_prepare(struct signers *s, const struct account *a,
                    struct err *e)
{
	s->ctx = a->dkim_count ? xcalloc(a->dkim_count, sizeof *s->ctx) : NULL;
	s->count = 0;
	for (size_t i = 0; i < a->dkim_count; i++) {
		int rc = dkim_prepare(&a->dkim[i], &s->ctx[i], e);
		if (rc != EX_OK)
			return rc;
		s->count++;
	}
	return EX_OK;
}

void signers_body_update(void *ctx, const char *data, size_t len)
{
	struct signers *s = ctx;
	for (size_t i = 0; i < s->count; i++)
		dkim_body_update(s->ctx[i], data, len);
}

int signers_rehash(struct signers *s, const struct message *m,
                   struct err *e)
{
	if (s->count == 0)
		return EX_OK;
	for (size_t i = 0; i < s->count; i++)
		dkim_body_reset(s->ctx[i]);
	return msg_body_foreach(m, signers_body_update, s, e);
}

static void collect_warnings(const struct dkim_signer_ctx *ctx,
                             struct buf *warnings)
{
	const char *w;
	for (size_t i = 0; (w = dkim_warning(ctx, i)) != NULL; i++)
		buf_printf(warnings, "warning: %s\n", w);
}

int signers_sign(struct signers *s, struct message *m, struct buf *warnings,
                 struct err *e)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < s->count; i++) {
		int rc = dkim_sign(s->ctx[i], m, now, e);
		collect_warnings(s->ctx[i], warnings);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

void signers_free(struct signers *s)
{
	for (size_t i = 0; i < s->count; i++)
		dkim_free(s->ctx[i]);
	free(s->ctx);
	s->ctx = NULL;
	s->count = 0;
}
