#!/bin/sh
# Builds the dqlite sidecar (build/lxdts-dqlite) from lxdts-dqlite.c. Idempotent: does nothing when the binary is
# newer than the source and this script. Needs gcc, pkg-config and libdqlite-dev (Debian 12: dqlite 1.11.1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/lxdts-dqlite.c"
out="$here/build/lxdts-dqlite"

if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$here/build"
# Build to a private name, then rename: concurrent callers (parallel test files) never see a half-written binary.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2046
gcc -O2 -Wall -Wextra -pthread $(pkg-config --cflags dqlite) -o "$tmp" "$src" $(pkg-config --libs dqlite)
mv -f "$tmp" "$out"
echo "built $out"
