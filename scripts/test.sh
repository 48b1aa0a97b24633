#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (the real app on port 0, a fresh
# database each) on SQLite and, when TEST_DATABASE_URL names a PostgreSQL server,
# again on PostgreSQL; then, against a release build, schemathesis on the JSON API
# and the Playwright end-to-end tests in Chromium. Installs what it needs first.
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh --test
# Each runner's output also goes to a log, for the tally at the end.
LOG="$(mktemp)"
trap 'rm -f "$LOG" "$LOG.schemathesis"' EXIT
tally() { "$@" 2>&1 | tee -a "$LOG"; }
# Where the time goes: each phase's seconds, printed at the end.
PHASES=()
phase() { PHASES+=("$(printf '%-40s %5ss' "$1" "$SECONDS")"); SECONDS=0; }

phase "set-up (installs, when missing)"
echo "==> Rust unit and integration tests (SQLite)"
tally cargo test --features ssr --locked
phase "cargo test (build and run, SQLite)"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> integration tests again on PostgreSQL ($TEST_DATABASE_URL), a fresh database per test"
  if command -v psql >/dev/null 2>&1; then
    # Databases left by earlier runs.
    psql "$TEST_DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'storno_test_%'" |
      while read -r name; do psql "$TEST_DATABASE_URL" -qc "DROP DATABASE \"$name\" WITH (FORCE)"; done
  fi
  tally cargo test --features ssr --locked --test api
  phase "integration tests on PostgreSQL"
else
  echo "==> SKIPPED the PostgreSQL integration tests: set TEST_DATABASE_URL=postgres://... to include them"
fi

echo "==> release build (server binary and wasm bundle)"
cargo leptos build --release
phase "release build (server and wasm)"

echo "==> schemathesis against the live API (its OpenAPI document, every default check)"
scripts/schemathesis.sh target/release/storno-licensing 2>&1 | tee "$LOG.schemathesis"
cases="$(grep -oE '[0-9]+ generated' "$LOG.schemathesis" | awk '{ total += $1 } END { print total + 0 }')"
rm -f "$LOG.schemathesis"
phase "schemathesis"

echo "==> end-to-end tests (Playwright, Chromium)"
(cd end2end && tally npx playwright test)
phase "Playwright"
printf '%s\n' "${PHASES[@]}"

# Reached only when every step passed (set -e).
passed="$(grep -oE '[0-9]+ passed' "$LOG" | awk '{ total += $1 } END { print total + 0 }')"
echo "All suites: $passed tests passed and $cases schemathesis cases passed, 0 failed"

