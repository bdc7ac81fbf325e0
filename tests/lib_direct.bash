# tests/lib_direct.bash - a hermetic Internet on loopback for the tests of
# direct delivery (issue 14: MX lookup, port 25, MTA-STS, DANE).
#
# Load it instead of lib (it loads tests/lib.bash, whose helpers all keep
# working: run_outbox, send_message, assert_*, received_*, make_certs ...):
#
#   load lib_direct
#
# It defines setup_file/teardown_file/setup/teardown calling the functions
# below; a suite that needs its own must call them the same way:
#
#   setup_file()    { direct_ns_start; }    # once per file
#   teardown_file() { direct_ns_stop; }
#   setup()         { direct_setup; }       # per test (skips if needed)
#   teardown()      { direct_teardown; }
#
# THE NAMESPACE (one per bats file)
#   A holder process made by `unshare --net --mount --propagation private`
#   owns a private network namespace (only `lo`, brought up: every
#   127.0.0.0/8 address can be bound, ::1 too; lo also holds 192.0.2.1 and
#   2001:db8::1 so that getaddrinfo's AI_ADDRCONFIG sees a dual-stack host,
#   glibc ignoring 127.0.0.1 and ::1 there; no route leads anywhere else:
#   an address not on lo is "Network is unreachable" at once) and a
#   private mount namespace in which these are mounted over the machine's
#   files, never touching them:
#     /etc/resolv.conf    nameserver 127.0.0.53, options trust-ad
#                         timeout:1 attempts:1 (dns_resolv_conf)
#     /etc/hosts          localhost only (ns_hosts)
#     /etc/nsswitch.conf  the machine's, with "hosts: files dns"
#     /var/spool          an empty tmpfs (mode 0755): outbox run as root
#                         keeps its queue and caches in /var/spool/outbox
#     /etc/ssl/certs      a tmpfs holding only the test CA, as
#                         ca-certificates.crt (GnuTLS's and OpenSSL's
#                         system trust) and hashed (ns_trust)
#     /run/nscd           an empty tmpfs, when it exists (no host cache)
#   Servers and outbox run inside with in_ns (nsenter -n -m); no PID
#   namespace, so their PIDs are ordinary ones. Nothing else of the
#   machine is changed. direct_ns_stop kills whatever has the namespace
#   (found through /proc/PID/ns/net), so nothing survives the file, failed
#   or not; and should the bats process itself be killed, the holder (a
#   dead man's switch watching it) does the same within a second, and
#   every server also exits when its test's shell is gone.
#   Needs root and a permitted unshare: otherwise every test is skipped
#   with the reason, or fails when OUTBOX_TEST_REQUIRE_NS=1 (for CI).
#   The tests of one file share the namespace: run them one at a time
#   (tests/run-all does; no `bats --jobs` within a file). Files may run in
#   parallel: each has its own namespace, ports and all.
#
# LIFECYCLE
#   direct_ns_start  (setup_file) start the namespace, the test CA
#                    (make_certs: CA_CERT, SERVER_CERT, OTHER_CA_CERT ...
#                    exported) and the DNS server. Exports DIRECT_DIR (the
#                    harness's files), DNS_ZONE, DNS_LOG, HTTPS_LOG,
#                    POLICY_DIR, DIRECT_NS_PID, DIRECT_SKIP (a reason).
#   direct_ns_stop   (teardown_file) stop every process in the namespace
#                    and the namespace itself; fails if any is left.
#   direct_setup     (setup) skip when the namespace is unavailable;
#                    setup_common; then a clean slate: empty zone, default
#                    resolv.conf and hosts, trust = the test CA, empty
#                    /var/spool, no MTA-STS policies, empty query and
#                    request logs, the DNS server (re)started if it died.
#                    OUTBOX becomes a wrapper that runs the binary under
#                    test ($OUTBOX_REAL) inside the namespace, so
#                    run_outbox and send_message run outbox inside.
#   direct_teardown  (teardown) stop this test's MX sinks and policy
#                    servers and wait until they are gone (their ports are
#                    free for the next test); teardown_common.
#
# RUNNING THINGS INSIDE
#   in_ns CMD [ARG...]   run CMD in the namespace (same environment and
#                    working directory, stdin/stdout/stderr); works with
#                    bats' run ("run in_ns getent ahosts mx1.example.test").
#                    Refuses (exit 125) if the namespace is gone.
#   run_outbox / send_message (lib.bash) run outbox inside (see above);
#                    "$OUTBOX_REAL" is the binary itself, for the rare run
#                    outside.
#
# DNS (tests/servers/dns_server.py on 127.0.0.53:53, UDP and TCP; its
# header documents the answers and the query log format)
#   dns_zone         replace the zone with stdin (master file, origin the
#                    root, default TTL 300) and wait until the server has
#                    loaded it; fails with the parser's message if it does
#                    not load. Control lines (comments):
#                      ; signed NAME            AD=1 at or below NAME when
#                                               the query asked (AD or DO)
#                      ; unsigned NAME          carve out (longest wins)
#                      ; servfail NAME [TYPE...]
#                      ; refused NAME [TYPE...]
#                      ; timeout NAME [TYPE...] never answered
#                      ; delay NAME SECONDS [TYPE...]
#   dns_zone_append  add stdin to the zone (same checks).
#   dns_resolv_conf [--no-trust-ad] [--nameserver ADDR] [LINE...]
#                    rewrite the namespace's /etc/resolv.conf: nameserver
#                    ADDR (default 127.0.0.53), "options trust-ad
#                    timeout:1 attempts:1" (without trust-ad: glibc then
#                    neither asks for nor passes on the AD bit), then each
#                    LINE ("options edns0", "options use-vc" ...).
#   start_dns / stop_dns  (re)start or stop the DNS server (stopped: the
#                    stub resolver gets "connection refused"); sets DNS_PID.
#   dns_queries      the query log since the test began: one line per query
#                    "TRANSPORT NAME TYPE RCODE ANCOUNT QFLAGS RFLAGS", e.g.
#                    "udp example.test MX NOERROR 2 rd,ad rd,ra,ad".
#   dns_query_count NAME [TYPE]  how many queries for NAME (lower case, no
#                    final dot) of TYPE (any type when omitted).
#
# HOSTS AND TRUST
#   ns_hosts         the namespace's /etc/hosts: localhost lines + stdin.
#   ns_trust [PEM...]  the namespace's system trust: exactly these CA
#                    certificates (default: $CA_CERT); none: an empty store.
#   ns_add_address ADDR  add ADDR to lo (more IPv6 addresses, e.g.
#                    fd00::25, to bind sinks to).
#   ns_del_address ADDR  remove ADDR from lo (ns_del_address 2001:db8::1:
#                    an IPv4-only host for AI_ADDRCONFIG).
#
# CERTIFICATES (certtool, made at test time, cached per file)
#   test_ca          make the test CA (make_certs) if not done yet; exports
#                    CA_CERT CA_KEY and lib.bash's other certificates.
#   make_cert [--self-signed | --expired | --ca CERT KEY] NAME...
#                    a TLS server certificate for NAME... (CN the first,
#                    every NAME a dNSName, or an iPAddress if it is one),
#                    signed by the test CA (or --ca, or itself); sets CERT,
#                    KEY and CHAIN (CERT followed by its issuer's
#                    certificate, for DANE-TA); same arguments, same files.
#   tlsa_rdata CERT USAGE SELECTOR MTYPE  print the TLSA rdata "U S M HEX"
#                    for the PEM certificate CERT: SELECTOR 0 the whole
#                    certificate, 1 its SubjectPublicKeyInfo; MTYPE 0 the
#                    data itself, 1 SHA-256, 2 SHA-512 (RFC 6698 2.1).
#
# MX SINKS (tests/servers/smtpd.py, every option and fault of its header)
#   start_mx ADDR [SMTPD_ARGS...]  an SMTP server on ADDR port 25 inside
#                    (ADDR 127.0.0.x, or an IPv6 address); call it in the
#                    test's own shell, like start_server. Sets SPOOL, PORT
#                    (25), SERVER_PID, MX_PID, so lib.bash's received_*
#                    helpers read the newest sink; records the spool for
#                    mx_spool. STARTTLS: start_mx 127.0.0.2 --starttls
#                    --cert "$CERT" --key "$KEY" after make_cert NAME.
#   mx_spool ADDR    print the spool directory of the sink on ADDR.
#   use_mx ADDR      make the sink on ADDR the current one (SPOOL, PORT,
#                    SERVER_PID): then received_count, assert_received,
#                    received_envelope N rcpt_tos ... read it. Or, for one
#                    call: SPOOL=$(mx_spool ADDR) received_count.
#   stop_mx ADDR     stop that sink and wait until it is gone (its port
#                    then refuses connections).
#
# MTA-STS POLICY HOSTS (tests/servers/https_server.py; its header
# documents the files and the request log)
#   start_policy_server [ADDR]  HTTPS on ADDR:443 inside (default
#                    127.0.0.44), serving every domain of POLICY_DIR;
#                    sets POLICY_ADDR, POLICY_PID. The zone must point
#                    mta-sts.DOMAIN at ADDR. Several may run (one per
#                    address); all serve the same policies.
#   stop_policy_server [ADDR]  stop it (then: connection refused).
#   mta_sts_policy DOMAIN  the policy body for DOMAIN from stdin (bytes as
#                    given), served at https://mta-sts.DOMAIN/.well-known/
#                    mta-sts.txt with a certificate for mta-sts.DOMAIN
#                    from the test CA (unless mta_sts_cert chose another).
#   mta_sts_switch DOMAIN SWITCH [VALUE...]  a fault for DOMAIN (VALUE
#                    "off" removes it): status CODE, content-type TYPE,
#                    redirect URL (301 unless status), size BYTES (body
#                    padded to BYTES), drip SECONDS (per body byte), delay
#                    SECONDS (before replying), down (TCP reset during the
#                    handshake), headers LINE... (extra header lines).
#   mta_sts_cert DOMAIN CERT KEY  serve mta-sts.DOMAIN with this
#                    certificate (self-signed, wrong name, expired ...).
#   https_requests   the request log since the test began, one line per
#                    request: "ADDR:443 SNI HOST METHOD PATH STATUS"
#                    (STATUS: a code, or TLSFAIL, DOWN, NOREQUEST, DRIPCUT).
#   https_request_count [DOMAIN]  requests whose Host was mta-sts.DOMAIN
#                    (all requests and failed handshakes without DOMAIN).
#
# A ZONE FOR MTA-STS AND DANE (names absolute; the TLSA from a real cert)
#   make_cert mx1.example.test
#   dns_zone <<-EOF
#   ; signed example.test
#   example.test.              MX  10 mx1.example.test.
#   mx1.example.test.          A   127.0.0.2
#   _25._tcp.mx1.example.test. TLSA $(tlsa_rdata "$CERT" 3 1 1)
#   _mta-sts.example.test.     TXT "v=STSv1; id=20240101T000000"
#   mta-sts.example.test.      A   127.0.0.44
#   EOF
#   start_policy_server 127.0.0.44
#   printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 86400\r\n' |
#       mta_sts_policy example.test
#
# EXAMPLE
#   @test "mail goes to the best MX over verified STARTTLS" {
#       make_cert mx1.example.test
#       start_mx 127.0.0.2 --starttls --cert "$CERT" --key "$KEY"
#       dns_zone <<-'EOF'
#       ; signed example.test
#       example.test.      MX 10 mx1.example.test.
#       mx1.example.test.  A  127.0.0.2
#       EOF
#       send_message $'Subject: hi\r\n\r\nbody\r\n' -f a@sender.test \
#           rcpt@example.test    # plus whatever selects direct delivery
#       assert_exit 0
#       use_mx 127.0.0.2
#       assert_received 1
#       assert_equal "$(received_envelope 1 rcpt_tos)" rcpt@example.test
#       assert_equal "$(dns_query_count example.test MX)" 1
#   }

