#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Only the public API leaves the shared library: every symbol
# libsyncfix-user.so exports (nm -D --defined-only) is listed in
# lib/libsyncfix-user.map and starts with sf_, every symbol the map lists is
# exported, and libsyncfix-preload.so exports only pthread_rwlock*.
# One TAP line per check; the offending symbols are printed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
make -s --no-print-directory -C "$top/lib" SAN= lib >&2 || exit 1
eval "$(make -s --no-print-directory -C "$top/lib" print-install-vars)"
so=$top/build/lib/plain/$SOREAL
preload=$top/build/lib/plain/libsyncfix-preload.so
map=$top/lib/libsyncfix-user.map
n=0 fail=0

tap() {	# tap DESC BAD-LIST
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"; printf '#   %s\n' $2; fail=1
	fi
}

# Exported definitions, without the version node (an ABS symbol).
exported() { nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u; }
# The names in the map's global: sections.
mapped=$(sed -e 's|/\*.*\*/||' -e 's|#.*||' "$map" |
	awk '/global:/ { g = 1; next } /local:/ { g = 0 }
	     g { gsub(/[ \t;]/, ""); if ($0 != "") print }' | sort -u)
exp=$(exported "$so")

echo "1..5"
tap "libsyncfix-user.so exports symbols ($(echo "$exp" | wc -l))" \
	"$([ -n "$exp" ] || echo none)"
tap "every exported symbol starts with sf_" "$(echo "$exp" | grep -v '^sf_')"
tap "every exported symbol is in libsyncfix-user.map" \
	"$(comm -23 <(echo "$exp") <(echo "$mapped"))"
tap "every symbol of libsyncfix-user.map is exported" \
	"$(comm -13 <(echo "$exp") <(echo "$mapped"))"
tap "libsyncfix-preload.so exports only pthread_rwlock*" \
	"$(exported "$preload" | grep -v '^pthread_rwlock')"
exit $fail
