/* verify.c - sendmail -bv; see verify.h. */
#include "verify.h"

#include <string.h>

#include "account.h"
#include "envelope.h"
#include "maildrop.h"
#include "setup.h"

static void describe(const struct account *a, const char *mailbox,
                     struct buf *out)
{
	const char *mailer = a->protocol == PROTOCOL_LMTP ? "lmtp" : "esmtp";
	if (a->direct_delivery) {
		/* No lookup here (sendmail -bv does not connect either):
		 * --serverinfo DOMAIN shows the MX hosts. */
		const char *at = strrchr(mailbox, '@');
		buf_printf(out, "%s... deliverable: mailer esmtp, host the MX "
		           "hosts of %s, port %d, user %s\n", mailbox,
		           at ? at + 1 : "(no domain)", a->port, mailbox);
	} else if (a->socket && *a->socket)
		buf_printf(out, "%s... deliverable: mailer %s, socket %s, "
		           "user %s\n", mailbox, mailer, a->socket, mailbox);
	else
		buf_printf(out, "%s... deliverable: mailer %s, host %s, port "
		           "%d, user %s\n", mailbox, mailer, a->host, a->port,
		           mailbox);
}

int verify_run(const struct options *opts, const struct conf *conf,
               struct buf *out, struct err *e)
{
	if (opts->recipient_count == 0)
		return err_set(e, EX_USAGE, "-bv: give the recipients to "
		               "verify as arguments");
	/* The system's account is not ours to read: its relay decides. */
	if (maildrop_wanted(opts, conf) && maildrop_exists()) {
		for (size_t i = 0; i < opts->recipient_count; i++)
			buf_printf(out, "%s... deliverable: mailer maildrop "
			           "(for the system's relay)\n",
			           opts->recipients[i]);
		return EX_OK;
	}
	struct account *a = NULL;
	const char *hint = opts->from_account ? opts->from_account
	                                      : opts->envelope_from;
	int rc = setup_account(conf, opts, hint, &a, e);
	struct envelope env = {0};
	if (rc == EX_OK)
		rc = envelope_build(opts, a, NULL, &env, e);
	for (size_t i = 0; rc == EX_OK && i < env.rcpt.count; i++)
		describe(a, env.rcpt.items[i].mailbox, out);
	envelope_free(&env);
	account_free(a);
	return rc;
}
