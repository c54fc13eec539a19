#!/usr/bin/env bash
# fanout.sh - benchmark `paaf exec` on many hosts against parallel-ssh and Ansible.
#
# Starts real sshd "hosts" on 127.0.0.1 once, as many as the largest size
# (tests/peers/sshd-host.sh fleet-start, each in its own namespaces, all with one
# ed25519 client key; the smaller sizes are its first hosts), then times one
# command, `cat /proc/sys/kernel/random/boot_id`, on each fleet size, alternating
# paaf with each peer run by run (tests/bench/alternate.py):
#
#   paaf exec --group first-N --yes --parallel P -o tsv -- cat …   (release build;
#                                       tsv is what it prints into a pipe anyway)
#   parallel-ssh -p P -i -h HOSTS -- cat …                  (Debian pssh)
#   ansible all -i HOSTS -f P -m command -a 'cat …'         (ansible-core, venv;
#                                       pipelining, a fresh connection per host)
#
# All read the same known_hosts and key; each sample is one whole command
# (process start, N connections, N commands, output). Goals: paaf/pssh <= 0.25,
# paaf/ansible <= 0.05; paaf's peak RSS at each size (goal < 100 MB); from the
# smallest to the largest size, each tool's time grows less than the host count.
# --host-list also times `paaf host list --group first-MAX` (live status with
# metrics of every host of the largest size; goal < 2 s), median of --runs.
#
# The figures of issue 17 (50, 100 and 200 hosts, release build; ~14 min with Ansible on the
# 2-core machine, of which ~1 min starts the 200 hosts; PAAF_BENCH_BIN=PATH skips the build):
#   bash tests/bench/fanout.sh --runs 3 --sizes "50 100 200" --host-list
#
# A host that fails or times out in a run is a result, not the end of the
# benchmark: every run's output is kept (a small bash wrapper around each timed
# command, the same for every tool), the hosts each tool failed on are counted
# and named, and the measurement goes on. Only a run that reports no result for
# every host (the tool itself broke) stops it. --unreachable K points the first
# K hosts at an address nothing listens on, to see that path.
#
# Prints a table, then one machine-readable line per size and peer:
#   bench fanout-50: paaf 310.2 ms, pssh 2790.0 ms, ratio 0.11 (goal <= 0.25)
#   bench fanout-ansible-50: paaf 310.2 ms, ansible 9800.0 ms, ratio 0.03 (goal <= 0.05)
#   bench fanout-failed-50: paaf 0 hosts, pssh 0 hosts, ansible 0 hosts (most in one run)
#   bench fanout-rss-50: paaf 12.3 MB (goal < 100 MB)
#   bench fanout-growth-50-200: paaf 1.90x the time for 4.0x the hosts (goal < 4.0x)
#   bench hostlist-200: paaf 850.0 ms (goal < 2000 ms)
# Exit status 0 once measured (a missed goal is a result, not a failure);
# 1 on a setup or run failure, 2 on bad arguments. Debian/Ubuntu, root.

set -euo pipefail

readonly PROG=fanout.sh
readonly WARMUP=1
readonly GOAL=0.25
readonly ANSIBLE_GOAL=0.05
readonly RSS_GOAL_MB=100
readonly HOSTLIST_GOAL_MS=2000
readonly COMMAND="cat /proc/sys/kernel/random/boot_id"
# Below Linux's ephemeral ports (32768-60999), which outgoing connections take.
readonly PORT_MIN=10000
readonly PORT_MAX=32000

