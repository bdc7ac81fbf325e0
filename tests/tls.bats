#!/usr/bin/env bats
# tls.bats - TLS through the binary: STARTTLS and implicit TLS, certificate
# verification (trust file, system trust, pinning, names, dates), client
# certificates, priorities, timeouts, and the STARTTLS security rules
# (invariants 1 and 2 of DESIGN.md).

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: tls\n\nbody\n'

setup_file() { make_certs; }

# A server offering STARTTLS with the certificate pair $1 $2 (default: the
# CA-signed localhost one), and AUTH so a test can see none was tried.
start_tls_server() {
	local cert=${1:-$SERVER_CERT} key=${2:-$SERVER_KEY}
	shift 2 || shift $#
	start_server --starttls --cert "$cert" --key "$key" \
		--auth-user joe --auth-password 'pw-Tls-9' "$@"
}

# The server saw no MAIL and no AUTH (and so no credentials).
assert_no_mail_no_auth() {
	assert_received 0
	refute_contains "$(wire_log)" "MAIL FROM"
	refute_contains "$(wire_log)" "AUTH"
	refute_contains "$(sessions_log)" "MAIL:"
	refute_contains "$(sessions_log)" "AUTH:"
}

# Only EHLO and STARTTLS (and at most a QUIT) went out in the clear.
assert_clear_only_starttls() {
	local verbs
	verbs=$(wire_clear_log | tr -d '\r' | awk '{print toupper($1)}' |
		sort -u | tr '\n' ' ')
	case $verbs in
	"EHLO STARTTLS " | "EHLO QUIT STARTTLS " | "EHLO " | "EHLO QUIT ") ;;
	*)
		echo "sent in the clear: $verbs" >&2
		wire_clear_log >&2
		return 1
		;;
	esac
}

# Start tls_hostile.py in MODE; sets PORT and HOSTILE_LOG.
start_hostile() {
	local dir=$T/hostile
	mkdir -p "$dir"
	HOSTILE_LOG=$dir/log
	"$PYTHON" "$SERVERS_DIR/tls_hostile.py" --port-file "$dir/port" \
		--log "$HOSTILE_LOG" --mode "$1" --watch-pid "$BASHPID" \
		</dev/null >"$dir/stdout" 2>"$dir/stderr" 3>&- &
	SERVER_PIDS+=("$!")
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$dir/port")
}

# gnutls-serv (an implicit-TLS echo server) with priority string $1 on a
# free port; sets PORT.
start_gnutls_serv() {
	PORT=$("$PYTHON" -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	gnutls-serv --port "$PORT" --x509certfile "$SERVER_CERT" \
		--x509keyfile "$SERVER_KEY" --priority "$1" \
		</dev/null >"$T/gnutls-serv.log" 2>&1 3>&- &
	SERVER_PIDS+=("$!")
	local i
	for ((i = 0; i < 200; i++)); do
		"$PYTHON" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$PORT" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "gnutls-serv did not listen" >&2
	return 1
}

@test "STARTTLS with the CA in tls_trust_file delivers over TLS" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$(received_envelope 1 tls.version)" "TLSv1."
	assert_clear_only_starttls
	# RFC 3207 4.2: EHLO again after the handshake
	assert_equal "$(grep -c '^EHLO' "$SPOOL/wire.log")" 2
}

@test "implicit TLS (tls_starttls off) delivers" {
	start_server --implicit-tls --cert "$SERVER_CERT" --key "$SERVER_KEY"
	server_config "$T/rc" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$(received_envelope 1 tls.version)" "TLSv1."
	assert_equal "$(wire_clear_log)" ""
}

@test "a certificate from an unknown CA is refused with 77" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $OTHER_CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_contains "$stderr" "127.0.0.1"
	assert_no_mail_no_auth
	assert_clear_only_starttls
}

@test "the system trust store is the default, and our test CA is not in it" {
	start_tls_server
	server_config "$T/rc" "tls on"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_no_mail_no_auth
}

@test "an expired certificate is refused with 77" {
	start_tls_server "$EXPIRED_CERT" "$EXPIRED_KEY"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "expired"
	assert_no_mail_no_auth
}

@test "a self-signed certificate is refused with 77" {
	start_tls_server "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_no_mail_no_auth
}

@test "a certificate for another name is refused with 77" {
	start_tls_server "$WRONGNAME_CERT" "$WRONGNAME_KEY"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not valid for the name '127.0.0.1'"
	assert_no_mail_no_auth
}

