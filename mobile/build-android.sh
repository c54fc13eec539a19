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
# The final link, for Android only (a Linux loader cannot read these relocations): relative
# relocations packed as Android's APS2 (API 23+; RELR would need API 28), identical code folded,
# no .eh_frame (mobile/no-eh-frame.ld), and strings that end another merged (-O2). Measured on
# x86_64 with `cloud`, relinking the same objects: -0.99, -0.17, -0.42 and -0.01 MB
# (mobile/README.md, "Measure"). cargo-ndk passes --target, so these reach the library only,
# not build scripts or proc macros.
RUSTFLAGS+=" -C link-arg=-Wl,--pack-dyn-relocs=android -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-O2"
RUSTFLAGS+=" -C link-arg=-Wl,-T,$PWD/mobile/no-eh-frame.ld"
cargo ndk \
  -t aarch64-linux-android -t armv7-linux-androideabi -t x86_64-linux-android \
  --platform "${ANDROID_API:-24}" \
  -o mobile/android/paaf/src/main/jniLibs \
  build --profile mobile --locked -p paaf-mobile --features vendored-openssl
echo "built: $(cd mobile/android/paaf/src/main/jniLibs && echo */libpaaf_mobile.so)"
