#!/usr/bin/env bash
# Microsoft's own clients against the simulated tenant: curl with --cacert, MSAL for Python and MSAL for Node.
# Their packages are installed once, pinned, under target/interop (nothing is installed system-wide).
set -euo pipefail
cd "$(dirname "$0")/.."

root=target/interop
mkdir -p "$root"
cargo build --locked --quiet --bin mspbots-setup
bin=target/debug/mspbots-setup

if ! cmp -s tests/interop/requirements.txt "$root/python/requirements.txt" 2>/dev/null; then
  echo "interop: installing MSAL for Python into $root/python"
  rm -rf "$root/python"
  python3 -m pip install --quiet --disable-pip-version-check --target "$root/python" -r tests/interop/requirements.txt
  cp tests/interop/requirements.txt "$root/python/requirements.txt"
fi
if ! cmp -s tests/interop/package-lock.json "$root/node/package-lock.json" 2>/dev/null; then
  echo "interop: installing MSAL for Node into $root/node"
  rm -rf "$root/node"
  mkdir -p "$root/node"
  cp tests/interop/package.json tests/interop/package-lock.json "$root/node/"
  (cd "$root/node" && npm ci --no-audit --no-fund --silent)
fi

echo "interop: curl --cacert against 'mspbots-setup sim', then SIGTERM"
"$bin" sim --scenario happy > "$root/sim.json" &
sim_pid=$!
for _ in $(seq 1 100); do
  [ -s "$root/sim.json" ] && break
  sleep 0.1
done
login_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["login_url"])' "$root/sim.json")
ca_pem=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca_pem"])' "$root/sim.json")
curl --fail --silent --show-error --cacert "$ca_pem" "${login_url}organizations/v2.0/.well-known/openid-configuration" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["token_endpoint"].startswith(sys.argv[1]), d' "$login_url"
kill -TERM "$sim_pid"
if wait "$sim_pid"; then
  echo "curl: 1 passed, 0 failed"
else
  echo "curl: the simulator did not exit 0 on SIGTERM"
  exit 1
fi

echo "interop: MSAL for Python"
PYTHONPATH="$root/python" python3 tests/interop/msal_python.py "$bin"
echo "interop: MSAL for Node"
INTEROP_NODE_PREFIX="$PWD/$root/node" node tests/interop/msal_node.mjs "$bin"
