#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-seg.sh BUILD_DIR - commits/s of a directory of segments (16
# MiB, 1 MiB) against the single file, measured in the same run, and the
# latency of a segment switch (bench-commit-seg), in BUILD_DIR.  About
# 25 s.

b=$1
set -e
echo
echo "== commit log: segments against the single file, switch latency (log in $b; $(df -T "$b" | awk 'NR==2 { print $2 }'))"
"$b/bench-commit-seg" "$b" "${SYNCFIX_BENCH_SECONDS:-1}"
