#!/usr/bin/env bash
# The browser tests as CI runs them: installs Debian's Chromium when it is missing, the node
# packages from the lockfile, then runs tests/browser/run.mjs against the built binary
# (LAGESBILD_BIN, default target/debug/lagesbild: run `cargo build` or `cargo test` first).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
npm ci --no-audit --no-fund
exec node run.mjs "$@"
