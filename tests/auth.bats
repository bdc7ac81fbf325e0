#!/usr/bin/env bats
# auth.bats - SMTP AUTH through the binary: mechanism choice, every
# mechanism against the test server, refusals and their exit codes, the
# password sources, and security invariant 3: the password (in any
# encoding) never shows in the debug trace, the messages or the log.

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: auth\n\nbody\n'
AUTH_USER=joe
AUTH_PW='Pw-s3cret-Xq7'
ALL_MECHS=PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256,XOAUTH2,OAUTHBEARER

setup_file() { make_certs; }

b64() { printf "$1" "${@:2}" | base64 -w0; }

# The password must appear nowhere the user (or a log reader) can see it:
# stdout, stderr (with -v: the whole SMTP conversation), the logfile.
assert_no_secret() {
	local where needle
	where="$output"$'\n'"$stderr"$'\n'"$(cat "$T/log" 2>/dev/null)"
	for needle in "$AUTH_PW" "$(b64 '%s' "$AUTH_PW")" \
		"$(b64 '\0%s\0%s' "$AUTH_USER" "$AUTH_PW")" \
		"$(b64 'user=%s\001auth=Bearer %s\001\001' "$AUTH_USER" "$AUTH_PW")"; do
		if [[ "$where" == *"$needle"* ]]; then
			echo "secret found in the output: $needle" >&2
			show_context
			return 1
		fi
	done
}

# A STARTTLS server that authenticates joe with mechanisms $1.
start_auth_server() {
	local mechs=$1
	shift
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY" \
		--auth-user "$AUTH_USER" --auth-password "$AUTH_PW" \
		--auth-mechs "$mechs" --auth-required "$@"
}

# Account over STARTTLS with the given extra lines.
auth_config() {
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"logfile $T/log" "user $AUTH_USER" "$@"
}

send_v() {
	send_message "$MSG" -C "$T/rc" -v rcpt@example.com
}

assert_auth_used() { # MECHANISM
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 auth.mechanism)" "$1"
	assert_equal "$(received_envelope 1 auth.login)" "$AUTH_USER"
	assert_no_secret
}

@test "auth on picks PLAIN over LOGIN" {
	start_auth_server PLAIN,LOGIN
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_auth_used PLAIN
	# the trace shows the AUTH command, redacted
	assert_contains "$stderr" "AUTH PLAIN <redacted>"
}

@test "auth on picks the strongest method both sides support" {
	start_auth_server "$ALL_MECHS"
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_auth_used SCRAM-SHA-256
	start_auth_server PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-1
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_auth_used SCRAM-SHA-1
	start_auth_server PLAIN,LOGIN,CRAM-MD5
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_auth_used CRAM-MD5
}

@test "every mechanism, named explicitly, authenticates" {
	local m
	for m in plain login cram-md5 scram-sha-1 scram-sha-256 xoauth2 \
		oauthbearer; do
		start_auth_server "$ALL_MECHS"
		auth_config "auth $m" "password $AUTH_PW"
		send_v
		assert_auth_used "${m^^}"
		# continuation lines are redacted too
		refute_contains "$stderr" "$(b64 '%s' "$AUTH_USER")"
		stop_server
	done
}

@test "EXTERNAL with a client certificate under auth on" {
	start_auth_server "PLAIN,EXTERNAL" --client-ca "$CA_CERT"
	auth_config "auth on" "tls_cert_file $CLIENT_CERT" \
		"tls_key_file $CLIENT_KEY"
	send_v
	assert_exit 0
	assert_equal "$(received_envelope 1 auth.mechanism)" EXTERNAL
}

@test "a wrong password is refused with 77 and no mail is sent" {
	local m
	for m in plain login cram-md5 scram-sha-256 xoauth2 oauthbearer; do
		start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY" \
			--auth-user "$AUTH_USER" --auth-password other-password \
			--auth-mechs "$ALL_MECHS" --auth-required
		auth_config "auth $m" "password $AUTH_PW"
		send_v
		assert_exit 77
		assert_contains "$stderr" "authentication with ${m^^}"
		assert_contains "$stderr" "535"
		assert_received 0
		refute_contains "$(sessions_log)" "MAIL:"
		assert_no_secret
		stop_server
	done
}

