#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-lockmgr.sh BUILD_DIR - the lock manager benchmark built by
# "make -C lib bench": the seed's hot-key workload at 2, 3, 4 and 8
# transactions (4 s lock timeout; timeouts must stay 0), a low-conflict
# workload, and the uncontended point lock + release against glibc's
# mutex lock + unlock measured in the same run.  About 15 s.

b=$1
set -e
echo
echo "# syncfix lock manager ($(nproc) CPUs)"
"$b/bench-lockmgr" hot spread point
