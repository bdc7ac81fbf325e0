#!/usr/bin/env bats
# Direct delivery (direct_delivery on): each recipient domain's MX hosts on
# port 25, with MTA-STS and DANE, against a DNS server, MX sinks and an
# MTA-STS policy host of our own in a private network and mount namespace
# (tests/lib_direct.bash). The assertions are on what each sink received,
# what the DNS server and the policy host were asked, and the exit status.

load lib_direct

# Root's MTA-STS cache (and TLS cache) live in the system spool, used only
# when the package made it: here the namespace's own /var/spool.
setup() {
	direct_setup
	in_ns mkdir -m 0755 /var/spool/outbox
}

MSG=$'From: sender@sender.test\r\nSubject: direct\r\n\r\nHello.\r\n'

# The account: direct, its own queue, the test CA as system trust (the
# namespace's), a short timeout.
direct_config() {
	{
		echo "account direct"
		echo "direct_delivery on"
		echo "domain outbox.sender.test"
		echo "from sender@sender.test"
		echo "timeout 5"
		echo "queue_dir $T/queue"
		echo "logfile $T/log"
		for line in "$@"; do printf '%s\n' "$line"; done
		echo "account default : direct"
	} | write_config "$T/rc"
}

# The mail a sink at ADDR received: its count.
count_at() {
	use_mx "$1"
	received_count
}

@test "direct: MX preference order, the first MX gets it, EHLO is the domain, no AUTH" {
	start_mx 127.0.0.2
	start_mx 127.0.0.3
	dns_zone <<-'EOF'
	example.test.      MX 20 mx2.example.test.
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.3
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	[ "$(count_at 127.0.0.3)" = 0 ]
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.test
	assert_equal "$(received_envelope 1 mail_from)" sender@sender.test
	assert_equal "$(received_envelope 1 helo)" outbox.sender.test
	refute_contains "$(cat "$SPOOL/transcript.log")" "AUTH"
	grep -q "mx1.example.test" "$T/log"
}

@test "direct: the next MX when the first refuses connections or greets with 421" {
	start_mx 127.0.0.3
	start_mx 127.0.0.4 --fault 'greeting=421 4.3.2 busy'
	start_mx 127.0.0.5
	# mx1 has no server at all (connection refused), mx2 says 421
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	example.test.      MX 20 mx2.example.test.
	example.test.      MX 30 mx3.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.4
	mx3.example.test.  A  127.0.0.5
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	[ "$(count_at 127.0.0.4)" = 0 ]
	use_mx 127.0.0.5
	assert_received 1
}

@test "direct: each address of an MX host in turn, IPv6 first" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  AAAA ::1
	mx1.example.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	# AAAA was asked before A
	local order
	order=$(awk '$2 == "mx1.example.test" { print $3 }' < <(dns_queries) |
		tr '\n' ' ')
	assert_equal "$order" "AAAA A "
}

@test "direct: equal preferences are tried in random order" {
	start_mx 127.0.0.2
	start_mx 127.0.0.3
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	example.test.      MX 10 mx2.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.3
	EOF
	direct_config
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		send_message "$MSG" -C "$T/rc" "r$i@example.test"
		assert_exit 0
	done
	local one two
	one=$(count_at 127.0.0.2)
	two=$(count_at 127.0.0.3)
	assert_equal "$((one + two))" 12
	# 2 * 0.5^12: a broken shuffle fails, a working one almost never
	[ "$one" -gt 0 ] && [ "$two" -gt 0 ]
}

@test "direct: implicit MX (no MX records: the domain's own address)" {
	start_mx 127.0.0.6
	dns_zone <<-'EOF'
	plain.test.  A  127.0.0.6
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@plain.test
	assert_exit 0
	use_mx 127.0.0.6
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@plain.test
}

@test "direct: a null MX refuses the domain for good (69), nothing is sent" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	nomail.test.  MX 0 .
	nomail.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@nomail.test
	assert_exit 69
	assert_contains "$stderr" "null MX"
	assert_contains "$stderr" "rcpt@nomail.test"
	use_mx 127.0.0.2
	assert_received 0
	assert_equal "$(session_count)" 0
}

