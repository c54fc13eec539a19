#!/usr/bin/env bash
# mobile.sh - benchmark the mobile library (paaf-mobile):
#
#   library size   the stripped cdylib of the `mobile` profile (the phone builds' profile:
#                  release, opt-level z, fat LTO) with its default features (`cloud`
#                  included) and mobile/phone-flags.sh, for x86_64 Linux (a proxy for arm64),
#                  once linking the system's OpenSSL as Linux builds do, and once with
#                  `--features vendored-openssl` as the Android and iOS builds do (OpenSSL
#                  inside the library); goal < 10 MB. Linked as phone-flags.sh links it
#                  (identical code folded, no .eh_frame, mobile/build.rs); only
#                  mobile/build-android.sh's APS2 relocations, which a Linux loader cannot
#                  read, are left out: mobile/README.md "Measure" gives what they take off
#   FFI round trip the cost of one call from Python through the generated bindings into the
#                  release library and back, for a call that does almost nothing in Rust
#                  (`Paaf.hosts()` on an empty config: an empty list back), one returning a
#                  record of seven strings (`Paaf.about()`), and one async call awaited from
#                  asyncio (`await Paaf.status([])`); median of --runs batches of --calls
#                  calls, beside a plain Python method call for scale
#
# Prints one line per figure, e.g.
#   bench mobile library-size (vendored OpenSSL): 7.1 MB (goal < 10 MB): met
#   bench mobile ffi-round-trip hosts(): 1.9 us (python method call: 0.04 us)
# Exit status: 0 once measured (a missed goal is a result, not a failure); 1 when a build or
# a measurement failed; 2 on bad arguments. MB here = 10^6 bytes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"
readonly GOAL_MB=10
runs=7
calls=20000
vendored=1

usage() {
  cat <<EOF
Usage: $0 [--runs N] [--calls N] [--no-vendored]

Measures the stripped release size of libpaaf_mobile.so (goal < $GOAL_MB MB) and the cost of
one FFI round trip from Python. --no-vendored skips the build with OpenSSL inside (minutes
the first time).
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
  --runs) runs=${2:-}; shift 2 || true ;;
  --calls) calls=${2:-}; shift 2 || true ;;
  --no-vendored) vendored=""; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1 && runs <= 100)) || { usage >&2; exit 2; }
[[ $calls =~ ^[0-9]+$ ]] && ((calls >= 100 && calls <= 10000000)) || { usage >&2; exit 2; }

size_line() { # size_line LABEL FILE
  local bytes
  bytes=$(stat -c %s "$2")
  awk -v b="$bytes" -v label="$1" -v goal="$GOAL_MB" 'BEGIN {
    mb = b / 1e6
    printf "bench mobile library-size (%s): %.1f MB (goal < %d MB): %s\n", label, mb, goal, (mb < goal ? "met" : "missed")
  }'
}

# The release profile strips symbols (Cargo.toml [profile.release] strip = true); the flags
# are the Android builds' (mobile/phone-flags.sh).
# shellcheck source=mobile/phone-flags.sh
source mobile/phone-flags.sh
echo "building the library, profile mobile (system OpenSSL)" >&2
cargo rustc --quiet --locked --profile mobile -p paaf-mobile --lib --crate-type cdylib
lib=$CARGO_TARGET_DIR/mobile/libpaaf_mobile.so
sizes=("$(size_line "system OpenSSL, linked dynamically" "$lib")")
if [ -n "$vendored" ]; then
  echo "building the library, profile mobile, with OpenSSL inside (vendored-openssl)" >&2
  vendored_dir=$CARGO_TARGET_DIR/phone # the same build as scripts/test.sh tests
  # The cdylib alone, as the Android build links it (mobile/README.md "Measure": with the
  # crate's `lib` type beside it, LTO keeps every public Rust item: 1.1 MB more).
  cargo rustc --quiet --locked --profile mobile -p paaf-mobile --lib --crate-type cdylib \
    --features vendored-openssl --target-dir "$vendored_dir"
  sizes+=("$(size_line "vendored OpenSSL, as on Android and iOS" "$vendored_dir/mobile/libpaaf_mobile.so")")
fi

pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
cp -r mobile/python/paaf "$pkg/paaf"
cp "$lib" "$pkg/paaf/"
PYTHONPATH=$pkg python3 - "$runs" "$calls" "$pkg" <<'EOF'
import asyncio, statistics, sys, time
import paaf

runs, calls, sandbox = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

class Store(paaf.SecretStore):
    def get(self, name): return None
    def set(self, name, value): pass
    def delete(self, name): pass

p = paaf.Paaf.open(paaf.ConfigSource.TEXT(toml="", path=f"{sandbox}/paaf.toml"), Store(), "bench")

class Plain:
    def hosts(self): return []

def per_call_us(fn, n):
    best = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(best)

async def awaited(n):
    start = time.perf_counter()
    for _ in range(n):
        await p.status([])
    return (time.perf_counter() - start) / n * 1e6

plain = per_call_us(Plain().hosts, calls)
hosts = per_call_us(p.hosts, calls)
about = per_call_us(p.about, calls)
async_calls = max(100, calls // 10)
status = statistics.median(asyncio.run(awaited(async_calls)) for _ in range(runs))
print(f"bench mobile ffi-round-trip hosts(): {hosts:.2f} us (python method call: {plain:.3f} us)")
print(f"bench mobile ffi-round-trip about() (record of 7 strings): {about:.2f} us")
print(f"bench mobile ffi-round-trip await status([]) (async, via the library's runtime): {status:.1f} us")
EOF
printf '%s\n' "${sizes[@]}"
