/* test_tls.c - fingerprint parsing, and tls_start against an in-process
 * GnuTLS server (a forked child on a unix socket) with certificates made
 * at test time: pinning, verification failures, certcheck off, the
 * handshake timeout, bulk data through the non-blocking transport, and
 * the modes of direct delivery: opportunistic (no verdict, no warning),
 * DANE (EE and TA records, SNI, the configured trust ignored) and MTA-STS
 * (a trust file and the MX name); none of the first two touches the
 * session cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "dane.h"
#include "err.h"
#include "tls.h"
#include "util.h"

/* ---- fingerprints ----------------------------------------------------- */

static void test_parse_fingerprint(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t len; /* 0: invalid */
	} cases[] = {
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		 "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
		 32},
		{"00112233445566778899AABBCCDDEEFF"
		 "00112233445566778899aabbccddeeff",
		 32},
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
		 20},
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", 16},
		{"", 0},
		{"AB:CD:EF", 0},
		/* 33 bytes */
		{"00112233445566778899AABBCCDDEEFF"
		 "00112233445566778899aabbccddeeff00",
		 0},
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:F", 0},
		{"0:011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", 0},
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FG", 0},
		{"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:", 0},
		{"00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned char out[32];
		size_t len = 0;
		struct err e = ERR_INIT;
		int rc = tls_parse_fingerprint(cases[i].text, out, &len, &e);
		if (cases[i].len) {
			if (rc != EX_OK || len != cases[i].len)
				fail_msg("case %zu: rc %d len %zu: %s", i, rc,
				         len, err_msg(&e));
			assert_int_equal(out[0], 0x00);
			assert_int_equal(out[1], 0x11);
			assert_int_equal(out[10], 0xaa);
		} else if (rc != EX_CONFIG) {
			fail_msg("case %zu ('%s') accepted", i, cases[i].text);
		}
		err_clear(&e);
	}
}

/* ---- a test server ---------------------------------------------------- */

struct fixture {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char sha256[32 * 3];
	char path[108];
	char dir[64];
	/* a root CA, an intermediate it signed, and a leaf for
	 * mx.example.org the intermediate signed (DANE-TA, MTA-STS) */
	gnutls_x509_privkey_t ca_key, inter_key, mx_key;
	gnutls_x509_crt_t ca_crt, inter_crt, mx_crt;
	char ca_file[128];   /* the root as PEM */
	char cache_dir[128]; /* a session cache directory, made on use */
};

static void fingerprint_hex(gnutls_x509_crt_t crt, char *out)
{
	unsigned char fp[32];
	size_t len = sizeof fp;
	assert_int_equal(gnutls_x509_crt_get_fingerprint(
	                         crt, GNUTLS_DIG_SHA256, fp, &len),
	                 0);
	for (size_t i = 0; i < len; i++)
		sprintf(out + i * 3, "%02X%s", fp[i], i + 1 < len ? ":" : "");
}

/* A certificate for cn, a CA or a leaf (cn its DNS name), signed by
 * issuer (NULL: self-signed), valid for a day either side of now. */
