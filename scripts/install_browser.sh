#!/bin/sh
# Debian's Chromium and ChromeDriver, for the browser tests (tests/browser); `make test` runs this when
# /usr/bin/chromium or /usr/bin/chromedriver is missing. Nothing else in Formloop uses a browser.
set -e
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the browser tests need Chromium and ChromeDriver at /usr/bin/chromium and /usr/bin/chromedriver" \
       "(on Debian or Ubuntu: apt-get install chromium chromium-driver)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing Debian's chromium, chromium-driver and a Devanagari font for the browser tests..."
$SUDO apt-get update -qq
# fonts-lohit-deva (78 kB) draws Hindi; fonts-noto-core would too, at 12 MB.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-lohit-deva >/dev/null
