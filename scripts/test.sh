#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test
# (unit, port conformance, contract, end to end over real HTTP).
# Installs what it needs (Python tools into .cache/venv) and cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "Python tools (.cache/venv)"
if [ ! -x .cache/venv/bin/python ]; then
  python3 -m venv .cache/venv
fi
.cache/venv/bin/python -m pip install --quiet --disable-pip-version-check 'openapi-spec-validator==0.9.0'
export JOJOMART_PYTHON="$root/.cache/venv/bin/python"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast
else
  cargo test --workspace --all-features --no-fail-fast
fi
