#!/usr/bin/env bash
# The Kotlin bindings of paaf-mobile, tested on the JVM against a real OpenSSH test host: builds
# libpaaf_mobile.so, compiles the checked-in generated bindings (mobile/android/paaf/src/main/
# kotlin/dev/paaf/{core,mobile}), the small Kotlin layer beside them (PaafFlows.kt) and
# the tests beside this script with kotlinc, starts the real peers on free 127.0.0.1 ports (one
# sshd host, tests/peers/sshd-host.sh; Prometheus + Alertmanager, tests/peers/prometheus.sh;
# Unleash with flags new-checkout and kill-search on, tests/peers/unleash.sh; moto as AWS EC2 with
# the instances of EC2_INSTANCES below made by RunInstances, tests/peers/moto.sh), and runs the
# tests with JUnit 4 (JUnitCore prints "OK (N tests)" or "FAILURES!!!" and the failures; the
# exit status says which).
#
#   tests/mobile/kotlin/run.sh
#   PAAF_KOTLIN_CLASSES=dev.paaf.tests.ScreensBench tests/mobile/kotlin/run.sh   (the bench)
#
# Installs what is missing: npm kotlin-compiler (pinned below) into $PAAF_TOOLS_DIR/kotlin
# (default ~/.cache/paaf-tools), Debian libjna-java and junit4, a JRE. Run as root.
# Env: CARGO_TARGET_DIR (default ~/.cache/paaf-target; the compiled tests go to
# $CARGO_TARGET_DIR/kotlin-tests), PAAF_KOTLIN_KEEP=1 keeps the run directory.
set -euo pipefail

readonly KOTLIN_VERSION=2.4.20
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"
tools="${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/kotlin"
bindings=$repo/mobile/android/paaf/src/main/kotlin/dev/paaf
hosts=$repo/tests/peers/sshd-host.sh
prometheus=$repo/tests/peers/prometheus.sh
unleash=$repo/tests/peers/unleash.sh
moto=$repo/tests/peers/moto.sh
# The EC2 instances made in moto before the tests (REGION/NAME; each test acts on its own ones,
# so the order of the tests does not matter); their ids reach the tests as PAAF_TEST_EC2.
readonly EC2_INSTANCES=(eu-west-1/kt-web-1 us-east-1/kt-batch-1 eu-west-1/kt-power-1
  eu-west-1/kt-reboot-1 eu-west-1/kt-fix-1 eu-west-1/kt-fix-2 eu-west-1/kt-throw-1)

