/* msg_edit.c - header edits; see msg_edit.h. */
#include "msg_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "base64.h"
#include "buf.h"
#include "msg_internal.h"
#include "utf8.h"
#include "util.h"

/* RFC 2047 2: an encoded word is at most 75 characters; 39 input octets
 * make 52 base64 characters, a 64-character word that keeps "From: " and
 * the word within 78 columns. */
#define MSG_ENCODED_WORD_INPUT 39
#define MSG_ID_RANDOM_BYTES 16

static bool is_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 2047 B-encoded words, split on character boundaries and folded. */
static void add_encoded_words(struct buf *out, const char *s, size_t len)
{
	bool utf8 = utf8_is_valid(s, len);
	const char *charset = utf8 ? "UTF-8" : "unknown-8bit";
	size_t i = 0;
	while (i < len) {
		size_t n = len - i;
		if (n > MSG_ENCODED_WORD_INPUT) {
			n = MSG_ENCODED_WORD_INPUT;
			/* RFC 2047 5: never split a multi-octet character. */
			while (utf8 && n > 1 &&
			       ((unsigned char)s[i + n] & 0xc0) == 0x80)
				n--;
		}
		if (i > 0)
			buf_add_str(out, "\r\n ");
		buf_printf(out, "=?%s?B?", charset);
		base64_encode(s + i, n, out);
		buf_add_str(out, "?=");
		i += n;
	}
}

/* A display name as an RFC 5322 phrase: atoms as they are, a quoted string
 * when it has specials, encoded words when it has non-ASCII octets or
 * control characters (so a name given on the command line can never break
 * the header line). */
static void add_display_name(struct buf *out, const char *name)
{
	size_t len = strlen(name);
	bool encode = false, quote = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			encode = true;
		else if (!is_atext(c) && c != ' ')
			quote = true;
	}
	if (len == 0 || name[0] == ' ' || name[len - 1] == ' ' ||
	    strstr(name, "  "))
		quote = true;
	if (encode) {
		add_encoded_words(out, name, len);
		return;
	}
	if (!quote) {
		buf_add(out, name, len);
		return;
	}
	buf_add_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '"' || name[i] == '\\')
			buf_add_char(out, '\\');
		buf_add_char(out, name[i]);
	}
	buf_add_char(out, '"');
}

/* RFC 5322 3.3 date-time in local time with a numeric zone; the names
 * are fixed English, whatever the locale. */
static void add_date(struct buf *out, time_t now)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
	                                "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	localtime_r(&now, &tm);
	long offset = tm.tm_gmtoff / 60;
	char sign = offset < 0 ? '-' : '+';
	if (offset < 0)
		offset = -offset;
	buf_printf(out, "%s, %02d %s %d %02d:%02d:%02d %c%02ld%02ld",
	           days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	           offset / 60, offset % 60);
}

