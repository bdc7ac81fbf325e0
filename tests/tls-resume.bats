#!/usr/bin/env bats
# tls-resume.bats - TLS session resumption across runs (tls_session_cache,
# src/tls_cache.h): a second send resumes, a changed identity does not, a
# damaged, expired, foreign or refused cache entry ends in a verified full
# handshake, and every certificate failure still fails with the cache warm.
#
# The suite runs as root (CI does), whose cache lives in the system spool
# (/var/spool/outbox/tls-cache). So the real /var/spool is never touched,
# $OUTBOX is a wrapper that runs the binary in a private mount namespace
# with $T/varspool bind-mounted over /var/spool; the cache is then
# $T/varspool/outbox/tls-cache, in plain view of the test. One test runs
# as nobody (the $XDG_CACHE_HOME path). Without root or unshare every test
# is skipped with the reason.
#
# The test server (smtpd.py) records in N.json whether the client resumed
# (tls.resumed), and in sessions.log a RESUMED token. A server process
# keeps its ticket keys for its life: a restarted server never accepts an
# old ticket. To put a ticket in front of another server (one that cannot
# decrypt it: "the server refuses the ticket"), retarget_entry rewrites an
# entry for that server's port, as a valid entry of that key.

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: resume\n\nbody\n'

setup_file() {
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="needs root (the cache in the spool, a mount namespace)"
	elif ! command -v unshare >/dev/null; then
		why="needs unshare"
	elif ! unshare --mount --propagation private -- /bin/sh -c \
		'mount --bind /tmp /var/spool' 2>/dev/null; then
		why="cannot bind-mount over /var/spool in a mount namespace"
	fi
	export RS_SKIP=$why
	[ -z "$why" ] || return 0
	make_certs
	local d=$CERT_DIR
	# A second certificate for localhost from the same CA (a renewal).
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$d/renewed.key" 2>/dev/null
	cert_template_server localhost 'dns_name = "localhost"' \
		'ip_address = "127.0.0.1"' 'expiration_days = 365' \
		>"$d/renewed.tmpl"
	certtool --generate-certificate --load-privkey "$d/renewed.key" \
		--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca.key" \
		--template "$d/renewed.tmpl" --outfile "$d/renewed.pem" 2>/dev/null
	export RENEWED_CERT=$d/renewed.pem RENEWED_KEY=$d/renewed.key
	# The binary in a namespace where /var/spool is the test's own.
	export REAL_OUTBOX=$OUTBOX
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	cat >"$BATS_FILE_TMPDIR/bin/outbox" <<'EOF'
#!/bin/sh
exec unshare --mount --propagation private -- /bin/sh -c \
	'mount --bind "$OUTBOX_TEST_VARSPOOL" /var/spool &&
	 { [ -z "${OUTBOX_TEST_CERTS:-}" ] ||
	   mount --bind "$OUTBOX_TEST_CERTS" /etc/ssl/certs; } &&
	 exec "$0" "$@"' \
	"$REAL_OUTBOX" "$@"
EOF
	chmod 755 "$BATS_FILE_TMPDIR/bin/outbox"
}

setup() {
	setup_common
	[ -z "${RS_SKIP:-}" ] || skip "$RS_SKIP"
	export OUTBOX=$BATS_FILE_TMPDIR/bin/outbox
	export OUTBOX_TEST_VARSPOOL=$T/varspool
	mkdir -p "$T/varspool/outbox"
	chmod 750 "$T/varspool/outbox"
	CACHE=$T/varspool/outbox/tls-cache
}

# ------------------------------------------------------------------ helpers

start_tls_server() { # [CERT KEY] [smtpd.py options...]
	local cert=${1:-$SERVER_CERT} key=${2:-$SERVER_KEY}
	shift 2 || shift $#
	start_server --starttls --cert "$cert" --key "$key" \
		--auth-user joe --auth-password 'pw-Res-7' "$@"
}

# An account for the current server: STARTTLS, the test CA, AUTH PLAIN.
resume_config() { # FILE [LINE...]
	local file=$1
	shift
	server_config "$file" "tls on" "tls_trust_file $CA_CERT" "auth plain" \
		"user joe" "password pw-Res-7" "$@"
}

