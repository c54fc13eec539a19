#!/usr/bin/env bash
# screens.sh - issue 16's screen-model goals, as printed figures (not test asserts):
#
#   analyze-prepare         the Analyze screen preparing a dashboard of 12 panels x 10 series
#                           x 10,000 points for a 1,080-px-wide phone: the core buckets every
#                           series per pixel column (min/max/mean/last), the model lays the
#                           panels out in its state, the state is lowered as the app receives
#                           it; release build; goal < 150 ms. `analyze-decode-prepare` is the
#                           same from the /api/ds/query bodies (the JSON decode included)
#   screen-listener-rust    a state update reaching a Rust listener (goal < 5 ms)
#   screen-listener-kotlin  a state update (ProtectScreen.dismiss()) reaching a Kotlin listener
#                           on the JVM through the generated bindings (goal < 5 ms), run by
#                           tests/mobile/kotlin/run.sh (which starts its peers; root)
#
# Prints one `bench NAME: ...` line per figure (tests/bench/all.sh reads them), e.g.
#   bench analyze-prepare: 12 panels x 10 series x 10000 points for 1080 px, median 25.1 ms, ... (goal < 150 ms): met
#
#   tests/bench/screens.sh [--runs N] [--no-kotlin]
#
# Exit status: 0 once measured (a missed goal is a result, not a failure); 1 when a build or a
# measurement failed; 2 on bad arguments. Env: CARGO_TARGET_DIR (default ~/.cache/paaf-target).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"
runs=10
kotlin=1
while (($# > 0)); do
  case $1 in
  --runs) runs=${2:?--runs needs a number}; shift 2 ;;
  --no-kotlin) kotlin=0; shift ;;
  -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "screens.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

echo "screens.sh: release build of paaf-mobile's benchmarks (mobile/src/screens/bench.rs)" >&2
PAAF_BENCH_RUNS=$runs nice -n 19 cargo test --quiet --locked --release -p paaf-mobile --lib \
  screens::bench -- --ignored --nocapture --test-threads 1 2>&1 | grep -o 'bench [a-z-]*: .*' ||
  { echo "screens.sh: the Rust benchmarks failed" >&2; exit 1; }

if [ "$kotlin" = 1 ]; then
  PAAF_KOTLIN_CLASSES=dev.paaf.tests.ScreensBench nice -n 19 bash tests/mobile/kotlin/run.sh 2>&1 |
    grep -o 'bench [a-z-]*: .*' || { echo "screens.sh: the Kotlin benchmark failed" >&2; exit 1; }
fi
