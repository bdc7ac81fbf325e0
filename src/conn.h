/* conn.h - a connection to the server: TCP or unix socket, deadlines,
 * buffered I/O, and the place where TLS plugs in.
 *
 * Every wait (connect, read, write, TLS handshake) is bounded by the current
 * deadline, set by the SMTP layer per command/reply cycle, so a server that
 * drips one byte at a time still costs at most the timeout. A timeout, a
 * refused/reset/dropped connection and a temporary DNS failure are
 * EX_TEMPFAIL; a host that does not exist is EX_NOHOST. */
#ifndef OUTBOX_CONN_H
#define OUTBOX_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

#define CONN_MAX_LINE 65536 /* longest reply line we accept */

/* A byte transport over the socket (TLS installs one). recv/send are
 * non-blocking: they return the number of bytes moved (> 0), 0 for a clean
 * end of stream (recv only), CONN_AGAIN when they would block (conn then
 * waits for the direction given by wants_write), or CONN_FAILED with e set. */
#define CONN_AGAIN (-1)
#define CONN_FAILED (-2)
struct conn_transport {
	ssize_t (*recv)(void *ctx, void *buf, size_t len, struct err *e);
	ssize_t (*send)(void *ctx, const void *buf, size_t len, struct err *e);
	bool (*wants_write)(void *ctx);   /* direction to poll after CONN_AGAIN */
	size_t (*pending)(void *ctx);     /* bytes decrypted but not yet read */
	void (*close)(void *ctx);         /* send close_notify (best effort) */
	void (*free)(void *ctx);
};

struct conn;

/* Connect to host:port, trying each address getaddrinfo returns (IPv6 and
 * IPv4) in turn, binding to source_ip when not NULL. timeout_s bounds each
 * attempt (0 = no timeout). */
int conn_open_tcp(struct conn **out, const char *host, int port,
                  const char *source_ip, int timeout_s, struct err *e);
/* Connect to one address (4 bytes IPv4, 16 bytes IPv6) on port, as
 * conn_open_tcp does for each of its addresses, with no name lookup (direct
 * delivery resolves the MX hosts itself). name is the host name the address
 * belongs to, shown in conn_peer_name() and messages as
 * "name[address]:port". */
int conn_open_address(struct conn **out, const char *name,
                      const unsigned char *address, size_t address_len,
                      int port, const char *source_ip, int timeout_s,
                      struct err *e);
/* Connect to host:port through a SOCKS5 proxy (RFC 1928, no proxy
 * authentication, the proxy resolves the host name), as msmtp's
 * proxy_host/proxy_port. proxy_port 0 means 1080. */
int conn_open_socks5(struct conn **out, const char *proxy_host,
                     int proxy_port, const char *host, int port,
                     const char *source_ip, int timeout_s, struct err *e);
/* Connect to a unix domain socket. */
int conn_open_unix(struct conn **out, const char *path, int timeout_s,
                   struct err *e);

/* Start a new deadline of the configured timeout from now (no-op when the
 * timeout is 0). */
void conn_start_deadline(struct conn *c);
/* Milliseconds left before the deadline, -1 for none, 0 when passed. */
int conn_remaining_ms(const struct conn *c);
/* Wait until fd is readable (or writable) before the deadline. EX_TEMPFAIL
 * naming `what` on timeout. For transports doing their own handshakes. */
int conn_wait(struct conn *c, bool for_write, const char *what,
              struct err *e);

/* Read one line (without its CRLF or LF) into line (reset first). A line
 * longer than CONN_MAX_LINE or a connection closed mid-line is an error. */
int conn_read_line(struct conn *c, struct buf *line, struct err *e);
/* Append to out at most max (> 0) bytes: those received and not yet
 * consumed, or, when there are none, the next ones to arrive before the
 * deadline. At the end of the stream (the peer closed it) *eof is set and
 * nothing is appended. For protocols that read to the end of the stream
 * (an HTTP/1.1 response with Connection: close), byte for byte. With
 * secret, out grows as buf_reserve_secret grows it, and the bytes handed
 * over are wiped from conn's own buffer. */
int conn_read_some(struct conn *c, struct buf *out, size_t max, bool secret,
                   bool *eof, struct err *e);
/* Queue bytes for sending; sent when the buffer fills or on conn_flush. */
int conn_write(struct conn *c, const void *data, size_t len, struct err *e);
int conn_flush(struct conn *c, struct err *e);

/* Bytes received but not yet consumed (plaintext buffered by conn, plus the
 * transport's pending bytes). Used to detect STARTTLS response injection. */
size_t conn_buffered(const struct conn *c);
/* Drop everything received but not yet consumed. */
void conn_discard_buffered(struct conn *c);

int conn_fd(const struct conn *c);
const char *conn_peer_name(const struct conn *c); /* "host[addr]:port" */
/* Install a transport (TLS) over the socket; conn owns ctx from now on. */
void conn_set_transport(struct conn *c, const struct conn_transport *t,
                        void *ctx);
bool conn_is_encrypted(const struct conn *c);

/* Close (transport close_notify, then the socket) and free. NULL is fine. */
void conn_close(struct conn *c);

#endif