@test "direct: a domain that does not exist is refused (69); DNS trouble defers (75)" {
	dns_zone <<-'EOF'
	; servfail broken.test
	other.test.  A  127.0.0.9
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@nosuch.test
	assert_exit 69
	assert_contains "$stderr" "does not exist"
	send_message "$MSG" -C "$T/rc" rcpt@broken.test
	assert_exit 75
	assert_contains "$stderr" "broken.test"
}

@test "direct: a DNS server that never answers costs at most the timeout (75)" {
	dns_zone <<-'EOF'
	; timeout slow.test
	other.test.  A  127.0.0.9
	EOF
	direct_config "timeout 2"
	send_message "$MSG" -C "$T/rc" rcpt@slow.test
	assert_exit 75
	assert_elapsed_below 6000
}

@test "direct: two domains, one defers: the other is delivered, the exit says 75 and names who" {
	start_mx 127.0.0.2
	start_mx 127.0.0.3 --fault 'rcpt=451 4.3.0 try again later'
	dns_zone <<-'EOF'
	good.test.   MX 10 mx.good.test.
	mx.good.test. A 127.0.0.2
	slow.test.   MX 10 mx.slow.test.
	mx.slow.test. A 127.0.0.3
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" a@good.test b@slow.test c@good.test
	assert_exit 75
	assert_contains "$stderr" "delivered to 2 of 3 recipients"
	assert_contains "$stderr" "<b@slow.test>"
	assert_contains "$stderr" "451"
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos | tr '\n' ' ')" \
		"a@good.test c@good.test "
	[ "$(count_at 127.0.0.3)" = 0 ]
}

@test "direct: one domain refuses (5xx), the other is delivered: 69 for that one only" {
	start_mx 127.0.0.2
	start_mx 127.0.0.3 --fault 'rcpt=550 5.1.1 no such user'
	dns_zone <<-'EOF'
	good.test.   MX 10 mx.good.test.
	mx.good.test. A 127.0.0.2
	bad.test.    MX 10 mx.bad.test.
	mx.bad.test.  A 127.0.0.3
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" a@good.test b@bad.test
	assert_exit 69
	assert_contains "$stderr" "not delivered to <b@bad.test>"
	assert_contains "$stderr" "550 5.1.1"
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" "a@good.test"
}

@test "direct: partial delivery is queued for the deferred only, and a flush never sends twice" {
	start_mx 127.0.0.2
	start_mx 127.0.0.3 --fault 'rcpt=451 4.3.0 later'
	start_mx 127.0.0.4 --fault 'rcpt=550 5.1.1 unknown'
	dns_zone <<-'EOF'
	good.test.   MX 10 mx.good.test.
	mx.good.test. A 127.0.0.2
	slow.test.   MX 10 mx.slow.test.
	mx.slow.test. A 127.0.0.3
	bad.test.    MX 10 mx.bad.test.
	mx.bad.test.  A 127.0.0.4
	EOF
	direct_config "queue on-failure"
	send_message "$MSG" -C "$T/rc" a@good.test b@slow.test c@bad.test
	# refused for good: 69 says so; the deferred one is queued
	assert_exit 69
	assert_contains "$stderr" "queued as"
	run_outbox -C "$T/rc" --list-queue
	assert_equal "$(grep '^  from' <<<"$output")" \
		"  from <sender@sender.test> to <b@slow.test>"
	# the state remembers who has it and who refused it
	local id
	id=$(ls "$T/queue" | sed -n 's/\.msg$//p')
	[ -z "$(ls "$T/queue"/*.state 2>/dev/null)" ] ||
		! grep -q "^delivered:" "$T/queue/$id.state"
	# now slow.test takes it: only b gets it, a is not sent it again
	stop_mx 127.0.0.3
	start_mx 127.0.0.3
	sed -i 's/^next-attempt: .*/next-attempt: 0/' "$T/queue/$id.msg"
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	use_mx 127.0.0.3
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" "b@slow.test"
	use_mx 127.0.0.2
	assert_received 1
	[ "$(count_at 127.0.0.4)" = 0 ]
	run_outbox -C "$T/rc" --list-queue
	assert_contains "$output" "empty"
}

