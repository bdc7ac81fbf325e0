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
};

struct cli_setting {
	char *directive; /* an account_set() directive name */
	char *value;     /* may be NULL (for "--tls" meaning "on", etc.) */
};

struct options {
	enum cli_mode mode;
	bool pretend;          /* -P, --pretend */
	int debug;             /* -v, -d, --debug (count) */
	char *config_file;     /* -C, --file */
	char *account;         /* -a, --account */
	char *from_account;    /* --from=ADDR picks the account whose from matches */
	bool read_recipients;  /* -t, --read-recipients */
	bool read_envelope_from; /* --read-envelope-from */
	char *envelope_from;   /* -f, -r, --from-address (explicit) */
	char *full_name;       /* -F */
	char *mode_argument;   /* argument of queue/DKIM verbs */
	struct cli_setting *settings; /* overrides, in command-line order */
	size_t setting_count;
	char **recipients;     /* operands after the options */
	size_t recipient_count;
	const char *invoked_as; /* basename of argv[0]: outbox, sendmail, mailq */
};

/* Parse argv. Accepted-and-ignored sendmail flags (listed in outbox(1)) are
 * consumed silently. A bad command line returns EX_USAGE with a one-line
 * message that names the offending argument. */
int cli_parse(int argc, char **argv, struct options *opts, struct err *e);

/* The --help text. */
const char *cli_usage(void);

void cli_free(struct options *opts);

#endif
