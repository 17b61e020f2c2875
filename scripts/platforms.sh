#!/usr/bin/env bash
# The other platforms' builds from this Linux machine (issue 9): type-check the whole crate, tests and benches
# included, for macOS on Apple silicon and Intel with cargo-zigbuild (zig as the C compiler for aws-lc; macOS
# cannot be linked here, there is no SDK). Installing the targets and cargo-zigbuild is best effort (they come
# from the network); when they are there, a failing check fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}" >/dev/null 2>&1 || echo "platforms: could not add the macOS targets"
command -v cargo-zigbuild >/dev/null 2>&1 || python3 -m pip install -q cargo-zigbuild >/dev/null 2>&1 \
  || echo "platforms: could not install cargo-zigbuild"

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
  if ! grep -qx "$target" <<<"$installed" || ! command -v cargo-zigbuild >/dev/null 2>&1; then
    echo "platforms: SKIPPED the $target check (target or cargo-zigbuild missing, see above)"
    continue
  fi
  # The code differs by OS, not by processor: tests and benchmarks are type-checked once (Apple silicon), the
  # program and library for both.
  scope=(--all-targets)
  [ "$target" = x86_64-apple-darwin ] && scope=(--lib --bins)
  echo "platforms: cargo-zigbuild check ${scope[*]} --target $target"
  cargo-zigbuild check --locked "${scope[@]}" --target "$target"
done
