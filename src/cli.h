/* cli.h - the command line: msmtp's long options and the sendmail flags
 * real callers pass (cron, git send-email, mutt, PHP mail()).
 *
 * Options that override configuration settings (--host, --port, --tls ...)
 * are not interpreted here: they are collected as (directive, value) pairs
 * and applied with account_set(), so they get exactly the validation of the
 * same directive in a file. */
#ifndef OUTBOX_CLI_H
#define OUTBOX_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The longest -O Timeout.command= (a day). */
#define CLI_MAX_SMTPD_TIMEOUT 86400L

/* Defaults of --dkim-keygen (documented in outbox(1)). */
#define CLI_DKIM_DEFAULT_TYPE "rsa"
#define CLI_DKIM_DEFAULT_RSA_BITS 2048

enum cli_mode {
	MODE_SEND,        /* default: read a message, deliver it */
	MODE_SERVERINFO,  /* --serverinfo */
	MODE_HELP,        /* --help */
	MODE_VERSION,     /* --version */
	MODE_FLUSH,       /* --flush, -q, sendmail -q */
	MODE_LIST_QUEUE,  /* --list-queue, -bp, invoked as mailq */
	MODE_QUEUE_DELETE,   /* --queue-delete ID */
	MODE_QUEUE_REQUEUE,  /* --queue-requeue ID|all (dead letters) */
	MODE_DKIM_KEYGEN,    /* --dkim-keygen */
	MODE_DKIM_RECORD,    /* --dkim-record */
	MODE_NEWALIASES,     /* invoked as newaliases, sendmail -bi: a note */
	MODE_SMTPD,          /* sendmail -bs: SMTP on standard input */
	MODE_VERIFY,         /* sendmail -bv: where recipients would go */
	MODE_OAUTH2_LOGIN,   /* --oauth2-login: the OAuth device login */
	MODE_CHECK,          /* --check: the deliverability doctor */
};

struct cli_setting {
	char *directive; /* an account_set() directive name */
	char *value;     /* a bare switch gets its implied value ("--tls" ->
	                  * "on", "--set-date-header" -> "auto"), so cli_parse
	                  * never stores NULL; "" unsets, as --user= in msmtp */
};

struct options {
	enum cli_mode mode;
	bool pretend;          /* -P, --pretend */
	bool json;             /* --json (with --check) */
	int debug;             /* -v, -d, --debug (count) */
	char *config_file;     /* -C, --file */
	char *account;         /* -a, --account */
	char *from_account;    /* --from=ADDR picks the account whose from matches
	                        * (msmtp: only when neither -a nor --host is
	                        * given); set by -f, -r, --from alike, NULL for
	                        * -f '<>' */
	bool read_recipients;  /* -t, --read-recipients */
	bool read_envelope_from; /* --read-envelope-from */
	char *envelope_from;   /* -f, -r, --from; "" for -f '<>' (null path) */
	char *full_name;       /* -F */
	int smtpd_timeout;     /* -O Timeout.command=: seconds -bs waits for
	                        * the client; 0: the default (smtpd.h) */
	char *mode_argument;   /* --queue-delete ID, --queue-requeue ID|all;
	                        * DKIM verbs take theirs from the dkim_*
	                        * settings (--dkim-key, --dkim-selector ...) */
	/* --dkim-type and --dkim-bits (only with --dkim-keygen, which then
	 * has them filled in: "rsa" with 2048 bits by default, "ed25519"
	 * with 0). */
	char *dkim_key_type;   /* "rsa" or "ed25519"; NULL unless keygen */
	int dkim_key_bits;     /* RSA modulus size; 0 for ed25519 */
	struct cli_setting *settings; /* overrides, in command-line order */
	size_t setting_count;
	char **recipients;     /* operands after the options */
	size_t recipient_count;
	/* Set only for a message of outbox -bs (smtpd_relay.h), borrowed:
	 * its ENVID, and its recipients' ORCPT values (NULL, or one entry,
	 * possibly NULL, per recipient). */
	const char *dsn_envid;
	const char *const *recipient_orcpt;
	const char *invoked_as; /* basename of argv[0]: outbox, sendmail, mailq */
};

/* Parse argv. Accepted-and-ignored sendmail flags (listed in outbox(1)) are
 * consumed silently. A bad command line returns EX_USAGE with a one-line
 * message that names the offending argument; opts is then already freed
 * (calling cli_free again is harmless) except invoked_as. invoked_as points
 * into argv[0], everything else is owned by opts. Options stop at the first
 * operand or "--"; operands are recipients (an error in the other modes). */
int cli_parse(int argc, char **argv, struct options *opts, struct err *e);

/* The last override of `directive` given on the command line, or NULL
 * (e.g. "host": msmtp's --host means "no configuration file data"). */
const struct cli_setting *cli_find_setting(const struct options *opts,
                                           const char *directive);

/* The --help text. */
const char *cli_usage(void);

void cli_free(struct options *opts);

#endif
