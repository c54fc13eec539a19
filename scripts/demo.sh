#!/usr/bin/env bash
# demo.sh - a guided tour of paaf against real local SSH hosts.
#
# Installs what is missing (scripts/install-deps.sh), builds the paaf CLI,
# starts real local peers on 127.0.0.1 -- three OpenSSH "hosts"
# (tests/peers/sshd-host.sh, each in its own namespaces, with a simulated but
# from the client's side real reboot), Prometheus + node exporter +
# Alertmanager with an alert that fires (tests/peers/prometheus.sh) and Unleash
# over PostgreSQL (tests/peers/unleash.sh) -- and walks through an incident:
# add hosts -> Protect (flag off) -> Analyze (alerts, a query) -> Alert
# (silence) -> Fix (verified reboot, runbooks, exec) -> stand down (undo the
# flag, expire the silence) -> journal. scripts/demo.sh --help for options.
set -euo pipefail

readonly PROG=demo.sh
readonly KEYRING_NAME=paaf-demo
readonly PORT_MIN=42200 PORT_MAX=42299
readonly TEST_USER=paaf-test TEST_PASSWORD=paaf-test-password
readonly MARKER=.paaf-demo
readonly HOSTS=(web-1 web-2 db-1)

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
REPO_ROOT=$(cd -- "${SELF%/*}/.." && pwd -P)
readonly REPO_ROOT
cd -- "$REPO_ROOT"
readonly PEER=$REPO_ROOT/tests/peers/sshd-host.sh
readonly PROM_PEER=$REPO_ROOT/tests/peers/prometheus.sh
readonly UNLEASH_PEER=$REPO_ROOT/tests/peers/unleash.sh
DEMO_DIR=$(readlink -m -- "${PAAF_DEMO_DIR:-/tmp/paaf-demo}")
readonly DEMO_DIR
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}

usage() {
    cat <<EOF
Usage: scripts/demo.sh [--non-interactive] [--desktop] | --stop | -h

A guided tour of paaf through an incident, against real local peers on
127.0.0.1: three SSH hosts (web-1, web-2 with an ed25519 key, db-1 with a
password), Prometheus + Alertmanager (an alert fires at once) and Unleash
(flag new-checkout, on in production):
add hosts (host key shown and accepted) -> host list -> Protect: flag off ->
Analyze: alerts, a PromQL query -> Alert: silence -> Fix: verified reboot,
runbooks, exec -> stand down: undo the flag, expire the silence -> journal.

It installs what is missing (scripts/install-deps.sh, needs root or sudo),
builds paaf (cargo build -p paaf-cli) and keeps its state in
\$PAAF_DEMO_DIR (default /tmp/paaf-demo), recreated at every run.

Options:
  --non-interactive  No pauses; exit non-zero as soon as a step fails; stop
                     the hosts at the end. The default when CI is set or
                     stdin is not a terminal.
  --desktop          After the tour, open the desktop app on the same hosts
                     (needs a display; without one, or non-interactive, it
                     starts under Xvfb until its first paint, as a check).
  --stop             Stop the demo peers of \$PAAF_DEMO_DIR and exit.
  -h, --help         This help.

Interactive runs (the default on a terminal) pause before each step and leave
the hosts running at the end, so you can keep playing; stop them with
scripts/demo.sh --stop.

Environment:
  PAAF_DEMO_DIR      State directory (default /tmp/paaf-demo).
  CARGO_TARGET_DIR   Cargo target dir (default ~/.cache/paaf-target).
  CI                 When set (non-empty), run non-interactively.
EOF
}

# ------------------------------------------------------------------ output

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' CYAN=$'\e[36m' R=$'\e[0m'
else
    B='' DIM='' RED='' GREEN='' CYAN='' R=''
fi

say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s%s: error: %s%s\n' "$RED" "$PROG" "$*" "$R" >&2
    exit 1
}

# Runs a command as root (through sudo when not root).
as_root() {
    if ((EUID == 0)); then "$@"; else sudo -- "$@"; fi
}

# ----------------------------------------------------------------- options

INTERACTIVE=1
DESKTOP=0
ACTION=demo
while (($#)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --non-interactive) INTERACTIVE=0 ;;
    --desktop) DESKTOP=1 ;;
    --stop) ACTION=stop ;;
    *)
        warn "unknown argument: $1"
        usage >&2
        exit 2
        ;;
    esac
    shift
