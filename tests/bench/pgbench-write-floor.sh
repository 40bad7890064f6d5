#!/usr/bin/env bash
# What one written row per read costs PostgreSQL itself, with no Revcycle in the way: an outside
# referee for the audit benchmark's read ratios. pgbench (PostgreSQL's own load generator)
# runs, in alternating rounds at each client count:
#   read    a primary-key read of pgbench_accounts (scale 10, 1,000,000 rows)
#   durable the same read, then one inserted row shaped like an audit event (its own commit,
#           synchronous_commit on: durable before the next read, as an audited read's event is)
#   async   the same, with synchronous_commit off (the row is written but not waited for)
# and prints the median transactions/s of each and the two written ones as shares of the read.
#
#   tests/bench/pgbench-write-floor.sh [clients...]     e.g. tests/bench/pgbench-write-floor.sh 16 64
#
# Env: SECONDS_PER_RUN (default 5), ROUNDS (default 3), PGHOST (127.0.0.1), PGUSER (postgres).
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGUSER="${PGUSER:-postgres}"
clients=("${@:-16 64}")
read -r -a clients <<<"${clients[*]}"
secs="${SECONDS_PER_RUN:-5}"
rounds="${ROUNDS:-3}"

pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)"
[ -x "$pgbench" ] || { echo "pgbench not found (Debian: postgresql)" >&2; exit 1; }

db="revcycle_write_floor_$$"
work="$(mktemp -d)"
trap 'dropdb "$db" 2>/dev/null || true; rm -rf "$work"' EXIT
createdb "$db"
"$pgbench" -i -s 10 -q "$db" >/dev/null 2>&1
psql -q -v ON_ERROR_STOP=1 "$db" <<'SQL'
CREATE TABLE audit_rows (intake_id bigserial PRIMARY KEY, org_id text NOT NULL, id uuid NOT NULL,
  occurred_at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,
  resource_type text, resource_id text, patient_ids text NOT NULL, http_status int NOT NULL,
  request_id text, source_ip text, user_agent text);
SQL
cat >"$work/read.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SQL
cat "$work/read.sql" - >"$work/write.sql" <<'SQL'
INSERT INTO audit_rows (org_id, id, occurred_at, actor, action, resource_type, resource_id,
  patient_ids, http_status, request_id, source_ip, user_agent)
  VALUES ('7d1c7b0e-6f1f-4b7e-9a53-1f2d3c4b5a69', gen_random_uuid(), now(), 'clinician-1', 'read',
  'Patient', :aid, '["1c2d3e4f-0000-4000-8000-000000000001"]', 200, 'req-' || :aid, '127.0.0.1',
  'loadgen/1');
SQL

tps() { # clients script [PGOPTIONS]
  PGOPTIONS="${3:-}" "$pgbench" -n -c "$1" -j 2 -T "$secs" -f "$work/$2.sql" "$db" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

printf '%-8s %12s %12s %12s %10s %10s\n' clients "read tps" "durable tps" "async tps" durable async
for c in "${clients[@]}"; do
  : >"$work/read.$c" ; : >"$work/durable.$c" ; : >"$work/async.$c"
  for _ in $(seq 1 "$rounds"); do
    tps "$c" read >>"$work/read.$c"
    tps "$c" write >>"$work/durable.$c"
    tps "$c" write "-c synchronous_commit=off" >>"$work/async.$c"
  done
  r="$(median <"$work/read.$c")"; d="$(median <"$work/durable.$c")"; a="$(median <"$work/async.$c")"
  awk -v c="$c" -v r="$r" -v d="$d" -v a="$a" 'BEGIN {
    printf "%-8s %12.0f %12.0f %12.0f %9.1f%% %9.1f%%\n", c, r, d, a, 100*d/r, 100*a/r }'
done
