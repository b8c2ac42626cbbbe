#!/usr/bin/env bash
# Schemathesis over /api/openapi.json against `jojomart dev` (the debug build),
# as a shopper and as an admin: any 5xx, any response whose status, content
# type or body the document does not describe fails the run. Bounded to about
# two minutes (one minute per role). Called by scripts/test.sh; runs alone too:
#   scripts/schemathesis.sh [path/to/jojomart] [seconds-per-role]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bin=${1:-$root/target/debug/jojomart}
budget=${2:-60}
st=${SCHEMATHESIS:-$root/.cache/venv/bin/schemathesis}
python=${JOJOMART_PYTHON:-$root/.cache/venv/bin/python}

data=$(mktemp -d)
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin_email="admin@schemathesis.test"
log="$data/dev.log"

# The admin needs its role at once (`dev` grants it without a verified email);
# throttles stay out of the way of a fuzzer that logs in many times.
JOJOMART_ADMIN_EMAILS="$admin_email" JOJOMART_LOGIN_MAX_FAILURES=0 \
  JOJOMART_LOGIN_MAX_FAILURES_PER_CLIENT=0 JOJOMART_LOG=warn \
  "$bin" dev --port "$port" --data-dir "$data/store" >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap stop EXIT

for _ in $(seq 1 300); do
  curl -fsS "$base/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "jojomart dev exited" >&2; exit 1; }
  sleep 0.1
done

token_of() {
  curl -fsS "$base/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\",\"name\":\"$2\"}" |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])'
}
shopper=$(token_of "shopper@schemathesis.test" "Shopper")
admin=$(token_of "$admin_email" "Admin")

# Path ids of demo products (`dev` seeds 64), so that product, review and cart
# routes are fuzzed past their 404: `{id}` names one product, `{productId}`
# another (the admin run may delete the first).
read -r product_id cart_product_id < <(curl -fsS "$base/api/products?limit=2&sort=newest" |
  "$python" -c 'import json, sys; print(*[p["id"] for p in json.load(sys.stdin)["items"]])')
cat >"$data/schemathesis.toml" <<TOML
[parameters]
"path.id" = "$product_id"
"path.productId" = "$cart_product_id"
TOML

status=0
for role in shopper admin; do
  token=${!role}
  printf '\n--- schemathesis as %s (%ss)\n' "$role" "$budget"
  # Checks: every one that compares a response with the document. Not
  # positive_data_acceptance: the document cannot say which cursors we issued
  # (any other is a 400 by contract) nor every rule of the domain types (a
  # SKU's alphabet, a known currency), so schema-valid requests may rightly be
  # refused. Not negative_data_rejection: in 4.32.5 its coverage phase reports
  # PATCH /api/users/me {"preferences": null} as "missing required property:
  # name", a property the document does not require (a value it generated for
  # another operation); run it by hand (--checks negative_data_rejection) now
  # and then, it found the array-as-object bodies.
  # Operation left out: DELETE /api/users/me, which closes the account whose
  # token the run uses, so every later request would be a 401.
  (cd "$data" && "$st" --no-color --config-file "$data/schemathesis.toml" run "$base/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --header "Authorization: Bearer $token" \
    --exclude-operation-id delete_me \
    --phases examples,coverage,fuzzing \
    --max-examples 25 \
    --max-time "$budget" \
    --request-timeout 10 \
    --workers 1 \
    --seed 1 \
    --generation-database none) || status=1
done

if [ $status -ne 0 ]; then
  echo "schemathesis found failures; the server's log follows" >&2
  tail -n 200 "$log" >&2
fi
exit $status
