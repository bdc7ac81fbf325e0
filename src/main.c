/* main.c - mode dispatch: the one place that prints errors and exits. */
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "flush.h"
#include "keyring.h"
#include "keytool.h"
#include "lazylib.h"
#include "maildrop.h"
#include "oauth.h"
#include "pickup.h"
#include "privilege.h"
#include "queue.h"
#include "runenv.h"
#include "send.h"
#include "direct_info.h"
#include "doctor.h"
#include "serverinfo.h"
#include "session.h"
#include "setup.h"
#include "smtpd_relay.h"
#include "verify.h"

static void print_version(const struct runenv *env)
{
	printf("outbox version %s\n", OUTBOX_VERSION);
	/* Loads them to say so, as the keyring line below does (lazylib.h):
	 * one that cannot be loaded is reported, not fatal. */
	struct buf lib = BUF_INIT;
	lazylib_describe(LAZYLIB_GNUTLS, &lib);
	printf("TLS library: %s\n", buf_str(&lib));
	buf_reset(&lib);
	lazylib_describe(LAZYLIB_IDN2, &lib);
	printf("IDN library: %s\n", buf_str(&lib));
	buf_reset(&lib);
	lazylib_describe(LAZYLIB_JSONC, &lib);
	printf("JSON library (OAuth): %s\n", buf_str(&lib));
	buf_reset(&lib);
	lazylib_describe(LAZYLIB_PSL, &lib);
	printf("Public Suffix List (--check): %s\n", buf_str(&lib));
	buf_free(&lib);
	/* The one place that loads libsecret without a lookup (keyring.h). */
	static const char *const keyring_state[] = {
		[KEYRING_NOT_COMPILED_IN] = NULL,
		[KEYRING_NOT_INSTALLED] = "not installed (apt install "
		                          KEYRING_PACKAGE ")",
		[KEYRING_UNUSABLE] = "installed, but unusable",
		[KEYRING_AVAILABLE] = "available",
	};
	enum keyring_support keyring = keyring_probe();
	if (keyring == KEYRING_NOT_COMPILED_IN)
		printf("Keyring support: not compiled in\n");
	else
		printf("Keyring support: libsecret (Secret Service), loaded on "
		       "demand: %s\n",
		       keyring_state[keyring]);
	printf("Authentication methods: scram-sha-256 scram-sha-1 cram-md5 "
	       "plain login xoauth2 oauthbearer external\n");
	printf("DKIM signing: rsa-sha256 ed25519-sha256\n");
	printf("Queue: durable spool (queue off|on-failure|always)\n");
	printf("Direct delivery: MX hosts, MTA-STS (RFC 8461), DANE (RFC 7672, "
	       "AD bit with options trust-ad)\n");
	printf("System maildrop: %s (%s)\n", MAILDROP_DIR,
	       privilege_available() ? "setgid: any local user can submit"
	       : getuid() == 0       ? "root's --flush picks it up"
	                             : "not setgid: no submitting here");
	printf("System configuration file: %s/outboxrc (fallback %s/msmtprc)\n",
	       env->sysconfdir, env->sysconfdir);
	printf("User configuration file: $XDG_CONFIG_HOME/outbox/config or "
	       "~/.outboxrc (fallback ~/.msmtprc or "
	       "$XDG_CONFIG_HOME/msmtp/config)\n");
	printf("\nCopyright (C) 2026 the outbox authors.\n"
	       "License GPLv3+: GNU GPL version 3 or later "
	       "<https://gnu.org/licenses/gpl.html>.\n"
	       "This is free software: you are free to change and "
	       "redistribute it.\nThere is NO WARRANTY, to the extent "
	       "permitted by law.\n");
}

static int run_pretend(const struct options *opts, const struct conf *conf,
                       struct err *e)
{
	struct account *a = NULL;
	const char *hint = opts->from_account ? opts->from_account
	                                      : opts->envelope_from;
	int rc = setup_account(conf, opts, hint, &a, e);
	if (rc != EX_OK)
		return rc;
	for (size_t i = 0; i < conf->file_count; i++)
		printf("loaded configuration file %s\n", conf->files[i]);
	if (conf->file_count == 0)
		printf("no configuration file was loaded\n");
	struct buf out = BUF_INIT;
	account_describe(a, &out);
	fputs(buf_str(&out), stdout);
	buf_free(&out);
	account_free(a);
	return EX_OK;
}

static int run_serverinfo(const struct options *opts,
                          const struct conf *conf,
                          const struct session_trace *trace,
                          struct buf *warnings, struct err *e)
{
	struct account *a = NULL;
	const char *hint = opts->from_account ? opts->from_account
	                                      : opts->envelope_from;
	int rc = setup_account(conf, opts, hint, &a, e);
	struct buf out = BUF_INIT;
	if (rc == EX_OK && a->direct_delivery)
		rc = direct_info_run(a, opts->recipients, opts->recipient_count,
		                     trace, &out, warnings, e);
	else if (rc == EX_OK && opts->recipient_count > 0)
		rc = err_set(e, EX_USAGE, "--serverinfo takes domains only for "
		             "an account with direct_delivery on ('%s' has a "
		             "smarthost)", a->name);
	else if (rc == EX_OK)
		rc = serverinfo_run(a, trace, &out, warnings, e);
	fputs(buf_str(&out), stdout);
	buf_free(&out);
	account_free(a);
	return rc;
}

