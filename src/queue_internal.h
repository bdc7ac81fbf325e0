/* queue_internal.h - what the queue's own files (queue_dir.c, queue.c,
 * queue_verbs.c) share and nobody else may use: the open directory and the
 * primitives for reading and naming entries. */
#ifndef OUTBOX_QUEUE_INTERNAL_H
#define OUTBOX_QUEUE_INTERNAL_H

#include "queue.h"

#define QUEUE_DEAD "dead"
#define QUEUE_DAMAGED "damaged"
#define QUEUE_TMP_PREFIX "tmp-"

struct queue_dir {
	char *path;
	char *dead_path;
	char *damaged_path;
	int fd;
	int dead_fd;
	int damaged_fd; /* -1 until damaged/ is needed (created lazily) */
};

/* "ID" + suffix, heap. */
char *queue_entry_name(const char *id, const char *suffix);
/* EX_IOERR "cannot WHAT DIR/NAME: strerror(errno)". */
int queue_io_error(struct err *e, const char *what, const char *dir,
                   const char *name);
/* fsync fd (a file or a directory), EX_IOERR naming path. */
int queue_sync_fd(int fd, const char *path, struct err *e);
/* The descriptor and path of the queue (false) or dead-letter side. */
int queue_side_fd(const struct queue_dir *d, bool dead);
const char *queue_side_path(const struct queue_dir *d, bool dead);
/* Open damaged/ (creating it, mode 0700, when create) into d->damaged_fd.
 * A missing damaged/ without create leaves it -1 and returns EX_OK. */
int queue_open_damaged(struct queue_dir *d, bool create, struct err *e);

/* Read entry id from fd (its ID.msg, any offset) and dirfd/ID.state into
 * en, which is always left safe to free (empty on failure). EX_DATAERR
 * "unreadable queue entry DIR/ID.msg: ..." when the file is not a whole,
 * well-formed entry header; EX_IOERR when it cannot be read. */
int queue_read_entry(int dirfd, const char *dir_path, const char *id, int fd,
                     bool dead, struct queue_entry *en, struct err *e);
/* Read a whole small file (ID.state, ID.reason) at dirfd/name into out, at
 * most max bytes (EX_DATAERR beyond). ENOENT -> *missing, EX_OK. */
int queue_read_small_file(int dirfd, const char *name, size_t max,
                          struct buf *out, bool *missing, struct err *e);

#endif
