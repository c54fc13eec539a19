#!/usr/bin/env bash
# prometheus.sh - a real Prometheus, node exporter and Alertmanager (Debian
# packages) on 127.0.0.1, for paaf's Analyze tests: real PromQL over real
# data, a rule that fires at once, and the alert delivered to Alertmanager.
#
# Prometheus scrapes itself and the node exporter every second, evaluates its
# rules every second, and sends alerts to the Alertmanager. Its one rule,
# PaafTestAlwaysFiring (vector(1), severity="page", service="checkout"),
# fires at the first evaluation. Firing alerts are re-sent every second (not
# every minute), so the first one is not lost while Prometheus is still
# discovering the Alertmanager.
#
# No systemd: the binaries are started directly, their pids kept in DIR.
# Nothing binds anything but 127.0.0.1 (Alertmanager's cluster port, which
# would listen on 0.0.0.0:9094, is switched off).
#
# Used by the Rust integration tests, the demo and CI. Quiet on success;
# errors go to stderr with a non-zero exit status. Must run as root (setup
# installs packages; start and stop only need to own DIR).

set -uo pipefail

readonly PROG=prometheus.sh
readonly PROMETHEUS=/usr/bin/prometheus
readonly NODE_EXPORTER=/usr/bin/prometheus-node-exporter
readonly ALERTMANAGER=/usr/bin/prometheus-alertmanager
readonly APT_PACKAGES="prometheus prometheus-node-exporter prometheus-alertmanager"
readonly SETUP_LOCK=/run/paaf-prometheus-setup.lock
readonly READY_TIMEOUT=30
readonly STOP_TIMEOUT=10
# In start order (Prometheus last: its targets are up by then).
readonly DAEMONS="node-exporter alertmanager prometheus"

# shellcheck source=tests/peers/lib.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

Real Prometheus, node exporter and Alertmanager on 127.0.0.1.

Commands:
  setup                                 Install the Debian packages if missing
                                        ($APT_PACKAGES), without starting
                                        their services. Run as root.
  start DIR PROM_PORT NODE_PORT AM_PORT Start all three with state in DIR;
                                        returns once each answers ready.
  stop DIR                              Stop them (SIGTERM, then SIGKILL).
  -h, --help                            This help.

Files in DIR (written by start):
  prometheus.yml, rules.yml, alertmanager.yml   configs
  prometheus-data/, alertmanager-data/          storage
  <name>.pid, <name>.log   for name in: $DAEMONS
  ports                    "PROM_PORT NODE_PORT AM_PORT"
EOF
}

binary_of() {
    case $1 in
    prometheus) printf '%s' "$PROMETHEUS" ;;
    node-exporter) printf '%s' "$NODE_EXPORTER" ;;
    alertmanager) printf '%s' "$ALERTMANAGER" ;;
    *) return 1 ;;
    esac
}

