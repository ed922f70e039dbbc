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
# (gpapi is built against the GP Card API: build-cap's GPAPI=1, org.globalplatform 1.7.)
while read -r name pkg paid cls aaid tgt flags; do
  [ -z "$name" ] && continue
  gpapi=0
  [ "$name" = gpapi ] && gpapi=1
  # shellcheck disable=SC2086
  GPAPI=$gpapi "$shared/javacard/build-cap" "$here/$name/src" "$pkg" "$paid" 1.0 "$pkg.$cls" "$aaid" "$tgt" "$tmp/$name" $flags >/dev/null
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
txn       gpse.test.txn       A000000476677073650106 Txn       A00000047667707365010601 3.0.5
multi     gpse.test.multi     A00000047667707365010B Multi     A00000047667707365010B01 3.0.5
crypto    gpse.test.crypto    A00000047667707365010A Crypto    A00000047667707365010A01 3.0.5
gpapi     gpse.test.gpapi     A00000047667707365010C GpApi     A00000047667707365010C01 3.0.5
kat       gpse.test.kat       A00000047667707365010D Kat       A00000047667707365010D01 3.0.5
LIST

# Packages that import other project packages, and a library (no applet): the converter is
# called as build-cap calls it, with the classes and export files of the packages imported.
# name package package-AID applet-class|- applet-AID|- target imports...
kit=$shared/javacard/kit
cp_tools=$kit/lib/tools.jar:$kit/lib/commons-cli-1.9.0.jar:$kit/lib/json.jar:$kit/lib/jctasks_tools.jar
jc() { echo "$1" | sed 's/../0x&:/g; s/:$//'; }
while read -r name pkg paid cls aaid tgt deps; do
  [ -z "$name" ] && continue
  o=$tmp/$name
  mkdir -p "$o/classes"
  cp=$kit/lib/api_classic-$tgt.jar
  exp=""
  for d in $deps; do
    cp=$cp:$tmp/$d/classes
    exp=${exp:+$exp:}$tmp/$d
  done
  javac --release 8 -g -nowarn -Xlint:none -cp "$cp" -d "$o/classes" $(find "$here/$name/src" -name '*.java') 2>&1 \
    | grep -v -E '^(warning|Note|[0-9]+ warning)' >&2 || true
  applet=""
  [ "$cls" != - ] && applet="-applet $(jc "$aaid") $pkg.$cls"
  # shellcheck disable=SC2086
  java -Djc.home="$kit" -cp "$cp_tools" com.sun.javacard.converter.Main -nobanner -classdir "$o/classes" -d "$o" \
    -out CAP EXP JCA ${exp:+-exportpath $exp} $applet -target "$tgt" "$pkg" "$(jc "$paid")" 1.0 >/dev/null
  dir=$o/$(echo "$pkg" | tr . /)/javacard
  dest=${out:+$out/$name}
  dest=${dest:-$here/$name/build}
  mkdir -p "$dest"
  cp "$dir/$name.cap" "$dir/$name.jca" "$dest/"
  echo "$dest/$name.cap"
done <<'LIST'
lib       gpse.test.lib       A000000476677073650107 -      -                        3.0.5
fwserver  gpse.test.fwserver  A000000476677073650108 Server A00000047667707365010801 3.0.5 lib
fwclient  gpse.test.fwclient  A000000476677073650109 Client A00000047667707365010901 3.0.5 lib
LIST
