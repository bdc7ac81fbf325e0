/* conf_parse.c - the msmtprc syntax; see conf_parse.h.
 *
 * The syntax follows msmtp 1.8 as it really behaves (checked against msmtp
 * 1.8.23), so an existing ~/.msmtprc means the same thing here:
 *   - one command per line; blanks are space and tab; a line whose first
 *     non-blank character is `#` is a comment;
 *   - the command is the first run of non-blank characters, the argument is
 *     the rest of the line without surrounding blanks; when the argument
 *     starts and ends with a double quote, both quotes are removed and
 *     nothing else is interpreted (msmtp has no backslash escapes);
 *   - `defaults` values are copied into each account when it is declared;
 *     `account b : a` then copies what was set in a (by a's own lines or a's
 *     parents), then b's own lines apply;
 *   - settings before the first `defaults` or `account` line make an account
 *     named "default" (msmtp's compatibility with version 1.2).
 * What each directive accepts is directives.c's business. */
#include "conf_parse.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "command.h"
#include "conf_internal.h"
#include "util.h"

/* The first output line of an `eval` command may be this long (OAuth tokens
 * are a few KiB; this only stops a runaway command). */
#define CONF_EVAL_OUTPUT_MAX ((size_t)1024 * 1024)
/* How long an `eval` command may run when no timeout is set: reading the
 * file must not hang every send (msmtp waits for ever). */
#define CONF_EVAL_TIMEOUT_S 30

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- the parser ---------------------------------------------------------- */

struct parsed_account {
	struct account *acc;
	uint64_t set; /* bit per enum field: set by its lines or its parents */
};

struct parser {
	const char *filename;
	bool eval_disabled;
	struct account *defaults;
	struct parsed_account *accounts; /* of this file, in order */
	size_t count;
	long current; /* index in accounts, or -1 for defaults */
	bool started; /* a defaults or account line was seen */
	bool has_secret;
	struct err *e;
};

/* err_prefix with "FILE:LINE". */
static int parser_fail(struct parser *p, int line, int code)
{
	err_prefix(p->e, "%s:%d", p->filename, line);
	p->e->code = code;
	return code;
}

static int parser_error(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parser_error(struct parser *p, int line, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	err_set(p->e, EX_CONFIG, "%s", buf_str(&b));
	buf_free(&b);
	return parser_fail(p, line, EX_CONFIG);
}

/* A name for a message: shortened, control characters as '?'. */
static char *shown(const char *value)
{
	struct buf b = BUF_INIT;
	conf_add_shown(&b, value);
	return buf_steal(&b);
}

static struct parsed_account *parser_find(struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->accounts[i].acc->name, name) == 0)
			return &p->accounts[i];
	return NULL;
}

static struct parsed_account *parser_add(struct parser *p, const char *name,
                                         int line)
{
	struct account *a = account_clone(p->defaults, name);
	free(a->file);
	a->file = xstrdup(p->filename);
	a->line = line;
	p->accounts = xrealloc(p->accounts,
	                       (p->count + 1) * sizeof *p->accounts);
	p->accounts[p->count].acc = a;
	p->accounts[p->count].set = 0;
	p->current = (long)p->count;
	return &p->accounts[p->count++];
}

/* Copy of s[0..n) without surrounding blanks, and without one pair of
 * enclosing double quotes (msmtp's trim_string). */
static void trim_unquote(const char *s, size_t n, struct buf *out)
{
	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	buf_reset(out);
	buf_add(out, s, n);
}

