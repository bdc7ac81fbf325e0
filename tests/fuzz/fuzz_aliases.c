/* fuzz_aliases.c - libFuzzer target for the aliases file: aliases_parse
 * and the expansion of local recipients (aliases_expand).
 *
 * The input is an aliases file. When it parses, a few recipients are
 * expanded: cron's root, postmaster, a name no file defines, a mailbox
 * with a domain, and the first alias the file defines (so expansion goes
 * deep); each alone, all together, and upper-cased.
 *
 * Invariants checked (abort() on violation):
 *  - parsing succeeds with a table or fails with EX_CONFIG, no table, and
 *    a message naming the file ("fuzz.aliases:"), and when it names a line,
 *    one the file has;
 *  - a successful expansion yields at most 10000 recipients, none holding
 *    CR, LF or NUL, and no local name the file defines (it would have been
 *    replaced); expanding the whole list gives the expansions of its
 *    recipients one after another, and fails only when one of them does
 *    or the total is too large; names match case-insensitively;
 *  - a failed expansion is EX_CONFIG and leaves the list as it was;
 *  - no message holds a control byte. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "err.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILENAME "fuzz.aliases"
#define MAX_RESULTS 10000 /* aliases.h: more results is an error */

static void check_message(const struct err *e)
{
	for (const char *s = err_msg(e); *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

/* The names the file defines, as aliases.h describes its lines: content
 * up to a '#' outside a quoted string, the name before the first ':',
 * blanks trimmed. Only used on text that parsed. */
static size_t defined_names(const char *text, size_t len, struct buf *names)
{
	size_t count = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		bool quoted = false;
		for (size_t i = 0; i < n; i++) {
			if (quoted && line[i] == '\\' && i + 1 < n)
				i++;
			else if (line[i] == '"')
				quoted = !quoted;
			else if (!quoted && line[i] == '#')
				n = i;
		}
		const char *colon = memchr(line, ':', n);
		if (!colon)
			continue; /* a blank or comment line */
		size_t start = 0, end = (size_t)(colon - line);
		while (start < end && strchr(" \t\r", line[start]))
			start++;
		while (end > start && strchr(" \t\r", line[end - 1]))
			end--;
		buf_add(names, line + start, end - start);
		buf_add_char(names, '\0');
		count++;
	}
	return count;
}

static bool is_defined(const struct buf *names, const char *mailbox)
{
	for (size_t off = 0; off < names->len;) {
		const char *name = names->data + off;
		if (ascii_casecmp(name, mailbox) == 0)
			return true;
		off += strlen(name) + 1;
	}
	return false;
}

static bool lists_equal(const struct addr_list *a, const struct addr_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->items[i].mailbox, b->items[i].mailbox) != 0)
			return false;
	return true;
}

static void copy_list(struct addr_list *to, const struct addr_list *from)
{
	for (size_t i = 0; i < from->count; i++)
		addr_list_add(to, from->items[i].display,
		              from->items[i].mailbox);
}

/* Expand list; check what came out. Returns the code. */
static int expand(const struct aliases *aliases, const struct buf *names,
                  struct addr_list *list)
{
	struct addr_list before = {NULL, 0};
	struct err e = ERR_INIT;
	copy_list(&before, list);
	int rc = aliases_expand(aliases, list, &e);
	if (rc == EX_OK) {
		if (list->count > MAX_RESULTS)
			abort();
		for (size_t i = 0; i < list->count; i++) {
			const char *mailbox = list->items[i].mailbox;
			if (strpbrk(mailbox, "\r\n") ||
			    (addr_is_local(mailbox) &&
			     is_defined(names, mailbox)))
				abort();
		}
	} else if (rc != EX_CONFIG || !e.msg || !lists_equal(list, &before)) {
		abort();
	}
	check_message(&e);
	err_clear(&e);
	addr_list_free(&before);
	return rc;
}

static void check_expansions(const struct aliases *aliases,
                             const struct buf *names)
{
	const char *recipients[] = {
		"root", "postmaster", "nobody-defines-this", "x@example.org",
		names->len ? names->data : "default",
	};
	size_t n = sizeof recipients / sizeof recipients[0];
	struct addr_list all = {NULL, 0}, joined = {NULL, 0};
	bool each_ok = true;
	for (size_t i = 0; i < n; i++) {
		struct addr_list one = {NULL, 0}, upper = {NULL, 0};
		addr_list_add(&one, NULL, recipients[i]);
		addr_list_add(&all, NULL, recipients[i]);
		char *shout = xstrdup(recipients[i]);
		for (char *p = shout; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		addr_list_add(&upper, NULL, shout);
		int rc = expand(aliases, names, &one);
		if (rc == EX_OK)
			copy_list(&joined, &one);
		each_ok = each_ok && rc == EX_OK;
		/* Local names match case-insensitively: the same result,
		 * unless the name is kept as it was written. */
		if (addr_is_local(recipients[i])) {
			int upper_rc = expand(aliases, names, &upper);
			bool both_kept =
			        one.count == 1 && upper.count == 1 &&
			        !strcmp(one.items[0].mailbox, recipients[i]) &&
			        !strcmp(upper.items[0].mailbox, shout);
			if (upper_rc != rc || (rc == EX_OK && !both_kept &&
			                       !lists_equal(&one, &upper)))
				abort();
		}
		free(shout);
		addr_list_free(&one);
		addr_list_free(&upper);
	}
	/* The whole list expands to its recipients' expansions in order,
	 * and fails only on what failed alone or on the total limit. */
	int rc = expand(aliases, names, &all);
	if ((rc == EX_OK && (!each_ok || !lists_equal(&all, &joined))) ||
	    (rc != EX_OK && each_ok && joined.count <= MAX_RESULTS))
		abort();
	addr_list_free(&all);
	addr_list_free(&joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct aliases *aliases = (struct aliases *)&size; /* must be reset */
	struct err e = ERR_INIT;
	int rc = aliases_parse(text, size, FILENAME, &aliases, &e);
	if (rc == EX_OK) {
		if (!aliases)
			abort();
		struct buf names = BUF_INIT;
		defined_names(text, size, &names);
		check_expansions(aliases, &names);
		buf_free(&names);
		aliases_free(aliases);
	} else {
		const char *msg = err_msg(&e);
		size_t prefix = strlen(FILENAME ":");
		if (rc != EX_CONFIG || aliases ||
		    strncmp(msg, FILENAME ":", prefix) != 0)
			abort();
		if (msg[prefix] >= '0' && msg[prefix] <= '9') {
			/* FILE:LINE: a line the file has */
			unsigned long line = strtoul(msg + prefix, NULL, 10);
			size_t lines = 1;
			for (size_t i = 0; i + 1 < size; i++)
				lines += text[i] == '\n';
			if (line < 1 || line > lines)
				abort();
		}
		check_message(&e);
	}
	err_clear(&e);
	return 0;
}
