# tests/lib.bash - shared helpers for outbox's bats suites.
#
# Use it with `load lib` at the top of a tests/*.bats file. It defines
# default setup/teardown functions; a suite that needs its own must call
# setup_common / teardown_common from them:
#
#   load lib
#   setup_file() { make_certs; }          # optional, once per file
#   setup() { setup_common; start_server --starttls --cert "$SERVER_CERT" \
#                                        --key "$SERVER_KEY"; }
#
# ENVIRONMENT (setup_common)
#   T              a fresh directory per test ($BATS_TEST_TMPDIR/t)
#   HOME=$T/home, XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME,
#   XDG_CACHE_HOME, XDG_RUNTIME_DIR under it, TMPDIR=$T/tmp: no user file
#   leaks in; OUTBOX_SYSCONFDIR=$T/etc so /etc is never read (empty dir).
#   USER=LOGNAME=outboxtest; EMAIL, SMTPSERVER, DBUS_SESSION_BUS_ADDRESS
#   (no real keyring) and friends unset; LC_ALL=C.UTF-8.
#   OUTBOX         the binary (default: ./outbox of this tree; set OUTBOX in
#                  the environment to run the suites against another build,
#                  e.g. OUTBOX=/usr/bin/msmtp to compare).
#   PYTHON         /usr/bin/python3 (Debian's, with aiosmtpd and dkim).
#
# SERVERS (tests/servers/smtpd.py; its header documents every option)
#   start_server [ARGS...]   start a server on loopback, wait (<= 10 s) for
#                  its port; sets PORT, SPOOL (its spool dir), SERVER_PID.
#                  Several servers per test are fine: each call sets the
#                  variables to the newest one; all are stopped by
#                  teardown_common, and each exits by itself when the test
#                  process dies. Call it in the test's own shell (not in
#                  $(...), a pipeline or `run`): that shell is watched.
#                  Servers are forked from a per-file preloaded smtpd.py
#                  (fast); OUTBOX_TEST_NO_ZYGOTE=1 starts fresh processes.
#   stop_server [PID]        stop one (default $SERVER_PID) and wait until it
#                  is gone (SIGTERM, SIGKILL after 3 s): its port is free.
#   server_config FILE [LINE...]  write (mode 600) an account "test" for the
#                  current server, made the default: host 127.0.0.1, port
#                  $PORT, from sender@example.com, tls off, auth off,
#                  timeout 5, then each LINE as one more directive line.
#   write_config FILE <<EOF  write stdin to FILE, mode 600.
#
# RUNNING OUTBOX
#   run_outbox [ARGS...] [<input]   run $OUTBOX (bounded by
#                  OUTBOX_TEST_TIMEOUT, default 60 s) with the caller's
#                  stdin; sets status, output (stdout), stderr, elapsed_ms.
#                  Never fails by itself (use assert_exit).
#   send_message TEXT [ARGS...]     run_outbox ARGS with TEXT (printf %s,
#                  exact bytes) as stdin.
#   assert_exit CODE         $status must be CODE; otherwise print the
#                  command, stdout, stderr and the server's transcript.
#   assert_elapsed_below MS  elapsed_ms of the last run_outbox < MS.
#   assert_contains TEXT NEEDLE / refute_contains TEXT NEEDLE   fixed-string
#                  search; the failure message shows both.
#   assert_equal ACTUAL EXPECTED
#   show_context             print the last run and the server's view
#                  (what assert_exit prints on failure), for own asserts.
#
# WHAT THE SERVER SAW (of the current $SPOOL, or SPOOL=... to choose)
#   received_count            messages accepted
#   assert_received N         received_count must be N (prints context)
#   received_message N        bytes of message N (1-based) as delivered
#   received_header N NAME    unfolded value of the first NAME field
#                             (empty output and status 1 when absent)
#   received_header_count N NAME  how many NAME fields message N has
#   received_envelope N FIELD a field of N.json ("mail_from", "rcpt_tos",
#                             "tls.version", "rcpt_options.1" ...): strings
#                             raw, lists one item per line, true/false/null,
#                             dicts as JSON; nothing when absent or empty
#   received_body N           message N after its header block (the bytes
#                             after the first CRLF CRLF)
#   wire_log / wire_clear_log every client byte / those sent in the clear
#   pipelined_log             "K VERB" per command the client followed with
#                             more bytes before its reply (see smtpd.py)
#   assert_crlf_only FILE     no bare CR or LF in FILE, ends with CRLF
#   sessions_log              sessions.log (one line per session)
#   session_count             sessions seen (connections accepted)
#   assert_no_session         no connection was made at all (after a short
#                             grace period for a late accept)
#   wait_sessions_closed      wait (<= 5 s) until every session has ended
#
# OAUTH 2.0 SERVER (tests/servers/oauth_server.py; its header documents
# every option, the faults and the files it writes)
#   start_oauth_server [ARGS...]  start an OAuth 2.0 authorization server
#                  over HTTPS on 127.0.0.1 (certificate $SERVER_CERT, key
#                  $SERVER_KEY: call make_certs first; a --cert/--key in
#                  ARGS wins), wait (<= 10 s) for its port; sets OAUTH_PORT,
#                  OAUTH_URL (https://127.0.0.1:PORT), OAUTH_DIR (its
#                  files), OAUTH_PID, OAUTH_TOKENS (its file of valid
#                  access tokens: pass it to start_server
#                  --auth-token-file). Same rules as start_server: call it
#                  in the test's own shell; teardown_common stops it, and it
#                  exits by itself when the test's shell is gone.
#   stop_oauth_server [PID]  stop one (default $OAUTH_PID) and wait until it
#                  is gone: its port then refuses connections.
#   oauth_requests            requests.log: "N ENDPOINT GRANT STATUS ERROR"
#                             per request, in order (see oauth_server.py)
#   oauth_request_count [ENDPOINT [GRANT]]  how many requests (to ENDPOINT:
#                             token|devicecode, with grant_type GRANT:
#                             refresh_token|device_code|...) it received
#   oauth_request N FIELD     a field of request N (1-based; "last" for the
#                             newest): form.client_id, form.refresh_token,
#                             reply.access_token, status, early, path,
#                             time, basic_auth ...; raw value, nothing when
#                             absent (reads OAUTH_DIR/req.N.fields)
#   oauth_issued access|refresh   the tokens of that kind it has issued
#                             (pre-issued ones first), one per line
#   oauth_connections         connections.log: "K CONNECT", "K TLS
#                             TLSv1.3" or "K TLSFAIL REASON", "K CLOSE"

