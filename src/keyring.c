/* keyring.c - the Secret Service, loaded on first use; see keyring.h. */
#include "keyring.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef HAVE_LIBSECRET
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libsecret/secret.h>

#include "buf.h"
#include "util.h"

/* The functions and data of libsecret (and glib, reached through its
 * dependencies) that a lookup uses, typed as libsecret's header declares
 * them. secret_password_lookup_sync is variadic (attribute name/value
 * pairs, NULL-terminated): it must be called through a variadic pointer. */
typedef gchar *(*lookup_sync_fn)(const SecretSchema *schema,
                                 GCancellable *cancellable, GError **error,
                                 ...);
typedef gboolean (*store_sync_fn)(const SecretSchema *schema,
                                  const gchar *collection, const gchar *label,
                                  const gchar *password,
                                  GCancellable *cancellable, GError **error,
                                  ...);
typedef void (*password_free_fn)(gchar *password);
typedef void (*error_free_fn)(GError *error);

struct libsecret {
	lookup_sync_fn password_lookup_sync;
	store_sync_fn password_store_sync;
	password_free_fn password_free; /* wipes, then frees */
	error_free_fn error_free;
	const SecretSchema *compat_network;
};

/* msmtp's schema: it matches entries by attributes only, so both msmtp's
 * own entries and `secret-tool store host H service smtp user U` ones are
 * found. */
