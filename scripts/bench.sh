#!/usr/bin/env bash
# The figures of BENCHMARKS.md: each benchmark prints its table; then the size of the release binary (stripped, as
# Cargo.toml's release profile says). Needs an X display for `startup` (DISPLAY, or Xvfb on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked --bench round_trips
cargo bench --locked --bench startup
cargo bench --locked --bench bulk_install
cargo bench --locked --bench window_frames
cargo bench --locked --bench directory_scan
cargo bench --locked --bench board_frames
cargo bench --locked --bench customer_checks
cargo build --locked --release --bin mspbots-setup
bytes=$(stat -c %s target/release/mspbots-setup)
echo "Release binary (stripped): $bytes bytes = $(awk "BEGIN {printf \"%.2f MB = %.2f MiB\", $bytes/1e6, $bytes/1048576}"); target ≤ 15 MB"
