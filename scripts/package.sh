#!/usr/bin/env bash
# Builds the Linux binary and zips it with host.json and the function.json
# folders into target/jojomart.zip, the folder layout Azure Functions expects.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
rustup target add "$target" >/dev/null
cargo build --release --target "$target"
cargo run --quiet --release -- manifest --check

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "target/$target/release/jojomart" host.json "$stage/"
for f in */function.json; do
  mkdir -p "$stage/$(dirname "$f")"
  cp "$f" "$stage/$f"
done
rm -f target/jojomart.zip
(cd "$stage" && zip -qr - .) > target/jojomart.zip
echo "target/jojomart.zip"
