#!/usr/bin/env bash
# Windows from this Linux machine (issue 9): build the program and its tests for x86_64-pc-windows-gnu with
# Debian's mingw-w64 (build.rs adds the icon, version information and manifest with windres), then run under Wine,
# as cargo's test runner, the tests whose code meets the operating system: the library's and the program's own, and
# the binaries listed below (files, paths, state folder, keychain, the loopback listener, TLS and proxies, processes
# killed and started again, the window). The protocol and simulator suites (Graph, identity, scenarios, fidelity,
# the fault matrix) run the same code on every OS and run on Linux only: under Wine they doubled CI's time. Installing the target, mingw-w64 and Wine is best effort (they
# come from the network): when one is missing the script says so and skips; when they are there, a failing build or
# test fails it. The MSAL interop run (scripts/interop.sh) stays on Linux: it tests the simulator, not the platform.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
wine=/usr/lib/wine/wine64 # cargo's test runner
rustup target add "$target" >/dev/null 2>&1 || echo "windows: could not add the $target target"
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || ! [ -x "$wine" ]; then
  echo "windows: installing mingw-w64 and Wine"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 wine wine64 \
    >/dev/null; } || echo "windows: could not install mingw-w64 and Wine"
fi
if ! rustup target list --installed | grep -qx "$target" || ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 \
  || ! [ -x "$wine" ]; then
  echo "windows: SKIPPED the Windows build and tests (target, mingw-w64 or Wine missing, see above)"
  exit 0
fi

# A Wine prefix of our own, so nothing of the machine's is used or changed.
work=$PWD/target/wine
mkdir -p "$work"
export WINEPREFIX=$work/prefix WINEDEBUG=-all
# No Mono or Gecko install prompts; our stand-in for bcryptprimitives.dll (scripts/wine/bcryptprimitives.c).
export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
[ -f "$WINEPREFIX/system.reg" ] || wineboot --init >/dev/null 2>&1
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" scripts/wine/bcryptprimitives.c -ladvapi32
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

# tests/platforms.rs checks that every test file with code of its own per OS (a `cfg` naming one) is named here.
tests=(platforms security loopback proxy bad_input cli_sim diagnostics crash_resume bulk_resume gui)
args=(--lib --bins)
for t in "${tests[@]}"; do args+=(--test "$t"); done
echo "windows: cargo test --target $target ${args[*]} (under Wine)"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$wine cargo test --locked --target "$target" "${args[@]}"
