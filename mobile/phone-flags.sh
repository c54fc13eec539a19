# phone-flags.sh - the compiler flags of the Android builds, sourced by mobile/build-android.sh
# and tests/bench/mobile.sh (which measures the same library on x86_64).
#
# With the `mobile` profile's panic = "abort" nothing unwinds, so the unwind tables are left
# out: Rust code with `-C force-unwind-tables=no`, the C code (OpenSSL, SQLite, libssh2) with
# -fno-(asynchronous-)unwind-tables; the C libraries are built as mobile/c-libs.sh says (-Os,
# OpenSSL and SQLite without what paaf never uses). Together with the profile this takes about
# 3 MB off the library. A native crash report then has no unwind information for paaf's frames
# (arm64 keeps frame pointers, so the stack is still walked). Apple targets require unwind
# tables, so mobile/build-ios.sh takes only c-libs.sh. PAAF_PHONE_LINK makes mobile/build.rs
# link the library with identical code folded, no .eh_frame left and tail-merged strings.
# shellcheck source=mobile/c-libs.sh
source "$(dirname "${BASH_SOURCE[0]}")/c-libs.sh"
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C force-unwind-tables=no"
export CFLAGS="$CFLAGS -fno-asynchronous-unwind-tables -fno-unwind-tables"
export PAAF_PHONE_LINK=1
