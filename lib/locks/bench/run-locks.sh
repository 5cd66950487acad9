#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-locks.sh BUILD_DIR - run the lock benchmarks built by "make -C lib bench".
# Ratios are syncfix's against glibc and against absl (absl::Mutex,
# absl::CondVar), measured in the same process: uncontended, paced and
# back-to-back contention, each contention row also with a CPU hog
# beside it, writer wait, condition variables (bench-locks.c says what
# each row means); the slot figures compare three builds run one after
# another (best of 3 runs each).

b=$1
set -e
echo "# syncfix benchmarks ($(nproc) CPUs; $(uname -r))"
"$b/bench-locks" uncontended contended writer-wait cond

echo
echo "== cost of the lfence slots (ns per lock+unlock, uncontended, static link, best of 3)"
# Reads three "slots=.. patched=.. mutex=.. rd=.. wr=.." lines; prints the best.
best_of() {
	awk '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		NR == 1 || v["mutex"] < m { m = v["mutex"] }
		NR == 1 || v["rd"] < r { r = v["rd"] }
		NR == 1 || v["wr"] < w { w = v["wr"] }
		END { printf "%s %s %s %s %s\n", v["slots"], v["patched"], m, r, w }'
}
three() { for i in 1 2 3; do env "$@"; done; }
ns=$(three "$b/bench-locks-noslots" slots | best_of)
off=$(three SYNCFIX_LFENCE=off "$b/bench-locks-static" slots | best_of)
on=$(three SYNCFIX_LFENCE=on "$b/bench-locks-static" slots | best_of)
printf '%-28s %6s %8s %8s %8s %8s\n' build slots patched mutex rdlock wrlock
echo "$ns"  | awk '{ printf "%-28s %6s %8s %8.2f %8.2f %8.2f\n", "no slots (plain atomics)", $1, $2, $3, $4, $5 }'
echo "$off" | awk '{ printf "%-28s %6s %8s %8.2f %8.2f %8.2f\n", "slots as NOPs (off)", $1, $2, $3, $4, $5 }'
echo "$on"  | awk '{ printf "%-28s %6s %8s %8.2f %8.2f %8.2f\n", "slots as lfence (on)", $1, $2, $3, $4, $5 }'
echo "$ns $off $on" | awk '{ printf "ratio vs no slots: NOPs mutex %.2f rd %.2f wr %.2f; lfence mutex %.2f rd %.2f wr %.2f\n",
	$8/$3, $9/$4, $10/$5, $13/$3, $14/$4, $15/$5 }'
