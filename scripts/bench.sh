#!/usr/bin/env bash
# Benchmarks, one subcommand per area:
#   scripts/bench.sh auth   token verifications/s and logins/s (criterion, benches/auth.rs)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/bench.sh auth" >&2
  exit 2
}

case "${1:-}" in
  auth)
    # criterion prints time per operation and "thrpt" in operations per second
    cargo bench --bench auth -- "${@:2}"
    ;;
  *)
    usage
    ;;
esac
