/* serverinfo.c - see serverinfo.h. */
#include "serverinfo.h"

#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "session.h"
#include "smtp.h"

static void describe_caps(const struct smtp_caps *caps, struct buf *out)
{
	if (!caps->esmtp) {
		buf_add_str(out, "The server does not support ESMTP (EHLO was "
		                 "refused; HELO was used).\n");
		return;
	}
	buf_add_str(out, "Capabilities:\n");
	if (caps->size) {
		buf_add_str(out, "    SIZE:\n        Maximum message size is ");
		if (caps->size_limit)
			buf_printf(out, "%llu bytes = %.2f MiB\n",
			           (unsigned long long)caps->size_limit,
			           (double)caps->size_limit / (1024.0 * 1024.0));
		else
			buf_add_str(out, "unlimited\n");
	}
	static const struct {
		size_t offset;
		const char *text;
	} flags[] = {
		{offsetof(struct smtp_caps, pipelining),
		 "    PIPELINING:\n        Support for command grouping for "
		 "faster transmission\n"},
		{offsetof(struct smtp_caps, eightbitmime),
		 "    8BITMIME:\n        Support for 8-bit message bodies\n"},
		{offsetof(struct smtp_caps, dsn),
		 "    DSN:\n        Support for Delivery Status Notifications\n"},
		{offsetof(struct smtp_caps, smtputf8),
		 "    SMTPUTF8:\n        Support for internationalized "
		 "addresses\n"},
		{offsetof(struct smtp_caps, enhancedstatuscodes),
		 "    ENHANCEDSTATUSCODES:\n        Enhanced status codes in "
		 "replies\n"},
		{offsetof(struct smtp_caps, chunking),
		 "    CHUNKING:\n        BDAT transfers\n"},
		{offsetof(struct smtp_caps, starttls),
		 "    STARTTLS:\n        Support for TLS encryption via the "
		 "STARTTLS command\n"},
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (*(const bool *)((const char *)caps + flags[i].offset))
			buf_add_str(out, flags[i].text);
	if (caps->auth)
		buf_printf(out, "    AUTH:\n        Supported authentication "
		                "methods:\n        %s\n", caps->auth);
}

static void describe_time(const char *label, time_t t, struct buf *out)
{
	char text[64] = "unknown";
	struct tm tm;
	if (t != (time_t)-1 && gmtime_r(&t, &tm))
		strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_printf(out, "        %s %s\n", label, text);
}

static void describe_tls(struct tls_peer *peer, struct buf *out)
{
	tls_peer_describe(peer);
	buf_add_str(out, "TLS session parameters:\n");
	buf_printf(out, "    %s\n", peer->description ? peer->description : "");
	buf_add_str(out, "TLS certificate information:\n");
	buf_printf(out, "    Subject:\n        %s\n",
	           peer->subject ? peer->subject : "");
	buf_printf(out, "    Issuer:\n        %s\n",
	           peer->issuer ? peer->issuer : "");
	buf_add_str(out, "    Validity:\n");
	describe_time("Activation time:", peer->activation, out);
	describe_time("Expiration time:", peer->expiration, out);
	buf_add_str(out, "    Fingerprints:\n");
	buf_printf(out, "        SHA256: %s\n", peer->sha256 ? peer->sha256 : "");
	buf_printf(out, "        SHA1 (deprecated): %s\n",
	           peer->sha1 ? peer->sha1 : "");
	if (!peer->verified && peer->warning)
		buf_add_str(out, "    WARNING: the certificate was NOT verified "
		                 "(tls_certcheck off)\n");
}

void serverinfo_describe_session(struct session *s, const char *what,
                                 struct buf *out)
{
	buf_printf(out, "%s at %s:\n", what, conn_peer_name(s->conn));
	/* The server's own words: made harmless for the terminal. */
	const char *ehlo = smtp_ehlo_text(s->smtp);
	const char *nl = strchr(ehlo, '\n');
	if (*ehlo) {
		buf_add_str(out, "    ");
		sanitize_append(out, ehlo,
		                nl ? (size_t)(nl - ehlo) : strlen(ehlo));
		buf_add_char(out, '\n');
	}
	if (s->tls)
		describe_tls(&s->peer, out);
	describe_caps(smtp_caps(s->smtp), out);
}

int serverinfo_run(const struct account *a, const struct session_trace *trace,
                   struct buf *out, struct buf *warnings, struct err *e)
{
	struct session s;
	int rc = session_open(&s, a, trace, true, e);
	if (rc != EX_OK)
		return rc;
	buf_add(warnings, s.warnings.data, s.warnings.len);
	serverinfo_describe_session(&s, a->protocol == PROTOCOL_LMTP
	                                        ? "LMTP server"
	                                        : "SMTP server",
	                            out);
	session_close(&s, true);
	return EX_OK;
}
