#!/usr/bin/env bash
# The "bad input" fault campaign: runs every fuzz target (or the ones named) for SECONDS each
# (default 600), one after the other under `nice -n 19`, on its corpus (corpus/TARGET/), and
# prints per target the inputs run and the crashes found (saved in artifacts/TARGET/; the
# fuzzer's output is in logs/TARGET.log). --keep-going uses libFuzzer's fork mode, which goes on
# after a crash to find the others.
#   fuzz/run-campaign.sh [--seconds N] [--keep-going] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=600
keep_going=()
targets=()
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift ;;
        --keep-going) keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1) ;;
        -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
# libFuzzer and the sanitizer need nightly Rust and cargo-fuzz.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
((${#targets[@]})) || mapfile -t targets < <(cargo +nightly fuzz list)
nice -n 19 cargo +nightly fuzz build
mkdir -p logs
crashes() { mkdir -p "artifacts/$1" && find "artifacts/$1" -name 'crash-*' | wc -l; }
for target in "${targets[@]}"; do
    before=$(crashes "$target")
    nice -n 19 cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 \
        "${keep_going[@]}" >"logs/$target.log" 2>&1 || true
    runs=$(grep -oE '^#[0-9]+' "logs/$target.log" | tail -1 | tr -d '#')
    printf '%-18s %10s inputs %4s crashes\n' "$target" "${runs:-0}" "$(($(crashes "$target") - before))"
done