# shellcheck source=tests/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DIRECT_DNS_ADDR=127.0.0.53
DIRECT_POLICY_ADDR=127.0.0.44

setup_file() { direct_ns_start; }
teardown_file() { direct_ns_stop; }
setup() { direct_setup; }
teardown() { direct_teardown; }

# ------------------------------------------------------------ namespace

# Print why the namespace cannot be made here (status 0), or nothing
# (status 1) when it can.
direct_ns_unavailable() {
	local cmd err
	if [ "$(id -u)" != 0 ]; then
		echo "needs root: direct delivery is tested in a private network" \
			"and mount namespace (unshare --net --mount)"
		return 0
	fi
	for cmd in unshare nsenter ip mount umount findmnt certtool openssl \
		tail; do
		if ! command -v "$cmd" >/dev/null; then
			echo "$cmd is missing (.ci/deps installs it)"
			return 0
		fi
	done
	if ! err=$(unshare --net --mount --propagation private true 2>&1); then
		echo "unshare --net --mount is not permitted here: $err"
		return 0
	fi
	if ! "$PYTHON" -c 'import dns.message, dns.zone' 2>/dev/null; then
		echo "$PYTHON lacks dnspython (python3-dnspython, .ci/deps)"
		return 0
	fi
	if [ ! -f /etc/resolv.conf ] || [ ! -f /etc/hosts ] ||
		[ ! -d /var/spool ]; then
		echo "/etc/resolv.conf, /etc/hosts or /var/spool is missing:" \
			"nothing to mount the test files over"
		return 0
	fi
	return 1
}

