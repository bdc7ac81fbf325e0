/* direct_info.h - `outbox --serverinfo DOMAIN...` for a direct_delivery
 * account: where mail for each domain would go and how the hop would be
 * protected, without sending any. */
#ifndef OUTBOX_DIRECT_INFO_H
#define OUTBOX_DIRECT_INFO_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* For each of the count domains (NULL/0: the domain of the account's
 * `from`): the MX hosts in the order they would be tried with their
 * addresses, the DNSSEC status of the answers, the MTA-STS policy (fetched
 * or cached, as a delivery would), each host's TLSA records, the TLS each
 * host would get (DANE, MTA-STS, opportunistic) and why a host would be
 * skipped; then a session with the first host that can be reached
 * (greeting, TLS and its verification, capabilities; QUIT, no mail) and
 * one line saying what outbox would do. Into out. Returns EX_OK when every
 * domain has an MX host that answered with the protection it requires;
 * else the status a delivery would have for the first that has not
 * (EX_TEMPFAIL, EX_UNAVAILABLE for no such domain or a null MX), e saying
 * why. EX_USAGE when there is no domain to look at. */
int direct_info_run(const struct account *a, char *const *domains,
                    size_t count, const struct session_trace *trace,
                    struct buf *out, struct buf *warnings, struct err *e);

#endif
