#!/usr/bin/env bash
# Builds libpaaf_mobile.a for iOS devices and the Apple-silicon simulator (release, OpenSSL
# built from source) and packs them with the generated headers into
# mobile/ios/PaafFFI.xcframework, the binary target of the Swift package in mobile/ios.
# Not run in CI. Needs: macOS with Xcode, and
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim
set -euo pipefail
usage() { echo "usage: $0" >&2; }
case "${1:-}" in
"") ;;
-h | --help) usage; exit 0 ;;
*) usage; exit 2 ;;
esac
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}

# The C libraries as mobile/c-libs.sh builds them (-Os, OpenSSL and SQLite trimmed); unwind
# tables stay (Apple requires them), see mobile/phone-flags.sh for the Android builds.
# shellcheck source=mobile/c-libs.sh
source mobile/c-libs.sh
targets=(aarch64-apple-ios aarch64-apple-ios-sim)
for target in "${targets[@]}"; do
  # The static library alone: beside the crate's `lib` (rlib) type LTO keeps every public
  # Rust item (mobile/README.md, "Measure").
  cargo rustc --profile mobile --locked -p paaf-mobile --lib --crate-type staticlib \
    --features vendored-openssl --target "$target"
done

# One module.modulemap for both modules (paaf_coreFFI, paaf_mobileFFI): an XCFramework's
# headers directory is searched for exactly that file name.
headers=$(mktemp -d)
trap 'rm -rf "$headers"' EXIT
cp mobile/ios/Headers/*.h "$headers/"
for map in mobile/ios/Headers/*.modulemap; do cat "$map"; echo; done >"$headers/module.modulemap"

out=mobile/ios/PaafFFI.xcframework
rm -rf "$out"
args=()
for target in "${targets[@]}"; do
  args+=(-library "$target_dir/$target/mobile/libpaaf_mobile.a" -headers "$headers")
done
xcodebuild -create-xcframework "${args[@]}" -output "$out"
echo "built: $out"
