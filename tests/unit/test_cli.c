/* test_cli.c - the command line as real callers write it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"

#define MAX_ARGS 16

/* Parse a NULL-terminated argument list; argv[0] is the program. */
static int parse(const char *const *args, struct options *opts,
                 struct err *e)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	while (args[argc]) {
		assert_true(argc < MAX_ARGS);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return cli_parse(argc, argv, opts, e);
}

/* "directive=value|directive=value" */
static char *settings_string(const struct options *opts)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < opts->setting_count; i++) {
		const struct cli_setting *s = &opts->settings[i];
		buf_printf(&b, "%s%s=%s", i ? "|" : "", s->directive,
		           s->value ? s->value : "(null)");
	}
	return buf_steal(&b);
}

static char *recipients_string(const struct options *opts)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < opts->recipient_count; i++)
		buf_printf(&b, "%s%s", i ? " " : "", opts->recipients[i]);
	return buf_steal(&b);
}

/* Checks that name the table case, so a failure says which row broke. */
static void check_string(const char *what, const char *field,
                          const char *want, const char *got)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		fail_msg("%s: %s is '%s', expected '%s'", what, field,
		         got ? got : "(null)", want ? want : "(null)");
}

static void check_int(const char *what, const char *field, long want,
                       long got)
{
	if (want != got)
		fail_msg("%s: %s is %ld, expected %ld", what, field, got, want);
}

/* ---- whole command lines ---------------------------------------------- */

struct line_case {
	const char *what;
	const char *argv[MAX_ARGS];
	enum cli_mode mode;
	const char *recipients; /* space-separated */
	const char *settings;   /* as settings_string() */
	const char *envelope_from;
	const char *from_account;
	const char *full_name;
	const char *account;
	const char *config_file;
	const char *mode_argument;
	bool read_recipients;
	bool read_envelope_from;
	bool pretend;
	int debug;
};

