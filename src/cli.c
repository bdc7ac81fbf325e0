/* cli.c - argv -> struct options; see cli.h.
 *
 * A hand-written loop rather than getopt_long: sendmail flags glue their
 * argument to the letter (-oi, -oem, -B8BITMIME, -FCronDaemon, -q30m) and
 * some take it only when glued (-q, -d, -e), which getopt cannot express,
 * and we want error messages that name the offending argument. Long options
 * follow getopt_long's rules otherwise (--opt=value, --opt value for required
 * arguments, unambiguous abbreviations), so msmtp command lines keep working.
 * Parsing stops at the first operand (POSIX 12.2, guideline 9). */
#include "cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define CLI_HINT "(see 'outbox --help')"
/* A suggestion is offered for an unknown long option at most this far
 * (edit distance) from a real one. */
#define CLI_SUGGEST_MAX_DISTANCE 2

enum arg_kind {
	ARG_NONE,     /* a flag */
	ARG_REQUIRED, /* --opt=V or --opt V; -xV or -x V */
	ARG_OPTIONAL, /* --opt[=V]; short: only glued, -xV (getopt's "x::") */
};

enum action {
	ACT_SETTING,        /* (directive, value or implied) */
	ACT_SETTING_ON_AUTO, /* msmtp < 1.8.8 --add-missing-*: on means auto */
	ACT_SETTING_INVERTED, /* msmtp 1.4 --keepbcc: on means "off" */
	ACT_DSN_RETURN,     /* -R hdrs is sendmail's name for headers */
	ACT_HOST,           /* setting "host", exclusive with --account */
	ACT_ACCOUNT,
	ACT_CONFIG_FILE,
	ACT_FROM,
	ACT_READ_ENVELOPE_FROM,
	ACT_READ_RECIPIENTS,
	ACT_FULL_NAME,
	ACT_PRETEND,
	ACT_JSON,
	ACT_DEBUG,
	ACT_MODE,
	ACT_DKIM_TYPE,
	ACT_DKIM_BITS,
	ACT_OPERATION_MODE, /* sendmail -bX */
	ACT_SENDMAIL_OPTION, /* sendmail -O Option=value */
	ACT_UNSUPPORTED,
	ACT_IGNORED,
	ACT_LONG,           /* a short option that is a long one's alias */
};

struct long_option {
	const char *name;
	enum arg_kind arg;
	enum action action;
	const char *directive; /* ACT_SETTING*: the account_set() name */
	const char *implied;   /* ACT_SETTING with ARG_OPTIONAL and no value */
	enum cli_mode mode;    /* ACT_MODE */
	const char *why;       /* ACT_UNSUPPORTED: the rest of the message */
};

#define SETTING(n, d) {n, ARG_REQUIRED, ACT_SETTING, d, NULL, MODE_SEND, NULL}
#define SWITCH(n, d, i) {n, ARG_OPTIONAL, ACT_SETTING, d, i, MODE_SEND, NULL}
#define OPTION(n, a, act) {n, a, act, NULL, NULL, MODE_SEND, NULL}
#define VERB(n, a, m) {n, a, ACT_MODE, NULL, NULL, m, NULL}