@test "AUTH answered 454 is a temporary failure (75)" {
	start_auth_server PLAIN --fault 'auth=454 4.7.0 Temporary authentication failure'
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_exit 75
	assert_contains "$stderr" "454"
	assert_received 0
	assert_no_secret
}

@test "after a 454 to AUTH the session still ends with QUIT (RFC 5321 4.1.1.10)" {
	start_auth_server PLAIN --fault 'auth=454 4.7.0 Temporary authentication failure'
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_exit 75
	assert_contains "$stderr" "--> QUIT"
	wait_sessions_closed
	[[ "$(sessions_log)" == *" AUTH:454 QUIT:221 CLOSE" ]] ||
		{ echo "sessions: $(sessions_log)" >&2; false; }
	assert_no_secret
}

@test "a server echoing the credentials in its refusal does not leak them" {
	local echoed
	echoed=$(b64 '\0%s\0%s' "$AUTH_USER" "$AUTH_PW")
	start_auth_server PLAIN --fault "auth=535 5.7.8 bad credentials $echoed"
	auth_config "auth plain" "password $AUTH_PW"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "<redacted>"
	assert_no_secret
}

@test "only PLAIN offered on a clear connection: 77, the password never sent" {
	start_server --auth-user "$AUTH_USER" --auth-password "$AUTH_PW" \
		--auth-mechs PLAIN,LOGIN --auth-allow-plaintext
	server_config "$T/rc" "logfile $T/log" "auth on" "user $AUTH_USER" \
		"passwordeval touch $T/eval-ran; echo $AUTH_PW"
	send_v
	assert_exit 77
	assert_contains "$stderr" "not encrypted"
	refute_contains "$(wire_log)" "AUTH"
	assert_received 0
	# the password was not even looked up
	[ ! -e "$T/eval-ran" ]
	assert_no_secret
}

@test "a method named explicitly on a clear connection works, with a warning" {
	start_server --auth-user "$AUTH_USER" --auth-password "$AUTH_PW" \
		--auth-mechs PLAIN --auth-allow-plaintext
	server_config "$T/rc" "logfile $T/log" "auth plain" "user $AUTH_USER" \
		"password $AUTH_PW"
	send_v
	assert_exit 0
	assert_contains "$stderr" "unencrypted"
	assert_equal "$(received_envelope 1 auth.mechanism)" PLAIN
	assert_no_secret
}

@test "CRAM-MD5 is used on a clear connection under auth on" {
	start_server --auth-user "$AUTH_USER" --auth-password "$AUTH_PW" \
		--auth-mechs PLAIN,CRAM-MD5 --auth-allow-plaintext
	server_config "$T/rc" "logfile $T/log" "auth on" "user $AUTH_USER" \
		"password $AUTH_PW"
	send_v
	assert_auth_used CRAM-MD5
}

@test "no AUTH announced with auth on: 69, and passwordeval never runs" {
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY"
	auth_config "auth on" "passwordeval touch $T/eval-ran; echo x"
	send_v
	assert_exit 69
	assert_contains "$stderr" "does not support authentication"
	[ ! -e "$T/eval-ran" ]
	assert_received 0
}

@test "passwordeval supplies the password" {
	start_auth_server PLAIN,LOGIN
	auth_config "auth login" "passwordeval printf '%s\\n' '$AUTH_PW'"
	send_v
	assert_auth_used LOGIN
}

@test "a failing passwordeval is an error and no AUTH is attempted" {
	start_auth_server PLAIN,LOGIN
	auth_config "auth on" "passwordeval exit 3"
	send_v
	assert_exit 78
	assert_contains "$stderr" "passwordeval command failed with exit status 3"
	refute_contains "$stderr" "exit 3'"
	refute_contains "$(wire_log)" "AUTH"
	assert_received 0
}

