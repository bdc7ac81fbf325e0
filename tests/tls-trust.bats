#!/usr/bin/env bats
# tls-trust.bats - verification against the system trust store, which
# outbox loads by need (src/tls_trust.h): only the bundle's certificates
# that the server's chain can consult. Each case sends through a server
# with some chain twice, once with the system store (the default) and once
# with tls_trust_file naming the same bundle (GnuTLS parses all of it):
# the exit status and the error line must be the same, and the expected
# one.
#
# The system store's path is compiled in, so every run of outbox happens
# in a private mount namespace (unshare --mount) with a test store bound
# over /etc/ssl/certs: the machine's bundle (for realism: ~150 certificates
# in GnuTLS's buckets) plus this file's test roots, made with certtool at
# test time. The real /etc/ssl/certs is never touched. Needs root (CI runs
# as root) and unshare; otherwise every test is skipped with the reason.

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: trust\n\nbody\n'

# issue ROLE SIGNER CN [TEMPLATE LINES...]: a key and a certificate
# $D/ROLE.pem signed by $D/SIGNER (or self-signed with SIGNER "self").
issue() {
	local role=$1 signer=$2 cn=$3
	shift 3
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$D/$role.key" 2>/dev/null
	printf 'cn = "%s"\n' "$cn" >"$D/$role.tmpl"
	printf '%s\n' "$@" >>"$D/$role.tmpl"
	if [ "$signer" = self ]; then
		certtool --generate-self-signed --load-privkey "$D/$role.key" \
			--template "$D/$role.tmpl" --outfile "$D/$role.pem" \
			2>/dev/null
	else
		certtool --generate-certificate --load-privkey "$D/$role.key" \
			--load-ca-certificate "$D/$signer.pem" \
			--load-ca-privkey "$D/$signer.key" \
			--template "$D/$role.tmpl" --outfile "$D/$role.pem" \
			2>/dev/null
	fi
}

setup_file() {
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="needs root for a mount namespace"
	elif ! command -v unshare >/dev/null; then
		why="needs unshare"
	elif ! unshare --mount --propagation private -- /bin/sh -c \
		'mkdir -p /etc/ssl/certs && mount --bind /tmp /etc/ssl/certs' \
		2>/dev/null; then
		why="cannot bind a directory over /etc/ssl/certs in a mount namespace"
	fi
	export TRUST_SKIP=$why
	[ -z "$why" ] || return 0

	D=$BATS_FILE_TMPDIR/trust
	mkdir -p "$D"
	local ca=(ca cert_signing_key crl_signing_key 'expiration_days = 3650')
	local leaf=('dns_name = "localhost"' 'ip_address = "127.0.0.1"'
		tls_www_server signing_key encryption_key)
	issue root self "outbox trust test root" "${ca[@]}"
	issue inter root "outbox trust test intermediate" "${ca[@]}"
	issue leaf inter localhost "${leaf[@]}" 'expiration_days = 365'
	issue expired inter localhost "${leaf[@]}" \
		'activation_date = "2019-01-01 00:00:00"' \
		'expiration_date = "2020-01-01 00:00:00"'
	issue wrongname inter wrong.example 'dns_name = "wrong.example"' \
		tls_www_server signing_key encryption_key 'expiration_days = 365'
	issue revoked inter localhost "${leaf[@]}" 'expiration_days = 365'
	issue direct root localhost "${leaf[@]}" 'expiration_days = 365'
	issue stranger self "outbox trust test stranger" "${ca[@]}"
	issue strangeleaf stranger localhost "${leaf[@]}" \
		'expiration_days = 365'
	# A root renewed under the same name and key: the old one expired.
	# Both are in the store, the old one first (GnuTLS must pick the
	# valid one among same-named issuers, in bundle order).
	issue twin self "outbox trust test twin" "${ca[@]}" \
		'activation_date = "2019-01-01 00:00:00"' \
		'expiration_date = "2020-01-01 00:00:00"'
	cp "$D/twin.pem" "$D/twin-old.pem"
	certtool --generate-self-signed --load-privkey "$D/twin.key" \
		--template <(printf 'cn = "outbox trust test twin"\nca\ncert_signing_key\nexpiration_days = 3650\n') \
		--outfile "$D/twin.pem" 2>/dev/null
	issue twinleaf twin localhost "${leaf[@]}" 'expiration_days = 365'
	printf 'crl_next_update = 30\ncrl_number = 1\n' >"$D/crl.tmpl"
	certtool --generate-crl --load-ca-privkey "$D/inter.key" \
		--load-ca-certificate "$D/inter.pem" \
		--load-certificate "$D/revoked.pem" --template "$D/crl.tmpl" \
		--outfile "$D/crl.pem" 2>/dev/null

	# The store: the machine's bundle when there is one, then ours.
	STORE=$D/store
	mkdir -p "$STORE"
	{
		cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true
		cat "$D/twin-old.pem" "$D/root.pem" "$D/twin.pem"
	} >"$STORE/ca-certificates.crt"
	# A store that holds the intermediate only, not its root.
	INTER_STORE=$D/inter-store
	mkdir -p "$INTER_STORE"
	cp "$D/inter.pem" "$INTER_STORE/ca-certificates.crt"

	# outbox run in its own mount namespace with $1 over /etc/ssl/certs.
	REAL_OUTBOX=${OUTBOX:-$BATS_TEST_DIRNAME/../outbox}
	REAL_OUTBOX=$(readlink -f "$REAL_OUTBOX")
	cat >"$D/outbox-in-store" <<'EOF'
#!/bin/sh
exec unshare --mount --propagation private -- /bin/sh -c \
	'mount --bind "$1" /etc/ssl/certs && shift && exec "$@"' sh \
	"$TRUST_STORE" "$REAL_OUTBOX" "$@"
EOF
	chmod 755 "$D/outbox-in-store"
	export D STORE INTER_STORE REAL_OUTBOX
}

