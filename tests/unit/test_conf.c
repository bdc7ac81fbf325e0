/* test_conf.c - the msmtprc language: syntax, every directive's values,
 * inheritance, eval, files and their permissions, finalize and describe.
 * The expected behaviour of msmtp-compatible parts was checked against
 * msmtp 1.8.23 itself (msmtp --pretend on the same input). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "runenv.h"
#include "util.h"

#define FILENAME "test.rc"

/* ---- helpers ------------------------------------------------------------- */

static int parse_text(struct conf *c, const char *text, struct err *e)
{
	bool secret = false;
	return conf_parse(c, text, strlen(text), FILENAME, &secret, e);
}

/* The describe() output of account `name` after parsing text (no
 * finalize), or fail. Caller frees. */
/* The run environment describe_after() parses with (NULL: none). */
static struct runenv *describe_env;

static char *describe_after(const char *text, const char *name)
{
	struct conf c = {.env = describe_env};
	struct err e = ERR_INIT;
	int rc = parse_text(&c, text, &e);
	if (rc != EX_OK)
		fail_msg("parse failed for <<%s>>: %s", text, err_msg(&e));
	struct account *a = conf_find_account(&c, name);
	if (!a)
		fail_msg("no account '%s' in <<%s>>", name, text);
	struct buf out = BUF_INIT;
	buf_add_char(&out, '\n');
	account_describe(a, &out);
	conf_free(&c);
	err_clear(&e);
	return buf_steal(&out);
}

/* haystack (starting with \n) has the whole line `line`. */
static bool has_line(const char *haystack, const char *line)
{
	struct buf needle = BUF_INIT;
	buf_printf(&needle, "\n%s\n", line);
	bool found = strstr(haystack, buf_str(&needle)) != NULL;
	buf_free(&needle);
	return found;
}

/* ---- every directive: valid values --------------------------------------- */

struct valid_case {
	const char *line;     /* after "account a\n" */
	const char *expected; /* a line of account_describe() */
};

