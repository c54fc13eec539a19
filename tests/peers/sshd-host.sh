#!/usr/bin/env bash
# sshd-host.sh - real OpenSSH "hosts" on 127.0.0.1 whose reboot is real from an
# SSH client's point of view: on `sudo -n shutdown -r now` (or reboot,
# systemctl reboot, ...) every connection drops, the port refuses for a while,
# then sshd is back with a new boot id.
#
# Each host is a supervisor running as pid 1 of its own pid + mount namespace
# (unshare), so "rebooting" is killing everything in that namespace. Inside the
# namespace only:
#   * /usr/local/sbin is a tmpfs holding fake shutdown/reboot/halt/poweroff/
#     systemctl/systemd-run (first in sudo's secure_path); the real binaries
#     are shadowed by the same fakes too, so an absolute /sbin/reboot is safe;
#     systemctl's unit verbs act on DIR/units/ (see the help);
#   * /usr/local/sbin/rebootx/runbooks/ holds copies of tests/peers/runbooks/;
#   * df prints DIR/df-answer instead of the disks while that file exists (a
#     full disk, an odd answer), else it is the real df;
#   * /proc/sys/kernel/random/boot_id shows DIR/boot_id (bind mount);
#   * /etc/machine-id shows DIR/machine_id (bind mount).
# The real /usr/local/sbin, boot_id and machine-id outside the namespaces are
# untouched.
#
# Used by the Rust integration tests, the demo and CI. Quiet on success;
# errors go to stderr with a non-zero exit status. Must run as root.

set -uo pipefail

