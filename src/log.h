/* log.h - the record of each delivery: msmtp's logfile format and syslog.
 *
 * One line per message, e.g.
 *   Nov 24 18:24:33 host=mx.example tls=on auth=on user=me from=me@x
 *   recipients=a@y,b@z mailsize=412 smtpstatus=250 smtpmsg='250 ok'
 *   exitcode=EX_OK
 * so existing msmtp log readers keep working. Server text is sanitized;
 * no secret is ever part of an entry. */
#ifndef OUTBOX_LOG_H
#define OUTBOX_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"

/* The longest time stamp logfile_time_format may make (strftime's output:
 * a short format can still ask for a wide field, "%01000000Y"). A longer
 * one is an error, never cut short. */
#define LOG_MAX_TIME_STAMP 4096

struct log_entry {
	const char *host;     /* server host name or socket path */
	bool tls;
	bool auth;
	const char *user;     /* only shown when auth */
	const char *from;
	const struct addr_list *recipients;
	uint64_t mailsize;    /* shown on success only */
	int smtp_status;      /* 0: none */
	const char *smtp_msg; /* last server reply line, or NULL */
	const char *error;    /* our error sentence on failure, or NULL */
	int exit_code;
};

/* "EX_OK", "EX_TEMPFAIL", ... for a sysexits code. */
const char *log_exit_code_name(int code);

/* Format the entry (without the time stamp) into out. */
void log_format_entry(const struct log_entry *entry, struct buf *out);

/* Append the entry to the account's logfile ("-" = stdout) and/or send it
 * to syslog, as configured. The logfile is created 0666 less the umask, as
 * msmtp does, and never through a symbolic link (refused with an error
 * that says so). A logfile that cannot be written is reported in e
 * (EX_IOERR; EX_CONFIG when logfile_time_format makes a time stamp longer
 * than LOG_MAX_TIME_STAMP) and the line is not written; it never changes
 * the delivery's exit code. */
int log_write(const struct account *a, const struct log_entry *entry,
              struct err *e);

#endif
