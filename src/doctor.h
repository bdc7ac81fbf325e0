/* doctor.h - outbox --check: a deliverability doctor for one account.
 *
 * It says, line by line (doctor_report.h), why mail from the account would
 * be rejected or land in spam, and for each problem the exact record or
 * setting that fixes it:
 *   config     the account is complete; the From domain, the envelope
 *              sender's domain and every dkim_domain align for DMARC
 *              (relaxed and strict); the secret source gives a secret
 *              (never shown);
 *   smarthost  it resolves, connects, TLS verifies (expiry within
 *              DOCTOR_EXPIRY_WARN_DAYS is a warning), AUTH is offered
 *              after TLS and the credentials are accepted (AUTH, then
 *              QUIT: no mail is sent); its SIZE limit;
 *   spf        the envelope sender's domain has exactly one valid SPF
 *              record within the 10-lookup limit that authorises the
 *              smarthost (its provider's include, or its addresses) or,
 *              for direct delivery, this host's public address; +all
 *              and ?all flagged;
 *   dkim       each signer's SELECTOR._domainkey.DOMAIN record exists,
 *              parses, publishes the configured key (RSA under 1024 bits
 *              FAIL, 1024 warn) and verifies a test signature;
 *   dmarc      _dmarc of the From domain (or its organizational domain):
 *              policy, pct, rua; which of SPF and DKIM would align;
 *              p=reject or quarantine with nothing aligned is FAIL;
 *   dns        MTA-STS and TLS-RPT records (information), an MX (or an
 *              address) for the sender's domain so bounces come back,
 *              and for direct delivery this host's PTR and forward-
 *              confirmed reverse DNS.
 * DNS goes through the system resolver (dns.h), each lookup bounded by the
 * account's timeout. */
#ifndef OUTBOX_DOCTOR_H
#define OUTBOX_DOCTOR_H

#include <stdbool.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* A certificate that expires sooner than this is a warning. */
#define DOCTOR_EXPIRY_WARN_DAYS 14

/* The exit status when a check failed (warnings alone exit 0). */
#define DOCTOR_FAILED 1

/* Run every check for account a (the sender: opts' -f when given and
 * allowed, else the account's from), the SMTP conversations going to
 * trace (-v), and write the report to out, as JSON when json. Returns
 * EX_OK when nothing failed, DOCTOR_FAILED (e: how many) when something
 * did; EX_CONFIG and the like only when the checks cannot run at all. */
int doctor_run(const struct account *a, const struct options *opts,
               const struct session_trace *trace, bool json,
               struct buf *out, struct err *e);

#endif
