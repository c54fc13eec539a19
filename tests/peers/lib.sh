# shellcheck shell=bash
# lib.sh - the helpers every peer script in tests/peers shares: messages, argument checks,
# processes, loopback TCP/HTTP probes, state-directory locks, Debian packages and the command
# dispatch. Sourced, never run; the script that sources it sets PROG (its name in messages)
# and defines usage and its cmd_NAME functions.

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