static const struct valid_case valid_cases[] = {
	{"host mx.example.org", "host = mx.example.org"},
	{"host 192.0.2.1", "host = 192.0.2.1"},
	{"host \"mx.example\"", "host = mx.example"},
	{"port 587", "port = 587"},
	{"port 1", "port = 1"},
	{"port 65535", "port = 65535"},
	{"source_ip 192.0.2.7", "source ip = 192.0.2.7"},
	{"source_ip 2001:db8::1", "source ip = 2001:db8::1"},
	{"source_ip", "source ip = (not set)"},
	{"proxy_host 127.0.0.1", "proxy host = 127.0.0.1"},
	{"proxy_host", "proxy host = (not set)"},
	{"proxy_port 9050", "proxy port = 9050"},
	{"proxy_port", "proxy port = 0"},
	{"socket /run/smtp.sock", "socket = /run/smtp.sock"},
	{"socket", "socket = (not set)"},
	{"timeout 30", "timeout = 30 seconds"},
	{"timeout off", "timeout = off"},
	{"timeout OFF", "timeout = off"},
	{"connect_timeout 5", "timeout = 5 seconds"},
	{"protocol smtp", "protocol = smtp"},
	{"protocol lmtp", "protocol = lmtp"},
	{"protocol LMTP", "protocol = lmtp"},
	{"domain client.example", "domain = client.example"},
	{"domain %H", "domain = %H"},
	{"domain", "domain = localhost"},
	{"auth", "auth = choose"},
	{"auth on", "auth = choose"},
	{"auth off", "auth = none"},
	{"auth plain", "auth = PLAIN"},
	{"auth LOGIN", "auth = LOGIN"},
	{"auth cram-md5", "auth = CRAM-MD5"},
	{"auth digest-md5", "auth = DIGEST-MD5"},
	{"auth scram-sha-1", "auth = SCRAM-SHA-1"},
	{"auth scram-sha-256", "auth = SCRAM-SHA-256"},
	{"auth gssapi", "auth = GSSAPI"},
	{"auth external", "auth = EXTERNAL"},
	{"auth ntlm", "auth = NTLM"},
	{"auth oauthbearer", "auth = OAUTHBEARER"},
	{"auth XOAuth2", "auth = XOAUTH2"},
	{"user joe", "user = joe"},
	{"user joe@example.org", "user = joe@example.org"},
	{"user", "user = (not set)"},
	{"user \"\"", "user = (not set)"},
	{"password secret", "password = *"},
	{"password", "password = (not set)"},
	{"passwordeval gpg -d ~/.pw.gpg", "passwordeval = gpg -d ~/.pw.gpg"},
	{"passwordeval", "passwordeval = (not set)"},
	{"ntlmdomain CORP", "ntlmdomain = CORP"},
	{"tls", "tls = on"},
	{"tls on", "tls = on"},
	{"tls off", "tls = off"},
	{"tls On", "tls = on"},
	{"tls_starttls off", "tls_starttls = off"},
	{"tls_starttls", "tls_starttls = on"},
	{"tls_nostarttls", "tls_starttls = off"},
	{"tls_trust_file system", "tls_trust_file = system"},
	{"tls_trust_file /etc/ssl/ca.pem", "tls_trust_file = /etc/ssl/ca.pem"},
	{"tls_trust_file", "tls_trust_file = (not set)"},
	{"tls_crl_file /etc/ssl/crl.pem", "tls_crl_file = /etc/ssl/crl.pem"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
	 "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
	 "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	 "00:11:22:33",
	 "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	 "00:11:22:33"},
	{"tls_fingerprint 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",
	 "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"},
	{"tls_fingerprint", "tls_fingerprint = (not set)"},
	{"tls_key_file /k.pem", "tls_key_file = /k.pem"},
	{"tls_key_file pkcs11:token=x", "tls_key_file = pkcs11:token=x"},
	{"tls_cert_file /c.pem", "tls_cert_file = /c.pem"},
	{"tls_certcheck off", "tls_certcheck = off"},
	{"tls_certcheck", "tls_certcheck = on"},
	{"tls_nocertcheck", "tls_certcheck = off"},
	{"tls_priorities NORMAL:-VERS-TLS1.0",
	 "tls_priorities = NORMAL:-VERS-TLS1.0"},
	{"tls_priorities \"PROTOCOLS=TLSv1.3 CIPHERS=x\"",
	 "tls_priorities = PROTOCOLS=TLSv1.3 CIPHERS=x"},
	{"tls_host_override mail.example", "tls_host_override = mail.example"},
	{"tls_min_dh_prime_bits 512", "tls_min_dh_prime_bits = 512"},
	{"tls_min_dh_prime_bits", "tls_min_dh_prime_bits = (not set)"},
	{"tls_force_sslv3", "tls = off"},
	{"tls_force_sslv3 on", "tls = off"},
	{"from joe@example.org", "from = joe@example.org"},
	{"from %U@%H", "from = %U@%H"},
	{"from *@example.org", "from = *@example.org"},
	{"from", "from = (not set)"},
	{"from_full_name \"Joe Q. Public\"", "from_full_name = Joe Q. Public"},
	{"allow_from_override off", "allow_from_override = off"},
	{"dsn_notify success,failure,delay",
	 "dsn_notify = SUCCESS,FAILURE,DELAY"},
	{"dsn_notify delay", "dsn_notify = DELAY"},
	{"dsn_notify Failure,Success", "dsn_notify = FAILURE,SUCCESS"},
	{"dsn_notify never", "dsn_notify = NEVER"},
	{"dsn_notify off", "dsn_notify = (not set)"},
	{"dsn_return headers", "dsn_return = HDRS"},
	{"dsn_return full", "dsn_return = FULL"},
	{"dsn_return off", "dsn_return = (not set)"},
	{"set_from_header on", "set_from_header = on"},
	{"set_from_header off", "set_from_header = off"},
	{"set_from_header auto", "set_from_header = auto"},
	{"set_from_header", "set_from_header = auto"},
	{"add_missing_from_header off", "set_from_header = off"},
	{"add_missing_from_header", "set_from_header = auto"},
	{"set_date_header off", "set_date_header = off"},
	{"set_date_header", "set_date_header = auto"},
	{"add_missing_date_header off", "set_date_header = off"},
	{"add_missing_date_header on", "set_date_header = auto"},
	{"set_msgid_header off", "set_msgid_header = off"},
	{"set_msgid_header auto", "set_msgid_header = auto"},
	{"remove_bcc_headers off", "remove_bcc_headers = off"},
	{"keepbcc", "remove_bcc_headers = off"},
	{"keepbcc on", "remove_bcc_headers = off"},
	{"keepbcc off", "remove_bcc_headers = on"},
	{"undisclosed_recipients", "undisclosed_recipients = on"},
	{"auto_from on", "auto_from = on"},
	{"maildomain example.org", "maildomain = example.org"},
	{"maildomain", "maildomain = (not set)"},
	{"aliases /etc/aliases", "aliases = /etc/aliases"},
	{"aliases", "aliases = (not set)"},
	{"logfile -", "logfile = -"},
	{"logfile /var/log/outbox.log", "logfile = /var/log/outbox.log"},
	{"logfile", "logfile = (not set)"},
	{"logfile_time_format \"%Y-%m-%d %H:%M:%S\"",
	 "logfile_time_format = %Y-%m-%d %H:%M:%S"},
	{"syslog", "syslog = LOG_USER"},
	{"syslog on", "syslog = LOG_USER"},
	{"syslog off", "syslog = (not set)"},
	{"syslog LOG_MAIL", "syslog = LOG_MAIL"},
	{"syslog log_local7", "syslog = LOG_LOCAL7"},
	{"syslog LOG_LOCAL0", "syslog = LOG_LOCAL0"},
	/* outbox additions */
	{"dkim_key /etc/dkim/a.pem", "dkim_key = /etc/dkim/a.pem"},
	{"dkim_selector s2024", "dkim_selector = s2024"},
	{"dkim_selector eu.s-1_x", "dkim_selector = eu.s-1_x"},
	{"dkim_domain example.org", "dkim_domain = example.org"},
	{"dkim_canonicalization simple/simple",
	 "dkim_canonicalization = simple/simple"},
	{"dkim_canonicalization Relaxed/Simple",
	 "dkim_canonicalization = relaxed/simple"},
	{"dkim_canonicalization relaxed",
	 "dkim_canonicalization = relaxed/simple"}, /* RFC 6376 3.5 */
	{"dkim_headers from:to:subject:date",
	 "dkim_headers = from:to:subject:date"},
	{"dkim_headers From", "dkim_headers = From"},
	{"dkim_identity @example.org", "dkim_identity = @example.org"},
	{"dkim_identity joe@mail.example.org",
	 "dkim_identity = joe@mail.example.org"},
	{"dkim_expire 3600", "dkim_expire = 3600 seconds"},
	{"dkim_expire 7d", "dkim_expire = 604800 seconds"},
	{"dkim_expire off", "dkim_expire = off"},
	{"queue off", "queue = off"},
	{"queue on-failure", "queue = on-failure"},
	{"queue always", "queue = always"},
	{"queue_dir /var/spool/outbox", "queue_dir = /var/spool/outbox"},
	{"queue_dir", "queue_dir = (default)"},
	{"queue_max_age 3600", "queue_max_age = 3600 seconds"},
	{"queue_max_age 45s", "queue_max_age = 45 seconds"},
	{"queue_max_age 90m", "queue_max_age = 5400 seconds"},
	{"queue_max_age 12h", "queue_max_age = 43200 seconds"},
	{"queue_max_age 2d", "queue_max_age = 172800 seconds"},
	{"queue_bounce on", "queue_bounce = on"},
	{"queue_bounce", "queue_bounce = on"},
	/* blanks and quotes around values */
	{"host\tmx.example\t", "host = mx.example"},
	{"   host    mx.example   ", "host = mx.example"},
	{"user \"  two  spaces  \"", "user =   two  spaces  "},
	{"user \"\"x\"\"", "user = \"x\""},
	{"user \"", "user = \""},
	{"user \"x", "user = \"x"},
	{"user x\"", "user = x\""},
	/* msmtp has no escapes: backslashes stay as written */
	{"user \"a \\\"b\\\" c\\\\d\"", "user = a \\\"b\\\" c\\\\d"},
	/* `#` only starts a comment at the beginning of a line */
	{"user joe # not a comment", "user = joe # not a comment"},
};

static void test_valid_values(void **state)
{
	for (size_t i = 0; i < sizeof valid_cases / sizeof *valid_cases; i++) {
		const struct valid_case *t = &valid_cases[i];
		struct buf text = BUF_INIT;
		buf_printf(&text, "account a\n%s\n", t->line);
		char *out = describe_after(buf_str(&text), "a");
		if (!has_line(out, t->expected))
			fail_msg("row %zu <<%s>>: expected line <<%s>> in:%s",
			         i, t->line, t->expected, out);
		free(out);
		buf_free(&text);
	}
}

/* ---- every directive: invalid values ------------------------------------- */

struct invalid_case {
	const char *line;    /* line 3, after "account a\nhost x\n" */
	const char *message; /* part of the error message */
};

static const struct invalid_case invalid_cases[] = {
	{"host", "'host' needs a value"},
	{"host \"mx example\"", "invalid value 'mx example' for 'host'"},
	{"port 0", "invalid value '0' for 'port': expected a number from 1 "
	           "to 65535"},
	{"port 65536", "expected a number from 1 to 65535"},
	{"port -1", "for 'port'"},
	{"port 25x", "for 'port'"},
	{"port 0x19", "for 'port'"},
	{"port 99999999999999999999999", "for 'port'"},
	{"port", "'port' needs a value"},
	{"proxy_port 70000", "for 'proxy_port'"},
	{"source_ip mx.example", "expected an IPv4 or IPv6 address"},
	{"timeout 0", "invalid value '0' for 'timeout'"},
	{"timeout -5", "for 'timeout'"},
	{"timeout 10s", "for 'timeout'"},
	{"timeout", "'timeout' needs a value"},
	{"protocol esmtp", "expected 'smtp' or 'lmtp'"},
	{"protocol", "'protocol' needs a value"},
	{"domain \"a b\"", "for 'domain'"},
	{"auth foo", "invalid value 'foo' for 'auth'"},
	{"auth scram-sha-1-plus", "for 'auth'"},
	{"tls yes", "invalid value 'yes' for 'tls': expected 'on' or 'off'"},
	{"tls_starttls 1", "for 'tls_starttls'"},
	{"tls_certcheck no", "for 'tls_certcheck'"},
	{"tls_nocertcheck on", "takes no value"},
	{"tls_nostarttls off", "takes no value"},
	{"tls_force_sslv3 maybe", "for 'tls_force_sslv3'"},
	{"tls_fingerprint 00:11", "expected a SHA-256 fingerprint"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE",
	 "for 'tls_fingerprint'"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:GG",
	 "for 'tls_fingerprint'"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:",
	 "for 'tls_fingerprint'"},
	{"tls_fingerprint 0011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00",
	 "for 'tls_fingerprint'"},
	{"tls_fingerprint 00112233445566778899AABBCCDDEEFF",
	 "for 'tls_fingerprint'"},
	{"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00",
	 "for 'tls_fingerprint'"},
	{"tls_min_dh_prime_bits 0", "for 'tls_min_dh_prime_bits'"},
	{"tls_host_override \"a b\"", "for 'tls_host_override'"},
	{"from \"joe @example.org\"", "for 'from'"},
	{"from <joe@example.org>", "for 'from'"},
	{"allow_from_override maybe", "for 'allow_from_override'"},
	{"dsn_notify", "'dsn_notify' needs a value"},
	{"dsn_notify success,success", "for 'dsn_notify'"},
	{"dsn_notify never,success", "for 'dsn_notify'"},
	{"dsn_notify success,", "for 'dsn_notify'"},
	{"dsn_notify ,success", "for 'dsn_notify'"},
	{"dsn_notify \"success, failure\"", "for 'dsn_notify'"},
	{"dsn_notify sucess", "for 'dsn_notify'"},
	{"dsn_notify NEVERMORE", "for 'dsn_notify'"},
	{"dsn_return", "'dsn_return' needs a value"},
	{"dsn_return hdrs", "expected 'off', 'headers' or 'full'"},
	{"set_from_header always", "for 'set_from_header'"},
	{"set_date_header on", "expected 'auto' or 'off'"},
	{"set_msgid_header on", "for 'set_msgid_header'"},
	{"add_missing_from_header auto", "for 'add_missing_from_header'"},
	{"remove_bcc_headers 2", "for 'remove_bcc_headers'"},
	{"keepbcc sometimes", "for 'keepbcc'"},
	{"undisclosed_recipients x", "for 'undisclosed_recipients'"},
	{"auto_from x", "for 'auto_from'"},
	{"maildomain \"a b\"", "for 'maildomain'"},
	{"syslog LOG_LOCAL8", "invalid value 'LOG_LOCAL8' for 'syslog'"},
	{"syslog LOG_DAEMON", "for 'syslog'"},
	{"from_full_name \"Joe\rBcc: x\"", "control characters"},
	{"user \"a\rb\"", "for 'user'"},
	{"dkim_key", "'dkim_key' needs a value"},
	{"dkim_selector", "'dkim_selector' needs a value"},
	{"dkim_selector a..b", "for 'dkim_selector'"},
	{"dkim_selector \"a b\"", "for 'dkim_selector'"},
	{"dkim_selector s=1", "for 'dkim_selector'"},
	{"dkim_domain exa;mple.org", "for 'dkim_domain'"},
	{"dkim_canonicalization relaxed/strict", "expected HEADER/BODY"},
	{"dkim_canonicalization nofws", "for 'dkim_canonicalization'"},
	{"dkim_canonicalization relaxed/", "for 'dkim_canonicalization'"},
	{"dkim_canonicalization /relaxed", "for 'dkim_canonicalization'"},
	{"dkim_headers to:subject", "must include From"},
	{"dkim_headers from::to", "separated by ':'"},
	{"dkim_headers \"from: to\"", "for 'dkim_headers'"},
	{"dkim_identity joe", "expected [local-part]@domain"},
	{"dkim_identity joe@", "for 'dkim_identity'"},
	{"dkim_expire 0", "for 'dkim_expire'"},
	{"dkim_expire 1w", "for 'dkim_expire'"},
	{"queue on", "expected 'off', 'on-failure' or 'always'"},
	{"queue", "'queue' needs a value"},
	{"queue_max_age 0", "for 'queue_max_age'"},
	{"queue_max_age -1d", "for 'queue_max_age'"},
	{"queue_max_age 1w", "for 'queue_max_age'"},
	{"queue_max_age d", "for 'queue_max_age'"},
	{"queue_max_age 99999999999999999999d", "for 'queue_max_age'"},
	{"queue_max_age", "'queue_max_age' needs a value"},
	{"queue_bounce sometimes", "for 'queue_bounce'"},
	{"bogus 1", "unknown directive 'bogus'"},
	{"PORT 25", "directives are lower case: 'port'"},
	{"host=mx.example", "unknown directive 'host=mx.example'"},
	{"defaults x", "'defaults' takes no value"},
	{"account", "'account' needs a name"},
	{"account b : nosuch", "account 'nosuch' is not (yet) defined"},
	{"account b :", "missing account name"},
	{"account b : a,", "missing account name"},
	{"account a", "account 'a' is already defined at line 1"},
	{"account x,y", "must not contain ','"},
	{"eval", "'eval' needs a command"},
};

static void test_invalid_values(void **state)
{
	for (size_t i = 0; i < sizeof invalid_cases / sizeof *invalid_cases;
	     i++) {
		const struct invalid_case *t = &invalid_cases[i];
		struct buf text = BUF_INIT;
		buf_printf(&text, "account a\nhost x\n%s\n", t->line);
		struct conf c = {0};
		struct err e = ERR_INIT;
		int rc = parse_text(&c, buf_str(&text), &e);
		if (rc != EX_CONFIG || e.code != EX_CONFIG)
			fail_msg("row %zu <<%s>>: rc %d, expected EX_CONFIG",
			         i, t->line, rc);
		if (strncmp(err_msg(&e), FILENAME ":3: ",
		            strlen(FILENAME ":3: ")) != 0 ||
		    !strstr(err_msg(&e), t->message))
			fail_msg("row %zu <<%s>>: message <<%s>> lacks "
			         "\"" FILENAME ":3: \" or <<%s>>",
			         i, t->line, err_msg(&e), t->message);
		/* a failed parse leaves the configuration untouched */
		assert_int_equal(c.count, 0);
		conf_free(&c);
		err_clear(&e);
		buf_free(&text);
	}
}

/* One list of syslog facilities: what the directive accepts is what log.c
 * can open syslog with, by the same value. */
static void test_syslog_facilities(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int value;
	} known[] = {
		{"LOG_USER", LOG_USER},     {"log_mail", LOG_MAIL},
		{"LOG_LOCAL0", LOG_LOCAL0}, {"LOG_LOCAL1", LOG_LOCAL1},
		{"LOG_LOCAL2", LOG_LOCAL2}, {"LOG_LOCAL3", LOG_LOCAL3},
		{"LOG_LOCAL4", LOG_LOCAL4}, {"LOG_LOCAL5", LOG_LOCAL5},
		{"LOG_LOCAL6", LOG_LOCAL6}, {"Log_Local7", LOG_LOCAL7},
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		const struct conf_syslog_facility *f =
		        conf_find_syslog_facility(known[i].name);
		assert_non_null(f);
		assert_int_equal(f->value, known[i].value);
		struct account *a = account_new("a");
		struct err e = ERR_INIT;
		assert_int_equal(account_set(a, "syslog", known[i].name, &e),
		                 EX_OK);
		/* stored by its table name, which finds it again */
		assert_ptr_equal(conf_find_syslog_facility(a->syslog), f);
		assert_string_equal(a->syslog, f->name);
		account_free(a);
	}
	static const char *const unknown[] = {"", "on", "off", "LOG_KERN",
	                                      "LOG_DAEMON", "LOG_LOCAL8",
	                                      "LOG_LOCAL", "LOCAL0"};
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
		assert_null(conf_find_syslog_facility(unknown[i]));
}

