#!/usr/bin/env bats
# oauth2.bats - OAuth 2.0 built in (issue 13): the device login (RFC 8628),
# the refresh before a send (RFC 6749 section 6), the token store (a 0600
# file in a 0700 directory, or the Secret Service), the exit codes of every
# failure of the token endpoint, the queue, and invariant 3: no token ever
# shows on stdout, stderr, the log file, the -v transcript or --pretend.
#
# Two real servers on loopback: tests/servers/oauth_server.py (HTTPS,
# scripted device flow, refresh, rotation, revocation, faults; it records
# every request) and smtpd.py, which accepts XOAUTH2/OAUTHBEARER with the
# access tokens the OAuth server currently considers valid
# (--auth-token-file). Every test asserts on what they received.

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: oauth\n\nbody\n'
MAILBOX=joe@example.com
CLIENT_ID=outbox-test-client
SCOPE='https://outlook.office.com/SMTP.Send offline_access'
PRE_REFRESH=RT.pre-issued-refresh-Zq8m2Lx4
OLD_ACCESS=AT.old-expired-access-Kd93nW1p
DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code

setup_file() { make_certs; }

setup() {
	setup_common
	# root's tokens go to the system spool when it exists (oauth_store.h):
	# never touch a real one
	if [ "$(id -u)" = 0 ] && [ -d /var/spool/outbox ]; then
		skip "running as root on a machine with /var/spool/outbox"
	fi
	STORE_DIR=$XDG_STATE_HOME/outbox/oauth2
	Q=$T/queue
}

# ------------------------------------------------------------------ helpers

# The SMTP server: STARTTLS, XOAUTH2 and OAUTHBEARER only, for $MAILBOX
# with the OAuth server's valid access tokens; AUTH required for MAIL.
# It reads them through the link $T/access-tokens, which follows the newest
# OAuth server (link_tokens).
start_smtp() {
	link_tokens
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY" \
		--auth-user "$MAILBOX" --auth-mechs XOAUTH2,OAUTHBEARER \
		--auth-required --auth-token-file "$T/access-tokens" "$@"
}

link_tokens() { ln -sfn "$OAUTH_TOKENS" "$T/access-tokens"; }

# Both servers; ARGS go to the OAuth server.
start_both() {
	start_oauth_server "$@"
	start_smtp
}

# The account "test" (the default) for both servers, then LINE... .
oauth_config() {
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"auth xoauth2" "user $MAILBOX" "logfile $T/log" \
		"oauth2_provider custom" "oauth2_client_id $CLIENT_ID" \
		"oauth2_device_url $OAUTH_URL/devicecode" \
		"oauth2_token_url $OAUTH_URL/token" "oauth2_scope $SCOPE" \
		"oauth2_trust_file $CA_CERT" "$@"
}

send_v() {
	send_message "$MSG" -C "$T/rc" -v rcpt@example.com
}

login() {
	run_outbox -C "$T/rc" --oauth2-login -a test "$@" </dev/null
}

# The store file's name: oauth_store.h, KEY = hex SHA-256 of
# "TOKEN_URL\nCLIENT_ID\nUSER".
store_key() { # [TOKEN_URL]
	printf '%s\n%s\n%s' "${1:-$OAUTH_URL/token}" "$CLIENT_ID" "$MAILBOX" |
		sha256sum | cut -d' ' -f1
}

# Put tokens in the file store as a login would have: REFRESH, and an
# ACCESS token expiring at EXPIRES_AT (unix seconds; default: expired).
seed_store() { # REFRESH [ACCESS [EXPIRES_AT]]
	mkdir -p "$STORE_DIR"
	chmod 700 "$XDG_STATE_HOME/outbox" "$STORE_DIR"
	local f=$STORE_DIR/$(store_key).json
	(umask 077 && "$PYTHON" - "$f" "$1" "${2:-$OLD_ACCESS}" \
		"${3:-$(($(date +%s) - 600))}" "$OAUTH_URL/token" "$CLIENT_ID" \
		"$SCOPE" <<'EOF'
import json, sys
f, rt, at, exp, url, cid, scope = sys.argv[1:]
json.dump({"version": 1, "refresh_token": rt, "access_token": at,
           "expires_at": int(exp), "token_endpoint": url,
           "client_id": cid, "scope": scope}, open(f, "w"))
EOF
	)
	chmod 600 "$f"
}

