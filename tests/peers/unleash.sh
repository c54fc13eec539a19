#!/usr/bin/env bash
# unleash.sh - a real Unleash server (npm unleash-server, pinned below) on
# 127.0.0.1 over its own private PostgreSQL cluster (Debian postgresql), for
# paaf's feature-flag tests: real flags, real toggles through the admin API.
#
# The PostgreSQL cluster lives in DIR/pg and listens on a unix socket in that
# directory only (no TCP), so a test never touches a system cluster. Unleash
# gets an admin API token made at boot (written to DIR/admin-token), makes no
# outbound calls (no version check, no telemetry), and its `default` project
# has both of its environments, development and production, enabled.
#
# No systemd: PostgreSQL and Node are started directly, their pids kept in
# DIR. Used by the Rust integration tests, the demo and CI. Quiet on success;
# errors go to stderr with a non-zero exit status. Must run as root (setup
# installs packages; start runs PostgreSQL as the postgres user).

set -uo pipefail

readonly PROG=unleash.sh
readonly UNLEASH_VERSION=7.5.1
readonly APT_PACKAGES="postgresql"
readonly TOOLS_DIR=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/unleash
readonly SERVER_JS=$TOOLS_DIR/node_modules/unleash-server/dist/server.js
readonly SETUP_LOCK=/run/paaf-unleash-setup.lock
readonly PG_USER=postgres
readonly DB_NAME=unleash
# The socket's name is .s.PGSQL.<port>; with no TCP listener the number is
# only a name.
readonly PG_PORT=5432
readonly READY_TIMEOUT=90
readonly STOP_TIMEOUT=10
readonly ENVIRONMENTS="development production"

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
# shellcheck source=tests/peers/lib.sh
source "${SELF%/*}/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

A real Unleash $UNLEASH_VERSION on 127.0.0.1 with a private PostgreSQL cluster.

Commands:
  setup           Install what is missing: Debian $APT_PACKAGES (without
                  starting its service), Node.js >= 20, and npm
                  unleash-server@$UNLEASH_VERSION into $TOOLS_DIR
                  (reinstalled only when the pinned version changes).
  start DIR PORT [OWNER_PID]
                  Start PostgreSQL (cluster in DIR/pg, unix socket only) and
                  Unleash on 127.0.0.1:PORT; returns once /health answers and
                  the default project has the environments $ENVIRONMENTS.
                  With OWNER_PID, both are stopped when that process exits
                  (e.g. a test process killed by its runner before it could
                  run stop).
  stop DIR        Stop both (SIGTERM, then SIGKILL).
  -h, --help      This help.

Files in DIR (written by start):
  admin-token     the admin API token ("*:*.<hex>"), for Authorization:
  port            the Unleash port
  unleash.pid, unleash.log     the Node process
  pg/data/        the PostgreSQL cluster (postmaster.pid inside), pg/postgres.log
  watch.log       the OWNER_PID watcher's output, if any
EOF
}

node_major() {
    local v
    v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    printf '%s' "$v"
}

installed_unleash_version() {
    node -p "require('$TOOLS_DIR/node_modules/unleash-server/package.json').version" 2>/dev/null
}