/* --check: the report goes to standard output, whatever it found. */
static int run_check(const struct options *opts, const struct conf *conf,
                     const struct session_trace *trace, struct err *e)
{
	struct account *a = NULL;
	const char *hint = opts->from_account ? opts->from_account
	                                      : opts->envelope_from;
	int rc = setup_account(conf, opts, hint, &a, e);
	struct buf out = BUF_INIT;
	if (rc == EX_OK)
		rc = doctor_run(a, opts, trace, opts->json, &out, e);
	fputs(buf_str(&out), stdout);
	buf_free(&out);
	account_free(a);
	return rc;
}

/* --oauth2-login: its instructions go to standard output as they come
 * (the user reads them while outbox polls). */
static void say_to_stdout(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
	fflush(stdout);
}

static int run_oauth2_login(const struct options *opts,
                            const struct conf *conf,
                            const struct session_trace *trace,
                            struct err *e)
{
	struct account *a = NULL;
	int rc = setup_account(conf, opts, NULL, &a, e);
	if (rc == EX_OK && !a->oauth2_client_id)
		rc = err_set(e, EX_CONFIG, "account %s has no "
		             "oauth2_client_id: nothing to log in to",
		             a->name ? a->name : "default");
	if (rc == EX_OK) {
		struct oauth_trace ot = {trace ? trace->line : NULL,
		                         trace ? trace->ctx : NULL};
		rc = oauth_login(a, &ot, say_to_stdout, NULL, e);
	}
	account_free(a);
	return rc;
}

static int run_keytool(const struct options *opts, const struct conf *conf,
                       struct err *e)
{
	struct buf out = BUF_INIT;
	int rc = keytool_run(opts, conf, &out, e);
	fputs(buf_str(&out), stdout);
	buf_free(&out);
	return rc;
}

/* A caller who cannot read the system's account hands the message to the
 * maildrop, for root's next flush (maildrop.h); everyone else sends. */
static int run_send(const struct options *opts, const struct conf *conf,
                    const struct session_trace *trace, struct buf *warnings,
                    struct err *e)
{
	if (!maildrop_wanted(opts, conf))
		return send_run(opts, conf, trace, warnings, e);
	if (!maildrop_exists()) {
		buf_printf(warnings, "cannot read %s, and there is no maildrop "
		           "(%s) to hand the message to\n",
		           conf->unreadable_system_file, MAILDROP_DIR);
		return send_run(opts, conf, trace, warnings, e);
	}
	char *name = NULL;
	int rc = maildrop_submit(opts, STDIN_FILENO, &name, e);
	if (rc == EX_OK && opts->debug)
		buf_printf(warnings, "the message was handed to the maildrop "
		           "as %s/%s for root's flush\n", MAILDROP_DIR, name);
	free(name);
	return rc;
}

/* Root's flush first picks up the maildrop (pickup.h), then delivers;
 * the first problem decides the exit status. Not with -C: the local
 * users' mail goes through the system's configuration, never through a
 * file root named for something else. */
static int run_flush(const struct conf *conf, const struct options *opts,
                     const struct session_trace *trace, struct buf *out,
                     struct err *e)
{
	struct err pickup_err = ERR_INIT;
	bool pickup = geteuid() == 0 && !opts->config_file;
	int pickup_rc = pickup ? pickup_run(conf, out, &pickup_err) : EX_OK;
	int rc = flush_run(conf, opts, trace, out, e);
	if (rc == EX_OK && pickup_rc != EX_OK) {
		rc = pickup_rc;
		err_set(e, rc, "%s", err_msg(&pickup_err));
	} else if (pickup_rc != EX_OK) {
		buf_printf(out, "%s\n", err_msg(&pickup_err));
	}
	err_clear(&pickup_err);
	return rc;
}

/* -v, -d, --debug: the SMTP conversation on stderr, line by line as it
 * happens (so a server that hangs shows where), ahead of the warnings and
 * the error printed at the end. The session redacts secrets and makes the
 * server's text harmless before handing a line over. */
static void print_transcript_line(void *ctx, char direction, const char *line)
{
	(void)ctx;
	/* '-': a note of outbox's own (direct delivery's DNS and policy
	 * decisions) */
	fprintf(stderr, "%s %s\n",
	        direction == '>'   ? "-->"
	        : direction == '<' ? "<--"
	                           : "---",
	        line);
}

