#!/usr/bin/env bats
# lazylib.bats - GnuTLS, libidn2 and json-c are loaded on first use
# (src/lazylib.h): the binary links none of them and exports none of their
# names, a run that needs none maps none, a TLS run loads GnuTLS, and a
# library that cannot be loaded is a clear error (exit 69), never a crash.

load lib

MSG=$'From: sender@example.com\nTo: rcpt@example.com\nSubject: lazy\nMessage-ID: <lazy@example.com>\n\nbody\n'

setup_file() { make_certs; }

# The shared objects the dynamic loader opened during the last run_ld
# (its own log, LD_DEBUG=files: no tracer needed).
loaded_objects() {
	cat "$T"/ld.* 2>/dev/null | sed -n 's/.*file=\([^ ]*\) .*/\1/p' |
		sed 's|.*/||' | sort -u
}

# run_outbox with the dynamic loader's log in $T/ld.*.
run_ld() {
	rm -f "$T"/ld.*
	LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld run_outbox "$@"
}

refute_tls_libraries() {
	local objects
	objects=$(loaded_objects)
	refute_contains "$objects" libgnutls
	refute_contains "$objects" libnettle
	refute_contains "$objects" libhogweed
	refute_contains "$objects" libp11-kit
	refute_contains "$objects" libidn2
	refute_contains "$objects" libunistring
	refute_contains "$objects" libjson-c
}

# A directory whose libgnutls.so.30 (or $1) is no library: with it on
# LD_LIBRARY_PATH, the load fails.
broken_library_dir() {
	mkdir -p "$T/broken-lib"
	echo "not a library" >"$T/broken-lib/${1:-libgnutls.so.30}"
	echo "$T/broken-lib"
}

@test "the binary links none of GnuTLS, libidn2, json-c and exports none of their names" {
	command -v readelf >/dev/null || skip "binutils is not installed"
	run readelf -dW "$OUTBOX"
	assert_exit 0
	assert_contains "$output" "(NEEDED)"
	refute_contains "$output" libgnutls
	refute_contains "$output" libidn2
	refute_contains "$output" libjson-c
	# The forwarders are hidden: nothing a library calls can bind to
	# them (lazylib.h: interposition).
	run readelf --dyn-syms -W "$OUTBOX"
	assert_exit 0
	refute_contains "$output" gnutls_
	refute_contains "$output" idn2_
	refute_contains "$output" json_
	refute_contains "$output" printbuf_
}

@test "a plain SMTP send, --help and the queue listing map none of the libraries" {
	start_server
	server_config "$T/rc"
	printf '%s' "$MSG" >"$T/message.in"
	run_ld -C "$T/rc" rcpt@example.com <"$T/message.in"
	assert_exit 0
	assert_received 1
	assert_contains "$(loaded_objects)" libc.so
	refute_tls_libraries
	run_ld --help
	assert_exit 0
	refute_tls_libraries
	run_ld -C "$T/rc" -bp
	assert_exit 0
	refute_tls_libraries
}

@test "a STARTTLS send loads GnuTLS" {
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY"
	server_config "$T/rc" "tls on" "tls_starttls on" \
		"tls_trust_file $CA_CERT" "host localhost"
	printf '%s' "$MSG" >"$T/message.in"
	run_ld -C "$T/rc" rcpt@example.com <"$T/message.in"
	assert_exit 0
	assert_received 1
	assert_contains "$(loaded_objects)" libgnutls.so.30
	# GnuTLS's own dependencies come with it
	assert_contains "$(loaded_objects)" libnettle
	# an SMTP account without OAuth needs no JSON
	refute_contains "$(loaded_objects)" libjson-c
}

@test "GnuTLS that cannot be loaded: exit 69 with a sentence naming it" {
	start_server --starttls --cert "$SERVER_CERT" --key "$SERVER_KEY"
	server_config "$T/rc" "tls on" "tls_starttls on" \
		"tls_trust_file $CA_CERT" "host localhost"
	local broken
	broken=$(broken_library_dir)
	# The TLS code asks first: the error travels the usual way.
	LD_LIBRARY_PATH=$broken send_message "$MSG" -C "$T/rc" \
		rcpt@example.com
	assert_exit 69
	assert_contains "$stderr" "cannot load GnuTLS: "
	assert_contains "$stderr" "libgnutls.so.30"
	assert_received 0
	# Elsewhere the first call finds it missing (a key made with
	# GnuTLS): the same sentence and status, no crash.
	LD_LIBRARY_PATH=$broken run_outbox --dkim-keygen \
		--dkim-key="$T/dkim.pem"
	assert_exit 69
	assert_contains "$stderr" "outbox: cannot load GnuTLS: "
	[ ! -e "$T/dkim.pem" ]
	# A plain send needs no GnuTLS: it still works.
	server_config "$T/plainrc"
	LD_LIBRARY_PATH=$broken send_message "$MSG" -C "$T/plainrc" \
		rcpt@example.com
	assert_exit 0
}

@test "libidn2 that cannot be loaded: exit 69 with a sentence naming it" {
	start_server
	server_config "$T/rc"
	LD_LIBRARY_PATH=$(broken_library_dir libidn2.so.0) \
		send_message "$MSG" -C "$T/rc" rcpt@bücher.example
	assert_exit 69
	assert_contains "$stderr" "outbox: cannot load libidn2: "
	assert_contains "$stderr" "libidn2.so.0"
	assert_received 0
}
