/* dns.c - DNS lookups through the system's resolver configuration; see
 * dns.h for why the exchange is ours and how long it may take. */
#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sanitize.h"
#include "util.h"

#define DNS_PORT 53
/* A query: header, a name of at most 255 octets, QTYPE and QCLASS, and
 * the OPT record: 282 octets. */
#define QUERY_MAX       512
#define OPT_RR_SIZE     11 /* root owner, type, class, TTL, RDLENGTH */
#define TYPE_OPT        41
#define TCP_LENGTH_SIZE 2    /* RFC 1035 4.2.2 */
#define FLAG_TC         0x02 /* in the header's third octet */
#define FLAG_AD         0x20 /* in the fourth */
#define RCODE_MASK      0x0f
#define RCODE_FORMERR   1
#define RCODE_NXDOMAIN  3

struct server {
	struct sockaddr_storage addr;
	socklen_t len;
};

struct dns_resolver {
	struct __res_state res; /* for res_nmkquery; owned: res_nclose */
	struct server servers[DNS_MAX_SERVERS];
	size_t server_count;
	long long timeout_ms; /* the whole lookup */
	int attempts;         /* attempts: */
	long long retrans_ms; /* timeout: */
	bool trust_ad;
	bool tcp_only; /* use-vc */
	bool rotate;
	unsigned rotation; /* the next lookup's first server, with rotate */
};

/* One query, as sent. */
struct query {
	unsigned char bytes[QUERY_MAX];
	size_t plain_len; /* header and question */
	bool edns;        /* the OPT record follows (and ARCOUNT is 1) */
};

/* What asking one server gave. */
enum outcome {
	ASK_REPLY,     /* a reply to our query, in the buffer */
	ASK_TIMEOUT,   /* nothing in time */
	ASK_UNREACHED, /* refused (ICMP port unreachable, RST) */
	ASK_FAILED,    /* no route, a socket error, a broken TCP reply */
};

/* What all the exchanges of one lookup saw. */
struct report {
	size_t timeouts;
	size_t unreached;
	size_t failures;
	bool truncated; /* a UDP reply had TC: the rest went over TCP */
	long long elapsed_ms;
};

/* ---- time ---------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or until (monotonic ms): 1 ready, 0
 * the time is up, -1 poll failed. */
