#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clogdump (tools/clogdump.c) on logs written through the library: a clean
# log (exit 0, its transactions listed), a torn tail (exit 1, what a
# writable open would cut), a bit flipped in the middle of 30 committed
# transactions (exit 2, corruption and the offset that proves it), a file
# that is not a log (exit 3); every file byte-identical afterwards.  One
# TAP line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/tap.sh"
make -s --no-print-directory -C "$top" tools >&2 || exit 1
dump=$top/build/tools/bin/clogdump
lib=$top/build/lib/plain
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/mk.c" <<'C'
#include <syncfix.h>
int main(int argc, char **argv)
{
	sf_clog_t *l;
	sf_txn_t *t;

	if (argc != 2 || sf_clog_open(argv[1], NULL, &l, NULL))
		return 1;
	for (int i = 0; i < 30; i++)
		if (sf_txn_begin(l, &t) || sf_txn_add(t, "a record", 8) ||
		    sf_txn_commit(t, NULL))
			return 1;
	return sf_clog_close(l);
}
C
cc -I"$top/lib/include" -o "$dir/mk" "$dir/mk.c" -L"$lib" -lsyncfix-user \
	-Wl,-rpath,"$lib" -lpthread || exit 1
"$dir/mk" "$dir/clean.log" || exit 1
size=$(stat -c %s "$dir/clean.log")
head -c $((size - 10)) "$dir/clean.log" >"$dir/torn.log"
cp "$dir/clean.log" "$dir/corrupt.log"
# the first transaction's data record starts at 72 (header, id reservation)
printf '\x55' | dd of="$dir/corrupt.log" bs=1 seek=120 conv=notrunc status=none
echo "not a log" >"$dir/text.log"

runs() {	# runs FILE WANT-EXIT WANT-TEXT
	local sum out rc
	sum=$(sha1sum <"$1")
	out=$("$dump" "$1" 2>&1); rc=$?
	echo "$out" | tail -n 4
	[ $rc -eq "$2" ] || { echo "exit $rc, expected $2"; return 1; }
	grep -q "$3" <<<"$out" || { echo "no '$3' in the output"; return 1; }
	[ "$(sha1sum <"$1")" = "$sum" ] || { echo "the file changed"; return 1; }
}

echo "1..4"
tap "a clean log: its 30 transactions, exit 0, unchanged" \
	runs "$dir/clean.log" 0 "30 committed"
tap "a torn tail: what a writable open would cut, exit 1, unchanged" \
	runs "$dir/torn.log" 1 "torn tail at offset"
tap "a bit flipped in the middle: corruption with its offsets, exit 2, unchanged" \
	runs "$dir/corrupt.log" 2 "CORRUPTION at offset"
tap "not a log: exit 3, unchanged" runs "$dir/text.log" 3 "not a syncfix log"
exit $fail
