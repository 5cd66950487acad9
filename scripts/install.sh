#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs and uninstalls the user-space part of syncfix (what `make
# install` and `make uninstall` run): libsyncfix-user (shared library with
# its SONAME links, static archive, libsyncfix-preload.so), the public
# headers, the uapi header, syncfix-user.pc, syncfixctl, clogdump and the
# man pages
# (with one .so page for each further name in a page's NAME section).
#
# Every file and every directory it creates is written to a manifest,
# $DATADIR/syncfix/install-manifest; uninstall removes exactly those files,
# then those directories if they are empty, then the manifest.  Installing
# over an earlier installation first uninstalls that one.
#
# Usage: scripts/install.sh install|uninstall
# Environment: DESTDIR (staging root, default empty), PREFIX (/usr/local),
#   BINDIR, LIBDIR, INCLUDEDIR, DATADIR, MANDIR, PKGCONFIGDIR (defaults
#   below PREFIX), LDCONFIG (default: run ldconfig when DESTDIR is empty
#   and we are root; "no" never).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DATADIR=${DATADIR:-$PREFIX/share}
MANDIR=${MANDIR:-$DATADIR/man}
PKGCONFIGDIR=${PKGCONFIGDIR:-$LIBDIR/pkgconfig}
manifest=$DESTDIR$DATADIR/syncfix/install-manifest

die() { echo "install.sh: $*" >&2; exit 1; }

case $PREFIX in /*) ;; *) die "PREFIX must be an absolute path: $PREFIX" ;; esac

# ---- uninstall --------------------------------------------------------

# Manifest lines: "f PATH" (a file or link) or "d PATH" (a directory this
# installation created), paths including DESTDIR, in the order created.
uninstall() {
	local kind path files=0 dirs=()
	[ -f "$manifest" ] || { echo "install.sh: nothing installed (no $manifest)"; return 0; }
	while read -r kind path; do
		case $kind in
		f) rm -f -- "$path"; files=$((files + 1)) ;;
		d) dirs=("$path" "${dirs[@]}") ;;
		esac
	done <"$manifest"
	# Directories, last created first, if nothing else is in them.
	for path in "${dirs[@]}"; do
		rmdir -- "$path" 2>/dev/null || true
	done
	echo "install.sh: removed $files files"
}

# ---- install ----------------------------------------------------------

entries=()
record() { entries+=("$1 $2"); }

# mkdir -p, recording each directory it creates.
mkdirs() {
	local d=$1 missing=()
	while [ ! -d "$d" ]; do
		missing=("$d" "${missing[@]}")
		d=$(dirname "$d")
	done
	for d in "${missing[@]}"; do
		mkdir -- "$d"
		record d "$d"
	done
}

# put MODE SRC DIR [NAME]
put() {
	local dst=$DESTDIR$3/${4:-$(basename "$2")}
	[ -e "$2" ] || die "$2 missing: run make first"
	mkdirs "$DESTDIR$3"
	install -m "$1" "$2" "$dst"
	record f "$dst"
}

# link TARGET DIR NAME
link() {
	ln -sfn "$1" "$DESTDIR$2/$3"
	record f "$DESTDIR$2/$3"
}

# text CONTENT DIR NAME
text() {
	mkdirs "$DESTDIR$2"
	printf '%s\n' "$1" >"$DESTDIR$2/$3"
	chmod 644 "$DESTDIR$2/$3"
	record f "$DESTDIR$2/$3"
}

# The names of a man page's NAME section (before "\-"), one a line.
man_names() {
	awk '/^\.SH +"?NAME"?/ { on = 1; next }
	     on && /^\.S[HS] / { exit }
	     on { line = line " " $0; if ($0 ~ /\\-/) exit }
	     END { sub(/\\-.*/, "", line); gsub(/\\/, "", line)
		   n = split(line, w, /[ ,]+/)
		   for (i = 1; i <= n; i++) if (w[i] != "") print w[i] }' "$1"
}

install_all() {
	local plain=$top/build/lib/plain SOREAL SOVER LDLIBS version page sec \
		base name libs_private libdir_pc incdir_pc
	eval "$(make -s --no-print-directory -C "$top/lib" print-install-vars)"
	version=$(cat "$top/VERSION")
	[ -n "$version" ] || die "no version in $top/VERSION"

	# Library.
	put 755 "$plain/$SOREAL" "$LIBDIR"
	link "$SOREAL" "$LIBDIR" "libsyncfix-user.so.$SOVER"
	link "libsyncfix-user.so.$SOVER" "$LIBDIR" libsyncfix-user.so
	put 644 "$plain/libsyncfix-user.a" "$LIBDIR"
	put 755 "$plain/libsyncfix-preload.so" "$LIBDIR"

	# Headers: the public ones and the uapi header.
	put 644 "$top/lib/include/syncfix.h" "$INCLUDEDIR"
	for h in "$top"/lib/include/syncfix/*.h; do
		put 644 "$h" "$INCLUDEDIR/syncfix"
	done
	put 644 "$top/uapi/linux/syncfix.h" "$INCLUDEDIR/linux"

	# pkg-config: paths relative to ${prefix} where they lie below it.
	libdir_pc=$LIBDIR incdir_pc=$INCLUDEDIR
	case $LIBDIR in "$PREFIX"/*) libdir_pc="\${exec_prefix}${LIBDIR#"$PREFIX"}" ;; esac
	case $INCLUDEDIR in "$PREFIX"/*) incdir_pc="\${prefix}${INCLUDEDIR#"$PREFIX"}" ;; esac
	libs_private=$(echo $LDLIBS)
	text "$(sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$libdir_pc|" \
		-e "s|@INCLUDEDIR@|$incdir_pc|" -e "s|@VERSION@|$version|" \
		-e "s|@LIBS_PRIVATE@|$libs_private|" "$top/lib/syncfix-user.pc.in")" \
		"$PKGCONFIGDIR" syncfix-user.pc

	# syncfixctl, clogdump.
	put 755 "$top/build/tools/bin/syncfixctl" "$BINDIR"
	put 755 "$top/build/tools/bin/clogdump" "$BINDIR"

	# Man pages, and a .so page for every other name a page lists.
	for page in "$top"/man/man*/*.[0-9]; do
		[ -e "$page" ] || continue
		sec=${page##*.}
		base=$(basename "$page" ".$sec")
		text "$(sed "s|@VERSION@|$version|g" "$page")" "$MANDIR/man$sec" \
			"$base.$sec"
		for name in $(man_names "$page"); do
			[ "$name" = "$base" ] && continue
			[ -e "$top/man/man$sec/$name.$sec" ] && continue
			text ".so man$sec/$base.$sec" "$MANDIR/man$sec" "$name.$sec"
		done
	done

	mkdirs "$(dirname "$manifest")"
	record f "$manifest"
	printf '%s\n' "${entries[@]}" >"$manifest"
	chmod 644 "$manifest"

	if [ -z "$DESTDIR" ] && [ "${LDCONFIG:-}" != no ] && [ "$(id -u)" -eq 0 ]; then
		ldconfig || true
	fi
	echo "install.sh: installed $(grep -c '^f ' "$manifest") files under $DESTDIR$PREFIX"
}

case ${1:-} in
install)
	[ ! -f "$manifest" ] || uninstall
	install_all
	;;
uninstall)
	uninstall
	;;
*)
	die "usage: $0 install|uninstall"
	;;
esac
