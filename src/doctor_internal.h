/* doctor_internal.h - what the doctor's files share (doctor.c runs the
 * configuration and smarthost checks, doctor_dns.c the DNS ones); no
 * other module includes it. */
#ifndef OUTBOX_DOCTOR_INTERNAL_H
#define OUTBOX_DOCTOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "dns.h"
#include "doctor_report.h"
#include "session.h"

/* An address of the smarthost or of this host. */
struct doctor_address {
	unsigned char bytes[16];
	size_t len; /* 4 or 16 */
};

struct doctor {
	const struct account *a;
	const struct session_trace *trace;
	struct doctor_report *report;
	struct dns_resolver *dns;
	char *sender;          /* envelope sender = From address */
	const char *from_domain; /* points into sender; NULL: none */
	/* the smarthost's addresses (for SPF when its provider is not
	 * known); this host's public address for direct delivery */
	struct doctor_address *smarthost;
	size_t smarthost_count;
	struct doctor_address self;
	/* what the SPF and DKIM checks found, for DMARC's alignment */
	bool spf_passes;  /* the sending host is authorised */
	/* the provider's note when its own envelope sender may be what
	 * SPF checks (spf.h), else NULL */
	const char *spf_alignment_note;
	bool dkim_valid_for_from_org; /* a signer's d= aligns (relaxed) and
	                               * its record is good */
	bool dkim_valid_strict;       /* ... aligns strictly */
};

/* doctor_dns.c: the DNS checks, in order (spf, dkim, dmarc, dns). */
void doctor_check_spf(struct doctor *d);
void doctor_check_dkim(struct doctor *d);
void doctor_check_dmarc(struct doctor *d);
void doctor_check_domain_records(struct doctor *d);
void doctor_check_reverse_dns(struct doctor *d);

/* "192.0.2.1" / "2001:db8::1" into a static-free buffer (heap). */
char *doctor_address_text(const struct doctor_address *ad);

#endif
