#!/usr/bin/env bash
# moto.sh - a real moto_server (PyPI moto[server], pinned below) on 127.0.0.1,
# for paaf's AWS EC2 tests: real EC2 Query API requests (SigV4-signed, XML
# answers), instances made with RunInstances, reboot/stop/start/describe.
#
# moto accepts any credentials and signature, but routes a request by the
# credential scope of its SigV4 Authorization header (…/REGION/ec2/aws4_request);
# one server serves every region. Its state lives in memory: a new start is an
# empty account.
#
# Used by the Rust integration tests, the demo and CI. Quiet on success;
# errors go to stderr with a non-zero exit status. Must run as root (setup may
# install Debian's python3-venv).

set -uo pipefail

readonly PROG=moto.sh
readonly MOTO_VERSION=5.2.5
readonly TOOLS_DIR=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/moto
readonly MOTO_SERVER=$TOOLS_DIR/venv/bin/moto_server
readonly SETUP_LOCK=/run/paaf-moto-setup.lock
readonly READY_TIMEOUT=30
readonly STOP_TIMEOUT=10

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
# shellcheck source=tests/peers/lib.sh
source "${SELF%/*}/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

A real moto_server $MOTO_VERSION on 127.0.0.1 (an in-memory AWS, EC2 among others).

Commands:
  setup            Install what is missing: python3 with venv (Debian), and
                   moto[server]==$MOTO_VERSION in a venv under $TOOLS_DIR
                   (reinstalled only when the pinned version changes).
  start DIR PORT [OWNER_PID]
                   Start moto_server on 127.0.0.1:PORT (state files in DIR);
                   returns once it answers HTTP. With OWNER_PID, it is stopped
                   when that process exits (e.g. a test process killed by its
                   runner before it could run stop).
  stop DIR         Stop it (SIGTERM, then SIGKILL).
  -h, --help       This help.

Files in DIR (written by start):
  port             the port
  moto.pid         the moto_server process
  moto.log         its output
  watch.log        the OWNER_PID watcher's output, if any
EOF
}

# True when pid is the moto_server of DIR: moto_server takes no marker
# argument, so its working directory (start sets it to DIR) tells, and a
# recycled pid is never killed.
is_moto_of() {
    local pid=$1 dir=$2 cwd
    pid_alive "$pid" || return 1
    grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    [[ $cwd == "$dir" ]]
}

moto_pid() {
    pid_of "$1/moto.pid" is_moto_of "$1"
}

installed_version() {
    "$TOOLS_DIR/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null
}

# --------------------------------------------------------------------- setup

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    lock_setup "$SETUP_LOCK"
    need_python_venv || exit 1
    if [[ $(installed_version) != "$MOTO_VERSION" || ! -x $MOTO_SERVER ]]; then
        pip_venv "$TOOLS_DIR" "moto[server]==$MOTO_VERSION" || exit 1
        [[ -x $MOTO_SERVER ]] || die "moto[server]==$MOTO_VERSION installed no $MOTO_SERVER"
    fi
}

# --------------------------------------------------------------------- start

cmd_start() {
    (($# == 2 || $# == 3)) || die "usage: $PROG start DIR PORT [OWNER_PID]"
    local dir port=$2 owner=${3:-}
    is_port "$port" || die "bad port: $port"
    port=$((10#$port))
    [[ -z $owner || $owner =~ ^[0-9]+$ ]] || die "bad OWNER_PID: $owner"
    dir=$(canon_dir "$1")
    [[ -x $MOTO_SERVER ]] || die "$MOTO_SERVER not found; run '$PROG setup' first"
    mkdir -p -- "$dir" || die "cannot create $dir"

    lock_dir "$dir"

    if moto_pid "$dir" >/dev/null; then
        local old=
        [[ -f $dir/port ]] && read -r old <"$dir/port"
        [[ $old == "$port" ]] && return 0
        die "$dir is already running on port ${old:-?}; stop it first"
    fi
    tcp_open "$port" && die "127.0.0.1:$port is already in use by another process"

    printf '%s\n' "$port" >"$dir/port"
    # setsid: its own process group, so a harness's ^C does not half-stop it;
    # the lock fd is closed in the server, or it would hold DIR's lock.
    (cd "$dir" && exec setsid "$MOTO_SERVER" -H 127.0.0.1 -p "$port" \
        >"$dir/moto.log" 2>&1 {DIR_LOCK_FD}>&- </dev/null) &
    local pid=$!
    printf '%s\n' "$pid" >"$dir/moto.pid"

    if ! wait_until_ready moto_server "127.0.0.1:$port" "$pid" http_ok "$port" /moto-api/; then
        tail -n 30 -- "$dir/moto.log" >&2
        stop_moto "$dir"
        exit 1
    fi
    [[ -z $owner ]] || stop_with_owner "$dir" "$owner" moto_pid
}

# ---------------------------------------------------------------------- stop

stop_moto() {
    stop_pid "$1/moto.pid" is_moto_of "$1"
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    stop_locked stop_moto "$1"
}

# ---------------------------------------------------------------------- main

dispatch "$@"
