/* aliases.c - the aliases file; see aliases.h. */
#include "aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

/* msmtp's limit on nested aliases; deeper chains are reported as loops. */
#define ALIASES_MAX_DEPTH 16
/* An alias file that fans out exponentially ("a: b, b", "b: c, c", ...) is
 * stopped here instead of eating memory. */
#define ALIASES_MAX_RECIPIENTS 10000
/* An aliases file larger than this is certainly not one. */
#define ALIASES_MAX_FILE_SIZE (16 * 1024 * 1024)

struct alias {
	char *name;
	struct addr_list targets;
};

struct aliases {
	struct alias *items;
	size_t count;
};

static const struct alias *aliases_find(const struct aliases *a,
                                        const char *name)
{
	for (size_t i = 0; i < a->count; i++)
		if (ascii_casecmp(a->items[i].name, name) == 0)
			return &a->items[i];
	return NULL;
}

static int aliases_fail(struct err *e, const char *filename, size_t line,
                        const char *what)
{
	return err_set(e, EX_CONFIG, "%s:%zu: %s", filename, line, what);
}

/* The end of a line's content: the first '#' outside a quoted string (an
 * address like "#ops"@example.org keeps its '#'). */
static size_t aliases_content_length(const char *line, size_t len)
{
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		if (quoted && line[i] == '\\' && i + 1 < len)
			i++;
		else if (line[i] == '"')
			quoted = !quoted;
		else if (!quoted && line[i] == '#')
			return i;
	}
	return len;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t' || **s == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
	                    (*s)[*len - 1] == '\r'))
		(*len)--;
}

static int aliases_parse_line(struct aliases *a, const char *line,
                              size_t len, const char *filename,
                              size_t lineno, struct err *e)
{
	len = aliases_content_length(line, len);
	trim(&line, &len);
	if (len == 0)
		return EX_OK;
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return aliases_fail(e, filename, lineno,
		                    "expected \"name: address, ...\"");
	const char *name = line;
	size_t name_len = (size_t)(colon - line);
	trim(&name, &name_len);
	if (name_len == 0)
		return aliases_fail(e, filename, lineno,
		                    "missing alias name before ':'");
	for (size_t i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '@' || c == ' ' || c == '\t' || c < 0x20 || c == 0x7f)
			return aliases_fail(e, filename, lineno,
			                    "an alias name is a local name "
			                    "(no '@', no white space)");
	}
	char *key = xstrndup(name, name_len);
	if (aliases_find(a, key)) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "duplicate alias '%s'", key);
		free(key);
		int rc = aliases_fail(e, filename, lineno, buf_str(&b));
		buf_free(&b);
		return rc;
	}
	struct addr_list targets = {NULL, 0};
	const char *value = colon + 1;
	int rc = addr_parse_list(value, len - (size_t)(value - line),
	                         &targets, e);
	if (rc != EX_OK) {
		err_prefix(e, "%s:%zu", filename, lineno);
		e->code = EX_CONFIG;
		free(key);
		return EX_CONFIG;
	}
	if (targets.count == 0) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "alias '%s' has no address", key);
		free(key);
		rc = aliases_fail(e, filename, lineno, buf_str(&b));
		buf_free(&b);
		return rc;
	}
	a->items = xrealloc(a->items, (a->count + 1) * sizeof *a->items);
	a->items[a->count].name = key;
	a->items[a->count].targets = targets;
	a->count++;
	return EX_OK;
}

int aliases_parse(const char *text, size_t len, const char *filename,
                  struct aliases **out, struct err *e)
{
	struct aliases *a = xcalloc(1, sizeof *a);
	size_t lineno = 0;
	size_t pos = 0;
	*out = NULL;
	if (!filename)
		filename = "aliases";
	if (len > 0 && memchr(text, '\0', len)) {
		aliases_free(a);
		return err_set(e, EX_CONFIG, "%s: contains a NUL byte",
		               filename);
	}
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl ? 1 : 0);
		int rc = aliases_parse_line(a, line, line_len, filename,
		                            ++lineno, e);
		if (rc != EX_OK) {
			aliases_free(a);
			return rc;
		}
	}
	*out = a;
	return EX_OK;
}

