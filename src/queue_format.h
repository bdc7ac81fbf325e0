/* queue_format.h - the text format of queue entries and state files (pure).
 *
 * The header of ID.msg is "key: value" lines after a version line, ended by
 * an empty line:
 *   outbox-queue 1
 *   id: 20251124T184033Z-9f3ac1d2e4b5a6c7
 *   created: 1763923233.123456789   (seconds.nanoseconds since the epoch)
 *   account: work                   (absent: the command-line account)
 *   setting: host=smtp.example.org  (command-line overrides, in order)
 *   submitter: 33 www-data          (only for a message a local user put
 *                                    in the maildrop: the uid the kernel
 *                                    gave its file, and that user's login)
 *   from: me@example.org            (empty: the null reverse-path)
 *   rcpt: you@example.net           (one per recipient, at least one)
 *   envid: QQ314159                 (RFC 3461 ENVID from outbox -bs)
 *   orcpt: rfc822;you+40example.net you@example.net
 *                                   (a recipient's ORCPT, then its
 *                                    mailbox; from outbox -bs)
 *   size: 1234
 *   body-sha256: 64 hex digits      (of the message bytes; absent in
 *                                    entries of outbox 0.1.0)
 *   queued: 1763923233              (state fields: the initial state)
 *   attempts: 1
 *   next-attempt: 1763923293
 *   last-error: ...
 * ID.state has the version line "outbox-queue-state 1" and only the state
 * fields (queued attempts next-attempt last-error dead-since dead-reason,
 * "delivered: ADDRESS" for each recipient that already has the
 * message: a later attempt sends only to the others; and "refused:
 * ADDRESS" for each recipient refused for good while others were only
 * deferred, as direct delivery's domains answer one by one: a later
 * attempt skips them too, and the bounce notice names them).
 * Values escape every byte below 0x20, DEL and '\' as "\xHH".
 *
 * The parsers are total: any byte sequence gives either a complete entry
 * or EX_DATAERR with "line N: what is wrong", and the output is always safe
 * to free. They never touch the file system. */
#ifndef OUTBOX_QUEUE_FORMAT_H
#define OUTBOX_QUEUE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "cli.h"
#include "err.h"

/* Largest header of an ID.msg (recipients and settings) or ID.state. */
#define QUEUE_MAX_HEADER (4 * 1024 * 1024)
/* "20251124T184033Z-" + 16 hex digits. */
#define QUEUE_ID_LEN 33
/* Attempts counted before the counter stops growing (it only sets the
 * back-off, which is capped long before). */
#define QUEUE_MAX_ATTEMPTS 1000000
/* A SHA-256 digest in lower-case hex. */
#define QUEUE_DIGEST_HEX_LEN 64

/* The mutable part of an entry. */
struct queue_state {
	int64_t queued;       /* entered the queue (submission or requeue):
	                       * queue_max_age counts from here */
	unsigned attempts;    /* delivery attempts so far */
	int64_t next_attempt; /* not retried before this time */
	char *last_error;     /* NULL: none */
	int64_t dead_since;   /* 0 unless a dead letter */
	char *dead_reason;    /* why it was given up; NULL unless dead */
	struct addr_list delivered; /* recipients that have the message */
	struct addr_list refused;   /* recipients refused for good */
};

struct queue_entry {
	char *id;
	int64_t created; /* seconds since the epoch */
	long created_nsec;
	char *account;   /* NULL: the command-line account (no config) */
	struct cli_setting *settings; /* command-line overrides to rebuild the
	                               * same account at delivery time */
	size_t setting_count;
	bool has_submitter;     /* picked up from the maildrop (maildrop.h) */
	uint32_t submitter_uid; /* the maildrop file's owner */
	char *submitter;        /* that user's login, for logs and listing */
	char *from;      /* "" for the null reverse-path */
	struct addr_list rcpt;
	char *dsn_envid;            /* NULL or ENVID */
	struct addr_list dsn_orcpt; /* ORCPT (display) by mailbox */
	uint64_t size;   /* message bytes */
	/* SHA-256 of the message bytes in hex, "" when the entry predates
	 * the field (then only the size guards the body). */
	char body_sha256[QUEUE_DIGEST_HEX_LEN + 1];
	struct queue_state state;
	/* Not stored: filled when read from disk. */
	uint64_t data_offset; /* where the message starts in ID.msg */
	bool dead;            /* read from dead/ */
	bool state_ignored;   /* ID.state was unreadable; initial state used */
};

/* Parse the header of an ID.msg: text is everything before the empty line
 * that ends it (so it ends with '\n'). Fills out, which is always left safe
 * for queue_entry_free (on failure it holds nothing). EX_DATAERR with
 * "line N: ..." on anything malformed: a wrong version line, an unknown,
 * duplicated or missing field, a bad number, a bad escape. */
int queue_parse_header(const char *text, size_t len, struct queue_entry *out,
                       struct err *e);
/* Parse an ID.state file over st (fields it has replace st's; st is left
 * unchanged on failure). */
int queue_parse_state(const char *text, size_t len, struct queue_state *st,
                      struct err *e);
/* The header of ID.msg for entry, ending with the empty line. An entry
 * without body_sha256 gets a placeholder of zeros, and *digest_offset
 * (when not NULL) says where in out the digest's 64 characters start, so
 * the writer can fill it in once the body is written. */
void queue_format_header(const struct queue_entry *entry, struct buf *out,
                         size_t *digest_offset);
/* The whole ID.state file for st. */
void queue_format_state(const struct queue_state *st, struct buf *out);
/* Does st record that mailbox was refused for good? */
bool queue_state_refused(const struct queue_state *st, const char *mailbox);

/* Does st record that mailbox already has the message? */
bool queue_state_delivered_to(const struct queue_state *st,
                              const char *mailbox);
/* The escaping of values in these files (and in maildrop entries): every
 * byte below 0x20, DEL and the backslash as "\xHH". queue_unescape_value returns
 * NULL (and a heap *out) or the problem; it refuses "\x00". */
void queue_escape_value(struct buf *out, const char *s);
const char *queue_unescape_value(const char *s, size_t len, char **out);
/* True for a well-formed ID (nothing else can be a path element). */
bool queue_id_valid(const char *id);

void queue_state_free(struct queue_state *st);
void queue_entry_free(struct queue_entry *entry);

#endif
