#!/usr/bin/env bats
# faults.bats - what the server does wrong, and the exit status that tells
# the caller whether retrying helps: every 4xx, drop, reset or timeout is 75
# (EX_TEMPFAIL), a 5xx is 69 (EX_UNAVAILABLE), nonsense is 76
# (EX_PROTOCOL). Nothing may be delivered by a failed transaction, waits are
# bounded by --timeout, and server text reaches stderr sanitized.

load lib

MSG=$'Subject: faults\n\nbody\n'

# run_fault EXPECTED_STATUS SERVER_ARGS... : one server, one delivery to two
# recipients, nothing must arrive unless the status is 0.
run_fault() {
	local want=$1
	shift
	start_server "$@"
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" --timeout 2 a@example.com b@example.com
	assert_exit "$want"
	if [ "$want" != 0 ]; then
		assert_received 0
	fi
}

@test "greeting 4xx -> 75" {
	run_fault 75 --fault 'greeting=450 4.3.2 try later'
	assert_contains "$stderr" "450 4.3.2 try later"
}

@test "greeting 421 -> 75" {
	run_fault 75 --fault 'greeting=421 4.3.2 too busy'
	assert_contains "$stderr" "421 4.3.2 too busy"
}

@test "greeting 5xx -> 69" {
	run_fault 69 --fault 'greeting=554 5.3.2 no service here'
	assert_contains "$stderr" "554 5.3.2 no service here"
}

@test "greeting dropped -> 75" {
	run_fault 75 --fault 'greeting=drop'
}

@test "EHLO 4xx -> 75" {
	run_fault 75 --fault 'ehlo=451 4.3.0 local problem'
	assert_contains "$stderr" "451 4.3.0 local problem"
}

@test "EHLO and HELO 5xx -> 69" {
	run_fault 69 --fault 'ehlo=550 5.7.1 go away' \
		--fault 'helo=550 5.7.1 go away too'
	assert_contains "$stderr" "go away"
}

@test "EHLO dropped -> 75" {
	run_fault 75 --fault 'ehlo=drop'
}

@test "MAIL 4xx -> 75" {
	run_fault 75 --fault 'mail=451 4.3.0 sender check failed'
	assert_contains "$stderr" "451 4.3.0 sender check failed"
}

@test "MAIL 5xx -> 69" {
	run_fault 69 --fault 'mail=553 5.7.1 sender rejected'
	assert_contains "$stderr" "553 5.7.1 sender rejected"
}

@test "MAIL dropped -> 75" {
	run_fault 75 --fault 'mail=drop'
}

@test "MAIL answered by a TCP reset -> 75" {
	run_fault 75 --fault 'mail=reset'
}

@test "RCPT 4xx for every recipient -> 75" {
	run_fault 75 --fault 'rcpt=450 4.2.0 mailbox busy'
	assert_contains "$stderr" "450 4.2.0 mailbox busy"
	wait_sessions_closed
	refute_contains "$(sessions_log)" EOM
}

@test "RCPT 5xx for every recipient -> 69" {
	run_fault 69 --fault 'rcpt=550 5.1.1 no such user'
	assert_contains "$stderr" "550 5.1.1 no such user"
	wait_sessions_closed
	refute_contains "$(sessions_log)" EOM
}

@test "RCPT dropped -> 75" {
	run_fault 75 --fault 'rcpt=drop'
}

@test "DATA 4xx -> 75" {
	run_fault 75 --fault 'data=451 4.3.0 not now'
	assert_contains "$stderr" "451 4.3.0 not now"
}

@test "DATA 5xx -> 69" {
	run_fault 69 --fault 'data=554 5.5.1 no data for you'
	assert_contains "$stderr" "554 5.5.1 no data for you"
}

@test "DATA dropped -> 75" {
	run_fault 75 --fault 'data=drop'
}

@test "end of data 4xx -> 75" {
	run_fault 75 --fault 'eom=451 4.3.0 queue full'
	assert_contains "$stderr" "451 4.3.0 queue full"
}

@test "end of data 5xx -> 69" {
	run_fault 69 --fault 'eom=554 5.7.1 spam'
	assert_contains "$stderr" "554 5.7.1 spam"
}

@test "end of data dropped -> 75" {
	run_fault 75 --fault 'eom=drop'
}