# The one store file there is (fails when there are none or several).
store_file() {
	local files=("$STORE_DIR"/*.json)
	if [ "${#files[@]}" != 1 ] || [ ! -e "${files[0]}" ]; then
		echo "expected one token file in $STORE_DIR, found:" \
			"${files[*]}" >&2
		return 1
	fi
	echo "${files[0]}"
}

store_get() { # FIELD
	local f
	f=$(store_file) || return 1
	"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("" if v is None else v)' "$f" "$1"
}

# Make the stored access token expired (the client's clock decides).
store_expire() {
	local f
	f=$(store_file) || return 1
	"$PYTHON" - "$f" <<'EOF'
import json, os, sys, time
f = sys.argv[1]
d = json.load(open(f))
d["expires_at"] = int(time.time()) - 600
tmp = f + ".t"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(d).encode())
os.close(fd)
os.replace(tmp, f)
EOF
}

# Simulate the passage of time for the queue (state format: src/queue.h).
make_due() {
	local f id
	for f in "$Q"/*.msg; do
		[ -e "$f" ] || continue
		id=$(basename "$f" .msg)
		printf 'outbox-queue-state 1\nqueued: %s\nattempts: 1\nnext-attempt: 0\n' \
			"$(date +%s)" >"$Q/$id.state"
	done
}

queue_count() {
	local n=0 f
	for f in "$Q"/*.msg; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

b64() { printf "$1" "${@:2}" | base64 -w0; }

# Every secret the OAuth server handed out or was given: tokens, device
# codes, the client secret.
all_secrets() {
	oauth_issued access
	oauth_issued refresh
	echo "$PRE_REFRESH"
	echo "$OLD_ACCESS"
	grep -o '"device_code": "[^"]*"' "$OAUTH_DIR/requests.jsonl" \
		2>/dev/null | cut -d'"' -f4 | sort -u
	[ -z "${CLIENT_SECRET:-}" ] || echo "$CLIENT_SECRET"
}

# Invariant 3: no secret (nor its base64, nor the SASL strings' base64, nor
# a 16-character piece of it) in stdout, stderr or the log file of the last
# run, nor in TEXT... .
assert_no_secret() {
	local where secret needle
	where="$output"$'\n'"$stderr"$'\n'"$(cat "$T/log" 2>/dev/null || true)"
	where+=$'\n'"$*"
	while read -r secret; do
		[ -n "$secret" ] || continue
		for needle in "$secret" "${secret:3:16}" "$(b64 '%s' "$secret")" \
			"$(b64 'Bearer %s' "$secret")" \
			"$(b64 'user=%s\001auth=Bearer %s\001\001' "$MAILBOX" "$secret")" \
			"$(b64 'n,a=%s,\001host=127.0.0.1\001port=%s\001auth=Bearer %s\001\001' \
				"$MAILBOX" "${PORT:-0}" "$secret")"; do
			if [[ "$where" == *"$needle"* ]]; then
				echo "secret found in the output: $needle" \
					"(of $secret)" >&2
				show_context
				return 1
			fi
		done
	done < <(all_secrets)
}

assert_requests() { # ENDPOINT GRANT N
	local got
	got=$(oauth_request_count "$1" "$2")
	if [ "$got" != "$3" ]; then
		echo "expected $3 $1 request(s) with grant $2, the OAuth" \
			"server saw $got:" >&2
		oauth_requests >&2
		show_context
		return 1
	fi
}

assert_no_request() {
	local got
	got=$(oauth_request_count)
	if [ "$got" != 0 ]; then
		echo "expected no request to the OAuth server, saw $got:" >&2
		oauth_requests >&2
		show_context
		return 1
	fi
}

# The message arrived, authenticated with MECHANISM and access token TOKEN.
assert_sent_with() { # TOKEN [MECHANISM]
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 auth.mechanism)" "${2:-XOAUTH2}"
	assert_equal "$(received_envelope 1 auth.login)" "$MAILBOX"
	assert_equal "$(received_envelope 1 auth.token)" "$1"
}

assert_private_store() {
	local f
	f=$(store_file)
	[ "$(stat -c %a "$STORE_DIR")" = 700 ] ||
		{ echo "$STORE_DIR has mode $(stat -c %a "$STORE_DIR")" >&2; false; }
	[ "$(stat -c %a "$f")" = 600 ] ||
		{ echo "$f has mode $(stat -c %a "$f")" >&2; false; }
	[ "$(stat -c %u "$f")" = "$(id -u)" ]
}

# Run the lines of $T/session.sh inside a private D-Bus session; with
# KEYRING=yes a gnome-keyring Secret Service (unlocked) runs there. (As
# auth.bats does for the password.)
run_in_dbus_session() {
	command -v dbus-run-session >/dev/null || skip "dbus-run-session missing"
	if [ "${KEYRING:-no}" = yes ]; then
		command -v gnome-keyring-daemon >/dev/null &&
			command -v secret-tool >/dev/null ||
			skip "gnome-keyring and libsecret-tools are not installed"
	fi
	"$OUTBOX" --version | grep -q "libsecret.*: available" ||
		skip "built without libsecret, or libsecret-1-0 is not installed"
	{
		if [ "${KEYRING:-no}" = yes ]; then
			echo 'printf unlock | gnome-keyring-daemon --unlock' \
				'--components=secrets >/dev/null 2>&1'
		fi
		cat "$T/session.lines"
	} >"$T/session.sh"
	timeout 90 dbus-run-session -- bash "$T/session.sh" >"$T/session.out" \
		2>&1 || true
}

# One outbox run inside the session: NAME ARGS... (stdin: $T/message.in).
session_run() {
	local name=$1 arg q=
	shift
	for arg in "$OUTBOX" "$@"; do
		q+=" $(printf '%q' "$arg")"
	done
	printf '%s <"$T/message.in" >"$T/%s.stdout" 2>"$T/%s.stderr"; echo $? >"$T/%s.status"\n' \
		"$q" "$name" "$name" "$name" >>"$T/session.lines"
}

# Load run NAME of the session into status/output/stderr.
session_result() {
	status=$(cat "$T/$1.status" 2>/dev/null || echo none)
	output=$(cat "$T/$1.stdout" 2>/dev/null || true)
	stderr=$(cat "$T/$1.stderr" 2>/dev/null || true)
	LAST_COMMAND="(in the D-Bus session) $1"
}

# ------------------------------------------------------------ device login

@test "device login: pending, slow_down, then success stores the tokens (0600 file, 0700 dir)" {
	start_both --pending 1 --poll-script slow_down \
		--message "To sign in, open the page and enter the code WDJB-MJHT."
	oauth_config
	login
	assert_exit 0
	# what the user is told, on stdout
	assert_contains "$output" "$OAUTH_URL/device"
	assert_contains "$output" "WDJB-MJHT"
	assert_contains "$output" "To sign in, open the page"
	# the device authorization request
	assert_requests devicecode - 1
	assert_equal "$(oauth_request 1 form.client_id)" "$CLIENT_ID"
	assert_equal "$(oauth_request 1 form.scope)" "$SCOPE"
	assert_equal "$(oauth_request 1 method)" POST
	assert_equal "$(oauth_request 1 content_type)" \
		application/x-www-form-urlencoded
	# pending, slow_down, success: three polls, none early, none after
	assert_requests token device_code 3
	assert_equal "$(oauth_requests | cut -d' ' -f2-)" \
		"devicecode - 200 -
token device_code 400 authorization_pending
token device_code 400 slow_down
token device_code 200 -"
	local dc n
	dc=$(oauth_request 1 reply.device_code)
	for n in 2 3 4; do
		assert_equal "$(oauth_request $n form.grant_type)" "$DEVICE_GRANT"
		assert_equal "$(oauth_request $n form.device_code)" "$dc"
		assert_equal "$(oauth_request $n form.client_id)" "$CLIENT_ID"
		assert_equal "$(oauth_request $n early)" false
	done
	# RFC 8628 3.5: after slow_down the interval grew by 5 s (1 + 5)
	assert_equal "$(oauth_request 4 interval_in_force)" 6
	"$PYTHON" -c 'import sys; s = float(sys.argv[1]); sys.exit(not 5.75 <= s < 9)' \
		"$(oauth_request 4 since_last)" ||
		{ echo "poll after slow_down came $(oauth_request 4 since_last) s later" >&2; false; }
	# the store: private, holding what the server issued
	assert_private_store
	assert_equal "$(store_get refresh_token)" "$(oauth_issued refresh)"
	assert_equal "$(store_get access_token)" "$(oauth_issued access)"
	assert_equal "$(store_get token_endpoint)" "$OAUTH_URL/token"
	assert_equal "$(store_get client_id)" "$CLIENT_ID"
	local exp now
	exp=$(store_get expires_at)
	now=$(date +%s)
	[ "$exp" -gt $((now + 3000)) ] && [ "$exp" -le $((now + 3600)) ] ||
		{ echo "expires_at $exp, now $now" >&2; false; }
	assert_no_secret
	# no SMTP at all during a login
	assert_no_session
}

@test "after the login a send uses the new access token without any HTTP request" {
	start_both
	oauth_config
	login
	assert_exit 0
	local before
	before=$(oauth_request_count)
	send_v
	assert_sent_with "$(oauth_issued access)"
	assert_equal "$(oauth_request_count)" "$before"
	assert_no_secret
}

@test "a login without a refresh token: the access token is used until it expires, then 77 with the hint" {
	start_both --no-refresh-token
	oauth_config
	login
	assert_exit 0
	assert_contains "$output" "no refresh token"
	assert_private_store
	local before
	before=$(oauth_request_count)
	send_v
	assert_sent_with "$(oauth_issued access)"
	assert_equal "$(oauth_request_count)" "$before"
	# the server expires it: nothing to refresh with, so a new login
	kill -USR2 "$OAUTH_PID"
	local f
	f="$STORE_DIR/$(store_key).json"
	sed -i 's/"expires_at": *[0-9]*/"expires_at":1/' "$f"
	send_v
	assert_exit 77
	assert_contains "$stderr" "outbox --oauth2-login -a"
	assert_equal "$(oauth_request_count)" "$before"
	assert_received 1
	assert_no_secret
}

@test "device login: access_denied -> 77, nothing stored" {
	start_both --pending 1 --outcome access_denied
	oauth_config
	login
	assert_exit 77
	assert_contains "$stderr" "denied"
	assert_requests token device_code 2
	[ -z "$(ls -A "$STORE_DIR" 2>/dev/null | grep json)" ]
	assert_no_secret
}

@test "device login: expired_token -> 77, run --oauth2-login again" {
	start_both --outcome expired_token
	oauth_config
	login
	assert_exit 77
	assert_contains "$stderr" "expired"
	assert_contains "$stderr" "--oauth2-login"
	assert_requests token device_code 1
	[ -z "$(ls -A "$STORE_DIR" 2>/dev/null | grep json)" ]
	assert_no_secret
}

@test "device login with a client secret sends it, and never shows it" {
	CLIENT_SECRET=cs-Sh0uldNeverShow-77x
	start_both --client-secret "$CLIENT_SECRET"
	oauth_config "oauth2_client_secret $CLIENT_SECRET"
	login
	assert_exit 0
	# in the form or with HTTP Basic (RFC 6749 2.3.1); the server checks it
	[ "$(oauth_request 1 form.client_secret)" = "$CLIENT_SECRET" ] ||
		[ "$(oauth_request 1 basic_auth)" = "$CLIENT_ID" ]
	assert_equal "$(oauth_requests | cut -d' ' -f4 | sort -u)" 200
	assert_private_store
	# the store holds the tokens, not the client secret
	refute_contains "$(cat "$(store_file)")" "$CLIENT_SECRET"
	assert_no_secret
	run_outbox -C "$T/rc" --pretend </dev/null
	assert_exit 0
	assert_no_secret
	# the refresh authenticates the client the same way
	store_expire
	send_v
	assert_equal "$(oauth_request last form.grant_type)" refresh_token
	[ "$(oauth_request last form.client_secret)" = "$CLIENT_SECRET" ] ||
		[ "$(oauth_request last basic_auth)" = "$CLIENT_ID" ]
	assert_sent_with "$(oauth_request last reply.access_token)"
	assert_no_secret
}

@test "device login: Google's reply (verification_url) is understood" {
	start_both --google-style --verification-uri https://www.google.com/device
	oauth_config
	login
	assert_exit 0
	assert_contains "$output" "https://www.google.com/device"
	assert_contains "$output" "WDJB-MJHT"
	assert_equal "$(store_get refresh_token)" "$(oauth_issued refresh)"
}

@test "device login: the device endpoint down or timing out -> 75, nothing stored" {
	start_both --fault devicecode=hang
	oauth_config "timeout 2"
	login
	assert_exit 75
	assert_requests devicecode - 1
	assert_requests token device_code 0
	stop_oauth_server
	login
	assert_exit 75
	[ -z "$(ls -A "$STORE_DIR" 2>/dev/null | grep json)" ]
}

@test "device login: the device endpoint answers 503 or 429 -> 75, nothing stored" {
	local fault
	for fault in 503 429; do
		start_both --fault "devicecode=$fault"
		oauth_config
		login
		assert_exit 75
		assert_requests devicecode - 1
		assert_requests token device_code 0
		[ -z "$(ls -A "$STORE_DIR" 2>/dev/null | grep json)" ]
		stop_oauth_server
	done
}

@test "device login: a 5xx while polling is not the end, the next poll succeeds" {
	start_both --poll-script 503
	oauth_config
	login
	assert_exit 0
	assert_equal "$(oauth_requests | cut -d' ' -f2-)" \
		"devicecode - 200 -
token device_code 503 -
token device_code 200 -"
	assert_equal "$(store_get refresh_token)" "$(oauth_issued refresh)"
}

@test "Microsoft preset: the tenant path and the SMTP.Send scope" {
	start_both
	oauth_config "oauth2_provider microsoft" "oauth2_tenant contoso" \
		"oauth2_device_url $OAUTH_URL/contoso/oauth2/v2.0/devicecode" \
		"oauth2_token_url $OAUTH_URL/contoso/oauth2/v2.0/token"
	# no oauth2_scope: the preset's (the last oauth2_scope line wins, so
	# write the file without it)
	grep -v '^oauth2_scope' "$T/rc" >"$T/rc.2"
	write_config "$T/rc" <"$T/rc.2"
	login
	assert_exit 0
	assert_equal "$(oauth_request 1 path)" /contoso/oauth2/v2.0/devicecode
	assert_equal "$(oauth_request 2 path)" /contoso/oauth2/v2.0/token
	assert_contains " $(oauth_request 1 form.scope) " \
		" https://outlook.office.com/SMTP.Send "
	assert_contains " $(oauth_request 1 form.scope) " " offline_access "
	send_v
	assert_sent_with "$(oauth_issued access)"
}

# --------------------------------------------------------- refresh on send

@test "an expired access token is refreshed exactly once, and the new one authenticates" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_requests token refresh_token 1
	assert_equal "$(oauth_request_count)" 1
	assert_equal "$(oauth_request 1 form.grant_type)" refresh_token
	assert_equal "$(oauth_request 1 form.refresh_token)" "$PRE_REFRESH"
	assert_equal "$(oauth_request 1 form.client_id)" "$CLIENT_ID"
	assert_equal "$(oauth_request 1 status)" 200
	local new
	new=$(oauth_request 1 reply.access_token)
	assert_sent_with "$new"
	# the SMTP server saw exactly one AUTH, with the new token
	assert_equal "$(cut -d' ' -f2- "$SPOOL/oauth-auth.log")" \
		"XOAUTH2 $MAILBOX $new accepted"
	# stored: the new access token and its expiry; no rotation, so the
	# refresh token is kept
	assert_equal "$(store_get access_token)" "$new"
	assert_equal "$(store_get refresh_token)" "$PRE_REFRESH"
	[ "$(store_get expires_at)" -gt $(($(date +%s) + 3000)) ]
	assert_private_store
	assert_no_secret
	# a second send within the lifetime: no HTTP request, same token
	start_smtp
	oauth_config
	send_v
	assert_equal "$(oauth_request_count)" 1
	assert_sent_with "$new"
	assert_no_secret
}