readonly PROG=sshd-host.sh
readonly TEST_USER=paaf-test
readonly TEST_PASSWORD=paaf-test-password
readonly TEST_HOME=/home/paaf-test
# A second login without any sudo rights, for tests of a refused `sudo -n`.
readonly NOSUDO_USER=paaf-nosudo
# A third login whose sudo allows /usr/sbin/shutdown only (least privilege).
readonly SHUTDOWN_USER=paaf-shutdown
# A fourth login whose sudo allows `sh` only: what env-file flags run as root.
readonly SHELL_USER=paaf-shell
readonly SUDOERS_FILE=/etc/sudoers.d/paaf-test
readonly SHUTDOWN_SUDOERS_FILE=/etc/sudoers.d/paaf-shutdown
readonly SHELL_SUDOERS_FILE=/etc/sudoers.d/paaf-shell
readonly SETUP_LOCK=/run/paaf-sshd-setup.lock
readonly SSHD=/usr/sbin/sshd
readonly APT_PACKAGES="openssh-server openssh-client sudo util-linux mount procps"
readonly FAKE_NAMES="shutdown reboot halt poweroff systemctl systemd-run"
readonly READY_TIMEOUT=15

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
readonly SCRIPT_DIR=${SELF%/*}
# shellcheck source=tests/peers/lib.sh
source "$SCRIPT_DIR/lib.sh"
readonly RUNBOOKS_SRC=$SCRIPT_DIR/runbooks

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

Real OpenSSH sshd "hosts" on 127.0.0.1 with a simulated, but from the
client's side real, reboot. Run as root.

Commands:
  setup                          Idempotent machine setup: packages, user
                                 $TEST_USER (password $TEST_PASSWORD),
                                 passwordless sudo, /run/sshd; paaf-nosudo
                                 (same password, no sudo rights); and
                                 $SHUTDOWN_USER (same password, passwordless sudo
                                 for /usr/sbin/shutdown only); $SHELL_USER (same
                                 password, passwordless sudo for /usr/bin/sh only).
  start DIR PORT                 Start a host with state directory DIR on
                                 127.0.0.1:PORT; returns once sshd serves.
  stop DIR                       Stop the host (everything in its namespaces).
  rekey DIR                      New host key; restarts that host's sshd.
  status DIR                     Print state; exit 0 if running, 1 if not.
  fleet-start BASEDIR BASEPORT N Hosts BASEDIR/host-1..N on BASEPORT..+N-1.
  fleet-stop BASEDIR             Stop every BASEDIR/host-*.
  -h, --help                     This help.

Files in DIR (written by start unless noted):
  authorized_keys     public keys for $TEST_USER (the caller writes them,
                      before or after start; keep it readable, e.g. 0644)
  ssh_host_ed25519_key[.pub]  host key (kept across restarts, new on rekey)
  sshd_config, port, host.log (supervisor), sshd.log (sshd -e output)
  sshd_config.extra   (caller, optional) lines appended to sshd_config at
                      start, e.g. "Ciphers aes128-cbc" for a legacy server
  boot_id             simulated boot id, new at every reboot
  machine_id          simulated /etc/machine-id (made once; the caller may
                      rewrite it in place, as a different machine would have)
  reboot-count        number of simulated reboots
  supervisor.pid      pid of the unshare process (SIGTERM is ignored by it;
                      use stop, or SIGKILL)
  sshd.pid            sshd's pid INSIDE the host's pid namespace: do not
                      kill(1) it from outside
  down_secs           (caller, optional) seconds the host stays down; default 2
  df-answer           (caller, optional, 0644) while present, what df prints in
                      the host, whatever its arguments (e.g. a full disk)
  stay-down           (caller, optional) while present a rebooting host stays
                      down (port refused)
  reboot-requested    written by the fake shutdown & co. in the host
  units/UNIT          (caller, optional) UNIT exists for the fake systemctl
                      in the host: restart, start, stop, is-active [--quiet],
                      show -p LoadState|ActiveState [--value]; a name without
                      a dot means NAME.service; changing a unit needs root
  units/UNIT.fail     (caller, optional) while present restart/start of UNIT
                      fail (exit 1) and it is "failed"; holding a number N,
                      only the next N restarts fail (then the file goes)
  units/UNIT.active, units/UNIT.failed
                      written by the fake: the unit's state
  units/UNIT.log      one line per systemctl call on UNIT ("restart ok",
                      "restart failed", "is-active active", ...)
EOF
}

# Sleeps $1 seconds without forking: `read -t` on a pipe nobody writes to (this process holds
# both ends). A forked `sleep` costs ~1 ms of CPU, and 200 idle supervisors polling ten times a
# second that way kept two cores busy. A trapped signal (the supervisor's TERM) still ends the
# nap at once.
NAP_FD=
nap() {
    [[ -n $NAP_FD ]] || exec {NAP_FD}<> <(:)
    read -r -t "$1" -u "$NAP_FD" _
    # Above 128: the timeout (or a signal). Anything else: no usable pipe (bash said why on
    # stderr), sleep the old way.
    (($? > 128)) || sleep "$1"
    return 0
}

# Parent pid of a process ("" if gone).
pid_ppid() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${line##*) }
    read -r _ rest _ <<<"$rest"
    printf '%s' "$rest"
}

# True when pid is the unshare process of the supervisor for DIR.
is_supervisor_of() {
    local pid=$1 dir=$2 args i
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    ((${#args[@]} > 0)) || return 1
    [[ ${args[0]##*/} == unshare ]] || return 1
    for ((i = 1; i + 1 < ${#args[@]}; i++)); do
        if [[ ${args[i]} == __supervise && ${args[i + 1]} == "$dir" ]]; then
            return 0
        fi
    done
    return 1
}

# Prints the pids of supervisors (unshare processes) for DIR, one a line.
find_supervisors() {
    local dir=$1 pid p seen=" "
    if [[ -f $dir/supervisor.pid ]]; then
        read -r pid <"$dir/supervisor.pid" 2>/dev/null || pid=
        if is_supervisor_of "$pid" "$dir"; then
            printf '%s\n' "$pid"
            seen+="$pid "
        fi
    fi
    for pid in $(unshare_pids); do
        [[ $seen == *" $pid "* ]] && continue
        if is_supervisor_of "$pid" "$dir"; then
            printf '%s\n' "$pid"
            seen+="$pid "
        fi
    done
}

# The pids of every unshare process, one a line. pgrep reads /proc in C: the same walk in bash
# (a cmdline read per process) cost ~50 ms per start or stop with 200 hosts (600 processes) up.
unshare_pids() {
    local p
    if command -v pgrep >/dev/null; then
        pgrep -x unshare
        return 0
    fi
    for p in /proc/[0-9]*; do
        printf '%s\n' "${p#/proc/}"
    done
}

# Outer pid of the namespace's pid 1 (the child of the unshare process).
inner_pid() {
    local upid=$1 c p
    if [[ -r /proc/$upid/task/$upid/children ]]; then
        read -r c _ <"/proc/$upid/task/$upid/children" 2>/dev/null || c=
        [[ -n $c ]] && { printf '%s' "$c"; return 0; }
    fi
    for p in /proc/[0-9]*; do
        if [[ $(pid_ppid "${p#/proc/}") == "$upid" ]]; then
            printf '%s' "${p#/proc/}"
            return 0
        fi
    done
    return 1
}

# The base64 ed25519 host key served on 127.0.0.1:PORT ("" if none).
served_key() {
    local _h _t k
    read -r _h _t k _ < <(ssh-keyscan -T 2 -t ed25519 -p "$1" 127.0.0.1 2>/dev/null) || true
    printf '%s' "${k:-}"
}

file_key() {
    local _t k
    read -r _t k _ <"$1" 2>/dev/null || true
    printf '%s' "${k:-}"
}

# Waits until the sshd of this start listens on 127.0.0.1:PORT. sshd writes its PidFile (start
# removes it first) only once its listening socket is bound, after loading the host key in DIR:
# the file proves that this host serves the port, without the key exchange of an ssh-keyscan
# (~0.4 s and an sshd re-exec per host, which made starting 200 hosts crawl). Args: dir port upid.
wait_ready() {
    local dir=$1 port=$2 upid=$3 deadline nspid
    deadline=$(($(now_ms) + READY_TIMEOUT * 1000))
    while :; do
        if ! is_supervisor_of "$upid" "$dir"; then
            note "supervisor for $dir (pid $upid) died"
            show_logs "$dir" 40 host.log sshd.log
            return 1
        fi
        nspid=
        { read -r nspid <"$dir/sshd.pid"; } 2>/dev/null
        [[ $nspid =~ ^[0-9]+$ ]] && return 0
        if (($(now_ms) > deadline)); then
            note "sshd of $dir did not listen on 127.0.0.1:$port within ${READY_TIMEOUT}s"
            show_logs "$dir" 40 host.log sshd.log
            return 1
        fi
        nap 0.05
    done
}

# Closes every file descriptor of this (sub)shell above 2.
close_extra_fds() {
    local f fd
    # No redirection on the loop: bash would park a copy of stderr on a high
    # fd for it, and this loop would close that copy.
    for f in /proc/"$BASHPID"/fd/*; do
        fd=${f##*/}
        if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
            exec {fd}>&-
        fi
    done
}

# --------------------------------------------------------------------- setup

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    lock_setup "$SETUP_LOCK"

    local missing=0 c
    [[ -x $SSHD ]] || missing=1
    for c in sudo ssh ssh-keygen ssh-keyscan unshare nsenter setsid flock mount visudo; do
        command -v "$c" >/dev/null 2>&1 || missing=1
    done
    if ((missing)); then
        # shellcheck disable=SC2086 # the package list splits into words
        apt_install $APT_PACKAGES || exit 1
    fi
    [[ -x $SSHD ]] || die "$SSHD still missing after installing packages"

    if ! id -u "$TEST_USER" >/dev/null 2>&1; then
        useradd --create-home --home-dir "$TEST_HOME" --shell /bin/bash "$TEST_USER" ||
            die "useradd $TEST_USER failed"
    fi
    { mkdir -p "$TEST_HOME" && chown "$TEST_USER:" "$TEST_HOME"; } ||
        die "cannot prepare $TEST_HOME"
    printf '%s:%s\n' "$TEST_USER" "$TEST_PASSWORD" | chpasswd ||
        die "chpasswd for $TEST_USER failed"

    local user
    for user in "$NOSUDO_USER" "$SHUTDOWN_USER" "$SHELL_USER"; do
        if ! id -u "$user" >/dev/null 2>&1; then
            useradd --create-home --shell /bin/bash "$user" || die "useradd $user failed"
        fi
        printf '%s:%s\n' "$user" "$TEST_PASSWORD" | chpasswd || die "chpasswd for $user failed"
    done

    install_sudoers "$SUDOERS_FILE" "$TEST_USER ALL=(ALL) NOPASSWD: ALL"
    # The rule paaf's privilege error suggests, so the tests prove that it works.
    install_sudoers "$SHUTDOWN_SUDOERS_FILE" "$SHUTDOWN_USER ALL=(root) NOPASSWD: /usr/sbin/shutdown"
    install_sudoers "$SHELL_SUDOERS_FILE" "$SHELL_USER ALL=(root) NOPASSWD: /usr/bin/sh"

    { mkdir -p /run/sshd && chmod 0755 /run/sshd; } || die "cannot create /run/sshd"
}

