#!/usr/bin/env bash
# Benchmarks, one subcommand per area:
#   scripts/bench.sh auth      token verifications/s and logins/s (criterion, benches/auth.rs)
#   scripts/bench.sh catalog   10,000 products in a fresh `jojomart dev` (release), then
#                              product reads and the listing/search mix with wrk from a
#                              second process (the load generator shares the machine)
#   scripts/bench.sh checkout  a fresh `jojomart dev` (release, SQLite, the gateway simulator);
#                              BENCH_SHOPPERS concurrent shoppers (16) add to cart and check
#                              out for BENCH_SECONDS (15): orders/s, p50, p99, and a zero-
#                              oversell check (benches/checkout.rs, a second process)
#   scripts/bench.sh auth-flood  a fresh `jojomart dev` (release, SQLite); BENCH_REGISTRARS (200)
#                              concurrent clients register accounts for BENCH_SECONDS (15) while
#                              one client signs in again and again: login p50/p99 under the flood
#                              (benches/auth_flood.py). BENCH_BIN runs another binary (e.g. an
#                              older build, to compare); extra `dev` settings pass through the
#                              environment (JOJOMART_REGISTER_MAX_PER_CLIENT=0 turns the
#                              registration throttle off to measure the hashing shares alone)
#
# Knobs: BENCH_DURATION (default 15s per scenario), BENCH_CONNECTIONS (32),
# BENCH_THREADS (wrk threads, 1), BENCH_PRODUCTS (10000).
# Needs curl, python3 and wrk (installed with apt-get when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release/jojomart"
duration="${BENCH_DURATION:-15s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-1}"

step() { printf '\n==> %s\n' "$*" >&2; }

usage() {
  echo "usage: scripts/bench.sh auth|auth-flood|catalog|checkout" >&2
  exit 2
}