direct_ns_start() {
	export DIRECT_DIR=${BATS_FILE_TMPDIR:?}/direct
	export DIRECT_SKIP=
	local why
	if why=$(direct_ns_unavailable); then
		if [ -n "${OUTBOX_TEST_REQUIRE_NS:-}" ]; then
			echo "OUTBOX_TEST_REQUIRE_NS is set, but: $why" >&2
			return 1
		fi
		DIRECT_SKIP=$why
		return 0
	fi
	rm -rf "$DIRECT_DIR"
	mkdir -p "$DIRECT_DIR"/{etc,bin,run,mx,ctl,certs} || return 1
	export DNS_ZONE=$DIRECT_DIR/zone DNS_LOG=$DIRECT_DIR/dns.log
	export HTTPS_LOG=$DIRECT_DIR/https.log POLICY_DIR=$DIRECT_DIR/policies
	export DIRECT_FILE_PID=$BASHPID
	mkdir -p "$POLICY_DIR"
	: >"$DNS_LOG"
	: >"$HTTPS_LOG"
	: >"$DNS_ZONE"

	# The files mounted over the machine's, written in place from now on
	# (a bind mount follows the inode, not the name).
	direct_write_resolv_conf
	direct_write_hosts </dev/null
	sed 's/^hosts:.*/hosts:          files dns/' /etc/nsswitch.conf \
		>"$DIRECT_DIR/etc/nsswitch.conf" 2>/dev/null ||
		printf 'hosts: files dns\n' >"$DIRECT_DIR/etc/nsswitch.conf"

	export DIRECT_HOST_NET DIRECT_HOST_MNT
	DIRECT_HOST_NET=$(readlink /proc/self/ns/net)
	DIRECT_HOST_MNT=$(readlink /proc/self/ns/mnt)
	# The holder, a dead man's switch: once this shell (the bats file, or
	# the test) is gone, however it ended, it kills every process left in
	# its network namespace, then exits, and the namespace with it. fd 3
	# is bats' output channel: closed for every background process, or
	# bats would wait for it. ($BASHPID is read here: in the background
	# command it would be the holder's own.)
	local watch=$BASHPID
	unshare --net --mount --propagation private /bin/sh -c '
		tail --pid="$1" -s 0.2 -f /dev/null
		me=$(readlink /proc/self/ns/net)
		for p in /proc/[0-9]*; do
			[ "${p#/proc/}" != $$ ] &&
				[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
		exit 0' outbox-test-holder "$watch" \
		</dev/null >/dev/null 2>"$DIRECT_DIR/holder.err" 3>&- &
	export DIRECT_NS_PID=$!
	# Wait until unshare has exec'd the shell: the namespaces exist and /
	# is private, so nothing mounted inside can reach the machine.
	local i comm net= mnt=
	for ((i = 0; i < 500; i++)); do
		comm=$(cat "/proc/$DIRECT_NS_PID/comm" 2>/dev/null) || {
			echo "unshare failed:" "$(cat "$DIRECT_DIR/holder.err")" >&2
			return 1
		}
		# (bash before its exec of unshare, unshare, then sh)
		if [ "$comm" = sh ]; then
			net=$(readlink "/proc/$DIRECT_NS_PID/ns/net")
			mnt=$(readlink "/proc/$DIRECT_NS_PID/ns/mnt")
			break
		fi
		sleep 0.01
	done
	if [ -z "$net" ] || [ "$net" = "$DIRECT_HOST_NET" ] ||
		[ "$mnt" = "$DIRECT_HOST_MNT" ]; then
		echo "the namespace holder did not start (net $net, mnt $mnt)" >&2
		kill -KILL "$DIRECT_NS_PID" 2>/dev/null
		return 1
	fi
	export DIRECT_NS_NET=$net DIRECT_NS_MNT=$mnt
	direct_write_wrappers

	# Inside: loopback up, the test files over the machine's. The script
	# checks again that it is not in the machine's namespaces.
	in_ns /bin/sh -eu -c '
		d=$1
		[ "$(readlink /proc/self/ns/net)" != "$2" ] &&
			[ "$(readlink /proc/self/ns/mnt)" != "$3" ] || {
			echo "refusing: not inside the test namespace" >&2
			exit 99
		}
		mount --make-rprivate /
		ip link set lo up
		# glibc does not count 127.0.0.1 and ::1 for AI_ADDRCONFIG:
		# without these, getaddrinfo(AF_INET, AI_ADDRCONFIG) finds
		# nothing at all. (Documentation addresses, RFC 5737 / 3849.)
		ip addr add 192.0.2.1/32 dev lo
		ip -6 addr add 2001:db8::1/128 dev lo nodad 2>/dev/null || :
		mount --bind "$d/etc/resolv.conf" /etc/resolv.conf
		mount --bind "$d/etc/hosts" /etc/hosts
		if [ -e /etc/nsswitch.conf ]; then
			mount --bind "$d/etc/nsswitch.conf" /etc/nsswitch.conf
		fi
		mount -t tmpfs -o mode=0755,size=64m outbox-test-spool /var/spool
		if [ -d /etc/ssl/certs ]; then
			mount -t tmpfs -o mode=0755,size=16m outbox-test-certs \
				/etc/ssl/certs
		fi
		if [ -d /run/nscd ]; then
			mount -t tmpfs -o mode=0755,size=1m outbox-test-nscd /run/nscd
		fi
	' sh "$DIRECT_DIR" "$DIRECT_HOST_NET" "$DIRECT_HOST_MNT" || {
		echo "setting up the test namespace failed" >&2
		direct_ns_stop
		return 1
	}
	in_ns ip -o addr show dev lo | awk '{ print $4 }' \
		>"$DIRECT_DIR/lo.addresses"
	test_ca || return 1
	ns_trust "$CA_CERT" || return 1
	start_dns || return 1
}