@test "tls_host_override names the certificate to expect" {
	start_tls_server "$WRONGNAME_CERT" "$WRONGNAME_KEY"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_host_override wrong.example"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "host localhost is checked against the certificate's DNS name" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "host localhost"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "a pin that does not match is refused with 77" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_fingerprint $SELFSIGNED_CERT_SHA256" \
		"auth on" "user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "does not match tls_fingerprint"
	# the message names the fingerprint the server really has
	assert_contains "$stderr" "$SERVER_CERT_SHA256"
	assert_no_mail_no_auth
}

@test "a matching SHA-256 pin works for a self-signed server, no trust store" {
	start_tls_server "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	# the trust file does not exist: with a pin it must not even be read
	server_config "$T/rc" "tls on" "tls_fingerprint $SELFSIGNED_CERT_SHA256" \
		"tls_trust_file $T/does-not-exist.pem"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "a SHA-1 pin (msmtp's older form) is accepted" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_fingerprint $SERVER_CERT_SHA1"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
}

@test "a malformed pin is a configuration error before any handshake" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_fingerprint AB:CD:EF"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 78
	assert_received 0
	refute_contains "$(sessions_log)" "TLS:"
}

@test "tls_certcheck off delivers with a loud warning" {
	start_tls_server "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	server_config "$T/rc" "tls on" "tls_certcheck off"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	assert_contains "$stderr" "not verified"
	assert_contains "$stderr" "$SELFSIGNED_CERT_SHA256"
}

@test "tls on but STARTTLS not offered: 77, nothing but EHLO was sent" {
	start_server --auth-user joe --auth-password pw-Tls-9 \
		--auth-allow-plaintext
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "STARTTLS"
	assert_no_mail_no_auth
	assert_clear_only_starttls
}

@test "STARTTLS answered 454 is a temporary failure (75)" {
	start_tls_server "$SERVER_CERT" "$SERVER_KEY" \
		--fault 'starttls=454 4.7.0 TLS not available now'
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 75
	assert_contains "$stderr" "454"
	assert_no_mail_no_auth
}

@test "plaintext injected after the STARTTLS reply is refused" {
	start_tls_server "$SERVER_CERT" "$SERVER_KEY" \
		--fault 'starttls=inject:250 2.1.0 injected'
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "auth on" \
		"user joe" "password pw-Tls-9"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "injection"
	assert_no_mail_no_auth
	# no handshake completed (the server logs TLSFAIL when we hang up)
	refute_contains "$(sessions_log)" "TLS:TLSv"
}

@test "a server silent after STARTTLS costs at most the timeout (75)" {
	start_hostile silent-after-starttls
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "timeout 2"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 75
	assert_contains "$stderr" "TLS handshake"
	assert_contains "$stderr" "timed out"
	assert_elapsed_below 4500
}

@test "a silent implicit-TLS server costs at most the timeout (75)" {
	start_hostile silent
	server_config "$T/rc" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT" "timeout 2"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 75
	assert_contains "$stderr" "TLS handshake"
	assert_elapsed_below 4500
}

@test "a connection closed during the handshake is temporary (75)" {
	start_hostile close-after-starttls
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 75
}

@test "a server answering the handshake with non-TLS bytes: 76" {
	start_hostile garbage-after-starttls
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 76
	refute_contains "$(cat "$HOSTILE_LOG")" "MAIL FROM"
}

@test "implicit TLS against a plain SMTP server says to use STARTTLS (76)" {
	start_server
	server_config "$T/rc" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 76
	assert_contains "$stderr" "tls_starttls on"
	assert_received 0
}

@test "no TLS version in common: permanent (69), names tls_priorities" {
	# gnutls-serv, because it answers with a protocol_version alert where
	# Python's ssl module just closes the connection.
	start_gnutls_serv 'NORMAL:-VERS-ALL:+VERS-TLS1.3'
	server_config "$T/rc" "tls on" "tls_starttls off" \
		"tls_trust_file $CA_CERT" "tls_priorities NORMAL:-VERS-ALL:+VERS-TLS1.2"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 69
	assert_contains "$stderr" "refused the TLS handshake"
	assert_contains "$stderr" "tls_priorities"
}

@test "the default priorities negotiate TLS 1.3 and accept a 1.2-only server" {
	start_tls_server "$SERVER_CERT" "$SERVER_KEY" --tls-max 1.2
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_equal "$(received_envelope 1 tls.version)" "TLSv1.2"
	stop_server
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_equal "$(received_envelope 1 tls.version)" "TLSv1.3"
}

