/* dkim_canon.h - the pure text side of DKIM: canonicalisation (RFC 6376
 * 3.4) and the syntax of the values that go into a signature.
 *
 * No I/O and no crypto here, so all of it is unit-tested table-driven and
 * fuzzed (tests/fuzz/fuzz_dkim_canon.c). dkim.c plugs the body
 * canonicaliser's output into SHA-256. */
#ifndef OUTBOX_DKIM_CANON_H
#define OUTBOX_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum dkim_canon { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };

/* RFC 1035 2.3.4 / RFC 5321 4.5.3.1.2: a DNS name and one label. */
#define DKIM_DNS_NAME_MAX 253
#define DKIM_DNS_LABEL_MAX 63
/* Canonical body bytes are collected up to this size before they are
 * handed on: one hash call per stage, not one per word. */
#define DKIM_CANON_STAGE_SIZE (16 * 1024)

/* Parse a c= value: "header/body" or "header" alone (body is then simple,
 * RFC 6376 3.5), each "simple" or "relaxed" in any case. false on anything
 * else. */
bool dkim_canon_parse(const char *text, enum dkim_canon *header,
                      enum dkim_canon *body);
/* "simple" or "relaxed". */
const char *dkim_canon_name(enum dkim_canon c);

/* Receives the canonical body, in order, in pieces of any size. */
typedef void (*dkim_canon_out_fn)(void *ctx, const char *data, size_t len);

/* Streaming body canonicaliser. Its input is the CRLF body in pieces that
 * may split anywhere (between CR and LF, inside a run of white space). A CR
 * not followed by LF and a LF not preceded by CR (which msg.c never
 * produces) are ordinary line content. Memory is constant: trailing empty
 * lines are counted until a non-empty line shows they were not trailing. */
struct dkim_body_canon {
	enum dkim_canon alg;
	dkim_canon_out_fn out;
	void *out_ctx;
	uint64_t empty_lines; /* empty lines not yet emitted */
	bool cr_pending;      /* the last piece ended in a CR */
	bool in_line;         /* the current line has content */
	bool wsp_pending;     /* relaxed: a run of WSP not yet emitted */
	bool wrote;           /* anything was emitted */
	size_t staged;
	char stage[DKIM_CANON_STAGE_SIZE];
};

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon alg,
                          dkim_canon_out_fn out, void *out_ctx);
void dkim_body_canon_update(struct dkim_body_canon *c, const char *data,
                            size_t len);
/* Apply the end-of-body rules (RFC 6376 3.4.3: no trailing empty lines,
 * an empty body is one CRLF; 3.4.4: no trailing empty lines, an empty body
 * stays empty; both: a last line without CRLF gets one) and hand out what
 * is left. The canonicaliser must be initialised again before reuse. */
void dkim_body_canon_finish(struct dkim_body_canon *c);

/* Append the canonical form of one header field, "name:value" followed by
 * CRLF, to out. raw_value is everything after the colon, folding
 * included. simple (3.4.1) keeps it verbatim; relaxed (3.4.2) lower-cases
 * the name, unfolds, turns each WSP run into one SP and drops WSP around
 * the colon and at the end. */
void dkim_header_canon(enum dkim_canon alg, const char *name, size_t name_len,
                       const char *raw_value, size_t value_len,
                       struct buf *out);

/* RFC 6376 3.1: selector = sub-domain *("." sub-domain). */
bool dkim_valid_selector(const char *s);
/* RFC 6376 3.5 d=: sub-domain 1*("." sub-domain), ASCII (A-labels), at
 * most DKIM_DNS_NAME_MAX octets. */
bool dkim_valid_domain(const char *s);
/* RFC 5322 3.6.8 field-name: 1*ftext, at most max octets. */
bool dkim_valid_field_name(const char *s, size_t len, size_t max);
/* domain equals parent or is a subdomain of it (ASCII case-insensitive). */
bool dkim_domain_within(const char *domain, const char *parent);

/* RFC 6376 2.11 DKIM-Quoted-Printable (for i=), appended to out. */
void dkim_qp_encode(const char *s, struct buf *out);

#endif
