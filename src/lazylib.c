/* lazylib.c - GnuTLS, libidn2, json-c and libpsl, loaded on first use;
 * see lazylib.h. */
#include "lazylib.h"

#include <dlfcn.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <idn2.h>
#include <json.h>
#include <libpsl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Never in the dynamic symbol table (lazylib.h: interposition). */
#define HIDDEN __attribute__((visibility("hidden")))

/* ---- the functions outbox calls ---------------------------------------
 *
 * One line per function, as its library's header declares it:
 *   FN(return type, name, (parameters), (arguments))
 *   VOID_FN(name, (parameters), (arguments))     returns nothing
 * The definitions below repeat the header's prototypes, so a line that
 * disagrees with the header does not compile. Keep each table sorted. */

#define GNUTLS_FUNCTIONS(FN, VOID_FN)                                      \
	FN(gnutls_alert_description_t, gnutls_alert_get,                    \
	   (gnutls_session_t session), (session))                           \
	FN(const char *, gnutls_alert_get_name,                             \
	   (gnutls_alert_description_t alert), (alert))                     \
	FN(int, gnutls_alert_send,                                          \
	   (gnutls_session_t session, gnutls_alert_level_t level,           \
	    gnutls_alert_description_t desc),                               \
	   (session, level, desc))                                          \
	FN(int, gnutls_base64_decode2,                                      \
	   (const gnutls_datum_t *b64_data, gnutls_datum_t *result),        \
	   (b64_data, result))                                              \
	FN(int, gnutls_base64_encode2,                                      \
	   (const gnutls_datum_t *data, gnutls_datum_t *result),            \
	   (data, result))                                                  \
	FN(int, gnutls_bye, (gnutls_session_t session,                      \
	                     gnutls_close_request_t how),                   \
	   (session, how))                                                  \
	FN(int, gnutls_certificate_allocate_credentials,                    \
	   (gnutls_certificate_credentials_t *res), (res))                  \
	VOID_FN(gnutls_certificate_free_credentials,                        \
	        (gnutls_certificate_credentials_t sc), (sc))                \
	FN(const gnutls_datum_t *, gnutls_certificate_get_peers,            \
	   (gnutls_session_t session, unsigned int *list_size),             \
	   (session, list_size))                                            \
	VOID_FN(gnutls_certificate_get_trust_list,                          \
	        (gnutls_certificate_credentials_t res,                      \
	         gnutls_x509_trust_list_t *tlist),                          \
	        (res, tlist))                                               \
	FN(int, gnutls_certificate_set_x509_crl_file,                       \
	   (gnutls_certificate_credentials_t res, const char *crlfile,      \
	    gnutls_x509_crt_fmt_t type),                                    \
	   (res, crlfile, type))                                            \
	FN(int, gnutls_certificate_set_x509_key_file,                       \
	   (gnutls_certificate_credentials_t res, const char *certfile,     \
	    const char *keyfile, gnutls_x509_crt_fmt_t type),               \
	   (res, certfile, keyfile, type))                                  \
	FN(int, gnutls_certificate_set_x509_system_trust,                   \
	   (gnutls_certificate_credentials_t cred), (cred))                 \
	FN(int, gnutls_certificate_set_x509_trust_file,                     \
	   (gnutls_certificate_credentials_t cred, const char *cafile,       \
	    gnutls_x509_crt_fmt_t type),                                    \
	   (cred, cafile, type))                                            \
	FN(int, gnutls_certificate_set_x509_trust_mem,                      \
	   (gnutls_certificate_credentials_t res, const gnutls_datum_t *ca, \
	    gnutls_x509_crt_fmt_t type),                                    \
	   (res, ca, type))                                                 \
	FN(gnutls_certificate_type_t, gnutls_certificate_type_get,          \
	   (gnutls_session_t session), (session))                           \
	FN(int, gnutls_certificate_verification_status_print,               \
	   (unsigned int status, gnutls_certificate_type_t type,            \
	    gnutls_datum_t *out, unsigned int flags),                       \
	   (status, type, out, flags))                                      \
	FN(int, gnutls_certificate_verify_peers,                            \
	   (gnutls_session_t session, gnutls_typed_vdata_st *data,          \
	    unsigned int elements, unsigned int *status),                   \
	   (session, data, elements, status))                               \
	FN(const char *, gnutls_check_version, (const char *req_version),   \
	   (req_version))                                                   \
	FN(int, gnutls_credentials_get,                                     \
	   (gnutls_session_t session, gnutls_credentials_type_t type,       \
	    void **cred),                                                   \
	   (session, type, cred))                                           \
	FN(int, gnutls_credentials_set,                                     \
	   (gnutls_session_t session, gnutls_credentials_type_t type,       \
	    void *cred),                                                    \
	   (session, type, cred))                                           \
	VOID_FN(gnutls_deinit, (gnutls_session_t session), (session))       \
	VOID_FN(gnutls_dh_set_prime_bits,                                   \
	        (gnutls_session_t session, unsigned int bits),              \
	        (session, bits))                                            \
	FN(const char *, gnutls_digest_get_name,                            \
	   (gnutls_digest_algorithm_t algorithm), (algorithm))              \
	FN(int, gnutls_error_is_fatal, (int error), (error))                \
	FN(int, gnutls_fingerprint,                                         \
	   (gnutls_digest_algorithm_t algo, const gnutls_datum_t *data,     \
	    void *result, size_t *result_size),                             \
	   (algo, data, result, result_size))                               \
	FN(int, gnutls_handshake, (gnutls_session_t session), (session))    \
	VOID_FN(gnutls_handshake_set_timeout,                               \
	        (gnutls_session_t session, unsigned int ms), (session, ms)) \
	FN(int, gnutls_hash,                                                \
	   (gnutls_hash_hd_t handle, const void *text, size_t textlen),     \
	   (handle, text, textlen))                                         \
	VOID_FN(gnutls_hash_deinit, (gnutls_hash_hd_t handle, void *digest), \
	        (handle, digest))                                           \
	FN(int, gnutls_hash_fast,                                           \
	   (gnutls_digest_algorithm_t algorithm, const void *text,          \
	    size_t textlen, void *digest),                                  \
	   (algorithm, text, textlen, digest))                              \
	FN(int, gnutls_hash_init,                                           \
	   (gnutls_hash_hd_t *dig, gnutls_digest_algorithm_t algorithm),    \
	   (dig, algorithm))                                                \
	VOID_FN(gnutls_hash_output, (gnutls_hash_hd_t handle, void *digest), \
	        (handle, digest))                                           \
	FN(int, gnutls_hmac_fast,                                           \
	   (gnutls_mac_algorithm_t algorithm, const void *key,              \
	    size_t keylen, const void *text, size_t textlen, void *digest), \
	   (algorithm, key, keylen, text, textlen, digest))                 \
	FN(int, gnutls_init, (gnutls_session_t *session, unsigned int flags), \
	   (session, flags))                                                \
	FN(int, gnutls_ocsp_status_request_get2,                            \
	   (gnutls_session_t session, unsigned idx,                         \
	    gnutls_datum_t *response),                                      \
	   (session, idx, response))                                        \
	FN(int, gnutls_pbkdf2,                                              \
	   (gnutls_mac_algorithm_t mac, const gnutls_datum_t *key,          \
	    const gnutls_datum_t *salt, unsigned iter_count, void *output,  \
	    size_t length),                                                 \
	   (mac, key, salt, iter_count, output, length))                    \
	FN(const char *, gnutls_pk_get_name,                                \
	   (gnutls_pk_algorithm_t algorithm), (algorithm))                  \
	FN(int, gnutls_priority_set_direct,                                 \
	   (gnutls_session_t session, const char *priorities,               \
	    const char **err_pos),                                          \
	   (session, priorities, err_pos))                                  \
	VOID_FN(gnutls_privkey_deinit, (gnutls_privkey_t key), (key))       \
	FN(int, gnutls_privkey_import_x509,                                 \
	   (gnutls_privkey_t pkey, gnutls_x509_privkey_t key,               \
	    unsigned int flags),                                            \
	   (pkey, key, flags))                                              \
	FN(int, gnutls_privkey_init, (gnutls_privkey_t *key), (key))        \
	FN(int, gnutls_privkey_sign_data2,                                  \
	   (gnutls_privkey_t signer, gnutls_sign_algorithm_t algo,          \
	    unsigned int flags, const gnutls_datum_t *data,                 \
	    gnutls_datum_t *signature),                                     \
	   (signer, algo, flags, data, signature))                          \
	FN(int, gnutls_privkey_sign_hash2,                                  \
	   (gnutls_privkey_t signer, gnutls_sign_algorithm_t algo,          \
	    unsigned int flags, const gnutls_datum_t *hash_data,            \
	    gnutls_datum_t *signature),                                     \
	   (signer, algo, flags, hash_data, signature))                     \
	VOID_FN(gnutls_pubkey_deinit, (gnutls_pubkey_t key), (key))         \
	FN(int, gnutls_pubkey_export2,                                      \
	   (gnutls_pubkey_t key, gnutls_x509_crt_fmt_t format,              \
	    gnutls_datum_t *out),                                           \
	   (key, format, out))                                              \
	FN(int, gnutls_pubkey_export_ecc_raw2,                              \
	   (gnutls_pubkey_t key, gnutls_ecc_curve_t *curve,                 \
	    gnutls_datum_t *x, gnutls_datum_t *y, unsigned flags),          \
	   (key, curve, x, y, flags))                                       \
	FN(int, gnutls_pubkey_get_pk_algorithm,                             \
	   (gnutls_pubkey_t key, unsigned int *bits), (key, bits))          \
	FN(int, gnutls_pubkey_import,                                       \
	   (gnutls_pubkey_t key, const gnutls_datum_t *data,                \
	    gnutls_x509_crt_fmt_t format),                                  \
	   (key, data, format))                                             \
	FN(int, gnutls_pubkey_import_ecc_raw,                               \
	   (gnutls_pubkey_t key, gnutls_ecc_curve_t curve,                  \
	    const gnutls_datum_t *x, const gnutls_datum_t *y),              \
	   (key, curve, x, y))                                              \
	FN(int, gnutls_pubkey_import_privkey,                               \
	   (gnutls_pubkey_t key, gnutls_privkey_t pkey, unsigned int usage, \
	    unsigned int flags),                                            \
	   (key, pkey, usage, flags))                                       \
	FN(int, gnutls_pubkey_init, (gnutls_pubkey_t *key), (key))          \
	FN(int, gnutls_pubkey_verify_data2,                                 \
	   (gnutls_pubkey_t pubkey, gnutls_sign_algorithm_t algo,           \
	    unsigned int flags, const gnutls_datum_t *data,                 \
	    const gnutls_datum_t *signature),                               \
	   (pubkey, algo, flags, data, signature))                          \
	FN(size_t, gnutls_record_check_pending, (gnutls_session_t session), \
	   (session))                                                       \
	FN(int, gnutls_record_get_direction, (gnutls_session_t session),    \
	   (session))                                                       \
	FN(ssize_t, gnutls_record_recv,                                     \
	   (gnutls_session_t session, void *data, size_t data_size),        \
	   (session, data, data_size))                                      \
	FN(ssize_t, gnutls_record_send,                                     \
	   (gnutls_session_t session, const void *data, size_t data_size),  \
	   (session, data, data_size))                                      \
	FN(int, gnutls_rnd, (gnutls_rnd_level_t level, void *data, size_t len), \
	   (level, data, len))                                              \
	FN(int, gnutls_server_name_set,                                     \
	   (gnutls_session_t session, gnutls_server_name_type_t type,       \
	    const void *name, size_t name_length),                          \
	   (session, type, name, name_length))                              \
	FN(int, gnutls_session_get_data2,                                   \
	   (gnutls_session_t session, gnutls_datum_t *data), (session, data)) \
	FN(char *, gnutls_session_get_desc, (gnutls_session_t session),     \
	   (session))                                                       \
	FN(unsigned, gnutls_session_get_flags, (gnutls_session_t session),  \
	   (session))                                                       \
	FN(int, gnutls_session_is_resumed, (gnutls_session_t session),      \
	   (session))                                                       \
	FN(int, gnutls_session_set_data,                                    \
	   (gnutls_session_t session, const void *session_data,             \
	    size_t session_data_size),                                      \
	   (session, session_data, session_data_size))                      \
	FN(const char *, gnutls_strerror, (int error), (error))             \
	VOID_FN(gnutls_transport_set_int2,                                  \
	        (gnutls_session_t session, int r, int s), (session, r, s))  \
	FN(unsigned, gnutls_x509_crt_check_hostname2,                       \
	   (gnutls_x509_crt_t cert, const char *hostname, unsigned int flags), \
	   (cert, hostname, flags))                                         \
	VOID_FN(gnutls_x509_crt_deinit, (gnutls_x509_crt_t cert), (cert))   \
	FN(time_t, gnutls_x509_crt_get_activation_time,                     \
	   (gnutls_x509_crt_t cert), (cert))                                \
	FN(int, gnutls_x509_crt_get_dn3,                                    \
	   (gnutls_x509_crt_t cert, gnutls_datum_t *dn, unsigned flags),    \
	   (cert, dn, flags))                                               \
	FN(time_t, gnutls_x509_crt_get_expiration_time,                     \
	   (gnutls_x509_crt_t cert), (cert))                                \
	FN(int, gnutls_x509_crt_get_issuer_dn3,                             \
	   (gnutls_x509_crt_t cert, gnutls_datum_t *dn, unsigned flags),    \
	   (cert, dn, flags))                                               \
	FN(int, gnutls_x509_crt_import,                                     \
	   (gnutls_x509_crt_t cert, const gnutls_datum_t *data,             \
	    gnutls_x509_crt_fmt_t format),                                  \
	   (cert, data, format))                                            \
	FN(int, gnutls_x509_crt_init, (gnutls_x509_crt_t *cert), (cert))    \
	VOID_FN(gnutls_x509_privkey_deinit, (gnutls_x509_privkey_t key),    \
	        (key))                                                      \
	FN(int, gnutls_x509_privkey_export2_pkcs8,                          \
	   (gnutls_x509_privkey_t key, gnutls_x509_crt_fmt_t format,        \
	    const char *password, unsigned int flags, gnutls_datum_t *out), \
	   (key, format, password, flags, out))                             \
	FN(int, gnutls_x509_privkey_generate,                               \
	   (gnutls_x509_privkey_t key, gnutls_pk_algorithm_t algo,          \
	    unsigned int bits, unsigned int flags),                         \
	   (key, algo, bits, flags))                                        \
	FN(int, gnutls_x509_privkey_get_pk_algorithm2,                      \
	   (gnutls_x509_privkey_t key, unsigned int *bits), (key, bits))    \
	FN(int, gnutls_x509_privkey_import2,                                \
	   (gnutls_x509_privkey_t key, const gnutls_datum_t *data,          \
	    gnutls_x509_crt_fmt_t format, const char *password,             \
	    unsigned int flags),                                            \
	   (key, data, format, password, flags))                            \
	FN(int, gnutls_x509_privkey_init, (gnutls_x509_privkey_t *key),     \
	   (key))                                                           \
	FN(int, gnutls_x509_privkey_verify_params,                          \
	   (gnutls_x509_privkey_t key), (key))                              \
	FN(int, gnutls_x509_trust_list_add_cas,                             \
	   (gnutls_x509_trust_list_t list, const gnutls_x509_crt_t *clist,  \
	    unsigned clist_size, unsigned int flags),                       \
	   (list, clist, clist_size, flags))                                \
	VOID_FN(gnutls_x509_trust_list_deinit,                              \
	        (gnutls_x509_trust_list_t list, unsigned int all),          \
	        (list, all))                                                \
	FN(int, gnutls_x509_trust_list_init,                                \
	   (gnutls_x509_trust_list_t *list, unsigned int size),             \
	   (list, size))                                                    \
	VOID_FN(gnutls_x509_trust_list_iter_deinit,                         \
	        (gnutls_x509_trust_list_iter_t iter), (iter))               \
	FN(int, gnutls_x509_trust_list_iter_get_ca,                         \
	   (gnutls_x509_trust_list_t list,                                  \
	    gnutls_x509_trust_list_iter_t *iter, gnutls_x509_crt_t *crt),   \
	   (list, iter, crt))                                               \
	FN(int, gnutls_x509_trust_list_verify_crt2,                         \
	   (gnutls_x509_trust_list_t list, gnutls_x509_crt_t *cert_list,    \
	    unsigned int cert_list_size, gnutls_typed_vdata_st *data,       \
	    unsigned int elements, unsigned int flags,                      \
	    unsigned int *voutput, gnutls_verify_output_function func),    \
	   (list, cert_list, cert_list_size, data, elements, flags,         \
	    voutput, func))