static const struct long_option long_options[] = {
	/* general */
	VERB("version", ARG_NONE, MODE_VERSION),
	VERB("help", ARG_NONE, MODE_HELP),
	OPTION("pretend", ARG_NONE, ACT_PRETEND),
	/* msmtp accepts an argument for sendmail's -d0.1 */
	OPTION("debug", ARG_OPTIONAL, ACT_DEBUG),
	/* modes of operation */
	VERB("serverinfo", ARG_NONE, MODE_SERVERINFO),
	{"configure", ARG_REQUIRED, ACT_UNSUPPORTED, NULL, NULL, MODE_SEND,
	 "outbox does not generate configurations from DNS SRV records; "
	 "see outboxrc(5) and msmtprc.example"},
	{"rmqs", ARG_REQUIRED, ACT_UNSUPPORTED, NULL, NULL, MODE_SEND,
	 "outbox does not send Remote Message Queue Starting (ETRN) requests"},
	VERB("flush", ARG_NONE, MODE_FLUSH),
	VERB("list-queue", ARG_NONE, MODE_LIST_QUEUE),
	VERB("queue-delete", ARG_REQUIRED, MODE_QUEUE_DELETE),
	VERB("queue-requeue", ARG_REQUIRED, MODE_QUEUE_REQUEUE),
	VERB("dkim-keygen", ARG_NONE, MODE_DKIM_KEYGEN),
	VERB("dkim-record", ARG_NONE, MODE_DKIM_RECORD),
	VERB("oauth2-login", ARG_NONE, MODE_OAUTH2_LOGIN),
	VERB("check", ARG_NONE, MODE_CHECK),
	OPTION("json", ARG_NONE, ACT_JSON),
	/* configuration */
	OPTION("file", ARG_REQUIRED, ACT_CONFIG_FILE),
	OPTION("account", ARG_REQUIRED, ACT_ACCOUNT),
	{"host", ARG_REQUIRED, ACT_HOST, "host", NULL, MODE_SEND, NULL},
	SETTING("port", "port"),
	SETTING("source-ip", "source_ip"),
	SETTING("proxy-host", "proxy_host"),
	SETTING("proxy-port", "proxy_port"),
	SETTING("socket", "socket"),
	SETTING("timeout", "timeout"),
	SETTING("connect-timeout", "timeout"), /* msmtp <= 1.4.1 */
	SETTING("protocol", "protocol"),
	SETTING("domain", "domain"),
	SWITCH("auth", "auth", "on"),
	SETTING("user", "user"),
	SETTING("passwordeval", "passwordeval"),
	SWITCH("tls", "tls", "on"),
	SWITCH("tls-starttls", "tls_starttls", "on"),
	SETTING("tls-trust-file", "tls_trust_file"),
	SETTING("tls-crl-file", "tls_crl_file"),
	SETTING("tls-fingerprint", "tls_fingerprint"),
	SETTING("tls-key-file", "tls_key_file"),
	SETTING("tls-cert-file", "tls_cert_file"),
	SWITCH("tls-certcheck", "tls_certcheck", "on"),
	SETTING("tls-priorities", "tls_priorities"),
	SETTING("tls-host-override", "tls_host_override"),
	SETTING("tls-min-dh-prime-bits", "tls_min_dh_prime_bits"),
	OPTION("tls-force-sslv3", ARG_OPTIONAL, ACT_IGNORED), /* msmtp 1.4 */
	/* sendmail mode */
	SWITCH("auto-from", "auto_from", "on"),
	OPTION("from", ARG_REQUIRED, ACT_FROM),
	SETTING("maildomain", "maildomain"),
	SETTING("dsn-notify", "dsn_notify"),
	{"dsn-return", ARG_REQUIRED, ACT_DSN_RETURN, "dsn_return", NULL,
	 MODE_SEND, NULL},
	SETTING("logfile", "logfile"),
	SETTING("logfile-time-format", "logfile_time_format"),
	SWITCH("syslog", "syslog", "on"),
	OPTION("read-recipients", ARG_NONE, ACT_READ_RECIPIENTS),
	OPTION("read-envelope-from", ARG_NONE, ACT_READ_ENVELOPE_FROM),
	SETTING("aliases", "aliases"),
	SWITCH("set-from-header", "set_from_header", "auto"),
	SWITCH("set-date-header", "set_date_header", "auto"),
	SWITCH("set-msgid-header", "set_msgid_header", "auto"),
	SWITCH("remove-bcc-headers", "remove_bcc_headers", "on"),
	SWITCH("undisclosed-recipients", "undisclosed_recipients", "on"),
	SWITCH("allow-from-override", "allow_from_override", "on"),
	{"add-missing-from-header", ARG_OPTIONAL, ACT_SETTING_ON_AUTO,
	 "set_from_header", NULL, MODE_SEND, NULL},
	{"add-missing-date-header", ARG_OPTIONAL, ACT_SETTING_ON_AUTO,
	 "set_date_header", NULL, MODE_SEND, NULL},
	{"keepbcc", ARG_OPTIONAL, ACT_SETTING_INVERTED, "remove_bcc_headers",
	 NULL, MODE_SEND, NULL},
	/* outbox: queue */
	SETTING("queue", "queue"),
	SETTING("queue-dir", "queue_dir"),
	/* outbox: DKIM */
	SETTING("dkim-key", "dkim_key"),
	SETTING("dkim-selector", "dkim_selector"),
	SETTING("dkim-domain", "dkim_domain"),
	SETTING("dkim-canonicalization", "dkim_canonicalization"),
	SETTING("dkim-headers", "dkim_headers"),
	OPTION("dkim-type", ARG_REQUIRED, ACT_DKIM_TYPE),
	OPTION("dkim-bits", ARG_REQUIRED, ACT_DKIM_BITS),
};

