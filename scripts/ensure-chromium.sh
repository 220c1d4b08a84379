#!/usr/bin/env bash
# Install Debian's chromium-headless-shell (Chromium's headless build, which Playwright also runs
# headless by default: the same engine, without the browser's UI, whose pages cost every browser
# context CPU), fonts-liberation and fonts-noto-cjk (the Chinese pages' font) for the browser
# tests, and g++ for the C++ that
# torch.compile generates on a CPU (corr2d_fast's compiled pass), unless already there.
# Idempotent and quiet: prints nothing when both are installed. Never runs `playwright install`.
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have_fonts() { installed fonts-liberation && installed fonts-noto-cjk; }

if [ -x /usr/lib/chromium/chromium-headless-shell ] && have_fonts && command -v g++ >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "ensure-chromium.sh: /usr/lib/chromium/chromium-headless-shell is missing and this user cannot run apt-get (not root, no sudo)" >&2
  exit 1
fi

# Keep apt quiet, but show everything it said when it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq \
       && "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium-headless-shell fonts-liberation fonts-noto-cjk g++; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-chromium.sh: installing chromium-headless-shell, fonts-liberation, fonts-noto-cjk and g++ with apt-get failed" >&2
  exit 1
fi

if [ ! -x /usr/lib/chromium/chromium-headless-shell ]; then
  echo "ensure-chromium.sh: apt-get finished but /usr/lib/chromium/chromium-headless-shell is still missing" >&2
  exit 1
fi
