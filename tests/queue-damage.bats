#!/usr/bin/env bats
# queue-damage.bats - crash consistency of the queue: whatever happens to
# the files of one entry (its message, its state, as a queued entry or as a
# dead letter), cut at every 64th byte or overwritten with random bytes,
# --list-queue and --flush never crash, never send a damaged body, always
# deliver the intact neighbour, and never delete the damaged entry (it is
# delivered intact, or still on disk: queued, dead or set aside).

load lib

setup() {
	setup_common
	Q=$T/queue
}

teardown() { teardown_common; }

# Queue two messages once: the neighbour that must always arrive, and the
# victim whose files are damaged. Each case starts from a copy of that
# queue. Sets NEIGHBOUR, VICTIM (IDs) and the expected bytes of each in
# $T/NAME.expected (the message part of the entry, as the server gets it).
prepare() {
	start_server
	server_config "$T/cfg" "queue_dir $Q" "queue always"
	{
		printf 'Subject: neighbour\n\n'
		seq -f 'neighbour line %g' 1 20
	} >"$T/neighbour.in"
	{
		printf 'Subject: victim\n\n'
		seq -f 'victim line %04g of a body that spans many blocks' 1 40
	} >"$T/victim.in"
	"$OUTBOX" -C "$T/cfg" neighbour@example.com <"$T/neighbour.in"
	"$OUTBOX" -C "$T/cfg" victim@example.com <"$T/victim.in"
	NEIGHBOUR=$(basename "$(grep -l '^rcpt: neighbour@' "$Q"/*.msg)" .msg)
	VICTIM=$(basename "$(grep -l '^rcpt: victim@' "$Q"/*.msg)" .msg)
	local id
	for id in "$NEIGHBOUR" "$VICTIM"; do
		# The queue header ends at the first line that is empty
		# without a CR; the message lines all end in CRLF.
		LC_ALL=C sed '1,/^$/d' "$Q/$id.msg" >"$T/$id.expected"
	done
	[ "$(wc -c <"$T/$VICTIM.expected")" -gt 1500 ]
	cp -a "$Q" "$T/pristine"
	DELIVERED=0
}

fresh_queue() {
	rm -rf "$Q"
	cp -a "$T/pristine" "$Q"
}

# Make the victim a dead letter, as a flush that gave up would have.
kill_victim() {
	mv "$Q/$VICTIM.msg" "$Q/dead/"
	printf 'outbox-queue-state 1\nqueued: %s\nattempts: 3\nnext-attempt: 0\ndead-since: %s\ndead-reason: 550 no such user\n' \
		"$(date +%s)" "$(date +%s)" >"$Q/dead/$VICTIM.state"
}

# No signal, no sanitizer report, no hang.
assert_sane() {
	local what=$1
	if [ "$status" -ge 124 ] || [[ $stderr == *Sanitizer* ]] ||
		[[ $stderr == *"runtime error"* ]]; then
		echo "$what: crashed or hung (status $status)" >&2
		show_context
		return 1
	fi
}