send_ok() { # CONFIG
	send_message "$MSG" -C "$1" rcpt@example.com
	assert_exit 0
}

# Message N of the current server came over a resumed session: true/false.
resumed() { received_envelope "$1" tls.resumed; }

cache_files() { ls -A "$CACHE" 2>/dev/null | grep -v '^\.tmp-' || true; }
cache_count() { cache_files | grep -c . || true; }
the_entry() { echo "$CACHE/$(cache_files | head -1)"; }

# The server saw no MAIL and no AUTH (and so no credentials).
assert_no_mail_no_auth() {
	assert_received 0
	refute_contains "$(wire_log)" "MAIL FROM"
	refute_contains "$(wire_log)" "AUTH"
}

# Rewrite cache entry FILE as the entry of the same account on port NEW:
# the same ticket, offered to a server that never issued it. Prints the new
# file's path.
retarget_entry() { # FILE NEW_PORT
	"$PYTHON" - "$1" "$2" <<'EOF'
import hashlib, os, re, sys
path, port = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
head, _, rest = raw.partition(b"\n\n")
fields = dict(l.split(b" ", 1) for l in head.split(b"\n")[1:])
klen, dlen = int(fields[b"key"]), int(fields[b"data"])
key, data = rest[:klen], rest[klen:klen + dlen]
key = re.sub(rb"\nport \d+\n", b"\nport " + port.encode() + b"\n", key)
out = b"outbox-tls-session 2\nexpires %s\nstored %s\nkey %d\ndata %d\n\n" % (
    fields[b"expires"], fields[b"stored"], len(key), len(data)) + key + data
new = os.path.join(os.path.dirname(path), hashlib.sha256(key).hexdigest())
fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, out)
os.close(fd)
print(new)
EOF
}

# Set the expiry of cache entry FILE to SECONDS since the epoch.
set_expiry() { # FILE SECONDS
	sed -i "2s/^expires [0-9]*\$/expires $2/" "$1"
}

# Set the storing time of cache entry FILE to SECONDS since the epoch.
set_stored() { # FILE SECONDS
	sed -i "3s/^stored [0-9]*\$/stored $2/" "$1"
}

# ------------------------------------------------------------------ resuming

@test "a second send to the same server resumes the TLS session" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 1)" false
	assert_equal "$(cache_count)" 1
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" true
	assert_equal "$(received_envelope 2 auth.mechanism)" PLAIN
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" true
	assert_equal "$(cache_count)" 1
	# Invariant 1 still holds: only EHLO and STARTTLS in the clear.
	refute_contains "$(wire_clear_log)" "AUTH"
	refute_contains "$(wire_clear_log)" "MAIL"
}

@test "a resumed session keeps a fresh entry, and renews one past half its life" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	local before
	before=$(stat -c '%i %Y' "$f")$(sha256sum <"$f")
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" true
	# reused, not rewritten (tls_cache.h: Reuse)
	assert_equal "$(stat -c '%i %Y' "$f")$(sha256sum <"$f")" "$before"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" true
	# less than an hour left: the next resumed session stores its ticket
	set_expiry "$f" $(($(date +%s) + 1800))
	send_ok "$T/rc"
	assert_equal "$(resumed 4)" true
	[ "$(sed -n '2s/^expires //p' "$f")" -gt $(($(date +%s) + 3600)) ]
	send_ok "$T/rc"
	assert_equal "$(resumed 5)" true
}

@test "the cache is 0600 files in a 0700 directory of root's in the spool" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(stat -c '%a %u %F' "$CACHE")" "700 0 directory"
	local f
	f=$(the_entry)
	assert_equal "$(stat -c '%a %u %h %F' "$f")" "600 0 1 regular file"
	[[ "$(basename "$f")" =~ ^[0-9a-f]{64}$ ]]
	# The spool itself was the package's, and stays as it was.
	assert_equal "$(stat -c '%a' "$T/varspool/outbox")" 750
	# The file names the server and our settings, never the password.
	refute_contains "$(cat "$f")" "pw-Res-7"
	assert_contains "$(head -c 200 "$f")" "outbox-tls-session 2"
}