#define LONG_OPTION_COUNT (sizeof long_options / sizeof long_options[0])

struct short_option {
	char letter;
	enum arg_kind arg;
	enum action action;
	const char *long_name; /* ACT_LONG: behave as this long option */
};

static const struct short_option short_options[] = {
	{'P', ARG_NONE, ACT_LONG, "pretend"},
	{'v', ARG_NONE, ACT_LONG, "debug"},
	{'d', ARG_OPTIONAL, ACT_LONG, "debug"},
	{'S', ARG_NONE, ACT_LONG, "serverinfo"},
	{'C', ARG_REQUIRED, ACT_LONG, "file"},
	{'a', ARG_REQUIRED, ACT_LONG, "account"},
	{'f', ARG_REQUIRED, ACT_LONG, "from"},
	{'r', ARG_REQUIRED, ACT_LONG, "from"}, /* sendmail's old -f */
	{'N', ARG_REQUIRED, ACT_LONG, "dsn-notify"},
	{'R', ARG_REQUIRED, ACT_LONG, "dsn-return"},
	{'X', ARG_REQUIRED, ACT_LONG, "logfile"},
	{'t', ARG_NONE, ACT_LONG, "read-recipients"},
	/* -q[interval]: run the queue once; the interval is sendmail's daemon
	 * period, which a client that is not a daemon has no use for */
	{'q', ARG_OPTIONAL, ACT_LONG, "flush"},
	{'F', ARG_REQUIRED, ACT_FULL_NAME, NULL},
	{'b', ARG_REQUIRED, ACT_OPERATION_MODE, NULL},
	/* accepted and ignored (listed in outbox(1)) */
	{'A', ARG_REQUIRED, ACT_IGNORED, NULL},  /* -Ac/-Am: which .cf */
	{'B', ARG_REQUIRED, ACT_IGNORED, NULL},  /* body type: 7BIT, 8BITMIME */
	{'e', ARG_OPTIONAL, ACT_IGNORED, NULL},  /* old form of -oe */
	{'G', ARG_NONE, ACT_IGNORED, NULL},      /* gateway submission */
	{'h', ARG_REQUIRED, ACT_IGNORED, NULL},  /* hop count */
	{'i', ARG_NONE, ACT_IGNORED, NULL},      /* a lone dot ends nothing */
	{'L', ARG_REQUIRED, ACT_IGNORED, NULL},  /* syslog tag */
	{'m', ARG_NONE, ACT_IGNORED, NULL},      /* "me too" */
	{'n', ARG_NONE, ACT_IGNORED, NULL},      /* no aliasing */
	{'O', ARG_REQUIRED, ACT_SENDMAIL_OPTION, NULL}, /* option=value */
	{'o', ARG_REQUIRED, ACT_IGNORED, NULL},  /* -oi, -oem, -odb ... */
	{'U', ARG_NONE, ACT_IGNORED, NULL},      /* initial user submission */
	{'V', ARG_REQUIRED, ACT_IGNORED, NULL},  /* DSN envelope id */
};

#define SHORT_OPTION_COUNT (sizeof short_options / sizeof short_options[0])

struct parser {
	int argc;
	char **argv;
	int next; /* index of the next unread argument */
	struct options *opts;
	struct err *e;
	bool help;
	bool version;
	struct buf mode_label;    /* the option that chose the mode */
	struct buf host_label;    /* --host, for the --account conflict */
	struct buf account_label;
	struct buf from_label;
	struct buf dkim_type_label; /* keygen-only options, for messages */
	struct buf dkim_bits_label;
};

static int usage_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(struct parser *p, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	err_set(p->e, EX_USAGE, "%s " CLI_HINT, buf_str(&b));
	buf_free(&b);
	return EX_USAGE;
}

static void label_set(struct buf *label, const char *text)
{
	buf_reset(label);
	buf_add_str(label, text);
}

static void settings_add(struct options *opts, const char *directive,
                         const char *value)
{
	opts->settings = xrealloc(opts->settings, (opts->setting_count + 1) *
	                                              sizeof *opts->settings);
	struct cli_setting *s = &opts->settings[opts->setting_count++];
	s->directive = xstrdup(directive);
	s->value = xstrdup_or_null(value);
}

static void replace_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup_or_null(value);
}

/* msmtp's on/off words; an empty argument counts as "on" as in msmtprc. */
static int on_off(const char *value)
{
	if (!value || !*value || ascii_casecmp(value, "on") == 0)
		return 1;
	if (ascii_casecmp(value, "off") == 0)
		return 0;
	return -1;
}

