#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-peer.sh BUILD_DIR - the commit log (each write method) against
# RocksDB's synchronous Put and one fdatasync per commit (bench-commit-peer),
# on a file in BUILD_DIR (the local disk), at 1, 4, 16 and 64 committers,
# idle and with a spinning process on every CPU; ratios syncfix / RocksDB
# of the same run.  About 100 s.

b=$1
set -e
echo
echo "== commit log against RocksDB sync=true, idle and with a CPU hog (in $b; $(df -T "$b" | awk 'NR==2 { print $2 }'))"
"$b/bench-commit-peer" "$b" "${SYNCFIX_BENCH_SECONDS:-1}"
