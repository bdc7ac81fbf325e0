/* keyring.h - the Secret Service (libsecret), loaded on first use.
 *
 * libsecret drags in glib, gio, gobject, gcrypt, pcre2, ffi, mount,
 * selinux, blkid...: linking it made every run pay for mapping and
 * relocating that stack (4 M instructions, 1.3 ms of CPU), although
 * almost no message reads the keyring (performance budget: do only what
 * this message needs). So the binary does not link it: KEYRING_LIBRARY is
 * dlopen'ed (RTLD_NOW | RTLD_LOCAL) the first time a password must come
 * from the keyring, and only when a session bus exists. Its headers are
 * still used at compile time, so the schema and the function types are
 * libsecret's own.
 *
 * The library is never closed: GDBus leaves a worker thread running in
 * glib, so unmapping it would pull the code from under that thread. A
 * second dlopen of a loaded library only takes a reference, so there is
 * no handle cache and no global state here.
 *
 * Built without libsecret (WITH_LIBSECRET=no), lookups find nothing and
 * keyring_probe() says KEYRING_NOT_COMPILED_IN. */
#ifndef OUTBOX_KEYRING_H
#define OUTBOX_KEYRING_H

#include "err.h"

#define KEYRING_LIBRARY "libsecret-1.so.0"
#define KEYRING_PACKAGE "libsecret-1-0" /* Debian's package of it */

/* Look up the password of user at host in the Secret Service, with
 * msmtp's schema (attributes host, service=smtp, user: msmtp's own entries
 * and `secret-tool store host H service smtp user U` ones), then with
 * libsecret's compat-network schema (entries of the old libgnome-keyring).
 * Returns EX_OK with *out set (heap; release with free_secret()) when an
 * entry is found, or EX_OK with *out NULL when there is no session bus (the
 * library is then not loaded: cron and systemd services never pay for it),
 * no Secret Service answers, or no entry matches. Returns EX_UNAVAILABLE
 * with e filled when the library cannot be used: "the keyring cannot be
 * used: libsecret-1.so.0 is not installed (apt install libsecret-1-0)", or
 * names the symbol it lacks or the loader's error. The password libsecret
 * returned is wiped before it is freed. */
int keyring_lookup_password(const char *host, const char *user, char **out,
			    struct err *e);

/* outbox's own secrets (OAuth tokens, oauth_store.h), one entry per key
 * in the default collection with schema "org.outbox.oauth2" and the
 * attribute key. A lookup gives EX_OK with *out (heap, free_secret())
 * or NULL when there is no entry; a store replaces the entry. Both give
 * EX_UNAVAILABLE with e filled when there is no keyring to use (no
 * session bus, no Secret Service answering, libsecret missing), so the
 * caller can fall back to a file. */
int keyring_lookup_secret(const char *key, char **out, struct err *e);
int keyring_store_secret(const char *key, const char *label,
                         const char *secret, struct err *e);

enum keyring_support {
	KEYRING_NOT_COMPILED_IN, /* built with WITH_LIBSECRET=no */
	KEYRING_NOT_INSTALLED,   /* KEYRING_LIBRARY cannot be loaded */
	KEYRING_UNUSABLE,        /* loaded, but a symbol we need is missing */
	KEYRING_AVAILABLE,
};

/* Whether a keyring lookup could load libsecret: tries the dlopen (and
 * every dlsym) now, so the glib stack stays mapped afterwards. For
 * --version only; a send never calls it. */
enum keyring_support keyring_probe(void);

/* ---- for tests ------------------------------------------------------- */

/* keyring_lookup_password() with another library name in place of
 * KEYRING_LIBRARY (a name that does not exist, one that lacks the
 * symbols), so the error texts can be checked. */
int keyring_lookup_password_in(const char *library, const char *host,
			       const char *user, char **out, struct err *e);

#endif
