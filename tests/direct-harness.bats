#!/usr/bin/env bats
# The hermetic harness of the direct-delivery tests (tests/lib_direct.bash)
# checked on its own, without outbox: the private namespace, the DNS server
# as glibc's stub resolver and dnspython see it, the MX sinks, the MTA-STS
# policy host, the logs, and that nothing of the machine is touched and
# nothing is left running.

load lib_direct

# What of the machine the harness must leave as it was.
host_state() {
	local f
	for f in /etc/resolv.conf /etc/hosts /etc/nsswitch.conf \
		/etc/ssl/certs/ca-certificates.crt; do
		if [ -e "$f" ]; then sha256sum "$f"; else echo "absent $f"; fi
	done
	find /var/spool -maxdepth 3 -printf '%p %y %m %U\n' 2>/dev/null | sort
	# Mount points and sources, not IDs: nothing of ours may appear.
	awk '{ print $5, $(NF - 2), $(NF - 1) }' /proc/self/mountinfo | sort
	readlink /proc/self/ns/net /proc/self/ns/mnt
}

setup_file() {
	host_state >"$BATS_FILE_TMPDIR/host.before"
	direct_ns_start || return 1
	[ -z "$DIRECT_SKIP" ] || return 0
	# glibc's own stub resolver, as outbox will call it: one res_nquery,
	# and what the answer's header says once glibc has passed it on.
	RESQ=$BATS_FILE_TMPDIR/resq
	export RESQ
	command -v cc >/dev/null || return 0
	cc -o "$RESQ" -x c - -lresolv <<-'EOF' || return 1
	#include <arpa/nameser.h>
	#include <netdb.h>
	#include <netinet/in.h>
	#include <resolv.h>
	#include <stdio.h>
	#include <string.h>
	#include <strings.h>

	int main(int argc, char **argv)
	{
		static const struct { const char *name; int type; } types[] = {
			{"A", 1}, {"CNAME", 5}, {"PTR", 12}, {"MX", 15},
			{"TXT", 16}, {"AAAA", 28}, {"TLSA", 52},
		};
		static unsigned char answer[65536];
		struct __res_state res;
		int type = -1;
		if (argc != 3)
			return 2;
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(argv[2], types[i].name) == 0)
				type = types[i].type;
		memset(&res, 0, sizeof res);
		if (type < 0 || res_ninit(&res) != 0)
			return 2;
		int n = res_nquery(&res, argv[1], C_IN, type, answer,
		                   sizeof answer);
		if (n < 0) {
			const char *why = "OTHER";
			switch (res.res_h_errno) {
			case HOST_NOT_FOUND: why = "HOST_NOT_FOUND"; break;
			case TRY_AGAIN: why = "TRY_AGAIN"; break;
			case NO_RECOVERY: why = "NO_RECOVERY"; break;
			case NO_DATA: why = "NO_DATA"; break;
			}
			printf("fail %s\n", why);
			return 1;
		}
		HEADER *h = (HEADER *)answer;
		printf("ok ancount=%d ad=%d tc=%d\n", ntohs(h->ancount), h->ad,
		       h->tc);
		return 0;
	}
	EOF
}

teardown_file() {
	direct_ns_stop || return 1
	host_state >"$BATS_FILE_TMPDIR/host.after"
	if ! diff "$BATS_FILE_TMPDIR/host.before" \
		"$BATS_FILE_TMPDIR/host.after" >&2; then
		echo "the machine's files or mounts changed during the suite" >&2
		return 1
	fi
}

need_resq() {
	[ -x "${RESQ:-}" ] || skip "no C compiler to build the res_nquery probe"
}

