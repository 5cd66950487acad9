#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-mem.sh BUILD_DIR - memory of the commit log over 3 x 10^8
# transactions (bench-commit-mem), on a file in BUILD_DIR, then on a
# directory of segments with checkpoints (disk use).  About 200 s;
# SYNCFIX_BENCH_MEM_SECONDS caps it (the last line then extrapolates).

b=$1
set -e
echo
echo "== commit log: RSS and status-table memory over many transactions (log in $b)"
"$b/bench-commit-mem" "$b" ${SYNCFIX_BENCH_MEM_TXNS:-}
echo
echo "== the same with 1 MiB segments, 512-byte records and a checkpoint every 4 MiB of log: disk use bounded"
SYNCFIX_BENCH_MEM_CKPT_MB=${SYNCFIX_BENCH_MEM_CKPT_MB:-4} \
SYNCFIX_BENCH_MEM_RECORD=${SYNCFIX_BENCH_MEM_RECORD:-512} \
	"$b/bench-commit-mem" "$b" ${SYNCFIX_BENCH_MEM_TXNS:-}
