#!/usr/bin/env bash
# Benchmark (not a test): throughput and p50/p99 latency at 1, 16 and 64
# connections, on SQLite and PostgreSQL, of
#   create    POST /api/v1/licensing/keys: the real server against the bare axum +
#             sqlx handler in bench/bare_create.rs, same durability, in two modes:
#             "row" inserts the key row only; "same" runs the real endpoint's own
#             statement (owner check and key row). real/row is the target, real/same
#             how much of the gap is the database work itself.
#   validate  POST /api/v1/licensing/validate: the real server against the bare
#             handler's validate (the same key lookup with organization and plan, the
#             same update). real/bare is the target.
#   pages     GET /keys as its owner (server-rendered, one key) and GET /sign-in,
#             each against GET /api/v1/openapi.json of the same server in the same
#             round: page/openapi is the target.
# The machine is shared and noisy: each figure is the median of BENCH_ROUNDS runs,
# the servers taking turns (in a rotating order) within each round.
# Builds into target/bench, so the release build cargo-leptos made (whose pages
# name the hashed wasm) is left as it was. Installs oha (crates.io) if missing.
#   bench/run.sh                      both engines, all three, 3 rounds of 5 s each
#   BENCH_SECONDS=10 BENCH_ROUNDS=5 BENCH_ENGINES=sqlite BENCH_ONLY="validate pages" bench/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
ENGINES="${BENCH_ENGINES:-sqlite postgres}"
ONLY="${BENCH_ONLY:-create validate pages}"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
CONNECTIONS="1 16 64"
BIN="$ROOT/target/bench/release"
export PATH="$HOME/.cargo/bin:$PATH"

command -v oha >/dev/null 2>&1 || cargo install oha --locked
cargo build --release --locked --features ssr --target-dir target/bench \
  --bin storno-licensing --example bare_create
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

# measure URL CONNECTIONS STATUS METHOD [oha options...] -> "requests/s p50_ms p99_ms"
# Every answer must have STATUS, or the run stops.
measure() {
  local url="$1" connections="$2" status="$3" method="$4"
  shift 4
  oha -z "${SECONDS_PER_RUN}s" -c "$connections" --no-tui --output-format json -m "$method" "$@" "$url" \
    > "$WORK/out.json"
  node -e '
    const r = require(process.argv[1]);
    const codes = Object.keys(r.statusCodeDistribution || {});
    if (codes.length !== 1 || codes[0] !== process.argv[2]) { console.error("answers other than", process.argv[2], r.statusCodeDistribution, r.errorDistribution); process.exit(1); }
    const ms = (s) => (s * 1000).toFixed(2);
    console.log(r.summary.requestsPerSec.toFixed(0), ms(r.latencyPercentiles.p50), ms(r.latencyPercentiles.p99));
  ' "$WORK/out.json" "$status"
}

median() { # file of "requests/s p50 p99" lines -> the median of each column
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
    const mid = (i) => { const v = rows.map((r) => r[i]).sort((a, b) => a - b); return v[(v.length - 1) >> 1]; };
    console.log(mid(0).toFixed(0), mid(1).toFixed(2), mid(2).toFixed(2));
  ' "$1"
}

ratio() { node -e "console.log(($1 / $2).toFixed(2))"; }

# compare LABEL CONNECTIONS NAME... : runs the commands `run_NAME CONNECTIONS` (each
# printing one measurement) in turns, BENCH_ROUNDS times; prints the medians and
# each one's ratio to the last.
compare() {
  local label="$1" connections="$2"
  shift 2
  local names=("$@") count=$# medians=()
  rm -f "$WORK"/runs-*
  for round in $(seq 1 "$ROUNDS"); do
    for turn in $(seq 0 $((count - 1))); do
      local index=$(( (turn + round) % count ))
      "run_${names[$index]}" "$connections" >> "$WORK/runs-$index"
    done
  done
  local line base_rps
  read -r base_rps _ < <(median "$WORK/runs-$((count - 1))")
  line="$(printf '%-24s %5s' "$label" "$connections")"
  for index in $(seq 0 $((count - 1))); do
    read -r rps p50 p99 < <(median "$WORK/runs-$index")
    line+="$(printf ' | %-9s %7s r/s %7s %7s ms' "${names[$index]}" "$rps" "$p50" "$p99")"
    [ "$index" -lt $((count - 1)) ] && line+="$(printf ' (%s×)' "$(ratio "$rps" "$base_rps")")"
  done
  echo "$line"
}

