#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Extracts the few files syncfix takes from Debian's linux-source-6.1 tarball
# (kselftest headers, lib.mk, checkpatch.pl and its data files) into a cache
# directory, once.  Prints the cache's root (the extracted linux-source-6.1/).
#
# Usage: scripts/linux-source.sh [CACHE_DIR]   (default: build/cache)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${SYNCFIX_CACHE:-$top/build/cache}}
tarball=${LINUX_SOURCE_TARBALL:-}
if [ -z "$tarball" ]; then
	for t in /usr/src/linux-source-6.1.tar.xz /usr/src/linux-source-*.tar.xz; do
		[ -f "$t" ] && { tarball=$t; break; }
	done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "linux-source.sh: no /usr/src/linux-source-6.1.tar.xz; run scripts/install-deps.sh" >&2
	exit 1
fi
src=$(basename "$tarball" .tar.xz)
root=$cache/$src
stamp=$root/.syncfix-extracted

if [ ! -f "$stamp" ] || [ "$tarball" -nt "$stamp" ]; then
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" \
		"$src/tools/testing/selftests/kselftest.h" \
		"$src/tools/testing/selftests/kselftest_harness.h" \
		"$src/tools/testing/selftests/kselftest_module.h" \
		"$src/tools/testing/selftests/kselftest/" \
		"$src/tools/testing/selftests/lib.mk" \
		"$src/scripts/checkpatch.pl" \
		"$src/scripts/spelling.txt" \
		"$src/scripts/const_structs.checkpatch" \
		"$src/Documentation/dev-tools/checkpatch.rst"
	touch "$stamp"
fi
echo "$root"