static int run_mode(const struct options *opts, struct runenv *env,
                    struct buf *warnings, struct err *e)
{
	const struct session_trace to_stderr = {print_transcript_line, NULL};
	const struct session_trace *trace = opts->debug > 0 ? &to_stderr : NULL;
	/* The run's environment goes down with the configuration: every
	 * account made from it carries it (runenv.h). */
	struct conf conf = {.env = env};
	/* msmtp: with --host no configuration file is read at all. */
	bool host_only = cli_find_setting(opts, "host") &&
	                 (opts->mode == MODE_SEND ||
	                  opts->mode == MODE_SMTPD ||
	                  opts->mode == MODE_VERIFY ||
	                  opts->mode == MODE_SERVERINFO);
	int rc = host_only ? EX_OK
	                   : conf_load_default(&conf, opts->config_file,
	                                       warnings, e);
	if (rc != EX_OK) {
		conf_free(&conf);
		return rc;
	}
	if (opts->pretend)
		rc = run_pretend(opts, &conf, e);
	else if (opts->mode == MODE_SERVERINFO)
		rc = run_serverinfo(opts, &conf, trace, warnings, e);
	else if (opts->mode == MODE_SEND)
		rc = run_send(opts, &conf, trace, warnings, e);
	else if (opts->mode == MODE_OAUTH2_LOGIN)
		rc = run_oauth2_login(opts, &conf, trace, e);
	else if (opts->mode == MODE_CHECK)
		rc = run_check(opts, &conf, trace, e);
	else if (opts->mode == MODE_VERIFY) {
		struct buf out = BUF_INIT;
		rc = verify_run(opts, &conf, &out, e);
		fputs(buf_str(&out), stdout);
		buf_free(&out);
	}
	else if (opts->mode == MODE_SMTPD) {
		/* A client that stops reading must not kill us with SIGPIPE:
		 * the dialogue ends with EX_IOERR instead. */
		signal(SIGPIPE, SIG_IGN);
		rc = smtpd_relay_run(opts, &conf, trace, warnings, e);
	}
	else if (opts->mode == MODE_DKIM_KEYGEN ||
	         opts->mode == MODE_DKIM_RECORD)
		rc = run_keytool(opts, &conf, e);
	else if (opts->mode == MODE_FLUSH || opts->mode == MODE_LIST_QUEUE ||
	         opts->mode == MODE_QUEUE_DELETE ||
	         opts->mode == MODE_QUEUE_REQUEUE) {
		/* queue glue: the four queue verbs (queue.h, flush.h) */
		struct buf out = BUF_INIT;
		rc = opts->mode == MODE_FLUSH
		             ? run_flush(&conf, opts, trace, &out, e)
		             : queue_run_mode(&conf, opts, &out, e);
		if (rc == EX_OK && opts->mode == MODE_LIST_QUEUE &&
		    getuid() != 0 && maildrop_exists())
			rc = maildrop_list_own(&out, e);
		fputs(buf_str(&out), stdout);
		buf_free(&out);
	}
	else
		rc = err_set(e, EX_USAGE, "this mode is not available in this "
		             "build");
	conf_free(&conf);
	return rc;
}

/* Each collected line once, with the program name like every message. */
static void print_warnings(const char *lines)
{
	while (*lines) {
		const char *nl = strchr(lines, '\n');
		size_t len = nl ? (size_t)(nl - lines) : strlen(lines);
		bool prefixed = strncmp(lines, "outbox:", 7) == 0;
		if (len)
			fprintf(stderr, "%s%.*s\n", prefixed ? "" : "outbox: ",
			        (int)len, lines);
		lines += len + (nl ? 1 : 0);
	}
}

int main(int argc, char **argv)
{
	struct options opts;
	struct err e = ERR_INIT;
	struct buf warnings = BUF_INIT;
	/* Before anything else: a setgid outbox runs as its caller. */
	int rc = privilege_init(&e);
	if (rc != EX_OK) {
		fprintf(stderr, "outbox: %s\n", err_msg(&e));
		return rc;
	}
	struct runenv env;
	runenv_init(&env); /* read once, here (DESIGN.md) */
	rc = cli_parse(argc, argv, &opts, &e);
	if (rc == EX_OK && opts.mode == MODE_HELP)
		fputs(cli_usage(), stdout);
	else if (rc == EX_OK && opts.mode == MODE_NEWALIASES)
		puts("outbox: nothing to rebuild: the aliases file (the aliases "
		     "directive) is read each time a message is sent");
	else if (rc == EX_OK && opts.mode == MODE_VERSION)
		print_version(&env);
	else if (rc == EX_OK)
		rc = run_mode(&opts, &env, &warnings, &e);
	print_warnings(buf_str(&warnings));
	if (rc != EX_OK)
		fprintf(stderr, "outbox: %s\n", err_msg(&e));
	buf_free(&warnings);
	err_clear(&e);
	cli_free(&opts);
	runenv_free(&env);
	return rc;
}
