#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots Debian's 6.1 kernel under qemu (TCG, 2 vCPUs) with a busybox
# initramfs that loads syncfix.ko, runs test programs and shell commands,
# dumps the kernel log and powers off.  The serial console is saved and
# turned into TAP by scripts/vm-parse.sh.
#
# Usage: scripts/vm.sh [options]
#   --cpu affected|modern|QEMU_CPU  CPU model (affected: a pre-Rev-F Opteron,
#                          family 15 model 33; modern: EPYC, family 23)
#   --name NAME            run name; work files go to build/vm/NAME/
#   --ko PATH              module to insmod first (default kmod/syncfix.ko)
#   --no-insmod            put the module at /syncfix.ko but do not load it
#   --test PATH            a statically linked program to run (repeatable)
#   --run CMD              a shell command to run, echoed first (repeatable)
#   --file SRC[:DST]       extra file to put in the initramfs (repeatable)
#   --kernel PATH          kernel image (default: /boot/vmlinuz-<ver>, where
#                          <ver> is the release of the headers in KDIR)
#   --timeout SECS         hard limit for the whole boot (default 600)
#   --test-timeout SECS    limit per test program (default 300)
#   --tap FILE             write the TAP result lines there
#   --quiet                do not echo the console
# Exit: 0 if every result is ok, 1 otherwise, 2 on a setup error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cpu=modern name= ko=$top/kmod/syncfix.ko kernel= timeout=600 ttimeout=300
tap= quiet=0 insmod=1
tests=() runs=() files=()

die() { echo "vm.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--cpu) cpu=$2; shift ;;
	--name) name=$2; shift ;;
	--ko) ko=$2; shift ;;
	--test) tests+=("$2"); shift ;;
	--run) runs+=("$2"); shift ;;
	--file) files+=("$2"); shift ;;
	--kernel) kernel=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--test-timeout) ttimeout=$2; shift ;;
	--tap) tap=$2; shift ;;
	--quiet) quiet=1 ;;
	--no-insmod) insmod=0 ;;
	*) die "unknown option $1 (see the comment at the top of $0)" ;;
	esac
	shift
done

case $cpu in
affected) qcpu="Opteron_G2,vendor=AuthenticAMD,family=15,model=33" ;;
modern) qcpu="EPYC" ;;
*) qcpu=$cpu ;;
esac
[ -n "$name" ] || name=$cpu

qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || die "qemu-system-x86_64 not found: run scripts/install-deps.sh (package qemu-system-x86)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox not found: run scripts/install-deps.sh (package busybox-static)"
command -v cpio >/dev/null || die "cpio not found: run scripts/install-deps.sh"

if [ -z "$kernel" ]; then
	kdir=$(make -s --no-print-directory -C "$top/kmod" print-kdir 2>/dev/null || true)
	rel=$(basename "$(dirname "$kdir")" 2>/dev/null || true)
	if [ -n "$rel" ] && [ -f "/boot/vmlinuz-$rel" ]; then
		kernel=/boot/vmlinuz-$rel
	else
		kernel=$(ls -1 /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
	fi
fi
[ -n "$kernel" ] && [ -f "$kernel" ] ||
	die "no kernel image (looked for /boot/vmlinuz-6.1.*-amd64): run scripts/install-deps.sh (package linux-image-amd64) or pass --kernel"
[ -r "$kernel" ] || die "$kernel is not readable (run as root, or pass --kernel)"
[ -f "$ko" ] || die "module $ko not built: run make"

work=$top/build/vm/$name
rm -rf "$work"
mkdir -p "$work/root"/{bin,sbin,proc,sys,dev,tmp,tests,etc}
root=$work/root
cp "$busybox" "$root/bin/busybox"
cp "$ko" "$root/syncfix.ko"
for t in "${tests[@]}"; do
	[ -x "$t" ] || die "test program $t missing"
	cp "$t" "$root/tests/"
	basename "$t" >>"$root/tests/list"
done
touch "$root/tests/list"
for f in "${files[@]}"; do
	src=${f%%:*} dst=${f#*:}
	[ "$dst" = "$f" ] && dst=/$(basename "$src")
	mkdir -p "$root$(dirname "$dst")"
	cp "$src" "$root$dst"
done
: >"$root/runs"
for r in "${runs[@]}"; do printf '%s\n' "$r" >>"$root/runs"; done

cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/tmp SYNCFIX_KO=/syncfix.ko
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "@@SYNCFIX vm-begin \$(grep -m1 'model name' /proc/cpuinfo)"
if [ $insmod = 1 ]; then
	insmod /syncfix.ko
	echo "@@SYNCFIX insmod rc=\$?"
fi
while read -r t; do
	echo "@@SYNCFIX test-begin \$t"
	timeout -s KILL $ttimeout /tests/\$t </dev/null 2>&1
	echo "@@SYNCFIX test-end \$t rc=\$?"
done </tests/list
while read -r cmd; do
	echo "\\\$ \$cmd"
	sh -c "\$cmd" </dev/null 2>&1
done </runs
echo "@@SYNCFIX dmesg-begin"
dmesg
echo "@@SYNCFIX dmesg-end"
echo "@@SYNCFIX vm-end"
sync
reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$work/initramfs.cpio.gz"

# The terminal gets the console without firmware escapes and without the
# kernel log dump (that stays in console.log).
show() {
	tr -d '\r' | sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/^.*Booting from ROM[.]*//' |
		awk '/@@SYNCFIX dmesg-begin/ { d = 1; print "(kernel log: " logf ")" }
		     !d && !/^(SeaBIOS|Booting from ROM)|@@SYNCFIX vm-end|reboot: Restarting/ {
			sub(/^@@SYNCFIX vm-begin model name[ \t]*:/, "VM CPU:")
			print; fflush()
		     }
		     /@@SYNCFIX dmesg-end/ { d = 0 }' logf="$log"
}

# preempt=full: Debian's kernel is built with PREEMPT_DYNAMIC and boots
# with voluntary preemption; full preemption lets a task be preempted at
# any point of the module's code, as the load/unload race test needs (the
# debug kernel is built with CONFIG_PREEMPT and ignores the parameter).
log=$work/console.log
[ $quiet = 1 ] || echo "vm.sh: booting $(basename "$kernel") on -cpu $qcpu (limit ${timeout}s)" >&2
set +e
timeout -k 5 "$timeout" "$qemu" -machine q35 -m 1024 -smp 2 -cpu "$qcpu" \
	-nographic -no-reboot -nodefaults -serial stdio -display none \
	-kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 oops=panic panic_on_warn=0 preempt=full" \
	</dev/null 2>"$work/qemu.err" |
	if [ $quiet = 1 ]; then cat >"$log"; else tee "$log" | show; fi
qrc=${PIPESTATUS[0]}
set -e
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "vm.sh: $name: hard time limit of ${timeout}s reached" >&2
fi

out=$("$top/scripts/vm-parse.sh" "$name" "$log") && prc=0 || prc=$?
[ -z "$tap" ] || printf '%s\n' "$out" >"$tap"
[ $quiet = 1 ] || printf '%s\n' "$out" | grep '^not ok' >&2 || true
exit $prc