/* Damerau-Levenshtein (optimal string alignment) distance, for "did you
 * mean". Names are short, so the quadratic table is no concern. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	size_t width = blen + 1;
	size_t *d = xcalloc((alen + 1) * width, sizeof *d);
	for (size_t i = 0; i <= alen; i++)
		d[i * width] = i;
	for (size_t j = 0; j <= blen; j++)
		d[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		for (size_t j = 1; j <= blen; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = d[(i - 1) * width + j] + 1;
			if (d[i * width + j - 1] + 1 < best)
				best = d[i * width + j - 1] + 1;
			if (d[(i - 1) * width + j - 1] + cost < best)
				best = d[(i - 1) * width + j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] &&
			    d[(i - 2) * width + j - 2] + 1 < best)
				best = d[(i - 2) * width + j - 2] + 1;
			d[i * width + j] = best;
		}
	}
	size_t result = d[alen * width + blen];
	free(d);
	return result;
}

/* The closest long option name, or NULL when none is close enough. */
static const char *suggest_long_option(const char *name, size_t len)
{
	size_t limit = len <= 4 ? 1 : CLI_SUGGEST_MAX_DISTANCE;
	const char *best = NULL;
	size_t best_distance = limit + 1;
	for (size_t i = 0; i < LONG_OPTION_COUNT; i++) {
		size_t d = edit_distance(name, len, long_options[i].name);
		if (d < best_distance) {
			best_distance = d;
			best = long_options[i].name;
		}
	}
	return best;
}

static const struct long_option *long_option_by_name(const char *name)
{
	for (size_t i = 0; i < LONG_OPTION_COUNT; i++)
		if (strcmp(long_options[i].name, name) == 0)
			return &long_options[i];
	return NULL;
}

/* getopt_long's lookup: an exact name, else an unambiguous prefix. */
static int long_option_lookup(struct parser *p, const char *name, size_t len,
                              const struct long_option **out)
{
	const struct long_option *match = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < LONG_OPTION_COUNT; i++) {
		const char *candidate = long_options[i].name;
		if (strncmp(candidate, name, len) != 0)
			continue;
		if (candidate[len] == '\0') {
			*out = &long_options[i];
			return EX_OK;
		}
		match = &long_options[i];
		matches++;
	}
	if (matches == 1) {
		*out = match;
		return EX_OK;
	}
	if (matches > 1) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < LONG_OPTION_COUNT; i++) {
			if (strncmp(long_options[i].name, name, len) != 0)
				continue;
			buf_printf(&list, "%s--%s", list.len ? ", " : "",
			           long_options[i].name);
		}
		usage_error(p, "option '--%.*s' is ambiguous (%s)", (int)len,
		            name, buf_str(&list));
		buf_free(&list);
		return EX_USAGE;
	}
	const char *suggestion = suggest_long_option(name, len);
	if (suggestion)
		return usage_error(p, "unknown option '--%.*s' (did you mean "
		                   "'--%s'?)", (int)len, name, suggestion);
	return usage_error(p, "unknown option '--%.*s'", (int)len, name);
}

static int mode_set(struct parser *p, enum cli_mode mode, const char *label,
                    const char *argument)
{
	struct options *opts = p->opts;
	if (mode == MODE_HELP) {
		p->help = true;
		return EX_OK;
	}
	if (mode == MODE_VERSION) {
		p->version = true;
		return EX_OK;
	}
	if (p->mode_label.len && opts->mode != mode)
		return usage_error(p, "options '%s' and '%s' cannot be used "
		                   "together", buf_str(&p->mode_label), label);
	if (argument && opts->mode_argument)
		return usage_error(p, "option '%s' can be given only once",
		                   label);
	opts->mode = mode;
	label_set(&p->mode_label, label);
	if (argument)
		opts->mode_argument = xstrdup(argument);
	return EX_OK;
}

static int apply_switch_variant(struct parser *p,
                                const struct long_option *o,
                                const char *label, const char *value)
{
	int on = on_off(value);
	if (on < 0)
		return usage_error(p, "invalid argument '%s' for '%s' "
		                   "(expected on or off)", value, label);
	const char *mapped;
	if (o->action == ACT_SETTING_INVERTED)
		mapped = on ? "off" : "on";
	else
		mapped = on ? "auto" : "off";
	settings_add(p->opts, o->directive, mapped);
	return EX_OK;
}

