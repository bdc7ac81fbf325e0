/* envelope.h - who the message is from and to, as SMTP will be told. */
#ifndef OUTBOX_ENVELOPE_H
#define OUTBOX_ENVELOPE_H

#include "addr.h"
#include "cli.h"
#include "conf.h"
#include "err.h"

struct message;

struct envelope {
	char *from;           /* reverse-path mailbox; "" = null sender */
	struct addr_list rcpt; /* forward-paths, aliases applied, no dupes */
};

/* Build the envelope (before any network activity):
 * - sender: -f unless allow_from_override is off, else --read-envelope-from
 *   (the From header), else auto_from (user@maildomain) when on, as msmtp
 *   gives it precedence, else the account's `from` (with %U %H %C %M
 *   substituted);
 * - recipients: the command-line operands plus, with -t, those of the
 *   To/Cc/Bcc (or first Resent-) headers; the aliases file applied; local
 *   names completed with maildomain; duplicates removed; each checked safe
 *   for an SMTP command.
 * EX_USAGE for bad operands or no recipients, EX_DATAERR for bad headers
 * or -t finding none, EX_CONFIG for a bad aliases file. */
int envelope_build(const struct options *opts, const struct account *a,
                   const struct message *m, struct envelope *env,
                   struct err *e);

/* Expand msmtp's %U %H %C %M patterns of `from` (and %% to %). Heap. */
char *envelope_expand_from(const char *pattern);

/* The domain to use for an added Message-ID: the sender's domain, else the
 * host name. Heap. */
char *envelope_msgid_domain(const struct envelope *env);

void envelope_free(struct envelope *env);

#endif