done
if [[ -n ${CI:-} || ! -t 0 ]]; then INTERACTIVE=0; fi

# ------------------------------------------------------------------- hosts

stop_hosts() {
    [[ -d $DEMO_DIR ]] || return 0
    as_root "$PEER" fleet-stop "$DEMO_DIR"
    if [[ -d $DEMO_DIR/prometheus ]]; then as_root "$PROM_PEER" stop "$DEMO_DIR/prometheus"; fi
    if [[ -d $DEMO_DIR/unleash ]]; then as_root "$UNLEASH_PEER" stop "$DEMO_DIR/unleash"; fi
}

if [[ $ACTION == stop ]]; then
    if [[ ! -d $DEMO_DIR ]]; then
        say "No demo in $DEMO_DIR: nothing to stop."
        exit 0
    fi
    stop_hosts
    say "Stopped the demo hosts in $DEMO_DIR (the directory is kept; the next demo run recreates it)."
    exit 0
fi

# The state directory is deleted and recreated: only ever one of ours.
if [[ -e $DEMO_DIR ]]; then
    [[ -d $DEMO_DIR ]] || die "$DEMO_DIR exists and is not a directory"
    if [[ ! -e $DEMO_DIR/$MARKER ]] && [[ -n $(ls -A -- "$DEMO_DIR") ]]; then
        die "$DEMO_DIR is not empty and not a paaf demo directory: refusing to delete it (set PAAF_DEMO_DIR)"
    fi
fi

# ------------------------------------------------- dependencies and keyring