#define IDN2_FUNCTIONS(FN, VOID_FN)                                        \
	FN(const char *, idn2_check_version, (const char *req_version),     \
	   (req_version))                                                   \
	VOID_FN(idn2_free, (void *ptr), (ptr))                              \
	FN(const char *, idn2_strerror, (int rc), (rc))                     \
	FN(int, idn2_to_ascii_8z,                                           \
	   (const char *input, char **output, int flags),                   \
	   (input, output, flags))

#define JSONC_FUNCTIONS(FN, VOID_FN)                                       \
	FN(const char *, json_c_version, (void), ())                        \
	FN(struct json_object *, json_object_array_get_idx,                 \
	   (const struct json_object *obj, size_t idx), (obj, idx))         \
	FN(size_t, json_object_array_length,                                \
	   (const struct json_object *obj), (obj))                          \
	FN(int64_t, json_object_get_int64, (const struct json_object *obj), \
	   (obj))                                                           \
	FN(struct lh_table *, json_object_get_object,                       \
	   (const struct json_object *obj), (obj))                          \
	FN(const char *, json_object_get_string, (struct json_object *obj), \
	   (obj))                                                           \
	FN(int, json_object_get_string_len, (const struct json_object *obj), \
	   (obj))                                                           \
	FN(enum json_type, json_object_get_type,                            \
	   (const struct json_object *obj), (obj))                          \
	FN(json_bool, json_object_object_get_ex,                            \
	   (const struct json_object *obj, const char *key,                 \
	    struct json_object **value),                                    \
	   (obj, key, value))                                               \
	FN(int, json_object_put, (struct json_object *obj), (obj))          \
	FN(const char *, json_tokener_error_desc,                           \
	   (enum json_tokener_error jerr), (jerr))                          \
	VOID_FN(json_tokener_free, (struct json_tokener *tok), (tok))       \
	FN(enum json_tokener_error, json_tokener_get_error,                 \
	   (struct json_tokener *tok), (tok))                               \
	FN(size_t, json_tokener_get_parse_end, (struct json_tokener *tok),  \
	   (tok))                                                           \
	FN(struct json_tokener *, json_tokener_new_ex, (int depth), (depth)) \
	FN(struct json_object *, json_tokener_parse_ex,                     \
	   (struct json_tokener *tok, const char *str, int len),            \
	   (tok, str, len))                                                 \
	VOID_FN(json_tokener_set_flags, (struct json_tokener *tok, int flags), \
	        (tok, flags))