# True when pid is the Unleash Node process of DIR: node running server.js
# with the marker argument --paaf-dir=DIR, so a recycled pid is never killed.
is_unleash_of() {
    local pid=$1 dir=$2 args a
    pid_alive "$pid" || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    ((${#args[@]} > 0)) || return 1
    [[ ${args[0]##*/} == node* ]] || return 1
    for a in "${args[@]:1}"; do
        [[ $a == "--paaf-dir=$dir" ]] && return 0
    done
    return 1
}

unleash_pid() {
    pid_of "$1/unleash.pid" is_unleash_of "$1"
}


# --------------------------------------------------------------------- setup

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    need_root
    lock_setup "$SETUP_LOCK"

    local -a missing=()
    [[ -n $(pg_bindir) ]] || missing+=("$APT_PACKAGES")
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
    command -v flock >/dev/null 2>&1 || missing+=(util-linux)
    if ((${#missing[@]})); then
        apt_install "${missing[@]}" || exit 1
    fi
    [[ -n $(pg_bindir) ]] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin after installing $APT_PACKAGES"
    id -u "$PG_USER" >/dev/null 2>&1 || die "user $PG_USER missing after installing $APT_PACKAGES"
    local major
    major=$(node_major) || die "node does not run"
    ((major >= 20)) || die "unleash-server $UNLEASH_VERSION needs Node.js >= 20, found $(node --version)"

    if [[ $(installed_unleash_version) != "$UNLEASH_VERSION" ]]; then
        install_unleash || exit 1
    fi
}

install_unleash() {
    local log rc=0 tmp
    log=$(mktemp /tmp/paaf-unleash-npm.XXXXXX) || die "mktemp failed"
    mkdir -p -- "${TOOLS_DIR%/*}" || die "cannot create ${TOOLS_DIR%/*}"
    # Installed beside, then swapped in: a failed install leaves the old one.
    tmp=$(mktemp -d "$TOOLS_DIR.new.XXXXXX") || die "mktemp -d failed"
    printf '{"name":"paaf-unleash-peer","private":true}\n' >"$tmp/package.json"
    # --ignore-scripts: no install script is needed (the optional native
    # modules of the ssh2 dependency fall back to JavaScript), and none may
    # download anything.
    (cd "$tmp" && npm install --no-audit --no-fund --no-update-notifier --omit=dev \
        --ignore-scripts --loglevel=error "unleash-server@$UNLEASH_VERSION") >"$log" 2>&1 || rc=$?
    if ((rc != 0)) || [[ ! -f $tmp/node_modules/unleash-server/dist/server.js ]]; then
        note "npm install unleash-server@$UNLEASH_VERSION failed (exit $rc):"
        tail -n 40 "$log" >&2
        rm -rf -- "$tmp" "$log"
        return 1
    fi
    rm -f "$log"
    rm -rf -- "$TOOLS_DIR.old"
    if [[ -e $TOOLS_DIR ]]; then
        mv -- "$TOOLS_DIR" "$TOOLS_DIR.old" || die "cannot move the old $TOOLS_DIR away"
    fi
    mv -- "$tmp" "$TOOLS_DIR" || die "cannot move the new install to $TOOLS_DIR"
    rm -rf -- "$TOOLS_DIR.old"
}

# --------------------------------------------------------------------- start

as_pg() {
    runuser -u "$PG_USER" -- "$@"
}

start_postgres() {
    local dir=$1 bin pg=$1/pg
    bin=$(pg_bindir)
    [[ -n $bin ]] || die "PostgreSQL not installed; run '$PROG setup' first"
    mkdir -p -- "$pg" || die "cannot create $pg"
    { chown "$PG_USER:" "$pg" && chmod 0700 "$pg"; } || die "cannot hand $pg to $PG_USER"
    if [[ ! -s $pg/data/PG_VERSION ]]; then
        rm -rf -- "$pg/data"
        as_pg "$bin/initdb" -D "$pg/data" -U "$PG_USER" --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$pg/initdb.log" 2>&1 ||
            { tail -n 30 "$pg/initdb.log" >&2; die "initdb in $pg/data failed"; }
    fi
    if postmaster_pid "$dir" >/dev/null; then
        return 0
    fi
    # No TCP at all; the socket in DIR/pg. setsid: not in the caller's process
    # group, so a harness's ^C does not leave it half-stopped; the lock fd is
    # closed in the server, or it would hold DIR's lock forever.
    setsid -w runuser -u "$PG_USER" -- "$bin/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" -w -t 60 \
        -o "-c listen_addresses= -c unix_socket_directories=$pg -p $PG_PORT -c fsync=off" \
        start >/dev/null 2>&1 {DIR_LOCK_FD}>&- ||
        { show_logs "$dir" 30 pg/postgres.log unleash.log; die "PostgreSQL in $pg/data did not start"; }
    if ! "$bin/psql" -h "$pg" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        "$bin/createdb" -h "$pg" -p "$PG_PORT" -U "$PG_USER" "$DB_NAME" ||
            die "cannot create database $DB_NAME"
    fi
}

new_token_secret() {
    local hex
    hex=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') || return 1
    [[ ${#hex} == 48 ]] || return 1
    printf '%s' "$hex"
}

start_unleash() {
    local dir=$1 port=$2 token pid
    [[ -f $SERVER_JS ]] || die "unleash-server not installed in $TOOLS_DIR; run '$PROG setup' first"
    if [[ ! -s $dir/admin-token ]]; then
        local secret
        secret=$(new_token_secret) || die "cannot make a token"
        (umask 077 && printf '*:*.%s\n' "$secret" >"$dir/admin-token") ||
            die "cannot write $dir/admin-token"
    fi
    read -r token <"$dir/admin-token" || die "cannot read $dir/admin-token"
    printf '%s\n' "$port" >"$dir/port"
    # Every outbound call is off: the version check (and its URL pointed at a
    # closed loopback port, should a default change), telemetry.
    (
        cd "$TOOLS_DIR" || exit 1
        exec env \
            HTTP_HOST=127.0.0.1 HTTP_PORT="$port" \
            DATABASE_HOST="$dir/pg" DATABASE_PORT="$PG_PORT" DATABASE_NAME="$DB_NAME" \
            DATABASE_USERNAME="$PG_USER" DATABASE_PASSWORD=unused DATABASE_SSL=false \
            INIT_ADMIN_API_TOKENS="$token" \
            CHECK_VERSION=false UNLEASH_VERSION_URL=http://127.0.0.1:9/ SEND_TELEMETRY=false \
            UNLEASH_URL="http://127.0.0.1:$port" UNLEASH_SECRET="$(new_token_secret)" \
            LOG_LEVEL=warn \
            setsid node "$SERVER_JS" "--paaf-dir=$dir" </dev/null >"$dir/unleash.log" 2>&1 \
            {DIR_LOCK_FD}>&-
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$dir/unleash.pid" || die "cannot write $dir/unleash.pid"
}

# Enables every environment of ENVIRONMENTS in the default project (the admin
# API: GET .../projects/default/overview, POST .../projects/default/environments),
# through Node's fetch.
enable_environments() {
    local dir=$1 port=$2 token
    read -r token <"$dir/admin-token" || return 1
    # SC2016: the script is JavaScript, not shell; SC2086: one argument per
    # environment.
    # shellcheck disable=SC2016,SC2086
    PAAF_UNLEASH_TOKEN=$token node --input-type=module -e '
        const [base, ...envs] = process.argv.slice(1);
        const headers = {
            authorization: process.env.PAAF_UNLEASH_TOKEN,
            "content-type": "application/json",
        };
        const url = `${base}/api/admin/projects/default`;
        const project = await fetch(`${url}/overview`, { headers });
        if (!project.ok) throw new Error(`GET ${url}/overview: ${project.status} ${await project.text()}`);
        const body = await project.json();
        const have = new Set((body.environments ?? []).map((e) => e.environment ?? e));
        for (const env of envs) {
            if (have.has(env)) continue;
            const r = await fetch(`${url}/environments`, {
                method: "POST", headers, body: JSON.stringify({ environment: env }),
            });
            if (!r.ok) throw new Error(`enable ${env}: ${r.status} ${await r.text()}`);
        }
    ' "http://127.0.0.1:$port" $ENVIRONMENTS
}

cmd_start() {
    (($# == 2 || $# == 3)) || die "usage: $PROG start DIR PORT [OWNER_PID]"
    need_root
    local port=$2 dir owner=${3:-}
    is_port "$port" || die "bad port: $port"
    if [[ -n $owner ]]; then
        proc_start_time "$owner" >/dev/null || die "owner pid $owner is not running"
    fi
    port=$((10#$port))
    dir=$(canon_dir "$1")
    command -v node >/dev/null 2>&1 || die "node not found; run '$PROG setup' first"

    mkdir -p -- "$dir" || die "cannot create $dir"
    lock_dir "$dir"

    local pid old_port=
    if pid=$(unleash_pid "$dir"); then
        [[ -f $dir/port ]] && read -r old_port <"$dir/port"
        if [[ $old_port == "$port" ]]; then
            note "$dir already running on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        die "$dir is already running on port ${old_port:-?} (pid $pid); stop it first"
    fi
    tcp_open "$port" && die "127.0.0.1:$port is already in use by another process"

    make_reachable "$dir/pg" "$PG_USER"
    start_postgres "$dir"
    start_unleash "$dir" "$port"
    local err
    read -r pid <"$dir/unleash.pid" || pid=
    if ! wait_until_ready unleash "127.0.0.1:$port/health" "$pid" http_ok "$port" /health; then
        show_logs "$dir" 30 pg/postgres.log unleash.log
        stop_all "$dir"
        exit 1
    fi
    if ! err=$(enable_environments "$dir" "$port" 2>&1); then
        note "cannot enable the environments $ENVIRONMENTS in the default project: $err"
        show_logs "$dir" 30 pg/postgres.log unleash.log
        stop_all "$dir"
        exit 1
    fi
    [[ -z $owner ]] || stop_with_owner "$dir" "$owner" unleash_pid
}

# ---------------------------------------------------------------------- stop

stop_all() {
    local dir=$1
    stop_pid "$dir/unleash.pid" is_unleash_of "$dir"
    stop_postgres "$dir"
}

cmd_stop() {
    (($# == 1)) || die "usage: $PROG stop DIR"
    need_root
    stop_locked stop_all "$1"
}

# ---------------------------------------------------------------------- main

dispatch "$@"