@test "a refresh with OAUTHBEARER authenticates with the new token" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "auth oauthbearer"
	seed_store "$PRE_REFRESH"
	send_v
	assert_requests token refresh_token 1
	assert_sent_with "$(oauth_request 1 reply.access_token)" OAUTHBEARER
	assert_no_secret
}

@test "a valid stored access token is used as is: no HTTP request at all" {
	local at=AT.still-valid-access-Hx72pQ0z
	start_both --refresh-token "$PRE_REFRESH" --access-token "$at"
	oauth_config
	seed_store "$PRE_REFRESH" "$at" $(($(date +%s) + 3000))
	send_v
	assert_sent_with "$at"
	assert_no_request
	[ -z "$(oauth_connections)" ] ||
		{ echo "connected to the OAuth server:" >&2; oauth_connections >&2; false; }
	OLD_ACCESS=$at assert_no_secret
}

@test "a stored token the SMTP server refuses is replaced by a fresh one, once" {
	# valid by the client's clock, unknown to the server (revoked early)
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config
	seed_store "$PRE_REFRESH" "$OLD_ACCESS" $(($(date +%s) + 3000))
	send_v
	assert_requests token refresh_token 1
	local new
	new=$(oauth_request 1 reply.access_token)
	assert_sent_with "$new"
	assert_equal "$(cut -d' ' -f4,5 "$SPOOL/oauth-auth.log")" \
		"$OLD_ACCESS rejected
$new accepted"
	assert_equal "$(store_get access_token)" "$new"
	assert_no_secret
}