# A zone most tests share.
base_zone() {
	dns_zone <<-'EOF'
	; signed example.test
	; unsigned insecure.example.test
	example.test.               MX 10 mx1.example.test.
	example.test.               MX 20 mx2.example.test.
	mx1.example.test.           A 127.0.0.2
	mx1.example.test.           AAAA ::1
	mx2.example.test.           A 127.0.0.3
	alias.example.test.         CNAME mx1.example.test.
	out.example.test.           CNAME host.insecure.example.test.
	host.insecure.example.test. A 127.0.0.4
	_mta-sts.example.test.      TXT "v=STSv1; " "id=20240101"
	mta-sts.example.test.       A 127.0.0.44
	_25._tcp.mx1.example.test.  TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	2.0.0.127.in-addr.arpa.     PTR mx1.example.test.
	*.wild.example.test.        A 127.0.0.9
	EOF
}

# dnspython through the namespace's /etc/resolv.conf, asking with AD like
# glibc with trust-ad: prints "TYPE ad=0|1 rdata|rdata..." or the error.
pyresolve() {
	in_ns "$PYTHON" - "$@" <<-'EOF'
	import sys
	import dns.flags, dns.resolver
	r = dns.resolver.Resolver()        # /etc/resolv.conf
	r.flags = dns.flags.RD | dns.flags.AD
	r.lifetime = 3
	for name, rdtype in zip(sys.argv[1::2], sys.argv[2::2]):
	    try:
	        a = r.resolve(name, rdtype, raise_on_no_answer=False)
	    except dns.resolver.NXDOMAIN:
	        print(rdtype, "NXDOMAIN")
	        continue
	    except Exception as e:
	        print(rdtype, type(e).__name__)
	        continue
	    ad = 1 if a.response.flags & dns.flags.AD else 0
	    if a.rrset is None:
	        print(rdtype, "ad=%d NODATA" % ad)
	        continue
	    print(rdtype, "ad=%d" % ad, "|".join(sorted(
	        " ".join(repr(s.decode()) for s in rd.strings)
	        if rdtype == "TXT" else rd.to_text() for rd in a.rrset)))
	EOF
}

# ------------------------------------------------------------ namespace

@test "the namespace has only lo, and its own resolv.conf, hosts, spool and trust" {
	assert_equal "$(in_ns ip -o link show | awk '{ print $2 }')" "lo:"
	run in_ns ip -o addr show dev lo
	assert_contains "$output" "127.0.0.1/8"
	assert_contains "$output" "192.0.2.1/32"
	# Nothing but lo: anything else is unreachable at once.
	run in_ns "$PYTHON" -c '
import socket
try:
    socket.create_connection(("198.51.100.7", 25), timeout=5)
except OSError as e:
    print(e.strerror)'
	assert_equal "$output" "Network is unreachable"
	run in_ns cat /etc/resolv.conf
	assert_contains "$output" "nameserver 127.0.0.53"
	assert_contains "$output" "options trust-ad timeout:1 attempts:1"
	run in_ns grep -v '^#' /etc/hosts
	assert_equal "$output" $'127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback'
	assert_equal "$(in_ns findmnt -n -o FSTYPE --mountpoint /var/spool)" tmpfs
	assert_equal "$(in_ns ls -A /var/spool)" ""
	in_ns grep -q '^hosts: *files dns$' /etc/nsswitch.conf
	run in_ns ls /etc/ssl/certs
	assert_contains "$output" "ca-certificates.crt"
	assert_equal "$(in_ns cat /etc/ssl/certs/ca-certificates.crt)" \
		"$(cat "$CA_CERT")"
	# The machine's view is another one.
	[ "$(readlink /proc/self/ns/net)" != "$(in_ns readlink /proc/self/ns/net)" ]
	! grep -q outbox-test /proc/self/mountinfo
}

@test "a test's spool, zone and resolv.conf changes do not reach the next test (1/2)" {
	ns_add_address 127.0.0.99
	ns_del_address 2001:db8::1
	in_ns mkdir /var/spool/outbox
	in_ns touch /var/spool/outbox/leftover
	dns_zone <<<"leftover.example.test. A 127.0.0.1"
	dns_resolv_conf --no-trust-ad
	ns_hosts <<<"127.0.0.9 leftover.example.test"
}

