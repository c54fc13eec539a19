#!/usr/bin/env bash
# End-to-end test of the real desktop app in a real window: builds the UI and the app, starts one
# sshd test host (web-1) with a fresh ed25519 key, writes a paaf config for it, starts Xvfb and
# tauri-driver (+ WebKitWebDriver) on free loopback ports, runs tests/desktop/test_desktop.py with
# pytest, and stops everything it started. Screenshots: tests/artifacts/desktop/*.png.
#
#   tests/desktop/run.sh [PYTEST ARGS...]     e.g. -k window, -x
#
# Env: CARGO_TARGET_DIR (default ~/.cache/paaf-target), PAAF_TOOLS_DIR (venv and tauri-driver;
# default ~/.cache/paaf-tools), PAAF_DESKTOP_KEEP=1 keeps the run directory (config, logs),
# PAAF_DESKTOP_LANG the app's locale (default en_US.UTF-8). Installs what is missing (Debian
# packages, tauri-driver, the Python venv). Run as root. More: tests/desktop/README.md.
set -euo pipefail
# shellcheck source=tests/desktop/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || desk_die "run as root (the sshd test hosts need it)"
desk_init
trap desk_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$SECONDS

desk_log "installing what is missing"
desk_install_debs
bash "$DESK_REPO/tests/peers/sshd-host.sh" setup
desk_tauri_driver
desk_venv
desk_build_app debug

artifacts=$DESK_REPO/tests/artifacts/desktop
mkdir -p "$artifacts"
rm -f "$artifacts"/*.png "$artifacts"/*.html

# The host, the client key, and the app's config with the host key already recorded.
desk_web1_config desktop-test
port=$DESK_HOST_PORT
# The playbook of the incident test: its protect step is a verified reboot of web-1.
cat >>"$PAAF_CONFIG" <<'EOF'

[[playbooks]]
name = "web-1-stuck"
[[playbooks.protect]]
reboot = "web-1"
EOF

# The display and the WebDriver server; the app (started per test by WebKitWebDriver) inherits
# this environment, PAAF_CONFIG included.
desk_app_env
export PAAF_LOG=${PAAF_LOG:-info}
desk_start_xvfb
driver_log=$DESK_RUN/tauri-driver.log
for try in 1 2 3; do
  desk_free_port
  wd_port=$DESK_PORT
  desk_free_port
  native_port=$DESK_PORT
  "$DESK_TAURI_DRIVER" --port "$wd_port" --native-port "$native_port" \
    --native-driver /usr/bin/WebKitWebDriver >"$driver_log" 2>&1 &
  driver_pid=$!
  DESK_PIDS+=("$driver_pid")
  for _ in $(seq 1 100); do
    # Both: tauri-driver listens at once, WebKitWebDriver (its child) a little later.
    if (: <"/dev/tcp/127.0.0.1/$wd_port") 2>/dev/null &&
      (: <"/dev/tcp/127.0.0.1/$native_port") 2>/dev/null; then break 2; fi
    kill -0 "$driver_pid" 2>/dev/null || break
    sleep 0.1
  done
  desk_log "tauri-driver did not come up on port $wd_port (try $try)"
  kill "$driver_pid" 2>/dev/null || true
  [ "$try" = 3 ] && { cat "$driver_log" >&2; desk_die "tauri-driver did not start"; }
done
desk_log "tauri-driver on 127.0.0.1:$wd_port (WebKitWebDriver on $native_port)"

require_ui=0
if compgen -G "$DESK_REPO/ui/src/screens/*.svelte" >/dev/null; then require_ui=1; fi

desk_log "running the tests (setup took $((SECONDS - started)) s)"
# In the background, so that a signal is handled at once (bash runs traps only between
# foreground commands); the cleanup stops it with everything else.
set +e
(
  cd "$DESK_REPO/tests/desktop"
  export PYTHONDONTWRITEBYTECODE=1
  PAAF_DESKTOP_APP=$DESK_APP \
    PAAF_DESKTOP_WEBDRIVER=http://127.0.0.1:$wd_port \
    PAAF_DESKTOP_HOST=web-1 \
    PAAF_DESKTOP_HOST_DIR=$DESK_RUN/web-1 \
    PAAF_DESKTOP_HOST_PORT=$port \
    PAAF_DESKTOP_ARTIFACTS=$artifacts \
    PAAF_DESKTOP_REQUIRE_UI=$require_ui \
    timeout 600 "$DESK_VENV/bin/python" -m pytest -p no:cacheprovider -rs -v --tb=short \
    --timeout 180 "$@" test_desktop.py
) &
wait "$!"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  printf '\n--- tauri-driver, WebKitWebDriver and app log (last 60 lines) ---\n' >&2
  tail -n 60 "$driver_log" >&2 || true
  printf -- '--- sshd host log (last 20 lines) ---\n' >&2
  tail -n 20 "$DESK_RUN/web-1/host.log" >&2 || true
fi
desk_log "screenshots in $artifacts: $(find "$artifacts" -name '*.png' -printf '%f ')"
desk_log "desktop test finished in $((SECONDS - started)) s (exit $rc)"
exit "$rc"
