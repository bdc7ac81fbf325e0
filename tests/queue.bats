#!/usr/bin/env bats
# queue.bats - the durable queue: `queue on-failure` and `queue always`
# submissions, --flush (one session per smarthost, retries, dead letters,
# bounce notices), --list-queue / mailq, --queue-delete, --queue-requeue,
# the directory safety checks, and crash safety: kill -9 during submission
# or during a flush never loses a message, never leaves a partial entry,
# and never duplicates one beyond the single message in flight (SMTP
# cannot tell a client that died after the server's final reply from one
# that died before it: RFC 5321 6.1 accepts that duplicate).

load lib

setup() {
	setup_common
	Q=$T/queue
	USER_TREE=
}

teardown() {
	teardown_common
	if [ -n "$USER_TREE" ]; then rm -rf "$USER_TREE"; fi
}

MSG=$'Subject: queued\n\nbody line\n'

# An account for the current server with its queue in $Q.
qconfig() {
	server_config "$T/cfg" "queue_dir $Q" "$@"
}

# IDs of the queued entries (not dead letters), one per line.
queue_ids() {
	local f
	for f in "$Q"/*.msg; do
		[ -e "$f" ] && basename "$f" .msg
	done
	return 0
}

dead_ids() {
	local f
	for f in "$Q"/dead/*.msg; do
		[ -e "$f" ] && basename "$f" .msg
	done
	return 0
}

# Simulate the passage of time: make every queued entry due now (the state
# file format is documented in src/queue.h; attempts are kept).
make_due() {
	local id attempts
	for id in $(queue_ids); do
		attempts=$(sed -n 's/^attempts: //p' "$Q/$id.state" 2>/dev/null ||
			true)
		[ -n "$attempts" ] ||
			attempts=$(sed -n '/^$/q;s/^attempts: //p' "$Q/$id.msg")
		printf 'outbox-queue-state 1\nqueued: %s\nattempts: %s\nnext-attempt: 0\n' \
			"$(date +%s)" "${attempts:-0}" >"$Q/$id.state"
	done
}

# Queue N numbered messages ("marker N" in the subject and the last body
# line) with `queue always` (the config must say so).
queue_numbered() {
	local n=$1 i
	for ((i = 1; i <= n; i++)); do
		printf 'Subject: marker %d\n\nfirst line\nmarker-end %d\n' "$i" "$i" |
			"$OUTBOX" -C "$T/cfg" rcpt@example.com ||
			return 1
	done
}

# The markers the server received, one per line, sorted numerically.
received_markers() {
	cat "$SPOOL"/*.eml 2>/dev/null | tr -d '\r' |
		sed -n 's/^marker-end //p' | sort -n
}

@test "on-failure: server down -> exit 0, listed; later one flush delivers it exactly once" {
	start_server
	stop_server
	qconfig "queue on-failure"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_contains "$stderr" "queued as"
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	assert_contains "$output" "rcpt@example.com"
	assert_contains "$output" "deferred until"
	assert_contains "$output" ", 1 attempt; last error: cannot connect"
	[ "$(queue_ids | wc -l)" = 1 ]
	# not due yet: a flush leaves it alone
	start_server
	qconfig "queue on-failure"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 0
	make_due
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_contains "$output" ": delivered"
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.com
	assert_contains "$(received_message 1)" "body line"
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	assert_contains "$output" "is empty"
	# a second flush sends nothing again
	run_outbox -C "$T/cfg" -q
	assert_exit 0
	assert_received 1
}

@test "on-failure: a message delivered at once is not queued" {
	start_server
	qconfig "queue on-failure"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(queue_ids)" ""
}

@test "on-failure: a permanent refusal is not queued (exit 69)" {
	start_server --fault 'rcpt=550 5.1.1 no such user'
	qconfig "queue on-failure"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 69
	assert_equal "$(queue_ids)" ""
}

@test "queue always: stored without any connection, delivered by --flush" {
	start_server
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_no_session
	[ "$(queue_ids | wc -l)" = 1 ]
	# the entry is private
	[ "$(stat -c %a "$Q")" = 700 ]
	[ "$(stat -c %a "$Q/$(queue_ids).msg")" = 600 ]
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
	assert_equal "$(queue_ids)" ""
}

@test "--flush -v shows each session's conversation, --flush alone none" {
	start_server
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush -v
	assert_exit 0
	assert_received 1
	assert_contains "$stderr" "--> MAIL FROM:<sender@example.com>"
	assert_contains "$stderr" "--> QUIT"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 2
	assert_equal "$stderr" ""
}

@test "the queued bytes are exactly the final message (edits, dot lines, 8-bit)" {
	start_server --smtputf8
	qconfig "queue always"
	local text=$'Subject: caf\xc3\xa9\n\n.leading dot\n..two dots\n.\nlast\n'
	send_message "$text" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
	local got
	got=$(received_message 1 | tr -d '\r')
	assert_contains "$got" $'.leading dot\n..two dots\n.\nlast'
	assert_contains "$got" "Message-ID: <"
	assert_contains "$got" "From: sender@example.com"
}

@test "550 at RCPT -> dead letter with the reason; requeue after the fix delivers it" {
	start_server --fault 'rcpt=550 5.1.1 no such user here'
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	assert_contains "$output" "moved to the dead letters"
	assert_contains "$stderr" "dead letters"
	assert_received 0
	local id
	id=$(dead_ids)
	[ -n "$id" ]
	assert_equal "$(queue_ids)" ""
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	assert_contains "$output" "dead letter since"
	assert_contains "$output" ", 1 attempt: "
	assert_contains "$output" "550 5.1.1 no such user here"
	assert_contains "$output" "1 dead letter(s)"
	# another flush does not touch dead letters
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	# fix the problem, requeue, flush
	stop_server
	start_server
	qconfig "queue always"
	run_outbox -C "$T/cfg" --queue-requeue="$id"
	assert_exit 0
	assert_contains "$output" "requeued $id"
	assert_equal "$(queue_ids)" "$id"
	assert_equal "$(dead_ids)" ""
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
	run_outbox -C "$T/cfg" --list-queue
	assert_contains "$output" "is empty"
}

@test "--queue-requeue=all moves every dead letter back" {
	start_server --fault 'rcpt=550 5.1.1 no'
	qconfig "queue always"
	queue_numbered 3
	run_outbox -C "$T/cfg" -q
	assert_exit 69
	[ "$(dead_ids | wc -l)" = 3 ]
	run_outbox -C "$T/cfg" --queue-requeue=all
	assert_exit 0
	[ "$(queue_ids | wc -l)" = 3 ]
	run_outbox -C "$T/cfg" --queue-requeue=all
	assert_exit 0
	assert_contains "$output" "no dead letters"
}

@test "a 451 defers: attempts counted, next attempt set, exit 75, then delivered" {
	start_server --fault 'rcpt=451 4.7.1 try later'
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	run_outbox -C "$T/cfg" --flush
	assert_exit 75
	assert_contains "$output" "deferred until"
	assert_contains "$output" "(attempt 1)"
	assert_contains "$stderr" "451 4.7.1 try later"
	run_outbox -C "$T/cfg" --list-queue
	assert_contains "$output" "deferred until"
	assert_contains "$output" ", 1 attempt; last error: "
	assert_contains "$output" "451 4.7.1 try later"
	make_due
	run_outbox -C "$T/cfg" --flush
	assert_exit 75
	run_outbox -C "$T/cfg" --list-queue
	assert_contains "$output" ", 2 attempts; last error: "
	stop_server
	start_server
	qconfig "queue always"
	make_due
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
}

@test "given up after queue_max_age -> dead letter; a bounce notice reaches the sender" {
	start_server
	stop_server
	qconfig "queue on-failure" "queue_max_age 1s" "queue_bounce on"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	sleep 1.2
	# write a state whose queue time is in the past
	local id
	id=$(queue_ids)
	printf 'outbox-queue-state 1\nqueued: %s\nattempts: 1\nnext-attempt: 0\n' \
		$(($(date +%s) - 5)) >"$Q/$id.state"
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	assert_contains "$output" "gave up after 2 attempts"
	assert_contains "$output" "bounce notice"
	assert_equal "$(dead_ids)" "$id"
	# the notice waits in the queue for the server
	[ "$(queue_ids | wc -l)" = 1 ]
	start_server
	qconfig "queue on-failure" "queue_max_age 1s" "queue_bounce on"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" ""
	assert_equal "$(received_envelope 1 rcpt_tos)" sender@example.com
	assert_equal "$(received_header 1 Auto-Submitted)" auto-replied
	assert_contains "$(received_message 1)" "Subject: queued"
	assert_contains "$(received_message 1)" "--queue-requeue=$id"
}

@test "a permanent refusal with queue_bounce: the notice goes out in the same session" {
	start_server --fault 'rcpt:bad@example.com=550 5.1.1 unknown user'
	qconfig "queue always" "queue_bounce on"
	send_message "$MSG" -C "$T/cfg" bad@example.com
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	assert_received 1
	[ "$(session_count)" = 1 ]
	assert_equal "$(received_envelope 1 mail_from)" ""
	assert_equal "$(received_envelope 1 rcpt_tos)" sender@example.com
	assert_contains "$(received_message 1)" "unknown user"
	assert_contains "$(received_message 1)" "bad@example.com"
	assert_equal "$(queue_ids)" ""
}

@test "a bounce is never bounced: null-sender dead letters send no notice" {
	start_server --fault 'rcpt=550 5.1.1 no'
	qconfig "queue always" "queue_bounce on"
	send_message "$MSG" -C "$T/cfg" -f '<>' rcpt@example.com
	assert_exit 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 69
	refute_contains "$output" "bounce notice"
	assert_equal "$(queue_ids)" ""
	[ "$(dead_ids | wc -l)" = 1 ]
}

@test "200 messages, one flush: all arrive complete, in ONE session" {
	start_server
	qconfig "queue always"
	queue_numbered 200
	[ "$(queue_ids | wc -l)" = 200 ]
	assert_no_session
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 200
	[ "$(session_count)" = 1 ]
	assert_equal "$(received_markers)" "$(seq 1 200)"
	# in submission order
	assert_contains "$(received_message 1)" "marker-end 1"
	assert_contains "$(received_message 200)" "marker-end 200"
	assert_equal "$(queue_ids)" ""
}

@test "two smarthosts: one session each" {
	start_server
	local port1=$PORT spool1=$SPOOL
	start_server
	write_config "$T/cfg" <<EOF
defaults
tls off
auth off
timeout 5
queue always
queue_dir $Q
account one
host 127.0.0.1
port $port1
from one@example.com
account two
host 127.0.0.1
port $PORT
from two@example.com
account default : one
EOF
	local i
	for i in 1 2 3; do
		send_message "$MSG" -C "$T/cfg" -a one rcpt@example.com
		send_message "$MSG" -C "$T/cfg" -a two rcpt@example.com
	done
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 3
	[ "$(session_count)" = 1 ]
	SPOOL=$spool1 assert_received 3
	[ "$(SPOOL=$spool1 session_count)" = 1 ]
	assert_equal "$(received_envelope 1 mail_from)" two@example.com
}

@test "two flushes at once deliver every message exactly once" {
	start_server
	qconfig "queue always"
	queue_numbered 300
	"$OUTBOX" -C "$T/cfg" --flush >"$T/f1" 2>&1 &
	local p1=$!
	"$OUTBOX" -C "$T/cfg" --flush >"$T/f2" 2>&1 &
	local p2=$!
	wait $p1 || true
	wait $p2 || true
	assert_received 300
	assert_equal "$(received_markers)" "$(seq 1 300)"
	assert_equal "$(queue_ids)" ""
	# both really worked at the same time
	local delivered1 delivered2
	delivered1=$(grep -c ': delivered' "$T/f1" || true)
	delivered2=$(grep -c ': delivered' "$T/f2" || true)
	echo "flush 1 delivered $delivered1, flush 2 delivered $delivered2" >&3
	[ $((delivered1 + delivered2)) = 300 ]
}

@test "kill -9 during submission never leaves a partial entry" {
	start_server
	qconfig "queue always"
	# a 4 MiB message: long enough to be killed while being written
	/usr/bin/python3 -c '
import sys
out = sys.stdout
out.write("Subject: big\n\n")
for i in range(60000):
    out.write("line %06d abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN\n" % i)
out.write("the-very-end\n")' >"$T/big"
	# one complete submission tells how long one takes on this machine
	local start full
	start=$(date +%s%N)
	"$OUTBOX" -C "$T/cfg" rcpt@example.com <"$T/big"
	full=$((($(date +%s%N) - start) / 1000000))
	local i pid delay
	for ((i = 0; i < 20; i++)); do
		"$OUTBOX" -C "$T/cfg" rcpt@example.com <"$T/big" &
		pid=$!
		# anywhere from the start to a little after the end
		delay=$((RANDOM % (full * 12 / 10 + 1)))
		sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
	done
	local n
	n=$(queue_ids | wc -l)
	echo "one submission: $full ms; $((n - 1)) of 20 completed before the kill" >&3
	[ "$n" -ge 1 ]
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	refute_contains "$output" "unreadable"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received "$n"
	local k
	for ((k = 1; k <= n; k++)); do
		[ "$(tail -c 14 "$SPOOL/$k.eml" | tr -d '\r\n')" = the-very-end ]
		[ "$(grep -c '^line ' "$SPOOL/$k.eml")" = 60000 ]
	done
	assert_equal "$(queue_ids)" ""
}

@test "kill -9 during a flush: nothing lost, at most the in-flight message twice" {
	start_server
	qconfig "queue always"
	queue_numbered 200
	local round pid kills=0
	for round in 1 2 3; do
		"$OUTBOX" -C "$T/cfg" --flush >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 5 + 2))"
		if kill -9 $pid 2>/dev/null; then
			kills=$((kills + 1))
		fi
		wait $pid 2>/dev/null || true
	done
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(queue_ids)" ""
	# every message arrived; duplicates only of messages in flight
	assert_equal "$(received_markers | uniq)" "$(seq 1 200)"
	local dups
	dups=$(received_markers | uniq -d | wc -l)
	echo "$kills kills, $dups duplicate(s)" >&3
	[ "$dups" -le "$kills" ]
	[ "$(received_markers | uniq -c | awk '$1 > 2' | wc -l)" = 0 ]
}

@test "--queue-delete removes one entry; unknown and malformed IDs are refused" {
	start_server
	qconfig "queue always"
	queue_numbered 2
	local id
	id=$(basename "$(grep -l 'marker-end 1' "$Q"/*.msg)" .msg)
	run_outbox -C "$T/cfg" --queue-delete="$id"
	assert_exit 0
	assert_contains "$output" "deleted $id"
	[ "$(queue_ids | wc -l)" = 1 ]
	run_outbox -C "$T/cfg" --queue-delete="$id"
	assert_exit 66
	assert_contains "$stderr" "no queued message"
	run_outbox -C "$T/cfg" --queue-delete=../../etc/passwd
	assert_exit 64
	run_outbox -C "$T/cfg" --queue-requeue=nonsense
	assert_exit 64
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
	assert_contains "$(received_message 1)" "marker-end 2"
}

@test "mailq, -bp and --queue-dir list the queue" {
	start_server
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" -f alice@example.org rcpt@example.com
	ln -s "$OUTBOX" "$T/mailq"
	OUTBOX=$T/mailq run_outbox -C "$T/cfg"
	assert_exit 0
	assert_contains "$output" "from <alice@example.org>"
	run_outbox -C "$T/cfg" -bp
	assert_exit 0
	assert_contains "$output" "1 message(s) in queue $Q"
	# without a configuration, --queue-dir names the directory
	run_outbox -C /dev/null --queue-dir="$Q" --list-queue
	assert_exit 0
	assert_contains "$output" "to <rcpt@example.com>"
	run_outbox -C /dev/null --queue-dir="$T/nothing" --list-queue
	assert_exit 0
	assert_contains "$output" "queue $T/nothing is empty"
	[ ! -e "$T/nothing" ]
}

@test "an unsafe queue directory is refused (EX_CONFIG)" {
	start_server
	qconfig "queue always"
	mkdir -p "$Q"
	chmod 777 "$Q"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "written by group or others"
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 78
	chmod 700 "$Q"
	if [ "$(id -u)" = 0 ]; then
		chown 65534 "$Q"
		send_message "$MSG" -C "$T/cfg" rcpt@example.com
		assert_exit 78
		assert_contains "$stderr" "not to you"
		chown 0 "$Q"
	fi
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
}

@test "a damaged entry is reported and set aside, never deleted; the others are delivered" {
	start_server
	qconfig "queue always"
	queue_numbered 2
	local id
	id=$(queue_ids | head -1)
	sed -i 's/^size: .*/size: lots/' "$Q/$id.msg"
	cp "$Q/$id.msg" "$T/original"
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	assert_contains "$output" "$id  unreadable, the next --flush sets it aside: unreadable queue entry"
	assert_contains "$output" "1 unreadable"
	run_outbox -C "$T/cfg" --flush
	assert_exit 65
	assert_contains "$output" "$id: damaged, set aside in $Q/damaged"
	assert_contains "$output" "line 7: size: expected a number"
	assert_received 1
	[ ! -e "$Q/$id.msg" ]
	cmp "$Q/damaged/$id.msg" "$T/original"
	assert_contains "$(cat "$Q/damaged/$id.reason")" "size: expected a number"
	# Listed as damaged from now on; the next flush has nothing to say.
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	assert_contains "$output" "$id  damaged, set aside in damaged/: unreadable queue entry"
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	# --queue-delete removes it and everything beside it.
	run_outbox -C "$T/cfg" --queue-delete="$id"
	assert_exit 0
	assert_contains "$output" "deleted $id (damaged entry)"
	[ -z "$(ls -A "$Q/damaged")" ]
}

