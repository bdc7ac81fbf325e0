/* log.c - logfile and syslog lines; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sanitize.h"
#include "util.h"

#define LOG_DEFAULT_TIME_FORMAT "%b %d %H:%M:%S"

const char *log_exit_code_name(int code)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{EX_OK, "EX_OK"},           {EX_USAGE, "EX_USAGE"},
		{EX_DATAERR, "EX_DATAERR"}, {EX_NOINPUT, "EX_NOINPUT"},
		{EX_NOUSER, "EX_NOUSER"},   {EX_NOHOST, "EX_NOHOST"},
		{EX_UNAVAILABLE, "EX_UNAVAILABLE"},
		{EX_SOFTWARE, "EX_SOFTWARE"}, {EX_OSERR, "EX_OSERR"},
		{EX_OSFILE, "EX_OSFILE"},   {EX_CANTCREAT, "EX_CANTCREAT"},
		{EX_IOERR, "EX_IOERR"},     {EX_TEMPFAIL, "EX_TEMPFAIL"},
		{EX_PROTOCOL, "EX_PROTOCOL"}, {EX_NOPERM, "EX_NOPERM"},
		{EX_CONFIG, "EX_CONFIG"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].code == code)
			return names[i].name;
	return "EX_SOFTWARE";
}

/* A value in a log line: made harmless, single quotes inside a quoted
 * value are escaped so a reader can split fields reliably. */
static void add_value(struct buf *out, const char *value, bool quoted)
{
	struct buf clean = BUF_INIT;
	sanitize_append_line(&clean, value, strlen(value));
	if (quoted)
		buf_add_char(out, '\'');
	for (size_t i = 0; i < clean.len; i++) {
		if (quoted && clean.data[i] == '\'')
			buf_add_str(out, "\\'");
		else
			buf_add_char(out, clean.data[i]);
	}
	if (quoted)
		buf_add_char(out, '\'');
	buf_free(&clean);
}

void log_format_entry(const struct log_entry *entry, struct buf *out)
{
	buf_add_str(out, "host=");
	add_value(out, entry->host ? entry->host : "", false);
	buf_printf(out, " tls=%s auth=%s", entry->tls ? "on" : "off",
	           entry->auth ? "on" : "off");
	if (entry->auth && entry->user) {
		buf_add_str(out, " user=");
		add_value(out, entry->user, false);
	}
	buf_add_str(out, " from=");
	add_value(out, entry->from ? entry->from : "", false);
	buf_add_str(out, " recipients=");
	for (size_t i = 0; entry->recipients && i < entry->recipients->count;
	     i++) {
		if (i)
			buf_add_char(out, ',');
		add_value(out, entry->recipients->items[i].mailbox, false);
	}
	if (entry->exit_code == EX_OK)
		buf_printf(out, " mailsize=%llu",
		           (unsigned long long)entry->mailsize);
	if (entry->smtp_status) {
		buf_printf(out, " smtpstatus=%d", entry->smtp_status);
		if (entry->smtp_msg) {
			buf_add_str(out, " smtpmsg=");
			add_value(out, entry->smtp_msg, true);
		}
	}
	if (entry->error) {
		buf_add_str(out, " errormsg=");
		add_value(out, entry->error, true);
	}
	buf_printf(out, " exitcode=%s", log_exit_code_name(entry->exit_code));
}

/* Append strftime's text for fmt and tm, then a space, to out. strftime
 * says 0 both for an empty result and for one that does not fit; with the
 * space in the format the result is never empty, so 0 means "grow". */
