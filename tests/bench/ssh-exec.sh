#!/usr/bin/env bash
# ssh-exec.sh - benchmark `paaf exec` against OpenSSH's ssh on a loopback host.
#
# Starts a real sshd "host" on 127.0.0.1 (tests/peers/sshd-host.sh) with one
# ed25519 client key, then times two scenarios, alternating the two tools run
# by run (tests/bench/alternate.py):
#
#   fresh-connection  `paaf exec HOST --yes -- true` vs `ssh ... HOST true`;
#                     --runs N samples each; goal: paaf/ssh <= 1.0
#   fresh-same-kex    the same, with ssh forced to ecdh-sha2-nistp256 (the kex
#                     paaf's libssh2 uses), to compare like for like
#   reuse             one `paaf exec HOST --yes -c true` x20 (one connection)
#                     vs 20 separate `ssh ... true` in a row; --rounds M
#                     samples each; goal: paaf/ssh <= 0.2
#
# Prints a table, then one machine-readable line per scenario:
#   bench fresh-connection: paaf 45.1 ms, ssh 52.3 ms, ratio 0.86 (goal <= 1.0)
# Exit status 0 when the measurement ran (a missed goal is a result, not a
# failure); non-zero only when setup or a timed run failed. Debian/Ubuntu, root.

set -euo pipefail

readonly PROG=ssh-exec.sh
readonly REUSE_COMMANDS=20
readonly WARMUP=2
readonly PORT_MIN=43000
readonly PORT_MAX=43999
readonly FRESH_GOAL=1.0
readonly REUSE_GOAL=0.2