/* libpsl (the Public Suffix List): org_domain.c only. */
#define PSL_FUNCTIONS(FN, VOID_FN)                                         \
	FN(const psl_ctx_t *, psl_builtin, (void), ())                      \
	VOID_FN(psl_free, (psl_ctx_t *psl), (psl))                          \
	FN(const char *, psl_get_version, (void), ())                       \
	FN(psl_ctx_t *, psl_latest, (const char *fname), (fname))           \
	FN(const char *, psl_registrable_domain,                            \
	   (const psl_ctx_t *psl, const char *domain), (psl, domain))

/* The index of each function in its library's table. */
#define INDEX(ret, name, params, args) INDEX_##name,
#define VOID_INDEX(name, params, args) INDEX_##name,
enum { GNUTLS_FUNCTIONS(INDEX, VOID_INDEX) GNUTLS_FUNCTION_COUNT };
enum { IDN2_FUNCTIONS(INDEX, VOID_INDEX) IDN2_FUNCTION_COUNT };
enum { JSONC_FUNCTIONS(INDEX, VOID_INDEX) JSONC_FUNCTION_COUNT };
enum { PSL_FUNCTIONS(INDEX, VOID_INDEX) PSL_FUNCTION_COUNT };

#define NAME(ret, name, params, args) #name,
#define VOID_NAME(name, params, args) #name,
static const char *const gnutls_names[] = {GNUTLS_FUNCTIONS(NAME, VOID_NAME)};
static const char *const idn2_names[] = {IDN2_FUNCTIONS(NAME, VOID_NAME)};
static const char *const jsonc_names[] = {JSONC_FUNCTIONS(NAME, VOID_NAME)};
static const char *const psl_names[] = {PSL_FUNCTIONS(NAME, VOID_NAME)};