/* account NAME [: PARENT[,PARENT...]] */
static int parse_account(struct parser *p, int line, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t name_len = colon ? (size_t)(colon - arg) : strlen(arg);
	struct buf name = BUF_INIT, parent = BUF_INIT;
	struct parsed_account **parents = NULL;
	size_t parent_count = 0;
	int rc = EX_OK;

	trim_unquote(arg, name_len, &name);
	if (colon) {
		const char *s = colon + 1;
		for (;;) {
			size_t n = strcspn(s, ",");
			trim_unquote(s, n, &parent);
			struct parsed_account *pa;
			if (parent.len == 0) {
				rc = parser_error(p, line,
				                  "missing account name in "
				                  "the list after ':'");
				goto out;
			}
			pa = parser_find(p, buf_str(&parent));
			if (!pa) {
				char *s_name = shown(buf_str(&parent));
				rc = parser_error(p, line,
				                  "account '%s' is not (yet) "
				                  "defined in this file",
				                  s_name);
				free(s_name);
				goto out;
			}
			parents = xrealloc(parents, (parent_count + 1) *
			                                    sizeof *parents);
			parents[parent_count++] = pa;
			if (!s[n])
				break;
			s += n + 1;
		}
	}
	if (name.len == 0) {
		rc = parser_error(p, line, "%s", "'account' needs a name");
		goto out;
	}
	if (strchr(buf_str(&name), ',') || conf_has_control(buf_str(&name))) {
		char *s_name = shown(buf_str(&name));
		rc = parser_error(p, line,
		                  "account name '%s' must not contain ',', ':' "
		                  "or control characters", s_name);
		free(s_name);
		goto out;
	}
	struct parsed_account *old = parser_find(p, buf_str(&name));
	if (old) {
		rc = parser_error(p, line,
		                  "account '%s' is already defined at line %d",
		                  buf_str(&name), old->acc->line);
		goto out;
	}
	/* Parents are resolved before parser_add moves the array. */
	struct account **sources = xcalloc(parent_count ? parent_count : 1,
	                                   sizeof *sources);
	uint64_t *masks = xcalloc(parent_count ? parent_count : 1,
	                          sizeof *masks);
	for (size_t i = 0; i < parent_count; i++) {
		sources[i] = parents[i]->acc;
		masks[i] = parents[i]->set;
	}
	struct parsed_account *pa = parser_add(p, buf_str(&name), line);
	for (size_t i = 0; i < parent_count; i++) {
		for (int f = 0; f < FIELD_COUNT; f++)
			if (masks[i] & ((uint64_t)1 << f))
				account_copy_field(pa->acc, sources[i], (enum field)f);
		pa->set |= masks[i];
	}
	free(sources);
	free(masks);
	p->started = true;
out:
	free(parents);
	buf_free(&name);
	buf_free(&parent);
	return rc;
}

static int parse_line(struct parser *p, int line, const char *text, size_t n,
                      bool from_eval);

/* eval CMD: the first line CMD prints is read as a line of the file. As
 * msmtp (popen, then pclose), the exit status only matters when nothing
 * was printed. The time limit is the timeout set so far for the account
 * being defined (or in defaults), else CONF_EVAL_TIMEOUT_S. */
static int parse_eval(struct parser *p, int line, const char *arg)
{
	if (p->eval_disabled)
		return parser_error(p, line, "%s",
		                    "'eval' is disabled for this text");
	if (!*arg)
		return parser_error(p, line, "%s", "'eval' needs a command");
	const struct account *a = p->current < 0
	                                  ? p->defaults
	                                  : p->accounts[p->current].acc;
	struct command c = {
		.cmd = arg,
		.what = "eval command",
		.timeout_s = account_command_timeout(a, CONF_EVAL_TIMEOUT_S),
		.line_max = CONF_EVAL_OUTPUT_MAX,
		.strict = false,
	};
	struct buf out = BUF_INIT;
	int rc = command_run(&c, &out, p->e);
	if (rc != EX_OK)
		parser_fail(p, line, rc);
	else
		rc = parse_line(p, line, buf_str(&out), out.len, true);
	buf_wipe(&out);
	return rc;
}

/* One line without its end of line. from_eval: the line is the output of an
 * eval command (no nested eval, values hidden in messages, not counted as a
 * secret stored in the file). */