# CERTIFICATES
#   make_certs [DIR]  (default $BATS_FILE_TMPDIR/certs; call it in
#   setup_file) makes with certtool and exports: CA_CERT CA_KEY,
#   SERVER_CERT SERVER_KEY (CA-signed, SAN localhost 127.0.0.1 ::1),
#   EXPIRED_CERT EXPIRED_KEY (CA-signed, expired in 2020), WRONGNAME_CERT
#   WRONGNAME_KEY (CA-signed for wrong.example), SELFSIGNED_CERT
#   SELFSIGNED_KEY (self-signed, localhost), CLIENT_CERT CLIENT_KEY
#   (CA-signed client certificate, CN "outbox client"), OTHER_CA_CERT
#   (an unrelated CA), and the fingerprints SERVER_CERT_SHA256,
#   SERVER_CERT_SHA1, SELFSIGNED_CERT_SHA256 ("AB:CD:..." as
#   tls_fingerprint wants).

PYTHON=/usr/bin/python3
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVERS_DIR=$LIB_DIR/servers
OUTBOX=${OUTBOX:-$(cd "$LIB_DIR/.." && pwd)/outbox}
export OUTBOX PYTHON

setup_common() {
	T=$BATS_TEST_TMPDIR/t
	rm -rf "$T"
	mkdir -p "$T/home/.config" "$T/home/.local/share" \
		"$T/home/.local/state" "$T/home/.cache" "$T/run" "$T/etc" \
		"$T/tmp"
	chmod 700 "$T/run"
	export T
	export HOME=$T/home
	export XDG_CONFIG_HOME=$T/home/.config
	export XDG_DATA_HOME=$T/home/.local/share
	export XDG_STATE_HOME=$T/home/.local/state
	export XDG_CACHE_HOME=$T/home/.cache
	export XDG_RUNTIME_DIR=$T/run
	export OUTBOX_SYSCONFDIR=$T/etc
	export TMPDIR=$T/tmp
	export USER=outboxtest LOGNAME=outboxtest
	export LC_ALL=C.UTF-8
	unset EMAIL SMTPSERVER MAIL NAME MSMTP_CONFIG DBUS_SESSION_BUS_ADDRESS \
		SSH_AUTH_SOCK GPG_AGENT_INFO
	SERVER_PIDS=()
	SERVER_CHILDREN=()
	SERVER_SEQ=0
	PORT= SPOOL= SERVER_PID=
	if [ ! -x "$OUTBOX" ]; then
		echo "outbox binary not found or not executable: $OUTBOX" \
			"(run make first)" >&2
		return 1
	fi
}

