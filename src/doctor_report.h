/* doctor_report.h - the checklist of outbox --check: one line per check
 * (ok, info, warn, FAIL), the fix for every line that is not ok, and its
 * two renderings (text for a person, JSON for monitoring). */
#ifndef OUTBOX_DOCTOR_REPORT_H
#define OUTBOX_DOCTOR_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum doctor_level { DOCTOR_OK, DOCTOR_INFO, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor_item {
	enum doctor_level level;
	char *area;    /* "config", "smarthost", "spf", "dkim", "dmarc" ... */
	char *message; /* one sentence: what was found */
	char *fix;     /* NULL for ok/info: the record or setting that fixes
	                * it, exactly */
};

struct doctor_report {
	char *account;     /* the account's name */
	char *summary;     /* the first line: from, smarthost or direct */
	struct doctor_item *items;
	size_t count;
};

/* Add a line; message and fix (may be NULL) are printf formats of their
 * own: message is formatted with the arguments, fix is taken as it is. The
 * texts are made harmless (control characters from DNS or a server never
 * reach the terminal). */
__attribute__((format(printf, 5, 6))) void
doctor_add(struct doctor_report *r, enum doctor_level level, const char *area,
           const char *fix, const char *message, ...);

/* How many lines have this level. */
size_t doctor_count(const struct doctor_report *r, enum doctor_level level);

/* The text form: a heading, one line per check ("  ok    spf    ..."), the
 * fix indented under it, then a summary ("2 failed, 1 warning"). */
void doctor_format_text(const struct doctor_report *r, struct buf *out);

/* The JSON form: {"account":..., "summary":..., "failed":N, "warnings":N,
 * "checks":[{"area":..., "status":"ok|info|warn|fail", "message":...,
 * "fix":...}...]} and a newline. */
void doctor_format_json(const struct doctor_report *r, struct buf *out);

void doctor_report_free(struct doctor_report *r);

#endif