direct_ns_stop() {
	[ -n "${DIRECT_NS_PID:-}" ] && [ -n "${DIRECT_NS_NET:-}" ] || return 0
	local pids i
	pids=$(direct_ns_pids)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -TERM $pids 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		pids=$(direct_ns_pids)
		[ -n "$pids" ] || break
		sleep 0.02
	done
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		pids=$(direct_ns_pids)
		[ -n "$pids" ] || break
		sleep 0.02
	done
	# Reap what this shell started (holder, servers) so no zombie stays.
	wait 2>/dev/null
	if [ -n "$pids" ]; then
		echo "processes left in the test namespace:" >&2
		ps -o pid,stat,args -p "${pids//$'\n'/,}" >&2
		return 1
	fi
	DIRECT_NS_PID=
}

# The PIDs of every process whose network namespace is the test's.
direct_ns_pids() {
	find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' 2>/dev/null |
		LC_ALL=C awk -v ns="$DIRECT_NS_NET" '$1 == ns {
			split($2, part, "/"); print part[3] }'
}

# bin/ns-exec runs a command inside (after checking that the holder is
# still the one that owns the namespace: a recycled PID must never send a
# command into the machine's own namespaces), bin/python and bin/outbox
# run /usr/bin/python3 and $OUTBOX_REAL through it.
direct_write_wrappers() {
	local bin=$DIRECT_DIR/bin
	cat >"$bin/ns-exec" <<-EOF
		#!/bin/sh
		# Generated by tests/lib_direct.bash: run a command inside the
		# direct-delivery test namespace.
		if [ "\$(readlink /proc/$DIRECT_NS_PID/ns/net 2>/dev/null)" != '$DIRECT_NS_NET' ] ||
		   [ "\$(readlink /proc/$DIRECT_NS_PID/ns/mnt 2>/dev/null)" != '$DIRECT_NS_MNT' ]; then
			echo "ns-exec: the test namespace (holder $DIRECT_NS_PID) is gone" >&2
			exit 125
		fi
		exec nsenter -t $DIRECT_NS_PID -n -m --wd="\$PWD" -- "\$@"
	EOF
	cat >"$bin/python" <<-EOF
		#!/bin/sh
		exec '$bin/ns-exec' '$PYTHON' "\$@"
	EOF
	cat >"$bin/outbox" <<-EOF
		#!/bin/sh
		# The outbox under test (\$OUTBOX_REAL), inside the test namespace.
		exec '$bin/ns-exec' "\${OUTBOX_REAL:?}" "\$@"
	EOF
	chmod 755 "$bin/ns-exec" "$bin/python" "$bin/outbox"
}

