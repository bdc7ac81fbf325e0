/* smtpd_command.c - SMTP command lines for outbox -bs; see smtpd_command.h. */
#include "smtpd_command.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "dsn.h"
#include "err.h"
#include "util.h"

static bool refuse(struct smtpd_refusal *why, int code, const char *status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool refuse(struct smtpd_refusal *why, int code, const char *status,
                   const char *fmt, ...)
{
	why->code = code;
	why->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof why->text, fmt, ap);
	va_end(ap);
	return false;
}

/* A cursor over the line; the parser never reads past end. */
struct cursor {
	const char *p, *end;
};

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

static bool take_word(struct cursor *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || ascii_ncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* ---- paths ------------------------------------------------------------ */

/* The end of "<...>" starting at c->p (which is '<'): the matching '>'
 * outside a quoted local part, or NULL. */
static const char *angle_end(const struct cursor *c)
{
	bool quoted = false;
	for (const char *q = c->p + 1; q < c->end; q++) {
		if (quoted && *q == '\\' && q + 1 < c->end)
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (!quoted && *q == '>')
			return q;
	}
	return NULL;
}

/* RFC 5321 4.1.2: an optional source route "@a,@b:" before the mailbox,
 * which servers must accept and may ignore (C.): it is dropped. */
static const char *skip_source_route(const char *s, const char *end)
{
	if (s == end || *s != '@')
		return s;
	const char *colon = memchr(s, ':', (size_t)(end - s));
	return colon ? colon + 1 : s;
}

/* "FROM:" or "TO:" has been taken; read the path. Postfix-like leniency
 * for real clients: spaces after the colon, and a bare address without
 * angle brackets. */
static bool take_path(struct cursor *c, bool is_mail, char **path,
                      struct smtpd_refusal *why)
{
	const char *what = is_mail ? "sender" : "recipient";
	const char *status = is_mail ? "5.1.7" : "5.1.3";
	skip_spaces(c);
	const char *start, *stop;
	if (c->p < c->end && *c->p == '<') {
		const char *close = angle_end(c);
		if (!close)
			return refuse(why, 501, "5.5.4", "the %s address has "
			              "no closing '>'", what);
		start = skip_source_route(c->p + 1, close);
		stop = close;
		c->p = close + 1;
	} else {
		start = c->p;
		while (c->p < c->end && *c->p != ' ')
			c->p++;
		stop = c->p;
		if (start == stop)
			return refuse(why, 501, "5.5.4", "%s address missing",
			              what);
	}
	if (!at_end(c) && *c->p != ' ')
		return refuse(why, 501, "5.5.4", "text after the %s address "
		              "must be parameters, separated by a space", what);
	if (start == stop && !is_mail)
		return refuse(why, 501, "5.1.3", "the recipient address is "
		              "empty");
	if (memchr(start, '\0', (size_t)(stop - start)))
		return refuse(why, 553, status, "bad %s address syntax", what);
	*path = xstrndup(start, (size_t)(stop - start));
	struct err e = ERR_INIT;
	bool ok = addr_check_smtp_safe(*path, is_mail, &e) == EX_OK;
	if (!ok) {
		refuse(why, 553, status, "bad %s address syntax", what);
		free(*path);
		*path = NULL;
	}
	err_clear(&e);
	return ok;
}

/* ---- parameters ------------------------------------------------------- */

struct param {
	char keyword[32];
	const char *value; /* NULL for a keyword without "=" */
	size_t value_len;
};

/* RFC 5321 4.1.2: esmtp-keyword ["=" esmtp-value]; the value is any of
 * 33..126 except "=". */
static bool take_param(struct cursor *c, struct param *out,
                       struct smtpd_refusal *why)
{
	const char *k = c->p;
	while (c->p < c->end && (is_alnum(*c->p) || (c->p > k && *c->p == '-')))
		c->p++;
	size_t klen = (size_t)(c->p - k);
	if (klen == 0 || (!at_end(c) && *c->p != '=' && *c->p != ' '))
		return refuse(why, 501, "5.5.4", "malformed parameter");
	if (klen >= sizeof out->keyword)
		return refuse(why, 555, "5.5.4", "unknown parameter");
	memcpy(out->keyword, k, klen);
	out->keyword[klen] = '\0';
	for (size_t i = 0; i < klen; i++)
		if (out->keyword[i] >= 'a' && out->keyword[i] <= 'z')
			out->keyword[i] = (char)(out->keyword[i] - 'a' + 'A');
	out->value = NULL;
	out->value_len = 0;
	if (at_end(c) || *c->p == ' ')
		return true;
	c->p++; /* '=' */
	out->value = c->p;
	while (c->p < c->end && *c->p != ' ') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 33 || ch > 126 || ch == '=')
			return refuse(why, 501, "5.5.4", "bad value of "
			              "parameter %s", out->keyword);
		c->p++;
	}
	out->value_len = (size_t)(c->p - out->value);
	if (out->value_len == 0)
		return refuse(why, 501, "5.5.4", "parameter %s has an empty "
		              "value", out->keyword);
	return true;
}

