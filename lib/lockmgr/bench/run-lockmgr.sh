#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-lockmgr.sh BUILD_DIR - the lock manager benchmark built by
# "make -C lib bench": the seed's hot-key workload at 2, 3, 4 and 8
# transactions (4 s lock timeout; timeouts must stay 0), a low-conflict
# workload, and the uncontended point lock + release against glibc's
# mutex lock + unlock measured in the same run.  Then, for comparison, the
# hot-key workload at 3 and 8 transactions with one of the seed's races put
# back (bench-lockmgr-hooks, the benchmark on the test-hook build, with
# SF_TEST_BROKEN=name, as in lib/lockmgr/tests/lockmgr-broken).  About 40 s.

b=$1
set -e
echo
echo "# syncfix lock manager ($(nproc) CPUs)"
"$b/bench-lockmgr" hot spread point

echo
echo "# for comparison, the seed's protocol: each lost retry leaves a waiter"
echo "# on a free lock until the 4 s lock timeout"
for v in release-before-wait retry-while-retry; do
	echo "== \"$v\" put back"
	SF_TEST_BROKEN=$v "$b/bench-lockmgr-hooks" hot-brief | grep -v '^=='
done