@test "an invalid priority string is a configuration error (78)" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_priorities NORMAL:+NO-SUCH-THING"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "tls_priorities"
	assert_received 0
}

@test "an unreadable trust file is a configuration error (78)" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $T/missing.pem"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "$T/missing.pem"
}

@test "a client certificate is presented when configured" {
	start_tls_server "$SERVER_CERT" "$SERVER_KEY" --client-ca "$CA_CERT"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_cert_file $CLIENT_CERT" "tls_key_file $CLIENT_KEY"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_equal "$(received_envelope 1 tls.client_cert)" "outbox client"
}

@test "tls_cert_file without tls_key_file is a configuration error" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_cert_file $CLIENT_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "tls_key_file"
}

@test "--serverinfo shows the certificate" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	run_outbox -C "$T/rc" --serverinfo
	assert_exit 0
	assert_contains "$output" "CN=localhost"
	assert_contains "$output" "CN=outbox test CA"
	assert_contains "$output" "$SERVER_CERT_SHA256"
	assert_contains "$output" "$SERVER_CERT_SHA1"
	assert_contains "$output" "Expiration time:"
	assert_contains "$output" "TLS1."
}

@test "--serverinfo with tls_certcheck off still shows the certificate" {
	start_tls_server "$SELFSIGNED_CERT" "$SELFSIGNED_KEY"
	server_config "$T/rc" "tls on" "tls_certcheck off"
	run_outbox -C "$T/rc" --serverinfo
	assert_exit 0
	assert_contains "$output" "$SELFSIGNED_CERT_SHA256"
	assert_contains "$output$stderr" "not verified"
}

# A CA-signed certificate for the names given as certtool template lines;
# sets EXTRA_CERT and EXTRA_KEY.
make_extra_cert() {
	EXTRA_KEY=$T/extra.key EXTRA_CERT=$T/extra.pem
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$EXTRA_KEY" 2>/dev/null
	{
		printf '%s\n' "$@"
		printf 'tls_www_server\nsigning_key\nexpiration_days = 30\n'
	} >"$T/extra.tmpl"
	certtool --generate-certificate --load-privkey "$EXTRA_KEY" \
		--load-ca-certificate "$CA_CERT" --load-ca-privkey "$CA_KEY" \
		--template "$T/extra.tmpl" --outfile "$EXTRA_CERT" 2>/dev/null
}

@test "a certificate revoked in tls_crl_file is refused with 77" {
	make_extra_cert 'cn = "localhost"' 'ip_address = "127.0.0.1"'
	printf 'crl_next_update = 30\ncrl_number = 1\n' >"$T/crl.tmpl"
	certtool --generate-crl --load-ca-privkey "$CA_KEY" \
		--load-ca-certificate "$CA_CERT" --load-certificate "$EXTRA_CERT" \
		--template "$T/crl.tmpl" --outfile "$T/crl.pem" 2>/dev/null
	start_tls_server "$EXTRA_CERT" "$EXTRA_KEY"
	# without the CRL the certificate is fine
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_crl_file $T/crl.pem"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "revoked"
	assert_received 1
}

@test "an internationalized tls_host_override is checked as its A-label" {
	# bücher.example is xn--bcher-kva.example (RFC 3492 / IDNA2008)
	make_extra_cert 'cn = "xn--bcher-kva.example"' \
		'dns_name = "xn--bcher-kva.example"'
	start_tls_server "$EXTRA_CERT" "$EXTRA_KEY"
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_host_override bücher.example"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" \
		"tls_host_override bucher.example"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "bucher.example"
}

@test "a large message crosses TLS intact (writes that would block)" {
	start_tls_server
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT"
	{
		printf 'From: sender@example.com\nTo: rcpt@example.com\n'
		printf 'Subject: big\n\n'
		"$PYTHON" -c 'import sys
for i in range(120000):
    sys.stdout.write("line %06d of a large message over TLS...\n" % i)'
	} >"$T/big.in"
	run_outbox -C "$T/rc" rcpt@example.com <"$T/big.in"
	assert_exit 0
	assert_received 1
	local sent got
	sent=$(tail -n +5 "$T/big.in" | sha256sum)
	got=$(received_body 1 | tr -d '\r' | sha256sum)
	assert_equal "$got" "$sent"
}

@test "an IPv6 literal host is checked against the certificate's IP address" {
	start_tls_server "$SERVER_CERT" "$SERVER_KEY" --ipv6
	server_config "$T/rc" "tls on" "tls_trust_file $CA_CERT" "host ::1"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
}
