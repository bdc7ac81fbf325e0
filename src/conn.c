/* conn.c - sockets, deadlines and buffered I/O; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Output is collected up to this size before a send: one syscall per
 * buffer, never one per line (DESIGN.md, performance budget). */
#define CONN_WRITE_CHUNK ((size_t)64 * 1024)
#define CONN_READ_CHUNK ((size_t)16 * 1024)

struct conn {
	int fd;
	int timeout_s;
	bool has_deadline;
	struct timespec deadline;
	struct buf in;   /* received, not yet consumed: [in_off, in.len) */
	size_t in_off;
	struct buf out;  /* queued for sending */
	const struct conn_transport *transport;
	void *transport_ctx;
	char *peer;
};

/* The plain transport: the socket itself. */
static ssize_t plain_recv(void *ctx, void *buf, size_t len, struct err *e)
{
	struct conn *c = ctx;
	ssize_t n = recv(c->fd, buf, len, 0);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_AGAIN;
	err_set(e, EX_TEMPFAIL, "cannot read from %s: %s", c->peer,
	        strerror(errno));
	return CONN_FAILED;
}

static ssize_t plain_send(void *ctx, const void *buf, size_t len,
                          struct err *e)
{
	struct conn *c = ctx;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_AGAIN;
	err_set(e, EX_TEMPFAIL, "cannot send to %s: %s", c->peer,
	        strerror(errno));
	return CONN_FAILED;
}

static bool plain_wants_write(void *ctx)
{
	(void)ctx;
	return false; /* recv waits for input, send waits for output: see
	                 conn_fill/conn_flush which pass the direction */
}

static const struct conn_transport plain_transport = {
	plain_recv, plain_send, plain_wants_write, NULL, NULL, NULL,
};

static struct conn *conn_new(int fd, int timeout_s, const char *peer)
{
	struct conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->timeout_s = timeout_s;
	c->peer = xstrdup(peer);
	c->transport = &plain_transport;
	c->transport_ctx = c;
	return c;
}

static struct timespec now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

void conn_start_deadline(struct conn *c)
{
	if (c->timeout_s <= 0) {
		c->has_deadline = false;
		return;
	}
	c->deadline = now_monotonic();
	c->deadline.tv_sec += c->timeout_s;
	c->has_deadline = true;
}

