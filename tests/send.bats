#!/usr/bin/env bats
# send.bats - the core send path through the binary: envelope from the
# command line and -t, header edits, line endings, dot-stuffing, long lines,
# 8BITMIME, SIZE, PIPELINING, large messages and the logfile. Each test
# checks the exit status and what the server received (or did not).

load lib

setup() {
	setup_common
	start_server
	server_config "$T/cfg"
}

@test "recipients given as arguments are delivered" {
	send_message $'Subject: hello\n\nbody\n' -C "$T/cfg" \
		a@example.com b@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" sender@example.com
	assert_equal "$(received_envelope 1 rcpt_tos)" \
		$'a@example.com\nb@example.com'
	assert_equal "$(received_header 1 Subject)" hello
	assert_equal "$(received_body 1)" $'body\r'
}

@test "-t takes recipients from To, Cc and Bcc and removes Bcc" {
	send_message $'From: Alice <alice@example.com>\nTo: Bob <bob@example.com>, carol@example.com\nCc: dave@example.com\nBcc: Hidden <hidden@example.com>\nSubject: t\n\nbody\n' \
		-C "$T/cfg" -t
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'bob@example.com\ncarol@example.com\ndave@example.com\nhidden@example.com'
	assert_equal "$(received_header_count 1 Bcc)" 0
	refute_contains "$(received_message 1)" hidden@example.com
	assert_equal "$(received_header 1 To)" \
		"Bob <bob@example.com>, carol@example.com"
	assert_equal "$(received_header 1 Cc)" dave@example.com
}

@test "-t with Resent- fields uses the topmost Resent- block only" {
	send_message $'Resent-From: fwd2@example.com\nResent-To: second@example.com\nResent-Bcc: secret@example.com\nResent-Date: Tue, 2 Jan 2024 00:00:00 +0000\nReceived: from relay.example by mx.example; Mon, 1 Jan 2024 12:00:00 +0000\nResent-From: fwd1@example.com\nResent-To: first@example.com\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: orig@example.com\nTo: original-to@example.com\nCc: original-cc@example.com\nSubject: resent\n\nbody\n' \
		-C "$T/cfg" -t
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'second@example.com\nsecret@example.com'
	assert_equal "$(received_header_count 1 Resent-Bcc)" 0
	refute_contains "$(received_message 1)" secret@example.com
	# the original recipients stay in the header, untouched
	assert_equal "$(received_header 1 To)" original-to@example.com
}

@test "-t adds the argument recipients to the header's" {
	send_message $'To: to@example.com\nSubject: t\n\nbody\n' \
		-C "$T/cfg" -t extra@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | sort)" \
		$'extra@example.com\nto@example.com'
}

@test "dot-stuffing: lines starting with a dot arrive unchanged" {
	send_message $'Subject: dots\n\n.\n..x\n.leading\nmid.dle\n.\n' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_body 1)" \
		$'.\r\n..x\r\n.leading\r\nmid.dle\r\n.\r'
	local wire
	wire=$(wire_log)
	assert_contains "$wire" $'\r\n\r\n..\r\n...x\r\n..leading\r\nmid.dle\r\n..\r\n.\r\nQUIT'
	# exactly one end-of-data sequence on the wire
	assert_equal "$(grep -c $'^\\.\r$' "$SPOOL/wire.log")" 1
	assert_crlf_only "$SPOOL/wire.log"
}

@test "bare LF input arrives as CRLF lines" {
	send_message $'Subject: lf\n\nline one\nline two\n' -C "$T/cfg" \
		rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_crlf_only "$SPOOL/1.eml"
	assert_crlf_only "$SPOOL/wire.log"
	assert_equal "$(received_body 1)" $'line one\r\nline two\r'
}

@test "bare CR never reaches the wire" {
	send_message $'Subject: cr\r\n\r\nfirst\rsecond\r\nthird\r' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_crlf_only "$SPOOL/wire.log"
	assert_crlf_only "$SPOOL/1.eml"
	assert_equal "$(received_body 1)" $'first\r\nsecond\r\nthird\r'
}

@test "a missing final newline is added" {
	send_message $'Subject: eol\n\nno newline at the end' -C "$T/cfg" \
		rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_body 1)" $'no newline at the end\r'
	assert_contains "$(wire_log)" $'no newline at the end\r\n.\r\n'
	assert_crlf_only "$SPOOL/wire.log"
}

