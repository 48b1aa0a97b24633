#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (the real app on port 0, a fresh
# SQLite database each), then the Playwright end-to-end tests in Chromium against a
# release build. Installs what it needs first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh --test

echo "==> Rust unit and integration tests"
cargo test --features ssr --locked

echo "==> release build (server binary and wasm bundle)"
cargo leptos build --release

echo "==> end-to-end tests (Playwright, Chromium)"
(cd end2end && npx playwright test)