setup() {
	[ -z "$TRUST_SKIP" ] || skip "$TRUST_SKIP"
	setup_common
	OUTBOX=$D/outbox-in-store
	export TRUST_STORE=$STORE
}

# chain FILE...: the server's certificate file, the given PEMs in order.
chain() {
	cat "$@" >"$T/chain.pem"
	echo "$T/chain.pem"
}

# verdict CHAIN KEY EXPECTED_EXIT [DIRECTIVE...]: send through a STARTTLS
# server presenting CHAIN, with the system store and with the same bundle
# as tls_trust_file; both must exit EXPECTED_EXIT with the same message.
verdict() {
	local certs=$1 key=$2 want=$3
	shift 3
	start_server --starttls --cert "$certs" --key "$key"
	server_config "$T/system.rc" "tls on" "$@"
	server_config "$T/full.rc" "tls on" \
		"tls_trust_file /etc/ssl/certs/ca-certificates.crt" "$@"
	send_message "$MSG" -C "$T/system.rc" rcpt@example.com
	assert_exit "$want"
	local system_status=$status system_err=$stderr
	send_message "$MSG" -C "$T/full.rc" rcpt@example.com
	assert_exit "$want"
	assert_equal "$system_status" "$status"
	assert_equal "$system_err" "$stderr"
	if [ "$want" = 0 ]; then
		assert_received 2
	else
		assert_received 0
	fi
}

@test "good: leaf and intermediate sent, root in the store" {
	verdict "$(chain "$D/leaf.pem" "$D/inter.pem")" "$D/leaf.key" 0
}

@test "good: the server sends the root too, and the chain reversed" {
	verdict "$(chain "$D/leaf.pem" "$D/root.pem" "$D/inter.pem")" \
		"$D/leaf.key" 0
}

@test "good: leaf signed by the root directly" {
	verdict "$(chain "$D/direct.pem")" "$D/direct.key" 0
}

@test "good: the store holds the intermediate, not the root" {
	TRUST_STORE=$INTER_STORE
	verdict "$(chain "$D/leaf.pem" "$D/inter.pem")" "$D/leaf.key" 0
}

@test "good: an expired and a renewed root of the same name in the store" {
	verdict "$(chain "$D/twinleaf.pem")" "$D/twinleaf.key" 0
}

@test "untrusted root: refused alike (77)" {
	verdict "$(chain "$D/strangeleaf.pem" "$D/stranger.pem")" \
		"$D/strangeleaf.key" 77
	assert_contains "$stderr" "not trusted"
}

@test "intermediate missing: refused alike (77)" {
	verdict "$(chain "$D/leaf.pem")" "$D/leaf.key" 77
	assert_contains "$stderr" "not trusted"
}

