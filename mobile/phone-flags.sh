# phone-flags.sh - the compiler flags of the Android builds, sourced by mobile/build-android.sh
# and tests/bench/mobile.sh (which measures the same library on x86_64).
#
# With the `mobile` profile's panic = "abort" nothing unwinds, so the unwind tables are left
# out: Rust code with `-C force-unwind-tables=no`, the C code (OpenSSL, SQLite, libssh2) with
# -fno-(asynchronous-)unwind-tables, and the C code is optimized for size (-Os). Together with
# the profile this takes about 2 MB off the library. A native crash report then has no unwind
# information for paaf's frames (arm64 keeps frame pointers, so the stack is still walked).
# Apple targets require unwind tables, so mobile/build-ios.sh only takes the C -Os.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C force-unwind-tables=no"
export CFLAGS="${CFLAGS:+$CFLAGS }-Os -fno-asynchronous-unwind-tables -fno-unwind-tables"
