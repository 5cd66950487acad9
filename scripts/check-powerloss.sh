#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The commit log under power loss (lib/commit/tests/commit-powerloss.c), in one VM
# with Debian's kernel: the test loads loop, dm-mod, dm-log-writes and ext4
# from /mod, puts ext4 (an empty image made here, /fs.img) on a
# dm-log-writes device, commits, and replays the recording flush by flush.
# The debug kernel is not used: it has neither these modules nor ext4.
#
# Usage: scripts/check-powerloss.sh [vm.sh options, e.g. --tap FILE --quiet]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/build/powerloss
die() { echo "check-powerloss: $*" >&2; exit 2; }

command -v mkfs.ext4 >/dev/null ||
	die "mkfs.ext4 not found: run scripts/install-deps.sh (package e2fsprogs)"
kdir=$(make -s --no-print-directory -C "$top/kmod" print-kdir)
rel=$(basename "$(dirname "$kdir")")
moddir=/lib/modules/$rel/kernel
[ -d "$moddir" ] ||
	die "$moddir missing: run scripts/install-deps.sh (package linux-image-amd64)"

make -s --no-print-directory -C "$top/lib" vm-powerloss
mkdir -p "$work"
rm -f "$work/fs.img"
truncate -s 32M "$work/fs.img"
mkfs.ext4 -q -F -L plw "$work/fs.img"

files=(--file "$work/fs.img:/fs.img")
for m in crypto/crc32c_generic lib/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4 \
	 drivers/block/loop drivers/md/dm-mod drivers/md/dm-log-writes; do
	f=$moddir/$m.ko
	[ -f "$f" ] || die "$f missing"
	files+=(--file "$f:/mod/$(basename "$m").ko")
done
vm=$top/build/lib/vm
exec "$top/scripts/vm.sh" --cpu modern --name powerloss --timeout 600 \
	"${files[@]}" \
	--test "$vm/commit-powerloss" "$@"
