/* direct.h - direct delivery: no smarthost; the message goes to each
 * recipient domain's mail exchangers (RFC 5321 section 5), the hop
 * protected by DANE (RFC 7672) or MTA-STS (RFC 8461) where the domain
 * publishes them, and by opportunistic STARTTLS otherwise.
 *
 * An account with `direct_delivery on` is sent this way (send.c, flush.c).
 * The recipients are grouped by domain (IDN domains as A-labels); each
 * domain's route (direct_route.h) is tried host by host, address by
 * address (IPv6, then IPv4) on port 25, until one MX host opens a session;
 * that session's transaction decides for the domain's recipients. So one
 * domain's outcome never touches another's: a domain that defers (4xx,
 * every MX unreachable, DNS trouble, a policy no MX host meets) defers
 * only its recipients; a domain that refuses (5xx, no such domain, a null
 * MX) refuses only its own. No AUTH is ever sent; EHLO names this host by
 * `domain` (default: its FQDN).
 *
 * Opportunistic TLS (RFC 7435): STARTTLS whenever offered, nothing
 * verified; when that handshake fails the same address is tried once more
 * in clear text, as Postfix's "may" level does. With DANE or MTA-STS
 * enforce there is no such fallback: a host that does not meet them is
 * not used (the domain is deferred when none does). MTA-STS testing
 * verifies too, but on failure delivers anyway and says so. */
#ifndef OUTBOX_DIRECT_H
#define OUTBOX_DIRECT_H

#include "buf.h"
#include "conf.h"
#include "delivery.h"
#include "direct_route.h"
#include "err.h"
#include "msg.h"
#include "session.h"
#include "smtp.h"

/* Deliver m to env's recipients directly. out (initialised here, one
 * result per recipient of env->rcpt, in order; free with delivery_free)
 * says what became of each. One log line per domain attempt names the MX
 * host. warnings gets what the user must see even on success (MTA-STS
 * testing failures, policy problems); -v notes go to trace. Returns
 * delivery_exit_code(out) (EX_OK, EX_UNAVAILABLE when a recipient was
 * refused for good, else EX_TEMPFAIL) with e saying who has the message
 * and why the others do not; or EX_CONFIG (an unsafe MTA-STS cache, an
 * unreadable trust file) before anything is sent. */
int direct_deliver(const struct account *a, const struct smtp_envelope *env,
                   const struct message *m, const struct session_trace *trace,
                   struct delivery *out, struct buf *warnings, struct err *e);

/* Open a session with address k of route's host h, as a delivery does:
 * h->tls decides the TLS; MTA-STS testing falls back to opportunistic TLS
 * with a line in warnings, and a failed opportunistic handshake to clear
 * text (a note in trace). Fails as session_open_mx. */
int direct_open_host(const struct account *a, const struct route *route,
                     const struct route_host *h, size_t k,
                     const struct session_trace *trace, struct session *s,
                     struct buf *warnings, struct err *e);

#endif