@test "Date, Message-ID and From are added when missing" {
	send_message $'Subject: bare\n\nbody\n' -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	local date msgid from
	date=$(received_header 1 Date)
	msgid=$(received_header 1 Message-ID)
	from=$(received_header 1 From)
	"$PYTHON" -c 'import sys, email.utils
sys.exit(email.utils.parsedate_to_datetime(sys.argv[1]) is None)' "$date"
	[[ "$msgid" =~ ^\<[^\<\>@\ ]+@[^\<\>@\ ]+\>$ ]] ||
		{ echo "bad Message-ID: $msgid" >&2; false; }
	assert_contains "$from" sender@example.com
	assert_equal "$(received_header_count 1 Date)" 1
	assert_equal "$(received_header_count 1 Message-ID)" 1
	assert_equal "$(received_header_count 1 From)" 1
}

@test "Date, Message-ID and From are kept when present" {
	send_message $'From: Alice <alice@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <fixed.1@example.com>\nSubject: kept\n\nbody\n' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_header 1 From)" "Alice <alice@example.com>"
	assert_equal "$(received_header 1 Date)" \
		"Mon, 01 Jan 2024 10:00:00 +0000"
	assert_equal "$(received_header 1 Message-ID)" "<fixed.1@example.com>"
	assert_equal "$(received_header_count 1 Date)" 1
	assert_equal "$(received_header_count 1 Message-ID)" 1
	assert_equal "$(received_header_count 1 From)" 1
}

@test "-F sets the full name of an added From" {
	send_message $'Subject: f\n\nbody\n' -C "$T/cfg" -F 'Jane Doe' \
		rcpt@example.com
	assert_exit 0
	assert_received 1
	local from
	from=$(received_header 1 From)
	assert_contains "$from" "Jane Doe"
	assert_contains "$from" "<sender@example.com>"
}

@test "from with %U uses the login name" {
	server_config "$T/cfg" "from %U@example.com"
	send_message $'Subject: u\n\nbody\n' -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" outboxtest@example.com
	assert_contains "$(received_header 1 From)" outboxtest@example.com
}

# Prints a 1500-octet line of UTF-8 text (no newline).
long_line() {
	local i
	for ((i = 0; i < 150; i++)); do printf 'caf\xc3\xa9 word'; done
}

@test "a line over 998 octets in text/plain is re-encoded quoted-printable" {
	local line body
	line=$(long_line)
	body="$line"$'\nshort line\n'
	send_message $'Subject: long\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'"$body" \
		-C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_header 1 Content-Transfer-Encoding)" \
		quoted-printable
	assert_contains "$(received_header 1 Content-Type)" text/plain
	# no line of the delivered message is longer than 998 octets
	"$PYTHON" - "$SPOOL/1.eml" <<'EOF'
import sys
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\r\n")):
    if len(line) > 998:
        sys.exit("line %d has %d octets" % (n + 1, len(line)))
EOF
	# decoding gives the original body back (line ends normalised)
	local decoded
	decoded=$("$PYTHON" - "$SPOOL/1.eml" <<'EOF'
import sys
from email import message_from_binary_file, policy
msg = message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
sys.stdout.buffer.write(msg.get_payload(decode=True).replace(b"\r\n", b"\n"))
EOF
)
	assert_equal "$decoded" "${body%$'\n'}"
}

@test "a long line in a message without MIME headers is re-encoded too" {
	local line
	line=$(long_line)
	send_message $'Subject: cron output\n\n'"$line"$'\n' -C "$T/cfg" \
		rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_header 1 Content-Transfer-Encoding)" \
		quoted-printable
	local decoded
	decoded=$("$PYTHON" - "$SPOOL/1.eml" <<'EOF'
import sys
from email import message_from_binary_file, policy
msg = message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
sys.stdout.buffer.write(msg.get_payload(decode=True).replace(b"\r\n", b"\n"))
EOF
)
	assert_equal "$decoded" "$line"
}

@test "a long line inside a multipart message is refused before connecting" {
	local line
	line=$(long_line)
	send_message $'Subject: multi\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'"$line"$'\n--b1--\n' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 65
	assert_received 0
	assert_no_session
}

@test "an 8-bit body is announced with BODY=8BITMIME" {
	send_message $'Subject: 8bit\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$(received_envelope 1 mail_options)" BODY=8BITMIME
	assert_equal "$(received_body 1)" $'caf\xc3\xa9\r'
}

