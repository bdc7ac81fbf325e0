#!/usr/bin/env bats
# msmtp-compat.bats - outbox is a drop-in for msmtp 1.8.23: the same
# configuration and command line go through msmtp (/usr/bin/msmtp, or
# $MSMTP) and through outbox, against the same server, and what the server
# received is compared: the EHLO name, MAIL FROM, the RCPT TO list, the
# exit status, and the header fields that were added or removed (From,
# Date, the domain of Message-ID, Bcc, To: undisclosed-recipients).
#
# Where the two differ, the difference is one listed in outbox(1),
# DIFFERENCES FROM MSMTP, and the test says so ("documented difference").
#
# The host name, its canonical name and /etc/mailname must not depend on
# the machine: each program runs in its own UTS and mount namespace
# (unshare --uts --mount) whose host name is compat-host and whose /etc is
# the real one under an overlay holding mailname and hosts
# (compat-host.compat.test). msmtp reads /etc/mailname (its compiled-in
# sysconfdir); outbox is given OUTBOX_SYSCONFDIR=/etc there, so both read
# the same file. This needs root (CI runs as root), unshare and overlayfs;
# without them every test is skipped with the reason (a skip is not a
# pass). The shared configuration uses msmtp's directives only, mode 0600.

load lib

MSMTP=${MSMTP:-/usr/bin/msmtp}
NS_HOST=compat-host
NS_FQDN=compat-host.compat.test
NS_MAILNAME=mail.compat.test

# Why this suite cannot run here (empty: it can); probed once per file.
compat_unavailable() {
	local cache=$BATS_FILE_TMPDIR/compat-probe
	if [ ! -e "$cache" ]; then
		local why=
		if [ ! -x "$MSMTP" ]; then
			why="msmtp is not installed ($MSMTP)"
		elif [ "$(id -u)" != 0 ]; then
			why="needs root for unshare --uts --mount (CI runs as root)"
		elif ! command -v unshare >/dev/null; then
			why="unshare(1) is not available"
		else
			mkdir -p "$BATS_FILE_TMPDIR/probe-etc"
			unshare --uts --mount -- /bin/sh -c \
				'hostname probe && mount -t overlay overlay -o "lowerdir=$0:/etc" /etc' \
				"$BATS_FILE_TMPDIR/probe-etc" 2>"$BATS_FILE_TMPDIR/probe.err" ||
				why="cannot make a UTS+mount namespace with an overlay on /etc: $(head -c 200 "$BATS_FILE_TMPDIR/probe.err")"
		fi
		printf '%s' "$why" >"$cache"
	fi
	cat "$cache"
}

setup() {
	setup_common
	local why
	why=$(compat_unavailable)
	[ -z "$why" ] || skip "$why"
	export USER=compat-user LOGNAME=compat-user
	unset HOSTNAME
	# The overlay's top layer: what /etc/mailname and /etc/hosts say.
	NS_ETC=$T/ns-etc
	mkdir -p "$NS_ETC"
	printf '%s\n' "$NS_MAILNAME" >"$NS_ETC/mailname"
	printf '127.0.0.1 localhost\n127.0.1.1 %s %s\n' "$NS_FQDN" "$NS_HOST" \
		>"$NS_ETC/hosts"
	CFG=$T/msmtprc
	start_server
}

# run_in_ns PROGRAM ARGS... <input: run it in the namespace described at
# the top; sets status and stderr.
run_in_ns() {
	status=0
	timeout --kill-after=5 20 unshare --uts --mount -- /bin/sh -c '
		hostname "$0" &&
			mount -t overlay overlay -o "lowerdir=$1:/etc" /etc ||
			exit 99
		shift
		exec env OUTBOX_SYSCONFDIR=/etc "$@"' \
		"$NS_HOST" "$NS_ETC" "$@" >"$T/run.stdout" 2>"$T/run.stderr" ||
		status=$?
	stderr=$(cat "$T/run.stderr")
	output=$(cat "$T/run.stdout")
}

