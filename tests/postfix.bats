#!/usr/bin/env bats
# postfix.bats - end to end against a real smarthost: Postfix 3.7 with
# Dovecot SASL on loopback (tests/servers/postfix-setup; its header says
# what runs where). outbox submits over STARTTLS (submission port) or
# implicit TLS (smtps port), authenticates with every mechanism Dovecot
# offers (Dovecot's SCRAM is an implementation independent of ours), and
# each test checks the exit status and what Postfix delivered into the
# maildir (bytes, the headers Postfix added, its log: which SASL mechanism,
# which commands a session used), or that nothing was delivered. DKIM
# signatures are verified after the relay by python3-dkim with the public
# keys derived by certtool, not by outbox.
#
# Needs root and the Debian packages postfix and dovecot-core (CI installs
# them): without them every test FAILS with the reason, none is skipped.
# The instance lives in a fresh /tmp/outbox-postfix.XXXXXX, removed at the
# end; set OUTBOX_POSTFIX_DIR to choose a directory, which is then kept
# (logs: maillog, dovecot/dovecot.log).

load lib

POSTFIX_SETUP=$BATS_TEST_DIRNAME/servers/postfix-setup

# Fixed Date and Message-ID, so neither outbox nor Postfix adds a field and
# the delivered message can be compared byte for byte.
MSG=$'From: Sender <sender@example.test>\nTo: rcpt@example.test\nSubject: via postfix\nDate: Mon, 24 Nov 2025 10:00:00 +0000\nMessage-ID: <plain.1@example.test>\n\nHello through a real smarthost.\n'

setup_file() {
	local log=$BATS_FILE_TMPDIR/postfix-setup.log
	if [ -z "${OUTBOX_POSTFIX_DIR:-}" ]; then
		OUTBOX_POSTFIX_DIR=$(mktemp -d /tmp/outbox-postfix.XXXXXX)
		export OUTBOX_POSTFIX_CLEAN=--clean
	fi
	export OUTBOX_POSTFIX_DIR
	# fd 3 is bats' channel: the daemons must not inherit it
	if ! "$POSTFIX_SETUP" --dir "$OUTBOX_POSTFIX_DIR" start \
		>"$log" 2>&1 3>&-; then
		{
			echo "tests/servers/postfix-setup failed; this suite needs" \
				"root and the Debian packages postfix dovecot-core" \
				"(CI installs them; or run" \
				"tests/servers/postfix-setup --install):"
			cat "$log"
		} >&2
		return 1
	fi
}

teardown_file() {
	# shellcheck disable=SC2086 # empty or --clean
	"$POSTFIX_SETUP" --dir "$OUTBOX_POSTFIX_DIR" stop \
		${OUTBOX_POSTFIX_CLEAN:-} 3>&- || true
}

