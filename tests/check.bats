#!/usr/bin/env bats
# outbox --check: the deliverability doctor, against zones of our own
# (tests/lib_direct.bash: a DNS server, the test CA as the system trust)
# and an aiosmtpd smarthost with STARTTLS and AUTH inside the namespace.
# Each broken zone must give its own FAIL line and fix; the good zone none.

load lib_direct

SMARTHOST=email-smtp.eu-west-1.amazonaws.com

setup_file() {
	direct_ns_start || return 1
	[ -z "$DIRECT_SKIP" ] || return 0
	KEYS=$BATS_FILE_TMPDIR/keys
	mkdir -p "$KEYS"
	"$OUTBOX" --dkim-keygen --dkim-key="$KEYS/ed.pem" --dkim-type=ed25519 \
		--dkim-selector=ed --dkim-domain=sender.test |
		grep _domainkey >"$KEYS/ed.record"
	"$OUTBOX" --dkim-keygen --dkim-key="$KEYS/other.pem" \
		--dkim-type=ed25519 --dkim-selector=ed \
		--dkim-domain=sender.test | grep _domainkey >"$KEYS/other.record"
	# an RSA-768 public key, as a too weak record would publish it
	openssl genrsa -out "$KEYS/rsa768.pem" 768 2>/dev/null
	openssl rsa -in "$KEYS/rsa768.pem" -pubout -outform DER 2>/dev/null |
		base64 -w0 >"$KEYS/rsa768.p"
	export KEYS
}

setup() {
	direct_setup
	in_ns mkdir -m 0755 /var/spool/outbox
	make_cert "$SMARTHOST"
	start_mx 127.0.0.10 --starttls --cert "$CERT" --key "$KEY" \
		--auth-user alerts --auth-password s3cret --auth-required
}

# The good zone, with lines to leave out (grep -v patterns) and to add.
good_zone() {
	local drop=${1:-^$} extra=${2:-}
	{
		cat <<-EOF
		$SMARTHOST. A 127.0.0.10
		sender.test. MX 10 mx.sender.test.
		mx.sender.test. A 127.0.0.20
		sender.test. TXT "v=spf1 include:amazonses.com -all"
		amazonses.com. TXT "v=spf1 ip4:127.0.0.10/32 -all"
		_dmarc.sender.test. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@sender.test"
		EOF
		cat "$KEYS/ed.record"
	} | grep -v -e "$drop" >"$T/zone"
	[ -z "$extra" ] || printf '%s\n' "$extra" >>"$T/zone"
	dns_zone <"$T/zone"
}

check_config() {
	{
		echo "account alerts"
		echo "host $SMARTHOST"
		echo "port 25"
		echo "tls on"
		echo "tls_starttls on"
		echo "auth plain"
		echo "user alerts"
		echo "password ${PASSWORD:-s3cret}"
		echo "from ${FROM:-alerts@sender.test}"
		echo "timeout 5"
		echo "dkim_key $KEYS/ed.pem"
		echo "dkim_selector ed"
		for line in "$@"; do printf '%s\n' "$line"; done
		echo "account default : alerts"
	} | write_config "$T/rc"
}

# The line of the report with this status and text.
assert_line() { # STATUS TEXT
	if ! grep -E "^  $1 " <<<"$output" | grep -qF -- "$2"; then
		echo "no '$1' line with: $2" >&2
		show_context
		return 1
	fi
}

@test "check: the good zone gives no FAIL and exit 0; no mail is sent" {
	good_zone
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 0
	refute_contains "$output" "FAIL"
	assert_line ok "has one SPF record"
	assert_line ok "includes amazonses.com"
	assert_line ok "ed._domainkey.sender.test publishes the key"
	assert_line ok "p=reject"
	assert_line ok "aligned: SPF and DKIM"
	assert_line ok "credentials were accepted"
	assert_line ok "TLS verified"
	use_mx 127.0.0.10
	assert_received 0
	refute_contains "$(cat "$SPOOL/wire.log")" "MAIL FROM"
	# the secret never shows
	refute_contains "$output" "s3cret"
}