/* RFC 5322 3.6.4 id-right: dot-atom-text or a no-fold-literal. */
static bool msgid_domain_is_valid(const char *d)
{
	size_t len = strlen(d);
	if (len == 0)
		return false;
	if (d[0] == '[') {
		if (len < 3 || d[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (d[i] < 33 || d[i] > 126 || d[i] == '[' ||
			    d[i] == ']' || d[i] == '\\')
				return false;
		return true;
	}
	if (d[0] == '.' || d[len - 1] == '.' || strstr(d, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (d[i] != '.' && !is_atext((unsigned char)d[i]))
			return false;
	return true;
}

/* "<YYYYMMDDhhmmss.RANDOM@domain>": the time keeps ids sortable, 128
 * random bits keep them unique. */
static int add_message_id(struct buf *out, const struct msg_edits *ed,
                          time_t now, struct err *e)
{
	const char *domain = ed->msgid_domain;
	if (!domain || !*domain) {
		const char *at = ed->from_address
		                     ? strrchr(ed->from_address, '@')
		                     : NULL;
		domain = at && msgid_domain_is_valid(at + 1) ? at + 1
		                                             : "localhost";
	}
	if (!msgid_domain_is_valid(domain)) {
		struct buf shown = BUF_INIT;
		for (const char *s = domain; *s && shown.len < 80; s++)
			buf_add_char(&shown, (unsigned char)*s < 0x20 ||
			                             *s == 0x7f ? '?' : *s);
		int rc = err_set(e, EX_CONFIG,
		                 "cannot build a Message-ID: \"%s\" is not a "
		                 "valid domain for it", buf_str(&shown));
		buf_free(&shown);
		return rc;
	}
	/* The kernel's generator: asking GnuTLS would load it (lazylib.h),
	 * which a plain send of cron's mail does not otherwise need. */
	unsigned char rnd[MSG_ID_RANDOM_BYTES];
	if (random_bytes(rnd, sizeof rnd) != 0)
		return err_set(e, EX_OSERR, "cannot build a Message-ID: no "
		               "random bytes from the kernel: %s",
		               strerror(errno));
	struct tm tm;
	gmtime_r(&now, &tm);
	buf_printf(out, "<%04d%02d%02d%02d%02d%02d.", tm.tm_year + 1900,
	           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	           tm.tm_sec);
	for (size_t i = 0; i < sizeof rnd; i++)
		buf_printf(out, "%02x", rnd[i]);
	buf_printf(out, "@%s>", domain);
	return EX_OK;
}

int msg_apply_edits(struct message *m, const struct msg_edits *ed,
                    struct err *e)
{
	struct buf from = BUF_INIT, date = BUF_INIT, msgid = BUF_INIT;
	time_t now = time(NULL);
	int rc = EX_OK;
	/* Build everything first: a failure leaves the message unchanged. */
	bool add_from = ed->from_address && *ed->from_address &&
	                (ed->from_header == HEADER_ON ||
	                 (ed->from_header == HEADER_AUTO &&
	                  message_find(m, "From") < 0));
	if (add_from) {
		/* The address goes into a header line: same rules as for a
		 * command (no CR, LF or other controls, no stray <>). */
		rc = addr_check_smtp_safe(ed->from_address, false, e);
		if (rc != EX_OK)
			return rc;
		buf_add_char(&from, ' ');
		if (ed->from_full_name && *ed->from_full_name) {
			add_display_name(&from, ed->from_full_name);
			buf_printf(&from, " <%s>", ed->from_address);
		} else {
			buf_add_str(&from, ed->from_address);
		}
	}
	bool add_date_field = ed->date_header != HEADER_OFF &&
	                      message_find(m, "Date") < 0;
	if (add_date_field) {
		buf_add_char(&date, ' ');
		add_date(&date, now);
	}
	bool add_msgid = ed->msgid_header != HEADER_OFF &&
	                 message_find(m, "Message-ID") < 0;
	if (add_msgid) {
		buf_add_char(&msgid, ' ');
		rc = add_message_id(&msgid, ed, now, e);
	}
	if (rc != EX_OK) {
		buf_free(&from);
		buf_free(&date);
		buf_free(&msgid);
		return rc;
	}

	static const char *const bcc[] = {"Bcc", "Resent-Bcc", NULL};
	static const char *const recipients[] = {"To", "Cc", "Bcc", NULL};
	for (size_t i = m->count; i-- > 0;) {
		const char *name = m->fields[i].name;
		if ((ed->remove_bcc && msg_field_name_is_any(name, bcc)) ||
		    (ed->undisclosed_recipients &&
		     msg_field_name_is_any(name, recipients)) ||
		    (add_from && ascii_casecmp(name, "From") == 0))
			message_remove_field(m, i);
	}
	/* Fixed order at the top: From, To, Date, Message-ID. */
	if (add_msgid)
		message_add_field(m, 0, "Message-ID", buf_str(&msgid));
	if (add_date_field)
		message_add_field(m, 0, "Date", buf_str(&date));
	if (ed->undisclosed_recipients)
		message_add_field(m, 0, "To", " undisclosed-recipients:;");
	if (add_from)
		message_add_field(m, 0, "From", buf_str(&from));
	buf_free(&from);
	buf_free(&date);
	buf_free(&msgid);
	return EX_OK;
}

void msg_prepend_header(struct message *m, const char *name,
                        const char *raw_value)
{
	struct msg_field *f = message_insert_field(m, 0, name, strlen(name));
	/* Verbatim, except that a line break that is not CRLF followed by
	 * white space (which could end the header or start a new field)
	 * becomes a fold: security invariant 4 holds whatever the caller
	 * passes. */
	for (const char *s = raw_value; *s; s++) {
		if (*s != '\r' && *s != '\n') {
			buf_add_char(&f->raw, *s);
			continue;
		}
		if (s[0] == '\r' && s[1] == '\n')
			s++;
		buf_add(&f->raw, "\r\n", 2);
		if (!msg_is_wsp(s[1]))
			buf_add_char(&f->raw, ' ');
	}
	msg_field_unfold(f);
}