in_ns() {
	"$DIRECT_DIR/bin/ns-exec" "$@"
}

# ------------------------------------------------------------ per test

direct_setup() {
	if [ -n "${DIRECT_SKIP:-}" ]; then
		skip "$DIRECT_SKIP"
	fi
	if [ -z "${DIRECT_NS_PID:-}" ]; then
		echo "direct_setup: no test namespace (call direct_ns_start" \
			"from setup_file)" >&2
		return 1
	fi
	if [ "$OUTBOX" != "$DIRECT_DIR/bin/outbox" ]; then
		export OUTBOX_REAL=$OUTBOX
	fi
	OUTBOX=$OUTBOX_REAL
	setup_common || return 1
	export OUTBOX=$DIRECT_DIR/bin/outbox
	NS_TEST_PIDS=()
	MX_PID= POLICY_PID= POLICY_ADDR=
	if ! kill -0 "$(cat "$DIRECT_DIR/dns.pid" 2>/dev/null)" 2>/dev/null; then
		start_dns || return 1
	fi
	DNS_PID=$(cat "$DIRECT_DIR/dns.pid")
	dns_zone </dev/null || return 1
	direct_write_resolv_conf
	direct_write_hosts </dev/null
	rm -rf "${POLICY_DIR:?}" && mkdir -p "$POLICY_DIR"
	: >"$DNS_LOG"
	: >"$HTTPS_LOG"
	# A fresh /var/spool, after checking the mount there is ours, and
	# lo's addresses as direct_ns_start left them.
	in_ns /bin/sh -eu -c '
		[ "$(findmnt -n -o SOURCE --mountpoint /var/spool)" = \
			outbox-test-spool ] || {
			echo "/var/spool in the namespace is not the test tmpfs" >&2
			exit 1
		}
		umount -l /var/spool
		mount -t tmpfs -o mode=0755,size=64m outbox-test-spool /var/spool
		want=" $(cat "$1") "
		have=" $(ip -o addr show dev lo | awk "{ print \$4 }") "
		for a in $have; do
			case $want in *" $a "*) ;; *) ip addr del "$a" dev lo ;; esac
		done
		for a in $want; do
			case $have in *" $a "*) ;; *)
				case $a in
				*:*) ip -6 addr add "$a" dev lo nodad ;;
				*) ip addr add "$a" dev lo ;;
				esac ;;
			esac
		done
	' sh "$DIRECT_DIR/lo.addresses" || return 1
	ns_trust "$CA_CERT"
}

direct_teardown() {
	local pid
	for pid in "${NS_TEST_PIDS[@]}"; do
		direct_stop_pid "$pid"
	done
	NS_TEST_PIDS=()
	teardown_common
}