@test "direct: a flush that delivers some domains keeps the rest, without duplicates" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	good.test.   MX 10 mx.good.test.
	mx.good.test. A 127.0.0.2
	later.test.  MX 10 mx.later.test.
	mx.later.test. A 127.0.0.3
	EOF
	direct_config "queue always"
	send_message "$MSG" -C "$T/rc" a@good.test b@later.test
	assert_exit 0
	# later.test's MX is down: a is delivered, b stays queued
	run_outbox -C "$T/rc" --flush
	assert_exit 75
	use_mx 127.0.0.2
	assert_received 1
	local id
	id=$(ls "$T/queue" | sed -n 's/\.msg$//p')
	grep -q '^delivered: a@good.test$' "$T/queue/$id.state"
	start_mx 127.0.0.3
	# the next flush comes after the retry delay: make it due now
	sed -i 's/^next-attempt: .*/next-attempt: 0/' "$T/queue/$id.state"
	run_outbox -C "$T/rc" --flush
	assert_exit 0
	use_mx 127.0.0.3
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" "b@later.test"
	use_mx 127.0.0.2
	assert_received 1
}

# ---- MTA-STS ----------------------------------------------------------------

# example.test with one MX at 127.0.0.2 and an MTA-STS policy of MODE
# naming mx1.example.test (or $2); the policy host answers on 127.0.0.44.
sts_zone() {
	local mode=$1 mx=${2:-mx1.example.test}
	dns_zone <<-EOF
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	_mta-sts.example.test. TXT "v=STSv1; id=${STS_ID:-20261204a};"
	mta-sts.example.test.  A  127.0.0.44
	EOF
	start_policy_server 127.0.0.44
	printf 'version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 86400\r\n' \
		"$mode" "$mx" | mta_sts_policy example.test
}

@test "mta-sts: enforce with a valid certificate: delivered over verified TLS" {
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	sts_zone enforce
	direct_config
	send_message "$MSG" -C "$T/rc" -v rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	assert_equal "$(https_request_count example.test)" 1
	# the policy is cached, 0600 in a 0700 directory (root: the spool)
	local f
	f=$(in_ns find /var/spool/outbox/mta-sts -type f)
	[ -n "$f" ]
	assert_equal "$(in_ns stat -c %a "$f")" 600
	assert_equal "$(in_ns stat -c %a /var/spool/outbox/mta-sts)" 700
	# a second message uses the cache: no new fetch
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	assert_equal "$(https_request_count example.test)" 1
}

@test "mta-sts: enforce and STARTTLS stripped: not delivered, 75" {
	start_mx 127.0.0.2
	sts_zone enforce
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_contains "$stderr" "STARTTLS"
	assert_contains "$stderr" "MTA-STS"
	use_mx 127.0.0.2
	assert_received 0
	# nothing but EHLO (and QUIT) went to the server in the clear
	refute_contains "$(cat "$SPOOL/wire-clear.log")" "MAIL FROM"
}

@test "mta-sts: enforce and a certificate for another name: not delivered, 75" {
	make_cert wrong.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	sts_zone enforce
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	use_mx 127.0.0.2
	assert_received 0
}

@test "mta-sts: testing and STARTTLS stripped: delivered anyway, with a warning" {
	start_mx 127.0.0.2
	sts_zone testing
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	assert_contains "$stderr" "mode testing"
	use_mx 127.0.0.2
	assert_received 1
}

