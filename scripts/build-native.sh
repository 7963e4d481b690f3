#!/usr/bin/env bash
# Build the sum tree's SHA-256 helper, src/assay/reserves/libsha256batch.so.1, from its C source.
# It needs gcc and OpenSSL's headers (Debian: gcc, libssl-dev); they are installed here when
# missing, as root or with sudo. Without the library Assay still works, hashing through hashlib
# (slower), so a machine that cannot install them gets a warning, not a failed install; a
# compiler error in the source itself does fail.
set -euo pipefail
cd "$(dirname "$0")/.."
src=src/assay/reserves/_sha256batch.c
out=src/assay/reserves/libsha256batch.so.1
CC=${CC:-gcc}

skip() {
  echo "warning: $1; $out not built, the sum tree will hash through hashlib (slower)" >&2
  exit 0
}

if ! command -v "$CC" >/dev/null 2>&1 || [ ! -f /usr/include/openssl/sha.h ]; then
  sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      skip "gcc or libssl-dev is missing and this user cannot install them (as root: apt-get install gcc libssl-dev)"
    fi
  fi
  echo "Installing gcc and libssl-dev for the sum tree's SHA-256 helper..."
  $sudo apt-get update -qq || skip "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc libssl-dev >/dev/null \
    || skip "apt-get install gcc libssl-dev failed"
fi

# Built beside the target, then renamed over it: a process that has the old one loaded keeps it.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
"$CC" -O2 -shared -fPIC -Wall -Wextra -o "$tmp" "$src" -lcrypto
mv -f "$tmp" "$out"
echo "built $out"
