/* signers.h - every DKIM signer of an account, driven together (dual
 * signing: RSA and Ed25519 on the same message, RFC 8463 recommends it). */
#ifndef OUTBOX_SIGNERS_H
#define OUTBOX_SIGNERS_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "msg.h"

struct signers {
	struct dkim_signer_ctx **ctx;
	size_t count;
};

/* Load every signer's key (EX_CONFIG before any network activity). An
 * account without dkim_key gets an empty set. */
int signers_prepare(struct signers *s, const struct account *a,
                    struct err *e);
/* A msg_body_sink feeding every signer (ctx is a struct signers *). */
void signers_body_update(void *ctx, const char *data, size_t len);
/* The body was rewritten: hash it again from the start. */
int signers_rehash(struct signers *s, const struct message *m,
                   struct err *e);
/* Add each signer's DKIM-Signature; warnings go to warnings, one per line,
 * prefixed "warning: ". */
int signers_sign(struct signers *s, struct message *m, struct buf *warnings,
                 struct err *e);
void signers_free(struct signers *s);

#endif
