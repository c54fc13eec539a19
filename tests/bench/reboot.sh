#!/usr/bin/env bash
# reboot.sh - benchmark paaf's verified reboot against Ansible's reboot module.
#
# Starts one real sshd "host" on 127.0.0.1 (tests/peers/sshd-host.sh) whose
# reboot takes 3 s (the port refuses, then sshd is back with a new boot id),
# then reboots it with each tool, alternating run by run:
#
#   paaf reboot lab --yes -o json                       (release build)
#   ansible lab -m ansible.builtin.reboot --become      (ansible-core, venv)
#
# Both verify the same way (a new boot id, then `whoami`). Meanwhile
# tests/bench/reboot_watch.py knocks on the port every 5 ms to see when sshd
# answers again, and timestamps paaf's progress events as they arrive.
# Goals: paaf's wall time <= 0.8x Ansible's (median), and paaf notices the host
# (its "back-up" event: logged in again) within 500 ms of sshd answering.
#
# Prints a table, then machine-readable lines:
#   bench reboot: paaf 3900.0 ms, ansible 6900.0 ms, ratio 0.57 (goal <= 0.8)
#   bench reboot-notice: paaf 120.0 ms (goal <= 500 ms)
# Exit status 0 once measured (a missed goal is a result, not a failure); 1 on
# a setup or run failure, 2 on bad arguments. Debian/Ubuntu, root.

set -euo pipefail

readonly PROG=reboot.sh
readonly GOAL=0.8
readonly NOTICE_GOAL_MS=500
readonly DOWN_SECS=3
readonly PORT_MIN=44000
readonly PORT_MAX=44999

