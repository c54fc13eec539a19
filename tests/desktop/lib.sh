# shellcheck shell=bash disable=SC2034 # DESK_* results are read by the caller
# Shared by tests/desktop/run.sh and tests/bench/desktop.sh (sourced, not run): the tools the
# real-window tests need, the app build, free loopback ports, Xvfb, and stopping every process
# the caller started. Callers set `set -euo pipefail`, call desk_init, and trap desk_cleanup.

DESK_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DESK_TOOLS=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}
DESK_RUN=""      # this run's scratch directory (desk_init)
DESK_PIDS=()     # processes to stop, newest last
DESK_HOSTS=()    # sshd-host.sh state directories to stop
DESK_PORTS=()    # ports handed out in this run (not handed out twice)
# Results for the caller (set by the functions below; globals, so no subshell loses state).
DESK_APP=""          # desk_build_app: the app binary
DESK_VENV=""         # desk_venv: the Python venv
DESK_TAURI_DRIVER="" # desk_tauri_driver: the tauri-driver binary
DESK_PORT=""         # desk_free_port
DESK_HOST_PORT=""    # desk_start_host: the host's port

desk_log() { printf '[%(%T)T] %s\n' -1 "$*" >&2; }
desk_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Creates the run directory and marks every process started from here on with it
# (PAAF_DESKTOP_RUN in its environment), so that cleanup finds strays by that mark only.
desk_init() {
  DESK_RUN=$(mktemp -d "${TMPDIR:-/tmp}/paaf-desktop.XXXXXX")
  chmod 0755 "$DESK_RUN"
  export PAAF_DESKTOP_RUN="$DESK_RUN"
}

