#!/usr/bin/env bash
# Benchmark (not a test): POST /api/v1/licensing/keys throughput and p50/p99 latency
# at 1, 16 and 64 connections, on SQLite and PostgreSQL, for the real server and for
# the bare axum + sqlx handler in bench/bare_create.rs, same durability, in two modes:
# "row" inserts the key row only; "same" runs the real endpoint's own SQL statement
# (owner check and key row). Prints real/row and real/same: the first is the
# target, the second shows how much of the gap is the database work itself.
# The machine is shared and noisy: each figure is the median of BENCH_ROUNDS runs,
# the three servers taking turns (in a rotating order) within each round.
# Installs oha (crates.io) if missing.
#   bench/run.sh                      both engines, 3 rounds of 5 s per measurement
#   BENCH_SECONDS=10 BENCH_ROUNDS=5 BENCH_ENGINES=sqlite bench/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
ENGINES="${BENCH_ENGINES:-sqlite postgres}"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
CONNECTIONS="1 16 64"
export PATH="$HOME/.cargo/bin:$PATH"

command -v oha >/dev/null 2>&1 || cargo install oha --locked
cargo build --release --locked --features ssr --bin storno-licensing --example bare_create
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

fresh_database() { # engine name -> URL of an empty database
  if [ "$1" = sqlite ]; then
    echo "sqlite://$WORK/$2.db"
  else
    psql "$PG_SERVER" -qc "DROP DATABASE IF EXISTS bench_$2 WITH (FORCE)" >/dev/null
    psql "$PG_SERVER" -qc "CREATE DATABASE bench_$2" >/dev/null
    echo "${PG_SERVER%/*}/bench_$2"
  fi
}

wait_for_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

measure() { # url connections [token] -> "requests/s p50_ms p99_ms"
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  oha -z "${SECONDS_PER_RUN}s" -c "$2" --no-tui --output-format json -m POST \
    -H 'Content-Type: application/json' "${auth[@]}" -d '{}' "$1" > "$WORK/out.json"
  node -e '
    const r = require(process.argv[1]);
    const codes = Object.keys(r.statusCodeDistribution || {});
    if (codes.length !== 1 || codes[0] !== "201") { console.error("non-201 answers:", r.statusCodeDistribution, r.errorDistribution); process.exit(1); }
    const ms = (s) => (s * 1000).toFixed(2);
    console.log(r.summary.requestsPerSec.toFixed(0), ms(r.latencyPercentiles.p50), ms(r.latencyPercentiles.p99));
  ' "$WORK/out.json"
}

median() { # file of "requests/s p50 p99" lines -> the median of each column
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
    const mid = (i) => { const v = rows.map((r) => r[i]).sort((a, b) => a - b); return v[(v.length - 1) >> 1]; };
    console.log(mid(0).toFixed(0), mid(1).toFixed(2), mid(2).toFixed(2));
  ' "$1"
}

printf '%-9s %5s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %8s %9s\n' engine conns \
  "real r/s" "p50 ms" "p99 ms" "row r/s" "p50 ms" "p99 ms" "same r/s" "p50 ms" "p99 ms" "real/row" "real/same"
for engine in $ENGINES; do
  app_db="$(fresh_database "$engine" app)"
  bare_db="$(fresh_database "$engine" bare)"
  same_db="$(fresh_database "$engine" same)"
  DATABASE_URL="$app_db" LEPTOS_SITE_ADDR=127.0.0.1:4100 LEPTOS_OUTPUT_NAME=storno-licensing \
    LICENSING_KEY_PEPPER="$(printf '07%.0s' $(seq 1 32))" RUST_LOG=warn \
    target/release/storno-licensing >/dev/null 2>&1 &
  PIDS+=($!)
  DATABASE_URL="$bare_db" BENCH_ADDR=127.0.0.1:4200 target/release/examples/bare_create >/dev/null 2>&1 &
  PIDS+=($!)
  DATABASE_URL="$same_db" BENCH_ADDR=127.0.0.1:4300 BARE_SQL=same target/release/examples/bare_create >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for_port 4100
  wait_for_port 4200
  wait_for_port 4300
  token="$(curl -sf -X POST http://127.0.0.1:4100/api/v1/auth/register -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.test","password":"benchmark password","organizationName":"Bench"}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')"
  urls=(http://127.0.0.1:4100/api/v1/licensing/keys http://127.0.0.1:4200/api/v1/licensing/keys
    http://127.0.0.1:4300/api/v1/licensing/keys)
  tokens=("$token" "" "")
  for c in $CONNECTIONS; do
    rm -f "$WORK"/runs-*
    for round in $(seq 1 "$ROUNDS"); do
      for turn in 0 1 2; do
        server=$(( (turn + round) % 3 ))
        measure "${urls[$server]}" "$c" "${tokens[$server]}" >> "$WORK/runs-$server"
      done
    done
    read -r real_rps real_p50 real_p99 < <(median "$WORK/runs-0")
    read -r bare_rps bare_p50 bare_p99 < <(median "$WORK/runs-1")
    read -r same_rps same_p50 same_p99 < <(median "$WORK/runs-2")
    to_row="$(node -e "console.log(($real_rps / $bare_rps).toFixed(2))")"
    to_same="$(node -e "console.log(($real_rps / $same_rps).toFixed(2))")"
    printf '%-9s %5s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %8s %9s\n' "$engine" "$c" \
      "$real_rps" "$real_p50" "$real_p99" "$bare_rps" "$bare_p50" "$bare_p99" \
      "$same_rps" "$same_p50" "$same_p99" "$to_row" "$to_same"
  done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  PIDS=()
  sleep 1
done