@test "a test's spool, zone and resolv.conf changes do not reach the next test (2/2)" {
	assert_equal "$(in_ns ls -A /var/spool)" ""
	assert_equal "$(in_ns ip -o addr show dev lo | awk '{ print $4 }' | sort)" \
		"$(sort "$DIRECT_DIR/lo.addresses")"
	assert_equal "$(grep -v '^;' "$DNS_ZONE")" ""
	run in_ns getent hosts leftover.example.test
	assert_equal "$status" 2
	in_ns grep -q trust-ad /etc/resolv.conf
	# (A and AAAA go out together: their order varies)
	assert_equal "$(dns_queries | sort)" "udp leftover.example.test A NXDOMAIN 0 rd,ad rd,ra
udp leftover.example.test AAAA NXDOMAIN 0 rd,ad rd,ra"
}

@test "outbox run through run_outbox runs inside the namespace" {
	assert_equal "$OUTBOX" "$DIRECT_DIR/bin/outbox"
	[ -x "$OUTBOX_REAL" ]
	run_outbox --version
	assert_exit 0
	# The wrapper execs: the program's own namespace is the test one.
	run in_ns "$PYTHON" -c 'import os; print(os.readlink("/proc/self/ns/net"))'
	assert_equal "$output" "$DIRECT_NS_NET"
}

@test "outbox, today's smarthost mode, reaches a sink by name with the system trust" {
	base_zone
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	write_config "$T/rc" <<-'EOF'
	account test
	host mx1.example.test
	port 25
	from sender@example.com
	tls on
	tls_starttls on
	auth off
	timeout 5
	account default : test
	EOF
	send_message $'Subject: hi\r\n\r\nbody\r\n' -C "$T/rc" rcpt@example.test
	assert_exit 0
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.test
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]
	[ "$(dns_query_count mx1.example.test A)" -ge 1 ]
}

# ------------------------------------------------------------------ DNS

@test "getent ahosts resolves through the test DNS server; /etc/hosts first" {
	base_zone
	run in_ns getent ahosts mx1.example.test
	assert_equal "$status" 0
	assert_contains "$output" "127.0.0.2       STREAM"
	assert_contains "$output" "::1             STREAM"
	assert_contains "$output" " mx1.example.test"
	assert_equal "$(dns_query_count mx1.example.test A)" 1
	assert_equal "$(dns_query_count mx1.example.test AAAA)" 1

	ns_hosts <<<"127.0.0.77 mta-sts.example.test"
	run in_ns getent ahostsv4 mta-sts.example.test
	assert_contains "$output" "127.0.0.77"
	assert_equal "$(dns_query_count mta-sts.example.test)" 0

	run in_ns getent hosts 127.0.0.2
	assert_contains "$output" "mx1.example.test"
	assert_equal "$(dns_query_count 2.0.0.127.in-addr.arpa PTR)" 1
}

@test "glibc's res_nquery: AD only for signed names and only with trust-ad" {
	need_resq
	base_zone
	assert_equal "$(in_ns "$RESQ" example.test MX)" "ok ancount=2 ad=1 tc=0"
	assert_equal "$(in_ns "$RESQ" _25._tcp.mx1.example.test TLSA)" \
		"ok ancount=1 ad=1 tc=0"
	assert_equal "$(in_ns "$RESQ" host.insecure.example.test A)" \
		"ok ancount=1 ad=0 tc=0"
	# A chain that leaves the signed part is not secure.
	assert_equal "$(in_ns "$RESQ" out.example.test A)" "ok ancount=2 ad=0 tc=0"
	assert_equal "$(in_ns "$RESQ" alias.example.test A)" "ok ancount=2 ad=1 tc=0"
	# glibc asked with AD (trust-ad), the server answered with it.
	assert_contains "$(dns_queries)" "udp example.test MX NOERROR 2 rd,ad rd,ra,ad"

	dns_resolv_conf --no-trust-ad
	assert_equal "$(in_ns "$RESQ" example.test MX)" "ok ancount=2 ad=0 tc=0"
	assert_contains "$(dns_queries)" "udp example.test MX NOERROR 2 rd rd,ra"
}

