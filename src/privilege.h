/* privilege.h - the one privilege outbox may hold: the spool group.
 *
 * Installed system-wide, outbox is setgid to a group (`outbox`) that has
 * no members and owns nothing but the spool: it lets any local user hand a
 * message to the maildrop and list their own messages there and in the
 * system queue (maildrop.h), without ever reading the system's secrets.
 *
 * The group is dropped before anything else happens (privilege_init, the
 * first call in main) and taken back only around the few system calls
 * that need it (privilege_raise / privilege_lower): reading the
 * configuration, the message, the network and every error path run with
 * the caller's own identity. Root has no use for it and drops it for
 * good. Without setgid, all of this does nothing. */
#ifndef OUTBOX_PRIVILEGE_H
#define OUTBOX_PRIVILEGE_H

#include <stdbool.h>

#include "err.h"

/* Drop the spool group (kept as the saved set-group-ID, or dropped for
 * good when the caller is root). EX_OSERR when the kernel refuses: the
 * program must then stop at once. */
int privilege_init(struct err *e);

/* Whether the spool group is held (started setgid and not root). */
bool privilege_available(void);

/* Take the spool group back as the effective group (a no-op without it);
 * EX_OSERR on failure. Pair every success with privilege_lower. */
int privilege_raise(struct err *e);

/* Give it up again. Aborts the program if the kernel refuses: running on
 * with the group by mistake is worse than stopping. */
void privilege_lower(void);

#endif