# Debian packages (scripts/install-deps.sh is idempotent and quick when nothing is missing),
# plus two it does not list: python3-venv (the venv) and x11-utils (xwininfo).
desk_install_debs() {
  "$DESK_REPO/scripts/install-deps.sh" >&2
  local extra=()
  python3 -c 'import ensurepip, venv' 2>/dev/null || extra+=(python3-venv)
  command -v xwininfo >/dev/null || extra+=(x11-utils)
  if [ ${#extra[@]} -gt 0 ]; then
    desk_log "installing ${extra[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${extra[@]}" >/dev/null
  fi
  local c
  for c in Xvfb WebKitWebDriver dbus-daemon xwininfo import ssh-keyscan ssh-keygen; do
    command -v "$c" >/dev/null || desk_die "$c is missing after installing the dependencies"
  done
}

# tauri-driver (WebDriver for Tauri apps), into $DESK_TOOLS/bin, only if missing.
# Sets DESK_TAURI_DRIVER.
desk_tauri_driver() {
  DESK_TAURI_DRIVER=$DESK_TOOLS/bin/tauri-driver
  if [ ! -x "$DESK_TAURI_DRIVER" ]; then
    desk_log "installing tauri-driver into $DESK_TOOLS"
    timeout 1200 cargo install tauri-driver --version '^2' --locked --root "$DESK_TOOLS" --quiet >&2
  fi
}

# A venv with the pinned Python packages of tests/desktop/requirements.txt; reinstalled when
# that file changes. Sets DESK_VENV.
desk_venv() {
  local req=$DESK_REPO/tests/desktop/requirements.txt stamp
  DESK_VENV=$DESK_TOOLS/venv
  stamp=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$DESK_VENV/bin/python" ] || [ "$(cat "$DESK_VENV/.paaf-requirements" 2>/dev/null)" != "$stamp" ]; then
    desk_log "setting up the Python venv $DESK_VENV"
    rm -rf "$DESK_VENV"
    python3 -m venv "$DESK_VENV"
    timeout 600 "$DESK_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
    printf '%s\n' "$stamp" >"$DESK_VENV/.paaf-requirements"
  fi
}

# Builds ui/dist, then the app that embeds it. `tauri/custom-protocol` makes the app serve the
# embedded ui/dist; without it tauri builds in dev mode and loads build.devUrl
# (http://127.0.0.1:5173) instead, in debug and release alike.
# $1: "debug" or "release". Sets DESK_APP to the binary.
desk_build_app() {
  local profile=$1 args=(build -p paaf-desktop --locked --features tauri/custom-protocol)
  [ "$profile" = release ] && args+=(--release)
  desk_log "building the UI (scripts/build-ui.sh)"
  timeout 900 "$DESK_REPO/scripts/build-ui.sh" >&2
  desk_log "building the app: cargo ${args[*]}"
  (cd "$DESK_REPO" && timeout 3000 cargo "${args[@]}" --quiet >&2)
  DESK_APP=$CARGO_TARGET_DIR/$profile/paaf-desktop
  [ -x "$DESK_APP" ] || desk_die "no app binary at $DESK_APP"
}

# A port in 44000-44999 that nothing listens on and this run has not handed out yet.
# Sets DESK_PORT.
desk_free_port() {
  local p i u used
  for i in $(seq 1 200); do
    p=$((44000 + (RANDOM + i) % 1000))
    used=""
    for u in "${DESK_PORTS[@]}"; do [ "$u" = "$p" ] && used=1; done
    [ -n "$used" ] && continue
    if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      DESK_PORTS+=("$p")
      DESK_PORT=$p
      return 0
    fi
  done
  desk_die "no free port in 44000-44999"
}

# Starts one sshd test host (tests/peers/sshd-host.sh) in $1 that accepts the public key $2,
# on a free port (a few tries: another process may take the port first). Sets DESK_HOST_PORT.
desk_start_host() {
  local dir=$1 pub=$2 try
  mkdir -p "$dir"
  cp "$pub" "$dir/authorized_keys"
  chmod 0644 "$dir/authorized_keys"
  DESK_HOSTS+=("$dir")
  for try in 1 2 3 4 5; do
    desk_free_port
    if bash "$DESK_REPO/tests/peers/sshd-host.sh" start "$dir" "$DESK_PORT" >"$dir.start.log" 2>&1; then
      DESK_HOST_PORT=$DESK_PORT
      return 0
    fi
    desk_log "sshd host on port $DESK_PORT did not start (try $try): $(tail -n 1 "$dir.start.log")"
  done
  desk_die "could not start an sshd host (see $dir.start.log)"
}

# One sshd host "web-1" with a fresh ed25519 client key, and a paaf config for it (its host key
# already in known_hosts) in $DESK_RUN/config; exports PAAF_CONFIG. Arg: the operator name.
desk_web1_config() {
  local operator=$1 cfg=$DESK_RUN/config
  mkdir -p "$cfg"
  ssh-keygen -q -t ed25519 -N '' -C "$operator" -f "$cfg/id_ed25519" </dev/null
  desk_start_host "$DESK_RUN/web-1" "$cfg/id_ed25519.pub"
  desk_log "sshd host web-1 on 127.0.0.1:$DESK_HOST_PORT"
  ssh-keyscan -p "$DESK_HOST_PORT" 127.0.0.1 2>/dev/null >>"$cfg/known_hosts"
  [ -s "$cfg/known_hosts" ] || desk_die "ssh-keyscan got no host key from 127.0.0.1:$DESK_HOST_PORT"
  cat >"$cfg/config.toml" <<EOF
operator = "$operator"

[[hosts]]
name = "web-1"
address = "127.0.0.1"
port = $DESK_HOST_PORT
user = "paaf-test"
auth = { type = "key", path = "$cfg/id_ed25519" }
[hosts.reboot]
backoff_max_secs = 1
EOF
  export PAAF_CONFIG=$cfg/config.toml
}

# Starts Xvfb on a free display (-displayfd: the server picks it); exports DISPLAY.
desk_start_xvfb() {
  local fdfile=$DESK_RUN/xvfb.display i
  : >"$fdfile"
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset \
    3>"$fdfile" >"$DESK_RUN/xvfb.log" 2>&1 &
  DESK_PIDS+=("$!")
  for i in $(seq 1 100); do
    if [ -s "$fdfile" ]; then
      DISPLAY=":$(tr -d '[:space:]' <"$fdfile")"
      export DISPLAY
      desk_log "Xvfb on $DISPLAY"
      return 0
    fi
    kill -0 "${DESK_PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$DESK_RUN/xvfb.log" >&2
  desk_die "Xvfb did not start"
}

# The environment the app gets, like a desktop session's: a private runtime dir and D-Bus
# session bus of this run (without one, GLib autolaunches a bus daemon per app start that
# outlives the app), secrets in the kernel keyring (enough for key auth), no ssh-agent, no
# accessibility bridge, and a desktop user's locale, the same on every machine
# (PAAF_DESKTOP_LANG; it need not be generated: WebKit takes navigator.language from it;
# tests/desktop covers LANG=C.UTF-8 on its own).
desk_app_env() {
  unset SSH_AUTH_SOCK LC_ALL LC_MESSAGES LANGUAGE
  export LANG=${PAAF_DESKTOP_LANG:-en_US.UTF-8}
  export PAAF_KEYRING=keyutils NO_AT_BRIDGE=1
  export XDG_RUNTIME_DIR=$DESK_RUN/xdg-runtime
  mkdir -p "$XDG_RUNTIME_DIR"
  chmod 0700 "$XDG_RUNTIME_DIR"
  local bus=$XDG_RUNTIME_DIR/bus i
  dbus-daemon --session --nofork --nopidfile --address="unix:path=$bus" \
    >"$DESK_RUN/dbus.log" 2>&1 &
  DESK_PIDS+=("$!")
  for i in $(seq 1 50); do
    [ -S "$bus" ] && break
    sleep 0.1
  done
  [ -S "$bus" ] || desk_die "the D-Bus session bus did not start: $(cat "$DESK_RUN/dbus.log")"
  export DBUS_SESSION_BUS_ADDRESS=unix:path=$bus
}

# Pids of processes whose environment carries this run's mark (children the callers did not
# start directly: the app, WebKit's processes, WebKitWebDriver), except this shell and the
# subshell running this function.
desk_marked_pids() {
  # The list is taken here, so the grep below (marked too) is not in it.
  local files=(/proc/[0-9]*/environ) f pid
  while read -r f; do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] || printf '%s\n' "$pid"
  done < <(grep -lzxF "PAAF_DESKTOP_RUN=$DESK_RUN" "${files[@]}" 2>/dev/null)
}

# Stops the hosts, then every started process (TERM, then KILL after 5 s), then any stray
# process carrying this run's mark; removes the run directory unless PAAF_DESKTOP_KEEP=1.
desk_cleanup() {
  local rc=$? dir pid i alive
  set +e
  for dir in "${DESK_HOSTS[@]}"; do
    bash "$DESK_REPO/tests/peers/sshd-host.sh" stop "$dir" >/dev/null 2>&1
  done
  for ((i = ${#DESK_PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${DESK_PIDS[i]}" 2>/dev/null
  done
  if [ -n "$DESK_RUN" ]; then
    for i in $(seq 1 50); do
      alive=$(desk_marked_pids)
      [ -z "$alive" ] && break
      [ "$i" = 20 ] && for pid in $alive; do kill -TERM "$pid" 2>/dev/null; done
      sleep 0.1
    done
    for pid in $(desk_marked_pids); do kill -KILL "$pid" 2>/dev/null; done
    if [ "${PAAF_DESKTOP_KEEP:-0}" = 1 ]; then
      desk_log "kept $DESK_RUN"
    else
      rm -rf "$DESK_RUN"
    fi
  fi
  for pid in "${DESK_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  return "$rc"
}
