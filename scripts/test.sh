#!/usr/bin/env bash
# Runs every check and test of paaf: formatting, clippy, unit tests, and the integration tests
# against real OpenSSH hosts (started and stopped by the tests through tests/peers/sshd-host.sh),
# the keychains, and the demo as a smoke test. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One clean build per run: incremental caches only cost disk here (they once filled the CI disk).
export CARGO_INCREMENTAL=0

step() { printf '\n==> %s\n' "$*"; }

step "pruning stale build artifacts from $CARGO_TARGET_DIR"
scripts/prune-target.sh

step "installing what is missing"
scripts/install-deps.sh
bash tests/peers/sshd-host.sh setup

step "TypeScript types generated from the Rust core are up to date"
cargo test --quiet --locked -p paaf-core --features ts export_bindings >/dev/null
if [ -n "$(git status --porcelain -- ui/src/lib/bindings)" ]; then
  git status --short -- ui/src/lib/bindings
  echo "ui/src/lib/bindings changed when regenerated from core: commit the regenerated files" >&2
  exit 1
fi

step "mobile bindings (Kotlin, Swift, Python) generated from paaf-mobile are up to date"
scripts/mobile-bindings.sh --check

step "the Swift and Kotlin app code uses only symbols the checked-in bindings declare"
tests/mobile/check-app-symbols.py

step "every exported method of the mobile library is called from the Kotlin tests"
tests/mobile/check-kotlin-coverage.py

step "desktop UI build (the Tauri app embeds ui/dist)"
scripts/build-ui.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (unit + integration against real sshd hosts)"
cargo nextest run --workspace --locked

step "mobile bindings: Python (pytest) against a real sshd host"
tests/mobile/python/run.sh

step "mobile library as the phones get it (profile mobile, OpenSSL inside, mobile/phone-flags.sh): Python tests"
(source mobile/phone-flags.sh &&
  cargo rustc --quiet --locked --profile mobile -p paaf-mobile --lib --crate-type cdylib \
    --features vendored-openssl --target-dir "$CARGO_TARGET_DIR/phone")
PAAF_MOBILE_LIB="$CARGO_TARGET_DIR/phone/mobile/libpaaf_mobile.so" \
  tests/mobile/python/run.sh test_bindings.py test_grafana.py test_monitor_flags.py test_screens.py

step "mobile bindings: Kotlin on the JVM (kotlinc + JUnit 4) against a real sshd host"
tests/mobile/kotlin/run.sh

step "desktop UI: svelte-check, unit/component tests (Vitest), browser tests (Playwright + Chromium, mocked IPC)"
(cd ui && npm run --silent check && npm test && npm run e2e)

step "desktop app end to end (real window under Xvfb, tauri-driver + WebKitWebDriver, real sshd host)"
tests/desktop/run.sh

step "demo, non-interactive (smoke test of the README's first command)"
PAAF_DEMO_DIR="${TMPDIR:-/tmp}/paaf-demo-smoke" scripts/demo.sh --non-interactive --desktop >"${TMPDIR:-/tmp}/paaf-demo-smoke.log" 2>&1 || {
  tail -n 60 "${TMPDIR:-/tmp}/paaf-demo-smoke.log"
  echo "demo failed (full log: ${TMPDIR:-/tmp}/paaf-demo-smoke.log)" >&2
  exit 1
}
echo "demo ok"