# Installs FILE holding the one sudoers line RULE (0440, validated), unless it already does.
install_sudoers() {
    local file=$1 want=$2 tmp
    if [[ -f $file && "$(<"$file")" == "$want" && "$(stat -c '%a %u' "$file")" == "440 0" ]]; then
        return 0
    fi
    tmp=$(mktemp /etc/sudoers.d/.paaf-test.XXXXXX) || die "mktemp in /etc/sudoers.d failed"
    printf '%s\n' "$want" >"$tmp"
    chmod 0440 "$tmp"
    if ! visudo -c -q -f "$tmp" >/dev/null; then
        rm -f "$tmp"
        die "generated sudoers entry does not validate: $want"
    fi
    mv -f "$tmp" "$file" || die "cannot install $file"
}

# --------------------------------------------------------------------- start

write_sshd_config() {
    local dir=$1 port=$2 cfg=$1/sshd_config tmp
    tmp=$cfg.tmp
    cat >"$tmp" <<EOF
# Written by $PROG start; rewritten at every start.
Port $port
ListenAddress 127.0.0.1
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication yes
PermitEmptyPasswords no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $TEST_USER $NOSUDO_USER $SHUTDOWN_USER $SHELL_USER
PermitRootLogin no
MaxStartups 100
MaxSessions 100
MaxAuthTries 20
LogLevel VERBOSE
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
Subsystem sftp internal-sftp
EOF
    if [[ -f $dir/sshd_config.extra ]]; then
        cat -- "$dir/sshd_config.extra" >>"$tmp" || die "cannot read $dir/sshd_config.extra"
    fi
    # OpenSSH >= 9.8 penalises sources with many failed/aborted connections,
    # which a test fleet on 127.0.0.1 produces by design.
    if "$SSHD" -t -f "$tmp" -o PerSourcePenalties=no >/dev/null 2>&1; then
        printf 'PerSourcePenalties no\n' >>"$tmp"
    fi
    local err
    if ! err=$("$SSHD" -t -f "$tmp" 2>&1); then
        rm -f "$tmp"
        die "sshd rejects the generated config: $err"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$cfg" || die "cannot write $cfg"
}