/* ---- syntax -------------------------------------------------------------- */

static void test_comments_blank_lines_crlf(void **state)
{
	const char *text = "# comment\r\n"
	                   "\r\n"
	                   "   \t  # indented comment\r\n"
	                   "\t\r\n"
	                   "account a\r\n"
	                   "host mx.example\r\n"
	                   "user \"joe\"\r\n"
	                   "password \" pw with blanks \"\r\n";
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, text, &e), EX_OK);
	assert_int_equal(c.count, 1);
	struct account *a = conf_find_account(&c, "a");
	assert_non_null(a);
	assert_string_equal(a->host, "mx.example");
	assert_string_equal(a->user, "joe");
	assert_string_equal(a->password, " pw with blanks ");
	assert_string_equal(a->file, FILENAME);
	assert_int_equal(a->line, 5);
	conf_free(&c);
}

static void test_no_final_newline_and_bom(void **state)
{
	const char *text = "\xEF\xBB\xBF" "account a\nhost mx.example";
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, text, &e), EX_OK);
	assert_string_equal(conf_find_account(&c, "a")->host, "mx.example");
	conf_free(&c);
}

static void test_nul_byte_is_an_error(void **state)
{
	const char text[] = "account a\nhost mx\0evil\n";
	struct conf c = {0};
	struct err e = ERR_INIT;
	bool secret;
	assert_int_equal(conf_parse(&c, text, sizeof text - 1, FILENAME,
	                            &secret, &e),
	                 EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), FILENAME ":2: "));
	assert_non_null(strstr(err_msg(&e), "NUL"));
	assert_int_equal(c.count, 0);
	conf_free(&c);
	err_clear(&e);
}