usage() {
    cat <<EOF
Usage: $PROG [--runs N] [--rounds M]

Benchmark \`paaf exec\` against OpenSSH ssh on a loopback sshd (run as root).

  --runs N     fresh-connection samples of each tool (default 30)
  --rounds M   reuse samples of each tool, $REUSE_COMMANDS commands each (default 10)
  -h, --help   this help

Builds paaf in release mode (CARGO_TARGET_DIR, default ~/.cache/paaf-target),
starts a test host with tests/peers/sshd-host.sh, prints a table and lines like
  bench fresh-connection: paaf 45.1 ms, ssh 52.3 ms, ratio 0.86 (goal <= $FRESH_GOAL)
Exit status: 0 once measured (even if a goal is missed), 1 on a setup or run
failure, 2 on bad arguments.
EOF
}

# shellcheck source=tests/bench/lib.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

is_count() {
    [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 100000))
}

RUNS=30
ROUNDS=10
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --runs | --rounds)
        (($# >= 2)) || { printf '%s: %s needs a value\n' "$PROG" "$1" >&2; exit 2; }
        is_count "$2" || { printf '%s: %s: not a positive count: %s\n' "$PROG" "$1" "$2" >&2; exit 2; }
        if [[ $1 == --runs ]]; then RUNS=$((10#$2)); else ROUNDS=$((10#$2)); fi
        shift 2
        ;;
    --runs=* | --rounds=*)
        v=${1#*=}
        is_count "$v" || { printf '%s: %s: not a positive count: %s\n' "$PROG" "${1%%=*}" "$v" >&2; exit 2; }
        if [[ $1 == --runs=* ]]; then RUNS=$((10#$v)); else ROUNDS=$((10#$v)); fi
        shift
        ;;
    *)
        printf '%s: unknown argument: %s (see --help)\n' "$PROG" "$1" >&2
        exit 2
        ;;
    esac
done
readonly RUNS ROUNDS

[[ $EUID -eq 0 ]] || die "must run as root (it starts sshd in its own namespaces), not uid $EUID"

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly BENCH_DIR=${SELF%/*}
ROOT=$(cd -- "$BENCH_DIR/../.." && pwd -P)
readonly ROOT
cd -- "$ROOT"
readonly SSHD_HOST=$ROOT/tests/peers/sshd-host.sh
readonly RUNNER=$BENCH_DIR/alternate.py

# ----------------------------------------------------------------- build

build_release_paaf
readonly PAAF
command -v python3 >/dev/null || die "python3 is missing"

# ----------------------------------------------------------------- host

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paaf-bench.XXXXXX") || die "mktemp -d failed"
readonly TMP
readonly HOST_DIR=$TMP/host
HOST_STARTED=0

cleanup() {
    local rc=$?
    if ((HOST_STARTED)); then
        "$SSHD_HOST" stop "$HOST_DIR" || note "could not stop the host in $HOST_DIR"
    fi
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port in PORT_MIN..PORT_MAX nothing listens on, starting at a random one.
free_port() {
    local span=$((PORT_MAX - PORT_MIN + 1)) start i p
    start=$((RANDOM % span))
    for ((i = 0; i < span; i++)); do
        p=$((PORT_MIN + (start + i) % span))
        if ! tcp_open "$p"; then
            printf '%s' "$p"
            return 0
        fi
    done
    return 1
}

note "setting up the test host"
"$SSHD_HOST" setup || die "sshd-host.sh setup failed"

readonly KEY=$TMP/key
ssh-keygen -q -t ed25519 -N '' -C paaf-bench -f "$KEY" </dev/null >/dev/null ||
    die "ssh-keygen failed"
mkdir -p -- "$HOST_DIR"
install -m 0644 -- "$KEY.pub" "$HOST_DIR/authorized_keys"

PORT=
for _ in 1 2 3; do
    PORT=$(free_port) || die "no free port in $PORT_MIN-$PORT_MAX"
    HOST_STARTED=1
    if "$SSHD_HOST" start "$HOST_DIR" "$PORT"; then
        break
    fi
    # Lost a race for the port, most likely: try another one.
    "$SSHD_HOST" stop "$HOST_DIR" >/dev/null 2>&1 || true
    HOST_STARTED=0
    PORT=
done
[[ -n $PORT ]] || die "could not start the test host"
readonly PORT

# ----------------------------------------------------------------- clients

export PAAF_CONFIG=$TMP/paaf/config.toml
mkdir -p -- "$TMP/paaf"
if ! out=$("$PAAF" host add bench --address 127.0.0.1 --port "$PORT" --user paaf-test \
    --key "$KEY" --accept-new-host-key 2>&1); then
    printf '%s\n' "$out" >&2
    die "paaf host add failed"
fi

ssh-keyscan -T 5 -p "$PORT" 127.0.0.1 >"$TMP/known_hosts" 2>/dev/null ||
    die "ssh-keyscan -p $PORT 127.0.0.1 failed"
[[ -s $TMP/known_hosts ]] || die "ssh-keyscan returned no host key"

SSH=(ssh -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes
    -o "UserKnownHostsFile=$TMP/known_hosts" -o StrictHostKeyChecking=yes
    -o ControlMaster=no -o ControlPath=none -F /dev/null -p "$PORT" paaf-test@127.0.0.1)
readonly SSH

# Both must work before anything is timed.
err=$("${SSH[@]}" true 2>&1 </dev/null) || die "ssh to the test host failed: $err"
err=$("$PAAF" exec bench --yes -- true 2>&1 </dev/null) || die "paaf exec on the test host failed: $err"

PAAF_REUSE=("$PAAF" exec bench --yes)
for ((i = 0; i < REUSE_COMMANDS; i++)); do PAAF_REUSE+=(-c true); done
readonly PAAF_REUSE

# ----------------------------------------------------------------- measure

paaf_version=$("$PAAF" --version 2>&1 | head -n 1)
ssh_version=$(ssh -V 2>&1 | head -n 1)
cores=$(nproc)
# What ssh negotiates (OpenSSH 9.x: a post-quantum hybrid kex by default).
ssh_kex=$(ssh -v "${SSH[@]:1}" true 2>&1 </dev/null | sed -n 's/^debug1: kex: algorithm: //p' | head -n 1)
# paaf's journal fsyncs on every action: where it lives matters (tmpfs hides it).
journal_fs=$(df --output=fstype -- "$TMP/paaf" 2>/dev/null | tail -n 1)

cat <<EOF

paaf vs OpenSSH on 127.0.0.1:$PORT (ed25519 key, user paaf-test)
  paaf:   $paaf_version ($PAAF)
  ssh:    $ssh_version (kex ${ssh_kex:-unknown})
  config: $PAAF_CONFIG (journal on ${journal_fs:-unknown})
  cores:  $cores ($(uname -srm))
  runs:   fresh-connection $RUNS per tool, reuse $ROUNDS rounds per tool
          ($REUSE_COMMANDS commands each), alternating, after $WARMUP warm-up runs each

EOF

# Args: label runs a_repeat b_repeat -- A... ::: B...  Prints the runner's TSV line.
measure() {
    local label=$1 runs=$2 arep=$3 brep=$4
    shift 4
    note "measuring $label ..."
    python3 "$RUNNER" --runs "$runs" --warmup "$WARMUP" \
        --a-label paaf --b-label ssh --a-repeat "$arep" --b-repeat "$brep" "$@" ||
        die "the $label measurement failed"
}

fresh=$(measure fresh-connection "$RUNS" 1 1 -- "$PAAF" exec bench --yes -- true ::: "${SSH[@]}" true)
# Like for like: ssh with the key exchange libssh2 (paaf) negotiates, not OpenSSH's heavier
# post-quantum default, so the ratio shows paaf's own cost.
SSH_SAME_KEX=("${SSH[0]}" -o KexAlgorithms=ecdh-sha2-nistp256 "${SSH[@]:1}")
same_kex=$(measure fresh-same-kex "$RUNS" 1 1 -- "$PAAF" exec bench --yes -- true ::: "${SSH_SAME_KEX[@]}" true)
reuse=$(measure reuse "$ROUNDS" 1 "$REUSE_COMMANDS" -- "${PAAF_REUSE[@]}" ::: "${SSH[@]}" true)

# ----------------------------------------------------------------- report

verdict() { # ratio goal
    awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "MISSED" }'
}

row() { # scenario what tsv goal
    local a_med b_med ratio a_min a_max b_min b_max a_mad b_mad
    IFS=$'\t' read -r a_med b_med ratio a_min a_max b_min b_max a_mad b_mad <<<"$3"
    printf '%-17s %-31s %6s %10.1f %8.1f %8.1f %7.1f\n' \
        "$1" "$2" paaf "$a_med" "$a_min" "$a_max" "$a_mad"
    printf '%-17s %-31s %6s %10.1f %8.1f %8.1f %7.1f\n' \
        "" "" ssh "$b_med" "$b_min" "$b_max" "$b_mad"
    printf '%-17s %-31s %6s %10s   ratio paaf/ssh %.2f, goal <= %s: %s\n' \
        "" "" "" "" "$ratio" "$4" "$(verdict "$ratio" "$4")"
}

printf '%-17s %-31s %6s %10s %8s %8s %7s\n' scenario "one sample" tool "median ms" "min" "max" "mad"
printf '%s\n' "$(printf '%.0s-' {1..92})"
row fresh-connection "1 command, new connection" "$fresh" "$FRESH_GOAL"
row fresh-same-kex "same, ssh with ecdh-nistp256" "$same_kex" "$FRESH_GOAL"
row reuse "$REUSE_COMMANDS commands (paaf: 1 process)" "$reuse" "$REUSE_GOAL"
printf '\n'

summary() { # scenario tsv goal
    local a_med b_med ratio
    IFS=$'\t' read -r a_med b_med ratio _ <<<"$2"
    printf 'bench %s: paaf %.1f ms, ssh %.1f ms, ratio %.2f (goal <= %s)\n' \
        "$1" "$a_med" "$b_med" "$ratio" "$3"
}
summary fresh-connection "$fresh" "$FRESH_GOAL"
summary fresh-same-kex "$same_kex" "$FRESH_GOAL"
summary reuse "$reuse" "$REUSE_GOAL"
