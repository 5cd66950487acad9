#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Turns the serial console log of one syncfix VM run into TAP lines.
#
# The VM's /init (written by scripts/vm.sh) frames everything with marker
# lines that start with "@@SYNCFIX ":
#   @@SYNCFIX vm-begin           the initramfs started
#   @@SYNCFIX insmod rc=N        loading syncfix.ko
#   @@SYNCFIX test-begin NAME    a test program starts; its TAP follows
#   @@SYNCFIX test-end NAME rc=N and ends with exit code N
#   @@SYNCFIX dmesg-begin ... @@SYNCFIX dmesg-end   the kernel log
#   @@SYNCFIX vm-end             /init got to the end
#
# Every "ok"/"not ok" line a test prints at column 0 becomes one result.  A
# test that exits with a code other than 0 or a skip code (4 = KSFT_SKIP,
# 77) without reporting a failure gets one "not ok" of its own.  The kernel
# log fails the run on any BUG:, WARN splat, Oops, lockdep, KASAN or UBSAN
# report; boot lines that merely contain the word WARNING (the SRSO notice on
# EPYC models, for instance) are not reports.
#
# Usage: scripts/vm-parse.sh NAME CONSOLE_LOG
# Output: TAP result lines prefixed with NAME; exit 1 if any is "not ok".
set -eu
name=$1
log=$2

tr -d '\r' <"$log" | awk -v vm="$name" '
function res(ok, desc) {
	n++
	if (ok) { print "ok " n " - " vm ": " desc; pass++ }
	else    { print "not ok " n " - " vm ": " desc; fail++ }
}
# Kernel reports.  Lockdep reports start "WARNING: possible ...",
# "WARNING: inconsistent ...", "WARNING: suspicious ..." and so on; WARN()
# splats read "WARNING: CPU: N PID: ..." after a "cut here" line.
function kernel_report(l,    m) {
	# The message without its "[ 12.345678] " timestamp.
	m = l
	sub(/^[[] *[0-9]+[.][0-9]+[]] */, "", m)
	# Lockdep, WARN() and most debug reports begin their first line with
	# "WARNING:" ("WARNING: CPU: 1 PID: ...", "WARNING: possible circular
	# locking dependency detected", "WARNING: x/39 still has locks held!",
	# "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected");
	# notices that merely mention the word carry it later in the line.
	if (m ~ /^WARNING: / || m ~ /^BUG[: ]/ || m ~ /^INFO: (possible|trying to register|lockdep is turned off|task .* blocked)/)
		return 1
	if (l ~ /Oops/ || l ~ /general protection fault/ || l ~ /Kernel panic/ ||
	    l ~ /cut here/ || l ~ /[*][*][*] DEADLOCK [*][*][*]/ ||
	    l ~ /UBSAN: / || l ~ /BUG: KASAN/ || l ~ /kmemleak: .*new suspected/ ||
	    l ~ /blocked for more than/ || l ~ /soft lockup|hard LOCKUP/ ||
	    l ~ /rcu_sched detected stall|rcu: INFO: .*stall/)
		return 1
	return 0
}
{ line = $0 }
# Markers may be preceded by kernel output on the same serial line.
match(line, /@@SYNCFIX [a-z-]+.*/) {
	m = substr(line, RSTART + 10)
	split(m, f, " ")
	if (f[1] == "vm-begin") { began = 1 }
	else if (f[1] == "insmod") {
		sub(/^rc=/, "", f[2])
		res(f[2] == "0", "insmod syncfix.ko" (f[2] == "0" ? "" : " failed, rc=" f[2]))
	} else if (f[1] == "test-begin") { intest = 1; tname = f[2]; tfail = 0; tres = 0 }
	else if (f[1] == "test-end") {
		rc = f[3]; sub(/^rc=/, "", rc)
		if (rc != "0" && rc != "4" && rc != "77" && tfail == 0)
			res(0, tname " exited with " rc ((rc == "137") ? " (killed: timeout)" : ""))
		else if (tres == 0 && (rc == "4" || rc == "77")) { n++; print "ok " n " - " vm ": " tname " # SKIP"; skip++ }
		else if (tres == 0 && rc == "0") res(1, tname)
		intest = 0
	} else if (f[1] == "dmesg-begin") { indmesg = 1 }
	else if (f[1] == "dmesg-end") {
		indmesg = 0; seen_dmesg = 1
		if (nrep == 0) res(1, "kernel log has no BUG/WARNING/Oops/lockdep report")
	} else if (f[1] == "vm-end") { ended = 1 }
	next
}
intest && /^(not )?ok [0-9]+/ {
	tres++
	d = line; sub(/^(not )?ok [0-9]+ *-? */, "", d)
	if (line ~ /^ok/ && line ~ /# *(SKIP|skip)/) { n++; print "ok " n " - " vm ": " tname ": " d; skip++ }
	else if (line ~ /^ok/) res(1, tname ": " d)
	else { tfail++; res(0, tname ": " d) }
	next
}
{
	# Kernel reports count wherever they appear: in the dmesg dump or
	# printed straight to the console (a panic never reaches the dump).
	# Inside the output of a test only kernel-formatted lines count.
	if (intest && line !~ /^[[] *[0-9]+[.][0-9]+[]]/)
		next
	if (kernel_report(line) && !(line in reported)) {
		reported[line] = 1; nrep++
		res(0, "kernel report: " line)
	}
}
END {
	if (!began) res(0, "VM never reached /init (no vm-begin marker)")
	else if (!ended) res(0, "VM did not finish (hard time limit, hang or crash)")
	if (began && !seen_dmesg) res(0, "kernel log was not captured")
	exit(fail > 0)
}'
