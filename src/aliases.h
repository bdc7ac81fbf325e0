/* aliases.h - the aliases file: local recipient names mapped to addresses.
 *
 * The format is msmtp's (mail.rc style): one "name: address, address" per
 * line, '#' starts a comment outside a quoted string, blank lines are
 * ignored, and a "default:" entry catches local names that have none.
 * aliases_parse is pure, so it is unit-tested table-driven and fuzzed;
 * aliases_load is its file-reading edge. */
#ifndef OUTBOX_ALIASES_H
#define OUTBOX_ALIASES_H

#include <stddef.h>

#include "addr.h"
#include "err.h"

struct aliases;

/* Parse aliases text (len bytes, not necessarily NUL-terminated). Pure.
 * Sets *out (heap, release with aliases_free) on success, NULL on failure:
 * EX_CONFIG "FILENAME:LINE: why" for a line that is not "name: addresses",
 * an alias name holding '@', white space or a control byte, a duplicate
 * name (case-insensitive), an address list that does not parse or is
 * empty; EX_CONFIG "FILENAME: contains a NUL byte". filename only names
 * the text in messages (NULL: "aliases"). */
int aliases_parse(const char *text, size_t len, const char *filename,
                  struct aliases **out, struct err *e);

/* Read the file at path (~ already expanded by the caller) and parse it.
 * EX_CONFIG naming path when it cannot be opened or is larger than 16 MiB,
 * EX_IOERR when reading fails, or what aliases_parse says. */
int aliases_load(const char *path, struct aliases **out, struct err *e);

/* Replace every recipient without '@' by its aliases (recursively, with loop
 * protection); a local name with no alias and no default is kept. Names
 * match case-insensitively; the "default" entry is not applied again to the
 * local names it yields. A loop, a chain deeper than 16 or more than 10000
 * results is EX_CONFIG, and the list is then left unchanged. NULL aliases:
 * nothing to do. */
int aliases_expand(const struct aliases *aliases, struct addr_list *list,
                   struct err *e);

/* Release the table; NULL is fine. */
void aliases_free(struct aliases *aliases);

#endif