@test "a passwordeval that hangs is stopped at the account's timeout, group and all" {
	start_auth_server PLAIN,LOGIN
	# the command's text (which may hold a secret) is never repeated
	auth_config "auth on" "timeout 1" \
		"passwordeval sleep 30 & echo \$! > $T/pid; sleep 30 # Tok-9z"
	send_v
	assert_exit 78
	assert_contains "$stderr" "passwordeval command timed out after 1 s"
	refute_contains "$stderr" "Tok-9z"
	refute_contains "$stderr" "sleep 30"
	assert_elapsed_below 2000
	refute_contains "$(wire_log)" "AUTH"
	assert_received 0
	# what the command started went with it
	assert_process_gone "$(cat "$T/pid")"
}

@test "the password comes from ~/.netrc" {
	start_auth_server PLAIN
	printf 'machine 127.0.0.1 login %s password %s\n' "$AUTH_USER" \
		"$AUTH_PW" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	auth_config "auth on"
	send_v
	assert_auth_used PLAIN
}

@test "a ~/.netrc others can read is ignored, and the error says so" {
	start_auth_server PLAIN
	printf 'machine 127.0.0.1 login %s password %s\n' "$AUTH_USER" \
		"$AUTH_PW" >"$HOME/.netrc"
	chmod 644 "$HOME/.netrc"
	auth_config "auth on"
	# setsid: no controlling terminal, so no prompt
	OUTBOX_REAL=$OUTBOX
	printf '%s' "$MSG" >"$T/message.in"
	status=0
	setsid -w "$OUTBOX_REAL" -C "$T/rc" -v rcpt@example.com \
		<"$T/message.in" >"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	output=$(cat "$T/run.stdout")
	stderr=$(cat "$T/run.stderr")
	assert_exit 78
	assert_contains "$stderr" "no password for joe at 127.0.0.1"
	assert_contains "$stderr" ".netrc was ignored"
	refute_contains "$(wire_log)" "AUTH"
	assert_no_secret
}

@test "auth on without a user is a configuration error" {
	start_auth_server PLAIN
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"password $AUTH_PW"
	send_v
	assert_exit 78
	assert_contains "$stderr" "user"
	refute_contains "$(wire_log)" "AUTH"
}

@test "a method the server does not offer: 69" {
	start_auth_server PLAIN,LOGIN
	auth_config "auth scram-sha-256" "password $AUTH_PW"
	send_v
	assert_exit 69
	assert_contains "$stderr" "does not offer authentication method SCRAM-SHA-256"
	refute_contains "$(wire_log)" "AUTH"
}

@test "an unknown method name is a configuration error" {
	start_auth_server PLAIN
	auth_config "auth gssapi" "password $AUTH_PW"
	send_v
	assert_exit 78
}

# Run outbox inside a private D-Bus session (dbus-run-session); with
# KEYRING=yes a gnome-keyring Secret Service holding joe's password for
# 127.0.0.1 (stored as msmtp documents it, with secret-tool) runs there.
run_in_dbus_session() {
	command -v dbus-run-session >/dev/null || skip "dbus-run-session missing"
	if [ "${KEYRING:-no}" = yes ]; then
		command -v gnome-keyring-daemon >/dev/null &&
			command -v secret-tool >/dev/null ||
			skip "gnome-keyring and libsecret-tools are not installed"
	fi
	"$OUTBOX" --version | grep -q "libsecret.*: available" ||
		skip "built without libsecret, or libsecret-1-0 is not installed"
	printf '%s' "$MSG" >"$T/message.in"
	cat >"$T/session.sh" <<EOS
if [ "${KEYRING:-no}" = yes ]; then
	printf unlock | gnome-keyring-daemon --unlock --components=secrets \
		>/dev/null 2>&1
	printf '%s' '$AUTH_PW' | secret-tool store --label=msmtp \
		host 127.0.0.1 service smtp user $AUTH_USER
fi
"$OUTBOX" -C "$T/rc" -v rcpt@example.com <"$T/message.in" \
	>"$T/run.stdout" 2>"$T/run.stderr"
echo \$? >"$T/status"
EOS
	local start end
	start=$(date +%s%N)
	timeout 60 dbus-run-session -- bash "$T/session.sh" >/dev/null 2>&1 || true
	end=$(date +%s%N)
	elapsed_ms=$(((end - start) / 1000000))
	status=$(cat "$T/status")
	output=$(cat "$T/run.stdout")
	stderr=$(cat "$T/run.stderr")
}