@test "implicit TLS resumes too" {
	start_server --implicit-tls --cert "$SERVER_CERT" --key "$SERVER_KEY"
	server_config "$T/rc" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 1) $(resumed 2)" "false true"
	assert_equal "$(wire_clear_log)" ""
}

@test "TLS 1.2 session tickets resume" {
	start_tls_server "" "" --tls-max 1.2
	resume_config "$T/rc"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(received_envelope 2 tls.version)" TLSv1.2
	assert_equal "$(resumed 1) $(resumed 2)" "false true"
}

@test "a pinned server (tls_fingerprint) resumes; another pin does not reuse it" {
	start_tls_server
	resume_config "$T/rc" "tls_fingerprint $SERVER_CERT_SHA256"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" true
	# the same certificate pinned by its SHA-1: another identity
	resume_config "$T/rc2" "tls_fingerprint $SERVER_CERT_SHA1"
	send_ok "$T/rc2"
	assert_equal "$(resumed 3)" false
	assert_equal "$(cache_count)" 2
}

@test "a pinned certificate resumes whatever its dates (a pin checks none)" {
	# An expired self-signed certificate, pinned: the pin's verdict does
	# not end with the certificate, so its entry is kept and used.
	local d=$T/old
	mkdir -p "$d"
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$d/key" 2>/dev/null
	cert_template_server localhost 'ip_address = "127.0.0.1"' \
		'activation_date = "2020-01-01 00:00:00"' \
		'expiration_date = "2021-01-01 00:00:00"' >"$d/tmpl"
	certtool --generate-self-signed --load-privkey "$d/key" \
		--template "$d/tmpl" --outfile "$d/cert" 2>/dev/null
	start_tls_server "$d/cert" "$d/key"
	resume_config "$T/rc" "tls_fingerprint $(cert_fingerprint "$d/cert" sha256)"
	send_ok "$T/rc"
	assert_equal "$(cache_count)" 1
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" true
}

# ------------------------------------------------------ a changed identity

@test "a changed trust file (path or contents) does not reuse the session" {
	start_tls_server
	cp "$CA_CERT" "$T/ca.pem"
	resume_config "$T/rc" "tls_trust_file $T/ca.pem"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" true
	# the same path, another content: one more CA in the file
	cat "$OTHER_CA_CERT" >>"$T/ca.pem"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" false
	# the same content at another path
	cp "$CA_CERT" "$T/ca2.pem"
	resume_config "$T/rc2" "tls_trust_file $T/ca2.pem"
	send_ok "$T/rc2"
	assert_equal "$(resumed 4)" false
	assert_equal "$(cache_count)" 3
}

# The system store (no tls_trust_file): a copy of /etc/ssl/certs that also
# trusts the test CA, bound over the real one in outbox's namespace. The
# bundle's identity is part of the key, so update-ca-certificates (a new
# bundle) ends resumption; without the CA the server is refused again.
@test "the system store resumes; a rewritten bundle does not reuse the session" {
	start_tls_server
	export OUTBOX_TEST_CERTS=$T/certs
	cp -a /etc/ssl/certs "$OUTBOX_TEST_CERTS"
	local bundle=$OUTBOX_TEST_CERTS/ca-certificates.crt
	cat "$CA_CERT" >>"$bundle"
	server_config "$T/rc" "tls on" "auth plain" "user joe" \
		"password pw-Res-7"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 1)" false
	assert_equal "$(resumed 2)" true
	# Rewritten with the same contents: a new file, a full handshake.
	cp "$bundle" "$bundle.new" && mv "$bundle.new" "$bundle"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" false
	# The CA removed: refused, although a ticket for the old store exists.
	cp /etc/ssl/certs/ca-certificates.crt "$bundle.new"
	mv "$bundle.new" "$bundle"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_received 3
}

@test "another SNI name (tls_host_override) does not reuse the session" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	resume_config "$T/rc2" "tls_host_override localhost"
	send_ok "$T/rc2"
	assert_equal "$(resumed 2)" false
	send_ok "$T/rc2"
	assert_equal "$(resumed 3)" true
	assert_equal "$(cache_count)" 2
}