@test "mta-sts: enforce and an MX the policy does not name: that host is not used" {
	make_cert mx1.example.test mx2.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	start_mx 127.0.0.3 --starttls --cert "$CERT" --key "$KEY"
	# mx1 (preferred) is not in the policy; mx2 is
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	example.test.      MX 20 mx2.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.3
	_mta-sts.example.test. TXT "v=STSv1; id=1;"
	mta-sts.example.test.  A  127.0.0.44
	EOF
	start_policy_server 127.0.0.44
	printf 'version: STSv1\nmode: enforce\nmx: mx2.example.test\nmax_age: 600\n' |
		mta_sts_policy example.test
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_equal "$(session_count)" 0
	use_mx 127.0.0.3
	assert_received 1
	# with no MX host in the policy at all: deferred, nobody contacted
	printf 'version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 600\n' |
		mta_sts_policy example.test
	STS_ID=2 dns_zone_append <<<''
	sed -i 's/id=1;/id=2;/' "$DNS_ZONE"
	dns_zone <"$DNS_ZONE"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_contains "$stderr" "matches its MTA-STS policy"
	use_mx 127.0.0.3
	assert_received 1
}

@test "mta-sts: the cached enforce policy holds when the policy host is down" {
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	sts_zone enforce
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	assert_equal "$(https_request_count example.test)" 1
	# the policy host goes away, the TXT id changes (a fetch is due, and
	# fails), and an attacker strips STARTTLS: still enforced
	stop_policy_server 127.0.0.44
	sed -i 's/id=20261204a;/id=20261204b;/' "$DNS_ZONE"
	dns_zone <"$DNS_ZONE"
	stop_mx 127.0.0.2
	start_mx 127.0.0.2
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	use_mx 127.0.0.2
	assert_received 0
	# and the TXT record removed altogether: the cache still applies
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	EOF
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_received 0
}

@test "mta-sts: a policy fetch that fails without a cache means no policy (delivered)" {
	start_mx 127.0.0.2
	sts_zone enforce
	mta_sts_switch example.test redirect https://elsewhere.test/
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(https_request_count example.test)" 1
}

# ---- DANE -------------------------------------------------------------------

# example.test, signed, one MX at 127.0.0.2 with TLSA record(s) $@.
dane_zone() {
	{
		echo "; signed example.test"
		echo "example.test.      MX 10 mx1.example.test."
		echo "mx1.example.test.  A  127.0.0.2"
		local r
		for r in "$@"; do
			echo "_25._tcp.mx1.example.test. TLSA $r"
		done
	} | dns_zone
}

@test "dane: DANE-EE(3) matching a self-signed certificate: delivered; a mismatch is not (75)" {
	make_cert --self-signed mx1.example.test
	local good_cert=$CERT good_key=$KEY
	make_cert --self-signed other.example.test
	local other_cert=$CERT
	start_mx 127.0.0.2 --starttls --cert "$good_cert" --key "$good_key"
	direct_config
	dane_zone "$(tlsa_rdata "$good_cert" 3 1 1)"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	assert_equal "$(dns_query_count _25._tcp.mx1.example.test TLSA)" 1
	# SHA2-512 of the whole certificate matches too
	dane_zone "$(tlsa_rdata "$good_cert" 3 0 2)"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	assert_received 2
	# a record for another key: the MX is not trusted, nothing is sent
	dane_zone "$(tlsa_rdata "$other_cert" 3 1 1)"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_contains "$stderr" "TLSA"
	assert_received 2
	# the last session ended with the handshake: no command after it
	assert_equal "$(tail -n 1 "$SPOOL/wire.log" | tr -d '\r')" STARTTLS
}

@test "dane: DANE-TA(2) on the issuing CA: delivered when the name matches, not otherwise" {
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CHAIN" --key "$KEY"
	direct_config
	dane_zone "$(tlsa_rdata "$CA_CERT" 2 0 1)"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	stop_mx 127.0.0.2
	# the same CA, a certificate for another name
	make_cert wrong.example.test
	start_mx 127.0.0.2 --starttls --cert "$CHAIN" --key "$KEY"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_received 0
}

