/* addr.h - RFC 5322 address lists, envelope addresses, IDN.
 *
 * Parsers here are pure: (text, length) in, structures out, no I/O, so they
 * are unit-tested table-driven and fuzzed. The aliases file that maps local
 * names to these addresses is aliases.h. */
#ifndef OUTBOX_ADDR_H
#define OUTBOX_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
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

/* True when the mailbox is a local name: no '@' outside a quoted local
 * part (the recipients an aliases file applies to). */
bool addr_is_local(const char *mailbox);

/* Append mailbox to out for an error message: control bytes as '?', at most
 * 80 bytes cut on a UTF-8 character boundary and marked "...", so nothing
 * read from a message can play tricks on a terminal or a log. */
void addr_append_sanitized(struct buf *out, const char *mailbox);

void addr_list_add(struct addr_list *list, const char *display,
                   const char *mailbox);
void addr_list_free(struct addr_list *list);

#endif