# run_both MESSAGE ARGS...: MESSAGE through msmtp, then through outbox,
# both with -C $CFG ARGS. Sets M_STATUS/O_STATUS, M_ERR/O_ERR and M_N/O_N,
# the number of the message each delivered (empty: none).
run_both() {
	local msg=$1 before
	shift
	printf '%s' "$msg" >"$T/message.in"
	before=$(received_count)
	run_in_ns "$MSMTP" -C "$CFG" "$@" <"$T/message.in"
	M_STATUS=$status M_ERR=$stderr M_N=
	[ "$(received_count)" = "$before" ] || M_N=$((before + 1))
	before=$(received_count)
	run_in_ns "$OUTBOX" -C "$CFG" "$@" <"$T/message.in"
	O_STATUS=$status O_ERR=$stderr O_N=
	[ "$(received_count)" = "$before" ] || O_N=$((before + 1))
	LAST_COMMAND="msmtp/outbox -C $CFG $*"
}

show_both() {
	{
		echo "command: $LAST_COMMAND"
		echo "msmtp:  exit $M_STATUS, message ${M_N:-none}: $M_ERR"
		echo "outbox: exit $O_STATUS, message ${O_N:-none}: $O_ERR"
		cat "$CFG"
		echo "--- server transcript:"
		head -c 6000 "$SPOOL/transcript.log"
	} >&2
}

# Both exited with CODE.
both_exit() {
	if [ "$M_STATUS" != "$1" ] || [ "$O_STATUS" != "$1" ]; then
		echo "expected both to exit $1" >&2
		show_both
		return 1
	fi
}

# Both delivered a message.
both_delivered() {
	both_exit 0
	if [ -z "$M_N" ] || [ -z "$O_N" ]; then
		echo "expected both to deliver a message" >&2
		show_both
		return 1
	fi
}