static bool value_is(const struct param *p, const char *word)
{
	return p->value_len == strlen(word) &&
	       ascii_ncasecmp(p->value, word, p->value_len) == 0;
}

static bool need_value(const struct param *p, bool wanted,
                       struct smtpd_refusal *why)
{
	if (wanted && !p->value)
		return refuse(why, 501, "5.5.4", "parameter %s needs a value",
		              p->keyword);
	if (!wanted && p->value)
		return refuse(why, 501, "5.5.4", "parameter %s takes no value",
		              p->keyword);
	return true;
}

static bool duplicate(bool already, const struct param *p,
                      struct smtpd_refusal *why)
{
	if (already)
		return refuse(why, 501, "5.5.4", "parameter %s given twice",
		              p->keyword);
	return true;
}

/* RFC 1870: SIZE=digits; a number past 2^64 saturates (it is over every
 * limit anyway). */
static bool set_size(struct smtpd_command *cmd, const struct param *p,
                     struct smtpd_refusal *why)
{
	if (!duplicate(cmd->has_size, p, why) || !need_value(p, true, why))
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < p->value_len; i++) {
		char ch = p->value[i];
		if (ch < '0' || ch > '9')
			return refuse(why, 501, "5.5.4", "SIZE must be a "
			              "number of octets");
		unsigned d = (unsigned)(ch - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	cmd->has_size = true;
	cmd->size = n;
	return true;
}

static bool set_body(struct smtpd_command *cmd, const struct param *p,
                     struct smtpd_refusal *why)
{
	if (!duplicate(cmd->body != SMTPD_BODY_UNSAID, p, why) ||
	    !need_value(p, true, why))
		return false;
	if (value_is(p, "7BIT"))
		cmd->body = SMTPD_BODY_7BIT;
	else if (value_is(p, "8BITMIME"))
		cmd->body = SMTPD_BODY_8BITMIME;
	else
		return refuse(why, 555, "5.5.4", "BODY must be 7BIT or "
		              "8BITMIME (BINARYMIME is not offered)");
	return true;
}

static bool set_ret(struct smtpd_command *cmd, const struct param *p,
                    struct smtpd_refusal *why)
{
	if (!duplicate(cmd->ret != NULL, p, why) || !need_value(p, true, why))
		return false;
	if (value_is(p, "FULL"))
		cmd->ret = "FULL";
	else if (value_is(p, "HDRS"))
		cmd->ret = "HDRS";
	else
		return refuse(why, 501, "5.5.4", "RET must be FULL or HDRS");
	return true;
}

static bool set_envid(struct smtpd_command *cmd, const struct param *p,
                      struct smtpd_refusal *why)
{
	if (!duplicate(cmd->envid != NULL, p, why) ||
	    !need_value(p, true, why))
		return false;
	if (!dsn_is_envid(p->value, p->value_len))
		return refuse(why, 501, "5.5.4", "ENVID must be xtext of at "
		              "most %d characters", DSN_MAX_ENVID);
	cmd->envid = xstrndup(p->value, p->value_len);
	return true;
}

/* RFC 3461 4.1: NOTIFY="NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ). */
static bool set_notify(struct smtpd_command *cmd, const struct param *p,
                       struct smtpd_refusal *why)
{
	if (!duplicate(cmd->notify != NULL, p, why) ||
	    !need_value(p, true, why))
		return false;
	static const char *const words[] = {"NEVER", "SUCCESS", "FAILURE",
	                                    "DELAY"};
	unsigned seen = 0;
	struct buf canon = BUF_INIT;
	const char *s = p->value, *end = p->value + p->value_len;
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		unsigned which = 4;
		for (unsigned i = 0; i < 4; i++)
			if ((size_t)(stop - s) == strlen(words[i]) &&
			    ascii_ncasecmp(s, words[i], (size_t)(stop - s)) == 0)
				which = i;
		if (which == 4 || (seen & (1u << which))) {
			buf_free(&canon);
			return refuse(why, 501, "5.5.4", "NOTIFY must be NEVER "
			              "or a list of SUCCESS, FAILURE, DELAY");
		}
		seen |= 1u << which;
		s = stop + 1;
	}
	/* One spelling for one meaning, so recipients compare equal. */
	for (unsigned i = 0; i < 4; i++)
		if (seen & (1u << i))
			buf_printf(&canon, "%s%s", canon.len ? "," : "",
			           words[i]);
	if ((seen & 1u) && seen != 1u) {
		buf_free(&canon);
		return refuse(why, 501, "5.5.4", "NOTIFY=NEVER cannot be "
		              "combined with other values");
	}
	cmd->notify = buf_steal(&canon);
	return true;
}