@test "dnspython through the stub resolver config: MX, multi-string TXT, TLSA, AD" {
	base_zone
	run pyresolve example.test MX _mta-sts.example.test TXT \
		_25._tcp.mx1.example.test TLSA host.insecure.example.test A
	assert_equal "$status" 0
	assert_equal "$output" "MX ad=1 10 mx1.example.test.|20 mx2.example.test.
TXT ad=1 'v=STSv1; ' 'id=20240101'
TLSA ad=1 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
A ad=0 127.0.0.4"
}

@test "TLSA records from real certificates (tlsa_rdata)" {
	make_cert mx1.example.test
	local spki full
	spki=$(tlsa_rdata "$CERT" 3 1 1)
	full=$(tlsa_rdata "$CERT" 3 0 2)
	# Independent computation with Python's ssl and hashlib.
	local want
	want=$("$PYTHON" - "$CERT" <<-'EOF'
	import hashlib, ssl, subprocess, sys
	der = ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())
	print("3 0 2 " + hashlib.sha512(der).hexdigest())
	EOF
	)
	assert_equal "$full" "$want"
	[[ $spki =~ ^3\ 1\ 1\ [0-9a-f]{64}$ ]]
	assert_equal "$(tlsa_rdata "$CA_CERT" 2 0 0 | cut -c1-10)" "2 0 0 3082"
	dns_zone <<-EOF
	; signed example.test
	_25._tcp.mx1.example.test. TLSA $spki
	_25._tcp.mx1.example.test. TLSA $(tlsa_rdata "$CA_CERT" 2 0 1)
	EOF
	run pyresolve _25._tcp.mx1.example.test TLSA
	assert_contains "$output" "TLSA ad=1 2 0 1 "
	assert_contains "$output" "|$spki"
}

@test "SERVFAIL, REFUSED and the timeout, per name and per type" {
	need_resq
	base_zone
	dns_zone_append <<-'EOF'
	; servfail broken.test
	; timeout slow.test
	; refused refused.test
	; servfail _25._tcp.mx2.example.test TLSA
	; delay lazy.test 0.5 A
	x.lazy.test.               A 127.0.0.5
	x.broken.test.             A 127.0.0.5
	x.slow.test.               A 127.0.0.5
	x.refused.test.            A 127.0.0.5
	_25._tcp.mx2.example.test. TLSA 3 1 1 00
	_25._tcp.mx2.example.test. TXT "still answered"
	EOF
	assert_equal "$(in_ns "$RESQ" x.broken.test A)" "fail TRY_AGAIN"
	# glibc takes REFUSED as "try the next server": with none, TRY_AGAIN.
	assert_equal "$(in_ns "$RESQ" x.refused.test A)" "fail TRY_AGAIN"
	assert_contains "$(dns_queries)" "udp x.refused.test A REFUSED 0"
	assert_equal "$(in_ns "$RESQ" _25._tcp.mx2.example.test TLSA)" "fail TRY_AGAIN"
	assert_equal "$(in_ns "$RESQ" _25._tcp.mx2.example.test TXT)" \
		"ok ancount=1 ad=1 tc=0"
	local start end
	start=$(date +%s%N)
	assert_equal "$(in_ns "$RESQ" x.slow.test A)" "fail TRY_AGAIN"
	end=$(date +%s%N)
	# options timeout:1 attempts:1: one second, then glibc gives up.
	[ $(((end - start) / 1000000)) -ge 900 ]
	[ $(((end - start) / 1000000)) -lt 3000 ]
	assert_contains "$(dns_queries)" "udp x.slow.test A TIMEOUT 0 rd,ad -"
	start=$(date +%s%N)
	assert_equal "$(in_ns "$RESQ" x.lazy.test A)" "ok ancount=1 ad=0 tc=0"
	end=$(date +%s%N)
	[ $(((end - start) / 1000000)) -ge 500 ]
	assert_contains "$(dns_queries)" "udp x.broken.test A SERVFAIL 0 rd,ad rd,ra"
	run pyresolve x.broken.test A
	assert_equal "$output" "A NoNameservers"
}