# same_envelope FIELD [EXPECTED]: the server saw the same FIELD from both
# (rcpt_tos compared as a set), and it is EXPECTED when given.
same_envelope() {
	local m o
	m=$(received_envelope "$M_N" "$1" | sort)
	o=$(received_envelope "$O_N" "$1" | sort)
	if [ "$m" != "$o" ]; then
		printf '%s differs:\nmsmtp:  %s\noutbox: %s\n' "$1" "$m" "$o" >&2
		show_both
		return 1
	fi
	if [ $# -ge 2 ] && [ "$m" != "$2" ]; then
		printf '%s is "%s" for both, expected "%s"\n' "$1" "$m" "$2" >&2
		show_both
		return 1
	fi
}

# same_header NAME [EXPECTED]: both messages have NAME with the same
# value (or both lack it: EXPECTED "-"), EXPECTED when given.
same_header() {
	local m o
	m=$(received_header "$M_N" "$1") || m=-
	o=$(received_header "$O_N" "$1") || o=-
	if [ "$m" != "$o" ]; then
		printf '%s: differs:\nmsmtp:  %s\noutbox: %s\n' "$1" "$m" "$o" >&2
		show_both
		return 1
	fi
	if [ $# -ge 2 ] && [ "$m" != "$2" ]; then
		printf '%s: is "%s" for both, expected "%s"\n' "$1" "$m" "$2" >&2
		show_both
		return 1
	fi
}

# same_presence NAME...: each NAME is present in both or absent in both
# (for fields whose value differs by nature: Date, Message-ID).
same_presence() {
	local name m o
	for name in "$@"; do
		m=$(received_header_count "$M_N" "$name")
		o=$(received_header_count "$O_N" "$name")
		if [ "$m" != "$o" ]; then
			printf '%s: msmtp has %s, outbox %s\n' "$name" "$m" "$o" >&2
			show_both
			return 1
		fi
	done
}

# The right side of message N's Message-ID.
msgid_domain() {
	received_header "$1" Message-ID | sed 's/^.*@//; s/>.*$//'
}

MSG=$'Subject: compat\n\nbody\n'

# ---- domain: %H %C %M (msmtp 1.8.16+) ----------------------------------

@test "domain %H: EHLO with the host name" {
	server_config "$CFG" "domain %H"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo "$NS_HOST"
}

@test "domain %C: EHLO with the canonical name of the host" {
	server_config "$CFG" "domain %C"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo "$NS_FQDN"
}

@test "domain %M: EHLO with the first line of /etc/mailname" {
	printf '%s\r\nsecond.line\n' "$NS_MAILNAME" >"$NS_ETC/mailname"
	server_config "$CFG" "domain %M"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo "$NS_MAILNAME"
}

@test "domain: patterns mixed with text, and %U is not one of domain's" {
	server_config "$CFG" "domain relay-%H.%M.%U"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo "relay-$NS_HOST.$NS_MAILNAME.%U"
}

@test "domain %H: an exported HOSTNAME wins over the system's name" {
	server_config "$CFG" "domain %H"
	HOSTNAME=env-host.example run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo env-host.example
}

@test "domain %M without /etc/mailname: both exit 78, nothing is sent" {
	rm "$NS_ETC/mailname"
	mknod "$NS_ETC/mailname" c 0 0 # an overlay whiteout: no such file
	server_config "$CFG" "domain %M"
	run_both "$MSG" rcpt@example.org
	both_exit 78
	assert_received 0
	assert_contains "$M_ERR" "/etc/mailname"
	assert_contains "$O_ERR" "/etc/mailname"
	assert_contains "$O_ERR" "No such file or directory"
}

@test "domain %M with an empty /etc/mailname: both exit 78" {
	: >"$NS_ETC/mailname"
	server_config "$CFG" "domain %M"
	run_both "$MSG" rcpt@example.org
	both_exit 78
	assert_received 0
	assert_contains "$O_ERR" "first line is empty"
}

# ---- the envelope sender ------------------------------------------------

@test "from with %U %H %C %M: the sender and the added From" {
	server_config "$CFG" "from %U@%H.%M" "domain %C"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope mail_from "compat-user@$NS_HOST.$NS_MAILNAME"
	same_header From "compat-user@$NS_HOST.$NS_MAILNAME"
	same_envelope helo "$NS_FQDN"
}

@test "auto_from + maildomain: user@maildomain, even over -f" {
	server_config "$CFG" "auto_from on" "maildomain example.net"
	run_both "$MSG" -f other@example.org rcpt@example.org
	both_delivered
	same_envelope mail_from compat-user@example.net
	same_header From compat-user@example.net
	same_envelope rcpt_tos rcpt@example.org
}

@test "auto_from without maildomain: the bare user name" {
	server_config "$CFG" "auto_from on"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope mail_from compat-user
	same_header From compat-user
	# Documented difference (Message-ID): msmtp 1.8.23 ends the id with
	# the sender and, without '@', the canonical host name; outbox
	# follows msmtp 1.8.25+: the server's host name.
	assert_equal "$(msgid_domain "$M_N")" "$NS_FQDN"
	assert_equal "$(msgid_domain "$O_N")" 127.0.0.1
}

@test "a local recipient (cron's root) goes out as it is, maildomain or not" {
	server_config "$CFG" "maildomain example.net"
	run_both $'To: root\nSubject: cron\n\nbody\n' root bob@example.org
	both_delivered
	same_envelope rcpt_tos $'bob@example.org\nroot'
	same_envelope mail_from sender@example.com
	same_header To root
}

@test "-f sets the sender; allow_from_override off ignores it" {
	server_config "$CFG"
	run_both "$MSG" -f other@example.org rcpt@example.org
	both_delivered
	same_envelope mail_from other@example.org
	same_header From other@example.org
	write_config "$CFG" <<-EOF
	account default
	host 127.0.0.1
	port $PORT
	from sender@example.com
	allow_from_override off
	EOF
	run_both "$MSG" -f other@example.org rcpt@example.org
	both_delivered
	same_envelope mail_from sender@example.com
	same_header From sender@example.com
}

@test "allow_from_override through account x : parent: documented difference" {
	server_config "$CFG" "allow_from_override off"
	run_both "$MSG" -f other@example.org rcpt@example.org
	both_delivered
	# Documented difference (allow_from_override): msmtp 1.8.23 does not
	# pass it on to `account default : test` (fixed in msmtp 1.8.24);
	# outbox inherits it as every other setting.
	assert_equal "$(received_envelope "$M_N" mail_from)" other@example.org
	assert_equal "$(received_envelope "$O_N" mail_from)" sender@example.com
}

@test "no from and no -f (or -f ignored): both exit 78, nothing sent" {
	write_config "$CFG" <<-EOF
	account default
	host 127.0.0.1
	port $PORT
	EOF
	run_both "$MSG" rcpt@example.org
	both_exit 78
	write_config "$CFG" <<-EOF
	account default
	host 127.0.0.1
	port $PORT
	allow_from_override off
	EOF
	run_both "$MSG" -f other@example.org rcpt@example.org
	both_exit 78
	assert_received 0
}

@test "--read-envelope-from takes the From header's address" {
	server_config "$CFG"
	run_both $'From: Alice <alice@example.net>\nSubject: r\n\nbody\n' \
		--read-envelope-from rcpt@example.org
	both_delivered
	same_envelope mail_from alice@example.net
	same_header From "Alice <alice@example.net>"
}

@test "-F gives the added From a display name" {
	server_config "$CFG"
	run_both "$MSG" -F 'Cron Daemon' rcpt@example.org
	both_delivered
	same_header From "Cron Daemon <sender@example.com>"
}

# ---- choosing the account -----------------------------------------------

@test "-f user+detail@domain chooses the account of user@domain" {
	write_config "$CFG" <<-EOF
	defaults
	host 127.0.0.1
	port $PORT
	timeout 5
	account joe
	from joe@example.org
	domain joe.example
	account other
	from *@other.example
	domain other.example
	account default
	from default@example.org
	domain default.example
	EOF
	run_both "$MSG" -f joe+lists@example.org rcpt@example.org
	both_delivered
	same_envelope helo joe.example
	same_envelope mail_from joe+lists@example.org
	run_both "$MSG" -f anyone@other.example rcpt@example.org
	both_delivered
	same_envelope helo other.example
	run_both "$MSG" -f nobody@elsewhere.example rcpt@example.org
	both_delivered
	same_envelope helo default.example
	same_envelope mail_from nobody@elsewhere.example
}

@test "defaults and inheritance: account child : parent, account default : name" {
	write_config "$CFG" <<-EOF
	defaults
	port $PORT
	timeout 5
	domain defaults.example

	account base
	host 127.0.0.1
	from base@example.org

	account child : base
	from child@example.org

	account later
	host 127.0.0.1
	from later@example.org
	domain later.example

	account default : child
	EOF
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo defaults.example
	same_envelope mail_from child@example.org
	run_both "$MSG" -a base rcpt@example.org
	both_delivered
	same_envelope mail_from base@example.org
	run_both "$MSG" -a later rcpt@example.org
	both_delivered
	same_envelope helo later.example
}

@test "--host: the command line alone, no configuration file is used" {
	write_config "$CFG" <<-EOF
	account default
	host 192.0.2.1
	port 1
	from config@example.org
	domain config.example
	EOF
	run_both "$MSG" --host=127.0.0.1 --port="$PORT" -f cli@example.org \
		rcpt@example.org
	both_delivered
	same_envelope helo localhost
	same_envelope mail_from cli@example.org
}

@test "EMAIL and SMTPSERVER stand in for a missing default account" {
	write_config "$CFG" <<-EOF
	account other
	host 192.0.2.1
	from other@example.org
	EOF
	EMAIL=env@example.org SMTPSERVER=127.0.0.1 \
		run_both "$MSG" --port="$PORT" rcpt@example.org
	both_delivered
	same_envelope mail_from env@example.org
	same_header From env@example.org
	# -f wins over EMAIL; without either, SMTPSERVER alone is not enough
	EMAIL=env@example.org SMTPSERVER=127.0.0.1 \
		run_both "$MSG" --port="$PORT" -f cli@example.org rcpt@example.org
	both_delivered
	same_envelope mail_from cli@example.org
	SMTPSERVER=127.0.0.1 run_both "$MSG" --port="$PORT" rcpt@example.org
	both_exit 78
	# an account chosen by -a is never replaced by them
	EMAIL=env@example.org SMTPSERVER=127.0.0.1 \
		run_both "$MSG" -a nosuch --port="$PORT" rcpt@example.org
	both_exit 78
}

# ---- recipients and header edits ----------------------------------------

@test "-t: To, Cc and Bcc recipients, operands added, Bcc removed" {
	server_config "$CFG"
	run_both $'To: a@example.org, B <b@example.org>\nCc: c@example.org\nBcc: d@example.org\nSubject: t\n\nbody\n' \
		-t e@example.org
	both_delivered
	same_envelope rcpt_tos $'a@example.org\nb@example.org\nc@example.org\nd@example.org\ne@example.org'
	same_header Bcc -
	same_header To "a@example.org, B <b@example.org>"
	same_header Cc c@example.org
}

@test "remove_bcc_headers off keeps Bcc" {
	server_config "$CFG" "remove_bcc_headers off"
	run_both $'To: a@example.org\nBcc: d@example.org\nSubject: t\n\nbody\n' -t
	both_delivered
	same_header Bcc d@example.org
}

@test "undisclosed_recipients: one To: undisclosed-recipients:;" {
	server_config "$CFG" "undisclosed_recipients on"
	run_both $'To: a@example.org\nCc: c@example.org\nSubject: u\n\nbody\n' -t
	both_delivered
	same_envelope rcpt_tos $'a@example.org\nc@example.org'
	same_header To "undisclosed-recipients:;"
	same_header Cc -
}

@test "aliases map local recipients in the envelope only" {
	printf 'root: admin@example.org\ndefault: catchall@example.org\n' \
		>"$T/aliases"
	server_config "$CFG" "aliases $T/aliases"
	run_both $'To: root\nSubject: a\n\nbody\n' root x@example.org www-data
	both_delivered
	same_envelope rcpt_tos \
		$'admin@example.org\ncatchall@example.org\nx@example.org'
	same_header To root
}

@test "aliases: two local names in a row: documented difference" {
	printf 'root: admin@example.org\ndefault: catchall@example.org\n' \
		>"$T/aliases"
	server_config "$CFG" "aliases $T/aliases"
	run_both "$MSG" root www-data
	both_delivered
	# Documented difference (aliases): msmtp 1.8.23 skips the recipient
	# right after one it replaced; outbox replaces every local name.
	assert_equal "$(received_envelope "$M_N" rcpt_tos | sort)" \
		$'admin@example.org\nwww-data'
	assert_equal "$(received_envelope "$O_N" rcpt_tos | sort)" \
		$'admin@example.org\ncatchall@example.org'
}

@test "set_from_header auto, on, off" {
	local setting msg
	for setting in auto on off; do
		for msg in "$MSG" $'From: Mail <mail@example.net>\nSubject: f\n\nbody\n'; do
			server_config "$CFG" "set_from_header $setting"
			run_both "$msg" rcpt@example.org
			both_delivered
			same_header From
			same_presence From
			# on replaces the message's own From by the sender
			[ $setting != on ] ||
				same_header From sender@example.com
		done
	done
	# off leaves the message's own From alone
	same_header From "Mail <mail@example.net>"
}

@test "set_date_header and set_msgid_header auto and off" {
	local setting msg
	for setting in auto off; do
		for msg in "$MSG" $'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <given@example.net>\nSubject: d\n\nbody\n'; do
			server_config "$CFG" "set_date_header $setting" \
				"set_msgid_header $setting"
			run_both "$msg" rcpt@example.org
			both_delivered
			same_presence Date Message-ID
			[ "$(received_header_count "$O_N" Date)" -le 1 ]
		done
	done
	same_header Message-ID "<given@example.net>"
	same_header Date "Mon, 1 Jan 2024 00:00:00 +0000"
}

@test "Message-ID: the sender's domain when domain is not set" {
	server_config "$CFG"
	run_both "$MSG" rcpt@example.org
	both_delivered
	assert_equal "$(msgid_domain "$M_N")" example.com
	assert_equal "$(msgid_domain "$O_N")" example.com
}

@test "Message-ID with domain set: documented difference" {
	server_config "$CFG" "domain %H"
	run_both "$MSG" rcpt@example.org
	both_delivered
	same_envelope helo "$NS_HOST"
	# Documented difference (Message-ID): msmtp 1.8.23 always ends the id
	# with the sender's address; outbox uses msmtp 1.8.25+'s rule, the
	# (expanded) domain when it is not "localhost".
	assert_equal "$(msgid_domain "$M_N")" example.com
	assert_equal "$(msgid_domain "$O_N")" "$NS_HOST"
	refute_contains "$(received_header "$O_N" Message-ID)" sender@
}

# ---- exit status ----------------------------------------------------------

@test "the log file line: msmtp's format" {
	server_config "$CFG" "logfile $T/log"
	run_both $'From: a@example.net\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@example.net>\nSubject: l\n\nbody\n' \
		rcpt@example.org other@example.org
	both_delivered
	local m o
	m=$(sed -n 1p "$T/log") o=$(sed -n 2p "$T/log")
	# Both start with the time in the same format; the two runs may fall
	# in different seconds, so the times are compared by shape only.
	local stamp='^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] host='
	[[ "$m" =~ $stamp ]] || { echo "msmtp's line: $m" >&2; return 1; }
	[[ "$o" =~ $stamp ]] || { echo "outbox's line: $o" >&2; return 1; }
	# Documented difference (logfile, mailsize): msmtp counts the mail as
	# it read it (LF line ends), outbox the bytes it sent (CRLF).
	local mask='s/^[^h]*host=/host=/; s/mailsize=[0-9]*//; s/queued as [0-9]*//'
	assert_equal "$(sed "$mask" <<<"$o")" "$(sed "$mask" <<<"$m")"
	assert_contains "$o" "host=127.0.0.1 tls=off auth=off from=sender@example.com recipients=rcpt@example.org,other@example.org mailsize="
	assert_contains "$o" "exitcode=EX_OK"
}

@test "senders and names msmtp passes on unchecked: documented differences" {
	server_config "$CFG"
	# -f with a display name: msmtp sends it raw (MAIL FROM:<Other
	# <o@...>>, refused); outbox takes the address.
	run_both "$MSG" -f 'Other <other@example.org>' rcpt@example.org
	assert_equal "$M_STATUS" 65
	assert_equal "$O_STATUS" 0
	assert_equal "$(received_envelope "$O_N" mail_from)" other@example.org
	# -f '<>': both send the null sender; msmtp adds an empty "From: "
	# field, outbox adds none.
	run_both "$MSG" -f '<>' rcpt@example.org
	both_delivered
	same_envelope mail_from ""
	assert_equal "$(received_header_count "$M_N" From)" 1
	assert_equal "$(received_header_count "$O_N" From)" 0
	# -F with a comma: msmtp writes it raw (two addresses to a reader),
	# outbox quotes it.
	run_both "$MSG" -F 'Doe, John' rcpt@example.org
	both_delivered
	assert_equal "$(received_header "$M_N" From)" "Doe, John <sender@example.com>"
	assert_equal "$(received_header "$O_N" From)" "\"Doe, John\" <sender@example.com>"
}

@test "input msmtp sends or refuses otherwise: documented differences" {
	server_config "$CFG"
	# the same recipient twice: msmtp sends RCPT TO twice, outbox once
	run_both "$MSG" rcpt@example.org RCPT@example.org rcpt@example.org
	both_delivered
	assert_equal "$(received_envelope "$M_N" rcpt_tos | wc -l)" 3
	assert_equal "$(received_envelope "$O_N" rcpt_tos)" rcpt@example.org
	# empty input: msmtp sends a mail of added header fields, outbox
	# refuses it (65)
	run_both "" rcpt@example.org
	assert_equal "$M_STATUS" 0
	assert_equal "$O_STATUS" 65
	assert_equal "$O_N" ""
	# -t finding no recipient: msmtp 64, outbox 65 (the mail is wrong)
	run_both "$MSG" -t
	assert_equal "$M_STATUS" 64
	assert_equal "$O_STATUS" 65
	# --read-envelope-from without a From field: msmtp 78 (no sender),
	# outbox 65 (the mail is wrong)
	run_both "$MSG" --read-envelope-from rcpt@example.org
	assert_equal "$M_STATUS" 78
	assert_equal "$O_STATUS" 65
}

# exit_rows ROW...: each ROW is "FAULT|MSMTP|OUTBOX": a server with
# --fault FAULT (empty: none; "closed": no server at all), then both
# programs; each must exit with its code. Where the codes differ, outbox(1)
# lists the row in DIFFERENCES FROM MSMTP (exit status).
exit_rows() {
	local row fault want_m want_o failed=0
	for row in "$@"; do
		IFS='|' read -r fault want_m want_o <<<"$row"
		stop_server
		if [ "$fault" = closed ]; then
			start_server
			stop_server # its port is now closed
		elif [ -n "$fault" ]; then
			start_server --fault "$fault"
		else
			start_server
		fi
		server_config "$CFG" "timeout 1" ${EXTRA_LINES:+"$EXTRA_LINES"}
		run_both "$MSG" rcpt@example.org
		if [ "$M_STATUS" != "$want_m" ] || [ "$O_STATUS" != "$want_o" ]; then
			echo "fault '$fault': msmtp $M_STATUS (want $want_m)," \
				"outbox $O_STATUS (want $want_o)" >&2
			echo "  msmtp: $M_ERR" >&2
			echo "  outbox: $O_ERR" >&2
			failed=1
		fi
	done
	return $failed
}

@test "exit status: server replies and broken connections" {
	# Documented differences (exit status): msmtp exits 65 (EX_DATAERR)
	# for a 5xx to MAIL, RCPT or DATA, 69 for a 4xx, 76 for a greeting
	# that is not 220 and for a dropped connection, 74 for a reset or a
	# timeout; outbox: 69 for every permanent refusal, 75 for everything
	# worth retrying.
	exit_rows \
		'|0|0' \
		'closed|75|75' \
		'rcpt=550 5.1.1 no such user|65|69' \
		'rcpt=450 4.2.1 try later|69|75' \
		'mail=553 5.7.1 not you|65|69' \
		'mail=451 4.3.0 try later|69|75' \
		'data=554 5.3.0 no|65|69' \
		'data=451 4.3.0 try later|69|75' \
		'eom=554 5.7.1 spam|69|69' \
		'eom=451 4.3.0 try later|69|75' \
		'greeting=554 5.3.2 go away|76|69' \
		'greeting=421 4.3.2 busy|76|75' \
		'ehlo=550 5.5.1 no EHLO|0|0' \
		'rcpt=drop|76|75' \
		'eom=drop|76|75' \
		'mail=reset|74|75' \
		'rcpt=garbage:hello|76|76' \
		'quit=drop|0|0' \
		'rcpt=silence|74|75'
}

# exit_case MSMTP OUTBOX [CONFIG-LINE...] -- [SERVER-ARG...]: a server
# with these arguments, the test account with these lines; each program
# must exit with its code (EXIT_FAILED is set otherwise).
exit_case() {
	local want_m=$1 want_o=$2 lines=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		lines+=("$1")
		shift
	done
	shift
	stop_server
	start_server "$@"
	server_config "$CFG" "timeout 5" "${lines[@]}"
	run_both "$MSG" rcpt@example.org
	if [ "$M_STATUS" != "$want_m" ] || [ "$O_STATUS" != "$want_o" ]; then
		echo "server $*; ${lines[*]}: msmtp $M_STATUS (want $want_m)," \
			"outbox $O_STATUS (want $want_o)" >&2
		echo "  msmtp: $M_ERR" >&2
		echo "  outbox: $O_ERR" >&2
		EXIT_FAILED=1
	fi
}

@test "exit status: TLS and authentication" {
	[ -n "${CA_CERT:-}" ] || make_certs
	local tls=(--starttls --cert "$SERVER_CERT" --key "$SERVER_KEY")
	local auth=(--auth-user joe --auth-password secret)
	EXIT_FAILED=0
	exit_case 0 0 "tls on" "tls_trust_file $CA_CERT" -- "${tls[@]}"
	exit_case 0 0 "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password secret" -- "${tls[@]}" "${auth[@]}"
	# Documented differences (exit status): msmtp exits 69 when the
	# server offers no STARTTLS or its certificate is not trusted, 76
	# when the TLS handshake fails; outbox exits 77 for the security
	# policy refusing the server, and 75 for a 454 to AUTH.
	exit_case 69 77 "tls on" "tls_trust_file $CA_CERT" --
	exit_case 69 77 "tls on" "tls_trust_file $OTHER_CA_CERT" -- \
		"${tls[@]}"
	exit_case 69 77 "tls on" "tls_trust_file $CA_CERT" -- \
		--starttls --cert "$EXPIRED_CERT" --key "$EXPIRED_KEY"
	exit_case 77 77 "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password wrong" -- "${tls[@]}" "${auth[@]}"
	exit_case 77 75 "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password secret" -- "${tls[@]}" "${auth[@]}" \
		--fault 'auth=454 4.7.0 try later'
	exit_case 69 69 "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password secret" -- "${tls[@]}"
	[ "$EXIT_FAILED" = 0 ]
}

@test "no recipient at all: both exit 64" {
	server_config "$CFG"
	run_both "$MSG"
	both_exit 64
	assert_received 0
}
