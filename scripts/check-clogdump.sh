#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clogdump (tools/clogdump.c) on logs written through the library: a clean
# log (exit 0, its transactions listed), a torn tail (exit 1, what a
# writable open would cut), a bit flipped in the middle of 30 committed
# transactions (exit 2, corruption and the offset that proves it), a file
# that is not a log (exit 3) -- single files, asked for: their offsets are
# the file's --, a clean log as the defaults make it (a directory of
# segments), a single file with three checkpoints (each listed, in record
# order), a directory of segments whose first ones a checkpoint recycled,
# with a transaction left in doubt (exit 0: its segments, the checkpoint
# records still in it, the last one, the prepared transaction and its
# tag); every file byte-identical afterwards.  One TAP line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/tap.sh"
make -s --no-print-directory -C "$top" tools >&2 || exit 1
dump=$top/build/tools/bin/clogdump
lib=$top/build/lib/plain
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/mk.c" <<'C'
#include <string.h>
#include <syncfix.h>
/* mk LOG [single|ckpt]: 30 commits on a log made by the defaults (a
 * directory of segments), on a single file (its offsets are the file's),
 * or on a single file with a checkpoint after every 10. */
int main(int argc, char **argv)
{
	struct sf_clog_options o = { .flags = SF_CLOG_SINGLE_FILE };
	int ckpt = argc == 3 && !strcmp(argv[2], "ckpt");
	sf_clog_t *l;
	sf_txn_t *t;

	if (argc < 2 || sf_clog_open(argv[1], argc == 3 ? &o : NULL, &l, NULL))
		return 1;
	for (int i = 0; i < 30; i++)
		if (sf_txn_begin(l, &t) || sf_txn_add(t, "a record", 8) ||
		    sf_txn_commit(t, NULL) ||
		    (ckpt && i % 10 == 9 &&
		     sf_clog_checkpoint(l, sf_clog_durable_lsn(l))))
			return 1;
	return sf_clog_close(l);
}
C
cat >"$dir/mkseg.c" <<'C'
#include <string.h>
#include <syncfix.h>
/* 64 KiB segments: 1000 commits and a checkpoint (segments 0-3
 * recycled), a transaction prepared (tag "xid-42") and left in doubt,
 * then 1000 commits and a checkpoint three times: the four checkpoint
 * records are still in the log; the process ends with it prepared. */
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
	    commits(l, 1000) ||
	    sf_clog_checkpoint(l, sf_clog_durable_lsn(l)) ||
	    sf_txn_begin(l, &t) || sf_txn_add(t, "in doubt", 8) ||
	    sf_txn_prepare(t, "xid-42", 6))
		return 1;
	for (int i = 0; i < 3; i++)
		if (commits(l, 1000) ||
		    sf_clog_checkpoint(l, sf_clog_durable_lsn(l)))
			return 1;
	return 0;
}
C
for p in mk mkseg; do
	cc -I"$top/lib/include" -o "$dir/$p" "$dir/$p.c" -L"$lib" \
		-lsyncfix-user -Wl,-rpath,"$lib" -lpthread || exit 1
done
"$dir/mk" "$dir/clean.log" single || exit 1
"$dir/mk" "$dir/ckpt.log" ckpt || exit 1
"$dir/mk" "$dir/default.d" || exit 1
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
	for want in "^segment 0000000000000004.seg: LSN" \
		"^last checkpoint at LSN" "tag of 6 bytes: 78 69 64 2d 34 32" \
		"^4 checkpoint records in the log"; do
		grep -q "$want" <<<"$out" || { echo "no '$want'"; return 1; }
	done
	ckpts_in_order "$out"
}

# every checkpoint record, in record order (LSNs increasing, each lsn no
# lower than the last), the last one the summary's
ckpts_in_order() {
	local recs last
	recs=$(sed -n 's/^checkpoint record at LSN \([0-9]*\): lsn \([0-9]*\), scan_from \([0-9]*\), id limit \([0-9]*\)$/\1 \2 \3 \4/p' <<<"$1")
	echo "$recs"
	[ -n "$recs" ] || { echo "no checkpoint record listed"; return 1; }
	sort -n -c <<<"$recs" && sort -n -k2,2 -c <<<"$recs" ||
		{ echo "not in record order"; return 1; }
	last=$(sed -n 's/^last checkpoint at LSN \([0-9]*\);.*/\1/p' <<<"$1")
	[ "$(tail -n 1 <<<"$recs" | cut -d' ' -f2)" = "$last" ] ||
		{ echo "the last record is not the summary's ($last)"; return 1; }
}

runs_ckpt() {	# a single file, a checkpoint after every 10 commits
	local out
	runs "$1" 0 "^3 checkpoint records in the log" || return 1
	out=$("$dump" "$1" 2>&1)
	ckpts_in_order "$out"
}

echo "1..7"
tap "a clean single file: its 30 transactions, exit 0, unchanged" \
	runs "$dir/clean.log" 0 "30 committed"
tap "a clean log as the defaults make it (segments): its 30 transactions, exit 0, unchanged" \
	runs "$dir/default.d" 0 "30 committed"
tap "a single file with 3 checkpoints: each listed in record order, the last the summary's" \
	runs_ckpt "$dir/ckpt.log"
tap "a torn tail: what a writable open would cut, exit 1, unchanged" \
	runs "$dir/torn.log" 1 "torn tail at offset"
tap "a bit flipped in the middle: corruption with its offsets, exit 2, unchanged" \
	runs "$dir/corrupt.log" 2 "CORRUPTION at offset"
tap "not a log: exit 3, unchanged" runs "$dir/text.log" 3 "not a syncfix log"
tap "segments after checkpoints, a transaction in doubt: exit 0, unchanged, the checkpoints still in the log listed" \
	runs_seg "$dir/seg.d"
exit $fail
