#!/usr/bin/env bash
# Microsoft's own clients against the simulated tenant (curl with --cacert, MSAL for Python, MSAL for Node), and the
# wizard's own sign-in against a third-party OpenID provider (oidc-provider). Their packages are installed once,
# pinned, under target/interop (nothing is installed system-wide).
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

echo "interop: the wizard's sign-in against a third-party OpenID provider (oidc-provider)"
tls="$root/oidc-tls"
rm -rf "$tls" && mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=interop test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$tls/leaf.key" -out "$tls/leaf.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\n' > "$tls/leaf.ext"
openssl x509 -req -in "$tls/leaf.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/leaf.ext" -out "$tls/leaf.pem" 2>/dev/null
client_id=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
INTEROP_NODE_PREFIX="$PWD/$root/node" node tests/interop/oidc_provider.mjs "$tls/leaf.key" "$tls/leaf.pem" "$client_id" \
  > "$root/oidc.json" 2> "$root/oidc.err" &
op_pid=$!
for _ in $(seq 1 100); do
  [ -s "$root/oidc.json" ] && break
  sleep 0.1
done
discovery=$(head -n 1 "$root/oidc.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["discovery_url"])')
# The "browser" follows redirects and keeps cookies, as a person's browser would once they have signed in.
result=$(BROWSER="curl -s -L -o /dev/null -b /dev/null --cacert $tls/ca.pem" "$bin" run --headless \
  --profile tests/interop/oidc-profile.toml --discovery-url "$discovery" --ca-cert "$tls/ca.pem" \
  --scopes "openid profile email offline_access" --stop-after sign-in --json) || true
kill "$op_pid" 2>/dev/null || true
if printf '%s\n' "$result" | python3 -c '
import json, sys
line = json.loads(sys.stdin.readline())
assert line["step"] == "sign_in" and line["status"] == "done", line
assert line["detail"]["upn"] == "alice@example.org" and line["detail"]["display_name"] == "Alice Example", line
'; then
  echo "oidc-provider: 1 passed, 0 failed"
else
  echo "oidc-provider: 0 passed, 1 failed"
  echo "headless output: $result"
  tail -n 20 "$root/oidc.err"
  exit 1
fi
