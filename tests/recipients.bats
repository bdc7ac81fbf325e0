#!/usr/bin/env bats
# recipients.bats - what becomes of each recipient: the server's limit on
# recipients per transaction (RFC 5321 4.5.3.1.10: 452 "Too many
# recipients", or 552 in RFC 821's style) splits the message into further
# transactions of the same session; a partial delivery (a later
# transaction, or an LMTP recipient, failing) is accounted for recipient by
# recipient in the exit status, the log and the queue, and no recipient
# that has the message is ever sent it again.

load lib

MSG=$'Subject: many\n\nbody\n'

# Every recipient the server received, one per line, sorted (a recipient
# that got two copies appears twice).
all_received_rcpts() {
	local f
	for f in "$SPOOL"/*.fields; do
		[ -e "$f" ] || continue
		LC_ALL=C awk -F '\t' '$1 == "rcpt_tos" { print $2 }' "$f"
	done | sort
}

# The retry of the queue entry $1 (ID.msg) is due later; make it due now.
make_due() {
	printf 'outbox-queue-state 1\nqueued: %s\nattempts: 1\nnext-attempt: 0\n' \
		"$(date +%s)" >"${1%.msg}.state"
}

# rcpt1@example.com ... rcptN@example.com
recipients() {
	local i
	for ((i = 1; i <= $1; i++)); do echo "rcpt$i@example.com"; done
}

@test "452 after 2 recipients: 5 recipients go in 3 transactions of ONE session, each once" {
	start_server --max-rcpt 2
	server_config "$T/cfg"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 5)
	assert_exit 0
	assert_received 3
	assert_equal "$(session_count)" 1
	assert_equal "$(all_received_rcpts)" "$(recipients 5 | sort)"
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'rcpt1@example.com\nrcpt2@example.com'
	assert_equal "$(received_envelope 3 rcpt_tos)" rcpt5@example.com
	# The refused ones are not a reason for RSET: each transaction ended
	# with its data.
	refute_contains "$(wire_log)" RSET
	# QUIT rode along with the last transaction's data only.
	assert_equal "$(pipelined_log | grep -c ' EOM$')" 1
	assert_equal "$(grep -c '^QUIT' "$SPOOL/wire.log")" 1
	assert_contains "$(sessions_log)" "EOM:250 MAIL:250 RCPT:250 DATA:354 EOM:250 QUIT:221"
}

@test "552 as the recipient limit (RFC 821 style) is treated like 452" {
	start_server --max-rcpt 3 --max-rcpt-reply '552 5.5.3 Too many recipients'
	server_config "$T/cfg"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 7)
	assert_exit 0
	assert_received 3
	assert_equal "$(session_count)" 1
	assert_equal "$(all_received_rcpts)" "$(recipients 7 | sort)"
}

@test "a cron report to 120 people through a 50-recipient limit arrives, without pipelining too" {
	start_server --max-rcpt 50 --no-pipelining
	server_config "$T/cfg"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 120)
	assert_exit 0
	assert_received 3
	assert_equal "$(session_count)" 1
	assert_equal "$(all_received_rcpts)" "$(recipients 120 | sort)"
}

@test "a limit reply to the first recipient is a refusal: 75, nothing sent" {
	start_server --fault 'rcpt=452 4.5.3 Too many recipients'
	server_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 75
	assert_received 0
	assert_contains "$stderr" "not delivered to 2 recipients"
	assert_contains "$stderr" $'\n  <a@example.com>: 452 4.5.3 Too many recipients'
}

@test "a later transaction failing: 75, the message says who has it, the log has a line for each group" {
	start_server --max-rcpt 2 --fault 'eom:rcpt3@example.com=451 4.3.0 try later'
	server_config "$T/cfg" "logfile $T/log"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 5)
	assert_exit 75
	assert_received 1
	assert_contains "$stderr" "delivered to 2 of 5 recipients; the server refused the message"
	assert_contains "$stderr" "451 4.3.0 try later"
	local log
	log=$(cat "$T/log")
	assert_contains "$log" "recipients=rcpt1@example.com,rcpt2@example.com mailsize="
	assert_contains "$log" "smtpstatus=250"
	assert_contains "$log" "recipients=rcpt3@example.com,rcpt4@example.com,rcpt5@example.com"
	assert_contains "$log" "exitcode=EX_TEMPFAIL"
}

@test "queue on-failure after a partial delivery queues only the recipients without it; the flush sends each exactly once" {
	start_server --max-rcpt 2 --fault 'eom:rcpt3@example.com=once:451 4.3.0 try later'
	server_config "$T/cfg" "queue on-failure" "queue_dir $T/q"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 5)
	assert_exit 0
	assert_contains "$stderr" "to the recipients that do not have it yet"
	local entry
	entry=$(ls "$T"/q/*.msg)
	assert_equal "$(sed -n '/^$/q;s/^rcpt: //p' "$entry")" \
		$'rcpt3@example.com\nrcpt4@example.com\nrcpt5@example.com'
	make_due "$entry"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(all_received_rcpts)" "$(recipients 5 | sort)"
}

@test "flush: a partial delivery is remembered durably; the next flush sends only to the rest" {
	start_server --max-rcpt 2 --fault 'eom:rcpt3@example.com=451 4.3.0 try later'
	server_config "$T/cfg" "queue always" "queue_dir $T/q"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 5)
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 75
	local state
	state=$(cat "$T"/q/*.state)
	assert_contains "$state" $'delivered: rcpt1@example.com\ndelivered: rcpt2@example.com'
	run_outbox -C "$T/cfg" --list-queue
	assert_contains "$output" "already delivered to 2 of them"
	# The same queue, a server without the fault.
	local first_spool=$SPOOL
	start_server --max-rcpt 2
	server_config "$T/cfg" "queue always" "queue_dir $T/q"
	sed -i 's/^next-attempt: .*/next-attempt: 0/' "$T"/q/*.state
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(all_received_rcpts)" \
		$'rcpt3@example.com\nrcpt4@example.com\nrcpt5@example.com'
	SPOOL=$first_spool
	assert_equal "$(all_received_rcpts)" \
		$'rcpt1@example.com\nrcpt2@example.com'
}