static int wait_fd(int fd, short events, long long until)
{
	for (;;) {
		long long left = until - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = fd, .events = events};
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* ---- the resolver handle ------------------------------------------------- */

/* Copy res_ninit's servers: glibc keeps IPv4 ones in nsaddr_list and IPv6
 * ones in _u._ext.nsaddrs (with nsaddr_list[i].sin_family 0). */
static void copy_servers(struct dns_resolver *r)
{
	size_t n = r->res.nscount > 0 ? (size_t)r->res.nscount : 0;
	for (size_t i = 0; i < n && r->server_count < DNS_MAX_SERVERS; i++) {
		struct server *s = &r->servers[r->server_count];
		if (r->res.nsaddr_list[i].sin_family == AF_INET) {
			memcpy(&s->addr, &r->res.nsaddr_list[i],
			       sizeof r->res.nsaddr_list[i]);
			s->len = sizeof(struct sockaddr_in);
		} else if (r->res._u._ext.nsaddrs[i] &&
		           r->res._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
			memcpy(&s->addr, r->res._u._ext.nsaddrs[i],
			       sizeof(struct sockaddr_in6));
			s->len = sizeof(struct sockaddr_in6);
		} else {
			continue;
		}
		r->server_count++;
	}
}

int dns_resolver_open(struct dns_resolver **out, int timeout_s, struct err *e)
{
	*out = NULL;
	if (timeout_s < 1 || timeout_s > DNS_MAX_TIMEOUT)
		return err_set(
		    e, EX_SOFTWARE,
		    "the DNS timeout must be 1 to %d seconds, not %d",
		    DNS_MAX_TIMEOUT, timeout_s);
	struct dns_resolver *r = xcalloc(1, sizeof *r);
	if (res_ninit(&r->res) != 0) {
		free(r);
		return err_set(e, EX_TEMPFAIL,
		               "cannot read the DNS resolver configuration "
		               "(/etc/resolv.conf); try again later");
	}
	copy_servers(r);
	r->timeout_ms = (long long)timeout_s * 1000;
	r->attempts = r->res.retry > 0 ? r->res.retry : 1;
	r->retrans_ms =
	    (long long)(r->res.retrans > 0 ? r->res.retrans : 1) * 1000;
#ifdef RES_TRUSTAD
	r->trust_ad = (r->res.options & RES_TRUSTAD) != 0;
#endif
	r->tcp_only = (r->res.options & RES_USEVC) != 0;
	r->rotate = (r->res.options & RES_ROTATE) != 0;
	*out = r;
	return EX_OK;
}

void dns_resolver_close(struct dns_resolver *r)
{
	if (!r)
		return;
	res_nclose(&r->res);
	free(r);
}

bool dns_resolver_trusts_ad(const struct dns_resolver *r)
{
	return r->trust_ad;
}

int dns_resolver_use_servers(struct dns_resolver *r,
                             const struct sockaddr_storage *servers,
                             size_t count, struct err *e)
{
	if (count < 1 || count > DNS_MAX_SERVERS)
		return err_set(e, EX_SOFTWARE,
		               "a DNS server list needs 1 to %d servers",
		               DNS_MAX_SERVERS);
	for (size_t i = 0; i < count; i++)
		if (servers[i].ss_family != AF_INET &&
		    servers[i].ss_family != AF_INET6)
			return err_set(e, EX_SOFTWARE,
			               "a DNS server address is neither IPv4 "
			               "nor IPv6");
	for (size_t i = 0; i < count; i++) {
		r->servers[i].addr = servers[i];
		r->servers[i].len = servers[i].ss_family == AF_INET
		                        ? sizeof(struct sockaddr_in)
		                        : sizeof(struct sockaddr_in6);
	}
	r->server_count = count;
	return EX_OK;
}

/* "127.0.0.53", or "::1 port 5353" for a port other than 53. */
static void describe_server(struct buf *out, const struct server *s)
{
	char text[INET6_ADDRSTRLEN] = "?";
	unsigned port;
	if (s->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&s->addr;
		inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&s->addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
		port = ntohs(in6->sin6_port);
	}
	buf_add_str(out, text);
	if (port != DNS_PORT)
		buf_printf(out, " port %u", port);
}

/* ---- queries and replies ------------------------------------------------- */

/* res_nmkquery for the absolute name (its trailing dot keeps it from ever
 * being completed), a random ID, and an EDNS0 OPT record (RFC 6891 6.1.2:
 * root owner, CLASS = our UDP payload size, TTL 0 = version 0, no DO). */
static bool build_query(struct dns_resolver *r, const char *name, uint16_t type,
                        struct query *q)
{
	struct buf absolute = BUF_INIT;
	buf_add_str(&absolute, name);
	if (absolute.len == 0 || absolute.data[absolute.len - 1] != '.')
		buf_add_char(&absolute, '.');
	int n =
	    res_nmkquery(&r->res, ns_o_query, buf_str(&absolute), ns_c_in, type,
	                 NULL, 0, NULL, q->bytes, QUERY_MAX - OPT_RR_SIZE);
	buf_free(&absolute);
	if (n < DNS_HEADER_SIZE)
		return false;
	/* glibc's IDs come from a weaker source than getrandom(2) in some
	 * versions; the ID is half of what a spoofer must guess */
	unsigned char id[2];
	if (random_bytes(id, sizeof id) == 0)
		memcpy(q->bytes, id, sizeof id);
	q->plain_len = (size_t)n;
	unsigned char *opt = q->bytes + n;
	memset(opt, 0, OPT_RR_SIZE);
	opt[2] = TYPE_OPT;
	opt[3] = DNS_EDNS_UDP_SIZE >> 8;
	opt[4] = DNS_EDNS_UDP_SIZE & 0xff;
	q->edns = true;
	q->bytes[10] = 0; /* ARCOUNT: the OPT record */
	q->bytes[11] = 1;
	return true;
}

static void drop_edns(struct query *q)
{
	q->edns = false;
	q->bytes[11] = 0;
}

static size_t query_len(const struct query *q)
{
	return q->plain_len + (q->edns ? OPT_RR_SIZE : 0);
}

/* A reply to this query: our ID, QR set, and our question (the name
 * ignoring ASCII case), or no question in an error reply (FORMERR replies
 * often have none). Anything else is not ours and is ignored. */
static bool reply_matches(const struct query *q, const unsigned char *m,
                          size_t n)
{
	if (n < DNS_HEADER_SIZE || m[0] != q->bytes[0] || m[1] != q->bytes[1] ||
	    !(m[2] & 0x80))
		return false;
	unsigned qdcount = (unsigned)m[4] << 8 | m[5];
	int rcode = m[3] & RCODE_MASK;
	if (qdcount == 0)
		return rcode != 0 && rcode != RCODE_NXDOMAIN;
	if (qdcount != 1 || n < q->plain_len)
		return false;
	size_t fixed = q->plain_len - 4; /* QTYPE and QCLASS */
	for (size_t i = DNS_HEADER_SIZE; i < fixed; i++) {
		unsigned char c = m[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != q->bytes[i])
			return false;
	}
	return memcmp(m + fixed, q->bytes + fixed, 4) == 0;
}

/* ---- one exchange -------------------------------------------------------- */

static enum outcome errno_outcome(int err)
{
	return err == ECONNREFUSED || err == ECONNRESET ? ASK_UNREACHED
	                                                : ASK_FAILED;
}

/* UDP (RFC 1035 4.2.1) on a connected socket: the kernel delivers only
 * datagrams from the server's address and port. */
static enum outcome ask_udp(const struct server *s, const struct query *q,
                            long long until, struct buf *reply)
{
	int fd = socket(s->addr.ss_family,
	                SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ASK_FAILED;
	enum outcome o = ASK_FAILED;
	if (connect(fd, (const struct sockaddr *)&s->addr, s->len) != 0 ||
	    send(fd, q->bytes, query_len(q), MSG_NOSIGNAL) !=
	        (ssize_t)query_len(q)) {
		o = errno_outcome(errno);
		goto out;
	}
	for (;;) {
		int w = wait_fd(fd, POLLIN, until);
		if (w <= 0) {
			o = w == 0 ? ASK_TIMEOUT : ASK_FAILED;
			break;
		}
		ssize_t n = recv(fd, reply->data, DNS_MAX_MESSAGE, MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			o = errno_outcome(errno);
			break;
		}
		/* a datagram larger than any DNS message is not one */
		if ((size_t)n <= DNS_MAX_MESSAGE &&
		    reply_matches(q, (const unsigned char *)reply->data,
		                  (size_t)n)) {
			reply->len = (size_t)n;
			o = ASK_REPLY;
			break;
		}
	}
out:
	close(fd);
	return o;
}

/* Move exactly len bytes through a non-blocking stream, either way. */
static enum outcome stream_io(int fd, bool sending, unsigned char *p,
                              size_t len, long long until)
{
	while (len > 0) {
		int w = wait_fd(fd, sending ? POLLOUT : POLLIN, until);
		if (w <= 0)
			return w == 0 ? ASK_TIMEOUT : ASK_FAILED;
		ssize_t n = sending ? send(fd, p, len, MSG_NOSIGNAL)
		                    : recv(fd, p, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno_outcome(errno);
		if (n == 0)
			return ASK_FAILED; /* closed before the whole reply */
		p += n;
		len -= (size_t)n;
	}
	return ASK_REPLY;
}

/* TCP (RFC 1035 4.2.2, RFC 7766): the query and the reply each behind a
 * two-octet length. */
static enum outcome ask_tcp(const struct server *s, const struct query *q,
                            long long until, struct buf *reply)
{
	int fd = socket(s->addr.ss_family,
	                SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ASK_FAILED;
	enum outcome o;
	if (connect(fd, (const struct sockaddr *)&s->addr, s->len) != 0) {
		int err = errno, w;
		socklen_t len = sizeof err;
		if (err != EINPROGRESS) {
			o = errno_outcome(err);
			goto out;
		}
		if ((w = wait_fd(fd, POLLOUT, until)) <= 0) {
			o = w == 0 ? ASK_TIMEOUT : ASK_FAILED;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0) {
			o = errno_outcome(err);
			goto out;
		}
	}
	unsigned char framed[TCP_LENGTH_SIZE + QUERY_MAX];
	size_t qlen = query_len(q);
	framed[0] = (unsigned char)(qlen >> 8);
	framed[1] = (unsigned char)(qlen & 0xff);
	memcpy(framed + TCP_LENGTH_SIZE, q->bytes, qlen);
	unsigned char length[TCP_LENGTH_SIZE];
	if ((o = stream_io(fd, true, framed, TCP_LENGTH_SIZE + qlen, until)) !=
	        ASK_REPLY ||
	    (o = stream_io(fd, false, length, sizeof length, until)) !=
	        ASK_REPLY)
		goto out;
	size_t n = (size_t)length[0] << 8 | length[1];
	o = stream_io(fd, false, (unsigned char *)reply->data, n, until);
	if (o == ASK_REPLY &&
	    !reply_matches(q, (const unsigned char *)reply->data, n))
		o = ASK_FAILED; /* a stream that answers something else */
	if (o == ASK_REPLY)
		reply->len = n;
out:
	close(fd);
	return o;
}

/* ---- the lookup ---------------------------------------------------------- */

/* The UDP wait of one try (dns.h): timeout split among every try, but
 * neither below DNS_MIN_WAIT_MS nor above resolv.conf's timeout:. */
static long long udp_wait_ms(const struct dns_resolver *r)
{
	long long tries = (long long)r->attempts * (long long)r->server_count;
	long long w = r->timeout_ms / (tries > 0 ? tries : 1);
	if (w < DNS_MIN_WAIT_MS)
		w = DNS_MIN_WAIT_MS;
	return w < r->retrans_ms ? w : r->retrans_ms;
}

/* Ask server i until it gives a reply worth judging: again over TCP after
 * a truncated UDP reply (and TCP from then on), again without EDNS after
 * FORMERR to the OPT record (RFC 6891 7). */
static enum outcome ask_server(struct dns_resolver *r, size_t i,
                               struct query *q, bool *tcp, long long deadline,
                               struct buf *reply, struct report *rep)
{
	for (;;) {
		long long now = now_ms();
		if (now >= deadline)
			return ASK_TIMEOUT;
		long long wait = *tcp ? r->retrans_ms : udp_wait_ms(r);
		long long until = now + wait < deadline ? now + wait : deadline;
		enum outcome o = *tcp
		                     ? ask_tcp(&r->servers[i], q, until, reply)
		                     : ask_udp(&r->servers[i], q, until, reply);
		rep->timeouts += o == ASK_TIMEOUT;
		rep->unreached += o == ASK_UNREACHED;
		rep->failures += o == ASK_FAILED;
		if (o != ASK_REPLY)
			return o;
		const unsigned char *m = (const unsigned char *)reply->data;
		if ((m[2] & FLAG_TC) && !*tcp) {
			*tcp = rep->truncated = true;
			continue;
		}
		if ((m[3] & RCODE_MASK) == RCODE_FORMERR && q->edns) {
			drop_edns(q);
			continue;
		}
		return ASK_REPLY;
	}
}

/* Ask the servers in turn, attempts times, until one gives NOERROR or
 * NXDOMAIN (or anything unusable: the parser judges it). A server that
 * answers with another RCODE is not asked again; its reply is kept in
 * error_reply, to be judged when no server does better. */
static bool exchange_all(struct dns_resolver *r, struct query *q,
                         long long deadline, struct buf *reply,
                         struct buf *error_reply, struct report *rep)
{
	size_t n = r->server_count;
	size_t first = r->rotate ? r->rotation++ % n : 0;
	bool tcp = r->tcp_only, done[DNS_MAX_SERVERS] = {false};
	for (int attempt = 0; attempt < r->attempts; attempt++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = (first + k) % n;
			if (done[i])
				continue;
			if (now_ms() >= deadline)
				return false;
			if (ask_server(r, i, q, &tcp, deadline, reply, rep) !=
			    ASK_REPLY)
				continue;
			const unsigned char *m =
			    (const unsigned char *)reply->data;
			int rcode = m[3] & RCODE_MASK;
			if (rcode == 0 || rcode == RCODE_NXDOMAIN ||
			    (m[2] & FLAG_TC))
				return true;
			done[i] = true;
			buf_reset(error_reply);
			buf_add(error_reply, reply->data, reply->len);
		}
	}
	return false;
}

static bool exchange(struct dns_resolver *r, struct query *q, struct buf *reply,
                     struct buf *error_reply, struct report *rep)
{
	long long start = now_ms();
	bool answered =
	    exchange_all(r, q, start + r->timeout_ms, reply, error_reply, rep);
	rep->elapsed_ms = now_ms() - start;
	return answered;
}

static int no_reply(const struct dns_resolver *r, const char *name,
                    uint16_t type, const struct report *rep,
                    struct dns_result *out, struct err *e)
{
	out->status = DNS_TEMPFAIL;
	struct buf servers = BUF_INIT;
	for (size_t i = 0; i < r->server_count; i++) {
		if (i > 0)
			buf_add_str(&servers, ", ");
		describe_server(&servers, &r->servers[i]);
	}
	/* the time spent, which resolv.conf's timeout: and attempts: may
	 * have made shorter than timeout_s */
	long long seconds = (rep->elapsed_ms + 500) / 1000;
	if (seconds < 1)
		seconds = 1;
	const char *s = seconds == 1 ? "" : "s";
	struct buf why = BUF_INIT;
	if (r->server_count == 0)
		buf_add_str(&why, "no DNS server is configured "
		                  "(/etc/resolv.conf)");
	else if (rep->truncated)
		buf_printf(&why,
		           "the reply was too large for UDP and no DNS "
		           "server answered over TCP within %lld second%s "
		           "(asked %s)",
		           seconds, s, buf_str(&servers));
	else if (rep->timeouts == 0 && rep->failures == 0)
		buf_printf(&why, "no DNS server is listening (asked %s)",
		           buf_str(&servers));
	else if (rep->timeouts == 0)
		buf_printf(&why, "no DNS server could be reached (asked %s)",
		           buf_str(&servers));
	else
		buf_printf(&why,
		           "no DNS server answered within %lld "
		           "second%s (asked %s)",
		           seconds, s, buf_str(&servers));
	err_set(e, EX_TEMPFAIL,
	        "DNS lookup of the %s records of %s failed: %s; try again "
	        "later",
	        dns_type_name(type), name, buf_str(&why));
	buf_free(&why);
	buf_free(&servers);
	return EX_TEMPFAIL;
}

int dns_lookup(struct dns_resolver *r, const char *name, uint16_t type,
               struct dns_result *out, struct err *e)
{
	*out = (struct dns_result){.status = DNS_REFUSED, .rcode = -1};
	int rc = dns_question_check(name, type, e);
	if (rc != EX_OK)
		return rc;
	struct buf shown = BUF_INIT; /* lower case, no trailing dot */
	for (const char *p = name; *p; p++)
		buf_add_char(&shown,
		             (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p));
	if (shown.len > 0 && shown.data[shown.len - 1] == '.')
		shown.data[--shown.len] = '\0';
	struct query q;
	if (!build_query(r, buf_str(&shown), type, &q)) {
		rc = err_set(e, EX_DATAERR,
		             "DNS lookup of the %s records of %s is "
		             "impossible: the name does not fit in a query",
		             dns_type_name(type), buf_str(&shown));
		buf_free(&shown);
		return rc;
	}
	struct buf reply = BUF_INIT, error_reply = BUF_INIT;
	struct report rep = {0};
	buf_reserve(&reply, DNS_MAX_MESSAGE);
	bool answered =
	    r->server_count > 0 && exchange(r, &q, &reply, &error_reply, &rep);
	struct buf *judged = answered ? &reply : &error_reply;
	if (!answered && error_reply.len == 0) {
		rc = no_reply(r, buf_str(&shown), type, &rep, out, e);
	} else {
		/* RFC 4035 3.2.3's bit means nothing without trust-ad (and
		 * res_nsend clears it the same way) */
		if (!r->trust_ad)
			((unsigned char *)judged->data)[3] &=
			    (unsigned char)~FLAG_AD;
		rc = dns_parse_reply((const unsigned char *)judged->data,
		                     judged->len, name, type, out, e);
	}
	buf_free(&reply);
	buf_free(&error_reply);
	buf_free(&shown);
	return rc;
}
