#!/usr/bin/env bats
# maildrop.bats - outbox as the machine's sendmail for every local user:
# root keeps the smarthost account in the system configuration (mode 0600
# root); a user who cannot read it hands the message to the maildrop
# /var/spool/outbox/maildrop (setgid group, sticky 1770), and root's
# --flush picks every entry up into the system queue, sends it with the
# system account and sets aside whatever is hostile (src/maildrop.h,
# src/pickup.h, src/privilege.h, src/maildrop_format.h).
#
# The maildrop path is compiled in, so every test that needs it runs its
# body in a private mount namespace (unshare --mount) with a tmpfs over
# /var/spool: the real /var/spool is never touched. There the prelude
# (ns_prelude below) builds the spool as a package would: /var/spool/outbox
# root:GROUP 0750, its maildrop root:GROUP 1770, a copy of $OUTBOX at
# /var/spool/bin/outbox setgid GROUP (every user can reach that copy; the
# clone's own binary is never run as another user), and the system
# configuration /var/spool/etc/outboxrc, mode 0600 root, in a directory
# everyone may traverse (OUTBOX_SYSCONFDIR=/var/spool/etc). Two throwaway
# users and the group are made in setup_file and removed in
# teardown_file. The SMTP server runs in the test's own shell (the network
# is shared, only the mounts are private) and keeps its spool under $T.
#
# The namespace body runs with `set -e` and lib.bash loaded: every assert
# that fails ends the script with a non-zero status, which fails the test;
# a check that something must fail uses must_fail (a bare `! cmd` never
# stops a set -e script). Needs root (CI runs as root), unshare, setpriv
# and useradd; without them every test is skipped with the reason.

load lib

setup_file() {
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="needs root (users, setgid files, a mount namespace)"
	elif ! command -v unshare >/dev/null || ! command -v setpriv \
		>/dev/null || ! command -v useradd >/dev/null; then
		why="needs unshare, setpriv and useradd"
	elif ! unshare --mount --propagation private -- /bin/sh -c \
		'mount -t tmpfs tmpfs /var/spool' 2>/dev/null; then
		why="cannot mount a tmpfs over /var/spool in a mount namespace"
	fi
	export MD_SKIP=$why
	[ -z "$why" ] || return 0
	# Unique throwaway names (a leftover of a killed run is not reused).
	local tag=$$
	while getent passwd "obmd_a$tag" >/dev/null ||
		getent passwd "obmd_b$tag" >/dev/null ||
		getent group "obmd_g$tag" >/dev/null; do
		tag=$tag$RANDOM
	done
	export MD_GROUP=obmd_g$tag MD_A=obmd_a$tag MD_B=obmd_b$tag
	groupadd -r "$MD_GROUP"
	useradd -M -s /bin/sh "$MD_A"
	useradd -M -s /bin/sh "$MD_B"
	MD_A_UID=$(id -u "$MD_A")
	MD_B_UID=$(id -u "$MD_B")
	export MD_A_UID MD_B_UID
}

teardown_file() {
	[ -n "${MD_A:-}" ] || return 0
	local u
	for u in "$MD_A" "$MD_B"; do
		userdel "$u" 2>/dev/null || true
		groupdel "$u" 2>/dev/null || true
	done
	groupdel "$MD_GROUP" 2>/dev/null || true
}

setup() {
	setup_common
	[ -z "${MD_SKIP:-}" ] || skip "$MD_SKIP"
}

