#!/usr/bin/env bash
# Compatibility test of the emulator with Microsoft's own client libraries
# (MSAL for Python, azure-identity), installed unmodified from PyPI at the
# versions pinned in requirements.txt. Starts `mailscope sim serve --tls` on
# 127.0.0.1 with compat.tenant.yaml, runs msal_compat.py against it, stops it.
# Run from anywhere; `.ci/run` runs it after the test suite. See docs/sim.md,
# "Microsoft client libraries (HTTPS)".
set -euo pipefail
cd "$(dirname "$0")/../.."
compat=tests/compat

work="$(mktemp -d "${TMPDIR:-/tmp}/mailscope-compat.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The Python side: a virtual environment keyed by the pinned set, reused while it is unchanged.
venv="${TMPDIR:-/tmp}/mailscope-compat-venv-$(sha256sum "$compat/requirements.txt" | cut -c1-12)"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv.tmp"
  if ! python3 -m venv "$venv.tmp"; then
    # Debian ships venv's pip bootstrap separately (python3-venv).
    apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv.tmp"
    python3 -m venv "$venv.tmp"
  fi
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check --require-virtualenv \
    -r "$compat/requirements.txt"
  mv "$venv.tmp" "$venv"
fi

# The emulator: the workspace's own binary, HTTPS on a free loopback port.
cargo build --quiet --locked -p mailscope-cli
bin=target/debug/mailscope
state="$work/state.json"
ca="$("$bin" sim ca --state "$state")"
"$bin" sim serve --tls --seed "$compat/compat.tenant.yaml" --state "$state" \
  --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's/^mailscope sim listening on \(https:[^ ]*\)$/\1/p' "$work/serve.log")"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "the emulator did not start:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
echo "emulator at $base, CA $ca"

SIM_BASE="$base" REQUESTS_CA_BUNDLE="$ca" COMPAT_TMP="$work" "$venv/bin/python" "$compat/msal_compat.py"
