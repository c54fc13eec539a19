#!/usr/bin/env bash
# Installs what building paaf and running its tests, demo and benchmarks need on Debian/Ubuntu.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Build: C toolchain and headers for libssh2-sys (OpenSSL), keyring (D-Bus).
# Peers: OpenSSH server and client, sudo, util-linux (unshare) for the sshd test hosts.
# Secrets: keyutils, gnome-keyring and dbus for the Secret Service tests.
# Desktop: WebKitGTK and friends for Tauri, Xvfb + WebKitWebDriver for the real-window tests,
# Chromium for the UI tests, imagemagick for screenshots.
# Bench: python3 for the alternating runner, pssh (parallel-ssh) for the fan-out benchmark. TLS tests: openssl (a test server with its own CA).
# Monitoring peers: Prometheus, node exporter, Alertmanager. Flags peer: PostgreSQL for Unleash.
# Mobile bindings on the JVM: JNA and JUnit 4 (kotlinc comes from npm, see tests/mobile/kotlin).
# PyPI peers in their own venvs, versions pinned by their scripts (python3-venv, openssl below):
# moto_server (tests/peers/moto.sh), the aiosmtpd SMTP server of the incident tests
# (tests/peers/smtp.sh; openssl makes its certificate), http-ece for the Web Push decryption
# check (tests/peers/webpush.sh).
# CLI: zsh to load the completion script (bash's is loaded too); util-linux's `script` gives
# the terminal tests a pty.
# (The peer scripts in tests/peers install their own packages too, when run alone.)
PACKAGES=(
  build-essential pkg-config libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver chromium imagemagick
  openssh-server openssh-client sudo util-linux mount procps
  keyutils gnome-keyring dbus dbus-x11
  python3 python3-venv x11-utils ca-certificates openssl
  prometheus prometheus-node-exporter prometheus-alertmanager postgresql
  libjna-java junit4 default-jre-headless
  zsh pssh
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  # Keep apt from starting a system sshd on port 22 while it installs.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! command -v node >/dev/null; then
  echo "install-deps: installing nodejs and npm" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: Node.js $(node --version) is too old for the UI build (Vite needs 20.19+)" >&2
  exit 1
fi

if ! command -v cargo >/dev/null; then
  echo "install-deps: cargo is missing: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
for peer in moto smtp webpush; do
  $SUDO bash "$(dirname "$0")/../tests/peers/$peer.sh" setup
done

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi
