#!/usr/bin/env bash
# all.sh - every performance goal of the README checked with one command: runs each
# benchmark of tests/bench (and the core's cargo bench) with small run counts, then prints
# one table:
#
#   figure                      paaf       peer                ratio   goal       ok
#   fanout-50                   310.2 ms   pssh 2790.0 ms      0.11    <= 0.25    ✓
#   reboot-notice               120.0 ms   -                   -       <= 500 ms  ✓
#
# A figure without a goal shows "-" in the last columns; a benchmark that failed gets a row
# saying so (its log is kept and named). Small run counts make the figures rougher than a
# benchmark's own defaults: run that script alone for a careful measurement.
#
# Exit status: 0 when every benchmark ran (missed goals are results, shown ✗), 1 when one
# failed, 2 on bad arguments. Debian/Ubuntu, root (the peers' setup).

set -uo pipefail

readonly PROG=all.sh

usage() {
    cat <<EOF
Usage: $PROG [--only LIST] [--skip LIST] [--keep-logs DIR]

Run every benchmark with small run counts and print one table of figure,
paaf, peer, ratio, goal and ✓/✗ (run as root).

  --only LIST      these benchmarks only (comma-separated, names below)
  --skip LIST      all but these
  --keep-logs DIR  keep each benchmark's output in DIR (default: a temporary
                   directory, removed unless a benchmark failed)
  -h, --help       this help

Benchmarks (small run counts):
$(for b in "${BENCHES[@]}"; do printf '  %-10s %s\n' "${b%%|*}" "${b#*|}"; done)

PAAF_BENCH_BIN=PATH makes the scripts that time the paaf binary use that one
instead of a release build; the release build is made once and shared.
EOF
}

# name|command (run from the repository's root)
BENCHES=(
    "ssh-exec|bash tests/bench/ssh-exec.sh --runs 5 --rounds 3"
    "fanout|bash tests/bench/fanout.sh --runs 1 --sizes '50 100 200' --host-list"
    "reboot|bash tests/bench/reboot.sh --runs 1"
    "servers|bash tests/bench/servers.sh --runs 3"
    "protect|bash tests/bench/protect.sh"
    "relay|bash tests/bench/relay.sh --alerts 200 --burst 1000"
    "desktop|bash tests/bench/desktop.sh --runs 1"
    "mobile|bash tests/bench/mobile.sh --runs 3 --calls 2000"
    "screens|bash tests/bench/screens.sh --runs 5"
    "ds-query|cargo bench --locked -p paaf-core --bench ds_query_decode -- --quick"
)

ONLY=""
SKIP=""
LOGS=""
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --only | --skip | --keep-logs)
        (($# >= 2)) || {
            printf '%s: %s needs a value (see --help)\n' "$PROG" "$1" >&2
            exit 2
        }
        case $1 in
        --only) ONLY=$2 ;;
        --skip) SKIP=$2 ;;
        --keep-logs) LOGS=$2 ;;
        esac
        shift 2
        ;;
    *)
        printf '%s: unknown argument: %s (see --help)\n' "$PROG" "$1" >&2
        exit 2
        ;;
    esac
done