static int apply_from(struct parser *p, const char *label, const char *value)
{
	struct options *opts = p->opts;
	if (opts->read_envelope_from)
		return usage_error(p, "options '%s' and '--read-envelope-from' "
		                   "cannot be used together", label);
	/* msmtp (Debian bug 612679): -f '<>' is the null reverse-path. */
	if (strcmp(value, "<>") == 0)
		value = "";
	replace_string(&opts->envelope_from, value);
	replace_string(&opts->from_account, *value ? value : NULL);
	label_set(&p->from_label, label);
	return EX_OK;
}

static int apply_dkim_type(struct parser *p, const char *label,
                           const char *value)
{
	if (strcmp(value, "rsa") != 0 && strcmp(value, "ed25519") != 0)
		return usage_error(p, "invalid argument '%s' for '%s' "
		                   "(expected rsa or ed25519)", value, label);
	replace_string(&p->opts->dkim_key_type, value);
	label_set(&p->dkim_type_label, label);
	return EX_OK;
}

static int apply_dkim_bits(struct parser *p, const char *label,
                           const char *value)
{
	long bits = 0;
	const char *c = value;
	do {
		if (*c < '0' || *c > '9')
			return usage_error(p, "invalid argument '%s' for '%s' "
			                   "(expected a number of bits such as "
			                   "2048)", value, label);
		if (bits > (INT_MAX - (*c - '0')) / 10)
			return usage_error(p, "argument '%s' for '%s' is too "
			                   "large", value, label);
		bits = bits * 10 + (*c - '0');
	} while (*++c);
	if (bits == 0)
		return usage_error(p, "invalid argument '%s' for '%s' "
		                   "(expected a number of bits such as 2048)",
		                   value, label);
	p->opts->dkim_key_bits = (int)bits;
	label_set(&p->dkim_bits_label, label);
	return EX_OK;
}

/* sendmail -bX: only the modes a relay client can honour. */
static int apply_operation_mode(struct parser *p, const char *value)
{
	if (strcmp(value, "m") == 0)
		return EX_OK; /* deliver mail: the default */
	if (strcmp(value, "p") == 0)
		return mode_set(p, MODE_LIST_QUEUE, "-bp", NULL);
	if (strcmp(value, "s") == 0)
		return mode_set(p, MODE_SMTPD, "-bs", NULL);
	if (strcmp(value, "i") == 0)
		return mode_set(p, MODE_NEWALIASES, "-bi", NULL);
	if (strcmp(value, "v") == 0)
		return mode_set(p, MODE_VERIFY, "-bv", NULL);
	return usage_error(p, "unsupported operation mode '-b%s'", value);
}

/* sendmail's time values: "90", "90s", "5m", "1h30m" (a bare number is
 * seconds). 0 < result <= CLI_MAX_SMTPD_TIMEOUT, else -1. */
static long parse_duration(const char *v)
{
	long total = 0, n = -1;
	for (; *v; v++) {
		if (*v >= '0' && *v <= '9') {
			n = n < 0 ? 0 : n;
			if (n > CLI_MAX_SMTPD_TIMEOUT)
				return -1;
			n = n * 10 + (*v - '0');
			continue;
		}
		long unit = *v == 's' ? 1 : *v == 'm' ? 60 : *v == 'h' ? 3600 : 0;
		if (!unit || n < 0 || n > CLI_MAX_SMTPD_TIMEOUT)
			return -1;
		total += n * unit;
		n = -1;
		if (total > CLI_MAX_SMTPD_TIMEOUT)
			return -1;
	}
	total += n > 0 ? n : 0;
	return total > 0 && total <= CLI_MAX_SMTPD_TIMEOUT ? total : -1;
}

/* sendmail -O Option=value: Timeout.command is the one outbox honours
 * (how long -bs waits for a command or a line of a message); any other
 * option is accepted and ignored, as before. */
static int apply_sendmail_option(struct parser *p, const char *value)
{
	static const char key[] = "Timeout.command=";
	if (ascii_ncasecmp(value, key, sizeof key - 1) != 0)
		return EX_OK;
	long seconds = parse_duration(value + sizeof key - 1);
	if (seconds < 0)
		return usage_error(p, "invalid time '%s' for '-O "
		                   "Timeout.command' (expected for example "
		                   "300, 90s, 5m or 1h)", value + sizeof key - 1);
	p->opts->smtpd_timeout = (int)seconds;
	return EX_OK;
}