teardown_common() {
	# No need to wait: each server also exits when the test's shell is gone.
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}

setup() { setup_common; }
teardown() { teardown_common; }

# ------------------------------------------------------------------ servers

# Python and aiosmtpd take a few hundred ms of CPU to load; a per-file
# "zygote" (smtpd.py --zygote) loads them once and forks each server, which
# keeps the suites fast. OUTBOX_TEST_NO_ZYGOTE=1 starts every server as a
# fresh process instead.
ensure_zygote() {
	[ -z "${OUTBOX_TEST_NO_ZYGOTE:-}" ] && [ -n "${BATS_FILE_TMPDIR:-}" ] ||
		return 1
	local d=$BATS_FILE_TMPDIR/smtpd-zygote pid
	if [ -p "$d/fifo" ] && pid=$(cat "$d/pid" 2>/dev/null) &&
		kill -0 "$pid" 2>/dev/null; then
		ZYGOTE_FIFO=$d/fifo
		return 0
	fi
	rm -rf "$d"
	mkdir -p "$d"
	mkfifo "$d/fifo" "$d/up"
	local fd up=
	exec {fd}<>"$d/up"
	(
		cd / && exec "$PYTHON" "$SERVERS_DIR/smtpd.py" \
			--zygote "$d/fifo" --zygote-dir "$d" \
			</dev/null >"$d/log" 2>&1 3>&- {fd}>&- &
		echo $! >"$d/pid"
	)
	read -r -t 10 -u "$fd" up || true
	exec {fd}>&-
	if [ "$up" != ready ]; then
		echo "the smtpd.py zygote did not start:" >&2
		cat "$d/log" >&2
		return 1
	fi
	ZYGOTE_FIFO=$d/fifo
}

start_server() {
	SERVER_SEQ=$((SERVER_SEQ + 1))
	local dir=$T/spool.$SERVER_SEQ
	mkdir -p "$dir"
	rm -f "$dir/port" "$dir/ready"
	mkfifo "$dir/ready"
	# Opened read-write so the open cannot block; read -t bounds the wait.
	local fd pid= where= spid=
	exec {fd}<>"$dir/ready"
	local args=(--port-file "$dir/port" --spool "$dir"
		--ready-fifo "$dir/ready" --watch-pid "$BASHPID" "$@")
	if ensure_zygote; then
		printf '%s\0' "$PWD" "${args[@]}" >"$dir/request"
		local w
		exec {w}<>"$ZYGOTE_FIFO"
		printf '%s\n' "$dir" >&"$w"
		exec {w}>&-
	else
		# fd 3 is bats' output channel: a background child holding it
		# would make bats wait for the server.
		"$PYTHON" "$SERVERS_DIR/smtpd.py" "${args[@]}" </dev/null \
			>"$dir/stdout" 2>"$dir/stderr" 3>&- {fd}>&- &
		pid=$!
		SERVER_CHILDREN+=("$pid")
	fi
	read -r -t 10 -u "$fd" where spid || true
	exec {fd}>&-
	if [ -z "$where" ] || [ ! -s "$dir/port" ]; then
		echo "smtpd.py $* did not start listening within 10 s:" >&2
		cat "$dir/stdout" "$dir/stderr" >&2 2>/dev/null
		return 1
	fi
	SERVER_PIDS+=("$spid")
	PORT=$where
	SPOOL=$dir
	SERVER_PID=$spid
}