static void test_empty_text(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	bool secret = true;
	assert_int_equal(conf_parse(&c, "", 0, FILENAME, &secret, &e), EX_OK);
	assert_int_equal(c.count, 0);
	assert_false(secret);
	conf_free(&c);
}

/* A 100 KB line (an OAuth token, say): no line length limit. */
static void test_very_long_line(void **state)
{
	size_t n = 100 * 1024;
	struct buf text = BUF_INIT;
	buf_add_str(&text, "account a\nhost mx\npassword ");
	for (size_t i = 0; i < n; i++)
		buf_add_char(&text, (char)('a' + i % 26));
	buf_add_str(&text, "\nuser joe\n");
	struct conf c = {0};
	struct err e = ERR_INIT;
	bool secret = false;
	assert_int_equal(conf_parse(&c, text.data, text.len, FILENAME, &secret,
	                            &e),
	                 EX_OK);
	assert_true(secret);
	struct account *a = conf_find_account(&c, "a");
	assert_int_equal(strlen(a->password), n);
	assert_int_equal(a->password[n - 1], 'a' + (n - 1) % 26);
	assert_string_equal(a->user, "joe");
	conf_free(&c);
	buf_free(&text);
}

static void test_has_secret(void **state)
{
	static const struct {
		const char *text;
		bool secret;
	} cases[] = {
		{"account a\nhost x\n", false},
		{"account a\nhost x\npassword s\n", true},
		{"defaults\npassword s\naccount a\nhost x\n", true},
		{"account a\nhost x\npassword\n", false},
		{"account a\nhost x\npasswordeval echo s\n", false},
		/* the secret is not in the file, only the command */
		{"account a\nhost x\neval echo password s\n", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct conf c = {0};
		struct err e = ERR_INIT;
		bool secret = !cases[i].secret;
		int rc = conf_parse(&c, cases[i].text, strlen(cases[i].text),
		                    FILENAME, &secret, &e);
		if (rc != EX_OK || secret != cases[i].secret)
			fail_msg("row %zu: rc %d secret %d: %s", i, rc, secret,
			         err_msg(&e));
		conf_free(&c);
	}
}

/* ---- accounts and inheritance -------------------------------------------- */

static void test_inheritance(void **state)
{
	const char *text =
		"defaults\n"
		"port 587\n"
		"tls on\n"
		"account a\n"
		"host a.example\n"
		"user ua\n"
		"from a@example\n"
		"defaults\n"      /* defaults may appear again */
		"port 2525\n"
		"account b\n"
		"host b.example\n"
		"user ub\n"
		"tls off\n"
		"account c : a\n" /* defaults now, then what a set */
		"account d : a, b\n"
		"from d@example\n"
		"account e : d\n" /* d's own and inherited settings */
		"account default : a\n";
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, text, &e), EX_OK);
	assert_int_equal(c.count, 6);
	const char *order[] = {"a", "b", "c", "d", "e", "default"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(c.accounts[i]->name, order[i]);

	struct account *a = conf_find_account(&c, "a");
	assert_int_equal(a->port, 587);
	assert_true(a->tls);

	struct account *b = conf_find_account(&c, "b");
	assert_int_equal(b->port, 2525);
	assert_false(b->tls);

	/* c: current defaults (2525), a's own lines; a's port came from the
	 * old defaults, not from a line of a, so it is not inherited */
	struct account *cc = conf_find_account(&c, "c");
	assert_int_equal(cc->port, 2525);
	assert_string_equal(cc->host, "a.example");
	assert_string_equal(cc->user, "ua");
	assert_true(cc->tls);

	/* d: a then b (b wins), then its own from */
	struct account *d = conf_find_account(&c, "d");
	assert_string_equal(d->host, "b.example");
	assert_string_equal(d->user, "ub");
	assert_false(d->tls);
	assert_string_equal(d->from, "d@example");

	struct account *ee = conf_find_account(&c, "e");
	assert_string_equal(ee->host, "b.example");
	assert_string_equal(ee->from, "d@example");
	assert_false(ee->tls);

	struct account *def = conf_find_account(&c, "default");
	assert_string_equal(def->host, "a.example");
	assert_string_equal(def->from, "a@example");
	assert_int_equal(def->line, 18);
	conf_free(&c);
}

/* msmtp 1.2 compatibility: settings before any account line. */
static void test_settings_before_account(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, "host mx\nport 26\naccount b\nhost y\n",
	                            &e),
	                 EX_OK);
	assert_int_equal(c.count, 2);
	struct account *a = conf_find_account(&c, "default");
	assert_non_null(a);
	assert_string_equal(a->host, "mx");
	assert_int_equal(a->port, 26);
	conf_free(&c);

	/* ... so a later "account default" is a redefinition */
	assert_int_equal(parse_text(&c, "host mx\naccount default\n", &e),
	                 EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "already defined at line 1"));
	conf_free(&c);
	err_clear(&e);
}

/* conf_parse once per file: a later file replaces accounts of the same
 * name; within one file a redefinition is an error. */
static void test_user_file_replaces_system_account(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	bool secret;
	const char *sys = "account shared\nhost sys.example\nuser sysuser\n"
	                  "account only_sys\nhost s2\n";
	const char *user = "account shared\nhost user.example\n"
	                   "account only_user : shared\n";
	assert_int_equal(conf_parse(&c, sys, strlen(sys), "/etc/outboxrc",
	                            &secret, &e),
	                 EX_OK);
	assert_int_equal(conf_parse(&c, user, strlen(user), "/home/u/.outboxrc",
	                            &secret, &e),
	                 EX_OK);
	assert_int_equal(c.count, 3);
	struct account *s = conf_find_account(&c, "shared");
	assert_string_equal(s->host, "user.example");
	assert_null(s->user); /* replaced whole, not merged */
	assert_string_equal(s->file, "/home/u/.outboxrc");
	assert_string_equal(conf_find_account(&c, "only_sys")->host, "s2");
	assert_string_equal(conf_find_account(&c, "only_user")->host,
	                    "user.example");
	/* defaults do not cross files */
	const char *sys2 = "defaults\nport 2525\n";
	const char *user2 = "account z\nhost z\n";
	assert_int_equal(conf_parse(&c, sys2, strlen(sys2), "s", &secret, &e),
	                 EX_OK);
	assert_int_equal(conf_parse(&c, user2, strlen(user2), "u", &secret,
	                            &e),
	                 EX_OK);
	assert_int_equal(conf_find_account(&c, "z")->port, 0);
	conf_free(&c);
}

static void test_account_name_with_quotes_and_blanks(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c,
	                            "account \"my acct\"\nhost x\n"
	                            "account  other :  my acct \nport 2\n",
	                            &e),
	                 EX_OK);
	assert_non_null(conf_find_account(&c, "my acct"));
	assert_string_equal(conf_find_account(&c, "other")->host, "x");
	assert_null(conf_find_account(&c, "nosuch"));
	conf_free(&c);
}

/* ---- DKIM signers -------------------------------------------------------- */