static bool action_needs_value(enum action action)
{
	switch (action) {
	case ACT_DSN_RETURN:
	case ACT_HOST:
	case ACT_ACCOUNT:
	case ACT_CONFIG_FILE:
	case ACT_FROM:
	case ACT_FULL_NAME:
	case ACT_DKIM_TYPE:
	case ACT_DKIM_BITS:
	case ACT_OPERATION_MODE:
	case ACT_SENDMAIL_OPTION:
		return true;
	default:
		return false;
	}
}

static int apply_option(struct parser *p, const struct long_option *o,
                        const char *label, const char *value)
{
	struct options *opts = p->opts;
	/* the callers guarantee this (the table gives these actions
	 * ARG_REQUIRED); checking the action is what an analyser can follow */
	if (!value && action_needs_value(o->action))
		return usage_error(p, "option '%s' requires an argument",
		                   label);
	switch (o->action) {
	case ACT_SETTING:
		settings_add(opts, o->directive, value ? value : o->implied);
		return EX_OK;
	case ACT_SETTING_ON_AUTO:
	case ACT_SETTING_INVERTED:
		return apply_switch_variant(p, o, label, value);
	case ACT_DSN_RETURN:
		if (ascii_casecmp(value, "hdrs") == 0)
			value = "headers";
		settings_add(opts, o->directive, value);
		return EX_OK;
	case ACT_HOST:
		if (p->account_label.len)
			return usage_error(p, "options '%s' and '%s' cannot be "
			                   "used together",
			                   buf_str(&p->account_label), label);
		settings_add(opts, o->directive, value);
		label_set(&p->host_label, label);
		return EX_OK;
	case ACT_ACCOUNT:
		if (p->host_label.len)
			return usage_error(p, "options '%s' and '%s' cannot be "
			                   "used together",
			                   buf_str(&p->host_label), label);
		replace_string(&opts->account, value);
		label_set(&p->account_label, label);
		return EX_OK;
	case ACT_CONFIG_FILE:
		replace_string(&opts->config_file, value);
		return EX_OK;
	case ACT_FROM:
		return apply_from(p, label, value);
	case ACT_READ_ENVELOPE_FROM:
		if (p->from_label.len)
			return usage_error(p, "options '%s' and '%s' cannot be "
			                   "used together",
			                   buf_str(&p->from_label), label);
		opts->read_envelope_from = true;
		return EX_OK;
	case ACT_READ_RECIPIENTS:
		opts->read_recipients = true;
		return EX_OK;
	case ACT_FULL_NAME:
		replace_string(&opts->full_name, value);
		return EX_OK;
	case ACT_PRETEND:
		opts->pretend = true;
		return EX_OK;
	case ACT_JSON:
		opts->json = true;
		return EX_OK;
	case ACT_DEBUG:
		if (opts->debug < INT_MAX)
			opts->debug++;
		/* sendmail -d0.1 prints the version (msmtp does too) */
		if (value && strcmp(value, "0.1") == 0)
			p->version = true;
		return EX_OK;
	case ACT_MODE:
		return mode_set(p, o->mode, label, value);
	case ACT_DKIM_TYPE:
		return apply_dkim_type(p, label, value);
	case ACT_DKIM_BITS:
		return apply_dkim_bits(p, label, value);
	case ACT_OPERATION_MODE:
		return apply_operation_mode(p, value);
	case ACT_SENDMAIL_OPTION:
		return apply_sendmail_option(p, value);
	case ACT_UNSUPPORTED:
		return usage_error(p, "option '%s' is not supported: %s", label,
		                   o->why);
	case ACT_IGNORED:
	case ACT_LONG:
		return EX_OK;
	}
	return EX_OK;
}

/* text is the argument without its leading "--". */
static int parse_long(struct parser *p, const char *text)
{
	const char *eq = strchr(text, '=');
	size_t len = eq ? (size_t)(eq - text) : strlen(text);
	const char *value = eq ? eq + 1 : NULL;
	if (len == 0) /* "--=x": a prefix of everything, a name of nothing */
		return usage_error(p, "unknown option '--%s'", text);
	const struct long_option *o = NULL;
	int rc = long_option_lookup(p, text, len, &o);
	if (rc)
		return rc;

	struct buf label = BUF_INIT;
	buf_printf(&label, "--%s", o->name);
	if (o->action == ACT_UNSUPPORTED) {
		rc = apply_option(p, o, buf_str(&label), value);
	} else if (o->arg == ARG_NONE && value) {
		rc = usage_error(p, "option '%s' does not take an argument",
		                 buf_str(&label));
	} else if (o->arg == ARG_REQUIRED && !value && p->next >= p->argc) {
		rc = usage_error(p, "option '%s' requires an argument",
		                 buf_str(&label));
	} else {
		if (o->arg == ARG_REQUIRED && !value)
			value = p->argv[p->next++];
		rc = apply_option(p, o, buf_str(&label), value);
	}
	buf_free(&label);
	return rc;
}

