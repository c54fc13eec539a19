# c-libs.sh - how the phone builds build the C libraries inside paaf (OpenSSL, SQLite,
# libssh2), sourced by mobile/phone-flags.sh (Android, the benchmark, CI's phone build) and
# mobile/build-ios.sh.
#
# - The C code is optimized for size (-Os).
# - OpenSSL (built from source by `vendored-openssl`) is configured without the algorithms paaf
#   never uses (mobile/openssl-configure says which). CFLAGS names that script's checksum, as
#   CFLAGS is what makes cargo build OpenSSL again: a changed list takes effect at the next build.
# - SQLite (rusqlite's `bundled`) is built without the full-text search, R*Tree and dbstat
#   modules the journal never uses.
# Together: 1.0 MB less (mobile/README.md, "Measure").
c_libs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OPENSSL_SRC_PERL=$c_libs_dir/openssl-configure
export CFLAGS="${CFLAGS:+$CFLAGS }-Os -DPAAF_OPENSSL_CONFIGURE=$(cksum <"$c_libs_dir/openssl-configure" | cut -d' ' -f1)"
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB"
unset c_libs_dir