static void test_dkim_signers(void **state)
{
	const char *text =
		"defaults\n"
		"dkim_key /k/rsa.pem\n"
		"dkim_selector rsa1\n"
		"account dual\n"
		"host x\n"
		"dkim_key /k/ed.pem\n"       /* a second signer */
		"dkim_selector ed1\n"
		"dkim_canonicalization relaxed/relaxed\n"
		"dkim_expire 1h\n"
		"account none : dual\n"
		"dkim_key off\n"            /* undo inherited signers */
		"account early\n"
		"host y\n"
		"dkim_key off\n"
		"dkim_selector s\n"          /* before dkim_key: first signer */
		"dkim_domain example.org\n"
		"dkim_key /k/late.pem\n"
		"account child : dual\n"
		"dkim_selector changed\n";  /* applies to the last signer */
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, text, &e), EX_OK);

	struct account *d = conf_find_account(&c, "dual");
	assert_int_equal(d->dkim_count, 2);
	assert_string_equal(d->dkim[0].key_file, "/k/rsa.pem");
	assert_string_equal(d->dkim[0].selector, "rsa1");
	assert_null(d->dkim[0].canonicalization);
	assert_int_equal(d->dkim[0].expire, 0);
	assert_string_equal(d->dkim[1].key_file, "/k/ed.pem");
	assert_string_equal(d->dkim[1].selector, "ed1");
	assert_string_equal(d->dkim[1].canonicalization, "relaxed/relaxed");
	assert_int_equal(d->dkim[1].expire, 3600);

	assert_int_equal(conf_find_account(&c, "none")->dkim_count, 0);

	struct account *early = conf_find_account(&c, "early");
	assert_int_equal(early->dkim_count, 1);
	assert_string_equal(early->dkim[0].key_file, "/k/late.pem");
	assert_string_equal(early->dkim[0].selector, "s");
	assert_string_equal(early->dkim[0].domain, "example.org");

	struct account *child = conf_find_account(&c, "child");
	assert_int_equal(child->dkim_count, 2);
	assert_string_equal(child->dkim[0].selector, "rsa1");
	assert_string_equal(child->dkim[1].selector, "changed");
	/* the parent is untouched (deep copy) */
	assert_string_equal(d->dkim[1].selector, "ed1");

	struct err fe = ERR_INIT;
	assert_int_equal(account_finalize(d, &fe), EX_OK);
	assert_string_equal(d->dkim[0].canonicalization, "relaxed/relaxed");
	conf_free(&c);
}

static void test_dkim_finalize_errors(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"account a\nhost x\ndkim_selector s\n", "no dkim_key"},
		{"account a\nhost x\ndkim_key /k.pem\n",
		 "dkim_key /k.pem has no dkim_selector"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct conf c = {0};
		struct err e = ERR_INIT;
		assert_int_equal(parse_text(&c, cases[i].text, &e), EX_OK);
		assert_int_equal(account_finalize(c.accounts[0], &e),
		                 EX_CONFIG);
		if (!strstr(err_msg(&e), cases[i].message) ||
		    !strstr(err_msg(&e), "account 'a' from " FILENAME))
			fail_msg("row %zu: %s", i, err_msg(&e));
		conf_free(&c);
		err_clear(&e);
	}
}

/* ---- eval ---------------------------------------------------------------- */

static void test_eval(void **state)
{
	static const struct {
		const char *text;
		const char *host;
	} cases[] = {
		{"account a\neval echo host mx.eval\n", "mx.eval"},
		{"account a\n  eval   \"echo host quoted\"  \n", "quoted"},
		/* only the first line counts */
		{"account a\neval printf 'host first\\nhost second\\n'\n",
		 "first"},
		/* the output is parsed like a line of the file */
		{"account a\neval printf '  host  \"spaced\"  '\n", "spaced"},
		{"account a\neval printf 'host crlf\\r\\n'\n", "crlf"},
		{"account a\nhost kept\neval echo '# a comment'\n", "kept"},
		{"account a\nhost kept\neval echo\n", "kept"},
		/* the exit status is ignored when a line came out (msmtp) */
		{"account a\neval echo host st; exit 3\n", "st"},
		/* a command that keeps writing stops when we stop reading */
		{"account a\neval yes host yes.example\n", "yes.example"},
		/* standard input is /dev/null, not the message */
		{"account a\neval read x; echo host \"got$x\"\n", "got"},
		{"eval echo account a\neval echo host via.eval\n", "via.eval"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct conf c = {0};
		struct err e = ERR_INIT;
		int rc = parse_text(&c, cases[i].text, &e);
		if (rc != EX_OK)
			fail_msg("row %zu: %s", i, err_msg(&e));
		struct account *a = conf_find_account(&c, "a");
		assert_non_null(a);
		if (!a->host || strcmp(a->host, cases[i].host) != 0)
			fail_msg("row %zu: host %s", i,
			         a->host ? a->host : "(null)");
		conf_free(&c);
	}
}

static void test_eval_long_output(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	const char *text = "account a\nhost x\n"
	                   "eval printf 'password '; head -c 200000 "
	                   "/dev/zero | tr '\\0' x; echo\n";
	assert_int_equal(parse_text(&c, text, &e), EX_OK);
	assert_int_equal(strlen(conf_find_account(&c, "a")->password), 200000);
	conf_free(&c);
}

static void test_eval_errors(void **state)
{
	static const struct {
		const char *line;
		const char *message;
	} cases[] = {
		{"eval true", "printed nothing (exit status 0)"},
		{"eval exit 7", "printed nothing (exit status 7)"},
		{"eval echo eval echo port 7", "may not be another eval"},
		{"eval echo port 0", "invalid value for 'port' (not shown)"},
		/* a bare secret printed by mistake is not repeated */
		{"eval echo hunter2", "not a known directive (not shown"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct buf text = BUF_INIT;
		buf_printf(&text, "account a\nhost x\n%s\n", cases[i].line);
		struct conf c = {0};
		struct err e = ERR_INIT;
		assert_int_equal(parse_text(&c, buf_str(&text), &e), EX_CONFIG);
		if (!strstr(err_msg(&e), FILENAME ":3: ") ||
		    !strstr(err_msg(&e), cases[i].message) ||
		    strstr(err_msg(&e), "hunter2"))
			fail_msg("row %zu: %s", i, err_msg(&e));
		conf_free(&c);
		err_clear(&e);
		buf_free(&text);
	}
}

static void test_eval_disabled(void **state)
{
	struct conf c = {0};
	c.eval_disabled = true;
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c, "account a\neval echo host x\n", &e),
	                 EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), FILENAME ":2: 'eval' is disabled"));
	conf_free(&c);
	err_clear(&e);
}

/* ---- ~ expansion --------------------------------------------------------- */

static void test_tilde_expansion(void **state)
{
	static const struct {
		const char *line;
		const char *expected;
	} cases[] = {
		{"logfile ~/outbox.log", "logfile = /home/tester/outbox.log"},
		{"aliases ~/.aliases", "aliases = /home/tester/.aliases"},
		{"aliases ~", "aliases = /home/tester"},
		{"tls_trust_file ~/ca.pem",
		 "tls_trust_file = /home/tester/ca.pem"},
		{"tls_crl_file ~/crl.pem",
		 "tls_crl_file = /home/tester/crl.pem"},
		{"tls_key_file ~/k.pem", "tls_key_file = /home/tester/k.pem"},
		{"tls_cert_file ~/c.pem", "tls_cert_file = /home/tester/c.pem"},
		{"socket ~/smtp.sock", "socket = /home/tester/smtp.sock"},
		{"queue_dir ~/q", "queue_dir = /home/tester/q"},
		{"dkim_key ~/dkim.pem", "dkim_key = /home/tester/dkim.pem"},
		{"logfile \"~/quoted.log\"",
		 "logfile = /home/tester/quoted.log"},
		/* only the user's own home, as msmtp */
		{"logfile ~other/x.log", "logfile = ~other/x.log"},
		{"logfile /var/~/x.log", "logfile = /var/~/x.log"},
		/* not a file: left to the shell */
		{"passwordeval cat ~/pw", "passwordeval = cat ~/pw"},
		{"user ~joe", "user = ~joe"},
	};
	char *saved = xstrdup_or_null(getenv("HOME"));
	setenv("HOME", "/home/tester", 1);
	struct runenv env;
	runenv_init(&env);
	describe_env = &env;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct buf text = BUF_INIT;
		buf_printf(&text, "account a\n%s\n", cases[i].line);
		char *out = describe_after(buf_str(&text), "a");
		if (!has_line(out, cases[i].expected))
			fail_msg("row %zu: expected <<%s>> in %s", i,
			         cases[i].expected, out);
		free(out);
		buf_free(&text);
	}
	struct account *a = account_new("cli");
	struct err e = ERR_INIT;
	/* without a run environment, ~ cannot be expanded */
	assert_int_equal(account_set(a, "logfile", "~/cli.log", &e),
	                 EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "no home directory"));
	a->env = &env;
	assert_int_equal(account_set(a, "logfile", "~/cli.log", &e), EX_OK);
	assert_string_equal(a->logfile, "/home/tester/cli.log");
	account_free(a);
	err_clear(&e);
	describe_env = NULL;
	runenv_free(&env);
	if (saved)
		setenv("HOME", saved, 1);
	else
		unsetenv("HOME");
	free(saved);
}

