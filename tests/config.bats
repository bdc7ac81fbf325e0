#!/usr/bin/env bats
# config.bats - which configuration files are read (outbox's own before
# msmtp's, user over system, -C alone), account selection and inheritance,
# errors that name file and line (78), the permission rule for files that
# hold a password, and --pretend.

load lib

setup() {
	setup_common
	start_server
	MADE_USERS=() MADE_GROUPS=() SHARED=
}

teardown() {
	local name
	for name in "${MADE_USERS[@]}"; do userdel "$name" 2>/dev/null; done
	for name in "${MADE_GROUPS[@]}"; do groupdel "$name" 2>/dev/null; done
	[ -z "$SHARED" ] || rm -rf "$SHARED"
	teardown_common
}

MSG=$'Subject: config\n\nbody\n'

# account_for FROM [LINES...]: an account "default" for the server whose
# envelope sender tells which file or account was used.
account_for() {
	local from=$1 line
	shift
	echo "account default"
	echo "host 127.0.0.1"
	echo "port $PORT"
	echo "from $from"
	for line in "$@"; do printf '%s\n' "$line"; done
}

# send without -C and report which sender the server saw
send_default() {
	send_message "$MSG" "$@" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "~/.msmtprc is used when outbox has no file of its own" {
	account_for msmtprc@example.com | write_config "$HOME/.msmtprc"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" msmtprc@example.com
}

@test "\$XDG_CONFIG_HOME/msmtp/config is used when it is the only file" {
	account_for xdg-msmtp@example.com |
		write_config "$XDG_CONFIG_HOME/msmtp/config"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" xdg-msmtp@example.com
}

@test "~/.msmtprc wins over \$XDG_CONFIG_HOME/msmtp/config (msmtp's order)" {
	account_for msmtprc@example.com | write_config "$HOME/.msmtprc"
	account_for xdg-msmtp@example.com |
		write_config "$XDG_CONFIG_HOME/msmtp/config"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" msmtprc@example.com
}

@test "~/.outboxrc wins over ~/.msmtprc" {
	account_for msmtprc@example.com | write_config "$HOME/.msmtprc"
	account_for outboxrc@example.com | write_config "$HOME/.outboxrc"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" outboxrc@example.com
}

@test "\$XDG_CONFIG_HOME/outbox/config is used and wins over msmtp's files" {
	account_for msmtprc@example.com | write_config "$HOME/.msmtprc"
	account_for xdg-outbox@example.com |
		write_config "$XDG_CONFIG_HOME/outbox/config"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" xdg-outbox@example.com
}

@test "the system file is read from OUTBOX_SYSCONFDIR" {
	account_for system@example.com | write_config "$T/etc/outboxrc"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" system@example.com
}

@test "the system msmtprc is the fallback at system level" {
	account_for system-msmtprc@example.com | write_config "$T/etc/msmtprc"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" \
		system-msmtprc@example.com
}

@test "a user account overrides the system account of the same name" {
	account_for system@example.com | write_config "$T/etc/outboxrc"
	account_for user@example.com | write_config "$HOME/.outboxrc"
	send_default
	assert_equal "$(received_envelope 1 mail_from)" user@example.com
}

@test "-C reads that file only" {
	account_for system@example.com | write_config "$T/etc/outboxrc"
	account_for user@example.com | write_config "$HOME/.outboxrc"
	account_for explicit@example.com | write_config "$T/explicit.rc"
	send_default -C "$T/explicit.rc"
	assert_equal "$(received_envelope 1 mail_from)" explicit@example.com
}

@test "-C with a missing file is a configuration error" {
	send_message "$MSG" -C "$T/does-not-exist" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/does-not-exist"
	assert_no_session
}

@test "no configuration at all and no --host -> 78 before connecting" {
	send_message "$MSG" rcpt@example.com
	assert_exit 78
	assert_no_session
}

@test "--host alone needs no configuration file" {
	send_message "$MSG" --host=127.0.0.1 --port="$PORT" \
		-f cli@example.com rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" cli@example.com
}

@test "-a selects an account; without it 'default' is used" {
	write_config "$T/cfg" <<-EOF
	defaults
	host 127.0.0.1
	port $PORT
	account first
	from first@example.com
	account second
	from second@example.com
	account default : first
	EOF
	send_message "$MSG" -C "$T/cfg" -a second rcpt@example.com
	assert_exit 0
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 2
	assert_equal "$(received_envelope 1 mail_from)" second@example.com
	assert_equal "$(received_envelope 2 mail_from)" first@example.com
}

@test "-f user+detail@domain selects the account of user@domain, as msmtp 1.8.12+" {
	# As in msmtp, accounts are tried in file order; each matches its own
	# from, or (when that has no '+') the address without its detail.
	write_config "$T/cfg" <<-EOF
	defaults
	host 127.0.0.1
	port $PORT
	account other
	from other@example.com
	domain other.example
	account tagged
	from joe+lists@example.org
	domain tagged.example
	account joe
	from joe@example.org
	domain joe.example
	account default : other
	EOF
	send_message "$MSG" -C "$T/cfg" -f joe+tag@example.org rcpt@example.com
	assert_exit 0
	send_message "$MSG" -C "$T/cfg" -f JOE@Example.ORG rcpt@example.com
	assert_exit 0
	send_message "$MSG" -C "$T/cfg" -f joe+lists@example.org rcpt@example.com
	assert_exit 0
	send_message "$MSG" -C "$T/cfg" -f joe+tag@example.net rcpt@example.com
	assert_exit 0
	assert_received 4
	assert_equal "$(received_envelope 1 helo)" joe.example
	assert_equal "$(received_envelope 1 mail_from)" joe+tag@example.org
	assert_equal "$(received_envelope 2 helo)" joe.example
	assert_equal "$(received_envelope 3 helo)" tagged.example
	assert_equal "$(received_envelope 4 helo)" other.example
}

@test "-a with an unknown account -> 78 naming it" {
	account_for a@example.com | write_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" -a nosuch rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" nosuch
	assert_no_session
}

@test "inheritance: account CHILD : PARENT, defaults, account default : NAME" {
	write_config "$T/cfg" <<-EOF
	# comments and blank lines are fine

	defaults
	port $PORT
	domain defaults.example

	account base
	host 127.0.0.1
	from base@example.com

	account child : base
	from child@example.com
	domain child.example

	account default : child
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 mail_from)" child@example.com
	assert_equal "$(received_envelope 1 helo)" child.example
	send_message "$MSG" -C "$T/cfg" -a base rcpt@example.com
	assert_exit 0
	assert_equal "$(received_envelope 2 mail_from)" base@example.com
	assert_equal "$(received_envelope 2 helo)" defaults.example
}

