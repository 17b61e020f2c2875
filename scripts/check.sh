#!/usr/bin/env bash
# What CI checks, in the order it checks it: formatting, clippy with warnings as errors, docs, the live-only build
# (scripts/live-only.sh), then all tests.
# `scripts/check.sh --static` stops before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --quiet
scripts/live-only.sh
if [ "${1:-}" != "--static" ]; then
  scripts/test.sh
fi