log() { printf 'kotlin-tests: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the sshd test host needs it)"

install_debs() {
  local missing=()
  [ -f /usr/share/java/jna.jar ] || missing+=(libjna-java)
  [ -f /usr/share/java/junit4.jar ] || missing+=(junit4)
  command -v java >/dev/null || missing+=(default-jre-headless)
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_kotlin() {
  local stamp=$tools/version
  if [ "$(cat "$stamp" 2>/dev/null)" != "$KOTLIN_VERSION" ] ||
    [ ! -x "$tools/node_modules/kotlin-compiler/bin/kotlinc" ]; then
    log "installing kotlin-compiler $KOTLIN_VERSION into $tools"
    rm -rf "$tools"
    mkdir -p "$tools"
    (cd "$tools" && npm install --no-audit --no-fund --no-save --silent \
      "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
    chmod +x "$tools"/node_modules/kotlin-compiler/bin/*
    echo "$KOTLIN_VERSION" >"$stamp"
  fi
}

install_debs
install_kotlin
kotlin_home=$tools/node_modules/kotlin-compiler
klib=$kotlin_home/lib
for jar in kotlin-stdlib.jar kotlinx-coroutines-core-jvm.jar; do
  [ -f "$klib/$jar" ] || die "$klib/$jar is missing from kotlin-compiler $KOTLIN_VERSION"
done
bash "$hosts" setup
bash "$prometheus" setup
bash "$unleash" setup
bash "$moto" setup

log "building libpaaf_mobile.so"
cargo build --quiet -p paaf-mobile --manifest-path "$repo/Cargo.toml"
libdir=$CARGO_TARGET_DIR/debug
[ -f "$libdir/libpaaf_mobile.so" ] || die "$libdir/libpaaf_mobile.so was not built"

# Compile only when a source or the compiler changed: the generated bindings are ~6500 lines.
deps=/usr/share/java/jna.jar:/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
deps=$deps:$klib/kotlinx-coroutines-core-jvm.jar
sources=("$bindings/core/paaf_core.kt" "$bindings/mobile/paaf_mobile.kt" "$bindings/PaafFlows.kt"
  "$here/BindingsTest.kt" "$here/ScreensTest.kt" "$here/PeersTest.kt" "$here/CloudTest.kt"
  "$here/ScreensBench.kt")
out=$CARGO_TARGET_DIR/kotlin-tests
digest=$({ echo "$KOTLIN_VERSION"; cat "${sources[@]}"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/digest" 2>/dev/null)" != "$digest" ]; then
  log "compiling the bindings and the tests (kotlinc $KOTLIN_VERSION)"
  rm -rf "$out"
  mkdir -p "$out"
  "$kotlin_home/bin/kotlinc" -nowarn -jvm-target 17 -cp "$deps" -d "$out/classes" "${sources[@]}" ||
    die "kotlinc failed; an error in the generated bindings is a bug of the exported API (mobile/src)"
  echo "$digest" >"$out/digest"
fi

run=$(mktemp -d /tmp/paaf-kotlin.XXXXXX)
chmod 0755 "$run"
host_dir=$run/web-1
cleanup() {
  bash "$hosts" stop "$host_dir" >/dev/null 2>&1 || log "could not stop the host in $host_dir"
  bash "$prometheus" stop "$run/prometheus" >/dev/null 2>&1 || log "could not stop Prometheus in $run/prometheus"
  bash "$unleash" stop "$run/unleash" >/dev/null 2>&1 || log "could not stop Unleash in $run/unleash"
  bash "$moto" stop "$run/moto" >/dev/null 2>&1 || log "could not stop moto in $run/moto"
  if [ "${PAAF_KOTLIN_KEEP:-}" = 1 ]; then log "kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mkdir -p "$host_dir"
: >"$host_dir/authorized_keys" # password login only
for try in 1 2 3; do
  port=$(free_port)
  bash "$hosts" start "$host_dir" "$port" && break
  [ "$try" = 3 ] && die "the sshd test host did not start"
done
log "sshd test host on 127.0.0.1:$port"

prom_port=$(free_port) node_port=$(free_port) am_port=$(free_port)
bash "$prometheus" start "$run/prometheus" "$prom_port" "$node_port" "$am_port" ||
  die "Prometheus and Alertmanager did not start"
log "Prometheus on 127.0.0.1:$prom_port, Alertmanager on 127.0.0.1:$am_port"
unleash_port=$(free_port)
bash "$unleash" start "$run/unleash" "$unleash_port" "$$" || die "Unleash did not start"
unleash_url=http://127.0.0.1:$unleash_port
unleash_token=$(cat "$run/unleash/admin-token")
unleash_admin() { # PATH [JSON]: a POST to the Unleash admin API
  python3 - "$unleash_url$1" "$unleash_token" "${2:-}" <<'PY' || die "Unleash refused POST $1"
import sys, urllib.request
url, token, body = sys.argv[1:4]
request = urllib.request.Request(url, data=body.encode() or None, method="POST",
                                 headers={"Authorization": token, "Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=30).read()
PY
}
for flag in new-checkout kill-search; do
  unleash_admin /api/admin/projects/default/features "{\"name\": \"$flag\", \"type\": \"kill-switch\"}"
  for env in production development; do
    unleash_admin "/api/admin/projects/default/features/$flag/environments/$env/on"
  done
done
log "Unleash on $unleash_url"

for try in 1 2 3; do
  moto_port=$(free_port)
  bash "$moto" start "$run/moto" "$moto_port" "$$" && break
  [ "$try" = 3 ] && die "moto did not start"
done
moto_url=http://127.0.0.1:$moto_port/
# RunInstances through moto's EC2 Query API (moto routes by the region of the SigV4 credential
# scope and accepts any signature); prints NAME=ID per instance, joined with ';'.
ec2=$(python3 - "$moto_url" "${EC2_INSTANCES[@]}" <<'PY' || die "moto refused RunInstances"
import re, sys, urllib.parse, urllib.request
url, made = sys.argv[1], []
for spec in sys.argv[2:]:
    region, name = spec.split("/")
    body = urllib.parse.urlencode({
        "Action": "RunInstances", "Version": "2016-11-15", "ImageId": "ami-12c6146b",
        "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1",
        "TagSpecification.1.ResourceType": "instance",
        "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": name,
    }).encode()
    scope = f"AKIDEXAMPLE/20260101/{region}/ec2/aws4_request"
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"})
    xml = urllib.request.urlopen(request, timeout=30).read().decode()
    made.append(f"{name}=" + re.search(r"<instanceId>([^<]+)</instanceId>", xml).group(1))
print(";".join(made))
PY
)
log "moto (AWS EC2) on $moto_url: $ec2"

mkdir -p "$run/apps"
read -r -a classes <<<"${PAAF_KOTLIN_CLASSES:-dev.paaf.tests.BindingsTest dev.paaf.tests.ScreensTest dev.paaf.tests.PeersTest dev.paaf.tests.CloudTest}"
PAAF_TEST_PORT=$port PAAF_TEST_HOST_DIR=$host_dir PAAF_TEST_APPS_DIR=$run/apps \
  PAAF_TEST_PROMETHEUS=http://127.0.0.1:$prom_port PAAF_TEST_ALERTMANAGER=http://127.0.0.1:$am_port \
  PAAF_TEST_UNLEASH_URL=$unleash_url PAAF_TEST_UNLEASH_TOKEN=$unleash_token \
  PAAF_TEST_MOTO_URL=$moto_url PAAF_TEST_EC2=$ec2 \
  java -Djna.library.path="$libdir" \
  -cp "$out/classes:$deps:$klib/kotlin-stdlib.jar" \
  org.junit.runner.JUnitCore "${classes[@]}"