# SIGTERM, wait (<= 3 s, then SIGKILL) until PID has ended, and reap it
# if it is this shell's child. (lib.bash's stop_server leaves a `sleep 3`
# watchdog behind, which holds bats' output open for 3 s.)
direct_stop_pid() {
	local pid=$1 i stat
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	for ((i = 0; i < 200; i++)); do
		[ "$i" != 150 ] || kill -KILL "$pid" 2>/dev/null
		stat=
		{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || break
		stat=${stat##*) }
		case ${stat:0:1} in '' | Z | X) break ;; esac
		sleep 0.02
	done
	wait "$pid" 2>/dev/null || true
}

# ----------------------------------------------------------- servers

# Start /usr/bin/python3 SCRIPT ARGS... inside, wait (<= 10 s) until it
# reports "PORT PID" on its ready FIFO. Sets NS_STARTED_PID and
# NS_STARTED_DIR (its stdout/stderr). In a test (setup, @test) the server
# is stopped by direct_teardown and exits with the test's shell; in
# setup_file it lives until the file ends.
direct_start_python() {
	local script=$1 fd port= spid= dir watch=$BASHPID
	shift
	dir=$(mktemp -d "$DIRECT_DIR/run/${script%.py}.XXXXXX") || return 1
	mkfifo "$dir/ready"
	exec {fd}<>"$dir/ready"
	if [ -n "${DIRECT_WATCH_PID:-}" ]; then watch=$DIRECT_WATCH_PID; fi
	"$DIRECT_DIR/bin/python" "$SERVERS_DIR/$script" "$@" \
		--ready-fifo "$dir/ready" --watch-pid "$watch" \
		</dev/null >"$dir/stdout" 2>"$dir/stderr" 3>&- {fd}>&- &
	local pid=$!
	read -r -t 10 -u "$fd" port spid || true
	exec {fd}>&-
	if [ -z "$spid" ]; then
		echo "$script $* did not start within 10 s:" >&2
		cat "$dir/stdout" "$dir/stderr" >&2
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
	NS_STARTED_PID=$pid
	NS_STARTED_DIR=$dir
	if [ -n "${BATS_TEST_NAME:-}" ] && [ -z "${DIRECT_WATCH_PID:-}" ]; then
		NS_TEST_PIDS+=("$pid")
		SERVER_PIDS+=("$pid")
		SERVER_CHILDREN+=("$pid")
	fi
}

start_dns() {
	DIRECT_WATCH_PID=$DIRECT_FILE_PID direct_start_python dns_server.py \
		--listen "$DIRECT_DNS_ADDR:53" --zone "$DNS_ZONE" \
		--log "$DNS_LOG" --control "$DIRECT_DIR/ctl" || return 1
	DNS_PID=$NS_STARTED_PID
	echo "$DNS_PID" >"$DIRECT_DIR/dns.pid"
}

stop_dns() {
	local pid
	pid=$(cat "$DIRECT_DIR/dns.pid" 2>/dev/null) || return 0
	direct_stop_pid "$pid"
	rm -f "$DIRECT_DIR/dns.pid"
}

# ---------------------------------------------------------------- DNS

# The control FIFOs are opened read-write: opening never blocks, even
# with the server gone (the read then times out).
dns_reload() {
	[ -p "$DIRECT_DIR/ctl/ctl" ] || mkfifo "$DIRECT_DIR/ctl/ctl"
	[ -p "$DIRECT_DIR/ctl/ctl-reply" ] || mkfifo "$DIRECT_DIR/ctl/ctl-reply"
	local token=$RANDOM$RANDOM w r tok= status=
	exec {r}<>"$DIRECT_DIR/ctl/ctl-reply"
	exec {w}<>"$DIRECT_DIR/ctl/ctl"
	printf 'reload %s\n' "$token" >&"$w"
	exec {w}>&-
	while read -r -t 5 -u "$r" tok status; do
		[ "$tok" = "$token" ] && break
	done
	exec {r}>&-
	if [ "$tok" != "$token" ]; then
		echo "the test DNS server did not confirm loading the zone" \
			"within 5 s (stop_dns?)" >&2
		return 1
	fi
	if [ "$status" != ok ]; then
		echo "the test zone does not load: ${status#error: }" >&2
		cat -n "$DNS_ZONE" >&2
		return 1
	fi
}

dns_zone() {
	cat >"$DNS_ZONE.tmp" && mv -f "$DNS_ZONE.tmp" "$DNS_ZONE" && dns_reload
}

dns_zone_append() {
	{ cat "$DNS_ZONE" && cat; } >"$DNS_ZONE.tmp" &&
		mv -f "$DNS_ZONE.tmp" "$DNS_ZONE" && dns_reload
}

direct_write_resolv_conf() {
	local nameserver=$DIRECT_DNS_ADDR trust=trust-ad
	while [ $# -gt 0 ]; do
		case $1 in
		--no-trust-ad) trust= ;;
		--nameserver) nameserver=$2; shift ;;
		--) shift; break ;;
		-*) echo "dns_resolv_conf: unknown option $1" >&2; return 1 ;;
		*) break ;;
		esac
		shift
	done
	{
		echo "# written by tests/lib_direct.bash (dns_resolv_conf)"
		echo "nameserver $nameserver"
		echo "options ${trust:+$trust }timeout:1 attempts:1"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$DIRECT_DIR/etc/resolv.conf"   # in place: same inode
}

dns_resolv_conf() {
	direct_write_resolv_conf "$@"
}

dns_queries() {
	cat "$DNS_LOG" 2>/dev/null || true
}

dns_query_count() {
	local name=${1%.} n
	name=${name,,}
	n=$(LC_ALL=C awk -v n="$name" -v t="${2:-}" '
		$2 == n && (t == "" || $3 == t) { c++ } END { print c + 0 }' \
		"$DNS_LOG" 2>/dev/null) || true
	echo "${n:-0}"
}

# ------------------------------------------------------ hosts and trust

direct_write_hosts() {
	{
		echo "# written by tests/lib_direct.bash (ns_hosts)"
		echo "127.0.0.1 localhost"
		echo "::1 localhost ip6-localhost ip6-loopback"
		cat
	} >"$DIRECT_DIR/etc/hosts"   # in place: same inode
}

ns_hosts() {
	direct_write_hosts
}

# Rebuild /etc/ssl/certs (the test tmpfs) inside with exactly these CAs.
ns_trust() {
	local files=("$@") f
	for f in "${files[@]}"; do
		[ -r "$f" ] || { echo "ns_trust: cannot read $f" >&2; return 1; }
	done
	in_ns /bin/sh -eu -c '
		dir=/etc/ssl/certs
		[ -d "$dir" ] || exit 0
		[ "$(findmnt -n -o SOURCE --mountpoint "$dir")" = \
			outbox-test-certs ] || {
			echo "$dir in the namespace is not the test tmpfs" >&2
			exit 1
		}
		umount -l "$dir"
		mount -t tmpfs -o mode=0755,size=16m outbox-test-certs "$dir"
		: >"$dir/ca-certificates.crt"
		i=0
		for f in "$@"; do
			i=$((i + 1))
			cp "$f" "$dir/outbox-test-ca-$i.pem"
			cat "$f" >>"$dir/ca-certificates.crt"
		done
		[ "$i" -eq 0 ] || openssl rehash "$dir" >/dev/null 2>&1
	' sh "${files[@]}"
}

ns_add_address() {
	case $1 in
	*:*) in_ns ip -6 addr add "$1/128" dev lo nodad ;;
	*) in_ns ip addr add "$1/32" dev lo ;;
	esac
}