@test "check: no SPF record" {
	good_zone 'v=spf1 include'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "sender.test has no SPF record"
	assert_contains "$output" 'fix: sender.test. TXT "v=spf1 include:amazonses.com ~all"'
}

@test "check: two SPF records" {
	good_zone '^$' 'sender.test. TXT "v=spf1 a -all"'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "sender.test has 2 SPF records"
}

@test "check: eleven DNS lookups" {
	local extra
	extra=$(for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "i$i.sender.test. TXT \"v=spf1 -all\""
	done)
	# over 255 octets: two character-strings, joined without a space
	# (RFC 7208 3.3)
	good_zone 'v=spf1 include' "sender.test. TXT \"v=spf1 include:amazonses.com $(for i in 1 2 3 4 5; do printf 'include:i%d.sender.test ' $i; done)\" \"$(for i in 6 7 8 9 10; do printf 'include:i%d.sender.test ' $i; done)-all\"
$extra"
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "SPF of sender.test is broken"
	assert_contains "$output" "11"
}

@test "check: the provider's include is missing" {
	good_zone 'v=spf1 include' 'sender.test. TXT "v=spf1 mx -all"'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "does not include amazonses.com"
	assert_contains "$output" 'fix: sender.test. TXT "v=spf1 mx include:amazonses.com -all"'
}

@test "check: +all lets anyone send" {
	good_zone 'v=spf1 include' 'sender.test. TXT "v=spf1 include:amazonses.com +all"'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "+all"
}

@test "check: the DKIM record publishes another key" {
	good_zone '_domainkey' "$(cat "$KEYS/other.record")"
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "publishes another key"
	# the fix is the record of the configured key
	assert_contains "$output" "fix: $(cut -c1-60 "$KEYS/ed.record")"
}

@test "check: an RSA-768 DKIM record" {
	good_zone '_domainkey' "ed._domainkey.sender.test. TXT \"v=DKIM1; k=rsa; p=$(cat "$KEYS/rsa768.p")\""
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "RSA key of 768 bits"
}

@test "check: no DKIM record" {
	good_zone '_domainkey'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "no DKIM record at ed._domainkey.sender.test"
}

@test "check: no DMARC record" {
	good_zone '_dmarc'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "has no DMARC record"
	assert_contains "$output" 'fix: _dmarc.sender.test. TXT "v=DMARC1; p=none;'
}

@test "check: p=reject and a From domain nothing aligns with" {
	# DKIM signs for another domain, SPF does not authorise the host
	good_zone 'v=spf1 include' 'sender.test. TXT "v=spf1 mx -all"
ed._domainkey.elsewhere.test. TXT "v=DKIM1; k=ed25519; p=x"'
	check_config "dkim_domain elsewhere.test"
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "does not align with the From domain sender.test"
	assert_line FAIL "neither SPF nor DKIM aligns with sender.test: with p=reject"
}

@test "check: DMARC found at the organizational domain" {
	good_zone '^$' 'mail.sender.test. TXT "v=spf1 include:amazonses.com -all"
mail.sender.test. MX 10 mx.sender.test.'
	FROM=alerts@mail.sender.test check_config "dkim_domain sender.test"
	run_outbox -C "$T/rc" --check
	assert_line ok "_dmarc.sender.test: p=reject"
	assert_contains "$output" "organizational domain"
	refute_contains "$output" "has no DMARC record"
}

@test "check: a wrong password fails, and no mail is delivered" {
	good_zone
	PASSWORD=wrong check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "logging in failed"
	refute_contains "$output" "wrong"
	use_mx 127.0.0.10
	assert_received 0
}

