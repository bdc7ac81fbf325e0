/* oauth_store.h - where an account's OAuth 2.0 tokens live between runs.
 *
 * The refresh token is a long-lived credential, the access token a
 * short-lived one: both are secrets (invariant 3). They are kept
 *   - in the Secret Service (keyring.h), one entry per identity, when
 *     oauth2_token_store is keyring, or auto and a Secret Service answers;
 *   - else in a file of their own: DIR/KEY.json, mode 0600, in DIR =
 *     $XDG_STATE_HOME/outbox/oauth2 (root: SPOOLDIR/oauth2 when the spool
 *     exists), a directory of ours with mode 0700; written to a temporary
 *     file, synced and renamed, so it is whole or absent.
 * KEY is the hex SHA-256 of the token endpoint, the client id and the
 * user: tokens are never handed to another endpoint, client or user.
 * Reading and refreshing happen under an exclusive lock (DIR/KEY.lock):
 * two outbox processes never refresh at once and lose a rotated refresh
 * token. The contents are oauth_json.h's store format. */
#ifndef OUTBOX_OAUTH_STORE_H
#define OUTBOX_OAUTH_STORE_H

#include <stdbool.h>

#include "account.h"
#include "err.h"
#include "oauth_json.h"

#define OAUTH_STORE_SUBDIR "outbox/oauth2" /* under $XDG_STATE_HOME */
#define OAUTH_STORE_SYSTEM_SUBDIR "oauth2" /* under the spool */
/* Largest store file read back. */
#define OAUTH_STORE_MAX_FILE (64 * 1024)

struct oauth_place {
	char key[65];   /* the identity's digest */
	char *dir;      /* the file store's directory (and the lock's) */
	char *label;    /* the keyring entry's label */
	bool keyring;   /* the tokens live in the keyring */
	enum oauth2_store mode;
	int dir_fd;     /* the directory, opened and checked */
	int lock_fd;    /* -1 when not locked */
};

/* Find where a's tokens for token_url live and lock them (waiting for
 * another outbox that holds the lock). EX_CONFIG when there is no state
 * directory (no home), EX_CANTCREAT/EX_IOERR when it cannot be made or
 * locked; oauth2_token_store keyring without a usable keyring is
 * EX_UNAVAILABLE naming why. */
int oauth_place_open(const struct account *a, const char *token_url,
                     struct oauth_place *p, struct err *e);
/* Unlock and release. */
void oauth_place_close(struct oauth_place *p);

/* Read the tokens; *found false (and s empty) when none are stored. A
 * file that is not ours, not 0600 or not parseable is EX_DATAERR naming
 * it (it is never used, never overwritten silently). */
int oauth_place_read(struct oauth_place *p, struct oauth_store *s,
                     bool *found, struct err *e);
/* Store s (replacing what was there; the file copy is removed when the
 * tokens move to the keyring). EX_IOERR / EX_UNAVAILABLE on failure. */
int oauth_place_write(struct oauth_place *p, const struct oauth_store *s,
                      struct err *e);

#endif