/* ---- account_set (the command line's way in) ----------------------------- */

static void test_account_set(void **state)
{
	struct account *a = account_new("cli");
	struct err e = ERR_INIT;
	assert_int_equal(account_set(a, "host", "mx.example", &e), EX_OK);
	assert_int_equal(account_set(a, "port", "587", &e), EX_OK);
	assert_int_equal(account_set(a, "tls", NULL, &e), EX_OK);
	assert_int_equal(account_set(a, "tls_starttls", "off", &e), EX_OK);
	assert_int_equal(account_set(a, "auth", "XOAUTH2", &e), EX_OK);
	assert_int_equal(account_set(a, "dsn_notify", "failure,delay", &e),
	                 EX_OK);
	assert_string_equal(a->host, "mx.example");
	assert_int_equal(a->port, 587);
	assert_true(a->tls);
	assert_false(a->tls_starttls);
	assert_string_equal(a->auth, "xoauth2"); /* stored lower case */
	assert_string_equal(a->dsn_notify, "FAILURE,DELAY");

	/* failures: the message has no FILE:LINE, the value is kept */
	assert_int_equal(account_set(a, "port", "abc", &e), EX_CONFIG);
	assert_string_equal(err_msg(&e),
	                    "invalid value 'abc' for 'port': expected a number "
	                    "from 1 to 65535");
	assert_int_equal(a->port, 587);
	assert_int_equal(account_set(a, "nosuch", "1", &e), EX_CONFIG);
	assert_string_equal(err_msg(&e), "unknown directive 'nosuch'");
	assert_int_equal(account_set(a, "account", "x", &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "only be used in a configuration"));
	assert_int_equal(account_set(a, "eval", "echo", &e), EX_CONFIG);

	/* a very long rejected value is shortened in the message */
	struct buf big = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_add_char(&big, 'x');
	assert_int_equal(account_set(a, "port", buf_str(&big), &e), EX_CONFIG);
	assert_true(strlen(err_msg(&e)) < 300);
	assert_non_null(strstr(err_msg(&e), "(5000 characters)"));
	buf_free(&big);

	/* the same setter wipes the old password when replacing it */
	assert_int_equal(account_set(a, "password", "one", &e), EX_OK);
	assert_int_equal(account_set(a, "password", "two", &e), EX_OK);
	assert_string_equal(a->password, "two");
	assert_int_equal(account_set(a, "password", "", &e), EX_OK);
	assert_null(a->password);
	err_clear(&e);
	account_free(a);
}

static void test_account_clone(void **state)
{
	struct conf c = {0};
	struct err e = ERR_INIT;
	assert_int_equal(parse_text(&c,
	                            "account a\nhost x\npassword p\n"
	                            "dkim_key /k\ndkim_selector s\n"
	                            "tls_trust_file\n",
	                            &e),
	                 EX_OK);
	struct account *copy = account_clone(c.accounts[0], "b");
	assert_string_equal(copy->name, "b");
	assert_string_equal(copy->host, "x");
	assert_string_equal(copy->password, "p");
	assert_ptr_not_equal(copy->password, c.accounts[0]->password);
	assert_int_equal(copy->dkim_count, 1);
	assert_ptr_not_equal(copy->dkim, c.accounts[0]->dkim);
	assert_string_equal(copy->dkim[0].selector, "s");
	assert_string_equal(copy->tls_trust_file, "");
	assert_string_equal(copy->file, FILENAME);
	account_free(copy);
	copy = account_clone(c.accounts[0], NULL);
	assert_string_equal(copy->name, "a");
	account_free(copy);
	conf_free(&c);
}

/* ---- account_finalize ---------------------------------------------------- */

struct finalize_case {
	const char *lines; /* after "account a\n" */
	int port;          /* expected port, or -1 on error */
	const char *message;
};

static const struct finalize_case finalize_cases[] = {
	{"host x", 25, NULL},
	{"host x\ntls on", 25, NULL},                      /* STARTTLS */
	{"host x\ntls on\ntls_starttls off", 465, NULL},   /* RFC 8314 */
	{"host x\ntls off\ntls_starttls off", 25, NULL},
	{"host x\ntls on\ntls_starttls off\nport 2465", 2465, NULL},
	{"host x\nport 587\ntls on", 587, NULL},
	{"socket /run/s", 25, NULL},
	{"protocol lmtp\nsocket /run/lmtp", 0, NULL},
	{"protocol lmtp\nhost x\nport 24", 24, NULL},
	{"protocol lmtp\nhost x", -1, "LMTP has no default port"},
	{"port 25", -1, "account 'a' has no host: set 'host' in " FILENAME
	                " or use --host"},
	{"host x\ntls_cert_file /c", -1, "tls_cert_file requires tls_key_file"},
	{"host x\ntls_key_file /k", -1, "tls_key_file requires tls_cert_file"},
	{"host x\ntls_key_file /k\ntls_cert_file /c", 25, NULL},
	{"host x\ntls\ntls_trust_file", -1,
	 "tls requires either tls_trust_file (highly recommended) or "
	 "tls_fingerprint or a disabled tls_certcheck"},
	{"host x\ntls\ntls_trust_file\ntls_certcheck off", 25, NULL},
	{"host x\ntls\ntls_trust_file\ntls_fingerprint 00:11:22:33:44:55:66:"
	 "77:88:99:AA:BB:CC:DD:EE:FF", 25, NULL},
	/* msmtp >= 1.8.2: the fingerprint overrides the trust file */
	{"host x\ntls\ntls_trust_file /ca\ntls_fingerprint 00:11:22:33:44:55:"
	 "66:77:88:99:AA:BB:CC:DD:EE:FF", 25, NULL},
	{"host x\ntls_trust_file\ntls_crl_file /crl", -1,
	 "tls_crl_file requires tls_trust_file"},
	{"host x\ntls_crl_file /crl", 25, NULL},
};

static void test_finalize(void **state)
{
	for (size_t i = 0; i < sizeof finalize_cases / sizeof *finalize_cases;
	     i++) {
		const struct finalize_case *t = &finalize_cases[i];
		struct buf text = BUF_INIT;
		buf_printf(&text, "account a\n%s\n", t->lines);
		struct conf c = {0};
		struct err e = ERR_INIT;
		if (parse_text(&c, buf_str(&text), &e) != EX_OK)
			fail_msg("row %zu: parse: %s", i, err_msg(&e));
		struct account *a = conf_find_account(&c, "a");
		int rc = account_finalize(a, &e);
		if (t->port >= 0) {
			if (rc != EX_OK || a->port != t->port)
				fail_msg("row %zu: rc %d port %d: %s", i, rc,
				         a->port, err_msg(&e));
		} else if (rc != EX_CONFIG ||
		           !strstr(err_msg(&e), t->message)) {
			fail_msg("row %zu: rc %d message <<%s>>", i, rc,
			         err_msg(&e));
		}
		conf_free(&c);
		err_clear(&e);
		buf_free(&text);
	}
}