@test "-f chooses the account whose from matches (wildcards too)" {
	write_config "$T/cfg" <<-EOF
	defaults
	host 127.0.0.1
	port $PORT
	account one
	from one@example.com
	domain one.example
	account two
	from *@two.example
	domain two.example
	account default : one
	EOF
	send_message "$MSG" -C "$T/cfg" -f someone@two.example rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 helo)" two.example
	assert_equal "$(received_envelope 1 mail_from)" someone@two.example
}

@test "--read-envelope-from chooses the account of the From header" {
	write_config "$T/cfg" <<-EOF
	defaults
	host 127.0.0.1
	port $PORT
	account one
	from one@example.com
	domain one.example
	account two
	from two@example.com
	domain two.example
	account default : one
	EOF
	send_message $'From: Two <two@example.com>\nSubject: x\n\nbody\n' \
		-C "$T/cfg" --read-envelope-from rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 helo)" two.example
	assert_equal "$(received_envelope 1 mail_from)" two@example.com
}

@test "command-line options override the account's settings" {
	account_for a@example.com "domain file.example" | write_config "$T/cfg"
	send_message "$MSG" -C "$T/cfg" --domain=cli.example rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 helo)" cli.example
}

@test "an unknown directive -> 78 naming file and line" {
	write_config "$T/cfg" <<-EOF
	account default
	host 127.0.0.1
	bogus_directive yes
	port $PORT
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg:3"
	assert_contains "$stderr" bogus_directive
	assert_no_session
}