static const struct line_case line_cases[] = {
	{"cron (Debian cron's mail command)",
	 {"/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem",
	  "root"},
	 .mode = MODE_SEND, .recipients = "root", .settings = "",
	 .envelope_from = NULL, .from_account = NULL,
	 .full_name = "CronDaemon"},
	{"git send-email",
	 {"/usr/bin/outbox", "-i", "-f", "a@b", "--", "x@y"},
	 .mode = MODE_SEND, .recipients = "x@y", .settings = "",
	 .envelope_from = "a@b", .from_account = "a@b"},
	{"git send-email with envelope sender glued",
	 {"outbox", "-i", "-fa@b", "x@y", "z@w"},
	 .mode = MODE_SEND, .recipients = "x@y z@w", .settings = "",
	 .envelope_from = "a@b", .from_account = "a@b"},
	{"PHP mail() sendmail_path",
	 {"/usr/sbin/sendmail", "-t", "-i"},
	 .mode = MODE_SEND, .recipients = "", .settings = "",
	 .read_recipients = true},
	{"PHP bundled -ti",
	 {"sendmail", "-ti"},
	 .mode = MODE_SEND, .recipients = "", .settings = "",
	 .read_recipients = true},
	{"mutt",
	 {"sendmail", "-oem", "-oi", "--", "a@b"},
	 .mode = MODE_SEND, .recipients = "a@b", .settings = ""},
	{"mutt with an account",
	 {"outbox", "-a", "work", "-oem", "-oi", "--", "a@b", "c@d"},
	 .mode = MODE_SEND, .recipients = "a@b c@d", .settings = "",
	 .account = "work"},
	{"every ignored sendmail flag",
	 {"sendmail", "-i", "-oi", "-oem", "-oee", "-oep", "-odb", "-odi",
	  "-om", "-m", "-n", "-U", "-G", "-h", "5", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = ""},
	{"more ignored flags",
	 {"sendmail", "-B", "7BIT", "-L", "tag", "-O", "DeliveryMode=b",
	  "-V", "envid", "-Ac", "-em", "-h7", "-o", "i", "-bm", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = ""},
	{"-F with a separate full name",
	 {"sendmail", "-F", "Cron Daemon", "-f", "root@host", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .envelope_from = "root@host", .from_account = "root@host",
	 .full_name = "Cron Daemon"},
	{"-r is -f",
	 {"sendmail", "-r", "bounce@x", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .envelope_from = "bounce@x", .from_account = "bounce@x"},
	{"--from picks the account",
	 {"outbox", "--from=me@example.org", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .envelope_from = "me@example.org", .from_account = "me@example.org"},
	{"--from with a separate value",
	 {"outbox", "--from", "me@example.org", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .envelope_from = "me@example.org", .from_account = "me@example.org"},
	{"-f '<>' is the null reverse-path",
	 {"sendmail", "-f", "<>", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .envelope_from = "", .from_account = NULL},
	{"-- makes dashes operands",
	 {"outbox", "--", "-t", "--help", "-x@y"},
	 .mode = MODE_SEND, .recipients = "-t --help -x@y", .settings = ""},
	{"options stop at the first operand",
	 {"outbox", "a@b", "-t", "--pretend"},
	 .mode = MODE_SEND, .recipients = "a@b -t --pretend", .settings = ""},
	{"a lone dash is an operand",
	 {"outbox", "-", "a@b"},
	 .mode = MODE_SEND, .recipients = "- a@b", .settings = ""},
	{"-C and --file, last one wins",
	 {"outbox", "-C", "/etc/a", "--file=/etc/b", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .config_file = "/etc/b"},
	{"--account with = and glued -a",
	 {"outbox", "--account=x", "-ay", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .account = "y"},
	{"debug counts -v -d --debug",
	 {"outbox", "-v", "-d", "--debug", "-vv", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "", .debug = 5},
	{"--debug takes an optional argument",
	 {"outbox", "--debug=2", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "", .debug = 1},
	{"pretend",
	 {"outbox", "-P", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "",
	 .pretend = true},
	{"long pretend, read-recipients, read-envelope-from",
	 {"outbox", "--pretend", "--read-recipients",
	  "--read-envelope-from"},
	 .mode = MODE_SEND, .recipients = "", .settings = "",
	 .read_recipients = true, .read_envelope_from = true,
	 .pretend = true},
	{"abbreviated long options (getopt_long rules)",
	 {"outbox", "--pre", "--read-r", "--ser"},
	 .mode = MODE_SERVERINFO, .recipients = "", .settings = "",
	 .read_recipients = true, .pretend = true},
	{"--serverinfo",
	 {"outbox", "-a", "gmail", "--serverinfo"},
	 .mode = MODE_SERVERINFO, .recipients = "", .settings = "",
	 .account = "gmail"},
	{"--serverinfo DOMAIN (direct delivery)",
	 {"outbox", "-a", "direct", "--serverinfo", "example.org", "b.test"},
	 .mode = MODE_SERVERINFO, .recipients = "example.org b.test",
	 .settings = "", .account = "direct"},
	{"-S",
	 {"outbox", "-S", "--host=mx.example.org", "--tls"},
	 .mode = MODE_SERVERINFO, .recipients = "",
	 .settings = "host=mx.example.org|tls=on"},
	{"--help wins over everything",
	 {"outbox", "--serverinfo", "--help", "a@b"},
	 .mode = MODE_HELP, .recipients = "", .settings = ""},
	{"--version",
	 {"outbox", "--version"},
	 .mode = MODE_VERSION, .recipients = "", .settings = ""},
	{"sendmail -d0.1 prints the version",
	 {"sendmail", "-d0.1"},
	 .mode = MODE_VERSION, .recipients = "", .settings = "", .debug = 1},
	{"--help beats --version",
	 {"outbox", "--version", "--help"},
	 .mode = MODE_HELP, .recipients = "", .settings = ""},
	{"invoked as mailq",
	 {"/usr/bin/mailq"},
	 .mode = MODE_LIST_QUEUE, .recipients = "", .settings = ""},
	{"mailq with its ignored flags",
	 {"mailq", "-Ac"},
	 .mode = MODE_LIST_QUEUE, .recipients = "", .settings = ""},
	{"invoked as newaliases: a note, nothing to rebuild",
	 {"/usr/bin/newaliases"},
	 .mode = MODE_NEWALIASES, .recipients = "", .settings = ""},
	{"sendmail -bi is newaliases",
	 {"sendmail", "-bi"},
	 .mode = MODE_NEWALIASES, .recipients = "", .settings = ""},
	{"sendmail -q",
	 {"/usr/sbin/sendmail", "-q"},
	 .mode = MODE_FLUSH, .recipients = "", .settings = ""},
	{"sendmail -q30m: the interval is ignored",
	 {"/usr/sbin/sendmail", "-q30m"},
	 .mode = MODE_FLUSH, .recipients = "", .settings = ""},
	{"sendmail -qRdomain",
	 {"sendmail", "-v", "-qRexample.org"},
	 .mode = MODE_FLUSH, .recipients = "", .settings = "", .debug = 1},
	{"--flush",
	 {"outbox", "--flush", "-a", "work"},
	 .mode = MODE_FLUSH, .recipients = "", .settings = "",
	 .account = "work"},
	{"sendmail -bp",
	 {"sendmail", "-bp"},
	 .mode = MODE_LIST_QUEUE, .recipients = "", .settings = ""},
	{"--list-queue",
	 {"outbox", "--list-queue"},
	 .mode = MODE_LIST_QUEUE, .recipients = "", .settings = ""},
	{"--queue-delete=ID",
	 {"outbox", "--queue-delete=1700000000.1234.abcd"},
	 .mode = MODE_QUEUE_DELETE, .recipients = "", .settings = "",
	 .mode_argument = "1700000000.1234.abcd"},
	{"--queue-delete ID",
	 {"outbox", "--queue-delete", "abc"},
	 .mode = MODE_QUEUE_DELETE, .recipients = "", .settings = "",
	 .mode_argument = "abc"},
	{"--queue-requeue all",
	 {"outbox", "--queue-requeue=all"},
	 .mode = MODE_QUEUE_REQUEUE, .recipients = "", .settings = "",
	 .mode_argument = "all"},
	{"queue settings",
	 {"outbox", "--queue=on-failure", "--queue-dir", "/var/spool/x",
	  "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "queue=on-failure|queue_dir=/var/spool/x"},
	{"--dkim-record with a key",
	 {"outbox", "--dkim-record", "--dkim-key=/k.pem",
	  "--dkim-selector=s1", "--dkim-domain=example.org"},
	 .mode = MODE_DKIM_RECORD, .recipients = "",
	 .settings = "dkim_key=/k.pem|dkim_selector=s1|"
	             "dkim_domain=example.org"},
	{"the same verb twice is fine",
	 {"outbox", "-q", "--flush"},
	 .mode = MODE_FLUSH, .recipients = "", .settings = ""},
	{"settings keep command-line order and repeats",
	 {"outbox", "--port=25", "--tls=off", "--port", "587", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "port=25|tls=off|port=587"},
	{"empty values unset (msmtp --user=)",
	 {"outbox", "--user=", "--source-ip", "", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "user=|source_ip="},
	{"values are not validated here",
	 {"outbox", "--port=banana", "--tls=maybe", "-N", "bogus", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "port=banana|tls=maybe|dsn_notify=bogus"},
	{"-R hdrs is headers",
	 {"sendmail", "-R", "hdrs", "-Nsuccess,failure", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "dsn_return=headers|dsn_notify=success,failure"},
	{"-X is the log file",
	 {"sendmail", "-X", "/tmp/log", "-X/tmp/other", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "logfile=/tmp/log|logfile=/tmp/other"},
	{"a required argument may start with a dash",
	 {"outbox", "--user", "-weird-", "-f", "-x", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v", .settings = "user=-weird-",
	 .envelope_from = "-x", .from_account = "-x"},
	{"an argument may contain '='",
	 {"outbox", "--passwordeval=pass show smtp=work", "u@v"},
	 .mode = MODE_SEND, .recipients = "u@v",
	 .settings = "passwordeval=pass show smtp=work"},
	{"no arguments at all",
	 {"outbox"},
	 .mode = MODE_SEND, .recipients = "", .settings = ""},
};

static void test_command_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		const struct line_case *c = &line_cases[i];
		struct options opts;
		struct err e = ERR_INIT;
		int rc = parse(c->argv, &opts, &e);
		if (rc != EX_OK)
			fail_msg("%s: error %d: %s", c->what, rc, err_msg(&e));
		check_int(c->what, "mode", c->mode, opts.mode);
		char *r = recipients_string(&opts);
		check_string(c->what, "recipients", c->recipients, r);
		free(r);
		char *s = settings_string(&opts);
		check_string(c->what, "settings", c->settings, s);
		free(s);
		check_string(c->what, "envelope_from", c->envelope_from,
		              opts.envelope_from);
		check_string(c->what, "from_account", c->from_account,
		              opts.from_account);
		check_string(c->what, "full_name", c->full_name,
		              opts.full_name);
		check_string(c->what, "account", c->account, opts.account);
		check_string(c->what, "config_file", c->config_file,
		              opts.config_file);
		check_string(c->what, "mode_argument", c->mode_argument,
		              opts.mode_argument);
		check_int(c->what, "read_recipients", c->read_recipients,
		           opts.read_recipients);
		check_int(c->what, "read_envelope_from", c->read_envelope_from,
		           opts.read_envelope_from);
		check_int(c->what, "pretend", c->pretend, opts.pretend);
		check_int(c->what, "debug", c->debug, opts.debug);
		cli_free(&opts);
		err_clear(&e);
	}
}

/* ---- every setting option maps to its directive ------------------------ */

struct setting_case {
	const char *argv[4];   /* after the program name */
	const char *directive;
	const char *value;
};

static const struct setting_case setting_cases[] = {
	{{"--host=smtp.example.org"}, "host", "smtp.example.org"},
	{{"--host", "smtp.example.org"}, "host", "smtp.example.org"},
	{{"--port=465"}, "port", "465"},
	{{"--port", "465"}, "port", "465"},
	{{"--source-ip=192.0.2.1"}, "source_ip", "192.0.2.1"},
	{{"--proxy-host=127.0.0.1"}, "proxy_host", "127.0.0.1"},
	{{"--proxy-port=1080"}, "proxy_port", "1080"},
	{{"--socket=/run/smtp.sock"}, "socket", "/run/smtp.sock"},
	{{"--timeout=off"}, "timeout", "off"},
	{{"--timeout", "30"}, "timeout", "30"},
	{{"--connect-timeout=30"}, "timeout", "30"},
	{{"--protocol=lmtp"}, "protocol", "lmtp"},
	{{"--domain=client.example.org"}, "domain", "client.example.org"},
	{{"--auth"}, "auth", "on"},
	{{"--auth=off"}, "auth", "off"},
	{{"--auth=scram-sha-256"}, "auth", "scram-sha-256"},
	{{"--user=alice"}, "user", "alice"},
	{{"--passwordeval=pass smtp"}, "passwordeval", "pass smtp"},
	{{"--tls"}, "tls", "on"},
	{{"--tls=off"}, "tls", "off"},
	{{"--tls-starttls"}, "tls_starttls", "on"},
	{{"--tls-starttls=off"}, "tls_starttls", "off"},
	{{"--tls-trust-file=system"}, "tls_trust_file", "system"},
	{{"--tls-crl-file=/crl.pem"}, "tls_crl_file", "/crl.pem"},
	{{"--tls-fingerprint=AB:CD"}, "tls_fingerprint", "AB:CD"},
	{{"--tls-key-file=/k.pem"}, "tls_key_file", "/k.pem"},
	{{"--tls-cert-file=/c.pem"}, "tls_cert_file", "/c.pem"},
	{{"--tls-certcheck"}, "tls_certcheck", "on"},
	{{"--tls-certcheck=off"}, "tls_certcheck", "off"},
	{{"--tls-priorities=NORMAL"}, "tls_priorities", "NORMAL"},
	{{"--tls-host-override=mx"}, "tls_host_override", "mx"},
	{{"--tls-min-dh-prime-bits=2048"}, "tls_min_dh_prime_bits", "2048"},
	{{"--auto-from"}, "auto_from", "on"},
	{{"--auto-from=off"}, "auto_from", "off"},
	{{"--maildomain=example.org"}, "maildomain", "example.org"},
	{{"--dsn-notify=never"}, "dsn_notify", "never"},
	{{"-N", "delay"}, "dsn_notify", "delay"},
	{{"-Nnever"}, "dsn_notify", "never"},
	{{"--dsn-return=full"}, "dsn_return", "full"},
	{{"-R", "full"}, "dsn_return", "full"},
	{{"-Rhdrs"}, "dsn_return", "headers"},
	{{"--dsn-return=off"}, "dsn_return", "off"},
	{{"--logfile=/var/log/outbox"}, "logfile", "/var/log/outbox"},
	{{"-X", "-"}, "logfile", "-"},
	{{"--logfile-time-format=%F"}, "logfile_time_format", "%F"},
	{{"--syslog"}, "syslog", "on"},
	{{"--syslog=LOG_MAIL"}, "syslog", "LOG_MAIL"},
	{{"--aliases=/etc/aliases"}, "aliases", "/etc/aliases"},
	{{"--set-from-header"}, "set_from_header", "auto"},
	{{"--set-from-header=on"}, "set_from_header", "on"},
	{{"--set-date-header"}, "set_date_header", "auto"},
	{{"--set-date-header=off"}, "set_date_header", "off"},
	{{"--set-msgid-header"}, "set_msgid_header", "auto"},
	{{"--set-msgid-header=off"}, "set_msgid_header", "off"},
	{{"--remove-bcc-headers"}, "remove_bcc_headers", "on"},
	{{"--remove-bcc-headers=off"}, "remove_bcc_headers", "off"},
	{{"--undisclosed-recipients"}, "undisclosed_recipients", "on"},
	{{"--undisclosed-recipients=off"}, "undisclosed_recipients", "off"},
	{{"--allow-from-override"}, "allow_from_override", "on"},
	{{"--allow-from-override=off"}, "allow_from_override", "off"},
	/* msmtp's compatibility spellings */
	{{"--add-missing-from-header"}, "set_from_header", "auto"},
	{{"--add-missing-from-header=off"}, "set_from_header", "off"},
	{{"--add-missing-date-header=on"}, "set_date_header", "auto"},
	{{"--keepbcc"}, "remove_bcc_headers", "off"},
	{{"--keepbcc=off"}, "remove_bcc_headers", "on"},
	/* outbox additions */
	{{"--queue=always"}, "queue", "always"},
	{{"--queue", "off"}, "queue", "off"},
	{{"--queue-dir=/q"}, "queue_dir", "/q"},
	{{"--dkim-key=/etc/outbox/dkim.pem"}, "dkim_key",
	 "/etc/outbox/dkim.pem"},
	{{"--dkim-key", "/k"}, "dkim_key", "/k"},
	{{"--dkim-selector=mail2024"}, "dkim_selector", "mail2024"},
	{{"--dkim-domain=example.org"}, "dkim_domain", "example.org"},
	{{"--dkim-canonicalization=relaxed/simple"}, "dkim_canonicalization",
	 "relaxed/simple"},
	{{"--dkim-headers=From:To:Subject"}, "dkim_headers",
	 "From:To:Subject"},
};

static void test_setting_options(void **state)
{
	(void)state;
	size_t n = sizeof setting_cases / sizeof setting_cases[0];
	for (size_t i = 0; i < n; i++) {
		const struct setting_case *c = &setting_cases[i];
		const char *args[8] = {"outbox"};
		size_t argc = 1;
		for (size_t j = 0; j < 4 && c->argv[j]; j++)
			args[argc++] = c->argv[j];
		args[argc++] = "rcpt@example.org";
		struct options opts;
		struct err e = ERR_INIT;
		const char *what = c->argv[0];
		int rc = parse(args, &opts, &e);
		if (rc != EX_OK)
			fail_msg("%s: error %d: %s", what, rc, err_msg(&e));
		check_int(what, "setting_count", 1, (long)opts.setting_count);
		check_string(what, "directive", c->directive,
		              opts.settings[0].directive);
		check_string(what, "value", c->value, opts.settings[0].value);
		check_int(what, "recipient_count", 1,
		           (long)opts.recipient_count);
		check_string(what, "recipient", "rcpt@example.org",
		              opts.recipients[0]);
		const struct cli_setting *found =
			cli_find_setting(&opts, c->directive);
		assert_ptr_equal(found, &opts.settings[0]);
		cli_free(&opts);
		err_clear(&e);
	}
}

/* ---- errors ------------------------------------------------------------ */

struct error_case {
	const char *argv[MAX_ARGS];
	const char *message; /* the expected message, without the hint */
};

static const struct error_case error_cases[] = {
	{{"outbox", "--hots=x"},
	 "unknown option '--hots' (did you mean '--host'?)"},
	{{"outbox", "--acount", "x"},
	 "unknown option '--acount' (did you mean '--account'?)"},
	{{"outbox", "--frobnicate"}, "unknown option '--frobnicate'"},
	{{"outbox", "--tls-c=x"},
	 "option '--tls-c' is ambiguous (--tls-crl-file, --tls-cert-file, "
	 "--tls-certcheck)"},
	{{"outbox", "-Z"}, "unknown option '-Z'"},
	{{"outbox", "--=x"}, "unknown option '--=x'"},
	{{"outbox", "-5"}, "unknown option '-5'"},
	{{"outbox", "-tZ", "a@b"}, "unknown option '-Z' in '-tZ'"},
	{{"outbox", "--port"}, "option '--port' requires an argument"},
	{{"outbox", "--host"}, "option '--host' requires an argument"},
	{{"outbox", "--dsn-notify"},
	 "option '--dsn-notify' requires an argument"},
	{{"outbox", "--queue-delete"},
	 "option '--queue-delete' requires an argument"},
	{{"outbox", "--dkim-key"}, "option '--dkim-key' requires an argument"},
	{{"outbox", "-f"}, "option '-f' requires an argument"},
	{{"outbox", "-i", "-C"}, "option '-C' requires an argument"},
	{{"outbox", "-a"}, "option '-a' requires an argument"},
	{{"outbox", "-N"}, "option '-N' requires an argument"},
	{{"outbox", "-R"}, "option '-R' requires an argument"},
	{{"outbox", "-X"}, "option '-X' requires an argument"},
	{{"outbox", "-F"}, "option '-F' requires an argument"},
	{{"outbox", "-r"}, "option '-r' requires an argument"},
	{{"outbox", "-o"}, "option '-o' requires an argument"},
	{{"outbox", "-B"}, "option '-B' requires an argument"},
	{{"outbox", "-h"}, "option '-h' requires an argument"},
	{{"outbox", "-L"}, "option '-L' requires an argument"},
	{{"outbox", "-O"}, "option '-O' requires an argument"},
	{{"outbox", "-V"}, "option '-V' requires an argument"},
	{{"outbox", "-b"}, "option '-b' requires an argument"},
	{{"outbox", "--pretend=yes"},
	 "option '--pretend' does not take an argument"},
	{{"outbox", "--flush=now"},
	 "option '--flush' does not take an argument"},
	{{"outbox", "--rmqs=example.org"},
	 "option '--rmqs' is not supported: outbox does not send Remote "
	 "Message Queue Starting (ETRN) requests"},
	{{"outbox", "--rmqs"},
	 "option '--rmqs' is not supported: outbox does not send Remote "
	 "Message Queue Starting (ETRN) requests"},
	{{"outbox", "--configure=me@example.org"},
	 "option '--configure' is not supported: outbox does not generate "
	 "configurations from DNS SRV records; see outboxrc(5) and "
	 "msmtprc.example"},
	{{"sendmail", "-bs", "root"},
	 "unexpected argument 'root': '-bs' takes no recipients"},
	{{"sendmail", "-bs", "-t"},
	 "option '-t' cannot be used with '-bs': the SMTP dialogue gives "
	 "each message's sender and recipients"},
	{{"sendmail", "-bs", "-f", "a@b"},
	 "option '-f' cannot be used with '-bs': the SMTP dialogue gives "
	 "each message's sender and recipients"},
	{{"sendmail", "-bs", "-O", "Timeout.command=5x"},
	 "invalid time '5x' for '-O Timeout.command' (expected for example "
	 "300, 90s, 5m or 1h)"},
	{{"sendmail", "-bv", "-t"},
	 "option '-t' cannot be used with '-bv': there is no message to read"},
	{{"sendmail", "-bd"}, "unsupported operation mode '-bd'"},
	{{"outbox", "-a", "x", "--host=h"},
	 "options '-a' and '--host' cannot be used together"},
	{{"outbox", "--host", "h", "--account=x"},
	 "options '--host' and '--account' cannot be used together"},
	{{"outbox", "-f", "a@b", "--read-envelope-from"},
	 "options '-f' and '--read-envelope-from' cannot be used together"},
	{{"outbox", "--read-envelope-from", "--from=a@b"},
	 "options '--from' and '--read-envelope-from' cannot be used "
	 "together"},
	{{"outbox", "--serverinfo", "--flush"},
	 "options '--serverinfo' and '--flush' cannot be used together"},
	{{"sendmail", "-q", "-bp"},
	 "options '-q' and '-bp' cannot be used together"},
	{{"outbox", "--dkim-keygen", "--dkim-record"},
	 "options '--dkim-keygen' and '--dkim-record' cannot be used "
	 "together"},
	{{"outbox", "--queue-delete=a", "--queue-delete=b"},
	 "option '--queue-delete' can be given only once"},
	{{"outbox", "--flush", "a@b"},
	 "unexpected argument 'a@b': '--flush' takes no recipients"},
	{{"sendmail", "-q", "a@b"},
	 "unexpected argument 'a@b': '-q' takes no recipients"},
	{{"mailq", "x"},
	 "unexpected argument 'x': 'mailq' takes no recipients"},
	{{"outbox", "--dkim-type=dsa", "--dkim-keygen"},
	 "invalid argument 'dsa' for '--dkim-type' (expected rsa or ed25519)"},
	{{"outbox", "--dkim-keygen", "--dkim-bits=lots"},
	 "invalid argument 'lots' for '--dkim-bits' (expected a number of "
	 "bits such as 2048)"},
	{{"outbox", "--dkim-keygen", "--dkim-bits=0"},
	 "invalid argument '0' for '--dkim-bits' (expected a number of bits "
	 "such as 2048)"},
	{{"outbox", "--dkim-keygen", "--dkim-bits=99999999999"},
	 "argument '99999999999' for '--dkim-bits' is too large"},
	{{"outbox", "--dkim-keygen", "--dkim-type=ed25519", "--dkim-bits=256"},
	 "option '--dkim-bits' applies only to '--dkim-type=rsa'"},
	{{"outbox", "--dkim-bits=2048", "a@b"},
	 "option '--dkim-bits' is only meaningful with '--dkim-keygen'"},
	{{"outbox", "--dkim-type=rsa", "--dkim-record"},
	 "option '--dkim-type' is only meaningful with '--dkim-keygen'"},
	{{"outbox", "--keepbcc=maybe"},
	 "invalid argument 'maybe' for '--keepbcc' (expected on or off)"},
	{{"outbox", "--add-missing-date-header=auto"},
	 "invalid argument 'auto' for '--add-missing-date-header' (expected "
	 "on or off)"},
};

static void test_errors(void **state)
{
	(void)state;
	const char *hint = " (see 'outbox --help')";
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0];
	     i++) {
		const struct error_case *c = &error_cases[i];
		struct options opts;
		struct err e = ERR_INIT;
		const char *what = c->argv[1] ? c->argv[1] : c->argv[0];
		int rc = parse(c->argv, &opts, &e);
		check_int(what, "status", EX_USAGE, rc);
		check_int(what, "err code", EX_USAGE, e.code);
		struct buf want = BUF_INIT;
		buf_printf(&want, "%s%s", c->message, hint);
		check_string(what, "message", buf_str(&want), err_msg(&e));
		assert_null(strchr(err_msg(&e), '\n'));
		buf_free(&want);
		/* opts is released on failure; freeing again is harmless */
		assert_int_equal(opts.setting_count, 0);
		assert_null(opts.recipients);
		cli_free(&opts);
		err_clear(&e);
	}
}

/* ---- details ----------------------------------------------------------- */

static void test_invoked_as(void **state)
{
	(void)state;
	static const struct {
		const char *argv0;
		const char *name;
	} cases[] = {
		{"/usr/sbin/sendmail", "sendmail"},
		{"mailq", "mailq"},
		{"./outbox", "outbox"},
		{"outbox", "outbox"},
		{"", "outbox"},
		{"/usr/lib/", "outbox"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *args[] = {cases[i].argv0, "-i", NULL};
		struct options opts;
		struct err e = ERR_INIT;
		assert_int_equal(parse(args, &opts, &e), EX_OK);
		assert_string_equal(opts.invoked_as, cases[i].name);
		cli_free(&opts);
		err_clear(&e);
	}
	/* argc == 0 happens (execve with an empty argv) */
	struct options opts;
	struct err e = ERR_INIT;
	char *empty[] = {NULL};
	assert_int_equal(cli_parse(0, empty, &opts, &e), EX_OK);
	assert_string_equal(opts.invoked_as, "outbox");
	assert_int_equal(opts.mode, MODE_SEND);
	cli_free(&opts);
	/* a failure still tells main how we were invoked */
	const char *bad[] = {"/usr/sbin/sendmail", "--nope", NULL};
	assert_int_equal(parse(bad, &opts, &e), EX_USAGE);
	assert_string_equal(opts.invoked_as, "sendmail");
	err_clear(&e);
}

static void test_dkim_keygen_defaults(void **state)
{
	(void)state;
	static const struct {
		const char *argv[6];
		const char *type;
		int bits;
	} cases[] = {
		{{"outbox", "--dkim-keygen", "--dkim-key=/k"}, "rsa", 2048},
		{{"outbox", "--dkim-keygen", "--dkim-bits", "3072"},
		 "rsa", 3072},
		{{"outbox", "--dkim-type=rsa", "--dkim-bits=1024",
		  "--dkim-keygen"}, "rsa", 1024},
		{{"outbox", "--dkim-keygen", "--dkim-type", "ed25519"},
		 "ed25519", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct options opts;
		struct err e = ERR_INIT;
		assert_int_equal(parse(cases[i].argv, &opts, &e), EX_OK);
		assert_int_equal(opts.mode, MODE_DKIM_KEYGEN);
		assert_string_equal(opts.dkim_key_type, cases[i].type);
		assert_int_equal(opts.dkim_key_bits, cases[i].bits);
		cli_free(&opts);
	}
	/* the keygen inputs other than type/bits are ordinary settings */
	const char *args[] = {"outbox", "--dkim-keygen", "--dkim-key=/k",
	                      "--dkim-selector=s", "--dkim-domain=d", NULL};
	struct options opts;
	struct err e = ERR_INIT;
	assert_int_equal(parse(args, &opts, &e), EX_OK);
	char *s = settings_string(&opts);
	assert_string_equal(s, "dkim_key=/k|dkim_selector=s|dkim_domain=d");
	free(s);
	cli_free(&opts);
}

static void test_find_setting_returns_last(void **state)
{
	(void)state;
	const char *args[] = {"outbox", "--host=a", "--port=1", "--host=b",
	                      NULL};
	struct options opts;
	struct err e = ERR_INIT;
	assert_int_equal(parse(args, &opts, &e), EX_OK);
	const struct cli_setting *s = cli_find_setting(&opts, "host");
	assert_non_null(s);
	assert_string_equal(s->value, "b");
	assert_null(cli_find_setting(&opts, "tls"));
	cli_free(&opts);
}

static void test_options_do_not_alias_argv(void **state)
{
	(void)state;
	char a0[] = "outbox", a1[] = "-fme@x", a2[] = "--host=h", a3[] = "r@x";
	char *argv[] = {a0, a1, a2, a3, NULL};
	struct options opts;
	struct err e = ERR_INIT;
	assert_int_equal(cli_parse(4, argv, &opts, &e), EX_OK);
	memset(a1, 'X', sizeof a1 - 1);
	memset(a2, 'X', sizeof a2 - 1);
	memset(a3, 'X', sizeof a3 - 1);
	assert_string_equal(opts.envelope_from, "me@x");
	assert_string_equal(opts.settings[0].value, "h");
	assert_string_equal(opts.recipients[0], "r@x");
	cli_free(&opts);
	assert_null(opts.settings);
	assert_int_equal(opts.mode, MODE_SEND);
}

static void test_usage_text(void **state)
{
	(void)state;
	const char *u = cli_usage();
	/* every long option in the help, every line within 80 columns */
	static const char *const must_mention[] = {
		"--version", "--help", "--pretend", "--debug", "--serverinfo",
		"--flush", "--list-queue", "--queue-delete", "--queue-requeue",
		"--dkim-keygen", "--dkim-record", "--file", "--account",
		"--host", "--port", "--source-ip", "--proxy-host",
		"--proxy-port", "--socket", "--timeout", "--protocol",
		"--domain", "--auth", "--user", "--passwordeval", "--tls[",
		"--tls-starttls", "--tls-trust-file", "--tls-crl-file",
		"--tls-fingerprint", "--tls-certcheck", "--tls-key-file",
		"--tls-cert-file", "--tls-priorities", "--tls-host-override",
		"--tls-min-dh-prime-bits", "--from", "--auto-from",
		"--maildomain", "--allow-from-override", "--dsn-notify",
		"--dsn-return", "--logfile", "--logfile-time-format",
		"--syslog", "--read-recipients", "--read-envelope-from",
		"--aliases", "--set-from-header", "--set-date-header",
		"--set-msgid-header", "--remove-bcc-headers",
		"--undisclosed-recipients", "--queue=", "--queue-dir",
		"--dkim-key", "--dkim-selector", "--dkim-domain",
		"--dkim-canonicalization", "--dkim-headers", "--dkim-type",
		"--dkim-bits", "-F name",
	};
	for (size_t i = 0; i < sizeof must_mention / sizeof must_mention[0];
	     i++) {
		if (!strstr(u, must_mention[i]))
			fail_msg("--help does not mention %s", must_mention[i]);
	}
	for (const char *line = u; *line;) {
		const char *end = strchr(line, '\n');
		assert_non_null(end);
		if (end - line > 79)
			fail_msg("--help line too long: %.*s",
			         (int)(end - line), line);
		line = end + 1;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_lines),
		cmocka_unit_test(test_setting_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_invoked_as),
		cmocka_unit_test(test_dkim_keygen_defaults),
		cmocka_unit_test(test_find_setting_returns_last),
		cmocka_unit_test(test_options_do_not_alias_argv),
		cmocka_unit_test(test_usage_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

