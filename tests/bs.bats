#!/usr/bin/env bats
# outbox -bs: SMTP on standard input and output, as Symfony Mailer and
# Laravel drive sendmail. Each test scripts a dialogue, then checks the
# replies outbox wrote and what the test smarthost received.

load lib

# Write the dialogue (printf format: \r\n spelled out) to $T/in and run
# outbox -bs on it with the test config; extra arguments go to outbox.
bs() {
	local script=$1
	shift
	printf "$script" >"$T/in"
	run_outbox -C "$T/rc" -bs "$@" <"$T/in"
}

# The codes of the final reply lines, in order, on one line.
reply_codes() {
	printf '%s\n' "$output" | tr -d '\r' | awk '/^[0-9][0-9][0-9] /{printf "%s%s", sep, $1; sep=" "} END{print ""}'
}

# The final reply line that answers the Nth command (0: the greeting).
reply_line() {
	printf '%s\n' "$output" | tr -d '\r' | awk '/^[0-9][0-9][0-9] /' | sed -n "$(($1 + 1))p"
}

assert_replies() {
	local got
	got=$(reply_codes)
	if [ "$got" != "$1" ]; then
		echo "replies: $got"
		echo "wanted:  $1"
		show_context
		return 1
	fi
}

HELLO='EHLO client.example\r\n'
ONE='MAIL FROM:<sender@example.com>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\nSubject: one\r\n\r\nfirst body\r\n.\r\n'

@test "-bs: one message, pipelined; the replies are in order and the server has it" {
	start_server
	server_config "$T/rc"
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_contains "$output" "250-PIPELINING"
	assert_contains "$output" "250-SIZE 67108864"
	assert_contains "$output" "250-8BITMIME"
	assert_contains "$output" "250-SMTPUTF8"
	assert_contains "$output" "250-DSN"
	assert_contains "$output" "250-ENHANCEDSTATUSCODES"
	# The reply to the final dot names the smarthost's queue id.
	assert_contains "$(reply_line 5)" "250 2.0.0 Ok: sent; the server said: 250 2.0.0 OK queued as 1"
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" "sender@example.com"
	assert_equal "$(received_envelope 1 rcpt_tos)" "rcpt@example.org"
	assert_equal "$(received_header 1 Subject)" "one"
	assert_equal "$(received_body 1)" $'first body\r'
	# every reply line ends in CRLF
	"$OUTBOX" -C "$T/rc" -bs <"$T/in" >"$T/out"
	assert_crlf_only "$T/out"
}

@test "-bs: one reply at a time (a client that waits for each) works too" {
	start_server
	server_config "$T/rc"
	coproc OB { "$OUTBOX" -C "$T/rc" -bs; }
	# bash closes a coproc's descriptors when it exits: keep copies, so
	# the reply to QUIT can still be read.
	local from_ob to_ob line replies=()
	exec {from_ob}<&"${OB[0]}" {to_ob}>&"${OB[1]}"
	say() { printf '%s\r\n' "$1" >&"$to_ob"; }
	hear() { # the final line of the next reply
		while IFS= read -r -t 10 line <&"$from_ob"; do
			line=${line%$'\r'}
			[[ $line == [0-9][0-9][0-9]' '* ]] && { replies+=("${line%% *}"); return 0; }
		done
		return 1
	}
	hear; say "HELO client"; hear; say "MAIL FROM:<a@example.com>"; hear
	say "RCPT TO:<b@example.org>"; hear; say "DATA"; hear
	say "Subject: interactive"; say ""; say "hello"; say "."; hear
	say "QUIT"; hear
	wait "$OB_PID" || status=$?
	exec {from_ob}<&- {to_ob}>&-
	assert_equal "${replies[*]}" "220 250 250 250 354 250 221"
	assert_received 1
	assert_equal "$(received_header 1 Subject)" "interactive"
}

@test "-bs: two messages in one process, each with its own envelope" {
	start_server
	server_config "$T/rc"
	bs "$HELLO$ONE"'MAIL FROM:<other@example.com>\r\nRCPT TO:<x@example.org>\r\nRCPT TO:<y@example.org>\r\nDATA\r\nSubject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 250 250 250 354 250 221"
	assert_received 2
	assert_equal "$(received_header 2 Subject)" "two"
	assert_equal "$(received_envelope 2 mail_from)" "other@example.com"
	assert_equal "$(received_envelope 2 rcpt_tos)" $'x@example.org\ny@example.org'
}