static const struct short_option *short_option_by_letter(char letter)
{
	for (size_t i = 0; i < SHORT_OPTION_COUNT; i++)
		if (short_options[i].letter == letter)
			return &short_options[i];
	return NULL;
}

static int apply_short(struct parser *p, const struct short_option *s,
                       const char *value)
{
	char label[3] = {'-', s->letter, '\0'};
	if (s->action == ACT_LONG) {
		const struct long_option *o = long_option_by_name(s->long_name);
		/* -q30m: the glued part of a flag is sendmail's interval */
		if (o->arg == ARG_NONE)
			value = NULL;
		return apply_option(p, o, label, value);
	}
	struct long_option own = {label, s->arg, s->action, NULL, NULL,
	                          MODE_SEND, NULL};
	return apply_option(p, &own, label, value);
}

static int unknown_short(struct parser *p, const char *arg, char letter)
{
	if (arg[2] == '\0')
		return usage_error(p, "unknown option '%s'", arg);
	return usage_error(p, "unknown option '-%c' in '%s'", letter, arg);
}

/* One argument of short options ("-ti", "-oem", "-f", "-FCronDaemon"). A
 * letter that takes an argument ends the cluster: the rest is its argument,
 * or, when nothing is glued and the argument is required, the next one. */
static int parse_short_cluster(struct parser *p, const char *arg)
{
	for (const char *c = arg + 1; *c; c++) {
		const struct short_option *s = short_option_by_letter(*c);
		if (!s)
			return unknown_short(p, arg, *c);
		if (s->arg == ARG_NONE) {
			int rc = apply_short(p, s, NULL);
			if (rc)
				return rc;
			continue;
		}
		const char *value = c[1] ? c + 1 : NULL;
		if (s->arg == ARG_REQUIRED && !value && p->next >= p->argc)
			return usage_error(p, "option '-%c' requires an "
			                   "argument", *c);
		if (s->arg == ARG_REQUIRED && !value)
			value = p->argv[p->next++];
		return apply_short(p, s, value);
	}
	return EX_OK;
}

static const char *program_name(const char *argv0)
{
	if (!argv0 || !*argv0)
		return "outbox";
	const char *slash = strrchr(argv0, '/');
	const char *name = slash ? slash + 1 : argv0;
	return *name ? name : "outbox";
}

static int check_result(struct parser *p, int operand_count)
{
	struct options *opts = p->opts;
	if (p->help) {
		opts->mode = MODE_HELP;
		return EX_OK;
	}
	if (p->version) {
		opts->mode = MODE_VERSION;
		return EX_OK;
	}
	if (opts->mode != MODE_DKIM_KEYGEN) {
		if (p->dkim_type_label.len)
			return usage_error(p, "option '%s' is only meaningful "
			                   "with '--dkim-keygen'",
			                   buf_str(&p->dkim_type_label));
		if (p->dkim_bits_label.len)
			return usage_error(p, "option '%s' is only meaningful "
			                   "with '--dkim-keygen'",
			                   buf_str(&p->dkim_bits_label));
	} else {
		if (!opts->dkim_key_type)
			opts->dkim_key_type = xstrdup(CLI_DKIM_DEFAULT_TYPE);
		bool rsa = strcmp(opts->dkim_key_type, "rsa") == 0;
		if (!rsa && opts->dkim_key_bits)
			return usage_error(p, "option '%s' applies only to "
			                   "'--dkim-type=rsa'",
			                   buf_str(&p->dkim_bits_label));
		if (rsa && !opts->dkim_key_bits)
			opts->dkim_key_bits = CLI_DKIM_DEFAULT_RSA_BITS;
	}
	if (opts->json && opts->mode != MODE_CHECK)
		return usage_error(p, "option '--json' is only meaningful with "
		                   "'--check'");
	if (opts->mode == MODE_VERIFY &&
	    (opts->read_recipients || opts->read_envelope_from))
		return usage_error(p, "option '%s' cannot be used with '-bv': "
		                   "there is no message to read",
		                   opts->read_recipients
		                           ? "-t"
		                           : "--read-envelope-from");
	if (opts->mode == MODE_SMTPD) {
		/* The envelope comes from MAIL and RCPT, message by message. */
		const char *which = opts->read_recipients ? "-t"
		                    : opts->read_envelope_from
		                            ? "--read-envelope-from"
		                    : p->from_label.len ? buf_str(&p->from_label)
		                                        : NULL;
		if (which)
			return usage_error(p, "option '%s' cannot be used with "
			                   "'-bs': the SMTP dialogue gives each "
			                   "message's sender and recipients", which);
	}
	/* --serverinfo DOMAIN...: for a direct_delivery account */
	if (opts->mode != MODE_SEND && opts->mode != MODE_VERIFY &&
	    opts->mode != MODE_SERVERINFO && operand_count > 0) {
		const char *verb = p->mode_label.len ? buf_str(&p->mode_label)
		                                     : opts->invoked_as;
		return usage_error(p, "unexpected argument '%s': '%s' takes no "
		                   "recipients", p->argv[p->next], verb);
	}
	return EX_OK;
}

