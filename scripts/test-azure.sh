#!/usr/bin/env bash
# Runs the Azure adapter suites: the generic store suite over the Cosmos SDK's
# in-process emulator, the wire subset over @vercel/cosmosdb-server (HTTPS),
# and the generic queue suite over Azurite. The emulators are installed into
# .cache/npm on first use, started on free loopback ports and stopped at the end.
#
# Usage: scripts/test-azure.sh [extra cargo test args...]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo test -p jojomart-shared --features cosmos-emulator,test-support --test cosmos_memory "$@"
scripts/emulators.sh run -- \
  cargo test -p jojomart-shared --features azure,test-support --test cosmos_server --test azure_queue "$@"
