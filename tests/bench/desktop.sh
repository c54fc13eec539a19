#!/usr/bin/env bash
# desktop.sh - benchmark the desktop app (paaf-desktop, release build) under Xvfb:
#
#   first paint   cold start (a new process; the page cache stays warm) to the UI's first
#                 paint: PAAF_EXIT_AFTER_FIRST_PAINT=1 makes the app print first-paint-ms=N
#                 and exit; --runs N runs, median of N and of the wall time (spawn to exit);
#                 goal < 1 s
#   idle memory   the app started normally, after --idle-secs seconds: the sum of the RSS of
#                 the app process and its WebKit children (WebKitWebProcess,
#                 WebKitNetworkProcess); goal < 150 MB
#   binary size   of the release binary (cargo build --release; minutes the first time);
#                 goal < 20 MB
#
# The app gets a temporary config with one host, web-1: a real loopback sshd test host
# (tests/peers/sshd-host.sh), so the Servers screen has a live host. It runs without a
# terminal (setsid, stdin /dev/null). Prints a table, then one line per figure:
#   bench desktop first-paint: 412 ms (goal < 1000 ms): met
# Exit status: 0 once measured (a missed goal is a result, not a failure); 1 when a figure
# could not be measured (e.g. the UI never reported its first paint) or setup failed;
# 2 on bad arguments. Debian/Ubuntu, root. MB here = 10^6 bytes.
set -euo pipefail
# shellcheck source=tests/desktop/lib.sh
source "$(dirname "$0")/../desktop/lib.sh"

readonly PROG=desktop.sh
readonly PAINT_TIMEOUT=30
readonly GOAL_PAINT_MS=1000
readonly GOAL_RSS_MB=150
readonly GOAL_BINARY_MB=20
runs=5
idle_secs=5
app_env=()
smaps_dir=""

