#!/bin/sh
# Tests scripts/install.sh against a loopback HTTP server holding a fake
# release: a good checksum installs, a wrong one or a missing one is refused
# and nothing is installed. Run by .ci/run; needs python3 for the server.
set -eu
cd "$(dirname "$0")/.."
script=$PWD/scripts/install.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/mailscope-install-test.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
  echo "test-install: FAIL: $*" >&2
  exit 1
}

target=x86_64-unknown-linux-musl
archive="mailscope-9.9.9-$target.tar.gz"

# A fake release: a `mailscope` that prints a known line.
make_release() { # dir, payload line
  mkdir -p "$1/pkg"
  printf '#!/bin/sh\necho "%s"\n' "$2" > "$1/pkg/mailscope"
  chmod 755 "$1/pkg/mailscope"
  tar -czf "$1/$archive" -C "$1/pkg" mailscope
  rm -rf "$1/pkg"
}
make_release "$work/www/good" "fake mailscope 9.9.9"
(cd "$work/www/good" && sha256sum "$archive" > SHA256SUMS)
# Same checksum file, another archive: what a tampered download looks like.
make_release "$work/www/bad" "tampered"
cp "$work/www/good/SHA256SUMS" "$work/www/bad/SHA256SUMS"
# A checksum file that does not list the archive.
make_release "$work/www/unlisted" "fake mailscope 9.9.9"
(cd "$work/www/unlisted" && sha256sum "$archive" | sed 's/  .*/  mailscope-other.tar.gz/' > SHA256SUMS)

# Loopback only; the port is chosen by the kernel and printed first.
python3 -u -c '
import http.server, os, sys
os.chdir(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
print(server.server_address[1], flush=True)
server.serve_forever()
' "$work/www" > "$work/port" &
server_pid=$!
i=0
while [ ! -s "$work/port" ]; do
  i=$((i + 1))
  [ "$i" -lt 100 ] || fail "the test server did not start"
  sleep 0.1
done
url="http://127.0.0.1:$(head -n 1 "$work/port")"

run_install() { # release dir, dest
  MAILSCOPE_BASE_URL="$url/$1" MAILSCOPE_TARGET=$target sh "$script" 9.9.9 "$2"
}

# 1. Good checksum: installed, executable, the release's binary.
run_install good "$work/dest-good" > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "a good release was refused"; }
[ -x "$work/dest-good/mailscope" ] || fail "nothing installed from a good release"
[ "$("$work/dest-good/mailscope")" = "fake mailscope 9.9.9" ] || fail "the installed binary is not the release's"

# 2. Wrong checksum: refused, with the reason, and nothing installed.
if run_install bad "$work/dest-bad" > "$work/out" 2>&1; then fail "a tampered archive was installed"; fi
grep -q "checksum mismatch" "$work/out" || { cat "$work/out" >&2; fail "no checksum message"; }
[ ! -e "$work/dest-bad/mailscope" ] || fail "a tampered binary was installed"

# 3. No checksum for the archive: refused, nothing installed.
if run_install unlisted "$work/dest-unlisted" > "$work/out" 2>&1; then fail "an unlisted archive was installed"; fi
grep -q "lists no checksum" "$work/out" || { cat "$work/out" >&2; fail "no missing-checksum message"; }
[ ! -e "$work/dest-unlisted/mailscope" ] || fail "an unverified binary was installed"

# 4. A missing release: refused.
if run_install missing "$work/dest-missing" > "$work/out" 2>&1; then fail "a missing release installed something"; fi
[ ! -e "$work/dest-missing/mailscope" ] || fail "installed from nowhere"

# 5. action.yml's step, run as a Linux x64 runner would (its `run:` block,
# the last block of the file): installs through the same script, puts the
# directory on PATH and names the binary in its output.
sed -n '/^      run: |$/,$p' action.yml | sed '1d; s/^        //' > "$work/action-step.sh"
[ -s "$work/action-step.sh" ] || fail "no run block found in action.yml"
mkdir -p "$work/runner"
: > "$work/github-path"
: > "$work/github-output"
if ! VERSION=v9.9.9 BASE_URL="$url/good" ACTION_REPOSITORY=OWNER/mailscope SERVER_URL=https://github.com \
  RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$work/runner" GITHUB_ACTION_PATH=$PWD \
  GITHUB_PATH="$work/github-path" GITHUB_OUTPUT="$work/github-output" \
  bash -e "$work/action-step.sh" > "$work/out" 2>&1; then
  cat "$work/out" >&2
  fail "the action's step failed on a good release"
fi
grep -qx "$work/runner/mailscope-9.9.9" "$work/github-path" || fail "the action did not extend PATH"
grep -qx "path=$work/runner/mailscope-9.9.9/mailscope" "$work/github-output" || fail "no path output"
[ "$("$work/runner/mailscope-9.9.9/mailscope")" = "fake mailscope 9.9.9" ] || fail "the action installed something else"
if VERSION=9.9.9 BASE_URL="$url/bad" ACTION_REPOSITORY=OWNER/mailscope SERVER_URL=https://github.com \
  RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$work/runner-bad" GITHUB_ACTION_PATH=$PWD \
  GITHUB_PATH="$work/github-path" GITHUB_OUTPUT="$work/github-output" \
  bash -e "$work/action-step.sh" > "$work/out" 2>&1; then
  fail "the action installed a tampered archive"
fi
[ ! -e "$work/runner-bad/mailscope-9.9.9/mailscope" ] || fail "the action left a tampered binary"

echo "test-install: ok (good installs; tampered, unlisted and missing refused, nothing installed; action.yml's step too)"
