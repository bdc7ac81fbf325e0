/* conf_files.h - which configuration files are read, and reading them.
 *
 * outbox's own files win over msmtp's at each level (msmtp refuses
 * directives it does not know, so outbox's additions live in outbox's
 * file while msmtp keeps working):
 *   system level: SYSCONFDIR/outboxrc, else SYSCONFDIR/msmtprc
 *     (the run's sysconfdir, runenv.h: $OUTBOX_SYSCONFDIR when set);
 *   user level:   $XDG_CONFIG_HOME/outbox/config, ~/.outboxrc, else
 *     ~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config.
 * A file that holds a password must not be readable by group or others
 * (DESIGN.md security invariant 7), for every user including root. */
#ifndef OUTBOX_CONF_FILES_H
#define OUTBOX_CONF_FILES_H

#include "conf_parse.h"
#include "err.h"

/* Read and parse one file. Refuses (EX_CONFIG) a file that holds a password
 * and can be read by group or others, for every user including root. */
int conf_load_file(struct conf *conf, const char *path, struct err *e);

/* Load the configuration outbox would use: `explicit_file` (-C) when not
 * NULL; else the system level then the user level, where at each level
 * outbox's own file wins over msmtp's when it exists. The directories come
 * from conf->env (runenv.h: its sysconfdir and home), which the caller
 * sets first; EX_SOFTWARE without it. A missing file is not an error
 * (except an explicit one). */
int conf_load_default(struct conf *conf, const char *explicit_file,
                      struct err *e);

#endif
