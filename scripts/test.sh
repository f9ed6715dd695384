#!/usr/bin/env bash
# Runs every test: Rust unit, trybuild and end-to-end tests (nextest), then the TypeScript
# client's tests, which type-check the consumer fixture with tsc --strict and drive a real host,
# recording every frame they exchange; then checks each recorded payload against the generated
# JSON Schema; then the Python client's tests (pytest, and mypy --strict over its consumer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo nextest run --workspace -j2 --no-fail-fast
wire_log="$PWD/test-output/wire.jsonl"
mkdir -p test-output && rm -f "$wire_log"
AGENTOS_WIRE_LOG="$wire_log" npm test --prefix bindings
node bindings/dist/test/wire-check.js "$wire_log"
(cd bindings/python && ../../.venv/bin/python -m pytest -q)
