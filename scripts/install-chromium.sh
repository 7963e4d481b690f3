#!/usr/bin/env bash
# Install Debian's Chromium for the page tests, unless it is already there.
# Playwright drives this browser (/usr/bin/chromium); it never downloads one of its own.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "error: /usr/bin/chromium is missing and this user cannot install it; run as root: apt-get install chromium" >&2
    exit 1
  fi
fi
echo "Installing Debian's chromium for the page tests..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