@test "a 20 MiB message arrives byte for byte" {
	"$PYTHON" - "$T/big.eml" <<'EOF'
import sys
lines = [b"From: big@example.com", b"To: rcpt@example.com",
         b"Date: Mon, 01 Jan 2024 10:00:00 +0000",
         b"Message-ID: <big.1@example.com>", b"Subject: big", b""]
size = sum(len(l) + 2 for l in lines)
i = 0
while size < 20 * 1024 * 1024:
    # every 7th line starts with a dot, some are empty or just "."
    if i % 97 == 0:
        line = b"."
    elif i % 7 == 0:
        line = b".%070d" % i
    elif i % 13 == 0:
        line = b""
    else:
        line = b"%075d" % i
    lines.append(line)
    size += len(line) + 2
    i += 1
open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")
EOF
	server_config "$T/cfg" "timeout 60"
	run_outbox -C "$T/cfg" rcpt@example.com <"$T/big.eml"
	assert_exit 0
	assert_received 1
	cmp "$T/big.eml" "$SPOOL/1.eml"
}

# Every name that appears in directory $1 from now on, one a line, into $2
# (inotify through ctypes: nothing beyond Python's standard library). Sets
# WATCH_PID; stop_watching ends it after it has read every pending event.
# The watcher also ends when the test's shell is gone.
watch_names() {
	rm -f "$2"
	"$PYTHON" - "$1" "$2" 3>&- <<'EOF' &
import ctypes, os, select, signal, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
IN_CREATE, IN_MOVED_TO = 0x100, 0x80
parent = os.getppid()
ino = libc.inotify_init1(os.O_CLOEXEC)
if ino < 0 or libc.inotify_add_watch(ino, os.fsencode(sys.argv[1]),
                                     IN_CREATE | IN_MOVED_TO) < 0:
    sys.exit("inotify: " + os.strerror(ctypes.get_errno()))
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
out = open(sys.argv[2], "w")  # exists once the watch is in place
while True:
    ready, _, _ = select.select([ino], [], [], 0.05)
    if not ready:
        if stop or os.getppid() != parent:
            break
        continue
    data = os.read(ino, 65536)
    at = 0
    while at < len(data):
        _, _, _, length = struct.unpack_from("iIII", data, at)
        out.write(os.fsdecode(data[at + 16:at + 16 + length].rstrip(b"\0")))
        out.write("\n")
        at += 16 + length
    out.flush()
EOF
	WATCH_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[ -e "$2" ] && return 0
		kill -0 "$WATCH_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "the inotify watcher on $1 did not start" >&2
	return 1
}

stop_watching() {
	kill -TERM "$WATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" || true
}

