#!/usr/bin/env bash
# Install Debian's chromium and fonts-liberation for the browser tests, and g++ for the C++ that
# torch.compile generates on a CPU (corr2d_fast's compiled pass), unless already there.
# Idempotent and quiet: prints nothing when both are installed. Never runs `playwright install`.
set -euo pipefail

have_fonts() { dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q "install ok installed"; }

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
       && "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation g++; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-chromium.sh: installing chromium, fonts-liberation and g++ with apt-get failed" >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium.sh: apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
