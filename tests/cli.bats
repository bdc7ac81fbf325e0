#!/usr/bin/env bats
# cli.bats - the command line as real callers use it: --help, --version,
# usage errors, the sendmail flags of cron, git send-email, PHP mail() and
# mutt, the sendmail name, --serverinfo and -v.

load lib

MSG=$'Subject: cli\n\nbody\n'

@test "--help prints the usage and exits 0" {
	run_outbox --help </dev/null
	assert_exit 0
	assert_contains "$output" "Usage"
	assert_contains "$output" "--serverinfo"
	assert_contains "$output" "--read-recipients"
	assert_equal "$stderr" ""
}

@test "--version lists the version and the features" {
	run_outbox --version </dev/null
	assert_exit 0
	assert_contains "$output" outbox
	assert_contains "$output" GnuTLS
	assert_contains "$output" scram-sha-256
	assert_contains "$output" DKIM
	assert_contains "$output" "configuration file"
}

@test "an unknown long option -> 64, named, with a hint" {
	run_outbox --bogus-option </dev/null
	assert_exit 64
	assert_contains "$stderr" "--bogus-option"
	assert_contains "$stderr" "--help"
	assert_equal "$output" ""
}

@test "a misspelt option gets a suggestion" {
	run_outbox --tls-trustfile=/x </dev/null
	assert_exit 64
	assert_contains "$stderr" "--tls-trustfile"
	assert_contains "$stderr" "--tls-trust-file"
}

@test "an unknown short option -> 64, named" {
	run_outbox -Z rcpt@example.com </dev/null
	assert_exit 64
	assert_contains "$stderr" "-Z"
}

@test "an option missing its argument -> 64" {
	run_outbox -C </dev/null
	assert_exit 64
	assert_contains "$stderr" "-C"
}

@test "sendmail -bd (a daemon) is refused with 64" {
	run_outbox -bd </dev/null
	assert_exit 64
	assert_contains "$stderr" "-bd"
}

# The flags below are what the callers really pass; they must deliver.

@test "cron: -FCronDaemon -i -B8BITMIME -oem root" {
	start_server
	printf 'root: admin@example.com\n' >"$T/aliases"
	server_config "$T/cfg" "aliases $T/aliases"
	send_message $'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> /usr/local/bin/backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/root>\n\nbackup finished: 3 files, caf\xc3\xa9\n' \
		-C "$T/cfg" -FCronDaemon -i -B8BITMIME -oem root
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" admin@example.com
	assert_equal "$(received_header 1 From)" "root (Cron Daemon)"
	assert_equal "$(received_body 1)" \
		$'backup finished: 3 files, caf\xc3\xa9\r'
}

@test "git send-email: -i -f sender -- recipients" {
	start_server
	server_config "$T/cfg"
	send_message $'From: Dev <dev@example.org>\nTo: list@example.com\nCc: maint@example.com\nSubject: [PATCH] fix\nMessage-ID: <patch.1@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n---\n file | 1 +\n' \
		-C "$T/cfg" -i -f dev@example.org -- list@example.com \
		maint@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" dev@example.org
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'list@example.com\nmaint@example.com'
	assert_equal "$(received_header 1 Message-ID)" "<patch.1@example.org>"
}

@test "PHP mail(): -t -i" {
	start_server
	server_config "$T/cfg"
	send_message $'To: customer@example.com\nSubject: Your order\nX-PHP-Originating-Script: 33:order.php\nFrom: shop@example.com\n\nThank you.\n' \
		-C "$T/cfg" -t -i
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" customer@example.com
	assert_equal "$(received_header 1 Subject)" "Your order"
}

@test "mutt: -oem -oi -- recipient" {
	start_server
	server_config "$T/cfg"
	send_message $'From: me@example.com\nTo: you@example.com\nSubject: hi\n\nhello\n' \
		-C "$T/cfg" -oem -oi -- you@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" you@example.com
}

@test "-- makes a leading dash a recipient, not an option" {
	start_server
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" -- -dash@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" -dash@example.com
}

@test "invoked as sendmail it takes sendmail's flags" {
	start_server
	server_config "$T/cfg"
	mkdir -p "$T/bin"
	ln -s "$OUTBOX" "$T/bin/sendmail"
	printf 'To: root@example.com\nSubject: s\n\nbody\n' >"$T/msg"
	status=0
	"$T/bin/sendmail" -C "$T/cfg" -t -i -oi <"$T/msg" \
		>"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	stderr=$(cat "$T/run.stderr")
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" root@example.com
}

@test "--serverinfo prints the server's capabilities and sends nothing" {
	start_server --size 12345678 --dsn --ehlo-extra ENHANCEDSTATUSCODES
	server_config "$T/cfg"
	run_outbox -C "$T/cfg" --serverinfo </dev/null
	assert_exit 0
	assert_contains "$output" "outbox-test.localhost"
	assert_contains "$output" "SIZE"
	assert_contains "$output" "12345678"
	assert_contains "$output" "PIPELINING"
	assert_contains "$output" "DSN"
	assert_contains "$output" "8BITMIME"
	assert_received 0
	wait_sessions_closed
	refute_contains "$(sessions_log)" MAIL
}

@test "-v shows the SMTP conversation on stderr" {
	start_server
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" -v rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$stderr" "EHLO"
	assert_contains "$stderr" "MAIL FROM:<sender@example.com>"
	assert_contains "$stderr" "RCPT TO:<rcpt@example.com>"
	assert_contains "$stderr" "250"
	assert_contains "$stderr" "354"
}

@test "-v: the transcript comes first, in order, then the error once" {
	start_server --fault 'rcpt=550 5.1.1 no such user'
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" -v rcpt@example.com
	assert_exit 69
	local first last
	first=$(head -n 1 <<<"$stderr")
	last=$(tail -n 1 <<<"$stderr")
	[[ "$first" == "<-- 220 "* ]] || { echo "first: $first" >&2; false; }
	[[ "$last" == "outbox: "*"550 5.1.1 no such user"* ]] ||
		{ echo "last: $last" >&2; false; }
	# every line before the error is a transcript line, QUIT the last sent
	assert_equal "$(head -n -1 <<<"$stderr" | grep -cv '^\(-->\|<--\) ')" 0
	assert_equal "$(grep '^--> ' <<<"$stderr" | tail -n 1)" "--> QUIT"
	assert_equal "$(grep -c '^outbox: ' <<<"$stderr")" 1
}

@test "--serverinfo -v: the conversation on stderr, the description on stdout" {
	start_server --size 12345678
	server_config "$T/cfg"
	run_outbox -C "$T/cfg" --serverinfo -v </dev/null
	assert_exit 0
	assert_contains "$stderr" "--> EHLO"
	assert_contains "$stderr" "<-- 250"
	assert_contains "$stderr" "--> QUIT"
	refute_contains "$output" "-->"
	assert_contains "$output" "12345678"
}

@test "without -v a successful delivery prints nothing" {
	start_server
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}
