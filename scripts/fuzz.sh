#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 10, what CI runs), one after
# the other, and prints a table of executions and coverage. Each run starts from the working
# corpus (fuzz/corpus/<target>, not committed), the committed seeds (fuzz/seeds/<target>) and
# the committed crash inputs (fuzz/regressions/<target>), so every input that ever crashed a
# target is run again first. Exits non-zero on the first crash; libFuzzer leaves the input in
# fuzz/artifacts/<target>/ (move it to fuzz/regressions/<target>/ once fixed).
#
#   scripts/fuzz.sh          # about a minute: CI
#   scripts/fuzz.sh 900      # the long run of the README's "Fuzzing" section
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-10}

# cargo-fuzz needs a nightly rustc (sanitizer and coverage flags); the machine image has one.
if rustup toolchain list | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  echo "fuzz.sh: no nightly toolchain (rustup toolchain list)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install -q --locked cargo-fuzz@0.13.2
fi

export CARGO_BUILD_JOBS=2
cargo "${toolchain[@]}" fuzz build
targets=$(cargo "${toolchain[@]}" fuzz list)

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
printf '%-18s %12s %10s %8s %8s\n' target executions exec/s cov corpus
for target in $targets; do
  mkdir -p "corpus/$target"
  inputs=("corpus/$target" "seeds/$target")
  [ -d "regressions/$target" ] && inputs+=("regressions/$target")
  dict=()
  case $target in
    snapshot_restore) dict=(-dict=dicts/tar.dict) ;;
    *) dict=(-dict=dicts/wire.dict) ;;
  esac
  if ! cargo "${toolchain[@]}" fuzz run "$target" "${inputs[@]}" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 "${dict[@]}" \
      >"$log/$target" 2>&1; then
    tail -n 40 "$log/$target" >&2
    echo "fuzz.sh: $target crashed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$target")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log/$target")
  last=$(grep -E '^#[0-9]+' "$log/$target" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-18s %12s %10s %8s %8s\n' "$target" "$execs" "$rate" "$cov" "$corp"
done