@test "check: --json for monitoring" {
	good_zone '_dmarc'
	check_config
	run_outbox -C "$T/rc" --check --json
	assert_exit 1
	run "$PYTHON" -c 'import json, sys
r = json.loads(sys.stdin.read())
fails = [c for c in r["checks"] if c["status"] == "fail"]
assert r["failed"] == len(fails) == 1, r
assert fails[0]["area"] == "dmarc" and fails[0]["fix"].startswith("_dmarc."), fails
assert all(c["status"] in ("ok", "info", "warn", "fail") for c in r["checks"])
print("ok")' <<<"$output"
	[ "$status" = 0 ]
	[ "$output" = ok ]
}

@test "check: warnings alone exit 0" {
	good_zone 'v=spf1 include' 'sender.test. TXT "v=spf1 include:amazonses.com ?all"'
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 0
	assert_line warn "?all"
}

@test "check: direct delivery: PTR and forward-confirmed reverse DNS of this host" {
	dns_zone <<-EOF
	sender.test. MX 10 mx.sender.test.
	mx.sender.test. A 127.0.0.20
	sender.test. TXT "v=spf1 ip4:127.0.0.7 -all"
	_dmarc.sender.test. TXT "v=DMARC1; p=quarantine"
	7.0.0.127.in-addr.arpa. PTR mail.sender.test.
	mail.sender.test. A 127.0.0.7
	$(cat "$KEYS/ed.record")
	EOF
	{
		echo "account direct"
		echo "direct_delivery on"
		echo "domain mail.sender.test"
		echo "source_ip 127.0.0.7"
		echo "from alerts@sender.test"
		echo "timeout 5"
		echo "dkim_key $KEYS/ed.pem"
		echo "dkim_selector ed"
		echo "account default : direct"
	} | write_config "$T/rc"
	run_outbox -C "$T/rc" --check
	assert_exit 0
	assert_line ok "127.0.0.7 -> mail.sender.test -> 127.0.0.7"
	assert_line ok "it authorises 127.0.0.7 (this host): pass"
	# without the PTR
	sed -i '/PTR/d' "$DNS_ZONE"
	dns_zone <"$DNS_ZONE"
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "127.0.0.7 has no PTR record"
}

@test "check: a certificate that expires within 14 days warns; the SIZE limit is told" {
	good_zone
	stop_mx 127.0.0.10
	cert_template_server "$SMARTHOST" "dns_name = \"$SMARTHOST\"" \
		'expiration_days = 5' >"$T/soon.tmpl"
	certtool --generate-privkey --key-type=ecdsa --outfile "$T/soon.key" \
		2>/dev/null
	certtool --generate-certificate --load-privkey "$T/soon.key" \
		--load-ca-certificate "$CA_CERT" --load-ca-privkey "$CA_KEY" \
		--template "$T/soon.tmpl" --outfile "$T/soon.pem" 2>/dev/null
	start_mx 127.0.0.10 --starttls --cert "$T/soon.pem" --key "$T/soon.key" \
		--auth-user alerts --auth-password s3cret --size 10485760
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 0
	assert_line warn "its certificate expires in"
	assert_line info "it takes messages up to 10485760 bytes"
}

@test "check: a smarthost that offers no AUTH after TLS fails" {
	good_zone
	stop_mx 127.0.0.10
	start_mx 127.0.0.10 --starttls --cert "$CERT" --key "$KEY"
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "it offers no AUTH after TLS"
}

@test "check: a smarthost whose certificate does not verify fails, before any AUTH" {
	good_zone
	stop_mx 127.0.0.10
	make_cert --self-signed "$SMARTHOST"
	start_mx 127.0.0.10 --starttls --cert "$CERT" --key "$KEY" \
		--auth-user alerts --auth-password s3cret
	check_config
	run_outbox -C "$T/rc" --check
	assert_exit 1
	assert_line FAIL "$SMARTHOST"
	assert_contains "$output" "fix: tls_trust_file"
	refute_contains "$(cat "$SPOOL/wire.log")" "AUTH"
}
