/* sanitizer_options.c - defaults of the sanitizer build (make
 * sanitize-check, SANITIZE=yes) only; an empty unit otherwise. */
#if defined(__SANITIZE_ADDRESS__)
#include <sys/auxv.h>

/* LeakSanitizer inspects the process with ptrace from a helper thread at
 * exit, which the kernel refuses in a setgid process (it is not
 * dumpable, and must stay so: privilege.h), so it would end every run of
 * the installed binary with a fatal error. A setgid run (AT_SECURE) keeps
 * ASan and UBSan and skips the leak check; every other run keeps it. The
 * environment cannot say this: the runtime ignores ASAN_OPTIONS there. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return getauxval(AT_SECURE) ? "detect_leaks=0" : "";
}

/* LeakSanitizer (clang/GCC 12 runtime with Debian 12's glibc 2.36) reads
 * a stale dynamic-TLS range after glibc unloads a module it loaded for a
 * lookup (libnss_systemd, asked about a user the files do not know) once
 * other modules came with dlopen (lazylib.h), and its tracer crashes
 * ("Tracer caught signal 11", exit 1) before it reports anything. Not
 * scanning thread-local storage for roots avoids that; it can only make
 * the check report more, never hide a leak. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "use_tls=0";
}

/* What only thread-local storage still points to then: the dynamic
 * linker's list of a dlopen'ed library's dependencies, and glib's
 * per-thread data (libsecret). Neither is outbox's memory. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:_dl_map_object_deps\n"
	       "leak:libglib-2.0.so\n";
}
#else
/* ISO C forbids an empty translation unit. */
typedef int sanitizer_options_unused;
#endif
