#!/usr/bin/env bash
# Local Azure emulators for jojomart: @vercel/cosmosdb-server (Cosmos DB over
# HTTPS, patched by scripts/cosmos-server-launcher.js) and Azurite (Storage
# Queues, and Blob Storage for product images), installed with npm into .cache/npm (git-ignored) at pinned versions,
# and Debian's redis-server (the cache port; apt-get installs it when missing
# and we are root), started on 127.0.0.1 on free ports (Redis without
# persistence), and stopped on exit.
#
# Usage:
#   scripts/emulators.sh install          install the pinned emulators only
#   scripts/emulators.sh run -- CMD ...   start both, run CMD with the connection
#                                         variables set, stop both, exit with CMD's status
#   scripts/emulators.sh start            start both, create the database, containers,
#                                         queues and the public image container (`jojomart provision`), print the variables,
#                                         wait for Ctrl-C
#
# Variables set for CMD (and printed by `start`):
#   COSMOS_ENDPOINT, COSMOS_KEY, COSMOS_DATABASE,
#   AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED=true,
#   AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED=false,
#   AZURE_COSMOS_BINARY_ENCODING_ENABLED=false,
#   AzureWebJobsStorage (Azurite's well-known dev account at the chosen ports:
#   its QueueEndpoint and BlobEndpoint),
#   JOJOMART_TEST_COSMOS_ENDPOINT, JOJOMART_TEST_STORAGE and
#   JOJOMART_TEST_BLOB_STORAGE (what the adapter test suites read, so they
#   never touch an account named by the app variables),
#   JOJOMART_TEST_REDIS_URL (redis://127.0.0.1:<port>/, for the cache suite and
#   the two-instance throttle test; `jojomart dev --cache redis` takes it as
#   JOJOMART_REDIS_URL).
set -euo pipefail

COSMOSDB_SERVER_VERSION="1.0.1"
AZURITE_VERSION="3.37.0"
READY_TIMEOUT_SECONDS=30

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_DIR="$ROOT/.cache/npm"
MODULES="$NPM_DIR/node_modules"

# The Cosmos DB emulator's well-known key; @vercel/cosmosdb-server does not check it.
COSMOS_EMULATOR_KEY="C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT="devstoreaccount1"
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

log() { echo "emulators: $*" >&2; }
die() { log "$*"; exit 1; }

installed_version() {
  local pkg_json="$MODULES/$1/package.json"
  [[ -f "$pkg_json" ]] && node -p "require(process.argv[1]).version" "$pkg_json" 2>/dev/null || true
}

install_redis() {
  command -v redis-server >/dev/null && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing redis-server with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  fi
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
}

install() {
  install_redis
  command -v node >/dev/null || die "node is not installed (Node 18+ is needed)"
  command -v npm >/dev/null || die "npm is not installed"
  if [[ "$(installed_version @vercel/cosmosdb-server)" == "$COSMOSDB_SERVER_VERSION" &&
        "$(installed_version azurite)" == "$AZURITE_VERSION" ]]; then
    return 0
  fi
  log "installing @vercel/cosmosdb-server@$COSMOSDB_SERVER_VERSION and azurite@$AZURITE_VERSION into .cache/npm"
  mkdir -p "$NPM_DIR"
  [[ -f "$NPM_DIR/package.json" ]] || echo '{"name":"jojomart-emulators","private":true}' > "$NPM_DIR/package.json"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error \
    "@vercel/cosmosdb-server@$COSMOSDB_SERVER_VERSION" "azurite@$AZURITE_VERSION" >&2)
}

WORK_DIR=""
COSMOS_PID=""
AZURITE_PID=""
AZURITE_BLOB_PID=""
REDIS_PID=""

stop() {
  local pid
  for pid in "$COSMOS_PID" "$AZURITE_PID" "$AZURITE_BLOB_PID" "$REDIS_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  COSMOS_PID=""
  AZURITE_PID=""
  AZURITE_BLOB_PID=""
  REDIS_PID=""
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR"
  fi
  WORK_DIR=""
}

# wait_for_line FILE PID REGEX NAME: prints the first match of REGEX in FILE.
wait_for_line() {
  local file="$1" pid="$2" regex="$3" name="$4" waited=0 match
  while (( waited < READY_TIMEOUT_SECONDS * 10 )); do
    match="$(grep -Eo "$regex" "$file" 2>/dev/null | head -n1 || true)"
    if [[ -n "$match" ]]; then
      echo "$match"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$file" >&2 || true
      die "$name exited before it was ready"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  cat "$file" >&2 || true
  die "$name was not ready after ${READY_TIMEOUT_SECONDS}s"
}

