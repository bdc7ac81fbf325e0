#!/usr/bin/env bats
# runner.bats - tests/run-all, the script whose last line CI reads: a suite
# that reports fewer results than it planned fails, and only standard
# output counts as TAP.

load lib

# A stand-in for a unit-test binary: prints $1 to stdout, $2 to stderr,
# exits with $3.
fake_suite() {
	local file=$T/$1
	printf '#!/bin/sh\nprintf "%%b" "%s"\nprintf "%%b" "%s" >&2\nexit %s\n' \
		"$2" "$3" "$4" >"$file"
	chmod +x "$file"
	echo "$file"
}

run_all() {
	status=0
	output=$("$LIB_DIR/run-all" --unit-only "$@" 2>&1) || status=$?
}

@test "run-all: a suite that stops before its plan is complete fails" {
	local t
	t=$(fake_suite early '1..5\nok 1 - first\n' '' 0)
	run_all "$t"
	[ "$status" -ne 0 ]
	assert_contains "$output" "planned 5 test(s) but reported 1"
	assert_contains "$output" "1 passed, 1 failed"
}

@test "run-all: TAP-looking lines on standard error are not counted" {
	local t
	t=$(fake_suite noisy '1..1\nok 1 - real\n' 'ok 2 - fake\nnot ok 3 - fake\n' 0)
	run_all "$t"
	[ "$status" -eq 0 ]
	assert_contains "$output" "1 passed, 0 failed"
	assert_contains "$output" "# stderr: ok 2 - fake"
}

@test "run-all: a crash after the last result fails; a complete suite passes" {
	local crash good
	crash=$(fake_suite crash '1..1\nok 1 - fine\n' 'Segmentation fault\n' 139)
	good=$(fake_suite good '1..2\nok 1 - a\nok 2 - b # skip not here\n' '' 0)
	run_all "$crash" "$good"
	[ "$status" -ne 0 ]
	assert_contains "$output" "exited with status 139"
	assert_contains "$output" "(1 skipped, not counted as passed)"
	assert_contains "$output" "2 passed, 1 failed"
}