ns_del_address() {
	case $1 in
	*:*) in_ns ip -6 addr del "$1/128" dev lo ;;
	*) in_ns ip addr del "$1/32" dev lo ;;
	esac
}

# ------------------------------------------------------- certificates

test_ca() {
	if [ -z "${CA_CERT:-}" ] || [ ! -s "$CA_CERT" ]; then
		make_certs "$DIRECT_DIR/certs" || return 1
	fi
}

make_cert() {
	local mode=ca issuer_cert=${CA_CERT:-} issuer_key=${CA_KEY:-}
	while [ $# -gt 0 ]; do
		case $1 in
		--self-signed) mode=self ;;
		--expired) mode=expired ;;
		--ca) issuer_cert=$2 issuer_key=$3; shift 2 ;;
		--) shift; break ;;
		-*) echo "make_cert: unknown option $1" >&2; return 1 ;;
		*) break ;;
		esac
		shift
	done
	if [ $# -eq 0 ]; then
		echo "make_cert: no name" >&2
		return 1
	fi
	test_ca || return 1
	local d=$DIRECT_DIR/certs/made tag base name lines=()
	mkdir -p "$d"
	tag=$(printf '%s\n' "$mode" "$issuer_cert" "$@" | sha256sum | cut -c1-12)
	base=$d/${1//[^A-Za-z0-9.-]/_}.$tag
	CERT=$base.pem KEY=$base.key CHAIN=$base.chain.pem
	[ -s "$CHAIN" ] && return 0
	for name in "$@"; do
		if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
			lines+=("ip_address = \"$name\"")
		else
			lines+=("dns_name = \"$name\"")
		fi
	done
	if [ $mode = expired ]; then
		lines+=('activation_date = "2019-01-01 00:00:00"'
			'expiration_date = "2020-01-01 00:00:00"')
	else
		lines+=('expiration_days = 365')
	fi
	cert_template_server "$1" "${lines[@]}" >"$base.tmpl"
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$KEY" 2>/dev/null || return 1
	if [ $mode = self ]; then
		certtool --generate-self-signed --load-privkey "$KEY" \
			--template "$base.tmpl" --outfile "$CERT" \
			2>"$base.err" || { cat "$base.err" >&2; return 1; }
		cp "$CERT" "$CHAIN.tmp"
	else
		certtool --generate-certificate --load-privkey "$KEY" \
			--load-ca-certificate "$issuer_cert" \
			--load-ca-privkey "$issuer_key" --template "$base.tmpl" \
			--outfile "$CERT" 2>"$base.err" ||
			{ cat "$base.err" >&2; return 1; }
		cat "$CERT" "$issuer_cert" >"$CHAIN.tmp"
	fi
	mv "$CHAIN.tmp" "$CHAIN"
}

tlsa_rdata() {
	local cert=$1 usage=$2 selector=$3 mtype=$4 hex
	case $selector in 0 | 1) ;; *)
		echo "tlsa_rdata: selector 0 or 1" >&2; return 1 ;; esac
	case $mtype in 0 | 1 | 2) ;; *)
		echo "tlsa_rdata: matching type 0, 1 or 2" >&2; return 1 ;; esac
	hex=$(
		set -o pipefail
		if [ "$selector" = 0 ]; then
			openssl x509 -in "$cert" -outform DER
		else
			openssl x509 -in "$cert" -noout -pubkey |
				openssl pkey -pubin -outform DER
		fi | case $mtype in
			0) od -An -v -tx1 | tr -d ' \n' ;;
			1) sha256sum | cut -d' ' -f1 ;;
			2) sha512sum | cut -d' ' -f1 ;;
			esac
	) || { echo "tlsa_rdata: cannot read $cert" >&2; return 1; }
	echo "$usage $selector $mtype $hex"
}

# ---------------------------------------------------------- MX sinks