new_uuid() {
    local u
    read -r u </proc/sys/kernel/random/uuid || return 1
    printf '%s' "$u"
}

cmd_start() {
    (($# == 2)) || die "usage: $PROG start DIR PORT"
    need_root
    local port=$2 dir
    is_port "$port" || die "bad port: $port"
    port=$((10#$port))
    dir=$(canon_dir "$1")

    [[ -x $SSHD ]] || die "$SSHD not found; run '$PROG setup' first"
    id -u "$TEST_USER" >/dev/null 2>&1 || die "user $TEST_USER missing; run '$PROG setup' first"
    command -v unshare >/dev/null || die "unshare not found; run '$PROG setup' first"
    mkdir -p /run/sshd || die "cannot create /run/sshd"

    mkdir -p -- "$dir" || die "cannot create $dir"
    chmod 0755 "$dir" || die "cannot chmod $dir"
    lock_dir "$dir"

    local upid old_port=
    upid=$(find_supervisors "$dir" | head -n 1)
    if [[ -n $upid ]]; then
        [[ -f $dir/port ]] && read -r old_port <"$dir/port"
        if [[ -n $old_port && $old_port != "$port" ]]; then
            die "$dir is already running on port $old_port (pid $upid), not $port"
        fi
        note "$dir already running on 127.0.0.1:$port (supervisor pid $upid)"
        return 0
    fi

    if tcp_open "$port"; then
        die "127.0.0.1:$port is already in use by another process"
    fi

    make_reachable "$dir" "$TEST_USER"

    local key=$dir/ssh_host_ed25519_key
    if [[ ! -s $key ]]; then
        rm -f -- "$key" "$key.pub"
        ssh-keygen -q -t ed25519 -N '' -C "paaf-sshd-host" -f "$key" </dev/null >/dev/null ||
            die "ssh-keygen for $key failed"
    elif [[ ! -s $key.pub ]]; then
        ssh-keygen -y -f "$key" >"$key.pub" || die "cannot derive $key.pub"
    fi
    chmod 0600 "$key"
    chmod 0644 "$key.pub"

    if [[ ! -e $dir/authorized_keys ]]; then
        : >"$dir/authorized_keys" || die "cannot create $dir/authorized_keys"
    fi
    chmod 0644 "$dir/authorized_keys"

    write_sshd_config "$dir" "$port"

    if [[ ! -s $dir/boot_id ]]; then
        { new_uuid && printf '\n'; } >"$dir/boot_id" || die "cannot write $dir/boot_id"
    fi
    chmod 0644 "$dir/boot_id"
    if [[ ! -s $dir/machine_id ]]; then
        { new_uuid | tr -d '-' && printf '\n'; } >"$dir/machine_id" ||
            die "cannot write $dir/machine_id"
    fi
    chmod 0644 "$dir/machine_id"
    [[ -s $dir/reboot-count ]] || printf '0\n' >"$dir/reboot-count"
    printf '%s\n' "$port" >"$dir/port"
    rm -f -- "$dir/reboot-requested" "$dir/supervisor.pid" "$dir/sshd.pid"
    printf '=== %(%F %T)T start port %s\n' -1 "$port" >>"$dir/host.log"

    # Detached supervisor: own session, and no inherited file descriptor (the
    # lock, or a caller's pipe that someone waits on for EOF) but its log.
    (
        close_extra_fds
        exec setsid nohup unshare --mount --pid --fork --mount-proc \
            --propagation private --kill-child \
            bash "$SELF" __supervise "$dir" "$port"
    ) </dev/null >>"$dir/host.log" 2>&1 &
    upid=$!
    printf '%s\n' "$upid" >"$dir/supervisor.pid"

    # The subshell, setsid and nohup exec in place: $! becomes the unshare.
    local i
    for ((i = 0; i < 50; i++)); do
        is_supervisor_of "$upid" "$dir" && break
        pid_alive "$upid" || break
        nap 0.02
    done

    if ! wait_ready "$dir" "$port" "$upid"; then
        stop_dir "$dir" >/dev/null 2>&1
        die "host $dir did not come up on 127.0.0.1:$port"
    fi
}

# ---------------------------------------------------------------------- stop

# Stops every supervisor of DIR; returns non-zero if one survives.
stop_dir() {
    local dir=$1 upid inner ok=0 deadline
    local -a ups=()
    mapfile -t ups < <(find_supervisors "$dir")
    for upid in "${ups[@]}"; do
        [[ -n $upid ]] || continue
        inner=$(inner_pid "$upid") || inner=
        # pid 1 of the namespace has a TERM trap; the unshare parent ignores TERM.
        [[ -n $inner ]] && kill -TERM "$inner" 2>/dev/null
        deadline=$(($(now_ms) + 5000))
        while pid_alive "$upid" && (($(now_ms) < deadline)); do nap 0.05; done
        if pid_alive "$upid" || { [[ -n $inner ]] && pid_alive "$inner"; }; then
            [[ -n $inner ]] && kill -KILL "$inner" 2>/dev/null
            kill -KILL "$upid" 2>/dev/null # --kill-child then kills pid 1 too
            deadline=$(($(now_ms) + 10000))
            while { pid_alive "$upid" || { [[ -n $inner ]] && pid_alive "$inner"; }; } &&
                (($(now_ms) < deadline)); do
                nap 0.05
            done
        fi
        if pid_alive "$upid" || { [[ -n $inner ]] && pid_alive "$inner"; }; then
            note "supervisor $upid for $dir does not die"
            ok=1
        fi
    done
    ((ok == 0)) && rm -f -- "$dir/supervisor.pid"
    return "$ok"
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    need_root
    local dir
    dir=$(canon_dir "$1")
    if [[ -d $dir ]]; then
        lock_dir "$dir"
    fi
    stop_dir "$dir" || die "could not stop $dir"
    if [[ -d $dir ]]; then
        { printf '=== %(%F %T)T stopped\n' -1 >>"$dir/host.log"; } 2>/dev/null
    fi
    return 0
}

# --------------------------------------------------------------------- rekey

cmd_rekey() {
    (($# == 1)) || die "usage: $PROG rekey DIR"
    need_root
    local dir upid inner port key want nspid
    dir=$(canon_dir "$1")
    [[ -d $dir ]] || die "no such host directory: $dir"
    lock_dir "$dir"
    upid=$(find_supervisors "$dir" | head -n 1)
    [[ -n $upid ]] || die "host $dir is not running"
    inner=$(inner_pid "$upid") || die "cannot find pid 1 of host $dir"
    read -r port <"$dir/port" 2>/dev/null || die "cannot read $dir/port"

    key=$dir/ssh_host_ed25519_key
    rm -f -- "$key.new" "$key.new.pub"
    ssh-keygen -q -t ed25519 -N '' -C "paaf-sshd-host" -f "$key.new" </dev/null >/dev/null ||
        die "ssh-keygen failed"
    chmod 0600 "$key.new"
    chmod 0644 "$key.new.pub"
    { mv -f -- "$key.new.pub" "$key.pub" && mv -f -- "$key.new" "$key"; } ||
        die "cannot replace $key"
    want=$(file_key "$key.pub")

    # sshd.pid holds the listener's pid inside the host's pid namespace: kill
    # it from in there, and only if it still is the listener (an sshd whose
    # parent is the supervisor, pid 1).
    read -r nspid <"$dir/sshd.pid" 2>/dev/null || nspid=
    if [[ $nspid =~ ^[0-9]+$ ]]; then
        # shellcheck disable=SC2016 # $1 is expanded by the inner bash
        nsenter -t "$inner" -p -m -- bash -c '
            read -r comm < "/proc/$1/comm" 2>/dev/null || exit 0
            read -r stat < "/proc/$1/stat" 2>/dev/null || exit 0
            rest=${stat##*) }; read -r _ ppid _ <<<"$rest"
            [[ $comm == sshd && $ppid == 1 ]] && kill -TERM "$1"
            exit 0' _ "$nspid" ||
            die "nsenter into host $dir failed"
    fi

    local deadline
    deadline=$(($(now_ms) + READY_TIMEOUT * 1000))
    while :; do
        if tcp_open "$port" && [[ $(served_key "$port") == "$want" ]]; then
            return 0
        fi
        if (($(now_ms) > deadline)); then
            show_logs "$dir" 40 host.log sshd.log
            die "host $dir does not serve the new key on 127.0.0.1:$port"
        fi
        nap 0.1
    done
}

# -------------------------------------------------------------------- status

cmd_status() {
    (($# == 1)) || die "usage: $PROG status DIR"
    local dir upid port='?' boot='?' count=0
    dir=$(canon_dir "$1")
    [[ -f $dir/port ]] && read -r port <"$dir/port"
    [[ -f $dir/boot_id ]] && read -r boot <"$dir/boot_id"
    [[ -f $dir/reboot-count ]] && read -r count <"$dir/reboot-count"
    upid=$(find_supervisors "$dir" | head -n 1)
    if [[ -z $upid ]]; then
        printf '%s stopped port=%s boot_id=%s reboots=%s\n' "$dir" "$port" "$boot" "$count"
        return 1
    fi
    local state=up
    tcp_open "$port" || state=down
    printf '%s running(%s) pid=%s port=%s boot_id=%s reboots=%s\n' \
        "$dir" "$state" "$upid" "$port" "$boot" "$count"
}

# --------------------------------------------------------------------- fleet

cmd_fleet_start() {
    (($# == 3)) || die "usage: $PROG fleet-start BASEDIR BASEPORT N"
    need_root
    local base=$1 baseport=$2 n=$3 i rc=0
    is_port "$baseport" || die "bad base port: $baseport"
    { [[ $n =~ ^[0-9]+$ ]] && ((10#$n >= 1)); } || die "bad host count: $n"
    n=$((10#$n))
    baseport=$((10#$baseport))
    ((baseport + n - 1 <= 65535)) || die "ports $baseport..$((baseport + n - 1)) out of range"
    mkdir -p -- "$base" || die "cannot create $base"
    local -a calls=()
    for ((i = 1; i <= n; i++)); do
        calls+=(start "$base/host-$i" "$((baseport + i - 1))")
    done
    run_bounded 3 "${calls[@]}" || rc=1
    ((rc == 0)) || die "some hosts of $base failed to start"
}

# `run_bounded K WORD...`: runs `SELF` with each group of K words as its arguments, four per
# core at a time; returns 1 if one failed. Hundreds of starts at once made a small machine
# thrash and each host miss its READY_TIMEOUT.
run_bounded() {
    local k=$1 running=0 rc=0 jobs
    shift
    jobs=$(($(nproc 2>/dev/null || echo 2) * 4))
    while (($# >= k)); do
        if ((running >= jobs)); then
            wait -n || rc=1
            running=$((running - 1))
        fi
        bash "$SELF" "${@:1:k}" &
        running=$((running + 1))
        shift "$k"
    done
    while ((running > 0)); do
        wait -n || rc=1
        running=$((running - 1))
    done
    return "$rc"
}

cmd_fleet_stop() {
    (($# == 1)) || die "usage: $PROG fleet-stop BASEDIR"
    need_root
    local base=$1 d rc=0
    local -a calls=()
    [[ -d $base ]] || return 0
    for d in "$base"/host-*/; do
        [[ -d $d ]] && calls+=(stop "${d%/}")
    done
    ((${#calls[@]} == 0)) || run_bounded 2 "${calls[@]}" || rc=1
    ((rc == 0)) || die "some hosts of $base failed to stop"
}

# ---------------------------------------------------------------- supervisor
# Runs as pid 1 of a fresh pid + mount namespace (started by cmd_start).

SUP_DIR=
SUP_SSHD_PID=

slog() {
    printf '%(%F %T)T supervisor: %s\n' -1 "$*"
}


# The unit verbs of the fake systemctl (restart, start, stop, is-active, show)
# over DIR/units: a unit exists while DIR/units/UNIT exists (the caller makes
# it; a name without a dot gets .service), is active while UNIT.active exists,
# and every restart/start fails (exit 1, unit "failed") while UNIT.fail exists
# (holding a number N: only the next N do). Each call is appended to UNIT.log
# as "VERB RESULT". Changing a unit needs root, as with the real one. Other
# verbs exit 0, as the plain fake always did.
install_fake_units() {
    local dir=$1 path=$2
    {
        printf '#!/bin/bash\n'
        printf 'units=%q\n' "$dir/units"
        cat <<'EOF'
quiet=0 value=0 prop=
args=()
while (($#)); do
    case $1 in
    -q | --quiet) quiet=1 ;;
    --value) value=1 ;;
    -p | --property) shift; prop=${1:-} ;;
    --property=*) prop=${1#*=} ;;
    --) shift; args+=("$@"); break ;;
    -*) ;;
    *) args+=("$1") ;;
    esac
    shift
done
verb=${args[0]:-}
unit=${args[1]:-}
case $verb in
restart | try-restart | reload-or-restart | start | stop | is-active | show) ;;
*) exit 0 ;;
esac
[[ -n $unit ]] || { echo "Too few arguments." >&2; exit 1; }
[[ $unit == *.* ]] || unit=$unit.service
[[ $unit != */* && $unit != .* ]] || { echo "Invalid unit name \"$unit\"." >&2; exit 1; }
u=$units/$unit
log() { printf '%s %s\n' "$verb" "$1" >>"$u.log" 2>/dev/null; }
say() { ((quiet)) || printf '%s\n' "$1"; }
state() {
    if [[ -e $u.active ]]; then echo active
    elif [[ -e $u.failed ]]; then echo failed
    else echo inactive; fi
}
case $verb in
is-active)
    if [[ ! -e $u ]]; then log inactive; say inactive; exit 4; fi
    s=$(state)
    log "$s"
    say "$s"
    [[ $s == active ]]
    exit
    ;;
show)
    if [[ -e $u ]]; then load=loaded; active=$(state); else load=not-found active=inactive; fi
    log "$load"
    for p in ${prop//,/ }; do
        case $p in LoadState) v=$load ;; ActiveState) v=$active ;; *) v= ;; esac
        if ((value)); then printf '%s\n' "$v"; else printf '%s=%s\n' "$p" "$v"; fi
    done
    exit 0
    ;;
esac
if ((EUID != 0)); then
    echo "Failed to $verb $unit: Access denied" >&2
    exit 4
fi
if [[ ! -e $u ]]; then
    log not-found
    echo "Failed to $verb $unit: Unit $unit not found." >&2
    exit 5
fi
if [[ $verb == stop ]]; then
    rm -f -- "$u.active" "$u.failed"
    log ok
    exit 0
fi
if [[ -e $u.fail ]]; then
    n=$(<"$u.fail")
    if [[ $n =~ ^[0-9]+$ ]]; then
        if ((n <= 1)); then rm -f -- "$u.fail"; else printf '%s\n' "$((n - 1))" >"$u.fail"; fi
    fi
    rm -f -- "$u.active"
    touch -- "$u.failed"
    log failed
    echo "Job for $unit failed because the control process exited with error code." >&2
    exit 1
fi
rm -f -- "$u.failed"
touch -- "$u.active"
log ok
exit 0
EOF
    } >"$path" || { slog "cannot write $path"; return 1; }
    chmod 0755 "$path"
}

install_fakes() {
    local dir=$1 fake name target real q units_fake
    mount -t tmpfs -o mode=0755,size=16m paaf-fake-sbin /usr/local/sbin ||
        { slog "cannot mount tmpfs on /usr/local/sbin"; return 1; }
    q=$(printf '%q' "$dir/reboot-requested")
    units_fake=/usr/local/sbin/.paaf-fake-units
    install_fake_units "$dir" "$units_fake" || return 1
    fake=/usr/local/sbin/.paaf-fake-power
    cat >"$fake" <<EOF
#!/bin/bash
# Fake power command of a paaf sshd-host: it only asks the supervisor for a
# simulated reboot (all connections drop, the port refuses, sshd comes back).
req=$q
name=\${0##*/}
want=1
case \$name in
systemctl)
    want=0
    for a in "\$@"; do
        case \$a in reboot | poweroff | halt) want=1 ;; esac
    done
    [ "\$want" = 0 ] && exec $units_fake "\$@"
    ;;
systemd-run)
    want=0
    for a in "\$@"; do
        case \$a in reboot | */reboot | shutdown | */shutdown) want=1 ;; esac
    done
    ;;
esac
if [ "\$want" = 1 ]; then
    if ! touch "\$req" 2>/dev/null; then
        echo "\$name: must be root (Permission denied)" >&2
        exit 1
    fi
fi
exit 0
EOF
    chmod 0755 "$fake"
    for name in $FAKE_NAMES; do
        cp "$fake" "/usr/local/sbin/$name" && chmod 0755 "/usr/local/sbin/$name"
    done

    # Shadow the real binaries too (only inside this mount namespace), so an
    # absolute /sbin/reboot or /bin/systemctl cannot reach the real machine.
    local -A done_targets=()
    for name in $FAKE_NAMES; do
        for target in /usr/sbin/"$name" /usr/bin/"$name" /sbin/"$name" /bin/"$name"; do
            [[ -e $target ]] || continue
            real=$(readlink -f -- "$target") || continue
            [[ -f $real && -z ${done_targets[$real]:-} ]] || continue
            # Never cover a multi-call binary such as busybox.
            [[ " $FAKE_NAMES " == *" ${real##*/} "* ]] || continue
            mount --bind "$fake" "$real" || slog "warning: cannot shadow $real"
            done_targets[$real]=1
        done
    done

    mkdir -p /usr/local/sbin/rebootx/runbooks
    if [[ -d $RUNBOOKS_SRC ]]; then
        cp -a -- "$RUNBOOKS_SRC"/. /usr/local/sbin/rebootx/runbooks/ ||
            slog "warning: copying runbooks from $RUNBOOKS_SRC failed"
    else
        slog "warning: no runbooks at $RUNBOOKS_SRC"
    fi
    chmod 0755 /usr/local/sbin/rebootx /usr/local/sbin/rebootx/runbooks
    install_fake_df "$dir"
}

# df prints DIR/df-answer while it exists, else runs the real df (a copy in the tmpfs,
# since the real path is covered by the fake). A /bin/sh script: a real host's df starts no
# shell, and bash's start (~1.5 ms of CPU) on each of 200 hosts probed at once was part of what
# `paaf host list` measured.
install_fake_df() {
    local dir=$1 real q copy=/usr/local/sbin/.paaf-real-df fake=/usr/local/sbin/.paaf-fake-df
    real=$(readlink -f -- "$(command -v df)") || { slog "warning: no df to shadow"; return 0; }
    cp -- "$real" "$copy" || { slog "warning: cannot copy $real"; return 0; }
    q="'${dir//\'/\'\\\'\'}/df-answer'"
    cat >"$fake" <<EOF
#!/bin/sh
# Fake df of a paaf sshd-host: DIR/df-answer while it exists, else the real df.
if [ -f $q ]; then
    cat $q
    exit 0
fi
exec $copy "\$@"
EOF
    chmod 0755 "$fake" "$copy"
    mount --bind "$fake" "$real" || slog "warning: cannot shadow $real"
}

# /etc/machine-id shows DIR/machine_id (made if this machine has none to cover).
bind_machine_id() {
    local dir=$1
    [[ -e /etc/machine-id ]] || return 0
    mount --bind "$dir/machine_id" /etc/machine-id
}

bind_boot_id() {
    local dir=$1 want seen
    read -r want <"$dir/boot_id" || return 1
    mount --bind "$dir/boot_id" /proc/sys/kernel/random/boot_id || return 1
    read -r seen </proc/sys/kernel/random/boot_id || return 1
    [[ $seen == "$want" ]]
}

# True while the supervisor's child $1 runs. bash reaps its children as they exit, so their /proc
# entry goes with them: a stat, where pid_alive's read of the state costs twenty times more in
# a loop every host runs ten times a second.
child_alive() {
    [[ -n $1 && -e /proc/$1 ]]
}

start_sshd() {
    "$SSHD" -D -e -f "$SUP_DIR/sshd_config" </dev/null >>"$SUP_DIR/sshd.log" 2>&1 &
    SUP_SSHD_PID=$!
    slog "sshd started (ns pid $SUP_SSHD_PID)"
}

# SIGKILL every process of this namespace but ourselves, until none is left.
kill_all() {
    local round p pid line victims
    for ((round = 0; round < 100; round++)); do
        victims=()
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            [[ $pid == 1 || $pid == "$BASHPID" || $pid == "$$" ]] && continue
            { read -r line <"$p/stat"; } 2>/dev/null || continue
            line=${line##*) }
            [[ ${line%% *} == Z ]] && continue
            victims+=("$pid")
        done
        ((${#victims[@]} == 0)) && return 0
        kill -KILL "${victims[@]}" 2>/dev/null
        nap 0.02
    done
    slog "warning: processes survive: ${victims[*]}"
}

do_reboot() {
    local dir=$SUP_DIR down=2 uuid seen count=0
    nap 0.3 # let the client see its command return
    rm -f -- "$dir/reboot-requested"
    slog "reboot requested: killing everything"
    kill_all
    SUP_SSHD_PID=
    if [[ -f $dir/down_secs ]]; then
        read -r down <"$dir/down_secs" || down=2
        [[ $down =~ ^[0-9]+([.][0-9]+)?$ ]] || {
            slog "bad down_secs '$down', using 2"
            down=2
        }
    fi
    slog "down for ${down}s"
    nap "$down"
    if [[ -e $dir/stay-down ]]; then
        slog "stay-down present: staying down"
        while [[ -e $dir/stay-down ]]; do
            [[ -d $dir ]] || break
            nap 0.1
        done
    fi
    [[ -d $dir ]] || return 0
    uuid=$(new_uuid)
    # Rewrite in place: the bind mount follows the inode, not the name.
    printf '%s\n' "$uuid" >"$dir/boot_id"
    read -r seen </proc/sys/kernel/random/boot_id
    if [[ $seen != "$uuid" ]]; then
        slog "boot_id bind mount is stale ($seen), re-binding"
        umount /proc/sys/kernel/random/boot_id 2>/dev/null
        bind_boot_id "$dir" || slog "warning: cannot re-bind boot_id"
    fi
    [[ -f $dir/reboot-count ]] && read -r count <"$dir/reboot-count"
    [[ $count =~ ^[0-9]+$ ]] || count=0
    printf '%s\n' "$((count + 1))" >"$dir/reboot-count"
    slog "booted: boot_id $uuid, reboot #$((count + 1))"
    start_sshd
}

# `__supervise DIR PORT` (internal): the host's pid 1, started by `start` inside its
# namespaces.
cmd___supervise() {
    (($# == 2)) || die "usage: $PROG __supervise DIR PORT"
    SUP_DIR=$1
    local port=$2 fails=0 started
    trap 'slog "terminated"; exit 0' TERM INT HUP
    (($$ == 1)) || { slog "must run as pid 1 of a new pid namespace"; exit 1; }
    slog "starting for $SUP_DIR on port $port"
    install_fakes "$SUP_DIR" || exit 1
    bind_boot_id "$SUP_DIR" || { slog "cannot bind $SUP_DIR/boot_id over the boot_id"; exit 1; }
    bind_machine_id "$SUP_DIR" || { slog "cannot bind $SUP_DIR/machine_id over /etc/machine-id"; exit 1; }
    rm -f -- "$SUP_DIR/reboot-requested"
    start_sshd
    started=$(now_ms)
    while :; do
        if [[ ! -d $SUP_DIR ]]; then
            slog "state directory removed: shutting down"
            exit 0
        fi
        if [[ -e $SUP_DIR/reboot-requested ]]; then
            do_reboot
            started=$(now_ms)
            fails=0
            continue
        fi
        if ! child_alive "$SUP_SSHD_PID"; then
            # Back off when sshd keeps dying at once (e.g. port taken).
            if (($(now_ms) - started < 1000)); then ((fails++)); else fails=0; fi
            slog "sshd exited; restarting"
            if ((fails > 5)); then nap 2; else nap 0.2; fi
            [[ -e $SUP_DIR/reboot-requested ]] && continue
            start_sshd
            started=$(now_ms)
            continue
        fi
        nap 0.1
    done
}

# ---------------------------------------------------------------------- main

dispatch "$@"
exit "$?"
