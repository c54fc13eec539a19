#!/usr/bin/env bash
# servers.sh - benchmark `paaf servers` against the AWS CLI on the same real moto_server.
#
#   list     5,000 EC2 instances (one region, five DescribeInstances pages of 1,000):
#            `paaf servers --json` vs `aws ec2 describe-instances --output json`, both
#            against one moto_server on 127.0.0.1 (tests/peers/moto.sh), alternating run by
#            run (tests/bench/alternate.py), --runs N samples each; goal: paaf/aws <= 0.5.
#            moto's own time to serve the pages is in both; the client CPU time (user + sys
#            of each tool's process) shows the tools' own work apart from it
#   cached   `paaf servers --cached` with 10,000 servers in its cache: the time from the
#            process start to its first byte of output, and to its exit (median of --runs);
#            goal: first output < 50 ms
#
# The AWS CLI (PyPI awscli, pinned below) is installed in a venv under
# ${PAAF_TOOLS_DIR:-~/.cache/paaf-tools}/awscli; paaf is built in release mode. Prints a
# table, then one machine-readable line per figure:
#   bench servers list: paaf 412 ms, aws 1630 ms, ratio 0.25 (goal <= 0.5): met
# Exit status 0 when measured (a missed goal is a result, not a failure); 1 when setup or
# a timed run failed; 2 on bad arguments. Debian/Ubuntu, root.
set -euo pipefail

readonly PROG=servers.sh
readonly AWSCLI_VERSION=1.46.2
readonly TOOLS_DIR=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/awscli
readonly INSTANCES=5000
readonly CACHED_SERVERS=10000
readonly AMI=ami-12c6146b
readonly REGION=us-east-1
readonly LIST_GOAL=0.5
readonly CACHED_GOAL_MS=50
runs=10