# start_server (lib.bash) with its Python run inside the namespace, and
# its zygote a separate one, started inside (under DIRECT_DIR).
start_mx() {
	local addr=$1 listen
	shift
	case $addr in
	*:*) listen="[$addr]:25" ;;
	*) listen="$addr:25" ;;
	esac
	local record=$DIRECT_DIR/mx
	if [ -n "${BATS_TEST_NAME:-}" ]; then
		record=$T/mx
	fi
	mkdir -p "$record"
	if [ -n "${BATS_TEST_NAME:-}" ]; then
		PYTHON=$DIRECT_DIR/bin/python BATS_FILE_TMPDIR=$DIRECT_DIR \
			start_server --listen "$listen" "$@" || return 1
		NS_TEST_PIDS+=("$SERVER_PID")
	else
		# setup_file: no test directory; spools under DIRECT_DIR.
		T=$DIRECT_DIR/file PYTHON=$DIRECT_DIR/bin/python \
			BATS_FILE_TMPDIR=$DIRECT_DIR \
			start_server --listen "$listen" "$@" || return 1
	fi
	MX_PID=$SERVER_PID
	printf '%s\n' "$SPOOL" >"$record/$addr.spool"
	printf '%s\n' "$SERVER_PID" >"$record/$addr.pid"
}

direct_mx_record() {
	local f
	for f in ${T:+"$T/mx/$1.$2"} "$DIRECT_DIR/mx/$1.$2"; do
		if [ -s "$f" ]; then
			cat "$f"
			return 0
		fi
	done
	echo "no MX sink was started on $1" >&2
	return 1
}

mx_spool() {
	direct_mx_record "$1" spool
}

use_mx() {
	SPOOL=$(direct_mx_record "$1" spool) || return 1
	SERVER_PID=$(direct_mx_record "$1" pid) || return 1
	PORT=25
}

stop_mx() {
	local pid
	pid=$(direct_mx_record "$1" pid) || return 1
	direct_stop_pid "$pid"
}

# --------------------------------------------------- MTA-STS policy hosts

start_policy_server() {
	local addr=${1:-$DIRECT_POLICY_ADDR} listen
	case $addr in
	*:*) listen="[$addr]:443" ;;
	*) listen="$addr:443" ;;
	esac
	local CERT KEY CHAIN
	make_cert policy-server.invalid || return 1
	direct_start_python https_server.py --listen "$listen" \
		--dir "$POLICY_DIR" --cert "$CERT" --key "$KEY" \
		--log "$HTTPS_LOG" || return 1
	POLICY_ADDR=$addr
	POLICY_PID=$NS_STARTED_PID
	echo "$POLICY_PID" >"$DIRECT_DIR/run/policy.$addr.pid"
}

stop_policy_server() {
	local addr=${1:-${POLICY_ADDR:-$DIRECT_POLICY_ADDR}} pid
	pid=$(cat "$DIRECT_DIR/run/policy.$addr.pid" 2>/dev/null) || {
		echo "no policy server on $addr" >&2
		return 1
	}
	direct_stop_pid "$pid"
	rm -f "$DIRECT_DIR/run/policy.$addr.pid"
}

direct_policy_dir() {
	local domain=${1%.}
	domain=${domain,,}
	if [[ -z $domain || $domain == *[^a-z0-9._-]* || $domain == *..* ]]
	then
		echo "not a domain name: $1" >&2
		return 1
	fi
	mkdir -p "$POLICY_DIR/$domain" && echo "$POLICY_DIR/$domain"
}

mta_sts_policy() {
	local dir
	dir=$(direct_policy_dir "$1") || return 1
	cat >"$dir/policy.tmp" && mv -f "$dir/policy.tmp" "$dir/policy" ||
		return 1
	if [ ! -s "$dir/cert.pem" ]; then
		local CERT KEY CHAIN
		make_cert "mta-sts.${dir##*/}" || return 1
		cp "$KEY" "$dir/key.pem" && cp "$CERT" "$dir/cert.pem"
	fi
}

mta_sts_switch() {
	local dir name=$2
	dir=$(direct_policy_dir "$1") || return 1
	shift 2
	case $name in
	status | content-type | redirect | size | drip | delay | headers) ;;
	down) [ "${1:-}" = off ] || set -- "" ;;
	*)
		echo "mta_sts_switch: unknown switch $name (status" \
			"content-type redirect size drip delay down headers)" >&2
		return 1
		;;
	esac
	if [ "${1:-}" = off ]; then
		rm -f "$dir/$name"
	elif [ $# -eq 0 ]; then
		echo "mta_sts_switch: $name needs a value" >&2
		return 1
	elif [ "$name" = headers ]; then
		printf '%s\n' "$@" >"$dir/$name"
	else
		printf '%s\n' "$1" >"$dir/$name"
	fi
}

mta_sts_cert() {
	local dir
	dir=$(direct_policy_dir "$1") || return 1
	cp "$3" "$dir/key.pem.tmp" && cp "$2" "$dir/cert.pem.tmp" &&
		mv -f "$dir/key.pem.tmp" "$dir/key.pem" &&
		mv -f "$dir/cert.pem.tmp" "$dir/cert.pem"
}

https_requests() {
	cat "$HTTPS_LOG" 2>/dev/null || true
}

https_request_count() {
	local n domain=${1:-}
	domain=${domain%.}
	n=$(LC_ALL=C awk -v d="${domain,,}" '
		{ host = tolower($3); sub(/:[0-9]*$/, "", host) }
		d == "" || host == "mta-sts." d { c++ }
		END { print c + 0 }' "$HTTPS_LOG" 2>/dev/null) || true
	echo "${n:-0}"
}