/* ---- loading ---------------------------------------------------------- */

/* Any function's address, as stored; called only after a cast back to
 * its own type (C17 6.3.2.3p8). */
typedef void (*any_function)(void);

/* dlsym() returns a data pointer; POSIX guarantees that it converts to a
 * function pointer: store it through a void * lvalue, as dlsym(3)'s own
 * example does (keyring.c does the same). */
_Static_assert(sizeof(void *) == sizeof(any_function),
               "a function pointer must fit in a data pointer (POSIX)");

struct library {
	const char *display; /* "GnuTLS", for messages */
	const char *soname;
	const char *package; /* Debian's package of it */
	const char *const *names;
	any_function *functions; /* indexed like names */
	size_t count;
	/* GnuTLS's one data symbol we use: the address of the library's
	 * gnutls_free pointer (NULL for the others). */
	const char *data_name;
	void **data;
	bool loaded;
};

static any_function gnutls_functions[GNUTLS_FUNCTION_COUNT];
static any_function idn2_functions[IDN2_FUNCTION_COUNT];
static any_function jsonc_functions[JSONC_FUNCTION_COUNT];
static any_function psl_functions[PSL_FUNCTION_COUNT];
static void *library_gnutls_free; /* gnutls_free_function * */

static struct library gnutls_library = {
	"GnuTLS",          LAZYLIB_GNUTLS_SONAME, LAZYLIB_GNUTLS_PACKAGE,
	gnutls_names,      gnutls_functions,      GNUTLS_FUNCTION_COUNT,
	"gnutls_free",     &library_gnutls_free,  false,
};