usage() {
  cat <<EOF
Usage: $PROG [--runs N] [--idle-secs S] [--env NAME=VALUE]... [--smaps DIR]

Benchmarks the release desktop app under Xvfb (run as root): cold start to first paint
(median of N runs, default $runs), idle RSS of the app and its WebKit processes after S
seconds (default $idle_secs), and the release binary's size. Goals: first paint < 1 s,
idle RSS < $GOAL_RSS_MB MB, binary < $GOAL_BINARY_MB MB. --env sets a variable for the app
(repeatable), e.g. --env WEBKIT_DISABLE_COMPOSITING_MODE=1 to compare. --smaps saves each
idle process's /proc/PID/smaps into DIR (NAME-PID.smaps), to see where the memory goes.
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
  --runs) runs=${2:-}; shift 2 || true ;;
  --idle-secs) idle_secs=${2:-}; shift 2 || true ;;
  --env)
    [[ ${2:-} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { usage >&2; exit 2; }
    app_env+=("$2")
    shift 2
    ;;
  --smaps)
    [ -n "${2:-}" ] || { usage >&2; exit 2; }
    smaps_dir=$2
    shift 2
    ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done
in_range() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= $2 && 10#$1 <= $3)); }
if ! in_range "$runs" 1 50 || ! in_range "$idle_secs" 1 120; then
  usage >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || desk_die "run as root (the sshd test host needs it)"

desk_init
trap desk_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

desk_log "installing what is missing"
desk_install_debs
if ! /usr/bin/python3 -c 'import gi; gi.require_version("WebKit2", "4.1")' 2>/dev/null; then
  desk_log "installing python3-gi and gir1.2-webkit2-4.1 (the bare WebKitGTK window)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-gi gir1.2-webkit2-4.1 >/dev/null
fi
bash "$DESK_REPO/tests/peers/sshd-host.sh" setup
desk_build_app release
app=$DESK_APP

# One host, reachable, its key already trusted.
desk_web1_config desktop-bench
desk_app_env
desk_start_xvfb

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.1f\n", (v[m] + v[m + 1]) / 2 }'; }
now_ns() { date +%s%N; }

# Processes the app started (its descendants), by walking /proc's parent links.
descendants() {
  local parent=$1 stat pid ppid rest
  for stat in /proc/[0-9]*/stat; do
    read -r pid _ rest 2>/dev/null <"$stat" || continue
    rest=${rest##*) }  # past "(comm)", which may hold spaces
    read -r _ ppid _ <<<"$rest"
    if [ "$ppid" = "$parent" ]; then
      printf '%s\n' "$pid"
      descendants "$pid"
    fi
  done
}

# Waits (at most 10 s) until no process of this run's mark `PAAF_BENCH_APP=$1` is left; then
# kills any that are.
reap_app() {
  local tag=$1 i pid left
  for i in $(seq 1 100); do
    left=""
    for pid in $(desk_marked_pids); do
      grep -qzxF "PAAF_BENCH_APP=$tag" "/proc/$pid/environ" 2>/dev/null && left+=" $pid"
    done
    [ -z "$left" ] && return 0
    [ "$i" = 30 ] && for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
  for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
}

# (a) Cold start to first paint.
desk_log "first paint: $runs runs"
paint_ms=()
wall_ms=()
paint_missing=""
for i in $(seq 1 "$runs"); do
  out=$DESK_RUN/paint-$i.out
  t0=$(now_ns)
  set +e
  env "${app_env[@]}" PAAF_BENCH_APP="paint-$i" PAAF_EXIT_AFTER_FIRST_PAINT=1 \
    setsid -w timeout -k 3 "$PAINT_TIMEOUT" "$app" </dev/null >"$out" 2>"$DESK_RUN/paint-$i.err"
  rc=$?
  set -e
  t1=$(now_ns)
  reap_app "paint-$i"
  ms=$(sed -n 's/^first-paint-ms=\([0-9][0-9]*\)$/\1/p' "$out" | head -n 1)
  if [ -z "$ms" ]; then
    if [ "$rc" = 124 ]; then
      paint_missing="the app printed no first-paint-ms line within ${PAINT_TIMEOUT}s and was stopped: the UI never called the \`first_paint\` command (ui/src/lib/api.ts firstPaint() after the first frame), because it does not call it yet or because it failed before its first paint (tests/desktop/run.sh shows why)"
    else
      paint_missing="the app exited with status $rc without a first-paint-ms line (stderr: $(tail -n 3 "$DESK_RUN/paint-$i.err" | tr '\n' ' '))"
    fi
    desk_log "run $i: $paint_missing"
    break
  fi
  paint_ms+=("$ms")
  wall_ms+=("$(((t1 - t0) / 1000000))")
  desk_log "run $i: first paint ${ms} ms, wall ${wall_ms[-1]} ms"
done

# (b) Idle memory: a process tree started through `setsid timeout`, measured after idle_secs.
# measure_idle TAG CMD...: sets idle_rss_kb, idle_pss_kb, idle_uss_kb, idle_procs (names and
# RSS), idle_missing (why nothing was measured, else empty).
measure_idle() {
  local tag=$1 root pid name kb pkb ukb
  shift
  idle_rss_kb=0 idle_pss_kb=0 idle_uss_kb=0 idle_procs="" idle_missing=""
  env "${app_env[@]}" PAAF_BENCH_APP="$tag" setsid timeout -k 3 $((idle_secs + 60)) "$@" </dev/null \
    >"$DESK_RUN/$tag.out" 2>"$DESK_RUN/$tag.err" &
  root=$!
  DESK_PIDS+=("$root")
  sleep "$idle_secs"
  for pid in $(descendants "$root"); do
    name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    pkb=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
    ukb=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
    idle_rss_kb=$((idle_rss_kb + ${kb:-0}))
    idle_pss_kb=$((idle_pss_kb + ${pkb:-0}))
    idle_uss_kb=$((idle_uss_kb + ${ukb:-0}))
    idle_procs+="$name $((${kb:-0} / 1024)) MiB, "
    if [ -n "$smaps_dir" ]; then
      mkdir -p "$smaps_dir"
      cp "/proc/$pid/smaps" "$smaps_dir/$tag-$name-$pid.smaps" 2>/dev/null || true
    fi
  done
  case $idle_procs in
  *WebKitWebProces*) ;;
  "") idle_missing="$* was not running after ${idle_secs}s (stderr: $(tail -n 3 "$DESK_RUN/$tag.err" | tr '\n' ' '))" ;;
  *) idle_missing="no WebKitWebProcess under $*: ${idle_procs%, }" ;;
  esac
  kill -TERM "$root" 2>/dev/null || true
  reap_app "$tag"
}

desk_log "idle memory: starting the app, waiting ${idle_secs}s"
measure_idle idle "$app"
rss_kb=$idle_rss_kb pss_kb=$idle_pss_kb uss_kb=$idle_uss_kb procs=$idle_procs
idle_missing_app=$idle_missing

# The same for a bare WebKitGTK window (the engine's floor), in the same environment.
desk_log "idle memory: a bare WebKitGTK window (tests/bench/webkit_window.py), waiting ${idle_secs}s"
# Like the app (src-tauri/src/main.rs), it runs without accelerated compositing unless the
# variable is set.
floor_env=()
if [ -z "${WEBKIT_DISABLE_COMPOSITING_MODE+x}" ] && [[ " ${app_env[*]} " != *" WEBKIT_DISABLE_COMPOSITING_MODE="* ]]; then
  floor_env+=(WEBKIT_DISABLE_COMPOSITING_MODE=1)
fi
measure_idle floor env "${floor_env[@]}" /usr/bin/python3 "$DESK_REPO/tests/bench/webkit_window.py"
floor_rss_kb=$idle_rss_kb floor_pss_kb=$idle_pss_kb floor_uss_kb=$idle_uss_kb floor_procs=$idle_procs
floor_missing=$idle_missing
idle_missing=$idle_missing_app