@test "a client certificate is part of the identity" {
	start_tls_server "" "" --client-ca "$CA_CERT"
	resume_config "$T/with" "tls_cert_file $CLIENT_CERT" \
		"tls_key_file $CLIENT_KEY"
	resume_config "$T/without"
	send_ok "$T/with"
	assert_equal "$(received_envelope 1 tls.client_cert)" "outbox client"
	send_ok "$T/without"
	assert_equal "$(resumed 2)" false
	assert_equal "$(received_envelope 2 tls.client_cert)" null
	send_ok "$T/with"
	assert_equal "$(resumed 3)" true
	assert_equal "$(received_envelope 3 tls.client_cert)" "outbox client"
	assert_equal "$(cache_count)" 2
}

@test "an entry under another key's name is never used (the key is checked)" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local a
	a=$(the_entry)
	resume_config "$T/rc2" "tls_host_override localhost"
	send_ok "$T/rc2"
	local b
	b=$(cache_files | grep -vx "$(basename "$a")")
	# a's ticket, renamed to be b's entry
	cp "$a" "$CACHE/$b"
	send_ok "$T/rc2"
	assert_equal "$(resumed 3)" false
	# it was removed and replaced by a real entry for b
	refute_contains "$(cat "$CACHE/$b")" "server_name 9:127.0.0.1"
	send_ok "$T/rc2"
	assert_equal "$(resumed 4)" true
}

# ------------------------------------------------ damaged or refused entries

@test "an expired cache entry is not offered, and is replaced" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	set_expiry "$f" $(($(date +%s) - 10))
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	local expires
	expires=$(sed -n '2s/^expires //p' "$f")
	[ "$expires" -gt "$(date +%s)" ]
	# at most 2 hours ahead (TLS_CACHE_LIFETIME)
	[ "$expires" -le $(($(date +%s) + 7200)) ]
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" true
}

@test "an expiry beyond 7 days is refused (a forged file, a clock set back)" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	set_expiry "$(the_entry)" $(($(date +%s) + 8 * 86400))
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
}

@test "a corrupted cache entry (garbage, truncated, bad data) ends in a full handshake" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	cp "$f" "$T/good"
	head -c 4096 /dev/urandom >"$f"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	# truncated: the lengths no longer match
	head -c $(($(stat -c %s "$T/good") - 20)) "$T/good" >"$f"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" false
	# a valid file whose session data is garbage: GnuTLS refuses it
	"$PYTHON" - "$T/good" "$f" <<'EOF'
import sys
raw = open(sys.argv[1], "rb").read()
head, _, rest = raw.partition(b"\n\n")
klen = int(dict(l.split(b" ", 1) for l in head.split(b"\n")[1:])[b"key"])
body = rest[:klen] + b"\x55" * (len(rest) - klen)
open(sys.argv[2], "wb").write(head + b"\n\n" + body)
EOF
	send_ok "$T/rc"
	assert_equal "$(resumed 4)" false
	send_ok "$T/rc"
	assert_equal "$(resumed 5)" true
	assert_equal "$(received_count)" 5
	# one connection per send: nothing needed a retry
	assert_equal "$(session_count)" 5
}

@test "a server that refuses the ticket gets a verified full handshake" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local first=$(the_entry)
	# another server process (other ticket keys) that issues no tickets
	start_tls_server "" "" --no-tickets
	retarget_entry "$first" "$PORT" >/dev/null
	resume_config "$T/rc2"
	send_ok "$T/rc2"
	assert_equal "$(resumed 1)" false
	assert_equal "$(session_count)" 1
	send_ok "$T/rc2"
	assert_equal "$(resumed 2)" false
}

@test "a server whose certificate changed (same CA) is verified again and accepted" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local first=$(the_entry)
	start_tls_server "$RENEWED_CERT" "$RENEWED_KEY"
	retarget_entry "$first" "$PORT" >/dev/null
	resume_config "$T/rc2"
	send_ok "$T/rc2"
	assert_equal "$(resumed 1)" false
	send_ok "$T/rc2"
	assert_equal "$(resumed 2)" true
}