# What the server received since the last call, checked: every message is
# one of the two, byte for byte, and neither arrives twice overall.
check_received() {
	local f n got=0 victim=0
	for f in "$SPOOL"/*.eml; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .eml)
		[ "$n" -gt "$DELIVERED" ] || continue
		got=$((got + 1))
		if cmp -s "$f" "$T/$NEIGHBOUR.expected"; then
			NEIGHBOUR_SEEN=$((NEIGHBOUR_SEEN + 1))
		elif cmp -s "$f" "$T/$VICTIM.expected"; then
			VICTIM_SEEN=$((VICTIM_SEEN + 1))
		else
			echo "case $CASE: the server received a damaged message ($f)" >&2
			return 1
		fi
	done
	DELIVERED=$((DELIVERED + got))
	if [ "$NEIGHBOUR_SEEN" -gt 1 ] || [ "$VICTIM_SEEN" -gt 1 ]; then
		echo "case $CASE: a message arrived twice" >&2
		return 1
	fi
}

# The victim is delivered (intact), or its damaged file is still on disk.
assert_victim_kept() {
	if [ "$VICTIM_SEEN" -eq 0 ] && [ ! -e "$Q/$VICTIM.msg" ] &&
		[ ! -e "$Q/dead/$VICTIM.msg" ] &&
		[ ! -e "$Q/damaged/$VICTIM.msg" ]; then
		echo "case $CASE: the damaged entry was deleted" >&2
		return 1
	fi
}

# List, flush, and (for dead letters) requeue and flush again.
run_case() {
	CASE=$1
	NEIGHBOUR_SEEN=0 VICTIM_SEEN=0
	run_outbox -C "$T/cfg" --list-queue
	assert_sane "--list-queue ($CASE)"
	assert_exit 0
	assert_contains "$output" "$NEIGHBOUR"
	assert_contains "$output" "$VICTIM"
	run_outbox -C "$T/cfg" --flush
	assert_sane "--flush ($CASE)"
	case $status in 0 | 65) ;; *)
		echo "case $CASE: --flush exited $status" >&2
		show_context
		return 1
		;;
	esac
	check_received
	if [ "$NEIGHBOUR_SEEN" -ne 1 ]; then
		echo "case $CASE: the intact neighbour was not delivered" >&2
		show_context
		return 1
	fi
	if [ -e "$Q/dead/$VICTIM.msg" ]; then
		run_outbox -C "$T/cfg" --queue-requeue=all
		assert_sane "--queue-requeue ($CASE)"
		run_outbox -C "$T/cfg" --flush
		assert_sane "second --flush ($CASE)"
		check_received
	fi
	assert_victim_kept
}

# Cut FILE at every 64th byte (and at every 8th for short files).
each_cut() {
	local file=$1 size step=64 n
	size=$(wc -c <"$file")
	[ "$size" -lt 256 ] && step=8
	for ((n = 0; n < size; n += step)); do
		echo "$n"
	done
}

# Damage one file of the victim with each method; $1 = queue (q) or dead
# letter (d), $2 = msg or state.
damage_all_ways() {
	local side=$1 kind=$2 dir cut size
	dir=$Q
	[ "$side" = d ] && dir=$Q/dead
	fresh_queue
	[ "$side" = d ] && kill_victim
	local file=$dir/$VICTIM.$kind
	[ -e "$file" ] || printf 'outbox-queue-state 1\nqueued: 1\nattempts: 2\nnext-attempt: 0\n' >"$file"
	cp "$file" "$T/undamaged"
	for cut in $(each_cut "$T/undamaged"); do
		fresh_queue
		[ "$side" = d ] && kill_victim
		head -c "$cut" "$T/undamaged" >"$file"
		run_case "$side $kind cut at $cut"
	done
	size=$(wc -c <"$T/undamaged")
	local trial
	for trial in 1 2 3; do
		fresh_queue
		[ "$side" = d ] && kill_victim
		head -c "$size" /dev/urandom >"$file"
		run_case "$side $kind random bytes, trial $trial"
		fresh_queue
		[ "$side" = d ] && kill_victim
		cp "$T/undamaged" "$file"
		dd if=/dev/urandom of="$file" bs=1 seek=$((RANDOM % size)) \
			count=8 conv=notrunc status=none
		run_case "$side $kind 8 random bytes in place, trial $trial"
		fresh_queue
		[ "$side" = d ] && kill_victim
		cp "$T/undamaged" "$file"
		head -c $((RANDOM % 100 + 1)) /dev/urandom >>"$file"
		run_case "$side $kind random bytes appended, trial $trial"
	done
}

@test "a queued message cut or overwritten: never sent damaged, the neighbour always is" {
	prepare
	damage_all_ways q msg
}

@test "a queued state file cut or overwritten: the message is still delivered intact" {
	prepare
	damage_all_ways q state
	# Each case delivered the victim intact: a state file only
	# schedules, it can never lose the message.
	[ "$DELIVERED" -gt 20 ]
}

@test "a dead letter cut or overwritten: never sent damaged, the neighbour always is" {
	prepare
	damage_all_ways d msg
}

@test "a dead letter's state cut or overwritten: list, flush and requeue stay sane" {
	prepare
	damage_all_ways d state
}

@test "a flipped byte in the body is caught by the recorded SHA-256" {
	prepare
	fresh_queue
	# Same length, one byte changed near the end of the body.
	local size
	size=$(wc -c <"$Q/$VICTIM.msg")
	printf 'X' | dd of="$Q/$VICTIM.msg" bs=1 seek=$((size - 10)) \
		conv=notrunc status=none
	run_outbox -C "$T/cfg" --flush
	assert_exit 65
	assert_contains "$output" "SHA-256"
	assert_received 1
	[ -e "$Q/damaged/$VICTIM.msg" ]
	[ -e "$Q/damaged/$VICTIM.reason" ]
}