# (c) Release binary size.
bin_bytes=$(stat -c %s "$app")

# Report.
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
verdict() { awk -v v="$1" -v g="$2" 'BEGIN { print (v < g) ? "met" : "MISSED" }'; }
if [ ${#paint_ms[@]} -gt 0 ]; then
  paint_med=$(printf '%s\n' "${paint_ms[@]}" | median)
  wall_med=$(printf '%s\n' "${wall_ms[@]}" | median)
  paint_cell="$paint_med ms"
  wall_cell="$wall_med ms"
  paint_verdict=$(verdict "$paint_med" "$GOAL_PAINT_MS")
else
  paint_cell="n/a"
  wall_cell="n/a"
  paint_verdict="not measured"
fi
if [ -z "$idle_missing" ]; then
  rss_mb=$(mb $((rss_kb * 1024)))
  rss_cell="$rss_mb MB"
  rss_verdict=$(verdict "$rss_mb" "$GOAL_RSS_MB")
else
  rss_cell="n/a"
  rss_verdict="not measured"
fi
floor_cell="n/a"
ratio_cell="n/a"
if [ -z "$floor_missing" ]; then
  floor_cell="$(mb $((floor_rss_kb * 1024))) MB"
  [ -z "$idle_missing" ] && ratio_cell=$(awk -v a="$rss_kb" -v b="$floor_rss_kb" 'BEGIN { printf "%.2f×", a / b }')
fi
bin_mb=$(mb "$bin_bytes")
bin_verdict=$(verdict "$bin_mb" "$GOAL_BINARY_MB")

[ ${#app_env[@]} -gt 0 ] && printf '\napp environment: %s\n' "${app_env[*]}"
printf '\n| figure | value | goal | |\n|---|---|---|---|\n'
printf '| cold start to first paint (median of %s) | %s | < %s ms | %s |\n' "${#paint_ms[@]}" "$paint_cell" "$GOAL_PAINT_MS" "$paint_verdict"
printf '| cold start wall time, spawn to exit (median of %s) | %s | | |\n' "${#wall_ms[@]}" "$wall_cell"
printf '| idle RSS, app + WebKit processes, after %s s | %s | < %s MB | %s |\n' "$idle_secs" "$rss_cell" "$GOAL_RSS_MB" "$rss_verdict"
printf '| idle RSS, a bare WebKitGTK window (the engine floor), after %s s | %s | | |\n' "$idle_secs" "$floor_cell"
printf '| paaf / bare WebKitGTK, idle RSS | %s | | |\n' "$ratio_cell"
printf '| release binary (%s) | %s MB | < %s MB | %s |\n\n' "${app##*/}" "$bin_mb" "$GOAL_BINARY_MB" "$bin_verdict"
if [ ${#paint_ms[@]} -gt 0 ]; then
  printf 'first paint runs (ms): %s; wall (ms): %s\n' "${paint_ms[*]}" "${wall_ms[*]}"
fi
if [ -z "$idle_missing" ]; then
  printf 'idle processes (RSS): %s; sum of PSS %s MB (shared pages split between them), of USS %s MB (private pages only)\n' \
    "${procs%, }" "$(mb $((pss_kb * 1024)))" "$(mb $((uss_kb * 1024)))"
fi
if [ -z "$floor_missing" ]; then
  printf 'bare WebKitGTK window (RSS): %s; sum of PSS %s MB, of USS %s MB\n' \
    "${floor_procs%, }" "$(mb $((floor_pss_kb * 1024)))" "$(mb $((floor_uss_kb * 1024)))"
fi
printf 'bench desktop first-paint: %s (goal < %s ms): %s\n' "$paint_cell" "$GOAL_PAINT_MS" "$paint_verdict"
printf 'bench desktop first-paint-wall: %s (no goal)\n' "$wall_cell"
printf 'bench desktop idle-rss: %s (goal < %s MB): %s\n' "$rss_cell" "$GOAL_RSS_MB" "$rss_verdict"
printf 'bench desktop idle-rss-vs-bare-webkitgtk: %s / %s = %s\n' "$rss_cell" "$floor_cell" "$ratio_cell"
printf 'bench desktop binary: %s MB (goal < %s MB): %s\n' "$bin_mb" "$GOAL_BINARY_MB" "$bin_verdict"

status=0
if [ -n "$paint_missing" ]; then
  printf '%s: first paint not measured: %s\n' "$PROG" "$paint_missing" >&2
  status=1
fi
if [ -n "$idle_missing" ]; then
  printf '%s: idle memory not measured: %s\n' "$PROG" "$idle_missing" >&2
  status=1
fi
if [ -n "$floor_missing" ]; then
  printf '%s: the bare WebKitGTK window not measured: %s\n' "$PROG" "$floor_missing" >&2
  status=1
fi
exit "$status"
