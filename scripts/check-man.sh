#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every man page (man/man*/*.[0-9]) must format without a single warning:
# groff -ww -man -z prints nothing.  Also the page's section must match
# its directory and its .TH, and the .TH names the version as
# "syncfix @VERSION@", which make install replaces with the VERSION file's.
# One TAP line per page.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
pages=("$top"/man/man*/*.[0-9])
n=0 fail=0
[ -e "${pages[0]}" ] || { echo "not ok 1 - no man pages in man/"; exit 1; }
echo "1..${#pages[@]}"
for p in "${pages[@]}"; do
	n=$((n + 1))
	rel=${p#"$top"/}
	sec=${p##*.}
	out=$(groff -ww -man -z "$p" 2>&1)
	dir=$(basename "$(dirname "$p")")
	th=$(awk '/^\.TH / { print $3; exit }' "$p")
	[ "$dir" = "man$sec" ] || out+="${out:+$'\n'}in $dir, not man$sec"
	[ "$th" = "$sec" ] || out+="${out:+$'\n'}.TH section '$th', not $sec"
	grep -q '^\.TH [^ ]* [0-9] [^ ]* "syncfix @VERSION@" ' "$p" ||
		out+="${out:+$'\n'}.TH does not name \"syncfix @VERSION@\""
	if [ -z "$out" ]; then
		echo "ok $n - $rel"
	else
		echo "not ok $n - $rel"; printf '%s\n' "$out" | sed 's/^/#   /'; fail=1
	fi
done
exit $fail