@test "a fresh token refused too: 77 after one refresh, no loop" {
	start_oauth_server --refresh-token "$PRE_REFRESH"
	: >"$T/no-tokens"
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY" \
		--auth-user "$MAILBOX" --auth-mechs XOAUTH2 --auth-required \
		--auth-token-file "$T/no-tokens"
	oauth_config
	seed_store "$PRE_REFRESH" "$OLD_ACCESS" $(($(date +%s) + 3000))
	send_v
	assert_exit 77
	assert_requests token refresh_token 1
	assert_equal "$(cut -d' ' -f5 "$SPOOL/oauth-auth.log" | tr '\n' ' ')" \
		"rejected rejected "
	assert_received 0
	assert_no_secret
}

@test "two sends at once refresh once (the store is locked), the rotation kept" {
	start_both --refresh-token "$PRE_REFRESH" --rotate \
		--fault 'token=sleep:1:pass'
	oauth_config
	seed_store "$PRE_REFRESH"
	printf '%s' "$MSG" >"$T/message.in"
	local s1=0 s2=0
	"$OUTBOX" -C "$T/rc" rcpt@example.com <"$T/message.in" \
		>"$T/1.out" 2>&1 &
	local p1=$!
	"$OUTBOX" -C "$T/rc" rcpt@example.com <"$T/message.in" \
		>"$T/2.out" 2>&1 &
	local p2=$!
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[ "$s1" = 0 ] && [ "$s2" = 0 ] ||
		{ echo "exit $s1 and $s2:" >&2; cat "$T/1.out" "$T/2.out" >&2; oauth_requests >&2; false; }
	assert_requests token refresh_token 1
	assert_received 2
	assert_equal "$(received_envelope 1 auth.token)" \
		"$(oauth_request 1 reply.access_token)"
	assert_equal "$(received_envelope 2 auth.token)" \
		"$(oauth_request 1 reply.access_token)"
	assert_equal "$(store_get refresh_token)" \
		"$(oauth_request 1 reply.refresh_token)"
}

