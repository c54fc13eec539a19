#!/usr/bin/env bash
# Generates the Kotlin, Swift and Python bindings of paaf-mobile (uniffi, library mode) into
# mobile/, where they are checked in:
#   mobile/android/paaf/src/main/kotlin/dev/paaf/{core,mobile}/*.kt   Kotlin (Android library)
#   mobile/ios/Sources/Paaf/*.swift, mobile/ios/Headers/*              Swift + C headers (iOS)
#   mobile/python/paaf/paaf_{core,mobile}.py                            Python (tests, scripts)
#
#   scripts/mobile-bindings.sh           regenerate them
#   scripts/mobile-bindings.sh --check   regenerate into a temporary directory and fail when the
#                                        checked-in files differ (CI)
#
# The bindings depend only on the exported API, not on the build profile or target, so a debug
# build of the host library is enough. Env: CARGO_TARGET_DIR (default ~/.cache/paaf-target).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"

check=""
case "${1:-}" in
"") ;;
--check) check=1 ;;
-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cargo build --quiet --locked -p paaf-mobile -p paaf-uniffi-bindgen
lib=$CARGO_TARGET_DIR/debug/libpaaf_mobile.so
bindgen=$CARGO_TARGET_DIR/debug/uniffi-bindgen

out=mobile
if [ -n "$check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
gen=$(mktemp -d)
trap 'rm -rf "$gen" ${check:+"$out"}' EXIT
for language in kotlin swift python; do
  # -n: no formatter (ktlint, swiftformat): the output is the same on every machine.
  "$bindgen" generate "$lib" --language "$language" --out-dir "$gen/$language" -n >/dev/null
done

place() { # place SRC_DIR DEST_DIR FILE...: replace DEST's generated files with SRC's
  local src=$1 dest=$2
  shift 2
  mkdir -p "$out/$dest"
  for f in "$@"; do cp "$src/$f" "$out/$dest/$f"; done
}
place "$gen/kotlin/dev/paaf/core" android/paaf/src/main/kotlin/dev/paaf/core paaf_core.kt
place "$gen/kotlin/dev/paaf/mobile" android/paaf/src/main/kotlin/dev/paaf/mobile paaf_mobile.kt
place "$gen/swift" ios/Sources/Paaf paaf_core.swift paaf_mobile.swift
place "$gen/swift" ios/Headers paaf_coreFFI.h paaf_coreFFI.modulemap paaf_mobileFFI.h paaf_mobileFFI.modulemap
place "$gen/python" python/paaf paaf_core.py paaf_mobile.py

if [ -n "$check" ]; then
  stale=0
  while IFS= read -r f; do
    if ! cmp -s "$out/$f" "mobile/$f"; then
      echo "stale: mobile/$f" >&2
      stale=1
    fi
  done < <(cd "$out" && find . -type f | sed 's|^\./||' | sort)
  if [ "$stale" -ne 0 ]; then
    echo "the checked-in mobile bindings differ from the exported API: run scripts/mobile-bindings.sh and commit" >&2
    exit 1
  fi
  echo "mobile bindings up to date"
else
  echo "mobile bindings written under mobile/"
fi
