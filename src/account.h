/* account.h - one account of the configuration: its settings, how it is
 * created, copied and freed, made ready for sending (account_finalize) and
 * described (--pretend).
 *
 * A setting is changed through account_set() (directives.h), the one way in
 * for the configuration file and the command line alike. */
#ifndef OUTBOX_ACCOUNT_H
#define OUTBOX_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct buf;
struct runenv;

enum protocol { PROTOCOL_SMTP, PROTOCOL_LMTP };
enum header_policy { HEADER_AUTO, HEADER_ON, HEADER_OFF };
enum queue_mode { QUEUE_OFF, QUEUE_ON_FAILURE, QUEUE_ALWAYS };
/* oauth2_provider: auto picks microsoft or google from the host name. */
enum oauth2_provider {
	OAUTH2_AUTO, OAUTH2_MICROSOFT, OAUTH2_GOOGLE, OAUTH2_CUSTOM
};
/* oauth2_token_store: auto is the keyring when a Secret Service answers,
 * else the file. */
enum oauth2_store { OAUTH2_STORE_AUTO, OAUTH2_STORE_KEYRING, OAUTH2_STORE_FILE };

/* One DKIM signing key of an account (dual signing = two of these). */
struct dkim_signer {
	char *key_file;
	char *selector;
	char *domain;           /* NULL: the From header's domain */
	char *canonicalization; /* "relaxed/relaxed" when NULL */
	char *headers;          /* colon-separated, NULL: the default set */
	char *identity;         /* i=, optional */
	long expire;            /* x= seconds after signing, 0 = none */
};

/* Every setting of one account. A NULL string or 0 number means "not set":
 * consumers apply msmtp's defaults through account_finalize(). */
struct account {
	char *name;
	char *file; /* where it was defined, for messages; NULL for command line */
	int line;
	/* The run's environment (runenv.h), borrowed from the struct conf the
	 * account was made for and copied by account_clone: where ~, %U, %H,
	 * %C, %M, ~/.netrc and the default queue directory come from. NULL
	 * outside a run (unit tests): ~ then cannot be expanded. */
	struct runenv *env;

	/* connection */
	char *host;
	int port; /* 0: derived from protocol and tls by account_finalize */
	char *source_ip;
	char *proxy_host;
	int proxy_port;
	char *socket;
	int timeout; /* seconds; 0 = off (msmtp's "timeout off"); -1 = not set,
	              * account_finalize() makes it CONF_DEFAULT_TIMEOUT */
	bool timeout_is_default; /* timeout is account_finalize()'s default,
	                          * not a setting */
	enum protocol protocol;
	char *domain; /* EHLO argument; "localhost" when NULL */

	/* authentication */
	char *auth; /* NULL or "off": none; "on": best available; else a method
	             * name in lower case ("plain", "xoauth2", ...) */
	char *user;
	char *password;     /* secret */
	char *passwordeval; /* command whose first output line is the secret */
	char *ntlmdomain;

	/* TLS */
	bool tls;
	bool tls_starttls; /* default on */
	bool tls_certcheck; /* default on */
	char *tls_trust_file; /* "system" or a file; "" = trust no CA (msmtp's
	                       * empty argument); NULL = not set ("system") */
	char *tls_crl_file;
	char *tls_fingerprint; /* "AB:CD:..." upper case, 32, 20 or 16 bytes */
	char *tls_key_file;
	char *tls_cert_file;
	char *tls_priorities;
	char *tls_host_override;
	int tls_min_dh_prime_bits;
	bool tls_session_cache; /* default on: resume TLS sessions across runs
	                         * (tls_cache.h) */

