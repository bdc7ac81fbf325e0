/* envelope.h - who the message is from and to, as SMTP will be told. */
#ifndef OUTBOX_ENVELOPE_H
#define OUTBOX_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cli.h"
#include "conf.h"
#include "err.h"

struct message;

struct envelope {
	char *from;           /* reverse-path mailbox; "" = null sender */
	struct addr_list rcpt; /* forward-paths, aliases applied, no dupes */
	/* Who handed the message to the maildrop (maildrop.h): the file's
	 * owner as the kernel recorded it, and that user's login. Unset for
	 * every other message. */
	bool has_submitter;
	uint32_t submitter_uid;
	char *submitter;
	/* RFC 3461 ENVID and ORCPT values a client of outbox -bs gave: NULL,
	 * and the recipients' ORCPT as the display name of their mailbox. */
	char *dsn_envid;
	struct addr_list dsn_orcpt;
};

/* Build the envelope (before any network activity):
 * - sender, as msmtp 1.8.23 decides it: auto_from (user@maildomain, the
 *   user name of a->env) when on, whatever else is given; else -f or
 *   --read-envelope-from (the From header) when allow_from_override is on;
 *   else the account's `from` with %U %H %C %M replaced (runenv_expand);
 * - recipients: the command-line operands plus, with -t, those of the
 *   To/Cc/Bcc (or first Resent-) headers; the aliases file applied;
 *   duplicates removed; each checked safe for an SMTP command. A local
 *   name without '@' (cron's "root") is sent as it is, as msmtp does.
 * - ENVID and the ORCPT of each recipient that is an operand as it was
 *   given (not one an alias made), from opts (outbox -bs);
 * EX_USAGE for bad operands or no recipients, EX_DATAERR for bad headers
 * or -t finding none, EX_CONFIG for no sender at all (as msmtp), a bad
 * aliases file or an unreadable mailname for %M. */
int envelope_build(const struct options *opts, const struct account *a,
                   const struct message *m, struct envelope *env,
                   struct err *e);

/* The sender envelope_build would choose without a message (auto_from,
 * -f when allowed, the account's from), for outbox --check: *from heap,
 * "" for the null sender. Fails as envelope_build does for the sender. */
int envelope_sender(const struct options *opts, const struct account *a,
                    char **from, struct err *e);

/* The right side of an added Message-ID, as msmtp 1.8.25+ chooses it:
 * the account's (expanded) `domain` unless it is "localhost", else the
 * sender's domain, else the server's host name ("[...]" around an IPv6
 * address; "localhost" for a socket). Looks nothing up. Heap. */
char *envelope_msgid_domain(const struct envelope *env,
                            const struct account *a);

void envelope_free(struct envelope *env);

#endif