@test "an invalid value -> 78 naming file and line" {
	write_config "$T/cfg" <<-EOF
	account default
	host 127.0.0.1

	port not-a-number
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg:4"
	assert_no_session
}

@test "an eval that hangs is stopped at the timeout -> 78 naming file and line" {
	# the command's text (which may hold a secret) is never repeated
	write_config "$T/cfg" <<-EOF
	account default
	host 127.0.0.1
	port $PORT
	timeout 1
	eval sleep 30 & echo \$! > $T/pid; sleep 30; echo from x@example.com # Tok-9z
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg:5: eval command timed out after 1 s"
	refute_contains "$stderr" "Tok-9z"
	refute_contains "$stderr" "sleep 30"
	assert_elapsed_below 2000
	assert_no_session
	# what the command started went with it
	assert_process_gone "$(cat "$T/pid")"
}

@test "inheriting from an undefined account -> 78 naming file and line" {
	write_config "$T/cfg" <<-EOF
	account default : nowhere
	host 127.0.0.1
	EOF
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg:1"
	assert_contains "$stderr" nowhere
	assert_no_session
}

@test "a file holding a password readable by others is refused (78), even for root" {
	account_for a@example.com "auth plain" "user me" "password s3cret" \
		| write_config "$T/cfg"
	chmod 644 "$T/cfg"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg"
	refute_contains "$stderr" s3cret
	assert_no_session
	# group-writable: refused whoever is in the group
	chmod 660 "$T/cfg"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "run chmod 600 $T/cfg"
}

@test "a ~/.msmtprc holding a password must be private too" {
	account_for a@example.com "auth plain" "user me" "password s3cret" \
		| write_config "$HOME/.msmtprc"
	chmod 604 "$HOME/.msmtprc"
	send_message "$MSG" rcpt@example.com
	assert_exit 78
	assert_no_session
}

@test "a file without secrets may be world-readable" {
	account_for a@example.com | write_config "$T/cfg"
	chmod 644 "$T/cfg"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "--pretend shows the settings (host, port) and masks the password" {
	account_for a@example.com "auth plain" "user me" \
		"password pretend-secret-123" | write_config "$T/cfg"
	run_outbox -C "$T/cfg" --pretend </dev/null
	assert_exit 0
	assert_contains "$output" "host = 127.0.0.1"
	assert_contains "$output" "port = $PORT"
	assert_contains "$output" "from = a@example.com"
	assert_contains "$output" "user = me"
	assert_contains "$output" "$T/cfg"
	refute_contains "$output$stderr" pretend-secret-123
	assert_no_session
}

@test "a 100 KB password line parses and never shows up in --pretend" {
	local secret
	secret=$("$PYTHON" -c 'print("Pw" + "x7Q" * 34133)')
	account_for a@example.com "auth plain" "user me" "password $secret" \
		| write_config "$T/cfg"
	[ "$(wc -c <"$T/cfg")" -gt 102400 ]
	run_outbox -C "$T/cfg" --pretend </dev/null
	assert_exit 0
	assert_contains "$output" "host = 127.0.0.1"
	assert_contains "$output" "password = *"
	refute_contains "$output$stderr" "x7Qx7Qx7Q"
	assert_no_session
}

# ------------------------------------------- other users (issue 10; as root)
#
# These run outbox as a throwaway user (useradd, removed in teardown), so
# they need root. What that user must reach lives in SHARED, a fresh
# directory under /tmp with mode 755 (this clone, and $T, may be under a
# directory the user cannot enter): the binary, the system configuration
# directory, a TMPDIR.

# need_root: skip unless root with useradd and setpriv.
need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (useradd, setpriv)"
	command -v useradd >/dev/null && command -v setpriv >/dev/null ||
		skip "needs useradd and setpriv"
}

