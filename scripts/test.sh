#!/usr/bin/env bash
# Runs every test: Rust unit, trybuild and end-to-end tests (nextest), then the TypeScript
# client's tests, which type-check the consumer fixture with tsc --strict and drive a real host.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo nextest run --workspace -j2 --no-fail-fast
npm test --prefix bindings
