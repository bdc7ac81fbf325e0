/* cache_dir.h - where outbox keeps what it learnt about servers between
 * runs (TLS session tickets, MTA-STS policies): per user, never shared. */
#ifndef OUTBOX_CACHE_DIR_H
#define OUTBOX_CACHE_DIR_H

struct runenv;

/* For root: SPOOLDIR/system_subdir, but only when the spool exists (its
 * owner and modes are the package's: it is never created here); for
 * anyone else: $XDG_CACHE_HOME/user_subdir ($XDG_CACHE_HOME defaulting to
 * ~/.cache of env, runenv.h). Heap; NULL when there is none (no spool for
 * root, no absolute cache home): the caller then keeps nothing. */
char *cache_dir_path(struct runenv *env, const char *system_subdir,
                     const char *user_subdir);

#endif