@test "NXDOMAIN vs NODATA, empty non-terminals, wildcards" {
	need_resq
	base_zone
	assert_equal "$(in_ns "$RESQ" nothere.example.test A)" "fail HOST_NOT_FOUND"
	assert_equal "$(in_ns "$RESQ" mx1.example.test TXT)" "fail NO_DATA"
	# _tcp.mx1.example.test exists only as the parent of a TLSA name.
	assert_equal "$(in_ns "$RESQ" _tcp.mx1.example.test A)" "fail NO_DATA"
	assert_equal "$(in_ns "$RESQ" any.wild.example.test A)" "ok ancount=1 ad=1 tc=0"
	assert_equal "$(in_ns "$RESQ" any.wild.example.test MX)" "fail NO_DATA"
	run pyresolve nothere.example.test A mx1.example.test TXT \
		_tcp.mx1.example.test A x.y.wild.example.test A
	assert_equal "$output" "A NXDOMAIN
TXT ad=1 NODATA
A ad=1 NODATA
A ad=1 127.0.0.9"
	assert_contains "$(dns_queries)" "udp nothere.example.test A NXDOMAIN 0"
	assert_contains "$(dns_queries)" "udp _tcp.mx1.example.test A NOERROR 0"
}

@test "a big answer is truncated over UDP and complete over TCP" {
	need_resq
	local s txt=
	for s in $(seq 12); do
		txt+="\"$(printf 'part%02d-%0200d' "$s" 0)\" "
	done
	dns_zone <<-EOF
	; signed example.test
	big.example.test. TXT $txt
	EOF
	# glibc (no edns0: 512 bytes) retries over TCP on TC.
	assert_equal "$(in_ns "$RESQ" big.example.test TXT)" "ok ancount=1 ad=1 tc=0"
	assert_equal "$(dns_queries)" "udp big.example.test TXT NOERROR 0 rd,ad tc,rd,ra,ad
tcp big.example.test TXT NOERROR 1 rd,ad rd,ra,ad"
	# The EDNS buffer size is honoured, and TC follows it.
	run in_ns "$PYTHON" - <<-'EOF'
	import dns.flags, dns.message, dns.query
	for payload in (1232, 4096):
	    q = dns.message.make_query("big.example.test", "TXT",
	                               use_edns=0, payload=payload)
	    r = dns.query.udp(q, "127.0.0.53", timeout=2)
	    strings = [s for rd in (r.answer[0] if r.answer else []) for s in rd.strings]
	    print(payload, "tc" if r.flags & dns.flags.TC else "-", len(strings))
	EOF
	assert_equal "$output" $'1232 tc 0\n4096 - 12'
}

@test "the zone is re-read when it changes; a broken zone fails dns_zone" {
	need_resq
	dns_zone <<<"mx1.example.test. A 127.0.0.2"
	run in_ns getent hosts mx1.example.test
	assert_contains "$output" "127.0.0.2"
	dns_zone <<<"mx1.example.test. A 127.0.0.3"
	run in_ns getent hosts mx1.example.test
	assert_contains "$output" "127.0.0.3"
	# Written behind the harness's back: seen at the next query.
	printf 'mx1.example.test. A 127.0.0.4\n' >"$DNS_ZONE.new"
	mv "$DNS_ZONE.new" "$DNS_ZONE"
	run in_ns getent hosts mx1.example.test
	assert_contains "$output" "127.0.0.4"

	run dns_zone <<<"mx1.example.test. A 127.0.0"
	assert_equal "$status" 1
	assert_contains "$output" "the test zone does not load"
	assert_equal "$(in_ns "$RESQ" mx1.example.test A)" "fail TRY_AGAIN"
	assert_contains "$(dns_queries)" "ZONE-ERROR"
}

