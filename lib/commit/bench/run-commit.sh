#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit.sh BUILD_DIR - commit sequencer throughput (bench-commit) on a
# file in BUILD_DIR (the build tree: the local disk, not a tmpfs), against
# one fdatasync per commit and the disk's own fdatasync rates (512-byte and
# 4 KiB appends, 4 KiB overwrites), measured in the same run.  About 75 s.

b=$1
set -e
echo
echo "== commit sequencer: commits/s and commits per flush (log in $b; $(df -T "$b" | awk 'NR==2 { print $2 }'))"
"$b/bench-commit" "$b" "${SYNCFIX_BENCH_SECONDS:-1}"
