#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-async.sh BUILD_DIR - asynchronous against synchronous commit
# (bench-commit-async) on a file in BUILD_DIR (the local disk), at 1 and 4
# committers, medians of 3 rounds; ratio async / sync of the same run.
# About 15 s.

b=$1
set -e
echo
echo "== commit log: asynchronous against synchronous commit (log in $b; $(df -T "$b" | awk 'NR==2 { print $2 }'))"
"$b/bench-commit-async" "$b" "${SYNCFIX_BENCH_SECONDS:-1}"
