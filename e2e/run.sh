#!/usr/bin/env bash
# Browser tests of the web front against a real encore: installs Chromium (Debian) when missing,
# the pinned playwright-core (npm ci), then runs the tests with node's built-in test runner.
# The server binary: ENCORE_BIN, default ../target/release/encore (build it first).
# Screenshots of the key pages land in ../docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
# Korean glyphs for the screenshots (the tests pass without them; the pictures would show boxes).
if command -v fc-list >/dev/null && ! fc-list :lang=ko | grep -q .; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-cjk \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-cjk; } \
    || echo "warning: fonts-noto-cjk not installed; Korean text in screenshots will show as boxes" >&2
fi
npm ci --no-audit --no-fund
node --test --test-concurrency=1 tests/*.test.js