@test "stop_dns: the stub resolver is refused at once; start_dns brings it back" {
	need_resq
	base_zone
	stop_dns
	assert_equal "$(in_ns "$RESQ" example.test MX)" "fail TRY_AGAIN"
	start_dns
	assert_equal "$(in_ns "$RESQ" example.test MX)" "ok ancount=2 ad=1 tc=0"
}

# ------------------------------------------------------------- MX sinks

smtp_send() { # HOST RCPT [starttls]
	in_ns "$PYTHON" - "$@" <<-'EOF'
	import smtplib, ssl, sys
	host, rcpt = sys.argv[1], sys.argv[2]
	s = smtplib.SMTP(host, 25, timeout=5)
	if len(sys.argv) > 3:
	    s.starttls(context=ssl.create_default_context())  # system trust
	s.sendmail("a@sender.test", [rcpt],
	           "From: a@sender.test\r\nSubject: t\r\n\r\nbody\r\n")
	s.quit()
	EOF
}

@test "a message sent to 127.0.0.2:25 lands in that sink's spool only" {
	base_zone
	start_mx 127.0.0.2
	start_mx 127.0.0.3
	smtp_send mx1.example.test rcpt@example.test
	use_mx 127.0.0.2
	assert_received 1
	assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.test
	assert_equal "$(received_header 1 Subject)" t
	use_mx 127.0.0.3
	assert_received 0
	SPOOL=$(mx_spool 127.0.0.2) assert_received 1
	stop_mx 127.0.0.3
	run smtp_send 127.0.0.3 rcpt@example.test
	assert_contains "$output" "ConnectionRefusedError"
}

@test "STARTTLS at the MX verifies with the test CA for the MX name only" {
	base_zone
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	smtp_send mx1.example.test rcpt@example.test starttls
	use_mx 127.0.0.2
	assert_received 1
	[[ $(received_envelope 1 tls.version) == TLSv1.* ]]

	make_cert --self-signed mx2.example.test
	start_mx 127.0.0.3 --starttls --cert "$CERT" --key "$KEY"
	run smtp_send mx2.example.test rcpt@example.test starttls
	assert_contains "$output" "self-signed certificate"
	make_cert wrong.example.test
	start_mx 127.0.0.4 --starttls --cert "$CERT" --key "$KEY"
	run smtp_send host.insecure.example.test rcpt@example.test starttls
	assert_contains "$output" "Hostname mismatch"
	SPOOL=$(mx_spool 127.0.0.3) assert_received 0
	SPOOL=$(mx_spool 127.0.0.4) assert_received 0
}

@test "GnuTLS's system trust inside is the test CA (what outbox uses)" {
	base_zone
	make_cert mx1.example.test
	start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
	run in_ns gnutls-cli --starttls-proto=smtp --port 25 mx1.example.test \
		</dev/null
	assert_contains "$output" "Status: The certificate is trusted."
	ns_trust "$OTHER_CA_CERT"
	run in_ns gnutls-cli --starttls-proto=smtp --port 25 mx1.example.test \
		</dev/null
	refute_contains "$output" "Status: The certificate is trusted."
	assert_equal "$status" 1
}

@test "an MX sink on ::1" {
	in_ns ip -6 addr show dev lo | grep -q '::1/128' ||
		skip "no IPv6 on lo in the namespace"
	start_mx ::1
	smtp_send ::1 rcpt@example.test
	use_mx ::1
	assert_received 1
}

# ------------------------------------------------------- MTA-STS host

fetch() { # URL -> "STATUS CONTENT-TYPE LENGTH LOCATION" or the error
	in_ns "$PYTHON" - "$@" <<-'EOF'
	import http.client, ssl, sys, urllib.parse
	u = urllib.parse.urlsplit(sys.argv[1])
	c = http.client.HTTPSConnection(u.hostname, 443, timeout=5,
	                                context=ssl.create_default_context())
	try:
	    c.request("GET", u.path)
	    r = c.getresponse()
	    body = r.read()
	    print(r.status, r.getheader("Content-Type"), len(body),
	          r.getheader("Location", "-"))
	    if len(body) < 200:
	        sys.stdout.write(body.decode())
	except Exception as e:
	    print("error", type(e).__name__, e)
	EOF
}