static struct library idn2_library = {
	"libidn2",  LAZYLIB_IDN2_SONAME, LAZYLIB_IDN2_PACKAGE,
	idn2_names, idn2_functions,      IDN2_FUNCTION_COUNT,
	NULL,       NULL,                false,
};

static struct library jsonc_library = {
	"json-c",    LAZYLIB_JSONC_SONAME, LAZYLIB_JSONC_PACKAGE,
	jsonc_names, jsonc_functions,      JSONC_FUNCTION_COUNT,
	NULL,        NULL,                 false,
};

static struct library psl_library = {
	"libpsl",  LAZYLIB_PSL_SONAME, LAZYLIB_PSL_PACKAGE,
	psl_names, psl_functions,      PSL_FUNCTION_COUNT,
	NULL,      NULL,               false,
};

static struct library *library_of(enum lazylib_library lib)
{
	switch (lib) {
	case LAZYLIB_GNUTLS:
		return &gnutls_library;
	case LAZYLIB_IDN2:
		return &idn2_library;
	case LAZYLIB_PSL:
		return &psl_library;
	case LAZYLIB_JSONC:
		break;
	}
	return &jsonc_library;
}

/* The library's own version string (it is loaded). */
static const char *library_version(enum lazylib_library lib)
{
	switch (lib) {
	case LAZYLIB_GNUTLS:
		return gnutls_check_version(NULL);
	case LAZYLIB_IDN2:
		return idn2_check_version(NULL);
	case LAZYLIB_PSL:
		return psl_get_version();
	case LAZYLIB_JSONC:
		break;
	}
	return json_c_version();
}

