#!/usr/bin/env bash
# Proves the deployable package: builds it with scripts/package.sh (the static
# musl binary; a long release build) unless a zip is given, then, with the
# emulators running, the ignored test `package::the_packaged_static_binary_serves_on_the_emulators`
# unpacks it, checks its layout against the function table and that the handler
# is static, runs the packaged `jojomart provision`, then `jojomart serve` on
# FUNCTIONS_CUSTOMHANDLER_PORT, and waits for health 200.
#   scripts/package-test.sh [path/to/jojomart.zip]
# --workspace --all-features: the same features as scripts/test.sh, so nothing is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
if [ $# -ge 1 ]; then
  zip=$1
else
  zip=$(scripts/package.sh)
fi
zip=$(realpath "$zip")
echo "package-test: $zip ready after $((SECONDS - started)) s" >&2

scripts/emulators.sh run -- env JOJOMART_PACKAGE_ZIP="$zip" \
  cargo nextest run --workspace --all-features --no-fail-fast --run-ignored only \
  -E 'package(jojomart) and binary(api) and test(=package::the_packaged_static_binary_serves_on_the_emulators)'
echo "package-test: done in $((SECONDS - started)) s" >&2
