# shellcheck shell=bash
# lib.sh - what the benchmarks in tests/bench share: the peer scripts' helpers (die, note,
# need_root, tcp_open, ...) and a release build of paaf. Sourced, never run; the script that
# sources it sets PROG (its name in messages) first.

# shellcheck source=tests/peers/lib.sh
source "${BASH_SOURCE[0]%/*}/../peers/lib.sh"

# Installs what is missing (scripts/install-deps.sh) and builds paaf in release mode into
# $CARGO_TARGET_DIR (default ~/.cache/paaf-target); sets PAAF to the binary, as cargo names it
# (a cargo wrapper may build elsewhere). PAAF_BENCH_BIN names a prebuilt binary instead. Run
# from the repository's root.
build_release_paaf() {
    note "installing dependencies (scripts/install-deps.sh)"
    scripts/install-deps.sh || die "scripts/install-deps.sh failed"
    if [[ -n ${PAAF_BENCH_BIN:-} ]]; then
        PAAF=$PAAF_BENCH_BIN
    else
        export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}
        note "building paaf (release) in $CARGO_TARGET_DIR"
        PAAF=$(cargo build --release -p paaf-cli --bin paaf --message-format=json-render-diagnostics |
            python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])
') || die "cargo build --release -p paaf-cli failed"
    fi
    [[ -x $PAAF ]] || die "no paaf binary at '$PAAF'"
}