REAL=http://127.0.0.1:4100
BARE=http://127.0.0.1:4200
SAME=http://127.0.0.1:4300
run_real_create() { measure "$REAL/api/v1/licensing/keys" "$1" 201 POST -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" -d '{}'; }
run_same_create() { measure "$SAME/api/v1/licensing/keys" "$1" 201 POST -H 'Content-Type: application/json' -d '{}'; }
run_row_create() { measure "$BARE/api/v1/licensing/keys" "$1" 201 POST -H 'Content-Type: application/json' -d '{}'; }
run_real_validate() { measure "$REAL/api/v1/licensing/validate" "$1" 200 POST -H 'Content-Type: application/json' -d "{\"licenseKey\":\"$KEY\",\"instanceUrl\":\"https://erp.example.test\"}"; }
run_bare_validate() { measure "$BARE/api/v1/licensing/validate" "$1" 200 POST -H 'Content-Type: application/json' -d '{"licenseKey":"ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd","instanceUrl":"https://erp.example.test"}'; }
run_keys_page() { measure "$REAL/keys" "$1" 200 GET -H 'Accept: text/html' -H "Cookie: $COOKIE"; }
run_sign_in_page() { measure "$REAL/sign-in" "$1" 200 GET -H 'Accept: text/html'; }
run_openapi() { measure "$REAL/api/v1/openapi.json" "$1" 200 GET; }

start_servers() { # engine
  local app_db bare_db same_db
  app_db="$(fresh_database "$1" app)"
  bare_db="$(fresh_database "$1" bare)"
  same_db="$(fresh_database "$1" same)"
  DATABASE_URL="$app_db" LEPTOS_SITE_ADDR=127.0.0.1:4100 LEPTOS_OUTPUT_NAME=storno-licensing \
    LICENSING_KEY_PEPPER="$(printf '07%.0s' $(seq 1 32))" ANSWER_SIGNING_KEYS="$(printf '09%.0s' $(seq 1 32))" \
    RUST_LOG=warn DEFAULT_PLAN=business \
    RATE_LIMIT_VALIDATE_PER_KEY=1000000000 RATE_LIMIT_VALIDATE_PER_IP=1000000000 \
    RATE_LIMIT_KEYS_PER_ORGANIZATION=1000000000 \
    "$BIN/storno-licensing" >/dev/null 2>&1 &
  PIDS+=($!)
  DATABASE_URL="$bare_db" BENCH_ADDR=127.0.0.1:4200 "$BIN/examples/bare_create" >/dev/null 2>&1 &
  PIDS+=($!)
  DATABASE_URL="$same_db" BENCH_ADDR=127.0.0.1:4300 BARE_SQL=same "$BIN/examples/bare_create" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for_port 4100
  wait_for_port 4200
  wait_for_port 4300
  TOKEN="$(curl -sf -X POST $REAL/api/v1/auth/register -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.test","password":"benchmark password","organizationName":"Bench"}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')"
  KEY="$(curl -sf -X POST $REAL/api/v1/licensing/keys -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN" -d '{"instanceName":"Bench"}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).licenseKey))')"
  # The session's cookie (sign-in also sets the browser's device cookie).
  COOKIE="$(curl -s -o /dev/null -D - -X POST $REAL/rpc/sign_in -H "Origin: $REAL" \
    --data 'email=bench%40example.test&password=benchmark+password' |
    sed -nE 's/^set-cookie: ((__Host-)?storno_session=[^;]+);.*/\1/Ip' | head -n 1)"
}

stop_servers() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  PIDS=()
  sleep 1
}

for engine in $ENGINES; do
  start_servers "$engine"
  # Creating keys comes last: until then the owner's page lists one key.
  for bench in validate pages create; do
    case " $ONLY " in *" $bench "*) ;; *) continue ;; esac
    for c in $CONNECTIONS; do
      case "$bench" in
        validate) compare "$engine validate" "$c" real_validate bare_validate ;;
        pages) compare "$engine pages" "$c" keys_page sign_in_page openapi ;;
        create) compare "$engine create" "$c" real_create same_create row_create ;;
      esac
    done
  done
  stop_servers
done