@test "-bs: RSET drops the transaction in progress" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<gone@example.com>\r\nRCPT TO:<gone@example.org>\r\nRSET\r\n'"$ONE"'QUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 250 250 250 354 250 221"
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" "rcpt@example.org"
	refute_contains "$(wire_log)" "gone@"
}

@test "-bs: a dot line and dot-stuffing survive the round trip" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: dots\r\n\r\n..\r\n...two\r\n.x\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_equal "$(received_body 1)" $'.\r\n..two\r\nx\r'
}

@test "-bs: a 2 MiB message arrives byte for byte" {
	start_server
	server_config "$T/rc"
	"$PYTHON" - "$T/big" <<'EOF'
import sys
lines = [("line %06d " % i) + "x" * 60 for i in range(2 * 1024 * 1024 // 72)]
with open(sys.argv[1], "w", newline="") as f:
    f.write("Subject: big\r\n\r\n" + "\r\n".join(lines) + "\r\n")
EOF
	{
		printf 'EHLO c\r\nMAIL FROM:<a@example.com> SIZE=%s\r\nRCPT TO:<b@example.org>\r\nDATA\r\n' "$(stat -c %s "$T/big")"
		cat "$T/big"
		printf '.\r\nQUIT\r\n'
	} >"$T/in"
	run_outbox -C "$T/rc" -bs <"$T/in"
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_received 1
	sed '1,/^\r$/d' "$T/big" >"$T/big.body"
	received_body 1 >"$T/got.body"
	cmp "$T/big.body" "$T/got.body"
}

@test "-bs: a recipient the smarthost refuses fails the message with the server's words; nobody gets it" {
	start_server --fault 'rcpt:bad@example.org=550 5.1.1 no such user here'
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com>\r\nRCPT TO:<good@example.org>\r\nRCPT TO:<bad@example.org>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n'"$ONE"'QUIT\r\n'
	# The dialogue itself went fine: exit 0 after QUIT.
	assert_exit 0
	assert_replies "220 250 250 250 250 354 550 250 250 354 250 221"
	assert_contains "$(reply_line 6)" "550 5.0.0"
	assert_contains "$(reply_line 6)" "no such user here"
	assert_contains "$(reply_line 6)" "bad@example.org"
	# The next message of the same process still goes through.
	assert_received 1
	assert_equal "$(received_header 1 Subject)" "one"
}

@test "-bs: smarthost down, no queue: 4xx at the final dot, exit 0 after QUIT" {
	start_server
	server_config "$T/rc"
	stop_server
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 451 221"
	assert_contains "$(reply_line 5)" "451 4.4.0"
}

@test "-bs: smarthost down with queue on-failure: 250 queued as ID, and the flush delivers it" {
	start_server
	local port=$PORT
	server_config "$T/rc" "queue on-failure" "queue_dir $T/queue"
	stop_server
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_contains "$(reply_line 5)" "250 2.0.0 Ok: queued as "
	# make it due now (the state file format is in src/queue_format.h)
	local id
	for id in "$T"/queue/*.msg; do
		printf 'outbox-queue-state 1\nqueued: %s\nattempts: 1\nnext-attempt: 0\n' \
			"$(date +%s)" >"${id%.msg}.state"
	done
	start_server
	sed -i "s/^port .*/port $PORT/" "$T/rc"
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" "sender@example.com"
	assert_equal "$(received_header 1 Subject)" "one"
}

@test "-bs: queue always stores the message and replies with its id" {
	start_server
	server_config "$T/rc" "queue always" "queue_dir $T/queue"
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_contains "$(reply_line 5)" "250 2.0.0 Ok: queued as "
	assert_no_session
	run_outbox -C "$T/rc" --list-queue
	assert_contains "$output" "rcpt@example.org"
}

@test "-bs: bad commands get 500/501/502/503/553/555 and the dialogue goes on" {
	start_server
	server_config "$T/rc"
	bs 'EHLO\r\nFOO bar\r\nSTARTTLS\r\nRCPT TO:<x@example.org>\r\nDATA\r\nMAIL FROM:<a b@example.com>\r\nMAIL FROM:<a@example.com> FANCY=1\r\nMAIL FROM:<a@example.com> BODY=BINARYMIME\r\nMAIL FROM:<a@example.com>\r\nMAIL FROM:<a@example.com>\r\nDATA\r\nRCPT TO:<>\r\nRCPT TO:<x@example.org> NOTIFY=SOMETIMES\r\nVRFY root\r\nEXPN staff\r\nHELP\r\nNOOP\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 501 500 502 503 503 553 555 555 250 503 503 501 501 252 502 214 250 221"
	assert_no_session
}

@test "-bs: a command line over the limit gets 500 and is skipped whole" {
	start_server
	server_config "$T/rc"
	local long
	long=$(printf 'x%.0s' $(seq 1 5000))
	bs "NOOP $long"'\r\n'"$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_replies "220 500 250 250 250 354 250 221"
	assert_contains "$(reply_line 1)" "500 5.5.2 line too long"
	assert_received 1
}

@test "-bs: twenty mistakes end the dialogue with 421 (exit 76)" {
	start_server
	server_config "$T/rc"
	local script='' i
	for i in $(seq 1 25); do script+='BOGUS\r\n'; done
	bs "$script"
	assert_exit 76
	assert_equal "$(reply_line 21)" "421 4.7.0 $(hostname) too many errors: closing"
	assert_equal "$(reply_codes | wc -w)" 22
}

@test "-bs: a client silent past -O Timeout.command gets 421 and outbox exits 75" {
	start_server
	server_config "$T/rc"
	run_outbox -C "$T/rc" -bs -O Timeout.command=1s < <(printf 'EHLO c\r\n'; sleep 4)
	assert_exit 75
	assert_elapsed_below 3500
	assert_contains "$output" "421 4.4.2"
	assert_contains "$stderr" "no command for 1 seconds"
}

@test "-bs: a client dripping a message slower than the timeout is dropped" {
	start_server
	server_config "$T/rc"
	run_outbox -C "$T/rc" -bs -O Timeout.command=1 < <(printf 'EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: drip\r\n\r\npart'
		sleep 3; printf 'rest\r\n.\r\nQUIT\r\n')
	assert_elapsed_below 2500
	assert_exit 75
	assert_contains "$output" "421 4.4.2"
}

@test "-bs: end of input in the middle of a message sends nothing (exit 76)" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: cut\r\n\r\nhalf'
	assert_exit 76
	assert_contains "$stderr" "went away in the middle of a message"
	assert_no_session
}

@test "-bs: end of input between transactions ends the dialogue like QUIT" {
	start_server
	server_config "$T/rc"
	bs "$HELLO$ONE"
	assert_exit 0
	assert_received 1
}

@test "-bs: LF.LF inside a message is text, never the end of data (no smuggling)" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: s\r\n\r\nbody\n.\nMAIL FROM:<evil@example.com>\nRCPT TO:<victim@example.org>\nDATA\nSubject: smuggled\n\nx\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_received 1
	refute_contains "$(received_envelope 1 rcpt_tos)" "victim"
	# The would-be commands arrived as text of the one message (the bare
	# LFs made CRLF, the lone dot line stuffed on the wire and unstuffed).
	assert_contains "$(received_body 1)" "RCPT TO:<victim@example.org>"
	assert_crlf_only "$SPOOL/1.eml"
}