/* Open soname as lib and resolve all of lib's symbols in it; install them
 * only when every one is there. On failure, why gets the reason, e.g.
 * "libgnutls.so.30 is not installed (apt install libgnutls30)". The
 * handle is never closed (lazylib.h). */
static bool library_open(struct library *lib, const char *soname,
			 struct buf *why)
{
	void *handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
	if (!handle) {
		const char *reason = dlerror();
		/* glibc says "NAME: cannot open shared object file: ..."
		 * when the library itself is absent; anything else (a
		 * dependency of it missing, a broken file) is reported in the
		 * loader's own words. */
		static const char not_found[] =
		        ": cannot open shared object file";
		size_t n = strlen(soname);
		if (reason && strncmp(reason, soname, n) == 0 &&
		    strncmp(reason + n, not_found, sizeof not_found - 1) == 0)
			buf_printf(why, "%s is not installed (apt install %s)",
			           soname, lib->package);
		else
			buf_printf(why, "%s", reason ? reason : "unknown error");
		return false;
	}
	any_function *found = xcalloc(lib->count, sizeof *found);
	void *data = NULL;
	const char *missing = NULL;
	for (size_t i = 0; i < lib->count && !missing; i++) {
		*(void **)&found[i] = dlsym(handle, lib->names[i]);
		if (!found[i])
			missing = lib->names[i];
	}
	if (!missing && lib->data_name) {
		data = dlsym(handle, lib->data_name);
		if (!data)
			missing = lib->data_name;
	}
	if (missing) {
		buf_printf(why,
		           "%s has no symbol %s (is it older than the %s outbox "
		           "was built with?)",
		           soname, missing, lib->display);
		free(found);
		return false;
	}
	memcpy(lib->functions, found, lib->count * sizeof *found);
	free(found);
	if (lib->data)
		*lib->data = data;
	lib->loaded = true;
	return true;
}