# What readlink shows for the first descriptor of process $1 that refers
# to a file in directory $2; nothing when there is none.
open_file_under() {
	local fd link
	for fd in /proc/"$1"/fd/*; do
		link=$(readlink "$fd") || continue
		if [[ "$link" == "$2/"* ]]; then
			printf '%s\n' "$link"
			return 0
		fi
	done
}

@test "killed mid-read, outbox leaves nothing in TMPDIR: its spool never has a name" {
	"$PYTHON" -c 'import os, sys
os.close(os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600))' \
		"$TMPDIR" 2>/dev/null ||
		skip "the file system of $TMPDIR has no O_TMPFILE"
	local tmp spool= i
	tmp=$(realpath "$TMPDIR")
	watch_names "$tmp" "$T/names"
	mkfifo "$T/stdin"
	"$OUTBOX" -C "$T/cfg" rcpt@example.com <"$T/stdin" \
		>"$T/run.stdout" 2>"$T/run.stderr" 3>&- &
	local pid=$!
	exec 5>"$T/stdin"
	# Well past MSG_SPOOL_THRESHOLD (256 KiB): a pipe holds 64 KiB, so
	# once this write returns outbox has read over 500 KiB of body. The
	# write end stays open: outbox is blocked reading the rest.
	{
		printf 'Subject: killed\n\n'
		head -c 600000 /dev/zero | tr '\0' x | fold -w 76
	} >&5
	for ((i = 0; i < 200; i++)); do
		spool=$(open_file_under "$pid" "$tmp")
		[ -z "$spool" ] || break
		sleep 0.05
	done
	kill -KILL "$pid"
	status=0
	wait "$pid" || status=$?
	exec 5>&-
	stop_watching
	[ -n "$spool" ] || {
		echo "outbox had no file open in $tmp: it did not spool" >&2
		false
	}
	assert_contains "$spool" " (deleted)"
	assert_equal "$status" 137
	assert_equal "$(ls -A "$tmp")" ""
	# The fix itself: no name was ever made in TMPDIR, not even for the
	# moment between mkstemp and unlink that a kill -9 could hit.
	assert_equal "$(cat "$T/names")" ""
	assert_no_session
}

@test "a large mail spooled to TMPDIR arrives intact and leaves TMPDIR empty" {
	"$PYTHON" - "$T/large.eml" <<'EOF'
import random, sys
rnd = random.Random(5321)
lines = [b"From: large@example.com", b"To: rcpt@example.com",
         b"Date: Mon, 01 Jan 2024 10:00:00 +0000",
         b"Message-ID: <large.1@example.com>", b"Subject: large", b""]
size = 0
while size < 1024 * 1024:  # four times MSG_SPOOL_THRESHOLD
    line = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz .")
                 for _ in range(rnd.randrange(0, 200)))
    lines.append(line)
    size += len(line) + 2
open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")
EOF
	run_outbox -C "$T/cfg" rcpt@example.com <"$T/large.eml"
	assert_exit 0
	assert_received 1
	assert_equal "$(sha256sum <"$SPOOL/1.eml")" \
		"$(sha256sum <"$T/large.eml")"
	assert_equal "$(ls -A "$TMPDIR")" ""
}

@test "PIPELINING: MAIL and RCPTs are sent without waiting when offered" {
	send_message $'Subject: p\n\nbody\n' -C "$T/cfg" a@example.com \
		b@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$(sessions_log)" \
		"MAIL:250 RCPT:250 RCPT:250 DATA:354 EOM:250"
	# the commands arrive in order MAIL, RCPT, RCPT, DATA
	local verbs
	verbs=$(grep -o '^[A-Z]*' "$SPOOL/wire.log" | tr '\n' ' ')
	assert_contains "$verbs" "MAIL RCPT RCPT DATA "
	local piped
	piped=$(pipelined_log)
	assert_contains "$piped" "1 MAIL"
	assert_contains "$piped" "1 RCPT"
	refute_contains "$piped" "1 DATA"
}

@test "QUIT goes out with the end of data (a round trip less), and its reply is still read" {
	server_config "$T/cfg"
	send_message $'Subject: q\n\nbody\n' -v -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(pipelined_log | grep -c ' EOM$')" 1
	assert_contains "$(sessions_log)" "EOM:250 QUIT:221 CLOSE"
	# the transcript: the end of data and QUIT, then both replies
	assert_equal "$(grep -E '^(-->|<--) ' <<<"$stderr" | tail -n 4 |
		cut -c1-7 | tr '\n' '|')" "--> .|--> QUI|<-- 250|<-- 221|"
}

@test "without PIPELINING, QUIT waits for the reply to the data" {
	start_server --no-pipelining
	server_config "$T/cfg"
	send_message $'Subject: q\n\nbody\n' -v -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(pipelined_log)" ""
	assert_contains "$(sessions_log)" "EOM:250 QUIT:221 CLOSE"
	assert_equal "$(grep -E '^(-->|<--) ' <<<"$stderr" | tail -n 4 |
		cut -c1-7 | tr '\n' '|')" "--> .|<-- 250|--> QUI|<-- 221|"
}

@test "a message refused after its data, QUIT riding along: 69 with the server's words" {
	start_server --fault "eom=554 5.7.1 rejected by content filter"
	server_config "$T/cfg"
	send_message $'Subject: q\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 69
	assert_contains "$stderr" "554 5.7.1 rejected by content filter"
	assert_contains "$(sessions_log)" "EOM:554 QUIT:221 CLOSE"
}

@test "no pipelining when the server does not offer it" {
	start_server --no-pipelining
	server_config "$T/cfg"
	send_message $'Subject: p\n\nbody\n' -C "$T/cfg" a@example.com \
		b@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(pipelined_log)" ""
}

@test "SIZE is declared in MAIL FROM when offered" {
	start_server --size 10000000
	server_config "$T/cfg"
	send_message $'Subject: size\n\nbody\n' -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	local opts declared size
	opts=$(received_envelope 1 mail_options)
	declared=$(sed -n 's/^SIZE=//p' <<<"$opts")
	size=$(received_envelope 1 size)
	[ -n "$declared" ] || { echo "no SIZE= in: $opts" >&2; false; }
	[ "$declared" -ge "$size" ] ||
		{ echo "SIZE=$declared < $size received" >&2; false; }
}

@test "a message larger than the server's SIZE is refused before DATA" {
	start_server --size 1000
	server_config "$T/cfg"
	send_message $'Subject: too big\n\n'"$(printf '%070d\n' $(seq 1 100))"$'\n' \
		-C "$T/cfg" rcpt@example.com
	assert_exit 69
	assert_received 0
	wait_sessions_closed
	refute_contains "$(sessions_log)" DATA
	refute_contains "$(wire_log)" $'DATA\r\n'
}

@test "logfile gets one msmtp-format line per delivery" {
	server_config "$T/cfg" "logfile $T/outbox.log"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com \
		b@example.com
	assert_exit 0
	assert_received 1
	local size line
	size=$(received_envelope 1 size)
	assert_equal "$(wc -l <"$T/outbox.log")" 1
	line=$(cat "$T/outbox.log")
	[[ "$line" =~ ^[A-Z][a-z][a-z]\ [\ 0-9][0-9]\ [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\ host=127\.0\.0\.1\ tls=off\ auth=off\ from=sender@example\.com\ recipients=a@example\.com,b@example\.com\ mailsize=([0-9]+)\ smtpstatus=250\ smtpmsg=\'250\ 2\.0\.0\ OK\ queued\ as\ 1\'\ exitcode=EX_OK$ ]] ||
		{ echo "unexpected log line: $line" >&2; false; }
	assert_equal "${BASH_REMATCH[1]}" "$size"
}

@test "logfile records a refused delivery with the server's reply" {
	start_server --fault 'rcpt=550 5.1.1 no such user'
	server_config "$T/cfg" "logfile $T/outbox.log"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 69
	assert_received 0
	local line
	line=$(cat "$T/outbox.log")
	assert_contains "$line" "host=127.0.0.1 tls=off auth=off"
	assert_contains "$line" "from=sender@example.com recipients=a@example.com"
	assert_contains "$line" "smtpstatus=550 smtpmsg='550 5.1.1 no such user'"
	assert_contains "$line" "errormsg="
	assert_contains "$line" "exitcode=EX_UNAVAILABLE"
	refute_contains "$line" mailsize=
}

@test "a new logfile gets msmtp's mode: 0666 less the umask" {
	server_config "$T/cfg" "logfile $T/outbox.log"
	umask 027
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 0
	assert_equal "$(stat -c %a "$T/outbox.log")" 640
}

@test "a logfile that is another user's symbolic link is refused, by name; the mail still goes" {
	[ "$(id -u)" = 0 ] || skip "needs root to give the link to another user"
	server_config "$T/cfg" "logfile $T/link.log"
	ln -s "$T/target.log" "$T/link.log"
	chown -h nobody "$T/link.log"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$stderr" "log file $T/link.log: it is a symbolic link of another user"
	# nothing was created or written through the link
	[ ! -e "$T/target.log" ]
	[ -L "$T/link.log" ]
}

@test "logfile /dev/stdout (root's symbolic link), as in msmtp setups, writes to standard output" {
	server_config "$T/cfg" "logfile /dev/stdout"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$output" "recipients=a@example.com"
	assert_contains "$output" "exitcode=EX_OK"
}

@test "a logfile_time_format past 255 bytes gets its whole time stamp" {
	local long
	long=$(printf 'x%.0s' {1..300})
	server_config "$T/cfg" "logfile $T/outbox.log" \
		"logfile_time_format ${long}%Y"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 0
	[[ "$(cat "$T/outbox.log")" =~ ^${long}[0-9]{4}\ host= ]] ||
		{ echo "unexpected log line: $(cat "$T/outbox.log")" >&2; false; }
}

@test "a time stamp past 4096 bytes is an error, never cut short" {
	server_config "$T/cfg" "logfile $T/outbox.log" \
		"logfile_time_format %05000Y"
	send_message $'Subject: log\n\nbody\n' -C "$T/cfg" a@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$stderr" "time stamp longer than 4096 bytes"
	[ ! -s "$T/outbox.log" ]
}
