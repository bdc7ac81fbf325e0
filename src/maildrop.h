/* maildrop.h - how a local user who cannot read the system's account
 * still sends mail: the message goes into the maildrop, and root's next
 * flush picks it up (pickup.h), without the user ever seeing a secret.
 *
 * Why this is safe (the design in one place):
 * - The maildrop is SPOOLDIR/maildrop, root:outbox mode 1770. The group
 *   `outbox` has no members; only the setgid outbox binary holds it, and
 *   only around the system calls below (privilege.h). So files get there
 *   through outbox alone, and the sticky bit keeps everyone but root from
 *   removing or renaming a file they do not own.
 * - An entry is created by its submitter, so the kernel records the
 *   submitter as its owner; its mode is 0600, so only that user and root
 *   can read it. Root's pickup takes the submitter from the file's owner,
 *   never from anything the submitter wrote.
 * - An entry is complete or absent: it is written into a file without a
 *   name (O_TMPFILE; or a ".tmp-" name that the path unit's glob and the
 *   pickup ignore), synced, and given its name by link(2) only then; the
 *   directory is synced after.
 * - Nothing in an entry can change the account: it carries only what the
 *   sendmail options say about the message (maildrop_format.h), and the
 *   pickup treats every byte and every file as hostile input.
 * - Listing (mailq) shows a user the entries they own and the system
 *   queue's entries recorded as theirs, nothing of anyone else's. For
 *   that the group may read the system queue's entries that came from
 *   the maildrop (0640 root:outbox; root's own stay 0600): only this
 *   binary holds the group, only inside maildrop_list_own, and it prints
 *   an entry only to the uid that submitted it. The group can write
 *   nothing but the maildrop. */
#ifndef OUTBOX_MAILDROP_H
#define OUTBOX_MAILDROP_H

#include <stdbool.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "queue.h"

/* Where the pickup sets aside what it cannot send, with NAME.reason. */
#define MAILDROP_DAMAGED_DIR QUEUE_SYSTEM_DIR "/maildrop-damaged"
/* Leftover temporary files of killed submitters carry this prefix. */
#define MAILDROP_TMP_PREFIX ".tmp-"

/* Should this run hand its message to the maildrop? Yes when the caller
 * is not root, gave neither --host nor -C, and the configuration that was
 * readable does not have the account -a asks for (without -a: has no
 * account at all), while a system configuration exists that the caller
 * cannot read. */
bool maildrop_wanted(const struct options *opts, const struct conf *conf);

/* Does the maildrop exist (so a message handed to it will be sent)? */
bool maildrop_exists(void);

/* Write the message on in_fd (read to its end), with what opts says
 * about it, as a new maildrop entry. Returns when the entry is on stable storage; *name_out
 * (heap) names it. EX_USAGE for an option that cannot be carried (one
 * that would change the account), EX_DATAERR for an empty message or one
 * over MAILDROP_MAX_SIZE (nothing is written then), EX_CONFIG when the
 * maildrop is missing or not safe, EX_IOERR / EX_TEMPFAIL when it cannot
 * be written. */
int maildrop_submit(const struct options *opts, int in_fd, char **name_out,
                    struct err *e);

/* The first bytes of an entry (up to MAILDROP_MAX_HEADER + 1), enough
 * for maildrop_parse, into out. 0, or -1 with errno set by read(2). */
int maildrop_read_head(int fd, struct buf *out);

/* mailq for a local user who is not root: the caller's entries still in
 * the maildrop, then those of the system queue (queue_list_submitted).
 * Needs the spool group (taken and given back here); without a maildrop
 * there is nothing to say. */
int maildrop_list_own(struct buf *out, struct err *e);

#endif
