#!/usr/bin/env bash
# Builds libpaaf_mobile.so for Android phones and the emulator (release, OpenSSL built from
# source) into mobile/android/paaf/src/main/jniLibs/<abi>/, where the Gradle module `paaf`
# packs it. Not run in CI.
# Needs: the Android NDK (ANDROID_NDK_HOME), cargo-ndk (`cargo install cargo-ndk`) and
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
set -euo pipefail
usage() { echo "usage: $0   (env: ANDROID_NDK_HOME, ANDROID_API default 24)" >&2; }
case "${1:-}" in
"") ;;
-h | --help) usage; exit 0 ;;
*) usage; exit 2 ;;
esac
cd "$(dirname "$0")/.."

command -v cargo-ndk >/dev/null || { echo "cargo-ndk missing: cargo install cargo-ndk" >&2; exit 1; }
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "set ANDROID_NDK_HOME to the NDK" >&2; exit 1; }

# shellcheck source=mobile/phone-flags.sh
source mobile/phone-flags.sh
# The final link: identical code folded, no .eh_frame and tail-merged strings come from
# phone-flags.sh (mobile/build.rs, as on Linux); for Android only (a Linux loader cannot read
# them), relative relocations packed as Android's APS2 (API 23+; RELR would need API 28):
# -0.99 MB measured on x86_64 with `cloud` (mobile/README.md, "Measure"). cargo-ndk passes
# --target, so this reaches the library only, not build scripts or proc macros. Only the cdylib
# is built: with the crate's `lib` (rlib) type beside it, LTO must keep every public Rust item
# for other crates, 1.1 MB more (mobile/README.md, "Measure").
RUSTFLAGS+=" -C link-arg=-Wl,--pack-dyn-relocs=android"
cargo ndk \
  -t aarch64-linux-android -t armv7-linux-androideabi -t x86_64-linux-android \
  --platform "${ANDROID_API:-24}" \
  -o mobile/android/paaf/src/main/jniLibs \
  rustc --profile mobile --locked -p paaf-mobile --lib --crate-type cdylib --features vendored-openssl
echo "built: $(cd mobile/android/paaf/src/main/jniLibs && echo */libpaaf_mobile.so)"