static int remaining_ms_until(const struct timespec *deadline)
{
	struct timespec now = now_monotonic();
	long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	               (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int conn_remaining_ms(const struct conn *c)
{
	return c->has_deadline ? remaining_ms_until(&c->deadline) : -1;
}

/* Wait for fd to become ready; -1 timeout_ms means forever. */
static int wait_fd(int fd, bool for_write, int timeout_ms)
{
	struct pollfd p = {fd, for_write ? POLLOUT : POLLIN, 0};
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

int conn_wait(struct conn *c, bool for_write, const char *what,
              struct err *e)
{
	int left = conn_remaining_ms(c);
	if (left == 0)
		goto timeout;
	int r = wait_fd(c->fd, for_write, left);
	if (r > 0)
		return EX_OK;
	if (r < 0)
		return err_set(e, EX_OSERR, "poll failed: %s", strerror(errno));
timeout:
	return err_set(e, EX_TEMPFAIL,
	               "timed out after %d s %s %s (see 'timeout')",
	               c->timeout_s, what, c->peer);
}

/* Connect one socket, bounded by timeout_s. Returns 0 or an errno value. */
static int connect_bounded(int fd, const struct sockaddr *addr,
                           socklen_t addrlen, int timeout_s)
{
	if (connect(fd, addr, addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return errno;
	int r = wait_fd(fd, true, timeout_s > 0 ? timeout_s * 1000 : -1);
	if (r == 0)
		return ETIMEDOUT;
	if (r < 0)
		return errno;
	int soerr = 0;
	socklen_t len = sizeof soerr;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

static int bind_source(int fd, int family, const char *source_ip)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	if (getaddrinfo(source_ip, NULL, &hints, &res) != 0)
		return EAFNOSUPPORT;
	int r = bind(fd, res->ai_addr, res->ai_addrlen) == 0 ? 0 : errno;
	freeaddrinfo(res);
	return r;
}

static void describe_addr(const struct sockaddr *sa, char *out, size_t len)
{
	if (getnameinfo(sa, sa->sa_family == AF_INET6
	                        ? sizeof(struct sockaddr_in6)
	                        : sizeof(struct sockaddr_in),
	                out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, len, "?");
}

static int resolve(const char *host, int port, struct addrinfo **res,
                   struct err *e)
{
	char service[16];
	snprintf(service, sizeof service, "%d", port);
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	int r = getaddrinfo(host, service, &hints, res);
	if (r == 0)
		return EX_OK;
	switch (r) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return err_set(e, EX_NOHOST, "cannot find host '%s': %s", host,
		               gai_strerror(r));
	case EAI_AGAIN:
		return err_set(e, EX_TEMPFAIL,
		               "temporary failure looking up host '%s': %s",
		               host, gai_strerror(r));
	default:
		return err_set(e, EX_TEMPFAIL, "cannot look up host '%s': %s",
		               host, gai_strerror(r));
	}
}

/* Connect one socket to ai's address, bounded by timeout_s; 0 and *fd,
 * or an errno value. */
static int connect_one(const struct addrinfo *ai, const char *source_ip,
                       int timeout_s, int *fd_out)
{
	int fd = socket(ai->ai_family,
	                ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                ai->ai_protocol);
	if (fd < 0)
		return errno;
	int r = source_ip ? bind_source(fd, ai->ai_family, source_ip) : 0;
	if (r == 0)
		r = connect_bounded(fd, ai->ai_addr, ai->ai_addrlen, timeout_s);
	if (r != 0) {
		close(fd);
		return r;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fd_out = fd;
	return 0;
}

static int connect_error(const char *host, int port, int timeout_s,
                         int tried, const char *addr, int last_errno,
                         struct err *e)
{
	if (last_errno == ETIMEDOUT)
		return err_set(e, EX_TEMPFAIL,
		               "cannot connect to %s port %d: timed out after "
		               "%d s", host, port, timeout_s);
	return err_set(e, EX_TEMPFAIL, "cannot connect to %s port %d%s%s: %s",
	               host, port, tried > 1 ? " (tried every address, last " : "",
	               tried > 1 ? addr : "", strerror(last_errno));
}

static struct conn *conn_connected(int fd, int timeout_s, const char *host,
                                   const char *addr, int port)
{
	char peer[512];
	snprintf(peer, sizeof peer, "%s[%s]:%d", host, addr, port);
	return conn_new(fd, timeout_s, peer);
}

int conn_open_tcp(struct conn **out, const char *host, int port,
                  const char *source_ip, int timeout_s, struct err *e)
{
	struct addrinfo *res;
	int rc = resolve(host, port, &res, e);
	if (rc != EX_OK)
		return rc;
	int last_errno = 0, tried = 0;
	char addr[64] = "?";
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = -1;
		describe_addr(ai->ai_addr, addr, sizeof addr);
		tried++;
		last_errno = connect_one(ai, source_ip, timeout_s, &fd);
		if (last_errno == 0) {
			*out = conn_connected(fd, timeout_s, host, addr, port);
			freeaddrinfo(res);
			return EX_OK;
		}
	}
	freeaddrinfo(res);
	return connect_error(host, port, timeout_s, tried, addr, last_errno,
	                     e);
}

int conn_open_address(struct conn **out, const char *name,
                      const unsigned char *address, size_t address_len,
                      int port, const char *source_ip, int timeout_s,
                      struct err *e)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct addrinfo ai = {.ai_socktype = SOCK_STREAM,
	                      .ai_protocol = IPPROTO_TCP,
	                      .ai_addr = (struct sockaddr *)&ss};
	if (address_len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, address, 4);
		ai.ai_family = AF_INET;
		ai.ai_addrlen = sizeof *sin;
	} else if (address_len == 16) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, address, 16);
		ai.ai_family = AF_INET6;
		ai.ai_addrlen = sizeof *sin6;
	} else {
		return err_set(e, EX_SOFTWARE, "an address of %zu bytes",
		               address_len);
	}
	char addr[64] = "?";
	describe_addr(ai.ai_addr, addr, sizeof addr);
	int fd = -1;
	int r = connect_one(&ai, source_ip, timeout_s, &fd);
	if (r != 0) {
		struct buf where = BUF_INIT;
		buf_printf(&where, "%s[%s]", name, addr);
		connect_error(buf_str(&where), port, timeout_s, 1, addr, r, e);
		buf_free(&where);
		return EX_TEMPFAIL;
	}
	*out = conn_connected(fd, timeout_s, name, addr, port);
	return EX_OK;
}

int conn_open_unix(struct conn **out, const char *path, int timeout_s,
                   struct err *e)
{
	struct sockaddr_un sun = {0};
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return err_set(e, EX_CONFIG, "socket path '%s' is too long",
		               path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, EX_OSERR, "cannot create a socket: %s",
		               strerror(errno));
	int r = connect_bounded(fd, (struct sockaddr *)&sun, sizeof sun,
	                        timeout_s);
	if (r != 0) {
		close(fd);
		return err_set(e, EX_TEMPFAIL, "cannot connect to socket %s: %s",
		               path, strerror(r));
	}
	*out = conn_new(fd, timeout_s, path);
	return EX_OK;
}

static int conn_fill(struct conn *c, struct err *e);

/* Read exactly len bytes (binary protocols such as SOCKS). */
static int conn_read_exact(struct conn *c, void *out, size_t len,
                           struct err *e)
{
	while (c->in.len - c->in_off < len) {
		int rc = conn_fill(c, e);
		if (rc != EX_OK)
			return rc;
	}
	memcpy(out, c->in.data + c->in_off, len);
	c->in_off += len;
	return EX_OK;
}

#define SOCKS5_DEFAULT_PORT 1080

static const char *socks5_reply_text(unsigned char code)
{
	static const char *texts[] = {
		"succeeded", "general SOCKS server failure",
		"connection not allowed by ruleset", "network unreachable",
		"host unreachable", "connection refused", "TTL expired",
		"command not supported", "address type not supported",
	};
	return code < sizeof texts / sizeof texts[0] ? texts[code]
	                                             : "unknown error";
}

/* RFC 1928: greeting with "no authentication", then CONNECT by name. */
static int socks5_handshake(struct conn *c, const char *host, int port,
                            struct err *e)
{
	size_t host_len = strlen(host);
	if (host_len > 255)
		return err_set(e, EX_CONFIG, "host name '%s' is too long for "
		               "SOCKS5", host);
	unsigned char reply[4];
	conn_start_deadline(c);
	int rc = conn_write(c, "\x05\x01\x00", 3, e);
	if (rc == EX_OK)
		rc = conn_flush(c, e);
	if (rc == EX_OK)
		rc = conn_read_exact(c, reply, 2, e);
	if (rc != EX_OK)
		return rc;
	if (reply[0] != 5 || reply[1] != 0)
		return err_set(e, EX_UNAVAILABLE, "the SOCKS5 proxy %s requires "
		               "an authentication method outbox does not "
		               "support", c->peer);
	unsigned char req[4 + 1 + 255 + 2] = {5, 1, 0, 3, (unsigned char)host_len};
	memcpy(req + 5, host, host_len);
	req[5 + host_len] = (unsigned char)(port >> 8);
	req[6 + host_len] = (unsigned char)(port & 0xff);
	rc = conn_write(c, req, 7 + host_len, e);
	if (rc == EX_OK)
		rc = conn_flush(c, e);
	if (rc == EX_OK)
		rc = conn_read_exact(c, reply, 4, e);
	if (rc != EX_OK)
		return rc;
	if (reply[0] != 5 || reply[1] != 0)
		return err_set(e, reply[1] == 1 || reply[1] >= 9 ? EX_UNAVAILABLE
		                                                : EX_TEMPFAIL,
		               "the SOCKS5 proxy %s could not connect to %s "
		               "port %d: %s", c->peer, host, port,
		               socks5_reply_text(reply[1]));
	/* Skip the bound address: IPv4, name, or IPv6, then the port. */
	unsigned char skip[255 + 2], name_len = 0;
	size_t addr_len = reply[3] == 1 ? 4 : reply[3] == 4 ? 16 : 0;
	if (reply[3] == 3) {
		rc = conn_read_exact(c, &name_len, 1, e);
		addr_len = name_len;
	} else if (addr_len == 0) {
		return err_set(e, EX_PROTOCOL, "the SOCKS5 proxy %s sent an "
		               "invalid reply", c->peer);
	}
	if (rc == EX_OK)
		rc = conn_read_exact(c, skip, addr_len + 2, e);
	if (rc == EX_OK && c->in_off == c->in.len) {
		buf_reset(&c->in);
		c->in_off = 0;
	}
	return rc;
}

int conn_open_socks5(struct conn **out, const char *proxy_host,
                     int proxy_port, const char *host, int port,
                     const char *source_ip, int timeout_s, struct err *e)
{
	int rc = conn_open_tcp(out, proxy_host,
	                       proxy_port ? proxy_port : SOCKS5_DEFAULT_PORT,
	                       source_ip, timeout_s, e);
	if (rc != EX_OK)
		return rc;
	rc = socks5_handshake(*out, host, port, e);
	if (rc != EX_OK) {
		conn_close(*out);
		*out = NULL;
		return rc;
	}
	char peer[512];
	snprintf(peer, sizeof peer, "%s:%d (via proxy %s)", host, port,
	         (*out)->peer);
	free((*out)->peer);
	(*out)->peer = xstrdup(peer);
	return EX_OK;
}

/* Receive more bytes into c->in, waiting within the deadline. */
static int conn_fill(struct conn *c, struct err *e)
{
	for (;;) {
		buf_reserve(&c->in, CONN_READ_CHUNK);
		ssize_t n = c->transport->recv(c->transport_ctx,
		                               c->in.data + c->in.len,
		                               CONN_READ_CHUNK, e);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = '\0';
			return EX_OK;
		}
		if (n == 0)
			return err_set(e, EX_TEMPFAIL,
			               "the server %s closed the connection",
			               c->peer);
		if (n == CONN_FAILED)
			return e->code;
		bool for_write = c->transport->wants_write(c->transport_ctx);
		int rc = conn_wait(c, for_write, "waiting for", e);
		if (rc != EX_OK)
			return rc;
	}
}