# shared_dir: make SHARED (bin/outbox, etc/, tmp/) and point
# OUTBOX_SYSCONFDIR at SHARED/etc.
shared_dir() {
	SHARED=$(mktemp -d /tmp/outbox-config-test.XXXXXX)
	chmod 755 "$SHARED"
	mkdir -m 755 "$SHARED/bin" "$SHARED/etc"
	mkdir -m 1777 "$SHARED/tmp"
	cp "$OUTBOX" "$SHARED/bin/outbox"
	chmod 755 "$SHARED/bin/outbox"
	export OUTBOX_SYSCONFDIR=$SHARED/etc
}

# make_group VAR: a new empty group; its name into VAR.
make_group() {
	local name=obg$$x$RANDOM
	groupadd "$name"
	MADE_GROUPS+=("$name")
	printf -v "$1" %s "$name"
}

# make_user VAR [USERADD ARGS...]: a new user (home SHARED/NAME, not
# created; /nonexistent/NAME without SHARED) with a group of its own
# unless ARGS give one; its name into VAR.
make_user() {
	local var=$1 name=obu$$x$RANDOM
	shift
	useradd -M -d "${SHARED:-/nonexistent}/$name" -s /bin/sh "$@" "$name"
	MADE_USERS+=("$name")
	MADE_GROUPS+=("$name")
	printf -v "$var" %s "$name"
}

# run_as USER [VAR=VALUE...] -- [ARGS...]: SHARED's outbox as USER (its
# ids and groups), from /, with stdin /dev/null, in the environment of the
# test without XDG_CONFIG_HOME (it names $T) plus the given variables;
# sets status, output, stderr as run_outbox.
run_as() {
	local user=$1 vars=()
	shift
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	status=0
	(cd / && exec timeout --kill-after=5 "${OUTBOX_TEST_TIMEOUT:-60}" \
		setpriv --reuid="$user" --regid="$user" --init-groups \
		env -u XDG_CONFIG_HOME TMPDIR="$SHARED/tmp" "${vars[@]}" "$SHARED/bin/outbox" "$@" \
		</dev/null) >"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	output=$(cat "$T/run.stdout")
	stderr=$(cat "$T/run.stderr")
	LAST_COMMAND="(as $user ${vars[*]}) outbox $*"
}

@test "a user with HOME=/root (cron, su) uses the system file, not root's" {
	need_root
	shared_dir
	make_user u
	account_for system@example.com >"$SHARED/etc/outboxrc"
	chmod 644 "$SHARED/etc/outboxrc"
	run_as "$u" HOME=/root XDG_CONFIG_HOME=/root/.config -- --pretend
	assert_exit 0
	assert_contains "$output" \
		"loaded configuration file $SHARED/etc/outboxrc"
	assert_contains "$output" "from = system@example.com"
	# /root belongs to root: it is not looked into at all
	refute_contains "$stderr" /root
}

@test "a user with HOME=/root gets the config of their own home" {
	need_root
	shared_dir
	make_user u
	account_for system@example.com >"$SHARED/etc/outboxrc"
	chmod 644 "$SHARED/etc/outboxrc"
	install -d -m 700 -o "$u" -g "$u" "$SHARED/$u"
	account_for own@example.com "auth plain" "user me" "password s3cret" \
		>"$SHARED/$u/.outboxrc"
	chown "$u:$u" "$SHARED/$u/.outboxrc"
	chmod 600 "$SHARED/$u/.outboxrc"
	run_as "$u" HOME=/root -- --pretend
	assert_exit 0
	assert_contains "$output" \
		"loaded configuration file $SHARED/$u/.outboxrc"
	assert_contains "$output" "from = own@example.com"
	assert_equal "$stderr" ""
}

