#!/usr/bin/env bats
# lmtp.bats - protocol lmtp (RFC 2033): LHLO, and one reply per recipient
# after the data, over TCP and over a unix socket.

load lib

MSG=$'Subject: lmtp\n\nbody\n'

@test "--protocol=lmtp delivers with LHLO" {
	start_server --lmtp
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" --protocol=lmtp a@example.com \
		b@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 protocol)" LMTP
	assert_equal "$(received_envelope 1 helo_verb)" LHLO
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'a@example.com\nb@example.com'
	# one reply per recipient after the data
	assert_contains "$(sessions_log)" "DATA:354 EOM:250 EOM:250"
}

@test "protocol lmtp in the configuration" {
	start_server --lmtp
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	refute_contains "$(wire_log)" EHLO
	assert_contains "$(wire_log)" $'LHLO localhost\r\n'
}

@test "LMTP: a permanent failure for one recipient -> 69, the other delivered" {
	start_server --lmtp --fault 'eom:b@example.com=552 5.2.2 mailbox full'
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com \
		c@example.com
	assert_exit 69
	# Which recipients have it, and one line for the one that does not.
	assert_contains "$stderr" "delivered to 2 of 3 recipients (<a@example.com>, <c@example.com>); not delivered to <b@example.com>: 552 5.2.2 mailbox full"
	refute_contains "$stderr" "<a@example.com>:"
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'a@example.com\nc@example.com'
	assert_contains "$(sessions_log)" "DATA:354 EOM:250 EOM:552 EOM:250"
}

@test "LMTP: a temporary failure for one recipient -> 75" {
	start_server --lmtp --fault 'eom:a@example.com=452 4.2.2 over quota'
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 75
	assert_contains "$stderr" "452 4.2.2 over quota"
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" b@example.com
}

@test "LMTP: every recipient failing after the data -> 69, nothing stored" {
	start_server --lmtp --fault 'eom=550 5.1.1 unknown'
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 69
	assert_received 0
}

@test "LMTP: a refused RCPT aborts the transaction before the data" {
	start_server --lmtp --fault 'rcpt:b@example.com=550 5.1.1 unknown'
	server_config "$T/cfg" "protocol lmtp"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 69
	assert_received 0
	wait_sessions_closed
	refute_contains "$(sessions_log)" EOM
}

@test "LMTP over a unix socket (socket directive)" {
	start_server --lmtp --unix "$T/lmtp.sock"
	assert_equal "$PORT" "$T/lmtp.sock"
	write_config "$T/cfg" <<-EOF
	account default
	socket $T/lmtp.sock
	protocol lmtp
	from sender@example.com
	EOF
	send_message "$MSG" -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" a@example.com
}