static int add_time_stamp(const char *fmt, const struct tm *tm,
                          struct buf *out, struct err *e)
{
	struct buf spaced = BUF_INIT;
	buf_printf(&spaced, "%s ", fmt);
	int rc = EX_OK;
	for (size_t size = 256;; size *= 2) {
		if (size > LOG_MAX_TIME_STAMP + 2)
			size = LOG_MAX_TIME_STAMP + 2; /* the space, the NUL */
		buf_reserve(out, size);
		/* The format is the user's logfile_time_format, by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		size_t n = strftime(out->data + out->len, size,
		                    buf_str(&spaced), tm);
#pragma GCC diagnostic pop
		if (n > 0) {
			out->len += n;
			break;
		}
		out->data[out->len] = '\0';
		if (size == LOG_MAX_TIME_STAMP + 2) {
			rc = err_set(e, EX_CONFIG,
			             "logfile_time_format '%.40s%s' makes a "
			             "time stamp longer than %d bytes; the "
			             "delivery was not logged",
			             fmt, strlen(fmt) > 40 ? "..." : "",
			             LOG_MAX_TIME_STAMP);
			break;
		}
	}
	buf_free(&spaced);
	return rc;
}

/* Open the log file to append to it. A symbolic link is followed only when
 * it belongs to root or to the user (the rule of the kernel's
 * protected_symlinks): one that another user put in its place, in a
 * directory others can write to, cannot make outbox append to a file of
 * its choosing, while msmtp setups such as `logfile /dev/stdout` (root's
 * link) keep working. The mode is msmtp's (its fopen "a"): 0666 less the
 * umask. */
static int open_logfile(const char *path, struct err *e)
{
	int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
	int fd = open(path, flags | O_NOFOLLOW, 0666);
	struct stat st;
	if (fd < 0 && errno == ELOOP && lstat(path, &st) == 0 &&
	    S_ISLNK(st.st_mode)) {
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			err_set(e, EX_IOERR, "cannot write to log file %s: it is "
			        "a symbolic link of another user (user id %lu), "
			        "which outbox does not follow (name the file "
			        "itself; '-' is the standard output)", path,
			        (unsigned long)st.st_uid);
			return -1;
		}
		fd = open(path, flags, 0666);
	}
	if (fd < 0)
		err_set(e, EX_IOERR, "cannot write to log file %s: %s", path,
		        strerror(errno));
	return fd;
}

static int write_logfile(const struct account *a, const char *line,
                         struct err *e)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	const char *fmt = a->logfile_time_format && *a->logfile_time_format
	                          ? a->logfile_time_format
	                          : LOG_DEFAULT_TIME_FORMAT;
	struct buf out = BUF_INIT;
	int rc = add_time_stamp(fmt, &tm, &out, e);
	if (rc != EX_OK) {
		buf_free(&out);
		return rc;
	}
	buf_add_str(&out, line);
	buf_add_char(&out, '\n');
	bool to_stdout = strcmp(a->logfile, "-") == 0;
	int fd = to_stdout ? STDOUT_FILENO : open_logfile(a->logfile, e);
	if (fd < 0) {
		buf_free(&out);
		return EX_IOERR;
	}
	/* One write() per entry: O_APPEND keeps concurrent writers' lines
	 * whole. */
	if (write(fd, out.data, out.len) != (ssize_t)out.len)
		rc = err_set(e, EX_IOERR, "cannot write to log file %s: %s",
		             a->logfile, strerror(errno));
	if (!to_stdout)
		close(fd);
	buf_free(&out);
	return rc;
}

int log_write(const struct account *a, const struct log_entry *entry,
              struct err *e)
{
	if (!a->logfile && !a->syslog)
		return EX_OK;
	struct buf line = BUF_INIT;
	log_format_entry(entry, &line);
	int rc = EX_OK;
	if (a->syslog) {
		/* the setter stored a name from the table, so f is found */
		const struct conf_syslog_facility *f =
		        conf_find_syslog_facility(a->syslog);
		openlog("outbox", LOG_PID, f ? f->value : LOG_USER);
		syslog(entry->exit_code == EX_OK ? LOG_INFO : LOG_ERR, "%s",
		       buf_str(&line));
		closelog();
	}
	if (a->logfile)
		rc = write_logfile(a, buf_str(&line), e);
	buf_free(&line);
	return rc;
}