@test "the policy host serves the policy over HTTPS verified for mta-sts.DOMAIN" {
	base_zone
	start_policy_server 127.0.0.44
	mta_sts_policy example.test <<-'EOF'
	version: STSv1
	mode: enforce
	mx: mx1.example.test
	max_age: 86400
	EOF
	run fetch https://mta-sts.example.test/.well-known/mta-sts.txt
	assert_equal "$output" "200 text/plain 65 -
version: STSv1
mode: enforce
mx: mx1.example.test
max_age: 86400"
	run fetch https://mta-sts.example.test/other
	assert_contains "$output" "404 "
	# A domain without a policy directory: no certificate either.
	dns_zone_append <<<"mta-sts.nopolicy.test. A 127.0.0.44"
	run fetch https://mta-sts.nopolicy.test/.well-known/mta-sts.txt
	assert_contains "$output" "CERTIFICATE_VERIFY_FAILED"
	assert_equal "$(https_request_count example.test)" 2
	assert_equal "$(https_requests | head -1)" \
		"127.0.0.44:443 mta-sts.example.test mta-sts.example.test GET /.well-known/mta-sts.txt 200"
	assert_contains "$(https_requests)" "127.0.0.44:443 mta-sts.nopolicy.test - - - TLSFAIL"
	assert_equal "$(dns_query_count mta-sts.example.test A)" 2
}

@test "policy host switches: status, content-type, redirect, size, drip, delay, down, headers, cert" {
	base_zone
	start_policy_server 127.0.0.44
	local url=https://mta-sts.example.test/.well-known/mta-sts.txt
	printf 'version: STSv1\r\nmode: testing\r\nmx: *.example.test\r\nmax_age: 600\r\n' |
		mta_sts_policy example.test

	mta_sts_switch example.test status 404
	run fetch "$url"
	assert_contains "$output" "404 text/plain 65"
	mta_sts_switch example.test status off

	mta_sts_switch example.test content-type "text/html; charset=utf-8"
	run fetch "$url"
	assert_contains "$output" "200 text/html; charset=utf-8 65"
	mta_sts_switch example.test content-type off

	mta_sts_switch example.test redirect https://elsewhere.test/policy
	run fetch "$url"
	assert_contains "$output" "301 text/plain 0 https://elsewhere.test/policy"
	mta_sts_switch example.test redirect off

	mta_sts_switch example.test size 70000
	run fetch "$url"
	assert_contains "$output" "200 text/plain 70000 -"
	mta_sts_switch example.test size off

	mta_sts_switch example.test headers "Cache-Control: no-store" "X-Test: 1"
	run in_ns "$PYTHON" -c '
import ssl, urllib.request
r = urllib.request.urlopen("'"$url"'", context=ssl.create_default_context())
print(r.headers["Cache-Control"], r.headers["X-Test"])'
	assert_equal "$output" "no-store 1"
	mta_sts_switch example.test headers off

	local start ms
	mta_sts_switch example.test drip 0.02
	start=$(date +%s%N)
	run fetch "$url"
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_contains "$output" "200 text/plain 65"
	[ "$ms" -ge 1300 ]  # 65 bytes, 20 ms each
	mta_sts_switch example.test drip off

	mta_sts_switch example.test delay 1
	start=$(date +%s%N)
	run fetch "$url"
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_contains "$output" "200 text/plain 65"
	[ "$ms" -ge 1000 ]
	mta_sts_switch example.test delay off

	mta_sts_switch example.test down
	run fetch "$url"
	assert_contains "$output" "error "
	mta_sts_switch example.test down off

	make_cert --self-signed mta-sts.example.test
	mta_sts_cert example.test "$CERT" "$KEY"
	run fetch "$url"
	assert_contains "$output" "self-signed certificate"
	make_cert --expired mta-sts.example.test
	mta_sts_cert example.test "$CERT" "$KEY"
	run fetch "$url"
	assert_contains "$output" "certificate has expired"

	assert_equal "$(https_requests | awk '{ print $6 }' | tr '\n' ' ')" \
		"404 200 301 200 200 200 200 DOWN TLSFAIL TLSFAIL "
	assert_equal "$(https_request_count example.test)" 7
}