/* RFC 3461 4.2: ORCPT=addr-type ";" xtext. */
static bool set_orcpt(struct smtpd_command *cmd, const struct param *p,
                      struct smtpd_refusal *why)
{
	if (!duplicate(cmd->orcpt != NULL, p, why) ||
	    !need_value(p, true, why))
		return false;
	if (!dsn_is_orcpt(p->value, p->value_len))
		return refuse(why, 501, "5.5.4", "ORCPT must be addr-type;xtext "
		              "of at most %d characters", DSN_MAX_ORCPT);
	cmd->orcpt = xstrndup(p->value, p->value_len);
	return true;
}

static bool apply_param(struct smtpd_command *cmd, const struct param *p,
                        struct smtpd_refusal *why)
{
	const char *k = p->keyword;
	if (cmd->verb == SMTPD_MAIL) {
		if (strcmp(k, "SIZE") == 0)
			return set_size(cmd, p, why);
		if (strcmp(k, "BODY") == 0)
			return set_body(cmd, p, why);
		if (strcmp(k, "SMTPUTF8") == 0) {
			if (!duplicate(cmd->smtputf8, p, why) ||
			    !need_value(p, false, why))
				return false;
			cmd->smtputf8 = true;
			return true;
		}
		if (strcmp(k, "RET") == 0)
			return set_ret(cmd, p, why);
		if (strcmp(k, "ENVID") == 0)
			return set_envid(cmd, p, why);
	} else {
		if (strcmp(k, "NOTIFY") == 0)
			return set_notify(cmd, p, why);
		if (strcmp(k, "ORCPT") == 0)
			return set_orcpt(cmd, p, why);
	}
	return refuse(why, 555, "5.5.4", "%s parameter %s is not recognized",
	              cmd->verb == SMTPD_MAIL ? "MAIL" : "RCPT", k);
}

static bool take_params(struct cursor *c, struct smtpd_command *cmd,
                        struct smtpd_refusal *why)
{
	for (;;) {
		skip_spaces(c);
		if (at_end(c))
			return true;
		struct param p;
		if (!take_param(c, &p, why) || !apply_param(cmd, &p, why))
			return false;
	}
}

/* ---- commands --------------------------------------------------------- */

static bool parse_mail_or_rcpt(struct cursor *c, struct smtpd_command *cmd,
                               struct smtpd_refusal *why)
{
	bool is_mail = cmd->verb == SMTPD_MAIL;
	skip_spaces(c); /* "MAIL  FROM:" seen in the wild */
	if (!take_word(c, is_mail ? "FROM:" : "TO:"))
		return refuse(why, 501, "5.5.4", "syntax: %s",
		              is_mail ? "MAIL FROM:<address> [parameters]"
		                      : "RCPT TO:<address> [parameters]");
	return take_path(c, is_mail, &cmd->path, why) &&
	       take_params(c, cmd, why);
}

/* The rest of the line as the argument (HELO, EHLO, VRFY, EXPN, HELP),
 * leading and trailing spaces removed. */
