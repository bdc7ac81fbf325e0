/* queue.h - the durable queue: messages kept on disk until delivered.
 *
 * A queue directory holds, per message ID:
 *   ID.msg    the entry itself, written once: a text header (the format is
 *             in queue_format.h) then the final message bytes exactly as
 *             they go on the wire before dot-stuffing (header edits and
 *             DKIM already applied). It appears by link(2) after fsync(2):
 *             its name appearing is the commit point, so a crash leaves the
 *             whole entry or none. The header records the size and SHA-256
 *             of the message bytes, checked before every delivery, so a
 *             body damaged on disk is never sent.
 *   ID.state  optional, replaced by rename: the mutable delivery state
 *             (attempts, next attempt, last error, dead-letter reason).
 *             Without it the initial state in ID.msg applies; a torn or
 *             unreadable state file is ignored the same way, so losing it
 *             can only make a retry come early, never lose the message.
 *   tmp-*     files being written; removed by the next scan when older
 *             than QUEUE_STALE_SECONDS (a writer killed with -9).
 *   dead/     the same layout for dead letters (given up). Moving an entry
 *             between the two is one rename(2) of ID.msg, atomic.
 *   damaged/  entries that cannot be read (a damaged header or body), set
 *             aside by a flush so they never stop the others: ID.msg and
 *             ID.state as they were, and ID.reason saying what is wrong.
 *             Nothing there is ever deleted by outbox except on request
 *             (--queue-delete).
 * Delivery locks ID.msg with flock(2) (its inode never changes, even when
 * moved), so two flushes never deliver the same message twice, and a
 * message is deleted only after the server accepted it. */
#ifndef OUTBOX_QUEUE_H
#define OUTBOX_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "msg.h"
#include "queue_format.h"

/* The system spool: root's queue, and the maildrop inside it
 * (maildrop.h). Set at build time (make SPOOLDIR=...). */
#ifndef SPOOLDIR
#define SPOOLDIR "/var/spool/outbox"
#endif
#define QUEUE_SYSTEM_DIR SPOOLDIR
/* Where local users who cannot read the system's account leave their
 * messages for root (maildrop.h). */
#define MAILDROP_DIR QUEUE_SYSTEM_DIR "/maildrop"

/* Age after which a leftover temporary file (or an ID.state without its
 * ID.msg) belongs to a dead writer and is removed. */
#define QUEUE_STALE_SECONDS 3600
/* Longest ID.reason read back for listing. */
#define QUEUE_MAX_REASON 4096

/* ---- directories ---------------------------------------------------- */

/* The queue directory of account a (NULL: no account): its queue_dir, else
 * QUEUE_SYSTEM_DIR for root, else $XDG_STATE_HOME/outbox/queue
 * ($XDG_STATE_HOME defaults to ~/.local/state, ~ being the home directory
 * of the run's environment env, runenv.h). Heap string. */
char *queue_default_dir(const struct account *a, struct runenv *env);

struct queue_dir;

/* Open the queue directory path: with create, it and its parents and its
 * dead/ folder are made (mode 0700) when missing; without, a missing
 * directory gives *out = NULL and EX_OK (an empty queue). EX_CONFIG when it
 * (or dead/) is not a directory owned by the user or group/other may write
 * it; EX_IOERR for other failures. */
int queue_dir_open(const char *path, bool create, struct queue_dir **out,
                   struct err *e);
/* The system queue opened for reading by a local user who is not root:
 * *out NULL when it does not exist or cannot be opened (EACCES), EX_CONFIG
 * when it is not root's alone. Its dead/ is scanned only when readable. */
int queue_dir_open_shared(const char *path, struct queue_dir **out,
                          struct err *e);
const char *queue_dir_path(const struct queue_dir *d);
/* fsync the directory (and dead/): makes removals durable. */
int queue_dir_sync(struct queue_dir *d, struct err *e);
void queue_dir_close(struct queue_dir *d);

/* An entry that cannot be read, or one set aside in damaged/. */
struct queue_problem {
	char *id;     /* its ID (only names shaped like IDs are looked at) */
	bool dead;    /* found among the dead letters */
	char *reason; /* one sentence: the file and what is wrong with it */
};
struct queue_problems {
	struct queue_problem *items;
	size_t count;
};
void queue_problems_free(struct queue_problems *p);

/* Every entry of the directory (and of dead/ when with_dead), oldest
 * first. Removes leftovers of killed writers on the way. An entry that
 * cannot be read is skipped and added to problems, never deleted.
 * *entries is an array of count entries: free with queue_entries_free. */
int queue_scan(struct queue_dir *d, bool with_dead,
               struct queue_entry **entries, size_t *count,
               struct queue_problems *problems, struct err *e);
/* The entries set aside in damaged/, each with the reason recorded when it
 * was set aside. A missing damaged/ is an empty list. */
int queue_scan_damaged(struct queue_dir *d, struct queue_problems *out,
                       struct err *e);
void queue_entries_free(struct queue_entry *entries, size_t count);

/* The directories the queue verbs (--flush, --list-queue, --queue-delete,
 * --queue-requeue) work on: with -a ACCOUNT or --queue-dir, that account's
 * one; otherwise the default account's (see queue_default_dir) plus every
 * other queue_dir named in the configuration, without duplicates. */
int queue_select_dirs(const struct conf *conf, const struct options *opts,
                      char ***dirs, size_t *count, struct err *e);
void queue_dirs_free(char **dirs, size_t count);

/* ---- entries -------------------------------------------------------- */