@test "a user file that cannot be read is skipped with one warning" {
	need_root
	shared_dir
	make_user u
	account_for system@example.com >"$SHARED/etc/outboxrc"
	chmod 644 "$SHARED/etc/outboxrc"
	# HOME is the user's, but a parent directory is not searchable:
	# none of the four candidates can be examined, one line says why
	install -d -m 700 "$SHARED/locked"
	install -d -m 700 -o "$u" "$SHARED/locked/home"
	run_as "$u" HOME="$SHARED/locked/home" -- --pretend
	assert_exit 0
	assert_contains "$output" "from = system@example.com"
	assert_equal "$stderr" "outbox: ignoring $SHARED/locked/home/.config/outbox/config: Permission denied (no search permission on $SHARED/locked)"
	# a candidate the user may not read (another user's file in their
	# home) is skipped too, and the next one is used
	install -d -m 755 -o "$u" "$SHARED/$u"
	account_for planted@example.com >"$SHARED/$u/.outboxrc"
	chmod 600 "$SHARED/$u/.outboxrc"
	account_for msmtprc@example.com >"$SHARED/$u/.msmtprc"
	chown "$u" "$SHARED/$u/.msmtprc"
	run_as "$u" HOME="$SHARED/$u" -- --pretend
	assert_exit 0
	assert_contains "$output" "from = msmtprc@example.com"
	assert_equal "$stderr" \
		"outbox: ignoring $SHARED/$u/.outboxrc: Permission denied"
}

@test "-C on a file the user cannot read -> 78 naming it" {
	need_root
	shared_dir
	make_user u
	account_for a@example.com >"$SHARED/etc/private.rc"
	chmod 600 "$SHARED/etc/private.rc"
	run_as "$u" HOME=/nonexistent -- -C "$SHARED/etc/private.rc" --pretend
	assert_exit 78
	assert_contains "$stderr" \
		"cannot read $SHARED/etc/private.rc: Permission denied"
}

@test "a system file the user cannot read is skipped without a word" {
	need_root
	shared_dir
	make_user u
	account_for system@example.com "auth plain" "user me" \
		"password s3cret" >"$SHARED/etc/outboxrc"
	chmod 600 "$SHARED/etc/outboxrc"
	run_as "$u" HOME=/nonexistent -- --pretend
	# no account at all: the caller's error, not one about the file
	assert_exit 78
	refute_contains "$stderr" "$SHARED/etc/outboxrc"
	refute_contains "$stderr" "Permission denied"
	refute_contains "$stderr" s3cret
}

@test "a password file 0640 whose group holds nobody else is accepted (Debian's msmtprc)" {
	need_root
	make_group g
	account_for a@example.com "auth plain" "user me" "password s3cret" \
		| write_config "$T/etc/msmtprc"
	chown "root:$g" "$T/etc/msmtprc"
	chmod 640 "$T/etc/msmtprc"
	run_outbox --pretend </dev/null
	assert_exit 0
	assert_contains "$output" "loaded configuration file $T/etc/msmtprc"
	refute_contains "$output$stderr" s3cret
	# the same file with -C
	run_outbox -C "$T/etc/msmtprc" --pretend </dev/null
	assert_exit 0
}

@test "a password file 0640 whose group has a member -> 78 naming group and member" {
	need_root
	make_group g
	make_user member -G "$g"
	account_for a@example.com "auth plain" "user me" "password s3cret" \
		| write_config "$T/cfg"
	chown "root:$g" "$T/cfg"
	chmod 640 "$T/cfg"
	send_message "$MSG" -C "$T/cfg" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/cfg: contains a password and is readable by group $g, whose member $member can read it; run chmod 600 $T/cfg, or remove $member from the group"
	refute_contains "$stderr" s3cret
	assert_no_session
	# a user whose primary group it is counts as well
	make_user primary -g "$g"
	run_outbox -C "$T/cfg" --pretend </dev/null
	assert_exit 78
	assert_contains "$stderr" "group $g, whose members"
	assert_contains "$stderr" "$member"
	assert_contains "$stderr" "$primary"
	# others may read it: refused as ever, whatever the group
	chmod 644 "$T/cfg"
	chgrp root "$T/cfg"
	run_outbox -C "$T/cfg" --pretend </dev/null
	assert_exit 78
	assert_contains "$stderr" "readable by group or others; run chmod 600"
}