@test "stop_policy_server: the policy host refuses connections" {
	base_zone
	start_policy_server
	mta_sts_policy example.test <<<"version: STSv1"
	run fetch https://mta-sts.example.test/.well-known/mta-sts.txt
	assert_contains "$output" "200 text/plain"
	stop_policy_server
	run fetch https://mta-sts.example.test/.well-known/mta-sts.txt
	assert_contains "$output" "ConnectionRefusedError"
}

# ------------------------------------------------------------ hygiene

@test "a bats file using the harness leaves no process behind, failed or not" {
	local inner=$T/inner.bats at=@test
	# ($at: bats would take a line starting with @test, even in a here
	# document, for one of this file's tests.)
	cat >"$inner" <<-EOF
	load '$LIB_DIR/lib_direct'
	$at "servers, a stray process and a failure" {
		echo "\$DIRECT_NS_NET" >'$T/ns-id'
		start_mx 127.0.0.2
		start_policy_server
		in_ns sleep 300 </dev/null >/dev/null 2>&1 3>&- &
		false
	}
	$at "a passing one" {
		start_mx 127.0.0.2
	}
	EOF
	# Not this bats' own libexec (first on PATH), nor its output channel
	# (fd 3).
	local path
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	run env -i PATH="$path" OUTBOX="$OUTBOX_REAL" LC_ALL=C.UTF-8 \
		bats --tap "$inner" 3>&-
	assert_equal "$status" 1
	assert_contains "$output" "not ok 1 servers, a stray process and a failure"
	assert_contains "$output" "ok 2 a passing one"
	local ns left
	ns=$(cat "$T/ns-id")
	[[ $ns == net:* ]]
	left=$(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' \
		2>/dev/null | awk -v ns="$ns" '$1 == ns')
	assert_equal "$left" ""
}

@test "a killed run leaves nothing behind either (everything watches its parent)" {
	local dir=$T/killed
	mkdir -p "$dir"
	env -i PATH="$PATH" OUTBOX="$OUTBOX_REAL" BATS_FILE_TMPDIR="$dir" \
		bash -c '
		source "$1/lib_direct.bash"
		direct_ns_start >"$2/log" 2>&1 || exit 1
		start_mx 127.0.0.2 >>"$2/log" 2>&1 || exit 1
		start_policy_server >>"$2/log" 2>&1 || exit 1
		echo "$DIRECT_NS_NET" >"$2/ns-id"
		exec sleep 300' sh "$LIB_DIR" "$dir" </dev/null >/dev/null 2>&1 3>&- &
	local pid=$! i ns= left
	for ((i = 0; i < 500; i++)); do
		[ -s "$dir/ns-id" ] && break
		sleep 0.02
	done
	ns=$(cat "$dir/ns-id" 2>/dev/null) || { cat "$dir/log"; false; }
	kill -KILL "$pid"
	wait "$pid" || true
	for ((i = 0; i < 150; i++)); do
		left=$(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' \
			2>/dev/null | awk -v ns="$ns" '$1 == ns')
		[ -n "$left" ] || break
		sleep 0.02
	done
	assert_equal "$left" ""
}

@test "without root the suite is skipped with the reason" {
	command -v setpriv >/dev/null || skip "no setpriv"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash -c 'source "$1/lib_direct.bash"; direct_ns_unavailable' \
		sh "$LIB_DIR"
	assert_equal "$status" 0
	assert_contains "$output" "needs root"
}

@test "the machine's resolv.conf, hosts, trust store, /var/spool and mounts are untouched" {
	host_state >"$T/host.now"
	diff "$BATS_FILE_TMPDIR/host.before" "$T/host.now"
}