static void test_finalize_defaults(void **state)
{
	struct account *a = account_new("x");
	struct err e = ERR_INIT;
	assert_int_equal(a->timeout, -1);
	assert_true(a->tls_starttls);
	assert_true(a->tls_certcheck);
	assert_true(a->allow_from_override);
	assert_true(a->remove_bcc_headers);
	assert_false(a->tls);
	assert_int_equal(a->queue, QUEUE_OFF);
	assert_int_equal(account_set(a, "host", "mx", &e), EX_OK);
	assert_int_equal(account_set(a, "proxy_host", "127.0.0.1", &e), EX_OK);
	assert_int_equal(account_finalize(a, &e), EX_OK);
	assert_int_equal(a->port, 25);
	assert_int_equal(a->timeout, CONF_DEFAULT_TIMEOUT);
	assert_int_equal(a->timeout, 60);
	assert_string_equal(a->domain, "localhost");
	assert_int_equal(a->proxy_port, 1080);
	assert_string_equal(a->tls_trust_file, "system");
	assert_string_equal(a->logfile_time_format, "%b %d %H:%M:%S");
	assert_int_equal(a->queue_max_age, 5L * 24 * 3600);
	/* idempotent */
	assert_int_equal(account_finalize(a, &e), EX_OK);
	assert_int_equal(a->timeout, 60);
	account_free(a);

	a = account_new("y");
	assert_int_equal(account_set(a, "host", "mx", &e), EX_OK);
	assert_int_equal(account_set(a, "timeout", "off", &e), EX_OK);
	assert_int_equal(account_set(a, "domain", "me.example", &e), EX_OK);
	assert_int_equal(account_finalize(a, &e), EX_OK);
	assert_int_equal(a->timeout, 0);
	assert_string_equal(a->domain, "me.example");
	account_free(a);

	/* no file: the message says so instead of naming one */
	a = account_new("z");
	assert_int_equal(account_finalize(a, &e), EX_CONFIG);
	assert_string_equal(err_msg(&e),
	                    "account 'z' has no host: set 'host' in the "
	                    "configuration file or use --host");
	account_free(a);
	err_clear(&e);
}

/* ---- describe ------------------------------------------------------------ */

static void test_describe_masks_secrets(void **state)
{
	char *out = describe_after("account a\nhost mx\nuser joe\n"
	                           "password s3cr3t-Pa55\n"
	                           "passwordeval pass show mail\n",
	                           "a");
	assert_true(has_line(out, "password = *"));
	assert_null(strstr(out, "s3cr3t"));
	assert_true(has_line(out, "passwordeval = pass show mail"));
	assert_true(has_line(out, "user = joe"));
	assert_true(has_line(out, "host = mx"));
	/* every line is "name = value" */
	for (const char *p = out + 1; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		const char *eq = strstr(p, " = ");
		assert_true(eq && eq < nl);
		p = nl + 1;
	}
	free(out);

	out = describe_after("account a\nhost mx\n", "a");
	assert_true(has_line(out, "password = (not set)"));
	assert_true(has_line(out, "timeout = 60 seconds (default)"));
	assert_true(has_line(out, "dkim_key = (not set)"));
	assert_true(has_line(out, "queue_max_age = 432000 seconds"));
	free(out);
}

/* ---- files --------------------------------------------------------------- */

struct tmpdir {
	char path[64];
	struct buf created; /* NUL-separated paths, removed in reverse */
};

static void tmp_init(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/outbox-test-conf-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	t->created = (struct buf)BUF_INIT;
}

static char *tmp_path(struct tmpdir *t, const char *rel)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", t->path, rel);
	return buf_steal(&b);
}

static void tmp_record(struct tmpdir *t, const char *path)
{
	buf_add(&t->created, path, strlen(path) + 1);
}

