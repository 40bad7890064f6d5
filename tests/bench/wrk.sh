#!/usr/bin/env bash
# The load generator's workloads driven by an outside load generator (wrk, from Debian), so
# that the figures do not depend on our own client: patient reads by id and patient creates,
# against a release server on SQLite or PostgreSQL, at each concurrency given.
#
#   tests/bench/wrk.sh [sqlite|postgres] [connections...]     e.g. tests/bench/wrk.sh postgres 16 64
#
# Env: SECONDS_PER_RUN (default 10), THREADS (wrk threads, default 2),
# PREFILL_AUDIT_EVENTS (audit events written behind the server's back before measuring: the
# load generator's --prefill-audit-events, needs revcycle-loadgen built).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${1:-sqlite}"
shift || true
conns=("${@:-16 64}")
read -r -a conns <<<"${conns[*]}"
secs="${SECONDS_PER_RUN:-10}"
threads="${THREADS:-2}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --bin revcycle >/dev/null
bin="$PWD/target/release/revcycle"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; [ -n "${pgdb:-}" ] && dropdb -h 127.0.0.1 -U postgres "$pgdb" 2>/dev/null; rm -rf "$work"' EXIT

case "$engine" in
  sqlite) url="sqlite://$work/revcycle.db" ;;
  postgres)
    pgdb="revcycle_wrk_$$"
    createdb -h 127.0.0.1 -U postgres "$pgdb"
    url="postgres://postgres@127.0.0.1:5432/$pgdb"
    ;;
  *) echo "engine: sqlite or postgres" >&2; exit 2 ;;
esac

export REVCYCLE_DATA_DIR="$work/data" REVCYCLE_DATABASE_URL="$url" REVCYCLE_LOG=warn \
  REVCYCLE_WORKERS=2 REVCYCLE_RATE_LIMIT_PER_SECOND=0
"$bin" serve --bind 127.0.0.1:0 --insecure-http 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  base="$(sed -n 's/^revcycle: listening on //p' "$work/server.log" | head -1)"
  [ -n "$base" ] && break
  sleep 0.2
done
[ -n "${base:-}" ] || { cat "$work/server.log" >&2; exit 1; }
token="$(cat "$work/data/admin.token")"

# Seed the patients the reads pick from.
ids=()
for n in $(seq 1 200); do
  body="{\"mrn\":\"WRK-SEED-$n\",\"family_name\":\"Benchmark\",\"given_name\":\"Load\",\"birth_date\":\"1970-01-01\",\"sex\":\"U\",\"ssn\":\"123-45-6789\",\"address\":{\"line1\":\"1 Load St\",\"city\":\"Springfield\",\"state\":\"IL\",\"zip\":\"62704\"}}"
  ids+=("$(curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "$body" "$base/v1/patients" | jq -r .id)")
done

if [ "${PREFILL_AUDIT_EVENTS:-0}" -gt 0 ]; then
  echo "prefilling $PREFILL_AUDIT_EVENTS audit events" >&2
  cargo run --release -q -p revcycle-loadgen -- --mode prefill \
    --database-url "$url" --prefill-audit-events "$PREFILL_AUDIT_EVENTS" \
    --org "$("$bin" org list | head -1 | cut -f1)"
fi

cat >"$work/read.lua" <<LUA
local ids = { $(printf '"%s",' "${ids[@]}") }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/patients/" .. ids[(n % #ids) + 1],
    { ["authorization"] = "Bearer $token" })
end
LUA
cat >"$work/create.lua" <<LUA
-- thread_id is a global: setup() sets it in each thread's own Lua state.
local n = 0
thread_id = 0
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("thread_id", counter) end
request = function()
  n = n + 1
  local body = string.format('{"mrn":"WRK-%d-%d-%d","family_name":"Benchmark","given_name":"Load","birth_date":"1970-01-01","sex":"U","ssn":"123-45-6789","address":{"line1":"1 Load St","city":"Springfield","state":"IL","zip":"62704"}}', os.time(), thread_id, n)
  return wrk.format("POST", "/v1/patients",
    { ["authorization"] = "Bearer $token", ["content-type"] = "application/json" }, body)
end
LUA

printf '%-9s %-7s %6s %12s %10s %10s\n' engine work conns "req/s" "p50 ms" "p99 ms"
for c in "${conns[@]}"; do
  for w in read create; do
    out="$(wrk -t"$threads" -c"$c" -d"${secs}s" --latency -s "$work/$w.lua" "$base" 2>&1)"
    rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
    ms() { awk -v p="$1" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out"; }
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)"
    printf '%-9s %-7s %6s %12s %10s %10s %s\n' "$engine" "$w" "$c" "$rps" "$(ms 50%)" "$(ms 99%)" "$errors"
  done
done
