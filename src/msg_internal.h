/* msg_internal.h - what the message's own files (msg_*.c) share and
 * nobody else may use: the layout of struct message and the primitives on
 * its list of header fields, which live in msg_header.c. */
#ifndef OUTBOX_MSG_INTERNAL_H
#define OUTBOX_MSG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "msg_normalize.h"
#include "msg_spool.h"

struct msg_field {
	char *name;
	struct buf raw; /* after the colon, with folding CRLFs, no final CRLF */
	char *unfolded;  /* raw without folding, trimmed; NULL until needed */
};

struct message {
	struct msg_field *fields;
	size_t count;
	size_t cap;
	struct msg_normalizer norm;
	struct buf pending;       /* body bytes read with the header */
	bool eof;                 /* the end of input was seen */
	bool body_read;
	uint64_t body_first_line; /* input line where the body starts */
	struct msg_spool body;
};

/* RFC 5322 WSP. */
static inline bool msg_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* An empty message: no fields, an empty body in memory, the input at its
 * first line. Free it with msg_free. */
struct message *message_new(void);
/* A new field at index at (0 = the top) named name[0..name_len), with an
 * empty value and no unfolded form yet: the caller fills f->raw, then
 * calls msg_field_unfold. */
struct msg_field *message_insert_field(struct message *m, size_t at,
                                       const char *name, size_t name_len);
/* Add a field built here (value known to be safe: CRLF only as folding)
 * at index at, unfolded. */
void message_add_field(struct message *m, size_t at, const char *name,
                       const char *raw);
/* Drop field i. */
void message_remove_field(struct message *m, size_t i);
/* The index of the first field called name (case-insensitive), or -1. */
ssize_t message_find(const struct message *m, const char *name);
/* Give the first field called name the value raw (adding it at the end
 * when missing) and drop any later field of that name. */
void message_set_field(struct message *m, const char *name, const char *raw);
/* Recompute f->unfolded from f->raw (after a change to raw). */
void msg_field_unfold(struct msg_field *f);
/* Whether name is one of the NULL-terminated names (case-insensitive). */
bool msg_field_name_is_any(const char *name, const char *const *names);

#endif