static void tmp_mkdir(struct tmpdir *t, const char *rel)
{
	char *p = tmp_path(t, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	tmp_record(t, p);
	free(p);
}

static char *tmp_write(struct tmpdir *t, const char *rel, const char *text,
                       mode_t mode)
{
	char *p = tmp_path(t, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	tmp_record(t, p);
	return p;
}

static void tmp_cleanup(struct tmpdir *t)
{
	/* remove in reverse order of creation */
	while (t->created.len) {
		size_t end = t->created.len - 1; /* the last NUL */
		size_t start = end;
		while (start && t->created.data[start - 1] != '\0')
			start--;
		const char *p = t->created.data + start;
		if (unlink(p) != 0)
			rmdir(p);
		t->created.len = start;
	}
	buf_free(&t->created);
	rmdir(t->path);
}

static void test_load_file_permissions(void **state)
{
	static const struct {
		const char *text;
		mode_t mode;
		int rc;
	} cases[] = {
		{"account a\nhost x\npassword s\n", 0644, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0604, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0601, EX_CONFIG},
		/* group-writable or -executable: refused whoever is in it
		 * (0640 depends on the group's members: config.bats and
		 * test_group_other_readers) */
		{"account a\nhost x\npassword s\n", 0660, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0620, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0650, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0610, EX_CONFIG},
		{"account a\nhost x\npassword s\n", 0600, EX_OK},
		{"account a\nhost x\npassword s\n", 0400, EX_OK},
		{"account a\nhost x\n", 0644, EX_OK},
		{"account a\nhost x\npasswordeval echo s\n", 0644, EX_OK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct tmpdir t;
		tmp_init(&t);
		char *path = tmp_write(&t, "rc", cases[i].text, cases[i].mode);
		struct conf c = {0};
		struct err e = ERR_INIT;
		int rc = conf_load_file(&c, path, &e);
		if (rc != cases[i].rc)
			fail_msg("row %zu: rc %d: %s", i, rc, err_msg(&e));
		if (rc == EX_OK) {
			assert_int_equal(c.count, 1);
			assert_int_equal(c.file_count, 1);
			assert_string_equal(c.files[0], path);
			assert_string_equal(c.accounts[0]->file, path);
		} else {
			struct buf want = BUF_INIT;
			buf_printf(&want,
			           "%s: contains a password but is readable by "
			           "group or others; run chmod 600 %s",
			           path, path);
			assert_string_equal(err_msg(&e), buf_str(&want));
			buf_free(&want);
			assert_int_equal(c.count, 0); /* nothing taken */
			assert_int_equal(c.file_count, 0);
		}
		conf_free(&c);
		err_clear(&e);
		free(path);
		tmp_cleanup(&t);
	}
}

/* The group rule's decision (DESIGN.md invariant 7): who besides the owner
 * can read a 0640 file through its group. */
static void test_group_other_readers(void **state)
{
	static const struct {
		const char *readers[6]; /* members, then primary-group users */
		const char *owner;
		const char *others; /* what is left, joined by ' ' */
	} cases[] = {
		/* Debian's msmtp layout: root:msmtp with an empty group */
		{{NULL}, "root", ""},
		/* the owner alone, as member or by primary group, or both */
		{{"root"}, "root", ""},
		{{"alice", "alice"}, "alice", ""},
		/* anyone else can read it */
		{{"alice"}, "root", "alice"},
		{{"root", "bob", "alice"}, "root", "alice bob"},
		{{"bob", "alice", "bob", "root", "alice"}, "root", "alice bob"},
		/* an owner without a name (uid not in the database) */
		{{"root"}, NULL, "root"},
		/* a name is compared whole */
		{{"rootx", "roo"}, "root", "roo rootx"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *readers[6];
		size_t n = 0;
		while (n < 6 && cases[i].readers[n]) {
			readers[n] = cases[i].readers[n];
			n++;
		}
		size_t left = conf_group_other_readers(readers, n,
		                                       cases[i].owner);
		struct buf got = BUF_INIT;
		for (size_t k = 0; k < left; k++)
			buf_printf(&got, "%s%s", k ? " " : "", readers[k]);
		if (strcmp(buf_str(&got), cases[i].others) != 0)
			fail_msg("row %zu: left \"%s\", expected \"%s\"", i,
			         buf_str(&got), cases[i].others);
		buf_free(&got);
	}
}

static void test_load_file_errors(void **state)
{
	struct tmpdir t;
	tmp_init(&t);
	struct conf c = {0};
	struct err e = ERR_INIT;

	char *missing = tmp_path(&t, "missing");
	assert_int_equal(conf_load_default(&c, missing, NULL, &e), EX_CONFIG);
	struct buf want = BUF_INIT;
	buf_printf(&want, "cannot read %s: No such file or directory", missing);
	assert_string_equal(err_msg(&e), buf_str(&want));
	buf_free(&want);
	free(missing);

	char *dir = tmp_path(&t, "d");
	tmp_mkdir(&t, "d");
	assert_int_equal(conf_load_file(&c, dir, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "Is a directory"));
	free(dir);

	char *bad = tmp_write(&t, "bad", "account a\nhost x\nport 0\n", 0600);
	assert_int_equal(conf_load_file(&c, bad, &e), EX_CONFIG);
	buf_printf(&want, "%s:3: invalid value '0' for 'port'", bad);
	assert_non_null(strstr(err_msg(&e), buf_str(&want)));
	buf_free(&want);
	free(bad);
	assert_int_equal(c.count, 0);
	conf_free(&c);
	err_clear(&e);
	tmp_cleanup(&t);
}

/* Save and restore the environment conf_load_default() reads. */
struct env_save {
	char *home, *xdg, *sysconf;
};

static void env_save(struct env_save *s)
{
	s->home = xstrdup_or_null(getenv("HOME"));
	s->xdg = xstrdup_or_null(getenv("XDG_CONFIG_HOME"));
	s->sysconf = xstrdup_or_null(getenv("OUTBOX_SYSCONFDIR"));
}

static void env_restore_one(const char *name, char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
	free(value);
}

static void env_restore(struct env_save *s)
{
	env_restore_one("HOME", s->home);
	env_restore_one("XDG_CONFIG_HOME", s->xdg);
	env_restore_one("OUTBOX_SYSCONFDIR", s->sysconf);
}

struct default_case {
	const char *files[6]; /* relative paths created (in order) */
	bool xdg;             /* set XDG_CONFIG_HOME to DIR/xdg */
	const char *loaded[3]; /* expected conf->files, relative */
};

static const struct default_case default_cases[] = {
	/* nothing at all: no error, nothing loaded */
	{{NULL}, false, {NULL}},
	/* msmtp's files as the fallback */
	{{"etc/msmtprc", "home/.msmtprc"}, false,
	 {"etc/msmtprc", "home/.msmtprc"}},
	/* outbox's own file wins at each level */
	{{"etc/msmtprc", "etc/outboxrc", "home/.msmtprc", "home/.outboxrc"},
	 false, {"etc/outboxrc", "home/.outboxrc"}},
	{{"home/.outboxrc", "home/.config/outbox/config"}, false,
	 {"home/.config/outbox/config"}},
	{{"home/.msmtprc", "home/.config/outbox/config"}, false,
	 {"home/.config/outbox/config"}},
	/* msmtp's own order: ~/.msmtprc, then $XDG_CONFIG_HOME/msmtp */
	{{"home/.msmtprc", "home/.config/msmtp/config"}, false,
	 {"home/.msmtprc"}},
	{{"home/.config/msmtp/config"}, false, {"home/.config/msmtp/config"}},
	{{"xdg/outbox/config", "home/.config/outbox/config"}, true,
	 {"xdg/outbox/config"}},
	{{"xdg/msmtp/config"}, true, {"xdg/msmtp/config"}},
	{{"etc/outboxrc"}, false, {"etc/outboxrc"}},
};

static void make_parents(struct tmpdir *t, const char *rel)
{
	struct buf b = BUF_INIT;
	for (const char *p = rel; (p = strchr(p, '/')); p++) {
		buf_reset(&b);
		buf_add(&b, rel, (size_t)(p - rel));
		char *full = tmp_path(t, buf_str(&b));
		struct stat st;
		if (stat(full, &st) != 0)
			tmp_mkdir(t, buf_str(&b));
		free(full);
	}
	buf_free(&b);
}

static void test_load_default_locations(void **state)
{
	struct env_save saved;
	env_save(&saved);
	for (size_t i = 0; i < sizeof default_cases / sizeof *default_cases;
	     i++) {
		const struct default_case *dc = &default_cases[i];
		struct tmpdir t;
		tmp_init(&t);
		tmp_mkdir(&t, "etc");
		tmp_mkdir(&t, "home");
		char *etc = tmp_path(&t, "etc"), *home = tmp_path(&t, "home");
		char *xdg = tmp_path(&t, "xdg");
		setenv("OUTBOX_SYSCONFDIR", etc, 1);
		setenv("HOME", home, 1);
		if (dc->xdg)
			setenv("XDG_CONFIG_HOME", xdg, 1);
		else
			unsetenv("XDG_CONFIG_HOME");
		for (size_t k = 0; dc->files[k]; k++) {
			make_parents(&t, dc->files[k]);
			struct buf text = BUF_INIT;
			buf_printf(&text, "account f%zu\nhost h%zu\n", k, k);
			free(tmp_write(&t, dc->files[k], buf_str(&text), 0600));
			buf_free(&text);
		}
		struct runenv env;
		runenv_init(&env);
		struct conf c = {.env = &env};
		struct err e = ERR_INIT;
		if (conf_load_default(&c, NULL, NULL, &e) != EX_OK)
			fail_msg("row %zu: %s", i, err_msg(&e));
		size_t n = 0;
		while (dc->loaded[n])
			n++;
		if (c.file_count != n)
			fail_msg("row %zu: %zu files loaded, expected %zu", i,
			         c.file_count, n);
		for (size_t k = 0; k < n; k++) {
			char *want = tmp_path(&t, dc->loaded[k]);
			if (strcmp(c.files[k], want) != 0)
				fail_msg("row %zu: loaded %s, expected %s", i,
				         c.files[k], want);
			free(want);
		}
		conf_free(&c);
		runenv_free(&env);
		free(etc);
		free(home);
		free(xdg);
		tmp_cleanup(&t);
	}
	env_restore(&saved);
}

static void test_load_default_override_and_errors(void **state)
{
	struct env_save saved;
	env_save(&saved);
	struct tmpdir t;
	tmp_init(&t);
	tmp_mkdir(&t, "etc");
	tmp_mkdir(&t, "home");
	char *etc = tmp_path(&t, "etc"), *home = tmp_path(&t, "home");
	setenv("OUTBOX_SYSCONFDIR", etc, 1);
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	free(tmp_write(&t, "etc/outboxrc",
	               "account shared\nhost sys\naccount sysonly\nhost s\n",
	               0644));
	char *user = tmp_write(&t, "home/.outboxrc",
	                       "account shared\nhost mine\npassword pw\n",
	                       0600);
	struct runenv env;
	runenv_init(&env);
	struct conf c = {.env = &env};
	struct err e = ERR_INIT;
	assert_int_equal(conf_load_default(&c, NULL, NULL, &e), EX_OK);
	assert_int_equal(c.count, 2);
	assert_string_equal(conf_find_account(&c, "shared")->host, "mine");
	assert_string_equal(conf_find_account(&c, "sysonly")->host, "s");
	conf_free(&c);

	/* -C: only that file */
	char *explicit = tmp_write(&t, "explicit", "account x\nhost e\n", 0600);
	assert_int_equal(conf_load_default(&c, explicit, NULL, &e), EX_OK);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.file_count, 1);
	assert_string_equal(c.files[0], explicit);
	conf_free(&c);

	/* the permission rule applies at the user level too */
	assert_int_equal(chmod(user, 0644), 0);
	assert_int_equal(conf_load_default(&c, NULL, NULL, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "run chmod 600"));
	conf_free(&c);
	err_clear(&e);

	free(explicit);
	free(user);
	free(etc);
	free(home);
	runenv_free(&env);
	tmp_cleanup(&t);
	env_restore(&saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_syslog_facilities),
		cmocka_unit_test(test_comments_blank_lines_crlf),
		cmocka_unit_test(test_no_final_newline_and_bom),
		cmocka_unit_test(test_nul_byte_is_an_error),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_very_long_line),
		cmocka_unit_test(test_has_secret),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_settings_before_account),
		cmocka_unit_test(test_user_file_replaces_system_account),
		cmocka_unit_test(test_account_name_with_quotes_and_blanks),
		cmocka_unit_test(test_dkim_signers),
		cmocka_unit_test(test_dkim_finalize_errors),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_eval_long_output),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_eval_disabled),
		cmocka_unit_test(test_tilde_expansion),
		cmocka_unit_test(test_account_set),
		cmocka_unit_test(test_account_clone),
		cmocka_unit_test(test_finalize),
		cmocka_unit_test(test_finalize_defaults),
		cmocka_unit_test(test_describe_masks_secrets),
		cmocka_unit_test(test_load_file_permissions),
		cmocka_unit_test(test_group_other_readers),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_load_default_locations),
		cmocka_unit_test(test_load_default_override_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
