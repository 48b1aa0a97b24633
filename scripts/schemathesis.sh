#!/usr/bin/env bash
# schemathesis (every default check) against a live server, authenticated as an
# organization owner, using the server's own /api/v1/openapi.json. Part of
# scripts/test.sh; runs alone too:
#   scripts/schemathesis.sh [server binary]     (default: the release build's)
# SCHEMATHESIS_EXAMPLES (default 50) and SCHEMATHESIS_SEED (default 1: CI runs
# are reproducible; change it to explore) tune the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER="${1:-$ROOT/target/release/storno-licensing}"
SCHEMATHESIS="$ROOT/.tools/venv/bin/schemathesis"
PORT="${SCHEMATHESIS_PORT:-3200}"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
cleanup() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

[ -x "$SCHEMATHESIS" ] || { echo "error: run scripts/setup.sh --test first" >&2; exit 1; }

# A fresh database. The rate limits are raised: schemathesis checks the contract,
# tests/api/lifecycle.rs checks the limits. Offline licenses are signed with the
# test key, and new organizations self-host, so those answers are exercised too.
DATABASE_URL="sqlite://$WORK/app.db" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  LICENSE_JWT_PRIVATE_KEY_FILE="$ROOT/tests/fixtures/offline-license-test-key.pem" DEFAULT_PLAN=business \
  RATE_LIMIT_VALIDATE_PER_KEY=100000 RATE_LIMIT_VALIDATE_PER_IP=100000 \
  RATE_LIMIT_SIGN_IN_PER_IP=100000 RATE_LIMIT_SIGN_IN_PER_ACCOUNT=100000 \
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT_TOTAL=100000 RATE_LIMIT_SIGN_UP_PER_IP=100000 \
  RATE_LIMIT_PASSWORD_RESET_PER_IP=100000 RATE_LIMIT_EMAILS_PER_ADDRESS=100000 \
  RATE_LIMIT_KEYS_PER_ORGANIZATION=100000 RATE_LIMIT_INVITATIONS_PER_ORGANIZATION=100000 \
  RATE_LIMIT_ORGANIZATIONS_PER_ACCOUNT=100000 \
  "$SERVER" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -sf "$BASE/api/v1/openapi.json" >/dev/null && break
  sleep 0.2
done

register() {
  curl -sf -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"schemathesis password\",\"organizationName\":\"Schemathesis\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

run() { # token, then schemathesis options
  local token="$1"
  shift
  "$SCHEMATHESIS" --config-file "$ROOT/scripts/schemathesis.toml" run "$BASE/api/v1/openapi.json" -H "Authorization: Bearer $token" \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --seed "${SCHEMATHESIS_SEED:-1}" \
    --generation-database none --no-color "$@"
}

cd "$WORK"
# Revoking the token in use would leave the rest of the run unauthenticated, so
# that one operation runs last, with a token of its own.
run "$(register owner@schemathesis.test)" --exclude-name "DELETE /api/v1/auth/token"
run "$(register revoker@schemathesis.test)" --include-name "DELETE /api/v1/auth/token"