# SIGTERM, then wait (at most 3 s, then SIGKILL) until the server is gone.
stop_server() {
	local pid=${1:-$SERVER_PID} child
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for child in "${SERVER_CHILDREN[@]}"; do
		if [ "$child" = "$pid" ]; then
			(sleep 3 && kill -KILL "$pid") </dev/null >/dev/null \
				2>&1 3>&- &
			local watchdog=$!
			wait "$pid" 2>/dev/null || true
			kill "$watchdog" 2>/dev/null || true
			wait "$watchdog" 2>/dev/null || true
			return 0
		fi
	done
	# Not our child (forked by the zygote): watch it from outside.
	timeout 3 tail --pid="$pid" -s 0.02 -f /dev/null 2>/dev/null ||
		kill -KILL "$pid" 2>/dev/null || true
}

write_config() {
	local file=$1
	mkdir -p "$(dirname "$file")"
	(umask 077 && cat >"$file")
	chmod 600 "$file"
}

server_config() {
	local file=$1 line
	shift
	{
		echo "account test"
		echo "host 127.0.0.1"
		echo "port $PORT"
		echo "from sender@example.com"
		echo "tls off"
		echo "auth off"
		echo "timeout 5"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
		echo "account default : test"
	} | write_config "$file"
}

# ------------------------------------------------------------------ running

run_outbox() {
	local start end
	start=$(date +%s%N)
	status=0
	timeout --kill-after=5 "${OUTBOX_TEST_TIMEOUT:-60}" "$OUTBOX" "$@" \
		>"$T/run.stdout" 2>"$T/run.stderr" || status=$?
	end=$(date +%s%N)
	elapsed_ms=$(((end - start) / 1000000))
	output=$(cat "$T/run.stdout")
	stderr=$(cat "$T/run.stderr")
	LAST_COMMAND="outbox $*"
	return 0
}

send_message() {
	local text=$1
	shift
	printf '%s' "$text" >"$T/message.in"
	run_outbox "$@" <"$T/message.in"
}

show_context() {
	{
		echo "command: ${LAST_COMMAND:-?}"
		echo "exit status: ${status:-?} (elapsed ${elapsed_ms:-?} ms)"
		echo "--- stdout:"
		printf '%s\n' "${output:-}"
		echo "--- stderr:"
		printf '%s\n' "${stderr:-}"
		if [ -n "${SPOOL:-}" ] && [ -e "$SPOOL/sessions.log" ]; then
			echo "--- server sessions ($SPOOL):"
			cat "$SPOOL/sessions.log"
			echo "--- server transcript:"
			head -c 4000 "$SPOOL/transcript.log"
			[ -s "$SPOOL/stderr" ] && {
				echo "--- server stderr:"
				cat "$SPOOL/stderr"
			}
		fi
	} >&2
}

assert_exit() {
	local want=$1
	if [ "$status" != "$want" ]; then
		echo "expected exit status $want, got $status" >&2
		show_context
		return 1
	fi
}

assert_elapsed_below() {
	if [ "$elapsed_ms" -ge "$1" ]; then
		echo "took ${elapsed_ms} ms, expected less than $1 ms" >&2
		show_context
		return 1
	fi
}