# True when pid runs daemon NAME for DIR: its binary, and DIR in an argument
# (every daemon gets a flag naming a path in DIR), so a recycled pid is never
# killed.
is_daemon_of() {
    local pid=$1 name=$2 dir=$3 bin args a
    pid_alive "$pid" || return 1
    bin=$(binary_of "$name") || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    ((${#args[@]} > 0)) || return 1
    [[ ${args[0]} == "$bin" ]] || return 1
    for a in "${args[@]:1}"; do
        [[ $a == *"=$dir/"* ]] && return 0
    done
    return 1
}

daemon_pid() {
    pid_of "$2/$1.pid" is_daemon_of "$1" "$2"
}

# --------------------------------------------------------------------- setup

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    local b missing=0
    lock_setup "$SETUP_LOCK"
    for b in "$PROMETHEUS" "$NODE_EXPORTER" "$ALERTMANAGER"; do
        [[ -x $b ]] || missing=1
    done
    command -v flock >/dev/null 2>&1 || missing=1
    if ((missing)); then
        # shellcheck disable=SC2086 # the package list splits into words
        apt_install $APT_PACKAGES || exit 1
    fi
    for b in "$PROMETHEUS" "$NODE_EXPORTER" "$ALERTMANAGER"; do
        [[ -x $b ]] || die "$b still missing after installing $APT_PACKAGES"
    done
}

# --------------------------------------------------------------------- start

write_configs() {
    local dir=$1 node_port=$2 am_port=$3 prom_port=$4
    cat >"$dir/prometheus.yml.tmp" <<EOF
# Written by $PROG start; rewritten at every start.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $dir/rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$am_port']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$prom_port']
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$node_port']
EOF
    cat >"$dir/rules.yml.tmp" <<'EOF'
groups:
  - name: paaf-test
    rules:
      - alert: PaafTestAlwaysFiring
        expr: vector(1)
        labels:
          severity: page
          service: checkout
        annotations:
          summary: Checkout is on fire (a paaf test alert that always fires)
EOF
    # Alerts are held here, never sent anywhere: one receiver without configs.
    cat >"$dir/alertmanager.yml.tmp" <<'EOF'
route:
  receiver: blackhole
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
EOF
    local f
    for f in prometheus.yml rules.yml alertmanager.yml; do
        mv -f "$dir/$f.tmp" "$dir/$f" || die "cannot write $dir/$f"
    done
}

# Starts daemon NAME in its own session, output to DIR/NAME.log, pid to
# DIR/NAME.pid. Args: name dir args...
spawn() {
    local name=$1 dir=$2 bin pid
    shift 2
    bin=$(binary_of "$name") || die "unknown daemon $name"
    # setsid: not in the caller's process group, so a test harness's ^C or
    # kill of the group does not leave half of them running unmanaged.
    # The lock fd is closed in the daemon, or it would hold DIR's lock forever.
    setsid "$bin" "$@" </dev/null >"$dir/$name.log" 2>&1 {DIR_LOCK_FD}>&- &
    pid=$!
    printf '%s\n' "$pid" >"$dir/$name.pid" || die "cannot write $dir/$name.pid"
}

# Waits until NAME answers 200 on PATH at PORT. Args: name dir port path deadline_ms.
wait_ready() {
    local name=$1 dir=$2 port=$3 path=$4 deadline=$5 pid
    read -r pid <"$dir/$name.pid" || pid=
    while :; do
        if ! pid_alive "$pid"; then
            note "$name (pid $pid) exited during start"
            return 1
        fi
        [[ $(http_status "$port" "$path") == 200 ]] && return 0
        if (($(now_ms) > deadline)); then
            note "$name did not answer 200 on 127.0.0.1:$port$path within ${READY_TIMEOUT}s"
            return 1
        fi
        sleep 0.1
    done
}

cmd_start() {
    (($# == 4)) || die "usage: $PROG start DIR PROM_PORT NODE_PORT AM_PORT"
    local dir prom_port=$2 node_port=$3 am_port=$4 p name
    for p in "$prom_port" "$node_port" "$am_port"; do
        is_port "$p" || die "bad port: $p"
    done
    prom_port=$((10#$prom_port))
    node_port=$((10#$node_port))
    am_port=$((10#$am_port))
    ((prom_port != node_port && prom_port != am_port && node_port != am_port)) ||
        die "the three ports must differ"
    dir=$(canon_dir "$1")
    for name in $DAEMONS; do
        [[ -x $(binary_of "$name") ]] || die "$(binary_of "$name") not found; run '$PROG setup' first"
    done

    mkdir -p -- "$dir/prometheus-data" "$dir/alertmanager-data" "$dir/textfile" ||
        die "cannot create $dir"
    lock_dir "$dir"

    local running=0
    for name in $DAEMONS; do
        daemon_pid "$name" "$dir" >/dev/null && running=1
    done
    if ((running)); then
        local old=
        [[ -f $dir/ports ]] && read -r old <"$dir/ports"
        if [[ $old == "$prom_port $node_port $am_port" ]]; then
            note "$dir already running (ports $old)"
            return 0
        fi
        die "$dir is already running on ports ${old:-?}; stop it first"
    fi
    for p in "$prom_port" "$node_port" "$am_port"; do
        tcp_open "$p" && die "127.0.0.1:$p is already in use by another process"
    done

    write_configs "$dir" "$node_port" "$am_port" "$prom_port"
    printf '%s %s %s\n' "$prom_port" "$node_port" "$am_port" >"$dir/ports"

    local err
    err=$(promtool_check "$dir") || die "prometheus rejects the generated config: $err"

    # Every daemon gets a flag naming a path in DIR: is_daemon_of relies on it.
    spawn node-exporter "$dir" \
        "--web.listen-address=127.0.0.1:$node_port" \
        "--collector.textfile.directory=$dir/textfile" \
        "--no-collector.systemd" \
        "--log.level=warn"
    spawn alertmanager "$dir" \
        "--config.file=$dir/alertmanager.yml" \
        "--storage.path=$dir/alertmanager-data/" \
        "--web.listen-address=127.0.0.1:$am_port" \
        "--cluster.listen-address=" \
        "--log.level=warn"
    spawn prometheus "$dir" \
        "--config.file=$dir/prometheus.yml" \
        "--storage.tsdb.path=$dir/prometheus-data/" \
        "--web.listen-address=127.0.0.1:$prom_port" \
        "--rules.alert.resend-delay=1s" \
        "--log.level=warn"

    local deadline
    deadline=$(($(now_ms) + READY_TIMEOUT * 1000))
    # The node exporter has no /-/ready: its metrics page answering is ready.
    if ! wait_ready node-exporter "$dir" "$node_port" /metrics "$deadline" ||
        ! wait_ready alertmanager "$dir" "$am_port" /-/ready "$deadline" ||
        ! wait_ready prometheus "$dir" "$prom_port" /-/ready "$deadline"; then
        show_logs "$dir" 30 node-exporter.log alertmanager.log prometheus.log
        stop_all "$dir"
        exit 1
    fi
}

promtool_check() {
    local dir=$1
    if command -v promtool >/dev/null 2>&1; then
        # Its complaints (stderr) are the result; its progress (stdout) is dropped.
        # shellcheck disable=SC2069
        promtool check config "$dir/prometheus.yml" 2>&1 >/dev/null
    fi
}

# ---------------------------------------------------------------------- stop

stop_all() {
    local dir=$1 name pid pids=() deadline
    for name in $DAEMONS; do
        if pid=$(daemon_pid "$name" "$dir"); then
            kill -TERM "$pid" 2>/dev/null
            pids+=("$pid")
        fi
    done
    deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    for pid in "${pids[@]}"; do
        while pid_alive "$pid"; do
            if (($(now_ms) > deadline)); then
                kill -KILL "$pid" 2>/dev/null
                sleep 0.1
                pid_alive "$pid" && note "pid $pid survived SIGKILL"
                break
            fi
            sleep 0.05
        done
    done
    for name in $DAEMONS; do
        rm -f -- "$dir/$name.pid"
    done
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    stop_locked stop_all "$1"
}

# ---------------------------------------------------------------------- main

dispatch "$@"