@test "dane: TLSA records without the AD bit are ignored (opportunistic TLS)" {
	make_cert --self-signed mx1.example.test
	local cert=$CERT key=$KEY
	make_cert --self-signed other.example.test
	start_mx 127.0.0.2 --starttls --cert "$cert" --key "$key"
	direct_config
	# not signed: the (mismatching) TLSA record must not count
	dns_zone <<-EOF
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	_25._tcp.mx1.example.test. TLSA $(tlsa_rdata "$CERT" 3 1 1)
	EOF
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	# RFC 7672 2.2: no TLSA lookup for an MX answer that is not signed
	assert_equal "$(dns_query_count _25._tcp.mx1.example.test TLSA)" 0
}

@test "dane: without 'options trust-ad' the AD bit means nothing" {
	make_cert --self-signed mx1.example.test
	local cert=$CERT key=$KEY
	make_cert --self-signed other.example.test
	start_mx 127.0.0.2 --starttls --cert "$cert" --key "$key"
	direct_config
	dane_zone "$(tlsa_rdata "$CERT" 3 1 1)"
	dns_resolv_conf --no-trust-ad
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(dns_query_count _25._tcp.mx1.example.test TLSA)" 0
}

@test "dane: signed TLSA and STARTTLS stripped: not delivered (75)" {
	make_cert --self-signed mx1.example.test
	start_mx 127.0.0.2
	direct_config
	dane_zone "$(tlsa_rdata "$CERT" 3 1 1)"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_contains "$stderr" "TLSA"
	use_mx 127.0.0.2
	assert_received 0
}

@test "dane: only unusable TLSA records (PKIX-EE): TLS still required, not verified" {
	make_cert --self-signed mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	direct_config
	dane_zone "$(tlsa_rdata "$CERT" 1 1 1 | sed 's/^1 1 1 /1 1 1 00/')"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	stop_mx 127.0.0.2
	start_mx 127.0.0.2
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 75
	assert_received 0
}

@test "dane: a TLSA lookup that fails means that MX is not used; the next one is" {
	make_cert --self-signed mx1.example.test mx2.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	start_mx 127.0.0.3 --starttls --cert "$CERT" --key "$KEY"
	direct_config
	dns_zone <<-EOF
	; signed example.test
	; servfail _25._tcp.mx1.example.test TLSA
	example.test.      MX 10 mx1.example.test.
	example.test.      MX 20 mx2.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.3
	_25._tcp.mx2.example.test. TLSA $(tlsa_rdata "$CERT" 3 1 1)
	EOF
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_equal "$(session_count)" 0
	use_mx 127.0.0.3
	assert_received 1
}

@test "dane: DANE takes precedence over an MTA-STS policy for that MX" {
	# self-signed: PKIX (MTA-STS enforce) alone would refuse it
	make_cert --self-signed mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	direct_config
	dns_zone <<-EOF
	; signed example.test
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	_25._tcp.mx1.example.test. TLSA $(tlsa_rdata "$CERT" 3 1 1)
	_mta-sts.example.test. TXT "v=STSv1; id=7;"
	mta-sts.example.test.  A  127.0.0.44
	EOF
	start_policy_server 127.0.0.44
	printf 'version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 600\n' |
		mta_sts_policy example.test
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
}

@test "direct: opportunistic STARTTLS with any certificate; clear text when the handshake fails" {
	make_cert --self-signed mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	dns_zone <<-'EOF'
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	refute_contains "$stderr" "warning"
	# a server whose TLS only does 1.3 while we allow only 1.2: the
	# handshake fails, and the mail goes in clear as RFC 7435 allows
	stop_mx 127.0.0.2
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY" --tls-min 1.3
	direct_config "tls_priorities NORMAL:-VERS-ALL:+VERS-TLS1.2"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	assert_received 1
	assert_equal "$(received_envelope 1 tls)" null
}

# ---- the rest ----------------------------------------------------------------

