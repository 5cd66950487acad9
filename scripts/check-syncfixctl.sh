#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# syncfixctl on this machine, where syncfix.ko is not loaded: `status`
# must say that the module is absent and give the CPUID verdict, which is
# computed here again from /proc/cpuinfo (AuthenticAMD, family 15, model
# below 64, more than one CPU online); it must report the library's lfence
# slots (forced on with SYNCFIX_LFENCE=on: every slot patched); `waiters`
# must exit 4; usage errors exit 2.  The VM runs the module's side
# (selftests/syncfix_ctl_test.c).  One TAP line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/tap.sh"
make -s --no-print-directory -C "$top" tools >&2 || exit 1
ctl=$top/build/tools/bin/syncfixctl

exits() {	# exits CODE COMMAND...
	local want=$1 rc
	shift
	"$@"; rc=$?
	[ $rc -eq "$want" ] || { echo "exit status $rc, expected $want"; return 1; }
}

# The erratum rule, from /proc/cpuinfo (independent of the C code).
cpu_field() { awk -F': *' -v k="$1" '$1 ~ "^"k"[ \t]*$" { print $2; exit }' /proc/cpuinfo; }
vendor=$(cpu_field vendor_id) family=$(cpu_field "cpu family") model=$(cpu_field model)
online=$(getconf _NPROCESSORS_ONLN)
if [ "$vendor" = AuthenticAMD ] && [ "$family" -eq 15 ] && [ "$model" -lt 64 ] && [ "$online" -gt 1 ]; then
	affected=true want_text=affected
else
	affected=false want_text="not affected"
fi
echo "# this CPU: $vendor family $family model $model, $online online: $want_text"

status_text() {
	local out
	out=$("$ctl" status) || [ $? -eq 3 ] || return 1
	printf '%s\n' "$out"
	grep -q '^module: *not loaded (/sys/kernel/syncfix absent): verdict from CPUID$' <<<"$out" &&
	grep -q "^cpu: .*: $want_text\$" <<<"$out" &&
	grep -q '^library: *lfence in [0-9]* of [0-9]* slots' <<<"$out" &&
	if $affected; then grep -q '^verdict: *\(mitigated\|vulnerable\)$' <<<"$out"
	else grep -q '^verdict: *not affected$' <<<"$out"; fi
}
status_json() {
	local out
	out=$("$ctl" --json status) || [ $? -eq 3 ] || return 1
	printf '%s\n' "$out"
	grep -q '"module":{"loaded":false}' <<<"$out" &&
	grep -q '"verdict_source":"cpuid"' <<<"$out" &&
	grep -q "\"family\":$family,\"model\":$model,\"cpus_online\":$online,\"affected\":$affected" <<<"$out" &&
	if command -v python3 >/dev/null; then python3 -m json.tool <<<"$out" >/dev/null; fi
}
# The library's slot status of syncfixctl's own process.
status_forced() {
	local out
	out=$(SYNCFIX_LFENCE=on "$ctl" --json status) || return 1
	printf '%s\n' "$out"
	grep -q '"wanted":true,"patched":true,"source":"environment"' <<<"$out" &&
	grep -Eq '"slots_found":([1-9][0-9]*),"slots_patched":\1,' <<<"$out" &&
	out=$(SYNCFIX_LFENCE=off "$ctl" --json status) &&
	grep -Eq '"slots_patched":0,"wanted":false,"patched":false,"source":"environment"' <<<"$out"
}
waiters_absent() {
	local out rc
	out=$("$ctl" waiters 2>&1); rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 4 ] && grep -q 'syncfix.ko is not loaded' <<<"$out"
}

echo "1..9"
tap "--version prints syncfixctl $version" sh -c "'$ctl' --version | grep -qx 'syncfixctl $version'"
tap "--help exits 0 and names both commands" sh -c "'$ctl' --help | grep -q 'waiters' && '$ctl' --help | grep -q status"
tap "no command: usage error, exit 2" exits 2 "$ctl"
tap "unknown option: exit 2" exits 2 "$ctl" --bogus status
tap "waiters --watch with a bad interval: exit 2" exits 2 "$ctl" waiters --watch 0
if [ -e /sys/kernel/syncfix ]; then
	for d in "status: CPUID verdict, module absent" "status --json: CPUID verdict" \
		 "waiters: exit 4 without the module"; do
		skip "$d" "syncfix.ko is loaded on this machine"
	done
else
	tap "status: module absent, CPUID verdict '$want_text'" status_text
	tap "status --json: module absent, CPUID verdict, valid JSON" status_json
	tap "waiters: exit 4 without the module" waiters_absent
fi
tap "status: the library's lfence slots in this process (SYNCFIX_LFENCE=on/off)" status_forced
exit $fail
