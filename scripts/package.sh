#!/usr/bin/env bash
# Builds the static Linux binary (x86_64-unknown-linux-musl, profile `dist`,
# mimalloc as its allocator) and zips it with host.json and the function.json
# folders into target/jojomart.zip, the folder layout Azure Functions expects.
# stdout carries only the zip's path (scripts/deploy.sh reads it); progress
# and the manifest check's message go to stderr.
# Needs a musl C toolchain for the crates with C inside (ring, aws-lc-sys,
# libsqlite3-sys bundled, libmimalloc-sys): on Debian/Ubuntu `apt-get install
# musl-tools` (musl-gcc), plus `zip`. scripts/package-test.sh proves the result.
#   JOJOMART_PACKAGE_BINARY=<path>  package this binary instead of building one (tests)
#   JOJOMART_PACKAGE_OUT=<path>     where to write the zip (default target/jojomart.zip)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${JOJOMART_PACKAGE_OUT:-target/jojomart.zip}
binary=${JOJOMART_PACKAGE_BINARY:-}
{
  if [ -z "$binary" ]; then
    target=x86_64-unknown-linux-musl
    command -v musl-gcc >/dev/null || {
      echo "package.sh: musl-gcc not found; install musl-tools (apt-get install musl-tools)" >&2
      exit 1
    }
    rustup target add "$target"
    started=$SECONDS
    cargo build --locked --profile dist --target "$target" --bin jojomart
    echo "built the static binary in $((SECONDS - started)) s" >&2
    binary="target/$target/dist/jojomart"
    # static: it runs here too, so no second (glibc) release build for the check
    "$binary" manifest --check
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