int aliases_load(const char *path, struct aliases **out, struct err *e)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_CONFIG, "cannot open aliases file %s: %s",
		               path, strerror(errno));
	struct buf text = BUF_INIT;
	int rc = EX_OK;
	if (fd_read_all(fd, ALIASES_MAX_FILE_SIZE, false, &text) != 0)
		rc = errno == EFBIG
		             ? err_set(e, EX_CONFIG, "aliases file %s is "
		                       "larger than %d MiB", path,
		                       ALIASES_MAX_FILE_SIZE >> 20)
		             : err_set(e, EX_IOERR, "cannot read aliases "
		                       "file %s: %s", path, strerror(errno));
	close(fd);
	if (rc == EX_OK)
		rc = aliases_parse(buf_str(&text), text.len, path, out, e);
	buf_free(&text);
	return rc;
}

struct expansion {
	const struct aliases *aliases;
	const struct alias *chain[ALIASES_MAX_DEPTH];
	size_t depth;
	bool via_default; /* "default" is in the chain */
	/* The result, with spare capacity: up to ALIASES_MAX_RECIPIENTS are
	 * not added by one realloc each. */
	struct addr_list out;
	size_t cap;
	struct err *e;
};

static int expansion_add(struct expansion *x, const struct address *addr)
{
	if (x->out.count >= ALIASES_MAX_RECIPIENTS)
		return err_set(x->e, EX_CONFIG,
		               "aliases expand to more than %d recipients",
		               ALIASES_MAX_RECIPIENTS);
	if (x->out.count == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 8;
		x->out.items = xrealloc(x->out.items,
		                        x->cap * sizeof *x->out.items);
	}
	x->out.items[x->out.count].display = xstrdup_or_null(addr->display);
	x->out.items[x->out.count].mailbox = xstrdup(addr->mailbox);
	x->out.count++;
	return EX_OK;
}

static int expansion_loop(struct expansion *x, const char *name)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < x->depth; i++)
		buf_printf(&b, "%s -> ", x->chain[i]->name);
	addr_append_sanitized(&b, name);
	err_set(x->e, EX_CONFIG,
	        "aliases: loop or nesting deeper than %d while expanding %s",
	        ALIASES_MAX_DEPTH, buf_str(&b));
	buf_free(&b);
	return EX_CONFIG;
}

/* msmtp's rule: a local name is replaced by its entry, or by the "default"
 * entry when it has none. Unlike msmtp, the default is not applied again
 * to the local names it yields (which would loop): they are kept. */
static int expansion_expand(struct expansion *x, const struct address *addr)
{
	if (!addr_is_local(addr->mailbox))
		return expansion_add(x, addr);
	const struct alias *entry = aliases_find(x->aliases, addr->mailbox);
	bool is_default = false;
	if (!entry && !x->via_default) {
		entry = aliases_find(x->aliases, "default");
		is_default = entry != NULL;
	}
	if (!entry)
		return expansion_add(x, addr);
	for (size_t i = 0; i < x->depth; i++)
		if (x->chain[i] == entry)
			return expansion_loop(x, addr->mailbox);
	if (x->depth == ALIASES_MAX_DEPTH)
		return expansion_loop(x, addr->mailbox);
	bool saved_default = x->via_default;
	x->chain[x->depth++] = entry;
	x->via_default = x->via_default || is_default;
	int rc = EX_OK;
	for (size_t i = 0; rc == EX_OK && i < entry->targets.count; i++)
		rc = expansion_expand(x, &entry->targets.items[i]);
	x->depth--;
	x->via_default = saved_default;
	return rc;
}

int aliases_expand(const struct aliases *aliases, struct addr_list *list,
                   struct err *e)
{
	if (!aliases)
		return EX_OK;
	struct expansion x;
	memset(&x, 0, sizeof x);
	x.aliases = aliases;
	x.e = e;
	int rc = EX_OK;
	for (size_t i = 0; rc == EX_OK && i < list->count; i++)
		rc = expansion_expand(&x, &list->items[i]);
	if (rc != EX_OK) {
		addr_list_free(&x.out);
		return rc;
	}
	addr_list_free(list);
	*list = x.out;
	return EX_OK;
}

void aliases_free(struct aliases *aliases)
{
	if (!aliases)
		return;
	for (size_t i = 0; i < aliases->count; i++) {
		free(aliases->items[i].name);
		addr_list_free(&aliases->items[i].targets);
	}
	free(aliases->items);
	free(aliases);
}
