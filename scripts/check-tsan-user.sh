#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ThreadSanitizer for a user's program built against the *installed*
# library: make install into a stage, then lib/base/tests/tsan-user.c
# built with -fsanitize=thread and nothing but
# `pkg-config --cflags --libs syncfix-user`.  The shipped library is not
# built with TSAN; it annotates through weak references
# (lib/base/internal.h).  One TAP line per check:
#   - the library's __tsan_* references are all weak;
#   - every scenario that hands data over through the library is clean
#     (no report, exit 0), with no suppression file;
#   - a plain race and a lock-order inversion of two sf_mutexes are
#     reported;
#   - with the annotations turned into no-ops (tsan-noannot.c preloaded)
#     every clean scenario is reported, and with only acquire/release
#     turned off the commit log's is: the proof that the annotations are
#     what makes them clean (the lock manager's waiter now takes a freed
#     lock itself, under the tree's mutex, whose lock annotations order
#     it, lib/lockmgr/lockmgr.c R6; its acquire/release pair covers only
#     the hand-off to a waiter that lost a race, which this scenario
#     cannot force from outside);
#   - the same program built without TSAN runs every scenario (the weak
#     references are 0 there).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/tap.sh"
work=$top/build/tsan-user-check
stage=$work/stage
src=$top/lib/base/tests

clean=(mutex mutex-errorcheck rwlock-prefer-reader rwlock-prefer-writer
       rwlock-nonrecursive cond lockmgr lockthread commit)

rm -rf "$work" && mkdir -p "$stage"
make -s --no-print-directory -C "$top" install DESTDIR="$stage" PREFIX=/usr >&2 ||
	exit 1
export PKG_CONFIG_PATH=$stage/usr/lib/pkgconfig PKG_CONFIG_LIBDIR=$stage/usr/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage
lib=$stage/usr/lib
so=$lib/libsyncfix-user.so

weak_only() {
	local refs strong
	refs=$(nm -D "$so" | grep -c ' __tsan_')
	strong=$(nm -D "$so" | grep ' __tsan_' | grep -vc ' w ')
	echo "$refs __tsan_ references, $strong not weak"
	[ "$refs" -gt 0 ] && [ "$strong" -eq 0 ]
}

build() {	# OUT EXTRA-FLAGS...: tsan-user.c against the stage, pkg-config only
	local out=$1; shift
	# shellcheck disable=SC2046
	cc -std=c11 -Wall -Wextra -Werror -g -O1 "$@" "$src/tsan-user.c" \
		$(pkg-config --cflags --libs syncfix-user) -luring -lpthread -o "$out"
}

# run PROG SCENARIO [PRELOAD]: sets $rc and $out
run() {
	out=$(env ${3:+LD_PRELOAD=$3} LD_LIBRARY_PATH="$lib" timeout 300 "$1" "$2" 2>&1)
	rc=$?
	# TSAN's fixed shadow mapping can clash with a large mmap_rnd_bits:
	# run again without address randomisation (as lib/base/tests/run-tests.sh).
	if grep -q 'ThreadSanitizer: unexpected memory mapping' <<<"$out"; then
		out=$(env ${3:+LD_PRELOAD=$3} LD_LIBRARY_PATH="$lib" timeout 300 \
			setarch "$(uname -m)" -R "$1" "$2" 2>&1)
		rc=$?
	fi
}

is_clean() {
	run "$work/tsan-user" "$1"
	[ $rc -eq 0 ] && ! grep -q ThreadSanitizer <<<"$out" ||
		{ printf '%s\n' "$out" | head -n 40; return 1; }
}

is_reported() {	# SCENARIO WHAT [PRELOAD]
	run "$work/tsan-user" "$1" "${3:-}"
	[ $rc -eq 66 ] && grep -q "WARNING: ThreadSanitizer: $2" <<<"$out" ||
		{ echo "exit $rc"; printf '%s\n' "$out" | head -n 20; return 1; }
}

runs_plain() {
	run "$work/tsan-user-plain" "$1"
	[ $rc -eq 0 ] || { printf '%s\n' "$out" | tail -n 5; return 1; }
}

echo "1..$((4 + ${#clean[@]} * 3 + 3))"
tap "the installed library references __tsan_* weakly only" weak_only
tap "tsan-user builds with -fsanitize=thread and pkg-config only" \
	build "$work/tsan-user" -fsanitize=thread
tap "the annotation shims build" sh -c "
	cc -shared -fPIC -O2 -o '$work/noannot.so' '$src/tsan-noannot.c' &&
	cc -shared -fPIC -O2 -DONLY_ACQUIRE_RELEASE -o '$work/noacqrel.so' '$src/tsan-noannot.c'"
tap "tsan-user builds without TSAN too" build "$work/tsan-user-plain"
for s in "${clean[@]}"; do
	tap "$s: no report under TSAN" is_clean "$s"
done
tap "race: an unlocked race is reported" is_reported race "data race"
tap "inversion: two sf_mutexes in both orders are reported" \
	is_reported inversion "lock-order-inversion"
for s in "${clean[@]}"; do
	tap "$s: reported once the annotations are no-ops" \
		is_reported "$s" "data race" "$work/noannot.so"
done
for s in commit; do
	tap "$s: reported without its acquire/release annotations" \
		is_reported "$s" "data race" "$work/noacqrel.so"
done
for s in "${clean[@]}"; do
	tap "$s: runs in a program built without TSAN" runs_plain "$s"
done
exit $fail