@test "-bs: commands may end in a bare LF; a bare CR inside one is refused" {
	start_server
	server_config "$T/rc"
	bs 'EHLO c\nNOOP\rRSET\r\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nSubject: lf\r\n\r\nx\r\n.\r\nQUIT\n'
	assert_exit 0
	assert_replies "220 250 500 250 250 354 250 221"
	assert_received 1
}

@test "-bs: MAIL SIZE over the limit gets 552" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com> SIZE=99999999999\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 552 221"
	assert_contains "$(reply_line 2)" "552 5.3.4"
}

@test "-bs: after a message, EHLO announces the smarthost's SIZE and MAIL keeps to it" {
	start_server --size 5000
	server_config "$T/rc"
	bs "$HELLO$ONE"'EHLO again\r\nMAIL FROM:<a@example.com> SIZE=6000\r\nMAIL FROM:<a@example.com> SIZE=4000\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 250 250 552 250 221"
	assert_contains "$output" "250-SIZE 5000"
	assert_contains "$(reply_line 7)" "552 5.3.4 the message is larger than the 5000 octets"
}

@test "-bs: a message over 64 MiB gets 552 after its data, and nothing is sent" {
	start_server
	server_config "$T/rc"
	{
		printf 'EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: huge\r\n\r\n'
		yes 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' |
			head -n 930000 | sed 's/$/\r/'
		printf '.\r\n'
		printf "$ONE"'QUIT\r\n'
	} >"$T/in"
	run_outbox -C "$T/rc" -bs <"$T/in"
	assert_exit 0
	assert_replies "220 250 250 250 354 552 250 250 354 250 221"
	assert_contains "$(reply_line 5)" "552 5.3.4"
	assert_received 1
	assert_equal "$(received_header 1 Subject)" "one"
}