assert_contains() {
	if [[ "$1" != *"$2"* ]]; then
		printf 'expected to find:\n%s\n--- in:\n%s\n---\n' "$2" "$1" >&2
		return 1
	fi
}

refute_contains() {
	if [[ "$1" == *"$2"* ]]; then
		printf 'did not expect to find:\n%s\n--- in:\n%s\n---\n' \
			"$2" "$1" >&2
		return 1
	fi
}

assert_equal() {
	if [ "$1" != "$2" ]; then
		printf 'expected:\n%s\n--- got:\n%s\n---\n' "$2" "$1" >&2
		return 1
	fi
}

# assert_process_gone PID: the process has ended within a second (a zombie
# waiting for its new parent to reap it counts as ended).
assert_process_gone() {
	local pid=$1 state i
	[ -n "$pid" ] || { echo "no pid to check" >&2; return 1; }
	for i in $(seq 100); do
		state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
		case "$state" in '' | Z | X) return 0 ;; esac
		sleep 0.01
	done
	echo "process $pid is still running (state $state)" >&2
	kill -KILL "$pid" 2>/dev/null
	return 1
}

# ---------------------------------------------------- what the server saw

received_count() {
	local n=0 f
	for f in "$SPOOL"/*.json; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

assert_received() {
	local got
	got=$(received_count)
	if [ "$got" != "$1" ]; then
		echo "expected the server to have received $1 message(s)," \
			"it has $got" >&2
		show_context
		return 1
	fi
}

received_message() {
	cat "$SPOOL/$1.eml"
}

# The header block of message $1 through awk (no Python start-up per call).
header_awk() {
	LC_ALL=C awk -v name="$2" "$3" "$SPOOL/$1.eml"
}

received_header() {
	header_awk "$1" "$2" '
	BEGIN { want = tolower(name); state = 0 }
	{
		sub(/\r$/, "")
		if ($0 == "") exit
		if ($0 ~ /^[ \t]/) { if (state == 1) val = val " " $0; next }
		if (state == 1) { state = 2; exit }
		i = index($0, ":")
		if (i > 1 && tolower(substr($0, 1, i - 1)) == want) {
			state = 1
			val = substr($0, i + 1)
		}
	}
	END {
		if (state == 0) exit 1
		gsub(/[ \t]+/, " ", val)
		sub(/^ /, "", val)
		sub(/ $/, "", val)
		print val
	}'
}

received_header_count() {
	header_awk "$1" "$2" '
	BEGIN { want = tolower(name); n = 0 }
	{
		sub(/\r$/, "")
		if ($0 == "") exit
		i = index($0, ":")
		if ($0 !~ /^[ \t]/ && i > 1 &&
		    tolower(substr($0, 1, i - 1)) == want)
			n++
	}
	END { print n }'
}

# Values come from N.fields (see smtpd.py): no JSON parser needed. A
# missing field (or an empty list) prints nothing.
received_envelope() {
	LC_ALL=C awk -v key="$2" '{
		i = index($0, "\t")
		if (substr($0, 1, i - 1) == key) print substr($0, i + 1)
	}' "$SPOOL/$1.fields"
}

received_body() {
	LC_ALL=C sed $'1,/^\r$/d' "$SPOOL/$1.eml"
}

# Every line of FILE ends in CRLF, and no CR or LF appears alone.
assert_crlf_only() {
	"$PYTHON" - "$1" <<'EOF2'
import re, sys
data = open(sys.argv[1], "rb").read()
bad = re.search(rb"\r(?!\n)|(?<!\r)\n", data)
if bad:
    start = max(0, bad.start() - 40)
    sys.exit("bare CR or LF at offset %d of %s: %r" %
             (bad.start(), sys.argv[1], data[start:bad.start() + 40]))
if data and not data.endswith(b"\r\n"):
    sys.exit("%s does not end with CRLF: %r" % (sys.argv[1], data[-40:]))
EOF2
}

wire_log() {
	cat "$SPOOL/wire.log"
}

pipelined_log() {
	cat "$SPOOL/pipelined.log" 2>/dev/null || true
}

wire_clear_log() {
	cat "$SPOOL/wire-clear.log"
}

sessions_log() {
	cat "$SPOOL/sessions.log"
}

session_count() {
	local n
	n=$(grep -c . "$SPOOL/sessions.log" 2>/dev/null) || true
	echo "${n:-0}"
}

assert_no_session() {
	sleep 0.2
	local n
	n=$(session_count)
	if [ "$n" != 0 ]; then
		echo "expected no connection to the server, saw $n session(s)" >&2
		show_context
		return 1
	fi
}

wait_sessions_closed() {
	local i
	for ((i = 0; i < 100; i++)); do
		if ! grep -qv ' CLOSE$' "$SPOOL/sessions.log" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "server sessions did not end within 5 s:" >&2
	cat "$SPOOL/sessions.log" >&2
	return 1
}

# ------------------------------------------------------------- certificates

# certtool template for a CA-signed TLS server certificate.
cert_template_server() { # CN [extra lines...]
	local cn=$1
	shift
	printf 'cn = "%s"\n' "$cn"
	printf '%s\n' "$@"
	printf 'tls_www_server\nsigning_key\nencryption_key\n'
}

cert_fingerprint() { # FILE ALGORITHM
	"$PYTHON" - "$1" "$2" <<'EOF'
import hashlib, ssl, sys
der = ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())
digest = hashlib.new(sys.argv[2], der).hexdigest().upper()
print(":".join(digest[i:i + 2] for i in range(0, len(digest), 2)))
EOF
}

make_certs() {
	local d=${1:-$BATS_FILE_TMPDIR/certs}
	mkdir -p "$d"
	local ct=certtool
	local k
	for k in ca other-ca server expired wrongname selfsigned client; do
		$ct --generate-privkey --key-type=ecdsa --curve=secp256r1 \
			--outfile "$d/$k.key" 2>/dev/null || return 1
	done
	printf 'cn = "outbox test CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' \
		>"$d/ca.tmpl"
	$ct --generate-self-signed --load-privkey "$d/ca.key" \
		--template "$d/ca.tmpl" --outfile "$d/ca.pem" 2>/dev/null ||
		return 1
	printf 'cn = "unrelated CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' \
		>"$d/other-ca.tmpl"
	$ct --generate-self-signed --load-privkey "$d/other-ca.key" \
		--template "$d/other-ca.tmpl" --outfile "$d/other-ca.pem" \
		2>/dev/null || return 1

	local san=('dns_name = "localhost"' 'ip_address = "127.0.0.1"'
		'ip_address = "::1"')
	cert_template_server localhost "${san[@]}" 'expiration_days = 365' \
		>"$d/server.tmpl"
	cert_template_server localhost "${san[@]}" \
		'activation_date = "2019-01-01 00:00:00"' \
		'expiration_date = "2020-01-01 00:00:00"' >"$d/expired.tmpl"
	cert_template_server wrong.example 'dns_name = "wrong.example"' \
		'expiration_days = 365' >"$d/wrongname.tmpl"
	cert_template_server localhost "${san[@]}" 'expiration_days = 365' \
		>"$d/selfsigned.tmpl"
	printf 'cn = "outbox client"\ntls_www_client\nsigning_key\nexpiration_days = 365\n' \
		>"$d/client.tmpl"
	for k in server expired wrongname client; do
		$ct --generate-certificate --load-privkey "$d/$k.key" \
			--load-ca-certificate "$d/ca.pem" \
			--load-ca-privkey "$d/ca.key" --template "$d/$k.tmpl" \
			--outfile "$d/$k.pem" 2>/dev/null || return 1
	done
	$ct --generate-self-signed --load-privkey "$d/selfsigned.key" \
		--template "$d/selfsigned.tmpl" --outfile "$d/selfsigned.pem" \
		2>/dev/null || return 1

	export CERT_DIR=$d
	export CA_CERT=$d/ca.pem CA_KEY=$d/ca.key
	export OTHER_CA_CERT=$d/other-ca.pem
	export SERVER_CERT=$d/server.pem SERVER_KEY=$d/server.key
	export EXPIRED_CERT=$d/expired.pem EXPIRED_KEY=$d/expired.key
	export WRONGNAME_CERT=$d/wrongname.pem WRONGNAME_KEY=$d/wrongname.key
	export SELFSIGNED_CERT=$d/selfsigned.pem
	export SELFSIGNED_KEY=$d/selfsigned.key
	export CLIENT_CERT=$d/client.pem CLIENT_KEY=$d/client.key
	SERVER_CERT_SHA256=$(cert_fingerprint "$SERVER_CERT" sha256)
	SERVER_CERT_SHA1=$(cert_fingerprint "$SERVER_CERT" sha1)
	SELFSIGNED_CERT_SHA256=$(cert_fingerprint "$SELFSIGNED_CERT" sha256)
	export SERVER_CERT_SHA256 SERVER_CERT_SHA1 SELFSIGNED_CERT_SHA256
}


# ------------------------------------------------------- OAuth 2.0 server

start_oauth_server() {
	SERVER_SEQ=$((SERVER_SEQ + 1))
	local dir=$T/oauth.$SERVER_SEQ
	mkdir -p "$dir"
	rm -f "$dir/port" "$dir/ready"
	mkfifo "$dir/ready"
	local fd where= spid=
	exec {fd}<>"$dir/ready"
	"$PYTHON" "$SERVERS_DIR/oauth_server.py" --port-file "$dir/port" \
		--dir "$dir" --ready-fifo "$dir/ready" --watch-pid "$BASHPID" \
		--cert "${SERVER_CERT:-}" --key "${SERVER_KEY:-}" "$@" \
		</dev/null >"$dir/stdout" 2>"$dir/stderr" 3>&- {fd}>&- &
	SERVER_CHILDREN+=("$!")
	read -r -t 10 -u "$fd" where spid || true
	exec {fd}>&-
	if [ -z "$where" ] || [ ! -s "$dir/port" ]; then
		echo "oauth_server.py $* did not start listening within 10 s:" >&2
		cat "$dir/stdout" "$dir/stderr" >&2 2>/dev/null
		return 1
	fi
	SERVER_PIDS+=("$spid")
	OAUTH_PORT=$where
	OAUTH_URL=https://127.0.0.1:$where
	OAUTH_DIR=$dir
	OAUTH_PID=$spid
	OAUTH_TOKENS=$dir/access-tokens
	export OAUTH_TOKENS
}

stop_oauth_server() {
	stop_server "${1:-$OAUTH_PID}"
}

oauth_requests() {
	cat "$OAUTH_DIR/requests.log" 2>/dev/null || true
}

oauth_request_count() {
	local n
	n=$(LC_ALL=C awk -v e="${1:-}" -v g="${2:-}" '
		(e == "" || $2 == e) && (g == "" || $3 == g) { n++ }
		END { print n + 0 }' "$OAUTH_DIR/requests.log" 2>/dev/null) ||
		true
	echo "${n:-0}"
}

oauth_request() {
	local n=$1
	if [ "$n" = last ]; then
		n=$(oauth_request_count)
	fi
	LC_ALL=C awk -v key="$2" '{
		i = index($0, "\t")
		if (substr($0, 1, i - 1) == key) print substr($0, i + 1)
	}' "$OAUTH_DIR/req.$n.fields" 2>/dev/null || true
}

oauth_issued() {
	LC_ALL=C awk -v kind="$1" '$1 == kind { print $2 }' \
		"$OAUTH_DIR/issued.log" 2>/dev/null || true
}

oauth_connections() {
	cat "$OAUTH_DIR/connections.log" 2>/dev/null || true
}
