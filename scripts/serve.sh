#!/usr/bin/env bash
# Sets up, then runs the embedded host on loopback. It prints AGENTOS_URL and AGENTOS_TOKEN;
# pass them to the generated client (see README). Extra arguments go to `agentos serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec target/debug/agentos serve --web-root bindings/web "$@"