# What every namespace script starts with (see the top of this file).
# NO_SPOOL=1 leaves the spool out (the machine has no maildrop).
ns_prelude() {
	cat <<'EOF'
set -e
source "$LIB_DIR/lib.bash"
mount -t tmpfs -o mode=755 tmpfs /var/spool
mkdir -p /var/spool/bin /var/spool/etc
if [ "${NO_SPOOL:-}" != 1 ]; then
	mkdir -p /var/spool/outbox/maildrop
	chown root:"$MD_GROUP" /var/spool/outbox /var/spool/outbox/maildrop
	chmod 0750 /var/spool/outbox
	chmod 1770 /var/spool/outbox/maildrop
fi
cp "$OUTBOX" /var/spool/bin/outbox
chgrp "$MD_GROUP" /var/spool/bin/outbox
chmod 2755 /var/spool/bin/outbox
chmod 755 /var/spool/etc
export OUTBOX=/var/spool/bin/outbox
export OUTBOX_SYSCONFDIR=/var/spool/etc
MAILDROP=/var/spool/outbox/maildrop
DAMAGED=/var/spool/outbox/maildrop-damaged
MSG=$'Subject: hello\n\nbody line\n'

# The system account (root's secret) as msmtp's documentation writes it:
# an account "system" for the current server, sender %U@example.com, and
# "account default : system"; each argument is one more directive line of
# the default account.
write_sysconf() {
	{
		echo "account system"
		echo "host 127.0.0.1"
		echo "port $PORT"
		echo "from %U@example.com"
		echo "tls off"
		echo "auth off"
		echo "timeout 30"  # generous: a loaded CI machine answers slowly
		echo "password root-only-secret"
		echo "account default : system"
		printf '%s\n' "$@"
	} >/var/spool/etc/outboxrc
	chown root:root /var/spool/etc/outboxrc
	chmod 600 /var/spool/etc/outboxrc
}
write_sysconf

# as_user LOGIN CMD...: run CMD as that user, with a clean environment
# (no home, no configuration of their own).
as_user() {
	local who=$1
	shift
	setpriv --reuid="$(id -u "$who")" --regid="$(id -g "$who")" \
		--init-groups env -i HOME=/nonexistent PATH=/usr/bin:/bin \
		LC_ALL=C.UTF-8 USER="$who" LOGNAME="$who" \
		OUTBOX_SYSCONFDIR=/var/spool/etc "$@"
}

# md_run WHO [ARGS...] [<input]: run the installed outbox as WHO (a login,
# or "root"), bounded; sets status, output, stderr like run_outbox.
md_run() {
	local who=$1
	shift
	status=0
	if [ "$who" = root ]; then
		timeout --kill-after=5 20 "$OUTBOX" "$@" >"$T/ns.stdout" \
			2>"$T/ns.stderr" || status=$?
	else
		timeout --kill-after=5 20 setpriv \
			--reuid="$(id -u "$who")" --regid="$(id -g "$who")" \
			--init-groups env -i HOME=/nonexistent \
			PATH=/usr/bin:/bin LC_ALL=C.UTF-8 USER="$who" \
			LOGNAME="$who" OUTBOX_SYSCONFDIR=/var/spool/etc \
			"$OUTBOX" "$@" >"$T/ns.stdout" 2>"$T/ns.stderr" ||
			status=$?
	fi
	output=$(cat "$T/ns.stdout")
	stderr=$(cat "$T/ns.stderr")
	LAST_COMMAND="($who) outbox $*"
}

# submit WHO TEXT [ARGS...]: TEXT (exact bytes) as WHO's message.
submit() {
	local who=$1 text=$2
	shift 2
	printf '%s' "$text" >"$T/ns.in"
	md_run "$who" "$@" <"$T/ns.in"
}

must_fail() {
	if "$@" 2>/dev/null; then
		echo "unexpectedly succeeded: $*" >&2
		return 1
	fi
}

# The names in the maildrop (hidden ones too), one per line.
maildrop_names() {
	ls -A "$MAILDROP"
}

assert_maildrop_empty() {
	local left
	left=$(ls -A "$MAILDROP")
	if [ -n "$left" ]; then
		echo "the maildrop is not empty:" >&2
		ls -la "$MAILDROP" >&2
		return 1
	fi
}

# The number N of the server's message whose Subject is $1.
msg_with_subject() {
	local f
	for f in "$SPOOL"/*.eml; do
		if grep -q -a "^Subject: $1"$'\r'"\$" "$f"; then
			basename "$f" .eml
			return 0
		fi
	done
	echo "no message with Subject: $1 at the server" >&2
	return 1
}
EOF
}

# in_ns <<'EOF' ... EOF: run the body (stdin) after ns_prelude in a
# private mount namespace; the test fails unless it ends with status 0.
in_ns() {
	{
		ns_prelude
		cat
		echo 'echo "namespace script completed"'
	} >"$T/ns.sh"
	export LIB_DIR PORT SPOOL T NO_SPOOL=${NO_SPOOL:-}
	local rc=0
	timeout --kill-after=5 50 unshare --mount --propagation private \
		bash "$T/ns.sh" 3>&- || rc=$?
	if [ "$rc" != 0 ]; then
		echo "the namespace script failed with status $rc" >&2
		return 1
	fi
}

# -------------------------------------------------------------- the basics

@test "a user's message waits in the maildrop and root's flush sends it once" {
	start_server
	in_ns <<'EOF'
submit "$MD_A" "$MSG" you@example.net
assert_exit 0
# Exactly one entry: a regular file of A's, 0600, one link.
names=$(maildrop_names)
assert_equal "$(printf '%s\n' "$names" | grep -c .)" 1
[[ "$names" =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$ ]]
assert_equal "$(stat -c '%F %a %u %h' "$MAILDROP/$names")" \
	"regular file 600 $MD_A_UID 1"
head -n 1 "$MAILDROP/$names" | grep -qx 'outbox-maildrop 1'
# The user's side never talks to the server, and never sees the secret.
assert_no_session
refute_contains "$output$stderr" root-only-secret

# Root flushing with -C (some other file) leaves the maildrop alone:
# local users' mail goes through the system configuration only.
cp /var/spool/etc/outboxrc "$T/other.rc"
md_run root -C "$T/other.rc" --flush
assert_exit 0
assert_equal "$(maildrop_names | grep -c .)" 1
assert_no_session

md_run root --flush
assert_exit 0
assert_contains "$output" \
	"maildrop $names: from $MD_A (uid $MD_A_UID): queued as "
assert_received 1
assert_equal "$(received_envelope 1 mail_from)" "$MD_A@example.com"
assert_equal "$(received_envelope 1 rcpt_tos)" you@example.net
# The trace field is the first line, naming the submitter and the entry.
first=$(head -n 1 "$SPOOL/1.eml")
assert_equal "$first" "Received: (from $MD_A@localhost)"$'\r'
received=$(received_header 1 Received)
[[ "$received" =~ ^"(from $MD_A@localhost) by "[^\ ]+" (outbox) id $names; "[A-Z][a-z][a-z],\ [0-9] ]] ||
	{ echo "unexpected Received: $received" >&2; exit 1; }
assert_equal "$(received_header_count 1 Received)" 1
assert_contains "$(received_body 1)" "body line"
assert_maildrop_empty

# A second flush has nothing left to send.
md_run root --flush
assert_exit 0
assert_received 1
assert_maildrop_empty
EOF
}

@test "the user's -f counts only with allow_from_override on; -F -t -N -R are carried" {
	start_server --dsn
	in_ns <<'EOF'
# Without allow_from_override in the system account (msmtp's implicit on
# does not count for a maildrop message): the account's sender.
submit "$MD_A" $'Subject: f-flag\n\nx\n' -f evil@example.org r1@example.net
assert_exit 0
submit "$MD_A" $'From: Evil <evil2@example.org>\nSubject: ref\n\nx\n' \
	--read-envelope-from r2@example.net
assert_exit 0
submit "$MD_A" $'Subject: fullname\n\nx\n' -F 'Backup Job' r3@example.net
assert_exit 0
submit "$MD_A" $'To: t1@example.net\nCc: c1@example.net\nBcc: b1@example.net\nSubject: t-flag\n\nx\n' -t
assert_exit 0
submit "$MD_A" $'Subject: dsn\n\nx\n' -N never -R hdrs r5@example.net
assert_exit 0
# -i / -oi are accepted; a lone dot never ends the message anyway.
submit "$MD_A" $'Subject: dots\n\nbefore\n.\nafter\n' -i -oi r8@example.net
assert_exit 0
md_run root --flush
assert_exit 0
assert_received 6

n=$(msg_with_subject f-flag)
assert_equal "$(received_envelope "$n" mail_from)" "$MD_A@example.com"
assert_equal "$(received_envelope "$n" rcpt_tos)" r1@example.net
n=$(msg_with_subject ref)
assert_equal "$(received_envelope "$n" mail_from)" "$MD_A@example.com"
n=$(msg_with_subject fullname)
assert_contains "$(received_header "$n" From)" "Backup Job"
assert_contains "$(received_header "$n" From)" "<$MD_A@example.com>"
n=$(msg_with_subject t-flag)
assert_equal "$(received_envelope "$n" rcpt_tos | sort | tr '\n' ' ')" \
	"b1@example.net c1@example.net t1@example.net "
assert_equal "$(received_header_count "$n" Bcc)" 0
n=$(msg_with_subject dsn)
assert_contains "$(received_envelope "$n" rcpt_options)" NOTIFY=NEVER
assert_contains "$(received_envelope "$n" mail_options)" RET=HDRS
n=$(msg_with_subject dots)
assert_contains "$(received_body "$n")" $'before\r\n.\r\nafter'

# Root says allow_from_override on: now the user's sender is used.
write_sysconf "allow_from_override on"
submit "$MD_A" $'Subject: f-flag-2\n\nx\n' -f evil@example.org r6@example.net
assert_exit 0
submit "$MD_A" $'From: Evil <evil2@example.org>\nSubject: ref-2\n\nx\n' \
	--read-envelope-from r7@example.net
assert_exit 0
md_run root --flush
assert_exit 0
assert_received 8
n=$(msg_with_subject f-flag-2)
assert_equal "$(received_envelope "$n" mail_from)" evil@example.org
n=$(msg_with_subject ref-2)
assert_equal "$(received_envelope "$n" mail_from)" evil2@example.org
assert_maildrop_empty
EOF
}

@test "a user's sendmail -bs session (PHP as www-data) goes through the maildrop, DSN and all" {
	start_server --dsn
	in_ns <<'EOF'
dialogue=$'EHLO web\r\nMAIL FROM:<app@example.org> RET=HDRS ENVID=E1\r\nRCPT TO:<r1@example.net> NOTIFY=FAILURE ORCPT=rfc822;r1+40example.net\r\nDATA\r\nSubject: bs-one\r\n\r\nx\r\n.\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<r2@example.net>\r\nRCPT TO:<r3@example.net>\r\nDATA\r\nSubject: bs-two\r\n\r\n..y\r\n.\r\nQUIT\r\n'
submit "$MD_A" "$dialogue" -bs
assert_exit 0
out=$(tr -d '\r' <"$T/ns.stdout")
assert_equal "$(printf '%s\n' "$out" | grep -c '^250 2.0.0 Ok: handed to the maildrop as ')" 2
assert_equal "$(printf '%s\n' "$out" | tail -n 1)" "221 2.0.0 $(hostname) closing"
assert_equal "$(maildrop_names | grep -c .)" 2
assert_no_session
md_run root --flush
assert_exit 0
assert_received 2
n=$(msg_with_subject bs-one)
# The system account's sender (no allow_from_override of root's)
assert_equal "$(received_envelope "$n" mail_from)" "$MD_A@example.com"
assert_equal "$(received_envelope "$n" rcpt_tos)" r1@example.net
assert_contains "$(received_envelope "$n" mail_options)" RET=HDRS
assert_contains "$(received_envelope "$n" mail_options)" ENVID=E1
assert_contains "$(received_envelope "$n" rcpt_options)" NOTIFY=FAILURE
assert_contains "$(received_envelope "$n" rcpt_options)" 'ORCPT=rfc822;r1+40example.net'
n=$(msg_with_subject bs-two)
assert_equal "$(received_envelope "$n" rcpt_tos | tr '\n' ' ')" "r2@example.net r3@example.net "
assert_contains "$(received_body "$n")" $'.y\r'
assert_maildrop_empty
EOF
}

# msmtp's way: the setting in the account that "default" inherits from.
# The child account has allow_from_override on exactly as if written in
# it, so the maildrop's "explicitly on" must hold for it too.
@test "allow_from_override on in a parent account counts for the maildrop" {
	start_server
	in_ns <<'EOF'
cat >/var/spool/etc/outboxrc <<EOC
account system
host 127.0.0.1
port $PORT
from %U@example.com
tls off
auth off
allow_from_override on
account default : system
EOC
submit "$MD_A" $'Subject: inherited\n\nx\n' -f evil@example.org r@example.net
assert_exit 0
md_run root --flush
assert_exit 0
assert_received 1
assert_equal "$(received_envelope 1 mail_from)" evil@example.org
EOF
}

# ------------------------------------------------------ users kept apart

# Debian and Ubuntu's msmtp-mta layout: /etc/msmtprc 0640 root:msmtp,
# the group empty. After replacing msmtp-mta with outbox the same file is
# the system configuration: users cannot read it (maildrop), root's flush
# accepts it; once the group has a member, the flush refuses it, naming
# the member, and the entry waits in the maildrop.
@test "the msmtp-mta layout (0640 root:msmtp, empty group) works; a member makes the flush refuse it" {
	start_server
	in_ns <<'EOF'
rm /var/spool/etc/outboxrc
grp=obmd_m$$
groupadd -r "$grp"
trap 'gpasswd -d "$MD_B" "$grp" >/dev/null 2>&1; groupdel "$grp" 2>/dev/null || true' EXIT
printf 'account default\nhost 127.0.0.1\nport %s\nfrom %%U@example.com\ntls off\nauth off\ntimeout 30\npassword root-only-secret\n' "$PORT" >/var/spool/etc/msmtprc
chown root:"$grp" /var/spool/etc/msmtprc
chmod 640 /var/spool/etc/msmtprc
submit "$MD_A" $'Subject: via msmtprc\n\nbody\n' you@example.net
assert_exit 0
md_run root --flush
assert_exit 0
assert_received 1
n=$(msg_with_subject "via msmtprc")
assert_contains "$(cat "$SPOOL/$n.json")" "\"$MD_A@example.com\""
# The group gets a member: the secret is no longer root's alone.
usermod -a -G "$grp" "$MD_B"
submit "$MD_A" $'Subject: second\n\nbody\n' you@example.net
assert_exit 0
md_run root --flush
assert_exit 78
assert_contains "$stderr" "$grp"
assert_contains "$stderr" "$MD_B"
refute_contains "$stderr$output" "root-only-secret"
assert_equal "$(maildrop_names | grep -c .)" 1
assert_received 1
EOF
}

@test "another user can neither read, remove nor list an entry, here or in the system queue" {
	# A stopped server: the flush defers the message into the system queue.
	start_server
	stop_server
	in_ns <<'EOF'
submit "$MD_A" "$MSG" you@example.net
assert_exit 0
name=$(maildrop_names)
entry=$MAILDROP/$name

# B, as any user: the spool is closed to them.
must_fail as_user "$MD_B" ls "$MAILDROP"
must_fail as_user "$MD_B" cat "$entry"
must_fail as_user "$MD_B" rm -f "$entry"
must_fail as_user "$MD_B" mv "$entry" "$MAILDROP/$name-x"
# Even B holding the spool group (what the setgid binary holds): the entry
# is 0600 A's, and the sticky bit keeps B from removing or renaming it.
must_fail setpriv --reuid="$MD_B_UID" --regid="$MD_B_UID" \
	--groups="$(getent group "$MD_GROUP" | cut -d: -f3)" cat "$entry"
must_fail setpriv --reuid="$MD_B_UID" --regid="$MD_B_UID" \
	--groups="$(getent group "$MD_GROUP" | cut -d: -f3)" rm -f "$entry"
must_fail setpriv --reuid="$MD_B_UID" --regid="$MD_B_UID" \
	--groups="$(getent group "$MD_GROUP" | cut -d: -f3)" \
	mv "$entry" "$MAILDROP/20200101T000000Z-0000000000000000"
assert_equal "$(maildrop_names)" "$name"
assert_equal "$(stat -c '%u %a' "$entry")" "$MD_A_UID 600"

md_run "$MD_B" --list-queue
assert_exit 0
assert_contains "$output" \
	"0 message(s) of yours in the maildrop /var/spool/outbox/maildrop"
refute_contains "$output" "$name"
md_run "$MD_A" --list-queue
assert_exit 0
assert_contains "$output" "$name"
assert_contains "$output" \
	"1 message(s) of yours in the maildrop /var/spool/outbox/maildrop"
assert_contains "$output" "to <you@example.net>"
# The same through mailq (argv[0]).
ln -s outbox /var/spool/bin/mailq
status=0
as_user "$MD_A" /var/spool/bin/mailq >"$T/ns.stdout" 2>&1 || status=$?
output=$(cat "$T/ns.stdout")
assert_exit 0
assert_contains "$output" "$name"
status=0
as_user "$MD_B" /var/spool/bin/mailq >"$T/ns.stdout" 2>&1 || status=$?
output=$(cat "$T/ns.stdout")
assert_exit 0
refute_contains "$output" "$name"
assert_contains "$output" \
	"0 message(s) of yours in the system queue /var/spool/outbox"

# The server is down: the message is deferred in the system queue.
md_run root --flush
assert_exit 75
assert_contains "$output" "maildrop $name: from $MD_A (uid $MD_A_UID): queued as "
id=$(printf '%s\n' "$output" | sed -n 's/.*: queued as \([^ ]*\)$/\1/p')
[ -n "$id" ]
[ -e "/var/spool/outbox/$id.msg" ]
assert_maildrop_empty
grep -q -a "^submitter: $MD_A_UID $MD_A\$" "/var/spool/outbox/$id.msg"
# 0640 with the spool's group (listable through the setgid binary), never
# readable by the users themselves.
assert_equal "$(stat -c '%a %U %G' "/var/spool/outbox/$id.msg")" \
	"640 root $MD_GROUP"
must_fail as_user "$MD_A" cat "/var/spool/outbox/$id.msg"
must_fail as_user "$MD_B" cat "/var/spool/outbox/$id.msg"

md_run "$MD_A" --list-queue
assert_exit 0
assert_contains "$output" "$id"
assert_contains "$output" \
	"0 message(s) of yours in the maildrop /var/spool/outbox/maildrop"
assert_contains "$output" \
	"1 message(s) of yours in the system queue /var/spool/outbox"
refute_contains "$output" root-only-secret
md_run "$MD_B" --list-queue
assert_exit 0
refute_contains "$output" "$id"
refute_contains "$output" "$name"
assert_contains "$output" \
	"0 message(s) of yours in the system queue /var/spool/outbox"
EOF
}

# A message the smarthost refuses for good becomes a dead letter in the
# system queue: its submitter still sees it (and why) in mailq, nobody
# else does; dead/ follows the spool's group so that listing works.
@test "a refused maildrop message is a dead letter its submitter can list, and only they" {
	start_server --fault 'rcpt=550 5.1.1 no such user here'
	in_ns <<'EOF'
submit "$MD_A" "$MSG" nobody@example.net
assert_exit 0
md_run root --flush
assert_exit 69
assert_equal "$(stat -c '%a %U %G' /var/spool/outbox/dead)" \
	"750 root $MD_GROUP"
id=$(ls /var/spool/outbox/dead | sed -n 's/\.msg$//p')
[ -n "$id" ]
md_run "$MD_A" --list-queue
assert_exit 0
assert_contains "$output" "$id"
assert_contains "$output" "dead letter"
assert_contains "$output" "550 5.1.1 no such user here"
assert_contains "$output" \
	"1 message(s) of yours in the system queue /var/spool/outbox"
md_run "$MD_B" --list-queue
assert_exit 0
refute_contains "$output" "$id"
must_fail as_user "$MD_A" cat "/var/spool/outbox/dead/$id.msg"
EOF
}

# ------------------------------------------------------ hostile contents

@test "hostile maildrop contents are set aside, never followed or sent; the good entry goes" {
	start_server
	in_ns <<'EOF'
submit "$MD_A" $'Subject: good one\n\ngood body\n' good@example.net
assert_exit 0
good=$(maildrop_names)
# A user's entry naming an account root does not have.
submit "$MD_A" $'Subject: no account\n\nx\n' -a nosuch bad@example.net
assert_exit 0
noacct=$(maildrop_names | grep -vx "$good")

# What root's flush would send if it ever followed or opened a trap: a
# valid entry with a marker, readable by root only, outside the maildrop.
secret=/var/spool/secret-entry
printf 'outbox-maildrop 1\nrcpt: leak@example.net\n\nSubject: leak\n\nSECRET-MARKER\n' \
	>"$secret"
chmod 600 "$secret"

mid() { printf '20261204T%06dZ-%016x' "$1" "$1"; }
ln -s /etc/shadow "$MAILDROP/$(mid 1)"
ln -s "$secret" "$MAILDROP/$(mid 2)"
mkfifo "$MAILDROP/$(mid 3)"
# A second link to a valid entry (the link count is what matters).
cp "$secret" "$MAILDROP/$(mid 4)"
ln "$MAILDROP/$(mid 4)" /var/spool/other-link
mkdir "$MAILDROP/$(mid 5)"
mknod "$MAILDROP/$(mid 6)" c 1 3
: >"$MAILDROP/$(mid 7)"
# 100 MiB of text behind a valid header: over the default
# what any submitter writes (64 MiB), refused for its size before it is read.
{
	printf 'outbox-maildrop 1\nrcpt: big@example.net\n\nSubject: big\n\n'
	yes 'BIG-MARKER line of a message far too large for the maildrop' |
		head -c $((100 * 1024 * 1024))
} >"$MAILDROP/$(mid 8)"
# 100 MiB sparse (NUL bytes after a valid header): refused the same way.
printf 'outbox-maildrop 1\nrcpt: sparse@example.net\n\nSubject: sparse\n\n' \
	>"$MAILDROP/$(mid 11)"
truncate -s 100M "$MAILDROP/$(mid 11)"
head -c 4096 /dev/urandom >"$MAILDROP/$(mid 9)"
printf 'outbox-maildrop 1\nrcpt: x@example.net\nhost: evil.example\n\nSubject: bad header\n\nx\n' \
	>"$MAILDROP/$(mid 10)"
printf 'outbox-maildrop 1\nrcpt: x@example.net\n\nSubject: odd name\n\nx\n' \
	>"$MAILDROP/notes.txt"
for i in 1 2; do chown -h "$MD_A:$MD_A" "$MAILDROP/$(mid $i)"; done
for i in 3 4 5 7 8 9 10 11; do chown "$MD_A:$MD_A" "$MAILDROP/$(mid $i)"; done
chown "$MD_A:$MD_A" "$MAILDROP/notes.txt"

status=0
timeout 20 "$OUTBOX" --flush >"$T/ns.stdout" 2>"$T/ns.stderr" || status=$?
output=$(cat "$T/ns.stdout")
stderr=$(cat "$T/ns.stderr")
LAST_COMMAND="(root) outbox --flush"
assert_exit 65
assert_received 1
assert_equal "$(received_envelope 1 rcpt_tos)" good@example.net
assert_contains "$(received_body 1)" "good body"
assert_contains "$output" "maildrop $good: from $MD_A (uid $MD_A_UID): queued as "
assert_maildrop_empty
# Nothing of the traps reached the server.
shadow_line=$(head -n 1 /etc/shadow)
for f in "$SPOOL"/*.eml "$SPOOL/wire.log"; do
	if grep -q -a -F -e SECRET-MARKER -e BIG-MARKER -e "$shadow_line" \
		"$f"; then
		echo "a trap's content reached the server ($f)" >&2
		exit 1
	fi
done
[ -e "$secret" ]

# reason_of NAME: the .reason set aside for NAME (which must be there).
reason_of() {
	local r
	r=$(grep -l -F "(was $1)" "$DAMAGED"/*.reason) ||
		{ echo "no reason for $1 in $DAMAGED" >&2; ls -la "$DAMAGED" >&2; return 1; }
	cat "$r"
}
check_reason() { # NAME NEEDLE
	local why
	why=$(reason_of "$1")
	assert_contains "$why" "$2"
	# The report line says it too.
	assert_contains "$output" "maildrop $1: set aside in $DAMAGED: "
}
check_reason "$(mid 1)" "symbolic link"
check_reason "$(mid 2)" "symbolic link"
check_reason "$(mid 3)" FIFO
check_reason "$(mid 4)" "2 links"
check_reason "$(mid 5)" directory
check_reason "$(mid 6)" device
check_reason "$(mid 7)" "header"
check_reason "$(mid 8)" "more than the maildrop takes"
check_reason "$(mid 9)" '"outbox-maildrop 1"'
check_reason "$(mid 10)" 'unknown field "host"'
# (the size is judged before a byte is read)
check_reason "$(mid 11)" "more than the maildrop takes"
check_reason notes.txt "not a name"
reason_of "$noacct" | grep -q nosuch ||
	{ echo "the -a nosuch entry's reason does not name the account" >&2; exit 1; }
# Set aside means moved, not followed: the links are still links.
[ -L "$DAMAGED/$(mid 1)" ]
[ -p "$DAMAGED/$(mid 3)" ]
assert_equal "$(ls "$DAMAGED"/*.reason | wc -l)" 13
# The damaged directory is root's alone.
assert_equal "$(stat -c '%U %a' "$DAMAGED")" "root 700"
EOF
}

# ------------------------------------------------------------ crash safety

@test "kill -9 during a submission leaves no entry, and nothing is sent" {
	start_server
	in_ns <<'EOF'
mkfifo "$T/slow.in"
exec 7<>"$T/slow.in"
setpriv --reuid="$MD_A_UID" --regid="$(id -g "$MD_A")" --init-groups \
	env -i HOME=/nonexistent PATH=/usr/bin:/bin \
	OUTBOX_SYSCONFDIR=/var/spool/etc "$OUTBOX" you@example.net \
	<"$T/slow.in" >/dev/null 2>&1 7>&- &
pid=$!
printf 'Subject: half\n\nfirst half of the body\n' >&7
# Wait until the submitter holds its unnamed file in the maildrop.
for i in $(seq 200); do
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$MAILDROP/" && break
	sleep 0.02
done
ls -l "/proc/$pid/fd" | grep "$MAILDROP/" >&2
kill -KILL "$pid"
wait "$pid" || true
exec 7>&-
assert_maildrop_empty
md_run root --flush
assert_exit 0
assert_received 0

# The maildrop still works afterwards.
submit "$MD_A" "$MSG" you@example.net
assert_exit 0
md_run root --flush
assert_exit 0
assert_received 1
assert_maildrop_empty
EOF
}

# ------------------------------------------------------- what is refused

@test "options that cannot be carried, empty or oversized input: refused, nothing written; root never uses the maildrop" {
	start_server
	in_ns <<'EOF'
submit "$MD_A" "$MSG" --tls-trust-file=/x you@example.net
assert_exit 64
assert_contains "$stderr" tls_trust_file
assert_maildrop_empty
submit "$MD_A" "$MSG" -X /tmp/outbox-log you@example.net
assert_exit 64
assert_maildrop_empty
submit "$MD_A" "" you@example.net
assert_exit 65
assert_maildrop_empty
status=0
head -c $((64 * 1024 * 1024 + 1)) /dev/zero | as_user "$MD_A" "$OUTBOX" \
	you@example.net 2>"$T/ns.stderr" || status=$?
stderr=$(cat "$T/ns.stderr")
assert_exit 65
assert_maildrop_empty
md_run root --flush
assert_exit 0
assert_received 0

# With --host the user defines their own account: sent directly.
submit "$MD_A" $'Subject: own host\n\nx\n' --host=127.0.0.1 --port="$PORT" \
	--tls=off -f own@example.net you@example.net
assert_exit 0
assert_maildrop_empty
assert_received 1
assert_equal "$(received_envelope 1 mail_from)" own@example.net

# Root reads the system account and sends at once.
submit root $'Subject: from root\n\nx\n' you@example.net
assert_exit 0
assert_maildrop_empty
assert_received 2
# (%U is the caller's login: root's own, not a submitter's)
[[ "$(received_envelope 2 mail_from)" == *@example.com ]]
refute_contains "$(received_message 2)" "Received: (from"
EOF
}

@test "without a maildrop, a user who cannot read the system account gets an error" {
	start_server
	NO_SPOOL=1 in_ns <<'EOF'
[ ! -e /var/spool/outbox ]
submit "$MD_A" "$MSG" you@example.net
assert_exit 78
assert_contains "$stderr" /var/spool/etc/outboxrc
assert_contains "$stderr" "no maildrop"
assert_no_session
[ ! -e /var/spool/outbox ]
EOF
}

# ------------------------------------------------------------- newaliases

@test "newaliases and sendmail -bi succeed with a one-line note" {
	ln -s "$OUTBOX" "$T/newaliases"
	status=0
	"$T/newaliases" >"$T/out" 2>"$T/err" </dev/null || status=$?
	output=$(cat "$T/out") stderr=$(cat "$T/err")
	assert_exit 0
	assert_equal "$(wc -l <"$T/out")" 1
	[ -n "$output" ]
	run_outbox -bi </dev/null
	assert_exit 0
	assert_equal "$(wc -l <"$T/run.stdout")" 1
	[ -n "$output" ]
}
