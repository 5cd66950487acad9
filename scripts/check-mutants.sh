#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the module's tests against its mutants: deliberately broken copies
# of kmod/, one per patch in selftests/mutants/.  Each patch names, in its
# header (the text before the first "---" line, which patch(1) ignores),
# the tests that must catch it:
#
#   Caught-by: syncfix_wait_test syncfix_reload_test
#
# For every mutant: kmod/ and uapi/ are copied to build/mutants/NAME/, the
# patch is applied, the module is built (W=1, warnings fail as for the real
# one), and one VM boots that module and runs the named tests.  The mutant
# is caught when a result of those tests fails, or the kernel reports a
# crash (a panic ends the VM: it is the expected outcome of some mutants);
# a mutant that every named test passes is a test that cannot fail, and
# this script reports it as "not ok".  The same tests pass against the real
# module in the VM stages of make check.
#
# Usage: scripts/check-mutants.sh [--cpu affected|modern] [--timeout SECS]
#                                 [--tap FILE] [--quiet] [NAME...]
# Output: one TAP line per mutant ("ok - NAME caught by ...").
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cpu=affected timeout=900 tap= quiet=
names=()
while [ $# -gt 0 ]; do
	case $1 in
	--cpu) cpu=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--tap) tap=$2; shift ;;
	--quiet) quiet=--quiet ;;
	-*) echo "check-mutants.sh: unknown option $1" >&2; exit 2 ;;
	*) names+=("$1") ;;
	esac
	shift
done

mdir=$top/selftests/mutants
out=$top/build/mutants
[ ${#names[@]} -gt 0 ] ||
	for p in "$mdir"/*.patch; do names+=("$(basename "$p" .patch)"); done
tests=$(make -s --no-print-directory -C "$top/selftests" list) || exit 2
[ -z "$tap" ] || : >"$tap"

n=0 fail=0
result() {
	n=$((n + 1))
	line="$1 $n - $2"
	echo "$line"
	[ -z "$tap" ] || echo "$line" >>"$tap"
	case $1 in not*) fail=$((fail + 1)) ;; esac
}

for name in "${names[@]}"; do
	patch=$mdir/$name.patch
	if [ ! -f "$patch" ]; then
		result "not ok" "$name: no $patch"
		continue
	fi
	caught_by=$(sed -n '/^---/q; s/^Caught-by:[[:space:]]*//p' "$patch")
	if [ -z "$caught_by" ]; then
		result "not ok" "$name: no Caught-by: line in its header"
		continue
	fi
	w=$out/$name
	rm -rf "$w" && mkdir -p "$w/kmod" "$w/uapi"
	cp -a "$top"/kmod/Kbuild "$top"/kmod/Makefile "$top"/kmod/*.c "$top"/kmod/*.h "$w/kmod/"
	rm -f "$w"/kmod/*.mod.c
	cp -a "$top/uapi/." "$w/uapi/"
	cp -a "$top/VERSION" "$w/"
	if ! patch -s -d "$w" -p1 <"$patch" >"$w/patch.log" 2>&1; then
		result "not ok" "$name: does not apply to kmod/ ($(head -n 1 "$w/patch.log"))"
		continue
	fi
	if ! make -C "$w/kmod" >"$w/build.log" 2>&1; then
		result "not ok" "$name: does not build (build/mutants/$name/build.log)"
		continue
	fi
	args=()
	for t in $caught_by; do
		path=$(printf '%s\n' $tests | grep "/$t\$" | head -n 1)
		if [ -z "$path" ]; then
			result "not ok" "$name: no test program $t"
			continue 2
		fi
		args+=(--test "$path")
	done
	[ -n "$quiet" ] || echo "check-mutants: $name: booting with ${caught_by}" >&2
	"$top/scripts/vm.sh" --cpu "$cpu" --name "mutant-$name" --quiet \
		--timeout "$timeout" --ko "$w/kmod/syncfix.ko" \
		--file "$top/build/tools/vm/syncfixctl:/bin/syncfixctl" \
		--tap "$w/vm.tap" "${args[@]}" >/dev/null 2>&1
	# What failed: the named tests' results, or a kernel report.  A mutant
	# that cannot even be loaded is not caught by a test.
	if grep -q '^not ok .*: insmod syncfix.ko failed' "$w/vm.tap"; then
		result "not ok" "$name: the mutant does not load"
	elif why=$(grep '^not ok' "$w/vm.tap" | head -n 1) && [ -n "$why" ]; then
		result "ok" "$name caught by $caught_by (${why#*: })"
	else
		result "not ok" "$name: not caught by $caught_by (build/vm/mutant-$name/console.log)"
	fi
done
[ $n -gt 0 ] || result "not ok" "no mutants in $mdir"
exit $((fail > 0))