setup() {
	setup_common
	# shellcheck disable=SC1091
	. "$OUTBOX_POSTFIX_DIR/env"
	local f
	for f in "$MAILDIR"/new/* "$MAILDIR_SECOND"/new/*; do
		[ -e "$f" ] && rm -f "$MAILDIR"/new/* "$MAILDIR_SECOND"/new/*
		break
	done
	MAILLOG_START=$(stat -c %s "$MAILLOG")
	umask 077
}

# ------------------------------------------------------------------ config

# pf_config PORT [LINE...]: write $T/rc (mode 600), an account for the test
# smarthost on PORT, made the default, with a logfile $T/log.
pf_config() {
	local port=$1 line
	shift
	{
		echo "account pf"
		echo "host 127.0.0.1"
		echo "port $port"
		echo "from sender@example.test"
		echo "timeout 10"
		echo "logfile $T/log"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
		echo "account default : pf"
	} >"$T/rc"
}

# The submission port over STARTTLS, the test CA trusted, user joe.
submission_config() {
	pf_config "$PORT_SUBMISSION" "tls on" "tls_starttls on" \
		"tls_trust_file $CA_CERT" "user $SASL_USER" "$@"
}

# The smtps port, implicit TLS.
smtps_config() {
	pf_config "$PORT_SMTPS" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT" "user $SASL_USER" "$@"
}

# -------------------------------------------------------- what Postfix did

# The lines Postfix logged since this test began.
maillog_new() {
	tail -c +"$((MAILLOG_START + 1))" "$MAILLOG"
}

show_maillog() {
	{
		echo "--- Postfix log of this test ($MAILLOG):"
		maillog_new
		echo "--- Dovecot log (tail):"
		tail -n 5 "$DOVECOT_LOG"
	} >&2
}

fail_with_context() {
	echo "$*" >&2
	show_context
	show_maillog
	return 1
}

# DELIVERED=(files in DIR/new) (default $MAILDIR)
delivered() {
	local f
	DELIVERED=()
	for f in "${1:-$MAILDIR}"/new/*; do
		[ -e "$f" ] && DELIVERED+=("$f")
	done
	return 0
}

# wait_delivered N [DIR]: wait (<= 10 s) until DIR/new holds N messages;
# fails when it holds another number. Sets DELIVERED.
wait_delivered() {
	local want=$1 dir=${2:-$MAILDIR} i
	for ((i = 0; i < 200; i++)); do
		delivered "$dir"
		[ ${#DELIVERED[@]} -ge "$want" ] && break
		sleep 0.05
	done
	[ ${#DELIVERED[@]} = "$want" ] || fail_with_context \
		"expected $want message(s) in $dir/new, found ${#DELIVERED[@]}"
}

# The session of this test in Postfix's log: waits (<= 5 s) for the first
# smtpd "connect from" since the test began and the "disconnect" of the
# same process after it. Sets SESSION_LOG (that session's lines) and
# SESSION_COMMANDS (the disconnect line's counters, e.g. "ehlo=1 quit=1
# commands=2").
wait_session() {
	local i line pid='' lines
	for ((i = 0; i < 100; i++)); do
		SESSION_LOG='' pid=''
		lines=$(maillog_new)
		while IFS= read -r line; do
			if [ -z "$pid" ]; then
				[[ $line =~ smtpd\[([0-9]+)\]:\ connect\ from ]] ||
					continue
				pid=${BASH_REMATCH[1]}
			fi
			[[ $line == *"smtpd[$pid]: "* ]] || continue
			SESSION_LOG+=$line$'\n'
			if [[ $line =~ smtpd\[$pid\]:\ disconnect\ from\ [^\ ]+\ (.*) ]]; then
				SESSION_COMMANDS=${BASH_REMATCH[1]}
				return 0
			fi
		done <<<"$lines"
		sleep 0.05
	done
	fail_with_context "no complete smtpd session in the Postfix log"
}

# The unfolded Received field Postfix added on top of FILE.
received_of() {
	local line field=
	while IFS= read -r line; do
		[ -z "$line" ] && break
		if [ -z "$field" ]; then
			[[ $line == Received:* ]] && field=$line
		elif [[ $line == [$' \t']* ]]; then
			field+=" ${line#"${line%%[! $'\t']*}"}"
		else
			break
		fi
	done <"$1"
	printf '%s\n' "$field"
}

# The queue ID Postfix gave the delivered FILE (from its Received field).
queue_id_of() {
	local r
	r=$(received_of "$1")
	[[ $r =~ \ id\ ([0-9A-Za-z]+) ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# assert_sasl FILE MECHANISM: Postfix logged, for the queue ID of FILE, a
# client authenticated as $SASL_USER with MECHANISM, and its Received field
# says so, and that TLS was used.
assert_sasl() {
	local file=$1 mech=$2 qid i line='' r
	qid=$(queue_id_of "$file") ||
		fail_with_context "no queue ID in the Received field of $file"
	for ((i = 0; i < 100; i++)); do
		line=$(grep -F "$qid: client=" "$MAILLOG") && break
		sleep 0.05
	done
	assert_contains "$line" \
		", sasl_method=$mech, sasl_username=$SASL_USER" || {
		show_maillog
		return 1
	}
	r=$(received_of "$file")
	assert_contains "$r" "(Authenticated sender: $SASL_USER)"
	assert_contains "$r" "with ESMTPSA id $qid"
	assert_contains "$r" "(using TLSv1."
}

# strip_relay_fields FILE: FILE without the fields Postfix put on top
# (Return-Path, X-Original-To, Delivered-To, one Received), i.e. the
# message as outbox submitted it, in the maildir's LF form.
strip_relay_fields() {
	LC_ALL=C awk '
	head && /^[ \t]/ { if (skip) next; head = 0 }
	head && /^(Return-Path|X-Original-To|Delivered-To):/ { skip = 1; next }
	head && /^Received:/ && !received { received = 1; skip = 1; next }
	head && !/^[ \t]/ { head = 0 }
	{ print }
	' head=1 "$1"
}

# assert_delivered_as FILE EXPECTED: after the relay's own fields, FILE is
# byte for byte EXPECTED.
assert_delivered_as() {
	strip_relay_fields "$1" >"$T/delivered.stripped"
	if ! cmp "$2" "$T/delivered.stripped" >&2; then
		echo "--- expected (head):" >&2
		head -c 1500 "$2" | od -c | head -n 40 >&2
		echo "--- delivered without the relay's fields (head):" >&2
		head -c 1500 "$T/delivered.stripped" | od -c | head -n 40 >&2
		fail_with_context "the delivered message differs from the one sent"
	fi
}

# Postfix accepted no message in this test: no queue file was created (no
# "client=" line) and the maildirs are empty.
assert_nothing_delivered() {
	wait_session
	if [[ $(maillog_new) == *": client="* ]]; then
		fail_with_context "Postfix accepted a message"
	fi
	delivered "$MAILDIR"
	[ ${#DELIVERED[@]} = 0 ] ||
		fail_with_context "a message was delivered: ${DELIVERED[*]}"
}

# shellcheck disable=SC2059 # the format is the point
b64() { printf "$1" "${@:2}" | base64 -w0; }

# Neither the password nor an encoding of it (SASL PLAIN, LOGIN) appears in
# stdout, stderr (with -v: the SMTP conversation) or the logfile.
assert_no_secret() {
	local pw=${1:-$SASL_PASSWORD} where needle
	where="$output"$'\n'"$stderr"$'\n'"$(cat "$T/log" 2>/dev/null)"
	for needle in "$pw" "$(b64 '%s' "$pw")" \
		"$(b64 '\0%s\0%s' "$SASL_USER" "$pw")" \
		"$(b64 '%s\0%s\0%s' "$SASL_USER" "$SASL_USER" "$pw")"; do
		if [[ "$where" == *"$needle"* ]]; then
			fail_with_context "secret found in the output: $needle"
		fi
	done
}

# --------------------------------------------------------------- delivery

@test "STARTTLS + AUTH PLAIN on the submission port delivers byte for byte" {
	submission_config "auth plain" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_sasl "${DELIVERED[0]}" PLAIN
	printf '%s' "$MSG" >"$T/expected"
	assert_delivered_as "${DELIVERED[0]}" "$T/expected"
	# the envelope, as Postfix's delivery agent recorded it
	assert_equal "$(head -n 3 "${DELIVERED[0]}")" \
		$'Return-Path: <sender@example.test>\nX-Original-To: rcpt@example.test\nDelivered-To: rcpt@example.test'
	wait_session
	assert_contains "$SESSION_COMMANDS" "ehlo=2 starttls=1 auth=1 mail=1 rcpt=1"
	assert_contains "$SESSION_COMMANDS" "quit=1"
	# the msmtp-format log line names the queue ID Postfix gave
	assert_contains "$(cat "$T/log")" \
		"queued as $(queue_id_of "${DELIVERED[0]}")' exitcode=EX_OK"
}

@test "implicit TLS on the smtps port delivers" {
	smtps_config "auth plain" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_sasl "${DELIVERED[0]}" PLAIN
	wait_session
	# TLS from the first byte: no STARTTLS command, one EHLO
	refute_contains "$SESSION_COMMANDS" starttls
	assert_contains "$SESSION_COMMANDS" "ehlo=1 auth=1 mail=1"
	printf '%s' "$MSG" >"$T/expected"
	assert_delivered_as "${DELIVERED[0]}" "$T/expected"
}

@test "plain SMTP to a relay that trusts loopback: no TLS, no AUTH" {
	pf_config "$PORT_PLAIN" "tls off" "auth off"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_contains "$(received_of "${DELIVERED[0]}")" \
		"with ESMTP id $(queue_id_of "${DELIVERED[0]}")"
	refute_contains "$(received_of "${DELIVERED[0]}")" "using TLS"
	printf '%s' "$MSG" >"$T/expected"
	assert_delivered_as "${DELIVERED[0]}" "$T/expected"
}

@test "two recipients: one transaction, both maildirs" {
	submission_config "auth plain" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@example.test second@example.test
	assert_exit 0
	wait_delivered 1 "$MAILDIR"
	wait_delivered 1 "$MAILDIR_SECOND"
	wait_session
	assert_contains "$SESSION_COMMANDS" "mail=1 rcpt=2 data=1"
}

# ------------------------------------------------------------- mechanisms

# Dovecot announces what postfix-setup enabled: the mechanism tests below
# rely on it.
assert_offered() {
	[[ " $AUTH_MECHS " == *" $1 "* ]] || fail_with_context \
		"Dovecot does not offer $1 (it offers: $AUTH_MECHS)"
}

auth_by_name() { # MECHANISM
	assert_offered "$1"
	submission_config "auth ${1,,}" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" -v rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_sasl "${DELIVERED[0]}" "$1"
	assert_no_secret
}

@test "AUTH LOGIN against Dovecot" {
	auth_by_name LOGIN
}

@test "AUTH CRAM-MD5 against Dovecot" {
	auth_by_name CRAM-MD5
}

@test "AUTH SCRAM-SHA-1 against Dovecot's independent SCRAM" {
	auth_by_name SCRAM-SHA-1
}

@test "AUTH SCRAM-SHA-256 against Dovecot's independent SCRAM" {
	auth_by_name SCRAM-SHA-256
}

@test "auth on picks SCRAM-SHA-256, the strongest Dovecot offers" {
	submission_config "auth on" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_sasl "${DELIVERED[0]}" SCRAM-SHA-256
}

@test "passwordeval supplies the password" {
	submission_config "auth on" \
		"passwordeval printf '%s\\n' '$SASL_PASSWORD'"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	assert_sasl "${DELIVERED[0]}" SCRAM-SHA-256
}

# ---------------------------------------------------------------- refusals

@test "a wrong password: 77, Dovecot saw the mismatch, nothing delivered" {
	local m dovecot_start i
	for m in plain scram-sha-256; do
		MAILLOG_START=$(stat -c %s "$MAILLOG")
		dovecot_start=$(stat -c %s "$DOVECOT_LOG")
		submission_config "auth $m" "password wrong-$SASL_PASSWORD"
		send_message "$MSG" -C "$T/rc" -v rcpt@example.test
		assert_exit 77
		assert_contains "$stderr" "535"
		assert_no_secret "wrong-$SASL_PASSWORD"
		assert_nothing_delivered
		assert_contains "$SESSION_COMMANDS" "auth=0/1"
		refute_contains "$SESSION_COMMANDS" "mail="
		assert_contains "$SESSION_LOG" \
			"SASL ${m^^} authentication failed"
		# Dovecot checked the password of the right user, and refused it
		for ((i = 0; i < 100; i++)); do
			[[ $(tail -c +"$((dovecot_start + 1))" "$DOVECOT_LOG") == \
				*"($SASL_USER,127.0.0.1"*"Password mismatch"* ]] && break
			sleep 0.05
		done
		assert_contains "$(tail -c +"$((dovecot_start + 1))" "$DOVECOT_LOG")" \
			"($SASL_USER,127.0.0.1): Password mismatch"
	done
}

@test "AUTH without TLS on the submission port: refused, no password sent" {
	# smtpd_tls_auth_only: Postfix announces AUTH only after STARTTLS
	pf_config "$PORT_SUBMISSION" "tls off" "auth plain" \
		"user $SASL_USER" \
		"passwordeval touch $T/eval-ran; echo $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" -v rcpt@example.test
	assert_exit 69
	assert_contains "$stderr" "authentication"
	assert_contains "$stderr" "TLS"
	assert_nothing_delivered
	# Postfix saw EHLO and QUIT only: no AUTH, no MAIL
	assert_equal "$SESSION_COMMANDS" "ehlo=1 quit=1 commands=2"
	# the password was not even looked up
	[ ! -e "$T/eval-ran" ]
	assert_no_secret
}

@test "no TLS and no AUTH on the submission port: Postfix's 530 gives 69" {
	pf_config "$PORT_SUBMISSION" "tls off" "auth off"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 69
	assert_contains "$stderr" "530"
	assert_nothing_delivered
}

@test "our CA not trusted (system store): 77 before AUTH or MAIL" {
	pf_config "$PORT_SUBMISSION" "tls on" "auth plain" "user $SASL_USER" \
		"password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_nothing_delivered
	refute_contains "$SESSION_COMMANDS" "auth"
	refute_contains "$SESSION_COMMANDS" "mail"
	smtps_config "auth plain" "password $SASL_PASSWORD" \
		"tls_trust_file system"
	MAILLOG_START=$(stat -c %s "$MAILLOG")
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_nothing_delivered
	assert_equal "$SESSION_COMMANDS" "commands=0/0"
}

@test "relay to another domain (554) and an unknown user (550): 69" {
	submission_config "auth on" "password $SASL_PASSWORD"
	send_message "$MSG" -C "$T/rc" rcpt@elsewhere.invalid
	assert_exit 69
	assert_contains "$stderr" "Relay access denied"
	assert_nothing_delivered
	MAILLOG_START=$(stat -c %s "$MAILLOG")
	send_message "$MSG" -C "$T/rc" nobody-here@example.test
	assert_exit 69
	assert_contains "$stderr" "550"
	assert_nothing_delivered
}

# ------------------------------------------------------------- secrets

@test "-v transcript and logfile never show the password (PLAIN, LOGIN)" {
	local m
	for m in plain login; do
		rm -f "$MAILDIR"/new/*
		submission_config "auth $m" "password $SASL_PASSWORD"
		send_message "$MSG" -C "$T/rc" -v rcpt@example.test
		assert_exit 0
		wait_delivered 1
		# the transcript is there, and it is the real conversation
		assert_contains "$stderr" "AUTH ${m^^}"
		assert_contains "$stderr" "235"
		assert_contains "$(cat "$T/log")" "exitcode=EX_OK"
		assert_no_secret
	done
}

@test "--serverinfo over STARTTLS lists the mechanisms Dovecot offers" {
	submission_config
	run_outbox -C "$T/rc" --serverinfo
	assert_exit 0
	assert_contains "$output" "$AUTH_MECHS"
	assert_contains "$output" "CN=localhost"
	assert_contains "$output" "CN=outbox postfix test CA"
	assert_contains "$output" "TLS session parameters"
}

# ---------------------------------------------------------- message shapes

# Dot-leading lines (dot-stuffing both ways), 8-bit UTF-8, trailing
# whitespace, tabs, an mbox-style "From " line, empty lines at the end.
SHAPES_BODY=$'.\n..\n.leading dot\n...three dots\n . space dot\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80\ntrailing spaces   \n\ttab-indented line\nFrom the start of a line\n.\n\n\n'
SHAPES_HEAD=$'From: Sender <sender@example.test>\nTo: rcpt@example.test\nSubject: shapes\nDate: Mon, 24 Nov 2025 10:00:00 +0000\nMessage-ID: <shapes.1@example.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n'

@test "bare LF input: dots, 8-bit UTF-8 and whitespace arrive intact" {
	submission_config "auth plain" "password $SASL_PASSWORD"
	send_message "$SHAPES_HEAD"$'\n'"$SHAPES_BODY" -C "$T/rc" \
		rcpt@example.test
	assert_exit 0
	wait_delivered 1
	printf '%s' "$SHAPES_HEAD"$'\n'"$SHAPES_BODY" >"$T/expected"
	assert_delivered_as "${DELIVERED[0]}" "$T/expected"
}

@test "CRLF input and a body without a final newline arrive intact" {
	local msg=$SHAPES_HEAD$'\n'$SHAPES_BODY'no final newline  '
	submission_config "auth plain" "password $SASL_PASSWORD"
	send_message "${msg//$'\n'/$'\r\n'}" -C "$T/rc" rcpt@example.test
	assert_exit 0
	wait_delivered 1
	# the maildir stores LF lines; the missing newline was added
	printf '%s\n' "$msg" >"$T/expected"
	assert_delivered_as "${DELIVERED[0]}" "$T/expected"
}

@test "a 10 MiB message arrives intact" {
	"$PYTHON" - "$T/big.eml" <<'EOF'
import random, sys
rnd = random.Random(1)
head = (b"From: Sender <sender@example.test>\nTo: rcpt@example.test\n"
        b"Subject: big\nDate: Mon, 24 Nov 2025 10:00:00 +0000\n"
        b"Message-ID: <big.1@example.test>\n\n")
lines, size, i = [head], len(head), 0
# printable ASCII and the bytes of some UTF-8 (so 8-bit, not always valid)
alphabet = bytes(range(0x21, 0x7f)) + "äöü€".encode()
while size < 10 * 1024 * 1024 + 4096:
    if i % 101 == 0:
        line = b"."
    elif i % 7 == 0:
        line = b"." + bytes(rnd.choices(alphabet, k=70))
    elif i % 13 == 0:
        line = b""
    else:
        line = bytes(rnd.choices(alphabet, k=rnd.randrange(1, 200)))
    lines.append(line + b"\n")
    size += len(line) + 1
    i += 1
open(sys.argv[1], "wb").write(b"".join(lines))
EOF
	submission_config "auth plain" "password $SASL_PASSWORD" "timeout 60"
	run_outbox -C "$T/rc" rcpt@example.test <"$T/big.eml"
	assert_exit 0
	wait_delivered 1
	assert_delivered_as "${DELIVERED[0]}" "$T/big.eml"
}

# ------------------------------------------------------------------- DKIM

DKIM_CANONS=(relaxed/relaxed simple/simple relaxed/simple simple/relaxed)

# dkim_shape NAME MESSAGE-ID: print one of the awkward messages a signature
# must survive (LF lines, as a local program would pipe them).
dkim_shape() { # NAME MESSAGE-ID
	local h=$'From: Sender <sender@example.test>\nTo: rcpt@example.test\nDate: Mon, 24 Nov 2025 10:00:00 +0000\nMessage-ID: <'$2$'>\n'
	case $1 in
	folded)
		printf '%s' "$h"$'Subject: a folded\n  subject  with   runs of   spaces\tand a tab   \nX-Trailing: trailing whitespace \t \nX-Tab:\ttab after the colon\nX-Empty:\nCc: First <first@example.test>,\n\tSecond <second@example.test>\n\nBody with trailing spaces   \n\ttab-indented\tbody line\ninterior  runs   of spaces\n\n\n\n'
		;;
	eightbit)
		printf '%s' "$h"$'Subject: 8-bit and dots\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n.\n..\n.leading dot\nGr\xc3\xbc\xc3\x9fe \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80\n'
		;;
	empty)
		printf '%s' "$h"$'Subject: empty body\n\n'
		;;
	headers-only)
		printf '%s' "$h"$'Subject: no body at all\n'
		;;
	no-final-newline)
		printf '%s' "$h"$'Subject: no final newline\n\nfirst line\nlast line, trailing space '
		;;
	esac
}
DKIM_SHAPES=(folded eightbit empty headers-only no-final-newline)

# The DNS TXT record for KEY (PKCS#8 PEM), derived by certtool and python,
# not by outbox: RSA p= is the SubjectPublicKeyInfo, Ed25519 p= the raw 32
# bytes (RFC 8463 4.2).
dkim_txt_record() { # KEY rsa|ed25519
	certtool --pubkey-info --load-privkey "$1" --outder \
		--outfile "$T/pub.der" 2>/dev/null || return 1
	"$PYTHON" - "$T/pub.der" "$2" <<'EOF'
import base64, sys
der = open(sys.argv[1], "rb").read()
if sys.argv[2] == "ed25519":
    print("v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode())
else:
    print("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
EOF
}

# dkim_relay TYPE: make a TYPE key with outbox --dkim-keygen, check that
# --dkim-record publishes the key certtool derives, send every shape with
# every canonicalisation through Postfix (submission, STARTTLS, AUTH), and
# verify each delivered message with python3-dkim, plus a negative control.
dkim_relay() {
	local type=$1 sel=sel-$1 canon shape n=0 id record
	[[ $("$OUTBOX" --version) == *"DKIM signing:"*"$type"* ]] ||
		fail_with_context "outbox --version lists no $type DKIM signing"
	run_outbox --dkim-keygen --dkim-key="$T/$type.pem" --dkim-type="$type"
	assert_exit 0
	record=$(dkim_txt_record "$T/$type.pem" "$type") ||
		fail_with_context "certtool cannot read the key outbox made"
	run_outbox --dkim-record --dkim-key="$T/$type.pem" \
		--dkim-selector="$sel" --dkim-domain=example.test
	assert_exit 0
	assert_contains "${output//\" \"/}" "${record##*p=}"
	assert_contains "$output" "$sel._domainkey.example.test"

	# One job per canonicalisation, each sending every shape in turn
	# (outbox run directly: run_outbox's helpers cost more than outbox).
	local i=0 jobs=() st
	for canon in "${DKIM_CANONS[@]}"; do
		i=$((i + 1))
		submission_config "auth plain" "password $SASL_PASSWORD" \
			"dkim_key $T/$type.pem" "dkim_selector $sel" \
			"dkim_domain example.test" \
			"dkim_canonicalization $canon"
		mv "$T/rc" "$T/rc.$i"
		for shape in "${DKIM_SHAPES[@]}"; do
			id="dkim.$type.${canon/\//-}.$shape@example.test"
			dkim_shape "$shape" "$id" >"$T/in.$i.$shape"
			n=$((n + 1))
		done
		(
			for shape in "${DKIM_SHAPES[@]}"; do
				st=0
				timeout 60 "$OUTBOX" -C "$T/rc.$i" rcpt@example.test \
					<"$T/in.$i.$shape" >"$T/out.$i.$shape" 2>&1 ||
					st=$?
				echo "$st" >"$T/status.$i.$shape"
			done
		) 3>&- &
		jobs+=("$!")
	done
	wait "${jobs[@]}"
	i=0
	for canon in "${DKIM_CANONS[@]}"; do
		i=$((i + 1))
		for shape in "${DKIM_SHAPES[@]}"; do
			read -r st <"$T/status.$i.$shape"
			[ "$st" = 0 ] || {
				cat "$T/out.$i.$shape" >&2
				fail_with_context "DKIM $type $canon $shape: exit $st"
			}
		done
	done
	wait_delivered "$n"
	"$PYTHON" - "$sel" "$record" "$type" "${DELIVERED[@]}" <<'EOF' ||
import logging, re, sys, types
# dkim.dnsplug imports dnspython (seconds here) for real DNS, which a test
# must never do: replace it before importing dkim; every key comes from
# dns() below.
stub = types.ModuleType("dkim.dnsplug")
def no_dns(name, timeout=5):
    raise RuntimeError("no DNS in tests: %r" % name)
stub.get_txt = no_dns
sys.modules["dkim.dnsplug"] = stub
import dkim

selector, record, keytype = sys.argv[1:4]
files = sys.argv[4:]
algorithm = {"rsa": b"rsa-sha256", "ed25519": b"ed25519-sha256"}[keytype]
log = logging.getLogger("dkim")
log.addHandler(logging.StreamHandler(sys.stdout))
log.setLevel(logging.INFO)

def dns(name, timeout=5):
    if name == ("%s._domainkey.example.test." % selector).encode():
        return record.encode()
    return None

def tags(msg):
    m = re.search(rb"^DKIM-Signature:(.*?)\n(?![ \t])", msg, re.M | re.S)
    if not m:
        return None
    value = re.sub(rb"\s+", b"", m.group(1))
    return dict(t.split(b"=", 1) for t in value.split(b";") if t)

def tamper(msg):
    # change one body byte (the first that is not a line end), or give an
    # empty body one
    head, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        return msg + b"\r\nx\r\n"
    for i, b in enumerate(body):
        if b not in b"\r\n":
            new = b"y" if b != ord("y") else b"z"
            return head + sep + body[:i] + new + body[i + 1:]
    return head + sep + b"x" + body

seen, bad = set(), 0
for path in files:
    # the maildir stores LF lines; the wire and the signature had CRLF
    data = open(path, "rb").read().replace(b"\n", b"\r\n")
    mid = re.search(rb"^Message-ID: <dkim\.([^.]+)\.([a-z]+)-([a-z]+)\.([a-z-]+)@",
                    data, re.M | re.I)
    if not mid:
        print("%s: no test Message-ID" % path)
        bad += 1
        continue
    key, hcanon, bcanon, shape = (x.decode() for x in mid.groups())
    name = "%s %s/%s %s" % (key, hcanon, bcanon, shape)
    seen.add(name)
    t = tags(data)
    if t is None:
        print("FAIL %s: no DKIM-Signature" % name)
        bad += 1
        continue
    c = t.get(b"c", b"simple/simple")
    if b"/" not in c:
        c += b"/simple"
    want = {b"a": algorithm, b"d": b"example.test", b"s": selector.encode(),
            b"c": ("%s/%s" % (hcanon, bcanon)).encode()}
    got = {k: (c if k == b"c" else t.get(k)) for k in want}
    if got != want:
        print("FAIL %s: tags %r, expected %r" % (name, got, want))
        bad += 1
    if not dkim.verify(data, logger=log, dnsfunc=dns):
        print("FAIL %s: signature does not verify (%s)" % (name, path))
        bad += 1
    if dkim.verify(tamper(data), logger=log, dnsfunc=dns):
        print("FAIL %s: a changed body byte still verifies" % name)
        bad += 1
expected = 4 * 5
if len(seen) != expected:
    print("FAIL: %d distinct messages verified, expected %d"
          % (len(seen), expected))
    bad += 1
print("%d messages checked, %d failure(s)" % (len(files), bad))
sys.exit(1 if bad else 0)
EOF
		fail_with_context "DKIM verification after the relay failed (above)"
}

@test "DKIM rsa-sha256: 4 canonicalisations x 5 shapes verify after Postfix" {
	dkim_relay rsa
}

@test "DKIM ed25519-sha256: 4 canonicalisations x 5 shapes verify after Postfix" {
	dkim_relay ed25519
}
