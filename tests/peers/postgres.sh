#!/usr/bin/env bash
# postgres.sh - a real PostgreSQL (Debian postgresql, the one unleash.sh uses) for the relay's
# PostgreSQL mode: a private cluster in DIR/pg, on 127.0.0.1:PORT (TCP, password
# authentication, as an existing database server would be) and a unix socket in DIR/pg, with
# a database `paaf_relay` owned by the user `paaf_relay`, whose random password is written
# to DIR/password (0600). Several relay instances share it as they would behind a load
# balancer.
#
# No systemd: the postmaster is started directly, as the postgres user. Used by the Rust
# integration tests and the relay benchmark. Quiet on success; errors go to stderr with a
# non-zero exit status. Must run as root.

set -uo pipefail

readonly PROG=postgres.sh
readonly APT_PACKAGES="postgresql"
readonly SETUP_LOCK=/run/paaf-postgres-setup.lock
readonly PG_USER=postgres
readonly DB_NAME=paaf_relay
readonly DB_USER=paaf_relay
readonly READY_TIMEOUT=60
readonly STOP_TIMEOUT=10

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
# shellcheck source=tests/peers/lib.sh
source "${SELF%/*}/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

A private PostgreSQL cluster on 127.0.0.1, with a database $DB_NAME for paaf-relay.

Commands:
  setup           Install what is missing: Debian $APT_PACKAGES (without starting its
                  service).
  start DIR PORT [OWNER_PID]
                  Start the cluster in DIR/pg on 127.0.0.1:PORT; returns once the
                  database $DB_NAME answers as user $DB_USER with its password. With
                  OWNER_PID, it is stopped when that process exits.
  stop DIR        Stop it (fast shutdown, then SIGQUIT).
  -h, --help      This help.

Files in DIR (written by start):
  password        $DB_USER's password (0600)
  port            the TCP port
  url             postgres://$DB_USER@127.0.0.1:PORT/$DB_NAME (no password)
  pg/data/        the cluster (postmaster.pid inside), pg/postgres.log
  watch.log       the OWNER_PID watcher's output, if any
EOF
}

as_pg() {
    runuser -u "$PG_USER" -- "$@"
}

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    local fd
    exec {fd}>"$SETUP_LOCK" || die "cannot open $SETUP_LOCK"
    flock -w 600 "$fd" || die "timed out waiting for $SETUP_LOCK"
    local -a missing=()
    [[ -n $(pg_bindir) ]] || missing+=("$APT_PACKAGES")
    command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
    if ((${#missing[@]})); then
        apt_install "${missing[@]}" || exit 1
    fi
    [[ -n $(pg_bindir) ]] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin after installing $APT_PACKAGES"
}

# True when the database answers over TCP as DB_USER with its password.
answers() {
    local dir=$1 port=$2 bin password
    bin=$(pg_bindir)
    read -r password <"$dir/password" || return 1
    PGPASSWORD=$password PGCONNECT_TIMEOUT=2 "$bin/psql" -h 127.0.0.1 -p "$port" -U "$DB_USER" \
        -d "$DB_NAME" -tAq -c 'SELECT 1' 2>/dev/null | grep -q 1
}

cmd_start() {
    (($# == 2 || $# == 3)) || die "usage: $PROG start DIR PORT [OWNER_PID]"
    need_root
    local port=$2 dir owner=${3:-} bin pg
    is_port "$port" || die "bad port: $port"
    if [[ -n $owner ]]; then
        proc_start_time "$owner" >/dev/null || die "owner pid $owner is not running"
    fi
    port=$((10#$port))
    dir=$(canon_dir "$1")
    pg=$dir/pg
    bin=$(pg_bindir)
    [[ -n $bin ]] || die "PostgreSQL not installed; run '$PROG setup' first"
    mkdir -p -- "$pg" || die "cannot create $pg"
    lock_dir "$dir"
    if postmaster_pid "$dir" >/dev/null; then
        [[ $(cat "$dir/port" 2>/dev/null) == "$port" ]] && return 0
        die "$dir is already running on port $(cat "$dir/port" 2>/dev/null); stop it first"
    fi
    tcp_open "$port" && die "127.0.0.1:$port is already in use by another process"
    make_reachable "$pg" "$PG_USER"
    { chown "$PG_USER:" "$pg" && chmod 0700 "$pg"; } || die "cannot hand $pg to $PG_USER"
    if [[ ! -s $pg/data/PG_VERSION ]]; then
        rm -rf -- "$pg/data"
        # The socket (the postgres superuser, trust) is for this script only; TCP asks for
        # a password, as a shared database server does.
        as_pg "$bin/initdb" -D "$pg/data" -U "$PG_USER" --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$pg/initdb.log" 2>&1 ||
            { tail -n 30 "$pg/initdb.log" >&2; die "initdb in $pg/data failed"; }
    fi
    if [[ ! -s $dir/password ]]; then
        (umask 077 && { od -An -N18 -tx1 /dev/urandom | tr -d ' \n' && echo; } >"$dir/password") ||
            die "cannot write $dir/password"
    fi
    printf '%s\n' "$port" >"$dir/port" || die "cannot write $dir/port"
    printf 'postgres://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$port" "$DB_NAME" >"$dir/url"
    setsid -w runuser -u "$PG_USER" -- "$bin/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" -w \
        -t "$READY_TIMEOUT" \
        -o "-c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg -p $port -c max_connections=200" \
        start >/dev/null 2>&1 {DIR_LOCK_FD}>&- ||
        { show_logs "$dir" 30 pg/postgres.log; die "PostgreSQL in $pg/data did not start"; }
    local password
    read -r password <"$dir/password"
    # The role and database, made once; the password is set on every start (a new one
    # written by hand is taken).
    as_pg "$bin/psql" -h "$pg" -p "$port" -U "$PG_USER" -d postgres -tAq -v ON_ERROR_STOP=1 \
        -v user="$DB_USER" -v password="$password" >/dev/null 2>"$pg/psql.err" <<'SQL' ||
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'password') \gexec
SQL
        { cat "$pg/psql.err" >&2; die "cannot make the role $DB_USER"; }
    if ! as_pg "$bin/psql" -h "$pg" -p "$port" -U "$PG_USER" -d postgres -tAq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        as_pg "$bin/createdb" -h "$pg" -p "$port" -U "$PG_USER" -O "$DB_USER" "$DB_NAME" ||
            die "cannot create database $DB_NAME"
    fi
    answers "$dir" "$port" || { show_logs "$dir" 30 pg/postgres.log; die "$DB_NAME does not answer as $DB_USER on 127.0.0.1:$port"; }
    [[ -z $owner ]] || stop_with_owner "$dir" "$owner" postmaster_pid
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    need_root
    stop_locked stop_postgres "$1"
}

dispatch "$@"
