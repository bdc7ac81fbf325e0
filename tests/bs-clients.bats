#!/usr/bin/env bats
# bs-clients.bats - real SMTP clients driving `outbox -bs` (issue 12): the
# programs that use sendmail as an SMTP server on its stdin/stdout, each
# sending through outbox to the test smarthost. Every test checks what the
# client reported (its result per message and its exit status), outbox's
# exit status, and what the smarthost received (envelope and message) or
# that it received nothing.
#
# Clients (Debian 12's packages, nothing vendored; .ci/deps installs them):
#   - Symfony Mailer 5.4 (php-symfony-mailer): SendmailTransport in its
#     default -bs mode, one outbox process for all the messages of a
#     transport (tests/clients/symfony_bs.php).
#   - Laravel 8.83 (php-laravel-framework): the "sendmail" mailer of
#     Laravel's config/mail.php with the default command line "-bs -i",
#     built by Laravel's own MailManager, which hands it to Swift Mailer 6's
#     Swift_SendmailTransport (php-swiftmailer) (tests/clients/laravel_bs.php).
#   - Python's smtplib over a pipe to `outbox -bs`
#     (tests/clients/smtplib_pipe.py; each scenario checks the replies).
# The clients are given this tree's outbox explicitly ($OUTBOX -C CONFIG
# -bs): /usr/sbin/sendmail is never used. PHP or a library missing is a
# FAILURE with the reason, not a skip.

load lib

CLIENTS=$BATS_TEST_DIRNAME/clients
PHP=${PHP:-/usr/bin/php}

# The smarthost refuses one recipient, and speaks SMTPUTF8 so that a UTF-8
# envelope can be relayed.
REFUSED_REPLY='550 5.1.1 <refused@example.com>: no such user here'

setup() {
	setup_common
	start_server --smtputf8 --fault "rcpt:refused@example.com=$REFUSED_REPLY"
	server_config "$T/rc"
}

# run_client COMMAND... [<input]: run a client (bounded to 90 s) and set
# status, output, stderr like run_outbox.
# shellcheck disable=SC2034 # stderr, LAST_COMMAND: read by show_context
run_client() {
	status=0
	timeout --kill-after=5 90 "$@" >"$T/client.stdout" \
		2>"$T/client.stderr" || status=$?
	output=$(cat "$T/client.stdout")
	stderr=$(cat "$T/client.stderr")
	LAST_COMMAND="$*"
}

need_php() { # LIBRARY-FILE PACKAGE
	if [ ! -x "$PHP" ]; then
		echo "$PHP is missing: install Debian's php-cli (.ci/deps does)" >&2
		return 1
	fi
	if [ ! -e "/usr/share/php/$1" ]; then
		echo "/usr/share/php/$1 is missing: install Debian's $2" \
			"(.ci/deps does)" >&2
		return 1
	fi
}

# symfony MESSAGES-JSON: send the messages through one Symfony transport.
symfony() {
	need_php Symfony/Component/Mailer/autoload.php php-symfony-mailer
	printf '%s' "$1" >"$T/messages.json"
	run_client "$PHP" "$CLIENTS/symfony_bs.php" "$OUTBOX" "$T/rc" \
		"$T/outbox.status" <"$T/messages.json"
}

# laravel MESSAGES-JSON: send the messages with Laravel's sendmail mailer.
laravel() {
	need_php Illuminate/Mail/MailManager.php php-laravel-framework
	printf '%s' "$1" >"$T/messages.json"
	run_client "$PHP" "$CLIENTS/laravel_bs.php" "$OUTBOX" "$T/rc" \
		"$T/outbox.status" <"$T/messages.json"
}

# smtplib SCENARIO: run tests/clients/smtplib_pipe.py (saving the body it
# sent last in $T/body).
smtplib() {
	run_client "$PYTHON" "$CLIENTS/smtplib_pipe.py" --save-body "$T/body" \
		"$1" "$OUTBOX" -C "$T/rc"
}

assert_client_exit() {
	if [ "$status" != "$1" ]; then
		echo "expected the client to exit $1, it exited $status" >&2
		show_context
		return 1
	fi
}

# assert_line TEXT: $output has a line exactly TEXT.
assert_line() {
	if ! grep -qxF -- "$1" <<<"$output"; then
		printf 'expected the line:\n%s\n--- in the client output:\n%s\n---\n' \
			"$1" "$output" >&2
		show_context
		return 1
	fi
}

# assert_line_match ERE: $output has a line matching the whole ERE.
assert_line_match() {
	if ! grep -qxE -- "$1" <<<"$output"; then
		printf 'expected a line matching:\n%s\n--- in the client output:\n%s\n---\n' \
			"$1" "$output" >&2
		show_context
		return 1
	fi
}