usage() {
  cat <<USAGE
Usage: $PROG [--runs N]

Times \`paaf servers\` listing $INSTANCES instances from moto against the AWS CLI
(alternating, N samples each, default $runs), and \`paaf servers --cached\` with
$CACHED_SERVERS cached servers (time to first output). Run as root.
USAGE
}

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

while (($#)); do
  case $1 in
    --runs)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || {
        usage >&2
        exit 2
      }
      runs=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done
[[ $EUID -eq 0 ]] || die "run as root (moto's setup may install python3-venv)"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}

"$root/tests/peers/moto.sh" setup
installed=$("$TOOLS_DIR/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("awscli"))' 2>/dev/null || true)
if [[ ! -x $TOOLS_DIR/venv/bin/aws || $installed != "$AWSCLI_VERSION" ]]; then
  echo "installing awscli $AWSCLI_VERSION in $TOOLS_DIR/venv" >&2
  rm -rf -- "$TOOLS_DIR/venv"
  mkdir -p -- "$TOOLS_DIR"
  python3 -m venv "$TOOLS_DIR/venv"
  "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION" ||
    die "pip install awscli==$AWSCLI_VERSION failed"
fi
aws=$TOOLS_DIR/venv/bin/aws

echo "building paaf (release)" >&2
cargo build --release --quiet -p paaf-cli --manifest-path "$root/Cargo.toml"
paaf=$CARGO_TARGET_DIR/release/paaf

work=$(mktemp -d /tmp/paaf-bench-servers.XXXXXX)
port=$((44000 + RANDOM % 1000))
cleanup() {
  "$root/tests/peers/moto.sh" stop "$work/moto" >/dev/null 2>&1 || true
  rm -rf -- "$work"
}
trap cleanup EXIT
"$root/tests/peers/moto.sh" start "$work/moto" "$port" $$
url=http://127.0.0.1:$port

export AWS_ACCESS_KEY_ID=AKIDBENCHMARK AWS_SECRET_ACCESS_KEY=bench-secret
export AWS_DEFAULT_REGION=$REGION AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
echo "launching $INSTANCES instances in moto" >&2
for ((i = 0; i < INSTANCES / 500; i++)); do
  "$aws" ec2 run-instances --endpoint-url "$url" --image-id "$AMI" --instance-type t3.micro \
    --count 500 --output text --query 'length(Instances)' >/dev/null
done

cat >"$work/paaf.toml" <<TOML
[[clouds]]
name = "bench"
type = "aws"
regions = ["$REGION"]
access_key_id = "AKIDBENCHMARK"
secret_access_key = "env:AWS_SECRET_ACCESS_KEY"
endpoint = "$url"
TOML
count_paaf='import json,sys; print(len(json.load(sys.stdin)["servers"]))'
count_aws='import json,sys; print(sum(len(r["Instances"]) for r in json.load(sys.stdin)["Reservations"]))'
listed=$("$paaf" --config "$work/paaf.toml" servers --json | python3 -c "$count_paaf")
[[ $listed == "$INSTANCES" ]] || die "paaf listed $listed instances, not $INSTANCES"
listed=$("$aws" ec2 describe-instances --endpoint-url "$url" --output json | python3 -c "$count_aws")
[[ $listed == "$INSTANCES" ]] || die "aws listed $listed instances, not $INSTANCES"

echo "timing the list: $runs samples each, alternating" >&2
read -r p_med a_med ratio _ < <(python3 "$here/alternate.py" --runs "$runs" --warmup 1 \
  --a-label paaf --b-label aws -- \
  "$paaf" --config "$work/paaf.toml" servers --json ::: \
  "$aws" ec2 describe-instances --endpoint-url "$url" --output json)

# The client's own work, apart from moto's time to serve: CPU time (user + sys) of each
# tool's process for the same listing, median of 3.
cpu_time='
import resource, statistics, subprocess, sys
def cpu(argv):
    times = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(times)
split = sys.argv.index(":::")
print(f"{cpu(sys.argv[1:split]):.0f} {cpu(sys.argv[split + 1:]):.0f}")
'
read -r p_cpu a_cpu < <(python3 -c "$cpu_time" "$paaf" --config "$work/paaf.toml" servers --json ::: \
  "$aws" ec2 describe-instances --endpoint-url "$url" --output json)

# A cache of 10,000 servers beside the journal (the file `paaf servers` writes), then the
# time to the first byte of `paaf servers --cached` and to its exit.
python3 - "$work/servers-cache.json" "$CACHED_SERVERS" <<'PY'
import json, sys, time
path, n = sys.argv[1], int(sys.argv[2])
servers = [{
    "provider": "aws", "account": "bench", "region": "eu-west-1",
    "id": f"i-{i:017x}", "name": f"web-{i}", "status": "running", "raw_state": "running",
    "public_ips": [f"203.0.{i // 250 % 256}.{i % 250}"],
    "private_ips": [f"10.0.{i // 250 % 256}.{i % 250}"],
    "tags": {"Name": f"web-{i}", "role": "web", "team": "payments"},
    "launched_at_ms": 1_700_000_000_000 + i,
} for i in range(n)]
with open(path, "w") as f:
    json.dump({"fetched_at_ms": int(time.time() * 1000), "servers": servers}, f)
PY
first_byte='
import statistics, subprocess, sys, time
runs, argv = int(sys.argv[1]), sys.argv[2:]
firsts, exits = [], []
for _ in range(runs + 1):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    p.stdout.read(1)
    t1 = time.perf_counter()
    p.stdout.read()
    if p.wait() != 0:
        sys.exit("paaf servers --cached failed")
    firsts.append((t1 - t0) * 1000)
    exits.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(firsts[1:]):.1f} {statistics.median(exits[1:]):.1f}")
'
read -r first_ms exit_ms < <(python3 -c "$first_byte" "$runs" "$paaf" --config "$work/paaf.toml" servers --cached)
[[ -n ${first_ms:-} ]] || die "paaf servers --cached could not be timed"

verdict() {
  python3 -c "import sys; print('met' if float(sys.argv[1]) $2 float(sys.argv[3]) else 'missed')" "$1" "$2" "$3"
}
printf '%-36s %12s %12s %8s\n' "scenario" "paaf" "aws" "ratio"
printf '%-36s %9s ms %9s ms %8s\n' "list $INSTANCES instances" "$p_med" "$a_med" "$ratio"
printf '%-36s %9s ms %9s ms %8s\n' "  client CPU time (user + sys)" "$p_cpu" "$a_cpu" \
  "$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.3f}")' "$p_cpu" "$a_cpu")"
printf '%-36s %9s ms\n' "cached $CACHED_SERVERS: first output" "$first_ms"
printf '%-36s %9s ms\n' "cached $CACHED_SERVERS: whole table" "$exit_ms"
echo "bench servers list: paaf $p_med ms, aws $a_med ms, ratio $ratio (goal <= $LIST_GOAL): $(verdict "$ratio" '<=' "$LIST_GOAL"); client CPU paaf $p_cpu ms, aws $a_cpu ms"
echo "bench servers cached first output: $first_ms ms for $CACHED_SERVERS servers, whole table $exit_ms ms (goal < $CACHED_GOAL_MS ms): $(verdict "$first_ms" '<' "$CACHED_GOAL_MS")"
