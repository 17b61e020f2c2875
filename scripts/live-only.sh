#!/usr/bin/env bash
# The live-only build (`--no-default-features`, no `demo` feature): it lints clean (clippy type-checks it), its unit tests
# pass, it carries neither the simulator's server stack nor its code, and it refuses demo mode, `sim` and
# `reproduce` in one line with exit code 2. Called by scripts/check.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy --locked --no-default-features -- -D warnings
cargo test --locked --no-default-features --lib

# No simulator stack in the dependency tree (tower and rustls stay: reqwest uses them).
stack=$(cargo tree --locked --no-default-features -e normal --prefix none | sed 's/ .*//' | sort -u | grep -E '^(axum|rcgen|matchit)$' || true)
if [ -n "$stack" ]; then
  echo "live-only: the build still depends on the simulator's stack: $stack" >&2
  exit 1
fi

cargo build --locked --no-default-features
bin=target/debug/mspbots-setup
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
refuses() {
  local out status
  set +e
  out=$(MSPBOTS_SETUP_STATE_DIR="$state" DISPLAY= WAYLAND_DISPLAY= "$bin" "$@" 2>&1 </dev/null)
  status=$?
  set -e
  if [ "$status" -ne 2 ] || ! grep -q "no demo mode" <<<"$out" || [ "$(wc -l <<<"$out")" -ne 1 ]; then
    echo "live-only: '$*' should be refused in one line with exit code 2 (got $status): $out" >&2
    exit 1
  fi
}
refuses sim
refuses run --headless --demo
refuses run --headless
refuses reproduce fuzz/seeds/bundle/happy.json --headless
if grep -q "Email, phone, or Skype" "$bin"; then
  echo "live-only: the program still carries the simulator's code" >&2
  exit 1
fi
# The normal build again, so what follows (the tests) finds the program it expects.
cargo build --locked
echo "live-only: ok"