static int load(struct library *lib, const char *soname, struct err *e)
{
	struct buf why = BUF_INIT;
	int rc = EX_OK;
	if (!library_open(lib, soname, &why))
		rc = err_set(e, EX_UNAVAILABLE, "cannot load %s: %s",
		             lib->display, buf_str(&why));
	buf_free(&why);
	return rc;
}

int lazylib_load(enum lazylib_library which, struct err *e)
{
	struct library *lib = library_of(which);
	return lib->loaded ? EX_OK : load(lib, lib->soname, e);
}

int lazylib_load_from(enum lazylib_library which, const char *soname,
		      struct err *e)
{
	return load(library_of(which), soname, e);
}

bool lazylib_is_loaded(enum lazylib_library which)
{
	return library_of(which)->loaded;
}

void lazylib_describe(enum lazylib_library which, struct buf *out)
{
	struct library *lib = library_of(which);
	struct buf why = BUF_INIT;
	if (!lib->loaded && !library_open(lib, lib->soname, &why)) {
		buf_printf(out, "%s (%s, loaded on demand): cannot be loaded: %s",
		           lib->display, lib->soname, buf_str(&why));
	} else {
		const char *version = library_version(which);
		buf_printf(out, "%s %s (%s, loaded on demand)", lib->display,
		           version ? version : "(unknown version)", lib->soname);
	}
	buf_free(&why);
}

/* Load lib unless it is loaded. A library that cannot be loaded ends the
 * process (lazylib.h: the one exception to "lower layers never print or
 * exit"). */
static void need_library(struct library *lib)
{
	if (lib->loaded)
		return;
	struct err e = ERR_INIT;
	if (load(lib, lib->soname, &e) != EX_OK) {
		fflush(NULL);
		fprintf(stderr, "outbox: %s\n", err_msg(&e));
		/* _exit: no atexit handler may call in again */
		_exit(EX_UNAVAILABLE);
	}
}

/* The address of function i of lib, loading lib first when needed. */
static any_function need(struct library *lib, size_t i)
{
	need_library(lib);
	return lib->functions[i];
}

/* ---- the forwarders --------------------------------------------------- */

#define FORWARD(lib, ret, name, params, args)                              \
	HIDDEN ret name params                                               \
	{                                                                    \
		return ((ret(*) params)need(&lib, INDEX_##name)) args;       \
	}
#define VOID_FORWARD(lib, name, params, args)                              \
	HIDDEN void name params                                              \
	{                                                                    \
		((void(*) params)need(&lib, INDEX_##name)) args;             \
	}

#define GNUTLS_FORWARD(ret, name, params, args)                            \
	FORWARD(gnutls_library, ret, name, params, args)
#define GNUTLS_VOID_FORWARD(name, params, args)                            \
	VOID_FORWARD(gnutls_library, name, params, args)
#define IDN2_FORWARD(ret, name, params, args)                              \
	FORWARD(idn2_library, ret, name, params, args)
#define IDN2_VOID_FORWARD(name, params, args)                              \
	VOID_FORWARD(idn2_library, name, params, args)

#define JSONC_FORWARD(ret, name, params, args)                             \
	FORWARD(jsonc_library, ret, name, params, args)
#define JSONC_VOID_FORWARD(name, params, args)                             \
	VOID_FORWARD(jsonc_library, name, params, args)
#define PSL_FORWARD(ret, name, params, args)                               \
	FORWARD(psl_library, ret, name, params, args)
#define PSL_VOID_FORWARD(name, params, args)                               \
	VOID_FORWARD(psl_library, name, params, args)

GNUTLS_FUNCTIONS(GNUTLS_FORWARD, GNUTLS_VOID_FORWARD)
IDN2_FUNCTIONS(IDN2_FORWARD, IDN2_VOID_FORWARD)
JSONC_FUNCTIONS(JSONC_FORWARD, JSONC_VOID_FORWARD)
PSL_FUNCTIONS(PSL_FORWARD, PSL_VOID_FORWARD)

/* gnutls_free is GnuTLS's one data symbol we use: a pointer to its
 * deallocation function. Ours always points here, and this calls the
 * library's current one. */
static void free_through_library(void *ptr)
{
	need_library(&gnutls_library);
	(*(gnutls_free_function *)library_gnutls_free)(ptr);
}

HIDDEN gnutls_free_function gnutls_free = free_through_library;
