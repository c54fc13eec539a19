#!/usr/bin/env bash
# smtp.sh - a local SMTP submission server (PyPI aiosmtpd, pinned below) on
# 127.0.0.1, for paaf's incident tests: it requires STARTTLS and a login, and
# keeps every message it receives as a file, so a test reads what was sent.
#
# The certificate is a self-signed one for `localhost`, made with openssl at
# the first start in DIR (DIR/cert.pem is what the client trusts, as a
# private relay's CA). Messages land in DIR/mail/NNNN.eml with NNNN.json
# beside (envelope, whether TLS and login were used).
#
# Used by the Rust integration tests and CI. Quiet on success; errors go to
# stderr with a non-zero exit status. setup must run as root (it may install
# Debian's python3-venv and openssl).

set -uo pipefail

readonly PROG=smtp.sh
readonly AIOSMTPD_VERSION=1.4.6
readonly TOOLS_DIR=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/aiosmtpd
readonly PYTHON=$TOOLS_DIR/venv/bin/python
readonly SETUP_LOCK=/run/paaf-smtp-setup.lock
readonly READY_TIMEOUT=30
readonly STOP_TIMEOUT=10

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
readonly RECEIVER=${SELF%/*}/smtp_receiver.py
# shellcheck source=tests/peers/lib.sh
source "${SELF%/*}/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

A local SMTP server (aiosmtpd $AIOSMTPD_VERSION) requiring STARTTLS and a login.

Commands:
  setup            Install what is missing: python3 with venv and openssl
                   (Debian), and aiosmtpd==$AIOSMTPD_VERSION in a venv under
                   $TOOLS_DIR (reinstalled only when the pinned version changes).
  start DIR PORT USER PASSWORD [OWNER_PID]
                   Start it on 127.0.0.1:PORT, accepting USER/PASSWORD; returns
                   once it answers. With OWNER_PID, it is stopped when that
                   process exits.
  stop DIR         Stop it (SIGTERM, then SIGKILL).
  -h, --help       This help.

Files in DIR: cert.pem, key.pem (made once), mail/ (the messages), smtp.pid,
smtp.log, port, watch.log (the OWNER_PID watcher's output, if any).
EOF
}

installed_version() {
    "$PYTHON" -c 'import importlib.metadata as m; print(m.version("aiosmtpd"))' 2>/dev/null
}

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    lock_setup "$SETUP_LOCK"
    need_python_venv openssl || exit 1
    [[ $(installed_version) == "$AIOSMTPD_VERSION" ]] && return 0
    pip_venv "$TOOLS_DIR" "aiosmtpd==$AIOSMTPD_VERSION" || exit 1
}

# True when pid is the receiver of DIR (its command line names DIR/mail).
is_receiver_of() {
    local pid=$1 dir=$2
    pid_alive "$pid" || return 1
    grep -qF "$dir/mail" "/proc/$pid/cmdline" 2>/dev/null
}

# True when the receiver of DIR says it is ready and accepts connections on PORT.
receiver_ready() {
    local dir=$1 port=$2
    grep -q '^ready' "$dir/smtp.log" 2>/dev/null && tcp_open "$port"
}

receiver_pid() {
    pid_of "$1/smtp.pid" is_receiver_of "$1"
}

stop_receiver() {
    stop_pid "$1/smtp.pid" is_receiver_of "$1"
}

cmd_start() {
    (($# == 4 || $# == 5)) || die "usage: $PROG start DIR PORT USER PASSWORD [OWNER_PID]"
    local dir port=$2 user=$3 password=$4 owner=${5:-}
    is_port "$port" || die "bad port: $port"
    port=$((10#$port))
    [[ -z $owner || $owner =~ ^[0-9]+$ ]] || die "bad OWNER_PID: $owner"
    dir=$(canon_dir "$1")
    [[ -x $PYTHON ]] || die "$PYTHON not found; run '$PROG setup' first"
    mkdir -p -- "$dir/mail" || die "cannot create $dir"
    lock_dir "$dir"
    receiver_pid "$dir" >/dev/null && die "$dir is already running; stop it first"
    tcp_open "$port" && die "127.0.0.1:$port is already in use by another process"
    if [[ ! -s $dir/cert.pem ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
            die "openssl could not make a certificate"
    fi
    printf '%s\n' "$port" >"$dir/port"
    # setsid: its own process group, so a harness's ^C does not half-stop it; the lock fd is
    # closed in the server, or it would hold DIR's lock.
    SMTP_USER=$user SMTP_PASSWORD=$password setsid "$PYTHON" "$RECEIVER" "$port" \
        "$dir/cert.pem" "$dir/key.pem" "$dir/mail" \
        </dev/null >"$dir/smtp.log" 2>&1 {DIR_LOCK_FD}>&- &
    local pid=$!
    printf '%s\n' "$pid" >"$dir/smtp.pid"
    if ! wait_until_ready "the SMTP receiver" "127.0.0.1:$port" "$pid" \
        receiver_ready "$dir" "$port"; then
        tail -n 30 -- "$dir/smtp.log" >&2
        stop_receiver "$dir"
        exit 1
    fi
    [[ -z $owner ]] || stop_with_owner "$dir" "$owner" receiver_pid
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    stop_locked stop_receiver "$1"
}

dispatch "$@"