@test "LMTP with queue on-failure: the recipient that failed is queued alone, never the delivered one" {
	start_server --lmtp --fault 'eom:b@example.com=once:452 4.2.2 over quota'
	server_config "$T/cfg" "protocol lmtp" "queue on-failure" "queue_dir $T/q"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com c@example.com
	assert_exit 0
	local entry
	entry=$(ls "$T"/q/*.msg)
	assert_equal "$(sed -n '/^$/q;s/^rcpt: //p' "$entry")" b@example.com
	make_due "$entry"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(all_received_rcpts)" \
		$'a@example.com\nb@example.com\nc@example.com'
}

@test "LMTP in a flush: a dead letter requeued never goes again to those who have it" {
	start_server --lmtp --fault 'eom:b@example.com=550 5.1.1 unknown'
	server_config "$T/cfg" "protocol lmtp" "queue always" "queue_dir $T/q"
	send_message "$MSG" -C "$T/cfg" a@example.com b@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	assert_contains "$(cat "$T"/q/dead/*.state)" "delivered: a@example.com"
	local first_spool=$SPOOL
	start_server --lmtp
	server_config "$T/cfg" "protocol lmtp" "queue always" "queue_dir $T/q"
	run_outbox -C "$T/cfg" --queue-requeue=all
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(all_received_rcpts)" b@example.com
	SPOOL=$first_spool
	assert_equal "$(all_received_rcpts)" a@example.com
}

@test "flush: after a refused recipient the next message gets ONE RSET, not two" {
	start_server --fault 'rcpt:bad@example.com=550 5.1.1 unknown'
	server_config "$T/cfg" "queue always" "queue_dir $T/q"
	send_message "$MSG" -C "$T/cfg" bad@example.com
	assert_exit 0
	sleep 0.01
	send_message "$MSG" -C "$T/cfg" good@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	assert_received 1
	assert_equal "$(grep -c '^RSET' <(tr -d '\r' <"$SPOOL/wire.log"))" 1
}

@test "many refused recipients are listed one per line, then summarised" {
	start_server --fault 'rcpt=550 5.1.1 unknown user'
	server_config "$T/cfg"
	# shellcheck disable=SC2046
	send_message "$MSG" -C "$T/cfg" $(recipients 30)
	assert_exit 69
	assert_contains "$stderr" "not delivered to 30 recipients"
	assert_contains "$stderr" $'\n  <rcpt20@example.com>: 550 5.1.1 unknown user\n  and 10 more refused'
	refute_contains "$stderr" "rcpt21@example.com"
}