	/* envelope and headers */
	char *from; /* may contain %U %H %C %M */
	char *from_full_name;
	bool allow_from_override; /* default on */
	/* allow_from_override was written in the configuration: a message
	 * from the maildrop may only pick its sender when it says "on" there
	 * (maildrop.h), msmtp's default being meant for the account's owner */
	bool allow_from_override_set;
	char *dsn_notify; /* NULL = off; else RFC 3461 NOTIFY= value, upper
	                   * case: "NEVER" or e.g. "SUCCESS,FAILURE" */
	char *dsn_return; /* NULL = off; else RFC 3461 RET= "HDRS" or "FULL" */
	enum header_policy set_from_header;  /* auto | on | off */
	enum header_policy set_date_header;  /* auto | off */
	enum header_policy set_msgid_header; /* auto | off */
	bool remove_bcc_headers; /* default on */
	bool undisclosed_recipients;
	bool auto_from;
	char *maildomain;
	char *aliases;

	/* logging */
	char *logfile; /* "-" = stdout */
	char *logfile_time_format;
	char *syslog; /* NULL = off, else the facility name (LOG_USER for "on") */

	/* outbox additions */
	struct dkim_signer *dkim; /* dkim_count signers */
	size_t dkim_count;
	enum queue_mode queue;
	char *queue_dir;
	long queue_max_age; /* seconds before giving up; default 5 days */
	bool queue_bounce;  /* send a bounce notice on dead letter */
	long maildrop_max_size; /* bytes; 0: MAILDROP_MAX_SIZE (maildrop.h) */

	/* OAuth 2.0 built in (oauth.h): on when oauth2_client_id is set and
	 * auth is xoauth2 or oauthbearer */
	enum oauth2_provider oauth2_provider;
	char *oauth2_client_id;
	char *oauth2_client_secret; /* secret */
	char *oauth2_tenant;        /* Microsoft's; NULL: "common" */
	char *oauth2_device_url;    /* NULL: the provider's */
	char *oauth2_token_url;     /* NULL: the provider's */
	char *oauth2_scope;         /* NULL: the provider's */
	char *oauth2_trust_file;    /* for the HTTPS endpoints; NULL: system */
	enum oauth2_store oauth2_token_store;
	/* Direct delivery (direct.h): no smarthost, each recipient domain's
	 * MX hosts on port 25 */
	bool direct_delivery;
	bool mta_sts; /* default on: honour the domains' MTA-STS policies */
	bool dane;    /* default on: honour DNSSEC-signed TLSA records */
};

/* account_finalize()'s network timeout when `timeout` is not set: stricter
 * than msmtp, which waits forever. */
#define CONF_DEFAULT_TIMEOUT 60
/* queue_max_age when not set: 5 days, as most MTAs. */
#define CONF_DEFAULT_QUEUE_MAX_AGE (5L * 24 * 60 * 60)

/* A new account with msmtp's initial values (tls_starttls, tls_certcheck,
 * allow_from_override, remove_bcc_headers on; everything else unset). */
struct account *account_new(const char *name);
/* A deep copy of src named `name` (src's name when NULL), with src's env. */
struct account *account_clone(const struct account *src, const char *name);
/* Free a and everything it owns, wiping the password; NULL is fine. */
void account_free(struct account *a);

/* Fill in derived defaults (port from protocol/tls, domain, timeout) and
 * check the account is usable for sending: a host or socket is set, no
 * contradictory settings. Returns EX_CONFIG naming the account. */
int account_finalize(struct account *a, struct err *e);

/* Print every effective setting (msmtp --pretend style), secrets masked. */
void account_describe(const struct account *a, struct buf *out);

/* How long a command run for a (eval, passwordeval) may take, in
 * seconds: the account's timeout when it was set to a number of seconds,
 * in the configuration or with --timeout; else fallback_s, so a command is
 * bounded even with `timeout off`. */
int account_command_timeout(const struct account *a, int fallback_s);

/* x and y name the same smarthost identity: every setting session_open
 * looks at (host, port, socket, source_ip, proxy, timeout, protocol,
 * domain, auth, user, password, passwordeval, ntlmdomain, every tls_*) is
 * equal, so one SMTP session can carry messages of both. */
bool account_same_smarthost(const struct account *x,
                            const struct account *y);

#endif