@test "a rotated refresh token is stored and used for the next refresh" {
	start_both --refresh-token "$PRE_REFRESH" --rotate
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_requests token refresh_token 1
	local rotated
	rotated=$(oauth_request 1 reply.refresh_token)
	[ -n "$rotated" ] && [ "$rotated" != "$PRE_REFRESH" ]
	assert_sent_with "$(oauth_request 1 reply.access_token)"
	assert_equal "$(store_get refresh_token)" "$rotated"
	assert_private_store
	# the old one is revoked by the server; the next refresh must use the
	# rotated one
	store_expire
	start_smtp
	oauth_config
	send_v
	assert_requests token refresh_token 2
	assert_equal "$(oauth_request 2 form.refresh_token)" "$rotated"
	assert_equal "$(oauth_request 2 status)" 200
	assert_sent_with "$(oauth_request 2 reply.access_token)"
	assert_equal "$(store_get refresh_token)" \
		"$(oauth_request 2 reply.refresh_token)"
	assert_no_secret
}

@test "a refresh answered with a short lifetime stores that expiry" {
	start_both --refresh-token "$PRE_REFRESH" --access-lifetime 600
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_sent_with "$(oauth_request 1 reply.access_token)"
	local exp now
	exp=$(store_get expires_at)
	now=$(date +%s)
	[ "$exp" -gt $((now + 500)) ] && [ "$exp" -le $((now + 600)) ] ||
		{ echo "expires_at $exp, now $now, lifetime 600" >&2; false; }
}

@test "a token reply without expires_in: the token is kept a short while" {
	start_both --refresh-token "$PRE_REFRESH" --no-expires-in
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_sent_with "$(oauth_request 1 reply.access_token)"
	local exp now
	exp=$(store_get expires_at)
	now=$(date +%s)
	# oauth.h: OAUTH_UNKNOWN_LIFETIME (300 s)
	[ "$exp" -gt "$now" ] && [ "$exp" -le $((now + 300)) ] ||
		{ echo "expires_at $exp, now $now" >&2; false; }
}

@test "invalid_grant (revoked refresh token) -> 77 with the login hint, no SMTP" {
	start_both --revoked "$PRE_REFRESH"
	oauth_config "queue on-failure" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	# the account used is "default" (account default : test)
	assert_contains "$stderr" "run outbox --oauth2-login -a default"
	assert_requests token refresh_token 1
	assert_equal "$(oauth_request 1 reply.error)" invalid_grant
	assert_no_session
	assert_received 0
	# a permanent failure: not queued
	assert_equal "$(queue_count)" 0
	assert_no_secret
}

@test "a refresh token revoked after the login (SIGUSR1) -> 77 with the hint" {
	start_both
	oauth_config
	login
	assert_exit 0
	kill -USR1 "$OAUTH_PID"
	store_expire
	sleep 0.3
	send_message "$MSG" -C "$T/rc" -v -a test rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "run outbox --oauth2-login -a test"
	assert_equal "$(oauth_request last reply.error)" invalid_grant
	assert_no_session
	assert_no_secret
}

@test "never logged in: 77 with the login hint, no request, no SMTP" {
	start_both
	oauth_config
	send_message "$MSG" -C "$T/rc" -v -a test rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "run outbox --oauth2-login -a test"
	assert_no_request
	assert_no_session
}

@test "an SMTP 535 for a fresh token -> 77 with the decoded XOAUTH2 error" {
	start_oauth_server --refresh-token "$PRE_REFRESH"
	: >"$T/no-tokens"
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY" \
		--auth-user "$MAILBOX" --auth-mechs XOAUTH2 --auth-required \
		--auth-token-file "$T/no-tokens"
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	assert_contains "$stderr" "535"
	assert_contains "$stderr" "invalid_token"
	assert_requests token refresh_token 1
	assert_equal "$(cut -d' ' -f5 "$SPOOL/oauth-auth.log")" rejected
	assert_received 0
	assert_no_secret
}

# ------------------------------------------------- the token endpoint fails

# run_token_fault WANT_STATUS OAUTH_ARGS... : a send with an expired access
# token while the token endpoint misbehaves. Nothing reaches SMTP, the
# store is unchanged.
run_token_fault() {
	local want=$1
	shift
	start_both --refresh-token "$PRE_REFRESH" "$@"
	oauth_config "timeout 2"
	seed_store "$PRE_REFRESH"
	local before
	before=$(cat "$(store_file)")
	send_v
	assert_exit "$want"
	assert_no_session
	assert_received 0
	assert_equal "$(cat "$(store_file)")" "$before"
	assert_no_secret
}

