#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each (default 30; `scripts/fuzz.sh SECONDS --dev` builds
# without optimizations) from its committed seeds (fuzz/seeds/TARGET) plus a working corpus (fuzz/corpus/TARGET,
# not committed). A crash stops the script with a failure; the input that caused it is in fuzz/artifacts/TARGET/
# (add it to the seeds once fixed).
# Needs cargo-fuzz (installed here if missing) and a nightly compiler, or stable with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-30}
# Optimized builds find more in long runs; `--dev` (no optimizations, debug assertions on) builds in a fraction of
# the time, which is what a short run on a fresh clone (.ci/run) needs.
build=(-O)
if [ "${2:-}" = "--dev" ]; then
  build=(--dev)
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
cargo "${toolchain[@]}" fuzz build "${build[@]}"
for target in $(cargo "${toolchain[@]}" fuzz list); do
  mkdir -p "corpus/$target"
  echo "fuzz: $target for ${secs}s"
  cargo "${toolchain[@]}" fuzz run "${build[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done|==|SUMMARY|artifact_prefix|Test unit written)" || true
  # A crash leaves an artifact; fail loudly.
  if compgen -G "artifacts/$target/*" >/dev/null; then
    echo "fuzz: $target found a failing input:" artifacts/"$target"/*
    exit 1
  fi
done
