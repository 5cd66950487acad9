#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds a debug kernel (lockdep, KASAN, UBSAN, debug objects, ...) from
# Debian's linux-source-6.1 tarball for syncfix's VM tests: `make tinyconfig`
# plus scripts/debug-kernel.config.  Idempotent: the tarball is extracted
# once, and a stamp holding a hash of the fragment's options, the tarball's
# size and mtime and the compiler's version makes a run with nothing changed
# a no-op; a changed option reconfigures and rebuilds (incrementally; a new
# tarball is extracted afresh).
#
# Usage: scripts/debug-kernel.sh [OUTDIR]   (default: build/cache/debug-kernel)
#
# Prints the kernel tree's path as the last line on stdout; use it as KDIR
# (make -C kmod KDIR=...) and boot <tree>/arch/x86/boot/bzImage with
# scripts/vm.sh --kernel.  Progress goes to stderr, make's output to
# OUTDIR/build.log (its tail is printed on failure).
#
# Environment: LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
# JOBS (default: nproc).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
frag=$top/scripts/debug-kernel.config
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
goals="bzImage modules modules_prepare"
# Bump when the way the tree is configured or built changes.
recipe=1

say() { echo "debug-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

case ${1:-} in
-h | --help) sed -n '4,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
-*) die "unknown option $1 (usage: $0 [OUTDIR])" ;;
esac
[ $# -le 1 ] || die "usage: $0 [OUTDIR]"

out=${1:-$top/build/cache/debug-kernel}
[ -f "$frag" ] || die "config fragment $frag missing"
[ -f "$tarball" ] ||
	die "no kernel source tarball $tarball: install package linux-source-6.1 (run scripts/install-deps.sh)"
[ "$(uname -m)" = x86_64 ] || die "builds an x86_64 kernel; this host is $(uname -m)"
jobs=${JOBS:-$(nproc)}
case $jobs in "" | *[!0-9]* | 0) die "JOBS must be a positive number, not '$jobs'" ;; esac

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$(basename "$tarball" .tar.xz)
tree=$out/$src
log=$out/build.log
stamp=$out/.stamp

# One build per OUTDIR at a time.
exec 9>"$out/.lock"
if ! flock -n 9; then
	say "waiting for another build in $out"
	flock 9
fi

tarid="$tarball $(stat -c '%s %Y' "$tarball")"
cc=$(gcc --version 2>/dev/null | head -n 1) || cc=
key=$( {
	echo "recipe $recipe"
	echo "goals $goals"
	echo "tarball $tarid"
	echo "cc $cc"
	# the options only: editing a comment does not rebuild
	grep -E '^(CONFIG_|# CONFIG_[A-Za-z0-9_]+ is not set)' "$frag" | sort
} | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
	[ -f "$tree/arch/x86/boot/bzImage" ] && [ -f "$tree/Module.symvers" ]; then
	echo "$tree"
	exit 0
fi

# Build prerequisites beyond a C toolchain (objtool needs libelf).
missing=
for t in make gcc flex bison bc perl xz; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
[ -f /usr/include/libelf.h ] || [ -f /usr/include/elfutils/libelf.h ] || missing="$missing libelf-dev"
[ -z "$missing" ] ||
	die "missing build tools:$missing (Debian packages: build-essential flex bison bc xz-utils libelf-dev)"

rm -f "$stamp"
start=$SECONDS

if [ ! -f "$out/.extracted" ] || [ "$(cat "$out/.extracted")" != "$tarid" ] || [ ! -d "$tree" ]; then
	say "extracting $tarball into $out"
	rm -rf "$tree" "$out/.extracted"
	tar -xJf "$tarball" -C "$out"
	[ -f "$tree/Makefile" ] || die "$tarball did not unpack to $tree"
	echo "$tarid" >"$out/.extracted"
fi

# Keep the caller's make and kbuild settings (O=, M=, a jobserver) out.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES KBUILD_OUTPUT KBUILD_EXTMOD \
	O M KDIR ARCH SUBARCH CROSS_COMPILE CC LD LLVM KCONFIG_CONFIG
export ARCH=x86_64

fail() {
	say "$* (log: $log); its end:"
	tail -n 40 "$log" >&2
	exit 1
}

say "configuring: tinyconfig + $(basename "$frag")"
{
	echo "### $(date -u '+%F %T') tinyconfig + $frag"
	make -C "$tree" tinyconfig &&
		(cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$frag") &&
		make -C "$tree" olddefconfig
} >"$log" 2>&1 || fail "configuration failed"

# Every line of the fragment must have survived olddefconfig (an option
# whose dependencies are not met is dropped silently).
bad=
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		opt=${line%%=*}
		grep -qxF -- "$line" "$tree/.config" && continue
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		grep -q "^$opt=" "$tree/.config" || continue
		;;
	*) continue ;;
	esac
	now=$(grep -E "^$opt=|^# $opt is not set" "$tree/.config" || true)
	bad="$bad
  wanted: $line
  got:    ${now:-(not present: unknown or dependencies not met)}"
done <"$frag"
[ -z "$bad" ] || die "options of $(basename "$frag") that did not end up as written:$bad"

say "building $goals with -j$jobs (log: $log; from scratch 9-13 minutes on 2 cores)"
# shellcheck disable=SC2086 # goals is a word list
make -C "$tree" -j"$jobs" $goals >>"$log" 2>&1 || fail "build failed"
[ -f "$tree/arch/x86/boot/bzImage" ] || fail "build produced no bzImage"
[ -f "$tree/Module.symvers" ] || fail "build produced no Module.symvers"

echo "$key" >"$stamp"
say "built $(make -s -C "$tree" kernelrelease 2>/dev/null) in $((SECONDS - start)) s: $tree/arch/x86/boot/bzImage"
echo "$tree"