# paaf keeps passwords in the OS keychain; without a D-Bus session that is the
# kernel keyutils store, which needs a session keyring. A plain root shell has
# none (only the shared _uid_ses.N fallback): then re-run the demo in the named
# session keyring "paaf-demo". The demo hosts inherit it, so it lives as long
# as they run, and the user can join it afterwards (`keyctl session paaf-demo`).
if [[ -z ${PAAF_DEMO_KEYRING_SESSION:-} ]]; then
    "$REPO_ROOT/scripts/install-deps.sh"
    export PAAF_DEMO_KEYRING_SESSION=own
    session=$(keyctl rdescribe @s 2>/dev/null) || session=
    if [[ -z $session || ${session##*;} == _uid_ses.* ]]; then
        PAAF_DEMO_KEYRING_SESSION=$KEYRING_NAME
        say "Re-running in the kernel session keyring \"$KEYRING_NAME\" (paaf keeps db-1's password there)."
        args=()
        ((INTERACTIVE)) || args+=(--non-interactive)
        ((DESKTOP)) && args+=(--desktop)
        exec keyctl session "$KEYRING_NAME" bash "$SELF" "${args[@]}"
    fi
fi

say "${B}Building paaf${R} (cargo build -p paaf-cli, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build -p paaf-cli
PAAF_BIN=$CARGO_TARGET_DIR/debug/paaf
readonly PAAF_BIN
[[ -x $PAAF_BIN ]] || die "the build did not produce $PAAF_BIN"
say "paaf binary: $PAAF_BIN"
# Every step runs `paaf ...` exactly as printed.
PATH=${PAAF_BIN%/*}:$PATH

# Recreate the state directory, stopping the hosts of an earlier run first.
if [[ -d $DEMO_DIR ]]; then
    stop_hosts
    as_root rm -rf -- "$DEMO_DIR"
fi
mkdir -p -- "$DEMO_DIR"
: >"$DEMO_DIR/$MARKER"
export PAAF_CONFIG=$DEMO_DIR/config.toml

as_root "$PEER" setup

KEY=$DEMO_DIR/id_ed25519
ssh-keygen -q -t ed25519 -N '' -C "paaf-demo" -f "$KEY" </dev/null

host_dir() { printf '%s/host-%s' "$DEMO_DIR" "$1"; }

# Ports of every sshd-host.sh host on this machine, also of one that is
# rebooting (its port refuses for a while, but it will come back).
host_ports() {
    ps -eo args= | awk '$0 ~ /sshd-host\.sh __supervise / { print $NF }'
}

# A port is free when nothing listens there and no test host claims it.
port_free() {
    [[ " $CLAIMED " != *" $1 "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Picks a block of ${#HOSTS[@]} consecutive free ports in PORT_MIN..PORT_MAX and
# starts the hosts there; on a clash (another run got there first) tries the
# next block. A lock keeps concurrent demo runs from picking the same block.
start_hosts() {
    local n=${#HOSTS[@]} base p i ok lock_fd
    exec {lock_fd}>"/tmp/paaf-demo-ports.lock"
    flock -w 120 "$lock_fd" || die "timed out waiting for /tmp/paaf-demo-ports.lock"
    CLAIMED=" $(host_ports | tr '\n' ' ') "
    for ((base = PORT_MIN; base + n - 1 <= PORT_MAX; base += n)); do
        ok=1
        for ((p = base; p < base + n; p++)); do
            port_free "$p" || { ok=0; break; }
        done
        ((ok)) || continue
        for ((i = 0; i < n; i++)); do
            if ! as_root "$PEER" start "$(host_dir "${HOSTS[i]}")" "$((base + i))"; then
                warn "could not start ${HOSTS[i]} on port $((base + i)); trying the next ports"
                ok=0
                break
            fi
        done
        if ((ok)); then
            PORT_BASE=$base
            exec {lock_fd}>&-
            return 0
        fi
        stop_hosts
    done
    exec {lock_fd}>&-
    die "no block of $n free ports in $PORT_MIN-$PORT_MAX"
}

port_of() {
    local i
    for i in "${!HOSTS[@]}"; do
        [[ ${HOSTS[i]} == "$1" ]] && { printf '%s' "$((PORT_BASE + i))"; return 0; }
    done
    return 1
}

# Non-interactive runs clean up after themselves, whatever happens.
if ((!INTERACTIVE)); then
    trap 'stop_hosts || warn "could not stop the hosts in $DEMO_DIR"' EXIT
else
    trap 'printf "\n%s\n" "Interrupted. The demo hosts may still run: stop them with scripts/demo.sh --stop"; exit 130' INT
fi

# web-1 and web-2 take the demo key; db-1 only a password.
for h in web-1 web-2; do
    d=$(host_dir "$h")
    mkdir -p -- "$d"
    cp -- "$KEY.pub" "$d/authorized_keys"
    chmod 0644 "$d/authorized_keys"
done
say "${B}Starting three SSH hosts${R} (real OpenSSH sshd on 127.0.0.1, see tests/peers/sshd-host.sh)"
start_hosts
for h in "${HOSTS[@]}"; do
    say "  $h  127.0.0.1:$(port_of "$h")  state in $(host_dir "$h")"
done

# A free loopback port chosen by the OS.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

say "${B}Starting Prometheus, node exporter and Alertmanager${R} (Debian's, see tests/peers/prometheus.sh)"
as_root "$PROM_PEER" setup
PROM_PORT=$(free_port) NODE_PORT=$(free_port) AM_PORT=$(free_port)
as_root "$PROM_PEER" start "$DEMO_DIR/prometheus" "$PROM_PORT" "$NODE_PORT" "$AM_PORT" ||
    die "could not start Prometheus (logs in $DEMO_DIR/prometheus)"
say "  prometheus 127.0.0.1:$PROM_PORT, alertmanager 127.0.0.1:$AM_PORT (rule PaafTestAlwaysFiring fires at once)"
# Prometheus finds its targets a few seconds after it is ready: wait for a few node samples,
# so the tour's query has data.
python3 - "http://127.0.0.1:$PROM_PORT" <<'PY' || warn "Prometheus has no node metrics yet; the query step may show no data"
import json, sys, time, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": "count_over_time(node_load1[1m])"})
deadline = time.time() + 30
while time.time() < deadline:
    try:
        result = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
        if result and float(result[0]["value"][1]) >= 3:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
PY

say "${B}Starting Unleash${R} (npm unleash-server over its own PostgreSQL, see tests/peers/unleash.sh)"
as_root "$UNLEASH_PEER" setup
UNLEASH_PORT=$(free_port)
as_root "$UNLEASH_PEER" start "$DEMO_DIR/unleash" "$UNLEASH_PORT" ||
    die "could not start Unleash (logs in $DEMO_DIR/unleash)"
UNLEASH_URL=http://127.0.0.1:$UNLEASH_PORT
UNLEASH_TOKEN=$(as_root cat "$DEMO_DIR/unleash/admin-token")
# A copy the demo user can read, so the token is never printed (the steps read it from here).
(umask 077 && printf '%s\n' "$UNLEASH_TOKEN" >"$DEMO_DIR/unleash-token")
# The flag an on-call engineer would kill: new-checkout, on in production and development.
python3 - "$UNLEASH_URL" "$UNLEASH_TOKEN" <<'PY' || die "could not create the demo flag in Unleash"
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
def post(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="POST",
        headers={"Authorization": token, "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
post("/api/admin/projects/default/features",
     {"name": "new-checkout", "type": "kill-switch", "description": "the new checkout flow"})
for env in ("production", "development"):
    post(f"/api/admin/projects/default/features/new-checkout/environments/{env}/on")
PY
say "  unleash $UNLEASH_URL (flag new-checkout on in production and development)"

cat >>"$PAAF_CONFIG" <<EOF
operator = "demo"

[[monitoring]]
name = "prom"
type = "prometheus"
url = "http://127.0.0.1:$PROM_PORT"

[[monitoring]]
name = "alertmanager"
type = "alertmanager"
url = "http://127.0.0.1:$AM_PORT"

[[flags]]
name = "unleash"
type = "unleash"
url = "$UNLEASH_URL"
token = "keyring:unleash-demo"
EOF

# ------------------------------------------------------------------- steps

FAILED=()
STEP=0
TOTAL=22

pause() {
    ((INTERACTIVE)) || return 0
    local answer
    printf '%s[press Enter to run it, q to quit]%s ' "$DIM" "$R"
    IFS= read -r answer || answer=q
    if [[ $answer == q || $answer == Q ]]; then
        finish
    fi
}

# step EXPECTED_EXITS TITLE EXPLANATION COMMAND  (EXPECTED_EXITS: e.g. "0" or "0 4")
# Prints the heading and the command, waits for Enter, runs the command exactly
# as printed (paaf is on PATH) and checks its exit status.
step() {
    local expect=$1 title=$2 text=$3 cmd=$4 rc=0
    STEP=$((STEP + 1))
    printf '\n%s── %d/%d  %s%s\n' "$B$CYAN" "$STEP" "$TOTAL" "$title" "$R"
    [[ -n $text ]] && say "$text"
    printf '%s$ %s%s\n' "$B" "$cmd" "$R"
    pause
    eval "$cmd" || rc=$?
    LAST_RC=$rc
    if [[ " $expect " == *" $rc "* ]]; then
        if ((rc != 0)) && [[ $expect == "$rc" ]]; then
            say "${GREEN}✓ exit code $rc, as expected${R}"
        fi
        return 0
    fi
    printf '%s✗ step %d (%s) exited with %d, expected %s%s\n' "$RED" "$STEP" "$title" "$rc" "${expect// / or }" "$R" >&2
    FAILED+=("$STEP: $title (exit $rc)")
    if ((!INTERACTIVE)); then
        exit 1
    fi
    return 0
}

q() { printf '%q' "$1"; }

# Where db-1's password is, when it is in the demo's kernel keyring.
keyring_hint() {
    [[ $PAAF_DEMO_KEYRING_SESSION == "$KEYRING_NAME" ]] || return 0
    [[ -z ${DBUS_SESSION_BUS_ADDRESS:-} || ${PAAF_KEYRING:-} == keyutils ]] || return 0
    cat <<EOF
db-1 logs in with a password that paaf keeps in the kernel session keyring
"$KEYRING_NAME" (no desktop keychain here); it lives as long as the demo hosts.
Use db-1 from a shell inside it (elsewhere paaf reports the secret missing):
  keyctl session $KEYRING_NAME
EOF
}

# The desktop app on the demo hosts: in a window on a display, else under Xvfb until its
# first paint (which shows it starts and renders against real peers).
open_desktop() {
    say ""
    say "${B}Building the desktop app${R} (scripts/build-ui.sh, cargo build -p paaf-desktop)"
    "$REPO_ROOT/scripts/build-ui.sh" || return 1
    cargo build -p paaf-desktop || return 1
    local app=$CARGO_TARGET_DIR/debug/paaf-desktop
    if ((INTERACTIVE)) && [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
        say "Opening paaf's desktop app on the demo hosts; close its window to come back here."
        "$app"
    else
        say "No display or not interactive: starting the app under Xvfb until its first paint."
        local out
        out=$(PAAF_EXIT_AFTER_FIRST_PAINT=1 timeout 120 xvfb-run -a -s "-screen 0 1280x800x24" "$app") || {
            warn "the desktop app did not paint: $out"
            return 1
        }
        say "${GREEN}desktop app painted${R} (${out})"
    fi
}

finish() {
    if ((DESKTOP)) && ! open_desktop; then
        FAILED+=("open the desktop app")
    fi
    say ""
    if ((${#FAILED[@]})); then
        printf '%s%d step(s) failed:%s\n' "$RED" "${#FAILED[@]}" "$R"
        printf '  %s\n' "${FAILED[@]}"
    elif ((STEP >= TOTAL)); then
        say "${B}${GREEN}Demo complete.${R}"
    fi
    if ((INTERACTIVE)); then
        cat <<EOF

${B}Keep playing${R}: the hosts are still running.
  export PAAF_CONFIG=$(q "$PAAF_CONFIG")
  export PATH=$(q "${PAAF_BIN%/*}"):\$PATH   # paaf is $(q "$PAAF_BIN")
  paaf host list
  paaf reboot web-2
  paaf runbook run web-1 check-disk
  paaf runbook run web-1 fail-example      # a failing runbook: exit code 9
  paaf exec web-1 -c hostname -c 'cat /proc/sys/kernel/random/boot_id'
  paaf journal --host web-1
  paaf alerts
  paaf query up --instant
  paaf flags
$(keyring_hint)
Hosts: web-1, web-2, db-1 on 127.0.0.1:$PORT_BASE-$((PORT_BASE + ${#HOSTS[@]} - 1)), user $TEST_USER, password $TEST_PASSWORD.

${B}Stop the hosts${R} when done:
  scripts/demo.sh --stop
EOF
    fi
    if ((${#FAILED[@]})); then exit 1; fi
    exit 0
}

K=$(q "$KEY")
say ""
say "${B}Welcome to the paaf demo.${R} paaf is on PATH for this script: $(q "$PAAF_BIN")"
say "Config, known_hosts and journal: PAAF_CONFIG=$(q "$PAAF_CONFIG") (exported)."

# 1-3: add hosts.
fp_web1=$(ssh-keygen -lf "$(host_dir web-1)/ssh_host_ed25519_key.pub" | awk '{print $2}')
if ((INTERACTIVE)); then
    step "0 4" "Add web-1 (ed25519 key login)" \
        "paaf connects, shows the host's SSH key fingerprint and asks you to trust it.
web-1's real fingerprint (as its admin would tell you) is ${B}$fp_web1${R}: compare, then answer y." \
        "paaf host add web-1 --address 127.0.0.1 --port $(port_of web-1) --user $TEST_USER --key $K"
    if ((LAST_RC == 4)); then
        TOTAL=$((TOTAL + 1))
        step 0 "Trust web-1's host key after all" \
            "The key was not trusted (exit code 4), so paaf refuses to talk to web-1. Ask again:" \
            "paaf host trust web-1"
    fi
else
    step 0 "Add web-1 (ed25519 key login)" \
        "paaf connects, shows the host's SSH key fingerprint (web-1's is $fp_web1) and, with
--accept-new-host-key, trusts it (a script's answer to the question asked on a terminal)." \
        "paaf host add web-1 --address 127.0.0.1 --port $(port_of web-1) --user $TEST_USER --key $K --accept-new-host-key"
fi
step 0 "Add web-2 (same key)" \
    "--accept-new-host-key trusts a key seen for the first time; a CHANGED key is always refused." \
    "paaf host add web-2 --address 127.0.0.1 --port $(port_of web-2) --user $TEST_USER --key $K --accept-new-host-key"
step 0 "Add db-1 (password login)" \
    "The password is read from stdin and stored in the OS keychain; the config only names it." \
    "printf '%s\n' $TEST_PASSWORD | paaf host add db-1 --address 127.0.0.1 --port $(port_of db-1) --user $TEST_USER --password-stdin --accept-new-host-key"

step 0 "The fleet, with live status" \
    "Each host is probed over SSH: reachable, uptime, boot id, OS, last action." \
    "paaf host list"

step 0 "Store the Unleash API token in the keychain" \
    "The config names it (token = \"keyring:unleash-demo\"); the value goes to the OS keychain." \
    "paaf secret set unleash-demo < $(q "$DEMO_DIR/unleash-token")"

step 0 "PROTECT: the flags, per environment" \
    "Every [[flags]] service in one list (Unleash here)." \
    "paaf flags"
step 0 "PROTECT: kill-switch new-checkout in production" \
    "paaf reads the flag's state, shows it with the environment in the confirmation, and writes
only if nobody changed it meanwhile. The journal keeps the state before, for undo." \
    "paaf flag off new-checkout --env production --yes"

step 0 "ANALYZE: firing alerts of every source" \
    "Prometheus rules and Alertmanager in one list (a source that fails shows as an error row)." \
    "paaf alerts"
step 0 "ANALYZE: a PromQL query, as sparklines with min/max/mean/last" "" \
    "paaf query 'rate(node_cpu_seconds_total{mode=\"user\"}[10s])' --from now-1m --width 30"

step 0 "ALERT: silence the alert while you work on it" \
    "The silence goes to Alertmanager, with your name and why; its id is in the journal." \
    "paaf silence add alertname=PaafTestAlwaysFiring --for 30m -m 'demo incident: checkout'"

step 0 "FIX: reboot web-1 and verify it came back" \
    "Progress: reboot command sent -> connection dropped -> host back up -> boot id changed -> test command ok." \
    "paaf reboot web-1 --yes"

step 0 "The fleet again" \
    "web-1 has a new boot id and its reboot as last action. (Its uptime does not restart: the
demo hosts share this machine's kernel, only the boot id is per host.)" \
    "paaf host list"

step 0 "Runbooks on web-2" \
    "Executables in the host's runbook folder (RebootX convention); names starting with __ are dangerous." \
    "paaf runbook list web-2"
step 0 "Run a runbook" "" \
    "paaf runbook run web-2 restart-app --yes"
step 8 "A dangerous runbook is refused with only --yes" \
    "--yes is not enough for a __ runbook: it needs its name typed (here stdin is not a terminal,
as in a script, so there is nobody to type it). Expect exit code 8, confirmation required." \
    "paaf runbook run web-2 __wipe-cache --yes </dev/null"
step 0 "... and runs with the name confirmed" \
    "In scripts, --confirm NAME is the typed confirmation." \
    "paaf runbook run web-2 __wipe-cache --yes --confirm __wipe-cache"

step 0 "Run a command on db-1 (password login)" "" \
    "paaf exec db-1 --yes -- uptime"

step 0 "Machine-readable output" \
    "Every command takes --json; here: name and boot id of each host." \
    "paaf host list --json | python3 -c 'import json, sys; [print(h[\"name\"], h[\"boot_id\"]) for h in json.load(sys.stdin)]'"

step 0 "STAND DOWN: put the flag back as it was" \
    "paaf flag undo takes the journal id of the change (here: the newest flag-off)." \
    "paaf flag undo \$(paaf journal --json | python3 -c 'import json, sys; print(next(r[\"id\"] for r in json.load(sys.stdin) if r[\"kind\"] == \"flag-off\"))') --yes"
step 0 "STAND DOWN: end the silence" "" \
    "paaf silence expire \$(paaf silence list --json | python3 -c 'import json, sys; print(next(s[\"id\"] for s in json.load(sys.stdin) if s[\"state\"] == \"active\"))')"

step 0 "The journal: every action, who, from where, how it ended" "" \
    "paaf journal"

finish
