#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (the real app on port 0, a fresh
# database each) on SQLite and, when TEST_DATABASE_URL names a PostgreSQL server,
# again on PostgreSQL; then schemathesis on the JSON API and the Playwright end-to-end
# tests in Chromium, against the server binary the Rust suites built and the release
# browser bundle (built beside the Rust suites). Installs what it needs first.
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh --test
# Each runner's output also goes to a log, for the tally at the end.
LOG="$(mktemp)"
RELEASE_LOG="$LOG.release"
RELEASE_PID=""
finish() {
  if [ -n "$RELEASE_PID" ]; then kill -- "-$RELEASE_PID" 2>/dev/null || true; fi
  rm -f "$LOG" "$LOG.schemathesis" "$RELEASE_LOG"
}
trap finish EXIT
tally() { "$@" 2>&1 | tee -a "$LOG"; }
# Where the time goes: each phase's seconds, printed at the end.
PHASES=()
phase() { PHASES+=("$(printf '%-44s %5ss' "$1" "$SECONDS")"); SECONDS=0; }

# The suite's PostgreSQL databases (one per test) and any an earlier run left, four drops
# at a time. Each drop takes a PostgreSQL checkpoint's time (0.1-0.5 s): one at a time,
# hundreds of them took minutes; they run in the background, beside the steps after.
drop_test_databases() {
  command -v psql >/dev/null 2>&1 || return 0
  psql "$TEST_DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'storno_test_%'" |
    xargs -r -P 4 -I{} psql "$TEST_DATABASE_URL" -qc 'DROP DATABASE "{}" WITH (FORCE)' ||
    echo "warning: some test databases could not be dropped (harmless; the next run tries again)"
}

phase "set-up (installs, when missing)"
# The browser bundle's release build has long stretches on one core (its link-time
# optimisation), so it runs beside the Rust suites and is waited for before the
# browser tests need it. The server for schemathesis and the browser tests is the
# one `cargo test` builds anyway (target/debug): a release build of the server
# compiled every dependency a second time, for the same code and the same markup
# (.cargo/config.toml gives both builds the bundle's name).
echo "==> release build of the browser bundle started in the background"
# Its own process group (setsid), so that a failed run stops the whole build.
setsid bash -c 'cargo leptos build --release --split --frontend-only --precompress && echo "bundle build took ${SECONDS}s"' \
  > "$RELEASE_LOG" 2>&1 &
RELEASE_PID=$!
SERVER="$ROOT/target/debug/storno-licensing"
echo "==> formatting (cargo fmt --check) and lints (clippy, every target, warnings are errors)"
cargo fmt --check
cargo clippy --all-targets --features ssr --locked -- -D warnings
phase "fmt and clippy"
echo "==> Rust unit and integration tests (SQLite)"
tally cargo test --features ssr --locked
phase "cargo test (build and run, SQLite)"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> integration tests again on PostgreSQL ($TEST_DATABASE_URL), a fresh database per test"
  tally cargo test --features ssr --locked --test api
  drop_test_databases &
  DROP_PID=$!
  phase "integration tests on PostgreSQL"
else
  echo "==> SKIPPED the PostgreSQL integration tests: set TEST_DATABASE_URL=postgres://... to include them"
fi

echo "==> waiting for the browser bundle"
if ! wait "$RELEASE_PID"; then
  RELEASE_PID=""
  cat "$RELEASE_LOG"
  echo "error: the browser bundle's build failed" >&2
  exit 1
fi
RELEASE_PID=""
tail -n 3 "$RELEASE_LOG"
phase "rest of the bundle build (after the suites)"

echo "==> schemathesis against the live API (its OpenAPI document, every default check)"
scripts/schemathesis.sh "$SERVER" 2>&1 | tee "$LOG.schemathesis"
cases="$(grep -oE '[0-9]+ generated' "$LOG.schemathesis" | awk '{ total += $1 } END { print total + 0 }')"
rm -f "$LOG.schemathesis"
phase "schemathesis"

echo "==> end-to-end tests (Playwright, Chromium)"
(cd end2end && E2E_SERVER="$SERVER" tally npx playwright test)
phase "Playwright"
if [ -n "${DROP_PID:-}" ]; then wait "$DROP_PID"; fi
printf '%s\n' "${PHASES[@]}"

# Reached only when every step passed (set -e).
passed="$(grep -oE '[0-9]+ passed' "$LOG" | awk '{ total += $1 } END { print total + 0 }')"
echo "All suites: $passed tests passed and $cases schemathesis cases passed, 0 failed"

