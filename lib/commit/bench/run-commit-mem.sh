#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-mem.sh BUILD_DIR - memory of the commit log over 3 x 10^8
# transactions (bench-commit-mem), on a file in BUILD_DIR.  About 100 s;
# SYNCFIX_BENCH_MEM_SECONDS caps it (the last line then extrapolates).

b=$1
set -e
echo
echo "== commit log: RSS and status-table memory over many transactions (log in $b)"
"$b/bench-commit-mem" "$b" ${SYNCFIX_BENCH_MEM_TXNS:-}