int conn_read_line(struct conn *c, struct buf *line, struct err *e)
{
	buf_reset(line);
	for (;;) {
		const char *start = c->in.data ? c->in.data + c->in_off : "";
		size_t avail = c->in.len - c->in_off;
		const char *nl = avail ? memchr(start, '\n', avail) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - start);
			size_t text = len && start[len - 1] == '\r' ? len - 1 : len;
			if (text > CONN_MAX_LINE)
				break;
			buf_add(line, start, text);
			c->in_off += len + 1;
			if (c->in_off == c->in.len) {
				buf_reset(&c->in);
				c->in_off = 0;
			}
			return EX_OK;
		}
		if (avail > CONN_MAX_LINE)
			break;
		/* Compact before reading more so the buffer stays small. */
		if (c->in_off) {
			buf_consume(&c->in, c->in_off);
			c->in_off = 0;
		}
		int rc = conn_fill(c, e);
		if (rc != EX_OK)
			return rc;
	}
	return err_set(e, EX_PROTOCOL,
	               "the server %s sent a line longer than %d bytes",
	               c->peer, CONN_MAX_LINE);
}

int conn_read_some(struct conn *c, struct buf *out, size_t max, bool secret,
                   bool *eof, struct err *e)
{
	*eof = false;
	size_t avail = c->in.len - c->in_off;
	if (avail > 0) {
		size_t n = avail < max ? avail : max;
		if (secret)
			buf_reserve_secret(out, n);
		buf_add(out, c->in.data + c->in_off, n);
		secure_zero(c->in.data + c->in_off, n);
		c->in_off += n;
		if (c->in_off == c->in.len) {
			buf_reset(&c->in);
			c->in_off = 0;
		}
		return EX_OK;
	}
	/* Straight into out: no copy of the bytes stays behind in conn. */
	size_t want = max < CONN_READ_CHUNK ? max : CONN_READ_CHUNK;
	for (;;) {
		if (secret)
			buf_reserve_secret(out, want);
		else
			buf_reserve(out, want);
		ssize_t n = c->transport->recv(c->transport_ctx,
		                               out->data + out->len, want, e);
		if (n > 0) {
			out->len += (size_t)n;
			out->data[out->len] = '\0';
			return EX_OK;
		}
		if (n == 0) {
			*eof = true;
			return EX_OK;
		}
		if (n == CONN_FAILED)
			return e->code;
		bool for_write = c->transport->wants_write(c->transport_ctx);
		int rc = conn_wait(c, for_write, "waiting for", e);
		if (rc != EX_OK)
			return rc;
	}
}