@test "expired leaf: refused alike (77)" {
	verdict "$(chain "$D/expired.pem" "$D/inter.pem")" "$D/expired.key" 77
	assert_contains "$stderr" "expired"
}

@test "wrong name: refused alike (77)" {
	verdict "$(chain "$D/wrongname.pem" "$D/inter.pem")" \
		"$D/wrongname.key" 77
	assert_contains "$stderr" "not valid for the name"
}

@test "revoked in tls_crl_file: refused alike (77); without it, accepted" {
	verdict "$(chain "$D/revoked.pem" "$D/inter.pem")" "$D/revoked.key" \
		77 "tls_crl_file $D/crl.pem"
	assert_contains "$stderr" "revoked"
	verdict "$(chain "$D/revoked.pem" "$D/inter.pem")" "$D/revoked.key" 0
}

# Run outbox traced (openat) into $T/strace; the arguments go to
# send_message.
send_traced() {
	REAL_OUTBOX_SAVED=$REAL_OUTBOX
	# LeakSanitizer cannot run under ptrace (the sanitizer build).
	cat >"$T/traced" <<EOF
#!/bin/sh
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
exec strace -f -qq -e trace=openat -o "$T/strace" "$REAL_OUTBOX_SAVED" "\$@"
EOF
	chmod 755 "$T/traced"
	REAL_OUTBOX=$T/traced send_message "$MSG" "$@"
}

@test "the store is read once and only the chain's issuers are parsed" {
	command -v strace >/dev/null || skip "needs strace"
	start_server --starttls --cert "$(chain "$D/leaf.pem" "$D/inter.pem")" \
		--key "$D/leaf.key"
	server_config "$T/rc" "tls on"
	# tls_trust.c opens the bundle itself (O_NOCTTY tells it from
	# GnuTLS's own full load, which would parse every certificate).
	send_traced -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_equal "$(grep -c 'ca-certificates.crt' "$T/strace")" 1
	assert_contains "$(grep 'ca-certificates.crt' "$T/strace")" O_NOCTTY
}

@test "tls_trust_file naming the system bundle (msmtp's usual setting) is read like the system store" {
	command -v strace >/dev/null || skip "needs strace"
	start_server --starttls --cert "$(chain "$D/leaf.pem" "$D/inter.pem")" \
		--key "$D/leaf.key"
	server_config "$T/rc" "tls on" \
		"tls_trust_file /etc/ssl/certs/ca-certificates.crt"
	send_traced -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	# opened once, by tls_trust.c: never loaded whole by GnuTLS
	assert_equal "$(grep -c 'ca-certificates.crt' "$T/strace")" 1
	assert_contains "$(grep 'ca-certificates.crt' "$T/strace")" O_NOCTTY
}

@test "tls_trust_file naming the system bundle keeps the store's verdicts: an unknown root is refused" {
	start_server --starttls --cert "$D/strangeleaf.pem" \
		--key "$D/strangeleaf.key"
	server_config "$T/rc" "tls on" \
		"tls_trust_file /etc/ssl/certs/ca-certificates.crt"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 77
	assert_contains "$stderr" "not trusted"
	assert_received 0
}

@test "a copy of the bundle elsewhere is a trust file like any other" {
	command -v strace >/dev/null || skip "needs strace"
	cp "$STORE/ca-certificates.crt" "$T/copy.crt"
	start_server --starttls --cert "$(chain "$D/leaf.pem" "$D/inter.pem")" \
		--key "$D/leaf.key"
	server_config "$T/rc" "tls on" "tls_trust_file $T/copy.crt"
	send_traced -C "$T/rc" rcpt@example.com
	assert_exit 0
	assert_received 1
	refute_contains "$(cat "$T/strace")" ca-certificates.crt
	assert_contains "$(cat "$T/strace")" copy.crt
}

@test "no bundle in the store: a configuration error before any mail (78)" {
	mkdir -p "$T/empty-store"
	TRUST_STORE=$T/empty-store
	start_server --starttls --cert "$(chain "$D/leaf.pem" "$D/inter.pem")" \
		--key "$D/leaf.key"
	server_config "$T/rc" "tls on"
	send_message "$MSG" -C "$T/rc" rcpt@example.com
	assert_exit 78
	assert_contains "$stderr" "cannot load the system's trusted certificates"
	assert_received 0
}
