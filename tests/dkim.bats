#!/usr/bin/env bats
# dkim.bats - DKIM signing through the binary: messages sent with dkim_key
# in the configuration reach tests/servers/smtpd.py signed, and an
# independent verifier (Debian's python3-dkim, with the key record handed
# in instead of DNS) accepts them for RSA and Ed25519, every
# canonicalisation and awkward messages; changed messages fail; bad keys
# stop outbox before any connection; --dkim-keygen and --dkim-record.

load lib

setup_file() {
	KEYS=$BATS_FILE_TMPDIR/keys
	mkdir -p "$KEYS"
	# Keys made by openssl, not by outbox: the signer is checked against
	# keys and records it had no part in.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$KEYS/rsa.pem" 2>/dev/null
	openssl rsa -in "$KEYS/rsa.pem" -traditional \
		-out "$KEYS/rsa-pkcs1.pem" 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$KEYS/ed25519.pem"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 \
		-out "$KEYS/rsa512.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$KEYS/ec.pem"
	openssl pkcs8 -topk8 -in "$KEYS/ed25519.pem" -passout pass:secret \
		-out "$KEYS/encrypted.pem"
	printf 'not a key\n' >"$KEYS/garbage.pem"
	chmod 600 "$KEYS"/*.pem
	RSA_RECORD="v=DKIM1; k=rsa; p=$(openssl pkey -in "$KEYS/rsa.pem" \
		-pubout -outform DER | base64 -w0)"
	# RFC 8463 4.2: the bare 32-byte key, the tail of the SPKI DER.
	ED_RECORD="v=DKIM1; k=ed25519; p=$(openssl pkey \
		-in "$KEYS/ed25519.pem" -pubout -outform DER | tail -c 32 |
		base64 -w0)"
	export KEYS RSA_RECORD ED_RECORD

	# verify.py [--key SELECTOR=RECORD]... [--signatures N] FILE...
	# verifies every DKIM-Signature of each FILE, answering key queries
	# from --key (no DNS); a FILE written !FILE must fail instead. One
	# process for many files: importing dkim is the slow part. Prints one
	# line per file; exits 0 when every file came out as expected (a file
	# passes when it has signatures, N of them if given, all valid).
	cat >"$BATS_FILE_TMPDIR/verify.py" <<'EOF'
import argparse, logging, re, sys
import dkim
ap = argparse.ArgumentParser()
ap.add_argument("--key", action="append", default=[])
ap.add_argument("--signatures", type=int, default=0)
ap.add_argument("files", nargs="+")
args = ap.parse_args()
records = {}
for k in args.key:
    sel, _, rec = k.partition("=")
    records[sel.encode()] = rec.encode()
def dnsfunc(name, timeout=5):
    return records.get(name.split(b"._domainkey.")[0], b"")
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
ok = True
for f in args.files:
    must_fail = f.startswith("!")
    path = f[1:] if must_fail else f
    msg = open(path, "rb").read()
    head = msg.split(b"\r\n\r\n")[0]
    count = len(re.findall(rb"(?im)^dkim-signature:", head))
    d = dkim.DKIM(msg, logger=logging.getLogger("dkim"))
    results = []
    for i in range(count):
        try:
            results.append(d.verify(idx=i, dnsfunc=dnsfunc))
        except dkim.DKIMException as e:
            print("  signature %d: %s" % (i, e))
            results.append(False)
    good = count > 0 and all(results) and \
        args.signatures in (0, count)
    print("%s: %d signature(s): %s" % (path, count, " ".join(
        "pass" if r else "FAIL" for r in results)))
    if good == must_fail:
        print("  ^ expected it to %s" % ("fail" if must_fail else "pass"))
        ok = False
sys.exit(0 if ok else 1)
EOF
}

dkim_verify() { # [--key SELECTOR=RECORD]... [--signatures N] [!]FILE...
	local out rc=0
	out=$("$PYTHON" "$BATS_FILE_TMPDIR/verify.py" "$@" 2>"$T/verify.log") ||
		rc=$?
	if [ $rc -ne 0 ]; then
		printf '%s\n' "$out" >&2
		cat "$T/verify.log" >&2
	fi
	return $rc
}

setup() {
	setup_common
	start_server
}

# The messages that tend to break signers. Bash $'...' strings; outbox
# normalises line ends, adds From/Date/Message-ID, re-encodes long lines.
messages=(
	$'From: Joe Sender <sender@example.com>\nTo: a@example.net,\n\tb@example.net\nSubject:  folded \t\n  subject\t \nX-Trailing: value \t \n\nHello  world \t\n\ttabbed\tline  \n\n\n'
	$'From: sender@example.com\nSubject: =?UTF-8?Q?caf=C3=A9?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\n\xc3\xa9t\xc3\xa9\t \n'
	$'From: sender@example.com\nSubject: dots\n\n.\n..\n.leading\n...three\nend\n'
	$'From: sender@example.com\nSubject: empty body\n\n'
	$'From: sender@example.com\nSubject: header only\n'
	$'From: sender@example.com\nSubject: no final newline\n\nlast line  \t'
	$'From: sender@example.com\r\nSubject: crlf\r\n\r\nline\r\n \t \r\n\r\n\r\n'
	$'Subject: outbox adds the From\n\nbody\n'
	$'From: Sender <sender@example.com>\nTo: x@example.net\nTo: y@example.net\nReply-To: r@example.com\nSubject: repeated fields\n\nbody\n'
)

# Send every message of $messages signed with KEY/SELECTOR and CANON and
# verify each one the server received.
sign_and_verify_all() { # KEY SELECTOR RECORD CANON
	local key=$1 selector=$2 record=$3 canon=$4 i long
	server_config "$T/cfg" "dkim_key $key" "dkim_selector $selector" \
		"dkim_canonicalization $canon"
	# a line over 998 octets: re-encoded as quoted-printable, then hashed
	# again (the signature must cover the re-encoded body)
	long=$(printf 'x%.0s' {1..1500})
	local all=("${messages[@]}" $'From: sender@example.com\nSubject: long\n\n'"$long"$'\n')
	for ((i = 0; i < ${#all[@]}; i++)); do
		send_message "${all[$i]}" -C "$T/cfg" rcpt@example.net
		assert_exit 0
	done
	assert_received ${#all[@]}
	local files=()
	for ((i = 1; i <= ${#all[@]}; i++)); do
		files+=("$SPOOL/$i.eml")
	done
	dkim_verify --key "$selector=$record" --signatures 1 "${files[@]}"
	assert_contains "$(received_header 1 DKIM-Signature)" " c=$canon;"
	assert_contains "$(received_header 1 DKIM-Signature)" " d=example.com;"
	assert_contains "$(received_message 10)" "Content-Transfer-Encoding: quoted-printable"
}

@test "RSA relaxed/relaxed: awkward messages verify" {
	sign_and_verify_all "$KEYS/rsa.pem" rsa "$RSA_RECORD" relaxed/relaxed
}

@test "RSA relaxed/simple: awkward messages verify" {
	sign_and_verify_all "$KEYS/rsa.pem" rsa "$RSA_RECORD" relaxed/simple
}

@test "RSA simple/relaxed: awkward messages verify" {
	sign_and_verify_all "$KEYS/rsa.pem" rsa "$RSA_RECORD" simple/relaxed
}

@test "RSA simple/simple (PKCS#1 key file): awkward messages verify" {
	sign_and_verify_all "$KEYS/rsa-pkcs1.pem" rsa "$RSA_RECORD" simple/simple
}

@test "Ed25519 relaxed/relaxed: awkward messages verify" {
	sign_and_verify_all "$KEYS/ed25519.pem" ed "$ED_RECORD" relaxed/relaxed
}

@test "Ed25519 relaxed/simple: awkward messages verify" {
	sign_and_verify_all "$KEYS/ed25519.pem" ed "$ED_RECORD" relaxed/simple
}

@test "Ed25519 simple/relaxed: awkward messages verify" {
	sign_and_verify_all "$KEYS/ed25519.pem" ed "$ED_RECORD" simple/relaxed
}

@test "Ed25519 simple/simple: awkward messages verify" {
	sign_and_verify_all "$KEYS/ed25519.pem" ed "$ED_RECORD" simple/simple
}

@test "default settings: relaxed/relaxed, From oversigned, a= and s= right" {
	server_config "$T/cfg" "dkim_key $KEYS/ed25519.pem" "dkim_selector ed"
	send_message $'From: sender@example.com\nTo: to@example.net\nSubject: s\n\nbody\n' \
		-C "$T/cfg" rcpt@example.net
	assert_exit 0
	local sig
	sig=$(received_header 1 DKIM-Signature)
	assert_contains "$sig" "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed;"
	# From once more than present; Date and Message-ID added by outbox
	# are signed too
	assert_contains "$(tr -d ' ' <<<"$sig")" "h=from:from:subject:date:to:message-id;"
	# the signature is the first header field and every line is short
	assert_equal "$(head -c 15 "$SPOOL/1.eml")" "DKIM-Signature:"
	"$PYTHON" -c 'import sys
for line in open(sys.argv[1], "rb").read().split(b"\r\n"):
    assert len(line) <= 78, line' "$SPOOL/1.eml"
	dkim_verify --key "ed=$ED_RECORD" "$SPOOL/1.eml"
}

@test "negative controls: a changed body byte, an added From, a changed Subject fail" {
	local key sel rec
	for key in rsa ed25519; do
		if [ $key = rsa ]; then sel=rsa rec=$RSA_RECORD; else sel=ed rec=$ED_RECORD; fi
		start_server
		server_config "$T/cfg" "dkim_key $KEYS/$key.pem" "dkim_selector $sel"
		send_message $'From: Sender <sender@example.com>\nTo: to@example.net\nSubject: original\n\nPay 100 EUR to account 1234.\n' \
			-C "$T/cfg" rcpt@example.net
		assert_exit 0
		# one body byte
		sed 's/Pay 100/Pay 900/' "$SPOOL/1.eml" >"$T/body.eml"
		# a second From above the signed one, and below it. (python3-dkim
		# would catch these even without our extra "from" in h=: it adds
		# one itself, Debian bug #644046; the h= check in the test above
		# is what shows the From is oversigned for every verifier.)
		{ printf 'From: Attacker <attacker@example.com>\r\n'; cat "$SPOOL/1.eml"; } >"$T/from.eml"
		sed 's/^To: to@example.net\r$/To: to@example.net\r\nFrom: Attacker <attacker@example.com>\r/' \
			"$SPOOL/1.eml" >"$T/from2.eml"
		sed 's/^Subject: original/Subject: changed!/' "$SPOOL/1.eml" >"$T/subject.eml"
		# a field that is not signed may be added
		{ printf 'Received: from relay.example\r\n'; cat "$SPOOL/1.eml"; } >"$T/received.eml"
		local f
		for f in body from2 subject; do
			run cmp -s "$SPOOL/1.eml" "$T/$f.eml"
			[ "$status" -ne 0 ]
		done
		dkim_verify --key "$sel=$rec" "$SPOOL/1.eml" "$T/received.eml" \
			"!$T/body.eml" "!$T/from.eml" "!$T/from2.eml" \
			"!$T/subject.eml"
	done
}

@test "dual signing: RSA and Ed25519 on the same message both verify" {
	server_config "$T/cfg" "dkim_key $KEYS/rsa.pem" "dkim_selector rsa" \
		"dkim_key $KEYS/ed25519.pem" "dkim_selector ed" \
		"dkim_canonicalization simple/relaxed"
	send_message $'From: sender@example.com\nSubject: dual\n\nbody  \n\n' \
		-C "$T/cfg" rcpt@example.net
	assert_exit 0
	assert_equal "$(received_header_count 1 DKIM-Signature)" 2
	dkim_verify --key "rsa=$RSA_RECORD" --key "ed=$ED_RECORD" \
		--signatures 2 "$SPOOL/1.eml"
}

@test "dkim_domain, identity and expiry end up in the signature" {
	server_config "$T/cfg" "dkim_key $KEYS/ed25519.pem" "dkim_selector ed" \
		"dkim_domain mail.example.com" "dkim_identity @mail.example.com" \
		"dkim_headers from:subject:to" "dkim_expire 2d"
	send_message $'From: sender@example.com\nTo: a@example.net\nSubject: s\n\nbody\n' \
		-C "$T/cfg" rcpt@example.net
	assert_exit 0
	local sig
	sig=$(received_header 1 DKIM-Signature)
	assert_contains "$sig" " d=mail.example.com;"
	assert_contains "$sig" " i=@mail.example.com;"
	assert_contains "$(tr -d ' ' <<<"$sig")" "h=from:from:subject:to;"
	# x= is t= plus two days
	local t x
	t=$(grep -o ' t=[0-9]*' <<<"$sig" | cut -d= -f2)
	x=$(grep -o ' x=[0-9]*' <<<"$sig" | cut -d= -f2)
	assert_equal "$((x - t))" 172800
	# aligned with the From domain: no warning
	refute_contains "$stderr" "align"
	dkim_verify --key "ed=$ED_RECORD" "$SPOOL/1.eml"
}

@test "a d= that does not align with From is sent with a warning" {
	server_config "$T/cfg" "dkim_key $KEYS/ed25519.pem" "dkim_selector ed" \
		"dkim_domain other.example"
	send_message $'From: sender@example.com\nSubject: s\n\nbody\n' \
		-C "$T/cfg" rcpt@example.net
	assert_exit 0
	assert_contains "$stderr" "d=other.example does not align with the From domain example.com"
	assert_contains "$(received_header 1 DKIM-Signature)" " d=other.example;"
	dkim_verify --key "ed=$ED_RECORD" "$SPOOL/1.eml"
}

@test "a bad key file exits 78 naming the file, before any connection" {
	local f
	for f in missing garbage rsa512 ec encrypted; do
		server_config "$T/cfg" "dkim_key $KEYS/$f.pem" "dkim_selector s"
		send_message $'From: sender@example.com\nSubject: s\n\nbody\n' \
			-C "$T/cfg" rcpt@example.net
		assert_exit 78
		assert_contains "$stderr" "$KEYS/$f.pem"
	done
	assert_no_session
	assert_received 0
}

@test "a message with two From fields is refused (65) when d= comes from From" {
	server_config "$T/cfg" "dkim_key $KEYS/ed25519.pem" "dkim_selector ed"
	send_message $'From: a@example.com\nFrom: b@example.org\nSubject: s\n\nbody\n' \
		-C "$T/cfg" rcpt@example.net
	assert_exit 65
	assert_contains "$stderr" "From"
	assert_no_session
}

# The quoted strings of a zone-file TXT line, joined.
record_text() {
	"$PYTHON" -c 'import re, sys
parts = re.findall(r"\"([^\"]*)\"", sys.argv[1])
assert parts and all(len(p) <= 255 for p in parts), parts
print("".join(parts))' "$1"
}

@test "--dkim-keygen writes a 0600 key and prints a record that verifies" {
	local type sel
	for type in ed25519 rsa; do
		sel=gen-$type
		run_outbox --dkim-keygen --dkim-key="$T/$type.pem" \
			--dkim-type=$type --dkim-selector=$sel \
			--dkim-domain=example.com
		assert_exit 0
		assert_equal "$(stat -c %a "$T/$type.pem")" 600
		local line
		line=$(grep '_domainkey' <<<"$output")
		assert_contains "$line" "$sel._domainkey.example.com. IN TXT ( \"v=DKIM1; k=$type; p="
		# the published key is the key's own public half (openssl's view)
		local rec want
		rec=$(record_text "$line")
		if [ $type = rsa ]; then
			want="v=DKIM1; k=rsa; p=$(openssl pkey -in "$T/$type.pem" -pubout -outform DER | base64 -w0)"
			# 2048 bits by default: more than one character-string
			[ "$(grep -o '"' <<<"$line" | wc -l)" -ge 4 ]
			assert_contains "$(openssl pkey -in "$T/$type.pem" -text -noout)" "2048 bit"
		else
			want="v=DKIM1; k=ed25519; p=$(openssl pkey -in "$T/$type.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"
		fi
		assert_equal "$rec" "$want"
		# --dkim-record prints the same line again
		run_outbox --dkim-record --dkim-key="$T/$type.pem" \
			--dkim-selector=$sel --dkim-domain=example.com
		assert_exit 0
		assert_equal "$output" "$line"
		# and mail signed with the new key verifies against it
		server_config "$T/cfg" "dkim_key $T/$type.pem" "dkim_selector $sel"
		send_message $'From: sender@example.com\nSubject: new key\n\nbody\n' \
			-C "$T/cfg" rcpt@example.net
		assert_exit 0
		dkim_verify --key "$sel=$rec" "$SPOOL/$(received_count).eml"
	done
}

@test "--dkim-keygen never overwrites a file" {
	printf 'precious\n' >"$T/existing.pem"
	run_outbox --dkim-keygen --dkim-key="$T/existing.pem" --dkim-type=ed25519
	assert_exit 64
	assert_contains "$stderr" "already exists"
	assert_equal "$(cat "$T/existing.pem")" precious
}

@test "--dkim-record of a bad key file exits 78" {
	run_outbox --dkim-record --dkim-key="$KEYS/ec.pem" \
		--dkim-selector=s --dkim-domain=example.com
	assert_exit 78
	assert_contains "$stderr" "$KEYS/ec.pem"
}