# A warm entry for the server's key, then the server presents CERT (a
# restarted server: it cannot take the ticket): sets up $T/rc2 for it.
warm_then_restart_with() { # CERT KEY [config lines...]
	local cert=$1 key=$2
	shift 2
	start_tls_server
	resume_config "$T/rc" "$@"
	send_ok "$T/rc"
	local first=$(the_entry)
	start_tls_server "$cert" "$key"
	retarget_entry "$first" "$PORT" >/dev/null
	resume_config "$T/rc2" "$@"
}

@test "warm cache: a certificate from an unknown CA is still refused with 77" {
	warm_then_restart_with "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	send_message "$MSG" -C "$T/rc2" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_no_mail_no_auth
}

@test "warm cache: a certificate for another name is still refused with 77" {
	warm_then_restart_with "$WRONGNAME_CERT" "$WRONGNAME_KEY"
	send_message "$MSG" -C "$T/rc2" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not valid for the name"
	assert_no_mail_no_auth
}

@test "warm cache: an expired certificate is still refused with 77" {
	warm_then_restart_with "$EXPIRED_CERT" "$EXPIRED_KEY"
	send_message "$MSG" -C "$T/rc2" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "expired"
	assert_no_mail_no_auth
}

@test "warm cache: a pin mismatch is still refused with 77" {
	warm_then_restart_with "$RENEWED_CERT" "$RENEWED_KEY" \
		"tls_fingerprint $SERVER_CERT_SHA256"
	send_message "$MSG" -C "$T/rc2" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "does not match tls_fingerprint"
	assert_no_mail_no_auth
}

@test "warm cache: a trust file without the CA refuses even a resumable server" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	# the same server (it would take the ticket), but now trusting only
	# another CA: another key, nothing offered, and the verdict is no
	resume_config "$T/rc2" "tls_trust_file $OTHER_CA_CERT"
	send_message "$MSG" -C "$T/rc2" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_received 1
	refute_contains "$(sessions_log | tail -1)" RESUMED
}

@test "an entry never outlives its certificate: once it expired, a full handshake refuses" {
	# A certificate valid for a few more seconds only.
	local d=$T/short
	mkdir -p "$d"
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$d/key" 2>/dev/null
	local until=$(($(date +%s) + 6))
	cert_template_server localhost 'ip_address = "127.0.0.1"' \
		"activation_date = \"$(date -u -d @$(($(date +%s) - 3600)) '+%Y-%m-%d %H:%M:%S')\"" \
		"expiration_date = \"$(date -u -d @$until '+%Y-%m-%d %H:%M:%S')\"" \
		>"$d/tmpl"
	certtool --generate-certificate --load-privkey "$d/key" \
		--load-ca-certificate "$CA_CERT" --load-ca-privkey "$CA_KEY" \
		--template "$d/tmpl" --outfile "$d/cert" 2>/dev/null
	start_tls_server "$d/cert" "$d/key"
	resume_config "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(cache_count)" 1
	# The entry ends with the certificate (tls_cache.h: Lifetime), not
	# two hours later.
	assert_equal "$(sed -n '2s/^expires //p' "$(the_entry)")" "$until"
	while [ "$(date +%s)" -le $((until + 1)) ]; do sleep 0.5; done
	# No ticket is offered for a chain that has expired: the full
	# handshake gives the verdict.
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "expired"
	assert_received 1
	assert_equal "$(session_count)" 2
	refute_contains "$(sed -n 2p "$SPOOL/sessions.log")" RESUMED
	refute_contains "$(sed -n 2p "$SPOOL/sessions.log")" "AUTH"
	assert_equal "$(cache_count)" 0
}

@test "an entry stored in the future (a clock set back) is not used, and is replaced" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	set_stored "$f" $(($(date +%s) + 600))
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	[ "$(sed -n '3s/^stored //p' "$f")" -le "$(date +%s)" ]
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" true
}

# ------------------------------------------------------------ who may read

@test "a cache entry owned by another user is never read, and is replaced" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	chown 65534:65534 "$f"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	assert_equal "$(stat -c '%u %a' "$f")" "0 600"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" true
}

