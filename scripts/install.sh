#!/bin/sh
# Installs a mailscope release binary after checking its SHA-256 against the
# release's SHA256SUMS file. POSIX sh, so that it runs on every GitHub runner
# (Git Bash on Windows), in containers and on laptops; used by action.yml.
#
#   scripts/install.sh VERSION [DEST_DIR]
#
# VERSION   a release version (0.1.0, or v0.1.0)
# DEST_DIR  where `mailscope` goes (default: $HOME/.local/bin); created if needed
#
# Environment:
#   MAILSCOPE_BASE_URL  where the release assets are (default
#                       https://github.com/$MAILSCOPE_REPOSITORY/releases/download/vVERSION);
#                       tests point it at a loopback server
#   MAILSCOPE_REPOSITORY owner/name of the mailscope repository (default OWNER/mailscope)
#   MAILSCOPE_TARGET    the Rust target triple to install (default: this machine's)
#
# Nothing is installed unless the checksum matches: the archive is downloaded
# and verified in a private temporary directory, and only the verified binary
# is moved into DEST_DIR.
set -eu

die() {
  echo "install.sh: $*" >&2
  exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: install.sh VERSION [DEST_DIR]"
version=${1#v}
dest=${2:-"${HOME:?}/.local/bin"}
case "$version" in
  '' | *[!0-9A-Za-z.+-]*) die "not a version: '$1'" ;;
esac

detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64 | AMD64) arch=x86_64 ;;
    aarch64 | arm64 | ARM64) arch=aarch64 ;;
    *) die "no release binary for the CPU '$arch'" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      [ "$arch" = x86_64 ] || die "no Windows release binary for '$arch'"
      echo "x86_64-pc-windows-msvc"
      ;;
    *) die "no release binary for the system '$os'" ;;
  esac
}

target=${MAILSCOPE_TARGET:-$(detect_target)}
case "$target" in
  *[!0-9A-Za-z_.-]*) die "not a target triple: '$target'" ;;
esac
repository=${MAILSCOPE_REPOSITORY:-OWNER/mailscope}
base=${MAILSCOPE_BASE_URL:-"https://github.com/$repository/releases/download/v$version"}
base=${base%/}
archive="mailscope-$version-$target.tar.gz"
case "$target" in
  *windows*) binary=mailscope.exe ;;
  *) binary=mailscope ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  die "neither sha256sum nor shasum is available to verify the download"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mailscope-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fetch() {
  # --proto: no downgrade to another scheme on a redirect; -f: HTTP errors fail.
  curl --proto '=https,http' -fsSL --retry 3 -o "$2" "$1" || die "cannot download $1"
}

fetch "$base/SHA256SUMS" "$work/SHA256SUMS"
fetch "$base/$archive" "$work/$archive"

# The line for exactly this archive: "<64 hex>  <name>" (or " *<name>").
expected=$(awk -v name="$archive" '($2 == name || $2 == "*" name) && $1 ~ /^[0-9a-fA-F]+$/ && length($1) == 64 { print tolower($1); exit }' "$work/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS lists no checksum for $archive"
actual=$(sha256 "$work/$archive" | tr 'A-F' 'a-f')
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: expected $expected, got $actual; nothing installed"
fi

mkdir "$work/unpacked"
tar -xzf "$work/$archive" -C "$work/unpacked" || die "cannot unpack $archive"
[ -f "$work/unpacked/$binary" ] || die "$archive holds no $binary"
mkdir -p "$dest"
chmod 755 "$work/unpacked/$binary"
mv -f "$work/unpacked/$binary" "$dest/$binary"
echo "installed mailscope $version ($target) to $dest/$binary"
