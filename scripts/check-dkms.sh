#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS: `make install-dkms` into a private source tree, then dkms add,
# build (against the kernel headers the module is built for, Debian's 6.1
# by default: KDIR), status and remove in a private DKMS tree under build/,
# so that the system's DKMS state is left alone.  The built syncfix.ko must
# carry that kernel's vermagic.  One TAP line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tap_lines=15
. "$top/scripts/tap.sh"
work=$top/build/dkms-check


kdir=$(make -s --no-print-directory -C "$top/kmod" print-kdir ${KDIR:+KDIR=$KDIR})
case $kdir in
/lib/modules/*/build) kver=$(basename "$(dirname "$kdir")") ;;
*) kver=$(make -s --no-print-directory -C "$kdir" kernelrelease 2>/dev/null) ;;
esac
opts=(-m syncfix -v "$version" --sourcetree "$work/src" --dkmstree "$work/tree")

conf_version() {
	local v
	v=$(bash -c '. "$1" && echo "$PACKAGE_VERSION"' sh "$top/dkms.conf")
	[ "$v" = "$version" ] || { echo "dkms.conf: PACKAGE_VERSION $v, VERSION: $version"; return 1; }
}
built_ko() {
	local ko
	ko=$(find "$work/tree/syncfix/$version/$kver" -name 'syncfix.ko*' | head -n 1)
	[ -n "$ko" ] || { echo "no syncfix.ko in the DKMS tree"; return 1; }
	modinfo -F vermagic "$ko"
	modinfo -F vermagic "$ko" | grep -q "^$kver "
}
status_built() {
	dkms status "${opts[@]}" | tee /dev/stderr | grep -q "$kver.*: built"
}
removed() {
	[ ! -e "$work/tree/syncfix/$version" ] || { ls -R "$work/tree"; return 1; }
}

echo "1..7"
command -v dkms >/dev/null || { echo "not ok 1 - dkms not installed (scripts/install-deps.sh)"; exit 1; }
echo "# kernel $kver ($kdir)"
rm -rf "$work" && mkdir -p "$work/src" "$work/tree"
tap "dkms.conf PACKAGE_VERSION is $version" conf_version
tap "make install-dkms DKMS_SRCDIR=build/dkms-check/src" \
	make -s --no-print-directory -C "$top" install-dkms DKMS_SRCDIR="$work/src"
tap "dkms add syncfix/$version" dkms add "${opts[@]}"
tap "dkms build syncfix/$version -k $kver" dkms build "${opts[@]}" -k "$kver" \
	--kernelsourcedir "$kdir"
tap "syncfix.ko built for $kver" built_ko
tap "dkms status: built for $kver" status_built
dkms remove "${opts[@]}" --all >/dev/null 2>&1
tap "dkms remove --all leaves no trace in the DKMS tree" removed
rm -rf "$work"
exit $fail
