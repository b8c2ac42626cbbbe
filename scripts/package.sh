#!/usr/bin/env bash
# Builds the Linux binary and zips it with host.json and the function.json
# folders into target/jojomart.zip, the folder layout Azure Functions expects.
# stdout carries only the zip's path (scripts/deploy.sh reads it); progress
# and the manifest check's message go to stderr.
#   JOJOMART_PACKAGE_BINARY=<path>  package this binary instead of building one (tests)
#   JOJOMART_PACKAGE_OUT=<path>     where to write the zip (default target/jojomart.zip)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${JOJOMART_PACKAGE_OUT:-target/jojomart.zip}
binary=${JOJOMART_PACKAGE_BINARY:-}
{
  if [ -z "$binary" ]; then
    target=x86_64-unknown-linux-musl
    rustup target add "$target"
    cargo build --release --target "$target"
    binary="target/$target/release/jojomart"
    cargo run --quiet --release -- manifest --check
  else
    "$binary" manifest --check
  fi
} >&2

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/jojomart"
cp host.json "$stage/"
for f in */function.json; do
  mkdir -p "$stage/$(dirname "$f")"
  cp "$f" "$stage/$f"
done
mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$stage" && zip -qr - .) > "$out"
echo "packaged $(du -h "$out" | cut -f1) into $out" >&2
echo "$out"
