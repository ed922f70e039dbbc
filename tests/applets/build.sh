#!/bin/sh
# Rebuilds the project's test applets with the Java Card kit in ../shared/javacard (build-cap:
# JDK javac + Oracle's converter) and puts each <name>.cap and <name>.jca in OUT/<name>/.
#   tests/applets/build.sh            OUT = tests/applets/<name>/build (the committed files)
#   tests/applets/build.sh DIR        OUT = DIR/<name>  (tests/jcvm_cap.rs compares with these)
# GPSE_SHARED overrides where the kit is (default: ../shared next to the repository, then
# /work/shared). See tests/applets/README.md for the AIDs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
shared=${GPSE_SHARED:-}
for c in "$shared" "$here/../../../shared" /work/shared; do
  [ -n "$c" ] && [ -x "$c/javacard/build-cap" ] && { shared=$c; break; }
done
[ -x "$shared/javacard/build-cap" ] || { echo "build.sh: no javacard/build-cap (set GPSE_SHARED)" >&2; exit 2; }
out=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name package package-AID applet-class applet-AID target converter-flags
while read -r name pkg paid cls aaid tgt flags; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  "$shared/javacard/build-cap" "$here/$name/src" "$pkg" "$paid" 1.0 "$pkg.$cls" "$aaid" "$tgt" "$tmp/$name" $flags >/dev/null
  dir=$tmp/$name/$(echo "$pkg" | tr . /)/javacard
  dest=${out:+$out/$name}
  dest=${dest:-$here/$name/build}
  mkdir -p "$dest"
  cp "$dir/$name.cap" "$dir/$name.jca" "$dest/"
  echo "$dest/$name.cap"
done <<'LIST'
arith     gpse.test.arith     A000000476677073650101 Arith     A00000047667707365010101 3.0.5 -i
arrays    gpse.test.arrays    A000000476677073650102 Arrays    A00000047667707365010201 3.1.0 -i
flow      gpse.test.flow      A000000476677073650103 Flow      A00000047667707365010301 3.0.5 -debug
objects   gpse.test.objects   A000000476677073650104 Objects   A00000047667707365010401 3.0.5
framework gpse.test.framework A000000476677073650105 Framework A00000047667707365010501 3.0.5
LIST