usage() {
    cat <<EOF
Usage: $PROG [--runs N] [--sizes "50 100 200"] [--parallel P] [--no-ansible]
       [--unreachable K] [--host-list]

Benchmark \`paaf exec\` on many loopback sshd hosts against parallel-ssh and
Ansible ad-hoc (run as root).

  --runs N       samples of each tool per size (default 5)
  --sizes LIST   fleet sizes, space-separated (default "50 100 200"); the largest
                 is started once, the smaller ones are its first hosts
  --parallel P   hosts at once, for every tool (default 64, paaf's default;
                 Ansible's forks)
  --no-ansible   leave Ansible out (it takes ~10 s a run at 50 hosts)
  --unreachable K
                 the first K hosts get an address nothing listens on
                 (default 0): failed hosts are counted and named, and the
                 run goes on
  --host-list    also time \`paaf host list\` (status and metrics) of every
                 host of the largest size, median of --runs (goal < ${HOSTLIST_GOAL_MS} ms)
  -h, --help     this help

Builds paaf in release mode (CARGO_TARGET_DIR, default ~/.cache/paaf-target;
PAAF_BENCH_BIN=PATH uses that binary instead), installs parallel-ssh with
scripts/install-deps.sh and ansible-core in a venv, prints a table and lines like
  bench fanout-50: paaf 310.2 ms, pssh 2790.0 ms, ratio 0.11 (goal <= $GOAL)
  bench fanout-ansible-50: paaf 310.2 ms, ansible 9800.0 ms, ratio 0.03 (goal <= $ANSIBLE_GOAL)
  bench fanout-failed-50: paaf 0 hosts, pssh 0 hosts, ansible 0 hosts (most in one run)
  bench fanout-rss-50: paaf 12.3 MB (goal < $RSS_GOAL_MB MB)
  bench fanout-growth-50-200: paaf 1.90x the time for 4.0x the hosts (goal < 4.0x)
  bench hostlist-200: paaf 850.0 ms (goal < $HOSTLIST_GOAL_MS ms)
Exit status: 0 once measured (even if a goal is missed or hosts failed), 1 on
a setup failure or a run that reported no result for every host, 2 on bad
arguments.
EOF
}

# shellcheck source=tests/bench/lib.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

bad_arg() {
    printf '%s: %s (see --help)\n' "$PROG" "$*" >&2
    exit 2
}

is_count() {
    [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 1000))
}

RUNS=5
SIZES="50 100 200"
PARALLEL=64
WITH_ANSIBLE=1
UNREACHABLE=0
HOST_LIST=0
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --no-ansible)
        WITH_ANSIBLE=0
        shift
        ;;
    --host-list)
        HOST_LIST=1
        shift
        ;;
    --runs | --sizes | --parallel | --unreachable)
        (($# >= 2)) || bad_arg "$1 needs a value"
        case $1 in
        --runs) RUNS=$2 ;;
        --sizes) SIZES=$2 ;;
        --parallel) PARALLEL=$2 ;;
        --unreachable) UNREACHABLE=$2 ;;
        esac
        shift 2
        ;;
    *) bad_arg "unknown argument: $1" ;;
    esac
done
is_count "$RUNS" || bad_arg "--runs: not a count from 1 to 1000: $RUNS"
is_count "$PARALLEL" || bad_arg "--parallel: not a count from 1 to 1000: $PARALLEL"
read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]} > 0)) || bad_arg "--sizes: give at least one size"
MAX=0
for n in "${SIZE_LIST[@]}"; do
    is_count "$n" || bad_arg "--sizes: not a count from 1 to 1000: $n"
    ((10#$n > MAX)) && MAX=$((10#$n))
done
[[ $UNREACHABLE =~ ^[0-9]+$ ]] && ((10#$UNREACHABLE <= MAX)) ||
    bad_arg "--unreachable: not a count from 0 to the largest size ($MAX): $UNREACHABLE"
UNREACHABLE=$((10#$UNREACHABLE))
readonly RUNS PARALLEL MAX WITH_ANSIBLE UNREACHABLE HOST_LIST

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
command -v parallel-ssh >/dev/null || die "parallel-ssh is missing (Debian package pssh)"
if ((WITH_ANSIBLE)); then
    ansible_venv
fi

# ----------------------------------------------------------------- hosts

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paaf-fanout.XXXXXX") || die "mktemp -d failed"
readonly TMP
readonly FLEET=$TMP/fleet
FLEET_STARTED=0

cleanup() {
    local rc=$?
    if ((FLEET_STARTED)); then
        stop_fleet || note "could not stop every host in $FLEET"
    fi
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The first of MAX consecutive ports nothing listens on, from a random start.
free_run() {
    local start p ok
    for _ in {1..50}; do
        start=$((PORT_MIN + RANDOM % (PORT_MAX - PORT_MIN - MAX)))
        ok=1
        for ((p = start; p < start + MAX; p++)); do
            if tcp_open "$p"; then
                ok=0
                break
            fi
        done
        if ((ok)); then
            printf '%s' "$start"
            return 0
        fi
    done
    return 1
}

note "setting up the test hosts"
"$SSHD_HOST" setup || die "sshd-host.sh setup failed"
readonly KEY=$TMP/key
ssh-keygen -q -t ed25519 -N '' -C paaf-bench -f "$KEY" </dev/null >/dev/null ||
    die "ssh-keygen failed"

host_dir() { # I (1-based)
    printf '%s/host-%d' "$FLEET" "$1"
}

stop_fleet() {
    "$SSHD_HOST" fleet-stop "$FLEET"
}

start_fleet() { # BASE
    for ((i = 1; i <= MAX; i++)); do
        mkdir -p -- "$(host_dir "$i")"
        install -m 0644 -- "$KEY.pub" "$(host_dir "$i")/authorized_keys"
    done
    "$SSHD_HOST" fleet-start "$FLEET" "$1" "$MAX"
}

BASE=
for _ in 1 2 3; do
    BASE=$(free_run) || die "no $MAX free consecutive ports in $PORT_MIN-$PORT_MAX"
    note "starting $MAX hosts on 127.0.0.1:$BASE-$((BASE + MAX - 1))"
    FLEET_STARTED=1
    started_ms=$(now_ms)
    if start_fleet "$BASE"; then
        note "$MAX hosts up in $(awk -v ms="$(($(now_ms) - started_ms))" 'BEGIN { printf "%.1f", ms / 1000 }') s"
        break
    fi
    # Lost a race for a port, or the machine is too busy: stop them, try again.
    stop_fleet >/dev/null 2>&1 || true
    FLEET_STARTED=0
    BASE=
done
[[ -n $BASE ]] || die "could not start $MAX test hosts"
readonly BASE

# ----------------------------------------------------------------- clients

# The hosts listen on 127.0.0.1 only: an --unreachable host gets another loopback address
# (its own, so every tool names it apart), where its port is refused at once.
host_addr() { # I (1-based)
    if (($1 <= UNREACHABLE)); then
        printf '127.1.%d.%d' "$(($1 / 250))" "$(($1 % 250 + 1))"
    else
        printf '127.0.0.1'
    fi
}

# One config: host h-I is in group first-N for every size N >= I.
export PAAF_CONFIG=$TMP/paaf/config.toml
mkdir -p -- "$TMP/paaf"
: >"$TMP/known_hosts"
{
    for ((i = 1; i <= MAX; i++)); do
        port=$((BASE + i - 1))
        groups=()
        for n in "${SIZE_LIST[@]}"; do
            ((i <= 10#$n)) && groups+=("\"first-$((10#$n))\"")
        done
        printf '[[hosts]]\nname = "h-%d"\naddress = "%s"\nport = %d\nuser = "paaf-test"\n' "$i" "$(host_addr "$i")" "$port"
        printf 'auth = { type = "key", path = "%s" }\ngroups = [%s]\n' "$KEY" "$(IFS=,; printf '%s' "${groups[*]}")"
        read -r kind b64 _ <"$(host_dir "$i")/ssh_host_ed25519_key.pub"
        printf '[127.0.0.1]:%d %s %s\n' "$port" "$kind" "$b64" >>"$TMP/known_hosts"
    done
    printf 'known_hosts = "%s"\n' "$TMP/known_hosts"
} >"$TMP/paaf/hosts.toml"
# known_hosts is a top-level key: it goes before the first table.
{ tail -n 1 "$TMP/paaf/hosts.toml"; head -n -1 "$TMP/paaf/hosts.toml"; } >"$PAAF_CONFIG"

for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    for ((i = 1; i <= n; i++)); do
        printf 'paaf-test@%s:%d\n' "$(host_addr "$i")" "$((BASE + i - 1))"
    done >"$TMP/pssh-$n"
done

for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    for ((i = 1; i <= n; i++)); do
        printf 'h-%d ansible_host=%s ansible_port=%d\n' "$i" "$(host_addr "$i")" "$((BASE + i - 1))"
    done >"$TMP/ansible-$n"
done
if ((WITH_ANSIBLE)); then
    ansible_env "$TMP/ansible"
    # One connection per host, as paaf and pssh make: the module piped into one ssh
    # session, and no control master kept for the next sample.
    export ANSIBLE_PIPELINING=True ANSIBLE_SSH_ARGS="-o ControlMaster=no -o ControlPath=none"
    export ANSIBLE_REMOTE_USER=paaf-test ANSIBLE_PRIVATE_KEY_FILE=$KEY
    export ANSIBLE_SSH_COMMON_ARGS="-o IdentitiesOnly=yes -o UserKnownHostsFile=$TMP/known_hosts -o StrictHostKeyChecking=yes"
fi

PSSH_SSH_ARGS="-i $KEY -F /dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$TMP/known_hosts -o StrictHostKeyChecking=yes -o ControlMaster=no -o ControlPath=none"

paaf_cmd() { # size
    printf '%s\0' "$PAAF" exec --group "first-$1" --yes --parallel "$PARALLEL" -o tsv -- "$COMMAND"
}

pssh_cmd() { # size
    printf '%s\0' parallel-ssh -i -p "$PARALLEL" -t 60 -h "$TMP/pssh-$1" -x "$PSSH_SSH_ARGS" -- "$COMMAND"
}

ansible_cmd() { # size
    printf '%s\0' "$ANSIBLE" all -i "$TMP/ansible-$1" -f "$PARALLEL" -m ansible.builtin.command -a "$COMMAND"
}

# Every run goes through this: its output is kept to count the hosts it failed on, and a run
# where some hosts failed (each tool exits non-zero then) is a sample like any other instead
# of the end of alternate.py. Runs with no result for every host are found when read back.
readonly RUNS_DIR=$TMP/runs
cat >"$TMP/keep-run.sh" <<'EOF'
out=$1/run-${EPOCHREALTIME/./}-$$
shift
"$@" >"$out"
echo "$?" >"$out.rc"
EOF

kept() { # DIR ARGV... (NUL-separated on stdout, for mapfile -d '')
    mkdir -p -- "$1"
    printf '%s\0' bash "$TMP/keep-run.sh" "$@"
}

# Reads back the runs in DIR of TOOL (paaf|pssh|ansible) on N hosts. Prints: runs, fewest
# and most hosts failed in one run, the hosts that failed in any run ("-": none). A run with
# no result for every host (the tool broke, not a host) has its output shown, status 1.
tally_runs() { # TOOL N DIR
    python3 - "$1" "$2" "$3" "$TMP/pssh-$2" <<'EOF'
import glob, re, sys

tool, n, runs_dir, pssh_hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# pssh names a host by its address; the same line of its host file is h-LINE.
pssh_name = {l.strip(): f"h-{i}" for i, l in enumerate(open(pssh_hosts), 1)}


def failed(text):
    """The hosts a run failed on, or None when it did not report every host."""
    if tool == "paaf":
        # -o tsv: HOST RESULT EXIT MS OUTPUT, a row per host; RESULT `exit 0` is success.
        rows = [l.split("\t") for l in text.splitlines()[1:]]
        if len(rows) != n or any(len(r) < 2 for r in rows):
            return None
        return [r[0] for r in rows if r[1] != "exit 0"]
    if tool == "pssh":
        seen = re.findall(r"^\[\d+\] \S+ \[(SUCCESS|FAILURE)\] (\S+)", text, re.M)
        if len(seen) != n:
            return None
        return [pssh_name.get(h, h) for result, h in seen if result == "FAILURE"]
    seen = dict(re.findall(r"^(h-\d+) \| (CHANGED|SUCCESS|FAILED|UNREACHABLE!)", text, re.M))
    if len(seen) != n:
        return None
    return [h for h, result in seen.items() if result in ("FAILED", "UNREACHABLE!")]


counts, names = [], []
for path in sorted(glob.glob(f"{runs_dir}/run-*[0-9]")):
    text = open(path, errors="replace").read()
    hosts = failed(text)
    if hosts is None:
        rc = open(path + ".rc").read().strip()
        tail = "\n".join(text.splitlines()[-20:])
        sys.exit(f"{tool} on {n} hosts reported no result for every host (exit {rc}):\n{tail}")
    counts.append(len(hosts))
    names += [h for h in hosts if h not in names]
if not counts:
    sys.exit(f"no run of {tool} on {n} hosts was kept in {runs_dir}")
print(len(counts), min(counts), max(counts), ",".join(names) or "-")
EOF
}

# Each tool runs once on each size before anything is timed: a tool that cannot run at all
# stops the benchmark here; hosts that fail are named and the benchmark goes on.
TOOLS=(paaf pssh)
((WITH_ANSIBLE)) && TOOLS+=(ansible)
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    for tool in "${TOOLS[@]}"; do
        mapfile -d '' cmd < <("${tool}_cmd" "$n")
        mapfile -d '' run < <(kept "$RUNS_DIR/check-$tool-$n" "${cmd[@]}")
        "${run[@]}" 2>/dev/null </dev/null
        read -r _ _ most hosts < <(tally_runs "$tool" "$n" "$RUNS_DIR/check-$tool-$n") ||
            die "$tool on $n hosts did not run"
        ((most == 0)) || note "$tool failed on $most of $n hosts: ${hosts//,/, } (counted; going on)"
    done
done

# ----------------------------------------------------------------- measure

cat <<EOF

paaf vs parallel-ssh: \`$COMMAND\` on loopback sshd hosts (ed25519 key)
  paaf:     $("$PAAF" --version 2>&1 | head -n 1) ($PAAF)
  pssh:     parallel-ssh $(parallel-ssh --version 2>&1 | head -n 1), $(ssh -V 2>&1 | head -n 1)
  ansible:  $( ((WITH_ANSIBLE)) && printf 'ansible-core %s ad-hoc, command module, pipelining' "$ANSIBLE_CORE_VERSION" || printf 'left out (--no-ansible)')
  parallel: $PARALLEL hosts at once (paaf --parallel, pssh -p, ansible -f)
  cores:    $(nproc) ($(uname -srm)), load $(cut -d' ' -f1-3 /proc/loadavg)
  runs:     $RUNS per tool and size, alternating, after $WARMUP warm-up run each

EOF

declare -A RESULT ANSIBLE_RESULT
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    mapfile -d '' a < <(paaf_cmd "$n")
    mapfile -d '' a < <(kept "$RUNS_DIR/paaf-$n" "${a[@]}")
    mapfile -d '' b < <(pssh_cmd "$n")
    mapfile -d '' b < <(kept "$RUNS_DIR/pssh-$n" "${b[@]}")
    note "measuring $n hosts ..."
    RESULT[$n]=$(python3 "$RUNNER" --runs "$RUNS" --warmup "$WARMUP" \
        --a-label paaf --b-label pssh -- "${a[@]}" ::: "${b[@]}") ||
        die "the measurement on $n hosts failed"
    if ((WITH_ANSIBLE)); then
        mapfile -d '' b < <(ansible_cmd "$n")
        mapfile -d '' b < <(kept "$RUNS_DIR/ansible-$n" "${b[@]}")
        note "measuring $n hosts against ansible ..."
        ANSIBLE_RESULT[$n]=$(python3 "$RUNNER" --runs "$RUNS" --warmup "$WARMUP" \
            --a-label paaf --b-label ansible -- "${a[@]}" ::: "${b[@]}") ||
            die "the measurement against ansible on $n hosts failed"
    fi
done

# Peak RSS of one run per size, each in a fresh python (ru_maxrss of the children is a maximum
# over all of them).
declare -A RSS_MB
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    mapfile -d '' a < <(paaf_cmd "$n")
    rss_kb=$(python3 -c '
import resource, subprocess, sys
# Failed hosts make paaf exit non-zero; they were counted above.
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
' "${a[@]}") || die "measuring paaf's peak RSS on $n hosts failed"
    RSS_MB[$n]=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
done

# `paaf host list` of the largest size: every host's status with its metrics (read over SSH from
# /proc and df in one round trip), as one process run, median of RUNS after WARMUP. Each run
# must list every host, and each one reachable with its metrics but the --unreachable ones,
# else the figure would time failures.
if ((HOST_LIST)); then
    note "timing paaf host list on $MAX hosts ..."
    HOSTLIST_MS=$(python3 - "$RUNS" "$WARMUP" "$MAX" "$UNREACHABLE" "$PAAF" host list --group "first-$MAX" -o json <<'EOF2'
import json, statistics, subprocess, sys, time

runs, warmup, n, unreachable = (int(a) for a in sys.argv[1:5])
argv = sys.argv[5:]
samples = []
for i in range(warmup + runs):
    t0 = time.perf_counter()
    out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    ms = (time.perf_counter() - t0) * 1000
    try:
        hosts = json.loads(out.stdout)
    except ValueError:
        sys.exit(f"paaf host list printed no JSON (exit {out.returncode}): {out.stderr[-2000:]}")
    down = [h["name"] for h in hosts if not h.get("reachable")]
    unmeasured = [h["name"] for h in hosts if h.get("reachable") and not h.get("metrics")]
    if len(hosts) != n or len(down) != unreachable or unmeasured:
        sys.exit(f"paaf host list: {len(hosts)} of {n} hosts, unreachable {down[:10]}, "
                 f"without metrics {unmeasured[:10]}: {out.stderr[-2000:]}")
    if i >= warmup:
        samples.append(ms)
print(f"{statistics.median(samples):.1f}\t{min(samples):.1f}\t{max(samples):.1f}")
EOF2
    ) || die "timing paaf host list on $MAX hosts failed"
fi

# Hosts each tool failed on, over the timed runs (warm-up included): "runs min max hosts".
declare -A FAILED
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    for tool in "${TOOLS[@]}"; do
        FAILED[$tool-$n]=$(tally_runs "$tool" "$n" "$RUNS_DIR/$tool-$n") ||
            die "$tool did not run on $n hosts in the measurement"
    done
done

# ----------------------------------------------------------------- report

verdict() { # value goal
    awk -v r="$1" -v g="$2" 'BEGIN { print (r < g || r == g) ? "met" : "MISSED" }'
}

printf '%-7s %7s %10s %8s %8s %7s\n' hosts tool "median ms" min max mad
printf '%s\n' "$(printf '%.0s-' {1..52})"
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    IFS=$'\t' read -r a_med b_med ratio a_min a_max b_min b_max a_mad b_mad <<<"${RESULT[$n]}"
    printf '%-7s %7s %10.1f %8.1f %8.1f %7.1f\n' "$n" paaf "$a_med" "$a_min" "$a_max" "$a_mad"
    printf '%-7s %7s %10.1f %8.1f %8.1f %7.1f\n' "" pssh "$b_med" "$b_min" "$b_max" "$b_mad"
    printf '%-7s %7s %10s   ratio paaf/pssh %.2f, goal <= %s: %s\n' "" "" "" \
        "$ratio" "$GOAL" "$(verdict "$ratio" "$GOAL")"
    if ((WITH_ANSIBLE)); then
        IFS=$'\t' read -r a_med b_med ratio a_min a_max b_min b_max a_mad b_mad <<<"${ANSIBLE_RESULT[$n]}"
        printf '%-7s %7s %10.1f %8.1f %8.1f %7.1f\n' "" paaf "$a_med" "$a_min" "$a_max" "$a_mad"
        printf '%-7s %7s %10.1f %8.1f %8.1f %7.1f\n' "" ansible "$b_med" "$b_min" "$b_max" "$b_mad"
        printf '%-7s %7s %10s   ratio paaf/ansible %.3f, goal <= %s: %s\n' "" "" "" \
            "$ratio" "$ANSIBLE_GOAL" "$(verdict "$ratio" "$ANSIBLE_GOAL")"
    fi
done
printf '\nfailed hosts per run (a result: the runs went on)\n'
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    for tool in "${TOOLS[@]}"; do
        read -r runs fewest most hosts <<<"${FAILED[$tool-$n]}"
        if ((most == 0)); then
            printf '%-7s %7s   none in %d runs\n' "$n" "$tool" "$runs"
        else
            printf '%-7s %7s   %d to %d of %d in %d runs: %s\n' "$n" "$tool" "$fewest" "$most" \
                "$n" "$runs" "${hosts//,/, }"
        fi
    done
done
printf '\npaaf peak RSS (one run)\n'
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    printf '%-7s %7s   %s MB (goal < %s MB: %s)\n' "$n" paaf "${RSS_MB[$n]}" "$RSS_GOAL_MB" \
        "$(verdict "${RSS_MB[$n]}" "$RSS_GOAL_MB")"
done

# Growth from the smallest to the largest size: each tool's median time there over its median
# at the smallest, against the ratio of the host counts (less means less than linear).
MIN=$MAX
for n in "${SIZE_LIST[@]}"; do ((10#$n < MIN)) && MIN=$((10#$n)); done
GROWTH=
if ((MIN < MAX)); then
    IFS=$'\t' read -r a_lo b_lo _ <<<"${RESULT[$MIN]}"
    IFS=$'\t' read -r a_hi b_hi _ <<<"${RESULT[$MAX]}"
    hosts_x=$(awk -v a="$MAX" -v b="$MIN" 'BEGIN { printf "%.1f", a / b }')
    GROWTH=$(awk -v lo="$a_lo" -v hi="$a_hi" 'BEGIN { printf "%.2f", hi / lo }')
    pssh_x=$(awk -v lo="$b_lo" -v hi="$b_hi" 'BEGIN { printf "%.2f", hi / lo }')
    line="paaf ${GROWTH}x, pssh ${pssh_x}x"
    if ((WITH_ANSIBLE)); then
        IFS=$'\t' read -r _ b_lo _ <<<"${ANSIBLE_RESULT[$MIN]}"
        IFS=$'\t' read -r _ b_hi _ <<<"${ANSIBLE_RESULT[$MAX]}"
        line+=", ansible $(awk -v lo="$b_lo" -v hi="$b_hi" 'BEGIN { printf "%.2f", hi / lo }')x"
    fi
    printf '\ntime from %d to %d hosts (%sx the hosts): %s; paaf grows less than linearly: %s\n' \
        "$MIN" "$MAX" "$hosts_x" "$line" \
        "$(awk -v g="$GROWTH" -v h="$hosts_x" 'BEGIN { print (g < h) ? "yes" : "NO" }')"
fi
if ((HOST_LIST)); then
    IFS=$'\t' read -r hl_med hl_min hl_max <<<"$HOSTLIST_MS"
    printf '\npaaf host list, %d hosts with metrics: median %s ms (min %s, max %s; goal < %s ms: %s)\n' \
        "$MAX" "$hl_med" "$hl_min" "$hl_max" "$HOSTLIST_GOAL_MS" "$(verdict "$hl_med" "$HOSTLIST_GOAL_MS")"
fi
printf '\n'

for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    IFS=$'\t' read -r a_med b_med ratio _ <<<"${RESULT[$n]}"
    printf 'bench fanout-%d: paaf %.1f ms, pssh %.1f ms, ratio %.2f (goal <= %s)\n' \
        "$n" "$a_med" "$b_med" "$ratio" "$GOAL"
    if ((WITH_ANSIBLE)); then
        IFS=$'\t' read -r a_med b_med ratio _ <<<"${ANSIBLE_RESULT[$n]}"
        printf 'bench fanout-ansible-%d: paaf %.1f ms, ansible %.1f ms, ratio %.3f (goal <= %s)\n' \
            "$n" "$a_med" "$b_med" "$ratio" "$ANSIBLE_GOAL"
    fi
done
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    line=
    for tool in "${TOOLS[@]}"; do
        read -r _ _ most _ <<<"${FAILED[$tool-$n]}"
        line+="${line:+, }$tool $most hosts"
    done
    printf 'bench fanout-failed-%d: %s (most in one run)\n' "$n" "$line"
done
for n in "${SIZE_LIST[@]}"; do
    n=$((10#$n))
    printf 'bench fanout-rss-%d: paaf %s MB (goal < %s MB)\n' "$n" "${RSS_MB[$n]}" "$RSS_GOAL_MB"
done
if [[ -n $GROWTH ]]; then
    printf 'bench fanout-growth-%d-%d: paaf %sx the time for %sx the hosts (goal < %sx)\n' \
        "$MIN" "$MAX" "$GROWTH" "$hosts_x" "$hosts_x"
fi
if ((HOST_LIST)); then
    printf 'bench hostlist-%d: paaf %s ms (goal < %s ms)\n' "$MAX" "$hl_med" "$HOSTLIST_GOAL_MS"
fi
