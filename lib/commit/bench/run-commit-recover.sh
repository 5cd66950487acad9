#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-commit-recover.sh BUILD_DIR - recovery time and peak memory
# (bench-commit-recover) for logs of 64 and 256 MiB in BUILD_DIR, a
# single file and a directory of segments with those MiB since its last
# checkpoint
# (SYNCFIX_BENCH_RECOVER_MIB: other sizes, e.g. "64 1024 4096").

b=$1
set -e
echo
echo "== commit log: recovery time and peak RSS by log size (log in $b)"
"$b/bench-commit-recover" "$b" ${SYNCFIX_BENCH_RECOVER_MIB:-64 256}