static int parse_arguments(struct parser *p)
{
	const char *name = p->opts->invoked_as;
	/* Package scripts run newaliases after installing an MTA: it must
	 * succeed, there being nothing to rebuild. */
	if (strcmp(name, "newaliases") == 0)
		return mode_set(p, MODE_NEWALIASES, "newaliases", NULL);
	if (strcmp(name, "mailq") == 0)
		p->opts->mode = MODE_LIST_QUEUE;

	while (p->next < p->argc) {
		const char *arg = p->argv[p->next];
		if (arg[0] != '-' || arg[1] == '\0')
			break; /* the first operand; "-" is one too */
		p->next++;
		if (strcmp(arg, "--") == 0)
			break;
		int rc = arg[1] == '-' ? parse_long(p, arg + 2)
		                       : parse_short_cluster(p, arg);
		if (rc)
			return rc;
	}

	int operand_count = p->argc - p->next;
	int rc = check_result(p, operand_count);
	if (rc || p->opts->mode == MODE_HELP || p->opts->mode == MODE_VERSION)
		return rc;
	if (operand_count > 0) {
		struct options *opts = p->opts;
		opts->recipients = xcalloc((size_t)operand_count,
		                           sizeof *opts->recipients);
		for (int i = 0; i < operand_count; i++)
			opts->recipients[i] = xstrdup(p->argv[p->next + i]);
		opts->recipient_count = (size_t)operand_count;
	}
	return EX_OK;
}

int cli_parse(int argc, char **argv, struct options *opts, struct err *e)
{
	*opts = (struct options){.mode = MODE_SEND};
	opts->invoked_as = program_name(argc > 0 ? argv[0] : NULL);

	struct parser p = {
		.argc = argc,
		.argv = argv,
		.next = argc > 0 ? 1 : 0,
		.opts = opts,
		.e = e,
		.mode_label = BUF_INIT,
		.host_label = BUF_INIT,
		.account_label = BUF_INIT,
		.from_label = BUF_INIT,
		.dkim_type_label = BUF_INIT,
		.dkim_bits_label = BUF_INIT,
	};
	int rc = parse_arguments(&p);
	buf_free(&p.mode_label);
	buf_free(&p.host_label);
	buf_free(&p.account_label);
	buf_free(&p.from_label);
	buf_free(&p.dkim_type_label);
	buf_free(&p.dkim_bits_label);
	if (rc) {
		const char *invoked_as = opts->invoked_as;
		cli_free(opts);
		opts->invoked_as = invoked_as;
	}
	return rc;
}

const struct cli_setting *cli_find_setting(const struct options *opts,
                                           const char *directive)
{
	for (size_t i = opts->setting_count; i-- > 0;)
		if (strcmp(opts->settings[i].directive, directive) == 0)
			return &opts->settings[i];
	return NULL;
}

void cli_free(struct options *opts)
{
	free(opts->config_file);
	free(opts->account);
	free(opts->from_account);
	free(opts->envelope_from);
	free(opts->full_name);
	free(opts->mode_argument);
	free(opts->dkim_key_type);
	for (size_t i = 0; i < opts->setting_count; i++) {
		free(opts->settings[i].directive);
		free(opts->settings[i].value);
	}
	free(opts->settings);
	for (size_t i = 0; i < opts->recipient_count; i++)
		free(opts->recipients[i]);
	free(opts->recipients);
	*opts = (struct options){.mode = MODE_SEND};
}