@test "a 421 in the middle of the session -> 75" {
	# (A server that closes with pipelined commands unread makes its
	# kernel send a reset, which may destroy the 421 in flight; smtpd.py
	# half-closes and drains after a 421, so the text must arrive.)
	start_server --fault 'rcpt=421 4.3.2 shutting down'
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" --timeout 2 a@example.com
	assert_exit 75
	assert_received 0
	assert_contains "$stderr" "421 4.3.2 shutting down"
}

@test "a 421 to one of two pipelined recipients -> 75" {
	run_fault 75 --fault 'rcpt=421 4.3.2 shutting down'
	assert_contains "$stderr" "421 4.3.2 shutting down"
}

@test "a silent greeting times out (--timeout 2) -> 75 quickly" {
	run_fault 75 --fault 'greeting=silence'
	assert_elapsed_below 6000
}

@test "silence after the data times out (--timeout 2) -> 75 quickly" {
	run_fault 75 --fault 'eom=silence'
	assert_elapsed_below 6000
	assert_contains "$(sessions_log)" "DATA:354 EOM:silence"
}

@test "a greeting dripped one byte a second still times out -> 75" {
	run_fault 75 --fault 'greeting=drip:220 slow.example ESMTP at a crawl'
	assert_elapsed_below 6000
}

@test "silence in the middle (MAIL) times out -> 75" {
	run_fault 75 --fault 'mail=silence'
	assert_elapsed_below 6000
}

@test "a slow reply within the timeout is fine" {
	run_fault 0 --fault 'mail=sleep:1:pass'
	assert_received 1
}

@test "connection refused -> 75" {
	start_server
	local port=$PORT
	stop_server
	server_config "$T/cfg"
	sed -i "s/^port .*/port $port/" "$T/cfg"
	send_message "$MSG" -C "$T/cfg" --timeout 2 a@example.com
	assert_exit 75
	assert_elapsed_below 6000
}

@test "one of two recipients refused 550 -> 69 and nothing delivered" {
	run_fault 69 --fault 'rcpt:b@example.com=550 5.1.1 no such user'
	assert_contains "$stderr" "b@example.com"
	assert_contains "$stderr" "550 5.1.1 no such user"
	wait_sessions_closed
	# the transaction was abandoned: no message data was sent
	refute_contains "$(sessions_log)" EOM
	refute_contains "$(wire_log)" "Subject: faults"
}

@test "one of two recipients deferred 450 -> 75 and nothing delivered" {
	run_fault 75 --fault 'rcpt:a@example.com=450 4.2.1 greylisted'
	assert_contains "$stderr" "450 4.2.1 greylisted"
	wait_sessions_closed
	refute_contains "$(sessions_log)" EOM
	refute_contains "$(wire_log)" "Subject: faults"
}

@test "server text with escape sequences is shown sanitized" {
	run_fault 69 --fault $'mail=550 5.7.1 \x1b[31mred\x1b]0;title\x07 \xc2\x9b2J end'
	assert_contains "$stderr" "550 5.7.1"
	assert_contains "$stderr" "red"
	assert_contains "$stderr" "end"
	# no ESC, BEL or C1 CSI byte reaches the terminal
	if LC_ALL=C grep -q $'[\x1b\x07]' "$T/run.stderr" ||
		LC_ALL=C grep -q $'\xc2\x9b' "$T/run.stderr"; then
		echo "control bytes on stderr:" >&2
		od -c "$T/run.stderr" >&2
		false
	fi
}

@test "EHLO refused: falls back to HELO and delivers" {
	run_fault 0 --no-esmtp
	assert_received 1
	assert_equal "$(received_envelope 1 helo_verb)" HELO
	assert_contains "$(sessions_log)" "EHLO:500 HELO:250 MAIL:250"
	# without ESMTP no MAIL/RCPT parameters may be sent
	assert_equal "$(received_envelope 1 mail_options)" ""
}

@test "a garbage greeting -> 76" {
	run_fault 76 --fault 'greeting=garbage:hello, I am not an SMTP server'
}

@test "a garbage reply to MAIL -> 76" {
	run_fault 76 --fault 'mail=garbage:2x0 what'
}

@test "a garbage reply after the data -> 76" {
	run_fault 76 --fault 'eom=garbage:OK!'
}

@test "LMTP: a recipient refused after the data fails only that one" {
	start_server --lmtp --fault 'eom:b@example.com=550 5.2.1 mailbox disabled'
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 69
	assert_contains "$stderr" "b@example.com"
	assert_contains "$stderr" "550 5.2.1 mailbox disabled"
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" a@example.com
}
