#!/usr/bin/env bash
# Sets up, starts a Rivet Engine (the binary from the npm lockfile) on loopback with a fresh
# storage directory, and serves the agentOS actor on it under pool `agentos` until Ctrl-C,
# when both stop. Connect with rivetkitTransport({ endpoint, poolName: "agentos", key }).
# Extra arguments go to `agentos-rivet serve`; RIVET_ENGINE_BINARY_PATH picks another engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ENGINE=${RIVET_ENGINE_BINARY_PATH:-bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl/rivet-engine}
PORT=${RIVET_PORT:-6420}
storage=$(mktemp -d)
env RIVET__GUARD__HOST=127.0.0.1 RIVET__GUARD__PORT="$PORT" \
    RIVET__API_PEER__HOST=127.0.0.1 RIVET__API_PEER__PORT=$((PORT + 1)) \
    RIVET__METRICS__HOST=127.0.0.1 RIVET__METRICS__PORT=$((PORT + 10)) \
    RIVET__FILE_SYSTEM__PATH="$storage" RIVET__TELEMETRY__ENABLED=false \
    setsid "$ENGINE" start >"$storage/engine.log" 2>&1 &  # own session: Ctrl-C stops the host first
engine=$!
trap 'kill -TERM "$engine" 2>/dev/null; wait "$engine" 2>/dev/null; rm -rf "$storage"' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.1
done
echo "RIVET_ENDPOINT=http://127.0.0.1:$PORT"
target/debug/agentos-rivet serve --endpoint "http://127.0.0.1:$PORT" --pool agentos "$@"