@test "-bs: a non-ASCII address needs SMTPUTF8; with it the message goes out as SMTPUTF8" {
	start_server --smtputf8
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<jörg@example.com>\r\nMAIL FROM:<jörg@example.com> SMTPUTF8\r\nRCPT TO:<zoë@example.org>\r\nDATA\r\nSubject: u\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 553 250 250 354 250 221"
	assert_contains "$(reply_line 2)" "553 5.6.7"
	assert_equal "$(received_envelope 1 rcpt_tos)" "zoë@example.org"
	assert_equal "$(received_envelope 1 smtputf8)" "true"
}

@test "-bs: NOTIFY and RET are passed on to a DSN smarthost; a second NOTIFY value is refused" {
	start_server --dsn
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com> RET=HDRS\r\nRCPT TO:<b@example.org> NOTIFY=success,failure\r\nRCPT TO:<c@example.org> NOTIFY=NEVER\r\nRCPT TO:<d@example.org> NOTIFY=FAILURE,SUCCESS\r\nDATA\r\nSubject: d\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 555 250 354 250 221"
	assert_contains "$(received_envelope 1 mail_options)" "RET=HDRS"
	assert_equal "$(received_envelope 1 rcpt_options.0)" "NOTIFY=SUCCESS,FAILURE"
	assert_equal "$(received_envelope 1 rcpt_options.1)" "NOTIFY=SUCCESS,FAILURE"
	assert_equal "$(received_envelope 1 rcpt_tos)" $'b@example.org\nd@example.org'
}

@test "-bs: ENVID and ORCPT reach the smarthost, also through the queue" {
	start_server --dsn
	server_config "$T/rc"
	local tx='MAIL FROM:<a@example.com> ENVID=QQ+2B314\r\nRCPT TO:<b@example.org> ORCPT=rfc822;B+40example.org\r\nRCPT TO:<c@example.org>\r\nDATA\r\nSubject: e\r\n\r\nx\r\n.\r\n'
	bs "$HELLO$tx"'QUIT\r\n'
	assert_exit 0
	assert_contains "$(received_envelope 1 mail_options)" "ENVID=QQ+2B314"
	assert_equal "$(received_envelope 1 rcpt_options.0)" "ORCPT=rfc822;B+40example.org"
	assert_equal "$(received_envelope 1 rcpt_options.1)" ""
	server_config "$T/rc" "queue always" "queue_dir $T/queue"
	bs "$HELLO$tx"'QUIT\r\n'
	assert_exit 0
	assert_received 1
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_received 2
	assert_contains "$(received_envelope 2 mail_options)" "ENVID=QQ+2B314"
	assert_equal "$(received_envelope 2 rcpt_options.0)" "ORCPT=rfc822;B+40example.org"
}

@test "-bs: DSN parameters to a smarthost without DSN fail the message (554), not silently dropped" {
	start_server
	server_config "$T/rc"
	bs "$HELLO"'MAIL FROM:<a@example.com> ENVID=X1\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: e\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_replies "220 250 250 250 354 554 221"
	assert_contains "$(reply_line 5)" "does not support DSN"
	assert_received 0
}

@test "-bs: MAIL FROM picks the account whose from matches, as -f does" {
	start_server
	local first=$PORT first_spool=$SPOOL
	start_server
	write_config "$T/rc" <<EOF
defaults
tls off
auth off
timeout 5
account one
host 127.0.0.1
port $first
from one@example.com
account two
host 127.0.0.1
port $PORT
from two@example.com
account default : one
EOF
	bs "$HELLO"'MAIL FROM:<two@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: two\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" "two@example.com"
	SPOOL=$first_spool assert_received 0
}

@test "-bs: with allow_from_override off MAIL FROM does not change the envelope sender" {
	start_server
	server_config "$T/rc" "allow_from_override off"
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_exit 0
	assert_equal "$(received_envelope 1 mail_from)" "sender@example.com"
	start_server
	server_config "$T/rc" "allow_from_override off" "from fixed@example.net"
	bs "$HELLO$ONE"'QUIT\r\n'
	assert_equal "$(received_envelope 1 mail_from)" "fixed@example.net"
}

