#!/usr/bin/env bash
# Browser tests (issue 12): the console and the sandbox in a real headless Chromium, driven from
# Rust (fantoccini) through chromedriver. Installs Debian's chromium + chromium-driver when
# missing; the tests fail instead of skipping because CPU_GATEWAY_REQUIRE_SERVICES=1.
# Screenshots land in target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing chromium and chromium-driver"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version
# .ci/run installs Chromium in the background and runs the browser tests inside
# `cargo test --workspace`.
[ "${1:-}" = "--install-only" ] && exit 0
echo "== browser tests (cargo test --test browser)"
CPU_GATEWAY_REQUIRE_SERVICES=1 cargo test --test browser -- --test-threads=1