@test "direct: --serverinfo DOMAIN shows MX hosts, policy, TLSA and what outbox would do" {
	make_cert --self-signed mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	direct_config
	dns_zone <<-EOF
	; signed example.test
	example.test.      MX 10 mx1.example.test.
	example.test.      MX 20 mx2.example.test.
	mx1.example.test.  A  127.0.0.2
	mx2.example.test.  A  127.0.0.3
	_25._tcp.mx1.example.test. TLSA $(tlsa_rdata "$CERT" 3 1 1)
	_mta-sts.example.test. TXT "v=STSv1; id=9;"
	mta-sts.example.test.  A  127.0.0.44
	nomail.test. MX 0 .
	EOF
	start_policy_server 127.0.0.44
	printf 'version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 600\n' |
		mta_sts_policy example.test
	run_outbox -C "$T/rc" --serverinfo example.test
	assert_exit 0
	assert_contains "$output" "MX 10 mx1.example.test"
	assert_contains "$output" "MX 20 mx2.example.test"
	assert_contains "$output" "addresses: 127.0.0.2"
	assert_contains "$output" "DNSSEC-signed"
	assert_contains "$output" "mode testing"
	assert_contains "$output" "TLSA _25._tcp.mx1.example.test: 3 1 1 "
	assert_contains "$output" "verified by DANE"
	assert_contains "$output" "STARTTLS"
	# no mail was sent
	use_mx 127.0.0.2
	assert_received 0
	refute_contains "$(cat "$SPOOL/wire.log")" "MAIL FROM"
	# a domain that takes no mail: said, and the status of a delivery
	run_outbox -C "$T/rc" --serverinfo nomail.test
	assert_exit 69
	assert_contains "$output" "null MX"
	# a smarthost account takes no domain
	printf 'account s\nhost 127.0.0.1\nfrom a@b.test\naccount default : s\n' |
		write_config "$T/rc2"
	run_outbox -C "$T/rc2" --serverinfo example.test
	assert_exit 64
}

@test "direct: DKIM-signed, verified by python3-dkim through the test DNS" {
	start_mx 127.0.0.2
	run_outbox --dkim-keygen --dkim-key="$T/dkim.key" --dkim-type=ed25519 \
		--dkim-selector=s1 --dkim-domain=sender.test
	assert_exit 0
	dns_zone <<-EOF
	example.test.      MX 10 mx1.example.test.
	mx1.example.test.  A  127.0.0.2
	$(grep _domainkey <<<"$output")
	EOF
	direct_config "dkim_key $T/dkim.key" "dkim_selector s1"
	send_message "$MSG" -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	run in_ns "$PYTHON" -c 'import sys, dkim
sys.exit(0 if dkim.verify(open(sys.argv[1], "rb").read()) else 1)' \
		"$SPOOL/1.eml"
	[ "$status" = 0 ]
}

@test "direct: an internationalized domain is looked up as its A-label" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	xn--bcher-kva.test.      MX 10 mx1.xn--bcher-kva.test.
	mx1.xn--bcher-kva.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" 'rcpt@bücher.test'
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(dns_query_count xn--bcher-kva.test MX)" 1
	# the server has no SMTPUTF8: the domain goes as its A-label
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@xn--bcher-kva.test
}

@test "direct: the log names each domain's MX host and the recipients" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	a.test.     MX 10 mx.a.test.
	mx.a.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" x@a.test y@nowhere.test
	assert_exit 69
	grep -q 'host=mx.a.test .*recipients=x@a.test .*exitcode=EX_OK' "$T/log"
	grep -q 'host=nowhere.test .*recipients=y@nowhere.test' "$T/log"
}

@test "direct: a local name without a domain is refused, the others go" {
	start_mx 127.0.0.2
	dns_zone <<-'EOF'
	a.test.     MX 10 mx.a.test.
	mx.a.test.  A  127.0.0.2
	EOF
	direct_config
	send_message "$MSG" -C "$T/rc" x@a.test root
	assert_exit 69
	assert_contains "$stderr" "<root>"
	use_mx 127.0.0.2
	assert_received 1
}
