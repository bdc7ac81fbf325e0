/* conf_files.h - which configuration files are read, and reading them.
 *
 * outbox's own files win over msmtp's at each level (msmtp refuses
 * directives it does not know, so outbox's additions live in outbox's
 * file while msmtp keeps working):
 *   system level: SYSCONFDIR/outboxrc, else SYSCONFDIR/msmtprc
 *     (the run's sysconfdir, runenv.h: $OUTBOX_SYSCONFDIR when set);
 *   user level:   $XDG_CONFIG_HOME/outbox/config, ~/.outboxrc, else
 *     ~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config, in the user's home
 *     (runenv_user_home: not a HOME that belongs to another user).
 * A file that holds a password must not be readable by others, nor by a
 * group through which anyone but its owner could read it (DESIGN.md
 * security invariant 7), for every user including root. */
#ifndef OUTBOX_CONF_FILES_H
#define OUTBOX_CONF_FILES_H

#include <stddef.h>

#include "buf.h"
#include "conf_parse.h"
#include "err.h"

/* Read and parse one file. Refuses (EX_CONFIG, naming the file and what to
 * do; never the secret) a file that holds a password when others have any
 * permission on it, when its group may write or execute it, or when it is
 * group-readable and its group lets anyone but the file's owner read it
 * (a member in the group database, or a user whose primary group it is),
 * for every user including root. */
int conf_load_file(struct conf *conf, const char *path, struct err *e);

/* Load the configuration outbox would use: `explicit_file` (-C) when not
 * NULL, which must be readable (any error, EACCES too, is EX_CONFIG naming
 * it); else the system level then the user level, where at each level
 * outbox's own file wins over msmtp's when it exists. The directories come
 * from conf->env (runenv.h: its sysconfdir and runenv_user_home), which
 * the caller sets first; EX_SOFTWARE without it. A missing file is not an
 * error. A system file that exists but cannot be read (EACCES) is skipped
 * silently and its path put in conf->unreadable_system_file. A user-level
 * candidate that cannot be examined or read (EACCES) is skipped with one
 * line "ignoring PATH: ...\n" appended to warnings (NULL: dropped; one
 * line per unsearchable directory, not per file under it) and the next
 * candidate is tried. Any other error of an existing file (a directory, a
 * syntax error, the permission rule) is EX_CONFIG. */
int conf_load_default(struct conf *conf, const char *explicit_file,
                      struct buf *warnings, struct err *e);

/* Pure, the decision behind the group rule of conf_load_file: readers are
 * the names that can read a file through its group (the group's members,
 * and the users whose primary group it is, in any order, repeats
 * allowed); owner is the login name of the file's owner (NULL: it has
 * none). Sorts readers in place, drops repeats and owner, and returns how
 * many are left: readers[0 .. result) are the others who could read the
 * file, in strcmp order. 0: the group gives nobody but the owner. */
size_t conf_group_other_readers(const char **readers, size_t count,
                                const char *owner);

#endif