@test "an entry readable by others, a symlink or a hard link is never read" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local f
	f=$(the_entry)
	chmod 644 "$f"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	# a symlink to a valid entry elsewhere: not followed, removed
	cp -p "$f" "$T/elsewhere"
	ln -sf "$T/elsewhere" "$f"
	send_ok "$T/rc"
	assert_equal "$(resumed 3)" false
	[ ! -L "$f" ]
	assert_equal "$(stat -c %a "$T/elsewhere")" 600
	# a second name for the entry
	ln "$f" "$T/hardlink"
	send_ok "$T/rc"
	assert_equal "$(resumed 4)" false
	rm -f "$T/hardlink"
	send_ok "$T/rc"
	assert_equal "$(resumed 5)" true
}

@test "a cache directory that is not root's alone is not used" {
	start_tls_server
	mkdir -p "$CACHE"
	chown 65534 "$CACHE"
	resume_config "$T/rc"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	assert_equal "$(cache_count)" 0
}

@test "as a normal user the cache is \$XDG_CACHE_HOME/outbox/tls, 0700 and 0600" {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
	start_tls_server
	local u
	u=$(mktemp -d /tmp/outbox-tls-user-XXXXXX)
	chmod 755 "$u"
	mkdir -p "$u/home" "$u/bin"
	cp "$REAL_OUTBOX" "$u/bin/outbox"
	cp "$CA_CERT" "$u/ca.pem"
	resume_config "$u/cfg" "tls_trust_file $u/ca.pem"
	chown -R 65534:65534 "$u"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env HOME="$u/home" XDG_CACHE_HOME="$u/cache" \
			"$u/bin/outbox" -C "$u/cfg" rcpt@example.com <<<"$MSG"
	}
	as_nobody
	as_nobody
	assert_equal "$(resumed 1) $(resumed 2)" "false true"
	assert_equal "$(stat -c '%u %a' "$u/cache/outbox/tls")" "65534 700"
	local f
	f=$(ls "$u/cache/outbox/tls")
	assert_equal "$(stat -c '%u %a' "$u/cache/outbox/tls/$f")" "65534 600"
	# without XDG_CACHE_HOME: ~/.cache
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -u XDG_CACHE_HOME HOME="$u/home" "$u/bin/outbox" \
		-C "$u/cfg" rcpt@example.com <<<"$MSG"
	[ -d "$u/home/.cache/outbox/tls" ]
	# root's cache is not the user's
	assert_equal "$(cache_count)" 0
	rm -rf "$u"
}

@test "without the system spool, root keeps no cache and never creates it" {
	rm -rf "$T/varspool/outbox"
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	[ ! -e "$T/varspool/outbox" ]
}

# ------------------------------------------------------------ turning it off

@test "tls_session_cache off writes nothing and offers nothing" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	resume_config "$T/off" "tls_session_cache off"
	rm -rf "$CACHE"
	send_ok "$T/off"
	send_ok "$T/off"
	assert_equal "$(resumed 2) $(resumed 3)" "false false"
	[ ! -e "$CACHE" ]
	run_outbox -C "$T/off" --pretend </dev/null
	assert_contains "$output" "tls_session_cache = off"
	run_outbox -C "$T/rc" --pretend </dev/null
	assert_contains "$output" "tls_session_cache = on"
}

@test "tls_certcheck off keeps no ticket" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_certcheck off"
	send_ok "$T/rc"
	send_ok "$T/rc"
	assert_equal "$(resumed 2)" false
	[ ! -e "$CACHE" ] || assert_equal "$(cache_count)" 0
}

@test "-v never shows the ticket" {
	start_tls_server
	resume_config "$T/rc"
	send_ok "$T/rc"
	local data
	data=$(tail -c 64 "$(the_entry)" | od -An -tx1 | tr -d ' \n')
	send_message "$MSG" -C "$T/rc" -v rcpt@example.com
	assert_exit 0
	assert_equal "$(resumed 2)" true
	refute_contains "$(printf '%s' "$stderr" | od -An -tx1 | tr -d ' \n')" \
		"$data"
	refute_contains "$stderr" "outbox-tls-session"
}
