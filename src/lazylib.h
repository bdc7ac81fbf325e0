/* lazylib.h - GnuTLS, libidn2, json-c and libpsl, loaded on first use.
 *
 * Why: mapping and relocating GnuTLS and everything it needs (nettle,
 * hogweed, gmp, tasn1, p11-kit, libidn2, libunistring) and running its
 * constructor costs every process that links it ~1 ms of CPU and ~160
 * page faults (an empty main() linked with -lgnutls -lidn2: 1.75 ms and
 * 208 faults; without: 0.76 ms and 50), about a third of a plain SMTP
 * send, although a plain send, --help and the queue verbs use neither
 * library (performance budget: do only what this message needs). json-c
 * is smaller but needed by OAuth 2.0 accounts only (their token
 * endpoint's replies, the token store), and libpsl (the Public Suffix
 * List) by the deliverability check's DMARC alignment only
 * (org_domain.h). So outbox links none of them:
 * the first call into one of them dlopen()s it by its soname (RTLD_NOW |
 * RTLD_LOCAL), resolves every function outbox calls in it, and from then
 * on forwards the calls.
 *
 * How: lazylib.c defines each GnuTLS, libidn2, json-c and libpsl function
 * the other modules call, with the library's own name and the prototype of
 * the library's header (the compiler checks that they agree), as a
 * forwarder to the address dlsym() found. The rest of the tree includes
 * <gnutls/gnutls.h>, <idn2.h>, <json.h> and <libpsl.h> and calls the
 * functions as before (json-c's inline helpers and macros too). A call
 * to a function that is not forwarded yet does not link ("undefined
 * reference to `gnutls_...'"): add its line to the table in lazylib.c.
 * (json-c: only its public API, never the functions its symbol versions
 * mark JSONC_PRIVATE, such as printbuf_*.)
 * The forwarders have hidden visibility: they are never in the dynamic
 * symbol table of outbox (nor of a test binary), so no library's calls of
 * its own exported functions can bind to them (ELF interposition), even
 * where a test also links the real library; tests/lazylib.bats checks
 * `nm -D`.
 *   The alternative, differently named pointers behind macros in a
 * private header, would define no gnutls_* name at all, but every file
 * that calls GnuTLS (most of them not TLS code) and every build of them
 * (the fuzz targets, the unit tests) would have to include that header
 * first, and outbox's sources and debuggers would show renamed calls. The
 * forwarders keep the callers and the library's documentation as they
 * are; hidden visibility removes the one risk of defining the library's
 * names, and the linker tells when one is missing.
 *   gnutls_free is the one data symbol outbox uses (GnuTLS's pointer to
 * its deallocation function): here it points to a function that calls
 * the library's gnutls_free.
 *
 * Failure: lazylib_load() says why a library cannot be used
 * (EX_UNAVAILABLE: "cannot load GnuTLS: libgnutls.so.30 is not installed
 * (apt install libgnutls30)", a missing symbol, or the loader's own
 * words); the entry points of this tree's TLS code (tls.c) and JSON
 * parsers (oauth_json.c) call it first, so the error travels the usual
 * way; org_domain.c calls it first too, and falls back to a documented
 * rule when libpsl cannot be loaded (it is optional there). A forwarder
 * called while its library cannot be loaded has no way to return an
 * error through the library's API: it prints that sentence after
 * "outbox: " on standard error and exits EX_UNAVAILABLE. It is the one
 * exception to "lower layers never print or exit" (the alternative is a
 * jump through a null pointer); with the package's dependencies installed
 * it cannot happen.
 *
 * State: the handles and the tables of addresses are process-wide, as the
 * dynamic linker's own are: filled once, never unloaded (GnuTLS's
 * sessions, keys and buffers must stay valid until exit). outbox calls
 * the libraries from one thread only. */
#ifndef OUTBOX_LAZYLIB_H
#define OUTBOX_LAZYLIB_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"

/* The sonames outbox was built for (Debian 12) and the Debian packages
 * that ship them (src/dist/debian/mkdeb declares the same dependencies). */
#ifndef LAZYLIB_GNUTLS_SONAME
#define LAZYLIB_GNUTLS_SONAME "libgnutls.so.30"
#endif
#define LAZYLIB_GNUTLS_PACKAGE "libgnutls30"
#ifndef LAZYLIB_IDN2_SONAME
#define LAZYLIB_IDN2_SONAME "libidn2.so.0"
#endif
#define LAZYLIB_IDN2_PACKAGE "libidn2-0"
#ifndef LAZYLIB_JSONC_SONAME
#define LAZYLIB_JSONC_SONAME "libjson-c.so.5"
#endif
#define LAZYLIB_JSONC_PACKAGE "libjson-c5"
#ifndef LAZYLIB_PSL_SONAME
#define LAZYLIB_PSL_SONAME "libpsl.so.5"
#endif
#define LAZYLIB_PSL_PACKAGE "libpsl5"

enum lazylib_library {
	LAZYLIB_GNUTLS,
	LAZYLIB_IDN2,
	LAZYLIB_JSONC,
	LAZYLIB_PSL,
};

/* Load lib now, unless it is loaded already (then this returns at once),
 * and resolve every function of it that outbox calls. Returns EX_OK, or
 * EX_UNAVAILABLE with e filled: "cannot load GnuTLS: libgnutls.so.30 is
 * not installed (apt install libgnutls30)", "cannot load GnuTLS:
 * libgnutls.so.30 has no function gnutls_...: ...", or the loader's error
 * ("cannot load GnuTLS: <dlerror()>"). A failed load changes nothing: a
 * later call tries again. */
int lazylib_load(enum lazylib_library lib, struct err *e);

/* Whether lib is loaded (by lazylib_load or by a first call). */
bool lazylib_is_loaded(enum lazylib_library lib);

/* For --version: appends "GnuTLS 3.7.9 (libgnutls.so.30, loaded on
 * demand)" (or "json-c 0.16 (libjson-c.so.5, loaded on demand)") to out, or "GnuTLS (libgnutls.so.30, loaded on demand): cannot
 * load it: ..." when it cannot be loaded. Loads the library (that is the
 * check), so it stays mapped afterwards; a send never calls this. */
void lazylib_describe(enum lazylib_library lib, struct buf *out);

/* ---- for tests ------------------------------------------------------- */

/* lazylib_load() from another file name than the library's soname (one
 * that does not exist, a library that lacks the functions), so the error
 * texts can be checked. On success lib is loaded from soname. */
int lazylib_load_from(enum lazylib_library lib, const char *soname,
		      struct err *e);

#endif
