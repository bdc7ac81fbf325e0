/* addr.h - RFC 5322 address lists, envelope addresses, aliases, IDN.
 *
 * Parsers here are pure: (text, length) in, structures out, no I/O (except
 * aliases_load, which reads its file), so they are unit-tested table-driven
 * and fuzzed. */
#ifndef OUTBOX_ADDR_H
#define OUTBOX_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* RFC 5321 4.5.3.1: limits on path elements. */
#define ADDR_MAX_LOCAL_PART 64
#define ADDR_MAX_DOMAIN 255
#define ADDR_MAX_PATH 256

struct address {
	char *display; /* decoded display name or NULL */
	char *mailbox; /* "local@domain" or "local", in the form SMTP needs:
	                  a local part that is not a dot-atom stays quoted */
};

struct addr_list {
	struct address *items;
	size_t count;
};

/* Parse an RFC 5322 address-list (a header's unfolded value): display names,
 * comments, quoted local parts, angle addresses, groups ("undisclosed:;"
 * yields nothing), obsolete route syntax. Empty entries are skipped. Appends
 * to out. Returns EX_DATAERR naming the offending text on a syntax error. */
int addr_parse_list(const char *text, size_t len, struct addr_list *out,
                    struct err *e);

/* Parse one envelope address as given on the command line (-f, recipients):
 * either a bare mailbox or "Name <mailbox>". Stores the mailbox in *mailbox
 * (heap). EX_USAGE-free: returns EX_DATAERR on bad syntax. */
int addr_parse_mailbox(const char *text, char **mailbox, struct err *e);

/* Check that a mailbox may be placed inside an SMTP command: no CR, LF, NUL,
 * other control bytes, '<' or '>' outside quotes, length limits of RFC 5321.
 * The empty string (null reverse-path) is allowed only when allow_empty.
 * Returns EX_DATAERR with a message naming the address (sanitized); a
 * caller checking a command-line argument may turn the code into EX_USAGE.
 * The path (256) and domain (255) limits are enforced; the local-part limit
 * (64) deliberately is not (see addr.c). */
int addr_check_smtp_safe(const char *mailbox, bool allow_empty,
                         struct err *e);

/* True when the mailbox needs SMTPUTF8 (non-ASCII local part, or a domain
 * that cannot be converted to an A-label). */
bool addr_needs_smtputf8(const char *mailbox);

/* Convert the domain of a mailbox to its IDNA A-label form (libidn2),
 * leaving the local part untouched. *out is heap. EX_DATAERR on failure. */
int addr_domain_to_ascii(const char *mailbox, char **out, struct err *e);

void addr_list_add(struct addr_list *list, const char *display,
                   const char *mailbox);
void addr_list_free(struct addr_list *list);

/* The aliases file (msmtp / mail.rc style "name: addr, addr", '#' comments,
 * "default:" fallback). */
struct aliases;
/* Parse aliases text; pure. EX_CONFIG naming file and line on errors. */
int aliases_parse(const char *text, size_t len, const char *filename,
                  struct aliases **out, struct err *e);
/* Read and parse the file (~ already expanded by the caller). */
int aliases_load(const char *path, struct aliases **out, struct err *e);
/* Replace every recipient without '@' by its aliases (recursively, with loop
 * protection); a local name with no alias and no default is kept. Names
 * match case-insensitively; the "default" entry is not applied again to the
 * local names it yields. A loop, a chain deeper than 16 or more than 10000
 * results is EX_CONFIG, and the list is then left unchanged. */
int aliases_expand(const struct aliases *aliases, struct addr_list *list,
                   struct err *e);
void aliases_free(struct aliases *aliases);

#endif
