#!/usr/bin/env bats
# envelope.bats - who the message is from and to: -f, --read-envelope-from,
# the account's from, aliases, maildomain, and the refusals that must
# happen before any connection (invalid or injected addresses, empty input,
# no recipients).

load lib

setup() {
	setup_common
	start_server
	server_config "$T/cfg"
}

MSG=$'Subject: envelope\n\nbody\n'

# The server must not have been contacted at all, nor received anything.
assert_untouched() {
	assert_received 0
	assert_no_session
	assert_equal "$(wire_log)" ""
}

@test "-f sets the envelope sender (and an added From)" {
	send_message "$MSG" -C "$T/cfg" -f other@example.org rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" other@example.org
	assert_contains "$(received_header 1 From)" other@example.org
}

@test "-f accepts a display name" {
	send_message "$MSG" -C "$T/cfg" -f 'Other Person <other@example.org>' \
		rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" other@example.org
}

@test "-f '<>' sends the null reverse-path" {
	send_message "$MSG" -C "$T/cfg" -f '<>' rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" ""
	assert_contains "$(wire_log)" $'MAIL FROM:<>'
}

@test "--read-envelope-from takes the sender from the From header" {
	send_message $'From: Alice <alice@example.net>\nSubject: r\n\nbody\n' \
		-C "$T/cfg" --read-envelope-from rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" alice@example.net
	assert_equal "$(received_header 1 From)" "Alice <alice@example.net>"
}

@test "the account's from is the default sender" {
	server_config "$T/cfg" "from robot@example.org"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" robot@example.org
}

@test "allow_from_override off keeps the account's from despite -f" {
	server_config "$T/cfg" "from robot@example.org" \
		"allow_from_override off"
	send_message "$MSG" -C "$T/cfg" -f other@example.org rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" robot@example.org
}

@test "auto_from with maildomain builds user@maildomain" {
	write_config "$T/cfg" <<-EOF
	account default
	host 127.0.0.1
	port $PORT
	auto_from on
	maildomain example.net
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" outboxtest@example.net
}

@test "aliases map local recipients (cron's root) to addresses" {
	cat >"$T/aliases" <<-'EOF'
	# system aliases
	root: admin@example.com
	ops: one@example.com, two@example.com
	EOF
	server_config "$T/cfg" "aliases $T/aliases"
	send_message $'To: root\nSubject: cron\n\nbody\n' -C "$T/cfg" root ops \
		full@example.org
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'admin@example.com\nfull@example.org\none@example.com\ntwo@example.com'
	# aliases change the envelope only, not the header
	assert_equal "$(received_header 1 To)" root
}

@test "aliases: the default entry catches unknown local names" {
	printf 'root: admin@example.com\ndefault: catchall@example.com\n' \
		>"$T/aliases"
	server_config "$T/cfg" "aliases $T/aliases"
	send_message "$MSG" -C "$T/cfg" www-data
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" catchall@example.com
}

@test "maildomain leaves local recipient names alone, as msmtp" {
	# msmtp's maildomain only completes auto_from's user@maildomain;
	# "bob" goes out as RCPT TO:<bob> (msmtp-compat.bats compares).
	server_config "$T/cfg" "maildomain example.net"
	send_message "$MSG" -C "$T/cfg" bob carol@example.org
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'bob\ncarol@example.org'
	assert_equal "$(received_envelope 1 mail_from)" sender@example.com
}

@test "duplicate recipients get one RCPT" {
	send_message $'To: a@example.com\nCc: A <a@example.com>\nSubject: d\n\nbody\n' \
		-C "$T/cfg" -t a@example.com b@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'a@example.com\nb@example.com'
	assert_equal "$(grep -c '^RCPT TO:<a@example.com>' "$SPOOL/wire.log")" 1
}

@test "CR LF injection in -f is refused before connecting" {
	send_message "$MSG" -C "$T/cfg" \
		-f $'a@example.com\r\nRCPT TO:<evil@example.net>' rcpt@example.com
	assert_exit 64
	assert_untouched
}

@test "CR LF injection in a recipient argument is refused before connecting" {
	send_message "$MSG" -C "$T/cfg" \
		$'rcpt@example.com\r\nRCPT TO:<evil@example.net>'
	assert_exit 64
	assert_untouched
}

@test "a bare LF or a control byte in a recipient argument is refused" {
	send_message "$MSG" -C "$T/cfg" $'rcpt@example.com\nDATA'
	assert_exit 64
	assert_untouched
	send_message "$MSG" -C "$T/cfg" $'rc\x01pt@example.com'
	assert_exit 64
	assert_untouched
}

@test "angle brackets smuggled into a recipient argument are refused" {
	send_message "$MSG" -C "$T/cfg" 'rcpt@example.com> NOTIFY=NEVER <x'
	assert_exit 64
	assert_untouched
}