@test "a configuration error keeps the message queued and is retried at once" {
	start_server
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	# the account disappears from the configuration
	write_config "$T/cfg2" <<EOF
account other
host 127.0.0.1
port $PORT
tls off
queue_dir $Q
EOF
	run_outbox -C "$T/cfg2" -a other --flush
	assert_exit 78
	assert_contains "$output" "configuration error"
	assert_received 0
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_received 1
}

@test "each delivery from the queue is logged in msmtp's format" {
	start_server
	qconfig "queue always" "logfile $T/log"
	queue_numbered 2
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	[ "$(grep -c 'smtpstatus=250' "$T/log")" = 2 ]
	assert_contains "$(cat "$T/log")" "recipients=rcpt@example.com"
	assert_contains "$(cat "$T/log")" "exitcode=EX_OK"
}

@test "stale temporary files of killed writers are removed, fresh ones kept" {
	start_server
	qconfig "queue always"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	echo partial >"$Q/tmp-20200101T000000Z-0000000000000000"
	touch -d '2 hours ago' "$Q/tmp-20200101T000000Z-0000000000000000"
	echo partial >"$Q/tmp-20200101T000000Z-1111111111111111"
	run_outbox -C "$T/cfg" --list-queue
	assert_exit 0
	[ ! -e "$Q/tmp-20200101T000000Z-0000000000000000" ]
	[ -e "$Q/tmp-20200101T000000Z-1111111111111111" ]
	assert_contains "$output" "1 message(s)"
}

