#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs one stage of `make check` and records its results as TAP lines in
# build/results/NAME.tap, for scripts/summary.sh to count.
#
# Results are the "ok"/"not ok" lines the command prints at column 0 (or the
# lines of --tap FILE, for commands that write their results there).  A
# command that fails without reporting a failure adds one "not ok"; a command
# that succeeds without reporting anything counts as one "ok".
#
# Usage: scripts/stage.sh NAME [--tap FILE] -- COMMAND [ARGS...]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=$1; shift
tapfile=
if [ "${1:-}" = --tap ]; then tapfile=$2; shift 2; fi
[ "${1:-}" = -- ] && shift

out=$top/build/results
mkdir -p "$out"
log=$out/$name.log
res=$out/$name.tap
rm -f "$res" ${tapfile:+"$tapfile"}

echo "=== $name: $*"
start=$(date +%s)
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))

if [ -n "$tapfile" ]; then src=$tapfile; else src=$log; fi
{ [ -f "$src" ] && tr -d '\r' <"$src" | grep -E '^(not )?ok [0-9]+' ; } |
	sed -E "s/^((not )?ok) [0-9]+ *-? */\1 - $name: /" >"$res"

nfail=$(grep -c '^not ok' "$res")
if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
	echo "not ok - $name: command exited with status $rc" >>"$res"
elif [ "$rc" -eq 0 ] && [ ! -s "$res" ]; then
	echo "ok - $name" >>"$res"
fi
p=$(grep -c '^ok' "$res") f=$(grep -c '^not ok' "$res")
echo "=== $name: $p passed, $f failed (${secs}s)"
exit 0