@test "token endpoint answers 500 -> 75" {
	run_token_fault 75 --fault token=500
	assert_requests token refresh_token 1
	assert_contains "$stderr" 500
}

@test "token endpoint answers 503 -> 75" {
	run_token_fault 75 --fault token=503
	assert_requests token refresh_token 1
}

@test "token endpoint answers 429 (Retry-After) -> 75" {
	run_token_fault 75 --fault token=429 --retry-after 120
	assert_requests token refresh_token 1
	assert_contains "$stderr" 429
}

@test "token endpoint never answers -> 75 within the timeout" {
	run_token_fault 75 --fault token=hang
	assert_requests token refresh_token 1
	assert_elapsed_below 8000
}

@test "token endpoint never completes the TLS handshake -> 75 within the timeout" {
	run_token_fault 75 --fault token=stall
	assert_no_request
	assert_contains "$(oauth_connections)" "1 STALL"
	assert_elapsed_below 8000
}

@test "token endpoint closes without a reply -> 75" {
	run_token_fault 75 --fault token=close
	assert_requests token refresh_token 1
}

@test "token endpoint down (connection refused) -> 75" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "timeout 2"
	seed_store "$PRE_REFRESH"
	stop_oauth_server
	send_v
	assert_exit 75
	assert_no_session
	assert_received 0
	assert_no_secret
}

# A proxy or captive portal answering for the endpoint: worth retrying.
@test "token endpoint answers 200 with a body that is not JSON -> 75, no SMTP" {
	run_token_fault 75 --fault token=notjson
	assert_requests token refresh_token 1
}

@test "token endpoint answers JSON that is not an object -> 75, no SMTP" {
	run_token_fault 75 --fault token=badjson
	assert_requests token refresh_token 1
}

# queued_fault OAUTH_ARGS... : with `queue on-failure` the message is kept
# (exit 0); once the endpoint works, one flush refreshes once and sends it.
queued_fault() {
	start_both --refresh-token "$PRE_REFRESH" "$@"
	oauth_config "timeout 2" "queue on-failure" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 0
	assert_contains "$stderr" "queued as"
	assert_equal "$(queue_count)" 1
	assert_no_session
	assert_received 0
	assert_no_secret
}

flush_after_fault() {
	make_due
	local before
	before=$(oauth_request_count token refresh_token)
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_equal "$(oauth_request_count token refresh_token)" $((before + 1))
	assert_sent_with "$(oauth_request last reply.access_token)"
	assert_equal "$(queue_count)" 0
	assert_no_secret
}

@test "queue on-failure: token endpoint 500 -> queued (0), the flush sends it" {
	queued_fault --fault token=once:500
	assert_requests token refresh_token 1
	flush_after_fault
}

@test "queue on-failure: token endpoint 429 -> queued (0), the flush sends it" {
	queued_fault --fault token=once:429
	assert_requests token refresh_token 1
	flush_after_fault
}

@test "queue on-failure: token endpoint timeout -> queued (0), the flush sends it" {
	queued_fault --fault token=once:hang
	assert_requests token refresh_token 1
	flush_after_fault
}

@test "queue on-failure: token endpoint down -> queued (0), the flush sends it" {
	start_oauth_server --refresh-token "$PRE_REFRESH"
	local port=$OAUTH_PORT
	start_smtp
	oauth_config "timeout 2" "queue on-failure" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	stop_oauth_server
	send_v
	assert_exit 0
	assert_contains "$stderr" "queued as"
	assert_equal "$(queue_count)" 1
	assert_no_session
	# the endpoint is back (same URL, same store key)
	start_oauth_server --port "$port" --refresh-token "$PRE_REFRESH"
	link_tokens
	flush_after_fault
}

# ------------------------------------------------------- certificate checks

# wrong_cert CERT KEY [CONFIG LINES]: the token endpoint presents CERT; the
# refresh is refused (77) before any request is sent.
wrong_cert() {
	local cert=$1 key=$2
	shift 2
	start_both --refresh-token "$PRE_REFRESH" --cert "$cert" --key "$key"
	oauth_config "$@"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	# the client did connect, and sent nothing: no request, no body
	assert_contains "$(oauth_connections)" "1 CONNECT"
	assert_no_request
	refute_contains "$(cat "$OAUTH_DIR/requests.jsonl" 2>/dev/null)" \
		"$PRE_REFRESH"
	assert_no_session
	assert_no_secret
}

@test "token endpoint with a self-signed certificate -> refused (77), no request body sent" {
	wrong_cert "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	assert_contains "$stderr" "certificate"
}

@test "token endpoint with a certificate for another name -> refused (77), nothing sent" {
	wrong_cert "$WRONGNAME_CERT" "$WRONGNAME_KEY"
}

@test "token endpoint with an expired certificate -> refused (77), nothing sent" {
	wrong_cert "$EXPIRED_CERT" "$EXPIRED_KEY"
}

@test "without oauth2_trust_file the system store is used: the test CA is not trusted" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config
	grep -v '^oauth2_trust_file' "$T/rc" >"$T/rc.2"
	write_config "$T/rc" <"$T/rc.2"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	assert_no_request
	assert_no_session
}

@test "the SMTP trust file does not vouch for the token endpoint" {
	# tls_trust_file trusts the test CA for SMTP; oauth2_trust_file names
	# another CA: the OAuth endpoint must be checked against that one.
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "oauth2_trust_file $OTHER_CA_CERT"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	assert_no_request
	assert_no_session
}