int conn_flush(struct conn *c, struct err *e)
{
	size_t off = 0;
	while (off < c->out.len) {
		ssize_t n = c->transport->send(c->transport_ctx,
		                               c->out.data + off,
		                               c->out.len - off, e);
		if (n > 0) {
			off += (size_t)n;
			/* Progress: a slow but moving reader is not a timeout. */
			conn_start_deadline(c);
			continue;
		}
		if (n == CONN_FAILED)
			return e->code;
		bool for_write = true;
		if (c->transport != &plain_transport)
			for_write = c->transport->wants_write(c->transport_ctx);
		int rc = conn_wait(c, for_write, "sending to", e);
		if (rc != EX_OK)
			return rc;
	}
	/* The buffer may have held an AUTH line: do not leave it behind. */
	secure_zero(c->out.data, c->out.len);
	buf_reset(&c->out);
	return EX_OK;
}

int conn_write(struct conn *c, const void *data, size_t len, struct err *e)
{
	if (c->out.len == 0)
		conn_start_deadline(c);
	buf_add(&c->out, data, len);
	if (c->out.len >= CONN_WRITE_CHUNK)
		return conn_flush(c, e);
	return EX_OK;
}

size_t conn_buffered(const struct conn *c)
{
	size_t n = c->in.len - c->in_off;
	if (c->transport->pending)
		n += c->transport->pending(c->transport_ctx);
	return n;
}

void conn_discard_buffered(struct conn *c)
{
	buf_reset(&c->in);
	c->in_off = 0;
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *conn_peer_name(const struct conn *c)
{
	return c->peer;
}

void conn_set_transport(struct conn *c, const struct conn_transport *t,
                        void *ctx)
{
	c->transport = t;
	c->transport_ctx = ctx;
}

bool conn_is_encrypted(const struct conn *c)
{
	return c->transport != &plain_transport;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->transport != &plain_transport) {
		if (c->transport->close)
			c->transport->close(c->transport_ctx);
		if (c->transport->free)
			c->transport->free(c->transport_ctx);
	}
	close(c->fd);
	/* A write that failed half way leaves an AUTH line or an OAuth
	 * request in out, and in may hold a token endpoint's reply. */
	buf_wipe(&c->in);
	buf_wipe(&c->out);
	free(c->peer);
	free(c);
}
