#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Installs every Debian package that syncfix's build, tests, VM runs and
# benchmarks need.  Idempotent: when everything is present it does nothing
# (and needs no root).  Uses apt-get as root, sudo otherwise.
#
# Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -eu

PKGS="build-essential make gcc clang perl kmod cpio gzip xz-utils
linux-image-amd64 linux-headers-amd64 linux-source-6.1
qemu-system-x86 busybox-static sparse liburing-dev pkg-config groff-base
flex bison bc libelf-dev dkms e2fsprogs
g++ libabsl-dev librocksdb-dev"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = --check ]; then
	echo "install-deps: missing:$missing" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