need_wrk() {
  if command -v wrk >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing wrk"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null
  fi
  command -v wrk >/dev/null 2>&1 || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wrk_run NAME PATHS_FILE: drives the paths in PATHS_FILE round-robin and
# prints one result line: name, requests/s, p50, p99, errors.
wrk_run() {
  local name=$1 paths=$2 out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$work/paths.lua" "$base" -- "$paths")
  printf '%s\n' "$out" >"$work/wrk-$name.txt"
  python3 - "$name" "$work/wrk-$name.txt" <<'EOF'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000 if u == "s" else n * 60000
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
print(f"{name:<22} {rps:>10.0f} {p50:>9.2f} {p99:>9.2f}   non-2xx={bad.group(1) if bad else 0}{'  ' + errors.group(0) if errors else ''}")
EOF
}

# Starts `$1 dev` on a free port over a fresh data dir (extra variables for
# its environment after the binary: `start_dev "$bin" JOJOMART_X=1`), stops
# it and removes the dir on exit, and waits until /api/health answers.
# Sets `work` (the data dir) and `base` (its URL).
start_dev() {
  local run=$1
  shift
  work=$(mktemp -d)
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  step "$run dev on $base (data in $work)"
  env JOJOMART_LOG=warn "$@" "$run" dev --port "$port" --data-dir "$work" >"$work/dev.log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 300); do
    curl -fsS "$base/api/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$base/api/health" >/dev/null
}

bench_catalog() {
  local products="${BENCH_PRODUCTS:-10000}"
  need_wrk
  step "cargo build --release"
  cargo build --release --quiet --bin jojomart

  start_dev "$bin"

  step "jojomart seed --products $products (a second process, same store)"
  "$bin" seed --products "$products" --data-dir "$work"
  step "waiting for dev's catalog to pick them up"
  local total=0
  for _ in $(seq 1 300); do
    total=$(curl -fsS "$base/api/categories" | python3 -c 'import json,sys; print(sum(c["productCount"] for c in json.load(sys.stdin)))')
    [ "$total" -ge "$products" ] && break
    sleep 0.2
  done
  echo "dev lists $total products" >&2

  step "request mixes"
  curl -fsS "$base/api/products?limit=100&sort=price_asc" >"$work/page1.json"
  curl -fsS "$base/api/products?limit=100&sort=newest" >"$work/page2.json"
  curl -fsS "$base/api/products?limit=100&sort=price_desc" >"$work/page3.json"
  python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
ids = []
for n in (1, 2, 3):
    ids += [p["id"] for p in json.load(open(f"{work}/page{n}.json"))["items"]]
with open(f"{work}/reads.txt", "w") as f:
    for i in ids:
        f.write(f"/api/products/{i}\n")
words = ["wireless", "ceramic", "merino", "tent", "puzzle", "serum", "trowel", "red",
         "blue", "lamp", "Kettle", "organic", "waterproof", "wooden", "solar", "model"]
cats = ["electronics", "home-kitchen", "books", "clothing", "sports-outdoors", "toys-games", "beauty", "garden"]
mixes = {
    "plain": [f"/api/products?limit=20" for _ in words],
    "q": [f"/api/products?limit=20&q={w}" for w in words],
    "category": [f"/api/products?limit=20&category={c}" for c in cats],
    "price_asc": [f"/api/products?limit=20&sort=price_asc" for _ in words],
}
mixed = [p for group in zip(mixes["plain"], mixes["q"], mixes["category"] * 2, mixes["price_asc"]) for p in group]
mixes["listing-mix"] = mixed
for name, paths in mixes.items():
    with open(f"{work}/{name}.txt", "w") as f:
        f.write("\n".join(paths) + "\n")
EOF
  cat >"$work/paths.lua" <<'EOF'
local paths = {}
local counter = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = math.random(#paths)
end
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
EOF
  step "warm-up"
  wrk -t1 -c8 -d3s -s "$work/paths.lua" "$base" -- "$work/listing-mix.txt" >/dev/null
  wrk -t1 -c8 -d2s -s "$work/paths.lua" "$base" -- "$work/reads.txt" >/dev/null

  step "wrk -t$threads -c$connections -d$duration per scenario (targets: reads >= 5000 req/s, listing >= 2000 req/s, p99 < 20 ms)"
  printf '%-22s %10s %9s %9s\n' "scenario" "req/s" "p50 ms" "p99 ms"
  wrk_run "product-reads" "$work/reads.txt"
  wrk_run "listing-mix" "$work/listing-mix.txt"
  wrk_run "listing-plain" "$work/plain.txt"
  wrk_run "listing-q" "$work/q.txt"
  wrk_run "listing-category" "$work/category.txt"
  wrk_run "listing-price_asc" "$work/price_asc.txt"
}

bench_checkout() {
  step "cargo build --release (jojomart and the load generator)"
  cargo build --release --quiet --bin jojomart
  cargo bench --no-run --quiet --bench checkout 2>/dev/null
  # the shoppers all register from 127.0.0.1: no registration throttle here
  start_dev "$bin" JOJOMART_ADMIN_EMAILS=bench-admin@jojomart.test JOJOMART_REGISTER_MAX_PER_CLIENT=0
  step "load: target >= 300 orders/s, p99 < 100 ms, nothing oversold"
  BENCH_BASE="$base" BENCH_ADMIN_EMAIL=bench-admin@jojomart.test cargo bench --quiet --bench checkout
}

bench_auth_flood() {
  if [ -z "${BENCH_BIN:-}" ]; then
    step "cargo build --release (SQLite only)"
    cargo build --release --quiet --no-default-features --bin jojomart
  fi
  local run="${BENCH_BIN:-$bin}"
  start_dev "$run"
  step "login latency while ${BENCH_REGISTRARS:-200} clients register"
  BENCH_BASE="$base" python3 benches/auth_flood.py
}

case "${1:-}" in
  auth-flood)
    bench_auth_flood
    ;;
  auth)
    # criterion prints time per operation and "thrpt" in operations per second
    cargo bench --bench auth -- "${@:2}"
    ;;
  catalog)
    bench_catalog
    ;;
  checkout)
    bench_checkout
    ;;
  *)
    usage
    ;;
esac
