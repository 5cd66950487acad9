#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Description: the VM harness's console parser fails runs it must fail.
#
# Feeds scripts/vm-parse.sh console logs made up of real kernel lines and
# checks its verdict: a clean run passes, the SRSO boot notice passes, and a
# WARN splat, a lockdep report, a KASAN report, an Oops, a crashed test, a
# test killed by the time limit, a failed insmod and a VM that never
# finished each fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
parse=$here/../vm-parse.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 0 >"$tmp/n"
: >"$tmp/failed"

head_ok() {
	printf '%s\n' "SeaBIOS (version 1.16.2)" "Booting from ROM..." \
		"@@SYNCFIX vm-begin model name : AMD Opteron 22xx" "@@SYNCFIX insmod rc=0" \
		"@@SYNCFIX test-begin sysfs_test" "TAP version 13" "1..2" \
		"# Starting 2 tests" "ok 1 sysfs.errata" "ok 2 sysfs.cpu" \
		"@@SYNCFIX test-end sysfs_test rc=0"
}
dmesg_block() {
	echo "@@SYNCFIX dmesg-begin"
	echo "[    0.000000] Linux version 6.1.0-56-amd64"
	echo "[    0.101000] Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options."
	echo "[    0.200000] RCU lockdep checking is enabled."
	[ $# -gt 0 ] && printf '%s\n' "$@"
	echo "@@SYNCFIX dmesg-end"
}
tail_ok() { echo "@@SYNCFIX vm-end"; }

# expect NAME WANT(0=pass,1=fail) < log; runs in a pipeline's subshell, so
# the counters live in files.
expect() {
	n=$(($(cat "$tmp/n") + 1))
	echo $n >"$tmp/n"
	cat >"$tmp/log"
	"$parse" t "$tmp/log" >"$tmp/out" 2>&1
	rc=$?
	if { [ "$2" = 0 ] && [ $rc -eq 0 ]; } || { [ "$2" = 1 ] && [ $rc -eq 1 ]; }; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1 (parser exit $rc)"
		sed 's/^/# /' "$tmp/out"
		echo x >>"$tmp/failed"
	fi
}

echo "TAP version 13"
echo "1..16"
{ head_ok; dmesg_block; tail_ok; } | expect "clean run with the SRSO notice passes" 0
{ head_ok; dmesg_block "[   12.1] ------------[ cut here ]------------" \
	"[   12.1] WARNING: CPU: 1 PID: 77 at kmod/main.c:42 syncfix_init+0x1/0x2 [syncfix]"; tail_ok; } |
	expect "WARN_ON splat fails" 1
{ head_ok; dmesg_block "[    9.0] WARNING: possible circular locking dependency detected"; tail_ok; } |
	expect "lockdep report fails" 1
{ head_ok; dmesg_block "[    9.0] BUG: KASAN: slab-out-of-bounds in syncfix_x+0x10/0x20"; tail_ok; } |
	expect "KASAN report fails" 1
{ head_ok; dmesg_block "[    9.0] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580"; tail_ok; } |
	expect "atomic sleep report fails" 1
{ head_ok; dmesg_block "[    3.6] WARNING: heldexit/39 still has locks held!"; tail_ok; } |
	expect "lockdep held-locks-at-exit report fails" 1
{ head_ok; dmesg_block "[    5.5] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"; tail_ok; } |
	expect "lockdep irq-safety report fails" 1
{ head_ok; dmesg_block "[    5.5] BUG kmalloc-64 (Tainted: G           O      ): Poison overwritten"; tail_ok; } |
	expect "SLUB debug report fails" 1
{ head_ok; dmesg_block "[    5.5] UBSAN: shift-out-of-bounds in kmod/x.c:9:2"; tail_ok; } |
	expect "UBSAN report fails" 1
{ head_ok; echo "[    9.0] Oops: 0000 [#1] PREEMPT SMP NOPTI"; } |
	expect "Oops on the console (no dump, no end) fails" 1
{ head_ok; echo "@@SYNCFIX test-begin t2"; echo "ok 1 x"; echo "@@SYNCFIX test-end t2 rc=139";
  dmesg_block; tail_ok; } | expect "test crashing after reporting ok fails" 1
{ head_ok; echo "@@SYNCFIX test-begin t3"; echo "@@SYNCFIX test-end t3 rc=137";
  dmesg_block; tail_ok; } | expect "test killed by its time limit fails" 1
{ head_ok; echo "@@SYNCFIX test-begin t4"; echo "ok 1 a"; echo "not ok 2 b"; echo "@@SYNCFIX test-end t4 rc=1";
  dmesg_block; tail_ok; } | expect "failing test case fails" 1
{ echo "@@SYNCFIX vm-begin x"; echo "@@SYNCFIX insmod rc=1"; dmesg_block; tail_ok; } |
	expect "failed insmod fails" 1
{ head_ok; } | expect "VM that never finished fails" 1
{ head_ok; echo "@@SYNCFIX test-begin t5"; echo "# the word Oops in a test message"; echo "ok 1 a # SKIP no hotplug";
  echo "@@SYNCFIX test-end t5 rc=0"; dmesg_block; tail_ok; } |
	expect "skips and test messages are not failures" 0
[ ! -s "$tmp/failed" ]
