/* send.h - sendmail mode: read the message, build the envelope, edit and
 * sign the header, deliver (or queue), log. */
#ifndef OUTBOX_SEND_H
#define OUTBOX_SEND_H

#include <stdint.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "err.h"
#include "session.h"

/* Run sendmail mode on standard input, handing the SMTP conversation to
 * trace (NULL: none). warnings collects lines for the user that do not
 * change the outcome (printed by main even on success). */
int send_run(const struct options *opts, const struct conf *conf,
             const struct session_trace *trace, struct buf *warnings,
             struct err *e);

/* What became of a message, for a caller that reports it (outbox -bs). */
struct send_report {
	int server_code;         /* the server's deciding reply, 0: none */
	struct buf server_reply; /* that reply's last line, raw */
	char *queue_id;          /* set when the message was queued */
	char *queued_because;    /* with queue on-failure: why (else NULL) */
	uint64_t size_limit;     /* the server's SIZE, 0: none or unknown */
};

/* send_run for the message on fd (read to its end), filling report
 * (NULL: not wanted; else zero-initialised, freed with
 * send_report_free). */
int send_message(const struct options *opts, const struct conf *conf, int fd,
                 const struct session_trace *trace,
                 struct send_report *report, struct buf *warnings,
                 struct err *e);
void send_report_free(struct send_report *report);

/* A message a local user handed to the maildrop (maildrop.h), being
 * picked up by root. */
struct send_pickup {
	int fd;              /* open at the first byte of the message */
	uint64_t size;       /* of the whole entry, for maildrop_max_size */
	uint32_t uid;        /* the submitter: the entry file's owner */
	const char *login;   /* that user's login */
	const char *received; /* the value of the Received field put on top */
};

/* Prepare the picked-up message as send_run would (the options are the
 * entry's, conf's run environment is the submitter's so %U and auto_from
 * name them) and store it in the system queue, due now, recording the
 * submitter; *id_out (heap) names the entry. The sender asked for counts
 * only with an explicit "allow_from_override on". Fails as send_run's
 * preparation does (EX_DATAERR, EX_USAGE, EX_CONFIG: the entry cannot be
 * sent as it is) or as queue_submit (EX_IOERR, EX_CONFIG). */
int send_enqueue_pickup(const struct options *opts, const struct conf *conf,
                        const struct send_pickup *pickup, char **id_out,
                        struct buf *warnings, struct err *e);

#endif
