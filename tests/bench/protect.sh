#!/usr/bin/env bash
# protect.sh - issue 15's Protect goal: 10 independent steps with `parallel = true` take at
# most 1.3x the slowest of the same steps run one by one.
#
# Runs the ignored test `bench_protect_with_10_parallel_steps` (tests/tests/incident.rs)
# against a real Unleash (tests/peers/unleash.sh): 10 kill-switch flags turned off by a
# playbook one by one, then by the same steps in parallel, through the `paaf` CLI, three
# rounds; prints each round and one machine-readable line:
#   bench protect parallel: 10 steps, median ratio wall/slowest step 1.12 (goal <= 1.3): met
# With PAAF_BENCH_BEFORE=PATH (a `paaf` built before a change, e.g. from main), each round
# runs that binary too, alternating with the current one, and prints both:
#   bench protect parallel (before): ...    bench protect parallel (after): ...
# Each round also times the peer alone (the same 10 on/off POSTs sent one by one, then at
# once, with no paaf), its floor:
#   bench protect peer: 10 raw POSTs at once / slowest alone, median 4.80
# Unleash runs in one Node process that handles one request at a time: when that line is far
# above 1.3, so is paaf's ratio, whatever paaf does.
# A second figure per build divides the parallel wall by the slowest step of that same
# parallel run (the steps' own durations, from the report): near 1 when the wall is the steps'
# own time, however slow the peer made them; above it by what paaf adds around the steps:
#   bench protect parallel (after): 10 steps, median wall/slowest step of the parallel run itself 1.04
# And, per build, the medians of the figures each round prints from that same round: the
# parallel wall, its slowest step, one step alone (the slowest of the 10 run one by one), the
# peer's own 10 POSTs at once (and its ratio to one alone), and what paaf adds over the peer
# (the wall minus the peer's own 10 at once; paaf sends each step's read before and read back
# too, the parallel steps' reads before as one request per service):
#   bench protect parallel (after): 10 steps, medians: wall 420 ms, slowest step inside 400 ms,
#     one step alone 120 ms, peer 10 at once 300 ms (2.9x one), paaf over the peer 120 ms
# PAAF_TEST_BIN=PATH runs that `paaf` as the current build (tests/src/lib.rs).
# Exit status 0 when measured (a missed goal is a result, not a failure); non-zero, with the
# run's output, when it failed. Debian/Ubuntu, root (the peers' setup). Builds the test
# profile, as the tests do.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"
log=$(mktemp /tmp/paaf-bench-protect.XXXXXX)
trap 'rm -f -- "$log"' EXIT
# cargo test, not nextest: no per-test time limit for a benchmark on a busy machine.
if ! cargo test --locked -p paaf-tests --test incident bench_protect_with_10_parallel_steps \
    -- --ignored --nocapture >"$log" 2>&1; then
    tail -n 60 -- "$log" >&2
    exit 1
fi
grep -E '^(round|bench protect)' -- "$log"