# No message for ADDRESS reached the smarthost.
refute_delivered_to() {
	local f
	for f in "$SPOOL"/*.fields; do
		[ -e "$f" ] || continue
		if grep -qiF -- "$1" "$f"; then
			echo "a message for $1 reached the smarthost: $f" >&2
			cat "$f" >&2
			return 1
		fi
	done
}

# The body of message N is exactly the bytes of FILE.
assert_body_is() {
	received_body "$1" >"$T/received.body"
	if ! cmp -s "$T/received.body" "$2"; then
		echo "the body of message $1 differs from $2:" >&2
		cmp "$T/received.body" "$2" >&2 || true
		diff <(head -c 2000 "$2") <(head -c 2000 "$T/received.body") \
			>&2 || true
		return 1
	fi
}

# ----------------------------------------------------------- Symfony Mailer

@test "Symfony Mailer -bs: one message, with a lone dot line" {
	symfony '[{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "via symfony",
		"text": "Hello from Symfony.\n.\nafter the dot\n"}]'
	assert_client_exit 0
	assert_line_match 'sent 1 [^ ]+@[^ ]+'
	assert_line 'outbox-exit 0'
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" "via symfony"
	assert_equal "$(received_header 1 From)" alice@example.com
	assert_equal "$(received_header 1 To)" bob@example.com
	# the message the client composed is the one that arrived
	local id
	id=$(sed -n 's/^sent 1 //p' <<<"$output")
	assert_equal "$(received_header 1 Message-ID)" "<$id>"
	assert_contains "$(received_body 1)" \
		$'Hello from Symfony.\r\n.\r\nafter the dot\r'
	assert_crlf_only "$SPOOL/1.eml"
}

@test "Symfony Mailer -bs: two messages through one transport, one outbox process" {
	symfony '[{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "first", "text": "one\n"},
		{"from": "carol@example.com",
		"to": ["dave@example.com", "erin@example.com"],
		"subject": "second", "text": "two\n"}]'
	assert_client_exit 0
	assert_line_match 'sent 1 [^ ]+'
	assert_line_match 'sent 2 [^ ]+'
	# a single outbox process held both transactions, and exited 0
	assert_line 'outbox-exit 0'
	assert_received 2
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" first
	assert_contains "$(received_body 1)" $'one\r'
	assert_equal "$(received_envelope 2 mail_from)" carol@example.com
	assert_equal "$(received_envelope 2 rcpt_tos)" \
		$'dave@example.com\nerin@example.com'
	assert_equal "$(received_header 2 Subject)" second
	assert_contains "$(received_body 2)" $'two\r'
}

@test "Symfony Mailer -bs: a recipient the smarthost refuses is an exception, the next message goes" {
	symfony '[{"from": "alice@example.com", "to": ["refused@example.com"],
		"subject": "refused", "text": "never\n"},
		{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "after the refusal", "text": "fine\n"}]'
	assert_client_exit 1
	# Symfony's TransportException with the 5xx code, carrying the
	# smarthost's words, whether outbox refused the RCPT or the final dot
	assert_line_match 'failed 1 code=5[0-9][0-9] Symfony\\Component\\Mailer\\Exception\\TransportException: .*no such user here.*'
	assert_line_match 'sent 2 [^ ]+'
	assert_line 'outbox-exit 0'
	assert_received 1
	refute_delivered_to refused@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" "after the refusal"
}

@test "Symfony Mailer -bs: one refused recipient among two fails the whole message, nothing is delivered" {
	symfony '[{"from": "alice@example.com",
		"to": ["bob@example.com", "refused@example.com"],
		"subject": "partly refused", "text": "all or nothing\n"}]'
	assert_client_exit 1
	# One reply to the final dot cannot say "delivered to bob, not to
	# refused": outbox must not report success for a refused recipient,
	# and must not deliver to bob while reporting a failure (the
	# application would send it again).
	assert_line_match 'failed 1 code=5[0-9][0-9] Symfony\\Component\\Mailer\\Exception\\TransportException: .*refused@example\.com.*no such user here.*'
	assert_line 'outbox-exit 0'
	assert_received 0
}

# ------------------------------------------------------------------ Laravel

@test "Laravel sendmail mailer (-bs -i): one message" {
	laravel '[{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "via laravel",
		"text": "Hello from Laravel.\n.\nafter the dot\n"}]'
	assert_client_exit 0
	assert_line 'sent 1 failures=[]'
	assert_line 'outbox-exit 0'
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" "via laravel"
	assert_equal "$(received_header 1 To)" bob@example.com
	assert_contains "$(received_body 1)" \
		$'Hello from Laravel.\r\n.\r\nafter the dot\r'
	assert_crlf_only "$SPOOL/1.eml"
}

@test "Laravel sendmail mailer (-bs -i): two messages, one outbox process each" {
	laravel '[{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "first", "text": "one\n"},
		{"from": "carol@example.com",
		"to": ["dave@example.com", "erin@example.com"],
		"subject": "second", "text": "two\n"}]'
	assert_client_exit 0
	assert_line 'sent 1 failures=[]'
	assert_line 'sent 2 failures=[]'
	# Laravel 8 stops the transport after each message (QUIT, new process)
	assert_line 'outbox-exit 0 0'
	assert_received 2
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" first
	assert_equal "$(received_envelope 2 mail_from)" carol@example.com
	assert_equal "$(received_envelope 2 rcpt_tos)" \
		$'dave@example.com\nerin@example.com'
	assert_equal "$(received_header 2 Subject)" second
}

@test "Laravel sendmail mailer (-bs -i): a refused recipient is reported, nothing is delivered for it" {
	laravel '[{"from": "alice@example.com", "to": ["refused@example.com"],
		"subject": "refused", "text": "never\n"},
		{"from": "alice@example.com", "to": ["bob@example.com"],
		"subject": "after the refusal", "text": "fine\n"}]'
	assert_client_exit 1
	# Swift Mailer lists a recipient refused at RCPT in Mail::failures()
	# (and sends no data); a refusal of the final dot is an exception.
	# Either is honest; "sent 1 failures=[]" would not be.
	assert_line_match 'sent 1 failures=\[refused@example\.com\]|failed 1 code=5[0-9][0-9] Swift_TransportException: .*no such user here.*'
	assert_line 'sent 2 failures=[]'
	assert_line 'outbox-exit 0 0'
	assert_received 1
	refute_delivered_to refused@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" "after the refusal"
}

# ----------------------------------------------------------- Python smtplib

@test "smtplib over a pipe: EHLO extensions, NOOP, VRFY, HELP, two messages, RSET, QUIT" {
	smtplib two
	assert_client_exit 0
	assert_line_match 'greeting 220 .*ESMTP outbox.*'
	assert_line 'mail 1 sent refused={}'
	assert_line 'mail 2 sent refused={}'
	assert_line_match 'noop 250 .*'
	assert_line_match 'vrfy 252 .*'
	assert_line_match 'help 21[14] .*'
	assert_line_match 'rset 250 .*'
	assert_line_match 'quit 221 .*'
	assert_line 'exit 0'
	assert_received 2
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" first
	assert_equal "$(received_body 1)" $'one\r'
	assert_equal "$(received_envelope 2 mail_from)" carol@example.com
	assert_equal "$(received_envelope 2 rcpt_tos)" \
		$'dave@example.com\nerin@example.com'
	assert_equal "$(received_header 2 Subject)" second
	assert_equal "$(received_body 2)" $'two\r'
}

@test "smtplib over a pipe: a pipelined transaction" {
	smtplib pipelined
	assert_client_exit 0
	assert_line_match 'data 354 .*'
	assert_line_match 'eom 250 .*'
	assert_line 'exit 0'
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" alice@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'bob@example.com\ncarol@example.com'
	assert_equal "$(received_header 1 Subject)" pipelined
	assert_body_is 1 "$T/body"
}

@test "smtplib over a pipe: a 2 MiB message arrives intact" {
	smtplib big
	assert_client_exit 0
	assert_line 'mail 1 sent refused={}'
	assert_line 'exit 0'
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	local size
	size=$(stat -c %s "$T/body")
	[ "$size" -ge $((2 * 1024 * 1024)) ]
	assert_body_is 1 "$T/body"
	assert_crlf_only "$SPOOL/1.eml"
}

@test "smtplib over a pipe: a line of a single dot survives the dot-stuffing round trip" {
	smtplib dot
	assert_client_exit 0
	assert_line 'mail 1 sent refused={}'
	assert_line 'exit 0'
	assert_received 1
	assert_body_is 1 "$T/body"
	# outbox stuffed the dots again towards the smarthost, and sent one
	# end-of-data only
	assert_contains "$(wire_log)" \
		$'\r\nbefore\r\n..\r\nafter a lone dot\r\n...\r\n..leading dot\r\n'
	assert_equal "$(grep -c $'^\\.\r$' "$SPOOL/wire.log")" 1
	assert_crlf_only "$SPOOL/wire.log"
}

@test "smtplib over a pipe: a refused recipient raises, the session goes on" {
	smtplib refused
	assert_client_exit 0
	assert_line_match 'refused at (rcpt refused@example\.com|data) 5[0-9][0-9] .*no such user here.*'
	assert_line 'mail 2 sent refused={}'
	assert_line 'exit 0'
	assert_received 1
	refute_delivered_to refused@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" bob@example.com
	assert_equal "$(received_header 1 Subject)" "after refusal"
}

@test "smtplib over a pipe: 8BITMIME body and an SMTPUTF8 envelope" {
	smtplib 8bit
	assert_client_exit 0
	assert_line 'mail 1 sent refused={}'
	assert_line 'mail 2 sent refused={}'
	assert_line 'exit 0'
	assert_received 2
	assert_body_is 1 "$T/body"
	assert_contains "$(received_envelope 1 mail_options)" BODY=8BITMIME
	assert_equal "$(received_envelope 2 mail_from)" jürgen@example.com
	assert_equal "$(received_envelope 2 rcpt_tos)" zoë@example.com
	assert_equal "$(received_envelope 2 smtputf8)" true
	assert_body_is 2 "$T/body"
}