@test "an unparsable recipient argument is a usage error" {
	send_message "$MSG" -C "$T/cfg" 'a@@example.com'
	assert_exit 64
	assert_untouched
}

# A header line cannot carry CR LF: it ends there, and the next line
# ("RCPT TO:<evil...>", not a valid field: its name has a space) either
# makes the message invalid (65, nothing sent) or, as sendmail does, ends the
# header block and becomes body text. Either way it must never become an
# SMTP command: the only RCPT is the legitimate recipient.
assert_not_injected() {
	if [ "$status" = 65 ]; then
		assert_untouched
		return
	fi
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.com
	wait_sessions_closed
	assert_equal "$(grep -o ' RCPT:' "$SPOOL/sessions.log" | wc -l)" 1
	refute_contains "$(cat "$SPOOL/transcript.log")" "C: RCPT TO:<evil"
}

@test "CR LF in a -t header never turns into an SMTP command" {
	send_message $'To: rcpt@example.com\r\nRCPT TO:<evil@example.net>\r\nSubject: x\r\n\r\nbody\r\n' \
		-C "$T/cfg" -t
	assert_not_injected
}

@test "an address folded over an injected command is refused with -t" {
	send_message $'To: <rcpt@example.com\r\n RCPT TO:evil@example.net>\r\nSubject: x\r\n\r\nbody\r\n' \
		-C "$T/cfg" -t
	assert_exit 65
	assert_untouched
}

@test "a -t header address with a control byte is refused before connecting" {
	send_message $'To: "rc\x01pt"@example.com\nSubject: x\n\nbody\n' \
		-C "$T/cfg" -t
	assert_exit 65
	assert_untouched
}

@test "a bare CR in a -t header never turns into an SMTP command" {
	send_message $'To: rcpt@example.com\rRCPT TO:<evil@example.net>\nSubject: x\n\nbody\n' \
		-C "$T/cfg" -t
	assert_not_injected
	assert_crlf_only "$SPOOL/wire.log"
}

@test "empty input is refused before connecting" {
	send_message "" -C "$T/cfg" rcpt@example.com
	assert_exit 65
	assert_untouched
}

@test "no recipients at all is a usage error before connecting" {
	send_message "$MSG" -C "$T/cfg"
	assert_exit 64
	assert_untouched
}

@test "-t without any recipient header is refused before connecting" {
	send_message $'From: a@example.com\nSubject: nobody\n\nbody\n' \
		-C "$T/cfg" -t
	assert_exit 65
	assert_untouched
}

@test "-t with only an empty group is refused before connecting" {
	send_message $'To: undisclosed-recipients:;\nSubject: nobody\n\nbody\n' \
		-C "$T/cfg" -t
	assert_exit 65
	assert_untouched
}

# Performance budget: nothing is looked up that the message does not need.
# The Message-ID's domain (msmtp 1.8.25+'s rule: domain, else the sender's
# domain, else the server's name) needs no name service, so queueing a
# message from a sender without '@' must not read resolv.conf or hosts.
@test "queue always, sender without '@': no name service lookup (strace)" {
	command -v strace >/dev/null ||
		skip "strace is not installed (.ci/deps installs it)"
	write_config "$T/cfg" <<-EOF
	account default
	host smtp.example.invalid
	from root
	queue always
	queue_dir $T/queue
	EOF
	printf 'Subject: q\n\nbody\n' >"$T/msg"
	# LeakSanitizer cannot run under ptrace (the sanitizer build)
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	status=0
	strace -f -qq -e trace=open,openat,connect -o "$T/trace" \
		"$OUTBOX" -C "$T/cfg" rcpt@example.com <"$T/msg" \
		>"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	stderr=$(cat "$T/run.stderr")
	assert_exit 0
	refute_contains "$(cat "$T/trace")" resolv.conf
	refute_contains "$(cat "$T/trace")" /etc/hosts
	refute_contains "$(cat "$T/trace")" nsswitch.conf
	refute_contains "$(cat "$T/trace")" "connect("
	assert_contains "$(cat "$T"/queue/*.msg)" "@smtp.example.invalid>"
	assert_no_session

	# %C in domain is the one thing that may resolve, and only when used
	write_config "$T/cfg" <<-EOF
	account default
	host smtp.example.invalid
	from root
	domain %C
	queue always
	queue_dir $T/queue
	EOF
	strace -f -qq -e trace=open,openat -o "$T/trace" \
		"$OUTBOX" -C "$T/cfg" rcpt@example.com <"$T/msg" \
		>"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	assert_exit 0
	assert_contains "$(cat "$T/trace")" /etc/hosts
}
