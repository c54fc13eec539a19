#!/usr/bin/env bash
# Builds the desktop UI (ui/ → ui/dist, which the Tauri app embeds at compile time).
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build >/dev/null