@test "a refused session defers the whole group after ONE connection" {
	start_server --fault 'greeting=421 4.3.2 too busy'
	qconfig "queue always"
	queue_numbered 3
	run_outbox -C "$T/cfg" --flush
	assert_exit 75
	[ "$(grep -c 'deferred until' <<<"$output")" = 3 ]
	assert_contains "$stderr" "3 message(s) deferred"
	[ "$(session_count)" = 1 ]
	run_outbox -C "$T/cfg" --list-queue
	[ "$(grep -c ', 1 attempt; last error: .*421 4.3.2 too busy' \
		<<<"$output")" = 3 ]
}

@test "a connection dropped at the end of data: that message deferred, the rest sent in a new session" {
	start_server --fault 'eom=once:drop'
	qconfig "queue always"
	queue_numbered 5
	run_outbox -C "$T/cfg" --flush
	assert_exit 75
	[ "$(grep -c ': delivered' <<<"$output")" = 4 ]
	assert_received 4
	[ "$(session_count)" = 2 ]
	[ "$(queue_ids | wc -l)" = 1 ]
	make_due
	run_outbox -C "$T/cfg" --flush
	assert_exit 0
	assert_equal "$(received_markers)" "$(seq 1 5)"
}

@test "as a normal user the default queue is \$XDG_STATE_HOME/outbox/queue" {
	[ "$(id -u)" = 0 ] || skip "needs root to switch to an unprivileged user"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
	start_server
	# a tree the unprivileged user (nobody, 65534) may use
	local u
	u=$(mktemp -d /tmp/outbox-queue-user-XXXXXX)
	USER_TREE=$u
	chmod 755 "$u"
	mkdir -p "$u/home/.local/state"
	server_config "$u/cfg" "queue always"
	# The binary where nobody can run it: the clone may live where
	# nobody cannot (under /root).
	mkdir "$u/bin"
	cp "$OUTBOX" "$u/bin/outbox"
	chown -R 65534:65534 "$u"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env HOME="$u/home" XDG_STATE_HOME="$u/state" \
			"$u/bin/outbox" -C "$u/cfg" "$@"
	}
	printf 'Subject: user\n\nbody\n' | as_nobody rcpt@example.com
	[ -d "$u/state/outbox/queue/dead" ]
	[ "$(stat -c '%u %a' "$u/state/outbox/queue")" = "65534 700" ]
	[ "$(ls "$u/state/outbox/queue" | grep -c '\.msg$')" = 1 ]
	# without XDG_STATE_HOME: ~/.local/state
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -u XDG_STATE_HOME HOME="$u/home" "$u/bin/outbox" -C "$u/cfg" \
		rcpt@example.com <<<"Subject: x"
	[ "$(ls "$u/home/.local/state/outbox/queue" | grep -c '\.msg$')" = 1 ]
	as_nobody --flush
	assert_received 1
}