start_emulators() {
  install
  mkdir -p "$ROOT/.cache"
  WORK_DIR="$(mktemp -d "$ROOT/.cache/emulators.XXXXXX")"

  node "$ROOT/scripts/cosmos-server-launcher.js" "$MODULES" --host 127.0.0.1 --port 0 \
    > "$WORK_DIR/cosmos.log" 2>&1 &
  COSMOS_PID=$!
  node "$MODULES/azurite/dist/src/queue/main.js" --silent --disableTelemetry \
    --location "$WORK_DIR/azurite" --queueHost 127.0.0.1 --queuePort 0 \
    > "$WORK_DIR/azurite.log" 2>&1 &
  AZURITE_PID=$!
  node "$MODULES/azurite/dist/src/blob/main.js" --silent --disableTelemetry \
    --location "$WORK_DIR/azurite-blob" --blobHost 127.0.0.1 --blobPort 0 \
    > "$WORK_DIR/azurite-blob.log" 2>&1 &
  AZURITE_BLOB_PID=$!

  # Redis cannot pick its own port (0 turns TCP off): ask the OS for a free one.
  local redis_port
  redis_port="$(node -e 'const s=require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize no --protected-mode yes > "$WORK_DIR/redis.log" 2>&1 &
  REDIS_PID=$!

  local cosmos_url queue_url blob_url
  cosmos_url="$(wait_for_line "$WORK_DIR/cosmos.log" "$COSMOS_PID" 'https://127\.0\.0\.1:[0-9]+/' cosmosdb-server)"
  queue_url="$(wait_for_line "$WORK_DIR/azurite.log" "$AZURITE_PID" 'http://127\.0\.0\.1:[0-9]+' azurite)"
  blob_url="$(wait_for_line "$WORK_DIR/azurite-blob.log" "$AZURITE_BLOB_PID" 'http://127\.0\.0\.1:[0-9]+' azurite-blob)"

  export COSMOS_ENDPOINT="$cosmos_url"
  export COSMOS_KEY="$COSMOS_EMULATOR_KEY"
  export COSMOS_DATABASE="${COSMOS_DATABASE:-jojomart}"
  export AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED=true
  export AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED=false
  export AZURE_COSMOS_BINARY_ENCODING_ENABLED=false
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;QueueEndpoint=$queue_url/$AZURITE_ACCOUNT;BlobEndpoint=$blob_url/$AZURITE_ACCOUNT;"
  export JOJOMART_TEST_COSMOS_ENDPOINT="$COSMOS_ENDPOINT"
  export JOJOMART_TEST_STORAGE="$AzureWebJobsStorage"
  export JOJOMART_TEST_BLOB_STORAGE="$AzureWebJobsStorage"
  wait_for_line "$WORK_DIR/redis.log" "$REDIS_PID" 'Ready to accept connections' redis-server >/dev/null
  export JOJOMART_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/"
  log "cosmosdb-server at $COSMOS_ENDPOINT, azurite queues at $queue_url/$AZURITE_ACCOUNT, blobs at $blob_url/$AZURITE_ACCOUNT, redis at $JOJOMART_TEST_REDIS_URL"
}

print_env() {
  local name
  for name in COSMOS_ENDPOINT COSMOS_KEY COSMOS_DATABASE \
      AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED \
      AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED AZURE_COSMOS_BINARY_ENCODING_ENABLED \
      AzureWebJobsStorage JOJOMART_TEST_COSMOS_ENDPOINT JOJOMART_TEST_STORAGE \
      JOJOMART_TEST_BLOB_STORAGE \
      JOJOMART_TEST_REDIS_URL; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done
}

main() {
  local command="${1:-}"
  shift || true
  case "$command" in
    install)
      install
      ;;
    run)
      [[ "${1:-}" == "--" ]] && shift
      (( $# > 0 )) || die "usage: scripts/emulators.sh run -- CMD [ARGS...]"
      trap stop EXIT
      trap 'exit 130' INT TERM
      start_emulators
      local status=0
      "$@" || status=$?
      exit "$status"
      ;;
    start)
      trap stop EXIT
      trap 'exit 0' INT TERM
      start_emulators
      (cd "$ROOT" && cargo run --quiet --release -- provision) >&2
      print_env
      log "running; press Ctrl-C to stop"
      wait
      ;;
    *)
      die "usage: scripts/emulators.sh install | run -- CMD [ARGS...] | start"
      ;;
  esac
}

main "$@"