@test "the password comes from the keyring (secret-tool, msmtp's attributes)" {
	start_auth_server PLAIN
	auth_config "auth on"
	KEYRING=yes run_in_dbus_session
	assert_auth_used PLAIN
}

# Make $OUTBOX a wrapper that runs the binary under strace, recording
# every file it opens (the dynamic loader's and dlopen's included) in
# $T/opened.
trace_opens() {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot run under ptrace (the sanitizer build).
	cat >"$T/traced" <<EOS
#!/bin/sh
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
exec strace -f -qq -o "$T/opened" -e trace=openat "$OUTBOX" "\$@"
EOS
	chmod +x "$T/traced"
	OUTBOX=$T/traced
}

# The names of the shared objects the traced run opened.
opened_libraries() {
	grep -v ENOENT "$T/opened" | grep -o '[^/"]*\.so[.0-9]*' | sort -u
}

# Performance budget: libsecret and its glib stack are loaded (dlopen)
# only when the keyring must be asked, so ordinary sends never map them.
@test "a send that does not ask the keyring maps neither libsecret nor glib" {
	start_auth_server PLAIN
	trace_opens
	# the password from the configuration
	auth_config "auth on" "password $AUTH_PW"
	send_v
	assert_auth_used PLAIN
	assert_contains "$(opened_libraries)" libgnutls.so
	refute_contains "$(opened_libraries)" libsecret
	refute_contains "$(opened_libraries)" libglib
	# from ~/.netrc, without a session bus (cron, systemd services)
	printf 'machine 127.0.0.1 login %s password %s\n' "$AUTH_USER" \
		"$AUTH_PW" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	auth_config "auth on"
	send_v
	assert_exit 0
	refute_contains "$(opened_libraries)" libsecret
	refute_contains "$(opened_libraries)" libglib
	# from the configuration inside a session bus: still not loaded
	auth_config "auth on" "password $AUTH_PW"
	KEYRING=no run_in_dbus_session
	assert_exit 0
	assert_contains "$(opened_libraries)" libgnutls.so
	refute_contains "$(opened_libraries)" libsecret
	refute_contains "$(opened_libraries)" libglib
}

@test "a send that asks the keyring loads libsecret then" {
	start_auth_server PLAIN
	auth_config "auth on"
	trace_opens
	KEYRING=yes run_in_dbus_session
	assert_auth_used PLAIN
	assert_contains "$(opened_libraries)" libsecret-1.so.0
	assert_contains "$(opened_libraries)" libglib-2.0.so.0
}

@test "a session bus without a Secret Service falls through silently" {
	start_auth_server PLAIN
	printf 'machine 127.0.0.1 login %s password %s\n' "$AUTH_USER" \
		"$AUTH_PW" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	auth_config "auth on"
	KEYRING=no run_in_dbus_session
	assert_auth_used PLAIN
	refute_contains "$stderr" "ecret"
	assert_elapsed_below 10000
}

@test "with a terminal and no other source, the password is asked for" {
	start_auth_server PLAIN
	auth_config "auth on"
	printf '%s' "$MSG" >"$T/message.in"
	# A pseudo-terminal becomes outbox's controlling terminal; the
	# message still comes from standard input.
	"$PYTHON" - "$OUTBOX" "$T/rc" "$T/message.in" "$AUTH_PW" \
		>"$T/tty.out" 2>&1 <<'PY'
import os, pty, select, sys, time
outbox, rc, msg, password = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.dup2(os.open(msg, os.O_RDONLY), 0)
    os.execv(outbox, [outbox, "-C", rc, "rcpt@example.com"])
seen = b""
deadline = time.time() + 20
answered = False
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not answered and b"password for joe at 127.0.0.1: " in seen:
        os.write(fd, password.encode() + b"\n")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
sys.stdout.write("\nEXIT %d\n" % os.waitstatus_to_exitcode(status))
PY
	local out
	out=$(cat "$T/tty.out")
	assert_contains "$out" "password for joe at 127.0.0.1: "
	assert_contains "$out" "EXIT 0"
	# echo was off: what was typed never appeared on the terminal
	refute_contains "$out" "$AUTH_PW"
	assert_equal "$(received_envelope 1 auth.mechanism)" PLAIN
}
