#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clogdump (tools/clogdump.c) on logs written through the library: a clean
# log (exit 0, its transactions listed), a torn tail (exit 1, what a
# writable open would cut), a bit flipped in the middle of 30 committed
# transactions (exit 2, corruption and the offset that proves it), a file
# that is not a log (exit 3), a directory of segments whose first ones a
# checkpoint recycled, with a transaction left in doubt (exit 0: its
# segments, the checkpoint, the prepared transaction and its tag); every
# file byte-identical afterwards.  One TAP line per check.
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
cat >"$dir/mkseg.c" <<'C'
#include <string.h>
#include <syncfix.h>
/* 64 KiB segments, 2000 commits around a transaction prepared (tag
 * "xid-42") and left in doubt, and a checkpoint: the process ends with it
 * prepared. */
static int commits(sf_clog_t *l, int n)
{
	char rec[200];
	sf_txn_t *t;

	memset(rec, 'r', sizeof(rec));
	for (int i = 0; i < n; i++)
		if (sf_txn_begin(l, &t) || sf_txn_add(t, rec, sizeof(rec)) ||
		    sf_txn_commit(t, NULL))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sf_clog_options o = { .segment_size = 64 << 10,
				     .buffer_size = 16 << 10 };
	sf_clog_t *l;
	sf_txn_t *t;

	if (argc != 2 || sf_clog_open(argv[1], &o, &l, NULL) ||
	    commits(l, 1000) || sf_txn_begin(l, &t) ||
	    sf_txn_add(t, "in doubt", 8) || sf_txn_prepare(t, "xid-42", 6) ||
	    commits(l, 1000))
		return 1;
	return sf_clog_checkpoint(l, sf_clog_durable_lsn(l));
}
C
for p in mk mkseg; do
	cc -I"$top/lib/include" -o "$dir/$p" "$dir/$p.c" -L"$lib" \
		-lsyncfix-user -Wl,-rpath,"$lib" -lpthread || exit 1
done
"$dir/mk" "$dir/clean.log" || exit 1
size=$(stat -c %s "$dir/clean.log")
head -c $((size - 10)) "$dir/clean.log" >"$dir/torn.log"
cp "$dir/clean.log" "$dir/corrupt.log"
# the first transaction's data record starts at 72 (header, id reservation)
printf '\x55' | dd of="$dir/corrupt.log" bs=1 seek=120 conv=notrunc status=none
echo "not a log" >"$dir/text.log"
"$dir/mkseg" "$dir/seg.d" || exit 1

runs() {	# runs FILE WANT-EXIT WANT-TEXT
	local sum out rc
	sum=$(cat "$1" "$1"/* 2>/dev/null | sha1sum)
	out=$("$dump" "$1" 2>&1); rc=$?
	echo "$out" | tail -n 4
	[ $rc -eq "$2" ] || { echo "exit $rc, expected $2"; return 1; }
	grep -q "$3" <<<"$out" || { echo "no '$3' in the output"; return 1; }
	[ "$(cat "$1" "$1"/* 2>/dev/null | sha1sum)" = "$sum" ] ||
		{ echo "the file changed"; return 1; }
}

runs_seg() {	# the directory log: its segments, checkpoint, in-doubt one
	local out
	runs "$1" 0 "1 prepared and in doubt" || return 1
	out=$("$dump" "$1" 2>&1)
	for want in "^segment 0000000000000004.seg: LSN" "^checkpoint at LSN" \
		"tag of 6 bytes: 78 69 64 2d 34 32"; do
		grep -q "$want" <<<"$out" || { echo "no '$want'"; return 1; }
	done
}

echo "1..5"
tap "a clean log: its 30 transactions, exit 0, unchanged" \
	runs "$dir/clean.log" 0 "30 committed"
tap "a torn tail: what a writable open would cut, exit 1, unchanged" \
	runs "$dir/torn.log" 1 "torn tail at offset"
tap "a bit flipped in the middle: corruption with its offsets, exit 2, unchanged" \
	runs "$dir/corrupt.log" 2 "CORRUPTION at offset"
tap "not a log: exit 3, unchanged" runs "$dir/text.log" 3 "not a syncfix log"
tap "segments after a checkpoint, a transaction in doubt: exit 0, unchanged" \
	runs_seg "$dir/seg.d"
exit $fail