@test "-bs: the account's timeout is the smarthost's, not the client's; a bad -O Timeout.command is 64" {
	start_server
	server_config "$T/rc" "timeout 1"
	run_outbox -C "$T/rc" -bs < <(printf "$HELLO"; sleep 2; printf "$ONE"'QUIT\r\n')
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_received 1
	for bad in 0 5x 1h-2m '' 99999999; do
		run_outbox -C "$T/rc" -bs -O "Timeout.command=$bad" </dev/null
		assert_exit 64
		assert_contains "$stderr" "Timeout.command"
	done
	# other -O options are still accepted and ignored
	bs "$HELLO"'QUIT\r\n' -O DeliveryMode=b -O Timeout.command=1h30m
	assert_exit 0
}

@test "-bs: -t, -f and recipients cannot be combined with -bs (64)" {
	start_server
	server_config "$T/rc"
	for args in "-t" "-f a@example.com" "--read-envelope-from" "rcpt@example.org"; do
		# shellcheck disable=SC2086
		run_outbox -C "$T/rc" -bs $args </dev/null
		assert_exit 64
		assert_contains "$stderr" "-bs"
	done
}

@test "-bs: a client that stops reading ends outbox without a crash (74)" {
	start_server
	server_config "$T/rc"
	printf "$HELLO$ONE"'QUIT\r\n' >"$T/in"
	run bash -c '"$OUTBOX" -C "$T/rc" -bs <"$T/in" | true; echo "status ${PIPESTATUS[0]}"'
	[[ $output == *"status 0"* || $output == *"status 74"* ]]
}

@test "-bv shows where each recipient's mail would go, after aliases; nothing is sent" {
	start_server
	printf 'root: admin@example.org, ops@example.org\n' >"$T/aliases"
	server_config "$T/rc" "aliases $T/aliases"
	run_outbox -C "$T/rc" -bv root x@example.net
	assert_exit 0
	assert_equal "$output" "admin@example.org... deliverable: mailer esmtp, host 127.0.0.1, port $PORT, user admin@example.org
ops@example.org... deliverable: mailer esmtp, host 127.0.0.1, port $PORT, user ops@example.org
x@example.net... deliverable: mailer esmtp, host 127.0.0.1, port $PORT, user x@example.net"
	assert_no_session
	run_outbox -C "$T/rc" -bv 'bad <x'
	assert_exit 64
	assert_contains "$stderr" "invalid address"
	run_outbox -C "$T/rc" -bv -t
	assert_exit 64
}

@test "-bs with --host reads no configuration, as sending does" {
	start_server
	printf 'this is not a valid configuration\n' >"$T/home/.msmtprc"
	bs "$HELLO$ONE"'QUIT\r\n' --host=127.0.0.1 --port="$PORT" --tls=off --auth=off --from=x@example.com
	assert_exit 64
	bs "$HELLO$ONE"'QUIT\r\n' --host=127.0.0.1 --port="$PORT" --tls=off --auth=off
	assert_exit 0
	assert_replies "220 250 250 250 354 250 221"
	assert_received 1
}

@test "-bs: each message goes through the account's header edits and DKIM signing" {
	start_server
	openssl genpkey -algorithm ed25519 -out "$T/dkim.pem" 2>/dev/null
	chmod 600 "$T/dkim.pem"
	local record
	record="v=DKIM1; k=ed25519; p=$(openssl pkey -in "$T/dkim.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"
	server_config "$T/rc" "dkim_key $T/dkim.pem" "dkim_selector s1" "dkim_domain example.com"
	bs "$HELLO$ONE"'MAIL FROM:<other@example.com>\r\nRCPT TO:<x@example.org>\r\nDATA\r\nFrom: Other <other@example.com>\r\nSubject: two\r\n\r\n..dotted\r\n.\r\nQUIT\r\n'
	assert_exit 0
	assert_received 2
	# outbox added what a message on standard input gets (From, Date,
	# Message-ID) and signed both messages, as they arrived.
	assert_equal "$(received_header 1 From)" "sender@example.com"
	[ -n "$(received_header 1 Date)" ]
	[ -n "$(received_header 1 Message-ID)" ]
	"$PYTHON" - "$record" "$SPOOL/1.eml" "$SPOOL/2.eml" <<'PY'
import sys, dkim
record = sys.argv[1].encode()
for path in sys.argv[2:]:
    msg = open(path, "rb").read()
    if not dkim.verify(msg, dnsfunc=lambda name, timeout=5: record):
        sys.exit("DKIM signature of %s does not verify" % path)
PY
}