static const SecretSchema msmtp_schema = {
	"de.marlam.msmtp.password",
	SECRET_SCHEMA_DONT_MATCH_NAME,
	{
		{"host", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{NULL, 0},
	},
	0,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

/* Without a session bus (cron, systemd services) a lookup can only fail,
 * possibly slowly (D-Bus autolaunch): do not try, and do not load the
 * library. */
static bool session_bus_exists(void)
{
	if (getenv("DBUS_SESSION_BUS_ADDRESS"))
		return true;
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	if (!runtime)
		return false;
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/bus", runtime);
	struct stat st;
	bool ok = stat(buf_str(&path), &st) == 0 && S_ISSOCK(st.st_mode);
	buf_free(&path);
	return ok;
}

/* dlsym() returns a data pointer; ISO C has no conversion from it to a
 * function pointer, POSIX guarantees the representations agree: store it
 * through a void * lvalue, as dlsym(3)'s own example does. */
_Static_assert(sizeof(void *) == sizeof(lookup_sync_fn),
               "a function pointer must fit in a data pointer (POSIX)");

/* Load library and every symbol a lookup needs into *ls. Returns false
 * with e filled (EX_UNAVAILABLE) and KEYRING_NOT_INSTALLED or
 * KEYRING_UNUSABLE in *why when something is missing. The handle is
 * deliberately never closed (keyring.h says why). */
static bool libsecret_load(const char *library, struct libsecret *ls,
			  enum keyring_support *why, struct err *e)
{
	void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *reason = dlerror();
		*why = KEYRING_NOT_INSTALLED;
		/* glibc says "NAME: cannot open shared object file: ..."
		 * about the library itself when it is absent; anything else
		 * (a dependency of it missing, a broken file) is reported in
		 * the loader's own words. */
		static const char not_found[] =
		        ": cannot open shared object file";
		size_t n = strlen(library);
		if (reason && strncmp(reason, library, n) == 0 &&
		    strncmp(reason + n, not_found, sizeof not_found - 1) == 0) {
			err_set(e, EX_UNAVAILABLE,
			        "the keyring cannot be used: %s is not "
			        "installed (apt install %s)",
			        library, KEYRING_PACKAGE);
			return false;
		}
		err_set(e, EX_UNAVAILABLE,
		        "the keyring cannot be used: cannot load %s: %s",
		        library, reason ? reason : "unknown error");
		return false;
	}
	*(void **)&ls->password_lookup_sync =
	        dlsym(handle, "secret_password_lookup_sync");
	*(void **)&ls->password_store_sync =
	        dlsym(handle, "secret_password_store_sync");
	*(void **)&ls->password_free = dlsym(handle, "secret_password_free");
	*(void **)&ls->error_free = dlsym(handle, "g_error_free");
	void *compat = dlsym(handle, "SECRET_SCHEMA_COMPAT_NETWORK");
	const char *missing =
	        !ls->password_lookup_sync ? "secret_password_lookup_sync"
	        : !ls->password_store_sync ? "secret_password_store_sync"
	        : !ls->password_free      ? "secret_password_free"
	        : !ls->error_free         ? "g_error_free"
	        : !compat                 ? "SECRET_SCHEMA_COMPAT_NETWORK"
	                                  : NULL;
	if (missing) {
		*why = KEYRING_UNUSABLE;
		err_set(e, EX_UNAVAILABLE,
		        "the keyring cannot be used: %s has no symbol %s",
		        library, missing);
		return false;
	}
	/* A data symbol: the address of libsecret's own pointer. */
	ls->compat_network = *(const SecretSchema *const *)compat;
	return true;
}

int keyring_lookup_password_in(const char *library, const char *host,
			       const char *user, char **out, struct err *e)
{
	*out = NULL;
	if (!session_bus_exists())
		return EX_OK;
	struct libsecret ls = {0};
	enum keyring_support why;
	if (!libsecret_load(library, &ls, &why, e))
		return EX_UNAVAILABLE;
	GError *error = NULL;
	gchar *pw = ls.password_lookup_sync(&msmtp_schema, NULL, &error,
	                                    "host", host, "service", "smtp",
	                                    "user", user, (char *)NULL);
	if (error) {
		ls.error_free(error);
		return EX_OK; /* no Secret Service: fall through silently */
	}
	if (!pw) {
		/* entries stored through the old libgnome-keyring */
		pw = ls.password_lookup_sync(ls.compat_network, NULL, &error,
		                             "user", user, "protocol", "smtp",
		                             "server", host, (char *)NULL);
		if (error) {
			ls.error_free(error);
			return EX_OK;
		}
	}
	if (!pw)
		return EX_OK;
	*out = xstrdup(pw);
	ls.password_free(pw);
	return EX_OK;
}

int keyring_lookup_password(const char *host, const char *user, char **out,
			    struct err *e)
{
	return keyring_lookup_password_in(KEYRING_LIBRARY, host, user, out, e);
}

/* outbox's own entries (OAuth tokens): one per key. */
static const SecretSchema outbox_schema = {
	"org.outbox.oauth2",
	SECRET_SCHEMA_NONE,
	{
		{"key", SECRET_SCHEMA_ATTRIBUTE_STRING},
		{NULL, 0},
	},
	0,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

static int no_secret_service(struct err *e)
{
	return err_set(e, EX_UNAVAILABLE, "no Secret Service answers on the "
	               "session bus");
}

int keyring_lookup_secret(const char *key, char **out, struct err *e)
{
	*out = NULL;
	if (!session_bus_exists())
		return err_set(e, EX_UNAVAILABLE, "there is no session bus");
	struct libsecret ls = {0};
	enum keyring_support why;
	if (!libsecret_load(KEYRING_LIBRARY, &ls, &why, e))
		return EX_UNAVAILABLE;
	GError *error = NULL;
	gchar *secret = ls.password_lookup_sync(&outbox_schema, NULL, &error,
	                                        "key", key, (char *)NULL);
	if (error) {
		ls.error_free(error);
		return no_secret_service(e);
	}
	if (secret) {
		*out = xstrdup(secret);
		ls.password_free(secret);
	}
	return EX_OK;
}

int keyring_store_secret(const char *key, const char *label,
                         const char *secret, struct err *e)
{
	if (!session_bus_exists())
		return err_set(e, EX_UNAVAILABLE, "there is no session bus");
	struct libsecret ls = {0};
	enum keyring_support why;
	if (!libsecret_load(KEYRING_LIBRARY, &ls, &why, e))
		return EX_UNAVAILABLE;
	GError *error = NULL;
	gboolean ok = ls.password_store_sync(&outbox_schema,
	                                     SECRET_COLLECTION_DEFAULT, label,
	                                     secret, NULL, &error, "key", key,
	                                     (char *)NULL);
	if (error)
		ls.error_free(error);
	return ok ? EX_OK : no_secret_service(e);
}

enum keyring_support keyring_probe(void)
{
	struct libsecret ls = {0};
	enum keyring_support why = KEYRING_AVAILABLE;
	struct err e = ERR_INIT;
	libsecret_load(KEYRING_LIBRARY, &ls, &why, &e);
	err_clear(&e);
	return why;
}

#else /* built without libsecret */

int keyring_lookup_password_in(const char *library, const char *host,
			       const char *user, char **out, struct err *e)
{
	*out = NULL;
	return EX_OK;
}

int keyring_lookup_password(const char *host, const char *user, char **out,
			    struct err *e)
{
	*out = NULL;
	return EX_OK;
}

enum keyring_support keyring_probe(void)
{
	return KEYRING_NOT_COMPILED_IN;
}

int keyring_lookup_secret(const char *key, char **out, struct err *e)
{
	*out = NULL;
	return err_set(e, EX_UNAVAILABLE, "built without libsecret");
}

int keyring_store_secret(const char *key, const char *label,
                         const char *secret, struct err *e)
{
	return err_set(e, EX_UNAVAILABLE, "built without libsecret");
}

#endif
