# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the check scripts (scripts/check-*.sh): TAP result lines and
# the version.  Needs $top.
#
#   tap DESC COMMAND...   run COMMAND; "ok N - DESC" when it succeeds, else
#                         "not ok N - DESC" and fail=1; its output follows
#                         as "#" lines (the last $tap_lines, default 40)
#   skip DESC WHY         "ok N - DESC # SKIP WHY"
#   $version              syncfix's version, the VERSION file
n=0 fail=0
tap_lines=${tap_lines:-40}

tap() {
	local desc=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"; fail=1
	fi
	[ -z "$out" ] || printf '%s\n' "$out" | tail -n "$tap_lines" | sed 's/^/#   /'
}

skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

version=$(cat "$top/VERSION")
