#!/usr/bin/env bash
# Installs what the project needs on a fresh machine and builds it: bubblewrap and Chromium
# (Debian), the npm packages of the TypeScript client (from the lockfile), the host binary,
# and the client's compiled output.
set -euo pipefail
cd "$(dirname "$0")/.."
# VM processes run under bubblewrap; the browser terminal test drives Debian's Chromium.
if ! command -v bwrap >/dev/null || ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends bubblewrap chromium
fi
npm ci --prefix bindings --no-audit --no-fund
cargo build -j2 -p agentos-core --bin agentos
npm run --prefix bindings build