@test "an http:// token endpoint is a configuration error (78), no connection" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "oauth2_token_url http://127.0.0.1:$OAUTH_PORT/token"
	send_v
	assert_exit 78
	assert_contains "$stderr" "https"
	assert_no_request
	[ -z "$(oauth_connections)" ]
	assert_no_session
}

# ---------------------------------------------------------------- secrets

@test "no token in stdout, stderr, the log file, -v or --pretend (refresh, rotation, login)" {
	start_both --refresh-token "$PRE_REFRESH" --rotate
	oauth_config
	seed_store "$PRE_REFRESH"
	send_v
	assert_sent_with "$(oauth_request 1 reply.access_token)"
	# the -v transcript shows the AUTH command, without the token
	assert_contains "$stderr" "AUTH XOAUTH2"
	assert_no_secret
	run_outbox -C "$T/rc" --pretend </dev/null
	assert_exit 0
	assert_no_secret
	run_outbox -C "$T/rc" -v --pretend </dev/null
	assert_no_secret
	# a login, with -v
	run_outbox -C "$T/rc" -v --oauth2-login -a test </dev/null
	assert_exit 0
	assert_no_secret
	# a failed refresh whose error text echoes the token
	store_expire
	kill -USR1 "$OAUTH_PID"
	send_v
	assert_exit 77
	assert_no_secret
	# long tokens (Microsoft's are 1500-2500 bytes) too
	stop_oauth_server
	start_both --refresh-token "$PRE_REFRESH" --access-token-length 2400
	oauth_config
	rm -rf "$STORE_DIR"
	seed_store "$PRE_REFRESH"
	send_v
	assert_sent_with "$(oauth_request 1 reply.access_token)"
	[ "$(oauth_request 1 reply.access_token | wc -c)" -gt 2300 ]
	assert_no_secret
}

@test "a token endpoint quoting the secrets in its error text does not leak them" {
	CLIENT_SECRET=cs-Echoed-Secret-4f9Q
	start_both --revoked "$PRE_REFRESH" --client-secret "$CLIENT_SECRET" \
		--error-echo
	oauth_config "oauth2_client_secret $CLIENT_SECRET"
	seed_store "$PRE_REFRESH"
	send_v
	assert_exit 77
	assert_contains "$(oauth_request 1 reply.error_description)" \
		"$PRE_REFRESH"
	assert_no_secret
	# a flush reports it per message, on stdout and in the log file
	oauth_config "oauth2_client_secret $CLIENT_SECRET" "queue always" \
		"queue_dir $Q"
	send_v
	assert_exit 0
	run_outbox -C "$T/rc" --flush
	[ "$status" != 0 ]
	assert_no_secret
	run_outbox -C "$T/rc" --list-queue
	assert_no_secret
	# the device flow's errors too
	stop_oauth_server
	start_both --client-secret "$CLIENT_SECRET" --error-echo --pending 1 \
		--outcome access_denied
	oauth_config "oauth2_client_secret $CLIENT_SECRET"
	run_outbox -C "$T/rc" -v --oauth2-login -a test </dev/null
	assert_exit 77
	assert_contains "$(oauth_request 3 reply.error_description)" \
		"$(oauth_request 1 reply.device_code)"
	assert_no_secret
}

@test "the token store is never readable by others, and a world-readable one is refused" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config
	seed_store "$PRE_REFRESH"
	chmod 644 "$(store_file)"
	send_v
	assert_exit 65
	assert_no_request
	assert_no_session
	assert_no_secret
}

# --------------------------------------------------------------- the queue

@test "a flush of 50 queued messages refreshes once" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "queue always" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	local i
	for ((i = 1; i <= 50; i++)); do
		printf 'Subject: marker %d\n\nmarker-end %d\n' "$i" "$i" |
			"$OUTBOX" -C "$T/rc" rcpt@example.com
	done
	assert_equal "$(queue_count)" 50
	# queuing asks nobody
	assert_no_request
	assert_no_session
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_received 50
	assert_requests token refresh_token 1
	assert_equal "$(oauth_request_count)" 1
	local token
	token=$(oauth_request 1 reply.access_token)
	assert_equal "$(cut -d' ' -f4,5 "$SPOOL/oauth-auth.log" | sort -u)" \
		"$token accepted"
	assert_equal "$(received_envelope 50 auth.token)" "$token"
	assert_equal "$(cat "$SPOOL"/*.eml | tr -d '\r' |
		sed -n 's/^marker-end //p' | sort -n)" "$(seq 1 50)"
	assert_equal "$(queue_count)" 0
	assert_no_secret
}

@test "a flush while the token endpoint fails asks it once, and keeps every message" {
	start_both --refresh-token "$PRE_REFRESH" --fault token=once:500
	oauth_config "queue always" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	local i
	for ((i = 1; i <= 5; i++)); do
		printf 'Subject: m %d\n\nbody\n' "$i" |
			"$OUTBOX" -C "$T/rc" rcpt@example.com
	done
	run_outbox -C "$T/rc" --flush
	assert_exit 75
	assert_requests token refresh_token 1
	assert_no_session
	assert_equal "$(queue_count)" 5
	make_due
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_requests token refresh_token 2
	assert_received 5
	assert_equal "$(queue_count)" 0
}

@test "a flush with a revoked refresh token keeps the messages and says to log in" {
	start_both --revoked "$PRE_REFRESH"
	oauth_config "queue always" "queue_dir $Q"
	seed_store "$PRE_REFRESH"
	local i
	for ((i = 1; i <= 3; i++)); do
		printf 'Subject: m %d\n\nbody\n' "$i" |
			"$OUTBOX" -C "$T/rc" rcpt@example.com
	done
	run_outbox -C "$T/rc" --flush
	[ "$status" != 0 ] || { show_context; false; }
	assert_contains "$output$stderr" "--oauth2-login"
	assert_requests token refresh_token 1
	assert_no_session
	# nothing lost, nothing made a dead letter: a login fixes it
	assert_equal "$(queue_count)" 3
	[ -z "$(ls -A "$Q/dead" 2>/dev/null)" ] ||
		{ echo "dead letters: $(ls "$Q/dead")" >&2; false; }
	login
	assert_exit 0
	make_due
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	assert_received 3
	assert_equal "$(queue_count)" 0
	assert_no_secret
}

