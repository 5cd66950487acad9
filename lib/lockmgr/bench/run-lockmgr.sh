#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-lockmgr.sh BUILD_DIR - the lock manager benchmark built by
# "make -C lib bench": the seed's hot-key workload on 1-4 hot keys at 2,
# 3, 4 and 8 threads (4 s lock timeout; timeouts must stay 0), a
# low-conflict workload, and the uncontended point lock + release (alone
# and among 1,000 held locks) against glibc's mutex lock + unlock measured
# in the same run; each row prints transactions/s, waits per transaction,
# retry passes per release and per wait, and the summary checks issue
# 19's targets.  With bench-lockmgr-peer (built where g++ and
# librocksdb-dev are installed) every workload also runs on PerconaFT's
# locktree, through RocksDB's range-lock manager (perconaft-shim.cc).
# Then, for comparison, the contended rows with the pass handing every
# free lock to its sleeping waiter (SF_TEST_BROKEN=always-handoff, the
# protocol before R6 in lockmgr.c), and the hot-key workload at 3 and 8
# threads with one of the seed's races put back (bench-lockmgr-hooks, the
# benchmark on the test-hook build, as in lib/lockmgr/tests/lockmgr-broken).
# About 4 minutes with the peer, 2 without.

b=$1
set -e
echo
echo "# syncfix lock manager ($(nproc) CPUs)"
if [ -x "$b/bench-lockmgr-peer" ]; then
	echo "# side by side with PerconaFT's locktree in RocksDB $(dpkg-query -W -f '${Version}' librocksdb-dev 2>/dev/null || echo '(version unknown)')'s range-lock manager"
	"$b/bench-lockmgr-peer" hot spread point
else
	echo "# no PerconaFT peer: bench-lockmgr-peer needs g++ and librocksdb-dev"
	echo "# (scripts/install-deps.sh installs both)"
	"$b/bench-lockmgr" hot spread point
fi

echo
echo "# for comparison, the hand-off of every free lock to its sleeping waiter"
echo "# (the protocol before R6): running threads queue behind sleepers"
SF_TEST_BROKEN=always-handoff "$b/bench-lockmgr-hooks" hot-contention | grep -v '^=='

echo
echo "# for comparison, the seed's protocol: each lost retry leaves a waiter"
echo "# on a free lock until the 4 s lock timeout"
for v in release-before-wait retry-while-retry; do
	echo "== \"$v\" put back"
	SF_TEST_BROKEN=$v "$b/bench-lockmgr-hooks" -r 1 -s 2 hot-brief | grep -v '^=='
done