usage() {
    cat <<EOF
Usage: $PROG [--runs N]

Benchmark \`paaf reboot\` against Ansible's reboot module on a loopback sshd
host whose reboot takes ${DOWN_SECS}s (run as root).

  --runs N     reboots with each tool (default 3)
  -h, --help   this help

Builds paaf in release mode (CARGO_TARGET_DIR; PAAF_BENCH_BIN=PATH uses that
binary instead), installs ansible-core in a venv, prints a table and lines like
  bench reboot: paaf 3900.0 ms, ansible 6900.0 ms, ratio 0.57 (goal <= $GOAL)
  bench reboot-notice: paaf 120.0 ms (goal <= $NOTICE_GOAL_MS ms)
EOF
}

# shellcheck source=tests/bench/lib.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

bad_arg() {
    printf '%s: %s (see --help)\n' "$PROG" "$*" >&2
    exit 2
}

RUNS=3
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --runs)
        (($# >= 2)) || bad_arg "--runs needs a value"
        RUNS=$2
        shift 2
        ;;
    *) bad_arg "unknown argument: $1" ;;
    esac
done
[[ $RUNS =~ ^[0-9]+$ ]] && ((10#$RUNS >= 1 && 10#$RUNS <= 100)) ||
    bad_arg "--runs: not a count from 1 to 100: $RUNS"
readonly RUNS

need_root

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly BENCH_DIR=${SELF%/*}
ROOT=$(cd -- "$BENCH_DIR/../.." && pwd -P)
readonly ROOT
cd -- "$ROOT"
readonly SSHD_HOST=$ROOT/tests/peers/sshd-host.sh
readonly WATCH=$BENCH_DIR/reboot_watch.py

build_release_paaf
readonly PAAF
ansible_venv
readonly ANSIBLE

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paaf-reboot.XXXXXX") || die "mktemp -d failed"
readonly TMP
readonly HOST=$TMP/host
STARTED=0
cleanup() {
    local rc=$?
    ((STARTED)) && "$SSHD_HOST" stop "$HOST" >/dev/null 2>&1
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

note "setting up the test host"
"$SSHD_HOST" setup || die "sshd-host.sh setup failed"
readonly KEY=$TMP/key
ssh-keygen -q -t ed25519 -N '' -C paaf-bench -f "$KEY" </dev/null >/dev/null || die "ssh-keygen failed"
mkdir -p -- "$HOST"
install -m 0644 -- "$KEY.pub" "$HOST/authorized_keys"
printf '%s\n' "$DOWN_SECS" >"$HOST/down_secs"
PORT=
for _ in {1..20}; do
    p=$((PORT_MIN + RANDOM % (PORT_MAX - PORT_MIN)))
    tcp_open "$p" && continue
    STARTED=1
    if "$SSHD_HOST" start "$HOST" "$p" >/dev/null; then
        PORT=$p
        break
    fi
    STARTED=0
done
[[ -n $PORT ]] || die "could not start the test host"
readonly PORT

read -r kind b64 _ <"$HOST/ssh_host_ed25519_key.pub"
printf '[127.0.0.1]:%d %s %s\n' "$PORT" "$kind" "$b64" >"$TMP/known_hosts"
export PAAF_CONFIG=$TMP/paaf/config.toml
mkdir -p -- "$TMP/paaf"
cat >"$PAAF_CONFIG" <<CONF
known_hosts = "$TMP/known_hosts"

[[hosts]]
name = "lab"
address = "127.0.0.1"
port = $PORT
user = "paaf-test"
auth = { type = "key", path = "$KEY" }
CONF
printf "lab ansible_host=127.0.0.1 ansible_port=%d ansible_user=paaf-test ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'\n" \
    "$PORT" "$KEY" "$TMP/known_hosts" >"$TMP/inventory"
ansible_env "$TMP/ansible"

paaf_cmd=("$PAAF" reboot lab --yes -o json)
ansible_cmd=("$ANSIBLE" lab -i "$TMP/inventory" -m ansible.builtin.reboot --become)

# Both must reboot the host before anything is timed (the warm-up).
"${paaf_cmd[@]}" </dev/null >/dev/null 2>"$TMP/err" || {
    cat "$TMP/err" >&2
    die "paaf reboot failed"
}
"${ansible_cmd[@]}" </dev/null >"$TMP/err" 2>&1 || {
    cat "$TMP/err" >&2
    die "ansible's reboot failed"
}

printf '\npaaf vs Ansible: a verified reboot of a loopback sshd host down for %ss\n' "$DOWN_SECS"
printf '  paaf:     %s (%s)\n' "$("$PAAF" --version 2>&1 | head -n 1)" "$PAAF"
printf '  ansible:  ansible-core %s (ansible.builtin.reboot), %s\n' "$ANSIBLE_CORE_VERSION" \
    "$(ssh -V 2>&1 | head -n 1)"
printf '  cores:    %s (%s), load %s\n' "$(nproc)" "$(uname -srm)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  runs:     %s per tool, alternating, after 1 warm-up each\n\n' "$RUNS"

: >"$TMP/paaf.tsv"
: >"$TMP/ansible.tsv"
for ((run = 1; run <= RUNS; run++)); do
    order=(paaf ansible)
    ((run % 2 == 0)) && order=(ansible paaf)
    for tool in "${order[@]}"; do
        note "run $run/$RUNS: $tool"
        if [[ $tool == paaf ]]; then
            python3 "$WATCH" --port "$PORT" --notice-marker '"step":"back-up"' -- "${paaf_cmd[@]}" \
                >>"$TMP/paaf.tsv" || die "paaf reboot failed in run $run"
        else
            python3 "$WATCH" --port "$PORT" -- "${ansible_cmd[@]}" \
                >>"$TMP/ansible.tsv" || die "ansible's reboot failed in run $run"
        fi
    done
done

median() { # COLUMN FILE
    cut -f "$1" "$2" | sort -n | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

verdict() { # value goal
    awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "MISSED" }'
}

paaf_wall=$(median 1 "$TMP/paaf.tsv")
ansible_wall=$(median 1 "$TMP/ansible.tsv")
paaf_notice=$(median 3 "$TMP/paaf.tsv")
paaf_tail=$(median 4 "$TMP/paaf.tsv")
ansible_tail=$(median 4 "$TMP/ansible.tsv")
ratio=$(awk -v a="$paaf_wall" -v b="$ansible_wall" 'BEGIN { printf "%.2f", a / b }')

printf '%-8s %14s %28s\n' tool "wall ms (med)" "sshd back -> done, ms (med)"
printf '%s\n' "$(printf '%.0s-' {1..52})"
printf '%-8s %14.1f %28.1f\n' paaf "$paaf_wall" "$paaf_tail"
printf '%-8s %14.1f %28.1f\n' ansible "$ansible_wall" "$ansible_tail"
printf '\nratio paaf/ansible %s, goal <= %s: %s\n' "$ratio" "$GOAL" "$(verdict "$ratio" "$GOAL")"
printf 'paaf noticed the host %.1f ms after its sshd answered (median), goal <= %s ms: %s\n\n' \
    "$paaf_notice" "$NOTICE_GOAL_MS" "$(verdict "$paaf_notice" "$NOTICE_GOAL_MS")"
printf 'bench reboot: paaf %.1f ms, ansible %.1f ms, ratio %s (goal <= %s)\n' \
    "$paaf_wall" "$ansible_wall" "$ratio" "$GOAL"
printf 'bench reboot-notice: paaf %.1f ms (goal <= %s ms)\n' "$paaf_notice" "$NOTICE_GOAL_MS"
