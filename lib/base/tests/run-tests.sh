#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-tests.sh VARIANT TEST... - run each test binary with a timeout, print
# its output, and exit 1 if any failed.  Exit codes of a test: 0 pass,
# 77 skip, anything else fail (124: killed by the timeout).
#
# ThreadSanitizer maps its shadow at fixed addresses; on kernels with a
# large mmap_rnd_bits it may abort with "unexpected memory mapping".  Such
# a test is run again with address randomisation off (setarch -R).

variant=$1
shift
timeout_s=${SYNCFIX_TEST_TIMEOUT:-120}
pass=0 fail=0 skip=0 failed=

out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	name=$(basename "$t")
	echo "# --- $name ($variant)"
	start=$(date +%s)
	timeout -k 5 "$timeout_s" "$t" >"$out" 2>&1
	rc=$?
	if [ "$variant" = tsan ] && grep -q 'ThreadSanitizer: unexpected memory mapping' "$out"; then
		echo "# TSAN shadow mapping failed; running again under setarch -R"
		timeout -k 5 "$timeout_s" setarch "$(uname -m)" -R "$t" >"$out" 2>&1
		rc=$?
	fi
	cat "$out"
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)); echo "# PASS $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "# SKIP $name" ;;
	124|137) fail=$((fail + 1)); failed="$failed $name"
	    echo "not ok - $name: timed out after ${timeout_s}s"
	    echo "# FAIL $name (timeout)" ;;
	*)  fail=$((fail + 1)); failed="$failed $name"
	    if ! grep -q '^not ok' "$out"; then
		    echo "not ok - $name: exit status $rc"
	    fi
	    echo "# FAIL $name (exit $rc)" ;;
	esac
done

echo "# lib $variant: $pass passed, $fail failed, $skip skipped${failed:+ (failed:$failed)}"
[ "$fail" -eq 0 ]
