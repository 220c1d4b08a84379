#!/usr/bin/env bash
# Install Debian's chromium, fonts-liberation and fonts-noto-cjk (the Chinese pages' font) for the
# browser tests, and g++ for the C++ that
# torch.compile generates on a CPU (corr2d_fast's compiled pass), unless already there.
# Idempotent and quiet: prints nothing when both are installed. Never runs `playwright install`.
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have_fonts() { installed fonts-liberation && installed fonts-noto-cjk; }

if [ -x /usr/bin/chromium ] && have_fonts && command -v g++ >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "ensure-chromium.sh: /usr/bin/chromium is missing and this user cannot run apt-get (not root, no sudo)" >&2
  exit 1
fi

# Keep apt quiet, but show everything it said when it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq \
       && "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-noto-cjk g++; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-chromium.sh: installing chromium, fonts-liberation, fonts-noto-cjk and g++ with apt-get failed" >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium.sh: apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
