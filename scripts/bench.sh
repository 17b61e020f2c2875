#!/usr/bin/env bash
# The figures of BENCHMARKS.md: each benchmark prints its table; then the size of the release binary (stripped, as
# Cargo.toml's release profile says). Needs an X display for `startup` (DISPLAY, or Xvfb on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked --bench round_trips
cargo bench --locked --bench startup
cargo bench --locked --bench bulk_install
cargo bench --locked --bench window_frames
cargo build --locked --release --bin mspbots-setup
bytes=$(stat -c %s target/release/mspbots-setup)
echo "Release binary (stripped): $bytes bytes = $(awk "BEGIN {printf \"%.1f\", $bytes/1048576}") MiB; target ≤ 15 MiB"