static void take_argument(struct cursor *c, struct smtpd_command *cmd)
{
	skip_spaces(c);
	const char *end = c->end;
	while (end > c->p && end[-1] == ' ')
		end--;
	if (end > c->p)
		cmd->argument = xstrndup(c->p, (size_t)(end - c->p));
	c->p = c->end;
}

static bool parse_arguments(struct cursor *c, struct smtpd_command *cmd,
                            struct smtpd_refusal *why)
{
	switch (cmd->verb) {
	case SMTPD_MAIL:
	case SMTPD_RCPT:
		return parse_mail_or_rcpt(c, cmd, why);
	case SMTPD_HELO:
	case SMTPD_EHLO:
		take_argument(c, cmd);
		if (!cmd->argument)
			return refuse(why, 501, "5.5.4", "%s needs a domain or "
			              "address literal",
			              cmd->verb == SMTPD_HELO ? "HELO" : "EHLO");
		return true;
	case SMTPD_VRFY:
	case SMTPD_EXPN:
		take_argument(c, cmd);
		if (!cmd->argument)
			return refuse(why, 501, "5.5.4", "%s needs an argument",
			              cmd->verb == SMTPD_VRFY ? "VRFY" : "EXPN");
		return true;
	case SMTPD_HELP:
	case SMTPD_NOOP: /* RFC 5321 4.1.1.9: an argument is ignored */
		take_argument(c, cmd);
		return true;
	default:
		skip_spaces(c);
		if (!at_end(c))
			return refuse(why, 501, "5.5.4", "this command takes no "
			              "arguments");
		return true;
	}
}

static const struct {
	const char *name;
	enum smtpd_verb verb;
} verbs[] = {
	{"HELO", SMTPD_HELO}, {"EHLO", SMTPD_EHLO}, {"MAIL", SMTPD_MAIL},
	{"RCPT", SMTPD_RCPT}, {"DATA", SMTPD_DATA}, {"RSET", SMTPD_RSET},
	{"NOOP", SMTPD_NOOP}, {"VRFY", SMTPD_VRFY}, {"EXPN", SMTPD_EXPN},
	{"HELP", SMTPD_HELP}, {"QUIT", SMTPD_QUIT},
};

/* Commands a client may know but outbox does not offer on a pipe. */
static const char *const not_offered[] = {
	"STARTTLS", "AUTH", "BDAT", "ETRN", "TURN", "ATRN", "SEND", "SOML",
	"SAML", "XCLIENT", "XFORWARD",
};

static bool parse_verb(struct cursor *c, enum smtpd_verb *verb,
                       struct smtpd_refusal *why)
{
	const char *start = c->p;
	while (c->p < c->end && *c->p != ' ')
		c->p++;
	size_t len = (size_t)(c->p - start);
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (len == 4 && ascii_ncasecmp(start, verbs[i].name, 4) == 0) {
			*verb = verbs[i].verb;
			return true;
		}
	for (size_t i = 0; i < sizeof not_offered / sizeof not_offered[0]; i++)
		if (len == strlen(not_offered[i]) &&
		    ascii_ncasecmp(start, not_offered[i], len) == 0)
			return refuse(why, 502, "5.5.1", "%s is not offered",
			              not_offered[i]);
	return refuse(why, 500, "5.5.2", "command not recognized");
}

bool smtpd_parse_command(const char *line, size_t len,
                         struct smtpd_command *cmd,
                         struct smtpd_refusal *why)
{
	memset(cmd, 0, sizeof *cmd);
	/* Invariant 4 on the way in: a CR or NUL inside a command line is
	 * either an attempt to smuggle or a broken client. */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\r' || line[i] == '\0' || line[i] == '\n')
			return refuse(why, 500, "5.5.2", "bare CR, LF or NUL in "
			              "a command line");
	struct cursor c = {line, line + len};
	if (!parse_verb(&c, &cmd->verb, why))
		return false;
	if (!parse_arguments(&c, cmd, why)) {
		smtpd_command_free(cmd);
		return false;
	}
	return true;
}

void smtpd_command_free(struct smtpd_command *cmd)
{
	free(cmd->argument);
	free(cmd->path);
	free(cmd->envid);
	free(cmd->notify);
	free(cmd->orcpt);
	memset(cmd, 0, sizeof *cmd);
}