static int make_cert(gnutls_x509_privkey_t *key, gnutls_x509_crt_t *crt,
		     const char *cn, bool ca, gnutls_x509_crt_t issuer,
		     gnutls_x509_privkey_t issuer_key)
{
	if (gnutls_x509_privkey_init(key) < 0 ||
	    gnutls_x509_privkey_generate(
	            *key, GNUTLS_PK_ECDSA,
	            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(crt) < 0)
		return -1;
	time_t now = time(NULL);
	unsigned char serial[8];
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	gnutls_x509_crt_set_version(*crt, 3);
	gnutls_x509_crt_set_serial(*crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(*crt, now - 86400);
	gnutls_x509_crt_set_expiration_time(*crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                              cn, (unsigned)strlen(cn));
	gnutls_x509_crt_set_key(*crt, *key);
	gnutls_x509_crt_set_basic_constraints(*crt, ca, -1);
	if (ca) {
		gnutls_x509_crt_set_key_usage(*crt, GNUTLS_KEY_KEY_CERT_SIGN);
	} else {
		gnutls_x509_crt_set_subject_alt_name(*crt, GNUTLS_SAN_DNSNAME,
		                                     cn, (unsigned)strlen(cn),
		                                     GNUTLS_FSAN_SET);
		gnutls_x509_crt_set_key_usage(*crt,
		                              GNUTLS_KEY_DIGITAL_SIGNATURE);
	}
	if (gnutls_x509_crt_sign2(*crt, issuer ? issuer : *crt,
	                          issuer ? issuer_key : *key, GNUTLS_DIG_SHA256,
	                          0) < 0)
		return -1;
	/* As parsed, not as built: GnuTLS keeps a built certificate's raw
	 * names unset, and a server's chain is cut where the names do not
	 * link (gnutls_certificate_set_x509_key sorts it). */
	gnutls_datum_t der = {NULL, 0};
	int r = gnutls_x509_crt_export2(*crt, GNUTLS_X509_FMT_DER, &der);
	gnutls_x509_crt_deinit(*crt);
	if (r >= 0 && gnutls_x509_crt_init(crt) >= 0)
		r = gnutls_x509_crt_import(*crt, &der, GNUTLS_X509_FMT_DER);
	gnutls_free(der.data);
	return r < 0 ? -1 : 0;
}

static int write_pem(gnutls_x509_crt_t crt, const char *path)
{
	gnutls_datum_t pem = {NULL, 0};
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
		return -1;
	FILE *fp = fopen(path, "w");
	int rc = fp && fwrite(pem.data, 1, pem.size, fp) == pem.size ? 0 : -1;
	if (fp && fclose(fp) != 0)
		rc = -1;
	gnutls_free(pem.data);
	return rc;
}

/* A self-signed ECDSA certificate for "localhost", made now. */
static int setup_fixture(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	if (gnutls_x509_privkey_init(&f->key) < 0 ||
	    gnutls_x509_privkey_generate(
	            f->key, GNUTLS_PK_ECDSA,
	            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&f->crt) < 0)
		return -1;
	time_t now = time(NULL);
	unsigned char serial[8];
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	gnutls_x509_crt_set_version(f->crt, 3);
	gnutls_x509_crt_set_serial(f->crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(f->crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(f->crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(f->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                              "localhost", 9);
	gnutls_x509_crt_set_subject_alt_name(f->crt, GNUTLS_SAN_DNSNAME,
	                                     "localhost", 9, GNUTLS_FSAN_SET);
	gnutls_x509_crt_set_key(f->crt, f->key);
	gnutls_x509_crt_set_key_usage(f->crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (gnutls_x509_crt_sign2(f->crt, f->crt, f->key, GNUTLS_DIG_SHA256,
	                          0) < 0)
		return -1;
	fingerprint_hex(f->crt, f->sha256);
	snprintf(f->dir, sizeof f->dir, "/tmp/outbox-test-tls-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/sock", f->dir);
	snprintf(f->ca_file, sizeof f->ca_file, "%s/ca.pem", f->dir);
	snprintf(f->cache_dir, sizeof f->cache_dir, "%s/cache", f->dir);
	if (make_cert(&f->ca_key, &f->ca_crt, "Test Root", true, NULL,
	              NULL) < 0 ||
	    make_cert(&f->inter_key, &f->inter_crt, "Test Intermediate", true,
	              f->ca_crt, f->ca_key) < 0 ||
	    make_cert(&f->mx_key, &f->mx_crt, "mx.example.org", false,
	              f->inter_crt, f->inter_key) < 0 ||
	    write_pem(f->ca_crt, f->ca_file) < 0)
		return -1;
	*state = f;
	return 0;
}

/* The files in the session cache directory (0 when it does not exist),
 * removed. */
static int empty_cache(struct fixture *f)
{
	DIR *d = opendir(f->cache_dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", f->cache_dir, de->d_name);
		unlink(path);
		n++;
	}
	closedir(d);
	rmdir(f->cache_dir);
	return n;
}

static int teardown_fixture(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	unlink(f->ca_file);
	empty_cache(f);
	rmdir(f->dir);
	gnutls_x509_crt_deinit(f->crt);
	gnutls_x509_privkey_deinit(f->key);
	gnutls_x509_crt_deinit(f->ca_crt);
	gnutls_x509_privkey_deinit(f->ca_key);
	gnutls_x509_crt_deinit(f->inter_crt);
	gnutls_x509_privkey_deinit(f->inter_key);
	gnutls_x509_crt_deinit(f->mx_crt);
	gnutls_x509_privkey_deinit(f->mx_key);
	free(f);
	return 0;
}

enum server_mode {
	SERVE_ECHO_HASH, /* read until "END\n", reply with its SHA-256 */
	SERVE_SILENT,    /* accept, never speak */
	/* send session tickets, reply "SNI <name>" (or "SNI -"), wait for
	 * the client to close: with the self-signed localhost certificate,
	 * or with the chain mx.example.org, Test Intermediate (GnuTLS never
	 * sends a self-signed root) */
	SERVE_SNI,
	SERVE_SNI_CHAIN,
};

/* After the handshake: the SNI the client sent, then the client's close. */
static void serve_sni(gnutls_session_t s)
{
	char name[256] = "-";
	size_t len = sizeof name - 1;
	unsigned type = 0;
	if (gnutls_server_name_get(s, name, &len, &type, 0) < 0)
		strcpy(name, "-");
	char line[300];
	snprintf(line, sizeof line, "SNI %s\r\n", name);
	gnutls_record_send(s, line, strlen(line));
	char chunk[256];
	for (;;) {
		ssize_t n = gnutls_record_recv(s, chunk, sizeof chunk);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			_exit(0);
	}
}

/* Server loop of the child: one connection, then _exit. */
static void serve(struct fixture *f, int listener, enum server_mode mode)
{
	int fd = accept(listener, NULL, NULL);
	if (fd < 0)
		_exit(2);
	if (mode == SERVE_SILENT) {
		sleep(30);
		_exit(0);
	}
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	gnutls_certificate_allocate_credentials(&cred);
	if (mode == SERVE_SNI_CHAIN) {
		gnutls_x509_crt_t chain[] = {f->mx_crt, f->inter_crt};
		gnutls_certificate_set_x509_key(cred, chain, 2, f->mx_key);
	} else {
		gnutls_certificate_set_x509_key(cred, &f->crt, 1, f->key);
	}
	gnutls_init(&s, GNUTLS_SERVER);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_datum_t ticket_key = {NULL, 0};
	if (mode == SERVE_SNI || mode == SERVE_SNI_CHAIN) {
		gnutls_session_ticket_key_generate(&ticket_key);
		gnutls_session_ticket_enable_server(s, &ticket_key);
	}
	gnutls_transport_set_int(s, fd);
	int r;
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		_exit(3);
	if (mode == SERVE_SNI || mode == SERVE_SNI_CHAIN)
		serve_sni(s);
	/* Let the client's socket buffer fill: its sends must block (and
	 * be retried) before this side reads anything. */
	usleep(300 * 1000);
	gnutls_hash_hd_t h;
	gnutls_hash_init(&h, GNUTLS_DIG_SHA256);
	struct buf in = BUF_INIT;
	char chunk[16384];
	for (;;) {
		ssize_t n = gnutls_record_recv(s, chunk, sizeof chunk);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			_exit(4);
		buf_add(&in, chunk, (size_t)n);
		if (in.len >= 4 &&
		    memcmp(in.data + in.len - 4, "END\n", 4) == 0)
			break;
		if (in.len > 1024 * 1024) {
			gnutls_hash(h, in.data, in.len);
			buf_reset(&in);
		}
	}
	gnutls_hash(h, in.data, in.len - 4);
	unsigned char digest[32];
	gnutls_hash_deinit(h, digest);
	char line[80];
	for (int i = 0; i < 32; i++)
		sprintf(line + i * 2, "%02x", digest[i]);
	strcat(line, "\r\n");
	gnutls_record_send(s, line, strlen(line));
	gnutls_bye(s, GNUTLS_SHUT_WR);
	_exit(0);
}

static pid_t start_server(struct fixture *f, enum server_mode mode)
{
	unlink(f->path);
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {0};
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	assert_int_equal(bind(listener, (struct sockaddr *)&sun, sizeof sun),
	                 0);
	assert_int_equal(listen(listener, 1), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		serve(f, listener, mode);
	close(listener);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* What session.c would pass for an account with host localhost (and the
 * defaults: certificate check on, the system store, no cache). */
static struct tls_settings plain_settings(void)
{
	return (struct tls_settings){.host = "localhost", .certcheck = true};
}

static struct tls_settings pinned_settings(const struct fixture *f)
{
	struct tls_settings s = plain_settings();
	s.fingerprint = f->sha256;
	return s;
}

/* ---- tls_start -------------------------------------------------------- */

static void test_pinned_bulk_transfer(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_server(f, SERVE_ECHO_HASH);
	struct tls_settings settings = pinned_settings(f);
	struct err e = ERR_INIT;
	struct conn *c = NULL;
	assert_int_equal(conn_open_unix(&c, f->path, 10, &e), EX_OK);
	struct tls_peer peer = {0};
	int rc = tls_start(c, &settings, &peer, &e);
	if (rc != EX_OK)
		fail_msg("tls_start: %s", err_msg(&e));
	assert_true(conn_is_encrypted(c));
	assert_true(peer.verified);
	assert_null(peer.warning);
	assert_non_null(strstr(peer.description, "TLS1."));
	/* the certificate's details only when asked for */
	assert_null(peer.subject);
	assert_null(peer.sha256);
	tls_peer_describe(&peer);
	assert_string_equal(peer.sha256, f->sha256);
	assert_string_equal(peer.subject, "CN=localhost");
	assert_true(peer.expiration > time(NULL));

	/* 8 MiB in odd-sized writes: far more than the socket buffers, so
	 * GnuTLS returns AGAIN mid-record and conn must retry correctly. */
	gnutls_hash_hd_t h;
	gnutls_hash_init(&h, GNUTLS_DIG_SHA256);
	char block[7777];
	size_t total = 0;
	for (unsigned i = 0; total < 8u * 1024 * 1024; i++) {
		for (size_t k = 0; k < sizeof block; k++)
			block[k] = (char)('a' + (i + k) % 26);
		gnutls_hash(h, block, sizeof block);
		assert_int_equal(conn_write(c, block, sizeof block, &e),
		                 EX_OK);
		total += sizeof block;
	}
	assert_int_equal(conn_write(c, "END\n", 4, &e), EX_OK);
	assert_int_equal(conn_flush(c, &e), EX_OK);
	unsigned char digest[32];
	gnutls_hash_deinit(h, digest);
	char want[65];
	for (int i = 0; i < 32; i++)
		sprintf(want + i * 2, "%02x", digest[i]);
	struct buf line = BUF_INIT;
	conn_start_deadline(c);
	assert_int_equal(conn_read_line(c, &line, &e), EX_OK);
	assert_string_equal(buf_str(&line), want);
	buf_free(&line);
	tls_peer_free(&peer);
	conn_close(c);
	stop_server(pid);
}

static void test_pin_mismatch(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_server(f, SERVE_ECHO_HASH);
	struct tls_settings settings = pinned_settings(f);
	/* flip one hex digit of the pin */
	char pin[sizeof f->sha256];
	memcpy(pin, f->sha256, sizeof pin);
	pin[0] = pin[0] == '0' ? '1' : '0';
	settings.fingerprint = pin;
	struct err e = ERR_INIT;
	struct conn *c = NULL;
	assert_int_equal(conn_open_unix(&c, f->path, 10, &e), EX_OK);
	struct tls_peer peer = {0};
	assert_int_equal(tls_start(c, &settings, &peer, &e), EX_NOPERM);
	assert_non_null(strstr(err_msg(&e), "does not match tls_fingerprint"));
	assert_non_null(strstr(err_msg(&e), f->sha256));
	assert_false(conn_is_encrypted(c));
	assert_null(peer.sha256); /* nothing handed out on failure */
	conn_close(c);
	err_clear(&e);
	stop_server(pid);
}

static void test_untrusted_and_certcheck_off(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	/* system trust (the default): a self-signed certificate fails */
	pid_t pid = start_server(f, SERVE_ECHO_HASH);
	struct tls_settings settings = plain_settings();
	struct conn *c = NULL;
	assert_int_equal(conn_open_unix(&c, f->path, 10, &e), EX_OK);
	struct tls_peer peer = {0};
	assert_int_equal(tls_start(c, &settings, &peer, &e), EX_NOPERM);
	assert_non_null(strstr(err_msg(&e), "not trusted"));
	conn_close(c);
	stop_server(pid);
	err_clear(&e);

	/* tls_certcheck off: accepted, unverified, with a warning */
	pid = start_server(f, SERVE_ECHO_HASH);
	settings.certcheck = false;
	assert_int_equal(conn_open_unix(&c, f->path, 10, &e), EX_OK);
	assert_int_equal(tls_start(c, &settings, &peer, &e), EX_OK);
	assert_false(peer.verified);
	assert_non_null(peer.warning);
	assert_non_null(strstr(peer.warning, "not verified"));
	assert_non_null(strstr(peer.warning, f->sha256));
	tls_peer_free(&peer);
	conn_close(c);
	stop_server(pid);
}

static void test_handshake_timeout(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_server(f, SERVE_SILENT);
	struct tls_settings settings = pinned_settings(f);
	struct err e = ERR_INIT;
	struct conn *c = NULL;
	assert_int_equal(conn_open_unix(&c, f->path, 1, &e), EX_OK);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tls_start(c, &settings, NULL, &e), EX_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	          (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 900 && ms < 2500);
	assert_non_null(strstr(err_msg(&e), "TLS handshake"));
	conn_close(c);
	err_clear(&e);
	stop_server(pid);
}

static void test_config_errors_before_handshake(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *directive, *value, *needle;
	} cases[] = {
		{"tls_fingerprint", "AB:CD", "tls_fingerprint"},
		{"tls_priorities", "NORMAL:+BOGUS", "tls_priorities"},
		{"tls_trust_file", "/nonexistent/ca.pem",
		 "/nonexistent/ca.pem"},
		{"tls_cert_file", "/nonexistent/c.pem", "tls_key_file"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* a server that never answers: a config error must not wait */
		pid_t pid = start_server(f, SERVE_SILENT);
		struct tls_settings settings = plain_settings();
		if (strcmp(cases[i].directive, "tls_fingerprint") == 0)
			settings.fingerprint = cases[i].value;
		else if (strcmp(cases[i].directive, "tls_priorities") == 0)
			settings.priorities = cases[i].value;
		else if (strcmp(cases[i].directive, "tls_trust_file") == 0)
			settings.trust_file = cases[i].value;
		else
			settings.cert_file = cases[i].value;
		struct err e = ERR_INIT;
		struct conn *c = NULL;
		assert_int_equal(conn_open_unix(&c, f->path, 5, &e), EX_OK);
		int rc = tls_start(c, &settings, NULL, &e);
		if (rc != EX_CONFIG || !strstr(err_msg(&e), cases[i].needle))
			fail_msg("case %zu: rc %d: %s", i, rc, err_msg(&e));
		conn_close(c);
			err_clear(&e);
		stop_server(pid);
	}
}

/* ---- direct delivery: opportunistic, DANE, MTA-STS -------------------- */

/* A usable set of one record: usage, selector 1 (SPKI) or 0 (the
 * certificate), SHA2-256 of crt's. */
static struct dane_tlsa_set record_set(uint8_t usage, uint8_t selector,
				       gnutls_x509_crt_t crt)
{
	gnutls_datum_t der = {NULL, 0};
	if (selector == 1) {
		gnutls_pubkey_t pub;
		assert_int_equal(gnutls_pubkey_init(&pub), 0);
		assert_int_equal(gnutls_pubkey_import_x509(pub, crt, 0), 0);
		assert_int_equal(
		        gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der),
		        0);
		gnutls_pubkey_deinit(pub);
	} else {
		assert_int_equal(
		        gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der),
		        0);
	}
	unsigned char digest[32];
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data,
	                                  der.size, digest),
	                 0);
	gnutls_free(der.data);
	struct dane_tlsa r = {usage, selector, 1, digest, sizeof digest};
	struct dane_tlsa_set set = {0};
	assert_int_equal(dane_usable(&r, 1, &set), 0);
	return set;
}

/* One connection to a SERVE_SNI(_CHAIN) server with settings (through
 * the session cache when cached): the result, the peer, the error, and
 * the SNI the server saw ("" when the handshake failed). */
static int connect_sni(struct fixture *f, enum server_mode mode,
		       const struct tls_settings *settings, bool cached,
		       struct tls_peer *peer, struct err *e, struct buf *sni)
{
	pid_t pid = start_server(f, mode);
	struct conn *c = NULL;
	assert_int_equal(conn_open_unix(&c, f->path, 10, e), EX_OK);
	struct tls_resumption resume = {0};
	int rc = cached ? tls_start_cached(c, settings, &resume, peer, e)
	                : tls_start(c, settings, peer, e);
	buf_reset(sni);
	if (rc == EX_OK) {
		assert_true(conn_is_encrypted(c));
		conn_start_deadline(c);
		struct err read_err = ERR_INIT;
		assert_int_equal(conn_read_line(c, sni, &read_err), EX_OK);
	} else {
		assert_false(conn_is_encrypted(c));
		assert_false(resume.retry);
	}
	conn_close(c); /* where a ticket would be kept */
	stop_server(pid);
	return rc;
}

/* Encrypt, verify nothing, warn of nothing; the configured trust is not
 * read and no ticket is kept or offered. */
static void test_opportunistic(void **state)
{
	struct fixture *f = *state;
	struct tls_settings settings = {
		.host = "mx.example.org", /* not the certificate's name */
		.port = 25,
		.starttls = true,
		.certcheck = true,
		.trust_file = "/nonexistent/ca.pem",
		.crl_file = "/nonexistent/crl.pem",
		.opportunistic = true,
		.session_cache = true,
		.cache_dir = f->cache_dir,
	};
	struct tls_peer peer = {0};
	struct err e = ERR_INIT;
	struct buf sni = BUF_INIT;
	for (int cached = 0; cached < 2; cached++) {
		int rc = connect_sni(f, SERVE_SNI, &settings, cached, &peer,
		                     &e, &sni);
		if (rc != EX_OK)
			fail_msg("opportunistic: %s", err_msg(&e));
		assert_false(peer.verified);
		assert_false(peer.resumed);
		assert_null(peer.warning);
		assert_null(peer.dane);
		tls_peer_describe(&peer);
		assert_string_equal(peer.sha256, f->sha256);
		assert_string_equal(buf_str(&sni), "SNI mx.example.org");
		tls_peer_free(&peer);
	}
	assert_int_equal(empty_cache(f), 0);
	/* the same without the unreadable files (which alone would keep a
	 * cache entry from being made: its key hashes them) */
	settings.trust_file = NULL;
	settings.crl_file = NULL;
	assert_int_equal(connect_sni(f, SERVE_SNI, &settings, true, &peer, &e,
	                             &sni),
	                 EX_OK);
	tls_peer_free(&peer);
	assert_int_equal(empty_cache(f), 0);
	/* a pin is not checked either: opportunistic comes first */
	settings.fingerprint = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:"
	                       "FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
	                       "DD:EE:FF";
	assert_int_equal(connect_sni(f, SERVE_SNI, &settings, true, &peer, &e,
	                             &sni),
	                 EX_OK);
	assert_false(peer.verified);
	tls_peer_free(&peer);
	assert_int_equal(empty_cache(f), 0);
	/* the control: the same connection pinned keeps the ticket, so the
	 * test above can see one */
	settings.opportunistic = false;
	settings.fingerprint = f->sha256;
	assert_int_equal(connect_sni(f, SERVE_SNI, &settings, true, &peer, &e,
	                             &sni),
	                 EX_OK);
	assert_true(peer.verified);
	tls_peer_free(&peer);
	assert_int_equal(empty_cache(f), 1);
	buf_free(&sni);
}

/* DANE-EE: the record decides; the configured trust, pin and name do
 * not; SNI is the host (the TLSA base domain); no session cache. */
static void test_dane_ee_handshake(void **state)
{
	struct fixture *f = *state;
	struct dane_tlsa_set set = record_set(3, 1, f->crt);
	struct tls_settings settings = {
		.host = "mx.example.org",
		.port = 25,
		.starttls = true,
		.certcheck = true,
		.trust_file = "/nonexistent/ca.pem",
		.fingerprint = "AB:CD", /* malformed: ignored with DANE */
		.session_cache = true,
		.cache_dir = f->cache_dir,
		.opportunistic = true, /* DANE comes first */
		.dane = &set,
	};
	struct tls_peer peer = {0};
	struct err e = ERR_INIT;
	struct buf sni = BUF_INIT;
	for (int cached = 0; cached < 2; cached++) {
		int rc = connect_sni(f, SERVE_SNI, &settings, cached, &peer,
		                     &e, &sni);
		if (rc != EX_OK)
			fail_msg("DANE-EE: %s", err_msg(&e));
		assert_true(peer.verified);
		assert_false(peer.resumed);
		assert_null(peer.warning);
		assert_string_equal(peer.dane, "DANE-EE(3) SPKI(1) SHA2-256(1)");
		tls_peer_describe(&peer);
		assert_string_equal(peer.subject, "CN=localhost");
		assert_string_equal(buf_str(&sni), "SNI mx.example.org");
		tls_peer_free(&peer);
		/* the cache would hash a readable trust file */
		settings.trust_file = NULL;
	}
	assert_int_equal(empty_cache(f), 0);
	dane_tlsa_set_free(&set);

	/* a record for another key: refused, nothing installed */
	set = record_set(3, 1, f->mx_crt);
	int rc = connect_sni(f, SERVE_SNI, &settings, true, &peer, &e, &sni);
	if (rc != EX_NOPERM ||
	    !strstr(err_msg(&e), "matches none of its 1 TLSA record "
	                         "(_25._tcp.mx.example.org)"))
		fail_msg("DANE-EE mismatch: %d %s", rc, err_msg(&e));
	assert_non_null(strstr(err_msg(&e), f->path)); /* the peer */
	assert_null(peer.dane);
	assert_null(peer.sha256);
	err_clear(&e);
	assert_int_equal(empty_cache(f), 0);
	dane_tlsa_set_free(&set);
	buf_free(&sni);
}

/* DANE-TA: the chain verifies to the CA the record names, and the leaf
 * is valid for one of dane_names (or, without them, the host). */
static void test_dane_ta_handshake(void **state)
{
	struct fixture *f = *state;
	struct dane_tlsa_set set = record_set(2, 0, f->inter_crt);
	struct tls_settings settings = {
		.host = "mx.example.org",
		.port = 25,
		.starttls = true,
		.certcheck = true,
		.dane = &set,
	};
	struct tls_peer peer = {0};
	struct err e = ERR_INIT;
	struct buf sni = BUF_INIT;
	int rc = connect_sni(f, SERVE_SNI_CHAIN, &settings, false, &peer, &e,
	                     &sni);
	if (rc != EX_OK)
		fail_msg("DANE-TA: %s", err_msg(&e));
	assert_true(peer.verified);
	assert_string_equal(peer.dane, "DANE-TA(2) Cert(0) SHA2-256(1), "
	                               "trust anchor CN=Test Intermediate");
	assert_string_equal(buf_str(&sni), "SNI mx.example.org");
	tls_peer_free(&peer);

	/* the MX host name was a CNAME: the TLSA base domain is the name
	 * it expanded to, and the certificate has the original name */
	static const char *const names[] = {"mx.provider.net",
	                                    "mx.example.org"};
	settings.host = "mx.provider.net";
	settings.dane_names = names;
	settings.dane_name_count = 2;
	assert_int_equal(connect_sni(f, SERVE_SNI_CHAIN, &settings, false,
	                             &peer, &e, &sni),
	                 EX_OK);
	assert_string_equal(buf_str(&sni), "SNI mx.provider.net");
	tls_peer_free(&peer);

	/* without the name the certificate has: refused */
	settings.dane_name_count = 1;
	rc = connect_sni(f, SERVE_SNI_CHAIN, &settings, false, &peer, &e,
	                     &sni);
	if (rc != EX_NOPERM ||
	    !strstr(err_msg(&e), "not valid for mx.provider.net"))
		fail_msg("DANE-TA wrong name: %d %s", rc, err_msg(&e));
	err_clear(&e);
	/* the self-signed server is not under the CA */
	settings.host = "localhost";
	settings.dane_names = NULL;
	settings.dane_name_count = 0;
	rc = connect_sni(f, SERVE_SNI, &settings, false, &peer, &e, &sni);
	if (rc != EX_NOPERM || !strstr(err_msg(&e), "matches none"))
		fail_msg("DANE-TA other server: %d %s", rc, err_msg(&e));
	err_clear(&e);
	dane_tlsa_set_free(&set);
	buf_free(&sni);
}

/* MTA-STS (RFC 8461 4.2): PKIX against a trust file, the name being the
 * MX host's, without the session cache. */
static void test_mta_sts_mode(void **state)
{
	struct fixture *f = *state;
	struct tls_settings settings = {
		.host = "mx.example.org",
		.port = 25,
		.starttls = true,
		.certcheck = true,
		.trust_file = f->ca_file,
		.session_cache = false,
		.cache_dir = f->cache_dir,
	};
	struct tls_peer peer = {0};
	struct err e = ERR_INIT;
	struct buf sni = BUF_INIT;
	for (int cached = 0; cached < 2; cached++) {
		int rc = connect_sni(f, SERVE_SNI_CHAIN, &settings, cached,
		                     &peer, &e, &sni);
		if (rc != EX_OK)
			fail_msg("MTA-STS: %s", err_msg(&e));
		assert_true(peer.verified);
		assert_null(peer.dane);
		assert_null(peer.warning);
		assert_string_equal(buf_str(&sni), "SNI mx.example.org");
		tls_peer_free(&peer);
	}
	assert_int_equal(empty_cache(f), 0);
	settings.host = "mx2.example.org";
	int rc = connect_sni(f, SERVE_SNI_CHAIN, &settings, false, &peer, &e,
	                     &sni);
	if (rc != EX_NOPERM ||
	    !strstr(err_msg(&e), "not valid for the name 'mx2.example.org'"))
		fail_msg("MTA-STS wrong name: %d %s", rc, err_msg(&e));
	err_clear(&e);
	settings.host = "mx.example.org";
	rc = connect_sni(f, SERVE_SNI, &settings, false, &peer, &e, &sni);
	if (rc != EX_NOPERM || !strstr(err_msg(&e), "not trusted"))
		fail_msg("MTA-STS untrusted: %d %s", rc, err_msg(&e));
	err_clear(&e);
	buf_free(&sni);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fingerprint),
		cmocka_unit_test(test_pinned_bulk_transfer),
		cmocka_unit_test(test_pin_mismatch),
		cmocka_unit_test(test_untrusted_and_certcheck_off),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_config_errors_before_handshake),
		cmocka_unit_test(test_opportunistic),
		cmocka_unit_test(test_dane_ee_handshake),
		cmocka_unit_test(test_dane_ta_handshake),
		cmocka_unit_test(test_mta_sts_mode),
	};
	/* a server child that dies must not kill the test with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_fixture, teardown_fixture);
}
