#!/usr/bin/env bash
# Installs what building and testing Storno Licensing needs, skipping whatever is
# already present at the right version, so a second run takes seconds.
#   scripts/setup.sh          build tools (wasm target, cargo-leptos, wasm-bindgen, wasm-opt)
#   scripts/setup.sh --test   also Chromium, the Playwright packages and schemathesis
# Source-able: it prepends the project's tool folder to PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132"
export PATH="$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '==> %s\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "error: '$1' is required but not installed. $2" >&2
    exit 1
  }
}

need cargo "Install Rust with rustup: https://rustup.rs"
need npm "Install Node.js 20 or newer (Debian: apt-get install nodejs npm)."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Two independent cargo installs run side by side: together they are the slow
# part of a fresh machine (about 25 minutes).
installs=()
if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked &
  installs+=($!)
fi
# cargo-leptos runs the wasm-bindgen on PATH; it must match the crate in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$ROOT/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock file names a crate version the registry does not serve.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force &
  installs+=($!)
fi
for pid in "${installs[@]}"; do wait "$pid"; done

# Release builds always run wasm-opt. npm's binaryen is recent; older distribution
# builds (wasm-opt 108) produce a bundle that fails to hydrate.
if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "$BINARYEN_VERSION" ]; then
  say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into .tools/"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

if [ "${1:-}" = "--test" ]; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      say "adding the $component component (the tests check formatting and lints)"
      rustup component add "$component"
    fi
  done
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium for the end-to-end tests"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  SCHEMATHESIS_VERSION="4.32.5"
  if [ "$("$TOOLS/venv/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    need python3 "Install Python 3 (Debian: apt-get install python3 python3-venv)."
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into .tools/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # The SMTP server the mail tests start (tests/support/smtp_sink.py).
  AIOSMTPD_VERSION="1.4.6"
  if [ "$("$TOOLS/venv/bin/python" -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null || true)" != "$AIOSMTPD_VERSION" ]; then
    say "installing aiosmtpd $AIOSMTPD_VERSION (PyPI) into .tools/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
  fi
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ]; then
    say "installing the Playwright test runner (no browser download: it drives Debian's Chromium)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
fi