# ------------------------------------------------------------ the keyring

@test "keyring: with gnome-keyring the tokens live in the Secret Service, no file" {
	start_both
	oauth_config "oauth2_token_store auto" "oauth2_scope $SCOPE"
	printf '%s' "$MSG" >"$T/message.in"
	: >"$T/session.lines"
	session_run login -C "$T/rc" --oauth2-login -a test
	session_run send -C "$T/rc" -v rcpt@example.com
	echo 'secret-tool search --all xdg:schema org.outbox.oauth2 >"$T/keyring.dump" 2>&1' \
		>>"$T/session.lines"
	KEYRING=yes run_in_dbus_session
	session_result login
	assert_exit 0
	assert_no_secret
	session_result send
	assert_sent_with "$(oauth_issued access)"
	assert_no_secret
	# one login: the send needed no HTTP request
	assert_equal "$(oauth_request_count)" 2
	# no token file anywhere in the state directory
	[ -z "$(find "$XDG_STATE_HOME" -name '*.json' 2>/dev/null)" ] ||
		{ find "$XDG_STATE_HOME" -ls >&2; false; }
	! grep -rqF "$(oauth_issued refresh)" "$T/home" ||
		{ echo "refresh token found in a file under HOME" >&2; false; }
	# the Secret Service has it
	assert_contains "$(cat "$T/keyring.dump")" "$(oauth_issued refresh)"
}

@test "keyring: an expired token there is refreshed, the rotated one stored there" {
	start_both --refresh-token "$PRE_REFRESH" --rotate
	oauth_config "oauth2_token_store keyring"
	printf '%s' "$MSG" >"$T/message.in"
	# what a login would have left in the keyring (oauth_store.h: one
	# entry per identity, attribute key, the store's JSON as the secret)
	"$PYTHON" -c 'import json, sys
sys.stdout.write(json.dumps({"version": 1, "refresh_token": sys.argv[1], "access_token": sys.argv[2],
                  "expires_at": 1000000000, "token_endpoint": sys.argv[3],
                  "client_id": sys.argv[4], "scope": sys.argv[5]}))' \
		"$PRE_REFRESH" "$OLD_ACCESS" "$OAUTH_URL/token" "$CLIENT_ID" \
		"$SCOPE" >"$T/seed.json"
	printf 'secret-tool store --label=outbox xdg:schema org.outbox.oauth2 key %s <"$T/seed.json"\n' \
		"$(store_key)" >"$T/session.lines"
	session_run send -C "$T/rc" -v rcpt@example.com
	session_run send2 -C "$T/rc" -v rcpt@example.com
	echo 'secret-tool search --all xdg:schema org.outbox.oauth2 >"$T/keyring.dump" 2>&1' \
		>>"$T/session.lines"
	KEYRING=yes run_in_dbus_session
	session_result send
	assert_exit 0
	assert_requests token refresh_token 1
	assert_equal "$(oauth_request 1 form.refresh_token)" "$PRE_REFRESH"
	assert_equal "$(received_envelope 1 auth.token)" \
		"$(oauth_request 1 reply.access_token)"
	assert_no_secret
	# the second send found the new access token in the keyring
	session_result send2
	assert_exit 0
	assert_equal "$(oauth_request_count)" 1
	assert_equal "$(received_envelope 2 auth.token)" \
		"$(oauth_request 1 reply.access_token)"
	assert_no_secret
	[ -z "$(find "$XDG_STATE_HOME" -name '*.json' 2>/dev/null)" ]
	local dump
	dump=$(cat "$T/keyring.dump")
	assert_contains "$dump" "$(oauth_request 1 reply.refresh_token)"
	assert_contains "$dump" "$(oauth_request 1 reply.access_token)"
	refute_contains "$dump" "$PRE_REFRESH"
}

@test "file storage: a session bus without a Secret Service falls back to the file" {
	start_both
	oauth_config "oauth2_token_store auto"
	printf '%s' "$MSG" >"$T/message.in"
	: >"$T/session.lines"
	session_run login -C "$T/rc" --oauth2-login -a test
	session_run send -C "$T/rc" -v rcpt@example.com
	KEYRING=no run_in_dbus_session
	session_result login
	assert_exit 0
	session_result send
	assert_sent_with "$(oauth_issued access)"
	assert_private_store
	assert_equal "$(store_get refresh_token)" "$(oauth_issued refresh)"
}

@test "file storage: without a session bus the tokens go to the 0600 file" {
	start_both
	oauth_config "oauth2_token_store auto"
	login
	assert_exit 0
	assert_private_store
	assert_equal "$(store_get refresh_token)" "$(oauth_issued refresh)"
	oauth_config "oauth2_token_store file"
	send_v
	assert_sent_with "$(oauth_issued access)"
	assert_equal "$(oauth_request_count)" 2
}

@test "oauth2_token_store keyring without a session bus is an error, nothing sent" {
	start_both --refresh-token "$PRE_REFRESH"
	oauth_config "oauth2_token_store keyring"
	send_v
	assert_exit 69
	assert_contains "$stderr" "eyring"
	assert_no_request
	assert_no_session
	assert_received 0
	# the login cannot keep what it gets either: it says why
	login
	assert_exit 69
	assert_contains "$stderr" "eyring"
}
