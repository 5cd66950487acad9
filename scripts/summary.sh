#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Counts the results of every stage `make check` ran (build/results/*.tap),
# lists the failures and ends with one line "N passed, N failed".
# Exit status 1 when anything failed or nothing ran.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
res=$top/build/results
set -- "$res"/*.tap
[ -f "$1" ] || { echo "0 passed, 1 failed (no results in $res)"; exit 1; }
cat "$@" | grep '^not ok' | sed 's/^/FAILED: /'
skip=$(cat "$@" | grep -c '^ok.*# *SKIP')
[ "$skip" -eq 0 ] || echo "($skip skipped, counted as passed)"
p=$(cat "$@" | grep -c '^ok')
f=$(cat "$@" | grep -c '^not ok')
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
