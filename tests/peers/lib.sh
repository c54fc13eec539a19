# shellcheck shell=bash
# lib.sh - the helpers every peer script in tests/peers shares: messages, argument checks,
# processes and their pid files, loopback TCP/HTTP probes, state-directory and setup locks,
# Debian packages, Python venvs of pinned PyPI packages and the command dispatch. Sourced,
# never run; the script that sources it sets PROG (its name in messages) and defines usage and
# its cmd_NAME functions.

# Prints an error on stderr and exits 1.
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

# Prints a line on stderr.
note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

need_root() {
    [[ $EUID -eq 0 ]] || die "must run as root (uid 0), not uid $EUID"
}

# True when $1 is a TCP port number (1-65535).
is_port() {
    [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

# Milliseconds since the epoch, without forking `date`.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s' "$((10#$t / 1000))"
}

# The absolute path of the state directory $1; `/` and an empty path are refused, because the
# scripts delete and kill what they find there.
canon_dir() {
    local d
    d=$(readlink -m -- "$1") || die "bad directory: $1"
    [[ -n $d && $d != / ]] || die "refusing to use '$1' as a state directory"
    printf '%s' "$d"
}

# True when process $1 exists and is not a zombie.
pid_alive() {
    local pid=$1 line
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    { read -r line <"/proc/$pid/stat"; } 2>/dev/null || return 1
    line=${line##*) }
    [[ ${line%% *} != Z ]]
}

# The start time of a process (field 22 of /proc/PID/stat), to tell it from a later process
# that got the same pid.
proc_start_time() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${line##*) }
    read -r -a rest <<<"$rest"
    printf '%s' "${rest[19]}"
}

# Waits for process $1 to exit; SIGKILL after STOP_TIMEOUT seconds.
reap() {
    local pid=$1 deadline
    deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    while pid_alive "$pid"; do
        if (($(now_ms) > deadline)); then
            kill -KILL "$pid" 2>/dev/null
            sleep 0.1
            pid_alive "$pid" && note "pid $pid survived SIGKILL"
            return 0
        fi
        sleep 0.05
    done
}

# `pid_of FILE IS_OF ARG...`: prints the pid written in FILE when `IS_OF PID ARG...` says it is
# still the peer's process, so that a recycled pid is never taken for it (or killed).
pid_of() {
    local file=$1 is_of=$2 pid=
    shift 2
    [[ -f $file ]] || return 1
    read -r pid <"$file" 2>/dev/null || return 1
    "$is_of" "$pid" "$@" || return 1
    printf '%s' "$pid"
}

# `stop_pid FILE IS_OF ARG...`: stops the process of FILE (see pid_of) with SIGTERM, then
# SIGKILL after STOP_TIMEOUT seconds, and removes FILE.
stop_pid() {
    local file=$1 pid
    if pid=$(pid_of "$@"); then
        kill -TERM "$pid" 2>/dev/null
        reap "$pid"
    fi
    rm -f -- "$file"
}

# `stop_locked STOP DIR`: runs `STOP DIR` (DIR made absolute) under the lock of state
# directory DIR; a DIR that does not exist has nothing to stop.
stop_locked() {
    local stop=$1 dir
    dir=$(canon_dir "$2")
    [[ -d $dir ]] || return 0
    lock_dir "$dir"
    "$stop" "$dir"
}

# True when something accepts connections on 127.0.0.1:$1.
tcp_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The HTTP status of `GET $2` on 127.0.0.1:$1 (empty when nothing answers within 3 s).
http_status() {
    local port=$1 path=$2
    # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner bash, from its arguments
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
        IFS=" " read -r _ status _ <&3 || exit 1
        printf "%s" "$status"
    ' _ "$port" "$path" 2>/dev/null || true
}

# True when 127.0.0.1:$1 answers `GET $2` with 200.
http_ok() {
    [[ $(http_status "$1" "$2") == 200 ]]
}

# `wait_until_ready NAME WHERE PID CHECK...`: polls until the command CHECK... succeeds. Returns
# 1 with a note when process PID (NAME, answering on WHERE) exits first or READY_TIMEOUT
# seconds pass.
wait_until_ready() {
    local name=$1 where=$2 pid=$3 deadline
    shift 3
    deadline=$(($(now_ms) + READY_TIMEOUT * 1000))
    until "$@"; do
        if ! pid_alive "$pid"; then
            note "$name (pid $pid) exited before it answered on $where"
            return 1
        fi
        if (($(now_ms) > deadline)); then
            note "$name did not answer on $where within ${READY_TIMEOUT}s"
            return 1
        fi
        sleep 0.1
    done
}

# `stop_with_owner DIR OWNER_PID RUNNING`: stops DIR's peer once process OWNER_PID is gone (a
# test process killed before it could run stop), from a watcher in its own session (a
# harness's ^C does not stop it half-way) that does not hold DIR's lock, which stop takes. The
# watcher ends on its own once `RUNNING DIR` fails (the peer was stopped otherwise); its
# output goes to DIR/watch.log.
stop_with_owner() {
    local dir=$1 owner=$2 running=$3 owner_start
    # An owner already gone: the watcher stops the peer at once.
    owner_start=$(proc_start_time "$owner") || owner_start=gone
    setsid bash "$SELF" __watch "$dir" "$owner" "$owner_start" "$running" </dev/null \
        >>"$dir/watch.log" 2>&1 {DIR_LOCK_FD}>&- &
}

# `__watch DIR OWNER_PID OWNER_START RUNNING` (internal, started by stop_with_owner): runs
# `cmd_stop DIR` once OWNER (pid and start time) has exited, while `RUNNING DIR` succeeds.
cmd___watch() {
    (($# == 4)) || die "usage: $PROG __watch DIR OWNER_PID OWNER_START RUNNING"
    local dir=$1 owner=$2 owner_start=$3 running=$4
    if [[ $running != *_pid ]] || ! declare -F "$running" >/dev/null; then
        die "bad RUNNING: $running"
    fi
    while [[ -d $dir ]] && "$running" "$dir" >/dev/null; do
        if [[ $(proc_start_time "$owner") != "$owner_start" ]]; then
            note "owner pid $owner exited: stopping $dir"
            cmd_stop "$dir"
            return
        fi
        sleep 1
    done
}

# Prints the last $2 lines of each non-empty log file $3... of directory $1 on stderr.
show_logs() {
    local dir=$1 lines=$2 f
    shift 2
    for f in "$@"; do
        if [[ -s $dir/$f ]]; then
            printf -- '--- %s (last %s lines) ---\n' "$dir/$f" "$lines" >&2
            tail -n "$lines" -- "$dir/$f" >&2
        fi
    done
}

# Takes the lock of state directory $1 (held on fd DIR_LOCK_FD until the script exits), so
# that two starts or stops of one directory do not interleave.
lock_dir() {
    local dir=$1
    exec {DIR_LOCK_FD}>"$dir/.lock" || die "cannot open $dir/.lock"
    flock -w 60 "$DIR_LOCK_FD" || die "timed out waiting for the lock on $dir"
}

# Takes the machine-wide setup lock $1 (held until the script exits), so that two setups of
# one peer do not install at once.
lock_setup() {
    local fd
    exec {fd}>"$1" || die "cannot open $1"
    flock -w 600 "$fd" || die "timed out waiting for $1"
}

# Makes every directory above $1 searchable by others, so that user $2 reaches $1.
make_reachable() {
    local d=$1 user=$2 perm
    while [[ $d != / ]]; do
        d=${d%/*}
        [[ -n $d ]] || d=/
        [[ -d $d ]] || continue
        perm=$(stat -L -c '%a' -- "$d") || die "cannot stat $d"
        if ((!(8#$perm & 1))); then
            chmod o+x -- "$d" || die "cannot make $d searchable for $user"
        fi
    done
}

# Installs Debian packages $@ quietly; on failure prints apt's last lines and returns 1. The
# packages' scripts may not start their daemons (sshd on 22, Prometheus on 9090, PostgreSQL on
# 5432 …): a policy-rc.d refuses while they install.
apt_install() {
    local log policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
    log=$(mktemp "/tmp/paaf-${PROG%.sh}-apt.XXXXXX") || die "mktemp failed"
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
    fi
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    } >"$log" 2>&1 || rc=$?
    ((made_policy)) && rm -f "$policy"
    if ((rc != 0)); then
        note "apt-get install $* failed (exit $rc):"
        tail -n 40 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# Installs python3 with venv (Debian's python3 and python3-venv) when it is missing, with the
# Debian packages $@ named after the commands they bring (openssl) when one of those is missing.
need_python_venv() {
    local missing=0 c
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing=1
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing=1
    done
    ((missing)) || return 0
    apt_install python3 python3-venv "$@"
}

# `pip_venv DIR SPEC...`: makes the venv DIR/venv holding the PyPI packages SPEC... (pinned,
# `name==version`). A venv is not relocatable, so it is built at its final path: the old one
# moves aside first and comes back if the install fails. On failure prints pip's last lines and
# returns 1.
pip_venv() {
    local dir=$1 log old rc=0
    shift
    log=$(mktemp "/tmp/paaf-${PROG%.sh}-pip.XXXXXX") || die "mktemp failed"
    mkdir -p -- "$dir" || die "cannot create $dir"
    old=$dir/venv.old
    rm -rf -- "$old"
    [[ -e $dir/venv ]] && { mv -- "$dir/venv" "$old" || die "cannot move the old venv"; }
    {
        python3 -m venv "$dir/venv" &&
            "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    } >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        note "pip install $* failed (exit $rc):"
        tail -n 40 "$log" >&2
        rm -rf -- "$dir/venv" "$log"
        [[ -e $old ]] && mv -- "$old" "$dir/venv"
        return 1
    fi
    rm -rf -- "$old" "$log"
}

# The newest PostgreSQL server binaries Debian installed ("" if none).
pg_bindir() {
    local d v best='' best_v=-1
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/pg_ctl && -x $d/initdb ]] || continue
        v=${d#/usr/lib/postgresql/}
        v=${v%%/*}
        v=${v%%.*}
        [[ $v =~ ^[0-9]+$ ]] || continue
        if ((10#$v > best_v)); then
            best=$d
            best_v=$((10#$v))
        fi
    done
    printf '%s' "$best"
}

# True when pid is the postmaster of the cluster in DIR/pg/data.
is_postmaster_of() {
    local pid=$1 dir=$2 args
    pid_alive "$pid" || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    [[ ${args[0]##*/} == postgres* && " ${args[*]} " == *" $dir/pg/data "* ]]
}

# The postmaster's pid of the cluster in DIR/pg/data, if it runs.
postmaster_pid() {
    pid_of "$1/pg/data/postmaster.pid" is_postmaster_of "$1"
}

# Stops the PostgreSQL cluster in $1/pg/data, if it runs (as user $PG_USER): a fast shutdown,
# then SIGQUIT, PostgreSQL's immediate shutdown.
stop_postgres() {
    local dir=$1 pid bin
    pid=$(postmaster_pid "$dir") || return 0
    bin=$(pg_bindir)
    if [[ -n $bin ]]; then
        runuser -u "$PG_USER" -- "$bin/pg_ctl" -D "$dir/pg/data" -m fast -w -t "$STOP_TIMEOUT" stop \
            >/dev/null 2>&1 {DIR_LOCK_FD}>&-
    fi
    pid_alive "$pid" && kill -QUIT "$pid" 2>/dev/null
    reap "$pid"
}

# Runs `cmd_NAME ARGS...` for the command line `NAME ARGS...` (a dash in NAME is an underscore
# in the function's name); `help` prints the usage, no command or an unknown one prints it on
# stderr and exits 2.
dispatch() {
    local cmd=${1:-} fn
    (($#)) && shift
    case $cmd in
    -h | --help | help)
        usage
        return
        ;;
    "")
        usage >&2
        exit 2
        ;;
    esac
    fn=cmd_${cmd//-/_}
    if [[ $cmd =~ ^[a-z_][a-z_-]*$ ]] && declare -F "$fn" >/dev/null; then
        "$fn" "$@"
    else
        note "unknown command: $cmd"
        usage >&2
        exit 2
    fi
}
