#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make load` / `make unload` on a real machine: insmod or rmmod the built
# syncfix.ko, after checking that the running kernel can take it.
#
# Usage: scripts/load.sh load|unload [module parameters...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ko=${SYNCFIX_KO:-$top/kmod/syncfix.ko}
what=${1:-load}
[ $# -gt 0 ] && shift

fail() { echo "syncfix: $*" >&2; exit 1; }

case $what in
load)
	[ -f "$ko" ] || fail "$ko is not built: run make"
	[ "$(id -u)" -eq 0 ] || fail "loading a module needs root"
	if [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null || echo 0)" = 1 ]; then
		fail "this kernel does not load modules (kernel.modules_disabled=1)"
	fi
	[ -f /proc/modules ] || fail "this kernel ($(uname -r)) has no module support; test the module in the VM with make check"
	built=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	if [ -n "$built" ] && [ "$built" != "$(uname -r)" ]; then
		fail "$ko was built for $built but this kernel is $(uname -r); rebuild with make KDIR=/lib/modules/$(uname -r)/build (or use make demo / make check, which boot $built in a VM)"
	fi
	if grep -q '^syncfix ' /proc/modules; then
		echo "syncfix: already loaded"
		exit 0
	fi
	insmod "$ko" "$@" || fail "insmod failed; see dmesg"
	echo "syncfix: loaded; errata: $(cat /sys/kernel/syncfix/errata)"
	;;
unload)
	[ "$(id -u)" -eq 0 ] || fail "unloading a module needs root"
	grep -q '^syncfix ' /proc/modules 2>/dev/null || { echo "syncfix: not loaded"; exit 0; }
	rmmod syncfix || fail "rmmod failed (is /dev/syncfix still open?)"
	echo "syncfix: unloaded"
	;;
*)
	fail "usage: $0 load|unload"
	;;
esac
