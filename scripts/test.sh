#!/usr/bin/env bash
# All tests: the Rust suite (pure wizard, simulator over loopback HTTPS, headless GUI), then the interop run of
# Microsoft's MSAL clients against the simulator. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked
scripts/interop.sh
