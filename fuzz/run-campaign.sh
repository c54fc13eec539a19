#!/usr/bin/env bash
# The "bad input" fault campaign: runs every fuzz target (or the ones named) for SECONDS each
# (default 600) under `nice -n 19`, LANES at a time (default 1), on its corpus (corpus/TARGET/),
# and prints per target the inputs run, the wall time, the crashes, timeouts and out-of-memory
# inputs found (saved in artifacts/TARGET/) and the corpus size; the fuzzer's output is in
# logs/TARGET.log. --keep-going uses libFuzzer's fork mode, which goes on after a crash to find
# the others.
#   fuzz/run-campaign.sh [--seconds N] [--lanes N] [--keep-going] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=600
lanes=1
keep_going=()
targets=()
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift ;;
        --lanes) lanes=$2; shift ;;
        --keep-going) keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1) ;;
        -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
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
found() { find "artifacts/$1" -name "$2-*" | wc -l; }

run() {
    local target=$1 start crash timeout oom runs
    mkdir -p "artifacts/$target" "corpus/$target"
    crash=$(found "$target" crash) timeout=$(found "$target" timeout) oom=$(found "$target" oom)
    start=$(date +%s)
    nice -n 19 cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 \
        "${keep_going[@]}" >"logs/$target.log" 2>&1 || true
    runs=$(grep -oE '^#[0-9]+' "logs/$target.log" | tail -1 | tr -d '#')
    printf '%-18s %10s inputs %5ss %3s crashes %3s timeouts %3s ooms %6s in corpus\n' \
        "$target" "${runs:-0}" "$(($(date +%s) - start))" \
        "$(($(found "$target" crash) - crash))" "$(($(found "$target" timeout) - timeout))" \
        "$(($(found "$target" oom) - oom))" "$(find "corpus/$target" -type f | wc -l)"
}

# Lane i runs targets i, i+LANES, i+2×LANES…
for ((lane = 0; lane < lanes; lane++)); do
    (
        for ((i = lane; i < ${#targets[@]}; i += lanes)); do
            run "${targets[i]}"
        done
    ) &
done
wait