static int parse_line(struct parser *p, int line, const char *text, size_t n,
                      bool from_eval)
{
	size_t i = 0;
	while (i < n && is_blank(text[i]))
		i++;
	if (i == n || text[i] == '#')
		return EX_OK;
	size_t start = i;
	while (i < n && !is_blank(text[i]))
		i++;

	struct buf name = BUF_INIT, arg = BUF_INIT;
	int rc = EX_OK;
	buf_add(&name, text + start, i - start);
	trim_unquote(text + i, n - i, &arg);
	const char *cmd = buf_str(&name);
	const char *value = buf_str(&arg);

	if (strcmp(cmd, "defaults") == 0) {
		if (arg.len)
			rc = parser_error(p, line, "%s",
			                  "'defaults' takes no value");
		p->current = -1;
		p->started = true;
	} else if (strcmp(cmd, "account") == 0) {
		rc = parse_account(p, line, value);
	} else if (strcmp(cmd, "eval") == 0) {
		if (from_eval)
			rc = parser_error(p, line, "%s",
			                  "the line printed by eval may not be "
			                  "another eval");
		else
			rc = parse_eval(p, line, value);
	} else {
		const struct directive *d = directive_find(cmd);
		if (!d) {
			directive_unknown(cmd, from_eval, p->e);
			rc = parser_fail(p, line, EX_CONFIG);
			goto out;
		}
		/* msmtp 1.2 compatibility: settings before any account
		 * line make the account "default". */
		if (!p->started) {
			parser_add(p, "default", line);
			p->started = true;
		}
		struct account *a = p->current < 0
		                        ? p->defaults
		                        : p->accounts[p->current].acc;
		rc = directive_apply(a, d, value, from_eval, p->e);
		if (rc != EX_OK) {
			parser_fail(p, line, rc);
			goto out;
		}
		if (p->current >= 0)
			p->accounts[p->current].set |= (uint64_t)1
			                               << directive_field(d);
		/* The flag that records it was written travels with it to
		 * the accounts that inherit it (maildrop.h). */
		if (p->current >= 0 &&
		    directive_field(d) == F_ALLOW_FROM_OVERRIDE)
			p->accounts[p->current].set |=
			        (uint64_t)1 << F_ALLOW_FROM_OVERRIDE_SET;
		if (directive_field(d) < FIELD_COUNT &&
		    account_field_kind(directive_field(d)) == FIELD_SECRET &&
		    *value && !from_eval)
			p->has_secret = true;
	}
out:
	buf_free(&name);
	buf_wipe(&arg); /* may have been a password */
	return rc;
}

/* Parse text into p->accounts. */
static int parser_run(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;
	int line = 0;

	/* A UTF-8 byte order mark, as some Windows editors write. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (line == INT_MAX)
			return parser_error(p, line, "%s", "too many lines");
		line++;
		if (memchr(start, '\0', n))
			return parser_error(p, line, "%s",
			                    "the line contains a NUL byte");
		if (n && start[n - 1] == '\r') /* CRLF files */
			n--;
		int rc = parse_line(p, line, start, n, false);
		if (rc != EX_OK)
			return rc;
	}
	return EX_OK;
}

static void parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->count; i++)
		account_free(p->accounts[i].acc);
	free(p->accounts);
	account_free(p->defaults);
	p->accounts = NULL;
	p->defaults = NULL;
	p->count = 0;
}

int conf_parse(struct conf *conf, const char *text, size_t len,
               const char *filename, bool *has_secret, struct err *e)
{
	struct parser p = {
		.filename = filename ? filename : "(configuration)",
		.eval_disabled = conf->eval_disabled,
		.defaults = account_new("defaults"),
		.current = -1,
		.e = e,
	};
	p.defaults->env = conf->env; /* every account is a clone of it */
	int rc = parser_run(&p, text, len);
	if (has_secret)
		*has_secret = p.has_secret;
	if (rc == EX_OK) {
		for (size_t i = 0; i < p.count; i++) {
			conf_add_account(conf, p.accounts[i].acc);
			p.accounts[i].acc = NULL;
		}
		p.count = 0;
	}
	parser_free(&p);
	return rc;
}

/* ---- the parsed configuration -------------------------------------------- */

struct account *conf_find_account(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->count; i++)
		if (strcmp(conf->accounts[i]->name, name) == 0)
			return conf->accounts[i];
	return NULL;
}

void conf_add_account(struct conf *conf, struct account *a)
{
	for (size_t k = 0; k < conf->count; k++) {
		struct account **slot = &conf->accounts[k];
		if (strcmp((*slot)->name, a->name) == 0) {
			account_free(*slot);
			memmove(slot, slot + 1,
			        (conf->count - k - 1) * sizeof *slot);
			conf->count--;
			break;
		}
	}
	conf->accounts = xrealloc(conf->accounts,
	                          (conf->count + 1) * sizeof *conf->accounts);
	conf->accounts[conf->count++] = a;
}

void conf_free(struct conf *conf)
{
	for (size_t i = 0; i < conf->count; i++)
		account_free(conf->accounts[i]);
	free(conf->accounts);
	for (size_t i = 0; i < conf->file_count; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->unreadable_system_file);
	conf->accounts = NULL;
	conf->files = NULL;
	conf->unreadable_system_file = NULL;
	conf->count = conf->file_count = 0;
}
