#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install into a stage (DESTDIR), then use the staged prefix the way a
# user would: build an example out of tree with nothing but
# `pkg-config --cflags --libs syncfix-user` (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR point into the stage), shared and static, run it,
# run the installed syncfixctl; then make uninstall must leave the stage
# empty.  The same again with PREFIX=/opt/syncfix.  One TAP line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/tap.sh"
work=$top/build/install-check
stage=$work/stage


make -s --no-print-directory -C "$top" lib tools >&2 || exit 1
eval "$(make -s --no-print-directory -C "$top/lib" print-install-vars)"

files_present() {	# PREFIX: the files a user needs are there
	local p=$stage$1 f
	for f in lib/$SOREAL lib/libsyncfix-user.so.$SOVER lib/libsyncfix-user.so \
		 lib/libsyncfix-user.a lib/libsyncfix-preload.so \
		 lib/pkgconfig/syncfix-user.pc include/syncfix.h \
		 include/syncfix/mutex.h include/linux/syncfix.h bin/syncfixctl \
		 share/man/man3/sf_mutex.3 share/man/man3/sf_mutex_lock.3 \
		 share/man/man4/syncfix.4 share/man/man8/syncfixctl.8; do
		[ -e "$p/$f" ] || { echo "missing: $p/$f"; return 1; }
	done
	for f in "$top"/lib/include/syncfix/*.h "$top"/man/man*/*.[0-9]; do
		case $f in
		*.h) f=include/syncfix/$(basename "$f") ;;
		*) f=share/man/$(basename "$(dirname "$f")")/$(basename "$f") ;;
		esac
		[ -e "$p/$f" ] || { echo "missing: $p/$f"; return 1; }
	done
	[ "$(readlink "$p/lib/libsyncfix-user.so.$SOVER")" = "$SOREAL" ] &&
	readelf -d "$p/lib/$SOREAL" | grep -q "SONAME.*\[libsyncfix-user.so.$SOVER\]"
}

man_version() {	# every installed page names the version of the VERSION file
	local f bad=0
	for f in "$stage$PFX"/share/man/man*/*.[0-9]; do
		grep -q '^\.so ' "$f" && continue
		grep -q '@VERSION@' "$f" && { echo "$f: @VERSION@ left"; bad=1; }
		grep -q "^\.TH .*\"syncfix $version\"" "$f" ||
			{ echo "$f: .TH does not name syncfix $version"; bad=1; }
	done
	return $bad
}

pc() {	# pkg-config against the staged PREFIX
	PKG_CONFIG_PATH=$stage$PFX/lib/pkgconfig PKG_CONFIG_LIBDIR=$stage$PFX/lib/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$stage pkg-config "$@"
}

pc_version() { [ "$(pc --modversion syncfix-user)" = "$version" ]; }

# An example copied out of the tree, built with pkg-config only.
build_shared() {
	local src=$work/out-of-tree/rwcache.c
	mkdir -p "$(dirname "$src")" && cp "$top/examples/rwcache.c" "$src" &&
	cd "$(dirname "$src")" &&
	echo "cc rwcache.c $(pc --cflags --libs syncfix-user)" &&
	cc -std=c11 -Wall -Werror -o rwcache rwcache.c $(pc --cflags --libs syncfix-user)
}
run_shared() {
	# The staged library, not the one in the build tree.
	LD_LIBRARY_PATH=$stage$PFX/lib ldd "$work/out-of-tree/rwcache" | grep -F "$stage$PFX/lib/libsyncfix-user.so.$SOVER" &&
	LD_LIBRARY_PATH=$stage$PFX/lib timeout 10 "$work/out-of-tree/rwcache"
}
build_run_static() {
	cd "$work/out-of-tree" &&
	echo "cc -static rwcache.c $(pc --static --cflags --libs syncfix-user)" &&
	cc -std=c11 -Wall -Werror -static -o rwcache-static rwcache.c \
		$(pc --static --cflags --libs syncfix-user) &&
	timeout 10 ./rwcache-static
}
# The installed syncfixctl finds the installed library by itself.
run_syncfixctl() {
	ldd "$stage$PFX/bin/syncfixctl" | grep -F "$stage$PFX/bin/../lib/libsyncfix-user.so.$SOVER" &&
	"$stage$PFX/bin/syncfixctl" --version | grep -qx "syncfixctl $version" &&
	"$stage$PFX/bin/syncfixctl" status >/dev/null
}
stage_empty() {
	local left
	left=$(find "$stage" -mindepth 1)
	[ -z "$left" ] || { echo "left in the stage:"; echo "$left"; return 1; }
}

echo "1..24"
for PFX in /usr/local /opt/syncfix; do
	rm -rf "$work" && mkdir -p "$stage"
	args=(DESTDIR="$stage")
	[ $PFX = /usr/local ] || args+=(PREFIX=$PFX)
	tap "$PFX: make install ${args[*]}" make -s --no-print-directory -C "$top" install "${args[@]}"
	tap "$PFX: library, headers, pkg-config file, syncfixctl, man pages installed" files_present $PFX
	tap "$PFX: pkg-config --modversion syncfix-user is $version" pc_version
	tap "$PFX: the man pages name syncfix $version" man_version
	tap "$PFX: an example builds out of tree with pkg-config --cflags --libs" build_shared
	tap "$PFX: it runs against the staged shared library" run_shared
	tap "$PFX: static build with pkg-config --static (Libs.private) runs" build_run_static
	tap "$PFX: installed syncfixctl runs against the installed library" run_syncfixctl
	tap "$PFX: make install again (over the first)" make -s --no-print-directory -C "$top" install "${args[@]}"
	tap "$PFX: make uninstall" make -s --no-print-directory -C "$top" uninstall "${args[@]}"
	tap "$PFX: the stage is empty" stage_empty
	tap "$PFX: make uninstall again does nothing" make -s --no-print-directory -C "$top" uninstall "${args[@]}"
done
rm -rf "$work"
exit $fail
