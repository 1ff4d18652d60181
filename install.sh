#!/bin/sh
# Installs em: downloads this platform's binary from a release, verifies its SHA-256 checksum,
# installs it as PREFIX/bin/em and links emd, emwait, emtrigger, emquit, … to it.
#   curl -fsSL <release URL>/install.sh | sh -s -- --prefix "$HOME/.local"
set -eu

EM_REPO="${EM_REPO:-em-events/em}" # the GitHub repository releases are published from
BASE_URL="${EM_INSTALL_BASE_URL:-https://github.com/$EM_REPO/releases}"
PREFIX="${PREFIX:-/usr/local}"
VERSION=latest
TARGET=

usage() {
  cat <<EOF
Usage: install.sh [--prefix DIR] [--version VERSION] [--target TARGET]

Downloads em's binary for this platform from a release, verifies it against the
release's SHA256SUMS, installs it as DIR/bin/em and links every tool name
(emd, emwait, emtrigger, emquit, …) to it with "em install-links".

Options:
  --prefix DIR        install into DIR/bin (default: \$PREFIX or /usr/local)
  --version VERSION   a release tag such as v0.1.0 (default: the latest release)
  --target TARGET     another platform's binary, e.g. aarch64-unknown-linux-gnu
  -h, --help          this text

Environment: EM_INSTALL_BASE_URL (default https://github.com/\$EM_REPO/releases)
is where releases are downloaded from: BASE/latest/download/ASSET or
BASE/download/VERSION/ASSET.
Exit 0: installed. Exit 1: download failed, checksum mismatch or cannot
install (nothing is installed then). Exit 64: bad arguments.
EOF
}

fail() {
  echo "install.sh: $1" >&2
  exit 1
}

usage_error() {
  echo "install.sh: $1" >&2
  echo 'Try "install.sh --help".' >&2
  exit 64
}

while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --prefix | --version | --target)
    if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
    case "$1" in
    --prefix) PREFIX="$2" ;;
    --version) VERSION="$2" ;;
    --target) TARGET="$2" ;;
    esac
    shift 2
    ;;
  *) usage_error "unknown argument \"$1\"" ;;
  esac
done

detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no em binary for this machine's architecture \"$arch\"" ;;
  esac
  case "$os" in
  Linux) echo "$arch-unknown-linux-gnu" ;;
  Darwin) echo "$arch-apple-darwin" ;;
  MINGW* | MSYS* | CYGWIN*) echo "$arch-pc-windows-msvc" ;;
  *) fail "no em binary for this operating system \"$os\"" ;;
  esac
}

download() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    why=$(curl -fsSL -o "$2" "$1" 2>&1) || fail "Cannot download \"$1\": ${why#curl: }"
  elif command -v wget >/dev/null 2>&1; then
    why=$(wget -q -O "$2" "$1" 2>&1) || fail "Cannot download \"$1\": wget failed $why"
  else
    fail "Cannot download \"$1\": neither curl nor wget is installed"
  fi
}

sha256() { # FILE
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "Cannot verify the download: neither sha256sum nor shasum is installed"
  fi
}

[ -n "$TARGET" ] || TARGET=$(detect_target)
case "$TARGET" in
*windows*) exe=.exe ;;
*) exe= ;;
esac
asset="em-$TARGET$exe"
case "$VERSION" in
latest) url="$BASE_URL/latest/download" ;;
v*) url="$BASE_URL/download/$VERSION" ;;
*) url="$BASE_URL/download/v$VERSION" ;;
esac

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t em-install)
trap 'rm -rf "$tmp"' EXIT INT TERM

download "$url/SHA256SUMS" "$tmp/SHA256SUMS"
download "$url/$asset" "$tmp/$asset"
expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS at \"$url\" has no line for $asset"
actual=$(sha256 "$tmp/$asset")
[ "$expected" = "$actual" ] ||
  fail "Checksum mismatch for $asset: expected $expected, got $actual; nothing installed"

bindir="$PREFIX/bin"
mkdir -p "$bindir" || fail "Cannot create \"$bindir\""
em="$bindir/em$exe"
if ! { cp "$tmp/$asset" "$bindir/.em.tmp$$" && chmod 755 "$bindir/.em.tmp$$" &&
  mv -f "$bindir/.em.tmp$$" "$em"; }; then
  rm -f "$bindir/.em.tmp$$"
  fail "Cannot install \"$em\""
fi
if [ "$TARGET" != "$(detect_target 2>/dev/null)" ]; then
  echo "installed $em for $TARGET; run \"em install-links $bindir\" on that platform"
  exit 0
fi
case "$TARGET" in
*windows*) copy=--copy ;; # symlinks need privileges on Windows
*) copy= ;;
esac
# shellcheck disable=SC2086 # $copy is one flag or nothing
"$em" install-links --force $copy --binary "$em" "$bindir" >/dev/null ||
  fail "Cannot link the tools in \"$bindir\" (\"$em install-links\" failed)"
echo "installed $("$em" --version) as $em, with its tools in $bindir"
