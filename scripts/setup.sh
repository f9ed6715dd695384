#!/usr/bin/env bash
# Installs what the project needs on a fresh machine and builds it: bubblewrap and Chromium
# (Debian), the Python ACP SDK and the Python client's pinned packages in .venv, the npm packages of the TypeScript client and the Rivet
# Engine binary (`npm ci` from the lockfile), the two host binaries (embedded and on a Rivet
# Engine), the test agent, the custom-actions example, and the client's compiled output.
set -euo pipefail
cd "$(dirname "$0")/.."
# VM processes run under bubblewrap; the browser tests drive Debian's Chromium.
if ! command -v bwrap >/dev/null || ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends bubblewrap chromium
fi
# The Python SDK agent of the session tests (tests/agents/) and the Python client's tests run
# in this virtual environment, with the pinned packages of bindings/python/requirements-dev.txt.
if ! [ -x .venv/bin/python ] || ! .venv/bin/python -c 'import acp, websockets, cbor2, pytest, mypy' 2>/dev/null; then
  [ -x .venv/bin/python ] || python3 -m venv .venv || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv && python3 -m venv .venv; }
  .venv/bin/pip install -q agent-client-protocol==0.12.1 -r bindings/python/requirements-dev.txt
fi
# Without install scripts: esbuild runs from its platform package, and rivetkit's transitive
# better-sqlite3 would otherwise try a download and a native build. The lockfile is written by
# `npm run lock` (npm 11.13.0): rivetkit's dependencies name optional platform packages that were
# never published (e.g. @rivetkit/engine-cli-darwin-arm64), which that npm records as inert
# entries, while later ones (npm/cli#9846) drop them and then `npm ci` refuses their own lockfile.
# Each step runs only when its inputs changed since it last ran, so that `scripts/serve.sh` on
# a built tree starts in seconds: `npm ci` when the lockfile did, the client's build when a
# file of the package (outside its outputs) is newer than that build.
stamps=bindings/node_modules
lock_sum=$(sha256sum bindings/package-lock.json)
if [ "$(cat "$stamps/.agentos-lock" 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --prefix bindings --ignore-scripts --no-audit --no-fund
  echo "$lock_sum" > "$stamps/.agentos-lock"
fi
cargo build -j2 -p agentos-host --bin agentos -p agentos-rivet --bin agentos-rivet \
  -p agentos-builtin-agent --bin agentos-test-agent -p agentos-example-notes --bin agentos-notes
if ! [ "$stamps/.agentos-built" -nt "$stamps/.agentos-lock" ] || [ -n "$(find bindings \
    \( -path bindings/node_modules -o -path bindings/dist -o -path bindings/web/dist \) -prune \
    -o -type f -newer "$stamps/.agentos-built" -print -quit)" ]; then
  npm run --prefix bindings build
  touch "$stamps/.agentos-built"
fi