/* Store a message durably in the queue of account a (created if missing):
 * the final bytes of m, the envelope, a's name and the command-line
 * overrides of opts, so the same account can be rebuilt at delivery. With
 * last_error (queue on-failure: one attempt was made) the entry starts
 * with 1 attempt and its next attempt after QUEUE_RETRY_FIRST seconds;
 * otherwise it is due now. Returns when the entry is on stable storage;
 * *id_out (heap) names it. EX_CONFIG for an unsafe directory, EX_IOERR
 * when it cannot be written (nothing is left behind then). */
int queue_submit(const struct account *a, const struct options *opts,
                 const struct envelope *env, const struct message *m,
                 const char *last_error, char **id_out, struct err *e);

/* A fresh entry ID (queue_id_valid): the time, then 64 random bits. */
char *queue_new_id(void);

/* Writes the message bytes of an entry being stored (see queue_store). */
typedef int (*queue_data_fn)(void *ctx, msg_write_fn write, void *write_ctx,
                             struct err *e);
/* Store a new entry in d: entry's id is set here (the caller leaves it
 * NULL), everything else is the caller's; data writes the message. Durable
 * on return, as queue_submit. */
int queue_store(struct queue_dir *d, struct queue_entry *entry,
                queue_data_fn data, void *ctx, struct err *e);

/* An entry locked for changing it (delivery, deletion, requeue). */
struct queue_handle {
	struct queue_dir *dir;
	int fd;                   /* ID.msg, flock'ed LOCK_EX */
	struct queue_entry entry; /* as read after locking */
};

enum queue_acquire_result { QUEUE_ACQUIRED, QUEUE_BUSY, QUEUE_GONE };
/* Lock entry id (in dead/ when dead) without waiting, then read it again.
 * *result: QUEUE_ACQUIRED (h is filled), QUEUE_BUSY (another process holds
 * it: a delivery in progress), QUEUE_GONE (not, or no longer, there).
 * EX_OK in all three cases; an error when it cannot be read. */
int queue_acquire(struct queue_dir *d, const char *id, bool dead,
                  struct queue_handle *h, enum queue_acquire_result *result,
                  struct err *e);
/* Read the locked entry's message (for smtp_send_mail), after checking
 * that its bytes have the size and SHA-256 the header records: EX_DATAERR
 * "... damaged ..." when not (set it aside), EX_IOERR when it cannot be
 * read. */
int queue_handle_message(struct queue_handle *h, struct message **m,
                         struct err *e);
/* The message's header block (up to its empty line, CRLF lines), at most
 * MSG_MAX_HEADER_BLOCK bytes: for bounce notices. */
int queue_handle_message_header(struct queue_handle *h, struct buf *out,
                                struct err *e);
/* Write h->entry.state to ID.state (replaced atomically). */
int queue_handle_save_state(struct queue_handle *h, struct err *e);
/* Move the entry to dead/ with reason (durable). */
int queue_handle_kill(struct queue_handle *h, const char *reason,
                      struct err *e);
/* Move a dead letter back to the queue: attempts reset, due now, max age
 * counted from now (durable). */
int queue_handle_revive(struct queue_handle *h, struct err *e);
/* Delete the entry (after delivery, or --queue-delete). The directory is
 * not synced here: queue_dir_sync once after a batch. */
int queue_handle_remove(struct queue_handle *h, struct err *e);
/* Move the entry (ID.msg, and ID.state when there is one) into damaged/
 * with reason written to ID.reason (durable). Never replaces anything
 * there: EX_IOERR when damaged/ already has an entry of that ID. */
int queue_handle_set_aside(struct queue_handle *h, const char *reason,
                           struct err *e);
/* The same for an entry that cannot be read (a queue_scan problem): it is
 * locked first, so an entry being delivered is left alone (*moved false,
 * EX_OK), as is one that is gone or turned out readable after all. */
int queue_set_aside(struct queue_dir *d, const struct queue_problem *p,
                    bool *moved, struct err *e);
/* Unlock and free (after remove or kill too). */
void queue_handle_release(struct queue_handle *h);

/* ---- the queue verbs -------------------------------------------------- */

/* --list-queue: every entry of dir, one paragraph each (id, size, age,
 * sender, recipients, attempts, state: queued / deferred until TIME /
 * dead letter: reason), then one line per unreadable entry and per entry
 * set aside in damaged/, then a summary line; "queue DIR is empty" when
 * there is nothing. */
int queue_list(const char *dir, struct buf *out, struct err *e);
/* --list-queue of a local user who is not root: the entries of the system
 * queue that user put in the maildrop (and only those), read through the
 * spool group (privilege.h: the caller raises it), then a summary line.
 * Nothing when there is no system queue. */
int queue_list_submitted(uint32_t uid, struct buf *out, struct err *e);
/* --queue-delete=ID: delete one entry, queued, dead or set aside in
 * damaged/ (all its files). EX_USAGE for a
 * malformed ID, EX_NOINPUT when no directory has it, EX_TEMPFAIL when it is
 * being delivered right now. */
int queue_delete(const char *dir, const char *id, bool *found,
                 struct buf *out, struct err *e);
/* --queue-requeue=ID|all: put dead letters back in the queue. */
int queue_requeue(const char *dir, const char *id_or_all, size_t *moved,
                  struct buf *out, struct err *e);

/* Mode dispatch for --list-queue, --queue-delete and --queue-requeue over
 * queue_select_dirs(): what to print goes to out. */
int queue_run_mode(const struct conf *conf, const struct options *opts,
                   struct buf *out, struct err *e);

/* Retry schedule: QUEUE_RETRY_FIRST seconds after the first failed attempt,
 * doubling up to QUEUE_RETRY_MAX. */
#define QUEUE_RETRY_FIRST 60
#define QUEUE_RETRY_MAX 3600
/* Seconds to wait after the given number of failed attempts (>= 1). */
long queue_retry_delay(unsigned attempts);

#endif
