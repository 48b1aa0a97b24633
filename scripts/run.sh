#!/usr/bin/env bash
# Builds and runs Storno Licensing on SQLite (a file under ./data/, created on first
# run). Installs the build tools it needs first. Prints the URL to open.
#   DATABASE_URL=postgres://...   use PostgreSQL instead
#   LEPTOS_SITE_ADDR=0.0.0.0:8080 listen elsewhere (default 127.0.0.1:3000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
cargo leptos serve --release --split --precompress