names=" "
for b in "${BENCHES[@]}"; do names+="${b%%|*} "; done
for n in ${ONLY//,/ } ${SKIP//,/ }; do
    [[ $names == *" $n "* ]] || {
        printf '%s: no benchmark named %s (see --help)\n' "$PROG" "$n" >&2
        exit 2
    }
done

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly BENCH_DIR=${SELF%/*}
cd -- "$BENCH_DIR/../.." || exit 1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}

keep=1
if [[ -z $LOGS ]]; then
    LOGS=$(mktemp -d "${TMPDIR:-/tmp}/paaf-bench-all.XXXXXX") || exit 1
    keep=0
fi
mkdir -p -- "$LOGS" || exit 1

failed=()
for b in "${BENCHES[@]}"; do
    name=${b%%|*}
    command=${b#*|}
    [[ -n $ONLY && ",$ONLY," != *",$name,"* ]] && continue
    [[ -n $SKIP && ",$SKIP," == *",$name,"* ]] && continue
    printf '%s: %s ...\n' "$PROG" "$name" >&2
    started=$SECONDS
    if bash -c "$command" >"$LOGS/$name.log" 2>&1; then
        printf '%s: %s done in %ds\n' "$PROG" "$name" "$((SECONDS - started))" >&2
    else
        printf '%s: %s FAILED (exit %d; log: %s)\n' "$PROG" "$name" "$?" "$LOGS/$name.log" >&2
        failed+=("$name")
        keep=1
    fi
done

python3 - "$LOGS" "${failed[@]}" <<'EOF'
"""Reads every `bench ...` line (and the cargo bench's report) of the logs into one table."""
import os
import re
import sys

logs, failed = sys.argv[1], set(sys.argv[2:])
NUM = r"(-?[0-9]+(?:\.[0-9]+)?)"
PAIR = re.compile(
    rf"paaf {NUM} ?(\S+), (\S+) {NUM} ?(\S+), ratio {NUM} \(goal (<=|<|>=|>) {NUM}\)"
)
GOAL = re.compile(rf"\(goal (<=|<|>=|>) {NUM} ?([^)]*)\)")
VALUE = re.compile(rf"{NUM} ?([A-Za-z%/]+)?\s*$")


def meets(value, op, goal):
    return {"<=": value <= goal, "<": value < goal, ">=": value >= goal, ">": value > goal}[op]


rows = []


def bench_line(line):
    figure, _, rest = line[len("bench "):].partition(": ")
    m = PAIR.search(rest)
    if m:
        a, au, peer, b, bu, ratio, op, goal = m.groups()
        ok = meets(float(ratio), op, float(goal))
        rows.append((figure, f"{a} {au}", f"{peer} {b} {bu}", ratio, f"{op} {goal}", ok))
        return
    g = GOAL.search(rest)
    if g:
        op, goal, unit = g.groups()
        before = rest[: g.start()].strip().rstrip(",")
        # The figure is the first number in the goal's unit, else the last number before it.
        v = unit and re.search(rf"{NUM} ?({re.escape(unit)})\b", before) or VALUE.search(before)
        if v:
            value, vunit = v.group(1), v.group(2) or ""
            verdict = re.search(r"\): (met|missed)\b", rest, re.IGNORECASE)
            if verdict:
                ok = verdict.group(1).lower() == "met"
            else:
                ok = meets(float(value), op, float(goal))
            rows.append((figure, f"{value} {vunit}".strip(), "-", "-", f"{op} {goal} {unit}".strip(), ok))
            return
    rows.append((figure, rest.strip()[:40], "-", "-", "-", None))


def ds_query(text):
    """The core's cargo bench: throughput, peak heap and speed against a Value-only parse."""
    ours = re.search(rf"decode \+ stats \+ LTTB.*?{NUM} ms\s+{NUM} MB/s.*?\({NUM}x payload; {NUM}x counting", text)
    value = re.search(rf"serde_json::Value parse only\s+{NUM} ms", text)
    if not ours:
        return
    ms, mbs, _, counting = (float(x) for x in ours.groups())
    rows.append(("ds_query decode throughput", f"{mbs:.1f} MB/s", "-", "-", ">= 300 MB/s", mbs >= 300))
    rows.append(("ds_query decode peak heap", f"{counting:.2f}x payload", "-", "-", "<= 2x", counting <= 2))
    if value:
        v = float(value.group(1))
        rows.append(("ds_query decode vs Value parse", f"{ms:.1f} ms", f"Value {v:.1f} ms",
                     f"{ms / v:.2f}", "< 1", ms / v < 1))


for name in sorted(os.listdir(logs)):
    if not name.endswith(".log"):
        continue
    bench = name[: -len(".log")]
    with open(os.path.join(logs, name), errors="replace") as f:
        text = f.read()
    if bench in failed:
        rows.append((bench, "FAILED", "-", "-", "-", False))
        continue
    if bench == "ds-query":
        ds_query(text)
        continue
    for line in text.splitlines():
        if line.startswith("bench "):
            bench_line(line)

headers = ("figure", "paaf", "peer", "ratio", "goal", "ok")
table = [headers] + [
    (f, p, q, r, g, "-" if ok is None else ("✓" if ok else "✗")) for f, p, q, r, g, ok in rows
]
widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
for row in table:
    print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
met = sum(1 for *_, ok in rows if ok)
goals = sum(1 for *_, ok in rows if ok is not None)
print(f"\n{met} of {goals} goals met")
EOF

if ((keep)); then
    printf '%s: logs in %s\n' "$PROG" "$LOGS" >&2
else
    rm -rf -- "$LOGS"
fi
((${#failed[@]} == 0))
